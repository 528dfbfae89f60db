"""The API's contract, checked by Schemathesis (property-based, on Hypothesis) against a real
`digitrec serve`: every route's generated requests — valid, invalid, without the token — get
only answers /openapi.json documents (statuses, content types, the problem document's schema),
never a server error; the server is healthy after. The checks and the one left out, with why:
schemathesis.toml. A few hundred requests here; DIGITREC_FUZZ_EXAMPLES=N runs N per route."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import healthy, running_server

REPO = Path(__file__).resolve().parents[1]
TOKEN = "contract-token-5e1d0c2b"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("contract-home")
    settings = {
        "DIGITREC_SERVE_TOKEN": TOKEN,
        "DIGITREC_SERVE_FEEDBACK_DB": str(home / "feedback.db"),
    }
    flags = ("--backend", "torch", "--log-level", "warning")
    with running_server(home, *flags, env=settings) as running:
        yield running


@pytest.mark.parametrize("token", [TOKEN, "not-the-token-0123456789"], ids=["token", "stranger"])
def test_every_answer_is_documented_and_none_is_a_server_error(server: dict, token: str) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a dev dependency (pip install -e '.[dev]')"
    config = ["--config-file", str(REPO / "schemathesis.toml")]  # checks, examples, token
    command = [schemathesis, *config, "run", f"http://127.0.0.1:{server['port']}/openapi.json"]
    command += ["--seed", "1", "--no-color"]
    if os.environ.get("DIGITREC_FUZZ_EXAMPLES"):
        command += ["--max-examples", os.environ["DIGITREC_FUZZ_EXAMPLES"]]
    run = subprocess.run(
        command,
        cwd=server["home"],  # where schemathesis keeps its cache: not the repository
        env={**os.environ, "DIGITREC_SERVE_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert "passed" in report and "failure" not in report.split("SUMMARY")[-1], report[-3000:]
    assert healthy(server["port"])
