"""The model shipped inside the package: it loads by name through the Python API, describes itself,
is small, and reads MNIST test digits and USPS digits it never saw."""

import json
from pathlib import Path

import numpy as np

import digitrec
from digitrec.data import load
from digitrec.models.modelfile import PACKAGED


def test_default_model_is_packaged_small_and_self_describing() -> None:
    weights, card_path = PACKAGED / "default.safetensors", PACKAGED / "default.json"
    assert weights.stat().st_size < 2_000_000
    card = json.loads(card_path.read_text())
    assert card["architecture"] == "default" and card["kind"] == "torch"
    # scripts/train_default_real.py (docs/results/default-real.json) fine-tunes the default:
    config = card["training"]["config"]
    assert config["dataset"] == "mnist+usps+cvl" and config["init"] == "default"
    assert config["report_test"] is False  # chosen without the test split
    assert 0.2 < card["temperature"] < 5


def test_default_model_reads_mnist_test_digits(mnist_dir: Path) -> None:
    test = load("mnist", "test", mnist_dir)
    model = digitrec.load_model("default")
    probabilities = model.predict_proba(test.images[:2000])
    np.testing.assert_allclose(probabilities.sum(1), 1, rtol=1e-5)
    accuracy = (probabilities.argmax(1) == test.labels[:2000]).mean()
    assert accuracy > 0.99  # on all 10,000: see README (digitrec evaluate)


def test_default_model_reads_usps_it_never_saw(usps_dir: Path) -> None:
    from digitrec.preprocess import to_mnist_format

    usps = load("usps", "test", usps_dir)
    probabilities = digitrec.load_model().predict_proba(to_mnist_format(usps.images[:500]))
    assert (probabilities.argmax(1) == usps.labels[:500]).mean() > 0.93
