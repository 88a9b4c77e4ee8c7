"""Export frames, headless: the CSV tables built from each result, without a dialog."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("PySide6")

from engine import compile_book, load_portfolio, resolve_betas  # noqa: E402
from ui.export import (frames_to_csv, montecarlo_frames, replay_frames, reverse_frame,  # noqa: E402
                       shock_frame)
from ui.files import demo_path  # noqa: E402
from ui.jobs import (MonteCarloSettings, ReplaySpec, evaluate_shock, montecarlo_available,  # noqa: E402
                     montecarlo_job, replay_job, reverse_job)


def run(gen):
    """Drive a job generator to its result, on this thread."""
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(demo_path())


def test_shock_frame(portfolio):
    book = compile_book(portfolio)
    betas = {a: b for a, (b, _) in resolve_betas(book.assets, {}).items()}
    res = evaluate_shock(book, betas, -0.4)
    df = shock_frame(res)
    assert list(df.columns) == ["id", "asset", "kind", "asset_move", "value_before", "value_after", "pnl",
                                "liquidated"]
    assert len(df) == book.n_positions and df["id"].tolist() == list(book.ids)
    assert df["liquidated"].dtype == bool
    assert np.allclose(df["pnl"], df["value_after"] - df["value_before"])
    btc = df[df["asset"] == "BTC"]["asset_move"]
    assert np.allclose(btc, -0.4)
    text = frames_to_csv(df)
    assert text.startswith("id,asset,kind,asset_move,") and "#" not in text.splitlines()[0]


def test_replay_frames(portfolio):
    res = run(replay_job(portfolio.copy(), ReplaySpec(scenario_id="2022-11-06-ftx-collapse")))
    frames = replay_frames(res)
    steps, pos = frames["steps"], frames["positions"]
    assert len(steps) == len(res.value) and steps["step"].tolist() == list(range(len(res.value)))
    assert np.allclose(steps["portfolio_value"], res.value)
    assert {f"value:{pid}" for pid in res.position_values} <= set(steps.columns)
    assert {f"health_factor:{lid}" for lid in res.health} <= set(steps.columns)
    assert pos["id"].tolist() == [p["id"] for p in res.report["positions"]]
    assert "liquidation_price" in pos.columns and "pnl" in pos.columns
    text = frames_to_csv(frames)
    assert text.startswith("# steps\n") and "\n\n# positions\n" in text


def test_reverse_frame(portfolio):
    rep = run(reverse_job(portfolio.copy(), {}))
    df = reverse_frame(rep)
    assert isinstance(df, pd.DataFrame) and len(df) == len(rep["positions"])
    assert "btc_move_to_liquidation" in df.columns


@pytest.mark.skipif(not montecarlo_available(), reason="engine.montecarlo not available")
def test_montecarlo_frames(portfolio):
    upd = run(montecarlo_job(portfolio.copy(), MonteCarloSettings(n_paths=500, days=5, seed=3)))
    frames = montecarlo_frames(upd)
    summary, pos, fan = frames["summary"], frames["positions"], frames["fan"]
    assert summary["paths"].tolist() == [500] and summary["seed"].tolist() == [3]
    assert {"var_0.95", "var_0.99", "cvar_0.95", "cvar_0.99"} <= set(summary.columns)
    assert pos["id"].tolist() == upd.ids
    assert pos["liquidation_probability"].between(0, 1).all()
    # one column per fan level after the day column; days from 0 to the horizon
    assert len(fan.columns) == 1 + len(upd.chunk.fan_levels)
    assert fan["day"].iloc[0] == 0 and fan["day"].iloc[-1] == pytest.approx(5.0)
    assert np.allclose(fan.iloc[:, 1:].to_numpy().T, np.asarray(upd.chunk.fan, float))
    assert len(set(fan.columns)) == len(fan.columns)
