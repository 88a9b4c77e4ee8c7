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

from .errors import InputError
from .limits import MAX_BETA, MAX_MOVE, MIN_MOVE, pct_text
from .parsing import asset_symbol
from .replay import PricePaths
from .resources import load_json_resource

DEFAULT_BETA = 1.0
STABLE_DEFAULT = ("USDC", "USDT", "DAI", "USDE", "FDUSD", "BUSD", "TUSD", "USDS", "PYUSD", "GHO")


# --------------------------------------------------------------------------- calibration
@lru_cache(maxsize=None)
def calibration() -> dict:
    return load_json_resource("calibration.json")


def _calib_assets() -> dict:
    data = calibration()
    return data.get("assets", data)


def stablecoins() -> tuple[str, ...]:
    return tuple(a.upper() for a in calibration().get("stablecoins", STABLE_DEFAULT))


def canonical_asset(asset: str) -> str:
    """The asset whose calibration stands for ``asset``: the symbol
    (:func:`engine.parsing.normalize_symbol`, so ``BTCEUR`` is ``BTC``) mapped through the
    calibration's aliases (wrapped and staked tokens: ``WBTC`` -> ``BTC``)."""
    aliases = {k.upper(): v.upper() for k, v in calibration().get("aliases", {}).items()}
    a = asset_symbol(asset)
    return aliases.get(a, a)


def bundled_beta(asset: str) -> tuple[float, str]:
    """Beta of ``asset`` to BTC from the bundled calibration: (beta, where it came from)."""
    a = asset.upper()
    if a == "BTC":
        return 1.0, "BTC"
    if a in stablecoins():
        return 0.0, "stablecoin"
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
    """Beta of each asset: (beta, where it came from), an override (checked by
    :func:`check_beta`) before the bundled calibration."""
    overrides = {k.upper(): check_beta(k, v) for k, v in (overrides or {}).items()}
    out = {}
    for a in assets:
        if a in overrides:
            out[a] = (overrides[a], "override")
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
    """Moves of every asset for a BTC move: explicit overrides win, else the beta rule."""
    overrides = {k.upper(): v for k, v in (overrides or {}).items()}
    betas = resolve_betas(assets, beta_overrides)
    moves, used, method = {}, {}, {}
    for a in assets:
        b, src = betas[a]
        used[a] = b
        if a in overrides:
            moves[a] = overrides[a]
            method[a] = "explicit"
        elif a == "BTC":
            moves[a] = btc_move
            method[a] = "BTC move"
        else:
            if btc_move <= MIN_MOVE and b < 0:
                raise InputError(f"with BTC at {pct_text(btc_move)}, a negative beta sends {a} "
                                 "to an infinite price; give its move (e.g. "
                                 f"{a}=-50%) or a beta of 0 or more", field=f"beta.{a}", value=b)
            moves[a] = float(beta_move(btc_move, b))
            method[a] = f"beta {b:g} ({src})"
    return moves, used, method


def shock_scenario(assets, today, spec: dict[str, float],
                   beta_overrides: dict[str, float] | None = None) -> Scenario:
    """An instant move: step 1 prices = today * (1 + move); BTC's move drives the others."""
    spec = {k.upper(): v for k, v in spec.items()}
    btc = spec.get("BTC", 0.0)
    moves, used, method = shock_moves(assets, btc, spec, beta_overrides)
    today = np.asarray(today, float)
    after = today * (1.0 + np.array([moves[a] for a in assets]))
    close = np.stack([today, after])[None]
    text = ", ".join(f"{a} {v:+.1%}" for a, v in spec.items())
    return Scenario("shock", "shock", f"Shock {text}", tuple(assets), PricePaths(close),
                    ["today", "after the shock"], moves, used, method, {"spec": spec})


# --------------------------------------------------------------------------- library
@lru_cache(maxsize=None)
def library() -> list[dict]:
    return load_json_resource("scenarios.json")["scenarios"]


def library_entry(scenario_id: str) -> dict:
    for s in library():
        if s["id"] == scenario_id or s.get("event", "").lower() == scenario_id.lower():
            return s
    ids = ", ".join(s["id"] for s in library())
    raise InputError(f"unknown scenario; bundled scenarios are: {ids}", field="scenario",
                     value=scenario_id)


def _proxy_ohlc(ratio_close, ratio_low, ratio_high, beta):
    """Asset (close, low, high) ratios to today from a proxy's, through its beta."""
    c = np.power(ratio_close, beta)
    lo = np.power(ratio_low if beta >= 0 else ratio_high, beta)
    hi = np.power(ratio_high if beta >= 0 else ratio_low, beta)
    return c, np.minimum(lo, c), np.maximum(hi, c)


