"""Cell parsing of a price table: time and price columns, and one asset's series built
from its rows (value rules, sorting, duplicate timestamps)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.limits import MAX_AMOUNT, MIN_AMOUNT, fmt_bound
from engine.parsing import DecimalConventionError, file_uses_decimal_comma, parse_number_series

from .history import fmt_time

if TYPE_CHECKING:
    from .csv_reader import Table

_TIME_HELP = ("ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]) or epoch "
              "seconds/milliseconds/microseconds")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def row_error(reason: str, field: str, value: Any, path: str, line: int) -> InputError:
    return InputError(reason, field=field, value=value, source=f"{path}:row {int(line)}")


def _parse_times(raw: pd.Series, col: str, path: str, lines: np.ndarray) -> np.ndarray:
    """Parse a time column.

    Parameters
    ----------
    raw : pandas.Series
        Text (or numbers read by the C parser), shape (n,).
    lines : numpy.ndarray
        int64 (n,), file line of each cell (for error messages).

    Returns
    -------
    numpy.ndarray
        ``datetime64[ns]`` UTC-naive, shape (n,), in input order. A column whose first
        cell is an ISO date and whose every cell reads as ISO 8601 is taken as ISO dates
        at once; anything else is looked at as epoch numbers or ISO text.
    """
    s = raw.reset_index(drop=True)

    def fail(mask: np.ndarray, reason: str) -> InputError:
        i = int(np.flatnonzero(mask)[0])
        return row_error(reason, col, s.iloc[i], path, lines[i])

    if s.dtype.kind not in "iuf" and len(s) and _ISO_DATE.match(str(s.iloc[0])):
        # fast path: a column of ISO 8601 dates (no look at each cell in Python)
        dt = pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce")
        if not dt.isna().any():
            return _utc_naive(dt, fail)
    empty = (s == "").to_numpy()
    if empty.any():
        raise fail(empty, "missing date/time")
    num = pd.to_numeric(s, errors="coerce")
    isnum = num.notna().to_numpy()
    if isnum.mean() >= 0.5:  # epoch numbers
        if not isnum.all():
            raise fail(~isnum, f"unparseable date/time; expected {_TIME_HELP}")
        if pd.api.types.is_integer_dtype(num.dtype):
            v = num.to_numpy(dtype=np.int64)
            if v.min() >= 19000101 and v.max() <= 21001231:  # YYYYMMDD
                dt = pd.to_datetime(s.astype(str), format="%Y%m%d", errors="coerce")
                bad = dt.isna().to_numpy()
                if bad.any():
                    raise fail(bad, f"unparseable date/time; expected {_TIME_HELP}")
                return dt.to_numpy().astype("datetime64[ns]")
            if (v <= 0).any():
                raise fail(v <= 0, "epoch timestamp must be positive")
            a = np.abs(v)
            scale = np.select([a < 10**11, a < 10**14, a < 10**17], [10**9, 10**6, 10**3], 1)
            too_big = v > (np.iinfo(np.int64).max // scale)
            if too_big.any():
                raise fail(too_big, "epoch timestamp out of range")
            ns = v * scale
        else:
            v = num.to_numpy(dtype=np.float64)
            bad = ~np.isfinite(v) | (v <= 0)
            if bad.any():
                raise fail(bad, "epoch timestamp must be a positive finite number")
            scale = np.select([v < 1e11, v < 1e14, v < 1e17], [1e9, 1e6, 1e3], 1.0)
            f = np.round(v * scale)
            if (f >= 9.2e18).any():
                raise fail(f >= 9.2e18, "epoch timestamp out of range")
            ns = f.astype(np.int64)
        return ns.astype("datetime64[ns]")
    dt = pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce")
    bad = dt.isna().to_numpy()
    if bad.any():  # "2013-04-28 00:00:00 UTC" (CoinGecko) and the like
        s2 = s.str.replace(r"\s*(?:UTC|GMT)$", "Z", regex=True, case=False)
        dt = pd.to_datetime(s2, utc=True, format="ISO8601", errors="coerce")
        bad = dt.isna().to_numpy()
    if bad.any():
        raise fail(bad, f"unparseable date/time; expected {_TIME_HELP}")
    return _utc_naive(dt, fail)


def _utc_naive(dt: pd.Series, fail) -> np.ndarray:
    """UTC times as ``datetime64[ns]`` without zone, within the years 1900-2200."""
    dt = dt.dt.tz_convert(None)
    years = dt.dt.year.to_numpy()
    out = (years < 1900) | (years > 2200)
    if out.any():
        raise fail(out, "date/time outside the years 1900-2200")
    return dt.dt.as_unit("ns").to_numpy().astype("datetime64[ns]")


def _decimal_comma(t: Table, time_col: str) -> bool:
    """Whether the file writes numbers with the decimal comma, read once from every text
    cell but the time column (:func:`engine.parsing.file_uses_decimal_comma`)."""
    if t.decimal_comma is None:
        cols = [c for c in t.df.columns if c != time_col and t.col(c).dtype.kind not in "iuf"]
        cells = (x for c in cols for x in t.col(c).unique())
        try:
            t.decimal_comma = file_uses_decimal_comma(cells, t.delimiter)
        except DecimalConventionError as exc:
            raise InputError(str(exc), field="numbers", value=exc.example, source=t.path) from None
    return t.decimal_comma


def _parse_prices(raw: pd.Series, col: str, t: Table, lines: np.ndarray, decimal_comma: bool
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Parse a price column.

    Returns
    -------
    values : numpy.ndarray
        float64, shape (n,); NaN where the cell is empty.
    missing : numpy.ndarray
        bool, shape (n,); True where the cell is empty.
    """
    s = raw.reset_index(drop=True)
    if s.dtype.kind in "iuf":            # read as numbers by the C parser; empty = NaN
        v = s.to_numpy(dtype=np.float64, copy=True)
        missing = np.isnan(v)
    else:
        v, missing = parse_number_series(s, decimal_comma=decimal_comma)
    with np.errstate(invalid="ignore"):
        bad = ~missing & ~(np.isfinite(v) & (v >= MIN_AMOUNT) & (v < MAX_AMOUNT))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        x = v[i]
        if np.isnan(x):
            txt = str(s.iloc[i]).strip().lower()
            reason = ("price is NaN" if txt in ("nan", "-nan", "+nan")
                      else "price is not a number")
        elif np.isinf(x) and str(s.iloc[i]).strip().lstrip("+-").lower() in ("inf", "infinity"):
            reason = "price is infinite"
        elif x <= 0:
            reason = "price must be greater than 0"
        elif x < MIN_AMOUNT:
            reason = f"price is out of range: must be at least {fmt_bound(MIN_AMOUNT)}"
        else:
            reason = f"price is out of range: must be below {fmt_bound(MAX_AMOUNT)}"
        raise row_error(reason, col, s.iloc[i], t.path, lines[i])
    return v, missing


