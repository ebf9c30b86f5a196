"""Running a period's batch: every region's notebooks in a process pool, then the overview.

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

The period is built in ``outputs/.<period>.tmp-<pid>/`` and renamed into place
only when complete; every file inside is written to a temporary file and
renamed. A killed run leaves only a hidden temporary folder (removed by the next
run of that period) and the previous complete period stays until the new one
replaces it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import multiprocessing
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from qa_analysis.batch.engine import (
    Task,
    default_workers,
    first_line,
    run_task,
    terminate_pool,
    worker_init,
)
from qa_analysis.batch.index import list_periods, write_index, write_periods_index
from qa_analysis.batch.params import BatchParams, load_batch_params
from qa_analysis.batch.results import NotebookResult, RunResult
from qa_analysis.errors import ParamsError
from qa_analysis.io import (
    GLOBAL_NOTEBOOK,
    KPI_FILES,
    OPTIONAL_KPI_FILES,
    REGION_KPI_FILE,
    REGION_KPI_KEYS,
    REGIONAL_NOTEBOOKS,
    region_dir,
    write_kpis,
)
from qa_analysis.privacy import pseudonym_key_source

__all__ = [
    "DEFAULT_CELL_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "list_periods",
    "run_batch",
    "sigterm_as_interrupt",
]

#: Whole-notebook limit, seconds from the kernel being ready (``qa-reports run --timeout``).
DEFAULT_TIMEOUT: float = 900
#: Per-cell limit, seconds (``qa-reports run --cell-timeout``).
DEFAULT_CELL_TIMEOUT: float = 600


def run_batch(
    regions: Sequence[str] | str = "all",
    *,
    period: str | None = None,
    out: str | Path = "outputs",
    params_dir: str | Path | None = None,
    notebooks_dir: str | Path | None = None,
    project: str | Path | None = None,
    workers: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    cell_timeout: float | None = DEFAULT_CELL_TIMEOUT,
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
    params_dir : str or Path, optional
        The params folder. Default ``<project>/params``, or the params packaged
        with qa_analysis when the project has none.
    notebooks_dir : str or Path, optional
        Default ``<project>/notebooks``, or the packaged report notebooks.
    project : str or Path, optional
        The project folder: relative ``data`` / ``scorecard`` paths are
        resolved against it and the kernels run in it. Default: the parent of
        ``params_dir`` when that is given, else the current folder.
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
        regions,
        params_dir=params_dir,
        period=period,
        notebooks_dir=notebooks_dir,
        project=project,
    )
    workers = min(workers, len(bp.regions) * len(REGIONAL_NOTEBOOKS))
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,
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
        futures: dict[Future[NotebookResult], Task] = {pool.submit(run_task, t): t for t in tasks}
        for fut in as_completed(futures):
            res = _result_of(fut, futures[fut])
            results.append(res)
            _tick(bar, res, on_result)
            done = [r for r in results if r.region == res.region]
            if res.region and len(done) == len(REGIONAL_NOTEBOOKS):
                _write_region_kpis(tmp / region_dir(res.region), res.region, bp.period, done)
        res = _result_of(pool.submit(run_task, gtask), gtask)
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
        terminate_pool(pool)
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
) -> Task:
    rel = region_dir(region) if region else ""
    params = bp.for_notebook(notebook, region)
    keys = bp.notebook_keys[notebook]
    if "output_dir" in keys:
        params["output_dir"] = str(Path(tmp, rel))
    if region is None:
        if "regions" in keys:
            params["regions"] = list(bp.regions)
        if "reports_dir" in keys:
            params["reports_dir"] = str(tmp)
    title = f"{region + ' ' if region else ''}{notebook.replace('_', ' ')} {bp.period}"  # display
    return Task(
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
        kpi_file=KPI_FILES[notebook],
        kpi_optional=KPI_FILES[notebook] in OPTIONAL_KPI_FILES,
    )


def _noop() -> None:
    """A task that only makes the pool start a worker."""


def _result_of(fut: Future[NotebookResult], t: Task) -> NotebookResult:
    try:
        return fut.result()
    except Exception as exc:  # the worker process itself died (BrokenProcessPool, ...)
        return NotebookResult(
            notebook=t.notebook,
            region=t.region,
            status="failed",
            duration_s=float("nan"),
            error=f"{type(exc).__name__}: {first_line(exc)}",
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
    folder: Path, region: str, period: str, results: Iterable[NotebookResult]
) -> Path:
    """Merge the region's notebook KPI files into ``<region>/kpis.json``."""
    merged: dict[str, Any] = {"region": region, "period": period}
    status: dict[str, str] = {}
    errors: dict[str, str] = {}
    by_nb = {r.notebook: r for r in results}
    for nb in REGIONAL_NOTEBOOKS:
        r = by_nb.get(nb)
        merged[REGION_KPI_KEYS[nb]] = r.kpis if r is not None and r.ok else None
        status[nb] = r.status if r is not None else "missing"
        if r is not None and r.error:
            errors[nb] = r.error
    merged["status"] = status
    merged["errors"] = errors
    return write_kpis(merged, folder / REGION_KPI_FILE)


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


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` (main thread only).

    :func:`run_batch` stops its workers and kernels and removes its temporary
    folder on ``KeyboardInterrupt``; this makes ``kill <pid>`` do the same as
    Ctrl-C. The previous handler is restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
