"""Headless command line: the same engine calls as the GUI, printed as tables or JSON.

    python main.py scenarios [--json]
    python main.py liquidation PORTFOLIO [--json]
    python main.py stress PORTFOLIO (--scenario ID|all | --prices CSV ... | --shock BTC=-30%,...)
    python main.py reverse PORTFOLIO [--loss 0.1,0.25,0.5] [--json]
    python main.py plan PORTFOLIO (--scenario ID|all | --shock ... | --prices CSV ... | --loss 0.33 |
                                   --montecarlo-pliq 0.01 --days 30) [--budget USD] [--json]
    python main.py montecarlo PORTFOLIO --paths N --days D --seed S [--depeg default|off|RATE] [--json]
    python main.py convert IN [IN ...] -o OUT.json
    python main.py report PORTFOLIO [--scenario ID | --prices CSV ... | --shock ...] [--paths N] -o FILE.html
    python main.py cascade --move -0.16 [--open-interest USD] [--strength S] [--json]

PORTFOLIO is any file CrashLab reads by content: its own JSON or holdings CSV, or a venue's
export (Hyperliquid, ccxt, Binance, Bybit, OKX, rotki, Aave v3 subgraph).

Errors exit non-zero with one line on stderr (never a traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

SUBCOMMANDS = ("scenarios", "liquidation", "stress", "reverse", "montecarlo", "cascade", "convert",
               "report", "plan")

EXIT_INPUT = 2
EXIT_INTERNAL = 1
EXIT_PAST_LIQUIDATION = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise _UsageError(f"{self.prog}: {message} (see --help)")


class _UsageError(Exception):
    pass


# --------------------------------------------------------------------------- errors
#: Engine errors name request fields (``n_paths``, ``vol.BTC``); the command line names the flag
#: that set them. A dotted field maps through its first part: ``vol.BTC`` -> ``--vol BTC``.
FIELD_FLAGS = {
    "n_paths": "--paths", "days": "--days", "steps_per_day": "--steps-per-day", "seed": "--seed",
    "chunk_paths": "--chunk", "model": "--model", "vol": "--vol", "beta": "--beta",
    "cascade": "--cascade", "cascade.strength": "--cascade",
    "cascade.half_life_days": "--cascade-half-life", "cascade.open_interest": "--open-interest",
    "history": "--prices", "prices": "--prices", "base_move": "--move",
    "shock": "--shock", "start": "--from", "end": "--to", "proxy": "--proxy",
    "scenario": "--scenario", "depeg": "--depeg", "losses": "--loss", "pliq": "--montecarlo-pliq",
    "budget": "--budget",
    "target": "--scenario/--shock/--prices/--loss/--montecarlo-pliq",
    "liq_precision": "--liq-precision", "antithetic": "--plain",
}


def flag_for(field: str | None) -> str | None:
    """The command-line flag for an engine request field (the field itself when none)."""
    if not field:
        return field
    if field in FIELD_FLAGS:
        return FIELD_FLAGS[field]
    head, _, rest = field.partition(".")
    if head in FIELD_FLAGS and rest:
        return f"{FIELD_FLAGS[head]} {rest}"
    return field


def _cli_error(exc) -> str:
    """One line for an engine InputError, naming flags where the engine named request fields
    (an error with a source names a field of that file, not a flag)."""
    if exc.source:
        return str(exc)
    flag = flag_for(exc.field)
    return str(exc.with_field(flag) if flag != exc.field else exc)


# --------------------------------------------------------------------------- formatting
def money(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:,.2f}"


def price(x) -> str:
    if x is None:
        return "—"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.6g}"


def pct(x, digits: int = 1) -> str:
    if x is None:
        return "—"
    return f"{x * 100:+.{digits}f}%"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def table(headers: list[str], rows: list[list], right: set[int] | None = None) -> str:
    right = right if right is not None else set(range(1, len(headers)))
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(vals):
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(vals, widths))).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _json_default(o):
    import numpy as np
    if isinstance(o, (np.floating,)):
        v = float(o)
        return v if math.isfinite(v) else None
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _clean_json(o):
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _clean_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean_json(v) for v in o]
    return o


def dump_json(obj) -> str:
    return json.dumps(_clean_json(obj), indent=2, default=_json_default, ensure_ascii=False)


# --------------------------------------------------------------------------- commands
def _scenario_row(s: dict) -> dict:
    """What `scenarios --json` gives per bundled crash (metadata, path size, BTC low)."""
    path = s["path"]
    btc = path["assets"].get("BTC", {})
    return ({k: s.get(k) for k in ("id", "event", "name", "crash_days", "description",
                                   "reported_liquidations_usd", "reported_liquidations_text",
                                   "btc_peak_to_trough", "sources")}
            | {"steps": path["steps"], "bar": path["bar_label"], "start": path["start"],
               "end": path["end"], "assets": list(path["assets"]),
               "asset_bars": {a: r["bar"] for a, r in path["assets"].items()},
               "btc_low": min(btc["low"]) - 1.0 if btc else None})


def cmd_scenarios(args) -> int:
    from engine.scenarios import library
    rows = [_scenario_row(s) for s in library()]
    if args.json:
        print(dump_json({"scenarios": rows}))
        return 0
    out = []
    for s in rows:
        days = s.get("crash_days") or ["", ""]
        out.append([s["id"], s.get("event", ""), f"{days[0]}…{days[-1]}" if days[0] != days[-1] else days[0],
                    s["steps"], s["bar"], len(s["assets"]), pct(s["btc_low"]),
                    pct(s.get("btc_peak_to_trough")),
                    _short(s.get("reported_liquidations_text", "") or "", 58)])
    print(table(["id", "event", "crash days", "steps", "bar", "assets", "BTC low", "BTC peak→trough",
                 "reported liquidations"], out, right={3, 5, 6, 7}))
    print(f"\n{len(rows)} scenarios: real bars from the close before the crash (step 0) through the "
          "last crash day, moves relative to step 0; see `scenarios --json` for assets, "
          "descriptions and sources.")
    return 0


def _load(path):
    from engine.portfolio import load_portfolio_noted
    p, notes = load_portfolio_noted(path)
    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    return p


def _warn(warnings) -> None:
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def cmd_liquidation(args) -> int:
    from engine.book import compile_book
    from engine.stress import account_rows, liquidation_prices
    from engine.venue_check import venue_issues
    p = _load(args.portfolio)
    book = compile_book(p)
    rows = liquidation_prices(p, book)
    accounts = account_rows(book)
    warnings = list(book.warnings) + venue_issues(rows)
    venue = any(r["venue_liquidation_price"] is not None for r in rows)
    if args.json:
        print(dump_json({"portfolio": p.name, "positions": rows, "accounts": accounts,
                         "warnings": [str(w) for w in warnings]}))
    else:
        out = []
        for r in rows:
            extra = ""
            if r["kind"] == "loan":
                extra = f"HF {r['health_factor']:.3f}" if r.get("health_factor") is not None else ""
            elif r["kind"] == "perp":
                extra = f"{r['side']} {r['margin_mode']}"
                if r.get("account"):
                    extra += f" (account {r['account']})"
            out.append([r["id"], r["kind"], r["asset"], extra, price(r["price"]),
                        price(r["liquidation_price"]), pct(r["distance"])]
                       + ([price(r["venue_liquidation_price"])] if venue else []))
        print(f"{p.name}: liquidation prices at today's prices (other prices held)\n")
        print(table(["position", "kind", "asset", "", "price", "liquidation", "distance"]
                    + (["venue's"] if venue else []), out, right={4, 5, 6, 7}))
        if accounts:
            print("\nCross perps are liquidated with their account: their price above is the one "
                  "that liquidates the account.\n")
            print_accounts_today(accounts)
    _warn(warnings)
    past = [w for w in book.warnings if "liquidat" in w.message and "step 0" in w.message]
    return EXIT_PAST_LIQUIDATION if past else 0


def print_accounts_today(accounts) -> None:
    """Each cross account: adjusted equity against maintenance, and the move of each asset it
    is exposed to (perps and collateral) that liquidates it, other prices held."""
    rows = []
    for a in accounts:
        coll = ", ".join(f"{c['quantity']:,.6g} {c['asset']} ({money(c['adjusted_value'])})"
                         for c in a["collateral"]) or "—"
        moves = "; ".join(f"{m['asset']} {price(m['liquidation_price'])} ({pct(m['distance'])})"
                          for m in a["liquidation"]) or "—"
        rows.append([a["id"], money(a["wallet_balance"]), coll, money(a["adjusted_equity"]),
                     money(a["maintenance_margin"]),
                     f"{a['margin_ratio'] * 100:.1f}%" if a["margin_ratio"] is not None else "—",
                     moves])
    print(table(["cross account", "wallet", "collateral (adjusted)", "adj. equity", "maint. margin",
                 "margin ratio", "liquidated at (others held)"], rows, right={1, 3, 4, 5}))


def _parse_assign(values, flag) -> dict[str, float]:
    from engine.errors import InputError
    out = {}
    for v in values or []:
        for item in v.split(","):
            if not item.strip():
                continue
            if "=" not in item:
                raise InputError("must look like ASSET=NUMBER", field=flag, value=item)
            k, val = item.split("=", 1)
            try:
                num = float(val.strip().rstrip("%")) / (100.0 if val.strip().endswith("%") else 1.0)
            except ValueError:
                raise InputError("must look like ASSET=NUMBER", field=flag, value=item) from None
            if not math.isfinite(num):
                raise InputError("must be finite", field=flag, value=item)
            out[k.strip().upper()] = num
    return out


def build_scenario(args, book, portfolio=None):
    from engine.errors import InputError
    from engine import scenarios as sc
    betas = _parse_assign(args.beta, "--beta")
    chosen = [x for x in (args.scenario, args.prices, args.shock) if x]
    if len(chosen) != 1:
        raise InputError("give exactly one of --scenario, --prices or --shock", field="stress",
                         value=f"{len(chosen)} given")
    if args.scenario:
        if args.start or args.end:
            raise InputError("--from/--to cut a window out of an imported history (--prices)",
                             field="--from/--to", value=args.start or args.end)
        if args.scenario == ALL:
            raise InputError("'all' runs every bundled and saved scenario and takes no other "
                             "scenario option",
                             field="scenario", value=args.scenario)
        from engine.saved_scenarios import build_scenario as named
        return named(portfolio, args.scenario, book.assets, book.today, betas, args.proxy)
    if args.shock:
        return sc.shock_scenario(book.assets, book.today, sc.parse_shock(args.shock), betas)
    from engine.prices import load_price_history, parse_prices_arg
    hist = load_price_history([parse_prices_arg(x) for x in args.prices])
    if args.start or args.end:
        hist = hist.window(args.start, args.end)
    return sc.history_scenario(hist, book.assets, book.today, betas, args.proxy)


def _cascade_params(args, strength: float | None = None):
    """The cascade of ``--cascade`` (or ``strength``), ``--open-interest`` and
    ``--cascade-half-life``; None when the strength is 0 (off)."""
    from engine.cascade import CascadeParams
    s = float(args.cascade if strength is None else strength)
    if not s:
        return None
    kw = {"strength": s, "half_life_days": _half_life(args.cascade_half_life)}
    if getattr(args, "open_interest", None) is not None:
        kw["open_interest"] = _usd(args.open_interest)
    return CascadeParams(**kw).validate()


def _usd(text) -> float:
    """A USD amount: ``90e9``, ``90,000,000,000``, ``90B`` / ``750M``."""
    from engine.errors import InputError
    t = str(text).strip().replace(",", "").replace("_", "").lstrip("$")
    mult = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(t[-1:].upper(), 1.0) if t else 1.0
    try:
        v = float(t[:-1] if mult != 1.0 else t) * mult
    except ValueError:
        v = float("nan")
    if not (math.isfinite(v) and v >= 0):
        raise InputError("must be an amount in USD, e.g. 59e9 or 59B", field="--open-interest", value=text)
    return v


def cmd_stress(args) -> int:
    from engine.book import compile_book
    from engine.stress import stress
    p = _load(args.portfolio)
    casc = _cascade_params(args)               # bad flags fail before anything is read
    book = compile_book(p)
    if args.scenario == ALL and not (args.prices or args.shock or args.start or args.end):
        return _stress_all(args, p, book)
    scen = build_scenario(args, book, p)
    rep = stress(p, scen, book, cascade=casc)
    if args.json:
        if not args.series:
            rep.pop("series", None)
        print(dump_json(rep))
    else:
        print_stress(p, rep)
    _warn(book.warnings)
    return 0


ALL = "all"


def _stress_all(args, p, book) -> int:
    from engine.stress import stress_all
    res = stress_all(p, book=book, beta_overrides=_parse_assign(args.beta, "--beta"),
                     proxy=args.proxy)
    if args.json:
        print(dump_json({"scenarios": res["scenarios"]}))
    else:
        print_matrix(p, res)
    _warn(book.warnings)
    return 0


def when(t: str | None) -> str:
    """``2025-12-18T15:00:00Z`` -> ``2025-12-18 15:00 UTC``."""
    from engine.scenarios import utc_text
    return utc_text(t)


def _k(x) -> str:
    """Compact money for matrix cells: -1,234 / -12.3k / -1.2M."""
    if x is None:
        return "—"
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:+.1f}M"
    if a >= 1e4:
        return f"{x / 1e3:+.1f}k"
    return f"{x:+,.0f}"


def print_matrix(p, res) -> None:
    """Positions, accounts and the portfolio as rows, the crashes as columns (E1..E12, then
    the saved scenarios S1..): P&L, and where liquidated, when (MM-DD HH:MM UTC)."""
    scen = res["scenarios"]
    cols, count = [], {"bundled": 0, "saved": 0}
    for s in scen:
        count[s["source"]] += 1
        cols.append(("E" if s["source"] == "bundled" else "S") + str(count[s["source"]]))

    def cell(r):
        txt = _k(r["pnl"])
        t = r.get("liquidation_time")
        return txt + (f" ✝{t[5:10]} {t[11:16]}" if t else "")

    rows = []
    first = scen[0] if scen else {"positions": [], "accounts": []}
    for i, pos in enumerate(first["positions"]):
        label = pos["kind"] + (f" {pos['side']}" if pos.get("side") else "")
        rows.append([pos["id"], f"{label} {pos['asset']}"] + [cell(s["positions"][i]) for s in scen])
    for j, acc in enumerate(first["accounts"]):
        rows.append([f"[{acc['id']}]", "cross account"] + [cell(s["accounts"][j]) for s in scen])
    rows.append(["PORTFOLIO", "P&L"] + [_k(s["portfolio"]["pnl"]) for s in scen])
    rows.append(["", "P&L %"] + [pct(s["portfolio"]["pnl_fraction"]) for s in scen])
    rows.append(["", "max drawdown"] + [f"{s['portfolio']['max_drawdown'] * 100:.1f}%" for s in scen])
    rows.append(["", "liquidated"] + [str(s["portfolio"]["liquidated_positions"]) for s in scen])
    print(f"{p.name} — every bundled crash and saved scenario: P&L (USD) per position; "
          "✝ = liquidated at that bar end (MM-DD HH:MM UTC)\n")
    print(table(["position", ""] + cols, rows, right=set(range(2, 2 + len(cols)))))
    print()
    for c, s in zip(cols, scen):
        size = f"{s['steps']} x {s['bar']}" if s.get("bar") else "instant shock"
        print(f"{c:>4}  {s['id']}: {size}, {s['name']}" + (" (saved)" if s["source"] == "saved" else ""))


def print_stress(p, rep) -> None:
    from engine.attribution import status_text
    s = rep["scenario"]
    span = f" x {s['bar']}, {when(s['start'])} → {when(s['end'])}" if s.get("bar") else ""
    print(f"{p.name} — {s['name']} ({s['steps']} step{'s' if s['steps'] != 1 else ''}{span})\n")
    rows = []
    for r in rep["positions"]:
        at = ""
        if r["liquidated"]:
            at = f"step {r['liquidation_step']}"
            if r.get("liquidation_time"):
                at = f"{when(r['liquidation_time'])} ({at})"
            elif r.get("liquidation_label") and r["liquidation_label"] != at:
                at += f" ({r['liquidation_label']})"
        status = status_text(r.get("liquidated_with"), r["liquidated"])
        if status == "ok":
            status = "—"
        elif not r.get("liquidated_with"):
            status += " " + at
        rows.append([r["id"], r["kind"] + (f" {r['side']}" if r.get("side") else ""), r["asset"],
                     pct(rep["moves"].get(r["asset"])), price(r["liquidation_price"]), status,
                     money(r["value_before"]), money(r["value_after"]), money(r["pnl"])])
    print(table(["position", "kind", "asset", "move", "liq. price", "liquidation", "value before",
                 "value after", "P&L"], rows, right={3, 4, 6, 7, 8}))
    if rep["accounts"]:
        print()
        print(table(["cross account", "wallet", "collateral", "value before", "value after", "P&L",
                     "status"],
                    [[a["id"], money(a["wallet_balance"]),
                      ", ".join(f"{c['asset']} {money(c['value_before'])} → {money(c['value_after'])}"
                                for c in a.get("collateral", [])) or "—",
                      money(a["value_before"]), money(a["value_after"]), money(a["pnl"]),
                      (f"LIQUIDATED {when(a['liquidation_time'])} (step {a['liquidation_step']})"
                       if a.get("liquidation_time") else f"LIQUIDATED step {a['liquidation_step']}")
                      if a["liquidated"] else "ok"]
                     for a in rep["accounts"]], right={1, 3, 4, 5}))
    by = rep["by_asset"]
    print()
    print(table(["P&L by source", "P&L"], [[k, money(v)] for k, v in by.items()]
                + [["total", money(sum(by.values()))]], right={1}))
    pf = rep["portfolio"]
    print(f"\nPortfolio: {money(pf['value_before'])} → {money(pf['value_after'])}  "
          f"P&L {money(pf['pnl'])} ({pct(pf['pnl_fraction'])}), max drawdown "
          f"{pf['max_drawdown'] * 100:.1f}%, {pf['liquidated_positions']} position(s) liquidated")
    costs = rep.get("costs") or {}
    if costs.get("funding") or costs.get("interest"):
        print(f"Costs over {costs['hours']:,.0f} h: funding {money(costs['funding'])}, interest "
              f"{money(costs['interest'])} (included above; negative: paid)")
    proxies = {a: m for a, m in rep["method"].items() if m.startswith("proxy")}
    if proxies:
        print("Assets not in the scenario data: " + "; ".join(f"{a} {m}" for a, m in proxies.items()))
    pegged = {a: m for a, m in rep["method"].items() if m.startswith(("follows ", "pegged to "))}
    if pegged:
        print("Pegged assets: " + "; ".join(f"{a} {m}" for a, m in pegged.items()))
    c = rep.get("cascade")
    if c:
        print(f"Liquidation cascade (strength {c['strength']:g}, open interest {money(c['open_interest'])}): "
              f"BTC {pct(c['btc_move_before'])} → {pct(c['btc_move_after'])} at the end, low "
              f"{pct(c['btc_low_before'])} → {pct(c['btc_low_after'])}; market-wide liquidated "
              f"{money(c['liquidated_notional'])}; altcoins follow through their tail beta")


def cmd_reverse(args) -> int:
    from engine.stress import loss_levels, reverse_stress
    losses = loss_levels(args.loss)            # a bad level fails before the file is read
    p = _load(args.portfolio)
    rep = reverse_stress(p, _parse_assign(args.beta, "--beta"), losses=losses)
    if args.json:
        print(dump_json(rep))
    else:
        def move(r):
            if r["btc_move_to_liquidation"] is not None:
                return pct(r["btc_move_to_liquidation"])
            return "never (spot)" if r["kind"] == "spot" else "none*"
        rows = [[r["id"], r["kind"], r["asset"], move(r), price(r["btc_price_at_liquidation"])]
                for r in rep["positions"]]
        print(f"{p.name}: BTC move (other assets through their beta) that liquidates each position\n")
        print(table(["position", "kind", "asset", "BTC move", "BTC price"], rows, right={3, 4}))
        if any(r["btc_move_to_liquidation"] is None and r["kind"] != "spot" for r in rep["positions"]):
            print("* no BTC move from -99.9% to +1000% liquidates it with every asset moving by its "
                  "beta; that is not safety: a move against the betas (a hedge leg alone, a "
                  "de-peg) still can; see `stress --scenario all` and `montecarlo`.")
        print(f"\nPortfolio value today {money(rep['portfolio']['value_before'])}")
        for k, v in rep["portfolio"]["btc_move_for_loss"].items():
            print(f"  loss of {float(k) * 100:g}%: BTC move {pct(v)}")
    _warn(rep["warnings"])
    return 0


def _plan_spec(args):
    """The planner's target from the flags (the engine checks that exactly one is given)."""
    from engine.errors import InputError
    from engine.parsing import parse_number
    from engine.planner import TargetSpec
    from engine.scenarios import parse_shock
    if (args.start or args.end) and not args.prices:
        raise InputError("--from/--to cut a window out of an imported history (--prices)",
                         field="--from/--to", value=args.start or args.end)

    def number(text, field):
        if text is None:
            return None
        try:
            return parse_number(text)
        except ValueError:
            raise InputError("must be a number such as 0.01 or 1%", field=field, value=text) from None

    history = None
    if args.prices:
        from engine.prices import load_price_history, parse_prices_arg
        history = load_price_history([parse_prices_arg(x) for x in args.prices])
        if args.start or args.end:
            history = history.window(args.start, args.end)
    return TargetSpec(scenario=args.scenario, shock=parse_shock(args.shock) if args.shock else None,
                      history=history, loss=number(args.loss, "losses"),
                      pliq=number(args.montecarlo_pliq, "pliq"), days=args.days,
                      n_paths=args.paths, seed=args.seed, model=args.model,
                      beta_overrides=_parse_assign(args.beta, "--beta") or None, proxy=args.proxy)


