"""The learning loop, measured with real writers the model has never seen: do corrections make
it read them better, and does it forget nothing else?

The users: CVL's validation writers (`cvl.writer_split`: the shipped model never trained on
them; CVL's test writers stay out of everything, this included). Each writer's digits are
shuffled (seed) and cut in two: the first STREAM share is what they write while using the
service, the rest their held-out digits, never corrected, never trained on.

1. A real `digitrec serve` (one process, torch) on 127.0.0.1 with its own home and versions.
2. Before: every held-out digit through `POST /v1/predict`, per writer.
3. The users write: each stream digit through `POST /v1/predict`; a misread is corrected with
   `POST /v1/feedback` (the true label, the token), as a user would.
4. `digitrec feedback train --promote --notify URL` with its defaults: the replay of the base
   model's own data, the gate (held-out corrections, MNIST test, USPS val — CVL val is the
   users' own here, so not a gate set), promotion if it passes, the server told to reload.
5. After: the held-out digits again, through the server, now on the promoted version.

Reported: corrections made, held-out error before/after (the group and each writer), the
relative drop, MNIST test before/after (from the gate), the gate's verdict, times. Target
(issue 22): error falls by ≥ 30% while MNIST test stays within 0.05 pp.

    python benchmarks/learning_loop.py [--stream 0.6] [--seed 0] [--source ../shared/data/cvl]
                                       [--out benchmarks/results]
"""

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from digitrec import data
from digitrec.data import cvl
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_json

