"""Checks on a batch's data before any notebook runs: is there anything to report on.

A region code that matches no row of the data (``Eu`` or ``eu `` for ``EU``)
or a period with no evaluations would otherwise give reports that run without
error on an empty table. :func:`region_data_problems` finds such regions; the
batch marks their reports failed with the message, without starting a kernel.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

from qa_analysis import io
from qa_analysis.batch.params import BatchParams

__all__ = ["region_data_problems"]


def region_data_problems(bp: BatchParams) -> dict[str, str]:
    """Regions of the batch whose data hold no evaluation in the period, with the reason.

    The evaluations table of each region's ``data`` is read once per source for
    the report month. A source that cannot be read is not judged here: the
    notebooks report its error themselves.

    Returns
    -------
    dict
        ``{region: message}``, e.g. ``"no evaluations for region 'Eu' in
        2026-10; regions in the data: EU, NA"``.
    """
    month = pd.Period(bp.period, freq="M")
    start, end = month.start_time.normalize(), month.end_time.normalize()
    cache: dict[str, tuple[str, set[str]] | None] = {}
    problems: dict[str, str] = {}
    for region in bp.regions:
        data = bp.region_params[region].get("data")
        if not isinstance(data, str | Path):
            continue
        src = _evaluations_source(Path(bp.root, data))
        if src not in cache:
            cache[src] = _regions_in(src, start, end)
        found = cache[src]
        if found is None:
            continue
        label, in_month = found
        if region in in_month:
            continue
        in_data = _all_regions(src)
        if not in_month:
            problems[region] = (
                f"no evaluations in {bp.period} in {label} (nothing to report for region "
                f"{region!r}); regions in the data: {_names(in_data)}"
            )
        else:
            problems[region] = (
                f"no evaluations for region {region!r} in {bp.period}; regions in the data: "
                f"{_names(in_data | in_month)} (region codes match exactly: case and spaces count)"
            )
    return problems


def _evaluations_source(path: Path) -> str:
    """The evaluations source of a data path (as ``report.data.data_source``)."""
    if path.is_dir():
        for ext in (".parquet", ".csv"):
            if (path / f"evaluations{ext}").exists():
                return str(path / f"evaluations{ext}")
        return str(path / "evaluations.parquet")
    return str(path)


def _regions_in(src: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[str, set[str]] | None:
    """(label, regions with evaluations in the month), or None when unreadable."""
    with contextlib.suppress(Exception):  # any problem: the notebook reports it
        month = io.load_evaluations(src, start=start, end=end)
        return str(month.attrs.get("source", src)), set(month["region"].dropna().astype(str))
    return None


def _all_regions(src: str) -> set[str]:
    """Regions with evaluations in any month (only read when a region is missing)."""
    with contextlib.suppress(Exception):
        return set(io.load_evaluations(src)["region"].dropna().astype(str))
    return set()


def _names(regions: set[str]) -> str:
    return ", ".join(sorted(regions)) or "none"
