"""The multinomial bootstrap over rating patterns (private).

A resample of ``n`` units drawn with replacement is, in distribution, a
multinomial draw of pattern multiplicities with probabilities ``count / n``;
``B`` resamples are therefore one ``(B x P)`` weight matrix and one product
``W @ F`` with the per-pattern features ``F`` of a coefficient. When patterns
are nearly as many as units, units are resampled by index instead. Percentile
intervals follow Efron & Tibshirani (1993).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Literal, get_args

import numpy as np
from scipy import sparse

from qa_analysis import settings

BootstrapMethod = Literal["auto", "patterns", "units"]
_BOOT_METHODS: tuple[BootstrapMethod, ...] = get_args(BootstrapMethod)
Seed = int | np.random.Generator | None


def _n_boot(n_boot: int | None) -> int:
    """``n_boot``, or the shared default ``thresholds.n_boot`` of params/defaults.yaml."""
    return int(settings.thresholds()["n_boot"]) if n_boot is None else n_boot


def _spawn(seed: Seed | np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent seed sequences from an int, a Generator, a SeedSequence or None.

    An int gives the same children every time (reproducible); a Generator
    gives children seeded from its next draws (successive calls differ).
    """
    if isinstance(seed, np.random.Generator):
        # entropy drawn from the generator: reproducible given its state, and it advances
        return np.random.SeedSequence(seed.integers(2**63, size=4).tolist()).spawn(n)
    if isinstance(seed, np.random.SeedSequence):
        return seed.spawn(n)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.SeedSequence(seed).spawn(n)


def _weight_chunks(
    mult: np.ndarray, inv: np.ndarray, n_boot: int, rng: np.random.Generator, method: str
) -> Iterator[np.ndarray]:
    """Resample weights (resamples x patterns), in blocks of resamples.

    ``patterns``: multinomial(n, mult / n) per resample, exactly the law of the
    pattern counts when n units are drawn with replacement. ``units``: draw unit
    indices and count them per pattern (classic index resampling).
    """
    P = mult.size
    n = round(float(mult.sum()))
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
    seed: Seed,
    method: str,
) -> np.ndarray:
    """Totals ``W @ F`` of ``n_boot`` resamples (rows)."""
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


def _check_ci(confidence: float | None, n_boot: int) -> None:
    """ValueError unless ``confidence`` is in (0, 1) (or None) and ``n_boot`` >= 2."""
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, float | int | np.floating | np.integer)
        or not (0 < confidence < 1)
    ):
        raise ValueError(
            f"confidence must be a confidence level in (0, 1) or None, got {confidence!r}"
        )
    if confidence is not None and (
        isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2
    ):
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")


# A statistic: features (patterns x d) and a finisher mapping totals (B x d) to
# (estimate, observed, expected) arrays of length B.
Finisher = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _estimate(
    stats: Sequence[tuple[np.ndarray | sparse.spmatrix, Finisher]],
    mult: np.ndarray,
    inv: np.ndarray,
    n_units: int,
    confidence: float | None,
    n_boot: int,
    seed: Seed,
    method: str,
) -> list[tuple[float, float, float, float, float, str]]:
    """Point estimates and percentile intervals of several statistics on shared resamples.

    Returns ``(est, obs, exp, lo, hi, boot_note)`` per statistic; no interval
    when ``confidence`` is None.
    """
    _check_ci(confidence, n_boot)
    widths = [F.shape[1] for F, _ in stats]
    if any(sparse.issparse(F) for F, _ in stats):
        F_all = sparse.hstack([sparse.csr_matrix(F) for F, _ in stats], format="csr")
    else:
        F_all = np.hstack([F for F, _ in stats]) if stats else np.zeros((mult.size, 0))
    edges = np.concatenate([[0], np.cumsum(widths)])
    T0 = _totals(F_all, mult[None, :].astype(float))
    points: list[tuple[float, float, float]] = []
    for (_, fin), a, b in zip(stats, edges[:-1], edges[1:], strict=True):
        e0, o0, x0 = fin(T0[:, a:b])
        points.append((float(e0[0]), float(o0[0]), float(x0[0])))
    out = [(e, o, x, math.nan, math.nan, "") for e, o, x in points]
    if confidence is None or not any(np.isfinite(p[0]) for p in points):
        return out
    if n_units < 2:
        return [
            (e, o, x, lo, hi, "no interval: the bootstrap needs at least two units")
            for e, o, x, lo, hi, _ in out
        ]
    TB = _boot_totals(F_all, mult, inv, n_boot, seed, method)
    res: list[tuple[float, float, float, float, float, str]] = []
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
        q = _quantiles(est, [(1 - confidence) / 2, (1 + confidence) / 2])[:, 0]
        res.append((e, o, x, float(q[0]), float(q[1]), note))
    return res
