"""The monthly report batch: papermill per region, HTML rendering, the run index.

One call, :func:`run_batch` (the ``qa-reports run`` command), produces a
period's reports::

    outputs/<period>/index.html                      every report: status, duration, headline KPIs
    outputs/<period>/run.json                        the same, machine-readable
    outputs/<period>/global_overview.{ipynb,html}
    outputs/<period>/<region>/calibration_report.{ipynb,html}
    outputs/<period>/<region>/performance_report.{ipynb,html}
    outputs/<period>/<region>/audit_plan.csv         written by the performance notebook
    outputs/<period>/<region>/kpis.json              both notebooks' KPIs, merged
    outputs/index.html                               links to every complete period

How it works
------------
1. **Parameters** (:func:`load_batch_params`): ``params/defaults.yaml``, then
   ``params/<region>.yaml`` on top. The merge is shallow at the top level,
   except that mapping-valued keys (``targets``, ``thresholds``,
   ``sampling``) merge one level deep, so a region file can override one
   target and keep the others. Every key must be a parameter of at least
   one notebook (checked with :func:`papermill.inspect_notebook`) and of a
   compatible type; a key known to only one notebook goes only to that one.
   Relative ``data`` / ``scorecard`` paths are resolved against the project
   root (the folder holding ``params/``). Problems raise :class:`ParamsError`
   naming the key and the file, before anything runs (exit code 2).
2. **Execution**: each region's notebooks run with papermill in a process
   pool (spawn context; ``workers`` processes, default the number of usable
   cores), one fresh kernel per notebook, then the global overview. A failing
   cell, a cell over the per-cell limit (``--cell-timeout``), a notebook over
   the whole-notebook limit (``--timeout``), a dead kernel or any other error
   marks *that* notebook failed with a one-line error; its executed notebook
   (with the traceback) is kept and rendered; the other notebooks go on.
3. **HTML**: nbconvert's HTMLExporter without code, prompts or the parameter
   cells; figures are embedded and the template's CDN scripts (require.js,
   MathJax, mermaid) are left out, so each page is one self-contained file
   that opens offline.
4. **Atomicity**: the period is built in ``outputs/.<period>.tmp-<pid>/`` and
   renamed into place only when complete; every file inside is written to a
   temporary file and renamed. A killed run leaves only a hidden temporary
   folder (removed by the next run of that period) and the previous complete
   period stays until the new one replaces it.

Kernels talk to papermill over Unix-domain sockets (IPC transport) on POSIX,
which avoids TCP port races between parallel kernels and keeps the traffic off
the network; on other systems the default TCP transport is used.

Pseudonymisation (:func:`pseudonymise`) replaces agent and reviewer/rater ids
with keyed HMAC-SHA256 pseudonyms; the notebooks call it right after loading
when their ``pseudonymise`` parameter is true (the default). The key comes from
``QA_PSEUDONYM_KEY``; the public demo key is accepted only for the bundled demo
data, so a report on real data without the variable fails with a clear error.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import html
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from qa_analysis.errors import ParamsError
from qa_analysis.io import (
    KPI_FILES,
    OPTIONAL_KPI_FILES,
    REGION_KPI_FILE,
    read_kpis,
    write_kpis,
    write_text_atomic,
)
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
    "REGIONAL_NOTEBOOKS",
    "NotebookResult",
    "NotebookTimeoutError",
    "ParamsError",
    "RunResult",
    "add_run_arguments",
    "list_periods",
    "load_batch_params",
    "main_run",
    "merge_params",
    "pseudonymise",
    "read_params",
    "render_html",
    "run_batch",
    "write_index",
    "write_kpis",
]

#: Notebooks run once per region, in this order, into ``<period>/<region>/``.
REGIONAL_NOTEBOOKS: tuple[str, ...] = ("calibration_report", "performance_report")
#: Notebook run once per period, after the regions, into ``<period>/``.
GLOBAL_NOTEBOOK = "global_overview"
#: Parameters holding paths; relative values are resolved against the project root.
PATH_KEYS: tuple[str, ...] = ("data", "scorecard")
#: Parameters the batch sets itself; a params file may not set them.
BATCH_KEYS: tuple[str, ...] = ("output_dir", "reports_dir", "regions")
#: Parameters that are the same for the whole run; a region file may not set them.
RUN_KEYS: tuple[str, ...] = ("period",)

_PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_ENGINE_NAME = "qa_analysis"
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list,),
}


class NotebookTimeoutError(RuntimeError):
    """A notebook's cells ran longer, in total, than the whole-notebook limit."""


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NotebookResult:
    """The outcome of one notebook in a batch.

    Attributes
    ----------
    notebook : str
        Notebook name without extension, e.g. ``"calibration_report"``.
    region : str or None
        Region code (``"EU"``), or None for the global overview.
    status : str
        ``"ok"`` or ``"failed"``.
    duration_s : float
        Wall time of the papermill execution, kernel start-up included.
    render_s : float
        Wall time of the HTML rendering.
    error : str or None
        One-line error for a failed notebook.
    ipynb, html : str or None
        Paths relative to the period folder (None when not written).
    kpis : dict or None
        The notebook's KPI file, for a notebook that succeeded.
    started, finished : float
        Wall-clock times (``time.time()``) when the worker started executing the
        notebook and finished rendering it; for timelines and overhead.
    """

    notebook: str
    region: str | None
    status: str
    duration_s: float
    render_s: float = 0.0
    error: str | None = None
    ipynb: str | None = None
    html: str | None = None
    kpis: dict[str, Any] | None = None
    started: float = float("nan")
    finished: float = float("nan")

    @property
    def ok(self) -> bool:
        """True when the notebook ran, wrote its KPIs and rendered."""
        return self.status == "ok"

    @property
    def label(self) -> str:
        """``"EU calibration_report"`` or ``"global_overview"``."""
        return f"{self.region} {self.notebook}" if self.region else self.notebook


