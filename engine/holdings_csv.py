"""Holdings CSV import: one row per position (and per cross account), mapped onto the
``crashlab.portfolio/1`` model.

Columns (header names are case-insensitive; common exchange-export aliases accepted)::

    id, kind, asset, side, quantity, entry_price, leverage, isolated_margin, margin_mode,
    account, venue, maintenance_margin_rate, maintenance_amount, cost_basis, price,
    collateral, debt, close_factor, liquidation_bonus, preset, wallet_balance,
    contract_type, contract_size, funding_rate, funding_interval_hours

* ``kind`` is spot, perp, loan or account (an account row gives ``id``, ``wallet_balance``
  and optionally ``venue`` and ``collateral``). Without a kind column: rows with a side are
  perps, else spot.
* ``price`` sets today's price of the row's asset (the last row wins).
* loans: ``collateral`` = ``ETH:12:0.83`` (asset:quantity[:liquidation threshold[:bonus]]),
  several joined with ``|``; ``debt`` = ``USDC:18000``; rates as options: ``USDC 18000
  @borrow5%``, ``ETH 12 @LT0.83 @supply2%``. A row is a loan without a kind column only
  when its collateral reads as such a leg: a bare number in a ``collateral`` column (a margin
  figure in exchange exports) is an error, never a loan.
* accounts: ``collateral`` = ``USDE:10000:0.9|BTC:0.1`` (asset:quantity[:collateral ratio]).
* perps: ``contract_type`` linear or inverse (coin-margined: quantity in contracts of
  ``contract_size`` USD); ``funding_rate`` per ``funding_interval_hours``.
* symbols such as BTCUSDT, BTCEUR, BTC-PERP, BTC-USDT-SWAP or BTC/USDT:USDT are reduced to
  the base asset (:func:`engine.parsing.normalize_symbol`); 1000x contract names (``kPEPE``,
  ``1000PEPEUSDT``) become the asset with quantity, entry price, price and cost basis
  scaled by 1000 (:func:`engine.parsing.split_multiplier`); sides buy/sell map to
  long/short; percentages such as ``0.5%`` are read as fractions.
* ``currency`` is not an asset column (portfolio trackers use it for the quote currency).
* numbers use the decimal point or the decimal comma as the file's unambiguous cells show
  (:func:`engine.parsing.file_uses_decimal_comma`).

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
from .parsing import (COLLATERAL_POSITIONAL, LOAN_POSITIONAL, DecimalConventionError,
                      LegSyntaxError, asset_symbol, file_uses_decimal_comma, number_or_text,
                      parse_leg, parse_number, point_notation, split_legs, split_multiplier)
from .portfolio import (Portfolio, account_from_dict, position_from_dict, printable_name,
                        read_text_file)

ALIASES = {
    "id": ("id", "name", "position", "position_id", "label"),
    "kind": ("kind", "type", "position_type", "instrument"),
    "asset": ("asset", "symbol", "coin", "ticker", "contract", "market"),
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
    "contract": ("contract_type", "contract_kind"),
    "contract_size": ("contract_size", "contract_value"),
    "funding_rate": ("funding_rate", "funding"),
    "funding_interval_hours": ("funding_interval_hours", "funding_interval"),
}
_TEXT_FIELDS = ("id", "kind", "asset", "side", "margin_mode", "account", "venue", "preset")
_SCALED_BY_MULTIPLIER = {"quantity": 1, "entry_price": -1, "price": -1, "cost_basis": -1}
_SIDES = {"long": "long", "buy": "long", "short": "short", "sell": "short", "l": "long", "s": "short"}
_KIND_ALIASES = {"spot": "spot", "wallet": "spot", "coin": "spot", "perp": "perp", "perpetual": "perp",
                 "future": "perp", "futures": "perp", "swap": "perp", "loan": "loan", "borrow": "loan",
                 "account": "account", "cross_account": "account"}


def _legs(text: str, column: str, where: str, strict: bool = True,
          positional: tuple[str, ...] = LOAN_POSITIONAL) -> list[dict]:
    """A collateral/debt cell as leg dicts (:func:`engine.parsing.parse_leg`). Tolerant
    (``strict`` False): a part that is not a leg is kept as ``{"asset": part}`` for the
    editor to mark."""
    legs = []
    shape = "ASSET:QUANTITY" + "".join(
        f"[:{'LT' if k == 'liquidation_threshold' else 'BONUS' if k == 'liquidation_bonus' else 'RATIO'}"
        for k in positional) + "]" * len(positional)
    for part in split_legs(text):
        try:
            leg = parse_leg(part, positional)
            if strict and "quantity" not in leg:
                raise LegSyntaxError(part)
        except LegSyntaxError:
            if strict:
                raise InputError(f"must look like {shape}, several joined with |", field=column,
                                 value=part, source=where) from None
            leg = {"asset": part}
        legs.append(leg)
    return legs


def csv_dialect(text: str) -> type[csv.Dialect]:
    """The CSV dialect of ``text``: its delimiter (``,``, ``;`` or tab) sniffed, quotes
    always ``"`` (a sniffer may take the ``'`` of a cell such as ``{'a': 1}`` for quotes)."""
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","

    class Dialect(csv.excel):
        pass
    Dialect.delimiter = delimiter
    return Dialect


