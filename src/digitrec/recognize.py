"""Reading one handwritten digit per image: `predict()` and `predict_many()`.

Every image goes through the shared preprocessing (`preprocess.normalize_digit`) and is classified
by a loaded model, in batches. An image with no digit (blank, a dot, too little ink) or one the
model is unsure about gets `digit=None` and a `reason` — a blank page is never reported as a
digit. A file that cannot be read gets an `error`; the other images are still read.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.errors import DataError, ImageTooLargeError, NotAnImageError
from digitrec.images import (
    MAX_PIXELS,
    Reduced,
    decode_image,
    decode_reduced,
    read_image_file,
    read_reduced,
    to_gray_uint8,
)
from digitrec.models.loading import load_model
from digitrec.models.modelfile import Classifier
from digitrec.preprocess import normalize_digit

DEFAULT_THRESHOLD = 0.5  # below this top-class probability the answer is "unsure", not a digit
ImageInput = str | Path | bytes | np.ndarray | Any  # Any: a PIL image


@dataclass(frozen=True)
class DigitPrediction:
    """What was read from one image. `digit` is None when there is no confident digit (`reason`
    says why) or the image could not be read (`error` says why)."""

    source: str
    digit: int | None
    confidence: float  # probability of the top class; 0.0 when there is no digit to classify
    probabilities: list[float] = field(default_factory=list)  # per class, empty if not classified
    top3: list[tuple[int, float]] = field(default_factory=list)
    reason: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "file": self.source,
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "probabilities": [round(p, 6) for p in self.probabilities],
            "top3": [{"digit": d, "probability": round(p, 6)} for d, p in self.top3],
        }
        if self.reason:
            record["reason"] = self.reason
        if self.error:
            record["error"] = self.error
        return record


def to_gray(image: ImageInput, name: str, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Any supported input -> (H, W) uint8 gray as seen (EXIF orientation applied for files).

    Paths and bytes are decoded; NumPy arrays are gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) in
    uint8, uint16 or float in [0, 1]; PIL images are converted to RGBA."""
    if isinstance(image, str | Path):
        return read_image_file(Path(image), max_pixels=max_pixels)
    if isinstance(image, bytes | bytearray | memoryview):
        return decode_image(bytes(image), name, max_pixels=max_pixels)
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL.Image without importing PIL
        image = np.asarray(image.convert("RGBA"))
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3) or image.size == 0 or (image.ndim == 3 and image.shape[2] > 4):
            raise NotAnImageError(f"{name}: expected an (H, W), (H, W, 3) or (H, W, 4) array")
        if image.shape[0] * image.shape[1] > max_pixels:
            raise ImageTooLargeError(f"{name}: image is over the {max_pixels:,}-pixel limit")
        if image.ndim == 3 and image.shape[2] in (3, 4):  # RGB(A) -> BGR(A), OpenCV's order
            image = image[:, :, [2, 1, 0, 3][: image.shape[2]]]
        return to_gray_uint8(image)
    raise DataError(f"{name}: cannot read a {type(image).__name__} as an image")


def to_page(image: ImageInput, name: str, max_pixels: int = MAX_PIXELS, side: int = 0) -> Reduced:
    """`to_gray` for reading a page `side` pixels long at most: a bigger JPEG (a file or bytes)
    is decoded smaller (`images.decode_reduced`); anything else as `to_gray` gives it."""
    if isinstance(image, str | Path):
        return read_reduced(Path(image), max_pixels=max_pixels, side=side)
    if isinstance(image, bytes | bytearray | memoryview):
        return decode_reduced(bytes(image), name, max_pixels=max_pixels, side=side)
    gray = to_gray(image, name, max_pixels)
    return Reduced(gray, 1, (gray.shape[1], gray.shape[0]))


def predict(
    image: ImageInput,
    model: Classifier | str | Path = "default",
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> DigitPrediction:
    """Read the digit in one image (a path, encoded bytes, a NumPy array or a PIL image)."""
    return predict_many([image], model, threshold=threshold)[0]


def predict_many(
    images: Sequence[ImageInput],
    model: Classifier | str | Path = "default",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_pixels: int = MAX_PIXELS,
    names: Sequence[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[DigitPrediction]:
    """Read many images with one model, classifying all digits in batches; results in order."""
    if not 0 <= threshold <= 1:
        raise ValueError("threshold is a probability in [0, 1]")
    classifier = load_model(model) if isinstance(model, str | Path) else model
    labels = [names[i] if names else source_name(image, i) for i, image in enumerate(images)]
    results: list[DigitPrediction | None] = [None] * len(images)
    digits, positions = [], []
    for index, (image, name) in enumerate(zip(images, labels, strict=True)):
        try:
            gray = to_gray(image, name, max_pixels)
        except DataError as error:
            results[index] = DigitPrediction(
                name, None, 0.0, error=message_without_name(error, name)
            )
            continue
        try:
            digits.append(normalize_digit(gray, name))
            positions.append(index)
        except DataError as error:  # a readable image with no digit in it
            results[index] = DigitPrediction(
                name, None, 0.0, reason=message_without_name(error, name)
            )
    for start in range(0, len(digits), 256):
        batch = np.stack(digits[start : start + 256])
        probabilities = classifier.predict_proba(batch)
        for row, index in zip(probabilities, positions[start : start + 256], strict=True):
            results[index] = decide_digit(labels[index], row, classifier.card.classes, threshold)
        if on_progress:
            on_progress(len(batch))
    return [r for r in results if r is not None]


def decide_digit(
    name: str, probabilities: np.ndarray, classes: Iterable[str], threshold: float
) -> DigitPrediction:
    values = [float(p) for p in probabilities]
    order = np.argsort(probabilities)[::-1]
    class_names = list(classes)
    top3 = [(int(class_names[i]), values[i]) for i in order[:3]]
    digit, confidence = top3[0]
    if confidence < threshold:
        reason = (
            f"unsure: best guess {digit} at {confidence:.1%}, below the threshold of "
            f"{100 * threshold:g}%"
        )
        return DigitPrediction(name, None, confidence, values, top3, reason=reason)
    return DigitPrediction(name, digit, confidence, values, top3)


def source_name(image: ImageInput, index: int) -> str:
    """How results name an input: its path, or its position among in-memory images."""
    return str(image) if isinstance(image, str | Path) else f"image[{index}]"


def message_without_name(error: DataError, name: str) -> str:
    """An error's message without the "NAME: " prefix (results carry the name separately)."""
    text = str(error)
    return text[len(name) + 2 :] if text.startswith(f"{name}: ") else text
