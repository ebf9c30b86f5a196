"""Comparative claims, each backed by a test with multiplicity control.

This module owns every comparative sentence of the reports ("highest",
"weakest", "most divisive", "lenient", "the decline is in queue X"). Each
function runs the test behind its claim over everything it scanned, adjusts the
p-values for the number of comparisons (Holm's step-down procedure, which
controls the family-wise error rate, or Benjamini-Hochberg, which controls the
false discovery rate; the result says which), and returns a :class:`Finding`
whose ``holds`` is true only when the test supports the claim. Narrative code
phrases findings with :func:`sentence` and never compares numbers itself.

Tables passed in are the per-evaluation ``scores`` table of
:func:`qa_analysis.scorecard.score_evaluations` (columns ``passed``,
``score``, ``critical_fail`` plus breakdown columns such as ``channel``,
``market``, ``queue``, the date and ``agent_id``) and the long calibration
table (one row per session x ticket x rater x criterion, with ``role``).

Clustering: evaluations of one agent are not independent (agents differ in
skill), so by default every comparison of evaluation-level means or rates uses
a cluster-robust (sandwich) variance with agents as clusters, and a t reference
distribution with ``G - 1`` degrees of freedom for ``G`` agents. With
``cluster=None`` the classical tests are used: the pooled two-proportion z test
(Fisher's exact test when an expected count is below 5) for rates and
Student's (pooled) or Welch's t test for means, as each function states.

References
----------
.. [1] Holm, S. (1979). A simple sequentially rejective multiple test
   procedure. *Scand. J. Statist.* 6(2), 65-70.
.. [2] Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery
   rate. *JRSS B* 57(1), 289-300.
.. [3] Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to
   cluster-robust inference. *J. Human Resources* 50(2), 317-372.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from qa_analysis import settings
from qa_analysis.errors import DataError
from qa_analysis.scorecard import Scorecard
from qa_analysis.trends import change_points, holm, mann_kendall

__all__ = [
    "Correction",
    "CriterionClaims",
    "Finding",
    "Localisation",
    "Metric",
    "RaterBias",
    "SeriesResult",
    "SeriesTest",
    "adjust_p",
    "criterion_claims",
    "highest_segment",
    "localise_change",
    "localise_trend",
    "mann_kendall_test",
    "most_divisive",
    "rater_criterion_bias",
    "segment_differences",
    "sentence",
    "step_or_trend_test",
    "weakest_criterion",
]

Correction = Literal["holm", "fdr_bh"]
Metric = Literal["pass_rate", "mean_score", "critical_rate"]

_COLUMN: dict[str, str] = {
    "pass_rate": "passed",
    "mean_score": "score",
    "critical_rate": "critical_fail",
}
_LABEL: dict[str, str] = {
    "pass_rate": "pass rate",
    "mean_score": "mean score",
    "critical_rate": "critical-error rate",
}
_CORRECTION_NAME: dict[str, str] = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg"}


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One comparative claim and the test behind it.

    Attributes
    ----------
    kind : str
        ``highest_segment``, ``lowest_segment``, ``confined_change``,
        ``confined_trend``, ``rater_bias``, ``weakest_criterion``,
        ``most_divisive``.
    holds : bool
        True when the test supports the claim; otherwise the claim must not
        be made (:func:`sentence` then says so plainly).
    subject : str
        What was scanned: a breakdown dimension (``channel``), ``criterion``,
        ``rater x criterion``.
    segment : str or None
        What the claim names (the segment, criterion or ``rater / criterion``)
        or, when it does not hold, the best candidate (None when nothing was
        testable).
    metric : str
        The statistic compared (``pass_rate``, ``alpha``, ``bias``...).
    estimate, reference : float
        The named segment's value and the value it is compared with (the rest,
        the runner-up, the reference rater...); for changes, the segment's
        value before (``reference``) and after (``estimate``).
    p_value, p_adjusted : float
        The deciding test's p-value, unadjusted and adjusted for the
        comparisons scanned.
    method : str
        The test and the multiplicity correction, in words.
    n_tests : int
        Number of comparisons the adjustment covered.
    level : float
        The significance level (1 - confidence) the adjusted p-value is held to.
    note : str
        Anything the reader needs (why it does not hold, ties, dropped data).
    """

    kind: str
    holds: bool
    subject: str
    segment: str | None
    metric: str
    estimate: float = float("nan")
    reference: float = float("nan")
    p_value: float = float("nan")
    p_adjusted: float = float("nan")
    method: str = ""
    n_tests: int = 0
    level: float = 0.05
    note: str = ""


@dataclass(frozen=True)
class Localisation:
    """Where a change or trend is: every segment scanned and the confined findings.

    Attributes
    ----------
    metric : str
    overall : DataFrame
        One row: the region's change (``value_a, value_b, change, p_value``)
        or trend (``effect, p_value``).
    segments : DataFrame
        One row per dimension x segment scanned, with its test, adjusted
        p-value, contribution (changes) and ``confined`` flag.
    findings : tuple of Finding
        One per segment whose change or trend is confined to it; empty when
        none is.
    method : str
    """

    metric: str
    overall: pd.DataFrame = field(repr=False, compare=False)
    segments: pd.DataFrame = field(repr=False, compare=False)
    findings: tuple[Finding, ...] = ()
    method: str = ""


@dataclass(frozen=True)
class RaterBias:
    """Rater x criterion bias against the reference, and who to recalibrate on what.

    Attributes
    ----------
    grid : DataFrame
        One row per rater x criterion: ``rater_id, criterion, n, bias,
        bias_ci_low, bias_ci_high, overall_bias, p_value, p_adjusted,
        flagged, direction`` (bias as a share of the criterion's scale range).
    flagged : DataFrame
        The flagged rows of ``grid`` (largest |bias| first).
    findings : tuple of Finding
        One per flagged rater x criterion.
    reference : str
        ``expert`` or ``consensus`` (or ``expert, else consensus``).
    threshold : float
        The |bias| a flag needs (``thresholds.bias_flag``).
    method : str
    """

    grid: pd.DataFrame = field(repr=False, compare=False)
    flagged: pd.DataFrame = field(repr=False, compare=False)
    findings: tuple[Finding, ...] = ()
    reference: str = ""
    threshold: float = float("nan")
    method: str = ""


@dataclass(frozen=True)
class CriterionClaims:
    """The weakest and most divisive criterion, and how they relate.

    Attributes
    ----------
    weakest : Finding
    most_divisive : Finding
    note : str
        When both hold and name different criteria, why (they measure
        different things); empty otherwise.
    """

    weakest: Finding
    most_divisive: Finding
    note: str = ""


@dataclass(frozen=True)
class SeriesResult:
    """A test on one evenly spaced series: its effect size and p-value.

    Attributes
    ----------
    effect : float
        Signed size (e.g. Sen's slope per period, or a step's size).
    p_value : float
    label : str
        What was tested, in words (``Mann-Kendall trend``).
    """

    effect: float
    p_value: float
    label: str = ""


