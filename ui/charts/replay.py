"""Replay charts: portfolio value through a replay with its step cursor, and lines over time
(health factor, margin ratio)."""
from __future__ import annotations


import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor

from ..document import fmt_money, fmt_pct
from .base import Chart, MoneyAxis, PlainAxis, make_brush, make_pen


#: tick spacings of a time axis, seconds: 1, 2, 3, 4, 6, 12 hours, 1, 2, 7, 14 days, ~1, 3 months
TIME_SPACINGS = (3600, 7200, 10800, 14400, 21600, 43200, 86400, 2 * 86400, 7 * 86400,
                 14 * 86400, 30 * 86400, 91 * 86400)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def epochs_of(times) -> np.ndarray | None:
    """ISO 8601 UTC times (``2025-12-18T15:00:00Z``) as seconds since 1970; None without times."""
    if not times:
        return None
    return np.array([str(t).rstrip("Z") for t in times], dtype="datetime64[s]").astype(np.int64)


def _day(sec: int) -> str:
    d = np.datetime64(int(sec), "s").astype(object)
    return f"{d.day} {_MONTHS[d.month - 1]}"


def date_text(iso: str | None) -> str:
    """``2025-10-10T16:00:00Z`` -> ``10 Oct 2025`` ("" for None)."""
    if not iso:
        return ""
    y, m, d = iso[:10].split("-")
    return f"{int(d)} {_MONTHS[int(m) - 1]} {y}"


def short_time(iso: str) -> str:
    """``2025-10-10T16:00:00Z`` -> ``10 Oct 16:00`` (UTC, no year: for tight places)."""
    return f"{date_text(iso)[:-5]} {iso[11:16]}".strip()


def _buckets(e: np.ndarray, spacing: int) -> np.ndarray:
    """Which interval of ``spacing`` each time falls in: hours and days from midnight UTC,
    weeks from Monday, ~months as calendar months (quarters for 91 days)."""
    if spacing < 7 * 86400:
        return e // spacing
    if spacing < 30 * 86400:
        return (e - 4 * 86400) // spacing                 # 1970-01-05 was a Monday
    months = e.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return months if spacing < 91 * 86400 else months // 3


def time_ticks(epochs: np.ndarray, lo: float, hi: float, max_ticks: int) -> list[tuple[int, str]]:
    """Ticks of a step axis at round UTC times: ``(step, label)`` for the steps in [lo, hi].

    The spacing is the smallest of :data:`TIME_SPACINGS` that gives at most ``max_ticks``
    ticks; a tick sits on the first step of each new interval (so irregular rows work too).
    Labels: the day (``18 Dec``) at midnight or for daily spacings, else the hour (``15:00``),
    with the day where it is not the previous tick's (``18 Dec 15:00`` first on a zoomed axis).
    """
    n = len(epochs)
    i0, i1 = max(0, int(np.ceil(lo - 1e-9))), min(n - 1, int(np.floor(hi + 1e-9)))
    if i1 < i0:
        return []
    span = max(int(epochs[i1] - epochs[i0]), 1)
    step_size = int(np.median(np.diff(epochs))) if n > 1 else 3600
    spacing = next((s for s in TIME_SPACINGS if s >= step_size and span / s <= max(max_ticks, 1)),
                   TIME_SPACINGS[-1])
    e = epochs[i0:i1 + 1]
    bucket = _buckets(e, spacing)
    idx = [0] + [int(k) for k in np.flatnonzero(bucket[1:] != bucket[:-1]) + 1]
    if _buckets(e[:1] - 1, spacing)[0] == bucket[0]:   # the first step is not on a round time
        idx = idx[1:] or [0]
    out, day = [], None
    for k in idx:
        sec = int(e[k])
        hhmm = f"{sec % 86400 // 3600:02d}:{sec % 3600 // 60:02d}"
        if spacing >= 86400 or hhmm == "00:00":
            label = _day(sec)
        else:
            label = hhmm if sec // 86400 == day else f"{_day(sec)} {hhmm}"
        day = sec // 86400
        out.append((i0 + k, label))
    return out


def time_axis_title(epochs: np.ndarray | None) -> str:
    """``Time (UTC), Dec 2025`` / ``Time (UTC), Dec 2025 – Jan 2026``; ``Step`` without times."""
    if epochs is None or not len(epochs):
        return "Step"
    a, b = (np.datetime64(int(x), "s").astype(object) for x in (epochs[0], epochs[-1]))
    first, last = f"{_MONTHS[a.month - 1]} {a.year}", f"{_MONTHS[b.month - 1]} {b.year}"
    return f"Time (UTC), {first}" + ("" if first == last else f" – {last}")


