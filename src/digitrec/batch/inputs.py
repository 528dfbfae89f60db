"""The files a batch reads, streamed in an order that is the same on every run (a resumed run
skips as many as the results hold): a folder (recursive; each directory's entries sorted, only
image files), a glob (`**` recursive; the matches of each directory sorted), or a manifest —
`.txt` (one path per line), `.csv` (a column: `--column`, default the first) or `.parquet` (a
column, read a batch of rows at a time). A manifest's relative paths are relative to it."""

import csv
import glob
import os
from collections.abc import Iterator
from pathlib import Path

from digitrec.errors import UsageError
from digitrec.images import IMAGE_SUFFIXES

MANIFESTS = (".txt", ".csv", ".parquet")


def input_paths(spec: str, column: str | None = None) -> Iterator[str]:
    """The paths `spec` names, one at a time; a UsageError (one line) for a spec that names
    nothing readable. Raised when iterated first."""
    path = Path(spec).expanduser()
    if path.is_dir():
        yield from _walk(path)
    elif path.is_file() and path.suffix.lower() in MANIFESTS:
        yield from _manifest(path, column)
    elif glob.has_magic(spec):
        yield from _globbed(spec)
    elif path.is_file():
        raise UsageError(f"{spec}: a manifest is {', '.join(MANIFESTS)}; give a folder or a glob")
    else:
        raise UsageError(f"{spec}: no such folder, glob or manifest")


def _walk(folder: Path) -> Iterator[str]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        raise UsageError(f"{folder}: cannot list ({error.strerror})") from None
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES:
            yield entry.path


def _globbed(pattern: str) -> Iterator[str]:
    """The files matching, sorted within each directory (glob's own order is the filesystem's):
    `dir/**/*.png` is `Path("dir").glob("**/*.png")`, streamed."""
    parts = Path(pattern).expanduser().parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    base = Path(*parts[:fixed]) if fixed else Path()
    batch: list[str] = []
    folder = None
    for match in base.glob(str(Path(*parts[fixed:]))):
        if not match.is_file():
            continue
        if match.parent != folder and batch:
            yield from sorted(batch)
            batch = []
        folder = match.parent
        batch.append(str(match))
    yield from sorted(batch)


def _manifest(path: Path, column: str | None) -> Iterator[str]:
    root = path.parent
    suffix = path.suffix.lower()
    if suffix == ".txt":
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.strip() and not line.lstrip().startswith("#"):
                    yield str(root / line.strip())
    elif suffix == ".csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            rows = csv.reader(handle)
            header = next(rows, None)
            if header is None:
                return
            index = _column_index(path, header, column)
            for row in rows:
                if len(row) > index and row[index].strip():
                    yield str(root / row[index].strip())
    else:
        from digitrec.extras import require

        pq = require("pyarrow.parquet")
        try:
            table = pq.ParquetFile(path)
        except Exception as error:  # pyarrow's own errors: one line
            raise UsageError(f"{path}: not a readable Parquet file ({error})") from None
        names = table.schema_arrow.names
        name = names[_column_index(path, names, column)]
        for batch in table.iter_batches(columns=[name], batch_size=4096):
            for value in batch.column(0).to_pylist():
                if value:
                    yield str(root / str(value))


def _column_index(path: Path, names: list[str], column: str | None) -> int:
    if column is None:
        if not names:
            raise UsageError(f"{path}: no columns")
        return 0
    if column not in names:
        raise UsageError(f"{path}: no column {column!r} (it has {', '.join(names)})")
    return names.index(column)
