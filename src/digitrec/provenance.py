"""Where a result came from: library versions, git commit, machine. Saved next to every result so
each figure can be traced and rerun."""

import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from digitrec import __version__


def git_commit() -> str | None:
    """The commit of the digitrec checkout this code runs from, with "+dirty" if it has local
    changes; None when not run from a git checkout."""
    root = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model() or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
    }


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"digitrec": __version__}
    for name in ("torch", "numpy", "opencv-python-headless", "scikit-learn", "safetensors"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def provenance() -> dict[str, Any]:
    return {
        "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "git_commit": git_commit(),
        "versions": library_versions(),
        "machine": machine(),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None
