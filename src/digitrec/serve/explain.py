"""Why the network said what it said: a SmoothGrad saliency map over the 28×28 digit it saw.

SmoothGrad (Smilkov et al. 2017): the gradient of the winning class's logit with respect to the
input pixels, averaged over copies of the input with a little Gaussian noise added, which removes
most of the speckle of a plain input gradient. Drawn as a heat overlay on the digit, enlarged.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from digitrec.models.modelfile import standardize

SAMPLES = 16  # noisy copies, in one batch
NOISE = 0.15  # noise level, as a fraction of the standardized input's range
SCALE = 10  # 28×28 -> 280×280 for display


@dataclass(frozen=True)
class Saliency:
    digit: int  # the class explained (the network's top class)
    heat: np.ndarray  # (28, 28) float32 in [0, 1]


def smoothgrad(module: nn.Module, digit_image: np.ndarray, seed: int = 0) -> Saliency:
    """digit_image: (28, 28) uint8, ink bright (what `normalize_digit` returns)."""
    x = torch.from_numpy(standardize(digit_image[None]))
    span = float(x.max() - x.min()) or 1.0
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((SAMPLES, *x.shape[1:]), generator=generator) * NOISE * span
    batch = (x.repeat(SAMPLES, 1, 1, 1) + noise).requires_grad_(True)
    with torch.enable_grad():
        digit = int(module(x).argmax(1).item())
        # Gradients with respect to the input only: the served model's weights are left alone
        # (no .grad accumulating in them, nothing shared between concurrent requests).
        (gradient,) = torch.autograd.grad(module(batch)[:, digit].sum(), batch)
    heat = gradient.abs().mean(0)[0].numpy()
    top = float(np.percentile(heat, 99.5)) or 1.0  # a few extreme pixels must not wash it out
    return Saliency(digit, np.clip(heat / top, 0.0, 1.0).astype(np.float32))


def input_png(digit_image: np.ndarray) -> bytes:
    """The 28×28 model input, enlarged with square pixels, as PNG (ink white on black)."""
    import cv2

    big = cv2.resize(digit_image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    return _png(big)


def overlay_png(digit_image: np.ndarray, heat: np.ndarray) -> bytes:
    """The saliency as a heat map blended over the enlarged input, as PNG."""
    import cv2

    gray = cv2.resize(digit_image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    smooth = cv2.resize(heat, gray.shape[::-1], interpolation=cv2.INTER_CUBIC).clip(0, 1)
    colour = cv2.applyColorMap((smooth * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    base = cv2.cvtColor((gray * 0.6).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    alpha = (0.25 + 0.75 * smooth)[..., None]
    blended = (base * (1 - alpha) + colour * alpha).astype(np.uint8)
    return _png(blended)


def _png(image: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image as PNG
        raise RuntimeError("PNG encoding failed")
    return encoded.tobytes()
