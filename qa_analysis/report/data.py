"""The reports' inputs: parameters, the data window, path resolution and loading.

* :func:`report_params` merges a notebook's parameters over
  ``params/defaults.yaml`` (:mod:`qa_analysis.settings`): a value left at
  ``None`` takes the default, a mapping (``thresholds``, ``targets``,
  ``sampling``) is merged key by key, so a plain ``papermill -f
  params/<region>.yaml`` run that passes a partial dict behaves like the batch.
* :func:`resolve_path`, :func:`data_source`: find the data from the project
  root or from ``notebooks/``.
* :func:`report_window`: the report month, its history and the previous month.
* :func:`load_report_data`: load, validate and pseudonymise
  (:func:`qa_analysis.privacy.pseudonymise`) one region's tables.

Examples
--------
>>> p = report_params(targets={"pass_rate": 0.9})
>>> p.targets["pass_rate"], p.targets["critical_rate"] == settings.targets()["critical_rate"]
(0.9, True)
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_analysis import io, settings
from qa_analysis.disputes import apply_disputes
from qa_analysis.errors import DataError, ParamsError
from qa_analysis.privacy import PSEUDONYM_ENV, pseudonym_key_source
from qa_analysis.privacy import pseudonymise as _pseudonymise
from qa_analysis.report.formatting import ShortRepr
from qa_analysis.scorecard import Scorecard

__all__ = [
    "MISSING_TABLE_NOTES",
    "PROJECT_ROOT",
    "TABLES",
    "TARGET_DIRECTIONS",
    "ReportData",
    "ReportParams",
    "Window",
    "data_source",
    "in_window",
    "is_demo_data",
    "load_report_data",
    "pseudonymise_error",
    "report_params",
    "report_window",
    "resolve_path",
    "resolve_targets",
    "resolve_thresholds",
    "target_spec",
]

#: The project root: the folder holding the ``qa_analysis`` package (and params/, data/).
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent

#: Direction of each target: ``min`` = at least, ``max`` = at most.
TARGET_DIRECTIONS: dict[str, Literal["min", "max"]] = {
    "pass_rate": "min",
    "mean_score": "min",
    "critical_rate": "max",
    "alpha": "min",
    "audits_per_agent": "min",
}

Table = Literal["evaluations", "calibration", "tickets"]
TABLES: tuple[Table, ...] = ("evaluations", "calibration", "tickets")


# ---------------------------------------------------------------------------
# parameters: one source, params/defaults.yaml
# ---------------------------------------------------------------------------
def _merge_mapping(name: str, passed: Mapping[str, Any] | None) -> dict[str, Any]:
    base = settings.defaults().get(name) or {}
    if passed is None:
        return dict(base)
    if not isinstance(passed, Mapping):
        raise ParamsError(
            f"parameter {name!r} must be a mapping (or None for the defaults), "
            f"got {type(passed).__name__} {passed!r}"
        )
    unknown = sorted(set(passed) - set(base))
    if unknown:
        raise ParamsError(
            f"parameter {name!r}: unknown key(s) {unknown} (known, from "
            f"{settings.defaults_path()}: {', '.join(sorted(base))})"
        )
    return {**base, **{k: v for k, v in passed.items() if v is not None}}


def resolve_thresholds(thresholds: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``thresholds`` merged over the ``thresholds`` of ``params/defaults.yaml``.

    Raises
    ------
    ParamsError
        For an unknown key, ``alpha_tentative`` above ``alpha_reliable``, a
        ``bias_flag`` outside (0, 1) or ``n_boot`` below 1.

    Examples
    --------
    >>> th = resolve_thresholds({"n_boot": 200})
    >>> th["n_boot"], th["alpha_reliable"] == settings.thresholds()["alpha_reliable"]
    (200, True)
    """
    th = _merge_mapping("thresholds", thresholds)
    for k in ("alpha_reliable", "alpha_tentative", "bias_flag"):
        if isinstance(th.get(k), bool) or not isinstance(th.get(k), int | float):
            raise ParamsError(f"thresholds.{k} must be a number, got {th.get(k)!r}")
    if not th["alpha_tentative"] <= th["alpha_reliable"]:
        raise ParamsError(
            "thresholds: alpha_tentative must not exceed alpha_reliable, got "
            f"{th['alpha_tentative']} > {th['alpha_reliable']}"
        )
    if not 0 < th["bias_flag"] < 1:
        raise ParamsError(
            f"thresholds.bias_flag must be in (0, 1) (a share of the scale range), "
            f"got {th['bias_flag']!r}"
        )
    n_boot = th.get("n_boot")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ParamsError(f"thresholds.n_boot must be a positive integer, got {n_boot!r}")
    return th


