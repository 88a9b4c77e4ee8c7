"""Chart base (pyqtgraph): axes, the Chart widget, pens and brushes, theme application.

Every chart builds its plot items once; updates only call
``setData``/``setOpts``/``setValue`` on them.

Each chart has labelled axes with units, a legend where it has several series, and a
readout in its top-left corner that follows the mouse (values under the cursor).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from ..theme import LIGHT, Theme

pg.setConfigOptions(antialias=False, useOpenGL=False)


# --------------------------------------------------------------------------- axes
def money_short(v: float) -> str:
    a = abs(v)
    sign = "−" if v < 0 else ""
    if a >= 1e9:
        return f"{sign}${a / 1e9:.3g}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:.3g}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.3g}k"
    if a >= 1 or a == 0:
        return f"{sign}${a:.3g}"
    return f"{sign}${a:.2g}"


class MoneyAxis(pg.AxisItem):
    """USD ticks: $96k, −$1.2M."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values, scale, spacing):
        return [money_short(v) for v in values]


class PercentAxis(pg.AxisItem):
    """Values already in percent: −30%, +50%."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values, scale, spacing):
        digits = 0 if spacing >= 1 else 1
        return [(f"{v:+.{digits}f}%" if v else "0%").replace("-", "−") for v in values]


class PlainAxis(pg.AxisItem):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.enableAutoSIPrefix(False)


# --------------------------------------------------------------------------- base
class Chart(pg.PlotWidget):
    """A PlotWidget with a title, labelled axes, a hover readout and theme support."""

    def __init__(self, title: str, x_label: str, y_label: str, *, x_axis: pg.AxisItem | None = None,
                 y_axis: pg.AxisItem | None = None, legend: bool = False, tooltip: str = "",
                 legend_offset=(-8, 8), parent=None):
        axes = {"bottom": x_axis or PlainAxis("bottom"), "left": y_axis or PlainAxis("left")}
        super().__init__(parent=parent, axisItems=axes)
        self.theme: Theme = LIGHT
        self._title = title
        self.plotItem.setTitle(title)
        self.plotItem.setLabel("bottom", x_label)
        self.plotItem.setLabel("left", y_label)
        self.grid = (True, True)
        self.plotItem.showGrid(x=True, y=True, alpha=0.18)
        # An axis draws its grid lines across the whole plot; cached as a pixmap it is
        # re-rendered only when its range changes (a slider frame: ~18 ms -> ~2 ms).
        from PySide6.QtWidgets import QGraphicsItem
        # Minor grid lines double the cost of drawing an axis: major ones only.
        for name in ("left", "bottom"):
            ax = self.plotItem.getAxis(name)
            ax.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            ax.setStyle(maxTickLevel=0)
        self._sticky = {}
        self.plotItem.hideButtons()
        self._menu = None
        self.plotItem.vb.raiseContextMenu = self._context_menu
        self.setMinimumSize(260, 180)
        if tooltip:
            self.setToolTip(tooltip)
        self.legend = (self.plotItem.addLegend(offset=legend_offset, labelTextSize="8pt")
                       if legend else None)
        self._readout = pg.TextItem(anchor=(0, 0))
        self._readout.setParentItem(self.plotItem.vb)
        self._readout.setPos(6, 2)
        self._readout.setZValue(1000)
        self._message = pg.TextItem(anchor=(0.5, 0.5))
        self._message.setParentItem(self.plotItem.vb)
        self._message.setZValue(1001)
        self._hover = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen((128, 128, 128, 110), style=Qt.PenStyle.DashLine))
        self._hover.setVisible(False)
        self.plotItem.addItem(self._hover, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._on_mouse)
        self.plotItem.vb.sigResized.connect(self._place_message)

    # ---- context menu (replaces pyqtgraph's)
    def _context_menu(self, ev) -> None:
        from PySide6.QtWidgets import QMenu
        if self._menu is None:
            self._menu = QMenu(self)
            self._menu.addAction("Save chart as PNG…", self.save_png_dialog)
            self._menu.addAction("Reset view", self.reset_view)
        self._menu.popup(ev.screenPos().toPoint())

    def save_png_dialog(self) -> None:
        from ..export import save_chart_png_dialog
        save_chart_png_dialog(self)

    # ---- ranges
    def sticky_range(self, axis: str, lo: float, hi: float, margin: float = 0.08) -> None:
        """Set the x or y range to hold [lo, hi], but leave it alone while the data stay inside
        and use at least half of it: a streaming update then does not re-render the axis."""
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return
        span = (hi - lo) or (abs(hi) or 1.0)
        cur = self._sticky.get(axis)
        if cur is not None and cur[0] <= lo and hi <= cur[1] and (hi - lo) >= 0.5 * (cur[1] - cur[0]):
            return
        new = (lo - margin * span, hi + margin * span)
        self._sticky[axis] = new
        vb = self.plotItem.vb
        vb.enableAutoRange(axis=axis, enable=False)
        (self.plotItem.setXRange if axis == "x" else self.plotItem.setYRange)(*new, padding=0)

    def reset_view(self) -> None:
        self._sticky.clear()
        self.plotItem.enableAutoRange()

    # ---- readout
    def readout(self, x: float, y: float) -> str | None:
        """Text for the readout at view coordinates (x, y); None hides it."""
        return None

    def _on_mouse(self, pos: QPointF) -> None:
        vb = self.plotItem.vb
        if not vb.sceneBoundingRect().contains(pos):
            self._readout.setText("")
            self._hover.setVisible(False)
            return
        pt = vb.mapSceneToView(pos)
        text = self.readout(pt.x(), pt.y())
        self._readout.setText(text or "")
        self._hover.setVisible(bool(text) and self.hover_line())
        self._hover.setValue(pt.x())

    def hover_line(self) -> bool:
        return True

    # ---- placeholder message
    def show_message(self, text: str) -> None:
        self._message.setText(text)
        self._message.setVisible(bool(text))
        self._place_message()

    def _place_message(self, *_):
        r = self.plotItem.vb.boundingRect()
        self._message.setPos(r.width() / 2, r.height() / 2)

    # ---- theme
    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.plot_bg)
        fg = QColor(theme.plot_fg)
        for name in ("left", "bottom"):
            ax = self.plotItem.getAxis(name)
            ax.setPen(pg.mkPen(fg))
            ax.setTextPen(pg.mkPen(fg))
            ax.label.setDefaultTextColor(fg)
        self.plotItem.showGrid(x=self.grid[0], y=self.grid[1], alpha=theme.grid_alpha)
        self.plotItem.setTitle(self._title, color=theme.plot_fg, size="10pt")
        self._readout.setColor(fg)
        self._message.setColor(QColor(theme.muted))
        if self.legend is not None:
            self.legend.setLabelTextColor(fg)
            self.legend.setBrush(pg.mkBrush(QColor(theme.plot_bg).lighter(105) if theme.dark
                                            else QColor(255, 255, 255, 200)))
        self.restyle()

    def restyle(self) -> None:
        """Recolour the chart's own items for ``self.theme``."""


def make_pen(color, width=2.0, style=Qt.PenStyle.SolidLine, alpha=255):
    c = QColor(color)
    c.setAlpha(alpha)
    p = pg.mkPen(c, width=width)
    p.setStyle(style)
    return p


def make_brush(color, alpha=255):
    c = QColor(color)
    c.setAlpha(alpha)
    return pg.mkBrush(c)


def apply_theme_all(widget, theme: Theme) -> None:
    """Apply ``theme`` to every Chart under ``widget``."""
    for chart in widget.findChildren(Chart):
        chart.apply_theme(theme)
