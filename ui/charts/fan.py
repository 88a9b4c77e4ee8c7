"""Monte Carlo fan chart: quantile bands of portfolio value over the horizon."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from .base import Chart, MoneyAxis, make_brush, make_pen, money_short


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
            fill.setBrush(make_brush(col, 170))
            sw.setOpts(brush=make_brush(col, 200), pen=pg.mkPen(None))
        self.median.setPen(make_pen(t.accent, 2.5))
        self.samples.setPen(make_pen(t.plot_fg, 1, alpha=22))
        self.today_line.setPen(make_pen(t.muted, 1, Qt.PenStyle.DashLine))
