"""Qt models over the editable portfolio document, with undo/redo.

:class:`PortfolioDocument` owns the pure :class:`ui.document.Document`, a QUndoStack and
three table models (holdings, prices, accounts). Every edit is an undo command; after each
one the document is validated through the engine and the models repaint the cells whose
state changed (invalid cells: red background, error icon, the engine's message as tooltip;
the typed text stays in the cell).
"""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QApplication, QStyle

from engine.scenarios import bundled_beta
from engine.venue_check import venue_issue

from .document import (COLUMNS, CellIssue, Document, Validation, applies, default_position,
                       fmt_display, fmt_money, fmt_number, fmt_pct, fmt_price, format_legs,
                       parse_account_collateral)
from .theme import LIGHT, Theme

ROLE = Qt.ItemDataRole
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
#: Role giving the engine's issue for a cell: None, ("error", message) or ("warning", message).
IssueRole = ROLE.UserRole + 1
#: Role giving a sortable key.
SortRole = ROLE.UserRole + 2


def _icons():
    style = QApplication.style()
    return {"error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)}


# --------------------------------------------------------------------------- undo commands
class SetValueCommand(QUndoCommand):
    """Set one field of a position, price or account row."""

    def __init__(self, doc: "PortfolioDocument", target: str, row: int, key: str, old: Any, new: Any,
                 text: str):
        super().__init__(text)
        self.doc, self.target, self.row, self.key = doc, target, row, key
        self.old, self.new = copy.deepcopy(old), copy.deepcopy(new)

    def redo(self):
        self.doc._apply_value(self.target, self.row, self.key, self.new)

    def undo(self):
        self.doc._apply_value(self.target, self.row, self.key, self.old)


class InsertRowsCommand(QUndoCommand):
    def __init__(self, doc, target: str, row: int, items: list, text: str):
        super().__init__(text)
        self.doc, self.target, self.row, self.items = doc, target, row, copy.deepcopy(items)

    def redo(self):
        self.doc._insert(self.target, self.row, copy.deepcopy(self.items))

    def undo(self):
        self.doc._remove(self.target, list(range(self.row, self.row + len(self.items))))


class RemoveRowsCommand(QUndoCommand):
    def __init__(self, doc, target: str, rows: list[int], text: str):
        super().__init__(text)
        self.doc, self.target = doc, target
        self.rows = sorted(rows)
        self.items = [copy.deepcopy(doc._item(target, r)) for r in self.rows]

    def redo(self):
        self.doc._remove(self.target, self.rows)

    def undo(self):
        for r, item in zip(self.rows, self.items):
            self.doc._insert(self.target, r, [copy.deepcopy(item)])


class SetNameCommand(QUndoCommand):
    def __init__(self, doc, old: str, new: str):
        super().__init__("Rename portfolio")
        self.doc, self.old, self.new = doc, old, new

    def redo(self):
        self.doc._set_name(self.new)

    def undo(self):
        self.doc._set_name(self.old)


# --------------------------------------------------------------------------- document
class PortfolioDocument(QObject):
    """The open portfolio: content, undo stack, validation and the three models."""

    changed = Signal()                 # content changed (debounce, then recompute)
    validated = Signal(object)         # Validation
    path_changed = Signal(str)
    name_changed = Signal(str)
    loaded = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = Document()
        self.path: str | None = None
        self.undo = QUndoStack(self)
        self.validation = Validation()
        self.theme: Theme = LIGHT
        self.holdings = HoldingsModel(self)
        self.prices = PricesModel(self)
        self.accounts = AccountsModel(self)

    # ---- whole-document operations (not undoable)
    def load(self, doc: Document, path: str | None) -> None:
        for m in (self.holdings, self.prices, self.accounts):
            m.beginResetModel()
        self.doc = doc
        self.path = path
        self.undo.clear()
        for m in (self.holdings, self.prices, self.accounts):
            m.endResetModel()
        self.revalidate()
        self.undo.setClean()
        self.path_changed.emit(path or "")
        self.name_changed.emit(doc.name)
        self.loaded.emit()
        self.changed.emit()

    def set_path(self, path: str) -> None:
        self.path = path
        self.undo.setClean()
        self.path_changed.emit(path)

    @property
    def dirty(self) -> bool:
        return not self.undo.isClean()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for m in (self.holdings, self.prices, self.accounts):
            m.refresh_all()

    # ---- public edits (undoable)
    def set_cell(self, target: str, row: int, key: str, text: Any) -> bool:
        if target == "position":
            old = self.doc.get_field(row, key)
            new = Document.normalize(key, text, old)
            if key == "id" and isinstance(new, str) and not new.strip():
                new = text
        elif target == "price":
            old = self.doc.prices[row][0 if key == "asset" else 1]
            new = _norm_price(key, text)
        else:
            old = self.doc.accounts[row].get(key)
            new = _norm_account(key, text, old)
        if _same(old, new):
            return False
        label = {"position": "position", "price": "price", "account": "account"}[target]
        if target == "account" and key == "id" and isinstance(old, str):
            # rename the account in the perps that use it, as one undo step
            self.undo.beginMacro(f"Rename account {old} → {new}")
            self.undo.push(SetValueCommand(self, target, row, key, old, new, "Rename account"))
            for i, r in enumerate(self.doc.rows):
                if r.raw.get("account") == old:
                    self.undo.push(SetValueCommand(self, "position", i, "account", old, new,
                                                   "Rename account"))
            self.undo.endMacro()
            return True
        self.undo.push(SetValueCommand(self, target, row, key, old, new, f"Edit {label} {key}"))
        return True

    def insert_positions(self, row: int, raws: list[dict], text: str = "Add position") -> None:
        self.undo.push(InsertRowsCommand(self, "position", row, raws, text))

    def add_position(self, kind: str = "spot", row: int | None = None) -> int:
        raw = default_position(kind, self.doc, [str(a).upper() for a, _ in self.doc.prices])
        row = len(self.doc.rows) if row is None else row
        self.insert_positions(row, [raw], f"Add {kind} position")
        return row

    def duplicate_positions(self, rows: list[int]) -> list[int]:
        if not rows:
            return []
        rows = sorted(rows)
        raws = []
        for r in rows:
            raw = copy.deepcopy(self.doc.rows[r].raw)
            raw["id"] = self.doc.new_id(f"{raw.get('id', 'position')}-copy")
            raws.append(raw)
            self.doc.rows.append(type(self.doc.rows[r])(raw))     # reserve the id
        del self.doc.rows[len(self.doc.rows) - len(raws):]
        at = rows[-1] + 1
        self.insert_positions(at, raws, "Duplicate position" + ("s" if len(raws) > 1 else ""))
        return list(range(at, at + len(raws)))

    def remove_positions(self, rows: list[int]) -> None:
        if rows:
            self.undo.push(RemoveRowsCommand(self, "position", rows,
                                             "Delete position" + ("s" if len(rows) > 1 else "")))

    def add_price(self, asset: str = "", value: Any = None) -> int:
        row = len(self.doc.prices)
        self.undo.push(InsertRowsCommand(self, "price", row, [[asset, value]], "Add price"))
        return row

    def add_missing_prices(self, assets: list[str]) -> None:
        if not assets:
            return
        self.undo.push(InsertRowsCommand(self, "price", len(self.doc.prices),
                                         [[a, None] for a in assets], "Add missing prices"))

    def remove_prices(self, rows: list[int]) -> None:
        if rows:
            self.undo.push(RemoveRowsCommand(self, "price", rows, "Delete price"))

    def add_account(self) -> int:
        row = len(self.doc.accounts)
        self.undo.push(InsertRowsCommand(self, "account", row,
                                         [{"id": self.doc.new_account_id(), "wallet_balance": 0.0}],
                                         "Add account"))
        return row

    def remove_accounts(self, rows: list[int]) -> None:
        if rows:
            self.undo.push(RemoveRowsCommand(self, "account", rows, "Delete account"))

    def rename(self, name: str) -> None:
        if name != self.doc.name:
            self.undo.push(SetNameCommand(self, self.doc.name, name))

    # ---- appliers (called by the commands)
    def _model(self, target: str):
        return {"position": self.holdings, "price": self.prices, "account": self.accounts}[target]

    def _item(self, target: str, row: int):
        if target == "position":
            return self.doc.rows[row].raw
        if target == "price":
            return self.doc.prices[row]
        return self.doc.accounts[row]

    def _apply_value(self, target: str, row: int, key: str, value: Any) -> None:
        if target == "position":
            self.doc.set_field(row, key, copy.deepcopy(value))
        elif target == "price":
            self.doc.prices[row][0 if key == "asset" else 1] = copy.deepcopy(value)
        else:
            if value is None:
                self.doc.accounts[row].pop(key, None)
            else:
                self.doc.accounts[row][key] = copy.deepcopy(value)
        self._model(target).row_changed(row)
        self._after_edit()

    def _insert(self, target: str, row: int, items: list) -> None:
        from .document import Row
        model = self._model(target)
        model.beginInsertRows(QModelIndex(), row, row + len(items) - 1)
        if target == "position":
            self.doc.rows[row:row] = [Row(copy.deepcopy(i)) for i in items]
        elif target == "price":
            self.doc.prices[row:row] = [list(i) for i in items]
        else:
            self.doc.accounts[row:row] = [dict(i) for i in items]
        model.endInsertRows()
        self._after_edit()

    def _remove(self, target: str, rows: list[int]) -> None:
        model = self._model(target)
        seq = {"position": self.doc.rows, "price": self.doc.prices, "account": self.doc.accounts}[target]
        for r in sorted(rows, reverse=True):
            model.beginRemoveRows(QModelIndex(), r, r)
            del seq[r]
            model.endRemoveRows()
        self._after_edit()

    def _set_name(self, name: str) -> None:
        self.doc.name = name
        self.name_changed.emit(name)
        self._after_edit()

    def _after_edit(self) -> None:
        self.revalidate()
        self.changed.emit()

    # ---- validation
    def revalidate(self) -> Validation:
        self.validation = self.doc.validate()
        for m in (self.holdings, self.prices, self.accounts):
            m.refresh_all()
        self.validated.emit(self.validation)
        return self.validation


def _same(a, b) -> bool:
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    return a == b


def _norm_price(key: str, text: Any) -> Any:
    if key == "asset":
        return str(text).strip().upper()
    return Document.normalize("quantity", text)


def _norm_account(key: str, text: Any, old: Any = None) -> Any:
    if key == "wallet_balance":
        return Document.normalize("quantity", text)
    if key == "collateral":
        if not isinstance(text, str):
            return text
        return parse_account_collateral(text, old) if text.strip() else None
    if isinstance(text, str):
        t = text.strip()
        if key == "venue":
            return t.lower() or None
        return t
    return text


# --------------------------------------------------------------------------- base model
class _Model(QAbstractTableModel):
    def __init__(self, owner: PortfolioDocument):
        super().__init__(owner)
        self.owner = owner
        self._icons = None

    def icons(self):
        if self._icons is None:
            self._icons = _icons()
        return self._icons

    def row_changed(self, row: int) -> None:
        if 0 <= row < self.rowCount():
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def refresh_all(self) -> None:
        if self.rowCount() and self.columnCount():
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(self.rowCount() - 1, self.columnCount() - 1))

    def _issue_roles(self, issue: CellIssue | None, role):
        t = self.owner.theme
        if issue is None:
            return None
        if role == ROLE.BackgroundRole:
            return QBrush(QColor(t.error_bg if issue.severity == "error" else t.warning_bg))
        if role == ROLE.DecorationRole:
            return self.icons()[issue.severity]
        if role == ROLE.ToolTipRole:
            return ("Error: " if issue.severity == "error" else "Warning: ") + issue.message
        if role == IssueRole:
            return (issue.severity, issue.message)
        return None


