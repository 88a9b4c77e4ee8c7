"""Liquidation cascade: market-wide forced selling that deepens a BTC drop.

Market model (all figures BTC-equivalent, USD):

* ``open_interest`` -- leveraged open interest at risk of liquidation;
* the *leverage mix* -- where the market's long liquidation prices sit: the fraction
  ``F(d)`` of that open interest liquidated once the price is ``d`` (a fraction) below the
  reference price. By default ``d`` is lognormal with median ``liq_median`` and log-sd
  ``liq_dispersion``; ``leverage_mix`` may instead give explicit ``(distance, share)``
  points (the CDF is interpolated linearly between them);
* ``depth`` -- order-book depth: USD of market selling that moves the price 1 %.

Per step, the step's low measured from the running peak of the (amplified) closes is the
drawdown ``d``; the open interest whose liquidation price has been crossed, ``OI * F(d)``,
is sold, and its impact ``strength * 1 % * liquidated / depth`` (log terms) deepens the
step's low and close. The deeper low crosses more levels, and so on: this is iterated to a
fixed point, vectorised over paths and steps (the loop runs over fixed-point iterations
only). A position is liquidated once per drawdown episode; when the price makes a new peak
the pool refills (new leverage is opened at the new price). The impact is transient: it
reverts with a half-life of ``half_life_days`` (default 1 day; ``inf`` keeps it for good),
so cascades deepen wicks without dragging multi-week paths down (docs/montecarlo.md).

``strength`` scales the impact: 0 switches the feedback off (liquidations are still
counted), 1 is the calibrated default. Calibration (see docs/montecarlo.md): with
open interest of $75 B (Dec 2025) a 5 % BTC drop liquidates ~$0.5 B, and with $90 B
(10 Oct 2025) a 16 % drop liquidates ~$19 B, as reported; the depth is set so that 40 %
of the 10 Oct drop is cascade (a 9.6 % drop is amplified to ~16 %).
Altcoins follow BTC's amplified move through their beta (log move times beta).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError

#: BTC-equivalent open interest assumptions (USD), see docs/montecarlo.md.
OPEN_INTEREST_OCT_2025 = 90e9
OPEN_INTEREST_DEC_2025 = 75e9
#: Lognormal leverage mix fitted to the two events.
DEFAULT_LIQ_MEDIAN = 0.283
DEFAULT_LIQ_DISPERSION = 0.710
#: USD of forced selling that moves BTC-equivalent prices 1 % (fitted: 40 % of 10 Oct is cascade).
DEFAULT_DEPTH = 2.61e9

_GRID = np.linspace(0.0, 1.0, 4001)


def _lognormal_cdf(x: np.ndarray, median: float, sigma: float) -> np.ndarray:
    out = np.zeros_like(x, dtype=float)
    pos = x > 0
    z = (np.log(x[pos]) - math.log(median)) / (sigma * math.sqrt(2.0))
    out[pos] = 0.5 * (1.0 + np.array([math.erf(v) for v in z]))
    return out


@dataclass
class CascadeParams:
    """Parameters of the liquidation cascade (defaults: the calibrated market of Dec 2025)."""

    strength: float = 1.0
    open_interest: float = OPEN_INTEREST_DEC_2025
    liq_median: float = DEFAULT_LIQ_MEDIAN
    liq_dispersion: float = DEFAULT_LIQ_DISPERSION
    depth: float = DEFAULT_DEPTH
    leverage_mix: tuple | None = None       # ((distance, share), ...) instead of the lognormal
    half_life_days: float = 1.0             # the impact reverts with this half-life (inf: permanent)
    max_step_drop: float = 0.5              # cap on the cascade's extra log drop in one step
    tol: float = 1e-7                       # fixed point: max change of log price
    max_iter: int = 2000

    def validate(self) -> "CascadeParams":
        checks = (("strength", self.strength, 0.0, False), ("open_interest", self.open_interest, 0.0, False),
                  ("liq_median", self.liq_median, 0.0, True), ("liq_dispersion", self.liq_dispersion, 0.0, True),
                  ("depth", self.depth, 0.0, True), ("max_step_drop", self.max_step_drop, 0.0, True))
        for name, v, lo, strict in checks:
            ok = isinstance(v, (int, float)) and math.isfinite(v) and (v > lo if strict else v >= lo)
            if not ok:
                raise InputError(f"must be a number {'above' if strict else 'at least'} {lo:g}",
                                 field=f"cascade.{name}", value=v)
        hl = self.half_life_days
        if not (isinstance(hl, (int, float)) and not isinstance(hl, bool) and (hl == math.inf or
                                                                                (math.isfinite(hl) and hl >= 0.05))):
            raise InputError("must be at least 0.05 days (or inf for a permanent impact)",
                             field="cascade.half_life_days", value=hl)
        if self.leverage_mix is not None:
            pts = list(self.leverage_mix)
            if not pts or any(len(p) != 2 for p in pts):
                raise InputError("must be a list of (distance, share) pairs", field="cascade.leverage_mix",
                                 value=self.leverage_mix)
            d = [float(p[0]) for p in pts]
            s = [float(p[1]) for p in pts]
            if any(not (0 < x <= 1) for x in d) or any(x < 0 for x in s) or sum(s) > 1 + 1e-9 \
                    or any(b <= a for a, b in zip(d, d[1:])):
                raise InputError("distances must increase within (0, 1] and shares be >= 0 with a "
                                 "sum of at most 1", field="cascade.leverage_mix", value=self.leverage_mix)
        return self

    # ------------------------------------------------------------------ leverage mix
    def cdf_table(self) -> np.ndarray:
        """``F`` on :data:`_GRID` (fraction of open interest liquidated at each drawdown)."""
        if self.leverage_mix is not None:
            d = np.r_[0.0, [float(p[0]) for p in self.leverage_mix]]
            c = np.r_[0.0, np.cumsum([float(p[1]) for p in self.leverage_mix])]
            return np.interp(_GRID, d, c)
        return _lognormal_cdf(_GRID, self.liq_median, self.liq_dispersion)

    def liquidated_fraction(self, drawdown) -> np.ndarray:
        """Fraction of the open interest liquidated at a drawdown (fraction below the peak)."""
        return np.interp(np.asarray(drawdown, float), _GRID, self.cdf_table())

    def liquidated_notional(self, drawdown) -> np.ndarray:
        return self.open_interest * self.liquidated_fraction(drawdown)


def preset(name: str, strength: float = 1.0) -> CascadeParams:
    """Calibrated markets: ``"2025-10"`` (10 Oct 2025) or ``"2025-12"`` (18 Dec 2025)."""
    oi = {"2025-10": OPEN_INTEREST_OCT_2025, "2025-12": OPEN_INTEREST_DEC_2025}
    if name not in oi:
        raise InputError(f"unknown cascade preset; choose one of {', '.join(oi)}", field="cascade",
                         value=name)
    return CascadeParams(strength=strength, open_interest=oi[name])


@dataclass
class CascadeResult:
    """What :func:`amplify` returns.

    adjust : ndarray (n_paths, n_steps + 1)
        Extra BTC log move (<= 0) through each step's close and low, cumulative.
    liquidated : ndarray (n_paths, n_steps + 1)
        Market-wide liquidated notional (USD) in each step.
    iterations : int
        Fixed-point iterations used.
    """

    adjust: np.ndarray
    liquidated: np.ndarray
    iterations: int

    @property
    def total_liquidated(self) -> np.ndarray:
        return self.liquidated.sum(axis=1)


def _lookup(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``np.interp(x, _GRID, table)`` on the uniform grid, by index arithmetic (no binary
    search: 2-3 x faster, and the cascade calls it at every fixed-point iteration)."""
    n = len(table) - 1
    u = np.multiply(x, float(n))
    nan = np.isnan(u)
    has_nan = bool(nan.any())
    if has_nan:
        u[nan] = 0.0
    np.clip(u, 0.0, float(n), out=u)
    i = u.astype(np.intp)
    np.minimum(i, n - 1, out=i)
    u -= i
    lo = table[i]
    u *= table[i + 1] - lo
    u += lo
    if has_nan:
        u[nan] = np.nan                         # as np.interp: NaN in, NaN out
    return u


