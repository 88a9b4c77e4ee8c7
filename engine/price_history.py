"""Price history import: read price CSV files into one aligned :class:`PriceHistory`.

Accepted layouts (detected from the header; delimiter ``,`` ``;`` or tab is sniffed,
header names are case-insensitive, whitespace, quotes and a UTF-8 BOM are stripped):

* **wide** -- ``date,BTC,ETH,...``: one close column per asset (``has_ohlc`` False).
  An empty cell means "no price for that asset at that time".
* **long** -- ``date,asset,open,high,low,close[,volume]``; the asset column may be called
  ``asset``, ``symbol``, ``ticker``, ``coin``, ``pair`` ...; symbols such as ``BTCUSDT``,
  ``BTC-USDT``, ``BTC/USD`` are normalised to ``BTC`` (see :func:`normalize_symbol`).
* **single asset** -- ``date,open,high,low,close[,volume]`` and the usual exports:
  Yahoo (``Date,Open,High,Low,Close,Adj Close,Volume``), CoinGecko
  (``snapped_at,price,market_cap,total_volume``: closes only), CoinMarketCap
  (``timeOpen;timeClose;...;open;high;low;close;volume;marketCap;timestamp``), Binance
  klines with or without header (12 columns, ``open_time`` in ms or µs). The asset comes
  from the ``ASSET=path`` spec, else from the file name (:func:`asset_from_filename`),
  else from ``default_asset``.
* files without a header: 2 columns (``time, close``) or 5 and more columns
  (``time, open, high, low, close, ...``, the Binance kline layout).

Times are ISO 8601 dates or datetimes (``Z`` or an offset is converted to UTC, no zone
means UTC), ``YYYY-MM-DD HH:MM:SS UTC``, or epoch seconds / milliseconds / microseconds /
nanoseconds (chosen per value by magnitude). All times are returned UTC-naive.

Value rules: ``high``/``low`` missing (column absent or empty cell) -> the close; ``open``
missing -> the previous close (the close itself on the first row). The bar range is
widened to contain the given open and close (``low <= open, close <= high`` always holds
in a :class:`PriceHistory`). Rows need not be sorted.

Several files (or several assets of one file) are aligned on the union of their
timestamps, restricted to the span every asset covers (latest first row to earliest last
row). Inside that span, a timestamp that an asset lacks gets a flat bar at that asset's
previous close (``open = high = low = close = previous close``).

Every problem with the input raises :class:`engine.errors.InputError` naming the file,
the row (``row N`` is the line number in the file; the header is row 1), the column and
the offending text.
"""
from __future__ import annotations

import datetime as _dt
import gzip
import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.parsing import QUOTE_CURRENCIES, normalize_symbol, parse_number_series

__all__ = [
    "PriceHistory",
    "load_price_history",
    "parse_prices_arg",
    "asset_from_filename",
    "normalize_symbol",
]

# --------------------------------------------------------------------------- symbols

#: File-name words that are not asset symbols.
_GENERIC_NAMES = frozenset({
    "DATA", "PRICE", "PRICES", "HISTORY", "HISTORICAL", "EXPORT", "KLINE", "KLINES",
    "CANDLE", "CANDLES", "OHLC", "OHLCV", "CHART", "FILE", "TEST", "SAMPLE", "OUTPUT",
    "DOWNLOAD", "DAILY", "HOURLY", "MINUTE", "WIDE", "LONG", "MARKET", "QUOTES", "CLOSE",
    "CLOSES", "PORTFOLIO", "INPUT", "TMP", "TEMP", "NEW", "COPY", "UNTITLED", "SHEET",
    "BOOK", "RESULTS", "ASSETS", "COINS", "CRYPTO", "MARKPRICE", "SPOT", "FUTURES",
})


