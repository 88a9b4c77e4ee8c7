#!/usr/bin/env bash
# The macOS disk image: dist/CrashLab.app (from `pyinstaller --noconfirm --clean build.spec`,
# whose BUNDLE section writes Info.plist from appinfo.py) on a compressed .dmg with a link
# to /Applications, so users drag the app across.
# Usage (on macOS; needs hdiutil and codesign, both part of the system):
#   bash packaging/macos/make_dmg.sh        -> dist/CrashLab-<version>-macos-<arch>.dmg
# CODESIGN_IDENTITY="Developer ID Application: ..." signs with a real identity (then notarise
# with `xcrun notarytool submit --wait` and `xcrun stapler staple`); without it the app is
# signed ad hoc, which Apple silicon requires to run at all. CI runs this on a macOS runner
# (.github/workflows/release.yml); it cannot be built on Linux.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
version=$("$PY" -c 'import appinfo; print(appinfo.APP_VERSION)')
app=dist/CrashLab.app
if [ ! -d "$app" ]; then
  echo "make_dmg: $app not found: run pyinstaller --noconfirm --clean build.spec first" >&2
  exit 1
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
ditto "$app" "$stage/CrashLab.app"
ln -s /Applications "$stage/Applications"
codesign --force --deep --timestamp=none --sign "${CODESIGN_IDENTITY:--}" "$stage/CrashLab.app"
codesign --verify --deep --strict "$stage/CrashLab.app"
out="dist/CrashLab-${version}-macos-$(uname -m).dmg"
rm -f "$out"
hdiutil create -volname "CrashLab ${version}" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$out" >/dev/null
hdiutil verify "$out" >/dev/null
echo "dmg: $out $(du -h "$out" | cut -f1)"
