"""Image formats are recognised from their bytes and their size read from the header, for every
format digitrec decodes: checked against real files OpenCV writes, and against broken headers."""

import cv2
import numpy as np
import pytest

from digitrec.errors import ImageTooLargeError, NotAnImageError
from digitrec.image_headers import sniff
from digitrec.images import decode_image

IMAGE = (np.random.default_rng(0).random((37, 53, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("suffix", "kind", "options"),
    [
        (".png", "PNG", []),
        (".jpg", "JPEG", []),
        (".jpg", "JPEG", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        (".bmp", "BMP", []),
        (".tiff", "TIFF", []),
        (".webp", "WebP", [cv2.IMWRITE_WEBP_QUALITY, 80]),  # lossy: VP8
        (".webp", "WebP", [cv2.IMWRITE_WEBP_QUALITY, 101]),  # lossless: VP8L
        (".gif", "GIF", []),
        (".ppm", "PNM", []),
        (".pgm", "PNM", []),
    ],
)
def test_real_files_are_recognised_with_their_size(
    suffix: str, kind: str, options: list[int]
) -> None:
    image = IMAGE[:, :, 0] if suffix == ".pgm" else IMAGE
    data = cv2.imencode(suffix, image, options)[1].tobytes()
    assert sniff(data) == (kind, (53, 37))
    assert decode_image(data, "x").shape == (37, 53)
    with pytest.raises(ImageTooLargeError, match="53×37, over the 1,000-pixel limit"):
        decode_image(data, "x", max_pixels=1000)


def test_webp_with_alpha_and_sixteen_bit_tiff() -> None:
    rgba = np.dstack([IMAGE, np.full(IMAGE.shape[:2], 200, np.uint8)])
    assert sniff(cv2.imencode(".webp", rgba)[1].tobytes()) == ("WebP", (53, 37))
    deep = cv2.imencode(".tiff", IMAGE.astype(np.uint16) * 257)[1].tobytes()
    assert sniff(deep) == ("TIFF", (53, 37))
    assert decode_image(deep, "x").shape == (37, 53)


def test_os2_bitmap_header_sizes_are_sixteen_bit() -> None:
    header = b"BM" + bytes(12) + (12).to_bytes(4, "little")
    header += (640).to_bytes(2, "little") + (480).to_bytes(2, "little") + bytes(8)
    assert sniff(header) == ("BMP", (640, 480))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.7", "supported: PNG, JPEG"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "supported"),  # JPEG 2000: not accepted
        (b"\x89PNG\r\n\x1a\n\x00\x00", "truncated or corrupt PNG header"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated or corrupt JPEG header"),
        (b"II*\x00\xff\xff\x00\x00", "truncated or corrupt TIFF header"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8Z", "truncated or corrupt WebP header"),
        (b"P5\n# no size\n", "truncated or corrupt PNM header"),
        (b"GIF89a" + (40).to_bytes(2, "little") + (30).to_bytes(2, "little"), "corrupt GIF data"),
    ],
)
def test_unknown_and_broken_headers_are_not_images(data: bytes, words: str) -> None:
    with pytest.raises(NotAnImageError, match=words):
        decode_image(data, "x")
