"""Audit sampling: sample sizes, allocation, reproducible stratified draws, coverage.

Quality teams cannot audit every ticket. This module answers the questions
around a sampled audit programme:

* how many tickets to audit for a given precision (:func:`sample_size`,
  :func:`sample_size_mean`) and what a given volume buys
  (:func:`margin_of_error`);
* how to spread them over strata such as agents, channels or regions
  (:func:`allocate`: proportional, Neyman or equal allocation with
  largest-remainder rounding, bounds and minimums);
* which tickets to take (:func:`draw`, :func:`audit_plan`): reproducible
  stratified order sampling driven by a permanent random number per ticket,
  optionally with probability proportional to a risk measure;
* which tickets to bring to a calibration session (:func:`calibration_set`);
* how precise the resulting estimates are (:func:`estimate_rate`) and how the
  audits done compare with the plan (:func:`coverage`).

Permanent random numbers
------------------------
Every ticket gets a random number that depends only on ``(seed, ticket id)``:
the id is hashed to 64 bits (FNV-1a over its UTF-8 bytes for text ids,
SplitMix64 of the value for integer ids), XOR-ed with SplitMix64(seed) and
passed through the SplitMix64 finaliser again (Steele, Lea & Flood 2014). The
computation is vectorised numpy integer arithmetic, so it is identical
across processes, platforms and Python's hash randomisation. A stratum takes
the tickets with the lowest numbers (order sampling), so a draw does not
depend on the row order of the population and adding or removing tickets in
one stratum never changes the selection in another. Note that the integer id
``5`` and the text id ``"5"`` get different numbers.

Seeds
-----
Every ``seed=`` takes an int, a :class:`numpy.random.Generator` or None. The
permanent random numbers need an integer: a Generator gives one integer drawn
uniformly from [0, 2**63) (``seed.integers(0, 2**63)``, which advances it),
None one from fresh entropy (a plan that cannot be drawn again). Pass an int
to draw the same plan again later.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from qa_analysis._checks import Seed, TableResult
from qa_analysis._checks import require_columns as _require_columns
from qa_analysis._checks import require_frame as _require_frame
from qa_analysis._checks import row_refs as _row_refs
from qa_analysis._checks import seed_int as _seed_int
from qa_analysis._checks import z_value as _z
from qa_analysis.errors import DataError, ParamsError

if TYPE_CHECKING:
    from qa_analysis.scorecard import Scorecard

__all__ = [
    "AuditPlan",
    "CalibrationSet",
    "Estimate",
    "allocate",
    "audit_plan",
    "calibration_set",
    "coverage",
    "draw",
    "estimate_rate",
    "margin_of_error",
    "period_seed",
    "sample_size",
    "sample_size_mean",
]

# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------

_CHUNK = 1 << 20  # rows per chunk in the vectorised hashing / filtering passes


def _check_population(population: int | None) -> int | None:
    if population is None:
        return None
    if not isinstance(population, numbers.Integral) or population < 1:
        raise ValueError(f"population must be a positive integer or None, got {population!r}")
    return int(population)


#: Allocation methods of :func:`allocate`.
AllocationMethod = Literal["proportional", "neyman", "equal"]


# ---------------------------------------------------------------------------
# sample sizes and margins
# ---------------------------------------------------------------------------


def sample_size(
    *,
    margin: float = 0.05,
    confidence: float = 0.95,
    p: float = 0.5,
    population: int | None = None,
) -> int:
    """Audits needed to estimate a pass rate within ``margin``.

    Every argument is keyword-only: ``sample_size(0.85, 0.05)`` could mean a
    margin of 0.85 or a pass rate of 0.85, so it is refused.

    Parameters
    ----------
    margin : float
        Half-width of the confidence interval, as a proportion (0.05 = +/-5 points).
    confidence : float
        Confidence level of the interval.
    p : float
        Anticipated pass rate; 0.5 (the default) is the conservative choice.
    population : int, optional
        Number of tickets in the population; applies the finite-population
        correction. ``None`` means an infinite population.

    Returns
    -------
    int
        The sample size, rounded up.

    Notes
    -----
    With :math:`z` the normal quantile for ``confidence``,
    :math:`n_0 = z^2 p (1-p) / e^2` and, for a population of :math:`N`,

    .. math:: n = \\frac{z^2 N p(1-p)}{e^2 (N-1) + z^2 p(1-p)} = \\frac{n_0}{1 + (n_0 - 1)/N},

    the formula of Krejcie & Morgan (1970), whose table (with :math:`\\chi^2_1 = 3.841`)
    this reproduces within one ticket.

    References
    ----------
    .. [1] Krejcie, R. V. & Morgan, D. W. (1970). Determining sample size for
       research activities. *Educational and Psychological Measurement*, 30, 607-610.
    .. [2] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., section 4.4. Wiley.

    Examples
    --------
    >>> sample_size()
    385
    >>> sample_size(population=1000)
    278
    """
    if not (0.0 < margin < 1.0):
        raise ValueError(f"margin must be strictly between 0 and 1, got {margin!r}")
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"p must be between 0 and 1, got {p!r}")
    z = _z(confidence)
    n0 = z * z * p * (1.0 - p) / (margin * margin)
    return _finite(n0, _check_population(population))


def _finite(n0: float, population: int | None) -> int:
    n = n0 if population is None else n0 * population / (n0 + population - 1.0)
    n = max(1, math.ceil(n - 1e-9))
    return n if population is None else min(n, population)


def sample_size_mean(
    *,
    sd: float,
    margin: float,
    confidence: float = 0.95,
    population: int | None = None,
) -> int:
    """Audits needed to estimate a mean score within ``margin``.

    Parameters
    ----------
    sd : float
        Anticipated standard deviation of the score (e.g. from last period).
    margin : float
        Half-width of the confidence interval, in score units.
    confidence : float
        Confidence level.
    population : int, optional
        Population size for the finite-population correction.

    Returns
    -------
    int
        The sample size, rounded up.

    Notes
    -----
    :math:`n_0 = (z \\sigma / e)^2` and :math:`n = n_0 / (1 + (n_0 - 1)/N)`.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., section 4.3. Wiley.

    Examples
    --------
    >>> sample_size_mean(sd=12.0, margin=2.0)
    139
    """
    if not (sd >= 0 and np.isfinite(sd)):
        raise ValueError(f"sd must be a non-negative number, got {sd!r}")
    if not (margin > 0 and np.isfinite(margin)):
        raise ValueError(f"margin must be positive, got {margin!r}")
    z = _z(confidence)
    n0 = (z * sd / margin) ** 2
    return _finite(n0, _check_population(population))


def margin_of_error(
    n: int | Sequence[int] | np.ndarray,
    *,
    confidence: float = 0.95,
    p: float = 0.5,
    population: int | Sequence[int] | np.ndarray | None = None,
) -> float | np.ndarray:
    """Margin of error of a pass rate estimated from ``n`` audits.

    The inverse of :func:`sample_size`: what an audit volume buys.

    Parameters
    ----------
    n : int or array-like
        Number of audits (vectorised).
    confidence : float
        Confidence level.
    p : float
        Assumed pass rate (0.5 = worst case).
    population : int or array-like, optional
        Population size(s) for the finite-population correction; a NaN entry
        means the size is unknown (no correction for that entry).

    Returns
    -------
    float or numpy.ndarray
        Half-width of the interval; NaN where ``n`` is 0, 0 where the whole
        population is audited.

    Notes
    -----
    :math:`e = z \\sqrt{p(1-p)/n} \\sqrt{(N-n)/(N-1)}`, which solves the
    Krejcie-Morgan formula of :func:`sample_size` for :math:`e`.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., section 4.4. Wiley.
    .. [2] Krejcie, R. V. & Morgan, D. W. (1970). *Educational and Psychological
       Measurement*, 30, 607-610.

    Examples
    --------
    >>> round(margin_of_error(385), 4)
    0.0499
    >>> round(margin_of_error(278, population=1000), 4)
    0.05
    """
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"p must be between 0 and 1, got {p!r}")
    z = _z(confidence)
    n_arr = np.asarray(n, dtype=float)
    if np.any(n_arr < 0) or np.any(~np.isfinite(n_arr)):
        raise ValueError("n must be non-negative and finite")
    with np.errstate(divide="ignore", invalid="ignore"):
        e = z * np.sqrt(p * (1.0 - p) / n_arr)
        if population is not None:
            N = np.asarray(population, dtype=float)
            known = np.isfinite(N)
            if np.any(known & (n_arr > N)):
                raise ValueError("n cannot exceed population")
            fpc = np.where(N > 1, (N - n_arr) / np.where(N > 1, N - 1.0, 1.0), 0.0)
            e = e * np.sqrt(np.clip(np.where(known, fpc, 1.0), 0.0, None))
    e = np.where(n_arr > 0, e, np.nan)
    return float(e) if e.ndim == 0 else e


# ---------------------------------------------------------------------------
# allocation
# ---------------------------------------------------------------------------


def _as_series(x: pd.Series | Mapping | Sequence | np.ndarray, name: str) -> pd.Series:
    s = x.copy() if isinstance(x, pd.Series) else pd.Series(x)
    if s.isna().any():
        raise ValueError(f"{name}: missing values at {list(s.index[s.isna()][:5])}")
    if not pd.api.types.is_numeric_dtype(s):
        raise ValueError(f"{name}: must be numeric, got dtype {s.dtype}")
    return s


def _water_fill(w: np.ndarray, lo: np.ndarray, up: np.ndarray, total: float) -> np.ndarray:
    """Continuous x = clip(lam * w, lo, up) with sum(x) == total (lo.sum() <= total <= up.sum())."""
    x = lo.astype(float).copy()
    pos = w > 0
    cap = up[pos].sum() + lo[~pos].sum()
    if total >= cap:
        # weights alone cannot absorb the total: fill the positive-weight strata and
        # spread the rest over the zero-weight strata in proportion to their room
        x[pos] = up[pos]
        if total > cap:
            zero = ~pos
            x[zero] = _water_fill(up[zero] - lo[zero], lo[zero], up[zero], total - up[pos].sum())
        return x
    if not pos.any():
        return x
    wp, lp, up_ = w[pos], lo[pos].astype(float), up[pos].astype(float)
    rest = total - lo[~pos].sum()
    lam_lo, lam_hi = 0.0, float(np.max(up_ / wp))
    for _ in range(200):  # bisection on a scalar; each step is vectorised over strata
        mid = 0.5 * (lam_lo + lam_hi)
        if np.clip(mid * wp, lp, up_).sum() < rest:
            lam_lo = mid
        else:
            lam_hi = mid
    lam = 0.5 * (lam_lo + lam_hi)
    xp = np.clip(lam * wp, lp, up_)
    free = (lam * wp > lp) & (lam * wp < up_)
    if free.any():  # exact rescale of the unconstrained strata
        fixed = xp[~free].sum()
        xp[free] = np.clip((rest - fixed) * wp[free] / wp[free].sum(), lp[free], up_[free])
    x[pos] = xp
    return x


def _largest_remainder(x: np.ndarray, lo: np.ndarray, up: np.ndarray, total: int) -> np.ndarray:
    fl = np.clip(np.floor(x + 1e-9), lo, up).astype(np.int64)
    r = int(total - fl.sum())
    frac = x - fl
    if r > 0:
        room = np.flatnonzero(fl < up)
        order = room[np.argsort(-frac[room], kind="stable")]
        fl[order[:r]] += 1
    elif r < 0:  # only through floating-point noise
        room = np.flatnonzero(fl > lo)
        order = room[np.argsort(frac[room], kind="stable")]
        fl[order[:-r]] -= 1
    return fl


def allocate(
    sizes: pd.Series | Mapping | Sequence[int],
    n: int,
    *,
    method: AllocationMethod = "proportional",
    sd: pd.Series | Mapping | Sequence[float] | None = None,
    minimum: int | pd.Series | Mapping = 0,
) -> pd.Series:
    """Allocate ``n`` audits over strata.

    Parameters
    ----------
    sizes : Series, mapping or sequence
        Stratum sizes (number of tickets), indexed by stratum.
    n : int
        Total number of audits.
    method : {"proportional", "neyman", "equal"}
        ``proportional``: :math:`n_h \\propto N_h`; ``neyman``: :math:`n_h \\propto N_h S_h`
        (optimal for a stratified mean, needs ``sd``); ``equal``: the same in every
        non-empty stratum.
    sd : Series, mapping or sequence, optional
        Per-stratum standard deviations :math:`S_h` (Neyman only), aligned on ``sizes``.
    minimum : int or Series
        Per-stratum minimum; a stratum smaller than its minimum is taken whole.

    Returns
    -------
    pandas.Series
        Integer allocation indexed like ``sizes`` (name ``"n"``); sums to ``n``,
        never exceeds a stratum's size and honours the minimums.

    Raises
    ------
    ValueError
        If ``n`` exceeds the population or is below the sum of the minimums, or
        on negative sizes / standard deviations.

    Notes
    -----
    The continuous allocation is :math:`x_h = \\min(N_h, \\max(m_h, \\lambda w_h))` with
    :math:`w_h` the method's weight, :math:`m_h = \\min(\\text{minimum}_h, N_h)`, and
    :math:`\\lambda` chosen so that :math:`\\sum x_h = n` (strata capped at their size or
    raised to their minimum drop out and the rest is re-spread, the usual
    iterative treatment of take-all strata). It is then rounded by the
    largest-remainder (Hamilton) method: floors first, the remaining units to
    the largest fractional parts (ties to the earlier stratum).

    References
    ----------
    .. [1] Neyman, J. (1934). On the two different aspects of the representative
       method. *Journal of the Royal Statistical Society*, 97(4), 558-625.
    .. [2] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., sections 5.5-5.9. Wiley.

    Examples
    --------
    >>> allocate(pd.Series({"chat": 600, "email": 300, "phone": 100}), 50).tolist()
    [30, 15, 5]
    >>> allocate(pd.Series({"a": 100, "b": 100}), 10, method="neyman",
    ...          sd=pd.Series({"a": 1.0, "b": 4.0})).tolist()
    [2, 8]
    """
    s = _as_series(sizes, "sizes")
    if (s < 0).any() or not np.allclose(s.to_numpy(dtype=float), np.round(s.to_numpy(dtype=float))):
        bad = np.flatnonzero((s < 0).to_numpy() | (s.to_numpy(dtype=float) % 1 != 0))
        raise ValueError(
            f"sizes must be non-negative integers; {_row_refs(s.index, bad, s.iloc[bad])}"
        )
    N = s.to_numpy(dtype=np.int64)
    if not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if n > N.sum():
        raise ValueError(
            f"n={n} is larger than the population ({int(N.sum())} tickets in all strata)"
        )
    if isinstance(minimum, numbers.Integral):
        m = np.full(len(N), int(minimum), dtype=np.int64)
    else:
        ms = _as_series(minimum, "minimum").reindex(s.index)
        if ms.isna().any():
            raise ValueError(f"minimum: no value for strata {list(s.index[ms.isna()][:5])}")
        m = ms.to_numpy(dtype=np.int64)
    if (m < 0).any():
        raise ValueError("minimum must be non-negative")
    lo = np.minimum(m, N)
    if n < lo.sum():
        raise ValueError(
            f"n={n} cannot honour the per-stratum minimums: they need {int(lo.sum())} audits "
            f"(minimum capped at each stratum's size)"
        )
    if method == "proportional":
        w = N.astype(float)
    elif method == "equal":
        w = (N > 0).astype(float)
    elif method == "neyman":
        if sd is None:
            raise ValueError("method='neyman' needs sd= (per-stratum standard deviations)")
        sds = _as_series(sd, "sd")
        if not isinstance(sd, pd.Series) and len(sds) == len(s):
            sds.index = s.index
        sds = sds.reindex(s.index)
        if sds.isna().any():
            raise ValueError(f"sd: no value for strata {list(s.index[sds.isna()][:5])}")
        if (sds < 0).any():
            bad = np.flatnonzero((sds < 0).to_numpy())
            raise ValueError(f"sd must be non-negative; {_row_refs(s.index, bad, sds.iloc[bad])}")
        w = N * sds.to_numpy(dtype=float)
    else:
        raise ValueError(f"method must be 'proportional', 'neyman' or 'equal', got {method!r}")
    x = _water_fill(w, lo, N, float(n))
    out = _largest_remainder(x, lo, N, int(n))
    return pd.Series(out, index=s.index, name="n")


# ---------------------------------------------------------------------------
# permanent random numbers
# ---------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al. 2014), vectorised; returns a new array."""
    z = x + _GOLDEN
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def _mix_chunked(v: np.ndarray) -> np.ndarray:
    """SplitMix64 of a uint64 array into a new array, chunk by chunk."""
    out = np.empty(len(v), dtype=np.uint64)
    for a in range(0, len(v), _CHUNK):
        out[a : a + _CHUNK] = _splitmix64(v[a : a + _CHUNK])
    return out


