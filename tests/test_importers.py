"""engine.importers: the files users have, each in its venue's real shape, read by content.

The fixtures in tests/data/import/ are small files written from each source's public API
docs or SDK schema (named per test); their liquidation prices are the venue's own where a
published example has one (Binance B5 and Bybit Y1/Y2 of LIQUIDATION.md, Hyperliquid H1-H3
as the exchange reported them), else computed with the venue's published formula.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.book import compile_book
from engine.errors import InputError
from engine.importers import import_file, merge_books, sniff_file
from engine.portfolio import (Loan, Perp, Spot, load_portfolio, portfolio_from_dict,
                              save_portfolio)
from engine.stress import liquidation_prices
from engine.venue_check import VENUE_TOLERANCE, venue_issues

DATA = Path(__file__).parent / "data" / "import"


def _book(name: str):
    p = load_portfolio(DATA / name)
    return p, {r["id"]: r for r in liquidation_prices(p, compile_book(p))}


def _assert_close_to_venue(rows: dict, ids: list[str]) -> None:
    """Our liquidation price within 1 % of the venue's for every listed position."""
    for pid in ids:
        r = rows[pid]
        assert r["venue_liquidation_price"] is not None, pid
        assert r["liquidation_price"] == pytest.approx(r["venue_liquidation_price"],
                                                       rel=VENUE_TOLERANCE), pid
    assert not venue_issues([rows[pid] for pid in ids])


# --------------------------------------------------------------------------- Hyperliquid
def test_hyperliquid_clearinghouse_state():
    """Source: Hyperliquid API docs, info endpoint type "clearinghouseState" (shape);
    H1-H3 are positions whose liquidationPx the exchange reported (freqtrade
    tests/exchange/test_hyperliquid.py, LIQUIDATION.md §4); kPEPE cross by the documented
    formula with accountValue 1000."""
    p, rows = _book("hyperliquid_clearinghouse_state.json")
    assert [x.id for x in p.positions] == ["hl-BTC", "hl-ETH", "hl-SOL", "hl-PEPE"]  # DOGE szi 0
    btc, eth, sol, pepe = p.positions
    assert (btc.side, btc.quantity, btc.margin_mode) == ("long", 0.00077, "isolated")
    assert btc.isolated_margin == pytest.approx(24.137992)         # rawUsd + szi * entryPx
    assert (eth.side, eth.quantity) == ("short", 0.019)
    assert eth.isolated_margin == pytest.approx(25.091876)
    assert btc.maintenance_margin_rate == pytest.approx(0.01)      # file's maxLeverage 50
    assert sol.maintenance_margin_rate is None                     # 20x: the bundled table
    # kPEPE: 200,000 contract units of 1000 PEPE, prices scaled down
    assert (pepe.asset, pepe.side, pepe.margin_mode, pepe.account) == ("PEPE", "long", "cross",
                                                                         "hyperliquid")
    assert pepe.quantity == pytest.approx(2e8) and pepe.entry_price == pytest.approx(1.25e-5)
    assert p.account("hyperliquid").wallet_balance == pytest.approx(1100.0)  # 1000 - (-100)
    assert p.prices == pytest.approx({"BTC": 63000.0, "ETH": 2600.0, "SOL": 170.0,
                                      "PEPE": 1.2e-5})
    assert all(x.extra["source"] == "hyperliquid_clearinghouse_state.json" for x in p.positions)
    _assert_close_to_venue(rows, ["hl-BTC", "hl-ETH", "hl-SOL", "hl-PEPE"])


def test_hyperliquid_spot_clearinghouse_state():
    """Source: Hyperliquid API docs, info endpoint type "spotClearinghouseState"."""
    imp = import_file(DATA / "hyperliquid_spot_clearinghouse_state.json")
    pos = {x["id"]: x for x in imp.raw["positions"]}
    assert set(pos) == {"hl-spot-USDC", "hl-spot-HYPE"}                    # PURR total 0
    assert pos["hl-spot-HYPE"]["quantity"] == 12.5
    assert pos["hl-spot-HYPE"]["cost_basis"] == pytest.approx(310 / 12.5)   # entryNtl / total
    assert imp.raw["prices"] == {"USDC": 1.0}                               # no spot marks
    with pytest.raises(InputError, match="no current price: add prices.HYPE"):
        compile_book(load_portfolio(DATA / "hyperliquid_spot_clearinghouse_state.json"))


