"""GUI entry point: ``run_gui(argv)`` (called by ``main.py``).

``python main.py [FILE]`` opens the window on FILE (default: the bundled demo portfolio).
``python main.py --screenshots DIR`` writes a PNG of every view to DIR and exits.
``--theme light|dark|system`` overrides the saved theme for this run.
"""
from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer  # PySide6 before pyqtgraph
from PySide6.QtWidgets import QApplication, QMessageBox

from appinfo import APP_ID, APP_NAME, APP_VERSION, ORG_DOMAIN, ORG_NAME

log = logging.getLogger("crashlab")


class FileOpener(QObject):
    """Opens the files the system hands over as ``QFileOpenEvent`` (macOS: a portfolio
    double-clicked in Finder, dropped on the Dock icon, or "Open With"). The window asks to
    save unsaved changes first. Files that arrive before the window exists (macOS sends the
    event while the app starts) are opened once :meth:`attach` gives the window."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.window = None
        self.pending: list[str] = []

    def attach(self, window) -> None:
        self.window = window
        pending, self.pending = self.pending, []
        for path in pending:
            self.open(path)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.FileOpen:
            path = event.file() or event.url().toLocalFile()
            if path:
                self.open(path)
            return True
        return super().event(event)

    def open(self, path: str) -> bool:
        w = self.window
        if w is None:
            self.pending.append(path)
            return False
        w.raise_()
        w.activateWindow()
        return bool(w.files.maybe_save() and w.files.open_path(path))


class CrashLabApplication(QApplication):
    """The application: forwards file-open events to its :class:`FileOpener`."""

    def __init__(self, argv: list[str]):
        super().__init__(argv)
        self.file_opener = FileOpener(self)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.FileOpen:
            return self.file_opener.event(event)
        return super().event(event)


def prepare_memory() -> None:
    """Before any thread starts: every thread shares a few malloc arenas
    (:func:`ui.jobs.limit_arenas`), so that repeated Monte Carlo runs do not leave each
    run's fragments in arenas of their own (``bench/bench_memory.py``)."""
    from .jobs import limit_arenas
    limit_arenas()


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = CrashLabApplication([sys.argv[0] if sys.argv else APP_NAME] + list(argv or []))
    app.setOrganizationName(ORG_NAME)
    app.setOrganizationDomain(ORG_DOMAIN)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(APP_VERSION)
    app.setDesktopFileName(APP_ID)       # ties windows to org.crashlab.CrashLab.desktop (icon, name)
    app.setStyle("Fusion")
    from engine.resources import resource_path
    icon = resource_path("icons", "app.png")
    if icon.exists():
        from PySide6.QtGui import QIcon
        app.setWindowIcon(QIcon(str(icon)))
    return app


def setup_logging() -> Path | None:
    """Rotating log in the user's app data folder; stdout/stderr go there when frozen."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    if not base:
        return None
    folder = Path(base) / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / "crashlab.log", maxBytes=1_000_000,
                                                       backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.captureWarnings(True)       # numerical warnings go to the log, never to the user
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if getattr(sys, "frozen", False):
        stream = open(folder / "output.log", "a", encoding="utf-8", buffering=1)
        sys.stdout = sys.stderr = stream
    return folder / "crashlab.log"


class ExceptionDialog:
    """sys.excepthook replacement: log the traceback, show one dialog at a time."""

    def __init__(self, log_path: Path | None):
        self.log_path = log_path
        self.box: QMessageBox | None = None
        self.count = 0

    def __call__(self, exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("Unhandled exception:\n%s", text)
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        from engine import InputError
        self.count += 1
        if issubclass(exc_type, InputError):
            message = str(exc)
        else:
            message = (f"Something went wrong: {exc_type.__name__}: {exc}\n\nYour holdings are autosaved. "
                       + (f"Details are in {self.log_path}." if self.log_path else ""))
        if self.box is not None and self.box.isVisible():
            self.box.setInformativeText(f"{self.count} errors so far; see the log for all of them.")
            return
        self.box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, message)
        self.box.setDetailedText(text)
        self.box.setWindowModality(Qt.WindowModality.NonModal)
        self.box.show()


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="crashlab", description="CrashLab desktop app")
    ap.add_argument("file", nargs="?", help="portfolio JSON or holdings CSV (default: the demo)")
    ap.add_argument("--screenshots", metavar="DIR", help="write a PNG of every view to DIR and exit")
    ap.add_argument("--prices", action="append", default=[],
                    help="with --screenshots: price CSVs to replay instead of a bundled crash")
    ap.add_argument("--theme", choices=("system", "light", "dark"), help="colour theme for this run")
    return ap.parse_args(argv)


def run_gui(argv: list[str]) -> int:
    args = parse_args(list(argv))
    if args.screenshots:
        from .screenshots import main as shots
        return shots([args.screenshots] + [f"--prices={p}" for p in args.prices]
                     + ([f"--theme={args.theme}"] if args.theme else []))
    prepare_memory()
    app = make_app()
    log_path = setup_logging()
    sys.excepthook = ExceptionDialog(log_path)
    from .main_window import MainWindow
    path = args.file
    if path and not os.path.exists(path):
        print(f"error: field 'path': file not found (value {path!r})", file=sys.stderr)
        return 2
    window = MainWindow(path=path, theme=args.theme)
    window.show()
    if isinstance(app, CrashLabApplication):
        app.file_opener.attach(window)
    QTimer.singleShot(0, window.files.offer_recovery)
    log.info("CrashLab %s started", APP_VERSION)
    return app.exec()
