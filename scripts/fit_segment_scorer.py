"""Fit what `digitrec read` uses to choose how to cut a line into digits: the segment verifier
(a small CNN) and the segment scorer (a logistic regression over the verifier and shape cues).

    python scripts/fit_segment_scorer.py [--train-pages 1200] [--pages 300] [--dev-pages 200]
                                         [--seed 1] [--epochs 6] [--costs-only]

Synthetic number pages are built with `digitrec.data.synth.make_page` (default SynthConfig).
Every candidate digit on a page is labelled "whole digit" when its box overlaps a true digit's
box with IoU ≥ 0.6.
1. The verifier learns "whole digit" from the candidates' two views on pages of MNIST
   **training** digits.
2. The scorer learns log P(whole digit) from the candidates' features (verifier logit,
   classifier confidence, shape) on pages of MNIST **validation** digits, never seen in training
   by the classifier or the verifier.
3. The scorer's regularization, the per-digit bonus, the cost of leaving ink unread and the cost
   of two digits overlapping in x are chosen for exact-string accuracy on development pages
   (validation digits, another seed). --costs-only keeps the fitted verifier and scorer weights
   and chooses only the three costs again (a minute instead of most of an hour).
Test digits are left to the benchmark (benchmarks/read_numbers.py).

Writes src/digitrec/reading/verifier.{safetensors,json}, src/digitrec/reading/segment_scorer.json
and docs/results/segment-scorer.json (command, seeds, machine, what each choice scored).
"""

