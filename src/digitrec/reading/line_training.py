"""Training the line reader (`line_model`): synthetic pages -> line images through the reader's own
front end, then an explicit CTC training loop that keeps the epoch with the best validation
exact-line accuracy.

Pages come from `data.synth.make_page` with MNIST training digits (training lines) or validation
digits (validation lines); test digits are never used here.
"""

import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitrec.data.digitset import DigitSet
from digitrec.data.synth import SynthConfig, make_page
from digitrec.errors import DataError
from digitrec.progress import count_bar
from digitrec.reading.ink import page_ink
from digitrec.reading.line_model import (
    BLANK,
    LineNet,
    LineReader,
    as_batch,
    greedy_decode,
    line_image,
)
from digitrec.reading.lines import remove_form_lines
from digitrec.reading.scores import string_scores


@dataclass(frozen=True)
class LineSet:
    """Line images with their texts, stored flat: pixels (HEIGHT, sum of widths) uint8."""

    pixels: np.ndarray
    widths: np.ndarray  # (N,) int64
    texts: np.ndarray  # (N,) unicode

    def __len__(self) -> int:
        return len(self.widths)

    def images(self) -> list[np.ndarray]:
        ends = np.cumsum(self.widths)
        return [self.pixels[:, e - w : e] for e, w in zip(ends, self.widths, strict=True)]

    def save(self, path: Path) -> None:

        from digitrec.storage import atomic_write_bytes

        buffer = io.BytesIO()
        np.savez(buffer, pixels=self.pixels, widths=self.widths, texts=self.texts)
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> "LineSet":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["pixels"], data["widths"], data["texts"])


def make_lines(
    digits: DigitSet,
    count: int,
    config: SynthConfig,
    seed: int,
    on_progress: Callable[[int], None] | None = None,
) -> LineSet:
    """`count` synthetic pages of these digits, each through page_ink, remove_form_lines and
    line_image (a page where the front end finds no ink is skipped)."""
    rng = np.random.default_rng(seed)
    images, texts = [], []
    for _ in range(count):
        page = make_page(digits, config, rng)
        try:
            ink = page_ink(page.image)
        except DataError:
            continue
        line = line_image(ink.ink, remove_form_lines(ink.mask, ink.stroke))
        if line is not None:
            images.append(line.pixels)
            texts.append(page.text)
        if on_progress:
            on_progress(1)
    if not images:
        raise DataError(f"none of the {count} pages gave a line of ink")
    return LineSet(
        np.concatenate(images, axis=1),
        np.array([i.shape[1] for i in images], np.int64),
        np.array(texts),
    )


@dataclass(frozen=True)
class LineTrainConfig:
    widths: tuple[int, int, int] = (24, 48, 64)
    hidden: int = 64
    epochs: int = 8
    batch_size: int = 32
    lr: float = 3e-3  # the one-cycle schedule's peak (Adam)
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 0  # 0: every core


def train_line_reader(
    train: LineSet,
    val: LineSet,
    config: LineTrainConfig,
    log: Callable[[dict[str, Any]], None] = lambda row: print(json.dumps(row), flush=True),
) -> tuple[LineNet, list[dict[str, Any]]]:
    """The explicit loop: Adam with a one-cycle schedule, CTC loss, batches of lines of similar
    width (shuffled each epoch); after each epoch the validation lines are read and the net with
    the best exact-line accuracy is kept. Returns it and the per-epoch log."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads or len(os.sched_getaffinity(0)))
    rng = np.random.default_rng(config.seed)
    net = LineNet(config.widths, config.hidden)
    images, texts = train.images(), [str(t) for t in train.texts]
    batches = _width_batches(train.widths, config.batch_size)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, config.lr, total_steps=config.epochs * len(batches), pct_start=0.15
    )
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    history: list[dict[str, Any]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        net.train()
        losses = []
        with count_bar(f"epoch {epoch}/{config.epochs}", len(batches)) as advance:
            for index in rng.permutation(len(batches)):
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
        scores = evaluate_lines(LineReader(net, {}), val)
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_exact": scores["exact"],
            "val_cer": scores["cer"],
            "seconds": round(time.perf_counter() - started, 1),
        }
        history.append(row)
        log(row)
        if best is None or scores["exact"] > best[0]:
            best = (scores["exact"], {k: v.clone() for k, v in net.state_dict().items()})
    assert best is not None
    net.load_state_dict(best[1])
    return net.eval(), history


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
