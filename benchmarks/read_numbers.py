"""Reading numbers and digits from images, beside Tesseract 5, in one run.

(a) Synthetic number pages (`digitrec data synth-numbers` from MNIST **test** digits: touching
    and broken digits, form lines, noise, blur, JPEG, lighting gradients, rotation) read by
    `digitrec.read` and by Tesseract 5 (`--psm 7`, one text line, digits whitelist) on the same
    files: exact-string accuracy and character error rate (edit distance / reference length).
(b) The 2,007 USPS test digits saved as PNG files (dark ink on white, 4× bigger, cubic) and read
    one digit per file by `digitrec.predict`: accuracy.
(c) Latency, median over many calls in this process with the model loaded: `predict` on one
    280×280 drawing (a PNG file, decoded each call) and `read` on one 8-digit line, each beside
    Tesseract on the same file (a process per call: Tesseract's command-line cost). The model
    runs on --backend (default auto, as the CLI: ONNX Runtime when installed and measured
    faster); when that is not torch, the latencies on torch are measured in the same run too.
    --reader picks how numbers are read (auto: the line reader when the package has it, else the
    segment reader; the report says which).

Targets (issue 4): pages ≥ 90% exact, CER ≤ 2%; USPS ≥ 98.5%; predict ≤ 20 ms; read ≤ 100 ms.

    python benchmarks/read_numbers.py [--pages 200] [--seed 0] [--calls 100] [--quick]
                                      [--usps-source DIR] [--usps-limit N] [--threads N]
                                      [--no-tesseract] [--backend auto] [--reader auto]
                                      [--out benchmarks/results]

Tesseract comes from Debian's `tesseract-ocr`; when it is missing and this runs as root with
apt-get, the script installs it (as scripts/install.sh does npm). Run it on an idle machine:
latencies measured beside other work are not results.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.data import load, load_splits
from digitrec.data.synth import SynthConfig, synth_numbers
from digitrec.export.runtime import BACKENDS, load_classifier
from digitrec.models.loading import load_model
from digitrec.models.modelfile import Classifier
from digitrec.provenance import provenance
from digitrec.reading import read_many
from digitrec.reading.accuracy import string_scores as scores_of
from digitrec.reading.reader import READERS, choose_reader
from digitrec.recognize import predict_many
from digitrec.storage import atomic_write_json

TESSERACT_ARGS = ["--psm", "7", "-c", "tessedit_char_whitelist=0123456789"]
TARGETS = {"exact": 0.90, "cer": 0.02, "usps": 0.985, "predict_ms": 20.0, "read_ms": 100.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="synthetic number pages")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic pages")
    parser.add_argument("--calls", type=int, default=100, help="calls per latency median")
    parser.add_argument("--usps-limit", type=int, help="only the first N USPS test digits")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 5 pages, 50 USPS digits, 5 calls"
    )
    parser.add_argument("--no-tesseract", action="store_true", help="leave the peer out")
    parser.add_argument("--threads", type=int, help="PyTorch threads (default: PyTorch's choice)")
    parser.add_argument("--usps-source", type=Path, help="a directory holding the USPS files")
    parser.add_argument(
        "--reader", choices=READERS, default="auto", help="how numbers are read (auto)"
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, default="auto", help="where the classifier runs (auto)"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    if args.quick:
        args.pages, args.calls, args.usps_limit = min(args.pages, 5), 5, args.usps_limit or 50
    if args.pages < 1 or args.calls < 1:
        parser.error("--pages and --calls must be at least 1")
    try:
        tesseract = None if args.no_tesseract else find_tesseract()
    except RuntimeError as error:
        print(f"read_numbers: error: {error}", file=sys.stderr)
        return 1

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model = load_classifier("default", args.backend)
    backend = backend_name(model)
    with tempfile.TemporaryDirectory(prefix="read-numbers-") as scratch:
        work = Path(scratch)
        numbers = bench_pages(model, args.reader, tesseract, args.pages, args.seed, work / "pages")
        usps = bench_usps(model, args.usps_source, args.usps_limit, work / "usps")
        latency = bench_latency(
            model, args.reader, tesseract, args.calls, args.seed, work / "latency"
        )
        if backend != "torch":  # the same calls on torch, side by side
            on_torch = bench_latency(
                load_model("default"), args.reader, None, args.calls, args.seed, work / "t"
            )
            latency["torch"] = {k: v for k, v in on_torch.items() if k != "line_text"}
    report = {
        "benchmark": "read_numbers",
        "seed": args.seed,
        "pages": args.pages,
        "quick": args.quick,
        "backend": backend,
        "reader": "segment" if choose_reader(args.reader) is None else "line",
        "torch_threads": torch_threads(),
        "targets": TARGETS,
        "numbers": numbers,
        "usps_png": usps,
        "latency_ms": latency,
        "tesseract": tesseract_version(tesseract) if tesseract else None,
        "provenance": provenance(),
    }
    print_report(report)
    atomic_write_json(args.out / "read_numbers.json", report)
    return 0


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def find_tesseract() -> str:
    """The tesseract binary, installed from Debian's tesseract-ocr when missing and we may."""
    found = shutil.which("tesseract")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("read_numbers: installing tesseract-ocr (the peer)", file=sys.stderr)
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "tesseract-ocr"],
        ):
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        found = shutil.which("tesseract")
    if found is None:
        raise RuntimeError(
            "tesseract not found: install Debian's tesseract-ocr (apt-get install tesseract-ocr) "
            "or pass --no-tesseract"
        )
    return found


def tesseract_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()


def run_tesseract(binary: str, image: Path, psm: str = "7") -> str:
    args = [binary, str(image), "stdout", *TESSERACT_ARGS]
    args[args.index("--psm") + 1] = psm
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    return "".join(c for c in done.stdout if c.isdigit())


