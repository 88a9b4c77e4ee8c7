"""Quantile levels are fractions everywhere: the engine's fan, the JSON report's keys, the
CSV export's column names, and no view guessing units."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from engine import compile_book, load_portfolio
from engine.montecarlo import (FAN_LEVELS, VAR_LEVELS, MonteCarloRequest, level_key, run_montecarlo,
                               simulate_chunks)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo_portfolio.json"
FAN_KEYS = ["0.01", "0.05", "0.25", "0.5", "0.75", "0.95", "0.99"]


@pytest.fixture(scope="module")
def demo():
    return load_portfolio(DEMO)


def test_levels_are_fractions_and_keys_match_var():
    assert all(0.0 < q < 1.0 for q in FAN_LEVELS)
    assert [level_key(q) for q in FAN_LEVELS] == FAN_KEYS
    assert all(level_key(float(k)) == k for k in VAR_LEVELS)


def test_json_fan_keyed_like_var(demo):
    d = run_montecarlo(demo, MonteCarloRequest(n_paths=400, days=3, seed=1))
    assert d["fan"]["levels"] == FAN_KEYS
    assert all(level_key(float(k)) == k for k in list(d["var"]) + d["fan"]["levels"])
    assert len(d["fan"]["values"]) == len(FAN_KEYS)
    med = d["fan"]["values"][FAN_KEYS.index("0.5")]
    assert med[0] == pytest.approx(d["portfolio"]["value_before"])


def test_fan_csv_columns_are_p1_to_p99(demo):
    from reporting import to_csv
    from ui.export import montecarlo_tables
    from ui.jobs import MCUpdate
    book = compile_book(demo)
    last = None
    for last in simulate_chunks(book, MonteCarloRequest(n_paths=300, days=4, seed=2)):
        pass
    tables = {t.name: t.frame for t in montecarlo_tables(MCUpdate(last, list(book.ids), list(book.labels), 1, 2))}
    fan = tables["fan"]
    assert list(fan.columns) == ["day", "p1", "p5", "p25", "p50", "p75", "p95", "p99"]
    assert fan["p50"].iloc[0] == pytest.approx(last.value_before)
    assert (fan["p1"] <= fan["p99"]).all()
    text = to_csv(montecarlo_tables(MCUpdate(last, list(book.ids), list(book.labels), 1, 2)))
    block = text.split("# table: fan\n", 1)[1]
    assert pd.read_csv(io.StringIO(block)).columns.tolist() == list(fan.columns)
    assert "p100" not in text and "p9900" not in text


def test_no_view_guesses_quantile_units():
    guess = re.compile(r"max\(\s*levels\s*\)\s*>\s*1")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "ui").rglob("*.py")
                 if guess.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
