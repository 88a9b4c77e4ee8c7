"""Accounts as venues run them, with worked numbers: multi-asset collateral accounts,
coin-margined (inverse) perps, funding and borrow costs over real elapsed time, Hyperliquid's
remaining margin, and attribution that adds up. Every field round-trips through the
portfolio file, the holdings CSV and the editor document; bad values get clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import cli
from engine import InputError, compile_book, liquidation_prices, portfolio_from_dict, stress
from engine.attribution import collateral_key, outcome_pnl, pnl_by_asset, pnl_by_position
from engine.holdings_csv import import_holdings_csv
from engine.montecarlo import MonteCarloRequest, run_montecarlo
from engine.portfolio import portfolio_to_dict
from engine.replay import PricePaths, run_book
from engine.scenarios import Scenario, shock_scenario
from engine.stress import account_rows, scenario_hours


def _book(raw):
    raw = {"format": "crashlab.portfolio/1", **raw}
    p = portfolio_from_dict(raw)
    return p, compile_book(p)


def _flat_history(book, days, closes=None):
    """A daily history (times at 00:00 UTC) of ``days`` steps: flat, or the given closes."""
    times = [str(np.datetime64("2025-01-01") + np.timedelta64(d, "D")) + "T00:00:00Z"
             for d in range(days + 1)]
    close = (np.broadcast_to(book.today, (days + 1, len(book.assets))).copy()
             if closes is None else closes)
    return Scenario("history", "history", "flat", book.assets, PricePaths(close[None]), times,
                    {a: 0.0 for a in book.assets}, times=times)


# --------------------------------------------------------------------------- collateral
USDE_BOOK = {
    "prices": {"BTC": 85000, "USDE": 1.0},
    "accounts": [{"id": "unified", "venue": "binance",
                  "collateral": [{"asset": "USDE", "quantity": 10000, "collateral_ratio": 0.9}]}],
    "positions": [{"id": "btc-long", "kind": "perp", "asset": "BTC", "side": "long",
                   "quantity": 15, "entry_price": 85000, "margin_mode": "cross",
                   "account": "unified"}]}


def test_usde_margined_account_is_liquidated_by_a_usde_move_with_btc_flat():
    """Adjusted equity 10,000 x 0.9 = 9,000 against Binance MM 1,275,000 x 0.65 % - 950 =
    7,337.50: a USDe fall of 18.47 % liquidates; -35 % leaves 5,850 and the account (and its
    whole USDe collateral) is gone. BTC does not move."""
    p, book = _book(USDE_BOOK)
    [acc] = account_rows(book)
    assert acc["adjusted_equity"] == pytest.approx(9000.0)
    assert acc["maintenance_margin"] == pytest.approx(7337.5)
    usde = next(m for m in acc["liquidation"] if m["asset"] == "USDE")
    assert usde["liquidation_price"] == pytest.approx(7337.5 / 9000.0)
    assert usde["distance"] == pytest.approx(7337.5 / 9000.0 - 1.0)          # -18.47 %
    # the cross perp's own row: its account's liquidation move on BTC (USDe held at 1)
    row = liquidation_prices(p, book)[0]
    assert row["liquidation_price"] == pytest.approx(85000 - (9000 - 7337.5) / (15 * (1 - 0.0065)))
    assert row["liquidation_basis"] == "account unified"

    rep = stress(p, shock_scenario(book.assets, book.today, {"USDE": -0.35}), book)
    assert rep["moves"]["BTC"] == 0.0 and rep["moves"]["USDE"] == pytest.approx(-0.35)
    [a] = rep["accounts"]
    assert a["liquidated"] and a["liquidation_step"] == 1
    assert rep["positions"][0]["liquidated_with"] == "unified"
    assert rep["portfolio"]["pnl"] == pytest.approx(-10000.0)               # all the collateral
    assert rep["by_asset"] == {"BTC": 0.0, collateral_key("unified", "USDE"): pytest.approx(-10000.0)}
    # a smaller de-peg is survived and its collateral loss counts in the P&L
    rep = stress(p, shock_scenario(book.assets, book.today, {"USDE": -0.10}), book)
    assert not rep["accounts"][0]["liquidated"]
    assert rep["by_asset"][collateral_key("unified", "USDE")] == pytest.approx(-1000.0)
    assert rep["portfolio"]["pnl"] == pytest.approx(-1000.0)


def test_collateral_path_wise_in_a_replay_and_monte_carlo_adds_up():
    p, book = _book(USDE_BOOK)
    usde = book.asset_index("USDE")
    closes = np.broadcast_to(book.today, (6, 2)).copy()
    closes[:, usde] = [1.0, 0.99, 0.95, 0.70, 0.98, 1.0]       # de-peg and recovery
    rep = stress(p, _flat_history(book, 5, closes), book)
    assert rep["accounts"][0]["liquidation_step"] == 3        # dead on day 3, stays dead
    assert rep["portfolio"]["pnl"] == pytest.approx(-10000.0)
    assert sum(rep["by_asset"].values()) == pytest.approx(rep["portfolio"]["pnl"])
    # Monte Carlo: USDe held at 1 (a stablecoin), BTC moves; expected losses add up
    res = run_montecarlo(p, MonteCarloRequest(n_paths=400, days=10, seed=3))
    assert sum(res["expected_loss_by_asset"].values()) == pytest.approx(
        -res["portfolio"]["expected_pnl"], rel=1e-9, abs=1e-6)


def test_collateral_ratio_from_the_venue_table_and_coin_margin():
    p, book = _book({
        "prices": {"BTC": 100000, "XRP": 2.0},
        "accounts": [{"id": "a", "venue": "binance", "wallet_balance": 1000,
                      "collateral": [{"asset": "BTC", "quantity": 0.1}, {"asset": "XRP", "quantity": 1000}]}],
        "positions": [{"id": "x", "kind": "perp", "asset": "BTC", "side": "short", "quantity": 0.5,
                       "entry_price": 100000, "margin_mode": "cross", "account": "a"}]})
    [acc] = account_rows(book)
    # Binance multi-assets: BTC 95 %, XRP 90 % (FAQ 2021-05-28)
    assert [c["adjusted_value"] for c in acc["collateral"]] == pytest.approx([9500.0, 1800.0])
    assert [c["ratio_source"] for c in acc["collateral"]] == ["binance table"] * 2
    assert acc["adjusted_equity"] == pytest.approx(1000 + 9500 + 1800)


def test_tiered_usd_collateral_ratio_is_a_concave_curve():
    from engine import liquidation as lq
    from engine.venues import collateral_ratio
    beth = collateral_ratio("okx", "BETH")        # 0.95 to 2M USD, 0.85 to 4M, 0.5 to 8M, 0
    curve = lq.collateral_curve(1000, beth)
    x = np.array([1000.0, 3000.0, 5000.0, 10000.0])
    # 1000 BETH at 3,000: 2M x 0.95 + 1M x 0.85 = 2.75M
    assert curve(x).tolist() == pytest.approx([950000.0, 2750000.0, 4100000.0, 5600000.0])


# --------------------------------------------------------------------------- inverse
INVERSE = {"id": "inv", "kind": "perp", "asset": "BTC", "side": "long", "contract": "inverse",
           "contract_size": 100, "quantity": 1000, "entry_price": 85000, "leverage": 10,
           "maintenance_margin_rate": 0.004}


def test_inverse_long_binance_formula_worked_example():
    """1,000 contracts of $100, entry 85,000, 10x, MMR 0.4 %: WB = 100,000/85,000/10 BTC,
    LP = (Q*CS*MMR + Q*CS) / (WB + Q*CS/EP) = 100,400 / 1.2941176 = 77,581.82."""
    p, book = _book({"prices": {"BTC": 85000}, "positions": [INVERSE]})
    lp = liquidation_prices(p, book)[0]["liquidation_price"]
    wb = 100000 / 85000 / 10
    assert lp == pytest.approx((100000 * 0.004 + 100000) / (wb + 100000 / 85000))
    assert round(lp) == 77582
    # its value in USD is the coin equity at the price: today its margin, 0.1176 BTC
    assert book.iso_c[0] + book.iso_d[0] * 85000 == pytest.approx(wb * 85000)
    out = run_book(book, PricePaths(np.array([[[85000.0], [77600.0], [77570.0]]])))
    assert out.liq_step[0, 0] == 2
    # the venue table gives the same MMR at this size (COIN-M tier 1: 0-10 BTC, 0.4 %)
    raw = dict(INVERSE, venue="binance")
    raw.pop("maintenance_margin_rate")
    p2, _ = _book({"prices": {"BTC": 85000}, "positions": [raw]})
    assert liquidation_prices(p2)[0]["liquidation_price"] == pytest.approx(lp)


def test_inverse_short_and_bybit_entry_value_formula():
    # Binance short: LP = U*(MMR - 1) / (WB - U/EP)
    raw = dict(INVERSE, side="short")
    p, _ = _book({"prices": {"BTC": 85000}, "positions": [raw]})
    wb = 100000 / 85000 / 10
    assert liquidation_prices(p)[0]["liquidation_price"] == pytest.approx(
        100000 * (0.004 - 1) / (wb - 100000 / 85000))
    # Bybit inverse: MM at the entry value; 10,000 contracts of $1 long at 50,000, 10x:
    # WB 0.02 BTC, MM 0.2 x 0.5 % = 0.001 BTC: LP = 10,000 / (0.2 + 0.02 - 0.001) = 45,662.10
    p, _ = _book({"prices": {"BTC": 50000}, "positions": [
        {"id": "b", "kind": "perp", "asset": "BTC", "side": "long", "contract": "inverse",
         "quantity": 10000, "entry_price": 50000, "leverage": 10, "venue": "bybit"}]})
    assert liquidation_prices(p)[0]["liquidation_price"] == pytest.approx(10000 / 0.219)


def test_inverse_cross_with_coin_collateral():
    """A coin-margined cross account holds its coin: ratio 1 by default (its margin).
    0.2 BTC collateral, short 1,000 x $100 at 85,000 (hedged): the account is liquidated by a
    rise of the coin, where 0.2*P + 100,000*(1 - P/85,000) = 100,000 * 0.4 % (MM in USD)."""
    p, book = _book({"prices": {"BTC": 85000}, "accounts": [
        {"id": "coinm", "venue": "binance", "collateral": [{"asset": "BTC", "quantity": 0.2}]}],
        "positions": [dict(INVERSE, side="short", margin_mode="cross", account="coinm",
                           leverage=None)]})
    assert book.coll_source == ["coin margin of the account's inverse perps"]
    lp = book.account_liquidation_price(0, 0)
    want = (100000 - 400) / (100000 / 85000 - 0.2)
    assert lp == pytest.approx(want)
    assert liquidation_prices(p, book)[0]["liquidation_price"] == pytest.approx(want)
    close = np.array([[[85000.0], [want * 0.999], [want * 1.001]]])
    assert run_book(book, PricePaths(close)).liq_step[0, 0] == 2


# --------------------------------------------------------------------------- funding
LONG_10X = {"id": "l", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 1,
            "entry_price": 85000, "leverage": 10, "maintenance_margin_rate": 0.004,
            "funding_rate": 0.0001}


def test_funding_on_a_flat_30_day_history_is_90_payments():
    """A 10x BTC long paying 0.01 % every 8 h for 30 days: 90 payments of 8.50 = 765."""
    p, book = _book({"prices": {"BTC": 85000}, "positions": [LONG_10X]})
    rep = stress(p, _flat_history(book, 30), book)
    assert rep["costs"]["hours"] == 720
    assert rep["costs"]["funding"] == pytest.approx(-90 * 0.0001 * 85000)
    assert rep["positions"][0]["pnl"] == pytest.approx(-765.0)
    assert rep["positions"][0]["costs"] == pytest.approx(-765.0)
    assert rep["by_asset"] == {"BTC": pytest.approx(0.0), "funding": pytest.approx(-765.0)}
    # a short receives it; an instant shock has no time and no funding
    p2, book2 = _book({"prices": {"BTC": 85000}, "positions": [dict(LONG_10X, side="short")]})
    assert stress(p2, _flat_history(book2, 30), book2)["costs"]["funding"] == pytest.approx(765.0)
    shock = stress(p, shock_scenario(book.assets, book.today, {"BTC": 0.0}), book)
    assert shock["costs"]["funding"] == 0.0 and shock["positions"][0]["pnl"] == 0.0
    # Hyperliquid pays every hour: 720 payments of the rate per hour
    p3, book3 = _book({"prices": {"BTC": 85000}, "positions": [
        dict(LONG_10X, venue="hyperliquid", maintenance_margin_rate=None)]})
    assert stress(p3, _flat_history(book3, 30), book3)["costs"]["funding"] == pytest.approx(
        -720 * 0.0001 * 85000)


def test_funding_drains_margin_until_liquidation():
    """Margin 8,500, MM 340 at a flat 85,000: paying 1 % of 85,000 every 8 h (2,550 a day),
    equity 8,500 - 2,550*d falls to 340 on day 4 (8,500 - 10,200 < 340), not before."""
    p, book = _book({"prices": {"BTC": 85000}, "positions": [dict(LONG_10X, funding_rate=0.01)]})
    assert book.iso_lp[0] == pytest.approx(76807.23, abs=0.01)   # far below the flat price
    rep = stress(p, _flat_history(book, 10), book)
    assert rep["positions"][0]["liquidation_step"] == 4
    assert rep["positions"][0]["costs"] == pytest.approx(-4 * 2550.0)
    assert rep["portfolio"]["pnl"] == pytest.approx(-8500.0)
    assert sum(rep["by_asset"].values()) == pytest.approx(-8500.0)


def test_funding_moves_the_liquidation_price_bybit_y3():
    """LIQUIDATION.md Y3: Bybit 1 BTC long at 20,000, 50x (IM 400, MM 100): LP 19,700; after a
    200 USDT funding fee (1 % of 20,000 for one 8-hour interval) the LP is 19,900."""
    p, book = _book({"prices": {"BTC": 20000}, "positions": [
        {"id": "y", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 1,
         "entry_price": 20000, "leverage": 50, "venue": "bybit", "funding_rate": 0.01}]})
    assert book.iso_lp[0] == pytest.approx(19700.0)
    close = np.array([[[20000.0], [20000.0]]])
    for low, liquidated in ((19950.0, False), (19890.0, True)):
        out = run_book(book, PricePaths(close, np.array([[[20000.0], [low]]])), hours=[0.0, 8.0])
        assert bool(out.liq_step[0, 0] == 1) is liquidated
        assert out.cost_end[0, 0] == pytest.approx(-200.0)


def test_cross_funding_and_monte_carlo_costs():
    p, book = _book({"prices": {"BTC": 85000}, "accounts": [{"id": "a", "wallet_balance": 10000}],
                     "positions": [dict(LONG_10X, margin_mode="cross", account="a", leverage=None)]})
    rep = stress(p, _flat_history(book, 30), book)
    assert rep["costs"]["funding"] == pytest.approx(-765.0)
    assert rep["accounts"][0]["value_after"] == pytest.approx(10000 - 765.0)
    res = run_montecarlo(p, MonteCarloRequest(n_paths=300, days=30, seed=1))
    assert res["expected_loss_by_asset"]["funding"] > 0          # paid on every path
    assert sum(res["expected_loss_by_asset"].values()) == pytest.approx(
        -res["portfolio"]["expected_pnl"], rel=1e-9, abs=1e-6)


# --------------------------------------------------------------------------- loans
def test_borrow_interest_grows_the_debt_and_can_liquidate():
    """10 WETH at 3,000 (LT 0.83) against 24,000 USDC: HF 1.0375. At 5 % a year the debt is
    24,000 x 1.05^(d/365): HF crosses 1 after ln(1.0375)/ln(1.05) = 0.7543 years, day 276."""
    loan = {"id": "aave", "kind": "loan",
            "collateral": [{"asset": "WETH", "quantity": 10, "liquidation_threshold": 0.83}],
            "debt": [{"asset": "USDC", "quantity": 24000, "borrow_apy": 0.05}]}
    p, book = _book({"prices": {"WETH": 3000, "USDC": 1}, "positions": [loan]})
    rep = stress(p, _flat_history(book, 30), book)
    assert rep["costs"]["interest"] == pytest.approx(-24000 * (1.05 ** (30 / 365) - 1))
    assert rep["by_asset"]["interest"] == pytest.approx(rep["costs"]["interest"])
    assert not rep["positions"][0]["liquidated"]
    rep = stress(p, _flat_history(book, 300), book)
    assert rep["positions"][0]["liquidation_step"] == int(np.ceil(365 * np.log(1.0375) / np.log(1.05)))
    assert sum(rep["by_asset"].values()) == pytest.approx(rep["portfolio"]["pnl"])


def test_aave_preset_fills_default_rates_and_supply_earns():
    loan = {"id": "aave", "kind": "loan", "preset": "aave-v3",
            "collateral": [{"asset": "USDC", "quantity": 100000}],
            "debt": [{"asset": "WETH", "quantity": 1}]}
    p, book = _book({"prices": {"WETH": 3000, "USDC": 1}, "positions": [loan]})
    usdc, weth = book.asset_index("USDC"), book.asset_index("WETH")
    assert book.loan_supply_apy[0, usdc] == pytest.approx(np.expm1(0.035 * 0.9 * 0.9), abs=1e-6)
    assert book.loan_borrow_apy[0, weth] == pytest.approx(np.expm1(0.028), abs=1e-6)
    rep = stress(p, _flat_history(book, 365), book)
    want = 100000 * np.expm1(0.035 * 0.9 * 0.9) - 3000 * np.expm1(0.028)
    assert rep["costs"]["interest"] == pytest.approx(want, rel=1e-4)


# --------------------------------------------------------------------------- Hyperliquid
HL = {"id": "hl", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 1,
      "entry_price": 100000, "leverage": 10, "venue": "hyperliquid"}


def test_hyperliquid_isolated_long_keeps_its_remaining_margin_on_a_slow_move():
    """1 BTC long at 100,000, 10x on Hyperliquid (40x table, l = 1.25 %): LP 91,139.24
    (test vector H4). A slow fall trades through it: the position is closed there and the
    trader keeps equity = MM = 1.25 % x 91,139.24 = 1,139.24 of the 10,000 margin. The same
    position on Binance keeps nothing."""
    p, book = _book({"prices": {"BTC": 100000}, "positions": [HL]})
    assert book.iso_lp[0] == pytest.approx(91139.24, abs=0.01)
    px = 100000 * 0.99 ** np.arange(15)
    close = px[None, :, None]
    paths = PricePaths(close, close * 0.995, close * 1.002)
    out = run_book(book, paths)
    assert out.liq_step[0, 0] == 9
    kept = 0.0125 * 91139.24050632911
    assert out.position_end[0, 0] == pytest.approx(kept)
    assert out.value[0, -1] == pytest.approx(kept)
    binance = dict(HL, venue="binance")
    _, bbook = _book({"prices": {"BTC": 100000}, "positions": [binance]})
    assert run_book(bbook, paths).position_end[0, 0] == 0.0


def test_hyperliquid_instant_shock_past_the_backstop_takes_everything():
    p, book = _book({"prices": {"BTC": 100000}, "positions": [HL]})
    # a gap to 91,000: equity 1,000 >= 2/3 x MM 1,137.50 = 758.33 -> the trader keeps 1,000
    rep = stress(p, shock_scenario(book.assets, book.today, {"BTC": -0.09}), book)
    assert rep["positions"][0]["liquidated"]
    assert rep["positions"][0]["value_after"] == pytest.approx(10000 - 9000)
    # a gap to 90,500: equity 500 < 2/3 x 1,131.25: the backstop takes it all
    rep = stress(p, shock_scenario(book.assets, book.today, {"BTC": -0.095}), book)
    assert rep["positions"][0]["value_after"] == 0.0


# --------------------------------------------------------------------------- attribution
def test_cross_position_status_and_tables_add_up_in_the_cli(tmp_path, capsys):
    f = tmp_path / "usde.json"
    f.write_text(json.dumps({"format": "crashlab.portfolio/1", **USDE_BOOK}))
    assert cli.main(["stress", str(f), "--shock", "USDE=-35%"]) == 0
    text = capsys.readouterr().out
    assert "liquidated with account unified" in text
    assert "collateral unified USDE" in text and "-10,000.00" in text
    assert cli.main(["liquidation", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accounts"][0]["liquidation"][1]["asset"] == "USDE"
    assert out["positions"][0]["liquidation_basis"] == "account unified"


def test_by_position_adds_up_with_the_account_line():
    p, book = _book(USDE_BOOK)
    out = run_book(book, shock_scenario(book.assets, book.today, {"USDE": -0.1}).paths)
    parts = outcome_pnl(book, out, 0)
    by_pos = pnl_by_position(book, parts)
    assert by_pos == {"btc-long": 0.0, "unified (wallet and collateral)": pytest.approx(-1000.0)}
    assert sum(by_pos.values()) == pytest.approx(sum(pnl_by_asset(book, parts).values()))


def test_scenario_hours_from_iso_times():
    p, book = _book({"prices": {"BTC": 1.0}, "positions": [{"id": "s", "kind": "spot",
                                                             "asset": "BTC", "quantity": 1}]})
    sc = _flat_history(book, 2)
    assert scenario_hours(sc).tolist() == [0.0, 24.0, 48.0]
    assert scenario_hours(shock_scenario(book.assets, book.today, {"BTC": -0.1})) is None


# --------------------------------------------------------------------------- file formats
ALL_FIELDS = {
    "format": "crashlab.portfolio/1", "name": "venues",
    "prices": {"BTC": 85000.0, "USDE": 1.0, "USDC": 1.0, "WETH": 3000.0},
    "accounts": [{"id": "uni", "wallet_balance": 500.0, "venue": "binance",
                  "collateral": [{"asset": "USDE", "quantity": 10000.0, "collateral_ratio": 0.9},
                                 {"asset": "BTC", "quantity": 0.1}]}],
    "positions": [
        {"id": "inv", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 1000.0,
         "entry_price": 85000.0, "leverage": 10.0, "margin_mode": "isolated", "venue": "binance",
         "contract": "inverse", "contract_size": 100.0, "funding_rate": 0.0001,
         "funding_interval_hours": 8.0},
        {"id": "x", "kind": "perp", "asset": "BTC", "side": "short", "quantity": 0.5,
         "entry_price": 85000.0, "margin_mode": "cross", "account": "uni", "venue": "binance",
         "funding_rate": -0.0002},
        {"id": "ln", "kind": "loan",
         "collateral": [{"asset": "WETH", "quantity": 10.0, "liquidation_threshold": 0.83,
                         "supply_apy": 0.02}],
         "debt": [{"asset": "USDC", "quantity": 12000.0, "borrow_apy": 0.05}],
         "close_factor": 0.5, "liquidation_bonus": 0.05}]}


def test_every_new_field_round_trips_through_the_portfolio_file():
    p = portfolio_from_dict(ALL_FIELDS)
    assert portfolio_to_dict(p) == ALL_FIELDS
    compile_book(p)


def test_every_new_field_round_trips_through_the_holdings_csv(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text(
        "id,kind,asset,side,quantity,entry_price,leverage,margin_mode,account,venue,price,"
        "collateral,debt,wallet_balance,contract_type,contract_size,funding_rate,funding_interval_hours\n"
        "uni,account,,,,,,,,binance,,USDE:10000:0.9|BTC:0.1,,500,,,,\n"
        "inv,perp,BTC,long,1000,85000,10,isolated,,binance,85000,,,,inverse,100,0.0001,8\n"
        "x,perp,BTC,short,0.5,85000,,cross,uni,binance,,,,,,,-0.0002,\n"
        "ln,loan,,,,,,,,,,WETH 10 @LT0.83 @supply2%,USDC 12000 @borrow5%,,,,,\n"
        "usde,spot,USDE,,1,,,,,,1,,,,,,,\n"
        "usdc,spot,USDC,,1,,,,,,1,,,,,,,\n"
        "weth,spot,WETH,,1,,,,,,3000,,,,,,,\n")
    got = portfolio_to_dict(import_holdings_csv(f))
    assert got["accounts"] == ALL_FIELDS["accounts"]
    for want in ALL_FIELDS["positions"]:
        assert next(x for x in got["positions"] if x["id"] == want["id"]) == want


def test_every_new_field_round_trips_through_the_editor_document():
    from ui.document import Document, column
    doc = Document(json.loads(json.dumps(ALL_FIELDS)))
    v = doc.validate()
    assert not v.cells and not v.accounts and len(v.portfolio.positions) == 3
    assert doc.to_dict() == ALL_FIELDS
    for key in ("contract", "contract_size", "funding_rate", "funding_interval_hours"):
        assert column(key).kinds == ("perp",)
    # typed text, as the editor stores it
    doc.set_field(0, "contract", Document.normalize("contract", "Inverse"))
    doc.set_field(1, "funding_rate", Document.normalize("funding_rate", "0.01%"))
    doc.set_field(2, "debt", Document.normalize("debt", "USDC 12000 @borrow5%",
                                                 doc.get_field(2, "debt")))
    out = doc.to_dict()
    assert out["positions"][1]["funding_rate"] == pytest.approx(0.0001)
    assert out["positions"][2]["debt"] == [{"asset": "USDC", "quantity": 12000.0, "borrow_apy": 0.05}]


@pytest.mark.parametrize("change, field, words", [
    (lambda r: r["accounts"][0]["collateral"][0].update(collateral_ratio=-0.1),
     "collateral[0].collateral_ratio", "must not be negative"),
    (lambda r: r["accounts"][0]["collateral"][0].update(collateral_ratio=1.2),
     "collateral[0].collateral_ratio", "at most 1"),
    (lambda r: r["accounts"][0]["collateral"].append({"asset": "XYZ", "quantity": 5}),
     "collateral[2].asset", "no current price"),
    (lambda r: (r["prices"].update(XYZ=2.0), r["accounts"][0]["collateral"].append(
        {"asset": "XYZ", "quantity": 5})), "collateral[2].collateral_ratio",
     "binance' publishes none for XYZ"),
    (lambda r: r["accounts"][0].update(wallet_asset="USDE"), "wallet_asset", "not supported"),
    (lambda r: r["positions"][1].update(contract_size=100), "contract_size", "coin-margined"),
    (lambda r: r["positions"][0].update(venue="hyperliquid"), "contract", "binance (COIN-M)"),
    (lambda r: r["positions"][0].update(contract="quanto"), "contract", "linear, inverse"),
    (lambda r: r["positions"][0].update(funding_rate=0.5), "funding_rate", "per funding interval"),
    (lambda r: r["positions"][0].update(funding_interval_hours=0), "funding_interval_hours",
     "greater than 0"),
    (lambda r: r["positions"][2]["debt"][0].update(borrow_apy=-0.01), "debt[0].borrow_apy",
     "must not be negative"),
    (lambda r: r["positions"][2]["debt"][0].update(supply_apy=0.01), "debt[0].supply_apy",
     "does not apply to a debt leg"),
])
def test_bad_values_get_clear_errors(change, field, words):
    raw = json.loads(json.dumps(ALL_FIELDS))
    change(raw)
    with pytest.raises(InputError) as info:
        compile_book(portfolio_from_dict(raw))
    assert info.value.field == field
    assert words in str(info.value)


def test_editor_marks_a_bad_collateral_cell_and_drops_its_account():
    from ui.document import Document
    raw = json.loads(json.dumps(ALL_FIELDS))
    raw["prices"]["XYZ"] = 2.0
    raw["accounts"][0]["collateral"].append({"asset": "XYZ", "quantity": 5})
    doc = Document(raw)
    v = doc.validate()
    assert "publishes none for XYZ" in v.accounts[(0, "collateral")].message
    assert "x" in v.excluded and "has an error (see Accounts)" in v.cells[(doc.rows[1].uid, "account")].message
    assert [x.id for x in v.portfolio.positions] == ["inv", "ln"]
    # the typed text is kept
    assert doc.to_dict()["accounts"][0]["collateral"][2] == {"asset": "XYZ", "quantity": 5}


def test_accounts_table_edits_collateral_with_undo(qtbot):
    """The editor's accounts table: a Collateral cell typed as text becomes legs (ratio kept
    as a field), shows back as text, is undoable, and a bad ratio marks that cell."""
    from ui.document import Document
    from ui.models import PortfolioDocument
    doc = PortfolioDocument()
    doc.load(Document(json.loads(json.dumps(ALL_FIELDS))), None)
    m = doc.accounts
    col = m.KEYS.index("collateral")
    assert m.data(m.index(0, col)) == "USDE 10000 @ratio0.9; BTC 0.1"
    assert m.setData(m.index(0, col), "USDE 8000 @ratio0.85; BTC 0.1")
    assert doc.doc.accounts[0]["collateral"][0] == {"asset": "USDE", "quantity": 8000.0,
                                                    "collateral_ratio": 0.85}
    assert doc.doc.to_dict()["accounts"][0]["collateral"][0]["quantity"] == 8000.0
    m.setData(m.index(0, col), "USDE 8000 @ratio1.5")
    assert "at most 1" in doc.validation.accounts[(0, "collateral")].message
    doc.undo.undo()
    doc.undo.undo()
    assert doc.doc.accounts[0]["collateral"] == ALL_FIELDS["accounts"][0]["collateral"]
    del doc