@dataclass(frozen=True)
class RunResult:
    """The outcome of a batch: one :class:`NotebookResult` per notebook.

    ``wall_s`` is the batch's wall time (pool start-up to the period being in
    place); ``sum(r.duration_s for r in results)`` is the sequential cost.
    """

    period: str
    out_dir: Path
    results: tuple[NotebookResult, ...]
    wall_s: float
    workers: int
    regions: tuple[str, ...] = ()
    started_at: str = ""
    pseudonym_key: str = "demo"

    @property
    def ok(self) -> bool:
        """True when every notebook succeeded."""
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[NotebookResult, ...]:
        """The notebooks that failed."""
        return tuple(r for r in self.results if not r.ok)

    @property
    def exit_code(self) -> int:
        """0 when every notebook succeeded, else 1."""
        return 0 if self.ok else 1

    def to_frame(self) -> pd.DataFrame:
        """One row per notebook: region, notebook, status, durations, error, paths."""
        rows = [
            {k: v for k, v in dataclasses.asdict(r).items() if k != "kpis"} for r in self.results
        ]
        return pd.DataFrame(
            rows,
            columns=[
                "notebook",
                "region",
                "status",
                "duration_s",
                "render_s",
                "error",
                "ipynb",
                "html",
                "started",
                "finished",
            ],
        )


# ---------------------------------------------------------------------------
# KPIs and pseudonyms (called from the notebooks)
# ---------------------------------------------------------------------------
# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
def read_params(path: str | Path) -> dict[str, Any]:
    """Read one params YAML file (an empty file is an empty mapping).

    Loaded with :func:`papermill.iorw.read_yaml_file`, exactly as the
    ``papermill -f`` command line does (dates stay strings).

    Raises
    ------
    ParamsError
        When the file is missing, is not valid YAML, or is not a mapping.
    """
    from papermill.iorw import read_yaml_file

    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        data = read_yaml_file(str(path))
    except Exception as exc:  # yaml.YAMLError and I/O errors
        raise ParamsError(f"{path}: not valid YAML ({_first_line(exc)})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(
            f"{path}: a params file must be a mapping of parameter names to values, "
            f"got a {type(data).__name__}"
        )
    bad = [k for k in data if not isinstance(k, str) or not k.isidentifier()]
    if bad:
        raise ParamsError(f"{path}: parameter names must be identifiers, got {bad[0]!r}")
    return data


