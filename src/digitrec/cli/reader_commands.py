"""`digitrec train-reader` and `digitrec evaluate-reader`: train the line reader on synthetic
pages and real labelled numbers, and measure any reader on a dataset of numbers;
`digitrec train-segmenter`: fit the segment reader's verifier and scorer."""

import argparse
import json
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    train = commands.add_parser(
        "train-reader",
        help="train (or fine-tune) the line reader on synthetic pages and your labelled numbers",
        description="Train the CTC line reader into a run directory. --dataset joins parts "
        "with '+': synth (synthetic pages of MNIST, USPS and CVL training digits), parish-rows, "
        "strings:DIR (a folder of images with labels.csv: filename,label[,split]). Each part's "
        "train split trains, its val split chooses the epoch.",
    )
    train.add_argument("--out", type=Path, required=True, metavar="DIR")
    train.add_argument("--dataset", default="synth+parish-rows", metavar="SPEC")
    train.add_argument(
        "--init",
        default="default",
        help="start from: 'default' (the reader in use: the active version's, else the shipped "
        "one), a run directory, or 'none' (scratch)",
    )
    train.add_argument(
        "--widths",
        metavar="A,B,C",
        help="the CNN's channels, for a reader from scratch (--init none; default 24,48,64)",
    )
    train.add_argument(
        "--hidden",
        type=int,
        metavar="N",
        help="the LSTM's units each way, for a reader from scratch (--init none; default 64)",
    )
    train.add_argument("--synth-pages", type=int, default=20_000, metavar="N")
    train.add_argument("--val-pages", type=int, default=1_000, metavar="N")
    train.add_argument("--repeat-real", type=int, default=4, metavar="K")
    train.add_argument("--epochs", type=int, default=8)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=1e-3, help="one-cycle peak (default 1e-3)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=0, help="CPU threads (0: every core)")
    train.add_argument("--source", type=Path, metavar="DIR", help="where dataset files are")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.set_defaults(handler=run_train_reader)

    evaluate = commands.add_parser(
        "evaluate-reader",
        help="measure a reader on a dataset of numbers: exact, CER, per length, digit confusion",
    )
    evaluate.add_argument("--dataset", required=True, metavar="SPEC")
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test", "all"])
    evaluate.add_argument("--reader", default="default", help="'default' or a train-reader run")
    evaluate.add_argument("--source", type=Path, metavar="DIR")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(handler=run_evaluate_reader)

    segmenter = commands.add_parser(
        "train-segmenter",
        help="fit the segment reader's verifier and scorer (read --reader segment:DIR uses them)",
        description="Fit what `read --reader segment` cuts lines with: the segment verifier, "
        "trained on candidates from synthetic pages of MNIST training digits, and the scorer, "
        "fitted and tuned on pages of validation digits. Writes DIR/verifier.safetensors, "
        "DIR/segment_scorer.json and DIR/fit.json.",
    )
    segmenter.add_argument("--out", type=Path, required=True, metavar="DIR")
    segmenter.add_argument("--train-pages", type=int, default=1200, metavar="N")
    segmenter.add_argument("--pages", type=int, default=300, metavar="N", help="fitting pages")
    segmenter.add_argument("--dev-pages", type=int, default=200, metavar="N")
    segmenter.add_argument("--seed", type=int, default=1)
    segmenter.add_argument("--epochs", type=int, default=6, help="verifier training epochs")
    segmenter.add_argument(
        "--costs-only",
        action="store_true",
        help="keep the verifier and scorer of --start (default: the packaged ones); choose only "
        "the three costs again",
    )
    segmenter.add_argument("--start", type=Path, metavar="DIR", help="a train-segmenter run")
    segmenter.set_defaults(handler=run_train_segmenter)


def run_train_reader(args: argparse.Namespace) -> int:
    from digitrec.errors import UsageError
    from digitrec.output import stdout_console
    from digitrec.reading.line_training import LineTrainConfig, ReaderData, train_reader

    shape: dict[str, Any] = {}
    if args.widths is not None or args.hidden is not None:
        if args.init != "none":
            raise UsageError(
                "--widths and --hidden shape a reader trained from scratch: --init none"
            )
        if args.widths is not None:
            try:
                widths = tuple(int(w) for w in args.widths.split(","))
            except ValueError:
                widths = ()
            if len(widths) != 3 or min(widths) < 1:
                raise UsageError("--widths: three positive channel counts, e.g. 32,64,96")
            shape["widths"] = widths
        if args.hidden is not None:
            if args.hidden < 1:
                raise UsageError("--hidden must be at least 1")
            shape["hidden"] = args.hidden
    config = LineTrainConfig(
        **shape,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
    )
    data = ReaderData(args.dataset, args.synth_pages, args.val_pages, args.repeat_real, args.source)
    init = None if args.init == "none" else args.init
    _, history = train_reader(args.out, data, config, init=init, resume=args.resume)
    best = max(history, key=lambda row: row["val_exact"])
    stdout_console.print(
        f"best epoch {best['epoch']}: mean validation exact {best['val_exact']:.2%}; "
        f"reader in {args.out / 'reader.safetensors'}",
        markup=False,
    )
    return 0


def run_evaluate_reader(args: argparse.Namespace) -> int:
    from digitrec.reading.evaluation import evaluate_reader, print_reader_scores

    scores = evaluate_reader(args.reader, args.dataset, args.split, args.source)
    if args.json:
        print(json.dumps(scores))
    else:
        print_reader_scores(scores)
    return 0


def run_train_segmenter(args: argparse.Namespace) -> int:
    from digitrec.errors import UsageError
    from digitrec.output import stdout_console
    from digitrec.reading.segment_fitting import SegmentFitConfig, fit_segmenter

    if args.start is not None and not args.costs_only:
        raise UsageError("--start is the run whose verifier and scorer --costs-only keeps")
    if args.out.exists() and any(args.out.iterdir()):
        raise UsageError(f"{args.out} is not empty: give a new folder for the run")
    config = SegmentFitConfig(args.train_pages, args.pages, args.dev_pages, args.seed, args.epochs)
    record = fit_segmenter(args.out, config, costs_only=args.costs_only, start=args.start)
    stdout_console.print(
        f"development pages read exactly: {record['chosen']['dev_exact']:.1%}; "
        f"read with it: digitrec read --reader segment:{args.out}",
        markup=False,
    )
    return 0
