"""Decoding user images: digitrec's path (its own header reader `image_headers.sniff`, then
OpenCV's decoder) beside Pillow's (`Image.open` reads the header lazily, `.convert("L")` decodes),
on the same bytes in one run. Issue 17 asks to use Pillow where it is at least as fast and as
safe; this is the measurement behind what `images.py` keeps and what it hands to Pillow.

    python benchmarks/image_decoding.py [--repeats 30] [--out benchmarks/results]

Files (made here, seed 0): a 4000×3000 photo-like JPEG (a phone photo's size), a 1000×750
JPEG, a 280×280 PNG drawing, a 28×28 PNG digit, and for each the header alone. Safety, on the
same run: the answer each way gives to broken and bomb headers (a 35-byte GIF claiming
20,000 × 20,000 pixels; truncated PNG/JPEG/TIFF/WebP/PNM headers). Medians of `--repeats`
timed calls after one warm-up (`digitrec.timing.call_seconds`).
"""

import argparse
import io
import json
import statistics
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from digitrec.image_headers import sniff
from digitrec.images import decode_image
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_json
from digitrec.timing import call_seconds

PILLOW_FORMATS = ["PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF", "PPM"]  # digitrec's FORMATS
BROKEN = {
    "GIF bomb (35 bytes, 20000×20000)": b"GIF89a" + (20000).to_bytes(2, "little") * 2 + bytes(25),
    "truncated PNG header": b"\x89PNG\r\n\x1a\n\x00\x00",
    "truncated JPEG header": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "truncated TIFF header": b"II*\x00\xff\xff\x00\x00",
    "truncated WebP header": b"RIFF\x00\x00\x00\x00WEBPVP8Z",
    "PNM without a size": b"P5\n# no size\n",
    "a PDF": b"%PDF-1.7",
}


def files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur((rng.random((3000, 4000, 3)) * 255).astype(np.uint8), (0, 0), 3)
    cv2.putText(photo, "0123456789", (300, 1600), cv2.FONT_HERSHEY_SIMPLEX, 12, (20, 20, 20), 40)
    drawing = np.full((280, 280), 255, np.uint8)
    cv2.circle(drawing, (140, 140), 80, 0, 18)
    return {
        "JPEG 4000×3000": cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(),
        "JPEG 1000×750": cv2.imencode(".jpg", cv2.resize(photo, (1000, 750)))[1].tobytes(),
        "PNG 280×280": cv2.imencode(".png", drawing)[1].tobytes(),
        "PNG 28×28": cv2.imencode(".png", cv2.resize(drawing, (28, 28)))[1].tobytes(),
    }


def pillow_header(data: bytes) -> tuple[str, tuple[int, int]]:
    with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as image:
        return str(image.format), image.size


def pillow_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as image:
        return np.asarray(image.convert("L"))


def ms(call: Callable[[], object], repeats: int) -> float:
    return 1000 * statistics.median(call_seconds(call, repeats))


def answer(call: Callable[[], object]) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = f"accepted: {call()!r}"[:120]
        except Exception as error:  # the answer is the measurement
            result = f"{type(error).__name__}: {error}"[:160]
    return result + "".join(f" [warning: {w.message}]" for w in caught)[:200]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rows: list[dict[str, Any]] = []
    for name, data in files().items():
        ours, theirs = decode_image(data, name), pillow_decode(data)
        row = {
            "file": name,
            "bytes": len(data),
            "header_ms": {
                "digitrec": ms(lambda d=data: sniff(d), args.repeats * 10),  # type: ignore[misc]
                "pillow": ms(lambda d=data: pillow_header(d), args.repeats * 10),  # type: ignore[misc]
            },
            "decode_to_gray_ms": {
                "digitrec": ms(lambda d=data: decode_image(d, "x"), args.repeats),  # type: ignore[misc]
                "pillow": ms(lambda d=data: pillow_decode(d), args.repeats),  # type: ignore[misc]
            },
            "max_pixel_difference": int(np.abs(ours.astype(int) - theirs.astype(int)).max()),
            "share_of_pixels_differing": float((ours != theirs).mean()),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    safety = {
        name: {
            "digitrec": answer(lambda d=data: decode_image(d, "x")),  # type: ignore[misc]
            "pillow": answer(lambda d=data: pillow_decode(d)),  # type: ignore[misc]
        }
        for name, data in BROKEN.items()
    }
    for name, answers in safety.items():
        print(name, json.dumps(answers), flush=True)
    record = {
        "command": "python benchmarks/image_decoding.py " + " ".join(sys.argv[1:]),
        "timings": rows,
        "broken_and_bomb_headers": safety,
        "provenance": provenance(),
    }
    atomic_write_json(args.out / "image_decoding.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
