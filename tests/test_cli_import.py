"""``qa-reports import``: exports -> Parquet tables in a folder that ``data:`` can point at."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qa_analysis import cli, io
from qa_analysis.report.data import load_report_data
from qa_analysis.scorecard import Scorecard

HERE = Path(__file__).parent
ADAPTERS = HERE / "fixtures" / "adapters"
WIDE = HERE / "fixtures" / "wide"
SCORECARD = (
    HERE / "fixtures" / "wide" / "scorecard.yaml"
)  # the demo scorecard before its 2026 change
FILL = ["--set", "region=EU", "--set", "market=DE", "--set", "channel=email"]
FILL += ["--set", "queue=billing"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["import", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def import_wide(capsys, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "--from",
        "wide",
        str(WIDE / "vendor_export.csv"),
        "--mapping",
        str(WIDE / "mapping.yaml"),
        "--out",
        str(out),
        *extra,
    )


def test_wide_export_is_written_as_evaluations_parquet_that_loads(tmp_path, capsys):
    code, out, err = import_wide(capsys, tmp_path / "data")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"evaluations: 480 rows (40 evaluations) -> {tmp_path / 'data' / 'evaluations.parquet'}",
        "skipped: none",
    ]
    ev = io.load_evaluations(tmp_path / "data" / "evaluations.parquet", scorecard=SCORECARD)
    pd.testing.assert_frame_equal(
        ev,
        io.load_evaluations(
            io.from_wide(WIDE / "vendor_export.csv", mapping=WIDE / "mapping.yaml"),
            scorecard=SCORECARD,
        ),
        check_dtype=False,
    )


def test_the_written_folder_feeds_the_report_data_step(tmp_path, capsys):
    import_wide(capsys, tmp_path / "data")
    got = load_report_data(
        tmp_path / "data",
        SCORECARD,
        region="EU",
        period="2026-03",
        tables=("evaluations",),
        key="a test key of 16+ bytes",
    )
    assert got.evaluations["evaluation_id"].nunique() == 40


def test_existing_tables_are_not_overwritten_without_force(tmp_path, capsys):
    import_wide(capsys, tmp_path / "data")
    before = (tmp_path / "data" / "evaluations.parquet").stat().st_mtime_ns
    code, out, err = import_wide(capsys, tmp_path / "data")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "already exist" in err and "--force" in err
    assert (tmp_path / "data" / "evaluations.parquet").stat().st_mtime_ns == before
    code, _, _ = import_wide(capsys, tmp_path / "data", "--force")
    assert code == 0


def test_a_missing_criterion_column_is_one_line_and_exit_2(tmp_path, capsys):
    raw = pd.read_csv(WIDE / "vendor_export.csv", dtype=str, keep_default_na=False)
    export = tmp_path / "export.csv"
    raw.drop(columns="Tone (1-5)").to_csv(export, index=False)
    mapping = tmp_path / "mapping.yaml"
    text = (WIDE / "mapping.yaml").read_text().replace("  Tone (1-5): tone\n", "")
    mapping.write_text(text.replace("scorecard.yaml   #", f"{SCORECARD}   #"))
    args = ["--from", "wide", str(export), "--mapping", str(mapping)]
    code = cli.main(["import", *args, "--out", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {export}: no column for scorecard criteria ['tone']")
    assert err.count("\n") == 1
    assert not (tmp_path / "data").exists()


def test_wide_without_a_scorecard_is_refused(tmp_path, capsys):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns: {Review ID: evaluation_id}\n")
    code, _, err = run(
        capsys, "--from", "wide", str(WIDE / "vendor_export.csv"), "--mapping", str(mapping),
        "--out", str(tmp_path / "data"),
    )  # fmt: skip
    assert code == 2 and "--from wide needs --scorecard" in err


def test_zendesk_qa_writes_both_tables_and_the_derived_scorecard(tmp_path, capsys):
    out_dir = tmp_path / "data"
    code, out, err = run(
        capsys, "--from", "zendesk-qa", str(ADAPTERS / "zendesk_qa"), "--out", str(out_dir),
        "--experts", "lead@example.com", *FILL,
    )  # fmt: skip
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:3] == [
        f"evaluations: 9 rows (3 evaluations) -> {out_dir / 'evaluations.parquet'}",
        f"calibration: 9 rows (1 session) -> {out_dir / 'calibration.parquet'}",
        f"scorecard: 3 criteria derived from the export -> {out_dir / 'scorecard.yaml'}",
    ]
    assert "skipped: 1 identical review repeated on another page (reviews_page2.json)" in lines
    sc = Scorecard.from_yaml(out_dir / "scorecard.yaml")
    assert sc.ids == ["101", "102", "103"] and sc["103"].critical
    got = load_report_data(
        out_dir,
        sc,
        region="EU",
        period="2026-10",
        tables=("evaluations", "calibration"),
        key="a test key of 16+ bytes",
    )
    assert got.evaluations["evaluation_id"].nunique() == 3
    assert set(got.calibration["session_id"]) == {"cal-1"}


def test_maestroqa_with_a_given_scorecard_writes_no_scorecard(tmp_path, capsys):
    first = tmp_path / "first"
    run(capsys, "--from", "maestroqa", str(ADAPTERS / "maestroqa"), "--out", str(first), *FILL)
    out_dir = tmp_path / "data"
    code, _, _ = run(
        capsys, "--from", "maestroqa", str(ADAPTERS / "maestroqa"), "--out", str(out_dir),
        "--scorecard", str(first / "scorecard.yaml"), *FILL,
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "calibration.parquet",
        "evaluations.parquet",
    ]
    io.load_calibration(out_dir / "calibration.parquet", scorecard=first / "scorecard.yaml")


def test_scorebuddy_counts_the_skipped_version(tmp_path, capsys):
    code, out, _ = run(
        capsys, "--from", "scorebuddy", str(ADAPTERS / "scorebuddy"), "--version", "2",
        "--out", str(tmp_path / "data"), *FILL,
    )  # fmt: skip
    assert code == 0
    assert "skipped: 1 score on another scorecard version (scores_page1.json)" in out.splitlines()
    assert not (tmp_path / "data" / "calibration.parquet").exists()


def test_platform_constants_may_come_from_the_mapping_file(tmp_path, capsys):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("constants: {region: EU, market: DE, channel: email, queue: billing}\n")
    code, _, _ = run(
        capsys, "--from", "scorebuddy", str(ADAPTERS / "scorebuddy"), "--version", "2",
        "--mapping", str(mapping), "--out", str(tmp_path / "data"), "--set", "region=NA",
    )  # fmt: skip
    assert code == 0
    ev = pd.read_parquet(tmp_path / "data" / "evaluations.parquet")
    assert set(ev["region"]) == {"NA"} and set(ev["queue"]) == {"billing"}


def test_platform_import_without_region_and_co_says_how_to_give_them(tmp_path, capsys):
    code, _, err = run(
        capsys, "--from", "scorebuddy", str(ADAPTERS / "scorebuddy"), "--version", "2",
        "--out", str(tmp_path / "data"), "--set", "region=EU",
    )  # fmt: skip
    assert code == 2
    assert "has no market, channel, queue" in err and "--set market=VALUE" in err


def test_wide_only_mapping_keys_are_refused_for_a_platform(tmp_path, capsys):
    code, _, err = run(
        capsys, "--from", "maestroqa", str(ADAPTERS / "maestroqa"),
        "--mapping", str(WIDE / "mapping.yaml"), "--out", str(tmp_path / "data"),
    )  # fmt: skip
    assert code == 2 and "apply to --from wide only" in err


def test_a_stale_calibration_table_is_removed_only_with_force(tmp_path, capsys):
    out_dir = tmp_path / "data"
    run(
        capsys, "--from", "zendesk-qa", str(ADAPTERS / "zendesk_qa"), "--out", str(out_dir),
        "--experts", "lead@example.com", *FILL,
    )  # fmt: skip
    args = ["--from", "scorebuddy", str(ADAPTERS / "scorebuddy"), "--version", "2"]
    code, _, err = run(capsys, *args, "--out", str(out_dir), *FILL)
    assert code == 2 and "calibration.parquet" in err
    code, out, _ = run(capsys, *args, "--out", str(out_dir), "--force", *FILL)
    assert code == 0 and "removed" in out
    assert not (out_dir / "calibration.parquet").exists()


@pytest.mark.parametrize("pair", ["region", "=EU", "region="])
def test_a_malformed_set_is_refused(tmp_path, capsys, pair):
    code, _, err = run(
        capsys, "--from", "scorebuddy", str(ADAPTERS / "scorebuddy"),
        "--out", str(tmp_path / "data"), "--set", pair,
    )  # fmt: skip
    assert code == 2 and "expected COLUMN=VALUE" in err
