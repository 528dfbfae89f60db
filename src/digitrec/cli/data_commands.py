"""`digitrec data list | fetch | info | preview`."""

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from digitrec.data.splits import SCHEMES, SPLIT_NAMES, SplitConfig


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    data = commands.add_parser(
        "data", help="list, fetch, inspect and preview datasets", description=__doc__
    )
    verbs = data.add_subparsers(dest="verb", metavar="VERB", required=True)

    listing = verbs.add_parser("list", help="the datasets digitrec knows and what is cached")
    listing.set_defaults(handler=run_list)

    fetch = verbs.add_parser("fetch", help="get a dataset into the cache, verified by SHA-256")
    _add_spec(fetch)
    fetch.set_defaults(handler=run_fetch)

    info = verbs.add_parser("info", help="counts and class balance per split")
    _add_spec(info)
    _add_split_options(info)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=run_info)

    preview = verbs.add_parser("preview", help="save a PNG grid of sample images per class")
    _add_spec(preview)
    _add_split_options(preview)
    preview.add_argument("--split", default="train", choices=SPLIT_NAMES)
    preview.add_argument("--per-class", type=_int_between(1, 100), default=12, metavar="N")
    preview.add_argument("--out", type=_png_path, required=True, metavar="FILE.png")
    preview.set_defaults(handler=run_preview)

    synth = verbs.add_parser(
        "synth-numbers",
        help="make scans of handwritten numbers from MNIST test digits, with labels.json",
    )
    synth.add_argument("--count", type=_int_between(1, 100_000), default=100, metavar="N")
    synth.add_argument("--out", type=Path, required=True, metavar="DIR")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--min-digits", type=_int_between(1, 20), default=1)
    synth.add_argument("--max-digits", type=_int_between(1, 20), default=8)
    synth.add_argument("--min-height", type=_int_between(10, 300), default=20, help="pixels")
    synth.add_argument("--max-height", type=_int_between(10, 300), default=120, help="pixels")
    synth.add_argument(
        "--wild",
        type=float,
        default=0.0,
        metavar="P",
        help="share of pages drawn as real ones look: gaps, marks, rules, margins, textures (0)",
    )
    synth.add_argument("--source", type=Path, help="a directory holding the MNIST files")
    synth.set_defaults(handler=run_synth)


def _int_between(low: int, high: int) -> "Callable[[str], int]":
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def _png_path(text: str) -> Path:
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(f"must end in .png, got {text!r}")
    return Path(text)


def _add_spec(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "spec",
        metavar="NAME",
        help="mnist, usps, cvl, emnist[:SUBSET], noisy-mnist[:KIND-LEVEL], folder:PATH; numbers: "
        "parish-rows, written-numbers, strings:DIR",
    )
    parser.add_argument(
        "--source",
        type=Path,
        metavar="DIR",
        help="a folder holding the dataset's files (raw or .gz), tried after the cache",
    )


def _add_split_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheme", choices=SCHEMES, default="standard", help="split scheme")
    parser.add_argument(
        "--seed", type=_int_between(0, 2**32 - 1), default=0, help="seed of the train/val split"
    )


def run_list(args: argparse.Namespace) -> int:
    from digitrec.data import DATASETS
    from digitrec.data.numbers import NUMBER_DATASETS
    from digitrec.output import stdout_console

    width = max(map(len, [*DATASETS, *NUMBER_DATASETS]))
    for entry in DATASETS.values():
        _list_row(entry.name, entry.summary, width)
        if entry.variants:
            indent = " " * (width + 19)
            stdout_console.print(f"{indent}variants: {', '.join(entry.variants)}", soft_wrap=True)
    stdout_console.print("whole numbers (for read, evaluate-reader, train-reader):")
    for numbers in NUMBER_DATASETS.values():
        _list_row(numbers.name, numbers.summary, width)
    return 0


def _list_row(name: str, summary: str, width: int) -> None:
    from digitrec.home import dataset_dir
    from digitrec.output import stdout_console

    folder = dataset_dir(name)
    if name in ("folder", "strings"):
        state, style = "read in place", "dim"
    elif name == "noisy-mnist":
        state, style = "made from mnist", "dim"
    elif folder.is_dir() and any(folder.iterdir()):
        state, style = "cached", "green"
    else:
        state, style = "not fetched", "yellow"
    line = f"{name:<{width}}  [{style}]{state:<15}[/]  {summary}"
    stdout_console.print(line, soft_wrap=True)


def run_fetch(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from digitrec.data import fetch
    from digitrec.output import print_files, stdout_console
    from digitrec.progress import stderr_console

    report = fetch(args.spec, args.source)
    if report is None:
        stdout_console.print(
            f"{args.spec}: folders are read in place; nothing to fetch", markup=False
        )
        return 0
    for warning in report.warnings:
        stderr_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    files = [
        {"name": name, "sha256": report.checksums[name], "origin": origin}
        for name, origin in report.origins.items()
    ]
    print_files(f"{args.spec}: verified in {report.directory}", files)
    return 0


def run_info(args: argparse.Namespace) -> int:
    from digitrec.data.summary import summarize
    from digitrec.output import print_summary

    summary = summarize(args.spec, args.source, SplitConfig(args.scheme, seed=args.seed))
    if args.json:
        print(json.dumps(summary, indent=None))
    else:
        print_summary(summary)
    return 0


def run_preview(args: argparse.Namespace) -> int:
    from digitrec.data import load
    from digitrec.data.preview import save_class_grid
    from digitrec.output import stdout_console

    digits = load(args.spec, args.split, args.source, SplitConfig(args.scheme, seed=args.seed))
    save_class_grid(digits, args.out, per_class=args.per_class, seed=args.seed)
    stdout_console.print(f"wrote {args.out} ({args.split} split of {args.spec})", markup=False)
    return 0


def run_synth(args: argparse.Namespace) -> int:
    from digitrec.data import load
    from digitrec.data.synth import SynthConfig, synth_numbers
    from digitrec.output import stdout_console

    config = SynthConfig(
        count=args.count,
        seed=args.seed,
        min_digits=args.min_digits,
        max_digits=args.max_digits,
        min_height=args.min_height,
        max_height=args.max_height,
        wild=args.wild,
    )
    if args.out.exists() and not args.out.is_dir():
        from digitrec.errors import UsageError

        raise UsageError(f"--out {args.out} is a file, not a directory")
    labels = synth_numbers(load("mnist", "test", args.source), args.out, config)
    stdout_console.print(f"wrote {args.count} pages and {labels}", markup=False)
    return 0
