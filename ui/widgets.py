"""Small building blocks: metric cards, section titles, table helpers, the cell delegate."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QCompleter, QFrame, QHBoxLayout,
                               QLabel, QLineEdit, QSizePolicy, QStyledItemDelegate,
                               QTableView, QVBoxLayout, QWidget)

from .document import CHOICES, COLUMNS


def controls_panel(view: QWidget, width: int) -> tuple[QHBoxLayout, QVBoxLayout]:
    """The views' shape: a fixed-width column of controls on the left of ``view``.
    Returns the view's row layout (add the results to its right) and the column's layout."""
    outer = QHBoxLayout(view)
    outer.setContentsMargins(8, 8, 8, 8)
    panel = QWidget()
    panel.setFixedWidth(width)
    column = QVBoxLayout(panel)
    column.setContentsMargins(0, 0, 8, 0)
    outer.addWidget(panel)
    return outer, column


class StableLabel(QWidget):
    """A one-line label whose new text never re-lays out the window.

    A plain QLabel asks every layout up to the window to recompute when its text changes,
    and the window then repaints whole (buttons, tables, charts): at every step of a
    slider drag that cost about 13 ms of a 26 ms frame. Here the QLabel is placed by hand
    inside this widget, whose size hint is one line high and does not depend on the text,
    so a new number repaints the label alone. Text wider than the space is clipped; the
    full text is in the tooltip then."""

    def __init__(self, text: str = "", object_name: str | None = None, parent=None,
                 min_width: int = 40):
        super().__init__(parent)
        self.label = QLabel(text, self)
        if object_name:
            self.label.setObjectName(object_name)
        self.label.installEventFilter(self)
        self._full = text
        self._min_width = min_width
        self._tooltip = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    # QLabel's interface as used here
    def text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:               # noqa: N802 (Qt naming)
        if text != self._full:
            self._full = text
            self._fit()

    def setStyleSheet(self, css: str) -> None:          # noqa: N802
        self.label.setStyleSheet(css)
        self.updateGeometry()                           # the font may change the line height
        self._fit()

    def setToolTip(self, tip: str) -> None:             # noqa: N802
        self._tooltip = tip
        self._fit()

    def setTextInteractionFlags(self, flags) -> None:   # noqa: N802
        self.label.setTextInteractionFlags(flags)

    def sizeHint(self) -> QSize:                        # noqa: N802
        return QSize(self._min_width, self.label.sizeHint().height())

    def minimumSizeHint(self) -> QSize:                 # noqa: N802
        return self.sizeHint()

    def resizeEvent(self, ev) -> None:                  # noqa: N802
        self.label.setGeometry(0, 0, self.width(), self.height())
        self._fit()

    def toolTip(self) -> str:                           # noqa: N802
        return self._tooltip

    def styleSheet(self) -> str:                        # noqa: N802
        return self.label.styleSheet()

    _RESTYLE = (QEvent.Type.StyleChange, QEvent.Type.FontChange, QEvent.Type.Polish)

    def event(self, ev) -> bool:
        if ev.type() in self._RESTYLE:
            self.updateGeometry()
        return super().event(ev)

    def eventFilter(self, obj, ev) -> bool:             # noqa: N802 (the inner label)
        if ev.type() in self._RESTYLE:
            self.updateGeometry()                       # its font sets the line height
            QTimer.singleShot(0, self, self._fit)       # and where it is elided (not once deleted)
        return False

    def _fit(self) -> None:
        """Show the text, elided with "…" when wider than the space (then in the tooltip)."""
        width = self.width()
        shown = self._full
        if width > 0 and self.label.fontMetrics().horizontalAdvance(shown) > width:
            shown = self.label.fontMetrics().elidedText(shown, Qt.TextElideMode.ElideRight, width)
        if shown != self.label.text():
            self.label.setText(shown)
        tip = self._tooltip
        if shown != self._full:
            tip = f"{self._full}\n\n{tip}" if tip else self._full
        if tip != self.label.toolTip():
            self.label.setToolTip(tip)


class MetricCard(QFrame):
    """A titled number with a sub-line; the tooltip says what the metric means."""

    def __init__(self, title: str, tooltip: str, parent=None):
        super().__init__(parent)
        self.setObjectName("MetricCard")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(1)
        self.title = StableLabel(title, "MetricTitle")
        self.value = StableLabel("—", "MetricValue")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sub = StableLabel("", "MetricSub")
        for w in (self.title, self.value, self.sub):
            lay.addWidget(w)
            w.setToolTip(tooltip)
        self.setToolTip(tooltip)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(120)

    def set(self, value: str, sub: str = "", color: str | None = None) -> None:
        self.value.setText(value)
        self.sub.setText(sub)
        css = f"color: {color};" if color else ""
        if css != getattr(self, "_css", ""):      # restyling is slow: only on change
            self._css = css
            self.value.setStyleSheet(css)


class MetricsStrip(QWidget):
    def __init__(self, specs: list[tuple[str, str, str]], parent=None):
        """specs: (key, title, tooltip)."""
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.cards: dict[str, MetricCard] = {}
        for key, title, tip in specs:
            card = MetricCard(title, tip)
            self.cards[key] = card
            lay.addWidget(card)

    def __getitem__(self, key: str) -> MetricCard:
        return self.cards[key]


def section(title: str, tooltip: str = "") -> QLabel:
    lab = QLabel(title)
    lab.setObjectName("SectionTitle")
    if tooltip:
        lab.setToolTip(tooltip)
    return lab


def hint(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setObjectName("Hint")
    lab.setWordWrap(True)
    return lab


def make_table(model=None, stretch_last: bool = True) -> QTableView:
    view = QTableView()
    if model is not None:
        view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().setDefaultSectionSize(24)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(stretch_last)
    view.horizontalHeader().setHighlightSections(False)
    view.setWordWrap(False)
    view.setCornerButtonEnabled(False)
    return view


# --------------------------------------------------------------------------- read-only table
class RecordsModel(QAbstractTableModel):
    """A read-only table of records (list of tuples) with per-cell colours and tooltips.

    ``columns``: (title, tooltip, align_right). ``set_rows(rows, colors=None, tips=None)``
    where colors/tips are dicts keyed by (row, col) or by row (whole row).
    """

    def __init__(self, columns: list[tuple[str, str, bool]], parent=None):
        super().__init__(parent)
        self.columns = columns
        self.rows: list[tuple] = []
        self.sort_keys: list[tuple] = []
        self.backgrounds: dict = {}
        self.foregrounds: dict = {}
        self.tips: dict = {}

    def set_rows(self, rows, sort_keys=None, backgrounds=None, foregrounds=None, tips=None):
        same_shape = len(rows) == len(self.rows)
        if not same_shape:
            self.beginResetModel()
        self.rows = [tuple(r) for r in rows]
        self.sort_keys = [tuple(k) for k in sort_keys] if sort_keys else self.rows
        self.backgrounds = backgrounds or {}
        self.foregrounds = foregrounds or {}
        self.tips = tips or {}
        if not same_shape:
            self.endResetModel()
        elif self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(self.columns) - 1))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section][0]
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.columns[section][1]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return str(self.rows[r][c])
        if role == Qt.ItemDataRole.UserRole:
            return self.sort_keys[r][c] if r < len(self.sort_keys) else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            right = self.columns[c][2]
            return int((Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft)
                       | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            col = self.backgrounds.get((r, c), self.backgrounds.get(r))
            return QBrush(QColor(col)) if col else None
        if role == Qt.ItemDataRole.ForegroundRole:
            col = self.foregrounds.get((r, c), self.foregrounds.get(r))
            return QBrush(QColor(col)) if col else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tips.get((r, c), self.tips.get(r, self.columns[c][1]))
        return None

    def column_values(self, c: int) -> list:
        return [row[c] for row in self.rows]


# --------------------------------------------------------------------------- editors
class HoldingsDelegate(QStyledItemDelegate):
    """The right editor per column: combo boxes for kind/side/margin mode/venue/account/preset,
    an editable combo with completion for assets, a line edit for numbers and loan legs
    (free text, so an invalid entry is kept as typed and marked, never refused)."""

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document

    def _column(self, index):
        model = index.model()
        src = index
        while hasattr(model, "mapToSource"):
            src = model.mapToSource(src)
            model = model.sourceModel()
        return COLUMNS[src.column()]

    def createEditor(self, parent, option, index):
        col = self._column(index)
        if col.key in CHOICES:
            box = QComboBox(parent)
            box.addItems(list(CHOICES[col.key]))
            box.activated.connect(lambda *_: self._commit(box))
            return box
        if col.editor == "venue":
            from engine.venues import venue_names
            box = QComboBox(parent)
            box.addItems([""] + list(venue_names()))
            box.activated.connect(lambda *_: self._commit(box))
            return box
        if col.editor in ("account", "asset"):
            box = QComboBox(parent)
            box.setEditable(True)
            box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            if col.editor == "account":
                items = [""] + [str(a.get("id")) for a in self.document.doc.accounts]
            else:
                items = _known_assets(self.document)
            box.addItems(items)
            box.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
            box.completer().setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            box.activated.connect(lambda *_: self._commit(box))
            return box
        edit = QLineEdit(parent)
        if col.editor == "legs":
            edit.setPlaceholderText("ETH 12 @LT0.83; WBTC 0.5" if col.key == "collateral" else "USDC 18000")
        elif col.numeric:
            edit.setPlaceholderText("number")
        edit.setToolTip(col.tip)
        return edit

    def _commit(self, editor):
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QStyledItemDelegate.EndEditHint.NoHint)

    def setEditorData(self, editor, index):
        text = index.data(Qt.ItemDataRole.EditRole)
        text = "" if text is None else str(text)
        if isinstance(editor, QComboBox):
            i = editor.findText(text, Qt.MatchFlag.MatchFixedString)
            if i >= 0:
                editor.setCurrentIndex(i)
            elif editor.isEditable():
                editor.setEditText(text)
            else:
                editor.insertItem(0, text)
                editor.setCurrentIndex(0)
        else:
            editor.setText(text)

    def setModelData(self, editor, model, index):
        text = editor.currentText() if isinstance(editor, QComboBox) else editor.text()
        model.setData(index, text, Qt.ItemDataRole.EditRole)


def _known_assets(document) -> list[str]:
    from engine.scenarios import calibration
    seen: dict[str, None] = {}
    for a, _ in document.doc.prices:
        seen.setdefault(str(a).upper(), None)
    for a in (calibration().get("assets") or {}):
        seen.setdefault(str(a).upper(), None)
    return list(seen)


class SimpleDelegate(QStyledItemDelegate):
    """Line edits for the prices and accounts tables; a venue combo where asked."""

    def __init__(self, venue_column: int | None = None, parent=None):
        super().__init__(parent)
        self.venue_column = venue_column

    def createEditor(self, parent, option, index):
        if self.venue_column is not None and index.column() == self.venue_column:
            from engine.venues import venue_names
            box = QComboBox(parent)
            box.addItems([""] + list(venue_names()))
            box.activated.connect(lambda *_: (self.commitData.emit(box),
                                              self.closeEditor.emit(box, QStyledItemDelegate.EndEditHint.NoHint)))
            return box
        return QLineEdit(parent)

    def setEditorData(self, editor, index):
        text = index.data(Qt.ItemDataRole.EditRole)
        text = "" if text is None else str(text)
        if isinstance(editor, QComboBox):
            i = editor.findText(text)
            editor.setCurrentIndex(max(i, 0))
        else:
            editor.setText(text)

    def setModelData(self, editor, model, index):
        text = editor.currentText() if isinstance(editor, QComboBox) else editor.text()
        model.setData(index, text, Qt.ItemDataRole.EditRole)


class Debouncer:
    """Single-shot timer: ``trigger()`` restarts the countdown; ``fn`` runs once it expires."""

    def __init__(self, ms: int, fn, parent=None):
        self.timer = QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.setInterval(ms)
        self.timer.timeout.connect(fn)

    def trigger(self) -> None:
        self.timer.start()

    def flush(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
            self.timer.timeout.emit()

    def cancel(self) -> None:
        self.timer.stop()