def _emit(args, rep: dict, printer) -> int:
    """A report as JSON (``--json``) or as ``printer``'s tables, then its warnings."""
    if args.json:
        print(dump_json(rep))
    else:
        printer(rep)
    _warn(rep["warnings"])
    return 0


def cmd_plan(args) -> int:
    from engine.planner import plan_survival
    spec = _plan_spec(args)
    p = _load(args.portfolio)
    res = plan_survival(p, spec, budget=args.budget, allow_free=args.allow_reduce)
    return _emit(args, res.report, print_plan)


def print_plan(rep: dict) -> None:
    from engine.planner import describe
    t = rep["target"]
    print(f"{rep['portfolio']} — survive: {t['name']}\n  ({t['rule']})\n")
    failing = rep["plan_summary"]["failing"]
    if not failing:
        print("Every position survives the target: nothing to change.")
    else:
        rows = [[a["unit"], describe(a), money(a["amount_usd"]), money(a["cost_usd"]),
                 price(a["new_liquidation_price"]),
                 "—" if a["new_health_factor"] is None else f"{a['new_health_factor']:.3f}"]
                for a in rep["actions"]]
        print(f"Smallest change per position and way ({rep['precision']['text']}):\n")
        print(table(["position / account", "change", "amount USD", "new money", "new liq. price",
                     "new HF"], rows, right={2, 3, 4, 5}))
        for note in rep["notes"]:
            print(f"  note: {note}")
        ps = rep["plan_summary"]
        budget = "no budget limit" if ps["budget"] is None else f"budget {money(ps['budget'])}"
        print(f"\nPlan ({budget}): cost {money(ps['cost_usd'])}, saves {len(ps['saved'])} of "
              f"{len(failing)} ({money(ps['value_kept_usd'])} of {money(ps['value_at_risk_usd'])} "
              "value today kept alive)")
        for a in rep["plan"]:
            print(f"  - {describe(a)}")
        if ps["not_saved"]:
            print(f"  not saved: {', '.join(ps['not_saved'])}")
    print("\nBefore / after the plan")
    rows = [[b["name"][:44], money(b["pnl"]), str(b["liquidated"]), money(a["pnl"]), str(a["liquidated"])]
            for b, a in zip(rep["before"], rep["after"])]
    label = "P&L" if t["kind"] != "montecarlo" else "expected P&L"
    print(table(["target", f"{label} before", "liquidated", f"{label} after", "liquidated"], rows,
                right={1, 2, 3, 4}))
    if t["kind"] == "montecarlo":
        print("(liquidated: positions whose probability of liquidation is above the limit)")


