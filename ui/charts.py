"""Live charts (pyqtgraph). Every chart builds its plot items once; updates only call
``setData``/``setOpts``/``setValue`` on them.

Each chart has labelled axes with units, a legend where it has several series, and a
readout in its top-left corner that follows the mouse (values under the cursor).
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPen

from .document import fmt_money, fmt_pct
from .theme import LIGHT, Theme

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
        from PySide6.QtWidgets import QFileDialog
        from .export import write_png
        name = self._title.split(":")[0].strip().lower().replace(" ", "-") or "chart"
        path, _ = QFileDialog.getSaveFileName(self, "Save chart as PNG", f"{name}.png", "PNG image (*.png)")
        if path:
            write_png(path, self)

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

    def readout_text(self) -> str:
        return self._readout.toPlainText()

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


def _pen(color, width=2.0, style=Qt.PenStyle.SolidLine, alpha=255):
    c = QColor(color)
    c.setAlpha(alpha)
    p = pg.mkPen(c, width=width)
    p.setStyle(style)
    return p


def _brush(color, alpha=255):
    c = QColor(color)
    c.setAlpha(alpha)
    return pg.mkBrush(c)


# --------------------------------------------------------------------------- sensitivity
class SensitivityChart(Chart):
    """Portfolio value after an instant BTC move (other assets through their betas).

    Each liquidation shows as a kink in the curve and a marker; the current shock is the
    vertical line, which can be dragged (``shock_dragged`` signal, move as a fraction).
    """

    shock_dragged = Signal(float)

    def __init__(self, parent=None):
        super().__init__("Sensitivity: portfolio value vs BTC move", "BTC move (%)",
                         "Portfolio value (USD)", x_axis=PercentAxis("bottom"),
                         y_axis=MoneyAxis("left"), legend=True, legend_offset=(-8, -8), parent=parent,
                         tooltip="Value of the whole portfolio right after an instant BTC move, "
                                 "other assets moved by their beta to BTC. Kinks and markers are "
                                 "liquidations. Drag the vertical line to set the shock.")
        self.curve = self.plot([], [], name="value after the move")
        self.today_line = pg.InfiniteLine(angle=0, movable=False)
        self.plotItem.addItem(self.today_line, ignoreBounds=True)
        self.liq = pg.ScatterPlotItem(size=11, symbol="x", hoverable=True, tip=self._tip)
        self.plotItem.addItem(self.liq)
        if self.legend is not None:
            self.legend.addItem(self.liq, "liquidation")
        self.shock_line = pg.InfiniteLine(angle=90, movable=True, bounds=(-90, 100))
        self.shock_line.setToolTip("Current shock: drag to move")
        self.plotItem.addItem(self.shock_line, ignoreBounds=True)
        self.shock_point = pg.ScatterPlotItem(size=10, symbol="o")
        self.plotItem.addItem(self.shock_point)
        self.shock_line.sigDragged.connect(lambda line: self.shock_dragged.emit(line.value() / 100.0))
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._v0 = 0.0
        self.plotItem.setXRange(-90, 100, padding=0.02)

    @staticmethod
    def _tip(x, y, data):
        return f"{data}\nliquidated at BTC {x:+.1f}%\nportfolio {fmt_money(y)}"

    def set_data(self, grid: np.ndarray, values: np.ndarray, value_today: float,
                 marks: list[tuple[str, float, float]]) -> None:
        self._x = np.asarray(grid, float) * 100.0
        self._y = np.asarray(values, float)
        self._v0 = float(value_today)
        self.curve.setData(self._x, self._y)
        self.today_line.setValue(value_today)
        self.liq.setData([{"pos": (m * 100.0, v), "data": pid} for pid, m, v in marks])
        self.show_message("" if len(self._x) else "No valid positions")

    def set_shock(self, move: float, value_after: float | None) -> None:
        self.shock_line.blockSignals(True)
        self.shock_line.setValue(move * 100.0)
        self.shock_line.blockSignals(False)
        if value_after is None:
            self.shock_point.setData([], [])
        else:
            self.shock_point.setData([move * 100.0], [value_after])

    def readout(self, x, y):
        if not len(self._x):
            return None
        k = int(np.clip(np.searchsorted(self._x, x), 0, len(self._x) - 1))
        v = self._y[k]
        rel = (v / self._v0 - 1.0) if self._v0 else float("nan")
        return f"BTC {self._x[k]:+.1f}% → portfolio {fmt_money(v)} ({fmt_pct(rel)})"

    def restyle(self):
        t = self.theme
        self.curve.setPen(_pen(t.accent, 2.2))
        self.today_line.setPen(_pen(t.muted, 1, Qt.PenStyle.DashLine))
        self.liq.setPen(_pen(t.loss, 2))
        self.liq.setBrush(_brush(t.loss))
        self.shock_line.setPen(_pen(t.warn, 2))
        self.shock_line.setHoverPen(_pen(t.warn, 4))
        self.shock_point.setBrush(_brush(t.warn))
        self.shock_point.setPen(_pen(t.plot_bg, 1))


# --------------------------------------------------------------------------- ladder
class LadderChart(Chart):
    """Each position's liquidation price as a move of its asset from today (horizontal bars),
    nearest first; markers show the asset's move under the current shock. A marker past
    its bar's end means that position is liquidated by the shock."""

    MAX_ROWS = 40

    def __init__(self, parent=None, title="Liquidation ladder (◆ = asset move under the shock)"):
        super().__init__(title, "Move of the asset to liquidation (%)", "",
                         x_axis=PercentAxis("bottom"), parent=parent,
                         tooltip="Bar: how far the position's asset must move from today's price "
                                 "to liquidate it (other prices held). Diamond: the asset's move "
                                 "under the current BTC shock.")
        self.grid = (True, False)
        self.plotItem.showGrid(x=True, y=False)
        self.bars = pg.BarGraphItem(x0=[], width=[], y=[], height=0.62)
        self.plotItem.addItem(self.bars)
        self.marks = pg.ScatterPlotItem(size=10, symbol="d", hoverable=True, tip=self._tip)
        self.plotItem.addItem(self.marks)
        self.zero = pg.InfiniteLine(angle=90, pos=0, movable=False)
        self.plotItem.addItem(self.zero, ignoreBounds=True)
        self.plotItem.invertY(True)
        self.rows: list[dict] = []
        self._liquidated: set[str] = set()
        self._moves: dict[str, float] = {}
        self.plotItem.getAxis("left").setStyle(tickTextWidth=110, autoExpandTextSpace=True)

    @staticmethod
    def _tip(x, y, data):
        return f"{data}: asset move {x:+.1f}%"

    def set_rows(self, rows: list[dict]) -> None:
        """rows: dicts with id, asset, distance (fraction), kind; None distances are skipped."""
        rows = [r for r in rows if r.get("distance") is not None and math.isfinite(r["distance"])]
        rows.sort(key=lambda r: abs(r["distance"]))
        self.total_rows = len(rows)
        self.rows = rows[: self.MAX_ROWS]
        ticks = [(i, f"{r['id']} ({r['asset']})") for i, r in enumerate(self.rows)]
        self.plotItem.getAxis("left").setTicks([ticks, []])
        self._redraw()
        n = len(self.rows)
        self.plotItem.setYRange(-0.6, max(n, 6) - 0.4, padding=0)
        if n:
            d = np.array([r["distance"] for r in self.rows]) * 100
            lo, hi = min(d.min(), 0), max(d.max(), 0)
            span = max(hi - lo, 10)
            self.plotItem.setXRange(lo - 0.12 * span, hi + 0.12 * span, padding=0)
        extra = self.total_rows - n
        self.show_message("" if n else "No position has a liquidation price")
        self.plotItem.setTitle(self._title + (f"  (nearest {n} of {self.total_rows})" if extra > 0 else ""),
                               color=self.theme.plot_fg, size="10pt")

    def set_shock(self, moves: dict[str, float], liquidated: set[str]) -> None:
        self._moves = dict(moves)
        shown = {r["id"] for r in self.rows}
        liquidated = set(liquidated) & shown
        if liquidated != self._liquidated:          # bar colours change only on a liquidation
            self._liquidated = liquidated
            self._redraw()
        else:
            self._redraw_marks()

    def _redraw(self) -> None:
        t = self.theme
        n = len(self.rows)
        d = np.array([r["distance"] * 100 for r in self.rows]) if n else np.zeros(0)
        brushes = [_brush(t.loss if r["id"] in self._liquidated else
                          (t.warn if abs(r["distance"]) < 0.1 else t.accent), 200) for r in self.rows]
        self.bars.setOpts(x0=np.minimum(d, 0), width=np.abs(d), y=np.arange(n), height=0.62,
                          brushes=brushes, pen=pg.mkPen(None))
        self._redraw_marks()

    def _redraw_marks(self) -> None:
        xs, ys, ids = [], [], []
        for i, r in enumerate(self.rows):
            m = self._moves.get(r["asset"])
            if m is not None:
                xs.append(m * 100)
                ys.append(i)
                ids.append(r["id"])
        self.marks.setData(x=xs, y=ys, data=ids)

    def readout(self, x, y):
        i = int(round(y))
        if 0 <= i < len(self.rows):
            r = self.rows[i]
            lp = r.get("liquidation_price")
            extra = f", liq. price {lp:,.4g}" if lp else ""
            return f"{r['id']} ({r['asset']}): liquidated at {fmt_pct(r['distance'])}{extra}"
        return None

    def hover_line(self) -> bool:
        return False

    def restyle(self):
        t = self.theme
        self.zero.setPen(_pen(t.plot_fg, 1))
        self.marks.setBrush(_brush(t.warn))
        self.marks.setPen(_pen(t.plot_fg, 1))
        self._redraw()


