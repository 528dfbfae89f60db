"""Training the line reader (`line_model`) into a run directory: `digitrec train-reader`.

The loop is explicit: Adam with a one-cycle schedule, CTC loss, batches of lines of similar width
(shuffled each epoch by a generator seeded with (seed, epoch)); after each epoch every
validation part is read, and the epoch with the best mean exact-line accuracy over the parts
(each part counts the same, so a small real set weighs as much as many synthetic pages) is kept.
A run directory as `digitrec train` writes it: config.json, metrics.jsonl, checkpoint.safetensors
after every epoch (`--resume` continues from the last finished one), and at the end
reader.safetensors + reader.json, which `digitrec read --reader DIR` reads with.
"""

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitrec.errors import UsageError
from digitrec.progress import count_bar
from digitrec.reading.accuracy import string_scores
from digitrec.reading.line_data import LineSet
from digitrec.reading.line_model import (
    READER_STEM,
    LineReader,
    greedy_decode,
    load_reader,
    save_line_reader,
)
from digitrec.reading.line_net import LineNet, as_batch
from digitrec.reading.line_shape import BLANK
from digitrec.storage import atomic_write_json, atomic_write_text


@dataclass(frozen=True)
class LineTrainConfig:
    widths: tuple[int, int, int] = (24, 48, 64)
    hidden: int = 64
    epochs: int = 8
    batch_size: int = 32
    lr: float = 3e-3  # the one-cycle schedule's peak (Adam); 1e-3 suits fine-tuning
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 0  # 0: every core

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise UsageError("--epochs and --batch-size must be at least 1")
        if not 0 < self.lr <= 1:
            raise UsageError(f"--lr must be in (0, 1], got {self.lr}")


def train_line_reader(
    train: LineSet,
    val: dict[str, LineSet],
    config: LineTrainConfig,
    out: Path,
    *,
    init: LineNet | None = None,
    resume: bool = False,
    record: dict[str, Any] | None = None,
    log: Callable[[dict[str, Any]], None] = lambda row: print(json.dumps(row), flush=True),
) -> tuple[LineNet, list[dict[str, Any]]]:
    """Train into `out`; returns the best epoch's net and the per-epoch log. `init`: start from
    these weights (fine-tuning); `record`: more to write into config.json and the card."""
    from digitrec.train.checkpoint import (
        TrainingState,
        load_checkpoint,
        save_checkpoint,
    )
    from digitrec.train.rundir import prepare_run_dir

    if not len(train) or not any(len(v) for v in val.values()):
        raise UsageError("the reader needs training lines and validation lines")
    if resume and (out / f"{READER_STEM}.safetensors").exists():
        raise UsageError(f"{out}: this run already finished (see {out / READER_STEM}.json)")
    prepare_run_dir(out, resume=resume, model_stem=READER_STEM)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads or len(os.sched_getaffinity(0)))
    net = LineNet(config.widths, config.hidden)
    if init is not None:
        net.load_state_dict(init.state_dict())
    images, texts = train.images(), [str(t) for t in train.texts]
    batches = _width_batches(train.widths, config.batch_size)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    state = TrainingState()
    best: dict[str, torch.Tensor] = {k: v.clone() for k, v in net.state_dict().items()}
    settings = {"training": asdict(config), **(record or {})}
    if resume:
        loaded = load_checkpoint(out)
        kept = ("training", "data", "init")  # what must match; provenance may differ
        if {k: loaded.config.get(k) for k in kept} != {
            k: json.loads(json.dumps(settings.get(k))) for k in kept
        }:
            raise UsageError(f"{out}: --resume needs the settings the run started with")
        state = loaded.state
        # the checkpoint's history is the truth: epochs logged after it was written are redone
        rows = "".join(json.dumps(row) + "\n" for row in state.history)
        atomic_write_text(out / "metrics.jsonl", rows)
        net.load_state_dict(loaded.groups["model"])
        best = loaded.groups["best"]
        optimizer.load_state_dict(loaded.optimizer_state)
    else:
        atomic_write_json(out / "config.json", settings)
        (out / "metrics.jsonl").unlink(missing_ok=True)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        config.lr,
        total_steps=config.epochs * len(batches),
        pct_start=0.15,
        last_epoch=state.step - 1,
    )
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    started = time.perf_counter() - state.train_seconds
    for epoch in range(state.epoch + 1, config.epochs + 1):
        net.train()
        losses = []
        order = np.random.default_rng([config.seed, epoch]).permutation(len(batches))
        with count_bar(f"epoch {epoch}/{config.epochs}", len(batches)) as advance:
            for index in order:
                chosen = batches[index]
                x, frames = as_batch([images[i] for i in chosen])
                targets = torch.tensor([int(c) for i in chosen for c in texts[i]])
                lengths = torch.tensor([len(texts[i]) for i in chosen])
                log_probs = net(x, frames).transpose(0, 1)  # (T, B, C), as CTCLoss takes it
                loss = ctc(log_probs, targets, frames, lengths)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 5.0)
                optimizer.step()
                schedule.step()
                losses.append(loss.item())
                advance(1)
        reader = LineReader(net, {})
        scores = {part: evaluate_lines(reader, lines) for part, lines in val.items() if len(lines)}
        mean_exact = float(np.mean([s["exact"] for s in scores.values()]))
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_exact": mean_exact,
            **{f"val_{part}_exact": s["exact"] for part, s in scores.items()},
            **{f"val_{part}_cer": s["cer"] for part, s in scores.items()},
            "seconds": round(time.perf_counter() - started, 1),
        }
        log(row)
        with (out / "metrics.jsonl").open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        state.history.append(row)
        if mean_exact > state.best_accuracy:
            state.best_accuracy, state.best_epoch = mean_exact, epoch
            best = {k: v.clone() for k, v in net.state_dict().items()}
        state.epoch, state.step = epoch, state.step + len(batches)
        state.train_seconds = time.perf_counter() - started
        groups = {"model": net.state_dict(), "best": best}
        save_checkpoint(out, state, groups, optimizer, settings)
    net.load_state_dict(best)
    card = {
        "arguments": {"widths": list(config.widths), "hidden": config.hidden},
        **settings,
        "best_epoch": state.best_epoch,
        "val_exact": state.best_accuracy,
        "history": state.history,
    }
    save_line_reader(net, card, out / READER_STEM)
    return net.eval(), state.history


