"""Hyperliquid: the info endpoint's ``clearinghouseState`` (perps) and
``spotClearinghouseState`` (spot balances), as ``POST https://api.hyperliquid.xyz/info``
answers them (shape: Hyperliquid API docs, "Retrieve user's perpetuals account summary" and
"Retrieve a user's token balances", read 2026-02).

Perps (``assetPositions[].position``):

* side and size from the signed ``szi``; ``coin`` ``kPEPE`` is 1000 PEPE;
* isolated (``leverage.type``): margin = ``leverage.rawUsd + szi * entryPx`` (the raw USD
  balance of the position plus its entry notional: equity = rawUsd + szi * mark);
* cross: one account ``hyperliquid`` whose wallet is ``crossMarginSummary.accountValue``
  less the cross positions' ``unrealizedPnl`` (the model adds P&L back at each price);
  the account is kept with no cross position too (idle USDC is part of the book);
* maintenance: half the initial margin at ``maxLeverage`` (1 / (2 maxLeverage)); where the
  file's maxLeverage differs from the bundled tier table (it changes over time), the
  file's rate is used;
* today's price: ``positionValue / |szi|`` (the mark); ``liquidationPx`` is kept as the
  venue's liquidation price.

Spot (``balances[]``): one spot position per coin with a non-zero ``total``; cost basis
``entryNtl / total``. The file has no spot prices (except USDC, a stablecoin).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..venues import tier_table
from .base import Draft, Imported

VENUE = "hyperliquid"
ACCOUNT = "hyperliquid"
PERP_KIND = "Hyperliquid clearinghouseState"
SPOT_KIND = "Hyperliquid spotClearinghouseState"


def _perp_state(obj: Any) -> dict | None:
    if isinstance(obj, dict):
        if "assetPositions" in obj and ("marginSummary" in obj or "crossMarginSummary" in obj):
            return obj
        inner = obj.get("clearinghouseState")
        if isinstance(inner, dict) and "assetPositions" in inner:
            return inner
    return None


def _spot_state(obj: Any) -> dict | None:
    if isinstance(obj, dict):
        b = obj.get("balances")
        if isinstance(b, list) and b and all(isinstance(x, dict) and "coin" in x and "total" in x
                                             for x in b):
            return obj
        for key in ("spotClearinghouseState", "spotState"):
            inner = obj.get(key)
            if isinstance(inner, dict) and _spot_state(inner) is not None:
                return inner
    return None


def sniff(obj: Any) -> str | None:
    """The kind of a Hyperliquid file, or None."""
    perp, spot = _perp_state(obj), _spot_state(obj)
    if perp is not None and spot is not None:
        return f"{PERP_KIND} + {SPOT_KIND}"
    return PERP_KIND if perp is not None else (SPOT_KIND if spot is not None else None)


def read(path: Path, obj: Any) -> Imported:
    draft = Draft(path, sniff(obj) or PERP_KIND)
    perp = _perp_state(obj)
    if perp is not None:
        _read_perps(draft, perp, "clearinghouseState." if perp is not obj else "")
    spot = _spot_state(obj)
    if spot is not None:
        _read_spot(draft, spot, "spotState." if spot is not obj else "")
    return draft.done()


def _read_perps(draft: Draft, state: dict, prefix: str) -> None:
    items = state.get("assetPositions")
    if not isinstance(items, list):
        raise draft.error("must be a list", f"{prefix}assetPositions", items)
    cross_upnl = 0.0
    cross = False
    for i, item in enumerate(items):
        where = f"{prefix}assetPositions[{i}].position"
        pos = item.get("position") if isinstance(item, dict) else None
        if not isinstance(pos, dict):
            raise draft.error("must be an object", where, pos)
        szi = draft.num(pos.get("szi"), f"{where}.szi")
        if szi == 0:
            continue
        asset, mult = draft.symbol(pos.get("coin"), f"{where}.coin")
        entry = draft.num(pos.get("entryPx"), f"{where}.entryPx", positive=True)
        lev = pos.get("leverage")
        if not isinstance(lev, dict) or lev.get("type") not in ("cross", "isolated"):
            raise draft.error("must be {type: cross|isolated, value, rawUsd}", f"{where}.leverage",
                              lev)
        value = draft.num(pos.get("positionValue"), f"{where}.positionValue", allow_none=True)
        mark = abs(value / szi) if value else None
        max_lev = draft.num(pos.get("maxLeverage"), f"{where}.maxLeverage", positive=True)
        mmr = 1.0 / (2.0 * max_lev)
        table = tier_table(VENUE, asset)
        differs = table is not None and abs(table.mmr[0] - mmr) > 1e-12
        side = "long" if szi > 0 else "short"
        lp = draft.opt_price(pos.get("liquidationPx"), f"{where}.liquidationPx")
        if lev["type"] == "isolated":
            raw_usd = draft.num(lev.get("rawUsd"), f"{where}.leverage.rawUsd")
            draft.perp(f"hl-{asset}", asset, mult, side, abs(szi), entry, venue=VENUE,
                       mode="isolated", margin=raw_usd + szi * entry, mmr=mmr, mark=mark,
                       venue_lp=lp, mmr_first=differs)
        else:
            cross = True
            cross_upnl += draft.num(pos.get("unrealizedPnl", 0), f"{where}.unrealizedPnl")
            draft.perp(f"hl-{asset}", asset, mult, side, abs(szi), entry, venue=VENUE,
                       mode="cross", account=ACCOUNT, mmr=mmr, mark=mark, venue_lp=lp,
                       mmr_first=differs)
        if differs:
            draft.note(f"maxLeverage {max_lev:g} in the file, {table.max_leverage[0]:g} in the "
                       f"bundled {VENUE} tier table for {asset}: the file's (maintenance "
                       f"{mmr:.3%}) is used", position=draft.positions[-1]["id"],
                       field_name=f"{where}.maxLeverage", value=max_lev)
    summary = state.get("crossMarginSummary")
    if summary is None and not cross:
        return
    if not isinstance(summary, dict):
        raise draft.error("is needed for cross positions", f"{prefix}crossMarginSummary", summary)
    value = draft.num(summary.get("accountValue"), f"{prefix}crossMarginSummary.accountValue")
    if value > 0 or cross:           # idle USDC in the perp account is the user's money too
        draft.account(ACCOUNT, VENUE, value - cross_upnl)
        draft.note(f"cross account wallet = accountValue {value:,.2f} less the cross "
                   f"positions' unrealised P&L {cross_upnl:,.2f}", position=ACCOUNT,
                   field_name="wallet_balance", value=value - cross_upnl)


def _read_spot(draft: Draft, state: dict, prefix: str) -> None:
    for i, bal in enumerate(state["balances"]):
        where = f"{prefix}balances[{i}]"
        total = draft.num(bal.get("total"), f"{where}.total", nonnegative=True)
        if total == 0:
            continue
        asset, mult = draft.symbol(bal.get("coin"), f"{where}.coin")
        ntl = draft.num(bal.get("entryNtl"), f"{where}.entryNtl", allow_none=True)
        draft.spot(f"hl-spot-{asset}", asset, total * mult,
                   cost_basis=ntl / (total * mult) if ntl else None)
