"""Simulation: draw a block's price paths, run them through the replay kernel, and stream
chunks of blocks on worker threads (:func:`simulate_chunks`)."""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np

from ..attribution import outcome_pnl
from ..cascade import amplify, shift_log_prices
from ..errors import InputError
from ..replay import PricePaths, run_book
from ..allocator import release_memory
from .accumulate import Accumulator, BlockResult, Edges, bin_block, pair_counts
from .blocks import block_rng
from .context import Context, prepare
from .request import MonteCarloChunk, MonteCarloRequest

THREAD_PREFIX = "crashlab-mc"


def block_prices(ctx: Context, rng, n, complete: bool = True):
    """Draw block paths; returns (PricePaths, cascade liquidated per path or None, BTC extra
    log move at the end per path or None). The price cubes are float32, built in the
    kernel's layout (steps, assets, paths) and handed over as (paths, steps, assets) views.

    Lows (highs) are drawn only for the assets whose lows (highs) the book reads (see
    :func:`engine.montecarlo.context.extreme_columns`); elsewhere they equal the close. With
    ``complete=False`` those unread columns hold today's price instead (cheaper to fill than
    a copy; the kernel never reads them, so every result is the same: tested).

    Float32 prices: a price is ``float32(exp(log move) * float32(today))``, within 1.2e-7
    of the exact product of the float32 log move; step 0 is ``float32(today)``. The kernel
    compares exactly these numbers with its float64 liquidation levels (a decision can only
    differ from a float64 cube where a price lies within that rounding of a level: tested)."""
    m = ctx.model
    lows, highs = ctx.low_cols, ctx.high_cols
    lc, ll, lh = m.simulate(rng, n, lows, highs)        # (T+1, cols, n) float32 log prices
    liq_total = None
    adj_end = None
    if ctx.cascade is not None:
        j = m.btc_col
        jl = int(np.searchsorted(lows, j))
        res = amplify(ctx.cascade, lc[:, j, :].T, ll[:, jl, :].T, m.steps_per_day)
        shift_log_prices(lc, ll, lh, res.adjust.T[:, None, :], ctx.beta_sim, lows, highs)
        liq_total = res.total_liquidated
        adj_end = res.adjust[:, -1]
    book = ctx.book
    today = book.today.astype(np.float32)
    A = len(today)
    T1 = m.n_steps + 1
    f32 = np.float32
    C = np.empty((T1, A, n), dtype=f32)
    L = np.empty((T1, A, n), dtype=f32)
    H = np.empty((T1, A, n), dtype=f32)
    book_col = {c: int(s) for c, s in enumerate(ctx.book_sim) if s >= 0}   # pegged: the base's
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
        x = C[:, c, :]
        np.exp(lc[:, s, :], out=x)
        x *= px
        for X, at, ext, clamp in ((L, low_at, ll, np.minimum), (H, high_at, lh, np.maximum)):
            k = at.get(s)
            if k is None:
                X[:, c, :] = x if complete else px
            else:
                y = X[:, c, :]
                np.exp(ext[:, k, :], out=y)
                y *= px
                clamp(y, x, out=y)
    if ctx.depeg is not None:            # drawn after the model's numbers: base paths unchanged
        ctx.depeg.apply(rng, C, L, H)
    for X in (C, L, H):
        X[0] = today[:, None]            # step 0 is today
    view = lambda X: X.transpose(2, 0, 1)                       # noqa: E731
    return PricePaths.prepared(view(C), view(L), view(H)), liq_total, adj_end


def run_block(ctx: Context, b: int, edges: Edges | None) -> BlockResult:
    """Draw and replay block ``b``; binned on ``edges`` (None: block 0, binned later)."""
    n = ctx.layout.size(b)
    paths, casc_liq, casc_adj = block_prices(ctx, block_rng(ctx.seeds, b), n, complete=False)
    out = run_book(ctx.book, paths, hours=ctx.hours, series=False)
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
    pairs = pair_counts(hit, ctx.model.antithetic)
    first = ctx.layout.start(b)
    sv = sl = None
    if first < ctx.sample_k:
        k = min(n, ctx.sample_k - first)
        sv = value[:k].copy()
        sl = liq[:k].copy()
    res = BlockResult(b, n, pnl, value, liq_counts, pairs, outcome_pnl(book, out), sv, sl,
                      casc_liq, casc_adj)
    if edges is not None:
        bin_block(res, edges)
    return res


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

    Long runs are faster with the process-wide allocator tuning that ``main.py`` applies at
    start-up (:mod:`engine.allocator`).
    """
    t0 = time.perf_counter()
    ctx = prepare(portfolio_or_book, request)
    schedule = ctx.layout.schedule(int(request.chunk_paths))
    threads = int(request.threads) or min(2, os.cpu_count() or 1)
    threads = max(1, min(threads, ctx.n_blocks - 1)) if ctx.n_blocks > 1 else 1
    # block 0 alone: it fixes the histogram edges (so chunking cannot change them)
    r0 = run_block(ctx, 0, None)
    acc = Accumulator(ctx, r0)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=THREAD_PREFIX) if threads > 1 else None
    pending: dict[int, object] = {}
    next_submit = 1
    window = 2 * threads
    precision = request.liq_precision
    try:
        acc.add(r0)
        b_done = 1
        stop = False
        for c, n_blocks in enumerate(schedule):
            end = sum(schedule[:c + 1])
            while b_done < end and not stop:
                if pool is None:
                    acc.add(run_block(ctx, b_done, acc.edges))
                else:
                    while next_submit < ctx.n_blocks and next_submit < b_done + window:
                        pending[next_submit] = pool.submit(run_block, ctx, next_submit, acc.edges)
                        next_submit += 1
                    acc.add(pending.pop(b_done).result())
                b_done += 1
                # the stop rule is checked after every block, in block order: where it stops
                # depends on the seed only, not on chunks or threads
                stop = precision is not None and acc.precise_enough(precision)
            yield acc.snapshot(request, t0, final=stop or b_done >= ctx.n_blocks)
            if stop:
                break
    finally:
        for f in pending.values():
            f.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        # the run's blocks are gone: give the memory the tuned allocator kept back
        pending.clear()
        del acc, r0
        release_memory()


def block_price_paths(portfolio_or_book, request: MonteCarloRequest, block: int = 0) -> PricePaths:
    """The price paths of block ``block`` exactly as :func:`simulate_chunks` draws them
    (block 0 is the first quarter block and holds the sampled paths; block ``b >= 1``
    starts at path ``first_block + (b - 1) * block_paths``), e.g. to replay one path alone
    through :func:`engine.replay.run_book`."""
    ctx = prepare(portfolio_or_book, request)
    if not 0 <= block < ctx.n_blocks:
        raise InputError(f"must be between 0 and {ctx.n_blocks - 1}", field="block", value=block)
    return block_prices(ctx, block_rng(ctx.seeds, block), ctx.layout.size(block))[0]
