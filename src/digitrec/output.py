"""Rendering results: tables for people on a terminal; JSON Lines, CSV and tab-separated rows
for programs (stdout or a file)."""

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

stdout_console = Console(highlight=False)


def print_files(title: str, files: list[dict[str, str]]) -> None:
    """One line per verified file: name, full SHA-256 and where it came from."""
    stdout_console.print(f"[bold]{escape(title)}[/]")
    width = max(len(row["name"]) for row in files)
    for row in files:
        name, origin = escape(f"{row['name']:<{width}}"), escape(row["origin"])
        stdout_console.print(
            f"  [green]✓[/] {name}  sha256 {row['sha256']}  [dim]{origin}[/]", soft_wrap=True
        )


def print_summary(summary: dict[str, Any]) -> None:
    """Print `digitrec.data.summary.summarize`'s result: files, then a class-by-split table."""
    title = summary["dataset"] + (f":{summary['variant']}" if summary["variant"] else "")
    if summary["files"]:
        print_files(f"{title}: files in {summary['cache']}", summary["files"])
    splits: dict[str, dict[str, Any]] = summary["splits"]
    if summary.get("kind") == "numbers":
        _print_number_splits(title, splits)
        return
    table = Table(
        title=escape(
            f"{title}: images per class and split (scheme {summary['scheme']}, "
            f"seed {summary['seed']})"
        ),
        title_justify="left",
    )
    table.add_column("class")
    for name in splits:
        table.add_column(name, justify="right")
    for index, label in enumerate(summary["classes"]):
        table.add_row(escape(label), *(_count_and_share(split, index) for split in splits.values()))
    table.add_section()
    table.add_row("total", *(f"{split['count']:,}" for split in splits.values()))
    table.add_row("size", *("×".join(map(str, split["image_shape"])) for split in splits.values()))
    stdout_console.print(table)


def _print_number_splits(title: str, splits: dict[str, dict[str, Any]]) -> None:
    table = Table(title=escape(f"{title}: numbers per length and split"), title_justify="left")
    table.add_column("digits")
    for name in splits:
        table.add_column(name, justify="right")
    lengths = sorted({int(n) for split in splits.values() for n in split["length_counts"]})
    for length in lengths:
        table.add_row(
            str(length),
            *(f"{split['length_counts'].get(length, 0):,}" for split in splits.values()),
        )
    table.add_section()
    table.add_row("total", *(f"{split['count']:,}" for split in splits.values()))
    stdout_console.print(table)


def _count_and_share(split: dict[str, Any], index: int) -> str:
    count = split["class_counts"][index]
    return f"{count:,} ({count / max(split['count'], 1):.1%})"


FORMATS = ("table", "json", "csv")
# (results, for people?) -> header, rows; for programs (csv, tab-separated) numbers stay plain
Rows = Callable[[Sequence[Any], bool], tuple[list[str], list[list[str]]]]
WIDE_COLUMNS = ("file", "note")  # cut with "…" when a terminal is too narrow; others never


def print_results(results: Sequence[Any], fmt: str, rows: Rows, out: Path | None = None) -> int:
    """Write results as `fmt` (FORMATS): json, one object per result and line; csv; table, a
    table fitted to the terminal, or tab-separated rows when stdout is not one (or to `out`).
    To `out` when given (written atomically), else to stdout. The exit status: 1 if any result
    has an `error`, else 0."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "json":
        text = "".join(json.dumps(result.to_json()) + "\n" for result in results)
    elif fmt == "csv" or out is not None or not stdout_console.is_terminal:
        header, body = rows(results, False)
        text = _csv(header, body) if fmt == "csv" else _tsv(header, body)
    else:
        header, body = rows(results, True)
        table, needed = fitted_table(header, body, stdout_console.width)
        wider = needed > stdout_console.width  # wrapped by the terminal, a row at a time
        console = Console(highlight=False, width=needed) if wider else stdout_console
        console.print(table)
        text = None
    if text is not None:
        if out is not None:
            from digitrec.storage import atomic_write_text

            atomic_write_text(out, text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    return 1 if any(result.error for result in results) else 0


def fitted_table(header: list[str], body: list[list[str]], width: int) -> tuple[Table, int]:
    """A table in `width` columns, and the width it needs: every column as wide as its longest
    cell but the file and the note (WIDE_COLUMNS), which get what is left — the file first, the
    note the rest — cut with "…", never under 8 columns each (or their longest cell) (a terminal narrower than that
    gets the table wider, wrapped by the terminal a whole row at a time)."""
    longest = [
        max([len(column), *(len(row[i]) for row in body)]) for i, column in enumerate(header)
    ]
    gap = 2
    widths = list(longest)
    left = width - gap * (len(header) - 1)
    left -= sum(w for w, c in zip(longest, header, strict=True) if c not in WIDE_COLUMNS)
    wide = [i for i, c in enumerate(header) if c in WIDE_COLUMNS]
    for order, i in enumerate(wide):
        still = len(wide) - order - 1  # wide columns after this one, 8 columns each at least
        widths[i] = min(longest[i], max(8, left - 8 * still))
        left -= widths[i]
    table = Table(box=None, padding=(0, gap, 0, 0), collapse_padding=True, pad_edge=False)
    for column, size in zip(header, widths, strict=True):
        table.add_column(column, no_wrap=True, overflow="ellipsis", width=size)
    for row in body:
        table.add_row(*(escape(cell) for cell in row))
    return table, sum(widths) + gap * (len(header) - 1)


def shown_share(p: float, for_people: bool) -> str:
    """A probability as a table shows it (53.0%) or as programs read it (0.529769)."""
    return f"{p:.1%}" if for_people else f"{p:.6f}"


def shown_path(name: str) -> str:
    """A file name as a person wants it in a table: relative to the working folder when inside
    it, else as given."""
    path = Path(name)
    if not path.is_absolute():
        return name
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return name


def _tsv(header: list[str], body: list[list[str]]) -> str:
    def clean(cell: str) -> str:
        return cell.replace("\t", " ").replace("\r", " ").replace("\n", " ")

    return "".join("\t".join(clean(c) for c in row) + "\n" for row in [header, *body])


def _csv(header: list[str], body: list[list[str]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([header, *body])
    return buffer.getvalue()
