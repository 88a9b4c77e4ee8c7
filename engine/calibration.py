"""Calibration of the Student-t factor model (:mod:`engine.path_models`) from price history.

One code path for the bundled parameters and for imported histories: ``scripts/calibrate.py``
reads the daily files, keeps its window and calls :func:`fit_returns`, which writes the
``student_t`` section of ``resources/calibration.json``; an imported history under the
``student-t`` model goes through :func:`fit_history`, which calls :func:`fit_returns` on the
history's step returns. :func:`horizon_stats` measures what the model is checked against
(30-day return quantiles, drawdowns, betas), on data and on simulated paths alike.

Method, per step of the history (the bundled file: daily Binance closes since 2022-01-01):

BTC, the common factor
    1. demeaned log returns ``r_t``;
    2. GJR-GARCH(1,1) variance ``h_t = w + (a_up 1[r >= 0] + a_down 1[r < 0]) r_{t-1}^2 +
       b h_{t-1}``, variance-targeted (its long-run mean is the sample variance), ``a_up``,
       ``a_down``, ``b`` by Gaussian quasi-maximum likelihood (consistent whatever the shape
       of the shocks; maximised by Nelder-Mead);
    3. standardised shocks ``e_t = r_t / sqrt(h_t)``: Student-t degrees of freedom from their
       kurtosis (``nu = 4 + 6 / (k - 3)``, within [4.5, 30]); a *split scale*: up and down
       halves with their own scale, the ratio from the 5 % and 95 % quantiles about the
       median (a few huge days do not set it), normalised to a mean square of 1;
    4. the starting variance of a simulated month: 40 quantiles (strata midpoints) of
       ``g_t = h_t / mean(h)`` over the window, scaled to mean 1, each equally likely, so
       months start as calm or as stormy as the window's did.

Every other asset
    5. log returns regressed on BTC's return above and below its median -- two betas, on
       BTC's up days and on its down days (the *tail beta*: altcoins fall harder with BTC
       than they rise with it) -- weighted by ``1 / g_t`` (the day's common variance) and by
       Student-t weights, iterated (robust: a pump day barely moves the betas);
    6. the residual's split scale, from the 5 % and 95 % quantiles of ``residual / sqrt(g_t)``
       about its median against the unit-variance Student-t quantile: outliers beyond them
       do not widen the distribution's body, and the upside may differ from the downside
       (pumps).

Scales are stored per year (times ``sqrt(steps per year)``); GARCH coefficients per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

FORMAT = "crashlab.calibration.student_t/1"
#: Quantile levels of the stored starting variance (``g`` at the start of a path): the
#: midpoints of 40 equally likely strata; a path starts from one of them at random.
START_LEVELS = tuple(np.round((np.arange(40) + 0.5) / 40, 4).tolist())
SPLIT_QUANTILE = 0.05            # split scales from the 5 % / 95 % quantiles about the median
MIN_DF, MAX_DF = 4.5, 30.0
MIN_GARCH_OBS = 250              # fewer steps: constant variance (no GARCH)
MIN_ASSET_OBS = 60               # fewer joint steps with BTC: the asset is not fitted
IRLS_ITERATIONS = 30

METHOD = ("Log returns per step. BTC (the factor): GJR-GARCH(1,1), variance-targeted, by Gaussian "
          "quasi-ML; Student-t df from the kurtosis of the standardised shocks (4 + 6/(k - 3), "
          "within [4.5, 30]); split scale (up/down) from their 5 %/95 % quantiles about the median; "
          "starting variance = 40 equally likely quantiles of h_t / mean(h) over the window (mean 1). Other assets: betas on "
          "BTC's up and down days (split at BTC's median return) by Student-t iteratively "
          "reweighted least squares weighted by 1/g_t; residual split scale from the 5 %/95 % "
          "quantiles of residual/sqrt(g_t) against the unit-variance Student-t quantile. Scales "
          "annualised with sqrt(steps per year); GARCH coefficients per step.")


# --------------------------------------------------------------------------- numerics
def nelder_mead(f, x0, step, max_iter: int = 2000, tol: float = 1e-10):
    """Minimise ``f`` from ``x0`` (simplex of ``x0`` and ``x0 + step[i] e_i``). Returns
    ``(x, f(x))``. Deterministic; standard reflection/expansion/contraction/shrink."""
    x0 = np.asarray(x0, float)
    n = len(x0)
    pts = [x0.copy()]
    for i in range(n):
        x = x0.copy()
        x[i] += step[i]
        pts.append(x)
    vals = [f(p) for p in pts]
    for _ in range(max_iter):
        order = np.argsort(vals, kind="stable")
        pts = [pts[i] for i in order]
        vals = [vals[i] for i in order]
        if abs(vals[-1] - vals[0]) <= tol * (1.0 + abs(vals[0])):
            break
        c = np.mean(pts[:-1], axis=0)
        xr = c + (c - pts[-1])
        fr = f(xr)
        if fr < vals[0]:
            xe = c + 2.0 * (c - pts[-1])
            fe = f(xe)
            pts[-1], vals[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = xr, fr
        else:
            xc = c + 0.5 * (pts[-1] - c) if fr >= vals[-1] else c + 0.5 * (xr - c)
            fc = f(xc)
            if fc < min(fr, vals[-1]):
                pts[-1], vals[-1] = xc, fc
            else:
                for i in range(1, n + 1):
                    pts[i] = pts[0] + 0.5 * (pts[i] - pts[0])
                    vals[i] = f(pts[i])
    i = int(np.argmin(vals))
    return pts[i], float(vals[i])


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def unit_t_quantile(p: float, nu: float) -> float:
    """Quantile of the Student-t with ``nu`` degrees of freedom scaled to unit variance
    (numerically, from its density on a fine grid)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    if p == 0.5:
        return 0.0
    q = abs(p - 0.5) + 0.5
    x = np.linspace(0.0, 80.0, 400_001)
    logc = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(math.pi * nu)
    dens = np.exp(logc - (nu + 1) / 2 * np.log1p(x * x / nu))
    cdf = 0.5 + np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) * 0.5 * np.diff(x))])
    t = float(np.interp(q, cdf, x))
    t *= math.sqrt((nu - 2.0) / nu)
    return t if p > 0.5 else -t


