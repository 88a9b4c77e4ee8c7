"""The HTML report: one self-contained page (inline CSS and SVG charts, no scripts, no
external files) built from a :class:`reporting.results.ReportData`.

The window (File > Export > HTML report) and the command line (``main.py report``) build
the same :class:`ReportData` from the same engine results and call :func:`build_report`;
nothing here needs Qt or a display. Every setting is written in words; notes say when a
run was cancelled, when an asset followed a proxy and which positions were left out.
"""
from __future__ import annotations

import html
import math

import numpy as np

from appinfo import APP_NAME, APP_VERSION
from engine.scenarios import utc_text

from . import svg, words
from .results import MonteCarloRun, ReportData, ScenarioRun, scenario_rows

CSS = """
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto;
       max-width: 940px; padding: 0 16px; color: #1f2328; background: #ffffff; line-height: 1.4; }
h1 { margin: 0 0 4px; font-size: 24px } h2 { border-bottom: 1px solid #d7dbe0; padding-bottom: 4px;
       margin-top: 36px; font-size: 19px } h3 { font-size: 15px; margin: 20px 0 6px }
.meta { color: #6b7280; margin: 0 0 12px } .muted { color: #6b7280 }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; width: 100% }
th, td { border: 1px solid #d7dbe0; padding: 3px 8px; text-align: left; vertical-align: top }
th { background: #f3f4f6; font-weight: 600 } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums;
       white-space: nowrap } tr.liq td { background: #fbd5d0 } tr.wallet td { background: #f7f8fa }
tfoot td { font-weight: 600; background: #f3f4f6 }
table.settings th { width: 24%; background: #f7f8fa }
.notes { background: #fff4d6; border: 1px solid #e8c66a; border-radius: 6px; padding: 6px 14px; margin: 12px 0 }
.notes li { margin: 3px 0 }
.cards { display: flex; gap: 10px; flex-wrap: wrap; margin: 10px 0 } .card { border: 1px solid #d7dbe0;
       border-radius: 6px; padding: 6px 12px; min-width: 130px } .card b { display: block; font-size: 18px }
.loss { color: #c43d00 } .gain { color: #00845f }
svg { display: block; max-width: 100%; height: auto; margin: 10px 0; border: 1px solid #e5e7eb; border-radius: 4px }
footer { margin-top: 40px; color: #6b7280; font-size: 12px; border-top: 1px solid #d7dbe0; padding-top: 8px }
@media print { body { max-width: none } h2 { break-after: avoid } svg, table { break-inside: avoid } }
"""


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset(),
          row_class: list[str] | None = None, foot: list | None = None, cls: str = "") -> str:
    """An HTML table; ``numeric`` columns right-aligned; cells are escaped."""
    def tr(cells, tag="td", klass=""):
        k = f" class='{klass}'" if klass else ""
        return f"<tr{k}>" + "".join(
            f"<{tag}{' class=n' if j in numeric else ''}>{esc(v)}</{tag}>" for j, v in enumerate(cells)) + "</tr>"
    out = [f"<table{f' class={cls}' if cls else ''}><thead>", tr(headers, "th"), "</thead><tbody>"]
    out += [tr(r, klass=(row_class[i] if row_class else "")) for i, r in enumerate(rows)]
    out.append("</tbody>")
    if foot is not None:
        out.append("<tfoot>" + tr(foot) + "</tfoot>")
    out.append("</table>")
    return "".join(out)


def settings_table(items: list[tuple[str, str]]) -> str:
    return ("<table class=settings><tbody>"
            + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
            + "</tbody></table>")


def cards(items: list[tuple[str, str, str]]) -> str:
    """(label, value, css class) cards."""
    return "<div class='cards'>" + "".join(
        f"<div class='card'>{esc(k)}<b class='{c}'>{esc(v)}</b></div>" for k, v, c in items) + "</div>"


def _tone(x) -> str:
    return "" if not isinstance(x, (int, float)) or not math.isfinite(x) or x == 0 else ("loss" if x < 0 else "gain")


def notes_box(notes: list[str]) -> str:
    if not notes:
        return ""
    return "<div class='notes'><b>Notes</b><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul></div>"


