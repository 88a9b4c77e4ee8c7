"""Work around a reference-counting bug of PySide6 6.12.0 on Python 3.11.

With PySide6-Essentials 6.12.0 (abi3 wheel) on CPython 3.11, every call of a Qt method
that returns ``void`` (``setText``, ``update``, ``setPos``, ...) hands Python ``None``
without a new reference, so ``None``'s reference count drops by one per call until Python
aborts with "Fatal Python error: none_dealloc" (seen after a few seconds of GUI use;
PySide6 6.11.3 does not do this, and on Python 3.12+ ``None`` is immortal so nothing
happens). Checked with::

    lab = QLabel(); n = sys.getrefcount(None)
    for _ in range(1000): lab.setText("x")
    sys.getrefcount(None) - n        # -1000 with 6.12.0 on 3.11, 0 with 6.11.3

:func:`guard_singletons` gives ``None``, ``True`` and ``False`` a huge extra reference
count (as Python 3.12 does by making them immortal), which makes the bug harmless. It is a
no-op on Python 3.12+, on debug builds and on other interpreters.
"""
from __future__ import annotations

import sys

EXTRA_REFS = 1 << 40      # about 10**12 calls before the count could run out


def guard_singletons() -> bool:
    """Make None/True/False effectively immortal on CPython < 3.12; True when applied."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    try:  # only the affected release needs it (requirements.txt pins 6.11.3)
        from importlib.metadata import version
        if not version("PySide6-Essentials").startswith("6.12.0"):
            return False
    except Exception:
        pass
    if hasattr(sys, "gettotalrefcount"):        # debug build: different object header
        return False
    import ctypes
    applied = False
    for obj in (None, True, False):
        before = sys.getrefcount(obj)
        if before > EXTRA_REFS // 2:            # already done
            continue
        cell = ctypes.c_ssize_t.from_address(id(obj))   # ob_refcnt is the first field
        if abs(cell.value - before) > 64:
            continue                             # unexpected layout: leave it alone
        cell.value += EXTRA_REFS
        applied = True
    return applied


class GuiThreadGC:
    """Run Python's cyclic garbage collector only on the GUI thread.

    Automatic collection can start in any thread that allocates, e.g. a worker thread busy
    with numpy; it then destroys unreachable Qt objects from that thread ("QBasicTimer::start:
    Timers cannot be started from another thread", and worse). While a main window is open,
    automatic collection is off and a GUI-thread timer collects each generation once it
    passes its threshold (the approach of pyqtgraph's GarbageCollector).
    """

    _users = 0
    _was_enabled = True

    def __init__(self, parent=None, interval_ms: int = 500):
        import gc
        from PySide6.QtCore import QTimer
        self.threshold = gc.get_threshold()
        if GuiThreadGC._users == 0:
            GuiThreadGC._was_enabled = gc.isenabled()
            gc.disable()
        GuiThreadGC._users += 1
        self.active = True
        self.timer = QTimer(parent)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        import gc
        l0, l1, l2 = gc.get_count()
        if l0 > self.threshold[0]:
            gc.collect(0)
            if l1 > self.threshold[1]:
                gc.collect(1)
                if l2 > self.threshold[2]:
                    gc.collect(2)

    def stop(self) -> None:
        """Stop collecting from the timer; the last user turns automatic collection back on."""
        import gc
        if not self.active:
            return
        self.active = False
        self.timer.stop()
        GuiThreadGC._users -= 1
        if GuiThreadGC._users == 0 and GuiThreadGC._was_enabled:
            gc.enable()
