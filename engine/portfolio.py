"""Portfolio model: positions, accounts, prices; JSON load/save and validation.

The JSON format is ``crashlab.portfolio/1`` (see PRODUCT.md). Keys the model does not
know are kept in ``extra`` dictionaries and written back on save, so files written by a
newer version survive a round trip through this one. Two such keys are documented for
imported positions: ``venue_liquidation_price`` (the venue's own figure, a positive number
or null; checked here) and ``source`` (the file the position came from).

:func:`load_portfolio` and :func:`read_portfolio_file` read every known file by its
content (:mod:`engine.importers`).
"""
from __future__ import annotations

import copy
import json
import math
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .atomic import json_text, write_text_atomic
from .errors import InputError
from .limits import (BIDI_CONTROLS, MAX_AMOUNT, MAX_JSON_DEPTH, MAX_PORTFOLIO_BYTES, MAX_TEXT_LEN,
                     MIN_AMOUNT, fmt_bound)
from .parsing import parse_number

FORMAT = "crashlab.portfolio/1"
KINDS = ("spot", "perp", "loan")
SIDES = ("long", "short")
MARGIN_MODES = ("isolated", "cross")
CONTRACTS = ("linear", "inverse")
MAX_LEVERAGE = 200.0
MAX_FUNDING_RATE = 0.1          # per funding interval (venues cap it near 0.3 %-4 %)
MAX_APY = 10.0                  # 1,000 % a year: beyond it, a percent typed as a fraction


# --------------------------------------------------------------------------- fields
def _number(value: Any, *, field: str, position: str | None, source: str | None = None,
            positive: bool = False, nonnegative: bool = False, allow_none: bool = False,
            upper: float | None = None, upper_inclusive: bool = True,
            bounded: bool = True) -> float | None:
    """Parse a finite float and check its range; raise InputError naming field and value.
    ``bounded=False`` skips the magnitude bound (a venue's raw on-chain units, checked once
    scaled).

    Every number is below :data:`engine.limits.MAX_AMOUNT` in magnitude, and a ``positive``
    one is at least :data:`engine.limits.MIN_AMOUNT` (see :mod:`engine.limits` for why)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if allow_none:
            return None
        raise InputError("is required", field=field, value=value, position=position, source=source)
    if isinstance(value, bool):
        raise InputError("must be a number", field=field, value=value, position=position, source=source)
    try:
        number = parse_number(value)
    except ValueError:
        raise InputError("must be a number", field=field, value=value, position=position,
                         source=source) from None
    if math.isnan(number) or (math.isinf(number) and _says_infinity(value)):
        raise InputError("must be a finite number (NaN and infinity are not allowed)",
                         field=field, value=value, position=position, source=source)
    if bounded and not abs(number) < MAX_AMOUNT:
        raise InputError(f"is out of range: must be below {fmt_bound(MAX_AMOUNT)} in magnitude",
                         field=field, value=value, position=position, source=source)
    if positive and number <= 0:
        raise InputError("must be greater than 0", field=field, value=value, position=position,
                         source=source)
    if positive and number < MIN_AMOUNT:
        raise InputError(f"is out of range: must be at least {fmt_bound(MIN_AMOUNT)}", field=field,
                         value=value, position=position, source=source)
    if nonnegative and number < 0:
        raise InputError("must not be negative", field=field, value=value, position=position,
                         source=source)
    if upper is not None and (number > upper or (not upper_inclusive and number >= upper)):
        bound = "at most" if upper_inclusive else "below"
        raise InputError(f"must be {bound} {upper:g}", field=field, value=value,
                         position=position, source=source)
    return number


def _says_infinity(value: Any) -> bool:
    """The value is written as infinity (``inf``, ``-Infinity``, a float inf), not a finite
    number too large for a float (``1e400``, a 400-digit integer)."""
    if isinstance(value, float):
        return True
    return isinstance(value, str) and value.strip().lstrip("+-").lower() in ("inf", "infinity")


def check_text(value: Any, *, field: str, position: str | None, source: str | None = None,
               what: str = "name") -> str:
    """An id or a name: printable text (stripped) of at most :data:`engine.limits.MAX_TEXT_LEN`
    characters. Numbers are accepted as their text. Raises InputError naming the field and
    the first offending character: a control character, a lone surrogate (it cannot be
    written as UTF-8) or a bidirectional override or isolate."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"must be a non-empty {what}", field=field, value=value,
                         position=position, source=source)
    text = value.strip()
    for i, ch in enumerate(text):
        kind = _bad_char(ch)
        if kind:
            raise InputError(f"must be printable text: character {i + 1} (U+{ord(ch):04X}) is "
                             f"{kind}", field=field, value=value, position=position, source=source)
    if len(text) > MAX_TEXT_LEN:
        raise InputError(f"is too long: {len(text):,} characters, at most {MAX_TEXT_LEN}",
                         field=field, value=value, position=position, source=source)
    return text


