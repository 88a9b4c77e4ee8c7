"""Monte Carlo: reproducibility, per-path equality with replays, analytic checks, streaming,
bad input and the command line."""
from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from engine import InputError, PricePaths, compile_book, load_portfolio, portfolio_from_dict, run_book
from engine.montecarlo import (FAN_LEVELS, MonteCarloRequest, block_paths, block_price_paths, run_montecarlo,
                               simulate_chunks, var_cvar)
from engine.path_models import build_path_model
from engine.prices import PriceHistory

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo_portfolio.json"
N = NormalDist()


@pytest.fixture(scope="module")
def demo():
    return load_portfolio(DEMO)


def _final(p, req):
    last = None
    for last in simulate_chunks(p, req):
        pass
    return last


def _spot_btc(qty=1.0, price=85000.0):
    return portfolio_from_dict({"prices": {"BTC": price},
                                "positions": [{"id": "btc", "kind": "spot", "asset": "BTC",
                                               "quantity": qty}]})


def _history(n=400, seed=5, assets=("BTC", "ETH")):
    rng = np.random.default_rng(seed)
    times = np.datetime64("2024-01-01") + np.arange(n).astype("timedelta64[D]")
    k = len(assets)
    r = rng.standard_t(4, size=(n, k)) * 0.03
    r[:, 1:] = 0.6 * r[:, :1] + 0.8 * r[:, 1:] if k > 1 else r[:, 1:]
    close = 100.0 * np.exp(np.cumsum(r, axis=0))
    open_ = np.vstack([close[:1], close[:-1]])
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, (n, k))))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, (n, k))))
    return PriceHistory(times=times, assets=tuple(assets), open=open_, high=high, low=low,
                        close=close, has_ohlc=np.ones(k, bool), sources=("synthetic",))


# --------------------------------------------------------------------------- reproducibility
def test_identical_results_whatever_the_chunk_size_and_threads(demo):
    base = dict(n_paths=5000, days=10, seed=11, model="student-t")
    runs = [_final(demo, MonteCarloRequest(**base, chunk_paths=c, threads=t))
            for c, t in ((0, 1), (1, 2), (2048, 2), (4097, 1), (10**6, 2))]
    ref = runs[0]
    assert ref.final and ref.paths_done == 5000
    for r in runs[1:]:
        assert r.var == ref.var and r.cvar == ref.cvar
        for name in ("fan", "hist_edges", "hist_counts", "liquidation_probability",
                     "liquidation_time_hist", "sample_values", "sample_liq_step"):
            assert np.array_equal(getattr(r, name), getattr(ref, name)), name
        assert r.expected_loss_by_asset == ref.expected_loss_by_asset


def test_seed_changes_results_and_chunks_are_whole_blocks(demo):
    a = _final(demo, MonteCarloRequest(n_paths=3000, days=5, seed=1))
    b = _final(demo, MonteCarloRequest(n_paths=3000, days=5, seed=2))
    assert a.var != b.var
    done = [c.paths_done for c in simulate_chunks(demo, MonteCarloRequest(n_paths=9000, days=5,
                                                                          seed=1, chunk_paths=3000))]
    block = block_paths(5, len(compile_book(demo).assets))
    first = block // 4                      # block 0 is a quarter block, the rest whole ones
    assert done[-1] == 9000 and all((d - first) % block == 0 for d in done[:-1])


# --------------------------------------------------------------------------- per-path equality
@pytest.mark.parametrize("model,cascade", [("student-t", None), ("gbm", None), ("student-t", 1.0)])
def test_each_path_is_exactly_its_replay(demo, model, cascade):
    from engine.cascade import CascadeParams
    req = MonteCarloRequest(n_paths=600, days=20, seed=4, model=model, sample_paths=600,
                            cascade=None if cascade is None else CascadeParams(strength=cascade))
    res = _final(demo, req)
    paths = block_price_paths(demo, req, 0)
    book = compile_book(demo)
    hours = np.arange(paths.close.shape[1]) * 24.0 / req.steps_per_day   # interest accrues
    liquidated = 0
    for i in (0, 1, 7, 123, 599):
        one = run_book(book, PricePaths(paths.close[i:i + 1], paths.low[i:i + 1], paths.high[i:i + 1]),
                       hours=hours)
        np.testing.assert_allclose(res.sample_values[i], one.value[0], rtol=1e-12, atol=1e-6)
        assert np.array_equal(res.sample_liq_step[i], one.liq_step[0])
        liquidated += int((one.liq_step[0] >= 0).sum())
    assert liquidated > 0                       # the check covers liquidated positions too
    # the whole block through the kernel gives the same per-path values
    whole = run_book(book, paths, hours=hours)
    np.testing.assert_allclose(res.sample_values, whole.value[:600], rtol=1e-12, atol=1e-6)
    assert np.array_equal(res.sample_liq_step, whole.liq_step[:600])
    # and the aggregates are those of the kernel's outcome
    probs = (whole.liq_step >= 0).mean(axis=0)
    np.testing.assert_allclose(res.liquidation_probability, probs)


