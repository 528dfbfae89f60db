"""`digitrec data synth-numbers`: seeded, labelled scans of numbers made from MNIST test digits."""

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitrec.cli import main
from digitrec.data import load
from digitrec.data.synth import SynthConfig, make_page, page_set, synth_numbers
from digitrec.errors import UsageError


def make(out: Path, *extra: str) -> dict[str, object]:
    assert main(["data", "synth-numbers", "--count", "15", "--out", str(out), *extra]) == 0
    labels: dict[str, object] = json.loads((out / "labels.json").read_text())
    return labels


def test_pages_are_labelled_and_reproducible(tmp_path: Path, mnist_report: object) -> None:
    labels = make(tmp_path / "a", "--seed", "7", "--max-digits", "12")
    again = make(tmp_path / "b", "--seed", "7", "--max-digits", "12")
    other = make(tmp_path / "c", "--seed", "8", "--max-digits", "12")
    pages = labels["pages"]
    assert isinstance(pages, list) and len(pages) == 15
    assert pages == again["pages"] and pages != other["pages"]
    digest = {
        p["file"]: hashlib.sha256((tmp_path / "a" / p["file"]).read_bytes()).hexdigest()
        for p in pages
    }
    assert digest == {
        p["file"]: hashlib.sha256((tmp_path / "b" / p["file"]).read_bytes()).hexdigest()
        for p in pages
    }
    suffixes = {Path(p["file"]).suffix for p in pages}
    assert suffixes == {".png", ".jpg"}  # some pages carry JPEG artifacts
    for page in pages:
        image = cv2.imread(str(tmp_path / "a" / page["file"]), cv2.IMREAD_GRAYSCALE)
        assert 1 <= len(page["text"]) <= 12 and page["text"].isdigit()
        assert [d["digit"] for d in page["digits"]] == [int(c) for c in page["text"]]
        lefts = [d["box"][0] for d in page["digits"]]
        assert lefts == sorted(lefts)  # left to right
        for digit in page["digits"]:
            x, y, w, h = digit["box"]
            assert x >= 0 and y >= 0 and x + w <= image.shape[1] and y + h <= image.shape[0]
            inside = image[y : y + h, x : x + w]
            assert inside.min() < np.median(image) - 40  # there is ink in every box


def test_pages_are_a_strings_dataset(tmp_path: Path, mnist_report: object) -> None:
    """synth-numbers writes labels.csv: its folder is `strings:DIR`, all in the test split, for
    evaluate-reader and the benchmarks."""
    from digitrec.data.numbers import load_numbers

    labels = make(tmp_path / "pages", "--seed", "3")
    test = load_numbers(f"strings:{tmp_path / 'pages'}")["test"]
    assert isinstance(labels["pages"], list)
    assert dict(zip(test.files, test.texts, strict=True)) == {
        page["file"]: page["text"] for page in labels["pages"]
    }
    assert test.images[0].shape == cv2.imread(str(tmp_path / "pages" / test.files[0]), 0).shape


def test_page_set_is_the_written_pages_in_memory(tmp_path: Path, mnist_report: object) -> None:
    """page_set (how scripts measure readers on validation digits) draws the very pages
    synth_numbers writes for the same digits and seed: same numbers, same pixels (PNG pages)."""
    labels = make(tmp_path / "pages", "--seed", "5")
    pages = page_set(load("mnist", "test"), SynthConfig(count=15, seed=5), "plain")
    assert isinstance(labels["pages"], list) and pages.split == "test" and len(pages) == 15
    assert pages.texts == [page["text"] for page in labels["pages"]]
    written = [p["file"] for p in labels["pages"] if p["file"].endswith(".png")]
    assert written  # some pages are lossless, and those match pixel for pixel
    for file in written:
        image = cv2.imread(str(tmp_path / "pages" / file), cv2.IMREAD_GRAYSCALE)
        assert np.array_equal(pages.images[int(Path(file).stem)], image)


def test_a_slash_is_no_one() -> None:
    """The mark '/' that a reader must ignore is drawn taller than the digits and leaning
    further than most of MNIST's 1s (a slash shaped as a 1 taught the reader to drop leading 1s)."""
    from digitrec.data import clutter

    rng = np.random.default_rng(0)
    slashes = [m for m in (clutter.mark(40, 3, rng, inner=True) for _ in range(200))
               if m.shape[0] > 40]  # fmt: skip
    assert len(slashes) > 20
    for slash in slashes:
        rows = np.flatnonzero(slash.max(axis=1) > 0)
        top, bottom = (float(np.flatnonzero(slash[r] > 0).mean()) for r in (rows[0], rows[-1]))
        lean = np.degrees(np.arctan2(top - bottom, rows[-1] - rows[0]))
        assert len(rows) >= 50 and 27 < lean < 40


def test_only_test_digits_and_bounds(mnist_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="test digits only"):
        synth_numbers(load("mnist", "train", mnist_dir), tmp_path, SynthConfig(count=1))
    with pytest.raises(UsageError):
        SynthConfig(min_digits=5, max_digits=3)
    test = load("mnist", "test", mnist_dir)
    rng = np.random.default_rng(0)
    sizes = SynthConfig(min_height=20, max_height=20, min_digits=3, max_digits=3)
    page = make_page(test, sizes, rng)
    assert len(page.text) == 3 and page.image.dtype == np.uint8
    assert all(15 <= h <= 40 for _, _, _, h in page.boxes)  # 20 px digits, rotation slack
