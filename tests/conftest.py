"""Shared test setup. Kept minimal so engine tests run without Qt.

QT_QPA_PLATFORM must be set before any Qt import: headless by default; export
QT_QPA_PLATFORM=xcb under ``xvfb-run`` to test against a real X server.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# CI runs property tests with a fixed seed sequence (reproducible, never flaky);
# developers get fresh random examples on every run.
try:
    from hypothesis import settings as _hyp_settings

    _hyp_settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        _hyp_settings.load_profile("ci")
except ImportError:  # pragma: no cover
    pass
