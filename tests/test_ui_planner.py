"""GUI: the Survive tab (the survival planner) and the reverse stress's editable loss levels,
on the real main window with the demo book."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from engine import portfolio_to_dict, stress_all  # noqa: E402
from engine.planner import summaries  # noqa: E402
from test_ui_main_window import WAIT, window  # noqa: E402,F401  (the real window, as there)
from ui.views.planner_view import apply_to_document  # noqa: E402

PLAN_WAIT = 60_000


def plan(window, qtbot, budget: str = "", target: str = "all"):
    pv = window.planner_view
    pv.target.setCurrentIndex(pv.target.findData(target))
    pv.budget.setText(budget)
    with qtbot.waitSignal(window.controller.plan_ready, timeout=PLAN_WAIT) as sig:
        pv.plan_button.click()
    qtbot.waitUntil(lambda: not window.controller.is_running("plan"), timeout=WAIT)
    return sig.args[0]


def test_survive_tab_sits_beside_reverse_stress(window):
    tabs = window.tabs
    i = tabs.indexOf(window.reverse_view)
    assert tabs.widget(i + 1) is window.planner_view and tabs.tabText(i + 1) == "Survive"
    assert "plan" in window.controller.CHANNELS


def test_plan_all_crashes_shows_actions_and_changes_nothing(window, qtbot):
    doc = window.document
    before = portfolio_to_dict(doc.validation.portfolio)
    res = plan(window, qtbot)
    rep = res.report
    pv = window.planner_view
    assert pv.actions_model.rowCount() == len(rep["actions"]) > 0
    assert pv.compare_model.rowCount() == 12                    # one row per bundled crash
    assert pv.matrix_model.columnCount() == 13
    saved = pv.matrix_model.rows[0]
    assert saved[0] == "sol-10x" and all(c == "✝ → ✓" for c in saved[1:])
    in_plan = [r for r in pv.actions_model.rows if r[-1]]
    assert len(in_plan) == len(rep["plan"]) == 4                # no budget: every one saved
    assert pv.apply_button.isEnabled()
    # planning never edits the book
    assert portfolio_to_dict(doc.validation.portfolio) == before
    assert doc.undo.count() == 0 and not doc.dirty


def test_apply_is_one_undoable_step_and_gives_the_after_state(window, qtbot):
    doc = window.document
    original = portfolio_to_dict(doc.validation.portfolio)
    res = plan(window, qtbot, budget="15000")
    rep = res.report
    assert 0 < rep["plan_summary"]["cost_usd"] <= 15000
    assert rep["plan_summary"]["not_saved"]                      # the budget leaves some out
    window.planner_view.apply_button.click()
    assert doc.undo.count() == 1 and doc.undo.text(0) == "Apply survival plan"
    applied = doc.validation.portfolio
    assert portfolio_to_dict(applied) == portfolio_to_dict(res.after)
    # re-running the target on the edited book shows the reported after-state
    again = stress_all(applied)
    assert [s["portfolio"]["liquidated_positions"] for s in again["scenarios"]] == \
        [a["liquidated"] for a in rep["after"]]
    assert summaries(res.target, applied) == rep["after"]
    assert not window.planner_view.apply_button.isEnabled()     # applied: plan again first
    doc.undo.undo()
    assert portfolio_to_dict(doc.validation.portfolio) == original


def test_stale_plan_cannot_be_applied(window, qtbot):
    res = plan(window, qtbot, target="2025-12-18-btc-loses-85k")
    pv = window.planner_view
    assert pv.apply_button.isEnabled()
    doc = window.document
    row = next(i for i, r in enumerate(doc.doc.rows) if r.raw.get("id") == "cold-btc")
    doc.set_cell("position", row, "quantity", "0.9")
    assert not pv.apply_button.isEnabled() and "changed" in pv.status.text()
    with pytest.raises(ValueError):
        apply_to_document(doc, res.original, res.after)
    assert doc.undo.count() == 1                                  # only the user's edit
    qtbot.waitUntil(lambda: not window.controller.debounce.timer.isActive(), timeout=WAIT)


def test_bad_budget_names_the_field(window, qtbot):
    pv = window.planner_view
    pv.budget.setText("lots")
    pv.plan_button.click()
    assert "budget" in pv.status.text() and "lots" in pv.status.text()
    assert not window.controller.is_running("plan")


def test_reverse_loss_levels_are_editable_and_planner_targets(window, qtbot):
    rv = window.reverse_view
    with qtbot.waitSignal(window.controller.reverse_ready, timeout=WAIT):
        window.tabs.setCurrentWidget(rv)
    rv.loss_edit.setText("10%, 0.2, 33%")
    with qtbot.waitSignal(window.controller.reverse_ready, timeout=WAIT) as sig:
        rv.loss_edit.editingFinished.emit()
    assert list(sig.args[0]["portfolio"]["btc_move_for_loss"]) == ["0.1", "0.2", "0.33"]
    assert [r[0] for r in rv.loss_model.rows] == ["10%", "20%", "33%"]
    assert rv.loss_edit.text() == "10%, 20%, 33%"
    pv = window.planner_view
    assert pv.target.findData("loss:0.33") >= 0
    res = plan(window, qtbot, target="loss:0.33")
    assert res.report["target"]["kind"] == "loss"
    move = sig.args[0]["portfolio"]["btc_move_for_loss"]["0.33"]
    assert res.target.scenarios[0].moves["BTC"] == pytest.approx(move)
    rv.loss_edit.setText("10%, 150%")
    rv.loss_edit.editingFinished.emit()
    assert "losses" in rv.status.text() and "150%" in rv.status.text()
    assert window.controller.reverse_losses == (0.1, 0.2, 0.33)


def test_imported_history_target(window, qtbot, tmp_path):
    """The Replay view's imported price file is a planner target; the after-state is what a
    replay of that file gives on the planned book."""
    from engine import compile_book, history_scenario, stress
    from engine.prices import load_price_history
    pv = window.planner_view
    pv.target.setCurrentIndex(pv.target.findData("history"))
    pv.plan_button.click()
    assert "Replay view" in pv.status.text() and not window.controller.is_running("plan")
    rows = ["date,BTC,ETH,SOL"]
    for d, (b, e, s) in enumerate([(90000, 3000, 130), (80000, 2600, 105), (70000, 2200, 90)]):
        rows.append(f"2025-10-{10 + d:02d},{b},{e},{s}")
    f = tmp_path / "wide.csv"
    f.write_text("\n".join(rows) + "\n")
    window.files.open_dropped([str(f)])
    res = plan(window, qtbot, target="history")
    rep = res.report
    assert rep["target"]["kind"] == "history" and rep["plan_summary"]["failing"]
    book = compile_book(res.after)
    again = stress(res.after, history_scenario(load_price_history([str(f)]), book.assets, book.today),
                   book, series=False)
    assert again["portfolio"]["liquidated_positions"] == rep["after"][0]["liquidated"] == 0
    assert again["portfolio"]["pnl"] == pytest.approx(rep["after"][0]["pnl"])