# --------------------------------------------------------------------------- sections
def _holdings(d: ReportData) -> list[str]:
    liq = {r["id"]: r for r in d.liquidation}
    rows, classes = [], []
    for pos in d.portfolio.positions:
        r = liq.get(pos.id, {})
        hf = r.get("health_factor")
        rows.append([pos.id, words.describe_position(pos), words.money(d.values_today.get(pos.id)),
                     words.price(r.get("liquidation_price")) if r.get("liquidation_price") else "none",
                     words.pct(r.get("distance")),
                     f"{hf:.3f}" if isinstance(hf, float) and math.isfinite(hf) else "—"])
        classes.append("liq" if r.get("distance") is not None and abs(r["distance"]) < 0.1 else "")
    wallets = sum(float(a.wallet_balance) for a in d.portfolio.accounts)
    out = ["<h2>Holdings today</h2>",
           "<p class='muted'>Liquidation price: the price of the position's asset (other prices held) at "
           "which it is liquidated; distance: how far that is from today's price. Rows within 10% "
           "of liquidation are marked.</p>",
           table(["Position", "What it is", "Value today", "Liq. price", "Distance", "Health factor"], rows,
                 {2, 3, 4, 5}, classes,
                 foot=["Total", f"{len(rows)} position(s)" + (f" + cross wallets {words.money(wallets)}"
                                                              if d.portfolio.accounts else ""),
                       words.money(d.value_today), "", "", ""])]
    if d.portfolio.accounts:
        acc_today = {a["id"]: a for a in d.accounts_today}
        out.append("<h3>Cross accounts</h3>")
        out.append(table(["Account", "Wallet balance", "Venue", "Value today (wallet + unrealised P&L)",
                          "Margin ratio today"],
                         [[a.id, words.money(a.wallet_balance), a.venue or "—",
                           words.money(acc_today.get(a.id, {}).get("value_before")),
                           words.pct(acc_today.get(a.id, {}).get("margin_ratio"), 1, signed=False)]
                          for a in d.portfolio.accounts], {1, 3, 4}))
    dist = [(r["id"], r["distance"]) for r in d.liquidation if r.get("distance") is not None]
    if dist:
        dist.sort(key=lambda t: abs(t[1]))
        out.append(svg.hbar_chart("Liquidation distance at today's prices (nearest first)",
                                  [i for i, _ in dist], [x for _, x in dist],
                                  x_label="Move of the position's asset that liquidates it",
                                  fmt=svg.pct_short,
                                  colors=[svg.LOSS if abs(x) < 0.1 else (svg.WARN if abs(x) < 0.25 else svg.ACCENT)
                                          for _, x in dist]))
    s = d.sensitivity
    if s is not None:
        rules = [svg.Rule(d.value_today, f"today {svg.money_short(d.value_today)}")]
        if d.shock_move is not None:
            rules.append(svg.Rule(d.shock_move, f"shock {svg.pct_short(d.shock_move)}", axis="x", color=svg.ACCENT))
        marks = [svg.Mark(x, y, pid) for pid, x, y in s.marks]
        out.append(svg.line_chart("Portfolio value after an instant BTC move (other assets through their beta)",
                                  [svg.Line(s.grid, s.value, "portfolio value")],
                                  x_label="BTC move", y_label="Portfolio value (USD)", x_fmt=svg.pct_short,
                                  y_fmt=svg.money_short, marks=marks, rules=rules))
        out.append("<p class='muted'>Dots mark where each position is first liquidated as BTC falls or rises.</p>")
    return out


