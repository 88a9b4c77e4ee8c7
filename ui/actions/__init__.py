"""Menus, toolbar and keyboard shortcuts of the main window: one module per menu (as napari
does with its per-menu action modules). Each ``install(window, menu)`` adds its actions to
the menu and to the window (so shortcuts work everywhere) and keeps the ones other code
needs as ``window.act_*`` attributes. Slots are the window's routing methods, its
:class:`ui.files.Files` and its :class:`ui.controller.Controller`."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from . import edit_menu, file_menu, help_menu, run_menu, view_menu


def install(window) -> None:
    """The menu bar and the toolbar."""
    mb = window.menuBar()
    file_menu.install(window, mb.addMenu("&File"))
    edit_menu.install(window, mb.addMenu("&Edit"))
    run_menu.install(window, mb.addMenu("&Run"))
    view_menu.install(window, mb.addMenu("&View"))
    help_menu.install(window, mb.addMenu("&Help"))
    tb = QToolBar("Main")
    tb.setObjectName("MainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for a in (window.act_new, window.act_open, window.act_save, None, window.act_undo, window.act_redo, None,
              window.act_run, window.act_recompute, window.act_cancel, None, window.act_export_html):
        if a is None:
            tb.addSeparator()
        else:
            tb.addAction(a)
    window.addToolBar(tb)
