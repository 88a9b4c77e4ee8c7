"""Reports and exports shared by the window and the command line (no Qt): the HTML report
(:func:`build_report`, charts as inline SVG), the CSV writer (:mod:`reporting.csvfile`) and
settings in words (:mod:`reporting.words`)."""
from .csvfile import Table, to_csv
from .html import build_report
from .results import MonteCarloRun, ReportData, ScenarioRun, scenario_rows, shock_report

__all__ = ["Table", "to_csv", "build_report", "MonteCarloRun", "ReportData", "ScenarioRun",
           "scenario_rows", "shock_report"]
