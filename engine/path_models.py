"""Price path models for Monte Carlo: calibration and block generators.

Three models produce price paths ``(n_paths, n_steps + 1, n_assets)`` (close, low, high)
in a book's asset order, step 0 being today's prices:

``"student-t"``
    A BTC factor model with volatility clustering, fat tails, split (asymmetric) scales and
    tail betas, fitted to the data (:mod:`engine.calibration`; bundled: daily closes since
    2022-01-01). Per step ``t`` of length ``dt`` every path has a variance multiplier
    ``g_t`` (GJR-GARCH(1,1), mean 1) and a Student-t mixing scale ``m_t``
    (``sqrt((nu - 2) / W)``, ``W ~ chi2(nu)``, unit variance) shared by all assets, and a
    factor shock ``y = sqrt(g_t) m_t z_f``. The log return of asset ``a``::

        r_a = mu_a + U_a y+ + D_a y- + sqrt(g_t) m_t (mid_a z_a + half_a |z_a|)

    with ``y+ = max(y, 0)``, ``y- = min(y, 0)``, ``z_f``, ``z_a`` standard normal. BTC's
    ``U, D`` are its scale on up and down moves; an altcoin's are its beta on BTC's up and
    down days times BTC's (``D / U`` above BTC's: it falls harder with BTC than it rises);
    ``mid +- half`` are its own split scale (the upside of pump-prone coins is wider than
    their downside). ``g`` starts from the calibration window's distribution of the
    conditional variance (a month may start calm or stormy) and moves with BTC's
    standardised shocks ``e = m_t (up z_f+ + down z_f-)``:
    ``g' = w + (a_up 1[e >= 0] + a_down 1[e < 0]) e^2 g + b g`` (capped at
    :data:`MAX_G`), so storms cluster and falls raise the variance more than rises. The
    drift ``mu_a`` makes the expected log return zero. Optional crash jumps of BTC
    (``jump_intensity`` per year; off by default: the fitted tails already hold the
    crashes) hit every asset through its tail beta.
``"gbm"``
    Correlated geometric Brownian motion with the given annual vols (``nu = inf``, no
    clustering, symmetric), log drift 0: ``log(P_T / P_0) ~ N(0, sigma**2 T)``. For checks.
``"bootstrap"``
    Historical block bootstrap of an imported :class:`~engine.prices.PriceHistory`:
    each path is a concatenation of blocks of consecutive steps drawn at random (uniform
    start) from the history's joint returns, so cross-asset dependence, volatility clusters
    and fat tails are those of the data. Each step carries its own close-to-close return
    *and* the low/high of the bar relative to the previous close.

Antithetic pairs (parametric models, on by default): a block's paths come in pairs that
share every random number except the normals, which have opposite signs. Each path has
exactly the model's distribution (results are exact in expectation); half the random
numbers are drawn, and statistics that are symmetric-ish in the shocks get more precise
per path. Pairs are path ``j`` and ``h + j`` of a block of ``n`` paths, ``h = ceil(n / 2)``
(``n`` odd: path ``h - 1`` has no partner).

Intra-step lows and highs (parametric models): given a step's log return ``r`` and its
diffusive vol ``v`` (including the step's ``sqrt(g) m``), the minimum of a Brownian
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
over thousands).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .calibration import FactorFit, ModelCalibration, fit_history, mean_t_scale
from .errors import InputError
from .limits import MAX_HORIZON_SD, MAX_VOL
from .scenarios import calibration, canonical_asset, stablecoins

MODELS = ("student-t", "bootstrap", "gbm")
DAYS_PER_YEAR = 365.0

#: Defaults of the Student-t model (docs/montecarlo.md says where they come from).
DEFAULT_JUMP_INTENSITY = 0.0     # crash jumps per year: off (the fitted tails hold the crashes)
DEFAULT_JUMP_MIN = 0.04          # smallest jump, BTC log move
DEFAULT_JUMP_MEAN_EXCESS = 0.04  # mean size beyond the smallest (exponential)
DEFAULT_VOL = 1.0                # annual vol of an asset without calibration
DEFAULT_CORR = 0.6               # correlation to BTC of an asset without calibration
MAX_T_SCALE = 30.0               # cap on the Student-t scale of one step (a 30-sigma day)
MAX_G = 25.0                     # cap on the variance multiplier (5 x the long-run vol)


# --------------------------------------------------------------------------- calibration
@lru_cache(maxsize=None)
def bundled_model() -> ModelCalibration:
    """The bundled fit (``resources/calibration.json``, section ``student_t``, written by
    ``scripts/calibrate.py``)."""
    sec = calibration().get("student_t")
    if not isinstance(sec, dict):
        raise InputError("the bundled calibration has no student_t section; run scripts/calibrate.py",
                         field="calibration", value="resources/calibration.json")
    return ModelCalibration.from_dict(sec)


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
    """The asset's row of CRASHES.md section 3 (``assets`` of calibration.json)."""
    rows = calibration().get("assets", {})
    for key in (asset, canonical_asset(asset)):
        row = rows.get(key)
        if isinstance(row, dict):
            return row, key
    return None, asset