def _scan(ufunc, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``ufunc.accumulate`` along axis 0 (steps): row by row when rows are wide (numpy's
    accumulate along a leading axis goes element by element), else numpy's own."""
    if out is None:
        out = np.empty(x.shape, dtype=np.result_type(x, np.float64) if x.dtype == bool else x.dtype)
    if x.ndim > 1 and x[0].size >= 256:
        out[0] = x[0]
        for t in range(1, len(x)):
            ufunc(out[t - 1], x[t], out=out[t])
        return out
    return ufunc.accumulate(x, axis=0, out=out)


def _step_liquidations(params, table, log_close, log_low, adjust):
    """Liquidated notional per step given a cumulative adjustment. Arrays (T + 1, P),
    step-major (every step one contiguous row)."""
    c_close = log_close + adjust
    c_low = log_low + adjust
    peak = _scan(np.maximum, c_close)
    before = np.empty_like(peak)
    before[0] = c_close[0]
    before[1:] = peak[:-1]
    dd = np.subtract(before, c_low)
    np.maximum(dd, 0.0, out=dd)
    dd[0] = 0.0
    np.negative(dd, out=dd)
    np.expm1(dd, out=dd)
    np.negative(dd, out=dd)
    frac = _lookup(dd, table)                                 # simple drawdown -> F
    new_peak = np.zeros(peak.shape, dtype=bool)
    new_peak[2:] = c_close[1:-1] > before[1:-1]               # a new peak at t-1 opens an episode at t
    eid = _scan(np.add, new_peak.astype(np.float64))
    eid *= 2.0
    frac += eid
    run = _scan(np.maximum, frac)
    run -= eid
    prev = np.zeros_like(run)
    prev[1:] = run[:-1]
    prev[new_peak] = 0.0
    run -= prev
    np.maximum(run, 0.0, out=run)
    run *= params.open_interest
    return run


def amplify(params: CascadeParams, log_close, log_low, steps_per_day: int = 1) -> CascadeResult:
    """Amplify BTC paths by the cascade.

    Parameters
    ----------
    params : CascadeParams
    log_close, log_low : ndarray (n_paths, n_steps + 1)
        BTC log price relative to today at each step's close and low (step 0 is 0).
    steps_per_day : int
        Steps per day of the paths (the impact's half-life is in days).

    Returns
    -------
    CascadeResult
        Apply ``adjust[:, t]`` to the close and low of step ``t`` (times an asset's beta),
        and ``adjust[:, t - 1]`` to its high. (The arrays are (paths, steps) views of
        step-major arrays: the fixed point runs with every step one contiguous row.)
    """
    params.validate()
    lc_all = np.ascontiguousarray(np.asarray(log_close, float).T)            # (T + 1, P)
    ll_all = np.minimum(np.ascontiguousarray(np.asarray(log_low, float).T), lc_all)
    table = params.cdf_table()
    kappa = params.strength * 0.01 / params.depth
    rho = impact_decay(params, steps_per_day)
    adjust = np.zeros_like(lc_all)
    liq = _step_liquidations(params, table, lc_all, ll_all, adjust)
    if kappa == 0.0:
        return CascadeResult(adjust.T, liq.T, 0)
    # the paths still moving, compacted: (T + 1, n_active) copies, shrunk as paths settle.
    # Plain iteration from no cascade: it climbs to the least fixed point (the cascade that
    # the first move triggers); extrapolating (Aitken) was faster but near the critical
    # strength could jump past it to a deeper fixed point, so it is not used.
    active = np.arange(lc_all.shape[1])
    lc, ll, adj, lq = lc_all, ll_all, adjust, liq
    it = 0
    while it < params.max_iter and len(active):
        it += 1
        step = np.minimum(kappa * lq, params.max_step_drop)
        new = -decayed_cumsum(step, rho, axis=0)
        change = np.abs(new - adj).max(axis=0)
        adj = new
        lq = _step_liquidations(params, table, lc, ll, adj)
        keep = change > params.tol
        if not keep.all():
            done = ~keep                        # settled paths: their results, written once
            adjust[:, active[done]] = adj[:, done]
            liq[:, active[done]] = lq[:, done]
            active = active[keep]
            lc, ll, adj, lq = lc[:, keep], ll[:, keep], adj[:, keep], lq[:, keep]
        elif len(active) == lc_all.shape[1]:
            adjust, liq = adj, lq
    if len(active):                             # stopped at max_iter: keep the last iterate
        adjust[:, active] = adj
        liq[:, active] = lq
    return CascadeResult(adjust.T, liq.T, it)


def impact_decay(params: CascadeParams, steps_per_day: int = 1) -> float:
    """Share of the cascade's price impact left one step later (1: permanent)."""
    if params.half_life_days == math.inf:
        return 1.0
    return 0.5 ** (1.0 / (params.half_life_days * steps_per_day))


def decayed_cumsum(x: np.ndarray, rho: float, axis: int = 1) -> np.ndarray:
    """``y[t] = sum over s <= t of rho**(t - s) * x[s]`` along ``axis`` (steps).

    Vectorised as ``rho**t * cumsum(x * rho**-s)`` over segments short enough that
    ``rho**-s`` stays below e**600 (one segment unless the horizon is thousands of
    half-lives); ``rho = 1`` is the plain cumulative sum."""
    x = np.moveaxis(np.asarray(x, float), axis, 0)
    n = x.shape[0]
    y = np.empty(x.shape)
    if rho >= 1.0:
        _scan(np.add, x, out=y)
        return np.moveaxis(y, 0, axis)
    seg = max(1, int(600.0 / -math.log(rho)))
    carry = np.zeros(x.shape[1:])
    shape = (-1,) + (1,) * (x.ndim - 1)
    for a in range(0, n, seg):
        b = min(n, a + seg)
        down = (rho ** np.arange(b - a, dtype=float)).reshape(shape)
        part = _scan(np.add, x[a:b] / down)
        part *= down
        part += carry * (rho * down)
        y[a:b] = part
        carry = part[-1]
    return np.moveaxis(y, 0, axis)


def cascade_move(params: CascadeParams, base_move):
    """Amplify instant BTC moves (simple returns, e.g. -0.10), one step each.

    Returns ``(amplified_move, liquidated_notional)`` arrays of the shape of ``base_move``.
    """
    base = np.atleast_1d(np.asarray(base_move, float))
    if (base <= -1).any():
        raise InputError("a move must be above -100%", field="base_move", value=base_move)
    lc = np.zeros((base.size, 2))
    lc[:, 1] = np.log1p(base.ravel())
    res = amplify(params, lc, lc)
    moved = np.expm1(lc[:, 1] + res.adjust[:, 1]).reshape(base.shape)
    total = res.total_liquidated.reshape(base.shape)
    if np.ndim(base_move) == 0:
        return float(moved[0]), float(total[0])
    return moved, total
