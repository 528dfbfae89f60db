"""Batch reading, side by side in one run: `digitrec batch read` with one worker process, with
the local pool (one per core) and on Ray (a local cluster, one actor per core), and Tesseract 5
over the same files, on synthetic pages of MNIST test digits (`data.synth.synth_numbers`, seed 0).

Each `batch read` is a fresh process writing a fresh results file, timed from start to exit (the
model loading in the workers and Ray's cluster start included, as a user waits for them);
files/s = pages / that time. Beside it, each run's own rate once running (after its first chunk
was written: `batch read --json`'s `running_files_per_second`), what a long archive sees. The
pool's speed-up is the pool's files/s over one process's. Tesseract (`--psm 7`, digits only, as
`read_numbers.py` runs it) reads the first `--tesseract-pages` of the same pages, one process at a
time. Exact-number accuracy of each is reported beside, from the pages' labels. Targets (issue
18): the pool at ≥ 1.8× one process on this machine, Ray within 15% of the pool (its cluster's
start counted, as a user waits for it).

    python benchmarks/batch_read.py [--pages 2000] [--tesseract-pages 300] [--out benchmarks/results]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from read_numbers import find_tesseract, run_tesseract, tesseract_version

from digitrec.data import load
from digitrec.data.synth import SynthConfig, synth_numbers
from digitrec.provenance import provenance
from digitrec.reading.accuracy import string_scores
from digitrec.storage import atomic_write_json

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--tesseract-pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="digitrec-batch-") as scratch:
        root = Path(scratch)
        labels = json.loads(
            synth_numbers(
                load("mnist", "test"), root / "pages", SynthConfig(count=args.pages, seed=args.seed)
            ).read_text()
        )
        truth = {str(root / "pages" / page["file"]): page["text"] for page in labels["pages"]}
        runs = {name: batch(root, name, workers, truth, engine) for name, workers, engine in
                (("one process", 1, "local"), (f"local pool ({cores} workers)", cores, "local"),
                 (f"Ray ({cores} actors)", cores, "ray"))}  # fmt: skip
        tesseract = find_tesseract()
        chosen = sorted(truth)[: args.tesseract_pages]
        started = time.perf_counter()
        reads = [run_tesseract(tesseract, Path(path)) for path in chosen]
        seconds = time.perf_counter() - started
        runs["tesseract"] = {
            "pages": len(chosen),
            "seconds": round(seconds, 2),
            "files_per_second": round(len(chosen) / seconds, 2),
            **string_scores([truth[p] for p in chosen], reads),
        }
    one, pool, ray = (runs[name]["files_per_second"] for name in list(runs)[:3])
    running = [runs[name]["running_files_per_second"] or 0.0 for name in list(runs)[:3]]
    result = {
        "command": "python benchmarks/batch_read.py " + " ".join(sys.argv[1:]),
        "pages": args.pages,
        "runs": runs,
        "pool_speedup": round(pool / one, 3),
        "ray_of_pool": round(ray / pool, 3),
        "running": {  # after each run's first chunk: the start-up (workers, cluster) left out
            "pool_speedup": round(running[1] / running[0], 3) if running[0] else None,
            "ray_of_pool": round(running[2] / running[1], 3) if running[1] else None,
        },
        "target": "the local pool at ≥ 1.8× one process, Ray within 15% of the pool (issue 18)",
        "tesseract": tesseract_version(tesseract),
        "provenance": provenance(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "batch_read.json", result)
    for name, run in runs.items():
        once = run.get("running_files_per_second")
        shown = f" ({once:.1f} once running)" if once else ""
        print(f"{name}: {run['files_per_second']:.1f} files/s{shown}, exact {run['exact']:.1%}")
    for label, figures in (("end to end", result), ("once running", result["running"])):
        if figures["pool_speedup"] is None or figures["ray_of_pool"] is None:
            continue  # a run of one chunk has no rate once running
        print(
            f"{label}: pool speed-up {figures['pool_speedup']:.2f}× (target 1.8×); Ray at "
            f"{figures['ray_of_pool']:.0%} of the pool (target ≥ 85%)"
        )
    return 0


def batch(
    root: Path, name: str, workers: int, truth: dict[str, str], engine: str
) -> dict[str, Any]:
    out = root / f"{engine}-{workers}.jsonl"
    command = [sys.executable, "-m", "digitrec", "batch", "read", str(root / "pages"),
               "--out", str(out), "--workers", str(workers), "--engine", engine,
               "--json"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "DIGITREC_NO_PROGRESS": "1"})  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name}: batch read failed:\n{done.stderr[-2000:]}")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    summary = json.loads(done.stdout.splitlines()[-1])
    return {
        "engine": engine,
        "workers": workers,
        "pages": len(rows),
        "seconds": round(seconds, 2),
        "files_per_second": round(len(rows) / seconds, 2),
        "running_files_per_second": summary["running_files_per_second"],
        **string_scores([truth[row["file"]] for row in rows], [row["text"] for row in rows]),
    }


if __name__ == "__main__":
    raise SystemExit(main())