def _scenario(run: ScenarioRun) -> list[str]:
    rep = run.report
    pf = rep["portfolio"]
    rows_src = scenario_rows(rep)
    rows, classes = [], []
    for r in rows_src:
        if r["kind"] == "wallet":
            status = "account liquidated: wallet lost" if r["liquidated"] else "account not liquidated"
        elif r["liquidated"]:
            step = r.get("liquidation_step")
            label = r.get("liquidation_label") or ""
            when = utc_text(r.get("liquidation_time"), None)
            if when:
                status = f"LIQUIDATED {when}"
            else:
                status = "LIQUIDATED" + (f" at step {step}" if step is not None and run.steps > 1 else "") + \
                         (f" ({label})" if label and run.steps > 1 else "")
        else:
            status = "not liquidated"
        move = rep.get("moves", {}).get(r["asset"])
        rows.append([r["id"], r["asset"], r["kind"], words.pct(move) if move is not None else "—",
                     words.price(r.get("liquidation_price")) if r.get("liquidation_price") else "—", status,
                     words.money(r["value_before"]), words.money(r["value_after"]),
                     words.money(r["pnl"], signed=True)])
        classes.append("liq" if r["liquidated"] else ("wallet" if r["kind"] == "wallet" else ""))
    liq_n = pf.get("liquidated_positions", 0)
    out = [f"<h2>{esc(run.title)}</h2>", settings_table(run.settings), notes_box(run.notes)]
    desc = rep.get("scenario", {}).get("description")
    if desc:
        out.append(f"<p>{esc(desc)}</p>")
    srcs = rep.get("scenario", {}).get("sources") or []
    links = [s for s in srcs if isinstance(s, dict) and s.get("url")]
    if links:
        out.append("<p class='muted'>Sources: " + "; ".join(
            f"<a href='{esc(s['url'])}'>{esc(s.get('title') or s['url'])}</a>" for s in links) + "</p>")
    out.append(cards([("Value before", words.money(pf["value_before"]), ""),
                      ("Value after", words.money(pf["value_after"]), ""),
                      ("P&L", words.money(pf["pnl"], signed=True), _tone(pf["pnl"])),
                      ("P&L of the value", words.pct(pf.get("pnl_fraction")), _tone(pf["pnl"])),
                      ("Max drawdown", words.pct(-float(pf.get("max_drawdown") or 0.0)), ""),
                      ("Positions liquidated", f"{liq_n} of {len(rep['positions'])}", "loss" if liq_n else "")]))
    out.append(table(["Position", "Asset", "Kind", "Asset move", "Liq. price", "Outcome", "Value before",
                      "Value after", "P&L"], rows, {3, 4, 6, 7, 8}, classes,
                     foot=["Total", "", "", "", "", "", words.money(pf["value_before"]),
                           words.money(pf["value_after"]), words.money(pf["pnl"], signed=True)]))
    out.append("<p class='muted'>The rows add up to the total: a cross account's wallet is listed as its "
               "own row (its positions' values are their unrealised P&L), and is lost when the account "
               "is liquidated.</p>")
    by = sorted(rep.get("by_asset", {}).items(), key=lambda kv: kv[1])
    if by:
        out.append(svg.hbar_chart("P&L per asset (a liquidated account's wallet on its own bar)",
                                  [k for k, _ in by], [v for _, v in by], x_label="P&L (USD)"))
    series = rep.get("series") or {}
    if run.steps > 1 and series.get("value"):
        ends = {a["id"]: a.get("liquidation_step") for a in rep.get("accounts") or [] if a.get("liquidated")}
        out += _series_charts(series, ends)
    return out


def _step_ticks(labels: list[str], n: int = 5) -> list[tuple[float, str]]:
    """``n`` labelled steps from the first, evenly spaced; the last label sits a fifth of the
    axis before its end, so none is cut or runs into its neighbour."""
    T = len(labels)
    idx = sorted({int(round(i * (T - 1) / n)) for i in range(n)}) if T > 1 else [0]
    return [(float(i), str(labels[i]).replace("T", " ")[:16]) for i in idx]


