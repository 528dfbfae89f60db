"""Training on real MNIST for seconds: run files, exact resume after kill -9 and Ctrl-C, the
fast recipe's accuracy gate, schedules against PyTorch's, and clear errors for bad settings."""

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from digitrec.models.loading import load_model
from digitrec.train import RECIPES, TrainConfig
from digitrec.train.checkpoint import load_checkpoint
from digitrec.train.optim import lr_at

DIGITREC = Path(sys.executable).with_name("digitrec")
# A tiny but complete run: augmentation, EMA and one-cycle all draw on the saved state.
SMALL = ["--model", "fast", "--limit", "1500", "--batch-size", "50", "--threads", "1"]
SMALL += ["--optimizer", "sgd", "--lr", "0.05", "--schedule", "onecycle"]
SMALL += ["--augment", "medium", "--ema", "0.9", "--seed", "3"]


def digitrec(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGITREC), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def weights(run: Path) -> dict[str, np.ndarray]:
    return load_file(str(run / "model.safetensors"))


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory, mnist_report: object) -> Path:
    """Four uninterrupted epochs of the small run."""
    out = tmp_path_factory.mktemp("reference") / "run"
    done = digitrec("train", *SMALL, "--epochs", "4", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    return out


def test_run_directory_holds_config_metrics_checkpoint_and_model(reference_run: Path) -> None:
    config = json.loads((reference_run / "config.json").read_text())
    assert config["config"]["model"] == "fast" and config["config"]["ema"] == 0.9
    assert config["data"] == {
        "train": 1500,
        "val": 1500,
        "sha256": {
            "train-images-idx3-ubyte": config["data"]["sha256"]["train-images-idx3-ubyte"],
            "train-labels-idx1-ubyte": config["data"]["sha256"]["train-labels-idx1-ubyte"],
            "t10k-images-idx3-ubyte": config["data"]["sha256"]["t10k-images-idx3-ubyte"],
            "t10k-labels-idx1-ubyte": config["data"]["sha256"]["t10k-labels-idx1-ubyte"],
        },
    }
    assert all(len(h) == 64 for h in config["data"]["sha256"].values())
    assert config["provenance"]["versions"]["torch"].startswith("2.")
    assert config["provenance"]["machine"]["cores"] >= 1
    epochs = [
        json.loads(line) for line in (reference_run / "metrics.jsonl").read_text().splitlines()
    ]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4]
    assert set(epochs[0]) >= {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"}
    assert epochs[-1]["val_loss"] < epochs[0]["val_loss"]
    card = json.loads((reference_run / "model.json").read_text())
    assert card["format"] == "digitrec-model/1" and card["architecture"] == "fast"
    assert card["metrics"]["val_accuracy"] > 0.85  # 1,500 digits, 4 epochs (measured: 0.93)
    assert card["metrics"]["val_accuracy"] == pytest.approx(epochs[-1]["val_accuracy"])
    model = load_model(reference_run)
    assert model.predict_proba(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)


def _wait_for_checkpoint(process: subprocess.Popen[str], run: Path) -> None:
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.json").exists():  # written after checkpoint.safetensors
        assert process.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.01)


