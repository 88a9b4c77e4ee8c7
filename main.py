"""CrashLab entry point.

``python main.py`` opens the desktop app on the bundled demo portfolio, ``python main.py
FILE`` on a file, and ``python main.py SUBCOMMAND ...`` runs the headless command line
(scenarios, liquidation, stress, reverse, plan, montecarlo, cascade, convert, report) on the
same engine.
``python main.py --selftest [--screenshot PNG]`` checks a build end to end and exits 0.
"""
from __future__ import annotations

import multiprocessing
import sys


def run(argv: list[str]) -> int:
    from engine.allocator import tune_allocator
    tune_allocator()                  # process-wide, once: freed memory stays for the next block
    from cli import SUBCOMMANDS, main as cli_main
    if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help")):
        if argv[0] in ("-h", "--help"):
            print(__doc__.strip())
            print("\nSubcommands: " + ", ".join(SUBCOMMANDS) + " (each has --help)")
            return 0
        return cli_main(argv)
    if "--selftest" in argv:
        shot = None
        for i, a in enumerate(argv):
            if a.startswith("--screenshot="):
                shot = a.split("=", 1)[1]
            elif a == "--screenshot" and i + 1 < len(argv):
                shot = argv[i + 1]
        from ui.selftest import run_selftest
        return run_selftest(shot)
    from ui.app import run_gui
    return run_gui(argv)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(run(sys.argv[1:]))
