"""Batched augmentation: shape, determinism, background kept, and transforms that do what their
names say (a shift moves the centre of mass by about that many pixels)."""

import numpy as np
import pytest
import torch

from digitrec.data import load
from digitrec.models.modelfile import standardize
from digitrec.train.augment import AUGMENTATIONS, Augmentation, augment_batch


@pytest.fixture(scope="module")
def digits(mnist_dir: object) -> torch.Tensor:
    return torch.from_numpy(standardize(load("mnist", "train").images[:64]))


def centre_of_mass(x: torch.Tensor) -> torch.Tensor:  # (B, 1, H, W) -> (B, 2) as (y, x)
    ink = (x - x.amin(dim=(1, 2, 3), keepdim=True)).squeeze(1)
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    total = ink.sum(dim=(1, 2))
    return torch.stack([(ink * ys).sum((1, 2)) / total, (ink * xs).sum((1, 2)) / total], 1)


@pytest.mark.parametrize("strength", list(AUGMENTATIONS))
def test_shape_determinism_and_background(digits: torch.Tensor, strength: str) -> None:
    augmentation = AUGMENTATIONS[strength]
    first = augment_batch(digits, augmentation, torch.Generator().manual_seed(1))
    again = augment_batch(digits, augmentation, torch.Generator().manual_seed(1))
    assert first.shape == digits.shape
    torch.testing.assert_close(first, again)
    background = digits.amin()
    assert first.amin() >= background - 1e-4  # nothing darker than the paper appears
    corners = first[:, :, :2, :2]  # far from the ink: still paper
    torch.testing.assert_close(corners, torch.full_like(corners, float(background)))
    if strength == "none":
        assert first is digits
    else:
        assert not torch.equal(first, digits)
        ink_before = (digits - background).sum((1, 2, 3))
        ink_after = (first - background).sum((1, 2, 3))
        ratio = (ink_after / ink_before).numpy()
        assert np.all((ratio > 0.6) & (ratio < 1.6)), ratio  # warps, does not erase or smear


def test_translation_moves_the_centre_of_mass(digits: torch.Tensor) -> None:
    shift = Augmentation(translate_pixels=3)
    moved = augment_batch(digits, shift, torch.Generator().manual_seed(0))
    distance = (centre_of_mass(moved) - centre_of_mass(digits)).abs()
    assert distance.max() <= 3.3  # at most the shift (plus resampling)
    assert distance.mean() > 0.5  # and it does move them


def test_each_image_gets_its_own_transform(digits: torch.Tensor) -> None:
    same = digits[:1].repeat(8, 1, 1, 1)
    warped = augment_batch(same, AUGMENTATIONS["strong"], torch.Generator().manual_seed(0))
    assert len({tuple(w.flatten()[::7].tolist()) for w in warped}) == 8