def mean_t_scale(nu: float) -> float:
    """``E[sqrt((nu - 2) / W)]`` for ``W ~ chi2(nu)``: the mean of the Student-t mixing scale
    of unit variance (``E[|e|] = mean_t_scale * sqrt(2 / pi)`` for a unit-variance t)."""
    if math.isinf(nu):
        return 1.0
    return math.sqrt((nu - 2.0) / 2.0) * math.exp(math.lgamma((nu - 1.0) / 2.0) - math.lgamma(nu / 2.0))


def _decayed_filter(x: np.ndarray, b: float) -> np.ndarray:
    """``y_t = sum_{s <= t} b^(t - s) x_s`` (vectorised)."""
    from .cascade import decayed_cumsum
    return decayed_cumsum(x[None, :], b, axis=1)[0]


def garch_filter(r: np.ndarray, v: float, a_up: float, a_down: float, b: float) -> np.ndarray:
    """Conditional variances ``h_t`` (before step ``t``'s return) of the variance-targeted
    GJR-GARCH(1,1) with long-run variance ``v``; ``h_0 = v``."""
    r = np.asarray(r, float)
    share_down = _share_down(r)
    pers = a_up * (1.0 - share_down) + a_down * share_down + b
    w = v * (1.0 - pers)
    c = np.where(r < 0, a_down, a_up) * r * r + w
    h = np.empty(len(r))
    h[0] = v
    if len(r) > 1:
        y = _decayed_filter(c[:-1], b)
        h[1:] = y + v * b ** np.arange(1, len(r))
    return h


def _share_down(r: np.ndarray) -> float:
    """Share of the squared returns that fall on down steps (the GJR long-run weight)."""
    s = float(np.sum(r * r))
    return float(np.sum(np.where(r < 0, r * r, 0.0)) / s) if s > 0 else 0.5


