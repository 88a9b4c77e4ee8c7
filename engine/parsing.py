"""One home for reading typed text: numbers, asset symbols and loan legs.

Every reader (portfolio JSON, holdings CSV, price CSV) and the desktop editor parse
through these functions, so a cell means the same thing wherever it is typed.

* numbers -- :func:`parse_number` (one cell) and :func:`parse_number_series` (a pandas
  column, vectorised) share one grammar: optional sign, thousands separators in valid
  groups (``1,234,567.5``; ``_`` as Python allows), ``%`` as a fraction where the caller
  allows it, and the decimal comma (``0,5``, ``1.234,5``, ``60.000`` = 60000) where the
  file uses it. Which convention a file uses is read from its cells by
  :func:`file_uses_decimal_comma`: only unambiguous cells decide (``0,5`` or ``1.234,5``
  for the comma, ``0.25`` or ``1,234.5`` for the point); a file mixing both, or a ``;``
  or tab file whose only clues are ambiguous cells such as ``60.000``, is an error.
  Null text (``null``, ``n/a``, ``-`` ...) means "no value" where the caller allows it.
* symbols -- :func:`normalize_symbol`: ``btcusdt``, ``BTC-USDT``, ``BTC/EUR``,
  ``BTCUSDT-PERP``, ``BTC-USDT-SWAP``, ``BTC/USDT:USDT``, ``ETH-USDT-240628``,
  ``bitcoin`` -> ``BTC``; :func:`split_multiplier` reads a 1000x contract name
  (``kBONK``, ``1000PEPEUSDT``, ``1MBABYDOGE``) as the asset and its multiplier, so a
  reader scales quantities up and prices down by it.
* loan legs -- :func:`parse_legs` / :func:`format_legs`: ``ETH 12 @LT0.83; WBTC 0.5``,
  ``eth 12 LT=0.8 bonus=5%``, ``ETH:12:0.83|USDC:100``.

No Qt, no pandas at import time beyond what the vectorised parser needs.
"""
from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "NULL_TEXT", "parse_number", "number_or_text", "point_notation", "parse_number_series",
    "format_number", "DecimalConventionError", "file_uses_decimal_comma",
    "sample_uses_decimal_comma", "QUOTE_CURRENCIES",
    "SYMBOL_ALIASES", "normalize_symbol", "asset_symbol", "split_multiplier", "LegSyntaxError",
    "split_legs", "parse_leg", "parse_legs", "format_legs",
]

# --------------------------------------------------------------------------- numbers

#: Cell texts that mean "no value" where a reader allows empty cells ("NaN" is not one).
NULL_TEXT = ("null", "none", "n/a", "na", "-", "--")

#: A number with thousands separators in valid groups: ``1,234`` ``-12,345.67`` ``1_000``.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:([,_])\d{3})(?:\1\d{3})*(?:\.\d*)?$")
#: A number written with the decimal comma: ``0,5`` ``1.234,5`` ``,5`` (``%`` kept).
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+%?")


#: A number grouped with thousands points only: ``60.000`` ``1.234.567`` (decimal-comma files).
_DOT_GROUPED = re.compile(r"(?<![\d.,])([+-]?\d{1,3}(?:\.\d{3})+)(?![\d.,])")
_DOT_GROUPED_CELL = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+$")
#: A whole cell in the decimal-comma notation: ``0,5`` ``-1.234,5`` ``60.000`` ``12``.
_COMMA_CELL = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$|^[+-]?,\d+$")


