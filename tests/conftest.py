"""Shared fixtures: the real MNIST files (fetched once into the user's cache), an isolated
digitrec home per test, so tests never see or change each other's cache, and for the web page's
tests one `digitrec serve` process and one Chromium (Debian's, driven by Playwright)."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import running_server

from digitrec.data import mnist
from digitrec.data.acquire import FetchReport

REPO = Path(__file__).resolve().parents[1]
# Model versions a developer promoted on this machine must not change what `default` means to
# the tests (nor may the tests promote into theirs): an empty versions folder for the session.
os.environ["DIGITREC_MODELS"] = tempfile.mkdtemp(prefix="digitrec-test-models-")
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


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`digitrec serve` as a subprocess on a free port, with its own DIGITREC_HOME."""
    home = tmp_path_factory.mktemp("web-home")
    with running_server(home, "--host", "127.0.0.1") as running:
        yield {"url": f"http://127.0.0.1:{running['port']}", "home": home}


@pytest.fixture
def page(browser: Any, web_server: dict[str, Any]) -> Iterator[Any]:
    """The web page at / in a desktop window, once its in-browser models have loaded (or given
    up, the server reading instead). (tests/test_web_e2e.py has its own, counting requests.)"""
    from web_drawing import MODELS_SETTLED, desktop_page

    with desktop_page(browser) as page:
        page.goto(web_server["url"] + "/")
        page.wait_for_function(MODELS_SETTLED)
        yield page


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the web tests drive Debian's Chromium. Install it with "
            "`apt-get install chromium` (scripts/test.sh does this when run as root)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
