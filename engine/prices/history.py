"""The :class:`PriceHistory` type: aligned OHLC bars of several assets, with time windows
and asset selection."""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.parsing import normalize_symbol

def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.copy()
        a.setflags(write=False)
    return a


def fmt_time(t: Any) -> str:
    ts = pd.Timestamp(t)
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + ("" if ts.microsecond == 0 else f".{ts.microsecond:06d}")


_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bound(x: Any, name: str) -> tuple[np.datetime64, bool]:
    """Return (time, whole_day) for a window bound."""
    whole_day = False
    try:
        if isinstance(x, str):
            s = x.strip()
            whole_day = bool(_DATE_ONLY_RE.match(s))
            ts = pd.Timestamp(s)
        elif isinstance(x, _dt.date) and not isinstance(x, _dt.datetime):
            whole_day = True
            ts = pd.Timestamp(x)
        else:
            ts = pd.Timestamp(x)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InputError(f"window {name} is not a date or datetime ({exc})",
                         field=name, value=x) from None
    if ts is pd.NaT or pd.isna(ts):
        raise InputError(f"window {name} is not a date or datetime", field=name, value=x)
    try:
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return np.datetime64(ts.as_unit("ns").to_datetime64(), "ns"), whole_day
    except (ValueError, OverflowError):
        raise InputError(f"window {name} is out of range", field=name, value=x) from None


@dataclass(frozen=True, eq=False)
class PriceHistory:
    """Aligned OHLC price history of one or more assets.

    Attributes
    ----------
    times : numpy.ndarray
        ``datetime64[ns]``, shape ``(n_rows,)``, UTC-naive bar open times, strictly
        increasing.
    assets : tuple of str
        Upper-case symbols, length ``n_assets``, e.g. ``("BTC", "ETH")``.
    open, high, low, close : numpy.ndarray
        ``float64``, shape ``(n_rows, n_assets)``; column ``j`` belongs to
        ``assets[j]``. All finite and > 0, ``low <= open, close <= high``.
    has_ohlc : numpy.ndarray
        ``bool``, shape ``(n_assets,)``; False where the source only had closes (then
        ``open = high = low = close``).
    sources : tuple of str
        The file paths used, in the order given.

    Arrays are read-only.
    """

    times: np.ndarray
    assets: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    has_ohlc: np.ndarray
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        times = np.asarray(self.times)
        if times.dtype != np.dtype("datetime64[ns]"):
            times = times.astype("datetime64[ns]")
        if times.ndim != 1:
            raise ValueError(f"times must be 1-D, got shape {times.shape}")
        if times.size > 1 and not bool(np.all(times[1:] > times[:-1])):
            raise ValueError("times must be strictly increasing")
        n, k = times.shape[0], len(self.assets)
        object.__setattr__(self, "times", _readonly(times))
        object.__setattr__(self, "assets", tuple(self.assets))
        object.__setattr__(self, "sources", tuple(str(s) for s in self.sources))
        for name in ("open", "high", "low", "close"):
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.shape != (n, k):
                raise ValueError(f"{name} must have shape {(n, k)}, got {a.shape}")
            object.__setattr__(self, name, _readonly(a))
        h = np.asarray(self.has_ohlc, dtype=bool)
        if h.shape != (k,):
            raise ValueError(f"has_ohlc must have shape {(k,)}, got {h.shape}")
        object.__setattr__(self, "has_ohlc", _readonly(h))

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def __repr__(self) -> str:
        span = (f"{fmt_time(self.times[0])} .. {fmt_time(self.times[-1])}"
                if len(self) else "empty")
        return (f"PriceHistory(assets={self.assets}, rows={len(self)}, {span}, "
                f"step={self.step_seconds:g}s)")

    @property
    def step_seconds(self) -> float:
        """Median spacing between consecutive rows, in seconds (NaN with < 2 rows)."""
        if len(self) < 2:
            return float("nan")
        d = np.diff(self.times).astype("timedelta64[ns]").astype(np.int64)
        return float(np.median(d)) / 1e9

    def _subset(self, rows: slice | np.ndarray, cols: np.ndarray | slice) -> "PriceHistory":
        assets = tuple(np.asarray(self.assets, dtype=object)[cols]) if self.assets else ()
        return PriceHistory(
            times=self.times[rows], assets=assets,
            open=self.open[rows][:, cols], high=self.high[rows][:, cols],
            low=self.low[rows][:, cols], close=self.close[rows][:, cols],
            has_ohlc=self.has_ohlc[cols], sources=self.sources)

    def window(self, start: Any = None, end: Any = None) -> "PriceHistory":
        """Rows with ``start <= time <= end`` (both inclusive, None = open-ended).

        Parameters
        ----------
        start, end : str, datetime, date, numpy.datetime64 or pandas.Timestamp, optional
            ``'YYYY-MM-DD'`` (or a ``datetime.date``) as ``end`` includes the whole day.
            ISO datetimes with ``Z`` or an offset are converted to UTC.

        Raises
        ------
        InputError
            Unparseable bound, ``start`` after ``end``, or no rows in the window.
        """
        lo = 0
        hi = len(self)
        s = e = None
        if start is not None:
            s, _ = _bound(start, "start")
            lo = int(np.searchsorted(self.times, s, side="left"))
        if end is not None:
            e, whole_day = _bound(end, "end")
            if whole_day:
                hi = int(np.searchsorted(self.times, e + np.timedelta64(1, "D"), side="left"))
            else:
                hi = int(np.searchsorted(self.times, e, side="right"))
        if s is not None and e is not None and s > e:
            raise InputError(f"window start {fmt_time(s)} is after end {fmt_time(e)}",
                             field="start", value=start)
        if hi <= lo:
            have = (f"{fmt_time(self.times[0])} to {fmt_time(self.times[-1])}"
                    if len(self) else "no rows")
            raise InputError(
                f"no price rows between {start if start is not None else 'the start'} and "
                f"{end if end is not None else 'the end'} (the data covers {have})",
                field="start" if start is not None else "end",
                value=start if start is not None else end)
        return self._subset(slice(lo, hi), slice(None))

    def select(self, assets: str | Iterable[str]) -> "PriceHistory":
        """The given assets only, in the given order (all rows kept).

        Parameters
        ----------
        assets : str or iterable of str
            Symbols; matched case-insensitively (``"btc-usdt"`` matches ``"BTC"``).
        """
        names = [assets] if isinstance(assets, str) else list(assets)
        if not names:
            raise InputError("no assets selected", field="assets", value=names)
        idx: list[int] = []
        for name in names:
            key = str(name).strip().upper()
            if key not in self.assets:
                key = normalize_symbol(name) or key
            if key not in self.assets:
                raise InputError(
                    f"unknown asset; the price history has {', '.join(self.assets)}",
                    field="assets", value=name)
            j = self.assets.index(key)
            if j in idx:
                raise InputError("asset selected twice", field="assets", value=name)
            idx.append(j)
        return self._subset(slice(None), np.asarray(idx, dtype=np.intp))
