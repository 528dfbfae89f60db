"""Fit the segment scorer that `digitrec read` uses to choose how to cut a line into digits.

    python scripts/fit_segment_scorer.py [--pages 600] [--dev-pages 300] [--seed 1]

Synthetic number pages are built (`digitrec.data.synth.make_page`, default SynthConfig) from
MNIST **validation** digits — never seen by the shipped classifier in training, and disjoint
from the test digits the benchmark pages use. Every candidate digit on the fitting pages is
labelled "whole digit" when its box overlaps a true digit's box with IoU ≥ 0.6, and a logistic
regression learns log P(whole digit) from the candidate's features (`digitrec.reading.scoring`).
The regularization, the per-digit bonus and the cost of leaving ink unread are then chosen for
exact-string accuracy on separate development pages (validation digits, another seed).

Writes src/digitrec/reading/segment_scorer.json (the model, as numbers) and
docs/results/segment-scorer.json (command, seed, machine, what each choice scored).
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from digitrec.data import load_splits
from digitrec.data.synth import Page, SynthConfig, make_page
from digitrec.errors import DataError
from digitrec.models.modelfile import load_model
from digitrec.progress import count_bar
from digitrec.provenance import provenance
from digitrec.reading.reader import PageAnalysis, analyse_page, decide
from digitrec.reading.scoring import FEATURES, SCORER_FILE, SegmentScorer
from digitrec.storage import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results" / "segment-scorer.json"
IOU = 0.6
C_GRID = (0.01, 0.1, 1.0)
BONUS_GRID = (-0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
SKIP_GRID = (2.0, 4.0, 8.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=600, help="fitting pages")
    parser.add_argument("--dev-pages", type=int, default=300, help="pages to choose settings on")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    digits = load_splits("mnist")["val"]
    classifier = load_model("default")
    config = SynthConfig()
    fit_pages = _pages(digits, config, args.pages, args.seed, "fitting pages")
    dev_pages = _pages(digits, config, args.dev_pages, args.seed + 1000, "development pages")
    fit = _analyse(fit_pages, classifier, "analysing fitting pages")
    dev = _analyse(dev_pages, classifier, "analysing development pages")
    features = np.concatenate([a.features for _, a in fit if a is not None])
    labels = np.concatenate([_labels(p, a) for p, a in fit if a is not None])
    print(f"{len(labels)} candidates, {labels.mean():.1%} whole digits", file=sys.stderr)
    trials = []
    best: tuple[float, SegmentScorer] | None = None
    for c in C_GRID:
        weights, bias, mean, scale = _logistic(features, labels, c)
        for bonus, skip in itertools.product(BONUS_GRID, SKIP_GRID):
            scorer = SegmentScorer(weights, bias, mean, scale, bonus, skip)
            exact = _exact(dev, scorer)
            trials.append({"C": c, "digit_bonus": bonus, "skip_cost": skip, "dev_exact": exact})
            if best is None or exact > best[0]:
                best = (exact, scorer)
    assert best is not None
    exact, scorer = best
    atomic_write_text(SCORER_FILE, json.dumps(scorer.to_json(), indent=1) + "\n")
    record = {
        "command": "python scripts/fit_segment_scorer.py " + " ".join(sys.argv[1:]),
        "seed": args.seed,
        "pages": {"fit": args.pages, "dev": args.dev_pages, "digits": "MNIST validation split"},
        "candidates": len(labels),
        "whole_digit_share": round(float(labels.mean()), 4),
        "chosen": {**scorer.to_json(), "dev_exact": exact},
        "features": list(FEATURES),
        "trials": trials,
        "seconds": round(time.perf_counter() - started, 1),
        "provenance": provenance(),
    }
    atomic_write_text(RESULTS, json.dumps(record, indent=1) + "\n")
    print(f"dev exact-string accuracy {exact:.1%}; wrote {SCORER_FILE} and {RESULTS}")
    return 0


def _pages(digits: object, config: SynthConfig, count: int, seed: int, what: str) -> list[Page]:
    rng = np.random.default_rng(seed)
    with count_bar(what, count) as advance:
        pages = []
        for _ in range(count):
            pages.append(make_page(digits, config, rng))  # type: ignore[arg-type]
            advance(1)
    return pages


def _analyse(
    pages: list[Page], classifier: object, what: str
) -> list[tuple[Page, PageAnalysis | None]]:
    out = []
    with count_bar(what, len(pages)) as advance:
        for page in pages:
            try:
                analysis: PageAnalysis | None = analyse_page(page.image, classifier)  # type: ignore[arg-type]
            except DataError:
                analysis = None
            out.append((page, analysis))
            advance(1)
    return out


def _labels(page: Page, analysis: PageAnalysis) -> np.ndarray:
    boxes = [analysis.page.to_page(c.box) for c in analysis.found]
    return np.array([max(_iou(b, t) for t in page.boxes) >= IOU for b in boxes], np.float64)


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / float(aw * ah + bw * bh - inter)


def _logistic(
    features: np.ndarray, labels: np.ndarray, c: float
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = features.mean(0), features.std(0) + 1e-9
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((features - mean) / scale, labels)
    return model.coef_[0].astype(np.float64), float(model.intercept_[0]), mean, scale


def _exact(pages: list[tuple[Page, PageAnalysis | None]], scorer: SegmentScorer) -> float:
    right = 0
    for page, analysis in pages:
        if analysis is not None and decide(analysis, scorer, "page").text == page.text:
            right += 1
    return right / len(pages)


if __name__ == "__main__":
    sys.exit(main())
