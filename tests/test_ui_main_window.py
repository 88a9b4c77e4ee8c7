"""GUI tests: drive the real main window offscreen (pytest-qt).

Each test gets its own settings file and autosave folder under tmp_path and closes the
window at teardown, checking that no worker thread is left running.
"""
from __future__ import annotations

import gc
import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, QStandardPaths, Qt  # noqa: E402
from PySide6.QtWidgets import QLineEdit  # noqa: E402

from ui.document import COLUMN_KEYS  # noqa: E402
from ui.jobs import montecarlo_available  # noqa: E402
from ui.main_window import MainWindow, demo_path  # noqa: E402
from ui.models import IssueRole  # noqa: E402

WAIT = 15_000


def col(key: str) -> int:
    return COLUMN_KEYS.index(key)


@pytest.fixture
def window(qtbot, tmp_path):
    QStandardPaths.setTestModeEnabled(True)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, autosave_dir=str(tmp_path / "autosave"), confirm=False,
                   theme="light")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: w.controller.analysis is not None, timeout=WAIT)
    yield w
    w.close()
    # no dangling worker threads once the window is closed
    assert all(not t.isRunning() for t in w.controller.live_threads())
    assert w.controller.live_threads() == []
    gc.collect()              # collect the closed window's cycles here, on the GUI thread


def row_of(w, pid: str) -> int:
    return next(i for i, r in enumerate(w.document.doc.rows) if r.raw.get("id") == pid)


# --------------------------------------------------------------------------- model
def test_holdings_model_passes_modeltester(window, qtmodeltester):
    doc = window.document
    doc.set_cell("position", 2, "leverage", "abc")        # an invalid cell too
    qtmodeltester.check(doc.holdings)
    qtmodeltester.check(doc.prices)
    qtmodeltester.check(doc.accounts)
    qtmodeltester.check(window.portfolio_view.proxy)


def test_demo_opens_with_computed_columns(window):
    m = window.document.holdings
    assert m.rowCount() == 7
    r = row_of(window, "sol-10x")
    assert m.data(m.index(r, col("liquidation_price"))) == "118.85"
    assert m.data(m.index(r, col("distance"))).startswith("−1.8")
    assert window.summary["value"].value.text() == "$96,265"
    assert window.document.validation.n_errors == 0


# --------------------------------------------------------------------------- editing
def test_edit_valid_cell_through_the_editor(window, qtbot):
    view = window.portfolio_view
    src = window.document.holdings.index(row_of(window, "sol-10x"), col("quantity"))
    idx = view.proxy.mapFromSource(src)
    view.table.setCurrentIndex(idx)
    view.table.edit(idx)
    editor = view.table.findChild(QLineEdit)
    assert editor is not None
    editor.selectAll()
    qtbot.keyClicks(editor, "500")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    m = window.document.holdings
    qtbot.waitUntil(lambda: m.data(src) == "500", timeout=WAIT)   # the delegate commits queued
    assert m.data(src, IssueRole) is None
    # the analysis is rerun (debounced) and the liquidation price follows
    qtbot.waitUntil(lambda: window.controller.analysis is not None
                    and window.controller.analysis.portfolio.position("sol-10x").quantity == 500,
                    timeout=WAIT)
    assert window.document.dirty


def test_invalid_cell_keeps_text_and_shows_engine_message(window, qtbot):
    m = window.document.holdings
    r = row_of(window, "sol-10x")
    idx = m.index(r, col("leverage"))
    assert m.setData(idx, "ten")
    assert m.data(idx) == "ten"                       # the typed text stays
    assert m.data(idx, Qt.ItemDataRole.EditRole) == "ten"
    sev, msg = m.data(idx, IssueRole)
    assert sev == "error"
    assert "leverage" in msg and "'ten'" in msg and "sol-10x" in msg
    assert "ten" in m.data(idx, Qt.ItemDataRole.ToolTipRole)
    assert m.data(idx, Qt.ItemDataRole.BackgroundRole) is not None
    assert m.data(idx, Qt.ItemDataRole.DecorationRole) is not None
    v = window.document.validation
    assert "sol-10x" in v.excluded
    assert window.portfolio_view.banner.isVisible()
    assert "sol-10x" in window.portfolio_view.banner.text()
    # the analysis runs on the valid positions only
    qtbot.waitUntil(lambda: "sol-10x" not in window.controller.analysis.book.ids, timeout=WAIT)
    assert len(window.controller.analysis.book.ids) == 6
    # leverage out of the venue's range: a cross-field error from the engine
    r2 = row_of(window, "btc-5x-binance")
    assert m.setData(m.index(r2, col("leverage")), "500")
    sev, msg = m.data(m.index(r2, col("leverage")), IssueRole)
    assert sev == "error" and "leverage out of range" in msg and "500" in msg


