"""USPS in the ESL text format: the real files from shared/, and malformed text."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from digitrec.data import load, usps
from digitrec.errors import DataError


def test_loads_the_real_files(home: Path, usps_dir: Path) -> None:
    parts = usps.load_parts(usps_dir)
    assert len(parts["train"]) == 7291
    assert len(parts["test"]) == 2007
    assert parts["train"].image_shape == (16, 16)
    # The ESL test set's class counts (published with the data).
    assert parts["test"].class_counts().tolist() == [
        359,
        264,
        198,
        166,
        200,
        160,
        170,
        147,
        166,
        177,
    ]

    # Compare the first training digit with a plain reading of the first line of the file.
    first = gzip.decompress((usps_dir / "zip.train.gz").read_bytes()).split(b"\n", 1)[0].split()
    values = np.array([float(v) for v in first[1:]]).reshape(16, 16)
    assert parts["train"].labels[0] == int(float(first[0]))
    expected = np.round((values + 1) * 127.5)
    np.testing.assert_array_equal(parts["train"].images[0], expected)
    assert parts["train"].images.max() == 255 and parts["train"].images.min() == 0


def test_val_split_comes_from_train(home: Path, usps_dir: Path) -> None:
    train = load("usps", "train", usps_dir)
    val = load("usps", "val", usps_dir)
    assert len(train) + len(val) == 7291
    assert len(val) == round(7291 / 12)


ROW = "3 " + " ".join(["-1"] * 256)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no digits"),
        ("3 1 1", "line 1: 3 values, expected 257"),
        (ROW + "\n" + "11" + ROW[1:], "line 2: label is not a digit"),
        (ROW.replace("-1", "x", 1), "line 1: could not convert"),
        (ROW.replace("-1", "2.5", 1), r"outside \[-1, 1\]"),
    ],
)
def test_malformed_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        usps.parse_esl_text(text.encode(), "zip.train")
