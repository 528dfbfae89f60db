"""Choose the front end's paper window (`reading.ink.PAPER_WINDOW`: the paper's level is a grey
opening that many times narrower than the page) on VALIDATION data only.

    python scripts/choose_paper_window.py [--windows 2,3,4,6] [--sheets 60] [--out FILE]

For each window, `digitrec read`'s exact-string accuracy (the shipped line reader, through
`reading.evaluation.read_numbers`) on three validation sets, each weighing the same: the
parish-rows validation pages; plain synthetic pages of MNIST validation digits (seed 123, as
scripts/compare_readers.py draws them); and photographed sheets (tests/renderings.py
`photographed_sheet`, 2000×1500, a 10-digit number of MNIST validation digits on unevenly lit
paper, seed 7). Writes docs/results/paper-window.json.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from renderings import photographed_sheet  # noqa: E402

import digitrec.reading.ink as ink  # noqa: E402
from digitrec.data import load_splits  # noqa: E402
from digitrec.data.numbers import load_numbers  # noqa: E402
from digitrec.data.numberset import NumberSet  # noqa: E402
from digitrec.data.synth import SynthConfig, page_set  # noqa: E402
from digitrec.provenance import provenance  # noqa: E402
from digitrec.reading.evaluation import read_numbers  # noqa: E402
from digitrec.storage import atomic_write_json  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", default="2,3,4,6")
    parser.add_argument("--plain-pages", type=int, default=400)
    parser.add_argument("--sheets", type=int, default=60)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "paper-window.json")
    args = parser.parse_args()
    digits = load_splits("mnist")["val"]
    plain = page_set(digits, SynthConfig(count=args.plain_pages, seed=123), "plain-val")
    rng = np.random.default_rng(7)
    images, texts = [], []
    for _ in range(args.sheets):
        chosen = rng.choice(len(digits), 10, replace=False)
        photo, _ = photographed_sheet(digits.images[chosen], rng, width=2000, height=1500)
        images.append(photo)
        texts.append("".join(str(int(digits.labels[i])) for i in chosen))
    sheets = NumberSet("sheets-val", "val", images, texts, [str(i) for i in range(len(images))])
    sets = {"parish-rows_pages_val": load_numbers("parish-rows")["val"], "plain_val": plain,
            "sheets_val": sheets}  # fmt: skip
    rows = {}
    for window in (int(w) for w in args.windows.split(",")):
        ink.PAPER_WINDOW = window
        row = {
            name: round(read_numbers("default", numbers)["exact"], 4)
            for name, numbers in sets.items()
        }
        row["mean"] = round(statistics.mean(row.values()), 4)
        rows[window] = row
        print(window, json.dumps(row), flush=True)
    chosen_window = max(rows, key=lambda w: rows[w]["mean"])
    record = {
        "command": "python scripts/choose_paper_window.py " + " ".join(sys.argv[1:]),
        "windows": rows,
        "chosen": chosen_window,
        "provenance": provenance(),
    }
    atomic_write_json(args.out, record)
    print(f"chosen on validation: PAPER_WINDOW = {chosen_window}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
