"""Make the segment reader's shipped files: `digitrec train-segmenter` (the fitting lives in
`digitrec.reading.segment_fitting`) into a run directory, then copied into the package.

    python scripts/fit_segment_scorer.py [--out runs/segmenter] [--train-pages 1200]
        [--pages 300] [--dev-pages 200] [--seed 1] [--epochs 6] [--costs-only]

Writes src/digitrec/reading/verifier.{safetensors,json} and segment_scorer.json from the run,
and docs/results/segment-scorer.json (the run's fit.json with this command; with --costs-only,
the record keeps the full fit and adds the costs' refit as `costs_refit`).
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from digitrec.reading.segment_fitting import FILES, SegmentFitConfig, fit_segmenter
from digitrec.storage import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "digitrec" / "reading"
RESULTS = ROOT / "docs" / "results" / "segment-scorer.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "segmenter")
    parser.add_argument("--train-pages", type=int, default=1200, help="verifier training pages")
    parser.add_argument("--pages", type=int, default=300, help="scorer fitting pages")
    parser.add_argument("--dev-pages", type=int, default=200, help="pages to choose settings on")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=6, help="verifier training epochs")
    parser.add_argument(
        "--costs-only", action="store_true", help="choose only the costs, keep the fitted models"
    )
    args = parser.parse_args()
    config = SegmentFitConfig(args.train_pages, args.pages, args.dev_pages, args.seed, args.epochs)
    record = fit_segmenter(args.out, config, costs_only=args.costs_only)
    record["command"] = "python scripts/fit_segment_scorer.py " + " ".join(sys.argv[1:])
    for name in FILES:
        shutil.copyfile(args.out / name, PACKAGE / name)
    if args.costs_only and RESULTS.is_file():
        record = {**json.loads(RESULTS.read_text()), "costs_refit": record}
    atomic_write_json(RESULTS, record, indent=1)
    print(
        f"dev exact-string accuracy {record.get('chosen', {}).get('dev_exact', 0):.1%}; "
        f"copied {', '.join(FILES)} into {PACKAGE} and wrote {RESULTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