def merge_params(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay ``override`` on ``base``.

    Top-level keys replace; when both values are mappings (``targets``,
    ``thresholds``, ``sampling``) they are merged one level deep, so a region
    file that sets ``targets: {pass_rate: 0.9}`` keeps the default
    ``targets.mean_score``. Neither input is modified.

    Examples
    --------
    >>> merge_params({"seed": 1, "targets": {"a": 1, "b": 2}}, {"targets": {"b": 3}})
    {'seed': 1, 'targets': {'a': 1, 'b': 3}}
    """
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = {**out[k], **v}
        else:
            out[k] = dict(v) if isinstance(v, Mapping) else v
    return out


def notebook_parameters(path: str | Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares: name -> papermill's inferred info."""
    import papermill

    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: notebook not found")
    return papermill.inspect_notebook(str(path))


@dataclass(frozen=True)
class BatchParams:
    """Validated parameters for one batch (see :func:`load_batch_params`)."""

    root: Path
    notebooks_dir: Path
    period: str
    regions: tuple[str, ...]
    #: region code -> merged parameters (paths resolved)
    region_params: dict[str, dict[str, Any]]
    #: merged defaults (paths resolved), for the global overview
    global_params: dict[str, Any]
    #: notebook name -> declared parameter names
    notebook_keys: dict[str, frozenset[str]] = field(default_factory=dict)

    def for_notebook(self, notebook: str, region: str | None) -> dict[str, Any]:
        """The parameters one notebook receives (only the names it declares)."""
        src = self.region_params[region] if region else self.global_params
        keys = self.notebook_keys[notebook]
        return {k: v for k, v in src.items() if k in keys}


def load_batch_params(
    regions: Sequence[str] | str = "all",
    *,
    params_dir: str | Path = "params",
    period: str | None = None,
    notebooks_dir: str | Path | None = None,
) -> BatchParams:
    """Read, merge and validate the parameters for a batch, before anything runs.

    Parameters
    ----------
    regions : "all" or sequence of str
        Region codes or file stems (case-insensitive), or ``"all"``: every
        ``params/*.yaml`` except ``defaults.yaml`` and the scorecard.
    params_dir : str or Path
        The params folder; its parent is the project root.
    period : str, optional
        ``YYYY-MM``; default ``period`` from ``defaults.yaml``.
    notebooks_dir : str or Path, optional
        Default ``<project root>/notebooks``.

    Raises
    ------
    ParamsError
        Naming the file and key: a missing file or notebook, a file that is
        not a mapping, a key no notebook declares, a value of the wrong type,
        a key the batch sets itself, a region file whose ``region`` does not
        match its name, a bad period.
    """
    params_dir = Path(params_dir).resolve()
    if not params_dir.is_dir():
        raise ParamsError(f"{params_dir}: params folder not found")
    root = params_dir.parent
    nb_dir = Path(notebooks_dir).resolve() if notebooks_dir else root / "notebooks"
    nb_info = {
        name: notebook_parameters(nb_dir / f"{name}.ipynb")
        for name in (*REGIONAL_NOTEBOOKS, GLOBAL_NOTEBOOK)
    }
    known = {k for info in nb_info.values() for k in info}

    defaults_path = params_dir / "defaults.yaml"
    defaults = read_params(defaults_path)
    _check_keys(defaults, defaults_path, nb_info, known)
    if "region" in defaults:
        raise ParamsError(
            f"{defaults_path}: key 'region' belongs in the region files, not in defaults.yaml"
        )

    files = _region_files(regions, params_dir, defaults, root)
    region_params: dict[str, dict[str, Any]] = {}
    for path in files:
        data = read_params(path)
        _check_keys(data, path, nb_info, known)
        for k in RUN_KEYS:
            if k in data:
                raise ParamsError(
                    f"{path}: key {k!r} is the same for every region; set it in "
                    f"defaults.yaml or on the command line"
                )
        code = data.get("region")
        if not isinstance(code, str) or not code:
            raise ParamsError(
                f"{path}: missing key 'region' (every params/*.yaml except "
                f"defaults.yaml and the scorecard is a region file)"
            )
        if code.lower() != path.stem.lower():
            raise ParamsError(
                f"{path}: region {code!r} does not match the file name "
                f"(expected {path.stem.upper()!r})"
            )
        if code in region_params:
            raise ParamsError(f"{path}: region {code!r} appears twice")
        region_params[code] = _resolve_paths(merge_params(defaults, data), root)

    period = period if period is not None else defaults.get("period")
    if not isinstance(period, str) or not _PERIOD_RE.match(period):
        where = (
            "--period"
            if period is not None and period != defaults.get("period")
            else str(defaults_path)
        )
        raise ParamsError(f"{where}: period must be YYYY-MM (e.g. 2026-10), got {period!r}")
    for p in region_params.values():
        p["period"] = period
    global_params = _resolve_paths(dict(defaults), root)
    global_params["period"] = period
    return BatchParams(
        root=root,
        notebooks_dir=nb_dir,
        period=period,
        regions=tuple(region_params),
        region_params=region_params,
        global_params=global_params,
        notebook_keys={k: frozenset(v) for k, v in nb_info.items()},
    )


def _check_keys(
    data: Mapping[str, Any], path: Path, nb_info: Mapping[str, Mapping[str, Any]], known: set[str]
) -> None:
    for key, value in data.items():
        if key not in known:
            raise ParamsError(
                f"{path}: unknown parameter {key!r}: no notebook declares it "
                f"(known: {', '.join(sorted(known))})"
            )
        if key in BATCH_KEYS:
            raise ParamsError(
                f"{path}: parameter {key!r} is set by the batch itself "
                f"(use --out / --regions); remove it from the file"
            )
        for name, info in nb_info.items():
            if key not in info:
                continue
            type_name = str(info[key].get("inferred_type_name", "None")).split("[")[0].strip()
            ok_types = _TYPES.get(type_name)
            if ok_types is None or value is None:
                continue
            if not isinstance(value, ok_types) or (
                type_name in ("int", "float") and isinstance(value, bool)
            ):
                raise ParamsError(
                    f"{path}: parameter {key!r} must be {type_name} "
                    f"(as declared in {name}.ipynb), got {type(value).__name__} "
                    f"{value!r}"
                )


def _region_files(
    regions: Sequence[str] | str, params_dir: Path, defaults: Mapping[str, Any], root: Path
) -> list[Path]:
    if isinstance(regions, str):
        regions = [regions]
    regions = list(regions)
    if not regions:
        raise ParamsError("--regions: no region given")
    if any(r.lower() == "all" for r in regions):
        skip = {(params_dir / "defaults.yaml").resolve()}
        sc = defaults.get("scorecard")
        if isinstance(sc, str):
            skip.add((root / sc).resolve() if not Path(sc).is_absolute() else Path(sc).resolve())
        files = [p for p in sorted(params_dir.glob("*.yaml")) if p.resolve() not in skip]
        if not files:
            raise ParamsError(f"{params_dir}: no region params files (<region>.yaml)")
        return files
    files = []
    for r in regions:
        path = params_dir / f"{r.lower()}.yaml"
        if not path.is_file():
            raise ParamsError(f"{path}: no params file for region {r!r}")
        if path not in files:
            files.append(path)
    return files


def _resolve_paths(params: dict[str, Any], root: Path) -> dict[str, Any]:
    for k in PATH_KEYS:
        v = params.get(k)
        if isinstance(v, str) and v and not Path(v).is_absolute():
            params[k] = str((root / v).resolve())
    return params


# ---------------------------------------------------------------------------
# running one notebook (in a worker process)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Task:
    notebook: str
    region: str | None
    input_path: str
    period_dir: str  # the temporary period folder
    rel_dir: str  # "" or "eu"
    parameters: dict[str, Any]
    cwd: str
    timeout: float | None  # whole notebook, seconds from kernel ready
    cell_timeout: float | None  # one cell
    start_timeout: float
    title: str
    kernel_name: str = "python3"
    kill_grace: float = 5.0  # interrupt -> kill, seconds (run_batch documents 5 s)

    @property
    def out_dir(self) -> Path:
        return Path(self.period_dir, self.rel_dir)


def _run_task(task: _Task) -> NotebookResult:
    """Execute one notebook with papermill, render it, read its KPIs. Never raises."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    out_dir = task.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb = out_dir / f"{task.notebook}.ipynb"
    html_path = out_dir / f"{task.notebook}.html"
    rel = Path(task.rel_dir) if task.rel_dir else Path()
    error: str | None = None
    started = time.time()
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            task.input_path,
            str(ipynb),
            parameters=task.parameters,
            cwd=task.cwd,
            engine_name=_ENGINE_NAME,
            kernel_name=task.kernel_name,
            progress_bar=False,
            request_save_on_cell_execute=False,
            start_timeout=task.start_timeout,
            execution_timeout=task.cell_timeout,
            shutdown_kernel="immediate",
            config=_kernel_config(),
            save_on_abort=str(ipynb),
            notebook_timeout=task.timeout,
            kill_grace=task.kill_grace,
        )
    except NotebookTimeoutError as exc:
        error = f"NotebookTimeoutError: {_first_line(exc)}"
    except PapermillExecutionError as exc:
        evalue = _first_line(exc.evalue) if exc.evalue else ""
        error = f"{exc.ename}: {evalue} (cell In [{exc.exec_count}])" if evalue else exc.ename
    except CellTimeoutError:
        error = (
            f"CellTimeoutError: a cell ran longer than the {task.cell_timeout:g} s per-cell limit"
        )
    except DeadKernelError as exc:
        error = f"DeadKernelError: the kernel died ({_first_line(exc)})"
    except Exception as exc:  # kernel start-up, I/O, anything else: isolate this notebook
        error = f"{type(exc).__name__}: {_first_line(exc)}"
    duration = time.perf_counter() - t0

    html_rel: str | None = None
    t1 = time.perf_counter()
    if ipynb.is_file():
        try:
            render_html(ipynb, html_path, title=task.title)
            html_rel = str(rel / html_path.name)
        except Exception as exc:
            error = error or f"HTML rendering failed: {type(exc).__name__}: {_first_line(exc)}"
    elif error is None:
        error = "papermill wrote no output notebook"
    render_s = time.perf_counter() - t1

    kpis: dict[str, Any] | None = None
    kpi_name = KPI_FILES.get(task.notebook, f"{task.notebook}_kpis.json")
    if error is None:
        kpi_path = out_dir / kpi_name
        if kpi_path.is_file():
            try:
                kpis = read_kpis(kpi_path)
            except Exception as exc:
                error = f"{kpi_name} unreadable: {type(exc).__name__}: {_first_line(exc)}"
        elif kpi_name not in OPTIONAL_KPI_FILES:
            error = f"the notebook finished without writing {kpi_name} to its output_dir"
    return NotebookResult(
        notebook=task.notebook,
        region=task.region,
        status="ok" if error is None else "failed",
        duration_s=duration,
        render_s=render_s,
        error=error,
        ipynb=str(rel / ipynb.name) if ipynb.is_file() else None,
        html=html_rel,
        kpis=kpis,
        started=started,
        finished=time.time(),
    )


def _worker_init() -> None:
    """Set up a pool worker process (ours alone, so process-wide changes are safe)
    and import what every task needs.
    """
    # The kernel inherits this worker's environment. A non-interactive backend such as
    # MPLBACKEND=Agg (common in test and CI set-ups) makes figures vanish from the
    # executed notebook, so the kernel keeps its default inline backend.
    os.environ.pop("MPLBACKEND", None)
    # Ctrl-C reaches every process of the terminal's process group: the parent
    # handles it and stops the workers with SIGTERM (see _terminate_pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_terminate)
    _skip_slow_optional_imports()
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    _register_engine()


def _worker_terminate(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: kill the kernels it started, then exit at once.

    Kernels run in their own session (jupyter_client starts them so), so they
    would outlive a killed worker; psutil (an ipykernel dependency) finds them.
    """
    try:
        import psutil
    except ImportError:  # pragma: no cover
        psutil = None
    leftovers: list[str] = []
    if psutil is not None:
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                cmd = child.cmdline()
                if "-f" in cmd[:-1]:  # the kernel's connection file
                    leftovers.append(cmd[cmd.index("-f") + 1])
                child.kill()
    # the killed kernels' IPC socket files (see _kernel_config)
    leftovers += [
        str(p) for base in _IPC_BASES for p in Path(base).parent.glob(f"{Path(base).name}-*")
    ]
    for f in leftovers:
        with contextlib.suppress(OSError):
            os.unlink(f)
    os._exit(128 + signum)


def _terminate_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: SIGTERM every worker (which kills its kernel), then shut down."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
    else:
        for proc in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                if proc.is_alive():
                    proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _skip_slow_optional_imports() -> None:
    """Make ``import papermill`` about 1-3 s faster in processes the batch owns.

    nbformat imports jsonschema, whose format module imports the optional
    ``rfc3987_syntax`` (present through jupyter-events) to validate "iri"
    strings; that import builds a parser and dominates papermill's import time
    (measured 2.4-5.2 s with it, 1.1-1.7 s without, for papermill + nbconvert).
    The notebook schemas use no "format" keyword, so nothing here validates
    differently. Applied only to the ``qa-reports`` process and pool workers,
    never to a library user's process, and only before jsonschema is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _kernel_config() -> Any:
    """Kernel manager config: IPC transport with a unique socket path on POSIX."""
    from traitlets.config import Config

    if os.name != "posix":
        return Config()
    base = Path(tempfile.gettempdir()) / f"qa-kernel-{uuid.uuid4().hex[:20]}"
    _IPC_BASES.append(str(base))  # remembered for _worker_terminate (this process only)
    del _IPC_BASES[:-4]
    return Config({"KernelManager": {"transport": "ipc", "ip": str(base)}})


#: Socket path prefixes of the kernels this process started most recently.
_IPC_BASES: list[str] = []


def _register_engine() -> None:
    """Register papermill's nbclient engine, extended with the whole-notebook
    limit (:class:`_Watchdog`) and saving the notebook when it stops early on a
    time limit or a dead kernel (papermill saves only on cell errors).
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    if _ENGINE_NAME in papermill_engines._engines:
        return

    class SaveOnAbortEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            save_on_abort=None,
            notebook_timeout=None,
            kill_grace=5.0,
            **kwargs,
        ):
            # As NBClientEngine.execute_managed_notebook (papermill 2.7), keeping the
            # client so that the watchdog can reach its kernel.
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout or kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            watchdog = _Watchdog(notebook_timeout, kill_grace) if notebook_timeout else None
            if watchdog is not None:
                final_kwargs["on_notebook_start"] = watchdog.start
                final_kwargs["on_cell_start"] = watchdog.check
            try:
                client = PapermillNotebookClient(nb_man, **final_kwargs)
                if watchdog is not None:
                    watchdog.client = client
                try:
                    client.execute()
                finally:
                    if watchdog is not None:
                        watchdog.stop()
                if (
                    watchdog is not None
                    and watchdog.fired
                    and nb_man.nb.metadata.get("papermill", {}).get("exception")
                ):
                    # the interrupt stopped a cell (KeyboardInterrupt): a timeout
                    raise watchdog.error(nb_man.nb)
                return nb_man.nb
            except Exception as exc:
                err = exc
                if (
                    watchdog is not None
                    and watchdog.fired
                    and not isinstance(exc, NotebookTimeoutError)
                ):
                    err = watchdog.error(nb_man.nb)  # the kill made the kernel "die"
                if save_on_abort:
                    _save_aborted(nb_man.nb, err, save_on_abort)
                if err is exc:
                    raise
                raise err from exc

    papermill_engines.register(_ENGINE_NAME, SaveOnAbortEngine)


