"""The 28 test vectors of LIQUIDATION.md §8 (plus the worked examples around them).

Where a vector is a position a user can enter, it goes through the whole engine path
(portfolio dict -> compile_book -> liquidation_prices), not only the formula function.
Tolerance: expected values are published rounded to the cent, so |got - expected| <= 0.005.
"""
import numpy as np
import pytest

from engine import compile_book, liquidation_prices, portfolio_from_dict
from engine import liquidation as lq
from engine.venues import single_tier, tier_table

CENT = 0.005 + 1e-9


def lp_of(positions, prices, accounts=(), pid=None):
    p = portfolio_from_dict({"prices": prices, "accounts": list(accounts), "positions": positions})
    rows = {r["id"]: r for r in liquidation_prices(p, compile_book(p))}
    return rows[pid or positions[0]["id"]]["liquidation_price"]


def perp(side, q, ep, **kw):
    d = {"id": "x", "kind": "perp", "asset": kw.pop("asset", "BTC"), "side": side, "quantity": q,
         "entry_price": ep, "margin_mode": kw.pop("margin_mode", "isolated")}
    d.update(kw)
    return d


# ------------------------------------------------------------------ Binance (1-10)
@pytest.mark.parametrize("n,side,q,ep,lev,mmr,cum,expected", [
    (1, "long", 0.1, 60000, 10, 0.004, 0, 54216.87),
    (2, "short", 0.1, 60000, 10, 0.004, 0, 65737.05),
    (3, "long", 20, 60000, 20, 0.0065, 950, 57325.11),
    (9, "short", 10, 3000, 20, 0.004, 0, 3137.45),
])
def test_binance_isolated_explicit_tier(n, side, q, ep, lev, mmr, cum, expected):
    got = lp_of([perp(side, q, ep, leverage=lev, maintenance_margin_rate=mmr, maintenance_amount=cum)],
                {"BTC": ep})
    assert got == pytest.approx(expected, abs=CENT)


@pytest.mark.parametrize("n,asset,side,q,ep,lev,expected", [
    (1, "BTC", "long", 0.1, 60000, 10, 54216.87),
    (2, "BTC", "short", 0.1, 60000, 10, 65737.05),
    (3, "BTC", "long", 20, 60000, 20, 57325.11),
    (4, "BTC", "short", 9.9, 60000, 10, 65669.11),     # tier 2 -> 3 crossing
    (9, "ETH", "short", 10, 3000, 20, 3137.45),
    (10, "SOL", "long", 500, 150, 5, 120.72),
])
def test_binance_isolated_from_venue_table(n, asset, side, q, ep, lev, expected):
    got = lp_of([perp(side, q, ep, asset=asset, leverage=lev, venue="binance")], {asset: ep})
    assert got == pytest.approx(expected, abs=CENT)


def test_b4_tier_iteration_steps():
    table = tier_table("binance", "BTC")
    lp, k = lq.tiered_liquidation_price(-1, 9.9, 60000, 59400, table)
    assert k == 2 and lp == pytest.approx(65669.11, abs=CENT)
    # the first, unstable tier-2 estimate of the FAQ walk-through
    assert lq.generic_liquidation_price(-1, 9.9, 60000, 59400, 0.005, 50) == pytest.approx(65676.67, abs=CENT)
    # closed form (max/min of per-tier roots) equals the iteration
    vec = lq.tiered_liquidation_price_vec(np.array([-1.0]), np.array([9.9]), np.array([60000.0]),
                                          np.array([59400.0]), table.mmr[None], table.cum[None])
    assert vec[0] == pytest.approx(lp, rel=1e-12)


B5_WB = 1535443.01
B5 = dict(btc=dict(q=109.488, ep=32481.98, mark=31967.27, mmr=0.025, cum=16300),
          eth=dict(q=3683.979, ep=1456.84, mark=1335.18, mmr=0.10, cum=135365))


