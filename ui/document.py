"""The editable portfolio document: what the user typed, cell by cell, and its validation.

This module has no Qt. It keeps every field exactly as entered (a string when the engine
rejects it), so nothing the user typed is lost, and validates through the engine
(:func:`engine.position_from_dict`, :func:`engine.check_portfolio`) to find, for each cell,
the engine's message. The part of the portfolio that is valid is handed to the engine as a
:class:`engine.Portfolio`; invalid rows are left out and reported.

Tolerant file reading: a portfolio file with one bad position still opens, with the bad
cell marked, instead of being refused.
"""
from __future__ import annotations

import copy
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import (InputError, Issue, Portfolio, check_portfolio, portfolio_from_dict,
                    position_from_dict)
from engine.atomic import json_text, write_text_atomic
from engine.parsing import (COLLATERAL_POSITIONAL, LOAN_POSITIONAL, LegSyntaxError, format_legs,
                            format_number, number_or_text)
from engine.parsing import parse_legs as engine_parse_legs
from engine.portfolio import (CONTRACTS, FORMAT, KINDS, MARGIN_MODES, SIDES, check_name, check_top_level,
                              read_portfolio_file)

_uid = itertools.count(1)


# --------------------------------------------------------------------------- columns
@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kinds: tuple[str, ...]          # kinds the field applies to ("" = computed column)
    editor: str = "text"            # text, number, combo, asset, account, venue, legs, computed
    tip: str = ""
    numeric: bool = False