def library_scenario(scenario_id: str, assets, today, beta_overrides=None, proxy: str = "BTC"
                     ) -> Scenario:
    """A bundled crash, applied as moves relative to today's prices, step by step."""
    entry = library_entry(scenario_id)
    steps = entry["steps"]
    n_t = len(steps)
    assets = tuple(assets)
    today = np.asarray(today, float)
    betas = resolve_betas(assets, beta_overrides)
    ratio = {k: np.ones((n_t, len(assets))) for k in ("close", "low", "high")}
    method, used = {}, {}

    def series(asset):
        """(close, low, high) ratio arrays of an asset the event lists, or None."""
        if not any(asset in (s.get("moves") or {}) for s in steps[1:]):
            return None
        c = np.ones(n_t); lo = np.ones(n_t); hi = np.ones(n_t)
        for t, s in enumerate(steps):
            m = (s.get("moves") or {}).get(asset)
            if m is None:
                if t > 0:  # carry the previous close
                    c[t] = lo[t] = hi[t] = c[t - 1]
                continue
            c[t] = 1.0 + m.get("close", 0.0)
            lo[t] = min(1.0 + m.get("low", m.get("close", 0.0)), c[t])
            hi[t] = max(1.0 + m.get("high", m.get("close", 0.0)), c[t])
        return c, lo, hi

    proxy_series = series(proxy)
    for j, a in enumerate(assets):
        own = series(a) or (series(canonical_asset(a)) if canonical_asset(a) != a else None)
        b, src = betas[a]
        used[a] = b
        if own is not None:
            method[a] = "event data"
        elif a in stablecoins() and a not in (beta_overrides or {}):
            own = (np.ones(n_t),) * 3
            method[a] = "stablecoin (held at 1:1)"
        else:
            if proxy_series is None:
                raise InputError(f"the scenario has no {proxy} to proxy {a}", field="proxy", value=proxy)
            own = _proxy_ohlc(*proxy_series, b)
            method[a] = f"proxy {proxy}, beta {b:g} ({src})"
        ratio["close"][:, j], ratio["low"][:, j], ratio["high"][:, j] = own
    close = (ratio["close"] * today)[None]
    paths = PricePaths(close, (ratio["low"] * today)[None], (ratio["high"] * today)[None])
    labels = [s.get("label", s.get("date", f"step {t}")) for t, s in enumerate(steps)]
    moves = {a: float(ratio["close"][-1, j] - 1.0) for j, a in enumerate(assets)}
    info = {k: entry.get(k) for k in ("event", "crash_days", "description", "sources",
                                      "reported_liquidations_text", "data_note")}
    info["dates"] = [s.get("date") for s in steps]
    return Scenario("library", entry["id"], entry["name"], assets, paths, labels, moves, used,
                    method, info)


# --------------------------------------------------------------------------- history
def history_scenario(history, assets, today, beta_overrides=None, proxy: str = "BTC") -> Scenario:
    """Replay an imported :class:`~engine.prices.PriceHistory` relative to today.

    Row 0 is today: each asset's OHLC is scaled by ``today / close[0]``; rows 1.. are the
    steps. Assets the history lacks follow ``proxy`` through their beta.
    """
    assets = tuple(assets)
    today = np.asarray(today, float)
    hist_assets = list(history.assets)
    n_t = len(history.times)
    if n_t < 2:
        raise InputError("needs at least two rows (today and one step)", field="history",
                         value=f"{n_t} row(s)")
    betas = resolve_betas(assets, beta_overrides)
    close = np.empty((n_t, len(assets))); low = np.empty_like(close); high = np.empty_like(close)
    method, used = {}, {}
    px_j = hist_assets.index(proxy) if proxy in hist_assets else None
    for j, a in enumerate(assets):
        b, src = betas[a]
        used[a] = b
        k = None
        for name in (a, canonical_asset(a)):
            if name in hist_assets:
                k = hist_assets.index(name)
                break
        if k is not None:
            c0 = history.close[0, k]
            close[:, j] = history.close[:, k] / c0
            low[:, j] = history.low[:, k] / c0
            high[:, j] = history.high[:, k] / c0
            method[a] = "history" + ("" if history.has_ohlc[k] else " (closes only)")
        elif a in stablecoins() and a not in (beta_overrides or {}):
            close[:, j] = low[:, j] = high[:, j] = 1.0
            method[a] = "stablecoin (held at 1:1)"
        else:
            if px_j is None:
                have = ", ".join(hist_assets)
                raise InputError(f"the price history has no {a} and no {proxy} to proxy it "
                                 f"(it has {have}); add a file for {a} or choose --proxy",
                                 field="history", value=a)
            c0 = history.close[0, px_j]
            c, lo, hi = _proxy_ohlc(history.close[:, px_j] / c0, history.low[:, px_j] / c0,
                                    history.high[:, px_j] / c0, b)
            close[:, j], low[:, j], high[:, j] = c, lo, hi
            method[a] = f"proxy {proxy}, beta {b:g} ({src})"
    paths = PricePaths((close * today)[None], (low * today)[None], (high * today)[None])
    times = [str(np.datetime_as_string(t, unit="m")).replace("T00:00", "") for t in history.times]
    moves = {a: float(close[-1, j] - 1.0) for j, a in enumerate(assets)}
    first, last = times[0], times[-1]
    return Scenario("history", "history", f"Replay {first} → {last}", assets, paths, times, moves,
                    used, method, {"sources": list(history.sources), "from": first, "to": last})
