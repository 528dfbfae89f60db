"""Metrics against scikit-learn's, and `digitrec evaluate` on MNIST, USPS, noisy MNIST and a
folder with a model trained for seconds."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, log_loss, precision_recall_fscore_support

from digitrec.data import load
from digitrec.evaluate import classification_metrics, expected_calibration_error

DIGITREC = Path(sys.executable).with_name("digitrec")
KEYS = {
    "accuracy", "precision_macro", "recall_macro", "f1_macro", "per_class", "confusion_matrix",
    "log_loss", "ece", "parameters", "size_bytes", "throughput_images_per_s", "latency_ms",
    "peak_memory_mb", "n",
}  # fmt: skip


def digitrec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGITREC), *args], capture_output=True, text=True, timeout=240, check=False
    )


def test_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    logits = rng.normal(size=(500, 10)) + 3 * np.eye(10)[labels] * rng.random((500, 1))
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    # Class 3 is never predicted (zero-division precision); class 7 never occurs but is predicted.
    probabilities[:, 3] *= 1e-6
    labels[labels == 7] = 8
    probabilities /= probabilities.sum(1, keepdims=True)
    ours = classification_metrics(probabilities, labels, tuple("0123456789"))
    predicted = probabilities.argmax(1)
    assert 3 not in predicted and 7 in predicted and 7 not in labels
    per_class = precision_recall_fscore_support(
        labels, predicted, labels=range(10), zero_division=0
    )
    macro = precision_recall_fscore_support(labels, predicted, average="macro", zero_division=0)
    assert ours["accuracy"] == pytest.approx((predicted == labels).mean())
    assert ours["precision_macro"] == pytest.approx(macro[0])
    assert ours["recall_macro"] == pytest.approx(macro[1])
    assert ours["f1_macro"] == pytest.approx(macro[2])
    assert [c["precision"] for c in ours["per_class"]] == pytest.approx(list(per_class[0]))
    assert [c["f1"] for c in ours["per_class"]] == pytest.approx(list(per_class[2]))
    assert [c["support"] for c in ours["per_class"]] == list(per_class[3])
    assert ours["confusion_matrix"] == confusion_matrix(labels, predicted).tolist()
    assert ours["log_loss"] == pytest.approx(log_loss(labels, probabilities, labels=range(10)))


def test_calibration_error_is_zero_when_confidence_equals_accuracy() -> None:
    # 1,000 predictions at 0.8 confidence of which exactly 800 are right: perfectly calibrated.
    probabilities = np.full((1000, 10), 0.2 / 9)
    probabilities[:, 0] = 0.8
    labels = np.zeros(1000, dtype=int)
    labels[800:] = 1
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-12)
    labels[:] = 0  # all right at 0.8 confidence: under-confident by 0.2
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, mnist_report: object) -> Path:
    out = tmp_path_factory.mktemp("eval") / "run"
    done = digitrec("train", "--model", "fast", "--limit", "4000", "--epochs", "2",
                    "--optimizer", "sgd", "--lr", "0.05", "--schedule", "onecycle",
                    "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_evaluate_json_on_mnist_test(trained: Path) -> None:
    done = digitrec("evaluate", "--model", str(trained), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= KEYS
    assert report["n"] == 10_000 and report["split"] == "test"
    assert 0.9 < report["accuracy"] < 1  # 4,000 digits, 2 epochs (measured: 0.96)
    assert sum(map(sum, report["confusion_matrix"])) == 10_000
    assert report["parameters"] == 29_178
    assert report["size_bytes"] > 4 * 29_178  # float32 weights plus the card
    assert report["throughput_images_per_s"] > 100 and report["latency_ms"] > 0


@pytest.mark.parametrize("dataset", ["usps", "noisy-mnist:blur-low"])
def test_evaluate_other_digit_sets(trained: Path, dataset: str, usps_dir: Path) -> None:
    source = ["--source", str(usps_dir)] if dataset == "usps" else []
    done = digitrec("evaluate", "--model", str(trained), "--dataset", dataset, *source,
                    "--limit", "400", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n"] == 400 and 0.3 < report["accuracy"] <= 1


def test_evaluate_a_folder_of_scans(trained: Path, tmp_path: Path, mnist_dir: Path) -> None:
    test = load("mnist", "test", mnist_dir)
    for i in range(30):  # dark ink on white paper at 3×, as a scanner would give
        label = int(test.labels[i])
        (tmp_path / "scans" / str(label)).mkdir(parents=True, exist_ok=True)
        big = cv2.resize(255 - test.images[i], (84, 84), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(tmp_path / "scans" / str(label) / f"{i}.png"), big)
    done = digitrec("evaluate", "--model", str(trained), "--dataset",
                    str(tmp_path / "scans"), "--split", "all", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n"] == 30 and report["accuracy"] >= 0.8


def test_evaluate_text_report_and_errors(trained: Path, tmp_path: Path) -> None:
    done = digitrec("evaluate", "--model", str(trained), "--limit", "200")
    assert done.returncode == 0 and "confusion matrix" in done.stdout and "accuracy" in done.stdout
    missing = digitrec("evaluate", "--model", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no model at" in missing.stderr
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a model")
    bad = digitrec("evaluate", "--model", str(broken))
    assert bad.returncode == 1 and "not a readable safetensors file" in bad.stderr
    for result in (missing, bad):
        assert len(result.stderr.strip().splitlines()) == 1