# ---------------------------------------------------------------------------
# multiplicity
# ---------------------------------------------------------------------------
def adjust_p(p_values: Any, *, method: Correction = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons (Holm or Benjamini-Hochberg).

    Parameters
    ----------
    p_values : array-like
        Unadjusted p-values; NaN marks a test that was not done (left out,
        stays NaN).
    method : {"holm", "fdr_bh"}
        ``holm`` controls the family-wise error rate under any dependence;
        ``fdr_bh`` controls the false discovery rate (independent or positively
        dependent tests).

    Returns
    -------
    ndarray
        Adjusted p-values, same shape.

    Notes
    -----
    With the m p-values sorted, Holm: :math:`\\tilde p_{(i)} = \\min(1,
    \\max_{j \\le i} (m - j + 1) p_{(j)})`; Benjamini-Hochberg:
    :math:`\\tilde p_{(i)} = \\min(1, \\min_{j \\ge i} m p_{(j)} / j)`. Both
    equal ``statsmodels.stats.multitest.multipletests`` (``holm``,
    ``fdr_bh``).

    References
    ----------
    .. [1] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.
    .. [2] Benjamini, Y., & Hochberg, Y. (1995). *JRSS B* 57(1), 289-300.

    Examples
    --------
    >>> adjust_p([0.01, 0.04, 0.03], method="fdr_bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method == "holm":
        return holm(p_values)
    if method != "fdr_bh":
        raise ValueError(f"method must be 'holm' or 'fdr_bh', got {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    scaled = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def _method_text(test: str, correction: Correction, m: int, what: str) -> str:
    return f"{test}; {_CORRECTION_NAME[correction]} over {m} {what}"


def _level(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return round(1.0 - confidence, 12)


# ---------------------------------------------------------------------------
# contrasts of cell means (cluster-robust or classical)
# ---------------------------------------------------------------------------
def _metric_values(scores: pd.DataFrame, metric: Metric) -> np.ndarray:
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a DataFrame, got {type(scores).__name__}")
    if metric not in _COLUMN:
        raise ValueError(f"metric must be one of {tuple(_COLUMN)}, got {metric!r}")
    col = _COLUMN[metric]
    if col not in scores.columns:
        raise DataError("scores", f"missing column {col!r} (needed for {metric})")
    return pd.to_numeric(scores[col].astype("Float64"), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(what, f"missing column(s) {', '.join(map(repr, missing))}")


def _cell_stats(
    y: np.ndarray, cell: np.ndarray, n_cells: int, cluster: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Per cell: n, mean, variance (ddof 1); per cluster x cell sums and counts (or None)."""
    n = np.bincount(cell, minlength=n_cells).astype(float)
    s = np.bincount(cell, weights=y, minlength=n_cells)
    ss = np.bincount(cell, weights=y * y, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        var = (ss - n * mean**2) / (n - 1)
    var = np.where(n > 1, np.clip(var, 0, None), np.nan)
    sums = counts = None
    if cluster is not None and len(cluster):
        g = int(cluster.max()) + 1
        key = cluster * n_cells + cell
        sums = np.bincount(key, weights=y, minlength=g * n_cells).reshape(g, n_cells)
        counts = np.bincount(key, minlength=g * n_cells).reshape(g, n_cells).astype(float)
        present = counts.sum(axis=1) > 0
        sums, counts = sums[present], counts[present]
    return n, mean, var, sums, counts


def _contrasts(
    y: np.ndarray,
    cell: np.ndarray,
    n_cells: int,
    coef: np.ndarray,
    *,
    cluster: np.ndarray | None,
    binary: bool,
    pooled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, standard errors and two-sided p-values of contrasts ``coef @ cell means``.

    ``pooled`` marks two-cell contrasts (a difference of two means) whose
    variance is estimated under the null hypothesis of equal means: classical
    rates use the pooled two-proportion z test, classical means Student's
    pooled-variance t test, and the cluster-robust variance uses residuals from
    the pooled mean of the two cells (a score-type variance, which keeps a
    small segment that happens to lack outliers from looking precise).
    Cluster-robust: ``Var = G/(G-1) sum_g (sum_k c_k e_gk / n_k)^2`` with
    ``e_gk`` the cluster's residual sum in cell k, t reference with
    ``min(G+, G-) - 1`` df (``G+``/``G-``: clusters with data in the cells of
    positive/negative coefficient). Other contrasts use unpooled variances
    (binomial, normal reference; sample variances, Welch-Satterthwaite df).
    """
    c = np.atleast_2d(coef)
    if len(y) == 0:
        nan = np.full(len(c), np.nan)
        return nan, nan, nan.copy()
    n, mean, var, sums, counts = _cell_stats(y, cell, n_cells, cluster)
    used = c != 0
    pool = np.zeros(len(c), dtype=bool) if pooled is None else np.asarray(pooled, dtype=bool)
    safe_n = np.where(n > 0, n, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(used, c * np.nan_to_num(mean), 0.0).sum(axis=1)
        bad = (used & ~(n[None, :] > 0)).any(axis=1)
        est = np.where(bad, np.nan, est)
        n_used = np.where(used, n[None, :], 0.0).sum(axis=1)
        m0 = np.where(used, (mean * n)[None, :], 0.0).sum(axis=1) / n_used  # pooled mean
        if sums is not None and counts is not None:
            g = sums.shape[0]
            a = (sums / safe_n[None, :]) @ c.T
            b = (counts / safe_n[None, :]) @ c.T
            own = ((sums - counts * np.nan_to_num(mean)[None, :]) / safe_n[None, :]) @ c.T
            contrib = np.where(pool[None, :], a - b * m0[None, :], own)
            se = np.sqrt(g / max(g - 1, 1) * (contrib**2).sum(axis=0))
            has = counts > 0
            g_pos = (has[:, None, :] & (c > 0)[None, :, :]).any(axis=2).sum(axis=0)
            g_neg = (has[:, None, :] & (c < 0)[None, :, :]).any(axis=2).sum(axis=0)
            df = np.maximum(np.minimum(g_pos, g_neg) - 1, 1)
            tstat = est / se
            p = 2 * stats.t.sf(np.abs(tstat), df=df)
        elif binary:
            v = mean * (1 - mean) / safe_n
            se = np.sqrt(np.where(used, c**2 * v[None, :], 0.0).sum(axis=1))
            inv = np.where(used, 1.0 / safe_n[None, :], 0.0).sum(axis=1)
            se = np.where(pool, np.sqrt(m0 * (1 - m0) * inv), se)
            tstat = est / se
            p = 2 * stats.norm.sf(np.abs(tstat))
        else:
            v = var / safe_n
            terms = np.where(used, c**2 * v[None, :], 0.0)
            se = np.sqrt(terms.sum(axis=1))
            df = se**4 / np.where(used, terms**2 / (n[None, :] - 1), 0.0).sum(axis=1)
            # Student's pooled variance for two-cell contrasts
            ss_within = np.where(used, ((n - 1) * np.nan_to_num(var))[None, :], 0.0).sum(axis=1)
            df_pool = n_used - 2
            s2 = ss_within / df_pool
            inv = np.where(used, 1.0 / safe_n[None, :], 0.0).sum(axis=1)
            se = np.where(pool, np.sqrt(s2 * inv), se)
            df = np.where(pool, df_pool, df)
            tstat = est / se
            p = 2 * stats.t.sf(np.abs(tstat), df=df)
    p = np.where(np.isfinite(tstat), p, np.where(est == 0, 1.0, np.nan))
    return est, se, p


def _cluster_codes(df: pd.DataFrame, cluster: str | None, keep: np.ndarray) -> np.ndarray | None:
    if cluster is None:
        return None
    _require(df, [cluster], "scores")
    return pd.factorize(df[cluster].to_numpy()[keep])[0].astype(np.int64)


def _clean(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), "(missing)").astype(str).to_numpy()


# ---------------------------------------------------------------------------
# segment differences / highest segment
# ---------------------------------------------------------------------------
def segment_differences(
    scores: pd.DataFrame,
    *,
    by: str,
    metric: Metric = "pass_rate",
    cluster: str | None = "agent_id",
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> pd.DataFrame:
    """Does any segment differ from the rest? Each segment against all others, adjusted.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation (:func:`qa_analysis.scorecard.score_evaluations`).
    by : str
        The breakdown dimension (``channel``, ``market``, ``queue``...).
    metric : {"pass_rate", "mean_score", "critical_rate"}
        Rate of ``passed`` / mean of ``score`` / rate of ``critical_fail``.
    cluster : str or None
        Cluster column (agents); None for the classical independent-rows tests.
    confidence : float
        1 - the family-wise (Holm) or false-discovery (BH) level.
    correction : {"holm", "fdr_bh"}

    Returns
    -------
    DataFrame
        One row per segment: ``dimension, segment, n, value, rest_value,
        difference, p_value, p_adjusted, differs``, in descending ``value``.
        A segment that is the only one has NaN p-values.

    Notes
    -----
    For segment s with mean :math:`\\bar y_s` and the rest :math:`\\bar y_r`,
    the difference :math:`\\bar y_s - \\bar y_r` is tested: classical rates
    by the pooled two-proportion z test (``statsmodels proportions_ztest``),
    or Fisher's exact test when an expected count is below 5; means by
    Student's pooled-variance t test (``scipy.stats.ttest_ind``): under the
    hypothesis that the segment does not differ, the rows are exchangeable and
    the pooled variance is the right one (Welch's unpooled variance lets a
    small segment that happens to have no zero scores look precise); with
    ``cluster`` by the cluster-robust t with residuals from the pooled mean
    (see the module notes). The p-values of all
    segments are adjusted together.

    References
    ----------
    .. [1] Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed., Wiley,
       sections 3.1 and 3.5 (two-proportion z, Fisher's exact test).
    .. [2] Student (1908). The probable error of a mean. *Biometrika* 6, 1-25.
    .. [3] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"channel": ["chat"] * 50 + ["phone"] * 50,
    ...                   "critical_fail": [False] * 49 + [True] + [False] * 35 + [True] * 15})
    >>> t = segment_differences(s, by="channel", metric="critical_rate", cluster=None)
    >>> t[["segment", "value", "differs"]]
      segment  value  differs
    0   phone   0.30     True
    1    chat   0.02     True
    """
    level = _level(confidence)
    _require(scores, [by], "scores")
    y_all = _metric_values(scores, metric)
    keep = ~np.isnan(y_all)
    y = y_all[keep]
    seg_codes, segs = pd.factorize(_clean(scores[by])[keep], sort=True)
    k = len(segs)
    cl = _cluster_codes(scores, cluster, keep)
    binary = metric != "mean_score"
    n = np.bincount(seg_codes, minlength=k).astype(float)
    tot = np.bincount(seg_codes, weights=y, minlength=k)
    value = np.where(n > 0, tot / np.where(n > 0, n, 1), np.nan)
    rest_n = n.sum() - n
    rest_value = np.where(rest_n > 0, (tot.sum() - tot) / np.where(rest_n > 0, rest_n, 1), np.nan)
    p = np.full(k, np.nan)
    if k >= 2:
        # cells: 2 per segment (in the segment / in the rest), one contrast per segment
        cell = np.empty((k, len(y)), dtype=np.int64)
        for s in range(k):  # a handful of segments
            cell[s] = np.where(seg_codes == s, 0, 1)
        # cluster-robust or classical test of each segment against the rest
        for s in range(k):
            _, _, ps = _contrasts(
                y,
                cell[s],
                2,
                np.array([1.0, -1.0]),
                cluster=cl,
                binary=binary,
                pooled=np.array([True]),
            )
            p[s] = ps[0]
        if binary and cl is None:
            # Fisher's exact test where the z approximation is poor
            x = tot
            pooled = tot.sum() / n.sum()
            for j in np.flatnonzero(np.minimum(n, rest_n) * min(pooled, 1 - pooled) < 5):
                table = [[x[j], n[j] - x[j]], [tot.sum() - x[j], rest_n[j] - (tot.sum() - x[j])]]
                p[j] = stats.fisher_exact(np.asarray(table, dtype=np.int64)).pvalue
    p_adj = adjust_p(p, method=correction)
    out = pd.DataFrame(
        {
            "dimension": by,
            "segment": segs.astype(str),
            "n": n.astype(np.int64),
            "value": value,
            "rest_value": rest_value,
            "difference": value - rest_value,
            "p_value": p,
            "p_adjusted": p_adj,
            "differs": np.nan_to_num(p_adj, nan=1.0) < level,
        }
    )
    return out.sort_values("value", ascending=False, kind="stable").reset_index(drop=True)


def _test_name(metric: str, cluster: str | None) -> str:
    if cluster is not None:
        return f"cluster-robust t test (clusters: {cluster})"
    if metric == "mean_score":
        return "Student's t test"
    return "two-proportion z test (Fisher's exact test for small counts)"


def highest_segment(
    scores: pd.DataFrame,
    *,
    by: str,
    metric: Metric = "pass_rate",
    side: Literal["highest", "lowest"] = "highest",
    cluster: str | None = "agent_id",
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> Finding:
    """Name the highest (or lowest) segment only when it differs from the rest beyond chance.

    Parameters
    ----------
    scores, by, metric, cluster, confidence, correction
        As for :func:`segment_differences`.
    side : {"highest", "lowest"}
        Which end to name.

    Returns
    -------
    Finding
        ``kind`` ``highest_segment`` / ``lowest_segment``; ``holds`` when the
        segment with the highest (lowest) value differs significantly from the
        rest after adjustment over all segments, and lies on that side of the
        rest. ``estimate`` is its value, ``reference`` the rest's.

    Notes
    -----
    The test is :func:`segment_differences`; the claim needs the extreme
    segment itself to differ (not merely some segment).

    References
    ----------
    .. [1] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"channel": ["chat", "phone"] * 20, "passed": [True, False] * 20})
    >>> f = highest_segment(s, by="channel", cluster=None)
    >>> f.holds, f.segment
    (True, 'chat')
    """
    table = segment_differences(
        scores, by=by, metric=metric, cluster=cluster, confidence=confidence, correction=correction
    )
    kind = f"{side}_segment"
    level = _level(confidence)
    method = _method_text(_test_name(metric, cluster), correction, len(table), f"{by} segments")
    testable = table.dropna(subset=["value"])
    if len(testable) < 2:
        return Finding(
            kind,
            False,
            by,
            None,
            metric,
            method=method,
            n_tests=len(table),
            level=level,
            note=f"fewer than two {by} segments with data: nothing to compare",
        )
    row = testable.iloc[0] if side == "highest" else testable.iloc[-1]
    right_side = row["difference"] > 0 if side == "highest" else row["difference"] < 0
    holds = bool(row["differs"] and right_side)
    return Finding(
        kind,
        holds,
        by,
        str(row["segment"]),
        metric,
        estimate=float(row["value"]),
        reference=float(row["rest_value"]),
        p_value=float(row["p_value"]),
        p_adjusted=float(row["p_adjusted"]),
        method=method,
        n_tests=int(table["p_value"].notna().sum()),
        level=level,
    )


# ---------------------------------------------------------------------------
# localise a change between two periods
# ---------------------------------------------------------------------------
def _period_mask(dates: pd.Series, period: tuple[Any, Any], name: str) -> np.ndarray:
    try:
        start, end = (pd.Timestamp(v) for v in period)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (start, end) pair of dates, got {period!r}") from None
    if end < start:
        raise ValueError(f"{name}: end {end} is before start {start}")
    day = dates.dt.normalize()
    return ((day >= start.normalize()) & (day <= end.normalize())).to_numpy()


def localise_change(
    scores: pd.DataFrame,
    *,
    period_a: tuple[Any, Any],
    period_b: tuple[Any, Any],
    dims: Sequence[str],
    metric: Metric = "pass_rate",
    date: str = "evaluated_at",
    cluster: str | None = "agent_id",
    confidence: float = 0.95,
    correction: Correction = "fdr_bh",
) -> Localisation:
    """Locate a change between two periods: which segments carry it, is it confined to one.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation, with the date column and the ``dims`` columns.
    period_a, period_b : (start, end) pairs
        The earlier and later period (inclusive dates).
    dims : sequence of str
        Breakdown dimensions to scan (e.g. ``["market", "channel", "queue"]``
        plus extra columns).
    metric, cluster, confidence, correction
        As for :func:`segment_differences` (default correction: BH, since many
        segments are scanned).
    date : str
        Date column.

    Returns
    -------
    Localisation
        ``overall``: the region's ``value_a, value_b, change, p_value``.
        ``segments``: per dimension x segment ``n_a, n_b, value_a, value_b,
        change, change_ci_low, change_ci_high, p_value, p_adjusted,
        rest_change, rest_p_value, did_p_value, did_p_adjusted, weight_a,
        weight_b, within, mix, contribution, confined``. ``findings``: one
        :class:`Finding` (``confined_change``) per confined segment.

    Notes
    -----
    Per segment s, the change :math:`\\Delta_s = \\bar y_{s,b} - \\bar y_{s,a}` is
    tested (cluster-robust t, or pooled two-proportion z / Student t); the
    interval is the Wald interval with unpooled variances. The rest's change
    and the difference in differences use unpooled variances (normal for
    rates, Welch-Satterthwaite df for means; cluster-robust with clusters). The p-values of every segment of
    every dimension are adjusted together. Shift-share: with audit shares
    :math:`w_{s,a}, w_{s,b}` within the dimension, the overall change is
    :math:`\\sum_s (\\bar w_s \\Delta_s) + \\sum_s (\\Delta w_s \\bar y_s)` (bars:
    averages of the two periods), the *within* and *mix* parts; ``contribution``
    is their sum and the contributions of a dimension add up to the overall
    change exactly. A change is *confined* to s when (1) :math:`\\Delta_s` is
    significant after adjustment, (2) the rest of the dimension (all other
    segments pooled) did not change (unadjusted p >= level), and (3) the
    difference in differences :math:`\\Delta_s - \\Delta_{rest}` is significant
    after adjustment over the same scan.

    References
    ----------
    .. [1] Benjamini, Y., & Hochberg, Y. (1995). *JRSS B* 57(1), 289-300.
    .. [2] Kitagawa, E. M. (1955). Components of a difference between two
       rates. *JASA* 50(272), 1168-1194 (the symmetric rate/mix decomposition).
    .. [3] Newcombe, R. G. (1998). Interval estimation for the difference
       between independent proportions. *Statistics in Medicine* 17, 873-890.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({
    ...     "evaluated_at": pd.to_datetime(["2026-01-05"] * 80 + ["2026-02-05"] * 80),
    ...     "queue": (["billing"] * 40 + ["technical"] * 40) * 2,
    ...     "passed": [True] * 80 + [True] * 40 + [True] * 10 + [False] * 30})
    >>> loc = localise_change(s, period_a=("2026-01-01", "2026-01-31"),
    ...                       period_b=("2026-02-01", "2026-02-28"), dims=["queue"], cluster=None)
    >>> [(f.segment, round(f.estimate, 2)) for f in loc.findings]
    [('technical', 0.25)]
    """
    level = _level(confidence)
    _require(scores, [date, *dims], "scores")
    if not dims:
        raise ValueError("dims: give at least one breakdown dimension")
    y_all = _metric_values(scores, metric)
    dates = pd.to_datetime(scores[date])
    in_a = _period_mask(dates, period_a, "period_a")
    in_b = _period_mask(dates, period_b, "period_b")
    if (in_a & in_b).any():
        raise ValueError("period_a and period_b overlap")
    keep = ~np.isnan(y_all) & (in_a | in_b)
    y = y_all[keep]
    per = in_b[keep].astype(np.int64)  # 0 = a, 1 = b
    cl = _cluster_codes(scores, cluster, keep)
    binary = metric != "mean_score"
    est, _, p_all = _contrasts(
        y, per, 2, np.array([-1.0, 1.0]), cluster=cl, binary=binary, pooled=np.array([True])
    )
    na, nb = float((per == 0).sum()), float((per == 1).sum())
    va = float(y[per == 0].mean()) if na else np.nan
    vb = float(y[per == 1].mean()) if nb else np.nan
    overall = pd.DataFrame(
        {"n_a": [int(na)], "n_b": [int(nb)], "value_a": [va], "value_b": [vb]}
        | {"change": [float(est[0])], "p_value": [float(p_all[0])]}
    )
    z = stats.norm.ppf(1 - level / 2)
    rows = []
    for d in dims:  # a handful of dimensions
        codes, segs = pd.factorize(_clean(scores[d])[keep], sort=True)
        k = len(segs)
        cell = codes * 2 + per  # (segment, period)
        # contrasts: per segment change, rest change, difference in differences
        eye = np.zeros((k, 2 * k))
        eye[np.arange(k), 2 * np.arange(k) + 1] = 1.0
        eye[np.arange(k), 2 * np.arange(k)] = -1.0
        n_cell = np.bincount(cell, minlength=2 * k).astype(float)
        na_s, nb_s = n_cell[0::2], n_cell[1::2]
        # rest change: pooled rest means, i.e. weights n_cell / rest total per period
        rest = np.zeros((k, 2 * k))
        for s in range(k):  # a handful of segments
            others = np.arange(k) != s
            ra, rb = na_s[others].sum(), nb_s[others].sum()
            if ra > 0 and rb > 0:
                rest[s, 2 * np.flatnonzero(others) + 1] = nb_s[others] / rb
                rest[s, 2 * np.flatnonzero(others)] = -na_s[others] / ra
        did = eye - rest
        coef = np.vstack([eye, rest, did])
        pooled = np.r_[np.ones(k, dtype=bool), np.zeros(2 * k, dtype=bool)]
        e, _, p = _contrasts(y, cell, 2 * k, coef, cluster=cl, binary=binary, pooled=pooled)
        # rest rows with an empty side are undefined
        rest_ok = np.abs(rest).sum(axis=1) > 0
        e[k : 2 * k] = np.where(rest_ok, e[k : 2 * k], np.nan)
        p[k : 2 * k] = np.where(rest_ok, p[k : 2 * k], np.nan)
        p[2 * k :] = np.where(rest_ok, p[2 * k :], np.nan)
        sums = np.bincount(cell, weights=y, minlength=2 * k)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_a, mean_b = sums[0::2] / na_s, sums[1::2] / nb_s
            wa, wb = na_s / na_s.sum(), nb_s / nb_s.sum()
        # Wald interval of the change: unpooled (cluster-robust with clusters)
        se_c = _contrasts(y, cell, 2 * k, eye, cluster=cl, binary=binary)[1]
        within = np.nan_to_num((wa + wb) / 2 * (mean_b - mean_a))
        mix = np.nan_to_num((wb - wa) * (np.nan_to_num(mean_a) + np.nan_to_num(mean_b)) / 2)
        mix = np.where(na_s == 0, wb * np.nan_to_num(mean_b), mix)
        mix = np.where(nb_s == 0, -wa * np.nan_to_num(mean_a), mix)
        if na_s.sum() == 0 or nb_s.sum() == 0:  # one period is empty: no change to share out
            within = mix = np.full(k, np.nan)
        rows.append(
            pd.DataFrame(
                {
                    "dimension": d,
                    "segment": segs.astype(str),
                    "n_a": na_s.astype(np.int64),
                    "n_b": nb_s.astype(np.int64),
                    "value_a": mean_a,
                    "value_b": mean_b,
                    "change": e[:k],
                    "change_ci_low": e[:k] - z * se_c,
                    "change_ci_high": e[:k] + z * se_c,
                    "p_value": p[:k],
                    "rest_change": e[k : 2 * k],
                    "rest_p_value": p[k : 2 * k],
                    "did_p_value": p[2 * k :],
                    "weight_a": wa,
                    "weight_b": wb,
                    "within": within,
                    "mix": mix,
                    "contribution": within + mix,
                }
            )
        )
    seg = pd.concat(rows, ignore_index=True)
    seg.insert(
        seg.columns.get_loc("p_value") + 1,
        "p_adjusted",
        adjust_p(seg["p_value"], method=correction),
    )
    seg.insert(
        seg.columns.get_loc("did_p_value") + 1,
        "did_p_adjusted",
        adjust_p(seg["did_p_value"], method=correction),
    )
    seg["confined"] = (
        (np.nan_to_num(seg["p_adjusted"], nan=1.0) < level)
        & (np.nan_to_num(seg["rest_p_value"], nan=0.0) >= level)
        & (np.nan_to_num(seg["did_p_adjusted"], nan=1.0) < level)
    )
    m = int(seg["p_value"].notna().sum())
    method = _method_text(
        _test_name(metric, cluster) + " per segment change", correction, m, "segments scanned"
    )
    found = tuple(
        Finding(
            "confined_change",
            True,
            str(r["dimension"]),
            str(r["segment"]),
            metric,
            estimate=float(r["value_b"]),
            reference=float(r["value_a"]),
            p_value=float(r["p_value"]),
            p_adjusted=float(r["p_adjusted"]),
            method=method,
            n_tests=m,
            level=level,
            note=f"rest of the {r['dimension']} segments changed by {r['rest_change']:+.3g} "
            f"(p = {r['rest_p_value']:.2g})",
        )
        for r in seg.loc[seg["confined"]].to_dict("records")
    )
    return Localisation(metric, overall, seg, found, method)


# ---------------------------------------------------------------------------
# localise a trend within the window
# ---------------------------------------------------------------------------
def mann_kendall_test(series: np.ndarray) -> SeriesResult:
    """Mann-Kendall trend test as a :data:`SeriesTest` (effect: Sen's slope per period).

    Parameters
    ----------
    series : ndarray
        Evenly spaced values in time order (NaN = empty period).

    Returns
    -------
    SeriesResult

    References
    ----------
    .. [1] Mann, H. B. (1945). Nonparametric tests against trend. *Econometrica* 13, 245-259.

    Examples
    --------
    >>> r = mann_kendall_test(np.arange(10.0))
    >>> r.effect, r.p_value < 0.001
    (1.0, True)
    """
    t = mann_kendall(series)
    return SeriesResult(float(t.slope), float(t.p_value), "Mann-Kendall trend")


SeriesTest = Callable[[np.ndarray], SeriesResult]


def step_or_trend_test(series: np.ndarray) -> SeriesResult:
    """A step or a monotone trend in a series, as a :data:`SeriesTest` (Bonferroni over the two).

    Parameters
    ----------
    series : ndarray
        Evenly spaced values in time order (NaN = empty period).

    Returns
    -------
    SeriesResult
        ``effect``: the size of the latest step (level after - level before)
        when :func:`qa_analysis.trends.change_points` finds a step, else Sen's
        slope times the number of periods; ``p_value``: ``min(1, 2 min(p_cp,
        p_mk))`` of the change-point global test (equal weights,
        ``thresholds.step_n_boot`` Monte Carlo replicates of params/defaults.yaml, seed 0) and the
        Mann-Kendall test.

    Notes
    -----
    Mann-Kendall is blind to a step late in the window; the change-point test
    finds it. Each is valid alone, so the Bonferroni minimum of the two is a
    valid test of "no change" against a step or a trend.

    References
    ----------
    .. [1] Killick, R., Fearnhead, P. & Eckley, I. A. (2012). Optimal detection
       of changepoints with a linear computational cost. *JASA* 107(500), 1590-1598.
    .. [2] Mann, H. B. (1945). *Econometrica* 13, 245-259.

    Examples
    --------
    >>> r = step_or_trend_test(np.r_[np.full(10, 0.8), np.full(6, 0.5)] + np.tile([0.01, -0.01], 8))
    >>> round(r.effect, 2), r.p_value < 0.05
    (-0.3, True)
    """
    x = np.asarray(series, dtype=float)
    mk = mann_kendall(x)
    ok = np.isfinite(x)
    if ok.sum() < 4:
        return SeriesResult(float("nan"), float("nan"), "change-point or Mann-Kendall test")
    # Monte Carlo replicates (thresholds.step_n_boot, 4999 by default): enough for the
    # smallest p-value (1 / 5000) to survive Holm over a few dozen segments at 1%
    n_boot = int(settings.thresholds()["step_n_boot"])
    cp = change_points(x, kind="mean", n_boot=n_boot, seed=0)
    p_cp = float(cp.p_global) if np.isfinite(cp.p_global) else 1.0
    p_mk = float(mk.p_value) if np.isfinite(mk.p_value) else 1.0
    p = min(1.0, 2 * min(p_cp, p_mk))
    if cp.shape == "step" and np.isfinite(cp.last_after):
        effect = float(cp.last_after - cp.last_before)
    else:
        effect = float(mk.slope) * int(ok.sum()) if np.isfinite(mk.slope) else float("nan")
    return SeriesResult(effect, p, "change-point or Mann-Kendall test (Bonferroni)")


def localise_trend(
    scores: pd.DataFrame,
    *,
    dims: Sequence[str],
    metric: Metric = "pass_rate",
    date: str = "evaluated_at",
    freq: Literal["W", "M"] = "W",
    test: SeriesTest = mann_kendall_test,
    confidence: float = 0.95,
    correction: Correction = "fdr_bh",
) -> Localisation:
    """Locate a trend (or, with another ``test``, a step) within the window in one segment.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation with the date and the ``dims`` columns.
    dims : sequence of str
        Breakdown dimensions to scan.
    metric : {"pass_rate", "mean_score", "critical_rate"}
    date : str
        Date column.
    freq : {"W", "M"}
        Period of the series (weeks start on Monday).
    test : callable
        ``test(series) -> SeriesResult``; default :func:`mann_kendall_test`.
        A change-point test with the same signature can be plugged in.
    confidence, correction
        Level and multiplicity correction over all segments scanned.

    Returns
    -------
    Localisation
        ``overall``: the region's series test (``effect, p_value``).
        ``segments``: per dimension x segment ``n, effect, p_value,
        p_adjusted, rest_effect, rest_p_value, diff_effect, diff_p_value,
        diff_p_adjusted, confined``. ``findings``: one ``confined_trend``
        :class:`Finding` per confined segment (``reference``/``estimate``:
        the segment's value in the first and last period).

    Notes
    -----
    Per segment the series of per-period values (e.g. the weekly pass rate)
    is tested; so is the series of the rest of the dimension, and the series of
    differences segment - rest. The trend is *confined* to a segment when its
    own test is significant after adjustment over every segment scanned, the
    rest's is not (unadjusted p >= level), and the difference series has a
    significant trend after adjustment. Series tests ignore the counts behind
    each period (each period counts once).

    References
    ----------
    .. [1] Mann, H. B. (1945). *Econometrica* 13, 245-259.
    .. [2] Benjamini, Y., & Hochberg, Y. (1995). *JRSS B* 57(1), 289-300.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.date_range("2026-01-05", periods=12, freq="W-MON").repeat(40)
    >>> w = np.repeat(np.arange(12), 40)
    >>> q = np.tile(np.r_[["billing"] * 20, ["technical"] * 20], 12)
    >>> fail = (q == "technical") & (np.tile(np.arange(40), 12) % 20 < w + 1)
    >>> s = pd.DataFrame({"evaluated_at": days, "queue": q, "passed": ~fail})
    >>> [f.segment for f in localise_trend(s, dims=["queue"]).findings]
    ['technical']
    """
    level = _level(confidence)
    _require(scores, [date, *dims], "scores")
    y_all = _metric_values(scores, metric)
    dates = pd.to_datetime(scores[date])
    keep = ~np.isnan(y_all) & dates.notna().to_numpy()
    y = y_all[keep]
    per = dates[keep].dt.to_period(freq)
    pcode = (per.dt.start_time.dt.normalize().to_numpy().astype("datetime64[D]")).astype(np.int64)
    if len(pcode) == 0:
        raise DataError("scores", "no rows with a value and a date")
    step = 7 if freq == "W" else 1
    if freq == "M":
        pcode = per.to_numpy().astype("datetime64[M]").astype(np.int64)
    idx = (pcode - pcode.min()) // step
    n_per = int(idx.max()) + 1

    def series(mask: np.ndarray) -> np.ndarray:
        n = np.bincount(idx[mask], minlength=n_per).astype(float)
        s = np.bincount(idx[mask], weights=y[mask], minlength=n_per)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / n, np.nan)

    total = test(series(np.ones(len(y), dtype=bool)))
    overall = pd.DataFrame({"effect": [total.effect], "p_value": [total.p_value]})
    rows = []
    firsts_lasts = []
    for d in dims:  # a handful of dimensions x segments, one series each
        labels = _clean(scores[d])[keep]
        for seg in np.unique(labels):
            m = labels == seg
            sx, rx = series(m), series(~m)
            rs, rr = test(sx), test(rx) if (~m).any() else SeriesResult(np.nan, np.nan)
            rd = test(sx - rx) if (~m).any() else SeriesResult(np.nan, np.nan)
            ok = np.flatnonzero(~np.isnan(sx))
            firsts_lasts.append((sx[ok[0]], sx[ok[-1]]) if ok.size else (np.nan, np.nan))
            rows.append(
                (
                    d,
                    str(seg),
                    int(m.sum()),
                    rs.effect,
                    rs.p_value,
                    rr.effect,
                    rr.p_value,
                    rd.effect,
                    rd.p_value,
                )
            )
    seg = pd.DataFrame(
        rows,
        columns=[
            "dimension",
            "segment",
            "n",
            "effect",
            "p_value",
            "rest_effect",
            "rest_p_value",
            "diff_effect",
            "diff_p_value",
        ],
    )
    seg.insert(5, "p_adjusted", adjust_p(seg["p_value"], method=correction))
    seg["diff_p_adjusted"] = adjust_p(seg["diff_p_value"], method=correction)
    seg["confined"] = (
        (np.nan_to_num(seg["p_adjusted"], nan=1.0) < level)
        & (np.nan_to_num(seg["rest_p_value"], nan=0.0) >= level)
        & (np.nan_to_num(seg["diff_p_adjusted"], nan=1.0) < level)
    )
    m_tests = int(seg["p_value"].notna().sum())
    method = _method_text(total.label or "series test", correction, m_tests, "segments scanned")
    found = tuple(
        Finding(
            "confined_trend",
            True,
            str(r["dimension"]),
            str(r["segment"]),
            metric,
            estimate=float(firsts_lasts[i][1]),
            reference=float(firsts_lasts[i][0]),
            p_value=float(r["p_value"]),
            p_adjusted=float(r["p_adjusted"]),
            method=method,
            n_tests=m_tests,
            level=level,
            note=f"effect {r['effect']:+.3g} per period; rest {r['rest_effect']:+.3g} "
            f"(p = {r['rest_p_value']:.2g})",
        )
        for i, r in enumerate(seg.to_dict("records"))
        if r["confined"]
    )
    return Localisation(metric, overall, seg, found, method)


# ---------------------------------------------------------------------------
# calibration: rater x criterion bias
# ---------------------------------------------------------------------------
def _calibration_frame(
    calibration: pd.DataFrame, scorecard: Scorecard, columns: dict[str, str]
) -> pd.DataFrame:
    if not isinstance(calibration, pd.DataFrame):
        raise TypeError(f"calibration must be a DataFrame, got {type(calibration).__name__}")
    need = [columns[k] for k in ("unit", "rater", "criterion", "score")]
    _require(calibration, need, "calibration")
    unknown = sorted(set(calibration[columns["criterion"]].dropna()) - set(scorecard.ids))
    if unknown:
        raise DataError("calibration", f"criteria not in the scorecard: {unknown[:5]}")
    unit = calibration[columns["unit"]].astype(str)
    if columns.get("session") and columns["session"] in calibration.columns:
        unit = calibration[columns["session"]].astype(str) + "|" + unit
    frame = pd.DataFrame(
        {
            "unit": unit.to_numpy(),
            "rater_id": calibration[columns["rater"]].astype(str).to_numpy(),
            "criterion": calibration[columns["criterion"]].to_numpy(),
            "score": pd.to_numeric(calibration[columns["score"]], errors="coerce").to_numpy(
                dtype=float
            ),
            "expert": (
                calibration[columns["role"]].astype(str).str.lower().eq("expert").to_numpy()
                if columns["role"] in calibration.columns
                else np.zeros(len(calibration), dtype=bool)
            ),
        }
    )
    frame = frame.loc[frame["score"].notna() & frame["criterion"].notna()]
    dup = frame.duplicated(["unit", "rater_id", "criterion"])
    if dup.any():
        r = frame.loc[dup].iloc[0]
        raise DataError(
            "calibration",
            f"rater {r['rater_id']!r} rated criterion {r['criterion']!r} of unit {r['unit']!r} twice",
        )
    return frame.reset_index(drop=True)


def rater_criterion_bias(
    calibration: pd.DataFrame,
    *,
    scorecard: Scorecard,
    reference: Literal["auto", "expert", "consensus"] = "auto",
    threshold: float | None = None,
    unit: str = "ticket_id",
    session: str | None = "session_id",
    rater: str = "rater_id",
    role: str = "role",
    criterion: str = "criterion",
    score: str = "score",
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> RaterBias:
    """Bias of every rater on every criterion, with intervals; who to recalibrate on what.

    Parameters
    ----------
    calibration : DataFrame
        Long calibration table, one row per session x ticket x rater x criterion.
    scorecard : Scorecard
        Gives each criterion's scale range.
    reference : {"auto", "expert", "consensus"}
        ``expert``: the mean of the expert ratings (``role == "expert"``) of
        the same ticket and criterion; ``consensus``: the mean of the *other*
        specialists' ratings (leave-one-out); ``auto``: the expert where one
        rated, else the consensus.
    threshold : float, optional
        |bias| (share of the scale range) a flag needs; default
        ``thresholds.bias_flag`` of ``params/defaults.yaml``.
    unit, session, rater, role, criterion, score : str
        Column names; a unit is ``session`` x ``unit`` when the session column
        exists (a ticket discussed twice counts twice).
    confidence, correction
        Level of the intervals and of the adjusted tests over the whole grid.

    Returns
    -------
    RaterBias
        ``grid`` (every specialist x criterion), ``flagged`` (adjusted
        p < 1 - confidence and |bias| >= threshold) and one ``rater_bias``
        :class:`Finding` per flag. Experts are the reference and are not graded
        when the reference is the expert.

    Notes
    -----
    For rater r, criterion c and unit u with reference value :math:`x_{u,c}^{ref}`,
    the deviation is :math:`d_u = (x_{u,r,c} - x_{u,c}^{ref}) / (M_c - m_c)`;
    the bias is :math:`\\bar d`, its interval the paired t interval
    :math:`\\bar d \\pm t_{n-1} s_d / \\sqrt n`, and its test the paired t test
    of :math:`\\bar d = 0` (``scipy.stats.ttest_1samp``). All rater x criterion
    p-values are adjusted together; a rater biased on one criterion is flagged
    for it even when their bias averaged over criteria (``overall_bias``) is
    small. Cells with fewer than 2 units or no variation have NaN p (no
    variation with a non-zero mean: p = 0, a constant shift).

    References
    ----------
    .. [1] Bland, J. M., & Altman, D. G. (1986). Statistical methods for
       assessing agreement between two methods of clinical measurement.
       *Lancet* 327(8476), 307-310 (mean difference against a reference).
    .. [2] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.
    .. [3] MaestroQA. Calibration alignment: differences as a share of the
       scale range.

    Examples
    --------
    >>> from qa_analysis.scenarios import Effect, scenario
    >>> s = scenario([Effect("rater_bias", region="EU", criterion="tone", size=0.3)],
    ...              seed=2, regions=["EU"], months=3, tickets_per_session=12)
    >>> rb = rater_criterion_bias(s.calibration, scorecard=s.scorecard)
    >>> rb.flagged[["rater_id", "criterion", "direction"]].to_dict("records")
    [{'rater_id': 'EU-S01', 'criterion': 'tone', 'direction': 'lenient'}]
    """
    level = _level(confidence)
    thr = float(settings.thresholds()["bias_flag"] if threshold is None else threshold)
    cols = {
        "unit": unit,
        "session": session or "",
        "rater": rater,
        "role": role,
        "criterion": criterion,
        "score": score,
    }
    f = _calibration_frame(calibration, scorecard, cols)
    ranges = pd.Series({c.id: c.range for c in scorecard.criteria})
    key = [f["unit"], f["criterion"]]
    spec = ~f["expert"]
    exp_mean = f["score"].where(f["expert"]).groupby(key).transform("mean")
    s_sum = f["score"].where(spec, 0.0).groupby(key).transform("sum")
    s_cnt = spec.astype(float).groupby(key).transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        loo = (s_sum - f["score"]) / (s_cnt - 1)
    loo = loo.where(spec & (s_cnt > 1))
    if reference == "expert":
        ref, ref_name = exp_mean, "expert"
    elif reference == "consensus":
        ref, ref_name = loo, "consensus of the other specialists"
    elif reference == "auto":
        ref = exp_mean.where(exp_mean.notna(), loo)
        ref_name = "expert" if f["expert"].any() else "consensus of the other specialists"
        if f["expert"].any() and exp_mean.isna().any():
            ref_name = "expert, else the consensus of the other specialists"
    else:
        raise ValueError(f"reference must be 'auto', 'expert' or 'consensus', got {reference!r}")
    graded = spec if reference != "consensus" else spec | f["expert"]
    if reference == "consensus":
        # everybody is compared with the other raters' mean (experts included as raters)
        a_sum = f["score"].groupby(key).transform("sum")
        a_cnt = f["score"].groupby(key).transform("count")
        with np.errstate(invalid="ignore", divide="ignore"):
            ref = ((a_sum - f["score"]) / (a_cnt - 1)).where(a_cnt > 1)
    dev = (f["score"] - ref) / f["criterion"].map(ranges)
    d = pd.DataFrame({"rater_id": f["rater_id"], "criterion": f["criterion"], "dev": dev})
    d = d.loc[graded & dev.notna()]
    if d.empty:
        raise DataError("calibration", f"no ratings to compare with the {ref_name}")
    g = d.groupby(["rater_id", "criterion"], sort=True)["dev"]
    grid = g.agg(n="count", bias="mean", sd="std").reset_index()
    overall = d.groupby("rater_id")["dev"].mean()
    n = grid["n"].to_numpy(dtype=float)
    sd = grid["sd"].to_numpy(dtype=float)
    bias = grid["bias"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = sd / np.sqrt(n)
        t = bias / se
        p = 2 * stats.t.sf(np.abs(t), df=n - 1)
        half = stats.t.ppf(1 - level / 2, df=n - 1) * se
    const = (n >= 2) & (sd == 0)
    p = np.where(const, np.where(bias != 0, 0.0, 1.0), p)
    p = np.where(n >= 2, p, np.nan)
    order = {c: i for i, c in enumerate(scorecard.ids)}
    grid["bias_ci_low"] = bias - half
    grid["bias_ci_high"] = bias + half
    grid["overall_bias"] = grid["rater_id"].map(overall).to_numpy()
    grid["p_value"] = p
    grid["p_adjusted"] = adjust_p(p, method=correction)
    grid["flagged"] = (np.nan_to_num(grid["p_adjusted"], nan=1.0) < level) & (np.abs(bias) >= thr)
    grid["direction"] = np.where(bias > 0, "lenient", np.where(bias < 0, "severe", "aligned"))
    grid["_o"] = grid["criterion"].map(order)
    grid = (
        grid.sort_values(["rater_id", "_o"], kind="stable")
        .drop(columns=["sd", "_o"])
        .reset_index(drop=True)
    )
    m = int(np.isfinite(p).sum())
    method = _method_text(
        f"paired t test of the mean deviation from the {ref_name} (share of the scale range)",
        correction,
        m,
        "rater x criterion cells",
    )
    flagged = (
        grid.loc[grid["flagged"]]
        .assign(_a=lambda x: -x["bias"].abs())
        .sort_values("_a", kind="stable")
        .drop(columns="_a")
        .reset_index(drop=True)
    )
    found = tuple(
        Finding(
            "rater_bias",
            True,
            "rater x criterion",
            f"{r['rater_id']} / {r['criterion']}",
            "bias",
            estimate=float(r["bias"]),
            reference=float(r["overall_bias"]),
            p_value=float(r["p_value"]),
            p_adjusted=float(r["p_adjusted"]),
            method=method,
            n_tests=m,
            level=level,
            note=f"{r['direction']}; interval [{r['bias_ci_low']:+.3f}, {r['bias_ci_high']:+.3f}]",
        )
        for r in flagged.to_dict("records")
    )
    return RaterBias(grid, flagged, found, ref_name, thr, method)


# ---------------------------------------------------------------------------
# calibration: weakest and most divisive criterion
# ---------------------------------------------------------------------------
def _unit_counts(
    f: pd.DataFrame, scorecard: Scorecard, units: pd.Index, cid: str
) -> tuple[np.ndarray, np.ndarray]:
    """Unit x category count matrix of one criterion and the category values."""
    sub = f.loc[f["criterion"] == cid]
    cats = np.asarray(scorecard.categories(cid), dtype=float)
    code = np.searchsorted(cats, sub["score"].to_numpy())
    code = np.clip(code, 0, len(cats) - 1)
    if not np.allclose(cats[code], sub["score"].to_numpy()):
        raise DataError(
            "calibration", f"criterion {cid!r}: scores outside its scale {cats.tolist()}"
        )
    u = units.get_indexer(sub["unit"])
    n = np.bincount(u * len(cats) + code, minlength=len(units) * len(cats))
    return n.reshape(len(units), len(cats)).astype(float), cats


def _alpha_replicates(n: np.ndarray, cats: np.ndarray, level: str, w: np.ndarray) -> np.ndarray:
    """Krippendorff's alpha for each row of unit weights ``w`` (B x U)."""
    m = n.sum(axis=1)
    ok = m >= 2
    c = n.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        o_u = (n[:, :, None] * n[:, None, :] - np.eye(c)[None] * n[:, :, None]) / np.where(
            ok, m - 1, 1
        )[:, None, None]
    o_u[~ok] = 0.0
    o = (w @ o_u.reshape(len(n), c * c)).reshape(len(w), c, c)
    n_c = o.sum(axis=2)
    tot = n_c.sum(axis=1)
    if level == "nominal":
        delta = np.broadcast_to(1.0 - np.eye(c), (len(w), c, c))
    elif level == "ordinal":
        r = np.cumsum(n_c, axis=1) - n_c / 2
        delta = (r[:, :, None] - r[:, None, :]) ** 2
    else:
        delta = np.broadcast_to((cats[:, None] - cats[None, :]) ** 2, (len(w), c, c))
    with np.errstate(invalid="ignore", divide="ignore"):
        d_o = (o * delta).sum(axis=(1, 2))
        d_e = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2)) / (tot - 1)
        alpha = 1.0 - d_o / d_e
    return np.where((d_e > 0) & (tot > 1), alpha, np.nan)


def _split(n: np.ndarray, cats: np.ndarray) -> np.ndarray:
    """Per unit mean pairwise |difference| as a share of the scale range (NaN: < 2 ratings)."""
    m = n.sum(axis=1)
    dist = np.abs(cats[:, None] - cats[None, :])
    pair_sum = np.einsum("uc,ck,uk->u", n, dist, n) / 2
    rng = cats.max() - cats.min()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m >= 2, pair_sum / (m * (m - 1) / 2) / rng, np.nan)


def _not_beyond(side: str, names: list[str], m: int) -> str:
    if not names:
        return ""
    if len(names) > 3:
        return f"not {side} {len(names)} of the {m} other criteria beyond chance"
    return f"not {side} {', '.join(names)} beyond chance"


def _prepare(
    calibration: pd.DataFrame, scorecard: Scorecard, unit: str, session: str | None
) -> tuple[pd.DataFrame, pd.Index, list[str]]:
    cols = {
        "unit": unit,
        "session": session or "",
        "rater": "rater_id",
        "role": "role",
        "criterion": "criterion",
        "score": "score",
    }
    f = _calibration_frame(calibration, scorecard, cols)
    units = pd.Index(pd.unique(f["unit"]))
    crits = [c for c in scorecard.ids if (f["criterion"] == c).any()]
    return f, units, crits


def weakest_criterion(
    calibration: pd.DataFrame,
    *,
    scorecard: Scorecard,
    unit: str = "ticket_id",
    session: str | None = "session_id",
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> Finding:
    """The criterion with the lowest Krippendorff's alpha, claimed only when below every other.

    Parameters
    ----------
    calibration : DataFrame
        Long calibration table (``rater_id``, ``criterion``, ``score`` and
        the unit columns).
    scorecard : Scorecard
        Scale and level of measurement of each criterion.
    unit, session : str
        Unit columns (a unit is session x ticket when the session column exists).
    n_boot : int, optional
        Bootstrap resamples; default ``thresholds.n_boot``.
    seed : int, Generator or None
        Seed of the resampling.
    confidence, correction
        Level and multiplicity correction over the K - 1 comparisons.

    Returns
    -------
    Finding
        ``kind="weakest_criterion"``, ``metric="alpha"``; ``estimate`` is the
        lowest alpha, ``reference`` the runner-up's; ``p_adjusted`` the
        largest adjusted p of the comparisons with the others (the claim needs
        every one below the level).

    Notes
    -----
    Units (tickets) are resampled with replacement, the *same* resample for
    every criterion (criteria are rated on the same tickets, so their alphas
    are correlated); each resample is a multinomial unit-weight vector and the
    coincidence matrices are weighted sums, so all B resamples are one matrix
    product. For each other criterion j the difference
    :math:`D_j = \\alpha_j - \\alpha_{weakest}` is tested by the Wald z test
    :math:`z = D_j / \\widehat{se}_B(D_j)` with the bootstrap standard error of the
    difference (a normal-theory bootstrap test; unlike a percentile p-value its
    resolution does not depend on B, which matters after a Holm adjustment);
    the K - 1 p-values are adjusted together.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    .. [2] Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the
       Bootstrap*, Chapman & Hall, section 16.4 (bootstrap tests).
    .. [3] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> from qa_analysis.scenarios import scenario
    >>> s = scenario(seed=1, regions=["EU"], months=2)
    >>> f = weakest_criterion(s.calibration, scorecard=s.scorecard, n_boot=200)
    >>> f.metric, f.n_tests
    ('alpha', 11)
    """
    level = _level(confidence)
    b = int(settings.thresholds()["n_boot"] if n_boot is None else n_boot)
    if b < 1:
        raise ValueError("n_boot must be at least 1")
    f, units, crits = _prepare(calibration, scorecard, unit, session)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    u = len(units)
    w = np.vstack([np.ones(u), rng.multinomial(u, np.full(u, 1.0 / u), size=b)])
    alphas = (
        np.column_stack(
            [
                _alpha_replicates(*_unit_counts(f, scorecard, units, c), scorecard.level(c), w)
                for c in crits  # a dozen criteria
            ]
        )
        if crits
        else np.empty((b + 1, 0))
    )
    est = alphas[0]
    method = _method_text(
        "Wald test of the alpha difference with paired bootstrap standard errors (tickets resampled)",
        correction,
        max(len(crits) - 1, 0),
        "comparisons with the other criteria",
    )
    ok = np.flatnonzero(np.isfinite(est))
    if ok.size < 2:
        return Finding(
            "weakest_criterion",
            False,
            "criterion",
            None,
            "alpha",
            method=method,
            level=level,
            note="fewer than two criteria with a defined alpha: nothing to compare",
        )
    wk = ok[np.argmin(est[ok])]
    others = ok[ok != wk]
    diff = alphas[1:, others] - alphas[1:, [wk]]
    valid = np.isfinite(diff)
    nb = valid.sum(axis=0)
    mu = np.where(valid, diff, 0.0).sum(axis=0) / np.maximum(nb, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.where(valid, (diff - mu) ** 2, 0.0).sum(axis=0) / (nb - 1))
        z = (est[others] - est[wk]) / se
    p = np.where(nb >= 2, 2 * stats.norm.sf(np.abs(z)), np.nan)
    p = np.where((nb >= 2) & (se == 0), np.where(est[others] != est[wk], 0.0, 1.0), p)
    p_adj = adjust_p(p, method=correction)
    worst = int(np.argmax(p_adj))
    runner = others[int(np.argmin(est[others]))]
    not_below = [crits[j] for j, pa in zip(others, p_adj, strict=True) if pa >= level]
    return Finding(
        "weakest_criterion",
        bool((p_adj < level).all()),
        "criterion",
        crits[wk],
        "alpha",
        estimate=float(est[wk]),
        reference=float(est[runner]),
        p_value=float(p[worst]),
        p_adjusted=float(p_adj[worst]),
        method=method,
        n_tests=len(others),
        level=level,
        note=_not_beyond("below", not_below, len(others)),
    )


def most_divisive(
    calibration: pd.DataFrame,
    *,
    scorecard: Scorecard,
    unit: str = "ticket_id",
    session: str | None = "session_id",
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> Finding:
    """The criterion raters disagree on most, claimed only when above every other.

    Parameters
    ----------
    calibration : DataFrame
        Long calibration table.
    scorecard : Scorecard
    unit, session : str
        Unit columns.
    confidence, correction
        Level and multiplicity correction over the K - 1 comparisons.

    Returns
    -------
    Finding
        ``kind="most_divisive"``, ``metric="split"``: ``estimate`` is the
        criterion's mean split, ``reference`` the runner-up's.

    Notes
    -----
    The *split* of a ticket on a criterion is the mean absolute difference over
    all pairs of its ratings, as a share of the scale range (0 = unanimous, the
    statistic of the report's discussion list). The criterion with the highest
    mean split is compared with each other criterion by a paired t test on the
    tickets both were rated on; the K - 1 p-values are adjusted together. This
    is raw disagreement; :func:`weakest_criterion` uses alpha, which divides
    disagreement by what chance would give with the criterion's own score
    spread, so the two can name different criteria (:func:`criterion_claims`
    explains when they do).

    References
    ----------
    .. [1] Student (1908). The probable error of a mean. *Biometrika* 6, 1-25.
    .. [2] Holm, S. (1979). *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> from qa_analysis.scenarios import scenario
    >>> s = scenario(seed=1, regions=["EU"], months=2)
    >>> most_divisive(s.calibration, scorecard=s.scorecard).metric
    'split'
    """
    level = _level(confidence)
    f, units, crits = _prepare(calibration, scorecard, unit, session)
    method = _method_text(
        "paired t test of the per-ticket split (mean pairwise difference / scale range)",
        correction,
        max(len(crits) - 1, 0),
        "comparisons with the other criteria",
    )
    if len(crits) < 2:
        return Finding(
            "most_divisive",
            False,
            "criterion",
            None,
            "split",
            method=method,
            level=level,
            note="fewer than two criteria rated: nothing to compare",
        )
    sp = np.column_stack([_split(*_unit_counts(f, scorecard, units, c)) for c in crits])
    with np.errstate(invalid="ignore"):
        means = np.nanmean(np.where(np.isnan(sp), np.nan, sp), axis=0) if len(sp) else sp
    top = int(np.nanargmax(means))
    others = np.array([j for j in range(len(crits)) if j != top and np.isfinite(means[j])])
    d = sp[:, [top]] - sp[:, others]
    ok = np.isfinite(d)
    n = ok.sum(axis=0).astype(float)
    dm = np.where(ok, d, 0).sum(axis=0) / np.where(n > 0, n, 1)
    ss = np.where(ok, (d - dm) ** 2, 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(ss / (n - 1))
        t = dm / (sd / np.sqrt(n))
        p = 2 * stats.t.sf(np.abs(t), df=n - 1)
    p = np.where((n >= 2) & (sd == 0), np.where(dm != 0, 0.0, 1.0), p)
    p = np.where(n >= 2, p, np.nan)
    p_adj = adjust_p(p, method=correction)
    pa = np.nan_to_num(p_adj, nan=1.0)
    worst = int(np.argmax(pa))
    runner = others[int(np.argmax(means[others]))]
    not_above = [crits[j] for j, q in zip(others, pa, strict=True) if q >= level]
    return Finding(
        "most_divisive",
        bool((pa < level).all()),
        "criterion",
        crits[top],
        "split",
        estimate=float(means[top]),
        reference=float(means[runner]),
        p_value=float(p[worst]),
        p_adjusted=float(pa[worst]),
        method=method,
        n_tests=len(others),
        level=level,
        note=_not_beyond("above", not_above, len(others)),
    )


def criterion_claims(
    calibration: pd.DataFrame,
    *,
    scorecard: Scorecard,
    unit: str = "ticket_id",
    session: str | None = "session_id",
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    confidence: float = 0.95,
    correction: Correction = "holm",
) -> CriterionClaims:
    """The weakest and most divisive criterion together, with the link between them stated.

    Parameters
    ----------
    calibration : DataFrame
    scorecard : Scorecard
    unit, session, n_boot, seed, confidence, correction
        As for :func:`weakest_criterion` and :func:`most_divisive`.

    Returns
    -------
    CriterionClaims
        Both findings; ``note`` explains why they name different criteria
        when both hold and they do.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    >>> from qa_analysis.scenarios import scenario
    >>> s = scenario(seed=1, regions=["EU"], months=2)
    >>> c = criterion_claims(s.calibration, scorecard=s.scorecard, n_boot=100)
    >>> c.weakest.metric, c.most_divisive.metric
    ('alpha', 'split')
    """
    wk = weakest_criterion(
        calibration,
        scorecard=scorecard,
        unit=unit,
        session=session,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        correction=correction,
    )
    md = most_divisive(
        calibration,
        scorecard=scorecard,
        unit=unit,
        session=session,
        confidence=confidence,
        correction=correction,
    )
    note = ""
    if wk.holds and md.holds and wk.segment != md.segment:
        note = (
            f"{md.segment} has the most raw disagreement (share of the scale), {wk.segment} the "
            "lowest agreement beyond chance (alpha): alpha weighs disagreement against the "
            "spread of the criterion's scores, so a criterion on which almost every rating is "
            "the same can have a low alpha with little raw disagreement."
        )
    return CriterionClaims(wk, md, note)


# ---------------------------------------------------------------------------
# phrasing
# ---------------------------------------------------------------------------
def _fmt_value(metric: str, v: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    if metric in ("pass_rate", "critical_rate"):
        return f"{100 * v:.1f}%"
    if metric == "bias":
        return f"{100 * v:+.0f}% of the scale range"
    if metric == "split":
        return f"{100 * v:.0f}% of the scale"
    if metric == "mean_score":
        return f"{v:.1f}"
    return f"{v:.2f}"


def _p(f: Finding) -> str:
    return f"adjusted p = {f.p_adjusted:.2g}" if np.isfinite(f.p_adjusted) else "not testable"


def sentence(finding: Finding) -> str:
    """One plain sentence for a finding: the claim when it holds, what can be said when not.

    Parameters
    ----------
    finding : Finding

    Returns
    -------
    str

    Examples
    --------
    >>> sentence(Finding("highest_segment", False, "channel", "phone", "critical_rate"))
    'No channel differs from the others in critical-error rate beyond chance.'
    """
    f = finding
    label = _LABEL.get(f.metric, f.metric)
    val = _fmt_value(f.metric, f.estimate)
    ref = _fmt_value(f.metric, f.reference)
    if f.kind in ("highest_segment", "lowest_segment"):
        side = "highest" if f.kind == "highest_segment" else "lowest"
        if not f.holds:
            return f"No {f.subject} differs from the others in {label} beyond chance."
        return (
            f"{f.subject.capitalize()} {f.segment} has the {side} {label}, {val} against {ref} "
            f"elsewhere ({_p(f)})."
        )
    if f.kind in ("confined_change", "confined_trend"):
        if not f.holds:
            return f"The change in {label} is not confined to one {f.subject}."
        move = "rise" if f.estimate > f.reference else "decline"
        return (
            f"The {move} in {label} is in {f.subject} {f.segment} ({ref} to {val}); other "
            f"{f.subject} segments are flat ({_p(f)})."
        )
    if f.kind == "rater_bias":
        if not f.holds or f.segment is None:
            return "No rater is biased on any criterion beyond chance and the flag threshold."
        who, crit = f.segment.split(" / ", 1)
        verdict = "lenient" if f.estimate > 0 else "severe"
        return (
            f"{who} is {verdict} on {crit}: {val} ({_p(f)}); averaged over all criteria "
            f"{_fmt_value('bias', f.reference)}."
        )
    if f.kind == "weakest_criterion":
        if f.segment is None:
            return "No weakest criterion: too few criteria with a defined alpha."
        if not f.holds:
            return (
                f"{f.segment} has the lowest alpha ({val}), but it is {f.note or 'not below the others'}:"
                " no single weakest criterion."
            )
        return f"{f.segment} is the weakest criterion: alpha {val}, below every other ({_p(f)})."
    if f.kind == "most_divisive":
        if f.segment is None:
            return "No most divisive criterion: too few criteria rated."
        if not f.holds:
            return (
                f"{f.segment} splits the raters most ({val}), but it is "
                f"{f.note or 'not above the others'}: no single most divisive criterion."
            )
        return (
            f"{f.segment} is the most divisive criterion: ratings differ by {val} on average, "
            f"more than on any other ({_p(f)})."
        )
    return f"{f.kind}: {'holds' if f.holds else 'does not hold'}."
