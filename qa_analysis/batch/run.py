"""Running a period's batch: every region's notebooks in a process pool, then the overview.

One call, :func:`run_batch` (the ``qa-reports run`` command), produces a
period's reports::

    outputs/<period>/index.html                      leadership summary: KPIs vs target, findings
    outputs/<period>/summary.{md,html,pdf}           e-mail digest; the summary as PDF
    outputs/<period>/run.html                        run log: every report's status, duration, KPIs
    outputs/<period>/run.json                        the same, machine-readable
    outputs/<period>/global_overview.{ipynb,html,pdf}
    outputs/<period>/<region>/calibration_report.{ipynb,html,pdf}
    outputs/<period>/<region>/performance_report.{ipynb,html,pdf}
    outputs/<period>/<region>/audit_plan.csv         written by the performance notebook
    outputs/<period>/<region>/kpis.json              both notebooks' KPIs, merged
    outputs/history.parquet                          every period's headline KPIs (the summary's
                                                     month-over-month columns and sparklines)
    outputs/index.html                               links to every complete period

Outputs are built in ``outputs/.<period>.tmp-<pid>/`` and put in place only at
the end (:mod:`qa_analysis.batch.outputs`): each region of this run replaces
its own folder atomically, so re-running some regions (``--regions eu``) leaves
every other region's files as they are; a region whose run failed while the
period holds a good report of it keeps that report, marked ``STALE`` (its
``stale.json``, the index, ``run.json``) until a run of it succeeds. The global
overview, the index and ``run.json`` are rebuilt from every region the period
then holds. A killed or interrupted run leaves only a hidden temporary folder
(removed by the next run of that period) and the period as it was. Files the
batch did not write (not in its ``.qa-reports.json`` manifests) are never
overwritten: the run stops with an error naming them before anything runs.
Regions with no evaluations in the period fail at once with a message naming
the regions in the data (:mod:`qa_analysis.batch.preflight`).

PDFs (:mod:`qa_analysis.batch.pdf`, headless Chromium) are printed in threads
of the parent process while the notebooks run: a region's reports as soon as
both have succeeded (in its temporary folder, so they are swapped in with it),
the global overview's as soon as it is rendered, the summary's last. Without
Chromium the run goes on without PDFs and says so (``RunResult.warnings``,
``run.json``, the summary's footer); ``pdf=False`` (``--no-pdf``) skips them.
After the period is in place, ``history.parquet`` gets the period's rows
(rebuilt from every period folder when it is missing) and the leadership
summary (:mod:`qa_analysis.batch.summary`) is written from the period's KPI
files and the last 13 months of history.
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
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
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
from qa_analysis.batch.history import HISTORY_FILE, load_history, update_history
from qa_analysis.batch.index import list_periods, write_index, write_periods_index
from qa_analysis.batch.outputs import (
    FAILED_RUN_DIR,
    GLOBAL_STALE_FILE,
    STALE_FILE,
    Manifest,
    adopt_legacy,
    exchange_dirs,
    move_into,
    prepare_out,
    read_marker,
    region_folders,
    region_is_good,
)
from qa_analysis.batch.params import BatchParams, load_batch_params
from qa_analysis.batch.pdf import PdfError, PdfResult, pdf_name, print_pdf, require_chromium
from qa_analysis.batch.preflight import region_data_problems
from qa_analysis.batch.results import NotebookResult, RunResult
from qa_analysis.batch.summary import write_summary
from qa_analysis.errors import ParamsError
from qa_analysis.io import (
    GLOBAL_NOTEBOOK,
    KPI_FILES,
    OPTIONAL_KPI_FILES,
    REGION_KPI_FILE,
    REGION_KPI_KEYS,
    REGIONAL_NOTEBOOKS,
    read_kpis,
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
    pdf: bool = True,
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
    pdf : bool
        Print every successful report and the summary to PDF (headless
        Chromium). Without Chromium the run goes on and ``warnings`` says so.

    Returns
    -------
    RunResult
        Per-notebook status, error, durations and KPIs; ``warnings`` (PDFs
        not printed). Notebook failures do not raise: check ``result.ok`` /
        ``result.exit_code``.

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
    out = prepare_out(out)
    final = out / bp.period
    out_man, per_man = Manifest.load(out), Manifest.load(final)
    adopt_legacy(out_man, per_man, bp.period)
    _check_ownership(out_man, per_man, bp)  # before anything runs
    workers = min(workers, len(bp.regions) * len(REGIONAL_NOTEBOOKS))
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,
        initargs=(os.getpid(),),
    )
    bar = None
    tmp: Path | None = None
    limits = (timeout, cell_timeout, start_timeout)
    printer = _Printer(workers) if pdf else None
    try:
        for _ in range(workers):  # start every worker now (the pool starts them lazily)
            pool.submit(_noop)
        _remove_stale_temp(out, bp.period)
        tmp = out / f".{bp.period}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        no_data = region_data_problems(bp)  # regions whose data hold no evaluations
        tasks = [
            _make_task(bp, nb, r, tmp, *limits) for r in bp.regions for nb in REGIONAL_NOTEBOOKS
        ]
        bar = _progress_bar(len(tasks) + 1, bp.period, progress)
        results: list[NotebookResult] = []
        futures: dict[Future[NotebookResult], Task] = {}
        for t in tasks:
            if t.region in no_data:  # nothing to report on: fail without a kernel
                res = _no_data_result(t, no_data[t.region])
                results.append(res)
                _tick(bar, res, on_result)
            else:
                futures[pool.submit(run_task, t)] = t
        for r in no_data:
            _write_region_kpis(tmp / region_dir(r), r, bp.period, results)
        for fut in as_completed(futures):
            res = _result_of(fut, futures[fut])
            results.append(res)
            _tick(bar, res, on_result)
            done = [r for r in results if r.region == res.region]
            if res.region and len(done) == len(REGIONAL_NOTEBOOKS):
                _write_region_kpis(tmp / region_dir(res.region), res.region, bp.period, done)
                if printer is not None and all(r.ok for r in done):
                    printer.submit(tmp, [r.html for r in done])
        stale = _stale_regions(bp, results, final)
        # the global overview reads every region's KPI file as it will be after this run
        view = _period_view(bp, final, tmp, stale)
        gtask = _make_task(
            bp,
            GLOBAL_NOTEBOOK,
            None,
            tmp / ".global",
            *limits,
            regions=[code for _, code in view],
            reports_dir=tmp / ".view",
        )
        res = _result_of(pool.submit(run_task, gtask), gtask)
        _tick(bar, res, on_result)
        if printer is not None and res.ok:
            printer.submit(tmp / ".global", [res.html])
        global_stale = not res.ok and _global_is_good(final)
        results.append(res)
        order = {(t.region, t.notebook): i for i, t in enumerate([*tasks, gtask])}
        results.sort(key=lambda r: order[(r.region, r.notebook)])
        results = [_as_stale(r, final, stale, global_stale) for r in results]
        result = RunResult(
            period=bp.period,
            out_dir=final,
            results=tuple(results),
            wall_s=time.perf_counter() - t0,
            workers=workers,
            regions=bp.regions,
            started_at=started.isoformat(),
            pseudonym_key=pseudonym_key_source(),
            warnings=printer.warnings() if printer is not None else (),
        )
        _commit(result, bp, tmp, final, out_man, per_man, stale, global_stale)
        result = _finish_period(result, bp, final, out_man, per_man, printer)
    except BaseException:  # Ctrl-C, SIGTERM (via main_run), a bug: stop, leave no period
        terminate_pool(pool)
        if printer is not None:
            printer.close(cancel=True)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    if printer is not None:
        printer.close()
    pool.shutdown(wait=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def _check_ownership(out_man: Manifest, per_man: Manifest, bp: BatchParams) -> None:
    """Refuse, before anything runs, to write over anything the batch did not write."""
    out_man.check_file("index.html")
    out_man.check_file(HISTORY_FILE)
    out_man.check_folder(bp.period)
    if not (out_man.folder / bp.period).exists():
        return
    for name in _PERIOD_FILES:
        per_man.check_file(name)
    for r in bp.regions:
        per_man.check_folder(region_dir(r))


#: The summary page of a period, its digest files and its PDF.
_SUMMARY_FILES = ("index.html", "summary.md", "summary.html", "summary.pdf")
#: The period-level files the batch writes (the global overview's, the summary, the run log).
_PERIOD_FILES = (
    *_SUMMARY_FILES,
    "run.html",
    "run.json",
    GLOBAL_STALE_FILE,
    f"{GLOBAL_NOTEBOOK}.ipynb",
    f"{GLOBAL_NOTEBOOK}.html",
    f"{GLOBAL_NOTEBOOK}.pdf",
    KPI_FILES[GLOBAL_NOTEBOOK],
)


class _Printer:
    """PDFs printed in threads of the parent process while the batch goes on."""

    def __init__(self, workers: int) -> None:
        self.exe: Path | None = None
        self.missing: str | None = None
        try:
            self.exe = require_chromium()
        except PdfError as exc:
            self.missing = str(exc)
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="qa-pdf")
        self.futures: list[Future[PdfResult]] = []

    def submit(self, folder: Path, htmls: Iterable[str | None]) -> None:
        """Print each report (``folder``-relative HTML path) beside itself."""
        if self.exe is None:
            return
        for h in htmls:
            if h is not None:
                self.futures.append(self.pool.submit(print_pdf, folder / h, chromium=self.exe))

    def print_now(self, html: Path) -> PdfResult | None:
        """Print one file now (in this thread); None without Chromium."""
        return None if self.exe is None else print_pdf(html, chromium=self.exe)

    def warnings(self) -> tuple[str, ...]:
        """Wait for the PDFs submitted so far; one line per problem."""
        if self.missing is not None:
            return (f"PDFs not written: {self.missing}",)
        return tuple(
            f"PDF not written: {r.error}" for f in self.futures if not (r := f.result()).ok
        )

    def close(self, *, cancel: bool = False) -> None:
        """Stop the threads (after the PDFs in hand, unless ``cancel``)."""
        self.pool.shutdown(wait=True, cancel_futures=cancel)


def _no_data_result(t: Task, message: str) -> NotebookResult:
    return NotebookResult(
        notebook=t.notebook, region=t.region, status="failed", duration_s=0.0, error=message
    )


def _stale_regions(bp: BatchParams, results: Sequence[NotebookResult], final: Path) -> set[str]:
    """Regions of this run that failed while the period holds their last good report."""
    failed = {r.region for r in results if r.region and not r.ok}
    return {r for r in bp.regions if r in failed and region_is_good(final / region_dir(r))}


def _global_is_good(final: Path) -> bool:
    """True when the period holds a global overview whose last successful run it is."""
    try:
        run = read_kpis(final / "run.json")
    except (OSError, ValueError):
        return False
    for nb in run.get("notebooks", ()):
        if nb.get("region") is None and nb.get("notebook") == GLOBAL_NOTEBOOK:
            return nb.get("status") in ("ok", "stale") and (final / str(nb.get("html"))).is_file()
    return False


def _period_view(bp: BatchParams, final: Path, tmp: Path, stale: set[str]) -> list[tuple[str, str]]:
    """Every region the period will hold after this run, with its KPI file in ``tmp/.view``.

    Returns ``(folder, region)`` pairs: this run's regions (params order), then
    the period's other regions (by code).
    """
    ran = {region_dir(r): r for r in bp.regions}
    others = [(d, r) for d, r in region_folders(final) if d not in ran]
    pairs = [*ran.items(), *sorted(others, key=lambda x: x[1])]
    for d, r in pairs:
        src = final / d if (d not in ran or r in stale) else tmp / d
        if (src / REGION_KPI_FILE).is_file():
            (tmp / ".view" / d).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / REGION_KPI_FILE, tmp / ".view" / d / REGION_KPI_FILE)
    return pairs


def _as_stale(
    r: NotebookResult, final: Path, stale: set[str], global_stale: bool
) -> NotebookResult:
    """A failed result whose last good report is kept: status ``stale``, old links and KPIs."""
    if r.region is None and not global_stale:
        return r
    if r.region is not None and r.region not in stale:
        return r
    rel = Path(region_dir(r.region)) if r.region else Path()
    error = r.error or "not updated: another report of this region failed in this run"
    return dataclasses.replace(
        r,
        status="stale",
        error=error,
        ipynb=_rel_if_file(final, rel / f"{r.notebook}.ipynb"),
        html=_rel_if_file(final, rel / f"{r.notebook}.html"),
        kpis=_read_kpis_or_none(final / rel / KPI_FILES[r.notebook]),
    )


def _rel_if_file(base: Path, rel: Path) -> str | None:
    return str(rel) if (base / rel).is_file() else None


def _read_kpis_or_none(path: Path) -> dict[str, Any] | None:
    try:
        return read_kpis(path)
    except (OSError, ValueError):
        return None


def _commit(
    result: RunResult,
    bp: BatchParams,
    tmp: Path,
    final: Path,
    out_man: Manifest,
    per_man: Manifest,
    stale: set[str],
    global_stale: bool,
) -> None:
    """Put this run's outputs in place: region by region, then the period-level files."""
    final.mkdir(exist_ok=True)
    out_man.folders.add(bp.period)
    out_man.save()
    trash = tmp / ".old"
    trash.mkdir()
    for r in bp.regions:
        d = region_dir(r)
        if r in stale:  # keep the last good report; mark it, keep the failed attempt beside it
            exchange_dirs(tmp / d, final / d / FAILED_RUN_DIR, trash / f"{d}-failed")
            _write_marker(final / d / STALE_FILE, result, r, final / d / STALE_FILE)
        else:
            exchange_dirs(tmp / d, final / d, trash / d)
        per_man.folders.add(d)
        per_man.save()
    gdir = tmp / ".global"
    gpdf = f"{GLOBAL_NOTEBOOK}.pdf"
    if not global_stale and not (gdir / gpdf).is_file():
        _remove_owned(per_man, gpdf)  # an older overview's PDF, not this one's
    if global_stale:
        exchange_dirs(gdir, final / f"{GLOBAL_NOTEBOOK}_{FAILED_RUN_DIR}", trash / "global")
        per_man.folders.add(f"{GLOBAL_NOTEBOOK}_{FAILED_RUN_DIR}")
        _write_marker(final / GLOBAL_STALE_FILE, result, None, final / GLOBAL_STALE_FILE)
        per_man.files.add(GLOBAL_STALE_FILE)
    elif gdir.is_dir():
        names = [p.name for p in gdir.iterdir() if p.is_file()]
        for name in names:
            per_man.check_file(name)
        move_into(gdir, final, names)
        per_man.files.update(names)
        with contextlib.suppress(FileNotFoundError):
            (final / GLOBAL_STALE_FILE).unlink()
    view = _period_results(result, final)
    write_index(view, tmp / "run.html")
    _write_run_json(view, result, tmp / "run.json")
    move_into(tmp, final, ["run.json", "run.html"])
    per_man.files.update(["run.json", "run.html"])
    per_man.save()


