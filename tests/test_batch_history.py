"""The history store: append, upsert, rebuild, load (qa_analysis.batch.history)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from kpi_folders import calibration, performance, write_period, write_region

from qa_analysis import settings
from qa_analysis.batch.history import (
    GLOBAL,
    HISTORY_COLUMNS,
    HISTORY_FILE,
    HISTORY_KPIS,
    load_history,
    period_rows,
    rebuild_history,
    update_history,
)


def _value(h: pd.DataFrame, region: str, period: str, kpi: str) -> float:
    sel = h.loc[(h["region"] == region) & (h["period"] == period) & (h["kpi"] == kpi), "value"]
    assert len(sel) == 1, sel
    return float(sel.iloc[0])


def test_period_rows_has_one_row_per_region_and_kpi_plus_global(tmp_path):
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9, "NA": 0.8})
    rows = period_rows(folder)
    assert list(rows.columns) == list(HISTORY_COLUMNS)
    assert len(rows) == 3 * len(HISTORY_KPIS)
    assert set(rows["region"]) == {"EU", "NA", GLOBAL}
    assert not rows.duplicated(["region", "period", "kpi"]).any()


def test_period_rows_reads_values_intervals_counts_and_targets(tmp_path):
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9})
    r = period_rows(folder).set_index(["region", "kpi"])
    assert r.loc[("EU", "pass_rate"), "value"] == pytest.approx(0.9)
    assert r.loc[("EU", "pass_rate"), "ci_low"] == pytest.approx(0.87)
    # mean score and critical rate keep their interval in the KPI file's detail
    assert r.loc[("EU", "mean_score"), "ci_high"] == pytest.approx(92.0)
    assert r.loc[("EU", "critical_rate"), "ci_low"] == pytest.approx(0.01)
    assert r.loc[("EU", "alpha"), "value"] == pytest.approx(0.75)
    assert r.loc[("EU", "pass_rate"), "n"] == 400
    assert r.loc[("EU", "audits_per_agent"), "n"] == 40
    assert r.loc[("EU", "pass_rate"), "status"] == "met"
    assert r.loc[("EU", "pass_rate"), "target"] == settings.targets()["pass_rate"]
    assert r.loc[(GLOBAL, "pass_rate"), "value"] == pytest.approx(0.85)


def test_period_rows_takes_per_region_targets(tmp_path):
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9, "NA": 0.9})
    r = period_rows(folder, targets={"EU": {"pass_rate": 0.95}}).set_index(["region", "kpi"])
    assert r.loc[("EU", "pass_rate"), "target"] == 0.95
    assert r.loc[("NA", "pass_rate"), "target"] == settings.targets()["pass_rate"]


def test_failed_report_gives_missing_values_not_absent_rows(tmp_path):
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9}, failed=[("EU", "performance_report")])
    r = period_rows(folder).set_index(["region", "kpi"])
    assert np.isnan(r.loc[("EU", "pass_rate"), "value"])
    assert r.loc[("EU", "alpha"), "value"] == pytest.approx(0.75)


def test_scorecard_version_is_recorded_when_present(tmp_path):
    folder = tmp_path / "2026-10"
    write_region(folder, "EU", perf=performance(0.9, scorecard_version="v2"), cal=calibration())
    r = period_rows(folder)
    assert set(r["scorecard_version"]) == {"v2"}


def test_update_history_appends_each_period(tmp_path):
    write_period(tmp_path, "2026-09", {"EU": 0.8})
    update_history(tmp_path, "2026-09")
    write_period(tmp_path, "2026-10", {"EU": 0.9})
    path = update_history(tmp_path, "2026-10")
    assert path == tmp_path / HISTORY_FILE
    h = load_history(tmp_path)
    assert _value(h, "EU", "2026-09", "pass_rate") == pytest.approx(0.8)
    assert _value(h, "EU", "2026-10", "pass_rate") == pytest.approx(0.9)


def test_update_history_replaces_a_rerun_period(tmp_path):
    write_period(tmp_path, "2026-09", {"EU": 0.8})
    write_period(tmp_path, "2026-10", {"EU": 0.9, "NA": 0.7})
    update_history(tmp_path, "2026-09")
    update_history(tmp_path, "2026-10")
    # the rerun of October drops NA and changes EU
    write_period(tmp_path / "rerun", "2026-10", {"EU": 0.95})
    (tmp_path / "2026-10" / "na" / "kpis.json").unlink()
    (tmp_path / "2026-10" / "eu" / "kpis.json").write_bytes(
        (tmp_path / "rerun" / "2026-10" / "eu" / "kpis.json").read_bytes()
    )
    update_history(tmp_path, "2026-10")
    h = load_history(tmp_path)
    assert _value(h, "EU", "2026-10", "pass_rate") == pytest.approx(0.95)
    assert "NA" not in set(h.loc[h["period"] == "2026-10", "region"])
    assert _value(h, "EU", "2026-09", "pass_rate") == pytest.approx(0.8)
    assert not h.duplicated(["region", "period", "kpi"]).any()


def test_rebuild_history_recreates_a_lost_store(tmp_path):
    for i, p in enumerate(["2026-08", "2026-09", "2026-10"]):
        write_period(tmp_path, p, {"EU": 0.8 + i / 100, "NA": 0.7})
        update_history(tmp_path, p)
    before = load_history(tmp_path)
    (tmp_path / HISTORY_FILE).unlink()
    rebuild_history(tmp_path)
    pd.testing.assert_frame_equal(load_history(tmp_path), before)


def test_update_history_heals_a_lost_store_from_all_period_folders(tmp_path):
    write_period(tmp_path, "2026-09", {"EU": 0.8})
    write_period(tmp_path, "2026-10", {"EU": 0.9})
    update_history(tmp_path, "2026-10")  # no store yet: both periods are read
    assert sorted(load_history(tmp_path)["period"].unique()) == ["2026-09", "2026-10"]


def test_load_history_keeps_the_last_months_only(tmp_path):
    periods = [str(p) for p in pd.period_range("2025-01", "2026-10", freq="M")]
    for p in periods:
        write_period(tmp_path, p, {"EU": 0.8}, run=False)
    rebuild_history(tmp_path)
    h = load_history(tmp_path, months=12)
    assert sorted(h["period"].unique()) == periods[-12:]
    h = load_history(tmp_path, months=3, until="2026-01")
    assert sorted(h["period"].unique()) == ["2025-11", "2025-12", "2026-01"]
    assert len(load_history(tmp_path, months=None)["period"].unique()) == len(periods)


def test_load_history_filters_regions(tmp_path):
    write_period(tmp_path, "2026-10", {"EU": 0.8, "NA": 0.7})
    h = load_history(tmp_path, regions=["NA"])
    assert set(h["region"]) == {"NA"}


def test_load_history_without_any_period_is_empty_with_columns(tmp_path):
    h = load_history(tmp_path)
    assert len(h) == 0
    assert list(h.columns) == list(HISTORY_COLUMNS)
    assert not (tmp_path / HISTORY_FILE).exists()


def test_update_history_of_a_missing_period_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no period folder"):
        update_history(tmp_path, "2026-10")
    with pytest.raises(ValueError, match="YYYY-MM"):
        update_history(tmp_path, "../etc")


def test_history_write_leaves_no_temporary_or_lock_file(tmp_path):
    write_period(tmp_path, "2026-10", {"EU": 0.8})
    update_history(tmp_path, "2026-10")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_audits_per_agent_is_judged_against_the_audits_due_as_the_report_does(tmp_path):
    perf = performance(0.9)
    perf["detail"]["audits_per_agent_target_due"] = 4.2  # some audits of the month still due
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9})
    k = json.loads((folder / "eu" / "kpis.json").read_text())
    k["performance"] = perf
    (folder / "eu" / "kpis.json").write_text(json.dumps(k))
    r = period_rows(folder).set_index(["region", "kpi"])
    assert r.loc[("EU", "audits_per_agent"), "target"] == pytest.approx(4.2)
    # without the report's pro-rated target, the target of the params applies
    k["performance"]["detail"].pop("audits_per_agent_target_due")
    (folder / "eu" / "kpis.json").write_text(json.dumps(k))
    r = period_rows(folder).set_index(["region", "kpi"])
    assert r.loc[("EU", "audits_per_agent"), "target"] == settings.targets()["audits_per_agent"]