def _is_leg_text(text: str | None, where: str) -> bool:
    """Whether a collateral cell holds loan legs (``ETH:12``); a bare number is refused:
    exchange exports (ccxt) use 'collateral' for a position's margin, which is no loan."""
    if not text:
        return False
    try:
        parse_number(text)
    except ValueError:
        return True
    raise InputError("a number here is not a loan leg: write the collateral as ASSET:QUANTITY "
                     "(e.g. ETH:12); a perp's margin goes in isolated_margin",
                     field="collateral", value=text, source=where)


def _scaled(text: str | None, mult: float, power: int) -> str | None:
    """A cell of a 1000x contract row in units of the asset: quantities times ``mult``
    (power 1), prices divided by it (power -1); text that is no number stays as typed."""
    if text is None or mult == 1.0 or power == 0:
        return text
    try:
        value = parse_number(text)
    except ValueError:
        return text
    return repr(value * mult ** power)


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
    dialect = csv_dialect(text)
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:            # a cell beyond the csv module's field limit
        raise InputError(f"cannot be read as CSV: {exc} (line {reader.line_num})", field="path",
                         value=str(path)) from None
    if not rows:
        raise InputError("has no filled cells", field="path", value=str(path))
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    col: dict[str, int] = {}
    for canon, names in ALIASES.items():      # the first alias wins: 'asset' before 'symbol'
        for name in names:
            if name in header and canon not in col:
                col[canon] = header.index(name)
    number_cols = [i for c, i in col.items() if c not in _TEXT_FIELDS]
    try:
        comma = file_uses_decimal_comma((r[i] for r in rows[1:] for i in number_cols if i < len(r)),
                                        dialect.delimiter)
    except DecimalConventionError as exc:
        raise InputError(str(exc), field="numbers", value=exc.example, source=path.name) from None
    if comma:          # 0,5 -> 0.5, 1.234,5 -> 1234.5, 60.000 -> 60000
        rows = [rows[0]] + [[point_notation(c) for c in r] for r in rows[1:]]
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
            kind = "loan" if _is_leg_text(get("collateral"), where) else ("perp" if get("side") else "spot")
        if kind == "account":
            acc = {"id": get("id"), "wallet_balance": get("wallet_balance") or get("quantity")}
            if get("venue"):
                acc["venue"] = get("venue").lower()
            if get("collateral"):
                acc["collateral"] = _legs(get("collateral"), "collateral", where, strict,
                                          COLLATERAL_POSITIONAL)
                if acc["wallet_balance"] is None:
                    del acc["wallet_balance"]
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
            mult = 1.0
            if asset:
                sym, mult = split_multiplier(asset)
                d["asset"] = sym if sym and mult != 1.0 else asset_symbol(asset)
            else:
                d["asset"] = asset
            d["quantity"] = _scaled(get("quantity"), mult, 1)
            if d["quantity"] is not None and d["quantity"].startswith("-") and kind == "perp" and not get("side"):
                d["quantity"] = d["quantity"][1:]
                d["side"] = "short"
            if kind == "spot":
                if get("cost_basis") is not None:
                    d["cost_basis"] = _scaled(get("cost_basis"), mult, -1)
            else:
                side = get("side")
                if side is not None:
                    d["side"] = _SIDES.get(side.lower(), side)
                elif "side" not in d:
                    d["side"] = "long"
                for key in ("entry_price", "leverage", "isolated_margin", "account",
                            "maintenance_margin_rate", "maintenance_amount", "contract_size",
                            "funding_rate", "funding_interval_hours"):
                    if get(key) is not None:
                        d[key] = _scaled(get(key), mult, _SCALED_BY_MULTIPLIER.get(key, 0))
                if get("contract"):
                    d["contract"] = get("contract").lower()
                if get("venue"):
                    d["venue"] = get("venue").lower()
                mode = get("margin_mode")
                if mode:
                    d["margin_mode"] = mode.lower()
                elif get("account"):
                    d["margin_mode"] = "cross"
            if get("price") is not None and d.get("asset"):
                prices[d["asset"]] = _scaled(get("price"), mult, -1)
        if strict:
            parsed["positions"].append(position_from_dict(d, len(positions), where))
        positions.append(d)
    if not positions and not accounts:
        raise InputError("holds no positions", field="rows", value=0, source=path.name)
    if not strict:                              # numbers as numbers where they read as one
        prices = {a: number_or_text(v) for a, v in prices.items()}
        for acc in accounts:
            if "wallet_balance" in acc:
                acc["wallet_balance"] = number_or_text(acc.get("wallet_balance"))
    raw_portfolio = {"format": "crashlab.portfolio/1", "name": printable_name(path.stem), "prices": prices,
                     "accounts": accounts, "positions": positions}
    return raw_portfolio, parsed
