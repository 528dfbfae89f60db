#!/usr/bin/env bash
# Set-up command 2: install everything into ./.venv (and Debian's chromium for the browser
# tests), then lint, type-check and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# The web page's end-to-end tests drive Debian's Chromium through Playwright (which must never
# download a browser of its own).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "install: installing chromium (the web page's end-to-end tests)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "== ruff check" && .venv/bin/ruff check .
echo "== ruff format --check" && .venv/bin/ruff format --check .
echo "== mypy src" && .venv/bin/mypy src
echo "== pytest" && .venv/bin/pytest "$@"
