"""Benchmark: Monte Carlo with path-dependent liquidation.

1,000,000 paths x 30 daily steps, Student-t model, 10 simulated assets (plus USDC, held at
1:1, for the loans' debt), 20 positions: 5 spot, 8 isolated perps (5 long, 3 short), a
cross account with 5 perps (longs and shorts), 2 loans. Every path is liquidated by
``run_book``.

Each size runs in its own subprocess (so ``ru_maxrss`` is that run's peak). Printed per
size: wall time, throughput, time to the first partial result, peak RSS, and the floor
measured in the same process: the time numpy alone needs to draw the random numbers the
model consumes (same generator, dtype and block shapes), on one thread and on the engine's
thread count. Run::

    .venv/bin/python bench/bench_montecarlo.py [--sizes 100000,1000000,4000000] [--days 30]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import portfolio_from_dict  # noqa: E402
from engine.montecarlo import MonteCarloRequest, simulate_chunks  # noqa: E402
from engine.montecarlo.blocks import block_rng  # noqa: E402
from engine.montecarlo.context import prepare  # noqa: E402

PRICES = {"BTC": 85000.0, "ETH": 2950.0, "SOL": 121.0, "BNB": 850.0, "XRP": 1.9, "DOGE": 0.13,
          "ADA": 0.37, "AVAX": 12.5, "LINK": 12.8, "LTC": 77.0, "USDC": 1.0}


def bench_portfolio():
    pos = []
    for a in ("BTC", "ETH", "SOL", "DOGE", "ADA"):
        pos.append({"id": f"spot-{a}", "kind": "spot", "asset": a, "quantity": 20000 / PRICES[a]})
    for a, side, lev in (("BTC", "long", 5), ("ETH", "long", 10), ("SOL", "long", 10),
                         ("BNB", "long", 8), ("XRP", "long", 20), ("AVAX", "short", 5),
                         ("LINK", "short", 10), ("LTC", "short", 4)):
        ep = PRICES[a] * (1.02 if side == "long" else 0.98)
        pos.append({"id": f"iso-{a}-{side}", "kind": "perp", "asset": a, "side": side,
                    "quantity": 10000 / PRICES[a], "entry_price": ep, "leverage": lev,
                    "margin_mode": "isolated", "maintenance_margin_rate": 0.005,
                    "maintenance_amount": 0})
    for a, side in (("BTC", "long"), ("ETH", "short"), ("SOL", "long"), ("DOGE", "long"),
                    ("XRP", "short")):
        pos.append({"id": f"cross-{a}-{side}", "kind": "perp", "asset": a, "side": side,
                    "quantity": 15000 / PRICES[a], "entry_price": PRICES[a], "margin_mode": "cross",
                    "account": "acc", "venue": "binance"})
    pos.append({"id": "loan-eth", "kind": "loan",
                "collateral": [{"asset": "ETH", "quantity": 20, "liquidation_threshold": 0.83}],
                "debt": [{"asset": "USDC", "quantity": 30000}], "close_factor": 0.5,
                "liquidation_bonus": 0.05})
    pos.append({"id": "loan-mix", "kind": "loan",
                "collateral": [{"asset": "BTC", "quantity": 0.5, "liquidation_threshold": 0.78},
                               {"asset": "SOL", "quantity": 200, "liquidation_threshold": 0.7}],
                "debt": [{"asset": "USDC", "quantity": 35000}], "close_factor": 0.5,
                "liquidation_bonus": 0.06})
    return portfolio_from_dict({"format": "crashlab.portfolio/1", "name": "bench", "prices": PRICES,
                                "accounts": [{"id": "acc", "wallet_balance": 20000, "venue": "binance"}],
                                "positions": pos})


def floor_seconds(ctx, threads: int) -> float:
    """Time to draw exactly the random numbers of every block, and nothing else."""
    def one(b):
        ctx.model.draw_floor(block_rng(ctx.seeds, b), ctx.layout.size(b))
    t = time.perf_counter()
    if threads <= 1:
        for b in range(ctx.n_blocks):
            one(b)
    else:
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(one, range(ctx.n_blocks)))
    return time.perf_counter() - t


def child(n_paths: int, days: int, threads: int, cascade: float, depeg: str = "default") -> dict:
    from engine.cascade import CascadeParams
    p = bench_portfolio()
    req = MonteCarloRequest(n_paths=n_paths, days=days, seed=7, model="student-t", threads=threads,
                            cascade=CascadeParams(strength=cascade) if cascade > 0 else None,
                            depeg=depeg)
    t0 = time.perf_counter()
    gen = simulate_chunks(p, req)
    first = next(gen)
    t_first = time.perf_counter() - t0
    last = first
    chunks = 1
    for last in gen:
        chunks += 1
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ctx = prepare(p, req)
    used = int(threads) or min(2, os.cpu_count() or 1)
    f1 = floor_seconds(ctx, 1)
    fn = floor_seconds(ctx, used) if used > 1 else f1
    draws = ctx.model.draws_per_path()
    return {"paths": n_paths, "steps": ctx.n_steps, "assets_simulated": ctx.model.n_sim,
            "positions": ctx.book.n_positions, "threads": used, "block_paths": ctx.layout.block,
            "chunks": chunks, "wall_s": wall, "first_chunk_s": t_first,
            "first_chunk_paths": first.paths_done, "rss_mb": rss_mb,
            "floor_1thread_s": f1, "floor_threads_s": fn, "draws_per_path": draws,
            "var99": last.var["0.99"], "liq_prob_mean": float(np.mean(last.liquidation_probability))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000,4000000")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cascade", type=float, default=0.0)
    ap.add_argument("--depeg", default="default", help="de-peg jumps: default, off or a rate per year")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.days, args.threads, args.cascade, args.depeg)))
        return 0
    print(f"Monte Carlo benchmark: Student-t, {args.days} daily steps, 10 assets (+USDC), "
          f"20 positions (spot, isolated long/short, cross account x5, 2 loans); de-pegs {args.depeg}; "
          f"{os.cpu_count()} CPU(s)")
    print(f"{'paths':>10} {'wall s':>8} {'paths/s':>10} {'first ms':>9} {'RSS MB':>8} "
          f"{'floor1 s':>9} {'floorN s':>9} {'wall/floor1':>11} {'wall/floorN':>11}")
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        cmd = [sys.executable, __file__, "--child", str(size), "--days", str(args.days),
               "--threads", str(args.threads), "--cascade", str(args.cascade), "--depeg", args.depeg]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['paths']:>10,} {r['wall_s']:>8.2f} {r['paths'] / r['wall_s']:>10,.0f} "
              f"{r['first_chunk_s'] * 1e3:>9.0f} {r['rss_mb']:>8.0f} {r['floor_1thread_s']:>9.2f} "
              f"{r['floor_threads_s']:>9.2f} {r['wall_s'] / r['floor_1thread_s']:>11.2f} "
              f"{r['wall_s'] / r['floor_threads_s']:>11.2f}")
        sys.stdout.flush()
    print(f"draws per path: {r['draws_per_path']}; {r['threads']} worker thread(s), blocks of "
          f"{r['block_paths']} paths; floor1/floorN = numpy drawing those numbers alone on 1/N threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
