"""Price CSV dialects: read a file (plain, ``.gz`` or ``.zip``), sniff its delimiter and
header, recognise the layout (wide, long, single asset, headerless) and return one series
per asset."""
from __future__ import annotations

import gzip
import io
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.parsing import (DecimalConventionError, normalize_symbol, sample_uses_decimal_comma,
                            split_multiplier)

from .columns import AssetSeries, build_series, row_error
from .specs import asset_from_filename

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


@dataclass
class Table:
    """One price file's cells: ``typed`` tables hold the columns the C parser read as
    numbers as float/int columns (missing cells NaN), the others as text; text tables
    (``typed`` False) hold every cell as text, exactly as written."""

    path: str
    df: pd.DataFrame
    lines: np.ndarray         # int64 (n_rows,), 1-based file line of each row
    has_header: bool
    delimiter: str
    typed: bool = False
    decimal_comma: bool | None = None     # read once from the cells (columns._decimal_comma)
    _clean: dict | None = None

    def col(self, name: Any) -> pd.Series:
        """Column ``name`` (cached): numbers as read; text with missing cells as "" and,
        in text tables, surrounding whitespace and quotes stripped (a typed table's cell
        that needs stripping fails to parse and sends the file to the text table)."""
        if self._clean is None:
            self._clean = {}
        if name not in self._clean:
            c = self.df[name]
            if not self.typed:
                c = c.str.strip(' \t\r"')
            elif c.dtype.kind not in "iuf" and c.hasnans:
                c = c.fillna("")
            self._clean[name] = c
        return self._clean[name]

    def empty(self, name: Any) -> np.ndarray:
        """bool (n_rows,): True where the cell of column ``name`` is empty."""
        c = self.col(name)
        return c.isna().to_numpy() if c.dtype.kind in "iuf" else (c == "").to_numpy()


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


_BOM = b"\xef\xbb\xbf"


def _dialect(path: str, data: bytes) -> tuple[int, int, str, bool, bool | None]:
    """(offset of the first non-blank byte, blank lines before it, delimiter, has header,
    whether the first lines write numbers with the decimal comma: None where no cell there
    decides)."""
    start = data[len(_BOM):] if data.startswith(_BOM) else data
    body = start.lstrip()
    if not body:
        raise InputError(f"price file {path} is empty", source=path)
    offset = len(data) - len(body)
    n_lead = start[: len(start) - len(body)].count(b"\n")
    head = body[:65536]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # cut inside a character, or not UTF-8
        text = (head[: exc.start].decode("utf-8") if exc.start > len(head) - 4
                else head.decode("cp1252", errors="replace"))
    sample = [ln for ln in text.replace("\ufeff", "").splitlines()[:20] if ln.strip()][:10]
    delim = _sniff_delimiter(sample)
    first_field = sample[0].split(delim)[0].strip().strip("\"'").strip()
    has_header = not re.match(r"^[+-]?\d", first_field)
    comma = None
    if delim != ",":
        lines = [ln for ln in text.replace("\ufeff", "").splitlines()[1:400] if ln.strip()][:-1]
        try:
            comma = sample_uses_decimal_comma(c.strip().strip('"') for ln in lines
                                              for c in ln.split(delim))
        except DecimalConventionError:
            comma = None                      # the text table names the cells
    return offset, n_lead, delim, has_header, comma


def _read_csv(path: str, body: bytes, delim: str, has_header: bool, n_lead: int,
              typed: bool, decimal_comma: bool = False) -> pd.DataFrame:
    """The C parser over the file body: every cell as text, or (``typed``) numbers as
    numbers where a whole column reads as one (empty cells NaN), with the decimal comma
    and thousands points where the file uses them."""
    cells = ({"na_filter": True, "na_values": [""], "keep_default_na": False} if typed
             else {"dtype": str, "na_filter": False, "keep_default_na": False})
    if typed and decimal_comma:
        cells.update(decimal=",", thousands=".")
    for encoding in ("utf-8", "cp1252"):
        try:
            return pd.read_csv(io.BytesIO(body), sep=delim, header=0 if has_header else None,
                               skip_blank_lines=False, skipinitialspace=True, index_col=False,
                               engine="c", quotechar='"', encoding=encoding,
                               encoding_errors="strict" if encoding == "utf-8" else "replace",
                               **cells)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise InputError(f"price file {path} is empty", source=path) from None
        except pd.errors.ParserError as exc:
            msg = str(exc)
            m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
            if m:
                line = int(m.group(2)) + n_lead
                raise InputError(f"row has {m.group(3)} fields but the header has "
                                 f"{m.group(1)}", source=f"{path}:row {line}") from None
            raise InputError(f"cannot parse CSV {path}: {msg}", source=path) from None
    raise AssertionError("cp1252 with errors='replace' decodes any bytes")


