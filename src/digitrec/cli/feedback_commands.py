"""`digitrec feedback export|list|relabel|delete`: the corrections users submitted through the
web page and `POST /v1/feedback`, reviewed on this machine (the store itself, not the API) and
written as a folder dataset to fine-tune on."""

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from digitrec.output import FORMATS, print_results


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    feedback = commands.add_parser("feedback", help="the corrections users submitted")
    actions = feedback.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="write them as a 0/ … 9/ folder dataset that `digitrec train` can fine-tune on",
    )
    export.add_argument("out", type=Path, metavar="DIR")
    export.set_defaults(handler=run_feedback_export)
    listing = actions.add_parser("list", help="a page of them, newest first, with the counts")
    listing.add_argument("--label", type=int, choices=range(10), metavar="0-9")
    listing.add_argument("--model", help="only those the MODEL read")
    listing.add_argument("--kind", choices=["correction", "confirmation"])
    listing.add_argument("--limit", type=int, default=50, help="rows (1-100; 50)")
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--format", choices=FORMATS, default="table")
    listing.set_defaults(handler=run_feedback_list)
    relabel = actions.add_parser("relabel", help="give one the right label")
    relabel.add_argument("id", type=int)
    relabel.add_argument("label", type=int, choices=range(10), metavar="LABEL")
    relabel.set_defaults(handler=run_feedback_relabel)
    delete = actions.add_parser("delete", help="delete some (up to 100 at once)")
    delete.add_argument("ids", type=int, nargs="+", metavar="ID")
    delete.set_defaults(handler=run_feedback_delete)
    for action in (export, listing, relabel, delete):
        action.add_argument("--db", type=Path, help="($DIGITREC_HOME/feedback.db)")


@contextmanager
def _usable(db: Path) -> Iterator[None]:
    """A file that is not a feedback database, or one that cannot be used now (locked, read
    only): one line, not a traceback."""
    import sqlite3

    from digitrec.errors import DataError

    try:
        yield
    except sqlite3.DatabaseError as error:
        raise DataError(f"{db}: not a usable feedback database ({error})") from None


def _database(args: argparse.Namespace) -> Path:
    from digitrec.errors import DataError
    from digitrec.serve.settings import ServeSettings

    db: Path = args.db or ServeSettings().feedback_path()
    if not db.is_file():
        raise DataError(f"{db}: no feedback database (start `digitrec serve` and submit some)")
    return db


def run_feedback_export(args: argparse.Namespace) -> int:
    from digitrec.serve.feedback import export_feedback

    counts = export_feedback(_database(args), args.out)
    total = sum(counts.values())
    per_label = ", ".join(f"{label}: {n}" for label, n in counts.items() if n)
    print(f"wrote {total} images to {args.out}" + (f" ({per_label})" if per_label else ""))
    return 0


def _rows(items: Sequence[Any], for_people: bool) -> tuple[list[str], list[list[str]]]:
    header = ["id", "created", "predicted", "label", "kind", "confidence", "model", "file"]
    body = [
        [
            str(item.id),
            item.created[:19].replace("T", " ") if for_people else item.created,
            "-" if item.predicted is None else str(item.predicted),
            str(item.label),
            item.kind,
            f"{item.confidence:.1%}" if for_people else f"{item.confidence:.6f}",
            item.model,
            item.source,
        ]
        for item in items
    ]
    return header, body


def run_feedback_list(args: argparse.Namespace) -> int:
    from digitrec.serve.feedback import FeedbackStore

    db = _database(args)
    with _usable(db):
        page = FeedbackStore(db, read_only=True).page(
            offset=args.offset, limit=args.limit, label=args.label, model=args.model, kind=args.kind
        )
    print_results(page.items, args.format, _rows)
    if args.format == "table":
        shown = f"{args.offset + 1}-{args.offset + len(page.items)}" if page.items else "none"
        print(
            f"{shown} of {page.total} shown; the store holds {page.corrections} corrections "
            f"and {page.confirmations} confirmations"
        )
    return 0


def run_feedback_relabel(args: argparse.Namespace) -> int:
    from digitrec.errors import UsageError
    from digitrec.serve.feedback import FeedbackStore

    db = _database(args)
    with _usable(db):
        row = FeedbackStore(db).relabel(args.id, args.label)
    if row is None:
        raise UsageError(f"no correction {args.id} in the store")
    note = "" if row.id == args.id else f" (the same image had that label already: row {row.id})"
    print(f"correction {row.id} is now a {row.label}, a {row.kind}{note}")
    return 0


def run_feedback_delete(args: argparse.Namespace) -> int:
    from digitrec.serve.feedback import FeedbackStore

    db = _database(args)
    with _usable(db):
        deleted = FeedbackStore(db).delete(sorted(set(args.ids)))
    print(f"deleted {deleted} of {len(set(args.ids))} corrections")
    return 0 if deleted == len(set(args.ids)) else 1
