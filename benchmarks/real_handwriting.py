"""Reading real handwriting, side by side in one run: this reader, the previous shipped reader and
Tesseract 5, on the same files.

Sets (each is held out from every training set and every choice; see `digitrec data info`):
(a) `written-numbers` (test only: 600 real 10-digit numbers written with a pen on paper);
(b) `parish-rows` test pages (real row numbers in ruled cells of scanned parish records, the
    pages held out by a hash of their name);
(c) our synthetic pages (`digitrec data synth-numbers`, MNIST **test** digits, the original
    generator, seed 0), as benchmarks/read_numbers.py makes them;
(e) phone photos: sheets photographed as tests/renderings.py `photographed_sheet` draws them
    (a 10-digit number on a small part of an unevenly lit 2000×1500 sheet, the size the web page
    sends; JPEG quality 90), each number written by ONE of `cvl`'s held-out test writers with the
    digits as the archive ships them (seed 0);
(d) `cvl` test writers through `predict` (one digit per file, the PNG files as shipped, dark ink
    on light paper, tight crops), beside the textbook pipeline (ink bounding box → 20×20 →
    centre of mass) feeding the same default model.
For (a)-(c) and (e): exact-string accuracy, character error rate and digits read per second (one
process, the model loaded; Tesseract: a process per image, `--psm 7`, digits whitelist, on the
same images saved as PNG). The previous reader is `digitrec read` as shipped at --previous
(a git revision; default d5d573b, the last before issue 16): its own code and weights, run from
a git worktree with this environment's libraries, on the same PNG files.

Targets (issue 16): written numbers ≥ 97% exact; parish test pages ≥ 92%; CVL test writers
≥ 98.5%; synthetic pages ≥ 94.5%.

    python benchmarks/real_handwriting.py [--previous REV] [--synth-pages 200] [--photos 60]
                                          [--limit N] [--no-tesseract] [--source DIR]
                                          [--out benchmarks/results]

--source: the folder holding the datasets' files when they are not cached yet (the team's copy:
../shared/data, whose sub-folders are tried in turn).
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from read_numbers import find_tesseract, run_tesseract, tesseract_version

from digitrec.data import fetch, load
from digitrec.data.numbers import load_numbers
from digitrec.data.numberset import NumberSet
from digitrec.data.synth import SynthConfig, synth_numbers
from digitrec.provenance import provenance
from digitrec.reading.evaluation import read_numbers, reading_scores
from digitrec.storage import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "written-numbers": 0.97,
    "parish-rows": 0.92,
    "cvl": 0.985,
    "synthetic": 0.945,
}  # issue 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--previous",
        default="d5d573b",
        help="git revision of the previous reader (before issue 16)",
    )
    parser.add_argument("--synth-pages", type=int, default=200)
    parser.add_argument("--photos", type=int, default=60, help="phone photos of CVL test writers")
    parser.add_argument("--limit", type=int, help="only the first N images of each set")
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    for name in ("written-numbers", "parish-rows", "cvl"):
        fetch(name, args.source / name if (args.source / name).is_dir() else args.source)
    tesseract = None if args.no_tesseract else find_tesseract()
    report: dict[str, Any] = {
        "command": "python benchmarks/real_handwriting.py " + " ".join(sys.argv[1:]),
        "previous": args.previous,
        "tesseract": tesseract_version(tesseract) if tesseract else None,
        "targets": TARGETS,
        "sets": {},
        "provenance": provenance(),
    }
    with tempfile.TemporaryDirectory(prefix="digitrec-real-") as tmp:
        work = Path(tmp)
        synth = synthetic_pages(args.synth_pages, work / "synth")
        sets = {
            "written-numbers": load_numbers("written-numbers")["test"],
            "parish-rows": load_numbers("parish-rows")["test"],
            "synthetic": load_numbers(f"strings:{synth}")["test"],
            "photos": photo_sheets(args.photos),
        }
        for name, numbers in sets.items():
            numbers = limited(numbers, args.limit)
            entry: dict[str, Any] = {"count": len(numbers)}
            entry["digitrec"] = summary(read_numbers("default", numbers))
            previous = summary(previous_scores(args.previous, numbers, work / name))
            entry["previous"] = previous | {"digits_per_second": None}  # a process per 200 files
            if tesseract:
                entry["tesseract"] = summary(tesseract_scores(tesseract, numbers, work / name))
            report["sets"][name] = entry
            print(name, json.dumps({k: v for k, v in entry.items() if k != "count"}), flush=True)
        report["sets"]["cvl"] = cvl_digits(args.limit)
        print("cvl", json.dumps(report["sets"]["cvl"]), flush=True)
        remove_worktrees(work)
    atomic_write_json(args.out / "real_handwriting.json", report)
    return 0


def previous_scores(revision: str, numbers: NumberSet, folder: Path) -> dict[str, Any]:
    """The reader as shipped at `revision`, its code and weights both (a git worktree of it run
    with this environment's libraries), on the same images saved as PNG."""
    paths = saved(numbers, folder)
    tree = folder.parent / f"previous-{revision}"
    if not tree.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), revision],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "DIGITREC_NO_PROGRESS": "1"}
    started = time.perf_counter()
    reads: dict[str, str] = {}
    for start in range(0, len(paths), 200):
        done = subprocess.run(
            [sys.executable, "-m", "digitrec", "read", "--json", *map(str, paths[start : start + 200])],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        for line in done.stdout.splitlines():
            row = json.loads(line)
            reads[row["file"]] = row["text"]
    seconds = time.perf_counter() - started
    texts = [reads.get(str(path), "") for path in paths]
    return {**reading_scores(numbers.texts, texts), "seconds": seconds, "digits": _digits(numbers)}


def remove_worktrees(work: Path) -> None:
    for tree in work.glob("previous-*"):
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def saved(numbers: NumberSet, folder: Path) -> list[Path]:
    """The images as gray PNG files in `folder` (made once)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{index:05d}.png" for index in range(len(numbers))]
    for path, image in zip(paths, numbers.images, strict=True):
        if not path.exists() and not cv2.imwrite(str(path), image):
            raise OSError(f"could not write {path}")
    return paths


def synthetic_pages(count: int, out: Path) -> Path:
    """read_numbers' synthetic pages: a strings:DIR folder (all in its test split)."""
    synth_numbers(load("mnist", "test"), out, SynthConfig(count=count, seed=0))
    return out


def photo_sheets(count: int, seed: int = 0) -> NumberSet:
    """(e) Phone photos of numbers written by CVL's held-out test writers: per sheet one writer
    (taken in turn, those with 10 digits or more), 10 of their digits in a random order."""
    sys.path.insert(0, str(ROOT / "tests"))
    import cv2
    from renderings import photographed_sheet

    from digitrec.data.cvl import label_and_writer, raw_digits

    by_writer: dict[str, list[tuple[np.ndarray, int]]] = {}
    for name, png, label in raw_digits("test"):
        gray = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
        side = max(gray.shape)  # centred on a square of its own paper, the aspect kept
        top, left = (side - gray.shape[0]) // 2, (side - gray.shape[1]) // 2
        square = np.full((side, side), int(np.median(gray)), np.uint8)
        square[top : top + gray.shape[0], left : left + gray.shape[1]] = gray
        ink = 255 - cv2.resize(square, (28, 28), interpolation=cv2.INTER_AREA)  # bright on black
        by_writer.setdefault(label_and_writer(name)[1], []).append((ink, label))
    writers = [w for w in sorted(by_writer) if len(by_writer[w]) >= 10]
    rng = np.random.default_rng(seed)
    images, texts = [], []
    for k in range(count):
        digits = by_writer[writers[k % len(writers)]]
        chosen = rng.choice(len(digits), 10, replace=False)
        photo, _ = photographed_sheet(
            np.stack([digits[i][0] for i in chosen]), rng, width=2000, height=1500
        )
        ok, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        images.append(cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE))
        texts.append("".join(str(digits[i][1]) for i in chosen))
    return NumberSet("photos", "test", images, texts, [f"{i:05d}.jpg" for i in range(count)])


