"""Executing one notebook: papermill in a pool worker, kernel config, the time limits.

:func:`run_task` runs one notebook with papermill in a fresh kernel, renders it
(:func:`qa_analysis.batch.render.render_html`) and reads its KPI file; it never
raises, so one failing notebook never stops the others. A failing cell, a cell
over the per-cell limit, a notebook over the whole-notebook limit
(:class:`Watchdog`), a dead kernel or any other error becomes a one-line
error on its :class:`~qa_analysis.batch.results.NotebookResult`; the executed
notebook (with the traceback) is kept and rendered.

Kernels talk to papermill over Unix-domain sockets (IPC transport) on POSIX,
which avoids TCP port races between parallel kernels and keeps the traffic off
the network; on other systems the default TCP transport is used.
"""

from __future__ import annotations

import contextlib
import html
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_analysis.batch.render import render_html
from qa_analysis.batch.results import NotebookResult
from qa_analysis.io import read_kpis

__all__ = [
    "NotebookTimeoutError",
    "Task",
    "Watchdog",
    "default_workers",
    "first_line",
    "run_task",
    "skip_slow_optional_imports",
]

ENGINE_NAME = "qa_analysis"


class NotebookTimeoutError(RuntimeError):
    """A notebook's cells ran longer, in total, than the whole-notebook limit."""


def first_line(exc: BaseException | str) -> str:
    """The first non-blank line of an error message, at most 300 characters."""
    text = str(exc).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:300]


def default_workers() -> int:
    """Usable CPU cores (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Task:
    """One notebook to run: where it is, where it goes, its parameters and limits."""

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
    kpi_file: str | None = None  # the KPI file the notebook writes (io.KPI_FILES); None: none
    kpi_optional: bool = False  # a missing KPI file is not a failure

    @property
    def out_dir(self) -> Path:
        """The folder the notebook's outputs go to."""
        return Path(self.period_dir, self.rel_dir)


def run_task(task: Task) -> NotebookResult:
    """Execute one notebook with papermill, render it, read its KPIs. Never raises."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    register_engine()
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
            engine_name=ENGINE_NAME,
            kernel_name=task.kernel_name,
            progress_bar=False,
            request_save_on_cell_execute=False,
            start_timeout=task.start_timeout,
            execution_timeout=task.cell_timeout,
            shutdown_kernel="immediate",
            config=kernel_config(),
            save_on_abort=str(ipynb),
            notebook_timeout=task.timeout,
            kill_grace=task.kill_grace,
        )
    except NotebookTimeoutError as exc:
        error = f"NotebookTimeoutError: {first_line(exc)}"
    except PapermillExecutionError as exc:
        evalue = first_line(exc.evalue) if exc.evalue else ""
        error = f"{exc.ename}: {evalue} (cell In [{exc.exec_count}])" if evalue else exc.ename
    except CellTimeoutError:
        error = (
            f"CellTimeoutError: a cell ran longer than the {task.cell_timeout:g} s per-cell limit"
        )
    except DeadKernelError as exc:
        error = f"DeadKernelError: the kernel died ({first_line(exc)})"
    except Exception as exc:  # kernel start-up, I/O, anything else: isolate this notebook
        error = f"{type(exc).__name__}: {first_line(exc)}"
    duration = time.perf_counter() - t0

    html_rel: str | None = None
    t1 = time.perf_counter()
    if ipynb.is_file():
        try:
            render_html(ipynb, html_path, title=task.title)
            html_rel = str(rel / html_path.name)
        except Exception as exc:
            error = error or f"HTML rendering failed: {type(exc).__name__}: {first_line(exc)}"
    elif error is None:
        error = "papermill wrote no output notebook"
    render_s = time.perf_counter() - t1

    kpis: dict[str, Any] | None = None
    kpi_name = task.kpi_file
    if error is None and kpi_name is not None:
        kpi_path = out_dir / kpi_name
        if kpi_path.is_file():
            try:
                kpis = read_kpis(kpi_path)
            except Exception as exc:
                error = f"{kpi_name} unreadable: {type(exc).__name__}: {first_line(exc)}"
        elif not task.kpi_optional:
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


def worker_init(parent_pid: int | None = None) -> None:
    """Set up a pool worker process and import what every task needs.

    The process is ours alone, so process-wide changes are safe. With
    ``parent_pid`` (the batch process), the worker dies with its parent even
    when the parent is killed with ``kill -9``: on Linux the kernel sends it
    SIGTERM when the parent exits (``prctl(PR_SET_PDEATHSIG)``), and everywhere
    a watcher thread notices the parent is gone within a second. Either way the
    worker kills its notebook kernels first (they run in their own session and
    would otherwise keep running).
    """
    # The kernel inherits this worker's environment. A non-interactive backend such as
    # MPLBACKEND=Agg (common in test and CI set-ups) makes figures vanish from the
    # executed notebook, so the kernel keeps its default inline backend.
    os.environ.pop("MPLBACKEND", None)
    # Ctrl-C reaches every process of the terminal's process group: the parent
    # handles it and stops the workers with SIGTERM (see terminate_pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_terminate)
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    skip_slow_optional_imports()
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    register_engine()


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker (and its kernels) end when process ``parent_pid`` ends."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # best effort: the watcher below is the fallback
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        _kill_kernels_and_exit(signal.SIGTERM)
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="qa-parent-watch", daemon=True
    ).start()


def _watch_parent(parent_pid: int, interval: float = 1.0) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid:  # re-parented: the batch process is gone
            _kill_kernels_and_exit(signal.SIGTERM)


def _worker_terminate(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: kill the kernels it started, then exit at once."""
    _kill_kernels_and_exit(signum)


