"""Loaders, schemas and validation for the three input tables, plus atomic writers.

Every loader takes a ``source``:

* a pandas DataFrame (never modified; a validated copy is returned);
* a CSV file, a Parquet file, or a glob of either (``exports/2026-*.parquet``;
  a path that exists is read as it is, so ``export [EU].csv`` is a file name);
* a DuckDB database file (``.duckdb`` / ``.db``) with ``table=`` naming the
  table (default: ``evaluations``, ``calibration`` or ``tickets``).

``region=``, ``start=`` and ``end=`` filters are pushed down into the DuckDB
query for Parquet and DuckDB sources (row groups and zone maps outside the
slice are skipped, not loaded then filtered). CSV files are parsed whole by
pandas so that errors can name the file's line numbers; the filters are
applied after validation.

Validation raises :class:`DataError` (a ``ValueError``) naming the source, the
column, the problem, how many rows are affected and the first offending rows,
in the package's one row format (:mod:`qa_analysis.errors`): ``line N`` for
CSV files, counting the header as line 1; ``row N`` for Parquet files (0-based
position in the file) and DuckDB tables (``rowid``); for a DataFrame, ``row L``
where L is the index label, so ``df.loc[L]`` shows it. Invalid
``start``/``end`` arguments raise ``ValueError`` naming the argument; a
``source`` that is neither a DataFrame nor a path raises ``TypeError``.

Not applicable
--------------
A score cell that is empty or one of :data:`NA_TEXTS` (``N/A``, ``NA``,
``n/a``, ``na``, ``-``) means *not applicable*, in every loader and in
:func:`from_wide` alike.

Time zones
----------
Dates are read in one *business time zone*, the loaders' ``timezone=``
(default ``"UTC"``): a timestamp with a UTC offset or zone (``2026-11-01T08:00+11:00``,
a Parquet/DuckDB ``TIMESTAMP WITH TIME ZONE``) is converted to it; a timestamp
without one is taken as wall-clock time there already. The returned dates
are naive wall-clock times in the business zone, and ``start``/``end`` and
month boundaries are in that zone, the same way for every source format. So
Sydney's 1 Nov 08:00 (+11:00) is 31 Oct 21:00 in UTC (October) and 1 Nov in
``timezone="Australia/Sydney"`` (November). A column may mix offsets.

The loaders return a plain DataFrame (nothing in ``DataFrame.attrs``): the
caller knows the source and filters it passed, and a filter that leaves no
rows gives an empty table with the canonical columns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob as _glob
import json
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_analysis._checks import require_frame as _require_frame
from qa_analysis._checks import short as _short
from qa_analysis.errors import DataError
from qa_analysis.escaping import neutralise_formulas as _neutralise_formulas
from qa_analysis.scorecard import Scorecard

__all__ = [
    "KPI_FILES",
    "NA_TEXTS",
    "OPTIONAL_KPI_FILES",
    "REGION_KPI_FILE",
    "SCHEMAS",
    "WIDE_MAPPING_KEYS",
    "DataError",
    "WideMapping",
    "from_wide",
    "load_calibration",
    "load_evaluations",
    "load_query",
    "load_tickets",
    "read_kpis",
    "read_wide_mapping",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_kpis",
    "write_parquet_atomic",
    "write_text_atomic",
]

MAX_ROWS_SHOWN = 5
# Provenance of each row (its line/row number and file) travels beside the table as
# arrays, never as a column the user's data could also have. Where DuckDB must return
# it as a column, the name is made unique against the source's own columns.
_ROW = "__qa_row"
_FILE = "__qa_file"


def _unique_name(base: str, taken: Iterable[Any]) -> str:
    """``base`` with underscores appended until it is not among ``taken``."""
    names = {str(c) for c in taken}
    while base in names:
        base += "_"
    return base


@dataclass(frozen=True)
class _Provenance:
    """Where each row came from: ``word`` ("line", "row", "position") N, and its file."""

    word: str
    rows: np.ndarray
    files: np.ndarray | None = None

    def take(self, mask: np.ndarray) -> _Provenance:
        files = None if self.files is None else self.files[mask]
        return _Provenance(self.word, self.rows[mask], files)


@dataclass(frozen=True)
class Schema:
    """Canonical columns of one input table (see "Your own data" in the README)."""

    name: str
    ids: tuple[str, ...]  # required, non-empty text columns
    dates: tuple[str, ...]  # required, parseable dates
    numbers: tuple[str, ...]  # required numeric columns (empty allowed = N/A)
    optional_numbers: tuple[str, ...]
    key: tuple[str, ...]  # must be unique
    date_filter: str  # column start=/end= apply to
    nullable_dates: tuple[str, ...] = ()  # required columns of dates that may be empty

    @property
    def required(self) -> tuple[str, ...]:
        return self.ids + self.dates + self.numbers + self.nullable_dates


SCHEMAS: dict[str, Schema] = {
    "evaluations": Schema(
        name="evaluations",
        ids=(
            "evaluation_id",
            "ticket_id",
            "agent_id",
            "reviewer_id",
            "region",
            "market",
            "channel",
            "queue",
            "criterion",
        ),
        dates=("evaluated_at",),
        numbers=("score",),
        optional_numbers=("csat",),
        key=("evaluation_id", "criterion"),
        date_filter="evaluated_at",
    ),
    "calibration": Schema(
        name="calibration",
        ids=("session_id", "region", "ticket_id", "rater_id", "role", "criterion"),
        dates=("session_date",),
        numbers=("score",),
        optional_numbers=(),
        key=("session_id", "ticket_id", "rater_id", "criterion"),
        date_filter="session_date",
    ),
    "tickets": Schema(
        name="tickets",
        ids=("ticket_id", "agent_id", "region", "market", "channel", "queue"),
        dates=("created_at",),
        numbers=(),
        optional_numbers=("csat", "handle_time_min"),
        key=("ticket_id",),
        date_filter="created_at",
    ),
    "disputes": Schema(
        name="disputes",
        ids=("dispute_id", "evaluation_id", "status", "opened_by"),
        dates=("opened_at",),
        numbers=("original_score", "final_score"),
        optional_numbers=(),
        key=("dispute_id",),
        date_filter="opened_at",
        nullable_dates=("resolved_at",),
    ),
}

#: Dispute statuses (``open`` until resolved; ``partially_accepted`` changes the score
#: less than asked).
DISPUTE_STATUSES = ("open", "accepted", "rejected", "partially_accepted")

ROLES = ("specialist", "expert")

#: Cell texts that mean "not applicable" (no score), in the loaders and in
#: :func:`from_wide` alike; compared after stripping spaces.
NA_TEXTS: tuple[str, ...] = ("", "N/A", "NA", "n/a", "na", "-")

#: The three input tables.
TableKind = Literal["evaluations", "calibration", "tickets", "disputes"]


# ---------------------------------------------------------------------------
# public loaders
# ---------------------------------------------------------------------------
def load_evaluations(
    source: Any,
    *,
    table: str | None = None,
    scorecard: Scorecard | str | Path | None = None,
    region: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Load and validate production evaluations (one row per evaluation x criterion).

    Parameters
    ----------
    source
        DataFrame, CSV/Parquet path or glob, or DuckDB database file.
    table
        Table name when ``source`` is a DuckDB file (default ``"evaluations"``).
    scorecard
        A :class:`~qa_analysis.scorecard.Scorecard` (or a YAML path). When given,
        every criterion must be on it, every score on its criterion's scale, and
        an empty score (not applicable) only on criteria with ``na_allowed``.
    region, start, end
        Keep one region (or a list), and evaluations from ``start`` to ``end``
        inclusive (dates; ``end`` covers its whole day).
    timezone
        The business time zone (IANA name, default ``"UTC"``) in which dates
        and month boundaries are read; see the module notes on time zones.

    Returns
    -------
    DataFrame
        Canonical columns with ``evaluated_at`` as datetime64 and ``score``
        (and ``csat``) as float64; extra columns are kept. Filters that match
        nothing give an empty table (no error).

    Notes
    -----
    An evaluation is one agent's review of one ticket in one region: rows of
    one ``evaluation_id`` that disagree on ``agent_id``, ``ticket_id`` or
    ``region`` are a :class:`DataError`. Rows that disagree on the time (an
    evaluation saved across midnight) all take the evaluation's *first*
    timestamp, and the ``start``/``end`` filter keeps or drops whole
    evaluations by it, so a month never holds half an evaluation.

    Raises
    ------
    DataError
        Naming the source, column, problem and the first offending rows.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"evaluation_id": ["e1", "e1"], "ticket_id": "t1", "agent_id": "a1",
    ...     "reviewer_id": "r1", "region": "EU", "market": "DE", "channel": "chat",
    ...     "queue": "billing", "evaluated_at": "2026-10-05", "criterion": ["greeting", "tone"],
    ...     "score": [1, 4]})
    >>> load_evaluations(raw)["score"].tolist()
    [1.0, 4.0]
    """
    return _load("evaluations", source, table, scorecard, region, start, end, timezone)


