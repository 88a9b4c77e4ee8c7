"""What the main window keeps between sessions (QSettings): geometry, toolbar state, the
current tab, and each view's own controls and splitters (the views read and write those)."""
from __future__ import annotations

from PySide6.QtCore import QSettings


def _stateful_views(window):
    return (window.portfolio_view, window.shock_view, window.replay_view, window.matrix_view,
            window.montecarlo_view)


def restore(window, s: QSettings) -> None:
    geo = s.value("window/geometry")
    if geo is not None:
        window.restoreGeometry(geo)
    else:
        window.resize(1480, 920)
    st = s.value("window/state")
    if st is not None:
        window.restoreState(st)
    for v in _stateful_views(window):
        v.restore_state(s)
    tab = s.value("window/tab")
    if tab is not None:
        try:
            window.tabs.setCurrentIndex(int(tab))
        except (TypeError, ValueError):
            pass


def save(window, s: QSettings) -> None:
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/state", window.saveState())
    s.setValue("window/tab", window.tabs.currentIndex())
    for v in _stateful_views(window):
        v.save_state(s)
    s.sync()
