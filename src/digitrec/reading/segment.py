"""Cutting a line of ink into digits: over-segment, then let the classifier and shape choose.

1. Ink components are the atoms; a component wide enough to be several touching digits is also
   cut where its ink is thinnest along straight lines, upright or slanted like handwriting.
2. Every run of consecutive atoms that could be one digit (not wider than a digit can be) is a
   candidate; each is cropped, normalized by the shared `normalize_digit` and classified, all
   in one batch (by the caller).
3. Dynamic programming picks the segmentation with the best total score: per digit, the segment
   scorer's log P(exactly one whole digit) (`segment_scorer.py`) plus a bonus per digit, and a cost for
   leaving ink unread.
"""

import math
from dataclasses import dataclass

import numpy as np

from digitrec.errors import DataError
from digitrec.preprocess import normalize_digit
from digitrec.reading.segment_scorer import FEATURES, candidate_features

INK_PER_HEIGHT_STROKE = 1.86  # a digit's ink ≈ this × its height × the stroke width (see below)
MAX_WIDTH = 1.6  # a candidate digit at most this many line heights wide
MAX_ATOMS = 5  # a digit is at most this many pieces (broken strokes, cut parts)
MAX_GAP = 0.05  # pieces of one digit overlap in x, or nearly (a pen skip breaks across a stroke)
THIN_REMNANT = 0.35  # components at most this many stroke widths thick (and longer) are lines
CUT_WIDTH = 0.55  # components wider than this many line heights may be touching digits
CUT_MARGIN = 0.15  # no cut closer than this (line heights) to a component's side
CUT_SPACING = 0.12  # cuts at least this far apart (line heights)
SLANTS = (-0.4, -0.2, 0.0, 0.2, 0.4)  # cut lines lean this many columns per row (±22°)


@dataclass(frozen=True)
class Atom:
    x0: int  # its ink's box: columns [x0, x1), rows [y0, y1)
    x1: int
    y0: int
    y1: int
    pixels: np.ndarray  # (y1 - y0, x1 - x0) bool: which pixels of the box are its ink
    component: int  # the ink component it belongs to
    cut_left: int = 0  # strokes crossed by the cut at its left edge (0: not cut there)
    cut_right: int = 0  # ... at its right edge

    @property
    def area(self) -> int:
        return int(self.pixels.sum())


@dataclass(frozen=True)
class Candidate:
    first: int  # atoms [first, last)
    last: int
    box: tuple[int, int, int, int]  # (x, y, w, h) of its ink
    area: int  # ink pixels
    image: np.ndarray  # (28, 28) uint8, normalized as a lone digit (what the classifier sees)
    context: np.ndarray  # (28, 28) uint8: it and its surroundings at the line's scale (verifier)


@dataclass(frozen=True)
class Line:
    atoms: list[Atom]
    height: float  # typical digit height on this line, pixels
    typical_area: float  # ink pixels of a typical digit
    middle: float  # the row through the middle of the line's digits


