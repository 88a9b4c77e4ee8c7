"""Live charts (pyqtgraph), one module per chart; this package re-exports them.

Every chart builds its plot items once; updates only call ``setData``/``setOpts``/
``setValue`` on them. The shared axes, the :class:`Chart` base and theme application
live in :mod:`ui.charts.base`.
"""
from .bars import HBarChart, draw_hbars
from .base import (Chart, MoneyAxis, PercentAxis, PlainAxis, apply_theme_all, make_brush, make_pen,
                   money_short)
from .fan import FanChart
from .histogram import HistogramChart
from .ladder import LadderChart
from .replay import LinesChart, ReplayValueChart, StepAxis
from .sensitivity import SensitivityChart

__all__ = ["Chart", "FanChart", "HBarChart", "HistogramChart", "LadderChart", "LinesChart", "MoneyAxis",
           "PercentAxis", "PlainAxis", "ReplayValueChart", "SensitivityChart", "StepAxis",
           "apply_theme_all", "draw_hbars", "make_brush", "make_pen", "money_short"]
