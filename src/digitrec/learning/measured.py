"""Figures the gate has measured already: a model's accuracy on a set, keyed by the SHA-256 of
the weights file and of the set's contents, kept in `$DIGITREC_HOME/cache/gate-figures.json`.

A gate measures the base model and the new one on the same sets; the unattended loop's next run
starts from the model this one promoted, so its "before" figures are this run's "after" ones.
The same weights on the same data read the same: measuring them again is only time. The file
keeps the newest `KEPT` figures; a lost or unreadable file is measured again, never an error.
"""

import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.errors import DataError
from digitrec.home import digitrec_home
from digitrec.storage import atomic_write_json, read_json_object, sha256_file

KEPT = 512


def cache_path() -> Path:
    return digitrec_home() / "cache" / "gate-figures.json"


def weights_digest(path: Path) -> str:
    """A model file's SHA-256 with its card's (the JSON beside it)."""
    card = path.with_suffix(".json")
    return sha256_file(path) + (sha256_file(card)[:16] if card.is_file() else "")


def set_digest(*parts: np.ndarray | list[Any]) -> str:
    """The SHA-256 of a set's parts in order: arrays (type, shape and bytes), lists of arrays
    (each so) or lists of strings."""
    digest = hashlib.sha256()
    for part in parts:
        for item in [part] if isinstance(part, np.ndarray) else part:
            if isinstance(item, np.ndarray):
                digest.update(f"{item.dtype}{item.shape}".encode())
                digest.update(np.ascontiguousarray(item).tobytes())
            else:
                digest.update(str(item).encode() + b"\x00")
        digest.update(b"\x01")
    return digest.hexdigest()


def remembered(key: str, measure: Callable[[], float]) -> float:
    """The figure stored under `key`, else `measure()`, stored."""
    path = cache_path()
    try:
        figures = read_json_object(path, missing_ok=True)
    except DataError:
        figures = {}
    found = figures.get(key)
    if isinstance(found, int | float) and not isinstance(found, bool):
        return float(found)
    value = measure()
    figures.pop(key, None)
    figures[key] = value  # newest last: the oldest go first
    kept = dict(list(figures.items())[-KEPT:])
    with contextlib.suppress(OSError):  # a read-only home: measured, just not remembered
        atomic_write_json(path, kept, indent=0)
    return value
