"""Benchmark: Monte Carlo with path-dependent liquidation.

1,000,000 paths x 30 daily steps, Student-t model, 10 simulated assets (plus USDC, held at
1:1, for the loans' debt), 20 positions: 5 spot, 8 isolated perps (5 long, 3 short), a
cross account with 5 perps (longs and shorts), 2 loans. Every path is liquidated by
``run_book``.

Each size runs in its own subprocess (so ``ru_maxrss`` is that run's peak). Printed per
size: wall time, the child's CPU time (user + system: the machine is shared, wall time
moves with the others' load, CPU time much less), throughput, time to the first partial
result, peak RSS, and the floor measured in the same process: the time numpy alone needs to
draw the random numbers the model consumes (same generator, dtype and block shapes), on one
thread and on the engine's thread count.

``--precision`` instead prints the time to precision: how long until the VaR 99 % is known
to +-1 % and every position's probability of liquidation to +-0.5 points (95 % intervals of
the running chunks), with antithetic pairs and with plain sampling. Run::

    .venv/bin/python bench/bench_montecarlo.py [--sizes 100000,1000000,4000000] [--days 30] [--plain]
    .venv/bin/python bench/bench_montecarlo.py --precision [--max-paths 4000000]
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
from engine.allocator import tune_allocator  # noqa: E402
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


def child(n_paths: int, days: int, threads: int, cascade: float, plain: bool = False,
          depeg: str = "default") -> dict:
    from engine.cascade import CascadeParams
    tune_allocator()                  # as main.py does at start-up
    p = bench_portfolio()
    req = MonteCarloRequest(n_paths=n_paths, days=days, seed=7, model="student-t", threads=threads,
                            cascade=CascadeParams(strength=cascade) if cascade > 0 else None,
                            antithetic=not plain, depeg=depeg)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    gen = simulate_chunks(p, req)
    first = next(gen)
    t_first = time.perf_counter() - t0
    last = first
    chunks = 1
    for last in gen:
        chunks += 1
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ctx = prepare(p, req)
    used = int(threads) or min(2, os.cpu_count() or 1)
    f1 = floor_seconds(ctx, 1)
    fn = floor_seconds(ctx, used) if used > 1 else f1
    draws = ctx.model.draws_per_path()
    return {"paths": n_paths, "steps": ctx.n_steps, "assets_simulated": ctx.model.n_sim,
            "positions": ctx.book.n_positions, "threads": used, "block_paths": ctx.layout.block,
            "chunks": chunks, "wall_s": wall, "cpu_s": cpu, "first_chunk_s": t_first,
            "first_chunk_paths": first.paths_done, "rss_mb": rss_mb,
            "floor_1thread_s": f1, "floor_threads_s": fn, "draws_per_path": draws,
            "var99": last.var["0.99"], "liq_prob_mean": float(np.mean(last.liquidation_probability))}


def time_to_precision(max_paths: int, days: int, threads: int, plain: bool,
                      var_rel: float = 0.01, liq_pts: float = 0.005) -> dict:
    """Run until VaR 99 % is within +-``var_rel`` and every P(liq) within +-``liq_pts``
    (half-widths of the 95 % intervals of a running chunk), or ``max_paths``."""
    tune_allocator()
    p = bench_portfolio()
    req = MonteCarloRequest(n_paths=max_paths, days=days, seed=11, model="student-t", threads=threads,
                            antithetic=not plain, chunk_paths=32768, sample_paths=0)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    out = {"plain": plain, "reached": False}
    var_at = liq_at = None
    for ch in simulate_chunks(p, req):
        lo, hi = ch.var_ci["0.99"]
        var_ok = max(hi - ch.var["0.99"], ch.var["0.99"] - lo) <= var_rel * ch.var["0.99"]
        prob = ch.liquidation_probability
        ci = ch.liquidation_probability_ci
        liq_ok = bool(np.all(np.maximum(ci[:, 1] - prob, prob - ci[:, 0]) <= liq_pts))
        t = time.perf_counter() - t0
        if var_ok and var_at is None:
            var_at = (t, ch.paths_done)
        if liq_ok and liq_at is None:
            liq_at = (t, ch.paths_done)
        if var_at and liq_at:
            out.update(reached=True, wall_s=t, cpu_s=time.process_time() - cpu0, paths=ch.paths_done,
                       var99=ch.var["0.99"], var_ci=list(ch.var_ci["0.99"]))
            break
    out.update(var_at=var_at, liq_at=liq_at)
    if not out["reached"]:
        out.update(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - cpu0, paths=max_paths)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000,4000000")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cascade", type=float, default=0.0)
    ap.add_argument("--depeg", default="default", help="de-peg jumps: default, off or a rate per year")
    ap.add_argument("--plain", action="store_true", help="plain sampling (default: antithetic pairs)")
    ap.add_argument("--precision", action="store_true", help="time to precision, antithetic and plain")
    ap.add_argument("--max-paths", type=int, default=4_000_000)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--ttp", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        if args.ttp:
            print(json.dumps(time_to_precision(args.child, args.days, args.threads, args.plain)))
        else:
            print(json.dumps(child(args.child, args.days, args.threads, args.cascade, args.plain, args.depeg)))
        return 0
    if args.precision:
        print(f"Time to precision: VaR 99 % within +-1 % and every P(liquidated) within +-0.5 points "
              f"(95 % intervals), {args.days} daily steps, bench book; {os.cpu_count()} CPU(s)")
        print(f"{'sampling':>10} {'wall s':>8} {'CPU s':>8} {'paths':>10} {'VaR99 at':>18} {'P(liq) at':>18}")
        for plain in (False, True):
            cmd = [sys.executable, __file__, "--child", str(args.max_paths), "--ttp", "--days", str(args.days),
                   "--threads", str(args.threads)] + (["--plain"] if plain else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            at = lambda x: "not reached" if not x else f"{x[0]:.1f} s, {x[1]:,}"     # noqa: E731
            print(f"{'plain' if plain else 'antithetic':>10} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} "
                  f"{r['paths']:>10,} {at(r['var_at']):>18} {at(r['liq_at']):>18}")
            sys.stdout.flush()
        return 0
    print(f"Monte Carlo benchmark: Student-t, {args.days} daily steps, 10 assets (+USDC), "
          f"20 positions (spot, isolated long/short, cross account x5, 2 loans); de-pegs {args.depeg}; "
          f"{os.cpu_count()} CPU(s)")
    print(f"sampling: {'plain' if args.plain else 'antithetic pairs'}")
    print(f"{'paths':>10} {'wall s':>8} {'CPU s':>7} {'paths/s':>10} {'first ms':>9} {'RSS MB':>8} "
          f"{'floor1 s':>9} {'floorN s':>9} {'wall/floor1':>11} {'wall/floorN':>11}")
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        cmd = [sys.executable, __file__, "--child", str(size), "--days", str(args.days),
               "--threads", str(args.threads), "--cascade", str(args.cascade), "--depeg", args.depeg] + (["--plain"] if args.plain else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['paths']:>10,} {r['wall_s']:>8.2f} {r['cpu_s']:>7.2f} {r['paths'] / r['wall_s']:>10,.0f} "
              f"{r['first_chunk_s'] * 1e3:>9.0f} {r['rss_mb']:>8.0f} {r['floor_1thread_s']:>9.2f} "
              f"{r['floor_threads_s']:>9.2f} {r['wall_s'] / r['floor_1thread_s']:>11.2f} "
              f"{r['wall_s'] / r['floor_threads_s']:>11.2f}")
        sys.stdout.flush()
    print(f"draws per path: {r['draws_per_path']}; {r['threads']} worker thread(s), blocks of "
          f"{r['block_paths']} paths; floor1/floorN = numpy drawing those numbers alone on 1/N threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
