"""CSV exports, headless: the tables built from each result and the text written, without a
dialog or a window: rounded numbers, yes/no, the header block, rows that add up to the
total (cross-account wallets included), formula escaping that keeps negative numbers numeric."""
from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("PySide6")

from engine import compile_book, load_portfolio, portfolio_from_dict, resolve_betas  # noqa: E402
from reporting import to_csv  # noqa: E402
from ui.export import (montecarlo_tables, replay_tables, reverse_tables, shock_tables,  # noqa: E402
                       write_csv)
from ui.files import demo_path  # noqa: E402
from ui.jobs import (MonteCarloSettings, ReplaySpec, evaluate_shock, montecarlo_available,  # noqa: E402
                     montecarlo_job, replay_job, reverse_job)

INJECTION = "=cmd|' /C calc'!A0"


def run(gen):
    """Drive a job generator to its result, on this thread."""
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def read_tables(text: str) -> tuple[list[list[str]], dict[str, list[list[str]]]]:
    """Split an export into its header block and its tables (as raw CSV cells)."""
    assert text.startswith("\ufeff")
    blocks = text[1:].split("\n\n")
    header = []
    if not blocks[0].startswith("# table: ") and blocks[0].startswith("# "):
        header = list(csv.reader(io.StringIO(blocks.pop(0))))
    tables = {}
    for b in blocks:
        rows = list(csv.reader(io.StringIO(b)))
        name = rows[0][0].removeprefix("# table: ") if rows[0][0].startswith("# table: ") else "table"
        tables[name] = rows[1:] if rows[0][0].startswith("# table: ") else rows
    return header, tables


def frame(rows: list[list[str]]) -> pd.DataFrame:
    return pd.read_csv(io.StringIO("\n".join(",".join(f'"{c}"' if "," in c else c for c in r) for r in rows)))


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(demo_path())


def shock_of(p, move: float):
    book = compile_book(p)
    betas = {a: b for a, (b, _) in resolve_betas(book.assets, {}).items()}
    return evaluate_shock(book, betas, move)


# --------------------------------------------------------------------------- shock
def test_shock_table_rows_add_up_with_the_wallet(portfolio):
    res = shock_of(portfolio, -0.4)
    [t] = shock_tables(res)
    df = t.frame
    assert list(df.columns) == ["id", "asset", "kind", "account", "asset_move", "liquidation_price",
                                "liquidated", "value_before", "value_after", "pnl"]
    assert df["id"].tolist()[: len(res.ids)] == list(res.ids)
    wallet = df[df["kind"] == "wallet"]
    assert wallet["id"].tolist() == ["wallet exchange-cross"] and wallet["value_before"].iloc[0] == 3000.0
    assert df["value_before"].sum() == pytest.approx(res.portfolio_before)
    assert df["value_after"].sum() == pytest.approx(res.portfolio_after)
    assert df["pnl"].sum() == pytest.approx(res.portfolio_pnl)
    assert np.allclose(df[df["asset"] == "BTC"]["asset_move"], -0.4)


def test_shock_csv_text_rounded_yes_no_header_and_exact_total(portfolio, tmp_path):
    res = shock_of(portfolio, -0.3)
    header = [("Exported by", "CrashLab 0.1.0"), ("Scenario", "Instant shock: BTC -30.0%"),
              ("Beta overrides", "SOL beta 1.5"), ("Random seed", "none"), ("Date", "2026-01-10T12:00:00+00:00")]
    path = tmp_path / "shock.csv"
    write_csv(str(path), shock_tables(res), header)
    text = path.read_text(encoding="utf-8")
    head, tables = read_tables(text)
    assert [r[0] for r in head] == ["# Exported by", "# Scenario", "# Beta overrides", "# Random seed", "# Date"]
    assert head[1][1] == "Instant shock: BTC -30.0%"
    rows = tables["shock"]
    cols = rows[0]
    body = rows[1:]
    liq = [r[cols.index("liquidated")] for r in body]
    assert set(liq) == {"yes", "no"} and "True" not in text and "False" not in text
    # every number: money to the cent, others at most 10 significant digits (no float artefacts)
    for r in body:
        for c, v in zip(cols, r):
            if c in ("value_before", "value_after", "pnl"):
                assert re.fullmatch(r"-?\d+\.\d\d", v), (c, v)
            elif c in ("asset_move", "liquidation_price") and v:
                assert len(re.sub(r"[^0-9]", "", v).lstrip("0")) <= 10, (c, v)
    assert "99999999" not in text and "00000001" not in text
    # the rows add up to the total to the cent (a spreadsheet SUM matches the header note)
    df = pd.read_csv(io.StringIO(text), comment="#")
    assert df["pnl"].dtype == float and df["liquidated"].tolist() == liq
    assert round(df["pnl"].sum(), 2) == round(res.portfolio_pnl, 2)
    assert round(df["value_after"].sum(), 2) == round(res.portfolio_after, 2)
    note = text.split("# table: shock,", 1)[1].split("\n", 1)[0]
    assert f"{res.portfolio_pnl:.2f}" in note


