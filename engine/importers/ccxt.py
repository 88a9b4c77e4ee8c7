"""ccxt unified positions: the output of ``exchange.fetch_positions()`` saved as a JSON list,
or as a CSV with one column per field (``pandas.DataFrame(positions).to_csv``). Shape: the
ccxt Manual, "Position structure" (read 2026-02).

* quantity = ``contracts * contractSize`` (base units, linear contracts), side
  ``long``/``short``, symbol ``BTC/USDT:USDT`` (base/quote:settle; ``1000PEPE/USDT:USDT``
  is 1000 PEPE);
* ``marginMode`` isolated/cross (or the ``isolated`` flag); isolated margin =
  ``collateral - unrealizedPnl`` (ccxt's collateral is the margin the position can lose,
  P&L included), else ``initialMargin``. Here ``collateral`` is a number, never a loan;
* the venue is told from the raw ``info`` the exchange sent (Binance ``positionAmt``,
  Bybit ``positionIdx``, OKX ``instId``, Hyperliquid ``szi``): its tier table and formula
  apply; otherwise ``maintenanceMarginPercentage`` is the maintenance rate;
* cross positions share the venue's account (``binance-usdm``, ``bybit``, ``okx``,
  ``hyperliquid``, else ``ccxt``), whose wallet the file does not carry;
* ``markPrice`` is today's price, ``liquidationPrice`` the venue's.
Inverse (coin-settled, ``BTC/USD:BTC``) positions are refused.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .base import Draft, Imported

KIND = "ccxt unified positions"
CSV_KIND = "ccxt unified positions (CSV)"
_REQUIRED = ("symbol", "contracts")
_VENUE_MARKERS = (("positionAmt", "binance"), ("positionIdx", "bybit"), ("instId", "okx"),
                  ("szi", "hyperliquid"))
ACCOUNTS = {"binance": "binance-usdm", "bybit": "bybit", "okx": "okx",
            "hyperliquid": "hyperliquid", None: "ccxt"}
WALLET_MISSING = ("is not in ccxt positions: type the cross account's wallet balance (ccxt "
                  "fetch_balance, the settle currency's total), or import the venue's own "
                  "balance file into the same book")
_UNIFIED = re.compile(r"^[^/]+/(?P<quote>[^:]+):(?P<settle>[A-Za-z0-9]+)")


def sniff(obj: Any) -> str | None:
    if (isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj)
            and all(k in obj[0] for k in _REQUIRED)
            and ("contractSize" in obj[0] or "marginMode" in obj[0])):
        return KIND
    return None


def sniff_csv(header: list[str]) -> str | None:
    cols = {h.strip().lower() for h in header}
    return CSV_KIND if {"symbol", "contracts", "contractsize"} <= cols else None


def read_csv(path: Path, header: list[str], rows: list[list[str]]) -> Imported:
    names = [h.strip() for h in header]
    canon = {n.lower(): n for n in ("symbol", "contracts", "contractSize", "side", "entryPrice",
                                    "markPrice", "liquidationPrice", "marginMode", "isolated",
                                    "collateral", "unrealizedPnl", "initialMargin",
                                    "maintenanceMarginPercentage", "leverage", "info")}
    records = [{canon.get(n.lower(), n): (r[i].strip() if i < len(r) else "")
                for i, n in enumerate(names)} for r in rows]
    return read(path, records, CSV_KIND, row_offset=2)


def _venue(info: Any) -> str | None:
    text = info if isinstance(info, str) else repr(info)
    for marker, venue in _VENUE_MARKERS:
        if f"'{marker}'" in text or f'"{marker}"' in text:
            return venue
    return None


def read(path: Path, rows: list[dict], kind: str = KIND, row_offset: int = 0) -> Imported:
    draft = Draft(path, kind)
    for i, row in enumerate(rows):
        where = f"row {i + row_offset}" if row_offset else f"[{i}]"
        contracts = draft.num(row.get("contracts"), f"{where}.contracts", nonnegative=True,
                              allow_none=True)
        if not contracts:
            continue
        symbol = str(row.get("symbol", ""))
        m = _UNIFIED.match(symbol)
        if m and m.group("settle").upper() not in ("USDT", "USDC", "USD", "FDUSD", "BUSD"):
            raise draft.error("is an inverse (coin-settled) contract: CrashLab models linear "
                              "perps only", f"{where}.symbol", symbol)
        if m and m.group("settle").upper() == "USD" and m.group("quote").upper() == "USD":
            raise draft.error("is an inverse (USD-quoted, coin-margined) contract: CrashLab "
                              "models linear perps only", f"{where}.symbol", symbol)
        asset, mult = draft.symbol(symbol, f"{where}.symbol")
        size = draft.num(row.get("contractSize") or 1, f"{where}.contractSize", positive=True)
        side = str(row.get("side", "")).lower()
        if side not in ("long", "short"):
            raise draft.error("must be long or short", f"{where}.side", row.get("side"))
        entry = draft.num(row.get("entryPrice"), f"{where}.entryPrice", positive=True)
        mark = draft.opt_price(row.get("markPrice"), f"{where}.markPrice")
        lp = draft.opt_price(row.get("liquidationPrice"), f"{where}.liquidationPrice")
        mmr = draft.num(row.get("maintenanceMarginPercentage"),
                        f"{where}.maintenanceMarginPercentage", allow_none=True)
        venue = _venue(row.get("info"))
        mode = str(row.get("marginMode") or "").lower()
        if not mode and row.get("isolated") not in (None, ""):
            mode = "isolated" if str(row["isolated"]).lower() in ("true", "1") else "cross"
        pid = f"{venue or 'ccxt'}-{asset}"
        qty = contracts * size
        if mode == "isolated":
            collateral = draft.num(row.get("collateral"), f"{where}.collateral", allow_none=True)
            upnl = draft.num(row.get("unrealizedPnl"), f"{where}.unrealizedPnl", allow_none=True)
            if collateral is not None and upnl is not None:
                margin = collateral - upnl
            else:
                margin = draft.num(row.get("initialMargin"), f"{where}.initialMargin",
                                   positive=True)
            draft.perp(pid, asset, mult, side, qty, entry, venue=venue, mode="isolated",
                       margin=margin, mmr=mmr or None, mark=mark, venue_lp=lp)
        elif mode == "cross":
            account = draft.account(ACCOUNTS[venue], venue, None, WALLET_MISSING)
            draft.perp(pid, asset, mult, side, qty, entry, venue=venue, mode="cross",
                       account=account, mmr=mmr or None, mark=mark, venue_lp=lp)
        else:
            raise draft.error("must be isolated or cross", f"{where}.marginMode",
                              row.get("marginMode"))
    return draft.done(f"is a {kind} list in which every contracts is 0: no open positions "
                      "to import")
