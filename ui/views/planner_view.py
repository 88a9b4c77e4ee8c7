"""Survive: the survival planner beside reverse stress.

Pick a target (every bundled crash, one crash, a BTC shock, the Replay view's imported price
history, a reverse-stress loss level, or "P(liquidation) <= p over D days"), a budget, and Plan: the engine's planner
(:mod:`engine.planner`, on a worker thread owned by the controller) lists per position or
cross account the smallest change in each way, the plan the budget buys, and the target
before and after the plan (per crash, and as a crash matrix of who is liquidated).

Nothing in the book changes until "Apply plan": it edits the holdings as one undoable step
(one QUndoStack macro: Edit → Undo reverts it all), and only when the book is still the one
planned on.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QSplitter, QVBoxLayout, QWidget)

from engine import InputError
from engine.parsing import parse_number
from engine.planner import describe
from engine.portfolio import Portfolio, portfolio_to_dict, position_to_dict
from engine.scenarios import library

from ..document import fmt_money, fmt_pct, fmt_price
from ..jobs import PlanSettings, ReplaySpec
from ..widgets import RecordsModel, hint, make_table, section

TAB_TITLE = "Survive"


# --------------------------------------------------------------------------- applying
def plan_edits(document, original: Portfolio, after: Portfolio):
    """The document edits that turn ``original`` into ``after``: (cell edits
    ``(target, row, key, value)``, position rows to remove). Only fields the plan changed
    are touched (engine dictionaries compared key by key); rows are found by id."""
    rows = {str(r.raw.get("id")): i for i, r in enumerate(document.doc.rows)}
    accounts = {str(a.get("id")).strip(): j for j, a in enumerate(document.doc.accounts)}
    edits, removed = [], []
    for pos in original.positions:
        new = after.position(pos.id)
        if new is None:
            removed.append(rows[pos.id])
            continue
        old_d, new_d = position_to_dict(pos), position_to_dict(new)
        for key in sorted(set(old_d) | set(new_d)):
            if old_d.get(key) != new_d.get(key):
                edits.append(("position", rows[pos.id], key, new_d.get(key)))
    for acc in original.accounts:
        new = after.account(acc.id)
        if new is not None and new.wallet_balance != acc.wallet_balance:
            edits.append(("account", accounts[acc.id], "wallet_balance", new.wallet_balance))
    return edits, removed


def apply_to_document(document, original: Portfolio, after: Portfolio,
                      text: str = "Apply survival plan") -> int:
    """Edit ``document`` (a :class:`ui.models.PortfolioDocument`) from ``original`` to
    ``after`` as one undo step. Raises ValueError when the document no longer holds
    ``original`` (the plan is stale). Returns the number of edits."""
    current = document.validation.portfolio
    if current is None or portfolio_to_dict(current) != portfolio_to_dict(original):
        raise ValueError("the holdings changed since this plan was made: plan again")
    edits, removed = plan_edits(document, original, after)
    if not edits and not removed:
        return 0
    document.undo.beginMacro(text)
    try:
        for target, row, key, value in edits:
            document.set_cell(target, row, key, value)
        if removed:
            document.remove_positions(removed)
    finally:
        document.undo.endMacro()
    return len(edits) + len(removed)


# --------------------------------------------------------------------------- the view
class PlannerView(QWidget):
    """The planner panel. ``theme_of`` returns the window's current theme (colours)."""

    plan_requested = Signal(object)           # PlanSettings
    apply_requested = Signal()

    def __init__(self, theme_of=lambda: None, history_of=lambda: None, parent=None):
        super().__init__(parent)
        self.theme_of = theme_of
        self.history_of = history_of              # the Replay view's imported files (ReplaySpec)
        self.result = None                    # engine.planner.PlanResult
        self.stale = False
        self._planning = False
        self.losses: tuple[float, ...] = ()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        head = QHBoxLayout()
        head.addWidget(section("Survive"))
        head.addWidget(hint("The smallest change that keeps each position alive through the target "
                            "— margin, wallet, collateral, a repayment, a reduction — its cost "
                            "and new liquidation price, and the plan a budget buys. Nothing "
                            "changes in your holdings until you click Apply plan."), 1)
        lay.addLayout(head)
        row = QHBoxLayout()
        row.addWidget(QLabel("Target"))
        self.target = QComboBox()
        self.target.setObjectName("PlanTarget")
        self.target.setMinimumWidth(300)
        self.target.setToolTip("What every position must survive")
        row.addWidget(self.target)
        self.move_label = QLabel("BTC move")
        self.move = QDoubleSpinBox()
        self.move.setRange(-95.0, 500.0)
        self.move.setDecimals(1)
        self.move.setSuffix(" %")
        self.move.setValue(-30.0)
        self.move.setToolTip("Instant BTC move; other assets through their betas (Shock view "
                             "overrides included)")
        self.pliq_label = QLabel("P(liquidation) ≤")
        self.pliq = QDoubleSpinBox()
        self.pliq.setRange(0.0, 50.0)
        self.pliq.setDecimals(2)
        self.pliq.setSingleStep(0.5)
        self.pliq.setSuffix(" %")
        self.pliq.setValue(1.0)
        self.pliq.setToolTip("Each position's probability of liquidation over the horizon, on "
                             "fixed Monte Carlo paths (standard error shown with the result)")
        self.days_label = QLabel("over")
        self.days = QSpinBox()
        self.days.setRange(1, 365)
        self.days.setValue(30)
        self.days.setSuffix(" days")
        for w in (self.move_label, self.move, self.pliq_label, self.pliq, self.days_label, self.days):
            row.addWidget(w)
        row.addSpacing(12)
        row.addWidget(QLabel("Budget"))
        self.budget = QLineEdit()
        self.budget.setObjectName("PlanBudget")
        self.budget.setPlaceholderText("no limit")
        self.budget.setMaximumWidth(120)
        self.budget.setToolTip("New money you can add (USD): margin, wallet, collateral, "
                               "repayments. Empty: no limit")
        row.addWidget(self.budget)
        self.allow_free = QCheckBox("Reduce what the budget cannot save")
        self.allow_free.setToolTip("Let the plan close part of a position (or swap collateral) "
                                   "where the budget does not reach")
        row.addWidget(self.allow_free)
        row.addStretch(1)
        self.plan_button = QPushButton("Plan")
        self.plan_button.setObjectName("PlanRun")
        self.plan_button.setToolTip("Search the smallest fixes and the plan (runs in the background)")
        self.plan_button.clicked.connect(self.request_plan)
        row.addWidget(self.plan_button)
        self.apply_button = QPushButton("Apply plan")
        self.apply_button.setObjectName("PlanApply")
        self.apply_button.setToolTip("Edit the holdings as the plan says, as one step (Edit → Undo "
                                     "reverts it)")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply_requested)
        row.addWidget(self.apply_button)
        lay.addLayout(row)
        self.status = hint("Choose a target and click Plan.")
        self.status.setObjectName("PlanStatus")
        lay.addWidget(self.status)

        self.actions_model = RecordsModel([
            ("Position / account", "What is liquidated as one: a position, or a cross account "
                                   "with all its perps", False),
            ("Change", "The smallest change of this kind that survives the target", False),
            ("Amount (USD)", "USD value of the change at today's prices", True),
            ("New money (USD)", "Money to add (0 for a reduction or a collateral swap)", True),
            ("New liq. price", "Liquidation price after the change (other prices held)", True),
            ("New HF", "Health factor today after the change (loans)", True),
            ("In plan", "Chosen by the plan under the budget", False)])
        self.actions = make_table(self.actions_model)
        self.actions.setObjectName("PlanActions")
        for i, w in enumerate((150, 380, 110, 120, 110, 70)):
            self.actions.setColumnWidth(i, w)
        self.compare_model = RecordsModel([
            ("Target", "Each crash of the target (or the shock, the history, the Monte Carlo)", False),
            ("P&L before", "Portfolio P&L as the book is (Monte Carlo: expected P&L)", True),
            ("Liquidated", "Positions liquidated as the book is (Monte Carlo: above the limit)", True),
            ("P&L after", "Portfolio P&L with the plan applied. A position the plan keeps open "
                          "can lose more than the margin it would have lost when liquidated: "
                          "the plan avoids liquidation, it does not make the crash cheaper", True),
            ("Liquidated ", "Positions liquidated with the plan applied", True)])
        self.compare = make_table(self.compare_model)
        self.compare.setObjectName("PlanCompare")
        for i, w in enumerate((300, 100, 80, 100)):
            self.compare.setColumnWidth(i, w)
        self.matrix_model = RecordsModel([("Position", "", False)])
        self.matrix = make_table(self.matrix_model, stretch_last=False)
        self.matrix.setObjectName("PlanMatrix")
        self.summary = hint("")
        self.summary.setObjectName("PlanSummary")

        bottom = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(section("Before and after the plan"))
        ll.addWidget(self.compare)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(section("Crash matrix: liquidated before → after",
                             "✝ liquidated, ✓ survives; a position saved by the plan shows ✝ → ✓"))
        rl.addWidget(self.matrix)
        bottom.addWidget(left)
        bottom.addWidget(right)
        bottom.setSizes([620, 780])
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(section("Smallest change per position and way"))
        tl.addWidget(self.actions)
        tl.addWidget(self.summary)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setSizes([420, 380])
        lay.addWidget(self.splitter, 1)
        self.target.currentIndexChanged.connect(self._target_changed)
        self.set_loss_levels((0.1, 0.25, 0.5))
        self._target_changed()

    # ---- choices
    def set_loss_levels(self, levels) -> None:
        """The reverse stress's loss levels become targets ("loss of 10 %" ...)."""
        self.losses = tuple(levels)
        keep = self.target.currentData()
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItem("Every bundled crash", "all")
        for s in library():
            self.target.addItem(f"Crash: {s['name']}", s["id"])
        self.target.addItem("Shock: an instant BTC move", "shock")
        self.target.addItem("Imported history (the Replay view's price files)", "history")
        for x in self.losses:
            self.target.addItem(f"Reverse stress: the move that loses {x * 100:g}% of the value",
                                f"loss:{x!r}")
        self.target.addItem("Monte Carlo: probability of liquidation", "montecarlo")
        i = self.target.findData(keep) if keep is not None else 0
        self.target.setCurrentIndex(max(i, 0))
        self.target.blockSignals(False)
        self._target_changed()

    def _target_changed(self, *_):
        key = self.target.currentData() or "all"
        for w in (self.move_label, self.move):
            w.setVisible(key == "shock")
        for w in (self.pliq_label, self.pliq, self.days_label, self.days):
            w.setVisible(key == "montecarlo")

    def settings(self) -> PlanSettings:
        """The panel's choices; raises InputError naming ``budget`` for a bad budget."""
        key = self.target.currentData() or "all"
        text = self.budget.text().strip()
        budget = None
        if text:
            try:
                budget = parse_number(text.lstrip("$"), percent=False)
            except ValueError:
                raise InputError("must be an amount in USD, or empty for no limit", field="budget",
                                 value=text) from None
        s = PlanSettings(target=key, btc_move=self.move.value() / 100.0, pliq=self.pliq.value() / 100.0,
                         days=self.days.value(), budget=budget, allow_free=self.allow_free.isChecked())
        if key.startswith("loss:"):
            s.target, s.loss = "loss", float(key[5:])
        if key == "history":
            s.history = self.history_of()
            if s.history is None or not s.history.price_files:
                raise InputError("import a price history in the Replay view first", field="history",
                                 value=None)
        return s

    def request_plan(self) -> None:
        try:
            s = self.settings()
        except InputError as exc:
            self.show_error(str(exc))
            return
        self.plan_requested.emit(s)

    # ---- state
    def set_running(self, running: bool, text: str = "") -> None:
        if running:
            self._planning = True
            self.status.setStyleSheet("")
            self.status.setText(text or "Planning…")
            self.apply_button.setEnabled(False)
        elif self._planning:                  # stopped without a result (cancelled)
            self._planning = False
            self.status.setText("Planning stopped." + (" The plan shown is the last one made."
                                                       if self.result is not None else ""))
            self.apply_button.setEnabled(self.result is not None and not self.stale
                                         and bool(self.result.report["plan"]))

    def show_error(self, message: str) -> None:
        self._planning = False
        t = self.theme_of()
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {t.loss};" if t else "")

    def mark_stale(self) -> None:
        """The holdings changed: this plan no longer applies."""
        if self.result is not None and not self.stale:
            self.stale = True
            self.apply_button.setEnabled(False)
            self._show_status()

    def mark_applied(self, n_edits: int) -> None:
        self.stale = True
        self.apply_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText(f"Plan applied to the holdings ({n_edits} change"
                            f"{'s' if n_edits != 1 else ''}, one step: Edit → Undo reverts it). "
                            "Plan again to check the new book.")

    def _show_status(self) -> None:
        self.status.setStyleSheet("")
        rep = self.result.report
        t = rep["target"]
        text = f"{t['name']}: {t['rule']}. {rep['precision']['text'].capitalize()}."
        if self.stale:
            text = "The holdings changed since this plan: plan again before applying. " + text
        self.status.setText(text)

    # ---- results
    def set_result(self, result) -> None:
        self.result = result
        self.stale = False
        self._planning = False
        rep = result.report
        t = self.theme_of()
        planned = {(a["unit"], a["action"], a["id"], a["asset"]) for a in rep["plan"]}
        rows, fgs, tips = [], {}, {}
        for i, a in enumerate(rep["actions"]):
            chosen = (a["unit"], a["action"], a["id"], a["asset"]) in planned
            hf = a["new_health_factor"]
            rows.append((a["unit"], describe(a), fmt_money(a["amount_usd"]),
                         fmt_money(a["cost_usd"]) if a["cost_usd"] else "none",
                         fmt_price(a["new_liquidation_price"]), "—" if hf is None else f"{hf:.3f}",
                         "✓ in plan" if chosen else ""))
            if chosen and t:
                fgs[(i, 6)] = t.gain
            if a.get("liquidation_prices"):
                tips[(i, 4)] = "New liquidation prices: " + ", ".join(
                    f"{k} {fmt_price(v)}" for k, v in a["liquidation_prices"].items())
        self.actions_model.set_rows(rows, foregrounds=fgs, tips=tips)
        ps = rep["plan_summary"]
        if not ps["failing"]:
            summary = "Every position survives this target: nothing to change."
        else:
            budget = "no budget limit" if ps["budget"] is None else f"budget {fmt_money(ps['budget'])}"
            summary = (f"{len(ps['failing'])} position(s) or account(s) do not survive. Plan "
                       f"({budget}): new money {fmt_money(ps['cost_usd'])}, saves {len(ps['saved'])} "
                       f"of {len(ps['failing'])}, keeping {fmt_money(ps['value_kept_usd'])} of "
                       f"{fmt_money(ps['value_at_risk_usd'])} of today's value alive.")
            if ps["not_saved"]:
                summary += f" Not saved: {', '.join(ps['not_saved'])}."
        notes = rep.get("notes") or []
        if notes:
            summary += "\n" + "\n".join(notes)
        self.summary.setText(summary)
        self._draw_compare(rep, t)
        self._draw_matrix(rep, t)
        self.apply_button.setEnabled(bool(rep["plan"]))
        self._show_status()

    def _draw_compare(self, rep, t) -> None:
        rows, fgs = [], {}
        for i, (b, a) in enumerate(zip(rep["before"], rep["after"])):
            rows.append((b["name"], fmt_money(b["pnl"], signed=True), str(b["liquidated"]),
                         fmt_money(a["pnl"], signed=True), str(a["liquidated"])))
            if t:
                fgs[(i, 2)] = t.loss if b["liquidated"] else None
                fgs[(i, 4)] = t.loss if a["liquidated"] else t.gain
        self.compare_model.set_rows(rows, foregrounds=fgs)

    def _draw_matrix(self, rep, t) -> None:
        before, after = rep["before"], rep["after"]
        mc = rep["target"]["kind"] == "montecarlo"
        cols = [("Position", "Positions liquidated by the target before or after the plan", False)]
        for k, b in enumerate(before):
            label = "P(liq.)" if mc else f"E{k + 1}" if len(before) > 1 else "Target"
            cols.append((label, b["name"], False))
        ids = []
        for s in before + after:
            for pid in s["liquidated_ids"]:
                if pid not in ids:
                    ids.append(pid)
        if self.matrix_model.columns != cols:
            self.matrix_model.beginResetModel()
            self.matrix_model.columns = cols
            self.matrix_model.rows = []
            self.matrix_model.endResetModel()
        rows, fgs, tips = [], {}, {}
        for r, pid in enumerate(ids):
            cells = [pid]
            for c, (b, a) in enumerate(zip(before, after), start=1):
                was, now = pid in b["liquidated_ids"], pid in a["liquidated_ids"]
                if mc:
                    pb = b["liquidation_probability"].get(pid)
                    pa = a["liquidation_probability"].get(pid)
                    cells.append(f"{fmt_pct(pb, 2, signed=False)} → {fmt_pct(pa, 2, signed=False)}"
                                 if pa is not None else f"{fmt_pct(pb, 2, signed=False)} → closed")
                else:
                    cells.append("✝ → ✓" if was and not now else "✝" if now else "")
                if t and (was or now):
                    fgs[(r, c)] = t.loss if now else t.gain
                tips[(r, c)] = f"{pid} in {b['name']}: " + (
                    "liquidated, saved by the plan" if was and not now else
                    "liquidated, also after the plan" if now else "survives")
            rows.append(tuple(cells))
        self.matrix_model.set_rows(rows, foregrounds=fgs, tips=tips)
        self.matrix.setColumnWidth(0, 150)
        for c in range(1, len(cols)):
            self.matrix.setColumnWidth(c, 120 if mc else 56)


