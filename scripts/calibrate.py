"""Fit the Monte Carlo model to the daily price history and write it into
``resources/calibration.json`` (section ``student_t``).

The fit itself is :func:`engine.calibration.fit_returns` -- the same code that recalibrates
the model from a price history imported in the app (``montecarlo --prices``). This script
only reads the files, keeps the window and records where the numbers came from::

    .venv/bin/python scripts/calibrate.py [--data /work/shared/data/prices] [--since 2022-01-01]
                                          [--until YYYY-MM-DD] [--dry-run]

Files: ``daily/{ASSET}-USDT_daily.csv`` of the shared price data (Binance spot USDT daily
bars; provenance in its SOURCES.md). POL is the spliced MATIC -> POL series (MATIC until
2024-09-09, POL from 2024-09-14; the days in between have no return). LUNA, UST, FTT and
USDC are left out (collapse and peg behaviour; CRASHES.md section 3). Only closes are used,
so the flash wicks listed in SOURCES.md (LINK 2020-03-12, USDC) do not enter.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.calibration import FORMAT, METHOD, fit_returns, returns_from_files  # noqa: E402

ASSETS = ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "LTC", "SUI", "POL")
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "prices"
SINCE = "2022-01-01"


def files_for(asset: str) -> list[str]:
    if asset == "POL":
        return ["daily/MATIC-USDT_daily.csv", "daily/POL-USDT_daily.csv"]
    return [f"daily/{asset}-USDT_daily.csv"]


def returns_table(data: Path, since: str, until: str | None):
    """The window's daily log returns of :data:`ASSETS` (NaN where an asset has none)."""
    days, R, _ = returns_from_files({a: [data / f for f in files_for(a)] for a in ASSETS}, since, until)
    return days, R


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="the shared prices folder")
    ap.add_argument("--since", default=SINCE,
                    help="first day of the level window: vol level, betas, scales (default %(default)s)")
    ap.add_argument("--dynamics-since", default=None,
                    help="first day for BTC's variance dynamics, shock shape and starting variance "
                         "(default: its first close, 2017-08-17; 'same' = --since)")
    ap.add_argument("--until", default=None, help="last day of the window (default: last close)")
    ap.add_argument("--out", default=str(ROOT / "resources" / "calibration.json"))
    ap.add_argument("--dry-run", action="store_true", help="print the fit, write nothing")
    args = ap.parse_args(argv)
    data = Path(args.data)
    dyn = args.since if args.dynamics_since == "same" else (args.dynamics_since or "2000-01-01")
    days, R = returns_table(data, min(dyn, args.since), args.until)      # from each file's first close
    fit = fit_returns(days, R, ASSETS, steps_per_year=365.0,
                      level_from=None if dyn == args.since else np.datetime64(args.since, "D"))
    section = {
        "format": FORMAT,
        "created": dt.date.today().isoformat(),
        "script": "scripts/calibrate.py (engine.calibration.fit_returns)",
        "source": "Binance spot USDT daily closes from the shared price data (SOURCES.md: "
                  "yanniedog/binance-historical-OHLCV-data, rongyouwow-svg/v3-trading-system, "
                  "jirayuwannagul-tech/wave-structure-engine); POL spliced MATIC -> POL",
        "source_files": sorted({f for a in ASSETS for f in files_for(a)}),
        "window": {"from": args.since, "to": str(days[-1]),
                   "dynamics_from": str(fit.factor.window[0]),
                   "note": "vol level, betas and scales: each asset from the later of 'from' and its "
                           "first close; BTC's variance dynamics, shock shape and starting variance: "
                           "from 'dynamics_from'"},
        "method": METHOD,
        "steps_per_day": 1,
        **fit.to_dict(),
    }
    if fit.notes:
        section["notes"] = fit.notes
    if args.dry_run:
        print(json.dumps(section, indent=2))
        return 0
    path = Path(args.out)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["student_t"] = section
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    f = fit.factor
    print(f"wrote {path} (student_t): BTC vol {f.vol:.2f}, GARCH a_up {f.a_up:.3f} a_down {f.a_down:.3f} "
          f"b {f.b:.3f}, df {f.df:.2f}, split up/down {f.up:.3f}/{f.down:.3f}")
    for a, x in fit.assets.items():
        print(f"  {a:5s} beta {x.beta:.2f} up {x.beta_up:.2f} down {x.beta_down:.2f} "
              f"idio up {x.idio_up:.2f} down {x.idio_down:.2f} ({x.observations} days)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
