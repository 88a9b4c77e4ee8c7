"""Draw the CrashLab icon (falling candles and a crash arrow on a dark rounded square) and
write every icon file the packages need. Run once after changing the drawing; the output
is committed:

- resources/icons/app.png (256 px, the window icon) and app_512.png;
- resources/icons/hicolor/<N>x<N>/apps/org.crashlab.CrashLab.png for N in 16..512 and
  hicolor/scalable/apps/org.crashlab.CrashLab.svg (Linux desktops, the .deb);
- resources/icons/app.ico with 16, 20, 24, 32, 40, 48, 64, 128 and 256 px (Windows: the
  executable and the installer), PNG-compressed entries;
- resources/icons/app.icns with 16 to 1024 px (macOS bundle), PNG entries.

Small sizes (up to 32 px) use a simplified drawing (three thick candles, a bolder arrow)
so the icon stays readable in a menu or a taskbar.

Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_icons.py
"""
import os
import struct
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QPointF, QRectF, QSize, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "icons"
APP_ID = "org.crashlab.CrashLab"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 128, 256)
# ICNS entry types with PNG data: (type, pixel size)
ICNS_ENTRIES = (("icp4", 16), ("icp5", 32), ("icp6", 64), ("ic07", 128), ("ic08", 256), ("ic09", 512),
                ("ic10", 1024), ("ic11", 32), ("ic12", 64), ("ic13", 256), ("ic14", 512))

BG = "#151a2d"
RED = "#ef4444"
GREEN = "#22c55e"
GOLD = "#fbbf24"


def paint(p: QPainter, size: float) -> None:
    """Draw the icon into a ``size`` x ``size`` square (a 256-unit design scaled)."""
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256.0
    small = size <= 32
    bg = QPainterPath()
    margin = 4 if small else 8
    bg.addRoundedRect(QRectF(margin * s, margin * s, (256 - 2 * margin) * s, (256 - 2 * margin) * s),
                      40 * s, 40 * s)
    p.fillPath(bg, QColor(BG))
    if small:    # three thick candles falling, wicks dropped
        candles = [(58, 50, 120, True), (128, 80, 170, False), (198, 130, 215, True)]
        body, wick = 44, 0
    else:
        candles = [(40, 60, 110, True), (82, 80, 140, True), (124, 70, 130, False), (166, 120, 190, True),
                   (208, 150, 215, True)]
        body, wick = 26, 14
    for x, top, bottom, red in candles:
        color = QColor(RED if red else GREEN)
        if wick:
            p.setPen(QPen(color, 5 * s))
            p.drawLine(QPointF(x * s, (top - wick) * s), QPointF(x * s, (bottom + wick) * s))
        p.fillRect(QRectF((x - body / 2) * s, top * s, body * s, (bottom - top) * s), color)
    pen = QPen(QColor(GOLD), (26 if small else 14) * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
               Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    path = QPainterPath(QPointF(30 * s, 48 * s))
    path.lineTo(120 * s, 120 * s)
    path.lineTo(150 * s, 98 * s)
    path.lineTo(206 * s, 184 * s)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)
    head = QPainterPath(QPointF(230 * s, 222 * s))
    head.lineTo(178 * s, 204 * s)
    head.lineTo(222 * s, 170 * s)
    head.closeSubpath()
    p.setPen(Qt.PenStyle.NoPen)
    p.fillPath(head, QColor(GOLD))


def draw(size: int) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    paint(p, size)
    p.end()
    return img


def png_bytes(img: QImage) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "icon.png"
        img.save(str(path), "PNG")
        return path.read_bytes()


def ico_bytes(sizes=ICO_SIZES) -> bytes:
    """A Windows .ico holding every size, each entry a PNG (Windows Vista and later)."""
    images = [png_bytes(draw(n)) for n in sizes]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for n, data in zip(sizes, images):
        out += struct.pack("<BBBBHHII", n % 256, n % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(images)


def icns_bytes(entries=ICNS_ENTRIES) -> bytes:
    """A macOS .icns with PNG entries (types from 'icp4' 16 px to 'ic10' 1024 px)."""
    cache: dict[int, bytes] = {}
    body = b""
    for kind, n in entries:
        data = cache.setdefault(n, png_bytes(draw(n)))
        body += kind.encode("ascii") + struct.pack(">I", 8 + len(data)) + data
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_svg(path: Path) -> None:
    from PySide6.QtSvg import QSvgGenerator
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QSize(256, 256))
    gen.setViewBox(QRectF(0, 0, 256, 256))
    gen.setTitle("CrashLab")
    gen.setDescription("CrashLab application icon")
    p = QPainter(gen)
    paint(p, 256)
    p.end()


def main() -> int:
    app = QGuiApplication(sys.argv)  # noqa: F841
    OUT.mkdir(parents=True, exist_ok=True)
    draw(256).save(str(OUT / "app.png"))
    draw(512).save(str(OUT / "app_512.png"))
    for n in HICOLOR_SIZES:
        folder = OUT / "hicolor" / f"{n}x{n}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        draw(n).save(str(folder / f"{APP_ID}.png"))
    scalable = OUT / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    write_svg(scalable / f"{APP_ID}.svg")
    (OUT / "app.ico").write_bytes(ico_bytes())
    (OUT / "app.icns").write_bytes(icns_bytes())
    print(f"icons written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
