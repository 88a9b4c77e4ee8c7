"""Vectorised path-dependent liquidation of a whole book over price paths.

One kernel serves shocks, historical replays and Monte Carlo: the input is a cube of
prices ``(n_paths, n_steps + 1, n_assets)`` (close, low, high), step 0 being today.

Semantics (the contract of the stress and montecarlo commands):

* step 0 is today: positions are checked at today's prices (its close) only;
* a long isolated perp is liquidated at the first step whose low is at or below its
  liquidation price, a short at the first whose high is at or above it;
* a cross account at the first step where equity <= maintenance margin, longs at their
  lows and shorts at their highs (tiered MM at those prices);
* a loan at the first step whose collateral low (debt high) gives HF < 1; at that step it is
  liquidated repeatedly at those prices while HF stays below 1 (close factor, bonus,
  seizure capped at the collateral held). It keeps what is left and may be liquidated
  again at a later step;
* values are taken at each step's close; a liquidated perp or cross account is worth 0 from
  its liquidation step on, except an isolated perp on a venue that returns the remaining
  margin (Hyperliquid): it keeps its equity at the execution price -- the liquidation price
  when the step's recorded range reaches it, else the step's own price (an instant shock, a
  closes-only history) -- unless that equity is below the backstop fraction (2/3) of the
  maintenance margin there, when the backstop takes it all;
* a cross account's adjusted equity is its wallet, its collateral legs at the step's lows
  times their collateral ratio (a piecewise-linear curve of the price for tiered ratios) and
  its perps' unrealised P&L; its value counts the collateral at market (close);
* with elapsed ``hours`` (replays, Monte Carlo; none for an instant shock), costs accrue step
  by step: perps pay ``funding_rate`` per interval (rate per hour x hours x notional at the
  step's close, in USD for linear perps and in the coin for coin-margined ones; positive:
  longs pay), drained from the margin through the step before its test (an isolated perp's
  liquidation level is then per step); loans grow debt by ``(1 + borrow_apy) ** years`` and
  collateral by ``(1 + supply_apy) ** years``, per leg.

There is no Python loop over paths or steps. Loops run over tiers, cross-margin groups,
positions that pay funding, position chunks (bounded memory) and loan liquidation events
(a handful).

Price cubes may be float32 (the Monte Carlo's): every comparison then runs on exactly those
numbers against float64 levels (numpy promotes to float64), every sum that feeds a decision
is taken in float64, and values are summed in float64; a float32 cube gives the decisions
of the float64 cube holding the same numbers (tested).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import liquidation as lq
from .book import Book, cross_member_value

_CHUNK_ELEMENTS = 1 << 21
_DETAIL_ELEMENTS = 1 << 22
_ISO_LOOP_MAX = 64          # isolated perps valued one by one up to this many
_LOAN_LOOP_MAX = 16         # loans searched one by one up to this many
_ROWS_MAX_PATHS = 8         # up to this many paths, loans are searched again on (asset, path) rows
MAX_LOAN_EVENTS = 64
MAX_LIQUIDATION_ROUNDS = 100


@dataclass
class PricePaths:
    """Prices per path and step. Arrays of shape (n_paths, n_steps + 1, n_assets), USD.

    ``close[:, 0, :]`` must equal today's prices. ``low``/``high`` default to ``close``.
    """

    close: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def __post_init__(self):
        self.close = np.asarray(self.close, dtype=float)
        if self.close.ndim != 3:
            raise ValueError("close must have shape (n_paths, n_steps + 1, n_assets)")
        self.low = self.close if self.low is None else np.minimum(np.asarray(self.low, float), self.close)
        self.high = self.close if self.high is None else np.maximum(np.asarray(self.high, float), self.close)

    @property
    def shape(self):
        return self.close.shape

    @classmethod
    def prepared(cls, close: np.ndarray, low: np.ndarray, high: np.ndarray) -> "PricePaths":
        """Wrap float64 arrays already known to satisfy ``low <= close <= high``, with no
        checks and no copies (the Monte Carlo builds millions of them)."""
        obj = cls.__new__(cls)
        obj.close, obj.low, obj.high = close, low, high
        return obj


@dataclass
class BookOutcome:
    """Results of :func:`run_book`.

    Attributes
    ----------
    liq_step : ndarray of int64, shape (n_paths, n_positions)
        First liquidation step per position, -1 when never liquidated.
    value : ndarray, shape (n_paths, n_steps + 1)
        Portfolio value at each step's close (cross accounts counted once, wallet included).
    position_end : ndarray, shape (n_paths, n_positions)
        Value of each position at the last close (cross perps: their unrealised P&L).
    position_start : ndarray, shape (n_positions,)
        Value of each position today.
    account_value : ndarray, shape (n_paths, n_steps + 1, n_accounts), or None
        Wallet plus unrealised P&L of each cross account at close, 0 once liquidated
        (None with ``series=False``).
    account_margin_ratio : ndarray, shape (n_paths, n_steps + 1, n_accounts), or None
        Maintenance margin / equity at the worst prices of each step (>= 1 liquidates;
        None with ``series=False``).
    loan_health, loan_value : ndarray, shape (n_paths, n_steps + 1, n_loans), or None
        Health factor at the worst prices of each step (with the quantities held entering
        it) and loan value at each close. Computed for small books or with
        ``track_positions``; None otherwise (they cost n_paths * n_steps * n_loans).
    position_values : ndarray, shape (n_paths, n_steps + 1, n_positions), optional
        Per-position values at every close (only with ``track_positions=True``).
    cost_end : ndarray, shape (n_paths, n_positions)
        Funding (perps) and interest (loans) each position has gained by the last close, USD
        (negative: paid); a liquidated perp's up to its liquidation step. Part of
        ``position_end``.
    collateral_start, collateral_end : ndarray, shapes (n_collateral,), (n_paths, n_collateral)
        Market value of each cross account's collateral leg today and at the last close
        (0 once its account is liquidated).
    """

    liq_step: np.ndarray
    value: np.ndarray
    position_end: np.ndarray
    position_start: np.ndarray
    account_value: np.ndarray | None
    account_margin_ratio: np.ndarray | None
    loan_health: np.ndarray | None
    loan_value: np.ndarray | None
    position_values: np.ndarray | None = None
    cost_end: np.ndarray | None = None
    collateral_start: np.ndarray | None = None
    collateral_end: np.ndarray | None = None


# --------------------------------------------------------------------------- helpers
def kernel_layout(x: np.ndarray) -> np.ndarray:
    """A price cube ``(n_paths, n_steps + 1, n_assets)`` in the kernel's layout
    ``(n_steps + 1, n_assets, n_paths)``, C-contiguous: every asset's ``(steps, paths)`` plane
    is a view whose rows run over paths. No copy when ``x`` is such a view already (the
    Monte Carlo builds its prices that way)."""
    y = x.transpose(1, 2, 0)
    return y if y.flags.c_contiguous else np.ascontiguousarray(y)


def _first_index(mask: np.ndarray) -> np.ndarray:
    """First index along axis 0 where ``mask`` holds, -1 where never. (T, ...) -> (...).

    ``argmax`` along a leading axis copies and transposes; this weighs each step by
    ``T - t`` in the narrowest unsigned type and takes the maximum instead."""
    n = mask.shape[0]
    dt = np.uint8 if n < 256 else np.uint16 if n < 65536 else np.uint32
    w = np.arange(n, 0, -1, dtype=dt).reshape((n,) + (1,) * (mask.ndim - 1))
    best = (mask.view(np.uint8) * w).max(axis=0)
    out = np.full(best.shape, -1, dtype=np.int64)
    hit = best > 0
    out[hit] = n - best[hit].astype(np.int64)
    return out


def _cumsum_steps(x: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 0, in place (row by row when rows are wide: numpy's own
    accumulate along a leading axis runs element by element)."""
    if x[0].size >= 256:
        for t in range(1, x.shape[0]):
            np.add(x[t - 1], x[t], out=x[t])
    else:
        np.cumsum(x, axis=0, out=x)
    return x


