"""One home for reading typed text: numbers, asset symbols and loan legs.

Every reader (portfolio JSON, holdings CSV, price CSV) and the desktop editor parse
through these functions, so a cell means the same thing wherever it is typed.

* numbers -- :func:`parse_number` (one cell) and :func:`parse_number_series` (a pandas
  column, vectorised) share one grammar: optional sign, thousands separators in valid
  groups (``1,234,567.5``; ``_`` as Python allows), ``%`` as a fraction where the caller
  allows it, and the decimal comma (``0,5``, ``1.234,5``) in ``;``-separated files.
  Null text (``null``, ``n/a``, ``-`` ...) means "no value" where the caller allows it.
* symbols -- :func:`normalize_symbol`: ``btcusdt``, ``BTC-USDT``, ``BTC/EUR``,
  ``BTCUSDT-PERP``, ``bitcoin`` -> ``BTC``.
* loan legs -- :func:`parse_legs` / :func:`format_legs`: ``ETH 12 @LT0.83; WBTC 0.5``,
  ``eth 12 LT=0.8 bonus=5%``, ``ETH:12:0.83|USDC:100``.

No Qt, no pandas at import time beyond what the vectorised parser needs.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "NULL_TEXT", "parse_number", "number_or_text", "point_notation", "parse_number_series",
    "format_number", "QUOTE_CURRENCIES", "SYMBOL_ALIASES", "normalize_symbol", "asset_symbol", "LegSyntaxError", "split_legs", "parse_leg", "parse_legs",
    "format_legs",
]

# --------------------------------------------------------------------------- numbers

#: Cell texts that mean "no value" where a reader allows empty cells ("NaN" is not one).
NULL_TEXT = ("null", "none", "n/a", "na", "-", "--")

#: A number with thousands separators in valid groups: ``1,234`` ``-12,345.67`` ``1_000``.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:([,_])\d{3})(?:\1\d{3})*(?:\.\d*)?$")
#: A number written with the decimal comma: ``0,5`` ``1.234,5`` ``,5`` (``%`` kept).
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+%?")


def point_notation(text: str) -> str:
    """``text`` with every decimal-comma number (``0,5``, ``1.234,5``, ``2,5%``, also
    inside a loan leg such as ``ETH:12,5:0,83``) rewritten in the point notation."""
    if "," not in text:
        return text
    return _DECIMAL_COMMA.sub(lambda m: m.group(0).replace(".", "").replace(",", "."), text)


def parse_number(value: Any, *, decimal_comma: bool = False, percent: bool = True) -> float:
    """One cell as a float.

    Parameters
    ----------
    value : str, int or float
        ``"1,234.5"``, ``"0.5%"`` (-> 0.005 when ``percent``), ``" 42 "``, ``3``.
    decimal_comma : bool
        The cell comes from a ``;``-separated file: ``"0,5"`` and ``"1.234,5"`` are read
        with the decimal comma.
    percent : bool
        Accept a trailing ``%`` (the number divided by 100).

    Returns
    -------
    float
        May be NaN or infinite when written so (``"nan"``, ``"inf"``) or beyond the float
        range (``"1e400"``, a 400-digit integer): callers that reject them check
        :func:`math.isfinite`.

    Raises
    ------
    ValueError
        Not a number (also booleans, None and empty text).
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            return float(value)
        except OverflowError:           # an integer beyond float range: infinite, as "1e400"
            return math.inf if value > 0 else -math.inf
    if not isinstance(value, str):
        raise ValueError(f"not a number: {value!r}")
    text = value.strip()
    scale = 1.0
    if percent and text.endswith("%"):
        text, scale = text[:-1].rstrip(), 0.01
    if decimal_comma and "," in text:
        text = point_notation(text)
    elif "," in text or "_" in text:
        if not _GROUPED.match(text):
            raise ValueError(f"not a number: {value!r}")
        text = text.replace(",", "").replace("_", "")
    try:
        return float(text) * scale
    except ValueError:
        raise ValueError(f"not a number: {value!r}") from None


def number_or_text(value: Any, *, decimal_comma: bool = False) -> Any:
    """What an editor stores for a typed value: the finite float when it reads as one,
    None for empty text, else the value as typed (to be marked)."""
    if not isinstance(value, str):
        return value
    if value.strip() == "":
        return None
    try:
        v = parse_number(value, decimal_comma=decimal_comma)
    except ValueError:
        return value
    return v if math.isfinite(v) else value