# --------------------------------------------------------------------------- Binance
def test_binance_position_risk_isolated_hedge_mode():
    """Source: Binance USDⓈ-M Futures API docs, GET /fapi/v2/positionRisk (shape);
    liquidationPrice by Binance's published formula with the bundled tiers (LIQUIDATION.md
    vectors 1, 2, 9, 10)."""
    p, rows = _book("binance_position_risk.json")
    assert [x.id for x in p.positions] == ["binance-BTC-long", "binance-BTC-short",
                                           "binance-ETH-short", "binance-SOL-long"]  # XRP 0
    sides = [(x.side, x.quantity, x.margin_mode, x.isolated_margin, x.venue) for x in p.positions]
    assert sides == [("long", 0.1, "isolated", 600.0, "binance"),
                     ("short", 0.1, "isolated", 600.0, "binance"),
                     ("short", 10.0, "isolated", 1500.0, "binance"),
                     ("long", 500.0, "isolated", 15000.0, "binance")]
    assert p.prices == {"BTC": 61000.0, "ETH": 3010.0, "SOL": 148.0}
    _assert_close_to_venue(rows, list(rows))


def test_binance_position_risk_cross_needs_the_wallet():
    with pytest.raises(InputError) as info:
        load_portfolio(DATA / "binance_position_risk_cross.json")
    e = info.value
    assert e.field == "wallet_balance" and e.position == "binance-usdm"
    assert "Transaction History" in str(e)
    imp = import_file(DATA / "binance_position_risk_cross.json")       # an editor opens it
    assert imp.raw["accounts"][0]["wallet_balance"] is None and len(imp.needs) == 1


def test_binance_transaction_history_balances():
    """Source: Binance "Transaction History" export (User_ID,UTC_Time,Account,Operation,
    Coin,Change,Remark)."""
    imp = import_file(DATA / "binance_transaction_history.csv")
    pos = {x["id"]: x["quantity"] for x in imp.raw["positions"]}
    assert pos == pytest.approx({"binance-spot-USDT": 450000.0, "binance-spot-BTC": 0.9985,
                                 "binance-funding-ETH": 3.0, "binance-earn-USDT": 5001.25,
                                 "binance-coin-futures-BTC": 0.5,
                                 "binance-usdt-futures-BNB": 2.0})
    (acc,) = imp.raw["accounts"]
    assert acc["id"] == "binance-usdm" and acc["wallet_balance"] == pytest.approx(1535443.01)
    assert all(x["kind"] == "spot" for x in imp.raw["positions"])       # one row per balance


