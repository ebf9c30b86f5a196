"""Dispute statistics (qa_analysis.disputes) against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from qa_analysis import disputes as dp
from qa_analysis.scorecard import Scorecard

SC = Scorecard.from_dict(
    {"pass_mark": 80, "criteria": [{"id": "a", "scale": [0, 1]}, {"id": "b", "scale": [0, 1]}]}
)


def _evals(n: int = 10) -> pd.DataFrame:
    ids = [f"e{i}" for i in range(n)]
    return pd.DataFrame(
        {
            "evaluation_id": np.repeat(ids, 2),
            "criterion": ["a", "b"] * n,
            "score": [0.0, 1.0] * n,  # every evaluation scores 50: fails
            "agent_id": np.repeat([f"A{i % 5}" for i in range(n)], 2),
            "reviewer_id": np.repeat(["R1" if i < 4 else "R2" for i in range(n)], 2),
        }
    )


def _disputes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dispute_id": ["d1", "d2", "d3", "d4"],
            "evaluation_id": ["e0", "e1", "e2", "e5"],
            "criterion": ["a", "a", "b", None],
            "opened_at": pd.to_datetime(["2026-01-01"] * 4),
            "resolved_at": pd.to_datetime(["2026-01-03", "2026-01-10", "2026-01-02", None]),
            "status": ["accepted", "rejected", "partially_accepted", "open"],
            "original_score": [0.0, 0.0, 1.0, np.nan],
            "final_score": [1.0, 0.0, 1.0, np.nan],
        }
    )


def test_rates_per_criterion_by_hand():
    t = dp.dispute_rates(_evals(), _disputes(), by="criterion", cluster=None).set_index("criterion")
    # a: 2 of 10 ratings disputed, 1 of 2 resolved overturned; b: 1 of 10, 1 of 1
    assert t.loc[
        "a", ["n_dispute_base", "n_dispute", "n_overturn_base", "n_overturn"]
    ].tolist() == [
        10,
        2,
        2,
        1,
    ]
    assert t.loc["b", "overturn_rate"] == 1.0 and t.loc["a", "dispute_rate"] == 0.2
    lo, hi = proportion_confint(2, 10, method="wilson")
    assert t.loc["a", "dispute_rate_ci_low"] == pytest.approx(lo, abs=1e-12)
    assert t.loc["a", "dispute_rate_ci_high"] == pytest.approx(hi, abs=1e-12)


def test_rates_per_reviewer_count_evaluations_and_all_their_disputes():
    t = dp.dispute_rates(_evals(), _disputes(), by="reviewer_id", cluster=None).set_index(
        "reviewer_id"
    )
    # R1 reviewed e0-e3: 3 disputed (e0, e1, e2), all resolved, 2 overturned; R2: e5 open
    assert t.loc[
        "R1", ["n_dispute_base", "n_dispute", "n_overturn_base", "n_overturn"]
    ].tolist() == [
        4,
        3,
        3,
        2,
    ]
    assert t.loc["R2", "n_dispute"] == 1 and t.loc["R2", "n_overturn_base"] == 0


def test_apply_disputes_uses_final_scores_of_overturned_criterion_disputes_only():
    out = dp.apply_disputes(_evals(), _disputes())
    e0a = (out["evaluation_id"] == "e0") & (out["criterion"] == "a")
    e1a = (out["evaluation_id"] == "e1") & (out["criterion"] == "a")
    assert out.loc[e0a, "score"].item() == 1.0 and out.loc[e1a, "score"].item() == 0.0
    assert int(out["disputed"].sum()) == 3
    same = dp.apply_disputes(_evals(), _disputes(), outcome="original")
    assert same["score"].tolist() == _evals()["score"].tolist()


def test_pass_rate_effect_counts_the_evaluations_an_overturn_passed():
    t = dp.pass_rate_effect(_evals(), _disputes(), SC)
    # e0 goes from 50 to 100 and passes; nothing else changes
    assert t[["n", "n_changed", "n_overturned"]].iloc[0].tolist() == [10, 1, 1]
    assert t["pass_rate_original"].item() == 0.0 and t["pass_rate_final"].item() == 0.1


def test_resolution_times_median_and_share_over_sla_by_hand():
    t = dp.resolution_times(_disputes(), sla_days=5)
    # resolved in 2, 9 and 1 days: median 2, one over 5 days; one still open
    assert t[["n_resolved", "median_days", "over_sla", "n_open"]].iloc[0].tolist() == [3, 2, 1, 1]
    lo, _hi = proportion_confint(1, 3, method="wilson")
    assert t["share_over_sla_ci_low"].item() == pytest.approx(lo, abs=1e-12)
    with pytest.raises(ValueError, match="sla_days"):
        dp.resolution_times(_disputes(), sla_days=0)


def test_calibration_signal_names_the_criterion_overturned_beyond_chance():
    rng = np.random.default_rng(3)
    n = 600
    ev = pd.DataFrame(
        {
            "evaluation_id": np.repeat([f"e{i}" for i in range(n)], 3),
            "criterion": ["a", "b", "c"] * n,
            "score": 1.0,
            "agent_id": np.repeat(rng.integers(0, 60, n).astype(str), 3),
        }
    )
    crit = rng.choice(["a", "b", "c"], size=150)
    over = rng.random(150) < np.where(crit == "b", 0.7, 0.2)
    d = pd.DataFrame(
        {
            "evaluation_id": [f"e{i}" for i in range(150)],
            "criterion": crit,
            "status": np.where(over, "accepted", "rejected"),
        }
    )
    sig = dp.calibration_signal(ev, d, dimensions=("criterion",))
    assert sig["segment"].tolist() == ["b"]
    # no effect planted: nothing flagged
    d["status"] = np.where(rng.random(150) < 0.3, "accepted", "rejected")
    assert dp.calibration_signal(ev, d, dimensions=("criterion",)).empty
