"""`prune()`: magnitude pruning of a trained network, then fine-tuning with the zeros held fixed.

Two kinds:
- unstructured: the `sparsity` fraction of all conv and linear weights with the smallest
  magnitudes (one global ranking) is set to zero. The file stays dense; zeros only compress.
- structured (channel-level): in every ordinary conv (not depthwise) the `sparsity` fraction of
  output channels with the smallest L1 norm is zeroed — the filter, its bias, and the scale and
  shift of the batch norm right after it, so the channel's output is exactly 0. For digitrec's
  stacked conv nets (`fast`, `default`) the dead channels are then cut out, giving a genuinely
  narrower network with the same outputs; other architectures keep their zero channels.

A pruned model is an ordinary run directory (model.safetensors + model.json, metrics.jsonl,
config.json); its card records what was pruned from what.
"""

import math
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from digitrec.compress.fit import fit
from digitrec.errors import UsageError
from digitrec.models.modelfile import read_model, resolve_model_path
from digitrec.models.ours import StackedConvNet
from digitrec.models.zoo import parameter_count
from digitrec.storage import sha256_file
from digitrec.train.config import TrainConfig
from digitrec.train.datasets import load_training_data
from digitrec.train.loop import apply_masks
from digitrec.train.rundir import (
    prepare_run_dir,
    save_trained_network,
    write_run_config,
)
from digitrec.train.tensors import Digits, evaluate_digits, to_digits

RECALIBRATION = 4096  # training digits that re-estimate batch-norm statistics after pruning
# Fine-tuning after pruning: a short, gentle run from the trained weights.
FINETUNE_RECIPE: dict[str, Any] = dict(
    optimizer="sgd", nesterov=True, lr=0.01, momentum=0.9, weight_decay=5e-4,
    schedule="cosine", batch_size=128, epochs=2, augment="light",
)  # fmt: skip


@dataclass
class PruneConfig:
    # unstructured: fraction of all conv + linear weights; structured: of each conv's channels
    sparsity: float
    structured: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sparsity) and 0 < self.sparsity < 1):
            raise UsageError(f"sparsity must be a fraction in (0, 1), got {self.sparsity}")


@dataclass
class PruneResult:
    run_dir: Path
    model_path: Path
    zeroed: int  # weights (unstructured) or channels (structured) set to zero
    of: int  # out of this many
    val_accuracy_before: float  # the trained model, unpruned
    val_accuracy_pruned: float  # right after pruning, before fine-tuning
    val_accuracy: float  # after fine-tuning: the saved model
    parameters: int
    nonzero_parameters: int
    size_bytes: int  # the safetensors file
    compressed_bytes: int  # that file deflated: what the zeros save in storage or transfer

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["run_dir"], values["model_path"] = str(self.run_dir), str(self.model_path)
        return values


def prunable_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """State-dict name -> weight of every conv and linear layer (biases and norms are kept)."""
    return {
        f"{name}.weight": module.weight
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d | nn.Linear)
    }


