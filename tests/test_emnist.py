"""EMNIST's archive layout, on small archives built here (the real 562 MB archive cannot be
downloaded on this machine)."""

import gzip
import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digitrec.data import emnist, load
from digitrec.data.idx import encode_idx
from digitrec.errors import ChecksumError, DataError


def make_archive(folder: Path, variant: str, first_label: int, classes: int) -> tuple[str, dict]:
    """Write a gzip.zip holding a tiny EMNIST subset; return its SHA-256 and the upright images."""
    rng = np.random.default_rng(7)
    upright = {}
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "gzip.zip", "w") as bundle:
        for part, count in (("train", 24), ("test", 12)):
            images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
            labels = (np.arange(count) % classes + first_label).astype(np.uint8)
            upright[part] = (images, labels - first_label)
            stored = images.transpose(0, 2, 1)  # EMNIST keeps its images transposed
            for kind, array in (("images-idx3", stored), ("labels-idx1", labels)):
                name = f"gzip/emnist-{variant}-{part}-{kind}-ubyte.gz"
                bundle.writestr(name, gzip.compress(encode_idx(array)))
    return hashlib.sha256((folder / "gzip.zip").read_bytes()).hexdigest(), upright


def test_loads_a_subset_upright_and_caches_it(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "nist"
    sha, upright = make_archive(source, "digits", 0, 10)
    parts = emnist.load_parts("digits", source, archive_sha256=sha)
    for part in ("train", "test"):
        np.testing.assert_array_equal(parts[part].images, upright[part][0])
        np.testing.assert_array_equal(parts[part].labels, upright[part][1])
    manifest = (home / "datasets" / "emnist" / "manifest.json").read_text()
    assert sha in manifest

    (source / "gzip.zip").unlink()  # later loads need only the verified cache
    again = emnist.load_parts("digits", None, archive_sha256=sha)
    np.testing.assert_array_equal(again["test"].images, upright["test"][0])


def test_letters_are_numbered_from_zero(home: Path, tmp_path: Path) -> None:
    sha, _ = make_archive(tmp_path / "nist", "letters", 1, 26)
    parts = emnist.load_parts("letters", tmp_path / "nist", archive_sha256=sha)
    assert parts["train"].labels.min() == 0
    assert parts["train"].classes[0] == "A" and len(parts["train"].classes) == 26


def test_an_archive_that_is_not_nists_is_refused(home: Path, tmp_path: Path) -> None:
    make_archive(tmp_path / "nist", "digits", 0, 10)
    with pytest.raises(
        ChecksumError, match=r"gzip\.zip: SHA-256 .* expected " + emnist.ARCHIVE.sha256
    ):
        load("emnist:digits", "train", tmp_path / "nist")


def test_missing_member_is_named(home: Path, tmp_path: Path) -> None:
    sha, _ = make_archive(tmp_path / "nist", "digits", 0, 10)
    with pytest.raises(DataError, match="has no gzip/emnist-balanced-train-images"):
        emnist.load_parts("balanced", tmp_path / "nist", archive_sha256=sha)


def test_no_archive_anywhere(home: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"could not get gzip\.zip .*pass --source DIR"):
        emnist.fetch("digits", tmp_path)
