"""Scenarios a user saves in the portfolio file, beside the bundled crash library.

A portfolio file (``crashlab.portfolio/1``) may hold a ``scenarios`` list. Each entry is
self-contained: a shock keeps its moves and beta overrides, an imported-history window keeps
its bars as moves relative to its first row (like the bundled library), so the file does not
depend on the price CSV still being there. Schema of one entry::

    {"id": "btc-35", "name": "BTC -35%, SOL beta 2", "kind": "shock",
     "moves": {"BTC": -0.35}, "beta_overrides": {"SOL": 2.0},
     "saved": "2026-01-05T10:00:00Z", "note": "optional text"}

    {"id": "oct-10-4h", "name": "10 Oct 2025, my 4h bars", "kind": "history",
     "proxy": "BTC", "beta_overrides": {},
     "path": {"times": ["2025-10-10T00:00:00Z", ...],           # ISO 8601 UTC, increasing
              "assets": {"BTC": {"close": [1.0, 0.98, ...],      # ratios to the first close
                                 "low": [...], "high": [...]}}},  # optional (closes only)
     "sources": ["btcusdt_4h.csv"], "saved": "..."}

``id`` is unique among the saved scenarios and differs from every bundled id and event code
(``E1``..); ``moves`` are fractions above -1 (``BTC`` drives the others through their betas,
any other asset given is an explicit move, as in :func:`engine.scenarios.shock_scenario`).
Unknown keys of an entry are kept (the file is rewritten as read).

:func:`build_scenario` is the one resolver of a scenario name for the command line, the GUI
and :func:`engine.stress.stress_all`: a bundled id or event code, else a saved id or name.
"""
from __future__ import annotations

import copy
import datetime as _dt
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError
from .parsing import normalize_symbol
from .scenarios import Scenario, history_scenario, iso_utc, library, shock_scenario, utc_text

KEY = "scenarios"
KINDS = ("shock", "history")
#: most rows a saved history window may hold (a year of 4-hour bars; the file stays small)
MAX_STEPS = 2500
_DIGITS = 7                      # significant digits of a stored ratio (error < 1e-6)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?Z?$")


@dataclass(frozen=True)
class SavedScenario:
    """One checked saved scenario; ``raw`` is the entry as stored."""

    id: str
    name: str
    kind: str                                   # "shock" or "history"
    moves: dict[str, float] = field(default_factory=dict)
    beta_overrides: dict[str, float] = field(default_factory=dict)
    proxy: str = "BTC"
    times: tuple[str, ...] = ()
    series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.times) - 1 if self.kind == "history" else 1

    def describe(self) -> str:
        """One line: what the scenario moves."""
        if self.kind == "shock":
            text = ", ".join(f"{a} {v * 100:+.1f}%" for a, v in self.moves.items())
        else:
            text = (f"{self.steps} steps of {', '.join(self.series)} from {utc_text(self.times[0])} "
                    f"to {utc_text(self.times[-1])}")
        if self.beta_overrides:
            text += "; betas " + ", ".join(f"{a} {b:g}" for a, b in self.beta_overrides.items())
        return text


# --------------------------------------------------------------------------- reading
def _bundled_names() -> set[str]:
    names = {"all"}
    for s in library():
        names.add(s["id"].lower())
        if s.get("event"):
            names.add(str(s["event"]).lower())
    return names


