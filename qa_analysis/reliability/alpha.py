"""Krippendorff's alpha at the four levels of measurement.

References
----------
.. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
   Annenberg School for Communication, University of Pennsylvania.
.. [2] Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a
   standard reliability measure for coding data. Communication Methods and
   Measures, 1(1), 77-89.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from qa_analysis.reliability import _engine as _e
from qa_analysis.reliability._engine import (
    LEVELS,
    Agreement,
    Level,
    _agreement,
    _Block,
    _block,
    _data_error,
    _delta,
    _div,
    _pairable,
    _pairs,
    _prepare,
    _Ratings,
    _row_sums,
    _single_category_note,
)
from qa_analysis.reliability.bootstrap import (
    BootstrapMethod,
    Finisher,
    Seed,
    _estimate,
    _n_boot,
)

__all__ = ["krippendorff_alpha"]


def _alpha_features(b: _Block) -> np.ndarray | sparse.csr_matrix:
    """Per-pattern contributions to the coincidence matrix, flattened (P x C*C)."""
    C = b.n_cats
    m = _row_sums(b.counts)
    w = np.where(m >= 2, _div(1.0, m - 1), 0.0)
    if b.dense and b.counts.shape[0] * C * C <= _e._DENSE_FEATURES:
        N = b.counts
        coin = N[:, :, None] * N[:, None, :]
        idx = np.arange(C)
        coin[:, idx, idx] -= N
        coin *= w[:, None, None]
        return coin.reshape(N.shape[0], C * C)
    row, ca, cb, na, nb, same = _pairs(b.counts)
    val = (na * nb - same * na) * w[row]
    keep = val != 0
    return sparse.csr_matrix(
        (val[keep], (row[keep], ca[keep] * C + cb[keep])), shape=(b.counts.shape[0], C * C)
    )


def _alpha_finisher(level: str, cats: np.ndarray, C: int) -> Finisher:
    """Finisher: coincidence totals -> (alpha, D_o, D_e) per row."""
    fixed = None
    if level != "ordinal":
        # no categories at all (empty or all-missing input): C is padded to 1 and
        # every total is 0, so any C-vector of values gives the NaN estimate
        numeric = level != "nominal" and len(cats) == C
        v = np.asarray(cats, dtype=float) if numeric else np.zeros(C)
        fixed = _delta(level, v)

    def fin(T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        coin = T.reshape(-1, C, C)
        nc = coin.sum(axis=2)
        n = nc.sum(axis=1)
        if fixed is None:
            R = np.cumsum(nc, axis=1) - nc / 2
            D = (R[:, :, None] - R[:, None, :]) ** 2
            do = np.einsum("bij,bij->b", coin, D)
            de = np.einsum("bi,bij,bj->b", nc, D, nc)
        else:
            do = T @ fixed.ravel()
            de = np.einsum("bi,ij,bj->b", nc, fixed, nc)
        tiny = 1e-12 * np.maximum(de, 0).max(initial=0.0)
        de = np.where(de > tiny, de, 0.0)
        est = 1 - (n - 1) * _div(do, de)
        est = np.where(n > 1, est, np.nan)
        return est, _div(do, n), _div(de, n * (n - 1))

    return fin


def krippendorff_alpha(
    data: pd.DataFrame,
    *,
    level: Level = "nominal",
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    bootstrap: BootstrapMethod = "auto",
) -> Agreement:
    """Krippendorff's alpha for any number of raters, with missing ratings.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per rating (unit, rater, value). NaN value = missing.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement, which sets the difference function.
    unit, rater, value : str
        Column names.
    categories : sequence, optional
        The full scale (unused levels are harmless for alpha but validate the data).
    confidence : float or None
        Confidence level of the bootstrap percentile interval; None for none.
    n_boot : int, optional
        Number of bootstrap resamples (units resampled with replacement);
        default ``thresholds.n_boot`` of ``params/defaults.yaml`` (1000).
    seed : int, Generator or None
        Seed of the bootstrap; same seed, same interval.
    bootstrap : {"auto", "patterns", "units"}
        Resampling implementation (see the module notes); both resample units.

    Returns
    -------
    Agreement
        ``observed``/``expected`` are the disagreements ``D_o``/``D_e``.

    Notes
    -----
    With the coincidence matrix
    ``o_ck = sum_u (n_uc n_uk - [c=k] n_uc) / (m_u - 1)`` over units with
    ``m_u >= 2`` ratings, ``n_c = sum_k o_ck`` and ``n = sum_c n_c``,
    ``alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck``. Differences
    ``d_ck``: nominal ``[c != k]``; ordinal ``(sum_{g=c..k} n_g - (n_c + n_k)/2)^2``,
    computed as the squared difference of mid-ranks ``cumsum(n)_c - n_c / 2``;
    interval ``(v_c - v_k)^2``; ratio ``((v_c - v_k)/(v_c + v_k))^2``.
    The coincidence matrix is a matrix product over unit patterns; no
    ``units x values x values`` tensor is built.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
       University of Pennsylvania.
    .. [2] Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a
       standard reliability measure for coding data. Communication Methods and
       Measures, 1(1), 77-89 (bootstrap of alpha).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2, 3, 3, 4, 4],
    ...                    "rater_id": ["a", "b"] * 4,
    ...                    "score": [1, 1, 2, 2, 3, 2, 1, 1]})
    >>> round(krippendorff_alpha(df, level="ordinal", confidence=None).estimate, 3)
    0.9
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    n_boot = _n_boot(n_boot)
    r = _prepare(
        data, unit, rater, value, categories, numeric=level != "nominal", what=f"{level} alpha"
    )
    if level == "ratio" and r.n_cats and np.asarray(r.cats, float).min() < 0:
        raise _data_error(f"ratio alpha needs non-negative values in column {value!r}")
    b = _block(r)
    return _alpha_from(r, b, level, confidence, n_boot, seed, bootstrap)


