"""History across periods: each region's headline KPIs, month by month, in one Parquet file.

The batch appends a period to ``<out>/history.parquet`` after the period's
folder is in place (:func:`update_history`); the leadership summary reads the
last months back (:func:`load_history`) for its month-over-month and
year-over-year columns and its sparklines. The store is derived data: every
row comes from a period folder's KPI files, so :func:`rebuild_history`
recreates it from ``<out>/YYYY-MM/`` when it is lost or its layout changes.

One row per region x period x KPI (:data:`HISTORY_COLUMNS`)::

    region  period   kpi            value   ci_low  ci_high  target  status   scorecard_version  n
    EU      2026-10  pass_rate      0.871   0.842   0.896    0.85    met      2                  480

``region`` is the region code, or :data:`GLOBAL` for the global overview's
figures; ``status`` is the report's own verdict where the KPI file has one
(``performance.targets``), else missing; ``target`` is the target the region was
judged against (the ``targets`` argument, default ``params/defaults.yaml``).

Re-running a period replaces all of that period's rows (a region dropped from
the rerun disappears from it). Writes are atomic (temporary file, then
``os.replace``) and serialised by an advisory lock, so two batches for
different periods cannot lose each other's rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from qa_analysis import settings
from qa_analysis.io import GLOBAL_NOTEBOOK, KPI_FILES, REGION_KPI_FILE, read_kpis

__all__ = [
    "GLOBAL",
    "HISTORY_COLUMNS",
    "HISTORY_FILE",
    "HISTORY_KPIS",
    "load_history",
    "months_back",
    "period_rows",
    "rebuild_history",
    "targets_for",
    "update_history",
]

#: The history store, ``<out>/history.parquet``.
HISTORY_FILE = "history.parquet"
#: ``region`` of the global overview's rows.
GLOBAL = "GLOBAL"
#: Columns of the store, in order.
HISTORY_COLUMNS: tuple[str, ...] = (
    "region",
    "period",
    "kpi",
    "value",
    "ci_low",
    "ci_high",
    "target",
    "status",
    "scorecard_version",
    "n",
)

#: KPI -> (section of the region's ``kpis.json``, value key, count key). The
#: interval is read from ``<value key>_ci_low`` / ``_ci_high`` at the section's
#: top level or in its ``detail`` mapping. The global overview's
#: ``global_kpis.json`` is read with the same keys, flat.
HISTORY_KPIS: dict[str, tuple[str, str, str]] = {
    "pass_rate": ("performance", "pass_rate", "n_evaluations"),
    "mean_score": ("performance", "mean_score", "n_evaluations"),
    "critical_rate": ("performance", "critical_rate", "n_evaluations"),
    "alpha": ("calibration", "median_alpha", "n_tickets"),
    "audits_per_agent": ("performance", "audits_per_agent", "n_agents"),
}
#: Keys of ``global_kpis.json`` for the global row (KPI -> value key); a KPI
#: the overview does not write is missing, never derived here.
_GLOBAL_KEYS: dict[str, str] = {
    "pass_rate": "pass_rate",
    "mean_score": "mean_score",
    "critical_rate": "critical_rate",
    "alpha": "median_alpha",
    "audits_per_agent": "audits_per_agent",
}

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _get(section: Mapping[str, Any] | None, key: str) -> Any:
    """``section[key]``, else ``section["detail"][key]``, else None."""
    if not isinstance(section, Mapping):
        return None
    if section.get(key) is not None:
        return section[key]
    detail = section.get("detail")
    return detail.get(key) if isinstance(detail, Mapping) else None


def _num(x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return float("nan")
    return float(x)


def _empty() -> pd.DataFrame:
    return _typed(pd.DataFrame({c: [] for c in HISTORY_COLUMNS}))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    df = df.loc[:, list(HISTORY_COLUMNS)].copy()
    for c in ("region", "period", "kpi", "status", "scorecard_version"):
        df[c] = df[c].astype("string")
    for c in ("value", "ci_low", "ci_high", "target"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["n"] = pd.to_numeric(df["n"], errors="coerce").astype("Int64")
    return df.reset_index(drop=True)


def _check_period(period: str) -> str:
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise ValueError(f"period must be 'YYYY-MM', got {period!r}")
    return period


def period_rows(
    period_dir: str | Path,
    period: str | None = None,
    *,
    targets: Mapping[str, Mapping[str, Any]] | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The history rows of one period folder, from its KPI files.

    Parameters
    ----------
    period_dir : str or Path
        ``<out>/<period>``: every ``<region>/kpis.json`` in it and the global
        ``global_kpis.json`` are read; unreadable files are skipped.
    period : str, optional
        ``YYYY-MM``; default the folder's name.
    targets : mapping, optional
        Either KPI -> target for every region, or region code -> (KPI -> target);
        merged over the ``targets`` of ``params/defaults.yaml``.

    Returns
    -------
    DataFrame
        :data:`HISTORY_COLUMNS`, one row per region x KPI of :data:`HISTORY_KPIS`
        (a KPI the files lack has a missing value, so a failed report shows as
        missing, not absent), regions sorted, then ``GLOBAL`` when the overview
        wrote its KPI file.

    Examples
    --------
    >>> import tempfile
    >>> from qa_analysis.io import write_kpis
    >>> d = Path(tempfile.mkdtemp()) / "2026-10"
    >>> _ = write_kpis({"region": "EU", "performance": {"pass_rate": 0.9}}, d / "eu" / "kpis.json")
    >>> period_rows(d)[["region", "period", "kpi", "value"]].head(2)
      region   period        kpi  value
    0     EU  2026-10  pass_rate    0.9
    1     EU  2026-10  mean_score   NaN
    """
    folder = Path(period_dir)
    period = _check_period(period if period is not None else folder.name)
    files = sorted(folder.glob(f"*/{REGION_KPI_FILE}"))
    records: list[dict[str, Any]] = []
    for f in files:
        k = _read(f)
        if k is None:
            continue
        region = str(k.get("region") or f.parent.name.upper())
        records.extend(_region_records(k, region, period, targets_for(targets, region)))
    g = folder / KPI_FILES[GLOBAL_NOTEBOOK]
    gk = _read(g) if g.is_file() else None
    if gk is not None:
        records.extend(_global_records(gk, period, targets_for(targets, GLOBAL)))
    if not records:
        return _empty()
    return _typed(pd.DataFrame.from_records(records))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return read_kpis(path)
    except (OSError, ValueError):
        return None