def _series_charts(series: dict, account_ends: dict[str, int]) -> list[str]:
    """Value, health factors and margin ratios along a replay; an account's margin ratio
    ends where it is liquidated (marked), since the account no longer exists after."""
    labels = list(series.get("labels") or [])
    value = np.asarray(series["value"], float)
    x = np.arange(len(value), dtype=float)
    ticks = _step_ticks(labels or [str(i) for i in range(len(value))])
    out = [svg.line_chart("Portfolio value through the replay", [svg.Line(x, value, "portfolio value")],
                          x_label="Time", y_label="Portfolio value (USD)", y_fmt=svg.money_short,
                          x_ticks=ticks, rules=[svg.Rule(float(value[0]), "today")])]
    for key, title, y_label, line_label in (
            ("health_factor", "Loan health factor (liquidation below 1)", "Health factor", "HF 1"),
            ("margin_ratio", "Cross account margin ratio (liquidation at 100%)", "Maintenance / equity", "100%")):
        data = series.get(key) or {}
        if not data:
            continue
        lines, marks = [], []
        finite_max = 1.0
        for k, (name, vals) in enumerate(data.items()):
            y = np.array([np.nan if v is None else v for v in vals], float)
            y[~np.isfinite(y)] = np.nan
            color = svg.SERIES[k % len(svg.SERIES)]
            end = account_ends.get(name) if key == "margin_ratio" else None
            if end is not None:
                y[end + 1:] = np.nan
                marks.append(svg.Mark(float(end), 1.0, f"{name} liquidated", svg.LOSS))
            if np.isfinite(y).any():
                finite_max = max(finite_max, float(np.nanmax(y)))
            lines.append(svg.Line(x, y, name, color))
        top = min(finite_max * 1.1, 4.0) if key == "health_factor" else min(finite_max * 1.1, 1.5)
        fmt = (lambda v: f"{v:.2f}") if key == "health_factor" else (lambda v: f"{v * 100:.0f}%")
        out.append(svg.line_chart(title, lines, x_label="Time", y_label=y_label, y_fmt=fmt, x_ticks=ticks,
                                  y_range=(0.0, max(top, 1.2)), marks=marks,
                                  rules=[svg.Rule(1.0, line_label, color=svg.LOSS)]))
    return out


