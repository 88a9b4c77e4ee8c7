"""Exports from the window: the current view's results as CSV, its charts as one PNG, the
HTML report. Files are written atomically; dialogs start in the portfolio's folder with
names that follow the portfolio's file name.

The CSV text and the HTML report come from :mod:`reporting` (no Qt), the same code the
command line uses (``main.py report``); this module only gathers what the window shows
into that shape (:func:`report_data`, the ``*_tables`` functions) and renders the charts
of a view for the PNG.
"""
from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QFileDialog, QWidget

from appinfo import APP_NAME, APP_VERSION
from engine.atomic import write_bytes_atomic, write_text_atomic
from engine.stress import Sensitivity
from reporting import MonteCarloRun, ReportData, ScenarioRun, Table, build_report, to_csv, words
from reporting.results import (montecarlo_notes, scenario_rows, scenario_settings, scenario_title,
                               shock_report)

from .files import file_stem

MONEY = ("value_before", "value_after", "pnl")
CHANNEL_NAMES = {"analysis": "holdings analysis", "replay": "replay", "montecarlo": "Monte Carlo",
                 "reverse": "reverse stress"}


# --------------------------------------------------------------------------- tables
def _rows_frame(report: dict) -> pd.DataFrame:
    """Positions and cross-account wallets of a stress-shaped report (they add up to the total)."""
    rows = scenario_rows(report)
    moves = report.get("moves", {})
    cols = ["id", "asset", "kind", "account", "asset_move", "liquidation_price", "liquidated",
            "liquidation_step", "liquidation_time", "liquidation_label", "value_before",
            "value_after", "pnl"]
    return pd.DataFrame([{**{c: r.get(c) for c in cols},
                          "asset_move": moves.get(r["asset"]) if r["kind"] != "wallet" else None}
                         for r in rows], columns=cols)


def _totals(report: dict) -> dict:
    pf = report["portfolio"]
    return {"value_before": pf["value_before"], "value_after": pf["value_after"], "pnl": pf["pnl"]}


def _total_note(report: dict) -> str:
    pf = report["portfolio"]
    return (f"rows (positions and cross-account wallets) add up to the portfolio: value before "
            f"{pf['value_before']:.2f}, after {pf['value_after']:.2f}, P&L {pf['pnl']:.2f} USD")


def shock_tables(result, liquidation: dict | None = None) -> list[Table]:
    """An instant shock: one row per position plus one per cross-account wallet."""
    rep = shock_report(result, liquidation or {})
    df = _rows_frame(rep).drop(columns=["liquidation_step", "liquidation_time", "liquidation_label"])
    return [Table("shock", df, MONEY, _total_note(rep), _totals(rep))]


def replay_tables(result) -> list[Table]:
    """A replay: the portfolio (and each position, health factor, margin ratio) per step, and
    the outcome per position plus wallets."""
    steps = pd.DataFrame({"step": np.arange(len(result.value)), "label": result.labels,
                          "portfolio_value": result.value})
    for pid, v in result.position_values.items():
        steps[f"value:{pid}"] = v
    for lid, v in result.health.items():
        steps[f"health_factor:{lid}"] = v
    for aid, v in result.margin_ratio.items():
        steps[f"margin_ratio:{aid}"] = v
    return [Table("steps", steps, ("portfolio_value", "value:*")),
            Table("positions", _rows_frame(result.report), MONEY, _total_note(result.report),
                  _totals(result.report))]


def montecarlo_tables(update) -> list[Table]:
    """A Monte Carlo: summary (paths, seed, VaR/CVaR), per position, the fan by day."""
    c = update.chunk
    probs = np.asarray(c.liquidation_probability, float)
    pos = pd.DataFrame({"id": update.ids[: len(probs)], "asset": update.assets[: len(probs)],
                        "liquidation_probability": probs})
    fan = np.asarray(c.fan, float)
    days = np.arange(fan.shape[1]) / float(max(update.steps_per_day, 1))
    fan_df = pd.DataFrame({"day": days})
    for lvl, row in zip(c.fan_levels, fan):
        fan_df[f"p{float(lvl) * 100:g}"] = row
    summary = pd.DataFrame([{"paths": int(c.paths_done), "paths_requested": int(c.paths_total),
                             "complete": bool(c.final and c.paths_done >= c.paths_total),
                             "seed": update.seed, "value_before": float(c.value_before),
                             **{f"var_{k}": float(v) for k, v in (c.var or {}).items()},
                             **{f"cvar_{k}": float(v) for k, v in (c.cvar or {}).items()}}])
    return [Table("summary", summary, ("value_before", "var_*", "cvar_*")),
            Table("positions", pos),
            Table("fan", fan_df, tuple(c for c in fan_df.columns if c != "day"))]


