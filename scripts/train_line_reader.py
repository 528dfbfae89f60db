"""Train the line reader (`digitrec.reading.line_model`): a CNN + BiLSTM read with CTC over whole
lines of ink.

    python scripts/train_line_reader.py [--train-pages 40000] [--val-pages 1000] [--epochs 8]
                                        [--seed 0] [--threads 0] [--ship]

1. Line images: synthetic number pages (`data.synth.make_page`, default SynthConfig: 1-8
   digits, 20-120 px tall, touching and broken digits, form lines, noise, blur, JPEG, lighting,
   rotation) of MNIST **training** digits for training and of **validation** digits for choosing
   the epoch, each through the reader's front end (`page_ink`, `remove_form_lines`,
   `line_image`). Made in parallel chunks of 500 pages (one seed each), each kept in
   runs/line-data/ by a hash of its settings, so a rerun trains at once.
2. Training: `line_training.train_line_reader` (Adam, one-cycle, CTC; the epoch with the best
   validation exact-line accuracy is kept).
Test digits are left to the benchmark (benchmarks/read_numbers.py). Writes
docs/results/line-reader.json (settings, per-epoch log, machine); --ship also writes the model
into the package as src/digitrec/reading/line_reader.{safetensors,json}.
"""

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from digitrec.data import load_splits
from digitrec.data.synth import SynthConfig
from digitrec.progress import count_bar
from digitrec.provenance import provenance
from digitrec.reading import line_model
from digitrec.reading.line_model import LINE_STEM, save_line_reader
from digitrec.reading.line_training import (
    LineSet,
    LineTrainConfig,
    make_lines,
    train_line_reader,
)
from digitrec.storage import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results" / "line-reader.json"
DATA = ROOT / "runs" / "line-data"
CHUNK = 500  # pages per worker task


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-pages", type=int, default=40_000)
    parser.add_argument("--val-pages", type=int, default=1_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: every core)")
    parser.add_argument("--ship", action="store_true", help="write the model into the package")
    args = parser.parse_args()
    if min(args.train_pages, args.val_pages, args.epochs) < 1:
        parser.error("--train-pages, --val-pages and --epochs must be at least 1")
    workers = args.threads or len(os.sched_getaffinity(0))
    synth = SynthConfig()
    started = time.perf_counter()
    train = lines("train", args.train_pages, synth, args.seed, workers)
    val = lines("val", args.val_pages, synth, args.seed + 1, workers)
    made = time.perf_counter() - started
    config = LineTrainConfig(epochs=args.epochs, seed=args.seed, threads=args.threads)
    net, history = train_line_reader(train, val, config)
    card = {
        "arguments": {"widths": list(config.widths), "hidden": config.hidden},
        "training": asdict(config),
        # make_page ignores SynthConfig's count and seed: chunk k is seeded with (seed, k)
        "pages": {k: v for k, v in asdict(synth).items() if k not in ("count", "seed")}
        | {"train": args.train_pages, "val": args.val_pages, "seed": args.seed, "chunk": CHUNK},
        "val_exact": max(row["val_exact"] for row in history),
        "provenance": provenance(),
    }
    if args.ship:
        save_line_reader(net, card, LINE_STEM)
    summary = {
        "command": "python scripts/train_line_reader.py " + " ".join(sys.argv[1:]),
        **card,
        "lines": {"train": len(train), "val": len(val), "seconds_to_make": round(made, 1)},
        "history": history,
        "shipped": args.ship,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(summary, indent=2) + "\n")
    best = max(history, key=lambda row: row["val_exact"])
    print(
        f"best epoch {best['epoch']}: validation exact {best['val_exact']:.2%}, "
        f"CER {best['val_cer']:.2%}"
    )
    return 0


def lines(split: str, pages: int, synth: SynthConfig, seed: int, workers: int) -> LineSet:
    """The line images of `pages` pages of this split's digits, in chunks of CHUNK pages (chunk k
    seeded with (seed, k)) made by `workers` processes; each chunk is kept in DATA by a hash of
    its settings, so a bigger set reuses the chunks of a smaller one."""
    jobs = [
        (split, min(CHUNK, pages - start), synth, seed, k)
        for k, start in enumerate(range(0, pages, CHUNK))
    ]
    paths = [DATA / f"{split}-{_key(job)}.npz" for job in jobs]
    missing = [(job, path) for job, path in zip(jobs, paths, strict=True) if not path.is_file()]
    if missing:
        DATA.mkdir(parents=True, exist_ok=True)
        bar = count_bar(f"making {split} lines", len(missing))
        with bar as advance, ProcessPoolExecutor(workers) as pool:
            made = pool.map(_chunk, [job for job, _ in missing])
            for part, (_, path) in zip(made, missing, strict=True):
                part.save(path)
                advance(1)
    parts = [LineSet.load(path) for path in paths]
    return LineSet(
        np.concatenate([p.pixels for p in parts], axis=1),
        np.concatenate([p.widths for p in parts]),
        np.concatenate([p.texts for p in parts]),
    )


def _key(job: tuple[str, int, SynthConfig, int, int]) -> str:
    split, count, synth, seed, k = job
    text = json.dumps([split, count, asdict(synth), seed, k, line_model.HEIGHT], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _chunk(job: tuple[str, int, SynthConfig, int, int]) -> LineSet:
    split, count, synth, seed, k = job
    import torch

    torch.set_num_threads(1)
    digits = load_splits("mnist")[split]
    return make_lines(
        digits, count, synth, int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
    )


if __name__ == "__main__":
    sys.exit(main())