def point_notation(text: str) -> str:
    """``text`` written with the decimal comma rewritten in the point notation: every
    decimal-comma number (``0,5``, ``1.234,5``, ``2,5%``, also inside a loan leg such as
    ``ETH:12,5:0,83``) and every number grouped with thousands points (``60.000`` ->
    ``60000``). Only for text known to use the decimal comma."""
    if "," in text:
        text = _DECIMAL_COMMA.sub(lambda m: m.group(0).replace(".", "").replace(",", "."), text)
    if "." in text:
        text = _DOT_GROUPED.sub(lambda m: m.group(1).replace(".", ""), text)
    return text


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
    if decimal_comma and ("," in text or _DOT_GROUPED_CELL.match(text)):
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
    None for empty text, else the value as typed (to be marked). A cell that can only be
    a decimal comma (``0,5``, ``1.234,5``; not ``1,234``) reads with it."""
    if not isinstance(value, str):
        return value
    if value.strip() == "":
        return None
    try:
        v = parse_number(value, decimal_comma=decimal_comma or _only_decimal_comma(value))
    except ValueError:
        return value
    return v if math.isfinite(v) else value


def _only_decimal_comma(text: str) -> bool:
    """One cell that shows the decimal comma unambiguously (see file_uses_decimal_comma)."""
    t = text.strip().lstrip("+-").rstrip("%").strip()
    return bool(_COMMA_EVIDENCE.match(t)) and not _AMBIGUOUS.match(t)


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
        text = s
        if decimal_comma:      # 0,5 -> 0.5, 1.234,5 -> 1234.5, 60.000 -> 60000 (vectorised)
            comma = s.str.match(_COMMA_CELL.pattern).fillna(False)
            if comma.any():
                text = s.where(~comma, s.str.replace(".", "", regex=False)
                               .str.replace(",", ".", regex=False))
        v = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan,
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


# --------------------------------------------------------------------------- decimal convention
class DecimalConventionError(ValueError):
    """A file whose decimal separator cannot be told: ``example`` is the cell to name."""

    def __init__(self, message: str, example: str):
        super().__init__(message)
        self.example = example


_NUMBER_CELL = re.compile(r"^[+-]?[\d.,]*\d[\d.,]*%?$")
_CELL_NUMBER_TOKENS = re.compile(r"(?<![\w.,])[+-]?\d[\d.,]*\d(?![\w.,])")
#: Evidence per cell (sign and % removed): the decimal comma, the decimal point, ambiguous.
_COMMA_EVIDENCE = re.compile(r"^(?:\d*,\d+|\d{1,3}(?:\.\d{3})+,\d+|\d{1,3}(?:\.\d{3}){2,})$")
_POINT_EVIDENCE = re.compile(r"^(?:\d*\.\d+|\d{1,3}(?:,\d{3})+\.\d+|\d{1,3}(?:,\d{3}){2,})$")
_AMBIGUOUS = re.compile(r"^[1-9]\d{0,2}[.,]\d{3}$")


def _number_tokens(cells: list, legs: bool) -> pd.Series:
    """The number-looking texts of ``cells``: whole cells such as ``0,5`` or ``1.234%`` and,
    with ``legs``, the numbers inside loan-leg cells (``ETH:12,5:0,83``); sign and ``%``
    removed."""
    s = pd.Series(cells, dtype=object).dropna().astype(str).str.strip()
    s = s[s.str.contains(r"\d[.,]\d", regex=True)]
    if s.empty:
        return s
    whole = s.str.match(_NUMBER_CELL.pattern)
    if not legs:
        return s[whole].str.replace(r"^[+-]|%$", "", regex=True)
    inner = s[~whole].str.findall(_CELL_NUMBER_TOKENS.pattern).explode()
    out = pd.concat([s[whole], inner.dropna().astype(str)], ignore_index=True)
    return out.str.replace(r"^[+-]|%$", "", regex=True)


def _evidence(tokens: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The tokens showing the decimal comma and those showing the decimal point."""
    clear = ~tokens.str.match(_AMBIGUOUS.pattern)
    return (tokens[clear & tokens.str.match(_COMMA_EVIDENCE.pattern)],
            tokens[clear & tokens.str.match(_POINT_EVIDENCE.pattern)])


_CHUNK = 4096


def file_uses_decimal_comma(cells, delimiter: str = ",", *, legs: bool = True) -> bool:
    """Whether the number cells of a file use the decimal comma.

    Only unambiguous cells decide: ``0,5``, ``12,25``, ``1.234,5`` or ``1.234.567`` mean the
    comma; ``0.25``, ``1234.5``, ``1,234.5`` or ``1,234,567`` the point. A cell such as
    ``60.000`` or ``1,234`` could be either. Without a deciding cell a ``,``-separated file
    uses the point (the comma would need quoting there); a ``;`` or tab file, written in
    the user's locale, must show its convention. The cells are read in blocks of 4,096
    until one decides (both conventions in the deciding block are an error); the rest of
    the file follows that convention.

    Parameters
    ----------
    cells : iterable of str
        The cells of the file's number columns (loan-leg cells included); text is ignored.
    delimiter : str
        The file's field separator.
    legs : bool
        Read the numbers inside text cells too (loan legs such as ``ETH:12,5``); False
        for files with free text (times, remarks), where only whole number cells count.

    Raises
    ------
    DecimalConventionError
        The deciding block mixes both conventions, or only ambiguous cells in a ``;``/tab
        file.
    """
    comma, ambiguous = _decide(cells, legs)
    if comma is not None:
        return comma
    if ambiguous is not None and delimiter != ",":
        whole, frac = re.split(r"[.,]", ambiguous)
        sep = "point" if "." in ambiguous else "comma"
        where = "tab" if delimiter == "\t" else repr(delimiter)
        raise DecimalConventionError(
            f"{ambiguous!r} is ambiguous in a {where}-separated file: {whole}.{frac} (decimal "
            f"{sep}) or {whole}{frac} (thousands {sep})? Write {whole}{frac}, or "
            f"{whole}.{frac[:1]} / {whole},{frac[:1]}, so the file shows which separator is "
            "decimal", ambiguous)
    return False


