"""Compile a Portfolio into flat arrays for the vectorised kernels, and validate it.

Validation collects every problem (the GUI marks each offending cell); compilation
raises the first error. Warnings (e.g. a position already past its liquidation price)
do not stop a computation: such a position is liquidated at step 0 and reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from . import liquidation as lq
from .errors import InputError, Issue
from .portfolio import MAX_LEVERAGE, Account, Loan, Perp, Portfolio, Spot
from .venues import (TierTable, aave_close_factor_threshold, aave_rate, aave_reserve,
                     collateral_ratio, funding_interval_hours, has_inverse,
                     inverse_contract_size, returns_remaining_margin, single_tier, taker_fee,
                     tier_table, venue_formula)

AAVE_SMALL_POSITION_USD = 2000.0


# --------------------------------------------------------------------------- perp terms
def perp_terms(pos: Perp, account_venue: str | None = None) -> lq.PerpTerms:
    """Resolve formula, tier table, fee, margin (and contract size of a coin-margined perp)
    of a perp (raises InputError)."""
    venue = pos.venue or account_venue
    formula = venue_formula(venue)
    contract_size = 0.0
    if pos.inverse:
        if venue is not None and not has_inverse(venue):
            raise InputError(f"coin-margined (inverse) perps are modelled on binance (COIN-M) and "
                             f"bybit (inverse) only, not on {venue}", field="contract",
                             value=pos.contract, position=pos.id)
        contract_size = pos.contract_size or inverse_contract_size(venue or "binance", pos.asset)
        if not contract_size:
            raise InputError("an inverse perp needs contract_size (USD per contract, e.g. 100 for "
                             "Binance BTCUSD)", field="contract_size", value=pos.contract_size,
                             position=pos.id)
    elif pos.contract_size is not None:
        raise InputError("applies to coin-margined perps only (contract: inverse); a linear "
                         "perp's quantity is in the asset", field="contract_size",
                         value=pos.contract_size, position=pos.id)
    if pos.maintenance_margin_rate is not None:
        table = single_tier(pos.maintenance_margin_rate, pos.maintenance_amount or 0.0,
                            venue or "explicit", pos.asset)
    else:
        table = tier_table(venue or "binance", pos.asset, pos.contract)
        if table is None:
            kind = "coin-margined " if pos.inverse else ""
            if venue is None:
                raise InputError(f"has no maintenance_margin_rate and no venue with a {kind}tier "
                                 f"table for {pos.asset}; give maintenance_margin_rate (e.g. 0.005) "
                                 "or a venue", field="maintenance_margin_rate", value=None,
                                 position=pos.id)
            raise InputError(f"venue {venue!r} has no {kind}tier table for {pos.asset} in the "
                             "bundled snapshot; give maintenance_margin_rate", field="venue",
                             value=venue, position=pos.id)
        if pos.maintenance_amount is not None:
            raise InputError("maintenance_amount needs maintenance_margin_rate (the venue table "
                             "gives both)", field="maintenance_amount", value=pos.maintenance_amount,
                             position=pos.id)
    margin = pos.margin_for(contract_size) if pos.margin_mode == "isolated" else 0.0
    return lq.PerpTerms(formula=formula, table=table,
                        fee=0.0 if pos.inverse else taker_fee(venue), margin=margin,
                        inverse=pos.inverse, contract_size=float(contract_size))


def funding_per_hour(pos: Perp, account_venue: str | None = None) -> float:
    """The perp's funding rate per hour (``funding_rate / funding_interval_hours``, the venue's
    interval when not given; 0 without a rate)."""
    if not pos.funding_rate:
        return 0.0
    hours = pos.funding_interval_hours or funding_interval_hours(pos.venue or account_venue)
    return float(pos.funding_rate) / float(hours)


def collateral_terms(acc: Account, p: Portfolio, j: int):
    """(ratio, where it came from) of collateral leg ``j`` of ``acc``: the leg's own
    ``collateral_ratio``; 1 for the coin of the account's coin-margined perps (their margin);
    else the venue's published ratio (:func:`engine.venues.collateral_ratio`). Raises
    InputError when none applies."""
    leg = acc.collateral[j]
    if leg.collateral_ratio is not None:
        return leg.collateral_ratio, "given"
    coins = {x.asset for x in p.positions
             if isinstance(x, Perp) and x.inverse and x.margin_mode == "cross" and x.account == acc.id}
    if leg.asset in coins:
        return 1.0, "coin margin of the account's inverse perps"
    table = collateral_ratio(acc.venue, leg.asset)
    if table is None:
        where = (f"venue {acc.venue!r} publishes none for {leg.asset} in the bundled table "
                 "(resources/collateral_ratios.json)") if acc.venue else "the account has no venue"
        raise InputError(f"is required: {where}; give collateral_ratio (e.g. 0.9)",
                         field=f"collateral[{j}].collateral_ratio", value=None, position=acc.id)
    return table, f"{acc.venue} table"


def _loan_legs(loan: Loan):
    """Per collateral leg: (LT, bonus) after applying the aave-v3 preset where asked."""
    out = []
    for j, leg in enumerate(loan.collateral):
        lt, bonus = leg.liquidation_threshold, leg.liquidation_bonus
        if loan.preset == "aave-v3":
            res = aave_reserve(leg.asset)
            if res is None and (lt is None or bonus is None):
                raise InputError("has no Aave v3 parameters in the bundled table; give "
                                 "liquidation_threshold and liquidation_bonus", field=f"collateral[{j}].asset",
                                 value=leg.asset, position=loan.id)
            if res is not None:
                lt = res["lt"] if lt is None else lt
                bonus = res["bonus"] if bonus is None else bonus
        if lt is None:
            raise InputError("is required (or use preset 'aave-v3')",
                             field=f"collateral[{j}].liquidation_threshold", value=None,
                             position=loan.id)
        out.append((lt, loan.liquidation_bonus if bonus is None else bonus))
    return out


def loan_rates(loan: Loan) -> tuple[list[float], list[float], list[str]]:
    """(supply APY per collateral leg, borrow APY per debt leg, assets whose preset rate is
    missing): the leg's own rate, else the aave-v3 preset's default, else 0."""
    missing = []

    def rate(leg, key):
        own = getattr(leg, key)
        if own is not None:
            return float(own)
        if loan.preset == "aave-v3":
            r = aave_rate(leg.asset, key)
            if r is None:
                missing.append(f"{key} of {leg.asset}")
                return 0.0
            return r
        return 0.0
    return ([rate(l, "supply_apy") for l in loan.collateral],
            [rate(l, "borrow_apy") for l in loan.debt], missing)


# --------------------------------------------------------------------------- validation
def check_portfolio(p: Portfolio) -> tuple[list[InputError], list[Issue]]:
    """Every error and warning of a parsed portfolio (cross-field checks)."""
    errors: list[InputError] = []
    warnings: list[Issue] = []
    seen: set[str] = set()
    for acc in p.accounts:
        if acc.id in seen:
            errors.append(InputError("duplicate account id", field="id", value=acc.id, position=acc.id))
        seen.add(acc.id)
        for j, leg in enumerate(acc.collateral):
            if leg.asset not in p.prices:
                errors.append(InputError(f"has no current price: add prices.{leg.asset}",
                                         field=f"collateral[{j}].asset", value=leg.asset,
                                         position=acc.id))
                continue
            try:
                collateral_terms(acc, p, j)
            except InputError as exc:
                errors.append(exc)
    seen = set()
    for pos in p.positions:
        if pos.id in seen:
            errors.append(InputError("duplicate position id", field="id", value=pos.id, position=pos.id))
        seen.add(pos.id)
        for asset in pos.assets:
            if asset not in p.prices:
                errors.append(InputError(f"has no current price: add prices.{asset}", field="asset",
                                         value=asset, position=pos.id))
        try:
            _check_position(p, pos, warnings)
        except InputError as exc:
            errors.append(exc)
    return errors, warnings


def _check_position(p: Portfolio, pos, warnings: list[Issue]) -> None:
    if isinstance(pos, Perp):
        account = None
        if pos.margin_mode == "cross":
            if not pos.account:
                raise InputError("a cross perp needs the id of its cross account", field="account",
                                 value=pos.account, position=pos.id)
            account = p.account(pos.account)
            if account is None:
                known = ", ".join(a.id for a in p.accounts) or "none defined"
                raise InputError(f"unknown account (accounts: {known})", field="account",
                                 value=pos.account, position=pos.id)
        else:
            if pos.isolated_margin is None and pos.leverage is None:
                raise InputError("an isolated perp needs leverage or isolated_margin",
                                 field="leverage", value=None, position=pos.id)
            if pos.isolated_margin is not None and pos.isolated_margin <= 0:
                raise InputError("must be greater than 0", field="isolated_margin",
                                 value=pos.isolated_margin, position=pos.id)
        terms = perp_terms(pos, account.venue if account else None)
        if pos.leverage is not None:
            cap = MAX_LEVERAGE
            if pos.maintenance_margin_rate is None and np.isfinite(terms.table.max_leverage).all():
                basis = {"quantity": pos.quantity,
                         "coin": terms.unit(pos.quantity) / pos.entry_price}.get(
                             terms.table.basis, pos.quantity * pos.entry_price)
                cap = terms.table.max_leverage_at(basis)
            if pos.leverage < 1 or pos.leverage > cap:
                raise InputError(f"leverage out of range: must be between 1 and {cap:g}"
                                 + (f" for this notional on {pos.venue or 'binance'}" if cap != MAX_LEVERAGE else ""),
                                 field="leverage", value=pos.leverage, position=pos.id)
        price = p.prices.get(pos.asset)
        if pos.margin_mode == "isolated" and price is not None:
            lp = lq.isolated_liquidation_price(pos.sign, pos.quantity, pos.entry_price, terms)
            if lp is not None and ((pos.sign > 0 and price <= lp) or (pos.sign < 0 and price >= lp)):
                warnings.append(Issue(
                    f"already past its liquidation price {lp:,.2f} at today's price {price:,.2f}; "
                    "it is counted as liquidated at step 0", field="entry_price",
                    value=pos.entry_price, position=pos.id, extra={"liquidation_price": lp}))
    elif isinstance(pos, Loan):
        legs = _loan_legs(pos)
        for what, legs_of in (("collateral", pos.collateral), ("debt", pos.debt)):
            key = "supply_apy" if what == "collateral" else "borrow_apy"
            rates: dict[str, float] = {}
            for j, leg in enumerate(legs_of):
                r = getattr(leg, key)
                if leg.asset in rates and r != rates[leg.asset]:
                    raise InputError(f"two {what} legs of {leg.asset} with different {key}: merge "
                                     "them into one leg", field=f"{what}[{j}].{key}", value=r,
                                     position=pos.id)
                rates[leg.asset] = r
        missing = loan_rates(pos)[2]
        if missing:
            warnings.append(Issue(
                "the Aave v3 preset has no default " + ", ".join(missing) + " (not in the bundled "
                "table): no interest is counted for it; give the rate on the leg",
                field="preset", value=pos.preset, position=pos.id))
        if all(a in p.prices for a in pos.assets):
            hf = lq.health_factor([l.quantity for l in pos.collateral],
                                  [p.prices[l.asset] for l in pos.collateral],
                                  [lt for lt, _ in legs], [l.quantity for l in pos.debt],
                                  [p.prices[l.asset] for l in pos.debt])
            if hf < 1:
                warnings.append(Issue(
                    f"health factor {hf:.4f} is already below 1 at today's prices; it is "
                    "liquidated at step 0", field="debt[0].quantity", value=pos.debt[0].quantity,
                    position=pos.id, extra={"health_factor": hf}))


def account_warnings(book: "Book") -> list[Issue]:
    out = []
    if book.n_accounts:
        surplus = book.cross_surplus_today()
        for j, aid in enumerate(book.account_ids):
            if surplus[j] <= 0 and (book.account_groups[j] or book.account_collateral[j]):
                out.append(Issue(f"cross account equity is at or below maintenance at today's prices "
                                 f"(surplus {surplus[j]:,.2f}); the account is liquidated at step 0",
                                 field="wallet_balance", value=book.account_wallet[j], position=aid))
    return out


# --------------------------------------------------------------------------- book arrays
class CrossGroup(NamedTuple):
    """Cross positions of one account on one asset, side and contract type: their value
    (unrealised P&L, USD) is linear in the price (``slope * price + const``: linear perps
    ``s*Q*(P - EP)``, coin-margined ``s*U*(P/EP - 1)``) and their summed maintenance margin
    (USD) is ``mm(price)``. ``funding`` is the summed ``s * rate per hour * unit``: funding paid
    per hour is ``funding * price`` (USD, linear) or ``funding / price`` (coin, inverse)."""

    account: int
    asset: int
    sign: int
    slope: float
    const: float
    mm: lq.MMCurve
    inverse: bool = False
    funding: float = 0.0


@dataclass
class Book:
    """A portfolio as arrays. Shapes: n = positions, A = assets, K = tiers (padded)."""

    assets: tuple[str, ...]
    today: np.ndarray                       # (A,)
    ids: list[str]
    kinds: list[str]
    labels: list[str]                       # asset shown per position
    # spot
    spot_pos: np.ndarray                    # (n_spot,) index into positions
    spot_asset: np.ndarray
    spot_qty: np.ndarray
    # isolated perps
    iso_pos: np.ndarray
    iso_asset: np.ndarray
    iso_sign: np.ndarray
    iso_qty: np.ndarray
    iso_entry: np.ndarray
    iso_margin: np.ndarray                  # USD (linear) or coin (inverse)
    iso_lp: np.ndarray                      # (n_iso,) nan where none
    # cross perps and accounts
    account_ids: list[str]
    account_wallet: np.ndarray              # (n_acc,)
    cross_pos: np.ndarray
    cross_account: np.ndarray
    cross_asset: np.ndarray
    cross_sign: np.ndarray
    cross_qty: np.ndarray
    cross_entry: np.ndarray
    cross_tables: list[TierTable]
    cross_lines: list[tuple[np.ndarray, np.ndarray, np.ndarray]]   # (floors, mmr, cum) per cross pos
    # loans
    loan_pos: np.ndarray
    loan_coll: np.ndarray                   # (n_loans, A) quantities
    loan_lt: np.ndarray                     # (n_loans, A)
    loan_bonus: np.ndarray                  # (n_loans, A)
    loan_debt: np.ndarray                   # (n_loans, A)
    loan_cf: np.ndarray                     # (n_loans,)
    loan_full_close: np.ndarray             # (n_loans,) HF at or below which 100% may be repaid
    loan_small: np.ndarray                  # (n_loans,) USD size below which 100% may be repaid
    warnings: list[Issue] = field(default_factory=list)
    # cross positions grouped by (account, asset, side, contract), in first-seen order, and
    # the same groups split by account (index = account); built by compile_book
    cross_groups: list[CrossGroup] = field(default_factory=list)
    account_groups: list[list[CrossGroup]] = field(default_factory=list)
    # isolated perps: value c + d*price while held; unit Q (linear) or U = Q*contract size
    # (inverse, USD); MM lines (floors, mmr, cum) in the position's notional (USD or coin); funding
    # rate per hour; venues that return a liquidated position's remaining margin (Hyperliquid)
    iso_c: np.ndarray = None
    iso_d: np.ndarray = None
    iso_inverse: np.ndarray = None
    iso_unit: np.ndarray = None
    iso_lines: list = field(default_factory=list)
    iso_line_floors: np.ndarray = None       # (n_iso, K) the lines padded: floors with inf,
    iso_line_mmr: np.ndarray = None          # mmr and cum repeating the last line
    iso_line_cum: np.ndarray = None
    iso_funding: np.ndarray = None
    iso_returns: np.ndarray = None
    iso_backstop: np.ndarray = None
    # cross perps: contract type, unit, funding rate per hour
    cross_inverse: np.ndarray = None
    cross_unit: np.ndarray = None
    cross_funding: np.ndarray = None
    # account collateral legs: account, asset, quantity, adjusted value as a function of the
    # price (curve), where the ratio came from; legs per account
    coll_account: np.ndarray = None
    coll_asset: np.ndarray = None
    coll_qty: np.ndarray = None
    coll_curves: list = field(default_factory=list)
    coll_source: list = field(default_factory=list)
    account_collateral: list = field(default_factory=list)
    # loans: yearly rates per (loan, asset): earned on collateral, owed on debt
    loan_supply_apy: np.ndarray = None
    loan_borrow_apy: np.ndarray = None

    @property
    def n_positions(self) -> int:
        return len(self.ids)

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    def asset_index(self, asset: str) -> int:
        return self.assets.index(asset)

    @property
    def n_collateral(self) -> int:
        return 0 if self.coll_qty is None else len(self.coll_qty)

    @property
    def has_funding(self) -> bool:
        return bool(np.any(self.iso_funding) or np.any(self.cross_funding))

    @property
    def has_interest(self) -> bool:
        return bool(len(self.loan_pos) and (self.loan_supply_apy.any() or self.loan_borrow_apy.any()))

    def collateral_value(self, prices) -> np.ndarray:
        """Market value of each collateral leg at ``prices`` (A,), shape (n_collateral,)."""
        return self.coll_qty * np.asarray(prices, float)[self.coll_asset]

    def account_surplus_curve(self, j: int, asset: int) -> lq.MMCurve:
        """Adjusted equity minus maintenance of cross account ``j`` as a piecewise-linear
        function of the price of ``asset``, every other price held at today's."""
        parts = [lq.linear_curve(0.0, float(self.account_wallet[j]))]
        for g in self.account_groups[j]:
            if g.asset == asset:
                mm = g.mm
                parts.append(lq.MMCurve(mm.breaks, g.slope - mm.slope, g.const - mm.intercept))
            else:
                x = np.array([self.today[g.asset]])
                parts.append(lq.linear_curve(0.0, float(g.slope * x[0] + g.const - g.mm(x)[0])))
        for c in self.account_collateral[j]:
            if self.coll_asset[c] == asset:
                parts.append(self.coll_curves[c])
            else:
                x = np.array([self.today[self.coll_asset[c]]])
                parts.append(lq.linear_curve(0.0, float(self.coll_curves[c](x)[0])))
        return lq.sum_curves(parts)

    def account_liquidation_price(self, j: int, asset: int) -> float | None:
        """Price of ``asset`` (others held) at which cross account ``j`` is liquidated: the
        zero of :meth:`account_surplus_curve` nearest today's price; None where none."""
        if not self.account_groups[j]:
            return None
        return self.account_surplus_curve(j, asset).roots(float(self.today[asset]))

    def cross_surplus_today(self) -> np.ndarray:
        """Adjusted equity minus maintenance of each cross account at today's prices, (n_acc,)."""
        out = self.account_wallet.copy()
        for j in range(self.n_accounts):
            for g in self.account_groups[j]:
                x = np.array([self.today[g.asset]])
                out[j] += float(g.slope * x[0] + g.const - g.mm(x)[0])
            for c in self.account_collateral[j]:
                out[j] += float(self.coll_curves[c](np.array([self.today[self.coll_asset[c]]]))[0])
        return out


