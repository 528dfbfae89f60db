"""Make the shipped line reader: `digitrec train-reader` with the recipe below, then (--ship) the
chosen reader copied into the package as src/digitrec/reading/line_reader.{safetensors,json}.

    python scripts/train_line_reader.py [--out runs/reader-wild] [--threads 0] [--ship]

The recipe (fixed before any test figure was seen): synthetic pages of the training digits of
MNIST, USPS and CVL's training writers (`line_data.SYNTH`: 70% drawn as real pages look), plus
the parish-rows training pages, each real line seen 4 times an epoch; 8 epochs fine-tuning the
previous shipped reader at a one-cycle peak of 1e-3; the epoch with the best mean validation
exact accuracy over synthetic pages of validation digits and the parish-rows validation pages
is kept. No test split (MNIST test, USPS test, CVL test writers, parish test pages,
written-numbers) is read. An interrupted run is resumed by running the script again. Writes
docs/results/line-reader.json (the run's card: settings, per-epoch log, machine).
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from digitrec.reading.line_model import LINE_STEM, READER_STEM
from digitrec.reading.line_training import LineTrainConfig, ReaderData, train_reader
from digitrec.storage import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results" / "line-reader.json"
RECIPE = ReaderData(spec="synth+parish-rows", synth_pages=20_000, val_pages=1_000, repeat_real=4)
TRAINING = {"epochs": 8, "lr": 1e-3, "seed": 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "reader-wild")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: every core)")
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--ship", action="store_true", help="copy the reader into the package")
    args = parser.parse_args()
    reader = args.out / f"{READER_STEM}.safetensors"
    if not reader.exists():
        from digitrec.data import fetch

        fetch("parish-rows", args.source / "parish-rows")
        fetch("cvl", args.source / "cvl")
        fetch("usps", args.source / "usps")
        config = LineTrainConfig(**TRAINING, threads=args.threads)
        resume = (args.out / "checkpoint.safetensors").exists()
        train_reader(args.out, RECIPE, config, init="default", resume=resume)
    card = json.loads(reader.with_suffix(".json").read_text())
    summary = {"command": "python scripts/train_line_reader.py " + " ".join(sys.argv[1:])}
    summary |= card | {"shipped": args.ship}
    if args.ship:
        for suffix in (".safetensors", ".json"):
            shutil.copyfile(reader.with_suffix(suffix), LINE_STEM.with_suffix(suffix))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(summary, indent=2) + "\n")
    print(f"best epoch {card['best_epoch']}: mean validation exact {card['val_exact']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
