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
from .portfolio import MAX_LEVERAGE, Loan, Perp, Portfolio, Spot
from .venues import (TierTable, aave_close_factor_threshold, aave_reserve, single_tier,
                     taker_fee, tier_table, venue_formula)

AAVE_SMALL_POSITION_USD = 2000.0


# --------------------------------------------------------------------------- perp terms
def perp_terms(pos: Perp, account_venue: str | None = None) -> lq.PerpTerms:
    """Resolve formula, tier table, fee and margin of a perp (raises InputError)."""
    venue = pos.venue or account_venue
    formula = venue_formula(venue)
    if pos.maintenance_margin_rate is not None:
        table = single_tier(pos.maintenance_margin_rate, pos.maintenance_amount or 0.0,
                            venue or "explicit", pos.asset)
    else:
        table = tier_table(venue or "binance", pos.asset)
        if table is None:
            if venue is None:
                raise InputError("has no maintenance_margin_rate and no venue with a tier table for "
                                 f"{pos.asset}; give maintenance_margin_rate (e.g. 0.005) or a venue",
                                 field="maintenance_margin_rate", value=None, position=pos.id)
            raise InputError(f"venue {venue!r} has no tier table for {pos.asset} in the bundled "
                             "snapshot; give maintenance_margin_rate", field="venue", value=venue,
                             position=pos.id)
        if pos.maintenance_amount is not None:
            raise InputError("maintenance_amount needs maintenance_margin_rate (the venue table "
                             "gives both)", field="maintenance_amount", value=pos.maintenance_amount,
                             position=pos.id)
    margin = pos.margin if pos.margin_mode == "isolated" else 0.0
    return lq.PerpTerms(formula=formula, table=table, fee=taker_fee(venue), margin=margin)


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
                basis = pos.quantity if terms.table.basis == "quantity" else pos.quantity * pos.entry_price
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
            if surplus[j] <= 0:
                out.append(Issue(f"cross account equity is at or below maintenance at today's prices "
                                 f"(surplus {surplus[j]:,.2f}); the account is liquidated at step 0",
                                 field="wallet_balance", value=book.account_wallet[j], position=aid))
    return out


