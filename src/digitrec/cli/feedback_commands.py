"""`digitrec feedback export|list|relabel|delete|train`: the corrections users submitted through
the web page, `POST /v1/feedback` and `POST /v1/feedback/numbers`, reviewed on this machine (the store itself, not the API),
written as a folder dataset, and trained on: a fine-tuned model and its gate
(`learning.retrain`), once or after every N new corrections (`--watch`)."""

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
    relabel.add_argument("label", metavar="LABEL", help="a digit 0-9 (--numbers: the number)")
    relabel.set_defaults(handler=run_feedback_relabel)
    delete = actions.add_parser("delete", help="delete some (up to 100 at once)")
    delete.add_argument("ids", type=int, nargs="+", metavar="ID")
    delete.set_defaults(handler=run_feedback_delete)
    train = actions.add_parser(
        "train",
        help="fine-tune the model on them (with a replay of its training data), then gate it",
        description="Fine-tune the served digit classifier on the digit corrections (the "
        "newest 20%% by time held out) plus a replay of its own training data, and the line "
        "reader on the number corrections (into RUN/reader/) plus a replay of its own, then gate "
        "them: the held-out corrections must improve, and MNIST test, the real validation sets "
        "fetched here and synthetic validation lines must not fall past their tolerances. "
        "`digitrec models promote RUN` makes them the models in use. With --watch: after every "
        "--every new corrections, train, gate and promote.",
    )
    train.add_argument(
        "--out", type=Path, required=True, help="the run directory (--watch: a folder of runs)"
    )
    train.add_argument("--base", help="the model to improve (default: the active version)")
    train.add_argument(
        "--replay", help="data replayed beside the corrections (default: the base model's own)"
    )
    train.add_argument(
        "--repeats", type=float, help="times training sees each correction, about (30)"
    )
    train.add_argument("--steps", type=int, help="optimizer steps (300)")
    train.add_argument("--lr", type=float, help="peak learning rate, cosine to 0 (0.002)")
    train.add_argument("--ema", type=float, help="EMA decay of the weights (0: off)")
    train.add_argument("--seed", type=int)
    train.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    train.add_argument(
        "--tolerance",
        type=float,
        dest="tolerance_pp",
        metavar="PP",
        help="MNIST test may fall by this many points (0.05)",
    )
    train.add_argument(
        "--dev-tolerance",
        type=float,
        dest="dev_tolerance_pp",
        metavar="PP",
        help="each real validation set may fall by this many points (0.25)",
    )
    train.add_argument(
        "--dev",
        metavar="SETS",
        help="the real validation sets the gate holds, comma-separated ('usps,cvl'; '' for none)",
    )
    train.add_argument("--source", type=Path, help="a directory holding the replay's dataset files")
    numbers = train.add_argument_group("the line reader (with number corrections)")
    numbers.add_argument("--reader", help="the reader to improve (default: the active version's)")
    numbers.add_argument(
        "--reader-replay",
        metavar="SPEC",
        help="its replayed data, e.g. synth+parish-rows (default: the base reader's own)",
    )
    numbers.add_argument("--reader-epochs", type=int, help="epochs over its data (2)")
    numbers.add_argument("--reader-lr", type=float, help="peak learning rate, one-cycle (0.0003)")
    numbers.add_argument(
        "--reader-repeats", type=float, help="times training sees each number correction (10)"
    )
    numbers.add_argument(
        "--synth-pages", type=int, help="synthetic pages replayed beside them (5000)"
    )
    numbers.add_argument(
        "--val-pages", type=int, help="synthetic validation pages: epoch choice, gate (500)"
    )
    numbers.add_argument(
        "--reader-tolerance",
        type=float,
        dest="reader_tolerance_pp",
        metavar="PP",
        help="parish-rows val and synthetic val may fall by this many points (1.0)",
    )
    numbers.add_argument(
        "--reader-dev",
        metavar="SETS",
        help="the real validation numbers the reader's gate holds ('parish-rows'; '' for none)",
    )
    numbers.add_argument(
        "--reader-source", type=Path, help="a directory holding parish-rows, if not fetched"
    )
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument(
        "--promote", action="store_true", help="promote the model when its gate passes"
    )
    train.add_argument(
        "--watch",
        action="store_true",
        help="keep running: train after every --every new corrections",
    )
    train.add_argument(
        "--every",
        type=int,
        default=200,
        metavar="N",
        help="--watch: new rows (corrections and confirmations) per run (200)",
    )
    train.add_argument(
        "--poll",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="--watch: how often to look at the store (30)",
    )
    train.add_argument(
        "--notify",
        metavar="URL",
        help="after a promotion, POST URL/v1/models/reload with the server's token",
    )
    train.add_argument("--json", action="store_true", help="print the gate record as JSON")
    train.set_defaults(handler=run_feedback_train)
    for action in (export, listing, relabel, delete, train):
        action.add_argument("--db", type=Path, help="($DIGITREC_HOME/feedback.db)")
    for action in (listing, relabel, delete):
        action.add_argument(
            "--numbers",
            action="store_true",
            help="the corrections of whole numbers (POST /v1/feedback/numbers), not digits",
        )


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
    from digitrec.data.feedback_sets import export_feedback

    counts = export_feedback(_database(args), args.out)
    total = sum(counts.values())
    per_label = ", ".join(f"{label}: {n}" for label, n in counts.items() if n)
    print(f"wrote {total} images to {args.out}" + (f" ({per_label})" if per_label else ""))
    return 0


