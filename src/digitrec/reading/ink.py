"""A page's ink: polarity, uneven lighting flattened, a binary ink mask, the line's skew undone.

Everything after this step works on a level line of bright ink on a black page, at most WORK_SIDE
pixels on its longer side (a 12-megapixel photo costs what a 4-megapixel one does);
`PageInk.to_page` maps boxes found there back to the coordinates of the image the user gave.
"""

from dataclasses import dataclass

import numpy as np

from digitrec.errors import DataError

WORK_SIDE = 2000  # pixels: a page's longer side is read at most this big (larger pages shrink)
PAPER_WINDOW = 6  # the paper level: a grey opening this many times narrower than the page (chosen on validation: scripts/choose_paper_window.py)
MIN_LEAN = 1.0  # grey levels the ink must pull the mean from the median to decide the polarity
MIN_BORDER_CONTRAST = 64  # grey levels a scan's dark margin lies below the paper, at least
MIN_CONTRAST_SHARE = 0.08  # ink this share of 255 brighter than the flattened paper or less: blank
INK_PIXELS = 400  # the blank test looks at the brightest 0.5% of the pixels, or this many
MAX_SKEW = 6.0  # degrees either way searched for the line's rotation
SKEW_STEP = 0.5  # degrees
MIN_SKEW = 0.75  # smaller rotations are left alone (digits tolerate them; resampling blurs)
# A rotation is undone only when it sharpens the row profile this much. A long form line does
# (x1.37 on a 4° underlined page); a few digits alone barely do (x1.00-1.07 on 15 pages), and
# there the best angle is noise — while digits read fine a few degrees off.
MIN_SKEW_GAIN = 1.15


@dataclass(frozen=True)
class PageInk:
    ink: np.ndarray  # (H, W) float32 in [0, 1]: ink bright, paper 0, deskewed
    mask: np.ndarray  # (H, W) bool: which pixels are ink
    stroke: float  # typical stroke width of the ink, pixels
    skew: float  # degrees the page was turned to level the line
    inverse: np.ndarray  # (2, 3) affine from these coordinates back to the user's image (the
    # skew undone, and the shrink to WORK_SIDE)
    shape: tuple[int, int]  # the user's image (H, W)

    def to_page(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box (x, y, w, h) here -> the box (x, y, w, h) covering it in the user's image."""
        x, y, w, h = box
        corners = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], float)
        points = corners @ self.inverse.T
        left, top = np.floor(points.min(0)).astype(int)
        right, bottom = np.ceil(points.max(0)).astype(int)
        height, width = self.shape
        left, top = max(0, int(left)), max(0, int(top))
        right, bottom = min(width, int(right)), min(height, int(bottom))
        return left, top, max(1, right - left), max(1, bottom - top)


