"""The main window: menus, toolbar, the five views, status bar with progress and Cancel,
files (open/save/recent/import/drag-and-drop), autosave and recovery, settings, themes."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QMainWindow, QMessageBox, QProgressBar, QPushButton, QTabWidget,
                               QToolBar, QVBoxLayout, QWidget)

from appinfo import APP_NAME, APP_VERSION
from engine import InputError
from engine.resources import resource_path

from . import theme as themes
from ._compat import GuiThreadGC
from .autosave import Autosaver
from .charts import apply_theme_all
from .controller import Controller, describe_error
from .document import Document, fmt_money, fmt_pct
from .jobs import evaluate_shock, montecarlo_available
from .models import PortfolioDocument
from .views.montecarlo_view import MonteCarloView
from .views.portfolio_view import PortfolioView
from .views.replay_view import ReplayView
from .views.reverse_view import ReverseView
from .views.shock_view import ShockView
from .widgets import Debouncer, MetricsStrip

MAX_RECENT = 8
AUTOSAVE_MS = 3000
MC_DEBOUNCE_MS = 250
TABS = ("Portfolio", "Shock", "Replay", "Monte Carlo", "Reverse stress")
PORTFOLIO_FILTER = "Portfolio (*.json *.csv);;CrashLab portfolio (*.json);;Holdings CSV (*.csv);;All files (*)"


def demo_path() -> str:
    return str(resource_path("demo_portfolio.json"))


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
        self.confirm = confirm
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
        _apply_app_theme(self.theme)
        self.document = PortfolioDocument(self)
        self.controller = Controller(self.document, self)
        self.autosaver = Autosaver(autosave_dir)
        self.autosave_timer = Debouncer(AUTOSAVE_MS, self._autosave, self)
        self.mc_debounce = Debouncer(MC_DEBOUNCE_MS, self._restart_montecarlo, self)

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
        self.name_edit.setStyleSheet("font-size: 13pt; font-weight: 600; border: none; background: transparent;")
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
        self.montecarlo_view = MonteCarloView()
        self.reverse_view = ReverseView()
        for name, view in zip(TABS, (self.portfolio_view, self.shock_view, self.replay_view,
                                     self.montecarlo_view, self.reverse_view)):
            self.tabs.addTab(view, name)
        self.tabs.setTabToolTip(0, "Holdings, prices and accounts (Ctrl+1)")
        self.tabs.setTabToolTip(1, "Instant BTC shock with betas, sensitivity and ladder (Ctrl+2)")
        self.tabs.setTabToolTip(2, "Replay a historical crash or imported prices (Ctrl+3)")
        self.tabs.setTabToolTip(3, "Monte Carlo loss distribution and liquidation odds (Ctrl+4)")
        self.tabs.setTabToolTip(4, "BTC move that liquidates each position (Ctrl+5)")
        cl.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self._build_status_bar()
        self._build_actions()
        self._connect()

        # ---- state
        self.apply_theme(self.theme_choice)
        try:
            QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)
        except AttributeError:
            pass
        self.restore_state()
        self.resize(self.size().expandedTo(self.minimumSizeHint()))
        target = path or demo_path()
        if not self.open_path(target, remember=bool(path)):
            self.open_document(Document(), None)
        # import the Monte Carlo engine now, not on the first Run (keeps that click instant)
        QTimer.singleShot(0, montecarlo_available)

    # ------------------------------------------------------------------ construction
    def _build_status_bar(self):
        sb = self.statusBar()
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
        self.cancel_button.clicked.connect(self.cancel_all)
        sb.addPermanentWidget(self.validation_label)
        sb.addPermanentWidget(self.progress_label)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    def _action(self, text, slot, shortcut=None, tip="", menu=None, checkable=False):
        act = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                act.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip + (f" ({act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                                  if shortcut is not None else ""))
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        if menu is not None:
            menu.addAction(act)
        self.addAction(act)
        return act

    def _build_actions(self):
        mb = self.menuBar()
        std = QKeySequence.StandardKey
        m = mb.addMenu("&File")
        self.act_new = self._action("&New", self.new_document, std.New, "Start an empty portfolio", m)
        self.act_open = self._action("&Open…", self.open_dialog, std.Open, "Open a portfolio (JSON) or "
                                     "import holdings (CSV)", m)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.act_demo = self._action("Open &Demo Portfolio", lambda: self.open_path(demo_path(), remember=False),
                                     None, "Open the bundled demo portfolio", m)
        m.addSeparator()
        self.act_save = self._action("&Save", self.save, std.Save, "Save the portfolio", m)
        self.act_save_as = self._action("Save &As…", self.save_as, "Ctrl+Shift+S", "Save under a new name", m)
        m.addSeparator()
        exp = m.addMenu("&Export")
        self.act_export_csv = self._action("Results as &CSV…", self.export_csv, "Ctrl+Shift+E",
                                           "Export the results of the current view as CSV", exp)
        self.act_export_png = self._action("Current view as &PNG…", self.export_png, None,
                                           "Save the current view's charts as a PNG image", exp)
        self.act_export_html = self._action("&HTML report…", self.export_html, "Ctrl+E",
                                            "Write a self-contained HTML report of every result", exp)
        m.addSeparator()
        self._action("&Quit", self.close, std.Quit, "Quit CrashLab", m)

        m = mb.addMenu("&Edit")
        # short labels (the toolbar stays put); what would be undone goes in the tooltip
        undo = self.document.undo
        self.act_undo = QAction("&Undo", self)
        self.act_undo.setShortcuts([QKeySequence(std.Undo)])
        self.act_undo.triggered.connect(undo.undo)
        self.act_undo.setEnabled(False)
        undo.canUndoChanged.connect(self.act_undo.setEnabled)
        undo.undoTextChanged.connect(self._undo_text)
        self.act_redo = QAction("&Redo", self)
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.act_redo.triggered.connect(undo.redo)
        self.act_redo.setEnabled(False)
        undo.canRedoChanged.connect(self.act_redo.setEnabled)
        undo.redoTextChanged.connect(self._redo_text)
        for a in (self.act_undo, self.act_redo):
            m.addAction(a)
            self.addAction(a)
        m.addSeparator()
        self.act_add = self._action("&Add Spot Position", lambda: self._add("spot"), "Ctrl+Ins",
                                    "Add a spot position", m)
        self._action("Add &Perp", lambda: self._add("perp"), None, "Add a perpetual future", m)
        self._action("Add &Loan", lambda: self._add("loan"), None, "Add a loan", m)
        self.act_duplicate = self._action("&Duplicate", self._duplicate, "Ctrl+D",
                                          "Duplicate the selected positions", m)
        self.act_delete = self._action("De&lete Positions", self.portfolio_view.delete_selected, None,
                                       "Delete the selected positions", m)
        del_short = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.portfolio_view.table)
        del_short.setContext(Qt.ShortcutContext.WidgetShortcut)
        del_short.activated.connect(self.portfolio_view.delete_selected)

        m = mb.addMenu("&Run")
        self.act_run = self._action("&Run", self.run_current, "Ctrl+R",
                                    "Run the current view: replay, Monte Carlo or reverse stress", m)
        self.act_recompute = self._action("Re&compute", self.recompute, "F5",
                                          "Recompute every result from the current holdings", m)
        self.act_cancel = self._action("&Cancel", self.cancel_all, "Esc", "Cancel the computation in progress", m)
        self.act_cancel.setEnabled(False)
        play = QShortcut(QKeySequence(Qt.Key.Key_Space), self.replay_view)
        play.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        play.activated.connect(self.replay_view.toggle_play)

        m = mb.addMenu("&View")
        for i, name in enumerate(TABS):
            self._action(name, lambda _=False, i=i: self.tabs.setCurrentIndex(i), f"Ctrl+{i + 1}",
                         f"Show the {name} view", m)
        m.addSeparator()
        tm = m.addMenu("&Theme")
        grp = QActionGroup(self)
        self.theme_actions = {}
        for key, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            a = QAction(label, self, checkable=True)
            a.triggered.connect(lambda _=False, k=key: self.apply_theme(k))
            grp.addAction(a)
            tm.addAction(a)
            self.theme_actions[key] = a

        m = mb.addMenu("&Help")
        self._action("&Keyboard Shortcuts", self.show_shortcuts, "F1", "List the keyboard shortcuts", m)
        self._action("&About CrashLab", self.show_about, None, "About CrashLab", m)

        tb = QToolBar("Main")
        tb.setObjectName("MainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for a in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo, None,
                  self.act_run, self.act_recompute, self.act_cancel, None, self.act_export_html):
            if a is None:
                tb.addSeparator()
            else:
                tb.addAction(a)
        self.addToolBar(tb)

    def _undo_text(self, text: str) -> None:
        self.act_undo.setToolTip(f"Undo: {text} (Ctrl+Z)" if text else "Undo (Ctrl+Z)")

    def _redo_text(self, text: str) -> None:
        self.act_redo.setToolTip(f"Redo: {text} (Ctrl+Y)" if text else "Redo (Ctrl+Y)")

    def _connect(self):
        d, c = self.document, self.controller
        d.validated.connect(self._on_validated)
        d.path_changed.connect(self._update_title)
        d.name_changed.connect(self._on_name)
        d.undo.cleanChanged.connect(self._update_title)
        d.changed.connect(self.autosave_timer.trigger)
        c.analysis_ready.connect(self._on_analysis)
        c.shock_ready.connect(self._on_shock)
        c.replay_ready.connect(self._on_replay)
        c.mc_partial.connect(self.montecarlo_view.set_chunk)
        c.mc_ready.connect(self._on_mc_done)
        c.reverse_ready.connect(self._on_reverse)
        c.error.connect(self._on_error)
        c.busy_changed.connect(self._on_busy)
        c.progress.connect(self._on_progress)
        self.shock_view.shock_changed.connect(c.set_shock)
        self.shock_view.betas_changed.connect(c.set_beta_overrides)
        self.replay_view.run_requested.connect(self._run_replay)
        self.montecarlo_view.run_requested.connect(self.run_montecarlo)
        self.montecarlo_view.cancel_requested.connect(lambda: self.controller.cancel("montecarlo"))
        self.montecarlo_view.settings_changed.connect(self._mc_settings_changed)
        self.montecarlo_view.live.toggled.connect(lambda on: setattr(self.controller, "mc_live", on))
        self.reverse_view.run_requested.connect(self.controller.run_reverse)
        self.tabs.currentChanged.connect(self._tab_changed)

    # ------------------------------------------------------------------ files
    def open_document(self, doc: Document, path: str | None) -> None:
        self.replay_view.clear()
        self.document.load(doc, path)
        self.controller.recompute()
        self._update_title()

    def open_path(self, path: str, remember: bool = True) -> bool:
        """Open a portfolio JSON or import a holdings CSV; False (and a message) on bad input."""
        try:
            doc = Document.from_file(path)
        except InputError as exc:
            self.show_error("Cannot open the file", str(exc))
            return False
        except OSError as exc:
            self.show_error("Cannot open the file", f"{path}: {exc.strerror or exc}")
            return False
        is_json = Path(path).suffix.lower() == ".json"
        self.open_document(doc, str(path) if is_json else None)
        if remember:
            self._add_recent(str(path))
        msg = f"Opened {Path(path).name}" if is_json else f"Imported {Path(path).name} — save it as a portfolio"
        v = self.document.validation
        if v.n_errors:
            msg += f"; {v.n_errors} cell(s) need fixing (marked in red)"
        self.statusBar().showMessage(msg, 8000)
        return True

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled."""
        if not self.document.dirty or not self.confirm:
            return True
        r = QMessageBox.question(self, APP_NAME, "The portfolio has unsaved changes. Save them?",
                                 QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                 | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if r == QMessageBox.StandardButton.Cancel:
            return False
        if r == QMessageBox.StandardButton.Save:
            return self.save()
        return True

    def new_document(self) -> None:
        if not self.maybe_save():
            return
        self.open_document(Document({"name": "Untitled", "prices": {}, "accounts": [], "positions": []}), None)
        self.statusBar().showMessage("New portfolio: add prices and positions", 5000)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.settings.value("files/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open portfolio", start, PORTFOLIO_FILTER)
        if path:
            self.settings.setValue("files/last_dir", str(Path(path).parent))
            self.open_path(path)

    def save(self) -> bool:
        if not self.document.path:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        start = self.document.path or str(Path(str(self.settings.value("files/last_dir", str(Path.home()))))
                                          / f"{self.document.doc.name or 'portfolio'}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save portfolio", start, "CrashLab portfolio (*.json)")
        if not path:
            return False
        if not path.lower().endswith(".json"):
            path += ".json"
        self.settings.setValue("files/last_dir", str(Path(path).parent))
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        try:
            self.document.doc.save(path)
        except OSError as exc:
            self.show_error("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.document.set_path(str(path))
        self._add_recent(str(path))
        self.autosaver.discard()
        v = self.document.validation
        extra = f" ({v.n_errors} invalid cell(s) saved as typed)" if v.n_errors else ""
        self.statusBar().showMessage(f"Saved {Path(path).name}{extra}", 6000)
        self._update_title()
        return True

    def _add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("files/recent", recent[:MAX_RECENT])

    def recent_files(self) -> list[str]:
        v = self.settings.value("files/recent") or []
        if isinstance(v, str):
            v = [v]
        return [str(p) for p in v]

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = [p for p in self.recent_files() if os.path.exists(p)]
        if not files:
            a = self.recent_menu.addAction("No recent files")
            a.setEnabled(False)
            return
        for i, p in enumerate(files):
            a = self.recent_menu.addAction(f"&{i + 1} {Path(p).name}")
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.maybe_save() and self.open_path(p))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear list", lambda: self.settings.setValue("files/recent", []))

    # ---- drag and drop
    def dragEnterEvent(self, event):
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.isLocalFile() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event):
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            self.open_dropped(files)
            event.acceptProposedAction()

    def open_dropped(self, files: list[str]) -> None:
        """A portfolio JSON or holdings CSV opens; price-history CSVs go to the replay."""
        if len(files) == 1 and files[0].lower().endswith(".json"):
            if self.maybe_save():
                self.open_path(files[0])
            return
        if len(files) == 1 and _looks_like_holdings(files[0]):
            if self.maybe_save():
                self.open_path(files[0])
            return
        self.replay_view.set_price_files(files)
        self.tabs.setCurrentWidget(self.replay_view)
        self.statusBar().showMessage(f"{len(files)} price file(s) ready: press Run replay (Ctrl+R)", 8000)

    # ------------------------------------------------------------------ autosave
    def _autosave(self) -> None:
        if self.document.dirty:
            try:
                self.autosaver.save(self.document.doc.to_dict(), self.document.path)
            except OSError:
                pass
        else:
            self.autosaver.discard()

    def offer_recovery(self, ask=None) -> bool:
        """Offer to recover the newest autosave of a session that crashed."""
        orphans = self.autosaver.orphans()
        if not orphans:
            return False
        newest = orphans[0]
        try:
            data = Autosaver.read(newest)
        except (OSError, ValueError):
            Autosaver.remove(newest)
            return False
        import datetime as dt
        when = dt.datetime.fromtimestamp(float(data.get("saved_at", 0))).strftime("%Y-%m-%d %H:%M")
        name = data["document"].get("name", "Untitled") if isinstance(data["document"], dict) else "?"
        text = (f"CrashLab did not close properly last time. Recover the unsaved changes to "
                f"“{name}” from {when}?")
        if ask is None:
            r = QMessageBox.question(self, "Recover unsaved changes", text,
                                     QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                     QMessageBox.StandardButton.Yes)
            yes = r == QMessageBox.StandardButton.Yes
        else:
            yes = ask(text)
        if yes:
            doc = Document()
            try:
                doc.load_dict(data["document"])
            except InputError as exc:
                self.show_error("Cannot recover", str(exc))
                return False
            self.open_document(doc, data.get("path") or None)
            # mark as unsaved: an empty undo step keeps the document dirty
            self.document.undo.resetClean()
            self.statusBar().showMessage("Recovered unsaved changes — save them to keep them", 10000)
        for f in orphans:
            Autosaver.remove(f)
        return yes

    # ------------------------------------------------------------------ runs
    def recompute(self) -> None:
        self.controller.recompute()
        if self.replay_view.result is None and self.tabs.currentWidget() is self.reverse_view:
            self.controller.run_reverse()

    def run_current(self) -> None:
        w = self.tabs.currentWidget()
        if w is self.replay_view:
            self.replay_view.request_run()
        elif w is self.montecarlo_view:
            self.run_montecarlo(self.montecarlo_view.settings())
        elif w is self.reverse_view:
            self.controller.run_reverse()
        else:
            self.controller.recompute()

    def _run_replay(self, spec) -> None:
        self.controller.run_replay(spec)

    def run_montecarlo(self, settings) -> None:
        self.controller.mc_live = self.montecarlo_view.live.isChecked()
        self.montecarlo_view.last_chunk = None
        self.controller.run_montecarlo(settings)

    def _restart_montecarlo(self) -> None:
        if self.controller.mc_settings is not None and self.controller.mc_live:
            self.controller.run_montecarlo(self.montecarlo_view.settings())

    def _mc_settings_changed(self, settings) -> None:
        if self.controller.mc_settings is not None and self.controller.mc_live:
            self.controller.cancel("montecarlo")
            self.controller.mc_settings = settings
            self.mc_debounce.trigger()

    def cancel_all(self) -> None:
        if self.controller.cancel():
            if self.montecarlo_view.last_chunk is not None:
                self.montecarlo_view._draw_pending()          # show what was computed
                self.montecarlo_view.mark_cancelled()
            self.statusBar().showMessage("Cancelled", 4000)

    def _tab_changed(self, i: int) -> None:
        if self.tabs.widget(i) is self.reverse_view and self.reverse_view.report is None \
                and not self.controller.is_running("reverse"):
            self.controller.run_reverse()

    def _add(self, kind: str) -> None:
        self.tabs.setCurrentWidget(self.portfolio_view)
        self.portfolio_view.add_position(kind)

    def _duplicate(self) -> None:
        self.tabs.setCurrentWidget(self.portfolio_view)
        self.portfolio_view.duplicate_selected()

    # ------------------------------------------------------------------ results
    def _on_validated(self, v) -> None:
        if v.n_errors:
            self.validation_label.setText(f"⚠ {v.n_errors} invalid cell{'s' if v.n_errors != 1 else ''}")
            self.validation_label.setToolTip("Hover the red cells in the Portfolio view for the reason")
            self.validation_label.setStyleSheet(f"color: {self.theme.loss};")
        else:
            self.validation_label.setText("")
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
        today = evaluate_shock(analysis.book, analysis.betas, 0.0)
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

    def _on_mc_done(self, update) -> None:
        if update is not None:
            self.montecarlo_view.discard_pending()
            self.montecarlo_view.last_chunk = update
            self.montecarlo_view.draw_chunk(update)
            el = float(getattr(update.chunk, "elapsed", 0.0) or 0.0)
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
        names = {"analysis": "Analysis", "replay": "Replay", "montecarlo": "Monte Carlo", "reverse": "Reverse stress"}
        self.progress_label.setText(f"{names[channel]}: {text}")
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        if channel == "montecarlo":
            self.montecarlo_view.set_progress(done, total)

    def _on_error(self, channel: str, message: str) -> None:
        names = {"analysis": "Analysis", "replay": "Replay", "montecarlo": "Monte Carlo", "reverse": "Reverse stress"}
        self.statusBar().showMessage(f"{names[channel]} failed: {message}", 15000)
        if channel in ("replay", "montecarlo", "reverse"):
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
        doc = self.document
        file = Path(doc.path).name if doc.path else "not saved"
        self.setWindowTitle(f"{doc.doc.name} — {file}[*] — {APP_NAME}")
        self.setWindowModified(doc.dirty)

    def apply_theme(self, choice: str) -> None:
        self.theme_choice = choice
        self.theme = themes.resolve(choice)
        _apply_app_theme(self.theme)
        apply_theme_all(self, self.theme)
        self.document.set_theme(self.theme)
        for v in (self.shock_view, self.replay_view, self.montecarlo_view, self.reverse_view):
            v.theme = self.theme
        if getattr(self, "theme_actions", None):
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
        s = self.settings
        geo = s.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1480, 920)
        st = s.value("window/state")
        if st is not None:
            self.restoreState(st)
        for v in (self.portfolio_view, self.shock_view, self.replay_view, self.montecarlo_view):
            v.restore_state(s)
        self.controller.shock_move = self.shock_view.move()
        tab = s.value("window/tab")
        if tab is not None:
            try:
                self.tabs.setCurrentIndex(int(tab))
            except (TypeError, ValueError):
                pass

    def save_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        for v in (self.portfolio_view, self.shock_view, self.replay_view, self.montecarlo_view):
            v.save_state(s)
        s.sync()

    # ------------------------------------------------------------------ help
    def show_shortcuts(self) -> None:
        rows = [("Ctrl+N / Ctrl+O / Ctrl+S / Ctrl+Shift+S", "New, open, save, save as"),
                ("Ctrl+Z / Ctrl+Y", "Undo, redo"), ("Ctrl+Ins / Ctrl+D / Delete", "Add, duplicate, delete positions"),
                ("Ctrl+R", "Run the current view (replay, Monte Carlo, reverse stress)"),
                ("F5", "Recompute everything"), ("Esc", "Cancel the computation in progress"),
                ("Space", "Play / pause the replay"), ("Ctrl+1 … Ctrl+5", "Switch views"),
                ("Ctrl+E / Ctrl+Shift+E", "HTML report, results CSV"), ("F1", "This list")]
        text = "<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows) + "</table>"
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self._help_box = box

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME} {APP_VERSION}</b><p>What does the next crash do to your holdings? "
                          "Liquidation prices, crash replays, shocks, Monte Carlo and reverse stress for "
                          "spot, perpetuals and loans.</p><p>Offline and private: your holdings never "
                          "leave this machine.</p>")

    # ------------------------------------------------------------------ export
    def export_csv(self) -> None:
        from .export import montecarlo_frames, replay_frames, reverse_frame, shock_frame, write_csv
        w = self.tabs.currentWidget()
        frames, name = None, "results"
        if w is self.replay_view and self.replay_view.result is not None:
            frames, name = replay_frames(self.replay_view.result), "replay"
        elif w is self.montecarlo_view and self.montecarlo_view.last_chunk is not None:
            frames, name = montecarlo_frames(self.montecarlo_view.last_chunk), "montecarlo"
        elif w is self.reverse_view and self.reverse_view.report is not None:
            frames, name = reverse_frame(self.reverse_view.report), "reverse-stress"
        elif self.controller.shock is not None:
            frames, name = shock_frame(self.controller.shock), "shock"
        if frames is None:
            self.show_error("Nothing to export", "Run a computation first.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export results as CSV", f"{name}.csv", "CSV (*.csv)")
        if path:
            write_csv(path, frames)
            self.statusBar().showMessage(f"Exported {Path(path).name}", 5000)

    def export_png(self) -> None:
        from .export import write_png
        path, _ = QFileDialog.getSaveFileName(self, "Save view as PNG",
                                              f"{TABS[self.tabs.currentIndex()].lower().replace(' ', '-')}.png",
                                              "PNG image (*.png)")
        if path:
            write_png(path, self.tabs.currentWidget())
            self.statusBar().showMessage(f"Saved {Path(path).name}", 5000)

    def export_html(self) -> None:
        from .export import write_html_report
        path, _ = QFileDialog.getSaveFileName(self, "Write HTML report",
                                              f"{self.document.doc.name or 'crashlab'}-report.html",
                                              "HTML (*.html)")
        if path:
            write_html_report(path, self)
            self.statusBar().showMessage(f"Report written to {Path(path).name}", 5000)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Stop every worker thread and wait for it (idempotent)."""
        if self._shut:
            return
        self._shut = True
        self.replay_view.pause()
        self.autosave_timer.cancel()
        self.mc_debounce.cancel()
        self.controller.shutdown()
        self.gc.stop()

    def closeEvent(self, event):
        if not self._shut and not self.maybe_save():
            event.ignore()
            return
        self.save_state()
        self.shutdown()
        self.autosaver.close()
        if self._error_box is not None:
            self._error_box.close()
        event.accept()


def _apply_app_theme(theme) -> None:
    """Palette and style sheet of the application (skipped when unchanged: re-polishing
    every widget is slow)."""
    app = QApplication.instance()
    if app is None:
        return
    css = themes.stylesheet(theme)
    if getattr(app, "_crashlab_theme", None) == theme.name and app.styleSheet() == css:
        return
    app.setPalette(themes.palette(theme))
    app.setStyleSheet(css)
    app._crashlab_theme = theme.name


def _looks_like_holdings(path: str) -> bool:
    """A CSV whose header names position fields (not a price history)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            head = fh.readline().lower()
    except OSError:
        return False
    cols = {c.strip().strip('"') for c in head.replace(";", ",").replace("\t", ",").split(",")}
    return bool(cols & {"kind", "quantity", "qty", "entry_price", "side", "collateral", "wallet_balance"}) \
        and not ({"open", "close"} <= cols)
