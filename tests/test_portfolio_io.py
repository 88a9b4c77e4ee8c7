"""Portfolio JSON/CSV I/O and every bad-input class of PRODUCT.md."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import InputError, compile_book, load_portfolio, portfolio_from_dict, save_portfolio
from engine.atomic import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo_portfolio.json"

PRODUCT_EXAMPLE = {
    "format": "crashlab.portfolio/1",
    "name": "My book",
    "prices": {"BTC": 85000, "ETH": 2950, "SOL": 121, "USDC": 1},
    "accounts": [{"id": "exchange-cross", "wallet_balance": 8000}],
    "positions": [
        {"id": "cold-btc", "kind": "spot", "asset": "BTC", "quantity": 0.8, "cost_basis": 41000},
        {"id": "sol-10x", "kind": "perp", "asset": "SOL", "side": "long", "quantity": 250,
         "entry_price": 131.4, "leverage": 10, "margin_mode": "isolated",
         "maintenance_margin_rate": 0.005, "maintenance_amount": 0},
        {"id": "eth-hedge", "kind": "perp", "asset": "ETH", "side": "short", "quantity": 4,
         "entry_price": 3120, "margin_mode": "cross", "account": "exchange-cross", "venue": "binance"},
        {"id": "aave-eth", "kind": "loan",
         "collateral": [{"asset": "ETH", "quantity": 12, "liquidation_threshold": 0.83}],
         "debt": [{"asset": "USDC", "quantity": 18000}],
         "close_factor": 0.5, "liquidation_bonus": 0.05},
    ],
}


def test_product_example_loads_and_compiles():
    p = portfolio_from_dict(PRODUCT_EXAMPLE)
    book = compile_book(p)
    assert book.ids == ["cold-btc", "sol-10x", "eth-hedge", "aave-eth"]
    assert book.kinds == ["spot", "perp", "perp", "loan"]


def test_round_trip_keeps_unknown_keys(tmp_path):
    raw = json.loads(json.dumps(PRODUCT_EXAMPLE))
    raw["app_state"] = {"last_scenario": "x"}
    raw["positions"][0]["note"] = "hardware wallet"
    raw["positions"][3]["collateral"][0]["oracle"] = "chainlink"
    raw["accounts"][0]["exchange_uid"] = 42
    f = tmp_path / "book.json"
    save_portfolio(portfolio_from_dict(raw), f)
    back = json.loads(f.read_text())
    assert back["app_state"] == {"last_scenario": "x"}
    assert back["positions"][0]["note"] == "hardware wallet"
    assert back["positions"][3]["collateral"][0]["oracle"] == "chainlink"
    assert back["accounts"][0]["exchange_uid"] == 42
    assert back["format"] == "crashlab.portfolio/1"
    again = load_portfolio(f)
    assert [x.id for x in again.positions] == [x["id"] for x in raw["positions"]]
    assert again.positions[1].entry_price == 131.4


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    f = tmp_path / "book.json"
    f.write_text("old")

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_text_atomic(f, "new")
    assert f.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["book.json"]   # no temp file left


def test_demo_portfolio_is_valid():
    book = compile_book(load_portfolio(DEMO))
    assert book.n_positions >= 6 and not [w for w in book.warnings if "step 0" in str(w)]


# ------------------------------------------------------------------ bad input classes
def bad(mutate):
    raw = json.loads(json.dumps(PRODUCT_EXAMPLE))
    mutate(raw)
    return raw


@pytest.mark.parametrize("mutate,needles", [
    # negative or zero quantity
    (lambda r: r["positions"][0].update(quantity=-1), ["cold-btc", "quantity", "-1"]),
    (lambda r: r["positions"][1].update(quantity=0), ["sol-10x", "quantity", "0"]),
    # NaN / inf
    (lambda r: r["positions"][1].update(entry_price=float("nan")), ["sol-10x", "entry_price", "nan"]),
    (lambda r: r["positions"][0].update(quantity="inf"), ["cold-btc", "quantity", "inf"]),
    (lambda r: r["prices"].update(BTC=float("inf")), ["prices.BTC", "inf"]),
    # leverage out of range
    (lambda r: r["positions"][1].update(leverage=500), ["sol-10x", "leverage", "500"]),
    (lambda r: r["positions"][1].update(leverage=0.5), ["sol-10x", "leverage", "0.5"]),
    # unknown asset / missing price
    (lambda r: r["positions"][0].update(asset="NOPE"), ["cold-btc", "NOPE", "price"]),
    (lambda r: r["prices"].pop("SOL"), ["sol-10x", "SOL", "price"]),
    # bad enumerations / references
    (lambda r: r["positions"][1].update(side="sideways"), ["sol-10x", "side", "sideways"]),
    (lambda r: r["positions"][0].update(kind="option"), ["cold-btc", "kind", "option"]),
    (lambda r: r["positions"][2].update(account="nope"), ["eth-hedge", "account", "nope"]),
    (lambda r: r["positions"][2].update(venue="ftx"), ["eth-hedge", "venue", "ftx"]),
    (lambda r: r["positions"][3]["collateral"][0].update(liquidation_threshold=1.5),
     ["aave-eth", "liquidation_threshold", "1.5"]),
    (lambda r: r["positions"][3].update(debt=[]), ["aave-eth", "debt"]),
    (lambda r: r["positions"][1].update(maintenance_margin_rate="abc"),
     ["sol-10x", "maintenance_margin_rate", "abc"]),
    (lambda r: r["positions"].append(dict(r["positions"][0])), ["cold-btc", "duplicate"]),
    (lambda r: r.update(format="other/9"), ["format", "other/9"]),
    (lambda r: r["accounts"][0].update(wallet_balance=-5), ["exchange-cross", "wallet_balance", "-5"]),
])
def test_bad_input_names_field_and_value(mutate, needles):
    with pytest.raises(InputError) as info:
        compile_book(portfolio_from_dict(bad(mutate)))
    msg = str(info.value)
    for n in needles:
        assert n in msg, (n, msg)


def test_all_errors_are_collected_for_the_gui():
    from engine import check_portfolio
    raw = bad(lambda r: (r["prices"].pop("SOL"), r["positions"][2].update(account="nope")))
    errors, _ = check_portfolio(portfolio_from_dict(raw))
    assert {e.position for e in errors} == {"sol-10x", "eth-hedge"}
    assert all(e.field for e in errors)


def test_position_past_liquidation_is_a_warning_naming_field_and_value():
    raw = bad(lambda r: r["prices"].update(SOL=110))
    book = compile_book(portfolio_from_dict(raw))
    msgs = [str(w) for w in book.warnings]
    assert any("sol-10x" in m and "entry_price" in m and "118.85" in m for m in msgs), msgs


@pytest.mark.parametrize("content,needles", [
    ("{not json", ["not valid JSON", "line 1"]),
    ("[1, 2]", ["JSON list of 2 int", "not a portfolio file"]),
    ("", ["the file is empty"]),
])
def test_malformed_files(tmp_path, content, needles):
    f = tmp_path / "broken.json"
    f.write_text(content)
    with pytest.raises(InputError) as info:
        load_portfolio(f)
    for n in needles:
        assert n in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_portfolio(tmp_path / "nope.json")


# ------------------------------------------------------------------ holdings CSV
def test_holdings_csv_import(tmp_path):
    f = tmp_path / "holdings.csv"
    f.write_text(
        "id,kind,asset,side,quantity,entry_price,leverage,margin_mode,account,venue,price,collateral,debt,wallet_balance\n"
        "main,account,,,,,,,,binance,,,,5000\n"
        "cold,spot,BTC,,0.5,,,,,,85000,,,\n"
        "sol,perp,SOLUSDT,buy,100,130,10,isolated,,binance,121,,,\n"
        "eth,perp,ETH-PERP,sell,2,3100,,cross,main,binance,2950,,,\n"
        "aave,loan,,,,,,,,,,ETH:5:0.83|BTC:0.1:0.78,USDC:8000,\n"
        ",spot,USDC,,100,,,,,,1,,,\n")
    p = load_portfolio(f)
    assert [x.id for x in p.positions] == ["cold", "sol", "eth", "aave", "spot-6"]
    assert p.positions[1].asset == "SOL" and p.positions[1].side == "long"
    assert p.positions[2].side == "short" and p.positions[2].margin_mode == "cross"
    assert p.accounts[0].wallet_balance == 5000 and p.accounts[0].venue == "binance"
    assert p.prices == {"BTC": 85000, "SOL": 121, "ETH": 2950, "USDC": 1}
    loan = p.positions[3]
    assert [(l.asset, l.quantity, l.liquidation_threshold) for l in loan.collateral] == [
        ("ETH", 5, 0.83), ("BTC", 0.1, 0.78)]
    book = compile_book(p)
    assert book.n_positions == 5


def test_holdings_csv_bad_row_names_row_column_value(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("id,asset,quantity,price\na,BTC,1,85000\nb,ETH,-3,2950\n")
    with pytest.raises(InputError) as info:
        load_portfolio(f)
    msg = str(info.value)
    assert "h.csv:row 3" in msg and "quantity" in msg and "-3" in msg


def test_holdings_csv_read_tolerantly_keeps_every_row_as_typed(tmp_path):
    """The editor's reader: a bad row does not stop the file; values stay as typed."""
    from engine.holdings_csv import read_holdings_csv
    f = tmp_path / "h.csv"
    f.write_text("id,kind,asset,side,quantity,price,collateral,debt\n"
                 "a,spot,BTC,,1,85000,,\n"
                 "b,spot,ETH,,-3,2950,,\n"
                 "c,bond,SOL,,5,121,,\n"
                 "d,loan,,,,,ETH,USDC:1000\n")
    raw = read_holdings_csv(f)
    assert [p["id"] for p in raw["positions"]] == ["a", "b", "c", "d"]
    assert raw["positions"][1]["quantity"] == "-3" and raw["positions"][2]["kind"] == "bond"
    assert raw["positions"][3]["collateral"] == [{"asset": "ETH"}]        # quantity missing
    assert raw["prices"] == {"BTC": 85000.0, "ETH": 2950.0, "SOL": 121.0}   # saved as numbers
    with pytest.raises(InputError) as info:          # the command line still stops at row 3
        load_portfolio(f)
    assert "h.csv:row 3" in str(info.value)


