"""Monte Carlo: streamed, reproducible loss distributions and liquidation odds.

Paths come from :mod:`engine.path_models` (Student-t factor model, block bootstrap, GBM),
optionally amplified by the liquidation cascade (:mod:`engine.cascade`), and every path is
liquidated and valued by the replay kernel :func:`engine.replay.run_book`, so a path's
result is exactly what a replay of that path gives.

Reproducibility: paths are drawn in fixed *blocks* (``block_paths`` paths, a function of
the horizon and asset count only; block 0 is a quarter block so the first partial result
comes sooner). Block ``b`` draws from
``Generator(SFC64(SeedSequence(seed).spawn(n_blocks)[b]))``. A chunk is a whole number of
blocks and every aggregate is summed block by block in block order, so the results do not
depend on the chunk size or on the number of worker threads.

Memory stays flat as paths grow: per path only the final portfolio P&L (float64, for exact
VaR/CVaR and last-step percentiles) and, with a cascade, the market's liquidated notional
are kept (8 bytes each: 8 MB per million paths). The fan of values per step comes from
fixed-bin per-step histograms (edges fixed from block 0: its range per step widened by 50 %
on each side, up to 2048 bins; values outside go to the end bins) with linear
interpolation inside a bin; the last step's percentiles are exact.
"""
from __future__ import annotations

import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .book import Book, compile_book
from .cascade import CascadeParams, amplify
from .errors import InputError
from .path_models import MODELS, PathModel, build_path_model
from .replay import PricePaths, run_book

FAN_LEVELS = (1, 5, 25, 50, 75, 95, 99)
VAR_LEVELS = ("0.95", "0.99")
BLOCK_CELLS = 1 << 22          # price cells (paths x (steps + 1) x assets) per block
MAX_BLOCK_PATHS = 4096
FAN_CELLS = 1 << 22            # per-step histogram cells (steps + 1) x bins
FAN_BINS_MAX = 2048
FAN_BINS_MIN = 64
HIST_BINS = 100
FINE_PER_BIN = 80             # the running P&L histogram has HIST_BINS * FINE_PER_BIN bins
EXACT_RUNNING_MAX = 1 << 18   # running VaR/CVaR exact up to this many paths, then from the fine histogram
MAX_PATHS = 100_000_000
MAX_STEPS = 100_000
FIRST_CHUNK_BLOCKS = 1
MAX_AUTO_CHUNK_BLOCKS = 8


_ALLOCATOR_TUNED = False


def _tune_allocator() -> None:
    """Keep freed memory in the process (glibc): the kernel's temporaries (a few MB each)
    then reuse warm pages instead of being mapped and zero-filled afresh for every block,
    which cost about a third of the run time in page faults. Process-wide and once; memory
    kept is bounded by the run's peak (~150 MB). No-op elsewhere or if it fails; set
    ``CRASHLAB_MALLOC_TUNING=0`` to skip."""
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return
    _ALLOCATOR_TUNED = True
    if not sys.platform.startswith("linux") or os.environ.get("CRASHLAB_MALLOC_TUNING") == "0":
        return
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 64 << 20)      # blocks below 64 MB from the heap
        libc.mallopt(m_trim_threshold, 512 << 20)     # give memory back above 512 MB free
    except (OSError, AttributeError):
        pass


# --------------------------------------------------------------------------- API types
@dataclass
class MonteCarloRequest:
    """What to simulate. ``vols`` are annual vols of log returns (``{"BTC": 0.6}``);
    ``chunk_paths`` 0 picks chunk sizes automatically (the first chunk is one block)."""

    n_paths: int
    days: int
    seed: int = 0
    model: str = "student-t"              # "student-t" | "bootstrap" | "gbm"
    steps_per_day: int = 1
    vols: dict | None = None
    history: object | None = None         # engine.price_history.PriceHistory
    beta_overrides: dict | None = None
    cascade: CascadeParams | None = None
    chunk_paths: int = 0
    sample_paths: int = 200
    threads: int = 0                      # worker threads, 0 = min(2, CPUs)
    df: float | None = None               # Student-t degrees of freedom (None: calibrated)
    jump_intensity: float | None = None   # crash jumps per year (None: default)
    block_len: int | None = None          # bootstrap block length in steps (None: 5 days)


