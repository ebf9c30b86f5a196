"""Scorecard versions in the reports: coverage sentence, phase breaks, like-for-like months.

A change of scorecard version is a *known special cause*: the same work can
score differently under the new rubric, so a step at the change date says
nothing about quality. The performance report therefore

* states which versions its window covers (:func:`versions_sentence`);
* starts a new phase of its control charts at every change (each phase with
  its own phase-I baseline, centre line and limits: :func:`phased_control_chart`);
* looks for steps and trends only within the current phase (:func:`current_phase_start`);
* compares the report month with the previous one only when both were scored
  on the same version (:func:`same_versions`).

A scorecard with one version gives no phase break and no extra sentence: the
reports read exactly as before.

References
----------
.. [1] Montgomery, D. C. (2019). Introduction to Statistical Quality Control,
   8th ed., Wiley (phase I / phase II; recomputing limits after a known,
   assignable change in the process).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import trends as tr
from qa_analysis.escaping import md_escape
from qa_analysis.report.data import Window
from qa_analysis.scorecard import Scorecard

__all__ = [
    "current_phase_start",
    "phase_breaks",
    "phase_sentence",
    "phased_control_chart",
    "same_versions",
    "versions_sentence",
]


def _day(t: Any) -> str:
    ts = pd.Timestamp(t)
    return f"{ts.day} {ts.strftime('%B %Y')}"


def _vid(v: Scorecard) -> str:
    return md_escape(str(v.version))


def phase_breaks(scorecard: Scorecard, window: Window) -> list[pd.Timestamp]:
    """Dates within the window (after its first day) on which a new scorecard version took effect.

    Examples
    --------
    >>> from qa_analysis.report.data import report_window
    >>> sc = Scorecard.from_dict({"versions": [
    ...     {"version": "v1", "criteria": [{"id": "a", "scale": [0, 1]}]},
    ...     {"version": "v2", "effective": "2026-06-01", "criteria": [{"id": "a", "scale": [0, 1]}]}]})
    >>> [str(d.date()) for d in phase_breaks(sc, report_window("2026-10", 6))]
    ['2026-06-01']
    >>> phase_breaks(sc, report_window("2026-10", 3))
    []
    """
    if not scorecard.is_versioned:
        return []
    return scorecard.change_dates(window.history_start, window.end)


def versions_sentence(scorecard: Scorecard, window: Window) -> str:
    """Which scorecard versions the window covers (empty for an unversioned scorecard).

    Examples
    --------
    >>> from qa_analysis.report.data import report_window
    >>> sc = Scorecard.from_dict({"versions": [
    ...     {"version": "v1", "criteria": [{"id": "a", "scale": [0, 1]}]},
    ...     {"version": "v2", "effective": "2026-06-01", "criteria": [{"id": "a", "scale": [0, 1]}]}]})
    >>> print(versions_sentence(sc, report_window("2026-10", 6)))
    The window (April 2026 - October 2026) covers two scorecard versions: v1 until 31 May 2026 and v2 from 1 June 2026; each evaluation is scored on its own version, and the charts start a new phase at the change.
    >>> print(versions_sentence(sc, report_window("2026-10", 3)))
    Every evaluation in the window (July 2026 - October 2026) is scored on scorecard version v2.
    """
    if not scorecard.is_versioned:
        return ""
    try:
        covered = scorecard.versions_between(window.history_start, window.end)
    except ValueError:  # pragma: no cover - versions_between does not raise today
        covered = scorecard.versions
    span = window.history_label
    if len(covered) <= 1:
        v = covered[0] if covered else scorecard.versions[-1]
        return f"Every evaluation in the window ({span}) is scored on scorecard version {_vid(v)}."
    parts = []
    for i, v in enumerate(covered):  # a few versions
        if i == 0:
            nxt = covered[1].effective
            parts.append(f"{_vid(v)} until {_day(pd.Timestamp(nxt) - pd.Timedelta(days=1))}")
        else:
            parts.append(f"{_vid(v)} from {_day(v.effective)}")
    words = {2: "two", 3: "three", 4: "four"}
    n = words.get(len(covered), str(len(covered)))
    listed = ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"The window ({span}) covers {n} scorecard versions: {listed}; each evaluation is "
        "scored on its own version, and the charts start a new phase at the change."
    )


def phase_sentence(scorecard: Scorecard, window: Window) -> str:
    """Why the charts restart at a version change (empty when the window has no change)."""
    breaks = phase_breaks(scorecard, window)
    if not breaks:
        return ""
    when = ", ".join(
        f"{_day(b)} ({_vid(scorecard.version_at(b - pd.Timedelta(days=1)))} -> "
        f"{_vid(scorecard.version_at(b))})"
        for b in breaks
    )
    return (
        f"The scorecard changed on {when}. A rubric change is a known special cause, not a "
        "change in quality, so the control charts start a new phase there (own baseline, "
        "centre line and limits) and steps and trends are looked for only since the latest "
        "change; a level shift at the change date is not reported as a quality change."
    )


def current_phase_start(scorecard: Scorecard, window: Window) -> pd.Timestamp | None:
    """Start of the phase the report month is in, when a version change falls in the window."""
    breaks = phase_breaks(scorecard, window)
    return breaks[-1] if breaks else None


def _phase_codes(periods: pd.Series, breaks: Sequence[pd.Timestamp]) -> np.ndarray:
    """Phase of each period by its start date (a week starting before a change is in the old phase)."""
    cuts = np.array([pd.Timestamp(b).to_datetime64() for b in breaks], dtype="datetime64[ns]")
    d = pd.to_datetime(periods).to_numpy(dtype="datetime64[ns]")
    return np.searchsorted(cuts, d, side="right").astype(np.int64)


def phased_control_chart(
    agg: pd.DataFrame,
    breaks: Sequence[pd.Timestamp],
    *,
    baseline: pd.Timestamp | None,
    period: str = "period",
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`qa_analysis.trends.control_chart` run separately on each phase between version changes.

    Parameters
    ----------
    agg : DataFrame
        :func:`qa_analysis.trends.aggregate` output (one row per period).
    breaks : sequence of Timestamp
        Version change dates; a period belongs to the phase its start date is in.
    baseline : Timestamp or None
        The unphased chart's phase-I end. A phase that has periods both before
        and after it keeps it; any other phase uses the first half of its own
        periods (rounded up) as its baseline, so that a shift within the phase
        is still judged against the level before it.
    period : str
        Period column.
    **kwargs
        Passed to :func:`~qa_analysis.trends.control_chart` (``kind``,
        ``dispersion``...).

    Returns
    -------
    DataFrame
        The charts of the phases stacked in time order, with a ``phase``
        column (0, 1, ...). Without breaks, exactly
        ``control_chart(agg, baseline=baseline, **kwargs)`` plus ``phase`` = 0.

    Examples
    --------
    >>> agg = pd.DataFrame({"period": pd.date_range("2026-05-04", periods=8, freq="W-MON"),
    ...     "n": 100, "passed": [80, 82, 79, 81, 60, 62, 61, 59]})
    >>> cc = phased_control_chart(agg, [pd.Timestamp("2026-06-01")], baseline=None, kind="p")
    >>> cc.groupby("phase")["center"].first().round(3).tolist()
    [0.81, 0.61]
    >>> bool(cc["signal"].any())
    False
    """
    phase = _phase_codes(agg[period], breaks)
    frames = []
    for k in np.unique(phase):  # a few phases
        part = agg.loc[phase == k]
        d = pd.to_datetime(part[period])
        if baseline is not None and (d < baseline).any() and (d >= baseline).any():
            base: Any = baseline
        elif baseline is None and not len(breaks):
            base = None
        else:
            base = max(1, -(-len(part) // 2)) if len(breaks) else baseline
        cc = tr.control_chart(part, baseline=base, period=period, **kwargs)
        frames.append(cc.assign(phase=int(k)))
    return pd.concat(frames, ignore_index=True) if frames else agg.assign(phase=0)


def same_versions(scores: pd.DataFrame, window: Window, column: str = "scorecard_version") -> str:
    """Empty when the previous month and the report month share their scorecard version(s).

    Otherwise the reason they are not compared (for the month-over-month
    table's ``note``). Without a ``column`` (an unversioned scorecard) the
    months are comparable.

    Examples
    --------
    >>> from qa_analysis.report.data import report_window
    >>> s = pd.DataFrame({"evaluated_at": pd.to_datetime(["2026-05-20", "2026-06-03"]),
    ...     "scorecard_version": ["v1", "v2"]})
    >>> same_versions(s, report_window("2026-06", 1))
    'May was scored on scorecard version v1 and June on v2: different rubrics, so the months are not compared'
    """
    if column not in scores.columns or len(scores) == 0:
        return ""
    d = pd.to_datetime(scores["evaluated_at"])
    a = scores.loc[(d >= window.prev_start) & (d < window.prev_end + pd.Timedelta(days=1)), column]
    b = scores.loc[(d >= window.start) & (d < window.end + pd.Timedelta(days=1)), column]
    va, vb = sorted(set(a.dropna().astype(str))), sorted(set(b.dropna().astype(str)))
    if not va or not vb or va == vb:
        return ""
    return (
        f"{window.prev_start.strftime('%B')} was scored on scorecard version "
        f"{', '.join(map(md_escape, va))} and {window.start.strftime('%B')} on "
        f"{', '.join(map(md_escape, vb))}: different rubrics, so the months are not compared"
    )
