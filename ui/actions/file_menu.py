"""File menu: new, open, recent, demo, save, save as, export (CSV, PNG, HTML report), quit."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence

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


# ui.export (and reporting/) are imported on the first export, not at start-up
def export_csv(window) -> None:
    from ..export import ask_export_path, csv_header, current_view_tables, write_csv
    tables, kind = current_view_tables(window)
    if tables is None:
        window.show_error("Nothing to export", "Run a computation first.")
        return
    path = ask_export_path(window, "Export results as CSV", kind, "csv", "CSV (*.csv)")
    if path:
        _write(window, lambda: write_csv(path, tables, csv_header(window, kind)), path, "Exported")


def export_png(window) -> None:
    from ..export import ask_export_path, view_png, write_png
    data = view_png(window)
    if data is None:
        window.show_error("Nothing to export", "This view has no chart to save.")
        return
    tab = window.tabs.tabText(window.tabs.currentIndex()).replace("&", "").lower().replace(" ", "-")
    path = ask_export_path(window, "Save the view's charts as PNG", tab, "png", "PNG image (*.png)")
    if path:
        _write(window, lambda: write_png(path, data), path, "Saved")


def export_html(window) -> None:
    from ..export import ask_export_path, write_html_report
    if window.controller.analysis is None:
        window.show_error("Nothing to report", "Add a valid position first: the report needs an analysis.")
        return
    path = ask_export_path(window, "Write HTML report", "report", "html", "HTML (*.html)")
    if path:
        _write(window, lambda: write_html_report(path, window), path, "Report written to")


def _write(window, write, path: str, verb: str) -> None:
    try:
        write()
    except OSError as exc:
        window.show_error("Cannot write the file", f"{path}: {exc.strerror or exc}")
        return
    window.statusBar().showMessage(f"{verb} {Path(path).name}", 5000)
