"""Several files, one book: :func:`merge_books` adds imported books to a base book.

Rules (``crashlab.portfolio/1`` dictionaries, values as they are):

* positions keep their ``source`` (the file they came from; set where a file had none);
  an id already in the book gets a suffix (``hl-BTC-2``) and its cross account follows a
  renamed account. Importing a file again replaces the positions that came from it;
* prices: a file's price fills an asset the book has no price for; the book's own price
  stays (a difference over 0.5 % is noted);
* accounts of the same id are one account when exactly one side knows the wallet (a
  positions file without it and a balance file with it: Binance ``positionRisk`` and
  Transaction History) or when the file is imported again; otherwise they are kept apart
  (the incoming one renamed) and noted;
* what a file lacks (:attr:`Imported.needs`) is passed on unless another file gave it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..errors import InputError, Issue
from ..parsing import parse_number
from ..portfolio import FORMAT
from .base import SOURCE_KEY, Imported

PRICE_NOTE_TOLERANCE = 0.005


@dataclass
class Merged:
    """The combined book, what was noted while combining, and what it still lacks."""

    raw: dict
    notes: list[Issue] = field(default_factory=list)
    needs: list[InputError] = field(default_factory=list)


def _unique(base: str, taken: set[str]) -> str:
    new, n = base, 2
    while new in taken:
        new, n = f"{base}-{n}", n + 1
    return new


def _number(value) -> float | None:
    try:
        return parse_number(value)
    except (ValueError, TypeError):
        return None


def merge_books(base: dict | None, imports: list[tuple[str, Imported]],
                name: str | None = None) -> Merged:
    """Add each ``(source, Imported)`` of ``imports`` to ``base`` (None: an empty book).

    Parameters
    ----------
    base : dict or None
        The book imported into (a ``crashlab.portfolio/1`` dictionary; not modified).
    imports : list of (str, Imported)
        Each file's name (its ``source``) and what was read from it.
    name : str, optional
        The combined book's name (default: the base's, else the first file's).
    """
    out = copy.deepcopy(base) if base is not None else {
        "format": FORMAT, "name": name or (imports[0][1].raw.get("name") if imports else "Untitled"),
        "prices": {}, "accounts": [], "positions": []}
    if name:
        out["name"] = name
    out.setdefault("prices", {})
    out.setdefault("accounts", [])
    out.setdefault("positions", [])
    merged = Merged(out)
    pending: list[InputError] = []
    for source, imp in imports:
        pending += _add(merged, source, imp)
    wallets = {a.get("id"): a.get("wallet_balance") for a in out["accounts"]}
    merged.needs = [n for n in pending
                    if n.field != "wallet_balance" or wallets.get(n.position) is None]
    return merged


def _add(merged: Merged, source: str, imp: Imported) -> list[InputError]:
    out, raw = merged.raw, imp.raw
    note = merged.notes.append
    again = [p for p in out["positions"] if p.get(SOURCE_KEY) == source]
    if again:
        out["positions"] = [p for p in out["positions"] if p.get(SOURCE_KEY) != source]
        note(Issue(f"{source} imported again: its {len(again)} earlier position(s) replaced"))
    # accounts
    acc_map: dict[str, str] = {}
    for acc in raw.get("accounts", []):
        acc = copy.deepcopy(acc)
        aid = str(acc.get("id"))
        acc.setdefault(SOURCE_KEY, source)
        mine = next((a for a in out["accounts"] if str(a.get("id")) == aid), None)
        if mine is None:
            out["accounts"].append(acc)
            acc_map[aid] = aid
        elif mine.get(SOURCE_KEY) == source:                    # the same file again
            mine.update(acc)
            acc_map[aid] = aid
        elif _one_account(mine, acc):
            if mine.get("wallet_balance") is None:
                mine["wallet_balance"] = acc.get("wallet_balance")
                mine[SOURCE_KEY] = source
            mine.setdefault("venue", acc.get("venue"))
            acc_map[aid] = aid
            note(Issue(f"account {aid!r}: the positions of one file and the wallet balance of "
                       f"the other ({source}) combined", position=aid))
        else:
            new = _unique(aid, {str(a.get("id")) for a in out["accounts"]})
            acc["id"] = new
            out["accounts"].append(acc)
            acc_map[aid] = new
            note(Issue(f"account {aid!r} of {source} differs from the book's (wallet "
                       f"{acc.get('wallet_balance')!r} vs {mine.get('wallet_balance')!r}): kept "
                       f"apart as {new!r}", position=new))
    # positions
    taken = {str(p.get("id")) for p in out["positions"]}
    pos_map: dict[str, str] = {}
    renamed = 0
    for pos in raw.get("positions", []):
        pos = copy.deepcopy(pos)
        pid = str(pos.get("id", "position"))
        new = _unique(pid, taken)
        renamed += new != pid
        pos["id"] = pos_map[pid] = new
        taken.add(new)
        if pos.get("account") in acc_map and pos.get("kind") == "perp":
            pos["account"] = acc_map[pos["account"]]
        pos.setdefault(SOURCE_KEY, source)
        out["positions"].append(pos)
    if renamed:
        note(Issue(f"{renamed} position id(s) of {source} were already in the book: "
                   "suffixed to stay unique"))
    # prices
    for asset, value in raw.get("prices", {}).items():
        if asset not in out["prices"] or out["prices"][asset] in (None, ""):
            out["prices"][asset] = value
            continue
        mine, theirs = _number(out["prices"][asset]), _number(value)
        if mine and theirs and abs(theirs / mine - 1) > PRICE_NOTE_TOLERANCE:
            note(Issue(f"price of {asset}: the book's {mine:,.6g} kept, {source} says "
                       f"{theirs:,.6g}", field=f"prices.{asset}", value=theirs))
    # what the file lacks, renamed like its accounts and positions
    needs = []
    for n in imp.needs:
        where = acc_map if n.field == "wallet_balance" else pos_map
        needs.append(InputError(n.reason, field=n.field, value=n.value,
                                position=where.get(n.position, n.position), source=n.source))
    return needs


def _one_account(mine: dict, theirs: dict) -> bool:
    """Two files' accounts of one id are one when the venues agree and exactly one of them
    knows the wallet (positions from one file, the balance from the other)."""
    v1, v2 = mine.get("venue"), theirs.get("venue")
    if v1 and v2 and v1 != v2:
        return False
    return (mine.get("wallet_balance") is None) != (theirs.get("wallet_balance") is None)