# --------------------------------------------------------------------------- holdings
class HoldingsModel(_Model):
    """Positions table: one row per position, one column per field (plus computed ones)."""

    def __init__(self, owner: PortfolioDocument):
        super().__init__(owner)
        self.analysis: dict[str, dict] = {}        # liquidation rows by id
        self.values: dict[str, float] = {}         # value now by id

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.owner.doc.rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=ROLE.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(COLUMNS):
                return None
            col = COLUMNS[section]
            if role == ROLE.DisplayRole:
                return col.title
            if role == ROLE.ToolTipRole:
                return col.tip
            return None
        if role == ROLE.DisplayRole:
            return str(section + 1)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        f = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
        col = COLUMNS[index.column()]
        raw = self.owner.doc.rows[index.row()].raw
        if col.editor != "computed" and applies(col, raw.get("kind")):
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def set_analysis(self, rows: dict[str, dict], values: dict[str, float]) -> None:
        self.analysis = rows
        self.values = values
        n = self.rowCount()
        if n:
            cols = [i for i, c in enumerate(COLUMNS) if c.editor == "computed" or c.key == "asset"]
            self.dataChanged.emit(self.index(0, min(cols)), self.index(n - 1, max(cols)))

    def issue(self, row: int, key: str) -> CellIssue | None:
        uid = self.owner.doc.rows[row].uid
        return self.owner.validation.cells.get((uid, key))

    def data(self, index, role=ROLE.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if not (0 <= r < len(self.owner.doc.rows)):
            return None
        col = COLUMNS[c]
        raw = self.owner.doc.rows[r].raw
        kind = raw.get("kind")
        ok = applies(col, kind)
        if role in (ROLE.BackgroundRole, ROLE.DecorationRole, ROLE.ToolTipRole, IssueRole):
            issue = self.issue(r, col.key) if col.editor != "computed" else None
            if issue is not None:
                return self._issue_roles(issue, role)
            if role == ROLE.BackgroundRole and (not ok or col.editor == "computed"):
                return QBrush(QColor(self.owner.theme.na_bg))
            if role == ROLE.ToolTipRole:
                if not ok and col.editor != "computed":
                    return f"{col.title} is not used by {kind} positions."
                if col.editor == "computed":
                    return self._computed_tip(raw, col.key)
                return col.tip
            return None
        if role == ROLE.TextAlignmentRole:
            return RIGHT if col.numeric else LEFT
        if role == ROLE.ForegroundRole:
            if col.key == "distance":
                d = self._computed(raw, "distance")
                if isinstance(d, float) and abs(d) < 0.1:
                    return QBrush(QColor(self.owner.theme.loss))
            if col.key == "venue_liquidation_price" and self._venue_issue(raw) is not None:
                return QBrush(QColor(self.owner.theme.loss))
            if col.key == "asset" and kind == "loan":
                return QBrush(QColor(self.owner.theme.muted))
            return None
        if role in (ROLE.DisplayRole, ROLE.EditRole, SortRole):
            if col.editor == "computed":
                v = self._computed(raw, col.key)
                if role == SortRole:
                    return v if isinstance(v, float) else float("inf")
                if role == ROLE.EditRole:
                    return "" if v is None else fmt_number(v)
                if col.key == "distance":
                    return fmt_pct(v) if v is not None else ""
                if col.key == "value":
                    return fmt_money(v) if v is not None else ""
                return fmt_price(v) if v is not None else ""
            if col.key == "asset" and kind == "loan":
                legs = raw.get("collateral")
                a = self.analysis.get(str(raw.get("id")), {}).get("asset")
                if a is None and isinstance(legs, list) and legs and isinstance(legs[0], dict):
                    a = legs[0].get("asset")
                return "" if role == ROLE.EditRole else (a or "")
            if not ok:
                return "" if role != SortRole else ""
            value = raw.get(col.key)
            if col.editor == "legs":
                return format_legs(value)
            if role == SortRole:
                return value if isinstance(value, (int, float)) else str(value or "")
            if role == ROLE.EditRole:
                return fmt_number(value) if isinstance(value, (int, float)) else ("" if value is None else str(value))
            return fmt_display(value)
        return None

    def _computed(self, raw: dict, key: str):
        pid = str(raw.get("id"))
        row = self.analysis.get(pid)
        if key == "value":
            v = self.values.get(pid)
            return float(v) if v is not None else None
        if row is None:
            return None
        v = row.get(key)
        return float(v) if isinstance(v, (int, float)) else None

    def _computed_tip(self, raw, key):
        col = next(c for c in COLUMNS if c.key == key)
        pid = str(raw.get("id"))
        row = self.analysis.get(pid)
        if row is None:
            return col.tip + "\n(Not computed: the position has an error or the analysis is running.)"
        if key == "liquidation_price" and row.get("liquidation_price") is None:
            return col.tip + "\nNo price of this asset alone liquidates this position."
        if key == "value" and row.get("health_factor") is not None:
            return col.tip + f"\nHealth factor now: {row['health_factor']:.3f}"
        if key == "venue_liquidation_price" and row.get(key) is not None:
            issue = self._venue_issue(raw)
            return col.tip + "\n" + (str(issue) if issue else "Within 1 % of ours.")
        return col.tip

    def _venue_issue(self, raw: dict):
        """The engine's warning when our liquidation price and the venue's differ."""
        row = self.analysis.get(str(raw.get("id")))
        return None if row is None else venue_issue(row)

    def setData(self, index, value, role=ROLE.EditRole):
        if not index.isValid() or role != ROLE.EditRole:
            return False
        if not (self.flags(index) & Qt.ItemFlag.ItemIsEditable):
            return False
        col = COLUMNS[index.column()]
        self.owner.set_cell("position", index.row(), col.key, value)
        return True


# --------------------------------------------------------------------------- prices
class _ListModel(_Model):
    """A table over one list of the document (prices, accounts): fixed headers with tooltips,
    the first ``EDITABLE_COLUMNS`` columns editable."""

    HEADERS: tuple = ()
    KEYS: tuple = ()
    TIPS: tuple = ()
    EDITABLE_COLUMNS = 0

    def _items(self) -> list:
        raise NotImplementedError

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self._items())

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=ROLE.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.HEADERS):
            if role == ROLE.DisplayRole:
                return self.HEADERS[section]
            if role == ROLE.ToolTipRole:
                return self.TIPS[section]
        elif orientation == Qt.Orientation.Vertical and role == ROLE.DisplayRole:
            return str(section + 1)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        f = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
        if index.column() < self.EDITABLE_COLUMNS:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def _cell_issue(self, row: int, key: str, item) -> CellIssue | None:
        raise NotImplementedError

    def _cell(self, item, c: int, key: str, role):
        """Text, alignment and colour of a cell (issue roles are handled by :meth:`data`)."""
        raise NotImplementedError

    def data(self, index, role=ROLE.DisplayRole):
        items = self._items()
        if not index.isValid() or not 0 <= index.row() < len(items):
            return None
        item = items[index.row()]
        c = index.column()
        key = self.KEYS[c]
        if role in (ROLE.BackgroundRole, ROLE.DecorationRole, ROLE.ToolTipRole, IssueRole):
            issue = self._cell_issue(index.row(), key, item)
            if issue is not None:
                return self._issue_roles(issue, role)
            if role == ROLE.ToolTipRole:
                return self.TIPS[c]
            if role == ROLE.BackgroundRole and c >= self.EDITABLE_COLUMNS:
                return QBrush(QColor(self.owner.theme.na_bg))       # computed: not editable
            return None
        return self._cell(item, c, key, role)