def _dead_from(steps: np.ndarray, n_t: int) -> np.ndarray:
    """(n_t, P) mask of the steps at or after ``steps`` (P,) (-1: never)."""
    k = np.where(steps >= 0, steps, n_t)
    return np.arange(n_t)[:, None] >= k[None, :]


def _first_crossings(X: np.ndarray, asset: np.ndarray, level: np.ndarray, below: bool) -> np.ndarray:
    """First step whose price of ``asset[i]`` is at or below (``below``) / at or above
    ``level[i]``. ``X`` (T, A, P) lows or highs; returns (P, n), -1 where never (NaN levels
    never cross)."""
    n_t, _, n_paths = X.shape
    out = np.full((n_paths, len(level)), -1, dtype=np.int64)
    if len(level) <= _ISO_LOOP_MAX or n_paths >= 64:
        for i in range(len(level)):
            x = X[:, asset[i], :]
            out[:, i] = _first_index(x <= level[i] if below else x >= level[i])
        return out
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n_t * n_paths))
    for lo in range(0, len(level), chunk):
        sl = slice(lo, lo + chunk)
        vals = X[:, asset[sl], :]                                   # (T, n, P)
        lev = level[sl][None, :, None]
        out[:, sl] = _first_index(vals <= lev if below else vals >= lev).T
    return out


class _RowsCache:
    """A price cube laid out (assets, paths, steps) -- each (asset, path) one contiguous row,
    for few-path runs over long histories -- built once per cube on first use."""

    def __init__(self):
        self._rows: dict[int, np.ndarray] = {}

    def __call__(self, X: np.ndarray) -> np.ndarray:
        key = id(X)
        if key not in self._rows:
            self._rows[key] = np.ascontiguousarray(X.transpose(1, 2, 0))
        return self._rows[key]


def _liquidate_loans(qc, qd, pc, pd, lt, bonus, cf, full, small):
    """Liquidate loans (rows) repeatedly at fixed prices while HF < 1. Arrays (N, A), in place.

    Each round repays the close factor of the debt (100% at HF <= ``full`` or when the
    collateral or debt is worth less than ``small``), pro rata over debt assets, and seizes
    collateral worth repaid*(1 + bonus) pro rata to collateral value, capped at what is held;
    when the collateral is gone the remaining debt is burned (bad debt).
    """
    # rows that may still be below HF 1 (a row at or above 1 stays so: prices are fixed),
    # with their parameters, compressed as rows drop out
    rows = np.arange(len(qc))
    c_q, d_q, p_c, p_d = qc, qd, pc, pd
    lt_r, bonus_r, cf_r, full_r, small_r = lt, bonus, cf, full, small
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(MAX_LIQUIDATION_ROUNDS):
            cv = c_q * p_c
            c_tot = cv.sum(axis=1)
            d_tot = (d_q * p_d).sum(axis=1)
            hf = (cv * lt_r).sum(axis=1) / d_tot
            act = (hf < 1.0) & (d_tot > 0) & (c_tot > 0)
            if not act.all():
                rows, c_q, d_q, p_c, p_d, cv = rows[act], c_q[act], d_q[act], p_c[act], p_d[act], cv[act]
                lt_r, bonus_r, cf_r, full_r, small_r = (lt_r[act], bonus_r[act], cf_r[act],
                                                        full_r[act], small_r[act])
                c_tot, d_tot, hf = c_tot[act], d_tot[act], hf[act]
            if not len(rows):
                break
            f = np.where((hf <= full_r) | (d_tot < small_r) | (c_tot < small_r), 1.0, cf_r)
            repay = f * d_tot
            seize = cv / c_tot[:, None]
            seize *= repay[:, None]
            seize *= 1.0 + bonus_r
            s_tot = seize.sum(axis=1)
            over = s_tot > c_tot
            if over.any():                     # capped at the collateral held
                repay = repay * np.where(over, c_tot / s_tot, 1.0)
                seize[over] = cv[over]
            seized_qty = np.divide(seize, p_c, out=np.zeros_like(seize), where=p_c > 0)
            new_qc = np.maximum(c_q - seized_qty, 0.0)
            new_qc[over] = 0.0
            keep = np.maximum(1.0 - repay / d_tot, 0.0)
            new_qd = d_q * keep[:, None]
            new_qd[(new_qc * p_c).sum(axis=1) <= 0] = 0.0         # collateral gone: bad debt
            qc[rows] = new_qc
            qd[rows] = new_qd
            c_q, d_q = new_qc, new_qd
    return qc, qd


# --------------------------------------------------------------------------- loan interest
@dataclass
class _Growth:
    """Interest on loan legs as growth factors: a leg's quantity at step t is its principal
    (the kernel's quantity) times ``G[class, t] = (1 + apy) ** years``. ``cls_c`` / ``cls_d``
    (n_loans, A): the class of each collateral / debt leg; class 0 is no interest."""

    G: np.ndarray                         # (n_classes, T)
    cls_c: np.ndarray                     # (n_loans, A) int
    cls_d: np.ndarray
    asset_of: np.ndarray | None = None    # per (asset, class) column of the value sums

    @classmethod
    def of(cls, book: Book, years) -> "_Growth | None":
        if years is None or not book.has_interest:
            return None
        rates, cls_s = np.unique(np.r_[0.0, book.loan_supply_apy.ravel(),
                                       book.loan_borrow_apy.ravel()], return_inverse=True)
        n = book.loan_supply_apy.size
        shape = book.loan_supply_apy.shape
        G = np.power(1.0 + rates[:, None], np.asarray(years)[None, :])
        return cls(G, cls_s[1:1 + n].reshape(shape), cls_s[1 + n:].reshape(shape))

    @property
    def n_classes(self) -> int:
        return len(self.G)

    def coll(self, loans, assets, t=None):
        """Growth of collateral legs (loans[i], assets[i]): (n, T) or at steps ``t`` (n,)."""
        k = self.cls_c[loans, assets]
        return self.G[k] if t is None else self.G[k, t]

    def debt(self, loans, assets, t=None):
        k = self.cls_d[loans, assets]
        return self.G[k] if t is None else self.G[k, t]


# --------------------------------------------------------------------------- kernel
@dataclass
class _Run:
    """What the parts of :func:`run_book` share: the cubes in kernel layout and the results
    they fill in."""

    C: np.ndarray                         # (T, A, P) closes
    L: np.ndarray                         # lows (step 0: today's close)
    H: np.ndarray                         # highs
    close: np.ndarray                     # (P, T, A) as given, for per-position series
    liq: np.ndarray                       # (P, n) first liquidation step, -1 never
    end: np.ndarray                       # (P, n) value at the last close
    start: np.ndarray                     # (n,) value today
    pv: np.ndarray | None                 # (P, T, n) per-position values, or None
    lin: np.ndarray                       # (A,) quantity held per asset while alive
    const: float = 0.0                    # value held that does not move with prices
    rows: "_RowsCache" = None
    dt: np.ndarray | None = None          # (T,) hours elapsed in each step (step 0: 0), or None
    years: np.ndarray | None = None       # (T,) years since today
    cost: np.ndarray | None = None        # (P, n) funding / interest gained at the end
    acc_liq: np.ndarray | None = None     # (n_acc, P) accounts' liquidation steps

    @property
    def n_t(self) -> int:
        return self.C.shape[0]

    @property
    def today(self) -> np.ndarray:
        return self.C[0, :, 0]

    @property
    def last(self) -> np.ndarray:
        return self.C[-1].T                                     # (P, A) view

    def alive(self, steps: np.ndarray) -> np.ndarray:
        """(P, T, k) True where a position liquidated at ``steps`` (P, k) is still held."""
        t_idx = np.arange(self.n_t)[None, :, None]
        return (steps[:, None, :] < 0) | (t_idx < steps[:, None, :])


