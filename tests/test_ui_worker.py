"""Worker thread tests: signals in order, cancel between yields, errors as signals, and
no thread left running."""
from __future__ import annotations

import gc
import threading

import pytest

pytest.importorskip("pytestqt")

from engine import InputError  # noqa: E402
from ui.jobs import Partial, Progress  # noqa: E402
from ui.worker import TaskRunner  # noqa: E402


@pytest.fixture
def runner(qtbot):
    r = TaskRunner("test")
    yield r
    assert r.shutdown(10_000)
    assert all(not t.isRunning() for t in r.live_threads())
    qtbot.waitUntil(lambda: r.live_threads() == [], timeout=5_000)
    del r
    gc.collect()               # Qt objects die here, on the GUI thread, not in a later worker


def counting_job(n, gate: threading.Event | None = None):
    def job():
        for i in range(n):
            if gate is not None:
                gate.wait(5)
            yield Progress(i + 1, n, f"step {i + 1}")
            yield Partial(i)
        return "done"
    return job


def test_signals_progress_partial_finished(qtbot, runner):
    progress = []
    runner.progress.connect(lambda d, t, s: progress.append(d))
    with qtbot.waitSignal(runner.finished, timeout=5_000) as blocker:
        runner.start(counting_job(5))
    assert blocker.args == ["done"]
    assert progress == [1, 2, 3, 4, 5]
    assert not runner.is_running()


def test_cancel_between_yields(qtbot, runner):
    gate = threading.Event()
    finished = []
    runner.finished.connect(finished.append)
    runner.start(counting_job(1000, gate))
    assert runner.is_running()
    with qtbot.waitSignal(runner.cancelled, timeout=5_000):
        runner.cancel()
    gate.set()                                   # let the job reach its next yield
    qtbot.waitUntil(lambda: runner.live_threads() == [], timeout=5_000)
    assert finished == []                        # a cancelled run never reports a result


def test_restart_drops_stale_results(qtbot, runner):
    gate = threading.Event()
    results = []
    runner.finished.connect(results.append)
    runner.start(counting_job(3, gate))          # will be superseded
    with qtbot.waitSignal(runner.finished, timeout=5_000):
        runner.start(counting_job(2))
        gate.set()
    qtbot.waitUntil(lambda: runner.live_threads() == [], timeout=5_000)
    assert results == ["done"]


def test_engine_error_arrives_as_failed_signal(qtbot, runner):
    def job():
        yield Progress(0, 1, "checking")
        raise InputError("must be greater than 0", field="quantity", value=-1, position="p1")

    with qtbot.waitSignal(runner.failed, timeout=5_000) as blocker:
        runner.start(job)
    exc = blocker.args[0]
    assert isinstance(exc, InputError) and exc.field == "quantity"
    assert "quantity" in str(exc) and "-1" in str(exc)
