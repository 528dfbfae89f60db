"""Real digits that fill their frame (issue 16): the shipped default model reading CVL single
digits through `digitrec.recognize.predict_many` (every image through `normalize_digit`), beside
the textbook pipeline (the ink's bounding box scaled into 20×20 keeping its aspect ratio, pasted
into 28×28 by its centre of mass) fed to the same model, on the same PNG files.

Only the CVL **train and val writers** (the project's writer rule, `data.cvl.writer_split`):
the test writers' files are never read, not even opened. The preprocessing was tuned on these.

Renderings of each file (all PNG files, decoded by the normal path): original (the 28×28 file
as it is: the digit stretched to fill its box, 3-4 pixels of paper round it), tight (cut to its
ink darker than mid-grey: touching all four edges), binary (tight, Otsu-binarized), thick
(binarized at 4× and the ink grown by 4 pixels there: a felt pen), thick_small (binarized and
grown by 1 pixel at the file's own size), small (tight, shrunk to 15×16), small_binary (that,
binarized), blue and light_blue (ink of those colours on white, an RGB file the decoder turns
to gray), pencil (grey 165 on 235).

    python benchmarks/tight_crops.py --cvl DIR [--limit N] [--threads 1] [--out benchmarks/results]

DIR is the extracted `cvl-digits-train-valid.tar.gz` (shared/data/cvl/), holding train/ and
valid/. The textbook pipeline lives here, not in the package: it is the reference, and it
knows the ink is dark (the package must find that out).
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.data.cvl import writer_split
from digitrec.images import decode_image
from digitrec.models.loading import load_model
from digitrec.models.modelfile import Classifier
from digitrec.provenance import provenance
from digitrec.recognize import predict_many
from digitrec.storage import atomic_write_json

Render = Callable[[np.ndarray], np.ndarray]  # (28, 28) gray, dark on light -> an image to save


def cvl_files(root: Path) -> dict[str, list[Path]]:
    """{"train": [...], "val": [...]} PNG files by writer (the name's second field); the test
    writers' files are left out by name alone."""
    found: dict[str, list[Path]] = {"train": [], "val": []}
    for folder in ("train", "valid"):
        for path in sorted((root / folder).glob("*.png")):
            split = writer_split(path.name.split("-")[1])
            if split != "test":
                found[split].append(path)
    if not found["train"] or not found["val"]:
        raise SystemExit(f"{root}: no CVL train/ and valid/ PNG files found")
    return found


def ink_box(gray: np.ndarray) -> np.ndarray:
    """The image cut to its ink (darker than mid-grey): the ink touches all four edges."""
    rows, cols = np.nonzero(gray < 128)
    if rows.size == 0:
        return gray
    return gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def binarize(gray: np.ndarray) -> np.ndarray:
    import cv2

    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return binary


def thick(gray: np.ndarray) -> np.ndarray:
    import cv2

    big = binarize(cv2.resize(gray, (112, 112), interpolation=cv2.INTER_CUBIC))
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    return ink_box(cv2.erode(big, pen))  # erode the paper: the dark ink grows


def thick_small(gray: np.ndarray) -> np.ndarray:
    import cv2

    return ink_box(cv2.erode(binarize(gray), np.ones((3, 3), np.uint8)))


def small(gray: np.ndarray) -> np.ndarray:
    import cv2

    resized: np.ndarray = cv2.resize(ink_box(gray), (15, 16), interpolation=cv2.INTER_AREA)
    return resized


def coloured(ink_rgb: tuple[int, int, int], paper_rgb: tuple[int, int, int]) -> Render:
    """Ink of one colour on paper of another, as a BGR image (what cv2.imencode writes as RGB):
    the darkness of each tight-cropped pixel says how much ink covers it."""

    def render(gray: np.ndarray) -> np.ndarray:
        cover = (255.0 - ink_box(gray).astype(np.float32)) / 255.0
        cover = cover / max(float(cover.max()), 1e-6)
        ink = np.array(ink_rgb[::-1], np.float32)
        paper = np.array(paper_rgb[::-1], np.float32)
        image = paper * (1.0 - cover[..., None]) + ink * cover[..., None]
        return np.clip(image, 0, 255).round().astype(np.uint8)

    return render


def pencil(gray: np.ndarray) -> np.ndarray:
    cover = (255.0 - ink_box(gray).astype(np.float32)) / 255.0
    cover = cover / max(float(cover.max()), 1e-6)
    return (235.0 - 70.0 * cover).round().astype(np.uint8)


RENDERINGS: dict[str, Render] = {
    "original": lambda gray: gray,
    "tight": ink_box,
    "binary": lambda gray: binarize(ink_box(gray)),
    "thick": thick,
    "thick_small": thick_small,
    "small": small,
    "small_binary": lambda gray: binarize(small(gray)),
    "blue": coloured((40, 90, 200), (255, 255, 255)),  # a blue ballpoint
    "light_blue": coloured((135, 206, 250), (255, 255, 255)),  # light sky blue: gray 190
    "pencil": pencil,
}


def textbook(gray: np.ndarray) -> np.ndarray:
    """The textbook pipeline, dark ink known: ink = inverted grey minus its lowest level; the box
    of the ink above a fifth of its peak, scaled so its longer side is 20 (area averaging), then
    placed in 28×28 with its centre of mass at (14, 14); peak scaled to 255."""
    import cv2

    ink = 255.0 - gray.astype(np.float32)
    ink -= ink.min()
    if ink.max() == 0:  # all one grey level (a binary crop with no paper): nothing to read
        return np.zeros((28, 28), np.uint8)
    rows, cols = np.nonzero(ink > 0.2 * ink.max())
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    height, width = crop.shape
    scale = 20.0 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    moments = cv2.moments(digit)
    mass = max(moments["m00"], 1e-9)
    center_y, center_x = moments["m01"] / mass, moments["m10"] / mass
    top = min(max(round(14 - center_y), 0), 28 - digit.shape[0])
    left = min(max(round(14 - center_x), 0), 28 - digit.shape[1])
    canvas = np.zeros((28, 28), np.float32)
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return np.clip(canvas * (255.0 / max(float(canvas.max()), 1e-6)), 0, 255).astype(np.uint8)


def measure(files: list[Path], render: Render, model: Classifier) -> dict[str, float | int]:
    """Accuracy of predict and of the textbook pipeline on the rendered files, the same bytes."""
    import cv2

    labels = np.array([int(path.name.split("-")[0]) for path in files])
    pages = []
    for path in files:
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        pages.append(cv2.imencode(".png", render(gray))[1].tobytes())
    results = predict_many(pages, model, threshold=0.0)
    read = np.array([-1 if r.digit is None else r.digit for r in results])
    grays = [decode_image(page, path.name) for page, path in zip(pages, files, strict=True)]
    probabilities = model.predict_proba(np.stack([textbook(gray) for gray in grays]))
    classes = np.array([int(c) for c in model.card.classes])
    textbook_read = classes[probabilities.argmax(axis=1)]
    return {
        "digits": len(files),
        "predict": round(float(np.mean(read == labels)), 4),
        "predict_no_digit": int(np.sum(read == -1)),
        "textbook": round(float(np.mean(textbook_read == labels)), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cvl", type=Path, required=True, help="holds train/ and valid/")
    parser.add_argument("--limit", type=int, help="only N files of each split")
    parser.add_argument("--renderings", nargs="+", default=list(RENDERINGS), choices=RENDERINGS)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    files = cvl_files(args.cvl)
    if args.limit:  # evenly spread: the files are sorted by digit
        files = {s: p[:: max(1, len(p) // args.limit)][: args.limit] for s, p in files.items()}
    writers = {split: len({p.name.split("-")[1] for p in paths}) for split, paths in files.items()}
    model = load_model("default")
    rows: list[dict[str, Any]] = []
    print(f"{'rendering':<14}{'split':<7}{'digits':>7}{'predict':>10}{'textbook':>10}")
    started = time.perf_counter()
    for name in args.renderings:
        for split, paths in files.items():
            row = {"rendering": name, "split": split, **measure(paths, RENDERINGS[name], model)}
            rows.append(row)
            print(
                f"{name:<14}{split:<7}{row['digits']:>7}{row['predict']:>10.2%}"
                f"{row['textbook']:>10.2%}",
                flush=True,
            )
    report = {
        "benchmark": "tight_crops",
        "data": "CVL single digits, train and val writers only (test writers never read)",
        "writers": writers,
        "limit": args.limit,
        "model": "default",
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "provenance": provenance(),
    }
    atomic_write_json(args.out / "tight_crops.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
