"""Estimate how long `digitrec compare --models zoo` takes under its time budget, before running it.

Times a few training steps (at the recipe's batch size, with its augmentation) and one forward pass
over 1,000 digits of every network, takes the classic baselines' fit time and single-digit latency
from benchmarks/results/baselines.json (measured on this machine), and adds up what
`digitrec.report.comparison.plan` would run: epochs × steps, validation after each epoch, the
final validation passes (accuracy, temperature), and the two test passes of the report
(`evaluate()` and the mistakes gallery), plus about 2 s of data loading per run.

    python scripts/estimate_compare_time.py [--threads 0] [--seeds 3] [--calibrate] [--no-budget]

On a busy machine raw timings are too slow. --calibrate times the `default` recipe's step right
before and after each model and scales that model's numbers by (the default step time on 2 idle
cores) / (the default step time measured now): 768 s for 26 epochs of 430 steps, from
benchmarks/results/train_speed.json, i.e. 68.7 ms. Small networks use 2 cores less well than
`default`, so calibrated numbers for them come out low (cnn-small: 9.7 s per epoch against 12.7 s
measured): the total adds a 15% margin.
"""

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from digitrec.models.zoo import build_model
from digitrec.report.comparison import plan, resolve_entries
from digitrec.report.settings import Settings
from digitrec.train import RECIPES, TrainConfig
from digitrec.train.augment import AUGMENTATIONS, augment_batch
from digitrec.train.objective import step_loss
from digitrec.train.optim import build_optimizer

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STEP_IDLE = 768.0 / (26 * 430)  # seconds per step of the default recipe, 2 idle cores
LOAD_SECONDS = 2.0  # reading and verifying MNIST, per run
MARGIN = 1.15


def step_timer(
    values: dict[str, Any],
) -> tuple[TrainConfig, Callable[[], None], Callable[[], float]]:
    config = TrainConfig(**values)
    model = build_model(config.model, config.model_args)
    model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = build_optimizer(model, config)
    augmentation = AUGMENTATIONS[config.augment]
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(config.batch_size, 1, 28, 28)
    y = torch.randint(0, 10, (config.batch_size,))

    def step() -> None:
        x = augment_batch(x0, augmentation, generator).contiguous(memory_format=torch.channels_last)
        _, loss = step_loss(model, x, y, config)  # the training loop's own loss
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    def forward_1000() -> float:
        model.eval()
        x = torch.randn(1000, 1, 28, 28).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            started = time.perf_counter()
            model(x)
            seconds = time.perf_counter() - started
        model.train()
        return seconds

    return config, step, forward_1000


def seconds_per_step(step: Callable[[], None], budget: float = 3.0) -> float:
    for _ in range(2):
        step()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < budget or count < 3:
        step()
        count += 1
    return (time.perf_counter() - started) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--seeds", type=int, default=3, help="as compare --seeds")
    parser.add_argument("--calibrate", action="store_true", help="scale by the default recipe")
    parser.add_argument("--no-budget", action="store_true", help="as compare --no-budget")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    baselines = {
        row["baseline"]: row
        for row in json.loads((REPO / "benchmarks/results/baselines.json").read_text())["rows"]
    }
    planned = plan(resolve_entries(["zoo"]), Settings(seeds=args.seeds), not args.no_budget)
    _, reference, _ = step_timer(dict(RECIPES["default"].values))
    total = 0.0
    print(
        f"{'model':<16} {'epochs':>6} {'seeds':>5} {'s/epoch':>8} {'test pass':>9} {'minutes':>8}"
    )
    for item in planned:
        entry = item.entry
        if entry.baseline:
            row = baselines.get(entry.model)
            if row is None:
                print(f"{entry.label:<16} no timing in baselines.json")
                continue
            per_image = row["latency_ms"] / 1000  # single-digit latency: an upper bound
            per_run = row["fit_seconds"] + (5_000 + 2 * 10_000) * per_image + LOAD_SECONDS
            epoch_seconds, test_pass = row["fit_seconds"], 10_000 * per_image
        else:
            factor = 1.0
            if args.calibrate:
                before = seconds_per_step(reference, 2.0)
            config, step, forward_1000 = step_timer(dict(entry.values))
            step_seconds = seconds_per_step(step)
            forward = min(forward_1000() for _ in range(2))
            if args.calibrate:
                factor = DEFAULT_STEP_IDLE / ((before + seconds_per_step(reference, 2.0)) / 2)
            step_seconds, forward = step_seconds * factor, forward * factor
            pooled = config.scheme == "80-10-10"
            train, val, test = (56_000, 7_000, 7_000) if pooled else (55_000, 5_000, 10_000)
            epoch_seconds = math.ceil(train / config.batch_size) * step_seconds
            test_pass = test / 1000 * forward
            per_run = (
                item.epochs * epoch_seconds
                + math.ceil(item.epochs) * val / 1000 * forward  # validation after each epoch
                + 2 * val / 1000 * forward  # final validation and the temperature's logits
                + 2 * test_pass  # evaluate() and the gallery's probabilities
                + LOAD_SECONDS
            )
        minutes = per_run * item.seeds / 60
        total += minutes
        print(
            f"{entry.label:<16} {item.epochs:>6g} {item.seeds:>5} {epoch_seconds:>8.1f} "
            f"{test_pass:>9.1f} {minutes:>8.1f}",
            flush=True,
        )
    print(f"total {total:.0f} minutes; with a {MARGIN - 1:.0%} margin {total * MARGIN:.0f} minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