# --------------------------------------------------------------------------- bar charts
class HBarChart(Chart):
    """Horizontal bars by category, sorted (largest loss on top), coloured by sign."""

    def __init__(self, title: str, x_label: str = "P&L (USD)", max_rows: int = 25, tooltip: str = "",
                 parent=None):
        super().__init__(title, x_label, "", x_axis=MoneyAxis("bottom"), parent=parent, tooltip=tooltip)
        self.max_rows = max_rows
        self.grid = (True, False)
        self.plotItem.showGrid(x=True, y=False)
        self.bars = pg.BarGraphItem(x0=[], width=[], y=[], height=0.62)
        self.plotItem.addItem(self.bars)
        self.zero = pg.InfiniteLine(angle=90, pos=0, movable=False)
        self.plotItem.addItem(self.zero, ignoreBounds=True)
        self.plotItem.invertY(True)
        self.labels: list[str] = []
        self.values = np.zeros(0)
        self.plotItem.getAxis("left").setStyle(tickTextWidth=90, autoExpandTextSpace=True)
        self._layout_key = None
        self._xrange = None

    def set_data(self, labels: list[str], values) -> None:
        values = np.asarray(values, float)
        order = np.argsort(values, kind="stable")
        total = len(values)
        order = order[: self.max_rows]
        self.labels = [labels[i] for i in order]
        self.values = values[order]
        self.total = total
        self._redraw()
        key = tuple(self.labels)
        if key != self._layout_key:          # relabel only when the categories change
            self._layout_key = key
            self.plotItem.getAxis("left").setTicks([[(i, l) for i, l in enumerate(self.labels)], []])
            n = len(self.labels)
            self.plotItem.setYRange(-0.6, max(n, 5) - 0.4, padding=0)
        if len(self.values):
            lo, hi = min(self.values.min(), 0), max(self.values.max(), 0)
            span = (hi - lo) or 1.0
            want = (lo - 0.08 * span, hi + 0.08 * span)
            # sticky range: grow at once, shrink only when the data use under half of it, so
            # a slider drag does not re-layout the axis on every frame
            cur = self._xrange
            if cur is None or key != getattr(self, "_range_key", None) or want[0] < cur[0] \
                    or want[1] > cur[1] or (want[1] - want[0]) < 0.5 * (cur[1] - cur[0]):
                lo2 = want[0] - 0.15 * span if want[0] < 0 else want[0]
                hi2 = want[1] + 0.15 * span if want[1] > 0 else want[1]
                self._xrange = (lo2, hi2)
                self._range_key = key
                self.plotItem.setXRange(lo2, hi2, padding=0)
        self.show_message("" if total else "No data")

    def _redraw(self):
        t = self.theme
        v = self.values
        n = len(v)
        self.bars.setOpts(x0=np.minimum(v, 0), width=np.abs(v), y=np.arange(n), height=0.62,
                          brushes=[_brush(t.loss if x < 0 else t.gain, 210) for x in v],
                          pen=pg.mkPen(None))

    def readout(self, x, y):
        i = int(round(y))
        if 0 <= i < len(self.labels):
            return f"{self.labels[i]}: {fmt_money(float(self.values[i]), signed=True)}"
        return None

    def hover_line(self) -> bool:
        return False

    def restyle(self):
        self.zero.setPen(_pen(self.theme.plot_fg, 1))
        self._redraw()


