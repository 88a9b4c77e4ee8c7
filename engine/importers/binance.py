"""Binance: the USDⓈ-M futures ``positionRisk`` list and the "Transaction History" CSV.

``positionRisk`` (``GET /fapi/v2/positionRisk`` or ``/fapi/v3/positionRisk``; shape:
Binance USDⓈ-M Futures API docs "Position Information V2/V3", read 2026-02): one row per
symbol (and side in hedge mode):

* side from the signed ``positionAmt`` (one-way, ``positionSide`` BOTH) or from
  ``positionSide`` LONG/SHORT (hedge mode); rows with ``positionAmt`` 0 are skipped;
* ``marginType`` isolated/cross (V3 has none: isolated where ``isolatedWallet`` > 0);
  isolated margin = ``isolatedWallet`` (the WB of Binance's formula);
* cross positions share the account ``binance-usdm``, whose wallet the file does not
  carry: the Transaction History CSV gives it (combine the two files);
* maintenance from the bundled tier table; for a symbol without one, V3's
  ``maintMargin / |notional|``;
* ``markPrice`` is today's price, ``liquidationPrice`` (0 = none) the venue's.

Transaction History CSV (Wallet > Transaction History > Export;
``User_ID,UTC_Time,Account,Operation,Coin,Change,Remark``): every ``Change`` summed per
account and coin. The ``USDT-Futures`` stablecoins are the wallet of the cross account
``binance-usdm``; every other balance is a spot position. The sums are balances only if the
export starts at the account's first transaction: a negative sum is an error.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..errors import InputError
from .base import Draft, Imported

VENUE = "binance"
ACCOUNT = "binance-usdm"
RISK_KIND = "Binance USDⓈ-M positionRisk"
HISTORY_KIND = "Binance Transaction History"
HISTORY_COLUMNS = ("user_id", "utc_time", "account", "operation", "coin", "change")
FUTURES_ACCOUNTS = ("usdt-futures", "usdⓢ-m futures", "usds-m futures", "um futures")
MARGIN_ACCOUNTS = ("cross margin", "isolated margin", "margin")
_LOAN_OPS = re.compile(r"loan|borrow|repay", re.IGNORECASE)
WALLET_MISSING = ("is not in a positionRisk file (Binance gives the cross wallet elsewhere): "
                  "import the Transaction History CSV into the same book (its USDT-Futures "
                  "balance is this wallet), or type the wallet balance in USDT")


# --------------------------------------------------------------------------- positionRisk
def sniff_position_risk(obj: Any) -> str | None:
    if (isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj)
            and "positionAmt" in obj[0] and "symbol" in obj[0]):
        return RISK_KIND
    return None


def read_position_risk(path: Path, rows: list[dict]) -> Imported:
    draft = Draft(path, RISK_KIND)
    for i, row in enumerate(rows):
        where = f"[{i}]"
        amt = draft.num(row.get("positionAmt"), f"{where}.positionAmt")
        if amt == 0:
            continue
        raw_symbol = str(row.get("symbol", ""))
        if "_" in raw_symbol and re.search(r"USD_(PERP|\d{6})$", raw_symbol):
            raise draft.error("is a COIN-M (inverse, coin-settled) contract: CrashLab models "
                              "USDⓈ-M (linear) perps only", f"{where}.symbol", raw_symbol)
        asset, mult = draft.symbol(raw_symbol, f"{where}.symbol")
        ps = str(row.get("positionSide", "BOTH")).upper()
        if ps in ("LONG", "SHORT"):
            side = ps.lower()
        elif ps == "BOTH":
            side = "long" if amt > 0 else "short"
        else:
            raise draft.error("must be BOTH, LONG or SHORT", f"{where}.positionSide",
                              row.get("positionSide"))
        entry = draft.num(row.get("entryPrice"), f"{where}.entryPrice", positive=True)
        mark = draft.opt_price(row.get("markPrice"), f"{where}.markPrice")
        lp = draft.opt_price(row.get("liquidationPrice"), f"{where}.liquidationPrice")
        wallet = draft.num(row.get("isolatedWallet", 0), f"{where}.isolatedWallet",
                           nonnegative=True)
        mode = str(row.get("marginType") or ("isolated" if wallet > 0 else "cross")).lower()
        if mode not in ("isolated", "cross"):
            raise draft.error("must be isolated or cross", f"{where}.marginType",
                              row.get("marginType"))
        notional = draft.num(row.get("notional"), f"{where}.notional", allow_none=True)
        maint = draft.num(row.get("maintMargin"), f"{where}.maintMargin", allow_none=True)
        mmr = maint / abs(notional) if maint and notional else None
        pid = f"binance-{asset}" + ("" if ps == "BOTH" else f"-{side}")
        if mode == "isolated":
            if wallet <= 0:
                raise draft.error("must be greater than 0 for an isolated position",
                                  f"{where}.isolatedWallet", row.get("isolatedWallet"))
            draft.perp(pid, asset, mult, side, abs(amt), entry, venue=VENUE, mode="isolated",
                       margin=wallet, mmr=mmr, mark=mark, venue_lp=lp)
        else:
            draft.account(ACCOUNT, VENUE, None, WALLET_MISSING)
            draft.perp(pid, asset, mult, side, abs(amt), entry, venue=VENUE, mode="cross",
                       account=ACCOUNT, mmr=mmr, mark=mark, venue_lp=lp)
    return draft.done(f"is a {RISK_KIND} list in which every positionAmt is 0: no open "
                      "positions to import")


# --------------------------------------------------------------------------- transaction history
def sniff_history(header: list[str]) -> str | None:
    cols = [h.strip().lower() for h in header]
    return HISTORY_KIND if all(c in cols for c in HISTORY_COLUMNS) else None


def read_history(path: Path, header: list[str], rows: list[list[str]]) -> Imported:
    from ..scenarios import stablecoins
    draft = Draft(path, HISTORY_KIND)
    cols = {h.strip().lower(): i for i, h in enumerate(header)}
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    debt: dict[str, list[float]] = defaultdict(list)       # margin account: loans - repayments
    for n, row in enumerate(rows, start=2):
        def cell(name: str) -> str:
            i = cols[name]
            return row[i].strip() if i < len(row) else ""
        account, coin = cell("account"), cell("coin")
        if not account or not coin:
            raise InputError("needs an Account and a Coin", field="Account", value=account,
                             source=f"{draft.source}:row {n}")
        change = draft.num(cell("change"), f"row {n}: Change")
        sums[(account, coin)].append(change)
        if _LOAN_OPS.search(cell("operation")) and account.lower() in MARGIN_ACCOUNTS:
            debt[f"{coin} in the {account} account"].append(change)
    for what, changes in debt.items():
        owed = math.fsum(changes)
        if abs(owed) > 1e-9:
            raise InputError(
                f"{what} has {owed:g} borrowed and not repaid: a margin loan is no balance "
                "CrashLab reads from this file; export without the margin account and add the "
                "loan by hand", field="Operation", value=what, source=draft.source)
    stables = set(stablecoins())
    wallet = 0.0
    has_futures = False
    for (account, coin), changes in sums.items():
        balance = math.fsum(changes)
        if abs(balance) < 1e-9:
            continue
        if balance < 0:
            raise InputError(
                f"the changes of {coin} in the {account} account sum to {balance:g}: the export "
                "does not start at the account's first transaction, so its sums are no "
                "balances (export the whole history)", field="Change", value=balance,
                source=draft.source)
        asset, mult = draft.symbol(coin, f"Coin {coin!r}")
        if account.lower() in FUTURES_ACCOUNTS and asset in stables:
            wallet += balance * mult
            has_futures = True
            continue
        slug = re.sub(r"[^a-z0-9]+", "-", account.lower()).strip("-")
        draft.spot(f"binance-{slug}-{asset}", asset, balance * mult)
    if has_futures:
        draft.account(ACCOUNT, VENUE, wallet)
        draft.note(f"the USDT-Futures stablecoins ({wallet:,.2f} USD) are the wallet of the "
                   f"cross account {ACCOUNT!r}", position=ACCOUNT, field_name="wallet_balance",
                   value=wallet)
    draft.note("balances are the sums of Change per account and coin: right only if the "
               "export covers the account from its first transaction")
    return draft.done(f"is a {HISTORY_KIND} export whose changes sum to zero for every "
                      "account and coin: no balances to import")
