"""Units and ways: what is liquidated as one, and each change a venue allows to save it.

A *unit* is what a liquidation takes as one: an isolated perp, a loan, or a cross account
with every cross perp in it (they share the account's liquidation). Units never interact
in the kernel (:func:`engine.replay.run_book`), so each one's fix is searched on its own
sub-portfolio, and fixes of different units combine.

An *action* changes the :class:`engine.portfolio.Portfolio` through its public fields only
(:func:`apply_action` is the one home of what each action does):

``add_margin``
    an isolated perp: ``quantity`` USD more isolated margin (its ``leverage`` is dropped:
    the margin is then given, not derived); a cross account (``id`` is the account):
    ``quantity`` USD more wallet balance.
``reduce``
    a perp: close ``quantity`` contracts at today's price. The realised share of the
    unrealised P&L stays in the position's isolated margin, or goes to the cross account's
    wallet, so the book's value today is unchanged; closing all of it removes the position
    (an isolated perp's equity then leaves the book).
``repay``
    a loan: repay ``quantity`` of the debt leg in ``asset`` (less than all of it).
``add_collateral``
    a loan: add ``quantity`` of the collateral leg in ``asset``.
``swap_collateral``
    a loan: sell ``quantity`` of collateral ``asset`` for ``to_asset`` (a stablecoin held
    in the book) at today's prices, kept as collateral under that asset's liquidation
    threshold (its own leg's, or Aave v3's for a preset loan). It costs no new money and
    helps where the crash takes the sold asset below ``LT_to / LT_from`` of today's price.

``add_margin``, ``repay`` and ``add_collateral`` need new money (their cost is their USD
amount); ``reduce`` and ``swap_collateral`` need none and give up exposure instead.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ..book import compile_book
from ..errors import InputError
from ..portfolio import Leg, Loan, Perp, Portfolio
from ..replay import PricePaths, run_book
from ..scenarios import stablecoins
from ..venues import aave_reserve

ACTIONS = ("add_margin", "reduce", "add_collateral", "repay", "swap_collateral")
#: actions that need new money (their cost in USD is their amount)
MONEY_ACTIONS = ("add_margin", "add_collateral", "repay")
USD = "USD"
#: a repay leaves at least this share of the debt leg (a loan keeps a debt)
REPAY_MAX = 1.0 - 1e-9


@dataclass(frozen=True)
class Unit:
    """Positions liquidated as one: ``kind`` "position" (an isolated perp, a loan, a spot
    holding) or "account" (a cross account and its perps)."""

    kind: str
    id: str
    positions: tuple[str, ...]
    accounts: tuple[str, ...]          # accounts its sub-portfolio carries (a venue, a wallet)


def units_of(p: Portfolio) -> list[Unit]:
    """Every unit of ``p``, in the order of the positions."""
    units: list[Unit] = []
    cross: dict[str, int] = {}
    for pos in p.positions:
        acc = getattr(pos, "account", None)
        if acc and getattr(pos, "margin_mode", None) == "cross":
            if acc in cross:
                u = units[cross[acc]]
                units[cross[acc]] = Unit("account", acc, u.positions + (pos.id,), u.accounts)
            else:
                cross[acc] = len(units)
                units.append(Unit("account", acc, (pos.id,), (acc,)))
        else:
            units.append(Unit("position", pos.id, (pos.id,),
                              (acc,) if acc and p.account(acc) is not None else ()))
    return units


def sub_portfolio(p: Portfolio, unit: Unit) -> Portfolio:
    """A copy of the part of ``p`` that ``unit`` needs (its positions and accounts)."""
    return Portfolio(name=p.name, prices=dict(p.prices),
                     accounts=[copy.deepcopy(p.account(a)) for a in unit.accounts],
                     positions=[copy.deepcopy(p.position(i)) for i in unit.positions])


def values_today(p: Portfolio) -> dict[str, float]:
    """Each position's value at today's prices, from the kernel (a cross perp's is its
    unrealised P&L, an isolated perp's its margin plus unrealised P&L)."""
    book = compile_book(p)
    today = np.stack([book.today, book.today])[None]
    out = run_book(book, PricePaths(today), series=False)
    return {pid: float(v) for pid, v in zip(book.ids, out.position_start)}


def _unrealised(p: Portfolio, pos: Perp) -> float:
    value = values_today(Portfolio(prices=dict(p.prices),
                                   accounts=[a for a in p.accounts if a.id == pos.account],
                                   positions=[pos]))[pos.id]
    return value - (pos.margin if pos.margin_mode == "isolated" else 0.0)


def _amount(quantity, pid: str) -> float:
    try:
        q = float(quantity)
    except (TypeError, ValueError):
        raise InputError("must be a positive number", field="quantity", value=quantity,
                         position=pid) from None
    if not math.isfinite(q) or q <= 0:
        raise InputError("must be a positive number", field="quantity", value=quantity, position=pid)
    return q


def _leg(legs: list[Leg], asset: str | None, side: str, pid: str) -> Leg:
    for leg in legs:
        if leg.asset == asset:
            return leg
    raise InputError(f"the loan has no {side} leg in this asset", field="asset", value=asset,
                     position=pid)


def apply_action(p: Portfolio, action: str, id: str, quantity: float, asset: str | None = None,
                 to_asset: str | None = None, *, unrealised: float | None = None) -> Portfolio:
    """A copy of ``p`` with one action applied (see the module docstring).

    ``unrealised`` is the position's unrealised P&L today for ``reduce`` (computed from the
    kernel when not given). Raises InputError when the action does not fit the book (an
    unknown id, a repay of all the debt, a reduce whose realised loss exceeds the margin or
    the wallet); a JSON action of the ``plan`` command applies as
    ``apply_action(p, a["action"], a["id"], a["quantity"], a["asset"], a.get("to_asset"))``.
    """
    if action not in ACTIONS:
        raise InputError(f"must be one of {', '.join(ACTIONS)}", field="action", value=action,
                         position=id)
    q = _amount(quantity, id)
    out = copy.copy(p)
    out.positions = list(p.positions)
    out.accounts = list(p.accounts)
    pos = p.position(id)

    def own(obj):                                   # copy on write: ``p`` is never changed
        new = copy.copy(obj)
        if isinstance(obj, Loan):                   # its legs change, nothing else is shared
            new.collateral = [copy.copy(leg) for leg in obj.collateral]
            new.debt = [copy.copy(leg) for leg in obj.debt]
        seq = out.positions if any(x is obj for x in p.positions) else out.accounts
        seq[next(i for i, x in enumerate(seq) if x is obj)] = new
        return new

    if action == "add_margin":
        if isinstance(pos, Perp) and pos.margin_mode == "isolated":
            new = own(pos)
            new.isolated_margin = pos.margin + q
            new.leverage = None
        elif p.account(id) is not None:
            acc = own(p.account(id))
            acc.wallet_balance = acc.wallet_balance + q
        else:
            raise InputError("add_margin needs an isolated perp or a cross account", field="id",
                             value=id)
        return out
    if action == "reduce":
        if not isinstance(pos, Perp):
            raise InputError("reduce needs a perp", field="id", value=id)
        if q > pos.quantity * (1 + 1e-12):
            raise InputError(f"closes more than the position holds ({pos.quantity:g})",
                             field="quantity", value=quantity, position=id)
        full = q >= pos.quantity * (1 - 1e-12)
        u = _unrealised(p, pos) if unrealised is None else unrealised
        realised = u * min(q / pos.quantity, 1.0)
        if pos.margin_mode == "isolated":
            if full:
                out.positions.remove(pos)
                return out
            margin = pos.margin + realised
            if margin <= 0:
                raise InputError("the realised loss would exceed the isolated margin",
                                 field="quantity", value=quantity, position=id)
            new = own(pos)
            new.isolated_margin = margin
            new.leverage = None
            new.quantity = pos.quantity - q
            return out
        acc = p.account(pos.account)
        wallet = acc.wallet_balance + realised
        if wallet < 0:
            raise InputError("the realised loss would exceed the account's wallet",
                             field="quantity", value=quantity, position=id)
        own(acc).wallet_balance = wallet
        if full:
            out.positions.remove(pos)
        else:
            own(pos).quantity = pos.quantity - q
        return out
    if not isinstance(pos, Loan):
        raise InputError(f"{action} needs a loan", field="id", value=id)
    loan = own(pos)
    if action == "repay":
        leg = _leg(loan.debt, asset, "debt", id)
        if q >= leg.quantity * (1 - 1e-12):
            raise InputError(f"repays all the debt leg ({leg.quantity:g}); a repay leaves some",
                             field="quantity", value=quantity, position=id)
        leg.quantity -= q
    elif action == "add_collateral":
        leg = _leg(loan.collateral, asset, "collateral", id)
        leg.quantity += q
    else:
        leg = _leg(loan.collateral, asset, "collateral", id)
        if not to_asset or to_asset == asset or to_asset not in p.prices:
            raise InputError("must be another asset with a price", field="to_asset",
                             value=to_asset, position=id)
        if q > leg.quantity * (1 + 1e-12):
            raise InputError(f"swaps more than the collateral leg holds ({leg.quantity:g})",
                             field="quantity", value=quantity, position=id)
        got = q * p.prices[asset] / p.prices[to_asset]
        if q >= leg.quantity * (1 - 1e-12):
            loan.collateral.remove(leg)
        else:
            leg.quantity -= q
        dest = next((l for l in loan.collateral if l.asset == to_asset), None)
        if dest is None:
            loan.collateral.append(Leg(to_asset, got))
        else:
            dest.quantity += got
    return out


def describe(row: dict) -> str:
    """An action row (``plan --json``) in words, e.g. ``add 1,026.49 USD of margin to
    sol-10x`` (the command line and the GUI print the same text)."""
    q = f"{row['quantity']:,.2f}" if row["asset"] == USD else f"{row['quantity']:,.6g}"
    a, pid, asset = row["action"], row["id"], row["asset"]
    if a == "add_margin":
        where = "the wallet of" if row.get("liquidation_prices") is not None and \
            row.get("unit") == pid else "the margin of"
        return f"add {q} USD to {where} {pid}"
    if a == "reduce":
        return f"close {q} {asset} of {pid}"
    if a == "repay":
        return f"repay {q} {asset} of {pid}'s debt"
    if a == "add_collateral":
        return f"add {q} {asset} to {pid}'s collateral"
    return f"swap {q} {asset} of {pid}'s collateral into {row.get('to_asset')}"


# --------------------------------------------------------------------------- ways
@dataclass(frozen=True)
class Way:
    """One way to save a unit: an action on ``id`` whose amount (``quantity`` of ``asset``)
    is searched in ``(0, cap]``; ``scale`` sets the first guesses of an unbounded amount."""

    unit: Unit
    action: str
    id: str
    asset: str
    price: float                     # USD per unit of ``asset`` today
    cap: float                       # largest amount (inf: unbounded)
    scale: float
    to_asset: str | None = None
    unrealised: float | None = None  # reduce: the position's unrealised P&L today

    @property
    def money(self) -> bool:
        return self.action in MONEY_ACTIONS

    def apply(self, p: Portfolio, amount: float) -> Portfolio:
        return apply_action(p, self.action, self.id, amount, self.asset, self.to_asset,
                            unrealised=self.unrealised)


def _swap_destination(p: Portfolio, loan: Loan) -> str | None:
    """The stablecoin a loan's collateral may be swapped into: one held as its collateral,
    else its stable debt asset or another stablecoin in the book, as long as its liquidation
    threshold is known (a leg's own, or Aave v3's for a preset loan)."""
    stables = [a for a in stablecoins() if a in p.assets]
    for leg in loan.collateral:
        if leg.asset in stables:
            return leg.asset
    order = [l.asset for l in loan.debt if l.asset in stables] + stables
    for a in order:
        if loan.preset == "aave-v3" and aave_reserve(a) is not None:
            return a
    return None


def ways_for(p: Portfolio, unit: Unit, values: dict[str, float]) -> list[Way]:
    """Every way the venue allows to save ``unit`` (the module docstring lists them)."""
    ways: list[Way] = []
    prices = p.prices
    if unit.kind == "account":
        perps = [p.position(i) for i in unit.positions]
        notional = sum(x.quantity * prices[x.asset] for x in perps)
        ways.append(Way(unit, "add_margin", unit.id, USD, 1.0, math.inf, notional))
        for x in perps:
            ways.append(Way(unit, "reduce", x.id, x.asset, prices[x.asset], x.quantity,
                            x.quantity, unrealised=values[x.id]))
        return ways
    pos = p.position(unit.id)
    if isinstance(pos, Perp):
        ways.append(Way(unit, "add_margin", pos.id, USD, 1.0, math.inf,
                        pos.quantity * prices[pos.asset]))
        ways.append(Way(unit, "reduce", pos.id, pos.asset, prices[pos.asset], pos.quantity,
                        pos.quantity, unrealised=values[pos.id] - pos.margin))
    elif isinstance(pos, Loan):
        seen = set()
        for leg in pos.debt:
            if leg.asset not in seen:
                seen.add(leg.asset)
                ways.append(Way(unit, "repay", pos.id, leg.asset, prices[leg.asset],
                                leg.quantity * REPAY_MAX, leg.quantity))
        seen = set()
        for leg in pos.collateral:
            if leg.asset not in seen:
                seen.add(leg.asset)
                ways.append(Way(unit, "add_collateral", pos.id, leg.asset, prices[leg.asset],
                                math.inf, leg.quantity))
        dest = _swap_destination(p, pos)
        stables = set(stablecoins())
        for leg in pos.collateral:
            if dest and leg.asset != dest and leg.asset not in stables:
                ways.append(Way(unit, "swap_collateral", pos.id, leg.asset, prices[leg.asset],
                                leg.quantity, leg.quantity, to_asset=dest))
    return ways
