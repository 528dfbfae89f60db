"""The classic baselines with their default arguments: fit on the 55,000 MNIST training digits,
measure on the 10,000 test digits. One row per baseline: fit seconds, test accuracy, macro F1,
single-image latency, file size.

    python benchmarks/baselines.py [--models svm knn ...] [--out benchmarks/results]

cnn-svm uses the shipped default CNN's features (argument cnn=default).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from digitrec.baselines import BASELINES
from digitrec.evaluate import evaluate
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_json
from digitrec.train import TrainConfig, train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(BASELINES), choices=list(BASELINES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    rows = []
    print(
        f"{'baseline':<14} {'fit s':>7} {'test acc':>9} {'macro F1':>9} {'ms/image':>9} {'MB':>6}"
    )
    with tempfile.TemporaryDirectory(prefix="baselines-") as scratch:
        for name in args.models:
            result = train(TrainConfig(model=name, seed=args.seed), Path(scratch) / name)
            test = evaluate(result.model_path, "mnist", "test")
            row = {
                "baseline": name,
                "arguments": json.loads(result.model_path.with_suffix(".json").read_text())[
                    "arguments"
                ],
                "fit_seconds": round(result.train_seconds, 1),
                "val_accuracy": result.val_accuracy,
                "test_accuracy": test["accuracy"],
                "test_f1_macro": test["f1_macro"],
                "latency_ms": round(test["latency_ms"], 3),
                "size_mb": round(test["size_bytes"] / 1e6, 2),
            }
            rows.append(row)
            print(
                f"{name:<14} {row['fit_seconds']:>7} {row['test_accuracy']:>9.4f} "
                f"{row['test_f1_macro']:>9.4f} {row['latency_ms']:>9} {row['size_mb']:>6}",
                flush=True,
            )
    report = {"benchmark": "baselines", "seed": args.seed, "rows": rows, "provenance": provenance()}
    atomic_write_json(args.out / "baselines.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
