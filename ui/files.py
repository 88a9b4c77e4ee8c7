"""The window's files: open, save, save as, recent files, drag and drop, autosave and the
recovery of crashed sessions' autosaves.

:class:`Files` is owned by the main window. It loads documents into the window's
:class:`ui.models.PortfolioDocument` and reports through signals, which the window routes:
``opened`` (recompute, title), ``price_files_dropped`` (to the Replay view), ``message``
(status bar), ``failed`` (an error box) and ``autosave_state`` (the autosave indicator).

Saving never surprises: the file is written atomically through links to their target,
the previous version is kept as ``NAME.bak``, and a file another program changed since it
was opened (or last saved) is not overwritten without asking.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from appinfo import APP_NAME
from engine import InputError
from engine.atomic import (FileStamp, backup_path, clean_stale_temps, file_stamp, json_text,
                           write_text_atomic)
from engine.resources import resource_path

from .autosave import Autosaver, Orphan
from .document import Document
from .models import PortfolioDocument
from .widgets import Debouncer

log = logging.getLogger("crashlab")

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
    autosave_state = Signal(str)           # "" when autosaving works, else why it fails

    def __init__(self, window: QWidget, document: PortfolioDocument, settings: QSettings,
                 autosave_dir: str | None = None, confirm: bool = True):
        super().__init__(window)
        self.window = window
        self.document = document
        self.settings = settings
        self.confirm = confirm
        self.autosaver = Autosaver(autosave_dir)
        self.autosave_timer = Debouncer(AUTOSAVE_MS, self._autosave, self)
        self.autosave_error = ""           # why the last autosave failed ("" = it worked)
        self.stamp: FileStamp | None = None   # the open file as last read or written
        # asked when the file changed on disk since it was read: "overwrite", "save_as" or
        # "cancel" (tests replace it)
        self.ask_changed_on_disk = self._ask_changed_on_disk
        document.changed.connect(self.autosave_timer.trigger)

    # ---- open
    def open_document(self, doc: Document, path: str | None, stamp: FileStamp | None = None) -> None:
        self.document.load(doc, path)
        self.stamp = stamp
        self.opened.emit()

    def open_path(self, path: str, remember: bool = True) -> bool:
        """Open a portfolio JSON or import any other known file (a holdings CSV, a venue's
        export); False (and a message) on bad input."""
        try:
            stamp = file_stamp(path)
            doc = Document.from_file(path)
        except InputError as exc:
            self.failed.emit("Cannot open the file", str(exc))
            return False
        except OSError as exc:
            self.failed.emit("Cannot open the file", f"{path}: {exc.strerror or exc}")
            return False
        except Exception as exc:       # a defect: say so, never crash the window on a file
            log.exception("opening %s", path)
            self.failed.emit("Cannot open the file", f"{path}: unexpected error "
                                                     f"({type(exc).__name__}); see the log")
            return False
        own = doc.imported is not None and doc.imported.own
        if own and Path(path).suffix.lower() == ".json":
            clean_stale_temps(path)       # left by a save that was killed
        # an import is saved elsewhere (no path, no stamp)
        self.open_document(doc, str(path) if own else None, stamp if own else None)
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
        if self.document.path and _same_file(path, self.document.path):
            self.stamp = file_stamp(path)     # chosen again knowingly: no second question
        return self.save_to(path, follow_name=True)

    def save_to(self, path: str, follow_name: bool = False) -> bool:
        """Write the document to ``path`` (atomically, through a link, the previous version
        kept as ``NAME.bak``). When ``path`` is the open file and another program changed it
        since it was read or saved, ask first (:attr:`ask_changed_on_disk`). With
        ``follow_name`` (Save As) a portfolio still called "Untitled", or named like its
        previous file, takes the new file's name, so the name and the file stay together."""
        if self.document.path and _same_file(path, self.document.path) and self.stamp is not None:
            now = file_stamp(path)
            if now is not None and not self.stamp.same_content(now):
                choice = self.ask_changed_on_disk(path)
                if choice == "save_as":
                    return self.save_as()
                if choice != "overwrite":
                    self.message.emit("Not saved: the file on disk was changed by another "
                                      "program", 8000)
                    return False
        name = self.document.doc.name
        old_stem = Path(self.document.path).stem if self.document.path else None
        if follow_name and name.strip() in ("", "Untitled", old_stem) and Path(path).stem != name:
            self.document.rename(Path(path).stem)
        existed = os.path.exists(path)
        try:
            self.document.doc.save(path, backup=True)
        except OSError as exc:
            self.failed.emit("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.document.set_path(str(path))
        self.stamp = file_stamp(path)
        self.add_recent(str(path))
        self.autosaver.discard()
        v = self.document.validation
        extra = f" ({v.n_errors} invalid cell(s) saved as typed)" if v.n_errors else ""
        if existed:
            extra += f"; the previous version is kept as {backup_path(path).name}"
        self.message.emit(f"Saved {Path(path).name}{extra}", 8000)
        return True

    def _ask_changed_on_disk(self, path: str) -> str:
        box = QMessageBox(QMessageBox.Icon.Warning, "File changed on disk",
                          f"{Path(path).name} was changed by another program since you opened "
                          "or last saved it. Saving now replaces those changes (the current "
                          f"file is kept as {backup_path(path).name}).", parent=self.window)
        over = box.addButton("Overwrite", QMessageBox.ButtonRole.DestructiveRole)
        other = box.addButton("Save As…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(other)
        box.exec()
        clicked = box.clickedButton()
        return "overwrite" if clicked is over else ("save_as" if clicked is other else "cancel")

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
        if not self.document.dirty:
            self.autosaver.discard()
            return
        try:
            self.autosaver.save(self.document.doc.to_dict(), self.document.path, self.stamp)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            first = not self.autosave_error
            self.autosave_error = f"{self.autosaver.dir}: {reason}"
            log.warning("autosave failed: %s", self.autosave_error)
            self.autosave_state.emit(self.autosave_error)
            if first:           # one dialog per failing streak, the indicator stays
                self.failed.emit("Autosave failed",
                                 f"Unsaved changes cannot be autosaved to {self.autosaver.dir}: "
                                 f"{reason}. They are not protected against a crash until you "
                                 "save them (File > Save). The status bar shows when "
                                 "autosaving works again.")
            self.message.emit(f"Autosave failed ({reason}): your changes are NOT protected "
                              "until you save them", 15000)
            return
        if self.autosave_error:
            self.autosave_error = ""
            self.autosave_state.emit("")
            self.message.emit("Autosave works again", 6000)

    def offer_recovery(self) -> bool:
        """Show every crashed session's autosave and let the user decide about each
        (:class:`ui.recovery.RecoveryDialog`); nothing is deleted without a decision.
        True when one was restored into this window."""
        orphans = self.autosaver.orphans()
        if not orphans:
            return False
        dialog = self.recovery_dialog(orphans)
        dialog.exec()
        return any(s.startswith("restored") for s in dialog.status)

    def recovery_dialog(self, orphans: list[Orphan]):
        from .recovery import RecoveryDialog
        return RecoveryDialog(self, orphans)

    def recover(self, orphan: Orphan) -> bool:
        """Open a crashed session's autosave in this window (unsaved); its autosave file is
        removed once this session has autosaved the same content."""
        if orphan.document is None or not self.maybe_save():
            return False
        doc = Document()
        try:
            doc.load_dict(orphan.document, source=orphan.file.name)
        except InputError as exc:
            self.failed.emit("Cannot recover", str(exc))
            return False
        self.open_document(doc, orphan.path or None, orphan.stamp)
        self.document.undo.resetClean()         # unsaved: the title shows it
        try:                          # ours now: write it before the orphan goes
            self.autosaver.save(self.document.doc.to_dict(), self.document.path, self.stamp)
        except (OSError, ValueError):
            self.message.emit("Recovered unsaved changes — save them to keep them (the "
                              "recovered autosave is kept until then)", 10000)
            return True
        Autosaver.remove(orphan.file)
        self.message.emit(f"Recovered unsaved changes to {orphan.label} — save them to keep "
                          "them", 10000)
        return True

    def save_orphan_as(self, orphan: Orphan, path: str | None = None) -> str | None:
        """Write a crashed session's autosave to a file (a dialog asks where unless
        ``path``); the autosave is removed once written. Returns the path, None if not
        saved. An unreadable autosave is copied as it is."""
        if path is None:
            start = str(Path(str(self.settings.value("files/last_dir", str(Path.home()))))
                        / f"{orphan.name} (recovered).json")
            path, _ = QFileDialog.getSaveFileName(self.window, "Save recovered portfolio", start,
                                                  "CrashLab portfolio (*.json)")
            if not path:
                return None
            if not path.lower().endswith(".json"):
                path += ".json"
        try:
            if orphan.document is None:
                shutil.copyfile(orphan.file, path)
            else:
                write_text_atomic(path, json_text(orphan.document) + "\n", backup=True)
        except OSError as exc:
            self.failed.emit("Cannot save", f"{path}: {exc.strerror or exc}")
            return None
        Autosaver.remove(orphan.file)
        self.add_recent(str(path))
        self.message.emit(f"Saved the recovered {orphan.label} as {Path(path).name}", 8000)
        return str(path)

    def discard_orphan(self, orphan: Orphan) -> bool:
        """Delete a crashed session's autosave (the user decided so)."""
        try:
            Autosaver.remove(orphan.file)
        except OSError as exc:
            self.failed.emit("Cannot discard", f"{orphan.file}: {exc.strerror or exc}")
            return False
        return True

    def close(self) -> None:
        """Stop autosaving and remove this session's autosave and lock (clean exit)."""
        self.autosave_timer.cancel()
        self.autosaver.close()


def file_stem(name: str) -> str:
    """A file name (without extension) for a portfolio name: characters that are not safe
    in file names on Windows, macOS or Linux become ``-``."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", name or "").strip(" .-")
    return stem or "portfolio"



def _same_file(a: str, b: str) -> bool:
    """Two paths name the same file (through links), also when it does not exist yet."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
