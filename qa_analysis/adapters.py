"""Adapters for QA-platform exports: Zendesk QA (formerly Klaus), MaestroQA, Scorebuddy.

Each adapter reads a vendor's export as saved to files and returns an
:class:`Imported` result: the project's long ``evaluations`` table (one row per
evaluation x criterion), the ``calibration`` table where the export carries
calibration ratings, a :class:`~qa_analysis.scorecard.Scorecard` derived from
what the export says about its criteria (or the one passed in), and a count of
every record left out and why. Both tables are validated by
:func:`qa_analysis.io.load_evaluations` / :func:`qa_analysis.io.load_calibration`
against that scorecard before they are returned.

Columns the vendor does not carry (``region``, ``market``, ``channel``,
``queue``) are given with ``columns=``: a constant (``{"region": "EU"}``) or a
:class:`Lookup` that takes them from a field of the export, optionally through
a mapping (``Lookup("workspace_name", {"Billing DE": "billing"})``). Each
adapter's docstring lists the fields a :class:`Lookup` can read.

Nothing is dropped silently: a malformed export raises
:class:`~qa_analysis.errors.DataError` naming the file, the field and the first
offending records; records deliberately left out (a review with no ratings, an
identical copy of a review on two overlapping pages, another scorecard version)
are counted in :attr:`Imported.skipped`; choices the adapter had to make (a
rating scale inferred from the scores seen) are listed in :attr:`Imported.notes`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_analysis import io
from qa_analysis.errors import DataError, ScorecardError
from qa_analysis.scorecard import Scorecard

__all__ = [
    "FILL_COLUMNS",
    "MAESTROQA_FIELDS",
    "SCOREBUDDY_FIELDS",
    "Imported",
    "Lookup",
    "derive_scorecard",
    "from_maestroqa",
    "from_scorebuddy",
    "from_zendesk_qa",
]

#: Columns of the long tables that QA platforms do not carry; pass them with ``columns=``.
FILL_COLUMNS = ("region", "market", "channel", "queue")

_SHOWN = 5  # offending records named in an error
_EVAL_COLUMNS = (
    "evaluation_id",
    "ticket_id",
    "agent_id",
    "reviewer_id",
    "region",
    "market",
    "channel",
    "queue",
    "evaluated_at",
    "criterion",
    "score",
)
_CAL_COLUMNS = (
    "session_id",
    "session_date",
    "region",
    "ticket_id",
    "rater_id",
    "role",
    "criterion",
    "score",
)
_META_COLUMNS = ("criterion", "name", "section", "weight", "critical")


# ---------------------------------------------------------------------------
# public result and mapping types
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Lookup:
    """Take a column's value from a field of the export, optionally through a mapping.

    Parameters
    ----------
    field
        A field the adapter exposes (listed in each adapter's docstring), e.g.
        ``"workspace_name"`` or ``"external.Region"`` (a conversation's custom field).
    mapping
        ``{field value: column value}``. Without it the field's value is used as is.
    default
        Value for records whose field value is missing or not in ``mapping``.
        Without it such records are an error naming them (never a silent guess).

    Examples
    --------
    >>> Lookup("workspace_name", {"Support DE": "DE"}, default="other").field
    'workspace_name'
    """

    field: str
    mapping: Mapping[str, str] | None = None
    default: str | None = None


@dataclass(frozen=True)
class Imported:
    """What an adapter read from a platform export.

    Attributes
    ----------
    evaluations : DataFrame
        The long evaluations table, validated by :func:`qa_analysis.io.load_evaluations`
        against ``scorecard`` (an empty score is N/A).
    calibration : DataFrame or None
        The long calibration table, validated by :func:`qa_analysis.io.load_calibration`;
        ``None`` when the export holds no calibration ratings.
    scorecard : Scorecard
        The scorecard passed in, or the one derived from the export (:func:`derive_scorecard`).
    skipped : DataFrame
        Records left out, one row per reason and file: ``reason``, ``count``, ``source``.
        Empty when nothing was left out.
    notes : tuple of str
        Choices the adapter made that a reader should know (e.g. a rating scale
        inferred from the scores seen, raters taken as specialists).
    """

    evaluations: pd.DataFrame
    calibration: pd.DataFrame | None
    scorecard: Scorecard
    skipped: pd.DataFrame
    notes: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------
# scorecard derivation
# ---------------------------------------------------------------------------
def derive_scorecard(
    criteria: pd.DataFrame,
    *,
    name: str = "imported scorecard",
    method: Literal["weighted", "points"] = "weighted",
    critical_mode: Literal["zero", "section", "flag"] = "zero",
    pass_mark: float | None = None,
    source: str = "<export>",
) -> Scorecard:
    """Build a :class:`~qa_analysis.scorecard.Scorecard` from per-criterion facts of an export.

    Parameters
    ----------
    criteria
        One row per criterion with columns ``criterion`` (id), ``scale`` (the
        allowed scores, a list or tuple in increasing order) and optionally
        ``name``, ``section``, ``weight``, ``critical``, ``na_allowed``, ``pass_at``.
        Every adapter builds this table from what its export carries.
    name, method, critical_mode
        Scorecard name and scoring conventions (see :class:`~qa_analysis.scorecard.Scorecard`).
    pass_mark
        Evaluation pass mark (0-100); ``None`` keeps the scorecard's default.
    source
        Named in error messages.

    Returns
    -------
    Scorecard

    Raises
    ------
    TypeError
        ``criteria`` is not a DataFrame.
    DataError
        A criterion listed twice, or facts the scorecard refuses (e.g. a zero weight).

    Examples
    --------
    >>> import pandas as pd
    >>> facts = pd.DataFrame({"criterion": ["tone", "privacy"], "scale": [(1, 2, 3, 4), (1, 2)],
    ...     "weight": [2.0, 1.0], "critical": [False, True]})
    >>> sc = derive_scorecard(facts)
    >>> sc["privacy"].critical, sc["tone"].weight, sc["tone"].scale
    (True, 2.0, (1, 2, 3, 4))
    """
    if not isinstance(criteria, pd.DataFrame):
        raise TypeError(f"criteria must be a pandas DataFrame, got {type(criteria).__name__}")
    missing = [c for c in ("criterion", "scale") if c not in criteria.columns]
    if missing:
        raise DataError(source, f"criteria table lacks column(s) {missing}")
    dupes = criteria["criterion"][criteria["criterion"].duplicated()].unique().tolist()
    if dupes:
        raise DataError(source, f"criterion listed more than once: {dupes[:_SHOWN]}")
    specs = []
    for rec in criteria.to_dict("records"):
        spec: dict[str, Any] = {
            "id": str(rec["criterion"]),
            "scale": [_num(v) for v in rec["scale"]],
        }
        for key in ("name", "section"):
            if _present(rec.get(key)):
                spec[key] = str(rec[key])
        if _present(rec.get("weight")):
            spec["weight"] = float(rec["weight"])
        for key in ("critical", "na_allowed"):
            if _present(rec.get(key)):
                spec[key] = bool(rec[key])
        if _present(rec.get("pass_at")):
            spec["pass_at"] = _num(rec["pass_at"])
        specs.append(spec)
    spec_all: dict[str, Any] = {
        "name": name,
        "method": method,
        "critical_mode": critical_mode,
        "criteria": specs,
    }
    if pass_mark is not None:
        spec_all["pass_mark"] = pass_mark
    try:
        return Scorecard.from_dict(spec_all, source=source)
    except ScorecardError as exc:
        raise DataError(
            source, f"the export's criteria do not make a valid scorecard: {exc}"
        ) from None


# ---------------------------------------------------------------------------
# Zendesk QA (formerly Klaus)
# ---------------------------------------------------------------------------
def from_zendesk_qa(
    paths: str | Path | Sequence[str | Path],
    *,
    columns: Mapping[str, str | Lookup] | None = None,
    scorecard: Scorecard | str | Path | None = None,
    scales: Mapping[str, int] | None = None,
    rating_scores: Literal["percent", "points"] = "percent",
    experts: Collection[str] = (),
    pass_mark: float | None = None,
) -> Imported:
    """Read Zendesk QA (formerly Klaus) reviews-export pages into the long tables.

    Parameters
    ----------
    paths
        The JSON responses of the export API saved to files, one file per page:
        a folder (every ``*.json`` in it, in name order), one file, or a list.
        Pages of ``GET .../reviews`` carry ``conversations``; pages of
        ``GET .../calibration-sessions`` carry ``calibrationSessions``; both may
        be mixed.
    columns
        ``region``, ``market``, ``channel``, ``queue`` (the review export has
        none of them): a constant or a :class:`Lookup` on one of the fields
        ``workspace_name``, ``workspace_id``, ``source_type``, ``scorecard_name``,
        ``scorecard_id``, ``agent_name``, ``agent_email``, ``agent_group`` (the
        reviewee's first group), ``reviewer_name``, ``reviewer_email`` or
        ``external.<name>`` (the conversation's ``externalFields``). Calibration
        rows need ``region`` only, from a constant or ``reviewer_*``/``agent_*``
        fields.
    scorecard
        Use this scorecard (object or YAML path) instead of deriving one; its
        criterion ids must be the export's category ids.
    scales
        Number of rating points (2 to 5) per category id, for categories whose
        scale the scores seen do not reveal (see Notes).
    rating_scores
        ``"percent"`` (default): a rating's ``score`` is the category score in
        percent; ``"points"``: it is the selected rating 1..k itself.
    experts
        Reviewer e-mails (or names) who rate calibration sessions as the expert
        (benchmark); every other calibration rater is a specialist.
    pass_mark
        Pass mark of the derived scorecard (``None``: the scorecard default).

    Returns
    -------
    Imported
        ``evaluations`` with ``evaluation_id`` = review ``id``, ``ticket_id`` =
        conversation ``externalId``, ``agent_id`` = reviewee e-mail (name when
        the e-mail is empty), ``reviewer_id`` = reviewer e-mail (or name),
        ``evaluated_at`` = review ``createdISO`` (else ``created``) in UTC,
        ``criterion`` = rating ``categoryId`` (else ``categoryName``) and
        ``score`` = the rating level 1..k (empty = N/A). ``calibration`` (when
        sessions are present) with ``session_id`` = session ``id``,
        ``session_date`` = session ``createdAt``, one row per rater x ticket x
        category.

    Raises
    ------
    DataError
        Naming the file, the field and the first offending records: unreadable
        JSON, a page with neither list, a review without id, reviewee, reviewer
        or timestamp, a rating without category, a score that is no level of
        any 2- to 5-point scale, one category with two different weights or
        critical flags, two different reviews under one id.

    Notes
    -----
    Field names and shapes follow the export API reference and the help-centre
    article on exporting (see References). The documentation does not say:

    * whether a rating's ``score`` is the selected rating or the category
      score in percent. The review ``score`` is a percentage (IQS), and the
      help centre defines the category score as
      ``(selected - min) / (max - min) * 100``; so percent is the default and
      the level is recovered as ``1 + score / 100 * (k - 1)`` on a k-point
      scale (binary, 3-, 4- or 5-point). ``rating_scores="points"`` reads the
      score as the level itself.
    * the number of rating points of a category. The export does not carry
      it: unless ``scales`` or ``scorecard`` says, the smallest of 2-5 points
      whose levels contain every score seen is taken (a 5-point category whose
      raters only used 0, 50 and 100 % would look 3-point) and a note says so.
    * how N/A is exported. A rating whose ``score`` is null or absent is read
      as N/A (an empty score); the category is then ``na_allowed``. A category
      missing from a review is simply not rated (no row).

    Each category's ``weight`` and ``critical`` flag come from the ratings.
    The derived scorecard uses ``method="weighted"`` and
    ``critical_mode="zero"`` (a critical category rated below 50 % sets the
    review score to zero), so a category passes at its lowest level at or
    above 50 %.

    References
    ----------
    .. [1] Zendesk, "Exporting data from Zendesk QA",
       https://support.zendesk.com/hc/en-us/articles/7043724806810-Export-data-from-Zendesk-QA
       (response structure: conversations, reviews, reviewer/reviewee, ratings
       with categoryId, categoryName, score, weight, critical).
    .. [2] Zendesk developer documentation, "Export data from Zendesk QA" (API reference),
       https://developer.zendesk.com/api-reference/qa/export/ ; the published Swagger
       definition "Public Export API" (protoExportAPIReviewsResponse,
       protoExportAPIReview, protoReviewsRating, protoExportAPICalibrationSession,
       protoPagination).
    .. [3] Zendesk, "Understanding Zendesk QA Reviews dashboard calculations",
       https://support.zendesk.com/hc/en-us/articles/7043701093786 (category score
       formula, weighted review score, critical category below 50 % zeroes the score).

    Examples
    --------
    >>> from pathlib import Path
    >>> import qa_analysis
    >>> pages = Path(qa_analysis.__file__).parents[1] / "tests/fixtures/adapters/zendesk_qa"
    >>> got = from_zendesk_qa(pages, experts=["lead@example.com"], columns={
    ...     "region": "EU", "market": Lookup("external.Market"), "channel": "email",
    ...     "queue": Lookup("workspace_name", {"Support DE": "billing"})})
    >>> got.evaluations.groupby("evaluation_id")["score"].size().to_dict()
    {'9001': 3, '9002': 3, '9003': 3}
    >>> got.scorecard["101"].scale, got.scorecard["103"].critical
    ((1, 2, 3, 4), True)
    >>> got.skipped[["reason", "count"]].to_dict("records")
    [{'reason': 'identical review repeated on another page', 'count': 1}]
    """
    sc_in = Scorecard.from_yaml(scorecard) if isinstance(scorecard, str | Path) else scorecard
    files = _json_pages(paths)
    skipped = _Skipped()
    rows: list[dict[str, Any]] = []
    cal_rows: list[dict[str, Any]] = []
    for path, page in files:
        if not isinstance(page, Mapping) or not (
            isinstance(page.get("conversations"), list)
            or isinstance(page.get("calibrationSessions"), list)
        ):
            keys = sorted(page) if isinstance(page, Mapping) else type(page).__name__
            raise DataError(
                str(path),
                "not a Zendesk QA export page: expected a 'conversations' list (reviews "
                f"export) or a 'calibrationSessions' list; found {keys}",
            )
        probs = _Problems(str(path))
        for ci, conv in enumerate(page.get("conversations") or []):
            _zendesk_conversation(conv, f"conversations[{ci}]", path, rows, probs, skipped)
        for si, sess in enumerate(page.get("calibrationSessions") or []):
            _zendesk_session(sess, f"calibrationSessions[{si}]", path, cal_rows, probs)
        probs.raise_if_any()
    label = _label(files)
    ev = _frame(rows, label, "reviews")
    cal = pd.DataFrame(cal_rows) if cal_rows else None
    ev = _drop_repeated(ev, ["evaluation_id", "criterion"], label, skipped, "review")
    if cal is not None:
        cal = _drop_repeated(
            cal, ["session_id", "ticket_id", "rater_id", "criterion"], label, skipped, "rating"
        )
    notes: list[str] = []
    both = pd.concat([d for d in (ev, cal) if d is not None], ignore_index=True)
    levels = _zendesk_levels(both, sc_in, scales or {}, rating_scores, label, notes)
    ev["score"] = _to_level(ev, levels, rating_scores, label)
    if cal is not None:
        cal["score"] = _to_level(cal, levels, rating_scores, label)
    if sc_in is None:
        facts = _criteria_facts(both, label)
        facts["scale"] = facts["criterion"].map(lambda c: tuple(range(1, levels[c][0] + 1)))
        facts["pass_at"] = facts["criterion"].map(lambda c: levels[c][1])
        facts["na_allowed"] = facts["criterion"].map(
            both.groupby("criterion")["raw_score"].apply(lambda s: bool(s.isna().any()))
        )
        sc = derive_scorecard(
            facts,
            name=_first(both, "scorecard_name", "Zendesk QA scorecard"),
            method="weighted",
            critical_mode="zero",
            pass_mark=pass_mark,
            source=label,
        )
    else:
        sc = sc_in
    if cal is not None:
        cal["role"] = np.where(cal["rater_id"].isin(list(experts)), "expert", "specialist")
        if not len(experts) or not cal["role"].eq("expert").any():
            notes.append("no calibration rater is listed in experts=: every rater is a specialist")
    return _finish(ev, cal, sc, columns, skipped, notes, label)


def _zendesk_conversation(
    conv: Any,
    where: str,
    path: Path,
    rows: list[dict[str, Any]],
    probs: _Problems,
    skipped: _Skipped,
) -> None:
    if not isinstance(conv, Mapping):
        probs.add("conversations[]", where)
        return
    ticket = _text(conv.get("externalId"))
    if ticket is None:
        probs.add("conversations[].externalId", where)
        return
    common: dict[str, Any] = {
        "ticket_id": ticket,
        "workspace_name": _text(conv.get("workspaceName")),
        "workspace_id": _text(conv.get("workspaceId")),
        "source_type": _text(conv.get("sourceType")),
    }
    for ext in conv.get("externalFields") or []:
        if isinstance(ext, Mapping) and _text(ext.get("name")) is not None:
            common[f"external.{ext['name']}"] = _text(ext.get("value"))
    for ri, rev in enumerate(conv.get("reviews") or []):
        rwhere = f"{where}.reviews[{ri}]"
        if not isinstance(rev, Mapping):
            probs.add("reviews[]", rwhere)
            continue
        rid = _text(rev.get("id"))
        agent = _user(rev.get("reviewee"))
        reviewer = _user(rev.get("reviewer"))
        when = _text(rev.get("createdISO")) or _text(rev.get("created"))
        bad = False
        for fld, val in (
            ("reviews[].id", rid),
            ("reviews[].reviewee.email", agent[0]),
            ("reviews[].reviewer.email", reviewer[0]),
            ("reviews[].createdISO", when),
        ):
            if val is None:
                probs.add(fld, f"{rwhere} (review {rid})")
                bad = True
        if bad:
            continue
        ratings = rev.get("ratings") or []
        if not ratings:
            skipped.add("review without ratings", str(path))
            continue
        sc_obj = rev.get("scorecard")
        sc: Mapping[str, Any] = sc_obj if isinstance(sc_obj, Mapping) else {}
        base = {
            **common,
            "evaluation_id": rid,
            "agent_id": agent[0],
            "agent_email": agent[1],
            "agent_name": agent[2],
            "agent_group": agent[3],
            "reviewer_id": reviewer[0],
            "reviewer_email": reviewer[1],
            "reviewer_name": reviewer[2],
            "evaluated_at": when,
            "scorecard_name": _text(sc.get("name")),
            "scorecard_id": _text(sc.get("id")),
        }
        for gi, rating in enumerate(ratings):
            row = _zendesk_rating(rating, f"{rwhere}.ratings[{gi}]", path, probs)
            if row is not None:
                rows.append({**base, **row})


def _zendesk_session(
    sess: Any, where: str, path: Path, rows: list[dict[str, Any]], probs: _Problems
) -> None:
    if not isinstance(sess, Mapping):
        probs.add("calibrationSessions[]", where)
        return
    sid = _text(sess.get("id"))
    when = _text(sess.get("createdAt"))
    if sid is None or when is None:
        probs.add("calibrationSessions[].id/createdAt", where)
        return
    for ci, conv in enumerate(sess.get("conversations") or []):
        cwhere = f"{where}.conversations[{ci}]"
        ticket = _text(conv.get("externalId")) if isinstance(conv, Mapping) else None
        if ticket is None:
            probs.add("calibrationSessions[].conversations[].externalId", cwhere)
            continue
        for ri, rev in enumerate(conv.get("reviews") or []):
            rwhere = f"{cwhere}.reviews[{ri}]"
            rater = _user(rev.get("reviewer")) if isinstance(rev, Mapping) else (None,) * 4
            if rater[0] is None:
                probs.add("calibrationSessions[].conversations[].reviews[].reviewer", rwhere)
                continue
            agent = _user(rev.get("reviewee"))
            base = {
                "session_id": sid,
                "session_date": when,
                "ticket_id": ticket,
                "rater_id": rater[0],
                "reviewer_email": rater[1],
                "reviewer_name": rater[2],
                "agent_email": agent[1],
                "agent_name": agent[2],
                "agent_group": agent[3],
            }
            for gi, rating in enumerate(rev.get("ratings") or []):
                row = _zendesk_rating(rating, f"{rwhere}.ratings[{gi}]", path, probs)
                if row is not None:
                    rows.append({**base, **row})


def _zendesk_rating(rating: Any, where: str, path: Path, probs: _Problems) -> dict[str, Any] | None:
    if not isinstance(rating, Mapping):
        probs.add("ratings[]", where)
        return None
    cid = _text(rating.get("categoryId")) or _text(rating.get("categoryName"))
    if cid is None:
        probs.add("ratings[].categoryId", where)
        return None
    raw = rating.get("score")
    if raw is not None and not _is_number(raw):
        probs.add("ratings[].score", f"{where} (score={raw!r})")
        return None
    weight = rating.get("weight")
    if weight is not None and not _is_number(weight):
        probs.add("ratings[].weight", f"{where} (weight={weight!r})")
        return None
    return {
        "criterion": cid,
        "name": _text(rating.get("categoryName")) or cid,
        "section": _text(rating.get("groupName")) or "General",
        "weight": float(weight) if weight is not None else np.nan,
        "critical": bool(rating.get("critical", False)),
        "raw_score": float(raw) if raw is not None else np.nan,
        "_file": str(path),
        "_record": where,
    }


def _zendesk_levels(
    rows: pd.DataFrame,
    scorecard: Scorecard | None,
    scales: Mapping[str, int],
    rating_scores: str,
    label: str,
    notes: list[str],
) -> dict[str, tuple[int, float, tuple[float, ...]]]:
    """Per category: (number of rating points k, lowest passing level, the scale's values)."""
    if rating_scores not in ("percent", "points"):
        raise ValueError(f"rating_scores must be 'percent' or 'points', got {rating_scores!r}")
    out: dict[str, tuple[int, float, tuple[float, ...]]] = {}
    for cid, vals in rows.groupby("criterion")["raw_score"]:
        seen = vals.dropna().to_numpy(dtype=float)
        if scorecard is not None:
            if cid not in scorecard:
                continue  # io validation names it
            crit = scorecard[str(cid)]
            pass_at = crit.pass_at if crit.pass_at is not None else crit.scale[-1]
            out[str(cid)] = (len(crit.scale), float(pass_at), tuple(crit.scale))
            continue
        if str(cid) in scales:
            k = int(scales[str(cid)])
            if k not in (2, 3, 4, 5):
                raise ValueError(f"scales[{cid!r}] must be 2, 3, 4 or 5 points, got {k}")
        else:
            fits = [k for k in (2, 3, 4, 5) if _fits(seen, k, rating_scores)]
            if not fits:
                continue  # _to_level names the offending scores
            k = fits[0]
            notes.append(
                f"category {cid}: {k}-point scale inferred from the scores seen "
                f"(pass scales={{'{cid}': k}} if it has more points)"
            )
        # lowest level whose category score is at least 50 %
        pct = np.arange(k) / (k - 1) * 100.0
        levels = tuple(float(v) for v in range(1, k + 1))
        out[str(cid)] = (k, float(np.flatnonzero(pct >= 50.0 - 1e-9)[0] + 1), levels)
    return out


def _fits(seen: np.ndarray, k: int, rating_scores: str) -> bool:
    if rating_scores == "points":
        return bool(np.all((seen >= 1) & (seen <= k) & (seen == np.round(seen))))
    lv = seen / 100.0 * (k - 1)
    return bool(np.all((lv >= -1e-6) & (lv <= k - 1 + 1e-6) & (np.abs(lv - np.round(lv)) < 0.02)))


def _to_level(
    rows: pd.DataFrame,
    levels: Mapping[str, tuple[int, float, tuple[float, ...]]],
    rating_scores: str,
    label: str,
) -> pd.Series:
    k = rows["criterion"].map(lambda c: levels[c][0] if c in levels else 0).to_numpy(dtype=float)
    raw = rows["raw_score"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lv = raw if rating_scores == "points" else 1.0 + raw / 100.0 * (k - 1.0)
    known = k >= 2  # a category off a given scorecard is named by io validation
    ok = ~known | np.isnan(raw) | ((np.abs(lv - np.round(lv)) < 0.02) & (lv >= 1) & (lv <= k))
    if not ok.all():
        bad = rows.loc[~ok]
        first = ", ".join(
            f"{f}: {r} (category {c}, score {s:g})"
            for f, r, c, s in bad[["_file", "_record", "criterion", "raw_score"]]
            .head(_SHOWN)
            .itertuples(index=False)
        )
        raise DataError(
            label,
            f"field 'ratings[].score': {int((~ok).sum())} scores are no level of a 2- to "
            f"5-point rating scale ({'levels 1..k' if rating_scores == 'points' else 'percent'}"
            f"); first: {first}",
        )
    idx = np.where(known & ~np.isnan(raw), np.round(lv) - 1, 0).astype(int)
    out = raw.copy()
    crit = rows["criterion"].to_numpy()
    for cid, (_, _, scale) in levels.items():  # one pass per criterion, not per row
        on = (crit == cid) & ~np.isnan(raw)
        out[on] = np.asarray(scale, dtype=float)[idx[on]]
    return pd.Series(out.astype(float), index=rows.index)


def _user(u: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(id, email, name, first group name) of a Zendesk QA user object."""
    if not isinstance(u, Mapping):
        return (None, None, None, None)
    email, name = _text(u.get("email")), _text(u.get("name"))
    groups = u.get("groups") or []
    group = _text(groups[0].get("name")) if groups and isinstance(groups[0], Mapping) else None
    return (email or name, email, name, group)


# ---------------------------------------------------------------------------
# MaestroQA
# ---------------------------------------------------------------------------
#: Column names read from the MaestroQA raw-score CSV bundle; override with ``fields=``.
MAESTROQA_FIELDS: dict[str, str] = {
    "gradable_id": "gradable_id",
    "criterion": "question_id",
    "criterion_name": "question",
    "section": "section_name",
    "score": "score",
    "max_score": "max_points",
    "critical": "auto_fail",
    "agent_id": "agent_email",
    "reviewer_id": "grader_email",
    "evaluated_at": "date_graded",
    "rubric": "rubric_name",
    "calibration": "is_calibration",
    "csat": "csat_score",
}


def from_maestroqa(
    paths: str | Path | Sequence[str | Path],
    *,
    columns: Mapping[str, str | Lookup] | None = None,
    fields: Mapping[str, str] | None = None,
    scorecard: Scorecard | str | Path | None = None,
    experts: Collection[str] = (),
    na_values: Iterable[str] = ("", "N/A", "NA", "n/a"),
    pass_mark: float | None = None,
) -> Imported:
    """Read a MaestroQA raw-score export (the CSV bundle) into the long tables.

    Parameters
    ----------
    paths
        The unzipped export folder, or its CSV files. The individual answer
        scores file (name containing ``individual_answers`` or ``answer``) is
        required; the total rubric scores file (``total_scores``) and the CSAT
        file (``csat``) are joined on ``gradable_id`` when present; section
        scores and annotations are not needed and are ignored (named in
        ``notes``).
    columns
        ``region``, ``market``, ``channel``, ``queue``: a constant or a
        :class:`Lookup` on any column of the answers file (after renaming by
        ``fields``), e.g. ``Lookup("rubric")``.
    fields
        ``{role: column name}`` overriding :data:`MAESTROQA_FIELDS` (see Notes).
    scorecard
        Use this scorecard instead of deriving one (criterion ids = question ids).
    experts
        Grader e-mails who are the calibration benchmark (role ``expert``).
    na_values
        Score cells meaning N/A.
    pass_mark
        Pass mark of the derived scorecard (``None``: the scorecard default).

    Returns
    -------
    Imported
        ``evaluations`` with ``evaluation_id`` = ``<gradable_id>:<grader>``
        (one grade of a ticket by one grader), ``ticket_id`` = ``gradable_id``;
        ``calibration`` with one session per calibrated gradable
        (``session_id`` = ``gradable_id``) when the export has calibration rows.

    Raises
    ------
    DataError
        No answers file, a missing required column (listing those found and
        the ``fields=`` key to set), a score that is neither a number nor N/A,
        an unparseable date, one question with two different point values.

    Notes
    -----
    The help-centre articles name the bundle's files ("total rubric scores,
    section scores, individual answer scores, annotations, CSAT"), the join
    key ``gradable_id`` ("reflects the Ticket ID"), the option "Include
    calibration scores", and that N/A removes a criterion from the total
    points. They do not list the other column names: the defaults in
    :data:`MAESTROQA_FIELDS` are this adapter's reading, not documented
    names, and ``fields=`` maps them to the columns of a real export. How
    calibration rows are marked is not documented either: rows whose
    ``calibration`` column is true (``true``/``1``/``yes``) are calibration
    ratings; without that column the export is taken to have none.

    A question's scale is ``0..max_points`` in whole points when the
    ``max_score`` column is present (else the scores seen, plus 0). The
    derived scorecard uses ``method="points"`` (MaestroQA total-point
    rubrics) and ``critical_mode="zero"``; a question is critical when its
    ``critical`` (auto-fail) column is true on any row, and ``na_allowed``
    when any of its scores is N/A.

    References
    ----------
    .. [1] MaestroQA, "Exporting Raw Scores",
       https://intercom.help/maestroqa/creating-reports-exports-for-coaching-and-training/exporting-raw-scores
    .. [2] MaestroQA, "MaestroQA API" (Request a "Raw" export: a zip with a CSV for
       each level of rubric scores), https://help.maestroqa.com/en/articles/3209794-maestroqa-api
    .. [3] MaestroQA, "How do Total Point Rubrics work?",
       https://help.maestroqa.com/en/articles/4544009-how-do-total-point-rubrics-work

    Examples
    --------
    >>> from pathlib import Path
    >>> import qa_analysis
    >>> bundle = Path(qa_analysis.__file__).parents[1] / "tests/fixtures/adapters/maestroqa"
    >>> got = from_maestroqa(bundle, experts=["lead@example.com"],
    ...     columns={"region": "NA", "market": "US", "channel": "chat", "queue": Lookup("rubric")})
    >>> got.evaluations["evaluation_id"].nunique(), sorted(got.calibration["role"].unique())
    (3, ['expert', 'specialist'])
    >>> got.scorecard["q_resolution"].scale, got.scorecard["q_privacy"].critical
    ((0, 1, 2, 3, 4, 5), True)
    """
    sc_in = Scorecard.from_yaml(scorecard) if isinstance(scorecard, str | Path) else scorecard
    names = {**MAESTROQA_FIELDS, **(fields or {})}
    unknown = sorted(set(fields or {}) - set(MAESTROQA_FIELDS))
    if unknown:
        raise ValueError(f"fields: unknown key(s) {unknown}; known: {sorted(MAESTROQA_FIELDS)}")
    files = _files(paths, "*.csv")
    notes: list[str] = []
    answers = [p for p in files if "answer" in p.stem.lower()]
    totals = [p for p in files if "total" in p.stem.lower()]
    csats = [p for p in files if "csat" in p.stem.lower()]
    ignored = [p.name for p in files if p not in answers + totals + csats]
    if not answers:
        raise DataError(
            _label_paths(files),
            "no individual answer scores file (a CSV whose name contains 'answer') in "
            f"{[p.name for p in files]}",
        )
    if ignored:
        notes.append(f"files not needed and not read: {ignored}")
    label = _label_paths(answers)
    df = pd.concat([_read_csv(p) for p in answers], ignore_index=True)
    inv = {v: k for k, v in names.items()}
    df = df.rename(columns={c: inv[c] for c in df.columns if c in inv})
    for extra in totals:
        tot = _read_csv(extra).rename(columns=lambda c: inv.get(c, c))
        _require(tot, ["gradable_id"], str(extra), names)
        keys = ["gradable_id"] + (
            ["reviewer_id"] if "reviewer_id" in tot.columns and "reviewer_id" in df.columns else []
        )
        add = [c for c in ("agent_id", "reviewer_id", "evaluated_at") if c in tot.columns]
        add = [c for c in add if c not in df.columns]
        if add:
            tot = tot[[*keys, *add]].drop_duplicates(keys)
            df = df.merge(tot, on=keys, how="left", validate="many_to_one")
    for extra in csats:
        cs = _read_csv(extra).rename(columns=lambda c: inv.get(c, c))
        if "csat" in cs.columns and "gradable_id" in cs.columns and "csat" not in df.columns:
            cs = cs[["gradable_id", "csat"]].drop_duplicates("gradable_id")
            df = df.merge(cs, on="gradable_id", how="left", validate="many_to_one")
    required = ["gradable_id", "criterion", "score", "agent_id", "reviewer_id", "evaluated_at"]
    _require(df, required, label, names)
    # N/A and numbers
    text = df["score"].astype("string").str.strip()
    is_na = text.isna() | text.isin(list(na_values))
    num = pd.to_numeric(text.mask(is_na), errors="coerce")
    bad = ~is_na & num.isna()
    _refuse(bad, df, label, "score", "not a number or N/A")
    df["raw_score"] = num.astype(float)
    df["score"] = df["raw_score"]
    df["ticket_id"] = df["gradable_id"]
    df["evaluation_id"] = df["gradable_id"] + ":" + df["reviewer_id"]
    df["name"] = df["criterion_name"] if "criterion_name" in df.columns else df["criterion"]
    df["section"] = df["section"].fillna("General") if "section" in df.columns else "General"
    df["critical"] = _truthy(df["critical"]) if "critical" in df.columns else False
    df["weight"] = 1.0
    cal_mask = (
        _truthy(df["calibration"]).to_numpy()
        if "calibration" in df.columns
        else np.zeros(len(df), dtype=bool)
    )
    if "max_score" in df.columns:
        mx = pd.to_numeric(df["max_score"], errors="coerce")
        _refuse(mx.isna() | (mx <= 0), df, label, "max_score", "not a positive number")
        df["max_score"] = mx
    skipped = _Skipped()
    ev = df.loc[~cal_mask].copy()
    cal_src = df.loc[cal_mask].copy()
    ev = _drop_repeated(ev, ["evaluation_id", "criterion"], label, skipped, "answer")
    if sc_in is None:
        facts = _criteria_facts(df, label)
        if "max_score" in df.columns:
            mx_by = df.groupby("criterion")["max_score"].agg(["min", "max"])
            clash = mx_by.index[mx_by["min"] != mx_by["max"]].tolist()
            if clash:
                raise DataError(
                    label,
                    f"field {names['max_score']!r}: questions with two point values "
                    f"(rubric changed?): {clash[:_SHOWN]}; import one rubric version at a time",
                )
            facts["scale"] = facts["criterion"].map(
                lambda c: tuple(float(v) for v in range(math.ceil(mx_by.loc[c, "max"]) + 1))
            )
        else:
            seen = df.groupby("criterion")["raw_score"].apply(
                lambda s: tuple(sorted({0.0, *s.dropna().tolist()}))
            )
            facts["scale"] = facts["criterion"].map(seen)
            notes.append("no max points column: each question's scale is 0 plus the scores seen")
        facts["na_allowed"] = facts["criterion"].map(
            df.groupby("criterion")["raw_score"].apply(lambda s: bool(s.isna().any()))
        )
        sc = derive_scorecard(
            facts,
            name=_first(df, "rubric", "MaestroQA rubric"),
            method="points",
            critical_mode="zero",
            pass_mark=pass_mark,
            source=label,
        )
    else:
        sc = sc_in
    cal = None
    if len(cal_src):
        cal = cal_src.assign(
            session_id=cal_src["gradable_id"],
            session_date=cal_src["evaluated_at"],
            rater_id=cal_src["reviewer_id"],
            role=np.where(cal_src["reviewer_id"].isin(list(experts)), "expert", "specialist"),
        )
        cal = _drop_repeated(
            cal, ["session_id", "ticket_id", "rater_id", "criterion"], label, skipped, "rating"
        )
        if not cal["role"].eq("expert").any():
            notes.append("no calibration grader is listed in experts=: every rater is a specialist")
    return _finish(ev, cal, sc, columns, skipped, notes, label)


# ---------------------------------------------------------------------------
# Scorebuddy
# ---------------------------------------------------------------------------
#: Field paths read from Scorebuddy ``/scores`` records (dots go into nested objects);
#: override with ``fields=``.
SCOREBUDDY_FIELDS: dict[str, str] = {
    "records": "data",
    "evaluation_id": "id",
    "ticket_id": "reference",
    "agent_id": "staff.email",
    "reviewer_id": "evaluator.email",
    "evaluated_at": "created_at",
    "scorecard_id": "scorecard.id",
    "scorecard_name": "scorecard.name",
    "version": "scorecard.version",
    "answers": "answers",
    "criterion": "question_id",
    "criterion_name": "question",
    "section": "section",
    "score": "score",
    "max_score": "max_score",
    "na": "na",
    "critical": "critical",
    "weight": "weight",
}


def from_scorebuddy(
    paths: str | Path | Sequence[str | Path],
    *,
    columns: Mapping[str, str | Lookup] | None = None,
    fields: Mapping[str, str] | None = None,
    scorecard: Scorecard | str | Path | None = None,
    version: str | None = None,
    pass_mark: float | None = None,
) -> Imported:
    """Read Scorebuddy ``/scores`` API responses (saved JSON pages) into the long tables.

    Parameters
    ----------
    paths
        A folder (every ``*.json``), one file, or a list of files; each holds one
        response: an object whose ``records`` field (default ``data``) is the
        list of scores, or the list itself.
    columns
        ``region``, ``market``, ``channel``, ``queue``: a constant or a
        :class:`Lookup` on one of ``scorecard_id``, ``scorecard_name``,
        ``version``, ``ticket_id``, ``agent_id``, ``reviewer_id``.
    fields
        ``{role: dotted path}`` overriding :data:`SCOREBUDDY_FIELDS` (see Notes).
    scorecard
        Use this scorecard instead of deriving one (criterion ids = question ids).
    version
        Keep only scores made on this scorecard version; the others are counted
        in ``skipped``. Without it, versions whose questions differ in points,
        weight or critical flag are an error (one scorecard per import).
    pass_mark
        Pass mark of the derived scorecard (``None``: the scorecard default).

    Returns
    -------
    Imported
        ``evaluations`` with ``evaluation_id`` = score id; ``calibration`` is
        ``None`` (calibration is not part of the ``/scores`` data read here).

    Raises
    ------
    DataError
        Unreadable JSON, no list of scores, a score or answer lacking a
        required field (naming the field path and the first records), a score
        that is neither a number nor N/A, conflicting question definitions.

    Notes
    -----
    The help-centre article (References) documents that score data (results)
    is extracted through the OpenAPI's ``scores`` endpoint (scope
    ``scores:read``) or ``export`` endpoint (``export:read``), and that the
    endpoint reference lives inside the application (Admin > Developers >
    Documentation, or the yaml from the API). That reference is not public and
    was not available: the record shape and field names in
    :data:`SCOREBUDDY_FIELDS` are this adapter's reading (one record per
    score, with its answers as a nested list), not documented names; pass
    ``fields=`` to map a real response. An answer whose ``na`` flag is true,
    or whose score is null, is N/A. A question's scale is ``0..max_score`` in
    whole points when ``max_score`` is present (else 0 plus the scores seen).
    The derived scorecard uses ``method="points"`` and ``critical_mode="flag"``
    (a critical fail is recorded and the score left unchanged, as the
    scorecard module describes Scorebuddy's default).

    References
    ----------
    .. [1] Scorebuddy, "Using the Scorebuddy API to extract score data",
       https://intercom.help/scorebuddy-b32c18522ac7/en/articles/10090995-using-the-scorebuddy-api-to-extract-score-data

    Examples
    --------
    >>> from pathlib import Path
    >>> import qa_analysis
    >>> pages = Path(qa_analysis.__file__).parents[1] / "tests/fixtures/adapters/scorebuddy"
    >>> got = from_scorebuddy(pages, version="2",
    ...     columns={"region": "APAC", "market": "AU", "channel": "phone", "queue": "general"})
    >>> got.evaluations["evaluation_id"].unique().tolist()
    ['s-1', 's-2']
    >>> got.skipped[["reason", "count"]].to_dict("records")
    [{'reason': 'score on another scorecard version', 'count': 1}]
    """
    sc_in = Scorecard.from_yaml(scorecard) if isinstance(scorecard, str | Path) else scorecard
    unknown = sorted(set(fields or {}) - set(SCOREBUDDY_FIELDS))
    if unknown:
        raise ValueError(f"fields: unknown key(s) {unknown}; known: {sorted(SCOREBUDDY_FIELDS)}")
    f = {**SCOREBUDDY_FIELDS, **(fields or {})}
    files = _json_pages(paths)
    skipped = _Skipped()
    rows: list[dict[str, Any]] = []
    for path, page in files:
        recs = page if isinstance(page, list) else _get(page, f["records"])
        if not isinstance(recs, list):
            keys = sorted(page) if isinstance(page, Mapping) else type(page).__name__
            raise DataError(
                str(path),
                f"no list of scores at {f['records']!r} (fields['records']); found {keys}",
            )
        probs = _Problems(str(path))
        for i, rec in enumerate(recs):
            where = f"{f['records']}[{i}]"
            if not isinstance(rec, Mapping):
                probs.add("score record", where)
                continue
            base: dict[str, Any] = {}
            bad = False
            for role in ("evaluation_id", "agent_id", "reviewer_id", "evaluated_at"):
                base[role] = _text(_get(rec, f[role]))
                if base[role] is None:
                    probs.add(f[role], f"{where} (id {_text(_get(rec, f['evaluation_id']))})")
                    bad = True
            if bad:
                continue
            base["ticket_id"] = _text(_get(rec, f["ticket_id"])) or base["evaluation_id"]
            for role in ("scorecard_id", "scorecard_name", "version"):
                base[role] = _text(_get(rec, f[role]))
            if version is not None and base["version"] != str(version):
                skipped.add("score on another scorecard version", str(path))
                continue
            answers = _get(rec, f["answers"])
            if not isinstance(answers, list) or not answers:
                skipped.add("score without answers", str(path))
                continue
            for j, ans in enumerate(answers):
                awhere = f"{where}.{f['answers']}[{j}]"
                cid = _text(_get(ans, f["criterion"])) if isinstance(ans, Mapping) else None
                if cid is None:
                    probs.add(f"{f['answers']}[].{f['criterion']}", awhere)
                    continue
                raw = _get(ans, f["score"])
                na = bool(_get(ans, f["na"])) or raw is None or raw == ""
                if not na and not _is_number(raw):
                    probs.add(f"{f['answers']}[].{f['score']}", f"{awhere} (score={raw!r})")
                    continue
                mx = _get(ans, f["max_score"])
                wt = _get(ans, f["weight"])
                rows.append(
                    {
                        **base,
                        "criterion": cid,
                        "name": _text(_get(ans, f["criterion_name"])) or cid,
                        "section": _text(_get(ans, f["section"])) or "General",
                        "raw_score": np.nan if na else float(raw),
                        "max_score": float(mx) if _is_number(mx) else np.nan,
                        "weight": float(wt) if _is_number(wt) else np.nan,
                        "critical": bool(_get(ans, f["critical"]) or False),
                        "_file": str(path),
                        "_record": awhere,
                    }
                )
        probs.raise_if_any()
    label = _label(files)
    ev = _frame(rows, label, "scores")
    ev["score"] = ev["raw_score"]
    ev = _drop_repeated(ev, ["evaluation_id", "criterion"], label, skipped, "score")
    notes: list[str] = []
    if sc_in is None:
        facts = _criteria_facts(ev, label, by_version=True)
        mx = ev.groupby("criterion")["max_score"].agg(["min", "max"])
        clash = mx.index[(mx["min"] != mx["max"]) & mx["min"].notna()].tolist()
        if clash:
            raise DataError(
                label,
                f"field {f['max_score']!r}: questions with two point values across scorecard "
                f"versions: {clash[:_SHOWN]}; pass version= to import one version",
            )
        seen = ev.groupby("criterion")["raw_score"].apply(
            lambda s: sorted({0.0, *s.dropna().tolist()})
        )

        def scale(c: str) -> tuple[float, ...]:
            top = mx.loc[c, "max"]
            if not np.isnan(top):
                return tuple(float(v) for v in range(math.ceil(top) + 1))
            return tuple(seen[c])

        facts["scale"] = facts["criterion"].map(scale)
        if mx["max"].isna().any():
            notes.append("no max_score on some questions: their scale is 0 plus the scores seen")
        facts["na_allowed"] = facts["criterion"].map(
            ev.groupby("criterion")["raw_score"].apply(lambda s: bool(s.isna().any()))
        )
        sc = derive_scorecard(
            facts,
            name=_first(ev, "scorecard_name", "Scorebuddy scorecard"),
            method="points",
            critical_mode="flag",
            pass_mark=pass_mark,
            source=label,
        )
    else:
        sc = sc_in
    return _finish(ev, None, sc, columns, skipped, notes, label)


# ---------------------------------------------------------------------------
# shared machinery
# ---------------------------------------------------------------------------
class _Problems:
    """Collects malformed records per field; raises one DataError naming the first ones."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.by_field: dict[str, list[str]] = {}

    def add(self, fld: str, where: str) -> None:
        self.by_field.setdefault(fld, []).append(where)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise DataError(
                self.source,
                [
                    f"field {fld!r} missing or malformed in {len(w)} record(s); first: "
                    + ", ".join(w[:_SHOWN])
                    for fld, w in self.by_field.items()
                ],
            )


class _Skipped:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, reason: str, source: str, n: int = 1) -> None:
        key = (reason, source)
        self.counts[key] = self.counts.get(key, 0) + n

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"reason": r, "count": n, "source": s} for (r, s), n in self.counts.items()],
            columns=["reason", "count", "source"],
        )


def _finish(
    ev: pd.DataFrame,
    cal: pd.DataFrame | None,
    sc: Scorecard,
    columns: Mapping[str, str | Lookup] | None,
    skipped: _Skipped,
    notes: list[str],
    label: str,
) -> Imported:
    ev = _fill(ev, FILL_COLUMNS, columns, label, "evaluations")
    keep = [*_EVAL_COLUMNS, *(["csat"] if "csat" in ev.columns else [])]
    ev_out = _validated(ev, keep, label, lambda d: io.load_evaluations(d, scorecard=sc))
    cal_out = None
    if cal is not None:
        cal = _fill(cal, ("region",), columns, label, "calibration")
        cal["session_date"] = _dates(cal, "session_date", label)
        cal_out = _validated(
            cal, list(_CAL_COLUMNS), label, lambda d: io.load_calibration(d, scorecard=sc)
        )
    return Imported(
        evaluations=ev_out,
        calibration=cal_out,
        scorecard=sc,
        skipped=skipped.frame(),
        notes=tuple(notes),
    )


def _validated(df: pd.DataFrame, keep: list[str], label: str, load: Any) -> pd.DataFrame:
    if "evaluated_at" in keep:
        df = df.assign(evaluated_at=_dates(df, "evaluated_at", label))
    out = df[keep].copy()
    # name io's "row L" after the export record it came from
    out.index = pd.Index(df["_file"].map(lambda p: Path(p).name) + ":" + df["_record"])
    try:
        res = load(out)
    except DataError as exc:
        raise DataError(label, exc.problems) from None
    res.attrs["source"] = label
    return res


def _fill(
    df: pd.DataFrame,
    wanted: Sequence[str],
    columns: Mapping[str, str | Lookup] | None,
    label: str,
    table: str,
) -> pd.DataFrame:
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(FILL_COLUMNS))
    if unknown:
        raise ValueError(f"columns: unknown key(s) {unknown}; allowed: {list(FILL_COLUMNS)}")
    fields = sorted(c for c in df.columns if not c.startswith("_") and c not in _EVAL_COLUMNS)
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise DataError(
            label,
            f"the export has no {missing} for the {table} table: pass columns= with a constant "
            f"(columns={{'{missing[0]}': 'EU'}}) or a Lookup on one of its fields {fields}",
        )
    df = df.copy()
    for col in wanted:
        spec = columns[col]
        if isinstance(spec, str):
            df[col] = spec
            continue
        if not isinstance(spec, Lookup):
            raise TypeError(
                f"columns[{col!r}] must be a str or a Lookup, got {type(spec).__name__}"
            )
        if spec.field not in df.columns:
            raise DataError(
                label,
                f"columns[{col!r}]: Lookup field {spec.field!r} is not in the {table} records; "
                f"fields: {fields}",
            )
        key = df[spec.field].astype("string")
        val = key if spec.mapping is None else key.map(dict(spec.mapping))
        unresolved = val.isna()
        if unresolved.any() and spec.default is None:
            keys = key[unresolved].fillna("<missing>").value_counts()
            shown = ", ".join(f"{k!r} ({n} rows)" for k, n in keys.head(_SHOWN).items())
            raise DataError(
                label,
                f"columns[{col!r}]: {int(unresolved.sum())} {table} rows have a {spec.field!r} "
                f"value with no {col} (give it in the mapping or set default=): {shown}",
            )
        df[col] = val.fillna(spec.default if spec.default is not None else "").astype(object)
    return df


