"""Help menu: the keyboard shortcuts and the About box."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from appinfo import APP_NAME, APP_VERSION

from .base import make_action

SHORTCUTS = (("Ctrl+N / Ctrl+O / Ctrl+S / Ctrl+Shift+S", "New, open, save, save as"),
             ("Ctrl+Z / Ctrl+Y", "Undo, redo"), ("Ctrl+Ins / Ctrl+D / Delete", "Add, duplicate, delete positions"),
             ("Ctrl+R", "Run the current view (replay, Monte Carlo, reverse stress)"),
             ("F5", "Recompute everything"), ("Esc", "Cancel the computation in progress"),
             ("Space", "Play / pause the replay"), ("Ctrl+1 … Ctrl+7", "Switch views"),
             ("Ctrl+E / Ctrl+Shift+E", "HTML report, results CSV"), ("F1", "This list"))


def install(window, m) -> None:
    make_action(window, "&Keyboard Shortcuts", lambda: show_shortcuts(window), "F1", "List the keyboard shortcuts", m)
    make_action(window, "&About CrashLab", lambda: show_about(window), None, "About CrashLab", m)


def show_shortcuts(window) -> None:
    text = ("<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
            + "</table>")
    box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", text, QMessageBox.StandardButton.Ok,
                      window)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()


def show_about(window) -> None:
    QMessageBox.about(window, f"About {APP_NAME}",
                      f"<b>{APP_NAME} {APP_VERSION}</b><p>What does the next crash do to your holdings? "
                      "Liquidation prices, crash replays, shocks, Monte Carlo and reverse stress for "
                      "spot, perpetuals and loans.</p><p>Offline and private: your holdings never "
                      "leave this machine.</p>")

