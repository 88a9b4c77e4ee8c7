"""Refit the liquidation cascade to the events of ``resources/cascade.json`` (E7-E12 of
CRASHES.md) and print the comparison with the reported totals, leave-one-out included.

The fit is :func:`engine.cascade.fit_market`; the table :func:`engine.cascade.event_table`::

    .venv/bin/python scripts/cascade_fit.py [--write]     # --write: store the parameters
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cascade import event_table, fit_market  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the fitted parameters into cascade.json")
    args = ap.parse_args(argv)
    fit = fit_market()
    print("fit: " + ", ".join(f"{k} {v:.6g}" for k, v in fit.items()))
    print(f"{'event':5s} {'worst bar':>9s} {'24 h drop':>9s} {'OI $B':>7s} {'reported $B':>11s} "
          f"{'model $B':>8s} {'ratio':>6s} {'LOO $B':>7s} {'LOO':>6s} {'daily $B':>8s} {'daily':>6s}")
    for r in event_table(fit):
        print(f"{r['id']:5s} {r['fast_move']:9.1%} {r['drop_24h']:9.1%} {r['open_interest'] / 1e9:7.2f} "
              f"{r['reported'] / 1e9:11.2f} {r['model'] / 1e9:8.2f} {r['ratio']:6.2f} {r['loo'] / 1e9:7.2f} "
              f"{r['loo_ratio']:6.2f} {r['daily'] / 1e9:8.2f} {r['daily_ratio']:6.2f}")
    if args.write:
        path = ROOT / "resources" / "cascade.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["parameters"].update({k: round(v, 6) if k != "depth" else round(v) for k, v in fit.items()})
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
