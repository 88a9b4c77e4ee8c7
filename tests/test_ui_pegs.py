"""GUI de-pegs, through the real window offscreen: the Shock view's de-peg spin boxes reach
the engine's instant shock, and the Monte Carlo view's de-peg control reaches the request."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from engine.scenarios import bundled_beta  # noqa: E402
from test_ui_main_window import window  # noqa: E402,F401  (the real window, as there)
from ui.jobs import build_request, montecarlo_available  # noqa: E402

WAIT = 15_000

BOOK = {
    "format": "crashlab.portfolio/1", "name": "pegged",
    "prices": {"BTC": 100000, "ETH": 3000, "WETH": 3000, "USDE": 1, "USDC": 1},
    "positions": [
        {"id": "btc", "kind": "spot", "asset": "BTC", "quantity": 0.1},
        {"id": "weth", "kind": "spot", "asset": "WETH", "quantity": 2},
        {"id": "usde-loan", "kind": "loan", "close_factor": 0.5, "liquidation_bonus": 0.05,
         "collateral": [{"asset": "USDE", "quantity": 10000, "liquidation_threshold": 0.9}],
         "debt": [{"asset": "USDC", "quantity": 8500}]}]}


@pytest.fixture
def pegged(window, qtbot, tmp_path):
    """The real main window (test_ui_main_window's fixture) with BOOK opened."""
    f = tmp_path / "pegged.json"
    f.write_text(json.dumps(BOOK), encoding="utf-8")
    assert window.files.open_path(str(f))
    qtbot.waitUntil(lambda: window.controller.analysis is not None
                    and "USDE" in window.controller.analysis.book.assets, timeout=WAIT)
    return window


def test_shock_view_depeg_reaches_the_engine_shock(pegged, qtbot):
    window = pegged
    sv = window.shock_view
    window.tabs.setCurrentWidget(sv)
    sv.set_move(0.0)
    assert set(sv.depeg_spins) == {"WETH", "USDE", "USDC"}          # the pegged assets held
    assert sv.depeg_group.isVisible()
    status = dict(zip(sv.results_model.column_values(0), sv.results_model.column_values(7)))
    assert status["usde-loan"] == "ok"
    # USDe 6 % below its peg: 0.94 < 8,500 / 9,000 = 0.9444, the loan is liquidated with BTC flat
    with qtbot.waitSignal(window.controller.analysis_ready, timeout=WAIT):
        sv.set_depeg("USDE", -0.06)
    res = window.controller.shock
    assert res.moves["USDE"] == pytest.approx(-0.06) and res.moves["BTC"] == 0.0
    assert res.moves["WETH"] == 0.0 and res.moves["USDC"] == 0.0
    status = dict(zip(sv.results_model.column_values(0), sv.results_model.column_values(7)))
    assert status["usde-loan"] == "LIQUIDATED" and status["btc"] == "ok"
    assert window.controller.depegs == {"USDE": pytest.approx(-0.06)}
    # the sensitivity curve is drawn with the de-peg held: at BTC 0 it is the shock's value
    sv.set_move(0.0)
    x, y = sv.sensitivity.curve.getData()
    k = int(abs(x).argmin())
    assert y[k] == pytest.approx(window.controller.shock.portfolio_after)
    # a wrapped token: WETH 10 % below ETH on top of a BTC move
    sv.set_depeg("USDE", 0.0)
    sv.set_depeg("WETH", -0.10)
    sv.set_move(-0.30)
    moves = window.controller.shock.moves
    eth_beta = bundled_beta("ETH")[0]
    assert moves["WETH"] == pytest.approx(0.7 ** eth_beta * 0.9 - 1)
    assert moves["USDE"] == 0.0


@pytest.mark.skipif(not montecarlo_available(), reason="engine.montecarlo not in this build")
def test_montecarlo_view_depeg_control_reaches_the_request(pegged, qtbot):
    window = pegged
    mv = window.montecarlo_view
    assert mv.settings().depeg == "default" and build_request(mv.settings()).depeg == "default"
    mv.depeg.setCurrentText("off")
    assert build_request(mv.settings()).depeg == "off"
    mv.depeg.setCurrentText("3")
    assert build_request(mv.settings()).depeg == 3.0
    s = mv.settings()
    s.n_paths, s.days = 200, 5
    with qtbot.waitSignal(window.controller.mc_ready, timeout=60_000) as blocker:
        window.controller.start_montecarlo(s, live=False)
    notes = blocker.args[0].chunk.notes
    assert any("de-peg jumps at 3 per pegged asset per year" in n for n in notes)
    mv.depeg.setCurrentText("often")
    from engine.errors import InputError
    with pytest.raises(InputError, match="depeg"):
        build_request(mv.settings())
