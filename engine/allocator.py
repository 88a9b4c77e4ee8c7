"""Allocator tuning for long simulations (glibc ``mallopt``). PROCESS-WIDE.

:func:`tune_allocator` keeps freed memory in the process: the replay kernel's temporaries
(a few MB each) then reuse warm pages instead of being mapped and zero-filled afresh for every
block, which cost about a third of the Monte Carlo run time in page faults. It changes the
allocator of the whole process (every thread, every library), once; memory kept is bounded by
the run's peak (~150 MB). Called once at start-up by ``main.py`` (the app, the command line,
the self-test) and by the benchmarks -- not by the engine, which leaves process-wide settings
to the program that embeds it. No-op off Linux, if ``mallopt`` is missing, or with
``CRASHLAB_MALLOC_TUNING=0``.
"""
from __future__ import annotations

import os
import sys

_TUNED: bool | None = None          # None: not tried yet
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def tune_allocator() -> bool:
    """Apply the tuning once per process (later calls return the first answer); True when
    ``mallopt`` was called."""
    global _TUNED
    if _TUNED is None:
        _TUNED = False
        if sys.platform.startswith("linux") and os.environ.get("CRASHLAB_MALLOC_TUNING") != "0":
            try:
                import ctypes
                libc = ctypes.CDLL("libc.so.6")
                libc.mallopt(M_MMAP_THRESHOLD, 64 << 20)      # blocks below 64 MB from the heap
                libc.mallopt(M_TRIM_THRESHOLD, 512 << 20)     # give memory back above 512 MB free
                _TUNED = True
            except (OSError, AttributeError):
                pass
    return _TUNED