@dataclass
class MonteCarloChunk:
    """Running results after ``paths_done`` paths (``final`` on the last chunk).

    Arrays are the chunk's own copies. Values in USD; loss amounts positive.

    fan : ndarray (7, n_steps + 1)
        Percentiles ``fan_levels`` of the portfolio value per step.
    hist_edges, hist_counts : ndarray (HIST_BINS + 1,), (HIST_BINS,)
        Histogram of the final P&L; fixed edges (from block 0), values outside the edges
        counted in the end bins (``hist_clamped`` says how many below/above).
    var, cvar : dict "0.95"/"0.99" -> float
        Value at risk and expected shortfall of the final P&L, as positive loss amounts.
    liquidation_probability : ndarray (n_positions,)
    liquidation_time_hist : ndarray of int64 (n_positions, n_steps + 1)
        Number of paths liquidating each position at each step.
    expected_loss_by_asset : dict
        Mean loss (positive = loss) per asset label; a liquidated cross account's wallet
        under ``"wallet <account>"``.
    sample_values : ndarray (k, n_steps + 1)
        Portfolio value of the first ``k`` paths (a fixed subsample for drawing).
    cascade_liquidated_notional : ndarray (7,) or None
        Percentiles ``fan_levels`` over paths of the market-wide liquidated notional.
    """

    paths_done: int
    paths_total: int
    elapsed: float
    final: bool
    fan_levels: tuple
    fan: np.ndarray
    hist_edges: np.ndarray
    hist_counts: np.ndarray
    var: dict
    cvar: dict
    liquidation_probability: np.ndarray
    liquidation_time_hist: np.ndarray
    expected_loss_by_asset: dict
    sample_values: np.ndarray
    value_before: float
    cascade_liquidated_notional: np.ndarray | None = None
    # extras
    position_ids: list = field(default_factory=list)
    position_kinds: list = field(default_factory=list)
    position_assets: list = field(default_factory=list)
    n_steps: int = 0
    steps_per_day: int = 1
    seed: int = 0
    model: str = ""
    expected_pnl: float = 0.0
    prob_loss: float = 0.0
    sample_liq_step: np.ndarray | None = None
    hist_clamped: tuple = (0, 0)
    expected_pnl_by_position: np.ndarray | None = None
    cascade_summary: dict | None = None
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    calibration: dict = field(default_factory=dict)

    @property
    def step_days(self) -> np.ndarray:
        return np.arange(self.n_steps + 1) / self.steps_per_day


# --------------------------------------------------------------------------- statistics
def var_cvar(pnl: np.ndarray, level: float) -> tuple[float, float]:
    """VaR and CVaR (expected shortfall) of a P&L sample as positive loss amounts.

    ``VaR = inf{x : P(loss <= x) >= level}`` (the empirical ``level`` quantile of the loss,
    no interpolation); ``CVaR`` is the mean of the worst ``(1 - level)`` share of losses,
    counting the VaR observation fractionally (Acerbi-Tasche), so that it is exact for
    any sample size: ``CVaR = (sum of the k largest losses + (n (1 - level) - k) * VaR) /
    (n (1 - level))`` with ``k = floor(n (1 - level))``.
    """
    out = _order_stats(np.asarray(pnl, float), var_levels=(level,))
    return out["var"][0], out["cvar"][0]


def _tail(n: int, level: float) -> tuple[int, float, int]:
    """(index of the VaR loss in ascending losses, tail size n(1 - level), floor of it)."""
    idx = max(0, min(n - 1, math.ceil(level * n - 1e-9) - 1))
    tail_n = n * (1.0 - level)
    if abs(tail_n - round(tail_n)) < 1e-9 * max(1.0, tail_n):
        tail_n = float(round(tail_n))         # 100 * (1 - 0.95) is 5, not 5.000000000000004
    return idx, tail_n, min(n, int(math.floor(tail_n)))


