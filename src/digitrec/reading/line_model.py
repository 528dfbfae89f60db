"""The line reader: a CNN and a bidirectional LSTM that read a whole line of ink column by column
and emit its digits left to right, trained with CTC (Graves et al., 2006) — nothing is cut.

Input: the page's ink (`ink.page_ink`, levelled) with the form lines removed and only one band
of rows kept (`form_lines.text_bands`), cropped to the ink and scaled to HEIGHT rows keeping the
aspect (`line_image`). A page gives up to BANDS such lines (a flourish, a scan's dark edge or a
note may stand taller than the number); the reader reads them all and keeps the surest
(`LineReader.read_best`). The CNN turns every STRIDE columns into one frame; the LSTM reads the frames both
ways; each frame gets a probability for each digit and for "blank". Greedy decoding: the most
likely class per frame, repeats merged, blanks dropped. A digit's confidence is its highest
frame probability; its box covers the ink between the midpoints to its neighbours' peaks.

Trained by `scripts/train_line_reader.py` on synthetic pages of MNIST *training* digits (chosen
on pages of validation digits; test digits only in the benchmark), stored as safetensors + JSON.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from digitrec.errors import DataError
from digitrec.models.versions import PACKAGED_READER, READER, active
from digitrec.reading.form_lines import line_masks
from digitrec.reading.ink import PageInk
from digitrec.reading.line_shape import BLANK, HEIGHT, MAX_WIDTH, PAD, STRIDE

if TYPE_CHECKING:
    from digitrec.reading.line_net import LineNet

LINE_STEM = PACKAGED_READER.with_suffix("")  # the package's reader: line_reader.safetensors
KIND = "line-reader"  # its kind of digitrec-model/1 file
BATCH = 32  # lines per forward pass
BANDS = 3  # bands of rows read per page; the surest reading wins (chosen on validation pages)
READER_STEM = READER  # a train-reader run's model: RUN_DIR/reader.safetensors + reader.json


@dataclass(frozen=True)
class LineImage:
    """A line of ink scaled to HEIGHT rows, and where it came from on the (levelled) page."""

    pixels: np.ndarray  # (HEIGHT, W) uint8, ink bright on 0
    mask: np.ndarray  # (h, w) bool: the page's kept ink, cropped like `pixels`
    left: int  # page column and row of the crop's corner
    top: int
    scale: float  # line-image pixels per page pixel (horizontally)


def line_image(ink: np.ndarray, mask: np.ndarray) -> LineImage | None:
    """ink: (H, W) float32 in [0, 1], levelled; mask: (H, W) bool, the ink to read (form lines
    removed). None when the mask is empty."""
    import cv2

    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    kept = mask[top:bottom, left:right]
    near = cv2.dilate(kept.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # soft edges stay
    crop = np.where(near, ink[top:bottom, left:right], 0.0).astype(np.float32)
    inner = HEIGHT - 2 * PAD
    scale = inner / crop.shape[0]
    width = int(np.clip(round(crop.shape[1] * scale), 1, MAX_WIDTH - 4 * PAD))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, (width, inner), interpolation=method)
    pixels = np.pad(np.clip(small * 255.0, 0, 255).astype(np.uint8), ((PAD, PAD), (2 * PAD,) * 2))
    return LineImage(pixels, kept, left, top, width / crop.shape[1])


def page_line(page: PageInk) -> LineImage | None:
    """The line image of a page's ink in its likeliest band of rows (form lines out, the
    writing's band kept), as the reader's training lines are cut; None when no ink is left."""
    lines = page_lines(page, 1)
    return lines[0] if lines else None


def page_lines(page: PageInk, count: int = BANDS) -> list[LineImage]:
    """The line images of up to `count` bands of rows the writing may stand in
    (`form_lines.text_bands`), the likeliest first; [] when no ink is left."""
    found = (line_image(page.ink, band) for band in line_masks(page.mask, page.stroke, count))
    return [line for line in found if line is not None]


@dataclass(frozen=True)
class Emitted:
    digit: int
    confidence: float
    peak: int  # the frame where the digit's probability is highest


def greedy_decode(log_probs: np.ndarray) -> list[Emitted]:
    """(T, 11) log-probabilities of one line -> its digits: the best class per frame, runs of
    one class merged, blanks dropped."""
    best = log_probs.argmax(axis=1)
    emitted: list[Emitted] = []
    start = 0
    for t in range(1, len(best) + 1):
        if t == len(best) or best[t] != best[start]:
            label = int(best[start])
            if label != BLANK:
                run = log_probs[start:t, label]
                peak = start + int(run.argmax())
                emitted.append(Emitted(label, float(np.exp(run.max())), peak))
            start = t
    return emitted


class LineReader:
    """The line reader, its network under torch (`line_net.LineNet`); `line_ort.OnnxLineReader`
    runs the package's own under ONNX Runtime."""

    def __init__(self, net: "LineNet", card: dict[str, Any]) -> None:
        self.net = net.eval()
        self.card = card

    def log_probs(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Line images -> per line (T_i, 11) log-probabilities; similar widths share a batch."""
        import torch

        from digitrec.reading.line_net import as_batch

        order = sorted(range(len(images)), key=lambda i: images[i].shape[1])
        out: list[np.ndarray] = [np.zeros((0, BLANK + 1))] * len(images)
        with torch.inference_mode():
            for start in range(0, len(order), BATCH):
                chosen = order[start : start + BATCH]
                x, frames = as_batch([images[i] for i in chosen])
                result = self.net(x, frames).numpy()
                for k, i in enumerate(chosen):
                    out[i] = result[k, : int(frames[k])]
        return out

    def read(self, line: LineImage) -> list[tuple[Emitted, tuple[int, int, int, int]]]:
        """The digits of one line with their boxes (x, y, w, h) on the levelled page."""
        return self.read_best([line])

    def read_best(self, lines: list[LineImage]) -> list[tuple[Emitted, tuple[int, int, int, int]]]:
        """The digits, with their boxes, of the line read most surely: the highest mean log
        confidence of its digits (a length-neutral score; a line of no digits loses to any
        other). The first line wins ties; [] for no lines."""
        if not lines:
            return []
        readings = [greedy_decode(lp) for lp in self.log_probs([line.pixels for line in lines])]
        best = max(range(len(lines)), key=lambda i: surety(readings[i]))
        emitted, line = readings[best], lines[best]
        return [(e, box) for e, box in zip(emitted, digit_boxes(line, emitted), strict=True)]


def surety(emitted: list[Emitted]) -> float:
    """How surely a line was read: the mean log confidence of its digits (-inf for none)."""
    if not emitted:
        return -np.inf
    return float(np.mean([np.log(max(e.confidence, 1e-12)) for e in emitted]))


def digit_boxes(line: LineImage, emitted: list[Emitted]) -> list[tuple[int, int, int, int]]:
    """Each emitted digit's box on the levelled page: the kept ink in the columns between the
    midpoints of its peak and its neighbours' (the whole line's rows when there is none)."""
    if not emitted:
        return []
    height, width = line.mask.shape
    centres = [((e.peak + 0.5) * STRIDE - 2 * PAD) / line.scale for e in emitted]
    cuts = [0.0] + [(a + b) / 2 for a, b in itertools.pairwise(centres)] + [width]
    boxes = []
    for lo, hi in itertools.pairwise(cuts):
        x0, x1 = int(np.clip(round(lo), 0, width - 1)), int(np.clip(round(hi), 1, width))
        x1 = max(x1, x0 + 1)
        part = line.mask[:, x0:x1]
        rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
        if len(rows):
            x0, x1 = x0 + int(cols[0]), x0 + int(cols[-1]) + 1
            y0, y1 = int(rows[0]), int(rows[-1]) + 1
        else:
            y0, y1 = 0, height
        boxes.append((line.left + x0, line.top + y0, x1 - x0, y1 - y0))
    return boxes


def save_line_reader(net: "LineNet", card: dict[str, Any], stem: Path = LINE_STEM) -> None:
    from digitrec.reading.netfile import save_net

    save_net(net, card, stem, KIND, "line-net")


def load_line_reader(stem: Path = LINE_STEM) -> LineReader:
    """The reader at STEM.safetensors, under torch."""
    from digitrec.reading.line_net import LineNet
    from digitrec.reading.netfile import load_net

    card, state = load_net(stem, KIND, "scripts/train_line_reader.py")
    arguments = dict(card.get("arguments", {}))
    if "widths" in arguments:  # a list in JSON
        arguments["widths"] = tuple(arguments["widths"])
    net = LineNet(**arguments)
    net.load_state_dict(state, strict=True)
    return LineReader(net, card)


def load_reader(spec: str | Path) -> LineReader:
    """'default' (the reader in use: the active model version's, else the package's), a run
    directory of `train-reader`, or a reader file."""
    return load_line_reader(reader_file(spec).with_suffix(""))


def reader_file(spec: str | Path = "default") -> Path:
    """The weights a reader name means now, resolved: "default" the active model version's
    reader (the package's when it has none), else a `train-reader` run directory's or a reader
    file (.safetensors or .json)."""
    if str(spec) == "default":
        promoted = active().reader
        return promoted if promoted else LINE_STEM.with_suffix(".safetensors")
    path = Path(spec).expanduser().resolve()
    if path.is_dir():
        path = path / f"{READER_STEM}.safetensors"
    elif path.suffix in (".safetensors", ".json"):
        path = path.with_suffix(".safetensors")
    if not path.is_file():
        raise DataError(
            f"{spec}: not a reader (a train-reader run directory or reader.safetensors)"
        )
    return path
