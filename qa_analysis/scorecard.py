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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

LEVELS = ("nominal", "ordinal", "interval")
METHODS = ("weighted", "points")
CRITICAL_MODES = ("zero", "section", "flag")


class ScorecardError(ValueError):
    """A scorecard definition that cannot be used; the message names the file and key."""


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
    level: str = "ordinal"
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
        return self.scale[0]

    @property
    def max(self) -> float:
        return self.scale[-1]

    @property
    def range(self) -> float:
        """Distance between the lowest and highest level."""
        return self.scale[-1] - self.scale[0]

    @property
    def is_binary(self) -> bool:
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
    """

    criteria: tuple[Criterion, ...]
    pass_mark: float = 80.0
    method: str = "weighted"
    critical_mode: str = "zero"
    name: str = "scorecard"
    source: str = "<dict>"
    _index: dict[str, Criterion] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.id: c for c in self.criteria})

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
            raise ScorecardError(f"{source}: critical_mode must be one of {CRITICAL_MODES}, got {mode!r}")
        pass_mark = spec.get("pass_mark", 80)
        if not isinstance(pass_mark, int | float) or isinstance(pass_mark, bool) or not 0 <= pass_mark <= 100:
            raise ScorecardError(f"{source}: pass_mark must be a number in [0, 100], got {pass_mark!r}")
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

    def __iter__(self):
        return iter(self.criteria)

    def __len__(self) -> int:
        return len(self.criteria)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.criteria]

    def categories(self, criterion_id: str) -> list[float]:
        """The full scale of a criterion (pass as ``categories=`` so unused levels count)."""
        return list(self[criterion_id].scale)

    def level(self, criterion_id: str) -> str:
        return self[criterion_id].level

    @property
    def critical_ids(self) -> list[str]:
        return [c.id for c in self.criteria if c.critical]

    def to_frame(self) -> pd.DataFrame:
        """One row per criterion: id, name, section, scale, level, weight, critical, na_allowed,
        pass_at, min, max, range."""
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
    known = {"id", "name", "section", "scale", "level", "weight", "critical", "na_allowed", "pass_at"}
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
    if len(scale) < 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in scale):
        raise ScorecardError(f"{where}: 'scale' needs at least two numeric levels, got {scale!r}")
    if sorted(set(scale)) != scale:
        raise ScorecardError(f"{where}: 'scale' must be strictly increasing, got {scale!r}")
    level = raw.get("level", "nominal" if len(scale) == 2 else "ordinal")
    if level not in LEVELS:
        raise ScorecardError(f"{where}: level must be one of {LEVELS}, got {level!r}")
    weight = raw.get("weight", 1)
    if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
        raise ScorecardError(f"{where}: weight must be a positive number, got {weight!r}")
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
