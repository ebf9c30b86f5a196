"""qa_analysis.sources: database URLs as data, with the filters and counts run in the engine.

The PostgreSQL tests run against a real temporary server (tests/conftest_postgres.py)
and skip with a message when no server binary is installed.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest_postgres import (  # noqa: F401 (postgres_server is a fixture)
    PostgresServer,
    find_bindir,
    postgres_server,
)

from qa_analysis import io, sources
from qa_analysis.demo import write_demo
from qa_analysis.errors import DataError
from qa_analysis.scorecard import Scorecard

pytest.importorskip("ibis", reason="ibis-framework is not installed")

REGION = "EU"
MONTH = ("2026-10-01", "2026-10-31")
HISTORY = ("2026-04-01", "2026-10-31")


def duckdb_url(path: Path) -> str:
    return f"duckdb://{Path(path).resolve()}"


def by_key(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    key = list(io.SCHEMAS[kind].key)
    return df.sort_values(key, kind="stable", ignore_index=True)


def file_load(folder: Path, kind: str, scorecard: Scorecard | None, **filters) -> pd.DataFrame:
    loader = {"evaluations": io.load_evaluations, "calibration": io.load_calibration}
    if kind == "tickets":
        return io.load_tickets(folder / f"{kind}.parquet", **filters)
    return loader[kind](folder / f"{kind}.parquet", scorecard=scorecard, **filters)


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder, seed=1, small=True)
    return folder


@pytest.fixture(scope="session")
def scorecard(demo_folder) -> Scorecard:
    return Scorecard.from_yaml(demo_folder / "scorecard.yaml")


@pytest.fixture(scope="session")
def duck(demo_folder) -> str:
    return duckdb_url(demo_folder / "qa.duckdb")


@pytest.fixture(scope="session")
def pg(postgres_server, demo_folder) -> str:  # noqa: F811 (fixture parameter)
    frames = {k: pd.read_parquet(demo_folder / f"{k}.parquet") for k in sources.KINDS}
    sources.write_tables(postgres_server.url, frames)
    return postgres_server.url


def pg_log_since(server: PostgresServer, offset: int) -> str:
    return server.log_text()[offset:]


# ---------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------
def test_paths_and_file_urls_are_not_database_urls():
    assert not sources.is_database_url("data/demo/qa.duckdb")
    assert not sources.is_database_url("file:///data/demo/qa.duckdb")
    assert not sources.is_database_url(Path("/x.duckdb"))
    assert sources.is_database_url("snowflake://user@account/db/schema")


def test_redact_url_hides_a_percent_encoded_password():
    url = "postgresql://qa:p%40ss%3Aword@db.example.com/wh"
    assert sources.redact_url(url) == "postgresql://qa:***@db.example.com/wh"


# ---------------------------------------------------------------------------
# DuckDB: rows equal the file loaders'
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sources.KINDS)
def test_duckdb_load_equals_the_file_loader_with_the_same_filters(
    duck, demo_folder, scorecard, kind
):
    start = MONTH[0] if kind == "tickets" else HISTORY[0]
    with sources.open_source(duck) as src:
        got = src.load(kind, region=REGION, start=start, end=MONTH[1], scorecard=scorecard)
    want = file_load(demo_folder, kind, scorecard, region=REGION, start=start, end=MONTH[1])
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, by_key(want, kind))
    assert got.attrs["source"] == f"{duck} (table {kind})"


def test_filter_leaving_no_rows_gives_a_typed_empty_frame_with_a_note(duck):
    with sources.open_source(duck) as src:
        got = src.load("evaluations", region="nowhere", start=MONTH[0], end=MONTH[1])
    assert len(got) == 0
    assert got["evaluated_at"].dtype == "datetime64[ns]"
    assert got["score"].dtype == np.float64
    assert "no evaluations rows" in got.attrs["note"]


def test_end_before_start_is_refused(duck):
    with sources.open_source(duck) as src, pytest.raises(ValueError, match="before start"):
        src.load("tickets", start="2026-10-31", end="2026-10-01")


# ---------------------------------------------------------------------------
# DuckDB: aggregates equal pandas on the loaded rows
# ---------------------------------------------------------------------------
def test_ticket_strata_are_the_ticket_counts_per_agent_and_channel(duck, demo_folder):
    with sources.open_source(duck) as src:
        got = src.ticket_strata(REGION, *MONTH)
    tickets = file_load(demo_folder, "tickets", None, region=REGION, start=MONTH[0], end=MONTH[1])
    want = tickets.groupby(["agent_id", "channel"]).size().rename("n_tickets").reset_index()
    pd.testing.assert_frame_equal(got, want.astype({"n_tickets": np.int64}))


def test_ticket_strata_refuse_an_unknown_stratum_column(duck):
    with sources.open_source(duck) as src, pytest.raises(DataError, match="shoe_size"):
        src.ticket_strata(REGION, *MONTH, strata=("agent_id", "shoe_size"))


def test_per_agent_counts_tickets_and_distinct_evaluations(duck, demo_folder, scorecard):
    with sources.open_source(duck) as src:
        got = src.per_agent(REGION, *MONTH)
    f = {"region": REGION, "start": MONTH[0], "end": MONTH[1]}
    ev = file_load(demo_folder, "evaluations", scorecard, **f)
    tk = file_load(demo_folder, "tickets", None, **f)
    want = pd.concat(
        [
            tk.groupby("agent_id").size().rename("n_tickets"),
            ev.groupby("agent_id")["evaluation_id"].nunique().rename("n_evaluations"),
        ],
        axis=1,
    )
    want = want.fillna(0).astype(np.int64).rename_axis("agent_id").reset_index()
    pd.testing.assert_frame_equal(got, want.sort_values("agent_id", ignore_index=True))


@pytest.mark.parametrize("freq", ["W", "MS"])
def test_weekly_counts_use_monday_weeks_like_trends(duck, demo_folder, scorecard, freq):
    with sources.open_source(duck) as src:
        got = src.weekly(REGION, *HISTORY, by="channel", freq=freq)
    ev = file_load(
        demo_folder, "evaluations", scorecard, region=REGION, start=HISTORY[0], end=HISTORY[1]
    )
    d = ev["evaluated_at"].dt.normalize()
    ev["period"] = (
        d - pd.to_timedelta(d.dt.day_of_week, unit="D")
        if freq == "W"
        else d.dt.to_period("M").dt.start_time
    )
    want = (
        ev.groupby(["period", "channel"])
        .agg(n_evaluations=("evaluation_id", "nunique"), n_agents=("agent_id", "nunique"))
        .reset_index()
        .astype({"n_evaluations": np.int64, "n_agents": np.int64, "period": "datetime64[ns]"})
    )
    assert (
        (got["period"].dt.day_of_week == 0).all()
        if freq == "W"
        else (got["period"].dt.day == 1).all()
    )
    pd.testing.assert_frame_equal(got, want)


# ---------------------------------------------------------------------------
# tables by other names
# ---------------------------------------------------------------------------
def test_tables_are_renamed_by_the_url_fragment_or_the_tables_argument(tmp_path, demo_folder):
    evals = pd.read_parquet(demo_folder / "evaluations.parquet")
    url = duckdb_url(tmp_path / "wh.duckdb")
    sources.write_tables(url, {"qa_evals": evals})
    with sources.open_source(url + "#evaluations=qa_evals") as src:
        a = src.load("evaluations", region=REGION, start=MONTH[0], end=MONTH[1])
    with sources.open_source(url, tables={"evaluations": "qa_evals"}) as src:
        b = src.load("evaluations", region=REGION, start=MONTH[0], end=MONTH[1])
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["source"].endswith("(table qa_evals)")


def test_dates_stored_as_text_are_filtered_like_timestamps(tmp_path, duck, demo_folder):
    tickets = pd.read_parquet(demo_folder / "tickets.parquet")
    tickets["created_at"] = tickets["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    url = duckdb_url(tmp_path / "text_dates.duckdb")
    sources.write_tables(url, {"tickets": tickets})
    with sources.open_source(url) as src, sources.open_source(duck) as typed:
        got = src.load("tickets", region=REGION, start=MONTH[0], end=MONTH[1])
        want = typed.load("tickets", region=REGION, start=MONTH[0], end=MONTH[1])
    pd.testing.assert_frame_equal(got, want, check_index_type=False)
    assert "CAST" in src.transfers[-1].sql


def test_a_path_is_not_opened_as_a_database(demo_folder):
    with pytest.raises(DataError, match="not a database URL"):
        sources.open_source(str(demo_folder / "qa.duckdb"))


def test_an_unknown_kind_in_the_fragment_is_refused(duck):
    with pytest.raises(DataError, match="unknown table kind"):
        sources.open_source(duck + "#evals=qa_evals")


# ---------------------------------------------------------------------------
# errors name the URL (never its password) and the table / column
# ---------------------------------------------------------------------------
def test_a_missing_duckdb_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no DuckDB file"):
        sources.open_source(duckdb_url(tmp_path / "absent.duckdb"))


def test_a_missing_table_is_a_data_error_naming_url_and_table(tmp_path, demo_folder):
    url = duckdb_url(tmp_path / "only_tickets.duckdb")
    sources.write_tables(url, {"tickets": pd.read_parquet(demo_folder / "tickets.parquet")})
    with sources.open_source(url) as src, pytest.raises(DataError) as err:
        src.load("calibration")
    assert err.value.source == f"{url} (table calibration)"
    assert "no table 'calibration'" in str(err.value)
    assert "tickets" in str(err.value)  # the tables that do exist


def test_a_missing_column_is_a_data_error_naming_the_column(tmp_path, demo_folder):
    url = duckdb_url(tmp_path / "no_agent.duckdb")
    tickets = pd.read_parquet(demo_folder / "tickets.parquet").drop(columns="agent_id")
    sources.write_tables(url, {"tickets": tickets})
    with sources.open_source(url) as src, pytest.raises(DataError, match="'agent_id'") as err:
        src.ticket_strata(REGION, *MONTH)
    assert url in str(err.value)


def test_rows_the_loader_refuses_are_reported_against_the_url(tmp_path, demo_folder, scorecard):
    evals = pd.read_parquet(demo_folder / "evaluations.parquet")
    evals.loc[evals["criterion"].eq("greeting").idxmax(), "score"] = 9.0  # a 0/1 criterion
    url = duckdb_url(tmp_path / "bad.duckdb")
    sources.write_tables(url, {"evaluations": evals})
    with sources.open_source(url) as src, pytest.raises(DataError, match="off the scale") as err:
        src.load("evaluations", scorecard=scorecard)
    assert err.value.source == f"{url} (table evaluations)"


def test_an_unreachable_server_is_a_data_error_without_the_password(tmp_path):
    pytest.importorskip("psycopg")
    url = f"postgresql://qa:hunter2secret@/warehouse?host={tmp_path / 'no-server-here'}"
    with pytest.raises(DataError, match="cannot connect") as err:
        sources.open_source(url)
    assert "hunter2secret" not in str(err.value)
    assert "postgresql://qa:***@/warehouse" in str(err.value)


# ---------------------------------------------------------------------------
# the push-down, seen by DuckDB
# ---------------------------------------------------------------------------
def _explain(path: Path, sql: str) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        plan = "\n".join(str(r[1]) for r in con.execute("EXPLAIN " + sql).fetchall())
    return re.sub(r"[\s_]", "", plan).upper()  # "Hash Group By" / "HASH_GROUP_BY" alike


def _count(path: Path, sql: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return int(con.execute(sql).fetchone()[0])


def test_duckdb_runs_the_filters_and_the_per_agent_count(duck, demo_folder):
    path = demo_folder / "qa.duckdb"
    with sources.open_source(duck) as src:
        month = src.load("evaluations", region=REGION, start=MONTH[0], end=MONTH[1])
        load_sql = src.transfers[-1]
        src.per_agent(REGION, *MONTH)
        agent_sql = src.transfers[-1]  # the evaluations per agent
    # the SQL sent carries the WHERE and the GROUP BY ...
    assert re.search(r"WHERE\s.*\"region\" IN \('EU'\)", load_sql.sql, re.S)
    assert '"evaluated_at" >=' in load_sql.sql and '"evaluated_at" <' in load_sql.sql
    assert "GROUP BY" in agent_sql.sql and "COUNT(DISTINCT" in agent_sql.sql
    # ... DuckDB's plan filters in the scan and aggregates in a hash group-by ...
    plan = _explain(path, load_sql.sql)
    assert "REGION='EU'" in plan and "EVALUATEDAT>=" in plan
    assert "HASHGROUPBY" in _explain(path, agent_sql.sql)
    # ... and only the filtered rows, and one row per agent, came back
    n_month = _count(
        path,
        "SELECT COUNT(*) FROM evaluations WHERE region = 'EU' "
        "AND evaluated_at >= '2026-10-01' AND evaluated_at < '2026-11-01'",
    )
    n_all = _count(path, "SELECT COUNT(*) FROM evaluations")
    assert load_sql.rows == len(month) == n_month < n_all
    assert agent_sql.rows == month["agent_id"].nunique()


# ---------------------------------------------------------------------------
# PostgreSQL: a real server
# ---------------------------------------------------------------------------
def test_server_binaries_are_found_in_debian_layout_or_not_at_all(tmp_path):
    assert find_bindir(path=str(tmp_path), debian_root=tmp_path) is None  # -> tests skip
    for version in ("13", "15"):
        (tmp_path / version / "bin").mkdir(parents=True)
        for name in ("initdb", "pg_ctl"):
            (tmp_path / version / "bin" / name).write_text("")
    assert find_bindir(path=str(tmp_path), debian_root=tmp_path) == tmp_path / "15" / "bin"


@pytest.mark.parametrize("kind", sources.KINDS)
def test_postgres_load_equals_duckdb(pg, duck, scorecard, kind):
    start = MONTH[0] if kind == "tickets" else HISTORY[0]
    f = {"region": REGION, "start": start, "end": MONTH[1]}
    sc = None if kind == "tickets" else scorecard
    with sources.open_source(pg) as p, sources.open_source(duck) as d:
        got, want = p.load(kind, scorecard=sc, **f), d.load(kind, scorecard=sc, **f)
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, want, check_like=False)


def test_postgres_aggregates_equal_duckdb(pg, duck):
    with sources.open_source(pg) as p, sources.open_source(duck) as d:
        for name, args, kwargs in [
            ("ticket_strata", (REGION, *MONTH), {}),
            ("ticket_strata", (None, *MONTH), {"strata": ("region", "queue")}),
            ("per_agent", (REGION, *MONTH), {}),
            ("weekly", (REGION, *HISTORY), {"by": "agent_id"}),
            ("weekly", (["EU", "NA"], *HISTORY), {"by": "region", "freq": "MS"}),
        ]:
            got = getattr(p, name)(*args, **kwargs)
            want = getattr(d, name)(*args, **kwargs)
            assert len(got) > 0
            pd.testing.assert_frame_equal(got, want, obj=f"{name}{args}{kwargs}")


def test_postgres_server_runs_the_filters_and_the_per_agent_count(pg, postgres_server):  # noqa: F811
    offset = len(postgres_server.log_text())
    with sources.open_source(pg) as src:
        month = src.load("tickets", region=REGION, start=MONTH[0], end=MONTH[1])
        load = src.transfers[-1]
        per_agent = src.per_agent(REGION, *MONTH)
        counted = src.transfers[-2]  # tickets per agent
        n_all = src.fetch(src.table("tickets").count().as_table(), "tickets").iat[0, 0]
    log = pg_log_since(postgres_server, offset)
    statements = [s for s in log.split(" LOG:  ") if '"tickets"' in s]
    # the server received the region and date range as a WHERE, and the GROUP BY agent_id
    where = [s for s in statements if re.search(r"WHERE .*\"region\" IN \('EU'\)", s)]
    assert any(
        "\"created_at\" >= CAST('2026-10-01T00:00:00' AS TIMESTAMP)" in s
        and "\"created_at\" < CAST('2026-11-01T00:00:00' AS TIMESTAMP)" in s
        for s in where
    )
    assert any(re.search(r'GROUP BY\s+(1|"t\d"\."agent_id")', s) and "COUNT(*)" in s for s in where)
    # and sent back the filtered rows only, and one row per agent
    assert load.rows == len(month) < n_all
    assert counted.rows == len(per_agent) == month["agent_id"].nunique()


def test_schema_qualified_table_names_work_on_postgres(pg, postgres_server, demo_folder):  # noqa: F811
    import psycopg

    tickets = pd.read_parquet(demo_folder / "tickets.parquet")
    with psycopg.connect(f"host={postgres_server.socket_dir} user=qa dbname=postgres") as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS support")
    sources.write_tables(pg, {"support.zendesk_tickets": tickets})
    with sources.open_source(pg, tables={"tickets": "support.zendesk_tickets"}) as src:
        got = src.ticket_strata(REGION, *MONTH)
    with sources.open_source(pg) as src:
        want = src.ticket_strata(REGION, *MONTH)
    pd.testing.assert_frame_equal(got, want)


def _report_kpis(data: str | Path, out: Path) -> bytes:
    """Both regional reports' KPIs for EU 2026-10 from ``data``, as the notebooks compute them."""
    from qa_analysis.report import calibration as cal
    from qa_analysis.report import performance as perf
    from qa_analysis.report.data import load_report_data

    loaded = load_report_data(
        data,
        Path(str(data)).parent / "scorecard.yaml"
        if "://" not in str(data)
        else Path(out).parent / "scorecard.yaml",
        region=REGION,
        period="2026-10",
        history_months=6,
        pseudonymise=False,
    )
    res = cal.calibration_results(
        loaded.calibration, loaded.scorecard, loaded.window, seed=7, region=REGION
    )
    d = perf.performance_data(
        loaded.evaluations, loaded.tickets, loaded.scorecard, loaded.window, seed=7, region=REGION
    )
    kpis = {
        "calibration": cal.calibration_kpis(res),
        "performance": perf.performance_kpis(d, perf.all_sections(d).values()),
    }
    return io.write_kpis(kpis, out).read_bytes()


@pytest.mark.slow
def test_report_kpis_are_identical_from_files_duckdb_and_postgresql(
    tmp_path, demo_folder, duck, pg
):
    (tmp_path / "scorecard.yaml").write_bytes((demo_folder / "scorecard.yaml").read_bytes())
    from_files = _report_kpis(str(demo_folder / "qa.duckdb"), tmp_path / "files.json")
    from_duckdb_url = _report_kpis(duck, tmp_path / "duckdb.json")
    from_postgres = _report_kpis(pg, tmp_path / "postgres.json")
    assert b'"n_sessions"' in from_files and b'"pass_rate"' in from_files
    assert from_duckdb_url == from_files
    assert from_postgres == from_files