def _half_life(text: str) -> float:
    """``--cascade-half-life``: days (at least 0.05), or ``inf`` for a permanent impact."""
    from engine.errors import InputError
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not (days == math.inf or (math.isfinite(days) and days >= 0.05)):
        raise InputError("must be a number of days of at least 0.05, or 'inf' (permanent impact)",
                         field="--cascade-half-life", value=text)
    return days


def _points(text) -> float | None:
    """``--liq-precision``: percentage points (0.5 = +-0.5 points) -> a probability."""
    from engine.errors import InputError
    from engine.montecarlo.request import MAX_LIQ_PRECISION, MIN_LIQ_PRECISION
    if text is None:
        return None
    try:
        pts = float(text)
    except ValueError:
        pts = float("nan")
    if not (math.isfinite(pts) and MIN_LIQ_PRECISION * 100 <= pts <= MAX_LIQ_PRECISION * 100):
        raise InputError(f"must be between {MIN_LIQ_PRECISION * 100:g} and {MAX_LIQ_PRECISION * 100:g} "
                         "percentage points, e.g. 0.5", field="--liq-precision", value=text)
    return pts / 100.0


def cmd_cascade(args) -> int:
    from engine.cascade import CascadeParams, cascade_move
    from engine.errors import InputError
    try:
        move = float(str(args.move).strip().rstrip("%")) / (100.0 if str(args.move).strip().endswith("%") else 1.0)
    except ValueError:
        raise InputError("must be a BTC move such as -0.16 or -16%", field="--move", value=args.move) from None
    if not (math.isfinite(move) and -1.0 < move <= 1.0):
        raise InputError("must be a BTC move above -100%, e.g. -0.16", field="--move", value=args.move)
    kw = {"strength": float(args.strength), "half_life_days": _half_life(args.cascade_half_life)}
    if args.open_interest is not None:
        kw["open_interest"] = _usd(args.open_interest)
    params = CascadeParams(**kw).validate()
    amplified, liquidated = cascade_move(params, move)
    out = {"move": move, "amplified_move": amplified, "liquidated_notional": liquidated,
           "cascade_share": (math.log1p(amplified) - math.log1p(move)) / math.log1p(amplified)
           if amplified < 0 and amplified != move else 0.0,
           "open_interest": params.open_interest, "strength": params.strength, "depth": params.depth,
           "leverage_mix": {"liq_median": params.liq_median, "liq_dispersion": params.liq_dispersion},
           "note": "an instant BTC move (it falls fast in full); altcoins follow through their tail beta"}
    if args.json:
        print(dump_json(out))
    else:
        print(f"BTC first move {pct(move)} → {pct(amplified)} with the liquidation cascade "
              f"(strength {params.strength:g}, BTC futures open interest {money(params.open_interest)})")
        print(f"Market-wide liquidated notional: {money(liquidated)}")
    return 0


