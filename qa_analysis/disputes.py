"""Disputes (appeals) of evaluation scores: rates, overturns, resolution time, effect on pass rate.

Inputs are the long evaluations table (one row per evaluation x criterion, as
:func:`qa_analysis.io.load_evaluations` returns) and the disputes table of
:func:`qa_analysis.io.load_disputes` (one row per disputed criterion, or per
evaluation when ``criterion`` is empty). A dispute is *resolved* unless its
status is ``open``, and *overturned* when it is ``accepted`` or
``partially_accepted``.

Rates per criterion count criterion ratings (an applicable score) and the
disputes of that criterion; rates per reviewer or region count evaluations
(disputed = at least one dispute). The overturn rate is overturned disputes
over resolved disputes. Intervals are Wilson score intervals; "above the
others" claims come from :func:`qa_analysis.findings.segment_differences`
(each segment against the rest, cluster-robust with agents as clusters by
default, Holm-adjusted over the segments of one dimension).

References
----------
.. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and
   statistical inference. *JASA* 22(158), 209-212.
.. [2] Holm, S. (1979). A simple sequentially rejective multiple test
   procedure. *Scand. J. Statist.* 6(2), 65-70.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from qa_analysis._checks import require_columns as _require
from qa_analysis._checks import require_frame as _frame
from qa_analysis.findings import Correction, segment_differences
from qa_analysis.scorecard import Scorecard, score_evaluations
from qa_analysis.trends import wilson_interval

__all__ = [
    "OVERTURNED",
    "apply_disputes",
    "calibration_signal",
    "dispute_rates",
    "pass_rate_effect",
    "resolution_times",
]

#: Statuses that change the score.
OVERTURNED: tuple[str, ...] = ("accepted", "partially_accepted")

_EVAL_META = ("agent_id", "reviewer_id", "region")


def _evaluation_meta(evaluations: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return evaluations.drop_duplicates("evaluation_id")[["evaluation_id", *cols]]


def apply_disputes(
    evaluations: pd.DataFrame,
    disputes: pd.DataFrame,
    *,
    outcome: Literal["final", "original"] = "final",
) -> pd.DataFrame:
    """The evaluations with dispute outcomes applied to their criterion scores.

    Parameters
    ----------
    evaluations : DataFrame
        Long table: ``evaluation_id, criterion, score`` (and any other columns).
    disputes : DataFrame
        ``evaluation_id, criterion, status, final_score``.
    outcome : {"final", "original"}
        ``final`` (the default): an overturned criterion dispute's
        ``final_score`` replaces the score; ``original``: the scores as first
        given (a copy of ``evaluations``).

    Returns
    -------
    DataFrame
        ``evaluations`` with ``score`` updated and a column ``disputed``
        (the rating had a criterion dispute, any status).

    Notes
    -----
    Disputes without a criterion (of a whole evaluation) count in the rates
    but change no criterion score. Open and rejected disputes change nothing.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"evaluation_id": ["e1", "e1"], "criterion": ["a", "b"],
    ...                    "score": [0.0, 3.0]})
    >>> d = pd.DataFrame({"evaluation_id": ["e1"], "criterion": ["a"],
    ...                   "status": ["accepted"], "final_score": [1.0]})
    >>> apply_disputes(ev, d)["score"].tolist()
    [1.0, 3.0]
    """
    _frame(evaluations, "evaluations")
    _frame(disputes, "disputes")
    _require(evaluations, ["evaluation_id", "criterion", "score"], "evaluations")
    _require(disputes, ["evaluation_id", "criterion", "status", "final_score"], "disputes")
    if outcome not in ("final", "original"):
        raise ValueError(f"outcome must be 'final' or 'original', got {outcome!r}")
    out = evaluations.copy()
    keyed = disputes[disputes["criterion"].notna()]
    key = pd.MultiIndex.from_arrays(
        [out["evaluation_id"].astype(str), out["criterion"].astype(str)]
    )
    dkey = pd.MultiIndex.from_arrays(
        [keyed["evaluation_id"].astype(str), keyed["criterion"].astype(str)]
    )
    out["disputed"] = key.isin(dkey)
    if outcome == "final":
        over = keyed[keyed["status"].isin(OVERTURNED) & keyed["final_score"].notna()]
        # the last overturned dispute of a rating decides (one per rating in practice)
        final = pd.Series(
            over["final_score"].to_numpy(dtype=float),
            index=pd.MultiIndex.from_arrays(
                [over["evaluation_id"].astype(str), over["criterion"].astype(str)]
            ),
        )
        final = final[~final.index.duplicated(keep="last")]
        pos = final.index.get_indexer(key)
        hit = pos >= 0
        score = out["score"].to_numpy(dtype=float, copy=True)
        score[hit] = final.to_numpy()[pos[hit]]
        out["score"] = score
    return out


def _rate_table(
    unit: pd.DataFrame,
    flag: str,
    by: str,
    *,
    cluster: str | None,
    confidence: float,
    correction: Correction,
    prefix: str,
) -> pd.DataFrame:
    """Per-segment rate of a 0/1 column with Wilson intervals and each-vs-rest tests."""
    y = unit[flag].to_numpy(dtype=float)
    seg = unit[by].astype(str)
    counts = (
        pd.DataFrame({by: seg, "y": y})
        .groupby(by, sort=True, observed=True)["y"]
        .agg(["size", "sum"])
    )
    n = counts["size"].to_numpy(dtype=float)
    x = counts["sum"].to_numpy(dtype=float)
    lo, hi = wilson_interval(x, n, confidence=confidence)
    out = pd.DataFrame(
        {
            by: counts.index.to_numpy(),
            f"n_{prefix}_base": n.astype(np.int64),
            f"n_{prefix}": x.astype(np.int64),
            f"{prefix}_rate": np.where(n > 0, x / np.where(n > 0, n, 1), np.nan),
            f"{prefix}_rate_ci_low": lo,
            f"{prefix}_rate_ci_high": hi,
        }
    )
    if len(out) >= 2 and len(unit):
        frame = pd.DataFrame({by: seg.to_numpy(), "passed": y.astype(bool)})
        if cluster is not None:
            frame[cluster] = unit[cluster].to_numpy()
        t = segment_differences(
            frame,
            by=by,
            metric="pass_rate",
            cluster=cluster,
            confidence=confidence,
            correction=correction,
        )
        t = t.rename(
            columns={
                "segment": by,
                "rest_value": f"{prefix}_rest_rate",
                "p_value": f"{prefix}_p_value",
                "p_adjusted": f"{prefix}_p_adjusted",
            }
        )
        t[f"{prefix}_above"] = t["differs"] & (t["difference"] > 0)
        cols = [by, f"{prefix}_rest_rate", f"{prefix}_p_value", f"{prefix}_p_adjusted"]
        out = out.merge(t[[*cols, f"{prefix}_above"]], on=by, how="left")
    else:
        for c in ("rest_rate", "p_value", "p_adjusted"):
            out[f"{prefix}_{c}"] = np.nan
        out[f"{prefix}_above"] = False
    return out


def dispute_rates(
    evaluations: pd.DataFrame,
    disputes: pd.DataFrame,
    *,
    by: str = "criterion",
    cluster: str | None = "agent_id",
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> pd.DataFrame:
    """Dispute rate and overturn rate per criterion, reviewer or region, with tests.

    Parameters
    ----------
    evaluations : DataFrame
        Long evaluations: ``evaluation_id, criterion, score`` and the ``by`` and
        ``cluster`` columns (evaluation-level for reviewer/region).
    disputes : DataFrame
        As :func:`qa_analysis.io.load_disputes` returns.
    by : str
        ``criterion`` (rates per criterion rating) or an evaluation-level column
        such as ``reviewer_id`` or ``region`` (rates per evaluation).
    cluster : str or None
        Cluster column for the tests (agents); None for classical tests.
    confidence : float
        Interval level and 1 - the family-wise error rate of the tests.
    correction : {"holm", "fdr_bh"}

    Returns
    -------
    DataFrame
        One row per segment: ``<by>, n_dispute_base`` (ratings or evaluations),
        ``n_dispute, dispute_rate, dispute_rate_ci_low, dispute_rate_ci_high,
        dispute_rest_rate, dispute_p_value, dispute_p_adjusted, dispute_above``,
        then the same with ``overturn`` (base: resolved disputes, events:
        overturned disputes). ``*_above`` is True when the segment's rate is
        above the rest's beyond chance (adjusted over the segments).

    Notes
    -----
    The interval is Wilson's [1]_; the test of each segment against the rest is
    :func:`qa_analysis.findings.segment_differences` (cluster-robust t by
    default), with Holm's adjustment [2]_.

    References
    ----------
    .. [1] Wilson, E. B. (1927). *JASA* 22(158), 209-212.
    .. [2] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"evaluation_id": [f"e{i}" for i in range(20) for _ in "ab"],
    ...     "criterion": list("ab") * 20, "score": 1.0, "reviewer_id": "r1"})
    >>> d = pd.DataFrame({"dispute_id": ["d1", "d2"], "evaluation_id": ["e1", "e2"],
    ...     "criterion": ["a", "a"], "status": ["accepted", "rejected"]})
    >>> t = dispute_rates(ev, d, by="criterion", cluster=None)
    >>> t[["criterion", "n_dispute", "dispute_rate", "n_overturn", "overturn_rate"]]
      criterion  n_dispute  dispute_rate  n_overturn  overturn_rate
    0         a          2           0.1          1            0.5
    1         b          0           0.0          0            NaN
    """
    _frame(evaluations, "evaluations")
    _frame(disputes, "disputes")
    _require(evaluations, ["evaluation_id", "criterion", "score"], "evaluations")
    _require(disputes, ["evaluation_id", "criterion", "status"], "disputes")
    extra = [c for c in (cluster,) if c is not None and c != by]
    if by == "criterion":
        _require(evaluations, extra, "evaluations")
        base = evaluations.loc[evaluations["score"].notna(), ["evaluation_id", "criterion", *extra]]
        key = pd.MultiIndex.from_arrays(
            [base["evaluation_id"].astype(str), base["criterion"].astype(str)]
        )
        dd = disputes[disputes["criterion"].notna()]
        dkey = pd.MultiIndex.from_arrays(
            [dd["evaluation_id"].astype(str), dd["criterion"].astype(str)]
        )
        base = base.assign(disputed=key.isin(dkey))
        units = dd.merge(
            evaluations.drop_duplicates("evaluation_id")[["evaluation_id", *extra]],
            on="evaluation_id",
            how="inner",
        )
    else:
        _require(evaluations, [by, *extra], "evaluations")
        base = _evaluation_meta(evaluations, [by, *extra])
        base = base.assign(disputed=base["evaluation_id"].isin(disputes["evaluation_id"]))
        units = disputes.drop(columns=[c for c in (by, *extra) if c in disputes.columns]).merge(
            base[["evaluation_id", by, *extra]], on="evaluation_id", how="inner"
        )
    kw = {"cluster": cluster, "confidence": confidence, "correction": correction}
    rates = _rate_table(base, "disputed", by, prefix="dispute", **kw)  # type: ignore[arg-type]
    resolved = units[units["status"] != "open"].assign(
        overturned=lambda u: u["status"].isin(OVERTURNED)
    )
    over = _rate_table(resolved, "overturned", by, prefix="overturn", **kw)  # type: ignore[arg-type]
    out = rates.merge(over, on=by, how="left")
    for c in ("n_overturn_base", "n_overturn"):
        out[c] = out[c].fillna(0).astype(np.int64)
    out["overturn_above"] = out["overturn_above"].astype("boolean").fillna(False).astype(bool)
    return out


def calibration_signal(
    evaluations: pd.DataFrame,
    disputes: pd.DataFrame,
    *,
    dimensions: tuple[str, ...] = ("criterion", "reviewer_id"),
    cluster: str | None = "agent_id",
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> pd.DataFrame:
    """Criteria and reviewers whose overturn rate is above the others' beyond chance.

    Parameters
    ----------
    evaluations, disputes, cluster, confidence, correction
        As for :func:`dispute_rates`.
    dimensions : tuple of str
        The breakdowns scanned (each adjusted over its own segments).

    Returns
    -------
    DataFrame
        The flagged segments, highest overturn rate first: ``dimension,
        segment, n_overturn_base, n_overturn, overturn_rate, overturn_rate_ci_low,
        overturn_rate_ci_high, overturn_rest_rate, overturn_p_adjusted``. Empty
        when nothing is above the rest beyond chance.

    Notes
    -----
    A criterion whose scores are often overturned is unclear or applied
    inconsistently; a reviewer who is often overturned scores differently from
    the rubric's owners. Both belong next to the agreement results of the
    calibration report. Test: :func:`dispute_rates` (Holm [1]_).

    References
    ----------
    .. [1] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"evaluation_id": [f"e{i}" for i in range(400) for _ in "ab"],
    ...     "criterion": list("ab") * 400, "score": 1.0})
    >>> d = pd.DataFrame({"evaluation_id": [f"e{i}" for i in range(80)],
    ...     "criterion": ["a"] * 40 + ["b"] * 40,
    ...     "status": ["accepted"] * 30 + ["rejected"] * 10 + ["accepted"] * 5 + ["rejected"] * 35})
    >>> calibration_signal(ev, d, dimensions=("criterion",), cluster=None)["segment"].tolist()
    ['a']
    """
    cols = [
        "n_overturn_base",
        "n_overturn",
        "overturn_rate",
        "overturn_rate_ci_low",
        "overturn_rate_ci_high",
        "overturn_rest_rate",
        "overturn_p_adjusted",
    ]
    frames = []
    for dim in dimensions:  # two or three breakdowns
        t = dispute_rates(
            evaluations,
            disputes,
            by=dim,
            cluster=cluster,
            confidence=confidence,
            correction=correction,
        )
        t = t[t["overturn_above"]]
        frames.append(t.rename(columns={dim: "segment"})[["segment", *cols]].assign(dimension=dim))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out = out[["dimension", "segment", *cols]]
    return out.sort_values("overturn_rate", ascending=False, kind="stable").reset_index(drop=True)


def resolution_times(
    disputes: pd.DataFrame,
    *,
    sla_days: float,
    by: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Time to resolution of the resolved disputes: median and share over the SLA.

    Parameters
    ----------
    disputes : DataFrame
        ``opened_at, resolved_at, status`` (and ``by`` when given).
    sla_days : float
        The stated service level: days within which a dispute should be resolved.
    by : str, optional
        Grouping column (e.g. ``criterion``, or ``reviewer_id`` after a merge).
    confidence : float
        Level of the Wilson interval of the share over the SLA.

    Returns
    -------
    DataFrame
        One row (per group): ``n_resolved, median_days, over_sla, share_over_sla,
        share_over_sla_ci_low, share_over_sla_ci_high, n_open, sla_days``.

    References
    ----------
    .. [1] Wilson, E. B. (1927). *JASA* 22(158), 209-212.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"opened_at": pd.to_datetime(["2026-01-01"] * 3),
    ...     "resolved_at": pd.to_datetime(["2026-01-02", "2026-01-11", None]),
    ...     "status": ["accepted", "rejected", "open"]})
    >>> resolution_times(d, sla_days=7)[["n_resolved", "median_days", "over_sla", "n_open"]]
       n_resolved  median_days  over_sla  n_open
    0           2          5.5         1       1
    """
    _frame(disputes, "disputes")
    _require(disputes, ["opened_at", "resolved_at", "status", *([by] if by else [])], "disputes")
    if isinstance(sla_days, bool) or not isinstance(sla_days, int | float) or not sla_days > 0:
        raise ValueError(f"sla_days must be a positive number, got {sla_days!r}")
    days = (
        pd.to_datetime(disputes["resolved_at"]) - pd.to_datetime(disputes["opened_at"])
    ).dt.total_seconds() / 86400.0
    resolved = (disputes["status"] != "open") & days.notna()
    frame = pd.DataFrame(
        {
            "g": disputes[by].astype(str) if by else "all",
            "days": days.where(resolved),
            "over": (days > sla_days) & resolved,
            "resolved": resolved,
            "open": disputes["status"] == "open",
        }
    )
    g = frame.groupby("g", sort=True)
    out = pd.DataFrame(
        {
            "n_resolved": g["resolved"].sum().astype(np.int64),
            "median_days": g["days"].median(),
            "over_sla": g["over"].sum().astype(np.int64),
            "n_open": g["open"].sum().astype(np.int64),
        }
    )
    n = out["n_resolved"].to_numpy(dtype=float)
    x = out["over_sla"].to_numpy(dtype=float)
    lo, hi = wilson_interval(x, n, confidence=confidence)
    out.insert(3, "share_over_sla", np.where(n > 0, x / np.where(n > 0, n, 1), np.nan))
    out.insert(4, "share_over_sla_ci_low", lo)
    out.insert(5, "share_over_sla_ci_high", hi)
    out["sla_days"] = float(sla_days)
    out = out.reset_index(names=by or "g")
    return out.drop(columns="g") if by is None else out


