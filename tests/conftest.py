"""Shared fixtures: the real MNIST files (fetched once into the user's cache) and an isolated
digitrec home per test, so tests never see or change each other's cache."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from digitrec.data import mnist
from digitrec.data.acquire import FetchReport

REPO = Path(__file__).resolve().parents[1]
USPS_DIR = REPO.parent / "shared" / "data" / "usps"


@pytest.fixture(scope="session")
def mnist_report() -> FetchReport:
    """The four real MNIST files, verified, in the default cache (fetched once per machine)."""
    saved = os.environ.pop("DIGITREC_HOME", None)
    try:
        return mnist.fetch()
    finally:
        if saved is not None:
            os.environ["DIGITREC_HOME"] = saved


@pytest.fixture(scope="session")
def mnist_dir(mnist_report: FetchReport) -> Path:
    """A folder holding the four verified MNIST files under their original names."""
    return mnist_report.directory


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty digitrec home for one test, kept off the network."""
    root = tmp_path / "home"
    monkeypatch.setenv("DIGITREC_HOME", str(root))
    monkeypatch.setenv("DIGITREC_OFFLINE", "1")
    yield root


@pytest.fixture(scope="session")
def usps_dir() -> Path:
    if not (USPS_DIR / "zip.train.gz").is_file():
        pytest.fail(
            f"USPS files missing: expected them in {USPS_DIR} (the project's shared/ folder)"
        )
    return USPS_DIR
