"""Shared test setup. Kept minimal so engine tests run without Qt.

QT_QPA_PLATFORM must be set before any Qt import: headless by default; export
QT_QPA_PLATFORM=xcb under ``xvfb-run`` to test against a real X server.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
