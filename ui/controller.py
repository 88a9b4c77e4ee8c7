"""Wires the document to the engine and owns every run: which jobs run, debounced
recomputes and live re-runs, cancelling, and the latest results.

The controller lives on the GUI thread. Edits and control changes restart a 250 ms
debounce; when it fires the runs in progress are cancelled and started again on the
current holdings. A Monte Carlo that has run re-runs (when "live") after its settings
change, 250 ms after the last change. Engine work runs on worker threads; results arrive
through :class:`ui.worker.TaskRunner` signals and are re-emitted for the views. The one
exception is the shock slider, evaluated synchronously (:func:`ui.jobs.evaluate_shock`,
about 1 ms) on the book compiled by the last analysis.
"""
from __future__ import annotations

import time
from functools import partial

from PySide6.QtCore import QObject, Signal

from engine import InputError

from .jobs import (DEFAULT_LOSSES, Analysis, MonteCarloSettings, PlanSettings, ReplaySpec,
                   ShockResult, analysis_job, evaluate_shock, matrix_job, montecarlo_available,
                   montecarlo_job, plan_job, release_memory, replay_job, reverse_job)
from .models import PortfolioDocument
from .widgets import Debouncer
from .worker import TaskRunner

DEBOUNCE_MS = 250
MC_DEBOUNCE_MS = 250


