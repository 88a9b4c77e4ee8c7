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
  its liquidation step on.

There is no Python loop over paths or steps. Loops run over tiers, cross-margin groups,
position chunks (bounded memory) and loan liquidation events (a handful).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .book import Book

_CHUNK_ELEMENTS = 1 << 21
_DETAIL_ELEMENTS = 1 << 22
_ISO_LOOP_MAX = 64          # isolated perps valued one by one up to this many
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
    account_value : ndarray, shape (n_paths, n_steps + 1, n_accounts)
        Wallet plus unrealised P&L of each cross account at close, 0 once liquidated.
    account_margin_ratio : ndarray, shape (n_paths, n_steps + 1, n_accounts)
        Maintenance margin / equity at the worst prices of each step (>= 1 liquidates).
    loan_health, loan_value : ndarray, shape (n_paths, n_steps + 1, n_loans), or None
        Health factor at the worst prices of each step (with the quantities held entering
        it) and loan value at each close. Computed for small books or with
        ``track_positions``; None otherwise (they cost n_paths * n_steps * n_loans).
    position_values : ndarray, shape (n_paths, n_steps + 1, n_positions), optional
        Per-position values at every close (only with ``track_positions=True``).
    """

    liq_step: np.ndarray
    value: np.ndarray
    position_end: np.ndarray
    position_start: np.ndarray
    account_value: np.ndarray
    account_margin_ratio: np.ndarray
    loan_health: np.ndarray | None
    loan_value: np.ndarray | None
    position_values: np.ndarray | None = None


# --------------------------------------------------------------------------- helpers
def _first_true(mask: np.ndarray) -> np.ndarray:
    """First index along axis 1 where ``mask`` holds, -1 where never. (P, T, n) -> (P, n)."""
    has = mask.any(axis=1)
    return np.where(has, mask.argmax(axis=1), -1)


def _first_hit(x: np.ndarray, asset: np.ndarray, level: np.ndarray, below: bool) -> np.ndarray:
    """First step whose low (``below``) / high reaches ``level``: the same index as
    first index of the running minimum (maximum) crossing, without building it.
    ``x`` (P, T, A) lows or highs; (P, n) result, -1 where never. NaN levels never cross."""
    n_paths, n_steps, _ = x.shape
    out = np.full((n_paths, len(level)), -1, dtype=np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n_paths * n_steps))
    for lo in range(0, len(level), chunk):
        sl = slice(lo, lo + chunk)
        vals = x[:, :, asset[sl]]
        mask = vals <= level[sl] if below else vals >= level[sl]
        out[:, sl] = _first_true(mask)
    return out


@dataclass
class _MMCurve:
    """Sum of tiered maintenance margins of several positions on one price, as an exact
    piecewise-linear function of that price: ``MM(x) = slope(x)*x + intercept(x)``."""

    breaks: np.ndarray
    slope: np.ndarray       # len(breaks) + 1
    intercept: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        b = self.breaks
        x = np.asarray(x)
        if x.size == 0 or len(b) == 0:
            return self.slope[0] * x + self.intercept[0]
        # only the breaks inside [min x, max x] need a per-element comparison
        x_min, x_max = x.min(), x.max()
        if np.isnan(x_min) or np.isnan(x_max):
            k = np.searchsorted(b, x, side="right")
            return self.slope[k] * x + self.intercept[k]
        k_lo = int(np.searchsorted(b, x_min, side="right"))
        k_hi = int(np.searchsorted(b, x_max, side="right"))
        if k_lo == k_hi:
            return self.slope[k_lo] * x + self.intercept[k_lo]
        if k_hi - k_lo <= 4:
            k = np.full(x.shape, k_lo, dtype=np.intp)
            for j in range(k_lo, k_hi):
                k += x >= b[j]
        else:
            k = np.searchsorted(b, x, side="right")
        return self.slope[k] * x + self.intercept[k]


def _mm_curve(qty: np.ndarray, lines: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> _MMCurve:
    base_slope = 0.0
    base_int = 0.0
    bps, dslope, dint = [], [], []
    for q, (floors, mmr, cum) in zip(qty, lines):
        base_slope += q * mmr[0]
        base_int -= cum[0]
        for k in range(1, len(mmr)):
            bps.append(floors[k] / q)
            dslope.append(q * (mmr[k] - mmr[k - 1]))
            dint.append(-(cum[k] - cum[k - 1]))
    order = np.argsort(bps, kind="stable")
    b = np.asarray(bps, float)[order]
    ds = np.asarray(dslope, float)[order]
    di = np.asarray(dint, float)[order]
    slope = base_slope + np.r_[0.0, np.cumsum(ds)]
    intercept = base_int + np.r_[0.0, np.cumsum(di)]
    return _MMCurve(b, slope, intercept)


def _cross_groups(book: Book):
    """Group cross positions by (account, asset, side): linear equity terms + MM curve.
    Built once per book and cached on it (the GUI re-runs shocks on one book)."""
    cached = book.__dict__.get("_cross_groups_cache")
    if cached is not None:
        return cached
    groups = {}
    for i in range(len(book.cross_pos)):
        key = (int(book.cross_account[i]), int(book.cross_asset[i]), int(book.cross_sign[i]))
        groups.setdefault(key, []).append(i)
    out = []
    for (acc, asset, sign), members in groups.items():
        m = np.asarray(members)
        q = book.cross_qty[m]
        out.append((acc, asset, sign,
                    float(sign * q.sum()),                              # slope of equity in price
                    float(-sign * np.dot(q, book.cross_entry[m])),      # constant of equity
                    _mm_curve(q, [book.cross_lines[i] for i in m])))
    book.__dict__["_cross_groups_cache"] = out
    return out


def _liquidate_loans(qc, qd, pc, pd, lt, bonus, cf, full, small):
    """Liquidate loans (rows) repeatedly at fixed prices while HF < 1. Arrays (N, A), in place.

    Each round repays the close factor of the debt (100% at HF <= ``full`` or when the
    collateral or debt is worth less than ``small``), pro rata over debt assets, and seizes
    collateral worth repaid*(1 + bonus) pro rata to collateral value, capped at what is held;
    when the collateral is gone the remaining debt is burned (bad debt).
    """
    for _ in range(MAX_LIQUIDATION_ROUNDS):
        cv = qc * pc
        c_tot = cv.sum(axis=1)
        d_tot = (qd * pd).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            hf = np.where(d_tot > 0, (cv * lt).sum(axis=1) / d_tot, np.inf)
        act = (hf < 1.0) & (d_tot > 0) & (c_tot > 0)
        if not act.any():
            break
        f = np.where((hf <= full) | (d_tot < small) | (c_tot < small), 1.0, cf)
        repay = f * d_tot
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(c_tot[:, None] > 0, cv / c_tot[:, None], 0.0)
        seize = repay[:, None] * w * (1.0 + bonus)
        s_tot = seize.sum(axis=1)
        over = s_tot > c_tot
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(over, c_tot / np.where(s_tot > 0, s_tot, 1.0), 1.0)
        seize = np.where(over[:, None], cv, seize)
        repay = repay * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            seized_qty = np.where(pc > 0, seize / np.where(pc > 0, pc, 1.0), 0.0)
        new_qc = np.where(over[:, None], 0.0, np.maximum(qc - seized_qty, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            keep = np.where(d_tot > 0, 1.0 - repay / np.where(d_tot > 0, d_tot, 1.0), 1.0)
        new_qd = qd * np.maximum(keep, 0.0)[:, None]
        gone = (new_qc * pc).sum(axis=1) <= 0
        new_qd = np.where(gone[:, None], 0.0, new_qd)
        qc[act] = new_qc[act]
        qd[act] = new_qd[act]
    return qc, qd


# --------------------------------------------------------------------------- kernel
def run_book(book: Book, paths: PricePaths, *, track_positions: bool = False,
             series: bool | None = None) -> BookOutcome:
    """Liquidate and value every position of ``book`` along every path.

    Parameters
    ----------
    book : Book
    paths : PricePaths with arrays of shape (n_paths, n_steps + 1, n_assets) in the
        book's asset order.
    track_positions : also return per-position values at every step (memory
        n_paths * (n_steps + 1) * n_positions).
    series : False skips the per-loan health/value series (``loan_health`` and
        ``loan_value`` are None; liquidations and values are unchanged). None (default)
        computes them for small runs, True always.
    """
    close, low, high = paths.close, paths.low, paths.high
    n_paths, n_t, n_assets = close.shape
    if n_assets != len(book.assets):
        raise ValueError(f"price paths have {n_assets} assets, the book has {len(book.assets)}")
    # step 0 is today: its close only (no copy when the paths already say so)
    low_w, high_w = low, high
    if not np.array_equal(low[:, 0, :], close[:, 0, :]):
        low_w = low.copy()
        low_w[:, 0, :] = close[:, 0, :]
    if not np.array_equal(high[:, 0, :], close[:, 0, :]):
        high_w = high.copy()
        high_w[:, 0, :] = close[:, 0, :]
    n_pos = book.n_positions
    liq = np.full((n_paths, n_pos), -1, dtype=np.int64)
    end = np.zeros((n_paths, n_pos))
    start = np.zeros(n_pos)
    value = np.zeros((n_paths, n_t))
    pv = np.zeros((n_paths, n_t, n_pos)) if track_positions else None
    today = close[:, 0, :]

    # ---- spot
    if len(book.spot_pos):
        qty_by_asset = np.bincount(book.spot_asset, weights=book.spot_qty, minlength=n_assets)
        value += close @ qty_by_asset
        end[:, book.spot_pos] = close[:, -1, book.spot_asset] * book.spot_qty
        start[book.spot_pos] = today[0, book.spot_asset] * book.spot_qty
        if pv is not None:
            pv[:, :, book.spot_pos] = close[:, :, book.spot_asset] * book.spot_qty

    # ---- isolated perps
    if len(book.iso_pos):
        lp = book.iso_lp
        longs = book.iso_sign > 0
        steps = np.full((n_paths, len(lp)), -1, dtype=np.int64)
        if longs.any():
            steps[:, longs] = _first_hit(low_w, book.iso_asset[longs], lp[longs], below=True)
        if (~longs).any():
            steps[:, ~longs] = _first_hit(high_w, book.iso_asset[~longs], lp[~longs], below=False)
        liq[:, book.iso_pos] = steps
        c = book.iso_margin - book.iso_sign * book.iso_qty * book.iso_entry
        d = book.iso_sign * book.iso_qty
        removed_at = np.where(steps >= 0, steps, n_t)                     # (P, n_iso)
        if len(c) <= _ISO_LOOP_MAX:
            # few positions: add each one's equity while alive, (P, T) per position
            t_row = np.arange(n_t)[None, :]
            for i in range(len(c)):
                eq = close[:, :, book.iso_asset[i]] * d[i]
                eq += c[i]
                eq[t_row >= removed_at[:, i:i + 1]] = 0.0
                value += eq
        else:
            flat = ((np.arange(n_paths)[:, None] * (n_t + 1) + removed_at) * n_assets
                    + book.iso_asset[None, :]).ravel()
            size = n_paths * (n_t + 1) * n_assets
            dc = np.bincount(flat, weights=np.broadcast_to(c, steps.shape).ravel(), minlength=size)
            dd = np.bincount(flat, weights=np.broadcast_to(d, steps.shape).ravel(), minlength=size)
            dc = dc.reshape(n_paths, n_t + 1, n_assets)
            dd = dd.reshape(n_paths, n_t + 1, n_assets)
            # alive(t) = sum over positions removed after t  (reverse cumulative sum)
            alive_c = np.cumsum(dc[:, ::-1], axis=1)[:, ::-1][:, 1:]
            alive_d = np.cumsum(dd[:, ::-1], axis=1)[:, ::-1][:, 1:]
            value += (alive_c + alive_d * close).sum(axis=2)
        alive_end = steps < 0
        end[:, book.iso_pos] = np.where(alive_end, c + d * close[:, -1, book.iso_asset], 0.0)
        start[book.iso_pos] = c + d * today[0, book.iso_asset]
        if pv is not None:
            t_idx = np.arange(n_t)[None, :, None]
            alive = (steps[:, None, :] < 0) | (t_idx < steps[:, None, :])
            pv[:, :, book.iso_pos] = np.where(alive, c + d * close[:, :, book.iso_asset], 0.0)

    # ---- cross accounts
    n_acc = book.n_accounts
    account_value = np.zeros((n_paths, n_t, n_acc))
    margin_ratio = np.zeros((n_paths, n_t, n_acc))
    if n_acc:
        equity_w = np.broadcast_to(book.account_wallet, (n_paths, n_t, n_acc)).copy()
        mm_w = np.zeros((n_paths, n_t, n_acc))
        upnl_close = np.zeros((n_paths, n_t, n_acc))
        for acc, asset, sign, slope, const, curve in _cross_groups(book):
            x = (low_w if sign > 0 else high_w)[:, :, asset]
            equity_w[:, :, acc] += slope * x + const
            mm_w[:, :, acc] += curve(x)
            upnl_close[:, :, acc] += slope * close[:, :, asset] + const
        acc_liq = _first_true(equity_w <= mm_w)                            # (P, n_acc)
        t_idx = np.arange(n_t)[None, :, None]
        alive = (acc_liq[:, None, :] < 0) | (t_idx < acc_liq[:, None, :])
        account_value = np.where(alive, book.account_wallet + upnl_close, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            margin_ratio = np.where(equity_w > 0, mm_w / equity_w, np.inf)
        value += account_value.sum(axis=2)
        if len(book.cross_pos):
            acc_of = book.cross_account
            liq[:, book.cross_pos] = acc_liq[:, acc_of]
            sq = book.cross_sign * book.cross_qty
            upnl_end = sq * (close[:, -1, book.cross_asset] - book.cross_entry)
            end[:, book.cross_pos] = np.where(alive[:, -1, acc_of], upnl_end, 0.0)
            start[book.cross_pos] = sq * (today[0, book.cross_asset] - book.cross_entry)
            if pv is not None:
                upnl = sq * (close[:, :, book.cross_asset] - book.cross_entry)
                pv[:, :, book.cross_pos] = np.where(alive[:, :, acc_of], upnl, 0.0)

    # ---- loans
    n_loans = len(book.loan_pos)
    detail = track_positions or (n_paths * n_t * n_loans <= _DETAIL_ELEMENTS if series is None
                                 else bool(series))
    loan_health = np.zeros((n_paths, n_t, n_loans)) if detail else None
    loan_value = np.zeros((n_paths, n_t, n_loans)) if detail else None
    if n_loans:
        lt_all = book.loan_lt
        qc = np.broadcast_to(book.loan_coll, (n_paths, n_loans, n_assets)).copy()
        qd = np.broadcast_to(book.loan_debt, (n_paths, n_loans, n_assets)).copy()
        first = np.full((n_paths, n_loans), -1, dtype=np.int64)
        hf_from = np.zeros((n_paths, n_loans), dtype=np.int64)   # steps whose HF uses current qty
        pending = np.ones((n_paths, n_loans), dtype=bool)
        events = []                                               # per round, for the detail series
        d_flat, d_w = [], []                                      # net quantity changes at events
        for _ in range(MAX_LOAN_EVENTS):
            # only the paths/loans/steps still pending are searched (few after the first round)
            psel = np.flatnonzero(pending.any(axis=1))
            lsel = np.flatnonzero(pending.any(axis=0))
            t0 = int(hf_from[np.ix_(psel, lsel)][pending[np.ix_(psel, lsel)]].min())
            if t0 >= n_t:
                break
            full_p = len(psel) == n_paths
            lo_s = low_w[:, t0:] if full_p else low_w[psel, t0:]          # (Ps, Ts, A)
            hi_s = high_w[:, t0:] if full_p else high_w[psel, t0:]
            t_rel = np.arange(t0, n_t)[None, :, None]
            ev = np.full((n_paths, n_loans), -1, dtype=np.int64)
            step = max(1, _CHUNK_ELEMENTS // max(1, len(psel) * (n_t - t0)))
            for c0 in range(0, len(lsel), step):
                ls = lsel[c0:c0 + step]
                ix = np.ix_(psel, ls)
                num = lo_s @ (qc[ix] * lt_all[ls]).transpose(0, 2, 1)          # (Ps, Ts, Lc)
                den = hi_s @ qd[ix].transpose(0, 2, 1)
                trig = (num < den) & (den > 0)                                 # HF < 1
                trig &= pending[ix][:, None, :] & (t_rel >= hf_from[ix][:, None, :])
                ev_c = _first_true(trig)
                ev[ix] = np.where(ev_c >= 0, ev_c + t0, -1)
            hit = ev >= 0
            if not hit.any():
                break
            p_i, l_i = np.nonzero(hit)
            t_i = ev[p_i, l_i]
            sub_c = qc[p_i, l_i]
            sub_d = qd[p_i, l_i]
            net_before = sub_c - sub_d
            _liquidate_loans(sub_c, sub_d, low_w[p_i, t_i], high_w[p_i, t_i], lt_all[l_i],
                             book.loan_bonus[l_i], book.loan_cf[l_i], book.loan_full_close[l_i],
                             book.loan_small[l_i])
            qc[p_i, l_i] = sub_c
            qd[p_i, l_i] = sub_d
            d_flat.append((((p_i * (n_t + 1) + t_i)[:, None]) * n_assets
                           + np.arange(n_assets)[None, :]).ravel())
            d_w.append((sub_c - sub_d - net_before).ravel())
            if detail:
                events.append((p_i, l_i, t_i, sub_c.copy(), sub_d.copy()))
            first = np.where(hit & (first < 0), ev, first)
            hf_from = np.where(hit, ev + 1, hf_from)
            pending = hit
        liq[:, book.loan_pos] = first
        # portfolio value: net loan quantity per asset changes only at liquidation events
        # only the assets the loans hold or owe are involved (often 2 of many)
        la = np.flatnonzero((book.loan_coll != 0).any(axis=0) | (book.loan_debt != 0).any(axis=0))
        net0 = (book.loan_coll - book.loan_debt).sum(axis=0)[la]
        close_la = close[:, :, la]
        value += close_la @ net0
        if d_flat:
            fl = np.concatenate(d_flat)
            w = np.concatenate(d_w)
            a_of = fl % n_assets
            keep = np.isin(a_of, la)
            pos_in_la = np.searchsorted(la, a_of[keep])
            pt = fl[keep] // n_assets                       # path * (n_t + 1) + step
            flat = (pt // (n_t + 1) * len(la) + pos_in_la) * (n_t + 1) + pt % (n_t + 1)
            dn = np.bincount(flat, weights=w[keep], minlength=n_paths * len(la) * (n_t + 1))
            dn = np.cumsum(dn.reshape(n_paths, len(la), n_t + 1), axis=2)[:, :, :n_t]  # contiguous scan
            value += np.einsum("pta,pat->pt", close_la, dn)
        end[:, book.loan_pos] = np.einsum("pla,pa->pl", qc - qd, close[:, -1])
        start[book.loan_pos] = (book.loan_coll - book.loan_debt) @ today[0]
        if detail:
            loan_value[...] = close @ (book.loan_coll - book.loan_debt).T
            with np.errstate(divide="ignore", invalid="ignore"):
                den0 = high_w @ book.loan_debt.T
                loan_health[...] = np.where(den0 > 0, (low_w @ (book.loan_coll * lt_all).T) / den0, np.inf)
            t_all = np.arange(n_t)[None, :]
            for p_i, l_i, t_i, qca, qda in events:
                vals = np.einsum("kta,ka->kt", close[p_i], qca - qda)
                loan_value[p_i, :, l_i] = np.where(t_all >= t_i[:, None], vals, loan_value[p_i, :, l_i])
                num = np.einsum("kta,ka->kt", low_w[p_i], qca * lt_all[l_i])
                den = np.einsum("kta,ka->kt", high_w[p_i], qda)
                with np.errstate(divide="ignore", invalid="ignore"):
                    hf = np.where(den > 0, num / den, np.inf)
                loan_health[p_i, :, l_i] = np.where(t_all > t_i[:, None], hf, loan_health[p_i, :, l_i])
            if pv is not None:
                pv[:, :, book.loan_pos] = loan_value

    return BookOutcome(liq_step=liq, value=value, position_end=end, position_start=start,
                       account_value=account_value, account_margin_ratio=margin_ratio,
                       loan_health=loan_health, loan_value=loan_value, position_values=pv)


def max_drawdown(value: np.ndarray) -> np.ndarray:
    """Largest fall from a running peak, as a fraction of that peak, along the last axis.

    ``value`` of shape (..., n_steps + 1) -> (...). Zero where value never falls; where the
    peak is not positive the drawdown is measured against its absolute value.
    """
    peak = np.maximum.accumulate(value, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak != 0, (peak - value) / np.abs(peak), 0.0)
    return dd.max(axis=-1)