def test_invalid_loan_legs_and_missing_price(window):
    m = window.document.holdings
    r = row_of(window, "aave-eth")
    m.setData(m.index(r, col("collateral")), "ETH twelve @LT0.83")
    assert m.data(m.index(r, col("collateral"))) == "ETH twelve @LT0.83"
    sev, msg = m.data(m.index(r, col("collateral")), IssueRole)
    assert "collateral[0].quantity" in msg and "twelve" in msg
    m.setData(m.index(r, col("collateral")), "ETH 12 @LT0.8; AVAX 100 @LT0.6 @bonus0.1")
    sev, msg = m.data(m.index(r, col("collateral")), IssueRole)
    assert "AVAX" in msg and "price" in msg
    assert window.document.validation.missing_prices == ["AVAX"]
    window.document.add_missing_prices(["AVAX"])
    p = window.document.prices
    last = p.rowCount() - 1
    assert p.data(p.index(last, 0)) == "AVAX"
    assert p.data(p.index(last, 1), IssueRole)[0] == "error"
    p.setData(p.index(last, 1), "21.5")
    assert m.data(m.index(r, col("collateral")), IssueRole) is None
    assert window.document.validation.n_errors == 0


def test_undo_redo_add_duplicate_delete(window):
    doc = window.document
    m = doc.holdings
    n = m.rowCount()
    r = row_of(window, "cold-btc")
    m.setData(m.index(r, col("quantity")), "2")
    assert m.data(m.index(r, col("quantity"))) == "2"
    doc.undo.undo()
    assert m.data(m.index(r, col("quantity"))) == "0.8"
    doc.undo.redo()
    assert m.data(m.index(r, col("quantity"))) == "2"
    window.portfolio_view.add_position("perp")
    assert m.rowCount() == n + 1
    assert doc.doc.rows[-1].raw["kind"] == "perp"
    dup = doc.duplicate_positions([r])
    assert m.rowCount() == n + 2
    assert doc.doc.rows[dup[0]].raw["id"] != "cold-btc"
    doc.remove_positions([0, 1])
    assert m.rowCount() == n
    for _ in range(3):
        doc.undo.undo()
    assert m.rowCount() == n and m.data(m.index(r, col("quantity"))) == "2"
    doc.undo.undo()
    assert m.data(m.index(r, col("quantity"))) == "0.8"
    assert not doc.dirty
    # renaming an account renames it in its perps, as one undo step
    doc.set_cell("account", 0, "id", "main")
    assert doc.doc.rows[row_of(window, "eth-hedge")].raw["account"] == "main"
    assert doc.validation.n_errors == 0
    doc.undo.undo()
    assert doc.doc.rows[row_of(window, "eth-hedge")].raw["account"] == "exchange-cross"


# --------------------------------------------------------------------------- files
def test_save_load_round_trip_keeps_invalid_text_and_unknown_keys(window, tmp_path):
    doc = window.document
    doc.doc.extra["my_note"] = {"kept": True}
    m = doc.holdings
    m.setData(m.index(row_of(window, "sol-10x"), col("leverage")), "ten")
    path = tmp_path / "book.json"
    assert window.files.save_to(str(path))
    assert not doc.dirty
    data = json.loads(path.read_text())
    assert data["format"] == "crashlab.portfolio/1"
    assert data["my_note"] == {"kept": True}
    sol = next(p for p in data["positions"] if p["id"] == "sol-10x")
    assert sol["leverage"] == "ten"
    assert window.files.open_path(str(path))
    m = window.document.holdings
    assert m.data(m.index(row_of(window, "sol-10x"), col("leverage"))) == "ten"
    assert window.document.validation.n_errors == 1
    assert str(path) in window.files.recent_files()
    # fix it, save again: the file is what the engine reads
    m.setData(m.index(row_of(window, "sol-10x"), col("leverage")), "10")
    assert window.files.save_to(str(path))
    from engine import load_portfolio
    p = load_portfolio(path)
    assert p.position("sol-10x").leverage == 10
    assert len(p.positions) == 7