def find_atoms(mask: np.ndarray, stroke: float) -> Line:
    """Ink components on the line, ordered left to right, wide ones cut."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    # A component far thinner than the strokes in its long direction is what is left of a form
    # line (a faint or wavy stretch the line finder missed), not handwriting.
    kept = {
        label: tuple(int(v) for v in stats[label, :5])
        for label in range(1, count)
        if not (min(stats[label, 2:4]) <= THIN_REMNANT * stroke < max(stats[label, 2:4]))
    }
    boxes = list(kept.values())
    if not boxes:
        raise DataError("no ink found")
    columns = _column_groups(boxes)
    largest = max(area for *_, area in columns)
    big = [(x, y, w, h, area) for x, y, w, h, area in columns if area >= 0.15 * largest]
    height = float(np.median([h for _, _, _, h, _ in big]))
    middle = float(np.median([y + h / 2 for _, y, _, h, _ in big]))
    # Measured from the line's height and stroke, not from its components, which may all be
    # touching digits: on 44 synthetic pages whose digits all stood apart, a digit's ink was
    # 1.86 (1.33-2.29, 10th-90th percentile) × height × stroke width.
    typical_area = INK_PER_HEIGHT_STROKE * height * stroke
    atoms = []
    for label, (x, y, w, h, area) in kept.items():
        if y + h < middle - 0.75 * height or y > middle + 0.75 * height:
            continue  # off the line: a stray mark above or below the digits
        if area < max(3, 0.005 * typical_area):
            continue  # a speck of noise
        own = labels[y : y + h, x : x + w] == label
        if w > CUT_WIDTH * height:
            atoms += _cut(own, x, y, height, label)
        else:
            atoms.append(Atom(x, x + w, y, y + h, own, label))
    atoms.sort(key=lambda a: (a.x0 + a.x1) / 2)
    return Line(atoms, height, typical_area, middle)


def _column_groups(
    boxes: list[tuple[int, ...]],
) -> list[tuple[int, int, int, int, int]]:
    """Components that overlap in x merged into one box: the pieces of a broken digit stacked
    above each other count as one digit when measuring the line's digit height."""
    groups: list[list[int]] = []
    for x, y, w, h, area in sorted(boxes):
        if groups and x < groups[-1][0] + groups[-1][2]:
            gx, gy, gw, gh, garea = groups[-1]
            right, bottom = max(gx + gw, x + w), max(gy + gh, y + h)
            top = min(gy, y)
            groups[-1] = [gx, top, right - gx, bottom - top, garea + area]
        else:
            groups.append([x, y, w, h, area])
    return [(x, y, w, h, area) for x, y, w, h, area in groups]


def _cut(own: np.ndarray, x: int, y: int, height: float, component: int) -> list[Atom]:
    """Cut one component (own: its (h, w) pixels at column x, row y) where its ink is thinnest
    along straight lines, upright or slanted like the handwriting (SLANTS)."""
    h, w = own.shape
    rows = np.arange(h)[:, None]
    margin, spacing = round(CUT_MARGIN * height), max(2, round(CUT_SPACING * height))
    window = max(1, round(0.05 * height))
    options = []  # (ink on the cut, column at mid-height, slope)
    for slope in SLANTS:
        # Column of the cut through (c, h/2) in every row: (h, w) indices.
        columns = np.rint(np.arange(w)[None, :] + slope * (rows - h / 2)).astype(int)
        inside = (columns >= 0) & (columns < w)
        profile = np.where(inside, own[rows, columns.clip(0, w - 1)], False).sum(axis=0)
        smooth = np.convolve(profile.astype(np.float32), np.ones(3) / 3, mode="same")
        for c in range(margin, w - margin):
            if smooth[c] <= smooth[max(0, c - window) : c + window + 1].min():
                options.append((float(smooth[c]) + 0.01 * abs(slope), c, slope))
    cuts: list[tuple[int, float]] = []
    for _, column, slope in sorted(options):
        if all(abs(column - other) >= spacing for other, _ in cuts):
            cuts.append((column, slope))
        if len(cuts) >= math.ceil(w / (0.2 * height)):
            break
    cuts.sort()
    # Each cut line splits the rows: pixel (r, c) is left of the cut if c < column + slope·(r - h/2).
    bounds = [np.full(h, -np.inf)] + [
        column + slope * (np.arange(h) - h / 2) for column, slope in cuts
    ]
    bounds.append(np.full(h, np.inf))
    grid = np.arange(w)[None, :]
    crossed = [0]
    for column, slope in cuts:
        line = np.rint(column + slope * (np.arange(h) - h / 2)).astype(int)
        ok = (line >= 0) & (line < w)
        crossed.append(
            _strokes_crossed(np.where(ok, own[np.arange(h), line.clip(0, w - 1)], False))
        )
    crossed.append(0)
    atoms = []
    for index in range(len(bounds) - 1):
        part = own & (grid >= bounds[index][:, None]) & (grid < bounds[index + 1][:, None])
        ys, xs = np.nonzero(part)
        if not len(ys):
            continue
        top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        pixels = part[top:bottom, left:right]
        box = (x + int(left), x + int(right), y + int(top), y + int(bottom))
        atoms.append(Atom(*box, pixels, component, crossed[index], crossed[index + 1]))
    return atoms