def targets_for(targets: Mapping[str, Any] | None, region: str) -> dict[str, Any]:
    """The targets of one region: ``targets`` (flat, or per region) over ``params/defaults.yaml``.

    Examples
    --------
    >>> targets_for({"EU": {"pass_rate": 0.9}}, "EU")["pass_rate"]
    0.9
    >>> targets_for({"pass_rate": 0.8}, "NA")["pass_rate"]
    0.8
    """
    tg = dict(settings.targets())
    if targets:
        per_region = all(isinstance(v, Mapping) for v in targets.values())
        if per_region:
            tg.update(targets.get(region) or targets.get(region.lower()) or {})
        else:
            tg.update(targets)
    return tg


def _region_records(
    k: Mapping[str, Any], region: str, period: str, tg: Mapping[str, Any]
) -> list[dict[str, Any]]:
    perf = k.get("performance") if isinstance(k.get("performance"), Mapping) else None
    version = _get(perf, "scorecard_version") or k.get("scorecard_version")
    verdicts = _get(perf, "targets") or {}
    # audits per agent is judged against the audits due so far (the month's last tickets
    # are still being audited), as the performance report judges it
    due = _num(_get(perf, "audits_per_agent_target_due"))
    out = []
    for kpi, (section, key, n_key) in HISTORY_KPIS.items():
        sec = k.get(section) if isinstance(k.get(section), Mapping) else None
        st = verdicts.get(kpi) if isinstance(verdicts, Mapping) else None
        out.append(
            {
                "region": region,
                "period": period,
                "kpi": kpi,
                "value": _num(_get(sec, key)),
                "ci_low": _num(_get(sec, f"{key}_ci_low")),
                "ci_high": _num(_get(sec, f"{key}_ci_high")),
                "target": (
                    due if kpi == "audits_per_agent" and math.isfinite(due) else _num(tg.get(kpi))
                ),
                "status": st if isinstance(st, str) else None,
                "scorecard_version": None if version is None else str(version),
                "n": _get(sec, n_key) if isinstance(_get(sec, n_key), int) else None,
            }
        )
    return out


def _global_records(
    k: Mapping[str, Any], period: str, tg: Mapping[str, Any]
) -> list[dict[str, Any]]:
    version = k.get("scorecard_version")
    n = k.get("n_evaluations")
    return [
        {
            "region": GLOBAL,
            "period": period,
            "kpi": kpi,
            "value": _num(_get(k, key)),
            "ci_low": _num(_get(k, f"{key}_ci_low")),
            "ci_high": _num(_get(k, f"{key}_ci_high")),
            "target": _num(tg.get(kpi)),
            "status": None,
            "scorecard_version": None if version is None else str(version),
            "n": n if isinstance(n, int) and not isinstance(n, bool) else None,
        }
        for kpi, key in _GLOBAL_KEYS.items()
    ]


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An advisory lock on the outputs folder itself (no lock file is left behind)."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write(df: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        _typed(df).sort_values(["period", "region", "kpi"], kind="stable").to_parquet(
            tmp, index=False
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _read_store(path: Path) -> pd.DataFrame:
    return _typed(pd.read_parquet(path)) if path.is_file() else _empty()


