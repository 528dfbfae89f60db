"""Model versions: the digit classifiers (and line readers) promoted from runs, kept in
`$DIGITREC_MODELS` (by default `$DIGITREC_HOME/models/`), and which one is active. The model
name `default` means the active version's classifier (`resolve_model_path`), and the readers
`auto` and `line` its reader (`reading.line_model.reader_file`), so `digitrec serve`, `predict` and
`read` use them; `shipped` always means the model in the package.

    models/
      active.json          {"active": "v2", "history": ["shipped", "v1", "v2"]}
      v1/model.safetensors, model.json, gate.json, version.json
      v2/...                                         reader.safetensors, reader.json

A version holds a classifier always and a reader when one was ever promoted: what a run did
not train is carried forward from the version active when it was promoted (the package's
reader is the one a version without a reader file uses).

A version is written whole into a hidden folder and renamed into place, and active.json is
replaced atomically, under a lock file: a promote racing another, or a server reading while a
promote runs, sees one version or the other, never half of one. Versions are never deleted by
promote or rollback.
"""

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digitrec.errors import DataError, UsageError
from digitrec.home import digitrec_home
from digitrec.storage import atomic_write_bytes, atomic_write_json, read_json_object, sha256_file

PACKAGED = Path(__file__).resolve().parent.parent / "weights"  # models shipped in the package
# the package's line reader (reading.line_model.LINE_STEM): a version without one uses it
PACKAGED_READER = Path(__file__).resolve().parent.parent / "reading" / "line_reader.safetensors"
SHIPPED = "shipped"  # the package's own model: always a version, the first one
GATE = "gate.json"  # a run's gate record (learning.gate), copied into its version
READER = "reader"  # a version's line reader: reader.safetensors + reader.json
RUN_READER = "reader"  # where a run of `feedback train` keeps the reader it trained
_VERSION = re.compile(r"v(\d+)")


def versions_dir() -> Path:
    configured = os.environ.get("DIGITREC_MODELS")
    return Path(configured).expanduser() if configured else digitrec_home() / "models"


@dataclass(frozen=True)
class Version:
    name: str  # "shipped", "v1", "v2", ...
    path: Path  # its model.safetensors
    record: dict[str, Any]  # version.json: when, from which run, the gate's figures, forced

    @property
    def reader(self) -> Path | None:
        """Its line reader's weights; None: the package's reader."""
        path = self.path.parent / f"{READER}.safetensors"
        return path if self.name != SHIPPED and path.is_file() else None


def _state() -> dict[str, Any]:
    state = read_json_object(versions_dir() / "active.json", missing_ok=True)
    history = [str(name) for name in state.get("history", [])]
    return {"active": str(state.get("active", SHIPPED)), "history": history or [SHIPPED]}


def shipped_path() -> Path:
    return PACKAGED / "default.safetensors"


def version_path(name: str) -> Path:
    if name == SHIPPED:
        return shipped_path()
    if _VERSION.fullmatch(name) is None:
        raise UsageError(f"no model version {name!r} (versions are shipped, v1, v2, ...)")
    return versions_dir() / name / "model.safetensors"


def active() -> Version:
    """The version `default` names now. One whose files are gone is an error, not the shipped
    model in disguise."""
    name = _state()["active"]
    path = version_path(name)
    if not path.is_file():
        raise DataError(
            f"the active model version {name} is missing ({path}): `digitrec models rollback`"
        )
    record = (
        {} if name == SHIPPED else read_json_object(path.parent / "version.json", missing_ok=True)
    )
    return Version(name, path, record)


def listing() -> list[Version]:
    """Every version, oldest first: the shipped model, then v1, v2, ..."""
    found = [Version(SHIPPED, shipped_path(), {"promoted": "", "run": "the package"})]
    root = versions_dir()
    numbered = sorted(
        (int(match[1]), child)
        for child in (root.iterdir() if root.is_dir() else [])
        if (match := _VERSION.fullmatch(child.name)) and child.is_dir()
    )
    found += [
        Version(
            child.name,
            child / "model.safetensors",
            read_json_object(child / "version.json", missing_ok=True),
        )
        for _, child in numbered
    ]
    return found


@contextmanager
def _locked() -> Iterator[Path]:
    root = versions_dir()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield root
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _activate(root: Path, name: str, history: list[str]) -> None:
    atomic_write_json(root / "active.json", {"active": name, "history": history})


