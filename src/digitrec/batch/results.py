"""Where a batch's rows go, a chunk at a time, so that a run killed at any point (kill -9
included) and started again neither loses nor repeats a file:

- JSON Lines (`RESULTS.jsonl`): each chunk appended in one write, flushed and synced; a torn
  last line (the process died mid-write) is cut off when the run resumes.
- Parquet (`RESULTS.parquet`, a folder): each chunk one part file, `part-NNNNNN.parquet`,
  written atomically; the folder reads as one table (`pyarrow.parquet.read_table(folder)`).

Rows are in the inputs' order, so the results hold a prefix of the inputs; `done()` streams the
files of that prefix (a resumed run checks them against its inputs, then skips them).
"""

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from digitrec.errors import DataError, UsageError
from digitrec.extras import require

# The columns of each kind of row (`read --format json`, `predict --format json`): every row
# has all of them (absent: null), so every Parquet part has one schema.
FIELDS = {
    "read": ("file", "text", "confidence", "digits", "reason", "error"),
    "predict": ("file", "digit", "confidence", "probabilities", "top3", "reason", "error"),
}


class Results:
    """The results file of one batch run."""

    def __init__(self, path: Path, task: str) -> None:
        self.path, self.task = path, task

    @property
    def settings_path(self) -> Path:
        raise NotImplementedError

    def keep_settings(self, settings: dict[str, Any]) -> None:
        """Record what the rows are made with; refuse to add rows made otherwise (another task,
        model, reader or threshold than the run that began these results)."""
        from digitrec.storage import atomic_write_json, read_json_object

        kept = read_json_object(self.settings_path, missing_ok=True)
        if kept and kept != settings:
            differ = ", ".join(
                f"{key} {kept.get(key)!r} then, {settings.get(key)!r} now"
                for key in sorted(set(kept) | set(settings))
                if kept.get(key) != settings.get(key)
            )
            raise UsageError(f"--out {self.path} was begun with other settings ({differ})")
        if not kept:
            atomic_write_json(self.settings_path, settings)

    def done(self) -> Iterator[str]:
        raise NotImplementedError

    def append(self, rows: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def shaped(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{name: row.get(name) for name in FIELDS[self.task]} for row in rows]


class JsonLines(Results):
    @property
    def settings_path(self) -> Path:
        return self.path.with_name(self.path.name + ".settings.json")

    def done(self) -> Iterator[str]:
        if not self.path.exists():
            return
        kept = 0
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith(b"\n"):
                    break  # torn by a kill: written again
                try:
                    yield str(json.loads(line)["file"])
                except (ValueError, KeyError, TypeError):
                    raise DataError(
                        f"{self.path}: line {number} is not a result row; "
                        "give another --out (or remove it)"
                    ) from None
                kept += len(line)
        if kept != self.path.stat().st_size:
            with self.path.open("r+b") as handle:
                handle.truncate(kept)

    def append(self, rows: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(row) + "\n" for row in self.shaped(rows))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())


class ParquetParts(Results):
    next_part: int = 0

    @property
    def settings_path(self) -> Path:
        return self.path / "_settings.json"  # "_": not a part, to pyarrow and to `_parts`

    def _parts(self) -> list[Path]:
        found = self.path.glob("part-*.parquet") if self.path.is_dir() else []
        return sorted(found, key=lambda part: int(part.stem.removeprefix("part-") or 0))

    def done(self) -> Iterator[str]:
        pq = require("pyarrow.parquet")
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"--out {self.path}: a Parquet result is a folder; this is a file")
        for part in self._parts():
            try:
                names = pq.read_table(part, columns=["file"])["file"].to_pylist()
            except Exception as error:  # pyarrow's own errors (a part damaged by hand)
                raise DataError(f"{part}: not a readable result part ({error})") from None
            yield from (str(name) for name in names)
            self.next_part = int(part.stem.removeprefix("part-")) + 1

    def append(self, rows: list[dict[str, Any]]) -> None:
        import io

        from digitrec.storage import atomic_write_bytes

        pa, pq = require("pyarrow"), require("pyarrow.parquet")

        table = pa.Table.from_pylist(self.shaped(rows), schema=SCHEMAS[self.task]())
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path / f"part-{self.next_part:06d}.parquet", buffer.getvalue())
        self.next_part += 1


def _read_schema() -> Any:
    pa = require("pyarrow")
    digit = pa.struct([("digit", pa.int64()), ("confidence", pa.float64()),
                       ("box", pa.list_(pa.int64()))])  # fmt: skip
    return pa.schema([("file", pa.string()), ("text", pa.string()),
                      ("confidence", pa.float64()), ("digits", pa.list_(digit)),
                      ("reason", pa.string()), ("error", pa.string())])  # fmt: skip


def _predict_schema() -> Any:
    pa = require("pyarrow")
    top = pa.struct([("digit", pa.int64()), ("probability", pa.float64())])
    return pa.schema([("file", pa.string()), ("digit", pa.int64()),
                      ("confidence", pa.float64()), ("probabilities", pa.list_(pa.float64())),
                      ("top3", pa.list_(top)), ("reason", pa.string()),
                      ("error", pa.string())])  # fmt: skip


SCHEMAS = {"read": _read_schema, "predict": _predict_schema}


def results_at(path: Path, task: str) -> Results:
    """The results for `--out PATH`: .jsonl (JSON Lines) or .parquet (a folder of parts)."""
    if path.suffix == ".jsonl":
        return JsonLines(path, task)
    if path.suffix == ".parquet":
        return ParquetParts(path, task)
    raise UsageError(f"--out {path}: name it RESULTS.jsonl (JSON Lines) or RESULTS.parquet")