@dataclass
class AssetCalibration:
    """Per-asset parameters a model runs with (annual scales), and where they came from.

    ``load_up`` / ``load_down``: the asset's scale on the factor's up / down moves (BTC:
    its own up/down scale; an altcoin: beta up/down times BTC's); ``idio_up`` /
    ``idio_down``: its own split scale. ``vol`` and ``corr`` are the model's (total
    annual vol of the log return and correlation to BTC)."""

    asset: str
    vol: float
    beta: float                    # everyday (plain OLS) beta to BTC
    corr: float
    beta_up: float = 0.0
    beta_down: float = 0.0         # tail beta: on BTC's down days (crash jumps and the cascade)
    load_up: float = 0.0
    load_down: float = 0.0
    idio_up: float = 0.0
    idio_down: float = 0.0
    fixed: bool = False            # held at today's price (stablecoin)
    source: str = "calibration"

    @property
    def crash_beta(self) -> float:
        return self.beta_down

    def as_dict(self) -> dict:
        return {"asset": self.asset, "vol": self.vol, "beta": self.beta, "corr": self.corr,
                "beta_up": self.beta_up, "beta_down": self.beta_down, "fixed": self.fixed,
                "source": self.source}


def _moments(U, D, iu, idn, mean_m):
    """Mean and variance (per unit of time the scales are in) of
    ``U y+ + D y- + m (mid z + half |z|)`` with ``y = m z_f``, ``E[m^2] = 1``."""
    s = 1.0 / math.sqrt(2.0 * math.pi)
    mu_f = (U - D) * s                        # E[U z+ + D z-]
    mu_i = (iu - idn) * s                     # E[mid z + half |z|] = half sqrt(2/pi)
    second = (U * U + D * D) / 2.0 + (iu * iu + idn * idn) / 2.0 + 2.0 * mu_f * mu_i
    mean = mean_m * (mu_f + mu_i)
    return mean, max(second - mean * mean, 0.0)


def _cov_btc(a: AssetCalibration, b: AssetCalibration, mean_m) -> float:
    """Covariance of an asset's return with BTC's (per unit of time of the scales)."""
    s = 1.0 / math.sqrt(2.0 * math.pi)
    cross = (a.load_up * b.load_up + a.load_down * b.load_down) / 2.0
    cross += (a.idio_up - a.idio_down) * s * (b.load_up - b.load_down) * s   # shared m, independent z
    ma, _ = _moments(a.load_up, a.load_down, a.idio_up, a.idio_down, mean_m)
    mb, _ = _moments(b.load_up, b.load_down, 0.0, 0.0, mean_m)
    return cross - ma * mb


