"""Report assembly for the notebooks: data windows, result bundles, KPIs, narrative.

The report notebooks in ``notebooks/`` are thin: a parameters cell, one call
per section into this module, a figure from :mod:`qa_analysis.plots`, a small
table and a sentence. Everything those cells show is computed here, where it
is tested (``tests/test_report_content.py``):

* :func:`resolve_path`, :func:`report_window`, :func:`load_report_data`: find
  the data, cut the report month and its history, load and pseudonymise;
* :func:`calibration_results` / :func:`calibration_kpis` and the
  ``*_sentence`` / ``*_markdown`` helpers for the calibration report;
* :func:`performance_results` / :func:`performance_kpis` and helpers for the
  performance report;
* :func:`region_table`, :func:`region_targets`, :func:`region_links`,
  :func:`global_kpis` for the global overview.

The statistics themselves live in :mod:`qa_analysis.reliability`,
:mod:`qa_analysis.sampling`, :mod:`qa_analysis.scorecard` and
:mod:`qa_analysis.trends`; this module only chooses windows, calls them,
combines their tables and phrases their numbers. Narrative helpers return
Markdown strings (display them with ``IPython.display.Markdown``); every
number in a sentence is the library's number, rounded for reading.

Empty data (a region without calibration sessions or evaluations in the
month) never raises here: result bundles hold empty tables, KPIs are ``None``
(``null`` in JSON) and the sentences say that there was nothing to analyse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import compare as cmp
from qa_analysis import io
from qa_analysis import reliability as rel
from qa_analysis import sampling as smp
from qa_analysis import trends as tr
from qa_analysis.scorecard import Scorecard, criterion_rates, score_evaluations

__all__ = [
    "DEFAULT_TARGETS",
    "DEFAULT_THRESHOLDS",
    "PROJECT_ROOT",
    "CalibrationResults",
    "PerformanceResults",
    "ReportData",
    "Window",
    "agents_markdown",
    "agents_ranked",
    "agreement_markdown",
    "agreement_sentence",
    "agreement_table",
    "calibration_kpis",
    "calibration_results",
    "changes_markdown",
    "control_markdown",
    "critical_sentence",
    "csat_sentence",
    "data_source",
    "display_table",
    "drift_sentence",
    "fmt_ci",
    "global_kpis",
    "global_markdown",
    "is_demo_data",
    "kappa_paradox_markdown",
    "load_report_data",
    "merged_targets",
    "pareto_sentence",
    "participation_sentence",
    "performance_kpis",
    "performance_results",
    "plan_sentence",
    "rater_markdown",
    "rater_table",
    "region_consistency",
    "region_links",
    "region_table",
    "region_targets",
    "report_window",
    "resolve_path",
    "split_markdown",
    "targets_markdown",
    "top_bottom",
    "trend_sentence",
    "verdict",
    "volume_markdown",
]

#: The project root: the folder holding the ``qa_analysis`` package (and params/, data/).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Defaults of the notebooks' ``thresholds`` parameter.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "alpha_reliable": 0.8,
    "alpha_tentative": 0.667,
    "bias_flag": 0.1,
    "n_boot": 1000,
}
#: Defaults of the notebooks' ``targets`` parameter.
DEFAULT_TARGETS: dict[str, float] = {
    "pass_rate": 0.85,
    "mean_score": 85,
    "critical_rate": 0.02,
    "alpha": 0.667,
    "audits_per_agent": 5,
}
#: Direction of each target: ``min`` = at least, ``max`` = at most.
TARGET_DIRECTIONS: dict[str, str] = {
    "pass_rate": "min",
    "mean_score": "min",
    "critical_rate": "max",
    "alpha": "min",
    "audits_per_agent": "min",
}
KPI_LABELS: dict[str, str] = {
    "pass_rate": "Pass rate",
    "mean_score": "Mean score",
    "critical_rate": "Critical-error rate",
    "alpha": "Calibration alpha",
    "audits_per_agent": "Audits per agent",
}
TABLES = ("evaluations", "calibration", "tickets")
_LOADERS = {
    "evaluations": io.load_evaluations,
    "calibration": io.load_calibration,
    "tickets": io.load_tickets,
}


# ---------------------------------------------------------------------------
# paths, windows, loading
# ---------------------------------------------------------------------------
def resolve_path(p: str | Path) -> Path:
    """A data or scorecard path that works from the project root and from ``notebooks/``.

    Tries ``p`` as given (absolute, or relative to the current folder), then
    relative to :data:`PROJECT_ROOT`. When neither exists, ``p`` is returned
    unchanged so that the loader's error names the path the user gave.

    Examples
    --------
    >>> resolve_path("params/scorecard.yaml").name
    'scorecard.yaml'
    """
    path = Path(p).expanduser()
    if path.exists() or path.is_absolute():
        return path
    alt = PROJECT_ROOT / path
    return alt if alt.exists() else path


def data_source(data: str | Path, table: str) -> str:
    """The source to pass to a loader for ``table``.

    ``data`` is a DuckDB file (returned as is: the loader picks the table), a
    folder holding ``<table>.parquet`` (or ``<table>.csv``), or a single file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tickets.parquet").write_bytes(b"")
    >>> Path(data_source(folder, "tickets")).name
    'tickets.parquet'
    >>> data_source(folder / "qa.duckdb", "tickets") == str(folder / "qa.duckdb")
    True
    """
    path = resolve_path(data)
    if path.is_dir():
        for ext in (".parquet", ".csv"):
            f = path / f"{table}{ext}"
            if f.exists():
                return str(f)
        return str(path / f"{table}.parquet")  # the loader reports it missing
    return str(path)


@dataclass(frozen=True)
class Window:
    """The report month and the history window before it (all dates inclusive)."""

    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    history_start: pd.Timestamp
    prev_start: pd.Timestamp
    prev_end: pd.Timestamp
    history_months: int

    @property
    def label(self) -> str:
        """``"October 2026"``."""
        return self.start.strftime("%B %Y")

    @property
    def baseline_end(self) -> pd.Timestamp | None:
        """End (exclusive) of the control charts' phase-I baseline: the first half of the
        history (rounded up to whole months), ``None`` without history.

        Judging the recent months against the level before them keeps a shift inside
        the history (a drop two months ago) from being absorbed into the centre line.

        Examples
        --------
        >>> str(report_window("2026-10", 6).baseline_end.date())
        '2026-07-01'
        """
        if self.history_months == 0:
            return None
        months = -(-self.history_months // 2)
        return (self.history_start.to_period("M") + months).start_time.normalize()

    @property
    def history_label(self) -> str:
        """``"April - October 2026"``: the whole window shown in trend charts."""
        a, b = self.history_start, self.start
        return f"{a.strftime('%B %Y')} - {b.strftime('%B %Y')}"


def report_window(period: str, history_months: int = 6) -> Window:
    """The report month ``period`` (``YYYY-MM``) with ``history_months`` months before it.

    Examples
    --------
    >>> w = report_window("2026-10", 6)
    >>> str(w.start.date()), str(w.end.date()), str(w.history_start.date()), w.label
    ('2026-10-01', '2026-10-31', '2026-04-01', 'October 2026')
    """
    try:
        p = pd.Period(str(period), freq="M")
    except (ValueError, TypeError):
        raise ValueError(f"period must be YYYY-MM (e.g. 2026-10), got {period!r}") from None
    if not isinstance(period, str) or len(period) != 7 or period[4] != "-":
        raise ValueError(f"period must be YYYY-MM (e.g. 2026-10), got {period!r}")
    if (
        isinstance(history_months, bool)
        or not isinstance(history_months, int | np.integer)
        or history_months < 0
    ):
        raise ValueError(f"history_months must be a non-negative integer, got {history_months!r}")
    start = p.start_time.normalize()
    end = p.end_time.normalize()
    prev = p - 1
    return Window(
        period=str(p),
        start=start,
        end=end,
        history_start=(p - int(history_months)).start_time.normalize(),
        prev_start=prev.start_time.normalize(),
        prev_end=prev.end_time.normalize(),
        history_months=int(history_months),
    )


@dataclass(frozen=True)
class ReportData:
    """The tables of one report, loaded, validated and (optionally) pseudonymised.

    ``evaluations`` and ``calibration`` cover the history window and the
    report month; ``tickets`` only the report month (the sampling population).
    A table that was not requested is an empty DataFrame.
    """

    scorecard: Scorecard
    window: Window
    region: str | None
    evaluations: pd.DataFrame
    calibration: pd.DataFrame
    tickets: pd.DataFrame
    pseudonymised: bool
    notes: tuple[str, ...] = ()


def is_demo_data(data: str | Path) -> bool:
    """True when ``data`` is the bundled demo set written by :func:`qa_analysis.demo.write_demo`.

    The demo folder is recognised by its ``planted.json`` (the planted effects,
    written next to the tables): ``data`` is such a folder, or a file inside
    one (e.g. ``data/demo/qa.duckdb``). Only demo data may fall back to the
    public pseudonymisation key (``pseudonymise(..., demo_ok=True)``).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> is_demo_data(folder)
    False
    >>> _ = (folder / "planted.json").write_text("{}")
    >>> is_demo_data(folder), is_demo_data(folder / "qa.duckdb")
    (True, True)
    """
    path = resolve_path(data)
    folder = path if path.is_dir() else path.parent
    return (folder / "planted.json").is_file()


def load_report_data(
    data: str | Path,
    scorecard: str | Path | Scorecard,
    *,
    region: str | None,
    period: str,
    history_months: int = 6,
    pseudonymise: bool = True,
    tables: Sequence[str] = TABLES,
    key: str | None = None,
) -> ReportData:
    """Load a report's tables for one region (or all, ``region=None``) and window.

    Parameters
    ----------
    data : str or Path
        DuckDB file, or folder with ``evaluations/calibration/tickets.parquet``.
    scorecard : str, Path or Scorecard
        Scorecard (or its YAML path); every loaded score is validated against it.
    region : str or None
        Region code; None loads every region.
    period, history_months
        Report month and history (see :func:`report_window`).
    pseudonymise : bool
        Replace ``agent_id``, ``reviewer_id`` and ``rater_id`` right after
        loading with :func:`qa_analysis.reports.pseudonymise` (keyed HMAC), so
        that no raw id reaches a table, figure, KPI file or CSV.
    tables : sequence of str
        Which of ``evaluations``, ``calibration``, ``tickets`` to load.
    key : str, optional
        Pseudonymisation key (default: ``$QA_PSEUDONYM_KEY``). Without either,
        only the bundled demo data (:func:`is_demo_data`) may use the public
        demo key; other data raise a ``ValueError`` asking for the variable.

    Returns
    -------
    ReportData

    Raises
    ------
    qa_analysis.io.DataError
        When a source is missing or invalid (naming file, column and rows).
    ValueError
        When ids are to be pseudonymised, the data are not the demo set and
        no key is given or set in ``QA_PSEUDONYM_KEY``.
    """
    from qa_analysis.privacy import pseudonymise as _pseudo

    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"tables: unknown table(s) {unknown}; choose from {list(TABLES)}")
    sc = (
        scorecard
        if isinstance(scorecard, Scorecard)
        else Scorecard.from_yaml(resolve_path(scorecard))
    )
    win = report_window(period, history_months)
    demo_ok = is_demo_data(data)
    frames: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for t in TABLES:
        if t not in tables:
            frames[t] = pd.DataFrame()
            continue
        start = win.start if t == "tickets" else win.history_start
        extra = {} if t == "tickets" else {"scorecard": sc}
        df = _LOADERS[t](data_source(data, t), region=region, start=start, end=win.end, **extra)
        if pseudonymise:
            df = _pseudo(df, key=key, demo_ok=demo_ok)
        if "note" in df.attrs:
            notes.append(df.attrs["note"])
        frames[t] = df
    return ReportData(
        scorecard=sc,
        window=win,
        region=region,
        evaluations=frames["evaluations"],
        calibration=frames["calibration"],
        tickets=frames["tickets"],
        pseudonymised=bool(pseudonymise),
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------
# small formatting helpers
# ---------------------------------------------------------------------------
def _finite(x: Any) -> bool:
    try:
        return x is not None and x is not pd.NA and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _num(x: Any) -> float | None:
    """A JSON-friendly float (None for missing / non-finite)."""
    return float(x) if _finite(x) else None


def _fmt(x: Any, digits: int = 2, pct: bool = False, signed: bool = False) -> str:
    if not _finite(x):
        return "n/a"
    v = float(x) * (100 if pct else 1)
    sign = "+" if signed else ""
    return f"{v:{sign}.{digits}f}" + ("%" if pct else "")


def fmt_ci(
    est: Any, lo: Any, hi: Any, *, digits: int = 2, pct: bool = False, signed: bool = False
) -> str:
    """``"0.52 [0.41, 0.63]"`` (or ``"81.3% [78.0%, 84.2%]"`` with ``pct``).

    Examples
    --------
    >>> fmt_ci(0.5234, 0.41, 0.6349)
    '0.52 [0.41, 0.63]'
    >>> fmt_ci(0.8125, 0.78, 0.842, digits=1, pct=True)
    '81.2% [78.0%, 84.2%]'
    """
    head = _fmt(est, digits, pct, signed)
    if _finite(lo) and _finite(hi):
        return f"{head} [{_fmt(lo, digits, pct, signed)}, {_fmt(hi, digits, pct, signed)}]"
    return head


def _sentence(text: str) -> str:
    """``"all agents get 5" -> "All agents get 5. "`` (empty stays empty)."""
    text = str(text or "").strip()
    return f"{text[:1].upper()}{text[1:].rstrip('.')}. " if text else ""


def _bar(t: float) -> str:
    """``0.667 -> ".667"`` (Krippendorff's notation)."""
    s = f"{float(t):.3f}"
    return s[1:] if s.startswith("0.") else s


def merged_targets(targets: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``targets`` parameter over :data:`DEFAULT_TARGETS`: a plain papermill run with
    ``-f params/<region>.yaml`` passes only the targets that region overrides.

    Examples
    --------
    >>> merged_targets({"pass_rate": 0.9})["pass_rate"], merged_targets(None)["critical_rate"]
    (0.9, 0.02)
    """
    return {**DEFAULT_TARGETS, **(targets or {})}


def _thresholds(thresholds: Mapping[str, Any] | None) -> dict[str, float]:
    out = dict(DEFAULT_THRESHOLDS)
    if thresholds:
        out.update({k: v for k, v in thresholds.items() if v is not None})
    if not out["alpha_tentative"] <= out["alpha_reliable"]:
        raise ValueError(
            "thresholds: alpha_tentative must not exceed alpha_reliable, got "
            f"{out['alpha_tentative']} > {out['alpha_reliable']}"
        )
    return out


def verdict(alpha: Any, thresholds: Mapping[str, Any] | None = None) -> str:
    """Krippendorff's bands with the report's thresholds.

    ``reliable`` at or above ``alpha_reliable`` (default .800), ``tentative`` at
    or above ``alpha_tentative`` (.667), else ``unreliable``; ``undefined`` for
    NaN. With the default thresholds it equals
    :func:`qa_analysis.reliability.alpha_verdict`.

    References
    ----------
    .. [1] Krippendorff, K. (2004). Content Analysis: An Introduction to Its
       Methodology (2nd ed.), p. 241. Sage.

    Examples
    --------
    >>> verdict(0.7), verdict(0.7, {"alpha_tentative": 0.75, "alpha_reliable": 0.9})
    ('tentative', 'unreliable')
    """
    th = _thresholds(thresholds)
    if not _finite(alpha):
        return "undefined"
    a = float(alpha)
    return (
        "reliable"
        if a >= th["alpha_reliable"]
        else "tentative"
        if a >= th["alpha_tentative"]
        else "unreliable"
    )


def _names(scorecard: Scorecard | None) -> dict[str, str]:
    return {c.id: c.name for c in scorecard} if scorecard is not None else {}


def display_table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    head: int | None = 10,
    digits: int = 2,
    percent: Sequence[str] = (),
    index: bool = True,
) -> pd.DataFrame:
    """A small, rounded, relabelled copy of ``df`` for display in a report.

    ``columns`` maps source column -> display label (and selects them, in
    order); ``percent`` lists source columns shown as percentages (0.812 ->
    81.2); other floats are rounded to ``digits``. At most ``head`` rows. With
    ``index`` the first column becomes the index (so no row numbers are shown).

    Examples
    --------
    >>> df = pd.DataFrame({"a": ["x", "y"], "r": [0.8123, 0.5], "v": [1.23456, 2.0]})
    >>> display_table(df, {"a": "Name", "r": "Rate %", "v": "Value"}, percent=["r"], index=False)
      Name  Rate %  Value
    0    x    81.2   1.23
    1    y    50.0   2.00
    """
    cols = dict(columns) if columns else {c: c for c in df.columns}
    out = df.loc[:, [c for c in cols if c in df.columns]].copy()
    if head is not None:
        out = out.head(head)
    for c in out.columns:
        if c in percent:
            out[c] = (pd.to_numeric(out[c], errors="coerce") * 100).round(1)
        elif pd.api.types.is_float_dtype(out[c]):
            v = out[c].to_numpy(dtype=float)
            fin = v[np.isfinite(v)]
            if len(fin) and np.all(fin == np.round(fin)) and np.all(np.abs(fin) < 2**53):
                out[c] = out[c].round().astype("Int64")  # counts read back from JSON as floats
            else:
                out[c] = out[c].round(digits)
    out = out.rename(columns=cols)
    if index and len(out.columns) > 1:
        return out.set_index(out.columns[0])
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------
# calibration report
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CalibrationResults:
    """Everything the calibration report shows, for one region and month.

    Attributes
    ----------
    sessions : DataFrame
        Sessions in the month: ``session_id, session_date, tickets, raters,
        specialists, experts``.
    roles : DataFrame
        ``role, raters`` (distinct raters per role in the month).
    by_item : DataFrame
        :func:`qa_analysis.reliability.agreement_by_item` on the month's
        ratings plus ``name`` and ``verdict`` (with the report's thresholds).
    raters : DataFrame
        :func:`qa_analysis.reliability.rater_calibration` (tolerance =
        ``thresholds["bias_flag"]``).
    heatmap : DataFrame
        :func:`qa_analysis.reliability.rater_calibration_by_item` (no CIs).
    split : DataFrame
        :func:`qa_analysis.reliability.disagreements`, the ``top`` tickets.
    drift : DataFrame
        :func:`qa_analysis.reliability.agreement_over_sessions` over the
        history window and the month (no CIs): one row per session x criterion.
    drift_trend : qa_analysis.trends.Trend
        Mann-Kendall test on the sessions' mean alpha.
    n_ratings : int
        Scored ratings in the month (N/A left out).
    n_ratings_total : int
        Every rating row in the month, N/A included.
    n_na : int
        N/A ratings (criterion not applicable), left out of every statistic;
        :func:`qa_analysis.reliability.agreement_by_item` counts them per
        criterion in ``by_item["note"]``.
    n_no_reference : int
        Scored ratings that could be compared with no reference (no expert
        rating of the same ticket and criterion; with no expert, no other
        rater), left out of ``raters``.
    n_compared : int
        Ratings compared with the reference in ``raters`` (sum of its ``n_ratings``).
    """

    region: str | None
    window: Window
    thresholds: dict[str, float]
    n_ratings: int
    sessions: pd.DataFrame
    roles: pd.DataFrame
    by_item: pd.DataFrame
    raters: pd.DataFrame
    heatmap: pd.DataFrame
    split: pd.DataFrame
    drift: pd.DataFrame
    drift_trend: tr.Trend
    names: dict[str, str] = field(default_factory=dict)
    n_ratings_total: int = 0
    n_na: int = 0
    n_no_reference: int = 0
    n_compared: int = 0

    @property
    def empty(self) -> bool:
        """True when the month has no calibration ratings."""
        return self.n_ratings == 0

    @property
    def n_sessions(self) -> int:
        return len(self.sessions)

    @property
    def n_tickets(self) -> int:
        return int(self.sessions["tickets"].sum()) if len(self.sessions) else 0

    @property
    def n_raters(self) -> int:
        return int(self.roles["raters"].sum()) if len(self.roles) else 0

    @property
    def worst_criterion(self) -> str | None:
        """Criterion id with the lowest alpha this month (None without ratings)."""
        if len(self.by_item) == 0 or not np.isfinite(self.by_item["alpha"].to_numpy(float)).any():
            return None
        return str(self.by_item.loc[self.by_item["alpha"].idxmin(), "criterion"])


def _in_window(df: pd.DataFrame, col: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if len(df) == 0 or col not in df:
        return df.iloc[0:0] if len(df.columns) else df
    d = pd.to_datetime(df[col]).dt.normalize()
    return df.loc[((d >= start) & (d <= end)).to_numpy()]


def calibration_results(
    calibration: pd.DataFrame,
    scorecard: Scorecard,
    window: Window,
    *,
    thresholds: Mapping[str, Any] | None = None,
    seed: int = 0,
    top: int = 10,
    region: str | None = None,
) -> CalibrationResults:
    """Run the calibration report's analyses on the month (and the history for drift).

    Parameters
    ----------
    calibration : DataFrame
        Calibration ratings covering at least the window (rows outside it are ignored).
    scorecard : Scorecard
        Levels of measurement, scales and names of the criteria.
    window : Window
        Report month and history (:func:`report_window`).
    thresholds : mapping, optional
        ``alpha_reliable``, ``alpha_tentative``, ``bias_flag`` (share of the
        scale range from which a rater counts as lenient / severe) and
        ``n_boot`` (bootstrap resamples).
    seed : int
        Seed of every bootstrap interval.
    top : int
        Length of the discussion list.

    Returns
    -------
    CalibrationResults
        Empty tables (and ``empty`` True) when the month has no ratings.

    Notes
    -----
    Agreement is computed per criterion at the criterion's level of
    measurement (Krippendorff's alpha; Gwet's AC1 for nominal, AC2 with
    ordinal weights for ordinal criteria; percent agreement), with percentile
    bootstrap intervals resampling tickets. Each session is a separate
    reliability study for the drift chart.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    .. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_analysis.scorecard import Scorecard
    >>> sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [1, 2, 3, 4, 5]}]})
    >>> cal = pd.DataFrame({"session_id": "s1", "session_date": pd.Timestamp("2026-10-08"),
    ...     "ticket_id": [t for t in ("t1", "t2", "t3", "t4") for _ in range(3)],
    ...     "rater_id": ["x", "a", "b"] * 4, "role": ["expert", "specialist", "specialist"] * 4,
    ...     "criterion": "tone", "score": [3, 4, 3, 5, 5, 5, 2, 3, 2, 4, 5, 4.0]})
    >>> res = calibration_results(cal, sc, report_window("2026-10", 0), thresholds={"n_boot": 50})
    >>> res.n_sessions, res.n_raters, res.worst_criterion
    (1, 3, 'tone')
    >>> res.raters[["rater_id", "deviation", "verdict"]]
      rater_id  deviation  verdict
    0        a       0.75  lenient
    1        b       0.00  aligned
    """
    th = _thresholds(thresholds)
    n_boot = int(th.get("n_boot", 1000))
    names = _names(scorecard)
    month_all = _in_window(calibration, "session_date", window.start, window.end)
    hist = _in_window(calibration, "session_date", window.history_start, window.end)
    n_total = len(month_all)
    n_na = int(month_all["score"].isna().sum()) if n_total else 0
    month = month_all.loc[month_all["score"].notna()] if n_total else month_all
    empty_trend = tr.mann_kendall([])
    if len(month) == 0:
        e = pd.DataFrame()
        drift = _drift(hist, scorecard) if len(hist) else e
        trend = _drift_trend(drift) if len(drift) else empty_trend
        return CalibrationResults(
            region=region,
            window=window,
            thresholds=th,
            n_ratings=0,
            sessions=pd.DataFrame(
                columns=[
                    "session_id",
                    "session_date",
                    "tickets",
                    "raters",
                    "specialists",
                    "experts",
                ]
            ),
            roles=pd.DataFrame(columns=["role", "raters"]),
            by_item=e,
            raters=e,
            heatmap=e,
            split=e,
            drift=drift,
            drift_trend=trend,
            names=names,
            n_ratings_total=n_total,
            n_na=n_na,
        )
    # a ticket discussed in two sessions is two units
    month_all = month_all.assign(
        unit=month_all["session_id"].astype(str) + " / " + month_all["ticket_id"].astype(str)
    )
    month = month_all.loc[month_all["score"].notna()]
    role = month["role"].astype(str)
    sessions = (
        month.assign(
            _spec=month["rater_id"].where(role == "specialist"),
            _exp=month["rater_id"].where(role == "expert"),
        )
        .groupby("session_id", sort=False)
        .agg(
            session_date=("session_date", "min"),
            tickets=("ticket_id", "nunique"),
            raters=("rater_id", "nunique"),
            specialists=("_spec", "nunique"),
            experts=("_exp", "nunique"),
        )
        .reset_index()
        .sort_values("session_date", kind="stable")
        .reset_index(drop=True)
    )
    roles = month.groupby("role", sort=True)["rater_id"].nunique().rename("raters").reset_index()
    # N/A rows included: agreement_by_item ignores them and counts them in its note
    by_item = rel.agreement_by_item(
        month_all, scorecard=scorecard, unit="unit", n_boot=n_boot, seed=seed
    )
    by_item.insert(1, "name", by_item["criterion"].map(names).fillna(by_item["criterion"]))
    by_item["verdict"] = [verdict(a, th) for a in by_item["alpha"]]
    raters = rel.rater_calibration(
        month,
        scorecard=scorecard,
        unit="unit",
        tolerance=float(th["bias_flag"]),
        n_boot=n_boot,
        seed=seed,
    )
    raters = raters.sort_values("deviation_share", ascending=False, kind="stable").reset_index(
        drop=True
    )
    # ratings that were candidates for a comparison: everyone's but the expert's (the
    # reference), or everyone's when there is no expert (consensus of the others)
    is_expert = month["role"].astype(str) == "expert"
    n_candidates = int((~is_expert).sum()) if is_expert.any() else len(month)
    n_compared = int(raters["n_ratings"].sum()) if len(raters) else 0
    heat = rel.rater_calibration_by_item(
        month, scorecard=scorecard, unit="unit", confidence=None, tolerance=float(th["bias_flag"])
    )
    heat["name"] = heat["criterion"].map(names).fillna(heat["criterion"])
    split = rel.disagreements(month, scorecard=scorecard, unit="unit", top=top)
    if len(split):
        parts = split["unit"].str.split(" / ", n=1, expand=True)
        split.insert(1, "session_id", parts[0])
        split.insert(2, "ticket_id", parts[1])
        split = split.drop(columns="unit")
        split.insert(
            split.columns.get_loc("most_split") + 1,
            "most_split_name",
            split["most_split"].map(names),
        )
    drift = _drift(hist, scorecard)
    return CalibrationResults(
        region=region,
        window=window,
        thresholds=th,
        n_ratings=len(month),
        sessions=sessions,
        roles=roles,
        by_item=by_item,
        raters=raters,
        heatmap=heat,
        split=split,
        drift=drift,
        drift_trend=_drift_trend(drift),
        names=names,
        n_ratings_total=n_total,
        n_na=n_na,
        n_no_reference=max(n_candidates - n_compared, 0),
        n_compared=n_compared,
    )


def _drift(hist: pd.DataFrame, scorecard: Scorecard) -> pd.DataFrame:
    hist = hist.loc[hist["score"].notna()] if len(hist) else hist
    if len(hist) == 0:
        return pd.DataFrame()
    out = rel.agreement_over_sessions(hist, scorecard=scorecard, confidence=None)
    out["name"] = out["criterion"].map(_names(scorecard)).fillna(out["criterion"])
    return out


def _drift_trend(drift: pd.DataFrame) -> tr.Trend:
    if len(drift) == 0:
        return tr.mann_kendall([])
    per = drift.groupby("session_id", sort=False)["mean_alpha"].first()
    return tr.mann_kendall(per.to_numpy())


def participation_sentence(res: CalibrationResults) -> str:
    """Who took part in the month's calibration.

    Examples
    --------
    A month with two sessions reads "In October 2026 EU held 2 calibration
    sessions on 19 tickets with 9 raters (1 expert, 8 specialists): 2,052
    ratings in all, of which 54 N/A (criterion not applicable, left out of
    every statistic) and 1,998 scored."; a month without reads "No calibration
    sessions in ...". N/A ratings are always counted, never dropped silently.
    """
    where = f" {res.region}" if res.region else ""
    if res.empty:
        return (
            f"**No calibration sessions in {res.window.label}{' for' + where if where else ''}.** "
            "Agreement, rater calibration and the discussion list need at least one session; "
            "the KPIs for this month are empty (null)."
        )
    roles = dict(zip(res.roles["role"], res.roles["raters"], strict=True))
    parts = [f"{int(v)} {k}{'s' if int(v) != 1 else ''}" for k, v in roles.items()]
    s = "s" if res.n_sessions != 1 else ""
    head = (
        f"In {res.window.label}{where} held {res.n_sessions} calibration session{s} on "
        f"{res.n_tickets} tickets with {res.n_raters} raters ({', '.join(parts)})"
    )
    total = max(res.n_ratings_total, res.n_ratings + res.n_na)
    if res.n_na:
        return (
            f"{head}: {total:,} ratings in all, of which {res.n_na:,} N/A (criterion not "
            f"applicable, left out of every statistic) and {res.n_ratings:,} scored."
        )
    return f"{head}: {res.n_ratings:,} ratings in all, none N/A."


def agreement_sentence(row: Mapping[str, Any], thresholds: Mapping[str, Any] | None = None) -> str:
    """One criterion's agreement: alpha with its interval against the bands.

    Examples
    --------
    >>> agreement_sentence({"name": "Empathy", "alpha": 0.523, "alpha_ci_low": 0.41,
    ...                     "alpha_ci_high": 0.634})
    'Alpha for *Empathy* is 0.52 [0.41, 0.63]: below the .667 floor (unreliable).'
    """
    th = _thresholds(thresholds)
    name = row.get("name") or row.get("criterion")
    a = row.get("alpha")
    txt = fmt_ci(a, row.get("alpha_ci_low"), row.get("alpha_ci_high"))
    v = verdict(a, th)
    if v == "undefined":
        note = row.get("note") or "not enough paired ratings"
        return f"Alpha for *{name}* is undefined ({note})."
    if v == "reliable":
        tail = f"at or above the {_bar(th['alpha_reliable'])} bar (reliable)"
    elif v == "tentative":
        tail = (
            f"between the {_bar(th['alpha_tentative'])} floor and the "
            f"{_bar(th['alpha_reliable'])} bar (tentative)"
        )
    else:
        tail = f"below the {_bar(th['alpha_tentative'])} floor (unreliable)"
    return f"Alpha for *{name}* is {txt}: {tail}."


def agreement_markdown(res: CalibrationResults) -> str:
    """The agreement headline plus one sentence per criterion that is not reliable."""
    if res.empty or len(res.by_item) == 0:
        return "No agreement figures: no calibration ratings this month."
    b = res.by_item
    th = res.thresholds
    alphas = b["alpha"].to_numpy(dtype=float)
    fin = alphas[np.isfinite(alphas)]
    counts = b["verdict"].value_counts()
    worst = b.loc[b["alpha"].idxmin()] if len(fin) else None
    lines = [
        f"Across {len(b)} criteria the median alpha is **{_fmt(np.median(fin) if len(fin) else np.nan)}** "
        f"(mean {_fmt(fin.mean() if len(fin) else np.nan)}): "
        f"{int(counts.get('reliable', 0))} reliable (>= {_bar(th['alpha_reliable'])}), "
        f"{int(counts.get('tentative', 0))} tentative (>= {_bar(th['alpha_tentative'])}), "
        f"{int(counts.get('unreliable', 0))} unreliable."
    ]
    if worst is not None:
        lines.append(f"The weakest criterion is *{worst['name']}*.")
    weak = b.loc[b["verdict"].isin(["unreliable", "undefined"])].sort_values("alpha", kind="stable")
    if len(weak):
        lines.append("")
        lines += [f"- {agreement_sentence(r, th)}" for r in weak.to_dict("records")]
    notes = _item_notes(b)
    if notes:
        lines += [
            "",
            "Notes from the agreement computation, per criterion (missing ratings are the "
            "N/A ones, left out):",
            "",
        ]
        lines += [f"- *{name}*: {note}." for name, note in notes]
    return "\n".join(lines)


def _item_notes(by_item: pd.DataFrame) -> list[tuple[str, str]]:
    """``(name, note)`` for each criterion with a non-empty ``note`` (in table order)."""
    if "note" not in by_item or len(by_item) == 0:
        return []
    names = by_item["name"] if "name" in by_item else by_item["criterion"]
    out = []
    for name, note in zip(names, by_item["note"], strict=True):
        text = (
            ""
            if note is None or note is pd.NA or (isinstance(note, float) and math.isnan(note))
            else str(note).strip().rstrip(".")
        )
        if text:
            out.append((str(name), text))
    return out


def kappa_paradox_markdown(res: CalibrationResults, *, high: float | None = None) -> str:
    """Explain criteria whose Gwet coefficient is high while alpha is low (the kappa paradox).

    A criterion is listed when Gwet's AC1/AC2 is at least ``high`` (default
    ``alpha_reliable``) and alpha is below ``alpha_tentative``.

    References
    ----------
    .. [1] Feinstein, A. R., & Cicchetti, D. V. (1990). High agreement but low
       kappa: I. The problems of two paradoxes. Journal of Clinical
       Epidemiology, 43(6), 543-549.
    .. [2] Gwet, K. L. (2008). Computing inter-rater reliability and its
       variance in the presence of high agreement. British Journal of
       Mathematical and Statistical Psychology, 61, 29-48.
    """
    if res.empty or len(res.by_item) == 0:
        return ""
    th = res.thresholds
    hi = th["alpha_reliable"] if high is None else float(high)
    b = res.by_item
    with np.errstate(invalid="ignore"):
        mask = (b["gwet"].to_numpy(dtype=float) >= hi) & (
            b["alpha"].to_numpy(dtype=float) < th["alpha_tentative"]
        )
    rows = b.loc[mask]
    if len(rows) == 0:
        return (
            "No criterion shows the *kappa paradox* this month (high Gwet agreement with a "
            "low alpha)."
        )
    items = ", ".join(
        f"*{r['name']}* (alpha {_fmt(r['alpha'])}, {r['gwet_coefficient'].split(' ')[0]} "
        f"{_fmt(r['gwet'])}, {_fmt(r['percent_agreement'], 0, pct=True)} of rater pairs agree)"
        for r in rows.to_dict("records")
    )
    return (
        f"**High agreement, low alpha (the kappa paradox):** {items}. "
        "Almost every rating falls in one category (nearly every ticket passes), so the "
        "agreement expected by chance is already high and alpha, which corrects for it, "
        "is driven by the few tickets where raters disagree. Gwet's coefficient is far less "
        "sensitive to such skewed prevalence. Read it as: the room agrees on the routine "
        "case but not on the rare fails, which are the ones that matter; bring examples "
        "of fails to the next session."
    )


def rater_markdown(res: CalibrationResults) -> str:
    """Lenient and severe raters against the reference, with their mean bias and CI."""
    if res.empty or len(res.raters) == 0:
        tail = f" ({res.n_no_reference:,} scored rating(s) had none)" if res.n_no_reference else ""
        return f"No rater calibration: no ratings with a reference this month{tail}."
    r = res.raters
    ref = str(r["reference"].iloc[0])
    n = len(r)
    flagged = r.loc[r["verdict"].isin(["lenient", "severe"])]
    head = (
        f"{len(flagged)} of {n} raters differ from the {ref} by at least "
        f"{_fmt(res.thresholds['bias_flag'] * 100, 0)}% of the scale range "
        f"(with the interval clear of zero)"
    )
    basis = f"Compared on {res.n_compared:,} ratings"
    if res.n_no_reference:
        what = (
            "no expert rating of the same ticket and criterion"
            if ref == "expert"
            else "no other rater on the same ticket and criterion"
        )
        basis += (
            f"; {res.n_no_reference:,} rating(s) had {what} and are left out of rater calibration"
        )
    basis += "."
    if len(flagged) == 0:
        return f"{head}: everyone is aligned. {basis}"
    lines = [head + ":", ""]
    for x in flagged.to_dict("records"):
        lines.append(
            f"- **{x['rater_id']}** is **{x['verdict']}**: mean bias "
            f"{fmt_ci(x['deviation_share'], x['deviation_share_ci_low'], x['deviation_share_ci_high'], digits=1, pct=True, signed=True)} "
            f"of the scale range, matches the {ref} on {_fmt(x['match_rate'], 0, pct=True)} of "
            f"ratings (AC1 {_fmt(x['agreement_ac1'])})."
        )
    lines += ["", basis]
    return "\n".join(lines)


def split_markdown(res: CalibrationResults) -> str:
    """Introduce the discussion list (tickets that split the room)."""
    if res.empty or len(res.split) == 0:
        return "No discussion list: no calibration tickets this month."
    s = res.split.iloc[0]
    crit = (
        res.names.get(s["most_split"], s["most_split"])
        if isinstance(s["most_split"], str)
        else None
    )
    txt = (
        f"The {len(res.split)} tickets below split the raters most (split = mean pairwise "
        f"difference as a share of the scale, 0 = unanimous). Ticket **{s['ticket_id']}** "
        f"tops the list (split {_fmt(s['split'])}, raters differ on {int(s['n_split'])} criteria"
    )
    txt += f", most on *{crit}*)." if crit else ")."
    counts = res.split["most_split"].dropna().map(lambda c: res.names.get(c, c)).value_counts()
    if len(counts):
        txt += (
            f" *{counts.index[0]}* is the most divisive criterion on {int(counts.iloc[0])} of "
            f"them: start the next session there."
        )
    return txt


def drift_sentence(res: CalibrationResults) -> str:
    """Agreement across sessions over the history window, with the Mann-Kendall test."""
    d = res.drift
    if len(d) == 0:
        return "No sessions in the history window: no drift chart."
    per = d.groupby("session_id", sort=False).agg(
        date=("session_date", "first"), mean_alpha=("mean_alpha", "first")
    )
    t = res.drift_trend
    first, last = per.iloc[0], per.iloc[-1]
    txt = (
        f"Over {len(per)} sessions since {pd.Timestamp(first['date']).strftime('%d %B %Y')}, "
        f"the sessions' mean alpha went from {_fmt(first['mean_alpha'])} to "
        f"{_fmt(last['mean_alpha'])}."
    )
    if _finite(t.p_value):
        if t.p_value < 0.05:
            way = "rising" if t.s > 0 else "falling"
            txt += (
                f" Mann-Kendall finds a {way} trend (Kendall's tau {_fmt(t.tau)}, "
                f"p = {t.p_value:.3f})."
            )
        else:
            txt += (
                f" Mann-Kendall finds no significant trend (tau {_fmt(t.tau)}, "
                f"p = {t.p_value:.2f}): session-to-session moves are within noise."
            )
    else:
        txt += f" Too few sessions for a trend test ({t.note})."
    return txt


def agreement_table(res: CalibrationResults) -> pd.DataFrame:
    """Display table: one row per criterion with alpha, Gwet and percent agreement as
    ``"estimate [low, high]"`` strings, the level and the verdict (indexed by criterion name).
    """
    b = res.by_item
    if len(b) == 0:
        return pd.DataFrame(columns=["Level", "Alpha", "Gwet", "Percent agreement", "Verdict"])
    out = pd.DataFrame(
        {
            "Criterion": b["name"],
            "Level": b["level"],
            "Alpha": [fmt_ci(*r) for r in b[["alpha", "alpha_ci_low", "alpha_ci_high"]].to_numpy()],
            "Gwet": [
                f"{c.split(' ')[0]} {fmt_ci(e, lo, hi)}"
                for c, e, lo, hi in b[
                    ["gwet_coefficient", "gwet", "gwet_ci_low", "gwet_ci_high"]
                ].to_numpy()
            ],
            "Percent agreement": [
                fmt_ci(*r, digits=0, pct=True)
                for r in b[
                    ["percent_agreement", "percent_agreement_ci_low", "percent_agreement_ci_high"]
                ].to_numpy()
            ],
            "Verdict": b["verdict"],
        }
    )
    return out.set_index("Criterion")


def rater_table(res: CalibrationResults) -> pd.DataFrame:
    """Display table: one row per rater with tickets, match rate, AC1, mean bias (share of
    the scale range, with CI) and verdict, severe to lenient order kept from ``raters``.
    """
    r = res.raters
    if len(r) == 0:
        return pd.DataFrame(
            columns=["Tickets", "Match", "AC1", "Mean bias (% of range)", "Verdict"]
        )
    out = pd.DataFrame(
        {
            "Rater": r["rater_id"],
            "Tickets": r["n_units"].astype(int),
            "Match": [_fmt(x, 0, pct=True) for x in r["match_rate"]],
            "AC1": r["agreement_ac1"].round(2),
            "Mean bias (% of range)": [
                fmt_ci(e, lo, hi, digits=1, pct=True, signed=True)
                for e, lo, hi in r[
                    ["deviation_share", "deviation_share_ci_low", "deviation_share_ci_high"]
                ].to_numpy()
            ],
            "Verdict": r["verdict"],
        }
    )
    return out.set_index("Rater")


def calibration_kpis(res: CalibrationResults) -> dict[str, Any]:
    """Headline KPIs of the calibration report (``calibration_kpis.json``).

    Scalars (shown in the batch index): ``region, period, n_sessions,
    n_tickets, n_raters, mean_alpha, median_alpha, worst_criterion,
    worst_alpha, n_unreliable_criteria, n_lenient, n_severe, drift_p``;
    ``criteria`` (criterion -> alpha) and ``detail`` (rating counts:
    ``n_ratings_total, n_ratings, n_na, n_no_reference, n_compared``) are
    nested. Without ratings every statistic is None.
    """
    out: dict[str, Any] = {
        "region": res.region,
        "period": res.window.period,
        "n_sessions": res.n_sessions,
        "n_tickets": res.n_tickets,
        "n_raters": res.n_raters,
    }
    out["detail"] = _calibration_counts(res)
    if res.empty or len(res.by_item) == 0:
        out.update(
            mean_alpha=None,
            median_alpha=None,
            worst_criterion=None,
            worst_alpha=None,
            n_unreliable_criteria=None,
            n_lenient=None,
            n_severe=None,
            drift_p=_num(res.drift_trend.p_value),
            criteria={},
        )
        return out
    b = res.by_item
    a = b["alpha"].to_numpy(dtype=float)
    fin = np.isfinite(a)
    worst = b.loc[b["alpha"].idxmin()] if fin.any() else None
    v = res.raters["verdict"] if len(res.raters) else pd.Series(dtype=object)
    out.update(
        mean_alpha=_num(a[fin].mean()) if fin.any() else None,
        median_alpha=_num(np.median(a[fin])) if fin.any() else None,
        worst_criterion=str(worst["criterion"]) if worst is not None else None,
        worst_alpha=_num(worst["alpha"]) if worst is not None else None,
        n_unreliable_criteria=int((b["verdict"] == "unreliable").sum()),
        n_lenient=int((v == "lenient").sum()),
        n_severe=int((v == "severe").sum()),
        drift_p=_num(res.drift_trend.p_value),
        criteria={str(c): _num(x) for c, x in zip(b["criterion"], b["alpha"], strict=True)},
    )
    return out


def _calibration_counts(res: CalibrationResults) -> dict[str, int]:
    return {
        "n_ratings_total": int(res.n_ratings_total),
        "n_ratings": int(res.n_ratings),
        "n_na": int(res.n_na),
        "n_no_reference": int(res.n_no_reference),
        "n_compared": int(res.n_compared),
    }


# ---------------------------------------------------------------------------
# performance report
# ---------------------------------------------------------------------------
_AGG_COLS = [
    "n",
    "mean_score",
    "sd_score",
    "score_ci_low",
    "score_ci_high",
    "passed",
    "pass_rate",
    "pass_ci_low",
    "pass_ci_high",
    "critical_fails",
    "critical_rate",
    "n_unscored",
]


@dataclass(frozen=True)
class PerformanceResults:
    """Everything the performance report shows, for one region and month.

    Attributes
    ----------
    scores : DataFrame
        :func:`qa_analysis.scorecard.score_evaluations` over the window.
    totals : dict
        The month's headline figures (n, pass rate with Wilson CI, mean score
        with t CI, critical rate with Wilson CI, agents, audits per agent,
        tickets, margin of error), ``n_unscored`` (evaluations with every
        criterion N/A: no score, in no rate) and coverage of the month's plan:
        ``planned, done, unplanned, completion, moe_planned, moe_achieved``,
        ``audits_other_tickets`` (audits in the month of tickets outside the
        month's population) and ``pending_late`` (planned tickets of the
        month's last three days not audited yet).
    per_agent : DataFrame
        ``agent_id, tickets, audits`` for every agent with tickets or audits in the month.
    weekly_p, weekly_score : DataFrame
        p-chart and x-bar chart (:func:`qa_analysis.trends.control_chart`)
        of the weekly pass rate and mean score, phase-I baseline = the first
        half of the history (:attr:`Window.baseline_end`).
    trend : Trend
        Mann-Kendall on the weekly pass rate over the window.
    targets : DataFrame
        :func:`qa_analysis.compare.target_status` of the month's KPIs.
    pareto : DataFrame
        :func:`qa_analysis.scorecard.criterion_rates` for the month.
    breakdowns : dict of DataFrame
        Monthly :func:`qa_analysis.trends.aggregate` by market, channel, queue
        (with Wilson intervals for the critical rate).
    funnel, funnel_curve, shrunk : DataFrame
        Agents' pass rates on a funnel (:func:`qa_analysis.compare.funnel`),
        the funnel's limits on a grid of n, and the empirical-Bayes shrunken
        rates (:func:`qa_analysis.compare.shrink`).
    changes : DataFrame
        :func:`qa_analysis.trends.compare_periods`, previous month vs the
        report month, pass rate and mean score, overall (``market = "All"``)
        and by market.
    csat : DataFrame
        :func:`qa_analysis.compare.csat_link` over the window, overall and by channel.
    plan : DataFrame
        Next month's audit plan: :func:`qa_analysis.sampling.audit_plan` drawn
        from the report month's tickets (the latest population, as a template
        for next month's) with seed ``period_seed(seed, <next month>)``.
    month_plan : DataFrame
        The report month's own plan, re-drawn exactly as it was issued:
        ``audit_plan(month tickets, per_agent, seed=period_seed(seed, <month>))``.
    coverage : DataFrame
        :func:`qa_analysis.sampling.coverage` of ``month_plan`` by the month's
        audits of the month's tickets, per agent (``planned, done, unplanned,
        completion, moe_planned, moe_achieved``).
    target_values : dict
        The targets used (``DEFAULT_TARGETS`` updated with the ``targets``
        argument): use these, not the raw parameter, in figures.
    seed : int
        Base seed of the audit plans (see :func:`qa_analysis.sampling.period_seed`).
    """

    region: str | None
    window: Window
    targets_spec: dict[str, Any]
    scores: pd.DataFrame
    month: pd.DataFrame
    totals: dict[str, Any]
    per_agent: pd.DataFrame
    weekly_p: pd.DataFrame
    weekly_score: pd.DataFrame
    trend: tr.Trend
    targets: pd.DataFrame
    pareto: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame]
    funnel: pd.DataFrame
    funnel_curve: pd.DataFrame
    shrunk: pd.DataFrame
    changes: pd.DataFrame
    csat: pd.DataFrame
    plan: pd.DataFrame
    per_agent_target: int
    month_plan: pd.DataFrame = field(default_factory=pd.DataFrame)
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    target_values: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    @property
    def empty(self) -> bool:
        """True when the month has no scored evaluation."""
        return not self.totals.get("n")

    @property
    def next_period(self) -> str:
        """The month after the report month (``"2026-11"``), the period of ``plan``."""
        return str(pd.Period(self.window.period, freq="M") + 1)

    @property
    def ranked(self) -> bool:
        """Whether the agents' shrunken pass rates support a ranking (see :func:`agents_ranked`)."""
        return agents_ranked(self.shrunk)

    @property
    def pass_rate_changes(self) -> pd.DataFrame:
        """The pass-rate rows of ``changes`` (overall first, then by market)."""
        c = self.changes
        return c.loc[c["metric"] == "pass_rate"].reset_index(drop=True) if len(c) else c


