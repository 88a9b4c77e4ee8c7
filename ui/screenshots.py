"""Regenerate the screenshots of every main view.

    python -m ui.screenshots DIR [--prices CSV ...] [--from DATE] [--to DATE] [--theme light|dark]

Works offscreen (``QT_QPA_PLATFORM=offscreen``, the default here when no display is set) or
on a real X server (``QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" ...``).
Uses temporary settings and autosave folders, never the user's. With ``--prices`` the
replay view shows that imported history (e.g. 4-hour bars of the Oct-2025 cascade);
otherwise a bundled crash. Then, at 1920x1080 and 1280x800 in light and dark: the replay of
10 Oct 2025 and of 18 Dec 2025 (``replay-2025-10-10-1920x1080-light.png``, ...) and the crash
matrix with one saved scenario (``crash-matrix-1920x1080-light.png``, ...).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402  (PySide6 before pyqtgraph)
from PySide6.QtWidgets import QApplication  # noqa: E402

SIZE = (1600, 1000)
#: the replay and crash matrix shots: window sizes and the two crashes shown
SIZES = ((1920, 1080), (1280, 800))
CRASHES = (("2025-10-10", "2025-10-10-liquidation-cascade"), ("2025-12-18", "2025-12-18-btc-loses-85k"))


def wait(app: QApplication, cond, timeout: float = 60.0) -> bool:
    t0 = time.monotonic()
    while not cond():
        app.processEvents()
        if time.monotonic() - t0 > timeout:
            return False
        time.sleep(0.005)
    for _ in range(5):
        app.processEvents()
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ui.screenshots", description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--prices", action="append", default=[])
    ap.add_argument("--from", dest="start", default="2025-10-09 00:00")
    ap.add_argument("--to", dest="end", default="2025-10-13 00:00")
    ap.add_argument("--theme", default="light", choices=("light", "dark", "system"))
    ap.add_argument("--paths", type=int, default=100_000)
    args = ap.parse_args(argv)
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)

    from .app import make_app
    app = make_app()
    tmp = tempfile.mkdtemp(prefix="crashlab-shots-")
    settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
    from .main_window import MainWindow
    w = MainWindow(settings=settings, autosave_dir=os.path.join(tmp, "autosave"), confirm=False,
                   theme=args.theme)
    w.resize(*SIZE)
    w.show()
    ok = wait(app, lambda: w.controller.analysis is not None)
    written = []

    def shot(name: str, widget=None) -> None:
        for _ in range(10):
            app.processEvents()
        path = out / f"{name}.png"
        (widget or w).grab().save(str(path))
        written.append(path)

    # 1. portfolio
    w.tabs.setCurrentWidget(w.portfolio_view)
    w.portfolio_view.select_row(2, 4)
    shot("portfolio")
    # 1b. the same with two invalid cells (kept as typed, marked, message in the tooltip)
    d = w.document
    cols = [c.key for c in __import__("ui.document", fromlist=["COLUMNS"]).COLUMNS]
    d.holdings.setData(d.holdings.index(2, cols.index("leverage")), "ten")
    d.holdings.setData(d.holdings.index(3, cols.index("quantity")), "-0.25")
    wait(app, lambda: not w.controller.debounce.timer.isActive(), 5)
    wait(app, lambda: not w.controller.is_running("analysis"), 10)
    w.portfolio_view.select_row(2, cols.index("leverage"))
    shot("portfolio-invalid-cells")
    d.undo.undo()
    d.undo.undo()
    wait(app, lambda: not w.controller.debounce.timer.isActive(), 5)
    wait(app, lambda: not w.controller.is_running("analysis") and w.controller.analysis is not None, 10)

    # 2. shock
    w.tabs.setCurrentWidget(w.shock_view)
    w.shock_view.set_move(-0.25, emit=True)
    shot("shock")

    # 3. replay
    w.tabs.setCurrentWidget(w.replay_view)
    rv = w.replay_view
    if args.prices:
        rv.set_price_files(args.prices)
        rv.start_edit.setText(args.start)
        rv.end_edit.setText(args.end)
    else:
        rv.select_scenario("2025-10-10-liquidation-cascade")
    rv.request_run()
    wait(app, lambda: rv.result is not None, 120)
    if rv.result is not None:
        n = len(rv.result.value)
        rv.set_step(n - 1 if n <= 2 else int(n * 0.7))
        wait(app, lambda: not rv.flash_timer.isActive(), 5)
    shot("replay")

    # 4. Monte Carlo
    w.tabs.setCurrentWidget(w.montecarlo_view)
    mv = w.montecarlo_view
    mv.paths.setValue(args.paths)
    mv.cascade.setValue(100)
    w.run_montecarlo(mv.settings())
    wait(app, lambda: not w.controller.is_running("montecarlo"), 300)
    shot("montecarlo")

    # 5. reverse stress
    w.tabs.setCurrentWidget(w.reverse_view)
    w.controller.run_reverse()
    wait(app, lambda: not w.controller.is_running("reverse") and w.reverse_view.report is not None, 60)
    shot("reverse-stress")

    # 5b. the survival planner on every bundled crash
    w.tabs.setCurrentWidget(w.planner_view)
    pv = w.planner_view
    pv.target.setCurrentIndex(pv.target.findData("all"))
    pv.budget.setText("15000")
    pv.request_plan()
    wait(app, lambda: w.controller.is_running("plan"), 5)
    wait(app, lambda: not w.controller.is_running("plan") and pv.result is not None, 120)
    shot("survive")

    # 6. dark theme
    w.apply_theme("dark")
    w.tabs.setCurrentWidget(w.shock_view)
    shot("shock-dark")
    w.tabs.setCurrentWidget(w.montecarlo_view)
    shot("montecarlo-dark")
    w.apply_theme(args.theme)

    # 7. real crash paths: the replay on 10 Oct and 18 Dec 2025, and every crash at once
    from engine.saved_scenarios import shock_entry
    rv.set_price_files([])
    w.scenarios.add(shock_entry("BTC −35%, SOL beta 2", {"BTC": -0.35}, {"SOL": 2.0}, w.scenarios.ids()))
    settle = lambda: not w.controller.debounce.timer.isActive() and not any(      # noqa: E731
        w.controller.is_running(c) for c in w.controller.CHANNELS)
    wait(app, settle, 60)
    for width, height in SIZES:
        w.resize(width, height)
        for theme in ("light", "dark"):
            w.apply_theme(theme)
            w.tabs.setCurrentWidget(rv)
            for day, sid in CRASHES:
                rv.select_scenario(sid, run=True)
                wait(app, lambda: rv.result is not None and rv.result.report["scenario"]["id"] == sid
                     and settle(), 60)
                liq = [p["liquidation_step"] for p in rv.result.report["positions"] if p["liquidated"]]
                rv.set_step(max(liq) + 3 if liq else len(rv.result.value) - 1)  # past the last one
                wait(app, lambda: not rv.flash_timer.isActive(), 5)
                shot(f"replay-{day}-{width}x{height}-{theme}")
            w.tabs.setCurrentWidget(w.matrix_view)
            wait(app, lambda: w.matrix_view.result is not None and settle(), 60)
            shot(f"crash-matrix-{width}x{height}-{theme}")
    w.resize(*SIZE)
    w.apply_theme(args.theme)

    w.close()
    for p in written:
        print(p)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
