"""The main window: layout and routing. It builds the header, the six views and the
status bar (progress and Cancel), and routes signals between them, the document, the
controller (:mod:`ui.controller`, which owns every run) and the window's files
(:mod:`ui.files`). Menus and the toolbar are in :mod:`ui.actions`, the theme in
:mod:`ui.theme`, what is kept between sessions in :mod:`ui.window_state`."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QTabWidget, QVBoxLayout, QWidget)

from appinfo import APP_NAME
from engine.resources import resource_path

from . import actions, window_state
from . import theme as themes
from ._compat import GuiThreadGC
from .charts import apply_theme_all
from .controller import Controller
from .document import Document, fmt_money, fmt_pct
from .files import Files, demo_path
from .jobs import montecarlo_available
from .models import PortfolioDocument
from .scenario_store import ScenarioStore, save_shock_dialog, save_window_dialog
from .views.matrix_view import MatrixView
from .views import planner_view
from .views.montecarlo_view import MonteCarloView
from .views.portfolio_view import PortfolioView
from .views.replay_view import ReplayView
from .views.reverse_view import ReverseView
from .views.shock_view import ShockView
from .widgets import MetricsStrip

TABS = ("Portfolio", "Shock", "Replay", "Crash matrix", "Monte Carlo", "Reverse stress")
CHANNEL_NAMES = {"analysis": "Analysis", "replay": "Replay", "montecarlo": "Monte Carlo",
                 "reverse": "Reverse stress", "matrix": "Crash matrix", "plan": "Survival planner"}

__all__ = ["MainWindow", "demo_path"]


class MainWindow(QMainWindow):
    """CrashLab's main window.

    Parameters
    ----------
    settings : QSettings, optional
        Where window state and last choices live (tests pass a temporary INI file).
    autosave_dir : str, optional
        Folder for autosaves (default: AppDataLocation/autosave).
    confirm : bool
        Ask before discarding unsaved changes (tests turn it off).
    """

    error_shown = Signal(str)

    def __init__(self, path: str | None = None, settings: QSettings | None = None,
                 autosave_dir: str | None = None, confirm: bool = True, theme: str | None = None):
        super().__init__()
        self.settings = settings if settings is not None else QSettings()
        self.setWindowTitle(APP_NAME)
        icon = resource_path("icons", "app.png")
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)
        self.last_error = ""
        self._error_box: QMessageBox | None = None
        self._shut = False

        self.gc = GuiThreadGC(self)
        # palette and style sheet first: polishing widgets once is much cheaper than re-polishing
        self.theme_choice = theme or str(self.settings.value("ui/theme", "system"))
        self.theme = themes.resolve(self.theme_choice)
        themes.apply_to_app(self.theme)
        self.document = PortfolioDocument(self)
        self.controller = Controller(self.document, self)
        self.files = Files(self, self.document, self.settings, autosave_dir, confirm)
        self.scenarios = ScenarioStore(self.document, self)

        # ---- central: header + tabs
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(8, 6, 8, 0)
        cl.setSpacing(4)
        header = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("PortfolioName")
        self.name_edit.setToolTip("Portfolio name (saved in the file)")
        self.name_edit.setMinimumWidth(300)
        self.name_edit.setMaximumWidth(360)
        self._name_style = "font-size: 13pt; font-weight: 600; border: none; background: transparent;"
        self.name_edit.setStyleSheet(self._name_style)
        # renamed by clicking it, never by a stray key or Tab: focus starts in the holdings table
        self.name_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.name_edit.editingFinished.connect(lambda: self.document.rename(self.name_edit.text().strip() or "Untitled"))
        header.addWidget(self.name_edit)
        self.summary = MetricsStrip([
            ("value", "Portfolio value", "Value of everything at today's prices (USD): spot, perp margins and "
                                         "unrealised P&L, cross wallets, loan collateral − debt."),
            ("positions", "Positions", "Positions in the analysis (positions with errors are left out)."),
            ("nearest", "Nearest liquidation", "The position closest to its liquidation price: the move of "
                                               "its asset (other prices held) that liquidates it."),
            ("shock", "At the current shock", "Portfolio P&L at the BTC move set in the Shock view."),
        ])
        header.addWidget(self.summary, 1)
        cl.addLayout(header)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.portfolio_view = PortfolioView(self.document)
        self.shock_view = ShockView()
        self.replay_view = ReplayView()
        self.matrix_view = MatrixView()
        self.montecarlo_view = MonteCarloView()
        self.reverse_view = ReverseView()
        tips = ("Holdings, prices and accounts", "Instant BTC shock with betas, sensitivity and ladder",
                "Replay a historical crash, a saved scenario or imported prices, hour by hour",
                "Every crash at once: P&L and liquidation time of each position in each crash",
                "Monte Carlo loss distribution and liquidation odds",
                "BTC move that liquidates each position")
        for i, (name, view, tip) in enumerate(zip(TABS, (
                self.portfolio_view, self.shock_view, self.replay_view, self.matrix_view,
                self.montecarlo_view, self.reverse_view), tips)):
            self.tabs.addTab(view, name)
            self.tabs.setTabToolTip(i, f"{tip} (Ctrl+{i + 1})")
        self.planner_view = planner_view.install(self)       # "Survive", beside Reverse stress
        cl.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self._build_status_bar()
        actions.install(self)
        self._connect()

        # ---- state
        self.apply_theme(self.theme_choice)
        themes.watch_system_scheme(self._system_scheme_changed)
        self.restore_state()
        self.resize(self.size().expandedTo(self.minimumSizeHint()))
        if not self.files.open_path(path or demo_path(), remember=bool(path)):
            self.files.open_document(Document(), None)
        self.focus_table()
        # import the Monte Carlo engine now, not on the first Run (keeps that click instant)
        QTimer.singleShot(0, montecarlo_available)

    # ------------------------------------------------------------------ construction
    def _build_status_bar(self):
        sb = self.statusBar()
        self.autosave_label = QLabel("")
        self.autosave_label.setObjectName("AutosaveIndicator")
        self.autosave_label.setVisible(False)
        self.validation_label = QLabel("")
        self.progress_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setObjectName("StatusProgress")
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("StatusCancel")
        self.cancel_button.setToolTip("Cancel the computation in progress (Esc)")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.controller.cancel_all)
        sb.addPermanentWidget(self.autosave_label)
        sb.addPermanentWidget(self.validation_label)
        sb.addPermanentWidget(self.progress_label)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    def _connect(self):
        d, c, f = self.document, self.controller, self.files
        d.validated.connect(self._on_validated)
        d.path_changed.connect(self._update_title)
        d.name_changed.connect(self._on_name)
        d.undo.cleanChanged.connect(self._update_title)
        f.opened.connect(self._on_opened)
        f.price_files_dropped.connect(self._on_price_files)
        f.message.connect(self.statusBar().showMessage)
        f.failed.connect(self.show_error)
        f.autosave_state.connect(self._on_autosave_state)
        c.analysis_ready.connect(self._on_analysis)
        c.shock_ready.connect(self._on_shock)
        c.replay_ready.connect(self._on_replay)
        c.mc_partial.connect(self.montecarlo_view.set_chunk)
        c.mc_ready.connect(self._on_mc_done)
        c.reverse_ready.connect(self._on_reverse)
        c.matrix_ready.connect(self._on_matrix)
        c.error.connect(self._on_error)
        c.busy_changed.connect(self._on_busy)
        c.progress.connect(self._on_progress)
        c.cancelled_all.connect(self._on_cancelled_all)
        self.shock_view.shock_changed.connect(c.set_shock)
        self.shock_view.betas_changed.connect(c.set_beta_overrides)
        self.shock_view.depegs_changed.connect(c.set_depegs)
        self.replay_view.run_requested.connect(c.run_replay)
        self.replay_view.save_window_requested.connect(lambda spec: save_window_dialog(self, spec))
        self.replay_view.delete_requested.connect(self.scenarios.remove)
        self.shock_view.save_requested.connect(lambda: save_shock_dialog(self))
        self.scenarios.changed.connect(self.replay_view.set_saved)
        self.matrix_view.run_requested.connect(c.run_matrix)
        self.matrix_view.open_replay.connect(self.open_replay)
        self.montecarlo_view.run_requested.connect(self.run_montecarlo)
        self.montecarlo_view.cancel_requested.connect(lambda: c.cancel("montecarlo"))
        self.montecarlo_view.settings_changed.connect(c.montecarlo_settings_changed)
        self.montecarlo_view.live.toggled.connect(c.set_mc_live)
        self.reverse_view.run_requested.connect(c.run_reverse)
        self.tabs.currentChanged.connect(self._tab_changed)

    # ------------------------------------------------------------------ files
    def _on_opened(self) -> None:
        self.replay_view.clear()
        self.matrix_view.set_result(None)
        self.controller.recompute()
        self._update_title()
        self.focus_table()

    def focus_table(self) -> None:
        """Keyboard focus to the holdings table, on its first cell: typing edits a cell."""
        table = self.portfolio_view.table
        if not table.currentIndex().isValid() and table.model().rowCount() > 0:
            table.setCurrentIndex(table.model().index(0, 0))
        table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_price_files(self, files: list[str]) -> None:
        self.replay_view.set_price_files(files)
        self.tabs.setCurrentWidget(self.replay_view)

    def dragEnterEvent(self, event):
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.isLocalFile() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event):
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            self.files.open_dropped(files)
            event.acceptProposedAction()

    # ------------------------------------------------------------------ runs (the controller runs them)
    def recompute(self) -> None:
        self.controller.recompute()
        if self.replay_view.result is None and self.tabs.currentWidget() is self.reverse_view:
            self.controller.run_reverse()

    def run_current(self) -> None:
        """Ctrl+R: the current view's run."""
        w = self.tabs.currentWidget()
        if w is self.replay_view:
            self.replay_view.request_run()
        elif w is self.montecarlo_view:
            self.run_montecarlo(self.montecarlo_view.settings())
        elif w is self.reverse_view:
            self.controller.run_reverse()
        elif w is self.matrix_view:
            self.controller.run_matrix()
        else:
            self.controller.recompute()

    def run_montecarlo(self, settings) -> None:
        self.montecarlo_view.last_chunk = None
        self.controller.start_montecarlo(settings, live=self.montecarlo_view.live.isChecked())

    def _tab_changed(self, i: int) -> None:
        if self.tabs.widget(i) is self.reverse_view and self.reverse_view.report is None \
                and not self.controller.is_running("reverse"):
            self.controller.run_reverse()
        self._first_runs()

    def _first_runs(self) -> None:
        """The replay and the crash matrix show results the first time they are looked at."""
        port = self.document.validation.portfolio
        if port is None or not port.positions:
            return
        w, c = self.tabs.currentWidget(), self.controller
        if w is self.replay_view and self.replay_view.result is None and c.replay_spec is None \
                and self.replay_view.use_library.isChecked():
            self.replay_view.request_run()
        if w is self.matrix_view and not c.matrix_wanted:
            c.run_matrix()

    def open_replay(self, scenario_id: str, row_id=None) -> None:
        """A crash matrix cell: its scenario's replay, at the row's liquidation when it has one."""
        self.tabs.setCurrentWidget(self.replay_view)
        self.replay_view.open_scenario(scenario_id, row_id)

    def _on_autosave_state(self, error: str) -> None:
        """The persistent indicator: shown while autosaving fails."""
        self.autosave_label.setVisible(bool(error))
        self.autosave_label.setText("⚠ Autosave failing" if error else "")
        self.autosave_label.setToolTip(f"Unsaved changes are not protected against a crash: "
                                       f"{error}. Save the portfolio (Ctrl+S)." if error else "")
        self.autosave_label.setStyleSheet(f"color: {self.theme.loss}; font-weight: 600;" if error else "")

    # ------------------------------------------------------------------ results
    def _on_validated(self, v) -> None:
        if v.n_errors:
            self.validation_label.setText(f"⚠ {v.n_errors} invalid cell{'s' if v.n_errors != 1 else ''}")
            self.validation_label.setToolTip("Hover the red cells in the Portfolio view for the reason")
            self.validation_label.setStyleSheet(f"color: {self.theme.loss};")
        else:
            self.validation_label.setText("")
        if v.name is not None:            # the name is kept as typed and marked, like a cell
            self.name_edit.setToolTip(v.name.message)
            self.name_edit.setStyleSheet(self._name_style + f" color: {self.theme.loss};")
        else:
            self.name_edit.setToolTip("Portfolio name (saved in the file)")
            self.name_edit.setStyleSheet(self._name_style)
        self.summary["positions"].set(str(len(v.portfolio.positions) if v.portfolio else 0),
                                      f"{len(set(v.excluded))} left out" if v.excluded else "all valid")

    def _on_analysis(self, analysis) -> None:
        if analysis is None:
            self.document.holdings.set_analysis({}, {})
            self.document.accounts.set_today({})
            self.portfolio_view.set_analysis(None)
            self.shock_view.set_analysis(None, {})
            self.summary["value"].set("—")
            self.summary["nearest"].set("—")
            self.summary["shock"].set("—")
            return
        today = analysis.today                        # valued by the analysis job, off this thread
        values = {pid: float(v) for pid, v in zip(today.ids, today.value_before)}
        self.document.holdings.set_analysis(analysis.liquidation, values)
        self.document.accounts.set_today({a["id"]: {"value_before": a["value_before"],
                                                    "margin_ratio": a["margin_ratio"]}
                                          for a in today.accounts})
        self.portfolio_view.set_analysis(analysis)
        self.shock_view.set_analysis(analysis, self.controller.beta_overrides)
        self.summary["value"].set(fmt_money(analysis.value_today))
        rows = [r for r in analysis.liquidation.values() if r.get("distance") is not None]
        if rows:
            r = min(rows, key=lambda r: abs(r["distance"]))
            self.summary["nearest"].set(f"{r['id']}  {fmt_pct(r['distance'])}",
                                        f"{r['asset']} at {r['liquidation_price']:,.6g}",
                                        color=self.theme.loss if abs(r["distance"]) < 0.1 else None)
        else:
            self.summary["nearest"].set("none", "no liquidation price")
        self._first_runs()

    def _on_shock(self, result) -> None:
        self.shock_view.set_shock(result)
        pnl = result.portfolio_pnl
        before = result.portfolio_before
        self.summary["shock"].set(fmt_money(pnl, signed=True),
                                  f"BTC {fmt_pct(result.btc_move)} · {int(result.liquidated.sum())} liquidated",
                                  color=self.theme.loss if pnl < 0 else self.theme.gain)

    def _on_replay(self, result) -> None:
        self.replay_view.set_result(result)
        self.statusBar().showMessage(f"Replay done in {result.elapsed * 1000:.0f} ms", 4000)

    def _on_matrix(self, result) -> None:
        self.matrix_view.set_result(result)
        self.statusBar().showMessage(f"{len(result.report['scenarios'])} scenarios in "
                                     f"{result.elapsed * 1000:.0f} ms", 4000)

    def _on_mc_done(self, update) -> None:
        if update is not None:
            self.montecarlo_view.discard_pending()
            self.montecarlo_view.last_chunk = update
            self.montecarlo_view.draw_chunk(update)
            el = float(update.chunk.elapsed)
            self.statusBar().showMessage(f"Monte Carlo: {int(update.chunk.paths_done):,} paths in {el:.1f} s", 6000)

    def _on_reverse(self, rep) -> None:
        a = self.controller.analysis
        btc = None
        if a is not None and "BTC" in a.book.assets:
            btc = float(a.book.today[a.book.assets.index("BTC")])
        self.reverse_view.set_report(rep, btc)

    def _on_busy(self, channel: str, running: bool) -> None:
        any_running = any(self.controller.is_running(c) for c in self.controller.CHANNELS)
        self.act_cancel.setEnabled(any_running)
        self.cancel_button.setVisible(any_running)
        self.progress.setVisible(any_running)
        if not any_running:
            self.progress_label.setText("")
        if channel == "montecarlo":
            self.montecarlo_view.set_running(running)
        if channel == "reverse":
            self.reverse_view.set_running(running)
        if running:
            self.progress.setRange(0, 0)

    def _on_progress(self, channel: str, done: int, total: int, text: str) -> None:
        self.progress_label.setText(f"{CHANNEL_NAMES[channel]}: {text}")
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        if channel == "montecarlo":
            self.montecarlo_view.set_progress(done, total)
        if channel == "matrix":
            self.matrix_view.set_progress(done, total, text)

    def _on_cancelled_all(self) -> None:
        if self.montecarlo_view.last_chunk is not None:
            self.montecarlo_view._draw_pending()          # show what was computed
            self.montecarlo_view.mark_cancelled()
        self.statusBar().showMessage("Cancelled", 4000)

    def _on_error(self, channel: str, message: str) -> None:
        names = CHANNEL_NAMES
        self.statusBar().showMessage(f"{names[channel]} failed: {message}", 15000)
        if channel in ("replay", "montecarlo", "reverse", "matrix"):
            self.show_error(f"{names[channel]} failed", message)

    def show_error(self, title: str, text: str) -> None:
        """One non-blocking message box at a time (a new error replaces the text)."""
        self.last_error = text
        self.error_shown.emit(text)
        self.statusBar().showMessage(text, 15000)
        if self._error_box is None:
            box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.finished.connect(lambda *_: setattr(self, "_error_box", None))
            self._error_box = box
        else:
            self._error_box.setWindowTitle(title)
            self._error_box.setText(text)
        self._error_box.show()

    # ------------------------------------------------------------------ title, theme, settings
    def _on_name(self, name: str) -> None:
        if self.name_edit.text() != name:
            self.name_edit.setText(name)
            self.name_edit.setCursorPosition(0)
        self._update_title()

    def _update_title(self, *_) -> None:
        """The title names the file on disk first (its name inside the file after it when the
        two differ), so the title and the file never disagree."""
        self.setWindowTitle(window_title(self.document.doc.name, self.document.path))
        self.setWindowModified(self.document.dirty)

    def apply_theme(self, choice: str) -> None:
        self.theme_choice = choice
        self.theme = themes.resolve(choice)
        themes.apply_to_app(self.theme)
        apply_theme_all(self, self.theme)
        self.document.set_theme(self.theme)
        for v in (self.shock_view, self.replay_view, self.montecarlo_view, self.reverse_view):
            v.theme = self.theme
        self.matrix_view.apply_theme(self.theme)
        self.theme_actions[choice].setChecked(True)
        self.settings.setValue("ui/theme", choice)
        # redraw what is shown with the new colours
        if self.controller.analysis is not None:
            self._on_analysis(self.controller.analysis)
        self._on_validated(self.document.validation)
        if self.controller.shock is not None:
            self._on_shock(self.controller.shock)
        if self.montecarlo_view.last_chunk is not None:
            self.montecarlo_view.draw_chunk(self.montecarlo_view.last_chunk)
        if self.replay_view.result is not None:
            self.replay_view.set_step(self.replay_view.step)
        if self.reverse_view.report is not None:
            self._on_reverse(self.reverse_view.report)

    def _system_scheme_changed(self, *_):
        if self.theme_choice == "system":
            self.apply_theme("system")

    def restore_state(self) -> None:
        window_state.restore(self, self.settings)
        self.controller.shock_move = self.shock_view.move()

    def save_state(self) -> None:
        window_state.save(self, self.settings)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Stop every worker thread and wait for it (idempotent)."""
        if self._shut:
            return
        self._shut = True
        self.replay_view.pause()
        self.files.autosave_timer.cancel()
        self.controller.shutdown()
        self.gc.stop()

    def closeEvent(self, event):
        if not self._shut and not self.files.maybe_save():
            event.ignore()
            return
        self.save_state()
        self.shutdown()
        self.files.close()
        if self._error_box is not None:
            self._error_box.close()
        event.accept()


def window_title(name: str, path: str | None) -> str:
    """``mybook.json[*] — CrashLab``; ``mybook.json[*] (Demo book) — CrashLab`` when the
    portfolio's name is not the file's; ``Name (not saved)[*] — CrashLab`` before a save."""
    if not path:
        return f"{name} (not saved)[*] — {APP_NAME}"
    file = Path(path)
    extra = "" if name.strip() == file.stem else f" ({name})"
    return f"{file.name}[*]{extra} — {APP_NAME}"
