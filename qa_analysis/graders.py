"""Grader QA: the reviewers who score production evaluations, reviewed themselves.

:func:`grader_table` gives one row per reviewer: workload, share of the audit
plan completed, severity or leniency measured on production data (adjusted for
the agents and channels the reviewer happened to score), calibration alignment
and overturn rate of their disputed scores.

References
----------
.. [1] Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to
   cluster-robust inference. *J. Human Resources* 50(2), 317-372.
.. [2] Holm, S. (1979). A simple sequentially rejective multiple test
   procedure. *Scand. J. Statist.* 6(2), 65-70.
.. [3] Wilson, E. B. (1927). Probable inference, the law of succession, and
   statistical inference. *JASA* 22(158), 209-212.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from qa_analysis._checks import require_columns as _require
from qa_analysis._checks import require_frame as _frame
from qa_analysis.disputes import OVERTURNED
from qa_analysis.findings import Correction, adjust_p
from qa_analysis.trends import wilson_interval

__all__ = ["grader_table", "severity"]


def severity(
    scores: pd.DataFrame,
    *,
    reviewer: str = "reviewer_id",
    adjust: Sequence[str] = ("agent_id", "channel"),
    cluster: str = "agent_id",
    value: str = "score",
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> pd.DataFrame:
    """Each reviewer's severity (negative) or leniency (positive) on comparable evaluations.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation (:func:`qa_analysis.scorecard.score_evaluations`)
        with ``reviewer``, the ``adjust`` columns, ``cluster`` and ``value``.
    reviewer : str
        Reviewer column.
    adjust : sequence of str
        The comparison cells: an evaluation is compared with the other
        reviewers' evaluations of the same agent and channel.
    cluster : str
        Cluster column of the interval (evaluations of one agent are correlated).
    value : str
        The score compared (0-100).
    confidence : float
        Interval level; 1 - the family-wise error rate over reviewers.
    correction : {"holm", "fdr_bh"}

    Returns
    -------
    DataFrame
        One row per reviewer: ``reviewer_id, n_compared, severity,
        severity_ci_low, severity_ci_high, severity_p_value,
        severity_p_adjusted, severity_flag`` (``lenient``, ``severe`` or
        empty). Reviewers with no comparable evaluation have NaN.

    Notes
    -----
    For evaluation :math:`i` by reviewer :math:`r` in cell :math:`g` (agent x
    channel), :math:`d_i = y_i - \\bar y_{g,-r}`, the mean score of the *other*
    reviewers' evaluations in :math:`g` (a within-cell, fixed-effects
    comparison: agent skill and channel difficulty cancel). A reviewer's
    severity is :math:`\\bar d_r`; its variance is the cluster-robust (CR1)
    sandwich over the agent clusters :math:`c` of the reviewer,
    :math:`\\frac{G}{G-1} \\sum_c (\\sum_{i \\in c} (d_i - \\bar d_r))^2 / n_r^2`,
    with a t reference on :math:`G - 1` degrees of freedom [1]_. The p-values
    (of :math:`\\bar d_r = 0`) are adjusted over the reviewers (Holm [2]_).

    References
    ----------
    .. [1] Cameron, A. C., & Miller, D. L. (2015). *J. Human Resources* 50(2), 317-372.
    .. [2] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"reviewer_id": ["r1", "r2"] * 4, "agent_id": list("aabbccdd"),
    ...                   "channel": "chat", "score": [90, 80, 70, 60, 85, 75, 95, 85]})
    >>> severity(s)[["reviewer_id", "n_compared", "severity"]]
      reviewer_id  n_compared  severity
    0          r1           4      10.0
    1          r2           4     -10.0
    """
    _frame(scores, "scores")
    cols = [reviewer, *adjust, cluster, value]
    _require(scores, list(dict.fromkeys(cols)), "scores")
    y = pd.to_numeric(scores[value], errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(y)
    df = scores.loc[keep, list(dict.fromkeys(cols))].copy()
    df["_y"] = y[keep]
    cell = df.groupby(list(adjust), sort=False, observed=True, dropna=False).ngroup().to_numpy()
    df["_cell"] = cell
    cell_sum = df.groupby("_cell")["_y"].transform("sum").to_numpy()
    cell_n = df.groupby("_cell")["_y"].transform("size").to_numpy()
    own = df.groupby(["_cell", reviewer], observed=True)["_y"]
    own_sum = own.transform("sum").to_numpy()
    own_n = own.transform("size").to_numpy()
    other_n = cell_n - own_n
    ok = other_n > 0
    d = np.where(ok, df["_y"].to_numpy() - (cell_sum - own_sum) / np.where(ok, other_n, 1), np.nan)
    df["_d"] = d
    cmp = df[ok]
    reviewers = pd.Index(sorted(df[reviewer].astype(str).unique()), name=reviewer)
    rid = cmp[reviewer].astype(str)
    g = cmp.groupby(rid)["_d"]
    n = g.size().reindex(reviewers, fill_value=0).to_numpy()
    mean = g.mean().reindex(reviewers).to_numpy()
    resid = cmp["_d"].to_numpy() - pd.Series(mean, index=reviewers).reindex(rid).to_numpy()
    per_cluster = pd.DataFrame({"r": rid.to_numpy(), "c": cmp[cluster].to_numpy(), "e": resid})
    cs = per_cluster.groupby(["r", "c"], observed=True)["e"].sum()
    ss = (cs**2).groupby(level=0).sum().reindex(reviewers, fill_value=0.0).to_numpy()
    n_cl = cs.groupby(level=0).size().reindex(reviewers, fill_value=0).to_numpy()
    ok_r = (n_cl >= 2) & (n > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(ok_r, n_cl / np.maximum(n_cl - 1, 1) * ss / np.maximum(n, 1) ** 2, np.nan)
        se = np.sqrt(var)
        t = np.where(ok_r & (se > 0), mean / np.where(se > 0, se, 1), np.nan)
    dof = np.maximum(n_cl - 1, 1)
    p = np.where(np.isnan(t), np.nan, 2 * stats.t.sf(np.abs(np.nan_to_num(t)), dof))
    q = stats.t.ppf(0.5 + confidence / 2, dof)
    p_adj = adjust_p(p, method=correction)
    flag = np.where(
        np.nan_to_num(p_adj, nan=1.0) < 1 - confidence,
        np.where(mean > 0, "lenient", "severe"),
        "",
    )
    return pd.DataFrame(
        {
            reviewer: reviewers.to_numpy(),
            "n_compared": n.astype(np.int64),
            "severity": mean,
            "severity_ci_low": mean - q * se,
            "severity_ci_high": mean + q * se,
            "severity_p_value": p,
            "severity_p_adjusted": p_adj,
            "severity_flag": flag,
        }
    )


def grader_table(
    scores: pd.DataFrame,
    *,
    plan: pd.DataFrame | None = None,
    disputes: pd.DataFrame | None = None,
    calibration: pd.DataFrame | None = None,
    reviewer: str = "reviewer_id",
    adjust: Sequence[str] = ("agent_id", "channel"),
    cluster: str = "agent_id",
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> pd.DataFrame:
    """One row per reviewer: workload, plan completion, severity, calibration, overturns.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation (:func:`qa_analysis.scorecard.score_evaluations`,
        with ``evaluation_id``, ``ticket_id``, ``reviewer``, the ``adjust``
        columns and ``score``).
    plan : DataFrame, optional
        Planned audits, one row per planned ticket with ``ticket_id`` and
        ``reviewer``; completion is the share of a reviewer's planned tickets
        that have an evaluation by that reviewer.
    disputes : DataFrame, optional
        :func:`qa_analysis.io.load_disputes` output; gives the overturn rate of
        the reviewer's resolved disputes.
    calibration : DataFrame, optional
        :func:`qa_analysis.reliability.rater_calibration` output (one row per
        rater); its ``alignment``, ``deviation`` and ``verdict`` join on
        ``rater_id`` = reviewer, prefixed ``calibration_``.
    reviewer, adjust, cluster, confidence, correction
        As for :func:`severity`.

    Returns
    -------
    DataFrame
        ``reviewer_id, n_evaluations, [n_planned, n_completed, plan_share],``
        the :func:`severity` columns, ``[calibration_alignment,
        calibration_deviation, calibration_verdict], [n_resolved, n_overturned,
        overturn_rate, overturn_rate_ci_low, overturn_rate_ci_high]``.

    Notes
    -----
    Severity uses production data (see :func:`severity`), so it complements the
    calibration sessions' alignment. The overturn interval is Wilson's [1]_.

    References
    ----------
    .. [1] Wilson, E. B. (1927). *JASA* 22(158), 209-212.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"evaluation_id": list("12345678"), "ticket_id": list("abcdefgh"),
    ...     "reviewer_id": ["r1", "r2"] * 4, "agent_id": list("aabbccdd"), "channel": "chat",
    ...     "score": [90, 80, 70, 60, 85, 75, 95, 85]})
    >>> grader_table(s)[["reviewer_id", "n_evaluations", "severity"]]
      reviewer_id  n_evaluations  severity
    0          r1              4      10.0
    1          r2              4     -10.0
    """
    _frame(scores, "scores")
    _require(scores, ["evaluation_id", reviewer], "scores")
    out = severity(
        scores,
        reviewer=reviewer,
        adjust=adjust,
        cluster=cluster,
        confidence=confidence,
        correction=correction,
    )
    rid = scores[reviewer].astype(str)
    counts = scores.groupby(rid)["evaluation_id"].nunique()
    out.insert(1, "n_evaluations", out[reviewer].map(counts).fillna(0).astype(np.int64))
    if plan is not None:
        _frame(plan, "plan")
        _require(plan, ["ticket_id", reviewer], "plan")
        _require(scores, ["ticket_id"], "scores")
        done = pd.MultiIndex.from_arrays([rid, scores["ticket_id"].astype(str)])
        planned = pd.MultiIndex.from_arrays(
            [plan[reviewer].astype(str), plan["ticket_id"].astype(str)]
        )
        hit = pd.Series(planned.isin(done), index=plan[reviewer].astype(str).to_numpy())
        n_plan = hit.groupby(level=0).size()
        n_done = hit.groupby(level=0).sum()
        out.insert(2, "n_planned", out[reviewer].map(n_plan).fillna(0).astype(np.int64))
        out.insert(3, "n_completed", out[reviewer].map(n_done).fillna(0).astype(np.int64))
        with np.errstate(invalid="ignore", divide="ignore"):
            out.insert(
                4,
                "plan_share",
                np.where(out["n_planned"] > 0, out["n_completed"] / out["n_planned"], np.nan),
            )
    if calibration is not None:
        _frame(calibration, "calibration")
        _require(calibration, ["rater_id"], "calibration")
        cal = calibration.drop_duplicates("rater_id")
        for c in ("alignment", "deviation", "verdict"):
            if c in cal.columns:
                out[f"calibration_{c}"] = out[reviewer].map(
                    pd.Series(cal[c].to_numpy(), index=cal["rater_id"].astype(str))
                )
    if disputes is not None:
        _frame(disputes, "disputes")
        _require(disputes, ["evaluation_id", "status"], "disputes")
        who = pd.Series(rid.to_numpy(), index=scores["evaluation_id"].astype(str))
        who = who[~who.index.duplicated()]
        d = disputes[disputes["status"] != "open"]
        r = d["evaluation_id"].astype(str).map(who)
        over = d["status"].isin(OVERTURNED)
        n_res = r.value_counts()
        n_over = over.groupby(r).sum()
        out["n_resolved"] = out[reviewer].map(n_res).fillna(0).astype(np.int64)
        out["n_overturned"] = out[reviewer].map(n_over).fillna(0).astype(np.int64)
        n = out["n_resolved"].to_numpy(dtype=float)
        x = out["n_overturned"].to_numpy(dtype=float)
        lo, hi = wilson_interval(x, n, confidence=confidence)
        out["overturn_rate"] = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
        out["overturn_rate_ci_low"] = lo
        out["overturn_rate_ci_high"] = hi
    return out
