"""Files of the reader's own networks (the segment verifier, the line reader): digitrec-model/1
files like every model's (`models.modelfile`), of their own kind — safetensors weights with the
JSON card in the file's header and beside it, never pickle."""

from pathlib import Path
from typing import Any

from torch import nn

from digitrec.errors import DataError
from digitrec.models.modelfile import FORMAT, read_model_files, write_model_files


def save_net(
    net: nn.Module, card: dict[str, Any], stem: Path, kind: str, architecture: str
) -> None:
    """Write STEM.safetensors and STEM.json atomically, the card marked with `kind`."""
    arrays = {name: t.detach().cpu().contiguous().numpy() for name, t in net.state_dict().items()}
    header = {"format": FORMAT, "kind": kind, "architecture": architecture}
    write_model_files(stem, arrays, {**header, **card})


def load_net(stem: Path, kind: str, maker: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(card, state dict) of STEM.safetensors; DataError when it is missing (saying `maker` makes
    it) or is not a `kind` file."""
    import torch

    path = stem.with_suffix(".safetensors")
    try:
        card, arrays = read_model_files(path)
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run {maker}") from None
    if card.get("kind") != kind:
        raise DataError(f"{path}: a {card.get('kind')} file, not a {kind} file")
    return card, {name: torch.from_numpy(array) for name, array in arrays.items()}
