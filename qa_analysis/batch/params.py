"""Batch parameters: read, merge and validate ``params/*.yaml`` before anything runs.

``params/defaults.yaml`` holds every shared value (it is also the library's
source of defaults, read through :mod:`qa_analysis.settings`);
``params/<region>.yaml`` overrides what differs for one region. The merge is
shallow at the top level, except that mapping-valued keys (``targets``,
``thresholds``, ``sampling``) merge one level deep, so a region file can
override one target and keep the others.

Every value is checked against :data:`PARAMS_SCHEMA`, which holds the type and
the allowed range of each key and never a value: the values themselves live
only in ``params/defaults.yaml``. A wrong type, an out-of-range value or an
unknown key is a :class:`~qa_analysis.errors.ParamsError` naming the key, the
file and the allowed values, raised before any notebook starts. A key that is
not in the schema is accepted only when a report notebook declares it as a
parameter (a project's own notebooks may take their own parameters); it is then
checked against the type papermill infers from the notebook, if any.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qa_analysis import settings
from qa_analysis.batch.engine import first_line
from qa_analysis.errors import ParamsError
from qa_analysis.io import GLOBAL_NOTEBOOK, REGIONAL_NOTEBOOKS, region_dir

__all__ = [
    "BATCH_KEYS",
    "BATCH_LEVEL_KEYS",
    "PARAMS_SCHEMA",
    "PATH_KEYS",
    "PERIOD_PATTERN",
    "REGION_PATTERN",
    "BatchParams",
    "Param",
    "check_params",
    "load_batch_params",
    "merge_params",
    "notebook_parameters",
    "read_params",
]

#: A report month: ``YYYY-MM``, nothing before or after (not even a newline).
PERIOD_PATTERN = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
#: A region code; it becomes a folder name, so only letters, digits, ``_`` and ``-``.
REGION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
#: Parameters holding paths; relative values are resolved against the project root.
PATH_KEYS: tuple[str, ...] = ("data", "scorecard")
#: Parameters the batch sets itself; a params file may not set them.
BATCH_KEYS: tuple[str, ...] = ("output_dir", "reports_dir", "regions")
#: Parameters that are the same for the whole run; a region file may not set them.
RUN_KEYS: tuple[str, ...] = ("period", "summary")
#: Keys of ``defaults.yaml`` the batch itself reads (the leadership summary); no
#: notebook declares or receives them, so they are exempt from the rule that
#: every key is a notebook parameter.
BATCH_LEVEL_KEYS: tuple[str, ...] = ("summary",)

Kind = Literal[
    "str", "path", "bool", "int", "float", "period", "region", "mapping", "str_list", "timezone"
]


@dataclass(frozen=True)
class Param:
    """Type and allowed values of one parameter (never its value).

    Attributes
    ----------
    kind : {"str", "path", "bool", "int", "float", "period", "region", "mapping"}
        ``int`` accepts integers only; ``float`` accepts integers and floats
        (finite); neither accepts ``true`` / ``false``. ``period`` is a
        ``YYYY-MM`` string, ``region`` a code matching :data:`REGION_PATTERN`,
        ``path`` a non-empty one-line string, ``mapping`` a mapping whose keys
        are exactly those of ``keys`` (a region file may give some of them).
    low, high : float or None
        Inclusive bounds for ``int`` / ``float``.
    keys : mapping of str to Param, optional
        The entries of a ``mapping``.
    """

    kind: Kind
    low: float | None = None
    high: float | None = None
    keys: Mapping[str, Param] = field(default_factory=dict)

    def allowed(self) -> str:
        """The allowed values in words, e.g. ``"an integer in [0, 36]"``."""
        if self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            if self.low is not None and self.high is not None:
                return f"{noun} in [{self.low:g}, {self.high:g}]"
            if self.low is not None:
                return f"{noun} >= {self.low:g}"
            if self.high is not None:
                return f"{noun} <= {self.high:g}"
            return noun
        return {
            "str": "a string",
            "path": "a non-empty one-line path",
            "bool": "true or false",
            "period": "a month YYYY-MM (e.g. 2026-10)",
            "region": f"a region code matching {REGION_PATTERN.pattern}",
            "mapping": f"a mapping with keys {', '.join(self.keys)}",
            "str_list": "a list of strings",
            "timezone": "an IANA time zone name (e.g. UTC, Europe/Berlin)",
        }[self.kind]

    def accepts(self, value: Any) -> bool:
        """True when ``value`` is of this type and in range (a mapping's entries not checked)."""
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            if self.kind == "int" and not isinstance(value, int):
                return False
            number = float(value)
            if not math.isfinite(number):
                return False
            return (self.low is None or number >= self.low) and (
                self.high is None or number <= self.high
            )
        if self.kind == "mapping":
            return isinstance(value, Mapping)
        if self.kind == "str_list":
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not isinstance(value, str):
            return False
        if self.kind == "period":
            return PERIOD_PATTERN.fullmatch(value) is not None
        if self.kind == "region":
            return REGION_PATTERN.fullmatch(value) is not None
        if self.kind == "path":
            return bool(value.strip()) and "\n" not in value and "\0" not in value
        if self.kind == "timezone":
            return _is_timezone(value)
        return True


def _rate() -> Param:
    return Param("float", 0, 1)


#: Type and allowed range of every parameter of ``params/defaults.yaml`` (plus
#: ``region``, which only region files set). Values come from the files only.
PARAMS_SCHEMA: dict[str, Param] = {
    "region": Param("region"),
    "period": Param("period"),
    "data": Param("path"),
    "scorecard": Param("path"),
    "pseudonymise": Param("bool"),
    "seed": Param("int", 0),
    "timezone": Param("timezone"),
    "history_months": Param("int", 0, 36),
    "breakdowns_extra": Param("str_list"),
    "thresholds": Param(
        "mapping",
        keys={
            "alpha_reliable": Param("float", -1, 1),
            "alpha_tentative": Param("float", -1, 1),
            "bias_flag": _rate(),
            "n_boot": Param("int", 1),
            "paradox_prevalence": Param("float", 0.5, 1),
            "step_n_boot": Param("int", 99),
            "coach_critical_fails": Param("int", 1),
            "guideline_min_regions": Param("int", 1),
        },
    ),
    "targets": Param(
        "mapping",
        keys={
            "pass_rate": _rate(),
            "mean_score": Param("float", 0, 100),
            "critical_rate": _rate(),
            "alpha": _rate(),
            "audits_per_agent": Param("int", 0),
        },
    ),
    "sampling": Param("mapping", keys={"per_agent": Param("int", 1)}),
    "disputes": Param("mapping", keys={"sla_days": Param("float", 0)}),
    "summary": Param("mapping", keys={"amber_band": Param("float", 0, 0.5)}),
}

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list,),
}


