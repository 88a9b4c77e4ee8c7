"""The scenarios saved in the open portfolio: reading them from the document (through the
engine's checks), saving a shock or an imported window under a name, deleting one; every
change is one undo step and marks the file modified. The schema and the entries themselves
are the engine's (:mod:`engine.saved_scenarios`)."""
from __future__ import annotations

import copy
import json

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QInputDialog, QLineEdit

from engine import InputError
from engine import saved_scenarios as saved

from .jobs import load_history


class SetScenariosCommand(QUndoCommand):
    """Replace the document's ``scenarios`` list (None: no such key)."""

    def __init__(self, document, old, new, text: str):
        super().__init__(text)
        self.document, self.old, self.new = document, copy.deepcopy(old), copy.deepcopy(new)

    def _apply(self, value) -> None:
        extra = self.document.doc.extra
        if value:
            extra[saved.KEY] = copy.deepcopy(value)
        else:
            extra.pop(saved.KEY, None)
        self.document.revalidate()
        self.document.changed.emit()

    def redo(self):
        self._apply(self.new)

    def undo(self):
        self._apply(self.old)


class ScenarioStore(QObject):
    """The saved scenarios of ``document``; ``changed(scenarios, errors)`` when they change."""

    changed = Signal(list, list)        # engine SavedScenario list, InputError list

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        self._key = None
        self.scenarios: list = []
        self.errors: list = []
        document.changed.connect(self.refresh)
        document.loaded.connect(self.refresh)

    def raw(self):
        return self.document.doc.extra.get(saved.KEY)

    def refresh(self) -> None:
        key = json.dumps(self.raw(), sort_keys=True, default=str)
        if key == self._key:
            return
        self._key = key
        self.scenarios, self.errors = saved.check_saved(self.raw())
        self.changed.emit(self.scenarios, self.errors)

    def ids(self) -> list[str]:
        raw = self.raw()
        return [str(e.get("id")) for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []

    def add(self, entry: dict) -> None:
        old = self.raw()
        self.document.undo.push(SetScenariosCommand(self.document, old, saved.with_entry(old, entry),
                                                    f"Save scenario {entry['name']}"))

    def remove(self, scenario_id: str) -> None:
        old = self.raw()
        if scenario_id in self.ids():
            self.document.undo.push(SetScenariosCommand(
                self.document, old, saved.without_entry(old, scenario_id), f"Delete scenario {scenario_id}"))

    def save_shock(self, name: str, btc_move: float, beta_overrides: dict[str, float]) -> dict:
        entry = saved.shock_entry(name, {"BTC": btc_move}, beta_overrides, self.ids())
        self.add(entry)
        return entry

    def save_window(self, name: str, spec) -> dict:
        """Save the imported window of ``spec`` (a :class:`ui.jobs.ReplaySpec` with price files)."""
        if not spec.price_files:
            raise InputError("choose price history files first", field="history", value=None)
        hist = load_history(spec.price_files)
        if spec.start or spec.end:
            hist = hist.window(spec.start or None, spec.end or None)
        entry = saved.history_entry(name, hist, spec.proxy, spec.beta_overrides, self.ids())
        self.add(entry)
        return entry


def ask_name(parent, title: str, suggestion: str) -> str | None:
    """Ask for a scenario name (None when cancelled or empty)."""
    text, ok = QInputDialog.getText(parent, title, "Name of the scenario (kept in the portfolio file):",
                                    QLineEdit.EchoMode.Normal, suggestion)
    return text.strip() if ok and text.strip() else None


def save_shock_dialog(window) -> dict | None:
    """Shock view's Save as scenario: the BTC move and the beta overrides, under a name."""
    ctrl = window.controller
    move = ctrl.shock_move
    betas = dict(ctrl.beta_overrides)
    suggestion = f"BTC {move * 100:+.0f}%" + (" (" + ", ".join(f"{a} beta {b:g}" for a, b in betas.items())
                                             + ")" if betas else "")
    name = ask_name(window, "Save shock as scenario", suggestion)
    if name is None:
        return None
    return _saved(window, lambda: window.scenarios.save_shock(name, move, betas))


def save_window_dialog(window, spec) -> dict | None:
    """Replay view's Save window: the imported window (From/To) as moves, under a name."""
    span = " → ".join(x for x in (spec.start, spec.end) if x) or "imported window"
    name = ask_name(window, "Save imported window as scenario", span)
    if name is None:
        return None
    spec.beta_overrides = dict(window.controller.beta_overrides)
    entry = _saved(window, lambda: window.scenarios.save_window(name, spec))
    if entry is not None:                 # replay it from the list: the same bars, now saved
        window.replay_view.select_scenario(entry["id"], run=True)
    return entry


def _saved(window, save):
    try:
        entry = save()
    except InputError as exc:
        window.show_error("Cannot save the scenario", str(exc))
        return None
    window.statusBar().showMessage(f"Saved scenario '{entry['name']}' in the portfolio: it is in the "
                                   "Replay list and the crash matrix (Save the file to keep it)", 8000)
    return entry
