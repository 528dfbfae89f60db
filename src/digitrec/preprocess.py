"""The one preprocessing function: any grayscale digit image -> a 28×28 MNIST-style digit.

Training data from folders, the CLI, the Python API, the web app and the number reader's digit
candidates all call `normalize_digit`, so a digit a user draws goes through exactly the code the
evaluation measured.

The steps, in order (each is one function, here or in `digitrec.background`):
1. `background.ink_signal`: polarity (dark ink on light paper, or light on dark) and the paper's level
   — a constant, or a smooth surface when the light is uneven — so that ink is bright, paper 0;
   also when the digit fills its frame and inks up to about half of its border.
2. Denoise (a 3×3 median) only when the paper is noisy compared with the ink's contrast.
3. `ink_mask`: Otsu's threshold on the (lightly smoothed) ink signal; the ink components that
   belong to the digit are kept — broken strokes near the main body stay, specks and far-away
   marks go.
4. Crop to the kept ink, grey levels scaled so the stroke core is 1.0 (anti-aliasing kept).
5. At a working size (the longer side 4× the 20-pixel box), strokes thinner or thicker than
   most of MNIST's are thickened or thinned into its range, and when the digit is in pieces
   the smallest gaps that join it are closed.
6. Optional moment deskew (off by default: it did not help the shipped model on validation).
7. Scaled into a 20×20 box keeping the aspect ratio and placed in 28×28 with the centre of mass
   at MNIST's (14.0, 14.0), to a quarter pixel; area averaging gives MNIST's anti-aliasing.

What each step is worth, on MNIST validation digits rendered hard ways and USPS train/val
digits as PNG files: benchmarks/preprocess_ablation.py; on real digits that fill their frame
(CVL, tight, binary, thick, 15×16, coloured ink), beside the textbook pipeline:
benchmarks/tight_crops.py. The tests: tests/test_preprocess_robust.py.
"""

import numpy as np

from digitrec.background import Ink, ink_signal, percentile
from digitrec.errors import DataError

SIDE = 28  # output side, as MNIST
BOX = 20  # the digit's longer side is scaled to this, as MNIST
WORK = 4 * BOX  # the longer side at which strokes are measured and adjusted
BOX_LEVEL = 0.05  # ink above this (of the stroke core) counts for the bounding box
MAX_SIDE = 1024  # bigger images are first shrunk to this longer side (a digit needs no more)
MNIST_STROKE_WIDTH = 2.45  # median stroke width of MNIST training digits, 20-px box pixels
# Its 10th and 90th percentiles: strokes within are left alone, others brought to the nearer one.
MNIST_STROKE_RANGE = (1.75, 3.45)
MIN_CONTRAST = 32  # grey levels between paper and ink below which an image is blank
MIN_SIGNAL_TO_NOISE = 6.0  # the ink's level over the paper's noise sigma, below: no digit
MIN_INK_PIXELS = 4  # fewer ink pixels than this is a blank, not a digit
MIN_DIGIT_SIDE = 6  # ink smaller than this (pixels, longer side) is a speck, not a digit
SPECK_FRACTION = 0.05  # ink components smaller than this share of the largest are noise
NEAR_FRACTION = 0.5  # a piece this close to the digit (× the largest piece's size) belongs to it
NOISE_LIMIT = 0.04  # denoise when the paper's noise sigma exceeds this share of the contrast
MAX_GAP_RADIUS = 6  # working pixels (1.5 box pixels): the widest break closed in a stroke
# A dot: its longer side under DOT_SIZE of the image's shorter side, and its short/long side,
# ink/box and ink/convex hull ratios all at least these.
DOT_SIZE, DOT_ASPECT, DOT_FILL, DOT_SOLIDITY = 0.15, 0.5, 0.6, 0.85