def evaluate_lines(reader: LineReader, lines: LineSet) -> dict[str, float]:
    """Exact-line accuracy and character error rate of the greedy readings."""
    reader.net.eval()
    reads = [
        "".join(str(e.digit) for e in greedy_decode(lp)) for lp in reader.log_probs(lines.images())
    ]
    return string_scores([str(t) for t in lines.texts], reads)


def _width_batches(widths: np.ndarray, size: int) -> list[np.ndarray]:
    order = np.argsort(widths, kind="stable")
    return [order[i : i + size] for i in range(0, len(order), size)]


@dataclass(frozen=True)
class ReaderData:
    """What the reader trains and is chosen on (`train_reader`)."""

    spec: str = "synth+parish-rows"
    synth_pages: int = 20_000  # synthetic training pages (validation: val_pages)
    val_pages: int = 1_000
    repeat_real: int = 4  # each real training line is seen this many times per epoch (PART*N: N)
    source: Path | None = None  # where the number datasets' files are, if not cached
    val_spec: str = ""  # what the epoch is chosen on, if not the validation splits of `spec`

    def __post_init__(self) -> None:
        if self.synth_pages < 0 or self.val_pages < 0 or self.repeat_real < 1:
            raise UsageError("--synth-pages and --val-pages must be ≥ 0, --repeat-real ≥ 1")


def train_reader(
    out: Path,
    data: ReaderData,
    config: LineTrainConfig,
    *,
    init: str | None = "default",
    resume: bool = False,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[LineNet, list[dict[str, Any]]]:
    """`digitrec train-reader`: make the lines of `data` (train and val), then train into `out`,
    starting from `init` ('default': the reader in use, `line_model.reader_file`; a run
    directory; None: from scratch).
    `log`: told each epoch's row (default: printed as JSON)."""
    from digitrec.provenance import provenance
    from digitrec.reading.line_data import SYNTH, default_workers, reader_lines, spec_parts

    workers = default_workers(config.threads)
    weights = spec_parts(data.spec)
    train_parts = reader_lines(
        data.spec, "train", data.synth_pages, config.seed, workers, data.source
    )
    val_spec = data.val_spec or data.spec
    val = reader_lines(val_spec, "val", data.val_pages, config.seed + 1, workers, data.source)
    train = LineSet.joined(
        [
            lines.repeated(1 if part == "synth" else weights[part] or data.repeat_real)
            for part, lines in train_parts.items()
        ]
    )
    start = None
    if init:  # a fine-tune keeps the shape of the reader it starts from
        reader = load_reader(init)
        start = reader.net
        shape = reader.card.get("arguments", {})
        config = replace(
            config,
            widths=tuple(shape.get("widths", config.widths)),
            hidden=int(shape.get("hidden", config.hidden)),
        )
    record = {
        "data": {
            "spec": data.spec,
            **({"val_spec": data.val_spec} if data.val_spec else {}),
            "synth_pages": data.synth_pages,
            "val_pages": data.val_pages,
            "repeat_real": data.repeat_real,
            "synth": asdict(SYNTH),
            "train_lines": {part: len(lines) for part, lines in train_parts.items()},
            "val_lines": {part: len(lines) for part, lines in val.items()},
        },
        "init": init,
        "provenance": provenance(),
    }
    logged = {} if log is None else {"log": log}
    return train_line_reader(
        train, val, config, out, init=start, resume=resume, record=record, **logged
    )
