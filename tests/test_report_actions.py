"""This month's actions (issue 12, item 2): from tested findings only, with stable ids."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from qa_analysis import io, settings
from qa_analysis.report import actions as ra
from qa_analysis.report import calibration as rc
from qa_analysis.report.data import report_window
from qa_analysis.report.performance import AgentsSection
from qa_analysis.scenarios import Effect, scenario

PERIOD = "2026-10"
TH = {"n_boot": 200}


def _cal(s, region: str = "EU") -> rc.CalibrationResults:
    cal = s.calibration.loc[s.calibration["region"] == region]
    return rc.calibration_results(
        cal, s.scorecard, report_window(PERIOD, 3), thresholds=TH, seed=3, region=region
    )


@pytest.fixture(scope="module")
def planted() -> rc.CalibrationResults:
    effect = Effect("rater_bias", region="EU", criterion="resolution", size=0.25)
    s = scenario([effect], seed=11, regions=["EU"], months=4, end=PERIOD, agents=12)
    return _cal(s)


@pytest.fixture(scope="module")
def null() -> rc.CalibrationResults:
    return _cal(scenario((), seed=11, regions=["EU"], months=4, end=PERIOD, agents=12))


def test_lenient_rater_on_one_criterion_gets_a_recalibrate_action_naming_both(planted):
    a = ra.calibration_actions(planted)
    rec = a.loc[a["kind"] == "recalibrate"]
    assert rec[["subject", "criterion"]].to_numpy().tolist() == [["EU-S01", "resolution"]]
    row = rec.iloc[0]
    assert "lenient" in row["evidence"] and row["p_adjusted"] < 0.05 and row["statistic"] > 0
    assert list(a.columns) == list(ra.ACTION_COLUMNS)


def test_null_scenario_produces_no_action(null):
    assert len(ra.calibration_actions(null)) == 0


def test_action_ids_are_stable_across_reruns_and_differ_between_months(planted):
    again = _cal(
        scenario(
            [Effect("rater_bias", region="EU", criterion="resolution", size=0.25)],
            seed=11,
            regions=["EU"],
            months=4,
            end=PERIOD,
            agents=12,
        )
    )
    a, b = ra.calibration_actions(planted), ra.calibration_actions(again)
    assert a["action_id"].tolist() == b["action_id"].tolist()
    assert a["action_id"].is_unique
    assert ra.action_id("coach", "EU", "2026-10", "A1") != ra.action_id(
        "coach", "EU", "2026-11", "A1"
    )


def _agents(ranked: bool) -> AgentsSection:
    shrunk = pd.DataFrame(
        {
            "agent_id": ["A1", "A2", "A3"],
            "n": [20, 20, 20],
            "shrunk_rate": [0.55, 0.85, 0.9],
            "shrunk_rate_ci_low": [0.40, 0.75, 0.8],
            "shrunk_rate_ci_high": [0.70, 0.92, 0.95],
        }
    )
    return AgentsSection(
        funnel=shrunk.assign(position="inside"),
        funnel_curve=pd.DataFrame(),
        funnel_target=0.8,
        shrunk=shrunk,
        ranked=ranked,
        fitted=True,
        overdispersion_p=0.001 if ranked else 0.6,
    )


def _month(critical: dict[str, int]) -> SimpleNamespace:
    rows = [(a, i < k) for a, k in critical.items() for i in range(10)]
    m = pd.DataFrame(rows, columns=["agent_id", "critical_fail"])
    return SimpleNamespace(region="EU", window=report_window(PERIOD, 0), scored_month=m)


def test_agent_whose_interval_is_below_the_pooled_rate_is_coached_only_when_ranked():
    d = _month({"A1": 0, "A2": 0, "A3": 0})
    a = ra.performance_actions(_agents(True), d)  # type: ignore[arg-type]
    assert a[["kind", "subject"]].to_numpy().tolist() == [["coach", "A1"]]
    assert len(ra.performance_actions(_agents(False), d)) == 0  # type: ignore[arg-type]


def test_repeated_critical_fails_follow_the_stated_rule():
    k = int(settings.thresholds()["coach_critical_fails"])
    d = _month({"A1": k, "A2": k - 1, "A3": 0})
    a = ra.performance_actions(_agents(False), d)  # type: ignore[arg-type]
    assert a[["kind", "subject", "statistic"]].to_numpy().tolist() == [
        ["coach_critical", "A1", float(k)]
    ]
    assert f"at least {k}" in a["evidence"].iloc[0]


def _kpis(root, region: str, rows: list[tuple[str, float, float, float]]) -> None:
    crit = [
        {"criterion": c, "name": c.title(), "alpha": a, "alpha_ci_low": lo, "alpha_ci_high": hi}
        for c, a, lo, hi in rows
    ]
    f = root / region.lower() / io.REGION_KPI_FILE
    f.parent.mkdir(parents=True)
    f.write_text(json.dumps({"calibration": {"detail": {"criteria_agreement": crit}}}))


def test_low_agreement_in_several_regions_is_a_global_guideline_action(tmp_path):
    need = int(settings.thresholds()["guideline_min_regions"])
    low = ("empathy", 0.2, 0.1, 0.3)
    ok = ("tone", 0.85, 0.8, 0.9)
    regions = [f"R{i}" for i in range(need + 1)]
    for i, r in enumerate(regions):
        _kpis(tmp_path, r, [low if i < need else ("empathy", 0.8, 0.7, 0.9), ok])
    a = ra.guideline_actions(tmp_path, regions, PERIOD)
    assert a[["kind", "region", "criterion", "statistic"]].to_numpy().tolist() == [
        ["rewrite_guideline", "GLOBAL", "empathy", float(need)]
    ]
    # in one region only: a region problem, not a guideline problem
    assert len(ra.guideline_actions(tmp_path, regions[need - 1 :], PERIOD)) == (need == 1)


def test_actions_csv_unions_the_reports_parts_and_neutralises_formulas(tmp_path, planted):
    cal = ra.calibration_actions(planted)
    perf = pd.DataFrame([ra._row("coach_critical", "EU", PERIOD, "=HYPERLINK(1)", None, "x", 2.0)])
    ra.write_actions(cal, tmp_path, part="calibration")
    path = ra.write_actions(perf, tmp_path, part="performance")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(back) == len(cal) + 1
    assert "'=HYPERLINK(1)" in back["subject"].tolist()
    ra.write_actions(cal, tmp_path, part="calibration")  # a rerun replaces its own part
    assert len(pd.read_csv(path)) == len(cal) + 1


def test_calibration_kpis_carry_each_criterions_alpha_interval(planted):
    got = rc.calibration_kpis(planted)["detail"]["criteria_agreement"]
    b = planted.by_item
    assert [g["criterion"] for g in got] == b["criterion"].tolist()
    assert np.allclose([g["alpha_ci_high"] for g in got], b["alpha_ci_high"], equal_nan=True)


def test_actions_markdown_says_plainly_when_there_is_none():
    text = ra.actions_markdown(pd.DataFrame(columns=list(ra.ACTION_COLUMNS)))
    assert text.startswith("**No actions this month**")
