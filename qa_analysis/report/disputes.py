"""Disputes and grader QA in the reports.

The calibration report's disputes section (dispute and overturn rates by
criterion and by reviewer with Wilson intervals; the criteria and reviewers
whose overturn rate is above the others' beyond chance, named next to the
agreement results; resolution time against the SLA in ``params/defaults.yaml``
``disputes.sla_days``), the grader table, and the performance report's
sentence on what dispute outcomes do to the pass rate (the reports use the
final scores by default).

Inputs come from :func:`qa_analysis.report.data.load_report_data`: its
``evaluations`` carry the final scores and ``original_score``, its
``disputes`` the disputes of those evaluations (empty: no disputes section).
Statistics are in :mod:`qa_analysis.disputes` and :mod:`qa_analysis.graders`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from qa_analysis import disputes as dsp
from qa_analysis import graders as grd
from qa_analysis import settings
from qa_analysis.escaping import md_escape
from qa_analysis.report.data import Window, in_window
from qa_analysis.report.formatting import ShortRepr, fmt, fmt_ci, is_finite
from qa_analysis.scorecard import Scorecard, score_evaluations

__all__ = [
    "DisputesResults",
    "dispute_effect_sentence",
    "dispute_params",
    "disputes_markdown",
    "disputes_results",
    "grader_report_table",
]


def dispute_params(disputes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``disputes`` parameter merged over ``params/defaults.yaml`` (``sla_days``).

    Examples
    --------
    >>> dispute_params({"sla_days": 3})["sla_days"]
    3
    """
    return {**settings.defaults().get("disputes", {}), **(disputes or {})}


def _original(evaluations: pd.DataFrame) -> pd.DataFrame:
    """The evaluations with the scores as first given (before dispute outcomes)."""
    if "original_score" not in evaluations.columns:
        return evaluations
    return evaluations.assign(score=evaluations["original_score"]).drop(
        columns=[c for c in ("original_score", "disputed") if c in evaluations.columns]
    )


@dataclass(frozen=True, repr=False)
class DisputesResults(ShortRepr):
    """The disputes of one region over the report window (history and month).

    ``by_criterion`` / ``by_reviewer``: :func:`qa_analysis.disputes.dispute_rates`;
    ``signal``: :func:`qa_analysis.disputes.calibration_signal` (criteria and
    reviewers with overturn rates above the others beyond chance, Holm);
    ``resolution``: :func:`qa_analysis.disputes.resolution_times` with the SLA;
    ``graders``: :func:`qa_analysis.graders.grader_table`.
    """

    window: Window
    n_evaluations: int
    n_disputes: int
    by_criterion: pd.DataFrame
    by_reviewer: pd.DataFrame
    signal: pd.DataFrame
    resolution: pd.DataFrame
    graders: pd.DataFrame
    sla_days: float
    names: dict[str, str]

    @property
    def empty(self) -> bool:
        """True when there is no disputes table (the section is left out)."""
        return self.n_disputes == 0 and len(self.by_criterion) == 0


def disputes_results(
    evaluations: pd.DataFrame,
    disputes: pd.DataFrame,
    scorecard: Scorecard,
    window: Window,
    *,
    sla_days: float | None = None,
    raters: pd.DataFrame | None = None,
) -> DisputesResults:
    """Dispute statistics and the grader table over the window.

    Parameters
    ----------
    evaluations : DataFrame
        Long evaluations of the window (final scores and ``original_score``,
        as :func:`~qa_analysis.report.data.load_report_data` gives them).
    disputes : DataFrame
        Their disputes (may be empty).
    scorecard : Scorecard
    window : Window
    sla_days : float, optional
        Resolution SLA; default ``disputes.sla_days`` of ``params/defaults.yaml``.
    raters : DataFrame, optional
        :attr:`qa_analysis.report.calibration.CalibrationResults.raters`; adds
        the calibration alignment to the grader table.

    Notes
    -----
    Rates use the whole window: disputes are rare (a few per cent of
    evaluations), and one month is too few to tell a reviewer apart.
    """
    sla = float(dispute_params()["sla_days"] if sla_days is None else sla_days)
    names = {c.id: c.name for c in scorecard.criteria}
    ev = (
        in_window(evaluations, "evaluated_at", window.history_start, window.end)
        if len(evaluations)
        else evaluations
    )
    n_ev = int(ev["evaluation_id"].nunique()) if len(ev) else 0
    if len(ev) == 0 or len(disputes) == 0:
        e = pd.DataFrame()
        return DisputesResults(window, n_ev, 0, e, e, e, e, e, sla, names)
    d = disputes.loc[disputes["evaluation_id"].isin(ev["evaluation_id"])]
    original = _original(ev)
    cluster = "agent_id" if "agent_id" in ev.columns else None
    by_c = dsp.dispute_rates(original, d, by="criterion", cluster=cluster)
    by_r = dsp.dispute_rates(original, d, by="reviewer_id", cluster=cluster)
    signal = dsp.calibration_signal(original, d, cluster=cluster)
    res = dsp.resolution_times(d, sla_days=sla)
    scored = score_evaluations(original, scorecard)
    adjust = tuple(c for c in ("agent_id", "channel") if c in scored.columns)
    cal = None
    if raters is not None and len(raters) and "rater_id" in raters:
        cal = raters
    graders = grd.grader_table(scored, disputes=d, calibration=cal, adjust=adjust)
    return DisputesResults(window, n_ev, len(d), by_c, by_r, signal, res, graders, sla, names)


