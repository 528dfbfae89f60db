"""The benchmark and model-making scripts stay runnable: each parses its arguments and imports
everything it uses (their full runs take minutes and are not tests)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "script", ["benchmarks/train_speed.py", "benchmarks/baselines.py", "scripts/train_default.py"]
)
def test_script_help(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
