"""The files a batch reads, streamed in an order that is the same on every run (a resumed run
skips as many as the results hold): a folder (recursive; each directory's entries sorted, only
image files), a glob (`**/` any folders; the folder before its first wildcard walked in the same
order, image files only), or a manifest — `.txt` (one path per line), `.csv` (a header row, then
the column `--column`, default the first) or `.parquet` (a column, read a batch of rows at a
time). A manifest's relative paths are relative to it."""

import csv
import glob
import os
import re
from collections.abc import Iterator
from pathlib import Path

from digitrec.errors import UsageError
from digitrec.images import IMAGE_SUFFIXES

MANIFESTS = (".txt", ".csv", ".parquet")


def input_paths(spec: str, column: str | None = None) -> Iterator[str]:
    """The paths `spec` names, one at a time; a UsageError (one line) for a spec that names
    nothing readable, or no file at all. Raised when iterated first."""
    found = False
    for path in _named(spec, column):
        found = True
        yield path
    if not found:
        there = "no image file in it" if Path(spec).expanduser().is_dir() else "names no file"
        raise UsageError(f"{spec}: {there}")


def _named(spec: str, column: str | None) -> Iterator[str]:
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
    """A folder's image files: each directory's entries sorted by name, subfolders in place."""
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
    """The image files matching, in `_walk`'s order: the folder before the first part with a
    wildcard is walked, each path under it matched (`**/` any folders, none included; `*` and
    `?` within a name; `[...]`), so nothing is held but the directory being read."""
    parts = Path(pattern).expanduser().parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    base = Path(*parts[:fixed]) if fixed else Path()
    matcher = _matcher("/".join(parts[fixed:]))
    if not base.is_dir():
        return
    for path in _walk(base):
        if matcher.fullmatch(Path(path).relative_to(base).as_posix()):
            yield path


def _matcher(pattern: str) -> "re.Pattern[str]":
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:[^/]+/)*", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            inside = pattern[i + 1 : end]
            out += "[" + ("^" + inside[1:] if inside.startswith("!") else inside) + "]"
            i = end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


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