def _dates(df: pd.DataFrame, col: str, label: str) -> pd.Series:
    parsed = pd.to_datetime(df[col], errors="coerce", utc=True, format="ISO8601")
    bad = parsed.isna() & df[col].notna()
    _refuse(bad, df, label, col, "not an ISO 8601 timestamp")
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None)


def _refuse(bad: pd.Series, df: pd.DataFrame, label: str, col: str, problem: str) -> None:
    if bool(bad.any()):
        sub = df.loc[bad.to_numpy(dtype=bool)]
        where = (
            sub["_file"].map(lambda p: Path(p).name) + ":" + sub["_record"]
            if "_record" in sub.columns
            else pd.Series([str(i) for i in sub.index], index=sub.index)
        )
        first = ", ".join(
            f"{w} ({col}={v!r})"
            for w, v in zip(where.head(_SHOWN), sub[col].head(_SHOWN), strict=True)
        )
        raise DataError(label, f"field {col!r}: {int(bad.sum())} records {problem}; first: {first}")


def _criteria_facts(rows: pd.DataFrame, label: str, *, by_version: bool = False) -> pd.DataFrame:
    """One row per criterion (name, section, weight, critical); conflicting values are an error."""
    problems = []
    for col in ("weight", "critical"):
        if col not in rows.columns:
            continue
        n = rows.groupby("criterion")[col].nunique(dropna=True)
        clash = n.index[n > 1].tolist()
        if clash:
            vals = {
                c: sorted(rows.loc[rows["criterion"] == c, col].dropna().unique().tolist())
                for c in clash[:_SHOWN]
            }
            hint = (
                "pass version= to import one version"
                if by_version
                else "import one scorecard version at a time"
            )
            problems.append(
                f"field {col!r}: criteria with two values (scorecard changed?) {vals}; {hint}"
            )
    if problems:
        raise DataError(label, problems)
    first = rows.groupby("criterion", sort=False).first()
    out = pd.DataFrame({"criterion": first.index.astype(str)})
    for col in ("name", "section"):
        out[col] = first[col].to_numpy() if col in first.columns else out["criterion"]
    out["weight"] = (
        rows.groupby("criterion", sort=False)["weight"].max().to_numpy()
        if "weight" in rows.columns
        else 1.0
    )
    out["weight"] = out["weight"].fillna(1.0)
    out["critical"] = rows.groupby("criterion", sort=False)["critical"].any().to_numpy()
    zero = out.loc[out["weight"] <= 0, "criterion"].tolist()
    if zero:
        raise DataError(label, f"field 'weight': criteria with weight 0 or less: {zero[:_SHOWN]}")
    return out


