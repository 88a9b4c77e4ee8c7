"""Engine work as generators, run by :class:`ui.worker.Worker` on a thread. No Qt here.

A job is a generator that yields :class:`Progress` and :class:`Partial` events and returns
its final result; cancelling means the worker stops iterating between two yields.
The quick shock evaluation (:func:`evaluate_shock`, the engine's :func:`engine.stress.shock`)
is a plain function: it runs the vectorised kernel once on a precompiled book and takes about
a millisecond, so the shock slider calls it directly. Every rule lives in the engine; these
adapters only sequence engine calls and report progress.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from engine import (Book, Portfolio, compile_book, history_scenario, liquidation_prices,
                    resolve_betas, reverse_stress, stress)
from engine.saved_scenarios import KEY as SAVED_KEY
from engine.saved_scenarios import build_scenario, check_saved, scenario_ids
from engine.stress import DEFAULT_LOSSES, SENSITIVITY_GRID, ShockResult, iter_stress_all, sensitivity
from engine.stress import shock as evaluate_shock

__all__ = ["Progress", "Partial", "Analysis", "analysis_job", "ShockResult", "evaluate_shock",
           "SENSITIVITY_GRID", "ReplaySpec", "ReplayResult", "load_history", "replay_job",
           "MatrixResult", "matrix_job", "reverse_job", "MonteCarloSettings", "montecarlo_available",
           "build_request", "MCUpdate", "montecarlo_job", "PlanSettings", "plan_job"]


@dataclass
class Progress:
    done: int
    total: int
    text: str = ""


@dataclass
class Partial:
    payload: Any


# --------------------------------------------------------------------------- analysis
@dataclass
class Analysis:
    """What the holdings, ladder and sensitivity views need for one portfolio."""

    portfolio: Portfolio
    book: Book
    betas: dict[str, float]
    beta_sources: dict[str, str]
    liquidation: dict[str, dict]          # engine.liquidation_prices rows by position id
    today: ShockResult                    # every position and account valued today (no move)
    value_today: float
    grid: np.ndarray                      # (G,) BTC moves
    grid_value: np.ndarray                # (G,) portfolio value after each move
    grid_liq: list[tuple[str, float, float]]   # (position id, BTC move, value) first liquidation per side
    elapsed: float = 0.0
    liquidated_at_zero: list[str] = field(default_factory=list)   # at BTC 0 (with the de-pegs)


def analysis_job(portfolio: Portfolio, beta_overrides: dict[str, float] | None = None,
                 grid: np.ndarray = SENSITIVITY_GRID, depegs: dict[str, float] | None = None) -> Iterator:
    """Compile the book, liquidation prices today and the sensitivity curve (with the Shock
    view's de-pegs of pegged assets held)."""
    t0 = time.perf_counter()
    yield Progress(0, 3, "Compiling holdings")
    book = compile_book(portfolio)
    resolved = resolve_betas(book.assets, beta_overrides)
    betas = {a: b for a, (b, _) in resolved.items()}
    yield Progress(1, 3, "Liquidation prices")
    liq = {r["id"]: r for r in liquidation_prices(portfolio, book)}
    today = evaluate_shock(book, betas, 0.0)
    yield Progress(2, 3, "Sensitivity curve")
    sens = sensitivity(book, betas, grid, {a: v for a, v in (depegs or {}).items() if a in book.assets})
    return Analysis(portfolio, book, betas, {a: s for a, (_, s) in resolved.items()}, liq, today,
                    sens.value_today, sens.grid, sens.value, sens.marks, time.perf_counter() - t0,
                    sens.liquidated_at_zero)


# --------------------------------------------------------------------------- replay
@dataclass
class ReplaySpec:
    """What to replay: a bundled crash or a saved scenario (``scenario_id``), or imported
    price files."""

    scenario_id: str | None = None
    price_files: list[str] = field(default_factory=list)
    start: str | None = None
    end: str | None = None
    proxy: str = "BTC"
    beta_overrides: dict[str, float] = field(default_factory=dict)


@dataclass
class ReplayResult:
    report: dict                    # engine.stress report (positions, accounts, portfolio, series)
    labels: list[str]
    value: np.ndarray               # (T,)
    position_values: dict[str, np.ndarray]
    health: dict[str, np.ndarray]
    margin_ratio: dict[str, np.ndarray]
    prices: np.ndarray              # (T, A) closes
    assets: tuple[str, ...]
    info: dict
    elapsed: float = 0.0
    times: list[str] | None = None  # ISO 8601 UTC per step; None for a shock


def _series(values) -> np.ndarray:
    """Engine series with None for an infinite ratio (no debt left / no equity left)."""
    return np.array([np.inf if v is None else v for v in values], dtype=float)


_history_cache: dict[tuple, Any] = {}


def load_history(files: list[str]):
    """Load (and cache by file list and mtimes) a price history."""
    import os
    from engine.prices import load_price_history
    key = tuple((f, os.path.getmtime(f) if os.path.exists(f) else 0) for f in files)
    if key not in _history_cache:
        _history_cache.clear()
        _history_cache[key] = load_price_history(list(files))
    return _history_cache[key]


def replay_job(portfolio: Portfolio, spec: ReplaySpec) -> Iterator:
    t0 = time.perf_counter()
    yield Progress(0, 3, "Compiling holdings")
    book = compile_book(portfolio)
    if spec.scenario_id:
        yield Progress(1, 3, "Building the scenario")
        scen = build_scenario(portfolio, spec.scenario_id, book.assets, book.today,
                              spec.beta_overrides, spec.proxy)
    else:
        from engine import InputError
        if not spec.price_files:
            raise InputError("choose a bundled crash or import a price history CSV",
                             field="scenario", value=None)
        yield Progress(1, 3, "Reading price history")
        hist = load_history(spec.price_files)
        if spec.start or spec.end:
            hist = hist.window(spec.start or None, spec.end or None)
        scen = history_scenario(hist, book.assets, book.today, spec.beta_overrides, spec.proxy)
    yield Progress(2, 3, "Replaying")
    rep = stress(portfolio, scen, book)
    ser = rep["series"]
    pos = {k: np.asarray(v, float) for k, v in (ser.get("positions") or {}).items()}
    health = {k: _series(v) for k, v in (ser.get("health_factor") or {}).items()}
    margin = {k: _series(v) for k, v in (ser.get("margin_ratio") or {}).items()}
    return ReplayResult(rep, list(ser["labels"]), np.asarray(ser["value"], float), pos, health, margin,
                        scen.paths.close[0].copy(), tuple(book.assets), dict(scen.info),
                        time.perf_counter() - t0, ser.get("times"))


# --------------------------------------------------------------------------- crash matrix
@dataclass
class MatrixResult:
    """Every bundled and saved scenario on one book (:func:`engine.stress.stress_all`)."""

    report: dict                    # {"scenarios": [...], "warnings": [...]}
    elapsed: float = 0.0


def matrix_job(portfolio: Portfolio, beta_overrides: dict[str, float] | None = None,
               proxy: str = "BTC") -> Iterator:
    """:func:`engine.stress.iter_stress_all` with progress after each scenario: the bundled
    crashes and the readable saved scenarios (the replay list reports the others)."""
    t0 = time.perf_counter()
    yield Progress(0, 1, "Compiling holdings")
    saved, _ = check_saved(portfolio.extra.get(SAVED_KEY))
    runs = iter_stress_all(portfolio, scenario_ids(None, saved), beta_overrides=beta_overrides or None,
                           proxy=proxy)
    while True:
        try:
            done, total, name = next(runs)
        except StopIteration as end:
            return MatrixResult(end.value, time.perf_counter() - t0)
        yield Progress(done, total, name)


# --------------------------------------------------------------------------- reverse
def reverse_job(portfolio: Portfolio, beta_overrides: dict[str, float] | None = None,
                losses=DEFAULT_LOSSES) -> Iterator:
    yield Progress(0, 1, "Searching the BTC move that liquidates each position")
    return reverse_stress(portfolio, beta_overrides or None, losses=losses)


# --------------------------------------------------------------------------- Monte Carlo
@dataclass
class MonteCarloSettings:
    n_paths: int = 10_000
    days: int = 30
    seed: int = 0
    model: str = "student-t"
    steps_per_day: int = 1
    cascade: float = 0.0
    cascade_half_life: float = 1.0          # days; math.inf: permanent impact
    history_files: list[str] = field(default_factory=list)
    beta_overrides: dict[str, float] = field(default_factory=dict)
    chunk_paths: int = 0
    depeg: str = "default"                  # de-peg jumps: "default", "off" or a rate per year
    liq_precision: float | None = None      # stop once every P(liq) is known to +- this (probability)


def montecarlo_available() -> bool:
    try:
        import engine.montecarlo  # noqa: F401
    except ImportError:
        return False
    return True


def limit_arenas() -> None:
    """At start, before worker threads allocate: all threads share a few malloc arenas
    (:func:`engine.allocator.limit_arenas`)."""
    if montecarlo_available():
        from engine.allocator import limit_arenas as limit
        limit()


def release_memory() -> None:
    """After a Monte Carlo run (finished or cancelled) and its drawing: return the memory
    the engine's tuned allocator kept (:func:`engine.allocator.release_memory`)."""
    if montecarlo_available():
        from engine.allocator import release_memory as release
        release()


def build_request(settings: MonteCarloSettings):
    """The engine's MonteCarloRequest for these settings."""
    from engine.montecarlo import MonteCarloRequest
    from engine.pegs import depeg_setting
    cascade = None
    if settings.cascade > 0:
        from engine.cascade import CascadeParams
        cascade = CascadeParams(strength=float(settings.cascade),
                                half_life_days=float(settings.cascade_half_life))
    history = None
    if settings.model == "bootstrap" and settings.history_files:
        history = load_history(settings.history_files)
    return MonteCarloRequest(n_paths=int(settings.n_paths), days=int(settings.days),
                             seed=int(settings.seed), model=settings.model,
                             steps_per_day=int(settings.steps_per_day), history=history,
                             beta_overrides=dict(settings.beta_overrides) or None,
                             cascade=cascade, chunk_paths=int(settings.chunk_paths),
                             depeg=depeg_setting(settings.depeg),
                             liq_precision=None if settings.liq_precision is None else float(settings.liq_precision))


@dataclass
class MCUpdate:
    """A Monte Carlo chunk with what the view needs to label it."""

    chunk: Any
    ids: list[str]
    assets: list[str]
    steps_per_day: int
    seed: int


def montecarlo_job(portfolio: Portfolio, settings: MonteCarloSettings) -> Iterator:
    """Stream the engine's Monte Carlo chunks (cumulative aggregates); the last one is the
    result."""
    from engine.montecarlo import simulate_chunks
    yield Progress(0, settings.n_paths, "Starting")
    book = compile_book(portfolio)
    request = build_request(settings)
    last = None
    for chunk in simulate_chunks(book, request):
        last = MCUpdate(chunk, list(book.ids), list(book.labels), int(settings.steps_per_day),
                        int(settings.seed))
        yield Progress(int(chunk.paths_done), int(chunk.paths_total),
                       f"{chunk.paths_done:,} of {chunk.paths_total:,} paths")
        yield Partial(last)
    return last


# --------------------------------------------------------------------------- survival planner
@dataclass
class PlanSettings:
    """The planner panel's choices: ``target`` is "all", a bundled crash id, "shock" (an
    instant BTC move, others through their betas), "loss" (a reverse-stress loss level),
    "history" (the imported price files of ``history``, a :class:`ReplaySpec`) or
    "montecarlo" (P(liquidation) <= ``pliq`` over ``days``)."""

    target: str = "all"
    btc_move: float = -0.30
    loss: float = 0.25
    pliq: float = 0.01
    days: int = 30
    n_paths: int = 0                        # 0: the planner's default
    seed: int = 0
    budget: float | None = None
    allow_free: bool = False
    beta_overrides: dict[str, float] = field(default_factory=dict)
    history: ReplaySpec | None = None

    def spec(self):
        """The engine's :class:`engine.planner.TargetSpec` for these settings (an imported
        history is read here: call it on the worker)."""
        from engine.planner import DEFAULT_PLANNER_PATHS, TargetSpec
        betas = dict(self.beta_overrides) or None
        if self.target == "history":
            h = self.history
            if h is None or not h.price_files:
                from engine import InputError
                raise InputError("import a price history in the Replay view first", field="history",
                                 value=None)
            hist = load_history(h.price_files)
            if h.start or h.end:
                hist = hist.window(h.start or None, h.end or None)
            return TargetSpec(history=hist, proxy=h.proxy, beta_overrides=betas)
        if self.target == "shock":
            return TargetSpec(shock={"BTC": self.btc_move}, beta_overrides=betas)
        if self.target == "loss":
            return TargetSpec(loss=self.loss, beta_overrides=betas)
        if self.target == "montecarlo":
            return TargetSpec(pliq=self.pliq, days=self.days, seed=self.seed, beta_overrides=betas,
                              n_paths=self.n_paths or DEFAULT_PLANNER_PATHS)
        return TargetSpec(scenario=self.target, beta_overrides=betas)


def plan_job(portfolio: Portfolio, settings: PlanSettings) -> Iterator:
    """The engine's planner (:func:`engine.planner.plan_steps`), its progress relayed; returns
    the :class:`engine.planner.PlanResult`."""
    from engine.planner import plan_steps
    yield Progress(0, 1, "Building the target")
    steps = plan_steps(portfolio, settings.spec(), settings.budget, settings.allow_free)
    while True:
        try:
            done, total, text = next(steps)
        except StopIteration as stop:
            return stop.value
        yield Progress(done, total, text)
