"""Units compared at one time: funnel plots, shrunken rates, target status, the CSAT link.

Where :mod:`qa_analysis.trends` follows one quality series over time, this
module compares units (agents, markets, regions) within one period: which
units differ from the rest beyond chance (:func:`funnel`), small-sample-fair
rates for ranking (:func:`shrink`), KPIs against targets with their
uncertainty (:func:`target_status`), and how the QA score relates to CSAT
(:func:`csat_link`). Inputs are the evaluation-level table of
:func:`qa_analysis.scorecard.score_evaluations`, as in :mod:`~qa_analysis.trends`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from qa_analysis._checks import TableResult
from qa_analysis._checks import require_columns as _require
from qa_analysis._checks import row_refs as _row_refs
from qa_analysis._checks import z_value as _z
from qa_analysis.errors import DataError
from qa_analysis.trends import _as_list, _float, _group_codes, _safe_div

__all__ = [
    "Funnel",
    "Shrinkage",
    "csat_link",
    "funnel",
    "funnel_limits",
    "shrink",
    "target_status",
]

#: Why :func:`shrink` fitted no population (``"fitted"`` when it did).
ShrinkageFit = Literal["fitted", "fewer than 2 units", "boundary", "no unit with both outcomes"]


@dataclass(frozen=True, repr=False)
class Funnel(TableResult):
    """Result of :func:`funnel`: the per-unit table and the funnel's centre.

    Attributes
    ----------
    table : DataFrame
        One row per unit (columns described in :func:`funnel`).
    target : float
        Centre of the funnel: the given target or the pooled rate (NaN without data).
    n_excluded : int
        Evaluations left out because ``metric`` was missing.
    """

    table: pd.DataFrame
    target: float
    n_excluded: int = 0

    _summary_fields = ("target", "n_excluded")


@dataclass(frozen=True, repr=False)
class Shrinkage(TableResult):
    """Result of :func:`shrink`: shrunken rates per unit, the fitted population and its test.

    Attributes
    ----------
    table : DataFrame
        One row per unit, best first (columns described in :func:`shrink`).
    distinguishable : bool
        Whether the between-unit variation is beyond chance (the units are ranked).
    overdispersion_p, overdispersion_lr : float
        p-value and statistic of the likelihood-ratio test of the beta-binomial
        against the binomial (NaN when no population is fitted).
    prior_mean, prior_concentration, prior_a, prior_b : float
        The fitted population: posterior mean of mu, posterior median of M,
        and the Beta parameters ``prior_mean * M`` and ``(1 - prior_mean) * M``.
    mle_mean, mle_concentration : float
        Marginal maximum-likelihood fit (concentration inf when the spread is no
        larger than binomial chance).
    fit : {"fitted", "fewer than 2 units", "boundary", "no unit with both outcomes"}
        ``"fitted"``, or why no population could be fitted (raw rates with
        Jeffreys intervals are returned then).
    method : str
        How the intervals were computed.
    note : str
        Explanation for the reader ("" when the units are fitted and ranked).
    n_excluded : int
        Evaluations left out because ``metric`` was missing.
    """

    table: pd.DataFrame
    distinguishable: bool
    overdispersion_p: float
    overdispersion_lr: float
    prior_mean: float
    prior_concentration: float
    prior_a: float
    prior_b: float
    mle_mean: float
    mle_concentration: float
    fit: ShrinkageFit
    method: str
    note: str = ""
    n_excluded: int = 0

    _summary_fields = ("distinguishable", "overdispersion_p", "prior_mean", "fit")

    @property
    def fitted(self) -> bool:
        """Whether a population was fitted (``fit == "fitted"``)."""
        return self.fit == "fitted"

    @property
    def reason(self) -> str:
        """Why no population was fitted, in words ("" when one was)."""
        return "" if self.fitted else self.note.split(";")[0]


# ---------------------------------------------------------------------------
# funnel plot and shrinkage
# ---------------------------------------------------------------------------
_FUNNEL_LEVELS = {"95": 0.95, "998": 0.998}


def funnel_limits(p: float, n_grid: Any) -> pd.DataFrame:
    """Exact binomial funnel limits (95% and 99.8%) around rate ``p`` on a grid of n.

    Parameters
    ----------
    p : float
        Centre of the funnel (target or pooled rate), in [0, 1].
    n_grid : array-like
        Sample sizes at which to evaluate the limits (non-integers are rounded
        for the binomial; values below 1 give NaN).

    Returns
    -------
    DataFrame
        ``n, lo95, hi95, lo998, hi998`` (NaN where n < 1).

    Notes
    -----
    For a two-sided level, with tail probability :math:`P` (0.025/0.975 or
    0.001/0.999), :math:`r_P` is the smallest r with :math:`F(r) \\ge P` for the
    Binomial(n, p) cdf F, and the limit is interpolated between integers:
    :math:`(r_P - \\alpha)/n` with :math:`\\alpha = (F(r_P) - P)/(F(r_P) - F(r_P - 1))`
    (Spiegelhalter 2005, appendix A.1.1).

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
       performance. *Statistics in Medicine* 24(8), 1185-1202.

    Examples
    --------
    >>> funnel_limits(0.8, [50, 200]).round(3)
         n   lo95   hi95  lo998  hi998
    0   50  0.673  0.896  0.601  0.945
    1  200  0.741  0.852  0.706  0.880
    """
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    n = np.asarray(n_grid, dtype=float).ravel()
    out = pd.DataFrame({"n": n.astype(np.int64) if np.all(n == np.round(n)) else n})
    ok = n >= 1
    nn = np.where(ok, np.round(n), 1)
    for name, level in _FUNNEL_LEVELS.items():
        for side, prob in (("lo", (1 - level) / 2), ("hi", (1 + level) / 2)):
            if p in (0.0, 1.0):
                lim = np.full(len(n), float(p))
            else:
                r = stats.binom.ppf(prob, nn, p)
                f_r = stats.binom.cdf(r, nn, p)
                f_r1 = stats.binom.cdf(r - 1, nn, p)
                alpha = _safe_div(f_r - prob, f_r - f_r1)
                lim = np.clip((r - np.nan_to_num(alpha)) / nn, 0, 1)
            out[f"{side}{name}"] = np.where(ok, lim, np.nan)
    return out


def _unit_counts(scores: pd.DataFrame, unit: str, metric: str) -> tuple[pd.DataFrame, int]:
    _require(scores, [unit, metric])
    v = _float(scores[metric])
    ok = ~np.isnan(v)
    frame = pd.DataFrame({unit: scores[unit].to_numpy()[ok], "_x": v[ok]})
    bad = (frame["_x"] != 0) & (frame["_x"] != 1)
    if bad.any():
        pos = np.flatnonzero(ok)[np.flatnonzero(bad.to_numpy())]
        raise DataError(
            "scores",
            f"column {metric!r} must be boolean (0/1); "
            f"{_row_refs(scores.index, pos, v[pos], column=metric)}",
        )
    g = frame.groupby(unit, sort=True, dropna=False, observed=True)["_x"].agg(["count", "sum"])
    g = g.rename(columns={"count": "n", "sum": "events"}).reset_index()
    g["n"] = g["n"].astype(np.int64)
    g["events"] = g["events"].astype(np.int64)
    return g, int((~ok).sum())


def funnel(
    scores: pd.DataFrame,
    *,
    unit: str = "agent_id",
    metric: str = "passed",
    target: float | None = None,
) -> Funnel:
    """Funnel plot table: each unit's rate against exact binomial limits around the group rate.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation.
    unit : str
        Unit column (agent, reviewer, queue, ...).
    metric : str
        Boolean column (``passed``, ``critical_fail``); missing values are excluded.
    target : float, optional
        Centre of the funnel; default the pooled rate of all units.

    Returns
    -------
    Funnel
        ``table``: ``<unit>, n, events, rate, target, lo95, hi95, lo998, hi998, position,
        warning, outlier``: ``position`` is "above", "below" or "within" the
        99.8% limits, ``warning`` flags a rate outside the 95% limits and
        ``outlier`` one outside the 99.8% limits, judged by the exact binomial
        tail probability of the unit's count (P(X >= x) or P(X <= x) below
        0.1%, resp. 2.5%). The limits on a grid of n for
        the funnel's curves come from :func:`funnel_limits`. ``target`` is
        the centre and ``n_excluded`` counts evaluations without ``metric``.

    Notes
    -----
    Limits as in :func:`funnel_limits` (exact binomial with interpolation;
    Spiegelhalter 2005). The 99.8% limits are close to 3 sigma, the 95% limits
    to 2 sigma.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
       performance. *Statistics in Medicine* 24(8), 1185-1202.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"agent_id": ["a"] * 40 + ["b"] * 40 + ["c"] * 400,
    ...                   "passed": [True] * 36 + [False] * 4 + [True] * 12 + [False] * 28
    ...                             + [True] * 320 + [False] * 80})
    >>> f = funnel(s)
    >>> f
    Funnel(3 rows, target=0.7667, n_excluded=0)
    >>> f.table[["agent_id", "n", "rate", "position"]]
      agent_id    n  rate position
    0        a   40   0.9   within
    1        b   40   0.3    below
    2        c  400   0.8   within
    """
    g, n_excl = _unit_counts(scores, unit, metric)
    n_tot = g["n"].sum()
    p0 = (
        float(target)
        if target is not None
        else (float(g["events"].sum() / n_tot) if n_tot else np.nan)
    )
    g["rate"] = _safe_div(g["events"], g["n"])
    g["target"] = p0
    if np.isnan(p0):
        for c in ("lo95", "hi95", "lo998", "hi998"):
            g[c] = np.nan
    else:
        lim = funnel_limits(p0, g["n"].to_numpy())
        for c in ("lo95", "hi95", "lo998", "hi998"):
            g[c] = lim[c].to_numpy()
    # Classify by the exact binomial tail probabilities, not by the interpolated limits:
    # those are for drawing, and a perfect record (rate 1) always lies above an
    # interpolated upper limit just under 1, however few its audits.
    x, n = g["events"].to_numpy(), g["n"].to_numpy()
    if np.isnan(p0):
        p_hi = p_lo = np.ones(len(g))
    else:
        p_hi = stats.binom.sf(x - 1, n, p0)  # P(X >= x)
        p_lo = stats.binom.cdf(x, n, p0)  # P(X <= x)
    tail998, tail95 = (1 - _FUNNEL_LEVELS["998"]) / 2, (1 - _FUNNEL_LEVELS["95"]) / 2
    above, below = p_hi < tail998, p_lo < tail998
    g["position"] = np.where(above, "above", np.where(below, "below", "within"))
    g["warning"] = (p_hi < tail95) | (p_lo < tail95)
    g["outlier"] = above | below
    return Funnel(table=g, target=p0, n_excluded=n_excl)


# grid of the hyperparameters (logit prior mean, log prior concentration) for shrink()
_HB_POINTS = 41
_HB_LOGM = (np.log(1e-4), np.log(1e8))


def _bb_loglik(
    x: np.ndarray, n: np.ndarray, w: np.ndarray, mu: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Beta-binomial log marginal likelihood (binomial coefficients omitted) at each (mu, M).

    ``x, n`` are the distinct (events, n) pairs and ``w`` how many units share each.
    """
    a = (mu * m)[..., None]
    b = ((1 - mu) * m)[..., None]
    return np.sum(w * (special.betaln(x + a, n - x + b) - special.betaln(a, b)), axis=-1)


