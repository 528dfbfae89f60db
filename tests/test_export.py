"""ONNX export against torch for every network in the zoo, int8 accuracy on real digits, the ONNX
Runtime backend behind the Classifier interface, and the export and bench commands."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from digitrec import data
from digitrec.cli import main
from digitrec.export.onnx_export import (
    calibration_digits,
    export_module,
    export_onnx,
    onnx_metadata,
    quantize_onnx,
)
from digitrec.export.runtime import OnnxClassifier, load_classifier
from digitrec.export.validation import validate_onnx
from digitrec.models.loading import load_model
from digitrec.models.modelfile import ModelCard
from digitrec.models.torch_classifier import TorchClassifier
from digitrec.models.zoo import MODELS, build_model


@pytest.fixture(scope="module")
def digits(mnist_dir: Path) -> data.DigitSet:
    return data.load("mnist", "test", mnist_dir).limited(2000)


@pytest.fixture(scope="module")
def default_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx("default", tmp_path_factory.mktemp("onnx") / "default.onnx")


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in MODELS if name != "mlp"])  # every CNN
def test_export_matches_torch(name: str, tmp_path: Path, digits: data.DigitSet) -> None:
    torch.manual_seed(0)
    module = build_model(name)
    module.train()
    with torch.no_grad():  # batch-norm statistics that are not the identity
        module(torch.randn(64, 1, 28, 28) * 2 + 0.5)
    reference = TorchClassifier(module, ModelCard("torch", name))
    path = export_module(reference.module, reference.card, tmp_path / f"{name}.onnx")
    exported = OnnxClassifier(path, threads=1)
    images = digits.images[:300]
    expected, got = reference.logits(images).numpy(), exported.logits(images)
    scale = max(1.0, float(np.abs(expected).max()))
    assert np.abs(got - expected).max() <= 1e-4 * scale, name
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.99  # near-ties may flip
    assert exported.logits(images[:1]).shape == (1, 10)  # the batch axis is dynamic
    assert exported.card.architecture == name and exported.precision == "fp32"


def test_default_export_validates_on_real_digits(default_onnx: Path, mnist_dir: Path) -> None:
    validation = validate_onnx(default_onnx, "default", limit=2000, source=mnist_dir)
    assert validation.passed and validation.argmax_agreement >= 0.9995
    assert validation.max_abs_logit_diff < 1e-3
    assert validation.onnx_accuracy > 0.99
    metadata = onnx_metadata(default_onnx)
    assert metadata["digitrec_precision"] == "fp32"
    card = json.loads(metadata["digitrec"])
    assert card["architecture"] == "default" and card["temperature"] != 1.0


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_int8_keeps_accuracy_in_a_third_of_the_size(
    mode: str, default_onnx: Path, tmp_path: Path, mnist_dir: Path
) -> None:
    calibration = calibration_digits(count=256, source=mnist_dir) if mode == "static" else None
    int8 = quantize_onnx(default_onnx, tmp_path / "int8.onnx", mode, calibration=calibration)
    assert int8.stat().st_size <= default_onnx.stat().st_size / 3
    validation = validate_onnx(int8, "default", limit=1000, source=mnist_dir)
    assert validation.onnx_accuracy >= validation.torch_accuracy - 0.003, validation
    assert OnnxClassifier(int8).precision == f"int8-{mode}"


def test_calibration_comes_from_the_training_split(mnist_dir: Path) -> None:
    calibration = calibration_digits(count=100, source=mnist_dir)
    train = data.load("mnist", "train", mnist_dir)
    test = data.load("mnist", "test", mnist_dir)
    train_rows = {row.tobytes() for row in train.images}
    assert all(image.tobytes() in train_rows for image in calibration)
    assert not {image.tobytes() for image in calibration} & {i.tobytes() for i in test.images}


def test_onnx_backend_agrees_with_torch(
    home: Path, default_onnx: Path, digits: data.DigitSet
) -> None:
    torch_model = load_classifier("default", "torch")
    onnx_model = load_classifier("default", "onnx")  # exported into the cache
    assert isinstance(torch_model, TorchClassifier) and isinstance(onnx_model, OnnxClassifier)
    assert onnx_model.path.parent == home / "onnx"
    expected, got = (
        torch_model.predict_proba(digits.images[:500]),
        onnx_model.predict_proba(digits.images[:500]),
    )
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert load_classifier(default_onnx, "auto").card.temperature == torch_model.card.temperature
    chosen = load_classifier("default", "auto")  # timed once; the verdict is kept
    verdict = json.loads((onnx_model.path.with_suffix(".speed.json")).read_text())
    assert verdict["faster"] == ("onnx" if isinstance(chosen, OnnxClassifier) else "torch")


def test_onnx_backend_errors(home: Path, default_onnx: Path, tmp_path: Path) -> None:
    from digitrec.errors import DataError, UsageError

    with pytest.raises(UsageError, match="backend must be one of"):
        load_classifier("default", "tflite")
    with pytest.raises(UsageError, match="ONNX file"):
        load_classifier(default_onnx, "torch")
    with pytest.raises(UsageError, match="no ONNX model"):
        load_classifier(tmp_path / "missing.onnx", "onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(DataError, match="not a loadable ONNX model"):
        load_classifier(tmp_path / "junk.onnx", "onnx")


def test_baselines_do_not_export(tmp_path: Path, mnist_dir: Path) -> None:
    from digitrec.errors import UsageError

    run = tmp_path / "logreg"
    assert main(["train", "--model", "logreg", "--out", str(run), "--limit", "300",
                 "--source", str(mnist_dir)]) == 0  # fmt: skip
    with pytest.raises(UsageError, match="only networks export"):
        export_onnx(run, tmp_path / "logreg.onnx")
    with pytest.raises(UsageError, match="only networks run under ONNX Runtime"):
        load_classifier(run, "onnx")
    assert not isinstance(load_classifier(run, "auto"), OnnxClassifier)


def test_export_command(
    tmp_path: Path, mnist_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "default-int8.onnx"
    args = ["export", "--model", "default", "--format", "onnx", "--quantize", "static"]
    args += ["--out", str(out), "--limit", "1000", "--calibration", "128"]
    assert main([*args, "--source", str(mnist_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["precision"] == "int8-static" and report["size_bytes"] == out.stat().st_size
    assert report["validation"]["digits"] == 1000 and report["validation"]["passed"]
    assert report["validation"]["criterion"] == "accuracy drop ≤ 0.1 point"


def test_evaluate_and_predict_on_the_onnx_backend(
    home: Path, mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cv2

    common = ["evaluate", "--limit", "500", "--source", str(mnist_dir), "--json"]
    assert main([*common, "--backend", "torch"]) == 0
    on_torch = json.loads(capsys.readouterr().out)
    assert main([*common, "--backend", "onnx"]) == 0
    on_onnx = json.loads(capsys.readouterr().out)
    assert on_onnx["accuracy"] == on_torch["accuracy"] and on_onnx["backend"] == "onnx"
    assert on_torch["backend"] == "torch"
    image = tmp_path / "seven.png"
    digit = data.load("mnist", "test", mnist_dir)
    cv2.imwrite(str(image), 255 - cv2.resize(digit.images[0], (112, 112)))
    assert main(["predict", str(image), "--backend", "onnx", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digit"] == int(digit.labels[0])


def test_bench_reports_every_backend(mnist_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "--model", "student-untrained-does-not-exist"]
    assert main(args) == 2
    assert "no model at" in capsys.readouterr().err
    args = ["bench", "--runs", "20", "--batch", "32", "--threads", "1"]
    assert main([*args, "--source", str(mnist_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["params"] == 252_138 and report["flops_per_digit"] > 2 * 14_000_000
    assert report["matmul_gflops"] > 0
    assert [(r["backend"], r["batch"]) for r in report["results"]] == [
        ("torch", 1), ("torch", 32), ("onnx", 1), ("onnx", 32), ("onnx-int8", 1), ("onnx-int8", 32),
    ]  # fmt: skip
    for row in report["results"]:
        assert 0 < row["p50_ms"] <= row["p99_ms"] and row["digits_per_s"] > 0
    sizes = {r["backend"]: r["size_bytes"] for r in report["results"]}
    assert sizes["onnx-int8"] <= sizes["onnx"] / 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--format", "tflite", "--out", "m.onnx"], "unknown format 'tflite'"),
        (["export", "--model", "nowhere/run", "--out", "m.onnx"], "no model at nowhere/run"),
        (["export", "--out", "m.pt"], "--out must name a .onnx file"),
        (["export", "--quantize", "float4", "--out", "m.onnx"], "invalid choice: 'float4'"),
        (["evaluate", "--backend", "tpu"], "invalid choice: 'tpu'"),
        (["bench", "--backends", "torch,tensorrt"], "backends must be among"),
    ],
)
def test_export_errors_are_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(tmp_path / a) if a.startswith("m.") else a for a in args]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("digitrec: error:") and message in err


def test_packages_import_light() -> None:
    code = (
        "import sys, digitrec.export, digitrec.compress, digitrec.cli.export_commands; "
        "print(*(m in sys.modules for m in ('torch', 'onnxruntime', 'onnx')))"
    )
    output = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert output.split() == ["False", "False", "False"]


def test_exported_default_answers_like_the_shipped_model(
    default_onnx: Path, digits: data.DigitSet
) -> None:
    expected = load_model("default").predict_proba(digits.images).argmax(1)
    assert (OnnxClassifier(default_onnx).predict_proba(digits.images).argmax(1) == expected).all()


@pytest.mark.parametrize(
    "script", ["benchmarks/inference.py", "benchmarks/prune_sweep.py", "scripts/train_student.py"]
)
def test_script_help(script: str) -> None:
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(repo / script), "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr


def test_the_public_loader_runs_what_the_cli_runs(
    default_onnx: Path, digits: data.DigitSet
) -> None:
    """digitrec.load_model takes the CLI's backends: the same class `load_classifier` gives for
    "auto", the network itself for "torch", an .onnx file as is; a bad backend is one error."""
    import digitrec
    from digitrec.errors import UsageError

    auto = digitrec.load_model("default")
    assert type(auto) is type(load_classifier("default", "auto"))
    assert isinstance(digitrec.load_model("default", backend="torch"), TorchClassifier)
    onnx = digitrec.load_model(default_onnx)
    assert isinstance(onnx, OnnxClassifier)
    expected = auto.predict_proba(digits.images[:200]).argmax(1)
    assert (onnx.predict_proba(digits.images[:200]).argmax(1) == expected).all()
    with pytest.raises(UsageError, match="backend must be one of torch, onnx, auto"):
        digitrec.load_model("default", backend="gpu")