def reverse_tables(rep: dict) -> list[Table]:
    loss = pd.DataFrame([{"portfolio_loss": float(k), "btc_move": m}
                         for k, m in rep["portfolio"]["btc_move_for_loss"].items()])
    return [Table("positions", pd.DataFrame(rep["positions"])), Table("portfolio_loss", loss)]


def matrix_tables(result) -> list[Table]:
    """The crash matrix (:func:`engine.stress.stress_all`): one row per scenario for the
    portfolio, and one row per (position or account, scenario) with its P&L and liquidation
    time."""
    cells, summary = [], []
    for s in result.report["scenarios"]:
        head = {"scenario_id": s["id"], "scenario": s["name"], "source": s.get("source")}
        for kind, rows in (("position", s["positions"]), ("account", s["accounts"])):
            for r in rows:
                cells.append({"row": r["id"], "row_kind": kind, "kind": r.get("kind", "cross account"),
                              "side": r.get("side"), "asset": r.get("asset"), **head,
                              "value_before": r["value_before"], "value_after": r["value_after"],
                              "pnl": r["pnl"], "liquidated": r["liquidated"],
                              "liquidation_step": r["liquidation_step"],
                              "liquidation_time": r["liquidation_time"]})
        pf = s["portfolio"]
        summary.append({**head, "start": s.get("start"), "end": s.get("end"), "bar": s.get("bar"),
                        "steps": s["steps"], **{k: pf[k] for k in (
                            "value_before", "value_after", "pnl", "pnl_fraction", "max_drawdown",
                            "min_value_time", "liquidated_positions")}})
    return [Table("portfolio", pd.DataFrame(summary), MONEY),
            Table("cells", pd.DataFrame(cells), MONEY)]


def current_view_tables(window) -> tuple[list[Table] | None, str]:
    """The results of the window's current view as CSV tables and a name for the file; the
    shock results when the view has none (``None`` when nothing has been computed)."""
    w = window.tabs.currentWidget()
    if w is window.replay_view and window.replay_view.result is not None:
        return replay_tables(window.replay_view.result), "replay"
    if w is window.montecarlo_view and window.montecarlo_view.last_chunk is not None:
        return montecarlo_tables(window.montecarlo_view.last_chunk), "montecarlo"
    if w is window.reverse_view and window.reverse_view.report is not None:
        return reverse_tables(window.reverse_view.report), "reverse-stress"
    if w is window.matrix_view and window.matrix_view.result is not None:
        return matrix_tables(window.matrix_view.result), "crash-matrix"
    ctrl = window.controller
    if ctrl.shock is not None and ctrl.analysis is not None:     # no analysis: the shock is stale
        return shock_tables(ctrl.shock, ctrl.analysis.liquidation), "shock"
    return None, "results"


def csv_header(window, kind: str) -> list[tuple[str, object]]:
    """The header block of an export: what was run, with which settings, when, by what."""
    ctrl = window.controller
    doc = window.document
    head: list[tuple[str, object]] = [
        ("Exported by", f"{APP_NAME} {APP_VERSION}"),
        ("Date", _dt.datetime.now().astimezone().isoformat(timespec="seconds")),
        ("Portfolio", doc.doc.name), ("File", doc.path or "not saved")]
    overrides = dict(ctrl.beta_overrides)
    if kind == "shock" and ctrl.shock is not None:
        head += [("Scenario", words.describe_shock(ctrl.shock.btc_move))]
    elif kind == "replay" and window.replay_view.result is not None:
        rep = window.replay_view.result.report
        spec = ctrl.replay_spec
        head += scenario_settings(rep, overrides, spec.proxy if spec else None)
        head += [("Note", n) for n in words.proxy_notes(rep.get("method", {}))]
    elif kind == "montecarlo" and window.montecarlo_view.last_chunk is not None:
        head += _mc_settings(window)
        head += [("Note", n) for n in montecarlo_notes(window.montecarlo_view.last_chunk.chunk)]
    elif kind == "reverse-stress":
        head += [("Scenario", "Reverse stress: the instant BTC move (other assets through their beta) "
                              "that liquidates each position or costs the portfolio a share of its value")]
    if ctrl.analysis is not None:
        head.append(("Betas to BTC", words.describe_betas(ctrl.analysis.betas, ctrl.analysis.beta_sources)))
    if kind != "replay":
        head.append(("Beta overrides", words.describe_overrides(overrides)))
    if kind != "montecarlo":
        head.append(("Random seed", "none: this scenario is deterministic"))
    head += [("Note", n) for n in _run_notes(window, kind)]
    if window.document.validation.excluded:
        head.append(("Left out (invalid input)", ", ".join(window.document.validation.excluded)))
    return head


def write_csv(path: str, tables: list[Table], header: list[tuple[str, object]] | None = None) -> None:
    write_text_atomic(path, to_csv(tables, header))


