"""Hostile and unlucky input through every entry point: each is refused with one line naming
the file, position, field and value (exit 2), or computed with finite numbers (exit 0);
never a traceback, an "internal error", a ``null`` number or a numpy warning.

The bounds are those of :mod:`engine.limits`."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import cli
from engine import InputError, compile_book, load_portfolio
from engine.limits import MAX_AMOUNT, MIN_AMOUNT
from engine.portfolio import (check_text, json_depth, parse_json_text, portfolio_from_dict,
                              read_text_file)
from engine.scenarios import parse_shock, shock_scenario
from engine.stress import stress

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "resources" / "demo_portfolio.json")
DEMO_DICT = json.loads(Path(DEMO).read_text())


def run_cli(capsys, *args):
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code, err, *needles):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "internal error" not in err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"


def finite_numbers(obj, where="$"):
    """Every float in a JSON-like value is finite (None is 'no value', never a number)."""
    if isinstance(obj, float):
        assert math.isfinite(obj), where
    elif isinstance(obj, dict):
        for k, v in obj.items():
            finite_numbers(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            finite_numbers(v, f"{where}[{i}]")


@pytest.fixture
def checked_json(monkeypatch):
    """Make the CLI's JSON writer fail on a non-finite number instead of writing null."""
    seen = []
    real = cli.dump_json

    def dump(obj):
        finite_numbers(obj)
        seen.append(obj)
        return real(obj)
    monkeypatch.setattr(cli, "dump_json", dump)
    return seen


def write_portfolio(tmp_path, mutate, name="p.json") -> Path:
    d = json.loads(json.dumps(DEMO_DICT))
    mutate(d)
    p = tmp_path / name
    p.write_text(json.dumps(d), encoding="utf-8")
    return p


def _set(path, value):
    def mutate(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


# --------------------------------------------------------------------------- portfolio values
HOSTILE_VALUES = [
    # (path in the demo, value, message fragment, position, field)
    (("positions", 0, "quantity"), 1e308, "must be below 1e15", "cold-btc", "quantity"),
    (("positions", 0, "quantity"), 10 ** 400, "must be below 1e15", "cold-btc", "quantity"),
    (("positions", 0, "quantity"), "1e400", "must be below 1e15", "cold-btc", "quantity"),
    (("positions", 0, "quantity"), "inf", "finite number", "cold-btc", "quantity"),
    (("positions", 0, "quantity"), 1e-300, "at least 1e-12", "cold-btc", "quantity"),
    (("positions", 2, "entry_price"), 1e308, "must be below 1e15", "sol-10x", "entry_price"),
    (("positions", 2, "maintenance_amount"), -1e200, "must be below 1e15", "sol-10x",
     "maintenance_amount"),
    (("positions", 6, "debt", 0, "quantity"), 1e300, "must be below 1e15", "aave-eth",
     "debt[0].quantity"),
    (("positions", 6, "collateral", 0, "quantity"), 1e15, "must be below 1e15", "aave-eth",
     "collateral[0].quantity"),
    (("accounts", 0, "wallet_balance"), 1e300, "must be below 1e15", "exchange-cross",
     "wallet_balance"),
    (("prices", "BTC"), 1e308, "must be below 1e15", None, "prices.BTC"),
    (("prices", "DOGE"), 1e-13, "at least 1e-12", None, "prices.DOGE"),
    (("positions", 0, "id"), "\ud800", "lone surrogate", None, "positions[0].id"),
    (("positions", 0, "id"), "a\x00b", "control character", None, "positions[0].id"),
    (("positions", 0, "id"), "evil\u202eexe.json", "bidirectional", None, "positions[0].id"),
    (("positions", 0, "id"), "x\u2066y", "bidirectional", None, "positions[0].id"),
    (("positions", 0, "id"), "line\u2028break", "control character", None, "positions[0].id"),
    (("positions", 0, "id"), "x" * 201, "too long", None, "positions[0].id"),
    (("positions", 4, "account"), "exchange\x7fcross", "control character", "eth-hedge",
     "account"),
    (("accounts", 0, "id"), "acc\ud83d", "lone surrogate", None, "accounts[0].id"),
    (("name",), "book\x1b[2J", "control character", None, "name"),
]


@pytest.mark.parametrize("path, value, message, position, field", HOSTILE_VALUES)
def test_hostile_value_is_refused_naming_position_and_field(tmp_path, capsys, path, value,
                                                            message, position, field):
    p = write_portfolio(tmp_path, _set(path, value))
    with pytest.raises(InputError) as info:
        load_portfolio(p)
    e = info.value
    assert message in e.reason and e.field == field and e.position == position
    assert e.source == "p.json"
    assert len(str(e)) < 400 and str(e).isprintable()          # escaped, cut
    code, out, err = run_cli(capsys, "liquidation", p, "--json")
    one_line_error(code, err, "p.json", f"field '{field}'", message)
    assert out == ""


@pytest.mark.parametrize("value", [1e15 * (1 - 1e-12), 1e-12, 5e14])
def test_values_inside_the_bounds_compute_finite_results(tmp_path, capsys, checked_json, value):
    p = write_portfolio(tmp_path, _set(("positions", 1, "quantity"), value))
    for args in (["liquidation", p, "--json"], ["stress", p, "--shock", "BTC=-100%", "--json"],
                 ["stress", p, "--shock", "BTC=+10000%", "--json"], ["reverse", p, "--json"]):
        code, out, err = run_cli(capsys, *args)
        assert code in (0, 3), err
        assert "warning" not in err or "liquidat" in err


@pytest.mark.parametrize("text", ["BTC", "Mon portefeuille été", "名前", "a b", "🚀 moon", "x" * 200])
def test_printable_text_is_accepted(text):
    assert check_text(text, field="id", position=None) == text


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize("content, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a":' * 65 + "1" + "}" * 65, "nested too deeply"),
    ('{"format": "crashlab.portfolio/1", "prices": {"BTC": ' + "9" * 5000 + "}}", "4,300 digits"),
    ("\xff\xfe{", "not UTF-8"),
    ('{"positions": [', "not valid JSON"),
])
def test_unreadable_json_names_the_file(tmp_path, capsys, content, message):
    p = tmp_path / "bad.json"
    p.write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode())
    with pytest.raises(InputError) as info:
        load_portfolio(p)
    assert message in str(info.value) and str(p) in str(info.value)
    code, out, err = run_cli(capsys, "liquidation", p)
    one_line_error(code, err, message, "bad.json")


