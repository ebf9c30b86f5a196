"""Cohen's kappa for two raters, unweighted or weighted by category value.

References
----------
.. [1] Cohen, J. (1960). A coefficient of agreement for nominal scales.
   Educational and Psychological Measurement, 20, 37-46.
.. [2] Cohen, J. (1968). Weighted kappa. Psychological Bulletin, 70(4), 213-220.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_analysis.reliability._engine import (
    Agreement,
    _agreement,
    _check_columns,
    _data_error,
    _div,
    _fill_common,
    _fmt,
    _int_codes,
    _join,
    _prepare,
    _show,
    _values,
)
from qa_analysis.reliability.bootstrap import BootstrapMethod, _check_ci, _estimate, _n_boot

__all__ = ["cohen_kappa"]


def cohen_kappa(
    data: pd.DataFrame,
    *,
    weights: Literal["linear", "quadratic"] | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    bootstrap: BootstrapMethod = "auto",
) -> Agreement:
    """Cohen's kappa for exactly two raters (optionally weighted by category value).

    Parameters
    ----------
    data : DataFrame
        Long table with exactly two distinct raters; units not rated by both
        are dropped (counted in ``note``).
    weights : None, "linear" or "quadratic"
        Disagreement weights ``|v_i - v_j|`` or ``(v_i - v_j)^2`` by category
        *value* (scikit-learn uses label position; the two agree on
        consecutive integer scales).
    {common}

    Returns
    -------
    Agreement
        ``observed``/``expected``: weighted observed and chance agreement.

    Notes
    -----
    With the joint proportions ``p_ij`` and marginals ``p_i.``, ``p_.j``,
    ``kappa = 1 - sum d_ij p_ij / sum d_ij p_i. p_.j``. The bootstrap resamples
    units; a resample is a multinomial draw over the cells of the two-way table.

    References
    ----------
    .. [1] Cohen, J. (1960). A coefficient of agreement for nominal scales.
       Educational and Psychological Measurement, 20, 37-46.
    .. [2] Cohen, J. (1968). Weighted kappa. Psychological Bulletin, 70(4), 213-220.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2, 3, 3, 4, 4],
    ...                    "rater_id": ["a", "b"] * 4,
    ...                    "score": [1, 1, 1, 1, 1, 0, 0, 0]})
    >>> round(cohen_kappa(df, confidence=None).estimate, 3)
    0.5
    """
    _check_columns(data, {"unit": unit, "rater": rater, "value": value})
    n_boot = _n_boot(n_boot)
    raters = pd.unique(data[rater].dropna())
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    if len(data) == 0:
        _check_ci(confidence, n_boot)
        name = "cohen_kappa" if weights is None else f"cohen_kappa ({weights})"
        return Agreement(name, math.nan, note="no ratings, kappa undefined")
    if len(raters) != 2:
        raise _data_error(
            f"cohen_kappa needs exactly two raters in column {rater!r}; found {len(raters)}: "
            f"{_show(raters, 10)} (use fleiss_kappa, gwet_ac or krippendorff_alpha for more)"
        )
    numeric = weights is not None
    r = _prepare(data, unit, rater, value, categories, numeric=numeric, what=f"weights={weights!r}")
    C = max(r.n_cats, 1)
    # raters in order of first appearance (r.rater_labels is the compacted order)
    pos = {lab: i for i, lab in enumerate(raters)}
    rcode = (
        np.array([pos[x] for x in r.rater_labels], dtype=np.int64)[r.rater]
        if r.unit.size
        else r.rater
    )
    x = np.full((r.n_units, 2), -1, np.int64)
    x[r.unit, rcode] = r.code
    both = (x >= 0).all(axis=1)
    cell = x[both, 0] * C + x[both, 1]
    inv, cells = _int_codes(cell)
    mult = np.bincount(inv).astype(float) if inv.size else np.zeros(0)
    F = np.zeros((cells.size, C * C))
    F[np.arange(cells.size), cells] = 1.0
    if weights is None:
        D = 1.0 - np.eye(C)
    else:
        v = _values(r, f"weights={weights!r}")
        d = np.abs(v[:, None] - v[None, :])
        D = d if weights == "linear" else d * d
    Dmax = D.max() if D.size and D.max() > 0 else 1.0

    def fin(T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = T.sum(axis=1)
        P = T.reshape(-1, C, C) * _div(1.0, n)[:, None, None]
        E = P.sum(axis=2)[:, :, None] * P.sum(axis=1)[:, None, :]
        po = 1 - np.einsum("bij,ij->b", P, D) / Dmax
        pe = 1 - np.einsum("bij,ij->b", E, D) / Dmax
        pe = np.where(np.abs(1 - pe) < 1e-12, 1.0, pe)
        return _div(po - pe, 1 - pe), po, pe

    n_both = int(both.sum())
    res = _estimate([(F, fin)], mult, inv, n_both, confidence, n_boot, seed, bootstrap)[0]
    name = "cohen_kappa" if weights is None else f"cohen_kappa ({weights})"
    note = ""
    if n_both == 0:
        note = "no unit rated by both raters, kappa undefined"
    elif not np.isfinite(res[0]):
        used = np.unique(x[both])
        note = (
            f"no variation: every rating is {_fmt(r.cats[used[0]])}, kappa undefined"
            if used.size == 1
            else "chance agreement is 1, kappa undefined"
        )
    dropped = int(r.n_units - n_both)
    if dropped:
        note = _join(note, f"{dropped} unit(s) not rated by both raters dropped")
    return _agreement(name, r, res, 2 * n_both, note)


_fill_common(cohen_kappa)
