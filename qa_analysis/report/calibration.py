"""The calibration report: agreement per criterion, raters against the reference, drift.

:func:`calibration_results` runs the analyses for one region and month;
the ``*_sentence`` / ``*_markdown`` functions phrase its numbers, the
``*_table`` functions shape its tables for display and
:func:`calibration_kpis` writes its headline KPIs. Fixed explanations (what
alpha is, the kappa paradox) live in the notebook's markdown cells; these
functions return only sentences with computed numbers.

Thresholds (alpha bands, bias flag, resamples) default to
``params/defaults.yaml`` (:func:`qa_analysis.report.data.resolve_thresholds`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import findings as fd
from qa_analysis import reliability as rel
from qa_analysis import settings
from qa_analysis import trends as tr
from qa_analysis.errors import DataError
from qa_analysis.escaping import md_escape
from qa_analysis.report import versions as vs
from qa_analysis.report.data import ReportData, Window, in_window, resolve_thresholds
from qa_analysis.report.formatting import (
    ShortRepr,
    bar,
    fmt,
    fmt_ci,
    is_finite,
    json_number,
)
from qa_analysis.report.glossary import plain_alpha, plain_p_value, plain_paradox, plain_shape
from qa_analysis.scorecard import Scorecard, row_versions

__all__ = [
    "CalibrationResults",
    "agreement_markdown",
    "agreement_sentence",
    "agreement_table",
    "calibration_kpis",
    "calibration_results",
    "criteria_agreement",
    "drift_sentence",
    "drift_steps",
    "headline_finding",
    "kappa_paradox_criteria",
    "kappa_paradox_markdown",
    "participation_sentence",
    "rater_markdown",
    "rater_table",
    "recalibrate_markdown",
    "split_markdown",
    "verdict",
    "weakest_criterion",
]

Seed = int | None


def verdict(alpha: Any, thresholds: Mapping[str, Any] | None = None) -> str:
    """Krippendorff's bands with the report's thresholds.

    ``reliable`` at or above ``alpha_reliable``, ``tentative`` at or above
    ``alpha_tentative``, else ``unreliable``; ``undefined`` for NaN. The
    thresholds default to ``params/defaults.yaml``.

    References
    ----------
    .. [1] Krippendorff, K. (2004). Content Analysis: An Introduction to Its
       Methodology (2nd ed.), p. 241. Sage.

    Examples
    --------
    >>> verdict(0.7, {"alpha_tentative": 0.6, "alpha_reliable": 0.9})
    'tentative'
    >>> verdict(0.7, {"alpha_tentative": 0.75, "alpha_reliable": 0.9}), verdict(float("nan"))
    ('unreliable', 'undefined')
    """
    th = resolve_thresholds(thresholds)
    if not is_finite(alpha):
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


@dataclass(frozen=True, repr=False)
class CalibrationResults(ShortRepr):
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
        A criterion whose scale, level or wording differs between the
        scorecard versions of the window is computed per version
        (:func:`qa_analysis.report.versions.agreement_per_version`): one row
        per version, labelled in ``scorecard_version`` (missing on the pooled
        rows; the column exists only when some criterion was split).
    raters : DataFrame
        :func:`qa_analysis.reliability.rater_calibration` (tolerance =
        ``thresholds["bias_flag"]``).
    heatmap : DataFrame
        :func:`qa_analysis.reliability.rater_calibration_by_item` (no CIs).
    split : DataFrame
        :func:`qa_analysis.reliability.disagreements`, the ``top`` tickets.
    drift : DataFrame
        :func:`qa_analysis.reliability.agreement_over_sessions` over the
        history window and the month (no CIs): one row per session x criterion,
        a changed criterion computed on its own version's scale and named with
        the version (as in ``by_item``).
    drift_trend : qa_analysis.trends.Trend
        Mann-Kendall test on the sessions' mean alpha (quoted only for a
        monotone trend).
    drift_steps : qa_analysis.trends.ChangePoints or None
        :func:`qa_analysis.trends.change_points` of the sessions' mean alpha
        (weights: the session's pairable values): a step, a collapse in the
        latest sessions, a trend or flat. None without sessions.
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
    rater_bias : qa_analysis.findings.RaterBias or None
        :func:`qa_analysis.findings.rater_criterion_bias` over the history
        window and the month (one month has too few tickets per rater x
        criterion): who to recalibrate on what. None without ratings.
    criteria : qa_analysis.findings.CriterionClaims or None
        :func:`qa_analysis.findings.criterion_claims` on the month: the
        weakest and most divisive criterion, each claimed only when tested.
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
    drift_steps: tr.ChangePoints | None = None
    rater_bias: fd.RaterBias | None = None
    criteria: fd.CriterionClaims | None = None

    @property
    def drift_segments(self) -> pd.DataFrame | None:
        """Levels between the changes of the sessions' mean alpha (for the chart), None if none."""
        c = self.drift_steps
        return c.segments if c is not None and c.shape == "step" else None

    @property
    def empty(self) -> bool:
        """True when the month has no calibration ratings."""
        return self.n_ratings == 0

    @property
    def n_sessions(self) -> int:
        """Sessions held in the month."""
        return len(self.sessions)

    @property
    def n_tickets(self) -> int:
        """Tickets discussed in the month (a ticket in two sessions counts twice)."""
        return int(self.sessions["tickets"].sum()) if len(self.sessions) else 0

    @property
    def n_raters(self) -> int:
        """Distinct raters in the month (summed over roles)."""
        return int(self.roles["raters"].sum()) if len(self.roles) else 0

    @property
    def worst_criterion(self) -> str | None:
        """Criterion id with the lowest alpha this month (None without ratings)."""
        if len(self.by_item) == 0 or not np.isfinite(self.by_item["alpha"].to_numpy(float)).any():
            return None
        return str(self.by_item.loc[self.by_item["alpha"].idxmin(), "criterion"])