# --------------------------------------------------------------------------- images
def _png_bytes(image) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def view_charts(view: QWidget) -> list[QWidget]:
    """The charts of a view that are shown, top to bottom then left to right."""
    from .charts.base import Chart
    charts = [c for c in view.findChildren(Chart) if c.isVisibleTo(view) and c.width() > 10 and c.height() > 10]
    return sorted(charts, key=lambda c: (c.mapTo(view, QPoint(0, 0)).y(), c.mapTo(view, QPoint(0, 0)).x()))


def charts_image(widgets: list[QWidget], title: str, subtitle: str, relative_to: QWidget | None = None,
                 theme=None) -> QImage:
    """The charts as one image, laid out as on screen (each chart rendered by itself: no
    scroll bars, tables or controls), under a header with a title and the date."""
    from .theme import LIGHT
    theme = theme or LIGHT
    ref = relative_to or widgets[0]
    rects = [QRect(w.mapTo(ref, QPoint(0, 0)) if relative_to else QPoint(0, 0), w.size()) for w in widgets]
    box = rects[0]
    for r in rects[1:]:
        box = box.united(r)
    header = 58
    pad = 10
    dpr = max(w.devicePixelRatioF() for w in widgets)
    img = QImage(int((box.width() + 2 * pad) * dpr), int((box.height() + header + pad) * dpr),
                 QImage.Format.Format_ARGB32)
    img.setDevicePixelRatio(dpr)
    img.fill(QColor(theme.window))
    p = QPainter(img)
    f = QFont(widgets[0].font())
    f.setPointSizeF(max(f.pointSizeF(), 9.0) * 1.35)
    f.setBold(True)
    p.setFont(f)
    p.setPen(QColor(theme.text))
    p.drawText(QRect(pad, 6, box.width(), 28), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
    f.setBold(False)
    f.setPointSizeF(f.pointSizeF() / 1.35)
    p.setFont(f)
    p.setPen(QColor(theme.muted))
    p.drawText(QRect(pad, 32, box.width(), 20), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, subtitle)
    for w, r in zip(widgets, rects):
        p.drawPixmap(QPoint(r.x() - box.x() + pad, r.y() - box.y() + header), w.grab())
    p.end()
    return img


def _stamp() -> str:
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def view_png(window) -> bytes | None:
    """The current view's charts as one PNG with a title and the date (``None``: no chart)."""
    view = window.tabs.currentWidget()
    charts = view_charts(view)
    if not charts:
        return None
    tab = window.tabs.tabText(window.tabs.currentIndex()).replace("&", "")
    subtitle = f"{_stamp()} · {APP_NAME} {APP_VERSION} · {window.document.path or 'portfolio not saved'}"
    what = _view_subject(window, view)
    title = f"{window.document.doc.name} — {tab}" + (f": {what}" if what else "")
    return _png_bytes(charts_image(charts, title, subtitle, view, window.theme))


def chart_png(window, chart: QWidget) -> bytes:
    """One chart as a PNG under a title and the date."""
    subtitle = f"{_stamp()} · {APP_NAME} {APP_VERSION} · {window.document.doc.name}"
    return _png_bytes(charts_image([chart], getattr(chart, "_title", "") or "Chart", subtitle, None,
                                   window.theme))


def _view_subject(window, view) -> str:
    ctrl = window.controller
    if view is window.shock_view and ctrl.shock is not None:
        return f"BTC {words.pct(ctrl.shock.btc_move)}"
    if view is window.replay_view and window.replay_view.result is not None:
        return str(window.replay_view.result.report["scenario"]["name"])
    if view is window.montecarlo_view and window.montecarlo_view.last_chunk is not None:
        c = window.montecarlo_view.last_chunk
        return f"{int(c.chunk.paths_done):,} paths, seed {c.seed}"
    return ""


def write_png(path: str, image_bytes: bytes | QWidget) -> None:
    """Write PNG bytes (or a widget's grab) atomically."""
    if isinstance(image_bytes, QWidget):
        image_bytes = _png_bytes(image_bytes.grab())
    write_bytes_atomic(path, image_bytes)


# --------------------------------------------------------------------------- HTML report
def _mc_settings(window) -> list[tuple[str, str]]:
    upd = window.montecarlo_view.last_chunk
    s = window.controller.mc_settings
    if s is None:
        return [("Random seed", str(upd.seed))]
    return words.describe_montecarlo(s.model, int(upd.chunk.paths_total), s.days, upd.steps_per_day, upd.seed,
                                     s.cascade, s.cascade_half_life,
                                     s.history_files if s.model == "bootstrap" else [])


def _run_notes(window, kind: str | None = None) -> list[str]:
    """Runs cancelled by the user or still running when the export was made."""
    ctrl = window.controller
    channels = {None: ctrl.CHANNELS, "shock": ("analysis",), "replay": ("replay",),
                "montecarlo": ("montecarlo",), "reverse-stress": ("reverse",)}[kind]
    notes = []
    for ch in channels:
        name = CHANNEL_NAMES[ch]
        if ch in ctrl.cancelled and ch != "montecarlo":
            notes.append(f"The latest {name} run was cancelled: the {name} results shown are from the "
                         "run before it, which may predate your latest changes.")
        elif ch == "montecarlo" and ch in ctrl.cancelled and window.montecarlo_view.last_chunk is None:
            notes.append("A Monte Carlo run was cancelled before its first results: no Monte Carlo "
                         "figures are included.")
        elif ctrl.is_running(ch):
            notes.append(f"A {name} run was still in progress: the {name} results shown are the last "
                         "finished ones.")
    return notes


def report_data(window) -> ReportData | None:
    """What the window shows, gathered for :func:`reporting.build_report` (``None`` when
    there is no analysed position yet)."""
    ctrl = window.controller
    a = ctrl.analysis
    if a is None:
        return None
    overrides = dict(ctrl.beta_overrides)
    runs = []
    if ctrl.shock is not None:
        rep = shock_report(ctrl.shock, a.liquidation)
        runs.append(ScenarioRun(scenario_title(rep), rep, scenario_settings(rep, overrides)))
    rv = window.replay_view
    if rv.result is not None:
        rep = rv.result.report
        spec = ctrl.replay_spec
        runs.append(ScenarioRun(scenario_title(rep), rep,
                                scenario_settings(rep, overrides, spec.proxy if spec else None),
                                words.proxy_notes(rep.get("method", {})) + _run_notes(window, "replay")))
    mc = None
    upd = window.montecarlo_view.last_chunk
    if upd is not None:
        mc = MonteCarloRun(upd.chunk, list(upd.ids), list(upd.assets), int(upd.steps_per_day),
                           _mc_settings(window), montecarlo_notes(upd.chunk) + _run_notes(window, "montecarlo"))
    notes = _run_notes(window, "shock") + (_run_notes(window, "reverse-stress")
                                          if window.reverse_view.report is not None else [])
    if upd is None:
        notes += _run_notes(window, "montecarlo")
    return ReportData(
        a.portfolio, window.document.path, list(a.liquidation.values()),
        {pid: float(v) for pid, v in zip(a.today.ids, a.today.value_before)}, float(a.value_today),
        dict(a.betas), dict(a.beta_sources), overrides, accounts_today=list(a.today.accounts),
        sensitivity=Sensitivity(a.grid, a.grid_value, float(a.value_today), list(a.grid_liq)),
        shock_move=ctrl.shock.btc_move if ctrl.shock is not None else None, scenarios=runs,
        montecarlo=mc, reverse=window.reverse_view.report,
        excluded=list(dict.fromkeys(window.document.validation.excluded)), notes=notes,
        warnings=[str(w) for w in a.book.warnings])


def write_html_report(path: str, window) -> bool:
    """Write the report of what the window shows; False when there is nothing to report."""
    data = report_data(window)
    if data is None:
        return False
    write_text_atomic(path, build_report(data))
    return True


# --------------------------------------------------------------------------- dialogs
def export_folder(window) -> str:
    """Where export dialogs start: the portfolio's folder, else the last folder used."""
    if window.document.path:
        return str(Path(window.document.path).resolve().parent)
    return str(window.settings.value("files/last_dir", str(Path.home())))


def export_stem(window) -> str:
    """Export file names follow the portfolio's file name (its name when not saved)."""
    if window.document.path:
        return Path(window.document.path).stem
    return file_stem(window.document.doc.name)


def ask_export_path(window, caption: str, suffix: str, ext: str, filter_: str) -> str | None:
    """A save dialog in the portfolio's folder proposing ``<portfolio>-<suffix>.<ext>``."""
    start = str(Path(export_folder(window)) / f"{export_stem(window)}-{suffix}.{ext}")
    path, _ = QFileDialog.getSaveFileName(window, caption, start, filter_)
    if not path:
        return None
    if not path.lower().endswith(f".{ext}"):
        path += f".{ext}"
    return path


def save_chart_png_dialog(chart: QWidget) -> None:
    """A chart's "Save chart as PNG…": the chart under its title and the date."""
    window = chart.window()
    if not hasattr(window, "document"):
        return
    name = re.sub(r"[^\w]+", "-", getattr(chart, "_title", "").split(":")[0].strip().lower()).strip("-") or "chart"
    path = ask_export_path(window, "Save chart as PNG", name, "png", "PNG image (*.png)")
    if path:
        try:
            write_png(path, chart_png(window, chart))
        except OSError as exc:
            window.show_error("Cannot write the file", f"{path}: {exc.strerror or exc}")
