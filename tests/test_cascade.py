"""Liquidation cascade: calibration to E7-E12 of CRASHES.md, amplification
monotone in strength, path behaviour, and the Monte Carlo integration."""
from __future__ import annotations

import math

import numpy as np
import pytest

from engine import InputError, compile_book, load_portfolio
from engine.cascade import (DEFAULT_DEPTH, DEFAULT_OPEN_INTEREST, OPEN_INTEREST_DEC_2025,
                            OPEN_INTEREST_OCT_2025, CascadeParams, amplify, cascade_move, fast_share,
                            preset)
from engine.montecarlo import MonteCarloRequest, block_price_paths, simulate_chunks

DEMO = "resources/demo_portfolio.json"
B = 1e9


# --------------------------------------------------------------------------- calibration
def test_one_parameter_set_gives_every_recent_event_within_3x():
    """E7-E12 of CRASHES.md: each event's open interest (published, cascade.json) is the
    only per-event input; the liquidations at its worst bar are within 3x of the reported
    total, also when the leverage mix is refitted without the event (leave-one-out)."""
    from engine.cascade import event_table, market
    events = market()["events"]
    assert [e["id"] for e in events] == ["E7", "E8", "E9", "E10", "E11", "E12"]
    for e in events:
        assert e["open_interest_source"] and e["reported_text"] and e["open_interest_date"]
        got = preset(e["id"]).liquidated_notional(-e["fast_move"])
        assert e["reported_liquidations_usd"] / 3 < got < e["reported_liquidations_usd"] * 3, e["id"]
    rows = event_table()
    for r in rows:
        assert 1 / 3 < r["ratio"] < 3 and 1 / 3 < r["loo_ratio"] < 3, r


def test_the_fit_is_reproducible_from_the_events():
    from engine.cascade import DEFAULT_LIQ_DISPERSION, DEFAULT_LIQ_MEDIAN, FAST_SHARE_KAPPA, fit_market
    fit = fit_market()
    assert fit["liq_median"] == pytest.approx(DEFAULT_LIQ_MEDIAN, rel=1e-4)
    assert fit["liq_dispersion"] == pytest.approx(DEFAULT_LIQ_DISPERSION, rel=1e-4)
    assert fit["fast_share_kappa"] == pytest.approx(FAST_SHARE_KAPPA, rel=1e-4)
    assert fit["depth"] == pytest.approx(DEFAULT_DEPTH, rel=1e-3)


def test_calibrated_cascade_reproduces_e9_and_e11():
    # 10 Oct 2025: 40 % of the -10.7 % worst hour is the cascade's: a -6.4 % first move
    # amplifies to about -10.7 %, with liquidations within 3x of ~$19 B
    move, liq = cascade_move(preset("E9"), math.expm1(0.6 * math.log1p(-0.107)))
    assert -0.115 < move < -0.098
    assert 19 * B / 3 < liq < 19 * B * 3
    # 18 Dec 2025: a -2.8 % move becomes about -2.9 % with ~$550 M liquidated
    move, liq = cascade_move(preset("2025-12"), -0.028)
    assert -0.032 < move < -0.0285
    assert 0.55 * B / 3 < liq < 0.55 * B * 3
    assert CascadeParams().open_interest == DEFAULT_OPEN_INTEREST and CascadeParams().depth == DEFAULT_DEPTH
    assert OPEN_INTEREST_DEC_2025 < OPEN_INTEREST_OCT_2025


def test_a_day_falls_fast_by_a_share_of_its_drop():
    from engine.cascade import fast_share
    assert fast_share(None) == fast_share(0.0) == fast_share(1.0) == 1.0
    assert fast_share(24.0) == pytest.approx(0.47, abs=0.02)
    assert 1.0 > fast_share(4.0) > fast_share(24.0) > fast_share(24.0 * 7)
    # a daily step of -10 % liquidates what a fast -4.7 % does
    p = CascadeParams()
    lc = np.log(np.array([[1.0, 0.9]]))
    res = amplify(CascadeParams(strength=0.0), lc, lc)
    assert res.total_liquidated[0] == pytest.approx(p.liquidated_notional(0.1 * fast_share(24.0)), rel=1e-3)