def test_holdings_csv_semicolon_files_use_the_decimal_comma(tmp_path):
    f = tmp_path / "eu.csv"
    f.write_text("id;kind;asset;quantity;price;collateral;debt\n"
                 "a;spot;BTC;0,5;85.000,50;;\n"
                 "b;spot;ETH;2;2950;;\n"
                 "l;loan;;;;ETH:12,5:0,83;USDC:1.000,25\n", encoding="utf-8")
    p = load_portfolio(f)
    assert p.prices["BTC"] == 85000.5 and p.positions[0].quantity == 0.5
    assert p.positions[1].quantity == 2 and p.prices["ETH"] == 2950
    loan = p.positions[2]
    assert loan.collateral[0].quantity == 12.5 and loan.collateral[0].liquidation_threshold == 0.83
    assert loan.debt[0].quantity == 1000.25


@pytest.mark.parametrize("text", ["", "\n\n", ",,,\n,,\n", " ; ;\n"])
def test_holdings_csv_without_filled_cells_is_a_clear_error(tmp_path, text):
    from engine.holdings_csv import read_holdings_csv
    f = tmp_path / "blank.csv"
    f.write_text(text)
    for read in (load_portfolio, read_holdings_csv):
        with pytest.raises(InputError) as info:
            read(f)
        assert "blank.csv" in str(info.value)


def test_engine_never_imports_qt():
    code = ("import sys; import engine, engine.prices, engine.parsing, engine.holdings_csv, cli; "
            "import engine.stress, engine.replay, engine.scenarios; "
            "bad = [m for m in sys.modules if m.startswith(('PySide', 'PyQt', 'shiboken', 'pyqtgraph'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # and no engine source mentions a Qt binding
    for f in (ROOT / "engine").rglob("*.py"):
        text = f.read_text()
        assert "PySide" not in text and "pyqtgraph" not in text and "PyQt" not in text, f
