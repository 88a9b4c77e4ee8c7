"""Every CSV CrashLab writes: a header block, then one or more tables, each cell formatted
for a spreadsheet. This is the one place CSV text is produced (GUI exports; the CLI report
has none yet), so the rules below hold for every file:

- **Header block.** Lines whose first cell starts with ``#``: ``# Scenario,<words>``, one
  per setting (what was run, overrides, seed, date, app version, totals), then an empty
  line. A spreadsheet shows them as the first rows (label in column A, value in B);
  ``pandas.read_csv(path, comment="#")`` skips them (ids containing ``#`` need
  ``skiprows`` instead: the block ends at the first empty line).
- **Several tables** in one file are each introduced by a ``# table: NAME`` line and
  separated by an empty line.
- **Numbers** are written as plain numbers (``.`` decimal point, no thousands separator):
  money columns to the cent, other floats to 10 significant digits (so a float artefact
  such as ``-0.09999999999999998`` is written ``-0.1``), ``-0`` as ``0``. Missing is empty.
  A money column with a total (the P&L of a scenario) is rounded so that its cents add up
  to the total's (largest-remainder rounding), so a spreadsheet's SUM matches the header.
- **Booleans** are ``yes`` / ``no``.
- **Text** that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
  leading apostrophe, so a spreadsheet does not run it as a formula (OWASP, "CSV
  Injection", https://owasp.org/www-community/attacks/CSV_Injection, read 2026-01).
  Numbers are never written as text, so negative numbers stay numbers.
- UTF-8 with a byte-order mark, so Excel reads names in any script correctly.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def text_cell(text: str) -> str:
    """Text as a cell: neutralised with a leading apostrophe when it could start a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def number_cell(x: float, money: bool = False) -> str:
    """A number as plain text: cents for money, else 10 significant digits. Infinity (a
    health factor with no debt left) is the text ``inf``; NaN is empty."""
    x = float(x)
    if not math.isfinite(x):
        return "" if math.isnan(x) else text_cell("inf" if x > 0 else "-inf")
    if money:
        text = f"{x:.2f}"
    else:
        text = f"{x:.10g}"
        if "e" in text:                     # 1e-05 -> 0.00001: every spreadsheet reads it as a number
            text = np.format_float_positional(float(text), trim="-")
    if text.strip("-0.") == "":             # no "-0"
        return "0.00" if money else "0"
    return text


def apportion_cents(values, total: float) -> np.ndarray:
    """Round ``values`` to the cent so that they add up to ``total`` rounded to the cent
    (largest-remainder rounding: the fewest cents moved, each by one). Values that do not
    add up to ``total`` in the first place are rounded one by one."""
    v = np.asarray(values, float)
    ok = np.isfinite(v)
    cents = np.round(v * 100.0)
    if not ok.all() or not math.isfinite(total) or abs(v.sum() - total) > 0.005 * len(v) + 0.01:
        return cents / 100.0
    x = v * 100.0
    low = np.floor(x)
    short = int(round(total * 100.0) - low.sum())     # cents to hand out, 0..n
    if not 0 <= short <= len(v):
        return cents / 100.0
    order = np.argsort(-(x - low), kind="stable")
    low[order[:short]] += 1.0
    return low / 100.0


def cell(value, money: bool = False) -> str:
    """One value as CSV cell text: yes/no, a rounded number, empty for missing, safe text."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return number_cell(float(value), money)
    if value is pd.NA or value is pd.NaT:
        return ""
    return text_cell(str(value))


@dataclass
class Table:
    """A table of a CSV file. ``money`` names the columns rounded to the cent; a name ending
    in ``*`` matches every column starting with it (``"value:*"``)."""

    name: str
    frame: pd.DataFrame
    money: tuple[str, ...] = ()
    note: str = ""                          # one line under the table name (e.g. what adds up)
    totals: dict | None = None              # column -> the total its cents must add up to

    def is_money(self, column: str) -> bool:
        return any(column == m or (m.endswith("*") and column.startswith(m[:-1])) for m in self.money)


def to_csv(tables: Table | list[Table], header: list[tuple[str, str]] | None = None) -> str:
    """The CSV text: the header block (``# label``, value), then each table."""
    if isinstance(tables, Table):
        tables = [tables]
    out = io.StringIO()
    out.write(BOM)
    w = csv.writer(out, lineterminator="\n")
    if header:
        for label, value in header:
            w.writerow([f"# {label}", cell(value, money=isinstance(value, float))])
        out.write("\n")
    for i, t in enumerate(tables):
        if i:
            out.write("\n")
        if len(tables) > 1 or t.note:
            w.writerow([f"# table: {t.name}"] + ([cell(t.note)] if t.note else []))
        cols = [str(c) for c in t.frame.columns]
        w.writerow([cell(c) for c in cols])
        money = [t.is_money(c) for c in cols]
        frame = t.frame
        if t.totals and len(frame):
            frame = frame.copy()
            for col, total in t.totals.items():
                frame[col] = apportion_cents(frame[col].to_numpy(float), float(total))
        for row in frame.itertuples(index=False, name=None):
            w.writerow([_cell_or_missing(v, m) for v, m in zip(row, money)])
    return out.getvalue()


def _cell_or_missing(v, money: bool) -> str:
    if isinstance(v, float) and math.isnan(v):
        return ""
    return cell(v, money)