def _save_aborted(nb: Any, exc: BaseException, path: str) -> None:
    """Write a notebook that stopped early: the error on the last started cell and a
    banner on top (papermill writes neither for a timeout or a dead kernel).
    """
    from nbformat.v4 import new_markdown_cell, new_output
    from papermill.iorw import write_ipynb

    # papermill marks the aborted cell "completed" on its way out: it is the last
    # cell that was started.
    started = [c for c in nb.cells if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    msg = _first_line(exc) or type(exc).__name__
    if started:
        cell = started[-1]
        cell.metadata.papermill["status"] = "failed"
        cell.metadata.papermill["exception"] = True
        if cell.get("cell_type") == "code":
            cell.outputs.append(
                new_output(
                    "error",
                    ename=type(exc).__name__,
                    evalue=msg,
                    traceback=[f"{type(exc).__name__}: {msg}"],
                )
            )
    nb.metadata.setdefault("papermill", {})["exception"] = True
    # a banner like papermill's for cell errors (same tag, so a re-run of this output
    # notebook removes it)
    nb.cells.insert(
        0,
        new_markdown_cell(
            '<span style="color:red; font-size:1.5em;">This report stopped early: '
            f"{html.escape(type(exc).__name__)}: {html.escape(msg)}</span>",
            metadata={
                "tags": ["papermill-error-cell-tag"],
                "papermill": {
                    "status": "completed",
                    "exception": None,
                    "start_time": None,
                    "end_time": None,
                    "duration": None,
                },
            },
        ),
    )
    write_ipynb(nb, path)


class _Watchdog:
    """The whole-notebook time limit, enforced in the process running the notebook.

    The clock starts when the kernel is ready (nbclient's ``on_notebook_start``
    hook; start-up has its own ``start_timeout``). At the deadline a thread sends
    SIGINT to the kernel's process group, which stops a running cell with
    ``KeyboardInterrupt`` as Jupyter's "interrupt" does; if the kernel has not
    stopped ``grace`` seconds later (a cell that ignores SIGINT or sits in C
    code) it sends SIGKILL, and nbclient reports the dead kernel within a
    second. ``check`` (the ``on_cell_start`` hook) stops the notebook before any
    further cell once the deadline has passed, e.g. when the interrupt reached an
    idle kernel between two cells. The worker process itself is never signalled,
    so it goes on to its next notebook.
    """

    def __init__(self, limit: float, grace: float) -> None:
        self.limit = float(limit)
        self.grace = float(grace)
        self.client: Any = None
        self.deadline: float | None = None
        self.stopped_before: int | None = None
        self._fired = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def fired(self) -> bool:
        return self._fired.is_set()

    def start(self, **_: Any) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limit
            self._thread = threading.Thread(
                target=self._watch, name="qa-notebook-timeout", daemon=True
            )
            self._thread.start()

    def check(self, cell: Any = None, cell_index: int | None = None, **_: Any) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self._fired.set()
            self.stopped_before = cell_index
            raise NotebookTimeoutError(self._message(f"before cell {cell_index}"))

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def error(self, nb: Any) -> NotebookTimeoutError:
        if self.stopped_before is not None:
            return NotebookTimeoutError(self._message(f"before cell {self.stopped_before}"))
        started = [
            c for c in nb.cells if c.get("metadata", {}).get("papermill", {}).get("start_time")
        ]
        count = started[-1].get("execution_count") if started else None
        return NotebookTimeoutError(self._message(f"in cell In [{count}]" if count else ""))

    def _message(self, where: str) -> str:
        return f"timed out after {self.limit:g} s (whole-notebook limit)" + (
            f", stopped {where}" if where else ""
        )

    def _watch(self) -> None:
        assert self.deadline is not None
        if self._done.wait(max(0.0, self.deadline - time.monotonic())):
            return
        self._fired.set()
        self._signal(signal.SIGINT)
        if self._done.wait(self.grace):
            return
        self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    def _signal(self, signum: int) -> None:
        prov = getattr(getattr(self.client, "km", None), "provisioner", None)
        pgid, pid = getattr(prov, "pgid", None), getattr(prov, "pid", None)
        with contextlib.suppress(OSError):  # already gone
            if pgid and hasattr(os, "killpg"):
                os.killpg(pgid, signum)
            elif pid:
                os.kill(pid, signum)


_OFFLINE_TEMPLATE_NAME = "qa_offline.html.j2"
#: nbconvert's "lab" page without the blocks that load scripts from a CDN.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def render_html(ipynb: str | Path, html_path: str | Path, title: str | None = None) -> Path:
    """Render an executed notebook to one self-contained HTML file, without code.

    Uses nbconvert's ``HTMLExporter`` with ``exclude_input``,
    ``exclude_input_prompt`` and ``exclude_output_prompt``, and a
    ``TagRemovePreprocessor`` that drops cells tagged ``parameters``,
    ``injected-parameters`` or ``remove-cell`` and the outputs of cells tagged
    ``remove-output``. Figures are already base64 PNGs in the notebook, and
    the template's scripts that nbconvert loads from a CDN (require.js,
    MathJax, mermaid.js, the widget manager) are left out (see
    :data:`_OFFLINE_TEMPLATE`), so the page loads nothing from the network
    and reads the same offline or behind a proxy. The reports use no LaTeX
    math, mermaid diagrams or widgets, which are what those scripts render.
    Error outputs (tracebacks) are kept.
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = ("parameters", "injected-parameters", "remove-cell")
    c.TagRemovePreprocessor.remove_all_outputs_tags = ("remove-output",)
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    exporter = HTMLExporter(
        config=c,
        template_name="lab",
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
        template_file=_OFFLINE_TEMPLATE_NAME,
    )
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    nb = nbformat.read(str(ipynb), as_version=4)
    name = title or Path(ipynb).stem
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    return write_text_atomic(body, html_path)


# ---------------------------------------------------------------------------
# the batch
# ---------------------------------------------------------------------------
def default_workers() -> int:
    """Usable CPU cores (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_batch(
    regions: Sequence[str] | str = "all",
    *,
    period: str | None = None,
    out: str | Path = "outputs",
    params_dir: str | Path = "params",
    notebooks_dir: str | Path | None = None,
    workers: int | None = None,
    timeout: float | None = 900,
    cell_timeout: float | None = 600,
    start_timeout: float = 60,
    progress: bool | None = False,
    on_result: Callable[[NotebookResult], None] | None = None,
) -> RunResult:
    """Run a period's report batch: every region's notebooks, then the overview.

    Parameters
    ----------
    regions : "all" or sequence of str
        Region codes or params file stems (case-insensitive).
    period : str, optional
        ``YYYY-MM``; default ``period`` in ``params/defaults.yaml``.
    out : str or Path
        Outputs folder; the period lands in ``<out>/<period>/``.
    params_dir : str or Path
        The params folder (its parent is the project root and the kernels' cwd).
    notebooks_dir : str or Path, optional
        Default ``<project root>/notebooks``.
    workers : int, optional
        Parallel notebooks (processes); default the number of usable cores.
    timeout : float or None
        Whole-notebook limit: longest a notebook's cells may run in total, in
        seconds, counted from when its kernel is ready; None for no limit. At
        the limit the kernel is interrupted (then killed if it has not stopped
        5 s later) and the notebook is marked failed "timed out after N s",
        its partial output kept and rendered; the worker goes on.
    cell_timeout : float or None
        Longest a single cell may run, in seconds (papermill's
        ``execution_timeout``); None for no limit.
    start_timeout : float
        Longest a kernel may take to start, in seconds. A notebook thus takes
        at most about ``start_timeout + timeout + 5`` seconds.
    progress : bool or None
        tqdm progress bar, one tick per notebook (None: only on a terminal).
    on_result : callable, optional
        Called in the parent process with each :class:`NotebookResult` as it
        arrives.

    Returns
    -------
    RunResult
        Per-notebook status, error, durations and KPIs. Notebook failures do
        not raise: check ``result.ok`` / ``result.exit_code``.

    Raises
    ------
    ParamsError
        Bad parameters (see :func:`load_batch_params`), before anything runs.

    Notes
    -----
    Workers are started with the ``spawn`` method (``fork`` is unsafe with the
    threads and ZeroMQ sockets of Jupyter clients), so a script that calls
    this function must do so under ``if __name__ == "__main__":``.
    Wall time is about ``sum(notebook times) / workers`` plus the global
    overview plus worker start-up (1-3 s: a fresh interpreter importing
    pandas, papermill and nbconvert); see ``benchmarks/bench_batch.py``.
    """
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ParamsError(f"--workers must be at least 1, got {workers}")
    if timeout is not None and timeout <= 0:
        timeout = None
    if cell_timeout is not None and cell_timeout <= 0:
        cell_timeout = None
    bp = load_batch_params(
        regions, params_dir=params_dir, period=period, notebooks_dir=notebooks_dir
    )
    workers = min(workers, len(bp.regions) * len(REGIONAL_NOTEBOOKS))
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
    )
    bar = None
    tmp: Path | None = None
    try:
        for _ in range(workers):  # start every worker now (the pool starts them lazily)
            pool.submit(_noop)
        out = Path(out).resolve()
        out.mkdir(parents=True, exist_ok=True)
        _remove_stale_temp(out, bp.period)
        tmp = out / f".{bp.period}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        tasks = [
            _make_task(bp, nb, r, tmp, timeout, cell_timeout, start_timeout)
            for r in bp.regions
            for nb in REGIONAL_NOTEBOOKS
        ]
        gtask = _make_task(bp, GLOBAL_NOTEBOOK, None, tmp, timeout, cell_timeout, start_timeout)
        bar = _progress_bar(len(tasks) + 1, bp.period, progress)
        results: list[NotebookResult] = []
        futures: dict[Future[NotebookResult], _Task] = {pool.submit(_run_task, t): t for t in tasks}
        for fut in as_completed(futures):
            res = _result_of(fut, futures[fut])
            results.append(res)
            _tick(bar, res, on_result)
            done = [r for r in results if r.region == res.region]
            if res.region and len(done) == len(REGIONAL_NOTEBOOKS):
                _write_region_kpis(tmp / res.region.lower(), res.region, bp.period, done)
        res = _result_of(pool.submit(_run_task, gtask), gtask)
        results.append(res)
        _tick(bar, res, on_result)
        order = {(t.region, t.notebook): i for i, t in enumerate([*tasks, gtask])}
        results.sort(key=lambda r: order[(r.region, r.notebook)])
        result = RunResult(
            period=bp.period,
            out_dir=out / bp.period,
            results=tuple(results),
            wall_s=time.perf_counter() - t0,
            workers=workers,
            regions=bp.regions,
            started_at=started.isoformat(),
            pseudonym_key=pseudonym_key_source(),
        )
        write_index(result, tmp / "index.html")
        _write_run_json(result, tmp / "run.json")
        _swap_into_place(tmp, out / bp.period)
        write_periods_index(out)
    except BaseException:  # Ctrl-C, SIGTERM (via main_run), a bug: stop, leave no period
        _terminate_pool(pool)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    pool.shutdown(wait=True)
    return result


