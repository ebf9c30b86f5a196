"""Tests for qa_analysis.scenarios: planted effects are where and as large as stated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_analysis.scenarios import AUDIT_RANGE, Effect, scenario
from qa_analysis.scorecard import score_evaluations

SMALL = {"regions": ["EU", "NA"], "months": 2, "agents": 10}


def test_same_seed_gives_identical_tables_and_generator_seed_is_accepted():
    a = scenario(seed=5, **SMALL)
    b = scenario(seed=5, **SMALL)
    pd.testing.assert_frame_equal(a.evaluations, b.evaluations)
    pd.testing.assert_frame_equal(a.calibration, b.calibration)
    c = scenario(seed=np.random.default_rng(5), **SMALL)
    d = scenario(seed=np.random.default_rng(5), **SMALL)
    pd.testing.assert_frame_equal(c.tickets, d.tickets)
    assert len(scenario(seed=None, **SMALL).tickets) > 0


def test_tables_have_the_report_columns_and_one_row_per_unit():
    s = scenario(seed=1, extra_dims={"product": ["app", "web"]}, **SMALL)
    ev = s.evaluations
    assert {"evaluation_id", "ticket_id", "agent_id", "reviewer_id", "market", "channel"} | {
        "queue",
        "product",
        "criterion",
        "score",
        "evaluated_at",
    } <= set(ev.columns)
    assert not ev.duplicated(["evaluation_id", "criterion"]).any()
    assert ev.groupby("evaluation_id")["criterion"].size().eq(len(s.scorecard)).all()
    assert s.tickets["ticket_id"].is_unique
    cal = s.calibration
    assert not cal.duplicated(["session_id", "ticket_id", "rater_id", "criterion"]).any()
    assert set(cal["role"]) == {"specialist", "expert"}
    # five audits per agent per month by default
    per = ev.drop_duplicates("evaluation_id").groupby("agent_id").size()
    assert (per == 5 * 2).all()


def test_null_scenario_plants_nothing_and_audit_rate_matches_ticket_rate():
    s = scenario(seed=2, regions=["EU"], months=3, agents=200)
    assert s.effects == ()
    t = s.truth
    assert np.abs(t["audit_pass_rate"] - t["pass_rate"]).max() < 0.05
    assert 0.75 < t["pass_rate"].mean() < 0.9


def test_rater_bias_on_a_binary_criterion_has_the_stated_size_and_only_there():
    s = scenario(
        [Effect("rater_bias", region="EU", criterion="resolution", size=0.25)],
        seed=3,
        regions=["EU"],
        months=6,
        agents=10,
        tickets_per_session=40,
    )
    cal = s.calibration
    wide = cal.pivot_table(
        index=["session_id", "ticket_id", "criterion"], columns="rater_id", values="score"
    )
    dev = wide["EU-S01"] - wide["EU-X01"]
    control = wide["EU-S02"] - wide["EU-X01"]
    by_c = (dev - control).groupby(level="criterion").mean()
    assert by_c["resolution"] == pytest.approx(0.25, abs=0.06)
    assert by_c.drop("resolution").abs().max() < 0.12
    assert s.effects[0].rater_id == "EU-S01"


def test_segment_step_moves_only_its_segment_after_the_start():
    s = scenario(
        [
            Effect(
                "step",
                region="EU",
                dimension="queue",
                segment="technical",
                size=-1.0,
                start="2026-10-01",
            )
        ],
        seed=4,
        regions=["EU"],
        months=2,
        agents=150,
    )
    sc = score_evaluations(s.evaluations, s.scorecard)
    sc["after"] = sc["evaluated_at"] >= "2026-10-03"
    sc["tech"] = sc["queue"] == "technical"
    rate = sc.groupby(["tech", "after"])["passed"].mean()
    assert rate[(True, False)] - rate[(True, True)] > 0.15
    assert abs(rate[(False, False)] - rate[(False, True)]) < 0.05


def test_critical_effect_raises_the_critical_rate_of_its_market():
    s = scenario(
        [Effect("critical", region="EU", segment="FR", size=8.0)],
        seed=5,
        regions=["EU"],
        months=2,
        agents=100,
    )
    sc = score_evaluations(s.evaluations, s.scorecard)
    r = sc.groupby(sc["market"] == "FR")["critical_fail"].mean()
    assert r[True] > 3 * r[False]


def test_uneven_audits_span_the_range_and_bias_the_audit_weighted_rate():
    s = scenario(
        [Effect("uneven_audits", region="NA", size=0.9)],
        seed=6,
        regions=["NA"],
        months=1,
        agents=200,
    )
    per = s.evaluations.drop_duplicates("evaluation_id").groupby("agent_id").size()
    assert per.min() >= AUDIT_RANGE[0]
    assert per.max() <= AUDIT_RANGE[1]
    assert per.max() - per.min() >= 20
    t = s.truth.iloc[0]
    assert t["audit_pass_rate"] - t["pass_rate"] > 0.03


def test_calibration_collapse_lowers_agreement_in_the_last_sessions_only():
    s = scenario(
        [Effect("calibration_collapse", region="EU", size=2.0, sessions=2)],
        seed=7,
        regions=["EU"],
        months=4,
        agents=10,
    )
    cal = s.calibration
    wide = cal.pivot_table(
        index=["session_id", "ticket_id", "criterion"], columns="rater_id", values="score"
    )
    miss = (wide["EU-S03"] != wide["EU-X01"]).groupby(level="session_id").mean()
    last2 = miss.sort_index().iloc[-2:]
    assert last2.min() > miss.sort_index().iloc[:-2].max()


def test_missing_effect_removes_the_region_month_from_the_table():
    s = scenario([Effect("missing", region="NA")], seed=8, **SMALL)
    cal = s.calibration
    last = cal["session_date"].dt.to_period("M") == pd.Period("2026-10")
    assert not (last & (cal["region"] == "NA")).any()
    assert (last & (cal["region"] == "EU")).any()
    assert s.effects[0].start == "2026-10"


def test_large_region_is_generated_at_volume():
    s = scenario(seed=9, regions=["EU"], months=1, agents={"EU": 4500}, tickets_per_agent=20)
    assert s.evaluations["agent_id"].nunique() == 4500
    assert s.evaluations["evaluation_id"].nunique() == 4500 * 5


@pytest.mark.parametrize(
    ("effect", "error"),
    [
        (Effect("rater_bias", region="EU", criterion="nope"), ValueError),
        (Effect("step", region="XX"), ValueError),
        (Effect("critical", region="EU"), ValueError),
        (Effect("step", region="EU", dimension="queue"), ValueError),
        ("step", TypeError),
    ],
)
def test_bad_effects_are_refused(effect, error):
    with pytest.raises(error):
        scenario([effect], seed=1, **SMALL)