def _fnv1a_arrow(arr) -> np.ndarray:
    """64-bit FNV-1a of each string's UTF-8 bytes (pyarrow large_string array, no nulls)."""
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    if n == 0:
        return h
    lengths = np.diff(offsets)
    lmin, lmax = int(lengths.min()), int(lengths.max())
    if lmin == lmax and lmin > 0:  # fixed-width ids: a strided view, no index arrays
        mat = data[offsets[0] : offsets[0] + n * lmin].reshape(n, lmin)
        for j in range(lmin):  # loop over character positions
            h ^= mat[:, j]
            h *= _FNV_PRIME
        return h
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        st, ln, hc = offsets[a:b], lengths[a:b], h[a:b]
        for j in range(lmin):
            hc ^= data[st + j]
            hc *= _FNV_PRIME
        active = np.flatnonzero(ln > lmin)
        for j in range(lmin, lmax):  # positions beyond the shortest id
            active = active[ln[active] > j]
            if active.size == 0:
                break
            hc[active] = (hc[active] ^ data[st[active] + j]) * _FNV_PRIME
    return h


def _id_hash(ids: pd.Series, column: str, what: str = "population") -> np.ndarray:
    """Stable 64-bit hash of ticket ids (before mixing in the seed)."""
    import pyarrow as pa

    missing = ids.isna().to_numpy()
    if missing.any():
        pos = np.flatnonzero(missing)
        raise DataError(
            what, f"column {column!r}: missing ticket ids in {_row_refs(ids.index, pos)}"
        )
    dtype = ids.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = pd.Series(ids.cat.categories)
        return _id_hash(cats, column, what)[ids.cat.codes.to_numpy()]
    if pd.api.types.is_bool_dtype(dtype):
        return _mix_chunked(ids.to_numpy(dtype=np.uint64))
    if pd.api.types.is_integer_dtype(dtype):
        v = ids.to_numpy()
        v = (
            v.astype(np.int64, copy=False)
            if v.dtype.kind == "i"
            else v.astype(np.uint64, copy=False)
        )
        return _mix_chunked(v.view(np.uint64))
    if pd.api.types.is_float_dtype(dtype):
        v = ids.to_numpy(dtype=float)
        bad = np.flatnonzero(v != np.round(v))
        if bad.size:
            raise DataError(
                what,
                f"column {column!r}: ids must be integers or text; "
                f"{_row_refs(ids.index, bad, v[bad], column=column)}",
            )
        return _mix_chunked(v.astype(np.int64).view(np.uint64))
    try:
        if isinstance(dtype, pd.StringDtype | pd.ArrowDtype):
            arr = pa.array(ids.array)
        else:
            arr = pa.array(ids.to_numpy(dtype=object), type=pa.large_string())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        arr = arr.cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        vals = ids.to_numpy(dtype=object)
        bad = np.flatnonzero([not isinstance(v, str) for v in vals[:100_000]])
        raise DataError(
            what,
            f"column {column!r}: ids must be all integers or all text; "
            f"{_row_refs(ids.index, bad, vals[bad], column=column)}",
        ) from exc
    return _fnv1a_arrow(arr)


def _seed64(seed: int) -> np.uint64:
    """SplitMix64 of an integer seed (already resolved by ``_checks.seed_int``)."""
    return _splitmix64(np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]


def _keys(h: np.ndarray, seed: int) -> np.ndarray:
    """Per-ticket 64-bit random keys from id hashes and the seed (overwrites ``h``)."""
    s = _seed64(seed)
    for a in range(0, len(h), _CHUNK):
        h[a : a + _CHUNK] = _splitmix64(h[a : a + _CHUNK] ^ s)
    return h