def _order_stats(x: np.ndarray, var_levels=(), percentiles=()) -> dict:
    """VaR/CVaR (of ``x`` as P&L) and linear-interpolated percentiles of ``x`` from one
    partial sort (one copy of ``x``: memory stays at 8 bytes per path)."""
    n = x.size
    if n == 0:
        nan = float("nan")
        return {"var": [nan] * len(var_levels), "cvar": [nan] * len(var_levels),
                "pct": [nan] * len(percentiles)}
    kth = set()
    tails = [_tail(n, a) for a in var_levels]
    for idx, _, k in tails:
        kth.add(n - 1 - idx)                  # the VaR loss is the (n-1-idx)-th smallest P&L
        if 0 < k < n:
            kth.add(k)                        # the k smallest P&L are the k largest losses
    pos = [(n - 1) * q / 100.0 for q in percentiles]
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


def _hist_stats(counts, sums, edges, var_levels, percentiles) -> dict:
    """Approximate :func:`_order_stats` from a P&L histogram (counts and P&L sums per bin;
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
    for qv in percentiles:
        j, _, frac = locate(qv / 100.0 * n)
        pct.append(lo + (j + frac) * w)
    return {"var": var, "cvar": cvar, "pct": pct}


def _fan_from_hist(counts: np.ndarray, lo: np.ndarray, width: np.ndarray, n: int) -> np.ndarray:
    """Percentiles FAN_LEVELS per step from per-step histograms (T+1, B)."""
    cum = np.cumsum(counts, axis=1)
    out = np.empty((len(FAN_LEVELS), counts.shape[0]))
    for i, q in enumerate(FAN_LEVELS):
        target = q / 100.0 * n
        k = (cum < target).sum(axis=1)
        k = np.minimum(k, counts.shape[1] - 1)
        rows = np.arange(counts.shape[0])
        below = np.where(k > 0, cum[rows, np.maximum(k - 1, 0)], 0)
        inbin = counts[rows, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(inbin > 0, (target - below) / inbin, 0.5)
        out[i] = lo + (k + np.clip(frac, 0.0, 1.0)) * width
    return out


# --------------------------------------------------------------------------- validation
def _int(v, flag, lo, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise InputError("must be a whole number", field=flag, value=v)
    if v < lo or (hi is not None and v > hi):
        rng = f"at least {lo:,}" if hi is None else f"between {lo:,} and {hi:,}"
        raise InputError(f"must be {rng}", field=flag, value=v)
    return int(v)


def validate_request(req: MonteCarloRequest) -> MonteCarloRequest:
    """Check a request; raises InputError naming the CLI flag and the value."""
    _int(req.n_paths, "--paths", 1, MAX_PATHS)
    _int(req.days, "--days", 1, 36500)
    _int(req.steps_per_day, "--steps-per-day", 1, 1440)
    _int(req.seed, "--seed", 0, 2 ** 128 - 1)
    _int(req.chunk_paths, "--chunk", 0)
    _int(req.sample_paths, "sample_paths", 0, 100_000)
    _int(req.threads, "threads", 0, 64)
    if req.model not in MODELS:
        raise InputError(f"unknown model; choose one of {', '.join(MODELS)}", field="--model",
                         value=req.model)
    if req.days * req.steps_per_day > MAX_STEPS:
        raise InputError(f"too many steps ({req.days * req.steps_per_day:,}); at most {MAX_STEPS:,} "
                         "(days x steps per day)", field="--steps-per-day", value=req.steps_per_day)
    for k, v in (req.vols or {}).items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InputError("annual vol must be a positive number, e.g. BTC=0.6", field=f"--vol {k}",
                             value=v)
    for k, v in (req.beta_overrides or {}).items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError("beta must be a finite number", field=f"--beta {k}", value=v)
    if req.cascade is not None:
        if not isinstance(req.cascade, CascadeParams):
            raise InputError("must be CascadeParams", field="--cascade", value=req.cascade)
        req.cascade.validate()
    return req


def block_paths(n_steps: int, n_assets: int) -> int:
    """Paths per block (the unit of seeding): a function of the shape only."""
    return int(max(16, min(MAX_BLOCK_PATHS, BLOCK_CELLS // ((n_steps + 1) * max(1, n_assets)))))


# --------------------------------------------------------------------------- context
class _BlockSeeds:
    """``SeedSequence(seed).spawn(n)[b]`` for any block ``b``, built on demand (a spawned
    child is ``SeedSequence(seed, spawn_key=(b,))``), so setup is O(1) in the path count."""

    def __init__(self, seed: int):
        self.seed = seed

    def __getitem__(self, b: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(int(b),))


@dataclass
class _Context:
    book: Book
    model: PathModel
    cascade: CascadeParams | None
    beta_sim: np.ndarray                  # (S,) beta of each simulated column (cascade)
    block: int
    first_block: int                      # paths in block 0
    n_paths: int
    n_blocks: int
    seeds: list
    sample_k: int
    n_steps: int
    pos_asset_keys: list
    acc_keys: list
    low_cols: np.ndarray                  # simulated columns whose lows / highs are drawn
    high_cols: np.ndarray


def _block_start(ctx, b):
    """First path of block ``b``: block 0 is a quarter block, at least 16 paths (the first
    partial result comes sooner), the others are whole blocks."""
    return 0 if b == 0 else ctx.first_block + (b - 1) * ctx.block


def _block_size(ctx, b):
    return min(ctx.first_block if b == 0 else ctx.block, ctx.n_paths - _block_start(ctx, b))


def _extreme_columns(book: Book, model: PathModel, need_btc_low: bool):
    """Simulated columns whose intra-step lows / highs the book can feel: lows of assets
    held long (isolated or cross) or as loan collateral, highs of assets held short or
    owed. Elsewhere a step's low and high are its close (no effect on any result)."""
    A = len(book.assets)
    low = np.zeros(A, bool)
    high = np.zeros(A, bool)
    low[book.iso_asset[book.iso_sign > 0]] = True
    high[book.iso_asset[book.iso_sign < 0]] = True
    low[book.cross_asset[book.cross_sign > 0]] = True
    high[book.cross_asset[book.cross_sign < 0]] = True
    low |= (book.loan_coll != 0).any(axis=0) if len(book.loan_pos) else False
    high |= (book.loan_debt != 0).any(axis=0) if len(book.loan_pos) else False
    cols = model.sim_index
    inside = cols >= 0
    lows = np.flatnonzero(inside & low[np.maximum(cols, 0)])
    highs = np.flatnonzero(inside & high[np.maximum(cols, 0)])
    if need_btc_low and model.btc_col not in lows:
        lows = np.sort(np.r_[lows, model.btc_col])
    return lows, highs