def montecarlo_request(args, prices=None):
    """The engine's checked MonteCarloRequest for the Monte Carlo flags; ``prices``: the
    ``--prices`` files to read for it (read after the flags are checked)."""
    from engine.cascade import CascadeParams
    from engine.montecarlo import MonteCarloRequest, validate_request
    from engine.pegs import depeg_setting
    req = MonteCarloRequest(
        n_paths=args.paths, days=args.days, seed=args.seed, model=args.model,
        steps_per_day=args.steps_per_day, vols=_parse_assign(args.vol, "--vol") or None,
        beta_overrides=_parse_assign(args.beta, "--beta") or None,
        cascade=_cascade_params(args),
        chunk_paths=args.chunk, depeg=depeg_setting(args.depeg), antithetic=not args.plain,
        liq_precision=_points(args.liq_precision))
    validate_request(req)              # bad flags fail before any file is read
    if prices:
        from engine.prices import load_price_history, parse_prices_arg
        req.history = load_price_history([parse_prices_arg(x) for x in prices])
    return req


def cmd_montecarlo(args) -> int:
    from engine.montecarlo import run_montecarlo
    req = montecarlo_request(args, args.prices)
    return _emit(args, run_montecarlo(_load(args.portfolio), req), print_montecarlo)


def _bracket(ci, fmt) -> str:
    return "—" if not ci else f"({fmt(ci[0])} – {fmt(ci[1])})"