def test_amplification_is_monotone_in_strength():
    strengths = np.linspace(0.0, 2.0, 9)
    for base in (-0.02, -0.05, -0.096, -0.2):
        moves = [cascade_move(preset("2025-10", s), base)[0] for s in strengths]
        assert moves[0] == pytest.approx(base, abs=1e-12)          # 0 = off
        assert all(b <= a + 1e-12 for a, b in zip(moves, moves[1:])), (base, moves)
    # liquidated notional grows with strength too
    liq = [cascade_move(preset("2025-10", s), -0.096)[1] for s in strengths]
    assert all(b >= a - 1e-6 for a, b in zip(liq, liq[1:]))


def test_no_cascade_without_a_drop():
    move, liq = cascade_move(CascadeParams(), 0.05)
    assert move == pytest.approx(0.05) and liq == 0.0


# --------------------------------------------------------------------------- paths
def _paths(n=2000, steps=20, seed=1, vol=0.05):
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((n, steps)) * vol
    lc = np.zeros((n, steps + 1))
    lc[:, 1:] = np.cumsum(r, axis=1)
    ll = lc.copy()
    ll[:, 1:] = np.minimum(lc[:, 1:], lc[:, :-1]) - np.abs(rng.standard_normal((n, steps))) * vol / 2
    return lc, ll


def test_amplified_paths_are_deeper_and_monotone_in_strength():
    lc, ll = _paths()
    prev = None
    for s in (0.0, 0.5, 1.0, 1.5):
        res = amplify(CascadeParams(strength=s, open_interest=OPEN_INTEREST_OCT_2025), lc, ll)
        assert (res.adjust <= 0).all()
        # a permanent impact only accumulates
        perm = amplify(CascadeParams(strength=s, open_interest=OPEN_INTEREST_OCT_2025,
                                     half_life_days=math.inf), lc, ll)
        assert (perm.adjust <= 0).all() and (np.diff(perm.adjust, axis=1) <= 1e-15).all()
        assert perm.adjust[:, -1].mean() <= res.adjust[:, -1].mean() + 1e-12
        assert (res.liquidated >= 0).all() and (res.liquidated[:, 0] == 0).all()
        if s == 0:
            assert (res.adjust == 0).all() and res.total_liquidated.max() > 0
        low = (ll + perm.adjust).min(axis=1)         # deepest amplified low per path
        low_t = (ll + res.adjust).min(axis=1)
        if prev is not None:
            # stronger feedback: deeper lows (a path that makes a new peak under a weaker
            # cascade refills its pool, so single later steps may differ; with a permanent
            # impact the worst low is monotone path by path, with the reverting default on
            # average)
            assert (low <= prev[0] + 1e-12).mean() > 0.98
            assert low.mean() < prev[0].mean() and perm.adjust[:, -1].mean() < prev[1]
            assert low_t.mean() < prev[2] and (low_t <= prev[3] + 1e-12).mean() > 0.85
        prev = (low, perm.adjust[:, -1].mean(), low_t.mean(), low_t)
    # a path that never falls below its running peak triggers nothing
    up = np.linspace(0, 0.3, 11)[None, :]
    res = amplify(CascadeParams(), up, up)
    assert res.total_liquidated[0] == 0 and (res.adjust == 0).all()


def test_the_impact_reverts_with_its_half_life():
    """One crash step on a flat path: the extra move is there in full at the step, half of
    it one half-life later, and so on (order books refill); inf keeps it for good."""
    lc = np.zeros((1, 9))
    lc[0, 1:] = math.log(0.85)                      # -15 % at step 1, flat afterwards
    for half_life, spd in ((1.0, 1), (2.0, 1), (1.0, 2)):
        res = amplify(CascadeParams(open_interest=OPEN_INTEREST_OCT_2025, half_life_days=half_life),
                      lc, lc, steps_per_day=spd)
        a = res.adjust[0]
        assert a[1] < -0.01 and res.liquidated[0, 2:].sum() == 0
        steps = half_life * spd
        np.testing.assert_allclose(a[2:] / a[1], 0.5 ** (np.arange(1, 8) / steps), rtol=1e-9)
    perm = amplify(CascadeParams(open_interest=OPEN_INTEREST_OCT_2025, half_life_days=math.inf), lc, lc)
    np.testing.assert_allclose(perm.adjust[0, 2:], perm.adjust[0, 1])
    daily = amplify(CascadeParams(open_interest=OPEN_INTEREST_OCT_2025), lc, lc)
    assert perm.adjust[0, 1] == pytest.approx(daily.adjust[0, 1])   # the crash step itself is the same


