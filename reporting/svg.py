"""Charts as inline SVG drawn from numbers, in the report's own light theme.

The HTML report embeds these instead of screenshots of the app's charts: they need no
window, no Qt and no display (the CLI and the frozen bundle draw them the same way), they
look the same whatever theme the app uses, stay sharp when zoomed or printed and keep the
file small. Colours follow the app's light theme (``ui.theme.LIGHT``).
"""
from __future__ import annotations

import html
import math
import zlib
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

# the light theme (ui/theme.py LIGHT): text, grid, accent, loss, gain, warning, fan bands
TEXT = "#1f2328"
MUTED = "#6b7280"
GRID = "#e5e7eb"
AXIS = "#9ca3af"
ACCENT = "#0b65c2"
LOSS = "#c43d00"
GAIN = "#00845f"
WARN = "#b7791f"
BANDS = ("#cfe3f5", "#9cc6ea", "#5fa2d8")
#: distinct line colours for several series (colour-blind friendly order, Okabe-Ito)
SERIES = ("#0b65c2", "#c43d00", "#00845f", "#b7791f", "#7c3aed", "#0e7490", "#be185d", "#4b5563")
FONT = "font-family='DejaVu Sans, Segoe UI, Helvetica, Arial, sans-serif'"

Fmt = Callable[[float], str]


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of 10)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    x = start
    while x <= hi + step * 1e-9:
        ticks.append(0.0 if abs(x) < step * 1e-9 else round(x, 12))
        x += step
    return ticks


def money_short(v: float) -> str:
    a = abs(v)
    sign = "\u2212" if v < 0 else ""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{sign}${a / div:.3g}{unit}"
    return f"{sign}${a:.3g}" if a >= 1 or a == 0 else f"{sign}${a:.2g}"


def pct_short(v: float) -> str:
    """A fraction as a tick label: ``−30%``."""
    text = f"{v * 100:+.0f}%" if abs(v * 100 - round(v * 100)) < 1e-6 else f"{v * 100:+.1f}%"
    return "0%" if text in ("+0%", "-0%", "+0.0%", "-0.0%") else text.replace("-", "\u2212")


def plain(v: float) -> str:
    return f"{v:g}".replace("-", "\u2212")


@dataclass
class Line:
    """A series: ``y`` over ``x``; non-finite values break the line."""

    x: Sequence[float]
    y: Sequence[float]
    label: str = ""
    color: str = ACCENT
    width: float = 2.0
    dash: str = ""


@dataclass
class Band:
    """A filled band between ``lo`` and ``hi`` over ``x``."""

    x: Sequence[float]
    lo: Sequence[float]
    hi: Sequence[float]
    color: str
    label: str = ""


@dataclass
class Mark:
    """A labelled point (a liquidation on a curve)."""

    x: float
    y: float
    label: str
    color: str = LOSS


@dataclass
class Rule:
    """A horizontal (``axis="y"``) or vertical (``axis="x"``) reference line."""

    at: float
    label: str
    axis: str = "y"
    color: str = MUTED
    dash: str = "5 4"


@dataclass
class Frame:
    """Plot area geometry and the data-to-pixel mapping."""

    width: int
    height: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    left: int = 78
    right: int = 18
    top: int = 34
    bottom: int = 46
    parts: list[str] = field(default_factory=list)

    @property
    def pw(self) -> float:
        return self.width - self.left - self.right

    @property
    def ph(self) -> float:
        return self.height - self.top - self.bottom

    def px(self, x) -> np.ndarray:
        lo, hi = self.x_range
        return self.left + (np.asarray(x, float) - lo) / (hi - lo) * self.pw

    def py(self, y) -> np.ndarray:
        lo, hi = self.y_range
        return self.top + (hi - np.asarray(y, float)) / (hi - lo) * self.ph


def _span(values: list[np.ndarray], pad: float = 0.05, include: Sequence[float] = ()) -> tuple[float, float]:
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    lo = min([float(v.min()) for v in finite] + list(include), default=0.0)
    hi = max([float(v.max()) for v in finite] + list(include), default=1.0)
    if hi <= lo:
        d = abs(lo) * 0.05 or 1.0
        lo, hi = lo - d, hi + d
    d = (hi - lo) * pad
    return lo - d, hi + d


def _svg_open(width: int, height: int, title: str) -> list[str]:
    return [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}' "
            f"height='{height}' role='img' aria-label='{esc(title)}' {FONT} font-size='12'>",
            f"<rect width='{width}' height='{height}' fill='#ffffff'/>",
            f"<text x='{width / 2:.0f}' y='20' text-anchor='middle' font-size='14' font-weight='600' "
            f"fill='{TEXT}'>{esc(title)}</text>"]


