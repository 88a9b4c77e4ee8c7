"""Shared test setup. Kept minimal so engine tests run without Qt.

QT_QPA_PLATFORM must be set before any Qt import: headless by default; export
QT_QPA_PLATFORM=xcb under ``xvfb-run`` to test against a real X server.

Every test must leave no thread running: the autouse fixture below compares the Python
threads before and after the test (after a short grace period for threads that are
finishing) and, when the GUI's worker module is in use, checks that no ui.worker QThread
still runs.
"""
import os
import sys
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# CI runs property tests with a fixed seed sequence (reproducible, never flaky);
# developers get fresh random examples on every run.
try:
    from hypothesis import settings as _hyp_settings

    _hyp_settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        _hyp_settings.load_profile("ci")
except ImportError:  # pragma: no cover
    pass

THREAD_GRACE_S = 5.0


def _worker_qthreads():
    worker = sys.modules.get("ui.worker")       # only if a test used the GUI's workers
    return worker.TaskRunner.running_threads() if worker is not None else []


def _python_threads() -> set:
    # a _DummyThread stands for a thread Python did not start (e.g. a QThread that logged):
    # it can be neither joined nor seen to end; the QThread check covers those
    return {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}


@pytest.fixture(autouse=True)
def no_thread_left_running():
    before = _python_threads()
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
    for t in _python_threads() - before:
        t.join(max(0.0, deadline - time.monotonic()))
    for qt in _worker_qthreads():
        qt.wait(max(0, int((deadline - time.monotonic()) * 1000)))
    leaked = [t.name for t in _python_threads() - before if t.is_alive()]
    leaked += [f"QThread {qt.objectName()}" for qt in _worker_qthreads()]
    assert not leaked, f"test left threads running: {leaked}"
