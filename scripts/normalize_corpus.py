"""Check that a change to the preprocessing changes nothing (or see how much it changes): run
`normalize_digit` over a fixed corpus and save every output, then compare two saves.

    python scripts/normalize_corpus.py save OUT.npz [--digits 150] [--usps-source DIR]
    python scripts/normalize_corpus.py compare A.npz B.npz

The corpus, all seeded: MNIST validation digits drawn each hard way of tests/renderings.py
(corner, thin pen, gradient, noise, JPEG, ...), uploads as the serve benchmark sends them
(112×112 PNG-like), USPS test digits upscaled as benchmarks/read_numbers.py makes them (when
USPS is fetched), and synthetic number pages with square crops of them, also as the reader's
ink signal. Each output is the 28×28 digit, or the error message when there is no digit.

To compare two versions of the code, save with each (e.g. a `git worktree` of the old commit,
run with PYTHONPATH=that/src), then `compare`. Outputs also move with OpenCV and numpy versions.
"""

import argparse
import hashlib
import io
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from renderings import RENDERINGS  # noqa: E402

from digitrec.background import Ink  # noqa: E402
from digitrec.errors import DataError  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    save = commands.add_parser("save", help="normalize the corpus and save the outputs")
    save.add_argument("out", type=Path)
    save.add_argument("--digits", type=int, default=150, help="digits per kind")
    save.add_argument("--usps-source", type=Path, default=REPO.parent / "shared/data/usps")
    compare = commands.add_parser("compare", help="how many outputs differ between two saves")
    compare.add_argument("a", type=Path)
    compare.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        return save_outputs(args.out, args.digits, args.usps_source)
    return compare_outputs(args.a, args.b)


def corpus(digits: int, usps_source: Path) -> list[tuple[str, np.ndarray, Ink]]:
    """(kind, gray image, ink) items, the same on every run."""
    import cv2

    from digitrec.data import fetch, load_splits
    from digitrec.data.synth import SynthConfig, make_page

    splits = load_splits("mnist")
    items: list[tuple[str, np.ndarray, Ink]] = []
    for name, render in RENDERINGS.items():
        rng = np.random.default_rng(7)
        items += [(name, render(d, rng), "auto") for d in splits["val"].images[:digits]]
    for d in splits["test"].images[:digits]:
        upload = cv2.resize(255 - d, (112, 112), interpolation=cv2.INTER_CUBIC)
        items.append(("upload", upload, "auto"))
    if usps_source.is_dir():
        fetch("usps", usps_source)
        for d in load_splits("usps", usps_source)["test"].images[: 4 * digits]:
            items.append(
                ("usps", cv2.resize(255 - d, (64, 64), interpolation=cv2.INTER_CUBIC), "auto")
            )
    else:
        print(f"no USPS at {usps_source}: left out")
    rng = np.random.default_rng(0)
    for i in range(digits // 3):
        page = make_page(splits["test"], SynthConfig(), np.random.default_rng(i)).image
        items.append(("page", page, "auto"))
        height, width = page.shape
        for _ in range(4):
            x = int(rng.integers(0, max(1, width - height)))
            crop = page[:, x : x + height]
            items.append(("crop", crop, "auto"))
            signal = np.clip(215 - crop.astype(np.int16), 0, 255).astype(np.uint8)
            items.append(("signal", signal, "signal"))
    return items


def save_outputs(out: Path, digits: int, usps_source: Path) -> int:
    from digitrec.preprocess import SIDE, normalize_digit
    from digitrec.storage import atomic_write_bytes

    items = corpus(digits, usps_source)
    images = np.zeros((len(items), SIDE, SIDE), np.uint8)
    errors = []
    started = time.process_time()
    for index, (kind, gray, ink) in enumerate(items):
        try:
            images[index] = normalize_digit(gray, kind, ink=ink)
            errors.append("")
        except DataError as error:
            errors.append(str(error))
    seconds = time.process_time() - started
    kinds = np.array([kind for kind, _, _ in items])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=images, errors=np.array(errors), kinds=kinds)
    atomic_write_bytes(out, buffer.getvalue())
    print(
        f"{len(items)} images ({len(set(kinds.tolist()))} kinds), "
        f"{sum(1 for e in errors if e)} without a digit; "
        f"{seconds / len(items) * 1000:.3f} ms CPU each; digest {digest(images, errors)[:16]}"
    )
    print(f"wrote {out}")
    return 0


def digest(images: np.ndarray, errors: list[str]) -> str:
    hasher = hashlib.sha256(images.tobytes())
    hasher.update("\n".join(errors).encode())
    return hasher.hexdigest()


def compare_outputs(a_path: Path, b_path: Path) -> int:
    with np.load(a_path) as a, np.load(b_path) as b:
        if a["kinds"].tolist() != b["kinds"].tolist():
            print("the two saves are of different corpora (other --digits or USPS)")
            return 2
        same_error = a["errors"] == b["errors"]
        same_image = (a["images"] == b["images"]).all(axis=(1, 2))
        differ = ~(same_error & same_image)
        kinds = a["kinds"]
        print(f"{int(differ.sum())} of {len(differ)} outputs differ")
        for kind in dict.fromkeys(kinds.tolist()):
            here = kinds == kind
            if differ[here].any():
                changed = differ & here & same_error
                largest = (
                    int(np.abs(a["images"][changed].astype(int) - b["images"][changed]).max())
                    if changed.any()
                    else 0
                )
                print(
                    f"  {kind}: {int(differ[here].sum())} of {int(here.sum())} "
                    f"({int((~same_error & here).sum())} found/lost a digit; "
                    f"largest pixel change {largest})"
                )
        return 1 if differ.any() else 0


if __name__ == "__main__":
    sys.exit(main())