def check_params(
    data: Mapping[str, Any],
    source: str | Path,
    *,
    extra: Mapping[str, str | None] | None = None,
) -> None:
    """Check one params mapping against :data:`PARAMS_SCHEMA`.

    Parameters
    ----------
    data : mapping
        Parameter name -> value, as read from one file (a region file may give
        only some entries of a mapping-valued key).
    source : str or Path
        Where ``data`` came from, for the error message (a file, ``--period``).
    extra : mapping of str to str or None, optional
        Keys outside the schema that are allowed (declared by a notebook), with
        the type name papermill inferred for them (``"int"``, ``"dict"``, ...)
        or None when it inferred none.

    Raises
    ------
    ParamsError
        ``"<source>: parameter 'targets.pass_rate' must be a number in [0, 1],
        got 85"``, or an unknown key with the known ones listed.

    Examples
    --------
    >>> check_params({"seed": 1, "targets": {"pass_rate": 0.9}}, "eu.yaml")
    >>> check_params({"targets": {"pass_rate": 85}}, "eu.yaml")
    Traceback (most recent call last):
    ...
    qa_analysis.errors.ParamsError: eu.yaml: parameter 'targets.pass_rate' must be a number in [0, 1], got 85
    """
    extra = extra or {}
    for key, value in data.items():
        spec = PARAMS_SCHEMA.get(key)
        if spec is None:
            if key in extra:
                _check_declared_type(key, value, extra[key], source)
                continue
            known = sorted({*PARAMS_SCHEMA, *extra})
            raise ParamsError(f"{source}: unknown parameter {key!r} (known: {', '.join(known)})")
        _check_value(key, value, spec, source)
        if spec.kind == "mapping":
            for sub, subvalue in value.items():
                subspec = spec.keys.get(sub) if isinstance(sub, str) else None
                if subspec is None:
                    raise ParamsError(
                        f"{source}: unknown parameter '{key}.{sub}' "
                        f"(known: {', '.join(f'{key}.{k}' for k in spec.keys)})"
                    )
                _check_value(f"{key}.{sub}", subvalue, subspec, source)


