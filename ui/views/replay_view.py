"""Replay view: a bundled crash, a saved scenario or an imported price history, bar by bar
in real time (UTC), with play/pause, speed and a timeline scrubber. Selecting a crash runs
it; positions flash and are marked when liquidated, with the time they were liquidated."""
from __future__ import annotations

import html
import os

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QListView, QListWidget, QListWidgetItem, QPushButton,
                               QRadioButton, QSlider, QSplitter, QStyle, QTextBrowser, QVBoxLayout,
                               QWidget)

from engine import library
from engine.scenarios import utc_text

from ..charts import LinesChart, ReplayValueChart
from ..charts.replay import short_time
from ..document import fmt_money, fmt_pct
from ..jobs import ReplaySpec
from ..widgets import (MetricsStrip, RecordsModel, StableLabel, controls_panel, hint, make_table,
                      section)

SPEEDS = (("0.5×", 1000), ("1×", 500), ("2×", 250), ("4×", 125), ("8×", 60), ("16×", 30))
FLASH_MS = 700


SCENARIO_ID = Qt.ItemDataRole.UserRole
SOURCE = Qt.ItemDataRole.UserRole + 1       # "bundled" or "saved"


class ReplayView(QWidget):
    run_requested = Signal(object)        # ReplaySpec
    save_window_requested = Signal(object)  # ReplaySpec of the imported window to save
    delete_requested = Signal(str)        # id of a saved scenario

    def __init__(self, parent=None):
        super().__init__(parent)
        self.theme = None
        outer, pl = controls_panel(self, 330)
        pl.addWidget(section("What to replay"))
        self.use_library = QRadioButton("Bundled crash")
        self.use_history = QRadioButton("Imported price history (CSV)")
        self.use_library.setChecked(True)
        grp = QButtonGroup(self)
        grp.addButton(self.use_library)
        grp.addButton(self.use_history)
        pl.addWidget(self.use_library)
        self.library_list = QListWidget()
        self.library_list.setObjectName("LibraryList")
        self.library_list.setWordWrap(True)
        self.library_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # a constant width (the scroll bar always there) and a re-layout on resize: wrapped
        # two-line names are measured at the width they are drawn at, never overlapping
        self.library_list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.library_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.library_list.setToolTip("Select a crash to replay it on your holdings")
        self._quiet = True                  # programmatic selection: show, do not run
        for entry in library():
            item = QListWidgetItem(entry["name"])
            item.setData(SCENARIO_ID, entry["id"])
            item.setData(SOURCE, "bundled")
            item.setToolTip(entry.get("description", ""))
            self.library_list.addItem(item)
        self._n_bundled = self.library_list.count()
        self.saved: dict[str, object] = {}          # id -> engine SavedScenario
        pl.addWidget(self.library_list, 3)
        self.delete_saved = QPushButton("Delete saved scenario")
        self.delete_saved.setObjectName("DeleteSaved")
        self.delete_saved.setToolTip("Remove the selected saved scenario from the portfolio "
                                     "(undo with Ctrl+Z)")
        self.delete_saved.setVisible(False)
        self.delete_saved.clicked.connect(self._delete_selected)
        pl.addWidget(self.delete_saved)
        self.description = QTextBrowser()
        self.description.setObjectName("ScenarioDescription")
        self.description.setOpenExternalLinks(True)
        pl.addWidget(self.description, 2)
        pl.addWidget(self.use_history)
        self.files_label = hint("No file chosen. Wide (date,BTC,ETH…), long (date,asset,open,high,"
                                "low,close) or one file per asset (exchange / Yahoo exports).")
        pl.addWidget(self.files_label)
        frow = QHBoxLayout()
        self.choose_files = QPushButton("Choose files…")
        self.choose_files.clicked.connect(self._choose_files)
        self.clear_files = QPushButton("Clear")
        self.clear_files.clicked.connect(lambda: self.set_price_files([]))
        frow.addWidget(self.choose_files)
        frow.addWidget(self.clear_files)
        pl.addLayout(frow)
        form = QFormLayout()
        self.start_edit = QLineEdit()
        self.start_edit.setPlaceholderText("first row, e.g. 2025-10-09")
        self.start_edit.setToolTip("First row of the window: it becomes today (step 0).")
        self.end_edit = QLineEdit()
        self.end_edit.setPlaceholderText("last row, e.g. 2025-10-12")
        self.proxy_combo = QComboBox()
        self.proxy_combo.setEditable(True)
        self.proxy_combo.addItems(["BTC", "ETH"])
        self.proxy_combo.setToolTip("Assets a history lacks follow this asset through their beta.")
        form.addRow("From", self.start_edit)
        form.addRow("To", self.end_edit)
        form.addRow("Proxy", self.proxy_combo)
        pl.addLayout(form)
        brow = QHBoxLayout()
        self.run_button = QPushButton("Run replay")
        self.run_button.setObjectName("RunReplay")
        self.run_button.setToolTip("Replay the chosen crash or imported window on your holdings (Ctrl+R)")
        self.run_button.clicked.connect(self.request_run)
        self.save_window = QPushButton("Save window…")
        self.save_window.setObjectName("SaveWindow")
        self.save_window.setToolTip("Save the imported window (From/To) in the portfolio file as a "
                                    "named scenario: stored as moves, it no longer needs the CSV")
        self.save_window.clicked.connect(lambda: self.save_window_requested.emit(self.spec()))
        brow.addWidget(self.run_button)
        brow.addWidget(self.save_window)
        pl.addLayout(brow)

        # ---- results
        right = QVBoxLayout()
        self.metrics = MetricsStrip([
            ("before", "Value today", "Portfolio value at today's prices (step 0), USD."),
            ("after", "Value at the end", "Portfolio value at the last step's close, USD."),
            ("pnl", "P&L", "Value at the end minus value today (USD, % of today)."),
            ("dd", "Max drawdown", "Largest fall of the portfolio value from a running peak, over the "
                                   "step closes."),
            ("liq", "Liquidated", "Positions liquidated during the replay (so far / in total)."),
        ])
        right.addWidget(self.metrics)
        play = QHBoxLayout()
        self.play_button = QPushButton()
        self.play_button.setObjectName("PlayButton")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setText("Play")
        self.play_button.setToolTip("Play / pause the replay (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.speed = QComboBox()
        self.speed.setToolTip("Playback speed")
        for name, _ in SPEEDS:
            self.speed.addItem(name)
        self.speed.setCurrentIndex(2)
        self.speed.currentIndexChanged.connect(self._speed_changed)
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setObjectName("Timeline")
        self.timeline.setToolTip("Timeline: drag to scrub through the steps")
        self.timeline.setRange(0, 0)
        self.timeline.valueChanged.connect(self.set_step)
        self.step_label = StableLabel("—", min_width=430)      # new text each frame: no re-layout
        play.addWidget(self.play_button)
        play.addWidget(self.speed)
        play.addWidget(self.timeline, 1)
        play.addWidget(self.step_label)
        right.addLayout(play)
        self.scenario_label = QLabel("")
        self.scenario_label.setObjectName("Hint")
        self.scenario_label.setWordWrap(True)
        right.addWidget(self.scenario_label)

        self.value_chart = ReplayValueChart()
        self.value_chart.step_dragged.connect(self.set_step)
        self.health_chart = LinesChart("Loan health factor", "Health factor", 1.0, "liquidation below 1",
                                       clip=4.0, tooltip="Health factor of each loan at each step's worst "
                                       "prices; liquidated below 1 (shown capped at 4).")
        self.margin_chart = LinesChart("Cross account margin ratio", "Maintenance / equity", 1.0,
                                       "liquidation at 100%", clip=1.5,
                                       tooltip="Maintenance margin / equity of each cross account at "
                                       "each step's worst prices; liquidated at 1 (capped at 1.5; an "
                                       "account with no equity left shows at the cap).")
        self.positions_model = RecordsModel([
            ("Position", "Position id", False), ("Asset", "Asset (loans: main collateral)", False),
            ("Kind", "spot, perp or loan", False), ("Liq. price now", "Liquidation price today", True),
            ("Value today", "Value at step 0 (USD)", True), ("Value at step", "Value at the current step", True),
            ("P&L to step", "Value at the step − value today", True),
            ("Status", "Alive, or when it was liquidated (UTC)", False)])
        self.positions = make_table(self.positions_model)
        self.positions.setObjectName("ReplayPositions")
        for i, w in enumerate((140, 60, 60, 100, 100, 100, 100)):
            self.positions.setColumnWidth(i, w)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.health_chart)
        lower.addWidget(self.margin_chart)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.value_chart)
        self.splitter.addWidget(lower)
        self.splitter.addWidget(self.positions)
        self.splitter.setSizes([340, 210, 260])
        self.splitter.setChildrenCollapsible(False)
        right.addWidget(self.splitter, 1)
        outer.addLayout(right, 1)

        self.result = None
        self.step = 0
        self.price_files: list[str] = []
        self._flash: dict[str, int] = {}
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._speed_changed(self.speed.currentIndex())
        self.flash_timer = QTimer(self)
        self.flash_timer.setSingleShot(True)
        self.flash_timer.timeout.connect(self._end_flash)
        self._focus: tuple[str, str | None] | None = None
        self.step_texts: list[str] = []
        self.library_list.currentItemChanged.connect(self._on_current)
        self.library_list.itemDoubleClicked.connect(lambda *_: self.request_run())
        self.set_saved([], [])
        self.library_list.setCurrentRow(self._n_bundled - 1)
        self._quiet = False
        self._sync_buttons()

    # ---- source
    def selected_scenario(self) -> str | None:
        item = self.library_list.currentItem()
        return item.data(SCENARIO_ID) if item else None

    def select_scenario(self, scenario_id: str, run: bool = False) -> bool:
        """Select a bundled or saved scenario (and replay it when ``run``)."""
        for i in range(self.library_list.count()):
            item = self.library_list.item(i)
            if item.data(SCENARIO_ID) == scenario_id and item.flags() & Qt.ItemFlag.ItemIsSelectable:
                self._quiet = True
                try:
                    self.library_list.setCurrentRow(i)
                    self._show_entry(item)
                finally:
                    self._quiet = False
                if run:
                    self.request_run()
                return True
        return False

    def open_scenario(self, scenario_id: str, row_id: str | None = None) -> None:
        """Replay ``scenario_id`` and, when it arrives, show the step where ``row_id`` (a
        position or account) was liquidated, else the end (the crash matrix's cell click)."""
        self._focus = (scenario_id, row_id)
        if not self.select_scenario(scenario_id, run=True):
            self._focus = None

    def set_saved(self, scenarios: list, errors: list) -> None:
        """Show the portfolio's saved scenarios (engine ``SavedScenario``) after the bundled
        crashes, and its unreadable entries greyed out with the reason."""
        current = self.selected_scenario()
        self._quiet = True
        try:
            while self.library_list.count() > self._n_bundled:
                self.library_list.takeItem(self._n_bundled)
            head = QListWidgetItem("Saved in this portfolio")
            head.setFlags(Qt.ItemFlag.NoItemFlags)
            font = QFont(head.font())
            font.setBold(True)
            head.setFont(font)
            head.setToolTip("Scenarios saved in the portfolio file: a shock (Shock view, "
                            "Save as scenario) or an imported window (Save window below)")
            self.library_list.addItem(head)
            self.saved = {s.id: s for s in scenarios}
            for s in scenarios:
                item = QListWidgetItem(s.name)
                item.setData(SCENARIO_ID, s.id)
                item.setData(SOURCE, "saved")
                item.setToolTip(s.describe())
                self.library_list.addItem(item)
            for exc in errors:
                item = QListWidgetItem(f"⚠ unreadable: {exc.field}")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(str(exc))
                self.library_list.addItem(item)
            if not scenarios and not errors:
                item = QListWidgetItem("none yet")
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                item.setToolTip(head.toolTip())
                self.library_list.addItem(item)
            if current and not self.select_scenario(current) and self.use_library.isChecked():
                self.library_list.setCurrentRow(self._n_bundled - 1)
        finally:
            self._quiet = False
        self._sync_buttons()

    def _on_current(self, item, _prev=None) -> None:
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsSelectable:
            return
        self._show_entry(item)
        if not self._quiet:
            self.request_run()                  # selecting a crash runs it

    def _delete_selected(self) -> None:
        item = self.library_list.currentItem()
        if item is not None and item.data(SOURCE) == "saved":
            self.delete_requested.emit(item.data(SCENARIO_ID))

    def _sync_buttons(self) -> None:
        item = self.library_list.currentItem()
        self.delete_saved.setVisible(item is not None and item.data(SOURCE) == "saved")
        self.save_window.setEnabled(bool(self.price_files))

    def _show_entry(self, item, _prev=None):
        if item is None:
            return
        self.use_library.setChecked(True)
        sid = item.data(SCENARIO_ID)
        self._sync_buttons()
        if item.data(SOURCE) == "saved":
            self.description.setHtml(_saved_html(self.saved[sid]))
            return
        entry = next(e for e in library() if e["id"] == sid)
        path = entry.get("path") or {}
        days = entry.get("crash_days") or []
        btc = entry.get("btc_peak_to_trough")
        parts = [f"<h3 style='margin:0'>{html.escape(entry['name'])}</h3>"]
        meta = []
        if days:
            meta.append("Crash days: " + html.escape(" → ".join(dict.fromkeys([days[0], days[-1]]))))
        if path.get("steps"):
            meta.append(f"{path['steps']} bars of {path.get('bar_label', '')}")
        if btc is not None:
            meta.append(f"BTC peak to trough: {btc * 100:.0f}%")
        if meta:
            parts.append("<p style='color:gray'>" + " · ".join(meta) + "</p>")
        parts.append(f"<p>{html.escape(entry.get('description', ''))}</p>")
        if entry.get("reported_liquidations_text"):
            parts.append(f"<p><b>Reported liquidations:</b> {html.escape(entry['reported_liquidations_text'])}</p>")
        srcs = entry.get("sources") or []
        if srcs:
            parts.append("<p><b>Sources</b></p><ul style='margin-left:-20px'>")
            for s in srcs:
                url = s.get("url", "")
                title = html.escape(s.get("title", url))
                parts.append(f"<li>{html.escape(s.get('ref', ''))} <a href='{html.escape(url)}'>{title}</a></li>")
            parts.append("</ul>")
        if entry.get("data_note"):
            parts.append(f"<p style='color:gray; font-size:small'>{html.escape(entry['data_note'])}</p>")
        self.description.setHtml("".join(parts))

    def _choose_files(self):
        files, _ = QFileDialog.getOpenFileNames(self, "Price history CSV files", "",
                                                "Price history (*.csv *.txt *.tsv *.gz *.zip);;All files (*)")
        if files:
            self.set_price_files(files)

    def set_price_files(self, files: list[str]) -> None:
        self.price_files = list(files)
        if files:
            names = ", ".join(os.path.basename(f) for f in files[:4]) + (" …" if len(files) > 4 else "")
            self.files_label.setText(f"{len(files)} file{'s' if len(files) != 1 else ''}: {names}")
            self.use_history.setChecked(True)
            self.library_list.blockSignals(True)
            self.library_list.clearSelection()
            self.library_list.setCurrentRow(-1)
            self.library_list.blockSignals(False)
            self.description.setHtml(
                "<h3 style='margin:0'>Imported price history</h3><p>"
                + "<br>".join(html.escape(os.path.basename(f)) for f in files)
                + "</p><p>The first row of the window (From) is today: every later row is applied as a "
                  "move relative to it, step by step, with each bar's low and high deciding "
                  "liquidations. Assets the files lack follow the proxy through their beta.</p>")
        else:
            self.files_label.setText("No file chosen.")
            self.use_library.setChecked(True)
        self._sync_buttons()

    def spec(self) -> ReplaySpec:
        if self.use_history.isChecked() and self.price_files:
            return ReplaySpec(price_files=list(self.price_files), start=self.start_edit.text().strip() or None,
                              end=self.end_edit.text().strip() or None,
                              proxy=self.proxy_combo.currentText().strip().upper() or "BTC")
        return ReplaySpec(scenario_id=self.selected_scenario() or library()[-1]["id"],
                          proxy=self.proxy_combo.currentText().strip().upper() or "BTC")

    def request_run(self) -> None:
        self.pause()
        self.run_requested.emit(self.spec())

    # ---- playback
    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.result is None:
            return
        if self.step >= len(self.result.value) - 1:
            self.set_step(0)
        self.timer.start()
        self.play_button.setText("Pause")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def pause(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    def is_playing(self) -> bool:
        return self.timer.isActive()

    def _speed_changed(self, i: int) -> None:
        self.timer.setInterval(SPEEDS[i][1])

    def _tick(self) -> None:
        if self.result is None or self.step >= len(self.result.value) - 1:
            self.pause()
            return
        self.set_step(self.step + 1)

    # ---- results
    def set_result(self, result) -> None:
        prev = self.result
        self.result = result
        rep = result.report
        self.events = []
        for p in rep["positions"]:
            if p["liquidated"]:
                self.events.append((int(p["liquidation_step"]), p["id"]))
        self.step_texts = step_texts(result)
        times = result.times
        self.value_chart.set_data(self.step_texts, result.value, self.events, times)
        self.health_chart.set_series(self.step_texts, result.health, times)
        # an account is gone once liquidated: show its ratio up to that step only
        liq_step = {a["id"]: a["liquidation_step"] for a in rep["accounts"] if a["liquidated"]}
        margin = {}
        for k, v in result.margin_ratio.items():
            v = np.array(v, float)
            if k in liq_step and liq_step[k] is not None:
                s = int(liq_step[k])
                v[s] = max(v[s], 1.0)            # liquidated there: at or above 100%
                v[s + 1:] = np.nan               # gone afterwards
            margin[k] = v
        self.margin_chart.set_series(self.step_texts, margin, times)
        pf = rep["portfolio"]
        t = self.theme
        self.metrics["before"].set(fmt_money(pf["value_before"]))
        self.metrics["after"].set(fmt_money(pf["value_after"]),
                                  f"low {fmt_money(pf['min_value'])}, {self._short(pf['min_value_step'])}")
        self.metrics["pnl"].set(fmt_money(pf["pnl"], signed=True), fmt_pct(pf["pnl_fraction"]),
                                color=(t.loss if pf["pnl"] < 0 else t.gain) if t else None)
        self.metrics["dd"].set(fmt_pct(-pf["max_drawdown"]))
        self.scenario_label.setText(scenario_text(rep, result.times))
        n = len(result.value)
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, max(n - 1, 0))
        self.timeline.blockSignals(False)
        sid = rep["scenario"]["id"]
        keep = (prev is not None and prev.report["scenario"]["id"] == sid
                and len(prev.value) == n and 0 <= self.step < n)
        start = self.step if keep else (n - 1 if n <= 2 else 0)
        if self._focus is not None and self._focus[0] == sid:
            start = focus_step(rep, self._focus[1], n)
            self._focus = None
        self.step = -1
        self.set_step(start)

    def set_step(self, k: int) -> None:
        if self.result is None:
            return
        n = len(self.result.value)
        k = int(np.clip(k, 0, n - 1))
        prev = self.step
        self.step = k
        if self.timeline.value() != k:
            self.timeline.blockSignals(True)
            self.timeline.setValue(k)
            self.timeline.blockSignals(False)
        self.value_chart.set_step(k)
        self.health_chart.set_step(k)
        self.margin_chart.set_step(k)
        v = self.result.value[k]
        v0 = self.result.value[0]
        self.step_label.setText(f"{self.step_texts[k]}  ·  {fmt_money(v)} "
                                f"({fmt_pct(v / v0 - 1 if v0 else 0)})  ·  step {k}/{n - 1}")
        # flash positions liquidated between the previous step and this one
        if prev is not None and k > prev >= 0:
            for step, pid in self.events:
                if prev < step <= k:
                    self._flash[pid] = step
            if self._flash:
                self.flash_timer.start(FLASH_MS)
        elif k < (prev or 0):
            self._flash.clear()
        self._fill_positions(k)
        total = len(self.events)
        so_far = sum(1 for s, _ in self.events if s <= k)
        t = self.theme
        self.metrics["liq"].set(f"{so_far} of {total}" if total else "none",
                                f"by {self._short(k)}" if total else "no position liquidated",
                                color=t.loss if (t and so_far) else None)

    def _short(self, k: int) -> str:
        """Step ``k`` for a metric card: ``18 Dec 20:00`` (UTC, as the axis), or its label."""
        times = self.result.times
        return short_time(times[k]) if times else self.step_texts[k]

    def _fill_positions(self, k: int) -> None:
        rep = self.result.report
        t = self.theme
        rows, bgs, fgs, tips = [], {}, {}, {}
        for i, p in enumerate(rep["positions"]):
            series = self.result.position_values.get(p["id"])
            v_k = float(series[k]) if series is not None else (p["value_after"] if k == len(self.result.value) - 1 else float("nan"))
            pnl = v_k - p["value_before"]
            step = p["liquidation_step"]
            when = self.step_texts[step] if p["liquidated"] else ""
            if p["liquidated"] and step <= k:
                status = (f"liquidated with account {p['liquidated_with']} {when}"
                          if p.get("liquidated_with") else f"liquidated {when}")
            elif p["liquidated"]:
                status = f"alive (liquidated later, {when})"
            else:
                status = "alive"
            rows.append((p["id"], p["asset"], p["kind"], _price(p["liquidation_price"]),
                         fmt_money(p["value_before"]), fmt_money(v_k), fmt_money(pnl, signed=True), status))
            if t:
                if p["id"] in self._flash:
                    bgs[i] = t.flash_bg
                elif p["liquidated"] and step <= k:
                    bgs[i] = t.liquidated_bg
                fgs[(i, 6)] = t.loss if pnl < 0 else t.gain
            if p["liquidated"]:
                tips[i] = f"{p['id']} liquidated {when} (step {step})"
        self.positions_model.set_rows(rows, backgrounds=bgs, foregrounds=fgs, tips=tips)

    def _end_flash(self) -> None:
        self._flash.clear()
        if self.result is not None:
            self._fill_positions(self.step)

    def clear(self) -> None:
        self.pause()
        self.result = None

    def save_state(self, settings) -> None:
        settings.setValue("replay/scenario", self.selected_scenario() or "")
        settings.setValue("replay/speed", self.speed.currentIndex())
        settings.setValue("replay/splitter", self.splitter.saveState())
        settings.setValue("replay/files", self.price_files)
        settings.setValue("replay/start", self.start_edit.text())
        settings.setValue("replay/end", self.end_edit.text())

    def restore_state(self, settings) -> None:
        sid = settings.value("replay/scenario")
        if sid:
            self.select_scenario(str(sid))
        sp = settings.value("replay/speed")
        if sp is not None:
            try:
                self.speed.setCurrentIndex(int(sp))
            except (TypeError, ValueError):
                pass
        s = settings.value("replay/splitter")
        if s is not None:
            self.splitter.restoreState(s)
        files = settings.value("replay/files")
        if isinstance(files, str):
            files = [files]
        if files:
            files = [f for f in files if os.path.exists(f)]
            if files:
                self.price_files = files
                self.files_label.setText(f"{len(files)} file(s): " + ", ".join(os.path.basename(f) for f in files[:4]))
        self.start_edit.setText(str(settings.value("replay/start") or ""))
        self.end_edit.setText(str(settings.value("replay/end") or ""))
        self.use_library.setChecked(True)