def resolve_targets(targets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``targets`` merged over the ``targets`` of ``params/defaults.yaml``.

    Examples
    --------
    >>> tg = resolve_targets({"pass_rate": 0.9})
    >>> tg["pass_rate"], tg["mean_score"] == settings.targets()["mean_score"]
    (0.9, True)
    """
    tg = _merge_mapping("targets", targets)
    for k, v in tg.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ParamsError(f"targets.{k} must be a number, got {v!r}")
    return tg


def target_spec(targets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Targets as :func:`qa_analysis.compare.target_status` takes them.

    ``{kpi: {"target": value, "direction": "min" | "max"}}``, ``None`` values left out.

    Examples
    --------
    >>> target_spec({"critical_rate": 0.05, "alpha": None})
    {'critical_rate': {'target': 0.05, 'direction': 'max'}}
    """
    return {
        k: {"target": float(v), "direction": TARGET_DIRECTIONS.get(k, "min")}
        for k, v in targets.items()
        if v is not None
    }


@dataclass(frozen=True, repr=False)
class ReportParams(ShortRepr):
    """A notebook's parameters merged over ``params/defaults.yaml`` (see :func:`report_params`)."""

    period: str
    data: str
    scorecard: str
    pseudonymise: bool
    seed: int
    history_months: int
    thresholds: dict[str, Any]
    targets: dict[str, Any]
    sampling: dict[str, Any]
    timezone: str = "UTC"
    disputes: dict[str, Any] = field(default_factory=dict)


def _scalar(name: str, value: Any, types: tuple[type, ...], what: str) -> Any:
    v = settings.defaults().get(name) if value is None else value
    if (isinstance(v, bool) and bool not in types) or not isinstance(v, types):
        raise ParamsError(f"parameter {name!r} must be {what}, got {type(v).__name__} {v!r}")
    return v


def report_params(
    *,
    period: str | None = None,
    data: str | Path | None = None,
    scorecard: str | Path | None = None,
    pseudonymise: bool | None = None,
    seed: int | None = None,
    history_months: int | None = None,
    thresholds: Mapping[str, Any] | None = None,
    targets: Mapping[str, Any] | None = None,
    sampling: Mapping[str, Any] | None = None,
    timezone: str | None = None,
    disputes: Mapping[str, Any] | None = None,
) -> ReportParams:
    """The report's parameters: each passed value over ``params/defaults.yaml``.

    The notebooks' parameters cells declare these as ``None``; the cell after
    them calls this function once, so the values live only in
    ``params/defaults.yaml`` (and the region files that override them).
    ``None`` takes the default; a mapping is merged over the default mapping
    key by key (a region that sets ``targets: {pass_rate: 0.9}`` keeps every
    other target).

    Raises
    ------
    ParamsError
        Naming the parameter: a wrong type, an unknown key of a mapping, an
        out-of-range threshold, a bad period.

    Examples
    --------
    >>> p = report_params(seed=7, thresholds={"n_boot": 50})
    >>> p.seed, p.thresholds["n_boot"], p.history_months == settings.defaults()["history_months"]
    (7, 50, True)
    """
    p = ReportParams(
        period=_scalar("period", period, (str,), "a YYYY-MM string"),
        data=str(_scalar("data", data, (str, Path), "a path")),
        scorecard=str(_scalar("scorecard", scorecard, (str, Path), "a path")),
        pseudonymise=_scalar("pseudonymise", pseudonymise, (bool,), "true or false"),
        seed=int(_scalar("seed", seed, (int, np.integer), "an integer")),
        history_months=int(
            _scalar("history_months", history_months, (int, np.integer), "an integer")
        ),
        thresholds=resolve_thresholds(thresholds),
        targets=resolve_targets(targets),
        sampling=_merge_mapping("sampling", sampling),
        timezone=str(_scalar("timezone", timezone, (str,), "a time zone name")),
        disputes=_merge_mapping("disputes", disputes),
    )
    try:
        report_window(p.period, p.history_months)
    except ValueError as exc:
        raise ParamsError(str(exc)) from None
    return p


# ---------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------
def resolve_path(p: str | Path) -> Path:
    """A data or scorecard path that works from the project root and from ``notebooks/``.

    Tries ``p`` as given (absolute, or relative to the current folder), then
    relative to :data:`PROJECT_ROOT`. When neither exists, ``p`` is returned
    unchanged so that the loader's error names the path the user gave.

    Examples
    --------
    >>> resolve_path("params/scorecard.yaml").name
    'scorecard.yaml'
    """
    path = Path(p).expanduser()
    if path.exists() or path.is_absolute():
        return path
    alt = PROJECT_ROOT / path
    return alt if alt.exists() else path


def _open_database(data: str | Path) -> Any:
    """A :class:`qa_analysis.sources.Source` when ``data`` is a database URL, else None."""
    if not (isinstance(data, str) and "://" in data):
        return None
    from qa_analysis import sources  # optional: needs the "warehouse" extra (ibis)

    return sources.open_source(data) if sources.is_database_url(data) else None


def data_source(data: str | Path, table: str) -> str:
    """The source to pass to a loader for ``table``.

    ``data`` is a DuckDB file (returned as is: the loader picks the table), a
    folder holding ``<table>.parquet`` (or ``<table>.csv``), or a single file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tickets.parquet").write_bytes(b"")
    >>> Path(data_source(folder, "tickets")).name
    'tickets.parquet'
    >>> data_source(folder / "qa.duckdb", "tickets") == str(folder / "qa.duckdb")
    True
    """
    path = resolve_path(data)
    if path.is_dir():
        for ext in (".parquet", ".csv"):
            f = path / f"{table}{ext}"
            if f.exists():
                return str(f)
        return str(path / f"{table}.parquet")  # the loader reports it missing
    return str(path)


def is_demo_data(data: str | Path) -> bool:
    """True when the content of ``data`` is the bundled demo set of :func:`qa_analysis.demo.write_demo`.

    Only demo data may fall back to the public pseudonymisation key
    (``pseudonymise(..., demo_ok=True)``), whose pseudonyms anyone can reverse.
    The generator writes ``fingerprint.json``, the SHA-256 of every data file;
    ``data`` is the demo when every data file it is read from (the folder's
    ``evaluations`` / ``calibration`` / ``tickets`` files, or the single file
    given, e.g. ``data/demo/qa.duckdb``) is listed there with the same digest.
    Real data dropped into the demo folder, with ``planted.json`` and
    ``fingerprint.json`` copied alongside, is therefore not the demo.

    Examples
    --------
    >>> import tempfile
    >>> from qa_analysis import demo
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tickets.csv").write_text("ticket_id\\nT1\\n")
    >>> is_demo_data(folder)
    False
    >>> fp = {"sha256": {"tickets.csv": demo.file_digest(folder / "tickets.csv")}}
    >>> _ = (folder / demo.FINGERPRINT_FILE).write_text(json.dumps(fp))
    >>> is_demo_data(folder)
    True
    >>> _ = (folder / "tickets.csv").write_text("ticket_id\\nREAL-1\\n")
    >>> is_demo_data(folder)
    False
    """
    from qa_analysis.demo import FINGERPRINT_FILE, file_digest

    path = resolve_path(data)
    folder = path if path.is_dir() else path.parent
    try:
        listed = json.loads((folder / FINGERPRINT_FILE).read_text(encoding="utf-8"))["sha256"]
        if path.is_dir():
            files = [Path(data_source(path, t)) for t in TABLES]
            files = [f for f in files if f.is_file()]
        else:
            files = [path]
        return bool(files) and all(
            isinstance(listed, dict) and listed.get(f.name) == file_digest(f) for f in files
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


# ---------------------------------------------------------------------------
# the window
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """The report month and the history window before it (all dates inclusive)."""

    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    history_start: pd.Timestamp
    prev_start: pd.Timestamp
    prev_end: pd.Timestamp
    history_months: int

    def __repr__(self) -> str:
        return f"Window({self.period}, history {self.history_label})"

    @property
    def label(self) -> str:
        """``"October 2026"``."""
        return self.start.strftime("%B %Y")

    @property
    def next_period(self) -> str:
        """The month after the report month (``"2026-11"``).

        Examples
        --------
        >>> report_window("2026-12", 0).next_period
        '2027-01'
        """
        return str(pd.Period(self.period, freq="M") + 1)

    @property
    def baseline_end(self) -> pd.Timestamp | None:
        """End (exclusive) of the control charts' phase-I baseline.

        The first half of the history (rounded up to whole months), ``None``
        without history.

        Judging the recent months against the level before them keeps a shift inside
        the history (a drop two months ago) from being absorbed into the centre line.

        Examples
        --------
        >>> str(report_window("2026-10", 6).baseline_end.date())
        '2026-07-01'
        """
        if self.history_months == 0:
            return None
        months = -(-self.history_months // 2)
        return (self.history_start.to_period("M") + months).start_time.normalize()

    @property
    def history_label(self) -> str:
        """``"April - October 2026"``: the whole window shown in trend charts."""
        a, b = self.history_start, self.start
        return f"{a.strftime('%B %Y')} - {b.strftime('%B %Y')}"


def report_window(period: str, history_months: int = 6) -> Window:
    """The report month ``period`` (``YYYY-MM``) with ``history_months`` months before it.

    Examples
    --------
    >>> w = report_window("2026-10", 6)
    >>> str(w.start.date()), str(w.end.date()), str(w.history_start.date()), w.label
    ('2026-10-01', '2026-10-31', '2026-04-01', 'October 2026')
    """
    try:
        p = pd.Period(str(period), freq="M")
    except (ValueError, TypeError):
        raise ValueError(f"period must be YYYY-MM (e.g. 2026-10), got {period!r}") from None
    if not isinstance(period, str) or len(period) != 7 or period[4] != "-":
        raise ValueError(f"period must be YYYY-MM (e.g. 2026-10), got {period!r}")
    if (
        isinstance(history_months, bool)
        or not isinstance(history_months, int | np.integer)
        or history_months < 0
    ):
        raise ValueError(f"history_months must be a non-negative integer, got {history_months!r}")
    prev = p - 1
    return Window(
        period=str(p),
        start=p.start_time.normalize(),
        end=p.end_time.normalize(),
        history_start=(p - int(history_months)).start_time.normalize(),
        prev_start=prev.start_time.normalize(),
        prev_end=prev.end_time.normalize(),
        history_months=int(history_months),
    )


def in_window(df: pd.DataFrame, col: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows of ``df`` whose date ``col`` (normalised to midnight) lies in ``[start, end]``.

    An empty frame or one without ``col`` gives an empty frame.

    Examples
    --------
    >>> df = pd.DataFrame({"d": pd.to_datetime(["2026-09-30 23:00", "2026-10-31 18:00"])})
    >>> w = report_window("2026-10", 0)
    >>> len(in_window(df, "d", w.start, w.end))
    1
    """
    if len(df) == 0 or col not in df:
        return df.iloc[0:0] if len(df.columns) else df
    d = pd.to_datetime(df[col]).dt.normalize()
    return df.loc[((d >= start) & (d <= end)).to_numpy()]


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ReportData(ShortRepr):
    """The tables of one report, loaded, validated and (optionally) pseudonymised.

    ``evaluations`` and ``calibration`` cover the history window and the
    report month; ``tickets`` only the report month (the sampling population).
    A table that was not requested is an empty DataFrame. ``disputes`` is
    the optional disputes table (empty when the source has none); when it is
    loaded, ``evaluations`` carry the *final* scores (dispute outcomes
    applied, :func:`qa_analysis.disputes.apply_disputes`) with the scores as
    first given in ``original_score`` and a ``disputed`` flag.
    """

    scorecard: Scorecard
    window: Window
    region: str | None
    evaluations: pd.DataFrame
    calibration: pd.DataFrame
    tickets: pd.DataFrame
    pseudonymised: bool
    notes: tuple[str, ...] = ()
    pseudonym_key: str | None = None
    demo_data: bool = False
    disputes: pd.DataFrame = field(default_factory=pd.DataFrame)

    def privacy_kpis(self) -> dict[str, Any]:
        """What the report can truthfully say about the ids, for the KPI files.

        ``pseudonymised`` (bool), ``pseudonym_key`` (``"QA_PSEUDONYM_KEY"``,
        ``"demo key"``, ``"key argument"``, or None when ids were not
        pseudonymised) and ``demo_data`` (the bundled demo set).

        Examples
        --------
        >>> from qa_analysis.scorecard import Scorecard
        >>> sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [0, 1]}]})
        >>> e = pd.DataFrame()
        >>> ReportData(sc, report_window("2026-10", 0), "EU", e, e, e, False).privacy_kpis()
        {'pseudonymised': False, 'pseudonym_key': None, 'demo_data': False}
        """
        return {
            "pseudonymised": bool(self.pseudonymised),
            "pseudonym_key": self.pseudonym_key if self.pseudonymised else None,
            "demo_data": bool(self.demo_data),
        }


#: How the loaders name a cell in an error: ``rater_id='EU-S01'`` (the column, a repr).
_ID_IN_ERROR = re.compile(
    r"\b(agent_id|reviewer_id|rater_id)=('(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")"
)


def pseudonymise_error(
    exc: DataError, *, key: str | None = None, demo_ok: bool = False
) -> DataError:
    """``exc`` with every person id it names replaced by its pseudonym.

    The loaders name offending cells as ``column=repr(value)`` (e.g. a
    duplicate calibration rating: ``rater_id='EU-S01'``). Errors reach shared
    outputs (the notebook and its HTML, ``index.html``, ``run.json``,
    ``kpis.json``), so with pseudonymisation on the ``agent_id``,
    ``reviewer_id`` and ``rater_id`` values are replaced by the same
    pseudonyms the report uses (:func:`qa_analysis.privacy.pseudonymise`,
    same ``key`` and ``demo_ok``). Without a usable key the ids are withheld
    (``<withheld>``).

    Examples
    --------
    >>> e = DataError("cal.csv", "duplicate in 2 rows: row 1 (rater_id='EU-S01'), row 2 (...)")
    >>> print(pseudonymise_error(e, key="a-long-random-secret"))
    cal.csv: duplicate in 2 rows: row 1 (rater_id='R-2afb259e'), row 2 (...)
    >>> print(pseudonymise_error(e, key=""))  # no usable key
    cal.csv: duplicate in 2 rows: row 1 (rater_id=<withheld>), row 2 (...)
    """

    def replace(m: re.Match[str]) -> str:
        col = m.group(1)
        try:
            value = ast.literal_eval(m.group(2))
            pseudo = _pseudonymise(
                pd.DataFrame({col: [str(value).strip()]}), key=key, demo_ok=demo_ok
            )[col].iloc[0]
        except (ValueError, SyntaxError):
            return f"{col}=<withheld>"
        return f"{col}={pseudo!r}"

    problems = [_ID_IN_ERROR.sub(replace, p) for p in exc.problems]
    return DataError(_ID_IN_ERROR.sub(replace, str(exc.source)), problems)


def load_report_data(
    data: str | Path,
    scorecard: str | Path | Scorecard,
    *,
    region: str | None,
    period: str,
    history_months: int | None = None,
    pseudonymise: bool = True,
    tables: Sequence[Table] = TABLES,
    key: str | None = None,
    timezone: str | None = None,
    disputes: bool = True,
) -> ReportData:
    """Load a report's tables for one region (or all, ``region=None``) and window.

    Parameters
    ----------
    data : str or Path
        DuckDB file, folder with ``evaluations/calibration/tickets.parquet``, or a
        database URL (``duckdb:///path``, ``postgresql://...``; see
        :mod:`qa_analysis.sources`), in which case the region and window filters
        run in the database. A folder that has evaluations but no ``tickets``
        (or no ``calibration``) file, as ``qa-reports import`` writes from a
        QA-platform export, loads that table empty and says so in ``notes``
        (:data:`MISSING_TABLE_NOTES`).
    scorecard : str, Path or Scorecard
        Scorecard (or its YAML path); every loaded score is validated against it.
    region : str or None
        Region code; None loads every region.
    period, history_months
        Report month and history (see :func:`report_window`); ``history_months``
        None takes ``params/defaults.yaml``.
    pseudonymise : bool
        Replace ``agent_id``, ``reviewer_id`` and ``rater_id`` right after
        loading with :func:`qa_analysis.privacy.pseudonymise` (keyed HMAC), so
        that no raw id reaches a table, figure, KPI file or CSV.
    tables : sequence of str
        Which of ``evaluations``, ``calibration``, ``tickets`` to load.
    timezone : str, optional
        The business time zone in which months and weeks are cut (default:
        ``timezone`` in ``params/defaults.yaml``, UTC); passed to every loader.
    key : str, optional
        Pseudonymisation key (default: ``$QA_PSEUDONYM_KEY``). Without either,
        only the bundled demo data (:func:`is_demo_data`) may use the public
        demo key; other data raise an error asking for the variable.
    disputes : bool
        With evaluations loaded, also load the optional ``disputes`` table
        (``disputes.parquet``/``.csv`` in a folder, a ``disputes`` table in a
        DuckDB file; database URLs are not searched) for the loaded
        evaluations, opened by the end of the month, and score with the final
        scores (see :class:`ReportData`). A source without the table loads
        exactly as before.

    Returns
    -------
    ReportData

    Raises
    ------
    qa_analysis.errors.DataError
        When a source is missing or invalid (naming file, column and rows);
        with ``pseudonymise`` on, the person ids it names are pseudonymised too
        (:func:`pseudonymise_error`), so the error can go into shared outputs.
    ValueError
        When ids are to be pseudonymised, the data are not the demo set and
        no key is given or set in ``QA_PSEUDONYM_KEY``; or for an unknown table.
    """
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"tables: unknown table(s) {unknown}; choose from {list(TABLES)}")
    if history_months is None:
        history_months = int(settings.defaults()["history_months"])
    sc = (
        scorecard
        if isinstance(scorecard, Scorecard)
        else Scorecard.from_yaml(resolve_path(scorecard))
    )
    win = report_window(period, history_months)
    tz = str(settings.defaults().get("timezone", "UTC")) if timezone is None else timezone
    # a database URL: filters run in the engine (qa_analysis.sources, the "warehouse" extra)
    database = _open_database(data)
    # the public demo key only for the demo's content (hashing its files costs a little)
    demo_data = database is None and is_demo_data(data)
    demo_ok = demo_data and pseudonymise and key is None and not os.environ.get(PSEUDONYM_ENV)
    frames: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for t in TABLES:
        if t not in tables:
            frames[t] = pd.DataFrame()
            continue
        start = win.start if t == "tickets" else win.history_start
        if database is None and _absent_from_export(data, t):
            # a platform export (qa-reports import) has evaluations but no ticket
            # population and often no calibration: an empty table, said in words
            frames[t] = _empty_table(t)
            notes.append(MISSING_TABLE_NOTES[t])
            continue
        source = data_source(data, t)
        try:
            if database is not None:
                df = database.load(t, region=region, start=start, end=win.end, scorecard=sc)
            elif t == "tickets":
                df = io.load_tickets(source, region=region, start=start, end=win.end, timezone=tz)
            else:
                load = io.load_evaluations if t == "evaluations" else io.load_calibration
                df = load(
                    source,
                    scorecard=sc,
                    region=region,
                    start=start,
                    end=win.end,
                    timezone=tz,
                )
        except DataError as exc:
            if not pseudonymise:
                raise
            raise pseudonymise_error(exc, key=key, demo_ok=demo_ok) from None
        # one canonical row order (the table's key), whatever the storage order, so the
        # same data give the same report from a file, a folder or a database
        df = df.sort_values(list(io.SCHEMAS[t].key), kind="stable", ignore_index=True)
        if pseudonymise:
            df = _pseudonymise(df, key=key, demo_ok=demo_ok)
        if "note" in df.attrs:
            notes.append(df.attrs["note"])
        frames[t] = df
    if database is not None:
        database.close()
    dispute_table = pd.DataFrame()
    if disputes and database is None and "evaluations" in tables:
        dispute_table, frames["evaluations"] = _load_disputes(data, frames["evaluations"], win)
    return ReportData(
        scorecard=sc,
        window=win,
        region=region,
        evaluations=frames["evaluations"],
        calibration=frames["calibration"],
        tickets=frames["tickets"],
        pseudonymised=bool(pseudonymise),
        notes=tuple(notes),
        pseudonym_key=_key_source(key) if pseudonymise else None,
        demo_data=demo_data,
        disputes=dispute_table,
    )


#: What a report says when a data folder has evaluations but not this table.
MISSING_TABLE_NOTES: dict[str, str] = {
    "tickets": (
        "no tickets table: figures are averages over audits, coverage and the audit plan "
        "are skipped"
    ),
    "calibration": "no calibration table: the calibration analyses are skipped",
}


def _absent_from_export(data: str | Path, table: str) -> bool:
    """True when ``data`` is a folder with evaluations but no file for ``table``.

    That is what ``qa-reports import`` writes from a QA-platform export: the
    evaluations (and calibration when the platform has it), never a ticket
    population. Only ``tickets`` and ``calibration`` may be absent; a folder
    without evaluations still fails in the loader, naming the missing file.
    """
    if table not in MISSING_TABLE_NOTES:
        return False
    path = resolve_path(data)
    if not path.is_dir():
        return False
    return (
        Path(data_source(path, "evaluations")).is_file()
        and not Path(data_source(path, table)).is_file()
    )


def _empty_table(table: str) -> pd.DataFrame:
    """An empty ``table`` with its canonical columns and the loaders' dtypes."""
    schema = io.SCHEMAS[table]
    cols: dict[str, pd.Series] = {c: pd.Series(dtype="str") for c in schema.ids}
    cols |= {c: pd.Series(dtype="datetime64[ns]") for c in schema.dates}
    cols |= {c: pd.Series(dtype=np.float64) for c in schema.numbers}
    return pd.DataFrame(cols)


