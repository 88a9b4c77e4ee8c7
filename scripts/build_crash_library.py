"""Build the bundled crash library (resources/scenarios.json) from the shared price data.

    python scripts/build_crash_library.py [--prices ../shared/data/prices] [--check]

For each of the 12 events (ids and crash days as already in resources/scenarios.json), a
multi-asset OHLC path from step 0 = the close before the first crash day (00:00 UTC of that
day) through the close of the last crash day, at the finest bars the data has for the
window (1h, else 4h, else daily), for every asset the data covers over the whole window.
Each asset is stored as close/low/high ratios to its own step-0 close (6 significant
digits), with the file, venue, bar size and upstream source it came from. An asset whose
bars are coarser than the event's grid puts each bar's low/high/close at the END of that
bar (no intra-bar timing is invented); between its bars the close is carried (low = high =
close). The known anomalies of SOURCES.md are applied and recorded per asset.

The event metadata (name, description, sources, reported liquidations, ...) is kept from the
current file, so the script can be rerun on its own output; ``--check`` only compares.
Standard library only.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "scenarios.json"
DEFAULT_PRICES = ROOT.parent / "shared" / "data" / "prices"
FORMAT = "crashlab.scenarios/2"
BARS = {"1h": 3600, "4h": 4 * 3600, "1d": 86400}
QUOTE_EXCLUDED = {"USDT"}      # the library's quote currency: always 1

# Venue of each kind of file, most trusted first (a finer bar always wins over a coarser one).
VENUES = [
    ("binance", "Binance spot (USDT)"),
    ("other_spot", "USDT spot venue that is not Binance.com (probably Binance.US; deeper wicks)"),
    ("bybit_perp", "Bybit USDT perpetual"),
    ("yahoo", "Yahoo Finance USD daily (CoinMarketCap-style aggregate)"),
]
VENUE_RANK = {k: i for i, (k, _) in enumerate(VENUES)}
VENUE_TEXT = dict(VENUES)

# Known anomalies (SOURCES.md, "Known anomalies and gaps"). A bar containing ``time`` whose
# ``field`` is beyond ``limit`` gets that field replaced by the bar's min(open, close) for a
# low, max(open, close) for a high (the print is dropped, the bar's body kept).
ANOMALIES = [
    {"asset": "LINK", "time": "2020-03-12T10:00:00Z", "field": "low", "below": 0.01,
     "why": "Binance LINKUSDT one-print flash wick of 0.0001 (SOURCES.md)"},
    {"asset": "USDC", "time": "2021-12-04T00:00:00Z", "until": "2021-12-05T00:00:00Z",
     "field": "low", "below": 0.5, "why": "Binance USDCUSDT bad print low 0.20 (SOURCES.md)"},
    {"asset": "USDC", "time": "2022-05-11T00:00:00Z", "until": "2022-05-12T00:00:00Z",
     "field": "high", "above": 2.0, "why": "Binance USDCUSDT bad print high 3.99 (SOURCES.md)"},
]

GENERIC_NOTE = (
    "Path built by scripts/build_crash_library.py from ../shared/data/prices (see SOURCES.md "
    "there): step 0 is the close before the first crash day (00:00 UTC), then one step per "
    "bar of the event's grid (`path.bar` seconds) through the close of the last crash day; "
    "`path.times` are bar END times (UTC). Per asset: close/low/high as ratios to its step-0 "
    "close (6 significant digits), with the file, venue, bar size and upstream source it came "
    "from. An asset with coarser bars than the grid has each bar's low/high/close at the end "
    "of that bar and its close carried in between. Prices are quoted in USDT (USD for Yahoo "
    "files). `peak` moves are from CRASHES.md section 2, for information. Liquidation totals "
    "are aggregator estimates (±30 % between outlets).")
_OLD_NOTE_TAIL = "Liquidation totals are aggregator estimates (±30 % between outlets)."


# --------------------------------------------------------------------------- data files
def _parse_time(text: str) -> datetime:
    text = text.strip()
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_sources_md(prices: Path) -> dict[str, str]:
    """file path (relative to the prices dir) -> its 'sources' cell in SOURCES.md."""
    out = {}
    md = prices / "SOURCES.md"
    if not md.is_file():
        return out
    for line in md.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*`([^`]+\.csv)`\s*\|(.*)\|\s*$", line)
        if m:
            cells = [c.strip() for c in m.group(2).split("|")]
            out[m.group(1)] = cells[-1] if cells else ""
    return out


def candidates(prices: Path) -> list[dict]:
    """Every file usable for a library path: asset, bar, venue, relative path."""
    out = []

    def add(path: Path, asset: str, bar: str, venue: str):
        if asset not in QUOTE_EXCLUDED:
            out.append({"asset": asset, "bar": bar, "venue": venue,
                        "file": path.relative_to(prices).as_posix(), "path": path})

    for f in sorted(prices.glob("1h/*/*.csv")):
        m = re.match(r"^([A-Z0-9]+)-USDT_1h(_NOT-binance-com)?\.csv$", f.name)
        if m:
            add(f, m.group(1), "1h", "other_spot" if m.group(2) else "binance")
    for f in sorted(prices.glob("intraday/bybit_perp_*/*.csv")):
        m = re.match(r"^([A-Z0-9]+)USDT-PERP_1h_bybit\.csv$", f.name)
        if m:
            add(f, m.group(1), "1h", "bybit_perp")
    for sub, bar in (("4h", "4h"), ("daily", "1d")):
        for f in sorted(prices.glob(f"{sub}/*.csv")):
            m = re.match(r"^([A-Z0-9]+)-USDT_(4h|daily)\.csv$", f.name)
            if m:
                add(f, m.group(1), bar, "binance")
    for f in sorted(prices.glob("daily_usd_yahoo/*.csv")):
        m = re.match(r"^([A-Z0-9]+)-USD_daily_yahoo\.csv$", f.name)
        if m:
            add(f, m.group(1), "1d", "yahoo")
    # SOURCES.md: the March-2020 hourly BTC/ETH files are not Binance.com ("use 4h/ for
    # Binance.com"), so a file of another spot venue only serves when no Binance file covers
    # the window; otherwise the finest bar wins, then the venue order of VENUES.
    out.sort(key=lambda c: (c["asset"], c["venue"] == "other_spot", BARS[c["bar"]],
                            VENUE_RANK[c["venue"]], c["file"]))
    return out


_ROWS: dict[Path, dict] = {}


def read_rows(path: Path) -> dict[datetime, tuple[float, float, float, float]]:
    """bar open time -> (open, high, low, close)."""
    if path not in _ROWS:
        rows = {}
        with open(path, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                rows[_parse_time(r["date"])] = (float(r["open"]), float(r["high"]),
                                                float(r["low"]), float(r["close"]))
        _ROWS[path] = rows
    return _ROWS[path]


# --------------------------------------------------------------------------- one event
def sig(x: float) -> float:
    return float(f"{x:.6g}")


def _fix_anomalies(asset: str, bar: str, rows: dict, t_from: datetime, t_to: datetime) -> list[str]:
    """Apply ANOMALIES to ``rows`` (in place, bars opening in [t_from, t_to)); what was done."""
    done = []
    size = timedelta(seconds=BARS[bar])
    for a in ANOMALIES:
        if a["asset"] != asset:
            continue
        lo = _parse_time(a["time"])
        hi = _parse_time(a["until"]) if a.get("until") else lo + timedelta(seconds=1)
        for t in sorted(rows):
            if not (t_from <= t < t_to) or t + size <= lo or t >= hi:
                continue
            o, h, l, c = rows[t]
            if a["field"] == "low" and l < a["below"]:
                new = min(o, c)
                rows[t] = (o, h, new, c)
                done.append(f"{iso(t)} {bar} bar: low {l:g} replaced by min(open, close) {new:g} "
                            f"({a['why']})")
            elif a["field"] == "high" and h > a["above"]:
                new = max(o, c)
                rows[t] = (o, new, l, c)
                done.append(f"{iso(t)} {bar} bar: high {h:g} replaced by max(open, close) {new:g} "
                            f"({a['why']})")
    return done


def coverage(cand: dict, t0: datetime, t_end: datetime) -> tuple[bool, str, int]:
    """(covers the window, why not, missing bars inside) for one candidate file."""
    size = timedelta(seconds=BARS[cand["bar"]])
    rows = read_rows(cand["path"])
    first, last = t0 - size, t_end - size           # bars whose ends are step 0 and the last step
    if first not in rows:
        have = f"{iso(min(rows))} to {iso(max(rows))}" if rows else "no rows"
        return False, f"{cand['file']}: no {cand['bar']} bar closing at {iso(t0)} (file has {have})", 0
    if last not in rows:
        return False, f"{cand['file']}: no {cand['bar']} bar closing at {iso(t_end)}", 0
    missing = 0
    t = first
    while t <= last:
        missing += t not in rows
        t += size
    return True, "", missing


def build_event(entry: dict, cands: list[dict], origins: dict[str, str]) -> dict:
    d0, d1 = entry["crash_days"][0], entry["crash_days"][-1]
    t0 = _parse_time(d0)
    t_end = _parse_time(d1) + timedelta(days=1)
    chosen: dict[str, dict] = {}
    skipped: dict[str, list[str]] = {}
    for c in cands:
        if c["asset"] in chosen:
            continue
        ok, why, missing = coverage(c, t0, t_end)
        if ok:
            chosen[c["asset"]] = dict(c, missing=missing)
        elif any(t0 <= t < t_end for t in read_rows(c["path"])):   # only files that touch it
            skipped.setdefault(c["asset"], []).append(why)
    for c in cands:      # finer files of another venue left out (SOURCES.md: use Binance.com)
        pick = chosen.get(c["asset"])
        if (pick and c["venue"] == "other_spot" and BARS[c["bar"]] < BARS[pick["bar"]]
                and coverage(c, t0, t_end)[0]):
            skipped.setdefault(c["asset"], []).append(
                f"{c['file']}: not used, {VENUE_TEXT[c['venue']]}; SOURCES.md advises Binance.com "
                f"bars ({pick['file']})")
    if "BTC" not in chosen:
        raise SystemExit(f"{entry['id']}: no BTC data covers {d0} .. {d1}")
    grid = min(BARS[c["bar"]] for c in chosen.values())
    step = timedelta(seconds=grid)
    n = int((t_end - t0) / step)
    times = [iso(t0 + k * step) for k in range(n + 1)]
    order = sorted(chosen, key=lambda a: (a != "BTC", a))
    assets = {}
    for a in order:
        c = chosen[a]
        size = timedelta(seconds=BARS[c["bar"]])
        rows = dict(read_rows(c["path"]))
        fixes = _fix_anomalies(a, c["bar"], rows, t0 - size, t_end)
        c0 = rows[t0 - size][3]
        close = [1.0] * (n + 1)
        low = [1.0] * (n + 1)
        high = [1.0] * (n + 1)
        for k in range(1, n + 1):
            end = t0 + k * step
            bar = rows.get(end - size) if (end - t0) % size == timedelta(0) else None
            if bar is None:                       # inside a coarser bar, or a missing bar
                close[k] = low[k] = high[k] = close[k - 1]
                continue
            _, h, l, cl = bar
            close[k] = sig(cl / c0)
            low[k] = min(sig(l / c0), close[k])
            high[k] = max(sig(h / c0), close[k])
        row = {"bar": c["bar"], "venue": VENUE_TEXT[c["venue"]], "source": c["file"],
               "origin": origins.get(c["file"], ""), "close_step0": c0,
               "close": close, "low": low, "high": high}
        if c["missing"]:
            row["missing_bars"] = c["missing"]
        if fixes:
            row["anomalies_fixed"] = fixes
        if skipped.get(a):
            row["finer_or_preferred_skipped"] = skipped[a]
        assets[a] = row
    return {"start": times[0], "end": times[-1], "bar": grid,
            "bar_label": next(k for k, v in BARS.items() if v == grid),
            "steps": n, "times": times, "assets": assets}


# --------------------------------------------------------------------------- whole library
def _event_note(entry: dict) -> str:
    if "event_note" in entry:
        return entry["event_note"]
    old = entry.get("data_note", "")
    return old.split(_OLD_NOTE_TAIL, 1)[1].strip() if _OLD_NOTE_TAIL in old else ""


def build_library(prices: Path, base: dict) -> dict:
    cands = candidates(prices)
    origins = parse_sources_md(prices)
    events = []
    for entry in base["scenarios"]:
        meta = {k: v for k, v in entry.items() if k not in ("steps", "path", "data_note", "event_note")}
        note = _event_note(entry)
        meta["data_note"] = GENERIC_NOTE + (" " + note if note else "")
        meta["event_note"] = note
        meta["path"] = build_event(entry, cands, origins)
        events.append(meta)
    return {
        "format": FORMAT,
        "source": ("CrashLab research notes design/CRASHES.md (event summary, sources); price "
                   "paths from ../shared/data/prices (SOURCES.md lists every upstream "
                   "repository and commit), built by scripts/build_crash_library.py."),
        "anomalies": [{k: v for k, v in a.items()} for a in ANOMALIES],
        "scenarios": events,
    }


def render(obj, indent: int = 0) -> str:
    """JSON with objects indented and lists of scalars on one line (compact and diffable)."""
    pad = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {render(v, indent + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        return "[\n" + ",\n".join(pad + render(v, indent + 1) for v in obj) + "\n" + "  " * indent + "]"
    return json.dumps(obj, ensure_ascii=False)


def build_text(prices: Path = DEFAULT_PRICES, base_path: Path = OUT) -> str:
    base = json.loads(base_path.read_text(encoding="utf-8"))
    return render(build_library(prices, base)) + "\n"


def summary(lib: dict) -> str:
    lines = []
    for s in lib["scenarios"]:
        p = s["path"]
        bars = {}
        for a, row in p["assets"].items():
            bars.setdefault(row["bar"], []).append(a)
        btc = p["assets"]["BTC"]
        lines.append(f"{s['id']:<38} {p['steps']:>4} x {p['bar_label']:<3} "
                     f"BTC low {min(btc['low']) - 1:+.1%} close {btc['close'][-1] - 1:+.1%}  "
                     + "; ".join(f"{b}: {' '.join(v)}" for b, v in bars.items()))
        for a, row in p["assets"].items():
            for fix in row.get("anomalies_fixed", []):
                lines.append(f"    {a}: {fix}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prices", type=Path, default=DEFAULT_PRICES)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = ap.parse_args(argv)
    if not (args.prices / "SOURCES.md").is_file():
        print(f"error: no price data at {args.prices} (expected SOURCES.md there)", file=sys.stderr)
        return 2
    text = build_text(args.prices, args.out)
    lib = json.loads(text)
    print(summary(lib))
    print(f"\n{len(lib['scenarios'])} events, {len(text.encode()):,} bytes")
    if args.check:
        same = args.out.read_text(encoding="utf-8") == text
        print("identical to " + str(args.out) if same else f"DIFFERS from {args.out}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
