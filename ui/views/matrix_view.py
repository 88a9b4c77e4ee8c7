"""Crash matrix: every bundled crash and every saved scenario on the holdings at once.

A heatmap table answers "which crash hurts me most, and which position dies in which crash"
in one look: the portfolio (P&L, max drawdown, positions liquidated) pinned on top, then each
position and cross account; one column per scenario; each cell the P&L and, where liquidated,
when (UTC), coloured by the loss as a share of today's portfolio value. Sort by clicking a
header, order the crashes by date or worst first, click a cell to open that replay there.
The numbers come from :func:`engine.stress.stress_all`, run by the controller on a worker.
"""
from __future__ import annotations

import math
import re
import textwrap

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPen
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QStyle, QStyledItemDelegate, QVBoxLayout, QWidget)

from engine.scenarios import utc_text

from ..charts import money_short
from ..charts.replay import date_text, short_time
from ..document import fmt_money, fmt_pct
from ..theme import LIGHT, Theme
from ..widgets import MetricsStrip, hint, make_table, section

SUB = Qt.ItemDataRole.UserRole + 1        # second line of a cell (time of liquidation, %)
HEAT = Qt.ItemDataRole.UserRole + 2       # loss as a share of today's portfolio value
ROW_ID = Qt.ItemDataRole.UserRole + 3     # position or account id (None: a portfolio row)
GROUP = Qt.ItemDataRole.UserRole + 4      # 0: portfolio rows (pinned on top), 1: positions
LIQUIDATED = Qt.ItemDataRole.UserRole + 5
SUB_SHORT = Qt.ItemDataRole.UserRole + 6  # the second line where the full one does not fit
SORT = Qt.ItemDataRole.UserRole           # sort key
FULL_AT = 0.30                            # a loss of 30 % of the portfolio is the deepest colour
ORDERS = ("Date order", "Worst first")


def short_name(name: str, date: str = "", width: int = 18) -> str:
    """A scenario's name in at most two header lines of about ``width`` characters: without
    its parenthesis or a leading ``date``; split at ', ' or ' / ' where the halves fit, else
    wrapped, else cut at its first ': ' or ', ' (or with '…')."""
    text = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip() or name
    if date and text.startswith(date) and text[len(date):].strip(" :,-–"):
        text = text[len(date):].lstrip(" :,-–")
        text = text[0].upper() + text[1:]

    def wrap(t):
        for sep in (", ", " / ", ": "):
            a, _, b = t.partition(sep)
            if b and len(a) + len(sep.rstrip()) <= width + 2 and len(b) <= width + 2:
                return [a + sep.rstrip(), b]
        return textwrap.wrap(t, width, break_on_hyphens=False, break_long_words=False)

    lines = wrap(text) if len(text) > width else [text]
    if len(lines) > 2:
        head = re.split(r": |, ", text)[0]
        lines = wrap(head) if len(head) > width else [head]
    if len(lines) > 2:
        lines = lines[:2]
        lines[1] = lines[1][: width - 1].rstrip(" ,/-") + "…"
    return "\n".join(lines)


def money_cell(x: float) -> str:
    """Compact signed USD: ``−$685``, ``+$1.5k``, ``−$25.2k``."""
    return ("+" if x > 0.5 else "") + money_short(x) if abs(x) >= 0.5 else "$0"


def column_title(s: dict, width: int = 18) -> str:
    """Header of a scenario column: its (first crash) date, then a short name."""
    days = s.get("crash_days") or []
    first = date_text(days[0]) if days else ("shock" if not s.get("start") else date_text(s.get("start")))
    name = short_name(s["name"], first, width)
    return f"{first}\n{name}" + ("\n" if "\n" not in name else "")


def heat_color(theme: Theme, share: float | None) -> QColor | None:
    """Background of a cell whose loss is ``share`` of today's portfolio value (a gain is
    negative): from the table's base towards the loss colour (square-root scale, full at
    :data:`FULL_AT`), a faint green for gains."""
    if share is None or not math.isfinite(share) or abs(share) < 1e-4:
        return None
    base = QColor(theme.base)
    if share > 0:
        t = min(1.0, math.sqrt(share / FULL_AT))
        tint, amount = QColor(theme.loss), 0.08 + 0.50 * t
    else:
        t = min(1.0, math.sqrt(-share / FULL_AT))
        tint, amount = QColor(theme.gain), 0.06 + 0.22 * t
    mix = lambda a, b: int(round(a + (b - a) * amount))          # noqa: E731
    return QColor(mix(base.red(), tint.red()), mix(base.green(), tint.green()),
                  mix(base.blue(), tint.blue()))


