"""Settings and results in words, for the report and the CSV header block: money, percent,
a scenario, betas and overrides, Monte Carlo settings, a position. No Qt, no engine calls."""
from __future__ import annotations

import math
import os

import numpy as np

from engine.portfolio import Loan, Perp, Position, Spot

MINUS = "\u2212"


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def money(x, signed: bool = False) -> str:
    """``$96,265.00``, ``−$1,234.50`` (``+`` in front of a gain when ``signed``); ``—`` when
    there is no finite number."""
    if not _finite(x):
        return "—"
    sign = MINUS if x < 0 and round(abs(x), 2) > 0 else ("+" if signed and x > 0 else "")
    return f"{sign}${abs(x):,.2f}"


def pct(x, digits: int = 1, signed: bool = True) -> str:
    """A fraction as percent: ``−30.0%``; ``—`` when there is none."""
    if not _finite(x):
        return "—"
    text = f"{x * 100:+.{digits}f}%" if signed else f"{x * 100:.{digits}f}%"
    return text.replace("-", MINUS)


def number(x, digits: int = 6) -> str:
    """A quantity or price: thousands separators, up to ``digits`` significant digits."""
    if not _finite(x):
        return "—"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}".replace("-", MINUS)
    return f"{x:,.{digits}g}".replace("-", MINUS)


def price(x) -> str:
    """A price in USD: whole dollars from $1,000, cents from $1, else 4 significant digits."""
    if not _finite(x):
        return "—"
    a = abs(x)
    if a >= 1000:
        text = f"{a:,.0f}"
    elif a >= 1:
        text = f"{a:,.2f}"
    else:
        text = np.format_float_positional(a, precision=4, unique=False, fractional=False, trim="-")
    return (MINUS if x < 0 else "") + "$" + text


def yes_no(flag) -> str:
    return "yes" if flag else "no"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# --------------------------------------------------------------------------- settings
def describe_overrides(overrides: dict[str, float] | None) -> str:
    """Beta overrides the user set: ``SOL beta 1.5, ETH beta 1.2`` or ``none``."""
    if not overrides:
        return "none (every beta from the bundled calibration)"
    return ", ".join(f"{a} beta {b:g}" for a, b in sorted(overrides.items()))


def describe_betas(betas: dict[str, float], sources: dict[str, str] | None = None) -> str:
    """Every asset's beta to BTC and where it came from."""
    sources = sources or {}
    parts = []
    for a, b in betas.items():
        src = sources.get(a, "")
        src = "your override" if src == "override" else src
        parts.append(f"{a} {b:g}" + (f" ({src})" if src and src != "BTC" else ""))
    return "; ".join(parts) if parts else "none"


BETA_RULE = (f"other assets move by (1 + BTC move)^beta {MINUS} 1, beta being each asset's "
             "beta to BTC")


def describe_shock(btc_move: float) -> str:
    return f"Instant shock: BTC {pct(btc_move)}; {BETA_RULE}"


def describe_scenario(scenario: dict) -> str:
    """A stress report's ``scenario`` entry (:func:`engine.stress.stress`) in one sentence."""
    kind = scenario.get("kind")
    steps = plural(int(scenario.get("steps", 0)), "step")
    if kind == "library":
        days = scenario.get("crash_days") or []
        when = f", crash days {days[0]} to {days[-1]}" if len(days) > 1 else (f", {days[0]}" if days else "")
        return f"Bundled crash “{scenario.get('name')}” (id {scenario.get('id')}{when}), {steps}"
    if kind == "history":
        return (f"Imported price history from {scenario.get('from')} to {scenario.get('to')} "
                f"({steps}; {describe_files(scenario.get('sources') or [])})")
    if kind == "shock":
        spec = scenario.get("spec") or {}
        moves = ", ".join(f"{a} {pct(v)}" for a, v in spec.items())
        return f"Instant shock: {moves}; {BETA_RULE}; an explicit move wins over the beta"
    return str(scenario.get("name", "scenario"))