def print_montecarlo(res: dict) -> None:
    from engine.montecarlo import probability_text
    pf = res["portfolio"]
    v0 = pf["value_before"]
    print(f"{pf['name'] or 'Portfolio'} — Monte Carlo, model {res['model']}, {res['paths']:,} paths, "
          f"{res['days']} day(s) x {res['steps_per_day']} step(s), seed {res['seed']}\n")
    samp = res.get("sampling") or {}
    stop = ""
    if samp.get("liq_precision") is not None:
        stop = (f"; stopped once every P(liquidated) was known to ±{samp['liq_precision'] * 100:g} points"
                if samp.get("stopped_early") else
                f"; every P(liquidated) to ±{samp['liq_precision'] * 100:g} points not reached "
                f"within {res['paths_total']:,} paths")
    print(f"Value today {money(v0)}; expected P&L {money(pf['expected_pnl'])}; "
          f"probability of a loss {pf['prob_loss']:.1%}")
    print(f"Monte Carlo error: 95 % intervals in brackets "
          f"({'antithetic pairs' if samp.get('antithetic') else 'plain sampling'}{stop})\n")
    rows = [[f"{float(k):.0%}", money(res["var"][k]), _bracket(res["var_ci"][k], money),
             f"{res['var'][k] / v0:.1%}" if v0 else "—",
             money(res["cvar"][k]), _bracket(res["cvar_ci"][k], money),
             f"{res['cvar'][k] / v0:.1%}" if v0 else "—"] for k in res["var"]]
    print(table(["level", "VaR (loss)", "95 % interval", "of value", "CVaR (loss)", "95 % interval",
                 "of value"], rows))
    fan = res["fan"]
    days = fan["days"]
    n = len(days)
    picks = sorted({0, 1 if n > 1 else 0, *[int(round(i * (n - 1) / 4)) for i in range(1, 5)]})
    rows = [[f"{days[t]:g}"] + [money(fan["values"][i][t]) for i in range(len(fan["levels"]))]
            for t in picks]
    print("\nPortfolio value percentiles by day")
    print(table(["day"] + [f"p{float(q) * 100:g}" for q in fan["levels"]], rows))
    rows = [[r["id"], r["kind"], r["asset"],
             probability_text(r["liquidation_probability"], r.get("liquidation_probability_ci"), r["kind"]),
             "—" if r["expected_liquidation_day"] is None else f"{r['expected_liquidation_day']:.1f}",
             money(-r["expected_pnl"]) if r["expected_pnl"] is not None else "—"]
            for r in res["positions"]]
    print("\nPositions")
    print(table(["position", "kind", "asset", "P(liquidated)", "mean day of liq.", "expected loss"], rows))
    rows = [[k, money(v)] for k, v in sorted(res["expected_loss_by_asset"].items(), key=lambda kv: -kv[1])]
    print("\nExpected loss by asset")
    print(table(["asset", "expected loss"], rows))
    if res.get("cascade"):
        c = res["cascade"]
        print(f"\nLiquidation cascade (strength {c['strength']:g}): market-wide liquidated notional "
              f"mean {money(c['mean'])}, p50 {money(c['percentiles'][3])}, p99 {money(c['percentiles'][6])}")
    for note in res.get("notes", []):
        print(f"note: {note}")


