"""The benchmark and model-making scripts stay runnable: each parses its arguments and imports
everything it uses (their full runs take minutes and are not tests)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "script",
    [
        "benchmarks/train_speed.py",
        "benchmarks/baselines.py",
        "benchmarks/read_numbers.py",
        "benchmarks/preprocess_ablation.py",
        "benchmarks/usps_ceiling.py",
        "benchmarks/image_decoding.py",
        "scripts/train_default.py",
    ],
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


@pytest.mark.slow
def test_read_numbers_quick_run(tmp_path: Path, usps_dir: Path) -> None:
    """The reading benchmark end to end on a few pages, USPS digits and calls: every part runs
    and the report is complete (Tesseract beside it when installed)."""
    peer = [] if shutil.which("tesseract") else ["--no-tesseract"]
    command = [sys.executable, str(REPO / "benchmarks/read_numbers.py"), "--quick", "--pages", "3"]
    command += ["--usps-source", str(usps_dir), "--out", str(tmp_path), *peer]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "read_numbers.json").read_text())
    readers = ["digitrec"] + ([] if peer else ["tesseract"])
    assert sorted(report["numbers"]) == sorted(readers)
    assert report["numbers"]["digitrec"]["pages"] == 3
    assert report["numbers"]["digitrec"]["cer"] <= 0.25  # a broken reader is far worse
    assert report["usps_png"]["digits"] == 50
    assert report["usps_png"]["accuracy"] >= 0.9  # the first 50 USPS test digits: 100% measured
    assert report["latency_ms"]["predict_one_digit"] > 0
    assert report["backend"] in ("torch", "onnx")
    if report["backend"] == "onnx":  # torch measured beside it
        assert report["latency_ms"]["torch"]["read_8_digit_line"] > 0
    assert report["provenance"]["git_commit"] and report["seed"] == 0


def test_serve_load_quick_run(tmp_path: Path) -> None:
    """The load test end to end against a real server on 127.0.0.1 (200 requests): every answer
    is a 200 with the right digit, and the report has latencies and memory."""
    command = [sys.executable, str(REPO / "benchmarks/serve_load.py"), "--quick"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "serve_load.json").read_text())
    (result,) = report["results"]
    assert result["backend"] == "torch" and result["requests"] == 400  # closed + open loop
    assert result["errors"] == 0 and result["wrong"] <= 4
    for run in (result["closed_loop"], result["open_loop"]):
        assert 0 < run["p50_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert result["open_loop"]["seconds"] >= 200 / 100  # the schedule: 100 requests/s
    assert result["rss_mb_start"] > 50 and result["rss_mb_max"] >= result["rss_mb_end"]


def test_serve_faults_quick_run(tmp_path: Path) -> None:
    """kill -9 of a worker under load costs only the requests in flight and the supervisor
    replaces it; kill -9 of the whole server during corrections loses none acknowledged."""
    command = [sys.executable, str(REPO / "benchmarks/serve_faults.py"), "--quick"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "serve_faults.json").read_text())
    worker, server = report["worker_killed"], report["server_killed"]
    assert worker["requests_answered"] > 100 and worker["requests_failed"] <= report["clients"]
    assert 0 < worker["replacement_listening_s"] <= worker["replacement_ready_s"] < 60
    assert server["acknowledged"] > 10 and server["lost"] == 0 and server["integrity"] == "ok"
    assert server["stored"] >= server["acknowledged"]
    assert worker["requests_refused"] == server["refused"] == 0  # no 4xx: the setup is right


def test_normalize_corpus_finds_no_change_in_the_same_code_and_any_change_in_one_digit(
    tmp_path: Path, mnist_dir: Path, usps_dir: Path
) -> None:
    script = [sys.executable, str(REPO / "scripts/normalize_corpus.py")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*script, *args], capture_output=True, text=True, timeout=300, check=False
        )

    for name in ("a.npz", "b.npz"):
        done = run("save", str(tmp_path / name), "--digits", "3", "--usps-source", str(usps_dir))
        assert done.returncode == 0, done.stderr
    assert "0 of " in run("compare", str(tmp_path / "a.npz"), str(tmp_path / "b.npz")).stdout
    with np.load(tmp_path / "b.npz") as saved:
        arrays = {key: saved[key] for key in saved.files}
    arrays["images"][5, 14, 14] ^= 1  # one pixel of one digit, off by one grey level
    np.savez(tmp_path / "c.npz", **arrays)
    done = run("compare", str(tmp_path / "a.npz"), str(tmp_path / "c.npz"))
    assert done.returncode == 1 and "1 of " in done.stdout
    assert "largest pixel change 1" in done.stdout


def test_call_seconds_runs_warm_up_untimed_then_each_timed_run() -> None:
    from digitrec.timing import call_seconds

    calls: list[int] = []
    seconds = call_seconds(lambda: calls.append(len(calls)), repeats=5, warmup=2)
    assert len(calls) == 7 and len(seconds) == 5 and all(s >= 0 for s in seconds)
    slept = call_seconds(lambda: __import__("time").sleep(0.01), repeats=2, warmup=0)
    assert all(0.009 < s < 1.0 for s in slept)
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        call_seconds(lambda: None, repeats=0)
