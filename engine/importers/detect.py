"""Recognise a portfolio file by its content, not its name, and read it.

:func:`import_file` is the one entry for every reader of a book (the command line through
:func:`engine.portfolio.load_portfolio`, the desktop app's open, drag and drop and "Import
into this book"). JSON is tried against CrashLab's own format and each venue's shape; text
is read as CSV and its header tells Binance's Transaction History, a rotki snapshot, ccxt
positions, a price history or a trade list (both refused with what to do instead) and
otherwise CrashLab's holdings CSV. A file of a known shape with nothing to import, or of
no known shape, is an :class:`~engine.errors.InputError` saying what the file looks like:
never an empty book.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from ..holdings_csv import csv_dialect
from ..parsing import DecimalConventionError, file_uses_decimal_comma, point_notation
from ..portfolio import FORMAT, _portfolio_path
from . import aave_subgraph, binance, bybit, ccxt, hyperliquid, okx, rotki
from .base import Imported

OWN_JSON = "CrashLab portfolio"
OWN_CSV = "CrashLab holdings CSV"

#: JSON shapes, most specific first: (sniff(obj) -> kind or None, read(path, obj)).
JSON_FORMATS: tuple[tuple[Callable, Callable], ...] = (
    (hyperliquid.sniff, hyperliquid.read),
    (aave_subgraph.sniff, aave_subgraph.read),
    (binance.sniff_position_risk, binance.read_position_risk),
    (bybit.sniff, bybit.read),
    (okx.sniff, okx.read),
    (ccxt.sniff, ccxt.read),
)
#: CSV shapes by header: (sniff(header) -> kind or None, read(path, header, rows)).
CSV_FORMATS: tuple[tuple[Callable, Callable], ...] = (
    (binance.sniff_history, binance.read_history),
    (rotki.sniff, rotki.read),
    (ccxt.sniff_csv, ccxt.read_csv),
)
#: What a user gets each format from (README and error messages).
FORMATS_HELP = (
    "CrashLab portfolio JSON or holdings CSV; Hyperliquid clearinghouseState / "
    "spotClearinghouseState JSON; ccxt fetch_positions (JSON or CSV); Binance USDⓈ-M "
    "positionRisk JSON or Transaction History CSV; Bybit v5 position list JSON; OKX "
    "account positions JSON; rotki balance snapshot CSV; Aave v3 subgraph userReserves JSON")


@dataclass(frozen=True)
class Sniffed:
    """What a file is: ``kind`` (a label), ``portfolio`` (a book, not a price history)."""

    kind: str
    portfolio: bool


# --------------------------------------------------------------------------- entry points
def import_file(path: str | Path, *, strict: bool = False) -> Imported:
    """Read any known portfolio file as a ``crashlab.portfolio/1`` dictionary.

    Parameters
    ----------
    path : str or Path
    strict : bool
        The command line's reading: a holdings CSV stops at its first bad cell, and a venue
        file that lacks something a book needs (a cross wallet) raises it. Otherwise (an
        editor) bad holdings cells are kept as typed and missing values left empty, listed
        in :attr:`Imported.needs`.

    Raises
    ------
    InputError
        Unreadable, empty, of no known shape, or of a known shape with nothing to import.
    """
    path = _portfolio_path(path)
    text = _text(path)
    if text.lstrip().startswith(("{", "[")):
        imp = _import_json(path, _json(path, text))
    else:
        imp = _import_csv(path, text, strict)
    if strict:
        imp.require()
    return imp


def sniff_file(path: str | Path) -> Sniffed | None:
    """What a file is, without reading it all (the desktop app's drop): None when it is
    no portfolio file, price history or other known shape."""
    try:
        path = _portfolio_path(path)
        text = _text(path)
    except InputError:
        return None
    if text.lstrip().startswith(("{", "[")):
        try:
            obj = _json(path, text)
        except InputError:
            return None
        if _is_own(obj):
            return Sniffed(OWN_JSON, True)
        for sniff, _ in JSON_FORMATS:
            kind = sniff(obj)
            if kind:
                return Sniffed(kind, True)
        return None
    header, _ = _csv_rows(path, text[:65536], header_only=True)
    if header is None:
        return None
    for sniff, _ in CSV_FORMATS:
        kind = sniff(header)
        if kind:
            return Sniffed(kind, True)
    if _price_history(header):
        return Sniffed("price history", False)
    if _trade_list(header) or not _holdings_header(header):
        return None
    return Sniffed(OWN_CSV, True)


# --------------------------------------------------------------------------- JSON
def _text(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text ({exc.reason}): not a portfolio file CrashLab "
                         "reads", field="path", value=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", field="path", value=str(path)) from None
    if not text.strip():
        raise InputError("the file is empty", field="path", value=str(path))
    return text


def _json(path: Path, text: str) -> Any:
    """The file's JSON (:func:`engine.portfolio.parse_json_text`: bad JSON, nesting too deep
    or a number of too many digits is an InputError naming the file, never a crash)."""
    from ..portfolio import parse_json_text
    return parse_json_text(text, str(path))


def _is_own(obj: Any) -> bool:
    return isinstance(obj, dict) and ("format" in obj or isinstance(obj.get("positions"), list))


def _import_json(path: Path, obj: Any) -> Imported:
    if _is_own(obj):
        if obj.get("format", FORMAT) != FORMAT:
            raise InputError(f"unsupported format, expected {FORMAT!r}", field="format",
                             value=obj.get("format"), source=path.name)
        return Imported(obj, OWN_JSON, own=True)
    for sniff, read in JSON_FORMATS:
        if sniff(obj):
            return read(path, obj)
    raise InputError(f"{describe_json(obj)}: not a portfolio file CrashLab knows. It reads "
                     f"{FORMATS_HELP}", source=path.name)


def describe_json(obj: Any) -> str:
    """What a JSON document looks like, in a few words (for an error message)."""
    if isinstance(obj, dict):
        err = _api_error(obj)
        if err:
            return f"is an error answer of an API ({err}), not positions"
        keys = ", ".join(list(map(str, obj))[:8]) + (", …" if len(obj) > 8 else "")
        return f"is a JSON object with the keys {keys}" if obj else "is an empty JSON object"
    if isinstance(obj, list):
        if not obj:
            return "is an empty JSON list (no positions)"
        if all(isinstance(x, dict) for x in obj):
            keys = ", ".join(list(map(str, obj[0]))[:8]) + (", …" if len(obj[0]) > 8 else "")
            return f"is a JSON list of {len(obj)} object(s) with the keys {keys}"
        return f"is a JSON list of {len(obj)} {type(obj[0]).__name__} value(s)"
    return f"is a single JSON {type(obj).__name__} value"


def _api_error(obj: dict) -> str | None:
    code = obj.get("code", obj.get("retCode"))
    msg = obj.get("msg", obj.get("retMsg", obj.get("error")))
    has_data = any(isinstance(obj.get(k), (list, dict)) and obj.get(k) for k in ("data", "result"))
    if msg and not has_data and str(code) not in ("0", "None", "200"):
        return f"code {code}: {msg}" if code is not None else str(msg)
    return None


# --------------------------------------------------------------------------- CSV
def _csv_rows(path: Path, text: str, header_only: bool = False
              ) -> tuple[list[str] | None, list[list[str]]]:
    dialect = csv_dialect(text)
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if not rows:
        return None, []
    if header_only:
        return rows[0], []
    body = rows[1:]
    try:
        comma = file_uses_decimal_comma((c for r in body for c in r), dialect.delimiter,
                                        legs=False)
    except DecimalConventionError as exc:
        raise InputError(str(exc), field="numbers", value=exc.example, source=path.name) from None
    if comma:
        body = [[point_notation(c) for c in r] for r in body]
    return rows[0], body


def _norm(header: list[str]) -> set[str]:
    return {re.sub(r"[^a-z0-9]", "", h.strip().lower()) for h in header}


def _price_history(header: list[str]) -> bool:
    from ..prices.csv_reader import _CLOSE_COLS, _OPEN_COLS, _TIME_COLS
    cols = _norm(header)
    holdings = {"quantity", "qty", "amount", "size", "balance", "holdings", "kind", "side",
                "collateral", "walletbalance", "positionamt", "contracts"}
    return (bool(cols & set(_TIME_COLS)) and bool(cols & (set(_CLOSE_COLS) | set(_OPEN_COLS)))
            and not cols & holdings)


def _trade_list(header: list[str]) -> bool:
    """A list of trades or activities (Ghostfolio, broker exports): a date, an action
    (BUY/SELL) and a quantity, not holdings."""
    cols = _norm(header)
    return (bool(cols & {"date", "datetime", "time", "timestamp"})
            and bool(cols & {"action", "type", "operation", "buysell", "transactiontype"})
            and bool(cols & {"quantity", "qty", "shares", "units", "amount"}))


def _holdings_header(header: list[str]) -> bool:
    from ..holdings_csv import ALIASES
    names = {n for names in ALIASES.values() for n in names}
    return bool({h.strip().lower().replace(" ", "_") for h in header} & names)


def _import_csv(path: Path, text: str, strict: bool) -> Imported:
    header, _ = _csv_rows(path, text[:65536], header_only=True)
    if header is None:
        raise InputError("has no filled cells", field="path", value=str(path))
    for sniff, read in CSV_FORMATS:
        if sniff(header):
            header, rows = _csv_rows(path, text)
            return read(path, header, rows)
    cols = ", ".join(h.strip() for h in header[:10])
    if _price_history(header):
        raise InputError(f"is a price history (columns {cols}), not holdings: use it as "
                         "prices for a replay (--prices, or drop it on the Replay view)",
                         source=path.name)
    if _trade_list(header):
        raise InputError(f"is a list of trades or activities (columns {cols}), not holdings: "
                         "CrashLab reads one row per position held (asset, quantity, ...)",
                         source=path.name)
    if not _holdings_header(header):
        raise InputError(f"is a CSV with the columns {cols}: not a portfolio file CrashLab "
                         f"knows. It reads {FORMATS_HELP}", source=path.name)
    from ..holdings_csv import import_holdings_csv, read_holdings_csv
    from ..portfolio import portfolio_to_dict
    if strict:
        return Imported(portfolio_to_dict(import_holdings_csv(path, text)), OWN_CSV)
    return Imported(read_holdings_csv(path, text), OWN_CSV)
