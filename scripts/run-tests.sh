#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite headless.
# Usage: bash scripts/run-tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
exec .venv/bin/python -m pytest -q "$@"
