"""History across periods in the global overview: each KPI per region, month by month, and its steps.

* :func:`overview_history` reads the store next to the period folder
  (``<reports_dir>/../history.parquet``, :mod:`qa_analysis.batch.history`)
  when it exists, else returns an empty table ("no history yet");
* :func:`history_section` puts every region x KPI on the same calendar of
  months (a month without data is a missing value, never zero) and runs the
  change-point method (:func:`qa_analysis.trends.change_points`) on each
  region's monthly series;
* :func:`history_markdown` says, one sentence per region x KPI with a step,
  where the level stepped and from what to what, and names plainly the series
  with no step; :func:`history_display` is the month-by-month table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import trends as tr
from qa_analysis.batch.history import GLOBAL, HISTORY_COLUMNS, HISTORY_FILE, load_history
from qa_analysis.escaping import md_escape
from qa_analysis.report.formatting import KPI_LABELS, ShortRepr, fmt, is_finite

__all__ = [
    "HistorySection",
    "history_display",
    "history_markdown",
    "history_section",
    "overview_history",
]

#: KPIs read as proportions of the audits behind them (binomial cost when ``n`` is known).
_PROPORTIONS = ("pass_rate", "critical_rate")
#: Fewest months with a value before a series is searched for steps.
_MIN_MONTHS = 4

_STEP_COLS = ["region", "kpi", "period", "before", "after", "p_value"]
_SERIES_COLS = ["region", "kpi", "n_months", "shape", "steps", "p_value", "sentence"]


def overview_history(
    reports_dir: str | Path, period: str | None = None, months: int = 12
) -> pd.DataFrame:
    """The history the global overview shows: the last ``months`` up to ``period``.

    The store is ``<reports_dir>/../history.parquet`` (the batch gives the
    overview its period folder as ``reports_dir``). Without the file the
    result is empty (nothing is rebuilt or written from a report).

    Examples
    --------
    >>> import tempfile
    >>> len(overview_history(Path(tempfile.mkdtemp()) / "2026-10", "2026-10"))
    0
    """
    out = Path(reports_dir).resolve().parent
    if not (out / HISTORY_FILE).is_file():
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    return load_history(out, months, until=period)


@dataclass(frozen=True, repr=False)
class HistorySection(ShortRepr):
    """Each region's KPIs over the months, and the steps in each series.

    ``table``: ``region, kpi, label, period, value, ci_low, ci_high, target,
    status, n``, one row per region x KPI x month of ``months`` (a month
    without data has missing values). ``series``: one row per region x KPI,
    ``n_months`` (months with a value), ``shape`` (:attr:`ChangePoints.shape
    <qa_analysis.trends.ChangePoints>`, or ``"too short"``), ``steps`` (the
    months a new level starts, comma-separated, empty for none), ``p_value``
    (the global change-point test) and ``sentence``. ``steps``: one row per
    accepted step, ``region, kpi, period, before, after, p_value`` (Holm-
    adjusted local test).
    """

    table: pd.DataFrame
    series: pd.DataFrame
    steps: pd.DataFrame
    months: tuple[str, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        """No history at all."""
        return len(self.months) == 0

    @property
    def sentences(self) -> list[str]:
        """One sentence per region x KPI with a step."""
        s = self.series
        return s.loc[s["steps"] != "", "sentence"].tolist() if len(s) else []


def _value(kpi: str, x: Any) -> str:
    if kpi in _PROPORTIONS:
        return fmt(x, 1, pct=True)
    return fmt(x, 2 if kpi == "alpha" else 1)


def _label(kpi: str) -> str:
    return KPI_LABELS.get(kpi, kpi.replace("_", " ")).lower()


def _region_order(regions: Sequence[str]) -> list[str]:
    rs = sorted({str(r) for r in regions if str(r) != GLOBAL})
    return rs + ([GLOBAL] if GLOBAL in set(map(str, regions)) else [])


def _changes(
    region: str,
    kpi: str,
    d: pd.DataFrame,
    *,
    confidence: float,
    n_boot: int | None,
    seed: int | np.random.Generator | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = pd.Series(d["value"].to_numpy(dtype=float), index=d["period"].astype(str))
    n = pd.to_numeric(d["n"], errors="coerce").to_numpy(dtype=float)
    have = np.isfinite(values.to_numpy())
    what = f"{md_escape(region)} {_label(kpi)}"
    row: dict[str, Any] = {
        "region": region,
        "kpi": kpi,
        "n_months": int(have.sum()),
        "shape": "too short",
        "steps": "",
        "p_value": float("nan"),
    }
    if have.sum() < _MIN_MONTHS:
        row["sentence"] = (
            f"{what}: no step can be told apart from noise with {int(have.sum())} month(s) of data."
        )
        return row, []
    proportion = kpi in _PROPORTIONS and bool(np.all(np.isfinite(n[have]) & (n[have] > 0)))
    cp = tr.change_points(
        values,
        n=np.where(np.isfinite(n), n, 0.0) if proportion else None,
        kind="proportion" if proportion else "mean",
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
    )
    row["shape"] = cp.shape
    row["p_value"] = float(cp.p_global)
    seg = cp.segments
    steps: list[dict[str, Any]] = [
        {
            "region": region,
            "kpi": kpi,
            "period": str(lab),
            "before": float(seg["level"].iloc[i]),
            "after": float(seg["level"].iloc[i + 1]),
            "p_value": float(p),
        }
        for i, (lab, p) in enumerate(zip(cp.labels, cp.p_values, strict=True))
    ]
    if steps:
        row["steps"] = ", ".join(s["period"] for s in steps)
        parts = [
            f"{'down' if s['after'] < s['before'] else 'up'} from {_value(kpi, s['before'])} to "
            f"{_value(kpi, s['after'])} in {s['period']} (p = {s['p_value']:.2g})"
            for s in steps
        ]
        row["sentence"] = (
            f"**{what}** stepped " + ", then ".join(parts) + " and stayed at the new level."
        )
    else:
        pg = f" (change-point test p = {cp.p_global:.2f})" if is_finite(cp.p_global) else ""
        row["sentence"] = f"{what}: no step over {int(have.sum())} months{pg}."
    return row, steps


def history_section(
    history: pd.DataFrame,
    *,
    kpis: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> HistorySection:
    """Each region x KPI on one calendar of months, and the steps of each monthly series.

    Parameters
    ----------
    history : DataFrame
        Rows of :data:`qa_analysis.batch.history.HISTORY_COLUMNS` (e.g.
        :func:`overview_history`).
    kpis : sequence of str, optional
        KPIs to keep, in this order; default every KPI in ``history``.
    confidence : float
        Level of the change-point tests (significance ``1 - confidence``).
    n_boot : int, optional
        Monte Carlo replicates of each test; None reads ``params/defaults.yaml``.
    seed : int, Generator or None
        Seed of the Monte Carlo tests (one generator for all series).

    Returns
    -------
    HistorySection

    Notes
    -----
    Months run from the first to the last period in ``history``; a month a
    region has no row for is missing (a gap), not zero. Each region x KPI
    series with at least 4 months is segmented by
    :func:`qa_analysis.trends.change_points` (pass and critical-error rates
    as proportions of their audits ``n`` when every month has one, the other
    KPIs as means); a step is reported only when the global test and its
    Holm-adjusted local test reject at ``1 - confidence``, so a series without
    a step reads "no step" with at most that chance of a false step per series.

    References
    ----------
    .. [1] Auger, I. E. & Lawrence, C. E. (1989). Algorithms for the optimal
       identification of segment neighborhoods. *Bull. Math. Biol.* 51(1), 39-54.

    Examples
    --------
    >>> h = pd.DataFrame({"region": "EU", "period": ["2026-01", "2026-03"], "kpi": "pass_rate",
    ...                   "value": [0.9, 0.8], "ci_low": np.nan, "ci_high": np.nan,
    ...                   "target": 0.85, "status": None, "scorecard_version": "1", "n": 100})
    >>> s = history_section(h)
    >>> s.months, s.table["value"].isna().tolist()
    (('2026-01', '2026-02', '2026-03'), [False, True, False])
    """
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"history must be a DataFrame, got {type(history).__name__}")
    h = history.loc[history["value"].notna()] if len(history) else history
    if len(h) == 0:
        return HistorySection(
            table=pd.DataFrame(
                columns=[
                    *("region", "kpi", "label", "period", "value", "ci_low", "ci_high"),
                    *("target", "status", "n"),
                ]
            ),
            series=pd.DataFrame(columns=_SERIES_COLS),
            steps=pd.DataFrame(columns=_STEP_COLS),
        )
    h = h.assign(period=h["period"].astype(str), region=h["region"].astype(str))
    periods = pd.period_range(h["period"].min(), h["period"].max(), freq="M").astype(str)
    months = tuple(str(p) for p in periods)
    have_kpis = list(pd.unique(h["kpi"].astype(str)))
    kp = [k for k in kpis if k in have_kpis] if kpis is not None else have_kpis
    regions = _region_order(h["region"].unique())
    grid = pd.MultiIndex.from_product([regions, kp, months], names=["region", "kpi", "period"])
    cols = ["value", "ci_low", "ci_high", "target", "status", "n"]
    tab = (
        h.assign(kpi=h["kpi"].astype(str))
        .drop_duplicates(["region", "kpi", "period"], keep="last")
        .set_index(["region", "kpi", "period"])[cols]
        .reindex(grid)
        .reset_index()
    )
    tab.insert(2, "label", tab["kpi"].map(lambda k: KPI_LABELS.get(k, k)))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    rows, steps = [], []
    for (region, kpi), d in tab.groupby(["region", "kpi"], sort=False):
        row, st = _changes(str(region), str(kpi), d, confidence=confidence, n_boot=n_boot, seed=rng)
        rows.append(row)
        steps.extend(st)
    return HistorySection(
        table=tab,
        series=pd.DataFrame(rows, columns=_SERIES_COLS),
        steps=pd.DataFrame(steps, columns=_STEP_COLS),
        months=months,
    )


def history_markdown(s: HistorySection) -> str:
    """The history section's text: the months covered, each step in a sentence, and "no step" plainly.

    Examples
    --------
    >>> history_markdown(history_section(pd.DataFrame(columns=["region", "period", "kpi", "value"])))
    'No history yet: the history store has no earlier months to compare with.'
    """
    if s.empty:
        return "No history yet: the history store has no earlier months to compare with."
    ser = s.series
    head = (
        f"{len(s.months)} month(s), {s.months[0]} to {s.months[-1]}; a month without data is a "
        "gap, not zero. A step is a month where a KPI moved to a new level and stayed there "
        "(change-point test, Holm-adjusted)."
    )
    stepped = ser.loc[ser["steps"] != ""]
    lines = [head, ""]
    lines += [f"- {t}" for t in stepped["sentence"]]
    tested = ser.loc[(ser["steps"] == "") & (ser["shape"] != "too short")]
    if len(tested):
        by = tested.groupby("region", sort=False)["kpi"].agg(
            lambda k: ", ".join(_label(x) for x in k)
        )
        lines.append(
            "- No step: "
            + "; ".join(f"{md_escape(r)} ({k})" for r, k in by.items())
            + ". Their month-to-month movement is within the noise."
        )
    short = ser.loc[ser["shape"] == "too short"]
    if len(short):
        regs = ", ".join(md_escape(r) for r in pd.unique(short["region"]))
        lines.append(f"- Too few months to look for a step ({_MIN_MONTHS} needed): {regs}.")
    if len(stepped) == 0 and len(tested):
        lines.insert(2, "- No KPI stepped in any region over these months.")
    return "\n".join(lines)


def history_display(s: HistorySection) -> pd.DataFrame:
    """The months side by side: one row per region x KPI, a column per month, target last.

    A month without data reads "no data" (never 0).
    """
    t = s.table
    if s.empty or len(t) == 0:
        return pd.DataFrame()
    cells = [
        _value(k, v) if is_finite(v) else "no data"
        for k, v in zip(t["kpi"], t["value"], strict=True)
    ]
    wide = t.assign(cell=cells).pivot_table(
        index=["region", "label"], columns="period", values="cell", aggfunc="first", sort=False
    )
    tg = t.groupby(["region", "label"], sort=False).agg(
        kpi=("kpi", "first"), target=("target", "last")
    )
    wide["Target"] = [_value(k, x) for k, x in zip(tg["kpi"], tg["target"], strict=True)]
    wide.index.names = ["Region", "KPI"]
    wide.columns.name = None
    return wide