def normalize_digit(
    gray: np.ndarray, name: str = "image", *, ink: Ink = "auto", deskew: bool = False
) -> np.ndarray:
    """Normalize one digit image the way MNIST was made.

    gray: (H, W) uint8, dark ink on light paper or light ink on dark, any size (a 15×16 scan
    too), grey or binary, with a margin of paper or cut tight so the ink touches the frame.
    ink: "auto" detects the polarity; "dark" or "bright" say it (for crops with little paper);
    "signal": the image is already bright ink over paper at exactly 0 (the reader's crops), so
    the paper's level and lighting are not estimated.
    deskew: shear the digit upright by its second moments first.
    Returns (28, 28) uint8, ink bright (up to 255) on black, the ink's bounding box scaled to fit
    20×20 keeping its aspect ratio, then shifted so its centre of mass is the image centre.
    Raises DataError when there is no digit to normalize (blank, nearly blank, noise or a dot)."""
    import cv2

    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected (H, W) uint8, got {gray.dtype} {gray.shape}")
    if ink not in ("auto", "dark", "bright", "signal"):
        raise ValueError(f"ink must be 'auto', 'dark', 'bright' or 'signal', got {ink!r}")
    if min(gray.shape) < 2:
        raise DataError(f"{name}: image is {gray.shape[1]}×{gray.shape[0]}, too small for a digit")
    if int(gray.max()) - int(gray.min()) < MIN_CONTRAST:
        raise DataError(f"{name}: no digit found (blank image)")
    signal, noise = ink_signal(_shrink(gray), ink)
    contrast = percentile(signal, 99.5)
    # At or over: with under 0.5% of the pixels inked (contrast 0), specks go even on clean paper.
    if noise >= NOISE_LIMIT * contrast and min(signal.shape) >= 16:
        signal = cv2.medianBlur(signal, 3)
        noise *= 0.6  # a 3×3 median of Gaussian noise keeps about this much of its sigma
    mask = ink_mask(signal)
    if cv2.countNonZero(mask) < MIN_INK_PIXELS:
        raise DataError(f"{name}: no digit found (too little ink)")
    level = percentile(signal[mask > 0], 90)  # the stroke core's brightness
    if level < max(MIN_CONTRAST, MIN_SIGNAL_TO_NOISE * noise):
        raise DataError(f"{name}: no digit found (nothing stands out from the paper's noise)")
    left, top, width, height = cv2.boundingRect(mask)
    bottom, right = top + height, left + width
    if _is_dot(mask[top:bottom, left:right], mask.shape):
        raise DataError(f"{name}: no digit found (a dot, not a digit)")
    # Ink grey levels within one pixel of the kept components (anti-aliased edges), 0 elsewhere;
    # paper noise below a floor goes to 0, the stroke core to 1.
    near = cv2.dilate(mask[top:bottom, left:right], np.ones((3, 3), np.uint8)) > 0
    floor = min(3.0 * noise, 0.3 * level)
    crop = np.where(near, signal[top:bottom, left:right], 0.0)
    crop = np.clip((crop - floor) / (level - floor), 0.0, 1.0).astype(np.float32)
    work = _to_working_size(crop)
    work = normalize_stroke_width(work)
    work = close_gaps(work)
    if deskew:
        work = deskew_by_moments(work)
    return _box_and_center(work, name)


def ink_mask(signal: np.ndarray) -> np.ndarray:
    """The digit's ink: (H, W) float32 ink signal -> (H, W) uint8 mask, 255 on kept ink.

    Otsu's threshold on the signal (smoothed a little when the image is big enough to afford
    it), then the ink components of the digit: the largest, plus every other of at least
    SPECK_FRACTION of its area lying within NEAR_FRACTION of its size from the kept ones (the
    pieces of a broken stroke); specks and far-away marks are dropped."""
    import cv2

    smooth = cv2.GaussianBlur(signal, (0, 0), 1.0) if min(signal.shape) >= 32 else signal
    top = max(float(smooth.max()), 1e-6)
    scaled = np.clip(smooth * (255.0 / top), 0, 255).astype(np.uint8)
    _, mask = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # Grana's block-based algorithm: the same components as the default, faster on small masks.
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_BBDT
    )
    if count <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    order = np.argsort(areas)[::-1]
    boxes = stats[1:, :4].astype(np.int64)  # x, y, w, h
    x, y, w, h = boxes[order[0]]
    reach = NEAR_FRACTION * max(w, h)
    kept = [int(order[0])]
    union = [x, y, x + w, y + h]
    candidates = [int(i) for i in order[1:] if areas[i] >= SPECK_FRACTION * areas[order[0]]]
    grew = True
    while grew:  # pieces near the digit join it, and may bring further pieces within reach
        grew = False
        for index in list(candidates):
            x, y, w, h = boxes[index]
            gap_x = max(union[0] - (x + w), x - union[2], 0)
            gap_y = max(union[1] - (y + h), y - union[3], 0)
            if max(gap_x, gap_y) <= reach:
                kept.append(index)
                candidates.remove(index)
                union = [
                    min(union[0], x),
                    min(union[1], y),
                    max(union[2], x + w),
                    max(union[3], y + h),
                ]
                grew = True
    return np.where(np.isin(labels, np.asarray(kept) + 1), 255, 0).astype(np.uint8)