REPO = Path(__file__).resolve().parents[1]
TOKEN = "learning-loop-benchmark-token-0123456789"
START_S = 180


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", type=float, default=0.6, help="share of each writer's digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data" / "cvl")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--train", nargs=argparse.REMAINDER, default=[],
                        help="more options for `digitrec feedback train`")  # fmt: skip
    args = parser.parse_args()
    data.fetch("cvl", args.source)
    stream, held = writers_split(args.stream, args.seed)
    with tempfile.TemporaryDirectory(prefix="digitrec-loop-") as scratch:
        root = Path(scratch)
        env = {**os.environ, "DIGITREC_MODELS": str(root / "models")}
        server, port = start_server(root / "home", env)
        url = f"http://127.0.0.1:{port}"
        try:
            started = time.perf_counter()
            before = read_all(url, held)
            corrections, streamed = use(url, stream)
            used_s = time.perf_counter() - started
            run = root / "run"
            command = ["feedback", "train", "--db", str(root / "home" / "feedback.db"),
                       "--out", str(run), "--dev", "usps", "--promote", "--notify", url,
                       "--json", *args.train]  # fmt: skip
            trained_at = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "digitrec", *command],
                env={**env, "DIGITREC_SERVE_TOKEN": TOKEN},
                capture_output=True, text=True, timeout=3600,
            )  # fmt: skip
            train_s = time.perf_counter() - trained_at
            if done.returncode not in (0, 1):
                raise SystemExit(f"feedback train failed:\n{done.stderr[-3000:]}")
            gate = json.loads(done.stdout.splitlines()[0])
            version = health(url)["version"]
            after = read_all(url, held)
        finally:
            server.terminate()
            server.wait(60)
    result = summarize(held, before, after, gate, corrections, streamed, version)
    result |= {
        "seconds": {"streaming": round(used_s, 1), "train_gate_promote": round(train_s, 1)},
        "command": "python benchmarks/learning_loop.py " + " ".join(sys.argv[1:]),
        "train_command": "digitrec feedback train --db SERVER_HOME/feedback.db --out RUN "
        + " ".join(["--dev", "usps", "--promote", "--notify", "URL", "--json", *args.train]),
        "settings": {"stream": args.stream, "seed": args.seed},
        "provenance": provenance(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "learning_loop.json", result)
    write_plot(result, args.out / "learning_loop.png")
    group = result["group"]
    print(
        f"{result['corrections']} corrections from {result['writers']} writers "
        f"({streamed} digits used); held-out error {group['error_before']:.2f}% → "
        f"{group['error_after']:.2f}% ({group['relative_drop']:+.0%}); MNIST test "
        f"{result['mnist_test']['before']:.2f}% → {result['mnist_test']['after']:.2f}%; "
        f"{gate['verdict']}; serving {version}"
    )
    return 0


Digit = tuple[str, bytes, int]  # writer, PNG, label


def writers_split(stream: float, seed: int) -> tuple[list[Digit], list[Digit]]:
    by_writer: dict[str, list[Digit]] = defaultdict(list)
    for name, png, label in cvl.raw_digits("val"):
        writer = cvl.label_and_writer(name)[1]
        by_writer[writer].append((writer, png, label))
    rng = np.random.default_rng(seed)
    used, held = [], []
    for writer in sorted(by_writer):
        digits = [by_writer[writer][i] for i in rng.permutation(len(by_writer[writer]))]
        cut = round(stream * len(digits))
        used += digits[:cut]
        held += digits[cut:]
    order = rng.permutation(len(used))  # the writers take turns, as users of one service do
    return [used[i] for i in order], held


def start_server(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    home.mkdir(parents=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {**env, "DIGITREC_HOME": str(home), "DIGITREC_OFFLINE": "1",
           "DIGITREC_SERVE_TOKEN": TOKEN, "DIGITREC_SERVE_FEEDBACK_RATE": "0"}  # fmt: skip
    command = [sys.executable, "-m", "digitrec", "serve", "--port", str(port)]
    command += ["--backend", "torch", "--log-level", "warning"]
    with (home / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_S
    while True:
        try:
            health(f"http://127.0.0.1:{port}")
            return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"digitrec serve did not start:\n{(home / 'serve.log').read_text()}"
                ) from None
            time.sleep(0.25)


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


def post(url: str, png: bytes, *, label: int | None = None) -> dict[str, Any]:
    """/v1/predict (or, with a label, /v1/feedback with the token) of one image, as JSON."""
    body: dict[str, Any] = {"image": base64.b64encode(png).decode()}
    headers = {"Content-Type": "application/json"}
    path = "/v1/predict"
    if label is not None:
        path, body["label"] = "/v1/feedback", label
        headers["Authorization"] = f"Bearer {TOKEN}"
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


def read_all(url: str, digits: list[Digit]) -> list[int | None]:
    return [post(url, png)["digit"] for _, png, _ in digits]


def use(url: str, digits: list[Digit]) -> tuple[int, int]:
    """Each digit read; each misread corrected. -> (corrections, digits read)."""
    corrections = 0
    for _, png, label in digits:
        if post(url, png)["digit"] != label:
            post(url, png, label=label)
            corrections += 1
    return corrections, len(digits)


def summarize(
    held: list[Digit],
    before: list[int | None],
    after: list[int | None],
    gate: dict[str, Any],
    corrections: int,
    streamed: int,
    version: str,
) -> dict[str, Any]:
    labels = np.array([label for _, _, label in held])
    wrong_before = np.array([p != y for p, y in zip(before, labels, strict=True)])
    wrong_after = np.array([p != y for p, y in zip(after, labels, strict=True)])
    writers = np.array([writer for writer, _, _ in held])
    per_writer = {
        str(w): {
            "held_out": int((writers == w).sum()),
            "errors_before": int(wrong_before[writers == w].sum()),
            "errors_after": int(wrong_after[writers == w].sum()),
        }
        for w in sorted(set(writers))
    }
    e0, e1 = 100 * wrong_before.mean(), 100 * wrong_after.mean()
    sets = {row["set"]: row for row in gate["sets"]}
    return {
        "writers": len(per_writer),
        "corrections": corrections,
        "digits_used": streamed,
        "group": {
            "held_out": len(labels),
            "error_before": round(float(e0), 3),
            "error_after": round(float(e1), 3),
            "relative_drop": round(float((e0 - e1) / e0), 4) if e0 else None,
        },
        "per_writer": per_writer,
        "mnist_test": {
            "before": sets["MNIST test"]["before"],
            "after": sets["MNIST test"]["after"],
        },
        "gate": gate,
        "served_version": version,
        "target": "held-out error −30% or more, MNIST test within 0.05 pp (issue 22)",
    }


def write_plot(result: dict[str, Any], path: Path) -> None:
    from digitrec.document.plots import before_after
    from digitrec.storage import atomic_write_bytes

    writers = result["per_writer"]
    names = ["all writers", *(f"writer {w}" for w in writers)]
    before = [result["group"]["error_before"]] + [
        100 * v["errors_before"] / v["held_out"] for v in writers.values()
    ]
    after = [result["group"]["error_after"]] + [
        100 * v["errors_after"] / v["held_out"] for v in writers.values()
    ]
    png = before_after(names, before, after, "held-out error (%)",
                       "CVL validation writers: error before and after their corrections")  # fmt: skip
    atomic_write_bytes(path, png)


if __name__ == "__main__":
    raise SystemExit(main())
