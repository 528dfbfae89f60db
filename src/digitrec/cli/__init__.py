"""The `digitrec` command: a thin layer that parses arguments and calls the Python API.

Every user-facing failure is a `DigitrecError` printed as one line on stderr with a non-zero exit;
`--verbose` adds the traceback. Heavy libraries are imported by the subcommand that needs them.
"""

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from digitrec import __version__
from digitrec.errors import DigitrecError, UsageError


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as a UsageError, like every other failure."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from digitrec.cli import (
        batch_commands,
        data_commands,
        evaluate_commands,
        export_commands,
        feedback_commands,
        model_commands,
        predict_commands,
        read_commands,
        reader_commands,
        report_commands,
        serve_commands,
        train_commands,
    )

    parser = _Parser(
        prog="digitrec",
        description="Recognize handwritten digits and numbers; train and compare models.",
    )
    parser.add_argument("--version", action="version", version=f"digitrec {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show tracebacks and more detail on errors"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    data_commands.register(commands)
    model_commands.register(commands)
    train_commands.register(commands)
    evaluate_commands.register(commands)
    predict_commands.register(commands)
    read_commands.register(commands)
    reader_commands.register(commands)
    export_commands.register(commands)
    report_commands.register(commands)
    serve_commands.register(commands)
    feedback_commands.register(commands)
    batch_commands.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args_list or "--verbose" in args_list
    try:
        parser = build_parser()
        args = parser.parse_args(args_list)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 0
        code: int = args.handler(args)
        return code
    except DigitrecError as error:
        if verbose:
            traceback.print_exc()
        print(f"digitrec: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("digitrec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:  # disk full, permissions: the user can act on these
        if verbose:
            traceback.print_exc()
        print(f"digitrec: error: {error}", file=sys.stderr)
        return 1
