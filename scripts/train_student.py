"""Train the distilled `student` (under 20,000 parameters) from the shipped `default` model: each
variant (distillation settings and augmentation) at the given seeds, plus the same student trained
alone as the comparison. The distilled run with the best VALIDATION accuracy is the candidate;
test accuracy of every run is measured afterwards and chooses nothing.

    python scripts/train_student.py [--runs runs] [--variants NAME ...] [--seeds 0] [--threads 1]
                                    [--existing] [--ship]

Variants (see VARIANTS): t4-medium — temperature 4 on the teacher's raw logits, alpha 0.9,
medium augmentation; t1cal-light — the teacher's calibrated probabilities (logits / its card
temperature) at temperature 1, alpha 0.5, light augmentation; t1cal-light-e40 — the same for 40
epochs instead of 30; alone-light — no teacher, light augmentation; ens3-light-e40 — t1cal-light-e40
with the mean of three teachers (runs/default-seed0..2 from `scripts/train_default.py --seeds 0 1 2`).

Round 1 (variants t1cal-light and t1cal-light-e40, seeds 0-3) shipped a student at 99.46% test:
the best validation run was the worst on test, validation differences being within one 5,000-digit
split's noise. Round 2 was declared before it trained: `--variants ens3-light-e40 --seeds 4 5
--ship`, the higher validation accuracy of those two runs is shipped, whatever the test says.
Round 1's record is docs/results/student-round1.json; each run of this script rewrites
docs/results/student-model.json with the runs it was given. Writes
docs/results/student-model.json. --ship copies the chosen run into the package as
src/digitrec/weights/student.{safetensors,json}. Runs that already finished are reused
(an interrupted run starts over: distillation runs keep no checkpoint).
"""

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

from digitrec.compress.distill import DISTILL_RECIPE, distill
from digitrec.evaluate import evaluate
from digitrec.models.modelfile import read_model
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_json
from digitrec.train import TrainConfig
from digitrec.train.objective import DistillConfig

REPO = Path(__file__).resolve().parents[1]
TEACHERS = ["default"]
# Repository-relative (the script works from the repository's root), as the cards record them.
ENSEMBLE = [f"runs/default-seed{seed}" for seed in (0, 1, 2)]
# name -> (training values over DISTILL_RECIPE, distillation settings, teachers)
VARIANTS: dict[str, tuple[dict[str, object], DistillConfig, list[str]]] = {
    "t4-medium": (
        {"augment": "medium"},
        DistillConfig(temperature=4.0, alpha=0.9, calibrated=False),
        TEACHERS,
    ),
    "t1cal-light": ({"augment": "light"}, DistillConfig(temperature=1.0, alpha=0.5), TEACHERS),
    "alone-light": ({"augment": "light"}, DistillConfig(), []),
    "t1cal-light-e40": (
        {"augment": "light", "epochs": 40},
        DistillConfig(temperature=1.0, alpha=0.5),
        TEACHERS,
    ),
    # Round 2 (declared before any of its runs trained): the mean of three teachers — the default
    # recipe's seeds 0-2 from scripts/train_default.py — for 40 epochs, at new seeds 4 and 5.
    "ens3-light-e40": (
        {"augment": "light", "epochs": 40},
        DistillConfig(temperature=1.0, alpha=0.5),
        ENSEMBLE,
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=REPO / "runs")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (0: all cores)")
    parser.add_argument("--ship", action="store_true", help="copy the chosen run into the package")
    parser.add_argument(
        "--existing",
        action="store_true",
        help="only the finished runs among VARIANTS × SEEDS: train nothing, summarize and choose",
    )
    args = parser.parse_args()
    args.runs = args.runs.resolve()
    os.chdir(REPO)  # teachers are named relative to it
    pairs = [(variant, seed) for variant in args.variants for seed in args.seeds]
    if args.existing:
        pairs = [(v, s) for v, s in pairs if (run_dir(args, v, s) / "model.safetensors").exists()]
    rows = [run(args, variant, seed) for variant, seed in pairs]
    distilled = [r for r in rows if r["teachers"]]
    chosen = max(distilled, key=lambda r: r["val_accuracy"]) if distilled else None  # validation
    if args.ship and chosen is not None:
        weights = REPO / "src" / "digitrec" / "weights"
        for suffix in (".safetensors", ".json"):
            source = REPO / str(chosen["run"]) / f"model{suffix}"
            shutil.copyfile(source, weights / f"student{suffix}.tmp")
            (weights / f"student{suffix}.tmp").replace(weights / f"student{suffix}")
    summary: dict[str, Any] = {
        "student": "student",
        "recipe": DISTILL_RECIPE,
        "variants": {
            name: {"recipe": values, "distill": d.to_json(), "teachers": teachers}
            for name, (values, d, teachers) in VARIANTS.items()
            if name in args.variants
        },
        "runs": rows,
        "test_accuracy_by_variant": {
            variant: summarize([r["test_accuracy"] for r in rows if r["variant"] == variant])
            for variant in args.variants
            if any(r["variant"] == variant for r in rows)
        },
        "chosen": chosen,
        "chosen_because": "best validation accuracy of the distilled runs (a tie: the first listed)",
        "shipped": bool(args.ship and chosen),
        "provenance": provenance(),
    }
    results = REPO / "docs" / "results"
    results.mkdir(parents=True, exist_ok=True)
    atomic_write_json(results / "student-model.json", summary)
    for variant, stats in summary["test_accuracy_by_variant"].items():
        print(f"{variant}: test accuracy {stats['mean']:.4f} ± {stats['std']:.4f}")
    if chosen:
        print(f"chosen: {chosen['run']} (validation {chosen['val_accuracy']:.4f})")
    return 0


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def run_dir(args: argparse.Namespace, variant: str, seed: int) -> Path:
    return Path(args.runs) / f"student-{variant}-seed{seed}"


def run(args: argparse.Namespace, variant: str, seed: int) -> dict[str, Any]:
    values, distillation, teachers = VARIANTS[variant]
    out = run_dir(args, variant, seed)
    if not (out / "model.safetensors").exists():
        if out.exists():
            shutil.rmtree(out)
        settings = DISTILL_RECIPE | values | {"seed": seed, "threads": args.threads}
        config = TrainConfig(model="student", **settings, recipe=f"distill-{variant}")
        distill(list(teachers), config, out, distillation)
    card, _ = read_model(out)
    test = evaluate(out, "mnist", "test")
    row = {
        "variant": variant,
        "seed": seed,
        "teachers": teachers,
        "run": str(out.relative_to(REPO) if out.is_relative_to(REPO) else out),
        "parameters": test["parameters"],
        "val_accuracy": card.metrics["val_accuracy"],
        "test_accuracy": test["accuracy"],
        "test_ece": test["ece"],
        "train_seconds": card.training["train_seconds"],
        "threads": card.training["config"]["threads"],
    }
    print(json.dumps(row), flush=True)
    return row


if __name__ == "__main__":
    sys.exit(main())
