"""`digitrec train` and `digitrec recipes`: thin wrappers over `digitrec.train.train`."""

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from digitrec.errors import UsageError

# CLI option -> TrainConfig field, for the options that map one to one.
_FIELDS = {
    "model": str,
    "dataset": str,
    "scheme": str,
    "seed": int,
    "epochs": float,
    "batch_size": int,
    "optimizer": str,
    "lr": float,
    "momentum": float,
    "weight_decay": float,
    "schedule": str,
    "step_gamma": float,
    "warmup": float,
    "label_smoothing": float,
    "augment": str,
    "noise": float,
    "ema": float,
    "aux_weight": float,
    "early_stopping": int,
    "limit": int,
    "max_steps": int,
    "target_acc": float,
    "threads": int,
    "report_test": bool,
    "init": str,
}


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    from digitrec.train.config import OPTIMIZERS, SCHEDULES

    train = commands.add_parser(
        "train",
        help="train a model (zoo network or classic baseline) into a run directory",
        description="Train a model. A --recipe sets many options at once; options given here win.",
    )
    train.add_argument("--out", type=Path, required=True, help="run directory to write")
    train.add_argument("--model", help="a model from `digitrec models` (default: cnn-small)")
    train.add_argument("--recipe", help="a named setup from `digitrec recipes`")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--dataset", help="dataset spec (default mnist; A+B joins datasets)")
    train.add_argument("--source", type=Path, help="a directory holding the dataset's files")
    train.add_argument("--scheme", choices=["standard", "80-10-10"], help="split scheme")
    train.add_argument("--seed", type=int)
    train.add_argument("--epochs", type=float, help="passes over the training split")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--lr", type=float, help="(peak) learning rate")
    train.add_argument("--momentum", type=float, help="SGD momentum / Adam beta1")
    train.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--schedule", choices=SCHEDULES)
    train.add_argument("--step-gamma", type=float, help="step schedule: lr factor per epoch")
    train.add_argument("--warmup", type=float, help="onecycle: warm-up fraction of the steps")
    train.add_argument("--label-smoothing", type=float)
    train.add_argument("--augment", help="none, light, medium or strong")
    train.add_argument(
        "--noise", type=float, help="share of training digits given random noise or blur (0-1)"
    )
    train.add_argument(
        "--init", help="start from this model's weights (fine-tuning): a run directory or file"
    )
    train.add_argument("--ema", type=float, help="EMA decay of the weights, e.g. 0.999; 0 = off")
    train.add_argument("--aux-weight", type=float, help="loss weight of an auxiliary head")
    train.add_argument("--early-stopping", type=int, metavar="PATIENCE", help="epochs; 0 = off")
    train.add_argument("--hidden", help="MLP hidden layer sizes, e.g. 512,256")
    train.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model argument (VALUE as JSON, else a string), e.g. --arg features=pca",
    )
    train.add_argument("--limit", type=int, help="use only the first N digits (smoke runs)")
    train.add_argument("--max-steps", type=int, help="stop after N optimizer steps (smoke runs)")
    train.add_argument("--target-acc", type=float, help="fail unless val accuracy reaches this")
    train.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    train.add_argument(
        "--report-test",
        action="store_true",
        default=None,
        help="also log test accuracy per epoch (curves only; never used to choose anything)",
    )
    train.add_argument("--json", action="store_true", help="print the result as one JSON object")
    train.set_defaults(handler=run_train)

    recipes = commands.add_parser("recipes", help="list the named training setups")
    recipes.add_argument("--json", action="store_true", help="print one JSON object per recipe")
    recipes.set_defaults(handler=run_recipes)


def given_options(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The options among `names` that were given on the command line (argparse's None: not)."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def build_config(args: argparse.Namespace) -> "Any":
    """The TrainConfig the options describe: recipe values first, explicit options over them."""
    from digitrec.train import RECIPES, TrainConfig

    values: dict[str, Any] = {}
    if args.recipe:
        if args.recipe not in RECIPES:
            raise UsageError(f"unknown recipe {args.recipe!r}; known: {', '.join(RECIPES)}")
        values.update(RECIPES[args.recipe].values, recipe=args.recipe)
    values |= given_options(args, (*_FIELDS, "nesterov"))
    model_args = dict(values.get("model_args", {}))
    if args.hidden:
        try:
            model_args["hidden"] = [int(size) for size in args.hidden.split(",")]
        except ValueError:
            raise UsageError(f"--hidden wants sizes like 512,256, not {args.hidden!r}") from None
    for item in args.arg:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--arg wants KEY=VALUE, not {item!r}")
        try:
            model_args[key] = json.loads(text)
        except json.JSONDecodeError:
            model_args[key] = text
    values["model_args"] = model_args
    return TrainConfig(**values)


def run_train(args: argparse.Namespace) -> int:
    from digitrec.train import TrainConfig, train

    if args.resume:
        given = [f for f in _FIELDS if getattr(args, f) is not None]
        given += [f for f in ("recipe", "hidden", "nesterov") if getattr(args, f) not in (None, "")]
        given += ["arg"] * bool(args.arg)
        if given:
            raise UsageError(
                "--resume continues the saved settings; drop "
                + ", ".join(f"--{name.replace('_', '-')}" for name in given)
            )
        config = TrainConfig()  # replaced by the checkpoint's
    else:
        config = build_config(args)
    result = train(config, args.out, resume=args.resume, source=args.source)
    summary = {
        "run": str(result.run_dir),
        "model": str(result.model_path),
        "val_accuracy": result.val_accuracy,
        "val_loss": result.val_loss,
        "epochs": round(result.epochs_run, 3),
        "steps": result.steps,
        "train_seconds": round(result.train_seconds, 2),
        "wall_seconds": round(result.wall_seconds, 2),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{result.model_path}: validation accuracy {result.val_accuracy:.2%} after "
            f"{summary['epochs']} epochs ({summary['train_seconds']} s training, "
            f"{summary['wall_seconds']} s in all)"
        )
    return 0


def run_recipes(args: argparse.Namespace) -> int:
    from rich.table import Table

    from digitrec.output import stdout_console
    from digitrec.train import RECIPES

    if args.json:
        for name, recipe in RECIPES.items():
            row = {"name": name, "summary": recipe.summary, "values": recipe.values}
            print(json.dumps(row | {"assumed": recipe.assumed, "reported": recipe.reported}))
        return 0
    table = Table(title="recipes (digitrec train --recipe NAME)", title_justify="left")
    for column in ("name", "what", "assumed where the paper is silent"):
        table.add_column(column)
    for name, recipe in RECIPES.items():
        table.add_row(name, recipe.summary, recipe.assumed or "—")
    stdout_console.print(table)
    return 0