class StepAxis(pg.AxisItem):
    """The x axis of a replay: x is the step index; ticks sit at round UTC times of the steps
    (dates and hours) when the scenario has times, else at steps labelled with their labels."""

    PX_PER_TICK = 78

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.enableAutoSIPrefix(False)
        self.step_labels: list[str] = []
        self.epochs: np.ndarray | None = None
        self._texts: dict[int, str] = {}

    def set_steps(self, labels: list[str], times=None) -> None:
        """Label the steps: ``times`` (ISO 8601 UTC, one per step) or plain ``labels``."""
        self.step_labels = list(labels)
        self.epochs = epochs_of(times) if times and len(times) == len(labels) else None
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):              # noqa: N802 (pyqtgraph API)
        n = len(self.step_labels)
        if not n:
            return []
        most = max(2, int(size // self.PX_PER_TICK))
        if self.epochs is not None:
            ticks = time_ticks(self.epochs, minVal, maxVal, most)
        else:
            lo, hi = max(0, int(np.ceil(minVal))), min(n - 1, int(np.floor(maxVal)))
            k = max(1, int(np.ceil((hi - lo + 1) / most)))
            ticks = [(i, self.step_labels[i][:16]) for i in range(lo, hi + 1, k)]
        self._texts = dict(ticks)
        return [(1.0, [float(i) for i, _ in ticks])]

    def tickStrings(self, values, scale, spacing):           # noqa: N802 (pyqtgraph API)
        return [self._texts.get(int(round(v)), "") for v in values]


class ReplayValueChart(Chart):
    """Portfolio value through a replay: the path so far (bright) over the whole path
    (faint), liquidation markers, and a draggable cursor at the current step."""

    step_dragged = Signal(int)

    def __init__(self, parent=None):
        self.step_axis = StepAxis("bottom")
        super().__init__("Portfolio value through the replay", "Step", "Portfolio value (USD)",
                         x_axis=self.step_axis, y_axis=MoneyAxis("left"), legend=True, parent=parent,
                         tooltip="Portfolio value at each step's close. Crosses mark liquidations; "
                                 "drag the vertical line to scrub.")
        self.full = self.plot([], [], name="whole replay")
        self.played = self.plot([], [], name="played so far")
        self.full.setDownsampling(auto=True, method="peak")
        self.full.setClipToView(True)
        self.liq = pg.ScatterPlotItem(size=12, symbol="x", hoverable=True, tip=self._tip)
        self.plotItem.addItem(self.liq)
        if self.legend is not None:
            self.legend.addItem(self.liq, "liquidation")
        self.cursor = pg.InfiniteLine(angle=90, movable=True)
        self.cursor.setToolTip("Current step: drag to scrub")
        self.plotItem.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigDragged.connect(lambda l: self.step_dragged.emit(int(round(l.value()))))
        self.value = np.zeros(0)
        self.labels: list[str] = []
        self._events: list[tuple[int, str]] = []

    def _tip(self, x, y, data):
        i = int(round(x))
        when = self.labels[i] if 0 <= i < len(self.labels) else f"step {i}"
        return f"{data}\nliquidated {when}\nportfolio {fmt_money(y)}"

    def set_data(self, labels: list[str], value: np.ndarray, events: list[tuple[int, str]],
                 times: list[str] | None = None) -> None:
        """``labels``: one readable text per step (the readout); ``times``: ISO 8601 UTC per
        step for the time axis (None: the steps are labelled with ``labels``)."""
        self.labels = list(labels)
        self.step_axis.set_steps(self.labels, times)
        self.plotItem.setLabel("bottom", time_axis_title(self.step_axis.epochs))
        self.value = np.asarray(value, float)
        x = np.arange(len(self.value))
        self.full.setData(x, self.value)
        spots = []
        by_step: dict[int, list[str]] = {}
        for step, pid in events:
            by_step.setdefault(step, []).append(pid)
        for step, ids in by_step.items():
            if 0 <= step < len(self.value):
                spots.append({"pos": (step, self.value[step]), "data": ", ".join(ids)})
        self.liq.setData(spots)
        self.cursor.setBounds((0, max(len(self.value) - 1, 0)))
        n = len(self.value)
        self.plotItem.setXRange(-0.05 * max(n - 1, 1), (n - 1) + 0.05 * max(n - 1, 1), padding=0)
        self.show_message("" if n else "Run a replay")

    def set_step(self, k: int) -> None:
        k = int(np.clip(k, 0, max(len(self.value) - 1, 0)))
        self.played.setData(np.arange(k + 1), self.value[: k + 1])
        self.cursor.blockSignals(True)
        self.cursor.setValue(k)
        self.cursor.blockSignals(False)

    def readout(self, x, y):
        if not len(self.value):
            return None
        i = int(np.clip(round(x), 0, len(self.value) - 1))
        rel = self.value[i] / self.value[0] - 1 if self.value[0] else float("nan")
        return f"{self.labels[i]}: {fmt_money(self.value[i])} ({fmt_pct(rel)})"

    def restyle(self):
        t = self.theme
        self.full.setPen(make_pen(t.muted, 1.5, Qt.PenStyle.DashLine))
        self.played.setPen(make_pen(t.accent, 2.5))
        self.liq.setPen(make_pen(t.loss, 2.5))
        self.liq.setBrush(make_brush(t.loss))
        self.cursor.setPen(make_pen(t.warn, 2))
        self.cursor.setHoverPen(make_pen(t.warn, 4))


class LinesChart(Chart):
    """Several named series over steps with a threshold line (health factor, margin ratio)."""

    def __init__(self, title: str, y_label: str, threshold: float, threshold_label: str,
                 clip: float, tooltip: str = "", parent=None, step_axis: bool = True):
        self.step_axis = StepAxis("bottom") if step_axis else PlainAxis("bottom")
        super().__init__(title, "Step", y_label, x_axis=self.step_axis, legend=True,
                         parent=parent, tooltip=tooltip)
        self.clip = clip
        self.threshold = pg.InfiniteLine(angle=0, pos=threshold, movable=False,
                                         label=threshold_label,
                                         labelOpts={"position": 0.02, "anchors": [(0, 1), (0, 1)]})
        self.plotItem.addItem(self.threshold)
        self.curves: list[pg.PlotDataItem] = []
        self.names: list[str] = []
        self.data: list[np.ndarray] = []
        self.cursor = pg.InfiniteLine(angle=90, movable=False)
        self.plotItem.addItem(self.cursor, ignoreBounds=True)
        self.labels: list[str] = []

    def set_series(self, labels: list[str], series: dict[str, np.ndarray],
                   times: list[str] | None = None) -> None:
        names = list(series)
        self.labels = list(labels)
        if isinstance(self.step_axis, StepAxis):
            self.step_axis.set_steps(self.labels, times)
            self.plotItem.setLabel("bottom", time_axis_title(self.step_axis.epochs))
        while len(self.curves) < len(names):       # grow the pool once, then reuse
            c = self.plot([], [], name=f"series {len(self.curves)}")
            self.curves.append(c)
        if self.legend is not None:
            self.legend.clear()
        self.data = []
        for i, c in enumerate(self.curves):
            if i < len(names):
                y = np.asarray(series[names[i]], float)
                y = np.where(y > self.clip, self.clip, y)     # inf -> cap; NaN stays a gap
                self.data.append(y)
                c.setData(np.arange(len(y)), y)
                c.setVisible(True)
                c.setPen(make_pen(self.theme.color(i), 2))
                if self.legend is not None:
                    self.legend.addItem(c, names[i])
            else:
                c.setData([], [])
                c.setVisible(False)
        self.names = names
        self.show_message("" if names else "Nothing of this kind in the portfolio")

    def set_step(self, k: int) -> None:
        self.cursor.setValue(k)

    def readout(self, x, y):
        if not self.data or not self.labels:
            return None
        i = int(np.clip(round(x), 0, len(self.labels) - 1))
        parts = [(f"{n} {d[i]:.3f}" + ("+" if d[i] >= self.clip else "")) if np.isfinite(d[i]) else f"{n} —"
                 for n, d in zip(self.names, self.data) if i < len(d)]
        return f"{self.labels[i]}: " + ", ".join(parts)

    def restyle(self):
        t = self.theme
        self.threshold.setPen(make_pen(t.loss, 1.5, Qt.PenStyle.DashLine))
        self.threshold.label.setColor(QColor(t.loss))
        self.cursor.setPen(make_pen(t.warn, 1.5))
        for i, c in enumerate(self.curves):
            c.setPen(make_pen(t.color(i), 2))