def _score(ev: pd.DataFrame, scorecard: Scorecard) -> pd.DataFrame:
    if len(ev) == 0:
        cols = [
            c
            for c in (
                "evaluation_id",
                "ticket_id",
                "agent_id",
                "reviewer_id",
                "region",
                "market",
                "channel",
                "queue",
                "evaluated_at",
                "csat",
            )
        ]
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        out["evaluated_at"] = pd.Series(dtype="datetime64[ns]")
        out["csat"] = pd.Series(dtype=float)
        out["score"] = pd.Series(dtype=float)
        out["passed"] = pd.Series(dtype="boolean")
        out["critical_fail"] = pd.Series(dtype=bool)
        out["n_applicable"] = pd.Series(dtype=np.int64)
        return out
    return score_evaluations(ev, scorecard)


def _target_spec(targets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    spec = {}
    for k, v in targets.items():
        if v is None:
            continue
        spec[k] = {"target": float(v), "direction": TARGET_DIRECTIONS.get(k, "min")}
    return spec


def _moe(n: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Margin of error at p = 0.5 (95%), with the finite-population correction where the
    population is known (at least n tickets), without it elsewhere; NaN where n = 0.
    """
    n = np.asarray(n, dtype=float)
    pop = np.asarray(population, dtype=float)
    if n.size == 0:
        return np.array([])
    known = pop >= np.maximum(n, 1)
    return smp.margin_of_error(n, population=np.where(known, pop, np.nan))


def _month_totals(
    month: pd.DataFrame, tickets: pd.DataFrame, per_agent: pd.DataFrame
) -> dict[str, Any]:
    s = month["score"].to_numpy(dtype=float) if len(month) else np.array([])
    ok = ~np.isnan(s)
    n = int(ok.sum())
    passed = int(np.nansum(month["passed"].to_numpy(dtype=float, na_value=np.nan)[ok])) if n else 0
    crit = int(month["critical_fail"].to_numpy(dtype=bool)[ok].sum()) if n else 0
    plo, phi = tr.wilson_interval(passed, n)
    clo, chi = tr.wilson_interval(crit, n)
    if n:
        agg = tr.aggregate(month.assign(_m=0), freq="MS").query("n > 0")
        mean, mlo, mhi = (
            float(agg["mean_score"].iloc[0]),
            float(agg["score_ci_low"].iloc[0]),
            float(agg["score_ci_high"].iloc[0]),
        )
    else:
        mean = mlo = mhi = np.nan
    n_agents = len(per_agent)
    n_tickets = len(tickets) if len(tickets) else None
    return {
        "n": n,
        "n_unscored": int((~ok).sum()),
        "passed": passed,
        "pass_rate": passed / n if n else np.nan,
        "pass_ci_low": float(plo),
        "pass_ci_high": float(phi),
        "mean_score": mean,
        "score_ci_low": mlo,
        "score_ci_high": mhi,
        "critical_fails": crit,
        "critical_rate": crit / n if n else np.nan,
        "critical_ci_low": float(clo),
        "critical_ci_high": float(chi),
        "n_agents": n_agents,
        "n_tickets": n_tickets,
        "audits_per_agent": n / n_agents if n_agents else np.nan,
        "moe": float(_moe(np.array([n]), np.array([n_tickets or 0]))[0]),
    }


def performance_results(
    evaluations: pd.DataFrame,
    tickets: pd.DataFrame,
    scorecard: Scorecard,
    window: Window,
    *,
    targets: Mapping[str, Any] | None = None,
    sampling: Mapping[str, Any] | None = None,
    seed: int = 0,
    region: str | None = None,
) -> PerformanceResults:
    """Run the performance report's analyses.

    Parameters
    ----------
    evaluations : DataFrame
        Long evaluations covering the window (history + month).
    tickets : DataFrame
        The month's ticket population (the sampling frame for the next audit
        plan and the denominator of coverage); may be empty.
    scorecard : Scorecard
    window : Window
    targets : mapping, optional
        ``pass_rate``, ``mean_score``, ``critical_rate`` (at most),
        ``audits_per_agent`` (and ``alpha``, ignored here). Missing keys take
        :data:`DEFAULT_TARGETS` (the values of ``params/defaults.yaml``), so a
        plain ``papermill -f params/<region>.yaml`` run that sets only some
        targets behaves like the batch, which merges the files.
    sampling : mapping, optional
        ``per_agent``: audits per agent in each month's plan (the report
        month's, re-drawn to check coverage, and next month's).
    seed : int
        Base seed of the audit plans: a month's plan uses
        :func:`qa_analysis.sampling.period_seed` ``(seed, "YYYY-MM")``.

    Returns
    -------
    PerformanceResults

    Notes
    -----
    Weekly series: :func:`qa_analysis.trends.aggregate` (weeks start on
    Monday) over the window; the p-chart's limits vary with each week's n and
    are estimated from the first half of the history (phase I,
    :attr:`Window.baseline_end`), so recent weeks are judged against the level
    before them and a shift inside the history is not absorbed into the limits. Coverage: audits per agent and
    the margin of error of the month's pass rate at p = 0.5 with the finite
    population correction (:func:`qa_analysis.sampling.margin_of_error`);
    against the sampling plan, the month's plan is re-drawn from the month's
    tickets with the month's seed (the same draw that was issued) and the
    month's audits of the month's tickets are matched to it
    (:func:`qa_analysis.sampling.coverage`, by agent). Audits in the month of
    tickets outside the month's population (created in an earlier month:
    they belong to an earlier plan) are counted separately, not as unplanned.

    References
    ----------
    .. [1] Montgomery, D. C. (2019). Introduction to Statistical Quality
       Control, 8th ed., Wiley (p chart with variable n, phase I / II).
    .. [2] Spiegelhalter, D. J. (2005). Funnel plots for comparing
       institutional performance. Statistics in Medicine, 24(8), 1185-1202.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_analysis.scorecard import Scorecard
    >>> sc = Scorecard.from_dict({"pass_mark": 80, "criteria": [{"id": "resolution", "scale": [0, 1]}]})
    >>> ev = pd.DataFrame({"evaluation_id": ["e1", "e2", "e3", "e4"], "ticket_id": ["t1", "t2", "t3", "t4"],
    ...     "agent_id": ["a", "a", "b", "b"], "market": "DE", "channel": "chat",
    ...     "evaluated_at": pd.to_datetime(["2026-09-10", "2026-10-05", "2026-10-06", "2026-10-20"]),
    ...     "criterion": "resolution", "score": [1.0, 1.0, 0.0, 1.0]})
    >>> res = performance_results(ev, pd.DataFrame(), sc, report_window("2026-10", 1))
    >>> res.totals["n"], round(res.totals["pass_rate"], 3)
    (3, 0.667)
    """
    tg = merged_targets(targets)
    per_agent_plan = int((sampling or {}).get("per_agent", tg.get("audits_per_agent", 5)))
    scores = _score(evaluations, scorecard)
    scores = (
        _in_window(scores, "evaluated_at", window.history_start, window.end)
        if len(scores)
        else scores
    )
    month = _in_window(scores, "evaluated_at", window.start, window.end) if len(scores) else scores
    scored_month = month.loc[month["score"].notna()] if len(month) else month

    # coverage: audits per agent among agents with tickets (or audits) this month
    t_agents = (
        tickets.groupby("agent_id").size().rename("tickets")
        if len(tickets)
        else pd.Series(dtype=np.int64, name="tickets")
    )
    e_agents = (
        scored_month.groupby("agent_id").size().rename("audits")
        if len(scored_month)
        else pd.Series(dtype=np.int64, name="audits")
    )
    per_agent = pd.concat([t_agents, e_agents], axis=1).fillna(0).astype(np.int64)
    per_agent.index.name = "agent_id"
    per_agent = per_agent.reset_index().sort_values(["audits", "agent_id"], kind="stable")
    per_agent = per_agent.reset_index(drop=True)
    per_agent["moe"] = _moe(per_agent["audits"].to_numpy(), per_agent["tickets"].to_numpy())
    totals = _month_totals(month, tickets, per_agent)
    totals["agents_at_target"] = int((per_agent["audits"] >= tg.get("audits_per_agent", 0)).sum())

    # weekly control charts and trend
    weekly = tr.aggregate(scores, freq="W")
    base = window.baseline_end
    if base is None or not len(weekly) or not (weekly["period"] < base).any():
        base = None
    if len(weekly):
        weekly_p = tr.control_chart(weekly, kind="p", baseline=base)
        weekly_score = tr.control_chart(weekly, kind="xbar", baseline=base)
    else:
        weekly_p = weekly_score = weekly
    trend = (
        tr.mann_kendall(weekly["pass_rate"].to_numpy(dtype=float))
        if len(weekly)
        else tr.mann_kendall([])
    )

    # targets
    kp = pd.DataFrame(
        {
            "kpi": ["pass_rate", "mean_score", "critical_rate", "audits_per_agent"],
            "value": [
                totals["pass_rate"],
                totals["mean_score"],
                totals["critical_rate"],
                totals["audits_per_agent"],
            ],
            "ci_low": [
                totals["pass_ci_low"],
                totals["score_ci_low"],
                totals["critical_ci_low"],
                np.nan,
            ],
            "ci_high": [
                totals["pass_ci_high"],
                totals["score_ci_high"],
                totals["critical_ci_high"],
                np.nan,
            ],
        }
    )
    spec = _target_spec({k: v for k, v in tg.items() if k in set(kp["kpi"])})
    tstat = cmp.target_status(kp, spec)
    tstat.insert(1, "label", tstat["kpi"].map(KPI_LABELS))

    # Pareto, breakdowns, agents, changes, CSAT
    month_ev = (
        _in_window(evaluations, "evaluated_at", window.start, window.end)
        if len(evaluations)
        else evaluations
    )
    pareto = (
        criterion_rates(month_ev, scorecard)
        if len(month_ev)
        else pd.DataFrame(
            columns=[
                "criterion",
                "name",
                "section",
                "critical",
                "n",
                "fails",
                "fail_rate",
                "share",
                "cum_share",
            ]
        )
    )
    breakdowns = {}
    for col in ("market", "channel", "queue"):
        if len(scored_month) and col in scored_month:
            b = tr.aggregate(scored_month, by=col, freq="MS")
            b = b.loc[b["n"] > 0].drop(columns="period").reset_index(drop=True)
            lo, hi = tr.wilson_interval(b["critical_fails"], b["n"])
            b["critical_ci_low"], b["critical_ci_high"] = lo, hi
        else:
            b = pd.DataFrame(columns=[col, *_AGG_COLS, "critical_ci_low", "critical_ci_high"])
        breakdowns[col] = b
    if len(scored_month):
        fun = cmp.funnel(scored_month, unit="agent_id", metric="passed")
        p0 = fun.attrs.get("target", np.nan)
        grid = np.unique(
            np.geomspace(1, max(int(fun["n"].max()) * 1.3, 10), 60).round().astype(int)
        )
        curve = cmp.funnel_limits(p0, grid) if _finite(p0) else pd.DataFrame()
        shr = cmp.shrink(scored_month, unit="agent_id", metric="passed")
        info = dict(shr.attrs)  # merge drops attrs: the fit, the test and the note live there
        shr = shr.merge(fun[["agent_id", "position"]], on="agent_id", how="left")
        shr.attrs.update(info)
    else:
        fun = curve = pd.DataFrame()
        shr = pd.DataFrame(
            columns=[
                "agent_id",
                "n",
                "events",
                "raw_rate",
                "shrunk_rate",
                "ci_low",
                "ci_high",
                "rank",
                "distinguishable",
                "position",
            ]
        )
    changes = _changes(scores, window)
    csat = _csat(scores)
    # this month's plan (re-drawn as issued) and coverage against it; next month's plan,
    # drawn from this month's population (the latest available) with next month's seed
    next_period = str(pd.Period(window.period, freq="M") + 1)
    month_plan = _plan(tickets, per_agent_plan, smp.period_seed(int(seed), window.period))
    plan = _plan(tickets, per_agent_plan, smp.period_seed(int(seed), next_period))
    cov, cov_totals = _coverage(month_plan, month_ev, tickets, window)
    totals.update(cov_totals)
    return PerformanceResults(
        region=region,
        window=window,
        targets_spec=spec,
        scores=scores,
        month=month,
        totals=totals,
        per_agent=per_agent,
        weekly_p=weekly_p,
        weekly_score=weekly_score,
        trend=trend,
        targets=tstat,
        pareto=pareto,
        breakdowns=breakdowns,
        funnel=fun,
        funnel_curve=curve,
        shrunk=shr,
        changes=changes,
        csat=csat,
        plan=plan,
        per_agent_target=per_agent_plan,
        month_plan=month_plan,
        coverage=cov,
        target_values={k: v for k, v in tg.items() if v is not None},
        seed=int(seed),
    )


_PLAN_COLS = ["ticket_id", "agent_id", "channel", "inclusion_prob", "design_weight", "take_all"]
_COV_COLS = [
    "agent_id",
    "population",
    "planned",
    "done",
    "unplanned",
    "completion",
    "moe_planned",
    "moe_achieved",
]


def _plan(tickets: pd.DataFrame, per_agent: int, seed: int) -> pd.DataFrame:
    if len(tickets):
        return smp.audit_plan(tickets, per_agent=per_agent, seed=seed)
    plan = pd.DataFrame(columns=_PLAN_COLS)
    plan.attrs["note"] = "no tickets in the month: no plan drawn"
    return plan


def _coverage(
    plan: pd.DataFrame, month_ev: pd.DataFrame, tickets: pd.DataFrame, window: Window
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-agent coverage of the month's plan and the month's totals (see performance_results)."""
    nan = float("nan")
    out: dict[str, Any] = {
        "planned": 0,
        "done": 0,
        "unplanned": 0,
        "completion": nan,
        "moe_planned": nan,
        "moe_achieved": nan,
        "audits_other_tickets": 0,
        "pending_late": 0,
    }
    ev = (
        month_ev[["ticket_id", "agent_id"]].drop_duplicates("ticket_id")
        if len(month_ev)
        else pd.DataFrame(
            {"ticket_id": pd.Series(dtype=object), "agent_id": pd.Series(dtype=object)}
        )
    )
    if len(plan) == 0 or len(tickets) == 0:
        out["audits_other_tickets"] = len(ev) if len(tickets) == 0 else 0
        return pd.DataFrame(columns=_COV_COLS), out
    # Index lookup: Series.isin on Arrow strings loops in Python (half this function's time)
    in_pop = pd.Index(tickets["ticket_id"]).get_indexer_for(ev["ticket_id"]) >= 0
    cov = smp.coverage(plan, ev.loc[in_pop], by="agent_id")
    planned, done = int(cov["planned"].sum()), int(cov["done"].sum())
    n_pop = len(tickets)
    out.update(
        planned=planned,
        done=done,
        unplanned=int(cov["unplanned"].sum()),
        completion=done / planned if planned else nan,
        moe_planned=float(_moe(np.array([planned]), np.array([n_pop]))[0]),
        moe_achieved=float(_moe(np.array([done]), np.array([n_pop]))[0]),
        audits_other_tickets=int((~in_pop).sum()),
    )
    if "created_at" in plan:
        # planned tickets of the month's last three days may still be waiting for their audit
        late = pd.to_datetime(plan["created_at"]) >= window.end - pd.Timedelta(days=2)
        out["pending_late"] = int((late & ~plan["ticket_id"].isin(ev["ticket_id"])).sum())
    return cov[_COV_COLS].reset_index(drop=True), out


