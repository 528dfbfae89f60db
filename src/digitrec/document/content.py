"""A report as data — a title, where and how it was made, sections of text, tables and figures —
and its renderings: `report.md` with the figures as PNG files beside it, a self-contained
`report.html` with the same figures inline (base64 `data:` URIs; it loads nothing from anywhere),
and `report.json` with the numbers for programs. Every file is written atomically.

Text blocks take a small subset of Markdown that both renderings understand: `code` and **bold**.
"""

import base64
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digitrec.storage import atomic_write_bytes, atomic_write_text


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row {row} has {len(row)} cells for {len(self.columns)} columns")


@dataclass
class Figure:
    name: str  # file stem of the PNG beside report.md, e.g. "confusion-cnn-small"
    caption: str
    png: bytes


Block = str | Table | Figure


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    title: str
    command: str  # the command that made it, shown at the top
    machine: dict[str, Any]  # cpu, cores, threads, versions, git commit (shown at the top)
    sections: list[Section]
    results: dict[str, Any]  # the numbers, as report.json
    summary: str = ""  # a paragraph under the title

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


def write_report(report: Report, out: Path) -> list[Path]:
    """Write report.md, report.html, report.json and one PNG per figure into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    names = [figure.name for figure in report.figures()]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"figure names must be unique: {', '.join(duplicates)}")
    written = []
    for figure in report.figures():
        path = out / f"{figure.name}.png"
        atomic_write_bytes(path, figure.png)
        written.append(path)
    for name, text in (
        ("report.md", to_markdown(report)),
        ("report.html", to_html(report)),
        ("report.json", json.dumps(_json_record(report), indent=2) + "\n"),
    ):
        atomic_write_text(out / name, text)
        written.append(out / name)
    return written


def _json_record(report: Report) -> dict[str, Any]:
    return {
        "title": report.title,
        "command": report.command,
        "machine": report.machine,
        "results": report.results,
    }


def provenance_lines(report: Report) -> list[str]:
    machine = report.machine
    versions = machine.get("versions", {})
    lines = [
        f"Command: `{report.command}`",
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
        f"threads used: {machine.get('threads', '?')}, {machine.get('system', '?')}, "
        f"Python {machine.get('python', '?')}, "
        + ", ".join(f"{name} {version}" for name, version in versions.items()),
        f"Code: git commit `{machine.get('git_commit') or 'unknown'}`; "
        f"written {machine.get('date') or datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
    ]
    return lines


# --- Markdown ---------------------------------------------------------------------------------


def to_markdown(report: Report) -> str:
    parts = [f"# {report.title}", "\n\n".join(provenance_lines(report))]
    if report.summary:
        parts.append(report.summary)
    for section in report.sections:
        parts.append(f"## {section.title}")
        for block in section.blocks:
            if isinstance(block, Table):
                parts.append(_markdown_table(block))
            elif isinstance(block, Figure):
                parts.append(f"![{block.caption}]({block.name}.png)\n\n*{block.caption}*")
            else:
                parts.append(block)
    return "\n\n".join(parts) + "\n"


def _markdown_table(table: Table) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    rule = ["---:" if right else "---" for right in _right_aligned(table)]
    lines = ["| " + " | ".join(cell(c) for c in table.columns) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    text = "\n".join(lines)
    return f"{text}\n\n*{table.caption}*" if table.caption else text


def _right_aligned(table: Table) -> list[bool]:
    """Columns of numbers are right-aligned: every cell starts like a number (or is a dash)."""
    number = re.compile(r"^(—|n/a|[-+]?[\d.,]+)")
    return [
        bool(table.rows) and all(number.match(row[i]) for row in table.rows)
        for i in range(len(table.columns))
    ]


# --- HTML -------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
.number { text-align: right; }
th { background: #f3f3f3; }
caption { caption-side: bottom; font-style: italic; padding-top: 0.3em; text-align: left; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; }
figcaption { font-style: italic; }
code { background: #f3f3f3; padding: 0 0.2em; }
.provenance { color: #555; font-size: 0.9em; }
"""


def to_html(report: Report) -> str:
    body = [f"<h1>{html.escape(report.title)}</h1>", '<div class="provenance">']
    body += [f"<p>{_inline(line)}</p>" for line in provenance_lines(report)]
    body.append("</div>")
    if report.summary:
        body.append(f"<p>{_inline(report.summary)}</p>")
    for section in report.sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                body.append(_html_table(block))
            elif isinstance(block, Figure):
                data = base64.b64encode(block.png).decode("ascii")
                body.append(
                    f'<figure><img alt="{html.escape(block.caption)}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{_inline(block.caption)}</figcaption></figure>"
                )
            else:
                body.append(f"<p>{_inline(block)}</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(report.title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _html_table(table: Table) -> str:
    right = _right_aligned(table)

    def cells(tag: str, texts: list[str]) -> str:
        return "".join(
            f'<{tag} class="number">{_inline(t)}</{tag}>' if r else f"<{tag}>{_inline(t)}</{tag}>"
            for t, r in zip(texts, right, strict=True)
        )

    head = cells("th", table.columns)
    rows = "".join(f"<tr>{cells('td', row)}</tr>" for row in table.rows)
    caption = f"<caption>{_inline(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _inline(text: str) -> str:
    """Escape for HTML, then render `code` and **bold**."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