def _uniform(keys: np.ndarray) -> np.ndarray:
    """Map 64-bit keys to uniforms strictly inside (0, 1)."""
    return ((keys >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _strictly_monotonic(ids: pd.Series) -> bool:
    """O(n) proof of uniqueness for the common case of ids in increasing (or decreasing) order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(ids) < 2:
        return True
    dtype = ids.dtype
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        v = ids.to_numpy()
        return bool((v[1:] > v[:-1]).all() or (v[1:] < v[:-1]).all())
    if isinstance(dtype, pd.StringDtype | pd.ArrowDtype):
        try:
            a = pa.array(ids.array)
            return bool(
                pc.all(pc.less(a[:-1], a[1:])).as_py() or pc.all(pc.greater(a[:-1], a[1:])).as_py()
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return False
    return False


def _check_unique_sorting(
    key: np.ndarray, ids: pd.Series, column: str, seed: int, what: str = "population"
) -> None:
    """Raise on duplicate ids. Sorts ``key`` in place (call it once the keys are used).

    Keys are a bijection of the id hashes for a fixed seed, so equal keys mean
    equal ids (or a 64-bit hash collision, ruled out on the ids themselves).
    Ids already in strictly increasing or decreasing order skip the sort.
    """
    if len(key) < 2 or _strictly_monotonic(ids):
        return
    key.sort()
    eq = key[1:] == key[:-1]
    if not eq.any():
        return
    dup = np.unique(key[1:][eq])
    pos = np.flatnonzero(np.isin(_keys(_id_hash(ids, column, what), seed), dup))
    sub = ids.iloc[pos]
    really = sub.duplicated(keep=False).to_numpy()
    if really.any():
        pos = pos[really]
        raise DataError(
            what,
            f"column {column!r}: duplicate ticket ids in "
            f"{_row_refs(ids.index, pos, ids.iloc[pos], column=column)}",
        )


# ---------------------------------------------------------------------------
# strata
# ---------------------------------------------------------------------------


def _factorize(
    df: pd.DataFrame, col: str, what: str = "population"
) -> tuple[np.ndarray, pd.Index, bool]:
    """Codes (no copy for categoricals: read-only), uniques, and whether the codes are ours."""
    s = df[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        c, u, owned = s.cat.codes.to_numpy(), pd.Index(s.cat.categories), False
    else:
        c, u = pd.factorize(s, sort=True, use_na_sentinel=True)
        u, owned = pd.Index(u), True
    if len(c) and (c < 0).any():
        bad = np.flatnonzero(c < 0)
        raise DataError(
            what, f"column {col!r}: missing stratum values in {_row_refs(df.index, bad)}"
        )
    return c, u, owned


def _bincount(code: np.ndarray, minlength: int) -> np.ndarray:
    """np.bincount chunk by chunk (it casts its input to intp: no full-length copy here)."""
    out = np.zeros(minlength, dtype=np.int64)
    for a in range(0, len(code), _CHUNK):
        out += np.bincount(code[a : a + _CHUNK], minlength=minlength)
    return out


def _remap(code: np.ndarray, remap: np.ndarray) -> None:
    """code[:] = remap[code], chunk by chunk (no full-length temporary)."""
    for a in range(0, len(code), _CHUNK):
        code[a : a + _CHUNK] = remap[code[a : a + _CHUNK]]


def _stratum_codes(
    df: pd.DataFrame, strata: Sequence[str], what: str = "population"
) -> tuple[np.ndarray, pd.Index]:
    """Integer stratum code per row and the observed stratum keys.

    Keys are in sorted order (category order for categorical columns). The
    per-column codes are combined in mixed radix and compressed to the observed
    combinations after each column, in place, in int32 where that fits.
    """
    n = len(df)
    if not strata:
        return np.zeros(n, dtype=np.int32), pd.Index(["all"], name=None)
    code, u0, owned = _factorize(df, strata[0], what)
    uniques = [u0]
    used = np.flatnonzero(_bincount(code, len(u0)))
    if len(used) < len(u0):  # unused categories
        remap = np.zeros(len(u0), dtype=np.int32)
        remap[used] = np.arange(len(used))
        code, owned = remap[code], True
    combos = used[:, None]  # per-column level codes of each observed combination
    for col in strata[1:]:
        c, u, _ = _factorize(df, col, what)
        m = len(u)
        radix = combos.shape[0] * m
        dt = np.int32 if radix < np.iinfo(np.int32).max else np.int64
        if not owned or code.dtype != dt:
            code, owned = code.astype(dt), True
        code *= m
        code += c
        del c
        if radix <= max(4 * n, 1 << 16):
            used = np.flatnonzero(_bincount(code, radix))
            remap = np.zeros(radix, dtype=dt)
            remap[used] = np.arange(len(used))
            _remap(code, remap)
        else:
            used = np.unique(code)
            code = np.searchsorted(used, code).astype(dt)
        combos = np.column_stack([combos[used // m], used % m])
        uniques.append(u)
    if len(strata) == 1:
        return code, pd.Index(u0.take(combos[:, 0]), name=strata[0])
    keys = pd.MultiIndex.from_arrays(
        [u.take(combos[:, i]) for i, u in enumerate(uniques)], names=list(strata)
    )
    return code, keys


def _n_per_stratum(n: int | pd.Series | Mapping, keys: pd.Index, per_stratum: bool) -> np.ndarray:
    H = len(keys)
    if isinstance(n, numbers.Integral) and not isinstance(n, bool):
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        if per_stratum or H == 1:
            return np.full(H, int(n), dtype=np.int64)
        raise ValueError("internal: int n without strata")  # pragma: no cover
    ns = n.copy() if isinstance(n, pd.Series) else pd.Series(n)
    if isinstance(keys, pd.MultiIndex) and not isinstance(ns.index, pd.MultiIndex):
        raise ValueError(
            f"n: a per-stratum Series needs a MultiIndex over {list(keys.names)} "
            f"(e.g. the output of allocate() on population.groupby({list(keys.names)}).size())"
        )
    if ns.isna().any() or not pd.api.types.is_numeric_dtype(ns):
        raise ValueError("n: per-stratum sizes must be non-missing integers")
    if ns.index.has_duplicates:
        raise ValueError(f"n: duplicate strata {list(ns.index[ns.index.duplicated()][:5])}")
    vals = ns.to_numpy()
    if (vals < 0).any() or np.any(vals != np.round(vals)):
        raise ValueError("n: per-stratum sizes must be non-negative integers")
    pos = keys.get_indexer(ns.index)
    extra = (pos < 0) & (vals > 0)
    if extra.any():
        raise ValueError(f"n: strata not present in the population: {list(ns.index[extra][:5])}")
    k = np.zeros(H, dtype=np.int64)
    k[pos[pos >= 0]] = vals[pos >= 0]
    return k


# ---------------------------------------------------------------------------
# draws
# ---------------------------------------------------------------------------


def _k_smallest(
    codes: np.ndarray,
    order_keys: Sequence[np.ndarray],
    k: np.ndarray,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Row positions of the k[h] smallest (lexicographic order_keys) rows per stratum h.

    ``order_keys`` are given primary first; ``rows`` restricts the candidates.
    Returns positions sorted by (stratum, key).
    """
    if rows is None:
        rows = np.arange(len(codes))
    c = codes[rows]
    keys = [ok[rows] for ok in order_keys]
    order = np.lexsort((*reversed(keys), c))
    rows, c = rows[order], c[order]
    counts = np.bincount(c, minlength=len(k))
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(c)) - starts[c]
    return rows[rank < k[c]]


def _srs_select(
    codes: np.ndarray,
    key: np.ndarray,
    k: np.ndarray,
    sizes: np.ndarray,
    slack: tuple[float, float] = (4.0, 8.0),
) -> np.ndarray:
    """Order sampling with equal probabilities: the k smallest keys per stratum.

    Prefilters keys below a per-stratum threshold that keeps about
    k + 4 sqrt(k) + 8 candidates (``slack``), sorts only those, and falls back
    to the whole stratum where the prefilter kept fewer than k.
    """
    a_, b_ = slack
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(sizes > 0, (k + a_ * np.sqrt(k) + b_) / np.maximum(sizes, 1), 0.0)
    t = np.where(k > 0, np.maximum(t, 0.0), 0.0)
    full = t >= 1.0
    thr = np.where(
        full, np.uint64(0xFFFFFFFFFFFFFFFF), (np.minimum(t, 0.9999) * 2.0**64).astype(np.uint64)
    )
    parts = []
    for a in range(0, len(key), _CHUNK):
        kc, cc = key[a : a + _CHUNK], codes[a : a + _CHUNK]
        tc = thr[cc]
        m = (kc < tc) | (tc == np.uint64(0xFFFFFFFFFFFFFFFF))
        parts.append(np.flatnonzero(m) + a)
    cand = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
    got = np.bincount(codes[cand], minlength=len(k))
    short = got < k
    if short.any():  # fallback: every row of the strata the prefilter under-filled
        taken = np.zeros(len(codes), dtype=bool)
        taken[cand] = True
        extra = np.flatnonzero(short[codes] & ~taken)
        cand = np.concatenate([cand, extra])
    return _k_smallest(codes, [key], k, cand)


def _pps_lambda(codes: np.ndarray, x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Target pi-ps inclusion probabilities per stratum, capped at 1 (iterative take-all)."""
    H = len(k)
    pos = x > 0
    take = np.zeros(len(x), dtype=bool)
    k_rem = k.astype(float).copy()
    while True:
        free = pos & ~take
        tot = np.bincount(codes, weights=np.where(free, x, 0.0), minlength=H)
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.where(free, k_rem[codes] * x / tot[codes], 0.0)
        over = free & (lam >= 1.0)
        if not over.any():
            break
        take |= over
        k_rem -= np.bincount(codes[over], minlength=H)
    lam = np.where(take, 1.0, lam)
    return np.clip(np.nan_to_num(lam, nan=0.0), 0.0, 1.0)


def _pps_select(codes: np.ndarray, key: np.ndarray, lam: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Adjusted Pareto order sampling (Rosen 1997; Bondesson, Traat & Lundqvist 2006)."""
    H = len(k)
    mid = (lam > 0) & (lam < 1)
    d = np.bincount(codes, weights=np.where(mid, lam * (1 - lam), 0.0), minlength=H)
    u = _uniform(key)
    q = np.full(len(key), np.inf)
    lm, um, dm = lam[mid], u[mid], d[codes[mid]]
    q[mid] = (um / (1 - um)) / (lm / (1 - lm)) * np.exp(lm * (1 - lm) * (lm - 0.5) / dm**2)
    q[lam >= 1] = -1.0
    rows = np.flatnonzero((lam > 0) & (k[codes] > 0))
    return _k_smallest(codes, [q, key], k, rows)


def _draw_codes(
    population: pd.DataFrame,
    codes: np.ndarray,
    keys: pd.Index,
    k: np.ndarray,
    *,
    ticket: str,
    seed: int,
    size: str | None,
    sizes: np.ndarray | None = None,
    what: str = "population",
) -> pd.DataFrame:
    """Core of :func:`draw` on precomputed stratum codes (and sizes, when the caller has them).

    ``seed`` is the resolved integer; ``size`` the PPS size-measure column.
    """
    ids = population[ticket]
    h = _id_hash(ids, ticket, what)
    if sizes is None:
        sizes = _bincount(codes, len(keys))
    over = np.flatnonzero(k > sizes)
    if over.size:
        i = over[0]
        raise ValueError(
            f"n larger than a stratum: stratum {keys[i]!r} has {int(sizes[i])} tickets, "
            f"{int(k[i])} requested ({over.size} strata short; first {list(keys[over[:5]])})"
        )
    key = _keys(h, seed)  # in place: h becomes the keys
    del h
    if size is None:
        rows = _srs_select(codes, key, k, sizes)
        with np.errstate(divide="ignore", invalid="ignore"):
            pi_h = k / np.maximum(sizes, 1)
        pi = pi_h[codes[rows]]
    else:
        x = population[size]
        if not pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x):
            raise DataError(what, f"column {size!r}: size measure must be numeric, got {x.dtype}")
        xv = x.to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(xv) | (xv < 0))
        if bad.size:
            raise DataError(
                what,
                f"column {size!r}: size measure must be finite and non-negative; "
                f"{_row_refs(population.index, bad, xv[bad], column=size)}",
            )
        npos = np.bincount(codes, weights=(xv > 0).astype(float), minlength=len(keys))
        short = np.flatnonzero(k > npos)
        if short.size:
            i = short[0]
            raise DataError(
                what,
                f"column {size!r}: stratum {keys[i]!r} has {int(npos[i])} tickets with a "
                f"positive size measure, {int(k[i])} requested",
            )
        lam = _pps_lambda(codes, xv, k)
        rows = _pps_select(codes, key, lam, k)
        pi = lam[rows]
    _check_unique_sorting(key, ids, ticket, seed, what)  # last use of key: sorted in place
    del key
    out = population.take(rows)
    out["inclusion_prob"] = pi
    with np.errstate(divide="ignore"):
        out["design_weight"] = 1.0 / pi
    return out