def _changes(scores: pd.DataFrame, window: Window) -> pd.DataFrame:
    cols = [
        "metric",
        "market",
        "n_a",
        "n_b",
        "value_a",
        "value_b",
        "change",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
        "note",
    ]
    if len(scores) == 0 or "market" not in scores:
        return pd.DataFrame(columns=cols)
    a = (window.prev_start, window.prev_end)
    b = (window.start, window.end)
    parts = []
    for metric in ("pass_rate", "score"):
        overall = tr.compare_periods(scores, period_a=a, period_b=b, metric=metric)
        overall.insert(0, "market", "All")
        by = tr.compare_periods(scores, period_a=a, period_b=b, by="market", metric=metric)
        t = pd.concat([overall, by], ignore_index=True)
        t.insert(0, "metric", metric)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)[cols]


def _csat(scores: pd.DataFrame) -> pd.DataFrame:
    if len(scores) == 0 or "csat" not in scores or scores["csat"].notna().sum() == 0:
        return pd.DataFrame(columns=["channel", "n", "rho", "ci_low", "ci_high", "p_value", "note"])
    overall = cmp.csat_link(scores)
    overall.insert(0, "channel", "All")
    by = cmp.csat_link(scores, by="channel") if "channel" in scores else overall.iloc[0:0]
    return pd.concat([overall, by], ignore_index=True)


