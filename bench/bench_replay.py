"""Benchmark: replay 10,000 random positions over 10,000 intraday steps (one path).

Prints wall time, throughput (position-steps per second) and peak RSS. Run:

    .venv/bin/python bench/bench_replay.py [--positions 10000] [--steps 10000] [--repeat 3]
                                           [--costs]

``--costs`` gives every perp a funding rate, every loan borrow and supply rates and every
cross account collateral (BTC and USDC), and replays the steps as 5-minute bars: funding
and interest accrue, isolated perps' liquidation levels are per step.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import PricePaths, compile_book, portfolio_from_dict, run_book  # noqa: E402

ASSETS = {"BTC": 85000.0, "ETH": 2950.0, "SOL": 121.0, "BNB": 850.0, "XRP": 1.9, "DOGE": 0.13,
          "ADA": 0.37, "LINK": 12.5, "SUI": 1.45, "USDC": 1.0}


def random_book(n: int, seed: int = 1, costs: bool = False):
    rng = np.random.default_rng(seed)
    names = [a for a in ASSETS if a != "USDC"]
    n_accounts = max(1, n // 500)
    accounts = [{"id": f"acc{j}", "wallet_balance": float(rng.uniform(2e3, 5e4)),
                 "venue": "binance"} for j in range(n_accounts)]
    if costs:
        for acc in accounts:
            acc["collateral"] = [{"asset": "BTC", "quantity": float(rng.uniform(0.01, 0.3))},
                                 {"asset": "USDC", "quantity": float(rng.uniform(1e3, 2e4))}]
    positions = []
    kinds = rng.choice(["spot", "iso", "cross", "loan"], size=n, p=[0.25, 0.45, 0.2, 0.1])
    for i, k in enumerate(kinds):
        a = names[rng.integers(len(names))]
        px = ASSETS[a]
        if k == "spot":
            positions.append({"id": f"p{i}", "kind": "spot", "asset": a, "quantity": float(rng.uniform(1, 100) * 1000 / px)})
        elif k in ("iso", "cross"):
            d = {"id": f"p{i}", "kind": "perp", "asset": a, "side": str(rng.choice(["long", "short"])),
                 "quantity": float(rng.uniform(1, 50) * 1000 / px), "entry_price": float(px * rng.uniform(0.9, 1.1))}
            if a in ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE"):
                d["venue"] = "binance"
            else:
                d["maintenance_margin_rate"] = 0.01
            if k == "iso":
                d["leverage"] = float(rng.uniform(1, 20))
            else:
                d["margin_mode"] = "cross"
                d["account"] = f"acc{rng.integers(n_accounts)}"
            if costs:
                d["funding_rate"] = float(rng.uniform(-0.0002, 0.0005))
            positions.append(d)
        else:
            cq = float(rng.uniform(1, 20) * 1000 / px)
            loan = {"id": f"p{i}", "kind": "loan",
                    "collateral": [{"asset": a, "quantity": cq, "liquidation_threshold": 0.8}],
                    "debt": [{"asset": "USDC", "quantity": cq * px * 0.8 * float(rng.uniform(0.3, 0.9))}]}
            if costs:
                loan["collateral"][0]["supply_apy"] = float(rng.choice([0.01, 0.02, 0.03]))
                loan["debt"][0]["borrow_apy"] = float(rng.choice([0.04, 0.05, 0.08]))
            positions.append(loan)
    return portfolio_from_dict({"prices": ASSETS, "accounts": accounts, "positions": positions})


def random_paths(book, steps: int, seed: int = 2):
    rng = np.random.default_rng(seed)
    A = len(book.assets)
    vol = 0.6 / np.sqrt(365 * 24 * 12)               # 5-minute bars at 60% annualised vol
    r = rng.standard_t(3, size=(steps, A)) * vol * 3
    if "USDC" in book.assets:
        r[:, book.assets.index("USDC")] = 0.0
    close = book.today * np.exp(np.vstack([np.zeros(A), np.cumsum(r, axis=0)]))
    wick = np.exp(np.abs(rng.normal(0, vol, close.shape)))
    if "USDC" in book.assets:
        wick[:, book.assets.index("USDC")] = 1.0
    return PricePaths(close[None], (close / wick)[None], (close * wick)[None])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--positions", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--costs", action="store_true",
                    help="funding, loan rates and account collateral, over 5-minute steps")
    args = ap.parse_args()
    t0 = time.perf_counter()
    p = random_book(args.positions, costs=args.costs)
    book = compile_book(p)
    t_compile = time.perf_counter() - t0
    paths = random_paths(book, args.steps)
    hours = np.arange(args.steps + 1) / 12.0 if args.costs else None
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        out = run_book(book, paths, hours=hours)
        times.append(time.perf_counter() - t)
    best = min(times)
    n = book.n_positions
    liq = int((out.liq_step >= 0).sum())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kinds = {k: book.kinds.count(k) for k in set(book.kinds)}
    print(f"positions: {n} {kinds}, cross accounts: {book.n_accounts}, assets: {len(book.assets)}")
    print(f"steps: {args.steps} (+ today), liquidated during the replay: {liq}"
          + (f"; costs: {-out.cost_end.sum():,.0f} USD paid over {hours[-1]:,.0f} h" if args.costs else ""))
    print(f"compile (validate + liquidation prices): {t_compile * 1000:.0f} ms")
    print(f"replay wall time: best {best * 1000:.0f} ms, runs {', '.join(f'{x * 1000:.0f}' for x in times)} ms")
    print(f"throughput: {n * args.steps / best / 1e6:.1f} M position-steps/s")
    print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
