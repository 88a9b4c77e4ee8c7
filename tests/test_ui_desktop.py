"""The window as a desktop citizen: files opened by the system (QFileOpenEvent), focus in the
holdings table at start, a title that names the file, export dialogs in the portfolio's
folder with names that follow the file, the PNG of a view's charts."""
from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, QStandardPaths, Qt  # noqa: E402
from PySide6.QtGui import QFileOpenEvent, QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog  # noqa: E402

from ui.app import FileOpener  # noqa: E402
from ui.main_window import MainWindow, demo_path, window_title  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WAIT = 15_000


@pytest.fixture
def window(qtbot, tmp_path):
    QStandardPaths.setTestModeEnabled(True)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, autosave_dir=str(tmp_path / "autosave"), confirm=False, theme="light")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.controller.analysis is not None, timeout=WAIT)
    yield w
    w.close()
    assert w.controller.live_threads() == []
    gc.collect()


@pytest.fixture
def book(tmp_path):
    """A copy of the demo portfolio in its own folder."""
    folder = tmp_path / "books"
    folder.mkdir()
    path = folder / "my-book.json"
    shutil.copy(demo_path(), path)
    return path


# --------------------------------------------------------------------------- focus
def test_focus_starts_in_the_holdings_table(window, qtbot):
    table = window.portfolio_view.table
    assert window.focusWidget() is table
    assert table.currentIndex().isValid()
    assert window.name_edit.focusPolicy() == Qt.FocusPolicy.ClickFocus    # never reached by Tab
    name = window.document.doc.name
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_X)                     # a stray key
    qtbot.keyClick(QApplication.focusWidget() or table, Qt.Key.Key_Escape)
    assert window.document.doc.name == name and window.name_edit.text() == name


# --------------------------------------------------------------------------- QFileOpenEvent
def test_file_open_event_opens_the_file(window, qtbot, book):
    opener = FileOpener()
    opener.attach(window)
    QApplication.sendEvent(opener, QFileOpenEvent(str(book)))
    assert window.document.path == str(book)
    assert window.windowTitle().startswith("my-book.json")


def test_file_open_event_before_the_window_waits_for_it(window, book):
    opener = FileOpener()
    QApplication.sendEvent(opener, QFileOpenEvent(str(book)))        # macOS sends it during start-up
    assert opener.pending == [str(book)] and window.document.path != str(book)
    opener.attach(window)
    assert opener.pending == [] and window.document.path == str(book)


def test_file_open_event_with_a_bad_file_shows_an_error(window, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    opener = FileOpener()
    opener.attach(window)
    QApplication.sendEvent(opener, QFileOpenEvent(str(bad)))
    assert window.document.path != str(bad) and "bad.json" in window.last_error


def test_application_forwards_file_open_events(book, tmp_path):
    """The real application class (not pytest-qt's) routes QFileOpenEvent to the window."""
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication
from ui.app import CrashLabApplication, make_app
from ui.main_window import MainWindow
app = make_app([])
assert isinstance(app, CrashLabApplication)
QApplication.sendEvent(app, QFileOpenEvent({str(book)!r}))      # before the window: kept
s = QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat)
w = MainWindow(settings=s, autosave_dir={str(tmp_path / 'a')!r}, confirm=False, theme="light")
app.file_opener.attach(w)
assert w.document.path == {str(book)!r}, w.document.path
assert app.desktopFileName() == "org.crashlab.CrashLab"
w.close()
w.shutdown()
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]


# --------------------------------------------------------------------------- title and file
def test_window_title_names_the_file():
    assert window_title("my-book", "/x/my-book.json") == "my-book.json[*] — CrashLab"
    assert window_title("Demo", "/x/my-book.json") == "my-book.json[*] (Demo) — CrashLab"
    assert window_title("Untitled", None) == "Untitled (not saved)[*] — CrashLab"


def test_save_as_proposes_the_name_and_an_untitled_book_takes_the_file_name(window, tmp_path, monkeypatch):
    window.files.new_document()
    seen = {}
    target = tmp_path / "saved" / "crash-prep.json"
    target.parent.mkdir()
    window.settings.setValue("files/last_dir", str(target.parent))

    def fake(parent, caption, start, filter_):
        seen["start"] = start
        return str(target), filter_
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
    assert window.files.save_as()
    assert seen["start"] == str(target.parent / "Untitled.json")
    assert window.document.doc.name == "crash-prep"
    assert json.loads(target.read_text())["name"] == "crash-prep"
    assert window.windowTitle() == "crash-prep.json[*] — CrashLab" and not window.isWindowModified()


