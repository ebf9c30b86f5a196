"""Loaders, validation, wide->long and atomic writers (qa_analysis.io)."""

from __future__ import annotations

import json
import os

import duckdb
import numpy as np
import pandas as pd
import pytest

from qa_analysis import io
from qa_analysis.io import DataError
from qa_analysis.scorecard import Scorecard

SCORECARD = Scorecard.from_dict(
    {
        "pass_mark": 80,
        "criteria": [
            {"id": "greeting", "scale": [0, 1], "na_allowed": False},
            {"id": "tools", "scale": [0, 1], "na_allowed": True},
            {"id": "tone", "scale": [1, 2, 3, 4, 5], "na_allowed": False},
        ],
    }
)


def evaluations_frame() -> pd.DataFrame:
    """Two evaluations x three criteria, valid against SCORECARD."""
    rows = []
    for e, (region, day) in enumerate([("EU", "2026-10-05"), ("NA", "2026-09-20")], start=1):
        for crit, score in [("greeting", 1), ("tools", np.nan), ("tone", 4)]:
            rows.append(
                {
                    "evaluation_id": f"E{e}",
                    "ticket_id": f"T{e}",
                    "agent_id": f"A{e}",
                    "reviewer_id": "R1",
                    "region": region,
                    "market": "DE",
                    "channel": "chat",
                    "queue": "billing",
                    "evaluated_at": f"{day} 10:00:00",
                    "criterion": crit,
                    "score": score,
                }
            )
    return pd.DataFrame(rows)


def calibration_frame() -> pd.DataFrame:
    rows = []
    for rater, role in [("S1", "specialist"), ("X1", "expert")]:
        for crit in ("greeting", "tone"):
            rows.append(
                {
                    "session_id": "C1",
                    "session_date": "2026-10-01",
                    "region": "EU",
                    "ticket_id": "T1",
                    "rater_id": rater,
                    "role": role,
                    "criterion": crit,
                    "score": 1 if crit == "greeting" else 3,
                }
            )
    return pd.DataFrame(rows)


def tickets_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticket_id": ["T1", "T2", "T3"],
            "agent_id": "A1",
            "region": ["EU", "EU", "NA"],
            "market": "DE",
            "channel": "chat",
            "queue": "billing",
            "created_at": ["2026-10-01", "2026-10-31 23:59", "2026-11-01"],
        }
    )


def write_csv(df: pd.DataFrame, path) -> str:
    df.to_csv(path, index=False)
    return str(path)


# -- valid input ---------------------------------------------------------------
def test_valid_evaluations_load_with_canonical_dtypes():
    df = io.load_evaluations(evaluations_frame(), scorecard=SCORECARD)
    assert len(df) == 6
    assert pd.api.types.is_datetime64_any_dtype(df["evaluated_at"])
    assert df["score"].dtype == float
    assert df["score"].isna().sum() == 2  # tools is N/A on both evaluations, allowed


def test_loader_never_modifies_the_input_frame():
    raw = evaluations_frame()
    before = raw.copy()
    io.load_evaluations(raw, scorecard=SCORECARD, region="EU")
    pd.testing.assert_frame_equal(raw, before)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_every_source_format_gives_the_same_table(tmp_path, fmt):
    raw = evaluations_frame()
    if fmt == "csv":
        src = write_csv(raw, tmp_path / "e.csv")
    elif fmt == "parquet":
        src = str(tmp_path / "e.parquet")
        raw.assign(evaluated_at=pd.to_datetime(raw["evaluated_at"])).to_parquet(src)
    else:
        src = str(tmp_path / "e.duckdb")
        with duckdb.connect(src) as con:
            con.register("raw", raw)
            con.execute("CREATE TABLE evaluations AS SELECT * FROM raw")
    df = io.load_evaluations(src, scorecard=SCORECARD)
    expected = io.load_evaluations(raw, scorecard=SCORECARD)
    pd.testing.assert_frame_equal(
        df[expected.columns].reset_index(drop=True), expected, check_dtype=False
    )


def test_glob_of_parquet_files_loads_them_all(tmp_path):
    raw = evaluations_frame()
    raw.iloc[:3].to_parquet(tmp_path / "part1.parquet")
    raw.iloc[3:].to_parquet(tmp_path / "part2.parquet")
    df = io.load_evaluations(str(tmp_path / "*.parquet"))
    assert len(df) == 6 and "__file" not in df.columns


def test_region_and_date_filters_are_inclusive(tmp_path):
    src = write_csv(tickets_frame(), tmp_path / "t.csv")
    df = io.load_tickets(src, region="EU", start="2026-10-01", end="2026-10-31")
    assert df["ticket_id"].tolist() == ["T1", "T2"]  # end date covers its whole day


