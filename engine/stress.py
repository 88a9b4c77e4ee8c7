"""Reports built on the kernel: liquidation prices now, scenario stress, one instant shock,
the sensitivity curve, reverse stress.

``liquidation_prices``, ``stress`` and ``reverse_stress`` return plain dictionaries
(JSON-ready) that the command line prints and the GUI draws; ``shock`` and ``sensitivity``
return arrays for the interactive views (the shock slider calls ``shock`` on every move).
Monetary values are USD floats at full precision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import liquidation as lq
from .attribution import (account_liquidation_step, cost_lines, liquidated_with, outcome_pnl,
                          pnl_by_asset, pnl_by_position, status_text)
from .book import Book, compile_book
from .errors import InputError
from .parsing import parse_number
from .pegs import depeg_factors
from .portfolio import Loan, Perp, Portfolio, venue_liquidation_price
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
    for a short or for a loan with volatile debt. ``venue_liquidation_price`` is the venue's
    own figure for an imported position (None where its file had none).
    """
    book = book or compile_book(p)
    iso_lp = {book.ids[i]: book.iso_lp[k] for k, i in enumerate(book.iso_pos)}
    iso_k = {book.ids[i]: k for k, i in enumerate(book.iso_pos)}
    cross_index = {book.ids[i]: k for k, i in enumerate(book.cross_pos)}
    rows = []
    loan_index = {book.ids[i]: j for j, i in enumerate(book.loan_pos)}
    for pos in p.positions:
        row = {"id": pos.id, "kind": pos.kind, "asset": pos.asset, "liquidation_price": None,
               "price": p.prices.get(pos.asset), "distance": None,
               "venue_liquidation_price": venue_liquidation_price(pos)}
        if isinstance(pos, Perp):
            row["side"] = pos.side
            row["margin_mode"] = pos.margin_mode
            if pos.margin_mode == "isolated":
                row["liquidation_price"] = _f(iso_lp[pos.id])
                row["margin"] = float(book.iso_margin[iso_k[pos.id]])
                row["margin_asset"] = pos.asset if pos.inverse else "USD"
            else:
                # a cross perp is liquidated with its account: the price of its asset at which
                # the account is (other prices held), and the move to it
                k = cross_index[pos.id]
                row["liquidation_price"] = book.account_liquidation_price(
                    int(book.cross_account[k]), int(book.cross_asset[k]))
                row["account"] = pos.account
                row["liquidation_basis"] = f"account {pos.account}"
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


def account_rows(book: Book) -> list[dict]:
    """Each cross account today: wallet, collateral (market and adjusted value), adjusted
    equity, maintenance margin, margin ratio and, for every asset it is exposed to (its
    perps' and its collateral's), the price of that asset alone at which it is liquidated
    and the move to it."""
    surplus = book.cross_surplus_today()
    out = []
    for j, aid in enumerate(book.account_ids):
        mm = sum(float(g.mm(np.array([book.today[g.asset]]))[0]) for g in book.account_groups[j])
        legs = book.account_collateral[j]
        adjusted = [float(book.coll_curves[c](np.array([book.today[book.coll_asset[c]]]))[0])
                    for c in legs]
        exposed = list(dict.fromkeys([g.asset for g in book.account_groups[j]]
                                     + [int(book.coll_asset[c]) for c in legs]))
        moves = []
        for a in exposed:
            lp = book.account_liquidation_price(j, a)
            moves.append({"asset": book.assets[a], "price": float(book.today[a]),
                          "liquidation_price": _f(lp),
                          "distance": None if lp is None else lp / float(book.today[a]) - 1.0})
        equity = float(surplus[j]) + mm
        out.append({"id": aid, "wallet_balance": float(book.account_wallet[j]),
                    "collateral": [{"asset": book.assets[book.coll_asset[c]],
                                    "quantity": float(book.coll_qty[c]),
                                    "value": float(book.coll_qty[c] * book.today[book.coll_asset[c]]),
                                    "adjusted_value": adj, "ratio_source": book.coll_source[c]}
                                   for c, adj in zip(legs, adjusted)],
                    "adjusted_equity": equity, "maintenance_margin": mm,
                    "margin_ratio": _f(mm / equity) if equity > 0 else None,
                    "liquidation": moves})
    return out


# --------------------------------------------------------------------------- stress
def _time_of(scenario: Scenario, step: int) -> str | None:
    """ISO 8601 UTC time of ``step`` (None when not liquidated or the scenario has no times)."""
    return scenario.times[step] if step >= 0 and scenario.times else None