def _block_prices(ctx: _Context, rng, n, complete: bool = True):
    """Draw block paths; returns (PricePaths, cascade liquidated per path or None, BTC extra
    log move at the end per path or None). The price cubes are built in the kernel's
    layout (steps, assets, paths) and handed over as (paths, steps, assets) views.

    Lows (highs) are drawn only for the assets whose lows (highs) the book reads (see
    :func:`_extreme_columns`); elsewhere they equal the close. With ``complete=False``
    those unread columns hold today's price instead (cheaper to fill than a copy; the
    kernel never reads them, so every result is the same: tested)."""
    m = ctx.model
    lows, highs = ctx.low_cols, ctx.high_cols
    lc, ll, lh = m.simulate(rng, n, lows, highs)        # (T+1, cols, n) float32 log prices
    liq_total = None
    adj_end = None
    if ctx.cascade is not None:
        j = m.btc_col
        jl = int(np.searchsorted(lows, j))
        res = amplify(ctx.cascade, lc[:, j, :].T, ll[:, jl, :].T, m.steps_per_day)
        adj = res.adjust.T.astype(np.float32)[:, None, :]      # (T+1, 1, n)
        beta = ctx.beta_sim.astype(np.float32)[None, :, None]
        lc += adj * beta
        ll += adj * beta[:, lows]
        lh[1:] += adj[:-1] * beta[:, highs]
        np.maximum(lh, lc[:, highs], out=lh)
        liq_total = res.total_liquidated
        adj_end = res.adjust[:, -1]
    book = ctx.book
    today = book.today
    A = len(today)
    T1 = m.n_steps + 1
    cols = m.sim_index
    C = np.empty((T1, A, n))
    L = np.empty((T1, A, n))
    H = np.empty((T1, A, n))
    np.exp(lc, out=lc)
    np.exp(ll, out=ll)
    np.exp(lh, out=lh)
    book_col = {int(c): s for s, c in enumerate(cols) if c >= 0}
    low_at = {int(s): k for k, s in enumerate(lows)}
    high_at = {int(s): k for k, s in enumerate(highs)}
    for c in range(A):
        px = today[c]
        s = book_col.get(c)
        if s is None:                    # held at today's price (stablecoins)
            C[:, c, :] = px
            L[:, c, :] = px
            H[:, c, :] = px
            continue
        np.multiply(lc[:, s, :], px, out=C[:, c, :])
        for X, at, ext, clamp in ((L, low_at, ll, np.minimum), (H, high_at, lh, np.maximum)):
            k = at.get(s)
            if k is None:
                X[:, c, :] = C[:, c, :] if complete else px
            else:
                np.multiply(ext[:, k, :], px, out=X[:, c, :])
                clamp(X[:, c, :], C[:, c, :], out=X[:, c, :])
    for X in (C, L, H):
        X[0] = today[:, None]            # step 0 is exactly today
    view = lambda X: X.transpose(2, 0, 1)                       # noqa: E731
    return PricePaths.prepared(view(C), view(L), view(H)), liq_total, adj_end