class MatrixModel(QAbstractTableModel):
    """Rows: the portfolio (3 rows), positions, cross accounts; columns: the row's name, then
    one per scenario (in ``order``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.report: dict | None = None
        self.rows: list[dict] = []          # {"id", "label", "sub", "group", "cells": [cell per scenario]}
        self.order: list[int] = []          # visible scenario column -> scenario index
        self.theme: Theme = LIGHT
        self.name_width = 18                # characters per header line (follows the column width)

    # ---- filling
    def set_report(self, report: dict | None, worst_first: bool = False) -> None:
        self.beginResetModel()
        self.report = report
        self.rows = _rows(report) if report else []
        self.set_order(worst_first, reset=False)
        self.endResetModel()

    def set_order(self, worst_first: bool, reset: bool = True) -> None:
        if reset:
            self.beginResetModel()
        scen = self.report["scenarios"] if self.report else []
        idx = list(range(len(scen)))
        if worst_first:
            idx.sort(key=lambda i: scen[i]["portfolio"]["pnl"])
        self.order = idx
        if reset:
            self.endResetModel()

    def scenario(self, column: int) -> dict | None:
        if self.report is None or column < 1 or column - 1 >= len(self.order):
            return None
        return self.report["scenarios"][self.order[column - 1]]

    # ---- Qt model
    def rowCount(self, parent=QModelIndex()):                      # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):                   # noqa: N802
        return 0 if parent.isValid() or self.report is None else 1 + len(self.order)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        if section == 0:
            return {Qt.ItemDataRole.DisplayRole: "Position\n\n",
                    Qt.ItemDataRole.ToolTipRole: "Click to sort by name"}.get(role)
        s = self.scenario(section)
        if s is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return column_title(s, self.name_width)
        if role == Qt.ItemDataRole.ToolTipRole:
            span = (f"{s['steps']} bars of {s['bar']}, {utc_text(s.get('start'))} → {utc_text(s.get('end'))}"
                    if s.get("bar") else "instant shock")
            return (f"{s['name']}\n{span}" + ("\nsaved in this portfolio" if s.get("source") == "saved" else "")
                    + "\nClick to sort the positions by their P&L in this scenario")
        return None

    def flags(self, index):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        c = index.column()
        if role == GROUP:
            return row["group"]
        if role == ROW_ID:
            return row["id"]
        if c == 0:
            return {Qt.ItemDataRole.DisplayRole: row["label"], SUB: row["sub"], SORT: row["label"].lower(),
                    Qt.ItemDataRole.ToolTipRole: row["tip"]}.get(role)
        if c - 1 >= len(self.order):
            return None
        cell = row["cells"][self.order[c - 1]]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell["text"] + (f"  {cell['sub']}" if cell["sub"] else "")
        if role == SUB:
            return cell["sub"]
        if role == SUB_SHORT:
            return cell.get("short", cell["sub"])
        if role == HEAT:
            return cell["heat"]
        if role == SORT:
            return cell["sort"]
        if role == LIQUIDATED:
            return cell["liquidated"]
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell["tip"]
        if role == Qt.ItemDataRole.BackgroundRole:
            col = heat_color(self.theme, cell["heat"])
            return col
        return None


def _rows(report: dict) -> list[dict]:
    """The table's rows from a :func:`engine.stress.stress_all` report."""
    scen = report["scenarios"]
    if not scen:
        return []
    v0 = scen[0]["portfolio"]["value_before"] or 1.0
    n_pos = len(scen[0]["positions"])

    def where(s):
        return f"in {s['name']}"

    rows = [
        {"id": None, "label": "Portfolio", "sub": "P&L", "group": 0,
         "tip": "P&L of the whole portfolio: value at the end of the scenario − value today",
         "cells": [{"text": money_cell(s["portfolio"]["pnl"]),
                    "sub": fmt_pct(s["portfolio"]["pnl_fraction"]), "heat": -s["portfolio"]["pnl"] / abs(v0),
                    "sort": s["portfolio"]["pnl"], "liquidated": False,
                    "tip": f"Portfolio {where(s)}: {fmt_money(s['portfolio']['value_before'])} → "
                           f"{fmt_money(s['portfolio']['value_after'])}, P&L "
                           f"{fmt_money(s['portfolio']['pnl'], signed=True)} "
                           f"({fmt_pct(s['portfolio']['pnl_fraction'])})\nClick to open the replay"}
                   for s in scen]},
        {"id": None, "label": "Portfolio", "sub": "max drawdown", "group": 0,
         "tip": "Largest fall of the portfolio value from a running peak, over the bar closes",
         "cells": [{"text": fmt_pct(-s["portfolio"]["max_drawdown"]),
                    "sub": (f"low {short_time(s['portfolio']['min_value_time'])}"
                            if s["portfolio"].get("min_value_time") else ""),
                    "short": (short_time(s["portfolio"]["min_value_time"])
                              if s["portfolio"].get("min_value_time") else ""),
                    "heat": s["portfolio"]["max_drawdown"], "sort": -s["portfolio"]["max_drawdown"],
                    "liquidated": False,
                    "tip": f"Max drawdown {where(s)}: {fmt_pct(-s['portfolio']['max_drawdown'])}; lowest "
                           f"value {fmt_money(s['portfolio']['min_value'])}"
                           + (f" at {utc_text(s['portfolio']['min_value_time'])}"
                              if s["portfolio"].get("min_value_time") else "")}
                   for s in scen]},
        {"id": None, "label": "Portfolio", "sub": "positions liquidated", "group": 0,
         "tip": "How many positions each scenario liquidates",
         "cells": [{"text": f"{s['portfolio']['liquidated_positions']} of {n_pos}", "sub": "",
                    "heat": None, "sort": -s["portfolio"]["liquidated_positions"],
                    "liquidated": s["portfolio"]["liquidated_positions"] > 0,
                    "tip": f"{s['portfolio']['liquidated_positions']} of {n_pos} positions liquidated {where(s)}: "
                           + (", ".join(p["id"] for p in s["positions"] if p["liquidated"]) or "none")}
                   for s in scen]},
    ]

    def cells(pick):
        out = []
        for s in scen:
            r = pick(s)
            t = r.get("liquidation_time")
            when = utc_text(t) if t else (f"step {r['liquidation_step']}" if r["liquidated"] else "")
            sub = f"✝ {short_time(t)}" if t else ("✝ liquidated" if r["liquidated"] else "")
            out.append({"text": money_cell(r["pnl"]), "sub": sub, "short": sub.lstrip("✝ "),
                        "heat": -r["pnl"] / abs(v0), "sort": r["pnl"], "liquidated": r["liquidated"],
                        "tip": f"{r['id']} {where(s)}: {fmt_money(r['value_before'])} → "
                               f"{fmt_money(r['value_after'])}, P&L {fmt_money(r['pnl'], signed=True)}"
                               + (f"\nliquidated {when}" if r["liquidated"] else "\nnot liquidated")
                               + "\nClick to open the replay" + (" at that moment" if r["liquidated"] else "")})
        return out

    for i, p in enumerate(scen[0]["positions"]):
        what = p["kind"] + (f" {p['side']}" if p.get("side") else "") + f" {p['asset']}"
        if p.get("account"):
            what += f" ({p['account']})"
        rows.append({"id": p["id"], "label": p["id"], "sub": what, "group": 1,
                     "tip": f"{p['id']}: {what}", "cells": cells(lambda s, i=i: s["positions"][i])})
    for j, a in enumerate(scen[0]["accounts"]):
        rows.append({"id": a["id"], "label": a["id"], "sub": "cross account (wallet + its perps)",
                     "group": 1, "tip": f"Cross account {a['id']}: wallet {fmt_money(a['wallet_balance'])} "
                                        "and the P&L of its perps; liquidated as a whole",
                     "cells": cells(lambda s, j=j: s["accounts"][j])})
    return rows


