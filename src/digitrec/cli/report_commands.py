"""`digitrec compare` and `digitrec study`: thin wrappers over `digitrec.report`."""

import argparse
from pathlib import Path
from typing import Any

STUDY_NAMES = ("hidden-layers", "epochs", "ablation", "noise", "transfer")


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    compare = commands.add_parser(
        "compare",
        help="train (or reuse) and measure models at the papers' settings; write a report",
        description="Train or reuse each model (runs cached by a hash of their config), measure it "
        "on the test split, and write report.md, report.html (self-contained), report.json and "
        "plots into --out, with the papers' reported numbers beside ours.",
    )
    compare.add_argument(
        "--models",
        required=True,
        help="comma-separated models (trained with their paper's recipe), recipes, MODEL@RECIPE, "
        "or zoo / networks / baselines",
    )
    compare.add_argument(
        "--no-budget",
        action="store_true",
        help="the papers' full epochs and all seeds for every model (many hours on a small CPU)",
    )
    _common(compare)
    _spelled(compare)
    compare.set_defaults(handler=run_compare)

    study = commands.add_parser(
        "study",
        help="rerun one of the papers' experiments and write a report",
        description="hidden-layers: MLPs with 1-4 hidden layers, CNNs with 1-4 conv blocks. "
        "epochs: validation and test accuracy after each of 30 epochs, beside the papers' epoch "
        "tables. ablation: MobileNet without batch norm, dropout, augmentation or its auxiliary "
        "classifier. noise: accuracy on noisy MNIST of models trained with and without noise. "
        "transfer: MNIST -> USPS fine-tuning with 10/100/1000 labels against training from "
        "scratch.",
    )
    study.add_argument("name", choices=STUDY_NAMES)
    study.add_argument(
        "--usps-source", type=Path, help="a directory holding the USPS files (transfer)"
    )
    _common(study)
    _spelled(study)
    study.set_defaults(handler=run_study)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="report directory to write")
    parser.add_argument("--seeds", type=int, help="seeds per model (0 .. K-1)")
    parser.add_argument("--epochs", type=float, help="train every network for N epochs")
    parser.add_argument(
        "--runs", type=Path, default=Path("runs/cache"), help="the run cache (default runs/cache)"
    )
    parser.add_argument("--source", type=Path, help="a directory holding the MNIST files")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    parser.add_argument("--limit", type=int, default=0, help="train on N digits (smoke runs)")
    parser.add_argument("--max-steps", type=int, default=0, help="at most N steps per run (smoke)")
    parser.add_argument("--eval-limit", type=int, default=0, help="measure on N test digits")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few seconds per run on a small real subset (sets unset limits to 500 digits, "
        "20 steps, 500 test digits): checks the pipeline, measures nothing",
    )


def _settings(args: argparse.Namespace, default_seeds: int) -> Any:
    from digitrec.report import Settings

    settings = Settings(
        runs=args.runs,
        source=args.source,
        usps_source=getattr(args, "usps_source", None),
        threads=args.threads,
        seeds=args.seeds if args.seeds is not None else default_seeds,
        epochs=args.epochs,
        limit=args.limit,
        max_steps=args.max_steps,
        eval_limit=args.eval_limit,
    )
    return settings.smoke() if args.smoke else settings


def _spelled(parser: argparse.ArgumentParser) -> None:
    """Let `_command` spell out this command's options: the parser's own list of them."""
    options = [
        (action.dest, action.option_strings[-1], action.nargs == 0, action.default)
        for action in parser._actions
        if action.option_strings and action.dest not in ("help", "out")
    ]
    parser.set_defaults(spelled_options=options)


def _command(args: argparse.Namespace, *head: str) -> str:
    """The command, every option given or defaulted spelled out (what a reader needs to rerun
    the report), from the parser's own option list."""
    import shlex

    parts = ["digitrec", *head]
    for dest, option, is_flag, default in args.spelled_options:
        value = getattr(args, dest, None)
        if is_flag:
            parts += [option] * bool(value)
        elif value is not None and not (value == default and not default):
            parts += [option, repr(value) if isinstance(value, float) else str(value)]
    return shlex.join([*parts, "--out", str(args.out)])


def run_compare(args: argparse.Namespace) -> int:
    from digitrec.report import compare

    models = [name.strip() for name in args.models.split(",") if name.strip()]
    compare(
        models,
        args.out,
        _settings(args, default_seeds=1),
        budget=not args.no_budget,
        command=_command(args, "compare"),
    )
    print(f"wrote {args.out / 'report.md'} and {args.out / 'report.html'}")
    return 0


def run_study(args: argparse.Namespace) -> int:
    from digitrec.report import STUDIES, run_study

    settings = _settings(args, default_seeds=STUDIES[args.name].default_seeds)
    run_study(args.name, args.out, settings, command=_command(args, "study", args.name))
    print(f"wrote {args.out / 'report.md'} and {args.out / 'report.html'}")
    return 0
