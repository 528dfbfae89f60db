"""Which ink is the line to read: form lines out of the ink mask (underlines, box edges and box
sides), then only the band of rows the writing stands in (`text_bands`).

A form line is long in one direction and thinner than the handwriting's strokes. Its pixels are
removed only where no stroke crosses it: there the run of ink across the line is no longer than
the line is thick, so a digit written over an underline keeps its crossing stroke.
"""

import numpy as np

DIGIT_PER_STROKE = 6.0  # a handwritten digit is about this many stroke widths tall (MNIST: 5-8)
LONG = 1.6  # a straight run this many digit heights long is a line whatever its thickness
THIN = 0.5  # a straight run thinner than this share of the stroke width is a form line ...
THIN_LENGTH = 0.6  # ... if it is at least this many digit heights long


def remove_form_lines(mask: np.ndarray, stroke: float) -> np.ndarray:
    """mask: (H, W) bool ink; stroke: typical stroke width in pixels. Returns the mask without
    form lines, (H, W) bool."""
    digit = DIGIT_PER_STROKE * stroke
    lines = np.zeros_like(mask)
    for axis in (1, 0):  # horizontal lines, then vertical ones
        across = run_lengths(mask, 1 - axis)
        for minimum, thickest in ((LONG * digit, np.inf), (THIN_LENGTH * digit, THIN * stroke)):
            straight = _straight(mask, axis, max(8, round(minimum)))
            thick = _thickness(straight, across)
            candidate = straight & (thick <= thickest)
            # Keep crossings: there the ink runs across the line for longer than the line is thick.
            lines |= candidate & (across <= np.maximum(thick + 2, 1.5 * thick))
    kept: np.ndarray = mask & ~lines
    return kept


def run_lengths(mask: np.ndarray, axis: int) -> np.ndarray:
    """For every ink pixel, the length of the run of ink it belongs to along `axis` (1: rows,
    0: columns); 0 on paper. (H, W) int32."""
    grid = mask if axis == 1 else mask.T
    padded = np.pad(grid, ((0, 0), (1, 1))).astype(np.int8)
    flat = padded.ravel()
    change = np.diff(flat)
    starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
    out = np.zeros(flat.shape, np.int32)
    lengths = (ends - starts).astype(np.int32)
    out[flat.astype(bool)] = np.repeat(lengths, lengths)
    runs = out.reshape(padded.shape)[:, 1:-1]
    return runs if axis == 1 else runs.T


def _straight(mask: np.ndarray, axis: int, length: int) -> np.ndarray:
    """Ink on straight runs at least `length` long along `axis` (a morphological opening).
    The ink is first widened by a pixel either side across the line, so a line a few degrees
    off level (a page scanned askew, too little for deskewing to undo) still counts."""
    import cv2

    size = (length, 1) if axis == 1 else (1, length)
    across = (1, 3) if axis == 1 else (3, 1)
    widened = cv2.dilate(mask.astype(np.uint8), np.ones(across[::-1], np.uint8))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, size)
    opened = cv2.morphologyEx(widened, cv2.MORPH_OPEN, kernel)
    straight: np.ndarray = opened.astype(bool) & mask
    return straight


def _thickness(straight: np.ndarray, across: np.ndarray) -> np.ndarray:
    """Per pixel of each straight piece, the piece's typical thickness: the median run of ink
    across it, over its pixels (crossing strokes are a minority of a long line's length)."""
    import cv2

    result = np.full(straight.shape, np.inf, np.float32)
    if not straight.any():
        return result
    count, labels = cv2.connectedComponents(straight.astype(np.uint8), connectivity=8)
    for label in range(1, count):
        pixels = labels == label
        result[pixels] = float(np.median(across[pixels]))
    return result


BAND_OVERLAP = 0.5  # a component joins the writing's band when this share of its rows is in it
SPECK = 0.02  # components under this share of the largest one's area never seed or widen it


def line_masks(mask: np.ndarray, stroke: float, count: int = 1) -> list[np.ndarray]:
    """The ink the reader may read: form lines removed, then up to `count` bands of rows the
    writing may stand in (`text_bands`), the likeliest first."""
    return text_bands(remove_form_lines(mask, stroke), count)


def text_band(mask: np.ndarray) -> np.ndarray:
    """The likeliest band of rows the writing stands in (`text_bands`' first)."""
    return text_bands(mask, 1)[0]


def text_bands(mask: np.ndarray, count: int) -> list[np.ndarray]:
    """Up to `count` bands of rows the writing may stand in, each as the ink in it, the
    likeliest first. A band grows from a seed component's rows, widened by every component with
    at least BAND_OVERLAP of its own rows in the band (digits of other sizes and baselines),
    again until nothing joins. Marks far above or below — printed text at a cell's foot, a
    neighbouring row's strokes — go, so they neither shrink the line when it is scaled nor are
    read as digits. Seeds are taken by stature (height × √width: handwriting stands taller than
    printed text beside it, and wider than a stray piece of a table rule), counting half when
    cut by the top or bottom edge (a neighbouring row's strokes); the next band's seed is the
    tallest component no earlier band holds. Stature alone can be fooled (a long flourish, a
    scan's dark edge, a note above the number): the line reader reads every band and keeps the
    one it reads most surely (`line_model.LineReader.read_best`). (H, W) bool -> (H, W) bool
    each; the whole mask when it has fewer than two components."""
    import cv2

    found, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    if found <= 2:
        return [mask]
    areas = stats[1:, cv2.CC_STAT_AREA]
    tops, heights = stats[1:, cv2.CC_STAT_TOP], stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    cut = (tops == 0) | (tops + heights == mask.shape[0])
    stature = heights * np.sqrt(widths) * np.where(cut, 0.5, 1.0)
    sizeable = areas >= SPECK * areas.max()
    bands: list[np.ndarray] = []
    held = np.zeros(len(areas), bool)
    for seed in np.argsort(-np.where(sizeable, stature, -1.0), kind="stable"):
        if len(bands) == count or not sizeable[seed]:
            break
        if held[seed]:
            continue
        keep = _band(tops, heights, sizeable, int(seed))
        held |= keep
        bands.append(np.concatenate([[False], keep])[labels])
    return bands


def _band(tops: np.ndarray, heights: np.ndarray, sizeable: np.ndarray, seed: int) -> np.ndarray:
    """Which components are in the band grown from `seed` (see `text_bands`)."""
    top, bottom = int(tops[seed]), int(tops[seed] + heights[seed])
    inside = np.zeros(len(tops), bool)
    inside[seed] = True
    grew = True
    while grew:
        overlap = np.minimum(tops + heights, bottom) - np.maximum(tops, top)
        joins = ~inside & sizeable & (overlap >= BAND_OVERLAP * heights)
        grew = bool(joins.any())
        inside |= joins
        top = min(top, int(tops[inside].min()))
        bottom = max(bottom, int((tops + heights)[inside].max()))
    # Small pieces (dots, broken-off bits) within the band stay; everything outside it goes.
    overlap = np.minimum(tops + heights, bottom) - np.maximum(tops, top)
    keep: np.ndarray = inside | (~sizeable & (overlap > 0))
    return keep
