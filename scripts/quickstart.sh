#!/usr/bin/env bash
# Set-up command 1: install everything into ./.venv, then run the main job on built-in defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/digitrec data fetch mnist
.venv/bin/digitrec data info mnist