# --------------------------------------------------------------------------- export dialogs
def test_export_dialogs_start_in_the_portfolio_folder(window, qtbot, book, monkeypatch):
    from ui.actions import file_menu
    assert window.files.open_path(str(book))
    qtbot.waitUntil(lambda: window.controller.shock is not None
                    and window.controller.analysis.portfolio.name == "Demo book (Dec 2025)", timeout=WAIT)
    starts = []

    def fake(parent, caption, start, filter_):
        starts.append(start)
        return start, filter_
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
    window.tabs.setCurrentWidget(window.shock_view)
    file_menu.export_csv(window)
    file_menu.export_png(window)
    file_menu.export_html(window)
    folder = book.parent
    assert starts == [str(folder / "my-book-shock.csv"), str(folder / "my-book-shock.png"),
                      str(folder / "my-book-report.html")]
    text = (folder / "my-book-shock.csv").read_text(encoding="utf-8-sig")
    assert "# File," + str(book) in text and "# Scenario,\"Instant shock: BTC" in text
    html = (folder / "my-book-report.html").read_text(encoding="utf-8")
    assert "my-book.json" in html and "{'" not in html
    img = QImage(str(folder / "my-book-shock.png"))
    assert not img.isNull() and img.width() > 300


def test_view_png_is_the_charts_with_a_title(window, qtbot):
    from ui.export import view_charts, view_png
    window.tabs.setCurrentWidget(window.shock_view)
    window.shock_view.set_move(-0.3, emit=True)
    charts = view_charts(window.shock_view)
    assert charts
    from ui.charts.base import Chart
    assert all(isinstance(c, Chart) for c in charts)
    img = QImage.fromData(view_png(window))
    dpr = img.devicePixelRatio() or 1
    lowest = max(c.mapTo(window.shock_view, c.rect().bottomLeft()).y() for c in charts)
    highest = min(c.mapTo(window.shock_view, c.rect().topLeft()).y() for c in charts)
    # the charts' own area plus the title band: no tables, controls or scroll bars around them
    assert img.height() / dpr == pytest.approx(lowest - highest + 1 + 58 + 10, abs=2)
    window.tabs.setCurrentWidget(window.portfolio_view)
    assert view_png(window) is not None                 # the ladder


def test_export_without_results_says_so(window, qtbot):
    from ui.actions import file_menu
    window.files.new_document()
    qtbot.waitUntil(lambda: window.controller.analysis is None, timeout=WAIT)
    file_menu.export_html(window)
    assert "analysis" in window.last_error


def test_report_notes_cancelled_runs(window, qtbot):
    from ui.export import report_data
    from ui.jobs import MonteCarloSettings, ReplaySpec, montecarlo_available
    ctrl = window.controller
    with qtbot.waitSignal(ctrl.replay_ready, timeout=WAIT):
        ctrl.run_replay(ReplaySpec(scenario_id="2022-11-06-ftx-collapse"))
    ctrl.run_replay(ReplaySpec(scenario_id="2022-11-06-ftx-collapse"))
    assert ctrl.cancel("replay")                                  # the user cancels the re-run
    data = report_data(window)
    replay = next(r for r in data.scenarios if r.title.startswith("Replay"))
    assert any("latest replay run was cancelled" in n for n in replay.notes)
    if montecarlo_available():
        window.tabs.setCurrentWidget(window.montecarlo_view)
        with qtbot.waitSignal(ctrl.mc_partial, timeout=WAIT):
            window.run_montecarlo(MonteCarloSettings(n_paths=400_000, days=30, seed=1, chunk_paths=2000))
        ctrl.cancel_all()
        qtbot.waitUntil(lambda: not ctrl.is_running("montecarlo"), timeout=WAIT)
        data = report_data(window)
        assert data.montecarlo is not None
        assert any("cancelled after" in n for n in data.montecarlo.notes)


def test_chart_context_menu_saves_a_titled_png(window, qtbot, book, monkeypatch):
    assert window.files.open_path(str(book))
    chart = window.shock_view.sensitivity
    window.tabs.setCurrentWidget(window.shock_view)
    starts = []

    def fake(parent, caption, start, filter_):
        starts.append(start)
        return start, filter_
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
    chart.save_png_dialog()
    assert len(starts) == 1 and Path(starts[0]).parent == book.parent
    assert Path(starts[0]).name.startswith("my-book-")
    img = QImage(starts[0])
    dpr = img.devicePixelRatio() or 1
    assert img.height() / dpr == pytest.approx(chart.height() + 58 + 10, abs=2)
