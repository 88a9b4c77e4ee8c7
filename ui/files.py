"""The window's files: open, save, save as, recent files, drag and drop, autosave and the
offer to recover a crashed session's autosave.

:class:`Files` is owned by the main window. It loads documents into the window's
:class:`ui.models.PortfolioDocument` and reports through signals, which the window routes:
``opened`` (recompute, title), ``price_files_dropped`` (to the Replay view), ``message``
(status bar) and ``failed`` (an error box).
"""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from appinfo import APP_NAME
from engine import InputError
from engine.resources import resource_path

from .autosave import Autosaver
from .document import Document
from .models import PortfolioDocument
from .widgets import Debouncer

MAX_RECENT = 8
AUTOSAVE_MS = 3000
PORTFOLIO_FILTER = ("Portfolio or venue export (*.json *.csv *.tsv *.txt);;CrashLab portfolio (*.json);;"
                    "Holdings CSV (*.csv);;All files (*)")


def demo_path() -> str:
    return str(resource_path("demo_portfolio.json"))


class Files(QObject):
    """Open/save/recent/drop/autosave/recovery for one window's document.

    Parameters
    ----------
    window : QWidget
        Parent of the dialogs.
    document : PortfolioDocument
        The document files are loaded into and saved from.
    settings : QSettings
        Recent files and the last folder.
    autosave_dir : str, optional
        Folder for autosaves (default: AppDataLocation/autosave).
    confirm : bool
        Ask before discarding unsaved changes (tests turn it off).
    """

    opened = Signal()                      # a document was loaded
    price_files_dropped = Signal(list)     # dropped files that are not a portfolio
    message = Signal(str, int)             # status text, milliseconds
    failed = Signal(str, str)              # title, text

    def __init__(self, window: QWidget, document: PortfolioDocument, settings: QSettings,
                 autosave_dir: str | None = None, confirm: bool = True):
        super().__init__(window)
        self.window = window
        self.document = document
        self.settings = settings
        self.confirm = confirm
        self.autosaver = Autosaver(autosave_dir)
        self.autosave_timer = Debouncer(AUTOSAVE_MS, self._autosave, self)
        document.changed.connect(self.autosave_timer.trigger)

    # ---- open
    def open_document(self, doc: Document, path: str | None) -> None:
        self.document.load(doc, path)
        self.opened.emit()

    def open_path(self, path: str, remember: bool = True) -> bool:
        """Open a portfolio JSON or import any other known file (a holdings CSV, a venue's
        export); False (and a message) on bad input."""
        try:
            doc = Document.from_file(path)
        except InputError as exc:
            self.failed.emit("Cannot open the file", str(exc))
            return False
        except OSError as exc:
            self.failed.emit("Cannot open the file", f"{path}: {exc.strerror or exc}")
            return False
        own = doc.imported is not None and doc.imported.own
        self.open_document(doc, str(path) if own else None)      # an import is saved elsewhere
        if remember:
            self.add_recent(str(path))
        msg = (f"Opened {Path(path).name}" if own else
               f"Imported {Path(path).name} ({doc.imported.kind}) — save it as a portfolio")
        if doc.imported is not None and doc.imported.notes:
            msg += f"; {len(doc.imported.notes)} note(s): {doc.imported.notes[0]}"
        v = self.document.validation
        if v.n_errors:
            msg += f"; {v.n_errors} cell(s) need fixing (marked in red)"
        self.message.emit(msg, 8000)
        return True

    def open_demo(self) -> bool:
        return self.open_path(demo_path(), remember=False)

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled."""
        if not self.document.dirty or not self.confirm:
            return True
        r = QMessageBox.question(self.window, APP_NAME, "The portfolio has unsaved changes. Save them?",
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
        self.message.emit("New portfolio: add prices and positions", 5000)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.settings.value("files/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self.window, "Open portfolio", start, PORTFOLIO_FILTER)
        if path:
            self.settings.setValue("files/last_dir", str(Path(path).parent))
            self.open_path(path)

    # ---- save
    def save(self) -> bool:
        if not self.document.path:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        """Ask for a file name (proposed: the portfolio's name, in the portfolio's folder) and
        save there."""
        folder = (Path(self.document.path).parent if self.document.path
                  else Path(str(self.settings.value("files/last_dir", str(Path.home())))))
        start = str(folder / f"{file_stem(self.document.doc.name)}.json")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save portfolio", start, "CrashLab portfolio (*.json)")
        if not path:
            return False
        if not path.lower().endswith(".json"):
            path += ".json"
        self.settings.setValue("files/last_dir", str(Path(path).parent))
        return self.save_to(path, follow_name=True)

    def save_to(self, path: str, follow_name: bool = False) -> bool:
        """Save to ``path``. With ``follow_name`` (Save As) a portfolio still called
        "Untitled", or named like its previous file, takes the new file's name, so the name
        and the file stay together."""
        name = self.document.doc.name
        old_stem = Path(self.document.path).stem if self.document.path else None
        if follow_name and name.strip() in ("", "Untitled", old_stem) and Path(path).stem != name:
            self.document.rename(Path(path).stem)
        try:
            self.document.doc.save(path)
        except OSError as exc:
            self.failed.emit("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.document.set_path(str(path))
        self.add_recent(str(path))
        self.autosaver.discard()
        v = self.document.validation
        extra = f" ({v.n_errors} invalid cell(s) saved as typed)" if v.n_errors else ""
        self.message.emit(f"Saved {Path(path).name}{extra}", 6000)
        return True

    # ---- recent files
    def add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("files/recent", recent[:MAX_RECENT])

    def recent_files(self) -> list[str]:
        v = self.settings.value("files/recent") or []
        if isinstance(v, str):
            v = [v]
        return [str(p) for p in v]

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        files = [p for p in self.recent_files() if os.path.exists(p)]
        if not files:
            a = menu.addAction("No recent files")
            a.setEnabled(False)
            return
        for i, p in enumerate(files):
            a = menu.addAction(f"&{i + 1} {Path(p).name}")
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.maybe_save() and self.open_path(p))
        menu.addSeparator()
        menu.addAction("Clear list", lambda: self.settings.setValue("files/recent", []))

    # ---- import into this book
    def import_into_book(self, paths: list[str]) -> bool:
        """Add the positions, accounts and prices of ``paths`` (any known file) to the open
        book (:func:`engine.importers.merge_books`); the book stays open, marked unsaved.
        False (and a message) when a file cannot be read: then nothing is added."""
        from engine.importers import import_file, merge_books
        imports = []
        for path in paths:
            try:
                imports.append((Path(path).name, import_file(path)))
            except InputError as exc:
                self.failed.emit("Cannot import the file", str(exc))
                return False
        merged = merge_books(self.document.doc.to_dict(), imports)
        doc = Document(merged.raw)
        self.open_document(doc, self.document.path)
        self.document.undo.resetClean()                  # unsaved: the import is not in the file yet
        names = ", ".join(name for name, _ in imports)
        msg = f"Imported {names} into this book"
        notes = [str(n) for n in merged.notes] + [str(n) for _, imp in imports for n in imp.notes]
        if merged.needs:
            msg += f"; it needs {len(merged.needs)} value(s): {merged.needs[0]}"
        elif notes:
            msg += f"; {len(notes)} note(s): {notes[0]}"
        self.message.emit(msg, 10000)
        return True

    def import_dialog(self) -> None:
        start = str(self.settings.value("files/last_dir", str(Path.home())))
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Import into this book", start,
                                                PORTFOLIO_FILTER)
        if paths:
            self.settings.setValue("files/last_dir", str(Path(paths[0]).parent))
            self.import_into_book(paths)

    # ---- drag and drop
    def open_dropped(self, files: list[str]) -> None:
        """A portfolio file (CrashLab's or a venue's, told by content) opens; several are
        imported into this book; price-history files go to the replay."""
        from engine.importers import sniff_file
        kinds = [sniff_file(f) for f in files]
        # a JSON file is never a price history: an unknown one opens to say what it is
        books = [f for f, k in zip(files, kinds)
                 if (k is not None and k.portfolio) or (k is None and f.lower().endswith(".json"))]
        if books and len(books) == len(files):
            if len(books) == 1:
                if self.maybe_save():
                    self.open_path(books[0])
            else:
                self.import_into_book(books)
            return
        if books:
            self.failed.emit("Cannot drop these files together",
                             "Drop portfolio files and price histories separately: "
                             + ", ".join(Path(f).name for f in books) + " hold positions.")
            return
        self.price_files_dropped.emit(list(files))
        self.message.emit(f"{len(files)} price file(s) ready: press Run replay (Ctrl+R)", 8000)

    # ---- autosave and recovery
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
        when = dt.datetime.fromtimestamp(float(data.get("saved_at", 0))).strftime("%Y-%m-%d %H:%M")
        name = data["document"].get("name", "Untitled") if isinstance(data["document"], dict) else "?"
        text = (f"CrashLab did not close properly last time. Recover the unsaved changes to "
                f"“{name}” from {when}?")
        if ask is None:
            r = QMessageBox.question(self.window, "Recover unsaved changes", text,
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
                self.failed.emit("Cannot recover", str(exc))
                return False
            self.open_document(doc, data.get("path") or None)
            # mark as unsaved: an empty undo step keeps the document dirty
            self.document.undo.resetClean()
            self.message.emit("Recovered unsaved changes — save them to keep them", 10000)
        for f in orphans:
            Autosaver.remove(f)
        return yes

    def close(self) -> None:
        """Stop autosaving and remove this session's autosave and lock (clean exit)."""
        self.autosave_timer.cancel()
        self.autosaver.close()


def file_stem(name: str) -> str:
    """A file name (without extension) for a portfolio name: characters that are not safe
    in file names on Windows, macOS or Linux become ``-``."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", name or "").strip(" .-")
    return stem or "portfolio"

