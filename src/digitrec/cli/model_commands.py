"""`digitrec models`: the model zoo (networks with parameter counts) and the classic baselines."""

import argparse
import json
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    models = commands.add_parser("models", help="list the model zoo and classic baselines")
    models.add_argument("--json", action="store_true", help="print one JSON object per model")
    models.set_defaults(handler=run_models)


def model_rows() -> list[dict[str, Any]]:
    from digitrec.baselines import BASELINES
    from digitrec.models.zoo import MODELS, build_model, parameter_count

    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "kind": "network",
            "params": parameter_count(build_model(name)),
            "source": entry.source,
        }
        for name, entry in MODELS.items()
    ]
    rows += [
        {"name": name, "kind": "baseline", "params": None, "source": entry.summary}
        for name, entry in BASELINES.items()
    ]
    return rows


def run_models(args: argparse.Namespace) -> int:
    from rich.table import Table

    from digitrec.output import stdout_console

    rows = model_rows()
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    table = Table(title="models (digitrec train --model NAME)", title_justify="left")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("parameters", justify="right")
    table.add_column("source")
    for row in rows:
        params = "—" if row["params"] is None else f"{row['params']:,}"
        table.add_row(row["name"], row["kind"], params, row["source"])
    stdout_console.print(table)
    return 0
