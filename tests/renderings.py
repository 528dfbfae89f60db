"""Hard renderings of real MNIST digits, as users' images: a thick brush in a corner, a thin
pen, a digit filling the frame, chalk on a board, a lighting gradient, noise, JPEG, broken strokes,
dust, a crop with no margin. Shared by tests/test_preprocess_robust.py and
benchmarks/preprocess_ablation.py. Each takes a 28×28 ink-bright digit and a seeded generator and
returns an (H, W) uint8 grayscale page."""

from collections.abc import Callable

import cv2
import numpy as np

Render = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def ink_at(digit: np.ndarray, scale: int) -> np.ndarray:
    """The digit as float ink in [0, 1], `scale`× bigger (cubic), cropped to its ink."""
    big = cv2.resize(
        digit.astype(np.float32) / 255, (28 * scale,) * 2, interpolation=cv2.INTER_CUBIC
    )
    big = big.clip(0, 1)
    ys, xs = np.nonzero(big > 0.1)
    return big[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def on_canvas(ink: np.ndarray, side: int, size: int, top: int, left: int) -> np.ndarray:
    """Ink scaled so its longer side is `size`, at (top, left) of a white side×side canvas."""
    scale = size / max(ink.shape)
    shape = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    small = cv2.resize(ink, shape, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((side, side), np.float32)
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return np.clip(255 * (1 - canvas), 0, 255).round().astype(np.uint8)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: the one-pixel centre line of a binary image's strokes."""
    image = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = image
            # The 8 neighbours P2..P9, clockwise from north.
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:]]
            n += [p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            count = sum(x.astype(np.int32) for x in n)
            ring = [*n, n[0]]
            rises = sum(((ring[k] == 0) & (ring[k + 1] == 1)).astype(np.int32) for k in range(8))
            p2, _, p4, _, p6, _, p8, _ = n
            if step == 0:
                clear = ((p2 * p4 * p6) == 0) & ((p4 * p6 * p8) == 0)
            else:
                clear = ((p2 * p4 * p8) == 0) & ((p2 * p6 * p8) == 0)
            remove = (p[1:-1, 1:-1] == 1) & (count >= 2) & (count <= 6) & (rises == 1) & clear
            if remove.any():
                image = image.copy()
                image[1:-1, 1:-1][remove] = 0
                changed = True
    return image[1:-1, 1:-1]


def clean(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 4× scan, dark ink on white, off-centre."""
    big = cv2.resize(255 - digit, (112, 112), interpolation=cv2.INTER_CUBIC)
    page = np.full((152, 202), 255, np.uint8)
    page[10:122, 70:182] = big
    return page


def corner_thick(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """60 pixels tall in the top-left corner of a 280×280 canvas, with a brush about 2.5 times
    MNIST's stroke width (small loops fill up)."""
    ink = cv2.dilate(ink_at(digit, 10), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (41, 41)))
    return on_canvas(ink, 280, 60, 8, 8)


def thin_pen(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Drawn with a 3-pixel pen on a 280×280 canvas: a fifth of MNIST's stroke width."""
    line = skeleton(ink_at(digit, 10) > 0.5).astype(np.float32)
    return on_canvas(cv2.dilate(line, np.ones((3, 3), np.uint8)), 280, 220, 30, 30)


def fill_frame(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Touching the frame: the longer side of the ink is the canvas side."""
    ink = ink_at(digit, 10)
    page = on_canvas(ink, 280, 280, 0, 0)
    shift = (280 - round(ink.shape[1] * 280 / max(ink.shape))) // 2
    return np.roll(page, shift, axis=1)


def light_on_dark(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Chalk on a board: ink about 245 on 65."""
    return (255 - clean(digit, rng) // 4 * 3 - 10).astype(np.uint8)


def gradient(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lit from the left: the paper falls from 244 to 73, darker than the ink on the left."""
    page = clean(digit, rng).astype(np.float32) * 0.8 + 40
    light = 1.0 - 0.7 * np.arange(page.shape[1], dtype=np.float32) / (page.shape[1] - 1)
    return np.clip(page * light, 0, 255).astype(np.uint8)


def noise(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise, sigma 30, and 2% salt and pepper."""
    page = clean(digit, rng).astype(np.float32) + rng.normal(0, 30, (152, 202))
    page = np.clip(page, 0, 255).astype(np.uint8)
    salt = rng.random(page.shape)
    page[salt < 0.01], page[salt > 0.99] = 0, 255
    return page


def jpeg(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Halved and saved as a JPEG at quality 15."""
    page = cv2.resize(clean(digit, rng), (101, 76), interpolation=cv2.INTER_AREA)
    _, encoded = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, 15])
    return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)


def broken(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two 5-pixel gaps across every stroke, as a dry pen leaves."""
    page = clean(digit, rng)
    rows = np.flatnonzero((page < 128).any(axis=1))
    for _ in range(2):
        row = int(rng.integers(rows.min() + 10, rows.max() - 10))
        page[row : row + 5] = 255
    return page


def dust(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """25 specks of 1-3 pixels radius anywhere on the page."""
    page = clean(digit, rng)
    for _ in range(25):
        center = (int(rng.integers(0, page.shape[1])), int(rng.integers(0, page.shape[0])))
        cv2.circle(page, center, int(rng.integers(1, 4)), 0, -1)
    return page


def no_margin(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cut to the ink with no paper around it, light on dark: the border is mostly ink."""
    page = clean(digit, rng)
    ys, xs = np.nonzero(page < 128)
    return 255 - page[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


RENDERINGS: dict[str, Render] = {
    "clean": clean,
    "corner_thick": corner_thick,
    "thin_pen": thin_pen,
    "fill_frame": fill_frame,
    "light_on_dark": light_on_dark,
    "gradient": gradient,
    "noise": noise,
    "jpeg": jpeg,
    "broken": broken,
    "dust": dust,
    "no_margin": no_margin,
}


def photographed_sheet(
    digits: np.ndarray, rng: np.random.Generator, width: int = 4000, height: int = 3000
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A phone photo of a sheet with one handwritten number on it (issue 21): the digits (28×28,
    ink bright) written dark side by side, each about a twentieth of the photo's height, at a
    random place of a sheet lit unevenly (a gradient across it, a soft shadow at one side) with
    sensor noise. Returns the (height, width) uint8 photo and the number's box (x, y, w, h)."""
    tall = max(20, round(height * rng.uniform(0.04, 0.06)))
    wide = round(tall * 0.75)
    strokes = [
        cv2.resize(d.astype(np.float32) / 255, (wide, tall), interpolation=cv2.INTER_CUBIC)
        for d in digits
    ]
    line = np.concatenate(strokes, axis=1).clip(0, 1)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 205 + 35 * xx / width - 25 * yy / height
    side = rng.integers(0, 2)
    shadow = 40 * np.clip(1 - (xx if side == 0 else width - xx) / (0.3 * width), 0, 1)
    paper = light - shadow
    top = int(rng.integers(height // 5, height - height // 5 - tall))
    left = int(rng.integers(width // 10, width - width // 10 - line.shape[1]))
    region = paper[top : top + tall, left : left + line.shape[1]]
    paper[top : top + tall, left : left + line.shape[1]] = region * (1 - 0.85 * line)
    photo = (paper + rng.normal(0, 3, paper.shape)).clip(0, 255).astype(np.uint8)
    return photo, (left, top, line.shape[1], tall)