def _strokes_crossed(column: np.ndarray) -> int:
    """How many separate runs of ink a cut along this sequence of pixels goes through."""
    padded = np.concatenate([[False], column, [False]]).astype(np.int8)
    return int((np.diff(padded) == 1).sum())


def candidates(line: Line, ink: np.ndarray) -> list[Candidate]:
    """Every run of consecutive atoms that could be one digit, cropped and normalized."""
    found = []
    atoms = line.atoms
    for first in range(len(atoms)):
        right = atoms[first].x1
        for last in range(first + 1, min(len(atoms), first + MAX_ATOMS) + 1):
            atom = atoms[last - 1]
            if last > first + 1 and atom.x0 - right > MAX_GAP * line.height:
                break
            right = max(right, atom.x1)
            group = atoms[first:last]
            left = min(a.x0 for a in group)
            if right - left > MAX_WIDTH * line.height:
                break
            image, box, keep = _crop(group, ink)
            try:
                digit = normalize_digit(image, "candidate", ink="signal")
            except DataError:
                continue
            view = context_view(ink, keep, box, line)
            found.append(Candidate(first, last, box, sum(a.area for a in group), digit, view))
    return found


CONTEXT = 1.5  # the context view is a square this many line heights wide
CONTEXT_OTHERS = 0.35  # neighbours' ink is drawn this bright, the candidate's at full strength


def context_view(
    ink: np.ndarray, keep: tuple[int, int, np.ndarray], box: tuple[int, int, int, int], line: Line
) -> np.ndarray:
    """A (28, 28) uint8 view of the candidate where it stands: a square CONTEXT line heights
    wide centred on it, scaled by the line's height (not its own), its ink bright and the
    neighbours' dim — a sliver, a fragment or two digits look like what they are here."""
    import cv2

    top, left, own = keep
    x, _, w, _ = box
    side = max(4, round(CONTEXT * line.height))
    cx, cy = x + w / 2, line.middle
    y0, x0 = round(cy - side / 2), round(cx - side / 2)
    window = np.zeros((side, side), np.float32)
    mine = np.zeros((side, side), bool)
    sy0, sx0 = max(0, y0), max(0, x0)
    sy1, sx1 = min(ink.shape[0], y0 + side), min(ink.shape[1], x0 + side)
    if sy1 > sy0 and sx1 > sx0:
        window[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = ink[sy0:sy1, sx0:sx1]
    oy0, ox0 = max(top, y0), max(left, x0)
    oy1, ox1 = min(top + own.shape[0], y0 + side), min(left + own.shape[1], x0 + side)
    if oy1 > oy0 and ox1 > ox0:
        mine[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0] = own[
            oy0 - top : oy1 - top, ox0 - left : ox1 - left
        ]
    view = np.where(mine, window, CONTEXT_OTHERS * window)
    small = cv2.resize(view, (28, 28), interpolation=cv2.INTER_AREA)
    return np.clip(small * 255, 0, 255).astype(np.uint8)


def _crop(
    group: list[Atom], ink: np.ndarray
) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, np.ndarray]]:
    """The ink of these atoms only (neighbours' ink masked out) as a gray image, its box, and
    which pixels are its own (top, left, (h, w) bool)."""
    import cv2

    x0, x1 = min(a.x0 for a in group), max(a.x1 for a in group)
    y0, y1 = min(a.y0 for a in group), max(a.y1 for a in group)
    pad = 2
    top, left = max(0, y0 - pad), max(0, x0 - pad)
    bottom, right = min(ink.shape[0], y1 + pad), min(ink.shape[1], x1 + pad)
    keep = np.zeros((bottom - top, right - left), bool)
    for atom in group:
        keep[atom.y0 - top : atom.y1 - top, atom.x0 - left : atom.x1 - left] |= atom.pixels
    # Anti-aliased edges fall just outside the mask: let one pixel of grey back in.
    keep = cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    gray = np.where(keep, ink[top:bottom, left:right], 0.0)
    image = np.pad(np.clip(gray * 255, 0, 255).astype(np.uint8), 4)
    return image, (x0, y0, x1 - x0, y1 - y0), (top, left, keep)


