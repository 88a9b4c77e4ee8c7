"""Bybit: the v5 position list, ``GET /v5/position/list?category=linear`` (shape: Bybit API
v5 docs "Get Position Info", read 2026-02), the whole response or its ``result`` / ``list``.

* side ``Buy``/``Sell``, ``size`` in the base asset (USDT/USDC linear contracts);
* ``tradeMode`` 1 is isolated with margin ``positionBalance`` (Bybit's "position margin":
  initial margin plus added margin, the M of its isolated formula), else ``positionIM``;
  ``tradeMode`` 0 is cross: the account ``bybit``, whose wallet the list does not carry.
  The Unified account reports 0 for every position: an isolated one there is set to
  isolated by hand;
* maintenance from the bundled risk-limit table; for a symbol without one,
  ``positionMM / positionValue``;
* ``markPrice`` is today's price, ``liqPrice`` ("" = none) the venue's.
Inverse (coin-settled) and option positions are refused.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import Draft, Imported

VENUE = "bybit"
ACCOUNT = "bybit"
KIND = "Bybit v5 position list"
WALLET_MISSING = ("is not in a Bybit position list: type the account's wallet balance in USDT "
                  "(GET /v5/account/wallet-balance, totalWalletBalance). Bybit's Unified account "
                  "reports every position as cross (tradeMode 0): set an isolated one to "
                  "isolated with its margin instead")
_ITEM_KEYS = ("symbol", "side", "size", "avgPrice")


def _items(obj: Any) -> tuple[list | None, str | None, str]:
    """(position list, category, path prefix) of a Bybit response, or (None, None, '')."""
    if isinstance(obj, dict):
        if isinstance(obj.get("result"), dict):
            r = obj["result"]
            return (r.get("list") if isinstance(r.get("list"), list) else None,
                    r.get("category"), "result.list")
        if isinstance(obj.get("list"), list):
            return obj["list"], obj.get("category"), "list"
    if isinstance(obj, list):
        return obj, None, ""
    return None, None, ""


def sniff(obj: Any) -> str | None:
    items, _, _ = _items(obj)
    if (items and all(isinstance(x, dict) for x in items)
            and all(k in items[0] for k in _ITEM_KEYS)
            and ("positionIdx" in items[0] or "tradeMode" in items[0])):
        return KIND
    return None


def read(path: Path, obj: Any) -> Imported:
    draft = Draft(path, KIND)
    items, category, prefix = _items(obj)
    if str(category or "linear").lower() != "linear":
        raise draft.error("must be linear: CrashLab models USDT/USDC (linear) perps only",
                          "result.category", category)
    for i, row in enumerate(items):
        where = f"{prefix}[{i}]"
        size = draft.num(row.get("size"), f"{where}.size", nonnegative=True)
        if size == 0:
            continue
        raw_symbol = str(row.get("symbol", ""))
        if raw_symbol.upper().endswith("USD"):
            raise draft.error("is an inverse (coin-settled) contract: CrashLab models linear "
                              "perps only", f"{where}.symbol", raw_symbol)
        asset, mult = draft.symbol(raw_symbol, f"{where}.symbol")
        side = {"buy": "long", "sell": "short"}.get(str(row.get("side")).lower())
        if side is None:
            raise draft.error("must be Buy or Sell", f"{where}.side", row.get("side"))
        entry = draft.num(row.get("avgPrice"), f"{where}.avgPrice", positive=True)
        mark = draft.opt_price(row.get("markPrice"), f"{where}.markPrice")
        lp = draft.opt_price(row.get("liqPrice"), f"{where}.liqPrice")
        value = draft.num(row.get("positionValue"), f"{where}.positionValue", allow_none=True)
        mm = draft.num(row.get("positionMM"), f"{where}.positionMM", allow_none=True)
        mmr = mm / value if mm and value else None
        pid = f"bybit-{asset}" + ("" if row.get("positionIdx", 0) in (0, "0") else f"-{side}")
        mode = str(row.get("tradeMode", 0))
        if mode == "1":
            key = "positionBalance" if row.get("positionBalance") not in (None, "") else "positionIM"
            margin = draft.num(row.get(key), f"{where}.{key}", positive=True)
            draft.perp(pid, asset, mult, side, size, entry, venue=VENUE, mode="isolated",
                       margin=margin, mmr=mmr, mark=mark, venue_lp=lp)
        elif mode == "0":
            draft.account(ACCOUNT, VENUE, None, WALLET_MISSING)
            draft.perp(pid, asset, mult, side, size, entry, venue=VENUE, mode="cross",
                       account=ACCOUNT, mmr=mmr, mark=mark, venue_lp=lp)
        else:
            raise draft.error("must be 0 (cross) or 1 (isolated)", f"{where}.tradeMode",
                              row.get("tradeMode"))
    return draft.done(f"is a {KIND} in which every size is 0: no open positions to import")