class Controller(QObject):
    analysis_ready = Signal(object)        # Analysis
    shock_ready = Signal(object)           # ShockResult
    replay_ready = Signal(object)          # ReplayResult
    mc_partial = Signal(object)            # MonteCarloChunk
    mc_ready = Signal(object)
    reverse_ready = Signal(object)         # dict from engine.reverse_stress
    matrix_ready = Signal(object)          # MatrixResult (every crash at once)
    plan_ready = Signal(object)            # engine.planner.PlanResult
    reverse_losses_changed = Signal(object)   # tuple of loss levels (fractions)
    error = Signal(str, str)               # (channel, message naming field and value)
    busy_changed = Signal(str, bool)       # channel, running
    progress = Signal(str, int, int, str)  # channel, done, total, text
    cancelled_all = Signal()               # cancel_all stopped at least one run

    CHANNELS = ("analysis", "replay", "montecarlo", "reverse", "matrix", "plan")

    def __init__(self, document: PortfolioDocument, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = document
        self.runners = {name: TaskRunner(name, self) for name in self.CHANNELS}
        for name, r in self.runners.items():
            r.progress.connect(partial(self._on_progress, name))
            r.failed.connect(partial(self._on_failed, name))
            r.running_changed.connect(partial(self._on_running, name))
            r.cancelled.connect(partial(self._on_cancelled, name))
        self.runners["analysis"].finished.connect(self._on_analysis)
        self.runners["replay"].finished.connect(self._on_replay)
        self.runners["montecarlo"].partial_result.connect(self.mc_partial)
        self.runners["montecarlo"].finished.connect(self._on_mc)
        self.runners["reverse"].finished.connect(self._on_reverse)
        self.runners["matrix"].finished.connect(self._on_matrix)
        self.runners["plan"].finished.connect(self._on_plan)
        self.debounce = Debouncer(DEBOUNCE_MS, self.recompute, self)
        self.mc_debounce = Debouncer(MC_DEBOUNCE_MS, self._restart_montecarlo, self)
        self.doc.changed.connect(self.schedule)
        self.analysis: Analysis | None = None
        self.shock: ShockResult | None = None
        self.shock_move = -0.30
        self.beta_overrides: dict[str, float] = {}
        self.depegs: dict[str, float] = {}      # Shock view: pegged asset -> de-peg (fraction)
        self.replay_spec: ReplaySpec | None = None
        self.mc_settings: MonteCarloSettings | None = None
        self.mc_live = True                 # re-run the Monte Carlo on changes once it has run
        self.reverse_wanted = False
        self.matrix_wanted = False          # the crash matrix has been asked for: keep it current
        self.reverse_losses: tuple[float, ...] = tuple(DEFAULT_LOSSES)
        self.plan_settings: PlanSettings | None = None
        self.last_shock_ms = 0.0
        self.last_error: dict[str, str] = {}
        # channels whose latest run the user cancelled: the result shown is an older one
        # (or, for the Monte Carlo, a partial one); cleared when a run of it finishes
        self.cancelled: set[str] = set()

    # ---- scheduling
    def schedule(self) -> None:
        """Holdings or a control changed: cancel what runs on old inputs, recompute soon (a
        plan is not re-run by itself: it runs when asked)."""
        for name in ("analysis", "replay", "reverse", "matrix", "plan"):
            self.runners[name].cancel(emit=False)
        if self.mc_live and self.mc_settings is not None:
            self.runners["montecarlo"].cancel(emit=False)
        for name in self.CHANNELS:
            self.busy_changed.emit(name, self.runners[name].is_running())
        self.debounce.trigger()

    def recompute(self) -> None:
        """Start the analysis and re-run the replay / reverse / Monte Carlo already in use."""
        self.debounce.cancel()
        port = self.doc.validation.portfolio
        if port is None or not port.positions:
            self.analysis = None
            self.analysis_ready.emit(None)
            return
        self._start_analysis(port)
        if self.replay_spec is not None:
            self.run_replay(self.replay_spec)
        if self.reverse_wanted:
            self.run_reverse()
        if self.matrix_wanted:
            self.run_matrix()
        if self.mc_live and self.mc_settings is not None:
            self.run_montecarlo(self.mc_settings)

    def _start_analysis(self, port) -> None:
        overrides = dict(self.beta_overrides)
        depegs = dict(self.depegs)
        self.runners["analysis"].start(lambda: analysis_job(port.copy(), overrides, depegs=depegs))

    # ---- shock (synchronous, instant)
    def set_shock(self, move: float) -> ShockResult | None:
        self.shock_move = float(move)
        if self.analysis is None:
            return None
        t0 = time.perf_counter()
        book = self.analysis.book
        self.shock = evaluate_shock(book, self.analysis.betas, self.shock_move,
                                    {a: v for a, v in self.depegs.items() if a in book.assets})
        self.last_shock_ms = (time.perf_counter() - t0) * 1000
        self.shock_ready.emit(self.shock)
        return self.shock

    def set_beta_overrides(self, overrides: dict[str, float]) -> None:
        self.beta_overrides = {k.upper(): float(v) for k, v in overrides.items()}
        if self.analysis is not None:
            # the slider result follows at once; curve and replays follow the debounce
            from engine import resolve_betas
            res = resolve_betas(self.analysis.book.assets, self.beta_overrides)
            self.analysis.betas = {a: b for a, (b, _) in res.items()}
            self.analysis.beta_sources = {a: s for a, (_, s) in res.items()}
            self.set_shock(self.shock_move)
        self.schedule()

    def set_depegs(self, depegs: dict[str, float]) -> None:
        """De-pegs of pegged assets in the Shock view: the slider result follows at once, the
        sensitivity curve when the analysis re-run ends (replays and the Monte Carlo do not
        use them)."""
        self.depegs = {k.upper(): float(v) for k, v in depegs.items() if v}
        if self.analysis is not None:
            self.set_shock(self.shock_move)
        port = self.doc.validation.portfolio
        if port is not None and port.positions:
            self._start_analysis(port)

    # ---- explicit runs
    def run_replay(self, spec: ReplaySpec) -> bool:
        self.replay_spec = spec
        port = self.doc.validation.portfolio
        if port is None or not port.positions:
            self.error.emit("replay", "No valid position to replay: fix the marked cells first.")
            return False
        spec = ReplaySpec(**{**spec.__dict__, "beta_overrides": dict(self.beta_overrides)})
        self.runners["replay"].start(lambda: replay_job(port.copy(), spec))
        return True

    def start_montecarlo(self, settings: MonteCarloSettings, live: bool) -> bool:
        """The user asked for a run (Run button, Ctrl+R): ``live`` re-runs it on later changes."""
        self.mc_live = bool(live)
        self.mc_debounce.cancel()
        return self.run_montecarlo(settings)

    def set_mc_live(self, on: bool) -> None:
        self.mc_live = bool(on)

    def montecarlo_settings_changed(self, settings: MonteCarloSettings) -> None:
        """A Monte Carlo control moved: a live run restarts with it after a short pause."""
        if self.mc_settings is not None and self.mc_live:
            self.runners["montecarlo"].cancel()
            self.mc_settings = settings
            self.mc_debounce.trigger()

    def _restart_montecarlo(self) -> None:
        if self.mc_settings is not None and self.mc_live:
            self.run_montecarlo(self.mc_settings)

    def run_montecarlo(self, settings: MonteCarloSettings) -> bool:
        self.mc_settings = settings
        if not montecarlo_available():
            self.error.emit("montecarlo", "The Monte Carlo engine (engine.montecarlo) is not "
                                          "installed in this build.")
            return False
        port = self.doc.validation.portfolio
        if port is None or not port.positions:
            self.error.emit("montecarlo", "No valid position to simulate: fix the marked cells first.")
            return False
        s = MonteCarloSettings(**{**settings.__dict__, "beta_overrides": dict(self.beta_overrides)})
        self.runners["montecarlo"].start(lambda: montecarlo_job(port.copy(), s))
        return True

    def run_reverse(self) -> bool:
        self.reverse_wanted = True
        port = self.doc.validation.portfolio
        if port is None or not port.positions:
            return False
        overrides = dict(self.beta_overrides)
        losses = tuple(self.reverse_losses)
        self.runners["reverse"].start(lambda: reverse_job(port.copy(), overrides, losses))
        return True

    def set_reverse_losses(self, levels) -> None:
        """The reverse stress's loss levels (fractions, checked by the view through
        :func:`engine.stress.loss_levels`); a reverse stress in use runs again with them."""
        levels = tuple(float(x) for x in levels)
        if levels == self.reverse_losses:
            return
        self.reverse_losses = levels
        self.reverse_losses_changed.emit(levels)
        if self.reverse_wanted:
            self.run_reverse()

    # ---- survival planner
    def run_plan(self, settings: PlanSettings) -> bool:
        """Plan on the current holdings (with the Shock view's beta overrides); the result
        comes as ``plan_ready`` with the portfolio it was planned on."""
        self.plan_settings = settings
        port = self.doc.validation.portfolio
        if port is None or not port.positions:
            self.error.emit("plan", "No valid position to plan for: fix the marked cells first.")
            return False
        s = PlanSettings(**{**settings.__dict__, "beta_overrides": dict(self.beta_overrides)})
        self.runners["plan"].start(lambda: plan_job(port.copy(), s))
        return True

    def run_matrix(self) -> bool:
        """Every bundled and saved scenario on the holdings, one after the other on a worker
        (re-run on later changes)."""
        self.matrix_wanted = True
        port = self.doc.validation.portfolio
        if port is None or not port.positions:
            self.error.emit("matrix", "No valid position to stress: fix the marked cells first.")
            return False
        overrides = dict(self.beta_overrides)
        self.runners["matrix"].start(lambda: matrix_job(port.copy(), overrides))
        return True

    def cancel(self, channel: str | None = None) -> bool:
        names = [channel] if channel else list(self.CHANNELS)
        any_ = False
        for n in names:
            if self.runners[n].cancel():
                self.cancelled.add(n)
                any_ = True
        return any_

    def cancel_all(self) -> bool:
        """Esc / Cancel: stop every run in progress (``cancelled_all`` if one was running)."""
        if not self.cancel():
            return False
        self.cancelled_all.emit()
        return True

    def is_running(self, channel: str) -> bool:
        return self.runners[channel].is_running()

    def shutdown(self) -> bool:
        self.debounce.cancel()
        self.mc_debounce.cancel()
        ok = True
        for r in self.runners.values():
            ok = r.shutdown() and ok
        return ok

    def live_threads(self):
        return [t for r in self.runners.values() for t in r.live_threads()]

    # ---- results
    def _on_analysis(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.cancelled.discard("analysis")
        self.last_error.pop("analysis", None)
        self.analysis_ready.emit(analysis)
        self.set_shock(self.shock_move)

    def _on_replay(self, result) -> None:
        self.cancelled.discard("replay")
        self.last_error.pop("replay", None)
        self.replay_ready.emit(result)

    def _on_matrix(self, result) -> None:
        self.last_error.pop("matrix", None)
        self.matrix_ready.emit(result)

    def _on_plan(self, result) -> None:
        self.last_error.pop("plan", None)
        self.plan_ready.emit(result)

    def _on_mc(self, chunk) -> None:
        self.cancelled.discard("montecarlo")
        self.last_error.pop("montecarlo", None)
        self.mc_ready.emit(chunk)
        release_memory()        # the run is drawn: return what the allocator kept of it

    def _on_reverse(self, report) -> None:
        self.cancelled.discard("reverse")
        self.reverse_ready.emit(report)

    def _on_progress(self, name, done, total, text) -> None:
        self.progress.emit(name, done, total, text)

    def _on_running(self, name, running) -> None:
        self.busy_changed.emit(name, running)

    def _on_cancelled(self, name) -> None:
        self.busy_changed.emit(name, False)

    def _on_failed(self, name, exc) -> None:
        self.last_error[name] = describe_error(exc)
        self.error.emit(name, self.last_error[name])


def describe_error(exc: BaseException) -> str:
    """A user-facing message: InputError as the engine words it (field and value)."""
    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory for this run: lower the number of paths or the horizon."
    return f"Internal error ({type(exc).__name__}: {exc}). Details are in the log file."