def stroke_width(mask: np.ndarray) -> float:
    """The typical stroke width of a binary mask at the working size, in 20-px-box pixels.

    mask: (h, w) uint8, nonzero on ink. Across a stroke w pixels wide the distance transform
    runs 1, 2, ..., 2, 1, whose mean is (w + 2) / 4, so w = 4 · mean − 2 over the ink."""
    import cv2

    distance = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 5)
    inside = distance[mask > 0]
    if inside.size == 0:
        return 0.0
    return (4.0 * float(inside.mean()) - 2.0) * BOX / WORK


def normalize_stroke_width(work: np.ndarray) -> np.ndarray:
    """Thicken strokes thinner than most of MNIST's, thin those thicker, to the nearer end of
    MNIST_STROKE_RANGE. (Bringing every digit to the median width cost accuracy on ordinary
    digits: the model knows MNIST's spread of widths, not one width.)

    work: (h, w) float32 ink in [0, 1] at the working size (longer side WORK); returns the same,
    grey-level dilated or eroded (anti-aliased edges stay soft)."""
    import cv2

    mask = (work > 0.5).astype(np.uint8)
    if not mask.any():
        return work
    width = stroke_width(mask)
    low, high = MNIST_STROKE_RANGE
    if low <= width <= high:
        return work
    target = min(max(width, low), high)
    radius = round(abs(target - width) * WORK / BOX / 2)  # per side, working px
    if radius == 0:
        return work
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    if width < MNIST_STROKE_WIDTH:
        padded = _pad(work, radius)  # room for the strokes to grow at the edges
        thick: np.ndarray = cv2.dilate(padded, kernel)
        return thick
    thinned: np.ndarray = cv2.erode(work, kernel)
    if (thinned > 0.5).sum() < 0.2 * mask.sum():  # a blob, not strokes: erosion would erase it
        return work
    return thinned


def close_gaps(work: np.ndarray) -> np.ndarray:
    """When the digit is in pieces, close the smallest gaps that join it into one (a morphological
    closing of growing radius, up to MAX_GAP_RADIUS working pixels); a whole digit is untouched.
    work: (h, w) float32 ink in [0, 1].

    The radius is searched on the ink mask (work > 0.5): flat closings commute with thresholds,
    so closing the mask gives exactly the mask of the closed grey image, at a fraction of the
    cost; the grey image is closed once, at the radius found."""
    import cv2

    if MAX_GAP_RADIUS < 1 or _pieces(work) <= 1:  # 0: closing off (the ablation benchmark)
        return work
    padded = _pad(work, MAX_GAP_RADIUS)
    mask = (padded > 0.5).astype(np.uint8)
    for radius in range(1, MAX_GAP_RADIUS + 1):
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        if _mask_pieces(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)) <= 1:
            break
    closed: np.ndarray = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)
    return closed