def calibrate_assets(assets, *, vols: dict | None = None, beta_overrides: dict | None = None,
                     fit: ModelCalibration | None = None, gaussian: bool = False,
                     df: float | None = None, notes: list | None = None) -> list[AssetCalibration]:
    """Resolve every asset's scales and betas.

    Precedence: ``vols`` / ``beta_overrides`` given by the user, then ``fit`` (an imported
    history, :func:`engine.calibration.fit_history`), then the bundled fit
    (:func:`bundled_model`), then the symmetric figures of CRASHES.md section 3 (vol, beta,
    correlation; with a note), then defaults (with a note). ``gaussian``: symmetric loadings
    with the same vol and correlation (the gbm model)."""
    notes = notes if notes is not None else []
    vols = {k.upper(): float(v) for k, v in (vols or {}).items()}
    betas_in = {k.upper(): float(v) for k, v in (beta_overrides or {}).items()}
    stables = set(stablecoins())
    bundled = bundled_model()
    factor = fit.factor if fit is not None else bundled.factor
    mean_m = 1.0 if gaussian else mean_t_scale(df if df is not None else factor.df)
    sb = factor.vol
    Ub, Db = sb * factor.up, sb * factor.down
    btc = AssetCalibration("BTC", sb, 1.0, 1.0, 1.0, 1.0, Ub, Db, source="BTC factor")

    def fitted(a):
        for src, cal in (("history", fit), ("calibration", bundled)):
            if cal is None:
                continue
            for key in (a, canonical_asset(a)):
                if key in cal.assets:
                    return cal.assets[key], src if key == a else f"{src} ({key})"
        return None, None

    out = []
    for a in assets:
        if a in stables and a not in vols:
            out.append(AssetCalibration(a, 0.0, 0.0, 0.0, fixed=True, source="stablecoin (held at 1:1)"))
            continue
        is_btc = a == "BTC" or canonical_asset(a) == "BTC"
        if is_btc:
            c = AssetCalibration(a, sb, 1.0, 1.0, 1.0, 1.0, Ub, Db,
                                 source="BTC factor, " + ("history" if fit is not None else "calibration"))
        else:
            af, src = fitted(a)
            if af is not None:
                c = AssetCalibration(a, af.vol, af.beta, af.corr, af.beta_up, af.beta_down,
                                     af.beta_up * Ub, af.beta_down * Db, af.idio_up, af.idio_down,
                                     source=src)
            else:
                row, key = _calib_row(a)
                if row and row.get("ann_vol") and row.get("corr") is not None and not row.get("assumed"):
                    v, rho, b = float(row["ann_vol"]), float(row["corr"]), float(row.get("beta", 0.0))
                    src = f"CRASHES.md section 3 ({key}), symmetric"
                    notes.append(f"{a}: no fitted tail beta or split scale; vol {v:.0%} and "
                                 f"correlation {rho:g} to BTC from CRASHES.md section 3")
                else:
                    v, rho = DEFAULT_VOL, DEFAULT_CORR
                    b = rho * v / sb
                    src = "default"
                    notes.append(f"{a}: no calibration; annual vol {DEFAULT_VOL:.0%} and correlation "
                                 f"{DEFAULT_CORR:g} to BTC assumed")
                sys_ = rho * v
                idio = math.sqrt(max(1.0 - rho * rho, 0.0)) * v
                c = AssetCalibration(a, v, b, rho, b, b, sys_, sys_, idio, idio, source=src)
        if gaussian:                                  # same vol and correlation, symmetric
            _, var = _moments(c.load_up, c.load_down, c.idio_up, c.idio_down, mean_m)
            rho = 1.0 if is_btc else _cov_btc(c, btc, mean_m) / math.sqrt(
                max(var, 1e-300) * _moments(Ub, Db, 0.0, 0.0, mean_m)[1])
            v = math.sqrt(var)
            rho = float(np.clip(rho, -1.0, 1.0))
            c.load_up = c.load_down = rho * v
            c.idio_up = c.idio_down = math.sqrt(max(1.0 - rho * rho, 0.0)) * v
        if a in betas_in and not is_btc:
            new = betas_in[a]
            _, var0 = _moments(c.load_up, c.load_down, c.idio_up, c.idio_down, mean_m)
            if abs(c.beta) > 1e-9:
                k = new / c.beta
                c.load_up, c.load_down = c.load_up * k, c.load_down * k
                c.beta_up, c.beta_down = c.beta_up * k, c.beta_down * k
            else:
                c.load_up, c.load_down = new * Ub, new * Db
                c.beta_up = c.beta_down = new
            c.beta = new
            _, sys_var = _moments(c.load_up, c.load_down, 0.0, 0.0, mean_m)
            _, idio_var = _moments(0.0, 0.0, c.idio_up, c.idio_down, mean_m)
            k2 = (var0 - sys_var) / idio_var if idio_var > 0 else 0.0
            k_i = math.sqrt(max(k2, 0.0))
            c.idio_up, c.idio_down = c.idio_up * k_i, c.idio_down * k_i
            c.source += ", beta override"
        if a in vols:
            _, var = _moments(c.load_up, c.load_down, c.idio_up, c.idio_down, mean_m)
            k = vols[a] / math.sqrt(var) if var > 0 else 0.0
            if var > 0:
                c.load_up, c.load_down = c.load_up * k, c.load_down * k
                c.idio_up, c.idio_down = c.idio_up * k, c.idio_down * k
            else:                                    # a stablecoin given a vol: its own noise
                c.idio_up = c.idio_down = vols[a]
            c.source += ", vol given"
        _, var = _moments(c.load_up, c.load_down, c.idio_up, c.idio_down, mean_m)
        c.vol = math.sqrt(var)
        if not c.vol > 0 or not math.isfinite(c.vol):
            raise InputError("annual vol must be a positive number", field=f"vol.{a}", value=c.vol)
        if not is_btc:
            _, vb = _moments(btc.load_up, btc.load_down, 0.0, 0.0, mean_m)
            c.corr = float(np.clip(_cov_btc(c, btc, mean_m) / math.sqrt(var * vb), -1.0, 1.0))
        out.append(c)
    return out


