"""Scenarios saved in the portfolio file: schema checks, save -> reload -> run round trips,
the matrix (`stress_all`) and the command line (`--scenario NAME`, `--scenario all`)."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest

import cli
from engine import (InputError, compile_book, history_scenario, library, load_portfolio,
                    save_portfolio, shock_scenario, stress, stress_all)
from engine import saved_scenarios as ss
from engine.prices import PriceHistory

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "resources" / "demo_portfolio.json")


def _history(rows=None):
    """Hourly bars of BTC, ETH and SOL (OHLC) plus DOGE (closes only): a rally, then a crash."""
    rows = rows or [(86000, 2950, 121, 0.13), (87500, 3000, 124, 0.132), (89500, 3080, 128, 0.135),
                    (84000, 2800, 112, 0.12), (80000, 2650, 104, 0.11), (82000, 2700, 108, 0.115)]
    close = np.array(rows, float)
    low = close * np.array([1.0, 0.995, 0.99, 0.97, 0.96, 0.99, ])[:, None]
    high = close * np.array([1.0, 1.01, 1.02, 1.005, 1.004, 1.01])[:, None]
    low[:, 3] = high[:, 3] = close[:, 3]
    low[0], high[0] = close[0], close[0]
    times = np.array([f"2025-12-18T{h:02d}:00" for h in range(len(rows))], dtype="datetime64[ns]")
    return PriceHistory(times, ("BTC", "ETH", "SOL", "DOGE"), close, high, low, close,
                        np.array([True, True, True, False]), ("/somewhere/bars.csv",))


def _saved_portfolio(tmp_path):
    p = load_portfolio(DEMO)
    hist = _history()
    shock = ss.shock_entry("BTC -35%, SOL beta 2", {"BTC": -0.35}, {"SOL": 2.0})
    window = ss.history_entry("My 18 Dec bars", hist, "BTC", {"SUI": 1.8}, taken=[shock["id"]])
    window["my_note"] = {"kept": True}                     # an unknown key of an entry
    p.extra["scenarios"] = [shock, window]
    p.extra["something_else"] = [1, 2]                     # an unknown top-level key
    path = tmp_path / "book.json"
    save_portfolio(p, path)
    return path, hist, shock, window


# ------------------------------------------------------------------ schema and round trip
def test_save_reload_run_shock_and_history_window(tmp_path):
    path, hist, shock, window = _saved_portfolio(tmp_path)
    raw = json.loads(path.read_text())
    assert [s["id"] for s in raw["scenarios"]] == ["btc-35-sol-beta-2", "my-18-dec-bars"]
    assert raw["something_else"] == [1, 2] and raw["scenarios"][1]["my_note"] == {"kept": True}
    stored = raw["scenarios"][1]["path"]
    assert stored["times"][0] == "2025-12-18T00:00:00Z"
    assert stored["assets"]["BTC"]["close"][0] == 1.0 and "low" not in stored["assets"]["DOGE"]
    assert raw["scenarios"][1]["sources"] == ["bars.csv"]          # no path of the user's disk

    p = load_portfolio(path)                                          # reload: self-contained
    book = compile_book(p)
    saved = ss.saved_scenarios(p)
    assert [s.kind for s in saved] == ["shock", "history"]

    # the shock replays as shock_scenario with its own beta overrides
    got = stress(p, ss.build_scenario(p, "BTC -35%, SOL beta 2", book.assets, book.today), book)
    want = stress(p, shock_scenario(book.assets, book.today, {"BTC": -0.35}, {"SOL": 2.0}), book)
    assert got["scenario"]["id"] == "btc-35-sol-beta-2" and got["scenario"]["saved"] is True
    assert got["positions"] == want["positions"] and got["moves"]["SOL"] == pytest.approx(0.65 ** 2 - 1)

    # the window replays as the imported history it came from (ratios stored to 7 digits)
    got = stress(p, ss.build_scenario(p, "my-18-dec-bars", book.assets, book.today), book)
    want = stress(p, history_scenario(hist, book.assets, book.today, {"SUI": 1.8}), book)
    assert [r["liquidation_time"] for r in got["positions"]] == \
        [r["liquidation_time"] for r in want["positions"]]
    assert any(r["liquidated"] for r in got["positions"])
    assert got["portfolio"]["pnl"] == pytest.approx(want["portfolio"]["pnl"], rel=1e-5)
    assert got["series"]["times"] == want["series"]["times"]
    assert got["method"]["SUI"].startswith("proxy BTC, beta 1.8")
    assert got["scenario"]["bar"] == "1h" and got["scenario"]["start"] == "2025-12-18T00:00:00Z"


def test_session_betas_apply_where_the_saved_scenario_sets_none():
    p = load_portfolio(DEMO)
    p.extra["scenarios"] = [ss.shock_entry("crash", {"BTC": -0.3}, {"SOL": 2.0})]
    book = compile_book(p)
    sc = ss.build_scenario(p, "crash", book.assets, book.today, {"SOL": 1.0, "ETH": 1.5})
    assert sc.moves["SOL"] == pytest.approx(0.7 ** 2 - 1)               # the saved one wins
    assert sc.moves["ETH"] == pytest.approx(0.7 ** 1.5 - 1)             # the session's applies


def _entry(**change):
    e = ss.shock_entry("x", {"BTC": -0.3})
    e.update(change)
    return e


@pytest.mark.parametrize("entry, field", [
    ("nope", "scenarios[0]"),
    (_entry(id="bad id!"), "scenarios[0].id"),
    (_entry(id="2025-12-18-btc-loses-85k"), "scenarios[0].id"),
    (_entry(id="E9"), "scenarios[0].id"),
    (_entry(id="all"), "scenarios[0].id"),
    (_entry(name=""), "scenarios[0].name"),
    (_entry(kind="dream"), "scenarios[0].kind"),
    (_entry(moves={}), "scenarios[0].moves"),
    (_entry(moves={"BTC": -1.2}), "scenarios[0].moves.BTC"),
    (_entry(moves={"BTC": "x"}), "scenarios[0].moves.BTC"),
    (_entry(beta_overrides={"SOL": float("nan")}), "scenarios[0].beta_overrides.SOL"),
    (_entry(moves={"$$": -0.1}), "scenarios[0].moves.$$"),
])
def test_bad_shock_entries_name_field_and_value(entry, field):
    with pytest.raises(InputError) as exc:
        ss.parse_entry(entry, 0)
    assert exc.value.field == field


def _window(mutate):
    e = ss.history_entry("w", _history())
    mutate(e)
    return e


@pytest.mark.parametrize("mutate, field", [
    (lambda e: e.pop("path"), "scenarios[0].path"),
    (lambda e: e["path"].update(times=["2025-12-18T00:00:00Z"]), "scenarios[0].path.times"),
    (lambda e: e["path"]["times"].__setitem__(2, "yesterday"), "scenarios[0].path.times[2]"),
    (lambda e: e["path"]["times"].__setitem__(2, "2025-12-18T00:30:00Z"), "scenarios[0].path.times[2]"),
    (lambda e: e["path"]["assets"]["BTC"]["close"].pop(), "scenarios[0].path.assets.BTC.close"),
    (lambda e: e["path"]["assets"]["ETH"]["low"].__setitem__(3, -1), "scenarios[0].path.assets.ETH.low[3]"),
    (lambda e: e["path"]["assets"]["ETH"]["low"].__setitem__(3, 5.0), "scenarios[0].path.assets.ETH[3]"),
    (lambda e: e.update(proxy="LINK"), "scenarios[0].proxy"),
    (lambda e: e["path"].update(assets={}), "scenarios[0].path.assets"),
])
def test_bad_history_entries_name_field_and_value(mutate, field):
    with pytest.raises(InputError) as exc:
        ss.parse_entry(_window(mutate), 0)
    assert exc.value.field == field


def test_check_saved_keeps_the_good_entries_and_reports_the_bad():
    good = ss.shock_entry("a", {"BTC": -0.2})
    dup = copy.deepcopy(good)
    good, errors = ss.check_saved([good, {"id": "b"}, dup])
    assert [s.id for s in good] == ["a"]
    assert [e.field for e in errors] == ["scenarios[1].name", "scenarios[2].id"]
    assert ss.check_saved(None) == ([], [])
    assert ss.check_saved({"a": 1})[1][0].field == "scenarios"


def test_new_ids_are_unique_and_never_bundled():
    assert ss.new_id("BTC −35 %!", []) == "btc-35"
    assert ss.new_id("x", ["x", "X-2"]) == "x-3"
    assert ss.new_id("2025-12-18 BTC loses 85k", []) == "2025-12-18-btc-loses-85k-2"
    assert ss.new_id("E9", []) == "e9-2"
    assert ss.new_id("  ", []) == "scenario"


def test_a_long_window_is_refused_with_a_clear_message():
    n = ss.MAX_STEPS + 2
    c = np.full((n, 1), 100.0)
    hist = PriceHistory(np.arange(n).astype("datetime64[h]").astype("datetime64[ns]"), ("BTC",),
                        c, c, c, c, np.array([False]), ())
    with pytest.raises(InputError, match="From/To"):
        ss.history_entry("long", hist)


def test_with_and_without_entry_copy_the_list():
    a = ss.shock_entry("a", {"BTC": -0.2})
    items = ss.with_entry(None, a)
    again = ss.with_entry(items, {**a, "name": "A2"})
    assert len(again) == 1 and again[0]["name"] == "A2" and items[0]["name"] == "a"
    assert ss.without_entry(again, "a") == [] and len(again) == 1


# ------------------------------------------------------------------ the matrix and the CLI
def test_stress_all_runs_bundled_then_saved(tmp_path):
    path, *_ = _saved_portfolio(tmp_path)
    p = load_portfolio(path)
    res = stress_all(p)
    ids = [s["id"] for s in res["scenarios"]]
    assert ids == [s["id"] for s in library()] + ["btc-35-sol-beta-2", "my-18-dec-bars"]
    assert [s["source"] for s in res["scenarios"]][-3:] == ["bundled", "saved", "saved"]
    shock = res["scenarios"][-2]
    assert shock["steps"] == 1 and shock["bar"] is None
    assert res["scenarios"][-1]["bar"] == "1h" and res["scenarios"][-1]["steps"] == 5
    # an unreadable entry: "all" refuses it by name, an explicit list runs the others
    p.extra["scenarios"].append({"id": "broken", "name": "x", "kind": "shock", "moves": {"BTC": -2}})
    with pytest.raises(InputError, match=r"scenarios\[2\]\.moves\.BTC"):
        stress_all(p)
    good, errors = ss.check_saved(p.extra["scenarios"])
    res = stress_all(p, ss.scenario_ids(None, good))
    assert [s["id"] for s in res["scenarios"]][-2:] == ["btc-35-sol-beta-2", "my-18-dec-bars"]


def test_cli_runs_a_saved_scenario_by_name_and_in_all(tmp_path, capsys):
    path, *_ = _saved_portfolio(tmp_path)
    assert cli.main(["stress", str(path), "--scenario", "my 18 dec bars", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["scenario"]["id"] == "my-18-dec-bars"
    assert any(r["liquidation_time"] for r in rep["positions"])
    assert cli.main(["stress", str(path), "--scenario", "all", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["scenarios"][-1]["id"] == "my-18-dec-bars" and len(res["scenarios"]) == 14
    assert cli.main(["stress", str(path), "--scenario", "all"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("position"))
    assert header.split()[-3:] == ["E12", "S1", "S2"]
    assert "S1  btc-35-sol-beta-2: instant shock, BTC -35%, SOL beta 2 (saved)" in out


def test_cli_unknown_or_bad_saved_scenario_is_one_line(tmp_path, capsys):
    path, *_ = _saved_portfolio(tmp_path)
    assert cli.main(["stress", str(path), "--scenario", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--scenario" in err and "'nope'" in err and "my-18-dec-bars" in err and "\n" not in err.strip()
    raw = json.loads(Path(path).read_text())
    raw["scenarios"][1]["path"]["assets"]["BTC"]["close"][2] = "oops"
    Path(path).write_text(json.dumps(raw))
    assert cli.main(["stress", str(path), "--scenario", "all"]) == 2
    err = capsys.readouterr().err
    assert "scenarios[1].path.assets.BTC.close[2]" in err and "'oops'" in err
