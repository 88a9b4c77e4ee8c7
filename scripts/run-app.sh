#!/usr/bin/env bash
# Set up (first run only) and open CrashLab on the bundled demo portfolio (or on FILE).
# Usage: bash scripts/run-app.sh [FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "No display found: starting CrashLab on a virtual screen (xvfb-run). Set DISPLAY to see the window." >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python main.py "$@"
fi
exec .venv/bin/python main.py "$@"
