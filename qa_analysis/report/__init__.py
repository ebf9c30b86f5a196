"""Report assembly for the notebooks, one module per notebook.

The report notebooks in ``notebooks/`` are thin: a parameters cell, one call
per section into these modules, a figure from :mod:`qa_analysis.plots`, a
small table and a sentence. Everything those cells compute is here, where it
is tested (``tests/test_report_*.py``):

:mod:`~qa_analysis.report.data`
    Parameters merged over ``params/defaults.yaml`` (:func:`report_params`),
    path resolution, the report window, loading and pseudonymisation.
:mod:`~qa_analysis.report.calibration`
    The calibration report (:func:`calibration_results` and its narrative).
:mod:`~qa_analysis.report.performance`
    The performance report as sections (:func:`performance_data`, then
    ``volume_section``, ``control_section``, ... each with its narrative).
:mod:`~qa_analysis.report.overview`
    The global overview across regions.
:mod:`~qa_analysis.report.formatting`
    Number and interval formatting, display tables, short reprs.

The statistics live in :mod:`qa_analysis.reliability`,
:mod:`qa_analysis.sampling`, :mod:`qa_analysis.scorecard`,
:mod:`qa_analysis.trends` and :mod:`qa_analysis.compare`; these modules only
choose windows, call them, combine their tables and phrase their numbers.
Narrative functions return Markdown strings (display them with
``IPython.display.Markdown``); every number in a sentence is the library's
number, rounded for reading. Fixed explanations live in the notebooks'
markdown cells.

Empty data (a region without calibration sessions or evaluations in the
month) never raises here: results hold empty tables, KPIs are ``None``
(``null`` in JSON) and the sentences say that there was nothing to analyse.
"""

from qa_analysis.report import calibration, data, formatting, overview, performance
from qa_analysis.report.calibration import CalibrationResults, calibration_kpis, calibration_results
from qa_analysis.report.data import (
    ReportData,
    ReportParams,
    Window,
    load_report_data,
    report_params,
    report_window,
)
from qa_analysis.report.formatting import display_table, fmt_ci
from qa_analysis.report.performance import PerformanceData, performance_data, performance_kpis

__all__ = [
    "CalibrationResults",
    "PerformanceData",
    "ReportData",
    "ReportParams",
    "Window",
    "calibration",
    "calibration_kpis",
    "calibration_results",
    "data",
    "display_table",
    "fmt_ci",
    "formatting",
    "load_report_data",
    "overview",
    "performance",
    "performance_data",
    "performance_kpis",
    "report_params",
    "report_window",
]
