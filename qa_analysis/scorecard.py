"""Scorecard model.

A scorecard is the rubric the quality team audits against: a list of
criteria, each with an allowed scale, a level of measurement (which decides
how agreement on it is measured), a weight, whether a fail on it is critical,
and whether it may be marked not applicable; plus the pass mark of an
evaluation and the scoring conventions (``method`` and ``critical_mode``).

Example YAML::

    name: Demo support scorecard
    pass_mark: 80          # an evaluation passes at score >= 80 (0-100)
    method: weighted       # weighted | points
    critical_mode: zero    # zero | section | flag
    criteria:
      - id: greeting
        name: Greeting and verification
        section: Opening
        scale: [0, 1]
        level: nominal     # nominal | ordinal | interval
        weight: 1
        critical: false
        na_allowed: false
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import yaml

from qa_analysis._checks import require_columns as _require
from qa_analysis._checks import row_refs as _row_refs
from qa_analysis._checks import short as _short
from qa_analysis.errors import DataError, ScorecardError

#: Level of measurement of a criterion (decides how agreement on it is measured).
Level = Literal["nominal", "ordinal", "interval"]
#: How an evaluation's score is computed from its criteria.
Method = Literal["weighted", "points"]
#: What a critical fail does to the score.
CriticalMode = Literal["zero", "section", "flag"]

LEVELS: tuple[str, ...] = get_args(Level)
METHODS: tuple[str, ...] = get_args(Method)
CRITICAL_MODES: tuple[str, ...] = get_args(CriticalMode)


@dataclass(frozen=True)
class Criterion:
    """One scorecard criterion.

    Attributes
    ----------
    id, name, section
        Identifier used in the data, display name, and the rubric section.
    scale
        The allowed scores in increasing order, e.g. ``(0, 1)`` or ``(1, 2, 3, 4, 5)``.
    level
        Level of measurement: ``nominal``, ``ordinal`` or ``interval``.
    weight
        Relative weight in the evaluation score (> 0).
    critical
        A fail on this criterion is a critical error.
    na_allowed
        Whether the criterion may be left empty (not applicable).
    pass_at
        Lowest score that counts as a pass of this criterion (defaults to the
        top of a two-level scale, else the middle level of the scale).
    """

    id: str
    name: str
    section: str
    scale: tuple[float, ...]
    level: Level = "ordinal"
    weight: float = 1.0
    critical: bool = False
    na_allowed: bool = False
    pass_at: float | None = None

    def __post_init__(self) -> None:
        if self.pass_at is None:
            s = self.scale
            object.__setattr__(self, "pass_at", s[-1] if len(s) == 2 else s[(len(s) - 1) // 2])

    @property
    def min(self) -> float:
        """Lowest level of the scale."""
        return self.scale[0]

    @property
    def max(self) -> float:
        """Highest level of the scale."""
        return self.scale[-1]

    @property
    def range(self) -> float:
        """Distance between the lowest and highest level."""
        return self.scale[-1] - self.scale[0]

    @property
    def is_binary(self) -> bool:
        """Whether the scale has two levels (pass / fail)."""
        return len(self.scale) == 2


@dataclass(frozen=True)
class Scorecard:
    """A scorecard: criteria plus the pass mark and scoring conventions.

    Attributes
    ----------
    criteria
        The criteria, in rubric order.
    pass_mark
        Evaluation score (0-100) at or above which an evaluation passes
        (unless it has a critical fail).
    method
        ``weighted``: weighted mean of per-criterion percentages (Zendesk QA);
        ``points``: total points earned over points possible (MaestroQA
        "total points").
    critical_mode
        ``zero`` (a critical fail zeroes the evaluation), ``section`` (zeroes
        its section) or ``flag`` (recorded, score unchanged; Scorebuddy's default).
    name
        Display name.
    source
        Where the scorecard was loaded from (used in error messages).

    Examples
    --------
    >>> sc = Scorecard.from_dict({"name": "Mini", "criteria": [
    ...     {"id": "greeting", "scale": [0, 1]},
    ...     {"id": "tone", "scale": [1, 2, 3, 4, 5], "weight": 2}]})
    >>> sc
    Scorecard('Mini', 2 criteria, pass_mark=80, method='weighted', critical_mode='zero')
    >>> sc["tone"].pass_at, sc.ids
    (3, ['greeting', 'tone'])
    """

    criteria: tuple[Criterion, ...]
    pass_mark: float = 80.0
    method: Method = "weighted"
    critical_mode: CriticalMode = "zero"
    name: str = "scorecard"
    source: str = "<dict>"
    _index: dict[str, Criterion] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.id: c for c in self.criteria})

    def __repr__(self) -> str:
        """One line: name, number of criteria, pass mark and conventions."""
        n = len(self.criteria)
        return (
            f"Scorecard({self.name!r}, {n} criteri{'on' if n == 1 else 'a'}, "
            f"pass_mark={self.pass_mark:g}, method={self.method!r}, "
            f"critical_mode={self.critical_mode!r})"
        )

    def _repr_html_(self) -> str:
        """The repr line above the criteria table (values HTML-escaped)."""
        import html

        cols = ["criterion", "name", "section", "scale", "level", "weight", "critical"]
        return f"<p><code>{html.escape(repr(self))}</code></p>" + self.to_frame()[cols].to_html(
            index=False, escape=True
        )

    # -- construction -------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | Path) -> Scorecard:
        """Load a scorecard from a YAML file (see the module docstring for the format)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScorecardError(f"{path}: cannot read scorecard ({exc.strerror})") from exc
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScorecardError(f"{path}: not valid YAML: {exc}") from exc
        return cls.from_dict(spec, source=str(path))

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], *, source: str = "<dict>") -> Scorecard:
        """Build a scorecard from a mapping with the YAML file's structure."""
        if not isinstance(spec, Mapping):
            raise ScorecardError(f"{source}: a scorecard must be a mapping with a 'criteria' list")
        known = {"name", "pass_mark", "method", "critical_mode", "criteria"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ScorecardError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(known)}")
        raw = spec.get("criteria")
        if not isinstance(raw, list) or not raw:
            raise ScorecardError(f"{source}: 'criteria' must be a non-empty list")
        criteria = tuple(_criterion(c, i, source) for i, c in enumerate(raw))
        ids = [c.id for c in criteria]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ScorecardError(f"{source}: duplicate criterion id(s) {dupes}")
        method = spec.get("method", "weighted")
        if method not in METHODS:
            raise ScorecardError(f"{source}: method must be one of {METHODS}, got {method!r}")
        mode = spec.get("critical_mode", "zero")
        if mode not in CRITICAL_MODES:
            raise ScorecardError(
                f"{source}: critical_mode must be one of {CRITICAL_MODES}, got {mode!r}"
            )
        pass_mark = spec.get("pass_mark", 80)
        if (
            not isinstance(pass_mark, int | float)
            or isinstance(pass_mark, bool)
            or not 0 <= pass_mark <= 100
        ):
            raise ScorecardError(
                f"{source}: pass_mark must be a number in [0, 100], got {pass_mark!r}"
            )
        return cls(
            criteria=criteria,
            pass_mark=float(pass_mark),
            method=method,
            critical_mode=mode,
            name=str(spec.get("name", Path(source).stem)),
            source=source,
        )

    # -- access ------------------------------------------------------------------
    def __getitem__(self, criterion_id: str) -> Criterion:
        try:
            return self._index[criterion_id]
        except KeyError:
            raise KeyError(f"{self.source}: no criterion {criterion_id!r}") from None

    def __contains__(self, criterion_id: object) -> bool:
        return criterion_id in self._index

    def __iter__(self) -> Iterator[Criterion]:
        return iter(self.criteria)

    def __len__(self) -> int:
        return len(self.criteria)

    @property
    def ids(self) -> list[str]:
        """Criterion ids in rubric order."""
        return [c.id for c in self.criteria]

    def categories(self, criterion_id: str) -> list[float]:
        """The full scale of a criterion (pass as ``categories=`` so unused levels count)."""
        return list(self[criterion_id].scale)

    def level(self, criterion_id: str) -> Level:
        """Level of measurement of a criterion."""
        return self[criterion_id].level

    @property
    def critical_ids(self) -> list[str]:
        """Ids of the critical criteria, in rubric order."""
        return [c.id for c in self.criteria if c.critical]

    def to_frame(self) -> pd.DataFrame:
        """One row per criterion.

        Columns ``criterion, name, section, scale, level, weight, critical,
        na_allowed, pass_at, min, max, range``.
        """
        rows = [
            {
                "criterion": c.id,
                "name": c.name,
                "section": c.section,
                "scale": list(c.scale),
                "level": c.level,
                "weight": c.weight,
                "critical": c.critical,
                "na_allowed": c.na_allowed,
                "pass_at": c.pass_at,
                "min": c.min,
                "max": c.max,
                "range": c.range,
            }
            for c in self.criteria
        ]
        return pd.DataFrame(rows)


