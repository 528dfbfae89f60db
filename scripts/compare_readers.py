"""Line readers side by side on VALIDATION data only, the figures a reader is chosen by.

    python scripts/compare_readers.py READER [READER ...] [--plain-pages 400] [--out FILE]

READER: 'default' (the shipped one), a train-reader run directory, or a reader file (e.g. one
written by `git show REV:src/digitrec/reading/line_reader.safetensors`). For each: exact-string
accuracy on the validation lines `train-reader` chooses its epoch by (synthetic pages of
validation digits as `line_data.SYNTH` draws them, seed 1, and the parish-rows validation pages)
and their mean, and on plain pages (`SynthConfig()`, the original generator, as the synthetic
benchmark draws them) of MNIST **validation** digits, seed 123; and on the parish-rows validation
pages read whole, as `digitrec read` reads a user's image (the bands of rows, the surest kept),
and with the likeliest band alone (what reading every band adds).
No test split is read.
"""

import argparse
import json
import sys
from pathlib import Path

from digitrec.data import load_splits
from digitrec.data.numbers import load_numbers
from digitrec.data.synth import SynthConfig, page_set
from digitrec.reading.evaluation import read_numbers
from digitrec.reading.line_data import reader_lines
from digitrec.reading.line_model import load_reader
from digitrec.reading.line_training import evaluate_lines
from digitrec.storage import atomic_write_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("readers", nargs="+", metavar="READER")
    parser.add_argument("--plain-pages", type=int, default=400)
    parser.add_argument("--val-pages", type=int, default=1_000)
    parser.add_argument("--out", type=Path, help="also write the table as JSON here")
    args = parser.parse_args()
    val = reader_lines("synth+parish-rows", "val", args.val_pages, 1, 2)
    digits = load_splits("mnist")["val"]
    plain = page_set(digits, SynthConfig(count=args.plain_pages, seed=123), "plain-val")
    parish_pages = load_numbers("parish-rows")["val"]
    rows = {}
    for spec in args.readers:
        reader = load_reader(spec)
        exact = {part: evaluate_lines(reader, lines)["exact"] for part, lines in val.items()}
        row = {f"{part}_val": round(value, 4) for part, value in exact.items()}
        row["mean_val"] = round(sum(exact.values()) / len(exact), 4)
        row["plain_val"] = round(read_numbers(spec, plain)["exact"], 4)
        row["parish-rows_pages_val"] = round(read_numbers(spec, parish_pages)["exact"], 4)
        one_band = read_numbers(spec, parish_pages, bands=1)["exact"]
        row["parish-rows_pages_val_one_band"] = round(one_band, 4)
        rows[spec] = row
        print(spec, json.dumps(row), flush=True)
    if args.out:
        command = "python scripts/compare_readers.py " + " ".join(sys.argv[1:])
        atomic_write_json(args.out, {"command": command, "readers": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