def _remove_owned(man: Manifest, name: str) -> None:
    """Delete a file the batch wrote (and only such a file)."""
    if name in man.files:
        with contextlib.suppress(FileNotFoundError):
            (man.folder / name).unlink()
        man.files.discard(name)


def _finish_period(
    result: RunResult,
    bp: BatchParams,
    final: Path,
    out_man: Manifest,
    per_man: Manifest,
    printer: _Printer | None,
) -> RunResult:
    """History, the leadership summary (and its PDF), the periods index."""
    out = out_man.folder
    targets = bp.targets()
    update_history(out, bp.period, targets=targets)  # rebuilt from every period when lost
    out_man.files.add(HISTORY_FILE)
    out_man.save()
    history = load_history(out, months=13, until=bp.period)
    write_summary(final, history, amber_band=bp.amber_band, period=bp.period, targets=targets)
    per_man.files.update(_SUMMARY_FILES[:3])
    done = printer.print_now(final / "index.html") if printer is not None else None
    if done is not None and done.ok:
        per_man.files.add(pdf_name(final / "index.html").name)
    else:
        _remove_owned(per_man, "summary.pdf")  # an older summary's PDF
        if done is not None and printer is not None and printer.missing is None:
            result = dataclasses.replace(
                result, warnings=(*result.warnings, f"PDF not written: {done.error}")
            )
    per_man.save()
    write_periods_index(out)
    out_man.files.add("index.html")
    out_man.save()
    return result


