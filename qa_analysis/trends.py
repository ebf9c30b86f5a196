"""Quality over time: period aggregation, control charts, trend tests, period comparisons.

Every function takes the evaluation-level table produced by
:func:`qa_analysis.scorecard.score_evaluations` (one row per evaluation with
``score``, ``passed``, ``critical_fail``, ``evaluated_at`` and the grouping
columns) or the output of :func:`aggregate`, plus column names with defaults.

Conventions
-----------
* Unscored evaluations (every criterion N/A: ``score`` NaN, ``passed`` <NA>)
  are excluded from ``n`` and counted in ``n_unscored``.
* Weekly periods start on Monday (``period`` is that Monday, midnight); monthly
  periods are labelled by the first day of the month. Dates are taken as
  wall-clock times in the business time zone, as the loaders of
  :mod:`qa_analysis.io` return them (``timezone=``, default UTC);
  timezone-aware dates are converted to UTC first, as the loaders do by default.
* Rates are proportions in [0, 1]; scores are on the 0-100 scale.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from qa_analysis import settings
from qa_analysis._checks import require_columns as _require
from qa_analysis._checks import row_refs as _row_refs
from qa_analysis._checks import z_value as _z
from qa_analysis.errors import DataError, ParamsError

__all__ = [
    "Trend",
    "aggregate",
    "compare_periods",
    "control_chart",
    "holm",
    "mann_kendall",
    "wilson_interval",
]

#: Period lengths of :func:`aggregate`: weeks starting on Monday or calendar months.
Freq = Literal["W", "MS"]
#: Control chart kinds of :func:`control_chart`.
ChartKind = Literal["p", "xbar", "imr"]
#: What :func:`compare_periods` compares.
CompareMetric = Literal["pass_rate", "score"]

# d2 constant for moving ranges of two observations (Montgomery 2019, Appendix VI).
_D2 = 1.128


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _as_list(by: str | Iterable[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _float(s: pd.Series) -> np.ndarray:
    """A numeric/boolean (possibly nullable) column as float64 with NaN for missing."""
    if s.dtype == object:
        s = pd.to_numeric(s, errors="coerce")
    return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _dates(df: pd.DataFrame, column: str) -> pd.Series:
    try:
        d = pd.to_datetime(df[column])
    except (TypeError, ValueError) as exc:
        raise DataError("scores", f"column {column!r}: cannot parse dates ({exc})") from None
    if d.dt.tz is not None:
        d = d.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = d.isna().to_numpy()
    if bad.any():
        raise DataError(
            "scores",
            f"column {column!r}: missing or unparseable date in "
            f"{_row_refs(df.index, np.flatnonzero(bad))}",
        )
    return d


def _safe_div(num: Any, den: Any) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    ok = den != 0
    return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def wilson_interval(
    successes: Any, n: Any, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (vectorised; NaN where n = 0).

    Parameters
    ----------
    successes : array-like
        Number of successes (events) per proportion.
    n : array-like
        Number of trials, broadcastable against ``successes``; 0 gives NaN.
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    lo, hi : ndarray
        Lower and upper limits, clipped to [0, 1], NaN where ``n`` is 0.

    Raises
    ------
    ValueError
        A count that is infinite, negative, or larger than its ``n`` (NaN
        gives a NaN interval).

    Notes
    -----
    With :math:`\\hat p = x/n` and :math:`z = z_{1-\\alpha/2}`:

    .. math:: \\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. *JASA* 22(158), 209-212.

    Examples
    --------
    >>> lo, hi = wilson_interval(8, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.4902, 0.9433)
    """
    z = _z(confidence)
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = np.isinf(x) | np.isinf(n) | (x < 0) | (n < 0) | (x > n)  # NaN: no data
    if np.any(bad):
        raise ValueError(
            "successes and n must be finite with 0 <= successes <= n; "
            f"got successes={x[bad].ravel()[:3].tolist() if x.ndim else x.item()!r}, "
            f"n={np.broadcast_to(n, np.broadcast(x, n).shape)[bad].ravel()[:3].tolist()}"
        )
    p = _safe_div(x, n)
    nn = np.where(n > 0, n, 1.0)
    denom = 1 + z**2 / nn
    centre = (p + z**2 / (2 * nn)) / denom
    with np.errstate(invalid="ignore"):
        half = z * np.sqrt(np.clip(p * (1 - p), 0, None) / nn + z**2 / (4 * nn**2)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


def holm(p_values: Any) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values; NaN entries are left out and stay NaN.

    Parameters
    ----------
    p_values : array-like
        Unadjusted p-values (any shape); NaN marks a test that was not done.

    Returns
    -------
    ndarray
        Adjusted p-values, same shape as ``p_values``.

    Raises
    ------
    ValueError
        A p-value outside [0, 1] (NaN is allowed and means "no test").

    Notes
    -----
    With the m non-missing p-values sorted, :math:`p_{(1)} \\le \\dots \\le p_{(m)}`,
    :math:`\\tilde p_{(i)} = \\min\\{1, \\max_{j \\le i} (m - j + 1)\\,p_{(j)}\\}`; this
    controls the family-wise error rate under any dependence.

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test
       procedure. *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if np.any(ok & ((p < 0) | (p > 1))):
        raise ValueError(
            f"p-values must be in [0, 1] (NaN for no test), got {p[ok & ((p < 0) | (p > 1))][:3]}"
        )
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * pv[order])
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


# ---------------------------------------------------------------------------
# aggregate
# ---------------------------------------------------------------------------
def _period_ordinal(d: pd.Series, freq: str) -> np.ndarray:
    if freq == "W":
        days = d.to_numpy().astype("datetime64[D]").astype(np.int64)
        # 1970-01-01 is a Thursday: day -3 (1969-12-29) is the Monday of week 0.
        return (days + 3) // 7
    if freq == "MS":
        return d.to_numpy().astype("datetime64[M]").astype(np.int64)
    raise ValueError(f"freq must be 'W' (weeks starting Monday) or 'MS' (months), got {freq!r}")


def _ordinal_to_period(o: np.ndarray, freq: str) -> np.ndarray:
    if freq == "W":
        return (o * 7 - 3).astype("datetime64[D]").astype("datetime64[ns]")
    return o.astype("datetime64[M]").astype("datetime64[ns]")


