"""Controller routing, headless (no window): a run starts on a worker thread and its result
is re-emitted, Cancel stops every run, edits and Monte Carlo settings re-run after a
debounce, and no engine work runs on the GUI thread except the interactive shock."""
from __future__ import annotations

import gc
import threading

import pytest

pytest.importorskip("pytestqt")

import ui.controller as controller_mod  # noqa: E402
import ui.jobs as jobs_mod  # noqa: E402
from ui.controller import Controller  # noqa: E402
from ui.document import Document  # noqa: E402
from ui.files import demo_path  # noqa: E402
from ui.jobs import MonteCarloSettings, Progress, evaluate_shock  # noqa: E402
from ui.models import PortfolioDocument  # noqa: E402

WAIT = 15_000


@pytest.fixture
def ctrl(qtbot):
    doc = PortfolioDocument()
    doc.load(Document.from_file(demo_path()), None)
    c = Controller(doc)
    yield c
    assert c.shutdown()
    qtbot.waitUntil(lambda: c.live_threads() == [], timeout=5_000)
    del c, doc
    gc.collect()               # Qt objects die here, on the GUI thread


def gated_job(gate: threading.Event, result="done", calls: list | None = None):
    """A job factory standing in for an engine job: yields until ``gate`` is set."""
    def job(*args):
        if calls is not None:
            calls.append(args)
        for i in range(1000):
            if gate.is_set():
                break
            gate.wait(0.01)
            yield Progress(i, 1000, "waiting")
        return result
    return job


def test_analysis_computes_today_off_the_gui_thread(ctrl, qtbot, monkeypatch):
    seen = []

    def spy(book, betas, move):
        seen.append((move, threading.current_thread() is threading.main_thread()))
        return evaluate_shock(book, betas, move)

    monkeypatch.setattr(jobs_mod, "evaluate_shock", spy)
    with qtbot.waitSignal(ctrl.analysis_ready, timeout=WAIT) as blocker:
        ctrl.recompute()
    analysis = blocker.args[0]
    assert ctrl.analysis is analysis and analysis.today is not None
    assert analysis.today.btc_move == 0.0
    assert analysis.today.portfolio_before == pytest.approx(analysis.value_today)
    assert analysis.today.ids == list(analysis.book.ids)
    assert (0.0, False) in seen                       # today: on the worker thread
    assert all(not main for move, main in seen if move == 0.0)
    assert ctrl.shock is not None and ctrl.shock.btc_move == pytest.approx(ctrl.shock_move)


def test_empty_portfolio_clears_the_analysis(ctrl, qtbot):
    with qtbot.waitSignal(ctrl.analysis_ready, timeout=WAIT):
        ctrl.recompute()
    ctrl.doc.load(Document({"name": "Empty", "prices": {}, "accounts": [], "positions": []}), None)
    with qtbot.waitSignal(ctrl.analysis_ready, timeout=WAIT) as blocker:
        ctrl.recompute()
    assert blocker.args == [None]
    assert ctrl.analysis is None


def test_run_reports_result_and_cancel_all_drops_it(ctrl, qtbot, monkeypatch):
    gate = threading.Event()
    monkeypatch.setattr(controller_mod, "reverse_job", gated_job(gate, {"positions": []}))
    results, busy = [], []
    ctrl.reverse_ready.connect(results.append)
    ctrl.busy_changed.connect(lambda ch, on: busy.append((ch, on)))
    assert ctrl.run_reverse()
    assert ctrl.is_running("reverse") and ("reverse", True) in busy
    with qtbot.waitSignal(ctrl.cancelled_all, timeout=WAIT):
        assert ctrl.cancel_all()
    assert not ctrl.is_running("reverse") and busy[-1] == ("reverse", False)
    gate.set()
    qtbot.waitUntil(lambda: ctrl.live_threads() == [], timeout=WAIT)
    assert results == []                              # a cancelled run never reports
    # a new run reports its result
    with qtbot.waitSignal(ctrl.reverse_ready, timeout=WAIT) as blocker:
        ctrl.run_reverse()
    assert blocker.args == [{"positions": []}]


def test_cancel_all_with_nothing_running(ctrl, qtbot):
    with qtbot.waitSignal(ctrl.analysis_ready, timeout=WAIT):
        ctrl.recompute()
    emitted = []
    ctrl.cancelled_all.connect(lambda: emitted.append(True))
    assert not ctrl.cancel_all()
    assert emitted == []


def test_edit_restarts_the_analysis_after_a_debounce(ctrl, qtbot):
    with qtbot.waitSignal(ctrl.analysis_ready, timeout=WAIT):
        ctrl.recompute()
    runs = []
    ctrl.analysis_ready.connect(runs.append)
    ctrl.doc.set_cell("position", 0, "quantity", "2")
    ctrl.doc.set_cell("position", 0, "quantity", "3")
    assert ctrl.debounce.timer.isActive() and not ctrl.is_running("analysis")
    qtbot.waitUntil(lambda: len(runs) == 1 and not ctrl.is_running("analysis"), timeout=WAIT)
    qtbot.wait(ctrl.debounce.timer.interval() + 50)
    assert len(runs) == 1                             # two edits, one run
    assert runs[0].portfolio.positions[0].quantity == 3


def test_montecarlo_settings_change_reruns_once_when_live(ctrl, qtbot, monkeypatch):
    monkeypatch.setattr(controller_mod, "montecarlo_available", lambda: True)
    gate = threading.Event()
    gate.set()                                        # runs finish at once
    calls = []
    monkeypatch.setattr(controller_mod, "montecarlo_job", gated_job(gate, "chunk", calls))
    with qtbot.waitSignal(ctrl.mc_ready, timeout=WAIT):
        assert ctrl.start_montecarlo(MonteCarloSettings(n_paths=100), live=True)
    assert len(calls) == 1
    for n in (200, 300, 400):                         # a spin box being stepped
        ctrl.montecarlo_settings_changed(MonteCarloSettings(n_paths=n))
    assert ctrl.mc_debounce.timer.isActive() and len(calls) == 1
    with qtbot.waitSignal(ctrl.mc_ready, timeout=WAIT):
        pass
    assert len(calls) == 2 and calls[-1][1].n_paths == 400
    # not live: a settings change neither re-runs nor replaces the settings of the last run
    ctrl.set_mc_live(False)
    ctrl.montecarlo_settings_changed(MonteCarloSettings(n_paths=500))
    assert not ctrl.mc_debounce.timer.isActive()
    assert ctrl.mc_settings.n_paths == 400


def test_montecarlo_never_run_ignores_settings_changes(ctrl):
    ctrl.montecarlo_settings_changed(MonteCarloSettings(n_paths=500))
    assert ctrl.mc_settings is None and not ctrl.mc_debounce.timer.isActive()


def test_run_without_valid_positions_reports_an_error(ctrl, qtbot):
    ctrl.doc.load(Document({"name": "Empty", "prices": {}, "accounts": [], "positions": []}), None)
    with qtbot.waitSignal(ctrl.error, timeout=WAIT) as blocker:
        assert not ctrl.run_replay(controller_mod.ReplaySpec(scenario_id="x"))
    assert blocker.args[0] == "replay" and "No valid position" in blocker.args[1]