def asset_from_filename(path: str | os.PathLike) -> str | None:
    """Guess the asset symbol from a price file's name.

    ``BTC-USDT_1h.csv``, ``BTCUSDT-1h-2025-10.csv``, ``btc.csv``,
    ``BTCUSDT-PERP_markprice_5m_2025-10-01_2025-12-30.csv`` -> ``"BTC"``;
    ``ETH-USD_daily_yahoo.csv`` -> ``"ETH"``; ``Bitcoin_..._coinmarketcap.csv`` -> ``"BTC"``.

    Returns
    -------
    str or None
        None when the name does not start with something that looks like a symbol
        (e.g. ``prices.csv``, ``2025-10-01.csv``).
    """
    name = Path(os.fspath(path)).name
    for ext in (".gz", ".zip"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    stem = re.sub(r"\.(csv|txt|tsv)$", "", name, flags=re.IGNORECASE)
    token = re.split(r"[_\s.()\[\]]+", stem.strip())[0] if stem.strip() else ""
    if not token:
        return None
    parts = [p for p in token.split("-") if p]
    if not parts:
        return None
    candidate = parts[0]
    if len(parts) > 1 and parts[1].upper() in QUOTE_CURRENCIES:
        candidate = parts[0]  # BTC-USDT, ETH-USD
    sym = normalize_symbol(candidate)
    if sym is None or sym in _GENERIC_NAMES or not re.match(r"^[A-Z0-9]{2,12}$", sym):
        return None
    return sym


_SPEC_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9_-]{0,30})\s*=(.*)$", re.DOTALL)


def parse_prices_arg(arg: str) -> tuple[str | None, str]:
    """Split a ``--prices`` argument into ``(asset, path)``.

    ``"BTC=btc.csv"`` -> ``("BTC", "btc.csv")``; ``"btc.csv"`` -> ``(None, "btc.csv")``.
    Only a symbol-like prefix (letters, digits, ``-``, ``_``) before the first ``=`` is an
    asset, so ``C:\\data\\x.csv`` or ``./a=b.csv`` are plain paths; an argument that names
    an existing file is always a path.
    """
    if arg is None or not str(arg).strip():
        raise InputError("empty --prices argument: expected ASSET=path or path",
                         field="prices", value=arg)
    arg = str(arg)
    m = _SPEC_RE.match(arg)
    if m is None or (os.path.isfile(arg) and not os.path.isfile(m.group(2).strip())):
        return None, arg.strip()
    asset_raw, path = m.group(1), m.group(2).strip()
    if not path:
        raise InputError(f"no file name after '=' in --prices {arg!r}",
                         field="prices", value=arg)
    asset = normalize_symbol(asset_raw)
    if asset is None:
        raise InputError(f"{asset_raw!r} is not an asset symbol in --prices {arg!r}",
                         field="prices", value=asset_raw)
    return asset, path


# --------------------------------------------------------------------------- result

def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.copy()
        a.setflags(write=False)
    return a


