"""View menu: switch views (Ctrl+1 … Ctrl+7) and pick the theme (system, light, dark)."""
from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup

from .base import make_action

THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


def install(window, m) -> None:
    tabs = window.tabs
    for i in range(tabs.count()):
        name = tabs.tabText(i)
        make_action(window, name, lambda _=False, i=i: tabs.setCurrentIndex(i), f"Ctrl+{i + 1}",
                    f"Show the {name} view", m)
    m.addSeparator()
    tm = m.addMenu("&Theme")
    grp = QActionGroup(window)
    window.theme_actions = {}
    for key, label in THEMES:
        a = QAction(label, window, checkable=True)
        a.triggered.connect(lambda _=False, k=key: window.apply_theme(k))
        grp.addAction(a)
        tm.addAction(a)
        window.theme_actions[key] = a