@dataclass
class AssetSeries:
    asset: str
    path: str
    times: np.ndarray   # datetime64[ns] (n,), strictly increasing
    open: np.ndarray    # float64 (n,)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    has_ohlc: bool


def build_series(asset: str, t: Table, rows: np.ndarray, time_col: str,
                  cols: dict[str, str | None], has_ohlc: bool,
                  drop_missing_close: bool = False) -> AssetSeries:
    """Build one asset's series from table rows ``rows`` (int indices, file order)."""
    path = t.path
    lines = t.lines[rows]
    times = _parse_times(t.col(time_col).iloc[rows], time_col, path, lines)
    comma = _decimal_comma(t, time_col)
    close, cmiss = _parse_prices(t.col(cols["close"]).iloc[rows], cols["close"], t, lines, comma)
    if cmiss.any():
        if drop_missing_close:
            keep = ~cmiss
            if not keep.any():
                raise InputError(f"column has no prices for {asset}", field=cols["close"],
                                 value="", source=path)
            rows, lines, times, close = rows[keep], lines[keep], times[keep], close[keep]
            cmiss = cmiss[keep]
        else:
            i = int(np.flatnonzero(cmiss)[0])
            raise row_error("missing close price", cols["close"],
                             t.col(cols["close"]).iloc[rows[i]], path, lines[i])

    def part(key: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        c = cols.get(key)
        if c is None:
            return None, None
        v, m = _parse_prices(t.col(c).iloc[rows], c, t, lines, comma)
        return v, m

    high, hmiss = part("high")
    low, lmiss = part("low")
    opn, omiss = part("open")
    if high is not None and low is not None:  # only where both were given
        bad = ~hmiss & ~lmiss & (high < low)
    else:
        bad = np.zeros(close.shape, dtype=bool)
    high = close.copy() if high is None else np.where(hmiss, close, high)
    low = close.copy() if low is None else np.where(lmiss, close, low)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise row_error(f"high {high[i]:g} is below low {low[i]:g}", cols["high"],
                         t.col(cols["high"]).iloc[rows[i]], path, lines[i])
    # a bar's close and open lie between its low and high (where those were given)
    for name, v, v_missing in (("close", close, None), ("open", opn, omiss)):
        if v is None:
            continue
        for side, bound, b_missing in (("high", high, hmiss), ("low", low, lmiss)):
            if b_missing is None:               # no such column: nothing to contradict
                continue
            out = (v > bound) if side == "high" else (v < bound)
            out &= ~b_missing if v_missing is None else ~b_missing & ~v_missing
            if out.any():
                i = int(np.flatnonzero(out)[0])
                word = "above" if side == "high" else "below"
                raise row_error(f"{name} {v[i]:g} is {word} the bar's {side} {bound[i]:g}",
                                cols[name], t.col(cols[name]).iloc[rows[i]], path, lines[i])

    order = np.argsort(times, kind="stable")
    times, lines = times[order], lines[order]
    close, high, low = close[order], high[order], low[order]
    if opn is not None:
        opn, omiss = opn[order], omiss[order]
    dup = times[1:] == times[:-1]
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        a, b = sorted((int(lines[i]), int(lines[i + 1])))
        raise row_error(f"duplicate timestamp {fmt_time(times[i])} for {asset} "
                         f"(also on row {a})", time_col,
                         t.col(time_col).iloc[rows[order[i + 1]]], path, b)

    prev_close = np.concatenate([close[:1], close[:-1]])
    if not has_ohlc:
        opn_full = close.copy()
    elif opn is None:
        opn_full = prev_close
    else:
        opn_full = np.where(omiss, prev_close, opn)
        given = ~omiss
        high = np.where(given, np.maximum(high, opn_full), high)
        low = np.where(given, np.minimum(low, opn_full), low)
    high = np.maximum(high, close)
    low = np.minimum(low, close)
    return AssetSeries(asset=asset, path=path, times=times, open=opn_full, high=high, low=low,
                   close=close, has_ohlc=has_ohlc)