ALL = KINDS
COLUMNS: tuple[Column, ...] = (
    Column("id", "ID", ALL, "text", "A name for the position, unique in the portfolio."),
    Column("kind", "Kind", ALL, "combo", "spot: coins held; perp: perpetual future; "
           "loan: borrowing against collateral (Aave-style)."),
    Column("asset", "Asset", ("spot", "perp"), "asset", "Asset symbol, e.g. BTC. For a loan, "
           "the main collateral asset is shown."),
    Column("side", "Side", ("perp",), "combo", "long profits when the price rises, short when it falls."),
    Column("quantity", "Quantity", ("spot", "perp"), "number", "Amount held, in units of the asset "
           "(> 0).", True),
    Column("entry_price", "Entry price", ("perp",), "number", "Average entry price of the perp, USD.", True),
    Column("leverage", "Leverage", ("perp",), "number", "Leverage of an isolated perp (margin = "
           "quantity × entry / leverage). Give leverage or isolated margin.", True),
    Column("margin_mode", "Margin mode", ("perp",), "combo", "isolated: only this position's margin is "
           "at risk; cross: shares the wallet balance of its account."),
    Column("account", "Account", ("perp",), "account", "Cross account this perp belongs to "
           "(see Accounts)."),
    Column("venue", "Venue", ("perp",), "venue", "Exchange whose tiered maintenance margin "
           "table and liquidation formula apply."),
    Column("collateral", "Collateral", ("loan",), "legs", "Collateral legs: 'ETH 12 @LT0.83; "
           "WBTC 0.5' — asset, quantity, optional liquidation threshold (@LT), bonus (@bonus) "
           "and interest earned a year (@supply2%)."),
    Column("debt", "Debt", ("loan",), "legs", "Debt legs: 'USDC 18000 @borrow5%; USDT 500' — "
           "asset, quantity, optional interest owed a year (@borrow; aave-v3 preset: its "
           "default rate)."),
    Column("price", "Price now", (), "computed", "Today's price of the position's asset "
           "(from Prices), USD.", True),
    Column("value", "Value now", (), "computed", "Value of the position at today's prices, USD: "
           "spot Q×P; perp its margin plus unrealised P&L (cross perps: unrealised P&L only, "
           "the wallet is counted in the account); loan collateral minus debt.", True),
    Column("liquidation_price", "Liq. price", (), "computed", "Price of the asset at which this "
           "position is liquidated, other prices held (empty when none); a cross perp is "
           "liquidated with its account: the price that liquidates the account.", True),
    Column("venue_liquidation_price", "Venue liq.", (), "computed", "The liquidation price the "
           "venue showed in the imported file (empty when it had none). A difference over 1 % "
           "from ours is flagged: usually a tier table, fees or a cross account's other "
           "positions.", True),
    Column("distance", "Distance", (), "computed", "Move of the asset from today's price to the "
           "liquidation price (negative: a fall liquidates); a cross perp: its account's "
           "liquidation move.", True),
    Column("isolated_margin", "Isolated margin", ("perp",), "number", "Margin posted for an isolated "
           "perp, USD (instead of leverage).", True),
    Column("maintenance_margin_rate", "MMR", ("perp",), "number", "Maintenance margin rate "
           "(e.g. 0.005 = 0.5%). Empty: from the venue's tier table.", True),
    Column("maintenance_amount", "Maint. amount", ("perp",), "number", "Maintenance amount "
           "(cum) of the tier, USD, used with an explicit MMR.", True),
    Column("contract", "Contract", ("perp",), "combo", "linear: quantity in the asset, margin "
           "in USD; inverse (coin-margined, Binance COIN-M / Bybit inverse): quantity in "
           "contracts of 'Contract size' USD, margin in the coin."),
    Column("contract_size", "Contract size", ("perp",), "number", "USD per contract of an "
           "inverse perp (Binance BTCUSD 100, altcoins 10; Bybit 1).", True),
    Column("funding_rate", "Funding rate", ("perp",), "number", "Funding rate per interval "
           "(0.01% = 0.0001; positive: longs pay). It accrues in replays and Monte Carlo.", True),
    Column("funding_interval_hours", "Funding (h)", ("perp",), "number", "Hours between "
           "funding payments (empty: the venue's, 8 h; Hyperliquid 1 h).", True),
    Column("cost_basis", "Cost basis", ("spot",), "number", "Average purchase price, USD "
           "(optional, for your reference).", True),
    Column("close_factor", "Close factor", ("loan",), "number", "Share of the debt a liquidation "
           "repays (Aave v3: 0.5, or 1 below HF 0.95).", True),
    Column("liquidation_bonus", "Liq. bonus", ("loan",), "number", "Extra collateral the "
           "liquidator takes, as a fraction of the repaid debt (e.g. 0.05).", True),
    Column("preset", "Preset", ("loan",), "combo", "aave-v3 fills liquidation thresholds and "
           "bonuses from the bundled Aave v3 table."),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
EDITABLE_KEYS = tuple(c.key for c in COLUMNS if c.editor != "computed")
CHOICES = {"kind": KINDS, "side": SIDES, "margin_mode": MARGIN_MODES, "preset": ("", "aave-v3"),
           "contract": CONTRACTS}


def column(key: str) -> Column:
    return COLUMNS[COLUMN_KEYS.index(key)]


def applies(col: Column, kind: Any) -> bool:
    return kind not in KINDS or kind in col.kinds or col.key in ("id", "kind")


# --------------------------------------------------------------------------- formatting
fmt_number = format_number   # a number as the user would type it


def fmt_display(value: Any) -> str:
    """A number for display, with thousands separators."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.10g}" if value == int(value) and abs(value) < 1e15 else f"{value:,.2f}"
    return fmt_number(value)


def fmt_money(x: float | None, signed: bool = False) -> str:
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return "—"
    sign = "+" if signed and x > 0 else ("−" if x < 0 else "")
    return f"{sign}${abs(x):,.0f}" if abs(x) >= 100 else f"{sign}${abs(x):,.2f}"


def fmt_price(x: float | None) -> str:
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.5g}"


def fmt_pct(x: float | None, digits: int = 1, signed: bool = True) -> str:
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return "—"
    text = f"{x * 100:+.{digits}f}%" if signed else f"{x * 100:.{digits}f}%"
    return text.replace("-", "−")


# --------------------------------------------------------------------------- loan legs
def parse_legs(text: str, old: Any = None, positional: tuple[str, ...] = LOAN_POSITIONAL
               ) -> list[dict] | str:
    """Compact leg text to a list of leg dicts (:func:`engine.parsing.parse_legs`), or the
    text itself when it cannot be split into legs (reported as a syntax error by
    validation). Extra keys of the old legs (matched by position) are kept. ``positional``:
    :data:`engine.parsing.COLLATERAL_POSITIONAL` for an account's collateral."""
    try:
        legs = engine_parse_legs(text, positional)
    except LegSyntaxError:
        return text
    if not legs:
        return text or ""
    old_legs = old if isinstance(old, list) else []
    for leg, prev in zip(legs, old_legs):
        if isinstance(prev, dict):
            leg.update({k: v for k, v in prev.items() if k not in _LEG_FIELDS})
    return legs


_LEG_FIELDS = ("asset", "quantity", "liquidation_threshold", "liquidation_bonus", "supply_apy",
               "borrow_apy", "collateral_ratio")


def parse_account_collateral(text: str, old: Any = None) -> list[dict] | str:
    """An account's collateral cell ('USDE 10000 @ratio0.9; BTC 0.1'), as :func:`parse_legs`."""
    return parse_legs(text, old, COLLATERAL_POSITIONAL)


# --------------------------------------------------------------------------- rows
@dataclass
class Row:
    """One position as typed: a JSON-like dict whose values may be invalid strings."""

    raw: dict
    uid: int = field(default_factory=lambda: next(_uid))

    def copy(self) -> "Row":
        return Row(copy.deepcopy(self.raw))


@dataclass
class CellIssue:
    severity: str          # "error" or "warning"
    message: str           # the engine's message, naming field and value


@dataclass
class Validation:
    """Validation of a whole document."""

    cells: dict[tuple[int, str], CellIssue] = field(default_factory=dict)   # (row uid, column)
    prices: dict[int, CellIssue] = field(default_factory=dict)              # price row index
    price_cells: dict[tuple[int, str], CellIssue] = field(default_factory=dict)
    accounts: dict[tuple[int, str], CellIssue] = field(default_factory=dict)  # (account idx, key)
    name: CellIssue | None = None               # the portfolio's name
    portfolio: Portfolio | None = None          # the valid part
    excluded: list[str] = field(default_factory=list)
    missing_prices: list[str] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    first_error: InputError | None = None

    @property
    def n_errors(self) -> int:
        return (sum(1 for c in self.cells.values() if c.severity == "error")
                + len(self.price_cells) + len(self.accounts) + (self.name is not None))

    @property
    def n_warnings(self) -> int:
        return sum(1 for c in self.cells.values() if c.severity == "warning")


def account_error_column(field_name: str | None) -> str:
    """The accounts-table cell of an engine field path (``accounts[0].id``,
    ``collateral[1].collateral_ratio``, ``wallet_asset``)."""
    f = field_name or ""
    if f.endswith(".id") and not f.startswith("collateral"):
        return "id"
    if f.startswith("collateral"):
        return "collateral"
    return f if f in ("wallet_balance", "venue") else "wallet_balance"


def error_column(field_name: str | None) -> str:
    """Map an engine field path (``collateral[0].quantity``, ``positions[3].id``) to a column."""
    if not field_name:
        return "id"
    head = re.split(r"[.\[]", field_name, maxsplit=1)[0]
    if head == "positions":
        return "id" if field_name.endswith(".id") else "kind"
    if head in COLUMN_KEYS:
        return head
    return "id"


_PLACEHOLDER = {"asset": "BTC", "side": "long", "margin_mode": "isolated", "quantity": 1.0,
                "entry_price": 1.0, "close_factor": 0.5, "liquidation_bonus": 0.05}
_OPTIONAL = ("leverage", "isolated_margin", "account", "venue", "maintenance_margin_rate",
             "maintenance_amount", "cost_basis", "preset", "contract", "contract_size",
             "funding_rate", "funding_interval_hours")
_LEG_ITEM = re.compile(r"^(collateral|debt)\[(\d+)\](?:\.(\w+))?$")


def _substitute(work: dict, field_name: str | None) -> bool:
    """Replace an invalid field by a harmless value so parsing can find the next error."""
    if not field_name:
        return False
    if field_name.endswith(".id") or field_name == "id":
        work["id"] = f"__row{id(work)}"
        return True
    if field_name == "kind":
        return False
    if field_name in _PLACEHOLDER:
        work[field_name] = _PLACEHOLDER[field_name]
        return True
    if field_name in _OPTIONAL:
        work.pop(field_name, None)
        return True
    if field_name in ("collateral", "debt"):
        work[field_name] = [{"asset": "BTC" if field_name == "collateral" else "USDC", "quantity": 1.0}]
        return True
    m = _LEG_ITEM.match(field_name)
    if m:
        side, j, sub = m.group(1), int(m.group(2)), m.group(3)
        legs = work[side]
        if sub is None:
            legs[j] = {"asset": "BTC", "quantity": 1.0}
        elif sub == "asset":
            legs[j]["asset"] = "BTC"
        elif sub == "quantity":
            legs[j]["quantity"] = 1.0
        else:
            legs[j].pop(sub, None)
        return True
    return False


def parse_row(raw: dict, index: int = 0):
    """Parse one row: (position or None, [InputError...], parsed-with-placeholders or None).

    Collects every field error of the row (not just the first) by substituting a harmless
    value for each bad field and parsing again.
    """
    work = copy.deepcopy(raw)
    errors: list[InputError] = []
    for side in ("collateral", "debt"):
        if work.get("kind") == "loan" and isinstance(work.get(side), str):
            errors.append(InputError("must look like 'ETH 12 @LT0.83; WBTC 0.5' (asset, quantity, "
                                     "optional @LT threshold and @bonus)", field=side,
                                     value=work[side], position=str(raw.get("id", ""))))
            _substitute(work, side)
    for _ in range(60):
        try:
            pos = position_from_dict(work, index)
        except InputError as exc:
            errors.append(exc)
            if not _substitute(work, exc.field):
                return None, errors, None
            continue
        if errors:
            return None, errors, pos
        return pos, errors, pos
    return None, errors, None


_number_or_text = number_or_text   # what to store for a typed number


# --------------------------------------------------------------------------- document
class Document:
    """Portfolio as typed: name, prices, accounts and position rows (no Qt)."""

    def __init__(self, raw: dict | None = None):
        self.name = "Untitled"
        self.prices: list[list] = []          # [asset, value] as typed
        self.accounts: list[dict] = []
        self.rows: list[Row] = []
        self.extra: dict = {}
        self.imported: Any = None             # engine.importers.Imported of a file read in
        self._cache: dict[int, tuple[str, Any]] = {}
        if raw is not None:
            self.load_dict(raw)

    # ---- reading
    def load_dict(self, raw: Any, source: str | None = None) -> None:
        prices, accounts, positions = check_top_level(raw, source)
        for i, acc in enumerate(accounts):
            if not isinstance(acc, dict):
                raise InputError("must be an object", field=f"accounts[{i}]", value=acc, source=source)
        for i, pos in enumerate(positions):
            if not isinstance(pos, dict):
                raise InputError("must be an object", field=f"positions[{i}]", value=pos, source=source)
        name = raw.get("name")
        self.name = "Untitled" if name is None else str(name)
        self.prices = [[str(k), v] for k, v in prices.items()]
        self.accounts = [copy.deepcopy(a) for a in accounts]
        self.rows = []
        for i, pos in enumerate(positions):
            row = copy.deepcopy(pos)
            row.setdefault("id", f"position-{i + 1}")
            self.rows.append(Row(row))
        self.extra = {k: copy.deepcopy(v) for k, v in raw.items()
                      if k not in ("format", "name", "prices", "accounts", "positions")}
        self._cache.clear()

    @classmethod
    def from_file(cls, path: str | Path) -> "Document":
        """Open any file the engine reads by content (:func:`engine.importers.import_file`;
        tolerant: bad fields are kept and marked, every other row is loaded). What was
        read (kind, notes, what the file lacks) is kept in :attr:`imported`."""
        from engine.importers import import_file
        path = Path(path)
        imp = import_file(path)
        doc = cls()
        doc.load_dict(imp.raw, source=path.name)
        doc.imported = imp
        return doc

    # ---- writing
    def to_dict(self) -> dict:
        """The document as ``crashlab.portfolio/1``. Valid rows are written the engine's way
        (numbers as numbers, unknown keys kept); invalid values are written as typed."""
        prices = {}
        for asset, value in self.prices:
            key = str(asset).strip().upper() or str(asset)
            prices[key] = value
        out = {"format": FORMAT, "name": self.name, "prices": prices,
               "accounts": [copy.deepcopy(a) for a in self.accounts], "positions": []}
        for i, row in enumerate(self.rows):
            pos, errors, _ = self._parse_cached(row, i)
            if pos is not None:
                from engine.portfolio import position_to_dict
                out["positions"].append(position_to_dict(pos))
            else:
                out["positions"].append(copy.deepcopy(row.raw))
        out.update(copy.deepcopy(self.extra))
        return out

    def dumps(self) -> str:
        """The document as JSON text (:func:`engine.atomic.json_text`: it can always be
        written, whatever was typed)."""
        return json_text(self.to_dict()) + "\n"

    def save(self, path: str | Path, *, backup: bool = False) -> None:
        """Write atomically; with ``backup`` the previous version is kept as ``NAME.bak``."""
        write_text_atomic(path, self.dumps(), backup=backup)

    # ---- editing helpers (the Qt layer wraps them in undo commands)
    def new_id(self, base: str = "position-1") -> str:
        """``base`` if no row uses it, else ``stem-N`` with the next free N."""
        taken = {str(r.raw.get("id")) for r in self.rows}
        if base not in taken:
            return base
        m = re.match(r"^(.*?)(?:-(\d+))?$", base)
        stem = m.group(1) or "position"
        n = int(m.group(2) or 1)
        while f"{stem}-{n}" in taken:
            n += 1
        return f"{stem}-{n}"

    def new_account_id(self) -> str:
        taken = {str(a.get("id")) for a in self.accounts}
        n = 1
        while f"account-{n}" in taken:
            n += 1
        return f"account-{n}"

    @staticmethod
    def normalize(key: str, text: Any, old: Any = None) -> Any:
        """What to store for a value typed into column ``key``."""
        col = column(key)
        if col.editor == "legs":
            return parse_legs(str(text), old) if isinstance(text, str) else text
        if col.numeric:
            return _number_or_text(text)
        if isinstance(text, str):
            t = text.strip()
            if t == "" and key not in ("id", "kind"):
                return None
            if key in ("kind", "side", "margin_mode", "preset", "venue", "contract"):
                return t.lower()
            if key == "asset":
                return t.upper()
            return t
        return text

    def set_field(self, index: int, key: str, value: Any) -> None:
        raw = self.rows[index].raw
        if value is None or value == "":
            raw.pop(key, None)
        else:
            raw[key] = value

    def get_field(self, index: int, key: str) -> Any:
        return self.rows[index].raw.get(key)

    # ---- validation
    def _parse_cached(self, row: Row, index: int):
        key = json.dumps(row.raw, sort_keys=True, default=str)
        hit = self._cache.get(row.uid)
        if hit is not None and hit[0] == key:
            return hit[1]
        result = parse_row(row.raw, index)
        self._cache[row.uid] = (key, result)
        return result

    def validate(self) -> Validation:
        v = Validation()
        try:
            name = check_name(self.name)
        except InputError as exc:           # kept as typed, marked; the engine gets a stand-in
            v.name = CellIssue("error", str(exc))
            name = "Untitled"
        # prices
        prices: dict[str, float] = {}
        for i, (asset, value) in enumerate(self.prices):
            try:
                p = portfolio_from_dict({"prices": {str(asset): value}})
            except InputError as exc:
                col = "asset" if not str(asset).strip() or exc.reason.startswith("must be an asset") else "price"
                v.price_cells[(i, col)] = CellIssue("error", str(exc))
                continue
            (a, price), = p.prices.items()
            if a in prices:
                v.price_cells[(i, "asset")] = CellIssue("error", f"field 'prices.{a}': duplicate asset "
                                                                 f"(value {asset!r})")
                continue
            prices[a] = price
        # accounts
        accounts = []
        seen_acc: set[str] = set()
        for i, acc in enumerate(self.accounts):
            try:
                p = portfolio_from_dict({"accounts": [acc]})
            except InputError as exc:
                v.accounts[(i, account_error_column(exc.field))] = CellIssue("error", str(exc))
                continue
            a = p.accounts[0]
            if a.id in seen_acc:
                v.accounts[(i, "id")] = CellIssue("error", f"account {a.id!r}, field 'id': duplicate "
                                                           f"account id (value {a.id!r})")
                continue
            seen_acc.add(a.id)
            accounts.append(a)
        # positions: per-row parsing
        parsed = []
        seen_ids: set[str] = set()
        for i, row in enumerate(self.rows):
            pos, errors, _ = self._parse_cached(row, i)
            for exc in errors:
                key = (row.uid, error_column(exc.field))
                v.cells.setdefault(key, CellIssue("error", str(exc)))
            if pos is None:
                v.excluded.append(str(row.raw.get("id", f"row {i + 1}")))
                continue
            if pos.id in seen_ids:
                v.cells[(row.uid, "id")] = CellIssue(
                    "error", f"position {pos.id!r}, field 'id': duplicate position id "
                             f"(value {pos.id!r}); ids must be unique")
                v.excluded.append(pos.id)
                continue
            seen_ids.add(pos.id)
            parsed.append((row, pos))
        # cross-field checks through the engine; drop failing positions (and accounts, with
        # their perps) until clean
        uid_of = {pos.id: row.uid for row, pos in parsed}
        acc_row = {str(a.get("id", "")).strip(): i for i, a in enumerate(self.accounts)}
        good = list(parsed)
        missing: dict[str, None] = {}
        for _ in range(len(good) + len(accounts) + 1):
            port = Portfolio(name=name, prices=dict(prices), accounts=list(accounts),
                             positions=[pos for _, pos in good])
            errors, warnings = check_portfolio(port)
            if not errors:
                break
            bad = set()
            bad_accounts = set()
            for exc in errors:
                if exc.position in acc_row and exc.position not in uid_of:
                    # an account's collateral: mark its cell, drop it and its perps
                    v.accounts.setdefault((acc_row[exc.position], account_error_column(exc.field)),
                                          CellIssue("error", str(exc)))
                    if exc.field and exc.field.endswith(".asset") and "no current price" in exc.reason:
                        missing.setdefault(str(exc.value), None)
                    bad_accounts.add(exc.position)
                    continue
                if exc.position in uid_of:
                    col = error_column(exc.field)
                    if col not in COLUMN_KEYS:
                        col = "id"
                    if exc.field == "asset" and "no current price" in exc.reason:
                        missing.setdefault(str(exc.value), None)
                        row = next(r for r, p in good if p.id == exc.position)
                        if row.raw.get("kind") == "loan":
                            col = self._loan_leg_column(row.raw, str(exc.value))
                    v.cells.setdefault((uid_of[exc.position], col), CellIssue("error", str(exc)))
                    bad.add(exc.position)
            if bad_accounts:
                accounts = [a for a in accounts if a.id not in bad_accounts]
                for r, p in good:
                    if getattr(p, "account", None) in bad_accounts and p.margin_mode == "cross":
                        v.cells.setdefault((r.uid, "account"), CellIssue(
                            "error", f"position {p.id!r}, field 'account': account "
                                     f"{p.account!r} has an error (see Accounts)"))
                        bad.add(p.id)
            if not bad and not bad_accounts:   # an error not tied to a row: report it, stop
                v.first_error = errors[0]
                good = []
                break
            v.excluded.extend(sorted(bad))
            good = [(r, p) for r, p in good if p.id not in bad]
        else:
            warnings = []
        if good:
            port = Portfolio(name=name, prices=dict(prices), accounts=list(accounts),
                             positions=[pos for _, pos in good], extra=dict(self.extra))
            _, warnings = check_portfolio(port)
            for w in warnings:
                if w.position in uid_of:
                    v.cells.setdefault((uid_of[w.position], error_column(w.field)),
                                       CellIssue("warning", str(w)))
            v.warnings = list(warnings)
            v.portfolio = port
        v.missing_prices = list(missing)
        return v

    @staticmethod
    def _loan_leg_column(raw: dict, asset: str) -> str:
        for leg in raw.get("debt") or []:
            if isinstance(leg, dict) and str(leg.get("asset", "")).upper() == asset:
                return "debt"
        return "collateral"


def default_position(kind: str, doc: Document, price_assets: list[str]) -> dict:
    """A sensible new row of ``kind`` (ids unique in ``doc``)."""
    asset = "BTC" if "BTC" in price_assets or not price_assets else price_assets[0]
    pid = doc.new_id(f"{kind}-1" if kind != "spot" else "spot-1")
    price = None
    for a, val in doc.prices:
        if str(a).upper() == asset and isinstance(val, (int, float)):
            price = float(val)
    if kind == "spot":
        return {"id": pid, "kind": "spot", "asset": asset, "quantity": 1.0}
    if kind == "perp":
        row = {"id": pid, "kind": "perp", "asset": asset, "side": "long", "quantity": 1.0,
               "entry_price": price or 1.0, "leverage": 5.0, "margin_mode": "isolated",
               "venue": "binance"}
        return row
    return {"id": pid, "kind": "loan", "preset": "aave-v3",
            "collateral": [{"asset": "ETH", "quantity": 1.0}], "debt": [{"asset": "USDC", "quantity": 1000.0}],
            "close_factor": 0.5, "liquidation_bonus": 0.05}
