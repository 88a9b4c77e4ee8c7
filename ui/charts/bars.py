"""Horizontal bar chart (losses per asset or position, probabilities)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..document import fmt_money
from .base import Chart, MoneyAxis, make_brush, make_pen


def draw_hbars(bars: pg.BarGraphItem, values: np.ndarray, color_of) -> None:
    """One horizontal bar per row from 0 to its value, coloured by ``color_of(value)``."""
    bars.setOpts(x0=np.minimum(values, 0), width=np.abs(values), y=np.arange(len(values)), height=0.62,
                 brushes=[make_brush(color_of(x), 210) for x in values], pen=pg.mkPen(None))

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
        draw_hbars(self.bars, v, lambda x: t.loss if x < 0 else t.gain)

    def readout(self, x, y):
        i = int(round(y))
        if 0 <= i < len(self.labels):
            return f"{self.labels[i]}: {fmt_money(float(self.values[i]), signed=True)}"
        return None

    def hover_line(self) -> bool:
        return False

    def restyle(self):
        self.zero.setPen(make_pen(self.theme.plot_fg, 1))
        self._redraw()