@pytest.mark.parametrize("cascade", [None, 1.0])
def test_extremes_drawn_only_where_the_book_reads_them_change_nothing(demo, monkeypatch, cascade):
    """Lows/highs are computed only for the assets the book can feel (and the unread ones
    left at today's price in the kernel's input): the results equal those of a run that
    draws every asset's extremes."""
    import engine.montecarlo.context as mc
    from engine.cascade import CascadeParams
    req = dict(n_paths=3000, days=12, seed=8, sample_paths=50,
               cascade=None if cascade is None else CascadeParams(strength=cascade))
    lean = _final(demo, MonteCarloRequest(**req))
    every = lambda book, model, need_btc_low, book_sim: (np.arange(model.n_sim), np.arange(model.n_sim))  # noqa: E731
    monkeypatch.setattr(mc, "extreme_columns", every)
    full = _final(demo, MonteCarloRequest(**req))
    assert lean.var == full.var and lean.cvar == full.cvar
    for name in ("fan", "hist_counts", "liquidation_time_hist", "sample_values", "sample_liq_step"):
        assert np.array_equal(getattr(lean, name), getattr(full, name)), name
    assert lean.liquidation_probability.sum() > 0


@pytest.mark.parametrize("depeg", ["default", "off"])
def test_prices_are_consistent_paths(demo, depeg):
    paths = block_price_paths(demo, MonteCarloRequest(n_paths=500, days=15, seed=9, depeg=depeg), 0)
    book = compile_book(demo)
    # float32 cubes: step 0 is today's price in float32 (within 6e-8 of it)
    assert paths.close.dtype == np.float32
    assert np.array_equal(paths.close[:, 0], np.broadcast_to(book.today.astype(np.float32),
                                                             paths.close[:, 0].shape))
    np.testing.assert_allclose(paths.close[:, 0], np.broadcast_to(book.today, paths.close[:, 0].shape),
                               rtol=6e-8)
    assert (paths.low <= paths.close).all() and (paths.close <= paths.high).all()
    assert np.isfinite(paths.close).all() and (paths.low > 0).all()
    if depeg == "off":
        usdc = book.assets.index("USDC")
        assert (paths.close[:, :, usdc] == 1.0).all()     # stablecoins held at 1:1


# --------------------------------------------------------------------------- analytic checks
def test_gbm_spot_quantiles_match_the_lognormal():
    sigma, days, n = 0.6, 30, 100_000
    p = _spot_btc()
    res = _final(p, MonteCarloRequest(n_paths=n, days=days, seed=3, model="gbm", vols={"BTC": sigma}))
    v0 = 85000.0
    s = sigma * math.sqrt(days / 365.0)

    def q_value(level):            # value quantile of Q*P_T, log drift 0
        return v0 * math.exp(s * N.inv_cdf(level))

    def se_value(level):           # Monte Carlo standard error of that quantile
        z = N.inv_cdf(level)
        return q_value(level) * s * math.sqrt(level * (1 - level) / n) / N.pdf(z)

    for level in ("0.95", "0.99"):
        a = float(level)
        var = v0 - q_value(1 - a)
        assert abs(res.var[level] - var) < 4 * se_value(1 - a), (level, res.var[level], var)
        # CVaR of a lognormal: v0 - E[V | V <= q] = v0 - v0 * Phi(z - s) / (1 - a)
        z = N.inv_cdf(1 - a)
        cvar = v0 - v0 * math.exp(s * s / 2) * N.cdf(z - s) / (1 - a)
        assert abs(res.cvar[level] - cvar) < 0.01 * cvar
    # the fan: last step exact percentiles, a middle step from the per-step histograms
    for i, q in enumerate(FAN_LEVELS):
        assert abs(res.fan[i, -1] - q_value(q)) < 4 * se_value(q) + 1e-9
        s10 = sigma * math.sqrt(10 / 365.0)
        mid = v0 * math.exp(s10 * N.inv_cdf(q))
        z = N.inv_cdf(q)
        se = mid * s10 * math.sqrt(q * (1 - q) / n) / N.pdf(z)
        assert abs(res.fan[i, 10] - mid) < 4 * se + 0.002 * v0, (q, res.fan[i, 10], mid)
    assert res.fan[:, 0].tolist() == [v0] * len(FAN_LEVELS)
    assert res.liquidation_probability.tolist() == [0.0]


