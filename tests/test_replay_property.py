"""Property test: the vectorised replay kernel equals a plain per-step loop.

The loop below is written independently of engine/replay.py: it walks the steps one by
one, looks tiers up by notional (not the kernel's max-of-lines / breakpoint curves), tests
each perp's equity against its maintenance margin at the step's worst price, accrues
funding and loan interest step by step on the quantities actually held (not the kernel's
principals and growth classes), values collateral tier by tier, liquidates loans with the
scalar ``liquidate_loan_once`` and values everything at each close. Random books (spot,
isolated and cross perps, linear and coin-margined, Hyperliquid, funding, multi-asset
collateral accounts, loans with interest) on random OHLC paths with random step lengths.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import PricePaths, compile_book, portfolio_from_dict, run_book
from engine import liquidation as lq
from engine.attribution import outcome_pnl, pnl_by_asset
from engine.book import collateral_terms, funding_per_hour, loan_rates, perp_terms
from engine.portfolio import Loan, Perp, Spot
from engine.venues import returns_remaining_margin

ASSETS = ["BTC", "ETH", "SOL", "USDC"]
TODAY = {"BTC": 85000.0, "ETH": 2950.0, "SOL": 121.0, "USDC": 1.0}


# ------------------------------------------------------------------ reference loop
def _tier(table, amount):
    k = table.index(amount)
    return table.mmr[k], table.cum[k]


def _maintenance(x, terms, q, ep, isolated):
    """MM of one perp at price x in its margin unit (USD linear, coin inverse), per venue:
    Bybit isolated fixes it at the entry value; OKX adds the fee, tier by quantity."""
    table = terms.table
    if terms.inverse:
        u = q * terms.contract_size
        if isolated and terms.formula == "bybit":
            mmr, cum = _tier(table, u / ep)
            return u / ep * mmr - cum
        mmr, cum = _tier(table, u / x)
        return u / x * mmr - cum
    if terms.formula == "okx":
        mmr, _ = _tier(table, q)
        return q * x * (mmr + terms.fee)
    if isolated and terms.formula == "bybit":
        mmr, cum = _tier(table, q * ep)
        return q * ep * mmr - cum
    mmr, cum = _tier(table, q * x)
    return q * x * mmr - cum


def _pnl(pos, terms, x):
    """Unrealised P&L in the margin unit: USD s*Q*(x - EP), coin s*U*(1/EP - 1/x)."""
    if terms.inverse:
        return pos.sign * pos.quantity * terms.contract_size * (1 / pos.entry_price - 1 / x)
    return pos.sign * pos.quantity * (x - pos.entry_price)


def _collateral_adjusted(ratio, q, x):
    if not hasattr(ratio, "ratios"):
        return q * x * ratio
    total = 0.0
    for f, c, r in zip(ratio.floors, ratio.caps, ratio.ratios):
        if ratio.basis == "coin":
            total += r * min(max(q - f, 0.0), c - f) * x
        else:
            total += r * min(max(q * x - f, 0.0), c - f)
    return total


def slow_replay(p, close, low, high, hours=None):
    """Per-step reference. close/low/high: dict asset -> array (T+1,). Returns (liq, value)."""
    T1 = len(close["BTC"])
    h = np.zeros(T1) if hours is None else np.asarray(hours, float)
    dt = np.r_[0.0, np.diff(h)]
    years = h / (365.0 * 24.0)
    ids = [pos.id for pos in p.positions]
    liq = {i: -1 for i in ids}
    residual = {}
    values = np.zeros(T1)
    venue_of = {a.id: a.venue for a in p.accounts}
    terms = {x.id: perp_terms(x, venue_of.get(x.account)) for x in p.positions if isinstance(x, Perp)}
    paid = {x.id: 0.0 for x in p.positions if isinstance(x, Perp)}        # margin units
    state, rates = {}, {}
    for pos in p.positions:
        if isinstance(pos, Loan):
            state[pos.id] = ([l.quantity for l in pos.collateral], [l.quantity for l in pos.debt])
            rates[pos.id] = loan_rates(pos)[:2]
    coll = {a.id: [(c.asset, c.quantity, collateral_terms(a, p, j)[0])
                   for j, c in enumerate(a.collateral)] for a in p.accounts}
    acc_alive = {a.id: True for a in p.accounts}
    acc_liq = {a.id: -1 for a in p.accounts}
    for t in range(T1):
        lo = {a: (close[a][t] if t == 0 else low[a][t]) for a in close}
        hi = {a: (close[a][t] if t == 0 else high[a][t]) for a in close}
        cl = {a: close[a][t] for a in close}
        # funding through this step, at its close
        for pos in p.positions:
            if isinstance(pos, Perp) and (hours is not None) and pos.funding_rate:
                tm = terms[pos.id]
                rate = funding_per_hour(pos, venue_of.get(pos.account))
                notional = (pos.quantity * tm.contract_size / cl[pos.asset] if tm.inverse
                            else pos.quantity * cl[pos.asset])
                paid[pos.id] += pos.sign * rate * dt[t] * notional
        total = 0.0
        # cross accounts
        for acc in p.accounts:
            members = [x for x in p.positions if isinstance(x, Perp) and x.account == acc.id
                       and x.margin_mode == "cross"]
            if acc_alive[acc.id] and members:
                eq = acc.wallet_balance + sum(_collateral_adjusted(r, q, lo[a]) for a, q, r in coll[acc.id])
                mm = 0.0
                for x in members:
                    tm = terms[x.id]
                    px = lo[x.asset] if x.side == "long" else hi[x.asset]
                    unit = px if tm.inverse else 1.0          # coin amounts to USD at px
                    eq += (_pnl(x, tm, px) - paid[x.id]) * unit
                    mm += _maintenance(px, tm, x.quantity, x.entry_price, False) * unit
                if eq <= mm:
                    acc_alive[acc.id] = False
                    acc_liq[acc.id] = t
            if acc_alive[acc.id]:
                total += acc.wallet_balance + sum(q * cl[a] for a, q, _ in coll[acc.id])
                for x in members:
                    tm = terms[x.id]
                    unit = cl[x.asset] if tm.inverse else 1.0
                    total += (_pnl(x, tm, cl[x.asset]) - paid[x.id]) * unit
        for pos in p.positions:
            if isinstance(pos, Spot):
                total += pos.quantity * cl[pos.asset]
            elif isinstance(pos, Perp) and pos.margin_mode == "cross":
                liq[pos.id] = acc_liq[pos.account]
            elif isinstance(pos, Perp):
                tm = terms[pos.id]
                margin = tm.margin - paid[pos.id]
                px = lo[pos.asset] if pos.side == "long" else hi[pos.asset]
                if liq[pos.id] < 0:
                    if paid[pos.id]:       # equity against maintenance at the worst price
                        hit = margin + _pnl(pos, tm, px) <= _maintenance(px, tm, pos.quantity,
                                                                         pos.entry_price, True)
                        level = None
                    else:
                        level = lq.isolated_liquidation_price(pos.sign, pos.quantity, pos.entry_price, tm)
                        hit = level is not None and ((pos.sign > 0 and px <= level)
                                                     or (pos.sign < 0 and px >= level))
                    if hit:
                        liq[pos.id] = t
                        residual[pos.id] = 0.0
                        returns, backstop = returns_remaining_margin(pos.venue)
                        if returns:      # Hyperliquid: executed at the level within the bar
                            if level is None:
                                level = lq.tiered_liquidation_price(pos.sign, pos.quantity,
                                                                    pos.entry_price, margin, tm.table)[0]
                            xe = min(max(level, lo[pos.asset]), hi[pos.asset])
                            eq = margin + _pnl(pos, tm, xe)
                            mm = _maintenance(xe, tm, pos.quantity, pos.entry_price, True)
                            residual[pos.id] = eq if (eq > 0 and eq >= backstop * mm) else 0.0
                if liq[pos.id] < 0:
                    unit = cl[pos.asset] if tm.inverse else 1.0
                    total += (margin + _pnl(pos, tm, cl[pos.asset])) * unit
                else:
                    total += residual[pos.id]
            else:
                cq, dq = (np.array(v, float) for v in state[pos.id])
                if t:                                  # interest through this step
                    sup, bor = (np.array(r, float) for r in rates[pos.id])
                    cq *= (1 + sup) ** years[t] / (1 + sup) ** years[t - 1]
                    dq *= (1 + bor) ** years[t] / (1 + bor) ** years[t - 1]
                lts = [l.liquidation_threshold for l in pos.collateral]
                bon = [pos.liquidation_bonus if l.liquidation_bonus is None else l.liquidation_bonus
                       for l in pos.collateral]
                cp = [lo[l.asset] for l in pos.collateral]
                dp = [hi[l.asset] for l in pos.debt]
                for _ in range(100):
                    hf = lq.health_factor(cq, cp, lts, dq, dp)
                    if not (hf < 1 and dq.sum() > 0 and cq.sum() > 0):
                        break
                    if liq[pos.id] < 0:
                        liq[pos.id] = t
                    lq.liquidate_loan_once(cq, cp, lts, bon, dq, dp, pos.close_factor, 0.95)
                state[pos.id] = (cq, dq)
                total += float(np.dot(cq, [cl[l.asset] for l in pos.collateral])
                               - np.dot(dq, [cl[l.asset] for l in pos.debt]))
        values[t] = total
    return liq, values


# ------------------------------------------------------------------ strategies
def perps(draw, n, cross_account=None):
    out = []
    for i in range(n):
        asset = draw(st.sampled_from(["BTC", "ETH", "SOL"]))
        side = draw(st.sampled_from(["long", "short"]))
        entry = TODAY[asset] * draw(st.floats(0.8, 1.2))
        usd = draw(st.floats(0.01, 50.0)) * 60000
        qty = usd / TODAY[asset]
        d = {"kind": "perp", "asset": asset, "side": side, "quantity": qty, "entry_price": entry}
        contract = draw(st.sampled_from(["linear", "linear", "inverse"])) if asset != "SOL" else "linear"
        tiers = ["explicit", "binance", "bybit"] + (["okx", "hyperliquid"] if contract == "linear" else [])
        tier = draw(st.sampled_from(tiers))
        if tier == "explicit":
            d["maintenance_margin_rate"] = draw(st.floats(0.0, 0.05))
            d["maintenance_amount"] = draw(st.floats(0.0, 50.0)) if contract == "linear" else 0.0
        elif tier == "okx":
            d["venue"] = "okx"
            d["maintenance_margin_rate"] = draw(st.floats(0.002, 0.02))
        else:
            d["venue"] = tier
            if tier == "bybit" and asset != "BTC" and contract == "linear":
                d["maintenance_margin_rate"] = 0.01
            if tier == "binance" and contract == "inverse" and asset != "BTC":
                d["maintenance_margin_rate"] = 0.005
        if contract == "inverse":
            d["contract"] = "inverse"
            d["contract_size"] = draw(st.sampled_from([1.0, 10.0, 100.0]))
            d["quantity"] = usd / d["contract_size"]
        if draw(st.integers(0, 2)) == 0:
            d["funding_rate"] = draw(st.floats(-0.003, 0.02))
            if draw(st.booleans()):
                d["funding_interval_hours"] = draw(st.sampled_from([1.0, 4.0, 8.0]))
        if cross_account:
            d["margin_mode"] = "cross"
            d["account"] = cross_account
        else:
            d["leverage"] = draw(st.floats(1.0, 20.0))
        out.append(d)
    return out


@st.composite
def books(draw):
    positions = []
    for i in range(draw(st.integers(0, 2))):
        positions.append({"kind": "spot", "asset": draw(st.sampled_from(["BTC", "ETH", "SOL"])),
                          "quantity": draw(st.floats(0.01, 10.0))})
    positions += perps(draw, draw(st.integers(0, 4)))
    accounts = []
    for j in range(draw(st.integers(0, 2))):
        aid = f"acc{j}"
        acc = {"id": aid, "wallet_balance": draw(st.sampled_from([0.0, 100.0])) or
               draw(st.floats(100.0, 200000.0))}
        members = perps(draw, draw(st.integers(1, 3)), aid)
        if draw(st.booleans()):                       # multi-asset collateral
            legs = []
            for a in draw(st.lists(st.sampled_from(["BTC", "ETH", "USDC"]), min_size=1, max_size=2,
                                   unique=True)):
                leg = {"asset": a, "quantity": draw(st.floats(500.0, 150000.0)) / TODAY[a]}
                if draw(st.booleans()):
                    leg["collateral_ratio"] = draw(st.floats(0.0, 1.0))
                else:
                    acc["venue"] = "binance"          # its published table: BTC/ETH 0.95, USDC 0.9999
                legs.append(leg)
            acc["collateral"] = legs
        accounts.append(acc)
        positions += members
    for k in range(draw(st.integers(0, 2))):
        coll = [{"asset": a, "quantity": draw(st.floats(0.1, 20.0)) * 3000 / TODAY[a],
                 "liquidation_threshold": draw(st.floats(0.6, 0.9)),
                 "liquidation_bonus": draw(st.floats(0.0, 0.1))}
                for a in draw(st.lists(st.sampled_from(["BTC", "ETH", "SOL"]), min_size=1, max_size=2,
                                       unique=True))]
        cval = sum(c["quantity"] * TODAY[c["asset"]] * c["liquidation_threshold"] for c in coll)
        debt_asset = draw(st.sampled_from(["USDC", "USDC", "ETH"]))
        debt_qty = cval * draw(st.floats(0.3, 0.98)) / TODAY[debt_asset]
        if debt_asset in [c["asset"] for c in coll]:
            debt_asset = "USDC"
            debt_qty = cval * 0.5
        debt = {"asset": debt_asset, "quantity": debt_qty}
        if draw(st.booleans()):                       # interest on the legs
            debt["borrow_apy"] = draw(st.floats(0.0, 3.0))
            for c in coll:
                if draw(st.booleans()):
                    c["supply_apy"] = draw(st.floats(0.0, 0.5))
        positions.append({"kind": "loan", "collateral": coll, "debt": [debt],
                          "close_factor": draw(st.sampled_from([0.5, 1.0]))})
    for n, pos in enumerate(positions):
        pos["id"] = f"p{n}"
    if not positions:
        positions = [{"id": "p0", "kind": "spot", "asset": "BTC", "quantity": 1.0}]
    return {"prices": TODAY, "accounts": accounts, "positions": positions}


step_hours = st.sampled_from([None, 1.0, 8.0, 24.0, 24.0 * 7])


@st.composite
def ohlc(draw, n_assets):
    T = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    vol = draw(st.sampled_from([0.02, 0.08, 0.25]))
    rng = np.random.default_rng(seed)
    r = rng.standard_t(3, size=(T, n_assets)) * vol
    close = np.exp(np.vstack([np.zeros(n_assets), np.cumsum(r, axis=0)]))
    lo = close * np.exp(-np.abs(rng.normal(0, vol, close.shape)))
    hi = close * np.exp(np.abs(rng.normal(0, vol, close.shape)))
    return close, lo, hi


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_vectorised_replay_equals_step_loop(data):
    raw = data.draw(books())
    p = portfolio_from_dict(raw)
    try:
        book = compile_book(p)
    except Exception as exc:  # invalid random book (e.g. leverage above a venue tier's cap)
        from engine import InputError
        assert isinstance(exc, InputError)
        return
    A = len(book.assets)
    rc, rl, rh = data.draw(ohlc(A))
    close = rc * book.today
    low = rl * book.today
    high = rh * book.today
    # stable coins stay at 1
    for j, a in enumerate(book.assets):
        if a == "USDC":
            close[:, j] = low[:, j] = high[:, j] = 1.0
    h = data.draw(step_hours)
    hours = None if h is None else np.arange(len(close)) * h
    out = run_book(book, PricePaths(close[None], low[None], high[None]), hours=hours,
                   track_positions=True)
    cd = {a: close[:, j] for j, a in enumerate(book.assets)}
    ld = {a: np.minimum(low[:, j], close[:, j]) for j, a in enumerate(book.assets)}
    hd = {a: np.maximum(high[:, j], close[:, j]) for j, a in enumerate(book.assets)}
    for a in ASSETS:
        cd.setdefault(a, np.full(len(close), TODAY[a]))
        ld.setdefault(a, cd[a]); hd.setdefault(a, cd[a])
    liq, values = slow_replay(p, cd, ld, hd, hours)
    for i, pid in enumerate(book.ids):
        assert out.liq_step[0, i] == liq[pid], (pid, out.liq_step[0, i], liq[pid])
    scale = 1e-9 * max(1.0, float(np.abs(values).max()))
    np.testing.assert_allclose(out.value[0], values, rtol=1e-9, atol=max(1e-6, scale))
    # per-position series add up to the portfolio (cross perps via their account, once)
    non_cross = np.ones(book.n_positions, bool)
    non_cross[book.cross_pos] = False
    np.testing.assert_allclose(out.position_values[0][:, non_cross].sum(axis=1)
                               + out.account_value[0].sum(axis=1), out.value[0], rtol=1e-9,
                               atol=max(1e-6, scale))
    # values today (after step-0 liquidations) add up to the portfolio's value today, and
    # the P&L parts (by asset, funding, interest, wallet, collateral) to its P&L
    np.testing.assert_allclose(out.position_start[non_cross].sum() + out.account_value[0, 0].sum(),
                               out.value[0, 0], rtol=1e-9, atol=max(1e-6, scale))
    for what, hit in (("funding liquidation", bool(np.any((out.liq_step[0] >= 0) & (out.cost_end[0] != 0)))),
                      ("remaining margin kept", bool(np.any((out.liq_step[0] >= 0) & (out.position_end[0] > 0)
                                                            & np.isin(np.arange(book.n_positions), book.iso_pos)))),
                      ("collateral account liquidated", bool(book.n_collateral and np.any(out.collateral_end[0] == 0))),
                      ("inverse perp liquidated", bool(np.any(out.liq_step[0, book.iso_pos[book.iso_inverse]] >= 0)
                                                       or np.any(out.liq_step[0, book.cross_pos[book.cross_inverse]] >= 0))),
                      ("loan interest", bool(len(book.loan_pos) and np.any(out.cost_end[0, book.loan_pos] != 0)))):
        if hit:
            event(what)                 # --hypothesis-show-statistics: the rules are exercised
    parts = outcome_pnl(book, out, 0)
    assert sum(pnl_by_asset(book, parts).values()) == pytest.approx(
        out.value[0, -1] - out.value[0, 0], rel=1e-9, abs=max(1e-6, scale))


def _random_cube(book, P, T, seed, vol):
    rng = np.random.default_rng(seed)
    A = len(book.assets)
    r = rng.standard_t(3, size=(P, T, A)) * vol
    close = book.today * np.exp(np.concatenate([np.zeros((P, 1, A)), np.cumsum(r, axis=1)], axis=1))
    low = close * np.exp(-np.abs(rng.normal(0, vol, close.shape)))
    high = close * np.exp(np.abs(rng.normal(0, vol, close.shape)))
    for j, a in enumerate(book.assets):
        if a == "USDC":
            close[:, :, j] = low[:, :, j] = high[:, :, j] = 1.0
    return close, low, high


def _assert_batch_equals_single_runs(book, close, low, high, every=1, hours=None):
    out = run_book(book, PricePaths(close, low, high), hours=hours)
    for k in range(0, len(close), every):
        one = run_book(book, PricePaths(close[k:k + 1], low[k:k + 1], high[k:k + 1]), hours=hours)
        np.testing.assert_array_equal(one.liq_step[0], out.liq_step[k])
        # values are sums of many terms (BLAS may group them by batch): a millionth of a dollar
        np.testing.assert_allclose(one.value[0], out.value[k], rtol=1e-12, atol=1e-6)
        np.testing.assert_allclose(one.position_end[0], out.position_end[k], rtol=1e-12, atol=1e-6)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_path_of_a_batch_is_that_path_alone(data):
    """Liquidations do not depend on which other paths share a call (the Monte Carlo runs
    thousands at once; a replay runs one)."""
    drawn = _draw_book_and_cube(data, min_paths=2)
    if drawn is not None:
        *cube, hours = drawn
        _assert_batch_equals_single_runs(*cube, hours=hours)


def _draw_book_and_cube(data, min_paths: int):
    """A random valid book and a random cube of 1-15 steps for it, or None when the drawn
    book is invalid (the engine must say so with an InputError)."""
    try:
        book = compile_book(portfolio_from_dict(data.draw(books())))
    except Exception as exc:
        from engine import InputError
        assert isinstance(exc, InputError)
        return None
    P = data.draw(st.integers(min_paths, 40))
    T = data.draw(st.integers(1, 15))
    vol = data.draw(st.sampled_from([0.02, 0.08, 0.25]))
    h = data.draw(step_hours)
    hours = None if h is None else np.arange(T + 1) * h
    return (book,) + _random_cube(book, P, T, data.draw(st.integers(0, 2**32 - 1)), vol) + (hours,)


def test_big_book_batch_equals_single_runs():
    """The branches for many positions (scattered dead isolated perps, loans searched rank by
    rank) give every path what it gets alone."""
    rng = np.random.default_rng(3)
    positions = []
    for i in range(140):                 # 70 longs, 70 shorts: over the one-by-one limit
        a = ["BTC", "ETH", "SOL"][i % 3]
        positions.append({"id": f"i{i}", "kind": "perp", "asset": a, "side": ["long", "short"][i % 2],
                          "quantity": 5000 / TODAY[a], "entry_price": TODAY[a] * rng.uniform(0.97, 1.03),
                          "leverage": float(rng.uniform(3, 25)), "maintenance_margin_rate": 0.005})
    for i in range(24):
        legs = [{"asset": "ETH", "quantity": float(rng.uniform(2, 6)), "liquidation_threshold": 0.83}]
        if i % 2:
            legs.append({"asset": "SOL", "quantity": float(rng.uniform(20, 60)), "liquidation_threshold": 0.7})
        value = sum(leg["quantity"] * TODAY[leg["asset"]] for leg in legs)
        positions.append({"id": f"l{i}", "kind": "loan", "collateral": legs,
                          "debt": [{"asset": "USDC", "quantity": value * float(rng.uniform(0.5, 0.72))}],
                          "close_factor": 0.5})
    book = compile_book(portfolio_from_dict({"prices": TODAY, "positions": positions}))
    close, low, high = _random_cube(book, 70, 25, 11, 0.08)
    out = _assert_batch_equals_single_runs(book, close, low, high, every=3)
    liq = out.liq_step >= 0
    assert liq[:, book.iso_pos].mean() > 0.2 and liq[:, book.loan_pos].any()


def test_many_paths_equal_single_path_runs():
    """Each path of a multi-path run equals that path replayed alone."""
    raw = {"prices": TODAY, "accounts": [{"id": "a", "wallet_balance": 3000}], "positions": [
        {"id": "s", "kind": "spot", "asset": "ETH", "quantity": 3},
        {"id": "l", "kind": "perp", "asset": "SOL", "side": "long", "quantity": 100, "entry_price": 125,
         "leverage": 8, "venue": "binance"},
        {"id": "c1", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 0.3, "entry_price": 86000,
         "margin_mode": "cross", "account": "a", "venue": "binance"},
        {"id": "c2", "kind": "perp", "asset": "ETH", "side": "short", "quantity": 2, "entry_price": 2900,
         "margin_mode": "cross", "account": "a", "venue": "binance"},
        {"id": "ln", "kind": "loan", "collateral": [{"asset": "ETH", "quantity": 5, "liquidation_threshold": 0.83}],
         "debt": [{"asset": "USDC", "quantity": 9000}]}]}
    book = compile_book(portfolio_from_dict(raw))
    rng = np.random.default_rng(7)
    P, T, A = 64, 20, len(book.assets)
    r = rng.normal(0, 0.06, (P, T, A))
    close = book.today * np.exp(np.concatenate([np.zeros((P, 1, A)), np.cumsum(r, axis=1)], axis=1))
    low = close * np.exp(-np.abs(rng.normal(0, 0.03, close.shape)))
    usdc = book.asset_index("USDC")
    close[:, :, usdc] = low[:, :, usdc] = 1.0
    out = run_book(book, PricePaths(close, low))
    assert (out.liq_step >= 0).any() and (out.liq_step < 0).any()
    for k in range(0, P, 9):
        one = run_book(book, PricePaths(close[k:k + 1], low[k:k + 1]))
        np.testing.assert_array_equal(one.liq_step[0], out.liq_step[k])
        np.testing.assert_allclose(one.value[0], out.value[k], rtol=1e-12)


def test_liquidated_perp_stays_dead_after_recovery():
    raw = {"prices": TODAY, "positions": [
        {"id": "l", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 1, "entry_price": 85000,
         "leverage": 10, "maintenance_margin_rate": 0.004}]}
    book = compile_book(portfolio_from_dict(raw))
    close = np.array([[[85000.0], [75000.0], [95000.0]]])
    out = run_book(book, PricePaths(close))
    assert out.liq_step[0, 0] == 1
    assert out.value[0].tolist() == pytest.approx([8500.0, 0.0, 0.0])


def test_position_past_liquidation_today_is_step_zero():
    raw = {"prices": {"BTC": 50000}, "positions": [
        {"id": "l", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 1, "entry_price": 60000,
         "leverage": 10, "maintenance_margin_rate": 0.004}]}
    p = portfolio_from_dict(raw)
    book = compile_book(p)
    assert any("already past its liquidation price" in str(w) for w in book.warnings)
    out = run_book(book, PricePaths(np.array([[[50000.0], [51000.0]]])))
    assert out.liq_step[0, 0] == 0
    assert out.value[0].tolist() == [0.0, 0.0]


def _float32_cube(close, low, high):
    """The float32 cube the Monte Carlo hands the kernel (low <= close <= high kept)."""
    c = close.astype(np.float32)
    lo = np.minimum(low.astype(np.float32), c)
    hi = np.maximum(high.astype(np.float32), c)
    return c, lo, hi


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_float32_cube_gives_the_decisions_of_its_float64_copy(data):
    """Float32 price cubes go straight into the kernel (the Monte Carlo's): every decision
    is that of the float64 cube holding the same numbers (comparisons and the sums feeding
    them run in float64), values agree to 1e-12; against the float64 cube the float32 one
    was rounded from, decisions differ only where a price lies within float32 rounding
    (6e-8 relative) of a level -- on these random cubes, nowhere."""
    drawn = _draw_book_and_cube(data, min_paths=1)
    if drawn is None:
        return
    book, close, low, high, hours = drawn
    c32, l32, h32 = _float32_cube(close, low, high)
    out32 = run_book(book, PricePaths.prepared(c32, l32, h32), hours=hours)
    copy64 = run_book(book, PricePaths(c32.astype(float), l32.astype(float), h32.astype(float)),
                      hours=hours)
    np.testing.assert_array_equal(out32.liq_step, copy64.liq_step)
    np.testing.assert_allclose(out32.value, copy64.value, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(out32.position_end, copy64.position_end, rtol=1e-12, atol=1e-6)
    exact = run_book(book, PricePaths(close, np.minimum(low, close), np.maximum(high, close)),
                     hours=hours)
    np.testing.assert_array_equal(out32.liq_step, exact.liq_step)
    # values: the prices' rounding only (6e-8 of the gross exposure)
    gross = np.abs(exact.position_end).sum(axis=1).max() + np.abs(book.today).sum()
    # coin-margined perps: their USD notional (contracts x size) moves with 1/price
    gross += np.abs(book.iso_unit[book.iso_inverse]).sum() + np.abs(book.cross_unit[book.cross_inverse]).sum()
    # (loan interest and funding accrue on the float32 prices: a few float32 ulps of the
    # gross exposure; decisions above are exact)
    assert np.abs(out32.value - exact.value).max() <= 1e-5 * gross + 1e-6


def test_float32_isolated_decisions_differ_only_within_rounding_of_the_level():
    """Prices placed right at a long's liquidation price: the float32 cube's decision may
    differ from the float64 one only where the float64 low is within float32 rounding of
    the level (this is the documented tolerance), and matches the float32 number's side."""
    p = portfolio_from_dict({"prices": TODAY, "positions": [
        {"id": "l", "kind": "perp", "asset": "BTC", "side": "long", "quantity": 1.0,
         "entry_price": 85000.0, "leverage": 10, "maintenance_margin_rate": 0.005}]})
    book = compile_book(p)
    lp = float(book.iso_lp[0])
    rel = np.linspace(-3e-7, 3e-7, 61)
    P = len(rel)
    close = np.broadcast_to(book.today, (P, 2, len(book.assets))).copy()
    low = close.copy()
    j = book.assets.index("BTC")
    low[:, 1, j] = lp * (1.0 + rel)
    c32, l32, h32 = _float32_cube(close, low, close)
    got = run_book(book, PricePaths.prepared(c32, l32, h32)).liq_step[:, 0]
    ref = run_book(book, PricePaths(close, low, close)).liq_step[:, 0]
    differ = got != ref
    assert np.all(np.abs(rel[differ]) <= 2.0 ** -23)             # within float32 rounding
    assert np.array_equal(got == 1, l32[:, 1, j].astype(float) <= lp)
