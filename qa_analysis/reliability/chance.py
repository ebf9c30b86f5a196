"""The chance-corrected family: Gwet's AC1/AC2, Brennan-Prediger, Fleiss, percent agreement.

All share one feature set per rating pattern (observed agreement and category
shares) and differ only in the chance term ``p_e``; formulas as in irrCAC.

References
----------
.. [1] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.).
   Advanced Analytics, LLC.
.. [2] Fleiss, J. L. (1971). Measuring nominal scale agreement among many
   raters. Psychological Bulletin, 76(5), 378-382.
.. [3] Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses,
   misuses, and alternatives. Educational and Psychological Measurement, 41,
   687-699.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from qa_analysis.reliability._engine import (
    Agreement,
    Weights,
    _agree_weights,
    _agreement,
    _Block,
    _block,
    _div,
    _fill_common,
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

__all__ = [
    "brennan_prediger",
    "fleiss_kappa",
    "fleiss_kappa_by_category",
    "gwet_ac",
    "percent_agreement",
]


def _agreement_features(b: _Block, Wt: np.ndarray) -> np.ndarray | sparse.csr_matrix:
    """[pairable, p_a contribution, rated, category shares (C)] per pattern."""
    N = b.counts
    m = _row_sums(N)
    pair = (m >= 2).astype(float)
    if b.dense:
        agree = np.einsum("pi,ij,pj->p", N, Wt, N) - m
        shares = N * _div(1.0, m)[:, None]
    else:
        row, ca, cb, na, nb, _ = _pairs(N)
        agree = np.bincount(row, weights=na * nb * Wt[ca, cb], minlength=N.shape[0]) - m
        shares = sparse.csr_matrix(sparse.csr_matrix(N).multiply(_div(1.0, m)[:, None]))
    a = np.where(m >= 2, _div(agree, m * (m - 1)), 0.0)
    head = np.column_stack([pair, a, (m >= 1).astype(float)])
    if b.dense:
        return np.hstack([head, shares])
    return sparse.hstack([sparse.csr_matrix(head), shares], format="csr")


def _chance_finisher(kind: str, Wt: np.ndarray) -> Finisher:
    """Finisher: totals -> (coefficient, p_a, p_e) for Gwet, BP, Fleiss or percent."""
    q = Wt.shape[0]
    tw = Wt.sum()

    def fin(T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pa = _div(T[:, 1], T[:, 0])
        pi = T[:, 3:] * _div(1.0, T[:, 2])[:, None]
        if kind == "percent":
            return pa, pa, np.full(pa.shape, np.nan)
        if kind == "gwet":
            pe = (
                tw * (pi * (1 - pi)).sum(axis=1) / (q * (q - 1))
                if q > 1
                else np.full(pa.shape, np.nan)
            )
        elif kind == "bp":
            pe = np.full(pa.shape, tw / q**2 if q else np.nan)
        else:  # fleiss
            pe = np.einsum("bi,ij,bj->b", pi, Wt, pi)
        pe = np.where(np.abs(1 - pe) < 1e-12, 1.0, pe)
        return _div(pa - pe, 1 - pe), pa, pe

    return fin


_CHANCE_NAMES = {
    "gwet": "gwet_ac",
    "bp": "brennan_prediger",
    "fleiss": "fleiss_kappa",
    "percent": "percent_agreement",
}


def _chance_note(
    r: _Ratings, b: _Block, kind: str, est: float, pe: float, coef: str
) -> tuple[int, str]:
    """Pairable ratings and why the coefficient is undefined (empty when defined)."""
    n_pair, codes = _pairable(b)
    if r.n_units == 0:
        return 0, f"no ratings, {coef} undefined"
    if n_pair == 0:
        return 0, f"no pairable ratings: no unit has two or more ratings, {coef} undefined"
    if np.isfinite(est):
        return n_pair, ""
    if r.n_cats < 2 and kind in ("gwet", "bp"):
        return n_pair, f"only one category on the scale, {coef} undefined (pass categories=)"
    if pe == 1:
        return n_pair, (
            _single_category_note(r, codes, coef).replace(
                "no variation", "chance agreement is 1 (no variation)"
            )
        )
    return n_pair, f"{coef} undefined"


def _chance_coef(
    kind: str,
    data: pd.DataFrame,
    weights: Any,
    unit: str,
    rater: str,
    value: str,
    categories: Any,
    confidence: float | None,
    n_boot: int | None,
    seed: Seed,
    bootstrap: BootstrapMethod,
) -> Agreement:
    """One chance-corrected coefficient (``kind``) with its interval and note."""
    n_boot = _n_boot(n_boot)
    numeric = isinstance(weights, str) and weights in ("linear", "quadratic")
    r = _prepare(data, unit, rater, value, categories, numeric=numeric, what=f"weights={weights!r}")
    b = _block(r)
    Wt, wname = _agree_weights(weights, r)
    res = _estimate(
        [(_agreement_features(b, Wt), _chance_finisher(kind, Wt))],
        b.mult,
        b.inv,
        b.n_units,
        confidence,
        n_boot,
        seed,
        bootstrap,
    )[0]
    name = _CHANCE_NAMES[kind]
    if kind == "gwet":
        name = "gwet_ac1" if weights is None else f"gwet_ac2 ({wname})"
    elif weights is not None:
        name = f"{name} ({wname})"
    n_pair, note = _chance_note(r, b, kind, res[0], res[2], name)
    return _agreement(name, r, res, n_pair, note)


def gwet_ac(
    data: pd.DataFrame,
    *,
    weights: Weights | np.ndarray | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    bootstrap: BootstrapMethod = "auto",
) -> Agreement:
    """Gwet's AC1 (unweighted) or AC2 (weighted), any number of raters, missing allowed.

    Parameters
    ----------
    data : DataFrame
        Long table of ratings.
    weights : None, "linear", "quadratic", "ordinal" or (C x C) array
        Agreement weights; linear/quadratic use category *values*
        (``1 - |v_k - v_l| / (v_max - v_min)`` and its square), ordinal the
        rank-based weights of irrCAC.
    {common}

    Returns
    -------
    Agreement
        ``observed`` is ``p_a``, ``expected`` is ``p_e``.

    Notes
    -----
    As irrCAC's ``gwet.ac1.raw``: with ``r_uk`` raters putting unit ``u`` in
    category ``k``, ``r*_uk = sum_l w_kl r_ul`` and ``r_u = sum_k r_uk``,
    ``p_a = mean over units with r_u >= 2 of sum_k r_uk (r*_uk - 1) / (r_u (r_u - 1))``,
    ``pi_k = mean over rated units of r_uk / r_u``,
    ``p_e = sum(w) / (q (q - 1)) * sum_k pi_k (1 - pi_k)`` with ``q`` categories,
    ``AC = (p_a - p_e) / (1 - p_e)``. Robust to the "kappa paradox" of skewed
    categories.

    References
    ----------
    .. [1] Gwet, K. L. (2008). Computing inter-rater reliability and its variance
       in the presence of high agreement. British Journal of Mathematical and
       Statistical Psychology, 61, 29-48.
    .. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2, 3, 3, 4, 4],
    ...                    "rater_id": ["a", "b"] * 4,
    ...                    "score": [1, 1, 1, 1, 1, 0, 0, 0]})
    >>> round(gwet_ac(df, confidence=None).estimate, 3)
    0.529
    """
    return _chance_coef(
        "gwet", data, weights, unit, rater, value, categories, confidence, n_boot, seed, bootstrap
    )


def brennan_prediger(
    data: pd.DataFrame,
    *,
    weights: Weights | np.ndarray | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    bootstrap: BootstrapMethod = "auto",
) -> Agreement:
    """Brennan-Prediger coefficient (uniform chance agreement), any number of raters.

    Parameters
    ----------
    data : DataFrame
        Long table of ratings.
    weights : None, "linear", "quadratic", "ordinal" or array
        Agreement weights as in :func:`gwet_ac`.
    {common}

    Returns
    -------
    Agreement

    Notes
    -----
    ``p_a`` as in :func:`gwet_ac`; ``p_e = sum(w) / q^2`` (``1/q`` unweighted),
    ``BP = (p_a - p_e) / (1 - p_e)`` (irrCAC ``bp.coeff.raw``).

    References
    ----------
    .. [1] Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses,
       misuses, and alternatives. Educational and Psychological Measurement, 41, 687-699.
    .. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2], "rater_id": ["a", "b"] * 2,
    ...                    "score": [1, 1, 0, 1]})
    >>> brennan_prediger(df, confidence=None).estimate
    0.0
    """
    return _chance_coef(
        "bp", data, weights, unit, rater, value, categories, confidence, n_boot, seed, bootstrap
    )


def fleiss_kappa(
    data: pd.DataFrame,
    *,
    weights: Weights | np.ndarray | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    bootstrap: BootstrapMethod = "auto",
) -> Agreement:
    """Fleiss' kappa, generalised to unequal numbers of raters per unit (Gwet 2014).

    Parameters
    ----------
    data : DataFrame
        Long table of ratings.
    weights : None, "linear", "quadratic", "ordinal" or array
        Optional agreement weights (irrCAC ``fleiss.kappa.raw``).
    {common}

    Returns
    -------
    Agreement

    Notes
    -----
    The generalised form of irrCAC's ``fleiss.kappa.raw``: ``p_a`` as in
    :func:`gwet_ac` (mean over units rated at least twice of the share of
    agreeing rater pairs), ``pi_k`` = mean over units of ``r_uk / r_u``,
    ``p_e = sum_kl w_kl pi_k pi_l``. With the same number of raters on every
    unit this is exactly Fleiss (1971) (and ``statsmodels``' ``fleiss_kappa``).

    References
    ----------
    .. [1] Fleiss, J. L. (1971). Measuring nominal scale agreement among many
       raters. Psychological Bulletin, 76(5), 378-382.
    .. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 2.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 1, 2, 2, 2], "rater_id": list("abcabc"),
    ...                    "score": [1, 1, 1, 0, 0, 1]})
    >>> round(fleiss_kappa(df, confidence=None).estimate, 3)
    0.25
    """
    return _chance_coef(
        "fleiss", data, weights, unit, rater, value, categories, confidence, n_boot, seed, bootstrap
    )


def percent_agreement(
    data: pd.DataFrame,
    *,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    bootstrap: BootstrapMethod = "auto",
) -> Agreement:
    """Pairwise percent agreement: the share of agreeing rater pairs, averaged over units.

    Parameters
    ----------
    data : DataFrame
        Long table of ratings.
    {common}

    Returns
    -------
    Agreement
        ``observed`` equals ``estimate``; ``expected`` is NaN.

    Notes
    -----
    ``p_a = mean over units with r_u >= 2 of sum_k r_uk (r_uk - 1) / (r_u (r_u - 1))``:
    Gwet's observed agreement (with two raters, the share of units on which
    they agree). Not chance-corrected.

    References
    ----------
    .. [1] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 2.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2], "rater_id": ["a", "b"] * 2,
    ...                    "score": [1, 1, 0, 1]})
    >>> percent_agreement(df, confidence=None).estimate
    0.5
    """
    return _chance_coef(
        "percent", data, None, unit, rater, value, categories, confidence, n_boot, seed, bootstrap
    )


_fill_common(gwet_ac, brennan_prediger, fleiss_kappa, percent_agreement)


def fleiss_kappa_by_category(
    data: pd.DataFrame,
    *,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Fleiss' per-category kappas (agreement on each category versus the rest).

    Parameters
    ----------
    data : DataFrame
        Long table of ratings.
    unit, rater, value : str
        Column names.
    categories : sequence, optional
        The full scale (unused categories get NaN).

    Returns
    -------
    DataFrame
        One row per category: ``category``, ``share`` (``pi_j``), ``kappa``.

    Notes
    -----
    ``kappa_j = 1 - sum_u r_uj (r_u - r_uj) / (r_u (r_u - 1)) / (n' pi_j (1 - pi_j))``
    over the ``n'`` units rated at least twice; with equal ``r_u`` this is
    Fleiss (1971, eq. 13) as printed by R ``irr::kappam.fleiss(detail=TRUE)``.

    References
    ----------
    .. [1] Fleiss, J. L. (1971). Measuring nominal scale agreement among many
       raters. Psychological Bulletin, 76(5), 378-382.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 1, 2, 2, 2], "rater_id": list("abcabc"),
    ...                    "score": [1, 1, 1, 0, 0, 1]})
    >>> fleiss_kappa_by_category(df)["kappa"].round(3).tolist()
    [0.25, 0.25]
    """
    r = _prepare(data, unit, rater, value, categories)
    if r.n_cats == 0:
        return pd.DataFrame({"category": [], "share": [], "kappa": []})
    b = _block(r)
    N = np.asarray(b.counts) if b.dense else sparse.csr_matrix(b.counts).toarray()
    m = N.sum(axis=1)
    ok = m >= 2
    w = b.mult * ok
    pi = _div((b.mult[:, None] * N * _div(1.0, m)[:, None]).sum(0), b.mult.sum())
    dis = (w[:, None] * _div(N * (m[:, None] - N), (m * (m - 1))[:, None])).sum(0)
    kappa = 1 - _div(dis, w.sum() * pi * (1 - pi))
    return pd.DataFrame({"category": r.cats, "share": pi, "kappa": kappa})
