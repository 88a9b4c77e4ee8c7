"""Shock view: an instant BTC move (other assets through their beta), recomputed as the
slider moves; sensitivity curve, liquidation ladder, losses per asset and per position."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QDoubleSpinBox, QFormLayout, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSlider, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from engine import InputError
from engine.scenarios import check_beta

from ..charts import HBarChart, LadderChart, SensitivityChart
from ..document import fmt_money, fmt_pct
from ..theme import LIGHT
from ..widgets import MetricsStrip, StableLabel, controls_panel, hint, make_table, section

SLIDER_SCALE = 10          # slider units per percent (0.1% resolution)


class ShockView(QWidget):
    DETAIL_MS = 120
    shock_changed = Signal(float)                  # BTC move, fraction
    betas_changed = Signal(dict)                   # asset -> override beta
    depegs_changed = Signal(dict)                  # pegged asset -> de-peg, fraction
    save_requested = Signal()                      # save this shock as a named scenario

    def __init__(self, parent=None):
        super().__init__(parent)
        self.theme = None
        outer, pl = controls_panel(self, 300)
        pl.addWidget(section("BTC move", "Instant move of BTC; every other asset moves by "
                                         "(1 + BTC move)^beta − 1."))
        self.move_label = StableLabel("−30.0%", "MetricValue")
        self.move_label.setStyleSheet("font-size: 20pt; font-weight: 600;")
        self.btc_label = StableLabel("", "Hint")
        self.btc_label.setToolTip("BTC's price before and after the move. Every asset moves by "
                                  "(1 + BTC move)^beta − 1, also when BTC is not in the portfolio.")
        pl.addWidget(self.move_label)
        pl.addWidget(self.btc_label)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("ShockSlider")
        self.slider.setRange(-90 * SLIDER_SCALE, 100 * SLIDER_SCALE)
        self.slider.setSingleStep(SLIDER_SCALE)
        self.slider.setPageStep(10 * SLIDER_SCALE)
        self.slider.setTickInterval(10 * SLIDER_SCALE)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setToolTip("BTC move from −90% to +100%; results follow as you drag "
                               "(arrow keys: 1%, Page Up/Down: 10%).")
        pl.addWidget(self.slider)
        ends = QHBoxLayout()
        ends.addWidget(QLabel("−90%"))
        ends.addStretch(1)
        ends.addWidget(QLabel("0"))
        ends.addStretch(1)
        ends.addWidget(QLabel("+100%"))
        pl.addLayout(ends)
        row = QHBoxLayout()
        self.spin = QDoubleSpinBox()
        self.spin.setRange(-90.0, 100.0)
        self.spin.setDecimals(1)
        self.spin.setSingleStep(1.0)
        self.spin.setSuffix(" %")
        self.spin.setToolTip("Exact BTC move in percent")
        self.spin.setKeyboardTracking(False)
        row.addWidget(QLabel("Exact:"))
        row.addWidget(self.spin, 1)
        pl.addLayout(row)
        presets = QGridLayout()
        for i, v in enumerate((-10, -20, -30, -50, -70, +20)):
            b = QPushButton(f"{v:+d}%".replace("-", "−"))
            b.setToolTip(f"Set the BTC move to {v:+d}%")
            b.clicked.connect(lambda _=False, v=v: self.set_move(v / 100.0, emit=True))
            presets.addWidget(b, i // 3, i % 3)
        pl.addLayout(presets)
        self.save_scenario = QPushButton("Save as scenario…")
        self.save_scenario.setObjectName("SaveShockScenario")
        self.save_scenario.setToolTip("Save this BTC move and your beta overrides in the portfolio "
                                      "file as a named scenario (Replay list, crash matrix, CLI)")
        self.save_scenario.clicked.connect(self.save_requested)
        pl.addWidget(self.save_scenario)

        # ---- de-pegs: one spin box per pegged asset held (shown when the book has one)
        self.depeg_group = QWidget()
        self.depeg_group.setObjectName("DepegGroup")
        dl = QVBoxLayout(self.depeg_group)
        dl.setContentsMargins(0, 10, 0, 0)
        dl.addWidget(section("De-pegs", "A pegged asset moves with its base (WETH with ETH, a "
                                        "stablecoin not at all); a de-peg moves it off its peg on top."))
        self.depeg_form = QFormLayout()
        dl.addLayout(self.depeg_form)
        self.depeg_spins: dict[str, QDoubleSpinBox] = {}
        self.depeg_group.setVisible(False)
        pl.addWidget(self.depeg_group)

        pl.addSpacing(10)
        pl.addWidget(section("Betas to BTC", "How strongly each asset follows BTC. Edit the Override "
                                             "column to try your own; empty = bundled calibration."))
        self.beta_table = QTableWidget(0, 3)
        self.beta_table.setObjectName("BetaTable")
        self.beta_table.setHorizontalHeaderLabels(["Asset", "Bundled", "Override"])
        self.beta_table.verticalHeader().setVisible(False)
        self.beta_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.beta_table.verticalHeader().setDefaultSectionSize(24)
        self.beta_table.itemChanged.connect(self._beta_edited)
        pl.addWidget(self.beta_table, 1)
        self.reset_betas = QPushButton("Reset overrides")
        self.reset_betas.clicked.connect(self._reset_betas)
        pl.addWidget(self.reset_betas)
        self.beta_error = hint("")
        pl.addWidget(self.beta_error)

        # ---- results
        right = QVBoxLayout()
        self.metrics = MetricsStrip([
            ("before", "Value today", "Portfolio value at today's prices (USD): spot, perp margin + "
                                      "unrealised P&L, cross wallets, loan collateral − debt."),
            ("after", "Value after the shock", "Portfolio value right after the instant move (USD)."),
            ("pnl", "P&L", "Value after minus value today (USD and % of today's value)."),
            ("liq", "Liquidated", "Positions liquidated by this move (a cross account counts each of "
                                  "its perps)."),
            ("nearest", "Nearest liquidation", "The smallest BTC fall (other assets through their "
                                               "beta) that liquidates a position, from the "
                                               "sensitivity grid (0.5% steps)."),
        ])
        right.addWidget(self.metrics)
        self.sensitivity = SensitivityChart()
        self.sensitivity.shock_dragged.connect(lambda m: self.set_move(m, emit=True))
        self.ladder = LadderChart()
        self.by_asset = HBarChart("Loss per asset", tooltip="P&L of the shock summed per asset "
                                  "(a liquidated cross account shows as 'wallet ACCOUNT').")
        self.by_position = HBarChart("Loss per position (largest first)",
                                     tooltip="P&L of each position under the shock, largest loss on top.")
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.sensitivity)
        top.addWidget(self.ladder)
        mid = QSplitter(Qt.Orientation.Horizontal)
        mid.addWidget(self.by_asset)
        mid.addWidget(self.by_position)
        self.results_model = ShockResultsModel(self)
        self.results = make_table(self.results_model)
        self.results.setObjectName("ShockResults")
        self.results.setSortingEnabled(False)
        for i, w in enumerate((140, 60, 60, 90, 110, 110, 110)):
            self.results.setColumnWidth(i, w)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(mid)
        self.splitter.addWidget(self.results)
        self.splitter.setSizes([380, 260, 220])
        self.splitter.setChildrenCollapsible(False)
        right.addWidget(self.splitter, 1)
        outer.addLayout(right, 1)

        self._move = -0.30
        self._btc_price = None
        self._nearest = None
        self._liq_at_zero: list[str] = []
        self._analysis = None
        self._filling = False
        self._detail = None
        self.detail_timer = QTimer(self)
        self.detail_timer.setSingleShot(True)
        self.detail_timer.setInterval(self.DETAIL_MS)
        self.detail_timer.timeout.connect(self.flush_details)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderReleased.connect(self.flush_details)
        self.spin.valueChanged.connect(lambda v: self.set_move(v / 100.0, emit=True))
        self.set_move(self._move, emit=False)

    # ---- controls
    def move(self) -> float:
        return self._move

    def set_move(self, move: float, emit: bool = True) -> None:
        move = float(np.clip(move, -0.9, 1.0))
        self._move = move
        for w, v in ((self.slider, int(round(move * 100 * SLIDER_SCALE))), (self.spin, move * 100)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        self.move_label.setText(fmt_pct(move))
        self._update_btc_label()
        if emit:
            self.shock_changed.emit(move)

    def _slider_moved(self, v: int) -> None:
        self.set_move(v / (100.0 * SLIDER_SCALE), emit=True)

    def _update_btc_label(self):
        if self._btc_price:
            self.btc_label.setText(f"BTC ${self._btc_price:,.0f} → ${self._btc_price * (1 + self._move):,.0f}")
        else:
            self.btc_label.setText("BTC not held: assets follow by beta")

    def overrides(self) -> dict[str, float]:
        """The valid beta overrides typed in the table (:func:`engine.scenarios.check_beta`);
        a bad one is marked in its cell and left out."""
        out = {}
        for r in range(self.beta_table.rowCount()):
            item = self.beta_table.item(r, 2)
            text = item.text().strip() if item else ""
            if text:
                asset = self.beta_table.item(r, 0).text()
                try:
                    out[asset] = check_beta(asset, text)
                except InputError:
                    continue
        return out

    def _beta_edited(self, item):
        if self._filling or item.column() != 2:
            return
        text = item.text().strip()
        asset = self.beta_table.item(item.row(), 0).text()
        problem = None
        if text:
            try:
                check_beta(asset, text)
            except InputError as exc:
                problem = str(exc)
        if problem:
            item.setBackground(self._color("error_bg"))
            item.setToolTip(f"{problem}; the bundled beta is used until it is fixed")
            self.beta_error.setText(f"Beta override for {asset}: {problem}")
        else:
            item.setBackground(self._color("base"))
            item.setToolTip("Your beta for this asset (empty: bundled calibration)")
            self.beta_error.setText("")
        self.betas_changed.emit(self.overrides())

    # ---- de-pegs
    def depegs(self) -> dict[str, float]:
        """The de-pegs set: pegged asset -> move off its peg (fraction), non-zero only."""
        return {a: w.value() / 100.0 for a, w in self.depeg_spins.items() if w.value()}

    def set_depeg(self, asset: str, move: float) -> None:
        self.depeg_spins[asset].setValue(move * 100.0)

    def _set_pegged(self, assets) -> None:
        """One spin box per pegged asset held, keeping the values of those still held."""
        from engine.pegs import peg_of
        held = [(a, peg_of(a)) for a in assets if peg_of(a) is not None]
        if [a for a, _ in held] == list(self.depeg_spins):
            return
        kept = self.depegs()
        while self.depeg_form.rowCount():
            self.depeg_form.removeRow(0)
        self.depeg_spins = {}
        for a, p in held:
            w = QDoubleSpinBox()
            w.setObjectName(f"Depeg_{a}")
            w.setRange(-99.0, 100.0)
            w.setDecimals(1)
            w.setSingleStep(1.0)
            w.setSuffix(" %")
            w.setKeyboardTracking(False)
            w.setValue(kept.get(a, 0.0) * 100.0)
            on_top = "its $1 peg" if p.stable else f"{p.base} (it {p.describe()})"
            w.setToolTip(f"{a} de-peg: its move relative to {on_top}, on top of the shock; "
                         "0 = on its peg")
            w.valueChanged.connect(lambda *_: self.depegs_changed.emit(self.depegs()))
            self.depeg_form.addRow(a, w)
            self.depeg_spins[a] = w
        self.depeg_group.setVisible(bool(held))
        if set(kept) - set(self.depeg_spins):
            self.depegs_changed.emit(self.depegs())

    def _color(self, name):
        return QColor(getattr(self.theme or LIGHT, name))

    def _reset_betas(self):
        self._filling = True
        for r in range(self.beta_table.rowCount()):
            it = self.beta_table.item(r, 2)
            if it:
                it.setText("")
                it.setBackground(self._color("base"))
        self._filling = False
        self.beta_error.setText("")
        self.betas_changed.emit({})

    # ---- results
    def set_analysis(self, analysis, overrides: dict[str, float]) -> None:
        self._analysis = analysis
        if analysis is None:
            self.sensitivity.set_data(np.zeros(0), np.zeros(0), 0.0, [])
            self.ladder.set_rows([])
            self.by_asset.set_data([], [])
            self.by_position.set_data([], [])
            self.results_model.set_result(None, self.theme)
            for card in self.metrics.cards.values():
                card.set("—")
            return
        book = analysis.book
        self._btc_price = float(book.today[book.assets.index("BTC")]) if "BTC" in book.assets else None
        self._update_btc_label()
        self.sensitivity.set_data(analysis.grid, analysis.grid_value, analysis.value_today,
                                  analysis.grid_liq)
        self.ladder.set_rows(list(analysis.liquidation.values()))
        self._set_pegged(book.assets)
        # beta table: one row per asset, keep the user's overrides
        self._filling = True
        current = {self.beta_table.item(r, 0).text(): (self.beta_table.item(r, 2).text()
                                                        if self.beta_table.item(r, 2) else "")
                   for r in range(self.beta_table.rowCount())}
        for a, v in overrides.items():
            current.setdefault(a, f"{v:g}")
        from engine.scenarios import bundled_beta
        self.beta_table.setRowCount(len(book.assets))
        for r, a in enumerate(book.assets):
            beta, src = bundled_beta(a)
            it = QTableWidgetItem(a)
            it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.beta_table.setItem(r, 0, it)
            b = QTableWidgetItem(f"{beta:g}")
            b.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            b.setToolTip(f"Source: {src}")
            b.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.beta_table.setItem(r, 1, b)
            o = QTableWidgetItem(current.get(a, ""))
            o.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            o.setToolTip("Your beta for this asset (empty: bundled calibration)")
            if a == "BTC":
                o.setFlags(Qt.ItemFlag.ItemIsEnabled)
                o.setToolTip("BTC drives the shock (beta 1)")
            self.beta_table.setItem(r, 2, o)
        self._filling = False
        downs = [m for _, m, _ in analysis.grid_liq if m < 0]
        self._nearest = max(downs) if downs else None
        self._liq_at_zero = list(analysis.liquidated_at_zero)

    def set_shock(self, result) -> None:
        """Redraw for a new ShockResult (called on every slider move: setData only).

        While the slider is dragged, the per-position bars and table (the costly part for
        large books) follow DETAIL_MS after the last move, and at once on release; every
        number on the cards, the curve marker, the ladder and the per-asset bars follow
        each move."""
        if result is None:
            return
        t = self.theme
        self.sensitivity.set_shock(result.btc_move, result.portfolio_after)
        liq_ids = {pid for pid, l in zip(result.ids, result.liquidated) if l}
        self.ladder.set_shock(result.moves, liq_ids)
        self.by_asset.set_data(list(result.by_asset), list(result.by_asset.values()))
        self._detail = result
        if self.slider.isSliderDown():
            self.detail_timer.start()
        else:
            self.flush_details()
        pnl = result.portfolio_pnl
        before = result.portfolio_before
        self.metrics["before"].set(fmt_money(before))
        self.metrics["after"].set(fmt_money(result.portfolio_after),
                                  f"at BTC {fmt_pct(result.btc_move)}")
        self.metrics["pnl"].set(fmt_money(pnl, signed=True),
                                fmt_pct(pnl / abs(before)) if before else "",
                                color=(t.loss if pnl < 0 else t.gain) if t else None)
        n_liq = int(result.liquidated.sum())
        self.metrics["liq"].set(f"{n_liq} of {len(result.ids)}",
                                ", ".join(sorted(liq_ids))[:60] if n_liq else "none",
                                color=t.loss if (t and n_liq) else None)
        if self._liq_at_zero:           # liquidated at BTC 0: by the de-pegs, or already today
            why = "with the de-pegs" if self.depegs() else "already today"
            self.metrics["nearest"].set("BTC 0%", f"{', '.join(self._liq_at_zero)[:40]} {why}")
        elif self._nearest is not None:
            btc = f"BTC ${self._btc_price * (1 + self._nearest):,.0f}" if self._btc_price else ""
            self.metrics["nearest"].set(f"BTC {fmt_pct(self._nearest)}", btc)
        else:
            self.metrics["nearest"].set("none", "no BTC fall to −90% liquidates")

    def flush_details(self) -> None:
        """Draw the per-position bars and table for the latest shock now."""
        self.detail_timer.stop()
        result = self._detail
        if result is None:
            return
        self.by_position.set_data(list(result.by_position), list(result.by_position.values()))
        self.results_model.set_result(result, self.theme)

    def save_state(self, settings) -> None:
        settings.setValue("shock/move", self._move)
        settings.setValue("shock/splitter", self.splitter.saveState())

    def restore_state(self, settings) -> None:
        v = settings.value("shock/move")
        if v is not None:
            try:
                self.set_move(float(v), emit=False)
            except (TypeError, ValueError):
                pass
        s = settings.value("shock/splitter")
        if s is not None:
            self.splitter.restoreState(s)


class ShockResultsModel(QAbstractTableModel):
    """Per-position results of the current shock. Holds the result arrays and formats only
    the cells the view asks for, so a slider move costs O(visible rows), not O(positions)."""

    COLUMNS = (("Position", "Position id", False), ("Asset", "Asset (loans: main collateral)", False),
               ("Kind", "spot, perp or loan", False), ("Asset move", "Move of the asset under this shock", True),
               ("Value today", "Value at today's prices (USD)", True),
               ("Value after", "Value right after the shock (USD)", True),
               ("P&L", "Value after − value today", True), ("Status", "Liquidated by this shock or not", False))

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result = None
        self.theme = None
        self.n = 0

    def set_result(self, result, theme) -> None:
        n = len(result.ids) if result is not None else 0
        self.theme = theme
        if n != self.n:
            self.beginResetModel()
            self.result, self.n = result, n
            self._pnl = result.pnl if result is not None else None
            self.endResetModel()
        else:
            self.result = result
            self._pnl = result.pnl if result is not None else None
            if n:
                self.dataChanged.emit(self.index(0, 3), self.index(n - 1, 7))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self.n

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.COLUMNS[section][0]
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.COLUMNS[section][1]
        return None

    def column_values(self, c: int) -> list:
        return [self.data(self.index(r, c)) for r in range(self.n)]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        r = self.result
        if r is None or not index.isValid() or not 0 <= index.row() < self.n:
            return None
        i, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 0:
                return r.ids[i]
            if c == 1:
                return r.assets[i]
            if c == 2:
                return r.kinds[i]
            if c == 3:
                return fmt_pct(r.moves.get(r.assets[i]))
            if c == 4:
                return fmt_money(float(r.value_before[i]))
            if c == 5:
                return fmt_money(float(r.value_after[i]))
            if c == 6:
                return fmt_money(float(self._pnl[i]), signed=True)
            return r.status[i]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            right = self.COLUMNS[c][2]
            return int((Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft)
                       | Qt.AlignmentFlag.AlignVCenter)
        t = self.theme
        if t is None:
            return None
        if role == Qt.ItemDataRole.BackgroundRole and r.liquidated[i]:
            return QBrush(QColor(t.liquidated_bg))
        if role == Qt.ItemDataRole.ForegroundRole and c == 6:
            return QBrush(QColor(t.loss if self._pnl[i] < 0 else t.gain))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.COLUMNS[c][1]
        return None