def string_scores(truths: list[str], reads: list[str]) -> dict[str, Any]:
    scores = scores_of(truths, reads)
    return {
        "exact": round(scores["exact"], 4),
        "cer": round(scores["cer"], 4),
        "pages": len(truths),
        "characters": sum(len(t) for t in truths),
    }


def bench_pages(
    model: Classifier, reader: str, tesseract: str | None, count: int, seed: int, out: Path
) -> dict[str, Any]:
    """(a) Synthetic pages: both readers on the same files."""
    digits = load("mnist", "test")
    labels = json.loads(synth_numbers(digits, out, SynthConfig(count=count, seed=seed)).read_text())
    paths = [out / page["file"] for page in labels["pages"]]
    truths = [page["text"] for page in labels["pages"]]
    started = time.perf_counter()
    readings = read_many(paths, model, reader=reader)
    seconds = time.perf_counter() - started
    result = {"digitrec": string_scores(truths, [r.text for r in readings])}
    result["digitrec"]["seconds_per_page"] = round(seconds / count, 4)
    result["digitrec"]["errors"] = sum(r.error is not None for r in readings)
    if tesseract:
        started = time.perf_counter()
        reads = [run_tesseract(tesseract, path) for path in paths]
        result["tesseract"] = string_scores(truths, reads)
        result["tesseract"]["seconds_per_page"] = round((time.perf_counter() - started) / count, 4)
    return result


def usps_pngs(source: Path | None, limit: int | None, out: Path) -> tuple[list[Path], np.ndarray]:
    """USPS test digits as a user would have them: dark ink on white, 64×64 (4×, cubic), PNG."""
    import cv2

    test = load_splits("usps", source)["test"]
    images, labels = test.images[:limit], test.labels[:limit]
    out.mkdir(parents=True)
    paths = []
    for index, image in enumerate(images):
        paths.append(out / f"{index:04d}.png")
        big = cv2.resize(255 - image, (64, 64), interpolation=cv2.INTER_CUBIC)
        if not cv2.imwrite(str(paths[-1]), big):
            raise OSError(f"could not write {paths[-1]}")
    return paths, labels


def bench_usps(
    model: Classifier, source: Path | None, limit: int | None, out: Path
) -> dict[str, Any]:
    """(b) USPS test digits as PNG files through predict, end to end."""
    paths, labels = usps_pngs(source, limit, out)
    results = predict_many(paths, model, threshold=0.0)
    read = np.array([-1 if r.digit is None else r.digit for r in results])
    return {
        "accuracy": round(float(np.mean(read == labels)), 4),
        "digits": len(labels),
        "wrong": int((read != labels).sum()),
        "no_digit": int((read == -1).sum()),
    }


def median_ms(call: Callable[[], object], calls: int) -> float:
    call()  # warm-up: first-call allocations and lazy imports are not latency
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return round(1000 * statistics.median(times), 2)


def bench_latency(
    model: Classifier, reader: str, tesseract: str | None, calls: int, seed: int, out: Path
) -> dict[str, Any]:
    """(c) One drawing through predict, one 8-digit line through read; Tesseract beside each."""
    import cv2

    out.mkdir(parents=True)
    digit = load("mnist", "test").images[0]
    drawing = out / "drawing.png"  # as a 280×280 canvas of a web app sends it
    cv2.imwrite(str(drawing), cv2.resize(255 - digit, (280, 280), interpolation=cv2.INTER_CUBIC))
    line_config = SynthConfig(
        count=1, seed=seed, min_digits=8, max_digits=8, min_height=40, max_height=40, jpeg=0.0
    )
    labels = json.loads(synth_numbers(load("mnist", "test"), out / "line", line_config).read_text())
    line = out / "line" / labels["pages"][0]["file"]
    result: dict[str, Any] = {
        "calls": calls,
        "predict_one_digit": median_ms(lambda: predict_many([drawing], model), calls),
        "read_8_digit_line": median_ms(lambda: read_many([line], model, reader=reader), calls),
        "line_text": labels["pages"][0]["text"],
    }
    if tesseract:
        result["tesseract_one_digit"] = median_ms(
            lambda: run_tesseract(tesseract, drawing, "10"), calls
        )
        result["tesseract_8_digit_line"] = median_ms(lambda: run_tesseract(tesseract, line), calls)
    return result


def backend_name(model: Classifier) -> str:
    return "onnx" if type(model).__name__ == "OnnxClassifier" else "torch"


def print_report(report: dict[str, Any]) -> None:
    numbers, latency = report["numbers"], report["latency_ms"]
    print(f"{'reader':<10} {'pages':>6} {'exact':>7} {'CER':>7} {'s/page':>7}")
    for reader in ("digitrec", "tesseract"):
        if reader in numbers:
            row = numbers[reader]
            print(
                f"{reader:<10} {row['pages']:>6} {row['exact']:>7.2%} {row['cer']:>7.2%} "
                f"{row['seconds_per_page']:>7}"
            )
    usps = report["usps_png"]
    print(f"USPS test as PNG through predict: {usps['accuracy']:.2%} of {usps['digits']} digits")
    print(
        f"latency (median of {latency['calls']}, {report['backend']}): predict "
        f"{latency['predict_one_digit']} ms, read 8 digits {latency['read_8_digit_line']} ms"
        + (
            f"; tesseract {latency['tesseract_one_digit']} ms / {latency['tesseract_8_digit_line']} ms"
            if "tesseract_one_digit" in latency
            else ""
        )
    )
    if "torch" in latency:
        torch_ms = latency["torch"]
        print(
            f"on torch: predict {torch_ms['predict_one_digit']} ms, "
            f"read 8 digits {torch_ms['read_8_digit_line']} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
