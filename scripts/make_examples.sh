#!/usr/bin/env bash
# Rebuild the example images committed under examples/ (deterministic: fixed seeds, MNIST test
# digits). examples/numbers: scans of handwritten numbers for `digitrec read`; examples/digits:
# single handwritten digits, scanned the same way, for `digitrec predict`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf examples/numbers examples/digits
.venv/bin/digitrec data synth-numbers --count 8 --seed 2026 --min-digits 3 --max-digits 10 \
  --out examples/numbers
.venv/bin/digitrec data synth-numbers --count 8 --seed 7 --min-digits 1 --max-digits 1 \
  --min-height 40 --max-height 200 --out examples/digits