def test_formula_in_an_id_is_neutralised_and_negatives_stay_numbers(tmp_path):
    p = portfolio_from_dict({"name": "=HYPERLINK(\"http://x\")", "prices": {"BTC": 80000},
                             "positions": [{"id": INJECTION, "kind": "spot", "asset": "BTC", "quantity": 1},
                                           {"id": "@SUM(A1:A9)", "kind": "perp", "asset": "BTC", "side": "long",
                                            "quantity": 0.1, "entry_price": 80000, "leverage": 5},
                                           {"id": "-2+3", "kind": "spot", "asset": "BTC", "quantity": 0.5},
                                           {"id": "+1 x", "kind": "spot", "asset": "BTC", "quantity": 0.5}]})
    res = shock_of(p, -0.1)
    text = to_csv(shock_tables(res), [("Portfolio", p.name)])
    head, tables = read_tables(text)
    assert head[0][1] == "'=HYPERLINK(\"http://x\")"
    ids = [r[0] for r in tables["shock"][1:]]
    assert ids == ["'" + INJECTION, "'@SUM(A1:A9)", "'-2+3", "'+1 x"]
    # no cell of the file starts a formula, except numbers
    for r in list(csv.reader(io.StringIO(text.lstrip("\ufeff")))):
        for v in r:
            if v[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(v)                                  # a number, nothing else
    df = pd.read_csv(io.StringIO(text), comment="#")
    assert df["pnl"].dtype == float and (df["pnl"] < 0).all()
    assert df.loc[0, "pnl"] == pytest.approx(-8000.0)
    raw_pnl = [r[-1] for r in tables["shock"][1:]]
    assert raw_pnl[0] == "-8000.00"                       # written as a number, not "'-8000.00"


# --------------------------------------------------------------------------- replay
def test_replay_tables_with_a_liquidated_cross_account(portfolio):
    res = run(replay_job(portfolio.copy(), ReplaySpec(scenario_id="2022-11-06-ftx-collapse")))
    steps, pos = replay_tables(res)
    assert steps.name == "steps" and pos.name == "positions"
    s = steps.frame
    assert len(s) == len(res.value) and s["step"].tolist() == list(range(len(res.value)))
    assert np.allclose(s["portfolio_value"], res.value)
    assert {f"value:{pid}" for pid in res.position_values} <= set(s.columns)
    assert {f"health_factor:{lid}" for lid in res.health} <= set(s.columns)
    df = pos.frame
    wallet = df[df["kind"] == "wallet"].iloc[0]
    assert wallet["liquidated"] and wallet["value_after"] == 0.0 and wallet["pnl"] == -3000.0
    pf = res.report["portfolio"]
    assert df["pnl"].sum() == pytest.approx(pf["pnl"])      # wallet row included: adds up
    assert df[df["kind"] != "wallet"]["pnl"].sum() != pytest.approx(pf["pnl"])
    text = to_csv([steps, pos])
    _, tables = read_tables(text)
    assert list(tables) == ["steps", "positions"]
    out = frame(tables["positions"])
    assert round(out["pnl"].sum(), 2) == round(pf["pnl"], 2)
    assert set(out["liquidated"]) == {"yes", "no"}


def test_reverse_tables(portfolio):
    rep = run(reverse_job(portfolio.copy(), {}))
    pos, loss = reverse_tables(rep)
    assert len(pos.frame) == len(rep["positions"]) and "btc_move_to_liquidation" in pos.frame.columns
    assert loss.frame["portfolio_loss"].tolist() == [0.1, 0.25, 0.5]


@pytest.mark.skipif(not montecarlo_available(), reason="engine.montecarlo not available")
def test_montecarlo_tables(portfolio):
    upd = run(montecarlo_job(portfolio.copy(), MonteCarloSettings(n_paths=500, days=5, seed=3)))
    summary, pos, fan = (t.frame for t in montecarlo_tables(upd))
    assert summary["paths"].tolist() == [500] and summary["seed"].tolist() == [3]
    assert summary["complete"].tolist() == [True]
    assert {"var_0.95", "var_0.99", "cvar_0.95", "cvar_0.99"} <= set(summary.columns)
    assert pos["id"].tolist() == upd.ids
    assert pos["liquidation_probability"].between(0, 1).all()
    assert len(fan.columns) == 1 + len(upd.chunk.fan_levels)
    assert fan["day"].iloc[0] == 0 and fan["day"].iloc[-1] == pytest.approx(5.0)
    assert np.allclose(fan.iloc[:, 1:].to_numpy().T, np.asarray(upd.chunk.fan, float))
    text = to_csv(montecarlo_tables(upd))
    assert "complete" in text and ",yes," in text
