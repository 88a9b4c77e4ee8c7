"""Reverse stress view: the BTC move (other assets through their betas) that liquidates
each position, and the moves that cost the portfolio each loss level (editable: 10 %, 25 %
and 50 % by default; the survival planner can target them)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSplitter, QVBoxLayout, QWidget

from engine import InputError
from engine.stress import DEFAULT_LOSSES, loss_levels

from ..charts import Chart, PercentAxis, draw_hbars
from ..document import fmt_money, fmt_pct, fmt_price
from ..widgets import RecordsModel, hint, make_table, section


class MoveBarsChart(Chart):
    """BTC move that liquidates each position (horizontal bars, nearest first)."""

    def __init__(self, parent=None):
        super().__init__("BTC move that liquidates each position", "BTC move (%)", "",
                         x_axis=PercentAxis("bottom"), parent=parent,
                         tooltip="For each position, the smallest BTC move (others through their "
                                 "betas) at which it is liquidated.")
        self.grid = (True, False)
        self.plotItem.showGrid(x=True, y=False)
        self.bars = pg.BarGraphItem(x0=[], width=[], y=[], height=0.62)
        self.plotItem.addItem(self.bars)
        self.plotItem.invertY(True)
        self.zero = pg.InfiniteLine(angle=90, pos=0, movable=False)
        self.plotItem.addItem(self.zero, ignoreBounds=True)
        self.labels: list[str] = []
        self.values = np.zeros(0)
        self.plotItem.getAxis("left").setStyle(tickTextWidth=110, autoExpandTextSpace=True)

    def set_data(self, labels, moves) -> None:
        pairs = sorted(((l, m) for l, m in zip(labels, moves) if m is not None), key=lambda p: abs(p[1]))[:40]
        self.labels = [p[0] for p in pairs]
        self.values = np.array([p[1] * 100 for p in pairs], float)
        self.plotItem.getAxis("left").setTicks([[(i, l) for i, l in enumerate(self.labels)], []])
        self._redraw()
        n = len(self.values)
        self.plotItem.setYRange(-0.6, max(n, 8) - 0.4, padding=0)
        if n:
            lo, hi = min(self.values.min(), 0), max(self.values.max(), 0)
            span = max(hi - lo, 10)
            self.plotItem.setXRange(lo - 0.1 * span, hi + 0.1 * span, padding=0)
        self.show_message("" if n else "No BTC move between −99.9% and +1000% liquidates a position")

    def _redraw(self):
        t = self.theme
        v = self.values
        n = len(v)
        draw_hbars(self.bars, v, lambda x: t.loss if abs(x) < 20 else t.warn if abs(x) < 40 else t.accent)

    def readout(self, x, y):
        i = int(round(y))
        if 0 <= i < len(self.labels):
            return f"{self.labels[i]}: liquidated at BTC {self.values[i]:+.1f}%"
        return None

    def hover_line(self):
        return False

    def restyle(self):
        self.zero.setPen(pg.mkPen(self.theme.plot_fg, width=1))
        self._redraw()


def levels_text(levels) -> str:
    """Loss levels as typed back: ``10%, 25%, 50%``."""
    return ", ".join(f"{x * 100:g}%" for x in levels)


class ReverseView(QWidget):
    run_requested = Signal()
    losses_changed = Signal(object)                 # tuple of loss levels (fractions)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.theme = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        top = QHBoxLayout()
        top.addWidget(section("Reverse stress"))
        top.addWidget(hint("Which BTC move (every other asset through its beta, with your overrides "
                           "from the Shock view) liquidates each position, and which costs the "
                           "portfolio each loss level. Searched from −99.9% to +1000%."), 1)
        top.addWidget(QLabel("Loss levels"))
        self.loss_edit = QLineEdit(levels_text(DEFAULT_LOSSES))
        self.loss_edit.setObjectName("ReverseLossLevels")
        self.loss_edit.setToolTip("Shares of today's portfolio value, e.g. 10%, 20%, 33% (or "
                                  "0.1, 0.2, 0.33); press Enter to search them. The Survive tab "
                                  "can plan for each level.")
        self.loss_edit.setMinimumWidth(170)
        self.loss_edit.editingFinished.connect(self._levels_edited)
        top.addWidget(self.loss_edit)
        self.run_button = QPushButton("Recompute")
        self.run_button.setToolTip("Recompute the reverse stress (F5)")
        self.run_button.clicked.connect(self.run_requested)
        top.addWidget(self.run_button)
        lay.addLayout(top)
        self.status = hint("")
        lay.addWidget(self.status)
        self.positions_model = RecordsModel([
            ("Position", "Position id", False), ("Asset", "Asset", False), ("Kind", "spot, perp or loan", False),
            ("BTC move to liquidation", "Nearest BTC move (down or up) that liquidates the position", True),
            ("BTC price then", "BTC price after that move", True),
            ("Move down", "Smallest BTC fall that liquidates it", True),
            ("Move up", "Smallest BTC rise that liquidates it", True)])
        self.positions = make_table(self.positions_model)
        self.positions.setObjectName("ReversePositions")
        for i, w in enumerate((150, 60, 60, 170, 120, 100)):
            self.positions.setColumnWidth(i, w)
        self.loss_model = RecordsModel([
            ("Portfolio loss", "Share of today's portfolio value lost", False),
            ("BTC move", "Nearest BTC move that loses that much", True),
            ("BTC price then", "BTC price after that move", True),
            ("Loss (USD)", "The loss in dollars", True)])
        self.losses = make_table(self.loss_model, stretch_last=False)
        self.losses.setObjectName("ReverseLosses")
        for i, w in enumerate((120, 110, 120, 120)):
            self.losses.setColumnWidth(i, w)
        self.chart = MoveBarsChart()
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.positions)
        box = QWidget()
        bl = QVBoxLayout(box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(section("Portfolio loss thresholds"))
        bl.addWidget(self.losses)
        left.addWidget(box)
        left.setSizes([420, 200])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.chart)
        self.splitter.setSizes([760, 640])
        lay.addWidget(self.splitter, 1)
        self.report = None

    def _levels_edited(self) -> None:
        text = self.loss_edit.text()
        try:
            levels = loss_levels(text.replace(";", ","))
        except InputError as exc:
            self.loss_edit.setStyleSheet(f"border: 1px solid {self.theme.loss if self.theme else 'red'};")
            self.loss_edit.setToolTip(str(exc))
            self.status.setText(str(exc))
            return
        self.loss_edit.setStyleSheet("")
        self.loss_edit.setToolTip("Shares of today's portfolio value, e.g. 10%, 20%, 33%; press "
                                  "Enter to search them.")
        self.loss_edit.setText(levels_text(levels))
        self.losses_changed.emit(levels)

    def set_running(self, running: bool) -> None:
        self.status.setText("Searching…" if running else self.status.text().replace("Searching…", ""))

    def set_report(self, rep: dict, btc_price: float | None) -> None:
        self.report = rep
        t = self.theme
        rows, fgs = [], {}
        ordered = sorted(rep["positions"], key=lambda r: (r["btc_move_to_liquidation"] is None,
                                                          abs(r["btc_move_to_liquidation"] or 0)))
        for i, r in enumerate(ordered):
            m = r["btc_move_to_liquidation"]
            none = "never (spot)" if r["kind"] == "spot" else "none through betas"
            rows.append((r["id"], r["asset"], r["kind"], fmt_pct(m) if m is not None else none,
                         f"${fmt_price(r['btc_price_at_liquidation'])}" if r.get("btc_price_at_liquidation") else "—",
                         fmt_pct(r["btc_move_down"]) if r["btc_move_down"] is not None else "—",
                         fmt_pct(r["btc_move_up"]) if r["btc_move_up"] is not None else "—"))
            if t and m is not None and abs(m) < 0.2:
                fgs[(i, 3)] = t.loss
        self.positions_model.set_rows(rows, foregrounds=fgs)
        pf = rep["portfolio"]
        v0 = pf["value_before"]
        lrows = []
        for k, m in pf["btc_move_for_loss"].items():
            frac = float(k)
            lrows.append((f"{frac * 100:g}%", fmt_pct(m) if m is not None else "not reached",
                          f"${btc_price * (1 + m):,.0f}" if (m is not None and btc_price) else "—",
                          fmt_money(v0 * frac)))
        self.loss_model.set_rows(lrows)
        self.chart.set_data([r["id"] for r in rep["positions"]],
                            [r["btc_move_to_liquidation"] for r in rep["positions"]])
        overrides = {a: s for a, s in rep.get("beta_source", {}).items() if s == "override"}
        self.status.setText(f"Portfolio value today {fmt_money(v0)}."
                            + (f" Beta overrides: {', '.join(overrides)}." if overrides else ""))
