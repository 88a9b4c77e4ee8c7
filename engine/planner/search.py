"""The search for each way's smallest amount that survives a target.

Candidates are judged many at once: each candidate portfolio (a unit's sub-portfolio with
an amount applied) is copied into one book under renamed ids (``id#k``), and one kernel run
(:func:`engine.replay.run_book`) on the target's paths liquidates them all; units never
interact in the kernel, so each copy fares exactly as it would alone.

Per way: a geometric bracket of the amount (``(0, cap]`` in 12 steps, or ``scale`` x 1e-5 ..
1e4 in steps of x10 when unbounded) finds the first amount that survives; bisection then
narrows ``[lo fails, hi survives]`` until ``hi - lo <= RTOL * hi``; finally ``CHECK * hi``
(98 %) is judged, and must fail. When it survives instead (survival is not monotone in the
amount, e.g. a collateral swap that lowers the health factor today), the search starts again
below it. The reported amount is ``hi``: it survives, and 98 % of it does not.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..book import check_portfolio, compile_book
from ..errors import InputError
from ..portfolio import Portfolio
from .actions import Way
from .targets import Target

#: relative width of the final bracket: the amount found is at most 0.01 % above the
#: smallest surviving amount of that bracket
RTOL = 1e-4
#: the share of the amount that must fail the target (the "minimal" test)
CHECK = 0.98
GRID_POINTS = 12
UNBOUNDED = (1e-5, 1e4)          # bracket of an unbounded amount, times the way's scale
UNBOUNDED_POINTS = 10
SECTION = 1                      # amounts judged per round once bracketed (1: bisection)
MAX_RESTARTS = 6
MAX_ROUNDS = 80
MAX_CELLS = 1 << 22              # paths x positions per kernel run (memory bound)


# --------------------------------------------------------------------------- judging
def judge(target: Target, candidates: list[Portfolio | None]) -> np.ndarray:
    """Whether each candidate portfolio survives ``target`` (None: an infeasible change,
    judged not to survive; a portfolio without positions survives)."""
    ok = np.zeros(len(candidates), bool)
    batch = []
    for k, c in enumerate(candidates):
        if c is None:
            continue
        if not c.positions:
            ok[k] = True
            continue
        batch.append((k, c))
    limit = max(1, MAX_CELLS // max(1, target.n_paths))
    i = 0
    while i < len(batch):
        chunk, n = [], 0
        while i < len(batch) and (not chunk or n + len(batch[i][1].positions) <= limit):
            chunk.append(batch[i])
            n += len(batch[i][1].positions)
            i += 1
        _judge_chunk(target, chunk, ok)
    return ok


def _renamed(c: Portfolio, k: int):
    pos = []
    for x in c.positions:
        kw = {"id": f"{x.id}#{k}"}
        if getattr(x, "account", None):
            kw["account"] = f"{x.account}#{k}"
        pos.append(dataclasses.replace(x, **kw))
    return pos, [dataclasses.replace(a, id=f"{a.id}#{k}") for a in c.accounts]


def _judge_chunk(target: Target, chunk: list[tuple[int, Portfolio]], ok: np.ndarray) -> None:
    while chunk:
        positions, accounts, owner = [], [], {}
        for k, c in chunk:
            ps, accs = _renamed(c, k)
            positions += ps
            accounts += accs
            owner.update({x.id: k for x in ps})
            owner.update({a.id: k for a in accs})
        merged = Portfolio(prices=chunk[0][1].prices, accounts=accounts, positions=positions)
        try:
            book = compile_book(merged)
        except InputError:                # an invalid candidate does not survive
            errors, _ = check_portfolio(merged)
            bad = {owner[e.position] for e in errors if e.position in owner}
            if not bad:
                raise
            chunk = [(k, c) for k, c in chunk if k not in bad]
            continue
        dead = target.liquidated(book)                              # (P, n)
        col = {pid: i for i, pid in enumerate(book.ids)}
        for k, c in chunk:
            cols = [col[f"{x.id}#{k}"] for x in c.positions]
            ok[k] = bool(target.survives(dead[:, cols].any(axis=1).sum()))
        return


# --------------------------------------------------------------------------- one search
@dataclass
class Search:
    """The search of one way on its unit's sub-portfolio ``base``."""

    way: Way
    base: Portfolio
    cap: float = math.nan
    lo: float = 0.0
    hi: float = math.nan
    stage: str = "grid"                   # grid, section, check, done
    result: float | None = None
    restarts: int = 0
    rounds: int = 0
    note: str = ""
    _points: np.ndarray | None = None

    def __post_init__(self):
        self.cap = self.way.cap

    @property
    def done(self) -> bool:
        return self.stage == "done"

    def propose(self) -> np.ndarray:
        if self.stage == "grid":
            if math.isfinite(self.cap):
                pts = self.cap * np.geomspace(1e-4, 1.0, GRID_POINTS)
            else:
                pts = self.way.scale * np.geomspace(*UNBOUNDED, UNBOUNDED_POINTS)
        elif self.stage == "section":
            pts = np.linspace(self.lo, self.hi, SECTION + 2)[1:-1]
        else:
            pts = np.array([CHECK * self.hi])
        self._points = pts
        return pts

    def candidates(self) -> list[Portfolio | None]:
        out = []
        for x in self.propose():
            try:
                out.append(self.way.apply(self.base, float(x)))
            except InputError:
                out.append(None)
        return out

    def update(self, ok: np.ndarray) -> None:
        pts = self._points
        self.rounds += 1
        hits = np.flatnonzero(ok)
        if self.stage == "grid":
            if not len(hits):
                self._finish(None, "no amount in the searched range survives")
                return
            k = int(hits[0])
            self.lo = float(pts[k - 1]) if k else 0.0
            self.hi = float(pts[k])
            self.stage = "section"
        elif self.stage == "section":
            if len(hits):
                k = int(hits[0])
                self.hi = float(pts[k])
                self.lo = float(pts[k - 1]) if k else self.lo
            else:
                self.lo = float(pts[-1])
        else:                                               # the 98 % check
            if not ok[0]:
                self._finish(self.hi)
                return
            self.restarts += 1
            if self.restarts > MAX_RESTARTS:
                self._finish(None, "survival is not monotone in this amount")
                return
            self.cap, self.lo, self.hi, self.stage = CHECK * self.hi, 0.0, math.nan, "grid"
            return
        if self.stage == "section" and (self.hi - self.lo <= RTOL * self.hi
                                        or self.rounds >= MAX_ROUNDS):
            self.stage = "check"

    def _finish(self, result: float | None, note: str = "") -> None:
        self.result, self.note, self.stage = result, note, "done"


def run_searches(target: Target, searches: list[Search]):
    """Advance every search round by round, all candidates of a round judged together.
    A generator: yields the number of searches still running after each round."""
    while True:
        active = [s for s in searches if not s.done]
        if not active:
            return
        cands, spans = [], []
        for s in active:
            c = s.candidates()
            spans.append((len(cands), len(cands) + len(c)))
            cands += c
        ok = judge(target, cands)
        for s, (a, b) in zip(active, spans):
            s.update(ok[a:b])
        yield sum(not s.done for s in searches)