# --------------------------------------------------------------------------- placing it
def install(window) -> PlannerView:
    """Add the planner as a tab beside Reverse stress and wire it to the controller, the
    document and the reverse stress's loss levels (``window`` is the MainWindow)."""
    def history():                        # the Replay view's imported files, window and proxy
        rv = window.replay_view
        if not rv.price_files:
            return None
        spec = rv.spec()
        return spec if spec.price_files else ReplaySpec(
            price_files=list(rv.price_files), start=rv.start_edit.text().strip() or None,
            end=rv.end_edit.text().strip() or None, proxy=spec.proxy)

    view = PlannerView(lambda: window.theme, history)
    tabs = window.tabs
    tabs.insertTab(tabs.indexOf(window.reverse_view) + 1, view, TAB_TITLE)
    tabs.setTabToolTip(tabs.indexOf(view), "The smallest changes that survive a target, and the "
                                           f"plan a budget buys (Ctrl+{tabs.indexOf(view) + 1})")
    c, doc = window.controller, window.document
    view.plan_requested.connect(c.run_plan)
    c.plan_ready.connect(view.set_result)
    c.busy_changed.connect(lambda ch, running: view.set_running(running) if ch == "plan" else None)
    c.progress.connect(lambda ch, done, total, text: view.set_running(True, f"Planning: {text}")
                       if ch == "plan" else None)
    c.error.connect(lambda ch, msg: view.show_error(msg) if ch == "plan" else None)
    window.reverse_view.losses_changed.connect(c.set_reverse_losses)
    c.reverse_losses_changed.connect(view.set_loss_levels)
    doc.changed.connect(view.mark_stale)

    def apply() -> None:
        res = view.result
        if res is None or view.stale:
            return
        try:
            n = apply_to_document(doc, res.original, res.after)
        except ValueError as exc:
            view.show_error(str(exc))
            view.mark_stale()
            return
        view.mark_applied(n)

    view.apply_requested.connect(apply)
    return view