class PricesModel(_ListModel):
    HEADERS = ("Asset", "Price (USD)", "Beta to BTC", "Used by")
    TIPS = ("Asset symbol.", "Today's price in USD; every scenario moves prices from here.",
            "Beta to BTC from the bundled calibration (override it in the Shock view): a BTC move "
            "r moves this asset by (1 + r)^beta − 1.",
            "Number of positions and cross accounts (collateral) that use the asset.")

    KEYS = ("asset", "price", "beta", "used")
    EDITABLE_COLUMNS = 2

    def _items(self) -> list:
        return self.owner.doc.prices

    def _cell_issue(self, row: int, key: str, item) -> CellIssue | None:
        asset, value = item
        issue = self.owner.validation.price_cells.get((row, key))
        if issue is None and key == "price" and value is None:
            issue = CellIssue("error", f"field 'prices.{asset}': is required — enter today's "
                                       f"price of {asset} in USD")
        return issue

    def _cell(self, item, c: int, key: str, role):
        asset, value = item
        if role == ROLE.TextAlignmentRole:
            return LEFT if c == 0 else RIGHT
        if role in (ROLE.DisplayRole, ROLE.EditRole):
            if c == 0:
                return str(asset)
            if c == 1:
                if role == ROLE.EditRole:
                    return fmt_number(value) if isinstance(value, (int, float)) else ("" if value is None else str(value))
                return fmt_price(value) if isinstance(value, (int, float)) else ("" if value is None else str(value))
            if c == 2:
                a = str(asset).strip().upper()
                if not a:
                    return ""
                beta, src = bundled_beta(a)
                return f"{beta:g}" + ("" if src in ("calibration", "BTC", "stablecoin") else " (default)")
            used = self._used_counts().get(str(asset).strip().upper(), 0)
            return str(used)
        return None

    def _used_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.owner.doc.rows:
            raw = row.raw
            assets = set()
            if raw.get("kind") == "loan":
                for side in ("collateral", "debt"):
                    for leg in raw.get(side) or []:
                        if isinstance(leg, dict) and isinstance(leg.get("asset"), str):
                            assets.add(leg["asset"].upper())
            elif isinstance(raw.get("asset"), str):
                assets.add(raw["asset"].upper())
            for a in assets:
                out[a] = out.get(a, 0) + 1
        for acc in self.owner.doc.accounts:       # cross accounts' collateral legs
            legs = acc.get("collateral")
            for a in {str(leg["asset"]).upper() for leg in legs if isinstance(leg, dict) and
                      isinstance(leg.get("asset"), str)} if isinstance(legs, list) else ():
                out[a] = out.get(a, 0) + 1
        return out

    def setData(self, index, value, role=ROLE.EditRole):
        if not index.isValid() or role != ROLE.EditRole or index.column() > 1:
            return False
        self.owner.set_cell("price", index.row(), "asset" if index.column() == 0 else "price", value)
        return True


