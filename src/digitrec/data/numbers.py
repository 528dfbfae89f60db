"""Labelled images of whole handwritten numbers: what `read` is measured and trained on.

A `NumberSet` is one split of such a dataset: gray images of any size, each with the digit string
written on it. The datasets, by name:

- `parish-rows`: 2,882 real table cells with handwritten row numbers from scanned Danish parish
  records (shipped to the team in `shared/data/parish-rows/`); split by scanned page (cells of a
  page share writer and ink), about 60 / 10 / 30% of the pages. Labels that are not digits only
  (`5a`, `sn`, `-`: 185 of them) are left out.
- `written-numbers`: 600 real 10-digit numbers written with a pen on paper (`shared/data/
  written-numbers/`); probably one or a few writers, so it is a test set only: nothing trains on
  it or is chosen on it.
- `feedback-numbers[:PATH]`: the numbers corrected through `digitrec serve` (the store,
  `data.feedback_sets`): the newest 20% by time are its test split.
- `strings:DIR`: your own: a folder of images plus `labels.csv` (`filename,label`, and optionally
  a `split` column of train/val/test); without one, files are split 80 / 10 / 10 by a hash of
  their name.
"""

import csv
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.data.acquire import FetchReport, FileSpec, ensure_files
from digitrec.data.numberset import MAX_LABEL, SPLITS, NumberSet
from digitrec.errors import DataError, UsageError
from digitrec.storage import atomic_write_text, read_regular_file


@dataclass(frozen=True)
class NumberDataset:
    name: str
    summary: str
    fetch: Callable[[str, Path | None], FetchReport | None]  # (variant, source)
    load: Callable[[str, Path | None], dict[str, NumberSet]]  # (variant, source) -> splits


def bucket(key: str, salt: str) -> int:
    """A fixed number 0-9 for this key: how the datasets here hold out by page or file."""
    return int(hashlib.sha256(f"{salt}-{key}".encode()).hexdigest(), 16) % 10


# ---- parish-rows ---------------------------------------------------------------------------

PARISH = FileSpec(
    "parish-rows-validation.tar",
    "7ef154ec19745b0d48112307bff1d1e3aff6895bb02a073150ae1fbd22e6b398",
)


def parish_page(file: str) -> str:
    """'died_K2709_0099a-DM_row_id_2.Jpg' -> 'died_K2709_0099a-DM', the scanned page."""
    return Path(file).name.rsplit("_row_id", 1)[0]


def parish_split(file: str) -> str:
    page = bucket(parish_page(file), "parish-page")
    return "test" if page < 3 else "val" if page == 3 else "train"


def _fetch_parish(_variant: str, source: Path | None) -> FetchReport:
    return ensure_files(
        "parish-rows",
        (PARISH,),
        source_dir=source,
        hint=f" Pass --source DIR holding {PARISH.name} (the team's copy: shared/data/parish-rows/).",
    )


def _load_parish(variant: str, source: Path | None) -> dict[str, NumberSet]:
    path = _fetch_parish(variant, source).path(PARISH.name)
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:") as archive:
            for member in archive:
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None:
                    files[Path(member.name).name] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(f"{path}: corrupt archive ({error})") from error
    if "labels.csv" not in files:
        raise DataError(f"{path}: no labels.csv inside")
    labels = _read_labels(files.pop("labels.csv"), f"{PARISH.name}:labels.csv")
    numbers = {name: text for name, text, _ in labels if text.isdigit()}
    return _assemble("parish-rows", numbers, files, parish_split)


# ---- written-numbers -----------------------------------------------------------------------

WRITTEN = FileSpec(
    "written-numbers-10digit.zip",
    "1e4de695a83b48882e733de2c6cc7acc677a1847d7f964de3a5b98ae758fec40",
)