def limited(numbers: NumberSet, limit: int | None) -> NumberSet:
    if not limit:
        return numbers
    return NumberSet(
        numbers.name,
        numbers.split,
        numbers.images[:limit],
        numbers.texts[:limit],
        numbers.files[:limit],
    )


def tesseract_scores(binary: str, numbers: NumberSet, folder: Path) -> dict[str, Any]:
    paths = saved(numbers, folder)
    started = time.perf_counter()
    reads = [run_tesseract(binary, path) for path in paths]
    seconds = time.perf_counter() - started
    return {**reading_scores(numbers.texts, reads), "seconds": seconds, "digits": _digits(numbers)}


def summary(scores: dict[str, Any]) -> dict[str, Any]:
    return {
        "exact": round(scores["exact"], 4),
        "cer": round(scores["cer"], 4),
        "digits_per_second": round(scores["digits"] / max(scores["seconds"], 1e-9), 1),
    }


def _digits(numbers: NumberSet) -> int:
    return sum(len(t) for t in numbers.texts)


def cvl_digits(limit: int | None) -> dict[str, Any]:
    """(d) CVL's test writers, one digit per PNG file as shipped, through `predict` and through
    the textbook pipeline (benchmarks/tight_crops.py) with the same default model."""
    from tight_crops import textbook

    from digitrec.data.cvl import raw_digits
    from digitrec.images import decode_image
    from digitrec.models.loading import load_model
    from digitrec.recognize import predict_many

    digits = raw_digits("test")[:limit]
    labels = np.array([label for _, _, label in digits])
    model = load_model("default")
    started = time.perf_counter()
    predictions = predict_many([data for _, data, _ in digits], model, threshold=0.0)
    seconds = time.perf_counter() - started
    read = np.array([-1 if p.digit is None else p.digit for p in predictions])
    plain = np.stack([textbook(decode_image(data, name)) for name, data, _ in digits])
    return {
        "count": len(digits),
        "predict": round(float(np.mean(read == labels)), 4),
        "textbook": round(float(np.mean(model.predict_proba(plain).argmax(1) == labels)), 4),
        "digits_per_second": round(len(digits) / seconds, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
