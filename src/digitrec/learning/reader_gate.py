"""The gate of a line reader trained on number corrections: the base reader and the new one on
the same sets, before and after, judged with the digit gate's rules (`gate.judge`).

The sets: the held-out number corrections (the newest rows of the snapshot's `numbers` table:
they must improve), read as `digitrec read` reads a photo (front end, bands, the reader); the
real validation numbers fetched here (parish-rows val: may fall by at most its tolerance); and
synthetic validation lines (the generator's cheques and forms of validation digits, on pages of
their own, decoded from their line images: may fall by at most the same). written-numbers is a
test set: no gate sees it.
"""

from pathlib import Path

from digitrec.errors import DataError
from digitrec.learning.gate import GateSet

READER_TOLERANCE_PP = 1.0  # a few hundred real or synthetic numbers: one is 0.3-0.5 pp
READER_DEV_SETS = {"parish-rows": "parish-rows val"}  # real validation numbers a gate may hold
# The gate's synthetic pages: validation digits on pages no reader chose its epoch on
# (`train_reader` chooses on the pages of its seed + 1, the shipped reader on seed 1's: measured
# on those, the base reader's figure is its best epoch's, and any fine-tune seems to fall ~1 pp).
GATE_SEED = 101


def reader_gate_sets(
    snapshot: Path,
    *,
    tolerance_pp: float = READER_TOLERANCE_PP,
    dev: tuple[str, ...] = tuple(READER_DEV_SETS),
    val_pages: int = 200,
    seed: int = GATE_SEED,
    workers: int = 0,
    source: Path | None = None,
) -> tuple[list[GateSet], list[str]]:
    """The sets to measure a reader on, and a note for each set that could not be loaded.
    `workers`: processes making the synthetic pages (0: one per core)."""
    from digitrec.data.feedback_sets import number_feedback_parts
    from digitrec.data.numbers import load_numbers
    from digitrec.learning.gate import fetched
    from digitrec.reading.line_data import SYNTH, default_workers, synthetic_lines

    held = number_feedback_parts(snapshot).get("test")
    sets = [
        GateSet(
            "held-out numbers",
            held.images if held else [],
            held.texts if held else [],
            "improve",
            task="numbers",
        )
    ]
    notes: list[str] = []
    for spec in dev:
        name = READER_DEV_SETS[spec]
        if source is None and not fetched(spec):
            notes.append(f"{name}: not measured (`digitrec data fetch {spec}` first)")
            continue
        try:
            numbers = load_numbers(spec, source)["val"]
        except (DataError, KeyError) as error:
            notes.append(f"{name}: not measured ({error})")
            continue
        sets.append(GateSet(name, numbers.images, numbers.texts, "hold", tolerance_pp, "numbers"))
    if val_pages:
        lines = synthetic_lines("val", val_pages, SYNTH, seed, default_workers(workers))
        texts = [str(t) for t in lines.texts]
        sets.append(
            GateSet("synthetic val lines", lines.images(), texts, "hold", tolerance_pp, "lines")
        )
    return sets, notes


def reader_accuracy(reader: str | Path, sets: list[GateSet]) -> list[float | None]:
    """Exact-number accuracy of `reader` (a reader file or run directory) on each set, in
    percent (None for an empty set); figures measured before (the same weights, set and front
    end) come from `measured`."""
    from functools import cache

    import digitrec
    from digitrec.data.numberset import NumberSet
    from digitrec.learning.measured import remembered, set_digest, weights_digest
    from digitrec.reading.evaluation import read_numbers
    from digitrec.reading.line_data import FRONT_END, LineSet
    from digitrec.reading.line_model import BANDS, load_reader, reader_file
    from digitrec.reading.line_training import evaluate_lines

    weights = weights_digest(reader_file(reader))
    code = f"{digitrec.__version__}/front-end {FRONT_END}/bands {BANDS}"  # what reads them
    loaded = cache(lambda: load_reader(reader))
    found: list[float | None] = []
    for each in sets:
        if len(each.labels) == 0:
            found.append(None)
            continue
        texts = [str(t) for t in each.labels]

        def measure(each: GateSet = each, texts: list[str] = texts) -> float:
            if each.task == "lines":
                lines = LineSet.of(list(each.images), texts)
                return 100.0 * evaluate_lines(loaded(), lines)["exact"]
            files = [f"{each.name}-{i}" for i in range(len(texts))]
            numbers = NumberSet(each.name, "gate", list(each.images), texts, files)
            return 100.0 * float(read_numbers(loaded(), numbers)["exact"])

        key = f"{each.task}:{code}:{weights}:{set_digest(list(each.images), texts)}"
        found.append(remembered(key, measure))
    return found
