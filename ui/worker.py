"""Run engine generators off the GUI thread.

:class:`Worker` is a QObject moved to its own QThread. It iterates a job generator
(:mod:`ui.jobs`) and reports only through its signals, which reach the GUI thread as
queued calls; it never touches a widget. Cancelling sets a flag that is checked between
two yields of the generator; a thread is never terminated.

:class:`TaskRunner` lives on the GUI thread and owns the worker/thread pairs of one kind of
job (one "channel"): starting a new run cancels the one in progress, results of a
cancelled run are dropped, and :meth:`TaskRunner.shutdown` waits for every thread.
"""
from __future__ import annotations

import threading
import time
import traceback
import weakref
from typing import Callable, Iterator

from PySide6.QtCore import QCoreApplication, QObject, QThread, Qt, Signal, Slot

from .jobs import Partial, Progress


class Worker(QObject):
    """Iterates one job generator on a worker thread.

    Signals (emitted from the worker thread, delivered queued to GUI-thread receivers):
    ``progress(done, total, text)``, ``partial_result(payload)``, ``finished(result)``,
    ``failed(exception)`` and ``cancelled()``; ``done()`` follows any of the last three.
    No widget calls happen here.
    """

    progress = Signal(int, int, str)
    partial_result = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()

    #: Least time between two partial results (the GUI repaints at its own pace anyway).
    PARTIAL_INTERVAL_S = 0.04

    def __init__(self, job: Callable[[], Iterator], run_id: int = 0):
        super().__init__()
        self._job = job
        self.run_id = run_id
        self._cancel = threading.Event()
        self.traceback = ""

    def cancel(self) -> None:
        """Ask the job to stop at its next yield (thread-safe)."""
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        gen = None
        try:
            gen = self._job()
            result = None
            last_partial = 0.0
            pending = None
            last_progress = None
            while True:
                if self._cancel.is_set():
                    gen.close()
                    self.cancelled.emit()
                    return
                try:
                    event = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                if isinstance(event, Progress):
                    key = (event.done, event.total, event.text)
                    if key != last_progress:          # only visible changes
                        last_progress = key
                        self.progress.emit(int(event.done), int(event.total), event.text)
                elif isinstance(event, Partial):
                    now = time.monotonic()
                    pending = event.payload
                    if now - last_partial >= self.PARTIAL_INTERVAL_S:
                        self.partial_result.emit(pending)
                        pending = None
                        last_partial = now
            if self._cancel.is_set():
                self.cancelled.emit()
                return
            self.finished.emit(result)
        except Exception as exc:  # reported to the GUI, never raised in the thread
            self.traceback = traceback.format_exc()
            exc.__dict__.setdefault("crashlab_traceback", self.traceback)
            self.failed.emit(exc)
        finally:
            # Hand the object back to the GUI thread (allowed from its own thread) so that
            # Python can delete it there once the run is over; then end the thread.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())
            self.done.emit()


class _Relay(QObject):
    """Lives on the GUI thread and forwards one run's worker signals, tagged with the run id,
    to its TaskRunner (queued connections; no QObject.sender() needed)."""

    def __init__(self, runner: "TaskRunner", run_id: int):
        super().__init__(runner)         # the runner is reached through parent(): no Python
        self.run_id = run_id             # reference cycle, so no collection off the GUI thread

    @Slot(int, int, str)
    def progress(self, done: int, total: int, text: str) -> None:
        self.parent()._on_progress(self.run_id, done, total, text)

    @Slot(object)
    def partial(self, payload) -> None:
        self.parent()._on_partial(self.run_id, payload)

    @Slot(object)
    def finished(self, result) -> None:
        self.parent()._on_finished(self.run_id, result)

    @Slot(object)
    def failed(self, exc) -> None:
        self.parent()._on_failed(self.run_id, exc)

    @Slot()
    def thread_finished(self) -> None:
        self.parent()._on_thread_finished(self.run_id)


