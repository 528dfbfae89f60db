"""Corrections that teach the model, end to end on real handwriting: CVL's validation writers
(never trained on by the shipped model) misread by it go into a store as a user would put
them; `digitrec feedback train` fine-tunes on them with a replay, the gate passes or refuses,
`digitrec models promote|list|rollback` keep the versions, and a running two-worker server
switches models under load without a failed request."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from servers import running_server

from digitrec import data
from digitrec.data import cvl
from digitrec.data.feedback import FeedbackStore
from digitrec.data.feedback_sets import feedback_parts, stored_digits
from digitrec.data.numbers import load_numbers
from digitrec.errors import UsageError
from digitrec.images import decode_image
from digitrec.models.loading import load_model
from digitrec.preprocess import normalize_digit

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
QUICK = ["--replay", "mnist", "--steps", "40", "--lr", "0.005", "--repeats", "100"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitrec", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


@pytest.fixture(scope="module")
def cvl_val() -> list[tuple[str, bytes, int, int]]:
    """(name, PNG, label, what the shipped model reads) of every CVL validation digit."""
    data.fetch("cvl", SHARED / "cvl")
    data.fetch("usps", SHARED / "usps")  # the gate's USPS val (the suite's order may not have)
    raw = cvl.raw_digits("val")
    images = np.stack([normalize_digit(decode_image(png, name), name) for name, png, _ in raw])
    read = load_model("shipped").predict_proba(images).argmax(1)
    return [(name, png, label, int(p)) for (name, png, label), p in zip(raw, read, strict=True)]


def make_store(path: Path, rows: list[tuple[str, bytes, int, int]]) -> Path:
    store = FeedbackStore(path)
    for name, png, label, read in rows:
        store.add(label, read, 0.5, "default@shipped", name, png)
    return path


@pytest.fixture(scope="module")
def corrections(cvl_val: list, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model's misreads of CVL's validation writers, corrected, in an order of
    their digits and writers mixed (the archive's is by digit: held out by time, the newest
    would all be 9s)."""
    misread = [row for row in cvl_val if row[2] != row[3]]
    misread = [misread[i] for i in np.random.default_rng(0).permutation(len(misread))]
    assert len(misread) >= 20, len(misread)
    return make_store(tmp_path_factory.mktemp("store") / "feedback.db", misread)


