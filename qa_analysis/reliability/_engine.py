"""Inter-rater reliability: agreement coefficients, bootstrap intervals, rater calibration.

Every function takes a tidy long table, one row per rating, plus the names of
the unit, rater and score columns (defaults: the calibration table of
DESIGN.md, ``ticket_id``, ``rater_id``, ``score``). A missing score (NaN) is a
missing rating. Pass ``categories=`` (for example ``scorecard.categories(cid)``)
so that scale levels nobody used still count (they matter for Gwet's AC1/AC2,
Brennan-Prediger and the weights). The per-criterion tables
(:func:`agreement_by_item`, :func:`rater_calibration`, :func:`disagreements`)
take ``scorecard=`` or ``categories=`` (one list for every criterion, or a
mapping criterion -> list); without either, the scale (and the level of
measurement) is guessed from the values seen and the row's ``note`` says so.

Method
------
One vectorised core serves every coefficient:

1. The long table is turned into integer codes (``pd.factorize`` or, for
   integer ids, a direct ``np.bincount`` mapping) and a *unit x category count
   matrix* ``N`` (``N[u, c]`` = number of raters who gave unit ``u`` category
   ``c``), built with one ``np.bincount`` on ``u * C + code``.
2. Units are compressed to their distinct rating patterns (distinct rows of
   ``N``; at most a few hundred on QA scales with a handful of raters), with a
   multiplicity ``count[p]``.
3. Each coefficient is a smooth function ``g`` of *sums over units of per-unit
   features* ``F[p]`` (for Krippendorff's alpha the unit's contribution to the
   coincidence matrix, ``(n n' - diag n) / (m - 1)``; for Gwet, Fleiss and
   Brennan-Prediger the unit's observed agreement and category shares; for the
   ICC the unit's row sums and squares). The point estimate is
   ``g(count @ F)``. With many categories (say 101 distinct scores) the
   ``C x C`` coincidence contributions are kept sparse, and interval, nominal
   and ratio alpha switch to compact sufficient statistics (for interval,
   ``m_u, sum x, sum x^2``), so memory stays linear in the number of ratings.
4. Bootstrap (percentile intervals, units resampled with replacement): a
   resample of ``n`` units is a multinomial draw of pattern multiplicities with
   probabilities ``count / n`` -- exactly the distribution of pattern counts
   under resampling units -- so ``B`` resamples are one ``(B x P)`` weight
   matrix and one product ``W @ F``; the cost does not grow with the number
   of units. When patterns are nearly as many as units (many distinct values),
   units are resampled by index instead (``bootstrap="units"``), in blocks of
   resamples so memory stays bounded; both are selectable with
   ``bootstrap="patterns"|"units"|"auto"`` (``auto``: patterns when there are
   at least 8 units per pattern). Both resample units; tests check that their
   replicate distributions agree. Intervals are seeded (``seed``, default 0)
   and reproducible; resamples on which a coefficient is undefined are
   dropped and counted in ``note``.

Undefined estimates (no pairable ratings, a single category used, one unit)
are NaN with an explanatory ``note``; no warnings are emitted. A rater who
rated the same unit twice is a ``ValueError`` naming the unit, rater and rows.
Error messages refer to rows of the table you passed: by position (``rows 3,
7``) when its index is the default ``RangeIndex``, by index label (``rows with
index labels 'a', 'b'``, for ``data.loc``) when the index is unique, and by
position (``rows at positions 3, 7``, for ``data.iloc``) when labels repeat.
Values are shown as plain Python values (``9``, ``'tone'``).

References
----------
.. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
   Annenberg School for Communication, University of Pennsylvania.
.. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.).
   Advanced Analytics, LLC.
.. [3] Fleiss, J. L. (1971). Measuring nominal scale agreement among many
   raters. Psychological Bulletin, 76(5), 378-382.
.. [4] Cohen, J. (1960). A coefficient of agreement for nominal scales.
   Educational and Psychological Measurement, 20, 37-46; Cohen, J. (1968).
   Weighted kappa. Psychological Bulletin, 70(4), 213-220.
.. [5] Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses,
   misuses, and alternatives. Educational and Psychological Measurement, 41,
   687-699.
.. [6] Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in
   assessing rater reliability. Psychological Bulletin, 86(2), 420-428;
   McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some
   intraclass correlation coefficients. Psychological Methods, 1(1), 30-46.
.. [7] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
   Chapman & Hall (percentile intervals).
.. [8] MaestroQA. Calibration alignment score: per criterion
   ``1 - |difference| / (scale range)``, weighted as in the rubric.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = [
    "Agreement",
    "agreement_by_item",
    "agreement_over_sessions",
    "alpha_verdict",
    "brennan_prediger",
    "cohen_kappa",
    "disagreements",
    "fleiss_kappa",
    "fleiss_kappa_by_category",
    "gwet_ac",
    "icc",
    "krippendorff_alpha",
    "percent_agreement",
    "rater_calibration",
    "rater_calibration_by_item",
]

LEVELS = ("nominal", "ordinal", "interval", "ratio")
ICC_FORMS = ("ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)")
_ICC_ALIASES = {
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
_BOOT_METHODS = ("auto", "patterns", "units")
# memory budgets (number of float64 entries) for dense intermediates
_DENSE_COUNTS = 50_000_000
_DENSE_FEATURES = 20_000_000
_MAX_CATEGORIES = 1000


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Agreement:
    """One agreement estimate.

    Attributes
    ----------
    coefficient
        Name, e.g. ``"krippendorff_alpha (ordinal)"`` or ``"gwet_ac2 (quadratic)"``.
    estimate
        The coefficient (NaN when undefined; ``note`` says why).
    ci_low, ci_high
        Bootstrap percentile interval (NaN when ``ci=None`` or not computable).
    observed, expected
        Krippendorff's alpha: observed and expected *disagreement* ``D_o``,
        ``D_e`` (``alpha = 1 - D_o / D_e``). Kappa-type coefficients: observed
        and chance *agreement* ``p_a``, ``p_e`` (``(p_a - p_e) / (1 - p_e)``).
        Percent agreement: ``observed`` only. ICC: both NaN.
    n_units
        Units (tickets) with at least one rating.
    n_raters
        Raters with at least one rating.
    n_pairable
        Ratings that take part in at least one comparison (Krippendorff's
        ``n``: ratings in units rated at least twice; Cohen: 2 x units rated
        by both; ICC: ratings of units rated by every rater).
    note
        Why the estimate or interval is missing, and anything dropped.
    """

    coefficient: str
    estimate: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    observed: float = math.nan
    expected: float = math.nan
    n_units: int = 0
    n_raters: int = 0
    n_pairable: int = 0
    note: str = ""

    def __float__(self) -> float:
        return float(self.estimate)


# --------------------------------------------------------------------------- helpers
def _div(a: Any, b: Any) -> np.ndarray:
    """A / b elementwise, NaN where b == 0 or either is NaN, without warnings."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = np.broadcast_arrays(a, b)
    out = np.full(a.shape, np.nan)
    ok = (b != 0) & np.isfinite(b) & np.isfinite(a)
    np.divide(a, b, out=out, where=ok)
    return out


def _py(x: Any) -> Any:
    """A plain Python scalar for messages: numpy scalars via ``.item()``, 9.0 -> 9."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def _fmt(x: Any) -> str:
    return str(_py(x))


def _show(values: Any, k: int = 5) -> str:
    """``[1, 'a', 2.5]``: a short list of values as plain Python reprs."""
    return repr([_py(v) for v in list(values)[:k]])


def _rows(index: pd.Index, pos: Any, k: int = 5) -> str:
    """Unambiguous reference to rows, given their *positions* in the frame with ``index``.

    A default RangeIndex (labels = positions): ``rows 3, 7``; another unique
    index: ``rows with index labels 'a', 'b'``; an index with duplicate labels:
    ``rows at positions 3, 7 (the index has duplicate labels)``.
    """
    pos = np.asarray(pos, dtype=np.int64)[:k]
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return "rows " + ", ".join(str(int(p)) for p in pos)
    if index.is_unique:
        return "rows with index labels " + ", ".join(repr(_py(i)) for i in index[pos])
    return (
        "rows at positions "
        + ", ".join(str(int(p)) for p in pos)
        + " (the index has duplicate labels)"
    )


def _where(index: pd.Index, base: np.ndarray | None = None) -> Callable[[Any], str]:
    """Row reference maker: positions in a frame -> text about rows of the *caller's* data.

    ``base`` maps positions of a sub-frame to positions in the caller's frame
    (whose index is ``index``).
    """

    def where(pos: Any) -> str:
        pos = np.asarray(pos, dtype=np.int64)
        return _rows(index, pos if base is None else base[pos])

    return where


def _check_columns(data: pd.DataFrame, cols: dict[str, str | None]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for arg, col in cols.items():
        if col is not None and col not in data.columns:
            raise ValueError(
                f"column {col!r} (argument {arg}=) not in data; columns are {list(data.columns)}"
            )


def _int_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted dense codes for an integer array (bincount mapping when the span is small)."""
    if x.size == 0:
        return np.zeros(0, np.int64), x[:0]
    x = x.astype(np.int64, copy=False)
    mn, mx = int(x.min()), int(x.max())
    span = mx - mn + 1
    if span <= 4 * x.size + 1024:
        shifted = x - mn
        present = np.bincount(shifted, minlength=span) > 0
        remap = np.cumsum(present) - 1
        return remap[shifted], np.flatnonzero(present) + mn
    codes, uniq = pd.factorize(x, sort=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniq)


