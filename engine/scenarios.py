"""Scenarios as price paths: BTC shocks with beta propagation, the bundled crash library,
and replays of imported price histories (with a proxy for assets a history lacks).

Every builder returns a :class:`Scenario`: one path of prices ``(1, n_steps + 1, n_assets)``
in the book's asset order, step 0 being today's prices.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import pegs
from .errors import InputError
from .limits import MAX_BETA, MAX_MOVE, MIN_MOVE, pct_text
from .parsing import asset_symbol
from .replay import PricePaths
from .resources import load_json_resource

DEFAULT_BETA = 1.0


# --------------------------------------------------------------------------- calibration
@lru_cache(maxsize=None)
def calibration() -> dict:
    return load_json_resource("calibration.json")


def _calib_assets() -> dict:
    data = calibration()
    return data.get("assets", data)


def stablecoins() -> tuple[str, ...]:
    """The stablecoins pegged today (:mod:`engine.pegs`, ``resources/pegs.json``)."""
    return pegs.stablecoins()


def canonical_asset(asset: str) -> str:
    """The asset whose calibration stands for ``asset``: the symbol
    (:func:`engine.parsing.normalize_symbol`, so ``BTCEUR`` is ``BTC``), the base of a wrapped
    or staked token (``WBTC`` -> ``BTC``, ``BNSOL`` -> ``SOL``, from ``resources/pegs.json``),
    else mapped through the calibration's aliases (``MATIC`` -> ``POL``)."""
    a = asset_symbol(asset)
    p = pegs.peg_of(a)
    if p is not None and not p.stable:
        return p.base
    aliases = {k.upper(): v.upper() for k, v in calibration().get("aliases", {}).items()}
    return aliases.get(a, a)


def bundled_beta(asset: str) -> tuple[float, str]:
    """Beta of ``asset`` to BTC from the bundled calibration: (beta, where it came from). A
    wrapped or staked token has its base's (``follows ETH (wrapped)``), a stablecoin 0."""
    a = asset.upper()
    if a == "BTC":
        return 1.0, "BTC"
    p = pegs.peg_of(a)
    if p is not None:
        return (0.0 if p.stable else bundled_beta(p.base)[0]), p.describe()
    assets = _calib_assets()
    for key in (a, canonical_asset(a)):
        row = assets.get(key)
        if isinstance(row, dict) and row.get("beta") is not None:
            return float(row["beta"]), ("calibration" if key == a else f"calibration ({key})")
    return DEFAULT_BETA, "default (no calibration)"


def check_beta(asset: str, value) -> float:
    """A beta override: a finite number within +-:data:`engine.limits.MAX_BETA`; InputError
    naming the field ``beta.ASSET`` and the value."""
    field = f"beta.{str(asset).upper()}"
    if isinstance(value, bool):
        raise InputError("beta must be a number, e.g. 1.5", field=field, value=value)
    try:
        b = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError("beta must be a number, e.g. 1.5", field=field, value=value) from None
    if not math.isfinite(b) or abs(b) > MAX_BETA:
        raise InputError(f"beta must be a finite number between {-MAX_BETA:g} and {MAX_BETA:g}",
                         field=field, value=value)
    return b


def resolve_betas(assets, overrides: dict[str, float] | None = None) -> dict[str, tuple[float, str]]:
    """(beta, source) of every asset: the user's override, else the bundled beta. A pegged
    asset without an override of its own follows its base, the base's override included."""
    overrides = {k.upper(): check_beta(k, v) for k, v in (overrides or {}).items()}
    out = {}
    for a in assets:
        p = pegs.following(a, overrides)
        if a in overrides:
            out[a] = (overrides[a], "override")
        elif p is not None and not p.stable and p.base in overrides:
            out[a] = (overrides[p.base], f"{p.describe()}, {p.base} override")
        else:
            out[a] = bundled_beta(a)
    return out


