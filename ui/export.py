"""Exports: results as CSV, charts as PNG, and a self-contained HTML report (charts
embedded as base64 PNG). Every file is written atomically through the engine's helpers."""
from __future__ import annotations

import base64
import datetime as _dt
import html
import io

import numpy as np
import pandas as pd
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtWidgets import QWidget

from engine.atomic import write_bytes_atomic, write_text_atomic

from .document import COLUMNS, fmt_money, fmt_pct, format_legs, fmt_display


# --------------------------------------------------------------------------- frames
def shock_frame(result) -> pd.DataFrame:
    return pd.DataFrame({
        "id": result.ids, "asset": result.assets, "kind": result.kinds,
        "asset_move": [result.moves.get(a) for a in result.assets],
        "value_before": result.value_before, "value_after": result.value_after,
        "pnl": result.pnl, "liquidated": result.liquidated.astype(bool),
    })


def replay_frames(result) -> dict[str, pd.DataFrame]:
    steps = pd.DataFrame({"step": np.arange(len(result.value)), "label": result.labels,
                          "portfolio_value": result.value})
    for pid, v in result.position_values.items():
        steps[f"value:{pid}"] = v
    for lid, v in result.health.items():
        steps[f"health_factor:{lid}"] = v
    for aid, v in result.margin_ratio.items():
        steps[f"margin_ratio:{aid}"] = v
    pos = pd.DataFrame([{k: p.get(k) for k in ("id", "asset", "kind", "liquidation_price", "liquidated",
                                                 "liquidation_step", "liquidation_label", "value_before",
                                                 "value_after", "pnl")} for p in result.report["positions"]])
    return {"steps": steps, "positions": pos}


def montecarlo_frames(update) -> dict[str, pd.DataFrame]:
    c = update.chunk
    probs = np.asarray(c.liquidation_probability, float)
    pos = pd.DataFrame({"id": update.ids[: len(probs)], "asset": update.assets[: len(probs)],
                        "liquidation_probability": probs})
    fan = np.asarray(c.fan, float)
    days = np.arange(fan.shape[1]) / float(max(update.steps_per_day, 1))
    fan_df = pd.DataFrame({"day": days})
    for lvl, row in zip(c.fan_levels, fan):
        fan_df[f"p{float(lvl) * 100:g}"] = row
    summary = pd.DataFrame([{"paths": int(c.paths_done), "seed": update.seed,
                             "value_before": float(c.value_before),
                             **{f"var_{k}": float(v) for k, v in (c.var or {}).items()},
                             **{f"cvar_{k}": float(v) for k, v in (c.cvar or {}).items()}}])
    return {"summary": summary, "positions": pos, "fan": fan_df}


def reverse_frame(rep: dict) -> pd.DataFrame:
    return pd.DataFrame(rep["positions"])


def current_view_frames(window) -> tuple[dict[str, pd.DataFrame] | pd.DataFrame | None, str]:
    """The results of the window's current view as CSV tables, and a file name stem; the
    shock results when the view has none (``None`` when nothing has been computed)."""
    w = window.tabs.currentWidget()
    if w is window.replay_view and window.replay_view.result is not None:
        return replay_frames(window.replay_view.result), "replay"
    if w is window.montecarlo_view and window.montecarlo_view.last_chunk is not None:
        return montecarlo_frames(window.montecarlo_view.last_chunk), "montecarlo"
    if w is window.reverse_view and window.reverse_view.report is not None:
        return reverse_frame(window.reverse_view.report), "reverse-stress"
    if window.controller.shock is not None:
        return shock_frame(window.controller.shock), "shock"
    return None, "results"


def frames_to_csv(frames: dict[str, pd.DataFrame] | pd.DataFrame) -> str:
    """One CSV; several tables are written one after the other, each under a '# name' line."""
    if isinstance(frames, pd.DataFrame):
        return frames.to_csv(index=False)
    out = io.StringIO()
    for i, (name, df) in enumerate(frames.items()):
        if i:
            out.write("\n")
        out.write(f"# {name}\n")
        df.to_csv(out, index=False)
    return out.getvalue()


def write_csv(path: str, frames) -> None:
    write_text_atomic(path, frames_to_csv(frames))


# --------------------------------------------------------------------------- images
def widget_png(widget: QWidget) -> bytes:
    pix = widget.grab()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pix.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def write_png(path: str, widget: QWidget) -> None:
    write_bytes_atomic(path, widget_png(widget))


