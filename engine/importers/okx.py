"""OKX: ``GET /api/v5/account/positions`` (shape: OKX API v5 docs "Get positions", read
2026-02), the whole response (``{"code": "0", "data": [...]}``) or its ``data`` list.

* ``pos`` counts contracts: the quantity is ``|pos|`` times the contract value (``ctVal``,
  not in this response): the bundled face value of the USDT swap where there is one, else
  ``notionalUsd / (|pos| * markPx)`` (the two must agree within 1 %);
* side from ``posSide`` long/short, or the sign of ``pos`` (``net`` mode);
* ``mgnMode`` isolated (margin ``margin``, USDT) or cross (the account ``okx``, whose
  balance the response does not carry);
* maintenance: the file's ``mmr`` (USD) over the position's notional, the venue's tier now
  (the bundled OKX table is a 2021 snapshot), plus OKX's taker fee in the formula;
* ``markPx`` is today's price, ``liqPx`` ("" = none) the venue's.
USDT/USDC-margined SWAP and FUTURES only: inverse (``BTC-USD-SWAP``), MARGIN and OPTION
positions are refused.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..venues import contract_value
from .base import Draft, Imported

VENUE = "okx"
ACCOUNT = "okx"
KIND = "OKX account positions"
WALLET_MISSING = ("is not in an OKX positions response: type the trading account's USDT "
                  "balance (GET /api/v5/account/balance, details[].cashBal)")


def _items(obj: Any) -> tuple[list | None, str]:
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        return obj["data"], "data"
    if isinstance(obj, list):
        return obj, ""
    return None, ""


def sniff(obj: Any) -> str | None:
    items, _ = _items(obj)
    if (items and all(isinstance(x, dict) for x in items)
            and all(k in items[0] for k in ("instId", "pos", "mgnMode"))):
        return KIND
    return None


def read(path: Path, obj: Any) -> Imported:
    draft = Draft(path, KIND)
    items, prefix = _items(obj)
    for i, row in enumerate(items):
        where = f"{prefix}[{i}]"
        pos = draft.num(row.get("pos"), f"{where}.pos")
        if pos == 0:
            continue
        inst_type = str(row.get("instType", "SWAP")).upper()
        inst = str(row.get("instId", ""))
        if inst_type not in ("SWAP", "FUTURES"):
            raise draft.error("must be SWAP or FUTURES: CrashLab models perps only",
                              f"{where}.instType", row.get("instType"))
        parts = inst.upper().split("-")
        if len(parts) < 3 or parts[1] not in ("USDT", "USDC"):
            raise draft.error("is not a USDT/USDC-margined contract (inverse contracts are "
                              "settled in the coin): CrashLab models linear perps only",
                              f"{where}.instId", inst)
        asset, mult = draft.symbol(inst, f"{where}.instId")
        entry = draft.num(row.get("avgPx"), f"{where}.avgPx", positive=True)
        mark = draft.opt_price(row.get("markPx"), f"{where}.markPx")
        lp = draft.opt_price(row.get("liqPx"), f"{where}.liqPx")
        notional = draft.num(row.get("notionalUsd"), f"{where}.notionalUsd", allow_none=True)
        ct = _contract_value(draft, asset, parts[1], abs(pos), mark, notional, where)
        qty = abs(pos) * ct
        pos_side = str(row.get("posSide", "net")).lower()
        side = pos_side if pos_side in ("long", "short") else ("long" if pos > 0 else "short")
        mm = draft.num(row.get("mmr"), f"{where}.mmr", allow_none=True)
        value = notional if notional else (qty * mark if mark else None)
        mmr = mm / value if mm and value else None
        pid = f"okx-{asset}" + ("" if pos_side == "net" else f"-{side}")
        mode = str(row.get("mgnMode", "")).lower()
        if mode == "isolated":
            margin = draft.num(row.get("margin"), f"{where}.margin", positive=True)
            draft.perp(pid, asset, mult, side, qty, entry, venue=VENUE, mode="isolated",
                       margin=margin, mmr=mmr, mark=mark, venue_lp=lp, mmr_first=True)
        elif mode == "cross":
            draft.account(ACCOUNT, VENUE, None, WALLET_MISSING)
            draft.perp(pid, asset, mult, side, qty, entry, venue=VENUE, mode="cross",
                       account=ACCOUNT, mmr=mmr, mark=mark, venue_lp=lp, mmr_first=True)
        else:
            raise draft.error("must be isolated or cross", f"{where}.mgnMode", row.get("mgnMode"))
    return draft.done(f"is an {KIND} response in which every pos is 0: no open positions "
                      "to import")


def _contract_value(draft: Draft, asset: str, quote: str, contracts: float,
                    mark: float | None, notional: float | None, where: str) -> float:
    """Base units per contract: the bundled face value (USDT swaps) checked against the
    file's notional, else the notional over contracts x mark."""
    derived = notional / (contracts * mark) if notional and mark else None
    bundled = contract_value(VENUE, asset) if quote == "USDT" else None
    if bundled is not None:
        if derived is not None and abs(derived / bundled - 1) > 0.01:
            raise draft.error(f"disagrees with the bundled contract value {bundled:g} {asset} "
                              f"(notionalUsd / (pos x markPx) = {derived:g})",
                              f"{where}.notionalUsd", notional)
        return bundled
    if derived is None:
        raise draft.error(f"the contract value of {asset}-{quote} is unknown and the position "
                          "has no notionalUsd and markPx to tell it", f"{where}.notionalUsd",
                          notional)
    draft.note(f"contract value of {asset}-{quote} taken as notionalUsd / (pos x markPx) = "
               f"{derived:.6g} {asset}", field_name=f"{where}.notionalUsd", value=notional)
    return float(f"{derived:.10g}")
