"""The Monte Carlo model against the data it was fitted to: 30-day return distributions and
drawdowns per asset, as SVG plots (no plotting library: small hand-written SVG) and tables.

    .venv/bin/python scripts/model_vs_data.py [--before ROOT] [--paths 200000] [--out docs/calibration]

Data: the daily closes of ``scripts/calibrate.py`` (every 30-day window from 2022-01-01,
overlapping; BTC also from 2017-08-17), with a standard error per figure from a block
bootstrap of the daily returns (60-day blocks, joint across BTC and the asset, 200 draws).
Model: the bundled ``student-t`` fit (``resources/calibration.json``), 30 daily steps, one
window per path. ``--before ROOT`` also simulates the model of another checkout (e.g. the
commit before the refit, exported to a folder) in a subprocess, for the before/after
columns. Writes ``{asset}.svg`` and ``model_vs_data.md`` into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from calibrate import ASSETS, DEFAULT_DATA, files_for  # noqa: E402
from engine.calibration import HORIZON, returns_from_files, window_moves, window_stats  # noqa: E402

LEVELS = np.linspace(0.005, 0.995, 199)
SIM_SNIPPET = """
import sys, numpy as np
sys.path.insert(0, {root!r})
from engine.path_models import build_path_model
assets = {assets!r}
m = build_path_model(assets, np.ones(len(assets)), model="student-t", days={days})
rng = np.random.default_rng({seed})
out = []
for b in range(0, {n}, 20000):
    lc, _, _ = m.simulate(rng, min(20000, {n} - b))
    out.append(lc.astype(np.float64))
np.save({path!r}, np.concatenate(out, axis=2))
"""


def simulate(root: Path, n: int, seed: int = 1) -> dict:
    """Simulate ``n`` paths of 30 days of every asset with the model of checkout ``root``:
    per asset the window log move and drawdown, and BTC's move."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "lc.npy")
        code = SIM_SNIPPET.format(root=str(root), assets=tuple(ASSETS), days=HORIZON, seed=seed, n=n, path=path)
        subprocess.run([sys.executable, "-c", code], check=True, cwd=str(root))
        lc = np.load(path)                                    # (31, assets, n)
    out = {a: window_moves(lc[:, j, :]) for j, a in enumerate(ASSETS)}
    out["_btc"] = lc[-1, ASSETS.index("BTC"), :] - lc[0, ASSETS.index("BTC"), :]
    return out


def data_windows(r: np.ndarray, rb: np.ndarray):
    """Overlapping 30-day windows of joint daily log returns: (moves, drawdowns, BTC moves)."""
    x = np.concatenate([[0.0], np.cumsum(r)])
    xb = np.concatenate([[0.0], np.cumsum(rb)])
    n = len(x) - HORIZON
    idx = np.arange(n)[None, :] + np.arange(HORIZON + 1)[:, None]
    move, dd = window_moves(x[idx])
    return move, dd, xb[idx][-1] - xb[idx][0]


def bootstrap_se(r, rb, draws: int = 200, block: int = 60, seed: int = 3) -> dict:
    """Standard errors of the data's figures: moving-block bootstrap of the joint returns."""
    rng = np.random.default_rng(seed)
    n = len(r)
    stats = []
    for _ in range(draws):
        starts = rng.integers(0, n - block + 1, size=-(-n // block))
        idx = (starts[:, None] + np.arange(block)).ravel()[:n]
        stats.append(window_stats(*data_windows(r[idx], rb[idx])))
    keys = stats[0].keys()
    return {k: float(np.nanstd([s[k] for s in stats])) for k in keys if k not in ("windows", "btc_down20_windows")}


# --------------------------------------------------------------------------- SVG
def _poly(xs, ys, sx, sy, color, dash="", width=1.6):
    pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys) if np.isfinite(y))
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline fill="none" stroke="{color}" stroke-width="{width}"{d} points="{pts}"/>'


def _nice_ticks(lo: float, hi: float, n: int = 5):
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    raw = (hi - lo) / n
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return np.arange(np.ceil(lo / step) * step, hi + 1e-12, step)