def _kill_kernels_and_exit(signum: int) -> None:
    """Kill this worker's kernels (and their children), remove their sockets, exit.

    Kernels run in their own session (jupyter_client starts them so), so they
    would outlive a killed worker; psutil (an ipykernel dependency) finds them.
    """
    try:
        import psutil
    except ImportError:  # pragma: no cover
        psutil = None
    leftovers: list[str] = []
    if psutil is not None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process().children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    cmd = child.cmdline()
                    if "-f" in cmd[:-1]:  # the kernel's connection file
                        leftovers.append(cmd[cmd.index("-f") + 1])
                    child.kill()
    # the killed kernels' IPC socket files (see kernel_config)
    leftovers += [
        str(p) for base in _IPC_BASES for p in Path(base).parent.glob(f"{Path(base).name}-*")
    ]
    for f in leftovers:
        with contextlib.suppress(OSError):
            os.unlink(f)
    os._exit(128 + signum)


def terminate_pool(pool: ProcessPoolExecutor) -> None:
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


def skip_slow_optional_imports() -> None:
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


def kernel_config() -> Any:
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


def register_engine() -> None:
    """Register papermill's nbclient engine with the batch's extensions.

    It adds the whole-notebook limit (:class:`Watchdog`) and saves the notebook
    when it stops early on a time limit or a dead kernel (papermill saves only
    on cell errors).
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    if ENGINE_NAME in papermill_engines._engines:
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
            watchdog = Watchdog(notebook_timeout, kill_grace) if notebook_timeout else None
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

    papermill_engines.register(ENGINE_NAME, SaveOnAbortEngine)


def _save_aborted(nb: Any, exc: BaseException, path: str) -> None:
    """Write a notebook that stopped early.

    The error goes on the last started cell and a banner on top (papermill
    writes neither for a timeout or a dead kernel).
    """
    from nbformat.v4 import new_markdown_cell, new_output
    from papermill.iorw import write_ipynb

    # papermill marks the aborted cell "completed" on its way out: it is the last
    # cell that was started.
    started = [c for c in nb.cells if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    msg = first_line(exc) or type(exc).__name__
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


class Watchdog:
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
        """True once the deadline has passed and the watchdog acted."""
        return self._fired.is_set()

    def start(self, **_: Any) -> None:
        """Start the clock (nbclient's ``on_notebook_start`` hook)."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limit
            self._thread = threading.Thread(
                target=self._watch, name="qa-notebook-timeout", daemon=True
            )
            self._thread.start()

    def check(self, cell: Any = None, cell_index: int | None = None, **_: Any) -> None:
        """Refuse the next cell once the deadline has passed (``on_cell_start`` hook)."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self._fired.set()
            self.stopped_before = cell_index
            raise NotebookTimeoutError(self._message(f"before cell {cell_index}"))

    def stop(self) -> None:
        """Stop watching (the notebook ended)."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def error(self, nb: Any) -> NotebookTimeoutError:
        """The timeout error, naming where the notebook was stopped."""
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
