"""Pen-up to answer on the web page (issue 21): what is drawn on the pad read in the browser
(ONNX Runtime Web: serve/static/local_reader.js for numbers, local_digit.js for a single digit's
ten bars and 28×28 input) beside the same page reading it on the server (POST /v1/read and
/v1/explain, the round trips it made before), in one run, on one `digitrec serve` and one
Chromium (Debian's, headless, driven by Playwright).

    python benchmarks/browser_reading.py [--numbers 20] [--digits 10] [--out benchmarks/results]

Each number is 2-6 MNIST **test** digits (seed 0), each single digit one of them, drawn with the
mouse along their skeletons, as the web tests draw them. The time is from the last pointerup to
the page showing its answer about that drawing (a MutationObserver on #result); the server mode
is the same page with GET /models/*.onnx refused, so it falls back to /v1/read and /v1/explain.
(A digit read in the browser asks the server for its saliency afterwards; that picture is not
waited for.) Target (issue 21): in the browser, p50 <= 50 ms. Also: exact answers in each mode,
and the bytes the page fetched to read in the browser (ONNX Runtime Web's files and the models,
as sent and unpacked), once.
"""

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from servers import running_server  # noqa: E402
from web_drawing import MODELS_SETTLED, digit_strokes, draw_with_mouse, number_boxes  # noqa: E402

from digitrec.data import load  # noqa: E402
from digitrec.provenance import provenance  # noqa: E402
from digitrec.storage import atomic_write_json  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TARGET_MS = 50.0

# Times pen-up -> answer: the last pointerup, and when #result next shows a settled answer.
OBSERVE = """
(() => {
  window.__penUp = null;
  window.__answers = [];
  document.addEventListener("pointerup", () => { window.__penUp = performance.now(); }, true);
  const start = () => {
    const result = document.getElementById("result");
    new MutationObserver(() => {
      const version = document.getElementById("pad").dataset.version;
      if (result.dataset.version === version && result.dataset.state === "done" &&
          window.__penUp !== null) {
        window.__answers.push({ ms: performance.now() - window.__penUp, number: result.dataset.number || result.dataset.digit || "" });
        window.__penUp = null;
      }
    }).observe(result, { attributes: true });
  };
  document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", start) : start();
})();
"""


def drawings(numbers: int, digits: int, seed: int) -> list[list[int]]:
    """`numbers` numbers of 2-6 MNIST test digits, then `digits` single digits (indices)."""
    rng = np.random.default_rng(seed)
    test = load("mnist", "test")
    drawn = [
        list(rng.choice(len(test), int(rng.integers(2, 7)), replace=False)) for _ in range(numbers)
    ]
    return drawn + [[int(i)] for i in rng.choice(len(test), digits, replace=False)]


def run_mode(browser: Any, url: str, mode: str, drawn: list[list[int]]) -> dict[str, Any]:
    test = load("mnist", "test")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if mode == "server":
        context.route("**/models/*.onnx", lambda route: route.abort())
    page = context.new_page()
    page.add_init_script(OBSERVE)
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_function(MODELS_SETTLED)
    for model in ("data-reader", "data-classifier"):
        assert page.get_attribute("#pad", model) == ("browser" if mode == "browser" else "server")
    times: dict[str, list[float]] = {"numbers": [], "digits": []}
    exact = {"numbers": 0, "digits": 0}
    for indices in drawn:
        if page.is_enabled("#clear"):
            page.click("#clear")
        before = page.evaluate("window.__answers.length")
        for index, box in zip(indices, number_boxes(page, len(indices)), strict=True):
            draw_with_mouse(page, box, digit_strokes(test.images[index]))
        page.wait_for_function("n => window.__answers.length > n", arg=before)
        answer = page.evaluate("window.__answers[window.__answers.length - 1]")
        kind = "digits" if len(indices) == 1 else "numbers"
        times[kind].append(answer["ms"])
        exact[kind] += answer["number"] == "".join(str(int(test.labels[i])) for i in indices)
    transfers = page.evaluate(
        """() => performance.getEntriesByType("resource")
          .filter((e) => e.name.includes("/static/ort/") || e.name.includes("/models/"))
          .map((e) => [e.encodedBodySize, e.decodedBodySize])"""
    )
    context.close()
    sent, unpacked = (
        (sum(column) for column in zip(*transfers, strict=True)) if transfers else (0, 0)
    )
    summary: dict[str, Any] = {
        kind: {
            "count": len(taken),
            "exact": round(exact[kind] / len(taken), 4),
            "p50_ms": round(statistics.median(taken), 1),
            "p90_ms": round(float(np.percentile(taken, 90)), 1),
            "mean_ms": round(statistics.fmean(taken), 1),
        }
        for kind, taken in times.items()
        if taken
    }
    return summary | {"bytes_to_read_locally": {"sent": sent, "unpacked": unpacked}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=20)
    parser.add_argument("--digits", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    drawn = drawings(args.numbers, args.digits, args.seed)
    with tempfile.TemporaryDirectory() as scratch, running_server(Path(scratch)) as server:
        url = f"http://127.0.0.1:{server['port']}/"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            modes = {}
            for mode in ("browser", "server"):
                modes[mode] = run_mode(browser, url, mode, drawn)
                print(mode, json.dumps(modes[mode]), flush=True)
            browser.close()
    record = {
        "benchmark": "browser_reading",
        "seed": args.seed,
        "target_p50_ms": TARGET_MS,
        "met": all(
            modes["browser"][kind]["p50_ms"] <= TARGET_MS
            for kind in ("numbers", "digits")
            if kind in modes["browser"]
        ),
        "modes": modes,
        "provenance": provenance(),
    }
    atomic_write_json(args.out / "browser_reading.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