class PinnedSortProxy(QSortFilterProxyModel):
    """Sorts by :data:`SORT`, keeping the portfolio rows on top in either order."""

    def lessThan(self, left, right):                                # noqa: N802
        gl, gr = left.data(GROUP), right.data(GROUP)
        if gl != gr:
            ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return (gl < gr) if ascending else (gl > gr)
        a, b = left.data(SORT), right.data(SORT)
        if a is None or b is None:
            return b is not None
        return a < b


class HeatDelegate(QStyledItemDelegate):
    """Paints a cell: its heat colour, the value, and a smaller second line (✝ time, %)."""

    def __init__(self, view, parent=None):
        super().__init__(parent)
        self.view = view

    def paint(self, painter, option, index):
        theme = self.view.theme or LIGHT
        painter.save()
        rect = option.rect
        bg = index.data(Qt.ItemDataRole.BackgroundRole)
        if bg is not None:
            painter.fillRect(rect, bg)
        elif index.row() % 2:
            painter.fillRect(rect, QColor(theme.alt_base))
        if option.state & QStyle.StateFlag.State_Selected:
            painter.setPen(QPen(QColor(theme.accent), 2))
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
        elif option.state & QStyle.StateFlag.State_MouseOver and index.column() > 0:
            painter.setPen(QPen(QColor(theme.muted), 1))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        sub = index.data(SUB) or ""
        if index.column() > 0 and sub:
            text = text[: len(text) - len(sub)].rstrip()
        first = index.column() == 0
        align = (Qt.AlignmentFlag.AlignLeft if first else Qt.AlignmentFlag.AlignHCenter)
        liquidated = bool(index.data(LIQUIDATED)) and index.data(GROUP) == 1
        font = QFont(option.font)
        font.setBold(first or liquidated)
        painter.setFont(font)
        painter.setPen(QColor(theme.text))
        inner = QRectF(rect.adjusted(4, 2, -4, -2))
        width = int(inner.width())
        h = inner.height() / 2
        top = QRectF(inner.left(), inner.top(), inner.width(), h if sub else inner.height())
        text = QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, width)
        painter.drawText(top, int(align | (Qt.AlignmentFlag.AlignBottom if sub else Qt.AlignmentFlag.AlignVCenter)),
                         text)
        if sub:
            small = QFont(option.font)
            small.setPointSizeF(max(6.5, option.font.pointSizeF() * 0.84))
            metrics = QFontMetrics(small)
            # the same form in every cell: the short one wherever the widest full one would not fit
            if metrics.horizontalAdvance("✝ 30 May 00:00") > width or metrics.horizontalAdvance(sub) > width:
                sub = metrics.elidedText(index.data(SUB_SHORT) or sub, Qt.TextElideMode.ElideRight, width)
            painter.setFont(small)
            painter.setPen(QColor(theme.text if liquidated or bg is not None else theme.muted))
            painter.drawText(QRectF(inner.left(), inner.top() + h, inner.width(), h),
                             int(align | Qt.AlignmentFlag.AlignTop), sub)
        painter.restore()


