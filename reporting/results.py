"""What a report or an export holds, in one shape whether it comes from the window or from
the command line: the portfolio, today's analysis, scenario runs in the engine's stress
report shape, a Monte Carlo chunk, the reverse stress report, notes. No Qt."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from engine.attribution import wallet_rows
from engine.portfolio import Portfolio
from engine.replay import max_drawdown

from . import words


@dataclass
class ScenarioRun:
    """One scenario on the portfolio.

    ``report`` has the shape of :func:`engine.stress.stress`: ``scenario``, ``moves``,
    ``method``, ``positions``, ``accounts``, ``portfolio``, ``by_asset`` and, for a replay,
    ``series``. ``settings`` are (label, words) pairs; ``notes`` what a reader must know
    (a cancelled run, a proxy).
    """

    title: str
    report: dict
    settings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.report.get("scenario", {}).get("steps", 1))


@dataclass
class MonteCarloRun:
    """A Monte Carlo result (the engine's :class:`MonteCarloChunk`, final or partial)."""

    chunk: object
    ids: list[str]
    assets: list[str]
    steps_per_day: int
    settings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything the HTML report shows (:func:`reporting.html.build_report`)."""

    portfolio: Portfolio
    path: str | None
    liquidation: list[dict]                 # engine.liquidation_prices rows
    values_today: dict[str, float]          # position id -> value today (USD)
    value_today: float
    betas: dict[str, float]
    beta_sources: dict[str, str]
    beta_overrides: dict[str, float]
    accounts_today: list[dict] = field(default_factory=list)   # cross accounts valued today
    sensitivity: object | None = None       # engine.stress.Sensitivity
    shock_move: float | None = None         # the BTC move marked on the sensitivity curve
    scenarios: list[ScenarioRun] = field(default_factory=list)
    montecarlo: MonteCarloRun | None = None
    reverse: dict | None = None             # engine.reverse_stress report
    excluded: list[str] = field(default_factory=list)   # positions left out (invalid input)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())


def scenario_rows(report: dict) -> list[dict]:
    """The positions of a stress-shaped report plus one row per cross account's wallet, so
    that the rows add up to the portfolio's value and P&L (:func:`engine.attribution.wallet_rows`)."""
    return list(report["positions"]) + wallet_rows(report.get("accounts") or [])


def shock_report(result, liquidation: dict[str, dict]) -> dict:
    """An instant shock (:class:`engine.stress.ShockResult`) in the stress report's shape.

    ``liquidation`` maps position ids to today's liquidation rows (for the liquidation price).
    """
    positions = []
    for i, pid in enumerate(result.ids):
        liq = bool(result.liquidated[i])
        before, after = float(result.value_before[i]), float(result.value_after[i])
        today = liquidation.get(pid) or {}
        positions.append({"id": pid, "asset": result.assets[i], "kind": result.kinds[i],
                          "account": today.get("account"),
                          "liquidation_price": today.get("liquidation_price"),
                          "liquidated": liq, "liquidation_step": 1 if liq else None,
                          "liquidation_label": "at the shock" if liq else None,
                          "value_before": before, "value_after": after, "pnl": after - before})
    v0, v1 = float(result.portfolio_before), float(result.portfolio_after)
    return {"scenario": {"kind": "shock", "id": "shock", "name": f"Shock BTC {words.pct(result.btc_move)}",
                         "steps": 1, "spec": {"BTC": float(result.btc_move)}},
            "moves": dict(result.moves), "method": {}, "positions": positions,
            "accounts": [dict(a) for a in result.accounts],
            "portfolio": {"value_before": v0, "value_after": v1, "pnl": v1 - v0,
                          "pnl_fraction": (v1 - v0) / abs(v0) if v0 else None,
                          "max_drawdown": float(max_drawdown(np.array([v0, v1]))),
                          "liquidated_positions": int(sum(p["liquidated"] for p in positions))},
            "by_asset": dict(result.by_asset)}


def scenario_title(report: dict) -> str:
    """The heading of a scenario run: ``Shock: BTC −30.0%``, ``Replay: FTX collapse …``."""
    sc = report["scenario"]
    if sc.get("kind") == "shock":
        spec = sc.get("spec") or {}
        return "Shock: " + ", ".join(f"{a} {words.pct(v)}" for a, v in spec.items())
    name = str(sc.get("name", ""))
    return name if name.lower().startswith("replay") else f"Replay: {name}"


def scenario_settings(report: dict, beta_overrides: dict[str, float], proxy: str | None = None) -> list[tuple[str, str]]:
    """The settings of a scenario run in words."""
    sc = report["scenario"]
    out = [("Scenario", words.describe_scenario(sc))]
    if report.get("method"):
        out.append(("How each asset moved", words.describe_methods(report["method"])))
    if proxy and sc.get("kind") in ("library", "history"):
        out.append(("Proxy for missing assets", f"{proxy}, through each asset's beta"))
    out.append(("Beta overrides", words.describe_overrides(beta_overrides)))
    return out


def montecarlo_notes(chunk) -> list[str]:
    """A note when the run stopped before all its paths (cancelled)."""
    done, total = int(chunk.paths_done), int(chunk.paths_total)
    if not chunk.final or done < total:
        return [f"The Monte Carlo run was cancelled after {done:,} of {total:,} paths: the figures "
                f"below are from those {done:,} paths only and are less precise."]
    return []
