"""`train()`: the explicit training loop. Read it top to bottom: data, model, optimizer, then per
step batch → augment → loss → step → EMA, and per epoch validate → log → checkpoint.

A run directory holds config.json (every setting, data checksums, versions, machine),
metrics.jsonl (one line per epoch), checkpoint.safetensors (to resume) and, at the end,
model.safetensors + model.json (the trained model).
"""

import copy
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from digitrec.errors import DataError, UsageError
from digitrec.models.zoo import build_model
from digitrec.train.augment import AUGMENTATIONS, add_noise, augment_batch
from digitrec.train.checkpoint import (
    LoadedCheckpoint,
    TrainingState,
    load_checkpoint,
    save_checkpoint,
)
from digitrec.train.config import TrainConfig
from digitrec.train.datasets import load_training_data
from digitrec.train.objective import DistillConfig, step_loss
from digitrec.train.optim import build_optimizer, lr_at, set_lr
from digitrec.train.progress import TrainingProgress
from digitrec.train.result import TargetNotReachedError, TrainingInterruptedError, TrainResult
from digitrec.train.rundir import (
    prepare_run_dir,
    save_trained_network,
    write_metrics,
    write_run_config,
)
from digitrec.train.tensors import Digits, evaluate_digits, to_digits


def train(
    config: TrainConfig, out: Path, *, resume: bool = False, source: Path | None = None
) -> TrainResult:
    """Train `config.model` as configured, writing the run into `out`."""
    from digitrec.baselines import BASELINES
    from digitrec.models.zoo import MODELS

    if config.model not in MODELS:
        if config.model not in BASELINES:
            known = ", ".join([*MODELS, *BASELINES])
            raise UsageError(f"unknown model {config.model!r}; known: {known}")
        from digitrec.train.baseline_run import train_baseline

        return train_baseline(config, out, source=source)
    wall_start = time.perf_counter()
    prepare_run_dir(out, resume=resume)
    if resume:  # the checkpoint's settings replace `config`
        loaded = load_checkpoint(out)
        if loaded.state.finished and (out / "model.safetensors").exists():
            raise UsageError(f"{out}: this run already finished (see {out / 'model.json'})")
        config = TrainConfig.from_json(loaded.config["config"])
    threads_before = torch.get_num_threads()
    torch.set_num_threads(config.threads or len(os.sched_getaffinity(0)) or 1)
    try:
        return _train(config, out, resume, source, wall_start, loaded if resume else None)
    finally:
        torch.set_num_threads(threads_before)


def _train(
    config: TrainConfig,
    out: Path,
    resume: bool,
    source: Path | None,
    wall_start: float,
    loaded: LoadedCheckpoint | None,
) -> TrainResult:
    splits = load_training_data(config, source, with_test=config.report_test)
    train_digits, val_digits = to_digits(splits.train), to_digits(splits.val)
    test_digits = to_digits(splits.test) if splits.test is not None else None
    if loaded is None:
        write_run_config(out, config, splits)
    # a resumed run keeps the config.json (command, commit, checksums) it started with
    elif loaded.config.get("data_sha256", splits.checksums) != splits.checksums:
        raise DataError(f"{out}: the dataset's files changed since this run started")
    torch.manual_seed(config.seed)  # initial weights, then dropout
    generator = torch.Generator().manual_seed(config.seed)  # data order and augmentation
    model = build_model(config.model, config.model_args)
    if config.init:
        _load_initial_weights(model, config)
    model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = build_optimizer(model, config)
    ema = ema_copy(model) if config.ema else None
    best: dict[str, torch.Tensor] | None = None

    n = len(train_digits.y)
    steps_per_epoch, _, _ = step_plan(n, config)
    order = torch.randperm(n, generator=generator)
    state = TrainingState()
    if loaded is not None:
        state, order, best = _restore(loaded, model, optimizer, ema, generator)

    def checkpoint(order: torch.Tensor, best: dict[str, torch.Tensor] | None) -> None:
        groups = {
            "model": model.state_dict(),
            "rng": {"data": generator.get_state(), "torch": torch.get_rng_state()},
            "order": {"indices": order},
        }
        if ema is not None:
            groups["ema"] = ema.state_dict()
        if best is not None:
            groups["best"] = best
        extra = {"config": config.to_json(), "data_sha256": splits.checksums}
        save_checkpoint(out, state, groups, optimizer, extra)

    best = run_epochs(
        model,
        optimizer,
        ema,
        config,
        train_digits,
        val_digits,
        generator,
        state,
        order,
        test_digits=test_digits,
        best=best,
        checkpoint=checkpoint,
        out=out,
        resume_hint=f"digitrec train --resume --out {out}",
    )

    final = ema or model
    if best is not None:  # early stopping keeps the weights of the best validation epoch
        final.load_state_dict(best)
    model_path, metrics = save_trained_network(
        out, final, val_digits, config,
        steps=state.step, train_seconds=state.train_seconds, best_epoch=state.best_epoch,
    )  # fmt: skip
    val_accuracy, val_loss = metrics["val_accuracy"], metrics["val_loss"]
    result = TrainResult(
        out,
        model_path,
        val_accuracy,
        val_loss,
        epochs_run=state.step / steps_per_epoch,
        steps=state.step,
        train_seconds=state.train_seconds,
        wall_seconds=time.perf_counter() - wall_start,
        history=state.history,
    )
    if config.target_acc and val_accuracy < config.target_acc:
        raise TargetNotReachedError(
            f"validation accuracy {val_accuracy:.4f} is below --target-acc {config.target_acc}"
            f" (model saved in {out})"
        )
    return result


