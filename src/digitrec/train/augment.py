"""Augmentation: pure functions on whole batches of tensors (no per-image Python loops).

One random affine warp per image (rotation, shear, scale, translation) and an optional elastic
distortion, applied in one `grid_sample` call. Strength is named: `none`, `light`, `medium`,
`strong`; the magnitudes are the table below (degrees, shear factor, relative scale, pixels,
elastic displacement in pixels).

Noise augmentation (`add_noise`, the noise study's "trained with noise") corrupts a share of the
images with the kinds of noisy MNIST (`digitrec.data.noisy`): Gaussian noise, salt and pepper, or
blur, each image its own kind and a random strength up to that dataset's `high` level.
"""

from dataclasses import dataclass

import torch
from torch.nn.functional import affine_grid, conv2d, grid_sample, interpolate

from digitrec.data.noisy import NOISE_LEVELS
from digitrec.models.modelfile import MEAN, STD


@dataclass(frozen=True)
class Augmentation:
    rotation_degrees: float = 0.0  # uniform in ±this
    shear: float = 0.0  # horizontal shear factor, uniform in ±this
    scale: float = 0.0  # zoom factor uniform in 1 ± this
    translate_pixels: float = 0.0  # shift uniform in ±this, on a 28-pixel image
    elastic_pixels: float = 0.0  # peak elastic displacement (smooth field), 0 = off

    @property
    def active(self) -> bool:
        return any(
            (
                self.rotation_degrees,
                self.shear,
                self.scale,
                self.translate_pixels,
                self.elastic_pixels,
            )
        )


AUGMENTATIONS: dict[str, Augmentation] = {
    "none": Augmentation(),
    # The papers' "rotation, shear, shift" at the magnitudes Keras tutorials use.
    "light": Augmentation(rotation_degrees=10, shear=0.1, scale=0.1, translate_pixels=2),
    "medium": Augmentation(
        rotation_degrees=12, shear=0.15, scale=0.12, translate_pixels=2.5, elastic_pixels=1.0
    ),
    "strong": Augmentation(
        rotation_degrees=15, shear=0.25, scale=0.15, translate_pixels=3, elastic_pixels=1.5
    ),
}


def augment_batch(
    images: torch.Tensor, augmentation: Augmentation, generator: torch.Generator
) -> torch.Tensor:
    """images: (B, 1, H, W) float32 standardized; returns the same shape, each image warped by its
    own random transform. Empty space is filled with the background value (the batch minimum)."""
    if not augmentation.active:
        return images
    batch, _, height, width = images.shape

    def uniform(spread: float) -> torch.Tensor:  # (B,) in [-spread, spread]
        return (torch.rand(batch, generator=generator) * 2 - 1) * spread

    angle = torch.deg2rad(uniform(augmentation.rotation_degrees))
    shear = uniform(augmentation.shear)
    zoom = 1 + uniform(augmentation.scale)
    shift_x = uniform(augmentation.translate_pixels) * 2 / width  # grid units span 2
    shift_y = uniform(augmentation.translate_pixels) * 2 / height
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # Output -> input sampling matrix: rotation·scale, then horizontal shear.
    theta = torch.stack(
        [
            torch.stack([cos + shear * sin, -sin + shear * cos, shift_x], dim=1),
            torch.stack([sin, cos, shift_y], dim=1),
        ],
        dim=1,
    )  # (B, 2, 3)
    grid = affine_grid(theta, [batch, 1, height, width], align_corners=False)  # (B, H, W, 2)
    if augmentation.elastic_pixels:
        grid = grid + _elastic_field(batch, height, width, augmentation.elastic_pixels, generator)
    background = images.amin(dim=(1, 2, 3), keepdim=True)
    warped = grid_sample(
        images - background, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return warped + background


def _elastic_field(
    batch: int, height: int, width: int, pixels: float, generator: torch.Generator
) -> torch.Tensor:
    """A smooth random displacement field, (B, H, W, 2) in grid units: random vectors on a coarse
    4×4 lattice, upsampled bicubically, so strokes bend rather than jitter."""
    coarse = torch.rand(batch, 2, 4, 4, generator=generator) * 2 - 1
    field = interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)
    scale = torch.tensor([2 * pixels / width, 2 * pixels / height]).view(1, 2, 1, 1)
    return (field * scale).permute(0, 2, 3, 1)


def add_noise(images: torch.Tensor, share: float, generator: torch.Generator) -> torch.Tensor:
    """images: (B, 1, H, W) float32 standardized. Each image, with probability `share`, gets one
    of Gaussian noise (std uniform up to NOISE_LEVELS' high), salt and pepper (that fraction of
    pixels) or Gaussian blur (sigma likewise), chosen uniformly; the rest are returned as they were.
    Works in pixel intensities in [0, 1], as noisy MNIST does, and clips to that range."""
    if share <= 0:
        return images
    batch = images.shape[0]
    chosen = torch.rand(batch, generator=generator) < share  # (B,) which images get noise
    kind = torch.randint(0, 3, (batch,), generator=generator)  # 0 gaussian, 1 salt-pepper, 2 blur
    level = torch.rand(batch, generator=generator).view(batch, 1, 1, 1)  # strength in [0, 1)
    pixels = images * STD + MEAN  # (B, 1, H, W) in [0, 1]
    highest = {name: levels["high"] for name, levels in NOISE_LEVELS.items()}
    noise = torch.randn(pixels.shape, generator=generator) * level * highest["gaussian"]
    gaussian = (pixels + noise).clamp(0, 1)
    draw = torch.rand(pixels.shape, generator=generator)
    fraction = level * highest["salt-pepper"]
    salted = torch.where(draw < fraction / 2, 0.0, torch.where(draw < fraction, 1.0, pixels))
    blurred = _blur(pixels, 0.3 + level.flatten() * (highest["blur"] - 0.3))
    kind = kind.view(batch, 1, 1, 1)
    noisy = torch.where(kind == 0, gaussian, torch.where(kind == 1, salted, blurred))
    return torch.where(chosen.view(batch, 1, 1, 1), (noisy - MEAN) / STD, images)


def _blur(pixels: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with one sigma per image, zero padding (MNIST's background), as
    `digitrec.data.noisy.gaussian_blur`. pixels (B, 1, H, W), sigma (B,) in pixels."""
    batch, _, height, width = pixels.shape
    radius = int(torch.ceil(3 * sigma.max()).item())
    offsets = torch.arange(-radius, radius + 1, dtype=pixels.dtype)
    kernel = torch.exp(-0.5 * (offsets[None, :] / sigma[:, None]) ** 2)  # (B, 2r + 1)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    x = pixels.reshape(1, batch, height, width)  # one group per image
    x = conv2d(x, kernel.view(batch, 1, 1, -1), padding=(0, radius), groups=batch)
    x = conv2d(x, kernel.view(batch, 1, -1, 1), padding=(radius, 0), groups=batch)
    return x.reshape(batch, 1, height, width)