def calibration_results(
    calibration: pd.DataFrame,
    scorecard: Scorecard,
    window: Window,
    *,
    thresholds: Mapping[str, Any] | None = None,
    seed: Seed = None,
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
        ``n_boot`` (bootstrap resamples); missing keys take
        ``params/defaults.yaml``.
    seed : int or None
        Seed of every bootstrap interval; None takes the ``seed`` of
        ``params/defaults.yaml``.
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
    >>> from qa_analysis.report.data import report_window
    >>> res = calibration_results(cal, sc, report_window("2026-10", 0), thresholds={"n_boot": 50})
    >>> res.n_sessions, res.n_raters, res.worst_criterion
    (1, 3, 'tone')
    >>> res.raters[["rater_id", "deviation", "verdict"]]
      rater_id  deviation  verdict
    0        a       0.75  lenient
    1        b       0.00  aligned
    """
    th = resolve_thresholds(thresholds)
    n_boot = int(th["n_boot"])
    if seed is None:
        seed = int(settings.defaults()["seed"])
    names = _names(scorecard)
    month_all = in_window(calibration, "session_date", window.start, window.end)
    hist = in_window(calibration, "session_date", window.history_start, window.end)
    n_total = len(month_all)
    n_na = int(month_all["score"].isna().sum()) if n_total else 0
    month = month_all.loc[month_all["score"].notna()] if n_total else month_all
    empty_trend = tr.mann_kendall([])
    if len(month) == 0:
        e = pd.DataFrame()
        drift = _drift(hist, scorecard, window) if len(hist) else e
        trend = _drift_trend(drift) if len(drift) else empty_trend
        steps = drift_steps(drift, seed=seed) if len(drift) else None
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
            drift_steps=steps,
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
    # N/A rows included: agreement_by_item ignores them and counts them in its note; a
    # criterion whose scale, level or wording changed in the window is computed per version
    changed = vs.changed_criteria(scorecard, window)
    by_item = vs.agreement_per_version(
        rel.agreement_by_item,
        month_all,
        scorecard,
        changed,
        unit="unit",
        n_boot=n_boot,
        seed=seed,
    )
    by_item.insert(1, "name", vs.version_names(by_item, scorecard))
    by_item["verdict"] = [verdict(a, th) for a in by_item["alpha"]]
    by_item["majority_share"] = _item_majority_share(by_item, month, scorecard, changed)
    # the other statistics see a changed criterion rated under two versions as two criteria
    vmonth, vsc = vs.version_view(month, scorecard, changed)
    raters = rel.rater_calibration(
        vmonth,
        scorecard=vsc,
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
        vmonth, scorecard=vsc, unit="unit", confidence=None, tolerance=float(th["bias_flag"])
    )
    hist_scored = hist.loc[hist["score"].notna()]
    vhist, hsc = vs.version_view(hist_scored, scorecard, changed)
    names = {**names, **_names(vsc), **_names(hsc)}
    heat["name"] = heat["criterion"].map(names).fillna(heat["criterion"])
    split = rel.disagreements(vmonth, scorecard=vsc, unit="unit", top=top)
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
    drift = _drift(hist, scorecard, window)
    try:
        bias = fd.rater_criterion_bias(vhist, scorecard=hsc)
    except DataError:
        bias = None
    try:
        claims = fd.criterion_claims(vmonth, scorecard=vsc, n_boot=n_boot, seed=seed)
    except DataError:
        claims = None
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
        drift_steps=drift_steps(drift, seed=seed),
        names=names,
        n_ratings_total=n_total,
        n_na=n_na,
        n_no_reference=max(n_candidates - n_compared, 0),
        n_compared=n_compared,
        rater_bias=bias,
        criteria=claims,
    )


def _drift(hist: pd.DataFrame, scorecard: Scorecard, window: Window) -> pd.DataFrame:
    """Agreement per session x criterion; a criterion changed in the window per version."""
    hist = hist.loc[hist["score"].notna()] if len(hist) else hist
    if len(hist) == 0:
        return pd.DataFrame()
    out = vs.agreement_per_version(
        rel.agreement_over_sessions,
        hist,
        scorecard,
        vs.changed_criteria(scorecard, window),
        seed=0,
        confidence=None,
    )
    out["name"] = vs.version_names(out, scorecard)
    return out


def _item_majority_share(
    by_item: pd.DataFrame, month: pd.DataFrame, scorecard: Scorecard, changed: list[str]
) -> pd.Series:
    """:func:`_majority_share` for each ``by_item`` row (per version for a split criterion)."""
    if "scorecard_version" not in by_item.columns:
        return by_item["criterion"].map(_majority_share(month)).astype(float)
    vid = pd.Series(
        np.asarray(scorecard.version_ids, dtype=object)[
            row_versions(month, scorecard, date="session_date", table="calibration")
        ],
        index=month.index,
    ).where(month["criterion"].isin(changed).to_numpy())
    key = month["criterion"].astype(str) + "\x00" + vid.fillna("").astype(str)
    share = _majority_share(month.assign(criterion=key))
    rows = by_item["criterion"].astype(str) + "\x00" + by_item["scorecard_version"].fillna("")
    return rows.map(share).astype(float)


def _majority_share(ratings: pd.DataFrame) -> pd.Series:
    """Share of each criterion's scored ratings in its most common category."""
    counts = ratings.groupby(["criterion", "score"], observed=True).size()
    if len(counts) == 0:
        return pd.Series(dtype=float)
    by = counts.groupby(level=0, observed=True)
    return by.max() / by.sum()


def _session_series(drift: pd.DataFrame) -> pd.DataFrame:
    """One row per session, in date order: ``date, mean_alpha, pairable``."""
    agg = {"date": ("session_date", "first"), "mean_alpha": ("mean_alpha", "first")}
    if "n_pairable" in drift:
        agg["pairable"] = ("n_pairable", "sum")
    per = drift.groupby("session_id", sort=False).agg(**agg)
    if "pairable" not in per:
        per["pairable"] = 1.0
    return per.sort_values("date", kind="stable")


def drift_steps(drift: pd.DataFrame, *, seed: Seed = None) -> tr.ChangePoints | None:
    """Change points of the sessions' mean alpha, weighted by pairable values per session.

    ``drift`` is :attr:`CalibrationResults.drift`; see
    :func:`qa_analysis.trends.change_points` (``kind="mean"``). None without sessions.
    """
    if len(drift) == 0:
        return None
    per = _session_series(drift)
    series = pd.Series(per["mean_alpha"].to_numpy(dtype=float), index=pd.Index(per["date"]))
    w = per["pairable"].to_numpy(dtype=float)
    return tr.change_points(series, weights=np.where(w > 0, w, 0.0), kind="mean", seed=seed)


def _drift_trend(drift: pd.DataFrame) -> tr.Trend:
    if len(drift) == 0:
        return tr.mann_kendall([])
    return tr.mann_kendall(_session_series(drift)["mean_alpha"].to_numpy(dtype=float))


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
    where = f" {md_escape(res.region)}" if res.region else ""
    if res.empty and res.n_na:
        return (
            f"**In {res.window.label}{where} every one of the {res.n_na:,} calibration ratings "
            "was N/A** (criterion not applicable), so there is nothing to agree on: agreement, "
            "rater calibration and the discussion list are empty this month."
        )
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
    >>> th = {"alpha_tentative": 0.6, "alpha_reliable": 0.75}
    >>> agreement_sentence({"name": "Empathy", "alpha": 0.523, "alpha_ci_low": 0.41,
    ...                     "alpha_ci_high": 0.634}, th)
    'Alpha for *Empathy* is 0.52 [0.41, 0.63]: below the .600 floor (unreliable).'
    """
    th = resolve_thresholds(thresholds)
    name = row.get("name") or row.get("criterion")
    a = row.get("alpha")
    txt = fmt_ci(a, row.get("alpha_ci_low"), row.get("alpha_ci_high"))
    v = verdict(a, th)
    if v == "undefined":
        note = row.get("note") or "not enough paired ratings"
        return f"Alpha for *{md_escape(name)}* is undefined ({note})."
    if v == "reliable":
        tail = f"at or above the {bar(th['alpha_reliable'])} bar (reliable)"
    elif v == "tentative":
        tail = (
            f"between the {bar(th['alpha_tentative'])} floor and the "
            f"{bar(th['alpha_reliable'])} bar (tentative)"
        )
    else:
        tail = f"below the {bar(th['alpha_tentative'])} floor (unreliable)"
    return f"Alpha for *{md_escape(name)}* is {txt}: {tail}."


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
        f"Across {len(b)} criteria the median alpha is **{fmt(np.median(fin) if len(fin) else np.nan)}** "
        f"(mean {fmt(fin.mean() if len(fin) else np.nan)}): "
        f"{int(counts.get('reliable', 0))} reliable (>= {bar(th['alpha_reliable'])}), "
        f"{int(counts.get('tentative', 0))} tentative (>= {bar(th['alpha_tentative'])}), "
        f"{int(counts.get('unreliable', 0))} unreliable."
    ]
    if worst is not None and res.criteria is not None:
        lines.append(_weakest_sentence(res))
    weak = b.loc[b["verdict"].isin(["unreliable", "undefined"])].sort_values("alpha", kind="stable")
    if len(weak):
        lines.append("")
        lines += [
            f"- {agreement_sentence(r, th)} *In plain words:* {plain_alpha(r['alpha'], r['name'], th)}."
            for r in weak.to_dict("records")
        ]
    notes = _item_notes(b)
    if notes:
        lines += [
            "",
            "Notes from the agreement computation, per criterion (missing ratings are the "
            "N/A ones, left out):",
            "",
        ]
        lines += [f"- *{md_escape(name)}*: {note}." for name, note in notes]
    return "\n".join(lines)


def weakest_criterion(by_item: pd.DataFrame) -> tuple[str | None, bool]:
    """The lowest-alpha criterion and whether it is clearly the weakest.

    Clearly: its alpha interval lies entirely below every other criterion's
    interval (a conservative comparison: non-overlapping 95% intervals).
    ``(None, False)`` without a finite alpha.

    Examples
    --------
    >>> b = pd.DataFrame({"criterion": ["a", "b", "c"], "alpha": [0.2, 0.8, 0.85],
    ...                   "alpha_ci_low": [0.1, 0.7, 0.75], "alpha_ci_high": [0.3, 0.9, 0.95]})
    >>> weakest_criterion(b)
    ('a', True)
    >>> weakest_criterion(b.assign(alpha_ci_high=[0.75, 0.9, 0.95]))
    ('a', False)
    """
    a = by_item["alpha"].to_numpy(dtype=float) if len(by_item) else np.array([])
    if not np.isfinite(a).any():
        return None, False
    i = int(np.nanargmin(a))
    others = np.delete(by_item["alpha_ci_low"].to_numpy(dtype=float), i)
    hi = float(by_item["alpha_ci_high"].iloc[i])
    clear = bool(len(others)) and is_finite(hi) and bool(np.all(hi < others))
    return str(by_item["criterion"].iloc[i]), clear


def _named(f: fd.Finding, names: Mapping[str, str], markdown: bool = True) -> fd.Finding:
    """The finding with criterion ids replaced by names (escaped and in italics for Markdown)."""
    if f.segment is None:
        return f

    def show(x: str) -> str:
        return f"*{md_escape(x)}*" if markdown else x

    if " / " in f.segment:
        who, crit = f.segment.split(" / ", 1)
        rater = f"**{md_escape(who)}**" if markdown else who
        return dataclasses.replace(f, segment=f"{rater} / {show(names.get(crit, crit))}")
    return dataclasses.replace(f, segment=show(names.get(f.segment, f.segment)))


def _weakest_sentence(res: CalibrationResults) -> str:
    """The weakest criterion, claimed only when its alpha is below every other's (Holm)."""
    assert res.criteria is not None
    f = res.criteria.weakest
    txt = fd.sentence(_named(f, res.names))
    return txt + (f" ({f.method}.)" if f.method else "")


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


def kappa_paradox_criteria(
    res: CalibrationResults, *, high: float | None = None, prevalence: float | None = None
) -> pd.DataFrame:
    """The criteria showing the kappa paradox: skewed prevalence, high agreement, low alpha.

    The rule: the most common category holds at least ``prevalence`` of the
    criterion's ratings (default ``thresholds.paradox_prevalence``, 0.9:
    nearly every ticket gets the same score), the raters agree on at least
    ``high`` of their pairs (percent agreement; default ``alpha_reliable``)
    and alpha is below ``alpha_tentative``. Only then is a low alpha the
    arithmetic of skewed prevalence rather than real disagreement; with 22%
    fails a low alpha means the raters disagree.

    References
    ----------
    .. [1] Feinstein, A. R., & Cicchetti, D. V. (1990). High agreement but low
       kappa: I. The problems of two paradoxes. Journal of Clinical
       Epidemiology, 43(6), 543-549.
    """
    b = res.by_item
    if res.empty or len(b) == 0 or "majority_share" not in b:
        return b.iloc[0:0] if len(b.columns) else pd.DataFrame()
    th = res.thresholds
    hi = float(th["alpha_reliable"] if high is None else high)
    prev = float(th["paradox_prevalence"] if prevalence is None else prevalence)
    with np.errstate(invalid="ignore"):
        mask = (
            (b["majority_share"].to_numpy(dtype=float) >= prev)
            & (b["percent_agreement"].to_numpy(dtype=float) >= hi)
            & (b["alpha"].to_numpy(dtype=float) < th["alpha_tentative"])
        )
    return b.loc[mask]


def kappa_paradox_markdown(
    res: CalibrationResults, *, high: float | None = None, prevalence: float | None = None
) -> str:
    """List the criteria showing the kappa paradox (rule: :func:`kappa_paradox_criteria`).

    Each with its alpha, Gwet coefficient, share of agreeing rater pairs and
    the share of ratings in its most common category. What the paradox means
    is explained in the notebook's markdown.

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
    hi = float(th["alpha_reliable"] if high is None else high)
    prev = float(th["paradox_prevalence"] if prevalence is None else prevalence)
    rule = (
        f"(rule: at least {fmt(prev, 0, pct=True)} of the ratings in one category, at least "
        f"{fmt(hi, 0, pct=True)} of rater pairs agreeing, alpha below {bar(th['alpha_tentative'])})"
    )
    rows = kappa_paradox_criteria(res, high=high, prevalence=prevalence)
    if len(rows) == 0:
        return f"No criterion shows the *kappa paradox* this month {rule}."
    items = ", ".join(
        f"*{md_escape(r['name'])}* (alpha {fmt(r['alpha'])}, {r['gwet_coefficient'].split(' ')[0]} "
        f"{fmt(r['gwet'])}, {fmt(r['percent_agreement'], 0, pct=True)} of rater pairs agree, "
        f"{fmt(r['majority_share'], 0, pct=True)} of ratings in one category)"
        for r in rows.to_dict("records")
    )
    plain = "; ".join(
        plain_paradox(r["name"], r["percent_agreement"], r["alpha"])
        for r in rows.to_dict("records")
    )
    return (
        f"**High agreement, low alpha (the kappa paradox)** {rule}: {items}. "
        f"*In plain words:* {plain}."
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
        f"{fmt(res.thresholds['bias_flag'] * 100, 0)}% of the scale range "
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
    per_criterion = recalibrate_markdown(res)
    if len(flagged) == 0:
        return (
            f"{head}: no rater is biased on average over the criteria. {basis}\n\n{per_criterion}"
        )
    lines = [head + ":", ""]
    for x in flagged.to_dict("records"):
        lines.append(
            f"- **{md_escape(x['rater_id'])}** is **{x['verdict']}**: mean bias "
            f"{fmt_ci(x['deviation_share'], x['deviation_share_ci_low'], x['deviation_share_ci_high'], digits=1, pct=True, signed=True)} "
            f"of the scale range, matches the {ref} on {fmt(x['match_rate'], 0, pct=True)} of "
            f"ratings (AC1 {fmt(x['agreement_ac1'])})."
        )
    lines += ["", basis, "", per_criterion]
    return "\n".join(lines)


def recalibrate_markdown(res: CalibrationResults) -> str:
    """Who to recalibrate on what: every rater x criterion bias that holds, with its interval.

    From :func:`qa_analysis.findings.rater_criterion_bias` over the history
    window (:attr:`CalibrationResults.rater_bias`): a rater biased on one
    criterion is listed for it even when aligned on average over criteria.
    """
    rb = res.rater_bias
    span = res.window.history_label
    if rb is None:
        return f"No rater x criterion check: no ratings with a reference over {span}."
    rule = (
        f"{rb.method}; flagged when the adjusted p is below "
        f"{fmt(1 - 0.95, 0, pct=True)} and the bias is at least "
        f"{fmt(rb.threshold * 100, 0)}% of the scale range"
    )
    if len(rb.flagged) == 0:
        return (
            f"No rater is biased on any single criterion beyond chance and the flag threshold "
            f"over {span}, against the {rb.reference} ({rule})."
        )
    lines = [
        f"**Who to recalibrate on what** (over {span}, against the {rb.reference}; {rule}):",
        "",
    ]
    for r in rb.flagged.to_dict("records"):
        crit = res.names.get(r["criterion"], r["criterion"])
        ci = fmt_ci(r["bias"], r["bias_ci_low"], r["bias_ci_high"], digits=0, pct=True, signed=True)
        lines.append(
            f"- **{md_escape(r['rater_id'])}** on *{md_escape(crit)}*: {r['direction']}, {ci} of the scale "
            f"range ({int(r['n'])} tickets, adjusted p = {r['p_adjusted']:.2g}); averaged over "
            f"all criteria {fmt(r['overall_bias'], 0, pct=True, signed=True)}. *In plain words:* "
            f"{plain_p_value(r['p_adjusted'], 'this rater scores this criterion differently', adjusted='Holm')}."
        )
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
        f"difference as a share of the scale, 0 = unanimous). Ticket **{md_escape(s['ticket_id'])}** "
        f"tops the list (split {fmt(s['split'])}, raters differ on {int(s['n_split'])} criteria"
    )
    txt += f", most on *{md_escape(crit)}*)." if crit else ")."
    c = res.criteria
    if c is not None:
        md = c.most_divisive
        txt += " " + fd.sentence(_named(md, res.names))
        if md.holds:
            txt += " Start the next session there."
        if c.note:
            txt += f" ({_criterion_note(c, res.names)})"
        if md.method:
            txt += f" ({md.method}.)"
    return txt


def _criterion_note(c: fd.CriterionClaims, names: Mapping[str, str]) -> str:
    """Why the weakest and the most divisive criterion differ, with names."""
    note = c.note
    for f in (c.weakest, c.most_divisive):
        if f.segment:
            note = note.replace(f.segment, f"*{md_escape(names.get(f.segment, f.segment))}*", 1)
    return note


def _date(x: Any) -> str:
    t = pd.Timestamp(x)
    return f"{t.day} {t.strftime('%b %Y')}"


_AGREEMENT = "agreement between specialists"


def drift_sentence(res: CalibrationResults) -> str:
    """Agreement across sessions: a collapse, a step, a trend, or nothing beyond noise.

    From the change points of the sessions' mean alpha
    (:attr:`CalibrationResults.drift_steps`): a drop in the latest sessions
    reads "agreement fell from 0.70 to 0.20 in the last 2 sessions"; a step
    elsewhere names its session; Mann-Kendall is quoted only for a monotone
    trend and never to declare that nothing changed.
    """
    d = res.drift
    if len(d) == 0:
        return "No sessions in the history window: no drift chart."
    per = _session_series(d)
    first, last = per.iloc[0], per.iloc[-1]
    txt = (
        f"Over {len(per)} sessions since {pd.Timestamp(first['date']).strftime('%d %B %Y')}, "
        f"the sessions' mean alpha went from {fmt(first['mean_alpha'])} to "
        f"{fmt(last['mean_alpha'])}."
    )
    c, t = res.drift_steps, res.drift_trend
    if c is None or (not is_finite(c.p_global) and not is_finite(c.slope_p_value)):
        note = c.note if c is not None else t.note
        return txt + f" Too few sessions to test for a change ({note or 'too few sessions'})."
    if c.shape == "step":
        seg = c.segments
        k = int(seg["n_points"].iloc[-1])
        p = max(c.p_values) if c.p_values else c.p_global
        plain = plain_shape("step", p, _AGREEMENT, down=c.last_after < c.last_before)
        if c.collapse:
            last_k = "the last session" if k == 1 else f"the last {k} sessions"
            return txt + (
                f" **Agreement collapsed in the latest sessions: it fell from "
                f"{fmt(c.last_before)} to {fmt(c.last_after)} in {last_k}** (since the session "
                f"of {_date(c.last_label)}; change-point test, p = {p:.2g}). "
                f"*In plain words:* {plain}."
            )
        verb = "dropped" if c.last_after < c.last_before else "rose"
        return txt + (
            f" Agreement {verb} from {fmt(c.last_before)} to {fmt(c.last_after)} at the "
            f"session of {_date(c.last_label)} and has stayed there since ({k} sessions; "
            f"change-point test, p = {p:.2g}). *In plain words:* {plain}."
        )
    if c.shape == "trend":
        way = "rising" if c.slope > 0 else "falling"
        p_mk = t.p_value if is_finite(t.p_value) else c.slope_p_value
        mk = f"; Mann-Kendall tau {fmt(t.tau)}, p = {t.p_value:.3f}" if is_finite(t.p_value) else ""
        return txt + (
            f" Agreement is **{way}** steadily ({fmt(c.slope, 3, signed=True)} alpha per "
            f"session, p = {c.slope_p_value:.2g}{mk}); no single step explains it better. "
            f"*In plain words:* {plain_shape('trend', p_mk, _AGREEMENT, down=c.slope < 0)}."
        )
    pg = f"change-point test p = {c.p_global:.2f}; " if is_finite(c.p_global) else ""
    return txt + (
        f" No step and no trend stand out from session-to-session noise ({pg}slope "
        f"p = {fmt(c.slope_p_value, 2)}). *In plain words:* "
        f"{plain_shape('flat', c.p_global, _AGREEMENT, down=False)}."
    )


def agreement_table(res: CalibrationResults) -> pd.DataFrame:
    """Display table of agreement: one row per criterion, indexed by name.

    Alpha, Gwet and percent agreement as ``"estimate [low, high]"`` strings,
    the level and the verdict.
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
    """Display table of rater calibration: one row per rater, in the order of ``raters``.

    Tickets, match rate, AC1, mean bias (share of the scale range, with CI)
    and verdict.
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
            "Match": [fmt(x, 0, pct=True) for x in r["match_rate"]],
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


def calibration_kpis(res: CalibrationResults, *, data: ReportData | None = None) -> dict[str, Any]:
    """Headline KPIs of the calibration report (``calibration_kpis.json``).

    Scalars (shown in the batch index): ``region, period, n_sessions,
    n_tickets, n_raters, mean_alpha, median_alpha, worst_criterion,
    worst_alpha, n_unreliable_criteria, n_lenient, n_severe, drift_p``;
    ``criteria`` (criterion -> alpha) and ``detail`` (rating counts:
    ``n_ratings_total, n_ratings, n_na, n_no_reference, n_compared``) are
    nested. Without ratings every statistic is None. ``drift_shape``
    (flat / step / trend), ``drift_collapse`` and, for a step,
    ``drift_step_session, drift_before, drift_after`` describe agreement
    across sessions. ``n_rater_criterion_flags`` counts the rater x criterion
    biases that hold over the history window (detail ``recalibrate`` lists
    them, and ``criteria_agreement`` gives each criterion's alpha with its
    interval, for the global overview's guideline actions); ``headline_finding`` (:func:`headline_finding`) is the report's
    most important tested finding, absent when none holds. With ``data``
    (the loaded report data):
    ``pseudonymised, pseudonym_key, demo_data``
    (:meth:`~qa_analysis.report.data.ReportData.privacy_kpis`).
    """
    out: dict[str, Any] = {
        "region": res.region,
        "period": res.window.period,
        **(data.privacy_kpis() if data is not None else {}),
        "n_sessions": res.n_sessions,
        "n_tickets": res.n_tickets,
        "n_raters": res.n_raters,
    }
    out["detail"] = _calibration_counts(res)
    rb = res.rater_bias
    flags = rb.flagged if rb is not None else pd.DataFrame()
    out["n_rater_criterion_flags"] = len(flags) if rb is not None else None
    out["detail"]["recalibrate"] = [
        {
            "rater_id": str(r["rater_id"]),
            "criterion": str(r["criterion"]),
            "direction": str(r["direction"]),
            "bias": json_number(r["bias"]),
            "bias_ci_low": json_number(r["bias_ci_low"]),
            "bias_ci_high": json_number(r["bias_ci_high"]),
        }
        for r in flags.to_dict("records")
    ]
    out["detail"]["criteria_agreement"] = criteria_agreement(res)
    headline = headline_finding(res)
    if headline is not None:
        out["headline_finding"] = headline
    if res.empty or len(res.by_item) == 0:
        out.update(
            mean_alpha=None,
            median_alpha=None,
            worst_criterion=None,
            worst_alpha=None,
            n_unreliable_criteria=None,
            n_lenient=None,
            n_severe=None,
            drift_p=json_number(res.drift_trend.p_value),
            criteria={},
        )
        out.update(_drift_kpis(res))
        return out
    b = res.by_item
    a = b["alpha"].to_numpy(dtype=float)
    fin = np.isfinite(a)
    worst = b.loc[b["alpha"].idxmin()] if fin.any() else None
    v = res.raters["verdict"] if len(res.raters) else pd.Series(dtype=object)
    out.update(
        mean_alpha=json_number(a[fin].mean()) if fin.any() else None,
        median_alpha=json_number(np.median(a[fin])) if fin.any() else None,
        worst_criterion=str(worst["criterion"]) if worst is not None else None,
        worst_alpha=json_number(worst["alpha"]) if worst is not None else None,
        n_unreliable_criteria=int((b["verdict"] == "unreliable").sum()),
        n_lenient=int((v == "lenient").sum()),
        n_severe=int((v == "severe").sum()),
        drift_p=json_number(res.drift_trend.p_value),
        criteria={str(c): json_number(x) for c, x in zip(b["criterion"], b["alpha"], strict=True)},
    )
    out.update(_drift_kpis(res))
    return out


def headline_finding(res: CalibrationResults) -> str | None:
    """The calibration report's most important tested finding, in one plain sentence.

    Priority: agreement collapsed in the latest sessions > a step down in
    agreement > a rater biased on a criterion (the largest |bias|) > a
    weakest criterion > a most divisive criterion. None when nothing holds.
    Plain text: no Markdown, names as they are.
    """
    c = res.drift_steps
    if c is not None and c.shape == "step" and c.last_after < c.last_before:
        k = int(c.segments["n_points"].iloc[-1])
        if c.collapse:
            last_k = "the last session" if k == 1 else f"the last {k} sessions"
            return (
                f"Calibration agreement collapsed: the sessions' mean alpha fell from "
                f"{fmt(c.last_before)} to {fmt(c.last_after)} in {last_k} (since the session of "
                f"{_date(c.last_label)})."
            )
        return (
            f"Calibration agreement dropped from {fmt(c.last_before)} to {fmt(c.last_after)} "
            f"at the session of {_date(c.last_label)}."
        )
    rb = res.rater_bias
    if rb is not None and rb.findings:
        return fd.sentence(_named(rb.findings[0], res.names, markdown=False))
    if res.criteria is not None:
        for f in (res.criteria.weakest, res.criteria.most_divisive):
            if f.holds:
                return fd.sentence(_named(f, res.names, markdown=False))
    return None


def criteria_agreement(res: CalibrationResults) -> list[dict[str, Any]]:
    """Per criterion alpha with its interval, for the KPI file's ``detail`` (global actions)."""
    b = res.by_item
    if len(b) == 0:
        return []
    out = []
    for r in b.to_dict("records"):
        out.append(
            {
                "criterion": str(r["criterion"]),
                "name": str(r["name"]),
                **(
                    {"scorecard_version": str(r["scorecard_version"])}
                    if _present(r.get("scorecard_version"))
                    else {}
                ),
                **{
                    c: (float(r[c]) if is_finite(r[c]) else None)
                    for c in ("alpha", "alpha_ci_low", "alpha_ci_high")
                },
            }
        )
    return out


def _present(x: Any) -> bool:
    """Whether ``x`` is a non-missing value (not None, NA or NaN)."""
    return x is not None and not (pd.api.types.is_scalar(x) and bool(pd.isna(x)))


def _drift_kpis(res: CalibrationResults) -> dict[str, Any]:
    c = res.drift_steps
    step = c if c is not None and c.shape == "step" else None
    return {
        "drift_shape": c.shape if c is not None else None,
        "drift_collapse": bool(c.collapse) if c is not None else None,
        "drift_step_session": str(pd.Timestamp(step.last_label).date()) if step else None,
        "drift_before": json_number(step.last_before) if step else None,
        "drift_after": json_number(step.last_after) if step else None,
    }


def _calibration_counts(res: CalibrationResults) -> dict[str, int]:
    return {
        "n_ratings_total": int(res.n_ratings_total),
        "n_ratings": int(res.n_ratings),
        "n_na": int(res.n_na),
        "n_no_reference": int(res.n_no_reference),
        "n_compared": int(res.n_compared),
    }
