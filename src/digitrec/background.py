"""The paper under a digit: its polarity, level, lighting and noise, and the ink as a signal above
it — step 1 of `digitrec.preprocess.normalize_digit`.

The paper's level is fitted robustly (ink is the outlier): a plane through the image's border for
the polarity, started from the border's tightest half of grey levels (a digit that fills its frame
may ink half of the border), then, among the pixels Otsu's threshold calls paper, a constant or —
when the light is uneven — a quadratic surface. The noise is measured on paper away from the
strokes. Statistics come from about 4,096 evenly spread pixels, so big images stay cheap.
"""

from functools import lru_cache
from typing import Literal, NamedTuple

import numpy as np

UNEVEN_LIGHT = 0.15  # flatten the paper when its fitted level varies by this share of contrast
MIN_CLEAR_PAPER = 2  # paper pixels clear of the ink needed to measure the noise on them alone

Ink = Literal["auto", "dark", "bright", "signal"]


def ink_signal(gray: np.ndarray, ink: Ink = "auto") -> tuple[np.ndarray, float]:
    """The ink as a bright signal over paper at 0, and the paper's noise sigma (grey levels).

    gray: (H, W) uint8. Returns (H, W) float32 and a float. Polarity: the paper's level is fitted
    as a plane through the border (lit unevenly at most smoothly), from a start on the border's
    shortest half (`_shortest_half`: the paper's grey levels are tight, the ink's spread, so the
    start is paper even when a digit filling its frame inks half of the border, or a little
    more; a least-squares start there lands between paper and ink, and the polarity flips); ink
    pulls the image's mean away from the plane, down for dark ink, up for light.
    The paper's level is then the median of the pixels Otsu's threshold calls paper, or, when
    a quadratic surface fitted to them varies by more than UNEVEN_LIGHT of the contrast, that
    surface (dark ink is divided by it: shadows dim ink and paper alike). ink="signal": the image
    is already that signal (bright ink, paper at exactly 0); only the noise is measured."""
    image = gray.astype(np.float32)
    height, width = image.shape
    # Statistics from about 4,096 evenly spread pixels keep big images cheap.
    step = max(1, int(np.ceil(np.sqrt(height * width / 4096))))
    sample = image[::step, ::step].ravel()
    if ink == "signal":  # already bright ink over paper at exactly 0: nothing to estimate
        return image, _noise_sigma(image, step, _otsu_paper(sample))
    grid = _grid(height, width, step)
    border = _border_values(image)
    plane = _robust_fit(_border_terms(height, width), border, _shortest_half(border))
    residual = sample - grid.plane_terms @ plane
    dark = ink == "dark" or (ink == "auto" and float(residual.mean()) <= 0.0)
    sign = -1.0 if dark else 1.0
    inkness = sign * residual
    paper = _otsu_paper(inkness)
    values = sample[paper]
    noise = _noise_sigma(image, step, paper)
    if values.size >= 50:
        low, high = float(values.min()), float(values.max())
        uneven = UNEVEN_LIGHT * max(percentile(inkness, 99.5) - percentile(inkness[paper], 50), 1.0)
        surface = None
        # The fitted surface is clipped to the paper samples' range: a range within `uneven`
        # cannot show uneven light, and is not fitted; nor is it when nine tenths of the paper
        # lie within half of `uneven` (clean scans and drawings, whose range is only stretched
        # by a few anti-aliased stroke edges: a cheap test that spares them the fit).
        if high - low > uneven and _spread(values) > uneven / 2:
            surface = _robust_fit(grid.surface_terms[paper], values, np.ones(values.size, bool))
            if float(np.ptp(np.clip(grid.surface_terms @ surface, low, high))) <= uneven:
                surface = None
        if surface is not None:
            background = np.clip(_surface(surface, height, width), low, high)
            if dark:
                flat = (background - image) / np.maximum(background, 1.0) * 255.0
                noise *= 255.0 / max(percentile(values, 50), 1.0)  # scaled like the ink
            else:
                flat = image - background
            return flat.astype(np.float32), noise
    level = percentile(values if values.size else border, 50)
    return (sign * (image - level)).astype(np.float32), noise


def _otsu_paper(inkness: np.ndarray) -> np.ndarray:
    """Which of these ink-signal samples are clearly paper: under half of Otsu's threshold (the
    anti-aliased edges of strokes stay out), or under it when that leaves too few."""
    import cv2

    low, high = float(inkness.min()), float(inkness.max())
    scaled = ((inkness - low) * (255.0 / max(high - low, 1e-6))).astype(np.uint8)
    split, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    paper: np.ndarray = scaled <= split / 2
    if paper.sum() < 50:
        paper = scaled <= split
    return paper


class _Grid(NamedTuple):
    """Polynomial terms of the sampled pixels' normalized coordinates: (N, 3) for a plane, (N, 6)
    for a quadratic surface."""

    plane_terms: np.ndarray
    surface_terms: np.ndarray


@lru_cache(maxsize=32)
def _grid(height: int, width: int, step: int) -> _Grid:
    """The terms of the pixels `image[::step, ::step]`, in that (raveled) order. Cached: a
    server sees the same few image sizes again and again."""
    rows, cols = np.mgrid[0:height:step, 0:width:step]
    surface = _terms(rows.ravel() / height, cols.ravel() / width, 2)
    surface.flags.writeable = False
    plane = np.ascontiguousarray(surface[:, :3])
    plane.flags.writeable = False
    return _Grid(plane, surface)


def _border_values(image: np.ndarray) -> np.ndarray:
    """The image's outermost pixels, in `_border_terms`'s order."""
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