def run_book(book: Book, paths: PricePaths, *, hours=None, track_positions: bool = False,
             series: bool | None = None) -> BookOutcome:
    """Liquidate and value every position of ``book`` along every path.

    Parameters
    ----------
    book : Book
    paths : PricePaths with arrays of shape (n_paths, n_steps + 1, n_assets) in the
        book's asset order.
    hours : sequence of n_steps + 1 hours elapsed since today (0 first, non-decreasing), or
        None: no time passes (an instant shock) and no funding or interest accrues.
    track_positions : also return per-position values at every step (memory
        n_paths * (n_steps + 1) * n_positions).
    series : False skips the per-loan health/value series and the accounts' value and
        margin-ratio series (``loan_health``, ``loan_value``, ``account_value`` and
        ``account_margin_ratio`` are None; liquidations and values are unchanged). None
        (default) computes the loan series for small runs and the account series always,
        True always.

    Internally every price cube is laid out ``(steps, assets, paths)`` (see
    :func:`kernel_layout`): each asset's plane is a view, and every operation runs along
    paths. Every sum that feeds a liquidation test (a loan's legs, a cross account's
    equity and maintenance margin) is taken one term at a time in a fixed order, so a path's
    liquidations do not depend on which other paths share the call; its values agree to
    about 1e-12 relative (some value sums take a different branch for a bigger batch).

    The parts run in order: spot (:func:`_spot`), isolated perps (:func:`_isolated`), the
    loans' liquidation events (:func:`_loan_events`), the value of everything held today at
    every close less dead isolated perps, cross accounts (:func:`_cross`), loan results
    (:func:`_loans`).
    """
    r = _prepare(book, paths, track_positions, hours)
    n_paths, n_t = r.liq.shape[0], r.n_t
    _spot(book, r)
    dead_iso = _isolated(book, r)
    n_loans = len(book.loan_pos)
    loan_events = None
    growth = _Growth.of(book, r.years)
    if n_loans:
        r.lin += (book.loan_coll - book.loan_debt).sum(axis=0)
        loan_events = _loan_events(book, r.L, r.H, r.rows, growth)
    for g in book.cross_groups:
        r.lin[g.asset] += g.slope                 # cross accounts: wallet + uPnL while alive
        r.const += g.const
    if book.n_collateral:                         # and their collateral at market
        r.lin += np.bincount(book.coll_asset, weights=book.coll_qty, minlength=len(r.lin))
    r.const += float(book.account_wallet.sum()) if book.n_accounts else 0.0
    # value of everything held today at every close (a value, never compared: BLAS is fine)
    val = np.zeros((n_t, n_paths))                # portfolio value, (T, P)
    if r.C.dtype == np.float64:
        np.matmul(r.lin, r.C, out=val)
    else:                                         # float32 cubes: summed in float64, no cast copy
        np.einsum("a,tap->tp", r.lin, r.C, out=val)
    if r.const:
        val += r.const
    if dead_iso is not None:
        _remove_dead_iso(val, r.C, book.iso_asset, *dead_iso[:3])
        _iso_costs_and_residuals(book, r, val, *dead_iso)
    account_value, margin_ratio = _cross(book, r, val, series is not False)
    detail = track_positions or (n_paths * n_t * n_loans <= _DETAIL_ELEMENTS if series is None
                                 else bool(series))
    loan_health, loan_value = _loans(book, r, val, loan_events, detail, growth)
    coll_start = book.collateral_value(r.today) if book.n_collateral else np.zeros(0)
    if n_paths:
        _start_after_step0(book, r, loan_events, dead_iso, coll_start)
    t3 = lambda x: None if x is None else x.transpose(2, 1, 0)             # noqa: E731
    coll_end = np.zeros((n_paths, book.n_collateral))
    if book.n_collateral:
        alive = (r.acc_liq < 0).T[:, book.coll_account] if r.acc_liq is not None else True
        coll_end = np.where(alive, r.last[:, book.coll_asset] * book.coll_qty, 0.0)
    return BookOutcome(liq_step=r.liq, value=np.ascontiguousarray(val.T), position_end=r.end,
                       position_start=r.start, account_value=t3(account_value),
                       account_margin_ratio=t3(margin_ratio),
                       loan_health=loan_health, loan_value=loan_value, position_values=r.pv,
                       cost_end=r.cost, collateral_start=coll_start, collateral_end=coll_end)


def _start_after_step0(book: Book, r: _Run, loan_events, dead_iso, coll_start) -> None:
    """Values today as the portfolio counts them at step 0 (today's close): a position already
    past its liquidation today is liquidated there (the same on every path), so its value
    today is what is left after that liquidation -- 0, the margin a venue returns, a loan
    after its step-0 seizures -- and the collateral of an account liquidated today is 0. The
    positions' values today then add up to the portfolio's value today."""
    dead0 = r.liq[0] == 0
    if not dead0.any():
        return
    if dead_iso is not None:
        residual = dead_iso[4]
        for k in np.flatnonzero(dead0[book.iso_pos]):
            r.start[book.iso_pos[k]] = residual[0, k]
    if len(book.cross_pos):
        r.start[book.cross_pos[dead0[book.cross_pos]]] = 0.0
    if r.acc_liq is not None and book.n_collateral:
        coll_start[r.acc_liq[book.coll_account, 0] == 0] = 0.0
    if loan_events is not None:
        for p_i, l_i, t_i, *_rest in loan_events[3]:
            at0 = (p_i == 0) & (t_i == 0)
            if at0.any():
                dn = _rest[2][at0]
                r.start[book.loan_pos[l_i[at0]]] += dn @ r.today


def _elapsed(hours, n_t: int):
    """(hours per step (T,), years since today (T,)) from elapsed hours, or (None, None)."""
    if hours is None:
        return None, None
    h = np.asarray(hours, dtype=float)
    if h.shape != (n_t,):
        raise ValueError(f"hours must have one entry per step ({n_t}), got shape {h.shape}")
    if not np.isfinite(h).all() or np.any(np.diff(h) < 0):
        raise ValueError("hours must be finite and non-decreasing")
    h = h - h[0]
    if not h[-1] > 0:
        return None, None
    return np.r_[0.0, np.diff(h)], h / (365.0 * 24.0)


def _prepare(book: Book, paths: PricePaths, track_positions: bool, hours=None) -> _Run:
    """The cubes in kernel layout (step 0 of lows and highs is today's close) and empty
    results."""
    close, low, high = paths.close, paths.low, paths.high
    n_paths, n_t, n_assets = close.shape
    if n_assets != len(book.assets):
        raise ValueError(f"price paths have {n_assets} assets, the book has {len(book.assets)}")
    C = kernel_layout(close)
    L = C if low is close else kernel_layout(low)
    H = C if high is close else kernel_layout(high)
    # step 0 is today: its close only (no copy when the paths already say so)
    if L is not C and not np.array_equal(L[0], C[0]):
        L = L.copy()
        L[0] = C[0]
    if H is not C and not np.array_equal(H[0], C[0]):
        H = H.copy()
        H[0] = C[0]
    n_pos = book.n_positions
    dt, years = _elapsed(hours, n_t)
    return _Run(C=C, L=L, H=H, close=close,
                liq=np.full((n_paths, n_pos), -1, dtype=np.int64),
                end=np.zeros((n_paths, n_pos)), start=np.zeros(n_pos),
                pv=np.zeros((n_paths, n_t, n_pos)) if track_positions else None,
                lin=np.zeros(n_assets), rows=_RowsCache(), dt=dt, years=years,
                cost=np.zeros((n_paths, n_pos)))


