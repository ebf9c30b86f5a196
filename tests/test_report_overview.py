"""Tests for qa_analysis.report.overview: region KPI files, targets, consistency, KPIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_analysis import demo, io, settings
from qa_analysis.report import overview as ro
from qa_analysis.report.data import load_report_data
from qa_analysis.scorecard import score_evaluations


@pytest.fixture(scope="module")
def small() -> demo.DemoData:
    return demo.generate(seed=7, small=True)


@pytest.fixture(scope="module")
def loaded(small, tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    small.evaluations.to_parquet(d / "evaluations.parquet", index=False)
    return load_report_data(
        d,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=0,
        key="test-key-16-bytes",
        tables=("evaluations",),
    )


def _write_region(root: Path, region: str, perf_kpis, cal_kpis, status=("ok", "ok")):
    d = root / region.lower()
    d.mkdir(parents=True)
    io.write_kpis(
        {
            "region": region,
            "period": "2026-10",
            "performance": perf_kpis,
            "calibration": cal_kpis,
            "status": {"calibration_report": status[0], "performance_report": status[1]},
            "errors": {} if status == ("ok", "ok") else {"performance_report": "boom"},
        },
        d / io.REGION_KPI_FILE,
    )


def test_region_table_marks_missing_and_failed_regions(tmp_path):
    _write_region(
        tmp_path,
        "EU",
        {"pass_rate": 0.9, "mean_score": 88.0, "n_evaluations": 100},
        {"median_alpha": 0.7},
    )
    _write_region(tmp_path, "NA", None, {"median_alpha": 0.6}, status=("ok", "failed"))
    t = ro.region_table(tmp_path, ["EU", "NA", "MEA"])
    assert list(t["status"]) == ["ok", "partial", "missing"]
    assert t.loc[0, "pass_rate"] == 0.9 and np.isnan(t.loc[1, "pass_rate"])
    assert t.loc[1, "alpha"] == 0.6 and "boom" in t.loc[1, "error"]


def test_region_targets_and_global_kpis(tmp_path, loaded):
    _write_region(
        tmp_path,
        "EU",
        {
            "pass_rate": 0.9,
            "pass_rate_ci_low": 0.86,
            "pass_rate_ci_high": 0.93,
            "mean_score": 88.0,
            "critical_rate": 0.01,
            "audits_per_agent": 5.5,
        },
        {"median_alpha": 0.7},
    )
    _write_region(tmp_path, "NA", {"pass_rate": 0.8, "mean_score": 80.0}, {"median_alpha": 0.6})
    t = ro.region_table(tmp_path, ["EU", "NA", "MEA"])
    st = ro.region_targets(t, {"pass_rate": 0.85})
    pr = st.loc[st["kpi"] == "pass_rate"].set_index("region")
    assert pr.loc["EU", "status"] == "met" and bool(pr.loc["EU", "clear"]) is True
    assert pr.loc["NA", "status"] == "missed" and pd.isna(pr.loc["MEA", "status"])
    cons = ro.region_consistency(
        loaded.evaluations[loaded.evaluations["evaluated_at"] >= "2026-10-01"], loaded.scorecard
    )
    k = ro.global_kpis("2026-10", t, st, cons)
    assert k["regions_complete"] == 2 and k["regions_missing"] == "MEA (no report)"
    assert k["regions_missing_reports"] == "MEA" and k["regions_missing_calibration"] == "none"
    assert k["regions"] == ["EU", "NA"] and k["lowest_alpha_region"] == "NA"
    assert k["regions_pass_target_met"] == 1 and k["regions_pass_target_missed"] == 1
    assert k["n_evaluations"] == int(cons.table["n"].sum())
    assert k["pass_rate"] == pytest.approx(cons.pooled_pass_rate)
    md = ro.global_markdown(k, cons)
    assert md.endswith("Missing: MEA: reports missing or failed.")
    assert "The lowest calibration agreement is **NA**'s (median alpha 0.60; target" in md
    pos = cons.table["position"]
    below, above = int((pos == "below").sum()), int((pos == "above").sum())
    plain = (
        "funnel: every one of the regions is within what chance gives"
        if below + above == 0
        else f"funnel: {below} regions pass less often and {above} more often"
    )
    assert f"*In plain words:* {plain}" in md


def test_region_consistency_matches_aggregate(small):
    ev = small.evaluations[small.evaluations["evaluated_at"] >= "2026-10-01"]
    cons = ro.region_consistency(ev, small.scorecard)
    t = cons.table
    assert sorted(t["region"]) == sorted(ev["region"].unique())
    assert t["n"].sum() == ev["evaluation_id"].nunique()
    assert set(t["position"]) <= {"within", "above", "below"}
    scores = score_evaluations(ev, small.scorecard)
    assert cons.pooled_pass_rate == pytest.approx(scores["passed"].astype(float).mean())
    assert cons.mean_score == pytest.approx(scores["score"].mean())


def test_region_links_are_relative_html_links():
    md = ro.region_links(["EU", "LATAM"])
    assert "[performance report](latam/performance_report.html)" in md
    assert "[calibration report](eu/calibration_report.html)" in md


def test_region_targets_default_to_the_settings(tmp_path):
    _write_region(tmp_path, "EU", {"pass_rate": 0.5}, {"median_alpha": 0.9})
    st = ro.region_targets(ro.region_table(tmp_path, ["EU"])).set_index("kpi")
    assert st.loc["pass_rate", "target"] == settings.targets()["pass_rate"]
    assert st.loc["pass_rate", "status"] == "missed" and st.loc["alpha", "status"] == "met"


def test_region_consistency_without_evaluations_is_empty(small):
    cons = ro.region_consistency(small.evaluations.iloc[0:0], small.scorecard)
    assert len(cons.table) == 0 and cons.n == 0 and np.isnan(cons.pooled_pass_rate)


def test_a_region_without_calibration_is_missing_in_table_kpis_and_text(tmp_path, loaded):
    _write_region(
        tmp_path,
        "EU",
        {"pass_rate": 0.9, "n_evaluations": 100, "detail": {"previous_month": "present"}},
        {"median_alpha": 0.7, "n_sessions": 2},
    )
    _write_region(
        tmp_path,
        "NA",
        {"pass_rate": 0.8, "n_evaluations": 90, "detail": {"previous_month": "missing"}},
        {"median_alpha": None, "n_sessions": 0},
    )
    t = ro.region_table(tmp_path, ["EU", "NA"])
    assert list(t["calibration"]) == ["present", "missing"]
    assert list(t["missing_reason"]) == ["", "no previous month, no calibration"]
    shown = ro.region_display(t)
    assert shown.loc["NA", "Median alpha"] == "MISSING (no calibration)"
    assert shown.loc["EU", "Median alpha"] == "0.70"
    st = ro.region_targets(t)
    alpha = st.loc[st["kpi"] == "alpha"].set_index("region")
    assert alpha.loc["NA", "missing_reason"] == "no calibration" and pd.isna(
        alpha.loc["NA", "status"]
    )
    cons = ro.region_consistency(
        loaded.evaluations[loaded.evaluations["evaluated_at"] >= "2026-10-01"], loaded.scorecard
    )
    k = ro.global_kpis("2026-10", t, st, cons)
    assert k["regions_missing_calibration"] == "NA"
    assert k["regions_missing_previous"] == "NA"
    assert k["regions_missing"] == "NA (no calibration)" and k["regions_missing_reports"] == "none"
    md = ro.global_markdown(k, cons)
    assert "NA: **MISSING calibration** this month (no alpha: not zero)" in md
    assert "NA: no previous month to compare with" in md


def test_a_region_without_evaluations_gets_a_missing_row(small):
    ev = small.evaluations[small.evaluations["evaluated_at"] >= "2026-10-01"]
    ev = ev.loc[ev["region"] != "MEA"]
    cons = ro.region_consistency(ev, small.scorecard, regions=["EU", "MEA"])
    row = cons.table.set_index("region").loc["MEA"]
    assert (
        row["n"] == 0 and np.isnan(row["pass_rate"]) and row["missing_reason"] == "no evaluations"
    )
    assert cons.missing == ["MEA"]


def test_global_figures_pool_regions_by_ticket_volume(small):
    from qa_analysis import sampling as smp
    from qa_analysis.report.performance import ticket_estimates

    ev = small.evaluations[small.evaluations["evaluated_at"] >= "2026-10-01"]
    tk = small.tickets[small.tickets["created_at"] >= "2026-10-01"]
    cons = ro.region_consistency(ev, small.scorecard, tk)
    s = score_evaluations(ev, small.scorecard)
    per = {
        r: ticket_estimates(g.assign(passed=g["passed"].astype(float)), tk[tk["region"] == r])
        for r, g in s.loc[s["score"].notna()].groupby("region")
    }
    ref = smp.pool_estimates({r: e["pass_rate"] for r, e in per.items()})
    assert cons.pooled_pass_rate == pytest.approx(ref.estimate)
    t = cons.table.set_index("region")
    assert t.loc["EU", "pass_rate"] == pytest.approx(per["EU"]["pass_rate"].estimate)
    assert cons.estimand.startswith("Estimated for all regions' tickets")
