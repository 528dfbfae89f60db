"""A `default` model for real handwriting: the shipped default fine-tuned on MNIST + USPS + CVL's
training writers, shipped only if it beats the current one on VALIDATION.

    python scripts/train_default_real.py [--runs runs] [--threads 0] [--joint] [--ship]

The recipe (`FINETUNE`, fixed before any test figure was seen): the default recipe's optimizer,
augmentation and smoothing at a tenth of its learning rate, 3 epochs, from the shipped weights,
on `mnist+usps+cvl` (each part's train split; CVL split by writer). The choice: the mean of the
three parts' validation accuracies (each part weighs the same), candidate against the shipped
model, measured through `evaluate` on the 28×28 validation digits. Test figures — MNIST test,
USPS test and CVL's test writers, as digits and as PNG files through `predict` — are measured
afterwards for both and choose nothing. Writes docs/results/default-real.json; --ship copies
the candidate into src/digitrec/weights/ when it won on validation.

--joint: the second step. The candidate is the `default` recipe itself (26 epochs, seed 0)
trained from scratch on `mnist+usps+cvl` (`JOINT`), against the shipped (fine-tuned) default,
chosen the same way; writes docs/results/default-joint.json.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from digitrec.data import fetch, load
from digitrec.evaluate import evaluate
from digitrec.models.loading import load_model
from digitrec.provenance import provenance
from digitrec.recognize import predict_many
from digitrec.storage import atomic_write_json
from digitrec.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
PARTS = ("mnist", "usps", "cvl")
FINETUNE = dict(
    model="default", dataset="mnist+usps+cvl", optimizer="sgd", nesterov=True, lr=0.01,
    momentum=0.9, weight_decay=5e-4, schedule="onecycle", warmup=0.2, batch_size=128, epochs=3,
    augment="medium", label_smoothing=0.1, ema=0.999, seed=0, init="default",
)  # fmt: skip
# the `default` recipe (train/recipes.py) with only the dataset changed
JOINT = dict(
    model="default", dataset="mnist+usps+cvl", optimizer="sgd", nesterov=True, lr=0.1,
    momentum=0.9, weight_decay=5e-4, schedule="onecycle", warmup=0.2, batch_size=128, epochs=26,
    augment="medium", label_smoothing=0.1, ema=0.999, aux_weight=0.3, seed=0, recipe="default",
)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=REPO / "runs")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: every core)")
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--ship", action="store_true")
    parser.add_argument("--joint", action="store_true", help="the from-scratch candidate")
    args = parser.parse_args()
    for part in ("usps", "cvl"):
        fetch(part, args.source / part)
    recipe, name = (JOINT, "joint") if args.joint else (FINETUNE, "real")
    out = args.runs.resolve() / f"default-{name}"
    if not (out / "model.safetensors").exists():
        resume = (out / "checkpoint.safetensors").exists()
        train(TrainConfig(**recipe, threads=args.threads), out, resume=resume)  # type: ignore[arg-type]
    shipped = REPO / "src" / "digitrec" / "weights" / "default.safetensors"
    candidate = "trained on mnist+usps+cvl" if args.joint else "fine-tuned on mnist+usps+cvl"
    candidates = {"shipped default": "default", candidate: str(out)}
    rows = {name: measure(model) for name, model in candidates.items()}
    chosen = max(rows, key=lambda name: rows[name]["val_mean"])  # validation only
    if args.ship and chosen != "shipped default":
        for suffix in (".safetensors", ".json"):
            shutil.copyfile(out / f"model{suffix}", shipped.with_suffix(suffix))
    summary = {
        "command": "python scripts/train_default_real.py " + " ".join(sys.argv[1:]),
        "recipe": recipe,
        "models": rows,
        "chosen_on_validation": chosen,
        "shipped": args.ship and chosen != "shipped default",
        "provenance": provenance(),
    }
    atomic_write_json(REPO / "docs" / "results" / f"default-{name}.json", summary)
    for name, row in rows.items():
        print(name, json.dumps(row))
    print(f"chosen on validation: {chosen}")
    return 0


def measure(model: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for part in PARTS:
        row[f"{part}_val"] = evaluate(model, part, "val")["accuracy"]
        row[f"{part}_test"] = evaluate(model, part, "test")["accuracy"]
    row["val_mean"] = statistics.mean(row[f"{part}_val"] for part in PARTS)
    row |= {f"{part}_test_png": png_accuracy(model, part) for part in ("usps", "cvl")}
    return row


def png_accuracy(model: str, part: str) -> float:
    """The test digits as a user has them, one PNG file each through `predict`: USPS as in
    benchmarks/read_numbers.py (dark on white, 64×64 cubic); CVL's test writers as the archive
    ships them (28×28 tight crops)."""
    with tempfile.TemporaryDirectory(prefix="default-real-") as tmp:
        if part == "usps":
            test = load("usps", "test")
            images = [
                cv2.resize(255 - i, (64, 64), interpolation=cv2.INTER_CUBIC) for i in test.images
            ]
            labels = test.labels
        else:
            images, labels = cvl_test_files()
        paths = []
        for index, image in enumerate(images):
            paths.append(Path(tmp) / f"{index:05d}.png")
            cv2.imwrite(str(paths[-1]), image)
        results = predict_many(paths, load_model(model), threshold=0.0)
    return float(np.mean([r.digit == label for r, label in zip(results, labels, strict=True)]))


def cvl_test_files() -> tuple[list[np.ndarray], np.ndarray]:
    """CVL's test writers' digits as shipped (dark ink on light paper, tight 28×28 crops)."""
    from digitrec.data.cvl import raw_digits
    from digitrec.images import decode_image

    digits = raw_digits("test")
    return [decode_image(data, name) for name, data, _ in digits], np.array([d[2] for d in digits])


if __name__ == "__main__":
    sys.exit(main())