def volume_markdown(res: PerformanceResults) -> str:
    """Audit volume and coverage against the sampling plan and the per-agent target.

    Three paragraphs: the volume (evaluations scored, unscored ones counted,
    the margin of error of the pass rate), the month's plan (planned, done,
    unplanned, completion, achieved margin; audits of earlier months' tickets
    and planned tickets of the last days still pending counted), and audits
    per agent against the target.
    """
    t = res.totals
    tgt = res.targets_spec.get("audits_per_agent", {}).get("target")
    if res.empty:
        txt = (
            f"**No scored evaluations in {res.window.label}.** Quality figures, targets and "
            "agent rankings below are empty; the audit plan for next month is still drawn "
            "when the month's ticket population is available."
        )
        if t.get("n_unscored"):
            txt += (
                f" {t['n_unscored']:,} evaluation(s) had every criterion N/A: they have no "
                "score and count in no rate."
            )
        return txt
    tickets = (
        (
            f" out of {t['n_tickets']:,} tickets handled (the margin of error of the pass rate "
            f"is +-{_fmt(t['moe'], 1, pct=True)} at 95%, worst case p = 0.5)"
        )
        if t["n_tickets"]
        else ""
    )
    paras = []
    txt = f"In {res.window.label}, **{t['n']:,} evaluations** were scored{tickets}."
    if t["n_unscored"]:
        txt += (
            f" {t['n_unscored']:,} more evaluation(s) had every criterion N/A: they have no "
            "score and are left out of the pass rate, mean score and critical-error rate."
        )
    paras.append(txt)
    paras.append(_plan_coverage_text(res))
    txt = (
        f"{t['n_agents']} agents had tickets or audits: {_fmt(t['audits_per_agent'], 1)} scored "
        f"audits per agent on average"
    )
    if tgt is not None:
        txt += (
            f" against a target of {_fmt(tgt, 0)}; {t['agents_at_target']} of {t['n_agents']} "
            f"agents reached it"
        )
    txt += "."
    if len(res.per_agent):
        med = (
            float(np.nanmedian(res.per_agent["moe"]))
            if res.per_agent["audits"].gt(0).any()
            else np.nan
        )
        txt += (
            f" With so few audits an individual agent's pass rate is uncertain by about "
            f"+-{_fmt(med, 0, pct=True)} (median margin of error per agent), which is why "
            "agents are compared on a funnel plot with shrunken rates below."
        )
    paras.append(txt)
    return "\n\n".join(p for p in paras if p)