def _spot(book: Book, r: _Run) -> None:
    """Spot holdings: never liquidated, worth quantity x close."""
    if not len(book.spot_pos):
        return
    r.lin += np.bincount(book.spot_asset, weights=book.spot_qty, minlength=len(r.lin))
    r.end[:, book.spot_pos] = r.last[:, book.spot_asset] * book.spot_qty
    r.start[book.spot_pos] = r.today[book.spot_asset] * book.spot_qty
    if r.pv is not None:
        r.pv[:, :, book.spot_pos] = r.close[:, :, book.spot_asset] * book.spot_qty


def _funding_path(r: _Run, asset: int, weight: float, inverse: bool) -> np.ndarray:
    """Funding paid through each step, (T, P): ``weight`` (= side x rate per hour x unit)
    x hours of each step x the notional at its close, summed over steps; in USD (linear:
    unit Q, notional Q*P) or in the coin (inverse: unit U USD, notional U/P)."""
    x = r.C[:, asset, :]
    weight = np.float64(weight)                 # a float32 cube's products stay float64
    inc = np.divide(weight, x) if inverse else np.multiply(x, weight)
    inc *= r.dt[:, None]
    return _cumsum_steps(inc)


def _isolated(book: Book, r: _Run):
    """Isolated perps: worth ``c + d * close`` (less the funding paid) until the first crossing
    of the liquidation level (lows for longs, highs for shorts), 0 after -- or, on a venue
    that returns the remaining margin, the equity at the execution price. The level is the
    liquidation price, or per step for a perp paying funding (its margin shrinks). Returns
    ``(steps, c, d, funding, residual)`` for :func:`_remove_dead_iso` and
    :func:`_iso_costs_and_residuals` (``funding``: the funding of every perp while held,
    summed, (T, P) USD, or None), or None without isolated perps."""
    if not len(book.iso_pos):
        return None
    n_paths, n_t = r.liq.shape[0], r.n_t
    lp, a_iso = book.iso_lp, book.iso_asset
    longs = book.iso_sign > 0
    funded_mask = (book.iso_funding != 0) if r.dt is not None else np.zeros(len(lp), bool)
    steps = np.full((n_paths, len(lp)), -1, dtype=np.int64)
    static_long = longs & ~funded_mask
    static_short = ~longs & ~funded_mask
    if static_long.any():
        steps[:, static_long] = _first_crossings(r.L, a_iso[static_long], lp[static_long], below=True)
    if static_short.any():
        steps[:, static_short] = _first_crossings(r.H, a_iso[static_short], lp[static_short], below=False)
    c, d = book.iso_c, book.iso_d
    residual = np.zeros(steps.shape)
    held_funding = None                        # (T, P) USD, every funded perp while held
    hit_at = {}                                # i -> (paid, level) at its liquidation step
    funded = np.flatnonzero(funded_mask)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n_t * n_paths))
    for lo in range(0, len(funded), chunk):
        f = _funded_chunk(book, r, funded[lo:lo + chunk], steps, hit_at)
        held_funding = f if held_funding is None else held_funding + f
    r.liq[:, book.iso_pos] = steps
    r.lin += np.bincount(a_iso, weights=d, minlength=len(r.lin))
    r.const += float(c.sum())
    _iso_residuals(book, r, steps, hit_at, residual)
    alive_end = steps < 0
    r.end[:, book.iso_pos] = np.where(alive_end, c + d * r.last[:, a_iso] + r.cost[:, book.iso_pos],
                                      residual)
    r.start[book.iso_pos] = c + d * r.today[a_iso]
    if r.pv is not None:
        r.pv[:, :, book.iso_pos] += np.where(r.alive(steps), c + d * r.close[:, :, a_iso],
                                             residual[:, None, :])
    return steps, c, d, held_funding, residual


def _funded_chunk(book: Book, r: _Run, idx: np.ndarray, steps: np.ndarray, hit_at: dict
                  ) -> np.ndarray:
    """Isolated perps ``idx`` that pay funding, together: funding paid through each step
    (rate x hours x notional at the close, cumulated: (T, m, P), USD or coin), the
    liquidation level at each step's margin, the first crossing into ``steps``, costs into
    ``r.cost`` (and ``r.pv``), a perp's (funding, level) at its liquidation into ``hit_at``.
    Returns their funding while held, summed, (T, P) USD."""
    n_t, n_paths = r.n_t, r.liq.shape[0]
    a = book.iso_asset[idx]
    sign = book.iso_sign[idx]
    inv = book.iso_inverse[idx]
    unit = book.iso_unit[idx]
    x_close = r.C[:, a, :]                                               # (T, m, P)
    w = (sign * book.iso_funding[idx] * unit)[None, :, None]
    paid = x_close * w
    if inv.any():                                                        # coin: w / price
        paid[:, inv, :] = w[:, inv, :] / x_close[:, inv, :]
    paid *= r.dt[:, None, None]
    np.cumsum(paid, axis=0, out=paid)
    margin = book.iso_margin[idx][None, :, None] - paid
    mmr, cum = _level_lines(book, idx, margin)                           # (m, K) each
    level = lq.liquidation_level(sign[None, :, None], unit[None, :, None],
                                 book.iso_entry[idx][None, :, None], margin,
                                 mmr.T[:, None, :, None], cum.T[:, None, :, None],
                                 inverse=inv[None, :, None])
    x = r.L[:, a, :]
    shorts = sign < 0
    if shorts.any():
        x[:, shorts, :] = r.H[:, a[shorts], :]
    x -= level
    x *= sign[None, :, None]                # <= 0: at or beyond the level (NaN: never)
    k_first = _first_index(x <= 0)                                       # (m, P)
    steps[:, idx] = k_first.T
    usd = paid
    if inv.any():
        usd[:, inv, :] *= x_close[:, inv, :]
    last = np.where(k_first >= 0, k_first, n_t - 1)                     # (m, P)
    cols = np.arange(len(idx))[:, None]
    r.cost[:, book.iso_pos[idx]] = -usd[last, cols, np.arange(n_paths)[None, :]].T
    for j in np.flatnonzero(book.iso_returns[idx]):
        hit = np.flatnonzero(k_first[j] >= 0)
        kt = k_first[j, hit]
        hit_at[int(idx[j])] = (paid[kt, j, hit], level[kt, j, hit])
    usd *= np.arange(n_t)[:, None, None] < np.where(k_first >= 0, k_first, n_t)[None]   # while held
    if r.pv is not None:
        r.pv[:, :, book.iso_pos[idx]] = -usd.transpose(2, 0, 1)         # held value added later
    return usd.sum(axis=1)


def _level_lines(book: Book, idx: np.ndarray, margin: np.ndarray):
    """Each perp's MM lines that can hold its liquidation level over the margins of
    ``margin`` (T, m, P), at one width (repeating a line changes no max or min): the tiers
    whose notional range meets the notional at the levels of the smallest and the largest
    margin (the level is monotone in the margin); all lines when those are not finite.
    Returns (mmr, cum), each (m, K)."""
    floors = book.iso_line_floors[idx]
    mmr_all, cum_all = book.iso_line_mmr[idx], book.iso_line_cum[idx]
    if floors.shape[1] == 1:
        return mmr_all, cum_all
    unit, inv = book.iso_unit[idx], book.iso_inverse[idx]
    ends = lq.liquidation_level(book.iso_sign[idx], unit, book.iso_entry[idx],
                                np.stack([margin.min(axis=(0, 2)), margin.max(axis=(0, 2))]),
                                mmr_all.T[:, None, :], cum_all.T[:, None, :], inverse=inv)
    with np.errstate(divide="ignore", invalid="ignore"):
        notional = np.where(inv, unit / ends, unit * ends)                # (2, m)
    tier = (floors[None, :, :] <= notional[:, :, None]).sum(axis=2) - 1  # (2, m)
    n_lines = np.isfinite(floors).sum(axis=1)
    ok = np.isfinite(ends).all(axis=0) & (ends > 0).all(axis=0)
    k_lo = np.where(ok, np.maximum(tier.min(axis=0), 0), 0)
    k_hi = np.where(ok, np.maximum(tier.max(axis=0), 0), n_lines - 1)
    width = int((k_hi - k_lo).max()) + 1
    cols = np.minimum(k_lo[:, None] + np.arange(width)[None, :], k_hi[:, None])
    return (np.take_along_axis(mmr_all, cols, axis=1), np.take_along_axis(cum_all, cols, axis=1))


