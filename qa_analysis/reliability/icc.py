"""Intraclass correlations (Shrout-Fleiss / McGraw-Wong forms), closed form.

References
----------
.. [1] Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in
   assessing rater reliability. Psychological Bulletin, 86(2), 420-428.
.. [2] McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some
   intraclass correlation coefficients. Psychological Methods, 1(1), 30-46.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from qa_analysis.reliability._engine import (
    Agreement,
    _agreement,
    _div,
    _fill_common,
    _int_codes,
    _join,
    _prepare,
)
from qa_analysis.reliability.bootstrap import BootstrapMethod, _check_ci, _estimate, _n_boot

__all__ = ["ICC_FORMS", "icc"]

ICCForm = Literal["ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)"]
ICCAlias = Literal[
    "ICC1",
    "ICC2",
    "ICC3",
    "ICC1k",
    "ICC2k",
    "ICC3k",
    "ICC(2,1)",
    "ICC(3,1)",
    "ICC(2,k)",
    "ICC(3,k)",
]
ICC_FORMS: tuple[ICCForm, ...] = get_args(ICCForm)
_ICC_ALIASES: dict[str, ICCForm] = {
    "ICC1": "ICC(1,1)",
    "ICC2": "ICC(A,1)",
    "ICC3": "ICC(C,1)",
    "ICC1k": "ICC(1,k)",
    "ICC2k": "ICC(A,k)",
    "ICC3k": "ICC(C,k)",
    "ICC(2,1)": "ICC(A,1)",
    "ICC(3,1)": "ICC(C,1)",
    "ICC(2,k)": "ICC(A,k)",
    "ICC(3,k)": "ICC(C,k)",
}


def icc(
    data: pd.DataFrame,
    *,
    form: ICCForm | ICCAlias = "ICC(A,1)",
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = 0,
    bootstrap: BootstrapMethod = "auto",
) -> Agreement:
    """Intraclass correlation (Shrout-Fleiss / McGraw-Wong forms), closed form.

    Parameters
    ----------
    data : DataFrame
        Long table of numeric scores. Only units rated by every rater are used
        (listwise deletion, as pingouin; the number dropped is in ``note``).
    form : str
        ``"ICC(1,1)"`` (one-way), ``"ICC(A,1)"`` (two-way, absolute agreement),
        ``"ICC(C,1)"`` (two-way, consistency) and their average-measure versions
        ``"ICC(1,k)"``, ``"ICC(A,k)"``, ``"ICC(C,k)"``. pingouin's ``ICC1`` ...
        ``ICC3k`` and ``ICC(2,1)``/``ICC(3,1)`` are accepted as aliases.
    {common}

    Returns
    -------
    Agreement
        ``observed``/``expected`` are NaN.

    Notes
    -----
    From the two-way ANOVA of the ``n x k`` matrix: mean squares for targets
    ``MSR``, raters ``MSC``, residual ``MSE`` and within targets ``MSW``:
    ICC(1,1) = (MSR - MSW) / (MSR + (k-1) MSW);
    ICC(A,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n);
    ICC(C,1) = (MSR - MSE) / (MSR + (k-1) MSE);
    ICC(1,k) = (MSR - MSW) / MSR; ICC(A,k) = (MSR - MSE) / (MSR + (MSC - MSE) / n);
    ICC(C,k) = (MSR - MSE) / MSR. The bootstrap resamples units (rows).

    References
    ----------
    .. [1] Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in
       assessing rater reliability. Psychological Bulletin, 86(2), 420-428.
    .. [2] McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some
       intraclass correlation coefficients. Psychological Methods, 1(1), 30-46.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2, 3, 3], "rater_id": ["a", "b"] * 3,
    ...                    "score": [1, 2, 3, 3, 5, 4]})
    >>> round(icc(df, form="ICC(C,1)", confidence=None).estimate, 3)
    0.8
    """
    f = _ICC_ALIASES.get(form, form)
    if f not in ICC_FORMS:
        raise ValueError(
            f"form must be one of {ICC_FORMS} (or pingouin's ICC1..ICC3k), got {form!r}"
        )
    n_boot = _n_boot(n_boot)
    r = _prepare(data, unit, rater, value, categories, numeric=True, what="icc")
    k = r.n_raters
    notes = []
    codes = np.full((r.n_units, max(k, 1)), -1, np.int64)
    if r.unit.size:
        codes[r.unit, r.rater] = r.code
    complete = (codes >= 0).all(axis=1)
    n = int(complete.sum())
    if r.n_units - n:
        notes.append(f"{r.n_units - n} unit(s) not rated by every rater dropped")
    codes = codes[complete]
    C = max(r.n_cats, 1)
    if k >= 1 and k * math.log2(C + 1) < 62 and n:
        key = codes @ ((C + 1) ** np.arange(k, dtype=np.int64))
        inv, keys = _int_codes(key)
        rep = np.zeros(keys.size, np.int64)
        rep[inv] = np.arange(n)
        pat = codes[rep]
        mult = np.bincount(inv).astype(float)
    else:
        inv, pat, mult = np.arange(n), codes, np.ones(n)
    vals = np.asarray(r.cats, dtype=float) if r.n_cats else np.zeros(1)
    Y = vals[pat] - (vals.mean() if vals.size else 0.0)
    F = np.column_stack([np.ones(len(Y)), Y, (Y * Y).sum(axis=1), Y.sum(axis=1) ** 2])

    def fin(T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nn = T[:, 0]
        cols = T[:, 1 : k + 1]
        G = cols.sum(axis=1)
        corr = _div(G * G, nn * k)
        ss_tot = T[:, k + 1] - corr
        ss_r = T[:, k + 2] / k - corr
        ss_c = _div((cols * cols).sum(axis=1), nn) - corr
        ss_e = ss_tot - ss_r - ss_c
        ss_w = ss_tot - ss_r
        msr = _div(ss_r, nn - 1)
        msc = ss_c / max(k - 1, 1)
        mse = _div(ss_e, (nn - 1) * (k - 1))
        msw = _div(ss_w, nn * (k - 1))
        if f == "ICC(1,1)":
            num, den = msr - msw, msr + (k - 1) * msw
        elif f == "ICC(A,1)":
            num, den = msr - mse, msr + (k - 1) * mse + k * _div(msc - mse, nn)
        elif f == "ICC(C,1)":
            num, den = msr - mse, msr + (k - 1) * mse
        elif f == "ICC(1,k)":
            num, den = msr - msw, msr
        elif f == "ICC(A,k)":
            num, den = msr - mse, msr + _div(msc - mse, nn)
        else:
            num, den = msr - mse, msr
        scale = np.abs(ss_tot) + 1.0
        den = np.where(np.abs(den) > 1e-12 * scale, den, 0.0)
        est = _div(num, den)
        nan = np.full(est.shape, np.nan)
        return np.where((nn >= 2) & (k >= 2), est, nan), nan, nan

    if k < 2 or n < 2:
        _check_ci(confidence, n_boot)
        res = (math.nan, math.nan, math.nan, math.nan, math.nan, "")
    else:
        res = _estimate([(F, fin)], mult, inv, n, confidence, n_boot, seed, bootstrap)[0]
    if r.n_units == 0:
        notes.insert(0, "no ratings, ICC undefined")
    elif k < 2:
        notes.insert(0, "ICC needs at least two raters")
    elif n < 2:
        notes.insert(0, "ICC needs at least two units rated by every rater")
    elif not np.isfinite(res[0]):
        notes.insert(0, "no variation between units and raters, ICC undefined")
    return _agreement(f, r, res, n * k, _join(*notes))


_fill_common(icc)
