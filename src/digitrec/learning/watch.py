"""`digitrec feedback train --watch`: in its own process, look at the store every `poll_s`
seconds; after every `every` new corrections, train a run on them (`retrain`), gate it, and
promote it when the gate passes (then `on_promoted`, e.g. telling a server to reload).

The runs go into OUT/run-NNN; OUT/watch.json remembers how many rows the last run saw and the
run in progress, so a watcher stopped (even by kill -9) and started again resumes that run
instead of starting another.
"""

import time
from collections.abc import Callable
from pathlib import Path

from digitrec.data.feedback import FeedbackStore
from digitrec.errors import DigitrecError
from digitrec.learning.retrain import FeedbackTraining, train_on_feedback
from digitrec.models import versions
from digitrec.storage import atomic_write_json, read_json_object
from digitrec.train.checkpoint import CHECKPOINT

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
            resume = (run / CHECKPOINT).exists() or (run / "model.safetensors").exists()
            say(f"{run}: training on {state['current_rows']} rows" + (" (resumed)" * resume))
            entry = {"run": current, "rows": state["current_rows"]}
            try:
                record = train_on_feedback(run, options, resume=resume)
            except DigitrecError as error:
                say(f"{run}: failed: {error}")
                entry |= {"promoted": None, "error": str(error)}
            else:
                say(f"{run}: {record['verdict']}")
                entry["promoted"] = None
                if record["promotable"]:
                    version = versions.promote(run)
                    entry["promoted"] = version.name
                    say(f"{run}: promoted as {version.name}")
                    if on_promoted is not None:
                        on_promoted(version)
            state["runs"].append(entry)
            state["rows"] = state.pop("current_rows")
            state.pop("current")
            atomic_write_json(out / STATE, state)
    except KeyboardInterrupt:
        say("stopped")
        return 0
