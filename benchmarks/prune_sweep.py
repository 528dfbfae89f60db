"""Pruning sweep: the shipped `default` model pruned at several sparsities, unstructured (weights)
and structured (whole channels, compacted into a narrower net), each fine-tuned with the same
short recipe; MNIST test accuracy against sparsity and size, as JSON and a plot.

Sizes: the model file (dense: unstructured zeros still take their 4 bytes) and the file deflated
(what the zeros save in storage or transfer). Validation accuracy is what fine-tuning saw; test
accuracy is measured at the end and chooses nothing.

    python benchmarks/prune_sweep.py [--epochs 2] [--threads 0] [--out DIR] [--smoke]

--smoke runs every point for 3 fine-tuning steps on 512 digits (checks the script, not the model).
Writes benchmarks/results/prune_sweep.json and prune_sweep.png.
"""

import argparse
import json
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

from digitrec.compress.prune import FINETUNE_RECIPE, PruneConfig, prune
from digitrec.evaluate import evaluate
from digitrec.models.modelfile import resolve_model_path
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_json
from digitrec.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
UNSTRUCTURED = (0.5, 0.7, 0.8, 0.9, 0.95)
STRUCTURED = (0.25, 0.5, 0.75)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=float, default=FINETUNE_RECIPE["epochs"])
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--smoke", action="store_true", help="3 steps on 512 digits per point")
    args = parser.parse_args()
    values = FINETUNE_RECIPE | {"epochs": args.epochs, "threads": args.threads}
    if args.smoke:
        values |= {"limit": 512, "max_steps": 3}
    config = TrainConfig(**values)
    base = evaluate("default", "mnist", "test", limit=1000 if args.smoke else 0)
    weights = resolve_model_path("default").read_bytes()
    points: list[dict[str, Any]] = [
        {"structured": None, "sparsity": 0.0, "test_accuracy": base["accuracy"],
         "parameters": base["parameters"], "nonzero_parameters": base["parameters"],
         "size_bytes": len(weights), "compressed_bytes": len(zlib.compress(weights))}
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        for structured, sparsities in ((False, UNSTRUCTURED), (True, STRUCTURED)):
            for sparsity in sparsities:
                out = Path(scratch) / f"{'channels' if structured else 'weights'}-{sparsity}"
                result = prune("default", PruneConfig(sparsity, structured), config, out)
                test = evaluate(out, "mnist", "test", limit=1000 if args.smoke else 0)
                point = result.to_json() | {"structured": structured, "sparsity": sparsity}
                point |= {"test_accuracy": test["accuracy"]}
                del point["run_dir"], point["model_path"]
                points.append(point)
                print(json.dumps(point), flush=True)
    record = {"config": config.to_json(), "points": points, "provenance": provenance()}
    atomic_write_json(args.out / "prune_sweep.json", record)
    plot(points, args.out / "prune_sweep.png")
    return 0


def plot(points: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_sparsity, by_size) = plt.subplots(1, 2, figsize=(10, 4))
    base = points[0]
    for structured, label in ((False, "weights (unstructured)"), (True, "channels (structured)")):
        chosen = [base] + [p for p in points if p["structured"] is structured]
        accuracy = [100 * p["test_accuracy"] for p in chosen]
        by_sparsity.plot([p["sparsity"] for p in chosen], accuracy, "o-", label=label)
        size = [p["compressed_bytes"] / 1024 for p in chosen]
        by_size.plot(size, accuracy, "o-", label=label)
    by_sparsity.set(xlabel="sparsity", ylabel="MNIST test accuracy (%)", title="accuracy")
    by_size.set(xlabel="model file, deflated (KiB)", ylabel="MNIST test accuracy (%)",
                title="accuracy against size")  # fmt: skip
    by_size.set_xscale("log")
    for axes in (by_sparsity, by_size):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