import argparse
import dataclasses
import itertools
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from digitrec.data import load_splits
from digitrec.data.synth import Page, SynthConfig, make_page
from digitrec.errors import DataError
from digitrec.models.loading import load_model
from digitrec.progress import count_bar
from digitrec.provenance import provenance
from digitrec.reading.reader import PageAnalysis, analyse_page, decide
from digitrec.reading.segment_scorer import FEATURES, SCORER_FILE, SegmentScorer
from digitrec.reading.verifier import Verifier, VerifierNet, as_input, save_verifier
from digitrec.storage import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results" / "segment-scorer.json"
IOU = 0.6
C_GRID = (0.01, 0.1, 1.0)
BONUS_GRID = (-0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
SKIP_GRID = (2.0, 4.0, 8.0)
OVERLAP_GRID = (0.0, 1.0, 2.0, 4.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-pages", type=int, default=1200, help="verifier training pages")
    parser.add_argument("--pages", type=int, default=300, help="scorer fitting pages")
    parser.add_argument("--dev-pages", type=int, default=200, help="pages to choose settings on")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=6, help="verifier training epochs")
    parser.add_argument(
        "--costs-only", action="store_true", help="choose only the costs, keep the fitted models"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    splits = load_splits("mnist")
    classifier = load_model("default")
    config = SynthConfig()
    if args.costs_only:
        return _costs_only(args, splits, classifier, config, started)
    train_pages = _pages(splits["train"], config, args.train_pages, args.seed + 2000, "pages")
    train = _analyse(train_pages, classifier, None, "analysing verifier training pages")
    verifier, verifier_record = _train_verifier(train, args.epochs, args.seed)
    fit_pages = _pages(splits["val"], config, args.pages, args.seed, "fitting pages")
    dev_pages = _pages(splits["val"], config, args.dev_pages, args.seed + 1000, "development pages")
    fit = _analyse(fit_pages, classifier, verifier, "analysing fitting pages")
    dev = _analyse(dev_pages, classifier, verifier, "analysing development pages")
    features = np.concatenate([a.features for _, a in fit if a is not None])
    labels = np.concatenate([_labels(p, a) for p, a in fit if a is not None])
    print(f"{len(labels)} candidates, {labels.mean():.1%} whole digits", file=sys.stderr)
    verifier_record["validation_accuracy"] = round(
        float(((features[:, FEATURES.index("verifier")] > 0) == labels).mean()), 4
    )
    trials: list[dict[str, float]] = []
    best: tuple[float, SegmentScorer] | None = None
    for c in C_GRID:
        weights, bias, mean, scale = _logistic(features, labels, c)
        fitted = SegmentScorer(weights, bias, mean, scale, 0.0, 0.0)
        exact, scorer, tried = _best_costs(dev, fitted)
        trials += [{"C": c, **trial} for trial in tried]
        if best is None or exact > best[0]:
            best = (exact, scorer)
    assert best is not None
    exact, scorer = best
    atomic_write_text(SCORER_FILE, json.dumps(scorer.to_json(), indent=1) + "\n")
    record = {
        "command": "python scripts/fit_segment_scorer.py " + " ".join(sys.argv[1:]),
        "seed": args.seed,
        "pages": {
            "verifier": args.train_pages,
            "verifier_digits": "MNIST training split",
            "fit": args.pages,
            "dev": args.dev_pages,
            "digits": "MNIST validation split",
        },
        "verifier": verifier_record,
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


def _costs_only(
    args: argparse.Namespace,
    splits: Mapping[str, object],
    classifier: object,
    config: SynthConfig,
    started: float,
) -> int:
    """Choose the per-digit bonus and the skip and overlap costs again, on the same development
    pages, around the verifier and scorer weights already fitted."""
    from digitrec.reading.reader import packaged_reading_models

    verifier, fitted = packaged_reading_models()
    dev_pages = _pages(splits["val"], config, args.dev_pages, args.seed + 1000, "development pages")
    dev = _analyse(dev_pages, classifier, verifier, "analysing development pages")
    exact, scorer, trials = _best_costs(dev, fitted)
    before = _exact(dev, fitted)
    atomic_write_text(SCORER_FILE, json.dumps(scorer.to_json(), indent=1) + "\n")
    record = json.loads(RESULTS.read_text())
    record["costs_refit"] = {
        "command": "python scripts/fit_segment_scorer.py " + " ".join(sys.argv[1:]),
        "dev_pages": args.dev_pages,
        "dev_exact_before": before,
        "chosen": {
            "digit_bonus": scorer.digit_bonus,
            "skip_cost": scorer.skip_cost,
            "overlap_cost": scorer.overlap_cost,
            "dev_exact": exact,
        },
        "trials": trials,
        "seconds": round(time.perf_counter() - started, 1),
        "provenance": provenance(),
    }
    atomic_write_text(RESULTS, json.dumps(record, indent=1) + "\n")
    print(f"dev exact-string accuracy {before:.1%} -> {exact:.1%}; wrote {SCORER_FILE}")
    return 0


def _best_costs(
    dev: list[tuple[Page, PageAnalysis | None]], fitted: SegmentScorer
) -> tuple[float, SegmentScorer, list[dict[str, float]]]:
    """The per-digit bonus and the skip and overlap costs with the best exact-string accuracy on
    the development pages, around a fitted scorer: (accuracy, scorer, every trial)."""
    trials, best = [], None
    for bonus, skip, overlap in itertools.product(BONUS_GRID, SKIP_GRID, OVERLAP_GRID):
        scorer = dataclasses.replace(
            fitted, digit_bonus=bonus, skip_cost=skip, overlap_cost=overlap
        )
        exact = _exact(dev, scorer)
        trials.append(
            {"digit_bonus": bonus, "skip_cost": skip, "overlap_cost": overlap, "dev_exact": exact}
        )
        if best is None or exact > best[0]:
            best = (exact, scorer)
    assert best is not None
    return best[0], best[1], trials


def _pages(digits: object, config: SynthConfig, count: int, seed: int, what: str) -> list[Page]:
    rng = np.random.default_rng(seed)
    with count_bar(what, count) as advance:
        pages = []
        for _ in range(count):
            pages.append(make_page(digits, config, rng))  # type: ignore[arg-type]
            advance(1)
    return pages


def _analyse(
    pages: list[Page], classifier: object, verifier: Verifier | None, what: str
) -> list[tuple[Page, PageAnalysis | None]]:
    out = []
    with count_bar(what, len(pages)) as advance:
        for page in pages:
            try:
                analysis: PageAnalysis | None = analyse_page(page.image, classifier, verifier)  # type: ignore[arg-type]
            except DataError:
                analysis = None
            out.append((page, analysis))
            advance(1)
    return out


def _train_verifier(
    pages: list[tuple[Page, PageAnalysis | None]], epochs: int, seed: int
) -> tuple[Verifier, dict[str, object]]:
    """An explicit loop: Adam, cosine learning rate, binary cross-entropy, batches of 256."""
    analysed = [(p, a) for p, a in pages if a is not None]
    images = np.concatenate([np.stack([c.image for c in a.found]) for _, a in analysed])
    contexts = np.concatenate([np.stack([c.context for c in a.found]) for _, a in analysed])
    labels = torch.from_numpy(np.concatenate([_labels(p, a) for p, a in analysed])).float()
    inputs = as_input(images, contexts)
    net = VerifierNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    steps = epochs * ((len(labels) + 255) // 256)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(seed)
    net.train()
    with count_bar(f"training the verifier on {len(labels)} candidates", steps) as advance:
        for _ in range(epochs):
            order = torch.randperm(len(labels), generator=generator)
            for start in range(0, len(labels), 256):
                batch = order[start : start + 256]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    net(inputs[batch]), labels[batch]
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                schedule.step()
                advance(1)
    net.eval()
    with torch.inference_mode():
        train_accuracy = float(((net(inputs) > 0).float() == labels).float().mean())
    card = {
        "arguments": {},
        "training": {"candidates": len(labels), "epochs": epochs, "seed": seed},
        "metrics": {"train_accuracy": round(train_accuracy, 4)},
    }
    save_verifier(net, card)
    return Verifier(net, card), {**card, "whole_digit_share": round(float(labels.mean()), 4)}


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
