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


def test_filter_leaving_no_rows_returns_typed_empty_frame_with_note():
    df = io.load_evaluations(evaluations_frame(), region="APAC")
    assert len(df) == 0
    assert pd.api.types.is_datetime64_any_dtype(df["evaluated_at"])
    assert "score" in df.columns and df["score"].dtype == float
    assert "no evaluations rows" in df.attrs["note"]


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
