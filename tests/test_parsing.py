"""engine.parsing: one grammar for numbers, symbols and loan legs, used by every reader."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from engine.errors import InputError
from engine.parsing import (DecimalConventionError, LegSyntaxError, file_uses_decimal_comma,
                            format_legs, normalize_symbol, number_or_text, parse_legs,
                            parse_number, parse_number_series, point_notation, split_multiplier)


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("text, value", [
    ("42", 42.0), (" 42 ", 42.0), ("-1.5", -1.5), ("1,234.5", 1234.5), ("1,234,567", 1234567.0),
    ("1_000", 1000.0), ("0.5%", 0.005), ("12 %", 0.12), ("1e3", 1000.0), (7, 7.0), (2.5, 2.5),
])
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text, value", [
    ("0,5", 0.5), ("1.234,5", 1234.5), ("-2,25", -2.25), ("2,5%", 0.025), ("1234.5", 1234.5),
    ("7", 7.0), ("60.000", 60000.0), ("1.234.567", 1234567.0),
])
def test_parse_number_decimal_comma(text, value):
    assert parse_number(text, decimal_comma=True) == value


@pytest.mark.parametrize("text", ["", "abc", "0,5", "1,2,3", "12k", None, True, [1]])
def test_parse_number_rejects(text):
    """Without the decimal comma a lone comma is no thousands separator: '0,5' is not 5."""
    with pytest.raises(ValueError):
        parse_number(text)


def test_parse_number_keeps_nan_and_inf_for_the_caller():
    assert math.isnan(parse_number("nan")) and math.isinf(parse_number("-inf"))
    assert number_or_text("nan") == "nan" and number_or_text("inf") == "inf"
    assert number_or_text(" 1,000 ") == 1000.0 and number_or_text("ten") == "ten"
    # the editor reads a cell that can only be a decimal comma with it
    assert number_or_text("0,5") == 0.5 and number_or_text("1.234,5") == 1234.5
    assert number_or_text("2,5%") == 0.025 and number_or_text("1,2,3") == "1,2,3"
    assert number_or_text("  ") is None and number_or_text(3) == 3


def test_point_notation_rewrites_each_number_of_a_cell():
    assert point_notation("ETH:12,5:0,83") == "ETH:12.5:0.83"
    assert point_notation("1.000,25") == "1000.25" and point_notation("abc") == "abc"


@pytest.mark.parametrize("cells, delimiter, comma", [
    (["0,5", "2"], ",", True),                 # '0,5' quoted in a comma file: unambiguous
    (["0,5", "3"], "\t", True),
    (["60.000", "0,5"], ";", True),            # the comma decides: 60.000 is 60000
    (["60.000", "0.25"], ";", False),          # the point decides: 60.000 is 60
    (["1,234"], ",", False),                   # ',' files default to the point
    (["ETH:12,5:0,83", "2"], ",", True),       # numbers inside loan legs count
    (["1.234,5"], ";", True), (["1,234.5"], "\t", False), (["1.234.567"], ";", True),
    (["BTC", "2024-01-01", "12"], ";", False),  # no number with a separator
])
def test_file_uses_decimal_comma(cells, delimiter, comma):
    assert file_uses_decimal_comma(cells, delimiter) is comma


@pytest.mark.parametrize("cells, delimiter, match", [
    (["60.000", "61.500"], ";", "'60.000' is ambiguous in a ';'-separated file"),
    (["1,234"], "\t", "ambiguous in a tab-separated file"),
    (["0,5", "0.25"], ",", "mixes the decimal comma"),
])
def test_file_uses_decimal_comma_refuses_to_guess(cells, delimiter, match):
    with pytest.raises(DecimalConventionError, match=match):
        file_uses_decimal_comma(cells, delimiter)


def test_parse_number_series_shares_the_scalar_rules():
    s = pd.Series(["1", "1,234.5", "", "null", "n/a", "abc", "NaN", "0,5"])
    v, missing = parse_number_series(s)
    assert list(v[:2]) == [1.0, 1234.5]
    assert list(missing) == [False, False, True, True, True, False, False, False]
    assert all(math.isnan(x) for x in v[2:])          # '0,5' is not 5 in a ',' file
    v, missing = parse_number_series(pd.Series(["0,5", "1.234,5", "2", "60.000"]),
                                     decimal_comma=True)
    assert list(v) == [0.5, 1234.5, 2.0, 60000.0] and not missing.any()
    v, _ = parse_number_series(pd.Series(["5%"]))      # no percent in price columns
    assert math.isnan(v[0])


def test_portfolio_numbers_use_the_shared_parser():
    from engine.portfolio import _number
    assert _number("1,500.5", field="x", position=None) == 1500.5
    assert _number("0.5%", field="x", position=None) == 0.005
    with pytest.raises(InputError, match="must be a number"):
        _number("0,5", field="x", position=None)
    with pytest.raises(InputError, match="finite"):
        _number("inf", field="x", position=None)


# --------------------------------------------------------------------------- symbols
@pytest.mark.parametrize("raw, sym", [
    ("BTC", "BTC"), ("btcusdt", "BTC"), ("BTC-USDT", "BTC"), ("BTC/USD", "BTC"),
    ("BTCEUR", "BTC"), ("BTC_USDC", "BTC"), ("BTCUSDT-PERP", "BTC"), ("ETH-PERP", "ETH"),
    ("bitcoin", "BTC"), ("USDT", "USDT"), ("BUSD", "BUSD"), ("WBTC", "WBTC"), ("1000PEPE", "1000PEPE"),
    ("BTC/USDT:USDT", "BTC"), ("ETH/USDT:USDT-240628", "ETH"), ("BTC-USDT-SWAP", "BTC"),
    ("ETH-USDT-240628", "ETH"), ("BTCUSDT_240628", "BTC"), ("BTCPERP", "BTC"),
    ("", None), ("my notes", None), (None, None),
])
def test_normalize_symbol(raw, sym):
    assert normalize_symbol(raw) == sym


@pytest.mark.parametrize("raw, asset, mult", [
    ("kBONK", "BONK", 1000.0), ("kPEPE", "PEPE", 1000.0), ("1000PEPEUSDT", "PEPE", 1000.0),
    ("1000PEPE/USDT:USDT", "PEPE", 1000.0), ("1MBABYDOGEUSDT", "BABYDOGE", 1e6),
    ("SHIB1000USDT", "SHIB", 1000.0), ("KAVA", "KAVA", 1.0), ("1INCH", "1INCH", 1.0),
    ("BTCUSDT", "BTC", 1.0), ("", None, 1.0),
])
def test_split_multiplier(raw, asset, mult):
    assert split_multiplier(raw) == (asset, mult)


def test_holdings_csv_reads_btceur_as_btc(tmp_path):
    """One symbol rule: BTCEUR is BTC in a holdings CSV as in a price file."""
    from engine.portfolio import load_portfolio
    from engine.prices import normalize_symbol as price_symbol
    f = tmp_path / "h.csv"
    f.write_text("id,asset,quantity,price\na,BTCEUR,1,85000\nb,ETH-PERP,2,2950\n"
                 "c,bitcoin,1,85000\n")
    p = load_portfolio(f)
    assert [x.asset for x in p.positions] == ["BTC", "ETH", "BTC"]
    assert p.prices == {"BTC": 85000, "ETH": 2950}
    assert price_symbol("BTCEUR") == "BTC"


def test_holdings_csv_scales_1000x_contracts(tmp_path):
    """kPEPE: 1 contract unit = 1000 PEPE; quantity up, prices down, value unchanged."""
    from engine.portfolio import load_portfolio
    f = tmp_path / "h.csv"
    f.write_text("id,asset,side,quantity,entry_price,leverage,price\n"
                 "p,kPEPE,long,2000,0.012,5,0.011\n")
    pos = load_portfolio(f).positions[0]
    assert pos.asset == "PEPE" and pos.quantity == pytest.approx(2e6)
    assert pos.entry_price == pytest.approx(1.2e-5)
    assert pos.quantity * pos.entry_price == pytest.approx(2000 * 0.012)
    assert load_portfolio(f).prices["PEPE"] == pytest.approx(1.1e-5)


def test_holdings_csv_decimal_convention(tmp_path):
    """0,5 in a tab or comma file is 0.5; 60.000 in a ';' file is 60000 when the file shows
    the comma, and an error naming the cell when nothing shows it."""
    from engine.portfolio import load_portfolio
    f = tmp_path / "t.tsv"
    f.write_text("asset\tquantity\nBTC\t0,5\nETH\t2,25\n")
    assert [p.quantity for p in load_portfolio(f).positions] == [0.5, 2.25]
    f = tmp_path / "c.csv"
    f.write_text('asset,quantity\nBTC,"0,5"\n')
    assert load_portfolio(f).positions[0].quantity == 0.5
    f = tmp_path / "s.csv"
    f.write_text("asset;quantity;price\nBTC;0,5;60.000\n")
    p = load_portfolio(f)
    assert p.positions[0].quantity == 0.5 and p.prices["BTC"] == 60000
    f.write_text("asset;quantity;price\nBTC;1;60.000\n")
    with pytest.raises(InputError, match="'60.000' is ambiguous") as info:
        load_portfolio(f)
    assert "s.csv" in str(info.value)


def test_holdings_csv_currency_is_no_asset_column(tmp_path):
    """A tracker's Currency column (the quote) never becomes the asset."""
    from engine.portfolio import load_portfolio
    f = tmp_path / "h.csv"
    f.write_text("Currency,Symbol,Quantity,Price\nUSD,BTC,0.5,85000\nUSD,ETH,2,2950\n")
    assert [p.asset for p in load_portfolio(f).positions] == ["BTC", "ETH"]


