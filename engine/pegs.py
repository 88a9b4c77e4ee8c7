"""Pegged assets: wrapped and liquid-staking tokens that follow a base asset, stablecoins
pegged to the dollar, and their de-pegs (``resources/pegs.json``, cited).

The rule, the same in every scenario kind:

- a wrapped or liquid-staking token (WETH, wstETH, wBETH, WBTC, BNSOL, ...) moves with its
  base asset at its own price ratio to it: its path is ``today's price x base path / base
  today`` (a wstETH at 1.2x ETH stays at 1.2x ETH);
- a stablecoin stays at today's price (its ratio to its $1 peg);
- unless it is moved explicitly: a *de-peg*, relative to that path. In a shock
  ``ETH=-30%,STETH=-5%`` is ETH -30 % and stETH a further -5 % (-33.5 %); ``USDE=-35%``
  moves USDe alone. Replays use a pegged asset's own recorded path when the data has it
  (USDC in SVB, UST in LUNA, an imported stETH file). The Monte Carlo adds de-peg jumps
  (:class:`DepegJumps`) with frequencies and depths from the table's historical events.

A user who gives a pegged asset its own beta (or, in the Monte Carlo, its own vol) takes it
off its peg: it then moves like any other asset (:func:`following`).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .errors import InputError
from .parsing import asset_symbol
from .resources import load_json_resource

PEGS_FORMAT = "crashlab.pegs/1"
PEG_TYPES = ("wrapped", "liquid-staking", "stablecoin")
DEPEG_MODES = ("default", "off")
MAX_DEPEG_RATE = 100.0            # de-peg events per pegged asset per year (user-set)
DAYS_PER_YEAR = 365.0


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Peg:
    """One pegged asset of the table."""

    asset: str
    base: str                       # "ETH", "BTC", "SOL"; "USD" for a stablecoin
    kind: str                       # "wrapped" | "liquid-staking" | "stablecoin"
    peg: float | None               # a stablecoin's peg value in USD
    since: str                      # first month traded, "YYYY-MM"
    until: str | None = None        # last month of the peg (None: still pegged)
    group: str = ""                 # de-pegs shared with (wstETH: STETH); itself by default
    name: str = ""

    @property
    def stable(self) -> bool:
        return self.kind == "stablecoin"

    @property
    def active(self) -> bool:
        return self.until is None

    def describe(self) -> str:
        """How the asset's path is built: ``follows ETH (wrapped)``, ``pegged to $1 (stablecoin)``."""
        if self.stable:
            return f"pegged to ${self.peg:g} (stablecoin)"
        return f"follows {self.base} ({self.kind})"


@dataclass(frozen=True)
class DepegEvent:
    asset: str
    kind: str
    date: str
    depth: float                    # trough below the peg, fraction
    half_life_days: float           # recovery half-life; inf: the peg did not come back
    venue: str
    note: str
    sources: tuple[str, ...]