# --------------------------------------------------------------------------- replay value
class StepAxis(pg.AxisItem):
    """Step index axis labelled with the scenario's step labels (dates)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.enableAutoSIPrefix(False)
        self.step_labels: list[str] = []

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            i = int(round(v))
            if abs(v - i) < 1e-6 and 0 <= i < len(self.step_labels):
                lab = self.step_labels[i]
                out.append(lab if len(lab) <= 16 else lab[:16])
            else:
                out.append("")
        return out


class ReplayValueChart(Chart):
    """Portfolio value through a replay: the path so far (bright) over the whole path
    (faint), liquidation markers, and a draggable cursor at the current step."""

    step_dragged = Signal(int)

    def __init__(self, parent=None):
        self.step_axis = StepAxis("bottom")
        super().__init__("Portfolio value through the replay", "Time (step)", "Portfolio value (USD)",
                         x_axis=self.step_axis, y_axis=MoneyAxis("left"), legend=True, parent=parent,
                         tooltip="Portfolio value at each step's close. Crosses mark liquidations; "
                                 "drag the vertical line to scrub.")
        self.full = self.plot([], [], name="whole replay")
        self.played = self.plot([], [], name="played so far")
        self.full.setDownsampling(auto=True, method="peak")
        self.full.setClipToView(True)
        self.liq = pg.ScatterPlotItem(size=12, symbol="x", hoverable=True, tip=self._tip)
        self.plotItem.addItem(self.liq)
        if self.legend is not None:
            self.legend.addItem(self.liq, "liquidation")
        self.cursor = pg.InfiniteLine(angle=90, movable=True)
        self.cursor.setToolTip("Current step: drag to scrub")
        self.plotItem.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigDragged.connect(lambda l: self.step_dragged.emit(int(round(l.value()))))
        self.value = np.zeros(0)
        self.labels: list[str] = []
        self._events: list[tuple[int, str]] = []

    @staticmethod
    def _tip(x, y, data):
        return f"{data}\nliquidated at step {int(x)}\nportfolio {fmt_money(y)}"

    def set_data(self, labels: list[str], value: np.ndarray, events: list[tuple[int, str]]) -> None:
        self.labels = list(labels)
        self.step_axis.step_labels = self.labels
        self.value = np.asarray(value, float)
        x = np.arange(len(self.value))
        self.full.setData(x, self.value)
        spots = []
        by_step: dict[int, list[str]] = {}
        for step, pid in events:
            by_step.setdefault(step, []).append(pid)
        for step, ids in by_step.items():
            if 0 <= step < len(self.value):
                spots.append({"pos": (step, self.value[step]), "data": ", ".join(ids)})
        self.liq.setData(spots)
        self.cursor.setBounds((0, max(len(self.value) - 1, 0)))
        n = len(self.value)
        self.plotItem.setXRange(-0.05 * max(n - 1, 1), (n - 1) + 0.05 * max(n - 1, 1), padding=0)
        self._update_ticks()
        self.show_message("" if n else "Run a replay")

    def _update_ticks(self):
        n = len(self.labels)
        if not n:
            return
        k = max(1, int(math.ceil(n / 6)))
        major = [(i, self.labels[i][:16]) for i in range(0, n, k)]
        if (n - 1) % k:
            major.append((n - 1, self.labels[n - 1][:16]))
        self.step_axis.setTicks([major, []])

    def set_step(self, k: int) -> None:
        k = int(np.clip(k, 0, max(len(self.value) - 1, 0)))
        self.played.setData(np.arange(k + 1), self.value[: k + 1])
        self.cursor.blockSignals(True)
        self.cursor.setValue(k)
        self.cursor.blockSignals(False)

    def readout(self, x, y):
        if not len(self.value):
            return None
        i = int(np.clip(round(x), 0, len(self.value) - 1))
        rel = self.value[i] / self.value[0] - 1 if self.value[0] else float("nan")
        return f"{self.labels[i]}: {fmt_money(self.value[i])} ({fmt_pct(rel)})"

    def restyle(self):
        t = self.theme
        self.full.setPen(_pen(t.muted, 1.5, Qt.PenStyle.DashLine))
        self.played.setPen(_pen(t.accent, 2.5))
        self.liq.setPen(_pen(t.loss, 2.5))
        self.liq.setBrush(_brush(t.loss))
        self.cursor.setPen(_pen(t.warn, 2))
        self.cursor.setHoverPen(_pen(t.warn, 4))


# --------------------------------------------------------------------------- lines over time
class LinesChart(Chart):
    """Several named series over steps with a threshold line (health factor, margin ratio)."""

    def __init__(self, title: str, y_label: str, threshold: float, threshold_label: str,
                 clip: float, tooltip: str = "", parent=None, step_axis: bool = True):
        self.step_axis = StepAxis("bottom") if step_axis else PlainAxis("bottom")
        super().__init__(title, "Time (step)", y_label, x_axis=self.step_axis, legend=True,
                         parent=parent, tooltip=tooltip)
        self.clip = clip
        self.threshold = pg.InfiniteLine(angle=0, pos=threshold, movable=False,
                                         label=threshold_label,
                                         labelOpts={"position": 0.02, "anchors": [(0, 1), (0, 1)]})
        self.plotItem.addItem(self.threshold)
        self.curves: list[pg.PlotDataItem] = []
        self.names: list[str] = []
        self.data: list[np.ndarray] = []
        self.cursor = pg.InfiniteLine(angle=90, movable=False)
        self.plotItem.addItem(self.cursor, ignoreBounds=True)
        self.labels: list[str] = []

    def set_series(self, labels: list[str], series: dict[str, np.ndarray]) -> None:
        names = list(series)
        self.labels = list(labels)
        if isinstance(self.step_axis, StepAxis):
            self.step_axis.step_labels = self.labels
            n = len(labels)
            if n:
                k = max(1, int(math.ceil(n / 3)))
                self.step_axis.setTicks([[(i, labels[i][:16]) for i in range(0, n, k)], []])
        while len(self.curves) < len(names):       # grow the pool once, then reuse
            c = self.plot([], [], name=f"series {len(self.curves)}")
            self.curves.append(c)
        if self.legend is not None:
            self.legend.clear()
        self.data = []
        for i, c in enumerate(self.curves):
            if i < len(names):
                y = np.asarray(series[names[i]], float)
                y = np.where(y > self.clip, self.clip, y)     # inf -> cap; NaN stays a gap
                self.data.append(y)
                c.setData(np.arange(len(y)), y)
                c.setVisible(True)
                c.setPen(_pen(self.theme.color(i), 2))
                if self.legend is not None:
                    self.legend.addItem(c, names[i])
            else:
                c.setData([], [])
                c.setVisible(False)
        self.names = names
        self.show_message("" if names else "Nothing of this kind in the portfolio")

    def set_step(self, k: int) -> None:
        self.cursor.setValue(k)

    def readout(self, x, y):
        if not self.data or not self.labels:
            return None
        i = int(np.clip(round(x), 0, len(self.labels) - 1))
        parts = [(f"{n} {d[i]:.3f}" + ("+" if d[i] >= self.clip else "")) if np.isfinite(d[i]) else f"{n} —"
                 for n, d in zip(self.names, self.data) if i < len(d)]
        return f"{self.labels[i]}: " + ", ".join(parts)

    def restyle(self):
        t = self.theme
        self.threshold.setPen(_pen(t.loss, 1.5, Qt.PenStyle.DashLine))
        self.threshold.label.setColor(QColor(t.loss))
        self.cursor.setPen(_pen(t.warn, 1.5))
        for i, c in enumerate(self.curves):
            c.setPen(_pen(t.color(i), 2))


# --------------------------------------------------------------------------- Monte Carlo
class FanChart(Chart):
    """Monte Carlo percentile fan of portfolio value over the horizon, with sample paths."""

    MAX_SAMPLES = 80

    def __init__(self, parent=None):
        super().__init__("Monte Carlo: portfolio value fan", "Days ahead", "Portfolio value (USD)",
                         y_axis=MoneyAxis("left"), legend=True, parent=parent,
                         tooltip="Bands: 1–99%, 5–95% and 25–75% of simulated portfolio values at "
                                 "each day; line: median; faint lines: a sample of single paths.")
        self.samples = pg.PlotCurveItem()
        self.samples.setZValue(-20)                     # single paths behind the bands
        self.plotItem.addItem(self.samples)
        self.band_curves = []
        self.fills = []
        for _ in range(3):
            lo = pg.PlotCurveItem()
            hi = pg.PlotCurveItem()
            fill = pg.FillBetweenItem(lo, hi)
            self.plotItem.addItem(lo)
            self.plotItem.addItem(hi)
            self.plotItem.addItem(fill)
            self.band_curves.append((lo, hi))
            self.fills.append(fill)
        self.median = self.plot([], [], name="median")
        self.median.setZValue(20)
        self.today_line = pg.InfiniteLine(angle=0, movable=False)
        self.plotItem.addItem(self.today_line, ignoreBounds=True)
        # legend swatches: BarGraphItem proxies (a FillBetweenItem cannot draw a legend sample)
        self.swatches = [pg.BarGraphItem(x=[], height=[], width=1) for _ in range(3)]
        if self.legend is not None:
            for sw, name in zip(self.swatches, ("1–99%", "5–95%", "25–75%")):
                self.legend.addItem(sw, name)
        self.x = np.zeros(0)
        self.fan = np.zeros((0, 0))
        self.levels: list[float] = []
        self.show_message("Set paths and horizon, then Run (Ctrl+R)")

    def set_data(self, x: np.ndarray, levels, fan: np.ndarray, samples: np.ndarray | None,
                 value_today: float) -> None:
        self.x = np.asarray(x, float)
        self.fan = np.asarray(fan, float)
        self.levels = [float(l) for l in levels]      # fractions (0.01 ... 0.99), as the engine gives
        idx = {round(l, 4): i for i, l in enumerate(self.levels)}
        pairs = [(0.01, 0.99), (0.05, 0.95), (0.25, 0.75)]
        for (lo, hi), (c_lo, c_hi) in zip(pairs, self.band_curves):
            i, j = idx.get(lo), idx.get(hi)
            if i is None or j is None:
                c_lo.setData([], [])
                c_hi.setData([], [])
                continue
            c_lo.setData(self.x, self.fan[i])
            c_hi.setData(self.x, self.fan[j])
        m = idx.get(0.5)
        if m is not None:
            self.median.setData(self.x, self.fan[m])
        if samples is not None and len(samples):
            s = np.asarray(samples, float)[: self.MAX_SAMPLES]
            k, n = s.shape
            xs = np.tile(self.x, k)
            connect = np.ones(k * n, dtype=bool)
            connect[n - 1::n] = False
            self.samples.setData(xs, s.ravel(), connect=connect)
        else:
            self.samples.setData([], [])
        self.today_line.setValue(value_today)
        if len(self.x):
            lo_i = idx.get(0.01, 0)
            hi_i = idx.get(0.99, len(self.fan) - 1)
            self.sticky_range("x", float(self.x[0]), float(self.x[-1]), margin=0.02)
            self.sticky_range("y", min(float(self.fan[lo_i].min()), value_today),
                              max(float(self.fan[hi_i].max()), value_today))
        self.show_message("")

    def readout(self, x, y):
        if not len(self.x):
            return None
        i = int(np.clip(np.searchsorted(self.x, x), 0, len(self.x) - 1))
        parts = []
        for lvl, name in ((0.05, "p5"), (0.5, "median"), (0.95, "p95")):
            for j, l in enumerate(self.levels):
                if abs(l - lvl) < 1e-9:
                    parts.append(f"{name} {money_short(self.fan[j, i])}")
        return f"day {self.x[i]:g}: " + ", ".join(parts)

    def restyle(self):
        t = self.theme
        for (lo, hi), fill, sw, col in zip(self.band_curves, self.fills, self.swatches, t.band):
            lo.setPen(pg.mkPen(None))
            hi.setPen(pg.mkPen(None))
            fill.setBrush(_brush(col, 170))
            sw.setOpts(brush=_brush(col, 200), pen=pg.mkPen(None))
        self.median.setPen(_pen(t.accent, 2.5))
        self.samples.setPen(_pen(t.plot_fg, 1, alpha=22))
        self.today_line.setPen(_pen(t.muted, 1, Qt.PenStyle.DashLine))


class HistogramChart(Chart):
    """Distribution of the simulated P&L at the horizon, with VaR lines."""

    def __init__(self, parent=None, title="Monte Carlo: P&L at the horizon",
                 x_label="Portfolio P&L at the horizon (USD)"):
        super().__init__(title, x_label, "Share of paths (%)", x_axis=MoneyAxis("bottom"),
                         parent=parent,
                         tooltip="Histogram of the portfolio's P&L at the end of the horizon over "
                                 "all simulated paths. Dashed lines: 95% and 99% value at risk.")
        self.hist = self.plot([], [], stepMode="center", fillLevel=0, name="paths")
        self.var_lines = {}
        for key, where in (("0.95", 0.92), ("0.99", 0.62)):
            line = pg.InfiniteLine(angle=90, movable=False, label=f"VaR {float(key):.0%}",
                                   labelOpts={"position": where, "rotateAxis": (1, 0)})
            self.plotItem.addItem(line, ignoreBounds=True)
            self.var_lines[key] = line
            line.setVisible(False)
        self.edges = np.zeros(0)
        self.share = np.zeros(0)

    def set_data(self, edges, counts, var: dict | None = None) -> None:
        self.edges = np.asarray(edges, float)
        counts = np.asarray(counts, float)
        total = counts.sum()
        self.share = counts / total * 100.0 if total else counts
        self.hist.setData(self.edges, self.share)
        if len(self.share):
            self.sticky_range("x", float(self.edges[0]), float(self.edges[-1]), margin=0.02)
            self.sticky_range("y", 0.0, float(self.share.max()), margin=0.05)
        for key, line in self.var_lines.items():
            v = (var or {}).get(key)
            if v is None or not np.isfinite(v):
                line.setVisible(False)
            else:
                line.setValue(-abs(v))
                line.setVisible(True)
        self.show_message("" if len(self.share) else "Run a Monte Carlo")

    def readout(self, x, y):
        if len(self.edges) < 2:
            return None
        i = int(np.clip(np.searchsorted(self.edges, x) - 1, 0, len(self.share) - 1))
        below = self.share[: i + 1].sum()
        return (f"{money_short(self.edges[i])} … {money_short(self.edges[i + 1])}: "
                f"{self.share[i]:.2f}% of paths ({below:.1f}% at or below)")

    def restyle(self):
        t = self.theme
        self.hist.setPen(_pen(t.accent, 1.5))
        self.hist.setBrush(_brush(t.accent, 90))
        for key, line in self.var_lines.items():
            col = t.warn if key == "0.95" else t.loss
            line.setPen(_pen(col, 1.5, Qt.PenStyle.DashLine))
            line.label.setColor(QColor(col))


def apply_theme_all(widget, theme: Theme) -> None:
    """Apply ``theme`` to every Chart under ``widget``."""
    for chart in widget.findChildren(Chart):
        chart.apply_theme(theme)