def test_holdings_csv_collateral_is_a_loan_only_as_asset_quantity(tmp_path):
    from engine.portfolio import load_portfolio
    f = tmp_path / "h.csv"
    f.write_text("asset,side,quantity,entry_price,leverage,collateral\nBTC,long,1,60000,10,5300\n")
    with pytest.raises(InputError, match="not a loan leg") as info:
        load_portfolio(f)
    assert info.value.field == "collateral" and info.value.value == "5300"
    f.write_text("id,collateral,debt\nl,ETH:12:0.83,USDC:1000\n")
    assert load_portfolio(f).positions[0].kind == "loan"


def test_calibration_aliases_build_on_the_symbol_rule():
    from engine.scenarios import canonical_asset
    assert canonical_asset("WBTC") == "BTC" and canonical_asset("wsteth") == "ETH"
    assert canonical_asset("BTCEUR") == "BTC" and canonical_asset("SOL") == "SOL"


# --------------------------------------------------------------------------- loan legs
@pytest.mark.parametrize("text, legs", [
    ("ETH 12 @LT0.83; WBTC 0.5", [{"asset": "ETH", "quantity": 12.0, "liquidation_threshold": 0.83},
                                  {"asset": "WBTC", "quantity": 0.5}]),
    ("ETH:12:0.83:5%|USDC:1,000",
     [{"asset": "ETH", "quantity": 12.0, "liquidation_threshold": 0.83, "liquidation_bonus": 0.05},
      {"asset": "USDC", "quantity": 1000.0}]),
    ("ethusdt 2 lt=0.8 bonus: 0.1", [{"asset": "ETH", "quantity": 2.0, "liquidation_threshold": 0.8,
                                      "liquidation_bonus": 0.1}]),
    ("ETH 12 0.83 0.05", [{"asset": "ETH", "quantity": 12.0, "liquidation_threshold": 0.83,
                           "liquidation_bonus": 0.05}]),
    ("ETH", [{"asset": "ETH"}]), ("", []),
])
def test_parse_legs(text, legs):
    assert parse_legs(text) == legs


