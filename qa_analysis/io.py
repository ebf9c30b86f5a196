"""Loaders, schemas and validation for the three input tables, plus atomic writers.

Every loader takes a ``source``:

* a pandas DataFrame (never modified; a validated copy is returned);
* a CSV file, a Parquet file, or a glob of either (``exports/2026-*.parquet``);
* a DuckDB database file (``.duckdb`` / ``.db``) with ``table=`` naming the
  table (default: ``evaluations``, ``calibration`` or ``tickets``).

``region=``, ``start=`` and ``end=`` filters are pushed down into the DuckDB
query for Parquet and DuckDB sources (row groups and zone maps outside the
slice are skipped, not loaded then filtered). CSV files are parsed whole by
pandas so that errors can name the file's line numbers; the filters are
applied after validation.

Validation raises :class:`DataError` (a ``ValueError``) naming the source, the
column, the problem, how many rows are affected and the first offending rows
(``line N`` for CSV files, counting the header as line 1; ``row N`` for
Parquet files (0-based position in the file) and DuckDB tables (``rowid``); for
a DataFrame, ``row L`` where L is the index label, so ``df.loc[L]`` shows it).
Invalid ``start``/``end`` arguments raise ``ValueError`` naming the argument.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob as _glob
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis.errors import DataError
from qa_analysis.escaping import neutralise_formulas as _neutralise_formulas
from qa_analysis.scorecard import Scorecard

__all__ = [
    "KPI_FILES",
    "OPTIONAL_KPI_FILES",
    "REGION_KPI_FILE",
    "SCHEMAS",
    "DataError",
    "from_wide",
    "load_calibration",
    "load_evaluations",
    "load_query",
    "load_tickets",
    "read_kpis",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_kpis",
    "write_parquet_atomic",
    "write_text_atomic",
]

MAX_ROWS_SHOWN = 5
_ROW = "__row"  # provenance: line/row number in the source
_FILE = "__file"  # provenance: file the row came from (globs)


@dataclass(frozen=True)
class Schema:
    """Canonical columns of one input table (DESIGN.md, "Data model")."""

    name: str
    ids: tuple[str, ...]  # required, non-empty text columns
    dates: tuple[str, ...]  # required, parseable dates
    numbers: tuple[str, ...]  # required numeric columns (empty allowed = N/A)
    optional_numbers: tuple[str, ...]
    key: tuple[str, ...]  # must be unique
    date_filter: str  # column start=/end= apply to

    @property
    def required(self) -> tuple[str, ...]:
        return self.ids + self.dates + self.numbers


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
}

ROLES = ("specialist", "expert")


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

    Returns
    -------
    DataFrame
        Canonical columns with ``evaluated_at`` as datetime64 and ``score``
        (and ``csat``) as float64; extra columns are kept. ``attrs`` holds
        ``source``, ``filters``, and ``note`` when the filters left no rows.

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
    return _load("evaluations", source, table, scorecard, region, start, end)


def load_calibration(
    source: Any,
    *,
    table: str | None = None,
    scorecard: Scorecard | str | Path | None = None,
    region: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
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
    return _load("calibration", source, table, scorecard, region, start, end)


def load_tickets(
    source: Any,
    *,
    table: str | None = None,
    region: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
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
    return _load("tickets", source, table, None, region, start, end)


def load_query(
    kind: str,
    source: str | Path,
    *,
    table: str | None = None,
    region: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
) -> tuple[str, list[Any]]:
    """The DuckDB SQL and parameters a loader runs for a Parquet or DuckDB source.

    Exposed so the pushdown can be inspected (``EXPLAIN ANALYZE``) and tested.
    For a DuckDB file, run it on ``duckdb.connect(source, read_only=True)``.
    """
    schema = SCHEMAS[kind]
    src = _Source.resolve(source, table or kind)
    if src.kind == "csv":
        raise DataError(src.label, "CSV sources are read by pandas, not DuckDB")
    with src.connect() as con:
        types = src.column_types(con)
        return src.query(schema, types, region, start, end)


# ---------------------------------------------------------------------------
# wide -> long
# ---------------------------------------------------------------------------
def from_wide(
    df: pd.DataFrame,
    id_columns: Sequence[str],
    criteria: Sequence[str] | Mapping[str, str],
    *,
    criterion: str = "criterion",
    value: str = "score",
    na_values: Iterable[str] = ("", "N/A", "NA", "n/a", "na", "-"),
) -> pd.DataFrame:
    """Turn a one-column-per-criterion export into the long table.

    Parameters
    ----------
    df
        The wide export, one row per evaluation (or per rater x ticket).
    id_columns
        Columns repeated on every long row (``evaluation_id``, ``agent_id``, ...).
    criteria
        The criterion columns, or a mapping ``{export column: criterion id}``.
    criterion, value
        Names of the long table's criterion and score columns.
    na_values
        Cell texts meaning "not applicable" (become NaN).

    Returns
    -------
    DataFrame
        ``id_columns + [criterion, value]``, rows ordered by input row then
        criterion order.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"evaluation_id": ["e1"], "Greeting": [1], "Tone": ["N/A"]})
    >>> from_wide(wide, ["evaluation_id"], {"Greeting": "greeting", "Tone": "tone"})
      evaluation_id criterion  score
    0            e1  greeting    1.0
    1            e1      tone    NaN
    """
    mapping = dict(criteria) if isinstance(criteria, Mapping) else {c: c for c in criteria}
    missing = [c for c in [*id_columns, *mapping] if c not in df.columns]
    if missing:
        raise DataError(
            "<wide DataFrame>", f"missing column(s) {missing}; found {list(df.columns)}"
        )
    cols = list(mapping)
    block = df[cols]
    na = set(na_values)
    raw_text = block.astype("string")
    is_na = raw_text.apply(lambda col: col.str.strip().isin(na))  # per column, not per row
    values = block.apply(lambda col: pd.to_numeric(col.mask(is_na[col.name]), errors="coerce"))
    not_na = raw_text.notna() & ~is_na
    unparsed = not_na & values.isna()
    if unparsed.to_numpy().any():
        r, c = np.nonzero(unparsed.to_numpy())
        first = ", ".join(
            f"row {df.index[i]} ({cols[j]}={block.iat[i, j]!r})"
            for i, j in zip(r[:5], c[:5], strict=True)
        )
        raise DataError(
            "<wide DataFrame>", f"{len(r)} criterion cells are not numbers or N/A; first: {first}"
        )
    n, k = len(df), len(cols)
    out = pd.DataFrame({c: np.repeat(df[c].to_numpy(), k) for c in id_columns})
    out[criterion] = np.tile(np.array([mapping[c] for c in cols], dtype=object), n)
    out[value] = values.to_numpy(dtype=float).reshape(-1)
    return out


# ---------------------------------------------------------------------------
# atomic writers
# ---------------------------------------------------------------------------
def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes_atomic(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename,
    so a reader never sees a half-written file.
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
    """Atomic text write (UTF-8); see :func:`write_bytes_atomic`."""
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
    """Atomic Parquet write; see :func:`write_bytes_atomic`."""
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
    def resolve(cls, source: str | Path, table: str) -> _Source:
        text = str(source)
        label = text
        if any(ch in text for ch in "*?["):
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
        for p in paths:
            if os.path.getsize(p) == 0:
                raise DataError(p, "empty file (0 bytes)")
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

    def relation_sql(self) -> str:
        if self.kind == "duckdb":
            return _quote_ident(self.table)
        files = "[" + ", ".join(_quote_str(p) for p in self.paths) + "]"
        return f"read_parquet({files}, filename=true, file_row_number=true, union_by_name=true)"

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
        self, schema: Schema, types: Mapping[str, str], region, start, end
    ) -> tuple[str, list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if region is not None and "region" in types:
            regions = [region] if isinstance(region, str) else list(region)
            where.append("region IN (" + ", ".join("?" for _ in regions) + ")")
            params += regions
        col = schema.date_filter
        lo, hi = _bounds(start, end)
        if col in types and (lo is not None or hi is not None):
            typed = types[col].startswith(("TIMESTAMP", "DATE"))
            expr = _quote_ident(col) if typed else f"TRY_CAST({_quote_ident(col)} AS TIMESTAMP)"
            conds = []
            if lo is not None:
                conds.append(f"{expr} >= ?::TIMESTAMP")
                params.append(lo.to_pydatetime())
            if hi is not None:
                conds.append(f"{expr} < ?::TIMESTAMP")
                params.append(hi.to_pydatetime())
            cond = " AND ".join(conds)
            # an unparseable text date must reach validation, not vanish in the filter
            where.append(cond if typed else f"(({cond}) OR {expr} IS NULL)")
        row = "rowid" if self.kind == "duckdb" else "file_row_number"
        extra = "" if self.kind == "duckdb" else ", filename AS __file"
        sql = f"SELECT *, {row} AS {_ROW}{extra} FROM {self.relation_sql()}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if self.kind == "parquet":
            sql = f"SELECT * EXCLUDE (filename, file_row_number) FROM ({sql})"
        return sql, params


def _load(kind, source, table, scorecard, region, start, end) -> pd.DataFrame:
    schema = SCHEMAS[kind]
    lo, hi = _bounds(start, end)  # a bad date filter fails before anything is read
    if lo is not None and hi is not None and hi <= lo:
        raise ValueError(f"end={end!r} is before start={start!r}")
    if isinstance(scorecard, str | Path):
        scorecard = Scorecard.from_yaml(scorecard)
    if isinstance(source, pd.DataFrame):
        label = "<DataFrame>"
        raw = source.copy()
        if source.index.is_unique:  # name rows by index label (df.loc[label] shows them)
            raw[_ROW] = source.index
            line_word = "row"
        else:  # duplicate labels would name two rows alike: use positions
            raw[_ROW] = np.arange(len(source))
            line_word = "position"
        pushed = False
    else:
        src = _Source.resolve(source, table or kind)
        label = src.label
        if src.kind == "csv":
            raw = _read_csv(src)
            line_word = "line"
            pushed = False
        else:
            raw = _read_duckdb(src, schema, region, start, end)
            line_word = "row"
            pushed = True
    if len(raw) == 0 and not pushed:
        raise DataError(label, "no rows (the source is empty)")
    if pushed and len(raw) == 0 and region is None and start is None and end is None:
        raise DataError(label, "no rows (the source is empty)")
    df = _validate(raw, schema, scorecard, label, line_word)
    if not pushed:
        df = _filter(df, schema, region, start, end)
    df = df.drop(columns=[c for c in (_ROW, _FILE) if c in df.columns]).reset_index(drop=True)
    df.attrs["source"] = label
    df.attrs["filters"] = {"region": region, "start": start, "end": end}
    if len(df) == 0:
        df.attrs["note"] = (
            f"no {kind} rows in {label} for region={region!r}, start={start!r}, end={end!r}"
        )
    return df


def _read_csv(src: _Source) -> pd.DataFrame:
    frames = []
    for p in src.paths:
        try:
            f = pd.read_csv(
                p, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True
            )
        except pd.errors.EmptyDataError:
            raise DataError(p, "empty file (no header, no rows)") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(p, f"not a readable CSV file ({_first_line(exc)})") from None
        f.columns = [str(c).strip() for c in f.columns]
        f[_ROW] = np.arange(2, len(f) + 2)  # header is line 1
        if len(src.paths) > 1:
            f[_FILE] = p
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read_duckdb(src: _Source, schema: Schema, region, start, end) -> pd.DataFrame:
    import duckdb

    with src.connect() as con:
        types = src.column_types(con)
        missing = [c for c in schema.required if c not in types]
        if missing:
            raise DataError(src.label, _missing_msg(missing, list(types)))
        sql, params = src.query(schema, types, region, start, end)
        try:
            # via Arrow: about twice as fast as .df() and strings stay Arrow-backed
            df = con.sql(sql, params=params).to_arrow_table().to_pandas()
        except duckdb.Error as exc:
            raise DataError(src.label, f"query failed ({_first_line(exc)})") from None
    if len(src.paths) == 1 and _FILE in df.columns:
        df = df.drop(columns=_FILE)
    return df


def _validate(
    raw: pd.DataFrame, schema: Schema, scorecard: Scorecard | None, label: str, word: str
) -> pd.DataFrame:
    missing = [c for c in schema.required if c not in raw.columns]
    if missing:
        raise DataError(
            label, _missing_msg(missing, [c for c in raw.columns if not c.startswith("__")])
        )
    df = raw.copy()
    problems: list[str] = []

    def where(mask: np.ndarray, show: Sequence[str] = ()) -> str:
        idx = np.flatnonzero(mask)
        parts = []
        for i in idx[:MAX_ROWS_SHOWN]:
            loc = f"{word} {df[_ROW].iat[i]}"
            if _FILE in df.columns:
                loc = f"{df[_FILE].iat[i]} {loc}"
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
    for col in schema.dates:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            parsed = s
            bad = s.isna().to_numpy()
            flag(col, bad, "missing date")
        else:
            parsed = _to_datetime(s)
            missing_date = s.isna() | (s.astype("string").str.strip() == "")
            flag(col, missing_date.to_numpy(dtype=bool), "missing date")
            bad = (parsed.isna() & ~missing_date).to_numpy(dtype=bool)
            flag(col, bad, "unparseable date (expected e.g. 2026-10-05 or 2026-10-05T14:30:00)")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        df[col] = parsed.astype("datetime64[ns]")
    # numbers
    for col in schema.numbers + tuple(c for c in schema.optional_numbers if c in df.columns):
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            num = s.astype(float)
        else:
            text = s.astype("string").str.strip()
            empty = s.isna() | text.isin(["", "N/A", "NA", "n/a", "na"])
            num = pd.to_numeric(text.mask(empty), errors="coerce").astype(float)
            flag(col, (num.isna() & ~empty).to_numpy(dtype=bool), "not a number")
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
    if scorecard is not None and "criterion" in df.columns:
        crit = df["criterion"]
        known = crit.isin(scorecard.ids).to_numpy(dtype=bool)
        flag(
            "criterion",
            ~known,
            f"criterion not on the scorecard {scorecard.source} "
            f"(known: {', '.join(scorecard.ids)})",
        )
        score = df["score"].to_numpy()
        for c in scorecard.criteria:
            on = (crit == c.id).to_numpy(dtype=bool)
            if not on.any():
                continue
            off = on & ~np.isnan(score) & ~np.isin(score, np.asarray(c.scale, dtype=float))
            flag(
                "score",
                off,
                f"score off the scale of criterion '{c.id}' "
                f"(allowed {', '.join(f'{v:g}' for v in c.scale)})",
                ("criterion", "score"),
            )
            if schema.name == "evaluations" and not c.na_allowed:
                flag(
                    "score",
                    on & np.isnan(score),
                    f"empty score (N/A) on criterion '{c.id}', which does not allow N/A",
                    ("evaluation_id", "criterion"),
                )
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


def _filter(df: pd.DataFrame, schema: Schema, region, start, end) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    if region is not None:
        regions = [region] if isinstance(region, str) else list(region)
        mask &= df["region"].isin(regions).to_numpy()
    lo, hi = _bounds(start, end)
    d = df[schema.date_filter]
    if lo is not None:
        mask &= (d >= lo).to_numpy()
    if hi is not None:
        mask &= (d < hi).to_numpy()
    return df.loc[mask]


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise ValueError(f"{name}={value!r} is not a date (expected e.g. 2026-10-01)")
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def _bounds(start, end) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Inclusive [start, end] as [lo, hi): a date-only ``end`` covers its whole day."""
    lo = _timestamp(start, "start") if start is not None else None
    hi = None
    if end is not None:
        hi = _timestamp(end, "end")
        if hi == hi.normalize():
            hi = hi + pd.Timedelta(days=1)
        else:
            hi = hi + pd.Timedelta(microseconds=1)
    return lo, hi


def _to_datetime(s: pd.Series) -> pd.Series:
    text = s.astype("string").str.strip()
    try:
        return pd.to_datetime(text, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        return pd.to_datetime(text, errors="coerce", format="mixed")


def _show(value: Any) -> str:
    """Repr of a cell as the user wrote it: 9.0, 'abc', None (not np.float64(9.0))."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT:
        value = None
    return repr(value)


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