def _fetch_written(_variant: str, source: Path | None) -> FetchReport:
    return ensure_files(
        "written-numbers",
        (WRITTEN,),
        source_dir=source,
        hint=f" Pass --source DIR holding {WRITTEN.name} (the team's copy: "
        "shared/data/written-numbers/).",
    )


def _load_written(variant: str, source: Path | None) -> dict[str, NumberSet]:
    path = _fetch_written(variant, source).path(WRITTEN.name)
    files: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = Path(info.filename).name
                if not info.is_dir() and name.lower().endswith((".jpg", ".jpeg", ".png")):
                    files[name] = archive.read(info)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{path}: corrupt archive ({error})") from error
    numbers = {name: Path(name).stem for name in files if Path(name).stem.isdigit()}
    return _assemble("written-numbers", numbers, files, lambda _file: "test")


# ---- strings:DIR ---------------------------------------------------------------------------


def _strings_root(variant: str) -> Path:
    if not variant:
        raise UsageError("name the folder: strings:DIR (images plus labels.csv)")
    root = Path(variant).expanduser()
    if not root.is_dir():
        raise DataError(f"strings:{variant}: {root} is not a directory")
    return root


def _fetch_strings(variant: str, _source: Path | None) -> None:
    """Read in place: nothing to fetch, but say now when there is nothing to read."""
    root = _strings_root(variant)
    if not (root / "labels.csv").is_file():
        raise DataError(f"strings:{variant}: no labels.csv in {root} (filename,label per row)")


def _load_strings(variant: str, source: Path | None) -> dict[str, NumberSet]:
    from digitrec.images import MAX_FILE_BYTES

    _fetch_strings(variant, source)
    root = _strings_root(variant)
    csv_path = root / "labels.csv"
    labels = _read_labels(read_regular_file(csv_path, MAX_FILE_BYTES), str(csv_path))
    for name, text, _ in labels:
        if not text.isdigit() or len(text) > MAX_LABEL:
            raise DataError(f"{csv_path}: {name}: label {text!r} is not 1-{MAX_LABEL} digits")
    files: dict[str, bytes] = {}
    for name, _, _ in labels:
        path = root / name
        if not path.exists():
            raise DataError(f"{csv_path}: {name} is not a file in {root}")
        files[name] = read_regular_file(path, MAX_FILE_BYTES)
    chosen = {name: split for name, _, split in labels if split}

    def split_of(file: str) -> str:
        if file in chosen:
            return chosen[file]
        part = bucket(file, "strings-file")
        return "test" if part == 0 else "val" if part == 1 else "train"

    return _assemble(f"strings:{variant}", {n: t for n, t, _ in labels}, files, split_of)


# ---- feedback-numbers:PATH -----------------------------------------------------------------


def _feedback_path(variant: str) -> Path:
    from digitrec.data.feedback import default_store_path

    return Path(variant).expanduser() if variant else default_store_path()


def _fetch_feedback_numbers(variant: str, _source: Path | None) -> None:
    """Read in place: say now when there is no store."""
    path = _feedback_path(variant)
    if not path.is_file():
        raise DataError(f"{path}: no feedback database (start `digitrec serve` and submit some)")


def _load_feedback_numbers(variant: str, _source: Path | None) -> dict[str, NumberSet]:
    from digitrec.data.feedback_sets import number_feedback_parts

    return number_feedback_parts(_feedback_path(variant))


# ---- shared --------------------------------------------------------------------------------