def _month(text: str, end: bool) -> dt.date:
    y, m = (int(x) for x in text.split("-")[:2])
    if not end:
        return dt.date(y, m, 1)
    return dt.date(y + m // 12, m % 12 + 1, 1)            # first day after the month


@lru_cache(maxsize=None)
def _table() -> dict:
    data = load_json_resource("pegs.json")
    if data.get("format") != PEGS_FORMAT:
        raise ValueError(f"resources/pegs.json: format {data.get('format')!r}, expected {PEGS_FORMAT!r}")
    return data


@lru_cache(maxsize=None)
def table() -> dict[str, Peg]:
    """Every asset of the table (also pegs that have ended, like UST), by symbol."""
    out = {}
    for sym, row in _table()["assets"].items():
        kind = row["type"]
        if kind not in PEG_TYPES:
            raise ValueError(f"resources/pegs.json: {sym}: unknown type {kind!r}")
        out[sym.upper()] = Peg(sym.upper(), row["base"].upper(), kind,
                               float(row["peg"]) if row.get("peg") is not None else None,
                               row["since"], row.get("until"), row.get("depeg_group", sym).upper(),
                               row.get("name", ""))
    return out


def pegs() -> dict[str, Peg]:
    """The pegged assets of today (pegs that ended, like UST's, excluded)."""
    return {a: p for a, p in table().items() if p.active}


def peg_of(asset: str) -> Peg | None:
    """The peg of ``asset`` (any spelling: ``wstETH``, ``WSTETH``), or None."""
    return pegs().get(asset_symbol(asset))


def stablecoins() -> tuple[str, ...]:
    return tuple(a for a, p in pegs().items() if p.stable)


def following(asset: str, unpegged=()) -> Peg | None:
    """The peg ``asset`` follows in a scenario: None when it is not pegged, or when the user
    gave it its own beta or vol (``unpegged``: the assets the user did that for)."""
    p = peg_of(asset)
    if p is None or asset_symbol(asset) in {asset_symbol(a) for a in (unpegged or ())}:
        return None
    return p


def depeg_text(move: float, who: str = "user") -> str:
    """``de-peg -35 % (user)``."""
    return f"de-peg {move * 100:+.4g} % ({who})"


# --------------------------------------------------------------------------- shocks
def check_depegs(assets, depegs: dict | None) -> dict[str, float]:
    """Explicit de-pegs ``{asset: move}`` of assets held (fractions, > -1) as upper-case keys;
    InputError names ``depeg.ASSET`` for an asset that is not pegged or not held, or a bad move."""
    out = {}
    held = set(assets)
    for k, v in (depegs or {}).items():
        a = asset_symbol(k)
        if a not in held or peg_of(a) is None:
            raise InputError("is not a pegged asset of this portfolio", field=f"depeg.{a}", value=v)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= -1.0:
            raise InputError("a de-peg must be a number above -100%", field=f"depeg.{a}", value=v)
        out[a] = float(v)
    return out


def depeg_factors(assets, depegs: dict | None) -> np.ndarray:
    """``1 + de-peg`` per asset of ``assets`` (1 where none), checked by :func:`check_depegs`."""
    d = check_depegs(assets, depegs)
    return np.array([1.0 + d.get(a, 0.0) for a in assets])


# --------------------------------------------------------------------------- de-peg history
@lru_cache(maxsize=None)
def depeg_events() -> tuple[DepegEvent, ...]:
    """The historical de-pegs of the table at or above its threshold."""
    t = _table()
    thr = float(t["depeg_threshold"])
    every = table()
    out = []
    for e in t["depeg_events"]:
        a = e["asset"].upper()
        if a not in every:
            raise ValueError(f"resources/pegs.json: de-peg event of {a}, which is not in the table")
        d = float(e["depth"])
        if not 0 < d < 1:
            raise ValueError(f"resources/pegs.json: {a} {e['date']}: depth {d} must be in (0, 1)")
        h = e.get("half_life_days")
        if d >= thr:
            out.append(DepegEvent(a, every[a].kind, e["date"], d, math.inf if h is None else float(h),
                                  e.get("venue", ""), e.get("note", ""), tuple(e.get("sources", ()))))
    return tuple(out)


@lru_cache(maxsize=None)
def exposure_years() -> dict[str, float]:
    """Token-years of each peg type in the table's window (a de-peg group counted once)."""
    w0, w1 = (dt.date.fromisoformat(x) for x in _table()["depeg_window"])
    w1 = w1 + dt.timedelta(days=1)
    out = {k: 0.0 for k in PEG_TYPES}
    for p in table().values():
        if p.group != p.asset:
            continue
        start = max(_month(p.since, False), w0)
        end = min(_month(p.until, True), w1) if p.until else w1
        if end > start:
            out[p.kind] += (end - start).days / 365.25
    return out


@lru_cache(maxsize=None)
def historical_rates() -> dict[str, float]:
    """De-peg events per token-year of each peg type: events / exposure in the window."""
    expo = exposure_years()
    n = {k: 0 for k in PEG_TYPES}
    for e in depeg_events():
        n[e.kind] += 1
    return {k: (n[k] / expo[k] if expo[k] > 0 else 0.0) for k in PEG_TYPES}


def depeg_setting(value) -> str | float:
    """A de-peg setting as given on the command line, in the GUI or in a request:
    ``"default"`` (historical frequencies), ``"off"``, or a rate (events per pegged asset per
    year, ``0.5``; 0 is off). InputError names the field ``depeg``."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in DEPEG_MODES:
            return text
        try:
            value = float(text.removesuffix("/yr").removesuffix("/y").strip())
        except ValueError:
            raise InputError("must be 'default', 'off' or a number of de-pegs per year (e.g. 0.5)",
                             field="depeg", value=value) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= MAX_DEPEG_RATE:
        raise InputError(f"a de-peg rate must be a number of events per year between 0 and "
                         f"{MAX_DEPEG_RATE:g}", field="depeg", value=value)
    return "off" if value == 0 else float(value)


def depeg_summary(setting) -> str:
    """One line on the de-peg jumps a setting gives."""
    s = depeg_setting(setting)
    if s == "off":
        return "de-peg jumps off: pegged assets follow their base exactly, stablecoins stay at today's price"
    ev = depeg_events()
    count = {k: sum(e.kind == k for e in ev) for k in PEG_TYPES}
    depths = "depth and recovery of one of the table's historical events of its type " \
             f"({', '.join(f'{count[k]} {k}' for k in PEG_TYPES)}; resources/pegs.json)"
    if s == "default":
        r = historical_rates()
        rates = ", ".join(f"{k} {r[k]:.3f}" for k in PEG_TYPES)
        return f"de-peg jumps at historical frequencies per asset per year ({rates}), each with the {depths}"
    return f"de-peg jumps at {s:g} per pegged asset per year (user-set), each with the {depths}"


# --------------------------------------------------------------------------- Monte Carlo
@dataclass
class DepegJumps:
    """De-peg jumps of the pegged columns of a Monte Carlo book.

    Per de-peg group (an asset, or stETH with wstETH) and step, a jump occurs with
    probability ``rate x step length``; it draws one historical event of the group's type
    (depth ``d``, half-life ``h``), reaches its trough ``1 - d`` at a uniform time within the
    step and recovers from it: ``factor(t) = 1 - d * 2 ** (-(t - t_trough) / h)`` (for good
    when ``h`` is infinite). Several jumps multiply. The asset's close, low and high (its
    base's, or today's price for a stablecoin) are multiplied by the factor at the step's end,
    its minimum over the step (the trough at a jump) and its maximum. Jumps hit the pegged
    asset only, never its base.
    """

    columns: list[list[int]]             # per group: book columns it moves
    kinds: list[str]                     # per group: peg type
    rates: np.ndarray                    # per group: events per year
    step_days: float
    depth: dict[str, np.ndarray] = field(default_factory=dict)       # per type
    half_life: dict[str, np.ndarray] = field(default_factory=dict)   # per type, days

    def step_probability(self) -> np.ndarray:
        return np.minimum(self.rates * self.step_days / DAYS_PER_YEAR, 1.0)

    def factors(self, rng: np.random.Generator, n_steps: int, n_paths: int):
        """Yield ``(group, close, low, high)`` factor arrays ``(n_steps + 1, n_paths)`` for
        every group that jumps on some path (the draws depend only on the shapes)."""
        T, P = n_steps, n_paths
        probs = self.step_probability()
        for g, p in enumerate(probs):
            u = rng.random((T, P), dtype=np.float32)
            steps, paths = np.nonzero(u < np.float32(p))
            n_hit = len(steps)
            pick = rng.integers(0, max(1, len(self.depth[self.kinds[g]])), size=n_hit)
            tau = rng.random(n_hit)
            if not n_hit:
                continue
            d = self.depth[self.kinds[g]][pick]
            h = self.half_life[self.kinds[g]][pick]
            k = steps + 1                                  # the jump's step (1..T)
            logf = np.zeros((P, T + 1))
            t = np.arange(T + 1)
            close_at_jump = np.empty(n_hit)
            chunk = max(1, 2_000_000 // (T + 1))
            for a in range(0, n_hit, chunk):
                b = min(n_hit, a + chunk)
                age = (t[None, :] - k[a:b, None] + tau[a:b, None]) * self.step_days
                with np.errstate(over="ignore"):
                    f = 1.0 - d[a:b, None] * np.exp2(-np.maximum(age, 0.0) / h[a:b, None])
                f = np.where(t[None, :] >= k[a:b, None], f, 1.0)
                close_at_jump[a:b] = f[np.arange(b - a), k[a:b]]
                np.add.at(logf, paths[a:b], np.log(f))
            close = np.exp(logf.T)                         # (T + 1, P)
            low = np.ones_like(close)
            high = np.ones_like(close)
            np.minimum(close[:-1], close[1:], out=low[1:])
            np.maximum(close[:-1], close[1:], out=high[1:])
            np.multiply.at(low, (k, paths), (1.0 - d) / close_at_jump)   # down to the trough
            np.minimum(low, close, out=low)
            yield g, close, low, high

    def apply(self, rng: np.random.Generator, C: np.ndarray, L: np.ndarray, H: np.ndarray) -> None:
        """Multiply the pegged columns of price cubes laid out ``(steps + 1, assets, paths)``
        by their de-peg factors, in place."""
        T, _, P = C.shape
        for g, close, low, high in self.factors(rng, T - 1, P):
            for c in self.columns[g]:
                C[:, c, :] *= close
                L[:, c, :] *= low
                H[:, c, :] *= high


@dataclass
class PegPlan:
    """How a Monte Carlo simulates a book's assets: the assets the path model draws, which
    of them each book column follows, and the de-peg jumps."""

    model_assets: tuple[str, ...]
    model_today: np.ndarray
    book_model: np.ndarray            # (A,) model asset of each book column, -1: held (stablecoin)
    notes: list[str]
    depeg: DepegJumps | None

    def book_sim(self, model) -> np.ndarray:
        """The simulated column (of ``model``) each book column follows, -1 where held at
        today's price (a stablecoin, or an asset the model holds fixed)."""
        sim_of = {int(m): s for s, m in enumerate(model.sim_index) if m >= 0}
        return np.array([sim_of.get(int(m), -1) if m >= 0 else -1 for m in self.book_model],
                        dtype=np.int64)