def load_calibration(
    source: Any,
    *,
    table: str | None = None,
    scorecard: Scorecard | str | Path | None = None,
    region: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Load and validate calibration ratings (session x ticket x rater x criterion).

    Parameters
    ----------
    source
        DataFrame, CSV/Parquet path or glob, or DuckDB database file.
    table
        Table name when ``source`` is a DuckDB file (default ``"calibration"``).
    scorecard
        When given, every criterion must be on it and every score on its scale.
    region, start, end
        Keep one region (or a list) and sessions from ``start`` to ``end``
        inclusive (on ``session_date``).
    timezone
        The business time zone (default ``"UTC"``), as in :func:`load_evaluations`.

    Returns
    -------
    DataFrame
        Canonical columns, ``session_date`` as datetime64, ``score`` float64;
        ``role`` is ``specialist`` or ``expert``. An empty score is a missing
        rating, kept (the reliability functions count and skip it).

    Raises
    ------
    DataError
        As :func:`load_evaluations`; also a role other than specialist/expert
        and a duplicate (session, ticket, rater, criterion).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"session_id": "s1", "session_date": "2026-10-05", "region": "EU",
    ...     "ticket_id": "t1", "rater_id": ["r1", "r2"], "role": ["specialist", "expert"],
    ...     "criterion": "tone", "score": [4, 5]})
    >>> len(load_calibration(raw))
    2
    """
    return _load("calibration", source, table, scorecard, region, start, end, timezone)


def load_tickets(
    source: Any,
    *,
    table: str | None = None,
    region: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Load and validate a ticket population (one row per ticket) for audit sampling.

    Parameters
    ----------
    source
        DataFrame, CSV/Parquet path or glob, or DuckDB database file.
    table
        Table name when ``source`` is a DuckDB file (default ``"tickets"``).
    region, start, end
        Keep one region (or a list) and tickets created from ``start`` to
        ``end`` inclusive.
    timezone
        The business time zone (default ``"UTC"``), as in :func:`load_evaluations`.

    Returns
    -------
    DataFrame
        Canonical columns with ``created_at`` as datetime64; optional ``csat``
        (1-5) and ``handle_time_min`` as float64; extra columns (usable as
        strata or risk measures) are kept.

    Raises
    ------
    DataError
        As :func:`load_evaluations`; ``ticket_id`` must be unique.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"ticket_id": ["t1", "t2"], "agent_id": "a1", "region": "EU",
    ...     "market": "DE", "channel": "chat", "queue": "billing",
    ...     "created_at": ["2026-10-01", "2026-10-02"]})
    >>> load_tickets(raw)["created_at"].dt.day.tolist()
    [1, 2]
    """
    return _load("tickets", source, table, None, region, start, end, timezone)


