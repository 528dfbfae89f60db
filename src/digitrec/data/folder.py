"""Your own digits: a folder with sub-folders `0/` … `9/` of images in any common format.

Every image goes through `digitrec.preprocess.normalize_digit`, the same path as user images in the
CLI, API and web app, so a model fine-tuned on a folder sees what it will see in use. A folder is one
pool; the split schemes carve train/val/test out of it (80/10/10).
"""

from pathlib import Path

import numpy as np

from digitrec.data.digitset import DIGIT_CLASSES, DigitSet
from digitrec.errors import DataError
from digitrec.images import IMAGE_SUFFIXES, read_image_file
from digitrec.preprocess import normalize_digit


def image_files(root: Path) -> list[tuple[Path, int]]:
    """(path, label) for every image file under root/0 … root/9, in a stable order."""
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    found: list[tuple[Path, int]] = []
    for label, name in enumerate(DIGIT_CLASSES):
        folder = root / name
        if folder.is_dir():
            found.extend(
                (path, label)
                for path in sorted(folder.iterdir())
                if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
            )
    if not found:
        raise DataError(f"{root}: no images in sub-folders 0/ … 9/")
    return found


def load_parts(root: Path, *, skip_bad: bool = False) -> dict[str, DigitSet]:
    """{"all": every image, normalized to 28×28}. A file that cannot be read or holds no digit is an
    error naming it, unless `skip_bad`, which leaves it out with a warning on stderr."""
    from rich.markup import escape

    from digitrec.progress import count_bar, stderr_console

    files = image_files(root)
    images, labels, bad = [], [], []
    with count_bar(f"reading {root.name or root}", len(files)) as advance:
        for path, label in files:
            try:
                images.append(normalize_digit(read_image_file(path), str(path)))
                labels.append(label)
            except DataError as error:
                if not skip_bad:
                    raise
                bad.append(str(error))
            advance(1)
    for message in bad:
        stderr_console.print(f"[yellow]skipped[/] {escape(message)}", highlight=False)
    if not images:
        raise DataError(f"{root}: none of the {len(files)} images holds a readable digit")
    stacked = DigitSet(f"folder:{root}", "all", np.stack(images), np.asarray(labels, np.int64))
    return {"all": stacked}
