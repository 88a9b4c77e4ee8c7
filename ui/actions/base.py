"""One helper to make a menu action with its shortcut, status tip and tooltip."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence


def make_action(window, text, slot, shortcut=None, tip="", menu=None, checkable=False) -> QAction:
    """An action of ``window`` (its shortcut works in every view), added to ``menu``."""
    act = QAction(text, window)
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
    window.addAction(act)
    return act
