"""Holdings CSV import: one row per position (and per cross account), mapped onto the
``crashlab.portfolio/1`` model.

Columns (header names are case-insensitive; common exchange-export aliases accepted)::

    id, kind, asset, side, quantity, entry_price, leverage, isolated_margin, margin_mode,
    account, venue, maintenance_margin_rate, maintenance_amount, cost_basis, price,
    collateral, debt, close_factor, liquidation_bonus, preset, wallet_balance

* ``kind`` is spot, perp, loan or account (an account row gives ``id``, ``wallet_balance``
  and optionally ``venue``). Without a kind column: rows with a side are perps, else spot.
* ``price`` sets today's price of the row's asset (the last row wins).
* loans: ``collateral`` = ``ETH:12:0.83`` (asset:quantity[:liquidation threshold[:bonus]]),
  several joined with ``|``; ``debt`` = ``USDC:18000``.
* symbols such as BTCUSDT, BTCEUR, BTC-PERP or ETH/USDT are reduced to the base asset
  (:func:`engine.parsing.normalize_symbol`); sides buy/sell
  map to long/short; percentages such as ``0.5%`` are read as fractions.

:func:`import_holdings_csv` raises an :class:`InputError` naming the file, row, column and
value for the first problem (the command line). :func:`read_holdings_csv` returns the rows
as a raw ``crashlab.portfolio/1`` dictionary, values as typed, so that an editor can open a
file with a bad row, mark the bad cells and keep every other row (the desktop app).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .errors import InputError
from .parsing import (LegSyntaxError, asset_symbol, number_or_text, parse_leg, point_notation,
                      split_legs)
from .portfolio import (Portfolio, account_from_dict, position_from_dict, printable_name,
                        read_text_file)

ALIASES = {
    "id": ("id", "name", "position", "position_id", "label"),
    "kind": ("kind", "type", "position_type", "instrument"),
    "asset": ("asset", "symbol", "coin", "ticker", "currency", "contract", "market"),
    "side": ("side", "direction", "position_side"),
    "quantity": ("quantity", "qty", "size", "amount", "position_size", "balance", "holdings"),
    "entry_price": ("entry_price", "entry", "avg_price", "average_price", "avg_entry_price",
                    "open_price", "entryprice"),
    "leverage": ("leverage", "lev"),
    "isolated_margin": ("isolated_margin", "margin", "position_margin"),
    "margin_mode": ("margin_mode", "margin_type", "mode"),
    "account": ("account", "account_id"),
    "venue": ("venue", "exchange"),
    "maintenance_margin_rate": ("maintenance_margin_rate", "mmr"),
    "maintenance_amount": ("maintenance_amount", "maintenance_deduction", "cum"),
    "cost_basis": ("cost_basis", "cost", "avg_cost", "purchase_price", "buy_price"),
    "price": ("price", "mark_price", "current_price", "last_price", "mark"),
    "collateral": ("collateral",),
    "debt": ("debt", "borrowed", "borrow"),
    "close_factor": ("close_factor",),
    "liquidation_bonus": ("liquidation_bonus", "bonus"),
    "preset": ("preset", "protocol"),
    "wallet_balance": ("wallet_balance", "wallet"),
}
_SIDES = {"long": "long", "buy": "long", "short": "short", "sell": "short", "l": "long", "s": "short"}
_KIND_ALIASES = {"spot": "spot", "wallet": "spot", "coin": "spot", "perp": "perp", "perpetual": "perp",
                 "future": "perp", "futures": "perp", "swap": "perp", "loan": "loan", "borrow": "loan",
                 "account": "account", "cross_account": "account"}


def _legs(text: str, column: str, where: str, strict: bool = True) -> list[dict]:
    """A collateral/debt cell as leg dicts (:func:`engine.parsing.parse_leg`). Tolerant
    (``strict`` False): a part that is not a leg is kept as ``{"asset": part}`` for the
    editor to mark."""
    legs = []
    for part in split_legs(text):
        try:
            leg = parse_leg(part)
            if strict and "quantity" not in leg:
                raise LegSyntaxError(part)
        except LegSyntaxError:
            if strict:
                raise InputError("must look like ASSET:QUANTITY[:LT[:BONUS]], several joined "
                                 "with |", field=column, value=part, source=where) from None
            leg = {"asset": part}
        legs.append(leg)
    return legs


def import_holdings_csv(path: str | Path, text: str | None = None) -> Portfolio:
    """Read a holdings CSV into a Portfolio (not validated across fields: see
    check_portfolio). Raises InputError naming the file, row, column and value."""
    raw, parsed = _read(path, text, strict=True)
    accounts, positions = parsed["accounts"], parsed["positions"]
    from .portfolio import _number  # shared number parsing
    name = Path(path).name
    prices = {a: _number(v, field=f"price ({a})", position=None, positive=True, source=name)
              for a, v in raw["prices"].items()}
    return Portfolio(name=raw["name"], prices=prices, accounts=accounts, positions=positions)


def read_holdings_csv(path: str | Path, text: str | None = None) -> dict:
    """The rows of a holdings CSV as a raw ``crashlab.portfolio/1`` dictionary, values as
    typed (strings), nothing parsed beyond the column mapping: a row with a bad value is
    kept for an editor to mark. Raises InputError only when the file as a whole cannot be
    read (missing, not text, empty, no asset column, no rows)."""
    return _read(path, text, strict=False)[0]


def _read(path, text, strict: bool):
    path = Path(path)
    if text is None:
        if not path.exists():
            raise InputError("file not found", field="path", value=str(path))
        text = read_text_file(path)
    if not text.strip():
        raise InputError("the file is empty", field="path", value=str(path))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:            # a cell beyond the csv module's field limit
        raise InputError(f"cannot be read as CSV: {exc} (line {reader.line_num})", field="path",
                         value=str(path)) from None
    if not rows:
        raise InputError("has no filled cells", field="path", value=str(path))
    if dialect.delimiter == ";":
        # ';'-separated exports use the decimal comma: 0,5 -> 0.5 and 1.234,5 -> 1234.5
        # (a number without a comma is read as written)
        rows = [[point_notation(c) for c in r] for r in rows]
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    col: dict[str, int] = {}
    for canon, names in ALIASES.items():
        for i, h in enumerate(header):
            if h in names and canon not in col:
                col[canon] = i
    if "asset" not in col and "collateral" not in col and "wallet_balance" not in col:
        raise InputError("no asset/symbol column found; expected a header such as "
                         "id,kind,asset,side,quantity,entry_price,leverage", field="header",
                         value=",".join(rows[0]), source=path.name)
    prices: dict[str, object] = {}
    positions, accounts = [], []
    parsed = {"positions": [], "accounts": []}     # strict: rows parsed as read (file order)
    for n, raw in enumerate(rows[1:], start=2):
        where = f"{path.name}:row {n}"

        def get(name):
            i = col.get(name)
            if i is None or i >= len(raw):
                return None
            v = raw[i].strip()
            return v if v != "" else None

        kind = get("kind")
        if kind is not None:
            k = _KIND_ALIASES.get(kind.lower().replace(" ", "_"))
            if k is None and strict:
                raise InputError("must be spot, perp, loan or account", field="kind", value=kind,
                                 source=where)
            kind = k or kind                   # tolerant: kept as typed, marked by the editor
        else:
            kind = "loan" if get("collateral") else ("perp" if get("side") else "spot")
        if kind == "account":
            acc = {"id": get("id"), "wallet_balance": get("wallet_balance") or get("quantity")}
            if get("venue"):
                acc["venue"] = get("venue").lower()
            if strict:
                parsed["accounts"].append(account_from_dict(acc, len(accounts), where))
            accounts.append(acc)
            continue
        pid = get("id") or f"{kind}-{n - 1}"
        d: dict[str, object] = {"id": pid, "kind": kind}
        if kind == "loan":
            d["collateral"] = _legs(get("collateral") or "", "collateral", where, strict)
            d["debt"] = _legs(get("debt") or "", "debt", where, strict)
            for key in ("close_factor", "liquidation_bonus"):
                if get(key) is not None:
                    d[key] = get(key)
            if get("preset"):
                d["preset"] = get("preset").lower()
        else:
            asset = get("asset")
            d["asset"] = asset_symbol(asset) if asset else asset
            d["quantity"] = get("quantity")
            if d["quantity"] is not None and d["quantity"].startswith("-") and kind == "perp" and not get("side"):
                d["quantity"] = d["quantity"][1:]
                d["side"] = "short"
            if kind == "spot":
                if get("cost_basis") is not None:
                    d["cost_basis"] = get("cost_basis")
            else:
                side = get("side")
                if side is not None:
                    d["side"] = _SIDES.get(side.lower(), side)
                elif "side" not in d:
                    d["side"] = "long"
                for key in ("entry_price", "leverage", "isolated_margin", "account",
                            "maintenance_margin_rate", "maintenance_amount"):
                    if get(key) is not None:
                        d[key] = get(key)
                if get("venue"):
                    d["venue"] = get("venue").lower()
                mode = get("margin_mode")
                if mode:
                    d["margin_mode"] = mode.lower()
                elif get("account"):
                    d["margin_mode"] = "cross"
            if get("price") is not None and d.get("asset"):
                prices[d["asset"]] = get("price")
        if strict:
            parsed["positions"].append(position_from_dict(d, len(positions), where))
        positions.append(d)
    if not positions and not accounts:
        raise InputError("holds no positions", field="rows", value=0, source=path.name)
    if not strict:                              # numbers as numbers where they read as one
        prices = {a: number_or_text(v) for a, v in prices.items()}
        for acc in accounts:
            acc["wallet_balance"] = number_or_text(acc.get("wallet_balance"))
    raw_portfolio = {"format": "crashlab.portfolio/1", "name": printable_name(path.stem), "prices": prices,
                     "accounts": accounts, "positions": positions}
    return raw_portfolio, parsed
