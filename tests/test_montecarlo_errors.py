"""Monte Carlo error bars, antithetic pairs and the precision stop rule.

Coverage is checked end to end on GBM, where the truths are analytic: the VaR/CVaR of a
spot holding (lognormal) and the probability that an isolated long is liquidated (the
step lows are exact Brownian-bridge minima, so it is the continuous barrier probability
``2 Phi(log(lp / p0) / (sigma sqrt(T)))``)."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from engine import compile_book, load_portfolio, portfolio_from_dict
from engine.montecarlo import MonteCarloRequest, run_montecarlo, simulate_chunks
from engine.montecarlo.stats import proportion_ci, var_rank_interval, wilson

N = NormalDist()
DEMO = "resources/demo_portfolio.json"
SIGMA_BTC, SIGMA_ETH, DAYS = 0.6, 0.8, 10


def _final(p, req):
    last = None
    for last in simulate_chunks(p, req):
        pass
    return last


def _book():
    # BTC held spot (the VaR), a tiny isolated ETH long (its liquidation; < $1 of value)
    return portfolio_from_dict({"prices": {"BTC": 85000.0, "ETH": 2950.0}, "positions": [
        {"id": "btc", "kind": "spot", "asset": "BTC", "quantity": 1.0},
        {"id": "eth", "kind": "perp", "asset": "ETH", "side": "long", "quantity": 0.0003,
         "entry_price": 2950.0, "leverage": 6, "maintenance_margin_rate": 0.005}]})


def _truths(p):
    book = compile_book(p)
    v0, s = 85000.0, SIGMA_BTC * math.sqrt(DAYS / 365.0)
    out = {}
    for key in ("0.95", "0.99"):
        a = float(key)
        z = N.inv_cdf(1 - a)
        out["var", key] = v0 - v0 * math.exp(s * z)
        out["cvar", key] = v0 - v0 * math.exp(s * s / 2) * N.cdf(z - s) / (1 - a)
    lp = float(book.iso_lp[0])
    se = SIGMA_ETH * math.sqrt(DAYS / 365.0)
    out["liq"] = 2 * N.cdf(math.log(lp / 2950.0) / se)
    return out


@pytest.mark.parametrize("antithetic", [True, False])
def test_intervals_cover_the_truth_at_their_nominal_rate(antithetic):
    """95 % intervals of VaR, CVaR and P(liq) over 100 seeds: the truth inside about 95 times
    (the count of a binomial(100, 0.95): at least 89, and not always)."""
    p = _book()
    truth = _truths(p)
    assert 0.03 < truth["liq"] < 0.2
    R = 100
    hits = {k: 0 for k in (("var", "0.95"), ("var", "0.99"), ("cvar", "0.95"), ("cvar", "0.99"), "liq")}
    width = []
    for seed in range(R):
        res = _final(p, MonteCarloRequest(n_paths=4000, days=DAYS, seed=1000 + seed, model="gbm",
                                          vols={"BTC": SIGMA_BTC, "ETH": SIGMA_ETH}, sample_paths=0,
                                          antithetic=antithetic))
        for kind, key in (("var", "0.95"), ("var", "0.99"), ("cvar", "0.95"), ("cvar", "0.99")):
            lo, hi = getattr(res, f"{kind}_ci")[key]
            assert lo <= getattr(res, kind)[key] <= hi
            hits[kind, key] += lo <= truth[kind, key] <= hi
        lo, hi = res.liquidation_probability_ci[1]
        assert lo <= res.liquidation_probability[1] <= hi
        hits["liq"] += lo <= truth["liq"] <= hi
        width.append(hi - lo)
        assert tuple(res.liquidation_probability_ci[0]) == (0.0, 0.0)      # spot: never
    for k, h in hits.items():
        assert 89 <= h < R, (k, h)
    # the P(liq) interval is about +-1.96 sqrt(p (1 - p) / n_eff): a width, not a formality
    assert 0.01 < np.mean(width) < 0.03


def test_interval_helpers():
    # Wilson: textbook values (10 of 100: 5.5 % to 17.4 %), zero events, the estimate inside
    lo, hi = wilson(0.1, 100)[0]
    assert lo == pytest.approx(0.0552, abs=1e-4) and hi == pytest.approx(0.1744, abs=1e-4)
    lo, hi = wilson(0.0, 1000)[0]
    assert lo == 0.0 and hi == pytest.approx(1.96 ** 2 / (1000 + 1.96 ** 2), rel=1e-3)
    # plain sampling: the pairs' sums are the counts themselves (Wilson with n)
    ci = proportion_ci([30], 1000, [30], [30], 1000, 1000, [30], paired=False)
    assert np.allclose(ci, wilson(0.03, 1000))
    # pairs whose partners always agree carry the information of half as many paths
    ci = proportion_ci([60], 1000, [120], [120], 500, 2000, [30], paired=True)
    assert np.allclose(ci, wilson(0.06, 500))
    # order statistics of a 95 % interval of the 99 % quantile of 10,000 losses
    lo, hi = var_rank_interval(10000, 0.99)
    assert lo == pytest.approx(9900 - 1.96 * math.sqrt(99), abs=2) and hi == pytest.approx(9900 + 19.5, abs=2)
    lo2, hi2 = var_rank_interval(10000, 0.99, deff=2.0)
    assert lo2 < lo and hi2 > hi


def test_antithetic_agrees_with_plain_sampling():
    """Antithetic pairs are exact in expectation: their figures agree with plain sampling's
    within the two runs' intervals."""
    p = load_portfolio(DEMO)
    base = dict(n_paths=40000, days=20, seed=17, sample_paths=0)
    anti = _final(p, MonteCarloRequest(**base))
    plain = _final(p, MonteCarloRequest(**base, antithetic=False))
    assert anti.antithetic and not plain.antithetic
    for key in ("0.95", "0.99"):
        for kind in ("var", "cvar"):
            a, b = getattr(anti, kind)[key], getattr(plain, kind)[key]
            ha = np.diff(getattr(anti, f"{kind}_ci")[key])[0] / 2
            hb = np.diff(getattr(plain, f"{kind}_ci")[key])[0] / 2
            assert abs(a - b) <= 1.5 * math.hypot(ha, hb), (kind, key, a, b, ha, hb)
    pa, pb = anti.liquidation_probability, plain.liquidation_probability
    wa = np.diff(anti.liquidation_probability_ci, axis=1)[:, 0]
    wb = np.diff(plain.liquidation_probability_ci, axis=1)[:, 0]
    assert np.all(np.abs(pa - pb) <= 1.5 * np.hypot(wa, wb) / 2 + 1e-12)
    # the pairs' design effect is measured, not assumed: a liquidation that depends on the
    # volatility the partners share (SOL 10x, liquidated on most paths) gets a wider interval
    # than plain sampling's, one that depends on the direction a narrower or equal one
    liq = pb > 0.01
    assert liq.sum() >= 3 and np.all((wa[liq] > 0.4 * wb[liq]) & (wa[liq] < 1.5 * wb[liq]))
    assert abs(anti.expected_pnl - plain.expected_pnl) < 0.02 * anti.value_before