def test_gbm_intra_step_lows_follow_brownian_minimum():
    sigma = 0.8
    book = compile_book(_spot_btc())
    m = build_path_model(book.assets, book.today, model="gbm", days=20, vols={"BTC": sigma})
    lc, ll, lh = m.simulate(np.random.default_rng(1), 20000)     # (steps + 1, columns, paths)
    assert lc.shape == ll.shape == lh.shape == (21, 1, 20000)
    v = sigma * math.sqrt(1 / 365.0)
    step_min = (ll[1:] - lc[:-1]).astype(float)
    step_max = (lh[1:] - lc[:-1]).astype(float)
    # the minimum of a driftless Brownian motion over a step: E = -v * sqrt(2/pi)
    assert abs(step_min.mean() / (-v * math.sqrt(2 / math.pi)) - 1) < 0.02
    assert abs(step_max.mean() / (v * math.sqrt(2 / math.pi)) - 1) < 0.02
    r = np.diff(lc, axis=0).astype(float)
    assert abs(r.std() / v - 1) < 0.01


def test_student_t_matches_calibrated_vol_and_correlation():
    from engine.path_models import bundled_model
    p = portfolio_from_dict({"prices": {"BTC": 85000, "ETH": 2950, "SOL": 121},
                             "positions": [{"id": a, "kind": "spot", "asset": a, "quantity": 1}
                                           for a in ("BTC", "ETH", "SOL")]})
    book = compile_book(p)
    m = build_path_model(book.assets, book.today, model="student-t", days=30)
    lc, _, _ = m.simulate(np.random.default_rng(2), 60000)
    r = np.diff(lc, axis=0).astype(float).transpose(0, 2, 1).reshape(-1, 3)
    vol = r.std(axis=0) * math.sqrt(365)
    fit = bundled_model()
    # the model's vol is the data's: BTC's sample vol of the level window, the altcoins' from
    # betas and split scales (within a few % of their sample vol)
    assert m.calib[0].vol == pytest.approx(fit.factor.vol, rel=1e-5)
    for c in m.calib[1:]:
        assert c.vol == pytest.approx(fit.assets[c.asset].vol, rel=0.08)
        assert c.corr == pytest.approx(fit.assets[c.asset].corr, abs=0.08)
    assert np.allclose(vol, [c.vol for c in m.calib], rtol=0.04)
    corr = np.corrcoef(r.T)[0]
    assert abs(corr[1] - m.calib[1].corr) < 0.03 and abs(corr[2] - m.calib[2].corr) < 0.03
    assert abs(r.mean(axis=0)).max() < 5e-4                   # zero expected log return
    kurt = ((r - r.mean(0)) ** 4).mean(0) / r.var(0) ** 2
    assert (kurt > 5).all()                                   # fat tails
    # crashes: on BTC's worst days altcoins fall harder than their everyday beta says
    worst = r[:, 0] <= np.quantile(r[:, 0], 0.001)
    assert r[worst, 2].mean() / r[worst, 0].mean() > m.calib[2].beta
    assert r[worst, 2].mean() / r[worst, 0].mean() == pytest.approx(fit.assets["SOL"].beta_down, rel=0.1)