def _write_marker(path: Path, result: RunResult, region: str | None, old: Path) -> None:
    """``stale.json``: this run failed; the report in place is the last good one."""
    previous = read_marker(old) or {}
    errors = {
        r.notebook: r.error for r in result.results if r.region == region and r.error is not None
    }
    folder = region_dir(region) + "/" if region else f"{GLOBAL_NOTEBOOK}_"
    write_kpis(
        {
            "region": region,
            "period": result.period,
            "stale_since": previous.get("stale_since", result.started_at),
            "failed_at": result.started_at,
            "errors": errors,
            "failed_run": f"{folder}{FAILED_RUN_DIR}",
            "note": "the last run of this report failed; the report here is the last good one",
        },
        path,
    )


def _period_results(result: RunResult, final: Path) -> RunResult:
    """The period as it now is: this run's reports plus every other region's last record."""
    ran = set(result.regions)
    old: dict[tuple[str | None, str], dict[str, Any]] = {}
    with contextlib.suppress(OSError, ValueError):
        for nb in read_kpis(final / "run.json").get("notebooks", ()):
            old[(nb.get("region"), str(nb.get("notebook")))] = nb
    carried: list[NotebookResult] = []
    regions = list(result.regions)
    for d, r in sorted(region_folders(final), key=lambda x: x[1]):
        if r in ran:
            continue
        regions.append(r)
        carried += [_carried(final, d, r, nb, old.get((r, nb))) for nb in REGIONAL_NOTEBOOKS]
    mine = [x for x in result.results if x.region is not None]
    glob = [x for x in result.results if x.region is None]
    return dataclasses.replace(result, results=(*mine, *carried, *glob), regions=tuple(regions))


