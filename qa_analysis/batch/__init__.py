"""The monthly report batch: papermill per region, HTML rendering, the run index.

One call, :func:`run_batch` (the ``qa-reports run`` command), runs every
region's report notebooks and then the global overview, renders each to a
self-contained HTML page and writes the period's index. The modules:

- :mod:`~qa_analysis.batch.params`: reading, merging and validating
  ``params/*.yaml`` against :data:`PARAMS_SCHEMA` (errors before anything runs);
- :mod:`~qa_analysis.batch.engine`: papermill execution in pool workers, kernel
  config, the per-cell and whole-notebook limits;
- :mod:`~qa_analysis.batch.render`: HTML without code, offline;
- :mod:`~qa_analysis.batch.run`: :func:`run_batch`, the period's temporary
  folder and its atomic swap into place;
- :mod:`~qa_analysis.batch.index`: the index pages (style: ``index.css``);
- :mod:`~qa_analysis.batch.project`: a project's folders and
  :func:`init_project` (``qa-reports init``).

The report kinds, their KPI files and the keys of the merged region KPI file
are defined in :mod:`qa_analysis.io` (``REGIONAL_NOTEBOOKS``, ``KPI_FILES``,
``REGION_KPI_KEYS``).
"""

from __future__ import annotations

from qa_analysis.batch.engine import NotebookTimeoutError, default_workers
from qa_analysis.batch.index import list_periods, write_index, write_periods_index
from qa_analysis.batch.params import (
    PARAMS_SCHEMA,
    BatchParams,
    Param,
    check_params,
    load_batch_params,
    merge_params,
    notebook_parameters,
    read_params,
)
from qa_analysis.batch.project import init_project, project_dirs
from qa_analysis.batch.render import render_html
from qa_analysis.batch.results import NotebookResult, RunResult
from qa_analysis.batch.run import run_batch, sigterm_as_interrupt
from qa_analysis.errors import ParamsError
from qa_analysis.io import GLOBAL_NOTEBOOK, KPI_FILES, REGIONAL_NOTEBOOKS

__all__ = [
    "GLOBAL_NOTEBOOK",
    "KPI_FILES",
    "PARAMS_SCHEMA",
    "REGIONAL_NOTEBOOKS",
    "BatchParams",
    "NotebookResult",
    "NotebookTimeoutError",
    "Param",
    "ParamsError",
    "RunResult",
    "check_params",
    "default_workers",
    "init_project",
    "list_periods",
    "load_batch_params",
    "merge_params",
    "notebook_parameters",
    "project_dirs",
    "read_params",
    "render_html",
    "run_batch",
    "sigterm_as_interrupt",
    "write_index",
    "write_periods_index",
]
