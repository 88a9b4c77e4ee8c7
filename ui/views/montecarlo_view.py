"""Monte Carlo view: paths, horizon, model, seed, an optional precision stop and cascade
strength; the fan chart and loss histogram build up as chunks arrive; VaR/CVaR and each
position's probability of liquidation with their 95 % intervals ("3.4 % (3.1-3.7)")."""
from __future__ import annotations

import math
import os

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QSlider, QSpinBox,
                               QSplitter, QVBoxLayout, QWidget)

from engine.montecarlo import probability_text

from ..charts import FanChart, HBarChart, HistogramChart
from ..document import fmt_money, fmt_pct
from ..jobs import MonteCarloSettings
from ..widgets import MetricsStrip, RecordsModel, controls_panel, hint, make_table, section

MODEL_TIPS = {
    "student-t": "Fitted to daily closes since 2022: a BTC factor with volatility that clusters "
                 "(stormy months stay stormy), fat tails, and altcoins that fall harder with BTC "
                 "than they rise with it.",
    "bootstrap": "Blocks of real history (an imported price CSV) drawn at random: dependence, "
                 "volatility clusters and fat tails are those of the data.",
    "gbm": "Correlated geometric Brownian motion (thin tails): a baseline for comparison.",
}


class MonteCarloView(QWidget):
    REDRAW_MS = 250
    run_requested = Signal(object)         # MonteCarloSettings
    cancel_requested = Signal()
    settings_changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.theme = None
        outer, pl = controls_panel(self, 300)
        pl.addWidget(section("Simulation"))
        form = QFormLayout()
        self.paths = QSpinBox()
        self.paths.setObjectName("McPaths")
        self.paths.setRange(100, 5_000_000)
        self.paths.setSingleStep(10_000)
        self.paths.setValue(20_000)
        self.paths.setGroupSeparatorShown(True)
        self.paths.setToolTip("Number of simulated price paths (more: smoother tails, slower).")
        self.days = QSpinBox()
        self.days.setRange(1, 365)
        self.days.setValue(30)
        self.days.setSuffix(" days")
        self.days.setToolTip("Horizon of the simulation in days (crypto trades 365 days a year).")
        self.steps = QSpinBox()
        self.steps.setRange(1, 24)
        self.steps.setValue(1)
        self.steps.setToolTip("Steps per day: more steps catch intraday liquidations more finely.")
        self.model = QComboBox()
        for m in ("student-t", "bootstrap", "gbm"):
            self.model.addItem(m)
            self.model.setItemData(self.model.count() - 1, MODEL_TIPS[m], Qt.ItemDataRole.ToolTipRole)
        self.model.setToolTip("Return model of the paths")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_147_483_647)
        self.seed.setToolTip("Random seed: the same seed and settings give the same result.")
        form.addRow("Paths", self.paths)
        form.addRow("Horizon", self.days)
        form.addRow("Steps per day", self.steps)
        form.addRow("Model", self.model)
        form.addRow("Seed", self.seed)
        self.depeg = QComboBox()
        self.depeg.setObjectName("McDepeg")
        self.depeg.setEditable(True)
        self.depeg.addItems(["default", "off"])
        self.depeg.setToolTip("De-peg jumps of stablecoins and wrapped/staked tokens held: default = "
                              "historical frequencies and depths (USDC 2023, UST 2022, stETH 2022, "
                              "USDe/wBETH/BNSOL Oct 2025, ...), off, or type a rate in de-pegs per "
                              "asset per year (e.g. 0.5).")
        form.addRow("De-pegs", self.depeg)
        prow = QHBoxLayout()
        self.stop_early = QCheckBox("stop at ±")
        self.stop_early.setObjectName("McStopEarly")
        self.stop_early.setToolTip("Stop as soon as every position's probability of liquidation is "
                                   "known to ± this many percentage points (95 % interval); "
                                   "'Paths' is then the most that run.")
        self.precision = QDoubleSpinBox()
        self.precision.setObjectName("McPrecision")
        self.precision.setRange(0.05, 10.0)
        self.precision.setDecimals(2)
        self.precision.setSingleStep(0.1)
        self.precision.setValue(0.5)
        self.precision.setSuffix(" points")
        self.precision.setToolTip(self.stop_early.toolTip())
        self.precision.setEnabled(False)
        prow.addWidget(self.stop_early)
        prow.addWidget(self.precision, 1)
        form.addRow("P(liq)", prow)
        pl.addLayout(form)
        self.model_hint = hint(MODEL_TIPS["student-t"])
        pl.addWidget(self.model_hint)
        self.history_label = hint("Bootstrap needs a price history: choose CSV files.")
        self.history_button = QPushButton("Price history…")
        self.history_button.clicked.connect(self._choose_history)
        pl.addWidget(self.history_label)
        pl.addWidget(self.history_button)
        pl.addSpacing(6)
        pl.addWidget(section("Liquidation cascade", "Forced selling after liquidations pushes prices "
                                                    "further down, then half of it reverts within a day; "
                                                    "0 = off, 1 = calibrated default."))
        crow = QHBoxLayout()
        self.cascade = QSlider(Qt.Orientation.Horizontal)
        self.cascade.setObjectName("CascadeSlider")
        self.cascade.setRange(0, 200)
        self.cascade.setSingleStep(5)
        self.cascade.setPageStep(25)
        self.cascade.setToolTip("Cascade strength: 0 = off, 1.00 = calibrated default, 2.00 = twice as strong")
        self.cascade_label = QLabel("off")
        self.cascade_label.setMinimumWidth(60)
        crow.addWidget(self.cascade, 1)
        crow.addWidget(self.cascade_label)
        pl.addLayout(crow)
        hrow = QHBoxLayout()
        hrow.addWidget(QLabel("Impact half-life"))
        self.half_life = QDoubleSpinBox()
        self.half_life.setObjectName("CascadeHalfLife")
        self.half_life.setRange(0.05, 30.0)
        self.half_life.setDecimals(2)
        self.half_life.setSingleStep(0.25)
        self.half_life.setValue(1.0)
        self.half_life.setSuffix(" days")
        self.half_life.setToolTip("Days over which half of the cascade's forced-selling discount "
                                  "reverts as order books refill (1 day calibrated default). "
                                  "Tick 'permanent' to keep the whole impact for good.")
        self.permanent = QCheckBox("permanent")
        self.permanent.setToolTip("The cascade's price impact never reverts: multi-week paths then "
                                  "drift down (every dip's discount stays).")
        hrow.addWidget(self.half_life, 1)
        hrow.addWidget(self.permanent)
        for w in (self.half_life, self.permanent):        # the cascade starts off
            w.setEnabled(False)
        pl.addLayout(hrow)
        self.live = QCheckBox("Re-run when holdings change")
        self.live.setChecked(True)
        self.live.setToolTip("Once run, the simulation restarts (after a short pause) when you edit "
                             "holdings or move a control.")
        pl.addWidget(self.live)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("RunMonteCarlo")
        self.run_button.setToolTip("Run the Monte Carlo (Ctrl+R)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the simulation (Esc); the paths done so far stay shown")
        self.cancel_button.setEnabled(False)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        pl.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setObjectName("McProgress")
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        pl.addWidget(self.progress)
        self.status = hint("")
        pl.addWidget(self.status)
        pl.addStretch(1)

        right = QVBoxLayout()
        self.metrics = MetricsStrip([
            ("var95", "VaR 95%", "Value at risk: the loss over the horizon that 95% of paths stay "
                                 "below (1 path in 20 loses more)."),
            ("var99", "VaR 99%", "The loss over the horizon that 99% of paths stay below."),
            ("cvar95", "CVaR 95%", "Expected shortfall: the average loss in the worst 5% of paths."),
            ("cvar99", "CVaR 99%", "The average loss in the worst 1% of paths."),
            ("pliq", "P(any liquidation)", "Probability that the position most at risk is liquidated "
                                           "within the horizon (per position in the table)."),
            ("median", "Median P&L", "Median portfolio P&L at the horizon."),
        ])
        right.addWidget(self.metrics)
        self.fan = FanChart()
        self.hist = HistogramChart()
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.fan)
        top.addWidget(self.hist)
        top.setSizes([700, 500])
        self.liq_model = RecordsModel([
            ("Position", "Position id", False), ("Asset", "Asset", False),
            ("P(liquidation)", "Share of paths on which the position is liquidated within the horizon, "
                               "with its 95 % interval in brackets (Monte Carlo error)", True),
            ("Median time", "Median day of liquidation among the paths that liquidate it", True)])
        self.liq_table = make_table(self.liq_model)
        self.liq_table.setObjectName("McLiquidations")
        for i, w in enumerate((150, 60, 165)):
            self.liq_table.setColumnWidth(i, w)
        self.loss_by_asset = HBarChart("Expected P&L per asset at the horizon",
                                       tooltip="Average P&L of each asset's positions over all paths.")
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.liq_table)
        bottom.addWidget(self.loss_by_asset)
        bottom.setSizes([500, 600])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setSizes([520, 300])
        self.splitter.setChildrenCollapsible(False)
        right.addWidget(self.splitter, 1)
        outer.addLayout(right, 1)

        self.history_files: list[str] = []
        self.last_chunk = None
        # Chunks can arrive faster than the charts are worth repainting: draw the latest
        # one at most every REDRAW_MS (the final chunk is drawn at once).
        self._pending = None
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setSingleShot(True)
        self.redraw_timer.setInterval(self.REDRAW_MS)
        self.redraw_timer.timeout.connect(self._draw_pending)
        self.ids: list[str] = []
        self.assets: list[str] = []
        self.run_button.clicked.connect(lambda: self.run_requested.emit(self.settings()))
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cascade.valueChanged.connect(self._cascade_moved)
        self.half_life.valueChanged.connect(lambda *_: self.settings_changed.emit(self.settings()))
        self.permanent.toggled.connect(self._permanent_toggled)
        self.model.currentTextChanged.connect(self._model_changed)
        self.depeg.activated.connect(lambda *_: self.settings_changed.emit(self.settings()))
        self.depeg.lineEdit().editingFinished.connect(lambda: self.settings_changed.emit(self.settings()))
        for w in (self.paths, self.days, self.steps, self.seed, self.precision):
            w.valueChanged.connect(lambda *_: self.settings_changed.emit(self.settings()))
        self.stop_early.toggled.connect(self._stop_toggled)
        self._model_changed(self.model.currentText())

    # ---- settings
    def settings(self) -> MonteCarloSettings:
        return MonteCarloSettings(n_paths=self.paths.value(), days=self.days.value(),
                                  seed=self.seed.value(), model=self.model.currentText(),
                                  steps_per_day=self.steps.value(), cascade=self.cascade.value() / 100.0,
                                  cascade_half_life=(math.inf if self.permanent.isChecked()
                                                     else self.half_life.value()),
                                  history_files=list(self.history_files),
                                  depeg=self.depeg.currentText().strip(),
                                  liq_precision=(self.precision.value() / 100.0
                                                 if self.stop_early.isChecked() else None))

    def apply_settings(self, s: MonteCarloSettings) -> None:
        self.paths.setValue(int(s.n_paths))
        self.days.setValue(int(s.days))
        self.seed.setValue(int(s.seed))
        self.steps.setValue(int(s.steps_per_day))
        self.model.setCurrentText(s.model)
        self.cascade.setValue(int(round(s.cascade * 100)))
        hl = float(s.cascade_half_life)
        self.permanent.setChecked(math.isinf(hl))
        if math.isfinite(hl):
            self.half_life.setValue(hl)
        self._permanent_toggled(self.permanent.isChecked(), emit=False)
        self.history_files = list(s.history_files)
        self.depeg.setCurrentText(str(s.depeg))
        on = s.liq_precision is not None
        if on:
            self.precision.setValue(float(s.liq_precision) * 100.0)
        self.stop_early.setChecked(on)
        self.precision.setEnabled(on)

    def _cascade_moved(self, v: int) -> None:
        self.cascade_label.setText("off" if v == 0 else f"{v / 100:.2f}")
        for w in (self.half_life, self.permanent):
            w.setEnabled(v > 0)
        self.half_life.setEnabled(v > 0 and not self.permanent.isChecked())
        self.settings_changed.emit(self.settings())

    def _stop_toggled(self, on: bool) -> None:
        self.precision.setEnabled(on)
        self.settings_changed.emit(self.settings())

    def _permanent_toggled(self, on: bool, emit: bool = True) -> None:
        self.half_life.setEnabled(self.cascade.value() > 0 and not on)
        if emit:
            self.settings_changed.emit(self.settings())

    def _model_changed(self, m: str) -> None:
        self.model_hint.setText(MODEL_TIPS.get(m, ""))
        boot = m == "bootstrap"
        self.history_label.setVisible(boot)
        self.history_button.setVisible(boot)
        self.settings_changed.emit(self.settings())

    def _choose_history(self):
        files, _ = QFileDialog.getOpenFileNames(self, "Price history for the bootstrap", "",
                                                "Price history (*.csv *.txt *.tsv *.gz *.zip);;All files (*)")
        if files:
            self.set_history(files)

    def set_history(self, files: list[str]) -> None:
        self.history_files = list(files)
        self.history_label.setText(f"{len(files)} file(s): " + ", ".join(os.path.basename(f) for f in files[:3]))
        self.settings_changed.emit(self.settings())

    # ---- run state
    def discard_pending(self) -> None:
        self.redraw_timer.stop()
        self._pending = None

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.run_button.setText("Restart" if running else "Run")
        if running:
            self.progress.setFormat("starting…")
            self.progress.setRange(0, 0)
        elif self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("cancelled" if self.last_chunk is None else "done")

    def set_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"{done:,} / {total:,} paths (%p%)")

    def mark_cancelled(self) -> None:
        self.progress.setFormat(self.progress.format().split(" (")[0] + " — cancelled")

    # ---- results
    def set_context(self, ids: list[str], assets: list[str]) -> None:
        self.ids = list(ids)
        self.assets = list(assets)

    def set_chunk(self, update) -> None:
        """Show a Monte Carlo chunk: the final one at once, others at most every REDRAW_MS."""
        self.last_chunk = update
        if update.chunk.final:
            self.redraw_timer.stop()
            self._pending = None
            self.draw_chunk(update)
            return
        self._pending = update
        if not self.redraw_timer.isActive():
            self.redraw_timer.start()

    def _draw_pending(self) -> None:
        if self._pending is not None:
            update, self._pending = self._pending, None
            self.draw_chunk(update)

    def draw_chunk(self, update) -> None:
        """Draw one Monte Carlo chunk (cumulative aggregates); setData only."""
        chunk = update.chunk
        self.set_context(update.ids, update.assets)
        n_t = np.asarray(chunk.fan).shape[1]
        x = np.arange(n_t) / float(max(update.steps_per_day, 1))
        v0 = float(chunk.value_before)
        self.fan.set_data(x, chunk.fan_levels, chunk.fan, chunk.sample_values, v0)
        var = {k: float(v) for k, v in (chunk.var or {}).items()}
        cvar = {k: float(v) for k, v in (chunk.cvar or {}).items()}
        cis = {"var": getattr(chunk, "var_ci", None) or {}, "cvar": getattr(chunk, "cvar_ci", None) or {}}
        self.hist.set_data(chunk.hist_edges, chunk.hist_counts, var)
        t = self.theme
        red = t.loss if t else None
        for key, kind, level in (("var95", "var", "0.95"), ("var99", "var", "0.99"),
                                 ("cvar95", "cvar", "0.95"), ("cvar99", "cvar", "0.99")):
            d = (var if kind == "var" else cvar).get(level)
            if d is None:
                self.metrics[key].set("—")
                continue
            sub = fmt_pct(-abs(d) / v0) if v0 else ""
            ci = cis[kind].get(level)
            if ci is not None:
                sub += f" · 95 %: {compact_money(ci[0])}–{compact_money(ci[1])}"
            self.metrics[key].set(fmt_money(abs(d)), sub, color=red)
        probs = np.asarray(chunk.liquidation_probability, float)
        pci = getattr(chunk, "liquidation_probability_ci", None)
        kinds = list(getattr(chunk, "position_kinds", []) or [])
        if len(probs):
            i = int(np.argmax(probs))
            self.metrics["pliq"].set(probability_text(float(probs[i]), None if pci is None else pci[i]),
                                     f"{self.ids[i]}" if i < len(self.ids) else "",
                                     color=red if probs[i] > 0.05 else None)
        levels = [float(l) for l in chunk.fan_levels]     # fractions (0.01 ... 0.99)
        m_idx = [j for j, l in enumerate(levels) if abs(l - 0.5) < 1e-9]
        if m_idx:
            med = float(np.asarray(chunk.fan)[m_idx[0], -1]) - v0
            self.metrics["median"].set(fmt_money(med, signed=True), fmt_pct(med / v0) if v0 else "")
        # per position
        times = median_times(chunk.liquidation_time_hist, update.steps_per_day)
        rows, keys, fgs = [], [], {}
        order = np.argsort(-probs) if len(probs) else []
        for r, i in enumerate(order):
            pid = self.ids[i] if i < len(self.ids) else f"#{i}"
            asset = self.assets[i] if i < len(self.assets) else ""
            mt = times[i] if times is not None and i < len(times) else None
            rows.append((pid, asset, probability_text(float(probs[i]), None if pci is None else pci[i],
                                                      kinds[i] if i < len(kinds) else None),
                         f"day {mt:.1f}" if mt is not None else "—"))
            if t and probs[i] > 0.05:
                fgs[(r, 2)] = t.loss
        self.liq_model.set_rows(rows, foregrounds=fgs)
        ebl = chunk.expected_loss_by_asset
        if ebl:
            self.loss_by_asset.set_data(list(ebl), [pnl_sign(v) for v in ebl.values()])
        done, total = int(chunk.paths_done), int(chunk.paths_total)
        self.set_progress(done, total)
        el = float(chunk.elapsed)
        rate = done / el if el > 0 else 0
        text = f"{done:,} paths in {el:.1f} s ({rate:,.0f} paths/s), seed {update.seed}"
        if getattr(chunk, "stopped_early", False):
            text += (f"; stopped: every P(liq) known to ±{float(chunk.liq_precision) * 100:g} points")
        self.status.setText(text + ". Brackets: 95 % intervals (Monte Carlo error).")

    def save_state(self, settings) -> None:
        s = self.settings()
        for k in ("n_paths", "days", "seed", "model", "steps_per_day", "cascade", "cascade_half_life",
                  "depeg"):
            settings.setValue(f"montecarlo/{k}", str(getattr(s, k)))
        settings.setValue("montecarlo/liq_precision", "" if s.liq_precision is None else str(s.liq_precision))
        settings.setValue("montecarlo/live", self.live.isChecked())
        settings.setValue("montecarlo/splitter", self.splitter.saveState())

    def restore_state(self, settings) -> None:
        s = self.settings()
        conv = {"n_paths": int, "days": int, "seed": int, "model": str, "steps_per_day": int,
                "cascade": float, "cascade_half_life": float, "depeg": str,
                "liq_precision": lambda v: float(v) if str(v) else None}
        for k, f in conv.items():
            v = settings.value(f"montecarlo/{k}")
            if v is not None:
                try:
                    setattr(s, k, f(v))
                except (TypeError, ValueError):
                    pass
        self.apply_settings(s)
        live = settings.value("montecarlo/live")
        if live is not None:
            self.live.setChecked(str(live).lower() in ("true", "1"))
        sp = settings.value("montecarlo/splitter")
        if sp is not None:
            self.splitter.restoreState(sp)


def compact_money(x: float) -> str:
    """$29.9k, $1.23M: a short amount for the interval under a metric."""
    a = abs(float(x))
    sign = "−" if x < 0 else ""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            v = a / div
            return f"{sign}${v:.3g}{unit}" if v < 100 else f"{sign}${v:.0f}{unit}"
    return f"{sign}${a:,.0f}"


def pnl_sign(v) -> float:
    """Expected loss by asset is reported as a positive loss: show it as a negative P&L."""
    return -float(v)


def median_times(hist, steps_per_day: int):
    """Median day of liquidation per position from a (n_positions, n_bins) histogram of the
    liquidation step (bins = steps), None where the engine gives nothing usable."""
    if hist is None:
        return None
    h = np.asarray(hist, float)
    if h.ndim != 2 or h.shape[1] == 0:
        return None
    out = []
    for row in h:
        tot = row.sum()
        if tot <= 0:
            out.append(None)
            continue
        k = int(np.searchsorted(np.cumsum(row), tot / 2.0))
        out.append(k / float(max(steps_per_day, 1)))
    return out
