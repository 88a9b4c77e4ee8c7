"""Price history import: read price CSV files into one aligned :class:`PriceHistory`.

Modules: ``specs`` (which asset a file holds), ``history`` (the type), ``csv_reader``
(dialects and layouts), ``columns`` (time and price cells), ``loading`` (alignment).

Accepted layouts (detected from the header; delimiter ``,`` ``;`` or tab is sniffed,
header names are case-insensitive, whitespace, quotes and a UTF-8 BOM are stripped):

* **wide** -- ``date,BTC,ETH,...``: one close column per asset (``has_ohlc`` False).
  An empty cell means "no price for that asset at that time".
* **long** -- ``date,asset,open,high,low,close[,volume]``; the asset column may be called
  ``asset``, ``symbol``, ``ticker``, ``coin``, ``pair`` ...; symbols such as ``BTCUSDT``,
  ``BTC-USDT``, ``BTC/USD`` are normalised to ``BTC`` (see :func:`engine.parsing.normalize_symbol`).
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

from engine.parsing import normalize_symbol

from .history import PriceHistory
from .loading import load_price_history
from .specs import asset_from_filename, parse_prices_arg

__all__ = [
    "PriceHistory",
    "load_price_history",
    "parse_prices_arg",
    "asset_from_filename",
    "normalize_symbol",
]
