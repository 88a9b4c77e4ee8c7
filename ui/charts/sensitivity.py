"""Sensitivity chart: portfolio value against an instant BTC move, liquidations marked."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from ..document import fmt_money, fmt_pct
from .base import Chart, MoneyAxis, PercentAxis, make_brush, make_pen


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
        self.curve.setPen(make_pen(t.accent, 2.2))
        self.today_line.setPen(make_pen(t.muted, 1, Qt.PenStyle.DashLine))
        self.liq.setPen(make_pen(t.loss, 2))
        self.liq.setBrush(make_brush(t.loss))
        self.shock_line.setPen(make_pen(t.warn, 2))
        self.shock_line.setHoverPen(make_pen(t.warn, 4))
        self.shock_point.setBrush(make_brush(t.warn))
        self.shock_point.setPen(make_pen(t.plot_bg, 1))
