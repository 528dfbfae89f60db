"""`digitrec predict`: read one handwritten digit per image file (a thin wrapper over
`digitrec.recognize.predict_many`)."""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    from digitrec.cli.image_options import add_max_pixels

    predict = commands.add_parser(
        "predict", help="read the handwritten digit in each image (PNG, JPEG, BMP, TIFF, WebP)"
    )
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    predict.add_argument("--model", default="default", help="'default', a run dir or model file")
    predict.add_argument(
        "--threshold",
        type=_probability,
        default=0.5,
        help="below this confidence answer 'no digit' (default 0.5)",
    )
    add_max_pixels(predict)
    predict.add_argument(
        "--backend",
        choices=["torch", "onnx", "auto"],
        default="auto",
        help="run networks in torch, ONNX Runtime, or (auto, the default) ONNX Runtime when "
        "it is installed and measured faster here",
    )
    predict.add_argument("--json", action="store_true", help="one JSON object per image, per line")
    predict.set_defaults(handler=run_predict)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}")
    return value


def run_predict(args: argparse.Namespace) -> int:
    from digitrec.export.runtime import load_classifier
    from digitrec.progress import count_bar
    from digitrec.recognize import predict_many

    model = load_classifier(args.model, args.backend)
    with count_bar("reading", len(args.images)) as advance:
        results = predict_many(
            args.images,
            model,
            threshold=args.threshold,
            max_pixels=args.max_pixels,
            on_progress=advance if len(args.images) > 3 else None,
        )
    from digitrec.output import print_results

    return print_results(results, args.json, _print_table)


def _print_table(results: Sequence[Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from digitrec.output import stdout_console

    table = Table(box=None, padding=(0, 2))
    for column in ("file", "digit", "confidence", "top 3", "note"):
        table.add_column(column)
    for r in results:
        top3 = "  ".join(f"{d}:{p:.2f}" for d, p in r.top3)
        digit = "—" if r.digit is None else str(r.digit)
        confidence = f"{r.confidence:.3f}" if r.probabilities else ""
        note = r.error or r.reason or ""
        table.add_row(escape(r.source), digit, confidence, top3, escape(note))
    stdout_console.print(table)
