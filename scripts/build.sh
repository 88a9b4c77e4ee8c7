#!/usr/bin/env bash
# Build the one-folder desktop bundle with PyInstaller, pack it as a .tar.gz and as a .deb.
# Usage: bash scripts/build.sh
#   -> dist/CrashLab/                                  the bundle (run dist/CrashLab/CrashLab)
#      dist/CrashLab-<version>-linux-<arch>.tar.gz     the bundle, packed
#      dist/crashlab_<version>_<debarch>.deb           installs the bundle in /opt/crashlab with
#                                                      /usr/bin/crashlab, the menu entry, icons
#                                                      and the portfolio MIME type (dpkg -i)
# Windows and macOS are built on their own runners (.github/workflows/release.yml):
#   Windows: pyinstaller --noconfirm --clean build.spec, then iscc packaging\windows\crashlab.iss
#   macOS:   pyinstaller --noconfirm --clean build.spec, then bash packaging/macos/make_dmg.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --packaging
start=$(date +%s)
export QT_API=pyside6 PYQTGRAPH_QT_LIB=PySide6
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN build.spec
version=$(.venv/bin/python -c 'import appinfo; print(appinfo.APP_VERSION)')
app_id=$(.venv/bin/python -c 'import appinfo; print(appinfo.APP_ID)')
archive="dist/CrashLab-${version}-linux-$(uname -m).tar.gz"
tar -C dist -czf "$archive" CrashLab
built=$(date +%s)

# ---- the .deb (dpkg-deb only: no debhelper, no lintian)
debarch=$(dpkg --print-architecture)
root="build/deb/crashlab_${version}_${debarch}"
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
         "$root/usr/share/metainfo" "$root/usr/share/mime/packages" "$root/usr/share/icons"
cp -a dist/CrashLab "$root/opt/crashlab"
ln -s /opt/crashlab/CrashLab "$root/usr/bin/crashlab"
install -m 644 "resources/linux/${app_id}.desktop" "$root/usr/share/applications/"
install -m 644 "resources/linux/${app_id}.metainfo.xml" "$root/usr/share/metainfo/"
install -m 644 "resources/linux/${app_id}.xml" "$root/usr/share/mime/packages/"
cp -r resources/icons/hicolor "$root/usr/share/icons/"
chmod -R u=rwX,go=rX "$root"
installed_kb=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: crashlab
Version: ${version}
Section: misc
Priority: optional
Architecture: ${debarch}
Maintainer: CrashLab <support@crashlab.org>
Installed-Size: ${installed_kb}
Depends: libgl1, libegl1, libxcb1, fontconfig-config
Homepage: https://crashlab.org
Description: see what the next crypto crash does to your holdings
 CrashLab computes the liquidation price of every position (spot coins,
 isolated and cross perpetual futures, lending loans), replays historical
 crashes, instant shocks and Monte Carlo paths across the book, and charts the
 loss per asset and for the whole portfolio. Offline: holdings never leave the
 computer. Also a command line: crashlab stress|montecarlo|report ...
CONTROL
# the menu, icon and MIME caches are refreshed by dpkg triggers of desktop-file-utils,
# shared-mime-info and hicolor-icon-theme when installed: no maintainer scripts needed
deb="dist/crashlab_${version}_${debarch}.deb"
dpkg-deb --root-owner-group -Zzstd -z10 --build "$root" "$deb" >/dev/null
end=$(date +%s)
echo "build: $((built - start)) s bundle + $((end - built)) s packages"
echo "unpacked: $(du -sh dist/CrashLab | cut -f1) ($(find dist/CrashLab -type f | wc -l) files)"
echo "archive: $archive $(du -h "$archive" | cut -f1)"
echo "deb: $deb $(du -h "$deb" | cut -f1), installed size ${installed_kb} KB"
