"""What `read` saw, drawn for people: the image with a box and the digit over each digit read."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from digitrec.reading.reader import NumberReading
from digitrec.storage import atomic_write_bytes


def draw_reading(gray: np.ndarray, reading: NumberReading) -> np.ndarray:
    """(H, W) uint8 page -> (H', W', 3) uint8 BGR picture, upscaled so small scans stay legible."""
    import cv2

    scale = max(1.0, 160 / gray.shape[0])
    size = (round(gray.shape[1] * scale), round(gray.shape[0] * scale))
    picture = cv2.cvtColor(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR)
    thickness = max(1, round(scale))
    for digit in reading.digits:
        x, y, w, h = (round(v * scale) for v in digit.box)
        sure = digit.confidence >= 0.9
        colour = (40, 160, 40) if sure else (0, 140, 255)  # green, or orange when unsure
        cv2.rectangle(picture, (x, y), (x + w, y + h), colour, thickness)
        font = max(0.4, h / 90)
        cv2.putText(
            picture,
            str(digit.digit),
            (x, max(12, y - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            font,
            colour,
            thickness,
            cv2.LINE_AA,
        )
    return picture


def write_overlays(
    images: Sequence[Path], readings: Sequence[NumberReading], out: Path, *, max_pixels: int
) -> list[Path]:
    """Write OUT/<image stem>.read.png for every image that was read; returns the paths."""
    import cv2

    from digitrec.images import read_image_file

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path, reading in zip(images, readings, strict=True):
        if reading.error:
            continue
        picture = draw_reading(read_image_file(path, max_pixels=max_pixels), reading)
        ok, encoded = cv2.imencode(".png", picture)
        if not ok:
            raise OSError(f"could not encode the overlay of {path}")
        target = out / f"{path.stem}.read.png"
        atomic_write_bytes(target, encoded.tobytes())
        written.append(target)
    return written
