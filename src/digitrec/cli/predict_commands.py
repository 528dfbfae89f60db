"""`digitrec predict`: read one handwritten digit per image file (a thin wrapper over
`digitrec.recognize.predict_many`)."""

import argparse
import functools
from collections.abc import Sequence
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    from digitrec.cli.image_options import add_image_arguments, add_max_pixels, add_output_options

    predict = commands.add_parser(
        "predict", help="read the handwritten digit in each image (PNG, JPEG, BMP, TIFF, WebP)"
    )
    add_image_arguments(predict)
    predict.add_argument("--model", default="default", help="'default', a run dir or model file")
    predict.add_argument(
        "--threshold",
        type=probability,
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
    add_output_options(predict)
    predict.set_defaults(handler=run_predict)


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}")
    return value


def run_predict(args: argparse.Namespace) -> int:
    from digitrec.cli.image_options import checked_out, image_files, say_skipped
    from digitrec.export.runtime import load_classifier
    from digitrec.progress import count_bar
    from digitrec.recognize import predict_many

    out = checked_out(args.out)
    images, skipped = image_files(args.images)
    say_skipped(skipped)
    model = load_classifier(args.model, args.backend)
    with count_bar("reading", len(images)) as advance:
        results = predict_many(
            images,
            model,
            threshold=args.threshold,
            max_pixels=args.max_pixels,
            on_progress=advance if len(images) > 3 else None,
        )
    from digitrec.output import print_results

    return print_results(results, args.format, _rows, out)


def _rows(results: Sequence[Any], for_people: bool) -> tuple[list[str], list[list[str]]]:
    from digitrec.output import shown_path, shown_share

    share = functools.partial(shown_share, for_people=for_people)

    header = ["file", "digit", "confidence", "top 3", "note"]
    body = []
    for r in results:
        top3 = "  ".join(f"{d}: {share(p)}" for d, p in r.top3)
        digit = "—" if r.digit is None else str(r.digit)
        confidence = share(r.confidence) if r.probabilities else ""
        note = r.error or r.reason or ""
        body.append([shown_path(r.source), digit, confidence, top3, note])
    return header, body