def test_b5_components():
    b, e = B5["btc"], B5["eth"]
    tmm_btc = b["q"] * b["mark"] * b["mmr"] - b["cum"]
    upnl_btc = b["q"] * (b["mark"] - b["ep"])
    assert tmm_btc == pytest.approx(71200.81, abs=CENT)
    assert upnl_btc == pytest.approx(-56354.57, abs=CENT)
    assert e["q"] * e["mark"] * e["mmr"] - e["cum"] == pytest.approx(356512.51, abs=CENT)
    assert e["q"] * (e["mark"] - e["ep"]) == pytest.approx(-448192.89, abs=CENT)
    # vector 5 through the single-contract Binance cross formula
    got = lq.cross_liquidation_price_single(1, e["q"], e["ep"], B5_WB, tmm_btc, upnl_btc,
                                            single_tier(e["mmr"], e["cum"]))
    assert got == pytest.approx(1153.26, abs=CENT)


def _b5_book():
    b, e = B5["btc"], B5["eth"]
    return ([perp("long", b["q"], b["ep"], id="btc", margin_mode="cross", account="acc",
                  maintenance_margin_rate=b["mmr"], maintenance_amount=b["cum"]),
             perp("long", e["q"], e["ep"], id="eth", asset="ETH", margin_mode="cross", account="acc",
                  maintenance_margin_rate=e["mmr"], maintenance_amount=e["cum"])],
            {"BTC": b["mark"], "ETH": e["mark"]}, [{"id": "acc", "wallet_balance": B5_WB}])


def test_vector5_binance_cross_eth_through_engine():
    pos, prices, accs = _b5_book()
    assert lp_of(pos, prices, accs, pid="eth") == pytest.approx(1153.26, abs=CENT)


def test_vector7_binance_cross_btc_through_engine():
    pos, prices, accs = _b5_book()
    assert lp_of(pos, prices, accs, pid="btc") == pytest.approx(26316.89, abs=CENT)


def test_vector6_binance_isolated_eth():
    e = B5["eth"]
    got = lp_of([perp("long", e["q"], e["ep"], asset="ETH", isolated_margin=B5_WB,
                      maintenance_margin_rate=e["mmr"], maintenance_amount=e["cum"])], {"ETH": e["mark"]})
    assert got == pytest.approx(1114.78, abs=CENT)


def test_vector8_binance_cross_hedge_mode():
    pos = [perp("long", 1, 60000, id="L", margin_mode="cross", account="a", maintenance_margin_rate=0.004),
           perp("short", 0.5, 62000, id="S", margin_mode="cross", account="a", maintenance_margin_rate=0.004)]
    accs = [{"id": "a", "wallet_balance": 10000}]
    assert lp_of(pos, {"BTC": 60000}, accs, pid="L") == pytest.approx(38461.54, abs=CENT)
    assert lp_of(pos, {"BTC": 60000}, accs, pid="S") == pytest.approx(38461.54, abs=CENT)


# ------------------------------------------------------------------ Bybit (11-15)
@pytest.mark.parametrize("n,side,margin,expected", [
    (11, "long", 400, 19700.00),
    (12, "short", 400 + 3000, 23300.00),    # extra margin 3,000
    (13, "long", 400 - 200, 19900.00),      # 200 funding paid out of margin
])
def test_bybit_classic(n, side, margin, expected):
    got = lp_of([perp(side, 1, 20000, isolated_margin=margin, venue="bybit",
                      maintenance_margin_rate=0.005, maintenance_amount=0)], {"BTC": 20000})
    assert got == pytest.approx(expected, abs=CENT)


def test_vector14_bybit_tier3_from_table():
    got = lp_of([perp("long", 50, 60000, leverage=10, venue="bybit")], {"BTC": 60000})
    assert got == pytest.approx(54317.60, abs=CENT)
    # mark-based MM (generic §0 equation) gives the other figure of LIQUIDATION.md
    alt = lq.generic_liquidation_price(1, 50, 60000, 300000, 0.0063, 3020)
    assert alt == pytest.approx(54281.57, abs=CENT)


def test_vector15_bybit_bankruptcy():
    assert lq.bybit_bankruptcy_price(1, 10000, 50) == pytest.approx(9800.00, abs=CENT)


# ------------------------------------------------------------------ OKX (16-18)
@pytest.mark.parametrize("n,asset,side,q,ep,m,mmr,expected", [
    (16, "BTC", "long", 0.1, 60000, 600, 0.004, 54244.10),
    (17, "BTC", "short", 0.1, 60000, 600, 0.004, 65704.33),
    (18, "ETH", "short", 5, 3000, 750, 0.005, 3132.77),
])
def test_okx_isolated(n, asset, side, q, ep, m, mmr, expected):
    got = lp_of([perp(side, q, ep, asset=asset, isolated_margin=m, venue="okx",
                      maintenance_margin_rate=mmr)], {asset: ep})
    assert got == pytest.approx(expected, abs=CENT)


