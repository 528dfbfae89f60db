"""How likely a candidate is to be exactly one whole digit: a small logistic model.

The classifier alone cannot tell: it reads the left half of an 8 as a confident 1 and two
touching 4s as one confident 4. So each candidate is described by a few numbers — the
classifier's confidence, how its width, height and ink fit the digit it was read as and the
line it sits on, how many strokes its cuts go through, how many pieces it joins — and a logistic
regression fitted on synthetic pages built from MNIST *validation* digits (which the classifier
never trained on) turns them into log P(whole digit). `digitrec train-segmenter` fits it (and
`scripts/fit_segment_scorer.py` copies the result next to this module); it is data, not code.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.errors import DataError

SCORER_FILE = Path(__file__).resolve().parent / "segment_scorer.json"
FEATURES = (
    "verifier",  # the segment verifier's logit of 'exactly one whole digit' (verifier.py)
    "log_p",  # log probability of the best class (calibrated)
    "margin",  # log p(best) - log p(second best)
    "width_over",  # how much wider than usual for its class (z-score, 0 if not wider)
    "width_under",  # how much narrower (z-score, 0 for a 1: a 1 can be as thin as a stroke)
    "short",  # log(line height / its height), 0 if at least as tall as the line's digits
    "tall",  # log(its height / line height), 0 if not taller
    "ink_over",  # log of its ink over a typical digit's for its class, 0 if less
    "ink_under",  # ... 0 if more
    "cut_strokes",  # strokes its cuts (left + right) go through
    "cuts",  # cuts at its edges (0, 1 or 2)
    "pieces",  # components it joins beyond the first (broken strokes)
    "atoms",  # atoms it spans
)
# log(width / height) of MNIST digits per class: mean and std over the 60,000 training digits
# (ink bounding box, pixels > 60).
WIDTH_PRIOR = (
    (-0.104, 0.194),
    (-0.925, 0.458),
    (-0.070, 0.216),
    (-0.232, 0.211),
    (-0.239, 0.211),
    (-0.073, 0.256),
    (-0.323, 0.216),
    (-0.262, 0.214),
    (-0.279, 0.220),
    (-0.392, 0.205),
)
# log(ink pixels / the median digit's) of MNIST digits per class (pixels > 127).
INK_PRIOR = (0.279, -0.56, 0.123, 0.07, -0.087, -0.032, 0.039, -0.144, 0.136, -0.073)


def candidate_features(
    box: tuple[int, int, int, int],
    area: int,
    log_probabilities: np.ndarray,
    *,
    height: float,
    typical_area: float,
    cut_strokes: int,
    cuts: int,
    pieces: int,
    atoms: int,
    verifier: float,
) -> tuple[int, np.ndarray]:
    """(best class, feature vector in FEATURES order) for one candidate."""
    order = np.argsort(log_probabilities)[::-1]
    digit = int(order[0])
    log_p = float(log_probabilities[digit])
    margin = log_p - float(log_probabilities[order[1]])
    _, _, w, h = box
    mean, std = WIDTH_PRIOR[digit]
    z = (math.log(max(w, 1) / height) - mean) / std
    under = 0.0 if digit == 1 else max(0.0, -z)
    ink = math.log(max(area, 1) / typical_area) - INK_PRIOR[digit]
    relative_height = math.log(max(h, 1) / height)
    values = [
        float(np.clip(verifier, -15.0, 15.0)),
        log_p,
        min(margin, 20.0),
        max(0.0, z),
        under,
        max(0.0, -relative_height),
        max(0.0, relative_height),
        max(0.0, ink),
        max(0.0, -ink),
        float(cut_strokes),
        float(cuts),
        float(pieces),
        float(atoms),
    ]
    return digit, np.array(values, np.float64)


@dataclass(frozen=True)
class SegmentScorer:
    weights: np.ndarray  # (len(FEATURES),)
    bias: float
    mean: np.ndarray  # feature standardization, as fitted
    scale: np.ndarray
    digit_bonus: float  # nats added per digit read (tuned on validation pages for exact strings)
    skip_cost: float  # nats for leaving half a digit's worth of ink unread
    overlap_cost: float = 0.0  # nats for two digits side by side that overlap entirely in x

    def log_p_whole(self, features: np.ndarray) -> np.ndarray:
        """(N, F) features -> (N,) log P(the candidate is exactly one whole digit)."""
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        log_p: np.ndarray = -np.logaddexp(0.0, -logits)
        return log_p

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "digit_bonus": self.digit_bonus,
            "skip_cost": self.skip_cost,
            "overlap_cost": self.overlap_cost,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> "SegmentScorer":
        if data.get("features") != list(FEATURES):
            raise DataError(f"{SCORER_FILE.name}: fitted on other features; refit it")
        return cls(
            np.array(data["weights"], np.float64),
            float(data["bias"]),  # type: ignore[arg-type]
            np.array(data["mean"], np.float64),
            np.array(data["scale"], np.float64),
            float(data["digit_bonus"]),  # type: ignore[arg-type]
            float(data["skip_cost"]),  # type: ignore[arg-type]
            float(data.get("overlap_cost", 0.0)),  # type: ignore[arg-type]
        )


def load_scorer(path: Path = SCORER_FILE) -> SegmentScorer:
    try:
        return SegmentScorer.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run digitrec train-segmenter") from None