def draw(
    population: pd.DataFrame,
    n: int | pd.Series,
    *,
    strata: str | Sequence[str] | None = None,
    ticket: str = "ticket_id",
    seed: Seed,
    size: str | None = None,
) -> pd.DataFrame:
    """Reproducible (stratified) sample of tickets by order sampling.

    Parameters
    ----------
    population : DataFrame
        One row per ticket.
    n : int or Series
        Sample size. An int is the size of every stratum's sample (like
        ``groupby(strata).sample(n=...)``), or of the whole sample without
        strata; a Series gives the size per stratum (index = stratum values,
        a MultiIndex for several columns, e.g. from :func:`allocate`); strata
        missing from it get 0.
    strata : str or sequence of str, optional
        Stratum columns.
    ticket : str
        Ticket id column (integers or text; must be unique).
    seed : int, numpy Generator or None
        Seed of the permanent random numbers (module notes: a Generator or
        None is turned into one 63-bit integer first).
    size : str, optional
        Column with a non-negative size measure (e.g. a risk score) for
        probability-proportional-to-size sampling. (A *design weight*, the
        inverse inclusion probability, is called ``weight`` elsewhere, as in
        :func:`estimate_rate`.)

    Returns
    -------
    DataFrame
        The selected rows (original index kept), ordered by stratum and
        random number, plus ``inclusion_prob`` and ``design_weight`` (= 1 /
        ``inclusion_prob``).

    Raises
    ------
    TypeError
        ``population`` is not a DataFrame.
    DataError
        Missing columns, duplicate or missing ids, missing stratum values,
        negative / missing size measures.
    ValueError
        ``n`` larger than a stratum.

    Notes
    -----
    Each ticket gets a uniform permanent random number :math:`U_i` from
    ``(seed, ticket id)`` (module notes). Without ``size`` a stratum takes its
    :math:`n_h` smallest :math:`U_i`: simple random sampling without
    replacement within strata, :math:`\\pi_i = n_h / N_h`.

    With ``size`` it uses Pareto order sampling (Rosén 1997) with the
    adjusted ranking variables of Bondesson, Traat & Lundqvist (2006):
    target probabilities :math:`\\lambda_i = n_h x_i / \\sum_h x_j`, capped
    at 1 with the excess re-spread (iterative take-all), and ranking
    variables

    .. math:: Q_i = \\frac{U_i/(1-U_i)}{\\lambda_i/(1-\\lambda_i)}
              \\exp\\!\\left(\\frac{\\lambda_i(1-\\lambda_i)(\\lambda_i - 1/2)}{d_h^2}\\right),
              \\quad d_h = \\sum_{j \\in h} \\lambda_j(1-\\lambda_j);

    the :math:`n_h` smallest :math:`Q_i` are taken (take-all units first).
    ``inclusion_prob`` reports :math:`\\lambda_i`; the design's actual
    inclusion probabilities equal these up to a small error (the adjustment
    removes the leading term of Pareto sampling's error), so weighted
    estimates are approximately unbiased. In 100,000 simulated draws the
    inclusion frequencies matched :math:`\\lambda_i` within 0.002 for strata of
    20-60 tickets taking 1-2 each; in an extreme stratum taking 2 of 6 with
    :math:`\\lambda` up to 0.87 the largest gap was 0.013 (0.025 without the
    adjustment).

    Cost: one pass hashes the ids and keeps, per stratum, the keys below a
    threshold expected to retain about :math:`n_h + 4\\sqrt{n_h} + 8` tickets;
    only those are sorted (strata the filter under-fills are redone in full).

    References
    ----------
    .. [1] Rosén, B. (1997). On sampling with probability proportional to size.
       *Journal of Statistical Planning and Inference*, 62, 159-191.
    .. [2] Ohlsson, E. (1998). Sequential Poisson sampling. *Journal of Official
       Statistics*, 14(2), 149-162 (permanent random numbers).
    .. [3] Bondesson, L., Traat, I. & Lundqvist, A. (2006). Pareto sampling
       versus Sampford and conditional Poisson sampling. *Scandinavian Journal of
       Statistics*, 33(4), 699-720.
    .. [4] Steele, G. L., Lea, D. & Flood, C. H. (2014). Fast splittable
       pseudorandom number generators. *OOPSLA 2014*, 453-472.
    .. [5] Fowler, G., Noll, L. C. & Vo, K.-P. FNV hash (FNV-1a, 64-bit),
       IETF draft-eastlake-fnv.

    Examples
    --------
    >>> pop = pd.DataFrame({"ticket_id": [f"T{i:03d}" for i in range(30)],
    ...                     "channel": ["chat", "email", "phone"] * 10})
    >>> s = draw(pop, 2, strata="channel", seed=7)
    >>> s.groupby("channel").size().tolist(), s["inclusion_prob"].iloc[0]
    ([2, 2, 2], np.float64(0.2))
    >>> s2 = draw(pop.sample(frac=1, random_state=1), 2, strata="channel", seed=7)
    >>> s2["ticket_id"].tolist() == s["ticket_id"].tolist()
    True
    """
    _require_frame(population, "population")
    strata_list = [strata] if isinstance(strata, str) else list(strata or [])
    cols = [ticket, *strata_list] + ([size] if size is not None else [])
    _require_columns(population, cols, "population")
    for c in ("inclusion_prob", "design_weight"):
        if c in population.columns:
            raise DataError("population", f"already has a column {c!r}; drop or rename it first")
    seed = _seed_int(seed)
    codes, keys = _stratum_codes(population, strata_list)
    if not strata_list and isinstance(n, numbers.Integral) and int(n) > len(population):
        raise ValueError(f"n={n} is larger than the population ({len(population)} tickets)")
    if not strata_list and not isinstance(n, numbers.Integral):
        raise ValueError("n must be an int when no strata are given")
    k = _n_per_stratum(n, keys, per_stratum=True)
    return _draw_codes(population, codes, keys, k, ticket=ticket, seed=seed, size=size)


# ---------------------------------------------------------------------------
# audit plan
# ---------------------------------------------------------------------------

_PLAN_EXTRA = ("region", "market", "queue", "created_at")


@dataclass(frozen=True, repr=False)
class AuditPlan(TableResult):
    """Result of :func:`audit_plan`: the tickets to audit and the quota's reach.

    Attributes
    ----------
    table : DataFrame
        One row per ticket to audit (columns described in :func:`audit_plan`).
    per_agent : int
        The quota asked for.
    n_agents : int
        Agents in the ticket population.
    n_short : int
        Agents with fewer tickets than the quota (all their tickets are in the plan).
    seed : int
        The integer seed the plan was drawn with (draw it again with this).
    """

    table: pd.DataFrame
    per_agent: int
    n_agents: int
    n_short: int
    seed: int

    _summary_fields = ("per_agent", "n_agents", "n_short", "seed")

    @property
    def note(self) -> str:
        """One sentence on the quota: how many agents fell short of it."""
        if self.n_agents == 0:
            return "no tickets: no plan drawn"
        if self.n_short:
            return (
                f"{self.n_short} of {self.n_agents} agents have fewer than {self.per_agent} "
                "tickets: all their tickets are in the plan (take_all=True)"
            )
        return f"all {self.n_agents} agents get {self.per_agent} audits"


