"""Liquidation ladder: each position's liquidation price as a distance from today."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from ..document import fmt_pct
from .base import Chart, PercentAxis, make_brush, make_pen


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
        brushes = [make_brush(t.loss if r["id"] in self._liquidated else
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
        self.zero.setPen(make_pen(t.plot_fg, 1))
        self.marks.setBrush(make_brush(t.warn))
        self.marks.setPen(make_pen(t.plot_fg, 1))
        self._redraw()
