"""`digitrec feedback train`: fine-tune the served digit classifier on its users' corrections,
then gate it.

1. The store is copied into the run (`feedback.db`, SQLite's backup: later corrections do not
   change a run, and `--resume` trains on the same rows).
2. One training run like any other (`train.train`: config.json, metrics.jsonl, checkpoint,
   model card) starting from the base model's weights, on the dataset
   `REPLAY+feedback:RUN/feedback.db*K`: the replay is the data the base model was trained on
   (its card says which, corrections of earlier runs left out: they are in the store), and K
   weights the corrections so that training sees each about `repeats` times (at most half of
   what it sees is corrections): a few dozen are not drowned by 70,000 replayed digits, nor
   learned by heart. The newest corrections (by time) are never trained on.
3. The gate (`learning.gate`): before and after, on the held-out corrections, MNIST test and the
   real validation sets; gate.json and gate/report.* in the run.
"""

import math
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from digitrec import data
from digitrec.errors import UsageError
from digitrec.learning.gate import DEV_SETS, DEV_TOLERANCE_PP, TOLERANCE_PP
from digitrec.storage import atomic_write_json

SETTINGS = "feedback-train.json"  # this command's settings, beside train's config.json
MIN_ROWS = 5  # fewer corrections than this leave nothing to learn from and nothing to measure


