#!/usr/bin/env bash
# Build the one-folder desktop bundle with PyInstaller and pack it as a .tar.gz.
# Usage: bash scripts/build.sh     -> dist/CrashLab/ and dist/CrashLab-<version>-linux-<arch>.tar.gz
# macOS:   .venv/bin/pyinstaller --noconfirm --clean build.spec   (gives dist/CrashLab.app; then
#          ditto -c -k --keepParent dist/CrashLab.app CrashLab-<version>-macos.zip)
# Windows: .venv\Scripts\pyinstaller --noconfirm --clean build.spec   (gives dist\CrashLab\; then
#          powershell Compress-Archive dist\CrashLab CrashLab-<version>-windows.zip)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
start=$(date +%s)
export QT_API=pyside6 PYQTGRAPH_QT_LIB=PySide6
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN build.spec
version=$(.venv/bin/python -c 'import appinfo; print(appinfo.APP_VERSION)')
archive="dist/CrashLab-${version}-linux-$(uname -m).tar.gz"
tar -C dist -czf "$archive" CrashLab
end=$(date +%s)
echo "build: $((end - start)) s"
echo "unpacked: $(du -sh dist/CrashLab | cut -f1) ($(find dist/CrashLab -type f | wc -l) files)"
echo "archive: $archive $(du -h "$archive" | cut -f1)"
