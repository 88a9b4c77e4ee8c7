"""What a Monte Carlo run is asked for and what it gives back: :class:`MonteCarloRequest`,
:class:`MonteCarloChunk`, the limits, the quantile levels and :func:`validate_request`.

Quantile levels are fractions everywhere (``0.01`` is the 1st percentile); as keys they are
written with :func:`level_key` (``"0.01"``, ``"0.95"``), the same for VaR/CVaR and the fan.
Errors name request fields (``n_paths``, ``vol.BTC``), never command-line flags.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..cascade import CascadeParams
from ..errors import InputError
from ..path_models import MODELS, check_vol
from ..pegs import depeg_setting
from ..scenarios import check_beta

FAN_LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)    # fan quantiles of the portfolio value
VAR_LEVELS = ("0.95", "0.99")                              # VaR / CVaR confidence levels (keys)
MAX_PATHS = 100_000_000
MAX_DAYS = 36500
MAX_STEPS_PER_DAY = 1440
MAX_STEPS = 100_000
MAX_SAMPLE_PATHS = 100_000
MAX_THREADS = 64
MIN_LIQ_PRECISION = 1e-4               # +-0.01 points: about 40 million paths at p = 0.5
MAX_LIQ_PRECISION = 0.25


def level_key(level: float) -> str:
    """The key of a quantile level (a fraction): ``0.01 -> "0.01"``, ``0.5 -> "0.5"``."""
    return f"{float(level):g}"


@dataclass
class MonteCarloRequest:
    """What to simulate. ``vols`` are annual vols of log returns (``{"BTC": 0.6}``);
    ``chunk_paths`` 0 picks chunk sizes automatically (the first chunk is one block)."""

    n_paths: int
    days: int
    seed: int = 0
    model: str = "student-t"              # "student-t" | "bootstrap" | "gbm"
    steps_per_day: int = 1
    vols: dict | None = None
    history: object | None = None         # engine.prices.PriceHistory
    beta_overrides: dict | None = None
    cascade: CascadeParams | None = None
    chunk_paths: int = 0
    sample_paths: int = 200
    threads: int = 0                      # worker threads, 0 = min(2, CPUs)
    df: float | None = None               # Student-t degrees of freedom (None: calibrated)
    jump_intensity: float | None = None   # crash jumps per year (None: default)
    block_len: int | None = None          # bootstrap block length in steps (None: 5 days)
    # de-peg jumps of pegged assets (engine.pegs): "default" (historical frequencies), "off",
    # or events per pegged asset per year
    depeg: str | float = "default"
    antithetic: bool = True               # antithetic pairs (parametric models); False: plain sampling
    liq_precision: float | None = None    # stop once every P(liq) is known to +- this (e.g. 0.005)


@dataclass
class MonteCarloChunk:
    """Running results after ``paths_done`` paths (``final`` on the last chunk).

    Arrays are the chunk's own copies. Values in USD; loss amounts positive.

    fan : ndarray (7, n_steps + 1)
        Quantiles ``fan_levels`` (fractions, :data:`FAN_LEVELS`) of the portfolio value per step.
    hist_edges, hist_counts : ndarray (HIST_BINS + 1,), (HIST_BINS,)
        Histogram of the final P&L; fixed edges (from block 0), values outside the edges
        counted in the end bins (``hist_clamped`` says how many below/above).
    var, cvar : dict "0.95"/"0.99" -> float
        Value at risk and expected shortfall of the final P&L, as positive loss amounts.
    var_ci, cvar_ci : dict "0.95"/"0.99" -> [low, high]
        95 % intervals of ``var`` and ``cvar`` (Monte Carlo error; docs/montecarlo.md).
    liquidation_probability : ndarray (n_positions,)
    liquidation_probability_ci : ndarray (n_positions, 2)
        95 % interval of each position's probability (Wilson score; antithetic pairs'
        design effect).
    liquidation_time_hist : ndarray of int64 (n_positions, n_steps + 1)
        Number of paths liquidating each position at each step.
    expected_loss_by_asset : dict
        Mean loss (positive = loss) per asset label; a liquidated cross account's wallet
        under ``"wallet <account>"`` (:mod:`engine.attribution`).
    sample_values : ndarray (k, n_steps + 1)
        Portfolio value of the first ``k`` paths (a fixed subsample for drawing).
    cascade_liquidated_notional : ndarray (7,) or None
        Quantiles ``fan_levels`` over paths of the market-wide liquidated notional.
    """

    paths_done: int
    paths_total: int
    elapsed: float
    final: bool
    fan_levels: tuple
    fan: np.ndarray
    hist_edges: np.ndarray
    hist_counts: np.ndarray
    var: dict
    cvar: dict
    liquidation_probability: np.ndarray
    liquidation_time_hist: np.ndarray
    expected_loss_by_asset: dict
    sample_values: np.ndarray
    value_before: float
    cascade_liquidated_notional: np.ndarray | None = None
    # extras
    position_ids: list = field(default_factory=list)
    position_kinds: list = field(default_factory=list)
    position_assets: list = field(default_factory=list)
    n_steps: int = 0
    steps_per_day: int = 1
    seed: int = 0
    model: str = ""
    expected_pnl: float = 0.0
    prob_loss: float = 0.0
    sample_liq_step: np.ndarray | None = None
    hist_clamped: tuple = (0, 0)
    expected_pnl_by_position: np.ndarray | None = None
    cascade_summary: dict | None = None
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    calibration: dict = field(default_factory=dict)
    var_ci: dict = field(default_factory=dict)
    cvar_ci: dict = field(default_factory=dict)
    liquidation_probability_ci: np.ndarray | None = None
    antithetic: bool = False
    stopped_early: bool = False           # the precision stop rule ended the run before n_paths
    liq_precision: float | None = None

    @property
    def step_days(self) -> np.ndarray:
        return np.arange(self.n_steps + 1) / self.steps_per_day


def _whole(v, name, lo, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise InputError("must be a whole number", field=name, value=v)
    if v < lo or (hi is not None and v > hi):
        rng = f"at least {lo:,}" if hi is None else f"between {lo:,} and {hi:,}"
        raise InputError(f"must be {rng}", field=name, value=v)
    return int(v)


def validate_request(req: MonteCarloRequest) -> MonteCarloRequest:
    """Check a request; raises InputError naming the request field (``n_paths``,
    ``vol.BTC``, ``cascade.strength``) and the value."""
    _whole(req.n_paths, "n_paths", 1, MAX_PATHS)
    _whole(req.days, "days", 1, MAX_DAYS)
    _whole(req.steps_per_day, "steps_per_day", 1, MAX_STEPS_PER_DAY)
    _whole(req.seed, "seed", 0, 2 ** 128 - 1)
    _whole(req.chunk_paths, "chunk_paths", 0)
    _whole(req.sample_paths, "sample_paths", 0, MAX_SAMPLE_PATHS)
    _whole(req.threads, "threads", 0, MAX_THREADS)
    if req.model not in MODELS:
        raise InputError(f"unknown model; choose one of {', '.join(MODELS)}", field="model",
                         value=req.model)
    if req.days * req.steps_per_day > MAX_STEPS:
        raise InputError(f"too many steps ({req.days * req.steps_per_day:,}); at most {MAX_STEPS:,} "
                         "(days x steps per day)", field="steps_per_day", value=req.steps_per_day)
    for k, v in (req.vols or {}).items():
        check_vol(k, v)
    for k, v in (req.beta_overrides or {}).items():
        check_beta(k, v)
    depeg_setting(req.depeg)
    if not isinstance(req.antithetic, (bool, np.bool_)):
        raise InputError("must be true or false", field="antithetic", value=req.antithetic)
    if req.liq_precision is not None:
        v = req.liq_precision
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or not MIN_LIQ_PRECISION <= v <= MAX_LIQ_PRECISION:
            raise InputError(f"must be a probability between {MIN_LIQ_PRECISION:g} and "
                             f"{MAX_LIQ_PRECISION:g} (0.005 = +-0.5 points)", field="liq_precision", value=v)
    if req.cascade is not None:
        if not isinstance(req.cascade, CascadeParams):
            raise InputError("must be CascadeParams", field="cascade", value=req.cascade)
        req.cascade.validate()
    return req
