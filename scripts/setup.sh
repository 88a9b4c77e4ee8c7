#!/usr/bin/env bash
# Set up everything CrashLab needs on a Debian/Ubuntu machine (idempotent, fast when done):
#   - the system libraries Qt needs (offscreen and X11), Xvfb for screenshots, binutils for PyInstaller
#   - a Python 3.11+ virtual environment in .venv with the pinned requirements
#   - with --packaging also the checkers of the Linux desktop files and the .deb (CI, build.sh)
# Usage: bash scripts/setup.sh [--packaging]   (called by scripts/run-app.sh and scripts/run-tests.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGING=0
[ "${1:-}" = "--packaging" ] && PACKAGING=1

APT_PACKAGES=(
  # Qt offscreen platform (tests, --selftest): see PLATFORM.md §1
  libgl1 libegl1 libglib2.0-0 libxkbcommon0 libfontconfig1 libdbus-1-3
  # Qt xcb platform (a real window) and a virtual X server for screenshots
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
  libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 xvfb xauth
  # PyInstaller needs objdump
  binutils
)
if [ "$PACKAGING" = 1 ]; then
  APT_PACKAGES+=(
    # desktop-file-validate, appstreamcli validate, update-mime-database (tests of
    # resources/linux/ and the .deb's files); dpkg-deb itself comes with dpkg
    desktop-file-utils appstream shared-mime-info
  )
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "setup: please install these packages as root: ${missing[*]}" >&2; exit 1; fi
  fi
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python 3.11 or newer
PY=""
for cand in python3.11 python3.12 python3.13 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    PY="$cand"; break
  fi
done
if [ -z "$PY" ]; then
  echo "setup: Python 3.11 or newer is required (apt-get install python3 python3-venv on Debian 12)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if command -v apt-get >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get install -y -qq python3-venv >/dev/null
    fi
    "$PY" -m venv .venv
  fi
fi

# (re)install the pinned requirements when requirements.txt changed
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages (requirements.txt)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$want" > "$stamp"
fi