def _rows(items: Sequence[Any], for_people: bool) -> tuple[list[str], list[list[str]]]:
    """The table of digit rows, or of number rows (what was read → the text)."""
    numbers = bool(items) and hasattr(items[0], "text")
    read, label = ("read", "text") if numbers else ("predicted", "label")
    header = ["id", "created", read, label, "kind", "confidence", "model", "file"]
    body = []
    for item in items:
        seen = item.read if numbers else item.predicted
        body.append(
            [
                str(item.id),
                item.created[:19].replace("T", " ") if for_people else item.created,
                "-" if seen is None or seen == "" else str(seen),
                str(item.text if numbers else item.label),
                item.kind,
                f"{item.confidence:.1%}" if for_people else f"{item.confidence:.6f}",
                item.model,
                item.source,
            ]
        )
    return header, body


def _task(args: argparse.Namespace) -> str:
    return "numbers" if args.numbers else "digits"


def run_feedback_list(args: argparse.Namespace) -> int:
    from digitrec.data.feedback import FeedbackStore
    from digitrec.errors import UsageError

    if args.numbers and args.label is not None:
        raise UsageError("--label filters digits; number corrections have texts")
    db = _database(args)
    with _usable(db):
        page = FeedbackStore(db, read_only=True).page(
            offset=args.offset,
            limit=args.limit,
            label=args.label,
            model=args.model,
            kind=args.kind,
            task=_task(args),
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
    from digitrec.data.feedback import FeedbackStore, check_number
    from digitrec.errors import UsageError

    label: int | str = check_number(args.label) if args.numbers else args.label
    if not args.numbers:
        if args.label not in [str(d) for d in range(10)]:
            raise UsageError(f"LABEL is a digit 0-9 (--numbers for a number), got {args.label!r}")
        label = int(args.label)
    db = _database(args)
    with _usable(db):
        row = FeedbackStore(db).relabel(args.id, label, _task(args))
    if row is None:
        raise UsageError(f"no correction {args.id} in the store")
    note = "" if row.id == args.id else f" (the same image had that label already: row {row.id})"
    what = f"the number {label}" if args.numbers else f"a {label}"
    print(f"correction {row.id} is now {what}, a {row.kind}{note}")
    return 0


def run_feedback_delete(args: argparse.Namespace) -> int:
    from digitrec.data.feedback import FeedbackStore

    db = _database(args)
    with _usable(db):
        deleted = FeedbackStore(db).delete(sorted(set(args.ids)), _task(args))
    print(f"deleted {deleted} of {len(set(args.ids))} corrections")
    return 0 if deleted == len(set(args.ids)) else 1


_TRAIN_OPTIONS = (
    "base", "replay", "repeats", "steps", "lr", "ema", "seed", "threads", "tolerance_pp",
    "dev_tolerance_pp", "dev", "reader", "reader_replay", "reader_epochs", "reader_lr",
    "reader_repeats", "synth_pages", "val_pages", "reader_tolerance_pp", "reader_dev",
)  # fmt: skip


def run_feedback_train(args: argparse.Namespace) -> int:
    import json

    from digitrec.errors import UsageError
    from digitrec.learning.retrain import FeedbackTraining, train_on_feedback

    given = {
        name: getattr(args, name) for name in _TRAIN_OPTIONS if getattr(args, name) is not None
    }
    if args.resume and (given or args.db or args.watch):
        raise UsageError("--resume continues the run's saved settings; drop the other options")
    if args.every < 1 or args.poll <= 0:
        raise UsageError("--every is a count ≥ 1 and --poll a time > 0 s")
    if not args.resume:
        db = _database(args)
        given |= {"db": str(db), "source": str(args.source or "")}
        given |= {"reader_source": str(args.reader_source or "")}
    options = FeedbackTraining(**given)
    if args.watch:
        from digitrec.learning.watch import watch

        if "threads" not in given:  # beside a server: one core, not all of them
            options.threads = 1
        notify = None if args.notify is None else lambda _version: print(notify_server(args.notify))
        with _usable(Path(options.db)):
            return watch(args.out, options, every=args.every, poll_s=args.poll, on_promoted=notify)
    with _usable(Path(options.db) if options.db else args.out / "feedback.db"):
        record = train_on_feedback(args.out, options, resume=args.resume)
    if args.json:
        print(json.dumps(record))
    else:
        _print_gate(args.out, record)
    if args.promote and record["promotable"]:
        from digitrec.cli.model_commands import promoted_parts
        from digitrec.models import versions

        version = versions.promote(args.out)
        print(f"promoted {args.out} as {version.name}: {promoted_parts(version)}")
        if args.notify:
            print(notify_server(args.notify))
    return 0 if record["promotable"] else 1


def _print_gate(out: Path, record: dict[str, Any]) -> None:
    from rich.table import Table

    from digitrec.output import stdout_console

    table = Table(title=f"gate of {out}", title_justify="left")
    for column in ("set", "items", "before %", "after %", "change pp", "passed"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for row in record["sets"]:
        table.add_row(
            row["set"],
            f"{row['items']} {row.get('task', 'digits')}",
            "—" if row["before"] is None else f"{row['before']:.2f}",
            "—" if row["after"] is None else f"{row['after']:.2f}",
            "—" if row["change_pp"] is None else f"{row['change_pp']:+.2f}",
            "yes" if row["passed"] else "no",
        )
    stdout_console.print(table)
    for note in record.get("notes", []):
        print(note)
    print(record["verdict"])
    print(f"report: {out / 'gate' / 'report.md'}")


def notify_server(url: str) -> str:
    """POST URL/v1/models/reload with the token the server on this machine uses (the same
    settings: DIGITREC_SERVE_TOKEN, its token file, or $DIGITREC_HOME/serve-token); what it
    answered, in one line."""
    import json
    import urllib.error
    import urllib.request

    from digitrec.serve.auth import load_auth
    from digitrec.serve.settings import ServeSettings

    if not url.startswith(("http://", "https://")):
        return f"--notify {url}: not an http(s) URL of a digitrec server"
    token = load_auth(ServeSettings()).token
    request = urllib.request.Request(
        url.rstrip("/") + "/v1/models/reload",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            body = json.loads(answer.read(1 << 16))
    except urllib.error.HTTPError as error:
        return f"{url}: the server refused the reload ({error.code} {error.reason})"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return f"{url}: could not ask the server to reload ({error})"
    return f"{url}: the server now uses {body.get('model')} {body.get('version')}"