def _plan_coverage_text(res: PerformanceResults) -> str:
    """The month's audit plan against the audits done (see :func:`performance_results`)."""
    t = res.totals
    if not t.get("planned"):
        other = t.get("audits_other_tickets", 0)
        return "No audit plan to check coverage against: no ticket population for the month" + (
            f" ({other:,} audited ticket(s) in the month)." if other else "."
        )
    txt = (
        f"**Against the month's audit plan** ({res.per_agent_target} tickets per agent, "
        f"re-drawn from the month's tickets with the month's seed): **{t['done']:,} of "
        f"{t['planned']:,} planned audits done ({_fmt(t['completion'], 1, pct=True)})**, "
        f"{t['unplanned']:,} audit(s) of the month's tickets outside the plan. The planned "
        f"sample would give a margin of error of +-{_fmt(t['moe_planned'], 1, pct=True)}; the "
        f"audits done achieve +-{_fmt(t['moe_achieved'], 1, pct=True)} (95%, p = 0.5; "
        "unplanned audits are not a random sample and do not count toward it)."
    )
    if len(res.coverage):
        short = int((res.coverage["completion"] < 1).sum())
        txt += f" {short} of {len(res.coverage)} agents have planned audits still missing."
    if t.get("pending_late"):
        txt += (
            f" {t['pending_late']:,} of the missing audits are of tickets from the month's "
            "last three days, which may still be in the queue."
        )
    if t.get("audits_other_tickets"):
        txt += (
            f" A further {t['audits_other_tickets']:,} audit(s) this month were of tickets "
            "outside the month's population (created in an earlier month, so part of an "
            "earlier plan) and are not counted against this plan."
        )
    return txt


