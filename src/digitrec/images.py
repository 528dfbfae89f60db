"""Decoding image files into grayscale arrays: the door every user image comes in through.

Formats: PNG, JPEG, BMP, TIFF, WebP, GIF and PNM, 8- or 16-bit, gray, colour or with alpha (a
transparent background counts as white paper). The format is recognised from the bytes and the
pixel limit checked from the header before decoding (`image_headers`), so a small file claiming a
huge image is refused cheaply; other formats are refused as not images. OpenCV decodes the pixels
and Pillow reads the EXIF orientation: `benchmarks/image_decoding.py` measured both ways side by
side (Pillow's decoding was slower, to identical pixels, and its answers to broken headers name
no format; see README). For reading a page, `decode_reduced` decodes a big JPEG smaller by libjpeg's
DCT scaling, so a phone photo's time and memory do not grow with its megapixels.
"""

import functools
import io
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from digitrec.errors import ImageTooLargeError, NotAnImageError
from digitrec.image_headers import FORMATS, sniff
from digitrec.storage import read_regular_file

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is fine; a decompression bomb is not
# Pillow's names of the formats whose EXIF orientation OpenCV leaves to us (its TIFF decoder
# turns a TIFF by its own orientation tag already)
EXIF_FORMATS = ["JPEG", "PNG", "WEBP"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")


def read_image_file(path: Path, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read and decode an image file (a regular file of at most MAX_FILE_BYTES, see
    `read_regular_file`). Returns (H, W) uint8 grayscale as stored (no inversion)."""
    return read_reduced(path, max_pixels=max_pixels).gray


def read_reduced(path: Path, *, max_pixels: int = MAX_PIXELS, side: int = 0) -> "Reduced":
    """`read_image_file`, decoded as `decode_reduced` does."""
    data = read_regular_file(path, MAX_FILE_BYTES, ImageTooLargeError)
    return decode_reduced(data, str(path), max_pixels=max_pixels, side=side)


def decode_image(data: bytes, name: str, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes. Returns (H, W) uint8 grayscale as stored (no inversion).

    The format comes from the bytes (see image_headers), and the pixel limit is checked against
    the size the header claims before the decoder allocates anything."""
    return decode_reduced(data, name, max_pixels=max_pixels).gray


class Reduced(NamedTuple):
    """An image decoded `factor` times smaller than it is (`size`: its width and height as seen)."""

    gray: np.ndarray
    factor: int
    size: tuple[int, int]


def decode_reduced(
    data: bytes, name: str, *, max_pixels: int = MAX_PIXELS, side: int = 0
) -> Reduced:
    """`decode_image`, but a JPEG at least twice `side` on its longer side is decoded 2, 4 or 8
    times smaller (the most that keeps its longer side at least `side`) by libjpeg's DCT
    scaling, straight to grey: no full-size pixels are ever made. Other images, and all with
    side 0, are decoded at their size (factor 1)."""
    import cv2

    if not data:
        raise NotAnImageError(f"{name}: empty file")
    kind, size = sniff(data)
    if kind is None:
        raise NotAnImageError(
            f"{name}: not a readable image (supported: {', '.join(FORMATS)}; unknown format or "
            "corrupt data)"
        )
    if size is None:
        raise NotAnImageError(f"{name}: not a readable image (truncated or corrupt {kind} header)")
    if size[0] * size[1] > max_pixels:
        raise ImageTooLargeError(
            f"{name}: image is {size[0]}×{size[1]}, over the {max_pixels:,}-pixel limit"
        )
    factor = 1
    while side and kind == "JPEG" and factor < 8 and max(size) >= 2 * factor * side:
        factor *= 2
    flags = {
        1: cv2.IMREAD_UNCHANGED,  # keeps alpha
        2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
        4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
        8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
    }[factor]
    if factor > 1:
        flags |= cv2.IMREAD_IGNORE_ORIENTATION  # turned below, as every image is
    _quiet_opencv()
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise NotAnImageError(f"{name}: not a readable image (corrupt {kind} data)")
    if image.shape[0] * image.shape[1] > max_pixels:  # a header that lied
        raise ImageTooLargeError(
            f"{name}: image is {image.shape[1]}×{image.shape[0]}, over the {max_pixels:,}-pixel limit"
        )
    orientation = exif_orientation(data)
    gray = apply_orientation(to_gray_uint8(image), orientation)
    if factor == 1:
        return Reduced(gray, 1, (gray.shape[1], gray.shape[0]))
    turned = orientation >= 5  # a quarter turn: width and height trade places
    return Reduced(
        gray, factor, (int(size[1]), int(size[0])) if turned else (int(size[0]), int(size[1]))
    )


@functools.cache
def _quiet_opencv() -> None:
    """OpenCV logs its own message for every file it cannot decode; digitrec reports those as
    one-line errors already."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation tag (1-8) a JPEG, PNG or WebP file carries, read by Pillow
    (its header only; OpenCV decodes the pixels, as stored); 1 (upright) when there is none or
    it cannot be read — the tag only turns the picture, so a broken one is ignored, silently."""
    from PIL import Image

    if not data.startswith(b"\xff\xd8") and b"eXIf" not in data and b"EXIF" not in data:
        return 1  # a PNG or WebP without an EXIF chunk: Pillow would decode a PNG to find out
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on corrupt EXIF: we answer 1
            with Image.open(io.BytesIO(data), formats=EXIF_FORMATS) as image:
                value = image.getexif().get(0x0112, 1)
    except Exception:  # hostile bytes raise many kinds (OSError, SyntaxError, struct.error…)
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an image as stored into the image as meant to be seen (EXIF orientation 1-8)."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.T,
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].T,
        8: lambda a: np.rot90(a, 1),
    }
    transform = transforms.get(orientation)
    return np.ascontiguousarray(transform(image)) if transform else image


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """Any decoded image (gray, BGR, BGRA; uint8, uint16 or float) -> (H, W) uint8 gray, with
    transparent pixels composited onto white."""
    import cv2

    if image.dtype == np.uint16:
        image = (image.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        scaled = np.clip(image.astype(np.float32), 0.0, 1.0) * 255.0
        image = scaled.round().astype(np.uint8)
    if image.ndim == 2:
        return image
    channels = image.shape[2]
    if channels == 1:
        return image[:, :, 0]
    if channels == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        rgb = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        image = rgb.round().astype(np.uint8)
    gray: np.ndarray = cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
    return gray
