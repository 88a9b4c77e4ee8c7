"""Import the files users have: each venue's own export, recognised by content.

* :func:`import_file` -- any known file as a ``crashlab.portfolio/1`` dictionary
  (:class:`Imported`: the book, what the file is, notes, what it lacks);
* :func:`sniff_file` -- what a file is (portfolio or price history), for a drop;
* :func:`merge_books` -- several books into one (ids made unique, sources kept, prices
  merged, accounts combined or kept apart).

One module per source: :mod:`.hyperliquid`, :mod:`.ccxt`, :mod:`.binance` (positionRisk
and Transaction History), :mod:`.bybit`, :mod:`.okx`, :mod:`.rotki`, :mod:`.aave_subgraph`;
:mod:`.detect` dispatches, :mod:`.base` holds what they share, :mod:`.merge` combines.
"""
from .base import SOURCE_KEY, VENUE_LP_KEY, Imported
from .detect import FORMATS_HELP, OWN_CSV, OWN_JSON, Sniffed, import_file, sniff_file
from .merge import merge_books

__all__ = ["FORMATS_HELP", "Imported", "OWN_CSV", "OWN_JSON", "SOURCE_KEY", "Sniffed",
           "VENUE_LP_KEY", "import_file", "merge_books", "sniff_file"]