def cmd_convert(args) -> int:
    """Import and combine files into one crashlab.portfolio/1 file, written atomically."""
    from pathlib import Path

    from engine.errors import InputError
    from engine.importers import import_file, merge_books
    from engine.portfolio import portfolio_from_dict
    from engine.atomic import write_text_atomic
    seen: dict[Path, str] = {}
    imports = []
    for path in args.inputs:
        key = Path(path).resolve()
        if key in seen:
            raise InputError("is given twice", field="IN", value=path)
        seen[key] = path
        imp = import_file(path)
        imports.append((Path(path).name, imp))
        print(f"read {path}: {imp.kind}, {len(imp.raw['positions'])} position(s), "
              f"{len(imp.raw['accounts'])} account(s)", file=sys.stderr)
        for n in imp.notes:
            print(f"note: {Path(path).name}: {n}", file=sys.stderr)
    out = Path(args.output)
    merged = merge_books(None, imports, name=out.stem)
    for n in merged.notes:
        print(f"note: {n}", file=sys.stderr)
    write_text_atomic(out, dump_json(merged.raw) + "\n")
    raw = merged.raw
    print(f"wrote {out}: {len(raw['positions'])} position(s), {len(raw['accounts'])} "
          f"account(s), {len(raw['prices'])} price(s) from {len(imports)} file(s)")
    for need in merged.needs:
        print(f"warning: {out.name} needs: {need}", file=sys.stderr)
    if not merged.needs:
        from engine.book import check_portfolio
        try:
            errors, _ = check_portfolio(portfolio_from_dict(raw, source=out.name))
        except InputError as exc:
            errors = [exc]
        for e in errors:
            print(f"warning: {out.name} needs: {e}", file=sys.stderr)
    return 0


