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

Scorecard versions: a rubric that changed during the year is one file with a
``versions`` list (oldest first). Each version has an id (``version``), the
date from which it applies (``effective``; the first version may omit it,
meaning "since always") and its own ``criteria`` and, optionally,
``pass_mark``, ``method`` and ``critical_mode`` (top-level values are the
defaults). A criterion keeps its ``id`` across versions; it may be added,
removed, renamed (new ``name``), re-weighted, or change scale, level,
critical flag or N/A rule::

    name: Support scorecard
    pass_mark: 80
    versions:
      - version: "2025.1"
        criteria: [...]
      - version: "2026.2"
        effective: 2026-06-01
        criteria: [...]

A folder of single-version files, each with ``version`` and ``effective``
keys, is read the same way (:meth:`Scorecard.from_yaml` on the folder).
Evaluations and calibration ratings may carry a ``scorecard_version`` column;
where it is absent or empty, the version in force at the row's date applies.
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
    version: str | None = None
    effective: pd.Timestamp | None = None
    _versions: tuple[Scorecard, ...] = field(default=(), init=False, repr=False)
    _index: dict[str, Criterion] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.id: c for c in self.criteria})

    def __repr__(self) -> str:
        """One line: name, number of criteria (and versions), pass mark and conventions."""
        n = len(self.criteria)
        nv = len(self._versions)
        versions = f", {nv} versions" if nv > 1 else ""
        return (
            f"Scorecard({self.name!r}, {n} criteri{'on' if n == 1 else 'a'}{versions}, "
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
        """Load a scorecard from a YAML file or a folder of versioned YAML files.

        See the module docstring for the format. A folder's ``*.yaml`` / ``*.yml``
        files are single-version scorecards with ``version`` and ``effective``
        keys, combined in order of ``effective`` (see :meth:`from_versions`).
        """
        path = Path(path)
        if path.is_dir():
            files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            if not files:
                raise ScorecardError(f"{path}: a scorecard folder needs *.yaml files, found none")
            parts = [cls.from_yaml(f) for f in files]
            nested = [p.source for p in parts if p.is_versioned]
            if nested:
                raise ScorecardError(
                    f"{path}: each file of a scorecard folder is one version; "
                    f"{nested[0]} holds several"
                )
            parts.sort(key=lambda p: p.effective or pd.Timestamp.min)
            return cls.from_versions(parts, source=str(path))
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
        if "versions" in spec:
            return cls._from_versions_spec(spec, source)
        known = {"name", "pass_mark", "method", "critical_mode", "criteria", "version", "effective"}
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
        version = spec.get("version")
        if version is not None and not str(version).strip():
            raise ScorecardError(f"{source}: 'version' must be a non-empty id")
        effective = _effective(spec.get("effective"), source)
        if version is None and effective is not None:
            version = f"{effective:%Y-%m-%d}"
        return cls(
            criteria=criteria,
            pass_mark=float(pass_mark),
            method=method,
            critical_mode=mode,
            name=str(spec.get("name", Path(source).stem)),
            source=source,
            version=None if version is None else str(version),
            effective=effective,
        )

    @classmethod
    def _from_versions_spec(cls, spec: Mapping[str, Any], source: str) -> Scorecard:
        known = {"name", "pass_mark", "method", "critical_mode", "versions"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ScorecardError(
                f"{source}: unknown key(s) {unknown} next to 'versions'; allowed: {sorted(known)} "
                "(criteria belong inside each version)"
            )
        raw = spec["versions"]
        if not isinstance(raw, list) or not raw:
            raise ScorecardError(f"{source}: 'versions' must be a non-empty list")
        defaults = {
            k: spec[k] for k in ("name", "pass_mark", "method", "critical_mode") if k in spec
        }
        parts = []
        for i, v in enumerate(raw):
            if not isinstance(v, Mapping):
                raise ScorecardError(f"{source}: versions[{i}] must be a mapping")
            if "version" not in v and "effective" not in v:
                raise ScorecardError(f"{source}: versions[{i}] needs a 'version' id or 'effective'")
            parts.append(cls.from_dict({**defaults, **v}, source=f"{source}: versions[{i}]"))
        return cls.from_versions(parts, source=source)

    @classmethod
    def from_versions(
        cls, versions: Iterable[Scorecard], *, source: str = "<versions>"
    ) -> Scorecard:
        """Combine single-version scorecards (oldest first) into one versioned scorecard.

        Parameters
        ----------
        versions : iterable of Scorecard
            Each with a distinct ``version`` id; every version but the first needs
            an ``effective`` date, and the dates must increase.
        source : str
            Used in error messages.

        Returns
        -------
        Scorecard
            Its ``criteria`` are every criterion of any version (the latest
            definition of each id; the newest version's criteria first, then
            retired ones), its ``pass_mark``, ``method``, ``critical_mode``,
            ``version`` and ``effective`` those of the newest version, and
            :attr:`versions` the given versions. One version gives that version.

        Examples
        --------
        >>> v1 = Scorecard.from_dict({"version": "v1", "criteria": [{"id": "a", "scale": [0, 1]}]})
        >>> v2 = Scorecard.from_dict({"version": "v2", "effective": "2026-06-01",
        ...     "criteria": [{"id": "a", "scale": [0, 1]}, {"id": "b", "scale": [0, 1]}]})
        >>> sc = Scorecard.from_versions([v1, v2])
        >>> sc.version_ids, sc.version_at("2026-05-31").version
        (['v1', 'v2'], 'v1')
        """
        parts = list(versions)
        if not parts or not all(isinstance(p, Scorecard) for p in parts):
            raise ScorecardError(f"{source}: versions must be a non-empty list of Scorecards")
        if len(parts) == 1:
            return parts[0]
        for i, p in enumerate(parts):
            if p.is_versioned:
                raise ScorecardError(f"{source}: version {i} is itself versioned")
            if p.version is None:
                raise ScorecardError(f"{source}: versions[{i}] has no 'version' id")
            if i > 0 and p.effective is None:
                raise ScorecardError(
                    f"{source}: version {p.version!r} needs an 'effective' date "
                    "(only the first version may omit it)"
                )
        ids = [str(p.version) for p in parts]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ScorecardError(f"{source}: duplicate version id(s) {dupes}")
        eff = [p.effective for p in parts]
        for a, b, pa, pb in zip(eff, eff[1:], parts, parts[1:], strict=False):
            if a is not None and b is not None and b <= a:
                raise ScorecardError(
                    f"{source}: version {pb.version!r} (effective {b:%Y-%m-%d}) must take effect "
                    f"after {pa.version!r} (effective {a:%Y-%m-%d}); list versions oldest first"
                )
        latest = parts[-1]
        union: dict[str, Criterion] = {c.id: c for c in latest.criteria}
        for p in reversed(parts[:-1]):
            for c in p.criteria:
                union.setdefault(c.id, c)
        out = cls(
            criteria=tuple(union.values()),
            pass_mark=latest.pass_mark,
            method=latest.method,
            critical_mode=latest.critical_mode,
            name=latest.name,
            source=source,
            version=latest.version,
            effective=latest.effective,
        )
        object.__setattr__(out, "_versions", tuple(parts))
        return out

    # -- versions -----------------------------------------------------------------
    @property
    def versions(self) -> tuple[Scorecard, ...]:
        """The versions, oldest first (a single-version scorecard is its own only version)."""
        return self._versions or (self,)

    @property
    def is_versioned(self) -> bool:
        """Whether the scorecard holds more than one version."""
        return len(self._versions) > 1

    @property
    def version_ids(self) -> list[str | None]:
        """Version ids, oldest first (``[None]`` for a scorecard without a version id)."""
        return [v.version for v in self.versions]

    def for_version(self, version: str | None) -> Scorecard:
        """The single-version scorecard with id ``version``."""
        for v in self.versions:
            if v.version == version or (v.version is None and version is None):
                return v
        raise KeyError(
            f"{self.source}: no scorecard version {version!r}; known: {self.version_ids}"
        )

    def _starts(self) -> np.ndarray:
        """Effective dates as datetime64[ns] (the first version's missing date = the earliest)."""
        return np.array(
            [
                np.datetime64("NaT") if v.effective is None else v.effective.to_datetime64()
                for v in self.versions
            ],
            dtype="datetime64[ns]",
        )

    def version_codes_at(self, dates: Any) -> np.ndarray:
        """Position (in :attr:`versions`) of the version in force at each date (-1: before all).

        Vectorised (a binary search of the effective dates); NaT gives -1 too.
        """
        d = pd.to_datetime(pd.Series(np.asarray(dates).ravel())).to_numpy(dtype="datetime64[ns]")
        starts = self._starts()
        if np.isnat(starts[0]):
            starts = starts.copy()
            starts[0] = np.datetime64(pd.Timestamp.min.to_datetime64(), "ns")
        code = np.searchsorted(starts, d, side="right") - 1
        return np.where(np.isnat(d), -1, code).astype(np.int64)

    def version_at(self, date: Any) -> Scorecard:
        """The version in force at ``date`` (the latest whose ``effective`` is not after it).

        Raises
        ------
        ValueError
            ``date`` is before the first version's effective date.
        """
        ts = pd.Timestamp(date)
        code = int(self.version_codes_at([ts])[0])
        if code < 0:
            raise ValueError(
                f"{self.source}: no scorecard version in force on {ts:%Y-%m-%d} "
                f"(the first takes effect on {self.versions[0].effective:%Y-%m-%d})"
            )
        return self.versions[code]

    def versions_between(self, start: Any = None, end: Any = None) -> tuple[Scorecard, ...]:
        """The versions in force at some time in ``[start, end]`` (None: open-ended), oldest first."""
        starts = self._starts()
        nxt = np.append(starts[1:], np.datetime64("NaT"))
        lo = None if start is None else pd.Timestamp(start).to_datetime64()
        hi = None if end is None else pd.Timestamp(end).to_datetime64()
        keep = []
        for v, s0, s1 in zip(self.versions, starts, nxt, strict=True):  # a few versions
            if hi is not None and not np.isnat(s0) and s0 > hi:
                continue
            if lo is not None and not np.isnat(s1) and s1 <= lo:
                continue
            keep.append(v)
        return tuple(keep)

    def change_dates(self, start: Any = None, end: Any = None) -> list[pd.Timestamp]:
        """Dates on which a new version took effect, within ``(start, end]`` (phase breaks).

        Examples
        --------
        >>> sc = Scorecard.from_dict({"versions": [
        ...     {"version": "v1", "criteria": [{"id": "a", "scale": [0, 1]}]},
        ...     {"version": "v2", "effective": "2026-06-01", "criteria": [{"id": "a", "scale": [0, 1]}]}]})
        >>> sc.change_dates("2026-01-01", "2026-12-31")
        [Timestamp('2026-06-01 00:00:00')]
        """
        lo = None if start is None else pd.Timestamp(start)
        hi = None if end is None else pd.Timestamp(end)
        return [
            v.effective
            for v in self.versions[1:]
            if v.effective is not None
            and (lo is None or v.effective > lo)
            and (hi is None or v.effective <= hi)
        ]

    def versions_frame(self) -> pd.DataFrame:
        """One row per version x criterion.

        Columns: :meth:`to_frame`'s plus ``scorecard_version``, ``effective``,
        ``pass_mark``, ``method`` and ``critical_mode``.
        """
        frames = []
        for v in self.versions:  # a few versions
            f = v.to_frame()
            f.insert(0, "scorecard_version", v.version)
            f.insert(1, "effective", v.effective)
            f["pass_mark"] = v.pass_mark
            f["method"] = v.method
            f["critical_mode"] = v.critical_mode
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

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


def _effective(value: Any, source: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise ScorecardError(
            f"{source}: 'effective' must be a date such as 2026-06-01, got {value!r}"
        )
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


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


@dataclass(frozen=True)
class _VersionGrid:
    """Per version x criterion parameters (criteria in ``scorecard.ids`` order)."""

    defined: np.ndarray  # bool (V, K)
    mins: np.ndarray
    ranges: np.ndarray
    weights: np.ndarray
    pass_at: np.ndarray
    critical: np.ndarray
    sections: np.ndarray  # int codes (V, K) into section_names
    section_names: list[str]
    pass_mark: np.ndarray  # (V,)
    method: list[str]
    critical_mode: list[str]


def _grid(scorecard: Scorecard) -> _VersionGrid:
    ids = scorecard.ids
    pos = {c: j for j, c in enumerate(ids)}
    nv, k = len(scorecard.versions), len(ids)
    defined = np.zeros((nv, k), dtype=bool)
    mins = np.zeros((nv, k))
    ranges = np.ones((nv, k))
    weights = np.zeros((nv, k))
    pass_at = np.zeros((nv, k))
    critical = np.zeros((nv, k), dtype=bool)
    section_names = sorted({c.section for v in scorecard.versions for c in v.criteria})
    sec_pos = {name: i for i, name in enumerate(section_names)}
    sections = np.zeros((nv, k), dtype=np.int64)
    for i, v in enumerate(scorecard.versions):  # versions x criteria: a few dozen cells
        for c in v.criteria:
            j = pos[c.id]
            defined[i, j] = True
            mins[i, j], ranges[i, j], weights[i, j] = c.min, c.range, c.weight
            pass_at[i, j] = float(c.pass_at)  # type: ignore[arg-type]
            critical[i, j] = c.critical
            sections[i, j] = sec_pos[c.section]
    return _VersionGrid(
        defined,
        mins,
        ranges,
        weights,
        pass_at,
        critical,
        sections,
        section_names,
        np.array([v.pass_mark for v in scorecard.versions], dtype=float),
        [v.method for v in scorecard.versions],
        [v.critical_mode for v in scorecard.versions],
    )


def row_versions(
    frame: pd.DataFrame,
    scorecard: Scorecard,
    *,
    date: str = "evaluated_at",
    version: str = "scorecard_version",
    table: str = "evaluations",
) -> np.ndarray:
    """Position in ``scorecard.versions`` of each row's scorecard version (vectorised).

    A row's version is its ``version`` column where that is present and not empty,
    else the version in force at its ``date`` (:meth:`Scorecard.version_at`). An
    unversioned scorecard gives 0 for every row without reading either column.

    Raises
    ------
    DataError
        An unknown version id, a row without a version and without a date, or a
        date before the first version took effect.

    Examples
    --------
    >>> import pandas as pd
    >>> sc = Scorecard.from_dict({"versions": [
    ...     {"version": "v1", "criteria": [{"id": "a", "scale": [0, 1]}]},
    ...     {"version": "v2", "effective": "2026-06-01", "criteria": [{"id": "a", "scale": [0, 1]}]}]})
    >>> df = pd.DataFrame({"evaluated_at": pd.to_datetime(["2026-05-31", "2026-06-01", "2026-07-01"]),
    ...                    "scorecard_version": [None, None, "v1"]})
    >>> row_versions(df, sc).tolist()
    [0, 1, 0]
    """
    n = len(frame)
    if not scorecard.is_versioned:
        return np.zeros(n, dtype=np.int64)
    codes = np.full(n, -1, dtype=np.int64)
    explicit = np.zeros(n, dtype=bool)
    if version in frame.columns:
        raw = frame[version]
        text = raw.astype("string").str.strip()
        explicit = (text.notna() & (text != "")).to_numpy(dtype=bool)
        got = pd.Index(scorecard.version_ids).get_indexer(pd.Index(text.fillna("")))
        unknown = explicit & (got < 0)
        if unknown.any():
            rows = _first_rows(unknown, None)
            found = ", ".join(sorted({_short(str(x)) for x in text.iloc[rows[:5]]}))
            raise DataError(
                table,
                f"column {version!r}: scorecard version(s) {found} are not in "
                f"{scorecard.source!r} ({_row_refs(frame.index, rows)}); "
                f"known: {scorecard.version_ids}",
            )
        codes[explicit] = got[explicit]
    need = ~explicit
    if need.any():
        if date not in frame.columns:
            raise DataError(
                table,
                f"scorecard {scorecard.source!r} has {len(scorecard.versions)} versions: each row "
                f"needs a {version!r} or a {date!r} column to tell which applies",
            )
        by_date = scorecard.version_codes_at(frame[date].to_numpy())
        before = need & (by_date < 0)
        if before.any():
            rows = _first_rows(before, None)
            first = scorecard.versions[0].effective
            raise DataError(
                table,
                f"column {date!r}: no scorecard version in force (missing date, or before the "
                f"first version took effect on {first:%Y-%m-%d}) and no {version!r} "
                f"({_row_refs(frame.index, rows)})",
            )
        codes[need] = by_date[need]
    return codes


def version_of(
    frame: pd.DataFrame,
    scorecard: Scorecard,
    *,
    date: str = "evaluated_at",
    version: str = "scorecard_version",
) -> pd.Series:
    """Each row's scorecard version id (see :func:`row_versions`), aligned with ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> sc = Scorecard.from_dict({"versions": [
    ...     {"version": "v1", "criteria": [{"id": "a", "scale": [0, 1]}]},
    ...     {"version": "v2", "effective": "2026-06-01", "criteria": [{"id": "a", "scale": [0, 1]}]}]})
    >>> version_of(pd.DataFrame({"evaluated_at": pd.to_datetime(["2026-01-05", "2026-06-05"])}), sc).tolist()
    ['v1', 'v2']
    """
    codes = row_versions(frame, scorecard, date=date, version=version)
    ids = np.asarray(scorecard.version_ids, dtype=object)
    return pd.Series(ids[codes], index=frame.index, name=version)


def _score_matrix(
    evaluations: pd.DataFrame,
    scorecard: Scorecard,
    evaluation: str,
    criterion: str,
    score: str,
    date: str = "evaluated_at",
    version: str = "scorecard_version",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pivot long evaluation rows to an (evaluations x criteria) float matrix (NaN = N/A).

    Returns ``(matrix, eval_codes, first_row_of_each_evaluation, version_of_each_evaluation)``
    (criteria in ``scorecard.ids`` order, versions as positions in
    ``scorecard.versions``). Validates unknown criteria, criteria not on the row's
    version, missing evaluation ids, non-numeric scores, duplicates, evaluations
    whose rows disagree on the version, and scores off the scale of the row's
    version, naming the column and first offending rows.
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
    first = np.flatnonzero(~pd.Series(ecodes).duplicated().to_numpy())
    vrows = row_versions(evaluations, scorecard, date=date, version=version)
    veval = vrows[first] if len(first) else np.zeros(0, dtype=np.int64)
    versioned = scorecard.is_versioned
    if versioned:
        split = vrows != veval[ecodes]
        if split.any():
            raise DataError(
                "evaluations",
                f"rows of one {evaluation} disagree on the scorecard version in "
                f"{_row_refs(evaluations.index, _first_rows(split, None))}",
            )
        grid = _grid(scorecard)
        undefined = ~grid.defined[vrows, ccodes]
        if undefined.any():
            rows = _first_rows(undefined, None)
            bad_v = scorecard.versions[int(vrows[rows[0]])]
            cid = scorecard.ids[int(ccodes[rows[0]])]
            raise DataError(
                "evaluations",
                f"column {criterion!r}: criterion {cid!r} is not in scorecard version "
                f"{bad_v.version!r} ({_row_refs(evaluations.index, rows)}); its criteria: "
                f"{bad_v.ids}",
            )
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
    # allowed (version x criterion, score) pairs; one membership test for all rows
    cells: list[int] = []
    levels: list[float] = []
    for i, ver in enumerate(scorecard.versions):  # versions x criteria: a few dozen
        for c in ver.criteria:
            j = scorecard.ids.index(c.id)
            cells.extend([i * k + j] * len(c.scale))
            levels.extend(float(x) for x in c.scale)
    allowed = pd.MultiIndex.from_arrays([np.asarray(cells, dtype=np.int64), np.asarray(levels)])
    cell = vrows * k + ccodes
    on = pd.MultiIndex.from_arrays([cell, vals]).isin(allowed)
    off = ~np.isnan(vals) & ~on
    if off.any():
        i0 = int(np.flatnonzero(off)[0])
        vi, j = int(vrows[i0]), int(ccodes[i0])
        c = scorecard.versions[vi][scorecard.ids[j]]
        rows = _first_rows(off & (cell == cell[i0]), None)
        where = f" in scorecard version {scorecard.version_ids[vi]!r}" if versioned else ""
        raise DataError(
            "evaluations",
            f"column {score!r}: score(s) {sorted(set(vals[rows[:5]].tolist()))} off the "
            f"scale {list(c.scale)} of criterion {c.id!r}{where} "
            f"({_row_refs(evaluations.index, rows, vals[rows], column=score)})",
        )
    return matrix, ecodes, first, veval


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
    date: str = "evaluated_at",
    version: str = "scorecard_version",
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
        platforms how its numbers move); applied to every version.
    date, version : str
        Used only with a versioned scorecard: each evaluation is scored against its
        ``version`` column's scorecard version where present, else against the
        version in force at its ``date`` (see :func:`row_versions`).

    Returns
    -------
    DataFrame
        One row per evaluation, in order of first appearance: the ``meta`` columns,
        (with a versioned scorecard, then ``scorecard_version``), then ``score``
        (float, 0-100), ``passed`` (nullable boolean), ``critical_fail`` (bool) and
        ``n_applicable`` (int).

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

    Scorecard versions: every quantity above (scale, weight, ``pass_at``,
    critical flag, section, ``pass_mark``, ``method``, ``critical_mode``) is
    that of the evaluation's own version; a criterion that its version does not
    have, or a score off its version's scale, is a :class:`DataError`.

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
    if method is not None and method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if critical_mode is not None and critical_mode not in CRITICAL_MODES:
        raise ValueError(f"critical_mode must be one of {CRITICAL_MODES}, got {critical_mode!r}")
    matrix, _, first, veval = _score_matrix(
        evaluations, scorecard, evaluation, criterion, score, date, version
    )
    g = _grid(scorecard)
    # each evaluation's own version's parameters, (n_eval x K); a row per version, gathered
    mins, ranges, weights = g.mins[veval], g.ranges[veval], g.weights[veval]
    pass_at, critical = g.pass_at[veval], g.critical[veval]
    methods = np.array([method or m for m in g.method], dtype=object)
    modes = np.array([critical_mode or m for m in g.critical_mode], dtype=object)

    applicable = ~np.isnan(matrix)
    with np.errstate(invalid="ignore"):
        fails = applicable & (matrix < pass_at)
    crit_fail_cells = fails & critical
    critical_fail = crit_fail_cells.any(axis=1)

    by_points = (methods == "points")[veval][:, None]
    unit = np.where(by_points, weights * ranges, weights)
    earned = np.where(applicable, (matrix - mins) / ranges, 0.0) * unit
    section_mode = (modes == "section")[veval]
    if section_mode.any():
        sec = g.sections[veval]
        failed_sec = np.zeros((matrix.shape[0], len(g.section_names)), dtype=bool)
        for s in range(len(g.section_names)):  # a handful of sections
            failed_sec[:, s] = (crit_fail_cells & (sec == s)).any(axis=1)
        zeroed = np.take_along_axis(failed_sec, sec, axis=1) & section_mode[:, None]
        earned = np.where(zeroed, 0.0, earned)
    possible = (applicable * unit).sum(axis=1)
    n_app = applicable.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(
            possible > 0, 100.0 * earned.sum(axis=1) / np.where(possible > 0, possible, 1.0), np.nan
        )
    pct = np.where(critical_fail & (modes == "zero")[veval], 0.0, pct)

    cols = [c for c in (META_COLUMNS if meta is None else meta) if c in evaluations.columns]
    if meta is not None:
        _require(evaluations, list(meta), "evaluations")
    if evaluation not in cols:
        cols = [evaluation, *cols]
    out = evaluations[cols].take(first).reset_index(drop=True)
    if scorecard.is_versioned:
        out[version] = np.asarray(scorecard.version_ids, dtype=object)[veval]
    out["score"] = pct
    passed = (pct >= g.pass_mark[veval] - _EPS) & ~critical_fail
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
    date: str = "evaluated_at",
    version: str = "scorecard_version",
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
    date, version : str
        With a versioned scorecard, each rating's ``pass_at`` is that of its own
        version (see :func:`row_versions`); name, section and critical flag are the
        latest definition of the criterion. Pass ``by="scorecard_version"`` (after
        adding it with :func:`version_of`) to keep versions apart.

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
    grid = _grid(scorecard)
    vrows = row_versions(evaluations, scorecard, date=date, version=version)
    applicable = ~np.isnan(vals)
    with np.errstate(invalid="ignore"):
        fail = applicable & (vals < grid.pass_at[vrows, codes])
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
