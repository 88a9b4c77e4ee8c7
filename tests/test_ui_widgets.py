"""Widget building blocks: labels that do not re-lay out the window."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui.widgets import MetricCard, StableLabel


class _LayoutRequests(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, ev):               # noqa: N802 (Qt naming)
        if ev.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def _window(qtbot, label):
    top = QWidget()
    lay = QVBoxLayout(top)
    lay.addWidget(label)
    top.resize(300, 80)
    qtbot.addWidget(top)
    top.show()
    qtbot.waitExposed(top)
    return top


def _layout_requests_for_50_texts(qtbot, label) -> int:
    top = _window(qtbot, label)
    label.setText("$2")                       # first text after show: settles polish
    qtbot.wait(20)
    spy = _LayoutRequests()
    top.installEventFilter(spy)
    for v in range(50):
        label.setText(f"${v * 1234567:,}")
        qtbot.wait(1)
    assert label.text() == f"${49 * 1234567:,}"
    return spy.count


def test_new_text_does_not_re_lay_out_the_window(qtbot):
    assert _layout_requests_for_50_texts(qtbot, StableLabel("$1", "MetricValue")) == 0
    # a plain QLabel does (the reason for StableLabel)
    assert _layout_requests_for_50_texts(qtbot, QLabel("$1")) >= 10


def test_long_text_is_elided_with_the_full_text_in_the_tooltip(qtbot):
    stable = StableLabel("")
    stable.setToolTip("What this is.")
    top = _window(qtbot, stable)
    top.resize(120, 60)
    qtbot.wait(10)
    long_text = "Step 12/40 · $79,147 (−17.8%) · crash low (2025-10-10 → 2025-10-11) and close"
    stable.setText(long_text)
    assert stable.text() == long_text
    assert stable.label.text().endswith("…") and len(stable.label.text()) < len(long_text)
    assert long_text in stable.label.toolTip() and "What this is." in stable.label.toolTip()
    stable.setText("short")
    assert stable.label.text() == "short" and stable.label.toolTip() == "What this is."


def test_metric_card_sets_value_sub_and_colour(qtbot):
    card = MetricCard("P&L", "Profit and loss")
    top = _window(qtbot, card)  # noqa: F841 (kept alive: it owns the card)
    card.set("−$33,133", "−34.4%", color="#c0392b")
    assert card.value.text() == "−$33,133" and card.sub.text() == "−34.4%"
    assert "#c0392b" in card.value.label.styleSheet()


def test_a_font_change_re_elides(qtbot):
    stable = StableLabel("")
    top = _window(qtbot, stable)               # noqa: F841
    top.resize(200, 60)
    qtbot.wait(10)
    text = "Value at risk 99% one day horizon"
    stable.setText(text)
    stable.setStyleSheet("font-size: 7pt;")
    qtbot.waitUntil(lambda: stable.label.text() == text)          # fits now: whole
    stable.setStyleSheet("font-size: 20pt;")
    qtbot.waitUntil(lambda: stable.label.text().endswith("…"))    # does not: elided