def control_markdown(res: PerformanceResults) -> str:
    """Control-chart reading: centre line, limits and the signals in the report month."""
    cc = res.weekly_p
    if len(cc) == 0 or res.empty:
        return "No weekly series to chart."
    base = cc.loc[cc["baseline"]]
    month = cc.loc[cc["period"] >= res.window.start - pd.Timedelta(days=6)]
    month = month.loc[month["period"] <= res.window.end]
    sig = cc.loc[cc["signal"]]
    sig_m = month.loc[month["signal"]]
    if len(base) and len(base) < len(cc):
        last = pd.Timestamp(base["period"].max()) + pd.Timedelta(days=6)
        txt = (
            f"The p-chart's centre line is the pass rate of the {len(base)} baseline weeks up to "
            f"{last.strftime('%d %B %Y')} ({_fmt(cc['center'].iloc[0], 1, pct=True)}); later weeks "
            "are judged against it, and the 3-sigma limits widen in weeks with fewer audits. "
        )
    else:
        txt = (
            f"The p-chart's centre line is the pass rate over all {len(cc)} weeks "
            f"({_fmt(cc['center'].iloc[0], 1, pct=True)}); the 3-sigma limits widen in weeks "
            "with fewer audits. "
        )
    if len(sig) == 0:
        txt += "No week breaks a Western Electric rule: the process is in statistical control."
        return txt
    rules = {
        "rule1": "a point beyond 3 sigma",
        "rule2": "2 of 3 beyond 2 sigma",
        "rule3": "4 of 5 beyond 1 sigma",
        "rule4": "8 in a row on one side",
    }
    txt += f"{len(sig)} week(s) signal over the window"
    if len(sig_m):
        kinds = sorted(rules[r] for r in rules if sig_m[r].to_numpy(dtype=bool).any())
        lows = int((sig_m["value"] < sig_m["center"]).sum())
        txt += (
            f", {len(sig_m)} of them in or at the start of {res.window.label} ({', '.join(kinds)}; "
            f"{lows} below the centre line)"
        )
    first = sig.iloc[0]
    txt += (
        f"; the first signal is the week of {pd.Timestamp(first['period']).strftime('%d %B %Y')} "
        f"({_fmt(first['value'], 1, pct=True)}). Signals call for a look at causes, not for "
        "reacting to every weekly wobble."
    )
    return txt


def trend_sentence(res: PerformanceResults) -> str:
    """Mann-Kendall trend of the weekly pass rate over the window."""
    t = res.trend
    if not _finite(t.p_value):
        return f"No trend test: {t.note or 'too few weeks'}."
    slope = f"{_fmt(t.slope * 100, 2, signed=True)} points per week"
    if t.p_value < 0.05:
        way = "improving" if t.s > 0 else "declining"
        return (
            f"Over {t.n} weeks ({res.window.history_label}) the pass rate is **{way}** "
            f"(Mann-Kendall tau {_fmt(t.tau)}, p = {t.p_value:.3g}; Sen's slope {slope})."
        )
    return (
        f"Over {t.n} weeks ({res.window.history_label}) there is no significant trend in the "
        f"pass rate (Mann-Kendall p = {t.p_value:.2f}; Sen's slope {slope})."
    )


def _trend_direction(t: tr.Trend) -> str | None:
    if not _finite(t.p_value):
        return None
    if t.p_value >= 0.05:
        return "none"
    return "up" if t.s > 0 else "down"


def targets_markdown(res: PerformanceResults) -> str:
    """Targets met / missed, with whether the gap is clear of the KPI's uncertainty."""
    t = res.targets
    if res.empty or len(t) == 0:
        return "No targets assessed: no evaluations this month."
    pct = {"pass_rate", "critical_rate"}
    lines = []
    for r in t.to_dict("records"):
        if r["status"] is pd.NA or r["status"] is None:
            continue
        p = r["kpi"] in pct
        val = fmt_ci(r["value"], r["ci_low"], r["ci_high"], digits=1, pct=p)
        tgt = _fmt(r["target"], 1, pct=p)
        word = "at most" if r["direction"] == "max" else "at least"
        clear = ""
        if r["clear"] is True:
            clear = " (clear: the interval excludes the target)"
        elif r["clear"] is False:
            clear = " (within the noise: the interval includes the target)"
        mark = "**met**" if r["status"] == "met" else f"**{r['status']}**"
        lines.append(f"- {r['label']}: {val} vs target {word} {tgt}: {mark}{clear}.")
    met = int((t["status"] == "met").sum())
    missed = int((t["status"] == "missed").sum())
    return f"{met} target(s) met, {missed} missed.\n\n" + "\n".join(lines)