def _check_value(name: str, value: Any, spec: Param, source: str | Path) -> None:
    if not spec.accepts(value):
        raise ParamsError(
            f"{source}: parameter {name!r} must be {spec.allowed()}, got {_show(value)}"
        )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_declared_type(key: str, value: Any, type_name: str | None, source: str | Path) -> None:
    ok_types = _TYPES.get(str(type_name).split("[")[0].strip())
    if ok_types is None or value is None:
        return
    if not isinstance(value, ok_types) or (
        type_name in ("int", "float") and isinstance(value, bool)
    ):
        raise ParamsError(
            f"{source}: parameter {key!r} must be {type_name} (as the notebook declares it), "
            f"got {type(value).__name__} {_show(value)}"
        )


def _check_consistency(merged: Mapping[str, Any], source: str | Path) -> None:
    """Rules between keys, on the merged parameters (the packaged defaults fill gaps)."""
    thresholds = {**settings.thresholds(), **merged.get("thresholds", {})}
    tentative, reliable = thresholds.get("alpha_tentative"), thresholds.get("alpha_reliable")
    if tentative is not None and reliable is not None and tentative > reliable:
        raise ParamsError(
            f"{source}: parameter 'thresholds.alpha_tentative' ({tentative:g}) must be at most "
            f"'thresholds.alpha_reliable' ({reliable:g})"
        )


def read_params(path: str | Path) -> dict[str, Any]:
    """Read one params YAML file (an empty file is an empty mapping).

    Loaded with :func:`papermill.iorw.read_yaml_file`, exactly as the
    ``papermill -f`` command line does (dates stay strings). Values are not
    checked here (see :func:`check_params`).

    Raises
    ------
    ParamsError
        When the file is missing, is not valid YAML, or is not a mapping.
    """
    from papermill.iorw import read_yaml_file

    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        data = read_yaml_file(str(path))
    except Exception as exc:  # yaml.YAMLError and I/O errors
        raise ParamsError(f"{path}: not valid YAML ({first_line(exc)})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(
            f"{path}: a params file must be a mapping of parameter names to values, "
            f"got a {type(data).__name__}"
        )
    bad = [k for k in data if not isinstance(k, str) or not k.isidentifier()]
    if bad:
        raise ParamsError(f"{path}: parameter names must be identifiers, got {bad[0]!r}")
    return data