def monte_carlo_plan(assets, today, *, beta_overrides=None, vols=None, depeg="default",
                     steps_per_day: int = 1) -> PegPlan:
    """The book's pegged assets mapped onto the assets the path model draws: a pegged asset
    is replaced by its base (added when the book lacks it), a stablecoin is held; assets
    given their own beta or vol stay on their own. ``depeg``: see :func:`depeg_setting`."""
    assets = tuple(assets)
    today = np.asarray(today, float)
    unpegged = set((beta_overrides or {})) | set((vols or {}))
    model: list[str] = []
    model_today: list[float] = []
    book_model = []
    notes = []
    groups: dict[str, int] = {}
    columns: list[list[int]] = []
    kinds: list[str] = []
    for c, a in enumerate(assets):
        p = following(a, unpegged)
        root = a if p is None else (None if p.stable else p.base)
        if root is None:
            book_model.append(-1)
        else:
            if root not in model:
                model.append(root)
                model_today.append(float(today[assets.index(root)]) if root in assets else 1.0)
            book_model.append(model.index(root))
        if p is None:
            continue
        if p.stable:
            notes.append(f"{a}: {p.describe()}, held at today's price {today[c]:g}")
        else:
            ratio = (f" ({today[c] / today[assets.index(p.base)]:.4g} x {p.base})"
                     if p.base in assets else "")
            notes.append(f"{a}: {p.describe()} at today's price ratio{ratio}")
        if p.group not in groups:
            groups[p.group] = len(columns)
            columns.append([])
            kinds.append(p.kind)
        columns[groups[p.group]].append(c)
    setting = depeg_setting(depeg)
    jumps = None
    if columns and setting != "off":
        r = historical_rates()
        rates = np.array([r[k] if setting == "default" else float(setting) for k in kinds])
        ev = depeg_events()
        jumps = DepegJumps(columns, kinds, rates, 1.0 / int(steps_per_day),
                           {k: np.array([e.depth for e in ev if e.kind == k]) for k in PEG_TYPES},
                           {k: np.array([e.half_life_days for e in ev if e.kind == k]) for k in PEG_TYPES})
        empty = [k for k in set(kinds) if not len(jumps.depth[k])]
        if empty:
            raise ValueError(f"resources/pegs.json has no de-peg event of type {', '.join(empty)}")
    if columns:
        notes.append(depeg_summary(setting))
    return PegPlan(tuple(model), np.array(model_today), np.array(book_model, dtype=np.int64),
                   notes, jumps)