def panel(x0, title, xlabel, ylabel, series, ylim, yfmt, w=330, h=230):
    """One quantile-function panel: x = level (0-1), y = the quantile, several lines."""
    left, top, pw, ph = x0 + 52, 28, w - 64, h - 70
    y0, y1 = ylim
    sx = lambda v: left + v * pw                                      # noqa: E731
    sy = lambda v: top + ph - (min(max(v, y0), y1) - y0) / (y1 - y0) * ph   # noqa: E731
    out = [f'<text x="{x0 + w / 2}" y="16" text-anchor="middle" font-size="12" font-weight="bold">{title}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for t in _nice_ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 4}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="10">{yfmt(t)}</text>')
    for q in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<text x="{sx(q):.1f}" y="{top + ph + 14}" text-anchor="middle" font-size="10">{q:g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{top + ph + 30}" text-anchor="middle" font-size="10">{xlabel}</text>')
    out.append(f'<text x="{x0 + 12}" y="{top + ph / 2}" font-size="10" text-anchor="middle" '
               f'transform="rotate(-90 {x0 + 12} {top + ph / 2})">{ylabel}</text>')
    for xs, ys, color, dash, _ in series:
        out.append(_poly(xs, ys, sx, sy, color, dash))
    return out


def svg_for(asset: str, curves: dict, windows_note: str) -> str:
    """Two panels: the 30-day return quantile function and the 30-day drawdown's."""
    w, h = 700, 262
    styles = {"data": ("#111", ""), "model": ("#1f6fd1", ""), "before": ("#999", "5,3")}
    labels = {"data": f"data ({windows_note})", "model": "model (bundled fit)", "before": "model before the refit"}
    ret = [(LEVELS, np.expm1(np.quantile(curves[k][0], LEVELS)), *styles[k], labels[k]) for k in curves]
    dd = [(LEVELS, np.quantile(curves[k][1], LEVELS), *styles[k], labels[k]) for k in curves]
    lo = min(float(np.nanmin(s[1])) for s in ret)
    hi = max(float(np.quantile(curves[k][0], 0.99)) for k in curves)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">',
             '<rect width="100%" height="100%" fill="white"/>']
    pct = lambda v: f"{v * 100:.0f}%"                                # noqa: E731
    parts += panel(0, f"{asset}: 30-day return", "quantile level", "return", ret,
                   (max(-0.95, lo), min(3.0, np.expm1(hi))), pct)
    ddhi = max(float(np.quantile(curves[k][1], 0.995)) for k in curves)
    parts += panel(350, f"{asset}: largest 30-day drawdown", "quantile level", "drawdown", dd,
                   (0.0, min(1.0, ddhi * 1.05)), pct)
    for i, (_, _, color, dash, label) in enumerate(ret):
        x = 60 + i * 210
        d = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{x}" x2="{x + 22}" y1="{h - 8}" y2="{h - 8}" stroke="{color}" stroke-width="2"{d}/>')
        parts.append(f'<text x="{x + 27}" y="{h - 4}" font-size="10">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--since", default="2022-01-01")
    ap.add_argument("--before", default=None, help="a checkout whose model is the 'before' column")
    ap.add_argument("--paths", type=int, default=200_000)
    ap.add_argument("--out", default=str(ROOT / "docs" / "calibration"))
    args = ap.parse_args(argv)
    data = Path(args.data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {a: [data / f for f in files_for(a)] for a in ASSETS}
    days, R, _ = returns_from_files(files, args.since)
    _, R_full, _ = returns_from_files({"BTC": files["BTC"]})
    after = simulate(ROOT, args.paths)
    before = simulate(Path(args.before), args.paths) if args.before else None
    rows = {}
    for j, a in enumerate(ASSETS):
        ok = np.isfinite(R[:, j]) & np.isfinite(R[:, 0])
        d = data_windows(R[ok, j], R[ok, 0])
        rec = {"data": window_stats(*d), "se": bootstrap_se(R[ok, j], R[ok, 0]),
               "model": window_stats(*after[a], after["_btc"])}
        curves = {"data": d[:2], "model": after[a]}
        if before is not None:
            rec["before"] = window_stats(*before[a], before["_btc"])
            curves["before"] = before[a]
        note = f"{str(days[ok][0])[:7]} to {str(days[ok][-1])[:7]}"
        if a == "BTC":
            rb = R_full[:, 0]
            rec["data_full"] = window_stats(*data_windows(rb, rb))
            rec["se_full"] = bootstrap_se(rb, rb)
        rows[a] = rec
        (out / f"{a}.svg").write_text(svg_for(a, curves, note), encoding="utf-8")
    (out / "model_vs_data.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    table = render(rows, before is not None)
    head = ("# The Monte Carlo model against the data\n\nWritten by `scripts/model_vs_data.py` "
            f"({args.paths:,} model paths of 30 days; data: every 30-day window since {args.since}, "
            "overlapping; s.e. from a moving-block bootstrap of the daily returns, 60-day blocks, "
            "200 draws). See docs/montecarlo.md.\n\n")
    (out / "model_vs_data.md").write_text(head + table + "\n", encoding="utf-8")
    print(table)
    b = rows["BTC"]
    print(f"\nBTC since 2017: 99th pct drawdown {b['data_full']['dd0.99']:.1%} ± {b['se_full']['dd0.99']:.1%}")
    return 0


def render(rows: dict, with_before: bool) -> str:
    """The tables for docs/montecarlo.md."""
    f = lambda x: f"{x * 100:.1f} %"                                  # noqa: E731
    lines = ["| asset | figure | data (± s.e.) | model" + (" | model before" if with_before else "") + " |",
             "| --- | --- | --- | ---" + (" | ---" if with_before else "") + " |"]
    figs = [("q0.05", "30-day return, 5th pct", f), ("q0.5", "30-day return, median", f),
            ("q0.95", "30-day return, 95th pct", f), ("p_below_30", "P(30-day return < -30 %)", f),
            ("dd0.95", "30-day drawdown, 95th pct", f), ("dd0.99", "30-day drawdown, 99th pct", f),
            ("beta", "30-day beta to BTC", lambda x: f"{x:.2f}"),
            ("down20", "mean 30-day return when BTC < -20 %", f)]
    for a, rec in rows.items():
        for key, name, fmt in figs:
            if key not in rec["data"] or (a == "BTC" and key in ("beta", "down20")):
                continue
            se = rec["se"][key]
            cells = [a, name, f"{fmt(rec['data'][key])} ± {fmt(se)}", fmt(rec["model"][key])]
            if with_before:
                cells.append(fmt(rec["before"][key]))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
