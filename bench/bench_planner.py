"""Benchmark: the survival planner (engine.planner) on the demo book and a 100-position book.

Prints, per book and target, the planning time (wall, best of ``--repeat``), the number of
units failing, the actions found, kernel rounds, and the plan's cost. Run:

    .venv/bin/python bench/bench_planner.py [--repeat 3] [--positions 100] [--montecarlo]

Targets: every bundled crash (``--scenario all``), a BTC -40 % shock; with ``--montecarlo``
also "P(liquidation) <= 1 % over 30 days" on the planner's default 4,000 paths.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_replay import random_book  # noqa: E402

from engine import load_portfolio  # noqa: E402
from engine.planner import TargetSpec, plan_steps  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run(p, spec, budget=None):
    t0 = time.perf_counter()
    steps = plan_steps(p, spec, budget)
    rounds = 0
    while True:
        try:
            _, _, text = next(steps)
        except StopIteration as stop:
            res = stop.value
            break
        rounds += text.startswith("Searching")
    return time.perf_counter() - t0, rounds, res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--positions", type=int, default=100)
    ap.add_argument("--montecarlo", action="store_true")
    args = ap.parse_args(argv)
    books = [("demo book", load_portfolio(ROOT / "resources" / "demo_portfolio.json")),
             (f"{args.positions}-position book", random_book(args.positions, seed=4))]
    specs = [("all 12 crashes", TargetSpec(scenario="all")),
             ("BTC -40% shock", TargetSpec(shock={"BTC": -0.4}))]
    if args.montecarlo:
        specs.append(("P(liq) <= 1% / 30 d", TargetSpec(pliq=0.01, days=30)))
    print(f"{'book':<22}{'target':<22}{'positions':>10}{'failing':>9}{'actions':>9}{'rounds':>8}"
          f"{'best s':>9}{'median s':>10}")
    for name, p in books:
        for tname, spec in specs:
            times = []
            for _ in range(max(1, args.repeat)):
                dt, rounds, res = run(p, spec)
                times.append(dt)
            rep = res.report
            times.sort()
            print(f"{name:<22}{tname:<22}{len(p.positions):>10}{len(rep['plan_summary']['failing']):>9}"
                  f"{len(rep['actions']):>9}{rounds:>8}{times[0]:>9.2f}{times[len(times) // 2]:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
