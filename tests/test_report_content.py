"""Tests for qa_analysis.report_content: windows, loading, KPI assembly and narrative.

The numbers in every sentence must be the library's numbers (rounded for
reading); empty months must give defined, null KPIs and a sentence saying so.
Fixtures: the small demo (``demo.generate(small=True)``), written once per
module as Parquet files so that the loaders run exactly as in the notebooks.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_analysis import compare as cmp
from qa_analysis import demo, reports
from qa_analysis import reliability as rel
from qa_analysis import report_content as rc
from qa_analysis import trends as tr
from qa_analysis.io import DataError

TH = {"alpha_reliable": 0.8, "alpha_tentative": 0.667, "bias_flag": 0.1, "n_boot": 200}
TARGETS = {
    "pass_rate": 0.85,
    "mean_score": 85,
    "critical_rate": 0.02,
    "alpha": 0.667,
    "audits_per_agent": 5,
}


@pytest.fixture(scope="module")
def small() -> demo.DemoData:
    return demo.generate(seed=7, small=True)


@pytest.fixture(scope="module")
def data_dir(small, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("demo")
    small.evaluations.to_parquet(d / "evaluations.parquet", index=False)
    small.calibration.to_parquet(d / "calibration.parquet", index=False)
    small.tickets.to_parquet(d / "tickets.parquet", index=False)
    return d


@pytest.fixture(scope="module")
def loaded(data_dir, small) -> rc.ReportData:
    return rc.load_report_data(
        data_dir,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=3,
        pseudonymise=True,
        key="test-key",
    )


@pytest.fixture(scope="module")
def cal(loaded) -> rc.CalibrationResults:
    return rc.calibration_results(
        loaded.calibration, loaded.scorecard, loaded.window, thresholds=TH, seed=3, region="EU"
    )


@pytest.fixture(scope="module")
def perf(loaded) -> rc.PerformanceResults:
    return rc.performance_results(
        loaded.evaluations,
        loaded.tickets,
        loaded.scorecard,
        loaded.window,
        targets=TARGETS,
        sampling={"per_agent": 4},
        seed=11,
        region="EU",
    )


def numbers(text: str) -> list[str]:
    return re.findall(r"[-+]?\d+\.\d+", text)


# ---------------------------------------------------------------------------
# paths and windows
# ---------------------------------------------------------------------------
def test_resolve_path_falls_back_to_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # as when a notebook runs from notebooks/
    p = rc.resolve_path("params/scorecard.yaml")
    assert p == rc.PROJECT_ROOT / "params/scorecard.yaml" and p.exists()


def test_resolve_path_prefers_the_path_as_given(tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    (tmp_path / "params/scorecard.yaml").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert rc.resolve_path("params/scorecard.yaml") == Path("params/scorecard.yaml")


def test_resolve_path_returns_unknown_paths_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert rc.resolve_path("nowhere/x.duckdb") == Path("nowhere/x.duckdb")


def test_data_source_maps_a_folder_to_the_table_file(data_dir):
    assert rc.data_source(data_dir, "calibration") == str(data_dir / "calibration.parquet")
    assert rc.data_source(data_dir / "tickets.parquet", "tickets") == str(
        data_dir / "tickets.parquet"
    )


def test_report_window_spans_month_history_and_previous_month():
    w = rc.report_window("2026-03", 2)
    assert (w.start, w.end) == (pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-31"))
    assert w.history_start == pd.Timestamp("2026-01-01")
    assert (w.prev_start, w.prev_end) == (pd.Timestamp("2026-02-01"), pd.Timestamp("2026-02-28"))
    assert w.label == "March 2026"


@pytest.mark.parametrize("bad", ["2026-13", "2026/10", "Oct 2026", 202610])
def test_report_window_rejects_bad_periods(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        rc.report_window(bad)


def test_report_window_rejects_negative_history():
    with pytest.raises(ValueError, match="history_months"):
        rc.report_window("2026-10", -1)


# ---------------------------------------------------------------------------
# loading and pseudonymisation
# ---------------------------------------------------------------------------
def test_load_report_data_cuts_the_windows(loaded):
    ev, cal, tk = loaded.evaluations, loaded.calibration, loaded.tickets
    assert ev["evaluated_at"].min() >= pd.Timestamp("2026-07-01")
    assert ev["evaluated_at"].max() < pd.Timestamp("2026-11-01")
    assert pd.to_datetime(cal["session_date"]).min() >= pd.Timestamp("2026-07-01")
    assert tk["created_at"].min() >= pd.Timestamp("2026-10-01")  # tickets: report month only
    assert set(ev["region"]) == {"EU"}


def test_load_report_data_pseudonymises_every_person_id(loaded, small):
    raw = (
        set(small.evaluations["agent_id"])
        | set(small.evaluations["reviewer_id"])
        | set(small.calibration["rater_id"])
        | set(small.tickets["agent_id"])
    )
    for df, cols in (
        (loaded.evaluations, ["agent_id", "reviewer_id"]),
        (loaded.calibration, ["rater_id"]),
        (loaded.tickets, ["agent_id"]),
    ):
        for c in cols:
            assert not set(df[c]) & raw
            assert df[c].str.match(r"^[AR]-[0-9a-f]{8}$").all()


def test_load_report_data_without_pseudonymisation_keeps_ids(data_dir, small):
    d = rc.load_report_data(
        data_dir,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=0,
        pseudonymise=False,
        tables=("calibration",),
    )
    assert set(d.calibration["rater_id"]) <= set(small.calibration["rater_id"])
    assert len(d.evaluations) == 0 and len(d.tickets) == 0


def test_load_report_data_names_a_missing_source(tmp_path, small):
    with pytest.raises(DataError, match="calibration.parquet"):
        rc.load_report_data(
            tmp_path, small.scorecard, region="EU", period="2026-10", tables=("calibration",)
        )


def test_load_report_data_rejects_unknown_tables(data_dir, small):
    with pytest.raises(ValueError, match="unknown table"):
        rc.load_report_data(
            data_dir, small.scorecard, region="EU", period="2026-10", tables=("audits",)
        )


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def test_verdict_uses_the_report_thresholds():
    assert rc.verdict(0.70) == rel.alpha_verdict(0.70) == "tentative"
    assert rc.verdict(0.70, {"alpha_tentative": 0.75, "alpha_reliable": 0.9}) == "unreliable"
    assert rc.verdict(np.nan) == "undefined"


def test_verdict_rejects_inverted_thresholds():
    with pytest.raises(ValueError, match="alpha_tentative"):
        rc.verdict(0.5, {"alpha_tentative": 0.9, "alpha_reliable": 0.8})


def test_fmt_ci_handles_missing_interval():
    assert rc.fmt_ci(0.5, np.nan, 0.7) == "0.50"
    assert rc.fmt_ci(np.nan, 0.1, 0.2) == "n/a [0.10, 0.20]"


def test_display_table_selects_rounds_and_limits_rows():
    df = pd.DataFrame({"a": list("abcdefghijkl"), "r": np.linspace(0, 1, 12), "x": 1.23456})
    out = rc.display_table(df, {"a": "A", "r": "R"}, percent=["r"])
    assert out.index.name == "A" and list(out.columns) == ["R"] and len(out) == 10
    assert out["R"].iloc[-1] == round(9 / 11 * 100, 1)


# ---------------------------------------------------------------------------
# calibration report
# ---------------------------------------------------------------------------
def test_calibration_results_use_the_month_only(cal, loaded):
    month = loaded.calibration[pd.to_datetime(loaded.calibration["session_date"]) >= "2026-10-01"]
    assert cal.n_sessions == month["session_id"].nunique()
    assert cal.n_raters == month["rater_id"].nunique()
    assert cal.n_ratings == int(month["score"].notna().sum())
    assert cal.drift["session_id"].nunique() == loaded.calibration["session_id"].nunique()


def test_calibration_agreement_matches_the_library(cal, loaded):
    month = loaded.calibration[pd.to_datetime(loaded.calibration["session_date"]) >= "2026-10-01"]
    month = month.assign(unit=month["session_id"] + " / " + month["ticket_id"])
    ref = rel.agreement_by_item(month, scorecard=loaded.scorecard, unit="unit", n_boot=200, seed=3)
    np.testing.assert_allclose(cal.by_item["alpha"], ref["alpha"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(cal.by_item["alpha_ci_low"], ref["alpha_ci_low"], atol=1e-12)


def test_calibration_recovers_the_planted_structure(cal):
    assert cal.worst_criterion == "empathy"
    verdicts = cal.raters.set_index("verdict")
    assert {"lenient", "severe"} <= set(verdicts.index)


def test_agreement_sentence_numbers_equal_the_table(cal):
    row = cal.by_item.loc[cal.by_item["criterion"] == "empathy"].iloc[0]
    s = rc.agreement_sentence(row, TH)
    assert s.startswith("Alpha for *Empathy* is ")
    assert numbers(s)[:3] == [
        f"{row['alpha']:.2f}",
        f"{row['alpha_ci_low']:.2f}",
        f"{row['alpha_ci_high']:.2f}",
    ]
    assert "below the .667 floor (unreliable)" in s


def test_agreement_sentence_bands():
    base = {"name": "Tone", "alpha_ci_low": np.nan, "alpha_ci_high": np.nan}
    assert "(reliable)" in rc.agreement_sentence({**base, "alpha": 0.85})
    assert "(tentative)" in rc.agreement_sentence({**base, "alpha": 0.7})
    assert "undefined" in rc.agreement_sentence({**base, "alpha": np.nan, "note": "one rater"})


def test_agreement_markdown_headline_counts(cal):
    md = rc.agreement_markdown(cal)
    a = cal.by_item["alpha"]
    assert f"**{np.median(a):.2f}**" in md and f"mean {a.mean():.2f}" in md
    n_unrel = int((cal.by_item["verdict"] == "unreliable").sum())
    assert f"{n_unrel} unreliable" in md
    assert md.count("- Alpha for") == n_unrel


def test_kappa_paradox_lists_high_gwet_low_alpha_criteria():
    by_item = pd.DataFrame(
        {
            "criterion": ["a", "b"],
            "name": ["Privacy", "Tone"],
            "alpha": [0.3, 0.9],
            "gwet": [0.9, 0.95],
            "gwet_coefficient": ["AC1", "AC2 (ordinal)"],
            "percent_agreement": [0.92, 0.97],
            "verdict": ["unreliable", "reliable"],
        }
    )
    res = _stub_calibration(by_item)
    md = rc.kappa_paradox_markdown(res)
    assert "*Privacy* (alpha 0.30, AC1 0.90, 92% of rater pairs agree)" in md
    assert "Tone" not in md


def test_rater_markdown_reports_bias_with_ci(cal):
    md = rc.rater_markdown(cal)
    flagged = cal.raters.loc[cal.raters["verdict"].isin(["lenient", "severe"])]
    assert md.startswith(f"{len(flagged)} of {len(cal.raters)} raters")
    r = flagged.iloc[0]
    assert f"{r['deviation_share'] * 100:+.1f}%" in md
    assert (
        f"[{r['deviation_share_ci_low'] * 100:+.1f}%, {r['deviation_share_ci_high'] * 100:+.1f}%]"
        in md
    )


def test_split_table_separates_session_and_ticket(cal):
    s = cal.split
    assert len(s) == 10 and list(s["rank"]) == list(range(1, 11))
    assert s["ticket_id"].str.startswith("T").all() and s["session_id"].str.contains("CAL").all()
    assert s["most_split_name"].notna().all()
    assert s["ticket_id"].iloc[0] in rc.split_markdown(cal)


def test_drift_sentence_reports_the_mann_kendall_p(cal):
    s = rc.drift_sentence(cal)
    per = cal.drift.groupby("session_id", sort=False)["mean_alpha"].first()
    t = tr.mann_kendall(per.to_numpy())
    assert f"{per.iloc[0]:.2f} to {per.iloc[-1]:.2f}" in s
    assert (f"p = {t.p_value:.2f}" in s) or (f"p = {t.p_value:.3f}" in s)


def test_calibration_kpis_equal_the_results(cal, tmp_path):
    k = rc.calibration_kpis(cal)
    a = cal.by_item["alpha"]
    assert k["n_sessions"] == cal.n_sessions and k["n_raters"] == cal.n_raters
    assert k["median_alpha"] == pytest.approx(float(np.median(a)))
    assert k["worst_criterion"] == "empathy" and k["worst_alpha"] == pytest.approx(a.min())
    assert k["n_lenient"] == int((cal.raters["verdict"] == "lenient").sum())
    reports.write_kpis(k, tmp_path / "k.json")  # every value is JSON-writable
    assert json.loads((tmp_path / "k.json").read_text())["criteria"]["empathy"] == pytest.approx(
        a.min()
    )


def test_calibration_empty_month_gives_null_kpis_and_says_so(loaded):
    w = rc.report_window("2027-02", 1)
    res = rc.calibration_results(
        loaded.calibration, loaded.scorecard, w, thresholds=TH, region="EU"
    )
    assert res.empty and res.n_sessions == 0 and res.worst_criterion is None
    k = rc.calibration_kpis(res)
    assert k["n_sessions"] == 0 and k["median_alpha"] is None and k["n_lenient"] is None
    assert "No calibration sessions in February 2027" in rc.participation_sentence(res)
    for f in (rc.agreement_markdown, rc.rater_markdown, rc.split_markdown, rc.drift_sentence):
        assert f(res)  # a sentence, no exception


def _stub_calibration(by_item: pd.DataFrame) -> rc.CalibrationResults:
    e = pd.DataFrame()
    return rc.CalibrationResults(
        region="EU",
        window=rc.report_window("2026-10"),
        thresholds=dict(rc.DEFAULT_THRESHOLDS),
        n_ratings=10,
        sessions=e,
        roles=pd.DataFrame(columns=["role", "raters"]),
        by_item=by_item,
        raters=e,
        heatmap=e,
        split=e,
        drift=e,
        drift_trend=tr.mann_kendall([]),
    )


# ---------------------------------------------------------------------------
# performance report
# ---------------------------------------------------------------------------
def test_performance_totals_match_the_library(perf):
    m = perf.month
    scored = m[m["score"].notna()]
    assert perf.totals["n"] == len(scored)
    assert perf.totals["pass_rate"] == pytest.approx(scored["passed"].astype(float).mean())
    lo, hi = tr.wilson_interval(int(scored["passed"].sum()), len(scored))
    assert perf.totals["pass_ci_low"] == pytest.approx(float(lo))
    assert perf.totals["mean_score"] == pytest.approx(scored["score"].mean())
    assert m["evaluated_at"].min() >= pd.Timestamp("2026-10-01")


def test_control_chart_baseline_is_the_first_half_of_the_history(perf):
    cut = perf.window.baseline_end
    cc = perf.weekly_p
    assert cc.loc[cc["period"] < cut, "baseline"].all()
    assert not cc.loc[cc["period"] >= cut, "baseline"].any()


def test_baseline_is_none_without_history():
    assert rc.report_window("2026-10", 0).baseline_end is None
    assert str(rc.report_window("2026-10", 3).baseline_end.date()) == "2026-09-01"


def test_targets_table_and_markdown_agree(perf):
    t = perf.targets.set_index("kpi")
    assert t.loc["critical_rate", "direction"] == "max"
    md = rc.targets_markdown(perf)
    met = int((perf.targets["status"] == "met").sum())
    assert md.startswith(f"{met} target(s) met")
    assert f"{perf.totals['pass_rate'] * 100:.1f}%" in md


def test_volume_markdown_reports_audits_and_margin(perf):
    md = rc.volume_markdown(perf)
    assert f"**{perf.totals['n']:,} evaluations**" in md
    assert f"{perf.totals['moe'] * 100:.1f}%" in md
    assert f"{perf.totals['agents_at_target']} of {perf.totals['n_agents']} agents" in md


def test_pareto_sentence_names_the_top_criterion(perf):
    s = rc.pareto_sentence(perf)
    assert f"*{perf.pareto['name'].iloc[0]}*" in s
    assert f"{int(perf.pareto['fails'].sum()):,} criterion fails" in s


def test_critical_sentence_finds_phone(perf):
    s = rc.critical_sentence(perf)
    ch = perf.breakdowns["channel"].sort_values("critical_rate").iloc[-1]
    assert f"Channel **{ch['channel']}**" in s


def test_changes_have_overall_and_market_rows(perf):
    c = perf.pass_rate_changes
    assert c["market"].iloc[0] == "All" and len(c) > 1
    ref = tr.compare_periods(
        perf.scores, period_a=("2026-09-01", "2026-09-30"), period_b=("2026-10-01", "2026-10-31")
    )
    assert c["change"].iloc[0] == pytest.approx(ref["change"].iloc[0])
    assert f"{ref['change'].iloc[0] * 100:+.1f} points" in rc.changes_markdown(perf)


def test_csat_sentence_equals_csat_link(perf):
    ref = cmp.csat_link(perf.scores)
    s = rc.csat_sentence(perf)
    assert f"Spearman's rho {ref['rho'].iloc[0]:.2f}" in s
    assert f"On {int(ref['n'].iloc[0]):,} evaluated tickets" in s


def test_audit_plan_is_reproducible_and_pseudonymised(perf, loaded):
    assert perf.plan["agent_id"].str.startswith("A-").all()
    assert perf.plan.groupby("agent_id").size().max() <= 4
    again = rc.performance_results(
        loaded.evaluations,
        loaded.tickets,
        loaded.scorecard,
        loaded.window,
        targets=TARGETS,
        sampling={"per_agent": 4},
        seed=11,
    )
    pd.testing.assert_frame_equal(perf.plan, again.plan)
    assert f"**{len(perf.plan):,} tickets**" in rc.plan_sentence(perf)


def test_top_bottom_takes_both_ends_of_the_shrunken_ranking(perf):
    assert perf.ranked  # the small demo's EU agents differ beyond chance
    tb = rc.top_bottom(perf, k=3)
    assert list(tb["group"]) == ["top"] * 3 + ["bottom"] * 3
    assert tb["shrunk_rate"].iloc[0] == perf.shrunk["shrunk_rate"].max()
    assert tb["shrunk_rate"].iloc[3] == perf.shrunk["shrunk_rate"].min()  # worst first


def test_performance_kpis_equal_the_results(perf, tmp_path):
    k = rc.performance_kpis(perf)
    assert k["n_evaluations"] == perf.totals["n"]
    assert k["pass_rate"] == pytest.approx(perf.totals["pass_rate"])
    assert k["audit_plan_size"] == len(perf.plan)
    assert k["trend_direction"] in ("up", "down", "none")
    assert k["targets_met"] + k["targets_missed"] <= 4
    reports.write_kpis(k, tmp_path / "p.json")


def test_performance_empty_month_gives_null_kpis(loaded):
    w = rc.report_window("2027-02", 1)
    res = rc.performance_results(
        loaded.evaluations,
        loaded.tickets.iloc[0:0],
        loaded.scorecard,
        w,
        targets=TARGETS,
        region="EU",
    )
    assert res.empty and len(res.plan) == 0
    k = rc.performance_kpis(res)
    assert k["n_evaluations"] == 0 and k["pass_rate"] is None and k["audit_plan_size"] == 0
    assert "No scored evaluations in February 2027" in rc.volume_markdown(res)
    for f in (
        rc.control_markdown,
        rc.trend_sentence,
        rc.targets_markdown,
        rc.pareto_sentence,
        rc.critical_sentence,
        rc.agents_markdown,
        rc.changes_markdown,
        rc.csat_sentence,
        rc.plan_sentence,
    ):
        assert isinstance(f(res), str)


# ---------------------------------------------------------------------------
# global overview
# ---------------------------------------------------------------------------
def _write_region(root: Path, region: str, perf_kpis, cal_kpis, status=("ok", "ok")):
    d = root / region.lower()
    d.mkdir(parents=True)
    reports.write_kpis(
        {
            "region": region,
            "period": "2026-10",
            "performance": perf_kpis,
            "calibration": cal_kpis,
            "status": {"calibration_report": status[0], "performance_report": status[1]},
            "errors": {} if status == ("ok", "ok") else {"performance_report": "boom"},
        },
        d / "kpis.json",
    )


def test_region_table_marks_missing_and_failed_regions(tmp_path):
    _write_region(
        tmp_path,
        "EU",
        {"pass_rate": 0.9, "mean_score": 88.0, "n_evaluations": 100},
        {"median_alpha": 0.7},
    )
    _write_region(tmp_path, "NA", None, {"median_alpha": 0.6}, status=("ok", "failed"))
    t = rc.region_table(tmp_path, ["EU", "NA", "MEA"])
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
    t = rc.region_table(tmp_path, ["EU", "NA", "MEA"])
    st = rc.region_targets(t, TARGETS)
    pr = st.loc[st["kpi"] == "pass_rate"].set_index("region")
    assert pr.loc["EU", "status"] == "met" and bool(pr.loc["EU", "clear"]) is True
    assert pr.loc["NA", "status"] == "missed" and pd.isna(pr.loc["MEA", "status"])
    cons = rc.region_consistency(
        loaded.evaluations[loaded.evaluations["evaluated_at"] >= "2026-10-01"], loaded.scorecard
    )
    k = rc.global_kpis("2026-10", t, st, cons)
    assert k["regions_complete"] == 2 and k["regions_missing"] == "MEA"
    assert k["regions"] == ["EU", "NA"] and k["lowest_alpha_region"] == "NA"
    assert k["regions_pass_target_met"] == 1 and k["regions_pass_target_missed"] == 1
    assert k["n_evaluations"] == int(cons["n"].sum())
    assert "Reports missing or failed: MEA." in rc.global_markdown(k, cons, TARGETS)


def test_region_consistency_matches_aggregate(small):
    ev = small.evaluations[small.evaluations["evaluated_at"] >= "2026-10-01"]
    cons = rc.region_consistency(ev, small.scorecard)
    assert sorted(cons["region"]) == sorted(ev["region"].unique())
    assert cons["n"].sum() == ev["evaluation_id"].nunique()
    assert set(cons["position"]) <= {"within", "above", "below"}


def test_region_links_are_relative_html_links():
    md = rc.region_links(["EU", "LATAM"])
    assert "[performance report](latam/performance_report.html)" in md
    assert "[calibration report](eu/calibration_report.html)" in md


def test_agreement_table_formats_estimates_with_intervals(cal):
    t = rc.agreement_table(cal)
    row = cal.by_item.loc[cal.by_item["criterion"] == "empathy"].iloc[0]
    assert t.loc["Empathy", "Alpha"] == rc.fmt_ci(
        row["alpha"], row["alpha_ci_low"], row["alpha_ci_high"]
    )
    assert t.loc["Empathy", "Gwet"].startswith("AC2 ")
    assert len(t) == len(cal.by_item)


def test_rater_table_keeps_the_severe_to_lenient_order(cal):
    t = rc.rater_table(cal)
    assert list(t.index) == list(cal.raters["rater_id"])
    assert t["Mean bias (% of range)"].iloc[0].startswith("+")


def test_display_tables_are_empty_not_errors_for_an_empty_month(loaded):
    res = rc.calibration_results(
        loaded.calibration, loaded.scorecard, rc.report_window("2027-02", 0)
    )
    assert len(rc.agreement_table(res)) == 0 and len(rc.rater_table(res)) == 0


def test_margin_of_error_without_a_ticket_population(loaded):
    res = rc.performance_results(
        loaded.evaluations,
        loaded.tickets.iloc[0:0],
        loaded.scorecard,
        loaded.window,
        targets=TARGETS,
    )
    from qa_analysis.sampling import margin_of_error

    assert res.totals["n_tickets"] is None
    assert res.totals["moe"] == pytest.approx(margin_of_error(res.totals["n"]))  # no FPC
    assert np.isfinite(res.per_agent["moe"]).all()


def test_default_targets_and_thresholds_match_params_defaults_yaml():
    """The library's fallbacks (used when a plain papermill run passes a partial dict)
    must not drift from params/defaults.yaml, the documented source of the defaults."""
    import yaml

    defaults = yaml.safe_load((rc.PROJECT_ROOT / "params" / "defaults.yaml").read_text())
    assert rc.DEFAULT_TARGETS == defaults["targets"]
    assert rc.DEFAULT_THRESHOLDS == defaults["thresholds"]


# ---------------------------------------------------------------------------
# demo data and the pseudonymisation key
# ---------------------------------------------------------------------------
def test_is_demo_data_recognises_the_folder_and_files_inside_it(tmp_path):
    assert not rc.is_demo_data(tmp_path)
    (tmp_path / "planted.json").write_text("{}")
    assert rc.is_demo_data(tmp_path)
    assert rc.is_demo_data(tmp_path / "qa.duckdb")  # a file inside (need not exist yet)
    assert not rc.is_demo_data(tmp_path / "sub" / "qa.duckdb")
    assert not rc.is_demo_data(tmp_path.parent / "nowhere-at-all")


def test_is_demo_data_is_true_for_write_demo_output(tmp_path):
    paths = demo.write_demo(tmp_path / "demo", small=True)
    assert rc.is_demo_data(paths["duckdb"]) and rc.is_demo_data(tmp_path / "demo")


def test_load_report_data_without_a_key_refuses_real_data(data_dir, small, monkeypatch):
    monkeypatch.delenv(reports.PSEUDONYM_ENV, raising=False)
    with pytest.raises(ValueError, match=reports.PSEUDONYM_ENV):
        rc.load_report_data(
            data_dir,
            small.scorecard,
            region="EU",
            period="2026-10",
            history_months=0,
            tables=("calibration",),
        )


def test_load_report_data_without_a_key_uses_the_demo_key_for_demo_data(
    data_dir, small, tmp_path, monkeypatch
):
    monkeypatch.delenv(reports.PSEUDONYM_ENV, raising=False)
    (tmp_path / "calibration.parquet").write_bytes((data_dir / "calibration.parquet").read_bytes())
    (tmp_path / "planted.json").write_text(json.dumps(small.planted))
    d = rc.load_report_data(
        tmp_path,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=0,
        tables=("calibration",),
    )
    raw = rc.load_report_data(
        tmp_path,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=0,
        tables=("calibration",),
        pseudonymise=False,
    )
    expected = reports.pseudonymise(raw.calibration, key=reports.DEFAULT_PSEUDONYM_KEY)
    assert list(d.calibration["rater_id"]) == list(expected["rater_id"])


# ---------------------------------------------------------------------------
# nothing dropped silently: N/A ratings, ratings without a reference, unscored evaluations
# ---------------------------------------------------------------------------
def _month_cal(loaded) -> pd.DataFrame:
    c = loaded.calibration
    return c[pd.to_datetime(c["session_date"]) >= "2026-10-01"]


def test_calibration_counts_na_ratings_and_says_so(cal, loaded):
    month = _month_cal(loaded)
    n_na = int(month["score"].isna().sum())
    assert n_na > 0  # the demo has N/A on na_allowed criteria
    assert (cal.n_ratings_total, cal.n_na, cal.n_ratings) == (len(month), n_na, len(month) - n_na)
    s = rc.participation_sentence(cal)
    assert f"{len(month):,} ratings in all, of which {n_na:,} N/A" in s
    assert f"{len(month) - n_na:,} scored" in s


def test_participation_sentence_says_when_nothing_is_na(cal):
    res = dataclasses.replace(cal, n_na=0, n_ratings_total=cal.n_ratings)
    assert rc.participation_sentence(res).endswith(f"{cal.n_ratings:,} ratings in all, none N/A.")


def test_agreement_markdown_shows_every_non_empty_item_note(cal):
    notes = cal.by_item.loc[cal.by_item["note"].fillna("").str.len() > 0, ["name", "note"]]
    assert len(notes) > 0 and notes["note"].str.contains("missing rating").any()
    md = rc.agreement_markdown(cal)
    for name, note in notes.itertuples(index=False):
        assert f"- *{name}*: {note.rstrip('.')}." in md
    # the per-criterion N/A counts add up to the month's N/A ratings
    counted = notes["note"].str.extract(r"(\d+) missing rating")[0].dropna().astype(int).sum()
    assert counted == cal.n_na


def _cal_frame(expert_on: list[str]) -> pd.DataFrame:
    """Three tickets rated by an expert and two specialists on one 1-5 criterion; the
    expert rates only the tickets in ``expert_on``."""
    rows = []
    for t, base in (("t1", 3), ("t2", 4), ("t3", 2)):
        for r, role, d in (("x", "expert", 0), ("a", "specialist", 1), ("b", "specialist", 0)):
            if role == "expert" and t not in expert_on:
                continue
            rows.append(
                {
                    "session_id": "s1",
                    "session_date": pd.Timestamp("2026-10-08"),
                    "ticket_id": t,
                    "rater_id": r,
                    "role": role,
                    "criterion": "tone",
                    "score": float(min(base + d, 5)),
                }
            )
    return pd.DataFrame(rows)


def test_ratings_without_a_reference_are_counted_and_stated():
    from qa_analysis.scorecard import Scorecard

    sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [1, 2, 3, 4, 5]}]})
    res = rc.calibration_results(
        _cal_frame(["t1", "t2"]), sc, rc.report_window("2026-10", 0), thresholds={"n_boot": 50}
    )
    # six specialist ratings; the two on t3 have no expert rating to compare with
    assert (res.n_compared, res.n_no_reference) == (4, 2)
    assert res.n_compared == int(res.raters["n_ratings"].sum())
    md = rc.rater_markdown(res)
    assert (
        "Compared on 4 ratings; 2 rating(s) had no expert rating of the same ticket and "
        "criterion and are left out of rater calibration." in md
    )
    k = rc.calibration_kpis(res)
    assert k["detail"]["n_no_reference"] == 2 and k["detail"]["n_compared"] == 4


def test_no_reference_count_is_zero_when_the_expert_rates_everything():
    from qa_analysis.scorecard import Scorecard

    sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [1, 2, 3, 4, 5]}]})
    res = rc.calibration_results(
        _cal_frame(["t1", "t2", "t3"]),
        sc,
        rc.report_window("2026-10", 0),
        thresholds={"n_boot": 50},
    )
    assert (res.n_compared, res.n_no_reference) == (6, 0)
    assert "left out of rater calibration" not in rc.rater_markdown(res)


SC1 = {"pass_mark": 80, "criteria": [{"id": "resolution", "scale": [0, 1], "na_allowed": True}]}


def _evals(passes: dict[str, list[float]], day: str = "2026-10-10") -> pd.DataFrame:
    """One evaluation per listed score (NaN = N/A), one criterion, all in one month."""
    rows = [
        {
            "evaluation_id": f"{a}-{i}",
            "ticket_id": f"{a}-t{i}",
            "agent_id": a,
            "market": "DE",
            "channel": "chat",
            "queue": "billing",
            "evaluated_at": pd.Timestamp(day),
            "criterion": "resolution",
            "score": s,
        }
        for a, scores in passes.items()
        for i, s in enumerate(scores)
    ]
    return pd.DataFrame(rows)


def test_unscored_evaluations_are_counted_and_stated():
    from qa_analysis.scorecard import Scorecard

    ev = _evals({"a": [1.0, 1.0, 0.0, np.nan], "b": [1.0, np.nan, np.nan, 1.0]})
    res = rc.performance_results(
        ev, pd.DataFrame(), Scorecard.from_dict(SC1), rc.report_window("2026-10", 0)
    )
    assert (res.totals["n"], res.totals["n_unscored"]) == (5, 3)
    assert res.totals["pass_rate"] == pytest.approx(4 / 5)  # the N/A evaluations are in no rate
    md = rc.volume_markdown(res)
    assert "**5 evaluations** were scored" in md
    assert "3 more evaluation(s) had every criterion N/A" in md
    assert rc.performance_kpis(res)["n_unscored"] == 3


# ---------------------------------------------------------------------------
# coverage against the month's sampling plan; next month's plan
# ---------------------------------------------------------------------------
def test_month_plan_is_the_months_period_seed_draw(perf, loaded):
    from qa_analysis import sampling as smp

    ref = smp.audit_plan(loaded.tickets, per_agent=4, seed=smp.period_seed(11, "2026-10"))
    pd.testing.assert_frame_equal(perf.month_plan, ref)


def test_next_month_plan_uses_next_months_seed_and_is_a_new_draw(perf, loaded):
    from qa_analysis import sampling as smp

    assert perf.next_period == "2026-11"
    ref = smp.audit_plan(loaded.tickets, per_agent=4, seed=smp.period_seed(11, "2026-11"))
    pd.testing.assert_frame_equal(perf.plan, ref)
    assert len(set(perf.plan["ticket_id"]) & set(perf.month_plan["ticket_id"])) < len(perf.plan) / 2
    s = rc.plan_sentence(perf)
    assert "as a template for November 2026's tickets" in s
    assert 'period_seed(seed, "2026-11")' in s and "not the same draw as October 2026's plan" in s


def test_coverage_equals_sampling_coverage_of_the_months_tickets(perf, loaded):
    from qa_analysis import sampling as smp

    ev = loaded.evaluations
    ev = ev[ev["evaluated_at"] >= "2026-10-01"]
    of_month = ev[ev["ticket_id"].isin(loaded.tickets["ticket_id"])]
    ref = smp.coverage(perf.month_plan, of_month, by="agent_id")
    np.testing.assert_array_equal(perf.coverage["done"], ref["done"])
    np.testing.assert_array_equal(perf.coverage["planned"], ref["planned"])
    t = perf.totals
    assert (t["planned"], t["done"], t["unplanned"]) == (
        int(ref["planned"].sum()),
        int(ref["done"].sum()),
        int(ref["unplanned"].sum()),
    )
    assert (
        t["audits_other_tickets"]
        == ev.drop_duplicates("ticket_id")["ticket_id"]
        .isin(loaded.tickets["ticket_id"])
        .eq(False)
        .sum()
    )


def test_coverage_recovers_the_demo_plan_with_the_demos_seed(loaded, small):
    """The small demo audits each month's plan (five per agent, period_seed(7, month)) and
    misses about 4%: re-drawn with the same seed, nearly every planned audit is found."""
    res = rc.performance_results(
        loaded.evaluations,
        loaded.tickets,
        loaded.scorecard,
        loaded.window,
        targets=TARGETS,
        sampling={"per_agent": 5},
        seed=small.planted["seed"],
    )
    t = res.totals
    assert t["unplanned"] == 0 and t["planned"] == 5 * loaded.tickets["agent_id"].nunique()
    assert t["done"] + t["pending_late"] >= 0.9 * t["planned"]
    assert rc.performance_kpis(res)["plan_completion"] == pytest.approx(t["done"] / t["planned"])


def test_coverage_counts_done_unplanned_other_and_pending():
    from qa_analysis import sampling as smp
    from qa_analysis.scorecard import Scorecard

    tickets = pd.DataFrame(
        {
            "ticket_id": [f"t{i}" for i in range(1, 11)],
            "agent_id": ["a"] * 6 + ["b"] * 4,
            "channel": ["chat"] * 6 + ["email"] * 4,
            "created_at": pd.to_datetime(["2026-10-05"] * 6 + ["2026-10-30"] * 4),
        }
    )
    plan = smp.audit_plan(tickets, per_agent=2, seed=smp.period_seed(3, "2026-10"))
    done = plan.loc[plan["agent_id"] == "a", "ticket_id"].iloc[0]
    extra = tickets.loc[
        (tickets["agent_id"] == "b") & ~tickets["ticket_id"].isin(plan["ticket_id"]), "ticket_id"
    ].iloc[0]
    ev = pd.DataFrame(
        {
            "evaluation_id": ["e1", "e2", "e3"],
            "ticket_id": [done, extra, "t0"],
            "agent_id": ["a", "b", "a"],
            "market": "DE",
            "channel": "chat",
            "evaluated_at": pd.to_datetime(["2026-10-06", "2026-10-31", "2026-10-02"]),
            "criterion": "resolution",
            "score": [1.0, 1.0, 0.0],
        }
    )
    res = rc.performance_results(
        ev,
        tickets,
        Scorecard.from_dict(SC1),
        rc.report_window("2026-10", 0),
        sampling={"per_agent": 2},
        seed=3,
    )
    t = res.totals
    assert (t["planned"], t["done"], t["unplanned"], t["audits_other_tickets"]) == (4, 1, 1, 1)
    assert t["completion"] == 0.25 and t["pending_late"] == 2  # b's two planned tickets of 30 Oct
    from qa_analysis.sampling import margin_of_error

    assert t["moe_achieved"] == pytest.approx(margin_of_error(1, population=10))
    md = rc.volume_markdown(res)
    assert "**1 of 4 planned audits done (25.0%)**" in md
    assert "1 audit(s) of the month's tickets outside the plan" in md
    assert "2 of the missing audits are of tickets from the month's last three days" in md
    assert "A further 1 audit(s) this month were of tickets outside the month's population" in md
    k = rc.performance_kpis(res)
    assert k["plan_completion"] == 0.25 and k["detail"]["plan_unplanned"] == 1


def test_volume_markdown_reports_completion_and_achieved_margin(perf):
    t = perf.totals
    md = rc.volume_markdown(perf)
    assert (
        f"**{t['done']:,} of {t['planned']:,} planned audits done ({t['completion'] * 100:.1f}%)**"
    ) in md
    assert f"achieve +-{t['moe_achieved'] * 100:.1f}%" in md
    assert f"{t['agents_at_target']} of {t['n_agents']} agents reached it" in md  # vs target kept


def test_coverage_without_tickets_says_there_is_no_plan(loaded):
    res = rc.performance_results(
        loaded.evaluations,
        loaded.tickets.iloc[0:0],
        loaded.scorecard,
        loaded.window,
        targets=TARGETS,
    )
    assert res.totals["planned"] == 0 and len(res.coverage) == 0
    assert "No audit plan to check coverage against" in rc.volume_markdown(res)
    assert rc.performance_kpis(res)["plan_completion"] is None


# ---------------------------------------------------------------------------
# agent ranking only when agents differ beyond chance
# ---------------------------------------------------------------------------
def _agents_res(passes: dict[str, list[float]]) -> rc.PerformanceResults:
    from qa_analysis.scorecard import Scorecard

    return rc.performance_results(
        _evals(passes), pd.DataFrame(), Scorecard.from_dict(SC1), rc.report_window("2026-10", 0)
    )


def test_indistinguishable_agents_are_not_ranked():
    # every agent passes 4 of 5: no variation beyond chance
    res = _agents_res({f"a{i}": [1.0, 1.0, 0.0, 1.0, 1.0] for i in range(12)})
    assert not res.ranked and res.shrunk["rank"].isna().all()
    md = rc.agents_markdown(res)
    assert "pass rates do not differ beyond chance this month: no ranking" in md
    tb = rc.top_bottom(res)
    assert not set(tb["group"]) & {"top", "bottom"} and tb["rank"].isna().all()
    assert (
        tb.attrs["note"] == "agents' pass rates do not differ beyond chance this month: no ranking"
    )
    assert rc.performance_kpis(res)["detail"]["agents_ranked"] is False


def test_distinguishable_agents_are_ranked_top_and_bottom():
    res = _agents_res(
        {
            **{f"g{i}": [1.0] * 20 for i in range(6)},
            **{f"p{i}": [0.0] * 15 + [1.0] * 5 for i in range(6)},
        }
    )
    assert res.ranked
    tb = rc.top_bottom(res, k=3)
    assert list(tb["group"]) == ["top"] * 3 + ["bottom"] * 3
    assert tb["agent_id"].iloc[0].startswith("g") and tb["agent_id"].iloc[-1].startswith("p")
    md = rc.agents_markdown(res)
    assert "differ beyond chance (test" in md and "no ranking" not in md


def test_top_bottom_without_ranking_lists_only_funnel_outliers(perf):
    stub = perf.shrunk.copy()
    stub["position"] = "within"
    stub.loc[stub.index[-1], "position"] = "below"
    stub["rank"] = pd.array([pd.NA] * len(stub), dtype="Int64")
    stub.attrs.update(perf.shrunk.attrs, distinguishable=False)
    tb = rc.top_bottom(dataclasses.replace(perf, shrunk=stub))
    assert list(tb["group"]) == ["below funnel"]
    assert tb["agent_id"].iloc[0] == stub["agent_id"].iloc[-1]


@pytest.mark.parametrize(
    ("frame", "attrs", "expected"),
    [
        ({"rank": [1, 2]}, {"distinguishable": False}, False),  # new shrink: attrs decide
        ({"rank": [1, 2], "distinguishable": [False, False]}, {}, False),  # new: column
        ({"rank": pd.array([pd.NA, pd.NA], dtype="Int64")}, {}, False),  # ranks withheld
        (
            {"rank": [1, 2]},
            {
                "note": "no between-unit variation beyond chance: prior concentration "
                "at its bound (10000000), rates shrink to the pooled rate"
            },
            False,
        ),
        (
            {"rank": [1, 2]},
            {"note": "fewer than 2 units: no prior fitted; raw rates"},
            False,
        ),  # old
        ({"rank": [1, 2]}, {"note": ""}, True),  # old shrink, variation found
        ({"rank": [1, 2], "distinguishable": [True, True]}, {"distinguishable": True}, True),
    ],
)
def test_agents_ranked_reads_old_and_new_shrink_output(frame, attrs, expected):
    s = pd.DataFrame({"agent_id": ["a", "b"], **frame})
    s.attrs.update(attrs)
    assert rc.agents_ranked(s) is expected


def test_agents_ranked_is_false_without_agents():
    assert rc.agents_ranked(pd.DataFrame(columns=["agent_id", "rank"])) is False


def test_shrink_attrs_survive_the_merge_with_funnel_positions(perf):
    assert "distinguishable" in perf.shrunk.attrs and "position" in perf.shrunk


# ---------------------------------------------------------------------------
# merged targets in the notebooks
# ---------------------------------------------------------------------------
def test_target_values_merge_a_partial_targets_parameter(loaded):
    res = rc.performance_results(
        loaded.evaluations,
        loaded.tickets.iloc[0:0],
        loaded.scorecard,
        loaded.window,
        targets={"pass_rate": 0.9},
    )
    assert res.target_values == {**rc.DEFAULT_TARGETS, "pass_rate": 0.9}


@pytest.mark.parametrize("name", ["performance_report", "global_overview"])
def test_notebooks_plot_merged_targets_not_the_raw_parameter(name):
    nb = json.loads((rc.PROJECT_ROOT / "notebooks" / f"{name}.ipynb").read_text())
    code = "\n".join(
        "".join(c["source"])
        for c in nb["cells"]
        if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])
    )
    assert "targets.get(" not in code and "tg.get(" in code
