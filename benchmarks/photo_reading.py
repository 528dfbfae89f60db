"""Phone photos of a sheet (issue 21): `digitrec read` time, memory and exact accuracy against the
photo's megapixels, beside Tesseract 5 on the same files, in one run.

    python benchmarks/photo_reading.py [--sheets 5] [--megapixels 1,3,6,12,24] [--no-tesseract]
                                       [--out benchmarks/results]

Each sheet is tests/renderings.py `photographed_sheet`: a 10-digit number of MNIST **test**
digits written on a small part of an unevenly lit sheet, 4:3, saved as JPEG (quality 90), seed 0.
Per size: exact-string accuracy over `--sheets` sheets (the model loaded once), and for one sheet
the wall time and peak memory of a fresh `digitrec read FILE --json` process (start-up and model
loading included) — the reader works at `reading.ink.WORK_SIDE`, so both should stay flat
past that size. Tesseract: `--psm 11` (sparse text: a number somewhere on a page), digits
whitelist, a process per image, its text with spaces removed.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from renderings import photographed_sheet  # noqa: E402

from digitrec.data import load  # noqa: E402
from digitrec.provenance import provenance  # noqa: E402
from digitrec.reading import read_many  # noqa: E402
from digitrec.reading.ink import WORK_SIDE  # noqa: E402
from digitrec.storage import atomic_write_json  # noqa: E402

DIGITREC = Path(sys.executable).parent / "digitrec"


def sheets(megapixels: float, count: int, seed: int) -> list[tuple[np.ndarray, str]]:
    test = load("mnist", "test")
    rng = np.random.default_rng(seed)
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = round(width * 3 / 4)
    made = []
    for _ in range(count):
        chosen = rng.choice(len(test), 10, replace=False)
        photo, _ = photographed_sheet(test.images[chosen], rng, width=width, height=height)
        made.append((photo, "".join(str(int(test.labels[i])) for i in chosen)))
    return made


# Runs one command and prints its peak resident KB: a small process of its own to fork from,
# since a child forked from this benchmark (hundreds of MB of photos and models) would count
# this process's pages as its own.
PEAK = (
    "import resource, subprocess, sys; "
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def fresh_process(path: Path) -> dict[str, float]:
    """Wall seconds and peak resident MB of one `digitrec read FILE --json` process (its own
    peak, measured from a small parent: see PEAK)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(DIGITREC), "read", str(path), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    code, peak_kb = (int(v) for v in done.stdout.split())
    if code not in (0, 1):
        raise RuntimeError(done.stderr)
    return {"seconds": seconds, "peak_mb": peak_kb / 1024}


def tesseract(path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        ["tesseract", str(path), "stdout", "--psm", "11", "-c",
         "tessedit_char_whitelist=0123456789"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return "".join(done.stdout.split()), time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sheets", type=int, default=5)
    parser.add_argument("--megapixels", default="1,3,6,12,24")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    use_tesseract = not args.no_tesseract and shutil.which("tesseract") is not None
    sizes = [float(m) for m in args.megapixels.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="photo-reading-") as tmp:
        for megapixels in sorted(sizes):
            made = sheets(megapixels, args.sheets, args.seed)
            paths = []
            for index, (photo, _) in enumerate(made):
                paths.append(Path(tmp) / f"{megapixels:g}mp-{index}.jpg")
                cv2.imwrite(str(paths[-1]), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
            truths = [truth for _, truth in made]
            started = time.perf_counter()
            reads = [r.text for r in read_many(paths)]
            in_process = (time.perf_counter() - started) / len(paths)
            row: dict[str, Any] = {
                "megapixels": megapixels,
                "size": list(made[0][0].shape[::-1]),
                "jpeg_bytes": paths[0].stat().st_size,
                "exact": float(np.mean([r == t for r, t in zip(reads, truths, strict=True)])),
                "seconds_per_photo_in_process": in_process,
                "fresh_process": fresh_process(paths[0]),
                "reads": reads,
                "truths": truths,
            }
            if use_tesseract:
                answers = [tesseract(p) for p in paths]
                row["tesseract"] = {
                    "exact": float(
                        np.mean([a == t for (a, _), t in zip(answers, truths, strict=True)])
                    ),
                    "seconds_per_photo": float(np.mean([s for _, s in answers])),
                }
            rows.append(row)
            print(
                json.dumps({k: v for k, v in row.items() if k not in ("reads", "truths")}),
                flush=True,
            )
    record = {
        "command": "python benchmarks/photo_reading.py " + " ".join(sys.argv[1:]),
        "work_side": WORK_SIDE,
        "rows": rows,
        "provenance": provenance(),
    }
    atomic_write_json(args.out / "photo_reading.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