def _idx(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _arr(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def compile_book(p: Portfolio, *, prices: dict[str, float] | None = None) -> Book:
    """Validate ``p`` and build its :class:`Book`. Raises the first :class:`InputError`."""
    errors, warnings = check_portfolio(p)
    if errors:
        raise errors[0]
    prices = dict(p.prices if prices is None else prices)
    assets = p.assets
    a_of = {a: i for i, a in enumerate(assets)}
    today = _arr([prices[a] for a in assets])
    ids, kinds, labels = [], [], []
    spot = ([], [], [])
    iso = {k: [] for k in ("pos", "asset", "sign", "qty", "entry", "margin", "lp", "c", "d",
                           "inverse", "unit", "lines", "funding", "returns", "backstop")}
    cross = {k: [] for k in ("pos", "account", "asset", "sign", "qty", "entry", "table", "lines",
                             "inverse", "unit", "funding")}
    acc_index = {a.id: j for j, a in enumerate(p.accounts)}
    acc_venue = {a.id: a.venue for a in p.accounts}
    loans = []
    for n, pos in enumerate(p.positions):
        ids.append(pos.id)
        kinds.append(pos.kind)
        labels.append(pos.asset)
        if isinstance(pos, Spot):
            spot[0].append(n); spot[1].append(a_of[pos.asset]); spot[2].append(pos.quantity)
        elif isinstance(pos, Perp):
            account_venue = acc_venue.get(pos.account) if pos.account else None
            terms = perp_terms(pos, account_venue)
            s_, unit, ep = pos.sign, terms.unit(pos.quantity), pos.entry_price
            funding = funding_per_hour(pos, account_venue)
            if pos.margin_mode == "isolated":
                lp = lq.isolated_liquidation_price(s_, pos.quantity, ep, terms)
                # value while held: USD c + d*P; inverse: (WB + s*U/EP)*P - s*U
                c, d = ((-s_ * unit, terms.margin + s_ * unit / ep) if pos.inverse
                        else (terms.margin - s_ * unit * ep, s_ * unit))
                returns, backstop = returns_remaining_margin(pos.venue)
                for k, v in (("pos", n), ("asset", a_of[pos.asset]), ("sign", s_),
                             ("qty", pos.quantity), ("entry", ep), ("margin", terms.margin),
                             ("lp", np.nan if lp is None else lp), ("c", c), ("d", d),
                             ("inverse", pos.inverse), ("unit", unit),
                             ("lines", _iso_lines(s_, pos.quantity, ep, terms)),
                             ("funding", funding), ("returns", returns), ("backstop", backstop)):
                    iso[k].append(v)
            else:
                if terms.formula == "okx":
                    mmr, cum = lq.effective_mm_line(s_, pos.quantity, ep, terms)
                    floors = np.zeros(1)
                else:  # generic and Bybit cross: MM at mark price from the tier table
                    floors, mmr, cum = (terms.table.floors.copy(), terms.table.mmr.copy(),
                                        terms.table.cum.copy())
                for k, v in (("pos", n), ("account", acc_index[pos.account]),
                             ("asset", a_of[pos.asset]), ("sign", s_), ("qty", pos.quantity),
                             ("entry", ep), ("table", terms.table), ("lines", (floors, mmr, cum)),
                             ("inverse", pos.inverse), ("unit", unit), ("funding", funding)):
                    cross[k].append(v)
        else:
            loans.append((n, pos))
    n_assets = len(assets)
    nl = len(loans)
    coll = np.zeros((nl, n_assets)); lt = np.zeros((nl, n_assets)); bonus = np.zeros((nl, n_assets))
    debt = np.zeros((nl, n_assets)); cf = np.zeros(nl); full = np.zeros(nl); small = np.zeros(nl)
    supply = np.zeros((nl, n_assets)); borrow = np.zeros((nl, n_assets))
    for j, (n, loan) in enumerate(loans):
        s_rates, b_rates, _ = loan_rates(loan)
        for leg, (t, b), r in zip(loan.collateral, _loan_legs(loan), s_rates):
            a = a_of[leg.asset]
            # two legs of one asset: merge quantities, keep the quantity-weighted LT/bonus
            tot = coll[j, a] + leg.quantity
            lt[j, a] = (lt[j, a] * coll[j, a] + t * leg.quantity) / tot
            bonus[j, a] = (bonus[j, a] * coll[j, a] + b * leg.quantity) / tot
            coll[j, a] = tot
            supply[j, a] = r
        for leg, r in zip(loan.debt, b_rates):
            debt[j, a_of[leg.asset]] += leg.quantity
            borrow[j, a_of[leg.asset]] = r
        cf[j] = loan.close_factor
        full[j] = aave_close_factor_threshold()
        small[j] = AAVE_SMALL_POSITION_USD if loan.preset == "aave-v3" else 0.0
    coll_legs = ([], [], [], [], [])
    for j, acc in enumerate(p.accounts):
        for k, leg in enumerate(acc.collateral):
            ratio, source = collateral_terms(acc, p, k)
            for lst, v in zip(coll_legs, (j, a_of[leg.asset], leg.quantity,
                                          lq.collateral_curve(leg.quantity, ratio), source)):
                lst.append(v)
    book = Book(
        assets=assets, today=today, ids=ids, kinds=kinds, labels=labels,
        spot_pos=_idx(spot[0]), spot_asset=_idx(spot[1]), spot_qty=_arr(spot[2]),
        iso_pos=_idx(iso["pos"]), iso_asset=_idx(iso["asset"]), iso_sign=_arr(iso["sign"]),
        iso_qty=_arr(iso["qty"]), iso_entry=_arr(iso["entry"]), iso_margin=_arr(iso["margin"]),
        iso_lp=_arr(iso["lp"]),
        account_ids=[a.id for a in p.accounts], account_wallet=_arr([a.wallet_balance for a in p.accounts]),
        cross_pos=_idx(cross["pos"]), cross_account=_idx(cross["account"]),
        cross_asset=_idx(cross["asset"]), cross_sign=_arr(cross["sign"]),
        cross_qty=_arr(cross["qty"]), cross_entry=_arr(cross["entry"]),
        cross_tables=list(cross["table"]), cross_lines=list(cross["lines"]),
        loan_pos=_idx([n for n, _ in loans]), loan_coll=coll, loan_lt=lt, loan_bonus=bonus,
        loan_debt=debt, loan_cf=cf, loan_full_close=full, loan_small=small,
        warnings=list(warnings),
        iso_c=_arr(iso["c"]), iso_d=_arr(iso["d"]), iso_inverse=np.asarray(iso["inverse"], bool),
        iso_unit=_arr(iso["unit"]), iso_lines=list(iso["lines"]), iso_funding=_arr(iso["funding"]),
        iso_returns=np.asarray(iso["returns"], bool), iso_backstop=_arr(iso["backstop"]),
        cross_inverse=np.asarray(cross["inverse"], bool), cross_unit=_arr(cross["unit"]),
        cross_funding=_arr(cross["funding"]),
        coll_account=_idx(coll_legs[0]), coll_asset=_idx(coll_legs[1]), coll_qty=_arr(coll_legs[2]),
        coll_curves=list(coll_legs[3]), coll_source=list(coll_legs[4]),
        loan_supply_apy=supply, loan_borrow_apy=borrow,
    )
    # cross tables: OKX/Bybit effective single lines replace the table for MM evaluation
    book.cross_tables = [
        TierTable(t.venue, t.asset, fl, np.r_[fl[1:], np.inf], m, c, np.full(len(m), np.inf), t.basis)
        for t, (fl, m, c) in zip(book.cross_tables, book.cross_lines)]
    book.cross_groups = _cross_groups(book)
    book.account_groups = [[g for g in book.cross_groups if g.account == j]
                           for j in range(book.n_accounts)]
    book.account_collateral = [[int(c) for c in np.flatnonzero(book.coll_account == j)]
                               for j in range(book.n_accounts)]
    width = max((len(m) for _, m, _ in book.iso_lines), default=1)
    pad = lambda v, fill: np.concatenate([v, np.full(width - len(v), fill)])  # noqa: E731
    book.iso_line_floors = np.array([pad(f, np.inf) for f, _, _ in book.iso_lines]).reshape(-1, width)
    book.iso_line_mmr = np.array([pad(m, m[-1]) for _, m, _ in book.iso_lines]).reshape(-1, width)
    book.iso_line_cum = np.array([pad(c, c[-1]) for _, _, c in book.iso_lines]).reshape(-1, width)
    book.warnings.extend(account_warnings(book))
    return book


def _iso_lines(side: int, quantity: float, entry: float, terms: lq.PerpTerms):
    """(floors, mmr, cum) of an isolated perp's MM lines (:func:`lq.effective_mm_line`); the
    floors (notional, or coin for inverse) of a full table, one 0 for a single line."""
    mmr, cum = lq.effective_mm_line(side, quantity, entry, terms)
    floors = terms.table.floors.copy() if len(mmr) == len(terms.table.floors) else np.zeros(len(mmr))
    return floors, mmr, cum


def cross_member_curve(book: Book, i: int) -> lq.MMCurve:
    """The USD maintenance margin of cross position ``i`` as a function of its price."""
    if book.cross_inverse[i]:
        return lq.inverse_mm_curve(float(book.cross_unit[i]), book.cross_lines[i])
    return lq.mm_curve(book.cross_qty[i:i + 1], [book.cross_lines[i]])


def cross_member_value(book: Book, i: int) -> tuple[float, float]:
    """(slope, const) of cross position ``i``'s unrealised P&L in its price (USD)."""
    s, u, ep = float(book.cross_sign[i]), float(book.cross_unit[i]), float(book.cross_entry[i])
    if book.cross_inverse[i]:
        return s * u / ep, -s * u
    return s * u, -s * u * ep


def _cross_groups(book: Book) -> list[CrossGroup]:
    groups: dict[tuple[int, int, int, bool], list[int]] = {}
    for i in range(len(book.cross_pos)):
        key = (int(book.cross_account[i]), int(book.cross_asset[i]), int(book.cross_sign[i]),
               bool(book.cross_inverse[i]))
        groups.setdefault(key, []).append(i)
    out = []
    for (acc, asset, sign, inverse), members in groups.items():
        m = np.asarray(members)
        parts = [cross_member_value(book, i) for i in members]
        if inverse:
            curve = lq.sum_curves([cross_member_curve(book, i) for i in members])
        else:
            curve = lq.mm_curve(book.cross_qty[m], [book.cross_lines[i] for i in m])
        out.append(CrossGroup(acc, asset, sign,
                              float(sum(a for a, _ in parts)),                   # slope in price
                              float(sum(b for _, b in parts)),                   # constant
                              curve, inverse,
                              float(sign * np.dot(book.cross_funding[m], book.cross_unit[m]))))
    return out