def _carried(
    final: Path, d: str, region: str, notebook: str, entry: dict[str, Any] | None
) -> NotebookResult:
    """A region not run this time, as the period holds it (its last run.json record)."""
    kpi_file = final / d / REGION_KPI_FILE
    merged = _read_kpis_or_none(kpi_file) or {}
    status = (merged.get("status") or {}).get(notebook, "failed")
    error = (merged.get("errors") or {}).get(notebook)
    marker = read_marker(final / d / STALE_FILE)
    if marker is not None:
        status, error = (
            "stale",
            (marker.get("errors") or {}).get(notebook)
            or ("not updated: another report of this region failed in its last run"),
        )
    fields = {f.name for f in dataclasses.fields(NotebookResult)}
    base = {k: v for k, v in (entry or {}).items() if k in fields and k != "kpis"}
    base.update(notebook=notebook, region=region, status=status, error=error)
    for k in ("duration_s", "render_s", "started", "finished"):
        base[k] = float("nan") if base.get(k) is None else float(base[k])
    base.setdefault("duration_s", float("nan"))
    rel = Path(d)
    base["ipynb"] = _rel_if_file(final, rel / f"{notebook}.ipynb")
    base["html"] = _rel_if_file(final, rel / f"{notebook}.html")
    kpis = _read_kpis_or_none(final / d / KPI_FILES[notebook]) if status != "failed" else None
    return NotebookResult(**base, kpis=kpis)