def run_epochs(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: nn.Module | None,
    config: TrainConfig,
    train_digits: Digits,
    val_digits: Digits,
    generator: torch.Generator,
    state: TrainingState,
    order: torch.Tensor,
    *,
    test_digits: Digits | None = None,
    teachers: Sequence[nn.Module] = (),
    distill: DistillConfig | None = None,
    masks: dict[str, torch.Tensor] | None = None,
    best: dict[str, torch.Tensor] | None = None,
    checkpoint: Callable[[torch.Tensor, dict[str, torch.Tensor] | None], None] | None = None,
    out: Path | None = None,
    resume_hint: str = "",
) -> dict[str, torch.Tensor] | None:
    """The one training loop, every network's: per step batch → augment → noise → loss
    (`objective.step_loss`: labels, an auxiliary head, teachers' soft targets) → step → masks
    → EMA; per epoch validate (and test, when given) → log → early stopping → checkpoint.

    Continues `state` (a fresh one, or a checkpoint's) with `order` the current epoch's data
    order. masks: state-dict name -> 0/1 tensor, multiplied in after every step so pruned
    weights stay zero. checkpoint(order, best): called after every epoch, and on Ctrl-C before
    stopping (then TrainingInterruptedError, naming `resume_hint`); without it Ctrl-C simply
    interrupts. out: where metrics.jsonl is written after every epoch. Returns the best epoch's
    weights when early stopping kept them, else None."""
    n = len(train_digits.y)
    steps_per_epoch, total_steps, epochs = step_plan(n, config)
    augmentation = AUGMENTATIONS[config.augment]
    masks = masks or {}
    weights = model.state_dict()  # live views of the model's tensors, for the masks
    stopping = _sigint_flag() if checkpoint is not None else nullcontext(threading.Event())
    with TrainingProgress(total_steps, epochs, state.step) as progress, stopping as stop:
        while not state.finished and state.step < total_steps:
            if state.step_in_epoch == 0 and state.epoch > 0:
                order = torch.randperm(n, generator=generator)
            model.train()
            epoch_end = min(total_steps, (state.epoch + 1) * steps_per_epoch)
            while state.step < epoch_end:
                started = time.perf_counter()
                start = state.step_in_epoch * config.batch_size
                index = order[start : start + config.batch_size]
                x = augment_batch(train_digits.x[index], augmentation, generator)
                x = add_noise(x, config.noise, generator)
                x = x.contiguous(memory_format=torch.channels_last)  # 20× faster convs on CPU
                y = train_digits.y[index]
                set_lr(optimizer, lr_at(state.step, total_steps, steps_per_epoch, config))
                logits, loss = step_loss(model, x, y, config, teachers, distill)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                apply_masks(weights, masks)
                if ema is not None:
                    ema_update(ema, model, config.ema, state.step)
                state.step += 1
                state.step_in_epoch += 1
                state.train_seconds += time.perf_counter() - started
                loss_value = loss.item()
                state.epoch_loss_sum += loss_value * len(y)
                state.epoch_correct += int((logits.argmax(1) == y).sum())
                state.epoch_seen += len(y)
                progress.step(loss_value, state.epoch_correct / state.epoch_seen)
                if stop.is_set() and checkpoint is not None:
                    checkpoint(order, best)
                    raise TrainingInterruptedError(
                        f"interrupted at step {state.step}; checkpoint saved — continue with "
                        f"{resume_hint}"
                    )
            val_loss, val_accuracy = evaluate_digits(ema or model, val_digits)
            record = {
                "epoch": state.epoch + 1,
                "step": state.step,
                "train_loss": state.epoch_loss_sum / max(1, state.epoch_seen),
                "train_accuracy": state.epoch_correct / max(1, state.epoch_seen),
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
                "lr": optimizer.param_groups[0]["lr"],
                "seconds": state.train_seconds,
            }
            if test_digits is not None:
                record["test_loss"], record["test_accuracy"] = evaluate_digits(
                    ema or model, test_digits
                )
            state.history.append(record)
            progress.epoch_done(record)
            if val_accuracy > state.best_accuracy:
                state.best_accuracy, state.best_epoch = val_accuracy, state.epoch + 1
                if config.early_stopping:
                    best = _clone_state(ema or model)
            state.epoch += 1
            state.step_in_epoch = state.epoch_seen = state.epoch_correct = 0
            state.epoch_loss_sum = 0.0
            patience_over = (
                config.early_stopping and state.epoch - state.best_epoch >= config.early_stopping
            )
            if patience_over:
                total_steps = state.step  # early stop: the loop ends here
            state.finished = state.step >= total_steps
            if out is not None:
                write_metrics(out, state.history)
            if checkpoint is not None:
                checkpoint(order, best)
    return best


