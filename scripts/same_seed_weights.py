"""Same seed, same weights? `train`, `distill` and `prune` run with one seed at REV (a git
worktree) and in this checkout; every weight of every run must be bit-identical, and every
metrics.jsonl line equal but for its timings. For refactors that must not change what trains.

    python scripts/same_seed_weights.py REV [--keep DIR]

The runs are small (a few thousand digits, one thread, about a minute each side): a
`cnn-small` with light augmentation, EMA, noise and early stopping; a `mobilenet` with its
auxiliary head; a student distilled from `default`; `default` pruned by weight and by channel.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

REPO = Path(__file__).resolve().parents[1]
RUNS = {
    "train": ["train", "--model", "cnn-small", "--limit", "2000", "--epochs", "2",
              "--augment", "light", "--ema", "0.99", "--noise", "0.3", "--early-stopping", "1",
              "--seed", "3"],
    "aux": ["train", "--model", "mobilenet", "--limit", "600", "--epochs", "1",
            "--aux-weight", "0.3", "--seed", "4", "--max-steps", "12"],
    "distill": ["distill", "--teacher", "default", "--epochs", "1", "--limit", "1000",
                "--seed", "2"],
    "prune": ["prune", "--model", "default", "--sparsity", "0.5", "--epochs", "1",
              "--limit", "1000", "--seed", "2"],
    "prune-structured": ["prune", "--model", "default", "--sparsity", "0.3", "--structured",
                         "--epochs", "1", "--limit", "600", "--seed", "5", "--augment", "light"],
}  # fmt: skip


def run_all(source: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(source / "src")}
    for name, args in RUNS.items():
        command = [sys.executable, "-m", "digitrec", *args, "--out", str(out / name)]
        command += ["--threads", "1"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed at {source}:\n{done.stdout}{done.stderr}")


def metrics(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="the commit to compare with, e.g. HEAD~1")
    parser.add_argument("--keep", type=Path, help="keep both sides' runs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-seed-") as scratch:
        root = args.keep or Path(scratch)
        tree = Path(scratch) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree),
                        args.rev], check=True, capture_output=True)  # fmt: skip
        try:
            run_all(tree, root / "before")
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                           check=True)  # fmt: skip
        run_all(REPO, root / "after")
        same = True
        for name in RUNS:
            before = load_file(root / "before" / name / "model.safetensors")
            after = load_file(root / "after" / name / "model.safetensors")
            weights = before.keys() == after.keys() and all(
                np.array_equal(before[k], after[k]) for k in before
            )
            logged = metrics(root / "before" / name / "metrics.jsonl") == metrics(
                root / "after" / name / "metrics.jsonl"
            )
            same &= weights and logged
            verdict = "identical" if weights else "DIFFERENT weights"
            print(f"{name}: {verdict}, metrics {'equal' if logged else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
