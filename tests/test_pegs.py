"""Pegged assets (resources/pegs.json, engine/pegs.py): wrapped and staked tokens move with
their base at their own price ratio in every scenario kind, stablecoins stay at today's
price, and de-pegs are explicit shock moves, recorded paths in replays and jumps in the
Monte Carlo."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import cli
from engine import (compile_book, history_scenario, library_scenario, portfolio_from_dict,
                    shock_scenario, stress)
from engine import pegs
from engine.errors import InputError
from engine.montecarlo import MonteCarloRequest, block_price_paths, simulate_chunks
from engine.prices import PriceHistory
from engine.scenarios import bundled_beta, canonical_asset, parse_shock, resolve_betas
from engine.stress import shock as run_shock

ETH_BETA = bundled_beta("ETH")[0]


def run_cli(capsys, *args):
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def weth_loan(weth_price=3000.0):
    """10 WETH on Aave v3 (LT 0.83) against 18,000 USDC: liquidation at
    18,000 / (10 x 0.83) = 2,168.67, 27.7 % below 3,000."""
    return portfolio_from_dict({
        "name": "WETH loan", "prices": {"WETH": weth_price, "USDC": 1},
        "positions": [{"id": "aave-weth", "kind": "loan", "preset": "aave-v3",
                       "collateral": [{"asset": "WETH", "quantity": 10}],
                       "debt": [{"asset": "USDC", "quantity": 18000}]}]})


def spot_book(prices: dict):
    return portfolio_from_dict({"prices": prices, "positions": [
        {"id": f"s-{a.lower()}", "kind": "spot", "asset": a, "quantity": 1} for a in prices]})


def usde_loan():
    """10,000 USDe (LT 0.90) against 8,500 USDC: HF 9,000 / 8,500 = 1.0588; liquidated when
    USDe falls below 8,500 / 9,000 = 0.9444 (a 5.6 % de-peg)."""
    return portfolio_from_dict({"prices": {"BTC": 100000, "USDE": 1, "USDC": 1}, "positions": [
        {"id": "btc", "kind": "spot", "asset": "BTC", "quantity": 0.1},
        {"id": "usde-loan", "kind": "loan", "close_factor": 0.5, "liquidation_bonus": 0.05,
         "collateral": [{"asset": "USDE", "quantity": 10000, "liquidation_threshold": 0.9}],
         "debt": [{"asset": "USDC", "quantity": 8500}]}]})


# --------------------------------------------------------------------------- the table
def test_table_has_every_pegged_asset_of_the_issue_with_its_base():
    want = {"ETH": ("WETH", "STETH", "WSTETH", "WEETH", "CBETH", "RETH", "WBETH"),
            "BTC": ("WBTC", "CBBTC", "BTCB"), "SOL": ("BNSOL", "JITOSOL", "MSOL")}
    for base, assets in want.items():
        for a in assets:
            p = pegs.peg_of(a)
            assert p is not None and p.base == base and not p.stable, a
    assert pegs.peg_of("wstETH").kind == "liquid-staking" and pegs.peg_of("WETH").kind == "wrapped"
    for a in ("USDT", "USDC", "DAI", "USDE", "FDUSD"):
        assert pegs.peg_of(a).stable and pegs.peg_of(a).peg == 1.0
    assert pegs.peg_of("UST") is None and "UST" in pegs.table()      # its peg ended in May 2022
    from engine.parsing import asset_symbol
    for a in pegs.table():                                  # typed as listed, read as listed
        assert asset_symbol(a) == a, a
    assert canonical_asset("BNSOL") == "SOL" and canonical_asset("wBETH") == "ETH"
    for e in pegs.depeg_events():
        assert e.sources and 0.05 <= e.depth < 1 and e.half_life_days > 0


def test_historical_rates_are_events_over_exposure():
    # wrapped: WETH, WBTC, BTCB over the whole 2020-2025 window, cbBTC from Sep 2024; one event
    # (WBTC on Binance, Nov 2024)
    window = (dt.date(2026, 1, 1) - dt.date(2020, 1, 1)).days / 365.25
    cbbtc = (dt.date(2026, 1, 1) - dt.date(2024, 9, 1)).days / 365.25
    assert pegs.exposure_years()["wrapped"] == pytest.approx(3 * window + cbbtc)
    assert pegs.historical_rates()["wrapped"] == pytest.approx(1 / (3 * window + cbbtc))
    kinds = [e.kind for e in pegs.depeg_events()]
    assert kinds.count("stablecoin") == 6 and kinds.count("liquid-staking") == 4
    r = pegs.historical_rates()
    assert r["stablecoin"] == pytest.approx(6 / pegs.exposure_years()["stablecoin"])
    assert 0.1 < r["stablecoin"] < 0.2 and 0.1 < r["liquid-staking"] < 0.2


def test_betas_and_methods_say_how_each_path_is_built():
    b = resolve_betas(("ETH", "WETH", "WBETH", "BNSOL", "WBTC", "USDE"), {"ETH": 1.4})
    assert b["WETH"] == (1.4, "follows ETH (wrapped), ETH override")
    assert b["WBETH"][0] == 1.4 and b["WBETH"][1].startswith("follows ETH (liquid-staking)")
    assert b["BNSOL"] == (bundled_beta("SOL")[0], "follows SOL (liquid-staking)")     # no BTC proxy
    assert b["WBTC"] == (1.0, "follows BTC (wrapped)")
    assert b["USDE"] == (0.0, "pegged to $1 (stablecoin)")
    # the user's own beta takes an asset off its peg
    assert resolve_betas(("WETH",), {"WETH": 2.0})["WETH"] == (2.0, "override")


# --------------------------------------------------------------------------- shocks
def test_weth_backed_aave_loan_is_liquidated_by_an_eth_shock():
    p = weth_loan()
    book = compile_book(p)
    sc = shock_scenario(book.assets, book.today, parse_shock("ETH=-50%"))
    assert sc.moves["WETH"] == pytest.approx(-0.5) and sc.method["WETH"] == "follows ETH (wrapped)"
    assert sc.paths.close[0, 1, book.asset_index("WETH")] == pytest.approx(1500.0)
    row = stress(p, sc, book)["positions"][0]
    assert row["liquidated"] and row["liquidation_price"] == pytest.approx(18000 / 8.3)
    # either side of the liquidation price 2,168.67: ETH -25 % (2,250) survives, -30 % (2,100) not
    for move, liquidated in (("-25%", False), ("-30%", True)):
        sc = shock_scenario(book.assets, book.today, parse_shock(f"ETH={move}"))
        assert stress(p, sc, book)["positions"][0]["liquidated"] is liquidated, move


def test_weth_loan_on_the_command_line(tmp_path, capsys):
    f = tmp_path / "loan.json"
    from engine.portfolio import save_portfolio
    save_portfolio(weth_loan(), f)
    code, out, err = run_cli(capsys, "stress", str(f), "--shock", "ETH=-50%")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("aave-weth"))
    assert "-50.0%" in row and "LIQUIDATED" in row
    assert "WETH follows ETH (wrapped)" in out
    code, out, err = run_cli(capsys, "stress", str(f), "--shock", "ETHH=-50%")
    assert code == cli.EXIT_INPUT and "--shock ETHH" in err and "not in the portfolio" in err


def test_a_btc_shock_moves_wsteth_with_eth_and_keeps_its_ratio():
    p = spot_book({"BTC": 100000, "ETH": 3000, "WSTETH": 3600, "WBETH": 3090, "USDC": 1})
    book = compile_book(p)
    sc = shock_scenario(book.assets, book.today, {"BTC": -0.30})
    eth = 0.7 ** ETH_BETA - 1
    after = dict(zip(book.assets, sc.paths.close[0, 1]))
    assert sc.moves["ETH"] == pytest.approx(eth)
    assert sc.moves["WSTETH"] == pytest.approx(eth) and sc.moves["WBETH"] == pytest.approx(eth)
    assert after["WSTETH"] / after["ETH"] == pytest.approx(1.2, rel=1e-12)
    assert after["USDC"] == 1.0 and sc.moves["USDC"] == 0.0
    # the GUI's instant shock (betas) gives the same prices
    betas = {a: b for a, (b, _) in resolve_betas(book.assets).items()}
    res = run_shock(book, betas, -0.30)
    for a in book.assets:
        assert res.moves[a] == pytest.approx(sc.moves[a], abs=1e-12), a


def test_usde_depeg_moves_usde_alone():
    p = spot_book({"BTC": 100000, "ETH": 3000, "WETH": 3000, "USDE": 1, "USDC": 1})
    book = compile_book(p)
    sc = shock_scenario(book.assets, book.today, parse_shock("USDE=-35%"))
    assert sc.moves == {"BTC": 0.0, "ETH": 0.0, "WETH": 0.0, "USDE": pytest.approx(-0.35), "USDC": 0.0}
    assert sc.method["USDE"] == "pegged to $1 (stablecoin), de-peg -35 % (user)"
    assert sc.paths.close[0, 1, book.asset_index("USDE")] == pytest.approx(0.65)


def test_a_shock_on_a_pegged_asset_is_a_depeg_on_top_of_its_base():
    p = spot_book({"BTC": 100000, "ETH": 3000, "STETH": 2990, "WSTETH": 3600})
    book = compile_book(p)
    sc = shock_scenario(book.assets, book.today, parse_shock("ETH=-30%,STETH=-5%"))
    assert sc.moves["ETH"] == pytest.approx(-0.30)
    assert sc.moves["STETH"] == pytest.approx(0.70 * 0.95 - 1)           # -33.5 %
    assert sc.moves["WSTETH"] == pytest.approx(-0.30)                    # not moved explicitly
    assert sc.moves["BTC"] == 0.0
    assert sc.method["STETH"] == "follows ETH (liquid-staking), de-peg -5 % (user)"
    assert sc.paths.close[0, 1, book.asset_index("STETH")] == pytest.approx(2990 * 0.665)
    # a pegged asset given its own beta is off its peg: an explicit move is then its move
    sc = shock_scenario(book.assets, book.today, parse_shock("ETH=-30%,STETH=-5%"), {"STETH": 1.0})
    assert sc.moves["STETH"] == pytest.approx(-0.05) and sc.method["STETH"] == "explicit"


def test_gui_shock_depegs_liquidate_a_usde_loan_while_btc_is_flat():
    p = usde_loan()
    book = compile_book(p)
    betas = {a: b for a, (b, _) in resolve_betas(book.assets).items()}
    loan = book.ids.index("usde-loan")
    assert not run_shock(book, betas, 0.0, {"USDE": -0.05}).liquidated[loan]      # 0.95 > 0.9444
    res = run_shock(book, betas, 0.0, {"USDE": -0.06})                             # 0.94 < 0.9444
    assert res.liquidated[loan] and res.moves["USDE"] == pytest.approx(-0.06)
    assert res.moves["BTC"] == 0.0 and res.moves["USDC"] == 0.0
    with pytest.raises(InputError, match="depeg.BTC"):
        run_shock(book, betas, 0.0, {"BTC": -0.1})


# --------------------------------------------------------------------------- replays
def test_library_replay_moves_pegged_assets_with_their_base():
    p = spot_book({"BTC": 100000, "ETH": 3000, "WSTETH": 3600, "WBETH": 3100, "SOL": 200,
                   "BNSOL": 210, "USDE": 1})
    book = compile_book(p)
    sc = library_scenario("2025-10-10-liquidation-cascade", book.assets, book.today)
    close = sc.paths.close[0]
    ix = book.asset_index
    np.testing.assert_allclose(close[:, ix("WSTETH")] / close[:, ix("ETH")], 1.2, rtol=1e-12)
    np.testing.assert_allclose(close[:, ix("BNSOL")] / close[:, ix("SOL")], 210 / 200, rtol=1e-12)
    np.testing.assert_allclose(sc.paths.low[0, :, ix("WBETH")] / sc.paths.low[0, :, ix("ETH")],
                               3100 / 3000, rtol=1e-12)
    assert sc.method["WBETH"] == "follows ETH (liquid-staking)"
    assert sc.method["BNSOL"] == "follows SOL (liquid-staking)"             # not a BTC proxy
    assert (close[:, ix("USDE")] == 1.0).all() and sc.method["USDE"] == "pegged to $1 (stablecoin)"


def test_library_replay_of_a_pegged_asset_without_its_base_in_the_book():
    p = spot_book({"BTC": 100000, "WSTETH": 3600})
    book = compile_book(p)
    sc = library_scenario("2025-10-10-liquidation-cascade", book.assets, book.today)
    both = library_scenario("2025-10-10-liquidation-cascade", ("ETH",), [3000.0])
    np.testing.assert_allclose(sc.paths.close[0, :, 1] / 3600, both.paths.close[0, :, 0] / 3000,
                               rtol=1e-12)


def test_ust_and_usdc_keep_their_recorded_paths():
    p = spot_book({"BTC": 30000, "USDC": 1, "UST": 1})
    book = compile_book(p)
    luna = library_scenario("2022-05-05-luna-ust-collapse", book.assets, book.today)
    ust = book.asset_index("UST")
    assert luna.paths.low[0, :, ust].min() == pytest.approx(0.225, rel=0.02)
    assert luna.method["UST"].startswith("event data")
    svb = library_scenario("2023-03-09-svb-usdc-depeg", book.assets, book.today)
    assert svb.paths.low[0, :, book.asset_index("USDC")].min() == pytest.approx(0.877, abs=2e-3)
    assert svb.method["USDC"].startswith("event data")


def _hist(columns: dict[str, list[float]]) -> PriceHistory:
    n = len(next(iter(columns.values())))
    times = np.datetime64("2025-10-10") + np.arange(n).astype("timedelta64[h]")
    close = np.array(list(columns.values()), float).T
    return PriceHistory(times=times, assets=tuple(columns), open=close, high=close, low=close,
                        close=close, has_ohlc=np.zeros(len(columns), bool), sources=("synthetic",))


def test_history_replay_uses_an_imported_stablecoins_own_path_and_pegs_the_rest():
    hist = _hist({"BTC": [100000, 95000, 97000], "ETH": [4000, 3000, 3500],
                  "USDE": [1.0, 0.66, 0.99]})
    p = spot_book({"BTC": 100000, "USDE": 1, "WETH": 3000, "USDC": 1})
    book = compile_book(p)
    sc = history_scenario(hist, book.assets, book.today)
    c = dict(zip(book.assets, sc.paths.close[0].T))
    np.testing.assert_allclose(c["USDE"], [1.0, 0.66, 0.99])             # its own path, not 1
    np.testing.assert_allclose(c["WETH"], [3000, 2250, 2625])           # ETH's moves x 3,000
    np.testing.assert_allclose(c["USDC"], 1.0)
    assert sc.method["USDE"].startswith("history") and sc.method["WETH"] == "follows ETH (wrapped)"
    # without ETH in the history WETH follows ETH's beta to the proxy
    sc = history_scenario(_hist({"BTC": [100000, 90000]}), book.assets, book.today)
    assert sc.moves["WETH"] == pytest.approx(0.9 ** ETH_BETA - 1)
    assert sc.method["WETH"].startswith("follows ETH (wrapped); ETH: proxy BTC, beta")


# --------------------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("model", ["student-t", "gbm"])
def test_montecarlo_without_depegs_pegged_assets_are_exactly_base_times_ratio(model):
    p = spot_book({"BTC": 100000, "ETH": 3000, "WSTETH": 3600, "WBTC": 99800, "BNSOL": 210,
                   "USDE": 1, "USDC": 1})
    book = compile_book(p)
    req = MonteCarloRequest(n_paths=300, days=20, steps_per_day=2, seed=4, model=model, depeg="off")
    paths = block_price_paths(p, req, 0)
    ix = book.asset_index
    for field in ("close", "low", "high"):
        x = getattr(paths, field)
        # the Monte Carlo's cubes are float32: the ratio holds to float32 rounding (6e-8)
        np.testing.assert_allclose(x[:, :, ix("WSTETH")] / x[:, :, ix("ETH")], 1.2, rtol=2.5e-7)
        np.testing.assert_allclose(x[:, :, ix("WBTC")] / x[:, :, ix("BTC")], 0.998, rtol=2.5e-7)
        assert (x[:, :, ix("USDE")] == 1.0).all() and (x[:, :, ix("USDC")] == 1.0).all()
    # BNSOL follows SOL, which the book does not hold: SOL is simulated for it
    assert np.std(np.log(paths.close[:, -1, ix("BNSOL")] / 210)) > 0.05


def test_depeg_jumps_hit_the_pegged_asset_only_and_leave_base_paths_unchanged():
    p = spot_book({"BTC": 100000, "ETH": 3000, "WETH": 3000, "USDE": 1})
    book = compile_book(p)
    base = dict(n_paths=400, days=30, seed=7)
    off = block_price_paths(p, MonteCarloRequest(**base, depeg="off"), 0)
    on = block_price_paths(p, MonteCarloRequest(**base, depeg=20.0), 0)
    ix = book.asset_index
    for a in ("BTC", "ETH"):
        assert np.array_equal(off.close[:, :, ix(a)], on.close[:, :, ix(a)]), a
        assert np.array_equal(off.low[:, :, ix(a)], on.low[:, :, ix(a)]), a
    usde = on.low[:, :, ix("USDE")]
    hit = (usde < 0.99).any(axis=1)
    assert 0.5 < hit.mean() < 1.0                   # 20 per year over 30 days: 1 - e^-1.64 = 0.81
    assert (on.close[:, :, ix("USDE")] <= 1.0).all() and usde.min() < 0.7
    weth_ratio = on.close[:, :, ix("WETH")] / on.close[:, :, ix("ETH")]
    assert (weth_ratio <= 1.0 + 1e-12).all() and (weth_ratio < 0.99).any()
    assert (on.low <= on.close).all() and (on.close <= on.high).all()


def test_default_depeg_frequency_matches_the_table():
    """Per step a jump with probability rate x dt: over a year of daily steps the share of
    paths with a de-peg is 1 - (1 - p)^365, within 4 sampling standard errors."""
    assets = ("USDE", "STETH", "WSTETH", "WBTC", "BTC", "ETH")
    plan = pegs.monte_carlo_plan(assets, np.ones(len(assets)), depeg="default")
    jumps = plan.depeg
    assert [sorted(assets[c] for c in g) for g in jumps.columns] == [["USDE"], ["STETH", "WSTETH"], ["WBTC"]]
    rates = pegs.historical_rates()
    np.testing.assert_allclose(jumps.rates, [rates["stablecoin"], rates["liquid-staking"], rates["wrapped"]])
    T, P = 365, 40_000
    hit = {g: np.zeros(P, bool) for g in range(3)}
    troughs = {g: [] for g in range(3)}
    for g, close, low, high in jumps.factors(np.random.default_rng(3), T, P):
        hit[g] = (low < 1.0 - 1e-12).any(axis=0)
        one = hit[g] & ((low < 1 - 1e-12).sum(axis=0) == 1)
        troughs[g] = low[:, one].min(axis=0)
    for g, kind in enumerate(("stablecoin", "liquid-staking", "wrapped")):
        p = rates[kind] / 365.0
        expect = 1 - (1 - p) ** T
        se = math.sqrt(expect * (1 - expect) / P)
        assert abs(hit[g].mean() - expect) < 4 * se, (kind, hit[g].mean(), expect)
        # each de-peg reaches the trough of one of the table's events of its type
        depths = sorted({e.depth for e in pegs.depeg_events() if e.kind == kind})
        got = 1.0 - np.asarray(troughs[g])
        assert np.abs(got[:, None] - np.array(depths)[None, :]).min(axis=1).max() < 1e-9


def test_a_usde_depeg_can_liquidate_a_loan_while_btc_is_flat():
    p = usde_loan()
    base = dict(n_paths=2000, days=30, seed=1, model="gbm", vols={"BTC": 0.01})
    off = list(simulate_chunks(p, MonteCarloRequest(**base, depeg="off")))[-1]
    on = list(simulate_chunks(p, MonteCarloRequest(**base, depeg=5.0)))[-1]
    loan = off.position_ids.index("usde-loan")
    assert off.liquidation_probability[loan] == 0.0
    # 5 de-pegs a year over 30 days: 1 - e^(-0.41) = 34 % of paths have one, every stablecoin
    # event of the table is deeper than the 5.6 % that liquidates
    assert 0.25 < on.liquidation_probability[loan] < 0.45
    assert any("USDE: pegged to $1" in n for n in on.notes)
    assert any("de-peg jumps at 5 per pegged asset per year" in n for n in on.notes)


@pytest.mark.parametrize("value,want", [("default", "default"), ("OFF", "off"), ("0", "off"),
                                        ("0.5", 0.5), ("2/yr", 2.0), (3, 3.0)])
def test_depeg_setting(value, want):
    assert pegs.depeg_setting(value) == want


@pytest.mark.parametrize("value", ["xx", "-1", 101, float("nan"), True])
def test_bad_depeg_setting_names_the_field(value, capsys):
    with pytest.raises(InputError) as e:
        pegs.depeg_setting(value)
    assert e.value.field == "depeg"
    with pytest.raises(InputError):
        list(simulate_chunks(usde_loan(), MonteCarloRequest(n_paths=100, days=2, depeg=value)))


def test_depeg_flag_on_the_command_line(tmp_path, capsys):
    from engine.portfolio import save_portfolio
    f = tmp_path / "usde.json"
    save_portfolio(usde_loan(), f)
    code, out, err = run_cli(capsys, "montecarlo", str(f), "--paths", "200", "--days", "5",
                             "--depeg", "sometimes")
    assert code == cli.EXIT_INPUT and "--depeg" in err and "sometimes" in err
    code, out, err = run_cli(capsys, "montecarlo", str(f), "--paths", "200", "--days", "5",
                             "--depeg", "off")
    assert code == 0, err
    assert "de-peg jumps off" in out