def sample_uses_decimal_comma(cells, legs: bool = False) -> bool | None:
    """What a sample of a file's cells shows (the rules of :func:`file_uses_decimal_comma`):
    True or False where a cell decides, None where none does (read the whole file then).
    Raises DecimalConventionError when the sample mixes both."""
    return _decide(cells, legs)[0]


def _decide(cells, legs: bool) -> tuple[bool | None, str | None]:
    """(decimal comma or None when no cell decides, the first ambiguous cell)."""
    it = iter(cells)
    ambiguous = None
    while block := list(itertools.islice(it, _CHUNK)):
        tokens = _number_tokens(block, legs)
        if tokens.empty:
            continue
        comma, point = _evidence(tokens)
        if len(comma) and len(point):
            raise DecimalConventionError(
                f"mixes the decimal comma ({comma.iloc[0]!r}) and the decimal point "
                f"({point.iloc[0]!r}); write every number one way", comma.iloc[0])
        if len(comma) or len(point):
            return len(comma) > 0, ambiguous
        if ambiguous is None:
            amb = tokens[tokens.str.match(_AMBIGUOUS.pattern)]
            ambiguous = amb.iloc[0] if len(amb) else None
    return None, ambiguous


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
QUOTE_CURRENCIES: tuple[str, ...] = ("FDUSD", "PYUSD", "BUSD", "USDT", "USDC", "USD", "EUR")

_QUOTE_RE = re.compile(r"^(?P<base>.+?)(?P<sep>[-/_:]?)(?:FDUSD|PYUSD|BUSD|USDT|USDC|USD|EUR)$")
_PERP_RE = re.compile(r"[-/_.:]?(?:PERP|PERPETUAL|SWAP)$")
#: ccxt unified market symbols: ``BTC/USDT:USDT``, ``ETH/USDT:USDT-240628``, ``BTC/USD:BTC``.
_UNIFIED_RE = re.compile(r"^(?P<base>[A-Z0-9.]+)/(?P<quote>[A-Z0-9]+)(?::(?P<settle>[A-Z0-9]+))?"
                         r"(?:-\d{6}(?:-.*)?)?$")
#: Expiry of dated futures: ``ETH-USDT-240628``, ``BTCUSDT_240628``.
_EXPIRY_RE = re.compile(r"[-_]\d{6}$")
#: 1000x contract names: ``kPEPE`` (Hyperliquid), ``1000PEPE``, ``1MBABYDOGE``, ``SHIB1000``.
_MULT_PREFIX = re.compile(r"^(?P<m>1000000|100000|10000|1000|1M)(?P<base>[A-Z][A-Z0-9]*)$")
_MULT_SUFFIX = re.compile(r"^(?P<base>[A-Z][A-Z]+)(?P<m>1000)$")
_K_PREFIX = re.compile(r"^\s*k(?P<base>[A-Z][A-Z0-9]+)")
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
    m = _UNIFIED_RE.match(s)
    if m:
        s = m.group("base")
    s = _EXPIRY_RE.sub("", s) or s
    s = _PERP_RE.sub("", s) or s
    if s not in QUOTE_CURRENCIES:
        m = _QUOTE_RE.match(s)
        # without a separator keep at least two letters of base ("BUSD" is not B/USD)
        if m and (m.group("sep") or len(m.group("base")) >= 2):
            s = m.group("base")
    s = SYMBOL_ALIASES.get(s, s)
    return s if _SYMBOL_RE.match(s) else None