def pass_rate_effect(
    evaluations: pd.DataFrame,
    disputes: pd.DataFrame,
    scorecard: Scorecard,
    *,
    by: str | None = None,
) -> pd.DataFrame:
    """Pass rate with and without dispute outcomes (the final scores are the default elsewhere).

    Parameters
    ----------
    evaluations, disputes
        As for :func:`apply_disputes`.
    scorecard : Scorecard
        Scores each evaluation (against its own version).
    by : str, optional
        An evaluation-level grouping column (``region``...).

    Returns
    -------
    DataFrame
        One row (per group): ``n, pass_rate_original, pass_rate_final,
        difference`` (final - original), ``n_changed`` (evaluations whose
        pass/fail changed) and ``n_overturned`` (evaluations with an applied
        overturn).

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_analysis.scorecard import Scorecard
    >>> sc = Scorecard.from_dict({"criteria": [{"id": "a", "scale": [0, 1]}]})
    >>> ev = pd.DataFrame({"evaluation_id": ["e1", "e2"], "criterion": "a", "score": [0.0, 1.0]})
    >>> d = pd.DataFrame({"evaluation_id": ["e1"], "criterion": ["a"],
    ...                   "status": ["accepted"], "final_score": [1.0]})
    >>> pass_rate_effect(ev, d, sc)[["pass_rate_original", "pass_rate_final", "n_changed"]]
       pass_rate_original  pass_rate_final  n_changed
    0                 0.5              1.0          1
    """
    meta = [by] if by else []
    before = score_evaluations(evaluations, scorecard, meta=meta)
    applied = apply_disputes(evaluations, disputes)
    after = score_evaluations(applied, scorecard, meta=meta)
    changed_scores = applied["score"].to_numpy(dtype=float) != evaluations["score"].to_numpy(
        dtype=float
    )
    touched = applied.loc[changed_scores & applied["score"].notna().to_numpy(), "evaluation_id"]
    frame = pd.DataFrame(
        {
            "g": before[by].astype(str) if by else "all",
            "orig": before["passed"].astype("Float64"),
            "final": after["passed"].astype("Float64"),
            "changed": (before["passed"] != after["passed"]).fillna(False).astype(bool),
            "over": before["evaluation_id"].isin(touched),
        }
    )
    g = frame.groupby("g", sort=True)
    out = pd.DataFrame(
        {
            "n": g.size().astype(np.int64),
            "pass_rate_original": g["orig"].mean().astype(float),
            "pass_rate_final": g["final"].mean().astype(float),
        }
    )
    out["difference"] = out["pass_rate_final"] - out["pass_rate_original"]
    out["n_changed"] = g["changed"].sum().astype(np.int64)
    out["n_overturned"] = g["over"].sum().astype(np.int64)
    out = out.reset_index(names=by or "g")
    return out.drop(columns="g") if by is None else out
