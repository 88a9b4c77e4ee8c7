"""What every importer shares: the :class:`Imported` result and the :class:`Draft` it is
built in (positions, accounts and mark prices of one file, with the file named in every
error).

An importer reads a venue's own file and writes ``crashlab.portfolio/1`` dictionaries
(numbers as floats) through a Draft. The Draft

* parses the venue's numbers (:func:`engine.portfolio._number`: an error names the file,
  the field as the venue spells it and the value);
* scales 1000x contracts (``kPEPE``, ``1000PEPEUSDT``) to the asset
  (:func:`engine.parsing.split_multiplier`): quantity up, prices down;
* keeps the venue's own liquidation price (``venue_liquidation_price``) and the file name
  (``source``) on each position;
* takes a mark price as today's price of an asset once per file, and 1.0 for a USD
  stablecoin the file gives no price for (noted);
* refuses a file that holds nothing to import (never an empty book).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, Issue
from ..parsing import asset_symbol, split_multiplier
from ..portfolio import FORMAT, _number
from ..venues import tier_table

#: Position keys an importer adds beyond the model's: the venue's liquidation price and the
#: file a position came from (documented in README and PRODUCT; kept on save).
VENUE_LP_KEY = "venue_liquidation_price"
SOURCE_KEY = "source"


@dataclass
class Imported:
    """One file read into a ``crashlab.portfolio/1`` dictionary.

    Attributes
    ----------
    raw : dict
        ``format``, ``name``, ``prices``, ``accounts``, ``positions``; venue numbers as
        floats, a CrashLab holdings CSV as typed (an editor marks its bad cells).
    kind : str
        What the file is, e.g. ``"Hyperliquid clearinghouseState"``.
    own : bool
        CrashLab's own JSON (saving may write back to it; an import is saved elsewhere).
    notes : list of Issue
        What the reader assumed or left out, for the user to see.
    needs : list of InputError
        What the file lacks and a book must have (a cross account's wallet balance):
        the command line stops at the first, an editor marks the cell, ``convert`` warns.
    """

    raw: dict
    kind: str
    own: bool = False
    notes: list[Issue] = field(default_factory=list)
    needs: list[InputError] = field(default_factory=list)

    def require(self) -> None:
        """Raise the first thing the file lacks."""
        if self.needs:
            raise self.needs[0]


class Draft:
    """The book an importer builds from one file (see the module docstring)."""

    def __init__(self, path: str | Path, kind: str):
        self.path = Path(path)
        self.source = self.path.name
        self.kind = kind
        self.positions: list[dict] = []
        self.accounts: dict[str, dict] = {}
        self.prices: dict[str, float] = {}
        self.notes: list[Issue] = []
        self.needs: list[InputError] = []
        self._ids: set[str] = set()

    # ---- values
    def num(self, value: Any, where: str, *, positive: bool = False, nonnegative: bool = False,
            allow_none: bool = False, raw_units: bool = False) -> float | None:
        """A venue's number (text or number); InputError naming the file, ``where`` (the
        venue's field path) and the value. ``raw_units``: an amount in a token's smallest
        unit (wei), beyond the usual bound until it is scaled by its decimals."""
        if allow_none and (value is None or (isinstance(value, str) and value.strip() == "")):
            return None
        return _number(value, field=where, position=None, source=self.source,
                       positive=positive, nonnegative=nonnegative, bounded=not raw_units)

    def opt_price(self, value: Any, where: str) -> float | None:
        """A price the venue may leave empty or at 0 (no liquidation price): None then."""
        v = self.num(value, where, allow_none=True)
        return v if v is not None and v > 0 else None

    def error(self, reason: str, where: str, value: Any) -> InputError:
        return InputError(reason, field=where, value=value, source=self.source)

    def symbol(self, raw: Any, where: str) -> tuple[str, float]:
        """(asset, multiplier) of a venue's symbol; InputError when it is none."""
        sym, mult = split_multiplier(raw)
        if sym is None:
            raise self.error("is not a symbol CrashLab can read", where, raw)
        return sym, mult

    def new_id(self, base: str) -> str:
        pid, n = base, 2
        while pid in self._ids:
            pid, n = f"{base}-{n}", n + 1
        self._ids.add(pid)
        return pid

    def mark(self, asset: str, price: float | None) -> None:
        """Today's price of ``asset`` from the file's mark (the first mark wins)."""
        if price is not None and math.isfinite(price) and price > 0:
            self.prices.setdefault(asset, float(price))

    def note(self, message: str, position: str | None = None, field_name: str | None = None,
             value: Any = None) -> None:
        self.notes.append(Issue(message, field=field_name, value=value, position=position))

    # ---- positions
    def spot(self, id_base: str, asset: str, quantity: float, *, cost_basis: float | None = None,
             mark: float | None = None, extra: dict | None = None) -> dict:
        d = {"id": self.new_id(id_base), "kind": "spot", "asset": asset, "quantity": quantity}
        if cost_basis is not None and cost_basis > 0:
            d["cost_basis"] = cost_basis
        d.update(extra or {})
        d[SOURCE_KEY] = self.source
        self.mark(asset, mark)
        self.positions.append(d)
        return d

    def perp(self, id_base: str, asset: str, mult: float, side: str, quantity: float,
             entry: float, *, venue: str | None, mode: str, margin: float | None = None,
             account: str | None = None, mmr: float | None = None, mark: float | None = None,
             venue_lp: float | None = None, leverage: float | None = None,
             mmr_first: bool = False) -> dict:
        """A perp in units of the asset: ``quantity`` (contract units) times ``mult``,
        ``entry``, ``mark`` and ``venue_lp`` divided by it. ``mmr`` is the file's own
        maintenance rate, used where the venue has no bundled tier table for the asset
        (or always, ``mmr_first``, where the file's rate is the venue's current tier)."""
        d: dict[str, Any] = {"id": self.new_id(id_base), "kind": "perp", "asset": asset,
                             "side": side, "quantity": quantity * mult,
                             "entry_price": entry / mult, "margin_mode": mode}
        if venue is not None:
            d["venue"] = venue
        if mode == "isolated":
            if margin is not None:
                d["isolated_margin"] = margin
            elif leverage is not None:
                d["leverage"] = leverage
        else:
            d["account"] = account
        table = None if venue is None else tier_table(venue, asset)
        if mmr is not None and (table is None or mmr_first):
            d["maintenance_margin_rate"] = mmr
            if table is None:
                self.note(f"no bundled {venue or 'venue'} tier table for {asset}: the "
                          f"maintenance rate {mmr:.4%} the file shows now is used at every "
                          "price", position=d["id"], field_name="maintenance_margin_rate",
                          value=mmr)
        if venue_lp is not None:
            d[VENUE_LP_KEY] = venue_lp / mult
        d[SOURCE_KEY] = self.source
        self.mark(asset, None if mark is None else mark / mult)
        self.positions.append(d)
        return d

    def loan(self, id_base: str, collateral: list[dict], debt: list[dict], *,
             preset: str | None = None, extra: dict | None = None) -> dict:
        d: dict[str, Any] = {"id": self.new_id(id_base), "kind": "loan",
                             "collateral": collateral, "debt": debt}
        if preset:
            d["preset"] = preset
        d.update(extra or {})
        d[SOURCE_KEY] = self.source
        self.positions.append(d)
        return d

    def account(self, account_id: str, venue: str | None, wallet: float | None,
                missing: str | None = None) -> str:
        """A cross account; ``wallet`` None records what the file lacks (``missing``: why,
        and how the user gives it)."""
        acc: dict[str, Any] = {"id": account_id, "wallet_balance": wallet}
        if venue is not None:
            acc["venue"] = venue
        acc[SOURCE_KEY] = self.source
        if account_id not in self.accounts:
            self.accounts[account_id] = acc
            if wallet is None:
                self.needs.append(InputError(
                    missing or "is not in this file: give the account's wallet balance",
                    field="wallet_balance", value=None, position=account_id,
                    source=self.source))
        return account_id

    # ---- result
    def done(self, empty_reason: str | None = None) -> Imported:
        """The Imported book; InputError when the file holds nothing to import."""
        if not self.positions and not any(a["wallet_balance"] for a in self.accounts.values()):
            raise InputError(empty_reason or f"is a {self.kind} file that holds no open "
                             "positions or balances: nothing to import", source=self.source)
        self._stable_prices()
        raw = {"format": FORMAT, "name": self.path.stem, "prices": dict(self.prices),
               "accounts": list(self.accounts.values()), "positions": self.positions}
        return Imported(raw, self.kind, notes=self.notes, needs=self.needs)

    def _stable_prices(self) -> None:
        from ..scenarios import stablecoins
        stables = set(stablecoins())
        used = {p["asset"] for p in self.positions if p.get("asset")}
        for p in self.positions:
            for leg in (*p.get("collateral", []), *p.get("debt", [])):
                used.add(leg["asset"])
        for asset in sorted(used & stables - set(self.prices)):
            self.prices[asset] = 1.0
            self.note(f"the file gives no price for the stablecoin {asset}: 1.0 USD is used",
                      field_name=f"prices.{asset}", value=1.0)


def symbol_of(text: Any) -> str:
    """An asset symbol as the model spells it (for reserves and balances)."""
    return asset_symbol(str(text))
