"""Liquidation prices: isolated and cross perpetuals, Aave-style loans, spot margin.

Formulas follow LIQUIDATION.md (``s`` = +1 long, -1 short, ``Q`` > 0, prices in USD):

* generic one-way (Binance, Hyperliquid): ``LP = (M + cum - s*Q*EP) / (Q*mmr - s*Q)``,
  the tier chosen at the liquidation notional (iterated until stable);
* Bybit classic isolated: ``LP = EP - s*(M - MM_entry)/Q`` with MM evaluated at entry value;
* OKX isolated: ``LP = (Q*EP - s*M) / (Q*(1 - s*(mmr + fee)))`` with the tier by quantity;
* coin-margined (inverse) perp, ``U = Q*contract_size`` USD, margin ``WB`` in the coin
  (Binance COIN-M): ``LP = (U*mmr + s*U) / (WB + cum + s*U/EP)``, tier by the coin notional
  ``U/P``; Bybit inverse: MM fixed at the entry value ``U/EP`` (coin);
* cross account: adjusted equity ``W + sum_c q_c*P_c*ratio_c + sum s_i*Q_i*(P_i - EP_i)``
  (inverse members ``s*U*(P/EP - 1)``) equals the summed MM (inverse ``U*mmr - cum*P`` in USD);
* loans: ``HF = sum q_c*P_c*LT_c / sum q_d*P_d``; liquidation price where HF = 1.

All arithmetic is float64; rounding is for display only. ``None`` means no price liquidates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .venues import TierTable


# --------------------------------------------------------------------------- isolated perps
def generic_liquidation_price(side: int, quantity: float, entry: float, margin: float,
                              mmr: float, cum: float = 0.0) -> float:
    """Single-tier one-way formula ``(M + cum - s*Q*EP) / (Q*mmr - s*Q)`` (may be <= 0)."""
    s, q = side, quantity
    return (margin + cum - s * q * entry) / (q * mmr - s * q)


def tiered_liquidation_price(side: int, quantity: float, entry: float, margin: float,
                             table: TierTable, max_iter: int = 64) -> tuple[float, int]:
    """Binance-style tier iteration: pick the tier of the current notional, compute LP,
    move to the tier of ``Q*LP`` and repeat until stable. Returns (LP, tier index)."""
    k = table.index(quantity * entry)
    lp = generic_liquidation_price(side, quantity, entry, margin, table.mmr[k], table.cum[k])
    for _ in range(max_iter):
        k2 = table.index(quantity * max(lp, 0.0))
        if k2 == k:
            return lp, k
        k = k2
        lp = generic_liquidation_price(side, quantity, entry, margin, table.mmr[k], table.cum[k])
    return lp, k


def tiered_liquidation_price_vec(side, quantity, entry, margin, mmr, cum):
    """Closed form of the tier iteration for many positions at once.

    With MM(N) = max_k(N*mmr_k - cum_k), equity - MM is increasing in P for a long and
    decreasing for a short, so the liquidation price is the max (long) or min (short) of
    the per-tier roots. Equal to :func:`tiered_liquidation_price` wherever it converges.

    Parameters
    ----------
    side, quantity, entry, margin : ndarray of shape (n,)
    mmr, cum : ndarray of shape (n, n_tiers)
        Tier lines per position; pad short tables by repeating their last row.

    Returns
    -------
    ndarray of shape (n,)
        Liquidation prices (<= 0 where a long cannot be liquidated).
    """
    s = np.asarray(side, dtype=float)[:, None]
    q = np.asarray(quantity, dtype=float)[:, None]
    ep = np.asarray(entry, dtype=float)[:, None]
    m = np.asarray(margin, dtype=float)[:, None]
    roots = (m + cum - s * q * ep) / (q * mmr - s * q)
    return np.where(s[:, 0] > 0, roots.max(axis=1), roots.min(axis=1))


def bybit_liquidation_price(side: int, quantity: float, entry: float, margin: float,
                            table: TierTable) -> float:
    """Bybit classic isolated formula; MM at entry value, tier by entry value (risk limit)."""
    value = quantity * entry
    k = table.index(value)
    mm_entry = value * table.mmr[k] - table.cum[k]
    return entry - side * (margin - mm_entry) / quantity


def bybit_bankruptcy_price(side: int, entry: float, leverage: float) -> float:
    return entry * (1.0 - side / leverage)


def okx_liquidation_price(side: int, quantity: float, entry: float, margin: float, mmr: float,
                          fee: float) -> float:
    """OKX isolated: long ``(Q*EP - M)/(Q*(1-mmr-fee))``, short ``(Q*EP + M)/(Q*(1+mmr+fee))``."""
    return (quantity * entry - side * margin) / (quantity * (1.0 - side * (mmr + fee)))


def hyperliquid_liquidation_price(side: int, quantity: float, entry: float, margin: float,
                                  max_leverage: float) -> float:
    """Hyperliquid docs form: ``EP - s*(M - Q*EP*l)/Q/(1 - l*s)`` with l = 1/(2*maxLev)."""
    l = 1.0 / (2.0 * max_leverage)
    available = margin - quantity * entry * l
    return entry - side * available / quantity / (1.0 - l * side)


def inverse_liquidation_price(side: int, unit: float, entry: float, margin: float,
                              mmr: float, cum: float = 0.0) -> float:
    """Binance COIN-M one-line formula ``(U*mmr + s*U) / (WB + cum + s*U/EP)``: ``unit`` is
    ``U = Q*contract_size`` (USD), ``margin`` and ``cum`` are in the coin. ``inf`` where every
    price liquidates (a long whose denominator is not positive), ``nan`` where none does."""
    den = margin + cum + side * unit / entry
    if (side > 0 and den <= 0):
        return np.inf
    if side < 0 and den >= 0:
        return np.nan
    return unit * (mmr + side) / den


def liquidation_level(side, unit, entry, margin, mmr, cum, inverse=False):
    """The price at or beyond which a perp is liquidated, for margins ``margin`` (any shape:
    one number, or a (steps, paths) array when funding drains it), over MM lines
    ``(mmr[k], cum[k])``: equity <= max_k line_k, so the level is the max (long) / min (short)
    of the per-line roots. Linear: ``(M + cum - s*U*EP)/(U*mmr - s*U)`` with ``U = Q``;
    inverse: :func:`inverse_liquidation_price` per line. A long's level may be <= 0 (no price
    liquidates), a short's ``inf`` / negative (none / every price). ``side``, ``unit``,
    ``entry``, ``inverse`` and each ``mmr[k]``, ``cum[k]`` may be arrays that broadcast with
    ``margin`` (several perps at once)."""
    m = np.asarray(margin, dtype=float)
    s = np.asarray(side, dtype=float)
    inv = np.asarray(inverse, dtype=bool)
    best = None
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(len(mmr)):
            mk, ck = mmr[k], cum[k]
            roots = []
            if inv.any():
                den = m + ck + s * unit / entry
                ok = np.where(s > 0, den > 0, den < 0)
                roots.append(np.where(ok, unit * (mk + s) / den, np.inf))
            if not inv.all():
                roots.append((m + ck - s * unit * entry) / (unit * mk - s * unit))
            root = roots[0] if len(roots) == 1 else np.where(inv, roots[0], roots[1])
            if best is None:
                best = root
            else:
                best = np.where(s > 0, np.maximum(best, root), np.minimum(best, root))
    return best


def maintenance_at(unit: float, price, mmr, cum, inverse: bool = False):
    """Maintenance margin at ``price`` (any shape) over MM lines, in the margin's unit:
    ``max_k(U*P*mmr_k - cum_k)`` (USD) or ``max_k(U/P*mmr_k - cum_k)`` (coin)."""
    x = np.asarray(price, dtype=float)
    n = unit / x if inverse else unit * x
    out = None
    for k in range(len(mmr)):
        line = n * mmr[k] - cum[k]
        out = line if out is None else np.maximum(out, line)
    return out


@dataclass(frozen=True)
class PerpTerms:
    """What the liquidation of one perp needs: formula family, tier table, fee, margin, and
    for a coin-margined perp its contract size (``margin`` is then in the coin)."""

    formula: str          # "binance" (generic/hyperliquid), "bybit", "okx"
    table: TierTable
    fee: float
    margin: float
    inverse: bool = False
    contract_size: float = 0.0

    def unit(self, quantity: float) -> float:
        """``Q`` (linear, base units) or ``U = Q*contract_size`` (inverse, USD)."""
        return quantity * self.contract_size if self.inverse else quantity


def isolated_liquidation_price(side: int, quantity: float, entry: float, terms: PerpTerms
                               ) -> float | None:
    """Liquidation price of an isolated perp under its venue's formula; None if none."""
    t = terms.table
    if terms.inverse:
        mmr, cum = effective_mm_line(side, quantity, entry, terms)
        lp = float(liquidation_level(side, terms.unit(quantity), entry, terms.margin, mmr, cum,
                                     inverse=True))
    elif terms.formula == "bybit":
        lp = bybit_liquidation_price(side, quantity, entry, terms.margin, t)
    elif terms.formula == "okx":
        k = t.index(quantity) if t.basis == "quantity" else t.index(quantity * entry)
        lp = okx_liquidation_price(side, quantity, entry, terms.margin, t.mmr[k], terms.fee)
    else:
        lp, _ = tiered_liquidation_price(side, quantity, entry, terms.margin, t)
    if not np.isfinite(lp) or lp <= 0:
        return None
    return float(lp)


