"""Reports built on the kernel: liquidation prices now, scenario stress, one instant shock,
the sensitivity curve, reverse stress.

``liquidation_prices``, ``stress`` and ``reverse_stress`` return plain dictionaries
(JSON-ready) that the command line prints and the GUI draws; ``shock`` and ``sensitivity``
return arrays for the interactive views (the shock slider calls ``shock`` on every move).
Monetary values are USD floats at full precision.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import liquidation as lq
from .attribution import account_liquidation_step, pnl_by_asset, wallet_losses
from .book import Book, compile_book
from .portfolio import Loan, Perp, Portfolio
from .replay import PricePaths, max_drawdown, run_book
from .scenarios import Scenario, beta_move, resolve_betas, stablecoins


def _f(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


# --------------------------------------------------------------------------- liquidation now
def _loan_main_asset(p: Portfolio, loan: Loan) -> str:
    stables = set(stablecoins())
    vol = [(l.quantity * p.prices[l.asset], l.asset) for l in loan.collateral if l.asset not in stables]
    if vol:
        return max(vol)[1]
    vol = [(l.quantity * p.prices[l.asset], l.asset) for l in loan.debt if l.asset not in stables]
    if vol:
        return max(vol)[1]
    return loan.collateral[0].asset


def liquidation_prices(p: Portfolio, book: Book | None = None) -> list[dict]:
    """Each position's liquidation price today (other prices held) and its distance.

    ``distance`` is ``(liquidation_price - price) / price``: negative for a long, positive
    for a short or for a loan with volatile debt.
    """
    book = book or compile_book(p)
    iso_lp = {book.ids[i]: book.iso_lp[k] for k, i in enumerate(book.iso_pos)}
    cross_index = {book.ids[i]: k for k, i in enumerate(book.cross_pos)}
    rows = []
    loan_index = {book.ids[i]: j for j, i in enumerate(book.loan_pos)}
    for pos in p.positions:
        row = {"id": pos.id, "kind": pos.kind, "asset": pos.asset, "liquidation_price": None,
               "price": p.prices.get(pos.asset), "distance": None}
        if isinstance(pos, Perp):
            row["side"] = pos.side
            row["margin_mode"] = pos.margin_mode
            if pos.margin_mode == "isolated":
                row["liquidation_price"] = _f(iso_lp[pos.id])
                row["margin"] = pos.margin
            else:
                k = cross_index[pos.id]
                acc = book.cross_account[k]
                members = np.flatnonzero(book.cross_account == acc)
                on = book.cross_asset[members] == book.cross_asset[k]
                row["liquidation_price"] = lq.cross_account_liquidation_price(
                    book.cross_sign[members], book.cross_qty[members], book.cross_entry[members],
                    [book.cross_tables[m] for m in members], on, float(book.account_wallet[acc]),
                    book.today[book.cross_asset[members]])
                row["account"] = pos.account
        elif isinstance(pos, Loan):
            legs = [(l.asset, l.quantity) for l in pos.collateral]
            book_j = loan_index[pos.id]
            lt = book.loan_lt[book_j]
            a_of = {a: i for i, a in enumerate(book.assets)}
            main = _loan_main_asset(p, pos)
            cq = [q for _, q in legs]
            cp = [p.prices[a] for a, _ in legs]
            clt = [lt[a_of[a]] for a, _ in legs]
            dq = [l.quantity for l in pos.debt]
            dp = [p.prices[l.asset] for l in pos.debt]
            row["asset"] = main
            row["price"] = p.prices[main]
            row["health_factor"] = _f(lq.health_factor(cq, cp, clt, dq, dp))
            row["liquidation_price"] = lq.loan_liquidation_price(
                cq, cp, clt, dq, dp, [a == main for a, _ in legs], [l.asset == main for l in pos.debt])
        if row["liquidation_price"] is not None and row["price"]:
            row["distance"] = row["liquidation_price"] / row["price"] - 1.0
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- stress
def scenario_step_hours(scenario: Scenario) -> float:
    """Hours a scenario's step lasts, for the cascade: 0 for a shock (an instant move), 24
    for a library crash (its steps are days or whole crash days), the bars' spacing for a
    replayed history."""
    if scenario.kind == "shock":
        return 0.0
    if scenario.kind == "history" and len(scenario.labels) > 1:
        try:
            t = np.array([np.datetime64(str(x).replace(" ", "T")) for x in scenario.labels])
        except ValueError:
            return 24.0
        dt = np.diff(t).astype("timedelta64[s]").astype(float)
        if len(dt) and np.median(dt) > 0:
            return float(np.median(dt) / 3600.0)
    return 24.0


def cascade_scenario(scenario: Scenario, params) -> tuple[Scenario, dict]:
    """``scenario`` amplified by the liquidation cascade (:mod:`engine.cascade`): BTC's path
    drives it and every asset takes BTC's extra log move times its tail beta (stablecoins
    none). Returns the amplified scenario and a summary (BTC's move before and after,
    market-wide liquidated notional, the settings)."""
    from dataclasses import replace as _replace

    from .cascade import cascade_paths, fast_share
    from .path_models import tail_betas
    hours = scenario_step_hours(scenario)
    spd = 24.0 / hours if hours > 0 else 1.0
    paths, res = cascade_paths(params, scenario.paths, scenario.assets, tail_betas(scenario.assets),
                               step_hours=hours, steps_per_day=spd)
    j = list(scenario.assets).index("BTC")
    c0 = scenario.paths.close[0, 0]
    moves = {a: float(paths.close[0, -1, k] / c0[k] - 1.0) for k, a in enumerate(scenario.assets)}
    low_before = float(scenario.paths.low[0, :, j].min() / c0[j] - 1.0)
    low_after = float(paths.low[0, :, j].min() / c0[j] - 1.0)
    summary = {"strength": params.strength, "open_interest": params.open_interest, "depth": params.depth,
               "half_life_days": params.half_life_days, "step_hours": hours, "fast_share": fast_share(hours),
               "liquidated_notional": float(res.total_liquidated[0]),
               "btc_move_before": scenario.moves.get("BTC"), "btc_move_after": moves["BTC"],
               "btc_low_before": low_before, "btc_low_after": low_after,
               "liquidated_by_step": res.liquidated[0].tolist()}
    return _replace(scenario, paths=paths, moves=moves), summary


def stress(p: Portfolio, scenario: Scenario, book: Book | None = None, cascade=None) -> dict:
    """Run ``scenario`` on ``p``: per-position liquidation and P&L, accounts, portfolio.
    With ``cascade`` (:class:`engine.cascade.CascadeParams`) the scenario is first amplified
    by the liquidation cascade (:func:`cascade_scenario`; the report's ``cascade`` says by
    how much)."""
    book = book or compile_book(p)
    if tuple(scenario.assets) != tuple(book.assets):
        raise ValueError("scenario built for other assets than the book")
    casc = None
    if cascade is not None:
        scenario, casc = cascade_scenario(scenario, cascade)
    out = run_book(book, scenario.paths, track_positions=book.n_positions <= 2000)
    liq_rows = {r["id"]: r for r in liquidation_prices(p, book)}
    by_id = {pos.id: pos for pos in p.positions}
    labels = scenario.labels
    positions = []
    for i, pid in enumerate(book.ids):
        step = int(out.liq_step[0, i])
        before = float(out.position_start[i])
        after = float(out.position_end[0, i])
        row = {"id": pid, "asset": book.labels[i], "kind": book.kinds[i],
               "liquidation_price": liq_rows[pid]["liquidation_price"],
               "liquidated": step >= 0, "liquidation_step": step if step >= 0 else None,
               "liquidation_label": labels[step] if step >= 0 else None,
               "value_before": before, "value_after": after, "pnl": after - before}
        pos = by_id[pid]
        if isinstance(pos, Perp):
            row["side"] = pos.side
            row["margin_mode"] = pos.margin_mode
            if pos.account:
                row["account"] = pos.account
        positions.append(row)
    acc_step = account_liquidation_step(book, out.liq_step)[0]
    accounts = []
    for j, aid in enumerate(book.account_ids):
        vals = out.account_value[0, :, j]
        step = int(acc_step[j])
        liquidated = step >= 0
        accounts.append({"id": aid, "wallet_balance": float(book.account_wallet[j]),
                         "value_before": float(vals[0]),
                         "value_after": float(vals[-1]), "pnl": float(vals[-1] - vals[0]),
                         "liquidated": liquidated,
                         "liquidation_step": step if liquidated else None,
                         "margin_ratio_before": _f(out.account_margin_ratio[0, 0, j]),
                         # while the account exists (up to its liquidation step)
                         "max_margin_ratio": _f(np.max(out.account_margin_ratio[
                             0, : (step + 1 if liquidated else None), j]))})
    by_asset = pnl_by_asset(book, out.position_end[0] - out.position_start,
                            wallet_losses(book, out.liq_step))
    value = out.value[0]
    v0, v1 = float(value[0]), float(value[-1])
    series = {"labels": labels, "value": value.tolist()}
    if out.position_values is not None:
        series["positions"] = {pid: out.position_values[0, :, i].tolist() for i, pid in enumerate(book.ids)}
    if len(book.loan_pos) and out.loan_health is not None:
        series["health_factor"] = {book.ids[i]: [_f(x) for x in out.loan_health[0, :, k]]
                                   for k, i in enumerate(book.loan_pos)}
    if book.n_accounts:
        series["margin_ratio"] = {aid: [_f(x) for x in out.account_margin_ratio[0, :, j]]
                                  for j, aid in enumerate(book.account_ids)}
    return {
        "scenario": {"kind": scenario.kind, "id": scenario.id, "name": scenario.name,
                     "steps": scenario.n_steps, "labels": labels, **_jsonable(scenario.info)},
        "cascade": casc,
        "moves": scenario.moves,
        "betas": scenario.betas,
        "method": scenario.method,
        "positions": positions,
        "accounts": accounts,
        "portfolio": {"value_before": v0, "value_after": v1, "pnl": v1 - v0,
                      "pnl_fraction": (v1 - v0) / abs(v0) if v0 else None,
                      "max_drawdown": float(max_drawdown(value)),
                      "min_value": float(value.min()), "min_value_step": int(value.argmin()),
                      "liquidated_positions": int(sum(r["liquidated"] for r in positions))},
        "by_asset": by_asset,
        "series": series,
        "warnings": [str(w) for w in book.warnings],
    }


def _jsonable(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


# --------------------------------------------------------------------------- shocks
#: BTC moves of the sensitivity curve: -90% .. +100% every 0.5%.
SENSITIVITY_GRID = np.round(np.arange(-0.90, 1.0 + 1e-9, 0.005), 6)


@dataclass
class ShockResult:
    """One instant BTC shock (other assets through their betas) on a compiled book."""

    btc_move: float
    moves: dict[str, float]                 # per asset
    ids: list[str]
    assets: list[str]                       # label asset per position
    kinds: list[str]
    value_before: np.ndarray                # (n,)
    value_after: np.ndarray                 # (n,)
    liquidated: np.ndarray                  # (n,) bool
    portfolio_before: float
    portfolio_after: float
    by_asset: dict[str, float]
    accounts: list[dict] = field(default_factory=list)

    @property
    def pnl(self) -> np.ndarray:
        return self.value_after - self.value_before

    @property
    def portfolio_pnl(self) -> float:
        return self.portfolio_after - self.portfolio_before


def shock(book: Book, betas: dict[str, float], btc_move: float) -> ShockResult:
    """Run one instant shock through the kernel (about 1 ms for a small book)."""
    paths = shock_paths(book, [float(btc_move)], betas)
    out = run_book(book, paths)
    before = out.position_start.copy()
    after = out.position_end[0].copy()
    moves = {a: float(paths.close[0, 1, j] / paths.close[0, 0, j] - 1.0)
             for j, a in enumerate(book.assets)}
    acc_liq = account_liquidation_step(book, out.liq_step)[0] >= 0
    accounts = [{"id": aid, "value_before": float(out.account_value[0, 0, j]),
                 "value_after": float(out.account_value[0, -1, j]), "liquidated": bool(acc_liq[j]),
                 "margin_ratio": float(out.account_margin_ratio[0, -1, j])}
                for j, aid in enumerate(book.account_ids)]
    return ShockResult(float(btc_move), moves, list(book.ids), list(book.labels), list(book.kinds),
                       before, after, out.liq_step[0] >= 0, float(out.value[0, 0]),
                       float(out.value[0, -1]),
                       pnl_by_asset(book, after - before, wallet_losses(book, out.liq_step)),
                       accounts)


@dataclass
class Sensitivity:
    """Portfolio value after each instant BTC move of ``grid`` (others through their betas)."""

    grid: np.ndarray                        # (G,) BTC moves
    value: np.ndarray                       # (G,) portfolio value after each move
    value_today: float
    # (position id, BTC move, value after it) at the grid point nearest to 0 where each
    # position is first liquidated, per side; none for a position liquidated already today
    marks: list[tuple[str, float, float]]


def sensitivity(book: Book, betas: dict[str, float], grid=SENSITIVITY_GRID) -> Sensitivity:
    """The sensitivity curve: one kernel run over every move of ``grid``."""
    grid = np.asarray(grid, float)
    out = run_book(book, shock_paths(book, grid, betas), series=False)
    values = out.value[:, -1]
    marks = []
    liq_any = out.liq_step >= 0                       # (G, n)
    zero = int(np.argmin(np.abs(grid)))
    for i, pid in enumerate(book.ids):
        col = liq_any[:, i]
        if col[zero]:
            continue                                  # liquidated already today
        down = np.flatnonzero(col[:zero + 1])
        up = np.flatnonzero(col[zero:])
        if len(down):
            g = down[-1]
            marks.append((pid, float(grid[g]), float(values[g])))
        if len(up):
            g = zero + up[0]
            marks.append((pid, float(grid[g]), float(values[g])))
    return Sensitivity(grid, values, float(out.value[0, 0]), marks)


# --------------------------------------------------------------------------- reverse stress
def shock_paths(book: Book, btc_moves, betas: dict[str, float]) -> PricePaths:
    """One instant-shock path per BTC move: (G, 2, A) prices for moves of shape (G,)."""
    r = np.asarray(btc_moves, float)
    beta = np.array([betas[a] for a in book.assets])
    after = book.today * (1.0 + beta_move(r[:, None], beta[None, :]))
    before = np.broadcast_to(book.today, after.shape)
    return PricePaths(np.stack([before, after], axis=1))


def _grid(limit: float, n: int = 400) -> np.ndarray:
    """Moves from 0 to ``limit`` (signed), dense near 0."""
    u = np.linspace(0.0, 1.0, n + 1)[1:]
    return limit * u ** 2


def _bisect(book, betas, lo, hi, test, iters: int = 64):
    """Per candidate, shrink [lo (test False), hi (test True)]; test(outcome) -> (G,) bool."""
    lo = np.asarray(lo, float).copy()
    hi = np.asarray(hi, float).copy()
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        ok = test(run_book(book, shock_paths(book, mid, betas)), mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
        if np.all(np.abs(hi - lo) <= 1e-13):
            break
    return hi


def reverse_stress(p: Portfolio, beta_overrides: dict[str, float] | None = None,
                   losses=(0.1, 0.25, 0.5), max_up: float = 10.0) -> dict:
    """The BTC move (others through their betas) that liquidates each position, and the move
    that costs the portfolio each fraction in ``losses`` of its value today.

    Moves are searched down to -99.9% and up to ``max_up`` (+1000%); the one nearest to 0
    is reported (``null`` when none liquidates). Found on a grid, refined by bisection.
    """
    book = compile_book(p)
    betas_src = resolve_betas(book.assets, beta_overrides)
    betas = {a: b for a, (b, _) in betas_src.items()}
    sides = {"down": _grid(-0.999), "up": _grid(max_up)}
    now = run_book(book, shock_paths(book, [0.0], betas))
    v0 = float(now.value[0, 0])
    n = book.n_positions
    found = {side: np.full(n, np.nan) for side in sides}
    loss_found = {side: {x: np.nan for x in losses} for side in sides}
    for side, grid in sides.items():
        out = run_book(book, shock_paths(book, grid, betas))
        liq = out.liq_step >= 0                                        # (G, n)
        for i in range(n):
            if now.liq_step[0, i] >= 0:
                found[side][i] = 0.0
                continue
            hits = np.flatnonzero(liq[:, i])
            if len(hits):
                g = hits[0]
                lo = 0.0 if g == 0 else grid[g - 1]
                found[side][i] = _bisect_one(book, betas, lo, grid[g], i)
        if v0 > 0:
            frac = (v0 - out.value[:, -1]) / v0
            for x in losses:
                hits = np.flatnonzero(frac >= x)
                if len(hits):
                    g = hits[0]
                    lo = 0.0 if g == 0 else grid[g - 1]
                    loss_found[side][x] = float(_bisect(
                        book, betas, [lo], [grid[g]],
                        lambda o, m, x=x: (v0 - o.value[:, -1]) / v0 >= x)[0])
    positions = []
    for i, pid in enumerate(book.ids):
        d, u = found["down"][i], found["up"][i]
        cands = [v for v in (d, u) if np.isfinite(v)]
        nearest = min(cands, key=abs) if cands else None
        positions.append({"id": pid, "asset": book.labels[i], "kind": book.kinds[i],
                          "btc_move_to_liquidation": _f(nearest),
                          "btc_move_down": _f(d), "btc_move_up": _f(u),
                          "btc_price_at_liquidation": _f(book.today[book.assets.index("BTC")] * (1 + nearest))
                          if nearest is not None and "BTC" in book.assets else None})
    loss = {}
    detail = {}
    for x in losses:
        d, u = loss_found["down"][x], loss_found["up"][x]
        cands = [v for v in (d, u) if np.isfinite(v)]
        loss[f"{x:g}"] = _f(min(cands, key=abs)) if cands else None
        detail[f"{x:g}"] = {"down": _f(d), "up": _f(u)}
    return {"positions": positions,
            "portfolio": {"value_before": v0, "btc_move_for_loss": loss, "detail": detail},
            "betas": betas, "beta_source": {a: s for a, (_, s) in betas_src.items()},
            "warnings": [str(w) for w in book.warnings]}


def _bisect_one(book, betas, lo, hi, i):
    return float(_bisect(book, betas, [lo], [hi], lambda o, m: o.liq_step[:, i] >= 0)[0])