def test_variance_clusters_stormy_months_stay_stormy():
    """GJR-GARCH variance: a path whose first week is stormy stays stormier for the rest of
    the month than one whose first week is calm (the data's clustering); plain GBM does not."""
    book = compile_book(_spot_btc())
    for model, clusters in (("student-t", True), ("gbm", False)):
        m = build_path_model(book.assets, book.today, model=model, days=30, vols={"BTC": 0.52})
        lc, _, _ = m.simulate(np.random.default_rng(5), 40000)
        r = np.diff(lc[:, 0, :], axis=0).astype(float)
        first = np.abs(r[:7]).mean(axis=0)
        rest = np.abs(r[7:]).mean(axis=0)
        stormy = first >= np.quantile(first, 0.9)
        calm = first <= np.quantile(first, 0.1)
        ratio = rest[stormy].mean() / rest[calm].mean()
        assert (ratio > 1.5) if clusters else (abs(ratio - 1) < 0.03), (model, ratio)


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_draws_the_history_returns_jointly(demo):
    hist = _history()
    req = MonteCarloRequest(n_paths=300, days=12, seed=5, model="bootstrap", history=hist)
    paths = block_price_paths(demo, req, 0)
    book = compile_book(demo)
    b, e = book.assets.index("BTC"), book.assets.index("ETH")
    got = np.log(paths.close[:, 1:, [b, e]] / paths.close[:, :-1, [b, e]]).reshape(-1, 2)
    ref = np.diff(np.log(hist.close), axis=0)
    # every simulated step is one historical step, both assets from the same day
    d = np.abs(got[:, None, :] - ref[None, :, :]).max(axis=2).min(axis=1)
    assert d.max() < 1e-5
    res = _final(demo, req)
    assert any("SOL is not in the price history" in n for n in res.notes)
    assert res.calibration["model"] == "bootstrap"


def test_bootstrap_needs_a_history(demo):
    with pytest.raises(InputError) as e:
        _final(demo, MonteCarloRequest(n_paths=10, days=5, model="bootstrap"))
    assert e.value.field == "model" and "--" not in str(e.value)


# --------------------------------------------------------------------------- statistics
def test_var_cvar_definitions():
    pnl = -np.arange(1, 101, dtype=float)        # losses 1..100
    assert var_cvar(pnl, 0.95) == (95.0, 98.0)
    assert var_cvar(pnl, 0.99) == (99.0, 100.0)
    v, c = var_cvar(-np.arange(1, 11, dtype=float), 0.95)     # tail of half an observation
    assert v == 10.0 and c == 10.0
    v, c = var_cvar(-np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), 0.75)
    assert v == 6.0 and c == 7.5
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2_000_000)
    v, c = var_cvar(x, 0.99)                     # P&L standard normal
    z = N.inv_cdf(0.99)
    assert abs(v - z) < 0.01 and abs(c - N.pdf(z) / 0.01) < 0.01
    gains = np.full(100, 5.0)
    assert var_cvar(gains, 0.95) == (-5.0, -5.0)  # no loss: negative loss amounts


def test_running_figures_of_big_runs_from_the_fine_histogram():
    from engine.montecarlo import FINE_PER_BIN, HIST_BINS
    from engine.montecarlo.stats import hist_stats as _hist_stats, order_stats as _order_stats
    rng = np.random.default_rng(3)
    pnl = rng.standard_t(4, 300_000) * 1000.0
    edges = np.linspace(-20000.0, 20000.0, HIST_BINS + 1)
    nf = HIST_BINS * FINE_PER_BIN
    w = 40000.0 / nf
    k = np.clip(np.floor((pnl + 20000.0) / w), 0, nf - 1).astype(int)
    counts = np.bincount(k, minlength=nf)
    sums = np.bincount(k, weights=pnl, minlength=nf)
    approx = _hist_stats(counts, sums, edges, [0.95, 0.99], FAN_LEVELS)
    exact = _order_stats(pnl, var_levels=[0.95, 0.99], quantiles=FAN_LEVELS)
    for key in ("var", "cvar", "pct"):
        assert np.allclose(approx[key], exact[key], atol=2 * w, rtol=1e-3), key


