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