def _criterion(raw: Any, i: int, source: str) -> Criterion:
    where = f"{source}: criteria[{i}]"
    if not isinstance(raw, Mapping):
        raise ScorecardError(f"{where} must be a mapping")
    known = {
        "id",
        "name",
        "section",
        "scale",
        "level",
        "weight",
        "critical",
        "na_allowed",
        "pass_at",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ScorecardError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(known)}")
    if "id" not in raw or not str(raw["id"]).strip():
        raise ScorecardError(f"{where}: missing 'id'")
    cid = str(raw["id"])
    where = f"{source}: criterion {cid!r}"
    scale = raw.get("scale")
    if not isinstance(scale, Iterable) or isinstance(scale, str | bytes):
        raise ScorecardError(f"{where}: 'scale' must be a list of allowed scores, e.g. [0, 1]")
    scale = list(scale)
    if len(scale) < 2 or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in scale
    ):
        raise ScorecardError(f"{where}: 'scale' needs at least two numeric levels, got {scale!r}")
    if sorted(set(scale)) != scale:
        raise ScorecardError(f"{where}: 'scale' must be strictly increasing, got {scale!r}")
    level = raw.get("level", "nominal" if len(scale) == 2 else "ordinal")
    if level not in LEVELS:
        raise ScorecardError(f"{where}: level must be one of {LEVELS}, got {level!r}")
    weight = raw.get("weight", 1)
    if (
        not isinstance(weight, int | float)
        or isinstance(weight, bool)
        or not math.isfinite(weight)
        or weight <= 0
    ):
        raise ScorecardError(f"{where}: weight must be a finite positive number, got {weight!r}")
    pass_at = raw.get("pass_at")
    if pass_at is not None and pass_at not in scale:
        raise ScorecardError(f"{where}: pass_at {pass_at!r} is not on the scale {scale!r}")
    for flag in ("critical", "na_allowed"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise ScorecardError(f"{where}: {flag} must be true or false, got {raw[flag]!r}")
    return Criterion(
        id=cid,
        name=str(raw.get("name", cid)),
        section=str(raw.get("section", "General")),
        scale=tuple(scale),
        level=level,
        weight=float(weight),
        critical=bool(raw.get("critical", False)),
        na_allowed=bool(raw.get("na_allowed", False)),
        pass_at=pass_at,
    )


# ---------------------------------------------------------------------------
# Evaluation scoring
# ---------------------------------------------------------------------------

#: Evaluation-level columns carried into :func:`score_evaluations`' output when present.
META_COLUMNS = (
    "evaluation_id",
    "ticket_id",
    "agent_id",
    "reviewer_id",
    "region",
    "market",
    "channel",
    "queue",
    "evaluated_at",
    "csat",
)

# Scores are compared with the pass mark / pass_at with this tolerance, so that a
# score of 80 computed as 79.99999999999999 still passes a pass mark of 80.
_EPS = 1e-9


def _first_rows(mask: Any, limit: int | None = 5) -> list[int]:
    return np.flatnonzero(np.asarray(mask))[:limit].tolist()


def _criterion_codes(values: pd.Series, scorecard: Scorecard, column: str) -> np.ndarray:
    """Codes 0..k-1 of the criterion column in rubric order; DataError on unknown ids."""
    # factorize first (fast on Arrow strings), then look up the few distinct ids
    raw, uniques = pd.factorize(values, sort=False)
    lookup = pd.Index(scorecard.ids).get_indexer(pd.Index(uniques)).astype(np.int64)
    codes = np.where(raw >= 0, lookup[np.maximum(raw, 0)] if len(lookup) else -1, -1)
    bad = codes < 0
    if bad.any():
        rows = np.flatnonzero(bad)
        found = ", ".join(sorted({_short(str(v)) for v in pd.Series(values).iloc[rows[:5]]}))
        raise DataError(
            "evaluations",
            f"column {column!r}: criterion id(s) {found} are not in scorecard "
            f"{scorecard.source!r} ({_row_refs(values.index, rows)}); known: {scorecard.ids}",
        )
    return codes


def _score_matrix(
    evaluations: pd.DataFrame,
    scorecard: Scorecard,
    evaluation: str,
    criterion: str,
    score: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pivot long evaluation rows to an (evaluations x criteria) float matrix (NaN = N/A).

    Returns ``(matrix, eval_codes, first_row_of_each_evaluation)``. Validates unknown
    criteria, missing evaluation ids, non-numeric scores, duplicates and scores off the
    scale, naming the column and first offending rows.
    """
    _require(evaluations, [evaluation, criterion, score], "evaluations")
    ev = evaluations[evaluation]
    if ev.isna().any():
        raise DataError(
            "evaluations",
            f"column {evaluation!r}: missing evaluation id in "
            f"{_row_refs(evaluations.index, _first_rows(ev.isna(), None))}",
        )
    ccodes = _criterion_codes(evaluations[criterion], scorecard, criterion)
    ecodes, _ = pd.factorize(ev, sort=False)
    ecodes = ecodes.astype(np.int64, copy=False)
    try:
        vals = pd.to_numeric(evaluations[score], errors="raise").to_numpy(
            dtype=float, na_value=np.nan
        )
    except (TypeError, ValueError) as exc:
        raise DataError(
            "evaluations", f"column {score!r}: scores must be numeric ({exc})"
        ) from None
    k = len(scorecard)
    n_eval = int(ecodes.max()) + 1 if len(ecodes) else 0
    flat = ecodes * k + ccodes
    counts = np.bincount(flat, minlength=n_eval * k)
    if (counts > 1).any():
        dup = pd.Series(flat).duplicated(keep=False).to_numpy()
        raise DataError(
            "evaluations",
            f"duplicate ({evaluation}, {criterion}) pairs in "
            f"{_row_refs(evaluations.index, _first_rows(dup, None))}",
        )
    matrix = np.full((n_eval, k), np.nan)
    matrix.reshape(-1)[flat] = vals
    for j, c in enumerate(scorecard.criteria):
        col = matrix[:, j]
        off = ~np.isnan(col) & ~np.isin(col, np.asarray(c.scale, dtype=float))
        if off.any():
            bad_rows = (
                (ccodes == j) & ~np.isnan(vals) & ~np.isin(vals, np.asarray(c.scale, dtype=float))
            )
            rows = _first_rows(bad_rows, None)
            raise DataError(
                "evaluations",
                f"column {score!r}: score(s) {sorted(set(vals[rows[:5]].tolist()))} off the "
                f"scale {list(c.scale)} of criterion {c.id!r} "
                f"({_row_refs(evaluations.index, rows, vals[rows], column=score)})",
            )
    first = np.flatnonzero(~pd.Series(ecodes).duplicated().to_numpy())
    return matrix, ecodes, first


def score_evaluations(
    evaluations: pd.DataFrame,
    scorecard: Scorecard,
    *,
    evaluation: str = "evaluation_id",
    criterion: str = "criterion",
    score: str = "score",
    meta: Iterable[str] | None = None,
    method: Method | None = None,
    critical_mode: CriticalMode | None = None,
) -> pd.DataFrame:
    """Score evaluations against a scorecard: 0-100 score, pass/fail and critical fails.

    Parameters
    ----------
    evaluations : DataFrame
        Long table, one row per evaluation x criterion. A missing (NaN) score, or a
        criterion absent for an evaluation, means *not applicable* (N/A).
    scorecard : Scorecard
        Criteria (scale, weight, critical, pass_at, section), ``pass_mark``,
        ``method`` and ``critical_mode``.
    evaluation, criterion, score : str
        Column names.
    meta : iterable of str, optional
        Evaluation-level columns to carry over (first row of each evaluation).
        Default: whichever of :data:`META_COLUMNS` exist.
    method, critical_mode : str, optional
        Override the scorecard's conventions (e.g. to show a team migrating between
        platforms how its numbers move).

    Returns
    -------
    DataFrame
        One row per evaluation, in order of first appearance: the ``meta`` columns,
        then ``score`` (float, 0-100), ``passed`` (nullable boolean),
        ``critical_fail`` (bool) and ``n_applicable`` (int).

    Notes
    -----
    For criterion :math:`c` with scale minimum :math:`m_c`, maximum :math:`M_c`,
    weight :math:`w_c` and an applicable score :math:`x_c`, the per-criterion
    percentage is :math:`p_c = (x_c - m_c) / (M_c - m_c)`. Over the applicable
    criteria :math:`A` (N/A criteria leave numerator and denominator):

    * ``method="weighted"`` (Zendesk QA): score :math:`= 100 \\sum_A w_c p_c / \\sum_A w_c`,
      each criterion's percentage weighted by its weight;
    * ``method="points"`` (MaestroQA "total points"): criterion :math:`c` earns
      :math:`w_c (x_c - m_c)` points out of :math:`w_c (M_c - m_c)` possible, and the
      score is :math:`100 \\sum_A w_c (x_c - m_c) / \\sum_A w_c (M_c - m_c)`. A
      criterion with a wider scale (more points) counts more.

    MaestroQA's published example [2]_: four sections worth 3, 10, 5 and 2
    points, weighted 10%, 30%, 50% and 10%, earn 3, 5, 4 and 1 points. The
    weighted score is 100 (0.1 * 3/3 + 0.3 * 5/10 + 0.5 * 4/5 + 0.1 * 1/2) = 70.0;
    total points give 100 * 13/20 = 65.0 (``points`` with weights 1; the test
    suite reproduces both). Scales here start at 0; on a 1-5 item the points
    earned count from the bottom of the scale (a 3 earns 2 of 4).

    A *critical fail* is a critical criterion scored below its ``pass_at``. With
    ``critical_mode="zero"`` it sets the evaluation's score to 0; with
    ``"section"`` every applicable criterion in the failed criterion's section earns
    0 (the denominator is unchanged); with ``"flag"`` the score is unchanged.
    In every mode an evaluation *passes* when ``score >= pass_mark`` (with a
    1e-9 tolerance for floating point) and it has no critical fail.

    An evaluation whose criteria are all N/A has ``score`` NaN, ``passed`` <NA>,
    ``critical_fail`` False and ``n_applicable`` 0; aggregations count it as
    unscored rather than as a fail.

    Criteria marked N/A although ``na_allowed`` is false are still treated as N/A
    here (flagging them is the loader's validation job).

    References
    ----------
    .. [1] Zendesk QA (formerly Klaus) help center, review scores: the score is
       the weighted average of the rating categories' percentages.
    .. [2] MaestroQA help center, "How do Custom Weighted Sections Rubrics
       work?": weighted QA score 70% versus total-score rubric 65% on the same
       answers.
    .. [3] Scorebuddy help center, auto-fail (critical) questions: by default
       a critical error is flagged without changing the score.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_analysis.scorecard import Scorecard, score_evaluations
    >>> sc = Scorecard.from_dict({"pass_mark": 80, "criteria": [
    ...     {"id": "greeting", "scale": [0, 1]},
    ...     {"id": "empathy", "scale": [1, 2, 3, 4, 5], "weight": 2}]})
    >>> ev = pd.DataFrame({"evaluation_id": [1, 1, 2, 2],
    ...                    "criterion": ["greeting", "empathy"] * 2,
    ...                    "score": [1, 4, 0, None]})
    >>> score_evaluations(ev, sc)[["evaluation_id", "score", "passed", "n_applicable"]]
       evaluation_id      score  passed  n_applicable
    0              1  83.333333    True             2
    1              2   0.000000   False             1
    """
    if not isinstance(scorecard, Scorecard):
        raise TypeError(f"scorecard must be a Scorecard, got {type(scorecard).__name__}")
    method = scorecard.method if method is None else method
    mode = scorecard.critical_mode if critical_mode is None else critical_mode
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if mode not in CRITICAL_MODES:
        raise ValueError(f"critical_mode must be one of {CRITICAL_MODES}, got {mode!r}")
    matrix, _, first = _score_matrix(evaluations, scorecard, evaluation, criterion, score)

    crit = scorecard.criteria
    mins = np.array([c.min for c in crit], dtype=float)
    ranges = np.array([c.range for c in crit], dtype=float)
    weights = np.array([c.weight for c in crit], dtype=float)
    pass_at = np.array([c.pass_at for c in crit], dtype=float)
    critical = np.array([c.critical for c in crit], dtype=bool)

    applicable = ~np.isnan(matrix)
    with np.errstate(invalid="ignore"):
        fails = applicable & (matrix < pass_at)
    crit_fail_cells = fails & critical
    critical_fail = crit_fail_cells.any(axis=1)

    unit = weights if method == "weighted" else weights * ranges
    earned = np.where(applicable, (matrix - mins) / ranges, 0.0) * unit
    if mode == "section":
        sections, sec_codes = np.unique([c.section for c in crit], return_inverse=True)
        failed_sec = np.zeros((matrix.shape[0], len(sections)), dtype=bool)
        for s in range(len(sections)):
            failed_sec[:, s] = crit_fail_cells[:, sec_codes == s].any(axis=1)
        earned = np.where(failed_sec[:, sec_codes], 0.0, earned)
    possible = (applicable * unit).sum(axis=1)
    n_app = applicable.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(
            possible > 0, 100.0 * earned.sum(axis=1) / np.where(possible > 0, possible, 1.0), np.nan
        )
    if mode == "zero":
        pct = np.where(critical_fail, 0.0, pct)

    cols = [c for c in (META_COLUMNS if meta is None else meta) if c in evaluations.columns]
    if meta is not None:
        _require(evaluations, list(meta), "evaluations")
    if evaluation not in cols:
        cols = [evaluation, *cols]
    out = evaluations[cols].take(first).reset_index(drop=True)
    out["score"] = pct
    passed = (pct >= scorecard.pass_mark - _EPS) & ~critical_fail
    out["passed"] = pd.array(np.where(n_app > 0, passed, False), dtype="boolean")
    out.loc[n_app == 0, "passed"] = pd.NA
    out["critical_fail"] = critical_fail
    out["n_applicable"] = n_app.astype(np.int64)
    return out


def criterion_rates(
    evaluations: pd.DataFrame,
    scorecard: Scorecard,
    *,
    by: str | Iterable[str] = (),
    criterion: str = "criterion",
    score: str = "score",
) -> pd.DataFrame:
    """Fail rate per criterion, sorted for a Pareto chart.

    Parameters
    ----------
    evaluations : DataFrame
        Long table, one row per evaluation x criterion (NaN score = N/A).
    scorecard : Scorecard
        Gives each criterion's ``pass_at``, name, section and critical flag.
    by : str or iterable of str
        Grouping columns (e.g. ``"region"``); the Pareto order and cumulative share
        are computed within each group.
    criterion, score : str
        Column names.

    Returns
    -------
    DataFrame
        Columns ``<by...>, criterion, name, section, critical, n, fails, fail_rate,
        share, cum_share``. ``n`` counts applicable ratings, ``fails`` those below
        the criterion's ``pass_at``; ``fail_rate = fails / n`` (NaN when n = 0);
        ``share`` is the criterion's share of all fails in the group and
        ``cum_share`` its running total. Rows are sorted by group, then by
        ``fails`` descending (ties in rubric order). Only criteria that occur in
        the data are listed.

    Notes
    -----
    A Pareto chart orders failure causes by frequency so that the "vital few"
    criteria that account for most fails stand out (Juran's Pareto principle).

    References
    ----------
    .. [1] Montgomery, D. C. (2019). *Introduction to Statistical Quality Control*,
       8th ed., Wiley, chapter 5 (the Pareto chart among the "magnificent seven").

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_analysis.scorecard import Scorecard, criterion_rates
    >>> sc = Scorecard.from_dict({"criteria": [{"id": "a", "scale": [0, 1]},
    ...                                        {"id": "b", "scale": [0, 1]}]})
    >>> ev = pd.DataFrame({"criterion": ["a", "b", "a", "b"], "score": [0, 0, 1, 0]})
    >>> criterion_rates(ev, sc)[["criterion", "n", "fails", "fail_rate", "cum_share"]]
      criterion  n  fails  fail_rate  cum_share
    0         b  2      2        1.0   0.666667
    1         a  2      1        0.5   1.000000
    """
    by = [by] if isinstance(by, str) else list(by)
    _require(evaluations, [*by, criterion, score], "evaluations")
    codes = _criterion_codes(evaluations[criterion], scorecard, criterion)
    vals = pd.to_numeric(evaluations[score], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    pass_at = np.array([c.pass_at for c in scorecard.criteria], dtype=float)
    applicable = ~np.isnan(vals)
    with np.errstate(invalid="ignore"):
        fail = applicable & (vals < pass_at[codes])
    if {"_code", "_neg", "n", "fails"} & set(by):
        raise ValueError("by: the names _code, _neg, n and fails are used by the output")
    frame = evaluations[by].copy() if by else pd.DataFrame(index=evaluations.index)
    frame["_code"] = codes
    frame["n"] = applicable.astype(np.int64)
    frame["fails"] = fail.astype(np.int64)
    out = frame.groupby([*by, "_code"], sort=True, dropna=False, observed=True)[
        ["n", "fails"]
    ].sum()
    out = out.reset_index()
    info = scorecard.to_frame()[["criterion", "name", "section", "critical"]]
    out = pd.concat([out, info.iloc[out["_code"].to_numpy()].reset_index(drop=True)], axis=1)
    n = out["n"].to_numpy()
    f = out["fails"].to_numpy()
    out["fail_rate"] = np.where(n > 0, f / np.where(n > 0, n, 1), np.nan)
    out["_neg"] = -f
    out = out.sort_values([*by, "_neg", "_code"], kind="stable").reset_index(drop=True)
    if by:
        g = out.groupby(by, sort=False, dropna=False)["fails"]
        total = g.transform("sum").to_numpy()
        cum = g.cumsum().to_numpy()
    else:
        total = np.full(len(out), out["fails"].sum())
        cum = out["fails"].cumsum().to_numpy()
    fails = out["fails"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(total > 0, fails / np.where(total > 0, total, 1), np.nan)
        out["cum_share"] = np.where(total > 0, cum / np.where(total > 0, total, 1), np.nan)
    cols = [
        *by,
        "criterion",
        "name",
        "section",
        "critical",
        "n",
        "fails",
        "fail_rate",
        "share",
        "cum_share",
    ]
    return out[cols]