def pareto_sentence(res: PerformanceResults) -> str:
    """The vital few criteria that account for most fails."""
    p = res.pareto
    if len(p) == 0 or p["fails"].sum() == 0:
        return "No criterion failed this month."
    k = int(np.searchsorted(p["cum_share"].to_numpy(dtype=float), 0.8 - 1e-12) + 1)
    k = min(k, len(p))
    top = ", ".join(f"*{n}*" for n in p["name"].head(k))
    return (
        f"{int(p['fails'].sum()):,} criterion fails this month; {k} of {len(p)} criteria "
        f"({top}) account for {_fmt(p['cum_share'].iloc[k - 1], 0, pct=True)} of them. "
        f"The top one, *{p['name'].iloc[0]}*, fails on {_fmt(p['fail_rate'].iloc[0], 1, pct=True)} "
        "of the evaluations where it applies."
    )


def critical_sentence(res: PerformanceResults) -> str:
    """The critical-error rate overall and its highest channel."""
    t = res.totals
    if res.empty:
        return "No critical-error rate: no evaluations this month."
    txt = (
        f"{t['critical_fails']} of {t['n']:,} evaluations had a critical error "
        f"({fmt_ci(t['critical_rate'], t['critical_ci_low'], t['critical_ci_high'], digits=1, pct=True)})."
    )
    ch = res.breakdowns.get("channel")
    if ch is not None and len(ch) > 1:
        w = ch.sort_values("critical_rate", ascending=False, kind="stable").iloc[0]
        rest = ch.loc[ch["channel"] != w["channel"]]
        other = rest["critical_fails"].sum() / rest["n"].sum() if rest["n"].sum() else np.nan
        txt += (
            f" Channel **{w['channel']}** has the highest rate, "
            f"{fmt_ci(w['critical_rate'], w['critical_ci_low'], w['critical_ci_high'], digits=1, pct=True)}, "
            f"against {_fmt(other, 1, pct=True)} on the other channels."
        )
    return txt


_NO_RANKING = "agents' pass rates do not differ beyond chance this month: no ranking"


def agents_ranked(shrunk: pd.DataFrame) -> bool:
    """Whether :func:`qa_analysis.compare.shrink` found the agents distinguishable, so that
    a ranking means something.

    Reads ``attrs["distinguishable"]`` or the ``distinguishable`` column; with
    neither, a ``rank`` column that is entirely missing, or a ``note`` saying
    there is no variation beyond chance or no fitted population, means no
    ranking. Empty input: False.

    Examples
    --------
    >>> s = pd.DataFrame({"agent_id": ["a", "b"], "rank": pd.array([pd.NA, pd.NA], "Int64")})
    >>> agents_ranked(s), agents_ranked(s.assign(rank=[1, 2]))
    (False, True)
    """
    if len(shrunk) == 0:
        return False
    if "distinguishable" in shrunk.attrs:
        return bool(shrunk.attrs["distinguishable"])
    if "distinguishable" in shrunk:
        return bool(shrunk["distinguishable"].fillna(False).astype(bool).all())
    if "rank" in shrunk and shrunk["rank"].isna().all():
        return False
    note = str(shrunk.attrs.get("note") or "")
    return not (
        "beyond chance" in note
        or "not distinguishable" in note
        or "no prior fitted" in note
        or "no population fitted" in note
    )


def top_bottom(res: PerformanceResults, k: int = 5) -> pd.DataFrame:
    """The ``k`` best and ``k`` worst agents by shrunken pass rate (ids as loaded).

    Only when the agents are distinguishable (:func:`agents_ranked`). Otherwise
    there is no ranking to show: the table lists only the agents outside the
    funnel's 99.8% limits (``group`` "above funnel" / "below funnel", usually
    none), with ``rank`` missing, and ``attrs["note"]`` says why.
    """
    s = res.shrunk
    if len(s) == 0:
        out = s.assign(group=pd.Series(dtype=object))
        out.attrs["note"] = "no evaluations this month: no agents to compare"
        return out
    if not agents_ranked(s):
        pos = s["position"] if "position" in s else pd.Series("within", index=s.index)
        off = s.loc[pos.isin(["above", "below"]).to_numpy()]
        out = off.assign(
            group=off["position"] + " funnel", rank=pd.array([pd.NA] * len(off), dtype="Int64")
        )
        out = out.sort_values(["group", "raw_rate"], ascending=[True, False], kind="stable")
        out = out.reset_index(drop=True)
        out.attrs["note"] = _no_ranking_reason(s)
        return out
    top = s.head(k).assign(group="top")
    bottom = s.tail(k).assign(group="bottom") if len(s) > k else s.iloc[0:0]
    return pd.concat([top, bottom.iloc[::-1]], ignore_index=True)


def _no_ranking_reason(shrunk: pd.DataFrame) -> str:
    note = str(shrunk.attrs.get("note") or "")
    if "fitted" in note and "chance" not in note:  # too few agents or every rate 0 or 1
        return f"no ranking: {note.split(';')[0]}"
    return _NO_RANKING


def agents_markdown(res: PerformanceResults) -> str:
    """Funnel outliers and, when the agents differ beyond chance, the shrunken ranking.

    When :func:`qa_analysis.compare.shrink` finds the between-agent variation
    indistinguishable from chance, the text says "agents' pass rates do not
    differ beyond chance this month: no ranking" instead of presenting a 1..N
    order that would be noise.
    """
    f = res.funnel
    if len(f) == 0:
        return "No agent comparison: no evaluations this month."
    above = int((f["position"] == "above").sum())
    below = int((f["position"] == "below").sum())
    warn = int(f["warning"].sum())
    txt = (
        f"{len(f)} agents, {int(f['n'].median())} audits each (median). Against the region's "
        f"pooled pass rate of {_fmt(f.attrs.get('target'), 1, pct=True)}, {below} agent(s) fall "
        f"below and {above} above the 99.8% funnel limits ({warn} outside the 95% limits). "
        "Points inside the funnel are indistinguishable from the average at this sample size."
    )
    s = res.shrunk
    p = s.attrs.get("overdispersion_p") if len(s) else None
    test = f" (test for between-agent variation: p = {float(p):.2g})" if _finite(p) else ""
    if not agents_ranked(s):
        reason = _no_ranking_reason(s)
        txt += f" **{reason[:1].upper()}{reason[1:]}**{test}."
        if reason == _NO_RANKING:
            txt += (
                " The spread of the agents' pass rates is what chance alone gives with this "
                "many audits, so any top or bottom list would be noise; the table below lists "
                "only agents outside the funnel's 99.8% limits, if any."
            )
        return txt
    txt += (
        f" The agents do differ beyond chance{test}. Rankings use shrunken rates (a "
        "hierarchical beta-binomial model), which pull small samples toward the average so "
        "that a lucky or unlucky handful of audits does not top or tail the list."
    )
    note = s.attrs.get("note") if len(s) else ""
    if note:
        txt += f" ({_sentence(note).strip()})"
    return txt


def changes_markdown(res: PerformanceResults) -> str:
    """Month-over-month change in pass rate, overall and significant markets."""
    c = res.changes
    if len(c) == 0:
        return "No period comparison."
    pr = c.loc[c["metric"] == "pass_rate"]
    allr = pr.loc[pr["market"] == "All"].iloc[0]
    prev = res.window.prev_start.strftime("%B")
    if not _finite(allr["change"]):
        return (
            f"No comparison with {prev}: {allr['note'] or 'no evaluations in one of the months'}."
        )
    sig = (
        "significant" if _finite(allr["p_value"]) and allr["p_value"] < 0.05 else "not significant"
    )
    txt = (
        f"Pass rate {_fmt(allr['value_a'], 1, pct=True)} in {prev} -> "
        f"{_fmt(allr['value_b'], 1, pct=True)} in {res.window.start.strftime('%B')}: "
        f"{_fmt(allr['change'] * 100, 1, signed=True)} points "
        f"[{_fmt(allr['ci_low'] * 100, 1, signed=True)}, {_fmt(allr['ci_high'] * 100, 1, signed=True)}], "
        f"{sig} (p = {_fmt(allr['p_value'], 3)})."
    )
    mk = pr.loc[(pr["market"] != "All")]
    s = mk.loc[mk["p_adjusted"].astype(float) < 0.05]
    if len(s):
        txt += (
            " Markets with a significant change after Holm adjustment: "
            + ", ".join(
                f"{r['market']} ({_fmt(r['change'] * 100, 1, signed=True)} pts)"
                for r in s.to_dict("records")
            )
            + "."
        )
    else:
        txt += " No market changed significantly after Holm adjustment for multiple comparisons."
    return txt


def csat_sentence(res: PerformanceResults) -> str:
    """Spearman correlation of QA score with CSAT (where a survey was answered)."""
    c = res.csat
    if len(c) == 0:
        return "No CSAT in the data: the QA score vs CSAT check is skipped."
    r = c.iloc[0]
    if not _finite(r["rho"]):
        return f"Too few evaluations with CSAT for a correlation ({r['note']})."
    strength = "weak" if abs(r["rho"]) < 0.3 else "moderate" if abs(r["rho"]) < 0.5 else "strong"
    sign = "positive" if r["rho"] > 0 else "negative"
    return (
        f"On {int(r['n']):,} evaluated tickets with a CSAT answer ({res.window.history_label}), "
        f"QA score and CSAT have a {strength} {sign} rank correlation: Spearman's rho "
        f"{fmt_ci(r['rho'], r['ci_low'], r['ci_high'])}. "
        + (
            "Higher QA scores go with happier customers, which supports the scorecard."
            if r["rho"] > 0 and _finite(r["ci_low"]) and r["ci_low"] > 0
            else "The link is not clearly positive: worth checking which criteria customers care about."
        )
    )


def plan_sentence(res: PerformanceResults) -> str:
    """Describe next month's audit plan (drawn from the latest month's population)."""
    p = res.plan
    if len(p) == 0:
        return f"No audit plan: {p.attrs.get('note', 'no tickets in the month')}."
    n_agents = p["agent_id"].nunique()
    nxt = pd.Period(res.next_period, freq="M").start_time.strftime("%B %Y")
    return (
        f"The audit sample for {nxt}, **{len(p):,} tickets** for {n_agents} agents "
        f"({res.per_agent_target} per agent, spread over each agent's channels in proportion "
        f"to volume), is drawn from {res.window.label}'s ticket population, the latest month "
        f"available, as a template for {nxt}'s tickets (same agents and channel mix). It uses "
        f'{nxt}\'s own seed (`period_seed(seed, "{res.next_period}")`), so it is not the same '
        f"draw as {res.window.label}'s plan, and it is reproducible from the seed. "
        f"{_sentence(p.attrs.get('note', ''))}It is written to `audit_plan.csv`."
    )


