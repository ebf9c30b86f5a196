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


# ---------------------------------------------------------------------------
# agreement per version in the calibration report
# ---------------------------------------------------------------------------
# "a" changes scale (1-5 -> 1-3) and wording on 15 June 2026; "b" only changes weight
CAL_SC = Scorecard.from_dict(
    {
        "versions": [
            {
                "version": "v1",
                "criteria": [
                    {"id": "a", "name": "Tone and language", "scale": [1, 2, 3, 4, 5]},
                    {"id": "b", "name": "Docs", "scale": [0, 1]},
                ],
            },
            {
                "version": "v2",
                "effective": "2026-06-15",
                "criteria": [
                    {"id": "a", "name": "Tone", "scale": [1, 2, 3]},
                    {"id": "b", "name": "Docs", "scale": [0, 1], "weight": 2},
                ],
            },
        ]
    }
)


def _cal(seed: int = 5) -> pd.DataFrame:
    """Two sessions of 8 tickets x 3 raters: 3 June (v1) and 20 June (v2)."""
    rng = np.random.default_rng(seed)
    frames = []
    for sid, day, top in (("s1", "2026-06-03", 5), ("s2", "2026-06-20", 3)):
        tickets = np.repeat([f"{sid}t{i}" for i in range(8)], 3)
        true_a = np.repeat(rng.integers(1, top + 1, 8), 3)
        a = np.clip(true_a + rng.choice([-1, 0, 0, 0, 1], tickets.size), 1, top)
        b = np.repeat(rng.integers(0, 2, 8), 3)
        b = np.where(rng.random(tickets.size) < 0.15, 1 - b, b)
        for crit, score in (("a", a), ("b", b)):
            frames.append(
                pd.DataFrame(
                    {
                        "session_id": sid,
                        "session_date": pd.Timestamp(day),
                        "ticket_id": tickets,
                        "rater_id": ["x", "y", "z"] * 8,
                        "role": ["expert", "specialist", "specialist"] * 8,
                        "criterion": crit,
                        "score": score.astype(float),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def test_changed_criteria_are_those_whose_scale_level_or_wording_changed():
    assert rv.changed_criteria(CAL_SC, report_window("2026-06", 3)) == ["a"]  # not b (weight)
    assert rv.changed_criteria(CAL_SC, report_window("2026-10", 3)) == []  # v2 only
    renamed = Scorecard.from_dict(
        {
            "versions": [
                {"version": "v1", "criteria": [{"id": "a", "name": "Tone", "scale": [0, 1]}]},
                {
                    "version": "v2",
                    "effective": "2026-06-01",
                    "criteria": [{"id": "a", "name": "Tone of voice", "scale": [0, 1]}],
                },
            ]
        }
    )
    assert rv.changed_criteria(renamed) == ["a"]
    assert rv.changed_criteria(SINGLE) == []


def test_a_criterion_whose_scale_changed_gets_one_agreement_row_per_version():
    from qa_analysis import reliability as rel
    from qa_analysis.report.calibration import (
        agreement_table,
        calibration_results,
        criteria_agreement,
    )

    cal = _cal()
    res = calibration_results(cal, CAL_SC, report_window("2026-06", 3), thresholds={"n_boot": 20})
    b = res.by_item
    a_rows = b.loc[b["criterion"] == "a"]
    assert a_rows["scorecard_version"].tolist() == ["v1", "v2"]
    assert a_rows["name"].tolist() == ["Tone and language (version v1)", "Tone (version v2)"]
    for vid, sid in (("v1", "s1"), ("v2", "s2")):
        sub = cal.loc[(cal["criterion"] == "a") & (cal["session_id"] == sid)]
        own = rel.agreement_by_item(sub, scorecard=CAL_SC.for_version(vid), confidence=None)
        row = a_rows.loc[a_rows["scorecard_version"] == vid].iloc[0]
        assert row["n_units"] == 8
        assert abs(row["alpha"] - own["alpha"].iloc[0]) < 1e-12  # on its own version's scale
    # the unchanged criterion pools both sessions in one row, as before
    b_rows = b.loc[b["criterion"] == "b"]
    pooled = rel.agreement_by_item(
        cal.loc[cal["criterion"] == "b"], scorecard=CAL_SC, confidence=None
    )
    assert len(b_rows) == 1 and pd.isna(b_rows["scorecard_version"].iloc[0])
    assert b_rows["n_units"].iloc[0] == 16
    assert abs(b_rows["alpha"].iloc[0] - pooled["alpha"].iloc[0]) < 1e-12
    kpi = criteria_agreement(res)
    assert [(k["criterion"], k.get("scorecard_version")) for k in kpi] == [
        ("a", "v1"),
        ("a", "v2"),
        ("b", None),
    ]
    assert list(agreement_table(res).index) == [
        "Tone and language (version v1)",
        "Tone (version v2)",
        "Docs",
    ]


def test_pooling_a_changed_scale_would_put_old_scores_off_the_new_scale():
    # the control: the latest definition (1-3) cannot hold the v1 scores of 4 and 5
    import pytest

    from qa_analysis import reliability as rel
    from qa_analysis.errors import DataError

    cal = _cal()
    assert (cal.loc[(cal["criterion"] == "a") & (cal["session_id"] == "s1"), "score"] > 3).any()
    with pytest.raises(DataError):
        rel.agreement_by_item(cal, scorecard=CAL_SC, confidence=None)


def test_drift_computes_a_changed_criterion_per_version_and_labels_it():
    from qa_analysis.report.calibration import calibration_results

    res = calibration_results(
        _cal(), CAL_SC, report_window("2026-06", 3), thresholds={"n_boot": 20}
    )
    d = res.drift
    a = d.loc[d["criterion"] == "a"]
    assert a[["session_id", "scorecard_version"]].to_numpy().tolist() == [
        ["s1", "v1"],
        ["s2", "v2"],
    ]
    assert a["name"].tolist() == ["Tone and language (version v1)", "Tone (version v2)"]
    assert d.loc[d["criterion"] == "b", "name"].tolist() == ["Docs", "Docs"]
    # the session mean runs over every criterion, split or pooled
    for _, g in d.groupby("session_id"):
        assert abs(g["mean_alpha"].iloc[0] - g["alpha"].mean()) < 1e-12


def test_a_month_on_one_version_names_its_criteria_without_a_version_label():
    from qa_analysis.report.calibration import calibration_results

    cal = _cal()
    later = cal.loc[cal["session_id"] == "s2"].assign(
        session_id="s3",
        session_date=pd.Timestamp("2026-07-08"),
        ticket_id=lambda f: "s3" + f["ticket_id"].str[2:],
    )
    res = calibration_results(
        pd.concat([cal, later], ignore_index=True),
        CAL_SC,
        report_window("2026-07", 3),
        thresholds={"n_boot": 20},
    )
    assert res.by_item["name"].tolist() == ["Tone", "Docs"]  # one version in July
    assert res.by_item["scorecard_version"].tolist()[0] == "v2"
    assert "Tone and language (version v1)" in set(res.drift["name"])  # the history spans both


def test_without_a_changed_criterion_the_agreement_table_is_unchanged():
    from qa_analysis import reliability as rel

    cal = _cal().query("criterion == 'b'")
    sc = CAL_SC.for_version("v2")
    direct = rel.agreement_by_item(cal, scorecard=sc, n_boot=20, seed=3)
    via = rv.agreement_per_version(rel.agreement_by_item, cal, sc, [], n_boot=20, seed=3)
    pd.testing.assert_frame_equal(via, direct)
    via2 = rv.agreement_per_version(rel.agreement_by_item, cal, CAL_SC, ["a"], n_boot=20, seed=3)
    pd.testing.assert_frame_equal(
        via2, rel.agreement_by_item(cal, scorecard=CAL_SC, n_boot=20, seed=3)
    )