def merge_params(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay ``override`` on ``base``.

    Top-level keys replace; when both values are mappings (``targets``,
    ``thresholds``, ``sampling``) they are merged one level deep, so a region
    file that sets ``targets: {pass_rate: 0.9}`` keeps the default
    ``targets.mean_score``. Neither input is modified.

    Examples
    --------
    >>> merge_params({"seed": 1, "targets": {"a": 1, "b": 2}}, {"targets": {"b": 3}})
    {'seed': 1, 'targets': {'a': 1, 'b': 3}}
    """
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = {**out[k], **v}
        else:
            out[k] = dict(v) if isinstance(v, Mapping) else v
    return out


def notebook_parameters(path: str | Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares: name -> papermill's inferred info."""
    import papermill

    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: notebook not found")
    return dict(papermill.inspect_notebook(str(path)))


@dataclass(frozen=True)
class BatchParams:
    """Validated parameters for one batch (see :func:`load_batch_params`).

    Attributes
    ----------
    root : Path
        The project folder: relative paths are resolved against it and the
        kernels run in it.
    params_dir, notebooks_dir : Path
        Where the params files and the report notebooks were read.
    period : str
        ``YYYY-MM``.
    regions : tuple of str
        Region codes, in file order.
    region_params : dict
        Region code -> merged parameters (paths resolved).
    global_params : dict
        Merged defaults (paths resolved), for the global overview.
    notebook_keys : dict
        Notebook name -> the parameter names it declares.
    """

    root: Path
    notebooks_dir: Path
    period: str
    regions: tuple[str, ...]
    region_params: dict[str, dict[str, Any]]
    global_params: dict[str, Any]
    notebook_keys: dict[str, frozenset[str]] = field(default_factory=dict)
    params_dir: Path | None = None

    def for_notebook(self, notebook: str, region: str | None) -> dict[str, Any]:
        """The parameters one notebook receives (only the names it declares)."""
        src = self.region_params[region] if region else self.global_params
        keys = self.notebook_keys[notebook]
        return {k: v for k, v in src.items() if k in keys}

    @property
    def amber_band(self) -> float:
        """``summary.amber_band`` of the project's defaults (else the packaged defaults')."""
        from qa_analysis import settings

        band = (self.global_params.get("summary") or {}).get("amber_band")
        if band is None:
            band = settings.defaults()["summary"]["amber_band"]
        return float(band)

    def targets(self) -> dict[str, dict[str, Any]]:
        """Region code (and ``GLOBAL``) -> the targets that region is judged against."""
        out = {r: dict(p.get("targets") or {}) for r, p in self.region_params.items()}
        out["GLOBAL"] = dict(self.global_params.get("targets") or {})
        return out


def load_batch_params(
    regions: Sequence[str] | str = "all",
    *,
    params_dir: str | Path | None = None,
    period: str | None = None,
    notebooks_dir: str | Path | None = None,
    project: str | Path | None = None,
) -> BatchParams:
    """Read, merge and validate the parameters for a batch, before anything runs.

    Parameters
    ----------
    regions : "all" or sequence of str
        Region codes or file stems (case-insensitive), or ``"all"``: every
        ``params/*.yaml`` except ``defaults.yaml`` and the scorecard.
    params_dir : str or Path, optional
        The params folder. Default ``<project>/params``, or the copy packaged
        with qa_analysis when the project has none.
    period : str, optional
        ``YYYY-MM``; default ``period`` from ``defaults.yaml``.
    notebooks_dir : str or Path, optional
        Default ``<project>/notebooks``, or the packaged report notebooks when
        the project has none.
    project : str or Path, optional
        The project folder (relative ``data`` / ``scorecard`` paths and the
        kernels' working folder). Default: the parent of ``params_dir`` when
        that is given, else the current folder.

    Raises
    ------
    ParamsError
        Naming the file and key: a missing file or notebook, a file that is
        not a mapping, an unknown key, a value of the wrong type or out of
        range (:data:`PARAMS_SCHEMA`), a key the batch sets itself, a region
        file whose ``region`` does not match its name, a bad period.
    """
    from qa_analysis.batch.project import project_dirs

    dirs = project_dirs(project, params_dir=params_dir, notebooks_dir=notebooks_dir)
    root, pdir, nb_dir = dirs.root, dirs.params_dir, dirs.notebooks_dir
    nb_info = {
        name: notebook_parameters(nb_dir / f"{name}.ipynb")
        for name in (*REGIONAL_NOTEBOOKS, GLOBAL_NOTEBOOK)
    }
    extra: dict[str, str | None] = {}
    for info in nb_info.values():
        for k, v in info.items():
            if k not in PARAMS_SCHEMA and k not in BATCH_KEYS:
                extra.setdefault(k, v.get("inferred_type_name"))

    defaults_path = pdir / "defaults.yaml"
    defaults = read_params(defaults_path)
    _check_file(defaults, defaults_path, extra)
    if "region" in defaults:
        raise ParamsError(
            f"{defaults_path}: key 'region' belongs in the region files, not in defaults.yaml"
        )
    _check_consistency(defaults, defaults_path)

    files = _region_files(regions, pdir, defaults, root)
    region_params: dict[str, dict[str, Any]] = {}
    folders: dict[str, Path] = {}
    for path in files:
        data = read_params(path)
        _check_file(data, path, extra)
        for k in RUN_KEYS:
            if k in data:
                raise ParamsError(
                    f"{path}: key {k!r} is the same for every region; set it in "
                    f"defaults.yaml or on the command line"
                )
        code = data.get("region")
        if code is None:
            raise ParamsError(
                f"{path}: missing key 'region' (every params/*.yaml except "
                f"defaults.yaml and the scorecard is a region file)"
            )
        if code.lower() != path.stem.lower():
            raise ParamsError(
                f"{path}: region {code!r} does not match the file name "
                f"(expected {path.stem.upper()!r})"
            )
        folder = region_dir(code)
        if folder in folders:
            raise ParamsError(f"{path}: region {code!r} appears twice (also in {folders[folder]})")
        folders[folder] = path
        merged = merge_params(defaults, data)
        _check_consistency(merged, path)
        region_params[code] = _resolve_paths(merged, root, pdir)

    period = period if period is not None else defaults.get("period")
    where = str(defaults_path) if period == defaults.get("period") else "--period"
    if period is None:
        raise ParamsError(f"{defaults_path}: missing key 'period' (YYYY-MM)")
    _check_value("period", period, PARAMS_SCHEMA["period"], where)
    for p in region_params.values():
        p["period"] = period
    global_params = _resolve_paths(dict(defaults), root, pdir)
    global_params["period"] = period
    return BatchParams(
        root=root,
        notebooks_dir=nb_dir,
        period=period,
        regions=tuple(region_params),
        region_params=region_params,
        global_params=global_params,
        notebook_keys={k: frozenset(v) for k, v in nb_info.items()},
        params_dir=pdir,
    )


def _check_file(data: Mapping[str, Any], path: Path, extra: Mapping[str, str | None]) -> None:
    for key in data:
        if key in BATCH_KEYS:
            raise ParamsError(
                f"{path}: parameter {key!r} is set by the batch itself "
                f"(use --out / --regions); remove it from the file"
            )
    check_params(data, path, extra=extra)


def _region_files(
    regions: Sequence[str] | str, params_dir: Path, defaults: Mapping[str, Any], root: Path
) -> list[Path]:
    if isinstance(regions, str):
        regions = [regions]
    regions = list(regions)
    if not regions:
        raise ParamsError("--regions: no region given")
    if any(r.lower() == "all" for r in regions):
        skip = {(params_dir / "defaults.yaml").resolve()}
        sc = defaults.get("scorecard")
        if isinstance(sc, str):
            skip.add(_resolve(sc, root, params_dir).resolve())
        skip.add((params_dir / "scorecard.yaml").resolve())
        files = [p for p in sorted(params_dir.glob("*.yaml")) if p.resolve() not in skip]
        if not files:
            raise ParamsError(f"{params_dir}: no region params files (<region>.yaml)")
        return files
    files = []
    for r in regions:
        if not REGION_PATTERN.fullmatch(r):
            raise ParamsError(
                f"--regions: {r!r} is not a region code (letters, digits, _ and -; "
                f"pattern {REGION_PATTERN.pattern})"
            )
        path = params_dir / f"{r.lower()}.yaml"
        if not path.is_file():
            raise ParamsError(f"{path}: no params file for region {r!r}")
        if path not in files:
            files.append(path)
    return files


def _resolve(value: str, root: Path, params_dir: Path) -> Path:
    """A relative path against the project root.

    When it is not there, against the folder holding the params folder (a
    project using the packaged params).
    """
    if Path(value).is_absolute():
        return Path(value)
    candidate = (root / value).resolve()
    if not candidate.exists():
        fallback = (params_dir.parent / value).resolve()
        if fallback.exists():
            return fallback
    return candidate


def _resolve_paths(params: dict[str, Any], root: Path, params_dir: Path) -> dict[str, Any]:
    for k in PATH_KEYS:
        v = params.get(k)
        if isinstance(v, str) and v and "://" not in v:  # a database URL is not a path
            params[k] = str(_resolve(v, root, params_dir))
    return params


def _is_timezone(name: str) -> bool:
    """True for a time zone name the standard library knows (``zoneinfo``)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
