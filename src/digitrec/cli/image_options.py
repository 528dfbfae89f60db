"""Options shared by the commands that read the user's image files (`predict`, `read`)."""

import argparse
import itertools
from collections.abc import Iterator
from pathlib import Path


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


MAX_FILES = 100_000  # image files one command reads (a folder or glob can name millions)
LISTED = 4 * MAX_FILES  # files of one folder or glob listed at most (images or not)
GLOB_CHARS = frozenset("*?[")


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """IMAGE...: files, folders (searched recursively) and quoted globs (`'scans/**/*.png'`)."""
    parser.add_argument(
        "images",
        nargs="+",
        type=Path,
        metavar="IMAGE",
        help="image files, folders (recursive: their image files) or globs",
    )


def image_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The image files the user named, in order (a folder's sorted, recursively; a glob's
    sorted), and the files of those folders and globs that are not images, skipped. A file
    named outright is kept whatever it is (reading it says what is wrong with it); a glob that
    matches nothing, or more than MAX_FILES files, is a UsageError."""
    from digitrec.errors import UsageError
    from digitrec.images import IMAGE_SUFFIXES

    files: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = _listed(path, (p for p in path.rglob("*") if p.is_file()))
        elif not path.exists() and GLOB_CHARS & set(str(path)):
            found = _listed(path, _glob(path))
            if not found:
                raise UsageError(f"{path}: no file matches")
        else:
            files.append(path)
            continue
        for candidate in found:
            (files if candidate.suffix.lower() in IMAGE_SUFFIXES else skipped).append(candidate)
        if len(files) > MAX_FILES:
            break
    if len(files) > MAX_FILES:
        raise UsageError(f"more than {MAX_FILES:,} image files named: read them in parts")
    if not files:
        raise UsageError("no image files among " + ", ".join(str(p) for p in paths))
    return files, skipped


def _listed(named: Path, files: Iterator[Path]) -> list[Path]:
    """The files of a folder or glob, sorted; never more than LISTED of them are held."""
    from digitrec.errors import UsageError

    held = list(itertools.islice(files, LISTED + 1))
    if len(held) > LISTED:
        raise UsageError(f"{named}: more than {LISTED:,} files: read them in parts")
    return sorted(held)


def _glob(pattern: Path) -> Iterator[Path]:
    import glob

    text = str(pattern.expanduser())
    # glob, not Path.glob: the pattern may be absolute or start at ~
    found = glob.iglob(text, recursive=True)  # noqa: PTH207
    return (Path(p) for p in found if Path(p).is_file())


def say_skipped(skipped: list[Path]) -> None:
    """One line on stderr naming the files of folders and globs that are not images."""
    if not skipped:
        return
    import sys

    shown = ", ".join(str(p) for p in skipped[:5]) + (", …" if len(skipped) > 5 else "")
    what = "file that is not an image" if len(skipped) == 1 else "files that are not images"
    print(f"skipped {len(skipped):,} {what}: {shown}", file=sys.stderr)


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """--format table|json|csv (--json: json), --out FILE."""
    from digitrec.output import FORMATS

    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (the default: a table on a terminal, tab-separated rows when piped), json "
        "(one object per image, per line) or csv",
    )
    parser.add_argument(
        "--json", dest="format", action="store_const", const="json", help="= --format json"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the results here (atomically), not to stdout",
    )


def checked_out(path: Path | None) -> Path | None:
    """--out, checked before any work is done: not a folder (UsageError)."""
    from digitrec.errors import UsageError

    if path is not None and path.is_dir():
        raise UsageError(f"--out {path}: is a folder; name a file to write the results to")
    return path