def split_multiplier(raw: Any) -> tuple[str | None, float]:
    """A contract name that counts the asset in thousands, as (asset, multiplier).

    ``"kPEPE"`` (Hyperliquid), ``"1000PEPEUSDT"``, ``"1000PEPE/USDT:USDT"`` -> ``("PEPE",
    1000.0)``; ``"1MBABYDOGEUSDT"`` -> ``("BABYDOGE", 1e6)``; ``"SHIB1000USDT"`` -> ``("SHIB",
    1000.0)``; anything else -> ``(normalize_symbol(raw), 1.0)``. One contract unit is
    ``multiplier`` units of the asset: a reader multiplies quantities and divides prices
    by it, so value (quantity x price) is unchanged. ``"KAVA"`` and ``"1INCH"`` are plain
    symbols (the ``k`` prefix is lower case only).
    """
    if raw is None:
        return None, 1.0
    text = str(raw).strip().strip("\"'").strip()
    k = _K_PREFIX.match(text)
    if k:
        return normalize_symbol(k.group("base") + text[k.end():]), 1000.0
    sym = normalize_symbol(text)
    if sym is None:
        return None, 1.0
    for rx in (_MULT_PREFIX, _MULT_SUFFIX):
        m = rx.match(sym)
        if m:
            mult = 1e6 if m.group("m") == "1M" else float(m.group("m"))
            return m.group("base"), mult
    return sym, 1.0


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
_LEG_OPT = re.compile(r"^@?(lt|bonus|ratio|borrow|supply)\s*[=:]?\s*(.*)$", re.IGNORECASE)
_LEG_KEYWORD = re.compile(r"(?:^|[\s@])(?:lt|bonus|ratio|borrow|supply)\s*[=:]", re.IGNORECASE)
_COLON = re.compile(r"\s*:\s*")
#: option keywords of a leg and the fields they set
LEG_OPTIONS = {"lt": "liquidation_threshold", "bonus": "liquidation_bonus",
               "ratio": "collateral_ratio", "borrow": "borrow_apy", "supply": "supply_apy"}
#: positional values after the quantity: a loan leg's, an account collateral leg's
LOAN_POSITIONAL = ("liquidation_threshold", "liquidation_bonus")
COLLATERAL_POSITIONAL = ("collateral_ratio",)


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
        return True
    except ValueError:
        return False


def split_legs(text: str) -> list[str]:
    """The non-empty parts of loan-leg text (joined with ``;``, ``|`` or new lines)."""
    return [s for s in (x.strip() for x in _LEG_SPLIT.split(text or "")) if s]


def parse_leg(item: str, positional: tuple[str, ...] = LOAN_POSITIONAL) -> dict:
    """One leg (see :func:`parse_legs`). Raises LegSyntaxError."""
    if ":" in item and not _LEG_KEYWORD.search(item):
        tokens = _COLON.split(item.strip())      # ETH:12:0.83[:0.05] (holdings CSV style)
        if len(tokens) > 2 + len(positional):
            raise LegSyntaxError(item)
        leg = {"asset": asset_symbol(tokens[0])}
        for key, tok in zip(("quantity",) + tuple(positional), tokens[1:]):
            leg[key] = number_or_text(tok.strip().lstrip("@"))
        return {k: v for k, v in leg.items() if v is not None}
    tokens = item.replace(",", " ").split() if "," in item and " " not in item else item.split()
    leg = {"asset": asset_symbol(tokens[0])}
    rest = tokens[1:]
    if rest and (_is_number(rest[0]) or not (rest[0].startswith("@") or _LEG_OPT.match(rest[0]))):
        leg["quantity"] = number_or_text(rest[0])
        rest = rest[1:]
    positional = list(positional)
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
        key = LEG_OPTIONS[name]
        if key in positional:
            positional.remove(key)
        leg[key] = number_or_text(value)
        k += 1
    return leg


def parse_legs(text: str, positional: tuple[str, ...] = LOAN_POSITIONAL) -> list[dict]:
    """Leg text to leg dicts ``{"asset", "quantity"[, options]}``; numbers as floats where
    they read as one, else as typed.

    Legs are joined with ``;``, ``|`` or new lines. A leg is ``ASSET QUANTITY`` then
    options ``@LT0.83`` / ``LT=0.83`` / ``bonus=5%`` / ``@ratio0.9`` / ``@borrow5%`` /
    ``@supply2%`` (:data:`LEG_OPTIONS`) or bare values in ``positional`` order (a loan
    leg's threshold and bonus; an account collateral leg's ratio), or
    ``ASSET:QUANTITY[:positional...]``. Assets are normalised (:func:`normalize_symbol`).

    Raises
    ------
    LegSyntaxError
        A part that is not a leg.
    """
    return [parse_leg(item, positional) for item in split_legs(text)]


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
        for key, word in (("liquidation_threshold", "LT"), ("liquidation_bonus", "bonus"),
                          ("collateral_ratio", "ratio"), ("supply_apy", "supply"),
                          ("borrow_apy", "borrow")):
            if leg.get(key) is not None:
                text += f" @{word}{format_number(leg[key])}"
        parts.append(text)
    return "; ".join(parts)