def test_bad_file_shows_message_not_traceback(window, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{ not json")
    assert not window.files.open_path(str(bad))
    assert "not valid JSON" in window.last_error and "path" in window.last_error
    assert window.document.holdings.rowCount() == 7          # nothing lost


def test_csv_import_and_drop(window, tmp_path):
    csv = tmp_path / "holdings.csv"
    csv.write_text("id,kind,asset,side,quantity,entry_price,leverage,price\n"
                   "b1,spot,BTC,,1.5,,,90000\n"
                   "s1,perp,SOL,long,10,120,5,121\n")
    window.files.open_dropped([str(csv)])
    m = window.document.holdings
    assert m.rowCount() == 2
    assert window.document.path is None              # imported, not a portfolio file yet


# --------------------------------------------------------------------------- runs
def test_shock_slider_recomputes_tables_and_charts(window, qtbot):
    sv = window.shock_view
    window.tabs.setCurrentWidget(sv)
    sv.slider.setValue(-400)                               # -40.0 %
    res = window.controller.shock
    assert res is not None and res.btc_move == pytest.approx(-0.40)
    assert sv.sensitivity.shock_line.value() == pytest.approx(-40.0)
    x, y = sv.sensitivity.curve.getData()
    assert len(x) == 381 and x[0] == pytest.approx(-90.0) and x[-1] == pytest.approx(100.0)
    k = int(np.argmin(np.abs(x - (-40.0))))
    assert res.portfolio_after == pytest.approx(y[k])
    model = sv.results_model
    ids = model.column_values(0)
    status = dict(zip(ids, model.column_values(7)))
    assert status["sol-10x"] == "LIQUIDATED" and status["cold-btc"] == "ok"
    assert sv.by_position.labels[0] == "cold-btc"           # largest loss first
    assert sv.by_position.values[0] == pytest.approx(0.8 * 85000 * -0.40)
    assert "sol-10x" in sv.ladder._liquidated
    # the liquidation kinks are marked
    marks = {s.data() for s in sv.sensitivity.liq.points()}
    assert {"sol-10x", "btc-5x-binance", "aave-eth"} <= marks
    # a beta override changes the SOL move at once
    sv.beta_table.item([sv.beta_table.item(r, 0).text() for r in range(sv.beta_table.rowCount())]
                       .index("SOL"), 2).setText("2")
    assert window.controller.shock.moves["SOL"] == pytest.approx(0.6 ** 2 - 1)


def test_replay_with_scrubber_and_liquidation_marks(window, qtbot):
    rv = window.replay_view
    window.tabs.setCurrentWidget(rv)
    rv.select_scenario("2022-11-06-ftx-collapse")
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT):
        window.run_current()                                 # Ctrl+R on the replay view
    res = rv.result
    assert res.report["scenario"]["id"] == "2022-11-06-ftx-collapse"
    x, y = rv.value_chart.full.getData()
    assert np.allclose(y, res.value) and y[0] == pytest.approx(96265.0)
    rv.set_step(0)
    assert rv.value_chart.played.getData()[1].tolist() == [pytest.approx(96265.0)]
    last = len(res.value) - 1                # real hourly bars: liquidations happen along the way
    rv.timeline.setValue(last)
    assert rv.step == last
    statuses = rv.positions_model.column_values(7)
    liquidated = [s for s in statuses if s.startswith("liquidated ")]
    assert len(liquidated) == res.report["portfolio"]["liquidated_positions"] > 0
    # the status says when, in UTC: "liquidated 2022-11-08 05:00 UTC"; a cross perp says
    # "liquidated with account X 2022-11-08 05:00 UTC"
    want = [("liquidated with account " + p["liquidated_with"] + " " if p.get("liquidated_with")
             else "liquidated ") + f"{p['liquidation_time'][:10]} {p['liquidation_time'][11:16]} UTC"
            for p in res.report["positions"] if p["liquidated"]]
    assert liquidated == want
    assert len(rv.value_chart.liq.points()) >= 1


def test_replay_imported_history_plays(window, qtbot, tmp_path):
    rows = ["date,BTC,ETH,SOL"]
    prices = [(90000, 3000, 130), (88000, 2900, 125), (80000, 2600, 105), (70000, 2200, 90),
              (76000, 2500, 100)]
    for d, (b, e, s) in enumerate(prices):
        rows.append(f"2025-10-{10 + d:02d},{b},{e},{s}")
    f = tmp_path / "wide.csv"
    f.write_text("\n".join(rows) + "\n")
    window.files.open_dropped([str(f)])                           # a price CSV goes to the replay
    rv = window.replay_view
    assert rv.price_files == [str(f)]
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT):
        rv.request_run()
    assert len(rv.result.value) == 5
    rv.speed.setCurrentIndex(rv.speed.count() - 1)              # fastest
    rv.set_step(0)
    rv.play()
    assert rv.is_playing()
    qtbot.waitUntil(lambda: rv.step == 4 and not rv.is_playing(), timeout=WAIT)
    assert "proxy" in rv.scenario_label.text()               # DOGE/SUI follow BTC


