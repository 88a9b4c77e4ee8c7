"""``main.py --selftest``: prove a build works end to end, then exit 0 (or 1 with a message).

Opens the main window (offscreen where there is no display) on the bundled demo portfolio,
runs a shock, a bundled replay and a short Monte Carlo through the worker thread, checks
that results are finite and that the charts hold data, builds the HTML report, and prints
what it measured.
Settings and autosave go to a temporary folder so a selftest never touches the user's.
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
import time

T0 = time.perf_counter()


class SelftestFailure(Exception):
    pass


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise SelftestFailure(what)


def _finite(values) -> bool:
    import numpy as np
    arr = np.asarray(values, dtype=float)
    return arr.size > 0 and bool(np.all(np.isfinite(arr)))


def _wait(app, signal, start, timeout_ms: int, what: str):
    """Run the event loop until ``signal`` fires (after calling ``start``) or time runs out."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    got = []

    def done(*args):
        got.append(args)
        loop.quit()
    signal.connect(done)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(timeout_ms)
    start()
    if not got:
        loop.exec()
    timer.stop()
    signal.disconnect(done)
    _check(bool(got), f"{what}: no result within {timeout_ms / 1000:.0f} s")
    return got[0]


def _wait_until(app, cond, timeout_ms: int, what: str) -> None:
    deadline = time.perf_counter() + timeout_ms / 1000
    while not cond():
        if time.perf_counter() > deadline:
            raise SelftestFailure(f"{what}: not reached within {timeout_ms / 1000:.0f} s")
        app.processEvents()
        time.sleep(0.005)


def run_selftest(screenshot: str | None = None) -> int:
    if (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        return _run(screenshot)
    except SelftestFailure as exc:
        print(f"selftest: FAILED: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # report, never a bare traceback
        print(f"selftest: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _run(screenshot: str | None) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QFontMetrics

    from .app import make_app
    from .main_window import MainWindow

    app = make_app([])
    tmp = tempfile.mkdtemp(prefix="crashlab-selftest-")
    settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, autosave_dir=os.path.join(tmp, "autosave"), confirm=False,
                   theme="light")
    w.resize(1400, 900)
    w.show()
    app.processEvents()
    shown = time.perf_counter() - T0
    lines = [f"platform {app.platformName()}, window shown {shown:.2f} s after start"]
    _check(QFontMetrics(w.font()).inFont("A"), "no font with a glyph for 'A' (install fonts-dejavu-core)")
    _wait_until(app, lambda: w.controller.analysis is not None, 20_000, "demo portfolio analysis")
    book = w.controller.analysis.book
    _check(book.n_positions >= 5, f"demo portfolio has {book.n_positions} positions")
    lines.append(f"demo portfolio: {book.n_positions} positions, {len(book.assets)} assets")

    # shock (synchronous on the GUI thread: the kernel is fast)
    sv = w.shock_view
    w.tabs.setCurrentWidget(sv)
    sv.set_move(-0.30, emit=True)
    _wait_until(app, lambda: w.controller.shock is not None and abs(w.controller.shock.btc_move + 0.30) < 1e-9,
                10_000, "shock result")
    res = w.controller.shock
    _check(math.isfinite(res.portfolio_after), "shock: portfolio value after is not finite")
    x, y = sv.sensitivity.curve.getData()
    _check(x is not None and len(x) > 10 and _finite(y), "shock: sensitivity chart has no finite data")
    lines.append(f"shock BTC -30%: value {res.portfolio_before:,.0f} -> {res.portfolio_after:,.0f}")

    # replay of a bundled crash through the worker
    rv = w.replay_view
    w.tabs.setCurrentWidget(rv)
    rv.select_scenario("2025-10-10-liquidation-cascade")
    t = time.perf_counter()
    _wait(app, w.controller.replay_ready, w.run_current, 30_000, "replay")
    rep = rv.result
    _check(_finite(rep.value), "replay: portfolio values are not finite")
    xv, yv = rv.value_chart.full.getData()
    _check(yv is not None and len(yv) == len(rep.value) and _finite(yv), "replay: value chart has no data")
    lines.append(f"replay 10 Oct 2025: {len(rep.value) - 1} step(s), end value {rep.value[-1]:,.0f}, "
                 f"{rep.report['portfolio']['liquidated_positions']} liquidated ({(time.perf_counter() - t) * 1000:.0f} ms)")

    # short Monte Carlo through the worker, charts build up
    mv = w.montecarlo_view
    w.tabs.setCurrentWidget(mv)
    mv.paths.setValue(4000)
    mv.days.setValue(10)
    mv.seed.setValue(1)
    t = time.perf_counter()
    _wait(app, w.controller.mc_ready, w.run_current, 60_000, "Monte Carlo")
    chunk = mv.last_chunk.chunk
    _check(chunk.final and chunk.paths_done == 4000, f"Monte Carlo: {chunk.paths_done} paths done")
    _check(_finite(chunk.fan) and all(math.isfinite(v) for v in chunk.var.values()),
           "Monte Carlo: fan or VaR not finite")
    fx, fy = mv.fan.median.getData()
    hx, hy = mv.hist.hist.getData()
    _check(fy is not None and len(fy) == 11 and _finite(fy), "Monte Carlo: fan chart has no data")
    _check(hy is not None and float(sum(hy)) > 0, "Monte Carlo: histogram has no data")
    lines.append(f"Monte Carlo 4,000 paths x 10 days: VaR95 {chunk.var['0.95']:,.0f} "
                 f"({(time.perf_counter() - t) * 1000:.0f} ms)")

    # the HTML report of everything above, from the same builder as `main.py report`
    from reporting import build_report

    from .export import report_data
    t = time.perf_counter()
    report = build_report(report_data(w))
    _check(report.count("<svg") >= 5 and "Monte Carlo" in report and "Replay" in report,
           "HTML report: charts or sections missing")
    lines.append(f"HTML report {len(report) / 1024:.0f} KB, {report.count('<svg')} charts "
                 f"({(time.perf_counter() - t) * 1000:.0f} ms)")

    if screenshot:
        w.grab().save(screenshot)
        lines.append(f"screenshot {screenshot}")
    w.close()
    app.processEvents()
    _wait_until(app, lambda: w.controller.live_threads() == [], 20_000, "worker threads to finish")
    for line in lines:
        print(f"selftest: {line}")
    print(f"selftest: ok in {time.perf_counter() - T0:.2f} s")
    return 0