def audit_plan(
    tickets: pd.DataFrame,
    *,
    per_agent: int = 5,
    strata: Sequence[str] = ("agent_id", "channel"),
    seed: Seed,
    size: str | None = None,
    ticket: str = "ticket_id",
) -> AuditPlan:
    """Next period's audit list: a quota per agent spread over the agent's channels.

    Parameters
    ----------
    tickets : DataFrame
        Ticket population, one row per ticket.
    per_agent : int
        Audits per agent.
    strata : sequence of str
        The agent column first, then the columns the quota is spread over
        (default channel).
    seed : int, numpy Generator or None
        Seed of the permanent random numbers (same int seed, same plan; see
        the module notes for a Generator or None).
    size : str, optional
        Column with a non-negative size measure to oversample on (e.g. a risk
        score): probability-proportional-to-size within each cell (see :func:`draw`).
    ticket : str
        Ticket id column.

    Returns
    -------
    AuditPlan
        ``table``: one row per ticket to audit: the id, the strata columns, any of
        ``region, market, queue, created_at`` present, the size column,
        ``inclusion_prob``, ``design_weight`` and ``take_all`` (True when every
        ticket of the agent is in the plan because the agent has no more than
        ``per_agent``). ``n_short`` counts the agents short of the quota and
        ``note`` says so in words.

    Notes
    -----
    Agent :math:`a` with :math:`N_a` tickets gets :math:`q_a = \\min(\\text{per\\_agent}, N_a)`
    audits, spread over its cells in proportion to volume,
    :math:`q_a N_{ac}/N_a`, rounded by largest remainder (vectorised over
    agents); the cells are then drawn with :func:`draw`.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., chapter 5. Wiley.
    .. [2] Rosén, B. (1997). On sampling with probability proportional to size.
       *Journal of Statistical Planning and Inference*, 62, 159-191.

    Examples
    --------
    >>> t = pd.DataFrame({"ticket_id": range(40),
    ...                   "agent_id": ["a1"] * 30 + ["a2"] * 10,
    ...                   "channel": (["chat"] * 20 + ["email"] * 10) + ["phone"] * 10})
    >>> plan = audit_plan(t, per_agent=6, seed=1)
    >>> plan
    AuditPlan(12 rows, per_agent=6, n_agents=2, n_short=0, seed=1)
    >>> plan.table.groupby(["agent_id", "channel"]).size().tolist()
    [4, 2, 6]
    """
    _require_frame(tickets, "tickets")
    if isinstance(per_agent, bool) or not isinstance(per_agent, numbers.Integral) or per_agent < 0:
        raise ValueError(f"per_agent must be a non-negative integer, got {per_agent!r}")
    strata = [strata] if isinstance(strata, str) else list(strata)
    if not strata:
        raise ValueError("strata must name at least the agent column")
    _require_columns(tickets, [ticket, *strata] + ([size] if size else []), "tickets")
    seed = _seed_int(seed)
    codes, keys = _stratum_codes(tickets, strata, "tickets")
    sizes = _bincount(codes, len(keys))
    agent_keys = keys.get_level_values(0) if isinstance(keys, pd.MultiIndex) else keys
    acode, agents = pd.factorize(agent_keys, sort=False)
    A = len(agents)
    n_agent = np.bincount(acode, weights=sizes, minlength=A).astype(np.int64)
    quota = np.minimum(int(per_agent), n_agent)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(n_agent[acode] > 0, quota[acode] * sizes / n_agent[acode], 0.0)
    fl = np.floor(target + 1e-9).astype(np.int64)
    rem = quota - np.bincount(acode, weights=fl, minlength=A).astype(np.int64)
    frac = target - fl
    order = np.lexsort((-frac, acode))  # by agent, then largest remainder (ties: cell order)
    counts = np.bincount(acode, minlength=A)
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(fl), dtype=np.int64)
    rank[order] = np.arange(len(fl)) - starts[acode[order]]
    k = fl + (rank < rem[acode])
    sample = _draw_codes(
        tickets, codes, keys, k, ticket=ticket, seed=seed, size=size, sizes=sizes, what="tickets"
    )
    cols = [ticket, *strata] + [c for c in _PLAN_EXTRA if c in tickets.columns and c not in strata]
    if size and size not in cols:
        cols.append(size)
    plan = sample[[*cols, "inclusion_prob", "design_weight"]].reset_index(drop=True)
    agent_total = pd.Series(n_agent, index=agents)
    plan["take_all"] = agent_total.reindex(plan[strata[0]]).to_numpy() <= per_agent
    n_short = int((n_agent < per_agent).sum())
    return AuditPlan(
        table=plan, per_agent=int(per_agent), n_agents=int(A), n_short=n_short, seed=seed
    )