def test_replay_bad_history_reports_field_and_value(window, qtbot, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("date,BTC\n2025-10-10,90000\n2025-10-11,abc\n")
    window.replay_view.set_price_files([str(f)])
    with qtbot.waitSignal(window.error_shown, timeout=WAIT) as blocker:
        window.replay_view.request_run()
    assert "abc" in blocker.args[0]
    assert "Traceback" not in blocker.args[0]


@pytest.mark.skipif(not montecarlo_available(), reason="engine.montecarlo not available")
def test_montecarlo_runs_and_charts_build_up(window, qtbot):
    mv = window.montecarlo_view
    window.tabs.setCurrentWidget(mv)
    mv.paths.setValue(4000)
    mv.days.setValue(10)
    mv.seed.setValue(7)
    with qtbot.waitSignal(window.controller.mc_ready, timeout=30_000):
        window.run_current()
    upd = mv.last_chunk
    assert upd.chunk.paths_done == 4000 and upd.chunk.final
    x, y = mv.fan.median.getData()
    assert len(x) == 11 and x[-1] == pytest.approx(10.0) and y[0] == pytest.approx(96265.0)
    lo, hi = mv.fan.band_curves[0]
    assert np.all(lo.getData()[1] <= hi.getData()[1] + 1e-9)
    hx, hy = mv.hist.hist.getData()
    assert len(hx) == len(hy) + 1 and hy.sum() == pytest.approx(100.0)
    probs = dict(zip(mv.liq_model.column_values(0), mv.liq_model.column_values(2)))
    assert probs["cold-btc"] == "never (spot)"
    # each probability with its 95 % interval: "84.7 % (82.8-86.5)"
    import re
    assert re.fullmatch(r"\d+\.\d+ % \(\d+\.\d+-\d+\.\d+\)", probs["sol-10x"]), probs["sol-10x"]
    assert mv.metrics["var95"].value.text().startswith("$")
    assert "95 %:" in mv.metrics["var99"].sub.text()
    assert mv.progress.value() == 4000


def test_cascade_half_life_control_reaches_the_engine_and_persists(window, tmp_path):
    import math

    from ui.jobs import build_request
    mv = window.montecarlo_view
    assert not mv.half_life.isEnabled()                       # cascade off: nothing to set
    mv.cascade.setValue(150)
    assert mv.half_life.isEnabled() and mv.permanent.isEnabled()
    mv.half_life.setValue(2.5)
    req = build_request(mv.settings())
    assert req.cascade.strength == pytest.approx(1.5) and req.cascade.half_life_days == 2.5
    mv.permanent.setChecked(True)
    assert not mv.half_life.isEnabled()
    assert math.isinf(build_request(mv.settings()).cascade.half_life_days)
    settings = QSettings(str(tmp_path / "mc.ini"), QSettings.Format.IniFormat)
    mv.save_state(settings)
    mv.permanent.setChecked(False)
    mv.cascade.setValue(0)
    mv.restore_state(settings)
    assert mv.cascade.value() == 150 and mv.permanent.isChecked()
    assert math.isinf(mv.settings().cascade_half_life)


@pytest.mark.skipif(not montecarlo_available(), reason="engine.montecarlo not available")
def test_cancel_montecarlo_keeps_window_responsive(window, qtbot):
    mv = window.montecarlo_view
    mv.paths.setValue(3_000_000)
    mv.days.setValue(30)
    with qtbot.waitSignal(window.controller.mc_partial, timeout=30_000):
        window.run_montecarlo(mv.settings())
    assert window.controller.is_running("montecarlo")
    assert window.act_cancel.isEnabled() and window.cancel_button.isVisible()
    window.act_cancel.trigger()                             # Esc
    assert not window.controller.is_running("montecarlo")
    assert not window.act_cancel.isEnabled()
    done = mv.last_chunk.chunk.paths_done
    assert 0 < done < 3_000_000
    qtbot.waitUntil(lambda: window.controller.live_threads() == [], timeout=30_000)
    assert mv.last_chunk.chunk.paths_done == done            # nothing after the cancel


def test_edit_cancels_and_restarts_runs(window, qtbot):
    rv = window.replay_view
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT):
        rv.request_run()
    first = rv.result
    m = window.document.holdings
    m.setData(m.index(row_of(window, "cold-btc"), col("quantity")), "2")
    assert window.controller.debounce.timer.isActive()      # debounced, not immediate
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT):
        pass
    assert rv.result is not first
    assert rv.result.report["positions"][0]["value_before"] == pytest.approx(2 * 85000)


