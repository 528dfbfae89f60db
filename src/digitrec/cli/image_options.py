"""Options shared by the commands that read the user's image files (`predict`, `read`)."""

import argparse


def add_max_pixels(parser: argparse.ArgumentParser) -> None:
    """--max-pixels: refuse bigger images from their header, before decoding them."""
    from digitrec.images import MAX_PIXELS

    parser.add_argument(
        "--max-pixels",
        type=_pixel_count,
        default=MAX_PIXELS,
        help=f"refuse larger images before decoding them (default {MAX_PIXELS:,})",
    )


def _pixel_count(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of pixels, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