def beta_move(btc_move, beta):
    """``1 + r_a = (1 + r_BTC) ** beta_a``, for arrays too (r_BTC > -1)."""
    return np.power(1.0 + np.asarray(btc_move, float), beta) - 1.0


# --------------------------------------------------------------------------- result type
@dataclass
class Scenario:
    """A scenario as price paths plus what a user needs to read it."""

    kind: str                               # "shock", "library", "history"
    id: str
    name: str
    assets: tuple[str, ...]
    paths: PricePaths                       # (1, n_steps + 1, n_assets)
    labels: list[str]                       # one per step
    moves: dict[str, float]                 # close-to-close move of each asset, step 0 -> last
    betas: dict[str, float] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)  # per asset: "history", "proxy BTC beta 1.2", ...
    info: dict = field(default_factory=dict)
    # ISO 8601 UTC time of each step (library: bar ends; history: the file's row stamps);
    # None for a shock, which has no time
    times: list[str] | None = None

    @property
    def n_steps(self) -> int:
        return self.paths.close.shape[1] - 1


# --------------------------------------------------------------------------- shock
_SHOCK_ITEM = re.compile(r"^\s*([A-Za-z0-9._-]+)\s*=\s*([+-]?[0-9]*\.?[0-9]+(?:[eE][+-]?\d+)?)\s*(%?)\s*$")


def parse_shock(text: str) -> dict[str, float]:
    """``"BTC=-30%,SOL=-45%"`` -> {"BTC": -0.30, "SOL": -0.45}. Plain numbers are fractions
    (``BTC=-0.3``); a move is between -100 % (to zero) and +10,000 %
    (:mod:`engine.limits`). InputError names the item and value."""
    out: dict[str, float] = {}
    if not text or not text.strip():
        raise InputError("is empty; write e.g. BTC=-30%", field="shock", value=text)
    for item in text.split(","):
        if not item.strip():
            continue
        m = _SHOCK_ITEM.match(item)
        if not m:
            raise InputError("must look like ASSET=-30% (or ASSET=-0.3)", field="shock", value=item.strip())
        asset, number, pct = m.group(1).upper(), float(m.group(2)), m.group(3)
        move = number / 100.0 if pct else number
        if not (MIN_MOVE <= move <= MAX_MOVE):      # also NaN and overflow to infinity
            raise InputError(f"a move must be between {pct_text(MIN_MOVE)} and "
                             f"{pct_text(MAX_MOVE)}", field=f"shock.{asset}", value=item.strip())
        if asset in out:
            raise InputError("is given twice", field=f"shock.{asset}", value=item.strip())
        out[asset] = move
    if not out:
        raise InputError("is empty; write e.g. BTC=-30%", field="shock", value=text)
    return out


def shock_moves(assets, btc_move: float, overrides: dict[str, float] | None = None,
                beta_overrides: dict[str, float] | None = None) -> tuple[dict, dict, dict]:
    """Moves of every asset for a BTC move: (moves, betas used, method per asset).

    An asset with an explicit move (``overrides``) takes it; BTC takes ``btc_move``; any other
    asset moves by its beta, ``1 + r = (1 + r_BTC) ** beta``. A pegged asset
    (:mod:`engine.pegs`) moves with its base (a stablecoin: not at all) and an explicit move
    of it is a de-peg on top: ``ETH=-30%,STETH=-5%`` moves stETH by 0.70 x 0.95 - 1 = -33.5 %.
    """
    overrides = {k.upper(): v for k, v in (overrides or {}).items()}
    beta_overrides = {k.upper(): v for k, v in (beta_overrides or {}).items()}
    betas = resolve_betas(assets, beta_overrides)

    def own_move(a):
        if a in overrides:
            return overrides[a], "explicit"
        if a == "BTC":
            return btc_move, "BTC move"
        b, src = resolve_betas([a], beta_overrides)[a]
        if btc_move <= MIN_MOVE and b < 0:
            raise InputError(f"with BTC at {pct_text(btc_move)}, a negative beta sends {a} "
                             "to an infinite price; give its move (e.g. "
                             f"{a}=-50%) or a beta of 0 or more", field=f"beta.{a}", value=b)
        return float(beta_move(btc_move, b)), f"beta {b:g} ({src})"

    moves, used, method = {}, {}, {}
    for a in assets:
        used[a] = betas[a][0]
        p = pegs.following(a, beta_overrides)
        if p is None:
            moves[a], method[a] = own_move(a)
            continue
        base = 0.0 if p.stable else own_move(p.base)[0]
        depeg = overrides.get(a)
        moves[a] = (1.0 + base) * (1.0 + (depeg or 0.0)) - 1.0
        method[a] = p.describe() + ("" if depeg is None else f", {pegs.depeg_text(depeg)}")
    return moves, used, method


