"""Benchmark: loading price-history CSVs (the replay's and the bootstrap's input).

Writes synthetic 1-minute OHLCV files (an ISO timestamp column, open/high/low/close,
volume) of 10,000 and 500,000 rows into a temporary folder and times ``load_price_history``
on each (best of 3) in a fresh process, printing rows per second and that process's peak
RSS (the file is written by this process, so writing it does not count). Targets for
500,000 rows: <= 1 s and <= 250 MB. ``--semicolon`` writes the European form instead
(``;``-separated, decimal comma), which is read as text and its decimal convention
decided from the cells. Run::

    .venv/bin/python bench/bench_import.py [--rows 10000,500000] [--semicolon]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def write_file(folder: Path, n: int, semicolon: bool = False) -> Path:
    t = pd.date_range("2020-01-01", periods=n, freq="min")
    c = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.001, n)))
    df = pd.DataFrame({"date": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "open": c, "high": c * 1.01,
                       "low": c * 0.99, "close": c, "volume": 1.0})
    path = folder / f"BTC-USDT_1m_{n}.csv"
    if semicolon:
        df.to_csv(path, index=False, sep=";", decimal=",")
    else:
        df.to_csv(path, index=False)
    return path


def measure(path: str, n: int) -> dict:
    """In the child process: best of 3 loads, and the peak RSS of this process."""
    sys.path.insert(0, str(ROOT))
    from engine.prices import load_price_history
    times = []
    for _ in range(3):
        t = time.perf_counter()
        ph = load_price_history([path])
        times.append(time.perf_counter() - t)
        assert len(ph) == n
        del ph
    return {"times": times, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="10000,500000")
    ap.add_argument("--semicolon", action="store_true", help="';' and decimal comma")
    ap.add_argument("--child", nargs=2, metavar=("PATH", "ROWS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]))))
        return 0
    with tempfile.TemporaryDirectory(prefix="crashlab-bench-") as tmp:
        for n in [int(x) for x in args.rows.split(",") if x.strip()]:
            path = write_file(Path(tmp), n, args.semicolon)
            out = subprocess.run([sys.executable, __file__, "--child", str(path), str(n)],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            best = min(r["times"])
            print(f"{n:>9,} rows ({path.stat().st_size / 1e6:.1f} MB): best {best * 1000:.0f} ms "
                  f"({n / best / 1e6:.2f} M rows/s), runs "
                  f"{', '.join(f'{x * 1000:.0f}' for x in r['times'])} ms, "
                  f"peak RSS {r['peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