# --------------------------------------------------------------------------- accounts
class AccountsModel(_ListModel):
    HEADERS = ("Account", "Wallet (USD)", "Venue", "Collateral", "Perps", "Equity now",
               "Margin ratio")
    TIPS = ("Id of the cross-margin account; cross perps refer to it.",
            "Wallet balance of the account in USD (collateral shared by its cross perps).",
            "Exchange whose maintenance-margin tiers and collateral ratios apply to the account.",
            "Assets held as margin besides the USD wallet: 'USDE 10000 @ratio0.9; BTC 0.1' — "
            "asset, quantity, optional collateral ratio (empty: the venue's published ratio). "
            "Each counts at its price times its ratio; a fall in it can liquidate the account.",
            "Number of cross perps in this account.",
            "Wallet, collateral at market and unrealised P&L of its perps at today's prices.",
            "Maintenance margin / equity at today's prices: the account is liquidated at 100%.")
    KEYS = ("id", "wallet_balance", "venue", "collateral", "perps", "equity", "margin_ratio")

    def __init__(self, owner):
        super().__init__(owner)
        self.today: dict[str, dict] = {}

    def set_today(self, rows: dict[str, dict]) -> None:
        self.today = rows
        n = self.rowCount()
        if n:
            self.dataChanged.emit(self.index(0, 5), self.index(n - 1, 6))

    EDITABLE_COLUMNS = 4

    def _items(self) -> list:
        return self.owner.doc.accounts

    def _cell_issue(self, row: int, key: str, item) -> CellIssue | None:
        return self.owner.validation.accounts.get((row, key))

    def _cell(self, acc, c: int, key: str, role):
        if role == ROLE.TextAlignmentRole:
            return LEFT if c in (0, 2, 3) else RIGHT
        if role == ROLE.ForegroundRole and key == "margin_ratio":
            mr = self.today.get(str(acc.get("id")), {}).get("margin_ratio")
            if isinstance(mr, float) and mr >= 0.5:
                return QBrush(QColor(self.owner.theme.loss))
            return None
        if role in (ROLE.DisplayRole, ROLE.EditRole):
            if c < self.EDITABLE_COLUMNS:
                v = acc.get(key)
                if v is None:
                    return ""
                if key == "collateral":
                    return format_legs(v)
                if isinstance(v, (int, float)):
                    return fmt_number(v) if role == ROLE.EditRole else fmt_display(v)
                return str(v)
            aid = str(acc.get("id"))
            if key == "perps":
                return str(sum(1 for r in self.owner.doc.rows if r.raw.get("account") == aid
                               and r.raw.get("margin_mode") == "cross"))
            t = self.today.get(aid)
            if t is None:
                return ""
            if key == "equity":
                return fmt_money(t.get("value_before"))
            mr = t.get("margin_ratio")
            return fmt_pct(mr, signed=False) if isinstance(mr, float) else "—"
        return None

    def setData(self, index, value, role=ROLE.EditRole):
        if not index.isValid() or role != ROLE.EditRole or index.column() >= self.EDITABLE_COLUMNS:
            return False
        self.owner.set_cell("account", index.row(), self.KEYS[index.column()], value)
        return True