def shock_scenario(assets, today, spec: dict[str, float],
                   beta_overrides: dict[str, float] | None = None) -> Scenario:
    """An instant move: step 1 prices = today * (1 + move); BTC's move drives the others
    (:func:`shock_moves`). An asset of ``spec`` that is neither BTC, nor held, nor the base
    of a pegged asset held is an error (it would move nothing)."""
    spec = {k.upper(): v for k, v in spec.items()}
    bases = {p.base for p in map(pegs.peg_of, assets) if p is not None}
    stray = [a for a in spec if a != "BTC" and a not in assets and a not in bases]
    if stray:
        raise InputError(f"{stray[0]} is not in the portfolio (it holds {', '.join(assets)}); "
                         "a shock moves BTC, assets held and the base of a pegged asset held",
                         field=f"shock.{stray[0]}", value=spec[stray[0]])
    btc = spec.get("BTC", 0.0)
    moves, used, method = shock_moves(assets, btc, spec, beta_overrides)
    today = np.asarray(today, float)
    after = today * (1.0 + np.array([moves[a] for a in assets]))
    close = np.stack([today, after])[None]
    text = ", ".join(f"{a} {v:+.1%}" for a, v in spec.items())
    return Scenario("shock", "shock", f"Shock {text}", tuple(assets), PricePaths(close),
                    ["today", "after the shock"], moves, used, method, {"spec": spec})


# --------------------------------------------------------------------------- library
LIBRARY_FORMAT = "crashlab.scenarios/2"


@lru_cache(maxsize=None)
def _library_file() -> dict:
    data = load_json_resource("scenarios.json")
    if data.get("format") != LIBRARY_FORMAT:
        raise ValueError(f"resources/scenarios.json: format {data.get('format')!r}, "
                         f"expected {LIBRARY_FORMAT!r} (rebuild with scripts/build_crash_library.py)")
    return data


def library() -> list[dict]:
    """The bundled crashes: metadata and (under ``path``) the stored price path."""
    return _library_file()["scenarios"]


def library_entry(scenario_id: str) -> dict:
    for s in library():
        if s["id"] == scenario_id or s.get("event", "").lower() == scenario_id.lower():
            return s
    ids = ", ".join(s["id"] for s in library())
    raise InputError(f"unknown scenario; bundled scenarios are: {ids}", field="scenario",
                     value=scenario_id)


@dataclass(frozen=True)
class LibraryPath:
    """One bundled crash as arrays: ratios to each asset's step-0 close, ``(n_t, n_assets)``."""

    times: tuple[str, ...]          # ISO 8601 UTC bar ends; times[0] = step 0
    bar: int                        # grid step, seconds
    bar_label: str                  # "1h", "4h", "1d"
    assets: tuple[str, ...]
    close: np.ndarray
    low: np.ndarray
    high: np.ndarray
    data: dict                      # per asset: {"bar", "venue", "source"}

    def column(self, asset: str) -> int | None:
        """Column of ``asset`` (or of an alias of it, e.g. MATIC for POL), else None."""
        want = canonical_asset(asset)
        for name in (asset.upper(), want):
            if name in self.assets:
                return self.assets.index(name)
        for k, name in enumerate(self.assets):
            if canonical_asset(name) == want:
                return k
        return None