def _iso_residuals(book: Book, r: _Run, steps: np.ndarray, hit_at: dict, out: np.ndarray) -> None:
    """Into ``out`` (P, n_iso): the value a liquidated isolated perp keeps -- 0, or on a venue
    that returns the remaining margin (Hyperliquid) its equity at the execution price (the
    liquidation level clipped into the step's recorded range [low, high]) when that equity
    is at least the backstop fraction of the maintenance margin there (else the backstop
    takes it all). ``hit_at``: a funded perp's (funding paid, level) at its liquidation."""
    for i in np.flatnonzero(book.iso_returns):
        k = steps[:, i]
        hit = np.flatnonzero(k >= 0)
        if not len(hit):
            continue
        s, a, unit = int(book.iso_sign[i]), int(book.iso_asset[i]), float(book.iso_unit[i])
        kt = k[hit]
        paid, level = hit_at.get(int(i), (0.0, book.iso_lp[i]))
        x = np.clip(level, r.L[kt, a, hit], r.H[kt, a, hit])
        equity = book.iso_margin[i] - paid + s * unit * (x - book.iso_entry[i])
        _floors, mmr, cum = book.iso_lines[i]
        mm = lq.maintenance_at(unit, x, mmr, cum)
        out[hit, i] = np.where((equity > 0) & (equity >= book.iso_backstop[i] * mm), equity, 0.0)


def _iso_costs_and_residuals(book: Book, r: _Run, val, steps, c, d, held_funding, residual) -> None:
    """Funding of isolated perps out of ``val`` (T, P) while held, and what a liquidated perp
    keeps (``residual``) added back from its liquidation step on."""
    if held_funding is not None:
        val -= held_funding
    for i in np.flatnonzero(residual.any(axis=0)):
        val += np.where(_dead_from(steps[:, i], r.n_t), residual[:, i][None, :], 0.0)


def _cross_funding(book: Book, r: _Run) -> dict:
    """Funding paid by each cross perp that pays it, through each step: position index ->
    (T, P) in margin units (USD linear, coin inverse). Empty without elapsed time."""
    if r.dt is None or not len(book.cross_pos):
        return {}
    out = {}
    for i in np.flatnonzero(book.cross_funding != 0):
        out[int(i)] = _funding_path(r, int(book.cross_asset[i]),
                                    float(book.cross_sign[i] * book.cross_funding[i] * book.cross_unit[i]),
                                    bool(book.cross_inverse[i]))
    return out


def _cross(book: Book, r: _Run, val: np.ndarray, want_series: bool):
    """Cross accounts: liquidation steps (their positions share them), funding and dead
    accounts taken out of ``val``, positions' values (their uPnL less funding). Returns the
    accounts' value and margin ratio series (n_acc, T, P), or Nones without ``want_series``."""
    n_t, n_paths = r.n_t, r.liq.shape[0]
    if not book.n_accounts:
        if want_series:
            return np.zeros((0, n_t, n_paths)), np.zeros((0, n_t, n_paths))
        return None, None
    paid = _cross_funding(book, r)
    paid_usd = {i: (f * r.C[:, book.cross_asset[i], :] if book.cross_inverse[i] else f)
                for i, f in paid.items()}
    acc_liq, account_value, margin_ratio = _cross_accounts(book, r.C, r.L, r.H, want_series, paid,
                                                           paid_usd)
    r.acc_liq = acc_liq
    for f in paid_usd.values():
        val -= f
    _remove_dead_accounts(val, r.C, book, acc_liq, paid_usd)
    if len(book.cross_pos):
        acc_of = book.cross_account
        r.liq[:, book.cross_pos] = acc_liq[acc_of].T
        slope = np.array([cross_member_value(book, i)[0] for i in range(len(book.cross_pos))])
        const = np.array([cross_member_value(book, i)[1] for i in range(len(book.cross_pos))])
        upnl_end = slope * r.last[:, book.cross_asset] + const
        alive_end = (acc_liq < 0).T                                         # (P, n_acc)
        r.end[:, book.cross_pos] = np.where(alive_end[:, acc_of], upnl_end, 0.0)
        r.start[book.cross_pos] = slope * r.today[book.cross_asset] + const
        for i, f in paid_usd.items():
            k = acc_liq[acc_of[i]]
            last = np.where(k >= 0, k, n_t - 1)
            r.cost[:, book.cross_pos[i]] = -f[last, np.arange(n_paths)]
            r.end[:, book.cross_pos[i]] -= np.where(k < 0, f[-1], 0.0)
        if r.pv is not None:
            upnl_p = slope * r.close[:, :, book.cross_asset] + const
            for i, f in paid_usd.items():
                upnl_p[:, :, i] -= f.T
            r.pv[:, :, book.cross_pos] = np.where(r.alive(acc_liq.T[:, acc_of]), upnl_p, 0.0)
    return account_value, margin_ratio