@dataclass
class FeedbackTraining:
    db: str = ""  # the store ("": $DIGITREC_HOME/feedback.db, as `digitrec serve` keeps it)
    base: str = "default"  # the model to improve: the active version unless named
    replay: str = ""  # the replayed data ("": what the base model was trained on)
    repeats: float = 30.0  # times training sees each correction, about
    steps: int = 300  # optimizer steps
    lr: float = 0.002
    ema: float = 0.0  # decay of an average of the weights (0: off)
    seed: int = 0
    threads: int = 0
    tolerance_pp: float = TOLERANCE_PP
    dev_tolerance_pp: float = DEV_TOLERANCE_PP
    dev: str = "usps,cvl"  # the real validation sets the gate holds (those fetched here)
    source: str = ""  # --source for fetching the replay's files

    @property
    def dev_sets(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.dev.split(",") if part.strip())

    def __post_init__(self) -> None:
        checks = [
            (0 < self.repeats <= 10_000, "--repeats must be in (0, 10000]"),
            (1 <= self.steps <= 1_000_000, "--steps must be in 1..1000000"),
            (math.isfinite(self.lr) and 0 < self.lr <= 1, "--lr must be in (0, 1]"),
            (self.tolerance_pp >= 0 and self.dev_tolerance_pp >= 0, "tolerances are ≥ 0 pp"),
            (
                set(self.dev_sets) <= set(DEV_SETS),
                f"--dev names real validation sets: {', '.join(DEV_SETS)} (comma-separated)",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)


def replay_of(card: Any) -> str:
    """The dataset the base model was trained on, without the corrections of earlier runs."""
    spec = str(card.training.get("config", {}).get("dataset", "")) or "mnist"
    kept = [
        name
        for part in data.dataset_parts(spec)
        if not (name := data.part_weight(part)[0]).startswith("feedback")
    ]
    return "+".join(kept) or "mnist"


def train_on_feedback(
    out: Path, options: FeedbackTraining, *, resume: bool = False
) -> dict[str, Any]:
    """Train and gate; returns the gate record (also in out/gate.json)."""
    from digitrec.learning.gate import accuracy, gate_sets, judge, write_gate
    from digitrec.storage import read_json_object

    if resume:
        saved = read_json_object(out / SETTINGS)
        options = FeedbackTraining(**saved["options"])
        base_path, weight = saved["base_path"], saved["weight"]
        if not (out / "model.safetensors").is_file():
            _train(out, saved["config"], resume=True, source=options.source)
    else:
        base_path, weight, config = _prepare(out, options)
        _train(out, config, resume=False, source=options.source)
    snapshot = out / "feedback.db"
    sets, notes = gate_sets(
        snapshot,
        tolerance_pp=options.tolerance_pp,
        dev_tolerance_pp=options.dev_tolerance_pp,
        dev=options.dev_sets,
    )
    record = judge(sets, accuracy(base_path, sets), accuracy(out / "model.safetensors", sets))
    record |= {"base": options.base, "base_path": base_path, "weight": weight, "notes": notes}
    command = shlex.join(["digitrec", *sys.argv[1:]]) if sys.argv[1:] else "digitrec feedback train"
    write_gate(out, record, command)
    return record


def _prepare(out: Path, options: FeedbackTraining) -> tuple[str, int, dict[str, Any]]:
    """Snapshot the store, choose the weight, write SETTINGS: (base path, weight, config)."""
    from digitrec.data.feedback import FeedbackStore, default_store_path
    from digitrec.data.feedback_sets import stored_digits
    from digitrec.errors import DataError
    from digitrec.models.modelfile import read_model, resolve_model_path
    from digitrec.train.checkpoint import CHECKPOINT
    from digitrec.train.config import TrainConfig

    if (out / CHECKPOINT).exists() or (out / "model.safetensors").exists():
        raise UsageError(f"{out} already holds a run; pick another --out (or --resume it)")
    db = Path(options.db).expanduser() if options.db else default_store_path()
    if not db.is_file():
        raise DataError(f"{db}: no feedback database (start `digitrec serve` and submit some)")
    base_path = resolve_model_path(options.base)
    card, _ = read_model(base_path)
    if card.kind != "torch":
        raise UsageError(f"--base {options.base} is a {card.architecture}: only networks fine-tune")
    snapshot = out / "feedback.db"
    if "+" in str(snapshot.resolve()):  # the dataset spec joins its parts with "+"
        raise UsageError(f"--out {out}: a path without '+' (the run's dataset spec names it)")
    FeedbackStore(db, read_only=True).snapshot(snapshot)
    rows = FeedbackStore(snapshot, read_only=True).count("digits")  # numbers: not yet
    if rows < MIN_ROWS:
        snapshot.unlink()
        raise UsageError(f"{db}: {rows} corrections; at least {MIN_ROWS} are needed to learn")
    stored = stored_digits(snapshot)
    trained_on = stored.held_out_from()
    replay = options.replay or replay_of(card)
    source = Path(options.source) if options.source else None
    data.fetch(replay, source)
    # each part's own training split, counted before the 28×28 preprocessing training will do
    replayed = sum(len(data.load(part, "train", source)) for part in data.dataset_parts(replay))
    # corrections train split: the older rows less the validation carved from them (1/12)
    own = max(1, round(trained_on * (1 - data.SplitConfig().val_fraction)))
    base_config = card.training.get("config", {})
    weight = correction_weight(options, replayed, own, int(base_config.get("batch_size", 64)))
    config = TrainConfig(
        model=card.architecture,
        model_args=card.arguments,
        dataset=f"{replay}+feedback:{snapshot.resolve()}*{weight}",
        seed=options.seed,
        epochs=1000,  # the run is --steps long
        max_steps=options.steps,
        batch_size=int(base_config.get("batch_size", 64)),
        optimizer="sgd",
        lr=options.lr,
        momentum=0.9,
        nesterov=True,
        weight_decay=float(base_config.get("weight_decay", 0.0)),
        schedule="cosine",
        ema=options.ema,
        label_smoothing=float(base_config.get("label_smoothing", 0.0)),
        augment=str(base_config.get("augment", "none")),
        threads=options.threads,
        init=str(base_path),
        recipe="feedback",
    )
    atomic_write_json(
        out / SETTINGS,
        {
            "options": asdict(options),
            "base_path": str(base_path),
            "weight": weight,
            "rows": rows,
            "trained_on_rows": trained_on,
            "held_out_rows": rows - trained_on,
            "held_out_ids": [int(stored.ids[trained_on]), int(stored.ids[-1])],
            "replayed_digits": replayed,
            "config": config.to_json(),
        },
    )
    return str(base_path), weight, config.to_json()


def correction_weight(options: FeedbackTraining, replayed: int, own: int, batch: int) -> int:
    """K such that `steps` batches drawn from replayed + K·own digits hold each of the own
    digits about `repeats` times: K·own / (replayed + K·own) = repeats·own / (steps·batch),
    that share capped at one half."""
    share = min(0.5, options.repeats * own / (options.steps * batch))
    weight = share / (1 - share) * replayed / own
    return max(1, min(data.MAX_WEIGHT, round(weight)))


def _train(out: Path, config: dict[str, Any], *, resume: bool, source: str) -> None:
    from digitrec.train import TrainConfig, train

    train(
        TrainConfig.from_json(config),
        out,
        resume=resume,
        source=Path(source) if source else None,
    )