def _group_codes(df: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Group codes (sorted group order) and one row of key values per group."""
    if not by:
        return np.zeros(len(df), dtype=np.int64), pd.DataFrame(index=range(1 if len(df) else 0))
    codes = df.groupby(by, sort=True, dropna=False, observed=True).ngroup().to_numpy(np.int64)
    _, first = np.unique(codes, return_index=True)
    keys = df[by].iloc[first].reset_index(drop=True)
    return codes, keys


def aggregate(
    scores: pd.DataFrame,
    *,
    by: str | Iterable[str] = (),
    freq: Freq = "W",
    date: str = "evaluated_at",
    score: str = "score",
    passed: str = "passed",
    critical: str = "critical_fail",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Aggregate evaluation scores per period and group.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation (output of ``score_evaluations``).
    by : str or iterable of str
        Grouping columns (e.g. ``("region", "market")``).
    freq : {"W", "MS"}
        Weeks starting on Monday (``period`` = the Monday) or calendar months
        (``period`` = the first of the month).
    date, score, passed, critical : str
        Column names.
    confidence : float
        Level of the confidence intervals.

    Returns
    -------
    DataFrame
        One row per period and group, sorted by group then period, with columns
        ``period, <by...>, n, mean_score, sd_score, mean_score_ci_low,
        mean_score_ci_high, passed, pass_rate, pass_rate_ci_low, pass_rate_ci_high,
        critical_fails, critical_rate, n_unscored``. Empty periods between a group's first and
        last period appear with ``n = 0`` (counts 0, rates and means NaN) so each
        group's series is evenly spaced for control charts and trend tests.

    Notes
    -----
    ``n`` counts scored evaluations (``score`` not NaN); unscored ones (all
    criteria N/A) are counted in ``n_unscored``. The mean's interval is the
    t interval :math:`\\bar x \\pm t_{n-1} s/\\sqrt n` (NaN for n < 2); the pass
    rate's is Wilson's score interval. ``critical_rate = critical_fails / n``.

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. *JASA* 22(158), 209-212.
    .. [2] Brown, L. D., Cai, T. T., DasGupta, A. (2001). Interval estimation for
       a binomial proportion. *Statistical Science* 16(2), 101-133.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"evaluated_at": pd.to_datetime(["2026-08-03", "2026-08-05", "2026-08-19"]),
    ...                   "score": [90.0, 70.0, 85.0], "passed": [True, False, True],
    ...                   "critical_fail": [False, False, False]})
    >>> aggregate(s)[["period", "n", "mean_score", "pass_rate"]]
          period  n  mean_score  pass_rate
    0 2026-08-03  2        80.0        0.5
    1 2026-08-10  0         NaN        NaN
    2 2026-08-17  1        85.0        1.0
    """
    by = _as_list(by)
    _require(scores, [*by, date, score, passed, critical])
    if freq not in ("W", "MS"):
        raise ValueError(f"freq must be 'W' (weeks starting Monday) or 'MS' (months), got {freq!r}")
    cols = [
        "period",
        *by,
        "n",
        "mean_score",
        "sd_score",
        "mean_score_ci_low",
        "mean_score_ci_high",
        "passed",
        "pass_rate",
        "pass_rate_ci_low",
        "pass_rate_ci_high",
        "critical_fails",
        "critical_rate",
        "n_unscored",
    ]
    if len(scores) == 0:
        out = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
        out["period"] = pd.Series(dtype="datetime64[ns]")
        for c in by:
            out[c] = pd.Series(dtype=scores[c].dtype)
        return out[cols]

    d = _dates(scores, date)
    po = _period_ordinal(d, freq)
    s = _float(scores[score])
    ok = ~np.isnan(s)
    pas = np.where(ok, np.nan_to_num(_float(scores[passed])), 0.0)
    crit = np.where(ok, np.nan_to_num(_float(scores[critical])), 0.0)

    gcode, keys = _group_codes(scores, by)
    n_groups = len(keys)
    pmin_all = int(po.min())
    span = int(po.max()) - pmin_all + 1
    key = gcode * span + (po - pmin_all)
    size = n_groups * span
    n = np.bincount(key, weights=ok, minlength=size)
    s0 = np.where(ok, s, 0.0)
    total = np.bincount(key, weights=s0, minlength=size)
    mean = _safe_div(total, n)
    dev = np.where(ok, s - mean[key], 0.0)
    ss = np.bincount(key, weights=dev * dev, minlength=size)
    n_pass = np.bincount(key, weights=pas, minlength=size)
    n_crit = np.bincount(key, weights=crit, minlength=size)
    n_uns = np.bincount(key, weights=~ok, minlength=size)

    # each group's periods from its first to its last, filling the gaps
    gmin = np.full(n_groups, np.iinfo(np.int64).max)
    gmax = np.full(n_groups, np.iinfo(np.int64).min)
    np.minimum.at(gmin, gcode, po)
    np.maximum.at(gmax, gcode, po)
    lens = gmax - gmin + 1
    grp = np.repeat(np.arange(n_groups), lens)
    starts = np.repeat(np.cumsum(lens) - lens, lens)
    ordinal = np.repeat(gmin, lens) + (np.arange(int(lens.sum())) - starts)
    idx = grp * span + (ordinal - pmin_all)

    nn = n[idx]
    out = keys.iloc[grp].reset_index(drop=True) if by else pd.DataFrame(index=range(len(idx)))
    out.insert(0, "period", _ordinal_to_period(ordinal, freq))
    out["n"] = nn.astype(np.int64)
    out["mean_score"] = mean[idx]
    sd = np.sqrt(_safe_div(ss[idx], nn - 1))
    sd = np.where(nn >= 2, sd, np.nan)
    out["sd_score"] = sd
    tq = stats.t.ppf(0.5 + confidence / 2, np.where(nn >= 2, nn - 1, 1))
    half = np.where(nn >= 2, tq * sd / np.sqrt(np.where(nn > 0, nn, 1)), np.nan)
    out["mean_score_ci_low"] = out["mean_score"].to_numpy() - half
    out["mean_score_ci_high"] = out["mean_score"].to_numpy() + half
    out["passed"] = n_pass[idx].astype(np.int64)
    out["pass_rate"] = _safe_div(n_pass[idx], nn)
    lo, hi = wilson_interval(n_pass[idx], nn, confidence=confidence)
    out["pass_rate_ci_low"] = lo
    out["pass_rate_ci_high"] = hi
    out["critical_fails"] = n_crit[idx].astype(np.int64)
    out["critical_rate"] = _safe_div(n_crit[idx], nn)
    out["n_unscored"] = n_uns[idx].astype(np.int64)
    return out[cols]


# ---------------------------------------------------------------------------
# control charts
# ---------------------------------------------------------------------------
def _window_count(b: np.ndarray, w: int) -> np.ndarray:
    """Number of True values in the window of the last ``w`` points ending at each point."""
    c = np.concatenate([[0], np.cumsum(b, dtype=np.int64)])
    i = np.arange(1, len(b) + 1)
    return c[i] - c[np.maximum(i - w, 0)]


def _we_rules(z: np.ndarray, limit: float) -> tuple[np.ndarray, ...]:
    """Western Electric rules 1-4 on a gap-free sequence of z-scores."""
    r1 = np.abs(z) > limit
    hi2, lo2 = z > 2, z < -2
    r2 = ((_window_count(hi2, 3) >= 2) & hi2) | ((_window_count(lo2, 3) >= 2) & lo2)
    hi1, lo1 = z > 1, z < -1
    r3 = ((_window_count(hi1, 5) >= 4) & hi1) | ((_window_count(lo1, 5) >= 4) & lo1)
    r4 = (_window_count(z > 0, 8) == 8) | (_window_count(z < 0, 8) == 8)
    return r1, r2, r3, r4


def _baseline_mask(periods: pd.Series, baseline: Any) -> np.ndarray:
    m = len(periods)
    if baseline is None:
        return np.ones(m, dtype=bool)
    if isinstance(baseline, int | np.integer) and not isinstance(baseline, bool):
        if baseline < 1:
            raise ValueError(f"baseline must be >= 1 period, got {baseline}")
        return np.arange(m) < baseline
    try:
        cut = pd.Timestamp(baseline)
    except (TypeError, ValueError):
        raise ValueError(
            f"baseline must be None, a number of periods or a date, got {baseline!r}"
        ) from None
    return (pd.to_datetime(periods) < cut).to_numpy()


def _chart_one(
    g: pd.DataFrame,
    kind: str,
    period: str,
    n: str,
    passed: str,
    value: str,
    sd: str,
    baseline: Any,
    limit: float,
    dispersion: Literal["auto", "laney", "binomial"] = "auto",
) -> pd.DataFrame:
    g = g.sort_values(period, kind="stable").copy()
    nn = g[n].to_numpy(dtype=float) if n in g else np.ones(len(g))
    base = _baseline_mask(g[period], baseline)
    if kind == "p":
        x = _safe_div(g[passed].to_numpy(dtype=float), nn)
        nb = np.where(base & (nn > 0), nn, 0.0)
        center = float(
            _safe_div(np.sum(np.where(nb > 0, g[passed].to_numpy(dtype=float), 0.0)), nb.sum())
        )
        with np.errstate(invalid="ignore"):
            sig = np.sqrt(center * (1 - center) / np.where(nn > 0, nn, np.nan))
        od = overdispersion(g[passed].to_numpy(dtype=float), nn, baseline=base, rule=dispersion)
        sig = sig * od.sigma_z if od.laney else sig
    elif kind == "xbar":
        x = np.where(nn > 0, g[value].to_numpy(dtype=float), np.nan)
        sdv = g[sd].to_numpy(dtype=float)
        use = base & (nn > 0) & ~np.isnan(x)
        center = float(
            _safe_div(np.sum(np.where(use, nn * np.nan_to_num(x), 0)), np.sum(np.where(use, nn, 0)))
        )
        pool = use & (nn >= 2) & ~np.isnan(sdv)
        sw = float(
            np.sqrt(
                _safe_div(
                    np.sum(np.where(pool, (nn - 1) * np.nan_to_num(sdv) ** 2, 0)),
                    np.sum(np.where(pool, nn - 1, 0)),
                )
            )
        )
        with np.errstate(invalid="ignore"):
            sig = sw / np.sqrt(np.where(nn > 0, nn, np.nan))
    else:  # imr
        raw = g[value].to_numpy(dtype=float)
        x = np.where(nn > 0, raw, np.nan)
        valid = ~np.isnan(x)
        xv = x[valid]
        mr_v = np.concatenate([[np.nan], np.abs(np.diff(xv))])
        mr = np.full(len(x), np.nan)
        mr[valid] = mr_v
        g["moving_range"] = mr
        bv = base[valid]
        center = float(np.mean(xv[bv])) if bv.any() else np.nan
        mrb = mr_v[bv & ~np.isnan(mr_v)]
        sig_c = float(np.mean(mrb)) / _D2 if len(mrb) else np.nan
        sig = np.where(valid, sig_c, np.nan)
    lcl = center - limit * sig
    ucl = center + limit * sig
    if kind == "p":
        lcl, ucl = np.clip(lcl, 0, 1), np.clip(ucl, 0, 1)
    dev = x - center
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(
            sig > 0,
            dev / np.where(sig > 0, sig, 1.0),
            np.where(dev > 0, np.inf, np.where(dev < 0, -np.inf, 0.0)),
        )
    z = np.where(np.isnan(x) | np.isnan(sig), np.nan, z)
    valid = ~np.isnan(z)
    rules = [np.zeros(len(z), dtype=bool) for _ in range(4)]
    if valid.any():
        for r, rv in zip(rules, _we_rules(z[valid], limit), strict=True):
            r[valid] = rv
    g["value"] = x
    g["center"] = center
    g["sigma"] = sig
    g["lcl"] = lcl
    g["ucl"] = ucl
    g["z"] = z
    g["baseline"] = base
    for i, r in enumerate(rules, start=1):
        g[f"rule{i}"] = r
    g["signal"] = rules[0] | rules[1] | rules[2] | rules[3]
    if kind == "p":  # which limits were used: "p" (binomial) or "p'" (Laney)
        g["limits"] = od.limits
        g["sigma_z"] = od.sigma_z
    return g


def control_chart(
    agg: pd.DataFrame,
    *,
    kind: ChartKind = "p",
    by: str | Iterable[str] = (),
    baseline: int | str | pd.Timestamp | None = None,
    period: str = "period",
    n: str = "n",
    passed: str = "passed",
    value: str = "mean_score",
    sd: str = "sd_score",
    limit: float = 3.0,
    dispersion: Literal["auto", "laney", "binomial"] = "auto",
) -> pd.DataFrame:
    """Shewhart control chart limits with Western Electric run rules.

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`aggregate` (a p-chart needs only ``period, n, passed``;
        an x-bar chart ``period, n, mean_score, sd_score``; an I-MR chart
        ``period`` and the ``value`` column, skipping periods with n = 0 when an
        ``n`` column is present).
    kind : {"p", "xbar", "imr"}
        ``p``: proportion passing with limits varying with each period's n;
        ``xbar``: period mean score with limits :math:`\\bar{\\bar x} \\pm 3 s_p/\\sqrt{n_i}`;
        ``imr``: individuals chart on ``value`` (one point per period, n ignored).
    by : str or iterable of str
        Chart each group separately (e.g. ``"region"``).
    baseline : int, date or None
        Phase I baseline: the limits are estimated from the first ``baseline``
        periods (an int) or the periods before a date; None uses every period.
    period, n, passed, value, sd : str
        Column names.
    limit : float
        Control limits at ``limit`` sigma (rule 1 threshold).
    dispersion : {"auto", "laney", "binomial"}
        p-chart limits: ``auto`` switches to Laney's p' limits when the
        baseline is overdispersed (rule in :func:`overdispersion`).

    Returns
    -------
    DataFrame
        ``agg``'s rows (sorted by group, period) plus ``value`` (the plotted
        statistic), ``center, sigma, lcl, ucl, z, baseline``, ``rule1`` to ``rule4``
        and ``signal`` (any rule). For ``imr`` also ``moving_range``. For ``p``
        also ``limits`` (``"p"`` binomial or ``"p'"`` Laney) and ``sigma_z``.

    Notes
    -----
    p-chart: :math:`\\bar p = \\sum x_i / \\sum n_i` over the baseline,
    :math:`\\sigma_i = \\sqrt{\\bar p(1-\\bar p)/n_i}`, limits clipped to [0, 1]; when
    overdispersed, Laney's :math:`\\sigma_i \\sigma_z` (Laney 2002, :func:`overdispersion`).
    x-bar chart: centre is the n-weighted mean of the baseline period means and
    :math:`s_p` the pooled within-period SD, :math:`\\sqrt{\\sum (n_i-1)s_i^2/\\sum(n_i-1)}`
    (no c4 bias correction: negligible at the tens of audits per period typical here).
    I-MR: centre is the baseline mean and :math:`\\sigma = \\overline{MR}/d_2`, d2 = 1.128.

    Western Electric rules, on :math:`z_i = (x_i - \\text{centre})/\\sigma_i`, each
    flagged at the point that completes the pattern (and, for rules 2 and 3, is
    itself beyond the zone): 1) a point beyond ``limit`` sigma; 2) 2 of 3
    consecutive points beyond 2 sigma on the same side; 3) 4 of 5 beyond 1 sigma
    on the same side; 4) 8 in a row on the same side of the centre. Windows at the
    start of a series may be shorter for rules 2 and 3 (2 of the first 2 counts).
    Periods with n = 0 have no point: ``value`` and ``z`` are NaN, no rule
    fires, and runs are counted over the plotted points, skipping them. When
    sigma is 0 (e.g. a baseline pass rate of 100%), any deviation is an
    infinite z and signals.

    References
    ----------
    .. [1] Western Electric Company (1956). *Statistical Quality Control Handbook*.
    .. [2] Montgomery, D. C. (2019). *Introduction to Statistical Quality Control*,
       8th ed., Wiley: chapter 5 (phase I / phase II, sensitising rules),
       chapter 6 (x-bar chart with variable sample size; individuals and moving
       range chart) and chapter 7 (p chart with variable sample size).

    Examples
    --------
    >>> import pandas as pd
    >>> agg = pd.DataFrame({"period": pd.date_range("2026-01-05", periods=4, freq="7D"),
    ...                     "n": [100, 100, 50, 100], "passed": [80, 82, 41, 50]})
    >>> cc = control_chart(agg, kind="p", baseline=3)
    >>> cc[["n", "value", "center", "lcl", "ucl", "signal"]].round(4)
         n  value  center     lcl     ucl  signal
    0  100   0.80   0.812  0.6948  0.9292   False
    1  100   0.82   0.812  0.6948  0.9292   False
    2   50   0.82   0.812  0.6462  0.9778   False
    3  100   0.50   0.812  0.6948  0.9292    True
    """
    if kind not in ("p", "xbar", "imr"):
        raise ValueError(f"kind must be 'p', 'xbar' or 'imr', got {kind!r}")
    by = _as_list(by)
    need = {"p": [period, n, passed], "xbar": [period, n, value, sd], "imr": [period, value]}[kind]
    _require(agg, [*by, *need], "agg")
    if kind in ("p", "xbar") and (agg[n].to_numpy(dtype=float) < 0).any():
        raise DataError("agg", f"column {n!r}: negative counts")
    if kind == "p":
        bad = agg[passed].to_numpy(dtype=float) > agg[n].to_numpy(dtype=float)
        if bad.any():
            raise DataError(
                "agg",
                f"column {passed!r} exceeds {n!r} in {_row_refs(agg.index, np.flatnonzero(bad))}",
            )
    if not by or len(agg) == 0:
        return _chart_one(
            agg, kind, period, n, passed, value, sd, baseline, limit, dispersion
        ).reset_index(drop=True)
    parts = [
        _chart_one(g, kind, period, n, passed, value, sd, baseline, limit, dispersion)
        for _, g in agg.groupby(by, sort=True, dropna=False, observed=True)
    ]
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------
# Mann-Kendall / Sen
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Trend:
    """Mann-Kendall trend test with Sen's slope.

    Attributes
    ----------
    tau : Kendall's tau-a, S / (n(n-1)/2).
    s : the Mann-Kendall statistic S.
    z : normal score with continuity correction.
    p_value : two-sided p-value.
    slope, slope_ci_low, slope_ci_high : Sen's slope per period and its confidence interval.
    n : number of observations used; ``n_missing`` were NaN and dropped.
    var_s : variance of S (tie-corrected).
    note : explanation when a value is NaN or observations were dropped.
    """

    tau: float
    s: float
    z: float
    p_value: float
    slope: float
    slope_ci_low: float
    slope_ci_high: float
    n: int
    n_missing: int = 0
    var_s: float = float("nan")
    note: str = ""

    def __repr__(self) -> str:
        return (
            f"Trend(n={self.n}, tau={self.tau:.3g}, p_value={self.p_value:.3g}, "
            f"slope={self.slope:.3g} [{self.slope_ci_low:.3g}, {self.slope_ci_high:.3g}])"
        )


def mann_kendall(
    series: Sequence[float] | pd.Series | np.ndarray, *, confidence: float = 0.95
) -> Trend:
    """Mann-Kendall test for a monotonic trend, with Sen's slope.

    Parameters
    ----------
    series : array-like
        Evenly spaced series in time order (e.g. a weekly pass rate from
        :func:`aggregate`, whose empty weeks are NaN). NaNs are dropped but the
        remaining points keep their positions, so the slope is per period.
    confidence : float
        Level of the slope's confidence interval.

    Returns
    -------
    Trend

    Notes
    -----
    :math:`S = \\sum_{i<j} \\operatorname{sgn}(x_j - x_i)`,
    :math:`\\operatorname{Var}(S) = [n(n-1)(2n+5) - \\sum_t t(t-1)(2t+5)]/18` over
    groups of t tied values, :math:`z = (S - \\operatorname{sgn}(S))/\\sqrt{\\operatorname{Var}(S)}`,
    two-sided normal p-value. Sen's slope is the median of
    :math:`(x_j - x_i)/(j - i)`; its interval takes the order statistics
    :math:`(N \\mp z_{1-\\alpha/2}\\sqrt{\\operatorname{Var}(S)})/2` of the N sorted
    pairwise slopes (Sen 1968, eq. 2.6; Gilbert 1987, section 16.5), rounded as in
    ``scipy.stats.theilslopes``. Needs n >= 3 (else NaN with a note); memory is
    O(n^2), fine for weekly or monthly series.

    References
    ----------
    .. [1] Mann, H. B. (1945). Nonparametric tests against trend. *Econometrica* 13, 245-259.
    .. [2] Kendall, M. G. (1975). *Rank Correlation Methods*, 4th ed., Griffin.
    .. [3] Sen, P. K. (1968). Estimates of the regression coefficient based on
       Kendall's tau. *JASA* 63, 1379-1389.
    .. [4] Gilbert, R. O. (1987). *Statistical Methods for Environmental Pollution
       Monitoring*, Van Nostrand Reinhold, chapter 16.

    Examples
    --------
    >>> t = mann_kendall([12.9, 14.8, 13.2, 15.7, 13.8, 15.6, 12.9, 11.0,
    ...                   17.3, 15.9, 19.0, 18.3, 20.1, 21.7])
    >>> t.s, round(t.z, 4)
    (54.0, 2.9058)
    """
    x_all = np.asarray(series, dtype=float).ravel()
    pos_all = np.arange(len(x_all), dtype=float)
    keep = ~np.isnan(x_all)
    x, pos = x_all[keep], pos_all[keep]
    n = len(x)
    n_missing = int((~keep).sum())
    notes = [f"{n_missing} missing value(s) dropped"] if n_missing else []
    if n < 3:
        notes.append(f"need at least 3 observations, got {n}")
        nan = float("nan")
        return Trend(nan, nan, nan, nan, nan, nan, nan, n, n_missing, nan, "; ".join(notes))
    i, j = np.triu_indices(n, k=1)
    dx = x[j] - x[i]
    s = float(np.sign(dx).sum())
    _, t = np.unique(x, return_counts=True)
    var_s = float((n * (n - 1) * (2 * n + 5) - np.sum(t * (t - 1) * (2 * t + 5))) / 18.0)
    if s == 0 or var_s <= 0:
        z = 0.0
        if var_s <= 0:
            notes.append("all values tied")
    else:
        z = (s - np.sign(s)) / np.sqrt(var_s)
    p = float(2 * stats.norm.sf(abs(z)))
    tau = s / (n * (n - 1) / 2)
    slopes = np.sort(dx / (pos[j] - pos[i]))
    slope = float(np.median(slopes))
    zc = _z(confidence)
    nt = len(slopes)
    sigma = np.sqrt(var_s)
    hi_i = min(int(np.round((nt + zc * sigma) / 2.0)), nt - 1)
    lo_i = max(int(np.round((nt - zc * sigma) / 2.0)) - 1, 0)
    return Trend(
        tau=float(tau),
        s=s,
        z=float(z),
        p_value=p,
        slope=slope,
        slope_ci_low=float(slopes[lo_i]),
        slope_ci_high=float(slopes[hi_i]),
        n=n,
        n_missing=n_missing,
        var_s=var_s,
        note="; ".join(notes),
    )


# ---------------------------------------------------------------------------
# period comparison
# ---------------------------------------------------------------------------
def _in_period(d: pd.Series, period: tuple[Any, Any], name: str) -> np.ndarray:
    try:
        if any(isinstance(v, int | float | np.number) for v in period):
            raise TypeError("a number is not a date")  # pd.Timestamp(20260131) is nanoseconds
        start, end = (pd.Timestamp(v).normalize() for v in period)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (start, end) pair of dates, got {period!r}") from None
    if end < start:
        raise ValueError(f"{name}: end {end.date()} is before start {start.date()}")
    day = d.dt.normalize()
    return ((day >= start) & (day <= end)).to_numpy()


def compare_periods(
    scores: pd.DataFrame,
    *,
    period_a: tuple[Any, Any],
    period_b: tuple[Any, Any],
    by: str | Iterable[str] = (),
    metric: CompareMetric = "pass_rate",
    date: str = "evaluated_at",
    score: str = "score",
    passed: str = "passed",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare two periods per group: change, its CI, test and Holm-adjusted p-value.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation (output of ``score_evaluations``).
    period_a, period_b : (start, end)
        Inclusive date ranges (whole days: an end of ``"2026-08-31"`` includes
        every evaluation that day). Usually a is the earlier period.
    by : str or iterable of str
        Grouping columns; one row per group seen in either period.
    metric : {"pass_rate", "score"}
        Pass rate (proportion) or mean score.
    date, score, passed : str
        Column names.
    confidence : float
        Level of the change's confidence interval.

    Returns
    -------
    DataFrame
        ``<by...>, n_a, n_b, value_a, value_b, change, change_ci_low, change_ci_high, test,
        statistic, p_value, p_adjusted, note``; ``change = value_b - value_a``.

    Notes
    -----
    ``pass_rate``: two-proportion z test with the pooled variance
    :math:`z = (\\hat p_b - \\hat p_a)/\\sqrt{\\bar p(1-\\bar p)(1/n_a + 1/n_b)}`, and
    Newcombe's hybrid score interval (method 10) for the difference, built from
    the Wilson intervals :math:`[l_a, u_a]`, :math:`[l_b, u_b]` of the two rates:
    :math:`\\hat d - \\sqrt{(\\hat p_b - l_b)^2 + (u_a - \\hat p_a)^2}` to
    :math:`\\hat d + \\sqrt{(u_b - \\hat p_b)^2 + (\\hat p_a - l_a)^2}`. Unlike the Wald
    interval it does not collapse to a point at 0% or 100% (5 of 5 in both
    periods gives -0.434 to 0.434) and keeps close to nominal coverage with small
    n. ``score``: Welch's
    t test with Welch-Satterthwaite degrees of freedom and the matching t interval.
    p-values are two-sided and Holm-adjusted across the groups with a defined
    p-value. Unscored evaluations are excluded. Groups with n = 0 in a period,
    fewer than 2 scores (Welch), or no variation give NaN with a note.

    References
    ----------
    .. [1] Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed., Wiley, section 3.1.
    .. [2] Newcombe, R. G. (1998). Interval estimation for the difference between
       independent proportions: comparison of eleven methods. *Statistics in
       Medicine* 17(8), 873-890 (method 10).
    .. [3] Welch, B. L. (1947). The generalization of 'Student's' problem when
       several different population variances are involved. *Biometrika* 34, 28-35.
    .. [4] Holm, S. (1979). A simple sequentially rejective multiple test
       procedure. *Scand. J. Statist.* 6(2), 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"evaluated_at": pd.to_datetime(["2026-07-01"] * 4 + ["2026-08-01"] * 4),
    ...                   "score": [90, 85, 80, 70, 60, 80, 70, 65.0],
    ...                   "passed": [True, True, True, False, False, True, False, False]})
    >>> r = compare_periods(s, period_a=("2026-07-01", "2026-07-31"),
    ...                     period_b=("2026-08-01", "2026-08-31"))
    >>> r[["n_a", "n_b", "value_a", "value_b", "change"]]
       n_a  n_b  value_a  value_b  change
    0    4    4     0.75     0.25    -0.5
    """
    if metric not in ("pass_rate", "score"):
        raise ValueError(f"metric must be 'pass_rate' or 'score', got {metric!r}")
    by = _as_list(by)
    col = passed if metric == "pass_rate" else score
    _require(scores, [*by, date, score, col])
    d = _dates(scores, date) if len(scores) else pd.Series(dtype="datetime64[ns]")
    in_a = _in_period(d, period_a, "period_a")
    in_b = _in_period(d, period_b, "period_b")
    v = _float(scores[col])
    ok = ~np.isnan(_float(scores[score])) & ~np.isnan(v)
    # the group columns under internal names, so a user column called "_a" cannot clash
    gnames = [f"__g{i}" for i in range(len(by))]
    frame = (
        scores[by].set_axis(gnames, axis=1)
        if by
        else pd.DataFrame({"_all": np.zeros(len(scores))}, index=scores.index)
    )
    sel = (in_a | in_b) & ok
    frame = frame.loc[sel]
    frame["_b"] = in_b[sel]
    frame["_a"] = in_a[sel]
    vv = v[sel]
    # a row can fall in both periods if they overlap: count it in each
    parts = []
    for flag in ("_a", "_b"):
        f = frame.loc[frame[flag]].copy()
        f["_which"] = flag
        f["_v"] = vv[frame[flag].to_numpy()]
        parts.append(f)
    long = pd.concat(parts, ignore_index=True)
    keys = [*(gnames or ["_all"]), "_which"]
    if len(long):
        st = long.groupby(keys, sort=True, dropna=False, observed=True)["_v"].agg(
            ["count", "sum", "mean", "var"]
        )
        wide = st.unstack("_which")
    else:
        wide = pd.DataFrame()
    get = {}
    for agg_name in ("count", "mean", "var", "sum"):
        for w in ("_a", "_b"):
            get[agg_name + w] = (
                wide[(agg_name, w)].to_numpy(dtype=float)
                if (agg_name, w) in wide.columns
                else np.full(len(wide), np.nan)
            )
    n_a = np.nan_to_num(get["count_a"])
    n_b = np.nan_to_num(get["count_b"])
    out = (
        wide.index.to_frame(index=False).set_axis(by, axis=1)
        if by and len(wide)
        else pd.DataFrame(index=range(len(wide)))
    )
    if not by and len(wide) == 0:
        out = pd.DataFrame(index=range(1))
        n_a = n_b = np.zeros(1)
        for k in get:
            get[k] = np.full(1, np.nan)
    va = np.where(n_a > 0, get["mean_a"], np.nan)
    vb = np.where(n_b > 0, get["mean_b"], np.nan)
    change = vb - va
    _z(confidence)  # validates the level
    notes = np.full(len(out), "", dtype=object)
    notes[(n_a == 0) | (n_b == 0)] = "no evaluations in a period"
    if metric == "pass_rate":
        pooled = _safe_div(np.nan_to_num(get["sum_a"]) + np.nan_to_num(get["sum_b"]), n_a + n_b)
        with np.errstate(invalid="ignore", divide="ignore"):
            se0 = np.sqrt(pooled * (1 - pooled) * (_safe_div(1, n_a) + _safe_div(1, n_b)))
        stat = np.where(se0 > 0, change / np.where(se0 > 0, se0, 1), np.nan)
        p = 2 * stats.norm.sf(np.abs(stat))
        # Newcombe (1998) hybrid score interval (method 10) from the two Wilson intervals
        la, ua = wilson_interval(get["sum_a"], n_a, confidence=confidence)
        lb, ub = wilson_interval(get["sum_b"], n_b, confidence=confidence)
        lo = change - np.sqrt((vb - lb) ** 2 + (ua - va) ** 2)
        hi = change + np.sqrt((ub - vb) ** 2 + (va - la) ** 2)
        notes[(notes == "") & ~(se0 > 0)] = "no variation in either period"
        test = "two-proportion z"
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            qa = _safe_div(get["var_a"], n_a)
            qb = _safe_div(get["var_b"], n_b)
            se = np.sqrt(qa + qb)
            df = _safe_div((qa + qb) ** 2, _safe_div(qa**2, n_a - 1) + _safe_div(qb**2, n_b - 1))
        defined = (n_a >= 2) & (n_b >= 2) & (se > 0) & (df > 0)
        notes[(notes == "") & ((n_a < 2) | (n_b < 2))] = "fewer than 2 scores in a period"
        notes[(notes == "") & ~defined] = "no variation in either period"
        dfs = np.where(defined, df, 1.0)
        stat = np.where(defined, change / np.where(defined, se, 1.0), np.nan)
        p = np.where(defined, 2 * stats.t.sf(np.abs(np.nan_to_num(stat)), dfs), np.nan)
        tq = stats.t.ppf(0.5 + confidence / 2, dfs)
        lo = np.where(defined, change - tq * se, np.nan)
        hi = np.where(defined, change + tq * se, np.nan)
        test = "Welch t"
    out["n_a"] = n_a.astype(np.int64)
    out["n_b"] = n_b.astype(np.int64)
    out["value_a"] = va
    out["value_b"] = vb
    out["change"] = change
    out["change_ci_low"] = lo
    out["change_ci_high"] = hi
    out["test"] = test
    out["statistic"] = stat
    out["p_value"] = p
    out["p_adjusted"] = holm(p)
    out["note"] = notes
    return out.reset_index(drop=True)


# ===========================================================================
# NEW (issue 10, items 4 and 6): change points and Laney p'/u' limits.
# Appended as a block so the vocabulary edits above merge cleanly.
# ===========================================================================
# The Monte Carlo tests below draw their null series in blocks of this many
# rows, so memory stays bounded for long series (one vectorised pass per block).
_MC_BLOCK = 4096
# A linear trend replaces an accepted step only when its BIC is lower by more
# than this: "positive evidence" on the scale of Kass & Raftery (1995).
_BIC_EVIDENCE = 2.0

__all__ += ["ChangePoints", "change_points"]


@dataclass(frozen=True)
class ChangePoints:
    """Change points of a series: where its level stepped, how far, and whether it is a step.

    Attributes
    ----------
    breaks : tuple of int
        Position (0-based, in the input series) of the first point of each new
        segment, for every accepted change.
    labels : tuple
        The index labels at ``breaks`` (the period's date for a weekly series
        from :func:`aggregate`); equal to ``breaks`` for array input.
    p_values : tuple of float
        Holm-adjusted p-value of each accepted change (local test, Notes).
    p_global : float
        p-value of the global test of "no change at all"; NaN when the series is
        too short to test.
    segments : DataFrame
        One row per segment: ``start, end`` (positions, inclusive),
        ``start_label, end_label``, ``n_points`` (values used), ``n`` (sum of the
        weights or trials), ``level, level_ci_low, level_ci_high``.
    shape : {"flat", "step", "trend"}
        How the series is best described (Notes).
    slope, slope_p_value : float
        Weighted least-squares slope per period and its two-sided p-value.
    bic_step, bic_trend : float
        The Gaussian BIC of the step model and of the linear trend used to
        choose ``shape`` (NaN when not compared).
    last_label, last_before, last_after : object, float, float
        The label at the latest accepted change and the levels before and after
        it (None / NaN when there is no change).
    collapse : bool
        The latest segment is a significant drop that holds at most ``recent``
        points: "collapsed in the last sessions".
    dispersion : float
        Residual variance per unit weight of the final fit (for proportions,
        relative to the binomial variance: 1 = binomial, larger = overdispersed).
    kind : {"mean", "proportion"}
        Cost used.
    confidence : float
        1 - significance level of the tests, and level of the intervals.
    method : str
        Segmentation, penalty and test, in words.
    note : str
        Dropped values, too-short series and other caveats.
    """

    breaks: tuple[int, ...]
    labels: tuple[Any, ...]
    p_values: tuple[float, ...]
    p_global: float
    segments: pd.DataFrame
    shape: str
    slope: float
    slope_p_value: float
    bic_step: float
    bic_trend: float
    last_label: Any
    last_before: float
    last_after: float
    collapse: bool
    dispersion: float
    kind: str
    confidence: float
    method: str
    note: str = ""


def _segment_cost_matrix(w: np.ndarray, x: np.ndarray, min_size: int) -> np.ndarray:
    """Weighted within-segment sum of squares of every segment [s, e) (inf if shorter than min_size)."""
    m = len(x)
    s0 = np.concatenate([[0.0], np.cumsum(w)])
    s1 = np.concatenate([[0.0], np.cumsum(w * x)])
    s2 = np.concatenate([[0.0], np.cumsum(w * x * x)])
    d0 = s0[None, :] - s0[:, None]
    d1 = s1[None, :] - s1[:, None]
    d2 = s2[None, :] - s2[:, None]
    length = np.arange(m + 1)[None, :] - np.arange(m + 1)[:, None]
    ok = length >= min_size
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.where(ok, d2 - d1 * d1 / np.where(ok, d0, 1.0), np.inf)
    return np.where(ok, np.maximum(cost, 0.0), np.inf)


def _segment_neighbourhood(cost: np.ndarray, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Best total cost with k = 0..k_max changes and the argmin table (Auger & Lawrence 1989)."""
    m = cost.shape[0] - 1
    f = np.full((k_max + 1, m + 1), np.inf)
    arg = np.zeros((k_max + 1, m + 1), dtype=np.int64)
    f[0] = cost[0]
    for k in range(1, k_max + 1):  # k_max small: one vectorised min over (s, e) per k
        tot = f[k - 1][:, None] + cost
        arg[k] = np.argmin(tot, axis=0)
        f[k] = tot[arg[k], np.arange(m + 1)]
    return f, arg