def _axes(f: Frame, x_label: str, y_label: str, x_fmt: Fmt, y_fmt: Fmt,
          x_ticks: list[tuple[float, str]] | None = None) -> None:
    p = f.parts
    for t in nice_ticks(*f.y_range, n=5):
        y = float(f.py(t))
        p.append(f"<line x1='{f.left}' x2='{f.left + f.pw:.1f}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>")
        p.append(f"<text x='{f.left - 6}' y='{y + 4:.1f}' text-anchor='end' fill='{MUTED}'>{esc(y_fmt(t))}</text>")
    ticks = x_ticks if x_ticks is not None else [(t, x_fmt(t)) for t in nice_ticks(*f.x_range, n=7)]
    for t, label in ticks:
        x = float(f.px(t))
        p.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{f.top}' y2='{f.top + f.ph:.1f}' stroke='{GRID}'/>")
        # a label at either end of the axis grows inwards, so it is never cut by the border
        room = 3.5 * len(label)
        anchor = "start" if x - room < f.left - 30 else ("end" if x + room > f.width - 4 else "middle")
        p.append(f"<text x='{x:.1f}' y='{f.top + f.ph + 16:.1f}' text-anchor='{anchor}' fill='{MUTED}'>"
                 f"{esc(label)}</text>")
    p.append(f"<rect x='{f.left}' y='{f.top}' width='{f.pw:.1f}' height='{f.ph:.1f}' fill='none' "
             f"stroke='{AXIS}'/>")
    p.append(f"<text x='{f.left + f.pw / 2:.1f}' y='{f.height - 8}' text-anchor='middle' fill='{TEXT}'>"
             f"{esc(x_label)}</text>")
    p.append(f"<text transform='translate(14 {f.top + f.ph / 2:.1f}) rotate(-90)' text-anchor='middle' "
             f"fill='{TEXT}'>{esc(y_label)}</text>")


def _path(f: Frame, x, y) -> str:
    """An SVG path through the finite points; gaps where a value is not finite."""
    xs, ys = f.px(x), f.py(np.clip(np.asarray(y, float), -1e300, 1e300))
    ok = np.isfinite(np.asarray(y, float)) & np.isfinite(xs)
    out, pen = [], False
    for xv, yv, good in zip(xs, ys, ok):
        if not good:
            pen = False
            continue
        out.append(f"{'L' if pen else 'M'}{xv:.1f},{yv:.1f}")
        pen = True
    return " ".join(out)


def _legend(f: Frame, items: list[tuple[str, str]]) -> None:
    """Legend on its own line between the title and the plot area, right-aligned, so it
    never covers data or the title."""
    items = [(label, color) for label, color in items if label]
    if not items:
        return
    x = f.left + f.pw
    y = f.top - 6
    for label, color in reversed(items):
        w = 7 * len(label) + 22
        x -= w
        f.parts.append(f"<rect x='{x:.0f}' y='{y - 8}' width='12' height='4' fill='{color}'/>")
        f.parts.append(f"<text x='{x + 16:.0f}' y='{y - 2}' fill='{TEXT}' font-size='11'>{esc(label)}</text>")


