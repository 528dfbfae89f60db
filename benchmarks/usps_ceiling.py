"""How far USPS test accuracy through `predict` moves with more models or more data: the evidence
behind issue 4's USPS target (≥ 98.5%), all on the same PNG files as benchmarks/read_numbers.py
(the 2,007 USPS test digits, dark ink on white, 4× bigger, cubic, read end to end).

(a) The shipped default model, and the default recipe's three seeds (runs/default-seed0..2 from
    `python scripts/train_default.py --seeds 0 1 2`, when present) alone and averaged.
(b) The shipped default fine-tuned on MNIST train + USPS **train** (`--dataset mnist+usps`,
    a fixed recipe: 3 epochs, one-cycle SGD peaking at lr 0.01, medium augmentation, EMA, seed 0;
    nothing chosen on test). This uses USPS's own training digits: it measures in-domain headroom,
    not what an MNIST model generalizes to.

Every variant's MNIST test accuracy is reported beside it.

    python benchmarks/usps_ceiling.py [--usps-source DIR] [--runs runs] [--threads 1]
                                      [--skip-finetune] [--out benchmarks/results]
"""

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from read_numbers import usps_pngs

from digitrec.data import fetch, load
from digitrec.models.loading import load_model
from digitrec.models.modelfile import Classifier
from digitrec.provenance import provenance
from digitrec.recognize import predict_many
from digitrec.storage import atomic_write_json
from digitrec.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
FINETUNE = dict(
    model="default", dataset="mnist+usps", optimizer="sgd", nesterov=True, lr=0.01, momentum=0.9,
    weight_decay=5e-4, schedule="onecycle", warmup=0.2, batch_size=128, epochs=3,
    augment="medium", label_smoothing=0.1, ema=0.999, seed=0, init="default",
)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--usps-source", type=Path, default=REPO.parent / "shared/data/usps")
    parser.add_argument("--runs", type=Path, default=REPO / "runs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-finetune", action="store_true", help="only (a)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    fetch("usps", args.usps_source)
    mnist = load("mnist", "test")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="usps-ceiling-") as work:
        paths, labels = usps_pngs(args.usps_source, None, Path(work) / "usps")
        models: dict[str, Classifier] = {"shipped default": load_model("default")}
        for seed in (0, 1, 2):
            run = args.runs / f"default-seed{seed}"
            if (run / "model.json").exists():
                models[f"default recipe, seed {seed}"] = load_model(run)
        probabilities = {}
        for name, model in models.items():
            probabilities[name] = (
                usps_probabilities(model, paths),
                model.predict_proba(mnist.images),
            )
            rows.append(row(name, *probabilities[name], labels, mnist.labels))
        seeds = [name for name in probabilities if name.startswith("default recipe")]
        if len(seeds) > 1:
            usps, digits = (np.mean([probabilities[n][i] for n in seeds], axis=0) for i in (0, 1))
            rows.append(row(f"mean of the {len(seeds)} seeds", usps, digits, labels, mnist.labels))
        if not args.skip_finetune:
            out = Path(work) / "finetuned"
            train(TrainConfig(**FINETUNE, threads=args.threads), out)  # type: ignore[arg-type]
            model = load_model(out)
            usps, digits = usps_probabilities(model, paths), model.predict_proba(mnist.images)
            rows.append(
                row("default fine-tuned on MNIST + USPS train", usps, digits, labels, mnist.labels)
            )
    report = {
        "benchmark": "usps_ceiling",
        "command": " ".join(["benchmarks/usps_ceiling.py", *sys.argv[1:]]),
        "finetune_recipe": FINETUNE,
        "rows": rows,
        "provenance": provenance(),
    }
    for r in rows:
        print(f"{r['model']:45s} USPS test {r['usps_test']:.2%}  MNIST test {r['mnist_test']:.2%}")
    atomic_write_json(args.out / "usps_ceiling.json", report)
    return 0


def usps_probabilities(model: Classifier, paths: list[Path]) -> np.ndarray:
    """Class probabilities of each PNG through predict, end to end."""
    results = predict_many(paths, model, threshold=0.0)
    return np.array([r.probabilities or [np.nan] * 10 for r in results])  # NaN: no digit found


def row(
    name: str, usps: np.ndarray, digits: np.ndarray, usps_labels: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    read = np.where(np.isnan(usps).any(axis=1), -1, np.nan_to_num(usps).argmax(axis=1))
    return {
        "model": name,
        "usps_test": round(float(np.mean(read == usps_labels)), 4),
        "usps_wrong": int((read != usps_labels).sum()),
        "mnist_test": round(float(np.mean(digits.argmax(1) == labels)), 4),
    }


if __name__ == "__main__":
    sys.exit(main())