def describe_files(paths) -> str:
    """``3 files in /data/1h: BTC.csv, ETH.csv, SOL.csv`` (one folder named once)."""
    paths = [str(p) for p in paths]
    if not paths:
        return "imported prices"
    folders = {os.path.dirname(p) for p in paths}
    if len(folders) == 1 and folders != {""}:
        names = ", ".join(os.path.basename(p) for p in paths)
        return f"{plural(len(paths), 'file')} in {folders.pop()}: {names}"
    return "files " + ", ".join(paths)


def describe_methods(method: dict[str, str]) -> str:
    """How each asset was moved (event data, history, proxy, beta, stablecoin)."""
    return "; ".join(f"{a}: {m}" for a, m in method.items()) or "—"


def proxy_notes(method: dict[str, str]) -> list[str]:
    """A note per asset the scenario's data did not have (moved through a proxy)."""
    return [f"{a} is not in the scenario's data: it followed a proxy, {m.removeprefix('proxy ')}."
            for a, m in method.items() if m.startswith("proxy")]


def describe_montecarlo(model: str, n_paths: int, days: int, steps_per_day: int, seed: int,
                        cascade: float = 0.0, half_life_days: float = 1.0,
                        history_files=()) -> list[tuple[str, str]]:
    """Monte Carlo settings as labelled words."""
    name = {"student-t": "Student-t (fat tails), calibrated on the bundled figures",
            "gbm": "geometric Brownian motion (normal returns)",
            "bootstrap": "historical block bootstrap of imported prices"}.get(model, model)
    out = [("Monte Carlo model", name),
           ("Paths", f"{int(n_paths):,}"),
           ("Horizon", f"{plural(int(days), 'day')}, {plural(int(steps_per_day), 'step')} per day"),
           ("Random seed", f"{int(seed)} (the same seed gives the same paths)")]
    if cascade:
        hl = float(half_life_days)
        revert = f"half-life {hl:g} day(s)" if math.isfinite(hl) else "no reversion (permanent impact)"
        out.append(("Liquidation cascade", f"strength {float(cascade):g}; price impact {revert}"))
    else:
        out.append(("Liquidation cascade", "off"))
    if history_files:
        out.append(("Price history", ", ".join(str(f) for f in history_files)))
    return out


# --------------------------------------------------------------------------- positions
def _legs(legs) -> str:
    return ", ".join(f"{number(l.quantity)} {l.asset}"
                     + (f" (LT {l.liquidation_threshold:g})" if l.liquidation_threshold is not None else "")
                     for l in legs) or "none"


def describe_position(pos: Position) -> str:
    """What a position is, in words: ``long 10x isolated perp, 100 SOL from $150``."""
    if isinstance(pos, Spot):
        text = f"spot, {number(pos.quantity)} {pos.asset}"
        return text + (f", cost basis {price(pos.cost_basis)}" if pos.cost_basis is not None else "")
    if isinstance(pos, Perp):
        lev = f"{pos.leverage:g}x " if pos.leverage else ""
        where = f" in account {pos.account}" if pos.margin_mode == "cross" and pos.account else ""
        text = (f"{pos.side} {lev}{pos.margin_mode} perp{where}, {number(pos.quantity)} {pos.asset} "
                f"from {price(pos.entry_price)}")
        if pos.isolated_margin is not None:
            text += f", margin {money(pos.isolated_margin)}"
        if pos.venue:
            text += f", venue {pos.venue}"
        if pos.maintenance_margin_rate is not None:
            text += f", maintenance rate {pct(pos.maintenance_margin_rate, 2, signed=False)}"
        return text
    if isinstance(pos, Loan):
        text = f"loan: collateral {_legs(pos.collateral)}; debt {_legs(pos.debt)}"
        if pos.preset:
            text += f"; preset {pos.preset}"
        return text + (f"; close factor {pos.close_factor:g}, liquidation bonus "
                       f"{pct(pos.liquidation_bonus, 1, signed=False)}")
    return str(pos)