def page_ink(gray: np.ndarray, name: str = "image") -> PageInk:
    """gray: (H, W) uint8 page, dark ink on light paper or light on dark, any lighting.
    Raises DataError for a page with no ink on it."""
    import cv2

    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected (H, W) uint8, got {gray.dtype} {gray.shape}")
    if min(gray.shape) < 4:
        raise DataError(f"{name}: image is {gray.shape[1]}×{gray.shape[0]}, too small to read")
    given = gray.shape
    factor = min(1.0, WORK_SIDE / max(given))
    if factor < 1.0:
        size = (max(4, round(given[1] * factor)), max(4, round(given[0] * factor)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    flat = _flat_ink(_without_scan_borders(gray).astype(np.float32))
    smooth = cv2.GaussianBlur(flat, (0, 0), 0.7)
    level = _top_level(smooth)
    if level < MIN_CONTRAST_SHARE * 255:
        raise DataError(f"{name}: no ink found (blank page)")
    ink = np.clip(smooth / float(smooth.max()), 0, 1).astype(np.float32)
    threshold, _ = cv2.threshold((ink * 255).astype(np.uint8), 0, 255, cv2.THRESH_OTSU)
    # Otsu splits ink from paper; a page of pure noise has its threshold near the noise itself.
    threshold = max(float(threshold), MIN_CONTRAST_SHARE * 255 * 255 / float(smooth.max()))
    mask = ink * 255 > threshold
    if mask.sum() < 4:
        raise DataError(f"{name}: no ink found (too little ink)")
    skew = _skew(mask)
    height, width = gray.shape
    forward = cv2.getRotationMatrix2D((width / 2, height / 2), skew, 1.0)
    inverse = cv2.invertAffineTransform(forward) * [[given[1] / width], [given[0] / height]]
    if skew:
        ink = cv2.warpAffine(ink, forward, (width, height), flags=cv2.INTER_LINEAR)
        mask = ink * 255 > threshold
    return PageInk(ink, mask, _stroke_width(mask), skew, inverse, (given[0], given[1]))


def _without_scan_borders(gray: np.ndarray) -> np.ndarray:
    """gray: (H, W) uint8 as given. The scan's dark margins (`_scan_borders`), and a few pixels
    of their edge, painted over with the paper's grey, so that neither the polarity, nor the
    paper's estimate, nor the ink's threshold sees them."""
    import cv2

    _, dark = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    solid = _scan_borders(dark > 0)
    if not solid.any():
        return gray
    # A margin is far darker than the paper; the dark side of a shadow or a lighting gradient on
    # a photographed sheet is not, and painting it over would paint over the writing in it.
    if float(np.median(gray[~solid])) - float(np.median(gray[solid])) < MIN_BORDER_CONTRAST:
        return gray
    edge = max(3, round(0.02 * min(gray.shape)))
    solid = cv2.dilate(solid.astype(np.uint8), np.ones((2 * edge + 1,) * 2, np.uint8)) > 0
    if solid.all():
        return gray
    cleaned = gray.copy()
    cleaned[solid] = int(np.median(gray[~solid]))
    return cleaned


def _scan_borders(dark: np.ndarray) -> np.ndarray:
    """The dark margins of a scan (the table beyond the page, a book's gutter): dark components
    that touch one to three of the image's edges (a background touches all four), cover at least
    a twentieth of it and are solid — their widest inscribed disc at least 4% of the image's
    shorter side and three times that of every other sizeable dark component (the handwriting).
    A tight crop of one thick digit has no thinner ink beside it and stays.
    (H, W) bool -> (H, W) bool, True on the margins."""
    import cv2

    none = np.zeros_like(dark)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        dark.astype(np.uint8), connectivity=8
    )
    if count <= 2:
        return none
    height, width = dark.shape
    distance = cv2.distanceTransform(dark.astype(np.uint8), cv2.DIST_L2, 3)
    radius = np.zeros(count, np.float32)
    np.maximum.at(radius, np.asarray(labels).ravel().astype(np.intp), distance.ravel())
    x, y, w, h, area = (stats[:, i] for i in range(5))
    edges = (x == 0).astype(int) + (y == 0) + (x + w == width) + (y + h == height)
    solid = (edges >= 1) & (edges <= 3) & (area >= height * width / 20)
    solid &= radius >= 0.04 * min(height, width)
    solid[0] = False
    others = radius[1:][(area[1:] >= 16) & ~solid[1:]]
    if not solid.any() or not others.size:
        return none
    solid &= radius >= 3.0 * float(others.max())
    return solid[labels] if solid.any() else none


def _top_level(flat: np.ndarray) -> float:
    """How bright the page's ink is: the level the brightest 0.5% of the pixels reach, or the
    brightest INK_PIXELS when that is fewer (a number on a large photographed sheet covers far
    less than 0.5% of it)."""
    count = max(1, min(round(0.005 * flat.size), INK_PIXELS))
    values = flat.ravel()
    return float(np.partition(values, values.size - count)[values.size - count])


def _flat_ink(gray: np.ndarray) -> np.ndarray:
    """The ink, bright on black, with the paper's lighting taken out (`_paper_level`). The
    polarity is `_ink_bright`'s (the mean against the median) where the ink leans the mean by
    MIN_LEAN grey levels or more. On a large sheet a small number cannot move the mean that far;
    there the polarity is the one in which the ink stands out of the paper most (`_top_level`)."""
    if abs(float(gray.mean()) - float(np.median(gray))) >= MIN_LEAN:
        bright = _ink_bright(gray)
        flat: np.ndarray = np.clip(bright - _paper_level(bright), 0, None)
        return flat
    flats: list[np.ndarray] = [
        np.clip(bright - _paper_level(bright), 0, None) for bright in (255.0 - gray, gray)
    ]
    return max(flats, key=_top_level)


def _ink_bright(gray: np.ndarray) -> np.ndarray:
    """Dark ink on light paper is inverted. Paper is most of a page, so the image's median is
    paper, and ink pulls the mean away from it: below it for dark ink, above it for light ink.
    (The border's median served as the paper's level before; a dark margin or a shadow along one
    edge fooled it.)"""
    return 255.0 - gray if float(gray.mean()) < float(np.median(gray)) else gray


def _paper_level(bright: np.ndarray) -> np.ndarray:
    """The paper's brightness at every pixel (a lighting gradient, a shadow): a grey opening with
    a window wider than any stroke, computed on a reduced image for speed."""
    import cv2

    height, width = bright.shape
    factor = max(1.0, min(height, width) / 48)
    small = cv2.resize(
        bright,
        (max(1, round(width / factor)), max(1, round(height / factor))),
        interpolation=cv2.INTER_AREA,
    )
    side = max(3, round(min(small.shape) / PAPER_WINDOW) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    paper = cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel)
    paper = cv2.blur(paper, (side, side))
    return cv2.resize(paper, (width, height), interpolation=cv2.INTER_LINEAR)


def _skew(mask: np.ndarray) -> float:
    """The rotation (degrees) that makes the row profile of the ink sharpest: a level line of
    digits, and above all a level underline or box edge, concentrates ink in fewest rows."""
    import cv2

    height, width = mask.shape
    factor = max(1.0, width / 400)
    small = cv2.resize(
        mask.astype(np.float32),
        (max(1, round(width / factor)), max(1, round(height / factor))),
        interpolation=cv2.INTER_AREA,
    )
    center = (small.shape[1] / 2, small.shape[0] / 2)
    scores = {}
    for angle in np.arange(-MAX_SKEW, MAX_SKEW + SKEW_STEP / 2, SKEW_STEP):
        matrix = cv2.getRotationMatrix2D(center, float(angle), 1.0)
        turned = cv2.warpAffine(small, matrix, (small.shape[1], small.shape[0]))
        scores[round(float(angle), 2)] = float(np.square(turned.sum(axis=1)).sum())
    best = max(scores, key=lambda angle: (scores[angle], -abs(angle)))
    if abs(best) < MIN_SKEW or scores[best] < MIN_SKEW_GAIN * scores[0.0]:
        return 0.0
    return best


def _stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width: twice the distance to the paper, read high in its distribution so
    thin form lines (a minority of ink) do not pull it down."""
    import cv2

    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    return max(1.0, 2.0 * float(np.percentile(distance[mask], 90)))