# --------------------------------------------------------------------------- streaming
def test_streaming_stops_cleanly_on_close(demo):
    req = MonteCarloRequest(n_paths=400_000, days=30, seed=1, threads=2)
    gen = simulate_chunks(demo, req)
    first = next(gen)
    block = block_paths(30, len(compile_book(demo).assets))
    assert not first.final and first.paths_done == block // 4 and first.paths_total == 400_000
    assert first.fan.shape == (7, 31) and first.sample_values.shape == (200, 31)
    gen.close()                     # the workers stop between blocks (no timing asserted)
    for th in [th for th in threading.enumerate() if th.name.startswith("crashlab-mc")]:
        th.join(60)
    assert not [th for th in threading.enumerate() if th.name.startswith("crashlab-mc")]


def test_partial_results_grow_and_finish(demo):
    chunks = list(simulate_chunks(demo, MonteCarloRequest(n_paths=12000, days=7, seed=2)))
    done = [c.paths_done for c in chunks]
    assert done == sorted(done) and done[-1] == 12000 and chunks[-1].final
    assert not any(c.final for c in chunks[:-1])
    last = chunks[-1]
    assert last.hist_counts.sum() == 12000
    assert last.liquidation_time_hist.shape == (7, 8)
    assert np.all(np.diff(last.fan, axis=0) >= -1e-9)            # percentiles ordered
    assert set(last.var) == {"0.95", "0.99"} and last.cvar["0.99"] >= last.var["0.99"]
    loss = sum(last.expected_loss_by_asset.values())
    assert loss == pytest.approx(-last.expected_pnl, rel=1e-9, abs=1e-6)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,field,flag,value", [
    (dict(n_paths=0), "n_paths", "--paths", 0),
    (dict(n_paths=-5), "n_paths", "--paths", -5),
    (dict(days=0), "days", "--days", 0),
    (dict(model="brownian"), "model", "--model", "brownian"),
    (dict(steps_per_day=0), "steps_per_day", "--steps-per-day", 0),
    (dict(seed=-1), "seed", "--seed", -1),
    (dict(vols={"BTC": -0.5}, model="gbm"), "vol.BTC", "--vol BTC", -0.5),
    (dict(vols={"BTC": float("nan")}, model="gbm"), "vol.BTC", "--vol BTC", None),
    (dict(beta_overrides={"SOL": float("inf")}), "beta.SOL", "--beta SOL", float("inf")),
    (dict(chunk_paths=-1), "chunk_paths", "--chunk", -1),
])
def test_bad_requests_name_the_field_and_value(demo, kwargs, field, flag, value):
    """The engine names the request field (what the GUI shows); the command line maps it
    to the flag that set it."""
    from cli import flag_for
    args = dict(n_paths=100, days=5) | kwargs
    with pytest.raises(InputError) as e:
        next(simulate_chunks(demo, MonteCarloRequest(**args)))
    assert e.value.field == field and flag_for(e.value.field) == flag
    assert "--" not in str(e.value)
    if value is not None:
        assert e.value.value == value and repr(value) in str(e.value)


def test_gbm_without_vol_uses_bundled_vol_with_a_note(demo):
    res = _final(demo, MonteCarloRequest(n_paths=100, days=3, model="gbm", vols={"BTC": 0.5}))
    assert any("no annual vol given for" in n and "SOL" in n and "BTC" not in n.split(":")[0]
               for n in res.notes)


@pytest.mark.parametrize("argv,flag", [
    (["--paths", "0"], "--paths"),
    (["--days", "-3"], "--days"),
    (["--model", "heston"], "--model"),
    (["--model", "gbm", "--vol", "BTC=0"], "--vol"),
    (["--model", "gbm", "--vol", "BTC"], "--vol"),
    (["--cascade", "-1"], "--cascade"),
    (["--cascade", "1", "--cascade-half-life", "0.01"], "--cascade-half-life"),
    (["--cascade", "1", "--cascade-half-life", "soon"], "--cascade-half-life"),
    (["--steps-per-day", "0"], "--steps-per-day"),
])
def test_cli_bad_input(capsys, argv, flag):
    from cli import main
    code = main(["montecarlo", str(DEMO), "--paths", "100", "--days", "2"] + argv)
    err = capsys.readouterr().err
    assert code == 2 and flag in err and "Traceback" not in err
    assert argv[-1].split("=")[-1] in err


