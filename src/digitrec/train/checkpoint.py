"""Training checkpoints: everything `--resume` needs, in ONE safetensors file written atomically.

Tensors: model weights ("model.*"), optimizer state ("optim.<param index>.<key>"), the EMA and
best-so-far weights ("ema.*", "best.*"), the random-number states ("rng.*") and the current epoch's
data order ("order"). Everything else (counters, history, optimizer hyperparameters) is JSON in the
header's metadata, so a checkpoint can never be half old and half new. A readable copy of that JSON
is written beside it as checkpoint.json for people; loading ignores it.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from digitrec.errors import DataError
from digitrec.storage import atomic_write_bytes, atomic_write_json

CHECKPOINT = "checkpoint.safetensors"


@dataclass
class TrainingState:
    """Where a run stands: all counters are positions *after* the last finished optimizer step."""

    epoch: int = 0  # the epoch in progress (0-based)
    step: int = 0  # optimizer steps done in total
    step_in_epoch: int = 0  # steps done in the current epoch
    train_seconds: float = 0.0  # time spent in optimizer steps (no validation)
    epoch_loss_sum: float = 0.0  # the current epoch's running training loss × examples
    epoch_correct: int = 0  # and its correctly classified training examples
    epoch_seen: int = 0
    best_accuracy: float = -1.0  # best validation accuracy so far (early stopping)
    best_epoch: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per finished epoch
    finished: bool = False


def save_checkpoint(
    run_dir: Path,
    state: TrainingState,
    tensors: dict[str, dict[str, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    config: dict[str, Any],
) -> None:
    """tensors: groups such as {"model": state_dict, "ema": ..., "rng": {...}}; flattened with
    the group name as prefix."""
    from safetensors.torch import save

    flat: dict[str, torch.Tensor] = {}
    for group, named in tensors.items():
        for name, tensor in named.items():
            flat[f"{group}.{name}"] = tensor.detach().cpu().contiguous()
    optimizer_state = optimizer.state_dict()
    for index, per_param in optimizer_state["state"].items():
        for key, value in per_param.items():
            if value is None:  # SGD without momentum keeps no buffer
                continue
            flat[f"optim.{index}.{key}"] = torch.as_tensor(value).detach().contiguous().clone()
    meta = {
        "state": state.__dict__,
        "param_groups": optimizer_state["param_groups"],
        "config": config,
    }
    text = json.dumps(meta)
    atomic_write_bytes(run_dir / CHECKPOINT, save(flat, metadata={"digitrec": text}))
    atomic_write_json(run_dir / "checkpoint.json", meta)


@dataclass
class LoadedCheckpoint:
    state: TrainingState
    config: dict[str, Any]
    groups: dict[str, dict[str, torch.Tensor]]
    optimizer_state: dict[str, Any]


def load_checkpoint(run_dir: Path) -> LoadedCheckpoint:
    from safetensors import SafetensorError, safe_open

    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise DataError(f"{run_dir}: no checkpoint to resume ({CHECKPOINT} is missing)")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})["digitrec"])
            flat = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, KeyError, ValueError) as error:
        raise DataError(f"{path}: not a readable digitrec checkpoint ({error})") from None
    groups: dict[str, dict[str, torch.Tensor]] = {}
    optimizer_per_param: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in flat.items():
        group, rest = name.split(".", 1)
        if group == "optim":
            index, key = rest.split(".", 1)
            optimizer_per_param.setdefault(int(index), {})[key] = tensor
        else:
            groups.setdefault(group, {})[rest] = tensor
    optimizer_state = {"state": optimizer_per_param, "param_groups": meta["param_groups"]}
    return LoadedCheckpoint(TrainingState(**meta["state"]), meta["config"], groups, optimizer_state)
