"""Per-criterion agreement tables: by criterion, by calibration session, verdicts.

References
----------
.. [1] Krippendorff, K. (2004). Content Analysis: An Introduction to Its
   Methodology (2nd ed.), p. 241. Sage.
.. [2] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
.. [3] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_analysis import settings
from qa_analysis.reliability._engine import (
    LEVELS,
    Level,
    Weights,
    _agree_weights,
    _block,
    _check_columns,
    _criteria_order,
    _item_categories,
    _join,
    _prepare,
    _py,
    _show,
    _where,
)
from qa_analysis.reliability.alpha import _alpha_note, _alpha_stat
from qa_analysis.reliability.bootstrap import (
    BootstrapMethod,
    Seed,
    _estimate,
    _n_boot,
    _spawn,
)
from qa_analysis.reliability.chance import _agreement_features, _chance_finisher

__all__ = ["agreement_by_item", "agreement_over_sessions", "alpha_verdict"]

Verdict = Literal["reliable", "tentative", "unreliable", "undefined"]


def _alpha_bands(
    alpha_reliable: float | None, alpha_tentative: float | None
) -> tuple[float, float]:
    """The two alpha bands, defaulting to ``thresholds`` in params/defaults.yaml."""
    th = settings.thresholds()
    reliable = float(th["alpha_reliable"] if alpha_reliable is None else alpha_reliable)
    tentative = float(th["alpha_tentative"] if alpha_tentative is None else alpha_tentative)
    if not tentative <= reliable:
        raise ValueError(
            f"alpha_tentative ({tentative}) must not exceed alpha_reliable ({reliable})"
        )
    return reliable, tentative


def alpha_verdict(
    alpha: float | None,
    *,
    alpha_reliable: float | None = None,
    alpha_tentative: float | None = None,
) -> Verdict:
    """Krippendorff's bands: reliable, tentative or unreliable.

    Parameters
    ----------
    alpha : float
        An alpha estimate (or the lower end of its interval, for a cautious verdict).
    alpha_reliable, alpha_tentative : float, optional
        At or above ``alpha_reliable``: reliable; at or above
        ``alpha_tentative``: tentative; else unreliable. Default: the
        ``thresholds`` of ``params/defaults.yaml`` (Krippendorff's .800 and .667).

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
    >>> alpha_verdict(0.71, alpha_reliable=0.9, alpha_tentative=0.75)
    'unreliable'
    """
    reliable, tentative = _alpha_bands(alpha_reliable, alpha_tentative)
    if alpha is None or not np.isfinite(alpha):
        return "undefined"
    return "reliable" if alpha >= reliable else "tentative" if alpha >= tentative else "unreliable"


_GWET_WEIGHTS: dict[str, Weights | None] = {
    "nominal": None,
    "ordinal": "ordinal",
    "interval": "quadratic",
    "ratio": "quadratic",
}


def _scale_note(cats: list[Any] | None, values: np.ndarray) -> str:
    """Note saying the scale was taken from the values seen (empty when it was given)."""
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


@dataclass(frozen=True)
class _ItemSpec:
    """Level and scale of one criterion, and whether each was guessed from the data."""

    level: Level
    categories: list[Any] | None
    level_guessed: bool
    note: str

    @property
    def scale_guessed(self) -> bool:
        """The scale is the values seen (no ``categories=`` or scorecard scale)."""
        return self.categories is None


def _item_spec(
    cid: Any,
    scorecard: Any,
    levels: Mapping[Any, str] | str | None,
    categories: Any,
    values: np.ndarray,
) -> _ItemSpec:
    """Level and scale of one criterion, with a note on what was guessed."""
    cats = _item_categories(cid, scorecard, categories)
    note = ""
    level_guessed = False
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
        level_guessed = True
        note = f"level guessed: {level} ({n} {what}); pass scorecard= or levels="
    if level not in LEVELS:
        raise ValueError(f"level for {_py(cid)!r} must be one of {LEVELS}, got {level!r}")
    return _ItemSpec(level, cats, level_guessed, _join(note, _scale_note(cats, values)))


@dataclass(frozen=True)
class _TableSpec:
    """The settings of one agreement table (shared by every criterion and session)."""

    item: str
    scorecard: Any
    levels: Mapping[Any, str] | str | None
    categories: Any
    unit: str
    rater: str
    value: str
    bands: tuple[float, float]
    confidence: float | None
    n_boot: int
    bootstrap: BootstrapMethod


_TABLE_COLUMNS = [
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
    "percent_agreement_ci_low",
    "percent_agreement_ci_high",
    "verdict",
    "level_guessed",
    "scale_guessed",
    "note",
]


def agreement_by_item(
    data: pd.DataFrame,
    *,
    item: str = "criterion",
    scorecard: Any = None,
    levels: Mapping[Any, Level] | Level | None = None,
    categories: Mapping[Any, Sequence[Any]] | Sequence[Any] | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    alpha_reliable: float | None = None,
    alpha_tentative: float | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: Seed = 0,
    bootstrap: BootstrapMethod = "auto",
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
    alpha_reliable, alpha_tentative : float, optional
        Krippendorff's bands for ``verdict`` (see :func:`alpha_verdict`);
        default ``thresholds`` of ``params/defaults.yaml`` (0.8 and 0.667).
    confidence, n_boot, seed, bootstrap
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
        percent_agreement_ci_low, percent_agreement_ci_high, verdict,
        level_guessed, scale_guessed, note``. ``verdict`` applies
        Krippendorff's bands to the alpha estimate (:func:`alpha_verdict`);
        ``level_guessed`` / ``scale_guessed`` say whether the level of
        measurement / the scale came from the values seen (``note`` says so
        in words).

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
    >>> agreement_by_item(df, confidence=None)[["criterion", "level", "alpha"]].round(3)
      criterion    level  alpha
    0  greeting  nominal  1.000
    1      tone  ordinal  0.902
    >>> agreement_by_item(df, confidence=None)["note"][0].split("; ")[0]
    'level guessed: nominal (2 values seen)'
    """
    _check_columns(data, {"item": item, "unit": unit, "rater": rater, "value": value})
    spec = _TableSpec(
        item,
        scorecard,
        levels,
        categories,
        unit,
        rater,
        value,
        _alpha_bands(alpha_reliable, alpha_tentative),
        confidence,
        _n_boot(n_boot),
        bootstrap,
    )
    return _agreement_table(data, spec, seed, data.index, None)


def _agreement_table(
    data: pd.DataFrame,
    spec: _TableSpec,
    seed: Seed | np.random.SeedSequence,
    index: pd.Index,
    base: np.ndarray | None,
) -> pd.DataFrame:
    """agreement_by_item on ``data``, a subset (positions ``base``) of a frame with ``index``."""
    order = _criteria_order(data, spec.item, spec.scorecard)
    groups = data.groupby(spec.item, sort=False, observed=True).indices
    reliable, tentative = spec.bands
    rows = []
    for cid, ss in zip(order, _spawn(seed, len(order)), strict=True):
        pos = groups[cid]
        sub = data.iloc[pos]
        it = _item_spec(
            cid, spec.scorecard, spec.levels, spec.categories, sub[spec.value].to_numpy()
        )
        r = _prepare(
            sub,
            spec.unit,
            spec.rater,
            spec.value,
            it.categories,
            numeric=it.level != "nominal",
            what=f"{it.level} alpha",
            where=_where(index, pos if base is None else base[pos]),
        )
        b = _block(r)
        wts = _GWET_WEIGHTS[it.level]
        Wt, wname = _agree_weights(wts, r)
        stats = [
            _alpha_stat(r, b, it.level),
            (_agreement_features(b, Wt), _chance_finisher("gwet", Wt)),
            (
                _agreement_features(b, np.eye(b.n_cats)),
                _chance_finisher("percent", np.eye(b.n_cats)),
            ),
        ]
        ra, rg, rp = _estimate(
            stats,
            b.mult,
            b.inv,
            b.n_units,
            spec.confidence,
            spec.n_boot,
            np.random.default_rng(ss),
            spec.bootstrap,
        )
        n_pair, note = _alpha_note(r, b, ra[0])
        rows.append(
            {
                "criterion": cid,
                "level": it.level,
                "n_units": r.n_units,
                "n_raters": r.n_raters,
                "n_pairable": n_pair,
                "alpha": ra[0],
                "alpha_ci_low": ra[3],
                "alpha_ci_high": ra[4],
                "gwet_coefficient": "AC1" if wts is None else f"AC2 ({wname})",
                "gwet": rg[0],
                "gwet_ci_low": rg[3],
                "gwet_ci_high": rg[4],
                "percent_agreement": rp[0],
                "percent_agreement_ci_low": rp[3],
                "percent_agreement_ci_high": rp[4],
                "verdict": alpha_verdict(ra[0], alpha_reliable=reliable, alpha_tentative=tentative),
                "level_guessed": it.level_guessed,
                "scale_guessed": it.scale_guessed,
                "note": _join(
                    note,
                    ra[5],
                    f"{r.n_missing} missing rating(s) ignored" if r.n_missing else "",
                    it.note,
                ),
            }
        )
    return pd.DataFrame(rows, columns=_TABLE_COLUMNS)


def agreement_over_sessions(
    data: pd.DataFrame,
    *,
    session: str = "session_id",
    date: str | None = "session_date",
    item: str = "criterion",
    scorecard: Any = None,
    levels: Mapping[Any, Level] | Level | None = None,
    categories: Mapping[Any, Sequence[Any]] | Sequence[Any] | None = None,
    unit: str = "ticket_id",
    rater: str = "rater_id",
    value: str = "score",
    alpha_reliable: float | None = None,
    alpha_tentative: float | None = None,
    confidence: float | None = 0.95,
    n_boot: int | None = None,
    seed: Seed = 0,
    bootstrap: BootstrapMethod = "auto",
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
    item, scorecard, levels, categories, unit, rater, value
        As in :func:`agreement_by_item`.
    alpha_reliable, alpha_tentative, confidence, n_boot, seed, bootstrap
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
    session's tickets only, each session with its own stream spawned from
    ``seed``.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"session_id": ["s1"] * 4 + ["s2"] * 4,
    ...                    "ticket_id": [1, 1, 2, 2, 3, 3, 4, 4], "rater_id": ["a", "b"] * 4,
    ...                    "criterion": "greeting", "score": [1, 1, 0, 0, 1, 0, 0, 0]})
    >>> agreement_over_sessions(df, date=None, confidence=None)[["session_id", "alpha"]].round(2)
      session_id  alpha
    0         s1    1.0
    1         s2    0.0
    """
    _check_columns(data, {"session": session, "date": date, "item": item})
    _check_columns(data, {"unit": unit, "rater": rater, "value": value})
    _criteria_order(data, item, scorecard)  # unknown criteria: rows named in the whole table
    spec = _TableSpec(
        item,
        scorecard,
        levels,
        categories,
        unit,
        rater,
        value,
        _alpha_bands(alpha_reliable, alpha_tentative),
        confidence,
        _n_boot(n_boot),
        bootstrap,
    )
    grouped = data.groupby(session, sort=False, observed=True)
    keys = grouped.indices
    names = list(keys)
    if date is not None:
        first = grouped[date].min()
        names = list(first.sort_values(kind="stable").index)
    frames = []
    for name, ss in zip(names, _spawn(seed, len(names)), strict=True):
        sub = data.iloc[keys[name]]
        t = _agreement_table(sub, spec, int(ss.generate_state(1)[0]), data.index, keys[name])
        t.insert(0, session, name)
        if date is not None:
            t.insert(1, date, first[name])
        fin = t["alpha"][np.isfinite(t["alpha"])]
        t["mean_alpha"] = fin.mean() if len(fin) else np.nan
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=[session] + ([date] if date else []))
    return pd.concat(frames, ignore_index=True)
