"""Rater calibration against the expert (or consensus) and the discussion list.

:func:`rater_calibration` works in four steps, each a small function: the
scale of every criterion (:func:`_numeric_scale`, shared with
:func:`disagreements`), each rating's reference distribution
(:func:`_compare_with_reference`), a bootstrap of the per-rater ratios that
resamples tickets (:func:`_ratio_bootstrap`), and the verdicts
(:func:`_calibration_verdicts`).

References
----------
.. [1] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.
.. [2] MaestroQA help centre, "Calibrations": alignment score
   ``1 - |grader - calibrator| / (max - min)`` per question, weighted.
.. [3] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
.. [4] Yitzhaki, S. (2003). Gini's mean difference: a superior measure of
   variability for non-normal distributions. Metron, 61(2), 285-316.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from qa_analysis import settings
from qa_analysis.reliability._engine import (
    _check_columns,
    _check_duplicates,
    _codes,
    _criteria_order,
    _data_error,
    _div,
    _int_codes,
    _item_categories,
    _py,
    _rows,
    _show,
    _where,
)
from qa_analysis.reliability.bootstrap import (
    Seed,
    _check_ci,
    _n_boot,
    _quantiles,
    _weight_chunks,
)

__all__ = ["disagreements", "rater_calibration", "rater_calibration_by_item"]

Reference = Literal["expert", "consensus"]
CalibrationVerdict = Literal["lenient", "severe", "aligned", "undefined"]

_CALIBRATION_COLUMNS = [
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
    "scale_guessed",
    "note",
]


# --------------------------------------------------------------------------- scale resolution
@dataclass(frozen=True)
class _Scale:
    """The numeric scale of one criterion: sorted distinct levels, and whether guessed."""

    levels: np.ndarray
    guessed: bool

    @property
    def span(self) -> float:
        """Scale range ``max - min`` (0 for an empty or one-level scale)."""
        return float(self.levels[-1] - self.levels[0]) if self.levels.size else 0.0


def _numeric_scale(cid: Any, scorecard: Any, categories: Any, seen: np.ndarray) -> _Scale:
    """The scale of criterion ``cid``: ``categories``, else the scorecard's, else the values seen.

    ``seen`` are the criterion's non-missing scores. A given scale must be
    non-empty numbers; a scale taken from ``seen`` is marked ``guessed``.
    """
    scale = _item_categories(cid, scorecard, categories)
    if scale is None:
        return _Scale(np.unique(seen), guessed=True)
    try:
        levels = np.unique(np.asarray(scale, dtype=float))
    except (TypeError, ValueError):
        levels = np.array([np.nan])
    if levels.size == 0 or np.isnan(levels).any():
        raise ValueError(
            f"categories for criterion {_py(cid)!r} must be numbers, got {_show(scale)}"
        )
    return _Scale(levels, guessed=False)


# --------------------------------------------------------------------------- reference distribution
@dataclass(frozen=True)
class _CalibrationCodes:
    """The calibration table as integer codes (all rows, NaN scores included)."""

    unit: np.ndarray
    unit_labels: np.ndarray
    rater: np.ndarray
    rater_labels: np.ndarray
    criterion: np.ndarray
    criterion_labels: np.ndarray
    score: np.ndarray
    expert: np.ndarray
    mode: Reference


def _sum_by(group: np.ndarray, n_groups: int, X: np.ndarray) -> np.ndarray:
    """Column sums of X (n x d) per group code."""
    G = sparse.csr_matrix(
        (np.ones(group.size), (group, np.arange(group.size))), shape=(n_groups, group.size)
    )
    return np.asarray(G @ X)


def _compare_with_reference(
    codes: _CalibrationCodes,
    rows: np.ndarray,
    scale: _Scale,
    pos: np.ndarray,
    weight: float,
    ki: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each rating of one criterion against its reference distribution.

    ``rows`` are the criterion's non-missing rows, ``pos`` their scale codes.
    The reference of a rating is the expert ratings of its unit, or (consensus)
    the *other* ratings of its unit. Returns one row per compared rating
    (``rater, unit, crit, match, dev, share, walign, w``) and, per rater, the
    AC1 chance agreement ``pe`` of rater vs reference with its count ``n``.
    """
    U, R = len(codes.unit_labels), len(codes.rater_labels)
    C = len(scale.levels)
    span = scale.span
    vv = codes.score[rows]
    uu, ri, ex = codes.unit[rows], codes.rater[rows], codes.expert[rows]
    expert_mode = codes.mode == "expert"
    ref = ex if expert_mode else np.ones(rows.size, bool)
    cand = ~ex if expert_mode else np.ones(rows.size, bool)
    Nref = np.bincount(uu[ref] * C + pos[ref], minlength=U * C).reshape(U, C).astype(float)
    mref = Nref.sum(axis=1)
    sref = np.bincount(uu[ref], weights=vv[ref], minlength=U)
    ci_idx = np.flatnonzero(cand)
    cu, cx, cv = uu[ci_idx], pos[ci_idx], vv[ci_idx]
    cnt = Nref[cu]
    m = mref[cu].copy()
    s = sref[cu].copy()
    if not expert_mode:  # leave-one-out: nobody is compared with themself
        cnt[np.arange(cu.size), cx] -= 1
        m -= 1
        s -= cv
    ok = m > 0
    cnt, m, s, cu, cx, cv = cnt[ok], m[ok], s[ok], cu[ok], cx[ok], cv[ok]
    crater = ri[ci_idx][ok]
    q = cnt / m[:, None]
    dev = cv - s / m
    share = _div(dev, span) if span > 0 else np.zeros(dev.size)
    compared = pd.DataFrame(
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
    # AC1 chance agreement per rater within this criterion
    onehot = np.zeros((cu.size, C))
    onehot[np.arange(cu.size), cx] = 1.0
    n_r = np.bincount(crater, minlength=R).astype(float)
    pi = (_sum_by(crater, R, onehot) + _sum_by(crater, R, q)) * _div(1.0, 2 * n_r)[:, None]
    pe = (pi * (1 - pi)).sum(axis=1) / (C - 1) if C > 1 else np.full(R, np.nan)
    chance = pd.DataFrame({"rater": np.arange(R), "crit": ki, "n": n_r, "pe": pe})
    return compared, chance


# --------------------------------------------------------------------------- grouped ratio bootstrap
def _ratio_bootstrap(
    group: np.ndarray,
    n_groups: int,
    unit: np.ndarray,
    n_units: int,
    metrics: np.ndarray,
    confidence: float | None,
    n_boot: int,
    seed: Seed,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group ratios of sums, with percentile intervals resampling units.

    ``metrics`` columns are ``[1, match, dev, share, walign, w]`` per compared
    rating; the ratios are ``match/n, dev/n, share/n, walign/w``. Each
    resample draws units with replacement, all groups jointly. Returns
    ``point, lo, hi`` of shape ``4 x n_groups`` (NaN intervals without
    ``confidence`` or with fewer than two units).
    """
    d = metrics.shape[1]
    # per (group, unit) sums as one sparse matrix per metric, stacked: (n_groups*d) x n_units
    S = sparse.csr_matrix(
        (
            metrics.T.ravel(),
            ((np.arange(d)[:, None] * n_groups + group[None, :]).ravel(), np.tile(unit, d)),
        ),
        shape=(d * n_groups, n_units),
    )

    def ratios(T: np.ndarray) -> np.ndarray:  # T: (d*n_groups) x B
        T = T.reshape(d, n_groups, -1)
        n, w = T[0], T[5]
        return np.stack([_div(T[1], n), _div(T[2], n), _div(T[3], n), _div(T[4], w)])

    point = ratios(np.asarray(S.sum(axis=1)))[:, :, 0]
    lo = hi = np.full(point.shape, np.nan)
    if confidence is not None and n_units >= 2:
        rng = np.random.default_rng(seed)
        boots = np.concatenate(
            [
                ratios(np.asarray(S @ W.T))
                for W in _weight_chunks(np.ones(n_units), np.arange(n_units), n_boot, rng, "units")
            ],
            axis=2,
        )  # 4 x n_groups x B
        qs = _quantiles(
            boots.reshape(-1, boots.shape[2]).T, [(1 - confidence) / 2, (1 + confidence) / 2]
        )
        lo, hi = qs[0].reshape(point.shape), qs[1].reshape(point.shape)
    return point, lo, hi


# --------------------------------------------------------------------------- verdicts
def _calibration_verdicts(
    share: np.ndarray, lo: np.ndarray, hi: np.ndarray, tolerance: float, use_interval: bool
) -> np.ndarray:
    """``lenient`` / ``severe`` when the mean deviation share passes ``tolerance``.

    With ``use_interval`` the interval must also exclude 0 (above for
    lenient, below for severe); NaN shares are ``undefined``.
    """
    with np.errstate(invalid="ignore"):
        len_ok = (share >= tolerance) & ((lo > 0) if use_interval else True)
        sev_ok = (share <= -tolerance) & ((hi < 0) if use_interval else True)
    verdict = np.where(len_ok, "lenient", np.where(sev_ok, "severe", "aligned"))
    return np.where(np.isfinite(share), verdict, "undefined")


def _scale_notes(guessed_names: list[list[str]]) -> list[str]:
    """Per row: the note naming the criteria whose scale came from the values seen."""
    return [
        f"scale of {', '.join(names)} taken from the values seen; "
        "pass scorecard= or categories= for the full range"
        if names
        else ""
        for names in guessed_names
    ]


# --------------------------------------------------------------------------- rater calibration
def _calibration_codes(
    data: pd.DataFrame,
    *,
    reference: Reference,
    role: str,
    expert_role: str,
    item: str,
    unit: str,
    rater: str,
    value: str,
) -> _CalibrationCodes:
    """Check the table and turn it into codes; pick expert or consensus reference."""
    if not pd.api.types.is_numeric_dtype(data[value].dtype):
        raise _data_error(
            f"rater_calibration needs numeric scores; column {value!r} has dtype {data[value].dtype}"
        )
    u, ulab = _codes(data[unit], unit)
    rr, rlab = _codes(data[rater], rater)
    k_all, klab = _codes(data[item], item)
    _check_duplicates(
        _where(data.index),
        [u, k_all, rr],
        [len(ulab), len(klab), len(rlab)],
        [ulab, klab, rlab],
        [unit, item, rater],
    )
    expert = (
        (data[role] == expert_role).to_numpy(dtype=bool, na_value=False)
        if role in data.columns
        else np.zeros(len(data), bool)
    )
    mode: Reference = "expert" if reference == "expert" and expert.any() else "consensus"
    return _CalibrationCodes(
        u,
        ulab,
        rr,
        rlab,
        k_all,
        klab,
        data[value].to_numpy(dtype=float, na_value=np.nan),
        expert,
        mode,
    )


def rater_calibration(
    data: pd.DataFrame,
    *,
    reference: Reference = "expert",
    role: str = "role",
    expert_role: str = "expert",
    item: str = "criterion",
    scorecard: Any = None,
    categories: Mapping[Any, Sequence[float]] | Sequence[float] | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    by_item: bool = False,
    tolerance: float | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: Seed = 0,
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
    tolerance : float, optional
        Smallest mean deviation, as a share of the scale range, that counts as
        lenient or severe; default ``thresholds.bias_flag`` of
        ``params/defaults.yaml`` (0.1, i.e. 0.4 points on a 1-5 scale), the
        value the reports use.
    confidence : float or None
        Confidence level of the bootstrap percentile intervals; None for none
        (then the verdict uses the point estimate only).
    n_boot : int, optional
        Bootstrap resamples (units resampled with replacement); default
        ``thresholds.n_boot`` of ``params/defaults.yaml`` (1000).
    seed : int, Generator or None
        Bootstrap seed; same seed, same intervals.

    Returns
    -------
    DataFrame
        One row per rater (and criterion): ``rater_id, [criterion], role,
        reference, n_units, n_ratings, match_rate (+ _ci_low/_ci_high),
        agreement_ac1, deviation (+ CI), deviation_share (+ CI), alignment (+ CI),
        verdict, scale_guessed, note``. ``scale_guessed``: some of the row's
        criteria had their scale taken from the values seen (``note`` names them).

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
    >>> rater_calibration(df, confidence=None)[["rater_id", "match_rate", "deviation", "verdict"]]
      rater_id  match_rate  deviation  verdict
    0       s1         0.0        1.0  lenient
    1       s2         1.0        0.0  aligned
    """
    if reference not in ("expert", "consensus"):
        raise ValueError(f"reference must be 'expert' or 'consensus', got {reference!r}")
    _check_columns(data, {"unit": unit, "rater": rater, "value": value, "item": item})
    n_boot = _n_boot(n_boot)
    _check_ci(confidence, n_boot)
    tol = float(settings.thresholds()["bias_flag"]) if tolerance is None else float(tolerance)
    codes = _calibration_codes(
        data,
        reference=reference,
        role=role,
        expert_role=expert_role,
        item=item,
        unit=unit,
        rater=rater,
        value=value,
    )
    order = _criteria_order(data, item, scorecard)
    kpos = {c: i for i, c in enumerate(codes.criterion_labels)}
    parts, pe_parts = [], []
    guessed = np.zeros(len(order), bool)
    for ki, cid in enumerate(order):
        rows = np.flatnonzero((codes.criterion == kpos[cid]) & ~np.isnan(codes.score))
        if rows.size == 0:
            continue
        vv = codes.score[rows]
        scale = _numeric_scale(cid, scorecard, categories, vv)
        guessed[ki] = scale.guessed
        cats = scale.levels
        pos = np.clip(np.searchsorted(cats, vv), 0, len(cats) - 1)
        bad = cats[pos] != vv
        if bad.any():
            raise _data_error(
                f"column {value!r}: criterion {_py(cid)!r} has value(s) "
                f"{_show(np.unique(vv[bad]))} outside its scale {_show(cats, 50)} "
                f"({_rows(data.index, rows[bad])})"
            )
        weight = float(scorecard[cid].weight) if scorecard is not None else 1.0
        compared, chance = _compare_with_reference(codes, rows, scale, pos, weight, ki)
        parts.append(compared)
        pe_parts.append(chance)
    cols_out = [rater, *([item] if by_item else []), *_CALIBRATION_COLUMNS]
    P = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if P.empty:
        return pd.DataFrame(columns=cols_out)
    K = len(order)
    crit = P["crit"].to_numpy()
    g = P["rater"].to_numpy() * K + crit if by_item else P["rater"].to_numpy()
    gcodes, gkeys = _int_codes(g)
    units, ucode = np.unique(P["unit"].to_numpy(), return_inverse=True)
    nG, nU = gkeys.size, units.size
    metrics = np.column_stack(
        [np.ones(len(P)), P[["match", "dev", "share", "walign", "w"]].to_numpy()]
    )
    point, lo, hi = _ratio_bootstrap(gcodes, nG, ucode, nU, metrics, confidence, n_boot, seed)
    n_ratings = np.bincount(gcodes, minlength=nG)
    pair = np.unique(gcodes.astype(np.int64) * nU + ucode)
    n_units = np.bincount(pair // nU, minlength=nG)
    # AC1 against the reference: per-criterion chance agreement averaged by count
    PE = pd.concat(pe_parts, ignore_index=True)
    PE = PE[PE["n"] > 0]
    pg = PE["rater"].to_numpy() * K + PE["crit"].to_numpy() if by_item else PE["rater"].to_numpy()
    pe_num = pd.Series(PE["n"].to_numpy() * PE["pe"].to_numpy()).groupby(pg).sum()
    pe_den = pd.Series(PE["n"].to_numpy()).groupby(pg).sum()
    pe_g = _div(pe_num.reindex(gkeys).to_numpy(), pe_den.reindex(gkeys).to_numpy())
    ac1 = _div(point[0] - pe_g, 1 - pe_g)
    verdict = _calibration_verdicts(point[2], lo[2], hi[2], tol, confidence is not None)
    # criteria of each group whose scale was guessed (a field, turned into the note)
    gk = np.unique(gcodes.astype(np.int64) * K + crit)
    gk = gk[guessed[gk % K]]
    guessed_names: list[list[str]] = [[] for _ in range(nG)]
    for gi, ki in zip(gk // K, gk % K, strict=True):
        guessed_names[gi].append(str(_py(order[ki])))
    rater_idx = gkeys // K if by_item else gkeys
    roles = (
        data.groupby(codes.rater)[role].first().reindex(rater_idx).to_numpy()
        if role in data.columns
        else np.full(nG, None)
    )
    out: dict[str, Any] = {rater: codes.rater_labels[rater_idx]}
    if by_item:
        out[item] = np.asarray(order, dtype=object)[gkeys % K]
    out.update(
        {
            "role": roles,
            "reference": codes.mode if codes.mode == reference else "consensus (no expert in data)",
            "n_units": n_units,
            "n_ratings": n_ratings,
            "match_rate": point[0],
            "match_rate_ci_low": lo[0],
            "match_rate_ci_high": hi[0],
            "agreement_ac1": ac1,
            "deviation": point[1],
            "deviation_ci_low": lo[1],
            "deviation_ci_high": hi[1],
            "deviation_share": point[2],
            "deviation_share_ci_low": lo[2],
            "deviation_share_ci_high": hi[2],
            "alignment": point[3],
            "alignment_ci_low": lo[3],
            "alignment_ci_high": hi[3],
            "verdict": verdict,
            "scale_guessed": np.array([bool(n) for n in guessed_names], dtype=bool),
            "note": _scale_notes(guessed_names),
        }
    )
    return pd.DataFrame(out, columns=cols_out)


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
    >>> rater_calibration_by_item(df, confidence=None)[["rater_id", "criterion", "deviation"]]
      rater_id criterion  deviation
    0        s      tone        1.0
    1        s  greeting        0.0
    """
    if "by_item" in kwargs:
        raise TypeError("rater_calibration_by_item() sets by_item=True itself")
    return rater_calibration(data, by_item=True, **kwargs)


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
        raise _data_error(
            f"disagreements needs numeric scores; column {value!r} has dtype {data[value].dtype}"
        )
    v = data[value].to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(v)
    u, k, v = u[keep], k[keep], v[keep]
    K = len(klab)
    span = np.array(
        [_numeric_scale(c, scorecard, categories, v[k == i]).span for i, c in enumerate(klab)]
    )
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