class MatrixView(QWidget):
    run_requested = Signal()
    open_replay = Signal(str, object)        # scenario id, position / account id (or None)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.theme: Theme | None = None
        self.result = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        top = QHBoxLayout()
        top.addWidget(section("Every crash at once"))
        self.status = hint("Every bundled crash and every scenario saved in this portfolio, on "
                           "your holdings.")
        top.addWidget(self.status, 1)
        top.addWidget(QLabel("Crashes:"))
        self.order = QComboBox()
        self.order.setObjectName("MatrixOrder")
        self.order.addItems(list(ORDERS))
        self.order.setToolTip("Columns in date order, or the worst crash for this portfolio first")
        self.order.currentIndexChanged.connect(lambda i: self.model.set_order(i == 1))
        top.addWidget(self.order)
        self.run_button = QPushButton("Recompute")
        self.run_button.setToolTip("Run every crash again (F5)")
        self.run_button.clicked.connect(self.run_requested)
        top.addWidget(self.run_button)
        lay.addLayout(top)
        self.metrics = MetricsStrip([
            ("worst", "Worst crash for you", "The scenario with the largest portfolio loss (value at its "
                                             "end − value today)."),
            ("deepest", "Deepest drawdown", "The largest fall of the portfolio value from a running peak "
                                            "in any scenario."),
            ("fragile", "Most often liquidated", "The position (or cross account) liquidated in the most "
                                                 "scenarios."),
            ("count", "Scenarios", "Bundled crashes (real bars) and the scenarios saved in this portfolio."),
        ])
        lay.addWidget(self.metrics)
        lay.addWidget(hint(f"Cells: P&L (USD); bold with a time (✝): liquidated then (UTC). Colour: loss as a share "
                           f"of today's portfolio value (deepest from {FULL_AT:.0%}; green: a gain). "
                           "Click a header to sort, a cell to open its replay."))
        self.model = MatrixModel(self)
        self.proxy = PinnedSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT)
        self.table = make_table(self.proxy, stretch_last=False)
        self.table.setObjectName("CrashMatrix")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(False)
        self.table.setMouseTracking(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)       # source order until a click
        self.table.verticalHeader().setDefaultSectionSize(36)
        header_font = QFont(self.table.horizontalHeader().font())
        header_font.setPointSizeF(max(7.0, header_font.pointSizeF() * 0.9))
        self.table.horizontalHeader().setFont(header_font)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        self.table.setItemDelegate(HeatDelegate(self, self.table))
        self.table.clicked.connect(self._clicked)
        lay.addWidget(self.table, 1)
    # ---- results
    def set_result(self, result) -> None:
        self.result = result
        self.model.theme = self.theme or LIGHT
        header = self.table.horizontalHeader()
        section_, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        self.model.set_report(result.report if result else None, self.order.currentIndex() == 1)
        if 0 <= section_ < self.model.columnCount():
            self.table.sortByColumn(section_, order)
        self._size_columns()
        self._fill_metrics()

    def _size_columns(self) -> None:
        """Fill the width: the names column, then the scenarios in equal columns (72-140 px)."""
        n = self.model.columnCount()
        if not n:
            return
        total = self.table.viewport().width()
        first = 200 if total >= 1500 else 150
        self.table.setColumnWidth(0, first)
        width = max(72, min(140, (total - first) // max(n - 1, 1)))
        for c in range(1, n):
            self.table.setColumnWidth(c, width)
        chars = max(10, int(0.9 * (width - 8) / QFontMetrics(self.table.horizontalHeader().font())
                                                       .averageCharWidth()))
        if chars != self.model.name_width:
            self.model.name_width = chars
            self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 1, n - 1)

    def resizeEvent(self, ev):                                      # noqa: N802
        super().resizeEvent(ev)
        self._size_columns()

    def _fill_metrics(self) -> None:
        rep = self.result.report if self.result else None
        scen = rep["scenarios"] if rep else []
        t = self.theme or LIGHT
        if not scen:
            for k in self.metrics.cards:
                self.metrics[k].set("—")
            return
        worst = min(scen, key=lambda s: s["portfolio"]["pnl"])
        self.metrics["worst"].set(f"{fmt_money(worst['portfolio']['pnl'], signed=True)} "
                                  f"({fmt_pct(worst['portfolio']['pnl_fraction'])})", worst["name"],
                                  color=t.loss if worst["portfolio"]["pnl"] < 0 else None)
        deep = max(scen, key=lambda s: s["portfolio"]["max_drawdown"])
        self.metrics["deepest"].set(fmt_pct(-deep["portfolio"]["max_drawdown"]), deep["name"])
        counts = {}
        for s in scen:
            for r in (*s["positions"], *s["accounts"]):
                counts[r["id"]] = counts.get(r["id"], 0) + bool(r["liquidated"])
        fragile = max(counts.items(), key=lambda kv: kv[1]) if counts else None
        if fragile and fragile[1]:
            self.metrics["fragile"].set(fragile[0], f"liquidated in {fragile[1]} of {len(scen)} scenarios",
                                        color=t.loss)
        else:
            self.metrics["fragile"].set("none", "no position is liquidated in any scenario")
        saved = sum(1 for s in scen if s.get("source") == "saved")
        self.metrics["count"].set(str(len(scen)), f"{len(scen) - saved} bundled, {saved} saved"
                                  + (f" · {self.result.elapsed * 1000:.0f} ms" if self.result.elapsed else ""))
        self.status.setText("Every bundled crash and every scenario saved in this portfolio, on your "
                            "holdings" + (": " + "; ".join(rep["warnings"]) if rep.get("warnings") else "."))

    def set_progress(self, done: int, total: int, text: str) -> None:
        if total > 1:
            self.status.setText(f"Running {done} of {total}: {text}")

    def _clicked(self, index) -> None:
        src = self.proxy.mapToSource(index)
        s = self.model.scenario(src.column())
        if s is not None:
            self.open_replay.emit(s["id"], src.data(ROW_ID))

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.model.theme = theme
        if self.result is not None:
            self.model.layoutChanged.emit()
            self._fill_metrics()

    # ---- state
    def save_state(self, settings) -> None:
        settings.setValue("matrix/order", self.order.currentIndex())

    def restore_state(self, settings) -> None:
        try:
            self.order.setCurrentIndex(int(settings.value("matrix/order", 0)))
        except (TypeError, ValueError):
            pass
