"""CrashLab desktop UI (PySide6 + pyqtgraph). Arranges widgets, runs engine calls in a
worker thread and draws what comes back; ``engine`` never imports from here."""
from ._compat import guard_singletons

guard_singletons()