def performance_kpis(res: PerformanceResults) -> dict[str, Any]:
    """Headline KPIs of the performance report (``performance_kpis.json``).

    Scalars (shown in the batch index): ``region, period, n_evaluations,
    n_agents, pass_rate, pass_rate_ci_low, pass_rate_ci_high, mean_score,
    critical_rate, audits_per_agent, targets_met, targets_missed,
    trend_direction`` ("up" / "down" / "none", Mann-Kendall at 5%),
    ``trend_p, n_control_signals`` (signals in the report month),
    ``plan_completion`` (done / planned audits of the month's plan),
    ``n_unscored`` (evaluations with every criterion N/A, in no rate),
    ``audit_plan_size, csat_rho``; nested: ``targets`` (kpi -> status) and
    ``detail`` (other intervals, margin of error, tickets, Sen's slope, the
    plan's ``planned, done, unplanned, moe_planned, moe_achieved``, audits of
    earlier months' tickets, whether agents were ranked).
    """
    t = res.totals
    ts = res.targets
    status = {
        r["kpi"]: (None if r["status"] is pd.NA else r["status"]) for r in ts.to_dict("records")
    }
    csat_rho = _num(res.csat["rho"].iloc[0]) if len(res.csat) else None
    month_sig = 0
    if len(res.weekly_p):
        m = res.weekly_p["period"] >= res.window.start
        month_sig = int(res.weekly_p.loc[m, "signal"].sum())
    return {
        "region": res.region,
        "period": res.window.period,
        "n_evaluations": int(t["n"]),
        "n_agents": int(t["n_agents"]),
        "pass_rate": _num(t["pass_rate"]),
        "pass_rate_ci_low": _num(t["pass_ci_low"]),
        "pass_rate_ci_high": _num(t["pass_ci_high"]),
        "mean_score": _num(t["mean_score"]),
        "critical_rate": _num(t["critical_rate"]),
        "audits_per_agent": _num(t["audits_per_agent"]),
        "targets_met": int(sum(v == "met" for v in status.values())),
        "targets_missed": int(sum(v == "missed" for v in status.values())),
        "trend_direction": _trend_direction(res.trend),
        "trend_p": _num(res.trend.p_value),
        "n_control_signals": month_sig,
        "plan_completion": _num(t.get("completion")),
        "n_unscored": int(t["n_unscored"]),
        "audit_plan_size": len(res.plan),
        "csat_rho": csat_rho,
        "targets": status,
        "detail": {
            "mean_score_ci_low": _num(t["score_ci_low"]),
            "mean_score_ci_high": _num(t["score_ci_high"]),
            "critical_rate_ci_low": _num(t["critical_ci_low"]),
            "critical_rate_ci_high": _num(t["critical_ci_high"]),
            "moe": _num(t["moe"]),
            "n_tickets": t["n_tickets"],
            "control_signals_window": int(res.weekly_p["signal"].sum()) if len(res.weekly_p) else 0,
            "sen_slope_per_week": _num(res.trend.slope),
            "plan_planned": int(t.get("planned", 0)),
            "plan_done": int(t.get("done", 0)),
            "plan_unplanned": int(t.get("unplanned", 0)),
            "plan_moe_planned": _num(t.get("moe_planned")),
            "plan_moe_achieved": _num(t.get("moe_achieved")),
            "audits_other_tickets": int(t.get("audits_other_tickets", 0)),
            "agents_ranked": bool(res.ranked) if len(res.shrunk) else None,
        },
    }


# ---------------------------------------------------------------------------
# global overview
# ---------------------------------------------------------------------------
_REGION_COLS = [
    "region",
    "status",
    "n_evaluations",
    "pass_rate",
    "pass_rate_ci_low",
    "pass_rate_ci_high",
    "mean_score",
    "critical_rate",
    "audits_per_agent",
    "alpha",
    "n_unreliable_criteria",
    "n_lenient",
    "n_severe",
    "error",
]


def region_table(reports_dir: str | Path, regions: Sequence[str]) -> pd.DataFrame:
    """One row per region from ``<reports_dir>/<region lower>/kpis.json``.

    ``status`` is ``ok`` (both reports), ``partial`` (one failed), ``failed``
    or ``missing`` (no KPI file); ``alpha`` is the calibration report's median
    alpha. Missing values are NaN.

    Examples
    --------
    >>> import tempfile
    >>> region_table(tempfile.mkdtemp(), ["EU"])[["region", "status", "error"]]
      region   status          error
    0     EU  missing  no kpis.json
    """
    rows = []
    for r in regions:
        f = Path(reports_dir) / str(r).lower() / "kpis.json"
        row: dict[str, Any] = {c: np.nan for c in _REGION_COLS}
        row.update(region=r, status="missing", error="no kpis.json")
        if f.is_file():
            try:
                k = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                row.update(status="failed", error=f"unreadable kpis.json ({exc})")
                rows.append(row)
                continue
            perf = k.get("performance") or {}
            cal = k.get("calibration") or {}
            st = k.get("status") or {}
            oks = [v == "ok" for v in st.values()] or [bool(perf), bool(cal)]
            row["status"] = "ok" if all(oks) else ("partial" if any(oks) else "failed")
            errs = k.get("errors") or {}
            row["error"] = "; ".join(f"{nb}: {e}" for nb, e in errs.items()) or ""
            for c in (
                "n_evaluations",
                "pass_rate",
                "pass_rate_ci_low",
                "pass_rate_ci_high",
                "mean_score",
                "critical_rate",
                "audits_per_agent",
            ):
                row[c] = perf.get(c, np.nan)
            row["alpha"] = cal.get("median_alpha", np.nan)
            for c in ("n_unreliable_criteria", "n_lenient", "n_severe"):
                row[c] = cal.get(c, np.nan)
        rows.append(row)
    out = pd.DataFrame(rows, columns=_REGION_COLS)
    for c in _REGION_COLS[2:-1]:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def region_targets(table: pd.DataFrame, targets: Mapping[str, Any]) -> pd.DataFrame:
    """Each region's KPIs against the global targets (:func:`qa_analysis.compare.target_status`).

    Returns a long table ``region, kpi, label, value, ci_low, ci_high, target,
    direction, gap, status, clear, note`` (status missing where the region
    has no value).
    """
    kpis = ["pass_rate", "mean_score", "critical_rate", "audits_per_agent", "alpha"]
    if len(table) == 0:
        return pd.DataFrame(
            columns=[
                "region",
                "kpi",
                "label",
                "value",
                "ci_low",
                "ci_high",
                "target",
                "direction",
                "gap",
                "status",
                "clear",
                "note",
            ]
        )
    long = table.melt(id_vars=["region"], value_vars=kpis, var_name="kpi", value_name="value")
    long["ci_low"] = np.where(
        long["kpi"] == "pass_rate",
        long["region"].map(table.set_index("region")["pass_rate_ci_low"]),
        np.nan,
    )
    long["ci_high"] = np.where(
        long["kpi"] == "pass_rate",
        long["region"].map(table.set_index("region")["pass_rate_ci_high"]),
        np.nan,
    )
    out = cmp.target_status(long, _target_spec({k: v for k, v in targets.items() if k in kpis}))
    out.insert(2, "label", out["kpi"].map(KPI_LABELS))
    return out


def region_consistency(evaluations: pd.DataFrame, scorecard: Scorecard) -> pd.DataFrame:
    """Pass rate and mean score by region from the data, with CIs and funnel positions.

    The long ``evaluations`` are scored (:func:`qa_analysis.scorecard.score_evaluations`)
    and aggregated by region (:func:`qa_analysis.trends.aggregate`, Wilson and
    t intervals), then joined with :func:`qa_analysis.compare.funnel` of the
    regions' pass rates around the pooled global rate: a region ``above`` /
    ``below`` the 99.8% limits scores differently from the rest by more than
    chance. ``attrs["pooled_pass_rate"]`` holds the pooled rate.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
       performance. Statistics in Medicine, 24(8), 1185-1202.
    .. [2] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. JASA, 22(158), 209-212.
    """
    cols = [
        "region",
        "n",
        "pass_rate",
        "pass_ci_low",
        "pass_ci_high",
        "mean_score",
        "score_ci_low",
        "score_ci_high",
        "critical_rate",
        "position",
        "warning",
    ]
    s = _score(evaluations, scorecard)
    s = s.loc[s["score"].notna()] if len(s) else s
    if len(s) == 0:
        return pd.DataFrame(columns=cols)
    # one row per region over the whole table (the caller passes the report month)
    agg = tr.aggregate(s.assign(evaluated_at=s["evaluated_at"].min()), by="region", freq="MS")
    agg = agg.loc[agg["n"] > 0]
    fun = cmp.funnel(s, unit="region", metric="passed")
    out = agg.merge(fun[["region", "position", "warning"]], on="region", how="left")
    out = out[cols].reset_index(drop=True)
    out.attrs["pooled_pass_rate"] = fun.attrs.get("target")
    return out


def region_links(regions: Sequence[str], table: pd.DataFrame | None = None) -> str:
    """Markdown list of relative links to each region's reports (``eu/performance_report.html``)."""
    status = dict(zip(table["region"], table["status"], strict=True)) if table is not None else {}
    lines = []
    for r in regions:
        d = str(r).lower()
        st = status.get(r)
        tail = "" if st in (None, "ok") else f" ({st})"
        lines.append(
            f"- **{r}**{tail}: [calibration report]({d}/calibration_report.html) · "
            f"[performance report]({d}/performance_report.html) · "
            f"[audit plan (CSV)]({d}/audit_plan.csv) · [KPIs]({d}/kpis.json)"
        )
    return "\n".join(lines)


def global_kpis(
    period: str, table: pd.DataFrame, status: pd.DataFrame, consistency: pd.DataFrame
) -> dict[str, Any]:
    """Headline KPIs of the global overview (``global_kpis.json``).

    ``regions_complete`` (regions whose reports both succeeded),
    ``regions_missing`` (comma-separated, or "none"), ``regions`` (the regions
    with a KPI file), global pass rate / mean score from the data, regions
    meeting / missing the pass-rate target, the lowest-alpha region.

    Examples
    --------
    >>> print(region_links(["EU"]))
    - **EU**: [calibration report](eu/calibration_report.html) · [performance report](eu/performance_report.html) · [audit plan (CSV)](eu/audit_plan.csv) · [KPIs](eu/kpis.json)
    """
    ok = table.loc[table["status"] == "ok", "region"].tolist()
    missing = table.loc[table["status"] != "ok", "region"].tolist()
    present = table.loc[table["status"] != "missing", "region"].tolist()
    pr = status.loc[status["kpi"] == "pass_rate"] if len(status) else status
    a = table.dropna(subset=["alpha"])
    n = consistency["n"].sum() if len(consistency) else 0
    pooled = consistency.attrs.get("pooled_pass_rate") if len(consistency) else None
    mean = float((consistency["mean_score"] * consistency["n"]).sum() / n) if n else None
    return {
        "period": period,
        "regions_complete": len(ok),
        "regions_missing": ", ".join(missing) or "none",
        "regions": present,
        "n_evaluations": int(n),
        "pass_rate": _num(pooled),
        "mean_score": _num(mean),
        "regions_pass_target_met": int((pr["status"] == "met").sum()) if len(pr) else 0,
        "regions_pass_target_missed": int((pr["status"] == "missed").sum()) if len(pr) else 0,
        "regions_outside_funnel": int((consistency["position"] != "within").sum())
        if len(consistency)
        else 0,
        "lowest_alpha_region": str(a.loc[a["alpha"].idxmin(), "region"]) if len(a) else None,
        "lowest_alpha": _num(a["alpha"].min()) if len(a) else None,
    }


def global_markdown(
    kpis: Mapping[str, Any], consistency: pd.DataFrame, targets: Mapping[str, Any]
) -> str:
    """The overview's headline paragraph."""
    lines = []
    if kpis.get("n_evaluations"):
        lines.append(
            f"In {report_window(kpis['period'], 0).label}, {kpis['n_evaluations']:,} evaluations across "
            f"{len(consistency)} regions: global pass rate {_fmt(kpis['pass_rate'], 1, pct=True)} "
            f"(target {_fmt(targets.get('pass_rate'), 1, pct=True)}), mean score "
            f"{_fmt(kpis['mean_score'], 1)}."
        )
    else:
        lines.append("No evaluations in the data for this month.")
    lines.append(
        f"{kpis['regions_pass_target_met']} region(s) meet the pass-rate target, "
        f"{kpis['regions_pass_target_missed']} miss it."
    )
    if len(consistency):
        off = consistency.loc[consistency["position"] != "within"]
        if len(off):
            lines.append(
                "Regions scoring differently from the pooled rate by more than chance "
                "(outside the 99.8% funnel limits): "
                + ", ".join(
                    f"**{r['region']}** ({r['position']}, {_fmt(r['pass_rate'], 1, pct=True)})"
                    for r in off.to_dict("records")
                )
                + "."
            )
        else:
            lines.append(
                "Every region's pass rate is within the funnel limits around the pooled rate."
            )
    if kpis.get("lowest_alpha_region"):
        lines.append(
            f"Calibration is weakest in **{kpis['lowest_alpha_region']}** (median alpha "
            f"{_fmt(kpis['lowest_alpha'])}; target {_fmt(targets.get('alpha'), 3)})."
        )
    if kpis.get("regions_missing") not in (None, "none"):
        lines.append(f"Reports missing or failed: {kpis['regions_missing']}.")
    return " ".join(lines)