def scenario_hours(scenario: Scenario) -> np.ndarray | None:
    """Hours elapsed from step 0 at each step of ``scenario`` (from its ISO 8601 UTC times),
    or None for a scenario without times (an instant shock: no funding, no interest)."""
    if not scenario.times:
        return None
    t = np.array([np.datetime64(x.rstrip("Z"), "s") for x in scenario.times])
    return (t - t[0]).astype("timedelta64[s]").astype(float) / 3600.0


def scenario_step_hours(scenario: Scenario) -> float:
    """Hours a scenario's step lasts, for the cascade: 0 for a shock (an instant move), the
    bars' median spacing for a scenario with times (a bundled crash, a replayed history), 24
    otherwise."""
    if scenario.kind == "shock":
        return 0.0
    hours = scenario_hours(scenario)
    if hours is not None and len(hours) > 1:
        dt = np.diff(hours)
        if np.median(dt) > 0:
            return float(np.median(dt))
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


def stress(p: Portfolio, scenario: Scenario, book: Book | None = None, cascade=None, *,
           series: bool = True, _liq_rows: dict | None = None) -> dict:
    """Run ``scenario`` on ``p``: per-position liquidation and P&L, accounts, portfolio.

    ``liquidation_step`` indexes the scenario's steps; ``liquidation_time`` is that step's
    ISO 8601 UTC time (bar end for a bundled crash, the row's stamp for an imported history,
    null for a shock). ``series=False`` leaves out the per-step series. With ``cascade``
    (:class:`engine.cascade.CascadeParams`) the scenario is first amplified by the
    liquidation cascade (:func:`cascade_scenario`; the report's ``cascade`` says by how much).
    """
    book = book or compile_book(p)
    if tuple(scenario.assets) != tuple(book.assets):
        raise ValueError("scenario built for other assets than the book")
    casc = None
    if cascade is not None:
        scenario, casc = cascade_scenario(scenario, cascade)
    out = run_book(book, scenario.paths, hours=scenario_hours(scenario),
                   track_positions=series and book.n_positions <= 2000)
    liq_rows = _liq_rows or {r["id"]: r for r in liquidation_prices(p, book)}
    by_id = {pos.id: pos for pos in p.positions}
    labels = scenario.labels
    with_account = liquidated_with(book)
    positions = []
    for i, pid in enumerate(book.ids):
        step = int(out.liq_step[0, i])
        before = float(out.position_start[i])
        after = float(out.position_end[0, i])
        row = {"id": pid, "asset": book.labels[i], "kind": book.kinds[i],
               "liquidation_price": liq_rows[pid]["liquidation_price"],
               "liquidated": step >= 0, "liquidation_step": step if step >= 0 else None,
               "liquidation_time": _time_of(scenario, step),
               "liquidation_label": labels[step] if step >= 0 else None,
               "value_before": before, "value_after": after, "pnl": after - before,
               "costs": float(out.cost_end[0, i])}
        pos = by_id[pid]
        if isinstance(pos, Perp):
            row["side"] = pos.side
            row["margin_mode"] = pos.margin_mode
            if pos.account:
                row["account"] = pos.account
            if with_account[i]:                     # its account's fate, not its own
                row["liquidated_with"] = with_account[i] if step >= 0 else None
        positions.append(row)
    acc_step = account_liquidation_step(book, out.liq_step)[0]
    accounts = []
    for j, aid in enumerate(book.account_ids):
        vals = out.account_value[0, :, j]
        step = int(acc_step[j])
        liquidated = step >= 0
        legs = book.account_collateral[j]
        accounts.append({"id": aid, "wallet_balance": float(book.account_wallet[j]),
                         "collateral": [{"asset": book.assets[book.coll_asset[c]],
                                         "quantity": float(book.coll_qty[c]),
                                         "ratio_source": book.coll_source[c],
                                         "value_before": float(out.collateral_start[c]),
                                         "value_after": float(out.collateral_end[0, c])}
                                        for c in legs],
                         "value_before": float(vals[0]),
                         "value_after": float(vals[-1]), "pnl": float(vals[-1] - vals[0]),
                         "liquidated": liquidated,
                         "liquidation_step": step if liquidated else None,
                         "liquidation_time": _time_of(scenario, step),
                         "margin_ratio_before": _f(out.account_margin_ratio[0, 0, j]),
                         # while the account exists (up to its liquidation step)
                         "max_margin_ratio": _f(np.max(out.account_margin_ratio[
                             0, : (step + 1 if liquidated else None), j]))})
    parts = outcome_pnl(book, out, 0)
    by_asset = pnl_by_asset(book, parts)
    costs = {**cost_lines(book, parts),
             "hours": float(scenario_hours(scenario)[-1]) if scenario.times else 0.0}
    value = out.value[0]
    v0, v1 = float(value[0]), float(value[-1])
    rep = {
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
                      "min_value_time": _time_of(scenario, int(value.argmin())),
                      "liquidated_positions": int(sum(r["liquidated"] for r in positions))},
        "by_asset": by_asset,
        "by_position": pnl_by_position(book, parts),
        "costs": costs,
        "warnings": [str(w) for w in book.warnings],
    }
    if series:
        ser = {"labels": labels, "times": scenario.times, "value": value.tolist()}
        if out.position_values is not None:
            ser["positions"] = {pid: out.position_values[0, :, i].tolist() for i, pid in enumerate(book.ids)}
        if len(book.loan_pos) and out.loan_health is not None:
            ser["health_factor"] = {book.ids[i]: [_f(x) for x in out.loan_health[0, :, k]]
                                    for k, i in enumerate(book.loan_pos)}
        if book.n_accounts:
            ser["margin_ratio"] = {aid: [_f(x) for x in out.account_margin_ratio[0, :, j]]
                                   for j, aid in enumerate(book.account_ids)}
        rep["series"] = ser
    return rep


