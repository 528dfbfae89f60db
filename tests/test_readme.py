"""README.md's command lines stay true to the CLI: every `digitrec ...` line in its code blocks
either parses (an example, as a user would paste it) or, where it is a synopsis (`[--option]`,
`A|B`, `...`), names only commands and options that exist."""

import argparse
import re
import shlex
from pathlib import Path

import pytest

from digitrec.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def command_lines() -> list[str]:
    """The `digitrec ...` lines of README's fenced code blocks, without trailing comments."""
    lines, inside = [], False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside and line.startswith("digitrec "):
            lines.append(re.sub(r"\s+#.*$", "", line).strip())
    return lines


def is_synopsis(line: str) -> bool:
    return any(mark in line for mark in "[]|…") or "..." in line


def subcommand(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    """The deepest subparser `words` name (`data fetch` -> the fetch parser)."""
    for word in words:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word not in actions[0].choices:
            break
        parser = actions[0].choices[word]
    return parser


LINES = command_lines()


def test_the_readme_has_command_lines_of_both_kinds() -> None:
    assert sum(map(is_synopsis, LINES)) >= 10 and sum(not is_synopsis(x) for x in LINES) >= 8


@pytest.mark.parametrize("line", [x for x in LINES if not is_synopsis(x)])
def test_each_example_parses(line: str) -> None:
    build_parser().parse_args(shlex.split(line)[1:])  # a UsageError names what is wrong


@pytest.mark.parametrize("line", [x for x in LINES if is_synopsis(x)])
def test_each_synopsis_names_options_that_exist(line: str) -> None:
    words = line.split()[1:]
    parser = subcommand(build_parser(), [w for w in words if re.fullmatch(r"[a-z][a-z-]*", w)])
    named = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", line))
    unknown = sorted(o for o in named if o not in parser._option_string_actions)
    assert not unknown, f"{parser.prog} has no {', '.join(unknown)}"
    if parser.prog != "digitrec":  # the line names a command
        assert parser.prog.split()[1:] == words[: len(parser.prog.split()) - 1]
