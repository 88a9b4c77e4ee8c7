"""Attribution: which account is liquidated, and P&L by asset and by position.

One home for the rules every report shares (stress, shock, sensitivity, Monte Carlo, the GUI
and the command line):

- a cross account is liquidated on a path when its positions are (they share the account's
  liquidation step, :func:`engine.replay.run_book`); an account without positions never is;
- a path's P&L splits into parts that add up to the portfolio's (:class:`PnL`):
  each position's value change less its costs (price P&L, under its label asset; a loan's
  label is its main collateral asset), the costs themselves (perps' funding under
  ``"funding"``, loans' interest under ``"interest"``: :data:`FUNDING_KEY`,
  :data:`INTEREST_KEY`), a liquidated cross account's wallet (``"wallet <account id>"``,
  :func:`wallet_key`) and each collateral leg of a cross account: its value change while
  held, all of its value today when the account is liquidated
  (``"collateral <account id> <ASSET>"``, :func:`collateral_key`). The wallet and the
  collateral are in no position's value, so they have their own lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .book import Book

FUNDING_KEY = "funding"
INTEREST_KEY = "interest"


def wallet_key(account_id: str) -> str:
    """The ``by_asset`` key of a cross account's wallet."""
    return f"wallet {account_id}"


def collateral_key(account_id: str, asset: str) -> str:
    """The ``by_asset`` key of a cross account's collateral leg in ``asset``."""
    return f"collateral {account_id} {asset}"


def account_liquidation_step(book: Book, liq_step: np.ndarray) -> np.ndarray:
    """(P, n_accounts) step at which each cross account is liquidated, -1 where it is not.

    ``liq_step`` is the kernel's (P, n_positions) first liquidation step per position.
    """
    liq_step = np.asarray(liq_step)
    out = np.full((liq_step.shape[0], book.n_accounts), -1, dtype=np.int64)
    for j in range(book.n_accounts):
        members = book.cross_pos[book.cross_account == j]
        if len(members):
            out[:, j] = liq_step[:, members].max(axis=1)
    return out


def account_liquidated(book: Book, liq_step: np.ndarray) -> np.ndarray:
    """(P, n_accounts) bool: the cross account is liquidated on that path."""
    return account_liquidation_step(book, liq_step) >= 0


def wallet_losses(book: Book, liq_step: np.ndarray) -> np.ndarray:
    """(n_accounts,) wallet lost, summed over the paths of ``liq_step`` (USD). An account
    liquidated at step 0 (already today) loses nothing in the scenario: it is not in the
    portfolio's value today."""
    dead = (account_liquidation_step(book, liq_step) >= 1).sum(axis=0)
    return np.asarray(book.account_wallet, float) * dead


def wallet_rows(accounts: list[dict]) -> list[dict]:
    """Each cross account's wallet as a row to list beside the positions.

    ``accounts`` are report rows with ``id``, ``wallet_balance`` and ``liquidated``
    (:func:`engine.stress.stress`, :func:`engine.stress.shock`). A wallet is worth its balance
    before and, unless its account is liquidated, after; position values leave it out, so
    the positions plus these rows add up to the portfolio's value and P&L (the same rule as
    :func:`pnl_by_asset`: the id is :func:`wallet_key`).
    """
    rows = []
    for a in accounts:
        w = float(a["wallet_balance"])
        lost = bool(a["liquidated"])
        rows.append({"id": wallet_key(a["id"]), "asset": "USD", "kind": "wallet", "account": a["id"],
                     "liquidated": lost, "value_before": w, "value_after": 0.0 if lost else w,
                     "pnl": -w if lost else 0.0})
    return rows



@dataclass
class PnL:
    """The parts of the P&L (USD), for one path or summed over paths; they add up to the
    portfolio's P&L (:meth:`total`).

    position : (n_positions,) value change of each position less its costs
    costs : (n_positions,) funding / interest gained (negative: paid)
    wallet : (n_accounts,) minus the wallet of each liquidated cross account
    collateral : (n_collateral,) value change of each cross account's collateral leg
    """

    position: np.ndarray
    costs: np.ndarray
    wallet: np.ndarray
    collateral: np.ndarray

    def total(self) -> float:
        return float(self.position.sum() + self.costs.sum() + self.wallet.sum()
                     + self.collateral.sum())

    def __add__(self, other: "PnL") -> "PnL":
        return PnL(self.position + other.position, self.costs + other.costs,
                   self.wallet + other.wallet, self.collateral + other.collateral)

    def scaled(self, factor: float) -> "PnL":
        return PnL(self.position * factor, self.costs * factor, self.wallet * factor,
                   self.collateral * factor)

    @classmethod
    def zeros(cls, book: Book) -> "PnL":
        return cls(np.zeros(book.n_positions), np.zeros(book.n_positions),
                   np.zeros(book.n_accounts), np.zeros(book.n_collateral))