def line_chart(title: str, lines: list[Line], *, x_label: str, y_label: str, x_fmt: Fmt = plain,
               y_fmt: Fmt = plain, bands: Sequence[Band] = (), marks: Sequence[Mark] = (),
               rules: Sequence[Rule] = (), y_range: tuple[float, float] | None = None,
               x_ticks: list[tuple[float, str]] | None = None, width: int = 900,
               height: int = 340) -> str:
    """Lines (and bands, marks, reference lines) on shared axes. Points outside ``y_range``
    are clipped to the plot area; a mark outside it is drawn at the edge with an arrow."""
    xs = [np.asarray(l.x, float) for l in lines] + [np.asarray(b.x, float) for b in bands]
    ys = [np.asarray(l.y, float) for l in lines] + [np.asarray(b.lo, float) for b in bands] + \
         [np.asarray(b.hi, float) for b in bands]
    x_range = _span(xs, pad=0.0)
    if y_range is None:
        y_range = _span(ys + [np.array([m.y for m in marks], float)],
                        include=[r.at for r in rules if r.axis == "y"])
    legend = [(l.label, l.color) for l in lines] + [(b.label, b.color) for b in bands]
    f = Frame(width, height, x_range, y_range, top=52 if any(lbl for lbl, _ in legend) else 34)
    parts = _svg_open(width, height, title)
    f.parts = parts
    _axes(f, x_label, y_label, x_fmt, y_fmt, x_ticks)
    cid = f"clip{zlib.crc32(f'{title}|{width}|{height}|{len(lines)}'.encode()):08x}"
    parts.append(f"<clipPath id='{cid}'><rect x='{f.left}' y='{f.top}' width='{f.pw:.1f}' "
                 f"height='{f.ph:.1f}'/></clipPath><g clip-path='url(#{cid})'>")
    for b in bands:
        top = _path(f, b.x, b.hi)
        bx, blo = np.asarray(b.x, float)[::-1], np.asarray(b.lo, float)[::-1]
        bottom = " ".join(f"L{x:.1f},{y:.1f}" for x, y in zip(f.px(bx), f.py(blo)) if np.isfinite(y))
        if top:
            parts.append(f"<path d='{top} {bottom} Z' fill='{b.color}' stroke='none'/>")
    for r in rules:
        if r.axis == "y":
            y = float(f.py(r.at))
            parts.append(f"<line x1='{f.left}' x2='{f.left + f.pw:.1f}' y1='{y:.1f}' y2='{y:.1f}' "
                         f"stroke='{r.color}' stroke-dasharray='{r.dash}'/>")
        else:
            x = float(f.px(r.at))
            parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{f.top}' y2='{f.top + f.ph:.1f}' "
                         f"stroke='{r.color}' stroke-dasharray='{r.dash}'/>")
    for l in lines:
        d = _path(f, l.x, l.y)
        if d:
            dash = f" stroke-dasharray='{l.dash}'" if l.dash else ""
            parts.append(f"<path d='{d}' fill='none' stroke='{l.color}' stroke-width='{l.width}'"
                         f" stroke-linejoin='round'{dash}/>")
    parts.append("</g>")
    # reference-line labels and marks outside the clip, so a label is never cut
    for r in rules:
        if r.axis == "y":
            y = float(f.py(r.at))
            if f.top <= y <= f.top + f.ph:
                parts.append(f"<text x='{f.left + 6}' y='{y - 4:.1f}' fill='{r.color}' font-size='11'>"
                             f"{esc(r.label)}</text>")
        else:
            x = float(f.px(r.at))
            if f.left <= x <= f.left + f.pw:
                parts.append(f"<text x='{x + 4:.1f}' y='{f.top + 12}' fill='{r.color}' font-size='11'>"
                             f"{esc(r.label)}</text>")
    _marks(f, marks)
    _legend(f, legend)
    parts.append("</svg>")
    return "".join(parts)


def _marks(f: Frame, marks: Sequence[Mark]) -> None:
    """Marks with labels staggered so neighbours do not overlap; clamped to the plot area."""
    placed: list[tuple[float, float]] = []
    y_top, y_bot = f.top, f.top + f.ph
    for m in sorted(marks, key=lambda m: m.x):
        if not (math.isfinite(m.x) and math.isfinite(m.y)):
            continue
        x = float(np.clip(f.px(m.x), f.left, f.left + f.pw))
        y = float(f.py(m.y))
        clamped = y < y_top or y > y_bot
        y = float(np.clip(y, y_top, y_bot))
        if clamped:   # an arrow at the edge: the point is off the chart
            d = 1 if y >= y_bot else -1
            f.parts.append(f"<path d='M{x - 5:.1f},{y - 6 * d:.1f} L{x + 5:.1f},{y - 6 * d:.1f} L{x:.1f},{y:.1f} Z' "
                           f"fill='{m.color}'/>")
        else:
            f.parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='4.5' fill='{m.color}' stroke='#ffffff'/>")
        ly = y - 9
        for px_, py_ in placed:
            if abs(px_ - x) < 7 * len(m.label) and abs(py_ - ly) < 13:
                ly = py_ - 13
        ly = max(ly, y_top + 10)
        anchor = "end" if x > f.left + f.pw * 0.8 else "start"
        lx = x - 6 if anchor == "end" else x + 6
        placed.append((x, ly))
        f.parts.append(f"<text x='{lx:.1f}' y='{ly:.1f}' text-anchor='{anchor}' fill='{m.color}' "
                       f"font-size='11'>{esc(m.label)}</text>")


