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

The calibration report computes agreement per criterion per version for the
criteria whose scale, level or wording differs between the versions its
window covers (:func:`changed_criteria`, :func:`agreement_per_version`):
ratings given on different rubrics are not one reliability study. Unchanged
criteria pool their ratings across versions as before.

A scorecard with one version gives no phase break and no extra sentence: the
reports read exactly as before.

References
----------
.. [1] Montgomery, D. C. (2019). Introduction to Statistical Quality Control,
   8th ed., Wiley (phase I / phase II; recomputing limits after a known,
   assignable change in the process).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import trends as tr
from qa_analysis.escaping import md_escape
from qa_analysis.report.data import Window
from qa_analysis.scorecard import Scorecard, row_versions

__all__ = [
    "agreement_per_version",
    "changed_criteria",
    "current_phase_start",
    "phase_breaks",
    "phase_sentence",
    "phased_control_chart",
    "same_versions",
    "version_names",
    "version_view",
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


# ---------------------------------------------------------------------------
# agreement per version for the criteria whose definition changed
# ---------------------------------------------------------------------------
def changed_criteria(scorecard: Scorecard, window: Window | None = None) -> list[str]:
    """Criteria whose scale, level or wording (name) differs between the versions in the window.

    Only the versions in force at some time in the history window and the
    report month count (all versions without a window). A criterion added or
    retired within the window, but defined the same way wherever it exists,
    has not changed; nor has one whose weight, critical flag or N/A rule
    changed (none of them alters what a rater is asked to judge). Empty for an
    unversioned scorecard.

    Examples
    --------
    >>> from qa_analysis.report.data import report_window
    >>> sc = Scorecard.from_dict({"versions": [
    ...     {"version": "v1", "criteria": [{"id": "a", "scale": [1, 2, 3, 4, 5]},
    ...                                    {"id": "b", "scale": [0, 1]}]},
    ...     {"version": "v2", "effective": "2026-06-01", "criteria": [
    ...         {"id": "a", "scale": [1, 2, 3, 4]}, {"id": "b", "scale": [0, 1], "weight": 2}]}]})
    >>> changed_criteria(sc, report_window("2026-10", 6))
    ['a']
    >>> changed_criteria(sc, report_window("2026-10", 3))
    []
    """
    if not scorecard.is_versioned:
        return []
    covered = (
        scorecard.versions_between(window.history_start, window.end)
        if window is not None
        else scorecard.versions
    )
    out = []
    for cid in scorecard.ids:  # a few dozen criteria x a few versions
        defs = {(v[cid].scale, v[cid].level, v[cid].name) for v in covered if cid in v}
        if len(defs) > 1:
            out.append(cid)
    return out


def _part_seeds(seed: Any, n: int) -> list[Any]:
    """``n`` reproducible integer seeds from an int seed (fresh entropy for None)."""
    if isinstance(seed, np.random.Generator):
        return [int(x) for x in seed.integers(2**63, size=n)]
    ss = np.random.SeedSequence(None if seed is None else int(seed))
    return [int(c.generate_state(1, np.uint64)[0]) for c in ss.spawn(n)]


def agreement_per_version(
    table: Callable[..., pd.DataFrame],
    ratings: pd.DataFrame,
    scorecard: Scorecard,
    changed: Sequence[str],
    *,
    date: str = "session_date",
    item: str = "criterion",
    seed: Any = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """An agreement table with the changed criteria computed separately on each version.

    Parameters
    ----------
    table : callable
        :func:`qa_analysis.reliability.agreement_by_item` or
        :func:`~qa_analysis.reliability.agreement_over_sessions`.
    ratings : DataFrame
        Calibration ratings; each row's version is its ``scorecard_version``
        when present, else the version in force at its ``date``
        (:func:`qa_analysis.scorecard.row_versions`).
    scorecard : Scorecard
        The (versioned) scorecard.
    changed : sequence of str
        Criteria to split by version (:func:`changed_criteria`).
    date, item : str
        Rating date and criterion columns.
    seed : int or None
        Seed of the pooled criteria's table (as without a split); each
        version's table gets its own stream spawned from it.
    **kwargs
        Passed to ``table``.

    Returns
    -------
    DataFrame
        ``table``'s columns plus ``scorecard_version``: the version id on the
        rows of a changed criterion (computed with that version's scale and
        level, on that version's ratings only), missing on the pooled rows.
        Rows in scorecard order, a changed criterion's versions oldest first
        (after the session date, for a table per session). Without a changed
        criterion in ``ratings``, exactly ``table(ratings, scorecard=scorecard,
        seed=seed, **kwargs)``.

    Notes
    -----
    A change of scale, level or wording makes the ratings before and after it
    answers to different questions: pooling them would mix two reliability
    studies (and a scale change could put old scores off the new scale).
    Agreement coefficients are as in :func:`qa_analysis.reliability.agreement_by_item`.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    >>> from qa_analysis import reliability as rel
    >>> sc = Scorecard.from_dict({"versions": [
    ...     {"version": "v1", "criteria": [{"id": "a", "scale": [1, 2, 3, 4, 5]},
    ...                                    {"id": "b", "scale": [0, 1]}]},
    ...     {"version": "v2", "effective": "2026-06-01", "criteria": [
    ...         {"id": "a", "scale": [1, 2, 3]}, {"id": "b", "scale": [0, 1]}]}]})
    >>> d = pd.DataFrame({"session_date": pd.to_datetime(["2026-05-20"] * 8 + ["2026-06-20"] * 8),
    ...     "ticket_id": ["t1", "t1", "t2", "t2"] * 2 + ["t3", "t3", "t4", "t4"] * 2, "rater_id": ["x", "y"] * 8,
    ...     "criterion": (["a"] * 4 + ["b"] * 4) * 2,
    ...     "score": [5, 5, 1, 2, 1, 1, 0, 0, 3, 3, 1, 1, 1, 0, 0, 0]})
    >>> t = agreement_per_version(rel.agreement_by_item, d, sc, ["a"], confidence=None)
    >>> t[["criterion", "scorecard_version", "n_units"]]
      criterion scorecard_version  n_units
    0         a                v1        2
    1         a                v2        2
    2         b              <NA>        4
    """
    present = set(pd.unique(ratings[item])) if len(ratings) else set()
    split = [c for c in changed if c in present]
    if not split or not scorecard.is_versioned:
        return table(ratings, item=item, scorecard=scorecard, seed=seed, **kwargs)
    codes = row_versions(ratings, scorecard, date=date, table="calibration")
    is_split = ratings[item].isin(split).to_numpy(dtype=bool)
    parts: list[tuple[str | None, int, Scorecard, pd.DataFrame]] = []
    if (~is_split).any():
        parts.append((None, -1, scorecard, ratings.loc[~is_split]))
    for k in np.unique(codes[is_split]):  # a few versions
        v = scorecard.versions[int(k)]
        parts.append((v.version, int(k), v, ratings.loc[is_split & (codes == k)]))
    seeds = _part_seeds(seed, len(parts))
    if parts[0][0] is None:
        seeds[0] = seed  # the pooled criteria keep the caller's stream
    frames = []
    for (vid, k, sc, sub), s in zip(parts, seeds, strict=True):  # a few parts
        t = table(sub, item=item, scorecard=sc, seed=s, **kwargs)
        t["scorecard_version"] = pd.Series([vid] * len(t), index=t.index, dtype="string")
        t["_v"] = k
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    out["_c"] = out[item].map({c: i for i, c in enumerate(scorecard.ids)})
    keys = ["_c", "_v"]
    per_session = "mean_alpha" in out.columns
    session = str(kwargs.get("session", "session_id"))
    if per_session:
        keys = [session, *keys]
        if date in out.columns:
            keys = [date, *keys]
    out = out.sort_values(keys, kind="stable").drop(columns=["_c", "_v"]).reset_index(drop=True)
    if per_session:  # the session's mean over every criterion, split or pooled
        a = out["alpha"].astype(float)
        a = a.where(np.isfinite(a))
        out["mean_alpha"] = a.groupby(out[session], sort=False).transform("mean")
    return out


def version_names(table: pd.DataFrame, scorecard: Scorecard, item: str = "criterion") -> pd.Series:
    """Display names of an :func:`agreement_per_version` table's rows.

    A pooled criterion is named as in the scorecard (its latest wording); a
    row computed on one version takes that version's wording, followed by
    ``(version <id>)`` when the table holds the criterion under more than one
    version.

    Examples
    --------
    >>> sc = Scorecard.from_dict({"versions": [
    ...     {"version": "v1", "criteria": [{"id": "a", "name": "Tone and language", "scale": [0, 1]}]},
    ...     {"version": "v2", "effective": "2026-06-01",
    ...      "criteria": [{"id": "a", "name": "Tone", "scale": [0, 1]}]}]})
    >>> t = pd.DataFrame({"criterion": ["a", "a"], "scorecard_version": ["v1", "v2"]})
    >>> version_names(t, sc).tolist()
    ['Tone and language (version v1)', 'Tone (version v2)']
    >>> version_names(t.iloc[1:], sc).tolist()
    ['Tone']
    """
    latest = {c.id: c.name for c in scorecard}
    crit = table[item].astype(object)
    base = crit.map(latest).fillna(crit).astype(str)
    if "scorecard_version" not in table.columns or len(table) == 0:
        return base.rename("name")
    vid = table["scorecard_version"]
    has = vid.notna().to_numpy(dtype=bool)
    if not has.any():
        return base.rename("name")
    own = {
        f"{v.version}\x00{c.id}": c.name for v in scorecard.versions for c in v.criteria
    }  # a few versions x criteria
    vs = vid.astype(str)
    key = vs + "\x00" + crit.astype(str)
    named = key.map(own).fillna(base).astype(str)
    n_versions = table.loc[has].groupby(item, sort=False)["scorecard_version"].nunique()
    many = crit.map(n_versions).fillna(0).to_numpy(dtype=float) > 1
    names = np.where(has & many, named + " (version " + vs + ")", np.where(has, named, base))
    return pd.Series(names, index=table.index, name="name", dtype=object)


def version_view(
    ratings: pd.DataFrame,
    scorecard: Scorecard,
    changed: Sequence[str],
    *,
    date: str = "session_date",
    item: str = "criterion",
) -> tuple[pd.DataFrame, Scorecard]:
    """Ratings and a one-version scorecard on which a changed criterion is one item per version.

    For the calibration statistics that are not agreement tables (rater
    calibration, the rater x criterion heatmap, the split tickets, the
    findings): a changed criterion (:func:`changed_criteria`) rated under
    several versions in ``ratings`` becomes one criterion per version, with id
    ``"<id> @ <version>"``, that version's scale and level, and the name
    ``"<name> (version <version>)"``; rated under one version only, it keeps
    its id with that version's definition. Every other criterion is as in
    ``scorecard``. Without a changed criterion, ``(ratings, scorecard)``
    unchanged.

    Examples
    --------
    >>> sc = Scorecard.from_dict({"versions": [
    ...     {"version": "v1", "criteria": [{"id": "a", "scale": [1, 2, 3, 4, 5]}]},
    ...     {"version": "v2", "effective": "2026-06-01", "criteria": [{"id": "a", "scale": [1, 2, 3]}]}]})
    >>> d = pd.DataFrame({"session_date": pd.to_datetime(["2026-05-20", "2026-06-20"]),
    ...     "criterion": "a", "score": [5.0, 3.0]})
    >>> v, vsc = version_view(d, sc, ["a"])
    >>> v["criterion"].tolist(), vsc["a @ v1"].scale, vsc["a @ v2"].scale
    (['a @ v1', 'a @ v2'], (1, 2, 3, 4, 5), (1, 2, 3))
    """
    present = set(pd.unique(ratings[item])) if len(ratings) else set()
    split = [c for c in changed if c in present]
    if not split or not scorecard.is_versioned:
        return ratings, scorecard
    codes = row_versions(ratings, scorecard, date=date, table="calibration")
    is_split = ratings[item].isin(split).to_numpy(dtype=bool)
    crit = ratings[item].astype(object)
    used = (
        pd.DataFrame({"c": crit[is_split].to_numpy(), "k": codes[is_split]})
        .drop_duplicates()
        .sort_values("k", kind="stable")
        .groupby("c", sort=False)["k"]
        .agg(list)
    )
    criteria = []
    for c in scorecard.criteria:  # a few dozen criteria x a few versions
        if c.id not in used.index:
            criteria.append(c)
            continue
        ks = used[c.id]
        for k in ks:
            v = scorecard.versions[int(k)]
            own = v[c.id]
            if len(ks) == 1:
                criteria.append(own)
            else:
                criteria.append(
                    dataclasses.replace(
                        own, id=f"{c.id} @ {v.version}", name=f"{own.name} (version {v.version})"
                    )
                )
    ids = np.asarray(scorecard.version_ids, dtype=object)[codes]
    many = crit.map(used.map(len)).fillna(0).to_numpy(dtype=float) > 1
    relabel = crit.astype(str) + " @ " + pd.Series(ids, index=ratings.index).astype(str)
    view = ratings.assign(**{item: crit.where(~(is_split & many), relabel)})
    latest = scorecard.versions[-1]
    sc = Scorecard(
        criteria=tuple(criteria),
        pass_mark=latest.pass_mark,
        method=latest.method,
        critical_mode=latest.critical_mode,
        name=scorecard.name,
        source=scorecard.source,
    )
    return view, sc
