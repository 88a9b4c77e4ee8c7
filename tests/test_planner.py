"""The survival planner on random books: every suggested action survives its target and
98 % of it does not; the plan never exceeds the budget; applying the plan and re-running
the target gives the reported after-state; the book planned is never changed.

Survival is re-checked here through the engine's public reports (``stress`` on the
scenario built for the changed book, ``run_montecarlo`` for a probability target), not
through the planner's own batched judging."""
import json
import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from engine import (compile_book, library_scenario, load_portfolio, portfolio_from_dict,
                    portfolio_to_dict, reverse_stress, shock_scenario, stress)
from engine.errors import InputError
from engine.planner import (CHECK, TargetSpec, apply_action, apply_plan, build_target,
                            plan_survival, units_of)
from engine.planner.plan import KNAPSACK_STEPS, choose

from test_replay_property import TODAY, perps
from test_stress_cli import DEMO, run_cli

DEC18 = "2025-12-18-btc-loses-85k"
FTX = "2022-11-06-ftx-collapse"


# ------------------------------------------------------------------ random books
@st.composite
def books(draw):
    positions = [{"kind": "spot", "asset": "BTC", "quantity": draw(st.floats(0.01, 2.0))}]
    positions += perps(draw, draw(st.integers(0, 3)))
    accounts = []
    for j in range(draw(st.integers(0, 1))):
        aid = f"acc{j}"
        accounts.append({"id": aid, "wallet_balance": draw(st.floats(500.0, 20000.0))})
        positions += perps(draw, draw(st.integers(1, 2)), aid)
    for _ in range(draw(st.integers(0, 2))):
        asset = draw(st.sampled_from(["BTC", "ETH", "SOL"]))
        qty = draw(st.floats(0.5, 20.0)) * 3000 / TODAY[asset]
        lt = draw(st.floats(0.65, 0.88))
        loan = {"kind": "loan", "collateral": [{"asset": asset, "quantity": qty,
                                                "liquidation_threshold": lt}],
                "debt": [{"asset": "USDC", "quantity": qty * TODAY[asset] * lt
                          * draw(st.floats(0.6, 0.97))}],
                "close_factor": 0.5, "liquidation_bonus": 0.05}
        if draw(st.booleans()):                  # a preset loan may swap into USDC (Aave LT)
            loan["preset"] = "aave-v3"
            del loan["collateral"][0]["liquidation_threshold"]
            if asset == "SOL":
                loan["collateral"][0]["liquidation_threshold"] = lt
                loan["collateral"][0]["liquidation_bonus"] = 0.05
        positions.append(loan)
    for n, pos in enumerate(positions):
        pos["id"] = f"p{n}"
    return portfolio_from_dict({"prices": TODAY, "accounts": accounts, "positions": positions})


targets = st.one_of(
    st.builds(lambda m: TargetSpec(shock={"BTC": m}), st.sampled_from([-0.55, -0.35, -0.2, 0.4])),
    st.sampled_from([TargetSpec(scenario=DEC18), TargetSpec(scenario=FTX)]))


# ------------------------------------------------------------------ re-running a target
def liquidated(p, spec: TargetSpec) -> set[str]:
    """Positions (and accounts) liquidated by the target, from the engine's stress report
    on a scenario built for ``p`` itself."""
    book = compile_book(p)
    if spec.scenario:
        scen = library_scenario(spec.scenario, book.assets, book.today)
    else:
        scen = shock_scenario(book.assets, book.today, spec.shock)
    rep = stress(p, scen, book, series=False)
    return ({r["id"] for r in rep["positions"] if r["liquidated"]}
            | {a["id"] for a in rep["accounts"] if a["liquidated"]})


def unit_dead(p, unit_positions, dead: set[str]) -> bool:
    return any(i in dead for i in unit_positions if p.position(i) is not None)


def survives_share(p, a, share, units, dead_of) -> bool:
    """Whether the action's unit survives with ``share`` of its amount applied (an amount
    the book cannot take, e.g. a reduce whose realised loss exceeds the margin, does not)."""
    try:
        q = apply_action(p, a["action"], a["id"], share * a["quantity"], a["asset"], a.get("to_asset"))
    except InputError:
        return False
    return not unit_dead(q, units[a["unit"]], dead_of(q))


def check_actions(p, spec, res):
    rep = res.report
    units = {u["id"]: u["positions"] for u in rep["units"]}
    for a in rep["actions"]:
        assert survives_share(p, a, 1.0, units, lambda q: liquidated(q, spec)), a
        assert not survives_share(p, a, CHECK, units, lambda q: liquidated(q, spec)), a
        assert a["amount_usd"] > 0 and a["cost_usd"] in (0.0, a["amount_usd"])


