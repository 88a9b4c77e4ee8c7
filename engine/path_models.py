"""Price path models for Monte Carlo: calibration and block generators.

Three models produce price paths ``(n_paths, n_steps + 1, n_assets)`` (close, low, high)
in a book's asset order, step 0 being today's prices:

``"student-t"``
    Fat-tailed, correlated, with a BTC factor. Per step of length ``dt`` (years, 365-day
    year) the log return of asset ``a`` is::

        r_a = mu_a + m * sd_a * sqrt(dt) * (rho_a * z_f + sqrt(1 - rho_a**2) * z_a)
              + jump * crash_beta_a

    with ``z_f`` (the BTC factor) and ``z_a`` standard normal, ``m = sqrt((nu - 2) / W)``,
    ``W ~ chi2(nu)`` shared by all assets of a path and step (a multivariate Student-t of
    unit variance: big days are big for every asset at once). ``jump`` is a crash-regime
    jump of BTC (probability ``jump_intensity * dt`` per step, size
    ``-(jump_min + Exponential(jump_mean_excess))`` in log terms) that hits every asset
    through its *crash beta* (from the bundled worst-day figures: altcoins fall harder than
    their everyday beta in crashes), so correlations rise in crashes. The diffusive vol
    ``sd_a`` and correlation ``rho_a`` are set so that the total (diffusion + jumps) annual
    vol and correlation to BTC equal the calibration; the drift ``mu_a`` makes the expected
    log return zero (the jumps' mean is compensated).
``"gbm"``
    Correlated geometric Brownian motion with the given annual vols (``nu = inf``, no
    jumps), log drift 0: ``log(P_T / P_0) ~ N(0, sigma**2 T)``. For checks.
``"bootstrap"``
    Historical block bootstrap of an imported :class:`~engine.prices.PriceHistory`:
    each path is a concatenation of blocks of consecutive steps drawn at random (uniform
    start) from the history's joint returns, so cross-asset dependence, volatility clusters
    and fat tails are those of the data. Each step carries its own close-to-close return
    *and* the low/high of the bar relative to the previous close.

Intra-step lows and highs (parametric models): given a step's log return ``r`` and its
diffusive vol ``v`` (including the step's Student-t scale), the minimum of a Brownian
bridge from 0 to ``r`` satisfies ``P(min < x) = exp(-2 x (x - r) / v**2)`` for
``x <= min(0, r)``, so ``min = (r - sqrt(r**2 - 2 v**2 log U)) / 2`` with ``U`` uniform
(the maximum likewise with ``+``). One ``U`` for the lows and one for the highs are drawn
per path and step and shared by all assets: each asset's low has the exact bridge
distribution, and the lows of different assets in a step are comonotone (a conservative
choice for accounts holding several assets). Bootstrap steps use the bars' own lows and
highs; columns with closes only use the bridge with the column's step vol. Extremes are
computed only for the columns a caller asks for (the Monte Carlo asks for those its book
reads); the random numbers drawn do not depend on it.

Arrays are step-major, ``(steps, columns, paths)``: each step is one contiguous slice.

Stablecoins (bundled list) are held at today's price (as in replays) unless a vol is
given for them. Random numbers are drawn as float32 (normals, gamma, uniforms) and log
prices are accumulated in float32 (relative error of a price ~1e-7 over 30 steps, ~1e-6
over thousands); the prices handed to :func:`engine.replay.run_book` are float64, and the
kernel's liquidation comparisons run on exactly those numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .limits import MAX_HORIZON_SD, MAX_VOL
from .scenarios import bundled_beta, calibration, canonical_asset, stablecoins

MODELS = ("student-t", "bootstrap", "gbm")
DAYS_PER_YEAR = 365.0

#: Defaults of the Student-t model (see docs/montecarlo.md for where they come from).
DEFAULT_DF = 5.0                 # BTC daily log returns 2021-2025: kurtosis 6.8 -> nu ~ 5.6
DEFAULT_JUMP_INTENSITY = 2.0     # crash-regime jumps per year
DEFAULT_JUMP_MIN = 0.04          # smallest jump, BTC log move
DEFAULT_JUMP_MEAN_EXCESS = 0.04  # mean size beyond the smallest (exponential)
DEFAULT_VOL = 1.0                # annual vol of an asset without calibration
DEFAULT_CORR = 0.6               # correlation to BTC of an asset without calibration
CRASH_BETA_SHRINK = 0.5          # crash beta = beta + shrink * (worst-day ratio - beta)
CRASH_BETA_MAX = 3.0             # cap, multiple of the everyday beta
MIN_DIFFUSIVE_SHARE = 0.25       # diffusive variance kept when jumps would eat it all
MAX_T_SCALE = 30.0               # cap on the Student-t scale of one step (a 30-sigma day)


# --------------------------------------------------------------------------- calibration
def check_vol(asset: str, value) -> float:
    """An annual vol of log returns: a number above 0 and at most
    :data:`engine.limits.MAX_VOL`; InputError naming the field ``vol.ASSET``."""
    field = f"vol.{str(asset).upper()}"
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not (0 < value <= MAX_VOL):             # also NaN and infinity
        raise InputError(f"annual vol must be a number above 0 and at most {MAX_VOL:g} "
                         f"({MAX_VOL:.0%}), e.g. BTC=0.6", field=field, value=value)
    return float(value)


def check_horizon(calib: list["AssetCalibration"], years: float) -> None:
    """Refuse a horizon over which the simulated log prices could overflow: the largest vol
    times the square root of the years is at most :data:`engine.limits.MAX_HORIZON_SD`."""
    moving = [c for c in calib if not c.fixed]
    if not moving:
        return
    worst = max(moving, key=lambda c: c.vol)
    sd = worst.vol * math.sqrt(years)
    if sd > MAX_HORIZON_SD:
        longest = (MAX_HORIZON_SD / worst.vol) ** 2 * DAYS_PER_YEAR
        raise InputError(f"is too long for {worst.asset}'s annual vol of {worst.vol:.3g}: the "
                         f"simulated prices would leave the range of numbers; at most "
                         f"{longest:,.0f} days at this vol", field="days",
                         value=round(years * DAYS_PER_YEAR))


def _calib_row(asset: str) -> tuple[dict | None, str]:
    rows = calibration().get("assets", {})
    for key in (asset, canonical_asset(asset)):
        row = rows.get(key)
        if isinstance(row, dict):
            return row, key
    return None, asset


def _worst_ratio(row: dict | None, btc_row: dict | None) -> float | None:
    """log(1 + worst day of the asset) / log(1 + worst day of BTC) from the calibration."""
    if not row or not btc_row:
        return None
    w, wb = row.get("worst_1d"), btc_row.get("worst_1d")
    if w is None or wb is None or not (-1 < w < 0) or not (-1 < wb < 0):
        return None
    return math.log1p(w) / math.log1p(wb)


@dataclass
class AssetCalibration:
    """Per-asset parameters a model runs with, and where each came from."""

    asset: str
    vol: float                     # annual vol of log returns
    beta: float                    # everyday beta to BTC
    corr: float                    # correlation to BTC
    crash_beta: float              # beta of crash-regime jumps
    fixed: bool = False            # held at today's price (stablecoin)
    source: str = "calibration"

    def as_dict(self) -> dict:
        return {"asset": self.asset, "vol": self.vol, "beta": self.beta, "corr": self.corr,
                "crash_beta": self.crash_beta, "fixed": self.fixed, "source": self.source}


def _history_column(history, asset: str) -> int | None:
    if history is None:
        return None
    for name in (asset, canonical_asset(asset)):
        if name in history.assets:
            return history.assets.index(name)
    return None


def calibrate_assets(assets, *, vols: dict | None = None, beta_overrides: dict | None = None,
                     history_returns: np.ndarray | None = None, history_assets=None,
                     steps_per_year: float = DAYS_PER_YEAR, notes: list | None = None
                     ) -> list[AssetCalibration]:
    """Resolve vol, beta, correlation and crash beta of every asset.

    Precedence: ``vols`` / ``beta_overrides`` given by the user, then the imported history
    (log returns ``history_returns`` of shape (n_obs, n_hist_assets), one row per model
    step), then the bundled calibration, then defaults (with a note).
    """
    notes = notes if notes is not None else []
    vols = {k.upper(): float(v) for k, v in (vols or {}).items()}
    betas_in = {k.upper(): float(v) for k, v in (beta_overrides or {}).items()}
    stables = set(stablecoins())
    btc_row, _ = _calib_row("BTC")
    hist = None
    if history_returns is not None and history_assets is not None:
        hist = {a: history_returns[:, j] for j, a in enumerate(history_assets)}
    hist_btc = hist.get("BTC") if hist else None

    def hist_series(a):
        if not hist:
            return None
        for name in (a, canonical_asset(a)):
            if name in hist:
                return hist[name]
        return None

    # BTC vol first: the others' correlation <-> beta conversions use it
    def vol_of(a):
        if a in vols:
            return vols[a], "given"
        s = hist_series(a)
        if s is not None and len(s) > 2 and np.std(s) > 0:
            return float(np.std(s, ddof=1) * math.sqrt(steps_per_year)), "history"
        row, _ = _calib_row(a)
        if row and row.get("ann_vol"):
            return float(row["ann_vol"]), "calibration"
        return DEFAULT_VOL, "default"

    vol_btc, _ = vol_of("BTC")
    out = []
    for a in assets:
        if a in stables and a not in vols:
            out.append(AssetCalibration(a, 0.0, 0.0, 0.0, 0.0, fixed=True, source="stablecoin (held at 1:1)"))
            continue
        vol, vsrc = vol_of(a)
        row, _ = _calib_row(a)
        s = hist_series(a)
        src = [f"vol {vsrc}"]
        if vsrc == "default":
            notes.append(f"{a}: no calibration; annual vol {DEFAULT_VOL:.0%} and correlation "
                         f"{DEFAULT_CORR:g} to BTC assumed")
        if a == "BTC" or canonical_asset(a) == "BTC":
            beta, corr, cb = 1.0, 1.0, 1.0
            src.append("BTC factor")
        elif s is not None and hist_btc is not None and len(s) > 2 and np.std(hist_btc) > 0 and np.std(s) > 0:
            c = np.cov(s, hist_btc)
            beta = float(c[0, 1] / c[1, 1])
            corr = float(c[0, 1] / math.sqrt(c[0, 0] * c[1, 1]))
            worst = hist_btc <= np.quantile(hist_btc, 0.05)
            cb = beta
            if worst.sum() >= 5 and hist_btc[worst].mean() < 0:
                cb = float(s[worst].mean() / hist_btc[worst].mean())
            src.append("beta/corr history")
        else:
            b, bsrc = bundled_beta(a)
            beta = b
            corr = float(row["corr"]) if row and row.get("corr") is not None else None
            if corr is None:
                corr = DEFAULT_CORR if bsrc.startswith("default") else min(0.95, beta * vol_btc / vol)
            ratio = _worst_ratio(row, btc_row)
            cb = beta if ratio is None else beta + CRASH_BETA_SHRINK * (ratio - beta)
            src.append(f"beta {bsrc}")
        if a in betas_in:
            new = betas_in[a]
            cb = cb * new / beta if beta > 0 else new
            beta = new
            corr = float(np.clip(beta * vol_btc / vol, -0.99, 0.99)) if vol > 0 else 0.0
            src.append("beta override")
        if beta >= 0:
            cb = float(np.clip(cb, beta, CRASH_BETA_MAX * beta)) if beta > 0 else 0.0
        else:
            cb = beta
        if vsrc == "history" and not vol <= MAX_VOL:
            raise InputError(f"gives {a} an annual vol of {vol:.3g}, above {MAX_VOL:g} "
                             f"({MAX_VOL:.0%}): the price history has jumps no market makes; "
                             "check its prices", field="history", value=a)
        check_vol(a, vol)
        out.append(AssetCalibration(a, float(vol), float(beta), float(np.clip(corr, -1, 1)),
                                    float(cb), source=", ".join(src)))
    return out


# --------------------------------------------------------------------------- history prep
def history_step_returns(history, steps_per_day: int):
    """A history's per-step log returns and bar extremes, aggregated to the model step.

    Returns ``(ret, lo, hi, has_ohlc)``: arrays of shape (n_obs, n_hist_assets) with the
    close-to-close log return of each step and the log of its low and high relative to
    the previous close; bars are grouped ``k`` at a time when the model step is ``k``
    bars long (``k`` must be a whole number).
    """
    n = len(history.times)
    if n < 3:
        raise InputError("the price history needs at least three rows to bootstrap returns", field="history",
                         value=f"{n} row(s)")
    step = history.step_seconds
    target = 86400.0 / steps_per_day
    k_float = target / step if step > 0 else float("nan")
    k = int(round(k_float)) if math.isfinite(k_float) else 0
    if k < 1 or abs(k_float - k) > 0.05 * k:
        raise InputError(f"the price history has bars of {step / 3600:g} h; with "
                         f"{steps_per_day} step(s) per day a step is {target / 3600:g} h, which "
                         "must be a whole number of bars", field="steps_per_day",
                         value=steps_per_day)
    lc = np.log(history.close)
    r = np.diff(lc, axis=0)
    lo = np.log(history.low[1:]) - lc[:-1]
    hi = np.log(history.high[1:]) - lc[:-1]
    if k > 1:
        m = (len(r) // k) * k
        if m < 2 * k:
            raise InputError(f"the price history has too few rows for {k}-bar steps", field="history", value=n)
        r = r[:m].reshape(-1, k, r.shape[1])
        lo = lo[:m].reshape(r.shape)
        hi = hi[:m].reshape(r.shape)
        cum = np.cumsum(r, axis=1)
        before = cum - r
        lo = (before + lo).min(axis=1)
        hi = (before + hi).max(axis=1)
        r = cum[:, -1]
    lo = np.minimum(lo, np.minimum(r, 0.0))
    hi = np.maximum(hi, np.maximum(r, 0.0))
    return r, lo, hi, np.asarray(history.has_ohlc, bool)


# --------------------------------------------------------------------------- model
@dataclass
class PathModel:
    """A calibrated model ready to draw blocks of paths (see the module docstring).

    ``sim`` columns are the simulated assets: the book's non-fixed assets, plus BTC when the
    caller needs BTC's path (the cascade) and the book has none.
    """

    kind: str
    assets: tuple[str, ...]               # book assets (output order)
    today: np.ndarray                     # (A,)
    n_steps: int
    steps_per_day: int
    calib: list[AssetCalibration]
    sim_assets: tuple[str, ...]
    sim_index: np.ndarray                 # (S,) column in the book, -1 for an extra (BTC)
    btc_col: int | None                   # column of BTC among sim assets
    df: float = DEFAULT_DF
    jump_intensity: float = DEFAULT_JUMP_INTENSITY
    jump_min: float = DEFAULT_JUMP_MIN
    jump_mean_excess: float = DEFAULT_JUMP_MEAN_EXCESS
    notes: list[str] = field(default_factory=list)
    # parametric arrays, (S,)
    sd_step: np.ndarray | None = None     # diffusive vol per step
    load_f: np.ndarray | None = None      # factor loading per step (sd*rho)
    load_i: np.ndarray | None = None      # idiosyncratic loading per step
    crash_beta: np.ndarray | None = None
    drift: np.ndarray | None = None       # log drift per step
    # bootstrap arrays, (N, S)
    boot_ret: np.ndarray | None = None
    boot_lo: np.ndarray | None = None
    boot_hi: np.ndarray | None = None
    boot_bridge: np.ndarray | None = None  # (S,) step vol for closes-only columns, 0 otherwise
    block_len: int = 1

    @property
    def dt(self) -> float:
        return 1.0 / (DAYS_PER_YEAR * self.steps_per_day)

    @property
    def n_sim(self) -> int:
        return len(self.sim_assets)

    @property
    def idio_cols(self) -> np.ndarray:
        return np.flatnonzero(self.load_i > 0) if self.load_i is not None else np.zeros(0, int)

    def describe(self) -> dict:
        d = {"model": self.kind, "steps": self.n_steps, "steps_per_day": self.steps_per_day,
             "assets": [c.as_dict() for c in self.calib]}
        if self.kind == "student-t":
            d.update(df=self.df, jump_intensity_per_year=self.jump_intensity,
                     jump_min=self.jump_min, jump_mean_excess=self.jump_mean_excess)
        if self.kind == "bootstrap":
            d.update(block_len=self.block_len, observations=int(len(self.boot_ret)))
        return d

    # ------------------------------------------------------------------ randomness budget
    def draws_per_path(self) -> dict[str, int]:
        """How many random numbers of each kind one path consumes."""
        T = self.n_steps
        if self.kind == "bootstrap":
            nb = -(-T // self.block_len)
            out = {"integers": nb}
            if self.boot_bridge is not None and (self.boot_bridge > 0).any():
                out["uniform"] = 2 * T
            return out
        out = {"normal": T * (1 + len(self.idio_cols)), "uniform": 2 * T}
        if self.kind == "student-t":
            out["gamma"] = T
            if self.jump_intensity > 0:
                out["uniform"] += T
        return out

    def draw_floor(self, rng: np.random.Generator, n_paths: int) -> None:
        """Draw exactly the random numbers :meth:`simulate` draws for ``n_paths`` paths,
        and nothing else (the benchmark's floor)."""
        T = self.n_steps
        if self.kind == "bootstrap":
            nb = -(-T // self.block_len)
            rng.integers(0, max(1, len(self.boot_ret) - self.block_len + 1), size=(n_paths, nb))
            if self.boot_bridge is not None and (self.boot_bridge > 0).any():
                rng.random((2, T, n_paths), dtype=np.float32)
            return
        rng.standard_normal((T, n_paths), dtype=np.float32)
        if len(self.idio_cols):
            rng.standard_normal((T, len(self.idio_cols), n_paths), dtype=np.float32)
        if self.kind == "student-t":
            rng.standard_gamma(self.df / 2.0, size=(T, n_paths), dtype=np.float32)
        rng.random((3 if (self.kind == "student-t" and self.jump_intensity > 0) else 2, T, n_paths),
                   dtype=np.float32)

    # ------------------------------------------------------------------ generation
    def simulate(self, rng: np.random.Generator, n_paths: int, lows=None, highs=None):
        """Draw ``n_paths`` paths.

        Parameters
        ----------
        lows, highs : sequences of simulated columns whose intra-step lows (highs) are
            wanted; None for all. The random numbers drawn do not depend on them.

        Returns
        -------
        tuple of ndarray
            ``(log_close, log_low, log_high)``: float32 arrays of log price relative to
            today, laid out (n_steps + 1, columns, n_paths) -- step-major, each step one
            contiguous slice -- for all simulated columns (close) and for the ``lows`` /
            ``highs`` columns in that order. Step 0 is 0.
        """
        S = self.n_sim
        lows = np.arange(S) if lows is None else np.asarray(lows, dtype=np.int64)
        highs = np.arange(S) if highs is None else np.asarray(highs, dtype=np.int64)
        if self.kind == "bootstrap":
            r, lo, hi = self._bootstrap(rng, n_paths, lows, highs)
        else:
            r, a_lo, a_hi = self._parametric(rng, n_paths)
        T = r.shape[0]
        lc = np.empty((T + 1, S, n_paths), dtype=np.float32)
        lc[0] = 0.0
        if S * n_paths >= 2048:
            # step by step: each add runs over all columns and paths of a step at once
            # (numpy's cumsum along a leading axis accumulates element by element)
            for t in range(T):
                np.add(lc[t], r[t], out=lc[t + 1])
        else:                           # few paths (long horizons): numpy's own cumsum
            np.cumsum(r, axis=0, out=lc[1:])
        ll = np.empty((T + 1, len(lows), n_paths), dtype=np.float32)
        lh = np.empty((T + 1, len(highs), n_paths), dtype=np.float32)
        ll[0] = 0.0
        lh[0] = 0.0
        if self.kind == "bootstrap":
            np.add(_take_cols(lc[:-1], lows), lo, out=ll[1:])
            np.add(_take_cols(lc[:-1], highs), hi, out=lh[1:])
            return lc, ll, lh
        # Brownian-bridge extremes, column by column: with h = r / 2 and the step's midpoint
        # m = open + h, low = m - sqrt(h^2 + v^2 (-2 log U) / 4) (high with +, its own U)
        quarter_sd2 = (0.25 * np.square(self.sd_step)).astype(np.float32)
        low_at = {int(c): j for j, c in enumerate(lows)}
        high_at = {int(c): j for j, c in enumerate(highs)}
        q = np.empty((T, n_paths), dtype=np.float32)
        for c in sorted(set(low_at) | set(high_at)):
            h = r[:, c] * np.float32(0.5)
            mid = lc[:-1, c] + h
            h *= h
            for at, a, out, op in ((low_at, a_lo, ll, np.subtract), (high_at, a_hi, lh, np.add)):
                j = at.get(c)
                if j is None:
                    continue
                np.multiply(a, quarter_sd2[c], out=q)
                q += h
                np.sqrt(q, out=q)
                op(mid, q, out=out[1:, j])
        return lc, ll, lh

    def _parametric(self, rng, P):
        T, S = self.n_steps, self.n_sim
        f32 = np.float32
        idio = self.idio_cols
        zf = rng.standard_normal((T, P), dtype=f32)
        zi = rng.standard_normal((T, len(idio), P), dtype=f32) if len(idio) else None
        student = self.kind == "student-t"
        mix = None
        if student:
            w = rng.standard_gamma(self.df / 2.0, size=(T, P), dtype=f32)
            # chi2 = 2 * gamma(nu/2); unit-variance scale sqrt((nu - 2) / chi2), capped
            np.maximum(w, f32((self.df - 2.0) / 2.0 / MAX_T_SCALE ** 2), out=w)
            np.divide(f32((self.df - 2.0) / 2.0), w, out=w)
            mix = np.sqrt(w, out=w)
            zf *= mix
            if zi is not None:
                zi *= mix[:, None, :]
        jumps = student and self.jump_intensity > 0
        u = rng.random((3 if jumps else 2, T, P), dtype=f32)
        col = lambda v: np.asarray(v, dtype=f32)[None, :, None]          # noqa: E731
        r = np.empty((T, S, P), dtype=f32)
        np.multiply(zf[:, None, :], col(self.load_f), out=r)
        if zi is not None:
            zi *= col(self.load_i[idio])
            k = 0
            for a, b in _runs(idio):                # adjacent columns: slices, not fancy indexing
                r[:, a:b] += zi[:, k:k + b - a]
                k += b - a
        del zi, zf
        if jumps:
            p = self.jump_intensity * self.dt
            uj = u[2]
            hit = np.nonzero(uj < p)
            if len(hit[0]):
                ex = -np.log(np.maximum(uj[hit], np.finfo(f32).tiny) / f32(p))     # Exponential(1)
                size = -(f32(self.jump_min) + f32(self.jump_mean_excess) * ex)
                r[hit[0], :, hit[1]] += size[:, None] * self.crash_beta.astype(f32)[None, :]
        if np.any(self.drift):
            r += col(self.drift)
        # bridge variance factors per step: mix^2 * (-2 log U), for the low and the high
        m2 = None if mix is None else np.square(mix)
        out = []
        for k in (0, 1):
            a = _neg2log(u[k])
            if m2 is not None:
                a *= m2
            out.append(a)
        return r, out[0], out[1]

    def _bootstrap(self, rng, P, lows, highs):
        T, L = self.n_steps, self.block_len
        n_obs = len(self.boot_ret)
        nb = -(-T // L)
        starts = rng.integers(0, n_obs - L + 1, size=(P, nb))
        idx = (starts[:, :, None] + np.arange(L)).reshape(P, nb * L)[:, :T].T   # (T, P)
        # (T, S, P) float32 copies of the drawn history rows
        r = np.ascontiguousarray(self.boot_ret.T[:, idx].transpose(1, 0, 2))
        lo = np.ascontiguousarray(self.boot_lo.T[lows][:, idx].transpose(1, 0, 2))
        hi = np.ascontiguousarray(self.boot_hi.T[highs][:, idx].transpose(1, 0, 2))
        if self.boot_bridge is not None and (self.boot_bridge > 0).any():
            u = rng.random((2, T, P), dtype=np.float32)
            for k, cols, ext, sign in ((0, lows, lo, -1.0), (1, highs, hi, 1.0)):
                j = np.flatnonzero(self.boot_bridge[cols] > 0)      # closes-only columns
                if len(j):
                    v2 = np.square(self.boot_bridge[cols[j]]).astype(np.float32)
                    ext[:, j] = _bridge_side(r[:, cols[j]], _neg2log(u[k])[:, None, :] * v2[None, :, None],
                                             sign)
        return r, lo, hi


def _take_cols(x, cols):
    """``x[:, cols]``: a view when ``cols`` is one run of adjacent columns, else a copy."""
    cols = np.asarray(cols, dtype=np.int64)
    if len(cols) and (np.diff(cols) == 1).all():
        return x[:, int(cols[0]):int(cols[-1]) + 1]
    return x[:, cols]


def _runs(idx) -> list[tuple[int, int]]:
    """Sorted indices as runs of consecutive values: [0, 1, 2, 5, 6] -> [(0, 3), (5, 7)]."""
    out = []
    for i in np.asarray(idx, dtype=np.int64).tolist():
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def _neg2log(u):
    """``-2 log U`` of uniforms (float32, ``U = 0`` treated as the smallest float)."""
    x = np.maximum(u, np.finfo(u.dtype).tiny)
    np.log(x, out=x)
    x *= u.dtype.type(-2.0)
    return x


def _bridge_side(r, var, sign):
    """Brownian-bridge low (``sign`` -1) or high (+1), log relative to the step's open, of
    steps with log return ``r``: ``(r -/+ sqrt(r^2 + var)) / 2`` with ``var = v^2 * (-2 log U)``
    for the step's diffusive variance ``v^2`` and a uniform ``U`` (``var`` is overwritten)."""
    var += np.square(r)
    np.sqrt(var, out=var)
    var *= var.dtype.type(0.5 * sign)
    var += r * r.dtype.type(0.5)
    return var


def build_path_model(assets, today, *, model: str, days: int, steps_per_day: int = 1,
                     vols: dict | None = None, history=None, beta_overrides: dict | None = None,
                     need_btc: bool = False, df: float | None = None,
                     jump_intensity: float | None = None, block_len: int | None = None
                     ) -> PathModel:
    """Calibrate ``model`` for ``assets`` (the book's asset order) and return a
    :class:`PathModel`. Raises :class:`InputError` for bad parameters (naming the request
    field: ``model``, ``vol.BTC``, ``steps_per_day``, ``history``)."""
    if model not in MODELS:
        raise InputError(f"unknown model; choose one of {', '.join(MODELS)}", field="model",
                         value=model)
    assets = tuple(assets)
    today = np.asarray(today, float)
    notes: list[str] = []
    n_steps = int(days) * int(steps_per_day)
    for name, v in (vols or {}).items():
        check_vol(name, v)
    hist_r = hist_lo = hist_hi = hist_ohlc = None
    if history is not None and model == "gbm":
        notes.append("the gbm model uses the given vols; the price history is not used")
        history = None
    if history is not None:
        hist_r, hist_lo, hist_hi, hist_ohlc = history_step_returns(history, steps_per_day)
    if model == "bootstrap" and history is None:
        raise InputError("the bootstrap model needs a price history", field="model", value=model)
    if model == "gbm":
        missing = [a for a in assets if a not in {k.upper() for k in (vols or {})}
                   and a not in stablecoins()]
        if missing:
            notes.append("no annual vol given for " + ", ".join(missing) + ": bundled annual vol used")
        history_for_calib = None
    else:
        history_for_calib = history
    calib = calibrate_assets(
        assets, vols=vols, beta_overrides=beta_overrides,
        history_returns=hist_r if history_for_calib is not None else None,
        history_assets=history.assets if history_for_calib is not None else None,
        steps_per_year=DAYS_PER_YEAR * steps_per_day, notes=notes)
    check_horizon(calib, n_steps / (DAYS_PER_YEAR * steps_per_day))
    sim_calib = [c for c in calib if not c.fixed]          # book order: copies are slices
    sim_assets = [c.asset for c in sim_calib]
    sim_index = [assets.index(a) for a in sim_assets]
    btc_col = next((i for i, a in enumerate(sim_assets) if canonical_asset(a) == "BTC"), None)
    if need_btc and btc_col is None:
        extra = calibrate_assets(("BTC",), vols=vols, history_returns=hist_r if history_for_calib is not None else None,
                                 history_assets=history.assets if history_for_calib is not None else None,
                                 steps_per_year=DAYS_PER_YEAR * steps_per_day)[0]
        sim_assets.append("BTC")
        sim_index.append(-1)
        sim_calib.append(extra)
        btc_col = len(sim_assets) - 1
    m = PathModel(kind=model, assets=assets, today=today, n_steps=n_steps,
                  steps_per_day=int(steps_per_day), calib=calib, sim_assets=tuple(sim_assets),
                  sim_index=np.asarray(sim_index, dtype=np.int64), btc_col=btc_col, notes=notes)
    if model == "bootstrap":
        _setup_bootstrap(m, sim_calib, history, hist_r, hist_lo, hist_hi, hist_ohlc, block_len)
        return m
    vol = np.array([c.vol for c in sim_calib])
    corr = np.array([c.corr for c in sim_calib])
    cb = np.array([c.crash_beta for c in sim_calib])
    dt = m.dt
    if model == "student-t":
        if history is not None and btc_col is not None and df is None:
            hb = _history_column(history, "BTC")
            if hb is not None:
                x = hist_r[:, hb]
                k = float(np.mean((x - x.mean()) ** 4) / np.var(x) ** 2) if np.var(x) > 0 else 3.0
                df = float(np.clip(4.0 + 6.0 / max(k - 3.0, 1e-6), 3.0, 30.0))
                notes.append(f"Student-t degrees of freedom {df:.2f} from the history's BTC kurtosis {k:.2f}")
        m.df = float(DEFAULT_DF if df is None else df)
        if not m.df > 2:
            raise InputError("Student-t degrees of freedom must be above 2", field="df", value=m.df)
        m.jump_intensity = float(DEFAULT_JUMP_INTENSITY if jump_intensity is None else jump_intensity)
        lam = m.jump_intensity
        ej = -(m.jump_min + m.jump_mean_excess)                    # E[J]
        ej2 = (m.jump_min + m.jump_mean_excess) ** 2 + m.jump_mean_excess ** 2   # E[J^2]
        var_d = vol ** 2 - lam * ej2 * cb ** 2
        var_d = np.maximum(var_d, MIN_DIFFUSIVE_SHARE * vol ** 2)
        sd = np.sqrt(var_d)
        btc = calibrate_assets(("BTC",), vols=vols,
                               history_returns=hist_r if history_for_calib is not None else None,
                               history_assets=history.assets if history_for_calib is not None else None,
                               steps_per_year=DAYS_PER_YEAR * steps_per_day)[0]
        vb = math.sqrt(max(btc.vol ** 2 - lam * ej2, MIN_DIFFUSIVE_SHARE * btc.vol ** 2))
        cov_target = corr * vol * btc.vol
        with np.errstate(divide="ignore", invalid="ignore"):
            rho_d = np.where(sd > 0, (cov_target - lam * ej2 * cb) / (sd * vb), 0.0)
        rho_d = np.clip(rho_d, -0.999, 0.999)
        if btc_col is not None:
            rho_d[btc_col] = 1.0
        drift = -lam * ej * cb * dt          # compensate the jumps' mean: E[log return] = 0
    else:
        m.df = math.inf
        m.jump_intensity = 0.0
        sd = vol
        rho_d = corr.copy()
        if btc_col is not None:
            rho_d[btc_col] = 1.0
        cb = np.zeros_like(vol)
        drift = np.zeros_like(vol)
    step = sd * math.sqrt(dt)
    m.sd_step = step
    m.load_f = step * rho_d
    m.load_i = step * np.sqrt(np.maximum(1.0 - rho_d ** 2, 0.0))
    m.load_i[np.abs(m.load_i) < 1e-12 * np.maximum(step, 1e-300)] = 0.0
    m.crash_beta = cb
    m.drift = drift
    return m


def _setup_bootstrap(m: PathModel, sim_calib, history, r, lo, hi, has_ohlc, block_len):
    n_obs = len(r)
    S = m.n_sim
    R = np.empty((n_obs, S))
    LO = np.empty((n_obs, S))
    HI = np.empty((n_obs, S))
    bridge = np.zeros(S)
    hb = _history_column(history, "BTC")
    for s, c in enumerate(sim_calib):
        j = _history_column(history, c.asset)
        if j is not None:
            R[:, s], LO[:, s], HI[:, s] = r[:, j], lo[:, j], hi[:, j]
            if not has_ohlc[j]:
                bridge[s] = float(np.std(r[:, j], ddof=1)) if n_obs > 2 else 0.0
            continue
        if hb is None:
            have = ", ".join(history.assets)
            raise InputError(f"the price history has no {c.asset} and no BTC to proxy it (it has "
                             f"{have}); add a price file for {c.asset}", field="history", value=c.asset)
        b = c.beta
        R[:, s] = b * r[:, hb]
        LO[:, s] = b * (lo[:, hb] if b >= 0 else hi[:, hb])
        HI[:, s] = b * (hi[:, hb] if b >= 0 else lo[:, hb])
        if not has_ohlc[hb]:
            bridge[s] = abs(b) * float(np.std(r[:, hb], ddof=1))
        m.notes.append(f"{c.asset} is not in the price history: it follows BTC with beta {b:g}")
    if block_len is None:
        block_len = max(1, min(5 * m.steps_per_day, n_obs // 2))
    block_len = int(block_len)
    if block_len < 1 or block_len > n_obs:
        raise InputError(f"block length must be between 1 and {n_obs} steps", field="block_len",
                         value=block_len)
    m.boot_ret, m.boot_lo, m.boot_hi = (R.astype(np.float32), LO.astype(np.float32),
                                        HI.astype(np.float32))
    m.boot_bridge = bridge if (bridge > 0).any() else None
    m.block_len = block_len
