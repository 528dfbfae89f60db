"""The classic baselines against scikit-learn, their reference: each is fitted on 2,000 real MNIST
digits, and its NumPy predictions on 500 test digits must be scikit-learn's, reach a measured
accuracy floor, and survive a round trip through a model file bit for bit."""

import copy
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from digitrec.baselines import (
    BASELINES,
    Baseline,
    fit_baseline,
    fit_with_estimator,
    load_baseline,
)
from digitrec.baselines.features import PCAFeatures, hog, transform
from digitrec.baselines.svm import SVMBaseline
from digitrec.data import DigitSet, load
from digitrec.errors import DataError, UsageError
from digitrec.models.loading import load_model
from digitrec.models.modelfile import ModelCard, read_model, save_model, standardize
from digitrec.models.torch_classifier import TorchClassifier
from digitrec.models.zoo import build_model

TRAIN, TEST = 2000, 500

# (name, arguments, accuracy floor on the 500 test digits), floors a little under what was measured
# with 2,000 training digits: svm pca 0.942, hog 0.972, pixels 0.928; knn pca 0.902, pixels k=5
# uniform 0.858; decision tree 0.664; forest 0.902; logreg 0.896; cnn-svm on the tiny CNN 0.980.
CASES: list[tuple[str, dict[str, Any], float]] = [
    ("svm", {}, 0.92),
    ("svm", {"features": "hog"}, 0.95),
    ("svm", {"features": "pixels", "C": 5}, 0.90),
    ("knn", {}, 0.88),
    ("knn", {"features": "pixels", "k": 5, "weights": "uniform"}, 0.83),
    ("decision-tree", {}, 0.62),
    ("random-forest", {}, 0.88),
    ("logreg", {}, 0.87),
    ("cnn-svm", {}, 0.95),  # cnn: the tiny CNN below
]


@dataclass
class Fitted:
    name: str
    baseline: Baseline
    estimator: Any  # the scikit-learn estimator the baseline was exported from
    floor: float


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """These problems are small: one BLAS and torch thread is as fast, and stays fast when the
    cores are busy (spinning worker threads made a 0.4 s fit take 10 s on a loaded 2-core box)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits(mnist_dir: Path) -> tuple[DigitSet, DigitSet]:
    train = load("mnist", "train", mnist_dir).subset(np.arange(TRAIN), "train")
    test = load("mnist", "test", mnist_dir).subset(np.arange(TEST), "test")
    return train, test


@pytest.fixture(scope="module")
def tiny_cnn(digits: tuple[DigitSet, DigitSet], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `fast` CNN after 50 Adam steps on the training digits (about 96% on MNIST), saved."""
    train, _ = digits
    torch.manual_seed(0)
    module = build_model("fast")
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    images = torch.from_numpy(standardize(train.images))  # (2000, 1, 28, 28) float32
    labels = torch.from_numpy(train.labels)
    for step in range(50):
        batch = torch.arange(step * 64, step * 64 + 64) % len(labels)
        loss = torch.nn.functional.cross_entropy(module(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    card = ModelCard(kind="torch", architecture="fast")
    stem = tmp_path_factory.mktemp("cnn") / "fast"
    save_model(stem, TorchClassifier(module, card).arrays(), card)
    return stem


@pytest.fixture(scope="module", params=CASES, ids=lambda case: f"{case[0]}{case[1] or ''}")
def fitted(
    request: pytest.FixtureRequest, digits: tuple[DigitSet, DigitSet], tiny_cnn: Path
) -> Fitted:
    name, arguments, floor = request.param
    if name == "cnn-svm":
        arguments = {"cnn": str(tiny_cnn)}
    baseline, estimator = fit_with_estimator(name, arguments, digits[0], seed=0)
    return Fitted(name, baseline, estimator, floor)


def test_predictions_are_scikit_learns(fitted: Fitted, digits: tuple[DigitSet, DigitSet]) -> None:
    baseline, estimator = fitted.baseline, fitted.estimator
    images = digits[1].images
    features = transform(baseline.features, images)  # (500, D) float32
    probabilities = baseline.predict_proba(images)
    assert probabilities.shape == (TEST, 10) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-6)
    assert np.array_equal(probabilities.argmax(axis=1), estimator.predict(features))
    if isinstance(baseline, SVMBaseline):  # scores, not probabilities: compare those
        np.testing.assert_allclose(
            baseline.scores(features), estimator.decision_function(features), atol=1e-9
        )
        one_vs_one = copy.deepcopy(estimator).set_params(decision_function_shape="ovo")
        np.testing.assert_allclose(
            baseline.decision_values(features), one_vs_one.decision_function(features), atol=1e-9
        )
    else:
        np.testing.assert_allclose(probabilities, estimator.predict_proba(features), atol=1e-6)


def test_accuracy_floor(fitted: Fitted, digits: tuple[DigitSet, DigitSet]) -> None:
    accuracy = np.mean(fitted.baseline.predict(digits[1].images) == digits[1].labels)
    assert accuracy > fitted.floor, f"{fitted.name}: {accuracy:.3f}"


def test_round_trip_through_a_model_file(
    fitted: Fitted, digits: tuple[DigitSet, DigitSet], tmp_path: Path
) -> None:
    baseline = fitted.baseline
    save_model(tmp_path / "model", baseline.arrays(), baseline.card)
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, Baseline) and type(loaded) is type(baseline)
    assert loaded.card.to_json() == baseline.card.to_json()
    images = digits[1].images
    assert np.array_equal(loaded.predict_proba(images), baseline.predict_proba(images))