def stress_all(p: Portfolio, scenario_ids=None, book: Book | None = None,
               beta_overrides: dict[str, float] | None = None, proxy: str = "BTC") -> dict:
    """Every bundled crash and every scenario saved in ``p`` (or those of ``scenario_ids``,
    in that order) on ``p``.

    ``{"scenarios": [{"id", "name", "source", "crash_days", "steps", "bar", "start", "end",
    "portfolio", "positions", "accounts", "by_asset", "method"}, ...], "warnings": [...]}``:
    per scenario the same keys as :func:`stress`, without the per-step series; ``source`` is
    ``"bundled"`` or ``"saved"``.
    """
    runs = iter_stress_all(p, scenario_ids, book, beta_overrides, proxy)
    while True:
        try:
            next(runs)
        except StopIteration as done:
            return done.value


def iter_stress_all(p: Portfolio, scenario_ids=None, book: Book | None = None,
                    beta_overrides: dict[str, float] | None = None, proxy: str = "BTC"):
    """:func:`stress_all` one scenario at a time: yields ``(done, total, name)`` after each
    scenario and returns the report (a caller may stop between two scenarios). Without
    ``scenario_ids`` an unreadable saved scenario raises; with them, only those are read."""
    from .saved_scenarios import KEY, build_scenario, check_saved, scenario_ids as all_ids
    book = book or compile_book(p)
    saved, errors = check_saved(p.extra.get(KEY))        # read once
    if scenario_ids is None and errors:
        raise errors[0]                        # "all" means all: a bad saved entry is an error
    ids = all_ids(p, saved) if scenario_ids is None else list(scenario_ids)
    liq_rows = {r["id"]: r for r in liquidation_prices(p, book)}
    out = []
    for i, sid in enumerate(ids):
        scen = build_scenario(p, sid, book.assets, book.today, beta_overrides, proxy, saved)
        rep = stress(p, scen, book, series=False, _liq_rows=liq_rows)
        out.append({"id": scen.id, "name": scen.name,
                    "source": "saved" if scen.info.get("saved") else "bundled",
                    "crash_days": scen.info.get("crash_days"),
                    "steps": scen.n_steps, "bar": scen.info.get("bar"),
                    "start": scen.info.get("start"), "end": scen.info.get("end"),
                    **{k: rep[k] for k in ("portfolio", "positions", "accounts", "by_asset",
                                           "by_position", "costs", "method")}})
        yield i + 1, len(ids), scen.name
    return {"scenarios": out, "warnings": [str(w) for w in book.warnings]}


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
    status: list[str] = field(default_factory=list)          # per position (attribution)
    by_position: dict[str, float] = field(default_factory=dict)   # adds up to the P&L

    @property
    def pnl(self) -> np.ndarray:
        return self.value_after - self.value_before

    @property
    def portfolio_pnl(self) -> float:
        return self.portfolio_after - self.portfolio_before


