"""Where digitrec keeps its cache: `$DIGITREC_HOME`, by default `~/.cache/digitrec`."""

import os
from pathlib import Path


def digitrec_home() -> Path:
    """The cache root; read from the environment each call so tests can point it elsewhere."""
    configured = os.environ.get("DIGITREC_HOME")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "digitrec"


def dataset_dir(name: str) -> Path:
    """The cache folder of one dataset's verified files."""
    return digitrec_home() / "datasets" / name