# --------------------------------------------------------------------------- HTML
_CSS = """
body { font-family: -apple-system, Segoe UI, DejaVu Sans, sans-serif; margin: 24px auto; max-width: 1180px;
       color: #1f2328; }
h1 { margin-bottom: 0 } h2 { border-bottom: 1px solid #d7dbe0; padding-bottom: 4px; margin-top: 32px }
.meta { color: #6b7280 } table { border-collapse: collapse; margin: 8px 0; font-size: 13px }
th, td { border: 1px solid #d7dbe0; padding: 3px 8px; text-align: left }
td.n { text-align: right; font-variant-numeric: tabular-nums } th { background: #f3f4f6 }
tr.liq td { background: #fbd5d0 } .err { background: #fde2e1 }
img { max-width: 100%; border: 1px solid #d7dbe0; margin: 6px 0 }
.cards { display: flex; gap: 12px; flex-wrap: wrap } .card { border: 1px solid #d7dbe0; border-radius: 6px;
       padding: 6px 12px } .card b { display: block; font-size: 18px }
"""


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset(),
           row_class: list[str] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    for i, r in enumerate(rows):
        cls = f" class='{row_class[i]}'" if row_class and row_class[i] else ""
        out.append(f"<tr{cls}>" + "".join(
            f"<td class='n'>{html.escape(str(v))}</td>" if j in numeric else f"<td>{html.escape(str(v))}</td>"
            for j, v in enumerate(r)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _img(widget: QWidget, alt: str) -> str:
    b64 = base64.b64encode(widget_png(widget)).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{b64}'>"


def _cards(items: list[tuple[str, str]]) -> str:
    return "<div class='cards'>" + "".join(
        f"<div class='card'>{html.escape(k)}<b>{html.escape(v)}</b></div>" for k, v in items) + "</div>"


def html_report(window) -> str:
    """A self-contained report of the current portfolio and every result shown."""
    doc = window.document.doc
    v = window.document.validation
    ctrl = window.controller
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>CrashLab report — "
             f"{html.escape(doc.name)}</title><style>{_CSS}</style></head><body>",
             f"<h1>CrashLab report: {html.escape(doc.name)}</h1>",
             f"<p class='meta'>Generated {now}. File: {html.escape(window.document.path or 'not saved')}. "
             "All values in USD at the prices below.</p>"]
    # holdings
    keys = [c for c in COLUMNS if c.editor != "computed"]
    used = [c for c in keys if any(r.raw.get(c.key) not in (None, "") for r in doc.rows)]
    rows = []
    liq = window.document.holdings.analysis
    for r in doc.rows:
        cells = [format_legs(r.raw.get(c.key)) if c.editor == "legs" else fmt_display(r.raw.get(c.key))
                 for c in used]
        a = liq.get(str(r.raw.get("id")), {})
        cells += [fmt_money(window.document.holdings.values.get(str(r.raw.get("id")))),
                  f"{a['liquidation_price']:,.6g}" if a.get("liquidation_price") else "—",
                  fmt_pct(a.get("distance"))]
        rows.append(cells)
    parts.append("<h2>Holdings</h2>")
    parts.append(_table([c.title for c in used] + ["Value now", "Liq. price", "Distance"], rows))
    if v.excluded:
        parts.append(f"<p class='err'>Left out (invalid input): {html.escape(', '.join(v.excluded))}</p>")
    parts.append("<h3>Prices today</h3>")
    parts.append(_table(["Asset", "Price (USD)"], [[a, fmt_display(p)] for a, p in doc.prices], {1}))
    if doc.accounts:
        parts.append("<h3>Cross accounts</h3>")
        parts.append(_table(["Account", "Wallet balance", "Venue", "Collateral"],
                            [[a.get("id"), fmt_display(a.get("wallet_balance")), a.get("venue") or "",
                              format_legs(a.get("collateral"))]
                             for a in doc.accounts], {1}))
    # shock
    if ctrl.shock is not None:
        s = ctrl.shock
        parts.append(f"<h2>Shock: BTC {fmt_pct(s.btc_move)}</h2>")
        betas = ctrl.analysis.betas if ctrl.analysis else {}
        parts.append("<p>Other assets move by (1 + BTC move)<sup>beta</sup> − 1. Betas: "
                     + html.escape(", ".join(f"{a} {b:g}" for a, b in betas.items()))
                     + (f"; overrides: {html.escape(str(ctrl.beta_overrides))}" if ctrl.beta_overrides else "")
                     + "</p>")
        parts.append(_cards([("Value today", fmt_money(s.portfolio_before)),
                             ("Value after", fmt_money(s.portfolio_after)),
                             ("P&L", fmt_money(s.portfolio_pnl, signed=True)),
                             ("Liquidated", f"{int(s.liquidated.sum())} of {len(s.ids)}")]))
        parts.append(_table(["Position", "Asset", "Kind", "Asset move", "Value today", "Value after", "P&L", "Status"],
                            [[s.ids[i], s.assets[i], s.kinds[i], fmt_pct(s.moves.get(s.assets[i])),
                              fmt_money(s.value_before[i]), fmt_money(s.value_after[i]),
                              fmt_money(s.pnl[i], signed=True), s.status[i]]
                             for i in range(len(s.ids))], {3, 4, 5, 6},
                            ["liq" if l else "" for l in s.liquidated]))
        sv = window.shock_view
        parts.append(_img(sv.sensitivity, "sensitivity"))
        parts.append(_img(sv.ladder, "liquidation ladder"))
        parts.append(_img(sv.by_asset, "loss per asset"))
    # replay
    rv = window.replay_view
    if rv.result is not None:
        rep = rv.result.report
        pf = rep["portfolio"]
        parts.append(f"<h2>Replay: {html.escape(rep['scenario']['name'])}</h2>")
        desc = rep["scenario"].get("description")
        if desc:
            parts.append(f"<p>{html.escape(desc)}</p>")
        srcs = rep["scenario"].get("sources") or []
        if srcs and isinstance(srcs[0], dict):
            parts.append("<ul>" + "".join(f"<li><a href='{html.escape(s.get('url', ''))}'>"
                                          f"{html.escape(s.get('title', ''))}</a></li>" for s in srcs) + "</ul>")
        parts.append(_cards([("Value today", fmt_money(pf["value_before"])),
                             ("Value at the end", fmt_money(pf["value_after"])),
                             ("P&L", fmt_money(pf["pnl"], signed=True)),
                             ("Max drawdown", fmt_pct(-pf["max_drawdown"])),
                             ("Liquidated", str(pf["liquidated_positions"]))]))
        parts.append(_table(["Position", "Asset", "Kind", "Liquidated at", "Value today", "Value at the end", "P&L"],
                            [[p["id"], p["asset"], p["kind"],
                              (f"step {p['liquidation_step']} ({p.get('liquidation_label') or ''})"
                               if p["liquidated"] else "—"),
                              fmt_money(p["value_before"]), fmt_money(p["value_after"]),
                              fmt_money(p["pnl"], signed=True)] for p in rep["positions"]], {4, 5, 6},
                            ["liq" if p["liquidated"] else "" for p in rep["positions"]]))
        parts.append(_img(rv.value_chart, "portfolio value through the replay"))
        if rv.result.health:
            parts.append(_img(rv.health_chart, "health factor"))
        if rv.result.margin_ratio:
            parts.append(_img(rv.margin_chart, "margin ratio"))
    # Monte Carlo
    mv = window.montecarlo_view
    if mv.last_chunk is not None:
        c = mv.last_chunk.chunk
        s = ctrl.mc_settings
        parts.append("<h2>Monte Carlo</h2>")
        if s is not None:
            parts.append(f"<p>{int(c.paths_done):,} paths, {s.days} days, {s.steps_per_day} step(s) per day, "
                         f"model {html.escape(s.model)}, seed {s.seed}, cascade strength {s.cascade:g}.</p>")
        var = c.var or {}
        cvar = c.cvar or {}
        parts.append(_cards([(f"VaR {float(k):.0%}", fmt_money(abs(float(x)))) for k, x in var.items()]
                            + [(f"CVaR {float(k):.0%}", fmt_money(abs(float(x)))) for k, x in cvar.items()]))
        probs = np.asarray(c.liquidation_probability, float)
        parts.append(_table(["Position", "Asset", "P(liquidation)"],
                            [[mv.ids[i] if i < len(mv.ids) else i, mv.assets[i] if i < len(mv.assets) else "",
                              fmt_pct(float(p), 2, signed=False)] for i, p in enumerate(probs)], {2}))
        parts.append(_img(mv.fan, "fan chart"))
        parts.append(_img(mv.hist, "loss histogram"))
    # reverse
    rep = window.reverse_view.report
    if rep is not None:
        parts.append("<h2>Reverse stress</h2>")
        parts.append(_table(["Position", "Asset", "Kind", "BTC move to liquidation", "BTC price then"],
                            [[r["id"], r["asset"], r["kind"],
                              fmt_pct(r["btc_move_to_liquidation"]) if r["btc_move_to_liquidation"] is not None else "none",
                              f"{r['btc_price_at_liquidation']:,.0f}" if r.get("btc_price_at_liquidation") else "—"]
                             for r in rep["positions"]], {3, 4}))
        parts.append(_table(["Portfolio loss", "BTC move"],
                            [[f"{float(k):.0%}", fmt_pct(m) if m is not None else "not reached"]
                             for k, m in rep["portfolio"]["btc_move_for_loss"].items()], {1}))
    parts.append("<p class='meta'>CrashLab computes offline from the bundled data and your inputs; "
                 "it is a stress-testing aid, not financial advice.</p></body></html>")
    return "".join(parts)


def write_html_report(path: str, window) -> None:
    write_text_atomic(path, html_report(window))