def test_binance_position_risk_and_history_make_one_book(tmp_path, capsys):
    """Binance's own cross example (B5: WB 1,535,443.01; ETH LP 1,153.26, BTC 26,316.89 as
    Binance published them): the history gives the wallet, positionRisk the positions. The
    bundled tier snapshot is not the one of that example, so both differ by more than 1 %:
    a warning naming both numbers."""
    import cli
    out = tmp_path / "book.json"
    assert cli.main(["convert", str(DATA / "binance_position_risk_cross.json"),
                     str(DATA / "binance_transaction_history.csv"), "-o", str(out)]) == 0
    raw = json.loads(out.read_text())
    (acc,) = raw["accounts"]
    assert acc["wallet_balance"] == pytest.approx(1535443.01)
    cross = [x for x in raw["positions"] if x["kind"] == "perp"]
    assert {x["account"] for x in cross} == {"binance-usdm"}
    assert {x["source"] for x in raw["positions"]} == {"binance_position_risk_cross.json",
                                                        "binance_transaction_history.csv"}
    capsys.readouterr()
    raw["prices"]["BNB"] = 600.0                     # the history has no prices
    out.write_text(json.dumps(raw))
    assert cli.main(["liquidation", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    rows = {r["id"]: r for r in rep["positions"]}
    eth = rows["binance-ETH"]
    assert eth["venue_liquidation_price"] == 1153.26
    assert rows["binance-spot-BTC"]["venue_liquidation_price"] is None
    assert eth["liquidation_price"] < 1153.26 * 0.99
    warning = next(w for w in rep["warnings"] if "binance-ETH" in w)
    assert f"{eth['liquidation_price']:,.6g}" in warning and "1,153.26" in warning
    assert "tier table" in warning


@pytest.mark.parametrize("rows, match", [
    ("1,2022-01-01,Spot,Withdraw,BTC,-1,\n", "sum to -1: the export does not start"),
    ("1,2022-01-01,Cross Margin,Margin Loan,USDT,500,\n", "borrowed and not repaid"),
])
def test_binance_transaction_history_refuses_wrong_balances(tmp_path, rows, match):
    f = tmp_path / "history.csv"
    f.write_text("User_ID,UTC_Time,Account,Operation,Coin,Change,Remark\n" + rows)
    with pytest.raises(InputError, match=match):
        import_file(f)


# --------------------------------------------------------------------------- Bybit
def test_bybit_v5_position_list():
    """Source: Bybit API v5 docs, GET /v5/position/list (shape); Y1/Y2 are Bybit's own
    worked examples (LIQUIDATION.md §2), ETH by its published isolated formula."""
    p, rows = _book("bybit_position_list.json")
    assert [x.id for x in p.positions] == ["bybit-BTC-long", "bybit-BTC-short", "bybit-ETH"]
    assert [(x.side, x.quantity, x.isolated_margin) for x in p.positions] == [
        ("long", 1.0, 400.0), ("short", 1.0, 3400.0), ("long", 10.0, 3000.0)]
    eth = p.positions[2]
    assert eth.maintenance_margin_rate == pytest.approx(0.005)    # positionMM / positionValue
    assert p.positions[0].maintenance_margin_rate is None         # BTC: the risk-limit table
    assert p.prices == {"BTC": 20100.0, "ETH": 2990.0}
    _assert_close_to_venue(rows, list(rows))


def test_bybit_cross_and_inverse(tmp_path):
    obj = json.loads((DATA / "bybit_position_list.json").read_text())
    obj["result"]["list"][2]["tradeMode"] = 0
    f = tmp_path / "bybit.json"
    f.write_text(json.dumps(obj))
    imp = import_file(f)
    eth = imp.raw["positions"][2]
    assert (eth["margin_mode"], eth["account"]) == ("cross", "bybit")
    assert "wallet-balance" in str(imp.needs[0]) and imp.needs[0].position == "bybit"
    obj["result"]["category"] = "inverse"
    f.write_text(json.dumps(obj))
    with pytest.raises(InputError, match="must be linear"):
        import_file(f)


# --------------------------------------------------------------------------- OKX
def test_okx_account_positions():
    """Source: OKX API v5 docs, GET /api/v5/account/positions (shape); liqPx by OKX's
    isolated formula with its taker fee (LIQUIDATION.md O1, O2, vector 18)."""
    p, rows = _book("okx_account_positions.json")
    assert [x.id for x in p.positions] == ["okx-BTC-long", "okx-BTC-short", "okx-ETH-short",
                                           "okx-PEPE-long"]
    q = [(x.side, x.quantity, x.isolated_margin, x.margin_mode) for x in p.positions]
    assert q == [("long", 0.1, 600.0, "isolated"), ("short", 0.1, 600.0, "isolated"),
                 ("short", 5.0, 750.0, "isolated"), ("long", pytest.approx(3e7), 36.0, "isolated")]
    assert p.positions[0].maintenance_margin_rate == pytest.approx(0.004)   # mmr / notionalUsd
    assert p.prices == {"BTC": 60100.0, "ETH": 3010.0, "PEPE": 1.2e-5}
    _assert_close_to_venue(rows, list(rows))


def test_okx_refuses_inverse_contracts(tmp_path):
    obj = json.loads((DATA / "okx_account_positions.json").read_text())
    obj["data"][0]["instId"] = "BTC-USD-SWAP"
    f = tmp_path / "okx.json"
    f.write_text(json.dumps(obj))
    with pytest.raises(InputError, match="not a USDT/USDC-margined contract") as info:
        import_file(f)
    assert info.value.field == "data[0].instId" and info.value.value == "BTC-USD-SWAP"


# --------------------------------------------------------------------------- ccxt
@pytest.mark.parametrize("name", ["ccxt_positions.json", "ccxt_positions.csv"])
def test_ccxt_unified_positions(name):
    """Source: ccxt Manual, "Position structure" (fetch_positions); as JSON and as the CSV
    pandas writes. 'collateral' is a margin figure here, never a loan."""
    p, rows = _book(name)
    assert [x.id for x in p.positions] == ["binance-BTC", "okx-ETH", "ccxt-SOL", "binance-PEPE"]
    assert all(isinstance(x, Perp) for x in p.positions)
    btc, eth, sol, pepe = p.positions
    assert (btc.venue, btc.side, btc.quantity, btc.isolated_margin) == ("binance", "long", 0.1, 600.0)
    assert (eth.venue, eth.side, eth.quantity, eth.isolated_margin) == ("okx", "short", 5.0, 750.0)
    assert (sol.venue, sol.maintenance_margin_rate, sol.isolated_margin) == (None, 0.005, 1500.0)
    assert pepe.asset == "PEPE" and pepe.quantity == pytest.approx(1e8)
    _assert_close_to_venue(rows, list(rows))


def test_ccxt_refuses_inverse(tmp_path):
    rows = json.loads((DATA / "ccxt_positions.json").read_text())
    rows[0]["symbol"] = "BTC/USD:BTC"
    f = tmp_path / "pos.json"
    f.write_text(json.dumps(rows))
    with pytest.raises(InputError, match="inverse"):
        import_file(f)


# --------------------------------------------------------------------------- rotki
def test_rotki_balance_snapshot():
    """Source: rotki rotkehlchen/db/snapshots.py and DBAssetBalance.serialize (the
    balances_snapshot.csv columns)."""
    imp = import_file(DATA / "rotki_balances_snapshot.csv")
    pos = {x["asset"]: x["quantity"] for x in imp.raw["positions"]}
    assert pos == {"ETH": 2.5, "BTC": 0.1, "USDC": 1500.0, "WSTETH": 1.2}    # NFT left out
    assert imp.raw["prices"] == pytest.approx({"ETH": 3000.0, "BTC": 60000.0, "USDC": 1.0,
                                               "WSTETH": 3500.0})
    assert any("NFT" in str(n) for n in imp.notes)
    assert all(isinstance(x, Spot) for x in load_portfolio(DATA / "rotki_balances_snapshot.csv")
               .positions)


def test_rotki_liabilities_become_a_loan_to_complete():
    with pytest.raises(InputError, match="liabilities \\(DAI 12000\\)") as info:
        load_portfolio(DATA / "rotki_balances_snapshot_liabilities.csv")
    assert info.value.field == "collateral"
    raw = import_file(DATA / "rotki_balances_snapshot_liabilities.csv").raw
    loan = raw["positions"][-1]
    assert loan["kind"] == "loan" and loan["collateral"] == []
    assert loan["debt"] == [{"asset": "DAI", "quantity": 12000.0}]


# --------------------------------------------------------------------------- Aave
def test_aave_v3_subgraph_user_reserves():
    """Source: aave/protocol-subgraphs schemas/v3.schema.graphql (UserReserve, Reserve,
    PriceOracleAsset); LIQUIDATION.md vector 24: 10 WETH, LT 0.83, 15,000 USDC -> 1,807.23."""
    p, rows = _book("aave_v3_user_reserves.json")
    loan = next(x for x in p.positions if isinstance(x, Loan))
    (weth,), (usdc,) = loan.collateral, loan.debt
    assert (weth.asset, weth.quantity, weth.liquidation_threshold) == ("WETH", 10.0, 0.83)
    assert weth.liquidation_bonus == pytest.approx(0.05)               # 10500 bps
    assert (usdc.asset, usdc.quantity) == ("USDC", 15000.0)            # raw / 10**6
    assert loan.preset == "aave-v3"
    wbtc = next(x for x in p.positions if isinstance(x, Spot))          # not collateral
    assert (wbtc.asset, wbtc.quantity) == ("WBTC", 0.5)
    assert p.prices == {"WETH": 3000.0, "USDC": 1.0, "WBTC": 60000.0}
    r = rows[loan.id]
    assert r["health_factor"] == pytest.approx(1.66)
    assert r["liquidation_price"] == pytest.approx(1807.23, abs=0.01)
    assert r["venue_liquidation_price"] is None


# --------------------------------------------------------------------------- by content
@pytest.mark.parametrize("name, content, match", [
    ("x.json", '{"foo": 1, "bar": [2]}', "JSON object with the keys foo, bar"),
    ("x.json", "[]", "empty JSON list"),
    ("x.json", '{"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}',
     "error answer of an API \\(code -2015: Invalid API-key"),
    ("x.csv", "a,b\n1,2\n", "CSV with the columns a, b: not a portfolio file"),
    ("prices.csv", "date,open,high,low,close\n2024-01-01,1,2,0.5,1.5\n", "is a price history"),
])
def test_unknown_shapes_say_what_they_look_like(tmp_path, name, content, match):
    f = tmp_path / name
    f.write_text(content)
    with pytest.raises(InputError, match=match):
        load_portfolio(f)


def test_trade_lists_are_not_holdings():
    """A Ghostfolio activities CSV: its Currency column is no asset and its rows are trades."""
    with pytest.raises(InputError, match="list of trades or activities"):
        load_portfolio(DATA / "ghostfolio_activities.csv")


@pytest.mark.parametrize("name, edit, match", [
    ("hyperliquid_clearinghouse_state.json",
     lambda o: ([p["position"].update(szi="0.0") for p in o["assetPositions"]],
                o["crossMarginSummary"].update(accountValue="0.0")), "holds no open positions"),
    ("binance_position_risk.json", lambda o: [r.update(positionAmt="0") for r in o],
     "every positionAmt is 0"),
    ("bybit_position_list.json", lambda o: [r.update(size="0") for r in o["result"]["list"]],
     "every size is 0"),
])
def test_known_shape_with_nothing_to_import_is_an_error(tmp_path, name, edit, match):
    obj = json.loads((DATA / name).read_text())
    edit(obj)
    f = tmp_path / name
    f.write_text(json.dumps(obj))
    with pytest.raises(InputError, match=match):
        import_file(f)


def test_empty_own_portfolio_is_an_error_for_the_command_line(tmp_path):
    f = tmp_path / "empty.json"
    f.write_text('{"format": "crashlab.portfolio/1", "name": "x", "positions": []}')
    with pytest.raises(InputError, match="nothing to analyse"):
        load_portfolio(f)
    assert import_file(f).raw["positions"] == []        # the app opens a saved empty book


def test_sniff_file_tells_portfolios_from_price_histories(tmp_path):
    assert sniff_file(DATA / "okx_account_positions.json").portfolio
    assert sniff_file(DATA / "binance_transaction_history.csv").kind == "Binance Transaction History"
    prices = tmp_path / "btc.csv"
    prices.write_text("date,close\n2024-01-01,42000\n")
    assert not sniff_file(prices).portfolio
    assert sniff_file(tmp_path / "missing.csv") is None


# --------------------------------------------------------------------------- the model
def test_venue_price_and_source_survive_save(tmp_path):
    p = load_portfolio(DATA / "bybit_position_list.json")
    out = tmp_path / "saved.json"
    save_portfolio(p, out)
    raw = json.loads(out.read_text())
    assert raw["positions"][0]["venue_liquidation_price"] == 19700.0
    assert raw["positions"][0]["source"] == "bybit_position_list.json"
    again = load_portfolio(out)
    assert again.positions[0].extra == p.positions[0].extra


def test_venue_liquidation_price_must_be_a_positive_number():
    raw = {"prices": {"BTC": 1}, "positions": [{"id": "s", "kind": "spot", "asset": "BTC",
                                                "quantity": 1, "venue_liquidation_price": "abc"}]}
    with pytest.raises(InputError) as info:
        portfolio_from_dict(raw)
    assert info.value.field == "venue_liquidation_price" and info.value.value == "abc"


# --------------------------------------------------------------------------- merging
def test_merge_makes_ids_unique_and_keeps_accounts_apart(tmp_path):
    a = tmp_path / "hl-main.json"
    b = tmp_path / "hl-sub.json"
    shutil.copy(DATA / "hyperliquid_clearinghouse_state.json", a)
    obj = json.loads(a.read_text())
    obj["crossMarginSummary"]["accountValue"] = "5000.0"
    b.write_text(json.dumps(obj))
    merged = merge_books(None, [(a.name, import_file(a)), (b.name, import_file(b))], name="all")
    raw = merged.raw
    ids = [x["id"] for x in raw["positions"]]
    assert len(ids) == len(set(ids)) == 8 and "hl-BTC-2" in ids
    assert [(x["id"], x["wallet_balance"]) for x in raw["accounts"]] == [
        ("hyperliquid", 1100.0), ("hyperliquid-2", 5100.0)]
    sub_pepe = next(x for x in raw["positions"] if x["id"] == "hl-PEPE-2")
    assert sub_pepe["account"] == "hyperliquid-2" and sub_pepe["source"] == "hl-sub.json"
    assert any("kept apart" in str(n) for n in merged.notes)
    p = portfolio_from_dict(raw)
    compile_book(p)                                    # a valid book


def test_merge_replaces_a_file_imported_again_and_fills_prices():
    base = {"format": "crashlab.portfolio/1", "name": "mine", "prices": {"BTC": 60500.0},
            "accounts": [], "positions": [{"id": "cold", "kind": "spot", "asset": "BTC",
                                           "quantity": 1}]}
    imp = import_file(DATA / "bybit_position_list.json")
    once = merge_books(base, [("bybit_position_list.json", imp)]).raw
    twice = merge_books(once, [("bybit_position_list.json", imp)])
    assert [x["id"] for x in twice.raw["positions"]] == ["cold", "bybit-BTC-long",
                                                         "bybit-BTC-short", "bybit-ETH"]
    assert twice.raw["prices"] == {"BTC": 60500.0, "ETH": 2990.0}   # the book's BTC kept
    assert any("imported again" in str(n) for n in twice.notes)


def test_convert_command(tmp_path, capsys):
    import cli
    out = tmp_path / "out.json"
    args = ["convert", str(DATA / "hyperliquid_clearinghouse_state.json"),
            str(DATA / "aave_v3_user_reserves.json"), str(DATA / "okx_account_positions.json"),
            "-o", str(out)]
    assert cli.main(args) == 0
    p = load_portfolio(out)
    assert len(p.positions) == 4 + 2 + 4 and p.name == "out"
    assert {x.extra["source"] for x in p.positions} == {
        "hyperliquid_clearinghouse_state.json", "aave_v3_user_reserves.json",
        "okx_account_positions.json"}
    compile_book(p)
    assert cli.main(["convert", str(DATA / "okx_account_positions.json"),
                     str(DATA / "okx_account_positions.json"), "-o", str(out)]) == 2
    assert "given twice" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert cli.main(["convert", str(bad), "-o", str(tmp_path / "x.json")]) == 2
    assert not (tmp_path / "x.json").exists()


def test_liquidation_json_keeps_its_keys_and_adds_the_venue_price(capsys):
    import cli
    from engine.resources import resource_path
    assert cli.main(["liquidation", str(resource_path("demo_portfolio.json")), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["positions"]
    for r in rows:
        assert {"id", "kind", "asset", "liquidation_price", "price", "distance"} <= set(r)
        assert r["venue_liquidation_price"] is None
