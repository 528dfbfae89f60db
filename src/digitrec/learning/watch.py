"""`digitrec feedback train --watch`: in its own process, look at the store every `poll_s`
seconds; after every `every` new corrections (digits and numbers), train a run on them (`retrain`), gate it, and
promote it when the gate passes (then `on_promoted`, e.g. telling a server to reload).

The runs go into OUT/run-NNN; OUT/watch.json remembers how many rows the last run saw and the
run in progress, so a watcher stopped (even by kill -9) and started again resumes that run
instead of starting another.
"""

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from digitrec.data.feedback import FeedbackStore
from digitrec.errors import DigitrecError
from digitrec.learning.retrain import SETTINGS, FeedbackTraining, train_on_feedback
from digitrec.models import versions
from digitrec.storage import atomic_write_json, read_json_object
from digitrec.train.result import TrainingInterruptedError

STATE = "watch.json"


def watch(
    out: Path,
    options: FeedbackTraining,
    *,
    every: int,
    poll_s: float,
    on_promoted: Callable[[versions.Version], None] | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """Runs until interrupted (Ctrl-C: 0). A run that fails is reported and waited past: the
    next one starts after `every` more corrections."""
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)  # stops as Ctrl-C does (training: checkpointed)
    state = read_json_object(out / STATE, missing_ok=True)
    state.setdefault("rows", 0)
    state.setdefault("runs", [])
    db = Path(options.db)
    say(f"watching {db}: a run after every {every} new corrections (Ctrl-C stops)")
    try:
        while True:
            current = state.get("current")
            rows = FeedbackStore(db, read_only=True).count() if db.is_file() else 0
            if current is None and rows - state["rows"] < every:
                time.sleep(poll_s)
                continue
            if current is None:
                current = state["current"] = f"run-{len(state['runs']) + 1:03d}"
                state["current_rows"] = rows
                atomic_write_json(out / STATE, state)
            run = out / current
            resume = (run / SETTINGS).exists()  # begun: its snapshot and plan are saved
            say(f"{run}: training on {state['current_rows']} rows" + (" (resumed)" * resume))
            entry: dict[str, Any] = {"run": current, "rows": state["current_rows"]}
            try:
                record = train_on_feedback(run, options, resume=resume)
                say(f"{run}: {record['verdict']}")
                entry["promoted"] = _promoted(run, record, say, on_promoted)
            except TrainingInterruptedError:
                raise KeyboardInterrupt from None  # checkpointed: the next start resumes it
            except Exception as error:  # a failed run is reported; the next one comes later
                message = str(error) if isinstance(error, DigitrecError) else repr(error)
                say(f"{run}: failed: {message}")
                entry |= {"promoted": None, "error": message}
            state["runs"].append(entry)
            state["rows"] = state.pop("current_rows")
            state.pop("current")
            atomic_write_json(out / STATE, state)
    except KeyboardInterrupt:
        say("stopped")
        return 0


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _promoted(
    run: Path,
    record: dict[str, Any],
    say: Callable[[str], None],
    on_promoted: Callable[[versions.Version], None] | None,
) -> str | None:
    """The version `run` is promoted as when its gate passed (None when refused); a run a
    killed watcher promoted already is not promoted twice."""
    if not record["promotable"]:
        return None
    known = [v for v in versions.listing() if v.record.get("run") == str(run.resolve())]
    version = known[0] if known else versions.promote(run)
    say(f"{run}: promoted as {version.name}")
    if on_promoted is not None:
        on_promoted(version)
    return version.name
