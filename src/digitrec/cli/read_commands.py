"""`digitrec read`: read the handwritten number in each image file (a thin wrapper over
`digitrec.reading.read_many`), optionally drawing what was read onto a copy of each image."""

import argparse
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    from digitrec.cli.image_options import add_image_arguments, add_max_pixels, add_output_options

    read = commands.add_parser(
        "read",
        help="read the handwritten number (a line of digits) in each image",
        description="Read a line of handwritten digits from each scan, photo or drawing: form "
        "lines removed, broken strokes joined, touching digits split.",
    )
    add_image_arguments(read)
    read.add_argument("--model", default="default", help="'default', a run dir or model file")
    add_max_pixels(read)
    read.add_argument(
        "--overlay",
        type=Path,
        metavar="DIR",
        help="also write each image with a box and the digit over every digit read, as PNG",
    )
    read.add_argument(
        "--backend",
        choices=["torch", "onnx", "auto"],
        default="auto",
        help="run the classifier in torch, ONNX Runtime, or (auto, the default) ONNX Runtime when "
        "it is installed and measured faster here",
    )
    read.add_argument(
        "--reader",
        default="auto",
        metavar="auto|line|segment|DIR",
        help="line: read the whole line with the CTC line reader; segment: cut it into digits "
        "and classify each with --model; auto (the default): line when the package has it; "
        "DIR: a line reader you trained with `digitrec train-reader`; segment:DIR: the segment "
        "reader with a `digitrec train-segmenter` run's verifier and scorer",
    )
    add_output_options(read)
    read.set_defaults(handler=run_read)


def run_read(args: argparse.Namespace) -> int:
    from digitrec.cli.image_options import checked_out, image_files, say_skipped
    from digitrec.export.runtime import load_classifier
    from digitrec.progress import count_bar
    from digitrec.reading import read_many
    from digitrec.reading.reader import choose_reader

    out = checked_out(args.out)
    images, skipped = image_files(args.images)
    say_skipped(skipped)
    uses_classifier = choose_reader(args.reader) is None  # the segment reader
    model = load_classifier(args.model, args.backend) if uses_classifier else args.model
    with count_bar("reading", len(images)) as advance:
        results = read_many(
            images,
            model,
            reader=args.reader,
            max_pixels=args.max_pixels,
            on_progress=advance if len(images) > 3 else None,
        )
    if args.overlay:
        from digitrec.reading.overlay import write_overlays

        write_overlays(images, results, args.overlay, max_pixels=args.max_pixels)
    from digitrec.output import print_results

    return print_results(results, args.format, _rows, out)


def _rows(results: Sequence[Any], for_people: bool) -> tuple[list[str], list[list[str]]]:
    from digitrec.output import shown_path, shown_share

    share = functools.partial(shown_share, for_people=for_people)

    header = ["file", "number", "confidence", "least sure", "note"]
    body = []
    for r in results:
        confidence = share(r.confidence) if r.digits else ""
        weakest = ""
        if r.digits:
            index = min(range(len(r.digits)), key=lambda i: r.digits[i].confidence)
            digit = r.digits[index]
            weakest = f"#{index + 1}: {digit.digit} {share(digit.confidence)}"
        note = r.error or r.reason or ""
        body.append([shown_path(r.source), r.text or "—", confidence, weakest, note])
    return header, body
