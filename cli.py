"""Headless command line: the same engine calls as the GUI, printed as tables or JSON.

    python main.py scenarios [--json]
    python main.py liquidation PORTFOLIO [--json]
    python main.py stress PORTFOLIO (--scenario ID | --prices CSV ... | --shock BTC=-30%,...)
    python main.py reverse PORTFOLIO [--json]
    python main.py montecarlo PORTFOLIO --paths N --days D --seed S [--json]

Errors exit non-zero with one line on stderr (never a traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

SUBCOMMANDS = ("scenarios", "liquidation", "stress", "reverse", "montecarlo")

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
    "cascade.half_life_days": "--cascade-half-life", "history": "--prices", "prices": "--prices",
    "shock": "--shock", "start": "--from", "end": "--to", "proxy": "--proxy",
    "scenario": "--scenario",
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
def cmd_scenarios(args) -> int:
    from engine.scenarios import library
    lib = library()
    if args.json:
        print(dump_json({"scenarios": [
            {k: s.get(k) for k in ("id", "event", "name", "crash_days", "description",
                                   "reported_liquidations_usd", "reported_liquidations_text",
                                   "btc_peak_to_trough", "sources")}
            | {"steps": len(s["steps"]) - 1,
               "btc_low": min((st.get("moves", {}).get("BTC", {}).get("low", 0.0) for st in s["steps"]),
                              default=0.0)}
            for s in lib]}))
        return 0
    rows = []
    for s in lib:
        btc_low = min((st.get("moves", {}).get("BTC", {}).get("low", 0.0) for st in s["steps"]), default=0.0)
        days = s.get("crash_days") or ["", ""]
        rows.append([s["id"], s.get("event", ""), f"{days[0]}…{days[-1]}" if days[0] != days[-1] else days[0],
                     pct(btc_low), pct(s.get("btc_peak_to_trough")),
                     _short(s.get("reported_liquidations_text", "") or "", 58)])
    print(table(["id", "event", "crash days", "BTC low", "BTC peak→trough", "reported liquidations"],
                rows, right={3, 4}))
    print(f"\n{len(lib)} scenarios. Moves are relative to the close before the crash; "
          "see `scenarios --json` for descriptions and sources.")
    return 0


def _load(path):
    from engine.portfolio import load_portfolio
    return load_portfolio(path)


def _warn(warnings) -> None:
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def cmd_liquidation(args) -> int:
    from engine.book import compile_book
    from engine.stress import liquidation_prices
    p = _load(args.portfolio)
    book = compile_book(p)
    rows = liquidation_prices(p, book)
    if args.json:
        print(dump_json({"portfolio": p.name, "positions": rows,
                         "warnings": [str(w) for w in book.warnings]}))
    else:
        out = []
        for r in rows:
            extra = ""
            if r["kind"] == "loan":
                extra = f"HF {r['health_factor']:.3f}" if r.get("health_factor") is not None else ""
            elif r["kind"] == "perp":
                extra = f"{r['side']} {r['margin_mode']}" + (f" ({r['account']})" if r.get("account") else "")
            out.append([r["id"], r["kind"], r["asset"], extra, price(r["price"]),
                        price(r["liquidation_price"]), pct(r["distance"])])
        print(f"{p.name}: liquidation prices at today's prices (other prices held)\n")
        print(table(["position", "kind", "asset", "", "price", "liquidation", "distance"], out,
                    right={4, 5, 6}))
    _warn(book.warnings)
    past = [w for w in book.warnings if "liquidat" in w.message and "step 0" in w.message]
    return EXIT_PAST_LIQUIDATION if past else 0


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


def build_scenario(args, book):
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
        return sc.library_scenario(args.scenario, book.assets, book.today, betas, args.proxy)
    if args.shock:
        return sc.shock_scenario(book.assets, book.today, sc.parse_shock(args.shock), betas)
    from engine.prices import load_price_history, parse_prices_arg
    hist = load_price_history([parse_prices_arg(x) for x in args.prices])
    if args.start or args.end:
        hist = hist.window(args.start, args.end)
    return sc.history_scenario(hist, book.assets, book.today, betas, args.proxy)


def cmd_stress(args) -> int:
    from engine.book import compile_book
    from engine.stress import stress
    p = _load(args.portfolio)
    book = compile_book(p)
    scen = build_scenario(args, book)
    rep = stress(p, scen, book)
    if args.json:
        if not args.series:
            rep.pop("series", None)
        print(dump_json(rep))
    else:
        print_stress(p, rep)
    _warn(book.warnings)
    return 0


def print_stress(p, rep) -> None:
    s = rep["scenario"]
    print(f"{p.name} — {s['name']} ({s['steps']} step{'s' if s['steps'] != 1 else ''})\n")
    rows = []
    for r in rep["positions"]:
        when = ""
        if r["liquidated"]:
            when = f"step {r['liquidation_step']}"
            if r.get("liquidation_label") and r["liquidation_label"] != when:
                when += f" ({r['liquidation_label']})"
        rows.append([r["id"], r["kind"] + (f" {r['side']}" if r.get("side") else ""), r["asset"],
                     pct(rep["moves"].get(r["asset"])), price(r["liquidation_price"]),
                     "LIQUIDATED " + when if r["liquidated"] else "—",
                     money(r["value_before"]), money(r["value_after"]), money(r["pnl"])])
    print(table(["position", "kind", "asset", "move", "liq. price", "liquidation", "value before",
                 "value after", "P&L"], rows, right={3, 4, 6, 7, 8}))
    if rep["accounts"]:
        print()
        print(table(["cross account", "wallet", "value before", "value after", "P&L", "status"],
                    [[a["id"], money(a["wallet_balance"]), money(a["value_before"]),
                      money(a["value_after"]), money(a["pnl"]),
                      f"LIQUIDATED step {a['liquidation_step']}" if a["liquidated"] else "ok"]
                     for a in rep["accounts"]], right={1, 2, 3, 4}))
    pf = rep["portfolio"]
    print(f"\nPortfolio: {money(pf['value_before'])} → {money(pf['value_after'])}  "
          f"P&L {money(pf['pnl'])} ({pct(pf['pnl_fraction'])}), max drawdown "
          f"{pf['max_drawdown'] * 100:.1f}%, {pf['liquidated_positions']} position(s) liquidated")
    proxies = {a: m for a, m in rep["method"].items() if m.startswith("proxy")}
    if proxies:
        print("Assets not in the scenario data: " + "; ".join(f"{a} {m}" for a, m in proxies.items()))


def cmd_reverse(args) -> int:
    from engine.stress import reverse_stress
    p = _load(args.portfolio)
    rep = reverse_stress(p, _parse_assign(args.beta, "--beta"))
    if args.json:
        print(dump_json(rep))
    else:
        rows = [[r["id"], r["kind"], r["asset"], pct(r["btc_move_to_liquidation"]),
                 price(r["btc_price_at_liquidation"])] for r in rep["positions"]]
        print(f"{p.name}: BTC move (other assets through their beta) that liquidates each position\n")
        print(table(["position", "kind", "asset", "BTC move", "BTC price"], rows, right={3, 4}))
        print(f"\nPortfolio value today {money(rep['portfolio']['value_before'])}")
        for k, v in rep["portfolio"]["btc_move_for_loss"].items():
            print(f"  loss of {float(k) * 100:.0f}%: BTC move {pct(v)}")
    _warn(rep["warnings"])
    return 0


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


def cmd_montecarlo(args) -> int:
    from engine.cascade import CascadeParams
    from engine.montecarlo import MonteCarloRequest, run_montecarlo, validate_request
    req = MonteCarloRequest(
        n_paths=args.paths, days=args.days, seed=args.seed, model=args.model,
        steps_per_day=args.steps_per_day, vols=_parse_assign(args.vol, "--vol") or None,
        beta_overrides=_parse_assign(args.beta, "--beta") or None,
        cascade=CascadeParams(strength=float(args.cascade),
                              half_life_days=_half_life(args.cascade_half_life)) if args.cascade else None,
        chunk_paths=args.chunk)
    validate_request(req)              # bad flags fail before any file is read
    if args.prices:
        from engine.prices import load_price_history, parse_prices_arg
        req.history = load_price_history([parse_prices_arg(x) for x in args.prices])
    res = run_montecarlo(_load(args.portfolio), req)
    if args.json:
        print(dump_json(res))
    else:
        print_montecarlo(res)
    _warn(res["warnings"])
    return 0


def print_montecarlo(res: dict) -> None:
    pf = res["portfolio"]
    v0 = pf["value_before"]
    print(f"{pf['name'] or 'Portfolio'} — Monte Carlo, model {res['model']}, {res['paths']:,} paths, "
          f"{res['days']} day(s) x {res['steps_per_day']} step(s), seed {res['seed']}\n")
    print(f"Value today {money(v0)}; expected P&L {money(pf['expected_pnl'])}; "
          f"probability of a loss {pf['prob_loss']:.1%}\n")
    rows = [[f"{float(k):.0%}", money(res["var"][k]), f"{res['var'][k] / v0:.1%}" if v0 else "—",
             money(res["cvar"][k]), f"{res['cvar'][k] / v0:.1%}" if v0 else "—"] for k in res["var"]]
    print(table(["level", "VaR (loss)", "of value", "CVaR (loss)", "of value"], rows))
    fan = res["fan"]
    days = fan["days"]
    n = len(days)
    picks = sorted({0, 1 if n > 1 else 0, *[int(round(i * (n - 1) / 4)) for i in range(1, 5)]})
    rows = [[f"{days[t]:g}"] + [money(fan["values"][i][t]) for i in range(len(fan["levels"]))]
            for t in picks]
    print("\nPortfolio value percentiles by day")
    print(table(["day"] + [f"p{float(q) * 100:g}" for q in fan["levels"]], rows))
    rows = [[r["id"], r["kind"], r["asset"], f"{r['liquidation_probability']:.2%}",
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
    p.add_argument("--scenario", help="id of a bundled crash (see `scenarios`)")
    p.add_argument("--prices", action="append",
                   help="price history CSV; repeat, or ASSET=FILE for single-asset files")
    p.add_argument("--shock", help="instant move, e.g. BTC=-30%%,SOL=-45%%")
    p.add_argument("--from", dest="start", help="first row (today) of the history window")
    p.add_argument("--to", dest="end", help="last row of the history window")
    p.add_argument("--beta", action="append", help="beta override, e.g. SOL=1.5")
    p.add_argument("--proxy", default="BTC", help="asset that drives assets missing from a history")
    p.add_argument("--series", action="store_true", help="include per-step series in --json")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("reverse", help="BTC move that liquidates each position / costs 10-50%%")
    p.add_argument("portfolio")
    p.add_argument("--beta", action="append", help="beta override, e.g. SOL=1.5")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("montecarlo", help="Monte Carlo loss distribution and liquidation odds")
    p.add_argument("portfolio")
    p.add_argument("--paths", type=int, default=10000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="student-t",
                   help="student-t (default), bootstrap (needs --prices) or gbm")
    p.add_argument("--steps-per-day", type=int, default=1)
    p.add_argument("--vol", action="append",
                   help="annual vol of log returns, e.g. BTC=0.6 (gbm; overrides the calibration)")
    p.add_argument("--prices", action="append",
                   help="price history CSV: bootstrapped (bootstrap) or recalibrates (student-t)")
    p.add_argument("--cascade", type=float, default=0.0, help="cascade strength (0 = off)")
    p.add_argument("--cascade-half-life", default="1",
                   help="days over which half of the cascade's price impact reverts (inf = permanent)")
    p.add_argument("--chunk", type=int, default=0, help="paths per chunk (0 = automatic)")
    p.add_argument("--beta", action="append", help="beta override, e.g. SOL=1.5")
    p.add_argument("--json", action="store_true")
    return ap


COMMANDS = {"scenarios": cmd_scenarios, "liquidation": cmd_liquidation, "stress": cmd_stress,
            "reverse": cmd_reverse, "montecarlo": cmd_montecarlo}


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
