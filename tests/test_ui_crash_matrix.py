"""GUI tests of real crash paths: the replay on a UTC time axis (selecting a crash runs it),
the crash matrix (fills on a worker, sorts, exports, a cell opens its replay) and scenarios
saved in the portfolio (list, matrix, file)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from test_ui_main_window import WAIT, window  # noqa: E402,F401  (the same window fixture)

from engine import library, load_portfolio  # noqa: E402
from engine.stress import stress_all  # noqa: E402
from ui import scenario_store  # noqa: E402
from ui.charts.replay import time_axis_title, time_ticks  # noqa: E402
from ui.main_window import demo_path  # noqa: E402
from ui.views.matrix_view import GROUP, ROW_ID, SORT, column_title, short_name  # noqa: E402

DEC18 = "2025-12-18-btc-loses-85k"


def _row(view, scenario_id):
    return next(i for i in range(view.library_list.count())
                if view.library_list.item(i).data(Qt.ItemDataRole.UserRole) == scenario_id)


# --------------------------------------------------------------------------- time axis
def _epochs(times):
    return np.array([t.rstrip("Z") for t in times], dtype="datetime64[s]").astype(np.int64)


def test_time_ticks_hourly_daily_and_irregular():
    hourly = [f"2025-12-18T{h:02d}:00:00Z" for h in range(24)] + ["2025-12-19T00:00:00Z"]
    e = _epochs(hourly)
    ticks = time_ticks(e, 0, 24, 9)
    assert ticks[0] == (0, "18 Dec") and ticks[-1] == (24, "19 Dec")
    assert [label for _, label in ticks[1:-1]] == ["03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"]
    assert [i for i, _ in time_ticks(e, 0, 24, 30)] == list(range(25))       # room for every hour
    zoomed = time_ticks(e, 14.5, 20.2, 9)                                     # zoom: first tick dated
    assert zoomed[0] == (15, "18 Dec 15:00") and zoomed[-1] == (20, "20:00")
    daily = _epochs([f"2025-10-{d:02d}T00:00:00Z" for d in range(1, 31)])
    ticks = time_ticks(daily, 0, 29, 6)
    assert all(" " in label and ":" not in label for _, label in ticks)       # days, no hours
    assert ticks == [(5, "6 Oct"), (12, "13 Oct"), (19, "20 Oct"), (26, "27 Oct")]   # Mondays
    year = _epochs([f"2025-{m:02d}-{d:02d}T00:00:00Z" for m in range(1, 13) for d in (1, 15)])
    assert [label for _, label in time_ticks(year, 0, 23, 5)] == ["1 Jan", "1 Apr", "1 Jul", "1 Oct"]
    odd = _epochs(["2025-10-10T21:17:00Z", "2025-10-10T22:03:00Z", "2025-10-10T23:41:00Z",
                   "2025-10-11T00:20:00Z"])
    assert time_ticks(odd, 0, 3, 10) == [(1, "10 Oct 22:03"), (2, "23:41"), (3, "11 Oct 00:20")]
    assert time_axis_title(e) == "Time (UTC), Dec 2025"
    assert time_axis_title(_epochs(["2025-12-31T00:00:00Z", "2026-01-02T00:00:00Z"])) == \
        "Time (UTC), Dec 2025 – Jan 2026"
    assert time_axis_title(None) == "Step"


# --------------------------------------------------------------------------- replay
def test_selecting_a_crash_runs_it_on_a_time_axis(window, qtbot):
    rv = window.replay_view
    window.tabs.setCurrentWidget(rv)
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT,
                          check_params_cb=lambda r: r.report["scenario"]["id"] == DEC18):
        rv.library_list.setCurrentRow(_row(rv, DEC18))                       # a click, no Run
    res = rv.result
    assert res.times[0] == "2025-12-18T00:00:00Z" and len(res.times) == len(res.value) == 25
    axis = rv.value_chart.step_axis
    values = axis.tickValues(0, 24, 900)[0][1]
    labels = axis.tickStrings(values, 1, 1)
    assert labels[0] == "18 Dec" and "15:00" in labels and labels[-1] == "19 Dec"
    assert rv.value_chart.plotItem.getAxis("bottom").labelText == "Time (UTC), Dec 2025"
    rv.set_step(len(res.value) - 1)
    statuses = dict(zip(rv.positions_model.column_values(0), rv.positions_model.column_values(7)))
    assert statuses["sol-10x"] == "liquidated 2025-12-18 18:00 UTC"
    assert rv.step_label.text().startswith("2025-12-19 00:00 UTC")
    rv.set_step(17)
    statuses = dict(zip(rv.positions_model.column_values(0), rv.positions_model.column_values(7)))
    assert statuses["sol-10x"] == "alive (liquidated later, 2025-12-18 18:00 UTC)"
    assert rv.metrics["liq"].sub.text() == "by 18 Dec 17:00"
    # selecting in code (restoring the last choice) shows it without running
    runs = []
    window.controller.replay_ready.connect(runs.append)
    rv.select_scenario("2025-10-10-liquidation-cascade")
    qtbot.wait(300)
    assert runs == [] and rv.selected_scenario() == "2025-10-10-liquidation-cascade"


def test_replay_tab_shows_the_selected_crash_when_first_opened(window, qtbot):
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT):
        window.tabs.setCurrentWidget(window.replay_view)
    assert window.replay_view.result.report["scenario"]["id"] == window.replay_view.selected_scenario()


# --------------------------------------------------------------------------- the crash matrix
def _open_matrix(window, qtbot):
    progress = []
    window.controller.progress.connect(lambda ch, d, t, txt: progress.append((ch, d, t)) if ch == "matrix" else None)
    with qtbot.waitSignal(window.controller.matrix_ready, timeout=WAIT):
        window.tabs.setCurrentWidget(window.matrix_view)                     # runs when first shown
    return progress


def test_matrix_fills_on_a_worker_with_progress_per_scenario(window, qtbot):
    progress = _open_matrix(window, qtbot)
    n = len(library())
    assert [d for ch, d, t in progress if t == n] == list(range(1, n + 1))  # one step per crash
    mv = window.matrix_view
    model = mv.model
    p = load_portfolio(demo_path())
    want = stress_all(p)
    assert model.columnCount() == 1 + n
    assert model.rowCount() == 3 + len(p.positions) + len(p.accounts)
    ids = [model.index(r, 0).data(ROW_ID) for r in range(model.rowCount())]
    assert ids[:3] == [None] * 3 and ids[3:] == [x.id for x in p.positions] + [a.id for a in p.accounts]
    c = 1 + [s["id"] for s in want["scenarios"]].index(DEC18)
    sol = ids.index("sol-10x")
    assert model.index(sol, c).data(SORT) == pytest.approx(
        next(r["pnl"] for r in want["scenarios"][c - 1]["positions"] if r["id"] == "sol-10x"))
    assert model.index(sol, c).data() == "−$685  ✝ 18 Dec 18:00"
    assert model.index(0, c).data().startswith("−$2.15k")                 # portfolio P&L
    assert model.headerData(c, Qt.Orientation.Horizontal).startswith("18 Dec 2025\nBTC loses $85k")
    worst = min(s["portfolio"]["pnl"] for s in want["scenarios"])
    assert mv.metrics["worst"].value.text().startswith(f"−${-worst:,.0f}")
    assert mv.metrics["fragile"].value.text() == "sol-10x"
    # worst first: the columns follow the portfolio loss
    mv.order.setCurrentIndex(1)
    pnls = [model.index(0, c).data(SORT) for c in range(1, model.columnCount())]
    assert pnls == sorted(pnls)


def test_matrix_sorts_with_the_portfolio_pinned_on_top(window, qtbot):
    _open_matrix(window, qtbot)
    mv = window.matrix_view
    proxy = mv.proxy
    col = 1 + [s["id"] for s in library()].index("2022-06-10-celsius-3ac-capitulation")
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        mv.table.sortByColumn(col, order)
        groups = [proxy.index(r, 0).data(GROUP) for r in range(proxy.rowCount())]
        assert groups[:3] == [0, 0, 0] and set(groups[3:]) == {1}
        pnl = [proxy.index(r, col).data(SORT) for r in range(3, proxy.rowCount())]
        assert pnl == sorted(pnl, reverse=order == Qt.SortOrder.DescendingOrder)
    assert proxy.index(3, 0).data(ROW_ID) == "eth-hedge"                  # descending: the largest gain
    mv.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    names = [proxy.index(r, 0).data(SORT) for r in range(3, proxy.rowCount())]
    assert names == sorted(names)


def test_matrix_exports_through_the_export_path(window, qtbot, tmp_path):
    from ui.export import current_view_tables, write_csv
    _open_matrix(window, qtbot)
    tables, name = current_view_tables(window)
    assert name == "crash-matrix" and [t.name for t in tables] == ["portfolio", "cells"]
    frames = {t.name: t.frame for t in tables}
    write_csv(str(tmp_path / "m.csv"), tables)
    text = (tmp_path / "m.csv").read_text(encoding="utf-8-sig")
    assert "scenario_id,scenario,source," in text
    cells = frames["cells"]
    p = load_portfolio(demo_path())
    assert len(cells) == len(library()) * (len(p.positions) + len(p.accounts))
    row = cells[(cells.row == "sol-10x") & (cells.scenario_id == DEC18)].iloc[0]
    assert row.liquidated and row.liquidation_time == "2025-12-18T18:00:00Z" and row.pnl == pytest.approx(-685)
    summary = frames["portfolio"]
    assert list(summary.scenario_id) == [s["id"] for s in library()]
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("scenario_id,"))
    back = pd.read_csv(tmp_path / "m.csv", skiprows=first, nrows=len(summary), encoding="utf-8-sig")
    assert back.pnl.tolist() == pytest.approx(summary.pnl.tolist(), abs=0.005)


def test_matrix_cell_click_opens_that_replay_at_the_liquidation(window, qtbot):
    _open_matrix(window, qtbot)
    mv = window.matrix_view
    model = mv.model
    sol = next(r for r in range(model.rowCount()) if model.index(r, 0).data(ROW_ID) == "sol-10x")
    col = 1 + [s["id"] for s in library()].index("2025-10-10-liquidation-cascade")
    index = mv.proxy.mapFromSource(model.index(sol, col))
    mv.table.scrollTo(index)
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT,
                          check_params_cb=lambda r: r.report["scenario"]["id"] == "2025-10-10-liquidation-cascade"):
        qtbot.mouseClick(mv.table.viewport(), Qt.MouseButton.LeftButton,
                         pos=mv.table.visualRect(index).center())
    rv = window.replay_view
    assert window.tabs.currentWidget() is rv
    liq = next(p for p in rv.result.report["positions"] if p["id"] == "sol-10x")
    assert rv.step == liq["liquidation_step"] and liq["liquidation_time"] == "2025-10-10T16:00:00Z"
    assert rv.selected_scenario() == "2025-10-10-liquidation-cascade"
    # the portfolio row opens the end of the replay
    window.tabs.setCurrentWidget(mv)
    index = mv.proxy.mapFromSource(model.index(0, col - 1))
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT):
        qtbot.mouseClick(mv.table.viewport(), Qt.MouseButton.LeftButton,
                         pos=mv.table.visualRect(index).center())
    assert rv.step == len(rv.result.value) - 1


# --------------------------------------------------------------------------- saved scenarios
def test_saving_a_shock_adds_it_to_the_list_the_matrix_and_the_file(window, qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(scenario_store, "ask_name", lambda parent, title, suggestion: "Deep crash")
    _open_matrix(window, qtbot)
    window.shock_view.set_move(-0.4, emit=True)
    window.controller.set_beta_overrides({"SOL": 2.0})
    with qtbot.waitSignal(window.controller.matrix_ready, timeout=WAIT,
                          check_params_cb=lambda r: len(r.report["scenarios"]) == len(library()) + 1):
        window.shock_view.save_scenario.click()
    rv = window.replay_view
    texts = [rv.library_list.item(i).text() for i in range(rv.library_list.count())]
    assert texts[-1] == "Deep crash" and "Saved in this portfolio" in texts
    assert window.document.dirty
    last = window.matrix_view.model.scenario(window.matrix_view.model.columnCount() - 1)
    assert last["id"] == "deep-crash" and last["source"] == "saved"
    assert "Deep crash" in window.matrix_view.model.headerData(window.matrix_view.model.columnCount() - 1,
                                                                 Qt.Orientation.Horizontal)
    path = tmp_path / "book.json"
    assert window.files.save_to(str(path))
    raw = json.loads(path.read_text())
    assert raw["scenarios"][0]["moves"] == {"BTC": pytest.approx(-0.4)}
    assert raw["scenarios"][0]["beta_overrides"] == {"SOL": 2.0}
    # it replays from the list
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT,
                          check_params_cb=lambda r: r.report["scenario"]["id"] == "deep-crash"):
        rv.library_list.setCurrentRow(rv.library_list.count() - 1)
    assert rv.result.report["moves"]["SOL"] == pytest.approx(0.6 ** 2 - 1)
    assert "an instant shock" in rv.scenario_label.text()
    # undo removes it again
    window.document.undo.undo()
    texts = [rv.library_list.item(i).text() for i in range(rv.library_list.count())]
    assert "Deep crash" not in texts and texts[-1] == "none yet"


def test_saving_an_imported_window_and_deleting_it(window, qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(scenario_store, "ask_name", lambda parent, title, suggestion: "My window")
    rows = ["date,BTC,ETH,SOL"]
    for d, (b, e, s) in enumerate([(90000, 3000, 130), (88000, 2900, 125), (80000, 2600, 105),
                                   (70000, 2200, 90), (76000, 2500, 100)]):
        rows.append(f"2025-10-{10 + d:02d},{b},{e},{s}")
    f = tmp_path / "wide.csv"
    f.write_text("\n".join(rows) + "\n")
    rv = window.replay_view
    rv.set_price_files([str(f)])
    rv.start_edit.setText("2025-10-11")
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT):
        rv.request_run()
    imported = rv.result
    assert imported.times[0] == "2025-10-11T00:00:00Z" and len(imported.value) == 4
    with qtbot.waitSignal(window.controller.replay_ready, timeout=WAIT,
                          check_params_cb=lambda r: r.report["scenario"]["id"] == "my-window"):
        rv.save_window.click()                      # saved, then replayed from the list
    assert rv.selected_scenario() == "my-window"
    assert np.allclose(rv.result.value, imported.value, rtol=1e-6)
    assert rv.result.times == imported.times
    f.unlink()                                      # the file keeps the bars: no CSV needed
    path = tmp_path / "book.json"
    assert window.files.save_to(str(path))
    raw = json.loads(path.read_text())["scenarios"][0]
    assert raw["kind"] == "history" and raw["path"]["assets"]["BTC"]["close"] == \
        pytest.approx([1.0, 80000 / 88000, 70000 / 88000, 76000 / 88000], rel=1e-6)
    assert window.files.open_path(str(path))
    qtbot.waitUntil(lambda: "my-window" in window.replay_view.saved, timeout=WAIT)
    assert rv.select_scenario("my-window")
    assert not rv.delete_saved.isHidden()
    rv.delete_saved.click()
    assert "my-window" not in rv.saved and "scenarios" not in window.document.doc.extra


def test_an_unreadable_saved_scenario_is_listed_with_its_reason(window, qtbot):
    from engine import saved_scenarios as ss
    good = ss.shock_entry("fine", {"BTC": -0.2})
    window.scenarios.add(good)
    window.scenarios.add({**good, "id": "bad", "moves": {"BTC": -3}})     # as if edited by hand
    rv = window.replay_view
    items = [rv.library_list.item(i) for i in range(rv.library_list.count())]
    warn = [i for i in items if i.text().startswith("⚠")]
    assert len(warn) == 1 and "scenarios[1].moves.BTC" in warn[0].toolTip() and "-3" in warn[0].toolTip()
    assert "fine" in [i.text() for i in items]
    # the crash matrix runs the readable ones (the CLI's `all` refuses the file instead)
    with qtbot.waitSignal(window.controller.matrix_ready, timeout=WAIT):
        window.tabs.setCurrentWidget(window.matrix_view)
    ids = [s["id"] for s in window.matrix_view.result.report["scenarios"]]
    assert ids[-1] == "fine" and "bad" not in ids


def test_column_titles_are_short():
    for s in library():
        title = column_title({"name": s["name"], "crash_days": s["crash_days"]})
        lines = title.split("\n")
        assert len(lines) == 3 and all(len(line) <= 22 for line in lines), title
    assert short_name("10 Oct 2025 liquidation cascade (US–China)", "10 Oct 2025", 20) == "Liquidation cascade"