def _loans(book: Book, r: _Run, val: np.ndarray, loan_events, detail: bool,
           growth: "_Growth | None" = None):
    """Loans: first liquidation steps, the events' value changes and the interest added to
    ``val``, values (and interest gained) at the end; with ``detail`` the health and value
    series (P, T, n_loans), else Nones."""
    n_paths, n_t = r.liq.shape[0], r.n_t
    n_loans = len(book.loan_pos)
    loan_health = np.zeros((n_paths, n_t, n_loans)) if detail else None
    loan_value = np.zeros((n_paths, n_t, n_loans)) if detail else None
    if not n_loans:
        return loan_health, loan_value
    C, L, H = r.C, r.L, r.H
    first, qc, qd, events = loan_events
    r.liq[:, book.loan_pos] = first
    if growth is not None:
        _add_loan_interest(val, C, book, growth)
    if events:
        _add_loan_events(val, C, events, growth)
    if growth is None:
        r.end[:, book.loan_pos] = np.einsum("pla,pa->pl", qc - qd, r.last)
    else:
        l_all, a_all = np.indices(book.loan_coll.shape)
        gc = growth.coll(l_all, a_all, -1)                            # (n_loans, A)
        gd = growth.debt(l_all, a_all, -1)
        r.end[:, book.loan_pos] = np.einsum("pla,pa->pl", qc * gc - qd * gd, r.last)
        r.cost[:, book.loan_pos] = np.einsum("pla,pa->pl", qc * (gc - 1.0) - qd * (gd - 1.0), r.last)
    r.start[book.loan_pos] = (book.loan_coll - book.loan_debt) @ r.today
    if not detail:
        return loan_health, loan_value
    lt_all = book.loan_lt
    low_w = L.transpose(2, 0, 1)                  # (P, T, A) views
    high_w = H.transpose(2, 0, 1)
    if growth is None:
        loan_value[...] = r.close @ (book.loan_coll - book.loan_debt).T
        with np.errstate(divide="ignore", invalid="ignore"):
            den0 = high_w @ book.loan_debt.T
            loan_health[...] = np.where(den0 > 0, (low_w @ (book.loan_coll * lt_all).T) / den0, np.inf)
    else:
        l_all, a_all = np.indices(book.loan_coll.shape)
        gc = growth.coll(l_all, a_all).transpose(2, 0, 1)            # (T, n_loans, A)
        gd = growth.debt(l_all, a_all).transpose(2, 0, 1)
        loan_value[...] = np.einsum("pta,tla->ptl", r.close, book.loan_coll * gc - book.loan_debt * gd)
        with np.errstate(divide="ignore", invalid="ignore"):
            den0 = np.einsum("pta,tla->ptl", high_w, book.loan_debt * gd)
            num0 = np.einsum("pta,tla->ptl", low_w, book.loan_coll * lt_all * gc)
            loan_health[...] = np.where(den0 > 0, num0 / den0, np.inf)
    t_row = np.arange(n_t)[None, :]
    # after each event, the loan's value and health with its new quantities, leg by
    # leg (only the assets each loan holds or owes)
    if events and n_paths <= _ROWS_MAX_PATHS:      # few paths: (asset, path) rows
        rows = [r.rows(X) for X in (C, L, H)]
        take = lambda X, a, p: X[a, p]                               # noqa: E731
    else:
        rows = [C, L, H]
        take = lambda X, a, p: X[:, a, p].T                          # noqa: E731
    legs = [(_rank_table(ls, a_s, n_loans), True) for ls, a_s in _legs_by_rank(book.loan_coll)]
    legs += [(_rank_table(ls, a_s, n_loans), False) for ls, a_s in _legs_by_rank(book.loan_debt)]
    for p_i, l_i, t_i, qca, qda, *_ in events:
        vals = np.zeros((len(p_i), n_t))
        num = np.zeros((len(p_i), n_t))
        den = np.zeros((len(p_i), n_t))
        k_all = np.arange(len(p_i))
        for table, is_coll in legs:
            a_all = table[l_i]
            k = k_all[a_all >= 0]
            if not len(k):
                continue
            a = a_all[k]
            if is_coll:
                q = qca[k, a][:, None]
                if growth is not None:
                    q = q * growth.coll(l_i[k], a)
                vals[k] += take(rows[0], a, p_i[k]) * q
                num[k] += take(rows[1], a, p_i[k]) * (q * lt_all[l_i[k], a][:, None])
            else:
                q = qda[k, a][:, None]
                if growth is not None:
                    q = q * growth.debt(l_i[k], a)
                vals[k] -= take(rows[0], a, p_i[k]) * q
                den[k] += take(rows[2], a, p_i[k]) * q
        loan_value[p_i, :, l_i] = np.where(t_row >= t_i[:, None], vals, loan_value[p_i, :, l_i])
        with np.errstate(divide="ignore", invalid="ignore"):
            hf = np.where(den > 0, num / den, np.inf)
        loan_health[p_i, :, l_i] = np.where(t_row > t_i[:, None], hf, loan_health[p_i, :, l_i])
    if r.pv is not None:
        r.pv[:, :, book.loan_pos] = loan_value
    return loan_health, loan_value


def _add_loan_interest(val, C, book: Book, growth: "_Growth") -> None:
    """Add to ``val`` (T, P) the interest on the loans' holdings of today: per (asset,
    rate class), ``quantity * (G - 1) * price`` (collateral earns, debt owes)."""
    w = np.zeros((C.shape[1], growth.n_classes))
    np.add.at(w, (np.broadcast_to(np.arange(C.shape[1]), book.loan_coll.shape), growth.cls_c),
              book.loan_coll)
    np.add.at(w, (np.broadcast_to(np.arange(C.shape[1]), book.loan_debt.shape), growth.cls_d),
              -book.loan_debt)
    for a, k in zip(*np.nonzero(w)):
        if k == 0 and growth.G[0, -1] == 1.0:
            continue
        val += C[:, a, :] * (w[a, k] * (growth.G[k] - 1.0))[:, None]


def _cross_accounts(book: Book, C, L, H, series: bool, paid=None, paid_usd=None):
    """Liquidation step of each cross account, (n_acc, P), -1 never: the first step where
    adjusted equity <= maintenance margin, longs and collateral at their lows and shorts at
    their highs, funding paid through the step deducted. With ``series`` also the accounts'
    values (wallet + collateral at market + uPnL - funding at each close, 0 once liquidated)
    and margin ratios (MM / adjusted equity at the worst prices), (n_acc, T, P); else None.

    ``paid`` / ``paid_usd``: funding per cross position (:func:`_cross_funding`), in margin
    units / USD at each close."""
    n_t, _, n_paths = C.shape
    n_acc = book.n_accounts
    paid = paid or {}
    paid_usd = paid_usd or {}
    acc_liq = np.full((n_acc, n_paths), -1, dtype=np.int64)
    value = np.zeros((n_acc, n_t, n_paths)) if series else None
    ratio = np.zeros((n_acc, n_t, n_paths)) if series else None
    tmp = np.empty((n_t, n_paths))
    members = {}                                  # (account, asset, sign, inverse) -> funded members
    for i in paid:
        key = (int(book.cross_account[i]), int(book.cross_asset[i]), int(book.cross_sign[i]),
               bool(book.cross_inverse[i]))
        members.setdefault(key, []).append(i)
    for j, mine in enumerate(book.account_groups):
        # equity and MM at the worst prices, group by group in a fixed order; the test is
        # equity <= MM, the very numbers whose ratio is reported
        equity = np.full((n_t, n_paths), float(book.account_wallet[j]))
        mm = np.zeros((n_t, n_paths))
        if series:
            upnl = np.full((n_t, n_paths), float(book.account_wallet[j]))
        for g in mine:
            x = (L if g.sign > 0 else H)[:, g.asset, :]
            np.multiply(x, np.float64(g.slope), out=tmp)   # a float32 cube's products stay float64
            tmp += g.const
            equity += tmp
            mm += g.mm(x, out=tmp)
            for i in members.get((j, g.asset, g.sign, g.inverse), ()):
                equity -= paid[i] * x if g.inverse else paid[i]
            if series:
                np.multiply(C[:, g.asset, :], g.slope, out=tmp)
                tmp += g.const
                upnl += tmp
        for c in book.account_collateral[j]:
            a = book.coll_asset[c]
            equity += book.coll_curves[c](L[:, a, :], out=tmp)
            if series:
                upnl += C[:, a, :] * book.coll_qty[c]
        if mine:                                  # an account without perps is never liquidated
            acc_liq[j] = _first_index(equity <= mm)
        if series:
            for i in paid_usd:
                if book.cross_account[i] == j:
                    upnl -= paid_usd[i]
            value[j] = np.where(_dead_from(acc_liq[j], n_t), 0.0, upnl)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio[j] = np.where(equity > 0, mm / equity, np.inf)
    return acc_liq, value, ratio


def _remove_dead_accounts(val, C, book: Book, acc_liq, paid_usd=None):
    """Take liquidated cross accounts (wallet + collateral + uPnL - funding) out of ``val``
    (T, P) from their liquidation step on."""
    n_t, _, n_paths = C.shape
    t_col = np.arange(n_t)[:, None]
    paid_usd = paid_usd or {}
    for j, mine in enumerate(book.account_groups):
        k = acc_liq[j]
        dead = np.flatnonzero(k >= 0)
        if not len(dead):
            continue
        base = float(book.account_wallet[j]) + sum(g.const for g in mine)
        few = 2 * len(dead) < n_paths
        acc = np.full((n_t, len(dead) if few else n_paths), base)
        terms = [(g.asset, g.slope) for g in mine]
        terms += [(book.coll_asset[c], book.coll_qty[c]) for c in book.account_collateral[j]]
        for asset, slope in terms:
            x = C[:, asset, :]
            acc += (x[:, dead] if few else x) * np.float64(slope)
        for i, f in paid_usd.items():
            if book.cross_account[i] == j:
                acc -= f[:, dead] if few else f
        if few:
            acc *= t_col >= k[dead][None, :]
            val[:, dead] -= acc
        else:
            acc *= _dead_from(k, n_t)
            val -= acc


