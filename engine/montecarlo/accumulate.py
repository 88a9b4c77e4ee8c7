"""Accumulation: what a block gives (:class:`BlockResult`), its histograms on the run's fixed
edges, and the running sums from which every chunk's results are read (:class:`Accumulator`).

Memory stays flat as paths grow: per path only the final portfolio P&L (float64, for exact
VaR/CVaR and last-step quantiles) and, with a cascade, the market's liquidated notional are
kept (8 bytes each: 8 MB per million paths). The fan of values per step comes from fixed-bin
per-step histograms (edges fixed from block 0: its range per step widened by 50 % on each
side, up to 2048 bins; values outside go to the end bins) with linear interpolation inside a
bin; the last step's quantiles are exact. Every sum is taken block by block in block order.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..attribution import PnL, pnl_by_asset
from ..path_models import antithetic_partner
from .context import Context
from .request import FAN_LEVELS, VAR_LEVELS, MonteCarloChunk, MonteCarloRequest, level_key
from .stats import (cvar_half_width, fan_from_hist, hist_stats, order_stats, proportion_ci,
                    tail_design_effect, var_rank_interval)

FAN_CELLS = 1 << 22            # per-step histogram cells (steps + 1) x bins
FAN_BINS_MAX = 2048
FAN_BINS_MIN = 64
HIST_BINS = 100
FINE_PER_BIN = 80             # the running P&L histogram has HIST_BINS * FINE_PER_BIN bins
EXACT_RUNNING_MAX = 1 << 18   # running VaR/CVaR exact up to this many paths, then from the fine histogram
CI_RUNNING_SAMPLE = 1 << 16   # running intervals: design effect and tail variance from this many paths
MIN_STOP_PATHS = 10_000       # the precision stop rule is not applied before this many paths


def interleave(n: int) -> np.ndarray:
    """Storage order of a block of ``n`` paths: antithetic partners side by side (``j, h + j``
    at ``2j, 2j + 1``), the path without a partner last (``n`` odd)."""
    first, second = antithetic_partner(n)
    k = len(first)
    order = np.empty(n, dtype=np.int64)
    order[0:2 * k:2] = first
    order[1:2 * k:2] = second
    order[2 * k:] = np.arange(k, n - k)
    return order


def pair_counts(hit: np.ndarray, paired: bool) -> tuple[np.ndarray, ...]:
    """Per position, from a block's (n, positions) liquidation flags: sum of unit counts
    squared, of count x unit size, units with an event; and the block's number of units and
    sum of unit sizes squared (units: antithetic pairs with ``paired``, else paths)."""
    n = hit.shape[0]
    h = hit.astype(np.int64)
    if not paired:
        c = h.sum(axis=0)
        return c, c, c, n, n
    first, second = antithetic_partner(n)
    k = len(first)
    y = h[first] + h[second]
    single = h[k:n - k].sum(axis=0)
    return ((y * y).sum(axis=0) + single, 2 * y.sum(axis=0) + single, (y > 0).sum(axis=0) + single,
            k + (n - 2 * k), 4 * k + (n - 2 * k))

@dataclass
class BlockResult:
    b: int
    n: int
    pnl: np.ndarray
    values: np.ndarray | None             # (n, T+1) float64, dropped once binned
    liq_counts: np.ndarray
    pair_stats: tuple                     # pair_counts of the block's liquidations
    parts: PnL                            # P&L parts summed over the block's paths
    sample_values: np.ndarray | None
    sample_liq: np.ndarray | None
    cascade_liq: np.ndarray | None
    cascade_adj: np.ndarray | None
    fan_counts: np.ndarray | None = None
    hist_counts: np.ndarray | None = None      # fine P&L histogram counts
    hist_sums: np.ndarray | None = None        # and the P&L summed per fine bin
    clamped: tuple = (0, 0)


@dataclass
class Edges:
    fan_lo: np.ndarray      # (T+1,)
    fan_w: np.ndarray       # (T+1,)
    fan_bins: int
    hist_edges: np.ndarray  # (HIST_BINS + 1,)


def make_edges(values: np.ndarray, pnl: np.ndarray, v0: float, n_steps: int) -> Edges:
    """The run's histogram edges from block 0's values and P&L."""
    T1 = n_steps + 1
    bins = int(max(FAN_BINS_MIN, min(FAN_BINS_MAX, FAN_CELLS // T1)))
    vmin = values.min(axis=0)
    vmax = values.max(axis=0)
    span = vmax - vmin
    floor = np.maximum(np.abs(vmax), np.abs(vmin)) * 1e-6 + 1e-9
    span = np.maximum(span, floor)
    lo = vmin - 0.5 * span
    width = (2.0 * span) / bins
    pmin, pmax = float(pnl.min()), float(pnl.max())
    pspan = max(pmax - pmin, abs(v0) * 1e-6 + 1e-9)
    h_lo = pmin - 0.5 * pspan
    if pmin >= -abs(v0):
        h_lo = max(h_lo, -abs(v0))
    h_hi = pmax + 0.5 * pspan
    return Edges(lo, width, bins, np.linspace(h_lo, h_hi, HIST_BINS + 1))


def bin_block(res: BlockResult, edges: Edges) -> None:
    """Fill the block's per-step value histograms and fine P&L histogram, then drop its
    value series."""
    v = res.values
    T1 = v.shape[1]
    k = np.floor((v - edges.fan_lo) / edges.fan_w)
    np.clip(k, 0, edges.fan_bins - 1, out=k)
    flat = (k.astype(np.int64) + np.arange(T1) * edges.fan_bins).ravel()
    res.fan_counts = np.bincount(flat, minlength=T1 * edges.fan_bins).reshape(T1, edges.fan_bins)
    he = edges.hist_edges
    nf = HIST_BINS * FINE_PER_BIN
    w = (he[-1] - he[0]) / nf
    hk = np.floor((res.pnl - he[0]) / w)
    below = int((hk < 0).sum())
    above = int((hk >= nf).sum())
    hk = np.clip(hk, 0, nf - 1).astype(np.int64)
    res.hist_counts = np.bincount(hk, minlength=nf)
    res.hist_sums = np.bincount(hk, weights=res.pnl, minlength=nf)
    res.clamped = (below, above)
    res.values = None


class Accumulator:
    """Running sums over the blocks added so far (in block order)."""

    def __init__(self, ctx: Context, first: BlockResult):
        """Start from block 0 (unbinned): it fixes the value today and the histogram edges."""
        self.ctx = ctx
        book = ctx.book
        T1 = ctx.n_steps + 1
        self.pnl = np.empty(ctx.n_paths)           # interleaved: partners at (2i, 2i + 1)
        self.casc = np.empty(ctx.n_paths) if ctx.cascade is not None else None
        self.casc_adj_sum = 0.0
        self.done = 0
        self.paired = bool(ctx.model.antithetic)
        self.liq_counts = np.zeros((book.n_positions, T1), dtype=np.int64)
        self.parts = PnL.zeros(book)
        self.liq_s2 = np.zeros(book.n_positions, dtype=np.int64)
        self.liq_sk = np.zeros(book.n_positions, dtype=np.int64)
        self.liq_ev = np.zeros(book.n_positions, dtype=np.int64)
        self.units = 0
        self.k2 = 0
        self.never = np.array([k == "spot" for k in book.kinds], dtype=bool)
        self.fan_counts = None
        self.hist_counts = np.zeros(HIST_BINS * FINE_PER_BIN, dtype=np.int64)
        self.hist_sums = np.zeros(HIST_BINS * FINE_PER_BIN)
        self.clamped = [0, 0]
        self.sample_values = np.zeros((0, T1))
        self.sample_liq = np.zeros((0, book.n_positions), dtype=np.int64)
        self.v0 = ctx.value_today          # exact (the paths' step 0 is float32(today))
        self.edges = make_edges(first.values, first.pnl, self.v0, ctx.n_steps)
        bin_block(first, self.edges)

    def add(self, r: BlockResult):
        lo = self.ctx.layout.start(r.b)
        order = interleave(r.n) if self.paired else slice(None)
        self.pnl[lo:lo + r.n] = r.pnl[order]
        if self.casc is not None:
            self.casc[lo:lo + r.n] = r.cascade_liq[order]
            self.casc_adj_sum += float(r.cascade_adj.sum())
        self.done += r.n
        self.liq_counts += r.liq_counts
        self.parts = self.parts + r.parts
        s2, sk, ev, units, k2 = r.pair_stats
        self.liq_s2 += s2
        self.liq_sk += sk
        self.liq_ev += ev
        self.units += units
        self.k2 += k2
        if self.fan_counts is None:
            self.fan_counts = r.fan_counts.copy()
        else:
            self.fan_counts += r.fan_counts
        self.hist_counts += r.hist_counts
        self.hist_sums += r.hist_sums
        self.clamped[0] += r.clamped[0]
        self.clamped[1] += r.clamped[1]
        if r.sample_values is not None:
            self.sample_values = np.concatenate([self.sample_values, r.sample_values])
            self.sample_liq = np.concatenate([self.sample_liq, r.sample_liq])

    def liquidation_ci(self) -> np.ndarray:
        """95 % intervals of every position's probability of liquidation, (positions, 2)."""
        count = self.liq_counts.sum(axis=1)
        ci = proportion_ci(count, self.done, self.liq_s2, self.liq_sk, self.units, self.k2,
                           self.liq_ev, self.paired)
        ci[self.never] = 0.0                     # spot holdings are never liquidated: known exactly
        return ci

    def precise_enough(self, half_width: float) -> bool:
        """The stop rule: every position's P(liq) known to +- ``half_width`` (the larger
        side of its 95 % interval), after at least :data:`MIN_STOP_PATHS` paths."""
        if self.done < MIN_STOP_PATHS:
            return False
        ci = self.liquidation_ci()
        if not len(ci):
            return True
        p = self.liq_counts.sum(axis=1) / self.done
        return bool(np.all(np.maximum(ci[:, 1] - p, p - ci[:, 0]) <= half_width))

    def _var_ci(self, pnl: np.ndarray, var: dict, exact: bool, levels) -> dict:
        """95 % intervals of VaR: the order statistics at the binomial ranks, widened by the
        design effect of the antithetic pairs. With ``exact`` from all of ``pnl``; else the
        ranks' values from the fine histogram and the design effect from the first
        :data:`CI_RUNNING_SAMPLE` paths (the interval's width, not its place)."""
        n = pnl.size
        sub = pnl if exact else pnl[:CI_RUNNING_SAMPLE]
        var_ci = {}
        ranks = []
        for key, a in zip(VAR_LEVELS, levels):
            deff = tail_design_effect(sub, var[key], a, self.paired)
            ranks.append(var_rank_interval(n, a, deff))
        if exact:
            kth = sorted({n - 1 - r for pair in ranks for r in pair})
            part = np.partition(pnl, kth)
            values = [(-float(part[n - 1 - lo]), -float(part[n - 1 - hi])) for lo, hi in ranks]
        else:
            e = self.edges
            qs = [((lo + 0.5) / n, (hi + 0.5) / n) for lo, hi in ranks]
            flat = [1.0 - q for pair in qs for q in pair]
            got = hist_stats(self.hist_counts, self.hist_sums, e.hist_edges, [], flat)["pct"]
            values = [(-got[2 * i], -got[2 * i + 1]) for i in range(len(ranks))]
        for key, (lo, hi) in zip(VAR_LEVELS, values):
            var_ci[key] = [min(lo, var[key]), max(hi, var[key])]
        return var_ci

    def snapshot(self, req: MonteCarloRequest, t0: float, final: bool) -> MonteCarloChunk:
        ctx = self.ctx
        book = ctx.book
        n = self.done
        pnl = self.pnl[:n]
        e = self.edges
        fan = fan_from_hist(self.fan_counts, e.fan_lo, e.fan_w, n, FAN_LEVELS)
        fan[:, 0] = self.v0
        levels = [float(k) for k in VAR_LEVELS]
        if final or n <= EXACT_RUNNING_MAX:
            st = order_stats(pnl, var_levels=levels, quantiles=FAN_LEVELS)
        else:       # running figures of a big run: from the fine histogram (cost flat in n)
            st = hist_stats(self.hist_counts, self.hist_sums, e.hist_edges, levels, FAN_LEVELS)
        fan[:, -1] = self.v0 + np.array(st["pct"])
        var = dict(zip(VAR_LEVELS, st["var"]))
        cvar = dict(zip(VAR_LEVELS, st["cvar"]))
        # running chunks: intervals from the fine histogram and a fixed subsample (cost flat
        # in n); the final chunk: exact over every path
        exact = final or n <= CI_RUNNING_SAMPLE
        var_ci = self._var_ci(pnl, var, exact, levels)
        sub = pnl if exact else pnl[:CI_RUNNING_SAMPLE]
        cvar_ci = {}                   # asymptotic: the tail excess's variance (pairs as units)
        for key, a in zip(VAR_LEVELS, levels):
            hw = cvar_half_width(sub, var[key], a, self.paired, n_total=n)
            cvar_ci[key] = [cvar[key] - hw, cvar[key] + hw]
        mean = self.parts.scaled(1.0 / n)
        by_asset = {k: -v for k, v in pnl_by_asset(book, mean).items()}
        casc = casc_summary = None
        if self.casc is not None:
            c = self.casc[:n]
            if not final and n > EXACT_RUNNING_MAX:      # running figure: a fixed subsample
                c = c[::n // EXACT_RUNNING_MAX + 1]
            casc = np.array(order_stats(c, quantiles=FAN_LEVELS)["pct"])
            full = self.casc[:n]
            casc_summary = {"mean": float(full.mean()), "max": float(full.max()),
                            "levels": [level_key(q) for q in FAN_LEVELS], "percentiles": casc.tolist(),
                            "mean_btc_extra_log_move": self.casc_adj_sum / n,
                            "strength": ctx.cascade.strength,
                            "open_interest": ctx.cascade.open_interest, "depth": ctx.cascade.depth}
        return MonteCarloChunk(
            paths_done=n, paths_total=ctx.n_paths, elapsed=time.perf_counter() - t0, final=final,
            fan_levels=FAN_LEVELS, fan=fan, hist_edges=e.hist_edges.copy(),
            hist_counts=self.hist_counts.reshape(HIST_BINS, FINE_PER_BIN).sum(axis=1), var=var, cvar=cvar,
            liquidation_probability=self.liq_counts.sum(axis=1) / n,
            liquidation_probability_ci=self.liquidation_ci(), var_ci=var_ci, cvar_ci=cvar_ci,
            antithetic=self.paired, stopped_early=bool(final and n < ctx.n_paths),
            liq_precision=req.liq_precision,
            liquidation_time_hist=self.liq_counts.copy(), expected_loss_by_asset=by_asset,
            sample_values=self.sample_values.copy(), value_before=float(self.v0),
            cascade_liquidated_notional=casc, position_ids=list(book.ids),
            position_kinds=list(book.kinds), position_assets=list(book.labels),
            n_steps=ctx.n_steps, steps_per_day=ctx.model.steps_per_day, seed=int(req.seed),
            model=req.model, expected_pnl=float(pnl.mean()), prob_loss=float((pnl < 0).mean()),
            sample_liq_step=self.sample_liq.copy(), hist_clamped=tuple(self.clamped),
            expected_pnl_by_position=mean.position + mean.costs, cascade_summary=casc_summary,
            notes=list(ctx.model.notes), warnings=[str(w) for w in book.warnings],
            calibration=ctx.model.describe())