def _beta_binom_mle(x: np.ndarray, n: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Maximum marginal likelihood (mu, M) and the log-likelihood there (M may be ~inf)."""
    pooled = float(np.sum(w * x) / np.sum(w * n))
    logm_hi = np.log(1e9)
    k = w.sum()
    r = x / n
    rbar = float(np.sum(w * r) / k)
    v = float(np.sum(w * (r - rbar) ** 2) / (k - 1)) if k > 1 else 0.0
    between = v - pooled * (1 - pooled) * float(np.sum(w / n) / k)
    m0 = float(np.clip(pooled * (1 - pooled) / between - 1 if between > 0 else 1e4, 1.0, 1e6))

    def nll(theta: np.ndarray) -> float:
        return -float(_bb_loglik(x, n, w, special.expit(theta[0]), np.exp(theta[1])))

    start = np.array([special.logit(pooled), np.log(m0)])
    res = optimize.minimize(
        nll, start, method="L-BFGS-B", bounds=[(-30, 30), (np.log(1e-3), logm_hi)]
    )
    theta, best = res.x, float(res.fun)
    # binomial limit (M -> inf) at the pooled rate: the beta-binomial's null model
    ll0 = float(np.sum(w * (x * np.log(pooled) + (n - x) * np.log1p(-pooled))))
    if -ll0 <= best:
        return pooled, np.inf, ll0
    return float(special.expit(theta[0])), float(np.exp(theta[1])), -best


def _hb_grid(
    x: np.ndarray, n: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior of (mu, M) on a grid, first over a wide box, then twice zoomed onto its mass.

    Returns the grid's mu, M and normalised weights (flattened, negligible points dropped).
    """
    pooled = float(np.sum(w * x) / np.sum(w * n))
    lo_t, hi_t = special.logit(pooled) - 8.0, special.logit(pooled) + 8.0
    lo_m, hi_m = _HB_LOGM
    for _ in range(3):
        t = np.linspace(lo_t, hi_t, _HB_POINTS)
        lm = np.linspace(lo_m, hi_m, _HB_POINTS)
        tt, ll = np.meshgrid(t, lm, indexing="ij")
        mu, m = special.expit(tt), np.exp(ll)
        # hyperprior p(a, b) ~ (a + b)^(-5/2) (Gelman et al. 2013, section 5.3), which on
        # (logit mu, log M) is mu (1 - mu) M^(-1/2)
        logp = _bb_loglik(x, n, w, mu, m) + np.log(mu) + np.log1p(-mu) - 0.5 * ll
        keep = logp >= logp.max() - 30.0
        it, im = np.nonzero(keep)
        dt, dm = t[1] - t[0], lm[1] - lm[0]
        lo_t, hi_t = t[it.min()] - dt, t[it.max()] + dt
        lo_m, hi_m = max(lm[im.min()] - dm, _HB_LOGM[0]), min(lm[im.max()] + dm, _HB_LOGM[1])
    wt = np.exp(logp - logp.max()).ravel()
    wt /= wt.sum()
    order = np.argsort(wt)
    drop = order[np.cumsum(wt[order]) < 1e-8]
    sel = np.setdiff1d(np.arange(wt.size), drop)
    wt = wt[sel] / wt[sel].sum()
    return mu.ravel()[sel], m.ravel()[sel], wt


def _mixture_quantiles(
    a: np.ndarray,
    b: np.ndarray,
    wt: np.ndarray,
    q: tuple[float, float],
    mean: np.ndarray,
    sd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles q of each row's mixture of Beta(a[i, k], b[i, k]) with weights wt[k].

    Safeguarded Newton on the mixture cdf, both quantiles at once: a Newton step
    that leaves the current bracket is replaced by bisection. The starting
    bracket mean -/+ c sd holds the quantile by Cantelli's inequality; iteration
    stops when every cdf is within 1e-12 of its target or the bracket is below 1e-12.
    """
    c = 1.01 * np.sqrt(1.0 / min(q[0], 1 - q[1]) - 1.0)
    aa, bb = np.concatenate([a, a]), np.concatenate([b, b])
    log_b = special.betaln(aa, bb)
    target = np.repeat(np.asarray(q, dtype=float), len(mean))
    mm, ss = np.concatenate([mean, mean]), np.concatenate([sd, sd])
    lo = np.clip(mm - c * ss, 0.0, 1.0)
    hi = np.clip(mm + c * ss, 0.0, 1.0)
    t = np.clip(mm + stats.norm.ppf(target) * ss, lo, hi)
    t = np.where((t > lo) & (t < hi), t, 0.5 * (lo + hi))
    for _ in range(100):
        f_t = special.betainc(aa, bb, t[:, None]) @ wt - target
        lo = np.where(f_t < 0, t, lo)
        hi = np.where(f_t < 0, hi, t)
        if np.all((np.abs(f_t) < 1e-12) | (hi - lo < 1e-12)):
            break
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            dens = (
                np.exp((aa - 1) * np.log(t[:, None]) + (bb - 1) * np.log1p(-t[:, None]) - log_b)
                @ wt
            )
            step = t - f_t / dens
        bad = ~np.isfinite(step) | (step < lo) | (step > hi)
        t = np.where(bad, 0.5 * (lo + hi), step)
    return t[: len(mean)], t[len(mean) :]


def shrink(
    scores: pd.DataFrame,
    *,
    unit: str = "agent_id",
    metric: str = "passed",
    confidence: float = 0.95,
    higher_is_better: bool = True,
) -> Shrinkage:
    """Hierarchical beta-binomial shrinkage of unit rates, for fair ranking.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation.
    unit : str
        Unit column (default ``agent_id``).
    metric : str
        Boolean column (``passed`` or ``critical_fail``); missing excluded.
    confidence : float
        Level of the equal-tailed posterior (credible) intervals; ``1 - confidence``
        is also the level of the test for between-unit variation.
    higher_is_better : bool
        Rank 1 goes to the highest shrunken rate (True) or the lowest.

    Returns
    -------
    Shrinkage
        ``table``: ``<unit>, n, events, raw_rate, shrunk_rate, shrunk_rate_ci_low,
        shrunk_rate_ci_high, rank, distinguishable``, best shrunken rate first. ``rank`` (nullable integer,
        ties share the best rank) orders the units by shrunken rate *only when
        the units are distinguishable*: when the between-unit variation is not
        distinguishable from chance (``distinguishable`` False for every unit),
        ``rank`` is <NA>, because any ordering would be noise; the rows are still
        sorted by shrunken rate. The result's fields hold the fitted population
        (``prior_mean``, ``prior_concentration`` = posterior median of M,
        ``prior_a``, ``prior_b``), the marginal maximum-likelihood fit
        (``mle_mean``, ``mle_concentration``, inf when the spread is no larger
        than binomial chance), the test (``overdispersion_lr``,
        ``overdispersion_p``, ``distinguishable``), ``fit`` (``"fitted"`` or why
        no population was fitted), ``method``, ``note`` and ``n_excluded``.

    Notes
    -----
    Each unit's rate :math:`\\theta_i \\sim \\mathrm{Beta}(\\mu M, (1-\\mu) M)` and
    :math:`x_i \\sim \\mathrm{Binomial}(n_i, \\theta_i)`. Plugging in the maximum
    marginal-likelihood :math:`(\\hat\\mu, \\hat M)` (empirical Bayes) understates
    the uncertainty: when the units differ no more than binomial chance,
    :math:`\\hat M \\to \\infty` and every unit's interval collapses onto the
    pooled rate, however few its audits. The hyperparameters are therefore
    integrated out, as in the hierarchical beta-binomial model of Gelman et al.
    (2013, section 5.3): with the hyperprior
    :math:`p(a, b) \\propto (a + b)^{-5/2}`, the posterior of
    :math:`(\\operatorname{logit}\\mu, \\log M)` is evaluated on a 41 x 41 grid
    (zoomed twice onto its mass; :math:`10^{-4} \\le M \\le 10^8`) and each
    unit's posterior is the mixture
    :math:`\\sum_k w_k\\,\\mathrm{Beta}(\\mu_k M_k + x_i, (1-\\mu_k) M_k + n_i - x_i)`.
    ``shrunk_rate`` is its mean,
    :math:`\\sum_k w_k \\{\\lambda_{ik} x_i/n_i + (1-\\lambda_{ik})\\mu_k\\}` with
    :math:`\\lambda_{ik} = n_i/(M_k + n_i)`: each term lies between the raw rate
    and a population mean, small units move most and large units converge to
    their raw rate. ``shrunk_rate_ci_low, shrunk_rate_ci_high`` are the mixture's quantiles. They widen
    with the plausible between-unit spread: a unit with 3 audits in a population
    that shows no extra-binomial spread still gets a wide interval (about 0.23
    for 42 agents with 2-8 audits each, where the plug-in interval was 0.001),
    because a spread the data cannot rule out is not assumed away. The quantiles
    are found by safeguarded Newton on the mixture cdf; against a 1000 x 1000
    grid they agree to about 1e-3 and the means to about 1e-6. Units sharing
    (events, n) are computed once; the cost grows with the number of distinct
    pairs (under a second for 200 agents).

    Whether units differ at all is tested by the likelihood ratio of the
    beta-binomial against the binomial (:math:`M = \\infty`), referred to the
    boundary mixture :math:`\\tfrac12\\chi^2_0 + \\tfrac12\\chi^2_1` (Self & Liang
    1987): ``overdispersion_p`` :math:`= \\tfrac12 P(\\chi^2_1 > LR)`. When it is
    not below ``1 - confidence`` the units are reported as not distinguishable
    and not ranked. With fewer than two units, all events 0 or all n (a
    boundary population), or no unit with both outcomes (e.g. one audit each:
    the spread is not identified and the posterior of M is improper near 0), no
    population is fitted: the raw rates are returned with Jeffreys intervals
    (quantiles of Beta(x + 1/2, n - x + 1/2), the lower limit 0 when x = 0 and
    the upper 1 when x = n, as in Brown, Cai & DasGupta 2001), no rank, and a note.

    References
    ----------
    .. [1] Gelman, A., Carlin, J. B., Stern, H. S., Dunson, D. B., Vehtari, A.,
       Rubin, D. B. (2013). *Bayesian Data Analysis*, 3rd ed., CRC Press,
       section 5.3 (hierarchical beta-binomial model, rat tumour example).
    .. [2] Efron, B., Morris, C. (1975). Data analysis using Stein's estimator and
       its generalizations. *JASA* 70, 311-319.
    .. [3] Morris, C. N. (1983). Parametric empirical Bayes inference: theory and
       applications. *JASA* 78, 47-55 (plug-in intervals are too narrow).
    .. [4] Self, S. G., Liang, K.-Y. (1987). Asymptotic properties of maximum
       likelihood estimators and likelihood ratio tests under nonstandard
       conditions. *JASA* 82, 605-610.
    .. [5] Griffiths, D. A. (1973). Maximum likelihood estimation for the
       beta-binomial distribution. *Biometrics* 29, 637-648.
    .. [6] Brown, L. D., Cai, T. T., DasGupta, A. (2001). Interval estimation for
       a binomial proportion. *Statistical Science* 16(2), 101-133.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"agent_id": ["a"] * 4 + ["b"] * 60 + ["c"] * 60 + ["d"] * 60,
    ...                   "passed": [True] * 4 + [True] * 54 + [False] * 6 + [True] * 36
    ...                             + [False] * 24 + [True] * 45 + [False] * 15})
    >>> r = shrink(s)
    >>> r.distinguishable, r.fit
    (True, 'fitted')
    >>> cols = ["agent_id", "n", "raw_rate", "shrunk_rate", "shrunk_rate_ci_low", "rank"]
    >>> r.table[cols].round(3)
      agent_id   n  raw_rate  shrunk_rate  shrunk_rate_ci_low  rank
    0        b  60      0.90        0.884               0.789     1
    1        a   4      1.00        0.865               0.579     2
    2        d  60      0.75        0.750               0.639     3
    3        c  60      0.60        0.616               0.491     4
    """
    g, n_excl = _unit_counts(scores, unit, metric)
    g = g.loc[g["n"] > 0].reset_index(drop=True)
    x = g["events"].to_numpy(dtype=float)
    n = g["n"].to_numpy(dtype=float)
    tot_x, tot_n = x.sum(), n.sum()
    lo_q, hi_q = 0.5 - confidence / 2, 0.5 + confidence / 2
    nan = float("nan")
    info: dict[str, Any] = dict(
        prior_a=nan,
        prior_b=nan,
        prior_mean=nan,
        prior_concentration=nan,
        mle_mean=nan,
        mle_concentration=nan,
        overdispersion_lr=nan,
        overdispersion_p=nan,
        distinguishable=False,
    )
    interior = int(np.sum((x > 0) & (x < n)))
    fit: ShrinkageFit = "fitted"
    if len(g) < 2 or tot_x in (0, tot_n) or interior == 0:
        if len(g) < 2:
            fit, note = "fewer than 2 units", "fewer than 2 units: no population fitted"
        elif tot_x in (0, tot_n):
            fit = "boundary"
            note = "every unit at the same boundary rate (all or none): no population fitted"
        else:
            fit = "no unit with both outcomes"
            note = (
                "no unit has both outcomes (every rate is 0 or 1): the between-unit spread "
                "cannot be estimated, no population fitted"
            )
        note += "; raw rates with Jeffreys intervals, not ranked"
        shrunk = _safe_div(x, n)
        # Jeffreys interval, with the limit at 0 / 1 when x = 0 / n (Brown et al. 2001)
        lo = np.where(x > 0, stats.beta.ppf(lo_q, x + 0.5, n - x + 0.5), 0.0)
        hi = np.where(x < n, stats.beta.ppf(hi_q, x + 0.5, n - x + 0.5), 1.0)
        method = "none (Jeffreys interval)"
        info["prior_mean"] = float(tot_x / tot_n) if tot_n else nan
    else:
        # units sharing (events, n) share a posterior: compute each distinct pair once
        pairs, inv, cnt = np.unique(
            np.column_stack([x, n]), axis=0, return_inverse=True, return_counts=True
        )
        inv = inv.ravel()
        ux, un, uw = pairs[:, 0], pairs[:, 1], cnt.astype(float)
        mle_mu, mle_m, ll1 = _beta_binom_mle(ux, un, uw)
        ll0 = float(
            np.sum(uw * (ux * np.log(tot_x / tot_n) + (un - ux) * np.log1p(-tot_x / tot_n)))
        )
        lr = max(2.0 * (ll1 - ll0), 0.0)
        p_od = float(0.5 * stats.chi2.sf(lr, 1)) if lr > 1e-9 else 1.0
        mu, m, wt = _hb_grid(ux, un, uw)
        a = mu * m + ux[:, None]
        b = (1 - mu) * m + (un - ux)[:, None]
        mean_k = a / (a + b)
        mean = mean_k @ wt
        var = (mean_k * (1 - mean_k) / (a + b + 1) + mean_k**2) @ wt - mean**2
        sd = np.sqrt(np.clip(var, 0.0, None))
        lo, hi = _mixture_quantiles(a, b, wt, (lo_q, hi_q), mean, sd)
        lo, hi = lo[inv], hi[inv]
        shrunk = mean[inv]
        m_sorted = np.argsort(m)
        m_med = float(m[m_sorted][np.searchsorted(np.cumsum(wt[m_sorted]), 0.5)])
        pm = float(mu @ wt)
        info.update(
            prior_a=pm * m_med,
            prior_b=(1 - pm) * m_med,
            prior_mean=pm,
            prior_concentration=m_med,
            mle_mean=mle_mu,
            mle_concentration=mle_m,
            overdispersion_lr=lr,
            overdispersion_p=p_od,
            distinguishable=bool(p_od < 1 - confidence),
        )
        method = "hierarchical beta-binomial, hyperparameters integrated on a grid"
        note = (
            ""
            if info["distinguishable"]
            else (
                "between-unit variation not distinguishable from chance (likelihood-ratio test "
                f"p = {p_od:.2g}): units are not ranked"
            )
        )
    g["raw_rate"] = _safe_div(x, n)
    g["shrunk_rate"] = shrunk
    g["shrunk_rate_ci_low"] = lo
    g["shrunk_rate_ci_high"] = hi
    key = pd.Series(-shrunk if higher_is_better else shrunk)
    rank = key.rank(method="min").astype("Int64") if len(g) else pd.Series(dtype="Int64")
    if not info["distinguishable"]:
        rank[:] = pd.NA
    g["rank"] = rank.array
    g["distinguishable"] = bool(info["distinguishable"])
    g["_key"] = key.to_numpy()
    g = g.sort_values(["_key", unit], kind="stable").reset_index(drop=True)
    cols = [
        unit,
        "n",
        "events",
        "raw_rate",
        "shrunk_rate",
        "shrunk_rate_ci_low",
        "shrunk_rate_ci_high",
        "rank",
        "distinguishable",
    ]
    return Shrinkage(
        table=g[cols],
        distinguishable=bool(info["distinguishable"]),
        overdispersion_p=float(info["overdispersion_p"]),
        overdispersion_lr=float(info["overdispersion_lr"]),
        prior_mean=float(info["prior_mean"]),
        prior_concentration=float(info["prior_concentration"]),
        prior_a=float(info["prior_a"]),
        prior_b=float(info["prior_b"]),
        mle_mean=float(info["mle_mean"]),
        mle_concentration=float(info["mle_concentration"]),
        fit=fit,
        method=method,
        note=note,
        n_excluded=n_excl,
    )


# ---------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------
def target_status(
    kpis: pd.DataFrame,
    targets: Mapping[str, Mapping[str, Any]],
    *,
    kpi: str = "kpi",
    value: str = "value",
    ci_low: str | None = None,
    ci_high: str | None = None,
) -> pd.DataFrame:
    """Each KPI against its target: met / at risk / missed, the gap, and whether it is clear.

    Parameters
    ----------
    kpis : DataFrame
        One row per KPI (and optionally per group: extra columns are kept) with
        ``kpi`` (name), ``value`` and the interval ``value_ci_low, value_ci_high``
        (NaN if unknown), e.g. ``pass_rate`` with its Wilson interval from
        :func:`qa_analysis.trends.aggregate`.
    targets : mapping
        ``{kpi_name: {"target": float, "direction": "min" | "max",
        "at_risk_margin": float (default 0)}}``. ``direction="min"``: the KPI must
        be at least the target (pass rate, score); ``"max"``: at most the target
        (critical-error rate).
    kpi, value : str
        Column names.
    ci_low, ci_high : str, optional
        Interval column names; default ``<value>_ci_low`` and ``<value>_ci_high``.

    Returns
    -------
    DataFrame
        ``kpis``' columns plus ``target, direction, gap, status, clear, note``.
        ``gap`` is signed so that positive is good: ``value - target`` for
        ``min``, ``target - value`` for ``max``. ``status`` is ``met`` when
        ``gap >= at_risk_margin``, ``at risk`` when ``0 <= gap < at_risk_margin``
        (meeting the target, but by less than the margin), and ``missed`` when
        ``gap < 0``. ``clear`` is True when the target lies outside the KPI's
        interval, i.e. the gap is larger than the KPI's own uncertainty, False
        when the interval contains the target, and <NA> without an interval.
        KPIs without a target (or without a value) get a missing status and a note.

    Notes
    -----
    Separating the status (a point estimate against the target) from ``clear``
    (the estimate's uncertainty) avoids reacting to a miss that is within the
    noise of a small sample.

    References
    ----------
    .. [1] Doerr, J. (2018). *Measure What Matters*, Portfolio (OKR scoring and
       at-risk key results).
    .. [2] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
       performance. *Statistics in Medicine* 24(8), 1185-1202 (judging a
       measure against a target with its uncertainty).

    Examples
    --------
    >>> import pandas as pd
    >>> k = pd.DataFrame({"kpi": ["pass_rate", "critical_rate"], "value": [0.83, 0.04],
    ...                   "value_ci_low": [0.80, 0.03], "value_ci_high": [0.86, 0.05]})
    >>> t = {"pass_rate": {"target": 0.80, "direction": "min", "at_risk_margin": 0.05},
    ...      "critical_rate": {"target": 0.02, "direction": "max"}}
    >>> target_status(k, t)[["kpi", "gap", "status", "clear"]].round(2)
                 kpi   gap   status  clear
    0      pass_rate  0.03  at risk  False
    1  critical_rate -0.02   missed   True
    """
    _require(kpis, [kpi, value], "kpis")
    ci_low = f"{value}_ci_low" if ci_low is None else ci_low
    ci_high = f"{value}_ci_high" if ci_high is None else ci_high
    if not isinstance(targets, Mapping):
        raise TypeError("targets must be a mapping kpi -> {target, direction, at_risk_margin}")
    spec = {}
    for name, t in targets.items():
        if not isinstance(t, Mapping) or "target" not in t:
            raise ValueError(f"targets[{name!r}] must be a mapping with a 'target'")
        direction = t.get("direction", "min")
        if direction not in ("min", "max"):
            raise ValueError(
                f"targets[{name!r}]: direction must be 'min' or 'max', got {direction!r}"
            )
        margin = float(t.get("at_risk_margin", 0.0))
        if margin < 0:
            raise ValueError(f"targets[{name!r}]: at_risk_margin must be >= 0, got {margin}")
        spec[name] = (float(t["target"]), direction, margin)
    out = kpis.copy()
    table = pd.DataFrame.from_dict(spec, orient="index", columns=["target", "direction", "margin"])
    pos = table.index.get_indexer(pd.Index(out[kpi].astype(object)))
    has = pos >= 0
    take = np.maximum(pos, 0)
    tgt = np.where(
        has, table["target"].to_numpy(dtype=float)[take] if len(table) else np.nan, np.nan
    )
    dirn = np.where(
        has, table["direction"].to_numpy(dtype=object)[take] if len(table) else None, None
    )
    margins = np.where(
        has, table["margin"].to_numpy(dtype=float)[take] if len(table) else np.nan, np.nan
    )
    v = out[value].to_numpy(dtype=float)
    sign = np.where(dirn == "max", -1.0, 1.0)
    gap = sign * (v - tgt)
    status = np.where(gap < 0, "missed", np.where(gap < margins, "at risk", "met")).astype(object)
    status[~has | np.isnan(gap)] = pd.NA
    lo = out[ci_low].to_numpy(dtype=float) if ci_low in out else np.full(len(out), np.nan)
    hi = out[ci_high].to_numpy(dtype=float) if ci_high in out else np.full(len(out), np.nan)
    known = has & ~np.isnan(lo) & ~np.isnan(hi)
    clear = pd.array(np.where(known, (tgt < lo) | (tgt > hi), False), dtype="boolean")
    clear[~known] = pd.NA
    notes = np.full(len(out), "", dtype=object)
    notes[~has] = "no target"
    notes[has & np.isnan(v)] = "no value"
    notes[has & ~np.isnan(v) & ~known] = "no interval"
    out["target"] = tgt
    out["direction"] = dirn
    out["gap"] = gap
    out["status"] = status
    out["clear"] = clear
    out["note"] = notes
    return out


# ---------------------------------------------------------------------------
# QA score vs CSAT
# ---------------------------------------------------------------------------
def csat_link(
    scores: pd.DataFrame,
    *,
    by: str | Iterable[str] = (),
    score: str = "score",
    csat: str = "csat",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Spearman correlation of QA score with CSAT per group, with a Fisher-z CI.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation with ``score`` and ``csat`` (NaN = no survey).
    by : str or iterable of str
        Grouping columns.
    score, csat : str
        Column names.
    confidence : float
        Level of the interval.

    Returns
    -------
    DataFrame
        ``<by...>, n, n_missing_csat, n_missing_score, rho, rho_ci_low,
        rho_ci_high, p_value, note``: ``n`` complete pairs; evaluations without CSAT or without
        a score are excluded and counted.

    Notes
    -----
    rho is Pearson's correlation of the within-group mid-ranks (ties averaged),
    computed for all groups at once. The interval is
    :math:`\\tanh(\\operatorname{atanh}\\rho \\pm z_{1-\\alpha/2}\\,\\mathrm{SE})` with
    the Bonett-Wright standard error :math:`\\mathrm{SE} = \\sqrt{(1 + \\rho^2/2)/(n-3)}`
    (needs n >= 4). The p-value is the t approximation used by
    ``scipy.stats.spearmanr``: :math:`t = \\rho\\sqrt{(n-2)/(1-\\rho^2)}` on n - 2 df.
    A group with fewer than 3 pairs or without variation in either variable gets
    NaN and a note.

    References
    ----------
    .. [1] Bonett, D. G., Wright, T. A. (2000). Sample size requirements for
       estimating Pearson, Kendall and Spearman correlations. *Psychometrika*
       65(1), 23-28.
    .. [2] Fieller, E. C., Hartley, H. O., Pearson, E. S. (1957). Tests for rank
       correlation coefficients. I. *Biometrika* 44, 470-481.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"score": [60, 70, 80, 90, 95, 50.0], "csat": [2, 3, 3, 5, 4, None]})
    >>> r = csat_link(s)
    >>> int(r.loc[0, "n"]), int(r.loc[0, "n_missing_csat"]), round(float(r.loc[0, "rho"]), 4)
    (5, 1, 0.8721)
    """
    by = _as_list(by)
    _require(scores, [*by, score, csat])
    x = _float(scores[score])
    y = _float(scores[csat])
    gcode, keys = _group_codes(scores, by)
    n_groups = max(len(keys), 1 if not by else 0)
    ok = ~np.isnan(x) & ~np.isnan(y)
    miss_c = np.bincount(gcode, weights=~np.isnan(x) & np.isnan(y), minlength=n_groups)
    miss_s = np.bincount(gcode, weights=np.isnan(x), minlength=n_groups)
    f = pd.DataFrame({"g": gcode[ok], "x": x[ok], "y": y[ok]})
    grp = f.groupby("g", sort=False)
    f["rx"] = grp["x"].rank(method="average")
    f["ry"] = grp["y"].rank(method="average")
    f["dx"] = f["rx"] - grp["rx"].transform("mean")
    f["dy"] = f["ry"] - grp["ry"].transform("mean")
    gc = f["g"].to_numpy()
    n = np.bincount(gc, minlength=n_groups).astype(float)
    sxy = np.bincount(gc, weights=f["dx"] * f["dy"], minlength=n_groups)
    sxx = np.bincount(gc, weights=f["dx"] ** 2, minlength=n_groups)
    syy = np.bincount(gc, weights=f["dy"] ** 2, minlength=n_groups)
    den = np.sqrt(sxx * syy)
    defined = (n >= 3) & (den > 1e-12 * np.maximum(n, 1) ** 2)
    rho = np.where(defined, np.clip(_safe_div(sxy, np.where(defined, den, 1)), -1, 1), np.nan)
    zc = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        ci_ok = defined & (n >= 4) & (np.abs(rho) < 1)
        zr = np.arctanh(np.where(ci_ok, rho, 0.0))
        se = np.sqrt((1 + np.where(ci_ok, rho, 0.0) ** 2 / 2) / np.where(ci_ok, n - 3, 1))
        lo = np.where(ci_ok, np.tanh(zr - zc * se), np.nan)
        hi = np.where(ci_ok, np.tanh(zr + zc * se), np.nan)
        lo = np.where(defined & (np.abs(rho) == 1) & (n >= 4), rho, lo)
        hi = np.where(defined & (np.abs(rho) == 1) & (n >= 4), rho, hi)
        t_ok = defined & (np.abs(rho) < 1)
        tstat = np.where(t_ok, rho * np.sqrt(np.where(t_ok, (n - 2) / (1 - rho**2), 0)), 0)
        pv = np.where(t_ok, 2 * stats.t.sf(np.abs(tstat), np.where(t_ok, n - 2, 1)), np.nan)
        pv = np.where(defined & (np.abs(rho) == 1), 0.0, pv)
    notes = np.full(n_groups, "", dtype=object)
    notes[n < 3] = "fewer than 3 evaluations with both score and CSAT"
    notes[(n >= 3) & ~defined] = "no variation in score or CSAT"
    notes[defined & (n < 4)] = "interval needs at least 4 pairs"
    out = keys.copy() if by else pd.DataFrame(index=range(n_groups))
    out["n"] = n.astype(np.int64)
    out["n_missing_csat"] = miss_c.astype(np.int64)
    out["n_missing_score"] = miss_s.astype(np.int64)
    out["rho"] = rho
    out["rho_ci_low"] = lo
    out["rho_ci_high"] = hi
    out["p_value"] = pv
    out["note"] = notes
    return out.reset_index(drop=True)
