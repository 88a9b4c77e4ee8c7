"""Allocator tuning for long simulations (glibc ``mallopt``). PROCESS-WIDE.

:func:`tune_allocator` keeps freed memory in the process: the replay kernel's temporaries
(a few MB each) then reuse warm pages instead of being mapped and zero-filled afresh for every
block, which cost about a third of the Monte Carlo run time in page faults. It changes the
allocator of the whole process (every thread, every library), once; memory kept is bounded by
the run's peak (~150 MB). Called by :func:`engine.montecarlo.simulate_chunks` before its
first block. No-op off Linux, if ``mallopt`` is missing, or with ``CRASHLAB_MALLOC_TUNING=0``.

:func:`release_memory` gives what the tuned allocator kept back to the system
(``malloc_trim``): :func:`engine.montecarlo.simulate_chunks` calls it when a run ends,
finished or cancelled, so that a long-lived process (the desktop app) running one Monte
Carlo after another does not keep each run's peak in every thread's arena
(``bench/bench_memory.py``).
"""
from __future__ import annotations

import os
import sys

_TUNED: bool | None = None          # None: not tried yet
_LIBC = None
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENA_MAX = 2       # malloc arenas: each thread allocating in its own arena kept every
                    # run's fragments resident (the desktop app grew by ~40 MB a run)


def tune_allocator() -> bool:
    """Apply the tuning once per process (later calls return the first answer); True when
    ``mallopt`` was called."""
    global _TUNED, _LIBC
    if _TUNED is None:
        _TUNED = False
        if sys.platform.startswith("linux") and os.environ.get("CRASHLAB_MALLOC_TUNING") != "0":
            try:
                import ctypes
                libc = ctypes.CDLL("libc.so.6")
                libc.mallopt(M_MMAP_THRESHOLD, 64 << 20)      # blocks below 64 MB from the heap
                libc.mallopt(M_TRIM_THRESHOLD, 512 << 20)     # give memory back above 512 MB free
                libc.mallopt(M_ARENA_MAX, ARENA_MAX)          # threads share a few arenas
                _LIBC = libc
                _TUNED = True
            except (OSError, AttributeError):
                pass
    return _TUNED


def release_memory() -> bool:
    """Return the free memory the tuned allocator keeps (every arena) to the system; True
    when ``malloc_trim`` was called (only after :func:`tune_allocator` tuned it)."""
    if not _TUNED or _LIBC is None:
        return False
    try:
        _LIBC.malloc_trim(0)
    except AttributeError:
        return False
    return True
