"""Edit menu: undo and redo (what would be undone in the tooltip), add, duplicate and delete
positions (Delete in the holdings table)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut

from .base import make_action


def install(window, m) -> None:
    std = QKeySequence.StandardKey
    undo = window.document.undo
    pv = window.portfolio_view
    # short labels (the toolbar stays put); what would be undone goes in the tooltip
    window.act_undo = QAction("&Undo", window)
    window.act_undo.setShortcuts([QKeySequence(std.Undo)])
    window.act_undo.triggered.connect(undo.undo)
    window.act_undo.setEnabled(False)
    undo.canUndoChanged.connect(window.act_undo.setEnabled)
    undo.undoTextChanged.connect(
        lambda text: window.act_undo.setToolTip(f"Undo: {text} (Ctrl+Z)" if text else "Undo (Ctrl+Z)"))
    window.act_redo = QAction("&Redo", window)
    window.act_redo.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
    window.act_redo.triggered.connect(undo.redo)
    window.act_redo.setEnabled(False)
    undo.canRedoChanged.connect(window.act_redo.setEnabled)
    undo.redoTextChanged.connect(
        lambda text: window.act_redo.setToolTip(f"Redo: {text} (Ctrl+Y)" if text else "Redo (Ctrl+Y)"))
    for a in (window.act_undo, window.act_redo):
        m.addAction(a)
        window.addAction(a)
    m.addSeparator()

    def add(kind: str) -> None:
        window.tabs.setCurrentWidget(pv)
        pv.add_position(kind)

    def duplicate() -> None:
        window.tabs.setCurrentWidget(pv)
        pv.duplicate_selected()

    window.act_add = make_action(window, "&Add Spot Position", lambda: add("spot"), "Ctrl+Ins",
                                 "Add a spot position", m)
    make_action(window, "Add &Perp", lambda: add("perp"), None, "Add a perpetual future", m)
    make_action(window, "Add &Loan", lambda: add("loan"), None, "Add a loan", m)
    window.act_duplicate = make_action(window, "&Duplicate", duplicate, "Ctrl+D",
                                       "Duplicate the selected positions", m)
    window.act_delete = make_action(window, "De&lete Positions", pv.delete_selected, None,
                                    "Delete the selected positions", m)
    del_short = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), pv.table)
    del_short.setContext(Qt.ShortcutContext.WidgetShortcut)
    del_short.activated.connect(pv.delete_selected)