def tail_betas(assets) -> np.ndarray:
    """Each asset's beta on BTC's down days (bundled fit; BTC 1, stablecoins 0): how far it
    follows BTC's extra fall in a liquidation cascade."""
    return np.array([0.0 if c.fixed else c.crash_beta for c in calibrate_assets(tuple(assets))])


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
    df: float = math.inf
    jump_intensity: float = DEFAULT_JUMP_INTENSITY
    jump_min: float = DEFAULT_JUMP_MIN
    jump_mean_excess: float = DEFAULT_JUMP_MEAN_EXCESS
    antithetic: bool = True
    notes: list[str] = field(default_factory=list)
    source: dict = field(default_factory=dict)
    # parametric arrays, (S,), per step
    load_up: np.ndarray | None = None
    load_down: np.ndarray | None = None
    idio_mid: np.ndarray | None = None
    idio_half: np.ndarray | None = None
    sd_step: np.ndarray | None = None     # unconditional step vol (Brownian-bridge extremes)
    crash_beta: np.ndarray | None = None
    drift: np.ndarray | None = None       # log drift per step
    # variance clustering (student-t)
    factor: FactorFit | None = None
    garch_every: int = 1                  # steps per variance update (daily fit, K steps a day: K)
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
        if self.idio_mid is None:
            return np.zeros(0, int)
        return np.flatnonzero((np.abs(self.idio_mid) + np.abs(self.idio_half)) > 0)

    @property
    def clustering(self) -> bool:
        f = self.factor
        return self.kind == "student-t" and f is not None and (f.a_up > 0 or f.a_down > 0 or f.b > 0
                                                                or max(f.start) != min(f.start))

    def describe(self) -> dict:
        d = {"model": self.kind, "steps": self.n_steps, "steps_per_day": self.steps_per_day,
             "antithetic": bool(self.antithetic and self.kind != "bootstrap"),
             "assets": [c.as_dict() for c in self.calib]}
        if self.kind == "student-t":
            f = self.factor
            d.update(df=self.df, jump_intensity_per_year=self.jump_intensity,
                     jump_min=self.jump_min, jump_mean_excess=self.jump_mean_excess,
                     garch={"a_up": f.a_up, "a_down": f.a_down, "b": f.b,
                            "persistence": f.persistence, "steps_per_update": self.garch_every},
                     factor_split={"up": f.up, "down": f.down},
                     start_variance={"p5": float(np.quantile(f.start, 0.05)),
                                     "p50": float(np.quantile(f.start, 0.5)),
                                     "p95": float(np.quantile(f.start, 0.95))})
        if self.source:
            d["source"] = dict(self.source)
        if self.kind == "bootstrap":
            d.update(block_len=self.block_len, observations=int(len(self.boot_ret)))
        return d

    # ------------------------------------------------------------------ randomness budget
    def _base(self, n_paths: int) -> int:
        """Paths whose random numbers are drawn (antithetic: half, rounded up)."""
        return (n_paths + 1) // 2 if self.antithetic else n_paths

    def draws_per_path(self) -> dict[str, float]:
        """How many random numbers of each kind one path consumes (antithetic pairs share
        theirs: half as many)."""
        T = self.n_steps
        if self.kind == "bootstrap":
            nb = -(-T // self.block_len)
            out = {"integers": nb}
            if self.boot_bridge is not None and (self.boot_bridge > 0).any():
                out["uniform"] = 2 * T
            return out
        k = 0.5 if self.antithetic else 1.0
        out = {"normal": k * T * (1 + len(self.idio_cols)), "uniform": k * 2 * T}
        if self.kind == "student-t":
            out["gamma"] = k * T
            if self.jump_intensity > 0:
                out["uniform"] += k * T
            if self.clustering:
                out["uniform"] += k
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
        h = self._base(n_paths)
        rng.standard_normal((T, h), dtype=np.float32)
        if len(self.idio_cols):
            rng.standard_normal((T, len(self.idio_cols), h), dtype=np.float32)
        if self.kind == "student-t":
            rng.standard_gamma(self.df / 2.0, size=(T, h), dtype=np.float32)
        rng.random((3 if (self.kind == "student-t" and self.jump_intensity > 0) else 2, T, h),
                   dtype=np.float32)
        if self.clustering:
            rng.random(h, dtype=np.float32)

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

    def _parametric(self, rng, n):
        """Log returns (T, S, n) and the bridge variance factors of lows and highs (T, n).

        The random numbers are drawn for the first ``h`` paths; the partners ``h + j`` reuse
        them with the normals negated. Work that is the same for both (their absolute
        values, the idiosyncratic split scale) is done once on the ``h`` draws."""
        T, S = self.n_steps, self.n_sim
        f32 = np.float32
        h = self._base(n)
        k = n - h                                     # partners (the first k paths have one)
        idio = self.idio_cols
        z0 = rng.standard_normal((T, h), dtype=f32)
        zi0 = rng.standard_normal((T, len(idio), h), dtype=f32) if len(idio) else None
        student = self.kind == "student-t"
        mix0 = None
        if student:
            w = rng.standard_gamma(self.df / 2.0, size=(T, h), dtype=f32)
            # chi2 = 2 * gamma(nu/2); unit-variance scale sqrt((nu - 2) / chi2), capped
            np.maximum(w, f32((self.df - 2.0) / 2.0 / MAX_T_SCALE ** 2), out=w)
            np.divide(f32((self.df - 2.0) / 2.0), w, out=w)
            mix0 = np.sqrt(w, out=w)
        jumps = student and self.jump_intensity > 0
        u0 = rng.random((3 if jumps else 2, T, h), dtype=f32)
        if student and self.clustering:
            scale = self._variance_path(z0, mix0, rng.random(h, dtype=f32), n)
        else:
            scale = None if mix0 is None else _share(mix0, n)
        # the factor shock y = scale * (z, -z)
        y = np.empty((T, n), dtype=f32)
        if scale is None:
            y[:, :h] = z0
            np.negative(z0[:, :k], out=y[:, h:])
        else:
            np.multiply(scale[:, :h], z0, out=y[:, :h])
            np.multiply(scale[:, h:], z0[:, :k], out=y[:, h:])
            np.negative(y[:, h:], out=y[:, h:])
        del z0
        col = lambda v: np.asarray(v, dtype=f32)[None, :, None]          # noqa: E731
        r = np.empty((T, S, n), dtype=f32)
        up, down = self.load_up.astype(f32), self.load_down.astype(f32)
        if np.array_equal(up, down):
            np.multiply(y[:, None, :], col(up), out=r)
        else:
            yp = np.maximum(y, f32(0.0))
            y -= yp                                                          # y-
            np.multiply(yp[:, None, :], col(up), out=r)
            del yp
            for s in range(S):
                r[:, s] += y * down[s]
        del y
        if zi0 is not None:
            # own noise: scale * (mid z + half |z|); the partner: scale * (-mid z + half |z|)
            mid = col(self.idio_mid[idio])
            half = col(self.idio_half[idio])
            plus = zi0 * mid
            if half.any():
                minus = np.abs(zi0)
                minus *= half
                np.add(minus, plus, out=zi0)
                np.subtract(minus, plus, out=minus)
                plus = zi0
            else:
                minus = np.negative(plus)
            del zi0
            if scale is not None:
                plus *= scale[:, None, :h]
                minus = minus[:, :, :k]
                minus *= scale[:, None, h:]
            else:
                minus = minus[:, :, :k]
            c = 0
            for a, b in _runs(idio):                # adjacent columns: slices, not fancy indexing
                r[:, a:b, :h] += plus[:, c:c + b - a]
                r[:, a:b, h:] += minus[:, c:c + b - a]
                c += b - a
            del plus, minus
        if jumps:
            p = self.jump_intensity * self.dt
            uj = u0[2]
            hit = np.nonzero(uj < p)
            if len(hit[0]):
                ex = -np.log(np.maximum(uj[hit], np.finfo(f32).tiny) / f32(p))     # Exponential(1)
                size = -(f32(self.jump_min) + f32(self.jump_mean_excess) * ex)
                jump = size[:, None] * self.crash_beta.astype(f32)[None, :]
                r[hit[0], :, hit[1]] += jump
                pair = hit[1] < k                    # the partners share the jump
                r[hit[0][pair], :, hit[1][pair] + h] += jump[pair]
        if np.any(self.drift):
            r += col(self.drift)
        # bridge variance factors per step: scale^2 * (-2 log U), for the low and the high
        s2 = None if scale is None else np.square(scale, out=scale)
        out = []
        for j in (0, 1):
            a0 = _neg2log(u0[j])
            if s2 is None:
                out.append(_share(a0, n))
                continue
            a = np.empty((T, n), dtype=f32)
            np.multiply(s2[:, :h], a0, out=a[:, :h])
            np.multiply(s2[:, h:], a0[:, :k], out=a[:, h:])
            out.append(a)
        return r, out[0], out[1]

    def _variance_path(self, z0, mix0, g0u, n):
        """``sqrt(g_t) * m_t`` per step and path (T, n): the GJR-GARCH variance multiplier,
        started from the calibration window's distribution (uniforms ``g0u``) and driven by
        BTC's standardised shocks ``e = m (up z+ + down z-)`` -- the partners' with ``-z`` --
        updated every :attr:`garch_every` steps with the shocks summed over them."""
        f = self.factor
        f32 = np.float32
        T, h = z0.shape
        k = n - h
        every = max(1, int(self.garch_every))
        share_down = 0.5 * f.down ** 2
        w = f32(max(1.0 - f.a_up * (1.0 - share_down) - f.a_down * share_down - f.b, 0.0))
        mid, half = f32((f.up + f.down) / 2.0), f32((f.up - f.down) / 2.0)
        e0 = np.multiply(mix0, z0)                       # m z on the drawn paths
        ab = np.abs(e0)
        ab *= half
        e0 *= mid
        e = np.empty((T, n), dtype=f32)
        np.add(ab, e0, out=e[:, :h])
        np.subtract(ab[:, :k], e0[:, :k], out=e[:, h:])
        del ab, e0
        if every > 1:
            e = e.reshape(T // every, every, n).sum(axis=1)
            e *= f32(1.0 / math.sqrt(every))
        coef = np.where(e < 0, f32(f.a_down), f32(f.a_up)).astype(f32)
        e *= e
        coef *= e
        coef += f32(f.b)                                 # g' = w + coef * g
        del e
        g = start_variance(f.start, _share(g0u, n))
        scale = np.empty((T, n), dtype=f32)
        for t in range(T):
            np.sqrt(g, out=scale[t])
            if (t + 1) % every == 0 and t + 1 < T:
                g *= coef[t // every]
                g += w
                np.minimum(g, f32(MAX_G), out=g)
        scale[:, :h] *= mix0
        scale[:, h:] *= mix0[:, :k]
        return scale

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



def start_variance(start, u: np.ndarray) -> np.ndarray:
    """The variance multiplier a path starts from: one of the equally likely strata
    ``start`` picked by uniforms ``u``."""
    s = np.asarray(start, dtype=np.float32)
    k = np.minimum((u * len(s)).astype(np.int64), len(s) - 1)
    return s[k]




def _mirror(x: np.ndarray, n: int) -> np.ndarray:
    """Antithetic normals: ``x`` (..., h) for the first ``h`` paths, ``-x`` for the next
    ``n - h``; ``x`` itself when ``h == n`` (no pairs)."""
    h = x.shape[-1]
    if h == n:
        return x
    out = np.empty(x.shape[:-1] + (n,), dtype=x.dtype)
    out[..., :h] = x
    np.negative(x[..., :n - h], out=out[..., h:])
    return out


def _share(x: np.ndarray, n: int) -> np.ndarray:
    """Numbers shared by antithetic pairs: ``x`` (..., h) repeated for the partners."""
    h = x.shape[-1]
    if h == n:
        return x
    out = np.empty(x.shape[:-1] + (n,), dtype=x.dtype)
    out[..., :h] = x
    out[..., h:] = x[..., :n - h]
    return out


def antithetic_partner(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The antithetic pairs of a block of ``n`` paths: ``(first, second)`` path indices."""
    h = (n + 1) // 2
    first = np.arange(n - h)
    return first, first + h


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
                     jump_intensity: float | None = None, block_len: int | None = None,
                     antithetic: bool = True) -> PathModel:
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
    if history is not None and model == "gbm":
        notes.append("the gbm model uses the given vols; the price history is not used")
        history = None
    if model == "bootstrap" and history is None:
        raise InputError("the bootstrap model needs a price history", field="model", value=model)
    fit = None
    if history is not None and model == "student-t":
        if "BTC" in {canonical_asset(a) for a in history.assets}:
            fit = fit_history(history, steps_per_day)
            notes.append(f"fitted to the price history ({fit.factor.window[0]} to {fit.factor.window[1]}, "
                         f"{fit.factor.observations} steps); assets not in it use the bundled fit")
            notes.extend(fit.notes)
        else:
            notes.append("the price history has no BTC (the model's factor): bundled calibration used")
    if model == "gbm":
        missing = [a for a in assets if a not in {k.upper() for k in (vols or {})}
                   and a not in stablecoins()]
        if missing:
            notes.append("no annual vol given for " + ", ".join(missing) + ": bundled annual vol used")
    factor = fit.factor if fit is not None else bundled_model().factor
    if model == "student-t":
        nu = float(factor.df if df is None else df)
        if not nu > 2:
            raise InputError("Student-t degrees of freedom must be above 2", field="df", value=nu)
    else:
        nu = math.inf
    calib = calibrate_assets(assets, vols=vols, beta_overrides=beta_overrides, fit=fit,
                             gaussian=model == "gbm", df=None if math.isinf(nu) else nu, notes=notes)
    check_horizon(calib, n_steps / (DAYS_PER_YEAR * steps_per_day))
    sim_calib = [c for c in calib if not c.fixed]          # book order: copies are slices
    sim_assets = [c.asset for c in sim_calib]
    sim_index = [assets.index(a) for a in sim_assets]
    btc_col = next((i for i, a in enumerate(sim_assets) if canonical_asset(a) == "BTC"), None)
    if need_btc and btc_col is None:
        extra = calibrate_assets(("BTC",), vols=vols, fit=fit, gaussian=model == "gbm",
                                 df=None if math.isinf(nu) else nu)[0]
        sim_assets.append("BTC")
        sim_index.append(-1)
        sim_calib.append(extra)
        btc_col = len(sim_assets) - 1
    source = {}
    if model == "student-t":
        if fit is not None:
            source = {"fit": "price history", "window": list(fit.factor.window),
                      "observations": fit.factor.observations}
        else:
            sec = calibration().get("student_t", {})
            source = {"fit": "bundled (resources/calibration.json, student_t)",
                      "window": list(factor.window), "created": sec.get("created"),
                      "script": sec.get("script")}
    m = PathModel(kind=model, assets=assets, today=today, n_steps=n_steps,
                  steps_per_day=int(steps_per_day), calib=calib, sim_assets=tuple(sim_assets),
                  sim_index=np.asarray(sim_index, dtype=np.int64), btc_col=btc_col, notes=notes,
                  antithetic=bool(antithetic) and model != "bootstrap", source=source)
    if model == "bootstrap":
        _setup_bootstrap(m, sim_calib, history, *history_step_returns(history, steps_per_day), block_len)
        return m
    dt = m.dt
    sq = math.sqrt(dt)
    m.df = nu
    m.load_up = np.array([c.load_up for c in sim_calib]) * sq
    m.load_down = np.array([c.load_down for c in sim_calib]) * sq
    iu = np.array([c.idio_up for c in sim_calib]) * sq
    idn = np.array([c.idio_down for c in sim_calib]) * sq
    m.idio_mid, m.idio_half = (iu + idn) / 2.0, (iu - idn) / 2.0
    m.sd_step = np.sqrt((m.load_up ** 2 + m.load_down ** 2) / 2.0 + (iu ** 2 + idn ** 2) / 2.0)
    m.crash_beta = np.array([c.beta_down for c in sim_calib])
    if btc_col is not None:
        m.crash_beta[btc_col] = 1.0
    if model == "student-t":
        m.factor = factor
        m.garch_every = 1 if fit is not None else int(steps_per_day)
        m.jump_intensity = float(DEFAULT_JUMP_INTENSITY if jump_intensity is None else jump_intensity)
        if not (math.isfinite(m.jump_intensity) and m.jump_intensity >= 0):
            raise InputError("must be a number of jumps per year, at least 0", field="jump_intensity",
                             value=jump_intensity)
        mean_sqrt_g = float(np.mean(np.sqrt(factor.start))) if m.clustering else 1.0
        mean_m = mean_t_scale(nu)
        s = 1.0 / math.sqrt(2.0 * math.pi)
        mean_step = mean_sqrt_g * mean_m * ((m.load_up - m.load_down) * s + (iu - idn) * s)
        ej = -(m.jump_min + m.jump_mean_excess)                    # E[J]
        m.drift = -mean_step - m.jump_intensity * ej * m.crash_beta * dt
    else:
        m.jump_intensity = 0.0
        m.drift = np.zeros(len(sim_calib))
    return m


def _history_column(history, asset: str) -> int | None:
    if history is None:
        return None
    for name in (asset, canonical_asset(asset)):
        if name in history.assets:
            return history.assets.index(name)
    return None


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