def load_disputes(
    source: Any,
    *,
    evaluations: pd.DataFrame | None = None,
    table: str | None = None,
    start: Any = None,
    end: Any = None,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Load and validate disputes (appeals) of evaluation scores.

    Parameters
    ----------
    source
        DataFrame, CSV/Parquet path or glob, or DuckDB database file.
    evaluations : DataFrame, optional
        The evaluations the disputes refer to (long table, as
        :func:`load_evaluations` returns). When given, every dispute's
        ``evaluation_id`` must be in it and every dispute's ``criterion`` (when
        filled) must be scored on that evaluation.
    table
        Table name when ``source`` is a DuckDB file (default ``"disputes"``).
    start, end
        Keep disputes opened from ``start`` to ``end`` inclusive.
    timezone
        The business time zone, as in :func:`load_evaluations`.

    Returns
    -------
    DataFrame
        Columns ``dispute_id, evaluation_id, criterion, opened_at, resolved_at,
        status, original_score, final_score, opened_by`` (plus extra columns):
        one row per disputed criterion, or per evaluation when ``criterion`` is
        empty (None); dates as datetime64 (``resolved_at`` NaT while open),
        scores float64, ``status`` lower-case.

    Notes
    -----
    ``status`` is one of ``open``, ``accepted``, ``rejected`` and
    ``partially_accepted``. A :class:`DataError` lists every problem: a
    duplicate ``dispute_id``, an unknown status, an open dispute with a
    ``resolved_at`` or a resolved one without, a resolution before the opening,
    a rejected dispute whose ``final_score`` differs from ``original_score``,
    an accepted one without ``final_score``, and disputes of evaluations (or
    criteria) that are not in ``evaluations``.

    Raises
    ------
    DataError
        Naming the source, column, problem and the first offending rows.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"dispute_id": ["d1", "d2"], "evaluation_id": ["e1", "e2"],
    ...     "criterion": ["tone", None], "opened_at": "2026-10-05",
    ...     "resolved_at": ["2026-10-07", None], "status": ["Accepted", "open"],
    ...     "original_score": [2, 60], "final_score": [4, None], "opened_by": "agent"})
    >>> load_disputes(raw)[["dispute_id", "status", "final_score"]]
      dispute_id    status  final_score
    0         d1  accepted          4.0
    1         d2      open          NaN
    """
    df = _load("disputes", source, table, None, None, start, end, timezone)
    if evaluations is not None:
        _require_frame(evaluations, "evaluations")
        missing_cols = [c for c in ("evaluation_id", "criterion") if c not in evaluations.columns]
        if missing_cols:
            raise DataError("evaluations", _missing_msg(missing_cols, list(evaluations.columns)))
        ev_ids = evaluations["evaluation_id"].astype("str")
        unknown = ~df["evaluation_id"].isin(ev_ids).to_numpy()
        problems = []
        if unknown.any():
            shown = ", ".join(df["dispute_id"].to_numpy()[unknown][:MAX_ROWS_SHOWN].tolist())
            problems.append(
                f"column 'evaluation_id': {int(unknown.sum())} dispute(s) of evaluations that "
                f"are not in the evaluations given (dispute_id {shown})"
            )
        has_crit = df["criterion"].notna().to_numpy() & ~unknown
        if has_crit.any():
            pairs = pd.MultiIndex.from_arrays([ev_ids, evaluations["criterion"].astype("str")])
            asked = pd.MultiIndex.from_arrays([df["evaluation_id"], df["criterion"].astype("str")])
            off = has_crit & ~asked.isin(pairs)
            if off.any():
                shown = ", ".join(df["dispute_id"].to_numpy()[off][:MAX_ROWS_SHOWN].tolist())
                problems.append(
                    f"column 'criterion': {int(off.sum())} dispute(s) of a criterion the "
                    f"evaluation did not score (dispute_id {shown})"
                )
        if problems:
            raise DataError(
                str(source) if not isinstance(source, pd.DataFrame) else "<DataFrame>", problems
            )
    return df


def load_query(
    kind: TableKind,
    source: str | Path,
    *,
    table: str | None = None,
    region: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    timezone: str = "UTC",
) -> tuple[str, list[Any]]:
    """The DuckDB SQL and parameters a loader runs for a Parquet or DuckDB source.

    Exposed so the pushdown can be inspected (``EXPLAIN ANALYZE``) and tested.
    For a DuckDB file, run it on ``duckdb.connect(source, read_only=True)``.

    Parameters
    ----------
    kind : {"evaluations", "calibration", "tickets"}
        Which table's schema and date column.
    source : str or Path
        A Parquet file or glob, or a DuckDB database file.
    table, region, start, end, timezone
        As in :func:`load_evaluations`.

    Returns
    -------
    sql : str
        The query, with ``?`` placeholders.
    params : list
        The values of the placeholders.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pd.DataFrame({"ticket_id": ["t1"], "region": ["EU"]}).to_parquet(path)
    >>> sql, params = load_query("tickets", str(path), region="EU")
    >>> "region IN (?)" in sql, params
    (True, ['EU'])
    """
    schema = SCHEMAS[kind]
    src = _Source.resolve(source, table or kind)
    if src.kind == "csv":
        raise DataError(src.label, "CSV sources are read by pandas, not DuckDB")
    with src.connect() as con:
        types = src.column_types(con)
        return src.query(schema, types, region, start, end, con=con, timezone=_zone(timezone))


# ---------------------------------------------------------------------------
# wide -> long
# ---------------------------------------------------------------------------
#: Keys of a wide-export mapping (the ``mapping.yaml`` file or dict).
WIDE_MAPPING_KEYS = (
    "columns",
    "values",
    "date_format",
    "dayfirst",
    "absent",
    "ignore",
    "constants",
    "scorecard",
)
# canonical column names an export column may be mapped to besides criteria
_ID_NAMES = tuple(
    dict.fromkeys(
        c
        for s in SCHEMAS.values()
        for c in (*s.ids, *s.dates, *s.optional_numbers)
        if c != "criterion"
    )
)
_DATE_NAMES = tuple(dict.fromkeys(d for s in SCHEMAS.values() for d in s.dates))
_QUOTE = " (in YAML, quote a header holding ' #' or ': ', e.g. \"Ticket #\": ticket_id)"


@dataclass(frozen=True)
class WideMapping:
    """How a wide export's columns and cells become the long table (``mapping.yaml``).

    Attributes
    ----------
    columns : dict
        ``{export column: name}``: a name is a criterion id of the scorecard or
        a column of the long table (``evaluation_id``, ``ticket_id``,
        ``agent_id``, ``reviewer_id``, ``evaluated_at``, ``csat``, ...). An
        export column already named so needs no entry.
    values : dict
        Text answers to scores, ``{"Yes": 1, "No": 0, "N/A": None}`` for every
        criterion, and/or ``{criterion: {text: score}}`` for one criterion
        (which overrides the common entries). ``None`` means not applicable.
        Texts are compared without surrounding spaces and case.
    date_format : str or None
        ``strftime`` format of the date columns, e.g. ``"%d/%m/%Y %H:%M"``.
    dayfirst : bool or None
        Read ``11/03/2026`` as 11 March (``True``) or 3 November (``False``);
        ``None`` (not stated) refuses dates that are not ISO 8601.
    absent : tuple of str
        Scorecard criteria the export does not carry (no rows for them).
    ignore : tuple of str
        Export columns deliberately left out.
    constants : dict
        Columns with one value for the whole export, e.g. ``{"region": "EU"}``.
    scorecard : Path or None
        Scorecard YAML named in the mapping file (relative to that file).
    source : str
        Where the mapping came from (named in errors).
    """

    columns: Mapping[str, str] = dataclasses.field(default_factory=dict)
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    date_format: str | None = None
    dayfirst: bool | None = None
    absent: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    constants: Mapping[str, str] = dataclasses.field(default_factory=dict)
    scorecard: Path | None = None
    source: str = "<mapping>"


def read_wide_mapping(path: str | Path) -> WideMapping:
    """Read a wide-export mapping from a YAML file.

    Parameters
    ----------
    path
        The YAML file, with any of the keys of :class:`WideMapping`::

            scorecard: scorecard.yaml      # relative to this file
            columns:
              "Ticket #": ticket_id        # quote a header holding " #"
              Reviewer Email: reviewer_id
              Greeting (0-4): greeting
            values: {Yes: 1, No: 0, N/A: null}
            dayfirst: true                 # or date_format: "%d/%m/%Y %H:%M"
            absent: [identity]
            ignore: [Comments]
            constants: {region: EU, market: DE, channel: chat, queue: billing}

    Returns
    -------
    WideMapping

    Raises
    ------
    DataError
        The file cannot be read, is not YAML, or holds an unknown key or a value
        of the wrong kind (naming the file and the key).

    Notes
    -----
    ``Yes``, ``No``, ``On`` and ``Off`` are read as text, not as YAML 1.1
    booleans, so ``values: {Yes: 1, No: 0}`` means what it says; only
    ``true``/``false`` are booleans.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "mapping.yaml"
    >>> _ = p.write_text('columns: {"Ticket #": ticket_id}\\nvalues: {Yes: 1, No: 0}\\n')
    >>> m = read_wide_mapping(p)
    >>> dict(m.columns), dict(m.values)
    ({'Ticket #': 'ticket_id'}, {'Yes': 1.0, 'No': 0.0})
    """
    import yaml

    path = Path(path)
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(label, f"cannot read the mapping ({exc.strerror or exc})") from None
    try:
        spec = yaml.load(text, Loader=_mapping_loader())
    except yaml.YAMLError as exc:
        raise DataError(label, f"not valid YAML ({_first_line(exc)}){_QUOTE}") from None
    return _wide_mapping(spec or {}, label, base=path.parent)


def _mapping_loader() -> type:
    """A YAML SafeLoader for which only true/false are booleans (``Yes``/``No`` stay text)."""
    import re

    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    bool_tag = "tag:yaml.org,2002:bool"
    _Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != bool_tag]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _Loader.add_implicit_resolver(
        bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return _Loader


def _wide_mapping(spec: Any, label: str, base: Path | None = None) -> WideMapping:
    """Check a mapping given as a dict (or read from YAML) and build a :class:`WideMapping`."""
    if isinstance(spec, WideMapping):
        return spec
    if not isinstance(spec, Mapping):
        raise DataError(label, f"a mapping must be a dict of {list(WIDE_MAPPING_KEYS)}")
    unknown = sorted(str(k) for k in spec if k not in WIDE_MAPPING_KEYS)
    if unknown:
        raise DataError(label, f"unknown key(s) {unknown}; allowed: {list(WIDE_MAPPING_KEYS)}")

    def text_dict(key: str) -> dict[str, str]:
        raw = spec.get(key) or {}
        if not isinstance(raw, Mapping):
            raise DataError(label, f"{key}: must be a mapping of column names to names{_QUOTE}")
        out = {str(k).strip(): v for k, v in raw.items()}
        bad = [k for k, v in out.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise DataError(
                label,
                f"{key}: the value of {bad[:5]} must be a non-empty name{_QUOTE}",
            )
        return {k: v.strip() for k, v in out.items()}

    def names(key: str) -> tuple[str, ...]:
        raw = spec.get(key) or []
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list | tuple):
            raise DataError(label, f"{key}: must be a list of names")
        return tuple(str(v).strip() for v in raw)

    date_format = spec.get("date_format")
    if date_format is not None and not isinstance(date_format, str):
        raise DataError(label, "date_format: must be a format text such as '%d/%m/%Y %H:%M'")
    dayfirst = spec.get("dayfirst")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise DataError(label, f"dayfirst: must be true or false, got {_show(dayfirst)}")
    sc = spec.get("scorecard")
    if sc is not None and not isinstance(sc, str | os.PathLike):
        raise DataError(label, "scorecard: must be the path of a scorecard YAML file")
    sc_path = None if sc is None else Path(sc)
    if sc_path is not None and base is not None and not sc_path.is_absolute():
        sc_path = base / sc_path
    return WideMapping(
        columns=text_dict("columns"),
        values=_value_spec(spec.get("values") or {}, label),
        date_format=date_format,
        dayfirst=dayfirst,
        absent=names("absent"),
        ignore=names("ignore"),
        constants=text_dict("constants"),
        scorecard=sc_path,
        source=label,
    )


def _value_spec(raw: Any, label: str) -> dict[str, Any]:
    """Check ``values``: ``{text: score or None}`` and/or ``{criterion: {text: score}}``."""
    if not isinstance(raw, Mapping):
        raise DataError(label, "values: must map answer texts to scores, e.g. {Yes: 1, No: 0}")

    def score(v: Any, where: str) -> float | None:
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise DataError(label, f"values: {where} must be a number or null (N/A), got {v!r}")
        return float(v)

    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = str(k).strip()
        if isinstance(v, Mapping):
            out[key] = {str(t).strip(): score(s, f"{key}.{t}") for t, s in v.items()}
        else:
            out[key] = score(v, repr(key))
    return out


def _read_wide(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read one wide export file as text cells, rows named by their CSV line."""
    p = Path(path)
    label = str(p)
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            df = pd.read_csv(
                p,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                sep="\t" if suffix == ".tsv" else ",",
            )
            df.index = pd.Index(_csv_record_lines(str(p), len(df)))
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif suffix in (".xlsx", ".xls"):
            df = pd.read_excel(p, dtype=str)  # needs openpyxl
            df.index = df.index + 2
        else:
            raise DataError(label, "not a CSV, TSV, Parquet or Excel file (by its extension)")
    except pd.errors.EmptyDataError:
        raise DataError(label, "empty file (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(label, f"not a readable file ({_first_line(exc)})") from None
    except ImportError as exc:
        raise DataError(label, f"cannot read this format here ({_first_line(exc)})") from None
    except OSError as exc:
        raise DataError(label, f"cannot read the file ({exc.strerror or exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def from_wide(
    df: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    id_columns: Sequence[str] | None = None,
    criteria: Sequence[str] | Mapping[str, str] | None = None,
    *,
    mapping: WideMapping | Mapping[str, Any] | str | Path | None = None,
    scorecard: Scorecard | str | Path | None = None,
    values: Mapping[str, Any] | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    absent: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    constants: Mapping[str, str] | None = None,
    criterion: str = "criterion",
    value: str = "score",
    na_values: Iterable[str] = NA_TEXTS,
) -> pd.DataFrame:
    """Turn a one-column-per-criterion export into the long table.

    Parameters
    ----------
    df
        The wide export, one row per evaluation (or per rater x ticket): a
        DataFrame, or a CSV/TSV/Parquet (or Excel, with openpyxl) file, or a
        list of such files with the same columns.
    id_columns
        Columns repeated on every long row, under their own names
        (``evaluation_id``, ``agent_id``, ...).
    criteria
        The criterion columns, or a mapping ``{export column: criterion id}``.
    mapping
        A :class:`WideMapping`, a dict with its keys, or the path of a
        ``mapping.yaml`` (:func:`read_wide_mapping`): renames of id and
        criterion columns, value texts, date format, absent criteria, ignored
        columns, constants and the scorecard. The keyword arguments below add
        to it (and win where both say something).
    scorecard
        The scorecard (object or YAML path). With it, every criterion must have
        a column unless listed in ``absent``, and every score must be on its
        criterion's scale.
    values
        Text answers to scores: ``{"Yes": 1, "No": 0, "N/A": None}`` for every
        criterion and/or ``{criterion: {text: score}}`` for one criterion.
    date_format, dayfirst
        How to read date columns (``evaluated_at``, ``session_date``,
        ``created_at``) that are not ISO 8601, e.g. ``dayfirst=True`` for
        ``11/03/2026 14:05`` = 11 March 2026. Without either such dates are refused.
    absent
        Scorecard criteria the export does not carry (no rows for them).
    ignore
        Export columns deliberately left out.
    constants
        Columns with one value for the whole export, e.g. ``{"region": "EU"}``.
    criterion, value
        Names of the long table's criterion and score columns.
    na_values
        Cell texts meaning "not applicable" (become NaN); default
        :data:`NA_TEXTS`, the loaders' rule.

    Returns
    -------
    DataFrame
        The id columns (in export order, then constants), ``criterion`` and
        ``score``; rows ordered by input row then criterion order. Date columns
        are datetime64 when they were parsed with ``date_format``/``dayfirst``.

    Raises
    ------
    DataError
        Naming the file (or ``<wide DataFrame>``): a scorecard criterion with
        no column (unless ``absent``); an export column that is neither an id,
        a criterion nor ignored (so no criterion is dropped silently); a
        missing or duplicate column; a cell that is no number, N/A or ``values``
        text (naming line and column); a score off its criterion's scale; a
        date that does not parse.
    TypeError
        ``df`` is neither a DataFrame nor a path.

    Notes
    -----
    Which export column is which is decided before any cell is read: a column
    maps to the name ``mapping``/``criteria`` give it, else to itself when
    its header is already a scorecard criterion id or a long-table column
    name. Cells are mapped through ``values`` first (per criterion, then the
    common entries), then N/A texts become NaN and the rest must be numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"evaluation_id": ["e1"], "Greeting": [1], "Tone": ["N/A"]})
    >>> from_wide(wide, ["evaluation_id"], {"Greeting": "greeting", "Tone": "tone"})
      evaluation_id criterion  score
    0            e1  greeting    1.0
    1            e1      tone    NaN

    A vendor-style export, read with a mapping:

    >>> export = pd.DataFrame({"Review": ["r1", "r2"], "Date": ["11/03/2026 14:05", "12/03/2026"],
    ...     "Greeting (Y/N)": ["Yes", "No"], "Notes": ["", "late"]})
    >>> long = from_wide(export, mapping={"columns": {"Review": "evaluation_id",
    ...     "Date": "evaluated_at", "Greeting (Y/N)": "greeting"}, "values": {"Yes": 1, "No": 0},
    ...     "dayfirst": True, "ignore": ["Notes"], "constants": {"region": "EU"}})
    >>> long[["evaluation_id", "evaluated_at", "region", "score"]]
      evaluation_id        evaluated_at region  score
    0            r1 2026-03-11 14:05:00     EU    1.0
    1            r2 2026-03-12 00:00:00     EU    0.0
    """
    if isinstance(mapping, str | os.PathLike):
        spec = read_wide_mapping(mapping)
    else:
        spec = _wide_mapping(mapping or {}, "<mapping>")
    sc = scorecard if scorecard is not None else spec.scorecard
    if isinstance(sc, str | os.PathLike):
        sc = Scorecard.from_yaml(sc)
    if isinstance(df, pd.DataFrame):
        frames = [("<wide DataFrame>", df)]
    elif isinstance(df, str | os.PathLike):
        frames = [(str(df), _read_wide(df))]
    elif isinstance(df, Sequence) and df and all(isinstance(p, str | os.PathLike) for p in df):
        frames = [(str(p), _read_wide(p)) for p in df]
    else:
        raise TypeError(
            f"df must be a pandas DataFrame or a path (str or Path), got {type(df).__name__}"
        )
    columns = dict(spec.columns)
    columns.update({c: c for c in id_columns or ()})
    if criteria is not None:
        columns.update(_crit_map(criteria))
    values_spec = {**spec.values, **_value_spec(values or {}, "values=")}  # noqa: PD011
    options = _WideOptions(
        columns=columns,
        value_map=values_spec,
        date_format=date_format if date_format is not None else spec.date_format,
        dayfirst=dayfirst if dayfirst is not None else spec.dayfirst,
        absent=tuple(absent if absent is not None else spec.absent),
        ignore=tuple(ignore if ignore is not None else spec.ignore),
        constants={**spec.constants, **dict(constants or {})},
        scorecard=sc,
        criterion=criterion,
        value=value,
        na=frozenset(na_values),
        criteria=None if criteria is None else frozenset(_crit_map(criteria).values()),
        extra_ids=frozenset(id_columns or ()),
        source=spec.source,
    )
    out = [_wide_to_long(frame, label, options) for label, frame in frames]
    return out[0] if len(out) == 1 else pd.concat(out, ignore_index=True)


@dataclass(frozen=True)
class _WideOptions:
    columns: dict[str, str]
    value_map: dict[str, Any]
    date_format: str | None
    dayfirst: bool | None
    absent: tuple[str, ...]
    ignore: tuple[str, ...]
    constants: dict[str, str]
    scorecard: Scorecard | None
    criterion: str
    value: str
    na: frozenset[str]
    criteria: frozenset[str] | None
    extra_ids: frozenset[str]
    source: str


def _wide_to_long(df: pd.DataFrame, label: str, o: _WideOptions) -> pd.DataFrame:
    """Melt one wide frame (``label`` names it in errors) under the options ``o``."""
    _require_frame(df, "df")
    if isinstance(df.columns, pd.MultiIndex):
        raise DataError(label, "the columns are a MultiIndex; flatten them first")
    sc = o.scorecard
    crit_ids = set(sc.ids) if sc is not None else set()
    # 1. which export column is which (decided before any cell is read)
    plan: dict[str, str] = {}
    for c in df.columns:
        name = o.columns.get(str(c))
        if name is None and (c in crit_ids or c in _ID_NAMES):
            name = str(c)
        if name is not None:
            plan[str(c)] = name
    missing = [c for c in o.columns if c not in df.columns]
    if missing:
        raise DataError(label, f"missing column(s) {missing}; found {list(map(str, df.columns))}")
    used = [*plan]
    dup = sorted({str(c) for c in df.columns[df.columns.duplicated()] if c in used})
    if dup:
        raise DataError(
            label,
            f"duplicate column name(s) {', '.join(repr(c) for c in dup)}: "
            "each id and criterion column must appear once",
        )
    targets = pd.Series(list(plan.values()), index=list(plan))
    twice = targets[targets.duplicated(keep=False)]
    if len(twice):
        pairs = "; ".join(f"{t!r} <- {list(twice.index[twice == t])}" for t in dict.fromkeys(twice))
        raise DataError(label, f"two export columns map to one name: {pairs}")
    if sc is not None:
        crit_targets = crit_ids
    elif o.criteria is not None:
        crit_targets = set(o.criteria)
    else:  # without a scorecard, mapped names that are no long-table column are criteria
        crit_targets = {n for n in o.columns.values() if n not in _ID_NAMES} - o.extra_ids
    if not crit_targets:
        raise DataError(
            label, "say which columns are criteria: pass criteria=, a mapping or a scorecard"
        )
    crit_cols = [c for c, n in plan.items() if n in crit_targets]
    strange = [
        f"{c!r} -> {n!r}"
        for c, n in plan.items()
        if sc is not None and n not in crit_ids and n not in _ID_NAMES and n not in o.extra_ids
    ]
    if strange:
        raise DataError(
            label,
            f"column(s) {', '.join(strange)} map to neither a criterion of {sc.source if sc else ''} "
            "nor a column of the long table (keep an extra column with id_columns=)",
        )
    id_cols = [c for c in plan if c not in crit_cols]
    # 2. nothing dropped silently
    ignored = set(o.ignore)
    unmapped = [str(c) for c in df.columns if str(c) not in plan and str(c) not in ignored]
    if unmapped:
        raise DataError(
            label,
            f"column(s) {unmapped} match no criterion and no id column: map them "
            "(columns: {export column: criterion or id}) or list them under ignore:"
            + (f" (criteria: {', '.join(sc.ids)})" if sc is not None else ""),
        )
    if sc is not None:
        absent = set(o.absent)
        unknown = sorted(absent - crit_ids)
        if unknown:
            raise DataError(o.source, f"absent: {unknown} are not criteria of {sc.source}")
        have = {plan[c] for c in crit_cols}
        both = sorted(absent & have)
        if both:
            raise DataError(label, f"criteria {both} are listed as absent but have a column")
        lost = [c for c in sc.ids if c not in have and c not in absent]
        if lost:
            raise DataError(
                label,
                f"no column for scorecard criteria {lost} ({sc.source}): map their column "
                "(columns: {export column: criterion}) or list them under absent:",
            )
    clash = sorted(set(o.constants) & set(plan.values()))
    if clash:
        raise DataError(label, f"constants {clash} are also export columns; keep one of them")
    if sc is not None:
        on_card = sorted(set(o.constants) & crit_ids)
        if on_card:
            raise DataError(label, f"constants {on_card} are criteria, not id columns")
    per_crit = {k: v for k, v in o.value_map.items() if isinstance(v, Mapping)}
    names_out = [plan[c] for c in crit_cols]
    stray = sorted(set(per_crit) - set(names_out) - set(o.absent))
    if stray:
        raise DataError(o.source, f"values: {stray} are not criterion columns of this export")
    # 3. cells -> scores
    common = {k: v for k, v in o.value_map.items() if not isinstance(v, Mapping)}
    block = df[crit_cols]
    raw_text = block.astype("string").apply(lambda col: col.str.strip())
    scores = np.full(block.shape, np.nan)
    bad = np.zeros(block.shape, dtype=bool)
    for j, col in enumerate(crit_cols):
        cid = plan[col]
        table = {k.casefold(): v for k, v in {**common, **per_crit.get(cid, {})}.items()}
        text = raw_text[col]
        folded = text.str.casefold()
        mapped = folded.isin(list(table)).fillna(False).to_numpy(dtype=bool)
        is_na = (text.isna() | text.isin(list(o.na))).to_numpy(dtype=bool) & ~mapped
        s = block[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            num = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            num = pd.to_numeric(text.mask(is_na | mapped), errors="coerce").to_numpy(dtype=float)
        if mapped.any():
            num[mapped] = folded[mapped].map(table).astype(float).to_numpy()
        num[is_na] = np.nan
        scores[:, j] = num
        bad[:, j] = np.isnan(num) & ~is_na & ~mapped | np.isinf(num)
    if bad.any():
        r, c = np.nonzero(bad)
        word = "line" if label != "<wide DataFrame>" and not label.endswith(".parquet") else "row"
        first = ", ".join(
            f"{word} {_show(df.index[i])} ({crit_cols[j]}={_show(block.iat[i, j])})"
            for i, j in zip(r[:MAX_ROWS_SHOWN], c[:MAX_ROWS_SHOWN], strict=True)
        )
        hint = " (map answer texts with values:)" if not o.value_map else ""
        raise DataError(
            label, f"{len(r)} criterion cells are not numbers or N/A{hint}; first: {first}"
        )
    if sc is not None:
        off = []
        for j, col in enumerate(crit_cols):
            crit = sc[plan[col]]
            v = scores[:, j]
            out_of = ~np.isnan(v) & ~np.isin(v, np.asarray(crit.scale, dtype=float))
            if out_of.any():
                i = np.flatnonzero(out_of)
                shown = ", ".join(_show(block.iat[k, j]) for k in i[:MAX_ROWS_SHOWN])
                off.append(
                    f"column {col!r} ({crit.id}): {len(i)} score(s) off the scale "
                    f"{', '.join(f'{x:g}' for x in crit.scale)}: {shown}"
                )
        if off:
            raise DataError(label, off)
    # 4. the long table
    n, k = len(df), len(crit_cols)
    out = pd.DataFrame({plan[c]: np.repeat(df[c].to_numpy(), k) for c in id_cols})
    for name in [plan[c] for c in id_cols if plan[c] in _DATE_NAMES]:
        out[name] = np.repeat(_wide_dates(df[_key(plan, name)], label, name, o).to_numpy(), k)
    for name, const in o.constants.items():
        out[name] = const
    out[o.criterion] = np.tile(np.array(names_out, dtype=object), n)
    out[o.value] = scores.reshape(-1)
    return out


def _crit_map(criteria: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    return dict(criteria) if isinstance(criteria, Mapping) else {c: c for c in criteria}


def _key(plan: Mapping[str, str], name: str) -> str:
    return next(c for c, n in plan.items() if n == name)


def _wide_dates(s: pd.Series, label: str, name: str, o: _WideOptions) -> pd.Series:
    """Parse one date column of a wide export (ISO 8601 text is left to the loaders)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    text = s.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
    if o.date_format is None and o.dayfirst is None:
        iso = pd.to_datetime(text, errors="coerce", format="ISO8601")
        bad = iso.isna().to_numpy(dtype=bool) & ~empty
        if bad.any():
            raise DataError(
                label,
                f"column {_key_for(o, name)!r} ({name}): {int(bad.sum())} dates are not ISO 8601, "
                f"e.g. {_show(text[bad].iloc[0])}; say how to read them with dayfirst: true "
                "(11/03/2026 = 11 March) or false, or date_format: '%d/%m/%Y %H:%M'",
            )
        return s
    utc = o.date_format is not None and "%z" in o.date_format
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas' "could not infer format"
        if o.date_format is not None:
            parsed = pd.to_datetime(text, format=o.date_format, errors="coerce", utc=utc)
        else:
            parsed = pd.to_datetime(text, dayfirst=bool(o.dayfirst), errors="coerce")
            retry = parsed.isna().to_numpy(dtype=bool) & ~empty
            if retry.any():  # rows with another layout (a date without time, say)
                again = pd.to_datetime(
                    text[retry], dayfirst=bool(o.dayfirst), errors="coerce", format="mixed"
                )
                parsed = parsed.astype(again.dtype) if len(again) else parsed
                parsed[retry] = again
    bad = parsed.isna().to_numpy(dtype=bool) & ~empty
    if bad.any():
        how = f"date_format {o.date_format!r}" if o.date_format else f"dayfirst={o.dayfirst}"
        first = ", ".join(
            f"{_show(i)} ({_show(v)})" for i, v in text[bad].head(MAX_ROWS_SHOWN).items()
        )
        raise DataError(
            label,
            f"column {_key_for(o, name)!r} ({name}): {int(bad.sum())} dates do not parse with "
            f"{how}; first: {first}",
        )
    if utc:
        return parsed.dt.tz_convert("UTC")
    return parsed


def _key_for(o: _WideOptions, name: str) -> str:
    return next((c for c, n in o.columns.items() if n == name), name)


# ---------------------------------------------------------------------------
# atomic writers
# ---------------------------------------------------------------------------
def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes_atomic(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` atomically.

    The bytes go to a temporary file in the same folder, which is then renamed
    over ``path``, so a reader never sees a half-written file.

    Parameters
    ----------
    data : bytes
        The content.
    path : str or Path
        The file to write; its folder is created if needed.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_bytes_atomic(b"hello", pathlib.Path(tempfile.mkdtemp()) / "a.txt")
    >>> p.read_bytes()
    b'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(text: str, path: str | Path) -> Path:
    """Atomic text write (UTF-8); see :func:`write_bytes_atomic`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> write_text_atomic("é", pathlib.Path(tempfile.mkdtemp()) / "a.txt").read_text("utf-8")
    'é'
    """
    return write_bytes_atomic(text.encode("utf-8"), path)


def write_csv_atomic(
    df: pd.DataFrame, path: str | Path, *, neutralise_formulas: bool = True, **to_csv: Any
) -> Path:
    """Atomic CSV write (no index by default); see :func:`write_bytes_atomic`.

    With ``neutralise_formulas`` (the default: these files are opened in
    spreadsheets) every text cell starting with ``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return gets a leading ``'``, so a spreadsheet shows it as
    text instead of evaluating it (OWASP's advice on CSV injection; see
    :func:`qa_analysis.escaping.neutralise_formulas`). Numbers, including
    negative ones, are written as numbers.
    """
    if neutralise_formulas:
        df = _neutralise_formulas(df)
    to_csv.setdefault("index", False)
    return write_text_atomic(df.to_csv(**to_csv), path)


def write_parquet_atomic(df: pd.DataFrame, path: str | Path, **to_parquet: Any) -> Path:
    """Atomic Parquet write; see :func:`write_bytes_atomic`.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.parquet"
    >>> pd.read_parquet(write_parquet_atomic(pd.DataFrame({"a": [1]}), path))["a"].tolist()
    [1]
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        to_parquet.setdefault("index", False)
        df.to_parquet(tmp, **to_parquet)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ---------------------------------------------------------------------------
# internals
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    kind: str  # csv | parquet | duckdb
    paths: tuple[str, ...]
    label: str
    table: str

    @classmethod
    def resolve(cls, source: str | os.PathLike[str], table: str) -> _Source:
        text = str(source)
        label = text
        # an existing file is taken literally even if its name has glob characters
        # ("export [EU].csv"); only a path that does not exist is expanded as a pattern
        if any(ch in text for ch in "*?[") and not Path(text).exists():
            paths = tuple(sorted(_glob.glob(text)))
            if not paths:
                raise DataError(label, "no files match this pattern")
        else:
            p = Path(text)
            if not p.exists():
                raise DataError(label, "file not found")
            if p.is_dir():
                raise DataError(
                    label,
                    f"is a folder; pass a file, a glob such as '{p}/*.parquet', or a DuckDB file",
                )
            paths = (text,)
        suffixes = {Path(p).suffix.lower() for p in paths}
        if len(suffixes) > 1:
            raise DataError(
                label, f"mixed file types {sorted(suffixes)}; use one format per source"
            )
        suffix = suffixes.pop()
        kinds = {
            ".csv": "csv",
            ".parquet": "parquet",
            ".pq": "parquet",
            ".duckdb": "duckdb",
            ".db": "duckdb",
        }
        if suffix not in kinds:
            raise DataError(
                label,
                f"unsupported file type '{suffix or '(none)'}'; "
                "use CSV (.csv), Parquet (.parquet) or a DuckDB database (.duckdb, .db)",
            )
        kind = kinds[suffix]
        if kind == "duckdb" and len(paths) > 1:
            raise DataError(
                label, "a glob of DuckDB files is not supported; pass one database file"
            )
        for f in paths:
            if os.path.getsize(f) == 0:
                raise DataError(f, "empty file (0 bytes)")
        if kind == "duckdb":
            label = f"{text} (table {table})"
        return cls(kind=kind, paths=paths, label=label, table=table)

    def connect(self):
        import duckdb

        if self.kind == "duckdb":
            try:
                return duckdb.connect(self.paths[0], read_only=True)
            except duckdb.Error as exc:
                raise DataError(
                    self.paths[0], f"not a readable DuckDB database ({_first_line(exc)})"
                ) from None
        return duckdb.connect()

    def relation_sql(self, file_col: str | None = None, row_number: bool = False) -> str:
        """The table, or ``read_parquet`` (with a file-name column and row numbers if asked)."""
        if self.kind == "duckdb":
            return _quote_ident(self.table)
        files = "[" + ", ".join(_quote_str(p) for p in self.paths) + "]"
        opts = ""
        if file_col is not None:
            opts += f", filename={_quote_str(file_col)}"
        if row_number:
            opts += ", file_row_number=true"
        return f"read_parquet({files}{opts}, union_by_name=true)"

    def is_view(self, con) -> bool:
        """Whether the DuckDB table is a view (a view has no ``rowid``)."""
        rows = con.execute(
            "select table_type from information_schema.tables where table_name = ?", [self.table]
        ).fetchall()
        return bool(rows) and str(rows[0][0]).upper() == "VIEW"

    def column_types(self, con) -> dict[str, str]:
        import duckdb

        if self.kind == "duckdb":
            tables = {
                r[0]
                for r in con.execute("select table_name from information_schema.tables").fetchall()
            }
            if self.table not in tables:
                raise DataError(self.paths[0], f"no table {self.table!r}; tables: {sorted(tables)}")
        try:
            rows = con.execute(f"DESCRIBE SELECT * FROM {self.relation_sql()}").fetchall()
        except duckdb.Error as exc:
            raise DataError(
                self.label, f"cannot read as {self.kind} ({_first_line(exc)})"
            ) from None
        return {r[0]: str(r[1]).upper() for r in rows}

    def query(
        self,
        schema: Schema,
        types: Mapping[str, str],
        region,
        start,
        end,
        con=None,
        timezone: str = "UTC",
    ) -> tuple[str, list[Any]]:
        """SQL and parameters: the filters pushed down, plus the provenance columns.

        Dates are compared in the business ``timezone``; where the column holds
        text (which may carry UTC offsets) or zoned timestamps, the pushed-down
        window is one day wider on each side and the loader filters exactly
        after parsing. The row number comes back as column
        ``_unique_name(_ROW, types)`` and, for
        Parquet, the file as ``_unique_name(_FILE, types)``. Parquet files that
        have a column named ``file_row_number`` themselves, and DuckDB views
        (which have no ``rowid``), are numbered by scan order instead.
        """
        row_col = _unique_name(_ROW, types)
        file_col = _unique_name(_FILE, [*types, row_col])
        where: list[str] = []
        params: list[Any] = []
        region_cond, region_params = "", []
        if region is not None and "region" in types:
            regions = [region] if isinstance(region, str) else list(region)
            region_cond = "region IN (" + ", ".join("?" for _ in regions) + ")"
            region_params = list(regions)
            where.append(region_cond)
            params += region_params
        col = schema.date_filter
        lo, hi = _bounds(start, end, timezone)
        if col in types and (lo is not None or hi is not None):
            typed = types[col].startswith(("TIMESTAMP", "DATE"))
            if not typed or "TIME ZONE" in types[col] or types[col].endswith("TZ"):
                day = pd.Timedelta(days=1)  # offsets are at most 14 hours
                lo = None if lo is None else lo - day
                hi = None if hi is None else hi + day
            expr = _quote_ident(col) if typed else f"TRY_CAST({_quote_ident(col)} AS TIMESTAMP)"
            conds, date_params = [], []
            if lo is not None:
                conds.append(f"{expr} >= ?::TIMESTAMP")
                date_params.append(lo.to_pydatetime())
            if hi is not None:
                conds.append(f"{expr} < ?::TIMESTAMP")
                date_params.append(hi.to_pydatetime())
            cond = " AND ".join(conds)
            # an unparseable text date must reach validation, not vanish in the filter
            cond = cond if typed else f"(({cond}) OR {expr} IS NULL)"
            if schema.name == "evaluations" and "evaluation_id" in types:
                # whole evaluations: every row of each evaluation with a row in the window
                # (the evaluation's first timestamp then decides, after validation)
                sub_where = " AND ".join(c for c in (region_cond, cond) if c)
                where.append(
                    f"evaluation_id IN (SELECT evaluation_id FROM {self.relation_sql()} "
                    f"WHERE {sub_where})"
                )
                params += region_params + date_params
            else:
                where.append(cond)
                params += date_params
        filt = (" WHERE " + " AND ".join(where)) if where else ""
        rc = _quote_ident(row_col)
        if self.kind == "duckdb":
            if con is not None and self.is_view(con):
                rel = f"(SELECT *, row_number() OVER () - 1 AS {rc} FROM {self.relation_sql()})"
                return f"SELECT * FROM {rel}{filt}", params
            return f"SELECT *, rowid AS {rc} FROM {self.relation_sql()}{filt}", params
        if "file_row_number" in types:  # the option's column would clash with the file's
            fc = _quote_ident(file_col)
            rel = (
                f"(SELECT *, row_number() OVER (PARTITION BY {fc}) - 1 AS {rc} "
                f"FROM {self.relation_sql(file_col)})"
            )
            return f"SELECT * FROM {rel}{filt}", params
        inner = (
            f"SELECT *, file_row_number AS {rc} "
            f"FROM {self.relation_sql(file_col, row_number=True)}{filt}"
        )
        return f"SELECT * EXCLUDE (file_row_number) FROM ({inner})", params


def _load(kind, source, table, scorecard, region, start, end, timezone="UTC") -> pd.DataFrame:
    schema = SCHEMAS[kind]
    tz = _zone(timezone)
    lo, hi = _bounds(start, end, tz)  # a bad date filter fails before anything is read
    if lo is not None and hi is not None and hi <= lo:
        raise ValueError(f"end={end!r} is before start={start!r}")
    if isinstance(scorecard, str | Path):
        scorecard = Scorecard.from_yaml(scorecard)
    if not isinstance(source, pd.DataFrame | str | os.PathLike):
        raise TypeError(
            "source must be a pandas DataFrame or a path (str or Path), "
            f"got {type(source).__name__}"
        )
    if isinstance(source, pd.DataFrame):
        label = "<DataFrame>"
        _check_column_names(source.columns, label)
        raw = source.copy()
        if source.index.is_unique:  # name rows by index label (df.loc[label] shows them)
            prov = _Provenance("row", source.index.to_numpy())
        else:  # duplicate labels would name two rows alike: use positions
            prov = _Provenance("position", np.arange(len(source)))
        raw = raw.reset_index(drop=True)
        pushed = False
    else:
        src = _Source.resolve(source, table or kind)
        label = src.label
        if src.kind == "csv":
            raw, prov = _read_csv(src)
            pushed = False
        else:
            raw, prov = _read_duckdb(src, schema, region, start, end, tz)
            pushed = True
    empty_ok = kind == "disputes"  # a month without disputes is normal
    if len(raw) == 0 and not pushed and not empty_ok:
        raise DataError(label, "no rows (the source is empty)")
    if (
        pushed
        and len(raw) == 0
        and region is None
        and start is None
        and end is None
        and not empty_ok
    ):
        raise DataError(label, "no rows (the source is empty)")
    df = _validate(raw, schema, scorecard, label, prov, tz)
    # exact filter in the business time zone (a pushed-down filter may be a superset;
    # evaluations are kept or dropped whole by their first timestamp)
    df = _filter(df, schema, region, start, end, tz)
    df = df.reset_index(drop=True)
    df.attrs.clear()
    return df


def _check_column_names(columns: pd.Index, label: str) -> None:
    """Column names must be distinct text (integer or MultiIndex names cannot be matched)."""
    if isinstance(columns, pd.MultiIndex):
        raise DataError(
            label,
            "the columns are a MultiIndex; flatten them to single text names first "
            "(e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns])",
        )
    bad = [c for c in columns if not isinstance(c, str)]
    if bad:
        raise DataError(
            label,
            f"column names must be text, got {', '.join(_show(c) for c in bad[:5])} "
            "(e.g. df.columns = df.columns.astype(str))",
        )
    dup = sorted({c for c in columns if list(columns).count(c) > 1})
    if dup:
        raise DataError(label, f"duplicate column name(s) {', '.join(_show(c) for c in dup)}")


def _read_csv(src: _Source) -> tuple[pd.DataFrame, _Provenance]:
    frames, lines, files = [], [], []
    for p in src.paths:
        try:
            f = pd.read_csv(
                p, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True
            )
        except pd.errors.EmptyDataError:
            raise DataError(p, "empty file (no header, no rows)") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(p, f"not a readable CSV file ({_first_line(exc)})") from None
        except OSError as exc:
            raise DataError(p, f"cannot read the file ({exc.strerror or exc})") from None
        f.columns = [str(c).strip() for c in f.columns]
        _check_column_names(f.columns, p)
        lines.append(_csv_record_lines(p, len(f)))
        files.append(np.full(len(f), p, dtype=object))
        frames.append(f)
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    file_arr = np.concatenate(files) if len(src.paths) > 1 else None
    return df, _Provenance("line", np.concatenate(lines), file_arr)


def _csv_record_lines(path: str, n_records: int) -> np.ndarray:
    """Physical line (1-based, header = line 1) on which each of the CSV's records starts.

    When the file has exactly one line per record (the usual case, checked by
    counting newlines) the records start on lines 2, 3, ... Otherwise (a quoted
    field spanning lines, blank lines that pandas skips) the record ends are
    the newlines outside quotes: the quote parity before each byte is a running
    XOR, so this is vectorised over the file's bytes.
    """
    data = Path(path).read_bytes()
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if n_lines == n_records + 1:
        return np.arange(2, n_records + 2)
    b = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(b == ord("\n"))
    in_quotes = np.bitwise_xor.accumulate((b == ord('"')).astype(np.uint8))
    # record ends: newlines outside quotes (and the end of the file)
    ends = nl[in_quotes[nl] == 0]
    line_of = np.searchsorted(nl, ends) + 1  # 1-based line on which each record ends
    starts = np.concatenate([[0], ends + 1])  # byte where each record starts
    stops = np.concatenate([ends, [len(b)]])
    start_line = np.concatenate([[1], line_of + 1])
    # pandas skips blank records (nothing but an optional carriage return / spaces)
    length = stops - starts
    blank = length == 0
    one = length == 1
    blank[one] = b[np.minimum(starts[one], len(b) - 1)] == ord("\r")
    lines = start_line[~blank][1:]  # the first record is the header
    if len(lines) != n_records:  # a layout this parser does not follow: fall back
        return np.arange(2, n_records + 2)
    return lines


def _read_duckdb(
    src: _Source, schema: Schema, region, start, end, tz: str = "UTC"
) -> tuple[pd.DataFrame, _Provenance]:
    import duckdb

    with src.connect() as con:
        types = src.column_types(con)
        missing = [c for c in schema.required if c not in types]
        if missing:
            raise DataError(src.label, _missing_msg(missing, list(types)))
        sql, params = src.query(schema, types, region, start, end, con=con, timezone=tz)
        try:
            # via Arrow: about twice as fast as .df() and strings stay Arrow-backed
            df = con.sql(sql, params=params).to_arrow_table().to_pandas()
        except duckdb.Error as exc:
            raise DataError(src.label, f"query failed ({_first_line(exc)})") from None
    row_col = _unique_name(_ROW, types)
    file_col = _unique_name(_FILE, [*types, row_col])
    rows = df.pop(row_col).to_numpy()
    files = df.pop(file_col).to_numpy(dtype=object) if file_col in df.columns else None
    return df, _Provenance("row", rows, files if len(src.paths) > 1 else None)


def _validate(
    raw: pd.DataFrame,
    schema: Schema,
    scorecard: Scorecard | None,
    label: str,
    prov: _Provenance,
    tz: str = "UTC",
) -> pd.DataFrame:
    missing = [c for c in schema.required if c not in raw.columns]
    if missing:
        raise DataError(label, _missing_msg(missing, [str(c) for c in raw.columns]))
    df = raw.copy()
    problems: list[str] = []

    def where(mask: np.ndarray, show: Sequence[str] = ()) -> str:
        idx = np.flatnonzero(mask)
        parts = []
        for i in idx[:MAX_ROWS_SHOWN]:
            loc = f"{prov.word} {_show(prov.rows[i]) if prov.word == 'row' else prov.rows[i]}"
            if prov.files is not None:
                loc = f"{prov.files[i]} {loc}"
            if show:
                loc += " (" + ", ".join(f"{c}={_show(raw[c].iat[i])}" for c in show) + ")"
            parts.append(loc)
        more = f", ... ({len(idx) - MAX_ROWS_SHOWN} more)" if len(idx) > MAX_ROWS_SHOWN else ""
        return ", ".join(parts) + more

    def flag(col: str, mask: np.ndarray, problem: str, show: Sequence[str] = ()) -> None:
        n = int(mask.sum())
        if n:
            problems.append(
                f"column '{col}': {problem} in {n} row{'s' if n > 1 else ''}: "
                f"{where(mask, show or (col,))}"
            )

    # ids: non-empty text
    for col in schema.ids:
        text = df[col].astype("str").str.strip()  # a no-op cast for text columns
        empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
        flag(col, empty, "empty value")
        df[col] = text
    # dates
    for col in schema.dates + schema.nullable_dates:
        s = df[col]
        may_be_empty = col in schema.nullable_dates
        if pd.api.types.is_datetime64_any_dtype(s):
            parsed = s
            bad = s.isna().to_numpy()
            if not may_be_empty:
                flag(col, bad, "missing date")
        else:
            parsed = _to_datetime(s, tz)
            missing_date = s.isna() | (s.astype("string").str.strip() == "")
            if not may_be_empty:
                flag(col, missing_date.to_numpy(dtype=bool), "missing date")
            bad = (parsed.isna() & ~missing_date).to_numpy(dtype=bool)
            flag(col, bad, "unparseable date (expected e.g. 2026-10-05 or 2026-10-05T14:30:00)")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(tz).dt.tz_localize(None)
        df[col] = parsed.astype("datetime64[ns]")
    # numbers
    for col in schema.numbers + tuple(c for c in schema.optional_numbers if c in df.columns):
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            num = s.astype(float)
        else:
            text = s.astype("string").str.strip()
            empty = s.isna() | text.isin(list(NA_TEXTS))
            num = pd.to_numeric(text.mask(empty), errors="coerce").astype(float)
            flag(col, (num.isna() & ~empty).to_numpy(dtype=bool), "not a number")
        flag(col, np.isinf(num.to_numpy(dtype=float)), "not a finite number")
        df[col] = num
    if "csat" in df.columns:
        c = df["csat"].to_numpy()
        flag("csat", ~np.isnan(c) & ((c < 1) | (c > 5)), "CSAT outside 1-5")
    if schema.name == "calibration":
        role = df["role"].astype("string").str.lower()
        flag(
            "role",
            (~role.isin(ROLES) & role.notna()).to_numpy(dtype=bool),
            f"role not one of {list(ROLES)}",
        )
        df["role"] = role.astype("str")
    if scorecard is not None and "criterion" in df.columns and schema.name != "disputes":
        _validate_scores(df, schema, scorecard, flag)
    if schema.name == "disputes":
        _validate_disputes(df, flag)
    if schema.name == "evaluations" and not problems:
        # one evaluation is one agent's handling of one ticket in one region: rows that
        # disagree would credit the evaluation to whichever row came first
        ev = df.groupby("evaluation_id", sort=False, observed=True)
        for col in ("agent_id", "ticket_id", "region"):
            split = (ev[col].transform("nunique") > 1).to_numpy(dtype=bool)
            flag(
                col,
                split,
                f"rows of one evaluation_id disagree on {col}",
                ("evaluation_id", col),
            )
        # an evaluation saved across midnight (or a month end) belongs to its first timestamp
        df["evaluated_at"] = ev["evaluated_at"].transform("min")
    key = list(schema.key)
    if not problems:
        dup = df.duplicated(key, keep=False).to_numpy()
        if dup.any():
            problems.append(
                f"columns {key}: duplicate {'(' + ', '.join(key) + ')'} in {int(dup.sum())} rows: "
                f"{where(dup, key)}"
            )
    if problems:
        raise DataError(label, problems)
    return df


#: Optional column naming each row's scorecard version (see qa_analysis.scorecard).
VERSION_COLUMN = "scorecard_version"


def _validate_scores(
    df: pd.DataFrame, schema: Schema, scorecard: Scorecard, flag: Callable[..., None]
) -> None:
    """Criteria and scores against each row's own scorecard version (loops over criteria only)."""
    crit = df["criterion"]
    known = crit.isin(scorecard.ids).to_numpy(dtype=bool)
    flag(
        "criterion",
        ~known,
        f"criterion not on the scorecard {scorecard.source} (known: {', '.join(scorecard.ids)})",
    )
    score = df["score"].to_numpy()
    versioned = scorecard.is_versioned
    vcodes = np.zeros(len(df), dtype=np.int64)
    if versioned:
        ids = [str(v) for v in scorecard.version_ids]
        explicit = np.zeros(len(df), dtype=bool)
        if VERSION_COLUMN in df.columns:
            text = df[VERSION_COLUMN].astype("string").str.strip()
            explicit = (text.notna() & (text != "")).to_numpy(dtype=bool)
            got = pd.Index(ids).get_indexer(pd.Index(text.fillna("")))
            flag(
                VERSION_COLUMN,
                explicit & (got < 0),
                f"scorecard version not in {scorecard.source} (known: {', '.join(ids)})",
            )
            vcodes = np.where(explicit, got, -1)
            df[VERSION_COLUMN] = text.mask(~explicit).astype(object)
        date_col = schema.date_filter
        dates = df[date_col]
        by_date = scorecard.version_codes_at(dates.to_numpy())
        first = scorecard.versions[0].effective
        flag(
            date_col,
            ~explicit & dates.notna().to_numpy() & (by_date < 0),
            f"date before the first scorecard version took effect ({first:%Y-%m-%d}) and no "
            f"'{VERSION_COLUMN}'"
            if first is not None
            else "no scorecard version in force",
        )
        vcodes = np.where(explicit, vcodes, by_date)
    for vi, ver in enumerate(scorecard.versions):  # a few versions x a dozen criteria
        in_v = vcodes == vi
        suffix = f" in scorecard version '{ver.version}'" if versioned else ""
        if versioned:
            flag(
                "criterion",
                in_v & known & ~crit.isin(ver.ids).to_numpy(dtype=bool),
                f"criterion not in scorecard version '{ver.version}' "
                f"(its criteria: {', '.join(ver.ids)})",
                ("criterion", schema.date_filter),
            )
        for c in ver.criteria:
            on = in_v & (crit == c.id).to_numpy(dtype=bool)
            if not on.any():
                continue
            off = on & ~np.isnan(score) & ~np.isin(score, np.asarray(c.scale, dtype=float))
            flag(
                "score",
                off,
                f"score off the scale of criterion '{c.id}'{suffix} "
                f"(allowed {', '.join(f'{v:g}' for v in c.scale)})",
                ("criterion", "score"),
            )
            if schema.name == "evaluations" and not c.na_allowed:
                flag(
                    "score",
                    on & np.isnan(score),
                    f"empty score (N/A) on criterion '{c.id}'{suffix}, which does not allow N/A",
                    ("evaluation_id", "criterion"),
                )


def _validate_disputes(df: pd.DataFrame, flag: Callable[..., None]) -> None:
    """Status, dates and scores of disputes agree with one another."""
    status = df["status"].astype("string").str.lower()
    flag(
        "status",
        (~status.isin(DISPUTE_STATUSES) & status.notna()).to_numpy(dtype=bool),
        f"status not one of {list(DISPUTE_STATUSES)}",
    )
    df["status"] = status.astype("str")
    if "criterion" in df.columns:  # optional: empty = the whole evaluation is disputed
        text = df["criterion"].astype("string").str.strip()
        df["criterion"] = text.astype(object).where(text.notna() & (text != ""), None)
    else:
        df["criterion"] = None
    is_open = (status == "open").to_numpy(dtype=bool)
    resolved = df["resolved_at"].notna().to_numpy()
    flag("resolved_at", is_open & resolved, "an open dispute has a resolved_at", ("status",))
    flag(
        "resolved_at",
        ~is_open & ~resolved & status.isin(DISPUTE_STATUSES).to_numpy(dtype=bool),
        "a resolved dispute (status not open) has no resolved_at",
        ("dispute_id", "status"),
    )
    before = (df["resolved_at"] < df["opened_at"]).to_numpy(dtype=bool)
    flag("resolved_at", before, "resolved before it was opened", ("opened_at", "resolved_at"))
    orig = df["original_score"].to_numpy(dtype=float)
    final = df["final_score"].to_numpy(dtype=float)
    changed = ~np.isnan(final) & (final != orig)
    flag(
        "final_score",
        (status == "rejected").to_numpy(dtype=bool) & changed,
        "a rejected dispute changed the score",
        ("original_score", "final_score"),
    )
    upheld = status.isin(["accepted", "partially_accepted"]).to_numpy(dtype=bool)
    flag(
        "final_score",
        upheld & np.isnan(final),
        "an accepted dispute has no final_score",
        ("dispute_id", "status"),
    )


def _filter(df: pd.DataFrame, schema: Schema, region, start, end, tz: str = "UTC") -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    if region is not None:
        regions = [region] if isinstance(region, str) else list(region)
        mask &= df["region"].isin(regions).to_numpy()
    lo, hi = _bounds(start, end, tz)
    d = df[schema.date_filter]
    if lo is not None:
        mask &= (d >= lo).to_numpy()
    if hi is not None:
        mask &= (d < hi).to_numpy()
    return df.loc[mask]


def _zone(timezone: Any) -> str:
    """Check a business time zone name (IANA, e.g. "Europe/Berlin") and return it."""
    import zoneinfo

    if not isinstance(timezone, str):
        raise TypeError(f"timezone must be a time zone name, got {type(timezone).__name__}")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone={timezone!r} is not a known time zone (e.g. 'UTC', 'Europe/Berlin')"
        ) from None
    return timezone


def _timestamp(value: Any, name: str, tz: str = "UTC") -> pd.Timestamp:
    if isinstance(value, int | float | np.number):  # pd.Timestamp(20261031) is nanoseconds
        raise ValueError(
            f"{name}={value!r} is a number, not a date (write it as a string, e.g. '2026-10-31')"
        )
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise ValueError(f"{name}={value!r} is not a date (expected e.g. 2026-10-01)")
    return ts.tz_convert(tz).tz_localize(None) if ts.tzinfo is not None else ts


def _bounds(start, end, tz: str = "UTC") -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Inclusive [start, end] as [lo, hi): a date-only ``end`` covers its whole day.

    Wall-clock times in the business time zone ``tz``.
    """
    lo = _timestamp(start, "start", tz) if start is not None else None
    hi = None
    if end is not None:
        hi = _timestamp(end, "end", tz)
        if hi == hi.normalize():
            hi = hi + pd.Timedelta(days=1)
        else:
            hi = hi + pd.Timedelta(microseconds=1)
    return lo, hi


# a UTC offset or "Z" after a time of day: "08:00+11:00", "08:00:00Z", "08:00 -0500"
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def _parse_dates(text: pd.Series, utc: bool) -> pd.Series:
    try:
        return pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    except (ValueError, TypeError):
        return pd.to_datetime(text, errors="coerce", format="mixed", utc=utc)


def _to_datetime(s: pd.Series, tz: str = "UTC") -> pd.Series:
    """Parse date text to naive wall-clock times in the business time zone ``tz``.

    Values with a UTC offset are converted to ``tz`` (offsets may differ from row
    to row); values without one are taken as wall-clock times in ``tz``.
    """
    text = s.astype("string").str.strip()
    aware = text.str.contains(_OFFSET, regex=True, na=False).to_numpy(dtype=bool)
    if not aware.any():
        return _parse_dates(text, utc=False).astype("datetime64[ns]")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if (~aware).any():
        out[~aware] = _parse_dates(text[~aware], utc=False).astype("datetime64[ns]")
    conv = _parse_dates(text[aware], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    out[aware] = conv.astype("datetime64[ns]")
    return out


def _show(value: Any) -> str:
    """Repr of a cell as the user wrote it: 9.0, 'abc', None (not np.float64(9.0)), cut short."""
    return _short(value)


def _missing_msg(missing: Sequence[str], found: Sequence[str]) -> str:
    return (
        f"missing required column{'s' if len(missing) > 1 else ''} "
        f"{', '.join(repr(c) for c in missing)} (found: {', '.join(found)})"
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# KPI files
# ---------------------------------------------------------------------------
# The report kinds, their KPI files and the keys of the merged region file are
# defined here only; the batch, the index page and the global overview use these
# names and never derive one from a notebook's file name.

#: Report notebooks run once per region, in this order, into ``<period>/<region>/``.
REGIONAL_NOTEBOOKS: tuple[str, ...] = ("calibration_report", "performance_report")
#: Report notebook run once per period, after the regions, into ``<period>/``.
GLOBAL_NOTEBOOK = "global_overview"
#: The KPI file each report notebook writes into its ``output_dir``.
KPI_FILES: dict[str, str] = {
    "calibration_report": "calibration_kpis.json",
    "performance_report": "performance_kpis.json",
    "global_overview": "global_kpis.json",
}
#: KPI files a notebook may skip without being marked failed.
OPTIONAL_KPI_FILES: frozenset[str] = frozenset({"global_kpis.json"})
#: The merged KPI file of one region (both regional reports), ``<period>/<region>/kpis.json``.
REGION_KPI_FILE = "kpis.json"
#: Key under which each regional report's KPIs sit in the region's merged KPI file.
REGION_KPI_KEYS: dict[str, str] = {
    "calibration_report": "calibration",
    "performance_report": "performance",
}
#: The audit plan the performance report writes into its ``output_dir``.
AUDIT_PLAN_FILE = "audit_plan.csv"
#: Files other than the KPI file that a report writes into its ``output_dir``.
REPORT_FILES: dict[str, tuple[str, ...]] = {"performance_report": (AUDIT_PLAN_FILE,)}


def region_dir(region: str) -> str:
    """The folder of one region's reports inside a period folder (its code, lower case).

    Examples
    --------
    >>> region_dir("LATAM")
    'latam'
    """
    return region.lower()


def read_region_kpis(reports_dir: str | Path, region: str) -> dict[str, Any] | None:
    """The merged KPI file of one region in a period folder, or None when it is absent.

    Parameters
    ----------
    reports_dir : str or Path
        The period folder (``<out>/<period>``, the global overview's ``reports_dir``).
    region : str
        Region code.

    Returns
    -------
    dict or None
        ``{"region", "period", <REGION_KPI_KEYS values>, "status", "errors"}``;
        a report that failed has ``None`` under its key.

    Examples
    --------
    >>> import tempfile
    >>> read_region_kpis(tempfile.mkdtemp(), "EU") is None
    True
    """
    path = Path(reports_dir, region_dir(region), REGION_KPI_FILE)
    return read_kpis(path) if path.is_file() else None


def write_kpis(kpis: Mapping[str, Any], path: str | Path) -> Path:
    """Write a notebook's KPIs as JSON, atomically.

    Parameters
    ----------
    kpis : mapping
        KPI name -> value. Values may be Python, numpy or pandas scalars,
        NaN / NA / NaT, timestamps, periods, paths, arrays, Series,
        DataFrames (written as a list of records), dataclass instances (e.g.
        the library's result objects) and nested mappings or sequences.
    path : str or Path
        File to write; its folder is created if needed.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Method: values are converted recursively to JSON types: numpy integers
    and floats to ``int`` / ``float``, non-finite floats (NaN, +-inf) and
    missing values to ``null``, dates to ISO 8601 strings, mapping keys to
    strings. The text is written to a temporary file in the same folder and
    renamed over ``path`` (:func:`qa_analysis.io.write_text_atomic`), so a
    reader never sees half a file. A value of any other type raises
    ``TypeError`` naming its key.

    References
    ----------
    .. [1] ECMA-404, The JSON Data Interchange Syntax, 2nd ed., 2017 (no NaN or
       infinity literals, hence ``null``).

    Examples
    --------
    >>> import json, tempfile, numpy as np
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "kpis.json"
    >>> _ = write_kpis({"pass_rate": np.float64(0.91), "n": np.int64(40), "alpha": np.nan}, p)
    >>> json.loads(p.read_text())
    {'pass_rate': 0.91, 'n': 40, 'alpha': None}
    """
    if not isinstance(kpis, Mapping):
        raise TypeError(f"kpis must be a mapping (KPI name -> value), got {type(kpis).__name__}")
    text = json.dumps(_jsonable(kpis, "kpis"), indent=2, allow_nan=False, ensure_ascii=False)
    return write_text_atomic(text + "\n", path)


def read_kpis(path: str | Path) -> dict[str, Any]:
    """Read a KPI file written by :func:`write_kpis` (a JSON object)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a KPI file must hold a JSON object, got {type(data).__name__}")
    return data


def _jsonable(obj: Any, where: str) -> Any:
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [_jsonable(r, f"{where}[{i}]") for i, r in enumerate(obj.to_dict(orient="records"))]
    if isinstance(obj, pd.Series):
        return _jsonable(obj.to_dict(), where)
    if isinstance(obj, np.ndarray):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj.tolist())]
    if isinstance(obj, list | tuple | set | frozenset):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.datetime64 | np.timedelta64):
        return None if np.isnat(obj) else str(obj)
    if isinstance(obj, dt.datetime | dt.date | dt.time):  # pd.Timestamp is a datetime
        return obj.isoformat()
    if isinstance(obj, pd.Timedelta | dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, pd.Period | Path):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, where)
    raise TypeError(f"{where}: cannot write a {type(obj).__name__} as JSON")