@pytest.fixture(scope="module")
def trained(corrections: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `digitrec feedback train` run on them (a short one), and what it printed."""
    out = tmp_path_factory.mktemp("runs") / "fix"
    done = cli("feedback", "train", "--db", str(corrections), "--out", str(out), *QUICK,
               "--replay", "mnist+usps", "--tolerance", "1.0", "--dev", "usps", "--json")  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return {"out": out, "record": json.loads(done.stdout.splitlines()[-1]), "done": done}


@pytest.fixture(scope="module")
def number_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package reader's misreads of real parish-row cells (validation pages), corrected, as
    `POST /v1/feedback/numbers` stores them, in an order of pages mixed."""
    import cv2

    from digitrec.reading.evaluation import read_numbers

    data.fetch("parish-rows", SHARED / "parish-rows")
    cells = load_numbers("parish-rows")["val"]
    reads = {row["file"]: row["read"] for row in read_numbers("default", cells)["mistakes"]}
    misread = [i for i, file in enumerate(cells.files) if file in reads]
    assert len(misread) >= 20, len(misread)
    store = FeedbackStore(tmp_path_factory.mktemp("numbers") / "feedback.db")
    for i in np.random.default_rng(0).permutation(misread):
        image = cv2.imencode(".png", cells.images[i])[1].tobytes()
        read = reads[cells.files[i]]
        store.add_number(cells.texts[i], read, 0.5, "default@shipped", cells.files[i], image, [])
    return store.path


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "models"
    monkeypatch.setenv("DIGITREC_MODELS", str(root))
    return root


def test_a_store_is_a_dataset_split_by_time_and_a_part_can_be_weighted(corrections: Path) -> None:
    stored = stored_digits(corrections)
    parts = feedback_parts(corrections)
    cut = stored.held_out_from()
    assert len(parts["test"]) == len(stored.labels) - cut == round(0.2 * len(stored.labels))
    assert (parts["test"].labels == stored.labels[cut:]).all()  # the newest rows, by time
    assert stored.corrected.all()
    spec = f"mnist+feedback:{corrections}*7"
    splits = data.load_splits(spec)
    own = data.load_splits(f"feedback:{corrections}")
    assert len(splits["train"]) == 55_000 + 7 * len(own["train"])
    assert len(splits["val"]) == 5_000 + len(own["val"])  # validation counts each digit once
    assert len(splits["all"]) == 70_000 + len(stored.labels)
    for bad in ("mnist+usps*0", "mnist+usps*1001", "mnist+mnist*2"):
        with pytest.raises(UsageError):
            data.load_splits(bad)


def test_training_on_corrections_writes_a_run_and_a_gate(trained: dict[str, Any]) -> None:
    out, record = trained["out"], trained["record"]
    for name in ("config.json", "metrics.jsonl", "model.safetensors", "model.json",
                 "feedback.db", "feedback-train.json", "gate.json", "gate/report.md",
                 "gate/report.html", "gate/gate.png"):  # fmt: skip
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["dataset"].startswith("mnist+usps+feedback:") and config["max_steps"] == 40
    assert config["init"].endswith("default.safetensors")  # from the shipped model
    sets = {row["set"]: row for row in record["sets"]}
    assert set(sets) == {"held-out feedback", "held-out corrections", "MNIST test", "USPS val"}
    held = sets["held-out feedback"]
    assert held["before"] == 0.0  # every held-out row is a misread of the base model
    assert held["after"] > 0.0 and held["passed"], record  # some are now read right
    assert sets["MNIST test"]["items"] == 10_000 and abs(sets["MNIST test"]["change_pp"]) < 1.0
    assert record["promotable"] and trained["done"].returncode == 0
    report = (out / "gate" / "report.md").read_text()
    assert "held-out corrections" in report and "promotable" in report


def test_a_gate_refuses_what_did_not_improve(
    cvl_val: list, tmp_path: Path, models_dir: Path
) -> None:
    """Only confirmations: the base model reads every held-out row right already, so nothing
    can improve; the run is refused (exit 1) and promote refuses it unless forced."""
    confirmed = [row for row in cvl_val if row[2] == row[3]][:30]
    store = make_store(tmp_path / "feedback.db", confirmed)
    out = tmp_path / "run"
    done = cli("feedback", "train", "--db", str(store), "--out", str(out), *QUICK,
               "--steps", "5", "--dev", "")  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "refused: held-out feedback did not improve (100.00% → " in done.stdout
    refused = cli("models", "promote", str(out))
    assert refused.returncode == 2 and "the gate refused this model" in refused.stderr
    assert not models_dir.exists() or not any(models_dir.glob("v*"))
    forced = cli("models", "promote", str(out), "--force")
    assert forced.returncode == 0 and "v1 (forced past its gate)" in forced.stdout
    again = cli("feedback", "train", "--db", str(store), "--out", str(out), *QUICK)
    assert again.returncode == 2 and "already holds a run" in again.stderr


def test_promote_list_rollback(trained: dict[str, Any], models_dir: Path) -> None:
    out = trained["out"]
    assert cli("models", "rollback").returncode == 2  # nothing promoted yet
    first = cli("models", "promote", str(out))
    assert first.returncode == 0 and "as v1" in first.stdout, first.stderr
    stale = cli("models", "promote", str(out))  # gated against the shipped model, not v1
    assert stale.returncode == 2 and "but the active version is v1 now" in stale.stderr
    second = cli("models", "promote", str(out), "--force")
    assert "as v2" in second.stdout
    listed = [json.loads(line) for line in cli("models", "list", "--json").stdout.splitlines()]
    assert [(v["version"], v["active"]) for v in listed] == [
        ("shipped", False), ("v1", False), ("v2", True),
    ]  # fmt: skip
    assert listed[1]["gate"]["promotable"] and listed[1]["run"] == str(out.resolve())
    assert not listed[1]["forced"] and listed[2]["forced"]  # v2: forced past a stale base
    from digitrec.models.modelfile import resolve_model_path

    assert resolve_model_path("default") == models_dir / "v2" / "model.safetensors"
    assert resolve_model_path("shipped").parent.name == "weights"
    assert "v1 again" in cli("models", "rollback").stdout
    assert "shipped again" in cli("models", "rollback").stdout
    assert resolve_model_path("default").parent.name == "weights"
    table = cli("models", "list", env={"COLUMNS": "200"}).stdout
    assert "v1" in table and "passed" in table and "MNIST test" in table


def test_a_promoted_model_serves_without_a_restart_under_load(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    """Two workers; four clients read digits all along while the model is promoted and the
    server told (POST /v1/models/reload), then rolled back and told by SIGHUP: every request
    answers 200, and every worker ends on the version promoted."""
    models = tmp_path / "models"
    env = {"DIGITREC_MODELS": str(models)}
    home = tmp_path / "home"
    home.mkdir()
    flags = ("--workers", "2", "--backend", "torch", "--log-level", "warning")
    with running_server(home, *flags, env=env) as server:
        port = server["port"]
        token = (home / "serve-token").read_text().strip()
        assert versions_seen(port) == {"shipped"}
        statuses: list[int] = []
        stop = threading.Event()
        clients = [threading.Thread(target=read_digits, args=(port, stop, statuses))
                   for _ in range(4)]  # fmt: skip
        for client in clients:
            client.start()
        try:
            time.sleep(1.0)
            promoted = cli("models", "promote", str(trained["out"]), env=env)
            assert promoted.returncode == 0, promoted.stderr
            answer = post(port, "/v1/models/reload", token)
            assert answer["version"] == "v1" and answer["reloaded"] and answer["workers"] == "all"
            assert wait_for(lambda: versions_seen(port) == {"v1"}), versions_seen(port)
            assert cli("models", "rollback", env=env).returncode == 0
            os.kill(server["process"].pid, signal.SIGHUP)
            assert wait_for(lambda: versions_seen(port) == {"shipped"}), versions_seen(port)
            time.sleep(1.0)
        finally:
            stop.set()
            for client in clients:
                client.join(60)
        assert len(statuses) > 40 and set(statuses) == {200}, sorted(set(statuses))
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(port, "/v1/models/reload", "not-the-token")
        assert refused.value.code == 401
        refused.value.close()


def read_digits(port: int, stop: threading.Event, statuses: list[int]) -> None:
    stroke = drawn_one()
    for _ in range(400):  # bounded: at most 400 requests per client
        if stop.is_set():
            return
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/predict",
            data=stroke,
            method="POST",
            headers={"Content-Type": "image/png"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
            error.close()
        except OSError:
            statuses.append(-1)


def drawn_one() -> bytes:
    import cv2

    image = np.full((112, 112), 255, np.uint8)
    image[16:96, 52:60] = 0
    return bytes(cv2.imencode(".png", image)[1])


def post(port: int, path: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=120) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def versions_seen(port: int, connections: int = 16) -> set[str]:
    """The versions /healthz names over fresh connections (spread over the workers)."""
    seen = set()
    for _ in range(connections):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            seen.add(json.loads(answer.read())["version"])
    return seen


def wait_for(check: Any, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_watch_trains_gates_and_promotes_after_every_n_corrections(
    corrections: Path, tmp_path: Path, models_dir: Path
) -> None:
    """The unattended loop in its own process: the store already holds more than --every new
    rows, so a run starts at once, passes its gate and is promoted; watch.json records it."""
    out = tmp_path / "runs"
    command = [sys.executable, "-m", "digitrec", "feedback", "train", "--watch", "--db",
               str(corrections), "--out", str(out), *QUICK, "--tolerance", "1.0", "--dev", "",
               "--steps", "10", "--every", "10", "--poll", "0.5"]  # fmt: skip
    watcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env=dict(os.environ))  # fmt: skip
    try:
        state = out / "watch.json"
        assert wait_for(lambda: state.is_file() and json.loads(state.read_text()).get("runs"), 300)
        (entry,) = json.loads(state.read_text())["runs"]
        assert entry["run"] == "run-001" and entry["promoted"] == "v1", entry
        assert (models_dir / "v1" / "model.safetensors").is_file()
        time.sleep(1.5)  # no new rows: no second run
        assert len(json.loads(state.read_text())["runs"]) == 1
    finally:
        watcher.terminate()  # SIGTERM: stops as Ctrl-C would
        try:
            output, _ = watcher.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.communicate()
            raise
    assert "promoted as v1" in output and output.rstrip().endswith("stopped")


def test_an_interrupted_run_resumes_where_it_stopped(corrections: Path, tmp_path: Path) -> None:
    """SIGTERM mid-training saves a checkpoint; `--resume` finishes the same run (the store's
    snapshot, the settings saved) and gates it; other options beside --resume are refused."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "digitrec", "feedback", "train", "--db", str(corrections),
               "--out", str(out), *QUICK, "--steps", "100", "--dev", ""]  # fmt: skip
    training = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: (out / "config.json").is_file(), 120)
    time.sleep(2.5)  # into the steps (the SIGTERM handler is up within a second)
    training.send_signal(signal.SIGTERM)
    _, stderr = training.communicate(timeout=120)
    assert training.returncode != 0 and "checkpoint saved" in stderr, stderr[-2000:]
    assert not (out / "gate.json").exists()
    mixed = cli("feedback", "train", "--out", str(out), "--resume", "--steps", "10")
    assert mixed.returncode == 2 and "--resume continues" in mixed.stderr
    resumed = cli("feedback", "train", "--out", str(out), "--resume", "--json")
    assert resumed.returncode in (0, 1), resumed.stderr[-2000:]
    record = json.loads(resumed.stdout.splitlines()[-1])
    assert (out / "gate.json").is_file() and record["sets"][0]["set"] == "held-out feedback"
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 100


def test_the_gate_remembers_a_figure_by_weights_and_set(cvl_val: list, home: Path) -> None:
    """The second measurement of the same weights on the same set is the stored one (a figure
    planted in the cache proves it is read); a changed set or an unreadable cache is measured."""
    from digitrec.learning import measured
    from digitrec.learning.gate import GateSet, accuracy

    rows = cvl_val[:40]
    images = np.stack([normalize_digit(decode_image(png, name), name) for name, png, *_ in rows])
    labels = np.array([label for _, _, label, _ in rows])
    fresh = GateSet("some", images, labels, "hold")
    (first,) = accuracy("shipped", [fresh])
    assert first == 100.0 * np.mean(np.array([read for *_, read in rows]) == labels)
    figures = json.loads(measured.cache_path().read_text())
    (key,) = figures
    measured.cache_path().write_text(json.dumps({key: 12.5}))
    assert accuracy("shipped", [fresh]) == [12.5]
    other = GateSet("fewer", images[:30], labels[:30], "hold")
    assert accuracy("shipped", [other]) != [12.5]
    measured.cache_path().write_text("{not json")
    assert accuracy("shipped", [fresh]) == [first]


def test_number_corrections_teach_the_reader_and_a_version_carries_it(
    number_store: Path, trained: dict[str, Any], tmp_path: Path, models_dir: Path
) -> None:
    """A store of number corrections only: `feedback train` fine-tunes the line reader (not the
    classifier) into RUN/reader/ — it reads the corrections it trained on better than the
    package's reader — and gates it on the held-out numbers, parish-rows val and synthetic
    lines; promoted, the version holds that reader and the classifier in use; a server's reload
    switches readers; a later digit-only version carries the reader forward; a part its gate
    refused is not promoted."""
    from digitrec.data.feedback_sets import number_feedback_parts
    from digitrec.learning.gate import GateSet
    from digitrec.learning.reader_gate import reader_accuracy
    from digitrec.models import versions
    from digitrec.reading.line_model import reader_file
    from digitrec.reading.reader import choose_reader, packaged_line_reader
    from digitrec.serve.engine import Engine
    from digitrec.serve.settings import ServeSettings

    out = tmp_path / "run"
    done = cli("feedback", "train", "--db", str(number_store), "--out", str(out),
               "--reader-replay", "synth", "--synth-pages", "60", "--val-pages", "30",
               "--reader-epochs", "1", "--reader-lr", "0.001", "--reader-tolerance", "100",
               "--json")  # fmt: skip
    (line,) = done.stdout.splitlines()  # --json: the gate's record alone (epochs: stderr)
    record = json.loads(line)
    assert done.returncode == (0 if record["promotable"] else 1), done.stderr[-2000:]
    assert record["trained"] == ["numbers"] and not (out / "model.safetensors").exists()
    assert record["tasks"] == {"numbers": record["promotable"]}
    assert record["promotable"] == all(row["passed"] for row in record["sets"])
    sets = {row["set"]: row for row in record["sets"]}
    assert set(sets) == {"held-out numbers", "parish-rows val", "synthetic val lines"}
    rows = FeedbackStore(number_store, read_only=True).count("numbers")
    held = sets["held-out numbers"]
    assert held["items"] == round(0.2 * rows) and held["before"] == 0.0  # all misread before
    assert sets["parish-rows val"]["items"] == 287 and sets["parish-rows val"]["task"] == "numbers"
    config = json.loads((out / "reader" / "config.json").read_text())
    assert config["data"]["spec"] == f"synth+feedback-numbers:{out.resolve()}/feedback.db*10"
    assert config["init"] == str(reader_file("default"))  # from the package's reader
    assert "held-out numbers" in (out / "gate" / "report.md").read_text()
    taught = number_feedback_parts(out / "feedback.db")["train"]
    seen = [GateSet("taught", taught.images, taught.texts, "report", task="numbers")]
    assert reader_accuracy(out / "reader", seen)[0] > reader_accuracy(reader_file(), seen)[0]

    engine = Engine.start(ServeSettings(backend="torch", inference_threads=1))
    try:
        assert engine.line_reader is packaged_line_reader() and not engine.reload()
        promoted = cli("models", "promote", str(out), "--force")
        assert promoted.returncode == 0, promoted.stderr
        assert "now uses its reader (the classifier carried over)" in promoted.stdout
        v1 = models_dir / "v1"
        assert (v1 / "reader.safetensors").read_bytes() == (
            out / "reader" / "reader.safetensors"
        ).read_bytes()
        shipped = versions.shipped_path()
        assert (v1 / "model.safetensors").read_bytes() == shipped.read_bytes()  # carried
        assert reader_file("default") == v1 / "reader.safetensors"
        assert engine.reload() and engine.version == "v1"
        assert engine.line_reader is choose_reader("line") is not packaged_line_reader()
    finally:
        engine.close()
    # a digit run gated against the shipped classifier: v1 holds the same bytes, so it is not
    # stale; its version keeps v1's reader
    again = cli("models", "promote", str(trained["out"]))
    assert again.returncode == 0 and "(the reader carried over)" in again.stdout, again.stderr
    # a run of both parts whose reader the gate refused: its classifier only, v2's reader kept
    both = tmp_path / "both"
    shutil.copytree(trained["out"], both)
    shutil.copytree(out / "reader", both / "reader")
    for suffix in (".safetensors", ".json"):  # the package's reader, not v1's
        package = versions.PACKAGED_READER.with_suffix(suffix).read_bytes()
        (both / "reader" / f"reader{suffix}").write_bytes(package)
    gate = json.loads((both / "gate.json").read_text())
    gate |= {"tasks": {"digits": True, "numbers": False},
             "base_path": str(models_dir / "v2" / "model.safetensors")}  # fmt: skip
    (both / "gate.json").write_text(json.dumps(gate))
    kept = cli("models", "promote", str(both))
    assert kept.returncode == 0 and "(the reader carried over)" in kept.stdout, kept.stderr
    listed = [json.loads(line) for line in cli("models", "list", "--json").stdout.splitlines()]
    assert [(v["version"], v.get("reader"), v.get("trained")) for v in listed] == [
        ("shipped", None, None),
        ("v1", "trained", ["numbers"]),
        ("v2", "carried", ["digits"]),
        ("v3", "carried", ["digits"]),
    ]
    for name in ("v2", "v3"):
        assert (models_dir / name / "reader.safetensors").read_bytes() == (
            v1 / "reader.safetensors"
        ).read_bytes()


def test_the_reader_replays_its_own_data_in_its_own_proportions() -> None:
    """The package's reader saw each parish-rows line 4 times against 20,000 synthetic pages:
    against fewer pages its real lines are replayed fewer times, never less than once; the
    corrections of an earlier run are not part of the replay."""
    from digitrec.learning.retrain import reader_replay_of
    from digitrec.reading.line_model import load_reader

    card = load_reader("default").card
    assert card["data"]["spec"] == "synth+parish-rows" and card["data"]["synth_pages"] == 20_000
    assert reader_replay_of(card, 20_000) == ("synth+parish-rows", 4)
    assert reader_replay_of(card, 5_000) == ("synth+parish-rows", 1)
    assert reader_replay_of(card, 100) == ("synth+parish-rows", 1)
    assert reader_replay_of(card, 40_000) == ("synth+parish-rows", 8)
    earlier = {"data": {"spec": "synth+parish-rows*2+feedback-numbers:/x/feedback.db*5",
                        "synth_pages": 5_000, "repeat_real": 1}}  # fmt: skip
    assert reader_replay_of(earlier, 5_000) == ("synth+parish-rows*2", 1)
