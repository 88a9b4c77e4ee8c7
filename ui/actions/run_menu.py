"""Run menu: run the current view, recompute everything, cancel (Esc); Space plays the replay."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut

from .base import make_action


def install(window, m) -> None:
    window.act_run = make_action(window, "&Run", window.run_current, "Ctrl+R",
                                 "Run the current view: replay, Monte Carlo or reverse stress", m)
    window.act_recompute = make_action(window, "Re&compute", window.recompute, "F5",
                                       "Recompute every result from the current holdings", m)
    window.act_cancel = make_action(window, "&Cancel", window.controller.cancel_all, "Esc",
                                    "Cancel the computation in progress", m)
    window.act_cancel.setEnabled(False)
    play = QShortcut(QKeySequence(Qt.Key.Key_Space), window.replay_view)
    play.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    play.activated.connect(window.replay_view.toggle_play)
