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

`--task numbers`: the same loop for the line reader. The users: the pages of parish-rows'
validation split (real record books; the package's reader never trained on them, though its
epoch was chosen on them), each page's cells shuffled and cut the same way. A cell is read
through `POST /v1/read`, a misread corrected through `POST /v1/feedback/numbers`; the gate
holds synthetic validation lines (parish-rows val is the users' own here: `--reader-dev ''`);
exact-number error before/after per page. Results: learning_loop_numbers.{json,png}.

    python benchmarks/learning_loop.py [--task digits|numbers] [--stream 0.6] [--seed 0]
                                       [--source DIR] [--out benchmarks/results]
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
from collections.abc import Callable
from dataclasses import dataclass
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
    parser.add_argument("--task", choices=list(TASKS), default="digits")
    parser.add_argument("--stream", type=float, default=0.6, help="share of each writer's items")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", type=Path, help="the users' dataset (../shared/data/cvl "
                        "or ../shared/data/parish-rows)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--train", nargs=argparse.REMAINDER, default=[],
                        help="more options for `digitrec feedback train`")  # fmt: skip
    args = parser.parse_args()
    task = TASKS[args.task]
    data.fetch(task.dataset, args.source or REPO.parent / "shared" / "data" / task.dataset)
    stream, held = task.split(args.stream, args.seed)
    with tempfile.TemporaryDirectory(prefix="digitrec-loop-") as scratch:
        root = Path(scratch)
        env = {**os.environ, "DIGITREC_MODELS": str(root / "models")}
        server, port = start_server(root / "home", env)
        url = f"http://127.0.0.1:{port}"
        try:
            started = time.perf_counter()
            before = read_all(url, held, task.numbers)
            corrections, streamed = use(url, stream, task.numbers)
            used_s = time.perf_counter() - started
            run = root / "run"
            command = ["feedback", "train", "--db", str(root / "home" / "feedback.db"),
                       "--out", str(run), *task.gate, "--promote", "--notify", url,
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
            gate = json.loads(done.stdout.splitlines()[0])  # --json: the record, then promotion
            version = health(url)["version"]
            after = read_all(url, held, task.numbers)
        finally:
            server.terminate()
            server.wait(60)
    result = summarize(held, before, after, gate, corrections, streamed, version, task)
    result |= {
        "seconds": {"streaming": round(used_s, 1), "train_gate_promote": round(train_s, 1)},
        "command": "python benchmarks/learning_loop.py " + " ".join(sys.argv[1:]),
        "train_command": "digitrec feedback train --db SERVER_HOME/feedback.db --out RUN "
        + " ".join([*task.gate, "--promote", "--notify", "URL", "--json", *args.train]),
        "settings": {"task": args.task, "stream": args.stream, "seed": args.seed},
        "provenance": provenance(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / f"{task.stem}.json", result)
    write_plot(result, args.out / f"{task.stem}.png", task)
    group, kept = result["group"], result["kept"]
    print(
        f"{result['corrections']} corrections from {result['writers']} {task.users} "
        f"({streamed} {task.items} used); held-out error {group['error_before']:.2f}% → "
        f"{group['error_after']:.2f}% ({group['relative_drop'] or 0:+.0%}); {kept['set']} "
        f"{kept['before']:.2f}% → {kept['after']:.2f}%; {gate['verdict']}; serving {version}"
    )
    return 0


Item = tuple[str, bytes, Any]  # writer (or page), PNG, label (a digit, or a number's text)


def writers_split(stream: float, seed: int) -> tuple[list[Item], list[Item]]:
    """CVL's validation digits, by writer."""
    return _split(
        [(cvl.label_and_writer(name)[1], png, label) for name, png, label in cvl.raw_digits("val")],
        stream,
        seed,
    )


def pages_split(stream: float, seed: int) -> tuple[list[Item], list[Item]]:
    """parish-rows' validation cells, by page, as PNG files."""
    import cv2

    from digitrec.data.numbers import load_numbers, parish_page

    cells = load_numbers("parish-rows")["val"]
    items = [
        (parish_page(file), cv2.imencode(".png", image)[1].tobytes(), text)
        for image, text, file in zip(cells.images, cells.texts, cells.files, strict=True)
    ]
    return _split(items, stream, seed)


def _split(items: list[Item], stream: float, seed: int) -> tuple[list[Item], list[Item]]:
    """Each writer's items shuffled, the first `stream` share used, the rest held out."""
    by_writer: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_writer[item[0]].append(item)
    rng = np.random.default_rng(seed)
    used, held = [], []
    for writer in sorted(by_writer):
        own = [by_writer[writer][i] for i in rng.permutation(len(by_writer[writer]))]
        cut = round(stream * len(own))
        used += own[:cut]
        held += own[cut:]
    order = rng.permutation(len(used))  # the writers take turns, as users of one service do
    return [used[i] for i in order], held


@dataclass(frozen=True)
class Task:
    dataset: str  # the users' real data
    split: Callable[[float, int], tuple[list[Item], list[Item]]]
    numbers: bool  # read with /v1/read, corrected with /v1/feedback/numbers
    gate: tuple[str, ...]  # the gate's options: the users' own set is not one of its sets
    kept: str  # the gate's set that must not fall, reported beside the users' error
    stem: str  # the results' file names
    users: str
    items: str


TASKS = {
    "digits": Task("cvl", writers_split, False, ("--dev", "usps"), "MNIST test",
                   "learning_loop", "writers", "digits"),
    "numbers": Task("parish-rows", pages_split, True, ("--reader-dev", ""),
                    "synthetic val lines", "learning_loop_numbers", "pages", "numbers"),
}  # fmt: skip


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


def post(url: str, png: bytes, *, label: Any = None, numbers: bool = False) -> dict[str, Any]:
    """/v1/predict (numbers: /v1/read) of one image, as JSON; with a label, /v1/feedback
    (/v1/feedback/numbers, the label as its text) with the token."""
    body: dict[str, Any] = {"image": base64.b64encode(png).decode()}
    headers = {"Content-Type": "application/json"}
    path = "/v1/read" if numbers else "/v1/predict"
    if label is not None:
        path = "/v1/feedback/numbers" if numbers else "/v1/feedback"
        body["text" if numbers else "label"] = label
        headers["Authorization"] = f"Bearer {TOKEN}"
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


def read_all(url: str, items: list[Item], numbers: bool) -> list[Any]:
    return [post(url, png, numbers=numbers)["text" if numbers else "digit"] for _, png, _ in items]


def use(url: str, items: list[Item], numbers: bool) -> tuple[int, int]:
    """Each item read; each misread corrected. -> (corrections, items read)."""
    corrections = 0
    for _, png, label in items:
        if read_all(url, [("", png, label)], numbers)[0] != label:
            post(url, png, label=label, numbers=numbers)
            corrections += 1
    return corrections, len(items)


def summarize(
    held: list[Item],
    before: list[Any],
    after: list[Any],
    gate: dict[str, Any],
    corrections: int,
    streamed: int,
    version: str,
    task: Task,
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
        f"{task.items}_used": streamed,
        "group": {
            "held_out": len(labels),
            "error_before": round(float(e0), 3),
            "error_after": round(float(e1), 3),
            "relative_drop": round(float((e0 - e1) / e0), 4) if e0 else None,
        },
        "per_writer": per_writer,
        "kept": {
            "set": task.kept,
            "before": sets[task.kept]["before"],
            "after": sets[task.kept]["after"],
        },
        "gate": gate,
        "served_version": version,
        "target": f"held-out error −30% or more, {task.kept} within its tolerance (issue 22)",
    }


def write_plot(result: dict[str, Any], path: Path, task: Task) -> None:
    from digitrec.document.plots import before_after
    from digitrec.storage import atomic_write_bytes

    writers = result["per_writer"]
    names = [f"all {task.users}", *(f"{task.users[:-1]} {w}" for w in writers)]
    before = [result["group"]["error_before"]] + [
        100 * v["errors_before"] / v["held_out"] for v in writers.values()
    ]
    after = [result["group"]["error_after"]] + [
        100 * v["errors_after"] / v["held_out"] for v in writers.values()
    ]
    title = f"{task.dataset} validation {task.users}: error before and after their corrections"
    png = before_after(names, before, after, "held-out error (%)", title)
    atomic_write_bytes(path, png)


if __name__ == "__main__":
    raise SystemExit(main())
