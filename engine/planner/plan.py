"""The survival planner: per unit the smallest fix in each way, and per book the plan that
keeps the most value alive under a budget, checked on the target.

:func:`plan_steps` is a generator (progress between kernel rounds, so the GUI can cancel);
:func:`plan_survival` runs it to the end. Both return a :class:`PlanResult` whose
``report`` is what ``plan --json`` prints:

``target``   what must be survived and how (``rule``, paths, the Monte Carlo's precision);
``units``    each position or cross account: value today, survives before / after the plan;
``actions``  per failing unit and way, the smallest change: ``{"id", "action", "asset",
             "quantity", "amount_usd", "new_liquidation_price", "new_health_factor"}``
             plus ``unit``, ``cost_usd`` (new money), ``to_asset`` (a swap), and for a cross
             account ``liquidation_prices`` of its perps; per unit the smallest USD amount
             first;
``plan``     the actions chosen under the budget (same shape);
``plan_summary``  budget, cost, units saved / not saved, value kept alive, the check;
``before`` / ``after``  the target's outcome per crash (or shock, history, Monte Carlo)
             for the book as it is and with the plan applied (:func:`targets.summaries`).

The budget buys new money actions (margin, collateral, repayments). It keeps the most value
alive: the value today of the units it saves (a unit is saved by one action; ties go to
more units saved, then to the lower cost). When every failing unit fits, it saves them all
at the lowest cost. ``allow_free`` also lets units the budget leaves out take their
smallest free action (a reduction or a collateral swap).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

from ..book import compile_book
from ..errors import InputError
from ..parsing import parse_number
from ..portfolio import Portfolio
from ..stress import liquidation_prices
from .actions import Unit, apply_action, sub_portfolio, units_of, values_today, ways_for
from .search import CHECK, RTOL, Search, judge, run_searches
from .targets import Target, TargetSpec, build_target, summaries

#: cost grid of the budget knapsack: costs are rounded up to budget / KNAPSACK_STEPS, so
#: a chosen plan never costs more than the budget
KNAPSACK_STEPS = 2000


@dataclass
class PlanResult:
    report: dict                  # JSON-ready (``plan --json``)
    original: Portfolio
    after: Portfolio              # ``original`` with the plan applied
    target: Target


def precision_text() -> str:
    return (f"each amount is the smallest that survives to {RTOL:.2%} (bracketing, then "
            f"bisection on the amount with the target re-run); {CHECK:.0%} of it is checked "
            "not to survive")


def _budget(budget) -> float | None:
    if budget is None:
        return None
    try:
        b = parse_number(budget, percent=False)
    except ValueError:
        raise InputError("must be an amount in USD", field="budget", value=budget) from None
    if not math.isfinite(b) or b < 0:
        raise InputError("must be an amount in USD, 0 or more", field="budget", value=budget)
    return b


def _action_row(p: Portfolio, s: Search) -> dict:
    """The JSON row of a finished search, with the changed unit's new liquidation prices."""
    w, x = s.way, float(s.result)
    changed = w.apply(s.base, x)
    rows = {r["id"]: r for r in liquidation_prices(changed)} if changed.positions else {}
    amount = x * w.price
    row = {"id": w.id, "action": w.action, "asset": w.asset, "quantity": x, "amount_usd": amount,
           "new_liquidation_price": None, "new_health_factor": None, "unit": w.unit.id,
           "cost_usd": amount if w.money else 0.0}
    if w.to_asset:
        row["to_asset"] = w.to_asset
    if w.unit.kind == "account":
        row["liquidation_prices"] = {pid: rows[pid]["liquidation_price"] for pid in rows}
        acted = rows.get(w.id)
        if acted is None and rows:          # the wallet: the perp nearest to liquidation
            near = [r for r in rows.values() if r["distance"] is not None]
            acted = min(near, key=lambda r: abs(r["distance"])) if near else None
    else:
        acted = rows.get(w.unit.id)
    if acted is not None:
        row["new_liquidation_price"] = acted["liquidation_price"]
        row["new_health_factor"] = acted.get("health_factor")
    return row


def apply_plan(p: Portfolio, actions: list[dict]) -> Portfolio:
    """``p`` with each action row applied in turn (:func:`actions.apply_action`)."""
    for a in actions:
        p = apply_action(p, a["action"], a["id"], a["quantity"], a.get("asset"), a.get("to_asset"))
    return p


def choose(candidates: list[dict], budget: float | None, allow_free: bool) -> list[dict]:
    """The plan: per failing unit at most one action row.

    ``candidates``: per failing unit ``{"unit", "value", "money": row or None, "free": row
    or None}`` (its cheapest new-money action and its smallest free one)."""
    fundable = [c for c in candidates if c["money"] is not None]
    chosen: set[str] = set()
    if budget is None or sum(c["money"]["cost_usd"] for c in fundable) <= budget:
        chosen = {c["unit"] for c in fundable}
    elif fundable and budget > 0:
        chosen = _knapsack(fundable, budget)
    plan = []
    for c in candidates:
        if c["unit"] in chosen:
            plan.append(c["money"])
        elif allow_free and c["free"] is not None:
            plan.append(c["free"])
    return plan


