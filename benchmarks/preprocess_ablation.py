"""Which steps of the shared preprocessing earn their place: the shipped default model's accuracy
on MNIST **validation** digits rendered the hard ways of tests/renderings.py, and on USPS train and
validation digits saved as PNG files, with each step of `normalize_digit` switched off in turn.
Only validation data: this is where the preprocessing's choices (stroke range, gap closing,
deskew off) were made; test digits are for the tests and benchmarks/read_numbers.py.

    python benchmarks/preprocess_ablation.py [--digits 5000] [--ablations shipped deskew ...]
                                             [--usps-source DIR] [--threads 1]
                                             [--out benchmarks/results]

Ablations: shipped (as is), no-stroke (no stroke-width normalization), stroke-to-median (every
digit to MNIST's median width instead of only those outside its 10th-90th percentile range),
no-gap-closing, deskew (moment deskew on), no-flattening (constant paper level even under uneven
light), no-denoise.
"""

import argparse
import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from renderings import RENDERINGS

import digitrec.preprocess as preprocess
import digitrec.recognize as recognize
from digitrec.data import load, load_splits
from digitrec.models.loading import load_model
from digitrec.models.modelfile import Classifier
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_json

# Each ablation: module constants of digitrec.preprocess to override, and whether to deskew.
ABLATIONS: dict[str, tuple[dict[str, object], bool]] = {
    "shipped": ({}, False),
    "no-stroke": ({"MNIST_STROKE_RANGE": (0.0, float("inf"))}, False),
    "stroke-to-median": (
        {"MNIST_STROKE_RANGE": (preprocess.MNIST_STROKE_WIDTH, preprocess.MNIST_STROKE_WIDTH)},
        False,
    ),
    "no-gap-closing": ({"MAX_GAP_RADIUS": 0}, False),
    "deskew": ({}, True),
    "no-flattening": ({"UNEVEN_LIGHT": float("inf")}, False),
    "no-denoise": ({"NOISE_LIMIT": float("inf")}, False),
}


@contextmanager
def ablated(name: str) -> Iterator[None]:
    constants, deskew = ABLATIONS[name]
    saved = {key: getattr(preprocess, key) for key in constants}
    normalize = recognize.normalize_digit
    try:
        for key, value in constants.items():
            setattr(preprocess, key, value)
        if deskew:
            recognize.normalize_digit = functools.partial(preprocess.normalize_digit, deskew=True)
        yield
    finally:
        for key, value in saved.items():
            setattr(preprocess, key, value)
        recognize.normalize_digit = normalize


def accuracy(pages: list[object], labels: np.ndarray, model: Classifier) -> float:
    results = recognize.predict_many(pages, model, threshold=0.0)
    read = np.array([-1 if r.digit is None else r.digit for r in results])
    return round(float(np.mean(read == labels)), 4)


def usps_pages(split: str, source: Path | None) -> tuple[list[object], np.ndarray]:
    """USPS digits as PNG bytes: dark ink on white, 64×64 (4×, cubic)."""
    import cv2

    digits = load_splits("usps", source)[split]
    pages: list[object] = []
    for image in digits.images:
        big = cv2.resize(255 - image, (64, 64), interpolation=cv2.INTER_CUBIC)
        pages.append(cv2.imencode(".png", big)[1].tobytes())
    return pages, digits.labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digits", type=int, default=5000, help="MNIST validation digits")
    parser.add_argument("--ablations", nargs="+", default=list(ABLATIONS), choices=list(ABLATIONS))
    parser.add_argument("--seed", type=int, default=0, help="seed of the renderings")
    parser.add_argument("--usps-source", type=Path, help="a directory holding the USPS files")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    model = load_model("default")
    val = load("mnist", "val")
    images, labels = val.images[: args.digits], val.labels[: args.digits]
    sets: dict[str, tuple[list[object], np.ndarray]] = {}
    for name, render in RENDERINGS.items():
        rng = np.random.default_rng(args.seed)
        sets[name] = ([render(d, rng) for d in images], labels)
    sets["usps_train_png"] = usps_pages("train", args.usps_source)
    sets["usps_val_png"] = usps_pages("val", args.usps_source)
    rows = []
    print(f"{'ablation':<18}" + "".join(f"{name[:12]:>13}" for name in sets))
    for ablation in args.ablations:
        with ablated(ablation):
            row: dict[str, object] = {
                name: accuracy(pages, truth, model) for name, (pages, truth) in sets.items()
            }
        row = {"ablation": ablation, **row}
        rows.append(row)
        print(f"{ablation:<18}" + "".join(f"{row[name]:>13.2%}" for name in sets), flush=True)
    report = {
        "benchmark": "preprocess_ablation",
        "mnist_val_digits": args.digits,
        "seed": args.seed,
        "rows": rows,
        "provenance": provenance(),
    }
    atomic_write_json(args.out / "preprocess_ablation.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
