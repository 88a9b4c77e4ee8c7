"""Monte Carlo loss histogram with VaR lines."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from .base import Chart, MoneyAxis, make_brush, make_pen, money_short


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
        self.hist.setPen(make_pen(t.accent, 1.5))
        self.hist.setBrush(make_brush(t.accent, 90))
        for key, line in self.var_lines.items():
            col = t.warn if key == "0.95" else t.loss
            line.setPen(make_pen(col, 1.5, Qt.PenStyle.DashLine))
            line.label.setColor(QColor(col))
