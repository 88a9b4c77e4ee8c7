"""File menu: new, open, recent, demo, save, save as, export (CSV, PNG, HTML report), quit."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog

from ..export import current_view_frames, write_csv, write_html_report, write_png
from .base import make_action


def install(window, m) -> None:
    files = window.files
    std = QKeySequence.StandardKey
    window.act_new = make_action(window, "&New", files.new_document, std.New, "Start an empty portfolio", m)
    window.act_open = make_action(window, "&Open…", files.open_dialog, std.Open, "Open a portfolio (JSON), "
                                  "holdings (CSV) or an exchange's export", m)
    window.act_import = make_action(window, "&Import into This Book…", files.import_dialog, None,
                                    "Add the positions of exchange or wallet exports (Hyperliquid, "
                                    "Binance, Bybit, OKX, ccxt, rotki, Aave) to this portfolio", m)
    window.recent_menu = m.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(lambda: files.fill_recent_menu(window.recent_menu))
    window.act_demo = make_action(window, "Open &Demo Portfolio", files.open_demo, None,
                                  "Open the bundled demo portfolio", m)
    m.addSeparator()
    window.act_save = make_action(window, "&Save", files.save, std.Save, "Save the portfolio", m)
    window.act_save_as = make_action(window, "Save &As…", files.save_as, "Ctrl+Shift+S", "Save under a new name", m)
    m.addSeparator()
    exp = m.addMenu("&Export")
    window.act_export_csv = make_action(window, "Results as &CSV…", lambda: export_csv(window), "Ctrl+Shift+E",
                                        "Export the results of the current view as CSV", exp)
    window.act_export_png = make_action(window, "Current view as &PNG…", lambda: export_png(window), None,
                                        "Save the current view's charts as a PNG image", exp)
    window.act_export_html = make_action(window, "&HTML report…", lambda: export_html(window), "Ctrl+E",
                                         "Write a self-contained HTML report of every result", exp)
    m.addSeparator()
    make_action(window, "&Quit", window.close, std.Quit, "Quit CrashLab", m)


def export_csv(window) -> None:
    frames, name = current_view_frames(window)
    if frames is None:
        window.show_error("Nothing to export", "Run a computation first.")
        return
    path, _ = QFileDialog.getSaveFileName(window, "Export results as CSV", f"{name}.csv", "CSV (*.csv)")
    if path:
        write_csv(path, frames)
        window.statusBar().showMessage(f"Exported {Path(path).name}", 5000)


def export_png(window) -> None:
    tab = window.tabs.tabText(window.tabs.currentIndex())
    path, _ = QFileDialog.getSaveFileName(window, "Save view as PNG", f"{tab.lower().replace(' ', '-')}.png",
                                          "PNG image (*.png)")
    if path:
        write_png(path, window.tabs.currentWidget())
        window.statusBar().showMessage(f"Saved {Path(path).name}", 5000)


def export_html(window) -> None:
    path, _ = QFileDialog.getSaveFileName(window, "Write HTML report",
                                          f"{window.document.doc.name or 'crashlab'}-report.html", "HTML (*.html)")
    if path:
        write_html_report(path, window)
        window.statusBar().showMessage(f"Report written to {Path(path).name}", 5000)
