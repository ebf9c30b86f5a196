"""The counts-and-patterns engine shared by every coefficient (private).

A long table of ratings becomes integer codes (:func:`_prepare`), then a unit x
category count matrix compressed to its distinct rating patterns
(:func:`_block`). Every coefficient is a smooth function of sums over patterns
of per-pattern features; see the package docstring of
:mod:`qa_analysis.reliability` for the method. This module also holds the
result object :class:`Agreement`, the row-reference helpers used in error
messages and the per-criterion scale lookups shared by the tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import sparse

from qa_analysis.errors import DataError

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic", "ordinal"]
LEVELS: tuple[Level, ...] = get_args(Level)
# memory budgets (number of float64 entries) for dense intermediates; read at call
# time as module attributes (tests lower them to exercise the sparse paths)
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
        Bootstrap percentile interval (NaN when ``confidence=None`` or not computable).
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
        """The estimate, so ``float(result)`` works."""
        return float(self.estimate)

    def __repr__(self) -> str:
        """One line: name, estimate, interval, counts and the note if any."""
        ci = (
            f" [{self.ci_low:.3f}, {self.ci_high:.3f}]"
            if np.isfinite(self.ci_low) and np.isfinite(self.ci_high)
            else ""
        )
        note = f", note={self.note!r}" if self.note else ""
        return (
            f"Agreement({self.coefficient} = {self.estimate:.3f}{ci}, n_units={self.n_units}, "
            f"n_raters={self.n_raters}, n_pairable={self.n_pairable}{note})"
        )


# --------------------------------------------------------------------------- helpers
def _data_error(message: str) -> DataError:
    """A :class:`~qa_analysis.errors.DataError` about the caller's ``data`` table."""
    return DataError("data", message)


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
            raise _data_error(
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
        raise _data_error(f"column {col!r} has missing ids ({where(bad)})")
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
        raise _data_error(
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
            raise _data_error(f"{what} needs numeric scores; column {value!r} has dtype {s.dtype}")
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
                raise _data_error(
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
            raise _data_error(
                f"column {value!r}: value(s) {_show(pd.unique(vk[code < 0]))} not in "
                f"categories {_show(cats, 50)} ({where(rows)})"
            )
        if numeric:
            raise _data_error(f"{what} needs numeric scores; column {value!r} is not numeric")
    if len(cats) > _MAX_CATEGORIES:
        raise _data_error(
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
        raise _data_error(f"{what} needs numeric categories, got {_show(r.cats)}")
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


def _pairable(b: _Block) -> tuple[int, np.ndarray]:
    """Number of pairable ratings and the category codes used among them."""
    m = _row_sums(b.counts)
    ok = m >= 2
    n_pair = round(float((b.mult * m)[ok].sum()))
    used = np.flatnonzero(np.asarray(b.counts[ok].sum(axis=0)).ravel() > 0)
    return n_pair, used


_COMMON_PARAMS = """unit, rater, value : str
        Column names of the long table (one row per rating; NaN = missing).
    categories : sequence, optional
        The full scale; unused levels count (they change the chance term).
    confidence : float or None
        Confidence level of the bootstrap percentile interval; None for none.
    n_boot : int, optional
        Bootstrap resamples (units resampled with replacement); default
        ``thresholds.n_boot`` of ``params/defaults.yaml`` (1000).
    seed : int, Generator or None
        Bootstrap seed; same seed, same interval.
    bootstrap : {"auto", "patterns", "units"}
        Resampling implementation (see the package notes)."""


def _fill_common(*funcs: Callable[..., Any]) -> None:
    """Put the shared parameter descriptions in place of ``{common}`` in docstrings."""
    for f in funcs:
        if f.__doc__:
            f.__doc__ = f.__doc__.replace("{common}", _COMMON_PARAMS)


# --------------------------------------------------------------------------- per-criterion scales
def _criteria_order(data: pd.DataFrame, item: str, scorecard: Any) -> list[Any]:
    """Criteria present in ``data``, in scorecard order (else order of appearance)."""
    present = list(pd.unique(data[item].dropna()))
    if scorecard is None:
        return present
    unknown = [c for c in present if c not in scorecard]
    if unknown:
        rows = np.flatnonzero(data[item].isin(unknown).to_numpy())
        raise _data_error(
            f"column {item!r}: criteria {_show(unknown)} are not in the scorecard "
            f"{getattr(scorecard, 'source', '')} ({_rows(data.index, rows)})"
        )
    return [c for c in scorecard.ids if c in set(present)]


def _item_categories(cid: Any, scorecard: Any, categories: Any) -> list[Any] | None:
    """The full scale of a criterion, or None when unknown.

    ``categories`` (one list for every criterion, or a mapping criterion ->
    list) wins, else the scorecard's scale.
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