def describe(
    line: Line, found: list[Candidate], log_probabilities: np.ndarray, verifier: np.ndarray
) -> tuple[list[int], np.ndarray]:
    """Each candidate's best class and its features for the segment scorer: (N,), (N, F).
    verifier: (N,) the segment verifier's logits."""
    digits, rows = [], []
    for candidate, row, whole in zip(found, log_probabilities, verifier, strict=True):
        first, last = line.atoms[candidate.first], line.atoms[candidate.last - 1]
        group = line.atoms[candidate.first : candidate.last]
        digit, features = candidate_features(
            candidate.box,
            candidate.area,
            row,
            height=line.height,
            typical_area=line.typical_area,
            cut_strokes=first.cut_left + last.cut_right,
            cuts=int(first.cut_left > 0) + int(last.cut_right > 0),
            pieces=len({a.component for a in group}) - 1,
            atoms=len(group),
            verifier=float(whole),
        )
        digits.append(digit)
        rows.append(features)
    return digits, np.array(rows).reshape(len(found), len(FEATURES))


def choose(
    line: Line,
    found: list[Candidate],
    digits: list[int],
    scores: np.ndarray,
    skip_cost: float,
    overlap_cost: float = 0.0,
) -> list[tuple[Candidate, int]]:
    """The segmentation with the best total score: a list of (candidate, class) left to right.

    scores: per candidate, in nats. Leaving an atom unread costs up to skip_cost (in proportion
    to its ink, up to half a digit's worth). Two digits read side by side that overlap in x cost
    overlap_cost × (overlap / the narrower one's width)²: the pieces of one broken digit stacked
    above each other overlap far more than two handwritten digits pushed together do."""
    skip = [skip_cost * min(1.0, 2 * atom.area / line.typical_area) for atom in line.atoms]
    unread = np.concatenate([[0.0], np.cumsum(skip)])  # unread[j] - unread[i]: atoms i..j-1
    order = sorted(range(len(found)), key=lambda i: (found[i].last, found[i].first))
    best: dict[int, tuple[float, int | None]] = {}  # candidate -> (score up to it, previous)
    for i in order:
        here = found[i]
        value, previous = float(scores[i]) - float(unread[here.first]), None
        for j, (total, _) in best.items():
            before = found[j]
            if before.last > here.first:
                continue
            gap = float(unread[here.first] - unread[before.last])
            candidate = total + float(scores[i]) - gap - overlap_cost * _overlap(before, here) ** 2
            if candidate > value:
                value, previous = candidate, j
        best[i] = (value, previous)
    count = len(line.atoms)
    finish, last = -float(unread[count]), None  # reading nothing at all
    for i, (total, _) in best.items():
        value = total - float(unread[count] - unread[found[i].last])
        if value > finish:
            finish, last = value, i
    path = []
    while last is not None:
        path.append((found[last], digits[last]))
        last = best[last][1]
    return path[::-1]


def _overlap(left: Candidate, right: Candidate) -> float:
    """How much two candidates overlap in x, as a share of the narrower one's width."""
    (x0, _, w0, _), (x1, _, w1, _) = left.box, right.box
    shared = min(x0 + w0, x1 + w1) - max(x0, x1)
    return max(0.0, shared / max(1, min(w0, w1)))