def _make_task(
    bp: BatchParams,
    notebook: str,
    region: str | None,
    tmp: Path,
    timeout: float | None,
    cell_timeout: float | None,
    start_timeout: float,
) -> _Task:
    rel = region.lower() if region else ""
    params = bp.for_notebook(notebook, region)
    keys = bp.notebook_keys[notebook]
    if "output_dir" in keys:
        params["output_dir"] = str(Path(tmp, rel))
    if region is None:
        if "regions" in keys:
            params["regions"] = list(bp.regions)
        if "reports_dir" in keys:
            params["reports_dir"] = str(tmp)
    title = f"{region + ' ' if region else ''}{notebook.replace('_', ' ')} {bp.period}"
    return _Task(
        notebook=notebook,
        region=region,
        input_path=str(bp.notebooks_dir / f"{notebook}.ipynb"),
        period_dir=str(tmp),
        rel_dir=rel,
        parameters=params,
        cwd=str(bp.root),
        timeout=timeout,
        cell_timeout=cell_timeout,
        start_timeout=start_timeout,
        title=title,
    )


def _noop() -> None:
    """A task that only makes the pool start a worker."""


def _result_of(fut: Future[NotebookResult], t: _Task) -> NotebookResult:
    try:
        return fut.result()
    except Exception as exc:  # the worker process itself died (BrokenProcessPool, ...)
        return NotebookResult(
            notebook=t.notebook,
            region=t.region,
            status="failed",
            duration_s=float("nan"),
            error=f"{type(exc).__name__}: {_first_line(exc)}",
        )