def check_after(p, spec, res):
    """Applying the reported plan and re-running the target gives the reported after."""
    after = apply_plan(p, res.report["plan"])
    assert portfolio_to_dict(after) == portfolio_to_dict(res.after)
    book = compile_book(after)
    for summary, scen in zip(res.report["after"], res.target.scenarios):
        if spec.scenario:
            again = library_scenario(scen.id, book.assets, book.today)
        else:
            again = shock_scenario(book.assets, book.today, spec.shock)
        rep = stress(after, again, book, series=False)
        assert summary["pnl"] == pytest.approx(rep["portfolio"]["pnl"], rel=1e-9, abs=1e-6)
        assert summary["liquidated"] == rep["portfolio"]["liquidated_positions"]
        assert summary["liquidated_ids"] == [r["id"] for r in rep["positions"] if r["liquidated"]]
    dead = liquidated(after, spec)
    for uid in res.report["plan_summary"]["saved"]:
        u = next(u for u in res.report["units"] if u["id"] == uid)
        assert not unit_dead(after, u["positions"], dead)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=books(), spec=targets, budget=st.one_of(st.none(), st.floats(0.0, 30000.0)),
       allow_free=st.booleans())
def test_random_books(p, spec, budget, allow_free):
    before = portfolio_to_dict(p)
    res = plan_survival(p, spec, budget=budget, allow_free=allow_free)
    rep = res.report
    assert portfolio_to_dict(p) == before                 # the book planned is not changed
    check_actions(p, spec, res)
    plan = rep["plan"]
    assert sum(a["cost_usd"] for a in plan) <= (math.inf if budget is None else budget)
    assert len({a["unit"] for a in plan}) == len(plan)    # one action per unit
    assert all(a in rep["actions"] for a in plan)
    if not allow_free:
        assert all(a["cost_usd"] > 0 for a in plan)
    check_after(p, spec, res)
    failing = set(rep["plan_summary"]["failing"])
    dead = liquidated(p, spec)
    assert failing == {u["id"] for u in rep["units"] if unit_dead(p, u["positions"], dead)}
    # per unit, the smallest USD amount first
    for uid in failing:
        amounts = [a["amount_usd"] for a in rep["actions"] if a["unit"] == uid]
        assert amounts == sorted(amounts)


# ------------------------------------------------------------------ demo book, all crashes
@pytest.fixture(scope="module")
def demo_all():
    p = load_portfolio(DEMO)
    return p, plan_survival(p, TargetSpec(scenario="all"))


def test_demo_all_crashes(demo_all):
    """Every bundled crash: each action survives all twelve, 98 % of it does not; the plan
    with no budget saves every position and the after-state is the stress report's."""
    from engine import stress_all
    p, res = demo_all
    rep = res.report
    assert rep["plan_summary"]["failing"] == ["sol-10x", "btc-5x-binance", "exchange-cross", "aave-eth"]
    kinds = {(a["unit"], a["action"]) for a in rep["actions"]}
    assert {("sol-10x", "add_margin"), ("sol-10x", "reduce"), ("exchange-cross", "add_margin"),
            ("aave-eth", "repay"), ("aave-eth", "add_collateral"),
            ("aave-eth", "swap_collateral")} <= kinds
    units = {u["id"]: u["positions"] for u in rep["units"]}

    def dead(q):
        res_all = stress_all(q)
        return {r["id"] for s in res_all["scenarios"] for r in s["positions"] if r["liquidated"]}

    for a in rep["actions"]:
        assert survives_share(p, a, 1.0, units, dead), a
        assert not survives_share(p, a, CHECK, units, dead), a
    # the plan's after-state is what `stress --scenario all` gives on the planned book
    again = stress_all(res.after)
    assert [s["portfolio"]["liquidated_positions"] for s in again["scenarios"]] == [0] * 12
    for summary, s in zip(rep["after"], again["scenarios"]):
        assert summary["pnl"] == pytest.approx(s["portfolio"]["pnl"], rel=1e-9)
    before = stress_all(p)
    assert [b["liquidated"] for b in rep["before"]] == \
        [s["portfolio"]["liquidated_positions"] for s in before["scenarios"]]
    # new liquidation prices are those of the changed book
    sol = next(a for a in rep["actions"] if a["unit"] == "sol-10x" and a["action"] == "add_margin")
    from engine import liquidation_prices
    changed = apply_action(p, "add_margin", "sol-10x", sol["quantity"])
    lp = {r["id"]: r for r in liquidation_prices(changed)}["sol-10x"]["liquidation_price"]
    assert sol["new_liquidation_price"] == pytest.approx(lp)
    loan = next(a for a in rep["actions"] if a["action"] == "repay")
    assert loan["new_health_factor"] > 1 and loan["asset"] == "USDC"