def _check_output(path: str) -> None:
    """Fail early, before any work, when the report cannot be written there."""
    from engine.errors import InputError
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError("is a folder; give a file name such as report.html", field="--output", value=path)
    if not os.path.isdir(folder):
        raise InputError("is in a folder that does not exist", field="--output", value=path)
    if not os.access(folder, os.W_OK):
        raise InputError("is in a folder that cannot be written", field="--output", value=path)


def cmd_report(args) -> int:
    """The HTML report of the window (File > Export > HTML report), headless: holdings and
    liquidation prices, the sensitivity curve, the scenario given (if any), a Monte Carlo
    (with ``--paths``) and reverse stress; written atomically to ``--output``."""
    from engine.atomic import write_text_atomic
    from engine.book import compile_book
    from engine.errors import InputError
    from engine.scenarios import resolve_betas
    from engine.stress import liquidation_prices, reverse_stress, sensitivity, shock, stress
    from reporting import MonteCarloRun, ReportData, ScenarioRun, build_report, words
    from reporting.results import montecarlo_notes, scenario_settings, scenario_title
    _check_output(args.output)
    overrides = _parse_assign(args.beta, "--beta")
    mc_req = montecarlo_request(args, args.prices if args.model == "bootstrap" else None) if args.paths else None
    p = _load(args.portfolio)
    book = compile_book(p)
    resolved = resolve_betas(book.assets, overrides)
    betas = {a: b for a, (b, _) in resolved.items()}
    today = shock(book, betas, 0.0)
    runs = []
    if args.scenario or args.prices or args.shock:
        rep = stress(p, build_scenario(args, book, p), book)
        runs.append(ScenarioRun(scenario_title(rep), rep, scenario_settings(rep, overrides, args.proxy),
                                words.proxy_notes(rep["method"])))
    mc = None
    if mc_req is not None:
        from engine.montecarlo import simulate_chunks
        last = None
        for last in simulate_chunks(book, mc_req):
            pass
        mc = MonteCarloRun(last, list(book.ids), list(book.labels), mc_req.steps_per_day,
                           words.describe_montecarlo(args.model, args.paths, args.days, args.steps_per_day,
                                                     args.seed, args.cascade,
                                                     _half_life(args.cascade_half_life),
                                                     args.prices if args.model == "bootstrap" else []),
                           montecarlo_notes(last))
    sens = sensitivity(book, betas)
    data = ReportData(p, os.path.abspath(args.portfolio), liquidation_prices(p, book),
                      {pid: float(v) for pid, v in zip(today.ids, today.value_before)},
                      today.portfolio_before, betas, {a: s for a, (_, s) in resolved.items()}, overrides,
                      accounts_today=today.accounts, sensitivity=sens, scenarios=runs, montecarlo=mc,
                      reverse=reverse_stress(p, overrides or None),
                      warnings=[str(w) for w in book.warnings])
    try:
        write_text_atomic(args.output, build_report(data))
    except OSError as exc:
        raise InputError(f"cannot be written ({exc.strerror or exc})", field="--output",
                         value=args.output) from None
    print(f"report written to {args.output} ({os.path.getsize(args.output) / 1024:.0f} KB)")
    _warn(book.warnings)
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="crashlab", description="CrashLab: what the next crash does to your holdings.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("scenarios", help="list the bundled crash library")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("liquidation", help="liquidation price and distance of every position")
    p.add_argument("portfolio")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("stress", help="run a scenario on a portfolio")
    p.add_argument("portfolio")
    _scenario_flags(p, "price history CSV; repeat, or ASSET=FILE for single-asset files")
    p.add_argument("--beta", action="append", help="beta override, e.g. SOL=1.5")
    p.add_argument("--series", action="store_true", help="include per-step series in --json")
    _cascade_flags(p)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("reverse", help="BTC move that liquidates each position / costs 10-50%%")
    p.add_argument("portfolio")
    p.add_argument("--loss", default="0.1,0.25,0.5",
                   help="loss levels, fractions of today's value: e.g. 0.1,0.2,0.33 or 10%%,20%%")
    p.add_argument("--beta", action="append", help="beta override, e.g. SOL=1.5")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("plan", help="the smallest changes that keep each position alive through "
                       "a target, and the plan under a budget")
    p.add_argument("portfolio")
    p.add_argument("--scenario", help="a bundled crash (see `scenarios`), or `all`: survive every one")
    p.add_argument("--shock", help="an instant move, e.g. BTC=-40%% (others through their betas)")
    p.add_argument("--prices", action="append", help="an imported price history (as for stress)")
    p.add_argument("--from", dest="start", help="first row (today) of the history window")
    p.add_argument("--to", dest="end", help="last row of the history window")
    p.add_argument("--loss", help="a reverse-stress loss level: survive the BTC move that costs "
                   "the portfolio that share of its value, e.g. 0.33")
    p.add_argument("--montecarlo-pliq", dest="montecarlo_pliq",
                   help="Monte Carlo target: each position's probability of liquidation over "
                        "--days at most this, e.g. 0.01")
    p.add_argument("--days", type=int, default=30, help="Monte Carlo horizon (days)")
    p.add_argument("--paths", type=int, default=4000,
                   help="Monte Carlo paths the target is judged on (standard error of a "
                        "probability p: sqrt(p(1-p)/paths))")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="student-t", help="Monte Carlo model: student-t or gbm")
    p.add_argument("--budget", help="new money available (USD): the plan keeps the most value "
                   "alive within it (default: no limit)")
    p.add_argument("--allow-reduce", dest="allow_reduce", action="store_true",
                   help="let the plan reduce positions (or swap collateral) the budget does not save")
    p.add_argument("--beta", action="append", help="beta override, e.g. SOL=1.5")
    p.add_argument("--proxy", default="BTC", help="asset that drives assets missing from a history")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("montecarlo", help="Monte Carlo loss distribution and liquidation odds")
    p.add_argument("portfolio")
    p.add_argument("--prices", action="append",
                   help="price history CSV: bootstrapped (bootstrap) or recalibrates (student-t)")
    _montecarlo_flags(p, default_paths=10000)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("report", help="the HTML report of the app, headless")
    p.add_argument("portfolio")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    _scenario_flags(p, "price history CSV to replay (or to bootstrap with --model bootstrap)")
    _montecarlo_flags(p, default_paths=0)
    p = sub.add_parser("convert", help="import and combine files into one portfolio JSON")
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="portfolio files of any known kind (venue exports, CrashLab JSON/CSV)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.json")
    p = sub.add_parser("cascade", help="a BTC move amplified by the liquidation cascade")
    p.add_argument("--move", required=True, help="BTC's first move, e.g. -0.16 (or --move=-16%%)")
    p.add_argument("--open-interest", default=None, metavar="USD",
                   help="BTC futures open interest (default: the last collected figure), e.g. 59e9 or 59B")
    p.add_argument("--strength", type=float, default=1.0, help="cascade strength (1 = calibrated)")
    p.add_argument("--cascade-half-life", default="1", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true")
    return ap


def _scenario_flags(p, prices_help: str) -> None:
    """The scenario flags of ``stress`` and ``report`` (one of --scenario, --prices, --shock)."""
    p.add_argument("--scenario", help="id of a bundled crash (see `scenarios`), id or name of a "
                   "scenario saved in the portfolio, or `all` for every one (a matrix of positions "
                   "x scenarios)")
    p.add_argument("--prices", action="append", help=prices_help)
    p.add_argument("--shock", help="instant move, e.g. BTC=-30%%,SOL=-45%%; other assets move by "
                   "their beta to BTC, wrapped and staked tokens with their base (WETH with ETH) and "
                   "stablecoins not at all; a move given for a pegged asset is a de-peg on top of "
                   "its base: ETH=-30%%,STETH=-5%% is stETH -33.5%%, USDE=-35%% moves USDe alone")
    p.add_argument("--from", dest="start", help="first row (today) of the history window")
    p.add_argument("--to", dest="end", help="last row of the history window")
    p.add_argument("--proxy", default="BTC", help="asset that drives assets missing from a history")


def _montecarlo_flags(p, default_paths: int) -> None:
    """The Monte Carlo flags (``--paths 0``: no Monte Carlo) and ``--beta``."""
    p.add_argument("--paths", type=int, default=default_paths,
                   help="Monte Carlo paths" + (" (0: no Monte Carlo)" if not default_paths else ""))
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="student-t",
                   help="student-t (default), bootstrap (needs --prices) or gbm")
    p.add_argument("--steps-per-day", type=int, default=1)
    p.add_argument("--vol", action="append",
                   help="annual vol of log returns, e.g. BTC=0.6 (gbm; overrides the calibration)")
    _cascade_flags(p)
    p.add_argument("--chunk", type=int, default=0, help="paths per chunk (0 = automatic)")
    p.add_argument("--depeg", default="default",
                   help="de-peg jumps of stablecoins and wrapped/staked tokens: default (historical "
                        "frequencies and depths, resources/pegs.json), off, or a rate in events per "
                        "pegged asset per year, e.g. 0.5")
    p.add_argument("--liq-precision", default=None, metavar="POINTS",
                   help="stop once every P(liquidated) is known to +-POINTS percentage points "
                        "(95 %%); --paths is then the most that run")
    p.add_argument("--plain", action="store_true",
                   help="plain sampling (default: antithetic pairs, half the random numbers)")
    p.add_argument("--beta", action="append", help="beta override, e.g. SOL=1.5")