def test_filter_leaving_no_rows_returns_typed_empty_frame_and_nothing_in_attrs():
    df = io.load_evaluations(evaluations_frame(), region="APAC")
    assert len(df) == 0
    assert pd.api.types.is_datetime64_any_dtype(df["evaluated_at"])
    assert "score" in df.columns and df["score"].dtype == float
    assert df.attrs == {}


def test_duckdb_filter_on_empty_slice_is_not_an_error(tmp_path):
    src = str(tmp_path / "q.duckdb")
    raw = tickets_frame()
    with duckdb.connect(src) as con:
        con.register("raw", raw)
        con.execute("CREATE TABLE tickets AS SELECT * FROM raw")
    df = io.load_tickets(src, region="MEA")
    assert len(df) == 0 and list(df.columns)[:2] == ["ticket_id", "agent_id"]


def test_duckdb_region_month_filter_is_pushed_into_the_scan(tmp_path):
    """One region and one month read only that slice: the filter sits in DuckDB's table
    scan, which skips row groups outside it (shown by DuckDB's own profiler)."""
    n = 2_400_000  # about 20 DuckDB row groups of 122,880 rows
    rng = np.random.default_rng(0)
    region = np.repeat(np.array(["APAC", "EU", "LATAM", "MEA", "NA"]), n // 5)
    created = pd.Timestamp("2025-11-01") + pd.to_timedelta(
        np.tile(np.sort(rng.integers(0, 365 * 86400, n // 5)), 5), unit="s"
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": np.arange(n),
            "agent_id": "A1",
            "region": region,
            "market": "X",
            "channel": "chat",
            "queue": "q",
            "created_at": created,
        }
    )
    src = str(tmp_path / "qa.duckdb")
    with duckdb.connect(src) as con:
        con.register("tickets", tickets)
        con.execute("CREATE TABLE tickets AS SELECT * FROM tickets")
    sql, params = io.load_query("tickets", src, region="EU", start="2026-10-01", end="2026-10-31")
    prof = tmp_path / "profile.json"
    with duckdb.connect(src, read_only=True) as con:
        con.execute("PRAGMA enable_profiling='json'")
        con.execute(f"PRAGMA profiling_output='{prof}'")
        n_out = len(con.execute(sql, params).fetchall())

    def scans(node):
        if node.get("type") == "TABLE_SCAN" or node.get("operator_type") == "TABLE_SCAN":
            yield node
        for child in node.get("children", []):
            yield from scans(child)

    plan = json.loads(prof.read_text())
    scan = next(s for top in plan.get("operator", [plan]) for s in scans(top))
    filters = " ".join(scan["extra_info"].get("Filters", []))
    assert "region" in filters and "created_at" in filters
    assert scan["total_row_groups_to_scan"] >= 19
    assert scan["row_groups_scanned"] <= 2  # the month of EU lies in one or two row groups
    expected = ((region == "EU") & (created >= "2026-10-01") & (created < "2026-11-01")).sum()
    assert (
        n_out
        == expected
        == len(io.load_tickets(src, region="EU", start="2026-10-01", end="2026-10-31"))
    )


# -- malformed input: one test per case, each names column and rows ------------
def test_missing_required_column_names_the_column(tmp_path):
    src = write_csv(evaluations_frame().drop(columns="reviewer_id"), tmp_path / "e.csv")
    with pytest.raises(DataError, match=r"e\.csv: missing required column 'reviewer_id'"):
        io.load_evaluations(src)


def test_unknown_criterion_names_column_and_lines(tmp_path):
    raw = evaluations_frame()
    raw.loc[4, "criterion"] = "tonee"
    src = write_csv(raw, tmp_path / "e.csv")
    with pytest.raises(DataError) as err:
        io.load_evaluations(src, scorecard=SCORECARD)
    msg = str(err.value)
    assert "column 'criterion'" in msg and "not on the scorecard" in msg
    assert "line 6 (criterion='tonee')" in msg  # header is line 1, row 4 is line 6


def test_score_off_the_scale_names_criterion_and_line(tmp_path):
    raw = evaluations_frame()
    raw.loc[2, "score"] = 7
    src = write_csv(raw, tmp_path / "e.csv")
    with pytest.raises(DataError) as err:
        io.load_evaluations(src, scorecard=SCORECARD)
    msg = str(err.value)
    assert "column 'score'" in msg and "off the scale of criterion 'tone'" in msg
    assert "line 4 (criterion='tone', score='7.0')" in msg
    assert "1 row" in msg


def test_na_on_criterion_that_does_not_allow_it(tmp_path):
    raw = evaluations_frame()
    raw.loc[3, "score"] = np.nan  # greeting of E2
    src = write_csv(raw, tmp_path / "e.csv")
    with pytest.raises(
        DataError, match=r"column 'score': empty score \(N/A\) on criterion 'greeting'.*line 5"
    ):
        io.load_evaluations(src, scorecard=SCORECARD)


def test_duplicate_evaluation_criterion(tmp_path):
    raw = pd.concat([evaluations_frame(), evaluations_frame().iloc[[0]]], ignore_index=True)
    src = write_csv(raw, tmp_path / "e.csv")
    with pytest.raises(DataError) as err:
        io.load_evaluations(src)
    msg = str(err.value)
    assert "duplicate (evaluation_id, criterion) in 2 rows" in msg
    assert "line 2 " in msg and "line 8 " in msg


def test_duplicate_calibration_rating(tmp_path):
    raw = pd.concat([calibration_frame(), calibration_frame().iloc[[1]]], ignore_index=True)
    src = write_csv(raw, tmp_path / "c.csv")
    with pytest.raises(
        DataError,
        match=r"duplicate \(session_id, ticket_id, rater_id, criterion\) in 2 rows: line 3 .*line 6",
    ):
        io.load_calibration(src)


def test_unparseable_date_names_column_and_line(tmp_path):
    raw = evaluations_frame()
    raw.loc[1, "evaluated_at"] = "05/13/2026 noon"
    src = write_csv(raw, tmp_path / "e.csv")
    with pytest.raises(
        DataError,
        match=r"column 'evaluated_at': unparseable date .* line 3 \(evaluated_at='05/13/2026 noon'\)",
    ):
        io.load_evaluations(src)


def test_unparseable_date_is_not_hidden_by_a_date_filter(tmp_path):
    raw = evaluations_frame()
    raw.loc[1, "evaluated_at"] = "yesterday"
    src = str(tmp_path / "e.parquet")
    raw.to_parquet(src)  # dates stored as text
    with pytest.raises(DataError, match="unparseable date"):
        io.load_evaluations(src, start="2026-10-01", end="2026-10-31")


def test_score_that_is_not_a_number(tmp_path):
    raw = evaluations_frame().astype({"score": object})
    raw.loc[0, "score"] = "yes"
    src = write_csv(raw, tmp_path / "e.csv")
    with pytest.raises(
        DataError, match=r"column 'score': not a number in 1 row: line 2 \(score='yes'\)"
    ):
        io.load_evaluations(src)


def test_empty_id_value_names_the_row():
    raw = evaluations_frame()
    raw.loc[5, "agent_id"] = ""
    with pytest.raises(
        DataError, match=r"<DataFrame>: column 'agent_id': empty value in 1 row: row 5"
    ):
        io.load_evaluations(raw)


def test_unknown_role_in_calibration():
    raw = calibration_frame()
    raw.loc[0, "role"] = "boss"
    with pytest.raises(DataError, match=r"column 'role': role not one of .* row 0"):
        io.load_calibration(raw)


def test_several_problems_are_reported_together(tmp_path):
    raw = evaluations_frame()
    raw.loc[0, "score"] = 9
    raw.loc[1, "evaluated_at"] = "not a date"
    with pytest.raises(DataError) as err:
        io.load_evaluations(raw, scorecard=SCORECARD)
    assert len(err.value.problems) == 2


def test_empty_file_zero_bytes(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("")
    with pytest.raises(DataError, match=r"e\.csv: empty file"):
        io.load_evaluations(str(p))


def test_header_only_csv_is_an_empty_file_error(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text(",".join(evaluations_frame().columns) + "\n")
    with pytest.raises(DataError, match="no rows"):
        io.load_evaluations(str(p))


def test_wrong_file_type(tmp_path):
    p = tmp_path / "e.xlsx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'"):
        io.load_evaluations(str(p))


def test_file_with_parquet_name_but_not_parquet(tmp_path):
    p = tmp_path / "e.parquet"
    p.write_text("evaluation_id,score\n1,2\n")
    with pytest.raises(DataError, match=r"e\.parquet: cannot read as parquet"):
        io.load_evaluations(str(p))


def test_missing_file_and_empty_glob(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        io.load_evaluations(str(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match="no files match"):
        io.load_evaluations(str(tmp_path / "*.parquet"))


def test_duckdb_without_the_table_lists_tables(tmp_path):
    src = str(tmp_path / "q.duckdb")
    with duckdb.connect(src) as con:
        con.execute("CREATE TABLE other AS SELECT 1 AS x")
    with pytest.raises(DataError, match=r"no table 'evaluations'; tables: \['other'\]"):
        io.load_evaluations(src)


def test_duckdb_missing_column_is_a_data_error(tmp_path):
    src = str(tmp_path / "q.duckdb")
    raw = tickets_frame().drop(columns="queue")
    with duckdb.connect(src) as con:
        con.register("raw", raw)
        con.execute("CREATE TABLE tickets AS SELECT * FROM raw")
    with pytest.raises(DataError, match=r"table tickets\): missing required column 'queue'"):
        io.load_tickets(src)


def test_duplicate_ticket_ids_in_population():
    raw = tickets_frame()
    raw.loc[2, "ticket_id"] = "T1"
    with pytest.raises(DataError, match=r"duplicate \(ticket_id\) in 2 rows: row 0 .*row 2"):
        io.load_tickets(raw)


def test_csat_outside_one_to_five():
    raw = tickets_frame().assign(csat=[5, 6, np.nan])
    with pytest.raises(DataError, match=r"column 'csat': CSAT outside 1-5 in 1 row: row 1"):
        io.load_tickets(raw)


# -- wide -> long -----------------------------------------------------------------
def test_from_wide_melts_and_reads_na_texts():
    wide = pd.DataFrame(
        {
            "evaluation_id": ["e1", "e2"],
            "agent_id": ["a", "b"],
            "Greeting": [1, 0],
            "Tone": ["4", "N/A"],
        }
    )
    long = io.from_wide(
        wide, ["evaluation_id", "agent_id"], {"Greeting": "greeting", "Tone": "tone"}
    )
    assert long["evaluation_id"].tolist() == ["e1", "e1", "e2", "e2"]
    assert long["agent_id"].tolist() == ["a", "a", "b", "b"]
    assert long["criterion"].tolist() == ["greeting", "tone", "greeting", "tone"]
    np.testing.assert_array_equal(long["score"].to_numpy(), [1.0, 4.0, 0.0, np.nan])


def test_from_wide_rejects_text_scores_with_row_and_column():
    wide = pd.DataFrame({"evaluation_id": ["e1", "e2"], "Tone": ["4", "great"]})
    with pytest.raises(DataError, match=r"row 1 \(Tone='great'\)"):
        io.from_wide(wide, ["evaluation_id"], ["Tone"])


def test_from_wide_missing_column():
    with pytest.raises(DataError, match=r"missing column\(s\) \['Tone'\]"):
        io.from_wide(pd.DataFrame({"evaluation_id": ["e1"]}), ["evaluation_id"], ["Tone"])


# -- atomic writers --------------------------------------------------------------
def test_atomic_write_leaves_no_temp_file_and_replaces(tmp_path):
    p = tmp_path / "out" / "plan.csv"
    io.write_csv_atomic(pd.DataFrame({"a": [1]}), p)
    io.write_csv_atomic(pd.DataFrame({"a": [2]}), p)
    assert p.read_text() == "a\n2\n"
    assert os.listdir(p.parent) == ["plan.csv"]
    assert oct(p.stat().st_mode & 0o777) != oct(0o600)  # readable like any other output


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    p = tmp_path / "kpis.json"
    io.write_text_atomic("old", p)

    class Boom:
        def encode(self, _):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        io.write_text_atomic(Boom(), p)  # type: ignore[arg-type]
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["kpis.json"]


def test_bad_date_filter_names_the_argument():
    with pytest.raises(ValueError, match=r"start='garbage' is not a date"):
        io.load_evaluations(evaluations_frame(), start="garbage")
    with pytest.raises(ValueError, match=r"end='2026-13-45' is not a date"):
        io.load_tickets(tickets_frame(), end="2026-13-45")
    with pytest.raises(ValueError, match="is before start"):
        io.load_tickets(tickets_frame(), start="2026-10-31", end="2026-10-01")


def test_values_in_errors_print_as_written_not_numpy_reprs():
    raw = evaluations_frame()
    raw.loc[2, "score"] = 9
    with pytest.raises(DataError) as err:
        io.load_evaluations(raw, scorecard=SCORECARD)
    assert "score=9.0)" in str(err.value) and "np.float64" not in str(err.value)


def test_duplicate_index_labels_are_reported_by_position():
    raw = evaluations_frame()
    raw.index = [0, 0, 1, 1, 2, 2]
    raw.iloc[5, raw.columns.get_loc("agent_id")] = ""
    with pytest.raises(DataError, match=r"empty value in 1 row: position 5"):
        io.load_evaluations(raw)


def test_non_dataframe_non_path_source_is_a_type_error():
    with pytest.raises(TypeError, match="source must be a pandas DataFrame or a path"):
        io.load_evaluations([{"evaluation_id": "e1"}])
    with pytest.raises(TypeError, match="DataFrame"):
        io.from_wide({"evaluation_id": ["e1"]}, ["evaluation_id"], ["tone"])


@pytest.mark.parametrize("end", [20261031, 20261031.0, np.int64(20261031)])
def test_a_number_as_end_date_is_refused_not_read_as_nanoseconds(end):
    with pytest.raises(ValueError, match=r"end=.*is a number, not a date"):
        io.load_evaluations(evaluations_frame(), end=end)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, "inf", "-Infinity"])
def test_infinite_scores_are_refused_by_the_loaders(bad):
    cal = calibration_frame().astype({"score": object})
    cal.loc[1, "score"] = bad
    with pytest.raises(DataError, match=r"column 'score': not a finite number in 1 row: row 1"):
        io.load_calibration(cal)
    ev = evaluations_frame().astype({"score": object})
    ev.loc[0, "score"] = bad
    with pytest.raises(DataError, match="not a finite number"):
        io.load_evaluations(ev)


# -- internal columns never collide with the user's; legitimate inputs load --------------------


def test_a_user_column_named_like_an_internal_one_is_kept_in_every_format(tmp_path):
    raw = tickets_frame()
    raw["__row"] = [f"keep-{i}" for i in range(len(raw))]
    raw["__qa_row"] = "mine"
    raw.to_parquet(tmp_path / "t.parquet")
    for src in (raw, write_csv(raw, tmp_path / "t.csv"), str(tmp_path / "t.parquet")):
        df = io.load_tickets(src)
        assert df["__row"].tolist() == raw["__row"].tolist()
        assert (df["__qa_row"] == "mine").all()


@pytest.mark.parametrize("fmt", ["frame", "csv", "parquet"])
def test_missing_column_message_lists_the_users_columns_only(tmp_path, fmt):
    raw = tickets_frame().drop(columns="queue")
    raw["__note"] = "x"
    raw.to_parquet(tmp_path / "t.parquet")
    src = {
        "frame": raw,
        "csv": write_csv(raw, tmp_path / "t.csv"),
        "parquet": str(tmp_path / "t.parquet"),
    }[fmt]
    with pytest.raises(DataError) as info:
        io.load_tickets(src)
    msg = str(info.value)
    assert "'queue'" in msg and "__note" in msg and "__qa" not in msg
    assert "file_row_number" not in msg and "filename" not in msg


def test_parquet_columns_named_filename_and_file_row_number_load(tmp_path):
    raw = tickets_frame()
    raw["filename"] = "export.csv"
    raw["file_row_number"] = np.arange(len(raw)) + 100
    path = tmp_path / "t.parquet"
    raw.to_parquet(path)
    df = io.load_tickets(str(path), region="EU")
    assert (df["filename"] == "export.csv").all()
    assert (
        df["file_row_number"].tolist() == raw.loc[raw["region"] == "EU", "file_row_number"].tolist()
    )
    bad = raw.copy()
    bad.loc[2, "agent_id"] = ""
    bad.to_parquet(path)
    with pytest.raises(DataError, match=r"'agent_id': empty value in 1 row: row 2\b"):
        io.load_tickets(str(path))


def test_a_duckdb_view_loads(tmp_path):
    db = str(tmp_path / "q.duckdb")
    with duckdb.connect(db) as con:
        con.register("_t", tickets_frame())
        con.execute("CREATE TABLE base AS SELECT * FROM _t")
        con.execute("CREATE VIEW tickets AS SELECT * FROM base")
    df = io.load_tickets(db, region="EU")
    assert len(df) == (tickets_frame()["region"] == "EU").sum()


@pytest.mark.parametrize("columns", ["int", "multi"])
def test_integer_or_multiindex_column_names_are_a_clear_data_error(columns):
    raw = tickets_frame()
    if columns == "int":
        raw = raw.set_axis(range(raw.shape[1]), axis=1)
        match = "column names must be text, got 0, 1"
    else:
        raw.columns = pd.MultiIndex.from_tuples([(c, "x") for c in raw.columns])
        match = "MultiIndex"
    with pytest.raises(DataError, match=match):
        io.load_tickets(raw)


def test_from_wide_with_duplicate_column_names_is_a_clear_data_error():
    wide = pd.DataFrame([["e1", 1, 0]], columns=["evaluation_id", "Tone", "Tone"])
    with pytest.raises(DataError, match=r"duplicate column name.*'Tone'"):
        io.from_wide(wide, ["evaluation_id"], ["Tone"])


def test_a_file_name_with_brackets_is_a_file_not_a_glob(tmp_path):
    path = write_csv(tickets_frame(), tmp_path / "tickets [EU] 2026-10.csv")
    assert len(io.load_tickets(path)) == len(tickets_frame())
    (tmp_path / "p").mkdir()
    tickets_frame().to_parquet(tmp_path / "p" / "a[1].parquet")
    assert len(io.load_tickets(str(tmp_path / "p" / "a[1].parquet"))) == len(tickets_frame())


# -- one evaluation, one agent, ticket, region and time ------------------------------------------


@pytest.mark.parametrize("col", ["agent_id", "ticket_id", "region"])
def test_rows_of_one_evaluation_that_disagree_are_a_data_error(col):
    raw = evaluations_frame()
    first = raw["evaluation_id"].iloc[0]
    rows = raw.index[raw["evaluation_id"] == first]
    assert len(rows) >= 2
    raw.loc[rows[1], col] = "OTHER"
    with pytest.raises(DataError, match=rf"'{col}': rows of one evaluation_id disagree on {col}"):
        io.load_evaluations(raw)


@pytest.mark.parametrize("fmt", ["frame", "csv", "parquet", "duckdb"])
def test_an_evaluation_saved_across_a_month_end_stays_whole_in_its_first_month(tmp_path, fmt):
    raw = evaluations_frame()
    first = raw["evaluation_id"].iloc[0]
    rows = raw.index[raw["evaluation_id"] == first]
    raw["evaluated_at"] = "2026-10-15T10:00:00"
    raw.loc[rows, "evaluated_at"] = "2026-10-31T23:59:00"
    raw.loc[rows[1:], "evaluated_at"] = "2026-11-01T00:02:00"
    path = tmp_path / "ev"
    src = {
        "frame": lambda: raw,
        "csv": lambda: write_csv(raw, path.with_suffix(".csv")),
        "parquet": lambda: (
            raw.to_parquet(path.with_suffix(".parquet")),
            str(path.with_suffix(".parquet")),
        )[1],
        "duckdb": lambda: _duckdb_with(raw, tmp_path / "q.duckdb", "evaluations"),
    }[fmt]()
    october = io.load_evaluations(src, start="2026-10-01", end="2026-10-31")
    november = io.load_evaluations(src, start="2026-11-01", end="2026-11-30")
    assert (october["evaluation_id"] == first).sum() == len(rows)
    assert (
        october.loc[october["evaluation_id"] == first, "evaluated_at"]
        == pd.Timestamp("2026-10-31T23:59")
    ).all()
    assert (november["evaluation_id"] == first).sum() == 0


def _duckdb_with(df: pd.DataFrame, path, table: str) -> str:
    with duckdb.connect(str(path)) as con:
        con.register("_df", df)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM _df")
    return str(path)


# -- time zones ------------------------------------------------------------------------------------


def _sydney_tickets() -> pd.DataFrame:
    raw = tickets_frame().iloc[:2].copy()
    raw["ticket_id"] = ["T-syd", "T-oct"]
    raw["region"] = "APAC"
    # 1 Nov 08:00 in Sydney (+11:00) is 31 Oct 21:00 UTC; the other row has another offset
    raw["created_at"] = ["2026-11-01T08:00:00+11:00", "2026-10-15T09:00:00-05:00"]
    return raw


@pytest.mark.parametrize("fmt", ["frame", "csv", "parquet-text", "parquet-tz", "duckdb-tz"])
def test_zoned_timestamps_are_read_in_the_business_time_zone_in_every_format(tmp_path, fmt):
    raw = _sydney_tickets()
    zoned = raw.assign(created_at=pd.to_datetime(raw["created_at"], utc=True))
    src = {
        "frame": lambda: raw,
        "csv": lambda: write_csv(raw, tmp_path / "t.csv"),
        "parquet-text": lambda: (
            raw.to_parquet(tmp_path / "t.parquet"),
            str(tmp_path / "t.parquet"),
        )[1],
        "parquet-tz": lambda: (
            zoned.to_parquet(tmp_path / "z.parquet"),
            str(tmp_path / "z.parquet"),
        )[1],
        "duckdb-tz": lambda: _duckdb_with(zoned, tmp_path / "q.duckdb", "tickets"),
    }[fmt]()
    october_utc = io.load_tickets(src, start="2026-10-01", end="2026-10-31")
    assert set(october_utc["ticket_id"]) == {"T-syd", "T-oct"}
    assert october_utc.set_index("ticket_id").loc["T-syd", "created_at"] == pd.Timestamp(
        "2026-10-31T21:00"
    )
    sydney = dict(timezone="Australia/Sydney")
    october = io.load_tickets(src, start="2026-10-01", end="2026-10-31", **sydney)
    november = io.load_tickets(src, start="2026-11-01", end="2026-11-30", **sydney)
    assert set(october["ticket_id"]) == {"T-oct"} and set(november["ticket_id"]) == {"T-syd"}
    assert november["created_at"].iloc[0] == pd.Timestamp("2026-11-01T08:00")


def test_naive_timestamps_are_wall_clock_in_the_business_zone():
    raw = tickets_frame().iloc[:1].assign(created_at="2026-10-31T23:30:00")
    df = io.load_tickets(raw, timezone="America/New_York")
    assert df["created_at"].iloc[0] == pd.Timestamp("2026-10-31T23:30")


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="timezone='Mars/Base' is not a known time zone"):
        io.load_tickets(tickets_frame(), timezone="Mars/Base")


def test_csv_line_numbers_count_quoted_newlines_and_blank_lines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "ticket_id,agent_id,region,market,channel,queue,created_at,note\n"
        'T1,A1,EU,DE,chat,q,2026-10-01,"two\nlines"\n'
        "\n"
        'T2,A1,EU,DE,chat,q,2026-10-02,"three\n\nlines"\n'
        "T3,,EU,DE,chat,q,2026-10-03,plain\n"
    )
    with pytest.raises(DataError, match=r"'agent_id': empty value in 1 row: line 8\b"):
        io.load_tickets(str(path))


# -- one N/A rule, short values in messages, unreadable files ------------------------------------


@pytest.mark.parametrize("na", ["-", " - ", "N/A", "na", ""])
def test_the_loaders_and_from_wide_share_one_na_rule(na):
    raw = calibration_frame().astype({"score": object})
    raw.loc[0, "score"] = na
    assert np.isnan(io.load_calibration(raw)["score"].iloc[0])
    wide = pd.DataFrame({"evaluation_id": ["e1"], "Tone": [na]})
    assert np.isnan(io.from_wide(wide, ["evaluation_id"], ["Tone"])["score"].iloc[0])


def test_a_huge_cell_is_cut_short_in_error_messages():
    big = "x" * 5_000_000
    raw = calibration_frame().astype({"score": object})
    raw.loc[0, "score"] = big
    with pytest.raises(DataError) as info:
        io.load_calibration(raw)
    assert len(str(info.value)) < 500 and "xxx..." in str(info.value)
    wide = pd.DataFrame({"evaluation_id": ["e1"], "Tone": [big]})
    with pytest.raises(DataError) as info:
        io.from_wide(wide, ["evaluation_id"], ["Tone"])
    assert len(str(info.value)) < 500


def test_an_unreadable_csv_is_a_one_line_data_error(tmp_path, monkeypatch):
    path = write_csv(tickets_frame(), tmp_path / "t.csv")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(pd, "read_csv", denied)
    with pytest.raises(DataError, match=r"t\.csv: cannot read the file \(Permission denied\)$"):
        io.load_tickets(path)


def test_write_csv_atomic_neutralises_formula_cells_and_keeps_numbers(tmp_path):
    """CSV injection (OWASP): text cells starting =, +, -, @, tab or CR get a leading quote;
    numbers, negative ones included, stay numbers (issue 11)."""
    df = pd.DataFrame(
        {
            "ticket_id": ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "\tx", "T-1"],
            "delta": [-1.5, -2.0, 0.0, 1.0, 2.0, 3.0],
        }
    )
    text = io.write_csv_atomic(df, tmp_path / "plan.csv").read_text()
    back = pd.read_csv(tmp_path / "plan.csv")
    assert back["ticket_id"].tolist() == [
        '\'=HYPERLINK("http://x","y")',
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "T-1",
    ]
    assert back["delta"].tolist() == df["delta"].tolist()
    assert "\n-1.5" not in text and ",-1.5\n" in text  # a number, unquoted, not prefixed
    raw = io.write_csv_atomic(df, tmp_path / "raw.csv", neutralise_formulas=False)
    assert pd.read_csv(raw)["ticket_id"].iloc[0].startswith("=")


# -- scorecard versions in the loaders ----------------------------------------------
VERSIONED = Scorecard.from_dict(
    {
        "versions": [
            {
                "version": "v1",
                "criteria": [
                    {"id": "greeting", "scale": [0, 1]},
                    {"id": "tools", "scale": [0, 1], "na_allowed": True},
                    {"id": "tone", "scale": [1, 2, 3, 4, 5]},
                ],
            },
            {
                "version": "v2",
                "effective": "2026-10-01",
                "criteria": [
                    {"id": "greeting", "scale": [0, 1]},
                    {"id": "tools", "scale": [0, 1], "na_allowed": True},
                    {"id": "tone", "scale": [1, 2, 3]},  # the scale shrank
                ],
            },
        ]
    }
)


def test_loader_checks_scores_against_each_rows_own_version():
    # E1 (2026-10-05) is v2, where tone 4 is off the 1-3 scale; E2 (2026-09-20) is v1: fine
    with pytest.raises(
        DataError, match="score off the scale of criterion 'tone' in scorecard version 'v2'"
    ):
        io.load_evaluations(evaluations_frame(), scorecard=VERSIONED)


def test_loader_accepts_an_explicit_version_column():
    raw = evaluations_frame().assign(scorecard_version="v1")
    out = io.load_evaluations(raw, scorecard=VERSIONED)
    assert out["scorecard_version"].tolist() == ["v1"] * 6


def test_loader_rejects_an_unknown_version_and_a_criterion_unknown_to_its_version():
    raw = evaluations_frame().assign(scorecard_version="v7")
    with pytest.raises(DataError, match="scorecard version not in"):
        io.load_evaluations(raw, scorecard=VERSIONED)
    card = Scorecard.from_dict(
        {
            "versions": [
                {"version": "v1", "criteria": [{"id": "greeting", "scale": [0, 1]}]},
                {
                    "version": "v2",
                    "effective": "2026-01-01",
                    "criteria": [
                        {"id": "greeting", "scale": [0, 1]},
                        {"id": "tools", "scale": [0, 1], "na_allowed": True},
                        {"id": "tone", "scale": [1, 2, 3, 4, 5]},
                    ],
                },
            ]
        }
    )
    raw = evaluations_frame().assign(scorecard_version="v1")
    with pytest.raises(DataError, match="criterion not in scorecard version 'v1'"):
        io.load_evaluations(raw, scorecard=card)


def test_calibration_rows_take_the_version_of_their_session_date():
    raw = calibration_frame()  # 2026-10-01: v2, tone on 1-3
    raw["score"] = np.where(raw["criterion"] == "tone", 5, 1)
    with pytest.raises(DataError, match="in scorecard version 'v2'"):
        io.load_calibration(raw, scorecard=VERSIONED)
    assert len(io.load_calibration(raw.assign(scorecard_version="v1"), scorecard=VERSIONED)) == len(
        raw
    )


# -- disputes ---------------------------------------------------------------------
def disputes_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dispute_id": ["D1", "D2", "D3"],
            "evaluation_id": ["E1", "E1", "E2"],
            "criterion": ["tone", "greeting", ""],
            "opened_at": ["2026-10-06", "2026-10-06", "2026-09-21"],
            "resolved_at": ["2026-10-08", "", None],
            "status": ["accepted", "open", "OPEN"],
            "original_score": [4, 1, np.nan],
            "final_score": [5, np.nan, np.nan],
            "opened_by": ["agent", "team_lead", "agent"],
        }
    )