def test_pairs_share_everything_but_the_sign_of_the_normals():
    from engine.path_models import antithetic_partner, build_path_model
    book = compile_book(portfolio_from_dict({"prices": {"BTC": 85000.0}, "positions": [
        {"id": "b", "kind": "spot", "asset": "BTC", "quantity": 1}]}))
    m = build_path_model(book.assets, book.today, model="gbm", days=5, vols={"BTC": 0.5})
    lc, _, _ = m.simulate(np.random.default_rng(0), 9)
    first, second = antithetic_partner(9)
    assert list(first) == [0, 1, 2, 3] and list(second) == [5, 6, 7, 8]     # path 4 alone
    np.testing.assert_array_equal(lc[:, 0, first], -lc[:, 0, second])       # GBM: mirrored paths
    assert m.draws_per_path()["normal"] == 2.5


def test_precision_stop_rule_is_reproducible_and_meets_its_target():
    p = load_portfolio(DEMO)
    base = dict(n_paths=400_000, days=10, seed=5, sample_paths=50, liq_precision=0.01)
    runs = [_final(p, MonteCarloRequest(**base, chunk_paths=c, threads=t))
            for c, t in ((0, 1), (50_000, 2), (5000, 2))]
    ref = runs[0]
    assert ref.final and ref.stopped_early and ref.paths_done < ref.paths_total
    ci = ref.liquidation_probability_ci
    prob = ref.liquidation_probability
    assert np.all(np.maximum(ci[:, 1] - prob, prob - ci[:, 0]) <= 0.01)
    for r in runs[1:]:
        assert r.paths_done == ref.paths_done and r.var == ref.var
        assert np.array_equal(r.liquidation_probability_ci, ref.liquidation_probability_ci)
    # a target too fine for the paths allowed: the run ends at n_paths, not stopped early
    short = _final(p, MonteCarloRequest(n_paths=12000, days=10, seed=5, liq_precision=0.001))
    assert short.paths_done == 12000 and not short.stopped_early


def test_json_report_has_the_intervals(tmp_path):
    d = run_montecarlo(load_portfolio(DEMO), MonteCarloRequest(n_paths=3000, days=5, seed=2))
    assert set(d["var_ci"]) == set(d["var"]) == {"0.95", "0.99"} and set(d["cvar_ci"]) == set(d["cvar"])
    for k in d["var"]:
        lo, hi = d["var_ci"][k]
        assert lo <= d["var"][k] <= hi
        lo, hi = d["cvar_ci"][k]
        assert lo <= d["cvar"][k] <= hi
    for row in d["positions"]:
        lo, hi = row["liquidation_probability_ci"]
        assert 0.0 <= lo <= row["liquidation_probability"] <= hi <= 1.0
    assert d["sampling"] == {"antithetic": True, "liq_precision": None, "stopped_early": False,
                             "confidence": 0.95}


@pytest.mark.parametrize("argv,flag,value", [(["--liq-precision", "0"], "--liq-precision", "0"),
                                             (["--liq-precision", "x"], "--liq-precision", "x")])
def test_cli_precision_flag(capsys, argv, flag, value):
    from cli import main
    assert main(["montecarlo", DEMO, "--paths", "100", "--days", "2"] + argv) == 2
    err = capsys.readouterr().err
    assert flag in err and repr(value) in err and "Traceback" not in err


def test_cli_prints_intervals_and_stops(capsys):
    from cli import main
    assert main(["montecarlo", DEMO, "--paths", "300000", "--days", "5", "--liq-precision", "2"]) == 0
    out = capsys.readouterr().out
    assert "stopped once every P(liquidated) was known to ±2 points" in out
    assert "95 % interval" in out and "%" in out and " (" in out
    assert main(["montecarlo", DEMO, "--paths", "2000", "--days", "5", "--plain"]) == 0
    assert "plain sampling" in capsys.readouterr().out