def test_budget_keeps_most_value(demo_all):
    p, res = demo_all
    cheapest = {}
    for a in res.report["actions"]:
        if a["cost_usd"] > 0:
            cheapest.setdefault(a["unit"], a)
            if a["cost_usd"] < cheapest[a["unit"]]["cost_usd"]:
                cheapest[a["unit"]] = a
    value = {u["id"]: u["value"] for u in res.report["units"]}
    budget = 12000.0
    spec = TargetSpec(scenario="all")
    rep = plan_survival(p, res.target, budget=budget).report
    cost = sum(a["cost_usd"] for a in rep["plan"])
    assert cost <= budget
    # brute force over the units: no affordable set keeps more value alive
    best = max((sum(max(value[u], 0) for u in combo), combo)
               for r in range(len(cheapest) + 1) for combo in combinations(cheapest, r)
               if sum(cheapest[u]["cost_usd"] for u in combo) <= budget)
    assert rep["plan_summary"]["value_kept_usd"] == pytest.approx(best[0])
    assert set(rep["plan_summary"]["saved"]) == set(best[1])
    assert spec.scenario == rep["target"]["id"]


def test_knapsack_never_exceeds_budget():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 7))
        items = [{"unit": f"u{i}", "value": float(rng.uniform(-100, 1000)), "free": None,
                  "money": {"unit": f"u{i}", "cost_usd": float(rng.uniform(1, 500))}} for i in range(n)]
        budget = float(rng.uniform(0, 1200))
        plan = choose(items, budget, allow_free=False)
        assert sum(a["cost_usd"] for a in plan) <= budget
        total = sum(i["money"]["cost_usd"] for i in items)
        if total <= budget:
            assert len(plan) == n                         # all affordable: nothing liquidated
        # optimal up to the cost grid: costs rounded up to budget / KNAPSACK_STEPS
        step = budget / KNAPSACK_STEPS
        best = max(sum(max(items[i]["value"], 0) for i in c) for r in range(n + 1)
                   for c in combinations(range(n), r)
                   if sum(math.ceil(items[i]["money"]["cost_usd"] / step) for i in c) <= KNAPSACK_STEPS)
        got = sum(max(i["value"], 0) for i in items if i["money"] in plan)
        assert got == pytest.approx(best)


# ------------------------------------------------------------------ Monte Carlo target
def test_montecarlo_target_minimal():
    """P(liquidation) <= 2 % over 10 days on 600 fixed paths: each action brings the
    Monte Carlo's own estimate (same seed, same paths) to the limit, 98 % of it does not."""
    from engine.montecarlo import run_montecarlo
    p = portfolio_from_dict({"prices": TODAY, "positions": [
        {"id": "eth-long", "kind": "perp", "asset": "ETH", "side": "long", "quantity": 10,
         "entry_price": 2950, "leverage": 8, "maintenance_margin_rate": 0.005},
        {"id": "loan", "kind": "loan", "collateral": [{"asset": "ETH", "quantity": 10,
                                                       "liquidation_threshold": 0.8}],
         "debt": [{"asset": "USDC", "quantity": 19000}]}]})
    spec = TargetSpec(pliq=0.02, days=10, n_paths=600, seed=3)
    res = plan_survival(p, spec)
    rep = res.report
    assert rep["target"]["allowed_paths"] == 12 and rep["target"]["paths"] == 600
    assert rep["target"]["standard_error"] == pytest.approx(math.sqrt(0.02 * 0.98 / 600))
    assert set(rep["plan_summary"]["failing"]) == {"eth-long", "loan"}
    req = res.target.request

    def prob(q, pid):
        return {r["id"]: r["liquidation_probability"] for r in run_montecarlo(q, req)["positions"]}.get(pid, 0.0)

    for a in rep["actions"]:
        args = (a["action"], a["id"], a["quantity"], a["asset"], a.get("to_asset"))
        assert prob(apply_action(p, *args), a["id"]) <= 0.02, a
        assert prob(apply_action(p, *args[:2], CHECK * a["quantity"], *args[3:]), a["id"]) > 0.02, a
    after = {r["id"]: r for r in rep["after"]}[rep["target"]["id"]]
    assert after["liquidated"] == 0
    assert after["liquidation_probability"] == {
        r["id"]: r["liquidation_probability"] for r in run_montecarlo(res.after, req)["positions"]}


# ------------------------------------------------------------------ targets and errors
def test_loss_level_target_is_the_reverse_stress_move():
    p = load_portfolio(DEMO)
    t = build_target(p, TargetSpec(loss=0.33))
    move = reverse_stress(p, losses=(0.33,))["portfolio"]["btc_move_for_loss"]["0.33"]
    assert t.kind == "loss" and t.scenarios[0].moves["BTC"] == pytest.approx(move)


