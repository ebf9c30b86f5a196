"""Results of a batch: one :class:`NotebookResult` per notebook, one :class:`RunResult` per run."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = ["NotebookResult", "RunResult"]


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
        ``"ok"``, ``"failed"``, or ``"stale"``: this run of the notebook failed (or
        another report of its region did) and the period keeps the region's
        last good report; ``html``, ``ipynb`` and ``kpis`` are then that
        report's and ``error`` is this run's.
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
    status: Literal["ok", "failed", "stale"]
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
    ``warnings`` are problems that do not fail the run (PDFs not printed).
    """

    period: str
    out_dir: Path
    results: tuple[NotebookResult, ...]
    wall_s: float
    workers: int
    regions: tuple[str, ...] = ()
    started_at: str = ""
    pseudonym_key: str = "demo"
    warnings: tuple[str, ...] = ()

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

    def summary(self) -> str:
        """The run as text: one line per notebook, then a totals line.

        Each line gives the label, status and execution time, and the one-line
        error of a failed notebook; the last line counts the successes and
        names the period's index page.
        """
        width = max((len(r.label) for r in self.results), default=0)
        lines = []
        for r in self.results:
            line = f"{r.label:<{width}}  {r.status:<6}  {r.duration_s:6.1f} s"
            lines.append(line + (f"  {r.error}" if r.error else ""))
        total = sum(r.duration_s for r in self.results if math.isfinite(r.duration_s))
        lines.append(
            f"{len(self.results) - len(self.failed)}/{len(self.results)} reports ok "
            f"in {self.wall_s:.1f} s wall ({total:.1f} s notebook time, "
            f"{self.workers} worker(s)) -> {self.out_dir / 'index.html'}"
        )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)
