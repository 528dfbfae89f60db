"""The `digitrec` command: help, version, data verbs, and one-line errors without tracebacks."""

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from digitrec import __version__
from digitrec.cli import main

DIGITREC = Path(sys.executable).with_name("digitrec")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGITREC), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"digitrec {__version__}"
    help_text = run("--help").stdout
    assert "data" in help_text and "list, fetch, inspect and preview datasets" in help_text


def test_import_is_light() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import digitrec, digitrec.cli; "
        "digitrec.cli.build_parser(); "  # every subcommand registered, none run
        "print(time.perf_counter() - t, 'torch' in sys.modules, 'cv2' in sys.modules)"
    )
    seconds, torch_loaded, cv2_loaded = subprocess.check_output(
        [sys.executable, "-c", code], text=True
    ).split()
    assert float(seconds) < 1.0
    assert torch_loaded == "False" and cv2_loaded == "False"


def test_info_json(mnist_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "mnist", "--source", str(mnist_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {k: v["count"] for k, v in info["splits"].items()} == {
        "train": 55_000,
        "val": 5_000,
        "test": 10_000,
        "all": 70_000,
    }
    assert info["splits"]["test"]["class_counts"][1] == 1135
    assert len(info["files"]) == 4


def test_info_table(mnist_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "mnist", "--source", str(mnist_dir)]) == 0
    out = capsys.readouterr().out
    assert "55,000" in out and "1,135 (11.3%)" in out and "sha256 ba891046" in out


def test_fetch_and_list(home: Path, mnist_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list"]) == 0
    assert "not fetched" in capsys.readouterr().out
    assert main(["data", "fetch", "mnist", "--source", str(mnist_dir)]) == 0
    assert "t10k-labels-idx1-ubyte" in capsys.readouterr().out
    assert main(["data", "list"]) == 0
    assert re.search(r"^mnist +cached ", capsys.readouterr().out, re.MULTILINE)


def test_preview_writes_a_png(mnist_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert main(["data", "preview", "mnist", "--source", str(mnist_dir), "--out", str(out)]) == 0
    grid = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    assert grid.shape == (10 * 58 + 2, 12 * 58 + 2)
    assert 0 < (grid < 128).mean() < 0.5  # some ink, mostly paper


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["data", "info", "nope"], 2, "unknown dataset 'nope'"),
        (["data", "info", "emnist:klingon"], 2, "unknown emnist variant 'klingon'"),
        (["data", "frobnicate"], 2, "invalid choice: 'frobnicate'"),
        (["data", "preview", "mnist", "--out", "x.png", "--per-class", "0"], 2, "from 1 to 100"),
        (
            ["data", "preview", "mnist", "--out", "x.png", "--per-class", "10**9"],
            2,
            "not an integer",
        ),
        (["data", "preview", "mnist", "--out", "grid.jpg"], 2, "must end in .png"),
        (["data", "info", "mnist", "--seed", "-1"], 2, "must be from 0"),
        (["data", "info", "folder:/tmp/no[/]such"], 1, "/tmp/no[/]such: not a directory"),
        (["data", "fetch", "usps", "--source", "/no/such/dir"], 1, "/no/such/dir does not exist"),
    ],
)
def test_errors_are_one_line(
    home: Path, args: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == code
    err = capsys.readouterr().err
    assert err.startswith("digitrec: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_test_only_data_cannot_be_resplit(
    mnist_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["data", "info", "noisy-mnist", "--source", str(mnist_dir), "--scheme", "80-10-10"]
    assert main(args) == 2
    assert "is a test set only" in capsys.readouterr().err


def test_verbose_shows_the_traceback(home: Path) -> None:
    done = run("-v", "data", "fetch", "usps", "--source", "/no/such/dir")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "digitrec: error:" in done.stderr
