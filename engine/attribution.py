"""Attribution: which account is liquidated, and P&L by asset and by position.

One home for the rules every report shares (stress, shock, sensitivity, Monte Carlo, the GUI):

- a cross account is liquidated on a path when its positions are (they share the account's
  liquidation step, :func:`engine.replay.run_book`); an account without positions never is;
- P&L by asset sums each position's P&L under its label asset (a loan's label is its main
  collateral asset); a liquidated cross account also loses its wallet, reported under
  ``"wallet <account id>"`` (:func:`wallet_key`) because the wallet is in no position's value.
"""
from __future__ import annotations

import numpy as np

from .book import Book


def wallet_key(account_id: str) -> str:
    """The ``by_asset`` key of a cross account's wallet."""
    return f"wallet {account_id}"


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
    """(n_accounts,) wallet lost, summed over the paths of ``liq_step`` (USD)."""
    dead = account_liquidated(book, liq_step).sum(axis=0)
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


def pnl_by_asset(book: Book, position_pnl, wallet_loss=None) -> dict[str, float]:
    """P&L per label asset, plus ``-wallet`` per liquidated account (``wallet_key``).

    ``position_pnl`` (n_positions,) and ``wallet_loss`` (n_accounts,) are in USD, for one path
    or as a mean over paths; accounts with no wallet loss get no key.
    """
    pnl = np.asarray(position_pnl, float)
    out: dict[str, float] = {}
    for label, x in zip(book.labels, pnl):
        out[label] = out.get(label, 0.0) + float(x)
    if wallet_loss is not None:
        for aid, w in zip(book.account_ids, np.asarray(wallet_loss, float)):
            if w:
                key = wallet_key(aid)
                out[key] = out.get(key, 0.0) - float(w)
    return out