def step_texts(result) -> list[str]:
    """One readable text per step: ``2025-12-18 15:00 UTC`` where the replay has times (a
    bundled crash, a saved or imported window), else the step's label (a shock)."""
    if result.times and len(result.times) == len(result.labels):
        return [utc_text(t) for t in result.times]
    return [str(label) for label in result.labels]


def scenario_text(rep: dict, times: list[str] | None) -> str:
    """The line under the timeline: what was replayed, its bars and span, what is proxied."""
    s = rep["scenario"]
    steps = s["steps"]
    if times:
        bars = f"{steps} bars of {s['bar']}" if s.get("bar") else f"{steps} step{'s' if steps != 1 else ''}"
        text = f"{s['name']} — {bars}, {utc_text(times[0])} → {utc_text(times[-1])}."
    else:
        text = f"{s['name']} — an instant shock."
    if s.get("saved"):
        text += " Saved in this portfolio."
    proxies = {a: m for a, m in rep["method"].items() if m.startswith("proxy")}
    if proxies:
        text += " Not in the data: " + "; ".join(f"{a} follows {m}" for a, m in proxies.items()) + "."
    if rep.get("warnings"):
        text += " Warnings: " + " ".join(rep["warnings"])
    return text


def focus_step(rep: dict, row_id: str | None, n: int) -> int:
    """Where to open a replay for a row of the crash matrix: the step its position or account
    was liquidated, else the end."""
    for r in (*rep["positions"], *rep["accounts"]):
        if r["id"] == row_id and r["liquidated"] and r["liquidation_step"] is not None:
            return int(r["liquidation_step"])
    return n - 1


