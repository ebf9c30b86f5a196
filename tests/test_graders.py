"""Grader QA (qa_analysis.graders) against hand computations and a planted reviewer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_analysis.graders import grader_table, severity


def test_severity_compares_within_agent_and_channel_by_hand():
    # agent a: r1 90, r2 80 -> r1 +10, r2 -10; agent b only r1 (no comparison)
    s = pd.DataFrame(
        {
            "reviewer_id": ["r1", "r2", "r1"],
            "agent_id": ["a", "a", "b"],
            "channel": "chat",
            "score": [90.0, 80.0, 50.0],
        }
    )
    t = severity(s).set_index("reviewer_id")
    assert t.loc["r1", "n_compared"] == 1 and t.loc["r1", "severity"] == 10.0
    assert np.isnan(t.loc["r1", "severity_ci_low"])  # one agent cluster: no interval


def test_severity_finds_the_planted_lenient_reviewer_only():
    rng = np.random.default_rng(7)
    n = 3000
    agent = rng.integers(0, 100, n)
    rev = rng.choice(["r1", "r2", "r3", "r4"], n)
    skill = rng.normal(0, 8, 100)
    y = 75 + skill[agent] + rng.normal(0, 10, n) + np.where(rev == "r3", 6.0, 0.0)
    s = pd.DataFrame({"reviewer_id": rev, "agent_id": agent, "channel": "chat", "score": y})
    t = severity(s).set_index("reviewer_id")
    assert t.loc["r3", "severity_flag"] == "lenient"
    # against the other reviewers: r3 is +6 above each of them; each of them is 6/3 = 2
    # below the mean of the other three (which include r3), a relative, not absolute, measure
    assert t.loc["r3", "severity_ci_low"] < 6 < t.loc["r3", "severity_ci_high"]
    others = t.drop(index="r3")
    assert ((others["severity_ci_low"] < -2) & (-2 < others["severity_ci_high"])).all()


def test_grader_table_joins_plan_calibration_and_overturns():
    s = pd.DataFrame(
        {
            "evaluation_id": ["e1", "e2", "e3", "e4"],
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "reviewer_id": ["r1", "r2", "r1", "r2"],
            "agent_id": ["a", "a", "b", "b"],
            "channel": "chat",
            "score": [90.0, 80.0, 70.0, 60.0],
        }
    )
    plan = pd.DataFrame({"ticket_id": ["t1", "t3", "t9", "t2"], "reviewer_id": ["r1"] * 3 + ["r2"]})
    cal = pd.DataFrame({"rater_id": ["r1"], "alignment": [0.8], "verdict": ["aligned"]})
    disputes = pd.DataFrame(
        {"evaluation_id": ["e1", "e3", "e2"], "status": ["accepted", "rejected", "open"]}
    )
    t = grader_table(s, plan=plan, calibration=cal, disputes=disputes).set_index("reviewer_id")
    assert t.loc["r1", ["n_evaluations", "n_planned", "n_completed"]].tolist() == [2, 3, 2]
    assert t.loc["r1", "plan_share"] == pytest.approx(2 / 3)
    assert t.loc["r1", "calibration_alignment"] == 0.8 and pd.isna(
        t.loc["r2", "calibration_alignment"]
    )
    assert t.loc["r1", "overturn_rate"] == 0.5 and t.loc["r2", "n_resolved"] == 0
