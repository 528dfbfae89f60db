"""Pruning zeroes exactly what it says (weights or whole channels), channel pruning of a stacked
net compacts into a narrower net with the same outputs, and distillation passes on what hard
labels cannot: a class the student never saw labelled."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from digitrec import data
from digitrec.cli import main
from digitrec.compress.distill import load_teacher
from digitrec.compress.fit import fit
from digitrec.compress.prune import (
    FINETUNE_RECIPE,
    PruneConfig,
    channel_masks,
    compact_stacked,
    prunable_weights,
    prune,
    unstructured_masks,
)
from digitrec.errors import UsageError
from digitrec.models.loading import load_model
from digitrec.models.modelfile import read_model
from digitrec.models.ours import StackedConvNet
from digitrec.models.zoo import build_model, parameter_count
from digitrec.train import TrainConfig
from digitrec.train.datasets import load_training_data
from digitrec.train.loop import apply_masks
from digitrec.train.objective import DistillConfig
from digitrec.train.tensors import Digits, to_digits


@pytest.fixture(scope="module")
def test_digits(mnist_dir: Path) -> Digits:
    return to_digits(data.load("mnist", "test", mnist_dir).limited(2000))


def accuracy(model: nn.Module, digits: Digits) -> float:
    model.eval()
    with torch.inference_mode():
        return float((model(digits.x).argmax(1) == digits.y).float().mean())


def smoke_config(**values: object) -> TrainConfig:
    return TrainConfig(**(FINETUNE_RECIPE | {"limit": 512, "max_steps": 4, "threads": 1} | values))


def test_unstructured_masks_zero_the_smallest_weights_exactly() -> None:
    model = load_teacher("default")
    masks = unstructured_masks(model, 0.7)
    weights = prunable_weights(model)
    total = sum(w.numel() for w in weights.values())
    assert sum(int((m == 0).sum()) for m in masks.values()) == round(0.7 * total)
    pruned = torch.cat(
        [w.abs()[m == 0] for w, m in zip(weights.values(), masks.values(), strict=True)]
    )
    kept = torch.cat(
        [w.abs()[m == 1] for w, m in zip(weights.values(), masks.values(), strict=True)]
    )
    assert pruned.max() <= kept.min()  # one global ranking by magnitude


def test_prune_unstructured_keeps_its_zeros_through_fine_tuning(
    tmp_path: Path, mnist_dir: Path
) -> None:
    result = prune(
        "default", PruneConfig(0.8), smoke_config(), tmp_path / "pruned", source=mnist_dir
    )
    card, arrays = read_model(result.model_path)
    names = prunable_weights(build_model("default"))
    total = sum(arrays[name].size for name in names)
    zeros = sum(int((arrays[name] == 0).sum()) for name in names)
    assert zeros == result.zeroed == round(0.8 * total) and result.of == total
    assert card.training["prune"] == {
        "sparsity": 0.8,
        "structured": False,
        "zeroed": zeros,
        "of": total,
    }
    assert result.val_accuracy > 0.97  # 80% of the default's weights are dispensable
    assert result.compressed_bytes < 0.6 * result.size_bytes  # the zeros deflate
    assert load_model(result.run_dir).predict_proba(np.zeros((2, 28, 28), np.uint8)).shape == (
        2,
        10,
    )


@pytest.mark.parametrize("name", ["cnn-small", "resnet18", "student"])
def test_channel_masks_zero_that_fraction_of_every_conv(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name).eval()
    masks = channel_masks(model, 0.25)
    apply_masks(model.state_dict(), masks)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == 1]
    assert convs
    for conv in convs:
        dead = int((conv.weight.flatten(1).abs().sum(1) == 0).sum())
        assert dead == min(conv.out_channels - 1, round(0.25 * conv.out_channels))


def test_channel_pruning_compacts_the_default_without_changing_its_outputs(
    test_digits: Digits,
) -> None:
    model = load_teacher("default")
    masks = channel_masks(model, 0.5)
    apply_masks(model.state_dict(), masks)
    small = compact_stacked(model, masks)
    assert isinstance(small, StackedConvNet)
    with torch.inference_mode():
        expected, got = model(test_digits.x[:256]), small(test_digits.x[:256])
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert parameter_count(small) < parameter_count(model) / 3


def test_structured_prune_writes_a_narrower_model(tmp_path: Path, mnist_dir: Path) -> None:
    config = PruneConfig(0.5, structured=True)
    result = prune("default", config, smoke_config(), tmp_path / "narrow", source=mnist_dir)
    card, _ = read_model(result.model_path)
    assert card.arguments["widths"] == [16, 32, 64]
    assert (result.zeroed, result.of) == (16 + 32 + 64 + 64, 32 + 64 + 128 + 128)
    assert result.parameters == parameter_count(load_teacher(result.run_dir))
    assert result.parameters < 70_000
    assert result.val_accuracy > 0.9


def test_prune_rejects_bad_sparsity() -> None:
    for sparsity in (0.0, 1.0, -0.1, float("nan")):
        with pytest.raises(UsageError, match="sparsity"):
            PruneConfig(sparsity)


def test_distillation_teaches_a_class_the_labels_never_show(
    mnist_dir: Path, test_digits: Digits
) -> None:
    """Hinton et al.'s experiment in small: the student's training digits hold no 3 at all. Alone
    it can never answer 3; distilled, it learns 3 from the teacher's soft targets on the other
    digits. The teacher is trained here without label smoothing: a label-smoothed teacher (like
    the shipped default) flattens exactly the similarities this needs. Measured at seeds 0-4: 3s
    recalled 0.28-0.49 distilled, 0.00 alone; accuracy +0.9 to +3.7 points."""
    teacher_config = TrainConfig(
        model="fast", optimizer="sgd", nesterov=True, lr=0.08, weight_decay=5e-4,
        schedule="onecycle", batch_size=96, epochs=1, limit=5000, threads=1,
    )  # fmt: skip
    torch.manual_seed(0)
    teacher_data = load_training_data(teacher_config, mnist_dir)
    teacher = fit(build_model("fast"), teacher_data, teacher_config).model
    config = TrainConfig(
        model="student", optimizer="sgd", nesterov=True, lr=0.05, weight_decay=5e-4,
        schedule="onecycle", batch_size=64, epochs=4, limit=1000, threads=1, seed=0,
    )  # fmt: skip
    splits = load_training_data(config, mnist_dir)
    no_threes = splits.train.subset(np.flatnonzero(splits.train.labels != 3), "train")
    splits = dataclasses.replace(splits, train=no_threes)
    results = {}
    for name, teachers in (("distilled", [teacher]), ("alone", [])):
        torch.manual_seed(0)
        model = fit(build_model("student"), splits, config, teachers=teachers,
                    distill=DistillConfig(temperature=4.0, alpha=0.9)).model  # fmt: skip
        with torch.inference_mode():
            answers = model.eval()(test_digits.x).argmax(1)
        threes = test_digits.y == 3
        results[name] = {
            "accuracy": float((answers == test_digits.y).float().mean()),
            "threes": float((answers[threes] == 3).float().mean()),
        }
    assert results["alone"]["threes"] <= 0.02, results
    assert results["distilled"]["threes"] >= 0.15, results
    assert results["distilled"]["accuracy"] >= results["alone"]["accuracy"] + 0.005, results


def test_distill_command_writes_a_run(
    tmp_path: Path, mnist_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "student"
    args = ["distill", "--teacher", "default", "--teacher", "default", "--out", str(out)]
    args += ["--source", str(mnist_dir), "--limit", "300", "--max-steps", "3", "--threads", "1"]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["parameters"] == parameter_count(build_model("student")) < 20_000
    card, _ = read_model(out)
    assert card.architecture == "student"
    assert [t["model"] for t in card.training["teachers"]] == ["default", "default"]
    assert card.training["distill"] == {"temperature": 1.0, "alpha": 0.5, "calibrated": True}
    assert card.training["config"]["augment"] == "light"
    assert main(args) == 2  # the run exists: one line, no overwrite
    assert "already holds a run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["prune", "--sparsity", "1.5", "--out", "x"], "expected a fraction in (0, 1), got '1.5'"),
        (["prune", "--sparsity", "half", "--out", "x"], "expected a fraction in (0, 1)"),
        (["prune", "--model", "no/such/run", "--sparsity", "0.5", "--out", "x"], "no model at"),
        (["distill", "--teacher", "missing.safetensors", "--out", "x"], "no model at"),
        (["distill", "--teacher", "default", "--student", "nope", "--out", "x"], "unknown student"),
        (["distill", "--teacher", "default", "--temperature", "0", "--out", "x"], "temperature"),
    ],
)
def test_compress_errors_are_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(tmp_path / a) if a == "x" else a for a in args]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("digitrec: error:") and message in err


def test_the_shipped_student(test_digits: Digits) -> None:
    """scripts/train_student.py made it: under 20,000 parameters, distilled from the default
    recipe's three seeds (scripts/train_default.py)."""
    card, _ = read_model("student")
    model = load_teacher("student")
    assert card.architecture == "student" and parameter_count(model) <= 20_000
    teachers = [t["model"] for t in card.training["teachers"]]
    assert teachers == [f"runs/default-seed{seed}" for seed in (0, 1, 2)]
    assert accuracy(model, test_digits) > 0.99  # all 10,000: docs/results/student-model.json
