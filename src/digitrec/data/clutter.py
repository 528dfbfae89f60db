"""What real pages put around a handwritten number, for synthetic pages that look like them.

Each function draws one kind of trouble seen in real scans and photos onto a page's ink layer or
its paper, from one seeded generator: separators and marks to ignore (`.` `,` `-` `/` `=`, leading
and trailing strokes, a currency sign), table rules and cell borders with bits of the
neighbouring cells, a scan's dark margin, patterned and ruled paper, faint or coloured ink, and
camera perspective. `data.synth.make_page` calls them when `SynthConfig.wild` is above 0.
"""

import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h


INNER_MARKS = ("dot", "comma", "dash", "slash")  # what stands between digits: 50.000, 12/05
OUTER_MARKS = ("dot", "comma", "dash", "slash", "equals", "stroke", "sign")  # before or after


def mark(height: int, pen: int, rng: np.random.Generator, inner: bool = False) -> np.ndarray:
    """A mark that is not a digit, drawn with the pen: (h, w) float32 ink in [0, 1]. Between
    digits (`inner`) a dot, comma, dash or slash; before or after them also an equals sign, a
    long stroke or a small currency-like sign; sized for digits `height` rows tall."""
    import cv2

    kind = rng.choice(INNER_MARKS if inner else OUTER_MARKS)
    side = max(4, height)
    canvas = np.zeros((side, side), np.float32)
    thickness = max(1, pen + int(rng.integers(0, 2)))

    def jitter(scale: float) -> float:
        return float(rng.uniform(-scale, scale)) * side

    def point(x: float, y: float) -> tuple[int, int]:
        return int(np.clip(x * side + jitter(0.04), 0, side - 1)), int(
            np.clip(y * side + jitter(0.04), 0, side - 1)
        )

    if kind == "dot":
        radius = max(1, thickness // 2 + 1)
        cv2.circle(canvas, point(0.5, 0.85), radius, 1.0, -1)
        return _trim(canvas, keep_rows=True)
    if kind == "comma":
        cv2.line(canvas, point(0.55, 0.8), point(0.4, 1.0), 1.0, thickness)
        return _trim(canvas, keep_rows=True)
    if kind == "dash":
        y = float(rng.uniform(0.4, 0.65))
        cv2.line(canvas, point(0.1, y), point(0.9, y + jitter(0.03) / side), 1.0, thickness)
    elif kind == "slash":  # taller than the digits, leaning further than most 1s
        tall = np.zeros((int(side * 1.35), side), np.float32)
        top = (int(side * rng.uniform(0.85, 1.0)) - 1, 0)
        cv2.line(tall, top, (int(side * rng.uniform(0.0, 0.1)), tall.shape[0] - 1), 1.0, thickness)
        return _trim(tall, keep_rows=True)
    elif kind == "equals":
        cv2.line(canvas, point(0.1, 0.4), point(0.9, 0.4), 1.0, thickness)
        cv2.line(canvas, point(0.1, 0.62), point(0.9, 0.62), 1.0, thickness)
    elif kind == "stroke":  # the long pen stroke written after an amount so nothing can be added
        wide = np.zeros((side, side * int(rng.integers(2, 5))), np.float32)
        y = float(rng.uniform(0.45, 0.8)) * side
        cv2.line(wide, (0, int(y)), (wide.shape[1] - 1, int(y + jitter(0.1))), 1.0, thickness)
        return _trim(wide, keep_rows=True)
    else:  # a currency-like sign: an S or a C with one or two bars
        cv2.ellipse(canvas, point(0.5, 0.5), (side // 4, side // 3), 0, 40, 320, 1.0, thickness)
        cv2.line(canvas, point(0.5, 0.05), point(0.5, 0.95), 1.0, thickness)
    return _trim(canvas, keep_rows=True)


def _trim(canvas: np.ndarray, keep_rows: bool) -> np.ndarray:
    """Crop to the ink's columns (and rows unless keep_rows: a dot keeps its place low in the
    line)."""
    cols = np.flatnonzero(canvas.max(axis=0) > 0)
    if not len(cols):
        return canvas[:, :1]
    out = canvas[:, cols[0] : cols[-1] + 1]
    if not keep_rows:
        rows = np.flatnonzero(out.max(axis=1) > 0)
        out = out[rows[0] : rows[-1] + 1]
    return out


def cell_rules(
    ink: np.ndarray, boxes: list[Box], height: int, rng: np.random.Generator
) -> np.ndarray:
    """A table cell around the number: rules on some of its sides at some distance (printed:
    thin, straight, full length), a line under the number written with the pen now and then.
    Returns the ink layer, grown by the cell's margins."""
    import cv2

    sides = rng.random(4) < (0.55, 0.4, 0.35, 0.6)  # top, bottom, left, right
    top_pad, bottom_pad, left_pad, right_pad = (
        int(rng.integers(0, max(2, int(height * f)))) for f in (1.2, 1.2, 1.5, 1.5)
    )
    if sides[2] or sides[3]:  # a table's rule runs past the writing: never a digit's height (a 1)
        top_pad, bottom_pad = max(top_pad, height // 5), max(bottom_pad, height // 5)
    grown = np.pad(ink, ((top_pad, bottom_pad), (left_pad, right_pad)))
    for index, box in enumerate(boxes):
        x, y, w, h = box
        boxes[index] = (x + left_pad, y + top_pad, w, h)
    rows, cols = grown.shape
    strength = float(rng.uniform(0.4, 1.0))
    thickness = int(rng.integers(1, max(2, height // 12) + 1))
    if sides[0]:
        cv2.line(grown, (0, 0), (cols - 1, 0), strength, thickness)
    if sides[1]:
        cv2.line(grown, (0, rows - 1), (cols - 1, rows - 1), strength, thickness)
    if sides[2]:
        cv2.line(grown, (0, 0), (0, rows - 1), strength, thickness)
    if sides[3]:
        cv2.line(grown, (cols - 1, 0), (cols - 1, rows - 1), strength, thickness)
    if rng.random() < 0.3:  # the writer underlines the number
        bottom = max(b[1] + b[3] for b in boxes) + int(rng.integers(1, max(2, height // 5)))
        left = min(b[0] for b in boxes) - int(rng.integers(0, max(1, height // 3)))
        right = max(b[0] + b[2] for b in boxes) + int(rng.integers(0, max(1, height // 2)))
        bottom = min(rows - 1, bottom)
        cv2.line(
            grown,
            (max(0, left), bottom),
            (min(cols - 1, right), bottom - int(rng.integers(-2, 3))),
            1.0,
            max(1, height // 20),
        )
    return grown


def neighbour_bits(ink: np.ndarray, glyphs: list[np.ndarray], rng: np.random.Generator) -> None:
    """Pieces of the neighbouring cells' writing: other digits cut by the page's edge, above,
    below or beside the number, drawn into `ink` in place. A piece beside the number stands
    beyond a table's rule, as a neighbouring cell's does (alone, the sliver of a digit cut by
    the edge is a 1 in all but its label, and taught the reader to drop real 1s)."""
    import cv2

    rows, cols = ink.shape
    for _ in range(int(rng.integers(1, 3))):
        glyph = glyphs[int(rng.integers(len(glyphs)))]
        h, w = glyph.shape
        side = int(rng.integers(4))
        if side == 0:  # above: only its lower part shows
            y, x = -int(h * rng.uniform(0.7, 0.9)), int(rng.integers(0, max(1, cols - w)))
        elif side == 1:  # below
            y, x = rows - int(h * rng.uniform(0.1, 0.3)), int(rng.integers(0, max(1, cols - w)))
        elif side == 2:  # left
            y, x = int(rng.integers(0, max(1, rows - h))), -int(w * rng.uniform(0.7, 0.9))
        else:  # right
            y, x = int(rng.integers(0, max(1, rows - h))), cols - int(w * rng.uniform(0.1, 0.3))
        y0, x0 = max(0, y), max(0, x)
        y1, x1 = min(rows, y + h), min(cols, x + w)
        if y1 > y0 and x1 > x0:
            region = ink[y0:y1, x0:x1]
            np.maximum(region, glyph[y0 - y : y1 - y, x0 - x : x1 - x], out=region)
            if side >= 2:
                rule = min(cols - 1, x1 + 1) if side == 2 else max(0, x0 - 2)
                strength, thickness = float(rng.uniform(0.4, 1.0)), int(rng.integers(1, 3))
                cv2.line(ink, (rule, 0), (rule, rows - 1), strength, thickness)


def paper_texture(shape: tuple[int, int], height: int, rng: np.random.Generator) -> np.ndarray:
    """How much darker than plain paper each pixel is, in [0, 1]: a cheque's guilloche or wave
    pattern, ruled or squared paper, or grainy recycled paper. (H, W) float32."""
    import cv2

    rows, cols = np.indices(shape, dtype=np.float32)
    kind = rng.choice(["waves", "ruled", "squared", "grain"])
    if kind == "waves":
        period = float(rng.uniform(3, 12))
        angle = float(rng.uniform(0, np.pi))
        phase = np.cos(angle) * cols + np.sin(angle) * rows
        wobble = 3 * np.sin(rows / float(rng.uniform(10, 40)))
        waves: np.ndarray = 0.5 + 0.5 * np.sin((phase + wobble) / period * 2 * np.pi)
        return (waves * float(rng.uniform(0.05, 0.2))).astype(np.float32)
    if kind in ("ruled", "squared"):
        lines = np.zeros(shape, np.float32)
        step = max(6, int(height * rng.uniform(0.5, 1.5)))
        offset = int(rng.integers(step))
        lines[offset::step, :] = 1
        if kind == "squared":
            lines[:, offset::step] = 1
        ruled: np.ndarray = lines * float(rng.uniform(0.1, 0.3))
        return ruled
    noise = rng.normal(0, 1, shape).astype(np.float32)
    grain: np.ndarray = cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(0.7, 2.5)))
    textured: np.ndarray = np.clip(grain * float(rng.uniform(0.03, 0.08)) + 0.03, 0, 1)
    return textured


def scan_margin(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A scan's dark margin beside the page along one side (the table beyond it, a book's
    gutter), with a soft edge; the page grows by it, nothing written is covered.
    (H, W) uint8 -> (H', W') uint8."""
    import cv2

    rows, cols = page.shape
    side = int(rng.integers(4))
    depth = max(2, int(rng.uniform(0.05, 0.35) * (cols if side < 2 else rows)))
    dark = float(rng.uniform(0, 40))
    pad = [(0, 0), (0, 0)]
    pad[1 if side < 2 else 0] = (depth, 0) if side % 2 == 0 else (0, depth)
    shade = np.pad(np.zeros(page.shape, np.float32), pad, constant_values=1.0)
    soft: np.ndarray = cv2.GaussianBlur(shade, (0, 0), float(rng.uniform(0.5, 3)))
    grown = np.pad(page.astype(np.float32), pad, mode="edge")
    result: np.ndarray = np.clip(grown * (1 - soft) + dark * soft, 0, 255).astype(np.uint8)
    return result


def perspective(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A camera's slight perspective: each corner moved by up to 4% of the page's size."""
    import cv2

    rows, cols = page.shape
    corners = np.array([[0, 0], [cols - 1, 0], [cols - 1, rows - 1], [0, rows - 1]], np.float32)
    moved = corners + rng.uniform(-0.04, 0.04, (4, 2)).astype(np.float32) * np.array(
        [cols, rows], np.float32
    )
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    paper = int(np.median(page))
    warped: np.ndarray = cv2.warpPerspective(page, matrix, (cols, rows), borderValue=paper)
    return warped
