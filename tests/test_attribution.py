"""One home for attribution: the liquidated-account rule and P&L by asset agree across the
scenario stress report, the instant shock and the sensitivity curve, and equal a plain sum."""
from pathlib import Path

import numpy as np
import pytest

import cli
from engine import compile_book, load_portfolio, portfolio_from_dict, resolve_betas, shock_scenario, stress
from engine.attribution import (PnL, account_liquidated, account_liquidation_step, pnl_by_asset,
                                wallet_key, wallet_losses)
from engine.stress import sensitivity, shock

DEMO = str(Path(__file__).resolve().parents[1] / "resources" / "demo_portfolio.json")


def _betas(book):
    return {a: b for a, (b, _) in resolve_betas(book.assets).items()}


def _cross_book(wallet=1000.0):
    return portfolio_from_dict({
        "format": "crashlab.portfolio/1", "prices": {"BTC": 100000, "ETH": 3000},
        "accounts": [{"id": "acc", "wallet_balance": wallet, "venue": "binance"},
                     {"id": "idle", "wallet_balance": 500.0}],
        "positions": [
            {"id": "btc-x", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 0.2,
             "entry_price": 100000, "margin_mode": "cross", "account": "acc"},
            {"id": "eth-x", "kind": "perp", "asset": "ETH", "side": "long", "quantity": 2,
             "entry_price": 3000, "margin_mode": "cross", "account": "acc"},
            {"id": "btc-spot", "kind": "spot", "asset": "BTC", "quantity": 0.1},
        ]})


def test_account_rule_and_wallet_loss():
    p = _cross_book()
    book = compile_book(p)
    liq = np.array([[-1, -1, -1], [7, 7, -1]])       # path 1: the account dies at step 7
    steps = account_liquidation_step(book, liq)
    assert steps.tolist() == [[-1, -1], [7, -1]]      # "idle" has no positions: never liquidated
    assert account_liquidated(book, liq).tolist() == [[False, False], [True, False]]
    assert wallet_losses(book, liq).tolist() == [1000.0, 0.0]
    by = pnl_by_asset(book, PnL(np.array([1.0, 2.0, 3.0]), np.zeros(3), np.array([-1000.0, 0.0]),
                                np.zeros(0)))
    assert by == {"BTC": 4.0, "ETH": 2.0, wallet_key("acc"): -1000.0}


@pytest.mark.parametrize("move", [-0.5, -0.2, 0.0, 0.3])
def test_stress_and_shock_attribute_alike(move):
    """The shock slider and the stress report of the same shock give the same P&L by asset
    (one rule), and by_asset adds up to the portfolio P&L."""
    for p in (load_portfolio(DEMO), _cross_book()):
        book = compile_book(p)
        betas = _betas(book)
        r = shock(book, betas, move)
        spec = {"BTC": move}
        rep = stress(p, shock_scenario(book.assets, book.today, spec), book)
        assert rep["by_asset"].keys() == r.by_asset.keys()
        for k, v in rep["by_asset"].items():
            assert r.by_asset[k] == pytest.approx(v, abs=1e-6)
        assert sum(r.by_asset.values()) == pytest.approx(r.portfolio_pnl, abs=1e-6)
        assert sum(rep["by_asset"].values()) == pytest.approx(rep["portfolio"]["pnl"], abs=1e-6)
        assert [a["liquidated"] for a in rep["accounts"]] == [a["liquidated"] for a in r.accounts]


def test_liquidated_account_loses_its_wallet_once():
    p = _cross_book(wallet=1000.0)
    book = compile_book(p)
    r = shock(book, _betas(book), -0.5)
    assert r.accounts[0]["liquidated"] and not r.accounts[1]["liquidated"]
    assert r.by_asset[wallet_key("acc")] == -1000.0
    assert wallet_key("idle") not in r.by_asset
    assert r.portfolio_after == pytest.approx(0.1 * 50000 + 500.0)


def test_sensitivity_agrees_with_shock():
    p = load_portfolio(DEMO)
    book = compile_book(p)
    betas = _betas(book)
    grid = np.array([-0.6, -0.3, 0.0, 0.4])
    sens = sensitivity(book, betas, grid)
    for g, v in zip(grid, sens.value):
        assert shock(book, betas, g).portfolio_after == pytest.approx(v, rel=1e-12)
    assert sens.value_today == pytest.approx(shock(book, betas, 0.0).portfolio_before)


def test_engine_errors_name_fields_and_cli_names_flags(capsys):
    from engine import InputError, parse_shock
    with pytest.raises(InputError) as e:
        parse_shock("BTC=-130%")
    assert e.value.field == "shock.BTC" and "--" not in str(e.value)
    assert cli.flag_for("shock.BTC") == "--shock BTC"
    assert cli.flag_for("n_paths") == "--paths"
    assert cli.flag_for("positions[2].leverage") == "positions[2].leverage"
    code = cli.main(["stress", DEMO, "--shock", "BTC=-130%"])
    err = capsys.readouterr().err
    assert code == 2 and "'--shock BTC'" in err
