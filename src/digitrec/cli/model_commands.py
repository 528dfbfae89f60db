"""`digitrec models`: the model zoo (networks with parameter counts) and the classic baselines;
`digitrec models list|promote|rollback`: the model versions `default` names (`models.versions`)."""

import argparse
import json
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    models = commands.add_parser(
        "models",
        help="list the model zoo and classic baselines; list, promote, roll back model versions",
    )
    models.add_argument("--json", action="store_true", help="print one JSON object per model")
    models.set_defaults(handler=run_models)
    actions = models.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="the model versions: when, gate figures, active")
    listing.add_argument("--json", action="store_true", help="one JSON object per version")
    listing.set_defaults(handler=run_versions)
    promote = actions.add_parser("promote", help="make a run's model the active version")
    promote.add_argument("run", type=Path, metavar="RUN")
    promote.add_argument("--force", action="store_true", help="even when its gate refused it")
    promote.set_defaults(handler=run_promote)
    rollback = actions.add_parser("rollback", help="make the version used before active again")
    rollback.set_defaults(handler=run_rollback)


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


def _gate_figures(record: dict[str, Any]) -> str:
    sets = record.get("gate", {}).get("sets", [])
    shown = [
        f"{row['set']} {row['after']:.2f}% ({row['change_pp']:+.2f})"
        for row in sets
        if row.get("after") is not None and row.get("change_pp") is not None
    ]
    return "; ".join(shown) or "—"


def run_versions(args: argparse.Namespace) -> int:
    from rich.table import Table

    from digitrec.models import versions
    from digitrec.output import stdout_console

    active = versions.active().name
    found = versions.listing()
    if args.json:
        for version in found:
            print(json.dumps({"version": version.name, "active": version.name == active}
                             | version.record))  # fmt: skip
        return 0
    table = Table(title=f"model versions ({versions.versions_dir()})", title_justify="left")
    columns = ("version", "active", "promoted", "reader", "gate", "figures (after, change pp)",
               "run")  # fmt: skip
    for column in columns:
        table.add_column(column)
    for version in found:
        gate = version.record.get("gate", {})
        verdict = "—" if version.name == versions.SHIPPED else (
            "forced" if version.record.get("forced") else "passed" if gate.get("promotable")
            else "not measured"
        )  # fmt: skip
        table.add_row(
            version.name,
            "●" if version.name == active else "",
            str(version.record.get("promoted", ""))[:19].replace("T", " "),
            version.record.get("reader", "package") if version.reader else "package",
            verdict,
            _gate_figures(version.record),
            str(version.record.get("run", "")),
        )
    stdout_console.print(table)
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from digitrec.models import versions
    from digitrec.models.modelfile import read_model

    if (args.run / "model.safetensors").is_file():
        read_model(args.run / "model.safetensors")  # a readable digit classifier, or one line
    reader = args.run / versions.RUN_READER / f"{versions.READER}.safetensors"
    if reader.is_file():
        from digitrec.reading.line_model import load_reader

        load_reader(reader)  # a readable line reader, or one line
    version = versions.promote(args.run, force=args.force)
    forced = " (forced past its gate)" if version.record["forced"] else ""
    print(f"promoted {args.run} as {version.name}{forced}: {promoted_parts(version)}")
    print("a running `digitrec serve` switches on SIGHUP or POST /v1/models/reload")
    return 0


def promoted_parts(version: Any) -> str:
    """What a promotion changed, in words."""
    trained = version.record.get("trained", [])
    parts = [{"digits": "its classifier", "numbers": "its reader"}[task] for task in trained]
    kept = {"digits": "the classifier", "numbers": "the reader"}
    carried = [kept[task] for task in ("digits", "numbers") if task not in trained]
    said = f"`default` now uses {' and '.join(parts) or 'nothing new'}"
    return said + (f" ({' and '.join(carried)} carried over)" if carried else "")


def run_rollback(args: argparse.Namespace) -> int:
    from digitrec.models import versions

    left, now = versions.rollback()
    print(f"left {left}: `default` is {now.name} again")
    return 0
