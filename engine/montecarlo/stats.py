"""Statistics of simulated P&L and values: VaR/CVaR, quantiles from one partial sort, the
same approximated from a histogram, and the fan's quantiles from per-step histograms.

Quantile levels are fractions (``0.01`` is the 1st percentile)."""
from __future__ import annotations

import math

import numpy as np


def var_cvar(pnl: np.ndarray, level: float) -> tuple[float, float]:
    """VaR and CVaR (expected shortfall) of a P&L sample as positive loss amounts.

    ``VaR = inf{x : P(loss <= x) >= level}`` (the empirical ``level`` quantile of the loss,
    no interpolation); ``CVaR`` is the mean of the worst ``(1 - level)`` share of losses,
    counting the VaR observation fractionally (Acerbi-Tasche), so that it is exact for
    any sample size: ``CVaR = (sum of the k largest losses + (n (1 - level) - k) * VaR) /
    (n (1 - level))`` with ``k = floor(n (1 - level))``.
    """
    out = order_stats(np.asarray(pnl, float), var_levels=(level,))
    return out["var"][0], out["cvar"][0]


def _tail(n: int, level: float) -> tuple[int, float, int]:
    """(index of the VaR loss in ascending losses, tail size n(1 - level), floor of it)."""
    idx = max(0, min(n - 1, math.ceil(level * n - 1e-9) - 1))
    tail_n = n * (1.0 - level)
    if abs(tail_n - round(tail_n)) < 1e-9 * max(1.0, tail_n):
        tail_n = float(round(tail_n))         # 100 * (1 - 0.95) is 5, not 5.000000000000004
    return idx, tail_n, min(n, int(math.floor(tail_n)))


def order_stats(x: np.ndarray, var_levels=(), quantiles=()) -> dict:
    """VaR/CVaR (of ``x`` as P&L) at ``var_levels`` and linear-interpolated ``quantiles``
    (fractions) of ``x`` from one partial sort (one copy of ``x``: memory stays at 8 bytes
    per path). Returns ``{"var": [...], "cvar": [...], "pct": [...]}``."""
    n = x.size
    if n == 0:
        nan = float("nan")
        return {"var": [nan] * len(var_levels), "cvar": [nan] * len(var_levels),
                "pct": [nan] * len(quantiles)}
    kth = set()
    tails = [_tail(n, a) for a in var_levels]
    for idx, _, k in tails:
        kth.add(n - 1 - idx)                  # the VaR loss is the (n-1-idx)-th smallest P&L
        if 0 < k < n:
            kth.add(k)                        # the k smallest P&L are the k largest losses
    pos = [(n - 1) * q for q in quantiles]
    for h in pos:
        kth.update({int(math.floor(h)), min(int(math.floor(h)) + 1, n - 1)})
    part = np.partition(x, sorted(kth))
    var, cvar = [], []
    for idx, tail_n, k in tails:
        v = -float(part[n - 1 - idx])
        top = -float(part[:k].sum()) if k > 0 else 0.0
        var.append(v)
        cvar.append(float((top + (tail_n - k) * v) / tail_n) if tail_n > 0 else v)
    pct = []
    for h in pos:
        lo = int(math.floor(h))
        hi = min(lo + 1, n - 1)
        pct.append(float(part[lo] + (h - lo) * (part[hi] - part[lo])))
    return {"var": var, "cvar": cvar, "pct": pct}


def hist_stats(counts, sums, edges, var_levels, quantiles) -> dict:
    """Approximate :func:`order_stats` from a P&L histogram (counts and P&L sums per bin;
    uniform within a bin). Used for the running figures of big runs."""
    n = int(counts.sum())
    lo = edges[0]
    w = (edges[-1] - edges[0]) / len(counts)
    cum = np.cumsum(counts)

    def locate(m):                      # bin holding the m-th smallest value, and how far in
        j = int(min(np.searchsorted(cum, m, side="left"), len(counts) - 1))
        before = int(cum[j - 1]) if j > 0 else 0
        frac = (m - before) / counts[j] if counts[j] else 0.5
        return j, before, float(np.clip(frac, 0.0, 1.0))

    var, cvar = [], []
    for a in var_levels:
        m = max(n * (1.0 - a), 1e-12)
        j, before, frac = locate(m)
        q = lo + (j + frac) * w
        var.append(-q)
        part = (m - before) * (sums[j] / counts[j] if counts[j] else q)
        cvar.append(-(float(sums[:j].sum()) + part) / m)
    pct = []
    for qv in quantiles:
        j, _, frac = locate(qv * n)
        pct.append(lo + (j + frac) * w)
    return {"var": var, "cvar": cvar, "pct": pct}


