"""rotki: the balance snapshot CSV (Dashboard > Snapshots > Export:
``balances_snapshot.csv``, columns ``timestamp,category,asset[,asset_symbol],amount,
<currency>_value``; or the re-import form ``timestamp,category,asset_identifier,amount,
usd_value``). Shape: rotki ``rotkehlchen/db/snapshots.py`` and ``DBAssetBalance.serialize``
(read 2026-02).

* ``category`` asset rows are spot positions, summed per asset, quantity ``amount``;
* the asset is ``asset_symbol`` where given, else the identifier when it is a plain
  symbol (``ETH``); a contract identifier (``eip155:1/erc20:0x...``) without a symbol is
  an error; NFTs (``_nft_...``) are left out (noted);
* a ``usd_value`` column gives today's price (value / amount); a value in another currency
  (``eur_value``) gives none;
* the newest ``timestamp`` when the file holds several snapshots;
* ``liability`` rows are debts: a snapshot does not say what secures them, so they become
  one loan with those debt legs and no collateral, for the user to complete (the command
  line stops there with a message naming them; a loan needs its collateral and thresholds).
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

from ..errors import InputError
from .base import Draft, Imported

KIND = "rotki balance snapshot"
_VALUE = re.compile(r"^([a-z]{3,5})_value$")


def _cols(header: list[str]) -> dict[str, int]:
    return {h.strip().lower(): i for i, h in enumerate(header)}


def sniff(header: list[str]) -> str | None:
    cols = _cols(header)
    if ({"category", "amount"} <= set(cols) and ("asset" in cols or "asset_identifier" in cols)
            and any(_VALUE.match(c) for c in cols)):
        return KIND
    return None


def read(path: Path, header: list[str], rows: list[list[str]]) -> Imported:
    draft = Draft(path, KIND)
    cols = _cols(header)
    value_col = next(c for c in cols if _VALUE.match(c))
    usd = value_col == "usd_value"
    if not usd:
        draft.note(f"values are in {_VALUE.match(value_col).group(1).upper()} "
                   f"({value_col}): no USD prices are taken from them")
    stamps = [r[cols["timestamp"]].strip() for r in rows if "timestamp" in cols
              and cols["timestamp"] < len(r)]
    newest = max(stamps, key=_stamp_key) if stamps else None
    if stamps and len(set(stamps)) > 1:
        draft.note(f"the file holds {len(set(stamps))} snapshots: the newest ({newest}) is read")
    amounts: dict[tuple[str, str], list[float]] = defaultdict(list)
    values: dict[str, list[float]] = defaultdict(list)
    nfts = 0
    for n, row in enumerate(rows, start=2):
        def cell(name: str) -> str:
            i = cols.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""
        if newest is not None and cell("timestamp") != newest:
            continue
        where = f"row {n}"
        category = cell("category").lower()
        if category not in ("asset", "liability"):
            raise InputError("must be asset or liability", field="category",
                             value=cell("category"), source=f"{draft.source}:{where}")
        ident = cell("asset") or cell("asset_identifier")
        if ident.startswith("_nft_"):
            nfts += 1
            continue
        symbol = cell("asset_symbol") or ident
        if ":" in symbol or symbol.startswith("0x"):
            raise InputError("is a contract identifier without a symbol: export the snapshot "
                             "with rotki's asset_symbol column (balances_snapshot.csv)",
                             field="asset_identifier", value=ident,
                             source=f"{draft.source}:{where}")
        asset, mult = draft.symbol(symbol, f"{where}.asset")
        amount = draft.num(cell("amount"), f"{where}.amount", nonnegative=True)
        if amount == 0:
            continue
        amounts[(category, asset)].append(amount * mult)
        if usd:
            values[asset].append(draft.num(cell(value_col), f"{where}.{value_col}",
                                           nonnegative=True))
    if nfts:
        draft.note(f"{nfts} NFT row(s) left out: CrashLab prices coins, not NFTs")
    debts = []
    for (category, asset), qs in amounts.items():
        qty = math.fsum(qs)
        if category == "asset":
            draft.spot(f"rotki-{asset}", asset, qty)
        else:
            debts.append({"asset": asset, "quantity": qty})
        if values.get(asset) and qty > 0:
            # one price per asset: the value of every row of it over every amount
            total_qty = math.fsum(math.fsum(v) for (c, a), v in amounts.items() if a == asset)
            draft.mark(asset, math.fsum(values[asset]) / total_qty)
    if debts:
        loan = draft.loan("rotki-liabilities", [], debts)
        listed = ", ".join(f"{d['asset']} {d['quantity']:g}" for d in debts)
        draft.needs.append(InputError(
            f"the snapshot lists liabilities ({listed}) without what secures them: give the "
            "loan's collateral (asset, quantity, liquidation threshold), or import the "
            "lending protocol's own file (Aave v3 userReserves) instead",
            field="collateral", value=[], position=loan["id"], source=draft.source))
    return draft.done(f"is a {KIND} without any non-zero amount: nothing to import")


def _stamp_key(text: str):
    """Sort key of a timestamp written as epoch seconds or 'YYYY-MM-DD HH:MM:SS'."""
    return (0, float(text), "") if re.fullmatch(r"\d+(\.\d+)?", text) else (1, 0.0, text)