@pytest.mark.parametrize("spec, field", [
    (TargetSpec(), "target"),
    (TargetSpec(scenario="all", loss=0.2), "target"),
    (TargetSpec(loss=1.5), "losses"),
    (TargetSpec(pliq=1.0), "pliq"),
    (TargetSpec(pliq=0.01, days=0), "days"),
    (TargetSpec(scenario="no-such-crash"), "scenario"),
])
def test_bad_targets_name_the_field(spec, field):
    with pytest.raises(InputError) as e:
        plan_survival(load_portfolio(DEMO), spec)
    assert e.value.field == field


def test_units_group_cross_accounts():
    p = load_portfolio(DEMO)
    us = {u.id: u for u in units_of(p)}
    assert us["exchange-cross"].positions == ("eth-hedge", "doge-cross-long")
    assert us["sol-10x"].kind == "position" and us["aave-eth"].kind == "position"


def test_apply_action_errors_and_reduce_keeps_equity():
    p = load_portfolio(DEMO)
    with pytest.raises(InputError) as e:
        apply_action(p, "repay", "aave-eth", 18000, "USDC")
    assert e.value.field == "quantity"
    with pytest.raises(InputError):
        apply_action(p, "add_margin", "cold-btc", 10)
    from engine.planner.actions import values_today
    v0 = values_today(p)
    q = apply_action(p, "reduce", "doge-cross-long", 40000, "DOGE")
    assert q.position("doge-cross-long").quantity == pytest.approx(60000)
    # realised P&L to the wallet: the account's value today is unchanged
    assert (q.account("exchange-cross").wallet_balance + values_today(q)["doge-cross-long"]
            == pytest.approx(3000 + v0["doge-cross-long"]))
    iso = apply_action(p, "reduce", "sol-10x", 100, "SOL")
    assert values_today(iso)["sol-10x"] == pytest.approx(v0["sol-10x"])
    assert iso.position("sol-10x").leverage is None
    gone = apply_action(p, "reduce", "sol-10x", 250, "SOL")
    assert gone.position("sol-10x") is None and p.position("sol-10x") is not None


# ------------------------------------------------------------------ command line
def test_plan_cli_json_contract(capsys):
    code, out, err = run_cli(capsys, "plan", DEMO, "--scenario", DEC18, "--budget", "5000", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert {"actions", "plan", "before", "after"} <= set(rep)
    keys = {"id", "action", "asset", "quantity", "amount_usd", "new_liquidation_price",
            "new_health_factor"}
    assert rep["actions"] and all(keys <= set(a) for a in rep["actions"])
    assert {a["action"] for a in rep["actions"]} <= {"add_margin", "reduce", "add_collateral",
                                                     "repay", "swap_collateral"}
    assert sum(a["cost_usd"] for a in rep["plan"]) <= 5000
    assert rep["before"][0]["liquidated_ids"] == ["sol-10x"] and rep["after"][0]["liquidated"] == 0
    code, out, err = run_cli(capsys, "plan", DEMO, "--scenario", DEC18)
    assert code == 0 and "USD to the margin of sol-10x" in out and "Before / after" in out


@pytest.mark.parametrize("args, flag", [
    (["--scenario", "all", "--loss", "0.2"], "--scenario/--shock/--prices/--loss/--montecarlo-pliq"),
    (["--montecarlo-pliq", "abc"], "--montecarlo-pliq"),
    (["--loss", "2"], "--loss"),
    (["--scenario", "all", "--budget", "-5"], "--budget"),
    (["--montecarlo-pliq", "0.01", "--paths", "0"], "--paths"),
    (["--scenario", "all", "--from", "2025-01-01"], "--from/--to"),
])
def test_plan_cli_errors_name_flags(capsys, args, flag):
    code, out, err = run_cli(capsys, "plan", DEMO, *args)
    assert code == 2 and out == ""
    assert f"field '{flag}'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_reverse_cli_loss_levels(capsys):
    code, out, err = run_cli(capsys, "reverse", DEMO, "--loss", "0.1,0.2,33%", "--json")
    assert code == 0
    rep = json.loads(out)
    assert list(rep["portfolio"]["btc_move_for_loss"]) == ["0.1", "0.2", "0.33"]
    m = rep["portfolio"]["btc_move_for_loss"]
    assert m["0.1"] > m["0.2"] > m["0.33"]               # bigger losses need bigger falls
    code, out, err = run_cli(capsys, "reverse", DEMO, "--loss", "0.1,1.2")
    assert code == 2 and "--loss" in err and "1.2" in err
    assert cli.flag_for("losses") == "--loss"