def _num(value: Any, where: str, *, above: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError("must be a number", field=where, value=value)
    x = float(value)
    if not math.isfinite(x) or (above is not None and x <= above):
        raise InputError("must be a finite number" + (f" above {above:g}" if above is not None else ""),
                         field=where, value=value)
    return x


def _asset_map(value: Any, where: str, *, above: float | None = None) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("must be an object mapping asset to a number", field=where, value=value)
    return {_symbol(k, f"{where}.{k}"): _num(v, f"{where}.{k}", above=above) for k, v in value.items()}


def _symbol(value: Any, where: str) -> str:
    a = normalize_symbol(value) if isinstance(value, str) else None
    if a is None:
        raise InputError("must be an asset symbol", field=where, value=value)
    return a


def _times(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise InputError("must be a list of at least two ISO 8601 UTC times", field=where,
                         value=value if not isinstance(value, list) else f"{len(value)} time(s)")
    if len(value) > MAX_STEPS + 1:
        raise InputError(f"holds more than {MAX_STEPS + 1} rows", field=where, value=len(value))
    for k, t in enumerate(value):
        if not isinstance(t, str) or not _TIME.match(t.strip()):
            raise InputError("must be an ISO 8601 UTC time like 2025-10-10T21:00:00Z",
                             field=f"{where}[{k}]", value=t)
    try:
        stamps = np.array([np.datetime64(t.strip().rstrip("Z").replace(" ", "T"), "s") for t in value])
    except ValueError as exc:
        raise InputError(f"is not a valid time ({exc})", field=where, value=value[0]) from None
    if np.any(stamps[1:] <= stamps[:-1]):
        k = int(np.flatnonzero(stamps[1:] <= stamps[:-1])[0]) + 1
        raise InputError("times must increase", field=f"{where}[{k}]", value=value[k])
    return tuple(iso_utc(t) for t in stamps)


def _ratios(value: Any, where: str, n: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != n:
        raise InputError(f"must be a list of {n} numbers (one per time)", field=where,
                         value=value if not isinstance(value, list) else f"{len(value)} number(s)")
    try:
        out = np.array(value, dtype=float)
        ok = all(type(v) in (int, float) for v in value) and bool(np.all(np.isfinite(out) & (out > 0)))
    except (TypeError, ValueError):
        ok = False
    if not ok:                                       # name the first bad one
        for k, v in enumerate(value):
            _num(v, f"{where}[{k}]", above=0.0)
    return out


def _path(value: Any, where: str) -> tuple[tuple[str, ...], dict]:
    if not isinstance(value, dict):
        raise InputError("must be an object with times and assets", field=where, value=value)
    times = _times(value.get("times"), f"{where}.times")
    assets = value.get("assets")
    if not isinstance(assets, dict) or not assets:
        raise InputError("must map at least one asset to its close (and low, high) ratios",
                         field=f"{where}.assets", value=assets)
    series = {}
    for name, row in assets.items():
        w = f"{where}.assets.{name}"
        a = _symbol(name, w)
        if not isinstance(row, dict):
            raise InputError("must be an object with close (and low, high) lists", field=w, value=row)
        close = _ratios(row.get("close"), f"{w}.close", len(times))
        ohlc = row.get("low") is not None or row.get("high") is not None
        low = _ratios(row.get("low"), f"{w}.low", len(times)) if ohlc else close
        high = _ratios(row.get("high"), f"{w}.high", len(times)) if ohlc else close
        if ohlc:
            bad = np.flatnonzero((low > close * (1 + 1e-9)) | (high < close * (1 - 1e-9)))
            if len(bad):
                k = int(bad[0])
                raise InputError("low must be at most the close and high at least the close",
                                 field=f"{w}[{k}]", value={"low": float(low[k]), "close": float(close[k]),
                                                           "high": float(high[k])})
        series[a] = (close, np.minimum(low, close), np.maximum(high, close), ohlc)
    return times, series


def parse_entry(raw: Any, index: int = 0, taken: set[str] | None = None) -> SavedScenario:
    """Check one saved scenario; InputError names ``scenarios[i].field`` and the value."""
    where = f"{KEY}[{index}]"
    if not isinstance(raw, dict):
        raise InputError("must be an object", field=where, value=raw)
    sid = raw.get("id")
    if not isinstance(sid, str) or not _ID.match(sid):
        raise InputError("must be 1-64 letters, digits, '.', '_' or '-'", field=f"{where}.id", value=sid)
    if sid.lower() in _bundled_names():
        raise InputError("is the id of a bundled crash (or 'all'); choose another", field=f"{where}.id",
                         value=sid)
    if taken is not None and sid.lower() in taken:
        raise InputError("is used by another saved scenario", field=f"{where}.id", value=sid)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError("must be a non-empty text", field=f"{where}.name", value=name)
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(f"must be one of {', '.join(KINDS)}", field=f"{where}.kind", value=kind)
    betas = _asset_map(raw.get("beta_overrides"), f"{where}.beta_overrides")
    if kind == "shock":
        moves = _asset_map(raw.get("moves"), f"{where}.moves", above=-1.0)
        if not moves:
            raise InputError("must give at least one move, e.g. {\"BTC\": -0.3}", field=f"{where}.moves",
                             value=raw.get("moves"))
        return SavedScenario(sid, name.strip(), kind, moves, betas, raw=raw)
    times, series = _path(raw.get("path"), f"{where}.path")
    proxy = _symbol(raw.get("proxy", "BTC"), f"{where}.proxy")
    if proxy not in series:
        raise InputError(f"must be one of the window's assets ({', '.join(series)}): assets it lacks "
                         "follow the proxy", field=f"{where}.proxy", value=raw.get("proxy", "BTC"))
    return SavedScenario(sid, name.strip(), kind, {}, betas, proxy, times, series, raw)


def check_saved(raw: Any) -> tuple[list[SavedScenario], list[InputError]]:
    """Every entry of a ``scenarios`` list checked on its own: (good ones, errors of the bad
    ones). An editor shows the good ones and reports the others."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [InputError("must be a list of saved scenarios", field=KEY, value=type(raw).__name__)]
    good, errors, taken = [], [], set()
    for i, entry in enumerate(raw):
        try:
            s = parse_entry(entry, i, taken)
        except InputError as exc:
            errors.append(exc)
            continue
        taken.add(s.id.lower())
        good.append(s)
    return good, errors


def saved_scenarios(portfolio) -> list[SavedScenario]:
    """The saved scenarios of a portfolio (its ``scenarios`` key); the first bad entry raises."""
    good, errors = check_saved(portfolio.extra.get(KEY))
    if errors:
        raise errors[0]
    return good


# --------------------------------------------------------------------------- writing
def new_id(name: str, taken) -> str:
    """An id for ``name``: its slug, made unique among ``taken`` and the bundled ids."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "scenario"
    if not base[0].isalnum():
        base = "s-" + base
    used = {t.lower() for t in taken} | _bundled_names()
    sid, n = base, 2
    while sid in used:
        sid, n = f"{base}-{n}", n + 1
    return sid


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _round(a) -> list[float]:
    return [float(f"{x:.{_DIGITS}g}") for x in np.asarray(a, float)]


def shock_entry(name: str, moves: dict[str, float], beta_overrides: dict[str, float] | None = None,
                taken=()) -> dict:
    """A saved shock: ``moves`` (``{"BTC": -0.3}``, others explicit) and beta overrides."""
    entry = {"id": new_id(name, taken), "name": name.strip(), "kind": "shock",
             "moves": {k.upper(): float(v) for k, v in moves.items()},
             "beta_overrides": {k.upper(): float(v) for k, v in (beta_overrides or {}).items()},
             "saved": _now()}
    parse_entry(entry)
    return entry


def history_entry(name: str, history, proxy: str = "BTC",
                  beta_overrides: dict[str, float] | None = None, taken=()) -> dict:
    """A saved window of an imported :class:`~engine.prices.PriceHistory`: every asset's
    bars as ratios to its first close (7 significant digits), the times in UTC."""
    n = len(history.times)
    if n < 2:
        raise InputError("needs at least two rows (today and one step)", field="history",
                         value=f"{n} row(s)")
    if n > MAX_STEPS + 1:
        raise InputError(f"a saved window holds at most {MAX_STEPS + 1} rows; narrow it with From/To",
                         field="history", value=f"{n} rows")
    assets = {}
    for k, a in enumerate(history.assets):
        c0 = float(history.close[0, k])
        close = _round(history.close[:, k] / c0)
        row = {"close": close}
        if bool(history.has_ohlc[k]):
            row["low"] = [min(x, c) for x, c in zip(_round(history.low[:, k] / c0), close)]
            row["high"] = [max(x, c) for x, c in zip(_round(history.high[:, k] / c0), close)]
        assets[a] = row
    entry = {"id": new_id(name, taken), "name": name.strip(), "kind": "history",
             "proxy": proxy.strip().upper() or "BTC",
             "beta_overrides": {k.upper(): float(v) for k, v in (beta_overrides or {}).items()},
             "path": {"times": [iso_utc(t) for t in history.times], "assets": assets},
             "sources": [os.path.basename(s) for s in history.sources], "saved": _now()}
    parse_entry(entry)
    return entry


def with_entry(raw_list: Any, entry: dict) -> list:
    """A copy of a ``scenarios`` list with ``entry`` added (replacing one of the same id)."""
    items = [copy.deepcopy(e) for e in (raw_list if isinstance(raw_list, list) else [])
             if not (isinstance(e, dict) and e.get("id") == entry["id"])]
    return items + [copy.deepcopy(entry)]


def without_entry(raw_list: Any, sid: str) -> list:
    """A copy of a ``scenarios`` list without the entry of id ``sid``."""
    return [copy.deepcopy(e) for e in (raw_list if isinstance(raw_list, list) else [])
            if not (isinstance(e, dict) and e.get("id") == sid)]


# --------------------------------------------------------------------------- running
class _Bars:
    """A saved window in the shape :func:`engine.scenarios.history_scenario` reads."""

    def __init__(self, s: SavedScenario):
        self.times = np.array([t.rstrip("Z") for t in s.times], dtype="datetime64[ns]")
        self.assets = tuple(s.series)
        cols = list(s.series.values())
        self.close = np.column_stack([c[0] for c in cols])
        self.low = np.column_stack([c[1] for c in cols])
        self.high = np.column_stack([c[2] for c in cols])
        self.has_ohlc = np.array([c[3] for c in cols])
        self.sources = tuple(s.raw.get("sources") or ())


def bar_label(seconds: float) -> str:
    """``3600`` -> ``1h``, ``86400`` -> ``1d``, ``900`` -> ``15m``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def saved_scenario(s: SavedScenario, assets, today, beta_overrides=None) -> Scenario:
    """A saved scenario as price paths on a book's assets. Its own beta overrides win over
    ``beta_overrides`` (the session's); a history's missing assets follow its own proxy."""
    betas = {**(beta_overrides or {}), **s.beta_overrides}
    if s.kind == "shock":
        scen = shock_scenario(assets, today, s.moves, betas)
        info = {"spec": s.moves}
    else:
        scen = history_scenario(_Bars(s), assets, today, betas, s.proxy)
        secs = np.diff(np.array([t.rstrip("Z") for t in s.times], dtype="datetime64[s]")).astype(float)
        info = {"bar": bar_label(float(np.median(secs))), "start": s.times[0], "end": s.times[-1],
                "sources": list(s.raw.get("sources") or [])}
    scen.id, scen.name = s.id, s.name
    scen.info = {**scen.info, **info, "saved": True, "saved_kind": s.kind,
                 "description": s.raw.get("note") or s.describe()}
    return scen


def find_saved(portfolio, key: str, saved: list[SavedScenario] | None = None) -> SavedScenario | None:
    """The saved scenario whose id, else whose name (case-insensitive), is ``key``."""
    if portfolio is None and saved is None:
        return None
    items = saved_scenarios(portfolio) if saved is None else saved
    k = key.strip().lower()
    for s in items:
        if s.id.lower() == k:
            return s
    for s in items:
        if s.name.lower() == k:
            return s
    return None


def scenario_ids(portfolio=None, saved: list[SavedScenario] | None = None) -> list[str]:
    """Every scenario a portfolio can run: the bundled crashes, then its saved ones."""
    ids = [s["id"] for s in library()]
    if saved is None and portfolio is not None:
        saved = saved_scenarios(portfolio)
    return ids + [s.id for s in saved or []]


def build_scenario(portfolio, key: str, assets, today, beta_overrides=None, proxy: str = "BTC",
                   saved: list[SavedScenario] | None = None) -> Scenario:
    """The scenario named ``key``: a bundled crash (id or event code), else a saved scenario of
    ``portfolio`` (id or name; ``saved``: its scenarios read already). ``proxy`` drives assets
    a bundled crash lacks (a saved history keeps its own). InputError lists what there is."""
    from .scenarios import library_scenario
    if key.strip().lower() in _bundled_names() - {"all"}:
        return library_scenario(key.strip(), assets, today, beta_overrides, proxy)
    if saved is None and portfolio is not None:
        saved = saved_scenarios(portfolio)
    s = find_saved(portfolio, key, saved or [])
    if s is not None:
        return saved_scenario(s, assets, today, beta_overrides)
    more = f"; saved in the portfolio: {', '.join(x.id for x in saved)}" if saved else ""
    ids = ", ".join(x["id"] for x in library())
    raise InputError(f"unknown scenario; bundled scenarios are: {ids}{more}", field="scenario",
                     value=key)
