"""Liquidation cascade: market-wide forced selling that deepens a BTC drop.

Market model (all figures BTC futures, USD):

* ``open_interest`` -- BTC futures open interest (the per-event input; published figures);
* the *leverage mix* -- the fraction ``F(d)`` of that open interest liquidated by a *fast*
  fall of ``d`` (a fraction) below the reference price. By default ``d`` is lognormal with
  median ``liq_median`` and log-sd ``liq_dispersion``; ``leverage_mix`` may instead give
  explicit ``(distance, share)`` points (the CDF is interpolated linearly between them);
* ``depth`` -- order-book depth: USD of market selling that moves the price 1 %.

Liquidations follow how fast the price falls: positions die when the price outruns the
margin their owners can add. ``F`` is fitted to BTC's worst bar of each recent event
(1 h, or 4 h where no hourly bar is collected) against the reported totals, and a step
longer than an hour is taken to fall fast by :func:`fast_share` of its drop (``hours^-kappa``;
0.47 of a day's fall), an instant move (a shock) in full.

Per step, the step's low measured from the running peak of the (amplified) closes is the
drawdown ``d``; the open interest whose liquidation price has been crossed,
``OI * F(fast_share * d)``, is sold, and its impact ``strength * 1 % * liquidated / depth``
(log terms) deepens the step's low and close. The deeper low crosses more levels, and so
on: this is iterated to a fixed point, vectorised over paths and steps (the loop runs over
fixed-point iterations only). A position is liquidated once per drawdown episode; when the
price makes a new peak the pool refills (new leverage is opened at the new price). The
impact is transient: it reverts with a half-life of ``half_life_days`` (default 1 day;
``inf`` keeps it for good), so cascades deepen wicks without dragging multi-week paths down
(docs/montecarlo.md).

``strength`` scales the impact: 0 switches the feedback off (liquidations are still
counted), 1 is the calibrated default. Calibration (``resources/cascade.json``, refitted by
``scripts/cascade_fit.py`` through :func:`fit_market`): one parameter set for E7-E12 of
CRASHES.md, each event's open interest its only input, gives every reported total within 3x
(:func:`event_table`, leave-one-out errors in docs/montecarlo.md). Altcoins follow BTC's
amplified move through their tail beta (log move times beta on BTC's down days).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import InputError
from .resources import load_json_resource


def market() -> dict:
    """The bundled cascade calibration (``resources/cascade.json``): parameters and events."""
    return load_json_resource("cascade.json")


_P = market()["parameters"]
#: Lognormal leverage mix fitted to E7-E12 (worst bars against reported totals).
DEFAULT_LIQ_MEDIAN = float(_P["liq_median"])
DEFAULT_LIQ_DISPERSION = float(_P["liq_dispersion"])
#: USD of forced selling that moves BTC prices 1 % (fitted: 40 % of E9's worst hour is cascade).
DEFAULT_DEPTH = float(_P["depth"])
#: A step of ``h`` hours falls fast by ``h ** -FAST_SHARE_KAPPA`` of its drop.
FAST_SHARE_KAPPA = float(_P["fast_share_kappa"])
#: The default market's open interest (the last figure collected, see cascade.json).
DEFAULT_OPEN_INTEREST = float(_P["default_open_interest"])
OPEN_INTEREST_OCT_2025 = next(float(e["open_interest_usd"]) for e in market()["events"] if e["id"] == "E9")
OPEN_INTEREST_DEC_2025 = next(float(e["open_interest_usd"]) for e in market()["events"] if e["id"] == "E11")


def fast_share(step_hours: float | None) -> float:
    """Share of a step's fall taken to happen fast (within its worst hour): 1 for an instant
    move (``None`` or 0) or a step of an hour or less, ``step_hours ** -kappa`` beyond."""
    if step_hours is None or step_hours <= 1.0:
        return 1.0
    return float(step_hours ** -FAST_SHARE_KAPPA)


_GRID = np.linspace(0.0, 1.0, 4001)


def _lognormal_cdf(x: np.ndarray, median: float, sigma: float) -> np.ndarray:
    out = np.zeros_like(x, dtype=float)
    pos = x > 0
    z = (np.log(x[pos]) - math.log(median)) / (sigma * math.sqrt(2.0))
    out[pos] = 0.5 * (1.0 + np.array([math.erf(v) for v in z]))
    return out


@dataclass
class CascadeParams:
    """Parameters of the liquidation cascade (defaults: the calibrated market, open interest
    :data:`DEFAULT_OPEN_INTEREST`)."""

    strength: float = 1.0
    open_interest: float = DEFAULT_OPEN_INTEREST
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
    def cdf_table(self, fast: float = 1.0) -> np.ndarray:
        """``F(fast * d)`` on :data:`_GRID` of ``d`` (fraction of open interest liquidated at
        each drawdown of a step falling fast by the share ``fast``)."""
        x = _GRID * float(fast)
        if self.leverage_mix is not None:
            d = np.r_[0.0, [float(p[0]) for p in self.leverage_mix]]
            c = np.r_[0.0, np.cumsum([float(p[1]) for p in self.leverage_mix])]
            return np.interp(x, d, c)
        return _lognormal_cdf(x, self.liq_median, self.liq_dispersion)

    def liquidated_fraction(self, drawdown, fast: float = 1.0) -> np.ndarray:
        """Fraction of the open interest liquidated at a drawdown (fraction below the peak)
        of a fast fall (``fast`` = 1) or of a step falling fast by ``fast`` of it."""
        return np.interp(np.asarray(drawdown, float), _GRID, self.cdf_table(fast))

    def liquidated_notional(self, drawdown, fast: float = 1.0) -> np.ndarray:
        return self.open_interest * self.liquidated_fraction(drawdown, fast)


def preset(name: str, strength: float = 1.0) -> CascadeParams:
    """The calibrated market with an event's open interest: ``"E7"`` ... ``"E12"``
    (CRASHES.md), or ``"2025-10"`` (E9, 10 Oct 2025) / ``"2025-12"`` (E11, 18 Dec 2025)."""
    alias = {"2025-10": "E9", "2025-12": "E11"}
    oi = {e["id"]: float(e["open_interest_usd"]) for e in market()["events"]}
    key = alias.get(name, name)
    if key not in oi:
        raise InputError(f"unknown cascade preset; choose one of {', '.join(list(oi) + list(alias))}",
                         field="cascade", value=name)
    return CascadeParams(strength=strength, open_interest=oi[key])


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


def amplify(params: CascadeParams, log_close, log_low, steps_per_day: int = 1,
            step_hours: float | None = None) -> CascadeResult:
    """Amplify BTC paths by the cascade.

    Parameters
    ----------
    params : CascadeParams
    log_close, log_low : ndarray (n_paths, n_steps + 1)
        BTC log price relative to today at each step's close and low (step 0 is 0).
    steps_per_day : int
        Steps per day of the paths (the impact's half-life is in days).
    step_hours : float, optional
        Hours a step lasts, for :func:`fast_share` (default ``24 / steps_per_day``; 0 for
        instant moves).

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
    table = params.cdf_table(fast_share(24.0 / steps_per_day if step_hours is None else step_hours))
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
    """Amplify instant BTC moves (simple returns, e.g. -0.10), one step each (an instant
    move falls fast in full).

    Returns ``(amplified_move, liquidated_notional)`` arrays of the shape of ``base_move``.
    """
    base = np.atleast_1d(np.asarray(base_move, float))
    if (base <= -1).any():
        raise InputError("a move must be above -100%", field="base_move", value=base_move)
    lc = np.zeros((base.size, 2))
    lc[:, 1] = np.log1p(base.ravel())
    res = amplify(params, lc, lc, step_hours=0.0)             # an instant move falls fast
    moved = np.expm1(lc[:, 1] + res.adjust[:, 1]).reshape(base.shape)
    total = res.total_liquidated.reshape(base.shape)
    if np.ndim(base_move) == 0:
        return float(moved[0]), float(total[0])
    return moved, total


# --------------------------------------------------------------------------- calibration
def _fit_mix(events) -> tuple[float, float]:
    """Lognormal leverage mix: least squares of log(F(fast move) OI) against log(reported)."""
    from .calibration import nelder_mead
    d = np.array([-float(e["fast_move"]) for e in events])
    y = np.log([float(e["reported_liquidations_usd"]) / float(e["open_interest_usd"]) for e in events])

    def loss(th):
        f = 0.5 * (1.0 + np.array([math.erf(v) for v in (np.log(d) - th[0]) / (math.exp(th[1]) * math.sqrt(2))]))
        return float(np.sum((np.log(np.maximum(f, 1e-300)) - y) ** 2))

    th, _ = nelder_mead(loss, [math.log(0.3), math.log(0.7)], [0.5, 0.5])
    return math.exp(th[0]), math.exp(th[1])


def _solve_depth(median: float, dispersion: float, event: dict, cascade_share: float) -> float:
    """Depth at which ``cascade_share`` of the event's fast fall is the cascade's: a first
    move of ``(1 - share)`` of it amplifies to all of it (bisection in log depth)."""
    target = float(event["fast_move"])
    base = math.expm1((1.0 - cascade_share) * math.log1p(target))
    lo, hi = math.log(1e7), math.log(1e12)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        p = CascadeParams(open_interest=float(event["open_interest_usd"]), liq_median=median,
                          liq_dispersion=dispersion, depth=math.exp(mid))
        move, _ = cascade_move(p, base)
        if move < target:           # too strong: more depth
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def fit_market(events=None, cascade_share: float = 0.4, anchor: str = "E9") -> dict:
    """Fit the cascade's one parameter set to events (default: the bundled E7-E12):
    ``liq_median``, ``liq_dispersion`` (worst bars against reported totals, each event's open
    interest its input), ``depth`` (``cascade_share`` of the ``anchor`` event's worst bar
    is cascade) and ``fast_share_kappa`` (median ratio of worst bar to 24 h drop, read as
    ``24 ** -kappa``)."""
    events = list(market()["events"] if events is None else events)
    median, disp = _fit_mix(events)
    ratio = float(np.median([float(e["fast_move"]) / float(e["drop_24h"]) for e in events]))
    anchor_ev = next(e for e in events if e["id"] == anchor)
    return {"liq_median": median, "liq_dispersion": disp,
            "depth": _solve_depth(median, disp, anchor_ev, cascade_share),
            "fast_share_kappa": -math.log(ratio) / math.log(24.0)}


def event_table(params: dict | None = None, events=None) -> list[dict]:
    """Each event: reported total, the model's liquidations at its worst bar with its open
    interest (one parameter set), the ratio, and the leave-one-out ratio (the mix refitted
    without the event); also the model at daily resolution (its 24 h drop, falling fast by
    :func:`fast_share` of 24 h)."""
    events = list(market()["events"] if events is None else events)
    params = params or {"liq_median": DEFAULT_LIQ_MEDIAN, "liq_dispersion": DEFAULT_LIQ_DISPERSION,
                        "fast_share_kappa": FAST_SHARE_KAPPA}
    rows = []
    for e in events:
        oi = float(e["open_interest_usd"])
        rep = float(e["reported_liquidations_usd"])
        p = CascadeParams(open_interest=oi, liq_median=params["liq_median"],
                          liq_dispersion=params["liq_dispersion"])
        model = float(p.liquidated_notional(-float(e["fast_move"])))
        m, s = _fit_mix([x for x in events if x is not e])
        loo = float(replace(p, liq_median=m, liq_dispersion=s).liquidated_notional(-float(e["fast_move"])))
        daily = float(p.liquidated_notional(-float(e["drop_24h"]), fast=24.0 ** -params["fast_share_kappa"]))
        rows.append({"id": e["id"], "name": e["name"], "fast_move": float(e["fast_move"]),
                     "drop_24h": float(e["drop_24h"]), "open_interest": oi, "reported": rep,
                     "model": model, "ratio": model / rep, "loo": loo, "loo_ratio": loo / rep,
                     "daily": daily, "daily_ratio": daily / rep})
    return rows


# --------------------------------------------------------------------------- applying it
def shift_log_prices(lc: np.ndarray, ll: np.ndarray, lh: np.ndarray, adjust: np.ndarray, beta: np.ndarray,
                     low_cols, high_cols) -> None:
    """Move log prices by the cascade, in place. Arrays step-major: ``lc`` (T + 1, S, P) log
    closes of every column, ``ll`` / ``lh`` the lows / highs of the columns ``low_cols`` /
    ``high_cols``; ``adjust`` (T + 1, 1, P) BTC's extra log move; ``beta`` (S,) each column's
    tail beta. A step's close and low take that step's adjustment times the beta, its high
    the previous step's (the cascade happens at the low), never below the close."""
    b = np.asarray(beta, dtype=lc.dtype)[None, :, None]
    adj = adjust.astype(lc.dtype, copy=False)
    lc += adj * b
    ll += adj * b[:, low_cols]
    lh[1:] += adj[:-1] * b[:, high_cols]
    np.maximum(lh, lc[:, high_cols], out=lh)


def cascade_paths(params: CascadeParams, paths, assets, betas, step_hours: float | None,
                  steps_per_day: float = 1.0):
    """Amplify price paths (a scenario's ``PricePaths``, (P, T + 1, A)) by the cascade:
    BTC's path drives it, every asset takes BTC's extra log move times its tail beta
    ``betas`` (A,; 0 for stablecoins). Returns ``(PricePaths, CascadeResult)``. Raises
    InputError (field ``cascade``) when the paths have no BTC."""
    from .replay import PricePaths
    assets = list(assets)
    if "BTC" not in assets:
        raise InputError("the cascade follows BTC's path; the scenario has no BTC (add a BTC "
                         "holding or a BTC price file)", field="cascade", value=", ".join(assets))
    j = assets.index("BTC")
    today = paths.close[:, :1, :]
    step = lambda x: np.ascontiguousarray(np.log(x / today).transpose(1, 2, 0))    # noqa: E731
    lc, ll, lh = step(paths.close), step(paths.low), step(paths.high)
    res = amplify(params, lc[:, j, :].T, ll[:, j, :].T, steps_per_day=max(1, int(round(steps_per_day))),
                  step_hours=step_hours)
    cols = np.arange(len(assets))
    shift_log_prices(lc, ll, lh, res.adjust.T[:, None, :], np.asarray(betas, float), cols, cols)
    back = lambda x: np.exp(x).transpose(2, 0, 1) * today                     # noqa: E731
    return PricePaths(back(lc), back(ll), back(lh)), res
