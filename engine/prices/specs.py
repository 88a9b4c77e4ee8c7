"""Which asset a price file holds: ``ASSET=path`` arguments and symbols guessed from
file names (``BTC-USDT_1h.csv`` -> ``BTC``)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from engine.errors import InputError
from engine.parsing import QUOTE_CURRENCIES, normalize_symbol

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
    """Split a ``prices`` entry (the command line's ``--prices``) into ``(asset, path)``.

    ``"BTC=btc.csv"`` -> ``("BTC", "btc.csv")``; ``"btc.csv"`` -> ``(None, "btc.csv")``.
    Only a symbol-like prefix (letters, digits, ``-``, ``_``) before the first ``=`` is an
    asset, so ``C:\\data\\x.csv`` or ``./a=b.csv`` are plain paths; an argument that names
    an existing file is always a path.
    """
    if arg is None or not str(arg).strip():
        raise InputError("empty prices entry: expected ASSET=path or path",
                         field="prices", value=arg)
    arg = str(arg)
    m = _SPEC_RE.match(arg)
    if m is None or (os.path.isfile(arg) and not os.path.isfile(m.group(2).strip())):
        return None, arg.strip()
    asset_raw, path = m.group(1), m.group(2).strip()
    if not path:
        raise InputError(f"no file name after '=' in prices entry {arg!r}",
                         field="prices", value=arg)
    asset = normalize_symbol(asset_raw)
    if asset is None:
        raise InputError(f"{asset_raw!r} is not an asset symbol in prices entry {arg!r}",
                         field="prices", value=asset_raw)
    return asset, path
