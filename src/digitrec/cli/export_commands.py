"""`digitrec export`, `prune`, `distill` and `bench`: thin wrappers over `digitrec.export`,
`digitrec.compress` and `digitrec.bench`."""

import argparse
import json
import math
from pathlib import Path
from typing import Any

from digitrec.errors import DigitrecError


class ValidationFailedError(DigitrecError):
    """An export that does not match its torch model closely enough (the file is still written)."""


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    export = commands.add_parser(
        "export", help="export a network to ONNX (optionally int8), validated against torch"
    )
    export.add_argument("--model", default="default", help="'default', a run dir or model file")
    export.add_argument("--format", default="onnx", type=_format, help="onnx (the only format)")
    export.add_argument("--quantize", choices=["dynamic", "static"], help="int8 quantization")
    export.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    export.add_argument("--opset", type=int, default=18, help="ONNX opset, ≥ 17 (default 18)")
    export.add_argument(
        "--calibration", type=int, default=512, help="training digits for static int8 (512)"
    )
    export.add_argument(
        "--limit", type=int, default=0, help="validate on N test digits only (default: all)"
    )
    export.add_argument("--no-validate", action="store_true", help="skip the comparison")
    export.add_argument("--source", type=Path, help="a directory holding MNIST's files")
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(handler=run_export)

    prune = commands.add_parser(
        "prune", help="magnitude pruning (weights or whole channels), then fine-tuning"
    )
    prune.add_argument("--model", default="default", help="the trained network to prune")
    prune.add_argument("--sparsity", type=_fraction, required=True, help="fraction in (0, 1)")
    prune.add_argument(
        "--structured", action="store_true", help="prune whole conv channels (default: weights)"
    )
    prune.add_argument("--out", type=Path, required=True, help="run directory to write")
    _training_options(prune, epochs_help="fine-tuning epochs (default 2)")
    prune.add_argument("--json", action="store_true", help="print one JSON object")
    prune.set_defaults(handler=run_prune)

    distill = commands.add_parser(
        "distill", help="train a small student on a teacher's (or an ensemble's) soft targets"
    )
    distill.add_argument(
        "--teacher",
        action="append",
        required=True,
        help="a trained network; repeat for an ensemble (probabilities averaged)",
    )
    distill.add_argument("--student", default="student", help="a zoo network (default student)")
    distill.add_argument("--out", type=Path, required=True, help="run directory to write")
    distill.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="softening of the teachers' calibrated probabilities (default 1: as calibrated)",
    )
    distill.add_argument("--alpha", type=float, default=0.5, help="weight of soft targets (0.5)")
    distill.add_argument(
        "--raw-teacher",
        action="store_true",
        help="soften the teachers' raw logits, not their calibrated probabilities",
    )
    _training_options(distill, epochs_help="epochs (default 30)")  # light augmentation
    distill.add_argument("--json", action="store_true", help="print one JSON object")
    distill.set_defaults(handler=run_distill)

    bench = commands.add_parser(
        "bench", help="inference latency and throughput on torch and ONNX Runtime, fp32 and int8"
    )
    bench.add_argument("--model", default="default", help="'default', a run dir or model file")
    bench.add_argument(
        "--backends",
        default="torch,onnx,onnx-int8",
        help="comma-separated: torch, torch-compile, onnx, onnx-int8 (default all but compile)",
    )
    bench.add_argument("--batch", type=int, default=256, help="throughput batch (256)")
    bench.add_argument("--runs", type=int, default=1000, help="timed single-digit passes (1000)")
    bench.add_argument("--threads", type=int, default=0, help="threads (0: every core)")
    bench.add_argument("--source", type=Path, help="a directory holding MNIST's files")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(handler=run_bench)


def _format(text: str) -> str:
    if text != "onnx":
        raise argparse.ArgumentTypeError(f"unknown format {text!r}; the only format is onnx")
    return text


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text!r}")
    return value


def _training_options(parser: argparse.ArgumentParser, *, epochs_help: str) -> None:
    parser.add_argument("--epochs", type=float, help=epochs_help)
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--augment", help="none, light, medium or strong")
    parser.add_argument("--dataset", help="dataset spec (default mnist)")
    parser.add_argument("--source", type=Path, help="a directory holding the dataset's files")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--limit", type=int, help="N random training and validation digits")
    parser.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    parser.add_argument("--threads", type=int, help="CPU threads (0: every core)")


def _train_config(args: argparse.Namespace, base: dict[str, Any], model: str) -> Any:
    from digitrec.cli.train_commands import given_options
    from digitrec.train.config import TrainConfig

    names = ("epochs", "lr", "batch_size", "augment", "dataset", "seed", "limit", "max_steps")
    return TrainConfig(**(dict(base) | {"model": model} | given_options(args, (*names, "threads"))))


