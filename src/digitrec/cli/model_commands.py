"""`digitrec models`: the model zoo with parameter counts and sources."""

import argparse
import json
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    models = commands.add_parser("models", help="list the model zoo with parameter counts")
    models.add_argument("--json", action="store_true", help="print one JSON object per model")
    models.set_defaults(handler=run_models)


def run_models(args: argparse.Namespace) -> int:
    from rich.table import Table

    from digitrec.models.zoo import MODELS, parameter_count
    from digitrec.output import stdout_console

    counts = {name: parameter_count(entry.build()) for name, entry in MODELS.items()}
    if args.json:
        for name, entry in MODELS.items():
            print(json.dumps({"name": name, "params": counts[name], "source": entry.source}))
        return 0
    table = Table(title="models", title_justify="left")
    table.add_column("name")
    table.add_column("parameters", justify="right")
    table.add_column("source")
    for name, entry in MODELS.items():
        table.add_row(name, f"{counts[name]:,}", entry.source)
    stdout_console.print(table)
    return 0