def parse_number_series(raw: pd.Series, *, decimal_comma: bool = False,
                        nulls: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A column of stripped strings as floats (vectorised; the rules of
    :func:`parse_number` without ``%``).

    Returns
    -------
    values : numpy.ndarray
        float64, shape (n,); NaN where missing or not a number (NaN text stays NaN).
    missing : numpy.ndarray
        bool, shape (n,); True where the cell is empty (or null text when ``nulls``).
    """
    s = raw.reset_index(drop=True)
    missing = (s == "").to_numpy().copy()
    try:
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan,
                                                       copy=True)
    except OverflowError:       # an integer beyond float range: every cell the slow way
        v = np.full(len(s), np.nan)
    retry = np.flatnonzero(~missing & np.isnan(v))
    if retry.size:  # slow path only for the cells that did not parse
        sub = s.iloc[retry]
        if nulls:
            missing[retry[sub.astype(str).str.lower().isin(NULL_TEXT).to_numpy()]] = True

        def one(text: str) -> float:
            try:
                return parse_number(text, decimal_comma=decimal_comma, percent=False)
            except ValueError:
                return math.nan
        v[retry] = np.fromiter((one(x) for x in sub), dtype=np.float64, count=len(sub))
    return v, missing


def format_number(value: Any, digits: int = 10) -> str:
    """A number as the user would type it (no exponent for ordinary sizes); other
    values as text, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.{digits}g}"
    if "e" in text and 1e-6 <= abs(value) < 1e16:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text


# --------------------------------------------------------------------------- symbols

#: Quote currencies stripped from pair symbols, longest first.
QUOTE_CURRENCIES: tuple[str, ...] = ("FDUSD", "BUSD", "USDT", "USDC", "USD", "EUR")

_QUOTE_RE = re.compile(r"^(?P<base>.+?)(?P<sep>[-/_:]?)(?:FDUSD|BUSD|USDT|USDC|USD|EUR)$")
_PERP_RE = re.compile(r"[-/_.:]?(?:PERP|PERPETUAL|SWAP)$")
_SYMBOL_RE = re.compile(r"^(?=.*[A-Z])[A-Z0-9]{1,15}$")

#: Symbol aliases: full coin names (as in CoinMarketCap / CoinGecko exports) -> symbol.
SYMBOL_ALIASES = {
    "BITCOIN": "BTC", "ETHEREUM": "ETH", "SOLANA": "SOL", "DOGECOIN": "DOGE",
    "CARDANO": "ADA", "RIPPLE": "XRP", "LITECOIN": "LTC", "POLKADOT": "DOT",
    "CHAINLINK": "LINK", "AVALANCHE": "AVAX", "TETHER": "USDT", "BINANCECOIN": "BNB",
    "POLYGON": "POL", "TRON": "TRX",
}


def normalize_symbol(raw: Any) -> str | None:
    """Normalise a ticker or pair name to an upper-case asset symbol.

    ``"btcusdt"``, ``"BTC-USDT"``, ``"BTC/USD"``, ``"BTCEUR"``, ``"BTC_USDC"``,
    ``"BTCUSDT-PERP"``, ``"bitcoin"`` -> ``"BTC"``. A bare quote currency (``"USDT"``,
    ``"USDC"``) is kept as is.

    Returns
    -------
    str or None
        The symbol, or None when ``raw`` does not look like a symbol.
    """
    if raw is None:
        return None
    s = str(raw).strip().strip("\"'").strip().upper()
    if not s:
        return None
    s = _PERP_RE.sub("", s) or s
    if s not in QUOTE_CURRENCIES:
        m = _QUOTE_RE.match(s)
        # without a separator keep at least two letters of base ("BUSD" is not B/USD)
        if m and (m.group("sep") or len(m.group("base")) >= 2):
            s = m.group("base")
    s = SYMBOL_ALIASES.get(s, s)
    return s if _SYMBOL_RE.match(s) else None


def asset_symbol(raw: str) -> str:
    """A typed asset as its symbol (:func:`normalize_symbol`), else upper-cased as typed
    (for validation to report)."""
    return normalize_symbol(raw) or str(raw).strip().upper()


# --------------------------------------------------------------------------- loan legs