def shock(book: Book, betas: dict[str, float], btc_move: float,
          depegs: dict[str, float] | None = None) -> ShockResult:
    """Run one instant shock through the kernel (about 1 ms for a small book); ``depegs``
    moves pegged assets off their peg on top (:func:`shock_paths`)."""
    paths = shock_paths(book, [float(btc_move)], betas, depegs)
    out = run_book(book, paths)
    before = out.position_start.copy()
    after = out.position_end[0].copy()
    moves = {a: float(paths.close[0, 1, j] / paths.close[0, 0, j] - 1.0)
             for j, a in enumerate(book.assets)}
    acc_liq = account_liquidation_step(book, out.liq_step)[0] >= 0
    accounts = [{"id": aid, "wallet_balance": float(book.account_wallet[j]),
                 "value_before": float(out.account_value[0, 0, j]),
                 "value_after": float(out.account_value[0, -1, j]), "liquidated": bool(acc_liq[j]),
                 "margin_ratio": float(out.account_margin_ratio[0, -1, j])}
                for j, aid in enumerate(book.account_ids)]
    parts = outcome_pnl(book, out, 0)
    liquidated = out.liq_step[0] >= 0
    return ShockResult(float(btc_move), moves, list(book.ids), list(book.labels), list(book.kinds),
                       before, after, liquidated, float(out.value[0, 0]),
                       float(out.value[0, -1]), pnl_by_asset(book, parts), accounts,
                       [status_text(a, bool(x)) for a, x in zip(liquidated_with(book), liquidated)],
                       pnl_by_position(book, parts))


@dataclass
class Sensitivity:
    """Portfolio value after each instant BTC move of ``grid`` (others through their betas)."""

    grid: np.ndarray                        # (G,) BTC moves
    value: np.ndarray                       # (G,) portfolio value after each move
    value_today: float
    # (position id, BTC move, value after it) at the grid point nearest to 0 where each
    # position is first liquidated, per side; none for a position liquidated already today
    marks: list[tuple[str, float, float]]
    # positions liquidated at the grid point nearest to 0 (already past liquidation today,
    # or liquidated by the de-pegs alone)
    liquidated_at_zero: list[str] = field(default_factory=list)


def sensitivity(book: Book, betas: dict[str, float], grid=SENSITIVITY_GRID,
                depegs: dict[str, float] | None = None) -> Sensitivity:
    """The sensitivity curve: one kernel run over every move of ``grid`` (with ``depegs``
    held at every point)."""
    grid = np.asarray(grid, float)
    out = run_book(book, shock_paths(book, grid, betas, depegs), series=False)
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
    return Sensitivity(grid, values, float(out.value[0, 0]), marks,
                       [pid for i, pid in enumerate(book.ids) if liq_any[zero, i]])


# --------------------------------------------------------------------------- reverse stress
def shock_paths(book: Book, btc_moves, betas: dict[str, float],
                depegs: dict[str, float] | None = None) -> PricePaths:
    """One instant-shock path per BTC move: (G, 2, A) prices for moves of shape (G,).

    Each asset moves by its beta (a pegged asset has its base's, a stablecoin 0:
    :func:`engine.scenarios.resolve_betas`); ``depegs`` ``{asset: move}`` multiplies a pegged
    asset held by ``1 + move`` on top (:func:`engine.pegs.depeg_factors`)."""
    r = np.asarray(btc_moves, float)
    beta = np.array([betas[a] for a in book.assets])
    after = book.today * (1.0 + beta_move(r[:, None], beta[None, :]))
    if depegs:
        after = after * depeg_factors(book.assets, depegs)[None, :]
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


#: reverse stress loss levels by default (fractions of today's portfolio value)
DEFAULT_LOSSES = (0.1, 0.25, 0.5)


def loss_levels(levels) -> tuple[float, ...]:
    """Reverse-stress loss levels: ``"0.1,0.2,33%"`` (text, :func:`engine.parsing.parse_number`
    for each item) or a sequence of numbers, as fractions above 0 and below 1, sorted, each
    once. InputError names the field ``losses`` and the item."""
    items = levels.split(",") if isinstance(levels, str) else list(levels)
    out = set()
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        try:
            x = parse_number(item)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and 0.0 < x < 1.0):
            raise InputError("a loss level must be a fraction above 0 and below 1, e.g. 0.1 or 10%",
                             field="losses", value=item)
        out.add(x)
    if not out:
        raise InputError("give at least one loss level, e.g. 0.1,0.25,0.5", field="losses",
                         value=levels)
    return tuple(sorted(out))


def reverse_stress(p: Portfolio, beta_overrides: dict[str, float] | None = None,
                   losses=DEFAULT_LOSSES, max_up: float = 10.0) -> dict:
    """The BTC move (others through their betas) that liquidates each position, and the move
    that costs the portfolio each fraction in ``losses`` of its value today (any levels:
    :func:`loss_levels` reads and checks them; keys are ``f"{x:g}"``).

    Moves are searched down to -99.9% and up to ``max_up`` (+1000%); the one nearest to 0
    is reported (``null`` when none liquidates). Found on a grid, refined by bisection.
    """
    losses = loss_levels(losses)
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