def test_parse_legs_rejects_what_is_not_a_leg():
    with pytest.raises(LegSyntaxError) as info:
        parse_legs("ETH 12; BTC 1 foo")
    assert info.value.item == "BTC 1 foo"
    with pytest.raises(LegSyntaxError):
        parse_legs("A:1:2:3:4")


@pytest.mark.parametrize("text", ["ETH 12 @LT0.83; WBTC 0.5", "ETH 12 @LT0.83 @bonus0.05",
                                  "USDC 18000"])
def test_legs_round_trip(text):
    legs = parse_legs(text)
    assert format_legs(legs) == text
    assert parse_legs(format_legs(legs)) == legs
    assert parse_legs(format_legs(parse_legs("ETH:12:0.83|USDC:100"))) == parse_legs(
        "ETH:12:0.83|USDC:100")


def test_holdings_csv_and_editor_read_legs_alike(tmp_path):
    from engine.holdings_csv import read_holdings_csv
    from ui.document import parse_legs as editor_parse_legs
    f = tmp_path / "h.csv"
    f.write_text("id,kind,collateral,debt\nl,loan,ETH:12:0.83|WBTC:0.5,USDC 1000\n")
    raw = read_holdings_csv(f)["positions"][0]
    assert raw["collateral"] == editor_parse_legs("ETH 12 @LT0.83; WBTC 0.5")
    assert raw["debt"] == editor_parse_legs("USDC:1000") == [{"asset": "USDC", "quantity": 1000.0}]


def test_price_files_share_the_decimal_convention(tmp_path):
    """The price reader decides like the holdings reader: 60.000 in a ';' file is 60000 when
    a cell shows the decimal comma, an error naming the cell when nothing shows it."""
    from engine.prices import load_price_history
    f = tmp_path / "btc.csv"
    f.write_text("date;close\n2024-01-01;60.000\n2024-01-02;61.250,5\n")
    assert list(load_price_history([str(f)]).close[:, 0]) == [60000.0, 61250.5]
    f.write_text("date;close\n2024-01-01;60.000\n2024-01-02;61.250\n")
    with pytest.raises(InputError, match="'60.000' is ambiguous") as info:
        load_price_history([str(f)])
    assert "btc.csv" in str(info.value)
    f.write_text("date\tclose\n2024-01-01\t0,5\n")
    assert load_price_history([str(f)]).close[0, 0] == 0.5


def test_price_files_of_1000x_contracts_are_in_asset_units(tmp_path):
    """1000PEPEUSDT bars are PEPE at a thousandth of the price: the unit of an imported
    1000PEPE position (quantity x 1000), so the replay prices the book consistently."""
    from engine.prices import load_price_history
    f = tmp_path / "1000PEPEUSDT-1d.csv"
    f.write_text("date,open,high,low,close\n2024-01-01,0.012,0.013,0.011,0.0125\n")
    ph = load_price_history([str(f)])
    assert ph.assets == ("PEPE",) and ph.close[0, 0] == pytest.approx(1.25e-5)
    assert ph.low[0, 0] == pytest.approx(1.1e-5)