def test_reverse_stress_table(window, qtbot):
    with qtbot.waitSignal(window.controller.reverse_ready, timeout=WAIT):
        window.tabs.setCurrentWidget(window.reverse_view)
    model = window.reverse_view.positions_model
    assert model.column_values(0)[0] == "sol-10x"            # nearest first
    assert model.column_values(3)[0].startswith("−1.")
    assert window.reverse_view.loss_model.rowCount() == 3


def test_exports(window, qtbot, tmp_path):
    from ui.export import (current_view_tables, csv_header, view_png, write_csv, write_html_report,
                           write_png)
    window.shock_view.set_move(-0.3, emit=True)
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT):
        window.replay_view.request_run()
    # File > Export > Results as CSV takes the current view's tables
    window.tabs.setCurrentWidget(window.replay_view)
    tables, name = current_view_tables(window)
    assert name == "replay" and [t.name for t in tables] == ["steps", "positions"]
    window.tabs.setCurrentWidget(window.portfolio_view)           # no table of its own: the shock
    tables, name = current_view_tables(window)
    ids = tables[0].frame["id"].tolist()
    assert name == "shock" and ids[: len(window.controller.shock.ids)] == window.controller.shock.ids
    write_csv(str(tmp_path / "shock.csv"), tables, csv_header(window, name))
    text = (tmp_path / "shock.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("# Exported by,CrashLab") and "sol-10x" in text
    window.tabs.setCurrentWidget(window.shock_view)
    write_png(str(tmp_path / "chart.png"), view_png(window))
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert write_html_report(str(tmp_path / "report.html"), window)
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "Holdings" in html and "Replay" in html
    assert "http" not in html.split("<body>")[0]                # self-contained head


def test_theme_switch_and_settings_persist(window, tmp_path):
    window.apply_theme("dark")
    assert window.shock_view.sensitivity.backgroundBrush().color().name() == "#16181c"
    window.shock_view.set_move(-0.2, emit=True)
    window.tabs.setCurrentIndex(2)
    window.save_state()
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert s.value("ui/theme") == "dark"
    assert float(s.value("shock/move")) == pytest.approx(-0.2)
    assert int(s.value("window/tab")) == 2


@pytest.mark.skipif(not montecarlo_available(), reason="engine.montecarlo not available")
def test_montecarlo_precision_stop_control_reaches_the_engine_and_persists(window, qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    mv = window.montecarlo_view
    assert mv.settings().liq_precision is None and not mv.precision.isEnabled()
    mv.stop_early.setChecked(True)
    mv.precision.setValue(2.0)
    assert mv.precision.isEnabled() and mv.settings().liq_precision == pytest.approx(0.02)
    from ui.jobs import build_request
    assert build_request(mv.settings()).liq_precision == pytest.approx(0.02)
    mv.paths.setValue(400_000)
    mv.days.setValue(5)
    window.tabs.setCurrentWidget(mv)
    with qtbot.waitSignal(window.controller.mc_ready, timeout=60_000):
        window.run_current()
    ch = mv.last_chunk.chunk
    assert ch.final and ch.stopped_early and ch.paths_done < 400_000
    assert "stopped: every P(liq) known to ±2 points" in mv.status.text()
    st = QSettings(str(tmp_path / "mc.ini"), QSettings.Format.IniFormat)
    mv.save_state(st)
    mv.stop_early.setChecked(False)
    mv.restore_state(st)
    assert mv.stop_early.isChecked() and mv.settings().liq_precision == pytest.approx(0.02)
