"""Scorecard versions in the performance report: coverage, phase breaks, like-for-like months."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_analysis.report import performance as rp
from qa_analysis.report import versions as rv
from qa_analysis.report.data import report_window
from qa_analysis.scorecard import Scorecard

CRIT = [{"id": "a", "scale": [1, 2, 3, 4, 5]}]
# v2 raises the pass mark: the same work passes less often, a rubric change, not a quality change
VERSIONED = Scorecard.from_dict(
    {
        "versions": [
            {"version": "v1", "pass_mark": 50, "criteria": CRIT},
            {"version": "v2", "effective": "2026-06-01", "pass_mark": 80, "criteria": CRIT},
        ]
    }
)
SINGLE = Scorecard.from_dict({"pass_mark": 50, "criteria": CRIT})


def _evals(seed: int = 3, per_day: int = 6) -> pd.DataFrame:
    """Constant quality from April to October 2026: scores 1-5 with fixed probabilities."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-04-01", "2026-10-31", freq="D")
    at = np.repeat(days.to_numpy(), per_day)
    n = at.size
    return pd.DataFrame(
        {
            "evaluation_id": [f"e{i}" for i in range(n)],
            "ticket_id": [f"t{i}" for i in range(n)],
            "agent_id": rng.choice([f"a{i}" for i in range(20)], n),
            "market": "DE",
            "channel": "chat",
            "evaluated_at": at + np.timedelta64(10, "h"),
            "criterion": "a",
            "score": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n, p=[0.05, 0.1, 0.25, 0.3, 0.3]),
        }
    )


def _data(sc: Scorecard, period: str = "2026-10") -> rp.PerformanceData:
    return rp.performance_data(_evals(), pd.DataFrame(), sc, report_window(period, 6), seed=1)


def test_versions_sentence_names_each_version_and_its_dates():
    txt = rv.versions_sentence(VERSIONED, report_window("2026-10", 6))
    assert "covers two scorecard versions: v1 until 31 May 2026 and v2 from 1 June 2026" in txt


def test_an_unversioned_scorecard_adds_no_sentence_and_no_phase():
    w = report_window("2026-10", 6)
    assert rv.versions_sentence(SINGLE, w) == "" and rv.phase_breaks(SINGLE, w) == []
    c = rp.control_section(_data(SINGLE))
    assert c.phase_note == "" and "phase" not in c.weekly_p  # the unphased chart, as before
    assert not rp.control_markdown(c).startswith("The scorecard changed")


def test_a_rubric_change_without_a_quality_change_gives_no_step_claim():
    d = _data(VERSIONED)
    s = d.scores
    before = s.loc[s["evaluated_at"] < "2026-06-01", "passed"].astype(float).mean()
    after = s.loc[s["evaluated_at"] >= "2026-06-01", "passed"].astype(float).mean()
    assert before - after > 0.2  # the stricter rubric lowers the pass rate a lot
    t = rp.trend_section(d)
    assert t.phase_start == pd.Timestamp("2026-06-01")
    assert t.pass_steps is not None and t.pass_steps.shape != "step"
    txt = rp.trend_sentence(t)
    assert "since the scorecard change of 1 June 2026" in txt and "dropped" not in txt


def test_without_phases_the_same_rubric_change_would_read_as_a_drop():
    # the control: ignoring the versions (one phase over the window) finds the step
    import qa_analysis.trends as tr

    wk = _data(VERSIONED).weekly
    wk = wk.loc[wk["n"] > 0].set_index("period")
    c = tr.change_points(wk["pass_rate"], n=wk["n"].to_numpy(float), kind="proportion", seed=1)
    assert c.shape == "step" and c.last_after < c.last_before


def test_control_chart_starts_a_new_phase_at_the_change_without_alarms_there():
    c = rp.control_section(_data(VERSIONED))
    p = c.weekly_p
    assert set(p["phase"]) == {0, 1}
    assert (p.loc[p["phase"] == 1, "period"] >= pd.Timestamp("2026-06-01")).all()
    assert p.groupby("phase")["center"].first().diff().iloc[1] < -0.2  # own centre lines
    first_weeks = p.loc[(p["phase"] == 1)].head(4)
    assert not (first_weeks["signal"] & (first_weeks["value"] < first_weeks["center"])).any()
    md = rp.control_markdown(c)
    assert md.startswith("The scorecard changed on 1 June 2026 (v1 -> v2).")
    assert "In the current phase, the p-chart's centre line" in md


def test_month_over_month_across_a_version_change_is_not_compared():
    ch = rp.changes_section(_data(VERSIONED, "2026-06"))
    md = rp.changes_markdown(ch)
    assert md == (
        "No comparison with May: May was scored on scorecard version v1 and June on v2: "
        "different rubrics, so the months are not compared."
    )
    assert ch.kpis()["pass_rate_change"] is None


def test_month_over_month_within_one_version_is_compared():
    md = rp.changes_markdown(rp.changes_section(_data(VERSIONED, "2026-10")))
    assert md.startswith("Pass rate ") and "in September ->" in md