def outcome_pnl(book: Book, out, path: int | None = None) -> PnL:
    """The P&L parts of a :class:`engine.replay.BookOutcome`: of path ``path``, or summed
    over every path (``None``)."""
    sel = slice(None) if path is None else slice(path, path + 1)
    end = out.position_end[sel]
    cost = out.cost_end[sel] if out.cost_end is not None else np.zeros_like(end)
    n = end.shape[0]
    position = (end - cost).sum(axis=0) - n * out.position_start
    wallet = -wallet_losses(book, out.liq_step[sel])
    collateral = np.zeros(book.n_collateral)
    if book.n_collateral:
        collateral = out.collateral_end[sel].sum(axis=0) - n * out.collateral_start
    return PnL(position, cost.sum(axis=0), wallet, collateral)


def cost_lines(book: Book, pnl: PnL) -> dict[str, float]:
    """``{"funding": perps' funding, "interest": loans' interest}`` of ``pnl`` (USD,
    negative: paid)."""
    kinds = np.asarray(book.kinds)
    costs = np.asarray(pnl.costs, float)
    return {key: float(costs[kinds == kind].sum()) if len(kinds) else 0.0
            for key, kind in ((FUNDING_KEY, "perp"), (INTEREST_KEY, "loan"))}


def pnl_by_asset(book: Book, pnl: PnL) -> dict[str, float]:
    """P&L per label asset (price P&L), ``"funding"`` and ``"interest"`` lines, minus the
    wallet per liquidated account (``wallet_key``) and each collateral leg's P&L
    (``collateral_key``). Lines that are exactly 0 (no costs, no loss) are left out, except
    the positions' assets."""
    out: dict[str, float] = {}
    for label, x in zip(book.labels, np.asarray(pnl.position, float)):
        out[label] = out.get(label, 0.0) + float(x)
    for key, x in cost_lines(book, pnl).items():
        if x:
            out[key] = out.get(key, 0.0) + x
    for aid, w in zip(book.account_ids, np.asarray(pnl.wallet, float)):
        if w:
            key = wallet_key(aid)
            out[key] = out.get(key, 0.0) + float(w)
    for c, x in enumerate(np.asarray(pnl.collateral, float)):
        key = collateral_key(book.account_ids[book.coll_account[c]], book.assets[book.coll_asset[c]])
        out[key] = out.get(key, 0.0) + float(x)
    return out


def liquidated_with(book: Book) -> list[str | None]:
    """Per position, the account a cross perp is liquidated with (None for the others): a
    cross perp's fate is its account's, so reports say "liquidated with account X"."""
    out: list[str | None] = [None] * book.n_positions
    for k, i in enumerate(book.cross_pos):
        out[int(i)] = book.account_ids[int(book.cross_account[k])]
    return out


def status_text(account: str | None, liquidated: bool) -> str:
    """How a position's fate reads in a table: "liquidated with account X", "LIQUIDATED"
    or "ok"."""
    if not liquidated:
        return "ok"
    return f"liquidated with account {account}" if account else "LIQUIDATED"


def pnl_by_position(book: Book, pnl: PnL) -> dict[str, float]:
    """P&L per position id (its costs included), plus one line per cross account for what is
    in no position: ``"<account id> (wallet and collateral)"`` -- adds up to the total."""
    out = {pid: float(x + c) for pid, x, c in zip(book.ids, pnl.position, pnl.costs)}
    for j, aid in enumerate(book.account_ids):
        legs = book.account_collateral[j]
        x = float(pnl.wallet[j] + sum(pnl.collateral[c] for c in legs))
        if x or legs:
            out[f"{aid} (wallet and collateral)"] = x
    return out