@pytest.mark.parametrize("strength,half_life", [(0.5, 1.0), (1.0, 1.0), (1.5, 1.0), (2.0, 1.0), (1.0, math.inf)])
def test_amplify_returns_the_fixed_point(strength, half_life):
    """The iteration ends where one more step of the feedback moves nothing: the impact of
    the liquidations that the amplified path itself triggers."""
    from engine.cascade import _step_liquidations, decayed_cumsum, impact_decay
    lc, ll = _paths()
    params = CascadeParams(strength=strength, open_interest=OPEN_INTEREST_OCT_2025,
                           half_life_days=half_life)
    res = amplify(params, lc, ll)
    # the kernel works step-major: (steps, paths)
    liq = _step_liquidations(params, params.cdf_table(fast_share(24.0)), lc.T, np.minimum(ll, lc).T,
                             res.adjust.T).T
    np.testing.assert_allclose(liq, res.liquidated, rtol=1e-9, atol=1.0)
    kappa = params.strength * 0.01 / params.depth
    again = -decayed_cumsum(np.minimum(kappa * liq, params.max_step_drop), impact_decay(params))
    assert np.abs(again - res.adjust).max() < 1e-5
    assert res.iterations < params.max_iter


def test_decayed_cumsum_matches_a_loop_over_long_horizons():
    from engine.cascade import decayed_cumsum
    rng = np.random.default_rng(4)
    x = rng.random((3, 5000))
    for rho in (0.5, 0.97, 0.9999, 1.0):
        y = np.zeros_like(x)
        acc = np.zeros(3)
        for t in range(x.shape[1]):
            acc = rho * acc + x[:, t]
            y[:, t] = acc
        np.testing.assert_allclose(decayed_cumsum(x, rho), y, rtol=1e-9)


def test_the_pool_refills_after_a_new_peak():
    p = CascadeParams(strength=0.0)
    # -10 %, back to a new high, -10 % again: liquidations in both episodes
    lc = np.log(np.array([[1.0, 0.9, 1.05, 0.945]]))
    res = amplify(p, lc, lc)
    assert res.liquidated[0, 1] > 0 and res.liquidated[0, 3] > 0
    assert res.liquidated[0, 3] == pytest.approx(res.liquidated[0, 1], rel=1e-6)
    # -10 % then -10 % again without a new high: the second leg only adds the deeper levels
    lc2 = np.log(np.array([[1.0, 0.9, 0.95, 0.855]]))
    res2 = amplify(p, lc2, lc2)
    total = p.liquidated_notional(1 - 0.855, fast=fast_share(24.0))
    assert res2.total_liquidated[0] == pytest.approx(total, rel=1e-3)


def test_bad_cascade_parameters():
    with pytest.raises(InputError) as e:
        amplify(CascadeParams(strength=-1.0), np.zeros((1, 2)), np.zeros((1, 2)))
    assert e.value.field == "cascade.strength"
    with pytest.raises(InputError) as e:
        CascadeParams(depth=0.0).validate()
    assert e.value.field == "cascade.depth"
    with pytest.raises(InputError):
        CascadeParams(leverage_mix=((0.2, 0.5), (0.1, 0.2))).validate()
    mix = CascadeParams(leverage_mix=((0.05, 0.1), (0.1, 0.3), (0.5, 0.4)))
    assert mix.liquidated_fraction(0.1) == pytest.approx(0.4)
    assert mix.liquidated_fraction(0.075) == pytest.approx(0.25)