def effective_mm_line(side: int, quantity: float, entry: float, terms: PerpTerms
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per-position MM lines (mmr_k, cum_k) such that the generic root formula reproduces
    the venue's isolated LP. Bybit (MM fixed at entry) and OKX (fee in the rate, tier by
    quantity) become single lines; generic venues keep their full tier table. Lines are in
    the position's own notional: USD ``Q*P`` (linear) or coin ``U/P`` (inverse: Bybit fixes
    MM at the entry value ``U/EP``)."""
    t = terms.table
    if terms.inverse:
        if terms.formula == "bybit":
            value = terms.unit(quantity) / entry
            k = t.index(value)
            return np.array([0.0]), np.array([-(value * t.mmr[k] - t.cum[k])])
        return t.mmr.copy(), t.cum.copy()
    if terms.formula == "bybit":
        k = t.index(quantity * entry)
        mm_entry = quantity * entry * t.mmr[k] - t.cum[k]
        # MM constant in P: mmr 0, cum = -MM_entry
        return np.array([0.0]), np.array([-mm_entry])
    if terms.formula == "okx":
        k = t.index(quantity) if t.basis == "quantity" else t.index(quantity * entry)
        return np.array([t.mmr[k] + terms.fee]), np.array([0.0])
    return t.mmr.copy(), t.cum.copy()


# --------------------------------------------------------------------------- cross accounts
def cross_liquidation_price_single(side: int, quantity: float, entry: float, wallet: float,
                                   other_mm: float, other_upnl: float, table: TierTable
                                   ) -> float | None:
    """Binance cross one-way formula for one contract, the others held at their marks:
    ``LP = (WB - TMM1 + UPNL1 + cum - s*Q*EP) / (Q*mmr - s*Q)`` with tier iteration."""
    margin = wallet - other_mm + other_upnl
    lp, _ = tiered_liquidation_price(side, quantity, entry, margin, table)
    return float(lp) if np.isfinite(lp) and lp > 0 else None


# --------------------------------------------------------------------------- loans
def health_factor(coll_qty, coll_price, coll_lt, debt_qty, debt_price) -> float:
    """``HF = sum q_c*P_c*LT_c / sum q_d*P_d`` (inf with no debt)."""
    num = float(np.dot(np.asarray(coll_qty, float) * np.asarray(coll_price, float), coll_lt))
    den = float(np.dot(debt_qty, debt_price))
    return np.inf if den <= 0 else num / den


def loan_liquidation_price(coll_qty, coll_price, coll_lt, debt_qty, debt_price,
                           asset_in_coll, asset_in_debt) -> float | None:
    """Price of one asset at which HF = 1, every other price held.

    ``asset_in_coll`` / ``asset_in_debt`` are boolean masks of the legs priced by that asset.
    Solves ``a*x + b = c*x + d`` with a, b the collateral side (times LT) and c, d the debt.
    """
    cq = np.asarray(coll_qty, float)
    cp = np.asarray(coll_price, float)
    lt = np.asarray(coll_lt, float)
    dq = np.asarray(debt_qty, float)
    dp = np.asarray(debt_price, float)
    mc = np.asarray(asset_in_coll, bool)
    md = np.asarray(asset_in_debt, bool)
    a = float(np.sum(cq[mc] * lt[mc]))
    b = float(np.sum(cq[~mc] * cp[~mc] * lt[~mc]))
    c = float(np.sum(dq[md]))
    d = float(np.sum(dq[~md] * dp[~md]))
    if a == c:
        return None
    x = (d - b) / (a - c)
    if not np.isfinite(x) or x <= 0:
        return None
    return float(x)


def uniform_shock_to_hf1(coll_value_lt: float, debt: float) -> float:
    """Uniform fall of all volatile collateral (stable debt) that brings HF to 1: ``1 - D/sum C*LT``."""
    return 1.0 - debt / coll_value_lt


@dataclass
class LoanLiquidation:
    repaid: float
    seized: np.ndarray
    health_before: float
    health_after: float
    close_factor: float


def liquidate_loan_once(coll_qty, coll_price, coll_lt, coll_bonus, debt_qty, debt_price,
                        close_factor: float = 0.5, full_close_below: float = 0.95,
                        small_position_usd: float = 0.0) -> LoanLiquidation:
    """One liquidation call: repay the close factor of the debt (100% at HF <= 0.95 on Aave v3,
    or when collateral or debt is below ``small_position_usd``), seize collateral worth the
    repaid amount times (1 + bonus), pro rata to collateral value, capped at what is held.
    Arrays are updated in place (``coll_qty``, ``debt_qty``)."""
    cq = coll_qty
    cp = np.asarray(coll_price, float)
    cv = cq * cp
    dv = float(np.dot(debt_qty, debt_price))
    hf = health_factor(cq, cp, coll_lt, debt_qty, debt_price)
    total_c = float(cv.sum())
    cf = close_factor
    if hf <= full_close_below or dv < small_position_usd or total_c < small_position_usd:
        cf = 1.0
    repay = cf * dv
    weights = cv / total_c if total_c > 0 else np.zeros_like(cv)
    seize_value = repay * weights * (1.0 + np.asarray(coll_bonus, float))
    if seize_value.sum() > total_c:
        scale = total_c / seize_value.sum()
        seize_value = cv.copy()
        repay *= scale
    seized = np.where(cp > 0, seize_value / np.where(cp > 0, cp, 1.0), 0.0)
    seized = np.minimum(seized, cq)
    cq -= seized
    if dv > 0:
        debt_qty *= (1.0 - repay / dv)
    if cq.sum() <= 0 or float(np.dot(cq, cp)) <= 1e-12:
        cq[:] = 0.0
        debt_qty[:] = 0.0  # bad debt burned
    after = health_factor(cq, cp, coll_lt, debt_qty, debt_price)
    return LoanLiquidation(repay, seized, hf, after, cf)


# --------------------------------------------------------------------------- spot margin
def binance_margin_liquidation_price(base_qty: float, quote_liability: float,
                                     liquidation_level: float = 1.1, quote_asset: float = 0.0
                                     ) -> float:
    """Binance cross margin: Margin Level = assets / liabilities; liquidation at ML <= 1.1."""
    return (liquidation_level * quote_liability - quote_asset) / base_qty


def kraken_margin_levels(balance: float, quantity: float, entry: float, leverage: float,
                         call_level: float = 0.8, liquidation_level: float = 0.4
                         ) -> tuple[float, float]:
    """Kraken margin call and liquidation prices of a long: equity/used margin at 80% / 40%."""
    used = quantity * entry / leverage
    call = (call_level * used - balance + quantity * entry) / quantity
    liq = (liquidation_level * used - balance + quantity * entry) / quantity
    return call, liq


def okx_spot_margin_liquidation_price(quote_liability: float, quote_asset: float,
                                      base_asset: float, base_liability: float, mmr: float,
                                      taker: float) -> float:
    k = (1 + mmr) * (1 + taker)
    return (quote_liability * k - quote_asset) / (base_asset - base_liability * k)


# --------------------------------------------------------------------------- summed MM
@dataclass
class MMCurve:
    """Sum of tiered maintenance margins of several positions on one price, as an exact
    piecewise-linear function of that price: ``MM(x) = slope(x)*x + intercept(x)``."""

    breaks: np.ndarray
    slope: np.ndarray       # len(breaks) + 1
    intercept: np.ndarray

    def segment(self, x: np.ndarray):
        """Index of the linear piece at every price of ``x``: an int when one piece covers
        them all (the usual case: only breaks inside [min x, max x] are compared)."""
        b = self.breaks
        x = np.asarray(x)
        if not x.size or not len(b):
            return 0
        x_min, x_max = x.min(), x.max()
        if np.isnan(x_min) or np.isnan(x_max):
            return np.searchsorted(b, x, side="right")
        k_lo = int(np.searchsorted(b, x_min, side="right"))
        k_hi = int(np.searchsorted(b, x_max, side="right"))
        if k_lo == k_hi:
            return k_lo
        if k_hi - k_lo <= 4:
            k = np.full(x.shape, k_lo, dtype=np.intp)
            for j in range(k_lo, k_hi):
                k += x >= b[j]
            return k
        return np.searchsorted(b, x, side="right")

    def __call__(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """MM at every price of ``x`` (written into ``out`` when given)."""
        k = self.segment(x)
        out = np.multiply(x, self.slope[k], out=out)
        out += self.intercept[k]
        return out


    def roots(self, x0: float) -> float | None:
        """The zero of this piecewise-linear function nearest to ``x0`` (> 0), None if none;
        ``x0`` itself where the value there is already <= 0."""
        if float(self(np.array([float(x0)]))[0]) <= 0:
            return float(x0)
        edges = np.r_[0.0, self.breaks[self.breaks > 0], np.inf]
        best = None
        for k in range(len(edges) - 1):
            lo, hi = edges[k], edges[k + 1]
            mid = lo + 1.0 if not np.isfinite(hi) else 0.5 * (lo + hi)
            j = int(np.searchsorted(self.breaks, mid, side="right"))
            a, b = self.slope[j], self.intercept[j]
            if a == 0:
                continue
            x = -b / a
            if not (lo <= x <= hi) or x <= 0 or not np.isfinite(x):
                continue
            if best is None or abs(x - x0) < abs(best - x0):
                best = float(x)
        return best


def sum_curves(curves: list[MMCurve]) -> MMCurve:
    """The sum of piecewise-linear functions of one price (breaks merged)."""
    if not curves:
        return MMCurve(np.zeros(0), np.zeros(1), np.zeros(1))
    b = np.unique(np.concatenate([c.breaks for c in curves]))
    # a point inside every merged segment: below the first break, between breaks, above
    pts = np.r_[b[0] - 1.0, 0.5 * (b[1:] + b[:-1]), b[-1] + 1.0] if len(b) else np.zeros(1)
    slope = np.zeros(len(pts))
    inter = np.zeros(len(pts))
    for c in curves:
        k = np.searchsorted(c.breaks, pts, side="right")
        slope += c.slope[k]
        inter += c.intercept[k]
    return MMCurve(b, slope, inter)


def linear_curve(slope: float, const: float = 0.0) -> MMCurve:
    return MMCurve(np.zeros(0), np.array([float(slope)]), np.array([float(const)]))


def inverse_mm_curve(unit: float, lines: tuple[np.ndarray, np.ndarray, np.ndarray]) -> MMCurve:
    """The USD maintenance margin ``x*MM_coin(U/x) = U*mmr_k - cum_k*x`` of a coin-margined
    perp as a function of its price x; ``lines`` ``(floors, mmr, cum)`` with floors in coin.
    The tier of the coin notional ``U/x`` falls as x rises: breaks at ``U/floor_k``."""
    floors, mmr, cum = lines
    K = len(mmr)
    b = np.array([unit / floors[k] for k in range(K - 1, 0, -1)], float)     # ascending
    order = list(range(K - 1, -1, -1))                                       # tier per segment
    return MMCurve(b, np.array([-cum[k] for k in order], float),
                   np.array([unit * mmr[k] for k in order], float))


def collateral_curve(quantity: float, ratio) -> MMCurve:
    """Adjusted value of ``quantity`` of a collateral asset as a function of its price:
    ``ratio`` a number, or a :class:`engine.venues.CollateralRatio` (each ratio applies to the
    slice of the holding in its tier: in coin, a constant blended ratio; in USD value, a
    concave piecewise-linear function with breaks at ``floor/quantity``)."""
    q = float(quantity)
    if not hasattr(ratio, "ratios"):
        return linear_curve(q * float(ratio))
    floors, caps, rs = ratio.floors, ratio.caps, ratio.ratios
    if ratio.basis == "coin":
        held = np.clip(q - floors, 0.0, caps - floors)
        return linear_curve(float(np.dot(held, rs)))
    # USD tiers: value v = q*x; slope q*r_k inside tier k, continuous
    b = floors[1:] / q
    width = np.where(np.isfinite(caps), caps - floors, 0.0)
    full = np.r_[0.0, np.cumsum(width[:-1] * rs[:-1])]          # value of the tiers below
    return MMCurve(b, q * rs, full - rs * floors)


def mm_curve(qty: np.ndarray, lines: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> MMCurve:
    """The summed tiered MM of positions with quantities ``qty`` on one price, each given as
    its tier lines ``(floors, mmr, cum)``."""
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
    return MMCurve(b, slope, intercept)