def write_labels(path: Path, rows: Iterable[tuple[str, str, str]]) -> None:
    """Write labels.csv (header `filename,label,split`) atomically: the file `_read_labels` reads,
    so that the folder holding it is a `strings:DIR` dataset."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["filename", "label", "split"])
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())


def _read_labels(data: bytes, origin: str) -> list[tuple[str, str, str]]:
    """labels.csv -> (filename, label, split or "") rows; a header `filename,label[,split]`."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{origin}: not a UTF-8 CSV file ({error})") from error
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["filename", "label"]:
        raise DataError(f"{origin}: the first row must be the header filename,label[,split]")
    has_split = len(rows[0]) > 2 and rows[0][2].strip().lower() == "split"
    out, seen = [], set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise DataError(f"{origin} line {number}: expected filename,label")
        name, text = row[0].strip(), row[1].strip()
        split = row[2].strip().lower() if has_split and len(row) > 2 else ""
        if split and split not in SPLITS:
            raise DataError(f"{origin} line {number}: split {split!r} is not train, val or test")
        if name in seen:
            raise DataError(f"{origin} line {number}: {name} is listed twice")
        seen.add(name)
        out.append((name, text, split))
    if not out:
        raise DataError(f"{origin}: no labelled images")
    return out


def _assemble(
    name: str,
    numbers: dict[str, str],
    files: dict[str, bytes],
    split_of: Callable[[str], str],
) -> dict[str, NumberSet]:
    """Decode the labelled files (sorted by name) into their splits; 'all' is every one."""
    from digitrec.images import decode_image

    missing = sorted(set(numbers) - set(files))
    if missing:
        raise DataError(f"{name}: labels.csv names {len(missing)} missing files, e.g. {missing[0]}")
    by_split: dict[str, tuple[list[np.ndarray], list[str], list[str]]] = {}
    for file in sorted(numbers):
        images, texts, names = by_split.setdefault(split_of(file), ([], [], []))
        images.append(decode_image(files[file], f"{name}:{file}"))
        texts.append(numbers[file])
        names.append(file)
    splits = {s: NumberSet(name, s, *by_split[s]) for s in SPLITS if s in by_split}
    splits["all"] = NumberSet(name, "all", *_pooled(splits.values()))
    return splits


def _pooled(sets: Iterable[NumberSet]) -> tuple[list[np.ndarray], list[str], list[str]]:
    images: list[np.ndarray] = []
    texts: list[str] = []
    files: list[str] = []
    for each in sets:
        images += each.images
        texts += each.texts
        files += each.files
    return images, texts, files


NUMBER_DATASETS: dict[str, NumberDataset] = {
    "parish-rows": NumberDataset(
        "parish-rows",
        "real row numbers in ruled cells of scanned parish records, split by page",
        _fetch_parish,
        _load_parish,
    ),
    "written-numbers": NumberDataset(
        "written-numbers",
        "600 real 10-digit numbers written with a pen on paper (test only)",
        _fetch_written,
        _load_written,
    ),
    "strings": NumberDataset(
        "strings",
        "your own numbers: strings:DIR, images plus labels.csv (filename,label[,split])",
        _fetch_strings,
        _load_strings,
    ),
    "feedback-numbers": NumberDataset(
        "feedback-numbers",
        "the numbers corrected through `digitrec serve`: feedback-numbers[:PATH] (the newest 20%"
        " by time are test)",
        _fetch_feedback_numbers,
        _load_feedback_numbers,
    ),
}


def is_number_dataset(spec: str) -> bool:
    return spec.partition(":")[0] in NUMBER_DATASETS


def parse_number_spec(spec: str) -> tuple[NumberDataset, str]:
    name, _, variant = spec.partition(":")
    if name not in NUMBER_DATASETS:
        raise UsageError(
            f"unknown number dataset {spec!r}; choose from {', '.join(NUMBER_DATASETS)}"
        )
    if variant and name not in ("strings", "feedback-numbers"):
        raise UsageError(f"{name} has no variants (got {spec!r})")
    return NUMBER_DATASETS[name], variant


def fetch_numbers(spec: str, source: Path | None = None) -> FetchReport | None:
    entry, variant = parse_number_spec(spec)
    return entry.fetch(variant, source)


def load_numbers(spec: str, source: Path | None = None) -> dict[str, NumberSet]:
    """Every split of a number dataset: a subset of train, val, test, and all."""
    entry, variant = parse_number_spec(spec)
    return entry.load(variant, source)