def test_o3_freqtrade_vector():
    m = 10 / 3
    assert lq.okx_liquidation_price(1, 1, 10, m, 0.01, 0.0006) == pytest.approx(6.738090425, rel=1e-9)
    assert lq.okx_liquidation_price(-1, 1, 10, m, 0.01, 0.0006) == pytest.approx(13.193482419, rel=1e-9)


def test_o4_okx_spot_margin():
    got = lq.okx_spot_margin_liquidation_price(2000, 0, 0.05, 0, 0.08, 0.001)
    assert got == pytest.approx(43243.20, abs=CENT)


# ------------------------------------------------------------------ Hyperliquid (19-23)
@pytest.mark.parametrize("n,asset,side,q,ep,m,maxlev,expected", [
    (19, "BTC", "long", 0.00077, 62739, 24.137992, 50, 31708.04),
    (20, "ETH", "short", 0.019, 2642.8, 25.091876, 50, 3924.18),
    (21, "SOL", "long", 0.6, 173.06, 20.735658, 20, 142.05),
    (22, "BTC", "long", 1, 100000, 10000, 40, 91139.24),
])
def test_hyperliquid_isolated(n, asset, side, q, ep, m, maxlev, expected):
    s = 1 if side == "long" else -1
    assert lq.hyperliquid_liquidation_price(s, q, ep, m, maxlev) == pytest.approx(expected, abs=CENT)
    got = lp_of([perp(side, q, ep, asset=asset, isolated_margin=m, venue="hyperliquid",
                      maintenance_margin_rate=1 / (2 * maxlev))], {asset: ep})
    assert got == pytest.approx(expected, abs=CENT)


def test_hyperliquid_h1_exchange_reported():
    got = lq.hyperliquid_liquidation_price(1, 0.00077, 62739, 24.137992, 50)
    assert got == pytest.approx(31708.0384, abs=1e-3)


def test_vector22_from_current_table():
    got = lp_of([perp("long", 1, 100000, isolated_margin=10000, venue="hyperliquid")], {"BTC": 100000})
    assert got == pytest.approx(91139.24, abs=CENT)


def test_vector23_hyperliquid_cross_from_table():
    pos = [perp("short", 1, 4000, asset="ETH", margin_mode="cross", account="hl")]
    accs = [{"id": "hl", "wallet_balance": 5000, "venue": "hyperliquid"}]
    assert lp_of(pos, {"ETH": 4000}, accs) == pytest.approx(8823.53, abs=CENT)


# ------------------------------------------------------------------ Aave (24-26, A1-A4)
def loan(coll, debt, **kw):
    d = {"id": "x", "kind": "loan",
         "collateral": [{"asset": a, "quantity": q, "liquidation_threshold": lt} for a, q, lt in coll],
         "debt": [{"asset": a, "quantity": q} for a, q in debt]}
    d.update(kw)
    return d


def test_vector24_aave_single_collateral():
    p = portfolio_from_dict({"prices": {"ETH": 3000, "USDC": 1},
                             "positions": [loan([("ETH", 10, 0.83)], [("USDC", 15000)])]})
    row = liquidation_prices(p)[0]
    assert row["health_factor"] == pytest.approx(1.66, abs=1e-9)
    assert row["liquidation_price"] == pytest.approx(1807.23, abs=CENT)
    assert row["distance"] == pytest.approx(-0.3976, abs=5e-5)


def test_vector25_aave_two_collaterals_btc_only():
    prices = {"BTC": 100000, "WSTETH": 4000, "USDC": 1}
    p = portfolio_from_dict({"prices": prices, "positions": [
        loan([("BTC", 1, 0.78), ("WSTETH", 10, 0.81)], [("USDC", 60000)])]})
    row = liquidation_prices(p)[0]
    assert row["asset"] == "BTC"
    assert row["health_factor"] == pytest.approx(1.84, abs=1e-9)
    assert row["liquidation_price"] == pytest.approx(35384.62, abs=CENT)
    assert lq.uniform_shock_to_hf1(110400, 60000) == pytest.approx(0.4565, abs=5e-5)