@dataclass
class _BlockResult:
    b: int
    n: int
    pnl: np.ndarray
    values: np.ndarray                    # (n, T+1) float64
    liq_counts: np.ndarray
    pos_pnl: np.ndarray
    wallet_loss: np.ndarray
    sample_values: np.ndarray | None
    sample_liq: np.ndarray | None
    cascade_liq: np.ndarray | None
    cascade_adj: np.ndarray | None
    fan_counts: np.ndarray | None = None
    hist_counts: np.ndarray | None = None      # fine P&L histogram counts
    hist_sums: np.ndarray | None = None        # and the P&L summed per fine bin
    clamped: tuple = (0, 0)


def _run_block(ctx: _Context, b: int, edges) -> _BlockResult:
    n = _block_size(ctx, b)
    rng = np.random.Generator(np.random.SFC64(ctx.seeds[b]))
    paths, casc_liq, casc_adj = _block_prices(ctx, rng, n, complete=False)
    out = run_book(ctx.book, paths, series=False)
    del paths
    book = ctx.book
    T1 = ctx.n_steps + 1
    value = out.value
    pnl = value[:, -1] - value[:, 0]
    n_pos = book.n_positions
    liq = out.liq_step
    hit = liq >= 0
    flat = (np.arange(n_pos)[None, :] * T1 + liq)[hit]
    liq_counts = np.bincount(flat, minlength=n_pos * T1).reshape(n_pos, T1)
    pos_pnl = (out.position_end - out.position_start).sum(axis=0)
    wallet_loss = np.zeros(book.n_accounts)
    for j in range(book.n_accounts):
        members = book.cross_pos[book.cross_account == j]
        if len(members):
            dead = liq[:, members[0]] >= 0            # the account's positions share its step
            wallet_loss[j] = float(book.account_wallet[j]) * float(dead.sum())
    first = _block_start(ctx, b)
    sv = sl = None
    if first < ctx.sample_k:
        k = min(n, ctx.sample_k - first)
        sv = value[:k].copy()
        sl = liq[:k].copy()
    res = _BlockResult(b, n, pnl, value, liq_counts, pos_pnl, wallet_loss, sv, sl, casc_liq, casc_adj)
    if edges is not None:
        _histograms(res, edges)
        res.values = None
    return res


@dataclass
class _Edges:
    fan_lo: np.ndarray      # (T+1,)
    fan_w: np.ndarray       # (T+1,)
    fan_bins: int
    hist_edges: np.ndarray  # (HIST_BINS + 1,)


def _make_edges(values: np.ndarray, pnl: np.ndarray, v0: float, n_steps: int) -> _Edges:
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
    return _Edges(lo, width, bins, np.linspace(h_lo, h_hi, HIST_BINS + 1))


def _histograms(res: _BlockResult, edges: _Edges) -> None:
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


