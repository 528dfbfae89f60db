"""Reading a whole handwritten number from an image: `read()` and `read_many()`.

page -> `ink.page_ink` (polarity, lighting, mask, skew) -> `lines` (form lines out) -> one of
two readers -> the string, with a confidence and a box per digit in the coordinates of the image
given:
- "segment": `segment` cuts the ink into candidate digits, the digit classifier (`model`) and
  the verifier score them, and the best segmentation wins;
- "line": `line_model` reads the whole line with a CTC-trained network (no cutting); used when
  its weights are in the package.
"auto" (the default) is "line" when the package has it, else "segment".
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from digitrec.errors import DataError, UsageError
from digitrec.images import MAX_PIXELS
from digitrec.models.loading import load_model
from digitrec.models.modelfile import Classifier
from digitrec.models.versions import active
from digitrec.reading.form_lines import remove_form_lines
from digitrec.reading.ink import WORK_SIDE, PageInk, page_ink
from digitrec.reading.line_model import (
    BANDS,
    LINE_STEM,
    LineReader,
    load_line_reader,
    load_reader,
    page_lines,
)
from digitrec.reading.segment import Candidate, Line, candidates, choose, describe, find_atoms
from digitrec.reading.segment_scorer import SegmentScorer, load_scorer
from digitrec.recognize import ImageInput, message_without_name, source_name, to_page

if TYPE_CHECKING:  # the verifier is a torch network: imported when the segment reader runs
    from digitrec.reading.verifier import Verifier

READERS = ("auto", "line", "segment")
HOPELESS = -4.0  # verifier logit (P ≈ 1.8%) at or below which a candidate is not classified


@dataclass(frozen=True)
class ReadDigit:
    digit: int
    confidence: float  # the classifier's probability for this digit
    box: tuple[int, int, int, int]  # (x, y, w, h) in the image's pixels

    def to_json(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": round(self.confidence, 6), "box": list(self.box)}


@dataclass(frozen=True)
class NumberReading:
    """What was read from one image: `text` is "" when no digit was found (`reason` says why)
    or the image could not be read (`error` says why)."""

    source: str
    text: str
    confidence: float  # product of the digits' confidences: the chance the whole string is right
    digits: list[ReadDigit] = field(default_factory=list)
    reason: str | None = None
    error: str | None = None

    def enlarged(self, factor: int, size: tuple[int, int]) -> "NumberReading":
        """This reading of an image decoded `factor` times smaller, in the pixels of the image
        itself (`size`: its width and height)."""
        return self if factor == 1 else self.rescaled(factor, size)

    def rescaled(self, scale: float, size: tuple[int, int]) -> "NumberReading":
        """This reading in the pixels of the image resized by `scale` to `size` (width,
        height)."""
        width, height = size

        def scaled(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
            x = min(round(box[0] * scale), width - 1)
            y = min(round(box[1] * scale), height - 1)
            w = max(1, min(round(box[2] * scale), width - x))
            return x, y, w, max(1, min(round(box[3] * scale), height - y))

        digits = [ReadDigit(d.digit, d.confidence, scaled(d.box)) for d in self.digits]
        return NumberReading(
            self.source, self.text, self.confidence, digits, self.reason, self.error
        )

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "file": self.source,
            "text": self.text,
            "confidence": round(self.confidence, 6),
            "digits": [d.to_json() for d in self.digits],
        }
        if self.reason:
            record["reason"] = self.reason
        if self.error:
            record["error"] = self.error
        return record


def read(
    image: ImageInput, model: Classifier | str | Path = "default", *, reader: str = "auto"
) -> NumberReading:
    """Read the handwritten number in one image (a path, encoded bytes, a NumPy array or a PIL
    image)."""
    return read_many([image], model, reader=reader)[0]


def read_many(
    images: Sequence[ImageInput],
    model: Classifier | str | Path = "default",
    *,
    reader: str = "auto",
    max_pixels: int = MAX_PIXELS,
    names: Sequence[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[NumberReading]:
    """Read many images; results in order, one per image. `model` is the segment reader's digit
    classifier; `reader` one of READERS."""
    line_reader = choose_reader(reader)
    classifier = None
    if line_reader is None:
        classifier = load_model(model) if isinstance(model, str | Path) else model
    results = []
    for index, image in enumerate(images):
        name = names[index] if names else source_name(image, index)
        try:
            page = to_page(image, name, max_pixels, WORK_SIDE)
        except DataError as error:
            results.append(NumberReading(name, "", 0.0, error=message_without_name(error, name)))
        else:
            if line_reader is not None:
                reading = read_line(page.gray, line_reader, name)
            else:
                assert classifier is not None
                reading = read_gray(page.gray, classifier, *segment_models(reader), name)
            results.append(reading.enlarged(page.factor, page.size))
        if on_progress:
            on_progress(1)
    return results


def choose_reader(reader: str) -> LineReader | None:
    """The line reader for "line" (or "auto" when there is one): the active model version's
    (`models.versions`), else the package's; None for "segment" (or "segment:DIR", a
    `train-segmenter` run); any other value names a line reader of your own (a `train-reader`
    run directory or file)."""
    if reader.startswith("segment:"):
        return None
    if reader not in READERS:
        if not Path(reader).expanduser().exists():
            raise UsageError(
                f"reader must be one of {', '.join(READERS)} or a train-reader run directory, "
                f"got {reader!r}"
            )
        return _own_reader(str(Path(reader).expanduser().resolve()))
    if reader == "segment":
        return None
    promoted = _promoted_reader()
    if reader == "auto" and not has_line_reader() and not promoted:
        return None
    return _own_reader(str(promoted)) if promoted else packaged_line_reader()


def _promoted_reader() -> Path | None:
    return active().reader


@functools.lru_cache(maxsize=4)
def _own_reader(path: str) -> LineReader:
    return load_reader(path)


def has_line_reader() -> bool:
    return LINE_STEM.with_suffix(".safetensors").is_file()


@functools.cache
def packaged_line_reader() -> LineReader:
    """The line reader shipped in the package, loaded once per process: under ONNX Runtime when
    it is installed (`line_ort`: no torch to start), else under torch."""
    from digitrec.reading.line_ort import packaged_onnx_reader

    return packaged_onnx_reader() or load_line_reader()


def segment_models(reader: str) -> tuple["Verifier", SegmentScorer]:
    """The segment reader's verifier and scorer: a `train-segmenter` run's for "segment:DIR",
    else the packaged ones."""
    if reader.startswith("segment:"):
        return load_segmenter(str(Path(reader.removeprefix("segment:")).expanduser().resolve()))
    return packaged_reading_models()


@functools.lru_cache(maxsize=4)
def load_segmenter(folder: str) -> tuple["Verifier", SegmentScorer]:
    """The verifier and scorer of a `train-segmenter` run directory."""
    from digitrec.reading.verifier import load_verifier

    path = Path(folder)
    if not (path / "segment_scorer.json").is_file():
        raise UsageError(f"{folder}: not a train-segmenter run (no segment_scorer.json in it)")
    return load_verifier(path / "verifier"), load_scorer(path / "segment_scorer.json")


@functools.cache
def packaged_reading_models() -> tuple["Verifier", SegmentScorer]:
    """The segment verifier and scorer shipped in the package, loaded once per process."""
    from digitrec.reading.verifier import load_verifier

    return load_verifier(), load_scorer()


@dataclass(frozen=True)
class PageAnalysis:
    """Everything read_gray weighs before choosing: the page's ink, its atoms, the candidate
    digits with their classes, probabilities and scorer features."""

    page: PageInk
    line: Line
    found: list[Candidate]
    probabilities: np.ndarray  # (N, C)
    classes: list[int]
    features: np.ndarray  # (N, F)


def analyse_page(
    gray: np.ndarray, classifier: Classifier, verifier: "Verifier | None", name: str = "image"
) -> PageAnalysis:
    """Raises DataError (a reason, not a failure) when there are no digits on the page.
    verifier None (while training it): its feature is 0 for every candidate."""
    page = page_ink(gray, name)
    mask = remove_form_lines(page.mask, page.stroke)
    line = find_atoms(mask, page.stroke)
    found = candidates(line, page.ink)
    if not found:
        raise DataError(f"{name}: no digits found")
    images = np.stack([c.image for c in found])
    contexts = np.stack([c.context for c in found])
    whole = verifier.logits(images, contexts) if verifier else np.zeros(len(found))
    # The verifier is far cheaper than the classifier: candidates it finds hopeless (about two
    # in three) are not classified at all.
    hopeful = np.flatnonzero(whole > HOPELESS)
    found, images, whole = [found[i] for i in hopeful], images[hopeful], whole[hopeful]
    if not found:
        raise DataError(f"{name}: no digits found")
    probabilities = classifier.predict_proba(images)
    log_p = np.log(np.clip(probabilities, 1e-12, 1.0))
    classes, features = describe(line, found, log_p, whole)
    return PageAnalysis(page, line, found, probabilities, classes, features)


def decide(analysis: PageAnalysis, scorer: SegmentScorer, name: str) -> NumberReading:
    """The best segmentation of an analysed page, as a reading."""
    scores = scorer.log_p_whole(analysis.features) + scorer.digit_bonus
    chosen = choose(
        analysis.line,
        analysis.found,
        analysis.classes,
        scores,
        scorer.skip_cost,
        scorer.overlap_cost,
    )
    index = {id(c): i for i, c in enumerate(analysis.found)}
    digits = [
        ReadDigit(
            digit, float(analysis.probabilities[index[id(c)], digit]), analysis.page.to_page(c.box)
        )
        for c, digit in chosen
    ]
    return reading_of(name, digits)


def reading_of(name: str, digits: list[ReadDigit]) -> NumberReading:
    """The reading made of these digits, left to right ("no digits found" when there are none)."""
    if not digits:
        return NumberReading(name, "", 0.0, reason="no digits found")
    text = "".join(str(d.digit) for d in digits)
    return NumberReading(name, text, float(np.prod([d.confidence for d in digits])), digits)


def read_line(
    gray: np.ndarray, line_reader: LineReader, name: str = "image", bands: int = BANDS
) -> NumberReading:
    """Read a number from an (H, W) uint8 page with the line reader: up to `bands` bands of
    rows are read, the surest reading kept."""
    try:
        page = page_ink(gray, name)
    except DataError as error:
        return NumberReading(name, "", 0.0, reason=message_without_name(error, name))
    read = line_reader.read_best(page_lines(page, bands))
    return reading_of(name, [ReadDigit(e.digit, e.confidence, page.to_page(b)) for e, b in read])


def read_gray(
    gray: np.ndarray,
    classifier: Classifier,
    verifier: "Verifier",
    scorer: SegmentScorer,
    name: str = "image",
) -> NumberReading:
    """Read a number from an (H, W) uint8 page."""
    try:
        analysis = analyse_page(gray, classifier, verifier, name)
    except DataError as error:
        return NumberReading(name, "", 0.0, reason=message_without_name(error, name))
    return decide(analysis, scorer, name)