def _make_task(
    bp: BatchParams,
    notebook: str,
    region: str | None,
    tmp: Path,
    timeout: float | None,
    cell_timeout: float | None,
    start_timeout: float,
    *,
    regions: Sequence[str] | None = None,
    reports_dir: Path | None = None,
) -> Task:
    rel = region_dir(region) if region else ""
    params = bp.for_notebook(notebook, region)
    keys = bp.notebook_keys[notebook]
    if "output_dir" in keys:
        params["output_dir"] = str(Path(tmp, rel))
    if region is None:
        if "regions" in keys:
            params["regions"] = list(bp.regions if regions is None else regions)
        if "reports_dir" in keys:
            params["reports_dir"] = str(tmp if reports_dir is None else reports_dir)
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


def _write_run_json(view: RunResult, result: RunResult, path: Path) -> Path:
    """``run.json``: the period as it now is (``notebooks``), and this run (``run``)."""
    data = {
        "period": view.period,
        "started_at": view.started_at,
        "wall_s": view.wall_s,
        "workers": view.workers,
        "regions": list(view.regions),
        "ok": view.ok,
        "pseudonym_key": view.pseudonym_key,
        "warnings": list(result.warnings),
        "run": {"regions": list(result.regions), "ok": result.ok},
        "notebooks": [
            {k: v for k, v in dataclasses.asdict(r).items() if k != "kpis"} for r in view.results
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