@lru_cache(maxsize=None)
def library_path(scenario_id: str) -> LibraryPath:
    entry = library_entry(scenario_id)
    p = entry["path"]
    names = tuple(p["assets"])
    cols = {k: np.array([p["assets"][a][k] for a in names], float).T for k in ("close", "low", "high")}
    for a in cols.values():
        a.setflags(write=False)
    data = {a: {k: p["assets"][a][k] for k in ("bar", "venue", "source")} for a in names}
    return LibraryPath(tuple(p["times"]), int(p["bar"]), p["bar_label"], names, cols["close"],
                       cols["low"], cols["high"], data)


def _proxy_ohlc(ratio_close, ratio_low, ratio_high, beta):
    """Asset (close, low, high) ratios to today from a proxy's, through its beta."""
    c = np.power(ratio_close, beta)
    lo = np.power(ratio_low if beta >= 0 else ratio_high, beta)
    hi = np.power(ratio_high if beta >= 0 else ratio_low, beta)
    return c, np.minimum(lo, c), np.maximum(hi, c)


def _ratio_paths(assets, n_t: int, beta_overrides, own, proxy: str, proxy_ratios, no_proxy):
    """(close, low, high) ratios to step 0 ``(n_t, n_assets)``, betas used and method per asset.

    ``own(asset, exact)`` gives the data's ``(close, low, high, method)`` for the asset (with
    ``exact`` False also under an alias) or None. A pegged asset (:mod:`engine.pegs`) takes its
    own recorded path when the data has one (USDC in SVB), else follows its base (a
    stablecoin: held at today's price). Any other asset without data follows
    ``proxy_ratios`` (or None) through its beta; ``no_proxy(asset)`` is the error raised when
    there is no proxy.
    """
    betas = resolve_betas(assets, beta_overrides)
    ratio = {k: np.ones((n_t, len(assets))) for k in ("close", "low", "high")}
    method, used = {}, {}

    def series(x):                  # an unpegged asset (or a base): its data, else the proxy
        got = own(x, False)
        if got is not None:
            return tuple(got[:3]), got[3], False
        if proxy_ratios is None:
            raise no_proxy(x)
        b, src = resolve_betas([x], beta_overrides)[x]
        return _proxy_ohlc(*proxy_ratios, b), f"proxy {proxy}, beta {b:g} ({src})", True

    for j, a in enumerate(assets):
        used[a] = betas[a][0]
        p = pegs.following(a, beta_overrides)
        got = own(a, True) if p is not None else None
        if p is None:
            values, method[a], _ = series(a)
        elif got is not None:
            *values, method[a] = got
        elif p.stable:
            values, method[a] = (1.0, 1.0, 1.0), p.describe()
        else:
            values, how, proxied = series(p.base)
            method[a] = p.describe() + (f"; {p.base}: {how}" if proxied else "")
        ratio["close"][:, j], ratio["low"][:, j], ratio["high"][:, j] = values
    return ratio, used, method


def _scaled_paths(ratio: dict, today) -> PricePaths:
    today = np.asarray(today, float)
    return PricePaths((ratio["close"] * today)[None], (ratio["low"] * today)[None],
                      (ratio["high"] * today)[None])