def _progress_bar(total: int, period: str, progress: bool | None) -> Any:
    if progress is False:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit="notebook",
        desc=f"reports {period}",
        disable=None if progress is None else False,
        file=sys.stderr,
    )


def _tick(
    bar: Any, res: NotebookResult, on_result: Callable[[NotebookResult], None] | None
) -> None:
    if bar is not None:
        bar.set_postfix_str(f"{res.label}: {res.status}", refresh=False)
        bar.update(1)
    if on_result is not None:
        on_result(res)


def _write_region_kpis(
    region_dir: Path, region: str, period: str, results: Iterable[NotebookResult]
) -> Path:
    """Merge the region's notebook KPI files into ``<region>/kpis.json``."""
    merged: dict[str, Any] = {"region": region, "period": period}
    status: dict[str, str] = {}
    errors: dict[str, str] = {}
    by_nb = {r.notebook: r for r in results}
    for nb in REGIONAL_NOTEBOOKS:
        r = by_nb.get(nb)
        merged[nb.split("_")[0]] = r.kpis if r is not None and r.ok else None
        status[nb] = r.status if r is not None else "missing"
        if r is not None and r.error:
            errors[nb] = r.error
    merged["status"] = status
    merged["errors"] = errors
    return write_kpis(merged, region_dir / REGION_KPI_FILE)


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp``; the old period is kept until the new one is in place."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_temp(out: Path, period: str) -> None:
    """Remove temporary folders of this period left by runs that were killed."""
    pat = re.compile(rf"^\.{re.escape(period)}\.(tmp|old)-(\d+)$")
    for p in out.iterdir():
        m = pat.match(p.name)
        if m and p.is_dir() and not _pid_alive(int(m.group(2))):
            shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover from an earlier process with our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def list_periods(out: str | Path = "outputs") -> list[str]:
    """Complete periods in an outputs folder (``YYYY-MM`` folders holding an index.html),
    oldest first. Temporary folders of running or killed batches are never listed.
    """
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(
        p.name
        for p in out.iterdir()
        if p.is_dir() and _PERIOD_RE.match(p.name) and (p / "index.html").is_file()
    )