def _read_table(path: str, data: bytes, typed: bool) -> Table:
    """One file's cells (see :class:`Table`); blank rows dropped."""
    offset, n_lead, delim, has_header, comma = _dialect(path, data)
    # ';' and tab files are written in the user's locale: the C parser reads their numbers
    # only where the first lines show the convention (60.000 is 60000 with the decimal
    # comma); otherwise the text table decides from every cell
    typed = typed and (delim == "," or comma is not None)
    df = _read_csv(path, data if offset == 0 else data[offset:], delim, has_header, n_lead,
                   typed, bool(comma))
    df.columns = [c.replace("\ufeff", "") if isinstance(c, str) else c for c in df.columns]
    lines = df.index.to_numpy(dtype=np.int64) + 1 + n_lead + (1 if has_header else 0)
    if len(df.columns):
        keep = (df.notna() & (df != "")).any(axis=1).to_numpy()
        if not keep.all():
            df = df.loc[keep].reset_index(drop=True)
            lines = lines[keep]
    if len(df) == 0:
        raise InputError(f"price file {path} has no data rows", source=path)
    return Table(path=path, df=df, lines=lines, has_header=has_header, delimiter=delim,
                 typed=typed, decimal_comma=comma if typed and delim != "," else None)


def _find(norm: dict[str, str], aliases: Sequence[str]) -> str | None:
    for a in aliases:
        for orig, n in norm.items():
            if n == a:
                return orig
    return None


def read_file(asset: str | None, path: str, default_asset: str | None) -> list[AssetSeries]:
    """Read one file into per-asset series (file order of assets).

    Fast path: the C parser reads number columns as numbers. Any problem found that way
    is looked at again with every cell as text, which names the row, column and text."""
    try:  # (the file's bytes are let go before the table is parsed further)
        series = _series(_read_table(path, _read_bytes(path), typed=True), asset, path,
                         default_asset)
    except InputError:
        series = _series(_read_table(path, _read_bytes(path), typed=False), asset, path,
                         default_asset)
    return [_in_asset_units(s) for s in series]


def _in_asset_units(s: AssetSeries) -> AssetSeries:
    """A 1000x contract's series (``1000PEPE``) as the asset's (``PEPE``, prices / 1000),
    the unit an imported position uses (:func:`engine.parsing.split_multiplier`)."""
    sym, mult = split_multiplier(s.asset)
    if sym is None or mult == 1.0:
        return s
    return replace(s, asset=sym, open=s.open / mult, high=s.high / mult,
                               low=s.low / mult, close=s.close / mult)


def _series(t: Table, asset: str | None, path: str, default_asset: str | None
            ) -> list[AssetSeries]:
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
        return [build_series(single_asset_name(), t, all_rows, cols[0], spec, has_ohlc)]

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
        return [build_series(single_asset_name(), t, all_rows, time_col, spec, has_ohlc)]

    if spec["close"] is not None:  # long
        raw_sym = t.col(asset_col)
        empty = t.empty(asset_col)
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise row_error("missing asset symbol", asset_col, "", path, t.lines[i])
        codes, uniques = pd.factorize(raw_sym, sort=False)
        by_asset: dict[str, str] = {}
        out_rows: dict[str, np.ndarray] = {}
        for k, u in enumerate(uniques):
            sym = normalize_symbol(u)
            if sym is None:
                i = int(np.flatnonzero(codes == k)[0])
                raise row_error("not an asset symbol", asset_col, u, path, t.lines[i])
            if sym in by_asset:
                i = int(np.flatnonzero(codes == k)[0])
                raise row_error(f"same asset given twice: {by_asset[sym]!r} and {u!r} are "
                                 f"both {sym}", asset_col, u, path, t.lines[i])
            by_asset[sym] = str(u)
            out_rows[sym] = np.flatnonzero(codes == k)
        wanted = list(out_rows)
        if asset is not None:
            if asset not in out_rows:
                raise InputError(f"asset {asset} not in {path} (it has {', '.join(wanted)})",
                                 field=asset_col, value=asset, source=path)
            wanted = [asset]
        return [build_series(a, t, out_rows[a], time_col, spec, has_ohlc) for a in wanted]

    # wide: every other non-ignored column is an asset's close
    asset_cols: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for c in cols:
        n = norm[c]
        if c == time_col or n in _IGNORED_COLS:
            continue
        if n.startswith("unnamed") and t.empty(c).all():
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
    return [build_series(sym, t, all_rows, time_col, {"close": c}, False,
                          drop_missing_close=True) for sym, c in asset_cols]
