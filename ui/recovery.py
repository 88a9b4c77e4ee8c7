"""The recovery dialog: every autosave left by a crashed session, each with its time, name
and file, and a decision per autosave: Restore (open it in this window), Save As (write it
to a file of the user's choice) or Discard (delete it, after a confirmation). Closing the
dialog ("Decide later") keeps every autosave not decided about for the next start.

The dialog only arranges; the actions are :class:`ui.files.Files`'s (``recover``,
``save_orphan_as``, ``discard_orphan``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel,
                               QMessageBox, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from engine.portfolio import printable_name

from .autosave import Orphan

if TYPE_CHECKING:
    from .files import Files

COLUMNS = ("Saved at", "Portfolio", "File", "Status")
PENDING = "not decided (kept)"


class RecoveryDialog(QDialog):
    """Decide about each crashed session's autosave (see the module docstring)."""

    def __init__(self, files: "Files", orphans: list[Orphan]):
        super().__init__(files.window)
        self.files = files
        self.orphans = list(orphans)
        self.status = [PENDING] * len(self.orphans)
        self.setWindowTitle("Recover unsaved changes")
        self.setMinimumWidth(760)
        lay = QVBoxLayout(self)
        n = len(self.orphans)
        found = "1 autosave of unsaved changes was" if n == 1 else f"{n} autosaves of unsaved changes were"
        intro = QLabel(
            f"CrashLab did not close properly. {found} found. Decide about each one: "
            "<b>Restore</b> opens it in this window, <b>Save As</b> writes it to a file, "
            "<b>Discard</b> deletes it. Anything you do not decide about now is kept and "
            "offered again at the next start.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.table = QTableWidget(n, len(COLUMNS))
        self.table.setObjectName("RecoveryTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for i, o in enumerate(self.orphans):
            file = printable_name(o.path) if o.path else "not saved yet"
            for j, text in enumerate((o.when, o.name, file, self.status[i])):
                item = QTableWidgetItem(text)
                item.setToolTip(o.error and f"This autosave cannot be read: {o.error}. Save As "
                                "copies the file as it is." or f"Autosave {o.file}")
                self.table.setItem(i, j, item)
            if o.error:
                self.table.item(i, 1).setText(f"{o.name} (cannot be read: {o.error})")
        lay.addWidget(self.table, 1)
        buttons = QDialogButtonBox()
        self.restore_button = QPushButton("Restore")
        self.restore_button.setToolTip("Open the selected autosave in this window (unsaved)")
        self.save_button = QPushButton("Save As…")
        self.save_button.setToolTip("Write the selected autosave to a portfolio file")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Delete the selected autosave for good")
        self.later_button = QPushButton("Decide later")
        self.later_button.setToolTip("Close; autosaves not decided about are offered again at the next start")
        for b, role in ((self.restore_button, QDialogButtonBox.ButtonRole.ActionRole),
                        (self.save_button, QDialogButtonBox.ButtonRole.ActionRole),
                        (self.discard_button, QDialogButtonBox.ButtonRole.DestructiveRole),
                        (self.later_button, QDialogButtonBox.ButtonRole.RejectRole)):
            buttons.addButton(b, role)
        self.restore_button.clicked.connect(lambda: self.act(self.current(), "restore"))
        self.save_button.clicked.connect(lambda: self.act(self.current(), "save_as"))
        self.discard_button.clicked.connect(lambda: self.act(self.current(), "discard"))
        self.later_button.clicked.connect(self.reject)
        lay.addWidget(buttons)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        if n:
            self.table.selectRow(0)
        self._update_buttons()

    def current(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def pending(self) -> list[int]:
        return [i for i, s in enumerate(self.status) if s == PENDING]

    def _update_buttons(self) -> None:
        i = self.current()
        open_ = 0 <= i < len(self.orphans) and self.status[i] == PENDING
        readable = open_ and self.orphans[i].document is not None
        self.restore_button.setEnabled(readable)
        self.save_button.setEnabled(open_)
        self.discard_button.setEnabled(open_)
        self.later_button.setText("Close" if not self.pending() else "Decide later")

    def act(self, i: int, action: str, path: str | None = None) -> bool:
        """Apply ``action`` ("restore", "save_as", "discard") to autosave ``i``; ``path``
        for "save_as" skips the file dialog. True when it was done."""
        if not (0 <= i < len(self.orphans)) or self.status[i] != PENDING:
            return False
        o = self.orphans[i]
        done = False
        if action == "restore":
            done = self.files.recover(o)
            text = "restored in this window"
        elif action == "save_as":
            saved = self.files.save_orphan_as(o, path)
            done = bool(saved)
            text = f"saved as {printable_name(saved)}" if saved else ""
        elif action == "discard":
            if self.files.confirm:
                r = QMessageBox.question(self, "Discard autosave",
                                         f"Delete the unsaved changes to {o.label} for good?",
                                         QMessageBox.StandardButton.Discard
                                         | QMessageBox.StandardButton.Cancel,
                                         QMessageBox.StandardButton.Cancel)
                if r != QMessageBox.StandardButton.Discard:
                    return False
            done = self.files.discard_orphan(o)
            text = "discarded"
        else:
            raise ValueError(f"unknown action {action!r}")
        if done:
            self.status[i] = text
            self.table.item(i, 3).setText(text)
            for j in range(len(COLUMNS)):
                self.table.item(i, j).setForeground(self.palette().placeholderText())
        self._update_buttons()
        if done and not self.pending():
            self.accept()
        return done