def _segment(dim: str, seg: str, names: Mapping[str, str]) -> str:
    if dim == "criterion":
        return f"**{md_escape(names.get(seg, seg))}** (`{md_escape(seg)}`)"
    return f"reviewer **{md_escape(seg)}**"


def disputes_markdown(r: DisputesResults) -> str:
    """The disputes section's reading: volume, the flagged criteria and reviewers, the SLA.

    Names the criteria and reviewers whose overturn rate is above the others'
    beyond chance (each against the rest, cluster-robust, Holm-adjusted over
    the segments of a dimension), or says that none is.
    """
    if r.empty:
        return "No disputes table in the data: the disputes section is left out."
    if r.n_disputes == 0:
        return f"No disputes over {r.window.history_label} ({r.n_evaluations:,} evaluations)."
    share = r.n_disputes / r.n_evaluations if r.n_evaluations else float("nan")
    txt = (
        f"Over {r.window.history_label}, **{r.n_disputes:,} disputes** were raised on "
        f"{r.n_evaluations:,} evaluations ({fmt(share, 1, pct=True)} of evaluations)."
    )
    hot = []
    for dim, t in (("criterion", r.by_criterion), ("reviewer_id", r.by_reviewer)):
        if len(t) and "dispute_above" in t:
            for row in t.loc[t["dispute_above"]].to_dict("records"):
                hot.append(
                    f"{_segment(dim, str(row[dim]), r.names)} "
                    f"({fmt_ci(row['dispute_rate'], row['dispute_rate_ci_low'], row['dispute_rate_ci_high'], pct=True)} "
                    f"disputed vs {fmt(row['dispute_rest_rate'], 1, pct=True)} for the others)"
                )
    if hot:
        txt += (
            " **Disputed more often than the others beyond chance** (each against the rest, "
            "Holm-adjusted): " + "; ".join(hot) + "."
        )
    s = r.signal
    if len(s):
        parts = [
            f"{_segment(row['dimension'], str(row['segment']), r.names)}: "
            f"{fmt_ci(row['overturn_rate'], row['overturn_rate_ci_low'], row['overturn_rate_ci_high'], pct=True)} "
            f"of {int(row['n_overturn_base'])} resolved disputes overturned vs "
            f"{fmt(row['overturn_rest_rate'], 0, pct=True)} for the others"
            for row in s.to_dict("records")
        ]
        txt += (
            " **Criteria and reviewers with overturn rates above the others beyond chance** "
            "(each against the rest, Holm-adjusted): " + "; ".join(parts) + ". "
            "A criterion often overturned on appeal is unclear or applied inconsistently; "
            "a reviewer often overturned scores differently from the rubric's owners: "
            "both are calibration topics next to the agreement results."
        )
    else:
        txt += (
            " No criterion and no reviewer has an overturn rate above the others beyond chance "
            "(each against the rest, Holm-adjusted)."
        )
    if len(r.resolution):
        t = r.resolution.iloc[0]
        if int(t["n_resolved"]):
            txt += (
                f" Resolution: median {fmt(t['median_days'], 1)} days; "
                f"{fmt_ci(t['share_over_sla'], t['share_over_sla_ci_low'], t['share_over_sla_ci_high'], pct=True)} "
                f"of {int(t['n_resolved']):,} resolved disputes took longer than the "
                f"{fmt(r.sla_days, 0)}-day SLA; {int(t['n_open'])} still open."
            )
    return txt


def grader_report_table(r: DisputesResults) -> pd.DataFrame:
    """The grader table with report column names (ids as loaded: pseudonymised by default).

    Columns: ``Reviewer, Evaluations, Severity (points), Severity CI low,
    Severity CI high, Calibration, Resolved disputes, Overturn rate``
    (those available).
    """
    g = r.graders
    if len(g) == 0:
        return g
    labels = {
        "reviewer_id": "Reviewer",
        "n_evaluations": "Evaluations",
        "severity": "Severity (points)",
        "severity_ci_low": "Severity CI low",
        "severity_ci_high": "Severity CI high",
        "calibration_verdict": "Calibration",
        "n_resolved": "Resolved disputes",
        "overturn_rate": "Overturn rate",
    }
    cols = [c for c in labels if c in g.columns]
    return g[cols].rename(columns=labels)


def dispute_effect_sentence(
    evaluations: pd.DataFrame, disputes: pd.DataFrame, scorecard: Scorecard, window: Window
) -> str:
    """What dispute outcomes do to the report month's pass rate (empty without disputes).

    The reports use the final scores (overturned disputes applied); this says
    how far that moves the pass rate from the scores as first given.
    """
    if len(disputes) == 0 or len(evaluations) == 0:
        return ""
    ev = in_window(evaluations, "evaluated_at", window.start, window.end)
    if len(ev) == 0:
        return ""
    d = disputes.loc[disputes["evaluation_id"].isin(ev["evaluation_id"])]
    e = dsp.pass_rate_effect(_original(ev), d, scorecard).iloc[0]
    if not is_finite(e["pass_rate_final"]):
        return ""
    return (
        f"Scores are the final scores, after disputes: {int(e['n_overturned'])} evaluation(s) "
        f"of {window.label} had a score overturned on appeal, changing {int(e['n_changed'])} "
        f"pass/fail result(s); the pass rate is {fmt(e['pass_rate_final'], 1, pct=True)} with "
        f"dispute outcomes and {fmt(e['pass_rate_original'], 1, pct=True)} with the scores as "
        f"first given ({fmt(e['difference'] * 100, 1, signed=True)} points)."
    )