def library_scenario(scenario_id: str, assets, today, beta_overrides=None, proxy: str = "BTC"
                     ) -> Scenario:
    """A bundled crash, applied bar by bar as moves relative to today's prices.

    Assets the event's data has move as recorded (an alias counts: MATIC for POL); a pegged
    asset without data of its own follows its base (:mod:`engine.pegs`: WETH follows ETH, a
    stablecoin stays at today's price); any other asset follows ``proxy`` through its beta.
    """
    entry = library_entry(scenario_id)
    lp = library_path(entry["id"])
    assets = tuple(assets)

    def own(a, exact=False):
        k = (lp.assets.index(a) if a in lp.assets else None) if exact else lp.column(a)
        if k is None:
            return None
        d = lp.data[lp.assets[k]]
        alias = "" if lp.assets[k] == a else f" {lp.assets[k]}"
        return lp.close[:, k], lp.low[:, k], lp.high[:, k], f"event data{alias} ({d['bar']} {d['venue']})"

    px = own(proxy)
    px = px[:3] if px else None
    ratio, used, method = _ratio_paths(
        assets, len(lp.times), beta_overrides, own, proxy, px,
        lambda a: InputError(f"the scenario has no {proxy} to proxy {a}", field="proxy", value=proxy))
    times = list(lp.times)
    moves = {a: float(ratio["close"][-1, j] - 1.0) for j, a in enumerate(assets)}
    info = {k: entry.get(k) for k in ("event", "crash_days", "description", "sources",
                                      "reported_liquidations_text", "data_note")}
    info.update(bar=lp.bar_label, bar_seconds=lp.bar, start=times[0], end=times[-1],
                data={lp.assets[k]: lp.data[lp.assets[k]] for k in
                      sorted({lp.column(a) for a in assets} - {None})})
    return Scenario("library", entry["id"], entry["name"], assets, _scaled_paths(ratio, today),
                    times, moves, used, method, info, times=times)


# --------------------------------------------------------------------------- history
def history_scenario(history, assets, today, beta_overrides=None, proxy: str = "BTC") -> Scenario:
    """Replay an imported :class:`~engine.prices.PriceHistory` relative to today.

    Row 0 is today: each asset's OHLC is scaled by ``today / close[0]``; rows 1.. are the
    steps. A pegged asset without a column of its own follows its base (a stablecoin with one,
    USDC or USDe, moves as recorded); other assets the history lacks follow ``proxy`` through
    their beta.
    """
    assets = tuple(assets)
    hist_assets = list(history.assets)
    n_t = len(history.times)
    if n_t < 2:
        raise InputError("needs at least two rows (today and one step)", field="history",
                         value=f"{n_t} row(s)")
    def own(a, exact=False):
        for name in (a,) if exact else (a, canonical_asset(a)):
            if name in hist_assets:
                k = hist_assets.index(name)
                c0 = history.close[0, k]
                return (history.close[:, k] / c0, history.low[:, k] / c0, history.high[:, k] / c0,
                        "history" + ("" if history.has_ohlc[k] else " (closes only)"))
        return None

    def no_proxy(a):
        have = ", ".join(hist_assets)
        return InputError(f"the price history has no {a} and no {proxy} to proxy it "
                          f"(it has {have}); add a file for {a} or choose --proxy",
                          field="history", value=a)

    px = own(proxy)[:3] if proxy in hist_assets else None
    ratio, used, method = _ratio_paths(assets, n_t, beta_overrides, own, proxy, px, no_proxy)
    paths = _scaled_paths(ratio, today)
    close = ratio["close"]
    times = [str(np.datetime_as_string(t, unit="m")).replace("T00:00", "") for t in history.times]
    moves = {a: float(close[-1, j] - 1.0) for j, a in enumerate(assets)}
    first, last = times[0], times[-1]
    return Scenario("history", "history", f"Replay {first} → {last}", assets, paths, times, moves,
                    used, method, {"sources": list(history.sources), "from": first, "to": last},
                    times=[iso_utc(t) for t in history.times])


def iso_utc(t) -> str:
    """ISO 8601 UTC with a ``Z``, to the second: ``2025-12-18T15:00:00Z``."""
    return str(np.datetime_as_string(np.datetime64(t, "s"), unit="s")) + "Z"


def utc_text(t: str | None, missing: str = "—") -> str:
    """A step's ISO time as people read it: ``2025-12-18T15:00:00Z`` -> ``2025-12-18 15:00 UTC``
    (``missing`` for None: a shock has no time)."""
    return f"{t[:10]} {t[11:16]} UTC".replace("  ", " ") if t else missing