def test_the_gui_opens_the_same_files_with_the_same_message(tmp_path):
    from ui.document import Document
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        Document.from_file(p)


def test_json_depth_and_size_bounds(tmp_path):
    assert json_depth(1) == 0 and json_depth([]) == 1 and json_depth({"a": [{"b": 1}]}) == 3
    assert parse_json_text("[" * 64 + "]" * 64, "x") == parse_json_text("[" * 64 + "]" * 64, "x")
    with pytest.raises(InputError, match="nested too deeply"):
        parse_json_text("[" * 65 + "]" * 65, "x")
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 100 + "0]")
    with pytest.raises(InputError, match="too large"):
        read_text_file(big, limit=100)


@pytest.mark.parametrize("row, message", [
    ("b1,spot,BTC,1e308,90000", "must be below 1e15"),
    ("b1,spot,BTC,1.5,1e308", "field 'price (BTC)': is out of range: must be below 1e15"),
    ("\x1b[31mred,spot,BTC,1.5,90000", "control character"),
    ("b1,spot,BTC," + "9" * 500 + ",90000", "must be below 1e15"),
])
def test_holdings_csv_hostile_cells(tmp_path, capsys, row, message):
    p = tmp_path / "h.csv"
    p.write_text("id,kind,asset,quantity,price\n" + row + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "liquidation", p)
    one_line_error(code, err, "h.csv", message)


def test_holdings_csv_with_a_giant_cell_is_a_clear_error(tmp_path, capsys):
    p = tmp_path / "h.csv"
    p.write_text('id,kind,asset,quantity\n"' + "x" * 200_000 + '",spot,BTC,1\n')
    code, out, err = run_cli(capsys, "liquidation", p)
    one_line_error(code, err, "h.csv", "cannot be read as CSV")


