"""`digitrec batch read|predict INPUT --out RESULTS`: an archive of image files through `read` or
`predict` into one resumable results file (`digitrec.batch`)."""

import argparse
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    from digitrec.cli.image_options import add_max_pixels
    from digitrec.cli.predict_commands import probability
    from digitrec.recognize import DEFAULT_THRESHOLD

    batch = commands.add_parser(
        "batch",
        help="read (or predict) every image of a folder, glob or manifest into a resumable "
        "results file",
    )
    actions = batch.add_subparsers(dest="action", metavar="ACTION", required=True)
    for task, what in (("read", "the number in each image"), ("predict", "the digit in each")):
        action = actions.add_parser(
            task,
            help=f"{what}: one row per file, as `digitrec {task} --format json` prints it",
            description=f"Read {what} of a folder (recursive), a glob or a manifest (.txt, "
            ".csv, .parquet) into RESULTS.jsonl or RESULTS.parquet, streamed (never listed "
            "whole) and resumable: a run stopped, even by kill -9, and started again with the "
            "same arguments skips the files it holds.",
        )
        action.add_argument("input", metavar="INPUT", help="a folder, a glob or a manifest")
        action.add_argument("--out", type=Path, required=True, metavar="RESULTS")
        action.add_argument(
            "--column", help="the manifest's column of paths (.csv, .parquet; default the first)"
        )
        action.add_argument(
            "--engine",
            choices=["local", "ray"],
            default="local",
            help="local: a pool of processes here; ray: Ray Data actors (digitrec[scale])",
        )
        action.add_argument(
            "--address",
            help="--engine ray: a running cluster to join ('auto', ray://HOST:PORT); "
            "default: a local one for the run",
        )
        action.add_argument(
            "--workers",
            type=int,
            default=0,
            help="worker processes, or Ray actors (default: one per core here)",
        )
        action.add_argument("--chunk", type=int, default=64, help="files per chunk written (64)")
        action.add_argument("--model", default="default", help="'default', a run dir or file")
        action.add_argument("--json", action="store_true", help="print the summary as JSON")
        add_max_pixels(action)
        if task == "read":
            action.add_argument("--reader", default="auto", metavar="auto|line|segment|DIR")
        else:
            action.add_argument(
                "--threshold",
                type=probability,
                default=DEFAULT_THRESHOLD,
                help=f"reject digits read less surely than this ({DEFAULT_THRESHOLD})",
            )
        action.set_defaults(handler=run_batch, task=task)


def run_batch(args: argparse.Namespace) -> int:
    import json
    import os

    from digitrec.batch.engine import Work, run
    from digitrec.batch.inputs import input_paths
    from digitrec.batch.results import results_at
    from digitrec.errors import UsageError
    from digitrec.progress import rate_bar

    if not 1 <= args.chunk <= 100_000 or args.workers < 0:
        raise UsageError("--chunk must be in 1..100000 and --workers ≥ 0")
    workers = args.workers or len(os.sched_getaffinity(0))
    results = results_at(args.out, args.task)
    work = Work(
        args.task,
        model=args.model,
        reader=getattr(args, "reader", "auto"),
        threshold=getattr(args, "threshold", None),
        max_pixels=args.max_pixels,
    )
    if args.address and args.engine != "ray":
        raise UsageError("--address is the Ray cluster's: give it with --engine ray")
    settings = {"task": work.task, "model": work.model, "max_pixels": work.max_pixels}
    settings |= {"reader": work.reader} if work.task == "read" else {"threshold": work.threshold}
    results.keep_settings(settings)
    inputs = input_paths(args.input, args.column)
    with rate_bar(f"batch {args.task}") as advance:
        if args.engine == "ray":
            from digitrec.batch.ray_engine import run_ray

            summary = run_ray(work, inputs, results, workers=workers, chunk=args.chunk,
                              address=args.address, on_progress=advance)  # fmt: skip
        else:
            summary = run(work, inputs, results, workers=workers, chunk=args.chunk,
                          on_progress=advance)  # fmt: skip
    actors = "Ray actor" if args.engine == "ray" else "worker"
    if args.json:
        record = {k: v for k, v in vars(summary).items() if k not in ("started", "first")}
        record |= {"files_per_second": round(summary.rate, 2), "engine": args.engine,
                   "running_files_per_second": summary.running_rate and round(summary.running_rate, 2),
                   "workers": workers, "out": str(args.out)}  # fmt: skip
        print(json.dumps(record))
    else:
        running = summary.running_rate
        after = f"; {running:.1f} once running" if running else ""
        print(
            f"{summary.done:,} files {'read' if args.task == 'read' else 'predicted'} "
            f"({summary.skipped:,} held already), {summary.failed:,} failed, "
            f"{summary.rejected:,} rejected, in {summary.seconds:.1f} s ({summary.rate:.1f} "
            f"files/s{after}) by {workers} {actors}{'s' * (workers > 1)}: {args.out}"
        )
    return 1 if summary.failed else 0