@pytest.mark.parametrize("argv,field,flag", [
    (["--paths", "0"], "n_paths", "--paths"),
    (["--model", "gbm", "--vol", "BTC=0"], "vol.BTC", "--vol BTC"),
    (["--cascade", "1", "--cascade-half-life", "0.01"], "cascade.half_life_days", "--cascade-half-life"),
])
def test_validate_request_names_fields_and_the_cli_prints_flags(capsys, argv, field, flag):
    from cli import _parse_assign, build_parser, main
    from engine.cascade import CascadeParams
    from engine.montecarlo import validate_request
    args = build_parser().parse_args(["montecarlo", str(DEMO), "--days", "2"] + argv)
    cascade = CascadeParams(strength=args.cascade, half_life_days=float(args.cascade_half_life)) \
        if args.cascade else None
    req = MonteCarloRequest(n_paths=args.paths, days=args.days, model=args.model,
                            vols=_parse_assign(args.vol, "--vol") or None, cascade=cascade)
    with pytest.raises(InputError) as e:
        validate_request(req)
    assert e.value.field == field and f"field {field!r}" in str(e.value)
    assert main(["montecarlo", str(DEMO), "--days", "2"] + argv) == 2
    err = capsys.readouterr().err
    assert f"field {flag!r}" in err and field not in err


# --------------------------------------------------------------------------- command line
def test_cli_json(capsys):
    from cli import main
    code = main(["montecarlo", str(DEMO), "--paths", "3000", "--days", "10", "--seed", "3",
                 "--json"])
    out = capsys.readouterr().out
    assert code == 0
    d = json.loads(out)
    assert set(d["var"]) == {"0.95", "0.99"} and set(d["cvar"]) == {"0.95", "0.99"}
    assert d["var"]["0.99"] > 0 and d["cvar"]["0.99"] >= d["var"]["0.99"]
    assert d["fan"]["levels"] == ["0.01", "0.05", "0.25", "0.5", "0.75", "0.95", "0.99"]
    assert len(d["fan"]["values"]) == 7 and len(d["fan"]["values"][0]) == 11
    assert d["seed"] == 3 and d["model"] == "student-t" and d["paths"] == 3000
    assert d["portfolio"]["value_before"] == pytest.approx(96265.0)
    ids = [r["id"] for r in d["positions"]]
    assert ids == [p.id for p in load_portfolio(DEMO).positions]
    for r in d["positions"]:
        assert 0.0 <= r["liquidation_probability"] <= 1.0
        assert len(r["liquidation_step_histogram"]) == 11
    sol = next(r for r in d["positions"] if r["id"] == "sol-10x")
    assert sol["liquidation_probability"] > 0.5 and sol["expected_liquidation_step"] is not None
    # same seed, same numbers
    main(["montecarlo", str(DEMO), "--paths", "3000", "--days", "10", "--seed", "3", "--json"])
    assert json.loads(capsys.readouterr().out)["var"] == d["var"]


def test_cli_gbm_json_matches_analytic(tmp_path, capsys):
    from cli import main
    f = tmp_path / "btc.json"
    f.write_text(json.dumps({"prices": {"BTC": 85000},
                             "positions": [{"id": "btc", "kind": "spot", "asset": "BTC", "quantity": 2}]}))
    assert main(["montecarlo", str(f), "--paths", "40000", "--days", "30", "--seed", "8",
                 "--model", "gbm", "--vol", "BTC=0.6", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    s = 0.6 * math.sqrt(30 / 365)
    var99 = 170000 * (1 - math.exp(s * N.inv_cdf(0.01)))
    assert d["var"]["0.99"] == pytest.approx(var99, rel=0.03)


def test_cli_table(capsys):
    from cli import main
    assert main(["montecarlo", str(DEMO), "--paths", "2000", "--days", "5", "--cascade", "1"]) == 0
    out = capsys.readouterr().out
    assert "VaR" in out and "sol-10x" in out and "cascade" in out


def test_run_montecarlo_is_json_ready(demo):
    d = run_montecarlo(demo, MonteCarloRequest(n_paths=500, days=3, seed=1))
    json.dumps(d)
    assert d["paths"] == 500 and d["portfolio"]["name"] == demo.name