def promote(run: Path, *, force: bool = False) -> Version:
    """Make the models of `run` (a run directory with model.safetensors + model.json and/or
    reader/reader.*, and the gate's gate.json) the next version and the active one: the parts
    whose gate passed (all of them with `force`, recorded), the rest carried from the active
    version. Refused when no part passed, unless `force`. The caller has read the models
    (`read_model`, `load_reader`): this module sits under the model files."""
    trained_reader = run / RUN_READER / f"{READER}.safetensors"
    if not (run / "model.safetensors").is_file() and not trained_reader.is_file():
        raise UsageError(
            f"{run}: no finished model (model.safetensors) or reader "
            f"({RUN_READER}/{READER}.safetensors) to promote"
        )
    gate = read_json_object(run / GATE, missing_ok=True)
    if not gate and not force:
        raise UsageError(
            f"{run}: no gate record ({GATE}); `digitrec feedback train` writes one "
            "(or --force to promote it unmeasured)"
        )
    if gate and not gate.get("promotable") and not force:
        raise UsageError(
            f"{run}: the gate refused this model ({gate.get('verdict', 'failed')}); "
            "--force promotes it anyway"
        )
    # the parts the gate passed (a gate of one verdict: all of them; forced: every part trained)
    passed = gate.get("tasks") or dict.fromkeys(("digits", "numbers"), bool(gate.get("promotable")))
    own_model = (run / "model.safetensors").is_file() and (force or passed.get("digits", False))
    own_reader = trained_reader.is_file() and (force or passed.get("numbers", False))
    with _locked() as root:
        now = active()
        stale = _stale(gate, now, model=own_model, reader=own_reader)
        if stale and not force:
            raise UsageError(
                f"{run}: gated against {stale}, but the active version is {now.name} now: "
                "train again from it (or --force)"
            )
        numbers = [int(m[1]) for c in root.iterdir() if (m := _VERSION.fullmatch(c.name))]
        name = f"v{max(numbers, default=0) + 1}"
        partial = root / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        model = run / "model.safetensors" if own_model else now.path  # else the one in use
        reader = trained_reader if own_reader else now.reader
        files = {"model.safetensors": model, "model.json": model.with_suffix(".json")}
        files[GATE] = run / GATE
        if reader is not None:
            for suffix in (".safetensors", ".json"):
                files[f"{READER}{suffix}"] = reader.with_suffix(suffix)
        for kept, origin in files.items():
            if origin.is_file():  # written and synced before the folder is renamed in
                atomic_write_bytes(partial / kept, origin.read_bytes())
        record = {
            "version": name,
            "promoted": datetime.now(UTC).isoformat(timespec="seconds"),
            "run": str(run.resolve()),
            "forced": bool(force and (stale or not gate.get("promotable"))),
            "trained": [
                task for task, kept in (("digits", own_model), ("numbers", own_reader)) if kept
            ],
            "reader": "trained" if own_reader else "carried" if reader else "package",
            "gate": {
                "promotable": bool(gate.get("promotable")),
                "verdict": gate.get("verdict", "not measured"),
                "sets": gate.get("sets", []),
            },
        }
        atomic_write_json(partial / "version.json", record)
        partial.rename(root / name)
        state = _state()
        _activate(root, name, [*state["history"], name])
    return Version(name, root / name / "model.safetensors", record)


def _stale(gate: dict[str, Any], now: Version, *, model: bool, reader: bool) -> str:
    """The base a part taken from the run was gated against, when the active version no longer
    holds those weights (compared by SHA-256: a version carries copies); "" when none is."""
    checks = [
        (model, str(gate.get("base_path") or ""), now.path),
        (reader, str(gate.get("reader_base_path") or ""), now.reader or PACKAGED_READER),
    ]
    for taken, base, in_use in checks:
        if taken and base and not _same_file(Path(base), in_use):
            return base
    return ""


def _same_file(one: Path, other: Path) -> bool:
    if one.resolve() == other.resolve():
        return True
    return one.is_file() and other.is_file() and sha256_file(one) == sha256_file(other)


def rollback() -> tuple[str, Version]:
    """Make the version active before the current one again: (the one left, the one now
    active). The version left stays on disk (promote it again by its run, or roll forward by
    promoting)."""
    with _locked() as root:
        state = _state()
        history = state["history"]
        if len(history) < 2:
            raise UsageError(f"nothing to roll back to: {history[-1]} is the first version used")
        left, history = history[-1], history[:-1]
        while len(history) > 1 and not version_path(history[-1]).is_file():
            history = history[:-1]  # a version removed by hand: step over it
        _activate(root, history[-1], history)
    return left, active()
