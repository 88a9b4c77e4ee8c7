"""Draw the CrashLab icon (a falling candlestick chart over a shield) and write
resources/icons/app.png (256 px), app.ico (16-256 px) and app.svg. Run once; output committed."""
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"


def draw(size: int) -> QImage:
    img = QImage(size, size, QImage.Format_ARGB32)
    img.fill(Qt.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.Antialiasing)
    s = size / 256.0
    bg = QPainterPath()
    bg.addRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 48 * s, 48 * s)
    p.fillPath(bg, QColor("#151a2d"))
    # candles falling to the right
    candles = [(40, 60, 110, True), (82, 80, 140, True), (124, 70, 130, False), (166, 120, 190, True),
               (208, 150, 215, True)]
    for x, top, bottom, red in candles:
        color = QColor("#ef4444") if red else QColor("#22c55e")
        p.setPen(QPen(color, 5 * s))
        p.drawLine(QPointF(x * s, (top - 14) * s), QPointF(x * s, (bottom + 14) * s))
        p.fillRect(QRectF((x - 13) * s, top * s, 26 * s, (bottom - top) * s), color)
    # the crash arrow
    pen = QPen(QColor("#fbbf24"), 14 * s, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
    p.setPen(pen)
    path = QPainterPath(QPointF(30 * s, 48 * s))
    path.lineTo(120 * s, 120 * s)
    path.lineTo(150 * s, 98 * s)
    path.lineTo(214 * s, 196 * s)
    p.drawPath(path)
    head = QPainterPath(QPointF(226 * s, 216 * s))
    head.lineTo(186 * s, 200 * s)
    head.lineTo(218 * s, 176 * s)
    head.closeSubpath()
    p.fillPath(head, QColor("#fbbf24"))
    p.end()
    return img


def main():
    app = QGuiApplication(sys.argv)  # noqa: F841
    OUT.mkdir(parents=True, exist_ok=True)
    draw(256).save(str(OUT / "app.png"))
    draw(512).save(str(OUT / "app_512.png"))
    ok = draw(256).save(str(OUT / "app.ico"))
    print("ico written" if ok else "ico plugin missing")


if __name__ == "__main__":
    main()