def _add_loan_events(val, C, events, growth: "_Growth | None" = None):
    """Add to ``val`` (T, P) the value change of each loan liquidation event from its step on:
    event by event when events are few against the paths, else scattered into a dense
    (step, column, path) array of net quantity changes accumulated over steps. A column is an
    asset (no interest) or an (asset, rate class) pair whose change grows by its factor."""
    n_t, n_assets, n_paths = C.shape
    p_all = np.concatenate([e[0] for e in events])
    t_all = np.concatenate([e[2] for e in events])
    if growth is None:
        dn = np.concatenate([e[5] for e in events])                          # (N, A)
        col_asset = np.arange(n_assets)
        factor = None
    else:
        l_all = np.concatenate([e[1] for e in events])
        dc = np.concatenate([e[6] for e in events])
        dd = np.concatenate([e[7] for e in events])
        ncls = growth.n_classes
        dn = np.zeros((len(p_all), n_assets * ncls))
        rows_i = np.arange(len(p_all))[:, None]
        a_idx = np.arange(n_assets)[None, :]
        np.add.at(dn, (rows_i, a_idx * ncls + growth.cls_c[l_all]), dc)
        np.add.at(dn, (rows_i, a_idx * ncls + growth.cls_d[l_all]), -dd)
        col_asset = np.repeat(np.arange(n_assets), ncls)
        factor = np.tile(np.arange(ncls), n_assets)
    la = np.flatnonzero((dn != 0).any(axis=0))
    if not len(la):
        return

    def grown(j, x):
        return x if factor is None else x * growth.G[factor[j]][:, None]

    if len(p_all) <= n_paths * len(la):
        contrib = np.zeros((len(p_all), n_t))
        for j in la:
            term = C[:, col_asset[j], p_all].T * dn[:, j][:, None]
            if factor is not None:
                term *= growth.G[factor[j]][None, :]
            contrib += term
        contrib[np.arange(n_t)[None, :] < t_all[:, None]] = 0.0
        np.add.at(val.T, p_all, contrib)
        return
    flat = ((t_all[:, None] * len(la) + np.arange(len(la))[None, :]) * n_paths + p_all[:, None]).ravel()
    dq = np.bincount(flat, weights=dn[:, la].ravel(), minlength=n_t * len(la) * n_paths)
    dq = _cumsum_steps(dq.reshape(n_t, len(la), n_paths))
    for j, c in enumerate(la):
        val += C[:, col_asset[c], :] * grown(c, dq[:, j, :])


def _remove_dead_iso(val, C, asset, steps, c, d):
    """Take liquidated isolated perps out of ``val`` (T, P) from their liquidation step on."""
    n_t, n_assets, n_paths = C.shape
    dead_any = (steps >= 0).any(axis=0)
    idx = np.flatnonzero(dead_any)
    if not len(idx):
        return
    if len(idx) <= _ISO_LOOP_MAX:
        t_col = np.arange(n_t)[:, None]
        tmp = np.empty((n_t, n_paths))
        for i in idx:
            k = steps[:, i]
            dead = np.flatnonzero(k >= 0)
            if 2 * len(dead) < n_paths:          # the paths where it died only
                gone = t_col >= k[dead][None, :]
                val[:, dead] -= np.where(gone, C[:, asset[i], :][:, dead] * d[i] + c[i], 0.0)
            else:
                tmp = np.multiply(C[:, asset[i], :], d[i], out=tmp)
                tmp += c[i]
                tmp *= _dead_from(k, n_t)
                val -= tmp
        return
    # many positions: dead quantity per asset and dead constant, scattered at the
    # liquidation step and accumulated over steps
    k = np.where(steps >= 0, steps, n_t)                                    # (P, n)
    p_idx = np.arange(n_paths)[:, None]
    assets = np.unique(asset)
    a_pos = np.searchsorted(assets, asset)
    size = (n_t + 1) * len(assets) * n_paths
    dq = np.bincount(((k * len(assets) + a_pos[None, :]) * n_paths + p_idx).ravel(),
                     weights=np.broadcast_to(d, k.shape).ravel(), minlength=size)
    dq = _cumsum_steps(dq.reshape(n_t + 1, len(assets), n_paths))[:n_t]
    dc = np.bincount((k * n_paths + p_idx).ravel(), weights=np.broadcast_to(c, k.shape).ravel(),
                     minlength=(n_t + 1) * n_paths)
    dc = _cumsum_steps(dc.reshape(n_t + 1, n_paths))[:n_t]
    for j, a in enumerate(assets):
        val -= C[:, a, :] * dq[:, j, :]
    val -= dc


def _leg_sum(X, w, g=None):
    """Sum over a loan's legs (nonzero ``w`` (A,)), in asset order, of the leg's prices
    ``X[:, a, :]`` (T, P) times ``w[a]`` (times its growth ``g[a]`` (T,) with interest); None
    without legs. The same numbers as the rank-by-rank sums of :func:`_loan_events` (0 +
    first term is the first term)."""
    out = None
    for a in np.flatnonzero(w):
        f = w[a] if g is None else (w[a] * g[a])[:, None]
        if out is None:
            out = X[:, a, :] * f
        else:
            out += X[:, a, :] * f
    return out


def _legs_by_rank(qty: np.ndarray):
    """Each loan's legs (nonzero entries of ``qty`` (n_loans, A)) in asset order, grouped by
    rank: a list, per rank r, of (loans having an r-th leg, asset of that leg)."""
    l_idx, a_idx = np.nonzero(qty)
    rank = np.arange(len(l_idx)) - np.searchsorted(l_idx, l_idx)
    return [(l_idx[rank == r], a_idx[rank == r]) for r in range(int(rank.max(initial=-1)) + 1)]


def _rank_table(loans, assets, n_loans):
    """Asset of each loan's leg of one rank, -1 where the loan has no such leg."""
    out = np.full(n_loans, -1, dtype=np.int64)
    out[loans] = assets
    return out


def _search_again(L, H, qc, qd, lt_all, c_rank_of, d_rank_of, p_i, l_i, t_from, rows=None,
                  growth=None):
    """First step at or after ``t_from`` where loan ``l_i`` on path ``p_i`` (pairs) has
    HF < 1 with the quantities it holds now; -1 where never. Legs summed in asset order.

    ``rows``: the lows and highs laid out (assets, paths, steps), for few paths and long
    histories: a pair's prices are then one contiguous row (the same numbers, gathered
    faster). Arrays are (pairs, steps) then, (steps, pairs) otherwise."""
    n_t = L.shape[0]
    t0 = int(t_from.min())
    shape = (len(p_i), n_t - t0) if rows is not None else (n_t - t0, len(p_i))
    num = np.zeros(shape)
    den = np.zeros(shape)
    sources = (L, H) if rows is None else rows
    for out, X, rank_of, q, lt, grow in ((num, sources[0], c_rank_of, qc, lt_all,
                                          None if growth is None else growth.coll),
                                         (den, sources[1], d_rank_of, qd, None,
                                          None if growth is None else growth.debt)):
        for table in rank_of:
            a_all = table[l_i]
            has = a_all >= 0
            every = bool(has.all())
            sel = slice(None) if every else np.flatnonzero(has)
            ps, ls, a_s = p_i[sel], l_i[sel], a_all[sel]
            if not len(ps):
                continue
            wt = q[ps, ls, a_s] if lt is None else q[ps, ls, a_s] * lt[ls, a_s]
            if grow is not None:                  # (T', n) weights: quantity x growth
                wt = wt[None, :] * grow(ls, a_s)[:, t0:].T
            if rows is None:
                x = X[t0:, a_s, ps].astype(np.float64, copy=False)    # float32 cubes: product in float64
                x *= wt if grow is not None else wt[None, :]
                if every:
                    out += x
                else:
                    out[:, sel] += x
            else:
                x = X[a_s, ps, t0:].astype(np.float64, copy=False)
                x *= wt.T if grow is not None else wt[:, None]
                if every:
                    out += x
                else:
                    out[sel] += x
    trig = num < den                  # HF < 1 (num >= 0, so nothing owed never triggers)
    if rows is None:
        trig &= np.arange(t0, n_t)[:, None] >= t_from[None, :]
    else:
        trig &= np.arange(t0, n_t)[None, :] >= t_from[:, None]
        trig = trig.T
    ev = _first_index(trig)
    return np.where(ev >= 0, ev + t0, -1)


