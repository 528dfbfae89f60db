"""Files of the reader's own networks (the segment verifier, the line reader): safetensors weights
with the JSON card both in the file's metadata and beside it, never pickle."""

import json
from pathlib import Path
from typing import Any

from torch import nn

from digitrec.errors import DataError


def save_net(net: nn.Module, card: dict[str, Any], stem: Path, kind: str) -> None:
    """Write STEM.safetensors and STEM.json atomically; `kind` goes into the card's format."""
    from safetensors.torch import save

    from digitrec.storage import atomic_write_bytes, atomic_write_text

    text = json.dumps({"format": kind, **card}, indent=1)
    state = {name: t.detach().contiguous() for name, t in net.state_dict().items()}
    atomic_write_text(stem.with_suffix(".json"), text + "\n")
    atomic_write_bytes(stem.with_suffix(".safetensors"), save(state, metadata={"digitrec": text}))


def load_net(stem: Path, kind: str, maker: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(card, state dict) of STEM.safetensors; DataError when it is missing (saying `maker` makes
    it) or is not a `kind` file."""
    from safetensors import safe_open

    path = stem.with_suffix(".safetensors")
    try:
        with safe_open(str(path), framework="pt") as handle:
            card = json.loads((handle.metadata() or {}).get("digitrec", "{}"))
            state = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run {maker}") from None
    if card.get("format") != kind:
        raise DataError(f"{path}: not a {kind} file")
    return card, state