def test_vector26_aave_volatile_debt():
    p = portfolio_from_dict({"prices": {"USDC": 1, "ETH": 3000}, "positions": [
        loan([("USDC", 100000, 0.78)], [("ETH", 20)])]})
    row = liquidation_prices(p)[0]
    assert row["health_factor"] == pytest.approx(1.30, abs=1e-9)
    assert row["asset"] == "ETH"
    assert row["liquidation_price"] == pytest.approx(3900.00, abs=CENT)


def test_aave_preset_fills_threshold():
    p = portfolio_from_dict({"prices": {"ETH": 3000, "USDC": 1}, "positions": [
        {"id": "x", "kind": "loan", "preset": "aave-v3", "collateral": [{"asset": "ETH", "quantity": 10}],
         "debt": [{"asset": "USDC", "quantity": 15000}]}]})
    assert liquidation_prices(p)[0]["liquidation_price"] == pytest.approx(1807.23, abs=CENT)


def test_a4_partial_then_full_liquidation():
    cq, dq = np.array([10.0]), np.array([15000.0])
    r = lq.liquidate_loan_once(cq, [1750.0], [0.83], [0.05], dq, [1.0])
    assert r.health_before == pytest.approx(0.9683, abs=5e-5)
    assert r.close_factor == 0.5 and r.repaid == pytest.approx(7500.0)
    assert r.seized[0] == pytest.approx(4.5, abs=1e-12)
    assert r.seized[0] * 1750 - r.repaid == pytest.approx(375.0, abs=CENT)      # user's loss
    assert r.health_after == pytest.approx(1.0652, abs=5e-5)
    # bonus and protocol fee split of A4
    bonus = r.seized[0] - r.seized[0] / 1.05
    assert bonus == pytest.approx(0.2142857, abs=1e-7)
    assert bonus * 0.1 == pytest.approx(0.0214286, abs=1e-7)
    cq, dq = np.array([10.0]), np.array([15000.0])
    r = lq.liquidate_loan_once(cq, [1650.0], [0.83], [0.05], dq, [1.0])
    assert r.health_before == pytest.approx(0.913, abs=5e-4)
    assert r.close_factor == 1.0
    assert r.seized[0] == pytest.approx(9.5455, abs=5e-5)


def test_kernel_loan_liquidation_matches_a4():
    """A replay to ETH low 1,750 liquidates the A1 loan once, exactly as A4."""
    from engine import PricePaths, run_book
    p = portfolio_from_dict({"prices": {"ETH": 3000, "USDC": 1},
                             "positions": [loan([("ETH", 10, 0.83)], [("USDC", 15000)],
                                                liquidation_bonus=0.05)]})
    book = compile_book(p)
    a = book.asset_index("ETH")
    close = np.tile(book.today, (1, 3, 1)).astype(float)
    low = close.copy()
    close[0, 1, a] = 1800.0
    low[0, 1, a] = 1750.0
    close[0, 2, a] = 2000.0
    low[0, 2, a] = 1900.0
    out = run_book(book, PricePaths(close, low))
    assert out.liq_step[0, 0] == 1
    # 5.5 ETH left, 7,500 USDC debt, valued at the last close 2,000
    assert out.position_end[0, 0] == pytest.approx(5.5 * 2000 - 7500, abs=1e-6)


# ------------------------------------------------------------------ spot margin (27-28), spot
def test_vector27_binance_margin():
    assert lq.binance_margin_liquidation_price(0.5, 20000) == pytest.approx(44000.00, abs=CENT)
    assert lq.binance_margin_liquidation_price(0.5, 20000, 1.3) == pytest.approx(52000.00, abs=CENT)


def test_vector28_kraken():
    call, liq = lq.kraken_margin_levels(10000, 1.5, 30000, 5)
    assert call == pytest.approx(28133.33, abs=CENT)
    assert liq == pytest.approx(25733.33, abs=CENT)


def test_spot_loss_example():
    from engine import shock_scenario, stress
    p = portfolio_from_dict({"prices": {"BTC": 60000}, "positions": [
        {"id": "s", "kind": "spot", "asset": "BTC", "quantity": 2}]})
    book = compile_book(p)
    rep = stress(p, shock_scenario(book.assets, book.today, {"BTC": -0.30}), book)
    assert rep["positions"][0]["pnl"] == pytest.approx(-36000.0, abs=1e-9)
    assert rep["positions"][0]["liquidation_price"] is None
