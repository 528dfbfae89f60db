"""`bench()`: how fast one network infers on each backend, side by side in one run.

For each backend — torch eager, torch.compile (on request: it compiles for a minute on a small
CPU and may not help), ONNX Runtime fp32, ONNX Runtime int8 (static, calibrated on training
digits) — it times the forward pass alone on prepared float input: latency of single digits
(median and 99th percentile) and time per batch (median), from which digits per second. The same
run measures the model's FLOPs per digit and a large fp32 matrix multiply, the machine's
practical FLOP rate, so the achieved rate can be read as a fraction of it.

Timings depend on everything else the machine runs: compare backends within one run only.
"""

import copy
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitrec.errors import UsageError
from digitrec.evaluate.run import PeakMemory
from digitrec.models.loading import load_model
from digitrec.models.modelfile import ModelCard, resolve_model_path, standardize
from digitrec.provenance import provenance
from digitrec.storage import sha256_file
from digitrec.timing import call_seconds

BACKENDS = ("torch", "torch-compile", "onnx", "onnx-int8")
MATMUL_SIDE = 2048  # the reference multiply: (2048 × 2048) @ (2048 × 2048) fp32, 17 GFLOP


@dataclass
class BenchConfig:
    backends: tuple[str, ...] = ("torch", "onnx", "onnx-int8")
    batch: int = 256  # the throughput batch
    single_runs: int = 1000  # timed batch-1 passes (p50 and p99)
    batch_runs: int = 30  # timed batch passes
    threads: int = 0  # torch and ONNX Runtime threads; 0 = every core

    def __post_init__(self) -> None:
        unknown = [b for b in self.backends if b not in BACKENDS]
        if unknown or not self.backends:
            raise UsageError(f"backends must be among {', '.join(BACKENDS)}, got {unknown}")
        if not 1 <= self.batch <= 65536:
            raise UsageError("batch must be in 1..65536")
        if self.single_runs < 10 or self.batch_runs < 3:
            raise UsageError("time at least 10 single-digit and 3 batch passes")
        if not 0 <= self.threads <= 256:
            raise UsageError("threads must be in 0..256")


def bench(
    spec: str | Path = "default",
    config: BenchConfig | None = None,
    *,
    source: Path | None = None,
) -> dict[str, Any]:
    """Benchmark the trained network `spec` ("default", a run directory or a model file)."""
    from digitrec.models.torch_classifier import TorchClassifier

    weights = resolve_model_path(spec)
    classifier = load_model(weights)
    if not isinstance(classifier, TorchClassifier):
        raise UsageError(f"{spec} is a {classifier.card.kind} model; bench times networks")
    config = config or BenchConfig()
    report = bench_module(classifier.module, classifier.card, config, weights, source=source)
    return {"model": str(spec), **report}


def bench_module(
    module: nn.Module,
    card: ModelCard,
    config: BenchConfig,
    weights: Path | None = None,
    *,
    source: Path | None = None,
) -> dict[str, Any]:
    """Benchmark a network in eval mode (weights may be untrained: speed does not depend on
    them, except int8 accuracy, which bench does not report)."""
    from digitrec import data

    threads_before = torch.get_num_threads()
    threads = config.threads or len(os.sched_getaffinity(0)) or 1
    torch.set_num_threads(threads)
    try:
        module = module.eval()
        test = data.load("mnist", "test", source)
        inputs = standardize(test.images[: config.batch])  # (batch, 1, 28, 28) float32
        matmul_before = matmul_gflops()
        results = []
        with tempfile.TemporaryDirectory() as scratch:
            for backend in config.backends:
                runner, size = _runner(
                    backend, module, card, weights, Path(scratch), threads, source
                )
                results.extend(_measure(backend, runner, inputs, config, size))
        flops = flops_per_digit(module)
        matmul = max(matmul_before, matmul_gflops())  # before and after: the best of both
        for result in results:
            rate = flops * result["digits_per_s"] / 1e9
            result["gflops"] = rate
            result["fraction_of_matmul"] = rate / matmul
        return {
            "architecture": card.architecture,
            "params": sum(p.numel() for p in module.parameters()),
            "flops_per_digit": flops,
            "matmul_gflops": matmul,
            "threads": threads,
            "results": results,
            "provenance": provenance(),
        }
    finally:
        torch.set_num_threads(threads_before)