def check_name(value: Any, source: str | None = None) -> str:
    """The portfolio's name (:func:`check_text`); empty or missing is ``"Untitled"``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "Untitled"
    return check_text(value, field="name", position=None, source=source)


def printable_name(text: str) -> str:
    """A name made from something the user did not type (a file name): the characters
    :func:`check_text` refuses replaced by U+FFFD, cut to the length limit."""
    cleaned = "".join("\ufffd" if _bad_char(ch) else ch for ch in str(text)).strip()
    return cleaned[:MAX_TEXT_LEN] or "Untitled"


def _bad_char(ch: str) -> str | None:
    if ch in BIDI_CONTROLS:
        return "a bidirectional control"
    cat = unicodedata.category(ch)
    if cat == "Cs":
        return "a lone surrogate"
    if cat == "Cc" or cat in ("Zl", "Zp"):
        return "a control character"
    return None


def _asset(value: Any, *, field: str, position: str | None, source: str | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError("must be an asset symbol such as 'BTC'", field=field, value=value,
                         position=position, source=source)
    text = value.strip().upper()
    if not all(ch.isalnum() or ch in "._-" for ch in text) or len(text) > 20:
        raise InputError("must be an asset symbol such as 'BTC'", field=field, value=value,
                         position=position, source=source)
    return text


def _choice(value: Any, choices: Iterable[str], *, field: str, position: str | None,
            source: str | None = None) -> str:
    choices = tuple(choices)
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in choices:
        raise InputError(f"must be one of {', '.join(choices)}", field=field, value=value,
                         position=position, source=source)
    return text


def _ident(value: Any, *, field: str, position: str | None, source: str | None = None) -> str:
    return check_text(value, field=field, position=position, source=source)


# --------------------------------------------------------------------------- model
@dataclass
class Spot:
    id: str
    asset: str
    quantity: float
    cost_basis: float | None = None
    extra: dict = field(default_factory=dict)
    kind: str = field(default="spot", init=False)

    @property
    def assets(self) -> tuple[str, ...]:
        return (self.asset,)


@dataclass
class Perp:
    id: str
    asset: str
    side: str
    quantity: float
    entry_price: float
    margin_mode: str = "isolated"
    leverage: float | None = None
    isolated_margin: float | None = None
    account: str | None = None
    venue: str | None = None
    maintenance_margin_rate: float | None = None
    maintenance_amount: float | None = None
    contract: str = "linear"                  # "inverse": coin-margined, quantity in contracts
    contract_size: float | None = None        # USD per contract (inverse)
    funding_rate: float | None = None         # per funding interval; positive: longs pay
    funding_interval_hours: float | None = None
    extra: dict = field(default_factory=dict)
    kind: str = field(default="perp", init=False)

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1

    @property
    def assets(self) -> tuple[str, ...]:
        return (self.asset,)

    @property
    def inverse(self) -> bool:
        return self.contract == "inverse"

    def notional_usd(self, contract_size: float | None = None) -> float:
        """USD notional at entry: ``Q*EP`` (linear) or ``Q*contract_size`` (inverse)."""
        if self.inverse:
            return self.quantity * float(contract_size if contract_size is not None
                                         else self.contract_size or 0.0)
        return self.quantity * self.entry_price

    def margin_for(self, contract_size: float | None = None) -> float:
        """Isolated wallet balance WB, in USD (linear) or in the coin (inverse):
        ``isolated_margin``, else the entry notional / leverage (``Q*EP/L`` or ``Q*CS/(EP*L)``)."""
        if self.isolated_margin is not None:
            return self.isolated_margin
        if self.leverage:
            n = self.notional_usd(contract_size)
            return (n / self.entry_price if self.inverse else n) / self.leverage
        return 0.0

    @property
    def margin(self) -> float:
        """Isolated wallet balance WB (USD; the coin for an inverse perp)."""
        return self.margin_for()


@dataclass
class Leg:
    asset: str
    quantity: float
    liquidation_threshold: float | None = None
    liquidation_bonus: float | None = None
    supply_apy: float | None = None       # collateral legs: interest earned, a year
    borrow_apy: float | None = None       # debt legs: interest owed, a year
    extra: dict = field(default_factory=dict)


@dataclass
class Loan:
    id: str
    collateral: list[Leg]
    debt: list[Leg]
    close_factor: float = 0.5
    liquidation_bonus: float = 0.05
    preset: str | None = None
    extra: dict = field(default_factory=dict)
    kind: str = field(default="loan", init=False)

    @property
    def assets(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for leg in (*self.collateral, *self.debt):
            seen.setdefault(leg.asset, None)
        return tuple(seen)

    @property
    def asset(self) -> str:
        """The main collateral asset (first listed), used for display and grouping."""
        return self.collateral[0].asset if self.collateral else (self.debt[0].asset if self.debt else "")


@dataclass
class CollateralLeg:
    """An asset held as margin in a cross account: counts at price x ``collateral_ratio``
    (the venue's published ratio when not given)."""

    asset: str
    quantity: float
    collateral_ratio: float | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Account:
    id: str
    wallet_balance: float = 0.0                # USD
    venue: str | None = None
    collateral: list[CollateralLeg] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def assets(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for leg in self.collateral:
            seen.setdefault(leg.asset, None)
        return tuple(seen)


Position = Spot | Perp | Loan


@dataclass
class Portfolio:
    name: str = "Untitled"
    prices: dict[str, float] = field(default_factory=dict)
    accounts: list[Account] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    # ---- lookups
    def account(self, account_id: str) -> Account | None:
        for acc in self.accounts:
            if acc.id == account_id:
                return acc
        return None

    def position(self, position_id: str) -> Position | None:
        for pos in self.positions:
            if pos.id == position_id:
                return pos
        return None

    @property
    def assets(self) -> tuple[str, ...]:
        """Every asset referenced by a position or held as account collateral, in order of
        first use (positions first)."""
        seen: dict[str, None] = {}
        for pos in self.positions:
            for a in pos.assets:
                seen.setdefault(a, None)
        for acc in self.accounts:
            for a in acc.assets:
                seen.setdefault(a, None)
        return tuple(seen)

    def copy(self) -> "Portfolio":
        return copy.deepcopy(self)


# --------------------------------------------------------------------------- parsing
_SPOT_KEYS = {"id", "kind", "asset", "quantity", "cost_basis"}
_PERP_KEYS = {"id", "kind", "asset", "side", "quantity", "entry_price", "leverage", "isolated_margin",
              "margin_mode", "account", "venue", "maintenance_margin_rate", "maintenance_amount",
              "contract", "contract_size", "funding_rate", "funding_interval_hours"}
_LOAN_KEYS = {"id", "kind", "collateral", "debt", "close_factor", "liquidation_bonus", "preset"}
_LEG_KEYS = {"asset", "quantity", "liquidation_threshold", "liquidation_bonus", "supply_apy",
             "borrow_apy"}
_COLLATERAL_KEYS = {"asset", "quantity", "collateral_ratio"}
_ACCOUNT_KEYS = {"id", "wallet_balance", "venue", "collateral"}
_TOP_KEYS = {"format", "name", "prices", "accounts", "positions"}


VENUE_LP_KEY = "venue_liquidation_price"


def _extra(raw: dict, known: set[str]) -> dict:
    return {k: copy.deepcopy(v) for k, v in raw.items() if k not in known}


def _position_extra(raw: dict, known: set[str], pid: str, source: str | None) -> dict:
    """The unknown keys of a position, ``venue_liquidation_price`` checked (a positive
    number or null) and stored as a float."""
    extra = _extra(raw, known)
    if extra.get(VENUE_LP_KEY) is not None:
        extra[VENUE_LP_KEY] = _number(extra[VENUE_LP_KEY], field=VENUE_LP_KEY, position=pid,
                                      positive=True, source=source)
    return extra


def venue_liquidation_price(pos: "Position") -> float | None:
    """The venue's own liquidation price of an imported position (None where its file had
    none)."""
    return pos.extra.get(VENUE_LP_KEY)


def position_from_dict(raw: Any, index: int = 0, source: str | None = None) -> Position:
    """Build one position from its JSON dictionary, checking types and ranges of each field."""
    where = f"positions[{index}]"
    if not isinstance(raw, dict):
        raise InputError("must be an object", field=where, value=raw, source=source)
    pid = _ident(raw.get("id", f"position-{index + 1}"), field=f"{where}.id", position=None,
                 source=source)
    kind = _choice(raw.get("kind"), KINDS, field="kind", position=pid, source=source)
    if kind == "spot":
        return Spot(
            id=pid,
            asset=_asset(raw.get("asset"), field="asset", position=pid, source=source),
            quantity=_number(raw.get("quantity"), field="quantity", position=pid, positive=True,
                             source=source),
            cost_basis=_number(raw.get("cost_basis"), field="cost_basis", position=pid,
                               nonnegative=True, allow_none=True, source=source),
            extra=_position_extra(raw, _SPOT_KEYS, pid, source),
        )
    if kind == "perp":
        mode = _choice(raw.get("margin_mode", "isolated"), MARGIN_MODES, field="margin_mode",
                       position=pid, source=source)
        venue = raw.get("venue")
        if venue is not None:
            venue = _choice(venue, _venue_names(), field="venue", position=pid, source=source)
        account = raw.get("account")
        if account is not None:
            account = _ident(account, field="account", position=pid, source=source)
        return Perp(
            id=pid,
            asset=_asset(raw.get("asset"), field="asset", position=pid, source=source),
            side=_choice(raw.get("side"), SIDES, field="side", position=pid, source=source),
            quantity=_number(raw.get("quantity"), field="quantity", position=pid, positive=True,
                             source=source),
            entry_price=_number(raw.get("entry_price"), field="entry_price", position=pid,
                                positive=True, source=source),
            margin_mode=mode,
            leverage=_number(raw.get("leverage"), field="leverage", position=pid, positive=True,
                             allow_none=True, source=source),
            isolated_margin=_number(raw.get("isolated_margin"), field="isolated_margin",
                                    position=pid, allow_none=True, source=source),
            account=account,
            venue=venue,
            maintenance_margin_rate=_number(raw.get("maintenance_margin_rate"),
                                            field="maintenance_margin_rate", position=pid,
                                            nonnegative=True, allow_none=True, upper=1.0,
                                            upper_inclusive=False, source=source),
            maintenance_amount=_number(raw.get("maintenance_amount"), field="maintenance_amount",
                                       position=pid, allow_none=True, source=source),
            contract=_choice(raw.get("contract", "linear") or "linear", CONTRACTS, field="contract",
                             position=pid, source=source),
            contract_size=_number(raw.get("contract_size"), field="contract_size", position=pid,
                                  positive=True, allow_none=True, source=source),
            funding_rate=_funding_rate(raw.get("funding_rate"), pid, source),
            funding_interval_hours=_number(raw.get("funding_interval_hours"),
                                           field="funding_interval_hours", position=pid,
                                           positive=True, allow_none=True, upper=24.0 * 7,
                                           source=source),
            extra=_position_extra(raw, _PERP_KEYS, pid, source),
        )
    # loan
    legs = {}
    for side in ("collateral", "debt"):
        items = raw.get(side)
        if not isinstance(items, list) or not items:
            raise InputError("must be a non-empty list of {asset, quantity}", field=side, value=items,
                             position=pid, source=source)
        parsed = []
        for j, leg in enumerate(items):
            f = f"{side}[{j}]"
            if not isinstance(leg, dict):
                raise InputError("must be an object", field=f, value=leg, position=pid, source=source)
            parsed.append(Leg(
                asset=_asset(leg.get("asset"), field=f"{f}.asset", position=pid, source=source),
                quantity=_number(leg.get("quantity"), field=f"{f}.quantity", position=pid,
                                 positive=True, source=source),
                liquidation_threshold=_number(leg.get("liquidation_threshold"),
                                              field=f"{f}.liquidation_threshold", position=pid,
                                              positive=True, upper=1.0, allow_none=True,
                                              source=source) if side == "collateral" else None,
                liquidation_bonus=_number(leg.get("liquidation_bonus"),
                                          field=f"{f}.liquidation_bonus", position=pid,
                                          nonnegative=True, upper=1.0, allow_none=True,
                                          source=source) if side == "collateral" else None,
                supply_apy=_apy(leg, "supply_apy", f, pid, source, side == "collateral"),
                borrow_apy=_apy(leg, "borrow_apy", f, pid, source, side == "debt"),
                extra=_extra(leg, _LEG_KEYS),
            ))
        legs[side] = parsed
    preset = raw.get("preset")
    if preset is not None:
        preset = _choice(preset, ("aave-v3",), field="preset", position=pid, source=source)
    return Loan(
        id=pid,
        collateral=legs["collateral"],
        debt=legs["debt"],
        close_factor=_number(raw.get("close_factor", 0.5), field="close_factor", position=pid,
                             positive=True, upper=1.0, source=source),
        liquidation_bonus=_number(raw.get("liquidation_bonus", 0.05), field="liquidation_bonus",
                                  position=pid, nonnegative=True, upper=1.0, source=source),
        preset=preset,
        extra=_position_extra(raw, _LOAN_KEYS, pid, source),
    )


def _funding_rate(value: Any, pid: str, source: str | None) -> float | None:
    rate = _number(value, field="funding_rate", position=pid, allow_none=True, source=source)
    if rate is not None and abs(rate) > MAX_FUNDING_RATE:
        raise InputError(f"is a rate per funding interval and must be between "
                         f"-{MAX_FUNDING_RATE:g} and {MAX_FUNDING_RATE:g} (0.01% is 0.0001)",
                         field="funding_rate", value=value, position=pid, source=source)
    return rate


def _apy(leg: dict, key: str, where: str, pid: str, source: str | None, allowed: bool
         ) -> float | None:
    """``supply_apy`` (collateral legs) / ``borrow_apy`` (debt legs): a yearly rate, 0..10."""
    value = leg.get(key)
    if value is None:
        return None
    if not allowed:
        other = "borrow_apy" if key == "supply_apy" else "supply_apy"
        side = "debt" if key == "supply_apy" else "collateral"
        raise InputError(f"does not apply to a {side} leg (use {other})", field=f"{where}.{key}",
                         value=value, position=pid, source=source)
    return _number(value, field=f"{where}.{key}", position=pid, nonnegative=True, upper=MAX_APY,
                   allow_none=True, source=source)


def _venue_names() -> tuple[str, ...]:
    from .venues import venue_names
    return venue_names()


def collateral_from_list(items: Any, aid: str, source: str | None = None) -> list[CollateralLeg]:
    """An account's ``collateral`` list: ``[{asset, quantity[, collateral_ratio]}, ...]``."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError("must be a list of {asset, quantity[, collateral_ratio]}", field="collateral",
                         value=items, position=aid, source=source)
    out = []
    for j, leg in enumerate(items):
        f = f"collateral[{j}]"
        if not isinstance(leg, dict):
            raise InputError("must be an object {asset, quantity[, collateral_ratio]}", field=f,
                             value=leg, position=aid, source=source)
        out.append(CollateralLeg(
            asset=_asset(leg.get("asset"), field=f"{f}.asset", position=aid, source=source),
            quantity=_number(leg.get("quantity"), field=f"{f}.quantity", position=aid,
                             positive=True, source=source),
            collateral_ratio=_number(leg.get("collateral_ratio"), field=f"{f}.collateral_ratio",
                                     position=aid, nonnegative=True, upper=1.0, allow_none=True,
                                     source=source),
            extra=_extra(leg, _COLLATERAL_KEYS)))
    return out


def account_from_dict(raw: Any, index: int = 0, source: str | None = None) -> Account:
    where = f"accounts[{index}]"
    if not isinstance(raw, dict):
        raise InputError("must be an object", field=where, value=raw, source=source)
    aid = _ident(raw.get("id"), field=f"{where}.id", position=None, source=source)
    venue = raw.get("venue")
    if venue is not None:
        venue = _choice(venue, _venue_names(), field="venue", position=aid, source=source)
    if "wallet_asset" in raw:
        raise InputError("is not supported: wallet_balance is USD; give a wallet held in another "
                         "asset as collateral: [{\"asset\": ..., \"quantity\": ...}]",
                         field="wallet_asset", value=raw["wallet_asset"], position=aid, source=source)
    collateral = collateral_from_list(raw.get("collateral"), aid, source)
    wallet = raw.get("wallet_balance")
    return Account(
        id=aid,
        wallet_balance=_number(wallet, field="wallet_balance", position=aid, nonnegative=True,
                               allow_none=bool(collateral), source=source) or 0.0,
        venue=venue,
        collateral=collateral,
        extra=_extra(raw, _ACCOUNT_KEYS),
    )


def check_top_level(raw: Any, source: str | None = None) -> tuple[dict, list, list]:
    """Check the file-level shape of a portfolio dict: (prices, accounts, positions) as given."""
    if not isinstance(raw, dict):
        raise InputError("a portfolio file must hold a JSON object", field="(top level)",
                         value=type(raw).__name__, source=source)
    fmt = raw.get("format", FORMAT)
    if fmt != FORMAT:
        raise InputError(f"unsupported format, expected {FORMAT!r}", field="format", value=fmt,
                         source=source)
    prices = raw.get("prices", {})
    if not isinstance(prices, dict):
        raise InputError("must be an object mapping asset to USD price", field="prices",
                         value=prices, source=source)
    accounts = raw.get("accounts", [])
    positions = raw.get("positions", [])
    for key, val in (("accounts", accounts), ("positions", positions)):
        if not isinstance(val, list):
            raise InputError("must be a list", field=key, value=val, source=source)
    return prices, accounts, positions


def portfolio_from_dict(raw: Any, source: str | None = None) -> Portfolio:
    """Parse a ``crashlab.portfolio/1`` dictionary. Raises InputError on the first bad field."""
    prices_raw, accounts_raw, positions_raw = check_top_level(raw, source)
    prices = {}
    for key, value in prices_raw.items():
        asset = _asset(key, field=f"prices.{key}", position=None, source=source)
        prices[asset] = _number(value, field=f"prices.{key}", position=None, positive=True,
                                source=source)
    return Portfolio(
        name=check_name(raw.get("name"), source=source),
        prices=prices,
        accounts=[account_from_dict(a, i, source) for i, a in enumerate(accounts_raw)],
        positions=[position_from_dict(p, i, source) for i, p in enumerate(positions_raw)],
        extra=_extra(raw, _TOP_KEYS),
    )


# --------------------------------------------------------------------------- writing
def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def position_to_dict(pos: Position) -> dict:
    if isinstance(pos, Spot):
        out = _clean({"id": pos.id, "kind": "spot", "asset": pos.asset, "quantity": pos.quantity,
                      "cost_basis": pos.cost_basis})
    elif isinstance(pos, Perp):
        out = _clean({"id": pos.id, "kind": "perp", "asset": pos.asset, "side": pos.side,
                      "quantity": pos.quantity, "entry_price": pos.entry_price,
                      "leverage": pos.leverage, "isolated_margin": pos.isolated_margin,
                      "margin_mode": pos.margin_mode, "account": pos.account, "venue": pos.venue,
                      "maintenance_margin_rate": pos.maintenance_margin_rate,
                      "maintenance_amount": pos.maintenance_amount,
                      "contract": pos.contract if pos.inverse else None,
                      "contract_size": pos.contract_size, "funding_rate": pos.funding_rate,
                      "funding_interval_hours": pos.funding_interval_hours})
    else:
        out = _clean({
            "id": pos.id, "kind": "loan", "preset": pos.preset,
            "collateral": [{**_clean({"asset": l.asset, "quantity": l.quantity,
                                      "liquidation_threshold": l.liquidation_threshold,
                                      "liquidation_bonus": l.liquidation_bonus,
                                      "supply_apy": l.supply_apy}), **l.extra}
                           for l in pos.collateral],
            "debt": [{**_clean({"asset": l.asset, "quantity": l.quantity,
                                "borrow_apy": l.borrow_apy}), **l.extra} for l in pos.debt],
            "close_factor": pos.close_factor, "liquidation_bonus": pos.liquidation_bonus})
    out.update(copy.deepcopy(pos.extra))
    return out


def collateral_to_list(legs: list[CollateralLeg]) -> list[dict]:
    return [{**_clean({"asset": c.asset, "quantity": c.quantity,
                       "collateral_ratio": c.collateral_ratio}), **copy.deepcopy(c.extra)}
            for c in legs]


def account_to_dict(a: Account) -> dict:
    out = _clean({"id": a.id, "wallet_balance": a.wallet_balance, "venue": a.venue})
    if a.collateral:
        out["collateral"] = collateral_to_list(a.collateral)
    out.update(copy.deepcopy(a.extra))
    return out


def portfolio_to_dict(p: Portfolio) -> dict:
    out = {"format": FORMAT, "name": p.name, "prices": dict(p.prices),
           "accounts": [account_to_dict(a) for a in p.accounts],
           "positions": [position_to_dict(pos) for pos in p.positions]}
    out.update(copy.deepcopy(p.extra))
    return out


def read_text_file(path: str | Path, limit: int = MAX_PORTFOLIO_BYTES) -> str:
    """A portfolio file's text (UTF-8, a BOM allowed); InputError naming the path when it
    cannot be read, is larger than ``limit`` bytes or is not UTF-8."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputError(f"is too large for a portfolio file: {size:,} bytes, at most "
                             f"{limit:,}", field="path", value=str(path))
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", field="path",
                         value=str(path)) from None
    if len(data) > limit:
        raise InputError(f"is too large for a portfolio file: more than {limit:,} bytes",
                         field="path", value=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text ({exc.reason})", field="path", value=str(path)) from None


def parse_json_text(text: str, source: str) -> Any:
    """JSON text as Python values; InputError naming ``source`` for bad JSON, nesting
    deeper than :data:`engine.limits.MAX_JSON_DEPTH` or an integer of more than 4,300
    digits (never a RecursionError or a bare ValueError)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                         field="path", value=source) from None
    except RecursionError:
        raise InputError(f"is nested too deeply (at most {MAX_JSON_DEPTH} levels)",
                         field="path", value=source) from None
    except ValueError:            # an integer beyond Python's digit limit
        raise InputError(f"holds a number of more than {sys.get_int_max_str_digits():,} digits",
                         field="path", value=source) from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise InputError(f"is nested too deeply (at most {MAX_JSON_DEPTH} levels)",
                         field="path", value=source)
    return data


def json_depth(data: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:      # deep enough to refuse: stop looking
            return depth
        stack.extend((c, depth + 1) for c in children)
    return deepest


def read_json_file(path: str | Path) -> Any:
    """Parse a JSON file; InputError naming the path for unreadable, too large, non-UTF-8,
    too deeply nested or bad JSON."""
    return parse_json_text(read_text_file(path), str(path))


HOLDINGS_SUFFIXES = (".csv", ".tsv", ".txt")


def _portfolio_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", field="path", value=str(path))
    if path.is_dir():
        raise InputError("is a folder, not a portfolio file", field="path", value=str(path))
    return path


def load_portfolio(path: str | Path) -> Portfolio:
    """Read any known portfolio file (CrashLab JSON or holdings CSV, or a venue's export:
    :func:`engine.importers.import_file`); raises the first problem (the command line),
    also when the file holds nothing to analyse."""
    return load_portfolio_noted(path)[0]


def load_portfolio_noted(path: str | Path) -> tuple[Portfolio, list]:
    """:func:`load_portfolio` and the notes of its import (what a venue file's reader
    assumed or left out, as :class:`~engine.errors.Issue`)."""
    from .importers import import_file
    path = _portfolio_path(path)
    imp = import_file(path, strict=True)
    p = portfolio_from_dict(imp.raw, source=path.name)
    if not p.positions and not p.accounts:
        raise InputError("holds no positions and no accounts: nothing to analyse",
                         field="positions", value=[], source=path.name)
    return p, imp.notes


def read_portfolio_file(path: str | Path) -> dict:
    """Any known portfolio file as a raw ``crashlab.portfolio/1`` dictionary, values as
    written: an editor opens it, marks bad cells and keeps every other row."""
    from .importers import import_file
    return import_file(path).raw


def save_portfolio(p: Portfolio, path: str | Path) -> None:
    """Write the portfolio as JSON, atomically (temp file + rename)."""
    write_text_atomic(path, dumps_portfolio(p))


def dumps_portfolio(p: Portfolio) -> str:
    """The portfolio as JSON text that can always be written as UTF-8: characters as they
    are, unless a string holds a lone surrogate (``"\\ud800"`` read from a file); then
    everything non-ASCII is escaped, which reads back to the same strings."""
    from .atomic import json_text


def save_portfolio(p: Portfolio, path: str | Path, *, backup: bool = False) -> None:
    """Write the portfolio as JSON, atomically (:func:`engine.atomic.write_text_atomic`:
    temp file + rename, through links, the previous version kept as ``NAME.bak`` with
    ``backup``)."""
    write_text_atomic(path, dumps_portfolio(p), backup=backup)


def dumps_portfolio(p: Portfolio) -> str:
    return json_text(portfolio_to_dict(p)) + "\n"