def _fmt_time(t: Any) -> str:
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
        span = (f"{_fmt_time(self.times[0])} .. {_fmt_time(self.times[-1])}"
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
            raise InputError(f"window start {_fmt_time(s)} is after end {_fmt_time(e)}",
                             field="start", value=start)
        if hi <= lo:
            have = (f"{_fmt_time(self.times[0])} to {_fmt_time(self.times[-1])}"
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


# --------------------------------------------------------------------------- reading

def _norm_col(name: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).strip().strip("\ufeff\"'").lower())


_TIME_COLS = ("opentime", "timeopen", "date", "datetime", "timestamp", "time", "snappedat",
              "dateutc", "datetimeutc", "timeutc", "timestamputc", "timestampms",
              "unix", "unixtimestamp", "day", "starttime", "timestart", "period", "t")
_ASSET_COLS = ("asset", "symbol", "ticker", "coin", "pair", "instrument", "market",
               "token", "base", "currency")
_OPEN_COLS = ("open", "o", "openprice", "priceopen")
_HIGH_COLS = ("high", "h", "highprice", "pricehigh")
_LOW_COLS = ("low", "l", "lowprice", "pricelow")
_CLOSE_COLS = ("close", "c", "closeprice", "priceclose", "closingprice", "price", "last",
               "lastprice", "adjclose")
#: Known non-price columns (ignored; in wide files they are not assets).
_IGNORED_COLS = frozenset(_TIME_COLS) | frozenset({
    "volume", "v", "vol", "basevolume", "quotevolume", "quoteassetvolume", "count",
    "trades", "numberoftrades", "tradecount", "takerbuyvolume", "takerbuybasevolume",
    "takerbuyquotevolume", "takerbuybaseassetvolume", "takerbuyquoteassetvolume",
    "ignore", "closetime", "timeclose", "timehigh", "timelow", "marketcap",
    "totalvolume", "turnover", "name", "volumeusd", "volumeusdt", "vwap", "change",
    "changepercent", "confirm", "interval", "timeframe", "exchange", "source",
})

_TIME_HELP = ("ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]) or epoch "
              "seconds/milliseconds/microseconds")


@dataclass
class _Table:
    path: str
    df: pd.DataFrame          # all cells as stripped strings
    lines: np.ndarray         # int64 (n_rows,), 1-based file line of each row
    has_header: bool
    delimiter: str
    _clean: dict | None = None

    def col(self, name: Any) -> pd.Series:
        """Column ``name`` with surrounding whitespace and quotes stripped (cached)."""
        if self._clean is None:
            self._clean = {}
        if name not in self._clean:
            self._clean[name] = self.df[name].str.strip(' \t\r"')
        return self._clean[name]


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.replace("\ufeff", "")


def _read_bytes(path: str) -> bytes:
    p = Path(path)
    if not p.exists():
        raise InputError(f"price file not found: {path}", source=path)
    if p.is_dir():
        raise InputError(f"{path} is a directory, not a price file", source=path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read price file {path}: {exc.strerror or exc}",
                         source=path) from None
    low = p.name.lower()
    try:
        if low.endswith(".gz"):
            data = gzip.decompress(data)
        elif low.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = [n for n in zf.namelist() if not n.endswith("/")]
                csvs = [n for n in members if n.lower().endswith((".csv", ".txt"))] or members
                if len(csvs) != 1:
                    raise InputError(
                        f"zip archive {path} must hold exactly one CSV file, found "
                        f"{len(csvs)}", source=path)
                data = zf.read(csvs[0])
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot decompress {path}: {exc}", source=path) from None
    return data


def _sniff_delimiter(sample_lines: list[str]) -> str:
    best, best_count = ",", 0
    for d in ("\t", ";", ","):  # tie -> earlier wins (';' files often use decimal commas)
        counts = [re.sub(r'"[^"]*"', "", ln).count(d) for ln in sample_lines]
        c = min(counts) if counts else 0
        if c > best_count:
            best, best_count = d, c
    return best


def _read_table(path: str) -> _Table:
    text = _decode(_read_bytes(path))
    stripped = text.lstrip()
    if not stripped:
        raise InputError(f"price file {path} is empty", source=path)
    n_lead = text[: len(text) - len(stripped)].count("\n")
    sample = [ln for ln in stripped.splitlines()[:20] if ln.strip()][:10]
    delim = _sniff_delimiter(sample)
    first_field = sample[0].split(delim)[0].strip().strip("\"'").strip()
    has_header = not re.match(r"^[+-]?\d", first_field)
    try:
        df = pd.read_csv(io.StringIO(stripped), sep=delim, header=0 if has_header else None,
                         dtype=str, na_filter=False, keep_default_na=False,
                         skip_blank_lines=False, skipinitialspace=True, index_col=False,
                         engine="c", quotechar='"')
    except pd.errors.EmptyDataError:
        raise InputError(f"price file {path} is empty", source=path) from None
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            line = int(m.group(2)) + n_lead
            raise InputError(f"row has {m.group(3)} fields but the header has {m.group(1)}",
                             source=f"{path}:row {line}") from None
        raise InputError(f"cannot parse CSV {path}: {msg}", source=path) from None
    df = df.fillna("").astype(str)  # cells are stripped lazily, see _Table.col
    lines = df.index.to_numpy(dtype=np.int64) + 1 + n_lead + (1 if has_header else 0)
    if len(df.columns):
        keep = (df != "").any(axis=1).to_numpy()
        df = df.loc[keep].reset_index(drop=True)
        lines = lines[keep]
    if len(df) == 0:
        raise InputError(f"price file {path} has no data rows", source=path)
    return _Table(path=path, df=df, lines=lines, has_header=has_header, delimiter=delim)


def _row_error(reason: str, field: str, value: Any, path: str, line: int) -> InputError:
    return InputError(reason, field=field, value=value, source=f"{path}:row {int(line)}")


def _parse_times(raw: pd.Series, col: str, path: str, lines: np.ndarray) -> np.ndarray:
    """Parse a time column.

    Parameters
    ----------
    raw : pandas.Series
        Stripped strings, shape (n,).
    lines : numpy.ndarray
        int64 (n,), file line of each cell (for error messages).

    Returns
    -------
    numpy.ndarray
        ``datetime64[ns]`` UTC-naive, shape (n,), in input order.
    """
    s = raw.reset_index(drop=True)

    def fail(mask: np.ndarray, reason: str) -> InputError:
        i = int(np.flatnonzero(mask)[0])
        return _row_error(reason, col, s.iloc[i], path, lines[i])

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
                dt = pd.to_datetime(s, format="%Y%m%d", errors="coerce")
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
    dt = dt.dt.tz_convert(None)
    years = dt.dt.year.to_numpy()
    out = (years < 1900) | (years > 2200)
    if out.any():
        raise fail(out, "date/time outside the years 1900-2200")
    return dt.dt.as_unit("ns").to_numpy().astype("datetime64[ns]")


def _parse_prices(raw: pd.Series, col: str, t: _Table, lines: np.ndarray
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
    v, missing = parse_number_series(s, decimal_comma=t.delimiter != ",")
    bad = ~missing & ~(np.isfinite(v) & (v > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        x = v[i]
        if np.isnan(x):
            txt = s.iloc[i].strip().lower()
            reason = ("price is NaN" if txt in ("nan", "-nan", "+nan")
                      else "price is not a number")
        elif np.isinf(x):
            reason = "price is infinite"
        else:
            reason = "price must be greater than 0"
        raise _row_error(reason, col, s.iloc[i], t.path, lines[i])
    return v, missing


@dataclass
class _Series:
    asset: str
    path: str
    times: np.ndarray   # datetime64[ns] (n,), strictly increasing
    open: np.ndarray    # float64 (n,)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    has_ohlc: bool


def _build_series(asset: str, t: _Table, rows: np.ndarray, time_col: str,
                  cols: dict[str, str | None], has_ohlc: bool,
                  drop_missing_close: bool = False) -> _Series:
    """Build one asset's series from table rows ``rows`` (int indices, file order)."""
    path = t.path
    lines = t.lines[rows]
    times = _parse_times(t.col(time_col).iloc[rows], time_col, path, lines)
    close, cmiss = _parse_prices(t.col(cols["close"]).iloc[rows], cols["close"], t, lines)
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
            raise _row_error("missing close price", cols["close"],
                             t.col(cols["close"]).iloc[rows[i]], path, lines[i])

    def part(key: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        c = cols.get(key)
        if c is None:
            return None, None
        v, m = _parse_prices(t.col(c).iloc[rows], c, t, lines)
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
        raise _row_error(f"high {high[i]:g} is below low {low[i]:g}", cols["high"],
                         t.col(cols["high"]).iloc[rows[i]], path, lines[i])

    order = np.argsort(times, kind="stable")
    times, lines = times[order], lines[order]
    close, high, low = close[order], high[order], low[order]
    if opn is not None:
        opn, omiss = opn[order], omiss[order]
    dup = times[1:] == times[:-1]
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        a, b = sorted((int(lines[i]), int(lines[i + 1])))
        raise _row_error(f"duplicate timestamp {_fmt_time(times[i])} for {asset} "
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
    return _Series(asset=asset, path=path, times=times, open=opn_full, high=high, low=low,
                   close=close, has_ohlc=has_ohlc)


def _find(norm: dict[str, str], aliases: Sequence[str]) -> str | None:
    for a in aliases:
        for orig, n in norm.items():
            if n == a:
                return orig
    return None


def _read_file(asset: str | None, path: str, default_asset: str | None) -> list[_Series]:
    """Read one file into per-asset series (file order of assets)."""
    t = _read_table(path)
    df = t.df
    all_rows = np.arange(len(df))
    cols = list(df.columns)

    def single_asset_name() -> str:
        name = asset or asset_from_filename(path) or default_asset
        if name is None:
            raise InputError(
                f"cannot tell which asset {path} holds: name it as ASSET={path} "
                f"(e.g. BTC={path}) or use a file name starting with the symbol",
                field="asset", value=Path(path).name, source=path)
        return name

    if not t.has_header:
        n = len(cols)
        names = ["date", "close"] if n == 2 else ["open_time", "open", "high", "low", "close"]
        names = (names + [f"column {i + 1}" for i in range(len(names), n)])[:n]
        t.df.columns = names
        cols = names
        if n == 2:
            spec = {"close": cols[1]}
            has_ohlc = False
        elif n >= 5:
            spec = {"open": cols[1], "high": cols[2], "low": cols[3], "close": cols[4]}
            has_ohlc = True
        else:
            raise InputError(
                f"{path} has no header row and {n} columns; add a header such as "
                f"date,open,high,low,close", field="header", value=n, source=path)
        return [_build_series(single_asset_name(), t, all_rows, cols[0], spec, has_ohlc)]

    norm = {c: _norm_col(c) for c in cols}
    time_col = _find(norm, _TIME_COLS)
    if time_col is None:
        fallback = [c for c, n in norm.items()
                    if ("date" in n or "time" in n) and not any(k in n for k in ("close", "end"))]
        time_col = fallback[0] if fallback else None
    if time_col is None:
        raise InputError(
            f"{path} has no date/time column (columns: {', '.join(map(str, cols))}); "
            f"expected one of date, timestamp, time, datetime, open_time, snapped_at",
            field="date", value=", ".join(map(str, cols)), source=path)
    spec = {"open": _find(norm, _OPEN_COLS), "high": _find(norm, _HIGH_COLS),
            "low": _find(norm, _LOW_COLS), "close": _find(norm, _CLOSE_COLS)}
    asset_col = _find(norm, _ASSET_COLS)
    has_ohlc = any(spec[k] is not None for k in ("open", "high", "low"))

    if spec["close"] is None and (has_ohlc or asset_col is not None):
        raise InputError(
            f"{path} has no close column (columns: {', '.join(map(str, cols))})",
            field="close", value=", ".join(map(str, cols)), source=path)

    if spec["close"] is not None and asset_col is None:  # single asset
        return [_build_series(single_asset_name(), t, all_rows, time_col, spec, has_ohlc)]

    if spec["close"] is not None:  # long
        raw_sym = t.col(asset_col)
        empty = (raw_sym == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise _row_error("missing asset symbol", asset_col, "", path, t.lines[i])
        codes, uniques = pd.factorize(raw_sym, sort=False)
        by_asset: dict[str, str] = {}
        out_rows: dict[str, np.ndarray] = {}
        for k, u in enumerate(uniques):
            sym = normalize_symbol(u)
            if sym is None:
                i = int(np.flatnonzero(codes == k)[0])
                raise _row_error("not an asset symbol", asset_col, u, path, t.lines[i])
            if sym in by_asset:
                i = int(np.flatnonzero(codes == k)[0])
                raise _row_error(f"same asset given twice: {by_asset[sym]!r} and {u!r} are "
                                 f"both {sym}", asset_col, u, path, t.lines[i])
            by_asset[sym] = str(u)
            out_rows[sym] = np.flatnonzero(codes == k)
        wanted = list(out_rows)
        if asset is not None:
            if asset not in out_rows:
                raise InputError(f"asset {asset} not in {path} (it has {', '.join(wanted)})",
                                 field=asset_col, value=asset, source=path)
            wanted = [asset]
        return [_build_series(a, t, out_rows[a], time_col, spec, has_ohlc) for a in wanted]

    # wide: every other non-ignored column is an asset's close
    asset_cols: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for c in cols:
        n = norm[c]
        if c == time_col or n in _IGNORED_COLS:
            continue
        if n.startswith("unnamed") and (t.col(c) == "").all():
            continue
        sym = normalize_symbol(c)
        if sym is None:
            raise InputError(f"column {c!r} in {path} is neither a known price field nor an "
                             f"asset symbol", field=str(c), value=str(c), source=path)
        if sym in seen:
            raise InputError(f"same asset given twice: columns {seen[sym]!r} and {c!r} are "
                             f"both {sym}", field=str(c), value=str(c), source=path)
        seen[sym] = str(c)
        asset_cols.append((sym, c))
    if not asset_cols:
        raise InputError(f"{path} has no price columns (columns: {', '.join(map(str, cols))})",
                         field="close", value=", ".join(map(str, cols)), source=path)
    if asset is not None:
        match = [ac for ac in asset_cols if ac[0] == asset]
        if not match:
            raise InputError(
                f"asset {asset} not in {path} (it has {', '.join(a for a, _ in asset_cols)})",
                field="asset", value=asset, source=path)
        asset_cols = match
    return [_build_series(sym, t, all_rows, time_col, {"close": c}, False,
                          drop_missing_close=True) for sym, c in asset_cols]


# --------------------------------------------------------------------------- loading

def _align(series: list[_Series], sources: tuple[str, ...]) -> PriceHistory:
    starts = np.array([s.times[0] for s in series], dtype="datetime64[ns]")
    ends = np.array([s.times[-1] for s in series], dtype="datetime64[ns]")
    lo, hi = starts.max(), ends.min()
    if lo > hi:
        ranges = "; ".join(f"{s.path} ({s.asset}) {_fmt_time(s.times[0])} to "
                           f"{_fmt_time(s.times[-1])}" for s in series)
        raise InputError(f"the price files have no dates in common: {ranges}",
                         field="date", value=_fmt_time(lo),
                         source=", ".join(dict.fromkeys(s.path for s in series)))
    if len(series) == 1:
        union = series[0].times
    else:
        union = np.unique(np.concatenate(
            [s.times[(s.times >= lo) & (s.times <= hi)] for s in series]))
    n, k = union.shape[0], len(series)
    o = np.empty((n, k)); h = np.empty((n, k)); l = np.empty((n, k)); c = np.empty((n, k))
    for j, s in enumerate(series):
        idx = np.searchsorted(s.times, union, side="right") - 1  # >= 0: s starts <= lo
        exact = s.times[idx] == union
        cc = s.close[idx]
        c[:, j] = cc
        o[:, j] = np.where(exact, s.open[idx], cc)
        h[:, j] = np.where(exact, s.high[idx], cc)
        l[:, j] = np.where(exact, s.low[idx], cc)
    return PriceHistory(times=union, assets=tuple(s.asset for s in series), open=o, high=h,
                        low=l, close=c, has_ohlc=np.array([s.has_ohlc for s in series]),
                        sources=sources)


def load_price_history(specs: Sequence[str | os.PathLike | tuple[str | None, Any]], *,
                       default_asset: str | None = None) -> PriceHistory:
    """Load and align price files.

    Parameters
    ----------
    specs : list of str or (asset, path) tuples
        ``"BTC=btc.csv"``, ``"btc.csv"`` (see :func:`parse_prices_arg`) or
        ``("BTC", "btc.csv")`` / ``(None, "btc.csv")``. Giving an asset for a wide or long
        file selects that asset from it.
    default_asset : str, optional
        Asset of a single-asset file whose spec and file name name none.

    Returns
    -------
    PriceHistory
        ``n_assets`` = total assets over all files, in file order.

    Raises
    ------
    InputError
        Any bad input (missing/empty file, unknown columns, bad date or price, high < low,
        duplicate timestamps, no common dates, unknown asset, same asset twice).
    """
    if isinstance(specs, (str, os.PathLike, tuple)):
        specs = [specs]  # type: ignore[list-item]
    if not specs:
        raise InputError("no price files given", field="prices", value=[])
    default = None
    if default_asset is not None:
        default = normalize_symbol(default_asset)
        if default is None:
            raise InputError("default asset is not a symbol", field="default_asset",
                             value=default_asset)
    series: list[_Series] = []
    origin: dict[str, str] = {}
    sources: list[str] = []
    for spec in specs:
        if isinstance(spec, tuple):
            if len(spec) != 2:
                raise InputError("price spec must be (asset, path)", field="prices", value=spec)
            asset_raw, path = spec
            asset = None
            if asset_raw is not None and str(asset_raw).strip():
                asset = normalize_symbol(asset_raw)
                if asset is None:
                    raise InputError("not an asset symbol", field="asset", value=asset_raw,
                                     source=os.fspath(path))
        elif isinstance(spec, os.PathLike):
            asset, path = None, spec
        else:
            asset, path = parse_prices_arg(spec)
        path = os.fspath(path)
        for s in _read_file(asset, path, default):
            if s.asset in origin:
                raise InputError(
                    f"same asset {s.asset} given twice: in {origin[s.asset]} and {path}",
                    field="asset", value=s.asset, source=path)
            origin[s.asset] = path
            series.append(s)
        if path not in sources:
            sources.append(path)
    return _align(series, tuple(sources))