def fan_from_hist(counts: np.ndarray, lo: np.ndarray, width: np.ndarray, n: int,
                  levels) -> np.ndarray:
    """Quantiles ``levels`` (fractions) per step from per-step histograms ``counts`` (T+1, B)
    with bins of ``width`` from ``lo`` per step; linear inside a bin. Returns (len(levels), T+1)."""
    cum = np.cumsum(counts, axis=1)
    out = np.empty((len(levels), counts.shape[0]))
    rows = np.arange(counts.shape[0])
    for i, q in enumerate(levels):
        target = q * n
        k = (cum < target).sum(axis=1)
        k = np.minimum(k, counts.shape[1] - 1)
        below = np.where(k > 0, cum[rows, np.maximum(k - 1, 0)], 0)
        inbin = counts[rows, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(inbin > 0, (target - below) / inbin, 0.5)
        out[i] = lo + (k + np.clip(frac, 0.0, 1.0)) * width
    return out


# --------------------------------------------------------------------------- error bars
#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054
#: Below this many units with (or without) the event, a design effect is not estimated:
#: the conservative one is used (every antithetic pair counted as one observation).
MIN_UNITS_FOR_DEFF = 10
_SLICE = 1 << 20


def unit_moment(x: np.ndarray, center: float, paired: bool) -> tuple[float, int]:
    """``sum over units i of (sum of x in unit i - center * size_i)^2`` and the number of
    units. Units are antithetic pairs ``(x[2i], x[2i + 1])`` (the last value alone when
    their number is odd) with ``paired``, single values otherwise. Summed in slices (memory
    stays flat)."""
    n = x.size
    total = 0.0
    if not paired:
        for lo in range(0, n, _SLICE):
            d = x[lo:lo + _SLICE] - center
            total += float(np.dot(d, d))
        return total, n
    m = n // 2
    for lo in range(0, m, _SLICE):
        hi = min(m, lo + _SLICE)
        pair = x[2 * lo:2 * hi].reshape(-1, 2)
        d = pair[:, 0] + pair[:, 1] - 2.0 * center
        total += float(np.dot(d, d))
    if n % 2:
        total += float((x[-1] - center) ** 2)
    return total, m + n % 2


def mean_variance(x: np.ndarray, paired: bool) -> float:
    """Variance of the mean of ``x`` (antithetic pairs as units with ``paired``)."""
    n = x.size
    if n < 2:
        return float("inf")
    c = float(x.mean())
    s, m = unit_moment(x, c, paired)
    if m < 2:
        return float("inf")
    return m / (m - 1.0) * s / (n * n)


def wilson(p: np.ndarray, n_eff: np.ndarray, z: float = Z95) -> np.ndarray:
    """Wilson score interval of proportions ``p`` with (effective) sample sizes ``n_eff``:
    ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``. Returns (k, 2)."""
    p = np.atleast_1d(np.asarray(p, float))
    n = np.atleast_1d(np.asarray(n_eff, float)) * np.ones_like(p)
    out = np.empty((p.size, 2))
    ok = n > 0
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        den = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / den
        half = z * np.sqrt(np.maximum(p * (1.0 - p) / n + z2 / (4.0 * n * n), 0.0)) / den
    out[:, 0] = np.where(ok, np.clip(centre - half, 0.0, 1.0), 0.0)
    out[:, 1] = np.where(ok, np.clip(centre + half, 0.0, 1.0), 1.0)
    out[:, 0] = np.minimum(out[:, 0], p)          # the interval holds its estimate
    out[:, 1] = np.maximum(out[:, 1], p)
    return out


def proportion_ci(count, n: int, s2, sk, units: int, k2: float, events_units, paired: bool,
                  z: float = Z95) -> np.ndarray:
    """95 % interval of proportions ``count / n`` (per position) from unit sums.

    ``s2`` = sum over units of the unit's count squared, ``sk`` = sum of count x unit size,
    ``k2`` = sum of the unit sizes squared, ``units`` their number, ``events_units`` the
    number of units with at least one event. The design effect of antithetic pairs
    (``Var / (p (1 - p) / n)``) sets the effective sample size of a Wilson interval; where
    fewer than :data:`MIN_UNITS_FOR_DEFF` units have (or lack) the event, every pair counts
    as one observation (the widest it can be). Plain sampling: the Wilson interval."""
    count = np.asarray(count, float)
    p = count / n if n else np.zeros_like(count)
    if not paired or units >= n:
        return wilson(p, np.full(p.shape, float(n)), z)
    s2 = np.asarray(s2, float)
    sk = np.asarray(sk, float)
    ev = np.asarray(events_units)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = units / max(units - 1.0, 1.0) * (s2 - 2.0 * p * sk + p * p * k2) / (n * n)
        deff = var / (p * (1.0 - p) / n)
    reliable = (ev >= MIN_UNITS_FOR_DEFF) & (units - ev >= MIN_UNITS_FOR_DEFF) & np.isfinite(deff)
    deff = np.where(reliable, np.clip(deff, 0.05, n / units), n / units)
    return wilson(p, n / deff, z)


def var_rank_interval(n: int, level: float, deff: float = 1.0, z: float = Z95) -> tuple[int, int]:
    """Ranks (0-based, in ascending losses) of the order statistics bounding a 95 % interval
    of the ``level`` quantile of the loss: the binomial count of losses at or below the
    quantile is ``n level +- z sqrt(n level (1 - level) deff)`` (normal approximation; the
    design effect ``deff`` of antithetic pairs, 1 for plain sampling)."""
    sd = math.sqrt(max(n * level * (1.0 - level) * max(deff, 0.0), 0.0))
    lo = int(math.floor(n * level - z * sd)) - 1
    hi = int(math.ceil(n * level + z * sd))
    return max(0, min(n - 1, lo)), max(0, min(n - 1, hi))


def tail_design_effect(pnl: np.ndarray, var: float, level: float, paired: bool) -> float:
    """Design effect at the VaR: of the share of paths losing more than ``var``, antithetic
    pairs as units (1 for plain sampling; the conservative 2 when too few pairs show it)."""
    if not paired:
        return 1.0
    n = pnl.size
    ind = (pnl < -var).astype(np.float64)
    q = float(ind.mean()) if n else 0.0
    events = int(ind.sum())
    if events < MIN_UNITS_FOR_DEFF or n - events < MIN_UNITS_FOR_DEFF or q <= 0 or q >= 1:
        return 2.0
    s, m = unit_moment(ind, q, True)
    var_q = m / (m - 1.0) * s / (n * n)
    return float(np.clip(var_q / (q * (1 - q) / n), 0.05, 2.0))


def cvar_half_width(pnl: np.ndarray, var: float, level: float, paired: bool, n_total: int | None = None,
                    z: float = Z95) -> float:
    """Half-width of a 95 % interval of the CVaR: asymptotic normal, from the variance of
    the tail excess ``max(loss - VaR, 0) / (1 - level)`` (the CVaR estimator's influence
    function), antithetic pairs as units. ``pnl`` may be a subsample of ``n_total`` paths:
    the per-path variance is estimated on it."""
    n = pnl.size
    if n < 2 or level >= 1:
        return float("inf")
    psi = np.maximum(-pnl - var, 0.0) / (1.0 - level)
    v = mean_variance(psi, paired) * n / float(n_total or n)
    return z * math.sqrt(v) if math.isfinite(v) else float("inf")
