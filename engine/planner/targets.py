"""What a portfolio must survive: a planner target as one price cube and a rule.

A :class:`Target` holds every path of the target over the assets of the portfolio planned
(the *universe*): the bundled crashes stacked as paths, one shock or imported history, the
shock that costs the portfolio a reverse-stress loss level, or the Monte Carlo paths of a
fixed seed (common random numbers: every candidate change is judged on the same paths, so
a search over an amount is monotone where the position's survival is).

A position or cross account *survives* the target when it is liquidated on at most
``allowed`` paths: 0 for a crash, a shock or a history (no liquidation at all), and
``floor(p * N)`` of the ``N`` Monte Carlo paths for "P(liquidation) <= p".

Crashes of different lengths are stacked by repeating each one's last close (low = high =
close) to the longest: a position that survived a crash's last bar survives those steps
too (its equity, health factor or account surplus at the close is at least what it was at
that bar's worst prices), so padding changes no liquidation.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..book import compile_book
from ..errors import InputError
from ..portfolio import Portfolio
from ..replay import PricePaths, run_book
from ..scenarios import Scenario, history_scenario, library, library_scenario, shock_scenario
from ..parsing import parse_number
from ..stress import loss_levels, reverse_stress, scenario_hours, stress

#: Monte Carlo paths the planner judges a probability target on (``--paths``): the
#: standard error of a probability p is sqrt(p (1 - p) / N), 0.16 % at p = 1 %.
DEFAULT_PLANNER_PATHS = 4000

ALL = "all"


@dataclass
class TargetSpec:
    """What to survive: exactly one of ``scenario`` (a bundled crash id, or ``"all"``),
    ``shock`` (``{"BTC": -0.4}``), ``history`` (a :class:`engine.prices.PriceHistory`),
    ``loss`` (a reverse-stress loss level, a fraction of today's value; checked by
    :func:`engine.stress.loss_levels`, errors name ``losses``) or ``pliq`` (a
    Monte Carlo limit on each position's probability of liquidation over ``days``).

    Errors name these fields (``target``, ``scenario``, ``shock``, ``history``, ``pliq``,
    ``days``, ``n_paths``, ``seed``); the command line maps them to its flags."""

    scenario: str | None = None
    shock: dict[str, float] | None = None
    history: object | None = None
    loss: float | None = None
    pliq: float | None = None
    days: int = 30
    n_paths: int = DEFAULT_PLANNER_PATHS
    seed: int = 0
    model: str = "student-t"
    beta_overrides: dict[str, float] | None = None
    proxy: str = "BTC"

    def chosen(self) -> list[str]:
        return [k for k in ("scenario", "shock", "history", "loss", "pliq")
                if getattr(self, k) is not None]


@dataclass
class Target:
    """A target built for one portfolio. ``paths`` is ``(P, T + 1, A)`` over ``assets``."""

    kind: str                         # "library", "all", "shock", "history", "loss", "montecarlo"
    id: str
    name: str
    rule: str                         # what surviving means, in words
    assets: tuple[str, ...]
    paths: PricePaths
    allowed: int                      # paths on which a unit may be liquidated
    scenarios: list[Scenario] = field(default_factory=list)   # deterministic parts, in order
    request: object | None = None     # the MonteCarloRequest of a probability target
    spec: TargetSpec | None = None

    @property
    def n_paths(self) -> int:
        return self.paths.close.shape[0]

    def cube(self, assets) -> PricePaths:
        """The target's paths over ``assets`` (a subset of the universe, any order)."""
        idx = [self.assets.index(a) for a in assets]
        pp = self.paths
        return PricePaths.prepared(pp.close[:, :, idx], pp.low[:, :, idx], pp.high[:, :, idx])

    def liquidated(self, book) -> np.ndarray:
        """(P, n) bool: which of ``book``'s positions each path liquidates. Funding and
        interest accrue over each part's own elapsed hours, exactly as in the stress report
        and the Monte Carlo: the stacked crashes run one by one (their bars differ), a shock
        has no elapsed time, a Monte Carlo target has its steps per day."""
        cube = self.cube(book.assets)
        if self.request is not None:
            hours = np.arange(cube.close.shape[1]) * (24.0 / self.request.steps_per_day)
            return run_book(book, cube, hours=hours, series=False).liq_step >= 0
        if len(self.scenarios) <= 1:
            hours = scenario_hours(self.scenarios[0]) if self.scenarios else None
            return run_book(book, cube, hours=hours, series=False).liq_step >= 0
        out = np.zeros((self.n_paths, book.n_positions), bool)
        for i, scen in enumerate(self.scenarios):          # one path per stacked crash
            n_t = scen.paths.close.shape[1]
            one = PricePaths.prepared(cube.close[i:i + 1, :n_t], cube.low[i:i + 1, :n_t],
                                      cube.high[i:i + 1, :n_t])
            out[i] = run_book(book, one, hours=scenario_hours(scen), series=False).liq_step[0] >= 0
        return out

    def survives(self, dead_paths) -> np.ndarray:
        """Per unit, from the number of paths on which it is liquidated."""
        return np.asarray(dead_paths) <= self.allowed

    def describe(self) -> dict:
        out = {"kind": self.kind, "id": self.id, "name": self.name, "rule": self.rule,
               "paths": self.n_paths, "allowed_paths": self.allowed}
        if self.scenarios:
            out["scenarios"] = [s.id for s in self.scenarios]
        if self.spec is not None and self.kind == "montecarlo":
            out.update(limit=self.spec.pliq, days=self.spec.days, seed=self.spec.seed,
                       model=self.spec.model,
                       standard_error=math.sqrt(max(self.spec.pliq * (1 - self.spec.pliq), 0.0)
                                                / self.n_paths))
        if self.kind in ("shock", "loss"):
            out["moves"] = self.scenarios[0].moves
        return out


# --------------------------------------------------------------------------- building
def _limit(value) -> float:
    """A probability limit: a fraction from 0 up to (not including) 1 (``0.01``, ``"1%"``)."""
    try:
        x = parse_number(value)
    except ValueError:
        x = math.nan
    if not (math.isfinite(x) and 0.0 <= x < 1.0):
        raise InputError("must be a probability from 0 up to (not including) 1, e.g. 0.01 or 1%",
                         field="pliq", value=value)
    return x


def _stack(scens: list[Scenario]) -> PricePaths:
    """Deterministic scenarios as paths of one cube, each padded with its last close."""
    n_t = max(s.paths.close.shape[1] for s in scens)

    def pad(x, last):
        extra = n_t - x.shape[0]
        return x if not extra else np.concatenate([x, np.repeat(last[None], extra, axis=0)])

    close, low, high = [], [], []
    for s in scens:
        c = s.paths.close[0]
        close.append(pad(c, c[-1]))
        low.append(pad(s.paths.low[0], c[-1]))
        high.append(pad(s.paths.high[0], c[-1]))
    return PricePaths.prepared(np.stack(close), np.stack(low), np.stack(high))


def restrict(scen: Scenario, assets) -> Scenario:
    """``scen`` (built over the universe) over ``assets`` only, for a changed book."""
    assets = tuple(assets)
    if assets == tuple(scen.assets):
        return scen
    idx = [scen.assets.index(a) for a in assets]
    pp = scen.paths
    paths = PricePaths.prepared(pp.close[:, :, idx], pp.low[:, :, idx], pp.high[:, :, idx])
    keep = lambda d: {a: d[a] for a in assets if a in d}            # noqa: E731
    return dataclasses.replace(scen, assets=assets, paths=paths, moves=keep(scen.moves),
                               betas=keep(scen.betas), method=keep(scen.method))


def build_target(p: Portfolio, spec: TargetSpec) -> Target:
    """The target of ``spec`` for portfolio ``p`` (raises InputError naming the spec field)."""
    chosen = spec.chosen()
    if len(chosen) != 1:
        raise InputError("give exactly one target: a bundled crash (or all of them), a shock, "
                         "a price history, a loss level or a liquidation probability",
                         field="target", value=f"{len(chosen)} given ({', '.join(chosen) or 'none'})")
    book = compile_book(p)
    assets, today = tuple(book.assets), book.today
    betas = spec.beta_overrides or None
    if spec.scenario is not None:
        if spec.scenario == ALL:
            scens = [library_scenario(s["id"], assets, today, betas, spec.proxy) for s in library()]
            return Target("all", ALL, f"All {len(scens)} bundled crashes",
                          f"not liquidated in any of the {len(scens)} bundled crashes", assets,
                          _stack(scens), 0, scens, spec=spec)
        scen = library_scenario(spec.scenario, assets, today, betas, spec.proxy)
        return Target("library", scen.id, scen.name, f"not liquidated in {scen.name}", assets,
                      scen.paths, 0, [scen], spec=spec)
    if spec.shock is not None:
        scen = shock_scenario(assets, today, spec.shock, betas)
        moves = ", ".join(f"{a} {v:+.1%}" for a, v in spec.shock.items())
        return Target("shock", "shock", scen.name, f"not liquidated by an instant move of {moves} "
                      "(other assets through their betas)",
                      assets, scen.paths, 0, [scen], spec=spec)
    if spec.history is not None:
        scen = history_scenario(spec.history, assets, today, betas, spec.proxy)
        return Target("history", "history", scen.name, f"not liquidated in the {scen.name}",
                      assets, scen.paths, 0, [scen], spec=spec)
    if spec.loss is not None:
        loss = loss_levels([spec.loss])[0]
        rev = reverse_stress(p, betas, losses=(loss,))
        move = rev["portfolio"]["btc_move_for_loss"][f"{loss:g}"]
        if move is None:
            raise InputError(f"no BTC move between -99.9 % and +1000 % costs the portfolio "
                             f"{loss:.0%} of its value", field="losses", value=spec.loss)
        scen = shock_scenario(assets, today, {"BTC": move}, betas)
        scen = dataclasses.replace(scen, id=f"loss-{loss:g}",
                                   name=f"Loss of {loss:.0%} (BTC {move:+.1%})")
        return Target("loss", scen.id, scen.name,
                      f"not liquidated by the BTC move that costs the portfolio {loss:.0%} of "
                      f"its value today (BTC {move:+.1%}, others through their betas)",
                      assets, scen.paths, 0, [scen], spec=spec)
    return _montecarlo_target(p, spec, assets)


def _montecarlo_target(p: Portfolio, spec: TargetSpec, assets) -> Target:
    from ..montecarlo import MonteCarloRequest, block_price_paths, validate_request
    limit = _limit(spec.pliq)
    req = validate_request(MonteCarloRequest(n_paths=spec.n_paths, days=spec.days, seed=spec.seed,
                                             model=spec.model,
                                             beta_overrides=spec.beta_overrides or None))
    blocks, done, b = [], 0, 0
    while done < req.n_paths:               # the run's blocks, exactly as the Monte Carlo draws them
        pp = block_price_paths(p, req, b)
        blocks.append(pp)
        done += pp.close.shape[0]
        b += 1
    cat = lambda k: np.concatenate([getattr(x, k) for x in blocks])   # noqa: E731
    paths = PricePaths.prepared(cat("close"), cat("low"), cat("high"))
    n = paths.close.shape[0]
    allowed = int(math.floor(limit * n + 1e-9))
    se = math.sqrt(limit * (1 - limit) / n)
    return Target("montecarlo", f"pliq-{limit:g}-{spec.days}d",
                  f"P(liquidation) ≤ {limit:.2%} over {spec.days} days",
                  f"liquidated on at most {allowed} of {n:,} Monte Carlo paths (P(liquidation) "
                  f"≤ {limit:.2%} over {spec.days} days; model {spec.model}, seed {spec.seed}; "
                  f"standard error of the estimate about {se:.2%})",
                  tuple(assets), paths, allowed, [], req, spec)


# --------------------------------------------------------------------------- summaries
def summaries(target: Target, p: Portfolio) -> list[dict]:
    """The target's outcome for portfolio ``p``, one summary per crash (or per shock, history,
    or the Monte Carlo): ``{"id", "name", "value_before", "pnl", "liquidated",
    "liquidated_ids"}``; for a probability target ``pnl`` is the expected P&L, ``liquidated``
    counts the positions over the limit and ``liquidation_probability`` gives each one's.

    Computed by the engine's reports (:func:`engine.stress.stress`,
    :func:`engine.montecarlo.run_montecarlo`), as the ``stress`` and ``montecarlo``
    commands compute them."""
    book = compile_book(p)
    if target.kind == "montecarlo":
        from ..montecarlo import run_montecarlo
        res = run_montecarlo(p, target.request)
        probs = {r["id"]: r["liquidation_probability"] for r in res["positions"]}
        over = [pid for pid, x in probs.items() if x * target.n_paths > target.allowed + 1e-9]
        return [{"id": target.id, "name": target.name,
                 "value_before": res["portfolio"]["value_before"],
                 "pnl": res["portfolio"]["expected_pnl"], "liquidated": len(over),
                 "liquidated_ids": over, "liquidation_probability": probs,
                 "var": res["var"], "paths": res["paths"]}]
    out = []
    for scen in target.scenarios:
        rep = stress(p, restrict(scen, book.assets), book, series=False)
        pf = rep["portfolio"]
        out.append({"id": scen.id, "name": scen.name, "value_before": pf["value_before"],
                    "value_after": pf["value_after"], "pnl": pf["pnl"],
                    "pnl_fraction": pf["pnl_fraction"], "liquidated": pf["liquidated_positions"],
                    "liquidated_ids": [r["id"] for r in rep["positions"] if r["liquidated"]],
                    "accounts_liquidated": [a["id"] for a in rep["accounts"] if a["liquidated"]]})
    return out