def period_seed(seed: Seed, period: str) -> int:
    """The seed of one period's audit plan, derived from a base seed and the period label.

    A team keeps one base seed; each month's plan uses ``period_seed(seed, "2026-10")``,
    so plans differ from month to month yet any month's plan can be drawn again
    exactly (to check coverage against it) from the same inputs.

    Parameters
    ----------
    seed : int, numpy Generator or None
        The base seed (a Generator or None is first turned into one 63-bit
        integer, as everywhere: module notes).
    period : str
        The period label, e.g. ``"2026-10"``.

    Returns
    -------
    int
        A non-negative 63-bit integer: the first 8 bytes of SHA-256 of
        ``"<seed>:<period>"``, stable across processes and platforms.

    Examples
    --------
    >>> period_seed(20261101, "2026-10") == period_seed(20261101, "2026-10")
    True
    >>> period_seed(20261101, "2026-10") != period_seed(20261101, "2026-11")
    True
    """
    seed = _seed_int(seed)
    if not isinstance(period, str):
        raise TypeError(f"period must be a string such as '2026-10', got {type(period).__name__}")
    digest = hashlib.sha256(f"{seed}:{period}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


# ---------------------------------------------------------------------------
# calibration set
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class CalibrationSet(TableResult):
    """Result of :func:`calibration_set`: the picks and the outcomes no pick covers.

    Attributes
    ----------
    table : DataFrame
        One row per pick, in pick order (columns described in :func:`calibration_set`).
    uncovered : tuple of str
        ``criterion:outcome`` cells (outcome ``pass`` or ``fail``) that no picked
        ticket covers, either because no ticket has them or because ``n`` ran out.
    """

    table: pd.DataFrame
    uncovered: tuple[str, ...] = ()

    _summary_fields = ("uncovered",)


def calibration_set(
    evaluations: pd.DataFrame,
    n: int = 10,
    *,
    seed: Seed,
    scorecard: Scorecard | None = None,
    ticket: str = "ticket_id",
    criterion: str = "criterion",
    score: str = "score",
    channel: str | None = "channel",
) -> pd.DataFrame:
    """Tickets for a calibration session that cover every criterion's passes and fails.

    Parameters
    ----------
    evaluations : DataFrame
        Long evaluations table (one row per evaluation x criterion).
    n : int
        Number of tickets to pick (about 10).
    seed : int, numpy Generator or None
        Breaks ties between equally useful tickets, reproducibly (module notes).
    scorecard : Scorecard, optional
        If given, a criterion fails when ``score < pass_at``; otherwise when
        the score is below the criterion's highest observed score.
    ticket, criterion, score, channel : str
        Column names; ``channel=None`` (or a missing column) skips channel mixing.

    Returns
    -------
    CalibrationSet
        ``table``: one row per pick in pick order: ``pick``, the ticket id,
        channel, ``new_cells`` (criterion outcomes first covered by this pick)
        and ``covers`` (them, as text). ``uncovered`` lists the
        criterion/outcome cells the picks do not cover.

    Notes
    -----
    Greedy maximum coverage: the cells are (criterion, pass) and
    (criterion, fail); each step picks the ticket covering most uncovered
    cells, then prefers channels picked least so far (a bonus below one
    cell), then the ticket's seeded permanent random number. Greedy coverage
    is within a factor :math:`1 - 1/e` of the best possible.

    References
    ----------
    .. [1] Nemhauser, G. L., Wolsey, L. A. & Fisher, M. L. (1978). An analysis of
       approximations for maximizing submodular set functions. *Mathematical
       Programming*, 14, 265-294.

    Examples
    --------
    >>> ev = pd.DataFrame({"ticket_id": ["t1", "t1", "t2", "t2", "t3", "t3"],
    ...                    "criterion": ["a", "b"] * 3, "score": [1, 0, 0, 1, 1, 1],
    ...                    "channel": ["chat", "chat", "email", "email", "chat", "chat"]})
    >>> cs = calibration_set(ev, 2, seed=1)
    >>> cs.table["ticket_id"].tolist(), cs.uncovered
    (['t1', 't2'], ())
    """
    _require_columns(evaluations, [ticket, criterion, score], "evaluations")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    seed = _seed_int(seed)
    use_channel = channel is not None and channel in evaluations.columns
    ev = evaluations[[ticket, criterion, score] + ([channel] if use_channel else [])]
    ev = ev[ev[score].notna()]
    if not pd.api.types.is_numeric_dtype(ev[score]):
        raise DataError("evaluations", f"column {score!r}: scores must be numeric")
    if scorecard is not None:
        known = {c.id: c.pass_at for c in scorecard}
        unknown = ~ev[criterion].isin(list(known))
        if unknown.any():
            pos = np.flatnonzero(unknown.to_numpy())
            raise DataError(
                "evaluations",
                f"column {criterion!r}: criteria not in the scorecard {scorecard.source}: "
                f"{_row_refs(ev.index, pos, ev[criterion].iloc[pos], column=criterion)}",
            )
        fail = ev[score] < ev[criterion].map(known).astype(float)
    else:
        fail = ev[score] < ev.groupby(criterion)[score].transform("max")
    cell = ev[criterion].astype(str) + np.where(fail, ":fail", ":pass")
    m = pd.crosstab(ev[ticket], cell).gt(0)
    tickets_idx = m.index
    if len(tickets_idx) < n:
        raise ValueError(f"n={n} is larger than the number of scored tickets ({len(tickets_idx)})")
    M = m.to_numpy()
    cells = np.asarray(m.columns)
    all_cells = np.array(
        [f"{c}:{o}" for c in pd.unique(ev[criterion].astype(str)) for o in ("pass", "fail")]
    )
    uncoverable = sorted(set(all_cells) - set(cells))
    tie = _uniform(_keys(_id_hash(pd.Series(tickets_idx), ticket, "evaluations"), seed)) * 1e-3
    if use_channel:
        ch = ev.groupby(ticket)[channel].first().reindex(tickets_idx)
        ch_code, ch_levels = pd.factorize(ch)
    else:
        ch_code, ch_levels = np.zeros(len(tickets_idx), dtype=np.intp), np.array([None])
    uncovered = np.ones(M.shape[1], dtype=bool)
    chosen = np.zeros(len(tickets_idx), dtype=bool)
    per_channel = np.zeros(len(ch_levels), dtype=float)
    picks, new_cells = [], []
    for _ in range(int(n)):  # n picks (~10), each vectorised over tickets
        gain = M[:, uncovered].sum(axis=1).astype(float)
        bonus = 0.9 / (1.0 + per_channel[ch_code]) if use_channel else 0.0
        value = np.where(chosen, -np.inf, gain + bonus + tie)
        i = int(np.argmax(value))
        newly = M[i] & uncovered
        picks.append(i)
        new_cells.append(list(cells[newly]))
        uncovered &= ~M[i]
        chosen[i] = True
        per_channel[ch_code[i]] += 1
    out = pd.DataFrame({"pick": np.arange(1, len(picks) + 1), ticket: tickets_idx[picks]})
    if use_channel:
        out[channel] = ch.to_numpy()[picks]
    out["new_cells"] = [len(c) for c in new_cells]
    out["covers"] = [", ".join(c) for c in new_cells]
    return CalibrationSet(
        table=out, uncovered=tuple(uncoverable + sorted(cells[uncovered].tolist()))
    )


# ---------------------------------------------------------------------------
# estimation and coverage
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A design-based estimate with its standard error and confidence interval.

    Attributes
    ----------
    estimate, se
        Point estimate and its standard error.
    estimate_ci_low, estimate_ci_high
        Confidence interval at level ``confidence``.
    n
        Observations used.
    confidence
        Confidence level.
    method
        Estimator, variance method and interval.
    note
        Exclusions and caveats (rows dropped, singleton strata, clipping).
    """

    estimate: float
    se: float
    estimate_ci_low: float
    estimate_ci_high: float
    n: int
    confidence: float
    method: str
    note: str = ""

    def __repr__(self) -> str:
        return (
            f"Estimate({self.estimate:.4g} [{self.estimate_ci_low:.4g}, "
            f"{self.estimate_ci_high:.4g}], se={self.se:.3g}, n={self.n}, "
            f"confidence={self.confidence:g})"
        )


def estimate_rate(
    sample: pd.DataFrame,
    value: str,
    *,
    weight: str = "design_weight",
    strata: str | Sequence[str] | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Design-weighted pass rate (or mean score) with a stratified standard error.

    Parameters
    ----------
    sample : DataFrame
        The audited sample, one row per ticket, with the design weights
        (e.g. the output of :func:`draw` joined to the audit results).
    value : str
        Column to estimate the mean of: 0/1 pass for a pass rate, or a score.
        Missing values are excluded and counted in the note.
    weight : str
        Design weight column (1 / inclusion probability).
    strata : str or sequence of str, optional
        Stratum columns of the design (use the ones the sample was drawn with).
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    Estimate

    Notes
    -----
    Hajek (ratio) estimator :math:`\\hat{\\bar y} = \\sum w_i y_i / \\sum w_i`. Its
    Taylor-linearised variance uses :math:`z_i = w_i (y_i - \\hat{\\bar y}) / \\sum w_j`:

    .. math:: \\hat V = \\sum_h (1 - f_h) \\frac{n_h}{n_h - 1} \\sum_{i \\in h} (z_i - \\bar z_h)^2,

    with :math:`f_h = n_h / \\sum_{i \\in h} w_i` (the sampling fraction under
    stratified simple random sampling, where the estimator reduces to the
    classical stratified mean and this to its textbook variance). A stratum
    with one sampled ticket is centred at the overall mean (R survey's
    ``lonely.psu = "adjust"``); take-all strata contribute nothing. The interval is
    :math:`\\hat{\\bar y} \\pm t_{n-H} \\sqrt{\\hat V}` (Wald), clipped to [0, 1] for a
    0/1 pass indicator.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., sections 5.3 and 6.4. Wiley.
    .. [2] Särndal, C.-E., Swensson, B. & Wretman, J. (1992). *Model Assisted Survey
       Sampling*, section 5.7. Springer.
    .. [3] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.

    Examples
    --------
    >>> s = pd.DataFrame({"passed": [1, 1, 0, 1, 1, 1], "design_weight": [10.0] * 6,
    ...                   "channel": ["chat"] * 3 + ["email"] * 3})
    >>> e = estimate_rate(s, "passed", strata="channel")
    >>> round(e.estimate, 3), e.n
    (0.833, 6)
    """
    _require_frame(sample, "sample")
    strata_list = [strata] if isinstance(strata, str) else list(strata or [])
    _require_columns(sample, [value, weight, *strata_list], "sample")
    _z(confidence)
    y_all = sample[value]
    if pd.api.types.is_bool_dtype(y_all):
        y_all = y_all.astype(float)
    if not pd.api.types.is_numeric_dtype(y_all):
        raise DataError(
            "sample", f"column {value!r}: must be numeric (0/1 or a score), got {y_all.dtype}"
        )
    w_all = sample[weight].to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(w_all) | (w_all <= 0))
    if bad.size:
        raise DataError(
            "sample",
            f"column {weight!r}: design weights must be positive and finite; "
            f"{_row_refs(sample.index, bad, w_all[bad], column=weight)}",
        )
    yv = y_all.to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(yv)
    notes = []
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} rows with missing {value!r} excluded")
    method = "Hajek weighted mean; Taylor-linearised stratified SE with FPC; t interval"
    y, w = yv[keep], w_all[keep]
    n = len(y)
    if n == 0:
        notes.append("no observations")
        return Estimate(np.nan, np.nan, np.nan, np.nan, 0, confidence, method, "; ".join(notes))
    if strata_list:
        codes, keys = _stratum_codes(sample.loc[keep, strata_list], strata_list, "sample")
    else:
        codes, keys = np.zeros(n, dtype=np.int32), pd.Index(["all"])
    H = len(keys)
    W = w.sum()
    est = float((w * y).sum() / W)
    z = w * (y - est) / W
    nh = np.bincount(codes, minlength=H).astype(float)
    Nh = np.bincount(codes, weights=w, minlength=H)
    f = np.clip(nh / Nh, 0.0, 1.0)
    zbar = np.bincount(codes, weights=z, minlength=H) / np.maximum(nh, 1)
    single = nh[codes] == 1
    dev2 = np.where(single, z**2, (z - zbar[codes]) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(nh > 1, nh / (nh - 1), 1.0)
    var = float(((1 - f) * scale * np.bincount(codes, weights=dev2, minlength=H)).sum())
    n_single = int(((nh == 1) & (f < 1)).sum())
    if n_single:
        notes.append(f"{n_single} strata with one sampled ticket centred at the overall mean")
    df = n - H
    se = math.sqrt(max(var, 0.0))
    if n == 1 or df < 1:
        notes.append("too few observations per stratum for a standard error")
        return Estimate(est, np.nan, np.nan, np.nan, n, confidence, method, "; ".join(notes))
    if se == 0.0:
        notes.append("no variation within strata: standard error 0")
    crit = float(stats.t.ppf(0.5 + confidence / 2, df))
    lo, hi = est - crit * se, est + crit * se
    if np.isin(y, (0.0, 1.0)).all() and (lo < 0.0 or hi > 1.0):
        lo, hi = max(lo, 0.0), min(hi, 1.0)
        notes.append("interval clipped to [0, 1]")
    return Estimate(est, se, lo, hi, n, confidence, method, "; ".join(notes))


def coverage(
    plan: pd.DataFrame | AuditPlan,
    evaluations: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("agent_id", "channel"),
    ticket: str = "ticket_id",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Audits done against the plan, per agent and stratum, with the margin achieved.

    Parameters
    ----------
    plan : DataFrame or AuditPlan
        The audit plan (an :class:`AuditPlan` from :func:`audit_plan`, or its
        table), one row per planned ticket, with ``design_weight`` if the
        population sizes are to be used.
    evaluations : DataFrame
        Evaluations done (long format is fine: tickets are de-duplicated).
    by : str or sequence of str
        Grouping columns (present in both tables).
    ticket : str
        Ticket id column.
    confidence : float
        Confidence level of the margins.

    Returns
    -------
    DataFrame
        One row per group: ``population`` (estimated as the sum of the
        planned tickets' design weights), ``planned``, ``done`` (planned
        tickets evaluated), ``unplanned`` (evaluated tickets not in the plan),
        ``completion`` (done / planned), ``moe_planned`` and ``moe_achieved``
        (margin of error of a pass rate at p = 0.5 with finite-population
        correction, for the planned and the done audits). Unplanned audits are
        not a random sample and do not count toward ``moe_achieved``.

    Notes
    -----
    Margins follow :func:`margin_of_error`:
    :math:`z\\sqrt{0.25/n}\\sqrt{(N-n)/(N-1)}`.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., section 4.4. Wiley.

    Examples
    --------
    >>> plan = pd.DataFrame({"ticket_id": [1, 2, 3], "agent_id": ["a", "a", "b"],
    ...                      "design_weight": [10.0, 10.0, 5.0]})
    >>> ev = pd.DataFrame({"ticket_id": [1, 1, 3, 9], "agent_id": ["a", "a", "b", "b"]})
    >>> coverage(plan, ev, by="agent_id")[["planned", "done", "unplanned"]].values.tolist()
    [[2, 1, 0], [1, 1, 1]]
    """
    by_list = [by] if isinstance(by, str) else list(by)
    if isinstance(plan, AuditPlan):
        plan = plan.table
    _require_columns(plan, [ticket, *by_list], "plan")
    _require_columns(evaluations, [ticket, *by_list], "evaluations")
    _z(confidence)
    p = plan[[ticket, *by_list]].copy()
    p["population"] = (
        plan["design_weight"].to_numpy(dtype=float) if "design_weight" in plan else np.nan
    )
    done_ids = pd.unique(evaluations[ticket])
    p["done"] = p[ticket].isin(done_ids)
    g = p.groupby(by_list, sort=True, observed=True, dropna=False)
    out = g.agg(population=("population", "sum"), planned=(ticket, "size"), done=("done", "sum"))
    if "design_weight" not in plan:
        out["population"] = np.nan
    ev = evaluations[[ticket, *by_list]].drop_duplicates(ticket)
    ev = ev[~ev[ticket].isin(plan[ticket])]
    unpl = ev.groupby(by_list, sort=True, observed=True, dropna=False).size().rename("unplanned")
    out = out.join(unpl, how="outer")
    out[["planned", "done", "unplanned"]] = (
        out[["planned", "done", "unplanned"]].fillna(0).astype(np.int64)
    )
    out["population"] = np.round(out["population"].to_numpy(dtype=float))
    pop = out["population"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["completion"] = np.where(out["planned"] > 0, out["done"] / out["planned"], np.nan)
        out["moe_planned"] = margin_of_error(
            out["planned"].to_numpy(), confidence=confidence, population=pop
        )
        out["moe_achieved"] = margin_of_error(
            out["done"].to_numpy(), confidence=confidence, population=pop
        )
    return out.reset_index()


# ===========================================================================
# NEW (issue 10, item 5): design-based estimates for the region's TICKETS.
# Appended as a block so the vocabulary edits above merge cleanly.
# ===========================================================================
__all__ += ["TicketEstimate", "pool_estimates", "ticket_estimate"]


@dataclass(frozen=True)
class TicketEstimate:
    """A rate or mean for the population of tickets, with the audit-level average beside it.

    Attributes
    ----------
    estimate, se, ci_low, ci_high : float
        The ticket-level estimate, its standard error and confidence interval.
    confidence : float
        Level of the interval.
    value : str
        Column estimated (``passed``, ``score``, ``critical_fail`` ...).
    estimand : str
        One sentence for the report: what the estimate stands for.
    method : str
        Weights, variance method and interval, in words.
    n_audits : int
        Audits used (value not missing, stratum with a ticket volume).
    n_strata : int
        Strata with tickets (or with audits, when no ticket table was given).
    n_strata_audited : int
        Strata with at least one audit used.
    n_strata_empty : int
        Strata with tickets but no audits (handled as ``method`` says).
    n_agents, n_agents_audited : int
        Agents with tickets (or audits) and agents with at least one audit used.
    tickets : float
        Tickets the estimate stands for (the audited agents' volume).
    tickets_uncovered : float
        Tickets of agents without any audit: not represented by the estimate.
    audit_mean, audit_ci_low, audit_ci_high : float
        The plain average over audits (every audit counts once) and its simple
        interval (Wilson for 0/1 values, t otherwise), for comparison only: it
        answers "what share of audits passed", not the ticket question.
    note : str
        Exclusions and caveats, counted.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float
    value: str
    estimand: str
    method: str
    n_audits: int
    n_strata: int
    n_strata_audited: int
    n_strata_empty: int
    n_agents: int
    n_agents_audited: int
    tickets: float
    tickets_uncovered: float
    audit_mean: float
    audit_ci_low: float
    audit_ci_high: float
    note: str = ""


def _audit_level(y: np.ndarray, binary: bool, confidence: float) -> tuple[float, float, float]:
    """Plain mean over audits with a Wilson (0/1) or t interval."""
    n = len(y)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(y.mean())
    if binary:
        z = _z(confidence)
        den = 1 + z * z / n
        centre = (mean + z * z / (2 * n)) / den
        half = z * math.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n)) / den
        return mean, max(centre - half, 0.0), min(centre + half, 1.0)
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * y.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def ticket_estimate(
    audits: pd.DataFrame,
    tickets: pd.DataFrame | None = None,
    *,
    value: str = "passed",
    strata: str | Sequence[str] = ("agent_id", "channel"),
    agent: str = "agent_id",
    volume: str | None = None,
    weight: str | None = None,
    variance: Literal["cluster", "stratified"] = "cluster",
    confidence: float = 0.95,
) -> TicketEstimate:
    """Pass rate, mean score or critical rate of the region's tickets, from its audits.

    Parameters
    ----------
    audits : DataFrame
        One row per audited ticket (evaluation) with ``value`` and the strata columns.
    tickets : DataFrame, optional
        The ticket population: one row per ticket, or one row per stratum with
        its ticket count in ``volume``. Needed unless ``weight`` is given.
    value : str
        0/1 (pass, critical error) or numeric (score) column; missing values
        are excluded and counted.
    strata : str or sequence of str
        Strata of the audit plan (agent x channel, as :func:`audit_plan` draws).
    agent : str
        The agent column (a strata column): the cluster of the variance.
    volume : str, optional
        Column of ``tickets`` with the ticket count of each row (pre-aggregated
        volumes); None counts rows.
    weight : str, optional
        Design weight column of ``audits`` (1 / inclusion probability, e.g.
        ``design_weight`` from :func:`audit_plan`), for audits that followed the
        plan; used as given instead of volume / audits.
    variance : {"cluster", "stratified"}
        ``cluster``: agents as primary sampling units (ultimate-cluster Taylor
        linearisation), intervals that respect clustering within agents;
        ``stratified``: stratified simple random sampling within agent x channel
        with finite-population correction (this month's tickets of these agents
        as a fixed finite population).
    confidence : float
        Level of the intervals.

    Returns
    -------
    TicketEstimate

    Raises
    ------
    TypeError
        If ``audits`` or ``tickets`` is not a DataFrame.
    DataError
        Missing columns, a non-numeric value, non-positive design weights or
        negative volumes.
    ParamsError
        Neither ``tickets`` nor ``weight``, ``agent`` not among the strata, or a
        bad ``variance``.

    Notes
    -----
    *Weights.* Audit i in stratum h gets :math:`w_i = N_h/n_h` (ticket volume
    over audits used) or its design weight. A stratum with tickets but no audit
    (an agent's channel that was not audited) is collapsed into the same
    agent's audited strata: their weights are scaled by
    :math:`N_a / \\sum_{h \\in a,\\, n_h>0} N_h` so the agent keeps its whole
    volume. An agent with no audit at all cannot be represented: its tickets
    are excluded from the estimand, counted in ``tickets_uncovered``.

    *Estimator.* The ratio (Hajek) estimator
    :math:`\\hat R = \\sum w_i y_i / \\sum w_i`, the share of tickets (not of
    audits) that pass; with linearised values
    :math:`u_i = w_i (y_i - \\hat R)/\\sum w_j`:

    * ``cluster``: :math:`\\hat V = \\frac{A}{A-1}\\sum_a (U_a - \\bar U)^2`,
      :math:`U_a = \\sum_{i \\in a} u_i` over the A audited agents, interval
      :math:`\\hat R \\pm t_{A-1}\\sqrt{\\hat V}` (with-replacement approximation
      for the agents; the within-agent sampling is included in :math:`U_a`);
    * ``stratified``: :math:`\\hat V = \\sum_h (1 - f_h) \\frac{n_h}{n_h-1}
      \\sum_{i \\in h}(u_i - \\bar u_h)^2`, :math:`f_h = n_h/N_h`, one-audit strata
      centred at 0 (R survey's ``lonely.psu = "adjust"``), :math:`t_{n-H}`.

    Intervals of a 0/1 value are clipped to [0, 1]. When the audits are
    proportional to volume in every stratum the weights are equal and the
    estimate is the plain audit mean.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., sections 5A.
       and 6.11 (ratio estimates), 11.7 (ultimate clusters). Wiley.
    .. [2] Särndal, C.-E., Swensson, B. & Wretman, J. (1992). *Model Assisted
       Survey Sampling*, sections 4.3 and 5.7. Springer.
    .. [3] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed.,
       chapter 6 (Taylor series methods). Springer.
    .. [4] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.

    Examples
    --------
    >>> audits = pd.DataFrame({"agent_id": ["a"] * 4 + ["b"] * 2,
    ...                        "channel": ["chat"] * 6, "passed": [1, 1, 1, 0, 0, 1]})
    >>> tickets = pd.DataFrame({"agent_id": ["a", "b"], "channel": ["chat", "chat"],
    ...                         "tickets": [100, 300]})
    >>> e = ticket_estimate(audits, tickets, volume="tickets")
    >>> round(e.estimate, 4), round(e.audit_mean, 4)
    (0.5625, 0.6667)
    """
    if not isinstance(audits, pd.DataFrame):
        raise TypeError(f"audits must be a pandas DataFrame, got {type(audits).__name__}")
    if tickets is not None and not isinstance(tickets, pd.DataFrame):
        raise TypeError(f"tickets must be a pandas DataFrame, got {type(tickets).__name__}")
    if variance not in ("cluster", "stratified"):
        raise ParamsError(f"variance must be 'cluster' or 'stratified', got {variance!r}")
    strata_list = [strata] if isinstance(strata, str) else list(strata)
    if agent not in strata_list:
        raise ParamsError(f"agent column {agent!r} must be one of the strata {strata_list}")
    if tickets is None and weight is None:
        raise ParamsError("give the ticket population (tickets) or design weights (weight)")
    _z(confidence)
    try:
        _require_columns(audits, [value, *strata_list, *([weight] if weight else [])], "audits")
        if tickets is not None:
            _require_columns(tickets, [*strata_list, *([volume] if volume else [])], "tickets")
    except ValueError as exc:
        raise DataError("<DataFrame>", str(exc)) from None
    yser = audits[value]
    if pd.api.types.is_bool_dtype(yser):
        yser = yser.astype(float)
    if not pd.api.types.is_numeric_dtype(yser):
        raise DataError("audits", f"column {value!r} must be numeric (0/1 or a score)")
    y_all = yser.to_numpy(dtype=float, na_value=np.nan)
    notes: list[str] = []
    n_missing = int(np.isnan(y_all).sum())
    if n_missing:
        notes.append(f"{n_missing} audit(s) with missing {value!r} excluded")

    n_a = len(audits)
    frames = [audits[strata_list]]
    if tickets is not None:
        frames.append(tickets[strata_list])
    codes, keys = _stratum_codes(pd.concat(frames, ignore_index=True), strata_list)
    codes = codes.astype(np.int64)
    H = len(keys)
    ca, ct = codes[:n_a], codes[n_a:]
    agent_level = (
        keys.get_level_values(agent) if isinstance(keys, pd.MultiIndex) else pd.Index(keys)
    )
    h_agent, agents = pd.factorize(agent_level, sort=True)
    n_agents_all = len(agents)

    ok = ~np.isnan(y_all)
    if weight is not None:
        w_given = audits[weight].to_numpy(dtype=float, na_value=np.nan)
        bad = ok & (~np.isfinite(w_given) | (w_given <= 0))
        if bad.any():
            raise DataError(
                "audits", f"column {weight!r}: design weights must be positive and finite"
            )
    if tickets is not None:
        vol = (
            tickets[volume].to_numpy(dtype=float, na_value=np.nan)
            if volume
            else np.ones(len(tickets))
        )
        if np.any(~np.isfinite(vol)) or np.any(vol < 0):
            raise DataError("tickets", "ticket volumes must be non-negative and finite")
        N_h = np.bincount(ct, weights=vol, minlength=H)
        no_vol = ok & (N_h[ca] <= 0)
        if no_vol.any() and weight is None:
            notes.append(
                f"{int(no_vol.sum())} audit(s) in strata without tickets in the ticket "
                "table excluded"
            )
            ok &= ~no_vol
    n_h = np.bincount(ca[ok], minlength=H).astype(float)
    if tickets is None:
        N_h = np.bincount(ca[ok], weights=w_given[ok], minlength=H)
    has_tickets = N_h > 0 if tickets is not None else n_h > 0
    audited = n_h > 0
    empty = has_tickets & ~audited
    N_agent = np.bincount(h_agent, weights=np.where(has_tickets, N_h, 0.0), minlength=n_agents_all)
    N_agent_aud = np.bincount(
        h_agent, weights=np.where(has_tickets & audited, N_h, 0.0), minlength=n_agents_all
    )
    agent_audited = np.bincount(h_agent, weights=n_h, minlength=n_agents_all) > 0
    agent_with_tickets = N_agent > 0 if tickets is not None else agent_audited
    tickets_uncovered = float(N_agent[agent_with_tickets & ~agent_audited].sum())
    n_empty = int(empty.sum())
    empty_in_audited = empty & agent_audited[h_agent]
    if n_empty:
        notes.append(
            f"{n_empty} stratum(s) with tickets but no audits: "
            f"{int(empty_in_audited.sum())} collapsed into the same agent's audited strata"
            + (
                f", {n_empty - int(empty_in_audited.sum())} of agents without audits "
                f"({tickets_uncovered:g} tickets) not represented"
                if n_empty > int(empty_in_audited.sum())
                else ""
            )
        )

    y = y_all[ok]
    c = ca[ok]
    if weight is not None:
        w = w_given[ok]
        wmode = "design weights (1 / inclusion probability) as given"
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(N_agent_aud > 0, N_agent / N_agent_aud, 1.0)
        w = (N_h / np.maximum(n_h, 1))[c] * factor[h_agent[c]]
        wmode = (
            "weights = stratum ticket volume / stratum audits (strata "
            + " x ".join(strata_list)
            + "), unaudited strata collapsed within agent"
        )
    binary = bool(len(y)) and bool(np.isin(y, (0.0, 1.0)).all())
    a_mean, a_lo, a_hi = _audit_level(y, binary, confidence)
    vmode = (
        f"Taylor-linearised variance with agents ({agent}) as clusters "
        "(ultimate-cluster, with replacement), t interval on A - 1 df"
        if variance == "cluster"
        else "Taylor-linearised stratified variance with FPC, t interval on n - H df"
    )
    method = f"ratio (Hajek) estimator; {wmode}; {vmode}"
    estimand = (
        f"Estimated for the region's tickets: each audit weighted by its "
        f"{' x '.join(strata_list)} ticket volume over its audits, so every ticket counts "
        f"once (not every audit)."
    )
    n = len(y)
    n_agents_aud = int(agent_audited.sum())
    common = dict(
        confidence=confidence,
        value=value,
        estimand=estimand,
        method=method,
        n_audits=n,
        n_strata=int(has_tickets.sum()),
        n_strata_audited=int((audited & has_tickets).sum())
        if tickets is not None
        else int(audited.sum()),
        n_strata_empty=n_empty,
        n_agents=int(agent_with_tickets.sum()),
        n_agents_audited=n_agents_aud,
        tickets=float(N_agent[agent_audited].sum()),
        tickets_uncovered=tickets_uncovered,
        audit_mean=a_mean,
        audit_ci_low=a_lo,
        audit_ci_high=a_hi,
    )
    nan = float("nan")
    if n == 0:
        notes.append("no audits")
        return TicketEstimate(nan, nan, nan, nan, note="; ".join(notes), **common)  # type: ignore[arg-type]
    W = float(w.sum())
    est = float(np.sum(w * y) / W)
    u = w * (y - est) / W
    if variance == "cluster":
        ag = h_agent[c]
        U = np.bincount(ag, weights=u, minlength=n_agents_all)[agent_audited]
        A = len(U)
        df = A - 1
        var = A / (A - 1) * float(np.sum((U - U.mean()) ** 2)) if A > 1 else nan
        if A < 2:
            notes.append("one audited agent: no cluster standard error")
    else:
        nh = n_h
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(N_h > 0, np.clip(nh / np.where(N_h > 0, N_h, 1.0), 0.0, 1.0), 1.0)
            ubar = np.bincount(c, weights=u, minlength=H) / np.maximum(nh, 1)
            single = nh[c] == 1
            dev2 = np.where(single, u * u, (u - ubar[c]) ** 2)
            scale = np.where(nh > 1, nh / np.maximum(nh - 1, 1), 1.0)
        var = float(np.sum((1 - f) * scale * np.bincount(c, weights=dev2, minlength=H)))
        n_single = int(((nh == 1) & (f < 1)).sum())
        if n_single:
            notes.append(f"{n_single} strata with one audit centred at the overall estimate")
        df = n - int(audited.sum())
        if df < 1:
            var = nan
            notes.append("too few audits per stratum for a standard error")
    se = math.sqrt(var) if np.isfinite(var) and var >= 0 else nan
    if np.isfinite(se):
        crit = float(stats.t.ppf(0.5 + confidence / 2, df))
        lo, hi = est - crit * se, est + crit * se
        if binary and (lo < 0.0 or hi > 1.0):
            lo, hi = max(lo, 0.0), min(hi, 1.0)
    else:
        lo = hi = nan
    return TicketEstimate(est, se, lo, hi, note="; ".join(notes), **common)  # type: ignore[arg-type]


def pool_estimates(
    estimates: Mapping[str, TicketEstimate] | Sequence[TicketEstimate],
    *,
    confidence: float | None = None,
) -> TicketEstimate:
    """Pool regions' ticket estimates by ticket volume (the global overview's figure).

    Parameters
    ----------
    estimates : mapping or sequence of TicketEstimate
        One estimate per region (keyed by region name for the note), e.g. from
        :func:`ticket_estimate`, for the same ``value``.
    confidence : float, optional
        Level of the pooled interval; None takes the first estimate's.

    Returns
    -------
    TicketEstimate
        The pooled estimate; counts are summed, ``audit_mean`` is the plain mean
        over all audits. Regions without an estimate (no audits) are excluded and
        named (or counted) in ``note``, never read as zero.

    Notes
    -----
    With :math:`T_r` the tickets each region's estimate stands for,
    :math:`\\hat R = \\sum_r T_r \\hat R_r / \\sum_r T_r` and, regions being
    sampled independently, :math:`\\hat V = \\sum_r (T_r/T)^2\\,\\widehat{SE}_r^2`, with
    a normal interval. A region without a standard error makes the pooled one NaN.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., section 5.2
       (stratified estimates). Wiley.

    Examples
    --------
    >>> a = pd.DataFrame({"agent_id": ["a", "a", "b", "b"], "channel": "chat",
    ...                   "passed": [1, 0, 1, 1]})
    >>> t = pd.DataFrame({"agent_id": ["a", "b"], "channel": "chat", "tickets": [100, 100]})
    >>> e1 = ticket_estimate(a, t, volume="tickets")
    >>> e2 = ticket_estimate(a.assign(passed=[1, 1, 1, 1]), t.assign(tickets=[300, 300]),
    ...                      volume="tickets")
    >>> round(pool_estimates({"EMEA": e1, "APAC": e2}).estimate, 4)
    0.9375
    """
    items = (
        list(estimates.items())
        if isinstance(estimates, Mapping)
        else [(str(i), e) for i, e in enumerate(estimates)]
    )
    if not items:
        raise ParamsError("no estimates to pool")
    for _, e in items:
        if not isinstance(e, TicketEstimate):
            raise TypeError(f"estimates must be TicketEstimate objects, got {type(e).__name__}")
    values = {e.value for _, e in items}
    if len(values) > 1:
        raise ParamsError(f"cannot pool estimates of different values: {sorted(values)}")
    conf = items[0][1].confidence if confidence is None else confidence
    z = _z(conf)
    used = [(k, e) for k, e in items if np.isfinite(e.estimate) and e.tickets > 0]
    missing = [k for k, e in items if not (np.isfinite(e.estimate) and e.tickets > 0)]
    notes = []
    if missing:
        named = isinstance(estimates, Mapping)
        notes.append(
            f"{len(missing)} region(s) without an estimate excluded"
            + (f": {', '.join(missing)}" if named else "")
        )
    nan = float("nan")
    T = np.array([e.tickets for _, e in used], dtype=float)
    R = np.array([e.estimate for _, e in used], dtype=float)
    S = np.array([e.se for _, e in used], dtype=float)
    n_aud = np.array([e.n_audits for _, e in items], dtype=float)
    a_means = np.array([e.audit_mean for _, e in items], dtype=float)
    a_ok = np.isfinite(a_means) & (n_aud > 0)
    a_mean = float(np.sum(a_means[a_ok] * n_aud[a_ok]) / n_aud[a_ok].sum()) if a_ok.any() else nan
    if len(used):
        share = T / T.sum()
        est = float(np.sum(share * R))
        se = float(np.sqrt(np.sum(share**2 * S**2)))
    else:
        est = se = nan
    lo, hi = (est - z * se, est + z * se) if np.isfinite(se) else (nan, nan)
    # a rate (every regional estimate and interval inside [0, 1]): clip to [0, 1]
    rate = all(0.0 <= e.estimate <= 1.0 and 0.0 <= e.ci_low and e.ci_high <= 1.0 for _, e in used)
    if rate and np.isfinite(lo):
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    first = items[0][1]
    return TicketEstimate(
        estimate=est,
        se=se,
        ci_low=lo,
        ci_high=hi,
        confidence=conf,
        value=first.value,
        estimand="Estimated for all regions' tickets: regions pooled by ticket volume.",
        method=(
            f"volume-weighted pool of {len(used)} regional ticket estimates "
            "(independent regions; normal interval)"
        ),
        n_audits=int(n_aud.sum()),
        n_strata=sum(e.n_strata for _, e in items),
        n_strata_audited=sum(e.n_strata_audited for _, e in items),
        n_strata_empty=sum(e.n_strata_empty for _, e in items),
        n_agents=sum(e.n_agents for _, e in items),
        n_agents_audited=sum(e.n_agents_audited for _, e in items),
        tickets=float(T.sum()),
        tickets_uncovered=float(sum(e.tickets_uncovered for _, e in items)),
        audit_mean=a_mean,
        audit_ci_low=nan,
        audit_ci_high=nan,
        note="; ".join(notes),
    )
