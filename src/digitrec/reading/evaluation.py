"""How well a reader reads a dataset of numbers: `digitrec evaluate-reader`.

Every image goes through `read` exactly as a user's would (the same front end and reader), and
the readings are scored: exact-string accuracy, character error rate, exact accuracy per number
length, and a confusion matrix of the digits an edit-distance alignment pairs up (with the
digits missed and the digits added besides).
"""

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from digitrec.data.numbers import load_numbers
from digitrec.data.numberset import NumberSet
from digitrec.errors import DataError
from digitrec.reading.accuracy import string_scores

if TYPE_CHECKING:
    from digitrec.reading.line_model import LineReader


def evaluate_reader(
    reader: str | Path, spec: str, split: str = "test", source: Path | None = None
) -> dict[str, Any]:
    """Read every image of one split of a number dataset with `reader` ('default' or a
    train-reader run) and score the readings."""
    splits = load_numbers(spec, source)
    if split not in splits:
        raise DataError(f"{spec} has no {split} split (it has {', '.join(splits)})")
    return {"dataset": spec, "split": split, **read_numbers(reader, splits[split])}


def read_numbers(
    reader: "str | Path | LineReader", numbers: NumberSet, bands: int | None = None
) -> dict[str, Any]:
    """Read these numbers with `reader` (a name `load_reader` takes, or a loaded reader) and
    score the readings (`reading_scores`), with the time taken and the first 50 mistakes.
    `bands`: how many bands of rows a page offers the reader (default `line_model.BANDS`, as
    `read` does; 1 to measure what the choice adds)."""
    from digitrec.progress import count_bar
    from digitrec.reading.line_model import BANDS, LineReader, load_reader
    from digitrec.reading.reader import choose_reader, read_line

    if isinstance(reader, LineReader):
        line_reader: LineReader | None = reader
    elif str(reader) == "default":  # the reader in use (the package's under ONNX Runtime)
        line_reader = choose_reader("line")
    else:
        line_reader = load_reader(reader)
    assert line_reader is not None
    reads = []
    started = time.perf_counter()
    with count_bar(f"reading {numbers.name} {numbers.split}", len(numbers)) as advance:
        for image, file in zip(numbers.images, numbers.files, strict=True):
            reads.append(read_line(image, line_reader, file, bands or BANDS).text)
            advance(1)
    seconds = time.perf_counter() - started
    return {
        "reader": str(reader) if isinstance(reader, str | Path) else "a loaded reader",
        "count": len(numbers),
        **reading_scores(numbers.texts, reads),
        "seconds": seconds,
        "digits": sum(len(t) for t in numbers.texts),
        "seconds_per_image": seconds / max(1, len(numbers)),
        "mistakes": [
            {"file": f, "truth": t, "read": r}
            for f, t, r in zip(numbers.files, numbers.texts, reads, strict=True)
            if t != r
        ][:50],
    }


def reading_scores(truths: Sequence[str], reads: Sequence[str]) -> dict[str, Any]:
    """Exact and CER (`string_scores`), exact per length, and the aligned digit confusion:
    confusion[t][r] counts truth digit t read as r; `missed[t]` digits left out, `added[r]`
    digits read where none was written."""
    confusion = np.zeros((10, 10), np.int64)
    missed, added = np.zeros(10, np.int64), np.zeros(10, np.int64)
    per_length: dict[int, list[int]] = {}
    for truth, read in zip(truths, reads, strict=True):
        per_length.setdefault(len(truth), [0, 0])
        per_length[len(truth)][0] += truth == read
        per_length[len(truth)][1] += 1
        for t, r in _aligned(truth, read):
            if t is None:
                added[int(r)] += 1  # type: ignore[arg-type]
            elif r is None:
                missed[int(t)] += 1
            else:
                confusion[int(t), int(r)] += 1
    return {
        **string_scores(list(truths), list(reads)),
        "exact_by_length": {
            str(n): {"exact": ok / count, "count": count}
            for n, (ok, count) in sorted(per_length.items())
        },
        "confusion": confusion.tolist(),
        "missed": missed.tolist(),
        "added": added.tolist(),
    }


def _aligned(truth: str, read: str) -> list[tuple[str | None, str | None]]:
    """A minimal edit-distance alignment of two digit strings: (truth digit or None, read digit
    or None) pairs, in order."""
    n, m = len(truth), len(read)
    cost = np.zeros((n + 1, m + 1), np.int64)
    cost[:, 0], cost[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(
                cost[i - 1, j] + 1,
                cost[i, j - 1] + 1,
                cost[i - 1, j - 1] + (truth[i - 1] != read[j - 1]),
            )
    pairs: list[tuple[str | None, str | None]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i, j] == cost[i - 1, j - 1] + (truth[i - 1] != read[j - 1]):
            pairs.append((truth[i - 1], read[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i, j] == cost[i - 1, j] + 1:
            pairs.append((truth[i - 1], None))
            i -= 1
        else:
            pairs.append((None, read[j - 1]))
            j -= 1
    return pairs[::-1]


def print_reader_scores(scores: dict[str, Any]) -> None:
    from rich.table import Table

    from digitrec.output import stdout_console

    stdout_console.print(
        f"{scores['dataset']} {scores['split']}: {scores['count']:,} numbers, reader "
        f"{scores['reader']}: exact {scores['exact']:.2%}, CER {scores['cer']:.2%}, "
        f"{1000 * scores['seconds_per_image']:.1f} ms per image",
        markup=False,
    )
    lengths = Table(title="exact by length", title_justify="left", box=None)
    for column in ("digits", "numbers", "exact"):
        lengths.add_column(column, justify="right")
    for length, row in scores["exact_by_length"].items():
        lengths.add_row(length, f"{row['count']:,}", f"{row['exact']:.2%}")
    stdout_console.print(lengths)
    confusion = Table(title="digits: written (rows) → read", title_justify="left", box=None)
    confusion.add_column("")
    for digit in range(10):
        confusion.add_column(str(digit), justify="right")
    confusion.add_column("missed", justify="right")
    for digit, row in enumerate(scores["confusion"]):
        confusion.add_row(
            str(digit), *(str(c) if c else "·" for c in row), str(scores["missed"][digit])
        )
    confusion.add_row("added", *(str(c) if c else "·" for c in scores["added"]), "")
    stdout_console.print(confusion)
