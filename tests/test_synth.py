"""`digitrec data synth-numbers`: seeded, labelled scans of numbers made from MNIST test digits."""

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitrec.cli import main
from digitrec.data import load
from digitrec.data.synth import SynthConfig, make_page, synth_numbers
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