def _prepare(portfolio_or_book, req: MonteCarloRequest) -> _Context:
    validate_request(req)
    if isinstance(portfolio_or_book, Book):
        book = portfolio_or_book
    else:
        book = compile_book(portfolio_or_book)
    model = build_path_model(book.assets, book.today, model=req.model, days=req.days,
                             steps_per_day=req.steps_per_day, vols=req.vols, history=req.history,
                             beta_overrides=req.beta_overrides, need_btc=req.cascade is not None,
                             df=req.df, jump_intensity=req.jump_intensity, block_len=req.block_len)
    n_steps = model.n_steps
    block = block_paths(n_steps, max(len(book.assets), model.n_sim))
    first_block = max(16, block // 4)
    n_blocks = 1 + max(0, -(-(req.n_paths - first_block) // block))
    seeds = _BlockSeeds(int(req.seed))
    calib = {c.asset: c for c in model.calib}
    beta_sim = np.array([1.0 if a == "BTC" else calib[a].beta if a in calib else 1.0
                         for a in model.sim_assets])
    if model.btc_col is not None:
        beta_sim[model.btc_col] = 1.0
    low_cols, high_cols = _extreme_columns(book, model, need_btc_low=req.cascade is not None)
    return _Context(book=book, model=model, cascade=req.cascade, beta_sim=beta_sim, block=block,
                    first_block=first_block,
                    n_paths=int(req.n_paths), n_blocks=n_blocks, seeds=seeds,
                    sample_k=min(int(req.sample_paths), int(req.n_paths)), n_steps=n_steps,
                    pos_asset_keys=list(book.labels),
                    acc_keys=[f"wallet {a}" for a in book.account_ids],
                    low_cols=low_cols, high_cols=high_cols)


def _chunk_schedule(ctx: _Context, chunk_paths: int) -> list[int]:
    """Number of blocks in each chunk."""
    out = []
    left = ctx.n_blocks
    if chunk_paths > 0:
        per = max(1, -(-chunk_paths // ctx.block))
        while left > 0:
            out.append(min(per, left))
            left -= out[-1]
        return out
    size = FIRST_CHUNK_BLOCKS
    while left > 0:
        out.append(min(size, left))
        left -= out[-1]
        size = min(size * 2, MAX_AUTO_CHUNK_BLOCKS)
    return out


# --------------------------------------------------------------------------- streaming
class _Accumulator:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        book = ctx.book
        T1 = ctx.n_steps + 1
        self.pnl = np.empty(ctx.n_paths)
        self.casc = np.empty(ctx.n_paths) if ctx.cascade is not None else None
        self.casc_adj_sum = 0.0
        self.done = 0
        self.liq_counts = np.zeros((book.n_positions, T1), dtype=np.int64)
        self.pos_pnl = np.zeros(book.n_positions)
        self.wallet_loss = np.zeros(book.n_accounts)
        self.fan_counts = None
        self.hist_counts = np.zeros(HIST_BINS * FINE_PER_BIN, dtype=np.int64)
        self.hist_sums = np.zeros(HIST_BINS * FINE_PER_BIN)
        self.clamped = [0, 0]
        self.sample_values = np.zeros((0, T1))
        self.sample_liq = np.zeros((0, book.n_positions), dtype=np.int64)
        self.v0 = None
        self.edges = None

    def add(self, r: _BlockResult):
        lo = _block_start(self.ctx, r.b)
        self.pnl[lo:lo + r.n] = r.pnl
        if self.casc is not None:
            self.casc[lo:lo + r.n] = r.cascade_liq
            self.casc_adj_sum += float(r.cascade_adj.sum())
        self.done += r.n
        self.liq_counts += r.liq_counts
        self.pos_pnl += r.pos_pnl
        self.wallet_loss += r.wallet_loss
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

    def snapshot(self, req, t0, final) -> MonteCarloChunk:
        ctx = self.ctx
        book = ctx.book
        n = self.done
        pnl = self.pnl[:n]
        e = self.edges
        fan = _fan_from_hist(self.fan_counts, e.fan_lo, e.fan_w, n)
        fan[:, 0] = self.v0
        levels = [float(k) for k in VAR_LEVELS]
        if final or n <= EXACT_RUNNING_MAX:
            st = _order_stats(pnl, var_levels=levels, percentiles=FAN_LEVELS)
        else:       # running figures of a big run: from the fine histogram (cost flat in n)
            st = _hist_stats(self.hist_counts, self.hist_sums, e.hist_edges, levels, FAN_LEVELS)
        fan[:, -1] = self.v0 + np.array(st["pct"])
        var = dict(zip(VAR_LEVELS, st["var"]))
        cvar = dict(zip(VAR_LEVELS, st["cvar"]))
        by_asset: dict[str, float] = {}
        for i, key in enumerate(ctx.pos_asset_keys):
            by_asset[key] = by_asset.get(key, 0.0) - float(self.pos_pnl[i]) / n
        for j, key in enumerate(ctx.acc_keys):
            if self.wallet_loss[j]:
                by_asset[key] = by_asset.get(key, 0.0) + float(self.wallet_loss[j]) / n
        casc = casc_summary = None
        if self.casc is not None:
            c = self.casc[:n]
            if not final and n > EXACT_RUNNING_MAX:      # running figure: a fixed subsample
                c = c[::n // EXACT_RUNNING_MAX + 1]
            casc = np.array(_order_stats(c, percentiles=FAN_LEVELS)["pct"])
            full = self.casc[:n]
            casc_summary = {"mean": float(full.mean()), "max": float(full.max()),
                            "levels": list(FAN_LEVELS), "percentiles": casc.tolist(),
                            "mean_btc_extra_log_move": self.casc_adj_sum / n,
                            "strength": ctx.cascade.strength,
                            "open_interest": ctx.cascade.open_interest, "depth": ctx.cascade.depth}
        return MonteCarloChunk(
            paths_done=n, paths_total=ctx.n_paths, elapsed=time.perf_counter() - t0, final=final,
            fan_levels=FAN_LEVELS, fan=fan, hist_edges=e.hist_edges.copy(),
            hist_counts=self.hist_counts.reshape(HIST_BINS, FINE_PER_BIN).sum(axis=1), var=var, cvar=cvar,
            liquidation_probability=self.liq_counts.sum(axis=1) / n,
            liquidation_time_hist=self.liq_counts.copy(), expected_loss_by_asset=by_asset,
            sample_values=self.sample_values.copy(), value_before=float(self.v0),
            cascade_liquidated_notional=casc, position_ids=list(book.ids),
            position_kinds=list(book.kinds), position_assets=list(book.labels),
            n_steps=ctx.n_steps, steps_per_day=ctx.model.steps_per_day, seed=int(req.seed),
            model=req.model, expected_pnl=float(pnl.mean()), prob_loss=float((pnl < 0).mean()),
            sample_liq_step=self.sample_liq.copy(), hist_clamped=tuple(self.clamped),
            expected_pnl_by_position=self.pos_pnl / n, cascade_summary=casc_summary,
            notes=list(ctx.model.notes), warnings=[str(w) for w in book.warnings],
            calibration=ctx.model.describe())


def simulate_chunks(portfolio_or_book, request: MonteCarloRequest) -> Iterator[MonteCarloChunk]:
    """Run the Monte Carlo and yield running results chunk by chunk.

    Parameters
    ----------
    portfolio_or_book : Portfolio or Book
    request : MonteCarloRequest

    Yields
    ------
    MonteCarloChunk
        After each chunk (a whole number of blocks); the last one has ``final=True``.
        Stop iterating (or call ``close()``) to cancel: worker threads finish the blocks
        in progress and nothing more is computed.

    Raises
    ------
    InputError
        Bad request or portfolio (raised on the first ``next()``).
    """
    t0 = time.perf_counter()
    _tune_allocator()
    ctx = _prepare(portfolio_or_book, request)
    schedule = _chunk_schedule(ctx, int(request.chunk_paths))
    threads = int(request.threads) or min(2, os.cpu_count() or 1)
    threads = max(1, min(threads, ctx.n_blocks - 1)) if ctx.n_blocks > 1 else 1
    acc = _Accumulator(ctx)
    # block 0 alone: it fixes the histogram edges (so chunking cannot change them)
    r0 = _run_block(ctx, 0, None)
    acc.v0 = float(r0.values[0, 0])
    acc.edges = _make_edges(r0.values, r0.pnl, acc.v0, ctx.n_steps)
    _histograms(r0, acc.edges)
    r0.values = None
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="crashlab-mc") if threads > 1 else None
    pending: dict[int, object] = {}
    next_submit = 1
    window = 2 * threads
    try:
        acc.add(r0)
        b_done = 1
        for c, n_blocks in enumerate(schedule):
            end = sum(schedule[:c + 1])
            while b_done < end:
                if pool is None:
                    acc.add(_run_block(ctx, b_done, acc.edges))
                else:
                    while next_submit < ctx.n_blocks and next_submit < b_done + window:
                        pending[next_submit] = pool.submit(_run_block, ctx, next_submit, acc.edges)
                        next_submit += 1
                    acc.add(pending.pop(b_done).result())
                b_done += 1
            yield acc.snapshot(request, t0, final=b_done >= ctx.n_blocks)
    finally:
        for f in pending.values():
            f.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def block_price_paths(portfolio_or_book, request: MonteCarloRequest, block: int = 0) -> PricePaths:
    """The price paths of block ``block`` exactly as :func:`simulate_chunks` draws them
    (block 0 is the first quarter block and holds the sampled paths; block ``b >= 1``
    starts at path ``first_block + (b - 1) * block_paths``), e.g. to replay one path alone
    through :func:`engine.replay.run_book`."""
    ctx = _prepare(portfolio_or_book, request)
    if not 0 <= block < ctx.n_blocks:
        raise InputError(f"must be between 0 and {ctx.n_blocks - 1}", field="block", value=block)
    rng = np.random.Generator(np.random.SFC64(ctx.seeds[block]))
    return _block_prices(ctx, rng, _block_size(ctx, block))[0]


# --------------------------------------------------------------------------- results
def chunk_to_dict(ch: MonteCarloChunk, request: MonteCarloRequest | None = None,
                  portfolio_name: str | None = None) -> dict:
    """A chunk as a JSON-ready dictionary (the ``montecarlo --json`` output)."""
    T1 = ch.n_steps + 1
    steps = np.arange(T1)
    positions = []
    for i, pid in enumerate(ch.position_ids):
        h = ch.liquidation_time_hist[i]
        cnt = int(h.sum())
        row = {"id": pid, "kind": ch.position_kinds[i], "asset": ch.position_assets[i],
               "liquidation_probability": float(ch.liquidation_probability[i]),
               "expected_liquidation_step": float((h * steps).sum() / cnt) if cnt else None,
               "median_liquidation_step": int(np.searchsorted(np.cumsum(h), cnt / 2.0)) if cnt else None,
               "expected_liquidation_day": float((h * steps).sum() / cnt / ch.steps_per_day) if cnt else None,
               "liquidation_step_histogram": h.tolist(),
               "expected_pnl": float(ch.expected_pnl_by_position[i]) if ch.expected_pnl_by_position is not None else None}
        positions.append(row)
    out = {
        "portfolio": {"name": portfolio_name, "value_before": ch.value_before,
                      "expected_value_after": ch.value_before + ch.expected_pnl,
                      "expected_pnl": ch.expected_pnl, "prob_loss": ch.prob_loss},
        "seed": ch.seed, "model": ch.model, "paths": ch.paths_done, "paths_total": ch.paths_total,
        "days": ch.n_steps // max(1, ch.steps_per_day), "steps_per_day": ch.steps_per_day,
        "steps": ch.n_steps,
        "var": dict(ch.var), "cvar": dict(ch.cvar),
        "fan": {"levels": list(ch.fan_levels), "days": (steps / ch.steps_per_day).tolist(),
                "values": ch.fan.tolist()},
        "loss_histogram": {"pnl_edges": ch.hist_edges.tolist(), "counts": ch.hist_counts.tolist(),
                           "clamped_below_above": list(ch.hist_clamped)},
        "positions": positions,
        "expected_loss_by_asset": dict(ch.expected_loss_by_asset),
        "cascade": ch.cascade_summary,
        "calibration": ch.calibration,
        "notes": list(ch.notes),
        "warnings": list(ch.warnings),
        "elapsed_seconds": ch.elapsed,
    }
    return out


def run_montecarlo(portfolio, request: MonteCarloRequest) -> dict:
    """Run to completion and return the JSON-ready result (see :func:`chunk_to_dict`)."""
    last = None
    for last in simulate_chunks(portfolio, request):
        pass
    name = getattr(portfolio, "name", None)
    return chunk_to_dict(last, request, name)