def _codes(
    s: pd.Series, col: str, where: Callable[[Any], str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and labels of an id column; missing ids are an error."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy(np.int64)
        labels = np.asarray(s.cat.categories)
    elif pd.api.types.is_integer_dtype(s.dtype) and not s.hasnans:
        codes, labels = _int_codes(s.to_numpy(np.int64))
    else:
        codes, labels = pd.factorize(s, sort=False)
        codes = codes.astype(np.int64, copy=False)
        labels = pd.Index(labels)  # left as an Index: converting 1M strings costs time
    if codes.size and codes.min() < 0:
        bad = np.flatnonzero(codes < 0)
        where = where or _where(s.index)
        raise ValueError(f"column {col!r} has missing ids ({where(bad)})")
    return codes, labels


def _compact(codes: np.ndarray, labels: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes 0..k-1 keeping only the labels that occur."""
    present = np.bincount(codes, minlength=size) > 0
    if present.all():
        return codes, labels
    remap = np.cumsum(present) - 1
    return remap[codes], labels[present]


def _check_duplicates(
    where: Callable[[Any], str],
    keys: Sequence[np.ndarray],
    sizes: Sequence[int],
    labels: Sequence[np.ndarray],
    names: Sequence[str],
) -> None:
    """ValueError if a combination of codes (e.g. unit x rater) occurs twice."""
    if keys[0].size == 0:
        return
    key = np.zeros(keys[0].size, np.int64)
    total = 1
    for k, s in zip(keys, sizes, strict=True):
        key = key * s + k
        total *= s
    if total <= 100_000_000:
        counts = np.bincount(key, minlength=total)
        if counts.max() <= 1:
            return
        dup = counts[key] > 1
    else:
        dup = pd.Index(key).duplicated(keep=False)
    if dup.any():
        first = np.flatnonzero(dup)[0]
        rows = np.flatnonzero(key == key[first])
        what = ", ".join(
            f"{n}={_py(lab[k[first]])!r}" for n, lab, k in zip(names, labels, keys, strict=True)
        )
        raise ValueError(
            f"duplicate rating: {what} occurs {rows.size} times ({where(rows)}); "
            "each rater may rate each unit once - de-duplicate or aggregate first"
        )


@dataclass(frozen=True)
class _Ratings:
    """Non-missing ratings as integer codes."""

    unit: np.ndarray
    rater: np.ndarray
    code: np.ndarray
    cats: np.ndarray  # category values (float) or labels (object), sorted / as given
    numeric: bool
    unit_labels: np.ndarray
    rater_labels: np.ndarray
    n_missing: int
    source_index: pd.Index  # row labels of the input
    keep: np.ndarray | None  # mask of kept (non-missing) rows; None = all

    @property
    def index(self) -> pd.Index:
        """Row labels of the kept ratings."""
        return self.source_index if self.keep is None else self.source_index[self.keep]

    @property
    def n_units(self) -> int:
        return len(self.unit_labels)

    @property
    def n_raters(self) -> int:
        return len(self.rater_labels)

    @property
    def n_cats(self) -> int:
        return len(self.cats)


def _prepare(
    data: pd.DataFrame,
    unit: str,
    rater: str,
    value: str,
    categories: Sequence[Any] | None,
    *,
    numeric: bool = False,
    what: str = "this coefficient",
    where: Callable[[Any], str] | None = None,
) -> _Ratings:
    _check_columns(data, {"unit": unit, "rater": rater, "value": value})
    where = where or _where(data.index)
    u, ulab = _codes(data[unit], unit, where)
    r, rlab = _codes(data[rater], rater, where)
    _check_duplicates(where, [u, r], [len(ulab), len(rlab)], [ulab, rlab], [unit, rater])
    s = data[value]
    is_num = pd.api.types.is_numeric_dtype(s.dtype)
    if is_num:
        v = (
            s.to_numpy(dtype=float, copy=False)
            if s.dtype == np.float64
            else s.to_numpy(dtype=float, na_value=np.nan)
        )
        keep = ~np.isnan(v)
    else:
        if numeric:
            raise ValueError(f"{what} needs numeric scores; column {value!r} has dtype {s.dtype}")
        keep = ~s.isna().to_numpy()
        v = s.to_numpy()
    n_missing = int(keep.size - keep.sum())
    all_kept = n_missing == 0
    vk = v if all_kept else v[keep]
    uk = u if all_kept else u[keep]
    rk = r if all_kept else r[keep]
    uk, ulab = _compact(uk, ulab, len(ulab))
    rk, rlab = _compact(rk, rlab, len(rlab))
    if is_num:
        vc, vu = _value_codes(vk)
        if categories is None:
            order = np.argsort(vu)
            rank = np.empty(len(vu), np.int64)
            rank[order] = np.arange(len(vu))
            cats = vu[order]
            code = rank[vc] if vc.size else vc.astype(np.int64)
        else:
            try:
                cats = np.asarray(categories, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(
                    f"categories must be numeric for numeric column {value!r}"
                ) from None
            if cats.ndim != 1 or np.unique(cats).size != cats.size or np.isnan(cats).any():
                raise ValueError(
                    f"categories must be distinct numbers, got {_show(categories, 50)}"
                )
            cats = np.sort(cats)
            pos = np.clip(np.searchsorted(cats, vu), 0, max(len(cats) - 1, 0))
            bad = (cats[pos] != vu) if len(cats) else np.ones(len(vu), bool)
            if bad.any():
                rows = np.flatnonzero(keep)[np.isin(vc, np.flatnonzero(bad))]
                raise ValueError(
                    f"column {value!r}: value(s) {_show(np.sort(vu[bad]))} not in "
                    f"categories {_show(cats, 50)} ({where(rows)})"
                )
            code = pos[vc].astype(np.int64, copy=False)
    else:
        if categories is None:
            uniq = pd.unique(vk)
            try:
                cats = np.asarray(sorted(uniq), dtype=object)
            except TypeError:
                cats = np.asarray(uniq, dtype=object)
        else:
            cats = np.asarray(list(categories), dtype=object)
        cat = pd.Categorical(vk, categories=list(cats))
        code = np.asarray(cat.codes, np.int64)
        if (code < 0).any():
            rows = np.flatnonzero(keep)[code < 0]
            raise ValueError(
                f"column {value!r}: value(s) {_show(pd.unique(vk[code < 0]))} not in "
                f"categories {_show(cats, 50)} ({where(rows)})"
            )
        if numeric:
            raise ValueError(f"{what} needs numeric scores; column {value!r} is not numeric")
    if len(cats) > _MAX_CATEGORIES:
        raise ValueError(
            f"column {value!r} has {len(cats)} distinct values (more than {_MAX_CATEGORIES}); "
            "round the scores or use icc() for continuous measurements"
        )
    return _Ratings(
        uk, rk, code, cats, is_num, ulab, rlab, n_missing, data.index, None if all_kept else keep
    )


def _value_codes(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values of a float array (hash-based, unsorted)."""
    codes, uniq = pd.factorize(v, sort=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniq, dtype=float)


@dataclass(frozen=True)
class _Block:
    """Count matrix and its pattern compression."""

    counts: np.ndarray | sparse.csr_matrix  # patterns x categories (float)
    mult: np.ndarray  # multiplicity of each pattern
    inv: np.ndarray  # unit -> pattern
    n_units: int
    n_cats: int

    @property
    def dense(self) -> bool:
        return not sparse.issparse(self.counts)


def _block(r: _Ratings) -> _Block:
    U, C = r.n_units, max(r.n_cats, 1)
    if U == 0:
        return _Block(np.zeros((0, C)), np.zeros(0), np.zeros(0, np.int64), 0, C)
    if U * C > _DENSE_COUNTS:
        N = sparse.csr_matrix((np.ones(r.unit.size), (r.unit, r.code)), shape=(U, C))
        N.sum_duplicates()
        return _Block(N, np.ones(U), np.arange(U), U, C)
    N = np.bincount(r.unit * C + r.code, minlength=U * C).reshape(U, C)
    base = int(N.max()) + 1
    if C * math.log2(base) < 62:
        key = N @ (base ** np.arange(C, dtype=np.int64))
        inv, keys = _int_codes(key)
        mult = np.bincount(inv).astype(float)
        pat = (keys[:, None] // (base ** np.arange(C, dtype=np.int64))) % base
        return _Block(pat.astype(float), mult, inv, U, C)
    if U * C * C <= _DENSE_FEATURES:
        return _Block(N.astype(float), np.ones(U), np.arange(U), U, C)
    return _Block(sparse.csr_matrix(N.astype(float)), np.ones(U), np.arange(U), U, C)


def _pairs(N: sparse.csr_matrix) -> tuple[np.ndarray, ...]:
    """All ordered pairs of non-zero entries within each row of a CSR matrix.

    Returns row, col_a, col_b, val_a, val_b, same (a is b).
    """
    N = sparse.csr_matrix(N)
    lens = np.diff(N.indptr)
    row_e = np.repeat(np.arange(N.shape[0]), lens)
    le = lens[row_e]
    a = np.repeat(np.arange(N.nnz), le)
    start = np.repeat(np.cumsum(le) - le, le)
    b = N.indptr[row_e[a]] + (np.arange(a.size) - start)
    return row_e[a], N.indices[a], N.indices[b], N.data[a], N.data[b], a == b


def _row_sums(N: np.ndarray | sparse.csr_matrix) -> np.ndarray:
    return np.asarray(N.sum(axis=1)).ravel()


# --------------------------------------------------------------------------- bootstrap engine
def _weight_chunks(
    mult: np.ndarray, inv: np.ndarray, n_boot: int, rng: np.random.Generator, method: str
) -> Iterator[np.ndarray]:
    """Resample weights (resamples x patterns), in blocks of resamples.

    ``patterns``: multinomial(n, mult / n) per resample, exactly the law of the
    pattern counts when n units are drawn with replacement. ``units``: draw unit
    indices and count them per pattern (classic index resampling).
    """
    P = mult.size
    n = int(round(mult.sum()))
    if method == "auto":
        method = "patterns" if 8 * P <= n else "units"
    if method == "patterns":
        p = mult / mult.sum()
        step = max(1, min(n_boot, 4_000_000 // max(P, 1)))
        for s in range(0, n_boot, step):
            yield rng.multinomial(n, p, size=min(step, n_boot - s)).astype(float)
    else:
        identity = P == n and np.array_equal(inv, np.arange(n))
        step = max(1, min(n_boot, 10_000_000 // max(n, 1)))
        for s in range(0, n_boot, step):
            k = min(step, n_boot - s)
            idx = rng.integers(0, n, size=(k, n))
            if not identity:
                idx = inv[idx]
            idx += (np.arange(k) * P)[:, None]
            yield np.bincount(idx.ravel(), minlength=k * P).reshape(k, P).astype(float)


def _totals(F: np.ndarray | sparse.spmatrix, W: np.ndarray) -> np.ndarray:
    """W @ F for a dense weight matrix and dense or sparse features."""
    if sparse.issparse(F):
        return np.asarray((F.T @ W.T).T)
    return W @ F


def _boot_totals(
    F: np.ndarray | sparse.spmatrix,
    mult: np.ndarray,
    inv: np.ndarray,
    n_boot: int,
    seed: int | np.random.Generator | None,
    method: str,
) -> np.ndarray:
    if method not in _BOOT_METHODS:
        raise ValueError(f"bootstrap must be one of {_BOOT_METHODS}, got {method!r}")
    rng = np.random.default_rng(seed)
    return np.vstack([_totals(F, W) for W in _weight_chunks(mult, inv, n_boot, rng, method)])


def _quantiles(X: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Column quantiles (linear interpolation) ignoring NaN; all-NaN columns give NaN."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    Xs = np.sort(X, axis=0)  # NaN sorts last
    k = np.isfinite(Xs).sum(axis=0)
    out = np.full((len(qs), X.shape[1]), np.nan)
    ok = k > 0
    if not ok.any():
        return out
    for i, q in enumerate(qs):
        pos = q * (k[ok] - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, k[ok] - 1)
        cols = np.flatnonzero(ok)
        a, b = Xs[lo, cols], Xs[hi, cols]
        out[i, ok] = a + (pos - lo) * (b - a)
    return out


def _check_ci(ci: float | None, n_boot: int) -> None:
    if ci is not None and not (0 < ci < 1):
        raise ValueError(f"ci must be a confidence level in (0, 1) or None, got {ci!r}")
    if ci is not None and (not isinstance(n_boot, int | np.integer) or n_boot < 2):
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")


# A statistic: features (patterns x d) and a finisher mapping totals (B x d) to
# (estimate, observed, expected) arrays of length B.
Finisher = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _estimate(
    stats: Sequence[tuple[np.ndarray | sparse.spmatrix, Finisher]],
    mult: np.ndarray,
    inv: np.ndarray,
    n_units: int,
    ci: float | None,
    n_boot: int,
    seed: int | np.random.Generator | None,
    method: str,
) -> list[tuple[float, float, float, float, float, str]]:
    """Point estimates and (optionally) percentile intervals for several statistics
    sharing the same resamples. Returns (est, obs, exp, lo, hi, boot_note) per statistic.
    """
    _check_ci(ci, n_boot)
    widths = [F.shape[1] for F, _ in stats]
    if any(sparse.issparse(F) for F, _ in stats):
        F_all = sparse.hstack([sparse.csr_matrix(F) for F, _ in stats], format="csr")
    else:
        F_all = np.hstack([F for F, _ in stats]) if stats else np.zeros((mult.size, 0))
    edges = np.concatenate([[0], np.cumsum(widths)])
    T0 = _totals(F_all, mult[None, :].astype(float))
    points = []
    for (_, fin), a, b in zip(stats, edges[:-1], edges[1:], strict=True):
        e, o, x = fin(T0[:, a:b])
        points.append((float(e[0]), float(o[0]), float(x[0])))
    out = [(e, o, x, math.nan, math.nan, "") for e, o, x in points]
    if ci is None or not any(np.isfinite(p[0]) for p in points):
        return out
    if n_units < 2:
        return [
            (e, o, x, lo, hi, "no interval: the bootstrap needs at least two units")
            for e, o, x, lo, hi, _ in out
        ]
    TB = _boot_totals(F_all, mult, inv, n_boot, seed, method)
    res = []
    for (e, o, x, _, _, _), (_, fin), a, b in zip(out, stats, edges[:-1], edges[1:], strict=True):
        if not np.isfinite(e):
            res.append((e, o, x, math.nan, math.nan, ""))
            continue
        est = fin(TB[:, a:b])[0]
        bad = int((~np.isfinite(est)).sum())
        note = ""
        if bad == est.size or est.size - bad < 2:
            res.append(
                (
                    e,
                    o,
                    x,
                    math.nan,
                    math.nan,
                    f"no interval: {bad} of {est.size} resamples undefined",
                )
            )
            continue
        if bad:
            note = f"{bad} of {est.size} resamples undefined (interval from the rest)"
        lo, hi = _quantiles(est, [(1 - ci) / 2, (1 + ci) / 2])[:, 0]
        res.append((e, o, x, float(lo), float(hi), note))
    return res


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _agreement(name: str, r: _Ratings, res: tuple, n_pairable: int, note: str) -> Agreement:
    e, o, x, lo, hi, bnote = res
    if r.n_missing:
        note = _join(note, f"{r.n_missing} missing rating(s) ignored")
    return Agreement(
        name, e, lo, hi, o, x, r.n_units, r.n_raters, int(n_pairable), _join(note, bnote)
    )


def _single_category_note(r: _Ratings, used: np.ndarray, coef: str) -> str:
    if used.size == 1:
        return f"no variation: every rating is {_fmt(r.cats[used[0]])}, {coef} undefined"
    return f"no variation, {coef} undefined"


# --------------------------------------------------------------------------- distances and weights
def _values(r: _Ratings, what: str) -> np.ndarray:
    if not r.numeric:
        raise ValueError(f"{what} needs numeric categories, got {_show(r.cats)}")
    return np.asarray(r.cats, dtype=float)


def _delta(level: str, v: np.ndarray) -> np.ndarray:
    """Krippendorff's metric differences for fixed-metric levels."""
    if level == "nominal":
        return 1.0 - np.eye(v.size)
    d = v[:, None] - v[None, :]
    if level == "interval":
        return d * d
    s = v[:, None] + v[None, :]
    return np.nan_to_num(_div(d, s) ** 2, nan=0.0)  # ratio; both values 0 -> 0


def _agree_weights(weights: str | np.ndarray | None, r: _Ratings) -> tuple[np.ndarray, str]:
    """Agreement weight matrix (1 on the diagonal) by category value, as in irrCAC."""
    C = max(r.n_cats, 1)
    if weights is None:
        return np.eye(C), "unweighted"
    if isinstance(weights, str):
        if weights == "ordinal":
            k = np.arange(C)
            nkl = np.abs(k[:, None] - k[None, :]) + 1.0
            M = nkl * (nkl - 1) / 2
            return (1 - _div(M, M.max()) if C > 1 else np.ones((1, 1))), "ordinal"
        if weights in ("linear", "quadratic"):
            v = _values(r, f"weights={weights!r}")
            span = v.max() - v.min() if v.size else 0.0
            if span == 0:
                return np.ones((C, C)), weights
            d = np.abs(v[:, None] - v[None, :]) / span
            return (1 - d if weights == "linear" else 1 - d * d), weights
        raise ValueError(
            f"weights must be None, 'linear', 'quadratic', 'ordinal' or a matrix, got {weights!r}"
        )
    W = np.asarray(weights, dtype=float)
    if W.shape != (C, C):
        raise ValueError(f"weights matrix must be {C} x {C} (one row per category), got {W.shape}")
    return W, "custom"


# --------------------------------------------------------------------------- Krippendorff's alpha
def _alpha_features(b: _Block) -> np.ndarray | sparse.csr_matrix:
    """Per-pattern contributions to the coincidence matrix, flattened (P x C*C)."""
    C = b.n_cats
    m = _row_sums(b.counts)
    w = np.where(m >= 2, _div(1.0, m - 1), 0.0)
    if b.dense and b.counts.shape[0] * C * C <= _DENSE_FEATURES:
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
    level: str = "nominal",
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    bootstrap: str = "auto",
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
    ci : float or None
        Confidence level of the bootstrap percentile interval; None for none.
    n_boot : int
        Number of bootstrap resamples (units resampled with replacement).
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
    >>> round(krippendorff_alpha(df, level="ordinal", ci=None).estimate, 3)
    0.9
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    r = _prepare(
        data, unit, rater, value, categories, numeric=level != "nominal", what=f"{level} alpha"
    )
    if level == "ratio" and r.n_cats and np.asarray(r.cats, float).min() < 0:
        raise ValueError(f"ratio alpha needs non-negative values in column {value!r}")
    b = _block(r)
    return _alpha_from(r, b, level, ci, n_boot, seed, bootstrap)


def _alpha_stat(r: _Ratings, b: _Block, level: str) -> tuple[Any, Finisher]:
    C = b.n_cats
    if level == "ordinal" or (b.dense and b.counts.shape[0] * C * C <= _DENSE_FEATURES):
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


def _pairable(b: _Block) -> tuple[int, np.ndarray]:
    """Number of pairable ratings and the category codes used among them."""
    m = _row_sums(b.counts)
    ok = m >= 2
    n_pair = int(round(float((b.mult * m)[ok].sum())))
    used = np.flatnonzero(np.asarray(b.counts[ok].sum(axis=0)).ravel() > 0)
    return n_pair, used


def _alpha_note(r: _Ratings, b: _Block, est: float, coef: str = "alpha") -> tuple[int, str]:
    n_pair, codes = _pairable(b)
    if r.n_units == 0:
        return 0, f"no ratings, {coef} undefined"
    if n_pair == 0:
        return 0, f"no pairable ratings: no unit has two or more ratings, {coef} undefined"
    if not np.isfinite(est):
        return n_pair, _single_category_note(r, codes, coef)
    return n_pair, ""


def _alpha_from(r, b, level, ci, n_boot, seed, bootstrap) -> Agreement:
    res = _estimate(
        [_alpha_stat(r, b, level)], b.mult, b.inv, b.n_units, ci, n_boot, seed, bootstrap
    )[0]
    n_pair, note = _alpha_note(r, b, res[0])
    return _agreement(f"krippendorff_alpha ({level})", r, res, n_pair, note)


# --------------------------------------------------------------------------- Gwet, Fleiss, BP, percent
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
        shares = sparse.csr_matrix(N.multiply(_div(1.0, m)[:, None]))
    a = np.where(m >= 2, _div(agree, m * (m - 1)), 0.0)
    head = np.column_stack([pair, a, (m >= 1).astype(float)])
    if b.dense:
        return np.hstack([head, shares])
    return sparse.hstack([sparse.csr_matrix(head), shares], format="csr")


def _chance_finisher(kind: str, Wt: np.ndarray) -> Finisher:
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
    ci: float | None,
    n_boot: int,
    seed: Any,
    bootstrap: str,
) -> Agreement:
    numeric = isinstance(weights, str) and weights in ("linear", "quadratic")
    r = _prepare(data, unit, rater, value, categories, numeric=numeric, what=f"weights={weights!r}")
    b = _block(r)
    Wt, wname = _agree_weights(weights, r)
    res = _estimate(
        [(_agreement_features(b, Wt), _chance_finisher(kind, Wt))],
        b.mult,
        b.inv,
        b.n_units,
        ci,
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


_COMMON_PARAMS = """unit, rater, value : str
        Column names of the long table (one row per rating; NaN = missing).
    categories : sequence, optional
        The full scale; unused levels count (they change the chance term).
    ci : float or None
        Confidence level of the bootstrap percentile interval; None for none.
    n_boot : int
        Bootstrap resamples (units resampled with replacement).
    seed : int, Generator or None
        Bootstrap seed; same seed, same interval.
    bootstrap : {"auto", "patterns", "units"}
        Resampling implementation (see the module notes)."""


def gwet_ac(
    data: pd.DataFrame,
    *,
    weights: str | np.ndarray | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    bootstrap: str = "auto",
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
    >>> round(gwet_ac(df, ci=None).estimate, 3)
    0.529
    """
    return _chance_coef(
        "gwet", data, weights, unit, rater, value, categories, ci, n_boot, seed, bootstrap
    )


def brennan_prediger(
    data: pd.DataFrame,
    *,
    weights: str | np.ndarray | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    bootstrap: str = "auto",
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
    >>> brennan_prediger(df, ci=None).estimate
    0.0
    """
    return _chance_coef(
        "bp", data, weights, unit, rater, value, categories, ci, n_boot, seed, bootstrap
    )


def fleiss_kappa(
    data: pd.DataFrame,
    *,
    weights: str | np.ndarray | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    bootstrap: str = "auto",
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
    >>> round(fleiss_kappa(df, ci=None).estimate, 3)
    0.25
    """
    return _chance_coef(
        "fleiss", data, weights, unit, rater, value, categories, ci, n_boot, seed, bootstrap
    )


def percent_agreement(
    data: pd.DataFrame,
    *,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    bootstrap: str = "auto",
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
    >>> percent_agreement(df, ci=None).estimate
    0.5
    """
    return _chance_coef(
        "percent", data, None, unit, rater, value, categories, ci, n_boot, seed, bootstrap
    )


for _f in (gwet_ac, brennan_prediger, fleiss_kappa, percent_agreement):
    _f.__doc__ = _f.__doc__.replace("{common}", _COMMON_PARAMS)


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
    N = b.counts.toarray() if not b.dense else b.counts
    m = N.sum(axis=1)
    ok = m >= 2
    w = b.mult * ok
    pi = _div((b.mult[:, None] * N * _div(1.0, m)[:, None]).sum(0), b.mult.sum())
    dis = (w[:, None] * _div(N * (m[:, None] - N), (m * (m - 1))[:, None])).sum(0)
    kappa = 1 - _div(dis, w.sum() * pi * (1 - pi))
    return pd.DataFrame({"category": r.cats, "share": pi, "kappa": kappa})


# --------------------------------------------------------------------------- Cohen's kappa
def cohen_kappa(
    data: pd.DataFrame,
    *,
    weights: str | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    bootstrap: str = "auto",
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
    >>> round(cohen_kappa(df, ci=None).estimate, 3)
    0.5
    """
    _check_columns(data, {"unit": unit, "rater": rater, "value": value})
    raters = pd.unique(data[rater].dropna())
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    if len(data) == 0:
        _check_ci(ci, n_boot)
        name = "cohen_kappa" if weights is None else f"cohen_kappa ({weights})"
        return Agreement(name, math.nan, note="no ratings, kappa undefined")
    if len(raters) != 2:
        raise ValueError(
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
    res = _estimate([(F, fin)], mult, inv, n_both, ci, n_boot, seed, bootstrap)[0]
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


cohen_kappa.__doc__ = cohen_kappa.__doc__.replace("{common}", _COMMON_PARAMS)


# --------------------------------------------------------------------------- ICC
def icc(
    data: pd.DataFrame,
    *,
    form: str = "ICC(A,1)",
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    categories: Sequence[Any] | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    bootstrap: str = "auto",
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
    >>> round(icc(df, form="ICC(C,1)", ci=None).estimate, 3)
    0.8
    """
    f = _ICC_ALIASES.get(form, form)
    if f not in ICC_FORMS:
        raise ValueError(
            f"form must be one of {ICC_FORMS} (or pingouin's ICC1..ICC3k), got {form!r}"
        )
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
        _check_ci(ci, n_boot)
        res = (math.nan, math.nan, math.nan, math.nan, math.nan, "")
    else:
        res = _estimate([(F, fin)], mult, inv, n, ci, n_boot, seed, bootstrap)[0]
    if r.n_units == 0:
        notes.insert(0, "no ratings, ICC undefined")
    elif k < 2:
        notes.insert(0, "ICC needs at least two raters")
    elif n < 2:
        notes.insert(0, "ICC needs at least two units rated by every rater")
    elif not np.isfinite(res[0]):
        notes.insert(0, "no variation between units and raters, ICC undefined")
    return _agreement(f, r, res, n * k, _join(*notes))


icc.__doc__ = icc.__doc__.replace("{common}", _COMMON_PARAMS)


# --------------------------------------------------------------------------- per-item table
def alpha_verdict(alpha: float) -> str:
    """Krippendorff's (2004) bands: >= .800 reliable, >= .667 tentative, else unreliable.

    Parameters
    ----------
    alpha : float
        An alpha estimate (or the lower end of its interval, for a cautious verdict).

    Returns
    -------
    str
        ``"reliable"``, ``"tentative"``, ``"unreliable"`` or ``"undefined"`` (NaN).

    References
    ----------
    .. [1] Krippendorff, K. (2004). Content Analysis: An Introduction to Its
       Methodology (2nd ed.), p. 241. Sage.

    Examples
    --------
    >>> alpha_verdict(0.71)
    'tentative'
    """
    if alpha is None or not np.isfinite(alpha):
        return "undefined"
    return "reliable" if alpha >= 0.800 else "tentative" if alpha >= 0.667 else "unreliable"


_GWET_WEIGHTS = {
    "nominal": None,
    "ordinal": "ordinal",
    "interval": "quadratic",
    "ratio": "quadratic",
}


def _criteria_order(data: pd.DataFrame, item: str, scorecard: Any) -> list[Any]:
    present = list(pd.unique(data[item].dropna()))
    if scorecard is None:
        return present
    unknown = [c for c in present if c not in scorecard]
    if unknown:
        rows = np.flatnonzero(data[item].isin(unknown).to_numpy())
        raise ValueError(
            f"column {item!r}: criteria {_show(unknown)} are not in the scorecard "
            f"{getattr(scorecard, 'source', '')} ({_rows(data.index, rows)})"
        )
    return [c for c in scorecard.ids if c in set(present)]


def _item_categories(cid: Any, scorecard: Any, categories: Any) -> list[Any] | None:
    """The full scale of a criterion: ``categories`` (one list for every criterion,
    or a mapping criterion -> list), else the scorecard's, else None (unknown).
    """
    if categories is not None:
        if isinstance(categories, Mapping):
            if cid in categories:
                return list(categories[cid])
        elif isinstance(categories, str | bytes):
            raise TypeError(
                "categories must be a list of scale levels or a mapping criterion -> list, "
                f"got the string {categories!r}"
            )
        else:
            return list(categories)
    if scorecard is not None and cid in scorecard:
        return list(scorecard[cid].scale)
    return None


def _scale_note(cats: list[Any] | None, values: np.ndarray) -> str:
    if cats is not None:
        return ""
    seen = pd.unique(values[~pd.isna(values)]) if values.size else values
    try:
        seen = sorted(seen)
    except TypeError:
        seen = list(seen)
    return (
        f"scale taken from the values seen {_show(seen, 12)}; "
        "pass scorecard= or categories= so unused levels count"
    )


def _item_spec(
    cid: Any,
    scorecard: Any,
    levels: Mapping[Any, str] | str | None,
    categories: Any,
    values: np.ndarray,
) -> tuple[str, list[Any] | None, str]:
    """Level, scale and a note on what was guessed, for one criterion."""
    cats = _item_categories(cid, scorecard, categories)
    note = ""
    if isinstance(levels, str):
        level = levels
    elif levels and cid in levels:
        level = levels[cid]
    elif scorecard is not None and cid in scorecard:
        level = scorecard[cid].level
    else:
        if cats is not None:
            n, what = len(cats), "scale levels"
        else:
            n, what = pd.unique(values[~pd.isna(values)]).size, "values seen"
        level = "nominal" if n <= 2 else "ordinal"
        note = f"level guessed: {level} ({n} {what}); pass scorecard= or levels="
    if level not in LEVELS:
        raise ValueError(f"level for {_py(cid)!r} must be one of {LEVELS}, got {level!r}")
    return level, cats, _join(note, _scale_note(cats, values))


def agreement_by_item(
    data: pd.DataFrame,
    *,
    item: str = "criterion",
    scorecard: Any = None,
    levels: Mapping[Any, str] | str | None = None,
    categories: Mapping[Any, Sequence[Any]] | Sequence[Any] | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | None = 0,
    bootstrap: str = "auto",
) -> pd.DataFrame:
    """Agreement per criterion: alpha at the criterion's level, Gwet's AC, percent agreement.

    Parameters
    ----------
    data : DataFrame
        Long calibration table (one row per unit x rater x criterion).
    item : str
        Criterion column.
    scorecard : Scorecard, optional
        Supplies each criterion's scale (``categories``) and level of
        measurement, and the row order.
    levels : str or mapping, optional
        Level of measurement for every criterion (a string) or per criterion
        (a mapping criterion -> level), overriding the scorecard. Without
        either, a criterion with at most two scale levels (or, without a
        scale, two distinct scores) is nominal, else ordinal, and the row's
        ``note`` says the level was guessed.
    categories : sequence or mapping, optional
        The full scale: one list for every criterion, or a mapping criterion
        -> list (criteria not in it fall back to the scorecard). Overrides the
        scorecard's scale. Unused levels count (they change Gwet's chance
        term). Without a scale the values seen are used, and ``note`` says so.
    unit, rater, value : str
        Column names.
    ci, n_boot, seed, bootstrap
        Bootstrap settings (see :func:`krippendorff_alpha`). The three
        coefficients of a criterion share the same resamples; each criterion
        gets its own stream spawned from ``seed``.

    Returns
    -------
    DataFrame
        One row per criterion: ``criterion, level, n_units, n_raters,
        n_pairable, alpha, alpha_ci_low, alpha_ci_high, gwet_coefficient
        (AC1 for nominal, AC2 with ordinal weights for ordinal, quadratic for
        interval), gwet, gwet_ci_low, gwet_ci_high, percent_agreement,
        percent_ci_low, percent_ci_high, verdict, note``. ``verdict`` applies
        Krippendorff's bands to the alpha estimate (:func:`alpha_verdict`).

    Notes
    -----
    The formulas are those of :func:`krippendorff_alpha`, :func:`gwet_ac` and
    :func:`percent_agreement`.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    .. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2, 3, 3] * 2,
    ...                    "rater_id": ["a", "b"] * 6,
    ...                    "criterion": ["greeting"] * 6 + ["tone"] * 6,
    ...                    "score": [1, 1, 0, 0, 1, 1, 5, 4, 3, 3, 1, 2]})
    >>> agreement_by_item(df, ci=None)[["criterion", "level", "alpha"]].round(3)
      criterion    level  alpha
    0  greeting  nominal  1.000
    1      tone  ordinal  0.902
    >>> agreement_by_item(df, ci=None)["note"][0].split("; ")[0]
    'level guessed: nominal (2 values seen)'
    """
    return _agreement_table(
        data,
        item,
        scorecard,
        levels,
        categories,
        unit,
        rater,
        value,
        ci,
        n_boot,
        seed,
        bootstrap,
        data.index,
        None,
    )


def _agreement_table(
    data: pd.DataFrame,
    item: str,
    scorecard: Any,
    levels: Any,
    categories: Any,
    unit: str,
    rater: str,
    value: str,
    ci: float | None,
    n_boot: int,
    seed: int | None,
    bootstrap: str,
    index: pd.Index,
    base: np.ndarray | None,
) -> pd.DataFrame:
    """agreement_by_item on ``data``, a subset (positions ``base``) of a frame with ``index``."""
    _check_columns(data, {"item": item, "unit": unit, "rater": rater, "value": value})
    order = _criteria_order(data, item, scorecard)
    groups = data.groupby(item, sort=False, observed=True).indices
    seeds = (
        np.random.SeedSequence(seed).spawn(len(order)) if seed is not None else [None] * len(order)
    )
    rows = []
    for cid, ss in zip(order, seeds, strict=True):
        pos = groups[cid]
        sub = data.iloc[pos]
        level, cats, guess = _item_spec(cid, scorecard, levels, categories, sub[value].to_numpy())
        r = _prepare(
            sub,
            unit,
            rater,
            value,
            cats,
            numeric=level != "nominal",
            what=f"{level} alpha",
            where=_where(index, pos if base is None else base[pos]),
        )
        b = _block(r)
        wts = _GWET_WEIGHTS[level]
        Wt, wname = _agree_weights(wts, r)
        stats = [
            _alpha_stat(r, b, level),
            (_agreement_features(b, Wt), _chance_finisher("gwet", Wt)),
            (
                _agreement_features(b, np.eye(b.n_cats)),
                _chance_finisher("percent", np.eye(b.n_cats)),
            ),
        ]
        rng = np.random.default_rng(ss) if ss is not None else None
        ra, rg, rp = _estimate(stats, b.mult, b.inv, b.n_units, ci, n_boot, rng, bootstrap)
        n_pair, note = _alpha_note(r, b, ra[0])
        gname = "AC1" if wts is None else f"AC2 ({wname})"
        rows.append(
            {
                "criterion": cid,
                "level": level,
                "n_units": r.n_units,
                "n_raters": r.n_raters,
                "n_pairable": n_pair,
                "alpha": ra[0],
                "alpha_ci_low": ra[3],
                "alpha_ci_high": ra[4],
                "gwet_coefficient": gname,
                "gwet": rg[0],
                "gwet_ci_low": rg[3],
                "gwet_ci_high": rg[4],
                "percent_agreement": rp[0],
                "percent_ci_low": rp[3],
                "percent_ci_high": rp[4],
                "verdict": alpha_verdict(ra[0]),
                "note": _join(
                    note,
                    ra[5],
                    f"{r.n_missing} missing rating(s) ignored" if r.n_missing else "",
                    guess,
                ),
            }
        )
    cols = [
        "criterion",
        "level",
        "n_units",
        "n_raters",
        "n_pairable",
        "alpha",
        "alpha_ci_low",
        "alpha_ci_high",
        "gwet_coefficient",
        "gwet",
        "gwet_ci_low",
        "gwet_ci_high",
        "percent_agreement",
        "percent_ci_low",
        "percent_ci_high",
        "verdict",
        "note",
    ]
    return pd.DataFrame(rows, columns=cols)


def agreement_over_sessions(
    data: pd.DataFrame,
    *,
    session: str = "session_id",
    date: str | None = "session_date",
    item: str = "criterion",
    scorecard: Any = None,
    levels: Mapping[Any, str] | str | None = None,
    categories: Mapping[Any, Sequence[Any]] | Sequence[Any] | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    ci: float | None = 0.95,
    n_boot: int = 500,
    seed: int | None = 0,
    bootstrap: str = "auto",
) -> pd.DataFrame:
    """Agreement per calibration session and criterion (drift of alpha over time).

    Parameters
    ----------
    data : DataFrame
        Long calibration table.
    session : str
        Session column; sessions are listed in date order when ``date`` exists.
    date : str or None
        Session date column (optional).
    item, scorecard, levels, categories, unit, rater, value, ci, n_boot, seed, bootstrap
        As in :func:`agreement_by_item` (which is applied per session). Pass
        ``scorecard=`` or ``levels=``: a guessed level may differ between
        sessions.

    Returns
    -------
    DataFrame
        The columns of :func:`agreement_by_item` preceded by ``session`` (and
        ``date``), plus ``mean_alpha``: the session's mean alpha over criteria.

    Notes
    -----
    Each session is a separate reliability study; its intervals resample that
    session's tickets only.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"session_id": ["s1"] * 4 + ["s2"] * 4,
    ...                    "ticket_id": [1, 1, 2, 2, 3, 3, 4, 4], "rater_id": ["a", "b"] * 4,
    ...                    "criterion": "greeting", "score": [1, 1, 0, 0, 1, 0, 0, 0]})
    >>> agreement_over_sessions(df, date=None, ci=None)[["session_id", "alpha"]].round(2)
      session_id  alpha
    0         s1    1.0
    1         s2    0.0
    """
    _check_columns(data, {"session": session, "date": date, "item": item})
    _check_columns(data, {"unit": unit, "rater": rater, "value": value})
    _criteria_order(data, item, scorecard)  # unknown criteria: rows named in the whole table
    grouped = data.groupby(session, sort=False, observed=True)
    keys = grouped.indices
    names = list(keys)
    if date is not None:
        first = grouped[date].min()
        names = list(first.sort_values(kind="stable").index)
    seeds = (
        np.random.SeedSequence(seed).spawn(len(names)) if seed is not None else [None] * len(names)
    )
    frames = []
    for name, ss in zip(names, seeds, strict=True):
        sub = data.iloc[keys[name]]
        s = int(ss.generate_state(1)[0]) if ss is not None else None
        t = _agreement_table(
            sub,
            item,
            scorecard,
            levels,
            categories,
            unit,
            rater,
            value,
            ci,
            n_boot,
            s,
            bootstrap,
            data.index,
            keys[name],
        )
        t.insert(0, session, name)
        if date is not None:
            t.insert(1, date, first[name])
        fin = t["alpha"][np.isfinite(t["alpha"])]
        t["mean_alpha"] = fin.mean() if len(fin) else np.nan
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=[session] + ([date] if date else []))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- rater calibration
def _sum_by(group: np.ndarray, n_groups: int, X: np.ndarray) -> np.ndarray:
    """Column sums of X (n x d) per group code."""
    G = sparse.csr_matrix(
        (np.ones(group.size), (group, np.arange(group.size))), shape=(n_groups, group.size)
    )
    return np.asarray(G @ X)


def rater_calibration(
    data: pd.DataFrame,
    *,
    reference: str = "expert",
    role: str = "role",
    expert_role: str = "expert",
    item: str = "criterion",
    scorecard: Any = None,
    categories: Mapping[Any, Sequence[float]] | Sequence[float] | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    by_item: bool = False,
    tolerance: float = 0.05,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Each rater's calibration against the expert (or the other raters' consensus).

    Parameters
    ----------
    data : DataFrame
        Long calibration table (unit x rater x criterion rows, NaN = N/A).
    reference : {"expert", "consensus"}
        ``expert``: ratings whose ``role`` is ``expert_role`` are the
        reference (several experts on one item: their distribution and mean).
        With no expert in the data (or ``"consensus"``), the reference of a
        rating is the *other* raters of the same unit and criterion
        (leave-one-out, so nobody is compared with themself).
    role, expert_role : str
        Role column and the value marking the expert.
    item : str
        Criterion column.
    scorecard : Scorecard, optional
        Scales (for the scale range and chance agreement) and weights (for the
        alignment score); without it, weight 1.
    categories : sequence or mapping, optional
        The full numeric scale, one list for every criterion or a mapping
        criterion -> list; overrides the scorecard's scale. Without either, a
        criterion's scale is the values seen (so its range may be too narrow),
        and ``note`` says so.
    unit, rater, value : str
        Column names.
    by_item : bool
        One row per rater x criterion instead of per rater.
    tolerance : float
        Smallest mean deviation, as a share of the scale range, that counts as
        lenient or severe (default 0.05, i.e. 0.2 points on a 1-5 scale).
    ci, n_boot, seed
        Bootstrap percentile intervals, resampling units (tickets).

    Returns
    -------
    DataFrame
        One row per rater (and criterion): ``rater_id, [criterion], role,
        reference, n_units, n_ratings, match_rate (+ _ci_low/_ci_high),
        agreement_ac1, deviation (+ CI), deviation_share (+ CI), alignment (+ CI),
        verdict, note`` (``note``: criteria whose scale was taken from the values seen).

    Notes
    -----
    For each rating ``x`` with reference distribution ``q`` over the scale
    (one-hot for a single expert; the other raters' shares for consensus) and
    reference mean ``x_ref``:

    - ``match_rate``: mean of ``q[x]`` (share of reference ratings equal to x);
    - ``agreement_ac1``: Gwet's AC1 of rater vs reference, ``(p_o - p_e)/(1 - p_e)``
      with ``p_o`` the match rate and ``p_e`` the AC1 chance agreement computed
      within each criterion (``pi = (rater shares + reference shares) / 2``,
      ``p_e = sum pi (1 - pi) / (q - 1)``) and averaged over criteria by count;
      no interval;
    - ``deviation``: mean ``x - x_ref`` in scale points (positive = lenient;
      pooled over criteria it mixes scales) and ``deviation_share``: the same
      divided by each criterion's scale range, comparable across 0/1 and 1-5 items;
    - ``alignment``: MaestroQA's calibration score, ``1 - |x - x_ref| / range``
      per criterion, weighted by the scorecard weights;
    - ``verdict``: ``lenient`` if ``deviation_share >= tolerance`` and its
      interval lies above 0 (``severe`` mirror-wise), else ``aligned``.

    Ratings with no reference (no expert on that item; a lone rater) are left
    out. Intervals resample units (tickets) with replacement, all raters jointly.

    References
    ----------
    .. [1] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.
    .. [2] MaestroQA help centre, "Calibrations": alignment score
       ``1 - |grader - calibrator| / (max - min)`` per question, weighted.
    .. [3] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 1, 2, 2, 2], "rater_id": ["x", "s1", "s2"] * 2,
    ...                    "role": ["expert", "specialist", "specialist"] * 2,
    ...                    "criterion": "tone", "score": [3, 4, 3, 2, 3, 2]})
    >>> rater_calibration(df, ci=None)[["rater_id", "match_rate", "deviation", "verdict"]]
      rater_id  match_rate  deviation  verdict
    0       s1         0.0        1.0  lenient
    1       s2         1.0        0.0  aligned
    """
    if reference not in ("expert", "consensus"):
        raise ValueError(f"reference must be 'expert' or 'consensus', got {reference!r}")
    _check_columns(data, {"unit": unit, "rater": rater, "value": value, "item": item})
    _check_ci(ci, n_boot)
    if not pd.api.types.is_numeric_dtype(data[value].dtype):
        raise ValueError(
            f"rater_calibration needs numeric scores; column {value!r} has dtype {data[value].dtype}"
        )
    u, ulab = _codes(data[unit], unit)
    rr, rlab = _codes(data[rater], rater)
    order = _criteria_order(data, item, scorecard)
    k_all, klab = _codes(data[item], item)
    _check_duplicates(
        _where(data.index),
        [u, k_all, rr],
        [len(ulab), len(klab), len(rlab)],
        [ulab, klab, rlab],
        [unit, item, rater],
    )
    v = data[value].to_numpy(dtype=float, na_value=np.nan)
    has_role = role in data.columns
    expert = (
        (data[role] == expert_role).to_numpy(dtype=bool, na_value=False)
        if has_role
        else np.zeros(len(data), bool)
    )
    mode = "expert" if reference == "expert" and expert.any() else "consensus"
    ref_label = mode if mode == reference else "consensus (no expert in data)"
    U, R = len(ulab), len(rlab)
    kpos = {c: i for i, c in enumerate(klab)}
    parts, pe_parts = [], []
    guessed = np.zeros(len(order), bool)
    for ki, cid in enumerate(order):
        rows = np.flatnonzero((k_all == kpos[cid]) & ~np.isnan(v))
        if rows.size == 0:
            continue
        vv = v[rows]
        scale = _item_categories(cid, scorecard, categories)
        weight = float(scorecard[cid].weight) if scorecard is not None else 1.0
        if scale is None:
            cats = np.unique(vv)
            guessed[ki] = True
        else:
            try:
                cats = np.unique(np.asarray(scale, dtype=float))
            except (TypeError, ValueError):
                raise ValueError(
                    f"categories for criterion {_py(cid)!r} must be numbers, got {_show(scale)}"
                ) from None
            if cats.size == 0 or np.isnan(cats).any():
                raise ValueError(
                    f"categories for criterion {_py(cid)!r} must be numbers, got {_show(scale)}"
                )
        span = float(cats[-1] - cats[0])
        pos = np.clip(np.searchsorted(cats, vv), 0, len(cats) - 1)
        bad = cats[pos] != vv
        if bad.any():
            raise ValueError(
                f"column {value!r}: criterion {_py(cid)!r} has value(s) "
                f"{_show(np.unique(vv[bad]))} outside its scale {_show(cats, 50)} "
                f"({_rows(data.index, rows[bad])})"
            )
        C = len(cats)
        uu, ri, ex = u[rows], rr[rows], expert[rows]
        ref = ex if mode == "expert" else np.ones(rows.size, bool)
        cand = ~ex if mode == "expert" else np.ones(rows.size, bool)
        Nref = np.bincount(uu[ref] * C + pos[ref], minlength=U * C).reshape(U, C).astype(float)
        mref = Nref.sum(axis=1)
        sref = np.bincount(uu[ref], weights=vv[ref], minlength=U)
        ci_idx = np.flatnonzero(cand)
        cu, cx, cv = uu[ci_idx], pos[ci_idx], vv[ci_idx]
        cnt = Nref[cu]
        m = mref[cu].copy()
        s = sref[cu].copy()
        if mode == "consensus":
            cnt[np.arange(cu.size), cx] -= 1
            m -= 1
            s -= cv
        ok = m > 0
        cnt, m, s, cu, cx, cv = cnt[ok], m[ok], s[ok], cu[ok], cx[ok], cv[ok]
        crater = ri[ci_idx][ok]
        q = cnt / m[:, None]
        dev = cv - s / m
        share = _div(dev, span) if span > 0 else np.zeros(dev.size)
        parts.append(
            pd.DataFrame(
                {
                    "rater": crater,
                    "unit": cu,
                    "crit": ki,
                    "match": q[np.arange(cu.size), cx],
                    "dev": dev,
                    "share": share,
                    "walign": weight * (1 - np.abs(share)),
                    "w": np.full(cu.size, weight),
                }
            )
        )
        # AC1 chance agreement per rater within this criterion
        onehot = np.zeros((cu.size, C))
        onehot[np.arange(cu.size), cx] = 1.0
        n_r = np.bincount(crater, minlength=R).astype(float)
        pi = (_sum_by(crater, R, onehot) + _sum_by(crater, R, q)) * _div(1.0, 2 * n_r)[:, None]
        pe = (pi * (1 - pi)).sum(axis=1) / (C - 1) if C > 1 else np.full(R, np.nan)
        pe_parts.append(pd.DataFrame({"rater": np.arange(R), "crit": ki, "n": n_r, "pe": pe}))
    cols_out = (
        [rater]
        + ([item] if by_item else [])
        + [
            "role",
            "reference",
            "n_units",
            "n_ratings",
            "match_rate",
            "match_rate_ci_low",
            "match_rate_ci_high",
            "agreement_ac1",
            "deviation",
            "deviation_ci_low",
            "deviation_ci_high",
            "deviation_share",
            "deviation_share_ci_low",
            "deviation_share_ci_high",
            "alignment",
            "alignment_ci_low",
            "alignment_ci_high",
            "verdict",
            "note",
        ]
    )
    if not parts:
        return pd.DataFrame(columns=cols_out)
    P = pd.concat(parts, ignore_index=True)
    if P.empty:
        return pd.DataFrame(columns=cols_out)
    PE = pd.concat(pe_parts, ignore_index=True)
    PE = PE[PE["n"] > 0]
    K = len(order)
    g = P["rater"].to_numpy() * K + P["crit"].to_numpy() if by_item else P["rater"].to_numpy()
    gcodes, gkeys = _int_codes(g)
    units, ucode = np.unique(P["unit"].to_numpy(), return_inverse=True)
    nG, nU = gkeys.size, units.size
    metrics = np.column_stack(
        [np.ones(len(P)), P[["match", "dev", "share", "walign", "w"]].to_numpy()]
    )
    # per (group, unit) sums as one sparse matrix per metric, stacked: (nG*6) x nU
    S = sparse.csr_matrix(
        (
            metrics.T.ravel(),
            ((np.arange(6)[:, None] * nG + gcodes[None, :]).ravel(), np.tile(ucode, 6)),
        ),
        shape=(6 * nG, nU),
    )

    def ratios(T: np.ndarray) -> np.ndarray:  # T: (6*nG) x B
        T = T.reshape(6, nG, -1)
        n, w = T[0], T[5]
        return np.stack([_div(T[1], n), _div(T[2], n), _div(T[3], n), _div(T[4], w)])

    point = ratios(np.asarray(S.sum(axis=1)))[:, :, 0]
    lo = hi = np.full(point.shape, np.nan)
    if ci is not None and nU >= 2:
        rng = np.random.default_rng(seed)
        boots = np.concatenate(
            [
                ratios(np.asarray(S @ W.T))
                for W in _weight_chunks(np.ones(nU), np.arange(nU), n_boot, rng, "units")
            ],
            axis=2,
        )  # 4 x nG x B
        qs = _quantiles(boots.reshape(-1, boots.shape[2]).T, [(1 - ci) / 2, (1 + ci) / 2])
        lo, hi = qs[0].reshape(point.shape), qs[1].reshape(point.shape)
    n_ratings = np.bincount(gcodes, minlength=nG)
    pair = np.unique(gcodes.astype(np.int64) * nU + ucode)
    n_units = np.bincount(pair // nU, minlength=nG)
    # AC1 against the reference
    pg = PE["rater"].to_numpy() * K + PE["crit"].to_numpy() if by_item else PE["rater"].to_numpy()
    pe_num = pd.Series(PE["n"].to_numpy() * PE["pe"].to_numpy()).groupby(pg).sum()
    pe_den = pd.Series(PE["n"].to_numpy()).groupby(pg).sum()
    pe_g = _div(pe_num.reindex(gkeys).to_numpy(), pe_den.reindex(gkeys).to_numpy())
    po = point[0]
    ac1 = _div(po - pe_g, 1 - pe_g)
    share, s_lo, s_hi = point[2], lo[2], hi[2]
    with np.errstate(invalid="ignore"):
        len_ok = (share >= tolerance) & ((s_lo > 0) if ci is not None else True)
        sev_ok = (share <= -tolerance) & ((s_hi < 0) if ci is not None else True)
    verdict = np.where(len_ok, "lenient", np.where(sev_ok, "severe", "aligned"))
    verdict = np.where(np.isfinite(share), verdict, "undefined")
    rater_idx = gkeys // K if by_item else gkeys
    roles = (
        data.groupby(rr)[role].first().reindex(rater_idx).to_numpy()
        if has_role
        else np.full(nG, None)
    )
    out = {rater: rlab[rater_idx]}
    if by_item:
        out[item] = np.asarray(order, dtype=object)[gkeys % K]
    out.update(
        {
            "role": roles,
            "reference": ref_label,
            "n_units": n_units,
            "n_ratings": n_ratings,
            "match_rate": point[0],
            "match_rate_ci_low": lo[0],
            "match_rate_ci_high": hi[0],
            "agreement_ac1": ac1,
            "deviation": point[1],
            "deviation_ci_low": lo[1],
            "deviation_ci_high": hi[1],
            "deviation_share": share,
            "deviation_share_ci_low": s_lo,
            "deviation_share_ci_high": s_hi,
            "alignment": point[3],
            "alignment_ci_low": lo[3],
            "alignment_ci_high": hi[3],
            "verdict": verdict,
            "note": _guess_notes(gcodes, P["crit"].to_numpy(), nG, order, guessed),
        }
    )
    return pd.DataFrame(out, columns=cols_out)


def _guess_notes(
    gcodes: np.ndarray, crit: np.ndarray, n_groups: int, order: list[Any], guessed: np.ndarray
) -> np.ndarray:
    """Per group: which of its criteria had their scale taken from the values seen."""
    notes = np.full(n_groups, "", dtype=object)
    if not guessed.any():
        return notes
    K = len(order)
    pairs = np.unique(gcodes.astype(np.int64) * K + crit)
    pairs = pairs[guessed[pairs % K]]
    names = pd.Series([str(_py(order[c])) for c in pairs % K], index=pairs // K)
    for g, crits in names.groupby(level=0, sort=False):  # one pass per rater (a handful)
        notes[g] = (
            f"scale of {', '.join(crits)} taken from the values seen; "
            "pass scorecard= or categories= for the full range"
        )
    return notes


def rater_calibration_by_item(data: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    """Rater x criterion calibration table: :func:`rater_calibration` with ``by_item=True``.

    Parameters
    ----------
    data : DataFrame
        Long calibration table.
    **kwargs
        Any keyword of :func:`rater_calibration` except ``by_item``.

    Returns
    -------
    DataFrame
        One row per rater x criterion (the columns of :func:`rater_calibration`
        plus the criterion), ready for a deviation heatmap.

    References
    ----------
    .. [1] See :func:`rater_calibration`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2], "rater_id": ["x", "s"] * 2,
    ...                    "role": ["expert", "specialist"] * 2,
    ...                    "criterion": ["tone", "tone", "greeting", "greeting"],
    ...                    "score": [3, 4, 1, 1]})
    >>> rater_calibration_by_item(df, ci=None)[["rater_id", "criterion", "deviation"]]
      rater_id criterion  deviation
    0        s      tone        1.0
    1        s  greeting        0.0
    """
    kwargs["by_item"] = True
    return rater_calibration(data, **kwargs)


# --------------------------------------------------------------------------- discussion list
def disagreements(
    data: pd.DataFrame,
    *,
    item: str = "criterion",
    scorecard: Any = None,
    categories: Mapping[Any, Sequence[float]] | Sequence[float] | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    top: int | None = None,
) -> pd.DataFrame:
    """Tickets ranked by how much they split the raters: the next session's discussion list.

    Parameters
    ----------
    data : DataFrame
        Long calibration table.
    item : str
        Criterion column.
    scorecard : Scorecard, optional
        Scale ranges and the order of the criterion columns.
    categories : sequence or mapping, optional
        The full numeric scale, one list for every criterion or a mapping
        criterion -> list; overrides the scorecard's. Without either, a
        criterion's range is the range of the values seen (so a split on an
        item where nobody used the scale's ends looks larger).
    unit, rater, value : str
        Column names.
    top : int, optional
        Keep only the ``top`` most divisive tickets.

    Returns
    -------
    DataFrame
        One row per ticket, most divisive first: ``rank, <unit>, n_raters,
        split`` (mean over criteria of the mean absolute difference between
        two raters' scores, as a share of the scale range: 0 = unanimous,
        1 = raters at opposite ends), ``n_split`` (criteria on which raters
        differ), ``most_split`` (criterion with the largest split), then one
        column per criterion with the *spread* of its scores (max - min, in
        scale points; NaN when fewer than two raters scored it, and an all-NaN
        column for a criterion nobody scored).

    Notes
    -----
    The mean absolute pairwise difference of ``m`` sorted scores is
    ``2 sum_i (2i - m - 1) x_(i) / (m (m - 1))`` (Gini's mean difference).

    References
    ----------
    .. [1] Yitzhaki, S. (2003). Gini's mean difference: a superior measure of
       variability for non-normal distributions. Metron, 61(2), 285-316.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ticket_id": [1, 1, 2, 2], "rater_id": ["a", "b"] * 2,
    ...                    "criterion": "tone", "score": [5, 5, 1, 5]})
    >>> disagreements(df)[["ticket_id", "split", "tone"]]
       ticket_id  split  tone
    0          2    1.0   4.0
    1          1    0.0   0.0
    """
    _check_columns(data, {"item": item, "unit": unit, "rater": rater, "value": value})
    order = _criteria_order(data, item, scorecard)
    u, ulab = _codes(data[unit], unit)
    k, klab = _codes(data[item], item)
    rr, rlab = _codes(data[rater], rater)
    _check_duplicates(
        _where(data.index),
        [u, k, rr],
        [len(ulab), len(klab), len(rlab)],
        [ulab, klab, rlab],
        [unit, item, rater],
    )
    if not pd.api.types.is_numeric_dtype(data[value].dtype):
        raise ValueError(
            f"disagreements needs numeric scores; column {value!r} has dtype {data[value].dtype}"
        )
    v = data[value].to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(v)
    u, k, v = u[keep], k[keep], v[keep]
    K = len(klab)
    span = np.ones(K)
    for i, c in enumerate(klab):
        scale = _item_categories(c, scorecard, categories)
        if scale is not None:
            try:
                sv = np.asarray(scale, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(
                    f"categories for criterion {_py(c)!r} must be numbers, got {_show(scale)}"
                ) from None
            span[i] = float(np.ptp(sv)) if sv.size and not np.isnan(sv).any() else 0.0
        else:
            vals = v[k == i]
            span[i] = (vals.max() - vals.min()) if vals.size else 0.0
    grp = u * K + k
    o = np.lexsort((v, grp))
    gs, vs = grp[o], v[o]
    gcode, gkeys = _int_codes(gs)
    m = np.bincount(gcode)
    start = np.cumsum(m) - m
    rank1 = np.arange(gs.size) - start[gcode] + 1
    gmd_num = np.bincount(gcode, weights=(2 * rank1 - m[gcode] - 1) * vs)
    gmd = _div(2 * gmd_num, m * (m - 1))
    # rows are sorted by (group, value): the first and last of a group are its min and max
    spread = np.where(m >= 2, vs[start + m - 1] - vs[start], np.nan)
    gu, gk = gkeys // K, gkeys % K
    share = np.where(span[gk] > 0, _div(gmd, span[gk]), np.where(m >= 2, 0.0, np.nan))
    long = pd.DataFrame(
        {
            "u": gu,
            "k": gk,
            "share": share,
            "spread": spread,
            "differ": (np.nan_to_num(spread) > 0).astype(int),
        }
    )
    valid = long[np.isfinite(long["share"])]
    t = valid.groupby("u").agg(split=("share", "mean"), n_split=("differ", "sum"))
    idx = (
        valid.sort_values(["u", "share"], ascending=[True, False], kind="stable")
        .groupby("u")
        .head(1)
    )
    most = pd.Series(
        np.where(idx["share"].to_numpy() > 0, klab[idx["k"].to_numpy()], None),
        index=idx["u"].to_numpy(),
    )
    wide = long.pivot(index="u", columns="k", values="spread")
    wide.columns = [klab[c] for c in wide.columns]
    wide = wide.reindex(columns=order)  # criteria nobody scored: all-NaN columns
    n_raters = pd.Series(rr[keep]).groupby(u).nunique()
    res = pd.DataFrame(
        {
            unit: ulab[t.index.to_numpy()],
            "n_raters": n_raters.reindex(t.index).to_numpy(),
            "split": t["split"].to_numpy(),
            "n_split": t["n_split"].to_numpy(),
            "most_split": most.reindex(t.index).to_numpy(),
        }
    )
    res = pd.concat([res, wide.reindex(t.index).reset_index(drop=True)], axis=1)
    res = res.sort_values(["split", "n_split"], ascending=False, kind="stable").reset_index(
        drop=True
    )
    res.insert(0, "rank", np.arange(1, len(res) + 1))
    return res.head(top) if top is not None else res