def deskew_by_moments(work: np.ndarray) -> np.ndarray:
    """Shear the ink so its principal axis is vertical (the classic MNIST deskew).
    work: (h, w) float32 ink in [0, 1] -> same, wider by the shear."""
    import cv2

    moments = cv2.moments(work)
    if moments["mu02"] < 1e-2 or moments["m00"] <= 0:
        return work
    skew = moments["mu11"] / moments["mu02"]
    height = work.shape[0]
    center_y = moments["m01"] / moments["m00"]
    pad = int(abs(skew) * height) + 1
    padded = np.pad(work, ((0, 0), (pad, pad)))
    shear = np.array([[1.0, skew, -skew * center_y], [0.0, 1.0, 0.0]], np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    upright: np.ndarray = cv2.warpAffine(padded, shear, (padded.shape[1], height), flags=flags)
    return upright


def _shrink(gray: np.ndarray) -> np.ndarray:
    import cv2

    if max(gray.shape) <= MAX_SIDE:
        return gray
    scale = MAX_SIDE / max(gray.shape)
    size = (max(2, round(gray.shape[1] * scale)), max(2, round(gray.shape[0] * scale)))
    small: np.ndarray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return small


def _to_working_size(crop: np.ndarray) -> np.ndarray:
    """(h, w) float32 crop -> the longer side WORK, in [0, 1], with a margin of WORK / 8."""
    import cv2

    height, width = crop.shape
    scale = WORK / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    work = np.clip(cv2.resize(crop, size, interpolation=method), 0.0, 1.0)
    return _pad(work, WORK // 8)


def _pad(image: np.ndarray, margin: int) -> np.ndarray:
    """np.pad(image, margin) (zeros), without np.pad's overhead on small images."""
    import cv2

    padded: np.ndarray = cv2.copyMakeBorder(
        image, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0
    )
    return padded


def _box_and_center(work: np.ndarray, name: str) -> np.ndarray:
    """Scale the ink so its longer side is the 20-px box (at 4× resolution), place it in a 4×
    canvas with its centre of mass at MNIST's (14.0, 14.0) to a quarter pixel, and shrink 4× by
    area averaging, which keeps the centre of mass and gives MNIST's anti-aliased edges."""
    import cv2

    left, top, width, height = cv2.boundingRect((work > BOX_LEVEL).view(np.uint8))
    if width == 0:
        raise DataError(f"{name}: no digit found (too little ink)")
    work = work[top : top + height, left : left + width]
    fine = WORK // BOX  # canvas pixels per output pixel
    scale = WORK / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    digit = np.clip(cv2.resize(work, size, interpolation=method), 0.0, 1.0)
    # Output pixel i covers canvas pixels fine·i to fine·i + fine − 1: its centre is fine·i + 1.5.
    canvas = _center_by_mass(digit, SIDE * fine, (SIDE / 2) * fine + (fine - 1) / 2)
    small = cv2.resize(canvas, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    result: np.ndarray = np.clip(np.rint(small * 255.0), 0, 255).astype(np.uint8)
    return result


def _center_by_mass(digit: np.ndarray, side: int, center: float) -> np.ndarray:
    """Place a float image into a side×side canvas with its intensity centre of mass at pixel
    index (center, center), to the nearest pixel. MNIST's centres of mass sit at (14.0, 14.0) in
    pixel-index coordinates (measured on its training set), not at the geometric centre 13.5."""
    import cv2

    canvas = np.zeros((side, side), dtype=np.float32)
    height, width = digit.shape
    moments = cv2.moments(digit)  # in float64
    total = moments["m00"]
    center_y = moments["m01"] / total if total else (height - 1) / 2
    center_x = moments["m10"] / total if total else (width - 1) / 2
    top = min(max(round(center - center_y), 0), side - height)
    left = min(max(round(center - center_x), 0), side - width)
    canvas[top : top + height, left : left + width] = digit
    return canvas


def _is_dot(mask: np.ndarray, image_shape: tuple[int, ...]) -> bool:
    """A speck, or a small, compact, convex blob on a big page (a full stop, a tap of the pen):
    not a digit. Digits are not convex, save a 0 (which has a hole) and a 1 (long, or slanted
    and then not filling its box). mask: (h, w) uint8 cropped to the ink; image_shape: the
    whole image's."""
    import cv2

    height, width = mask.shape
    if max(height, width) < MIN_DIGIT_SIDE:
        return True
    if max(height, width) >= DOT_SIZE * min(image_shape):
        return False
    area = int((mask > 0).sum())
    if min(height, width) < DOT_ASPECT * max(height, width) or area < DOT_FILL * height * width:
        return False
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) != 1:  # pieces or holes
        return False
    hull = np.zeros_like(mask)
    cv2.fillConvexPoly(hull, cv2.convexHull(contours[0]), 255)
    return area >= DOT_SOLIDITY * int((hull > 0).sum())


def _pieces(work: np.ndarray) -> int:
    """How many ink components (work > 0.5) of at least SPECK_FRACTION of the largest's area."""
    return _mask_pieces((work > 0.5).astype(np.uint8))


def _mask_pieces(mask: np.ndarray) -> int:
    """`_pieces` of a uint8 mask (nonzero on ink)."""
    import cv2

    count, labels = cv2.connectedComponents(mask, connectivity=8)  # much cheaper than with stats
    areas = np.bincount(labels.ravel(), minlength=count)[1:]
    return int((areas >= SPECK_FRACTION * areas.max()).sum()) if len(areas) else 0


def to_mnist_format(images: np.ndarray, name: str = "dataset") -> np.ndarray:
    """Bring a whole dataset's digits to the models' input format.

    images: (N, H, W) uint8, ink bright on black (the `DigitSet` convention), e.g. USPS's 16×16.
    Returns (N, 28, 28) uint8: unchanged if already 28×28, else each digit through `normalize_digit`
    after a 2-pixel black margin (digits that touch the frame would otherwise hide the paper)."""
    if images.shape[1:] == (SIDE, SIDE):
        return images
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return np.stack(
        [normalize_digit(image, f"{name}[{i}]", ink="bright") for i, image in enumerate(padded)]
    )
