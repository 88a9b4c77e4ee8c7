"""Portfolio view: the holdings editor, today's prices, cross accounts and the liquidation
ladder at today's prices."""
from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QMenu, QPushButton, QSplitter, QToolButton, QVBoxLayout, QWidget)

from ..charts import LadderChart
from ..document import COLUMNS
from ..models import PortfolioDocument, SortRole
from ..widgets import HoldingsDelegate, SimpleDelegate, hint, make_table, section


class HoldingsProxy(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)

    def lessThan(self, left, right):
        a = left.data(SortRole)
        b = right.data(SortRole)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


class PortfolioView(QWidget):
    """Holdings table (add, duplicate, delete, every field editable), prices, accounts."""

    selection_changed = Signal()

    def __init__(self, document: PortfolioDocument, parent=None):
        super().__init__(parent)
        self.document = document
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)

        # toolbar
        bar = QHBoxLayout()
        self.add_button = QToolButton()
        self.add_button.setText("Add position")
        self.add_button.setToolTip("Add a position (Ctrl+Ins adds a spot position)")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self.add_button)
        self.add_actions = {}
        for kind, label in (("spot", "Spot holding"), ("perp", "Perpetual future"), ("loan", "Loan (Aave-style)")):
            act = menu.addAction(label)
            act.triggered.connect(lambda _=False, k=kind: self.add_position(k))
            self.add_actions[kind] = act
        self.add_button.setMenu(menu)
        self.add_button.clicked.connect(lambda: self.add_position("spot"))
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Duplicate the selected positions (Ctrl+D)")
        self.duplicate_button.clicked.connect(self.duplicate_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected positions (Delete)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter positions…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMaximumWidth(240)
        self.summary = QLabel("")
        self.summary.setObjectName("Hint")
        for w in (self.add_button, self.duplicate_button, self.delete_button):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.filter_edit)
        bar.addStretch(1)
        bar.addWidget(self.summary)
        lay.addLayout(bar)

        self.banner = QLabel("")
        self.banner.setObjectName("ErrorBanner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        lay.addWidget(self.banner)

        # holdings table
        self.proxy = HoldingsProxy(self)
        self.proxy.setSourceModel(document.holdings)
        self.table = make_table(self.proxy, stretch_last=False)
        self.table.setObjectName("HoldingsTable")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed
                                   | QAbstractItemView.EditTrigger.SelectedClicked)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.delegate = HoldingsDelegate(document, self.table)
        self.table.setItemDelegate(self.delegate)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        hdr = self.table.horizontalHeader()
        hdr.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        hdr.customContextMenuRequested.connect(self._header_menu)
        hdr.setSectionsMovable(True)
        widths = {"id": 128, "kind": 56, "asset": 60, "side": 52, "quantity": 84, "entry_price": 84,
                  "leverage": 66, "isolated_margin": 100, "margin_mode": 90, "account": 110,
                  "venue": 76, "maintenance_margin_rate": 60, "maintenance_amount": 96,
                  "cost_basis": 84, "collateral": 150, "debt": 110, "close_factor": 86,
                  "liquidation_bonus": 76, "preset": 70, "price": 80, "value": 92,
                  "liquidation_price": 84, "distance": 72}
        for i, c in enumerate(COLUMNS):
            self.table.setColumnWidth(i, widths.get(c.key, 90))
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())

        # bottom: prices | accounts | ladder
        self.prices_table = make_table(document.prices)
        self.prices_table.setObjectName("PricesTable")
        self.prices_table.setItemDelegate(SimpleDelegate(parent=self.prices_table))
        self.prices_table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                          | QAbstractItemView.EditTrigger.EditKeyPressed
                                          | QAbstractItemView.EditTrigger.AnyKeyPressed)
        _fit_columns(self.prices_table)
        self.add_price_button = QPushButton("Add")
        self.add_price_button.setToolTip("Add a price row")
        self.add_price_button.clicked.connect(self._add_price)
        self.remove_price_button = QPushButton("Remove")
        self.remove_price_button.clicked.connect(
            lambda: document.remove_prices(_rows(self.prices_table)))
        self.missing_button = QPushButton("Add missing")
        self.missing_button.setToolTip("Add a row for every asset used by a position that has no price")
        self.missing_button.clicked.connect(
            lambda: document.add_missing_prices(document.validation.missing_prices))
        self.missing_label = hint("")
        prices_box = QWidget()
        pl = QVBoxLayout(prices_box)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(section("Prices today", "Today's prices in USD; scenarios move prices from here."))
        pl.addWidget(self.prices_table, 1)
        pl.addWidget(self.missing_label)
        row = QHBoxLayout()
        row.addWidget(self.add_price_button)
        row.addWidget(self.remove_price_button)
        row.addWidget(self.missing_button)
        row.addStretch(1)
        pl.addLayout(row)

        self.accounts_table = make_table(document.accounts)
        self.accounts_table.setObjectName("AccountsTable")
        self.accounts_table.setItemDelegate(SimpleDelegate(venue_column=2, parent=self.accounts_table))
        self.accounts_table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                            | QAbstractItemView.EditTrigger.EditKeyPressed
                                            | QAbstractItemView.EditTrigger.AnyKeyPressed)
        _fit_columns(self.accounts_table)
        add_acc = QPushButton("Add")
        add_acc.clicked.connect(document.add_account)
        rem_acc = QPushButton("Remove")
        rem_acc.clicked.connect(lambda: document.remove_accounts(_rows(self.accounts_table)))
        acc_box = QWidget()
        al = QVBoxLayout(acc_box)
        al.setContentsMargins(0, 0, 0, 0)
        al.addWidget(section("Cross-margin accounts", "Exchange accounts whose wallet balance backs "
                                                       "their cross perps."))
        al.addWidget(self.accounts_table, 1)
        row = QHBoxLayout()
        row.addWidget(add_acc)
        row.addWidget(rem_acc)
        row.addStretch(1)
        al.addLayout(row)

        self.ladder = LadderChart(title="Liquidation distance at today's prices")
        self.ladder.setToolTip("How far each position's asset must move from today's price to "
                               "liquidate it (other prices held), nearest first.")
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(prices_box)
        bottom.addWidget(acc_box)
        bottom.addWidget(self.ladder)
        bottom.setSizes([340, 600, 660])
        bottom.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(bottom)
        self.splitter.setSizes([440, 420])
        self.splitter.setChildrenCollapsible(False)
        self.bottom_splitter = bottom
        lay.addWidget(self.splitter, 1)

        document.validated.connect(self._on_validated)
        self._on_validated(document.validation)

    # ---- actions
    def selected_rows(self) -> list[int]:
        rows = set()
        for idx in self.table.selectionModel().selectedIndexes():
            rows.add(self.proxy.mapToSource(idx).row())
        cur = self.table.currentIndex()
        if not rows and cur.isValid():
            rows.add(self.proxy.mapToSource(cur).row())
        return sorted(rows)

    def add_position(self, kind: str = "spot") -> None:
        row = self.document.add_position(kind)
        self.select_row(row)

    def duplicate_selected(self) -> None:
        new = self.document.duplicate_positions(self.selected_rows())
        if new:
            self.select_row(new[0])

    def delete_selected(self) -> None:
        self.document.remove_positions(self.selected_rows())

    def select_row(self, source_row: int, column: int = 0) -> None:
        idx = self.proxy.mapFromSource(self.document.holdings.index(source_row, column))
        if idx.isValid():
            self.table.setCurrentIndex(idx)
            self.table.scrollTo(idx)

    def _add_price(self):
        row = self.document.add_price()
        idx = self.document.prices.index(row, 0)
        self.prices_table.setCurrentIndex(idx)
        self.prices_table.edit(idx)

    def _context_menu(self, pos):
        menu = QMenu(self)
        for kind, act in self.add_actions.items():
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction("Duplicate", self.duplicate_selected)
        menu.addAction("Delete", self.delete_selected)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _header_menu(self, pos):
        menu = QMenu(self)
        hdr = self.table.horizontalHeader()
        for i, c in enumerate(COLUMNS):
            if c.key in ("id", "kind"):
                continue
            act = menu.addAction(c.title)
            act.setCheckable(True)
            act.setChecked(not hdr.isSectionHidden(i))
            act.toggled.connect(lambda on, i=i: hdr.setSectionHidden(i, not on))
        menu.exec(hdr.mapToGlobal(pos))

    # ---- state
    def _on_validated(self, v) -> None:
        n = len(self.document.doc.rows)
        errs = v.n_errors
        warns = v.n_warnings
        parts = [f"{n} position{'s' if n != 1 else ''}"]
        if errs:
            parts.append(f"{errs} error{'s' if errs != 1 else ''}")
        if warns:
            parts.append(f"{warns} warning{'s' if warns != 1 else ''}")
        self.summary.setText(" · ".join(parts))
        msgs = []
        if v.excluded:
            ex = ", ".join(dict.fromkeys(v.excluded))
            msgs.append(f"Left out of the analysis until fixed: {ex}. Hover a red cell for the reason.")
        if v.missing_prices:
            msgs.append("Missing prices: " + ", ".join(v.missing_prices) + ".")
        if v.first_error is not None:
            msgs.append(str(v.first_error))
        bad_prices = len(v.price_cells)
        if bad_prices:
            msgs.append(f"{bad_prices} price cell{'s' if bad_prices != 1 else ''} invalid.")
        if v.accounts:
            msgs.append(f"{len(v.accounts)} account cell{'s' if len(v.accounts) != 1 else ''} invalid.")
        self.banner.setText(" ".join(msgs))
        self.banner.setVisible(bool(msgs))
        self.missing_label.setText(("Missing: " + ", ".join(v.missing_prices)) if v.missing_prices else "")
        self.missing_label.setVisible(bool(v.missing_prices))
        self.missing_button.setEnabled(bool(v.missing_prices))

    def set_analysis(self, analysis) -> None:
        if analysis is None:
            self.ladder.set_rows([])
            return
        rows = list(analysis.liquidation.values())
        self.ladder.set_rows(rows)
        self.ladder.set_shock({}, set())

    def save_state(self, settings) -> None:
        settings.setValue("portfolio/splitter", self.splitter.saveState())
        settings.setValue("portfolio/bottom", self.bottom_splitter.saveState())
        settings.setValue("portfolio/header", self.table.horizontalHeader().saveState())

    def restore_state(self, settings) -> None:
        for key, w in (("portfolio/splitter", self.splitter), ("portfolio/bottom", self.bottom_splitter),
                       ("portfolio/header", self.table.horizontalHeader())):
            v = settings.value(key)
            if v is not None:
                w.restoreState(v)


def _fit_columns(view) -> None:
    """Columns share the table's width (no horizontal scroll bar in the small tables)."""
    hdr = view.horizontalHeader()
    hdr.setStretchLastSection(False)
    hdr.setMinimumSectionSize(36)
    hdr.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)


def _rows(view) -> list[int]:
    rows = {i.row() for i in view.selectionModel().selectedIndexes()}
    if not rows and view.currentIndex().isValid():
        rows.add(view.currentIndex().row())
    return sorted(rows)