def _write_run_json(result: RunResult, path: Path) -> Path:
    data = {
        "period": result.period,
        "started_at": result.started_at,
        "wall_s": result.wall_s,
        "workers": result.workers,
        "regions": list(result.regions),
        "ok": result.ok,
        "pseudonym_key": result.pseudonym_key,
        "notebooks": [
            {k: v for k, v in dataclasses.asdict(r).items() if k != "kpis"} for r in result.results
        ],
    }
    return write_kpis(data, path)


# ---------------------------------------------------------------------------
# index pages
# ---------------------------------------------------------------------------
_CSS = """
:root { --ok: #1a7f37; --bad: #c62828; --muted: #5f6b7a; --line: #e3e7ed; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933;
       margin: 0; background: #f6f8fa; }
main { max-width: 1100px; margin: 0 auto; padding: 32px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.summary { display: inline-block; padding: 6px 12px; border-radius: 6px; font-weight: 600; }
.summary.ok { background: #e6f4ea; color: var(--ok); }
.summary.failed { background: #fdecea; color: var(--bad); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line);
        border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-size: 13px; text-transform: uppercase; letter-spacing: .03em;
     color: var(--muted); }
tr:last-child td { border-bottom: none; }
a { color: #0b5cad; text-decoration: none; } a:hover { text-decoration: underline; }
.status { font-weight: 600; white-space: nowrap; }
.status.ok { color: var(--ok); } .status.failed { color: var(--bad); }
.error { color: var(--bad); font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px;
         margin-top: 4px; word-break: break-word; }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
dl.kpis { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 0; }
dl.kpis dt { color: var(--muted); } dl.kpis dd { margin: 0; font-variant-numeric: tabular-nums; }
.small { font-size: 13px; color: var(--muted); }
footer { margin-top: 32px; font-size: 13px; color: var(--muted); }
"""