def _cascade_flags(p) -> None:
    p.add_argument("--cascade", type=float, default=0.0, help="liquidation cascade strength (0 = off, 1 = calibrated)")
    p.add_argument("--cascade-half-life", default="1",
                   help="days over which half of the cascade's price impact reverts (inf = permanent)")
    p.add_argument("--open-interest", default=None, metavar="USD",
                   help="BTC futures open interest for the cascade (default: the last collected figure)")


COMMANDS = {"scenarios": cmd_scenarios, "liquidation": cmd_liquidation, "stress": cmd_stress,
            "reverse": cmd_reverse, "montecarlo": cmd_montecarlo, "cascade": cmd_cascade,
            "convert": cmd_convert, "report": cmd_report, "plan": cmd_plan}


def main(argv: list[str] | None = None) -> int:
    from engine.errors import InputError
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        with warnings.catch_warnings():
            # a numerical warning (overflow, invalid value) is a defect, never text for the
            # user: it stops the command as an internal error instead of printing nonsense
            warnings.simplefilter("error", RuntimeWarning)
            return COMMANDS[args.command](args)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except InputError as exc:
        print(f"error: {_cli_error(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # never a traceback for users
        if os.environ.get("CRASHLAB_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); set CRASHLAB_DEBUG=1 for details",
              file=sys.stderr)
        return EXIT_INTERNAL
