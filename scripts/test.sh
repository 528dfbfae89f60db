#!/usr/bin/env bash
# Set-up command 2: install everything into ./.venv, then lint, type-check and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "== ruff check" && .venv/bin/ruff check .
echo "== ruff format --check" && .venv/bin/ruff format --check .
echo "== mypy src" && .venv/bin/mypy src
echo "== pytest" && .venv/bin/pytest "$@"
