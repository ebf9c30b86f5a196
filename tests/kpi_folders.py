"""Synthetic period folders with the real KPI file layout (tests of history and summary).

``<out>/<period>/<region>/kpis.json`` is the batch's merged region file
(``qa_analysis.io.REGION_KPI_KEYS``: ``calibration`` and ``performance``, as
``calibration_kpis`` and ``performance_kpis`` write them, with the intervals of
mean score and critical rate in ``detail``), ``<out>/<period>/global_kpis.json``
the overview's, and ``run.json`` the run log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa_analysis.io import (
    GLOBAL_NOTEBOOK,
    KPI_FILES,
    REGION_KPI_FILE,
    REGION_KPI_KEYS,
    REGIONAL_NOTEBOOKS,
    region_dir,
    write_kpis,
)


def performance(pass_rate: float, *, half_width: float = 0.03, **extra: Any) -> dict[str, Any]:
    """A performance report's KPIs (keys of ``performance_kpis``)."""
    out: dict[str, Any] = {
        "n_evaluations": 400,
        "n_agents": 40,
        "pass_rate": pass_rate,
        "pass_rate_ci_low": pass_rate - half_width,
        "pass_rate_ci_high": pass_rate + half_width,
        "mean_score": 100 * pass_rate,
        "critical_rate": 0.02,
        "audits_per_agent": 10.0,
        "targets": {"pass_rate": "met"},
        "detail": {
            "mean_score_ci_low": 100 * pass_rate - 2,
            "mean_score_ci_high": 100 * pass_rate + 2,
            "critical_rate_ci_low": 0.01,
            "critical_rate_ci_high": 0.03,
        },
    }
    out.update(extra)
    return out


def calibration(alpha: float = 0.75) -> dict[str, Any]:
    """A calibration report's KPIs (keys of ``calibration_kpis``)."""
    return {"n_sessions": 4, "n_tickets": 40, "n_raters": 6, "median_alpha": alpha, "detail": {}}


def write_region(
    period_dir: Path,
    region: str,
    *,
    perf: Mapping[str, Any] | None,
    cal: Mapping[str, Any] | None,
    **top: Any,
) -> Path:
    """``<period_dir>/<region>/kpis.json``; a None report counts as failed."""
    reports = dict(zip(REGIONAL_NOTEBOOKS, (cal, perf), strict=True))
    merged: dict[str, Any] = {"region": region, "period": period_dir.name}
    for nb, k in reports.items():
        merged[REGION_KPI_KEYS[nb]] = k
    merged["status"] = {nb: "ok" if k is not None else "failed" for nb, k in reports.items()}
    merged["errors"] = {nb: "boom" for nb, k in reports.items() if k is None}
    merged.update(top)
    return write_kpis(merged, period_dir / region_dir(region) / REGION_KPI_FILE)


def write_period(
    out: Path,
    period: str,
    pass_rates: Mapping[str, float],
    *,
    failed: Sequence[tuple[str | None, str]] = (),
    findings: Mapping[str, str] | None = None,
    run: bool = True,
) -> Path:
    """A whole period folder: each region's KPI file, the global KPIs, ``run.json``.

    ``failed`` lists (region or None, notebook) whose report failed (its KPIs None).
    """
    folder = out / period
    for region, pr in pass_rates.items():
        bad = {nb for r, nb in failed if r == region}
        extra = {"headline_finding": findings[region]} if findings and region in findings else {}
        write_region(
            folder,
            region,
            perf=None if "performance_report" in bad else performance(pr),
            cal=None if "calibration_report" in bad else calibration(),
            **extra,
        )
    write_kpis(
        {"period": period, "n_evaluations": 400 * len(pass_rates), "pass_rate": 0.85},
        folder / KPI_FILES[GLOBAL_NOTEBOOK],
    )
    if run:
        notebooks = [
            {
                "notebook": nb,
                "region": r,
                "status": "failed" if (r, nb) in set(failed) else "ok",
                "duration_s": 12.5,
                "render_s": 1.5,
                "error": "RuntimeError: boom" if (r, nb) in set(failed) else None,
            }
            for r in pass_rates
            for nb in REGIONAL_NOTEBOOKS
        ]
        write_kpis(
            {
                "period": period,
                "started_at": "2026-11-01T06:00:00+00:00",
                "wall_s": 80.0,
                "workers": 2,
                "regions": list(pass_rates),
                "ok": not failed,
                "notebooks": notebooks,
            },
            folder / "run.json",
        )
    return folder
