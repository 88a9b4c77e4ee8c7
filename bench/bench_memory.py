"""Memory benchmark: repeated Monte Carlo runs in the real window, with cancels.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_memory.py [--runs 10] [--paths 1000000]

The window (headless) runs the Monte Carlo view's run ``--runs`` times on the demo
portfolio, ``--paths`` paths x ``--days`` days each; every other run is cancelled (Esc)
once ``--cancel-at`` of its paths are done, the others run to the end. After each run
(results drawn, the event loop idle) it prints the resident memory (VmRSS) and the peak so
far (VmHWM), from /proc (Linux). The target: the last run ends within 50 MB of the first
run's peak.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings  # noqa: E402

import ui  # noqa: E402,F401  (applies the PySide6 refcount guard)


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    return out["VmRSS"], out["VmHWM"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--cancel-at", type=float, default=0.5,
                    help="cancel every other run once this share of its paths is done")
    args = ap.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("needs /proc (Linux)")
        return 1

    from ui.app import make_app, prepare_memory
    prepare_memory()                   # as the app starts (ui.app.run_gui)
    app = make_app()
    from ui.main_window import MainWindow
    tmp = tempfile.mkdtemp(prefix="crashlab-bench-")
    w = MainWindow(settings=QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat),
                   autosave_dir=os.path.join(tmp, "autosave"), confirm=False, theme="light")
    w.resize(1600, 1000)
    w.show()

    def spin(cond, timeout=900.0):
        t0 = time.monotonic()
        while not cond():
            app.processEvents()
            time.sleep(0.002)
            if time.monotonic() - t0 > timeout:
                raise SystemExit("timed out")

    def settle():
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)
        gc.collect()
        app.processEvents()

    spin(lambda: w.controller.analysis is not None)
    w.tabs.setCurrentWidget(w.montecarlo_view)
    mv = w.montecarlo_view
    mv.live.setChecked(False)
    mv.paths.setValue(args.paths)
    mv.days.setValue(args.days)
    settle()
    rss0, _ = memory_mb()
    print(f"window open, demo portfolio: RSS {rss0:.0f} MB")
    first_peak = None
    rows = []
    for i in range(1, args.runs + 1):
        cancel = i % 2 == 1
        t0 = time.perf_counter()
        w.run_montecarlo(mv.settings())
        if cancel:
            spin(lambda: not w.controller.is_running("montecarlo") or (
                mv.progress.maximum() > 1 and mv.progress.value() >= args.cancel_at * args.paths))
            w.controller.cancel_all()
        # a cancelled run's thread finishes its block after the Cancel: wait for it to end
        spin(lambda: not w.controller.is_running("montecarlo") and not w.controller.live_threads())
        settle()
        wall = time.perf_counter() - t0
        rss, hwm = memory_mb()
        if first_peak is None:
            first_peak = hwm
        done = mv.last_chunk.chunk.paths_done if mv.last_chunk else 0
        rows.append(rss)
        print(f"run {i:2d} ({'cancelled' if cancel else 'complete '} at {done:>9,} paths, "
              f"{wall:5.1f} s): RSS {rss:6.0f} MB, peak so far {hwm:6.0f} MB")
    print(f"first run's peak {first_peak:.0f} MB; after the last run {rows[-1]:.0f} MB "
          f"({rows[-1] - first_peak:+.0f} MB; target: within +50 MB); largest RSS after a run "
          f"{max(rows):.0f} MB")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