def _backtrack(arg: np.ndarray, k: int, m: int) -> list[int]:
    out, e = [], m
    for j in range(k, 0, -1):
        e = int(arg[j, e])
        out.append(e)
    return out[::-1]


def _max_f(x: np.ndarray, w: np.ndarray, min_size: int) -> np.ndarray:
    """Max over splits of the F statistic for one change in mean; ``x`` is (B, L)."""
    L = x.shape[1]
    c0 = np.cumsum(w)
    c1 = np.cumsum(w * x, axis=1)
    t0, t1 = c0[-1], c1[:, -1:]
    sse0 = np.sum(w * x * x, axis=1, keepdims=True) - t1 * t1 / t0
    tau = np.arange(min_size, L - min_size + 1)  # left segment holds tau points
    a0, a1 = c0[tau - 1], c1[:, tau - 1]
    gain = a1 * a1 / a0 + (t1 - a1) ** 2 / (t0 - a0) - t1 * t1 / t0
    sse1 = np.maximum(sse0 - gain, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(sse1 > 0, gain / (sse1 / (L - 2)), np.where(gain > 0, np.inf, 0.0))
    return np.max(f, axis=1)


def _mc_p_value(
    x: np.ndarray, w: np.ndarray, min_size: int, n_sim: int, rng: np.random.Generator
) -> float:
    """Monte Carlo p-value of the max-F statistic under Gaussian noise with variance 1/w."""
    obs = float(_max_f(x[None, :], w, min_size)[0])
    if not np.isfinite(obs):
        return 1.0 / (n_sim + 1)
    exceed = 0
    sd = 1.0 / np.sqrt(w)
    for start in range(0, n_sim, _MC_BLOCK):  # blocks of simulations, each vectorised
        b = min(_MC_BLOCK, n_sim - start)
        sims = rng.standard_normal((b, len(x))) * sd
        exceed += int(np.sum(_max_f(sims, w, min_size) >= obs * (1 - 1e-12)))
    return (1 + exceed) / (n_sim + 1)


def _wls_line(x: np.ndarray, w: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """Weighted least-squares line: slope, two-sided p-value of the slope, residual SS."""
    sw = w.sum()
    tm, xm = np.sum(w * t) / sw, np.sum(w * x) / sw
    stt = np.sum(w * (t - tm) ** 2)
    if stt <= 0:
        return float("nan"), float("nan"), float(np.sum(w * (x - xm) ** 2))
    slope = float(np.sum(w * (t - tm) * (x - xm)) / stt)
    rss = float(np.sum(w * (x - xm - slope * (t - tm)) ** 2))
    df = len(x) - 2
    if df < 1:
        return slope, float("nan"), rss
    se = np.sqrt(rss / df / stt)
    if se == 0:
        return slope, 0.0 if slope != 0 else 1.0, rss
    return slope, float(2 * stats.t.sf(abs(slope / se), df)), rss


def _gauss_bic(rss: float, m: int, n_params: int) -> float:
    return float(m * np.log(max(rss, 1e-300) / m) + n_params * np.log(m))


def change_points(
    values: Sequence[float] | pd.Series | np.ndarray,
    *,
    n: Sequence[float] | pd.Series | np.ndarray | None = None,
    weights: Sequence[float] | pd.Series | np.ndarray | None = None,
    kind: Literal["mean", "proportion"] = "mean",
    penalty: Literal["bic", "mbic"] | float = "bic",
    min_size: int = 2,
    max_changes: int = 5,
    recent: int = 3,
    n_boot: int | None = None,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
) -> ChangePoints:
    """Steps in the level of a series: where, how large, and whether they are beyond chance.

    For a weekly pass rate (``kind="proportion"`` with each week's ``n``), a
    weekly mean score (``kind="mean"``, ``n`` as weights) or Krippendorff's alpha
    per calibration session (``kind="mean"``, optional ``weights``).

    Parameters
    ----------
    values : array-like or Series
        Evenly spaced series in time order. A Series keeps its index as labels
        (e.g. ``aggregate(...).set_index("period")["pass_rate"]``). NaN values
        (and values with ``n`` = 0) are dropped; the others keep their positions.
    n : array-like, optional
        Observations behind each value: the trials of a proportion (required for
        ``kind="proportion"``) or the audits behind a mean (used as weights).
    weights : array-like, optional
        Precision weights for ``kind="mean"`` (e.g. 1 / squared standard error of
        each session's alpha); not together with ``n``. Default: equal weights.
    kind : {"mean", "proportion"}
        Gaussian cost with variance :math:`\\phi / w_i`, or the same with the
        binomial variance :math:`\\phi\\,\\bar p(1-\\bar p)/n_i` (``phi`` = 1 is binomial).
    penalty : {"bic", "mbic"} or float
        Penalty per change on the -2 log-likelihood scale: ``bic`` is
        :math:`2\\log m` (a location and a level per change), ``mbic`` the modified
        BIC of Zhang & Siegmund (2007); a number is used as is.
    min_size : int
        Fewest points in a segment (2 lets a collapse in the last two sessions show).
    max_changes : int
        Most changes considered.
    recent : int
        A final segment of at most this many points that dropped significantly is
        a ``collapse``.
    n_boot : int, optional
        Monte Carlo replicates of each test; None reads ``n_boot`` in
        ``params/defaults.yaml``.
    confidence : float
        The tests use the significance level ``1 - confidence``; the level
        intervals use ``confidence``.
    seed : int, Generator or None
        Seed of the Monte Carlo tests.

    Returns
    -------
    ChangePoints

    Raises
    ------
    DataError
        Negative ``n`` or ``weights``, a proportion outside [0, 1], or a
        proportion without ``n``.
    ParamsError
        Bad ``kind``, ``penalty``, ``min_size``, ``max_changes`` or ``n_boot``.

    Notes
    -----
    *Model.* :math:`x_i = \\mu_{j(i)} + e_i`, :math:`\\operatorname{Var} e_i = \\phi/w_i`, with
    :math:`\\mu` constant within segments. The cost of a segment is its weighted
    residual sum of squares :math:`C(s,e) = \\sum w x^2 - (\\sum w x)^2/\\sum w`
    (all segments at once from cumulative sums).

    *Segmentation.* Exact: the segment-neighbourhood dynamic programme (Auger &
    Lawrence 1989) gives the best partition with k = 0..``max_changes`` changes;
    the penalised choice minimises :math:`\\sum C/\\hat\\phi + \\beta k` with
    :math:`\\hat\\phi` the robust scale of successive differences,
    :math:`(\\operatorname{median}|d_i|/0.6745)^2` with
    :math:`d_i = (x_{i+1}-x_i)/\\sqrt{1/w_i + 1/w_{i+1}}` (floored at the binomial
    variance for proportions), which a step does not inflate.

    *Tests.* A change is reported only when (1) the global test of "no change"
    rejects at level :math:`\\alpha = 1 -` ``confidence``, and (2) each accepted
    change passes a local test on the two segments it separates, Holm-adjusted
    across the changes; when a change fails, the best partition with one change
    fewer is tested, down to one change (whose local test is the global test).
    Both tests use the likelihood-ratio (F) statistic of one change in mean,
    maximised over the split position, :math:`\\max_\\tau (SSE_0 - SSE_\\tau) /
    (SSE_\\tau/(L-2))`, which is free of :math:`\\phi`; its null distribution is
    simulated (``n_boot`` Gaussian series with the same weights, one matrix),
    and :math:`p = (1 + \\#\\{T^* \\ge T\\})/(n_{boot} + 1)`. The family-wise
    error of reporting any change on a series without one is therefore at most
    :math:`\\alpha` (for independent, roughly Gaussian noise; serial
    correlation makes the test liberal). A permutation test was not used: with
    two points after a change it cannot reach p < 0.05 in fewer than 10 points.

    *Levels.* Weighted mean of each segment, with
    :math:`\\hat\\phi_{res} = SSE/(m - k - 1)`: a t interval
    :math:`\\pm t_{m-k-1}\\sqrt{\\hat\\phi_{res}/\\sum w}` for means, and a Wilson
    interval on the effective trials :math:`\\sum n / \\max(1, \\hat\\phi_{res})`
    for proportions.

    *Shape.* ``flat``: no accepted change and no significant weighted
    least-squares slope; ``trend``: a significant slope, and either no accepted
    change or a linear trend whose BIC is lower than the step model's by more
    than 2 (positive evidence, Kass & Raftery 1995); ``step`` otherwise. The BICs are Gaussian with profiled variance,
    :math:`m\\log(RSS/m) + p\\log m`, with :math:`p = 2k + 1` for k steps and 2
    for the line. A narrative may say "declining" only for ``trend`` and should
    describe a ``step`` by ``last_label``, ``last_before`` and ``last_after``.

    References
    ----------
    .. [1] Auger, I. E. & Lawrence, C. E. (1989). Algorithms for the optimal
       identification of segment neighborhoods. *Bull. Math. Biol.* 51(1), 39-54.
    .. [2] Killick, R., Fearnhead, P. & Eckley, I. A. (2012). Optimal detection of
       changepoints with a linear computational cost. *JASA* 107(500), 1590-1598.
    .. [3] Zhang, N. R. & Siegmund, D. O. (2007). A modified Bayes information
       criterion with applications to the analysis of comparative genomic
       hybridization data. *Biometrics* 63(1), 22-32.
    .. [4] Andrews, D. W. K. (1993). Tests for parameter instability and
       structural change with unknown change point. *Econometrica* 61(4), 821-856.
    .. [5] Holm, S. (1979). A simple sequentially rejective multiple test
       procedure. *Scand. J. Statist.* 6(2), 65-70.
    .. [6] Kass, R. E. & Raftery, A. E. (1995). Bayes factors. *JASA* 90(430), 773-795.

    Examples
    --------
    >>> import pandas as pd
    >>> weeks = pd.date_range("2026-06-01", periods=12, freq="7D")
    >>> rate = pd.Series([.88, .87, .89, .88, .86, .89, .88, .66, .64, .65, .66, .65], index=weeks)
    >>> cp = change_points(rate, n=[200] * 12, kind="proportion", seed=1)
    >>> cp.shape, cp.breaks, cp.last_label.date(), round(cp.last_before, 3), round(cp.last_after, 3)
    ('step', (7,), datetime.date(2026, 7, 20), 0.879, 0.652)
    """
    if kind not in ("mean", "proportion"):
        raise ParamsError(f"kind must be 'mean' or 'proportion', got {kind!r}")
    if isinstance(penalty, str):
        if penalty not in ("bic", "mbic"):
            raise ParamsError(f"penalty must be 'bic', 'mbic' or a number, got {penalty!r}")
    elif not (isinstance(penalty, numbers.Real) and np.isfinite(penalty) and penalty >= 0):
        raise ParamsError(
            f"penalty must be 'bic', 'mbic' or a non-negative number, got {penalty!r}"
        )
    for name, v, lo in (
        ("min_size", min_size, 1),
        ("max_changes", max_changes, 0),
        ("recent", recent, 1),
    ):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise ParamsError(f"{name} must be an integer >= {lo}, got {v!r}")
    if n_boot is None:
        n_boot = int(settings.thresholds()["n_boot"])
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ParamsError(f"n_boot must be a positive integer, got {n_boot!r}")
    alpha = 1.0 - confidence
    _z(confidence)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    if isinstance(values, pd.DataFrame):
        raise TypeError("values must be a Series or an array, not a DataFrame")
    labels_all = values.index.to_numpy(dtype=object) if isinstance(values, pd.Series) else None
    x_all = np.asarray(values, dtype=float).ravel()
    m_all = len(x_all)
    if labels_all is None:
        labels_all = np.arange(m_all, dtype=object)
    if n is not None and weights is not None:
        raise ParamsError("give n or weights, not both")
    if kind == "proportion" and n is None:
        raise DataError("<values>", "kind='proportion' needs n (the trials behind each rate)")
    raw_w = n if n is not None else weights
    w_all = np.ones(m_all) if raw_w is None else np.asarray(raw_w, dtype=float).ravel()
    if len(w_all) != m_all:
        raise DataError("<values>", f"n/weights has {len(w_all)} entries for {m_all} values")
    if np.any(w_all < 0) or np.any(np.isinf(w_all)):
        raise DataError("<values>", "n/weights must be non-negative and finite")
    keep = ~np.isnan(x_all) & (w_all > 0) & ~np.isnan(w_all)
    if kind == "proportion" and np.any((x_all[keep] < 0) | (x_all[keep] > 1)):
        raise DataError("<values>", "a proportion outside [0, 1]")
    notes = []
    if (~keep).sum():
        notes.append(f"{int((~keep).sum())} missing value(s) or empty period(s) dropped")
    pos = np.flatnonzero(keep)
    x, nw = x_all[keep], w_all[keep]
    m = len(x)
    bvar = float("nan")
    if kind == "proportion":
        pbar = float(np.sum(nw * x) / np.sum(nw)) if m else float("nan")
        bvar = pbar * (1 - pbar)
        w = nw / bvar if bvar > 0 else nw.copy()
    else:
        w = nw.copy()
    pen_name = f"{penalty} penalty" if isinstance(penalty, str) else f"penalty {penalty:g}"
    method = (
        f"exact segmentation (segment neighbourhood, Gaussian cost, {pen_name}, "
        f"at most {max_changes} changes, segments of at least {min_size}); each change "
        f"confirmed by a Monte Carlo likelihood-ratio (max-F) test at level {alpha:g}, "
        f"Holm-adjusted, after a global test of no change; shape by weighted "
        f"least-squares slope test and BIC (step vs linear trend)"
    )

    # robust noise scale from successive differences (a step moves one difference only)
    phi = float("nan")
    if m >= 2:
        d = np.diff(x) / np.sqrt(1 / w[1:] + 1 / w[:-1])
        phi = float((np.median(np.abs(d)) / 0.6744897501960817) ** 2)
        if phi <= 0:
            phi = float(np.mean(d * d))
        if kind == "proportion" and bvar > 0:
            phi = max(phi, 1.0)

    t_all = np.arange(m_all, dtype=float)
    slope, slope_p, rss_line = (
        _wls_line(x, w, t_all[pos]) if m >= 3 else (float("nan"), float("nan"), float("nan"))
    )
    k_possible = min(max_changes, m // min_size - 1) if m >= 2 * min_size else 0
    p_global = float("nan")
    accepted: list[int] = []
    adj: np.ndarray = np.zeros(0)
    f_tab = arg = None
    if m < max(2 * min_size, 4) or k_possible < 1:
        notes.append(f"too few values ({m}) to test for a change")
    elif not (phi > 0):
        notes.append("no variation: no change")
        k_possible = 0
    else:
        cost = _segment_cost_matrix(w, x, min_size)
        if penalty == "mbic":
            length = np.arange(m + 1)[None, :] - np.arange(m + 1)[:, None]
            with np.errstate(divide="ignore"):
                cost = cost + phi * np.log(np.where(length > 0, length, 1) / m)
            beta = 3 * np.log(m)
        else:
            beta = 2 * np.log(m) if penalty == "bic" else float(penalty)
        f_tab, arg = _segment_neighbourhood(cost, k_possible)
        p_global = _mc_p_value(x, w, min_size, n_boot, rng)
        if p_global <= alpha:
            crit = f_tab[:, m] / phi + beta * np.arange(k_possible + 1)
            k = max(int(np.argmin(crit)), 1)
            while k >= 1:  # backward elimination over k (at most max_changes rounds)
                bk = _backtrack(arg, k, m)
                edges = [0, *bk, m]
                p_loc = np.array(
                    [
                        p_global
                        if k == 1
                        else _mc_p_value(
                            x[edges[j] : edges[j + 2]],
                            w[edges[j] : edges[j + 2]],
                            min_size,
                            n_boot,
                            rng,
                        )
                        for j in range(k)
                    ]
                )
                adj = holm(p_loc)
                if np.all(adj <= alpha):
                    accepted = bk
                    break
                k -= 1

    # segments and their levels
    k_acc = len(accepted)
    edges = [0, *accepted, m]
    seg_id = np.repeat(np.arange(k_acc + 1), np.diff(edges))
    sw = np.bincount(seg_id, weights=w, minlength=k_acc + 1) if m else np.zeros(1)
    swx = np.bincount(seg_id, weights=w * x, minlength=k_acc + 1) if m else np.zeros(1)
    level = _safe_div(swx, sw)
    resid = x - level[seg_id] if m else x
    df_res = m - k_acc - 1
    phi_res = float(np.sum(w * resid**2) / df_res) if df_res >= 1 else float("nan")
    n_seg = np.bincount(seg_id, weights=nw, minlength=k_acc + 1) if m else np.zeros(1)
    if kind == "proportion":
        eff = n_seg / max(1.0, phi_res) if np.isfinite(phi_res) else n_seg
        lo, hi = wilson_interval(level * eff, eff, confidence=confidence)
        dispersion = phi_res
    else:
        if df_res >= 1:
            half = stats.t.ppf(0.5 + confidence / 2, df_res) * np.sqrt(phi_res / sw)
            lo, hi = level - half, level + half
        else:
            lo = hi = np.full(k_acc + 1, np.nan)
        dispersion = phi_res
    starts = np.asarray(edges[:-1], dtype=np.int64)
    ends = np.asarray(edges[1:], dtype=np.int64) - 1
    if m:
        s_pos, e_pos = pos[starts], pos[ends]
        segments = pd.DataFrame(
            {
                "start": s_pos,
                "end": e_pos,
                "start_label": labels_all[s_pos],
                "end_label": labels_all[e_pos],
                "n_points": np.diff(edges),
                "n": n_seg,
                "level": level,
                "level_ci_low": lo,
                "level_ci_high": hi,
            }
        )
    else:
        segments = pd.DataFrame(
            columns=[
                "start",
                "end",
                "start_label",
                "end_label",
                "n_points",
                "n",
                "level",
                "level_ci_low",
                "level_ci_high",
            ]
        )
    break_pos = tuple(int(pos[b]) for b in accepted)
    break_labels = tuple(labels_all[b] for b in break_pos)

    # shape: flat, step or trend
    slope_sig = bool(np.isfinite(slope_p) and slope_p <= alpha)
    bic_step = bic_trend = float("nan")
    if m >= 3 and f_tab is not None and k_possible >= 1:
        k_cmp = max(k_acc, 1)
        bic_step = _gauss_bic(float(f_tab[k_cmp, m]), m, 2 * k_cmp + 1)
        bic_trend = _gauss_bic(rss_line, m, 2)
    if k_acc == 0:
        shape = "trend" if slope_sig else "flat"
    else:
        shape = "trend" if slope_sig and bic_trend < bic_step - _BIC_EVIDENCE else "step"

    last_before = float(level[-2]) if k_acc else float("nan")
    last_after = float(level[-1]) if k_acc else float("nan")
    collapse = bool(k_acc and last_after < last_before and (m - accepted[-1]) <= recent)
    return ChangePoints(
        breaks=break_pos,
        labels=break_labels,
        p_values=tuple(float(p) for p in adj) if k_acc else (),
        p_global=p_global,
        segments=segments,
        shape=shape,
        slope=slope,
        slope_p_value=slope_p,
        bic_step=bic_step,
        bic_trend=bic_trend,
        last_label=break_labels[-1] if k_acc else None,
        last_before=last_before,
        last_after=last_after,
        collapse=collapse,
        dispersion=dispersion,
        kind=kind,
        confidence=confidence,
        method=method,
        note="; ".join(notes),
    )


# ---------------------------------------------------------------------------
# NEW: Laney p'/u' limits for overdispersed attribute charts
# ---------------------------------------------------------------------------
__all__ += ["Overdispersion", "overdispersion"]


@dataclass(frozen=True)
class Overdispersion:
    """Laney's overdispersion diagnosis of a p- or u-chart, and which limits to use.

    Attributes
    ----------
    center : float
        :math:`\\bar p = \\sum x/\\sum n` (or :math:`\\bar u`) over the baseline.
    sigma_z : float
        Laney's :math:`\\sigma_z = \\overline{MR}(z)/1.128` over the baseline
        points (1 for a binomial / Poisson process).
    statistic, df, p_value : float, int, float
        Pearson dispersion test: :math:`\\sum z_i^2` on :math:`m-1` degrees of
        freedom, one-sided (more variation than binomial / Poisson).
    laney : bool
        Whether the chart uses Laney's limits (``p'`` / ``u'``).
    limits : str
        ``"p"``, ``"p'"``, ``"u"`` or ``"u'"``: the limits used, for the chart
        legend and the narrative.
    rule : str
        The rule applied, in words.
    """

    center: float
    sigma_z: float
    statistic: float
    df: int
    p_value: float
    laney: bool
    limits: str
    rule: str


def overdispersion(
    events: Sequence[float] | np.ndarray | pd.Series,
    n: Sequence[float] | np.ndarray | pd.Series,
    *,
    kind: Literal["p", "u"] = "p",
    baseline: Sequence[bool] | np.ndarray | None = None,
    rule: Literal["auto", "laney", "binomial"] = "auto",
    confidence: float = 0.95,
) -> Overdispersion:
    """Whether an attribute chart needs Laney's p' (or u') limits, and its sigma_z.

    Parameters
    ----------
    events : array-like
        Events per period: passes (p-chart) or counts (u-chart).
    n : array-like
        Trials (p) or units of exposure (u) per period; periods with n = 0 are skipped.
    kind : {"p", "u"}
        Binomial (:math:`\\sigma_i = \\sqrt{\\bar p(1-\\bar p)/n_i}`) or Poisson
        (:math:`\\sigma_i = \\sqrt{\\bar u/n_i}`) within-period variation.
    baseline : array of bool, optional
        Periods that estimate the centre and :math:`\\sigma_z` (default: all).
    rule : {"auto", "laney", "binomial"}
        ``auto``: Laney's limits when the baseline is overdispersed (Notes);
        ``laney`` or ``binomial`` force one kind of limits.
    confidence : float
        The dispersion test's level is ``1 - confidence``.

    Returns
    -------
    Overdispersion

    Notes
    -----
    With :math:`z_i = (p_i - \\bar p)/\\sigma_i`, Laney (2002) estimates the
    between-period variation in z units from the moving ranges of the z-scores,
    :math:`\\sigma_z = \\overline{|z_i - z_{i-1}|}/d_2` with :math:`d_2 = 1.128`,
    and uses the limits :math:`\\bar p \\pm 3\\,\\sigma_i\\,\\sigma_z` (p'), likewise
    :math:`\\bar u \\pm 3\\sqrt{\\bar u/n_i}\\,\\sigma_z` (u'). With a large n per period,
    binomial limits are far narrower than the real week-to-week variation and
    signal almost every week; p' limits do not.

    Rule (``auto``): Laney's limits are used when the data are overdispersed by
    both criteria: :math:`\\sigma_z > 1` and the Pearson dispersion statistic
    :math:`\\sum z_i^2` exceeds the :math:`1-\\alpha` quantile of
    :math:`\\chi^2_{m-1}`, :math:`\\alpha = 1 -` ``confidence`` (m baseline
    periods). Otherwise the limits are the binomial (Poisson) ones, unchanged;
    limits are never narrowed below them. Needs at least 3 baseline periods.

    References
    ----------
    .. [1] Laney, D. B. (2002). Improved control charts for attributes.
       *Quality Engineering* 14(4), 531-537.
    .. [2] Montgomery, D. C. (2019). *Introduction to Statistical Quality
       Control*, 8th ed., Wiley, chapter 7.

    Examples
    --------
    >>> od = overdispersion([90, 60, 85, 55, 88, 62], [100] * 6)
    >>> od.limits, round(od.sigma_z, 3)
    ("p'", 5.774)
    >>> overdispersion([80, 82, 79, 81, 80, 78], [100] * 6).limits
    'p'
    """
    if kind not in ("p", "u"):
        raise ParamsError(f"kind must be 'p' or 'u', got {kind!r}")
    if rule not in ("auto", "laney", "binomial"):
        raise ParamsError(f"rule must be 'auto', 'laney' or 'binomial', got {rule!r}")
    _z(confidence)
    ev = np.asarray(events, dtype=float).ravel()
    nn = np.asarray(n, dtype=float).ravel()
    if ev.shape != nn.shape:
        raise DataError("<events>", f"events has {ev.size} entries and n {nn.size}")
    if np.any(nn < 0) or np.any(ev < 0):
        raise DataError("<events>", "negative events or n")
    if kind == "p" and np.any(ev > nn):
        raise DataError("<events>", "events exceed n")
    base = np.ones(ev.size, dtype=bool) if baseline is None else np.asarray(baseline, dtype=bool)
    use = base & (nn > 0) & ~np.isnan(ev) & ~np.isnan(nn)
    m = int(use.sum())
    center = float(_safe_div(ev[use].sum(), nn[use].sum())) if m else float("nan")
    var1 = center * (1 - center) if kind == "p" else center
    name = "binomial" if kind == "p" else "Poisson"
    alpha = 1.0 - confidence
    text = (
        f"Laney {kind}' limits when sigma_z > 1 and the Pearson dispersion test "
        f"(chi-square, m - 1 df) rejects at {alpha:g}; else {name} {kind} limits"
    )
    if m < 3 or not var1 > 0:
        sigma_z = stat = p_val = float("nan")
    else:
        z = (ev[use] / nn[use] - center) / np.sqrt(var1 / nn[use])
        sigma_z = float(np.mean(np.abs(np.diff(z))) / _D2)
        stat = float(np.sum(z * z))
        p_val = float(stats.chi2.sf(stat, m - 1))
    if rule == "auto":
        laney = bool(np.isfinite(sigma_z) and sigma_z > 1 and p_val <= alpha)
    else:
        laney = rule == "laney" and bool(np.isfinite(sigma_z))
        text = f"{'Laney' if laney else name} {kind}{chr(39) if laney else ''} limits (forced)"
    return Overdispersion(
        center=center,
        sigma_z=sigma_z,
        statistic=stat,
        df=max(m - 1, 0),
        p_value=p_val,
        laney=laney,
        limits=f"{kind}'" if laney else kind,
        rule=text,
    )