# --------------------------------------------------------------------------- fits
@dataclass
class FactorFit:
    """BTC, the common factor (scales per year, GARCH coefficients per step)."""

    vol: float                       # annual vol of the demeaned log returns
    a_up: float
    a_down: float
    b: float
    df: float
    up: float                        # split scale of the standardised shock, mean square 1
    down: float
    start: tuple                     # quantiles of g = h / mean(h) at START_LEVELS
    observations: int
    window: tuple = ("", "")
    level_window: tuple = ()         # rows of the vol level when it differs from ``window``
    g: np.ndarray | None = field(default=None, repr=False)     # per step (not stored)
    median: float = 0.0              # BTC's median log return over the window (not stored)

    @property
    def persistence(self) -> float:
        return self.a_up * (1 - 0.5 * self.down ** 2) + self.a_down * 0.5 * self.down ** 2 + self.b

    def to_dict(self) -> dict:
        return {"asset": "BTC", "vol": round(self.vol, 6),
                "garch": {"a_up": round(self.a_up, 6), "a_down": round(self.a_down, 6),
                          "b": round(self.b, 6), "persistence": round(self.persistence, 6)},
                "df": round(self.df, 4), "up": round(self.up, 6), "down": round(self.down, 6),
                "start_variance": {"levels": list(START_LEVELS),
                                   "values": [round(float(x), 5) for x in self.start]},
                "observations": int(self.observations), "window": list(self.window),
                **({"vol_window": list(self.level_window)} if self.level_window else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "FactorFit":
        g = d.get("garch", {})
        sv = d.get("start_variance", {})
        levels = tuple(sv.get("levels", START_LEVELS))
        values = np.asarray(sv.get("values", [1.0] * len(levels)), float)
        start = tuple(np.interp(START_LEVELS, levels, values).tolist())
        if not (np.isfinite(start).all() and min(start) > 0):
            raise InputError("starting variances must be positive numbers", field="calibration",
                             value="student_t.factor.start_variance")
        return cls(vol=float(d["vol"]), a_up=float(g.get("a_up", 0.0)), a_down=float(g.get("a_down", 0.0)),
                   b=float(g.get("b", 0.0)), df=float(d.get("df", MAX_DF)), up=float(d.get("up", 1.0)),
                   down=float(d.get("down", 1.0)), start=start, observations=int(d.get("observations", 0)),
                   window=tuple(d.get("window", ("", ""))), level_window=tuple(d.get("vol_window", ())))


@dataclass
class AssetFit:
    """One asset against BTC (scales per year)."""

    beta: float                      # plain OLS beta (shown; beta overrides scale from it)
    beta_up: float                   # on BTC's up days
    beta_down: float                 # on BTC's down days (the tail beta)
    idio_up: float                   # split scale of the residual, per year
    idio_down: float
    vol: float                       # sample annual vol of the log returns
    corr: float                      # sample correlation to BTC
    observations: int
    window: tuple = ("", "")

    def to_dict(self) -> dict:
        return {"beta": round(self.beta, 4), "beta_up": round(self.beta_up, 4),
                "beta_down": round(self.beta_down, 4), "idio_up": round(self.idio_up, 5),
                "idio_down": round(self.idio_down, 5), "vol": round(self.vol, 5),
                "corr": round(self.corr, 4), "observations": int(self.observations),
                "window": list(self.window)}

    @classmethod
    def from_dict(cls, d: dict) -> "AssetFit":
        return cls(beta=float(d["beta"]), beta_up=float(d["beta_up"]), beta_down=float(d["beta_down"]),
                   idio_up=float(d["idio_up"]), idio_down=float(d["idio_down"]), vol=float(d["vol"]),
                   corr=float(d["corr"]), observations=int(d.get("observations", 0)),
                   window=tuple(d.get("window", ("", ""))))


@dataclass
class ModelCalibration:
    """Fitted parameters: the factor and every asset fitted against it."""

    factor: FactorFit
    assets: dict                     # asset -> AssetFit
    steps_per_year: float
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"steps_per_year": self.steps_per_year, "factor": self.factor.to_dict(),
                "assets": {a: f.to_dict() for a, f in self.assets.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelCalibration":
        return cls(factor=FactorFit.from_dict(d["factor"]),
                   assets={a: AssetFit.from_dict(x) for a, x in d.get("assets", {}).items()},
                   steps_per_year=float(d.get("steps_per_year", 365.0)))


def _split_ratio(x: np.ndarray) -> float:
    """Upside over downside scale: (q95 - median) / (median - q05)."""
    lo, med, hi = np.quantile(x, [SPLIT_QUANTILE, 0.5, 1.0 - SPLIT_QUANTILE])
    if not med - lo > 0 or not hi - med > 0:
        return 1.0
    return float((hi - med) / (med - lo))


def fit_factor(r: np.ndarray, steps_per_year: float, window=("", "")) -> FactorFit:
    """Fit BTC's variance dynamics and shock shape to log returns ``r`` (one per step)."""
    r = np.asarray(r, float)
    if len(r) < 3 or not np.isfinite(r).all():
        raise InputError("BTC needs at least three finite returns to calibrate", field="history",
                         value=f"{len(r)} return(s)")
    med = float(np.median(r))
    x = r - r.mean()
    v = float(np.mean(x * x))
    if not v > 0:
        raise InputError("BTC does not move in the price history", field="history", value="BTC")
    a_up = a_down = b = 0.0
    if len(x) >= MIN_GARCH_OBS:
        sd = _share_down(x)
        x2 = x * x

        def params(th):
            pers = _sigmoid(th[0]) * 0.999
            a_tot = pers * _sigmoid(th[1])
            q = _sigmoid(th[2])
            return a_tot * (1.0 - q) / (1.0 - sd), a_tot * q / sd, pers - a_tot

        def nll(th):
            au, ad, bb = params(th)
            h = garch_filter(x, v, au, ad, bb)
            if not (h > 0).all():
                return 1e300
            return 0.5 * float(np.sum(np.log(h) + x2 / h))

        th, _ = nelder_mead(nll, [2.0, -1.5, math.log(sd / (1 - sd))], [0.5, 0.5, 0.5])
        a_up, a_down, b = params(th)
        h = garch_filter(x, v, a_up, a_down, b)
    else:
        h = np.full(len(x), v)
    e = x / np.sqrt(h)
    e2 = e * e
    k = float(np.mean(e2 * e2) / np.mean(e2) ** 2)
    df = MAX_DF if k <= 3.0 + 6.0 / (MAX_DF - 4.0) else float(np.clip(4.0 + 6.0 / (k - 3.0), MIN_DF, MAX_DF))
    ratio = _split_ratio(e)
    down = math.sqrt(2.0 / (1.0 + ratio * ratio))
    g = h / float(np.mean(h))
    start = np.quantile(g, START_LEVELS)
    start = tuple(float(q) for q in start / np.mean(start))
    return FactorFit(vol=math.sqrt(v * steps_per_year), a_up=float(a_up), a_down=float(a_down),
                     b=float(b), df=df, up=ratio * down, down=down, start=start,
                     observations=len(x), window=tuple(window), g=g, median=med)


def fit_asset(r: np.ndarray, r_btc: np.ndarray, g: np.ndarray, btc_median: float, df: float,
              steps_per_year: float, window=("", "")) -> AssetFit:
    """Fit one asset's betas and residual scale against BTC (joint steps only)."""
    r = np.asarray(r, float)
    f = np.asarray(r_btc, float) - btc_median
    X = np.column_stack([np.ones(len(r)), np.maximum(f, 0.0), np.minimum(f, 0.0)])
    w0 = 1.0 / g
    coef = np.linalg.lstsq(X * np.sqrt(w0)[:, None], r * np.sqrt(w0), rcond=None)[0]
    scale2 = None
    for _ in range(IRLS_ITERATIONS):                 # Student-t EM: weights (nu + 1) / (nu + z^2)
        z = (r - X @ coef) / np.sqrt(g)
        if scale2 is None:
            scale2 = float(np.mean(z * z)) or 1e-12
        w_t = (df + 1.0) / (df + z * z / scale2)
        scale2 = float(np.mean(w_t * z * z)) or 1e-12
        w = w0 * w_t
        new = np.linalg.lstsq(X * np.sqrt(w)[:, None], r * np.sqrt(w), rcond=None)[0]
        done = np.max(np.abs(new - coef)) < 1e-10
        coef = new
        if done:
            break
    resid = (r - X @ coef) / np.sqrt(g)
    lo, med, hi = np.quantile(resid, [SPLIT_QUANTILE, 0.5, 1.0 - SPLIT_QUANTILE])
    tq = unit_t_quantile(1.0 - SPLIT_QUANTILE, df)
    ann = math.sqrt(steps_per_year)
    c = np.cov(r, r_btc)
    beta = float(c[0, 1] / c[1, 1]) if c[1, 1] > 0 else 0.0
    corr = float(c[0, 1] / math.sqrt(c[0, 0] * c[1, 1])) if c[0, 0] > 0 and c[1, 1] > 0 else 0.0
    return AssetFit(beta=beta, beta_up=float(coef[1]), beta_down=float(coef[2]),
                    idio_up=float(max(hi - med, 0.0) / tq * ann), idio_down=float(max(med - lo, 0.0) / tq * ann),
                    vol=float(np.std(r, ddof=1) * ann), corr=corr, observations=len(r), window=tuple(window))


def fit_returns(times, returns: np.ndarray, assets, steps_per_year: float,
                level_from=None) -> ModelCalibration:
    """Fit the model to log returns ``returns`` (n_steps, n_assets), NaN where an asset has
    no return; ``times`` labels the rows (the windows' first and last are stored). BTC must
    be one of ``assets``; other assets are fitted on the steps they share with BTC (at least
    :data:`MIN_ASSET_OBS`, else left out with a note).

    ``level_from`` (a time, optional): BTC's variance dynamics, shock shape and starting
    variance are fitted on all its rows, but its vol level and every other asset only on the
    rows from ``level_from`` on (the bundled fit: storms as persistent and as extreme,
    relative to the average month, as over BTC's whole history; the average month as since
    2022). Without it every fit uses every row."""
    assets = list(assets)
    if "BTC" not in assets:
        raise InputError("calibrating the factor model needs BTC's prices", field="history",
                         value=", ".join(assets))
    R = np.asarray(returns, float)
    t = np.asarray(times)
    j = assets.index("BTC")
    ok_b = np.isfinite(R[:, j])
    recent = np.ones(len(R), bool) if level_from is None else t >= np.asarray(level_from, dtype=t.dtype)

    def span(mask):
        idx = np.flatnonzero(mask)
        return (_label(t[idx[0]]), _label(t[idx[-1]])) if len(idx) else ("", "")

    factor = fit_factor(R[ok_b, j], steps_per_year, span(ok_b))
    g_all = np.full(len(R), np.nan)
    g_all[ok_b] = factor.g
    if level_from is not None:
        lvl = ok_b & recent
        if lvl.sum() < MIN_ASSET_OBS:
            raise InputError("too few BTC returns after the level window's start", field="level_from",
                             value=str(level_from))
        x = R[lvl, j]
        factor.vol = float(np.std(x) * math.sqrt(steps_per_year))
        factor.level_window = span(lvl)
        g_all = g_all / float(np.mean(g_all[lvl]))       # mean 1 over the level window
        ok_b = lvl
    out: dict = {}
    notes = []
    for k, a in enumerate(assets):
        if k == j:
            continue
        ok = ok_b & np.isfinite(R[:, k])
        if ok.sum() < MIN_ASSET_OBS:
            notes.append(f"{a}: only {int(ok.sum())} step(s) shared with BTC; not fitted")
            continue
        if not np.std(R[ok, k]) > 0:
            notes.append(f"{a}: does not move in the history; not fitted")
            continue
        out[a] = fit_asset(R[ok, k], R[ok, j], g_all[ok], factor.median, factor.df, steps_per_year, span(ok))
    return ModelCalibration(factor=factor, assets=out, steps_per_year=float(steps_per_year), notes=notes)


def returns_from_files(files: dict, since: str | None = None, until: str | None = None):
    """Daily log returns of several assets read with the app's price importer, on the union
    calendar of their days: ``files`` maps an asset to its price files (read in order, the
    earlier file winning on overlapping days: a spliced series such as MATIC -> POL).
    Returns ``(days, returns (n_days, n_assets), assets)``, NaN where an asset has no close
    on a day or the day before. Rows from ``since`` (a date) to ``until``."""
    from .prices import load_price_history
    assets = list(files)
    closes = {}
    for a in assets:
        c = {}
        for path in files[a]:
            h = load_price_history([(a, str(path))])
            for t, x in zip(h.times, h.close[:, 0]):
                c.setdefault(np.datetime64(t, "D"), float(x))
        closes[a] = c
    first = min(min(c) for c in closes.values())
    lo = first if since is None else max(np.datetime64(since, "D"), first)
    hi = max(max(c) for c in closes.values()) if until is None else np.datetime64(until, "D")
    days = np.arange(lo, hi + np.timedelta64(1, "D"))
    R = np.full((len(days), len(assets)), np.nan)
    one = np.timedelta64(1, "D")
    for j, a in enumerate(assets):
        c = closes[a]
        prev = np.array([c.get(d - one, np.nan) for d in days])
        cur = np.array([c.get(d, np.nan) for d in days])
        with np.errstate(invalid="ignore", divide="ignore"):
            R[:, j] = np.log(cur / prev)
        R[~((prev > 0) & (cur > 0)), j] = np.nan
    keep = np.isfinite(R).any(axis=1)
    return days[keep], R[keep], assets


def _label(x) -> str:
    s = str(np.datetime_as_string(np.datetime64(x, "s"))) if not isinstance(x, str) else x
    return s[:10] if s.endswith("T00:00:00") else s


def fit_history(history, steps_per_day: int) -> ModelCalibration:
    """:func:`fit_returns` on an imported :class:`~engine.prices.PriceHistory`, at the model's
    step (bars grouped as :func:`engine.path_models.history_step_returns` does)."""
    from .path_models import DAYS_PER_YEAR, history_step_returns
    r, _, _, _ = history_step_returns(history, steps_per_day)
    times = np.asarray(history.times)
    k = max(1, (len(times) - 1) // max(1, len(r)))
    rows = times[k::k][:len(r)]
    return fit_returns(rows, r, [_asset_key(a) for a in history.assets], DAYS_PER_YEAR * steps_per_day)


def _asset_key(a: str) -> str:
    from .scenarios import canonical_asset
    return canonical_asset(a)


# --------------------------------------------------------------------------- checks
HORIZON = 30
CHECK_LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def window_moves(log_close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log move over each window and its largest drawdown of the close from the running
    peak, from log closes laid out (horizon + 1, windows)."""
    level = np.exp(log_close - log_close[0])
    dd = (1.0 - level / np.maximum.accumulate(level, axis=0)).max(axis=0)
    return log_close[-1] - log_close[0], dd


def window_stats(move: np.ndarray, dd: np.ndarray, move_btc: np.ndarray | None = None) -> dict:
    """:func:`horizon_stats` from each window's log move and drawdown (and BTC's log move)."""
    ret = np.expm1(move)
    out = {f"q{q:g}": float(v) for q, v in zip(CHECK_LEVELS, np.quantile(ret, CHECK_LEVELS))}
    out["p_below_30"] = float(np.mean(ret < -0.3))
    out["dd0.95"], out["dd0.99"] = (float(v) for v in np.quantile(dd, [0.95, 0.99]))
    out["windows"] = int(ret.size)
    if move_btc is not None:
        c = np.cov(move, move_btc)
        out["beta"] = float(c[0, 1] / c[1, 1])
        sel = np.expm1(move_btc) < -0.2
        out["down20"] = float(np.mean(ret[sel])) if sel.any() else float("nan")
        out["btc_down20_windows"] = int(sel.sum())
    return out


def horizon_stats(log_close: np.ndarray, log_btc: np.ndarray | None = None, horizon: int = HORIZON) -> dict:
    """What the model is checked against, from log closes.

    ``log_close``: one series (n,) of daily log closes (data: every window of ``horizon``
    days, overlapping) or simulated paths (horizon + 1, n_paths) (each path one window).
    Returns the ``horizon``-day simple return quantiles at :data:`CHECK_LEVELS`
    (``"q0.01"`` ...), ``p_below_30`` (P(return < -30 %)), the drawdown quantiles
    (``"dd0.95"``, ``"dd0.99"``: largest fall of the close from its running peak within the
    window) and, with ``log_btc`` (same shape), the beta of the window log returns to BTC's
    and the mean window return when BTC falls more than 20 % (``beta``, ``down20``)."""
    x = np.asarray(log_close, float)
    btc = None if log_btc is None else np.asarray(log_btc, float)
    if x.ndim == 1:
        n = len(x) - horizon
        if n < 1:
            raise ValueError("series shorter than the horizon")
        idx = np.arange(n)[None, :] + np.arange(horizon + 1)[:, None]
        x = x[idx]                                                 # (horizon + 1, n)
        btc = None if btc is None else btc[idx]
    move, dd = window_moves(x)
    return window_stats(move, dd, None if btc is None else btc[-1] - btc[0])