def _loan_events(book: Book, L: np.ndarray, H: np.ndarray, path_rows, growth=None):
    """Liquidation events of every loan along every path (prices in kernel layout;
    ``path_rows`` gives them as (asset, path) rows for few-path searches, shared with the
    loan series of :func:`run_book`).

    Returns ``(first, qc, qd, events)``: first liquidation step (P, n_loans), quantities
    held at the end (P, n_loans, A) and the events, per round ``(paths, loans, steps,
    collateral after, debt after, net quantity change, collateral change, debt change)``.
    With interest (``growth``) quantities are principals: a leg's amount at step t is its
    quantity times its growth factor there. A loan's health at a step is
    summed leg by leg in asset order, the same way whichever paths are searched together.
    """
    n_t, n_assets, n_paths = L.shape
    n_loans = len(book.loan_pos)
    lt_all = book.loan_lt
    qc = np.broadcast_to(book.loan_coll, (n_paths, n_loans, n_assets)).copy()
    qd = np.broadcast_to(book.loan_debt, (n_paths, n_loans, n_assets)).copy()
    first = np.full((n_paths, n_loans), -1, dtype=np.int64)
    events = []
    coll_ranks = _legs_by_rank(book.loan_coll)
    debt_ranks = _legs_by_rank(book.loan_debt)
    w_coll = book.loan_coll * lt_all

    # round 0: every path of every loan from today, loans in chunks (bounded memory)
    hits_p, hits_l, hits_t = [], [], []
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n_t * n_paths))
    if n_loans <= _LOAN_LOOP_MAX:              # few loans: each one on plane views
        chunk = n_loans
        a_idx = np.arange(n_assets)
        for l in range(n_loans):
            gc = gd = None
            if growth is not None:
                gc, gd = growth.coll(l, a_idx), growth.debt(l, a_idx)
            num = _leg_sum(L, w_coll[l], gc)
            den = _leg_sum(H, book.loan_debt[l], gd)
            if den is None:
                continue                       # nothing owed: HF is infinite
            if num is None:
                num = np.zeros_like(den)
            trig = num < den                   # HF < 1 (num >= 0: no debt never triggers)
            ev = _first_index(trig)
            p_i = np.flatnonzero(ev >= 0)
            hits_p.append(p_i)
            hits_l.append(np.full(len(p_i), l))
            hits_t.append(ev[p_i])
    for l0 in range(0 if n_loans > _LOAN_LOOP_MAX else n_loans, n_loans, chunk):
        l1 = min(n_loans, l0 + chunk)
        num = np.zeros((n_t, l1 - l0, n_paths))
        den = np.zeros((n_t, l1 - l0, n_paths))
        for out, X, ranks, w, grow in ((num, L, coll_ranks, w_coll,
                                        None if growth is None else growth.coll),
                                       (den, H, debt_ranks, book.loan_debt,
                                        None if growth is None else growth.debt)):
            for ls, a_s in ranks:
                keep = (ls >= l0) & (ls < l1)
                ls, a_s = ls[keep], a_s[keep]
                if not len(ls):
                    continue
                if grow is None:
                    x = X[:, a_s, :] * w[ls, a_s][None, :, None]
                else:
                    x = X[:, a_s, :] * (w[ls, a_s][:, None] * grow(ls, a_s)).T[:, :, None]
                if len(ls) == l1 - l0:
                    out += x
                else:
                    out[:, ls - l0, :] += x
        ev = _first_index(num < den)                                         # (Lc, P): HF < 1
        l_i, p_i = np.nonzero(ev >= 0)
        hits_p.append(p_i)
        hits_l.append(l_i + l0)
        hits_t.append(ev[l_i, p_i])
    p_i, l_i, t_i = (np.concatenate(x) if x else np.zeros(0, dtype=np.int64)
                     for x in (hits_p, hits_l, hits_t))
    first[p_i, l_i] = t_i
    rows = None                               # (assets, paths, steps) copies, for few paths
    c_rank_of = [_rank_table(ls, a_s, n_loans) for ls, a_s in coll_ranks]
    d_rank_of = [_rank_table(ls, a_s, n_loans) for ls, a_s in debt_ranks]
    for rnd in range(MAX_LOAN_EVENTS):
        if rnd:
            # the loans liquidated last round, searched again from the step after
            t_from = t_i + 1
            keep = t_from < n_t
            p_i, l_i, t_from = p_i[keep], l_i[keep], t_from[keep]
            if not len(p_i):
                break
            # searched in chunks of pairs with similar start steps (bounded memory); the
            # order of the pairs is kept for the events
            order = np.argsort(t_from, kind="stable")
            ev = np.full(len(p_i), -1, dtype=np.int64)
            k0 = 0
            while k0 < len(order):
                k1 = min(len(order), k0 + max(1, _CHUNK_ELEMENTS // (n_t - int(t_from[order[k0]]))))
                ks = order[k0:k1]
                if rows is None and n_paths <= _ROWS_MAX_PATHS:
                    rows = (path_rows(L), path_rows(H))
                ev[ks] = _search_again(L, H, qc, qd, lt_all, c_rank_of, d_rank_of, p_i[ks],
                                       l_i[ks], t_from[ks], rows, growth)
                k0 = k1
            hit = ev >= 0
            p_i, l_i, t_i = p_i[hit], l_i[hit], ev[hit]
        if not len(p_i):
            break
        sub_c = qc[p_i, l_i]
        sub_d = qd[p_i, l_i]
        c_before, d_before = sub_c.copy(), sub_d.copy()
        pc, pd = L[t_i, :, p_i], H[t_i, :, p_i]
        if growth is not None:                    # amounts = principal x growth: scale prices
            a_idx = np.arange(n_assets)[None, :]
            pc = pc * growth.coll(l_i[:, None], a_idx, t_i[:, None])
            pd = pd * growth.debt(l_i[:, None], a_idx, t_i[:, None])
        _liquidate_loans(sub_c, sub_d, pc, pd, lt_all[l_i],
                         book.loan_bonus[l_i], book.loan_cf[l_i], book.loan_full_close[l_i],
                         book.loan_small[l_i])
        qc[p_i, l_i] = sub_c
        qd[p_i, l_i] = sub_d
        dc, dd = sub_c - c_before, sub_d - d_before
        events.append((p_i, l_i, t_i, sub_c.copy(), sub_d.copy(), dc - dd, dc, dd))
    return first, qc, qd, events


def max_drawdown(value: np.ndarray) -> np.ndarray:
    """Largest fall from a running peak, as a fraction of that peak, along the last axis.

    ``value`` of shape (..., n_steps + 1) -> (...). Zero where value never falls; where the
    peak is not positive the drawdown is measured against its absolute value.
    """
    peak = np.maximum.accumulate(value, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak != 0, (peak - value) / np.abs(peak), 0.0)
    return dd.max(axis=-1)
