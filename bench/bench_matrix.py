"""Benchmark: the crash matrix (every bundled crash and saved scenario at once,
:func:`engine.stress.stress_all`) on the demo book and on random books, and the size a saved
imported window adds to a portfolio file. Prints the figures. Run:

    .venv/bin/python bench/bench_matrix.py [--repeat 5] [--positions 200,2000]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_replay import random_book  # noqa: E402

from engine import compile_book, load_portfolio, stress_all  # noqa: E402
from engine import saved_scenarios as ss  # noqa: E402
from engine.prices import PriceHistory  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def hourly_window(hours: int, assets=("BTC", "ETH", "SOL", "DOGE")) -> PriceHistory:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (hours + 1, len(assets))), axis=0))
    times = np.datetime64("2025-10-09T00:00") + np.arange(hours + 1).astype("timedelta64[h]")
    return PriceHistory(times.astype("datetime64[ns]"), assets, close, close * 1.004, close * 0.996,
                        close, np.ones(len(assets), bool), ("bench.csv",))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--positions", default="200,2000")
    args = ap.parse_args()
    demo = load_portfolio(ROOT / "resources" / "demo_portfolio.json")
    book = compile_book(demo)
    stress_all(demo, book=book)                                   # load the library once
    n = len(stress_all(demo, book=book)["scenarios"])
    t = best(lambda: stress_all(demo, book=book), args.repeat)
    print(f"demo book ({len(demo.positions)} positions): {n} bundled crashes in {t * 1000:.1f} ms "
          f"({t / n * 1000:.2f} ms per crash)")
    window = ss.history_entry("window", hourly_window(72))
    demo.extra["scenarios"] = [ss.shock_entry("shock", {"BTC": -0.35}, {"SOL": 2.0}), window]
    t = best(lambda: stress_all(demo, book=book), args.repeat)
    print(f"demo book + 2 saved (a shock, a 72 h window): {n + 2} scenarios in {t * 1000:.1f} ms")
    for hours in (72, 24 * 30, ss.MAX_STEPS):
        size = len(json.dumps(ss.history_entry("w", hourly_window(hours)), indent=2))
        print(f"saved window of {hours} hourly bars x 4 assets (OHLC): {size / 1024:.0f} KiB in the "
              "portfolio file")
    for n_pos in (int(x) for x in args.positions.split(",") if x):
        p = random_book(n_pos)
        b = compile_book(p)
        t = best(lambda: stress_all(p, book=b), max(1, args.repeat // 2))
        print(f"random book of {n_pos} positions: {n} crashes in {t * 1000:.0f} ms")


if __name__ == "__main__":
    main()
