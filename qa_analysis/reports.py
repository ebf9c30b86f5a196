"""Compatibility module: the batch now lives in :mod:`qa_analysis.batch`.

Every public name of the former ``qa_analysis.reports`` is re-exported from
its new home so existing imports keep working: the batch from
:mod:`qa_analysis.batch`, KPI files from :mod:`qa_analysis.io`
(``io.write_kpis`` / ``io.read_kpis``), pseudonyms from
:mod:`qa_analysis.privacy`, and the ``qa-reports run`` helpers from
:mod:`qa_analysis.cli`. New code should import from those modules.
"""

from __future__ import annotations

from qa_analysis.batch import (
    GLOBAL_NOTEBOOK,
    KPI_FILES,
    REGIONAL_NOTEBOOKS,
    BatchParams,
    NotebookResult,
    NotebookTimeoutError,
    ParamsError,
    RunResult,
    default_workers,
    list_periods,
    load_batch_params,
    merge_params,
    notebook_parameters,
    read_params,
    render_html,
    run_batch,
    write_index,
    write_periods_index,
)
from qa_analysis.cli import add_run_arguments, main_run
from qa_analysis.io import read_kpis, write_kpis
from qa_analysis.privacy import (
    DEFAULT_PSEUDONYM_KEY,
    PSEUDONYM_ENV,
    pseudonym_key_source,
    pseudonymise,
)

__all__ = [
    "DEFAULT_PSEUDONYM_KEY",
    "GLOBAL_NOTEBOOK",
    "KPI_FILES",
    "PSEUDONYM_ENV",
    "REGIONAL_NOTEBOOKS",
    "BatchParams",
    "NotebookResult",
    "NotebookTimeoutError",
    "ParamsError",
    "RunResult",
    "add_run_arguments",
    "default_workers",
    "list_periods",
    "load_batch_params",
    "main_run",
    "merge_params",
    "notebook_parameters",
    "pseudonym_key_source",
    "pseudonymise",
    "read_kpis",
    "read_params",
    "render_html",
    "run_batch",
    "write_index",
    "write_kpis",
    "write_periods_index",
]
