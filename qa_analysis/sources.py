"""Warehouse tables as a data source: filters and counts run where the data live.

``data:`` may name a database by URL as well as a file or folder:

* ``duckdb:///abs/path/qa.duckdb`` (or ``duckdb://relative/qa.duckdb``): an
  embedded DuckDB file, opened read-only;
* ``postgres://user:password@host:5432/db`` or ``postgresql://...``; a unix
  socket is given as ``postgresql://user@/db?host=/run/postgresql``; a schema
  other than the default as ``.../db/schema``;
* any other engine that :func:`ibis.connect` accepts by URL (BigQuery,
  Snowflake, Trino, Spark SQL, MySQL, ...), once its ibis extra is installed.
  Only DuckDB and PostgreSQL are tested.

The tables default to ``evaluations``, ``calibration`` and ``tickets`` with the
canonical columns of :data:`qa_analysis.io.SCHEMAS`; other names are given as
``tables={"evaluations": "qa.evals"}`` or in the URL's fragment
(``postgres://host/db#evaluations=qa_evals&tickets=zendesk_tickets``), so
that one ``data:`` string says everything.

Through ibis [1]_, the region and period filters, the weekly and per-agent
counts and the ticket-population counts per sampling stratum are compiled to
SQL and run in the engine; only their small results come back, plus the rows a
statistic needs one by one (a month's evaluations for scoring, calibration
ratings), already filtered. Rows that come back are validated by the usual
loaders (:func:`qa_analysis.io.load_evaluations` and friends), so a table in a
warehouse is held to exactly the rules of a file.

Every query a :class:`Source` runs is recorded in :attr:`Source.transfers`
(its SQL, the rows and the Arrow bytes that came back), so that the push-down
can be checked and the traffic measured.

References
----------
.. [1] Ibis project, "Ibis: the portable Python dataframe library",
   https://ibis-project.org/ (backends: https://ibis-project.org/backends/;
   ``ibis.connect``: https://ibis-project.org/reference/connection).
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from qa_analysis import io
from qa_analysis.errors import DataError
from qa_analysis.io import SCHEMAS, Schema
from qa_analysis.scorecard import Scorecard

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa
    from ibis.backends import BaseBackend

__all__ = [
    "Source",
    "Transfer",
    "is_database_url",
    "open_source",
    "redact_url",
    "write_tables",
]

Kind = Literal["evaluations", "calibration", "tickets"]
KINDS: tuple[Kind, ...] = ("evaluations", "calibration", "tickets")

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_INSTALL = (
    "reading a database URL needs ibis: pip install 'qa-analysis[warehouse]' "
    "(or 'ibis-framework[duckdb,postgres]')"
)


def is_database_url(data: Any) -> bool:
    """True when ``data`` is a database URL (``scheme://...``) rather than a path.

    ``file://`` URLs are paths, not databases.

    Examples
    --------
    >>> is_database_url("postgresql://qa@db.example.com/warehouse")
    True
    >>> is_database_url("duckdb:///data/qa.duckdb"), is_database_url("data/demo/qa.duckdb")
    (True, False)
    """
    if not isinstance(data, str) or not _URL.match(data):
        return False
    return urllib.parse.urlsplit(data).scheme.lower() != "file"


def redact_url(url: str) -> str:
    """``url`` with any password (in the authority or a ``password=`` parameter) hidden.

    Examples
    --------
    >>> redact_url("postgresql://qa:s3cret@db:5432/warehouse?sslmode=require")
    'postgresql://qa:***@db:5432/warehouse?sslmode=require'
    >>> redact_url("postgres://db/wh?user=qa&password=s3cret")
    'postgres://db/wh?user=qa&password=***'
    """
    text = re.sub(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/@:?#]*):[^/@?#]*@", r"\1:***@", url)
    return re.sub(r"(?i)([?&])(password|pwd)=[^&#]*", r"\1\2=***", text)


@dataclass(frozen=True)
class Transfer:
    """One query a :class:`Source` ran: its SQL and what came back.

    Attributes
    ----------
    sql : str
        The SQL sent to the engine (as compiled by ibis).
    rows : int
        Rows returned.
    nbytes : int
        Size of the returned Arrow table in bytes (the payload, not the wire
        protocol's overhead).
    """

    sql: str
    rows: int
    nbytes: int


class Source:
    """A database holding the three input tables; built by :func:`open_source`.

    Use it as a context manager (or call :meth:`close`) to release the
    connection. All methods filter with ``region`` (one code or a list) and
    ``start`` / ``end`` (inclusive dates; a date-only ``end`` covers its whole
    day), as the file loaders do, and run the filter in the engine.
    """

    def __init__(self, url: str, con: BaseBackend, tables: Mapping[str, str]):
        self.url = redact_url(url)
        self._secrets = _secrets(url)  # blanked out of engine messages
        self._con = con
        self.tables: dict[str, str] = {k: tables.get(k, k) for k in KINDS}
        self._log: list[Transfer] = []

    def __repr__(self) -> str:
        return f"Source({self.url!r}, tables={self.tables!r})"

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        disconnect = getattr(self._con, "disconnect", None)
        if disconnect is not None:
            disconnect()

    @property
    def transfers(self) -> tuple[Transfer, ...]:
        """Every query run so far, oldest first."""
        return tuple(self._log)

    @property
    def backend(self) -> str:
        """The ibis backend's name (``"duckdb"``, ``"postgres"``, ...)."""
        return str(self._con.name)

    def label(self, kind: Kind) -> str:
        """``"<redacted url> (table <name>)"``: how errors name a table."""
        return f"{self.url} (table {self.tables[kind]})"

    # -- expressions ------------------------------------------------------
    def table(self, kind: Kind) -> ir.Table:
        """The ibis table of ``kind``, checked for the canonical columns.

        Raises
        ------
        DataError
            Naming the URL and table when the table is missing or lacks a
            required column.
        """
        if kind not in SCHEMAS:
            raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
        name = self.tables[kind]
        database, _, short = name.rpartition(".")
        try:
            with _quiet():
                t = self._con.table(short, database=database or None)
        except Exception as exc:  # each backend raises its own "no such table"
            try:
                known = sorted(self._con.list_tables())
            except Exception:
                known = []
            raise DataError(
                self.label(kind),
                f"no table {name!r} ({_first_line(exc, self._secrets)}); tables: {known}",
            ) from None
        missing = [c for c in SCHEMAS[kind].required if c not in t.columns]
        if missing:
            raise DataError(
                self.label(kind),
                f"missing required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(c) for c in missing)} (found: {', '.join(t.columns)})",
            )
        return t

    def filtered(
        self,
        kind: Kind,
        *,
        region: str | Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
    ) -> ir.Table:
        """The table of ``kind`` with the region and period filters, as an ibis expression."""
        import ibis

        schema = SCHEMAS[kind]
        t = self.table(kind)
        lo, hi = _bounds(start, end)
        conds = []
        if region is not None:
            regions = [region] if isinstance(region, str) else [str(r) for r in region]
            conds.append(t["region"].isin(regions))
        date = t[schema.date_filter]
        if not date.type().is_timestamp():
            date = date.cast("timestamp")
        if lo is not None:
            conds.append(date >= ibis.literal(lo.to_pydatetime(), type="timestamp"))
        if hi is not None:
            conds.append(date < ibis.literal(hi.to_pydatetime(), type="timestamp"))
        return t.filter(*conds) if conds else t

    def sql(self, expr: ir.Expr) -> str:
        """The SQL the engine runs for ``expr`` (for inspection and EXPLAIN)."""
        import ibis

        return str(ibis.to_sql(expr))  # in the dialect of the backend the table is bound to

    def fetch(self, expr: ir.Table, kind: Kind) -> pd.DataFrame:
        """Run ``expr`` in the engine and bring its result back as a DataFrame (logged)."""
        arrow = self._arrow(expr, kind)
        return arrow.to_pandas()

    def _arrow(self, expr: ir.Table, kind: Kind) -> pa.Table:
        sql = self.sql(expr)
        try:
            with _quiet():
                arrow = self._con.to_pyarrow(expr)
        except Exception as exc:
            raise DataError(
                self.label(kind), f"query failed ({_first_line(exc, self._secrets)})"
            ) from None
        self._log.append(Transfer(sql=sql, rows=arrow.num_rows, nbytes=int(arrow.nbytes)))
        return arrow

    # -- rows -------------------------------------------------------------
    def load(
        self,
        kind: Kind,
        *,
        region: str | Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        scorecard: Scorecard | str | Path | None = None,
    ) -> pd.DataFrame:
        """The rows of ``kind`` in the region and period, filtered in the engine, validated.

        Parameters
        ----------
        kind : {"evaluations", "calibration", "tickets"}
            Which table.
        region, start, end
            Filters, run as SQL ``WHERE`` in the engine (see the class).
        scorecard : Scorecard or path, optional
            Validate criteria and scores against it (evaluations, calibration).

        Returns
        -------
        DataFrame
            As :func:`qa_analysis.io.load_evaluations` (and friends) return
            it, rows sorted by the table's key; ``attrs`` holds ``source``
            (the redacted URL and table), ``filters`` and ``note`` when the
            filters left no rows.

        Raises
        ------
        DataError
            Naming the URL (without its password) and the table, for a missing
            table or column, a failed query, an empty table, or rows the
            loader refuses.
        """
        schema = SCHEMAS[kind]
        lo, hi = _bounds(start, end)
        if lo is not None and hi is not None and hi <= lo:
            raise ValueError(f"end={end!r} is before start={start!r}")
        df = self.fetch(self.filtered(kind, region=region, start=start, end=end), kind)
        filters = {"region": region, "start": start, "end": end}
        if len(df) == 0:
            if region is None and start is None and end is None:
                raise DataError(self.label(kind), "no rows (the table is empty)")
            out = _empty(df, schema)
            out.attrs["note"] = (
                f"no {kind} rows in {self.label(kind)} for region={region!r}, "
                f"start={start!r}, end={end!r}"
            )
        else:
            try:
                if kind == "tickets":
                    out = io.load_tickets(df)
                elif kind == "calibration":
                    out = io.load_calibration(df, scorecard=scorecard)
                else:
                    out = io.load_evaluations(df, scorecard=scorecard)
            except DataError as exc:
                raise DataError(self.label(kind), exc.problems) from None
            out = out.sort_values(list(schema.key), kind="stable", ignore_index=True)
        out.attrs["source"] = self.label(kind)
        out.attrs["filters"] = filters
        return out

    # -- aggregates -------------------------------------------------------
    def ticket_strata(
        self,
        region: str | Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        *,
        strata: Sequence[str] = ("agent_id", "channel"),
    ) -> pd.DataFrame:
        """Tickets per sampling stratum (the population counts of an audit plan), counted in the engine.

        Parameters
        ----------
        region, start, end
            Filters on the tickets (``created_at``).
        strata : sequence of str
            Ticket columns defining a stratum.

        Returns
        -------
        DataFrame
            ``<strata...>, n_tickets`` (int64), one row per non-empty stratum,
            sorted by the strata.

        Notes
        -----
        Method: ``SELECT <strata>, COUNT(*) ... WHERE <filters> GROUP BY
        <strata>``; the population sizes :math:`N_h` that allocation and
        design weights need, without moving the tickets themselves.
        """
        strata = [strata] if isinstance(strata, str) else list(strata)
        if not strata:
            raise ValueError("strata must name at least one ticket column")
        t = self.filtered("tickets", region=region, start=start, end=end)
        missing = [c for c in strata if c not in t.columns]
        if missing:
            raise DataError(self.label("tickets"), f"no stratum column(s) {missing}")
        expr = t.group_by(strata).aggregate(n_tickets=t.count())
        return _tidy(self.fetch(expr, "tickets"), strata, ["n_tickets"])

    def per_agent(
        self,
        region: str | Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """Tickets handled and evaluations received per agent in the period, counted in the engine.

        Returns
        -------
        DataFrame
            ``agent_id, n_tickets, n_evaluations`` (int64; 0 where an agent has
            tickets but no evaluation or the reverse), sorted by ``agent_id``.
            ``n_evaluations`` counts distinct ``evaluation_id``.
        """
        t = self.filtered("tickets", region=region, start=start, end=end)
        e = self.filtered("evaluations", region=region, start=start, end=end)
        tickets = self.fetch(t.group_by("agent_id").aggregate(n_tickets=t.count()), "tickets")
        evals = self.fetch(
            e.group_by("agent_id").aggregate(n_evaluations=e["evaluation_id"].nunique()),
            "evaluations",
        )
        both = tickets.merge(evals, on="agent_id", how="outer")
        return _tidy(both, ["agent_id"], ["n_tickets", "n_evaluations"])

    def weekly(
        self,
        region: str | Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        *,
        by: str | Sequence[str] = (),
        freq: Literal["W", "MS"] = "W",
    ) -> pd.DataFrame:
        """Evaluations per week (or month) and group, counted in the engine.

        Parameters
        ----------
        region, start, end
            Filters on the evaluations (``evaluated_at``).
        by : str or sequence of str
            Grouping columns besides the period (e.g. ``"agent_id"``).
        freq : {"W", "MS"}
            Weeks starting on Monday (``period`` = the Monday, as
            :func:`qa_analysis.trends.aggregate`) or calendar months.

        Returns
        -------
        DataFrame
            ``period, <by...>, n_evaluations, n_agents`` (distinct
            ``evaluation_id`` and ``agent_id``), sorted by period then group;
            periods without evaluations are absent.
        """
        units = {"W": "W", "MS": "M"}
        if freq not in units:
            raise ValueError(f"freq must be 'W' (weeks starting Monday) or 'MS', got {freq!r}")
        groups = [by] if isinstance(by, str) else list(by)
        e = self.filtered("evaluations", region=region, start=start, end=end)
        date = e["evaluated_at"]
        if not date.type().is_timestamp():
            date = date.cast("timestamp")
        e = e.mutate(period=date.truncate(units[freq]))
        expr = e.group_by(["period", *groups]).aggregate(
            n_evaluations=e["evaluation_id"].nunique(), n_agents=e["agent_id"].nunique()
        )
        df = self.fetch(expr, "evaluations")
        df["period"] = pd.to_datetime(df["period"]).astype("datetime64[ns]")
        return _tidy(df, ["period", *groups], ["n_evaluations", "n_agents"])


def open_source(url: str, *, tables: Mapping[str, str] | None = None) -> Source:
    """Connect to the database at ``url`` (see the module docstring for the forms).

    Parameters
    ----------
    url : str
        ``duckdb:///path``, ``postgres://...``, or another URL ibis accepts.
        A fragment ``#evaluations=name&tickets=name`` renames tables.
    tables : mapping, optional
        ``{kind: table name}`` for tables not named ``evaluations``,
        ``calibration``, ``tickets`` (``schema.table`` allowed); wins over
        the fragment.

    Returns
    -------
    Source

    Raises
    ------
    DataError
        When the engine cannot be reached (the message names the URL with its
        password removed), or a table name is for an unknown kind.
    ImportError
        When ibis (or the engine's driver) is not installed.

    References
    ----------
    .. [1] Ibis, "ibis.connect", https://ibis-project.org/reference/connection

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from qa_analysis.demo import generate
    >>> url = "duckdb:///" + str(Path(tempfile.mkdtemp()) / "qa.duckdb").lstrip("/")
    >>> d = generate(seed=1, small=True)
    >>> write_tables(url, {"evaluations": d.evaluations, "tickets": d.tickets})
    >>> with open_source(url) as src:
    ...     month = src.load("evaluations", region="EU", start="2026-10-01", end="2026-10-31")
    ...     strata = src.ticket_strata("EU", "2026-10-01", "2026-10-31")
    >>> int(month["region"].eq("EU").all()), int(strata["n_tickets"].sum()) > 0
    (1, True)
    """
    if not is_database_url(url):
        raise DataError(
            str(url), "not a database URL (expected e.g. duckdb:///path or postgres://...)"
        )
    try:
        import ibis
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    parts = urllib.parse.urlsplit(url)
    names = dict(urllib.parse.parse_qsl(parts.fragment))
    names.update(tables or {})
    unknown = sorted(set(names) - set(KINDS))
    if unknown:
        raise DataError(redact_url(url), f"unknown table kind(s) {unknown}; use {list(KINDS)}")
    plain = urllib.parse.urlunsplit(parts._replace(fragment=""))
    scheme = parts.scheme.lower()
    kwargs: dict[str, Any] = {}
    if scheme == "duckdb":
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if not Path(path).is_file():
            raise DataError(redact_url(url), f"cannot connect (no DuckDB file at {path})")
        kwargs["read_only"] = True
    try:
        con = ibis.connect(plain, **kwargs)
    except ImportError as exc:
        raise ImportError(f"{_INSTALL}; for {scheme}: {exc}") from exc
    except Exception as exc:
        raise DataError(
            redact_url(url), f"cannot connect ({_first_line(exc, _secrets(url))})"
        ) from None
    return Source(url, con, names)


def write_tables(url: str, frames: Mapping[str, pd.DataFrame], *, overwrite: bool = True) -> None:
    """Write DataFrames as tables of the database at ``url`` (e.g. the demo into a warehouse).

    Parameters
    ----------
    url : str
        Database URL (``duckdb:///path`` creates the file).
    frames : mapping
        ``{table name: DataFrame}``.
    overwrite : bool
        Replace existing tables.

    Notes
    -----
    PostgreSQL tables are filled with ``COPY ... FROM STDIN`` (much faster
    than row inserts); other engines through ibis's ``create_table``.
    """
    try:
        import ibis
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    plain = urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(fragment=""))
    try:
        con = ibis.connect(plain)
    except Exception as exc:
        raise DataError(
            redact_url(url), f"cannot connect ({_first_line(exc, _secrets(url))})"
        ) from None
    try:
        for name, df in frames.items():
            if con.name == "postgres":
                _copy_postgres(con, name, df, overwrite)
            elif con.name == "duckdb":
                _write_duckdb(con, name, df, overwrite)
            else:
                con.create_table(name, _pa_table(df), overwrite=overwrite)
    finally:
        con.disconnect()


# ---------------------------------------------------------------------------
# internals
# ---------------------------------------------------------------------------
_PG_TYPES = {"b": "boolean", "i": "bigint", "u": "bigint", "f": "double precision"}


def _copy_postgres(con: Any, name: str, df: pd.DataFrame, overwrite: bool) -> None:
    cols = []
    for c, dtype in df.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype):
            typ = "timestamp"
        else:
            typ = _PG_TYPES.get(np.dtype(dtype).kind if isinstance(dtype, np.dtype) else "", "text")
        cols.append(f"{_ident(str(c))} {typ}")
    raw = con.con  # the psycopg connection under ibis
    with raw.cursor() as cur:
        if overwrite:
            cur.execute(f"DROP TABLE IF EXISTS {_ident(name)}")
        cur.execute(f"CREATE TABLE {_ident(name)} ({', '.join(cols)})")
        text = df.to_csv(
            index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d %H:%M:%S.%f"
        )
        with cur.copy(f"COPY {_ident(name)} FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
            copy.write(text)
    raw.commit()


def _write_duckdb(con: Any, name: str, df: pd.DataFrame, overwrite: bool) -> None:
    raw = con.con  # the duckdb connection under ibis
    raw.register("__qa_frame", _pa_table(df))
    try:
        verb = "CREATE OR REPLACE TABLE" if overwrite else "CREATE TABLE"
        raw.execute(f"{verb} {_ident(name)} AS SELECT * FROM __qa_frame")
    finally:
        raw.unregister("__qa_frame")


def _pa_table(df: pd.DataFrame) -> pa.Table:
    """``df`` as an Arrow table (no index)."""
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence ibis 12's use of a fetch method DuckDB 1.4+ deprecates (not ours to fix)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        yield


def _ident(name: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in name.split("."))


def _bounds(start: Any, end: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Inclusive [start, end] as [lo, hi), exactly as the file loaders read them."""
    return io._bounds(start, end)


def _empty(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """A zero-row result with the loaders' dtypes."""
    out = df.copy()
    for c in schema.dates:
        out[c] = out[c].astype("datetime64[ns]")
    for c in schema.numbers + schema.optional_numbers:
        if c in out.columns:
            out[c] = out[c].astype(float)
    for c in schema.ids:
        out[c] = out[c].astype("str")
    return out


def _tidy(df: pd.DataFrame, keys: list[str], counts: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in counts:
        out[c] = out[c].fillna(0).astype(np.int64)
    out = out[[*keys, *counts]].sort_values(keys, kind="stable", ignore_index=True)
    return out


def _secrets(url: str) -> list[str]:
    """The password of ``url`` (authority or query), raw and percent-decoded."""
    parts = urllib.parse.urlsplit(url)
    found = [parts.password or ""]
    found += [v for k, v in urllib.parse.parse_qsl(parts.query) if k.lower() in ("password", "pwd")]
    return sorted(
        {t for f in found for t in (f, urllib.parse.unquote(f)) if t}, key=len, reverse=True
    )


def _first_line(exc: BaseException, secrets: Sequence[str]) -> str:
    """The first line of an engine's message, with any secret blanked out."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    for secret in secrets:
        line = line.replace(secret, "***")
    return line