def _saved_html(s) -> str:
    """The description of a saved scenario."""
    kind = "Instant shock" if s.kind == "shock" else f"Imported window, {s.steps} bars"
    parts = [f"<h3 style='margin:0'>{html.escape(s.name)}</h3>",
             f"<p style='color:gray'>{kind} · saved in this portfolio"
             + (f" on {html.escape(utc_text(s.raw.get('saved')))}" if s.raw.get("saved") else "") + "</p>",
             f"<p>{html.escape(s.describe())}.</p>"]
    if s.kind == "history":
        parts.append("<p>Every bar is applied as a move relative to the window's first row, which "
                     "becomes today; assets the window lacks follow "
                     f"{html.escape(s.proxy)} through their beta.</p>")
        if s.raw.get("sources"):
            parts.append("<p style='color:gray; font-size:small'>From "
                         + html.escape(", ".join(map(str, s.raw["sources"]))) + "</p>")
    else:
        parts.append("<p>BTC's move drives the other assets through their beta; an asset given "
                     "its own move keeps it.</p>")
    if s.raw.get("note"):
        parts.append(f"<p>{html.escape(str(s.raw['note']))}</p>")
    return "".join(parts)


def _price(x):
    from ..document import fmt_price
    return fmt_price(x) if x is not None else "—"