def flops_per_digit(module: nn.Module) -> int:
    """Floating-point operations of one forward pass on one digit, as PyTorch's FLOP counter
    counts them: 2 per multiply-add of convolutions and matrix products (norms, activations and
    pooling not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        module.eval()(torch.zeros(1, 1, 28, 28))
    return int(counter.get_total_flops())


def matmul_gflops(side: int = MATMUL_SIDE, repeats: int = 5) -> float:
    """The best GFLOP/s of a (side × side) fp32 matrix product with torch's current threads."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(side, side, generator=generator)
    b = torch.randn(side, side, generator=generator)
    best = min(call_seconds(lambda: torch.mm(a, b), repeats))
    return 2 * side**3 / best / 1e9


Runner = Callable[[np.ndarray], Callable[[], object]]  # inputs -> one timed forward pass


def _runner(
    backend: str,
    module: nn.Module,
    card: ModelCard,
    weights: Path | None,
    scratch: Path,
    threads: int,
    source: Path | None,
) -> tuple[Runner, int | None]:
    """A function preparing one forward pass of `backend` on given inputs, and the size in bytes
    of what that backend loads (None for an untrained module with no file)."""
    if backend in ("torch", "torch-compile"):
        # channels-last weights as well as inputs: the layout oneDNN's CPU convolutions want
        eager = copy.deepcopy(module).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        model: Callable[[torch.Tensor], torch.Tensor] = eager
        if backend == "torch-compile":
            model = torch.compile(eager)

        def prepare_torch(inputs: np.ndarray) -> Callable[[], object]:
            x = torch.from_numpy(inputs).contiguous(memory_format=torch.channels_last)

            def run() -> object:
                with torch.inference_mode():
                    return model(x)

            return run

        return prepare_torch, weights.stat().st_size if weights else None

    from digitrec.export.onnx_export import calibration_digits, export_module, quantize_onnx
    from digitrec.export.runtime import OnnxClassifier

    path = scratch / "model.onnx"  # one fp32 export serves both ONNX backends
    if not path.exists():
        export_module(module, card, path, sha256_file(weights) if weights else "")
    if backend == "onnx-int8":
        int8 = scratch / "model-int8.onnx"
        calibration = calibration_digits(source=source)
        path = quantize_onnx(path, int8, "static", calibration=calibration)
    session = OnnxClassifier(path, threads=threads)

    def prepare_onnx(inputs: np.ndarray) -> Callable[[], object]:
        feed = {session.input_name: np.ascontiguousarray(inputs)}
        return lambda: session.session.run(None, feed)

    return prepare_onnx, path.stat().st_size


def _measure(
    backend: str, prepare: Runner, inputs: np.ndarray, config: BenchConfig, size: int | None
) -> list[dict[str, Any]]:
    rows = []
    for batch, runs in ((1, config.single_runs), (len(inputs), config.batch_runs)):
        run = prepare(inputs[:batch])
        # the first pass (compilation, memory planning) is reported, not timed with the rest
        first_ms = 1000 * call_seconds(run, 1, warmup=0)[0]
        with PeakMemory() as memory:
            times = [1000 * s for s in call_seconds(run, runs, warmup=max(3, runs // 10))]
        p50 = statistics.median(times)
        rows.append(
            {
                "backend": backend,
                "batch": batch,
                "p50_ms": p50,
                "p99_ms": float(np.percentile(times, 99)),
                "digits_per_s": batch / (p50 / 1000),
                "size_bytes": size,
                "first_pass_ms": first_ms,
                "peak_memory_mb": memory.peak_mb,
            }
        )
    return rows
