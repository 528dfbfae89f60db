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
3. With number corrections (the store's `numbers` table, at least MIN_ROWS), the line reader
   too: `train_reader` into RUN/reader/ from the base reader (the active version's), on
   `REPLAY+feedback-numbers:RUN/feedback.db*K` (REPLAY: what the base reader was trained on,
   `--synth-pages` of its generator's pages; K: each correction seen about `reader_repeats`
   times), choosing its epoch on synthetic and corrected validation lines only (the real
   validation numbers are the gate's). Either part alone runs when the other has too few rows.
4. The gate (`learning.gate`, `learning.reader_gate`): before and after, on the held-out
   corrections, MNIST test and the real validation sets; for the reader, on the held-out number
   corrections, parish-rows val and synthetic validation lines; gate.json and gate/report.*.
"""

import json
import math
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from digitrec import data
from digitrec.errors import UsageError
from digitrec.learning.gate import DEV_SETS, DEV_TOLERANCE_PP, TOLERANCE_PP
from digitrec.learning.reader_gate import GATE_SEED, READER_DEV_SETS, READER_TOLERANCE_PP
from digitrec.models.versions import RUN_READER
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
    reader: str = "default"  # the reader to improve: the active version's (else the package's)
    reader_replay: str = ""  # the reader's replayed data ("": what the base reader trained on)
    reader_epochs: int = 2
    reader_lr: float = 3e-4  # the one-cycle peak (the shipped reader's own fine-tune used it)
    reader_repeats: float = 10.0  # times the reader's training sees each number correction
    synth_pages: int = 5_000  # synthetic pages replayed (its real lines scaled to match)
    val_pages: int = 500  # synthetic validation pages: the reader's epoch choice; as many gate it
    reader_tolerance_pp: float = READER_TOLERANCE_PP
    reader_dev: str = "parish-rows"  # the real validation numbers the reader's gate holds
    reader_source: str = ""  # where the reader's real replay (parish-rows) is, if not cached

    @property
    def dev_sets(self) -> tuple[str, ...]:
        return _listed(self.dev)

    @property
    def reader_dev_sets(self) -> tuple[str, ...]:
        return _listed(self.reader_dev)

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
            (1 <= self.reader_epochs <= 100, "--reader-epochs must be in 1..100"),
            (math.isfinite(self.reader_lr) and 0 < self.reader_lr <= 1, "--reader-lr in (0, 1]"),
            (0 < self.reader_repeats <= 10_000, "--reader-repeats must be in (0, 10000]"),
            (
                0 <= self.synth_pages <= 1_000_000 and 0 <= self.val_pages <= 100_000,
                "--synth-pages must be in 0..1000000 and --val-pages in 0..100000",
            ),
            (self.reader_tolerance_pp >= 0, "tolerances are ≥ 0 pp"),
            (
                set(self.reader_dev_sets) <= set(READER_DEV_SETS),
                f"--reader-dev names real validation numbers: {', '.join(READER_DEV_SETS)}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)


def _listed(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def replay_of(card: Any) -> str:
    """The dataset the base model was trained on, without the corrections of earlier runs."""
    spec = str(card.training.get("config", {}).get("dataset", "")) or "mnist"
    kept = [
        name
        for part in data.dataset_parts(spec)
        if not (name := data.part_weight(part)[0]).startswith("feedback")
    ]
    return "+".join(kept) or "mnist"


def reader_replay_of(card: dict[str, Any], synth_pages: int) -> tuple[str, int]:
    """What the base reader was trained on, without corrections (its spec's parts but
    feedback-numbers), and how often each real line is replayed: as often, against
    `synth_pages` synthetic pages, as the base reader saw it against its own."""
    from digitrec.reading.line_data import spec_parts

    recorded = card.get("data", {})
    spec = str(recorded.get("spec", "")) or "synth+parish-rows"
    kept = [
        part if weight is None else f"{part}*{weight}"
        for part, weight in spec_parts(spec).items()
        if not part.startswith("feedback")
    ]
    base_pages = int(recorded.get("synth_pages", 0)) or synth_pages
    share = synth_pages / base_pages if synth_pages else 1.0
    return "+".join(kept) or "synth", max(1, round(int(recorded.get("repeat_real", 4)) * share))


def train_on_feedback(
    out: Path, options: FeedbackTraining, *, resume: bool = False
) -> dict[str, Any]:
    """Train and gate; returns the gate record (also in out/gate.json)."""
    from digitrec.learning.gate import accuracy, gate_sets, judge, write_gate
    from digitrec.learning.reader_gate import reader_accuracy, reader_gate_sets
    from digitrec.storage import read_json_object

    if resume:
        plan = _saved_plan(read_json_object(out / SETTINGS))
        options = FeedbackTraining(**plan["options"])
    else:
        plan = _prepare(out, options)
    digits, numbers = plan.get("digits"), plan.get("numbers")
    if digits and not (out / "model.safetensors").is_file():
        _train(out, digits["config"], resume=resume, source=options.source)
    if numbers and not (out / RUN_READER / "reader.safetensors").is_file():
        _train_reader(out / RUN_READER, numbers, resume=resume)
    snapshot = out / "feedback.db"
    measured: dict[str, tuple[tuple[list[Any], list[str]], Any, str, Path]] = {}  # per part
    if digits:
        found = gate_sets(
            snapshot,
            tolerance_pp=options.tolerance_pp,
            dev_tolerance_pp=options.dev_tolerance_pp,
            dev=options.dev_sets,
        )
        measured["digits"] = (found, accuracy, digits["base_path"], out / "model.safetensors")
    if numbers:
        found = reader_gate_sets(
            snapshot,
            tolerance_pp=options.reader_tolerance_pp,
            dev=options.reader_dev_sets,
            val_pages=options.val_pages,
            seed=GATE_SEED + options.seed,
            workers=options.threads,
            source=Path(options.reader_source) if options.reader_source else None,
        )
        measured["numbers"] = (found, reader_accuracy, numbers["base_path"], out / RUN_READER)
    parts, notes = {}, []
    for task, ((found_sets, said), figures, base, new) in measured.items():
        parts[task] = judge(found_sets, figures(base, found_sets), figures(new, found_sets))
        notes += said
    record = _joined(parts)
    record |= {
        "trained": list(parts),
        "base": options.base if digits else "",
        "base_path": digits["base_path"] if digits else "",
        "weight": digits["weight"] if digits else 0,
        "reader_base": options.reader if numbers else "",
        "reader_base_path": numbers["base_path"] if numbers else "",
        "reader_weight": numbers["weight"] if numbers else 0,
        "notes": notes,
    }
    command = shlex.join(["digitrec", *sys.argv[1:]]) if sys.argv[1:] else "digitrec feedback train"
    write_gate(out, record, command)
    return record


def _joined(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One record of the parts' verdicts: each part (the classifier, the reader) is promotable on
    its own — a reader that did not improve does not hold back a classifier that did — and the
    run is when one of them is (`tasks` says which; `models promote` takes only those)."""
    tasks = {task: bool(part["promotable"]) for task, part in parts.items()}
    if len(parts) == 1:
        (verdict,) = (part["verdict"] for part in parts.values())
    else:
        named = {"digits": "the classifier", "numbers": "the reader"}
        verdict = "; ".join(f"{named[task]}: {part['verdict']}" for task, part in parts.items())
    return {
        "promotable": any(tasks.values()),
        "verdict": verdict,
        "tasks": tasks,
        "sets": [row for part in parts.values() for row in part["sets"]],
    }


def _saved_plan(saved: dict[str, Any]) -> dict[str, Any]:
    """SETTINGS as `_prepare` wrote it (a run begun before readers trained: digits only)."""
    if "config" in saved and "digits" not in saved:
        saved = {**saved, "digits": {k: saved[k] for k in ("base_path", "weight", "config")}}
    return saved


def _prepare(out: Path, options: FeedbackTraining) -> dict[str, Any]:
    """Snapshot the store, plan what trains (the digit classifier with MIN_ROWS digit rows, the
    reader with MIN_ROWS number rows), write SETTINGS: the plan."""
    from digitrec.data.feedback import FeedbackStore, default_store_path
    from digitrec.errors import DataError
    from digitrec.train.checkpoint import CHECKPOINT

    if any((out / name).exists() for name in (CHECKPOINT, "model.safetensors", SETTINGS)):
        raise UsageError(f"{out} already holds a run; pick another --out (or --resume it)")
    db = Path(options.db).expanduser() if options.db else default_store_path()
    if not db.is_file():
        raise DataError(f"{db}: no feedback database (start `digitrec serve` and submit some)")
    snapshot = out / "feedback.db"
    if "+" in str(snapshot.resolve()):  # the dataset spec joins its parts with "+"
        raise UsageError(f"--out {out}: a path without '+' (the run's dataset spec names it)")
    FeedbackStore(db, read_only=True).snapshot(snapshot)
    kept = FeedbackStore(snapshot, read_only=True)
    digit_rows, number_rows = kept.count("digits"), kept.count("numbers")
    if digit_rows < MIN_ROWS and number_rows < MIN_ROWS:
        snapshot.unlink()
        raise UsageError(
            f"{db}: {digit_rows} digit and {number_rows} number corrections; at least "
            f"{MIN_ROWS} of one kind are needed to learn"
        )
    plan: dict[str, Any] = {
        "options": asdict(options),
        "digits": _plan_digits(snapshot, options) if digit_rows >= MIN_ROWS else None,
        "numbers": _plan_reader(snapshot, options) if number_rows >= MIN_ROWS else None,
        "rows": {"digits": digit_rows, "numbers": number_rows},
    }
    atomic_write_json(out / SETTINGS, plan)
    return plan


def _plan_digits(snapshot: Path, options: FeedbackTraining) -> dict[str, Any]:
    """The digit classifier's fine-tune: its base, the corrections' weight, its train config."""
    from digitrec.data.feedback_sets import stored_digits
    from digitrec.models.modelfile import read_model, resolve_model_path
    from digitrec.train.config import TrainConfig

    base_path = resolve_model_path(options.base)
    card, _ = read_model(base_path)
    if card.kind != "torch":
        raise UsageError(f"--base {options.base} is a {card.architecture}: only networks fine-tune")
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
    return {
        "base_path": str(base_path),
        "weight": weight,
        "trained_on_rows": trained_on,
        "held_out_rows": len(stored.labels) - trained_on,
        "held_out_ids": [int(stored.ids[trained_on]), int(stored.ids[-1])],
        "replayed_digits": replayed,
        "config": config.to_json(),
    }


def _plan_reader(snapshot: Path, options: FeedbackTraining) -> dict[str, Any]:
    """The line reader's fine-tune: its base (a reader file), the corrections' weight, the data
    and training settings `train_reader` takes."""
    from digitrec.data.feedback_sets import number_feedback_parts
    from digitrec.reading.line_data import spec_parts
    from digitrec.reading.line_model import reader_file
    from digitrec.reading.line_training import LineTrainConfig
    from digitrec.storage import read_json_object

    base_path = reader_file(options.reader)
    card = read_json_object(base_path.with_suffix(".json"))
    replay, repeat_real = reader_replay_of(card, options.synth_pages)
    replay = options.reader_replay or replay
    source = Path(options.reader_source) if options.reader_source else None
    for part in spec_parts(replay):
        if part != "synth":
            data.fetch(part, source)
    parts = number_feedback_parts(snapshot)
    own = len(parts["train"]) if "train" in parts else 0
    weight = max(1, min(data.MAX_WEIGHT, round(options.reader_repeats / options.reader_epochs)))
    feedback = f"feedback-numbers:{snapshot.resolve()}"
    training = LineTrainConfig(  # the shape: the base reader's (train_reader keeps it)
        epochs=options.reader_epochs,
        lr=options.reader_lr,
        seed=options.seed,
        threads=options.threads,
    )
    return {
        "base_path": str(base_path),
        "weight": weight,
        "trained_on_rows": own,
        "held_out_rows": len(parts.get("test", [])),
        "data": {
            "spec": f"{replay}+{feedback}*{weight}" if own else replay,
            "val_spec": f"synth+{feedback}" if options.val_pages else feedback,
            "synth_pages": options.synth_pages,
            "val_pages": options.val_pages,
            "repeat_real": repeat_real,
            "source": options.reader_source,
        },
        "training": asdict(training),
    }


def correction_weight(options: FeedbackTraining, replayed: int, own: int, batch: int) -> int:
    """K such that `steps` batches drawn from replayed + K·own digits hold each of the own
    digits about `repeats` times: K·own / (replayed + K·own) = repeats·own / (steps·batch),
    that share capped at one half."""
    share = min(0.5, options.repeats * own / (options.steps * batch))
    weight = share / (1 - share) * replayed / own
    return max(1, min(data.MAX_WEIGHT, round(weight)))


def _train_reader(out: Path, plan: dict[str, Any], *, resume: bool) -> None:
    from digitrec.reading.line_training import LineTrainConfig, ReaderData, train_reader
    from digitrec.train.checkpoint import CHECKPOINT

    settings = dict(plan["data"])
    source = settings.pop("source")
    training = dict(plan["training"])
    training["widths"] = tuple(training["widths"])  # JSON's list; train_reader keeps the base's
    train_reader(
        out,
        ReaderData(**settings, source=Path(source) if source else None),
        LineTrainConfig(**training),
        init=plan["base_path"],
        resume=resume and (out / CHECKPOINT).exists(),
        log=lambda row: print(json.dumps(row), file=sys.stderr, flush=True),  # stdout: the gate
    )


def _train(out: Path, config: dict[str, Any], *, resume: bool, source: str) -> None:
    from digitrec.train import TrainConfig, train
    from digitrec.train.checkpoint import CHECKPOINT

    train(
        TrainConfig.from_json(config),
        out,
        resume=resume and (out / CHECKPOINT).exists(),  # begun, stopped before a checkpoint: anew
        source=Path(source) if source else None,
    )