def update_history(
    out_dir: str | Path,
    period: str,
    *,
    targets: Mapping[str, Any] | None = None,
) -> Path:
    """Add (or replace) one period's rows in ``<out_dir>/history.parquet``.

    Parameters
    ----------
    out_dir : str or Path
        The outputs folder holding ``<period>/``.
    period : str
        ``YYYY-MM``; its folder must exist.
    targets : mapping, optional
        As in :func:`period_rows`.

    Returns
    -------
    Path
        The store. When the store is missing it is first rebuilt from every
        period folder, so a lost file heals on the next run.

    Raises
    ------
    FileNotFoundError
        ``<out_dir>/<period>/`` does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from qa_analysis.io import write_kpis
    >>> out = Path(tempfile.mkdtemp())
    >>> _ = write_kpis({"region": "EU", "performance": {"pass_rate": 0.9}},
    ...                out / "2026-10" / "eu" / "kpis.json")
    >>> update_history(out, "2026-10").name
    'history.parquet'
    >>> load_history(out)["period"].unique().tolist()
    ['2026-10']
    """
    out = Path(out_dir)
    folder = out / _check_period(period)
    if not folder.is_dir():
        raise FileNotFoundError(f"no period folder {folder}")
    path = out / HISTORY_FILE
    with _locked(out):
        if not path.is_file():
            return _write(_rebuild_rows(out, targets), path)
        old = _read_store(path)
        new = period_rows(folder, period, targets=targets)
        keep = old.loc[old["period"] != period]
        both = [d for d in (keep, new) if len(d)]
        return _write(pd.concat(both, ignore_index=True) if both else _empty(), path)


def _period_folders(out: Path) -> list[Path]:
    if not out.is_dir():
        return []
    return sorted(p for p in out.iterdir() if p.is_dir() and _PERIOD.match(p.name))


def _rebuild_rows(out: Path, targets: Mapping[str, Any] | None) -> pd.DataFrame:
    parts = [period_rows(p, targets=targets) for p in _period_folders(out)]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def rebuild_history(out_dir: str | Path, *, targets: Mapping[str, Any] | None = None) -> Path:
    """Recreate ``<out_dir>/history.parquet`` from every ``YYYY-MM`` period folder.

    Targets are those given (default ``params/defaults.yaml``), not the ones in
    force at the time: pass ``targets`` when they changed.
    """
    out = Path(out_dir)
    with _locked(out):
        return _write(_rebuild_rows(out, targets), out / HISTORY_FILE)


def load_history(
    out_dir: str | Path,
    months: int | None = 12,
    *,
    until: str | None = None,
    regions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The history of the last ``months`` periods (one Parquet read, filtered in Arrow).

    Parameters
    ----------
    out_dir : str or Path
        The outputs folder. A missing store is rebuilt from the period folders
        first (nothing is written when there are none).
    months : int or None
        Calendar months ending at ``until``, inclusive; None for all.
    until : str, optional
        Last period ``YYYY-MM``; default the latest period in the store.
    regions : sequence of str, optional
        Keep only these region codes (and ``GLOBAL`` if listed).

    Returns
    -------
    DataFrame
        :data:`HISTORY_COLUMNS`, sorted by period, region, KPI; empty (with
        the columns) when there is no history.
    """
    out = Path(out_dir)
    path = out / HISTORY_FILE
    if not path.is_file():
        if not _period_folders(out):
            return _empty()
        rebuild_history(out)
    if months is not None and (isinstance(months, bool) or months < 1):
        raise ValueError(f"months must be a positive integer or None, got {months!r}")
    filters: list[tuple[str, str, Any]] = []
    if until is not None:
        filters.append(("period", "<=", _check_period(until)))
    if regions is not None:
        filters.append(("region", "in", [str(r) for r in regions]))
    df = _typed(pd.read_parquet(path, filters=filters or None))
    if months is not None and len(df):
        last = pd.Period(until or str(df["period"].max()), freq="M")
        first = str(last - (months - 1))
        df = df.loc[df["period"].to_numpy(dtype=object) >= first]
    return df.sort_values(["period", "region", "kpi"], kind="stable").reset_index(drop=True)


def months_back(period: str, k: int) -> str:
    """The period ``k`` months before ``period`` (``YYYY-MM``).

    Examples
    --------
    >>> months_back("2026-01", 1), months_back("2026-10", 12)
    ('2025-12', '2025-10')
    """
    return str(pd.Period(_check_period(period), freq="M") - k)