def _knapsack(items: list[dict], budget: float) -> set[str]:
    """0/1 knapsack over units: most value kept, then most units, then least cost."""
    step = budget / KNAPSACK_STEPS
    if not step > 0:
        return set()
    best = [(0.0, 0, 0.0, ())] * (KNAPSACK_STEPS + 1)      # (value, count, -cost, units)
    for it in items:
        w = it["money"]["cost_usd"] / step
        if not w <= KNAPSACK_STEPS + 1:
            continue
        w = math.ceil(w - 1e-9)
        if w > KNAPSACK_STEPS:
            continue
        val = max(it["value"], 0.0)
        cost = it["money"]["cost_usd"]
        new = list(best)
        for b in range(w, KNAPSACK_STEPS + 1):
            v, n, c, units = best[b - w]
            cand = (v + val, n + 1, c - cost, units + (it["unit"],))
            if cand[:3] > new[b][:3]:
                new[b] = cand
        best = new
    return set(max(best, key=lambda t: t[:3])[3])


def _unit_values(p: Portfolio, units: list[Unit], values: dict[str, float]) -> dict[str, float]:
    out = {}
    for u in units:
        v = sum(values[i] for i in u.positions)
        if u.kind == "account":
            v += p.account(u.id).wallet_balance
        out[u.id] = v
    return out


def plan_steps(p: Portfolio, spec: TargetSpec | Target, budget=None, allow_free: bool = False
               ) -> Iterator[tuple[int, int, str]]:
    """Plan the survival of ``p``: yields ``(done, total, text)`` progress, returns a
    :class:`PlanResult`. ``spec`` is a :class:`TargetSpec` (built here) or a built target."""
    t0 = time.perf_counter()
    budget = _budget(budget)
    total = 12
    yield 0, total, "Building the target"
    compile_book(p)                                           # the book is valid
    target = spec if isinstance(spec, Target) else build_target(p, spec)
    units = units_of(p)
    values = values_today(p)
    unit_value = _unit_values(p, units, values)
    yield 1, total, "Judging every position on the target"
    subs = {u.id: sub_portfolio(p, u) for u in units}
    alive = dict(zip((u.id for u in units), judge(target, list(subs.values()))))
    failing = [u for u in units if not alive[u.id]]
    searches = [Search(w, subs[u.id]) for u in failing for w in ways_for(p, u, values)]
    rounds = 0
    for left in run_searches(target, searches):
        rounds += 1
        yield min(2 + rounds, total - 3), total, f"Searching the smallest fixes ({left} left)"
    by_unit: dict[str, list[dict]] = {u.id: [] for u in failing}
    missed: dict[tuple[str, str, str], list[str]] = {}
    for s in searches:
        if s.result is not None:
            by_unit[s.way.unit.id].append(_action_row(p, s))
        else:
            what = s.way.id if s.way.action == "reduce" else s.way.asset
            missed.setdefault((s.way.unit.id, s.way.action, s.note), []).append(what)
    notes = [f"{unit}: no {action.replace('_', ' ')} of {', '.join(what)} alone saves it ({note})"
             for (unit, action, note), what in missed.items()]
    actions = []
    cands = []
    for u in failing:
        rows = sorted(by_unit[u.id], key=lambda r: r["amount_usd"])
        actions += rows
        money = [r for r in rows if r["cost_usd"] > 0]
        free = [r for r in rows if r["cost_usd"] == 0]
        cands.append({"unit": u.id, "value": unit_value[u.id],
                      "money": min(money, key=lambda r: r["cost_usd"]) if money else None,
                      "free": free[0] if free else None})
    plan = choose(cands, budget, allow_free)
    yield total - 3, total, "Checking the plan on the target"
    after = apply_plan(p, plan)
    after_units = units_of(after)
    after_alive = dict(zip((u.id for u in after_units),
                           judge(target, [sub_portfolio(after, u) for u in after_units])))
    planned = {r["unit"] for r in plan}
    failed_after = [u for u in planned if not after_alive.get(u, True)]
    yield total - 2, total, "The target before and after the plan"
    before_sum = summaries(target, p)
    after_sum = summaries(target, after)
    saved = [u.id for u in failing if u.id in planned and after_alive.get(u.id, True)]
    not_saved = [u.id for u in failing if u.id not in saved]
    cost = sum(r["cost_usd"] for r in plan)
    unit_rows = [{"id": u.id, "kind": u.kind, "positions": list(u.positions),
                  "value": unit_value[u.id], "survives_before": bool(alive[u.id]),
                  "survives_after": bool(after_alive.get(u.id, True)),
                  "ways": len(by_unit.get(u.id, ()))} for u in units]
    report = {
        "portfolio": p.name,
        "target": target.describe(),
        "precision": {"relative": RTOL, "check": CHECK, "text": precision_text()},
        "units": unit_rows,
        "actions": actions,
        "plan": plan,
        "plan_summary": {
            "budget": budget, "cost_usd": cost, "allow_free": allow_free,
            "failing": [u.id for u in failing], "saved": saved, "not_saved": not_saved,
            "value_kept_usd": sum(unit_value[u] for u in saved),
            "value_at_risk_usd": sum(unit_value[u.id] for u in failing),
            "checked": not failed_after,
        },
        "before": before_sum,
        "after": after_sum,
        "notes": notes + ([f"the combined plan does not save {', '.join(failed_after)} on the "
                           "target"] if failed_after else []),
        "warnings": [str(w) for w in compile_book(p).warnings],
        "elapsed_seconds": time.perf_counter() - t0,
    }
    yield total, total, "Done"
    return PlanResult(report, p, after, target)


def plan_survival(p: Portfolio, spec: TargetSpec | Target, budget=None,
                  allow_free: bool = False) -> PlanResult:
    """:func:`plan_steps` run to the end."""
    gen = plan_steps(p, spec, budget, allow_free)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value

