"""`digitrec evaluate`: a thin wrapper over `digitrec.evaluate.evaluate`."""

import argparse
import json
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="accuracy, per-class P/R/F1, confusion matrix, calibration, speed and memory",
    )
    evaluate.add_argument(
        "--model", default="default", help="a run directory, a model file, or 'default'"
    )
    evaluate.add_argument("--dataset", default="mnist", help="dataset spec (default mnist)")
    evaluate.add_argument("--split", default="test", help="split to measure (default test)")
    evaluate.add_argument("--scheme", default="standard", choices=["standard", "80-10-10"])
    evaluate.add_argument("--source", type=Path, help="a directory holding the dataset's files")
    evaluate.add_argument("--limit", type=int, default=0, help="only the first N digits")
    evaluate.add_argument(
        "--backend",
        choices=["torch", "onnx", "auto"],
        default="torch",
        help="run networks in torch, ONNX Runtime, or whichever is faster here (auto)",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from digitrec.evaluate import evaluate

    report = evaluate(
        args.model,
        args.dataset,
        args.split,
        source=args.source,
        scheme=args.scheme,
        limit=args.limit,
        backend=args.backend,
    )
    if args.json:
        print(json.dumps(report))
        return 0
    _print_report(report)
    return 0


def _print_report(report: dict[str, Any]) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from digitrec.output import stdout_console

    summary = Table(
        title=escape(f"{report['model']} on {report['dataset']} {report['split']}"),
        title_justify="left",
        show_header=False,
    )
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    rows = [
        ("digits", f"{report['n']:,}"),
        ("accuracy", f"{report['accuracy']:.2%}"),
        ("macro precision / recall / F1", "{precision_macro:.4f} / {recall_macro:.4f} / "
         "{f1_macro:.4f}".format(**report)),
        ("log loss", f"{report['log_loss']:.4f}"),
        ("expected calibration error", f"{report['ece']:.4f}"),
        ("parameters", f"{report['parameters']:,}"),
        ("size on disk", f"{report['size_bytes'] / 1024:,.0f} KiB"),
        ("throughput (batched)", f"{report['throughput_images_per_s'] or 0:,.0f} images/s"),
        ("latency (one image)", f"{report['latency_ms']:.2f} ms"),
        ("peak memory added",
         "n/a" if report["peak_memory_mb"] is None else f"{report['peak_memory_mb']:.0f} MB"),
    ]  # fmt: skip
    for name, value in rows:
        summary.add_row(name, value)
    stdout_console.print(summary)
    classes = [row["class"] for row in report["per_class"]]
    matrix = Table(
        title="confusion matrix (rows: true, columns: predicted)",
        title_justify="left",
        box=box.SIMPLE,
        padding=(0, 1),
    )
    matrix.add_column("")
    for name in classes:
        matrix.add_column(escape(name), justify="right")
    matrix.add_column("recall", justify="right")
    matrix.add_column("precision", justify="right")
    for name, counts, row in zip(
        classes, report["confusion_matrix"], report["per_class"], strict=True
    ):
        cells = [f"[bold]{c}[/]" if i == classes.index(name) else (str(c) if c else "·")
                 for i, c in enumerate(counts)]  # fmt: skip
        matrix.add_row(escape(name), *cells, f"{row['recall']:.3f}", f"{row['precision']:.3f}")
    stdout_console.print(matrix)