# --------------------------------------------------------------------------- Monte Carlo
def test_altcoins_follow_the_amplified_btc_move_through_their_tail_beta():
    p = load_portfolio(DEMO)
    base = dict(n_paths=400, days=10, seed=21, model="student-t", depeg="off")
    plain = block_price_paths(p, MonteCarloRequest(**base), 0)
    casc = block_price_paths(p, MonteCarloRequest(**base, cascade=CascadeParams(strength=1.0)), 0)
    book = compile_book(p)
    from engine.path_models import bundled_model
    b = book.assets.index("BTC")
    extra_btc = np.log(casc.close[:, :, b] / plain.close[:, :, b])
    assert extra_btc.min() < -1e-4 and extra_btc.max() <= 1e-6
    for a in ("ETH", "SOL", "DOGE", "SUI"):
        j = book.assets.index(a)
        extra = np.log(casc.close[:, :, j] / plain.close[:, :, j])
        tail_beta = bundled_model().assets[a].beta_down          # forced selling is a fall
        assert tail_beta > bundled_model().assets[a].beta_up
        np.testing.assert_allclose(extra, tail_beta * extra_btc, atol=2e-6)
    usdc = book.assets.index("USDC")
    assert (casc.close[:, :, usdc] == 1.0).all()


def test_cascade_in_montecarlo_deepens_losses_and_reports_liquidations():
    p = load_portfolio(DEMO)
    base = dict(n_paths=6000, days=30, seed=5)
    off = list(simulate_chunks(p, MonteCarloRequest(**base)))[-1]
    on = list(simulate_chunks(p, MonteCarloRequest(**base, cascade=CascadeParams(strength=1.0))))[-1]
    assert off.cascade_liquidated_notional is None
    c = on.cascade_liquidated_notional
    assert c.shape == (7,) and (np.diff(c) >= 0).all() and c[-1] > c[0]
    assert on.var["0.99"] > off.var["0.99"]
    assert on.liquidation_probability.sum() >= off.liquidation_probability.sum()
    assert on.cascade_summary["mean"] > 0 and on.cascade_summary["strength"] == 1.0


def test_cascade_needs_btc_and_adds_it_when_the_book_has_none():
    from engine import portfolio_from_dict
    p = portfolio_from_dict({"prices": {"SOL": 121},
                             "positions": [{"id": "sol", "kind": "spot", "asset": "SOL", "quantity": 10}]})
    res = list(simulate_chunks(p, MonteCarloRequest(n_paths=500, days=5,
                                                    cascade=CascadeParams(strength=1.0))))[-1]
    assert res.cascade_summary["mean"] > 0


def test_amplify_reaches_the_least_fixed_point_near_the_critical_strength():
    """From no cascade the iteration climbs monotonically (permanent impact) and stops at
    the first fixed point: every iterate, and the answer, lie above any deeper fixed point.
    Checked against a plain loop run for longer with a tighter tolerance."""
    from engine.cascade import _step_liquidations, decayed_cumsum
    lc, ll = _paths(n=400)
    params = CascadeParams(strength=2.0, open_interest=OPEN_INTEREST_OCT_2025, half_life_days=math.inf)
    res = amplify(params, lc, ll)
    table = params.cdf_table(fast_share(24.0))
    kappa = params.strength * 0.01 / params.depth
    adj = np.zeros_like(lc.T)
    for _ in range(3000):
        liq = _step_liquidations(params, table, lc.T, np.minimum(ll, lc).T, adj)
        adj = -decayed_cumsum(np.minimum(kappa * liq, params.max_step_drop), 1.0, axis=0)
    assert np.abs(res.adjust - adj.T).max() < 1e-4


def test_lookup_keeps_nan():
    from engine.cascade import _lookup
    table = CascadeParams().cdf_table()
    out = _lookup(np.array([0.0, np.nan, 0.05, 2.0]), table)
    assert np.isnan(out[1]) and out[0] == 0.0 and out[2] > 0 and out[3] == table[-1]