# --------------------------------------------------------------------------- book arrays
class CrossGroup(NamedTuple):
    """Cross positions of one account on one asset and side: equity is linear in the price
    (``slope * price + const``) and their summed maintenance margin is ``mm(price)``."""

    account: int
    asset: int
    sign: int
    slope: float
    const: float
    mm: lq.MMCurve


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
    iso_margin: np.ndarray
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
    # cross positions grouped by (account, asset, side), in first-seen order, and the same
    # groups split by account (index = account); built by compile_book
    cross_groups: list[CrossGroup] = field(default_factory=list)
    account_groups: list[list[CrossGroup]] = field(default_factory=list)

    @property
    def n_positions(self) -> int:
        return len(self.ids)

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    def asset_index(self, asset: str) -> int:
        return self.assets.index(asset)

    def cross_surplus_today(self) -> np.ndarray:
        """Equity minus maintenance of each cross account at today's prices, shape (n_acc,)."""
        out = self.account_wallet.copy()
        for i in range(len(self.cross_pos)):
            price = self.today[self.cross_asset[i]]
            q = self.cross_qty[i]
            out[self.cross_account[i]] += self.cross_sign[i] * q * (price - self.cross_entry[i])
            out[self.cross_account[i]] -= float(self.cross_tables[i].maintenance(q * price))
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
    iso = ([], [], [], [], [], [], [])
    cross = ([], [], [], [], [], [], [], [])
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
            terms = perp_terms(pos, acc_venue.get(pos.account) if pos.account else None)
            if pos.margin_mode == "isolated":
                lp = lq.isolated_liquidation_price(pos.sign, pos.quantity, pos.entry_price, terms)
                for lst, v in zip(iso, (n, a_of[pos.asset], pos.sign, pos.quantity, pos.entry_price,
                                        terms.margin, np.nan if lp is None else lp)):
                    lst.append(v)
            else:
                if terms.formula == "okx":
                    mmr, cum = lq.effective_mm_line(pos.sign, pos.quantity, pos.entry_price, terms)
                    floors = np.zeros(1)
                else:  # generic and Bybit cross: MM at mark price from the tier table
                    floors, mmr, cum = (terms.table.floors.copy(), terms.table.mmr.copy(),
                                        terms.table.cum.copy())
                for lst, v in zip(cross, (n, acc_index[pos.account], a_of[pos.asset], pos.sign,
                                          pos.quantity, pos.entry_price, terms.table,
                                          (floors, mmr, cum))):
                    lst.append(v)
        else:
            loans.append((n, pos))
    n_assets = len(assets)
    nl = len(loans)
    coll = np.zeros((nl, n_assets)); lt = np.zeros((nl, n_assets)); bonus = np.zeros((nl, n_assets))
    debt = np.zeros((nl, n_assets)); cf = np.zeros(nl); full = np.zeros(nl); small = np.zeros(nl)
    for j, (n, loan) in enumerate(loans):
        for leg, (t, b) in zip(loan.collateral, _loan_legs(loan)):
            a = a_of[leg.asset]
            # two legs of one asset: merge quantities, keep the quantity-weighted LT/bonus
            tot = coll[j, a] + leg.quantity
            lt[j, a] = (lt[j, a] * coll[j, a] + t * leg.quantity) / tot
            bonus[j, a] = (bonus[j, a] * coll[j, a] + b * leg.quantity) / tot
            coll[j, a] = tot
        for leg in loan.debt:
            debt[j, a_of[leg.asset]] += leg.quantity
        cf[j] = loan.close_factor
        full[j] = aave_close_factor_threshold()
        small[j] = AAVE_SMALL_POSITION_USD if loan.preset == "aave-v3" else 0.0
    book = Book(
        assets=assets, today=today, ids=ids, kinds=kinds, labels=labels,
        spot_pos=_idx(spot[0]), spot_asset=_idx(spot[1]), spot_qty=_arr(spot[2]),
        iso_pos=_idx(iso[0]), iso_asset=_idx(iso[1]), iso_sign=_arr(iso[2]), iso_qty=_arr(iso[3]),
        iso_entry=_arr(iso[4]), iso_margin=_arr(iso[5]), iso_lp=_arr(iso[6]),
        account_ids=[a.id for a in p.accounts], account_wallet=_arr([a.wallet_balance for a in p.accounts]),
        cross_pos=_idx(cross[0]), cross_account=_idx(cross[1]), cross_asset=_idx(cross[2]),
        cross_sign=_arr(cross[3]), cross_qty=_arr(cross[4]), cross_entry=_arr(cross[5]),
        cross_tables=list(cross[6]), cross_lines=list(cross[7]),
        loan_pos=_idx([n for n, _ in loans]), loan_coll=coll, loan_lt=lt, loan_bonus=bonus,
        loan_debt=debt, loan_cf=cf, loan_full_close=full, loan_small=small,
        warnings=list(warnings),
    )
    # cross tables: OKX/Bybit effective single lines replace the table for MM evaluation
    book.cross_tables = [
        TierTable(t.venue, t.asset, fl, np.r_[fl[1:], np.inf], m, c, np.full(len(m), np.inf))
        for t, (fl, m, c) in zip(book.cross_tables, book.cross_lines)]
    book.cross_groups = _cross_groups(book)
    book.account_groups = [[g for g in book.cross_groups if g.account == j]
                           for j in range(book.n_accounts)]
    book.warnings.extend(account_warnings(book))
    return book


def _cross_groups(book: Book) -> list[CrossGroup]:
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i in range(len(book.cross_pos)):
        key = (int(book.cross_account[i]), int(book.cross_asset[i]), int(book.cross_sign[i]))
        groups.setdefault(key, []).append(i)
    out = []
    for (acc, asset, sign), members in groups.items():
        m = np.asarray(members)
        q = book.cross_qty[m]
        out.append(CrossGroup(acc, asset, sign,
                              float(sign * q.sum()),                             # slope in price
                              float(-sign * np.dot(q, book.cross_entry[m])),     # constant
                              lq.mm_curve(q, [book.cross_lines[i] for i in m])))
    return out