def _montecarlo(run: MonteCarloRun) -> list[str]:
    c = run.chunk
    v0 = float(c.value_before)
    var, cvar = dict(c.var or {}), dict(c.cvar or {})
    out = ["<h2>Monte Carlo</h2>", settings_table(run.settings), notes_box(run.notes)]
    items = [("Paths", f"{int(c.paths_done):,}", "")]
    for k in var:
        items.append((f"VaR {float(k):.0%}", words.money(float(var[k])), "loss"))
    for k in cvar:
        items.append((f"CVaR {float(k):.0%}", words.money(float(cvar[k])), "loss"))
    out.append(cards(items))
    out.append("<p class='muted'>VaR: the loss not exceeded on that share of paths; CVaR: the mean loss "
               "on the paths beyond it. Losses are in USD from today's value "
               f"({words.money(v0)}).</p>")
    fan = np.asarray(c.fan, float)
    levels = [float(q) for q in c.fan_levels]
    if fan.size:
        days = np.arange(fan.shape[1]) / float(max(run.steps_per_day, 1))
        bands, lines = [], []
        n = len(levels)
        for k in range(n // 2):
            bands.append(svg.Band(days, fan[k], fan[n - 1 - k], svg.BANDS[min(k, len(svg.BANDS) - 1)],
                                  f"p{levels[k] * 100:g}–p{levels[n - 1 - k] * 100:g}"))
        mid = n // 2
        lines.append(svg.Line(days, fan[mid], f"median (p{levels[mid] * 100:g})", svg.TEXT))
        out.append(svg.line_chart("Portfolio value percentiles over the horizon", lines, bands=bands,
                                  x_label="Day", y_label="Portfolio value (USD)", y_fmt=svg.money_short,
                                  rules=[svg.Rule(v0, "today")]))
    edges = np.asarray(c.hist_edges, float)
    counts = np.asarray(c.hist_counts, float)
    if edges.size > 1 and counts.sum() > 0:
        rules = [svg.Rule(-float(var[k]), f"VaR {float(k):.0%} {svg.money_short(-float(var[k]))}",
                          axis="x", color=svg.LOSS) for k in var]
        out.append(svg.histogram("P&L at the horizon across paths", edges, counts,
                                 x_label="P&L at the horizon (USD)", rules=rules))
    probs = np.asarray(c.liquidation_probability, float)
    rows = [[run.ids[i] if i < len(run.ids) else str(i), run.assets[i] if i < len(run.assets) else "",
             words.pct(float(p), 2, signed=False)] for i, p in enumerate(probs)]
    out.append("<h3>Probability of liquidation over the horizon</h3>")
    out.append(table(["Position", "Asset", "P(liquidated)"], rows, {2}))
    loss = dict(getattr(c, "expected_loss_by_asset", {}) or {})
    if loss:
        by = sorted(((k, -float(v)) for k, v in loss.items()), key=lambda kv: kv[1])
        out.append(svg.hbar_chart("Expected P&L per asset at the horizon", [k for k, _ in by],
                                  [v for _, v in by], x_label="Mean P&L over paths (USD)"))
    return out


def _reverse(rep: dict) -> list[str]:
    out = ["<h2>Reverse stress</h2>",
           "<p class='muted'>The instant BTC move (other assets through their beta) that liquidates "
           "each position, searched from −99.9% to +1000%; the one nearest to today is shown.</p>"]
    out.append(table(["Position", "Asset", "Kind", "BTC move to liquidation", "BTC price then"],
                     [[r["id"], r["asset"], r["kind"],
                       words.pct(r["btc_move_to_liquidation"]) if r["btc_move_to_liquidation"] is not None
                       else "none in the range",
                       words.price(r.get("btc_price_at_liquidation")) if r.get("btc_price_at_liquidation") else "—"]
                      for r in rep["positions"]], {3, 4}))
    out.append(table(["Portfolio loss", "BTC move that causes it"],
                     [[f"{float(k):.0%} of the value", words.pct(m) if m is not None else "not reached"]
                      for k, m in rep["portfolio"]["btc_move_for_loss"].items()], {1}))
    return out


def _general_settings(d: ReportData) -> list[tuple[str, str]]:
    p = d.portfolio
    prices = "; ".join(f"{a} {words.price(v)}" for a, v in p.prices.items()) or "none"
    items = [("Portfolio", p.name), ("File", d.path or "not saved"),
             ("Prices today (USD)", prices),
             ("Betas to BTC", words.describe_betas(d.betas, d.beta_sources)),
             ("Beta overrides", words.describe_overrides(d.beta_overrides))]
    if p.accounts:
        items.append(("Cross accounts", "; ".join(
            f"{a.id}: wallet {words.money(a.wallet_balance)}" + (f" at {a.venue}" if a.venue else "")
            for a in p.accounts)))
    runs = [r.title for r in d.scenarios]
    if d.montecarlo is not None:
        runs.append("Monte Carlo")
    if d.reverse is not None:
        runs.append("Reverse stress")
    items.append(("Results in this report", ", ".join(runs) if runs else "holdings and liquidation prices only"))
    items.append(("Generated", f"{d.generated:%Y-%m-%d %H:%M %Z}".strip() + f" by {APP_NAME} {APP_VERSION}"))
    return items


def build_report(d: ReportData) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    notes = list(d.notes)
    if d.excluded:
        notes.append("Left out of every figure because their input is invalid: " + ", ".join(d.excluded) + ".")
    notes += [f"Warning: {w}" for w in d.warnings]
    title = f"{APP_NAME} report: {d.portfolio.name}"
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<meta name='generator' content='{esc(APP_NAME)} {esc(APP_VERSION)}'>"
             f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             f"<p class='meta'>{d.generated:%Y-%m-%d %H:%M} · {esc(APP_NAME)} {esc(APP_VERSION)} · "
             f"{esc(d.path or 'portfolio not saved')} · all values in USD</p>"]
    nearest = min((r for r in d.liquidation if r.get("distance") is not None),
                  key=lambda r: abs(r["distance"]), default=None)
    top = [("Portfolio value today", words.money(d.value_today), ""),
           ("Positions", str(len(d.portfolio.positions)), "")]
    if nearest is not None:
        top.append(("Nearest liquidation", f"{nearest['id']} {words.pct(nearest['distance'])}",
                    "loss" if abs(nearest["distance"]) < 0.1 else ""))
    for run in d.scenarios:
        top.append((run.title, words.money(run.report["portfolio"]["pnl"], signed=True),
                    _tone(run.report["portfolio"]["pnl"])))
    parts.append(cards(top))
    parts.append(notes_box(notes))
    parts.append("<h2>Settings</h2>")
    parts.append(settings_table(_general_settings(d)))
    parts += _holdings(d)
    for run in d.scenarios:
        parts += _scenario(run)
    if d.montecarlo is not None:
        parts += _montecarlo(d.montecarlo)
    if d.reverse is not None:
        parts += _reverse(d.reverse)
    parts.append(f"<footer>{esc(APP_NAME)} computes offline from its bundled data and your inputs; it is "
                 "a stress-testing aid, not financial advice. Liquidation rules, venue tiers and "
                 "calibration are documented with their sources in the app's resources.</footer>")
    parts.append("</body></html>\n")
    return "".join(parts)