def _disputes_source(data: str | Path) -> str | None:
    """Where the optional disputes table is (None: the source has none)."""
    path = resolve_path(data)
    if path.is_dir():
        found = [path / f"disputes{ext}" for ext in (".parquet", ".csv")]
        return next((str(f) for f in found if f.exists()), None)
    if path.suffix.lower() in (".duckdb", ".db") and path.exists():
        import duckdb

        with duckdb.connect(str(path), read_only=True) as con:
            n = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'disputes'"
            ).fetchone()
        return str(path) if n and n[0] else None
    return None


def _load_disputes(
    data: str | Path, evaluations: pd.DataFrame, win: Window
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The disputes of ``evaluations`` opened by the window's end, and the final-score evaluations."""
    src = _disputes_source(data)
    if src is None or len(evaluations) == 0:
        return pd.DataFrame(), evaluations
    raw = io.load_disputes(src, start=win.history_start, end=win.end)
    raw = raw.loc[raw["evaluation_id"].isin(evaluations["evaluation_id"])]
    table = io.load_disputes(raw.reset_index(drop=True), evaluations=evaluations)
    table = table.sort_values("dispute_id", kind="stable", ignore_index=True)
    final = apply_disputes(evaluations, table).assign(original_score=evaluations["score"])
    return table, final


def _key_source(key: str | None) -> str:
    """Which key :func:`qa_analysis.privacy.pseudonymise` used (it raised if none was allowed)."""
    if key is not None:
        return "key argument"
    return pseudonym_key_source()
