"""`digitrec batch read|predict` on real files: real parish-row cells (validation pages) and MNIST
test digits written as PNG files, a corrupt file and a text file among them. One process, a
pool of two and Ray (a local cluster of 2 CPUs) give the same rows as `read`/`predict --format
json`, as JSON Lines and as Parquet; a run killed with SIGKILL and started again holds every
file exactly once."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import pytest

from digitrec import data
from digitrec.data.numbers import load_numbers

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitrec", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DIGITREC_NO_PROGRESS": "1"},
    )


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 real cells in a folder and a subfolder, a corrupt PNG and a note (not an image)."""
    data.fetch("parish-rows", SHARED / "parish-rows")
    numbers = load_numbers("parish-rows")["val"]
    root = tmp_path_factory.mktemp("cells")
    (root / "b-more").mkdir()
    for i in range(120):
        folder = root / "b-more" if i % 4 == 0 else root
        cv2.imwrite(str(folder / f"cell-{i:03d}.png"), numbers.images[i])
    (root / "a-broken.png").write_bytes(b"\x89PNG not really")
    (root / "notes.txt").write_text("not an image")
    return root


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def as_printed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as `read`/`predict --format json` print them: no reason or error key when none."""
    return [
        {k: v for k, v in row.items() if v is not None or k not in ("reason", "error")}
        for row in rows
    ]


@pytest.fixture(scope="module")
def one_process(cells: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The cells read by one process: what it printed, and its rows."""
    one = tmp_path_factory.mktemp("one") / "one.jsonl"
    done = cli("batch", "read", str(cells), "--out", str(one), "--workers", "1", "--chunk", "16")
    return {"done": done, "rows": jsonl(one) if one.is_file() else []}