# --------------------------------------------------------------------------- shocks, replays, CLI
def test_cli_cascade_prints_the_amplified_move_and_liquidations(capsys):
    import json
    from cli import main
    assert main(["cascade", "--move", "-0.16", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["amplified_move"] < -0.16 and d["liquidated_notional"] > 0
    assert d["open_interest"] == DEFAULT_OPEN_INTEREST
    move, liq = cascade_move(CascadeParams(), -0.16)
    assert d["amplified_move"] == pytest.approx(move) and d["liquidated_notional"] == pytest.approx(liq)
    assert main(["cascade", "--move=-16%", "--open-interest", "94.12B", "--json"]) == 0
    big = json.loads(capsys.readouterr().out)
    assert big["open_interest"] == 94.12e9 and big["amplified_move"] < d["amplified_move"]
    assert main(["cascade", "--move", "-0.16", "--strength", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["amplified_move"] == pytest.approx(-0.16)
    assert main(["cascade", "--move", "-0.1"]) == 0
    out = capsys.readouterr().out
    assert "→" in out and "liquidated" in out
    for argv, flag in ((["--move", "x"], "--move"), (["--move", "-2"], "--move"),
                       (["--move", "-0.1", "--open-interest", "lots"], "--open-interest"),
                       (["--move", "-0.1", "--strength", "-1"], "--cascade")):
        assert main(["cascade"] + argv) == 2
        err = capsys.readouterr().err
        assert flag in err and "Traceback" not in err


def test_stress_shocks_and_replays_take_the_cascade():
    from engine import compile_book, library_scenario, shock_scenario, stress
    from engine.path_models import bundled_model
    p = load_portfolio(DEMO)
    book = compile_book(p)
    shock = shock_scenario(book.assets, book.today, {"BTC": -0.10})
    plain = stress(p, shock, book)
    casc = stress(p, shock, book, cascade=CascadeParams())
    assert plain["cascade"] is None
    c = casc["cascade"]
    assert c["step_hours"] == 0.0 and c["fast_share"] == 1.0          # a shock is an instant move
    move, liq = cascade_move(CascadeParams(), -0.10)
    assert casc["moves"]["BTC"] == pytest.approx(move, abs=1e-9) and c["liquidated_notional"] == pytest.approx(liq)
    extra_btc = math.log1p(casc["moves"]["BTC"]) - math.log1p(plain["moves"]["BTC"])
    for a in ("SOL", "DOGE"):
        extra = math.log1p(casc["moves"][a]) - math.log1p(plain["moves"][a])
        assert extra == pytest.approx(bundled_model().assets[a].beta_down * extra_btc, rel=1e-9)
    assert casc["moves"]["USDC"] == 0.0
    assert casc["portfolio"]["pnl"] < plain["portfolio"]["pnl"]
    # a library crash: daily steps, a day falls fast by fast_share(24 h) of its drop
    lib = library_scenario("2025-12-18-btc-loses-85k", book.assets, book.today)
    rep = stress(p, lib, book, cascade=CascadeParams())
    assert rep["cascade"]["step_hours"] == 1.0 and rep["cascade"]["btc_low_after"] < rep["cascade"]["btc_low_before"]


def test_stress_cascade_needs_btc(capsys):
    from cli import main
    from engine import portfolio_from_dict
    p = portfolio_from_dict({"prices": {"SOL": 121}, "positions": [{"id": "s", "kind": "spot", "asset": "SOL",
                                                                     "quantity": 1}]})
    from engine import compile_book, shock_scenario, stress
    book = compile_book(p)
    with pytest.raises(InputError) as e:
        stress(p, shock_scenario(book.assets, book.today, {"BTC": -0.1}), book, cascade=CascadeParams())
    assert e.value.field == "cascade"
    assert main(["stress", DEMO, "--shock", "BTC=-10%", "--cascade", "1", "--json"]) == 0
    import json
    d = json.loads(capsys.readouterr().out)
    assert d["cascade"]["liquidated_notional"] > 0
    assert main(["stress", DEMO, "--shock", "BTC=-10%", "--cascade", "1", "--open-interest", "0"]) == 0
    assert "liquidated 0.00" in capsys.readouterr().out
