"""The IDX parser against the real, checksummed MNIST files, and against every kind of corruption."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from digitrec.data.idx import encode_idx, parse_idx, read_idx
from digitrec.errors import DataError

MNIST_TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_parses_real_mnist_and_reencodes_to_the_same_bytes(mnist_dir: Path) -> None:
    for name, shape in [
        ("t10k-images-idx3-ubyte", (10_000, 28, 28)),
        ("t10k-labels-idx1-ubyte", (10_000,)),
        ("train-images-idx3-ubyte", (60_000, 28, 28)),
    ]:
        raw = (mnist_dir / name).read_bytes()
        array = parse_idx(raw, name)
        assert array.shape == shape
        assert array.dtype == np.uint8
        # The files are verified by SHA-256, so byte equality ties the parse to the reference.
        assert encode_idx(array) == raw
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte")
    assert np.bincount(labels).tolist() == MNIST_TEST_CLASS_COUNTS


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_round_trip_every_idx_dtype(dtype: str) -> None:
    array = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    decoded = parse_idx(encode_idx(array))
    assert decoded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(decoded, array)


def test_reads_gzip_by_content(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "no-gz-suffix-here"
    path.write_bytes(gzip.compress(encode_idx(array)))
    np.testing.assert_array_equal(read_idx(path), array)


GOOD = encode_idx(np.zeros((3, 4, 4), dtype=np.uint8))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an IDX file"),
        (b"\x00\x00", "not an IDX file"),
        (b"\x01\x00" + GOOD[2:], "bad magic number"),
        (GOOD[:2] + b"\x42" + GOOD[3:], "unknown IDX dtype code 0x42"),
        (b"\x00\x00\x08\x00", "zero dimensions"),
        (GOOD[:9], "truncated IDX header"),
        (GOOD[:-1], "truncated IDX file: dimensions 3x4x4 need 48 data bytes, found 47"),
        (GOOD + b"\x00", "1 bytes after the 3x4x4 data"),
    ],
)
def test_corrupt_files_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_idx(data, "sample")


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(GOOD)[:-12])
    with pytest.raises(DataError, match=r"images\.gz: corrupt gzip stream"):
        read_idx(path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "absent")