def run_export(args: argparse.Namespace) -> int:
    from digitrec.export.deploy import deploy

    done = deploy(
        args.model,
        args.out,
        quantize=args.quantize,
        calibration=args.calibration,
        validate=not args.no_validate,
        limit=args.limit,
        source=args.source,
        opset=args.opset,
    )
    validation = done.validation
    if args.json:
        print(json.dumps(done.to_json()))
    else:
        print(f"wrote {done.path} ({done.precision}, {done.size_bytes / 1024:,.0f} KiB)")
        if validation:
            v = validation
            print(
                f"validated on {v.digits:,} {v.dataset} {v.split} digits: max |logit diff| "
                f"{v.max_abs_logit_diff:.2e}, argmax agreement {v.argmax_agreement:.4%}, "
                f"accuracy torch {v.torch_accuracy:.2%} / onnx {v.onnx_accuracy:.2%} "
                f"({v.criterion}: {'passed' if v.passed else 'FAILED'})"
            )
    if validation and not validation.passed:
        raise ValidationFailedError(
            f"{done.path} does not meet '{validation.criterion}' (file written; see the numbers "
            "above)"
        )
    return 0


def run_prune(args: argparse.Namespace) -> int:
    from digitrec.compress.prune import FINETUNE_RECIPE, PruneConfig, prune

    prune_config = PruneConfig(args.sparsity, args.structured)
    config = _train_config(args, FINETUNE_RECIPE, "default")  # model replaced by the pruned one's
    result = prune(args.model, prune_config, config, args.out, source=args.source)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    what = "channels" if args.structured else "weights"
    print(
        f"zeroed {result.zeroed:,} of {result.of:,} {what}; validation accuracy "
        f"{result.val_accuracy_before:.2%} before, {result.val_accuracy_pruned:.2%} pruned, "
        f"{result.val_accuracy:.2%} fine-tuned; {result.parameters:,} parameters "
        f"({result.nonzero_parameters:,} non-zero), {result.size_bytes / 1024:,.0f} KiB "
        f"({result.compressed_bytes / 1024:,.0f} KiB deflated); model in {result.model_path}"
    )
    return 0


def run_distill(args: argparse.Namespace) -> int:
    from digitrec.compress.distill import DISTILL_RECIPE, distill
    from digitrec.train.objective import DistillConfig

    config = _train_config(args, DISTILL_RECIPE, args.student)
    distillation = DistillConfig(args.temperature, args.alpha, calibrated=not args.raw_teacher)
    result = distill(args.teacher, config, args.out, distillation, source=args.source)
    summary = {
        "run_dir": str(result.run_dir),
        "model": str(result.model_path),
        "val_accuracy": result.val_accuracy,
        "parameters": result.parameters,
        "train_seconds": result.train_seconds,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"student {args.student}: {result.parameters:,} parameters, validation accuracy "
            f"{result.val_accuracy:.2%} after {result.train_seconds:.0f} s; model in "
            f"{result.model_path}"
        )
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from digitrec.bench import BenchConfig, bench

    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    config = BenchConfig(backends, args.batch, single_runs=args.runs, threads=args.threads)
    report = bench(args.model, config, source=args.source)
    if args.json:
        print(json.dumps(report))
    else:
        print_bench(report)
    return 0


def print_bench(report: dict[str, Any]) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from digitrec.output import stdout_console

    title = (
        f"{report['model']} ({report['architecture']}): {report['params']:,} parameters, "
        f"{report['flops_per_digit'] / 1e6:.1f} MFLOP per digit; fp32 matmul "
        f"{report['matmul_gflops']:.0f} GFLOP/s on {report['threads']} threads"
    )
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE, padding=(0, 1))
    headers = ("backend", "batch", "p50 ms", "p99 ms", "digits/s", "of matmul", "KiB", "MB")
    table.add_column(headers[0], min_width=len("torch-compile"))
    for header in headers[1:]:
        table.add_column(header, justify="right")
    for row in report["results"]:
        size = "—" if row["size_bytes"] is None else f"{row['size_bytes'] / 1024:,.0f}"
        peak = "—" if row["peak_memory_mb"] is None else f"{row['peak_memory_mb']:.1f}"
        table.add_row(
            row["backend"],
            str(row["batch"]),
            f"{row['p50_ms']:.3f}",
            f"{row['p99_ms']:.3f}",
            f"{row['digits_per_s']:,.0f}",
            f"{row['fraction_of_matmul']:.0%}",
            size,
            peak,
        )
    stdout_console.print(table)
    stdout_console.print(
        "of matmul: FLOPs per digit × digits/s over the matmul's FLOP rate; KiB: the file the backend "
        "loads; MB: resident memory the timed passes added",
        style="dim",
    )
