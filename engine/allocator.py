"""Allocator tuning for long simulations (glibc ``mallopt``). PROCESS-WIDE.

:func:`tune_allocator` keeps freed memory in the process: the replay kernel's temporaries
(a few MB each) then reuse warm pages instead of being mapped and zero-filled afresh for every
block, which cost about a third of the Monte Carlo run time in page faults. It changes the
allocator of the whole process (every thread, every library), once; memory kept is bounded by
the run's peak (~150 MB). Called once at start-up by ``main.py`` (the app, the command line,
the self-test) and by the benchmarks -- not by the engine, which leaves process-wide settings
to the program that embeds it. No-op off Linux, if ``mallopt`` is missing, or with
``CRASHLAB_MALLOC_TUNING=0``.

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
_ARENAS: bool | None = None
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: malloc arenas shared by all threads. glibc gives a thread that finds its arena busy a new
#: one (up to 8 per core) and never frees an arena; each kept a run's fragments resident, so
#: a loaded machine grew the desktop app by tens of MB a run (bench/bench_memory.py).
ARENA_MAX = 2


def _libc():
    if not sys.platform.startswith("linux") or os.environ.get("CRASHLAB_MALLOC_TUNING") == "0":
        return None
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim       # noqa: B018  (both must exist)
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas() -> bool:
    """Share :data:`ARENA_MAX` malloc arenas between all threads, once per process; best
    called before threads allocate (the desktop app does it when its window opens). True
    when ``mallopt`` was called."""
    global _ARENAS
    if _ARENAS is None:
        libc = _libc()
        _ARENAS = bool(libc is not None and libc.mallopt(M_ARENA_MAX, ARENA_MAX))
    return _ARENAS


def tune_allocator() -> bool:
    """Apply the tuning once per process (later calls return the first answer); True when
    ``mallopt`` was called."""
    global _TUNED
    if _TUNED is None:
        libc = _libc()
        _TUNED = libc is not None
        if _TUNED:
            libc.mallopt(M_MMAP_THRESHOLD, 64 << 20)      # blocks below 64 MB from the heap
            libc.mallopt(M_TRIM_THRESHOLD, 512 << 20)     # give memory back above 512 MB free
            limit_arenas()
    return _TUNED


def release_memory() -> bool:
    """Return the free memory the tuned allocator keeps (every arena) to the system; True
    when ``malloc_trim`` was called (only after :func:`tune_allocator` tuned it)."""
    if not _TUNED:
        return False
    _libc().malloc_trim(0)
    return True