@torch.no_grad()
def apply_masks(state: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> None:
    """Multiply each masked state-dict entry (a live view of the model's tensors) by its mask."""
    for name, mask in masks.items():
        state[name].mul_(mask)


def _load_initial_weights(model: nn.Module, config: TrainConfig) -> None:
    """Fine-tuning: start from the weights of `config.init`, a model of the same architecture."""
    from digitrec.models.modelfile import read_model

    card, arrays = read_model(config.init)
    if card.architecture != config.model or card.arguments != config.model_args:
        raise UsageError(
            f"--init {config.init} is a {card.architecture} {card.arguments}, not the "
            f"{config.model} {config.model_args} being trained"
        )
    model.load_state_dict({name: torch.from_numpy(value.copy()) for name, value in arrays.items()})


def step_plan(examples: int, config: TrainConfig) -> tuple[int, int, int]:
    """(steps per epoch, total optimizer steps, epochs started) for `config` on `examples`
    training digits: fractional epochs round to whole steps, `max_steps` caps them."""
    steps_per_epoch = math.ceil(examples / config.batch_size)
    total_steps = max(1, round(config.epochs * steps_per_epoch))
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    return steps_per_epoch, total_steps, math.ceil(total_steps / steps_per_epoch)


def ema_copy(model: nn.Module) -> nn.Module:
    ema = copy.deepcopy(model)
    for parameter in ema.parameters():
        parameter.requires_grad_(False)
    return ema


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    # Ramp the decay up early on, so the average is not dominated by the random initial weights.
    rate = min(decay, (1 + step) / (10 + step))
    for averaged, current in zip(ema.parameters(), model.parameters(), strict=True):
        averaged.lerp_(current, 1 - rate)
    for averaged_buffer, buffer in zip(ema.buffers(), model.buffers(), strict=True):
        averaged_buffer.copy_(buffer)  # batch-norm statistics follow the live model


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _restore(
    loaded: LoadedCheckpoint,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: nn.Module | None,
    generator: torch.Generator,
) -> tuple[TrainingState, torch.Tensor, dict[str, torch.Tensor] | None]:
    groups = loaded.groups
    model.load_state_dict(groups["model"])
    optimizer.load_state_dict(loaded.optimizer_state)
    if ema is not None:
        ema.load_state_dict(groups["ema"])
    generator.set_state(groups["rng"]["data"])
    torch.set_rng_state(groups["rng"]["torch"])
    return loaded.state, groups["order"]["indices"], groups.get("best")


@contextmanager
def _sigint_flag() -> Iterator[Any]:
    """Ctrl-C (or SIGTERM) sets a flag the loop checks after each step, so the checkpoint is
    consistent; a second one interrupts at once."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(_signum: int, _frame: Any) -> None:
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
