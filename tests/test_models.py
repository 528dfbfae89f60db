"""Every registered model: the right output shape, and its loss falls when trained a few steps on
a small batch of real MNIST digits."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from digitrec.cli import main
from digitrec.data import load
from digitrec.models.zoo import MODELS, parameter_count


@pytest.fixture(scope="module")
def batch(mnist_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    train = load("mnist", "train", mnist_dir)
    images = torch.from_numpy(np.asarray(train.images[:32])).float().div(255).unsqueeze(1)
    images = (images - 0.1307) / 0.3081  # (32, 1, 28, 28) float32, MNIST-standardized
    return images, torch.from_numpy(train.labels[:32])


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_and_loss_falls(name: str, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    torch.manual_seed(0)
    images, labels = batch
    model = MODELS[name].build()
    model.eval()
    with torch.no_grad():
        assert model(images[:3]).shape == (3, 10)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):  # up to 15 steps: a model that has learned stops early
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if losses[-1] < 0.6 * losses[0]:
            break
    # The slowest learner here, tanh LeNet-5, ends near 0.55× its first loss.
    assert losses[-1] < 0.6 * losses[0], losses


def test_cnn_wide_has_the_reported_parameter_count() -> None:
    # Nagpal et al. report 354,378 parameters for conv128-pool-conv128-pool-FC64.
    assert parameter_count(MODELS["cnn-wide"].build()) == 354_378
    assert parameter_count(MODELS["lenet5"].build()) == 61_706  # LeNet-5's classic count


def test_mobilenet_auxiliary_head(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    model = MODELS["mobilenet"].build()
    logits, aux = model.forward_with_aux(batch[0][:2])  # type: ignore[operator]
    assert logits.shape == aux.shape == (2, 10)


def test_models_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    networks = [row for row in rows if row["kind"] == "network"]
    assert [row["name"] for row in networks] == list(MODELS)
    assert all(row["params"] > 0 for row in networks)
    baselines = {row["name"] for row in rows if row["kind"] == "baseline"}
    assert baselines == {"svm", "knn", "decision-tree", "random-forest", "logreg", "cnn-svm"}
