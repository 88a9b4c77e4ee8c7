"""The files that make CrashLab a desktop citizen: the .desktop entry and AppStream metainfo
(validated by desktop-file-validate and appstreamcli when installed: `bash scripts/setup.sh
--packaging`), the portfolio MIME type, hicolor icons 16-512 px, the multi-size Windows .ico
and macOS .icns, the Windows version resource, the installer recipes. No Qt needed."""
from __future__ import annotations

import configparser
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from appinfo import APP_ID, APP_NAME, APP_VERSION

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "resources" / "linux"
ICONS = ROOT / "resources" / "icons"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
MIME = LINUX / f"{APP_ID}.xml"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def desktop_entry() -> dict:
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(DESKTOP, encoding="utf-8")
    return dict(cp["Desktop Entry"])


# --------------------------------------------------------------------------- validators
@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate not installed (apt desktop-file-utils; "
                           "bash scripts/setup.sh --packaging)")
def test_desktop_file_validates():
    r = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None,
                    reason="appstreamcli not installed (apt appstream; bash scripts/setup.sh --packaging)")
def test_metainfo_validates():
    r = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not re.search(r"^[EW]: ", r.stdout, re.M), r.stdout       # no error, no warning


# --------------------------------------------------------------------------- consistency
def test_desktop_entry_matches_the_app():
    e = desktop_entry()
    assert e["Name"] == APP_NAME and e["Icon"] == APP_ID and e["Type"] == "Application"
    assert e["Exec"].split()[0] == "crashlab" and "%f" in e["Exec"]       # /usr/bin/crashlab FILE
    mime = ET.parse(MIME).getroot().find(f"{MIME_NS}mime-type").get("type")
    assert e["MimeType"].rstrip(";").split(";") == [mime]


def test_metainfo_matches_the_app():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID and root.findtext("name") == APP_NAME
    assert root.find("launchable").text == DESKTOP.name
    versions = [r.get("version") for r in root.find("releases")]
    assert versions[0] == APP_VERSION, "add a <release> for the version in appinfo.py"
    mime = ET.parse(MIME).getroot().find(f"{MIME_NS}mime-type").get("type")
    assert root.find("provides").findtext("mediatype") == mime


def test_mime_magic_matches_a_saved_portfolio(tmp_path):
    from engine import load_portfolio, save_portfolio
    t = ET.parse(MIME).getroot().find(f"{MIME_NS}mime-type")
    assert t.find(f"{MIME_NS}sub-class-of").get("type") == "application/json"
    match = t.find(f"{MIME_NS}magic").find(f"{MIME_NS}match")
    lo, hi = (int(x) for x in match.get("offset").split(":"))
    path = tmp_path / "book.json"
    save_portfolio(load_portfolio(ROOT / "resources" / "demo_portfolio.json"), path)
    head = path.read_bytes()[: hi + len(match.get("value"))]
    assert match.get("value").encode() in head[lo:]


@pytest.mark.skipif(shutil.which("update-mime-database") is None,
                    reason="update-mime-database not installed (apt shared-mime-info)")
def test_mime_type_recognised_by_content(tmp_path):
    """With the MIME database compiled, a portfolio's content says it is a CrashLab portfolio
    and other JSON's does not (Qt's QMimeDatabase on the compiled database, in a subprocess;
    GIO, used by GNOME's file manager, gives the same answer for the file itself)."""
    share = tmp_path / "share"
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copy(MIME, share / "mime" / "packages")
    system = Path("/usr/share/mime/packages/freedesktop.org.xml")
    if system.exists():
        shutil.copy(system, share / "mime" / "packages")
    subprocess.run(["update-mime-database", str(share / "mime")], check=True, capture_output=True)
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    code = ("import sys; from PySide6.QtCore import QCoreApplication, QMimeDatabase; "
            "app = QCoreApplication([]); db = QMimeDatabase(); "
            "print(db.mimeTypeForData(open(sys.argv[1], 'rb').read()).name()); "
            "print(db.mimeTypeForData(open(sys.argv[2], 'rb').read()).name())")
    env = {**os.environ, "XDG_DATA_DIRS": str(share), "XDG_DATA_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-c", code, str(ROOT / "resources" / "demo_portfolio.json"), str(other)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    portfolio, other_type = r.stdout.split()
    assert portfolio == "application/x-crashlab-portfolio" and other_type != portfolio


# --------------------------------------------------------------------------- icons
@pytest.mark.parametrize("n", [16, 22, 24, 32, 48, 64, 128, 256, 512])
def test_hicolor_icon(n):
    assert png_size(ICONS / "hicolor" / f"{n}x{n}" / "apps" / f"{APP_ID}.png") == (n, n)


def test_scalable_icon_is_svg():
    root = ET.parse(ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"


def test_windows_ico_holds_every_size():
    data = (ICONS / "app.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _, _, planes, bpp, size, offset = struct.unpack("<BBBBHHII", data[6 + 16 * i: 22 + 16 * i])
        n = w or 256
        assert (w, h) == (n % 256, n % 256) and bpp == 32 and offset + size <= len(data)
        assert png_size_bytes(data[offset: offset + size]) == (n, n)
        sizes.append(n)
    assert sizes == [16, 20, 24, 32, 40, 48, 64, 128, 256]


def png_size_bytes(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_macos_icns_holds_16_to_1024():
    data = (ICONS / "app.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    pos, sizes = 8, set()
    while pos < len(data):
        kind, length = data[pos: pos + 4].decode(), struct.unpack(">I", data[pos + 4: pos + 8])[0]
        sizes.add(png_size_bytes(data[pos + 8: pos + length])[0])
        pos += length
    assert pos == len(data) and sizes == {16, 32, 64, 128, 256, 512, 1024}


# --------------------------------------------------------------------------- packaging recipes
def test_windows_version_resource_from_appinfo():
    sys.path.insert(0, str(ROOT / "packaging" / "windows"))
    try:
        from version_info import version_file_text, version_tuple
    finally:
        sys.path.remove(str(ROOT / "packaging" / "windows"))
    assert version_tuple("1.2.3") == (1, 2, 3, 0)
    text = version_file_text()
    compile(text, "version_info.txt", "eval")                  # PyInstaller evaluates it
    assert f"StringStruct('ProductVersion', '{APP_VERSION}')" in text
    assert f"filevers={version_tuple(APP_VERSION)}" in text
    spec = (ROOT / "build.spec").read_text()
    assert "version=VERSION_FILE" in spec and "bundle_identifier=APP_ID" in spec


def test_installer_recipes_name_the_bundle():
    iss = (ROOT / "packaging" / "windows" / "crashlab.iss").read_text()
    assert r"dist\CrashLab\*" in iss and "app.ico" in iss and "OpenWithProgids" in iss
    dmg = (ROOT / "packaging" / "macos" / "make_dmg.sh").read_text()
    assert "dist/CrashLab.app" in dmg and "hdiutil create" in dmg
    wf = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "crashlab.iss" in wf and "make_dmg.sh" in wf and "bash .ci/run" in wf
    build = (ROOT / "scripts" / "build.sh").read_text()
    assert "dpkg-deb" in build and "/opt/crashlab" in build and "usr/bin/crashlab" in build
