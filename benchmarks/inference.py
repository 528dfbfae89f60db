"""Inference speed and export fidelity, side by side in one run, against issue 7's targets.

- The shipped `default` model on every backend (torch eager, ONNX Runtime fp32, ONNX Runtime int8
  static; torch.compile with --compile), next to the peer — PyTorch's official MNIST example
  network in torch eager (timed with untrained weights: speed does not depend on them) — and the
  distilled `student` (the shipped one if present, else --student RUN).
- FLOPs per digit and a large fp32 matrix multiply measured in the same run.
- ONNX fidelity on the full MNIST test set: fp32 argmax agreement with torch and int8 (static,
  calibrated on training digits) accuracy drop and size.

Targets: default under ONNX Runtime batch-1 p50 ≤ 0.3 ms and at batch 256 ≥ 40% of the matmul
FLOP rate; int8 ≤ 1/3 of the fp32 size and ≤ 0.1 point accuracy loss; fp32 agreement ≥ 99.95%;
student ≤ 20,000 parameters, ≥ 99.5% test accuracy, ≥ 20,000 digits/s at batch 256.

    python benchmarks/inference.py [--student RUN] [--compile] [--threads 0] [--out DIR]

Run it on an otherwise idle machine: anything else running changes every timing.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from digitrec.bench import BenchConfig, bench, bench_module
from digitrec.evaluate import evaluate
from digitrec.export.onnx_export import (
    calibration_digits,
    export_onnx,
    quantize_onnx,
)
from digitrec.export.validation import validate_onnx
from digitrec.models.modelfile import PACKAGED, ModelCard
from digitrec.models.zoo import build_model
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_json

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--student", help="the distilled student (default: the shipped one)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--threads", type=int, default=0, help="threads (0: every core)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()

    backends = ("torch", "torch-compile", "onnx", "onnx-int8") if args.compile else None
    config = BenchConfig(backends or BenchConfig.backends, threads=args.threads)
    default = bench("default", config)
    print_rows("default", default)
    peer_module = build_model("pytorch-example")
    peer_config = BenchConfig(("torch",), threads=args.threads)
    peer = bench_module(peer_module, ModelCard("torch", "pytorch-example"), peer_config)
    peer["model"] = "pytorch-example (untrained weights: timing only)"
    print_rows("pytorch-example", peer)
    student_spec = args.student or (
        "student" if (PACKAGED / "student.safetensors").is_file() else None
    )
    student = bench(student_spec, config) if student_spec else None
    student_test = evaluate(student_spec, "mnist", "test") if student_spec else None
    if student:
        print_rows("student", student)
    fidelity = export_fidelity()
    print(json.dumps(fidelity, indent=2))

    targets = check_targets(default, student, student_test, fidelity)
    for name, target in targets.items():
        print(f"{'PASS' if target['met'] else 'MISS'}  {name}: {target['value']}")
    record = {
        "default": default,
        "peer": peer,
        "student": student,
        "student_test_accuracy": student_test["accuracy"] if student_test else None,
        "fidelity": fidelity,
        "targets": targets,
        "provenance": provenance(),
    }
    atomic_write_json(args.out / "inference.json", record)
    return 0


def export_fidelity() -> dict[str, Any]:
    """fp32 and static int8 exports of `default` against torch on the full MNIST test set."""
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = export_onnx("default", Path(scratch) / "default.onnx")
        int8 = quantize_onnx(
            fp32, Path(scratch) / "int8.onnx", "static", calibration=calibration_digits()
        )
        return {
            "fp32": validate_onnx(fp32, "default").to_json() | {"size_bytes": fp32.stat().st_size},
            "int8": validate_onnx(int8, "default").to_json() | {"size_bytes": int8.stat().st_size},
        }


def row(report: dict[str, Any], backend: str, batch: int) -> dict[str, Any]:
    return next(r for r in report["results"] if r["backend"] == backend and r["batch"] == batch)


def check_targets(
    default: dict[str, Any],
    student: dict[str, Any] | None,
    student_test: dict[str, Any] | None,
    fidelity: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    onnx_1, onnx_256 = row(default, "onnx", 1), row(default, "onnx", 256)
    fp32, int8 = fidelity["fp32"], fidelity["int8"]
    targets = {
        "default onnx batch-1 p50 ≤ 0.3 ms": (onnx_1["p50_ms"], onnx_1["p50_ms"] <= 0.3),
        "default onnx batch-256 ≥ 40% of matmul": (
            onnx_256["fraction_of_matmul"],
            onnx_256["fraction_of_matmul"] >= 0.4,
        ),
        "int8 size ≤ 1/3 of fp32": (
            int8["size_bytes"] / fp32["size_bytes"],
            int8["size_bytes"] <= fp32["size_bytes"] / 3,
        ),
        "int8 accuracy drop ≤ 0.1 point": (
            int8["accuracy_drop_points"],
            int8["accuracy_drop_points"] <= 0.1,
        ),
        "fp32 argmax agreement ≥ 99.95%": (
            fp32["argmax_agreement"],
            fp32["argmax_agreement"] >= 0.9995,
        ),
    }
    if student and student_test:
        fastest = max(r["digits_per_s"] for r in student["results"] if r["batch"] == 256)
        targets |= {
            "student ≤ 20,000 parameters": (student["params"], student["params"] <= 20_000),
            "student ≥ 99.5% test accuracy": (
                student_test["accuracy"],
                student_test["accuracy"] >= 0.995,
            ),
            "student ≥ 20,000 digits/s at batch 256 (fastest backend)": (
                fastest,
                fastest >= 20_000,
            ),
        }
    return {name: {"value": value, "met": met} for name, (value, met) in targets.items()}


def print_rows(name: str, report: dict[str, Any]) -> None:
    print(
        f"{name}: {report['params']:,} parameters, {report['flops_per_digit'] / 1e6:.2f} MFLOP/digit,"
        f" matmul {report['matmul_gflops']:.0f} GFLOP/s"
    )
    for r in report["results"]:
        print(
            f"  {r['backend']:<14} batch {r['batch']:>3}  p50 {r['p50_ms']:8.3f} ms  "
            f"p99 {r['p99_ms']:8.3f} ms  {r['digits_per_s']:>9,.0f} digits/s  "
            f"{r['fraction_of_matmul']:5.0%} of matmul"
        )


if __name__ == "__main__":
    sys.exit(main())