def write_index(result: RunResult, path: str | Path) -> Path:
    """Write the period's ``index.html``: every report with status, duration,
    headline KPIs (the top-level scalar entries of its KPI file) and relative
    links to its HTML and notebook. A static, self-contained page.

    Each KPI value is rendered as ``<span data-kpi="name" data-value="json">``
    so scripts can read the exact value behind the rounded display; ``region``
    and ``period`` entries are left out (the row and the title say them) and an
    ``x_ci_low`` / ``x_ci_high`` pair is shown next to ``x``.
    """
    e = html.escape
    n_failed = len(result.failed)
    summary = (
        f'<span class="summary ok">All {len(result.results)} reports succeeded</span>'
        if n_failed == 0
        else f'<span class="summary failed">{n_failed} of {len(result.results)} reports '
        f"failed</span>"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>QA reports {e(result.period)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body><main>",
        f"<h1>Quality reports &middot; {e(result.period)}</h1>",
        f'<p class="meta">Generated {e(result.started_at.replace("T", " "))} '
        f"&middot; {len(result.regions)} region(s) &middot; {result.workers} worker(s)"
        f"{' &middot; wall time ' + _fmt_seconds(result.wall_s) if result.wall_s else ''}</p>",
        f"<p>{summary}</p>",
    ]
    glob = [r for r in result.results if r.region is None]
    if glob:
        parts.append("<h2>Global overview</h2>")
        parts.append(_table(glob, show_region=False))
    regional = [r for r in result.results if r.region is not None]
    if regional:
        parts.append("<h2>Regional reports</h2>")
        parts.append(_table(regional, show_region=True))
    key_note = (
        "agent and reviewer ids are pseudonymised with the key in QA_PSEUDONYM_KEY"
        if result.pseudonym_key == PSEUDONYM_ENV
        else "agent and reviewer ids are pseudonymised with the public demo key, which is "
        "used only for the bundled demo data (any other data needs QA_PSEUDONYM_KEY "
        "set, or its reports fail)"
    )
    parts.append(
        f"<footer>Reports where the pseudonymise parameter is on: {e(key_note)}. "
        f"Durations are notebook execution times including kernel start-up. "
        f"Made by qa-analysis.</footer>"
    )
    parts.append("</main></body></html>")
    return write_text_atomic("\n".join(parts) + "\n", path)


def _table(results: Sequence[NotebookResult], show_region: bool) -> str:
    e = html.escape
    head = (
        "<tr>"
        + ("<th>Region</th>" if show_region else "")
        + '<th>Report</th><th>Status</th><th class="num">Duration</th>'
        "<th>Headline KPIs</th></tr>"
    )
    rows = [f"<table>{head}"]
    for r in results:
        links = []
        if r.html:
            links.append(f'<a href="{e(_url(r.html))}">{e(r.notebook.replace("_", " "))}</a>')
        else:
            links.append(e(r.notebook.replace("_", " ")))
        extra = []
        if r.ipynb:
            extra.append(f'<a href="{e(_url(r.ipynb))}">notebook</a>')
        if r.notebook == "performance_report" and r.region and r.ok:
            extra.append(
                f'<a href="{e(_url(r.region.lower() + "/audit_plan.csv"))}">audit plan (CSV)</a>'
            )
        if r.region and r.ok:
            extra.append(f'<a href="{e(_url(r.region.lower() + "/kpis.json"))}">kpis.json</a>')
        cell = links[0] + (f'<div class="small">{" &middot; ".join(extra)}</div>' if extra else "")
        status = f'<span class="status {e(r.status)}">{"OK" if r.ok else "FAILED"}</span>'
        if r.error:
            status += f'<div class="error">{e(r.error)}</div>'
        rows.append(
            "<tr>"
            + (f"<td><strong>{e(r.region or '')}</strong></td>" if show_region else "")
            + f"<td>{cell}</td><td>{status}</td>"
            + f'<td class="num">{_fmt_seconds(r.duration_s)}</td>'
            + f"<td>{_kpi_list(r.kpis)}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _kpi_list(kpis: Mapping[str, Any] | None) -> str:
    """Headline KPIs: top-level scalars except ``region`` / ``period`` (the row says
    them); ``x_ci_low`` / ``x_ci_high`` are shown next to ``x``.
    """
    if not kpis:
        return '<span class="small">&ndash;</span>'
    e = html.escape

    def value(k: str, v: Any, like: str | None = None) -> str:
        return (
            f'<span data-kpi="{e(str(k))}" data-value="{e(json.dumps(v))}">'
            f"{e(_fmt_value(v, like or k))}</span>"
        )

    shown = {
        k: v for k, v in kpis.items() if not isinstance(v, dict | list) and k not in _INDEX_SKIP
    }
    items = []
    for k, v in shown.items():
        base = k[:-7] if k.endswith("_ci_low") else k[:-8] if k.endswith("_ci_high") else None
        if base in shown and f"{base}_ci_low" in shown and f"{base}_ci_high" in shown:
            continue  # shown next to its estimate
        text = value(k, v)
        lo, hi = f"{k}_ci_low", f"{k}_ci_high"
        if lo in shown and hi in shown:
            text += (
                f' <span class="small">(CI {value(lo, shown[lo], k)}&ndash;'
                f"{value(hi, shown[hi], k)})</span>"
            )
        items.append(f"<dt>{e(str(k).replace('_', ' '))}</dt><dd>{text}</dd>")
    if not items:
        return '<span class="small">&ndash;</span>'
    return '<dl class="kpis">' + "".join(items) + "</dl>"


_INDEX_SKIP = frozenset({"region", "period"})


def _fmt_value(v: Any, key: str = "") -> str:
    """Display text; a float named ``*rate`` / ``*share`` in [0, 1] as a percentage."""
    if isinstance(v, float) and key.endswith(("rate", "share")) and 0 <= v <= 1:
        return f"{v:.1%}"
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        if abs(v) >= 100:
            return f"{v:,.1f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.3f}"
    return str(v)


def _fmt_seconds(s: float) -> str:
    if s is None or not math.isfinite(s):
        return "&ndash;"
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def _url(rel: str) -> str:
    from urllib.parse import quote

    return quote(rel.replace(os.sep, "/"))


def write_periods_index(out: str | Path) -> Path:
    """Write ``<out>/index.html`` linking every complete period, newest first."""
    out = Path(out)
    e = html.escape
    items = "".join(
        f'<li><a href="{e(_url(p + "/index.html"))}">{e(p)}</a></li>'
        for p in reversed(list_periods(out))
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>QA reports</title><style>{_CSS}</style></head><body><main>"
        '<h1>Quality reports</h1><p class="meta">One page per month.</p>'
        f"<ul>{items}</ul></main></body></html>\n"
    )
    return write_text_atomic(page, out / "index.html")


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``qa-reports run`` options to ``parser``."""
    parser.add_argument(
        "--regions",
        nargs="+",
        default=["all"],
        metavar="REGION",
        help="region codes (eu na ...) or 'all' (default: every params/<region>.yaml)",
    )
    parser.add_argument(
        "--period",
        default=None,
        help="report month YYYY-MM (default: period in params/defaults.yaml)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"notebooks run in parallel (default: usable cores, {default_workers()})",
    )
    parser.add_argument("--out", default="outputs", help="outputs folder (default: outputs)")
    parser.add_argument(
        "--params",
        default="params",
        help="params folder; its parent is the project root (default: params)",
    )
    parser.add_argument(
        "--notebooks", default=None, help="notebooks folder (default: <project root>/notebooks)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="longest a whole notebook may run, seconds from its kernel being "
        "ready; then it is stopped and marked failed (default 900; 0 = none)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=600,
        help="longest a single notebook cell may run, seconds (default 600; 0 = none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def main_run(args: argparse.Namespace) -> int:
    """Run the batch from parsed arguments; return the exit code (0 ok, 1 a notebook
    failed, 2 bad parameters).
    """
    quiet = bool(getattr(args, "quiet", False))
    _skip_slow_optional_imports()  # this is the qa-reports process: ours

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # so run_batch stops its workers and removes its temp folder

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_sigterm) if in_main_thread else None
    try:
        regions = [x for r in args.regions for x in str(r).split(",") if x]  # "eu,na" too
        result = run_batch(
            regions,
            period=args.period,
            out=args.out,
            params_dir=args.params,
            notebooks_dir=getattr(args, "notebooks", None),
            workers=args.workers,
            timeout=args.timeout or None,
            cell_timeout=getattr(args, "cell_timeout", 600) or None,
            progress=False if quiet else None,
        )
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: no period was written (the previous one, if any, is unchanged)",
            file=sys.stderr,
        )
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    if not quiet:
        width = max(len(r.label) for r in result.results)
        for r in result.results:
            line = f"{r.label:<{width}}  {r.status:<6}  {r.duration_s:6.1f} s"
            print(line + (f"  {r.error}" if r.error else ""))
        total = sum(r.duration_s for r in result.results if math.isfinite(r.duration_s))
        print(
            f"{len(result.results) - len(result.failed)}/{len(result.results)} reports ok "
            f"in {result.wall_s:.1f} s wall ({total:.1f} s notebook time, "
            f"{result.workers} worker(s)) -> {result.out_dir / 'index.html'}"
        )
    for r in result.failed:
        print(f"error: {r.label} failed: {r.error}", file=sys.stderr)
    return result.exit_code


def _first_line(exc: BaseException | str) -> str:
    text = str(exc).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:300]
