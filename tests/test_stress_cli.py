"""Stress scenarios end to end: bundled library, shocks, imported history (real data),
reverse stress, and the command line contract (JSON keys, exit codes, one-line errors)."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cli
from engine import (compile_book, history_scenario, library, library_scenario, load_portfolio,
                    portfolio_from_dict, reverse_stress, shock_scenario, stress)
from engine.prices import load_price_history

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "resources" / "demo_portfolio.json")
PRICES = ROOT.parent / "shared" / "data" / "prices"
needs_data = pytest.mark.skipif(not PRICES.is_dir(), reason=f"shared price data not found at {PRICES} "
                                "(only present on the developers' machines)")


def run_cli(capsys, *args):
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ library & shocks
def test_library_has_twelve_cited_events():
    lib = library()
    assert len(lib) == 12
    for s in lib:
        assert s["sources"] and all(src.get("url", "").startswith("http") for src in s["sources"])
        btc = s["path"]["assets"]["BTC"]
        assert btc["close"][0] == btc["low"][0] == btc["high"][0] == 1.0     # step 0 = the close before


def test_dec18_scenario_on_demo():
    p = load_portfolio(DEMO)
    book = compile_book(p)
    sc = library_scenario("2025-12-18-btc-loses-85k", book.assets, book.today)
    rep = stress(p, sc, book)
    rows = {r["id"]: r for r in rep["positions"]}
    # real hourly bars now: SOL's low (-5.2% from the 17 Dec close, 121 -> ~114.7) is below the
    # 10x long's liquidation price 118.85 in the 17:00-18:00 bar (step 18)
    sol = book.asset_index("SOL")
    assert sc.paths.low[0, :, sol].min() == pytest.approx(121 * (1 - 0.052), rel=2e-3)
    step = rows["sol-10x"]["liquidation_step"]
    assert rows["sol-10x"]["liquidated"] and step == 18
    assert sc.paths.low[0, step, sol] <= rows["sol-10x"]["liquidation_price"] < sc.paths.low[0, :step, sol].min()
    assert rows["sol-10x"]["liquidation_time"] == "2025-12-18T18:00:00Z" == sc.times[step]
    assert rows["sol-10x"]["value_after"] == 0.0
    assert not rows["cold-btc"]["liquidated"]
    btc_close = sc.paths.close[0, -1, book.asset_index("BTC")] / 85000 - 1      # -0.84 % (real close)
    assert btc_close == pytest.approx(-0.008, abs=5e-4)
    assert rows["cold-btc"]["pnl"] == pytest.approx(0.8 * 85000 * btc_close)
    pf = rep["portfolio"]
    assert pf["pnl"] == pytest.approx(sum(r["pnl"] for r in rep["positions"])
                                      + sum(a["pnl"] for a in rep["accounts"]) -
                                      sum(r["pnl"] for r in rep["positions"] if r.get("margin_mode") == "cross"))
    assert 0 < pf["max_drawdown"] < 1


def test_shock_beta_propagation():
    p = load_portfolio(DEMO)
    book = compile_book(p)
    sc = shock_scenario(book.assets, book.today, {"BTC": -0.30, "SUI": -0.5}, {"ETH": 1.5})
    assert sc.moves["BTC"] == -0.30
    assert sc.moves["SUI"] == -0.5                                  # explicit wins
    assert sc.moves["ETH"] == pytest.approx(0.7 ** 1.5 - 1)         # override beta
    assert sc.moves["SOL"] == pytest.approx(0.7 ** 1.20 - 1)        # bundled beta (CRASHES.md §3)
    assert sc.moves["USDC"] == 0.0


def test_proxy_for_assets_missing_from_event():
    p = portfolio_from_dict({"prices": {"BTC": 100000, "HYPE": 40}, "positions": [
        {"id": "h", "kind": "spot", "asset": "HYPE", "quantity": 10}]})
    book = compile_book(p)
    sc = library_scenario("2025-10-10-liquidation-cascade", book.assets, book.today)
    assert sc.method["HYPE"].startswith("proxy BTC, beta 1")   # no calibration: beta 1 (default)
    from engine import library_entry
    btc_close = library_entry("2025-10-10-liquidation-cascade")["path"]["assets"]["BTC"]["close"][-1]
    assert sc.paths.close[0, -1, book.asset_index("HYPE")] / 40 == pytest.approx(btc_close)


# ------------------------------------------------------------------ imported history (real files)
def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@needs_data
def test_replay_oct10_hourly_window_against_independent_read():
    files = [PRICES / "1h" / "2025-10_oct-10-liquidation-cascade" / f"{a}-USDT_1h.csv"
             for a in ("BTC", "SOL", "DOGE")]
    hist = load_price_history([str(f) for f in files]).window("2025-10-10T12:00", "2025-10-11T12:00")
    p = portfolio_from_dict({"prices": {"BTC": 100000, "SOL": 200, "DOGE": 0.25}, "positions": [
        {"id": "sol", "kind": "perp", "asset": "SOL", "side": "long", "quantity": 100, "entry_price": 200,
         "leverage": 10, "maintenance_margin_rate": 0.005},
        {"id": "doge", "kind": "perp", "asset": "DOGE", "side": "long", "quantity": 10000,
         "entry_price": 0.25, "leverage": 3, "maintenance_margin_rate": 0.005},
        {"id": "btc", "kind": "spot", "asset": "BTC", "quantity": 1}]})
    book = compile_book(p)
    rep = stress(p, history_scenario(hist, book.assets, book.today), book)
    rows = {r["id"]: r for r in rep["positions"]}
    # independent computation with the csv module
    for pid, asset, lp in (("sol", "SOL", rows["sol"]["liquidation_price"]),
                           ("doge", "DOGE", rows["doge"]["liquidation_price"])):
        data = [r for r in _read_csv(PRICES / "1h" / "2025-10_oct-10-liquidation-cascade" / f"{asset}-USDT_1h.csv")
                if "2025-10-10T12:00" <= r["date"][:16] <= "2025-10-11T12:00"]
        scale = p.prices[asset] / float(data[0]["close"])
        expect = next((i for i, r in enumerate(data[1:], 1) if float(r["low"]) * scale <= lp), None)
        assert expect is not None
        assert rows[pid]["liquidation_step"] == expect
        assert data[expect]["date"][:13] in ("2025-10-10T20", "2025-10-10T21")  # the cascade
    btc = [r for r in _read_csv(files[0]) if "2025-10-10T12:00" <= r["date"][:16] <= "2025-10-11T12:00"]
    assert rows["btc"]["value_after"] == pytest.approx(100000 * float(btc[-1]["close"]) / float(btc[0]["close"]))
    assert rep["scenario"]["steps"] == len(btc) - 1


@needs_data
def test_cli_stress_with_daily_files_and_window(capsys):
    code, out, err = run_cli(capsys, "stress", DEMO, "--prices", str(PRICES / "daily" / "BTC-USDT_daily.csv"),
                             "--prices", "SOL=" + str(PRICES / "daily" / "SOL-USDT_daily.csv"),
                             "--from", "2025-10-09", "--to", "2025-10-12", "--json")
    assert code == 0, err
    rep = json.loads(out)
    rows = {r["id"]: r for r in rep["positions"]}
    # SOL's 10 Oct daily low is -23.6% from the 9 Oct close: the 10x long dies at step 1
    assert rows["sol-10x"]["liquidation_step"] == 1
    assert rep["method"]["ETH"].startswith("proxy BTC")
    assert rep["scenario"]["steps"] == 3


# ------------------------------------------------------------------ CLI contract
def test_cli_stress_json_keys(capsys):
    code, out, err = run_cli(capsys, "stress", DEMO, "--scenario", "2025-12-18-btc-loses-85k", "--json")
    assert code == 0, err
    rep = json.loads(out)
    for r in rep["positions"]:
        for k in ("id", "asset", "kind", "liquidation_price", "liquidated", "liquidation_step",
                  "value_before", "value_after", "pnl"):
            assert k in r
        assert isinstance(r["liquidated"], bool)
    for k in ("value_before", "value_after", "pnl", "max_drawdown"):
        assert isinstance(rep["portfolio"][k], float)
    assert set(rep["moves"]) == set(rep["betas"]) >= {"BTC", "SOL", "ETH"}


def test_cli_shock_and_tables(capsys):
    code, out, err = run_cli(capsys, "stress", DEMO, "--shock", "BTC=-30%,SOL=-45%")
    assert code == 0, err
    assert "LIQUIDATED" in out and "Portfolio:" in out
    code, out, err = run_cli(capsys, "stress", DEMO, "--shock", "BTC=-30%", "--json")
    rep = json.loads(out)
    assert rep["moves"]["BTC"] == -0.3


def test_cli_liquidation_json(capsys):
    code, out, err = run_cli(capsys, "liquidation", DEMO, "--json")
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)["positions"]}
    assert rows["cold-btc"]["liquidation_price"] is None and rows["cold-btc"]["distance"] is None
    assert rows["sol-10x"]["liquidation_price"] == pytest.approx(118.85, abs=0.005)
    assert rows["sol-10x"]["distance"] == pytest.approx(118.85 / 121 - 1, abs=1e-4)


def test_cli_reverse_json(capsys):
    code, out, err = run_cli(capsys, "reverse", DEMO, "--json")
    assert code == 0, err
    rep = json.loads(out)
    rows = {r["id"]: r for r in rep["positions"]}
    # isolated BTC long: closed form (LP / P) - 1
    p = load_portfolio(DEMO)
    lp = {r["id"]: r for r in __import__("engine").liquidation_prices(p)}["btc-5x-binance"]["liquidation_price"]
    assert rows["btc-5x-binance"]["btc_move_to_liquidation"] == pytest.approx(lp / 85000 - 1, abs=1e-9)
    # SOL long through SOL's beta 1.2: (1 + r)^1.2 = LP/P
    assert rows["sol-10x"]["btc_move_to_liquidation"] == pytest.approx((118.85 / 121) ** (1 / 1.2) - 1, abs=1e-4)
    assert rows["cold-btc"]["btc_move_to_liquidation"] is None
    loss = rep["portfolio"]["btc_move_for_loss"]
    assert set(loss) == {"0.1", "0.25", "0.5"}
    assert -1 < loss["0.5"] < loss["0.25"] < loss["0.1"] < 0


def test_reverse_loss_threshold_is_exact():
    p = load_portfolio(DEMO)
    rep = reverse_stress(p)
    book = compile_book(p)
    r = rep["portfolio"]["btc_move_for_loss"]["0.25"]
    sc = shock_scenario(book.assets, book.today, {"BTC": r})
    pf = stress(p, sc, book)["portfolio"]
    assert pf["pnl"] / pf["value_before"] == pytest.approx(-0.25, abs=1e-6)


def test_cli_scenarios(capsys):
    code, out, err = run_cli(capsys, "scenarios", "--json")
    assert code == 0
    ids = [s["id"] for s in json.loads(out)["scenarios"]]
    assert "2025-12-18-btc-loses-85k" in ids and len(ids) == 12


@pytest.mark.parametrize("args,needle", [
    (["stress", "nope.json", "--shock", "BTC=-30%"], "file not found"),
    (["stress", DEMO, "--scenario", "1999-crash"], "unknown scenario"),
    (["stress", DEMO, "--shock", "BTC=-130%"], "between -100 % and +10,000 %"),
    (["stress", DEMO, "--shock", "BTC:-30"], "ASSET=-30%"),
    (["stress", DEMO], "exactly one of"),
    (["stress", DEMO, "--prices", "missing.csv"], "missing.csv"),
    (["liquidation"], "portfolio"),
    (["frobnicate"], "invalid choice"),
])
def test_cli_errors_are_one_line(capsys, args, needle):
    code, out, err = run_cli(capsys, *args)
    assert code != 0
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_main_py_subprocess_no_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"prices": {"BTC": 1}, "positions": [
        {"id": "x", "kind": "spot", "asset": "BTC", "quantity": float("nan")}]}).replace("NaN", "NaN"))
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "liquidation", str(bad)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert "position 'x'" in r.stderr and "quantity" in r.stderr and "nan" in r.stderr
    assert "Traceback" not in r.stderr


def test_reverse_says_a_hedged_account_is_not_thereby_safe(capsys):
    """The demo's cross account (ETH short, DOGE long) is liquidated by no BTC move through
    betas; the table must not read as "safe"."""
    code, out, err = run_cli(capsys, "reverse", DEMO)
    assert code == 0
    line = next(l for l in out.splitlines() if l.startswith("eth-hedge"))
    assert "none*" in line
    assert "that is not safety" in out
    assert "never (spot)" in next(l for l in out.splitlines() if l.startswith("cold-btc"))