def _drop_repeated(
    df: pd.DataFrame, key: list[str], label: str, skipped: _Skipped, what: str
) -> pd.DataFrame:
    """Drop exact repeats (overlapping pages) and count them; refuse conflicting ones."""
    content = [c for c in df.columns if c not in ("_file", "_record")]
    dup_key = df.duplicated(key, keep="first")
    if not dup_key.any():
        return df
    exact = df.astype(str).duplicated(content, keep="first")
    conflict = dup_key & ~exact
    if conflict.any():
        sub = df.loc[df.duplicated(key, keep=False)]
        sub = sub[sub.set_index(key).index.isin(df.loc[conflict].set_index(key).index)]
        first = ", ".join(
            f"{Path(p).name}:{r}"
            for p, r in sub[["_file", "_record"]].head(_SHOWN).itertuples(index=False)
        )
        raise DataError(
            label, f"{int(conflict.sum())} {what} rows share {key} but differ; first: {first}"
        )
    units = df.loc[exact, [key[0], "_file"]].drop_duplicates()
    for src, n in units.groupby("_file").size().items():
        skipped.add(f"identical {what} repeated on another page", str(src), int(n))
    return df.loc[~exact]


def _frame(rows: list[dict[str, Any]], label: str, what: str) -> pd.DataFrame:
    if not rows:
        raise DataError(label, f"no {what} with ratings in the export")
    return pd.DataFrame(rows)