def test_card(fitted: Fitted) -> None:
    card = fitted.baseline.card
    assert card.kind == "baseline" and card.architecture == fitted.name
    assert set(BASELINES[fitted.name].defaults) <= set(card.arguments)
    assert card.training["examples"] == TRAIN and card.training["seed"] == 0
    if fitted.name == "cnn-svm":
        assert card.arguments["cnn_card"]["architecture"] == "fast"
        assert any(name.startswith("cnn.") for name in fitted.baseline.arrays())


def test_knn_keeps_pixel_rows_as_uint8(digits: tuple[DigitSet, DigitSet]) -> None:
    baseline = fit_baseline("knn", {"features": "pixels"}, digits[0], seed=0)
    stored = baseline.arrays()["knn.features"]
    assert stored.dtype == np.uint8 and np.array_equal(stored, digits[0].images)


def test_hog_matches_a_loop_implementation(digits: tuple[DigitSet, DigitSet]) -> None:
    images = digits[1].images[:3]
    np.testing.assert_allclose(hog(images), [hog_by_loops(image) for image in images], atol=1e-5)
    assert not hog(np.zeros((1, 28, 28), np.uint8)).any()


def test_pca_matches_scikit_learn(digits: tuple[DigitSet, DigitSet]) -> None:
    from sklearn.decomposition import PCA

    train, test = digits
    ours = PCAFeatures.fit(train.images, 30, seed=0)
    theirs = PCA(30, svd_solver="covariance_eigh").fit(train.images.reshape(TRAIN, -1) / 255)
    np.testing.assert_allclose(
        ours(test.images), theirs.transform(test.images.reshape(TEST, -1) / 255), atol=1e-4
    )


@pytest.mark.parametrize(
    ("name", "arguments", "says"),
    [
        ("nope", {}, "known: svm, knn, decision-tree, random-forest, logreg, cnn-svm"),
        ("svm", {"kernel": "linear"}, "allowed: features, components, C, gamma"),
        ("svm", {"features": "sift"}, "features must be pixels | pca | hog"),
        ("svm", {"C": -1}, "C must be a positive number"),
        ("svm", {"gamma": "auto"}, 'gamma must be "scale"'),
        ("svm", {"features": "pca", "components": 5000}, "components must be an integer in"),
        ("knn", {"k": 2.5}, "k must be an integer"),
        ("knn", {"k": 5000}, "k must be an integer in 1..1000"),
        ("random-forest", {"max_depth": 0}, "max_depth must be null"),
        ("logreg", {"C": True}, "C must be a positive number"),
        ("cnn-svm", {"features": "pixels"}, "allowed: cnn, C, gamma"),
        ("cnn-svm", {"cnn": "/nonexistent/model"}, "no model at /nonexistent/model"),
    ],
)
def test_bad_names_and_arguments(
    name: str, arguments: dict[str, Any], says: str, digits: tuple[DigitSet, DigitSet]
) -> None:
    with pytest.raises(UsageError) as raised:
        fit_baseline(name, arguments, digits[0], seed=0)
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_knn_needs_k_training_digits(digits: tuple[DigitSet, DigitSet]) -> None:
    few = digits[0].subset(np.arange(40), "train")  # the first 40 hold every digit
    with pytest.raises(UsageError, match="k is 50, more than the training digits"):
        fit_baseline("knn", {"k": 50, "features": "pixels"}, few, seed=0)