def hbar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, x_label: str,
               fmt: Fmt = money_short, colors: Sequence[str] | None = None, width: int = 900,
               max_bars: int = 30) -> str:
    """Horizontal bars from 0, one per label, each with its value written beside it; a
    negative value is drawn in the loss colour, a positive one in the gain colour. Beyond
    ``max_bars`` the smallest are summed in one "others" bar."""
    labels, values = list(labels), [float(v) for v in values]
    if len(values) > max_bars:
        order = sorted(range(len(values)), key=lambda i: -abs(values[i]))
        keep, rest = order[: max_bars - 1], order[max_bars - 1:]
        others = sum(values[i] for i in rest)
        labels = [labels[i] for i in keep] + [f"{len(rest)} others"]
        values = [values[i] for i in keep] + [others]
        colors = None
    n = max(len(values), 1)
    row = 22
    left = min(260, 16 + 7 * max([len(str(l)) for l in labels] + [6]))
    height = 34 + n * row + 46
    lo, hi = min(values + [0.0]), max(values + [0.0])
    pad = (hi - lo) * 0.18 or 1.0
    f = Frame(width, height, (lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0)), (0, n),
              left=left, right=18)
    parts = _svg_open(width, height, title)
    f.parts = parts
    for t in nice_ticks(*f.x_range, n=6):
        x = float(f.px(t))
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{f.top}' y2='{f.top + f.ph:.1f}' stroke='{GRID}'/>")
        parts.append(f"<text x='{x:.1f}' y='{f.top + f.ph + 16:.1f}' text-anchor='middle' fill='{MUTED}'>"
                     f"{esc(fmt(t))}</text>")
    x0 = float(f.px(0.0))
    for i, (label, v) in enumerate(zip(labels, values)):
        y = f.top + i * row + 4
        x1 = float(f.px(v))
        color = colors[i] if colors else (LOSS if v < 0 else GAIN)
        parts.append(f"<rect x='{min(x0, x1):.1f}' y='{y:.1f}' width='{max(abs(x1 - x0), 1):.1f}' "
                     f"height='{row - 8}' fill='{color}'/>")
        parts.append(f"<text x='{left - 8}' y='{y + row / 2 + 1:.1f}' text-anchor='end' fill='{TEXT}'>"
                     f"{esc(label)}</text>")
        tx, anchor = (x1 + 4, "start") if v >= 0 else (x1 - 4, "end")
        parts.append(f"<text x='{tx:.1f}' y='{y + row / 2 + 1:.1f}' text-anchor='{anchor}' fill='{MUTED}' "
                     f"font-size='11'>{esc(fmt(v))}</text>")
    parts.append(f"<line x1='{x0:.1f}' x2='{x0:.1f}' y1='{f.top}' y2='{f.top + f.ph:.1f}' stroke='{AXIS}'/>")
    parts.append(f"<text x='{f.left + f.pw / 2:.1f}' y='{height - 8}' text-anchor='middle' fill='{TEXT}'>"
                 f"{esc(x_label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def histogram(title: str, edges: Sequence[float], counts: Sequence[float], *, x_label: str,
              y_label: str = "Paths", x_fmt: Fmt = money_short, rules: Sequence[Rule] = (),
              width: int = 900, height: int = 320) -> str:
    """Bars of ``counts`` between ``edges``; losses (left of 0) in the loss colour."""
    e = np.asarray(edges, float)
    c = np.asarray(counts, float)
    f = Frame(width, height, (float(e[0]), float(e[-1])), (0.0, float(max(c.max(initial=0), 1)) * 1.08))
    parts = _svg_open(width, height, title)
    f.parts = parts
    _axes(f, x_label, y_label, x_fmt, lambda v: f"{v:,.0f}")
    base = f.top + f.ph
    for i, n in enumerate(c):
        if n <= 0:
            continue
        x0, x1 = float(f.px(e[i])), float(f.px(e[i + 1]))
        y = float(f.py(n))
        color = LOSS if e[i + 1] <= 0 else (BANDS[2] if e[i] >= 0 else WARN)
        parts.append(f"<rect x='{x0:.1f}' y='{y:.1f}' width='{max(x1 - x0 - 0.5, 0.5):.1f}' "
                     f"height='{base - y:.1f}' fill='{color}'/>")
    for k, r in enumerate(rules):
        x = float(f.px(r.at))
        if f.left <= x <= f.left + f.pw:
            parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{f.top}' y2='{base:.1f}' stroke='{r.color}' "
                         f"stroke-dasharray='{r.dash}'/>")
            # labels left of their line (VaR lines sit in the loss tail), stacked one line
            # apart so neighbouring levels never overlap
            left = x > f.left + f.pw * 0.3
            parts.append(f"<text x='{x - 4 if left else x + 4:.1f}' y='{f.top + 14 + 14 * k}' "
                         f"text-anchor='{'end' if left else 'start'}' fill='{r.color}' font-size='11'>"
                         f"{esc(r.label)}</text>")
    parts.append("</svg>")
    return "".join(parts)
