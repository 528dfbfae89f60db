"""The one preprocessing function: any grayscale digit image -> a 28×28 MNIST-style digit.

Training data from folders, the CLI, the Python API and the web app all call `normalize_digit`, so
a digit a user draws goes through exactly the code the evaluation measured.
"""

import numpy as np

from digitrec.errors import DataError

SIDE = 28  # output side, as MNIST
BOX = 20  # the digit's longer side is scaled to this, as MNIST
MIN_CONTRAST = 32  # grey levels between paper and ink below which an image is blank
MIN_INK_PIXELS = 4  # fewer ink pixels than this is a blank, not a digit
SPECK_FRACTION = 0.05  # ink components smaller than this share of the largest are noise


def normalize_digit(gray: np.ndarray, name: str = "image") -> np.ndarray:
    """Normalize one digit image the way MNIST was made.

    gray: (H, W) uint8, dark ink on light paper or light ink on dark, any size.
    Returns (28, 28) uint8, ink bright (up to 255) on black, the ink's bounding box scaled to fit
    20×20 keeping its aspect ratio, then shifted so its centre of mass is the image centre.
    Raises DataError when there is no digit to normalize (blank or nearly blank image)."""
    import cv2

    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected (H, W) uint8, got {gray.dtype} {gray.shape}")
    if min(gray.shape) < 2:
        raise DataError(f"{name}: image is {gray.shape[1]}×{gray.shape[0]}, too small for a digit")
    ink, paper = _ink_bright(gray)
    if int(ink.max()) - int(ink.min()) < MIN_CONTRAST:
        raise DataError(f"{name}: no digit found (blank image)")
    _, mask = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = _drop_specks(mask)
    ys, xs = np.nonzero(mask)
    if len(ys) < MIN_INK_PIXELS:
        raise DataError(f"{name}: no digit found (too little ink)")
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    # Keep the grey levels of the strokes (anti-aliasing matters to the model), minus the paper.
    crop = np.clip(ink[top:bottom, left:right].astype(np.float32) - paper, 0, None)
    if float(crop.max()) <= 0.0:
        raise DataError(f"{name}: no digit found (no ink brighter than the paper)")
    crop *= 255.0 / float(crop.max())
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    scaled = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    return _center_by_mass(scaled)


def _ink_bright(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the image with ink bright. The border is mostly paper, and ink pulls the image's mean
    away from the paper's grey level: below it for dark ink, above it for light ink.
    Returns the ink-bright image and its paper level."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    if float(gray.mean()) < paper:
        return 255 - gray, 255.0 - paper
    return gray, paper


def _drop_specks(mask: np.ndarray) -> np.ndarray:
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= SPECK_FRACTION * areas.max()) + 1
    return np.where(np.isin(labels, keep), 255, 0).astype(np.uint8)


def _center_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place a float image (h, w ≤ 20) into 28×28 so its intensity centre of mass is the centre."""
    canvas = np.zeros((SIDE, SIDE), dtype=np.float32)
    height, width = digit.shape
    total = float(digit.sum())
    rows, cols = np.indices(digit.shape)
    center_y = float((rows * digit).sum()) / total if total else (height - 1) / 2
    center_x = float((cols * digit).sum()) / total if total else (width - 1) / 2
    # MNIST's centres of mass sit at (14.0, 14.0) in pixel-index coordinates (measured on its
    # training set), not at the geometric centre 13.5.
    top = int(np.clip(round(SIDE / 2 - center_y), 0, SIDE - height))
    left = int(np.clip(round(SIDE / 2 - center_x), 0, SIDE - width))
    canvas[top : top + height, left : left + width] = digit
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def to_mnist_format(images: np.ndarray, name: str = "dataset") -> np.ndarray:
    """Bring a whole dataset's digits to the models' input format.

    images: (N, H, W) uint8, ink bright on black (the `DigitSet` convention), e.g. USPS's 16×16.
    Returns (N, 28, 28) uint8: unchanged if already 28×28, else each digit through `normalize_digit`
    after a 2-pixel black margin (digits that touch the frame would otherwise hide the paper)."""
    if images.shape[1:] == (SIDE, SIDE):
        return images
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return np.stack([normalize_digit(image, f"{name}[{i}]") for i, image in enumerate(padded)])
