"""Replay charts: portfolio value through a replay with its step cursor, and lines over time
(health factor, margin ratio)."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor

from ..document import fmt_money, fmt_pct
from .base import Chart, MoneyAxis, PlainAxis, make_brush, make_pen


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
        self.full.setPen(make_pen(t.muted, 1.5, Qt.PenStyle.DashLine))
        self.played.setPen(make_pen(t.accent, 2.5))
        self.liq.setPen(make_pen(t.loss, 2.5))
        self.liq.setBrush(make_brush(t.loss))
        self.cursor.setPen(make_pen(t.warn, 2))
        self.cursor.setHoverPen(make_pen(t.warn, 4))


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
                c.setPen(make_pen(self.theme.color(i), 2))
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
        self.threshold.setPen(make_pen(t.loss, 1.5, Qt.PenStyle.DashLine))
        self.threshold.label.setColor(QColor(t.loss))
        self.cursor.setPen(make_pen(t.warn, 1.5))
        for i, c in enumerate(self.curves):
            c.setPen(make_pen(t.color(i), 2))