@pytest.mark.parametrize("rows, message", [
    ("2024-01-01,100,110,90,1e308", "must be below 1e15"),
    ("2024-01-01,100,110,90,120", "close 120 is above the bar's high 110"),
    ("2024-01-01,100,110,90,80", "close 80 is below the bar's low 90"),
])
def test_price_files_out_of_range_or_inconsistent(tmp_path, capsys, rows, message):
    p = tmp_path / "btc.csv"
    p.write_text("time,open,high,low,close\n2023-12-31,100,110,90,100\n" + rows + "\n")
    for args in (["stress", DEMO, "--prices", f"BTC={p}"],
                 ["montecarlo", DEMO, "--model", "bootstrap", "--paths", "100", "--days", "2",
                  "--prices", f"BTC={p}"]):
        code, out, err = run_cli(capsys, *args)
        one_line_error(code, err, "btc.csv:row 3", message)


# --------------------------------------------------------------------------- flags
@pytest.mark.parametrize("args, needles", [
    (["stress", DEMO, "--shock", "BTC=1e308%"], ["--shock BTC", "between -100 % and +10,000 %"]),
    (["stress", DEMO, "--shock", "BTC=-100.5%"], ["--shock BTC", "between -100 %"]),
    (["stress", DEMO, "--shock", "SOL=1e400"], ["--shock SOL"]),
    (["stress", DEMO, "--shock", "BTC=-10%", "--beta", "SOL=1e308"], ["--beta SOL", "between -10 and 10"]),
    (["stress", DEMO, "--shock", "BTC=-100%", "--beta", "SOL=-1"], ["--beta SOL", "infinite price"]),
    (["reverse", DEMO, "--beta", "SOL=11"], ["--beta SOL"]),
    (["montecarlo", DEMO, "--paths", "100", "--days", "2", "--beta", "SOL=1e308"], ["--beta SOL"]),
    (["montecarlo", DEMO, "--paths", "100", "--days", "2", "--vol", "BTC=1e308"], ["--vol BTC", "at most 10"]),
    (["montecarlo", DEMO, "--paths", "100", "--days", "2", "--vol", "BTC=-1"], ["--vol BTC"]),
    (["montecarlo", DEMO, "--paths", "100", "--days", "36500"], ["--days", "too long"]),
])
def test_hostile_flags_are_one_line_errors_naming_the_flag(capsys, args, needles):
    code, out, err = run_cli(capsys, *args)
    one_line_error(code, err, *needles)


def test_a_move_of_minus_100_percent_is_valid(capsys, checked_json):
    assert parse_shock("BTC=-100%") == {"BTC": -1.0}
    code, out, err = run_cli(capsys, "stress", DEMO, "--shock", "BTC=-100%", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["moves"]["BTC"] == -1.0 and rep["moves"]["SOL"] == -1.0      # positive beta
    assert rep["moves"]["USDC"] == 0.0                                        # stablecoin
    p = load_portfolio(DEMO)
    book = compile_book(p)
    res = stress(p, shock_scenario(book.assets, book.today, {"BTC": -1.0}), book)
    assert res["portfolio"]["value_after"] < res["portfolio"]["value_before"]


def test_numerical_warnings_never_reach_stderr(capsys, monkeypatch):
    """A numerical warning inside a command is a defect reported as one line, not printed
    as a warning next to a result."""
    import engine.stress

    def noisy(*a, **k):
        np.log(np.zeros(1))                 # RuntimeWarning: divide by zero
        return []
    monkeypatch.setattr(sys.modules["engine.stress"], "liquidation_prices", noisy)
    code, out, err = run_cli(capsys, "liquidation", DEMO)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "RuntimeWarning" in err and "Warning:" not in err.split("(")[0]


def test_portfolio_from_dict_accepts_the_bounds_exactly():
    d = {"prices": {"BTC": MAX_AMOUNT * (1 - 1e-15), "X": MIN_AMOUNT},
         "positions": [{"id": "a", "kind": "spot", "asset": "X", "quantity": MIN_AMOUNT}]}
    p = portfolio_from_dict(d)
    assert p.prices["X"] == MIN_AMOUNT


def test_subprocess_exit_codes(tmp_path):
    import subprocess
    p = write_portfolio(tmp_path, _set(("positions", 0, "id"), "\ud800"))
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "liquidation", str(p)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "lone surrogate" in r.stderr and "Traceback" not in r.stderr
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "stress", str(deep), "--shock",
                        "BTC=-30%"], capture_output=True, text=True)
    assert r.returncode == 2 and "nested too deeply" in r.stderr