def _json_pages(paths: str | Path | Sequence[str | Path]) -> list[tuple[Path, Any]]:
    out = []
    for p in _files(paths, "*.json"):
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise DataError(str(p), f"cannot read ({exc.strerror})") from None
        try:
            out.append((p, json.loads(text)))
        except json.JSONDecodeError as exc:
            raise DataError(str(p), f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return out


def _files(paths: str | Path | Sequence[str | Path], pattern: str) -> list[Path]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise DataError("<paths>", "no files given")
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(p.glob(pattern))
            if not found:
                raise DataError(str(p), f"folder holds no {pattern} files")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise DataError(str(p), "no such file or folder")
    return out


def _read_csv(p: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise DataError(str(p), "empty file (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(str(p), f"not a readable CSV file ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    df["_file"] = str(p)
    df["_record"] = "line " + pd.Series(np.arange(2, len(df) + 2), index=df.index).astype(str)
    return df


def _require(df: pd.DataFrame, roles: list[str], label: str, names: Mapping[str, str]) -> None:
    missing = [r for r in roles if r not in df.columns]
    if missing:
        found = [c for c in df.columns if not c.startswith("_")]
        raise DataError(
            label,
            "missing column(s) "
            + ", ".join(f"{names[r]!r} (fields['{r}'])" for r in missing)
            + f"; found {found}",
        )
    for r in roles:
        if r != "score":  # an empty score is N/A
            _refuse(df[r].isna(), df, label, r, f"empty (column {names.get(r, r)!r})")


def _truthy(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.lower().isin(["true", "1", "yes", "y"]).fillna(False)


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _num(v: Any) -> float | int:
    f = float(v)
    return int(f) if f.is_integer() else f


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _first(df: pd.DataFrame, col: str, default: str) -> str:
    if col in df.columns:
        vals = df[col].dropna()
        if len(vals):
            return str(vals.iloc[0])
    return default


def _label(files: list[tuple[Path, Any]]) -> str:
    return _label_paths([p for p, _ in files])


def _label_paths(paths: list[Path]) -> str:
    if len(paths) == 1:
        return str(paths[0])
    return f"{paths[0].parent}/{{{', '.join(p.name for p in paths)}}}"
