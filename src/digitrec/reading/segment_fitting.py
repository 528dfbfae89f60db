"""Fitting what `digitrec read --reader segment` uses to choose how to cut a line into digits:
the segment verifier (a small CNN) and the segment scorer (a logistic regression over the
verifier and shape cues). `digitrec train-segmenter --out DIR` runs it; `read --reader
segment:DIR` reads with the result; `scripts/fit_segment_scorer.py` ships it.

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
   (validation digits, another seed). `costs_only` keeps a fitted verifier and scorer and
   chooses only the three costs again (a minute instead of most of an hour).
Test digits are left to the benchmark (benchmarks/read_numbers.py).

A run directory holds verifier.safetensors + verifier.json, segment_scorer.json and fit.json
(the settings, seeds, what each choice scored, provenance).
"""

import dataclasses
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from digitrec.data import load_splits
from digitrec.data.digitset import DigitSet
from digitrec.data.synth import Page, SynthConfig, make_page
from digitrec.errors import DataError, UsageError
from digitrec.models.loading import load_model
from digitrec.models.modelfile import Classifier
from digitrec.progress import count_bar
from digitrec.provenance import provenance
from digitrec.reading.reader import PageAnalysis, analyse_page, decide, load_segmenter
from digitrec.reading.segment_scorer import FEATURES, SegmentScorer
from digitrec.reading.verifier import Verifier, VerifierNet, as_input, save_verifier
from digitrec.storage import atomic_write_json

IOU = 0.6
C_GRID = (0.01, 0.1, 1.0)
BONUS_GRID = (-0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
SKIP_GRID = (2.0, 4.0, 8.0)
OVERLAP_GRID = (0.0, 1.0, 2.0, 4.0)
FILES = ("verifier.safetensors", "verifier.json", "segment_scorer.json")


@dataclass(frozen=True)
class SegmentFitConfig:
    train_pages: int = 1200  # verifier training pages (MNIST training digits)
    pages: int = 300  # scorer fitting pages (validation digits)
    dev_pages: int = 200  # pages the settings are chosen on (validation digits, another seed)
    seed: int = 1
    epochs: int = 6  # verifier training epochs

    def __post_init__(self) -> None:
        if min(self.train_pages, self.pages, self.dev_pages, self.epochs) < 1:
            raise UsageError("pages, development pages and epochs must each be at least 1")


def fit_segmenter(
    out: Path, config: SegmentFitConfig, *, costs_only: bool = False, start: Path | None = None
) -> dict[str, Any]:
    """Fit the verifier and the scorer into `out` (see the module docstring) and return the
    record written to out/fit.json. costs_only: keep the verifier and scorer of `start` (a run
    directory; the packaged ones when None) and choose only the three costs again."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    splits = load_splits("mnist")
    classifier = load_model("default")
    synth = SynthConfig()
    dev_pages = _pages(
        splits["val"], synth, config.dev_pages, config.seed + 1000, "development pages"
    )
    if costs_only:
        verifier, fitted = _start_models(start)
        save_verifier(verifier.net, dict(verifier.card), out / "verifier")
        dev = _analyse(dev_pages, classifier, verifier, "analysing development pages")
        exact, scorer, trials = _best_costs(dev, fitted)
        record: dict[str, Any] = {
            "costs_only": True,
            "start": str(start or "packaged"),
            "dev_exact_before": _exact(dev, fitted),
        }
    else:
        train_pages = _pages(
            splits["train"], synth, config.train_pages, config.seed + 2000, "pages"
        )
        train = _analyse(train_pages, classifier, None, "analysing verifier training pages")
        verifier, verifier_record = _train_verifier(train, config.epochs, config.seed, out)
        fit_pages = _pages(splits["val"], synth, config.pages, config.seed, "fitting pages")
        fit = _analyse(fit_pages, classifier, verifier, "analysing fitting pages")
        dev = _analyse(dev_pages, classifier, verifier, "analysing development pages")
        features = np.concatenate([a.features for _, a in fit if a is not None])
        labels = np.concatenate([_labels(p, a) for p, a in fit if a is not None])
        verifier_record["validation_accuracy"] = round(
            float(((features[:, FEATURES.index("verifier")] > 0) == labels).mean()), 4
        )
        trials = []
        best: tuple[float, SegmentScorer] | None = None
        for c in C_GRID:
            weights, bias, mean, scale = _logistic(features, labels, c)
            candidate = SegmentScorer(weights, bias, mean, scale, 0.0, 0.0)
            value, chosen, tried = _best_costs(dev, candidate)
            trials += [{"C": c, **trial} for trial in tried]
            if best is None or value > best[0]:
                best = (value, chosen)
        assert best is not None
        exact, scorer = best
        record = {
            "verifier": verifier_record,
            "candidates": len(labels),
            "whole_digit_share": round(float(labels.mean()), 4),
        }
    atomic_write_json(out / "segment_scorer.json", scorer.to_json(), indent=1)
    record = {
        "config": dataclasses.asdict(config),
        "pages": {
            "verifier_digits": "MNIST training split",
            "digits": "MNIST validation split",
        },
        **record,
        "chosen": {**scorer.to_json(), "dev_exact": exact},
        "features": list(FEATURES),
        "trials": trials,
        "seconds": round(time.perf_counter() - started, 1),
        "provenance": provenance(),
    }
    atomic_write_json(out / "fit.json", record, indent=1)
    return record


def _start_models(start: Path | None) -> tuple[Verifier, SegmentScorer]:
    if start is None:
        from digitrec.reading.reader import packaged_reading_models

        return packaged_reading_models()
    return load_segmenter(str(start.expanduser().resolve()))


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


def _pages(digits: DigitSet, config: SynthConfig, count: int, seed: int, what: str) -> list[Page]:
    rng = np.random.default_rng(seed)
    with count_bar(what, count) as advance:
        pages = []
        for _ in range(count):
            pages.append(make_page(digits, config, rng))
            advance(1)
    return pages


def _analyse(
    pages: list[Page], classifier: Classifier, verifier: Verifier | None, what: str
) -> list[tuple[Page, PageAnalysis | None]]:
    out = []
    with count_bar(what, len(pages)) as advance:
        for page in pages:
            try:
                analysis: PageAnalysis | None = analyse_page(page.image, classifier, verifier)
            except DataError:
                analysis = None
            out.append((page, analysis))
            advance(1)
    return out


def _train_verifier(
    pages: list[tuple[Page, PageAnalysis | None]], epochs: int, seed: int, out: Path
) -> tuple[Verifier, dict[str, Any]]:
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
    save_verifier(net, card, out / "verifier")
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
