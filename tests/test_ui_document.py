"""The editable document (no Qt): typed values kept, engine messages per cell."""
from __future__ import annotations

import json

import pytest

from ui.document import Document, error_column, format_legs, parse_legs, parse_row
from ui.jobs import analysis_job, evaluate_shock

DEMO = "resources/demo_portfolio.json"


@pytest.fixture
def doc():
    from engine.resources import resource_path
    return Document.from_file(resource_path("demo_portfolio.json"))


@pytest.mark.parametrize("text, legs", [
    ("ETH 12 @LT0.83; WBTC 0.5", [{"asset": "ETH", "quantity": 12.0, "liquidation_threshold": 0.83},
                                  {"asset": "WBTC", "quantity": 0.5}]),
    ("eth 12 LT=0.8 bonus=5%", [{"asset": "ETH", "quantity": 12.0, "liquidation_threshold": 0.8,
                                 "liquidation_bonus": 0.05}]),
    ("ETH:12:0.83|USDC:100", [{"asset": "ETH", "quantity": 12.0, "liquidation_threshold": 0.83},
                              {"asset": "USDC", "quantity": 100.0}]),
    ("ETH twelve", [{"asset": "ETH", "quantity": "twelve"}]),
])
def test_parse_legs(text, legs):
    assert parse_legs(text) == legs


def test_unparseable_legs_kept_as_text():
    assert parse_legs("ETH 12 foo") == "ETH 12 foo"
    assert format_legs("ETH 12 foo") == "ETH 12 foo"
    assert format_legs(parse_legs("ETH 12 @LT0.83; WBTC 0.5")) == "ETH 12 @LT0.83; WBTC 0.5"


def test_parse_row_collects_every_field_error():
    raw = {"id": "x", "kind": "perp", "asset": "BTC", "side": "sideways", "quantity": "-1",
           "entry_price": "abc", "leverage": 5}
    pos, errors, _ = parse_row(raw)
    assert pos is None
    assert {error_column(e.field) for e in errors} == {"side", "quantity", "entry_price"}
    assert all("'x'" in str(e) for e in errors)


def test_error_column_mapping():
    assert error_column("collateral[1].quantity") == "collateral"
    assert error_column("positions[3].id") == "id"
    assert error_column("leverage") == "leverage"


def test_validation_excludes_bad_rows_and_keeps_text(doc):
    doc.set_field(2, "leverage", "ten")
    doc.set_field(3, "account", "nope")
    doc.set_field(3, "margin_mode", "cross")
    v = doc.validate()
    assert set(v.excluded) == {"sol-10x", "btc-5x-binance"}
    assert len(v.portfolio.positions) == 5
    out = doc.to_dict()
    assert next(p for p in out["positions"] if p["id"] == "sol-10x")["leverage"] == "ten"
    json.dumps(out)


def test_holdings_csv_with_a_bad_row_opens_with_that_row_marked(tmp_path):
    f = tmp_path / "exchange-export.csv"
    f.write_text("symbol,side,size,entry_price,leverage,mark_price,mmr\n"
                 "BTCUSDT,buy,0.2,84000,10,85000,0.5%\n"
                 "ETHUSDT,sell,two,3000,5,2950,0.5%\n"
                 "SOLUSDT,buy,100,130,10,121,0.5%\n")
    doc = Document.from_file(f)
    assert [r.raw["asset"] for r in doc.rows] == ["BTC", "ETH", "SOL"]
    v = doc.validate()
    assert len(v.portfolio.positions) == 2 and len(v.excluded) == 1
    uid = doc.rows[1].uid
    issue = v.cells[(uid, "quantity")]
    assert issue.severity == "error" and "two" in issue.message
    assert doc.rows[1].raw["quantity"] == "two"                 # kept as typed, to be fixed
    doc.set_field(1, "quantity", "2")
    assert len(doc.validate().portfolio.positions) == 3


def test_bad_wallet_balance_is_marked_on_its_own_cell(doc):
    doc.accounts.append({"id": "spare", "wallet_balance": "12k"})
    v = doc.validate()
    i = len(doc.accounts) - 1
    assert (i, "wallet_balance") in v.accounts and (i, "id") not in v.accounts
    assert "12k" in v.accounts[(i, "wallet_balance")].message


def test_duplicate_ids_are_marked(doc):
    doc.set_field(1, "id", "cold-btc")
    v = doc.validate()
    uid = doc.rows[1].uid
    assert "duplicate position id" in v.cells[(uid, "id")].message


def test_analysis_and_shock_without_gui(doc):
    port = doc.validate().portfolio
    gen = analysis_job(port)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        a = stop.value
    assert a.value_today == pytest.approx(96265.0)
    assert {pid for pid, _, _ in a.grid_liq} >= {"sol-10x", "btc-5x-binance", "aave-eth"}
    r = evaluate_shock(a.book, a.betas, -0.3)
    assert r.portfolio_after < r.portfolio_before
    assert r.moves["BTC"] == pytest.approx(-0.3)
    assert r.moves["SOL"] == pytest.approx(0.7 ** a.betas["SOL"] - 1)


def test_revalidation_re_parses_only_the_edited_row(monkeypatch):
    """Parsed rows are cached: after one edit in a 1,000-row book only that row is parsed
    again (counted, not timed: timings do not belong in tests)."""
    import ui.document as document
    rows = [{"id": f"p{i}", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 0.1,
             "entry_price": 85000, "leverage": 5, "margin_mode": "isolated",
             "maintenance_margin_rate": 0.005} for i in range(1000)]
    d = Document({"name": "big", "prices": {"BTC": 85000}, "positions": rows})
    calls = []
    real = document.position_from_dict
    monkeypatch.setattr(document, "position_from_dict", lambda *a, **k: calls.append(1) or real(*a, **k))
    v = d.validate()
    first = len(calls)
    d.set_field(5, "quantity", 0.2)
    d.validate()
    assert v.n_errors == 0 and len(v.portfolio.positions) == 1000
    assert first >= 1000 and len(calls) - first == 1