def _start(out: Path) -> subprocess.Popen[str]:
    command = [str(DIGITREC), "train", *SMALL, "--epochs", "4", "--out", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _assert_resumes_to_reference(out: Path, reference_run: Path) -> None:
    resumed = digitrec("train", "--resume", "--out", str(out), "--json")
    assert resumed.returncode == 0, resumed.stderr
    expected, got = weights(reference_run), weights(out)
    assert expected.keys() == got.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    history = (out / "metrics.jsonl").read_text().splitlines()
    reference = (reference_run / "metrics.jsonl").read_text().splitlines()
    strip = [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in history]
    assert strip == [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in reference]


def test_resume_after_kill_9_gives_the_same_weights(reference_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    process = _start(out)
    _wait_for_checkpoint(process, out)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    state = load_checkpoint(out).state
    assert not state.finished and not (out / "model.safetensors").exists()
    _assert_resumes_to_reference(out, reference_run)


def test_ctrl_c_saves_mid_epoch_and_resume_matches(reference_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    process = _start(out)
    _wait_for_checkpoint(process, out)
    process.send_signal(signal.SIGINT)  # honoured after the next step: mid-epoch 2
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "checkpoint saved" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    state = load_checkpoint(out).state
    assert not state.finished and state.step_in_epoch > 0
    _assert_resumes_to_reference(out, reference_run)


def test_fast_recipe_reaches_its_gate(tmp_path: Path, mnist_report: object) -> None:
    # The full fast recipe on all 55,000 training digits (about 10 s on 2 cores); its test-set
    # accuracy (≥ 99%) lives in benchmarks/train_speed.py. The gate is on validation accuracy,
    # and our validation split is harder than the test set: seeds 0-2 measured 0.988, 0.985,
    # 0.989 on validation against 0.992, 0.991, 0.991 on test.
    out = tmp_path / "fast"
    done = digitrec(
        "train", "--recipe", "fast", "--target-acc", "0.98", "--out", str(out), "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["val_accuracy"] >= 0.98


def test_target_acc_fails_loudly_but_keeps_the_model(tmp_path: Path, mnist_report: object) -> None:
    out = tmp_path / "short"
    done = digitrec("train", *SMALL, "--max-steps", "3", "--target-acc", "0.99", "--out", str(out))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]  # after the epoch log line
    assert last.startswith("digitrec: error: validation accuracy") and "below --target-acc" in last
    assert "Traceback" not in done.stderr
    assert (out / "model.safetensors").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "-1"], "learning rate must be in (0, 10]"),
        (["--epochs", "nan"], "epochs must be in (0, 1000]"),
        (["--recipe", "nope"], "unknown recipe 'nope'"),
        (["--model", "nope"], "unknown model 'nope'"),
        (["--augment", "wild"], "augment must be one of none, light, medium, strong"),
        (["--hidden", "5x"], "--hidden wants sizes like 512,256"),
        (["--arg", "noequals"], "--arg wants KEY=VALUE"),
        (["--model", "mlp", "--arg", "colour=3"], "model mlp: bad arguments"),
        (["--resume", "--lr", "0.1"], "--resume continues the saved settings; drop --lr, "),
        (["--resume", "--hidden", "64"], "--max-steps, --hidden"),
        (["--optimizer", "sgd", "--nesterov", "--momentum", "0"], "Nesterov momentum needs"),
        (["--model", "default", "--arg", "widths=[]"], "model default: bad arguments"),
        (["--dataset", "noisy-mnist:blur-low"], "is test-only: there is no training split"),
    ],
)
def test_bad_settings_are_one_line_errors(
    args: list[str], message: str, tmp_path: Path, mnist_report: object
) -> None:
    done = digitrec(
        "train", "--max-steps", "1", "--limit", "64", *args, "--out", str(tmp_path / "r")
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_run_directory_is_not_overwritten_and_resume_needs_a_checkpoint(
    reference_run: Path, tmp_path: Path
) -> None:
    again = digitrec("train", *SMALL, "--max-steps", "1", "--out", str(reference_run))
    assert again.returncode == 2 and "already holds a run" in again.stderr
    nothing = digitrec("train", "--resume", "--out", str(tmp_path / "empty"))
    assert nothing.returncode == 1 and "no checkpoint to resume" in nothing.stderr
    finished = digitrec("train", "--resume", "--out", str(reference_run))
    assert finished.returncode == 2 and "already finished" in finished.stderr


def test_recipes_are_valid_configs_of_known_models() -> None:
    from digitrec.models.zoo import MODELS

    for name, recipe in RECIPES.items():
        config = TrainConfig(**recipe.values, recipe=name)
        assert config.model in MODELS, name
    listed = digitrec("recipes", "--json").stdout.splitlines()
    assert [json.loads(line)["name"] for line in listed] == list(RECIPES)


@pytest.mark.parametrize("schedule", ["onecycle", "step", "cosine"])
def test_schedules_match_pytorch(schedule: str) -> None:
    config = TrainConfig(lr=0.1, schedule=schedule, warmup=0.3, step_gamma=0.7)
    total, per_epoch = 200, 20
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    if schedule == "onecycle":
        reference: torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=0.1, total_steps=total, pct_start=0.3, cycle_momentum=False
        )
    elif schedule == "step":
        reference = torch.optim.lr_scheduler.StepLR(optimizer, step_size=per_epoch, gamma=0.7)
    else:
        reference = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    for step in range(total):
        expected = optimizer.param_groups[0]["lr"]
        assert math.isclose(lr_at(step, total, per_epoch, config), expected, rel_tol=1e-9), step
        optimizer.step()
        reference.step()


def _every_model() -> list[str]:
    from digitrec.baselines import BASELINES
    from digitrec.models.zoo import MODELS

    return [*MODELS, *BASELINES]


@pytest.mark.parametrize("name", _every_model())
def test_every_model_trains_and_evaluates_from_the_cli(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], mnist_report: object
) -> None:
    from digitrec.cli import main

    out = tmp_path / name
    extra = ["--arg", "features=pca"] if name == "svm" else []
    assert main(["train", "--model", name, "--limit", "300", "--max-steps", "2", *extra,
                 "--out", str(out), "--json"]) == 0  # fmt: skip
    trained = json.loads(capsys.readouterr().out)
    assert 0 <= trained["val_accuracy"] <= 1
    assert main(["evaluate", "--model", str(out), "--limit", "100", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 100 and report["architecture"] == name