def test_load_disputes_normalises_status_dates_and_empty_criterion():
    out = io.load_disputes(disputes_frame(), evaluations=io.load_evaluations(evaluations_frame()))
    assert out["status"].tolist() == ["accepted", "open", "open"]
    assert out["criterion"].tolist() == ["tone", "greeting", None]
    assert out["resolved_at"].isna().tolist() == [False, True, True]
    assert out["opened_at"].dtype == "datetime64[ns]" and out["final_score"].dtype == float


def test_load_disputes_reads_csv_parquet_and_duckdb(tmp_path):
    d = disputes_frame()
    d.to_csv(tmp_path / "d.csv", index=False)
    d.to_parquet(tmp_path / "d.parquet")
    with duckdb.connect(str(tmp_path / "qa.duckdb")) as con:
        con.register("_d", d)
        con.execute("CREATE TABLE disputes AS SELECT * FROM _d")
    for src in ("d.csv", "d.parquet", "qa.duckdb"):
        out = io.load_disputes(tmp_path / src)
        assert out["dispute_id"].tolist() == ["D1", "D2", "D3"], src


@pytest.mark.parametrize(
    "change, match",
    [
        ({"dispute_id": ["D1", "D1", "D3"]}, r"duplicate \(dispute_id\)"),
        ({"status": ["accepted", "open", "appealed"]}, "status not one of"),
        ({"resolved_at": ["2026-10-08", "2026-10-07", None]}, "an open dispute has a resolved_at"),
        ({"resolved_at": ["", "", ""]}, "a resolved dispute .* has no resolved_at"),
        ({"resolved_at": ["2026-10-01", "", ""]}, "resolved before it was opened"),
        ({"status": ["rejected", "open", "open"]}, "a rejected dispute changed the score"),
        ({"final_score": [np.nan] * 3}, "an accepted dispute has no final_score"),
    ],
)
def test_load_disputes_rejects_inconsistent_rows(change, match):
    with pytest.raises(DataError, match=match):
        io.load_disputes(disputes_frame().assign(**change))


def test_every_dispute_must_refer_to_a_known_evaluation_and_criterion():
    evals = io.load_evaluations(evaluations_frame())
    with pytest.raises(DataError, match=r"not in the evaluations given \(dispute_id D3\)"):
        io.load_disputes(
            disputes_frame().assign(evaluation_id=["E1", "E1", "E9"]), evaluations=evals
        )
    with pytest.raises(
        DataError, match=r"criterion the evaluation did not score \(dispute_id D1\)"
    ):
        io.load_disputes(
            disputes_frame().assign(criterion=["clarity", "greeting", ""]), evaluations=evals
        )


def test_an_empty_disputes_table_is_not_an_error():
    out = io.load_disputes(disputes_frame().iloc[:0])
    assert len(out) == 0 and "status" in out.columns