def unstructured_masks(model: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """0/1 masks zeroing exactly round(sparsity × N) of the N prunable weights: the smallest
    magnitudes in one ranking over all layers (a stable sort breaks ties)."""
    weights = prunable_weights(model)
    flat = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    keep = torch.ones_like(flat)
    keep[torch.argsort(flat, stable=True)[: round(sparsity * flat.numel())]] = 0
    masks, start = {}, 0
    for name, weight in weights.items():
        masks[name] = keep[start : start + weight.numel()].view_as(weight).clone()
        start += weight.numel()
    return masks


def channel_masks(model: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Masks zeroing round(sparsity × C) of the C output channels of every ordinary conv (at least
    one channel stays): lowest L1 norm first. The conv's bias and the batch norm right after it
    (the next module, if it normalizes the same channels) are masked too."""
    masks: dict[str, torch.Tensor] = {}
    modules = list(model.named_modules())
    for position, (name, module) in enumerate(modules):
        if not isinstance(module, nn.Conv2d) or module.groups != 1:
            continue
        channels = module.out_channels
        norms = module.weight.detach().abs().flatten(1).sum(1)
        dead = torch.argsort(norms, stable=True)[: min(channels - 1, round(sparsity * channels))]
        alive = torch.ones(channels)
        alive[dead] = 0
        masks[f"{name}.weight"] = alive.view(-1, 1, 1, 1)
        if module.bias is not None:
            masks[f"{name}.bias"] = alive
        following = _next_module(modules, position)
        if following is not None:
            norm_name, norm = following
            if isinstance(norm, nn.BatchNorm2d) and norm.num_features == channels:
                masks[f"{norm_name}.weight"] = alive
                masks[f"{norm_name}.bias"] = alive
    return masks


def _next_module(
    modules: list[tuple[str, nn.Module]], position: int
) -> tuple[str, nn.Module] | None:
    """The next leaf module after `position` in registration order (containers skipped)."""
    for name, module in modules[position + 1 :]:
        if not list(module.children()):
            return name, module
    return None


def compact_stacked(model: StackedConvNet, masks: dict[str, torch.Tensor]) -> StackedConvNet:
    """A narrower StackedConvNet without the channels `masks` zeroed; same outputs."""
    stages = sum(isinstance(m, nn.MaxPool2d) for m in model.features)
    blocks = [m for m in model.features if isinstance(m, nn.Sequential)]  # conv, BN, ReLU each
    names = {id(m): n for n, m in model.named_modules()}
    convs = [_conv_norm(block)[0] for block in blocks]
    kept = [masks[f"{names[id(conv)]}.weight"].flatten().nonzero().flatten() for conv in convs]
    deep_convs = len(blocks) - (stages - 1)
    widths = (*(len(k) for k in kept[: stages - 1]), len(kept[-1]))
    if any(len(k) != widths[-1] for k in kept[stages - 1 :]):
        raise ValueError("the last stage's convs kept different numbers of channels")
    dropout = next(m.p for m in model.classifier if isinstance(m, nn.Dropout))
    small = StackedConvNet(widths, deep_convs=deep_convs, dropout=dropout)
    small_blocks = [m for m in small.features if isinstance(m, nn.Sequential)]
    previous = torch.arange(1)  # the one input channel
    with torch.no_grad():
        for block, small_block, keep in zip(blocks, small_blocks, kept, strict=True):
            (conv, norm), (small_conv, small_norm) = _conv_norm(block), _conv_norm(small_block)
            small_conv.weight.copy_(conv.weight[keep][:, previous])
            small_norm.load_state_dict(
                norm.state_dict()
                | {k: v[keep] for k, v in norm.state_dict().items() if v.ndim == 1}
            )
            previous = keep
        linear, small_linear = model.classifier[-1], small.classifier[-1]
        assert isinstance(linear, nn.Linear) and isinstance(small_linear, nn.Linear)
        area = (28 >> stages) ** 2  # the last feature map, flattened channel by channel
        columns = (previous[:, None] * area + torch.arange(area)).flatten()
        small_linear.weight.copy_(linear.weight[:, columns])
        small_linear.bias.copy_(linear.bias)
    return small.eval()


def stacked_widths(model: StackedConvNet) -> list[int]:
    """The widths argument that rebuilds a StackedConvNet: the first conv of each stage."""
    widths, after_pool = [], True
    for layer in model.features:
        if isinstance(layer, nn.Sequential) and after_pool:
            widths.append(_conv_norm(layer)[0].out_channels)
        after_pool = isinstance(layer, nn.MaxPool2d)
    return widths


def _conv_norm(block: nn.Module) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    """The conv and batch norm of a `conv_bn` block."""
    conv, norm = list(block.children())[:2]
    assert isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d)
    return conv, norm


def prune(
    spec: str | Path,
    prune_config: PruneConfig,
    config: TrainConfig,
    out: Path,
    *,
    source: Path | None = None,
) -> PruneResult:
    """Prune the network `spec`, fine-tune it with `config` (its model fields are ignored), and
    write the result into `out`."""
    from digitrec.compress.distill import load_teacher

    prepare_run_dir(out)
    path = resolve_model_path(spec)
    card, _ = read_model(path)
    model = load_teacher(path)  # the trained network, frozen: thawed for fine-tuning
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    config = TrainConfig(
        **(config.to_json() | {"model": card.architecture, "model_args": card.arguments})
    )
    splits = load_training_data(config, source)
    val_digits = to_digits(splits.val)
    pruned_from = {"model": str(spec), "sha256": sha256_file(path)}
    write_run_config(out, config, splits, pruned_from=pruned_from, prune=asdict(prune_config))

    _, accuracy_before = evaluate_digits(model, val_digits)
    if prune_config.structured:
        masks = channel_masks(model, prune_config.sparsity)
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == 1]
        total = sum(m.out_channels for m in convs)
    else:
        masks = unstructured_masks(model, prune_config.sparsity)
        total = sum(m.numel() for m in masks.values())
    apply_masks(model.state_dict(), masks)
    train_digits = to_digits(splits.train)
    recalibrate_batch_norm(model, train_digits)
    _, accuracy_pruned = evaluate_digits(model, val_digits)
    zeroed = _zeroed(model, masks, prune_config.structured)

    result = fit(model, splits, config, masks=masks, out=out)
    final, arguments = result.model, dict(card.arguments)
    recalibrate_batch_norm(final, train_digits)
    if prune_config.structured and isinstance(final, StackedConvNet):
        final = compact_stacked(final, masks)
        arguments["widths"] = stacked_widths(final)
    weights, metrics = save_trained_network(
        out, final, val_digits, config,
        steps=result.steps, train_seconds=result.train_seconds,
        architecture=card.architecture, arguments=arguments, classes=card.classes,
        pruned_from=pruned_from, prune=asdict(prune_config) | {"zeroed": zeroed, "of": total},
    )  # fmt: skip
    val_accuracy = metrics["val_accuracy"]
    blob = weights.read_bytes()
    return PruneResult(
        out,
        weights,
        zeroed,
        total,
        accuracy_before,
        accuracy_pruned,
        val_accuracy,
        parameter_count(final),
        sum(int(p.count_nonzero()) for p in final.parameters()),
        len(blob),
        len(zlib.compress(blob)),
    )


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, digits: Digits, count: int = RECALIBRATION) -> None:
    """Re-estimate every batch norm's running mean and variance on `count` training digits.

    Pruning changes what each layer receives, so the statistics gathered before are stale; a short
    fine-tuning moves them only part of the way (momentum 0.1 per step)."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not norms:
        return
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches below
    was_training = model.training
    model.train()
    x = digits.x[:count]
    for start in range(0, len(x), 256):
        model(x[start : start + 256].contiguous(memory_format=torch.channels_last))
    model.train(was_training)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum


def _zeroed(model: nn.Module, masks: dict[str, torch.Tensor], structured: bool) -> int:
    """Weights (or, structured, whole conv output channels) that are exactly zero now."""
    state = model.state_dict()
    if not structured:
        return sum(int((state[name] == 0).sum()) for name in masks)
    return sum(
        int((state[name].flatten(1).abs().sum(1) == 0).sum())
        for name in masks
        if state[name].ndim == 4
    )