def _alpha_stat(r: _Ratings, b: _Block, level: str) -> tuple[Any, Finisher]:
    """Features and finisher of alpha: coincidence contributions, or compact sums."""
    C = b.n_cats
    if level == "ordinal" or (b.dense and b.counts.shape[0] * C * C <= _e._DENSE_FEATURES):
        return _alpha_features(b), _alpha_finisher(level, r.cats, C)
    return _alpha_compact(r, b, level)


def _alpha_compact(r: _Ratings, b: _Block, level: str) -> tuple[Any, Finisher]:
    """Compact per-unit features for fixed-metric levels with many categories.

    Interval: ``[d_u, m_u, S1_u, S2_u]`` with ``d_u = 2 (m S2 - S1^2) / (m - 1)``
    (sums of centred values), so ``D_e`` is ``2 (n sum S2 - (sum S1)^2)``.
    Nominal and ratio: ``[d_u, n_u1..n_uC]`` with ``d_u = n_u' delta n_u / (m_u - 1)``
    and ``D_e = n' delta n``.
    """
    N = b.counts
    m = _row_sums(N)
    pair = m >= 2
    w = np.where(pair, _div(1.0, m - 1), 0.0)
    if level == "interval":
        v = np.asarray(r.cats, dtype=float) if r.n_cats == b.n_cats else np.zeros(b.n_cats)
        v = v - v.mean()
        S1 = np.asarray(N @ v).ravel()
        S2 = np.asarray(N @ (v * v)).ravel()
        d = 2 * (m * S2 - S1 * S1) * w
        F = np.column_stack([d, m * pair, S1 * pair, S2 * pair])

        def fin_i(T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            do, n = T[:, 0], T[:, 1]
            de = 2 * (n * T[:, 3] - T[:, 2] ** 2)
            de = np.where(de > 1e-12 * np.abs(n * T[:, 3]), de, 0.0)
            est = np.where(n > 1, 1 - (n - 1) * _div(do, de), np.nan)
            return est, _div(do, n), _div(de, n * (n - 1))

        return F, fin_i
    numeric = level != "nominal" and r.n_cats == b.n_cats
    v = np.asarray(r.cats, dtype=float) if numeric else np.zeros(b.n_cats)
    D = _delta(level, v)
    row, ca, cb, na, nb, _ = _pairs(N)
    d = np.bincount(row, weights=na * nb * D[ca, cb], minlength=N.shape[0]) * w
    Np = sparse.csr_matrix(N).multiply(pair[:, None].astype(float))
    F = sparse.hstack([sparse.csr_matrix(d[:, None]), sparse.csr_matrix(Np)], format="csr")

    def fin(T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        do, nc = T[:, 0], T[:, 1:]
        n = nc.sum(axis=1)
        de = np.einsum("bi,ij,bj->b", nc, D, nc)
        de = np.where(de > 1e-12 * np.maximum(de, 0).max(initial=0.0), de, 0.0)
        est = np.where(n > 1, 1 - (n - 1) * _div(do, de), np.nan)
        return est, _div(do, n), _div(de, n * (n - 1))

    return F, fin


def _alpha_note(r: _Ratings, b: _Block, est: float, coef: str = "alpha") -> tuple[int, str]:
    """Pairable ratings and why alpha is undefined (empty when it is defined)."""
    n_pair, codes = _pairable(b)
    if r.n_units == 0:
        return 0, f"no ratings, {coef} undefined"
    if n_pair == 0:
        return 0, f"no pairable ratings: no unit has two or more ratings, {coef} undefined"
    if not np.isfinite(est):
        return n_pair, _single_category_note(r, codes, coef)
    return n_pair, ""


def _alpha_from(
    r: _Ratings,
    b: _Block,
    level: Level,
    confidence: float | None,
    n_boot: int,
    seed: Seed,
    bootstrap: BootstrapMethod,
) -> Agreement:
    """Alpha of prepared ratings, with its interval and note."""
    res = _estimate(
        [_alpha_stat(r, b, level)], b.mult, b.inv, b.n_units, confidence, n_boot, seed, bootstrap
    )[0]
    n_pair, note = _alpha_note(r, b, res[0])
    return _agreement(f"krippendorff_alpha ({level})", r, res, n_pair, note)