def test_cnn_svm_needs_a_cnn(digits: tuple[DigitSet, DigitSet], tmp_path: Path) -> None:
    tree = fit_baseline("decision-tree", {"max_depth": 3}, digits[0], seed=0)
    save_model(tmp_path / "tree", tree.arrays(), tree.card)
    with pytest.raises(UsageError, match="cnn must name a trained CNN"):
        fit_baseline("cnn-svm", {"cnn": str(tmp_path / "tree")}, digits[0], seed=0)


def test_damaged_files_raise_data_error(digits: tuple[DigitSet, DigitSet]) -> None:
    tree = fit_baseline("decision-tree", {"max_depth": 3}, digits[0], seed=0)
    arrays = tree.arrays()
    with pytest.raises(DataError, match="unknown baseline 'boosting'"):
        load_baseline(ModelCard("baseline", "boosting", tree.card.arguments), arrays)
    with pytest.raises(DataError, match=r"no array 'tree\.values'"):
        load_baseline(tree.card, {k: v for k, v in arrays.items() if k != "tree.values"})
    with pytest.raises(DataError, match="do not fit together"):
        load_baseline(tree.card, {**arrays, "tree.left": arrays["tree.left"] + 10_000})


def test_loading_needs_no_scikit_learn(digits: tuple[DigitSet, DigitSet], tmp_path: Path) -> None:
    baseline = fit_baseline("svm", {"features": "pca", "components": 20}, digits[0], seed=0)
    save_model(tmp_path / "svm", baseline.arrays(), baseline.card)
    code = (
        "import sys; import numpy as np; from digitrec.models.loading import load_model; "
        f"m = load_model({str(tmp_path / 'svm')!r}); "
        "m.predict_proba(np.zeros((2, 28, 28), np.uint8)); "
        "print('sklearn' in sys.modules, 'torch' in sys.modules)"
    )
    output = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert output.split() == ["False", "False"]
    assert read_model(tmp_path / "svm")[0].arguments["features"] == "pca"


def hog_by_loops(image: np.ndarray) -> np.ndarray:
    """The HOG of features.hog, one pixel at a time in float64, as written in its docstring."""
    x = image.astype(np.float64) / 255
    cells = np.zeros((4, 4, 9))
    for row in range(28):
        for col in range(28):
            gx = x[row, col + 1] - x[row, col - 1] if 0 < col < 27 else 0.0
            gy = x[row + 1, col] - x[row - 1, col] if 0 < row < 27 else 0.0
            angle = np.arctan2(gy, gx) % np.pi
            position = angle / (np.pi / 9) - 0.5
            lower = int(np.floor(position))
            weight = position - lower
            cells[row // 7, col // 7, lower % 9] += np.hypot(gx, gy) * (1 - weight)
            cells[row // 7, col // 7, (lower + 1) % 9] += np.hypot(gx, gy) * weight
    blocks = []
    for row in range(3):
        for col in range(3):
            block = np.concatenate([cells[row, col], cells[row, col + 1]])
            block = np.concatenate([block, cells[row + 1, col], cells[row + 1, col + 1]])
            block = block / np.sqrt(np.sum(block**2) + 1e-10)
            block = np.minimum(block, 0.2)
            blocks.append(block / np.sqrt(np.sum(block**2) + 1e-10))
    return np.concatenate(blocks)