class TaskRunner(QObject):
    """Owns the runs of one channel (e.g. Monte Carlo) on the GUI thread.

    Re-emits the current run's worker signals; a new :meth:`start` cancels the previous run,
    whose late signals are ignored.
    """

    progress = Signal(int, int, str)
    partial_result = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    running_changed = Signal(bool)

    #: Every runner alive, to check at exit (and in tests) that no thread is left running.
    _instances: "weakref.WeakSet[TaskRunner]" = weakref.WeakSet()

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        TaskRunner._instances.add(self)
        self.name = name
        self._run_id = 0
        self._current: Worker | None = None
        self._live: dict[int, tuple[QThread, Worker]] = {}
        self._relays: dict[int, _Relay] = {}
        self.started_at = 0.0
        self.last_elapsed = 0.0

    # ---- state
    def is_running(self) -> bool:
        return self._current is not None

    def live_threads(self) -> list[QThread]:
        return [t for t, _ in self._live.values()]

    @classmethod
    def running_threads(cls) -> list[QThread]:
        """The worker threads of every runner that are still running."""
        return [t for r in list(cls._instances) for t in r.live_threads() if t.isRunning()]

    # ---- control
    def start(self, job: Callable[[], Iterator]) -> int:
        """Cancel the run in progress and start ``job`` (a generator factory) on a new thread."""
        self.cancel(emit=False)
        self._run_id += 1
        run_id = self._run_id
        thread = QThread()
        thread.setObjectName(f"crashlab-{self.name}-{run_id}")
        worker = Worker(job, run_id)
        worker.moveToThread(thread)
        relay = _Relay(self, run_id)
        q = Qt.ConnectionType.QueuedConnection
        worker.progress.connect(relay.progress, q)
        worker.partial_result.connect(relay.partial, q)
        worker.finished.connect(relay.finished, q)
        worker.failed.connect(relay.failed, q)
        worker.done.connect(thread.quit)
        thread.started.connect(worker.run)
        thread.finished.connect(relay.thread_finished, q)
        self._live[run_id] = (thread, worker)
        self._relays[run_id] = relay
        was_running = self._current is not None
        self._current = worker
        self.started_at = time.perf_counter()
        thread.start()
        if not was_running:
            self.running_changed.emit(True)
        return run_id

    def cancel(self, emit: bool = True) -> bool:
        """Ask the current run to stop; returns whether one was running."""
        worker = self._current
        if worker is None:
            return False
        worker.cancel()
        self._current = None
        if emit:
            self.cancelled.emit()
            self.running_changed.emit(False)
        return True

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel everything and wait for every thread to end (call before exit)."""
        self.cancel(emit=False)
        ok = True
        for thread, worker in list(self._live.values()):
            worker.cancel()
            thread.quit()
            ok = thread.wait(timeout_ms) and ok
        # deliver the queued thread-finished notifications
        for run_id in list(self._live):
            thread, _ = self._live[run_id]
            if thread.isFinished():
                self._on_thread_finished(run_id)
        return ok

    # ---- worker signals, forwarded by the run's relay (GUI thread)
    def _is_current(self, run_id: int) -> bool:
        return self._current is not None and self._current.run_id == run_id

    def _on_progress(self, run_id: int, done: int, total: int, text: str) -> None:
        if self._is_current(run_id):
            self.progress.emit(done, total, text)

    def _on_partial(self, run_id: int, payload) -> None:
        if self._is_current(run_id):
            self.partial_result.emit(payload)

    def _on_finished(self, run_id: int, result) -> None:
        if self._is_current(run_id):
            self._current = None
            self.last_elapsed = time.perf_counter() - self.started_at
            self.finished.emit(result)
            self.running_changed.emit(False)

    def _on_failed(self, run_id: int, exc) -> None:
        if self._is_current(run_id):
            self._current = None
            self.failed.emit(exc)
            self.running_changed.emit(False)

    def _on_thread_finished(self, run_id: int) -> None:
        """The run's thread has ended: drop it. The worker was handed back to the GUI thread
        and the thread is finished, so Python deletes both here, on the GUI thread (no
        deleteLater on Python-owned objects: that would delete them twice)."""
        pair = self._live.pop(run_id, None)
        relay = self._relays.pop(run_id, None)
        if relay is not None:
            relay.deleteLater()                  # owned by its parent (this runner)
        if pair is not None:
            pair[0].wait()                       # finished already: returns at once
        del pair                                 # thread and worker are deleted here