def test_one_process_and_a_pool_write_what_read_prints(
    cells: Path, one_process: dict[str, Any], tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    pool = tmp_path / "pool.parquet"
    done, rows = one_process["done"], one_process["rows"]
    assert done.returncode == 1, done.stderr  # one file failed
    assert done.stdout.startswith("121 files read (0 held already), 1 failed"), done.stdout
    files = [row["file"] for row in rows]
    assert files[0] == str(cells / "a-broken.png") and "not a readable image" in rows[0]["error"]
    assert files[1] == str(cells / "b-more" / "cell-000.png")  # each directory sorted, recursive
    assert len(set(files)) == 121 and not any(f.endswith(".txt") for f in files)
    shown = cli("read", *files, "--format", "json")
    expected = [json.loads(line) for line in shown.stdout.splitlines()]
    assert as_printed(rows) == expected
    pooled = cli("batch", "read", str(cells), "--out", str(pool), "--workers", "2", "--chunk", "8")
    assert pooled.returncode == 1 and "by 2 workers" in pooled.stdout, pooled.stderr
    assert len(list(pool.glob("part-*.parquet"))) == 16  # 121 rows, 8 a chunk
    assert pq.read_table(pool).to_pylist() == rows


def test_ray_reads_what_the_local_engine_reads(
    cells: Path, one_process: dict[str, Any], tmp_path: Path
) -> None:
    """Ray Data on a local cluster of 2 CPUs (started for the run, stopped after): the same rows,
    in the same order; then a run that finds them all held reads nothing."""
    out = tmp_path / "ray.jsonl"
    command = ("batch", "read", str(cells), "--out", str(out), "--engine", "ray", "--workers", "2",
               "--chunk", "8")  # fmt: skip
    done = cli(*command)
    assert done.returncode == 1 and "by 2 Ray actors" in done.stdout, done.stderr[-3000:]
    assert jsonl(out) == one_process["rows"]
    again = cli(*command)
    assert again.stdout.startswith("0 files read (121 held already)"), again.stderr[-3000:]


def test_predict_rows_are_predicts_own(tmp_path: Path, mnist_dir: Path) -> None:
    digits = data.load("mnist", "test")
    folder = tmp_path / "digits"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(str(folder / f"d{i:02d}.png"), 255 - digits.images[i])  # dark on white
    out = tmp_path / "digits.jsonl"
    done = cli("batch", "predict", str(folder), "--out", str(out), "--workers", "2", "--chunk", "5")
    assert done.returncode == 0 and done.stdout.startswith("12 files predicted"), done.stderr
    rows = jsonl(out)
    shown = cli("predict", *sorted(str(p) for p in folder.iterdir()), "--format", "json")
    expected = [json.loads(line) for line in shown.stdout.splitlines()]
    assert as_printed(rows) == expected
    assert [row["digit"] for row in rows] == [int(v) for v in digits.labels[:12]]


def test_a_killed_run_resumes_with_every_file_exactly_once(
    cells: Path, one_process: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "killed.jsonl"
    command = [sys.executable, "-m", "digitrec", "batch", "read", str(cells), "--out", str(out),
               "--workers", "1", "--chunk", "4"]  # fmt: skip
    running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out.is_file() and out.read_text().count("\n") >= 8):
            assert running.poll() is None and time.monotonic() < deadline, "it never wrote"
            time.sleep(0.05)
        running.send_signal(signal.SIGKILL)
        running.wait(30)
    finally:
        running.kill()
    held = out.read_text().count("\n")
    assert 8 <= held < 121, held  # killed mid-run
    with out.open("a") as handle:
        handle.write('{"file": "torn by the ki')  # as a kill mid-write leaves it
    resumed = cli("batch", "read", str(cells), "--out", str(out), "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr  # the corrupt file was read before the kill
    assert f"({held:,} held already)" in resumed.stdout, resumed.stdout
    files = [row["file"] for row in jsonl(out)]
    assert len(files) == len(set(files)) == 121  # each once, none lost
    assert jsonl(out) == one_process["rows"]  # as a run never stopped
    again = cli("batch", "read", str(cells), "--out", str(out))
    assert again.stdout.startswith("0 files read (121 held already)"), again.stdout


def test_manifests_globs_and_bad_arguments(
    cells: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from digitrec.cli import main

    threads = torch.get_num_threads()
    names = ["cell-001.png", "b-more/cell-004.png", "cell-002.png"]
    (tmp_path / "list.txt").write_text("# three cells\n" + "\n".join(names) + "\n")
    (tmp_path / "list.csv").write_text(
        "id,path\n" + "".join(f"{i},{n}\n" for i, n in enumerate(names))
    )
    pq.write_table(pa.table({"path": names}), tmp_path / "list.parquet")
    for manifest, extra in (("list.txt", []), ("list.csv", ["--column", "path"]),
                            ("list.parquet", [])):  # fmt: skip
        for name in names:  # a manifest's relative paths are relative to it
            target = tmp_path / name
            target.parent.mkdir(exist_ok=True)
            target.write_bytes((cells / name).read_bytes())
        out = tmp_path / f"{manifest}.jsonl"
        args = ["batch", "read", str(tmp_path / manifest), "--out", str(out), "--workers", "1"]
        assert main([*args, *extra]) == 0  # in this process: one worker, nothing forked
        assert [row["file"] for row in jsonl(out)] == [str(tmp_path / n) for n in names]
    globbed = tmp_path / "glob.jsonl"
    pattern = f"{cells}/**/cell-00*.png"
    assert main(["batch", "read", pattern, "--out", str(globbed), "--workers", "1"]) == 0
    assert torch.get_num_threads() == threads  # the test's process was lent, not changed
    assert [Path(row["file"]).name for row in jsonl(globbed)] == [
        f"cell-{i:03d}.png" for i in (0, 4, 8, 1, 2, 3, 5, 6, 7, 9)
    ]  # the folder's order: each directory's entries sorted, the subfolder in its place
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({"file": "/somewhere/else.png"}) + "\n")
    cases = [
        (["batch", "read", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.jsonl")], 2,
         "no such folder, glob or manifest"),
        (["batch", "read", str(cells), "--out", str(tmp_path / "x.csv")], 2, "RESULTS.jsonl"),
        (["batch", "read", str(tmp_path / "list.csv"), "--column", "nope", "--out",
          str(tmp_path / "y.jsonl")], 2, "no column 'nope' (it has id, path)"),
        (["batch", "read", str(cells), "--out", str(changed)], 1, "the inputs changed"),
        (["batch", "read", str(cells), "--out", str(tmp_path / "z.jsonl"), "--chunk", "0"], 2,
         "--chunk must be in"),
        (["batch", "read", f"{cells}/*.jpg", "--out", str(tmp_path / "j.jsonl")], 2,
         "names no file"),
        (["batch", "predict", str(cells), "--out", str(globbed)], 2,
         "task 'read' then, 'predict' now"),
        (["batch", "predict", str(cells), "--out", str(tmp_path / "m.jsonl"), "--model",
          str(tmp_path / "no-model"), "--workers", "2"], 2, "no model at"),
    ]  # fmt: skip
    capsys.readouterr()
    for args, code, message in cases:
        returned = main(args)
        stderr = capsys.readouterr().err
        assert returned == code and message in stderr, (args, stderr)
        assert len(stderr.strip().splitlines()) == 1, stderr  # one line, no traceback
    assert jsonl(changed) == [{"file": "/somewhere/else.png"}]  # nothing written