@lru_cache(maxsize=32)
def _border_terms(height: int, width: int) -> np.ndarray:
    """Plane terms of the outermost pixels' normalized coordinates (top row, bottom row, left
    column, right column)."""
    rows = np.concatenate([np.zeros(width), np.full(width, height - 1)])
    rows = np.concatenate([rows, np.arange(height), np.arange(height)])
    cols = np.concatenate([np.arange(width), np.arange(width), np.zeros(height)])
    cols = np.concatenate([cols, np.full(height, width - 1)])
    terms = _terms(rows / height, cols / width, 1)
    terms.flags.writeable = False
    return terms


def _terms(rows: np.ndarray, cols: np.ndarray, degree: int) -> np.ndarray:
    """Polynomial terms (N, 3) for a plane or (N, 6) for a quadratic surface."""
    rows, cols = rows.astype(np.float64), cols.astype(np.float64)
    columns = [np.ones_like(rows), rows, cols]
    if degree == 2:
        columns += [rows * rows, cols * cols, rows * cols]
    return np.stack(columns, axis=1)


def _robust_fit(terms: np.ndarray, values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Least-squares polynomial surface (terms from `_terms`) that ignores outliers (ink): fit on
    the points KEEP (bool, one per value) says, then refit up to twice more on the points within
    2.5 robust sigmas. Coordinates are normalized to [0, 1)."""
    if values.size and values.min() == values.max():  # flat (clean crops, synthetic paper)
        flat = np.zeros(terms.shape[1])
        flat[0] = float(values[0])
        return flat
    values = values.astype(np.float64)
    coefficients = np.zeros(terms.shape[1])
    for _ in range(3):
        chosen = terms[keep]
        # Normal equations: a 3×3 or 6×6 solve, much cheaper than lstsq on small problems.
        normal = chosen.T @ chosen + 1e-9 * np.eye(terms.shape[1])
        coefficients = np.linalg.solve(normal, chosen.T @ values[keep])
        residual = values - terms @ coefficients
        sigma = percentile(np.abs(residual[keep]), 50) * 1.4826
        inliers = np.abs(residual) < 2.5 * sigma + 2.0
        if inliers.sum() < 3 * terms.shape[1] or (inliers == keep).all():
            break
        keep = inliers
    return coefficients


def _shortest_half(values: np.ndarray) -> np.ndarray:
    """Which values lie in the shortest interval holding (just over) half of them: the densest
    cluster (Rousseeuw's "shorth"). Where the median of a border nearly half inked sits at the
    edge of the paper's grey levels, or past it in the ink, the shortest half sits among them;
    of two clusters equally tight (a binary image) it takes the larger."""
    order = np.sort(values)
    half = len(order) // 2 + 1
    widths = order[half - 1 :] - order[: len(order) - half + 1]
    start = int(np.argmin(widths))
    inside: np.ndarray = (values >= order[start]) & (values <= order[start + half - 1])
    return inside


def _surface(coefficients: np.ndarray, height: int, width: int) -> np.ndarray:
    """A quadratic surface from `_robust_fit` evaluated on the whole (height, width) grid."""
    rows = np.arange(height, dtype=np.float64)[:, None] / height
    cols = np.arange(width, dtype=np.float64)[None, :] / width
    c = coefficients
    surface = c[0] + c[1] * rows + c[2] * cols + c[3] * rows**2 + c[4] * cols**2
    result: np.ndarray = (surface + c[5] * rows * cols).astype(np.float32)
    return result


def percentile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) with its default linear interpolation, without its overhead
    (this module takes several per image, on small arrays). values: non-empty, no NaN.

    Always two order statistics at once: numpy's (2.4) partition around a single index is far
    slower on arrays with many equal values (the paper of a clean image); around two it is not."""
    flat = values.ravel()
    index = q / 100.0 * (flat.size - 1)
    low = int(index)
    fraction = index - low
    high = min(low + 1, flat.size - 1)
    part = np.partition(flat, (low, high))
    a, b = float(part[low]), float(part[high])
    return a + (b - a) * fraction if fraction else a


def _spread(values: np.ndarray) -> float:
    """The range of the middle 90% of VALUES (their 5th to 95th percentile)."""
    return percentile(values, 95) - percentile(values, 5)


_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def _noise_sigma(image: np.ndarray, step: int, paper: np.ndarray) -> float:
    """Immerkær's estimate of Gaussian noise sigma (1996), over the sampled paper pixels: the
    filter cancels smooth shading, and its response to pure noise has sigma 6·sigma.

    Only paper pixels whose whole 3×3 neighbourhood (on the sample grid) is paper count: next to
    a stroke the filter answers the ink's edge, not noise, and in a tight crop or a binary image
    most of the paper is next to a stroke (its edges alone read as a sigma of tens of grey
    levels, and the digit as "nothing stands out"). With fewer than MIN_CLEAR_PAPER of them (a
    crop a few pixels wide, whose one "clear" pixel may be an anti-aliased edge) all paper
    pixels count, an upper bound; but an image of two grey levels (a binary scan) has no noise
    at all."""
    import cv2

    response = np.abs(cv2.filter2D(image, -1, _NOISE_KERNEL))[::step, ::step]
    grid = paper.reshape(response.shape).view(np.uint8)
    clear = cv2.erode(grid, np.ones((3, 3), np.uint8)) > 0  # outside the image counts as paper
    if clear.sum() < MIN_CLEAR_PAPER:
        if np.unique(image[::step, ::step]).size <= 2:
            return 0.0
        clear = grid > 0
    chosen = response[clear]
    if chosen.size == 0:
        return 0.0
    return float(chosen.mean()) * float(np.sqrt(np.pi / 2)) / 6.0