class LegSyntaxError(ValueError):
    """Leg text that cannot be split into legs; ``item`` is the offending part."""

    def __init__(self, item: str):
        super().__init__(f"cannot read loan leg {item!r}")
        self.item = item


_LEG_SPLIT = re.compile(r"[;\n|]")
_LEG_OPT = re.compile(r"^@?(lt|bonus)\s*[=:]?\s*(.*)$", re.IGNORECASE)
_LEG_KEYWORD = re.compile(r"(?:^|[\s@])(?:lt|bonus)\s*[=:]", re.IGNORECASE)
_COLON = re.compile(r"\s*:\s*")
_LEG_KEYS = ("quantity", "liquidation_threshold", "liquidation_bonus")


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
        return True
    except ValueError:
        return False


def split_legs(text: str) -> list[str]:
    """The non-empty parts of loan-leg text (joined with ``;``, ``|`` or new lines)."""
    return [s for s in (x.strip() for x in _LEG_SPLIT.split(text or "")) if s]


def parse_leg(item: str) -> dict:
    """One leg (see :func:`parse_legs`). Raises LegSyntaxError."""
    if ":" in item and not _LEG_KEYWORD.search(item):
        tokens = _COLON.split(item.strip())      # ETH:12:0.83[:0.05] (holdings CSV style)
        if len(tokens) > 4:
            raise LegSyntaxError(item)
        leg = {"asset": asset_symbol(tokens[0])}
        for key, tok in zip(_LEG_KEYS, tokens[1:]):
            leg[key] = number_or_text(tok.strip().lstrip("@"))
        return {k: v for k, v in leg.items() if v is not None}
    tokens = item.replace(",", " ").split() if "," in item and " " not in item else item.split()
    leg = {"asset": asset_symbol(tokens[0])}
    rest = tokens[1:]
    if rest and (_is_number(rest[0]) or not (rest[0].startswith("@") or _LEG_OPT.match(rest[0]))):
        leg["quantity"] = number_or_text(rest[0])
        rest = rest[1:]
    positional = ["liquidation_threshold", "liquidation_bonus"]
    k = 0
    while k < len(rest):
        tok = rest[k]
        m = _LEG_OPT.match(tok)
        if not m:
            if positional and _is_number(tok.lstrip("@")):   # ETH 12 0.83 0.05
                leg[positional.pop(0)] = number_or_text(tok.lstrip("@"))
                k += 1
                continue
            raise LegSyntaxError(item)
        name, value = m.group(1).lower(), m.group(2)
        if value in ("=", ":") or value == "":
            k += 1
            if k >= len(rest):
                raise LegSyntaxError(item)
            value = rest[k]
        key = "liquidation_threshold" if name == "lt" else "liquidation_bonus"
        if key in positional:
            positional.remove(key)
        leg[key] = number_or_text(value)
        k += 1
    return leg


def parse_legs(text: str) -> list[dict]:
    """Loan-leg text to leg dicts ``{"asset", "quantity"[, "liquidation_threshold"[,
    "liquidation_bonus"]]}``; numbers as floats where they read as one, else as typed.

    Legs are joined with ``;``, ``|`` or new lines. A leg is ``ASSET QUANTITY`` then
    options ``@LT0.83`` / ``LT=0.83`` / ``bonus=5%`` or bare values (threshold, bonus),
    or ``ASSET:QUANTITY[:LT[:BONUS]]``. Assets are normalised (:func:`normalize_symbol`).

    Raises
    ------
    LegSyntaxError
        A part that is not a leg.
    """
    return [parse_leg(item) for item in split_legs(text)]


def format_legs(legs: Any) -> str:
    """Loan legs as compact text: ``ETH 12 @LT0.83; WBTC 0.5`` (text as it is)."""
    if isinstance(legs, str):
        return legs
    if not isinstance(legs, list):
        return "" if legs is None else str(legs)
    parts = []
    for leg in legs:
        if not isinstance(leg, dict):
            parts.append(str(leg))
            continue
        text = f"{leg.get('asset', '?')} {format_number(leg.get('quantity', ''))}".strip()
        if leg.get("liquidation_threshold") is not None:
            text += f" @LT{format_number(leg['liquidation_threshold'])}"
        if leg.get("liquidation_bonus") is not None:
            text += f" @bonus{format_number(leg['liquidation_bonus'])}"
        parts.append(text)
    return "; ".join(parts)
