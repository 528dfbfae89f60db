"""Rendering results for people: tables and lines on stdout (machine-readable output is JSON)."""

import json
from collections.abc import Callable, Sequence
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


def print_results(
    results: Sequence[Any], as_json: bool, table: Callable[[Sequence[Any]], None]
) -> int:
    """One JSON object per result and line, or the command's table; the exit status: 1 if any
    result has an `error`, else 0."""
    if as_json:
        for result in results:
            print(json.dumps(result.to_json()))
    else:
        table(results)
    return 1 if any(result.error for result in results) else 0
