"""Tests for Rater calibration and the discussion list (qa_analysis.reliability.calibration).

Published worked examples are cited next to each test; peer libraries
(krippendorff, statsmodels, scikit-learn, pingouin) are oracles on random data
with missing values, to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reliability_cases import (
    calibration_fixture,
    narrow_tone,
    with_all_missing_criterion,
)

from qa_analysis import settings
from qa_analysis.errors import DataError
from qa_analysis.reliability import (
    agreement_by_item,
    disagreements,
    fleiss_kappa_by_category,
    rater_calibration,
    rater_calibration_by_item,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


@pytest.fixture(scope="module")
def demo_data():
    demo = pytest.importorskip("qa_analysis.demo")
    return demo.generate(seed=20261101, small=True)


def test_calibration_tables_survive_an_all_missing_criterion_without_a_scorecard():
    df = with_all_missing_criterion()
    cal = rater_calibration(df, n_boot=50)
    assert cal["rater_id"].tolist() == ["s"] and np.isfinite(cal.loc[0, "deviation"])
    assert rater_calibration_by_item(df, confidence=None)["criterion"].tolist() == ["tone"]
    assert disagreements(df)["na"].isna().all()
    only_na = df[df["criterion"] == "na"]
    assert rater_calibration(only_na).empty
    assert disagreements(only_na).empty
    assert agreement_by_item(only_na)["verdict"].tolist() == ["undefined"]


def test_calibration_tables_are_empty_not_crashing_without_comparable_ratings():
    lone = pd.DataFrame(
        {
            "ticket_id": ["t"],
            "rater_id": ["a"],
            "role": ["specialist"],
            "criterion": ["c"],
            "score": [3.0],
        }
    )
    assert rater_calibration(lone).empty
    assert disagreements(lone.iloc[:0]).empty
    assert fleiss_kappa_by_category(lone.assign(score=nan)).empty


def test_rater_calibration_flags_lenient_and_severe_against_the_expert():
    t = rater_calibration(calibration_fixture(), n_boot=300).set_index("rater_id")
    assert "X" not in t.index  # the expert is the reference
    assert t.loc["S1", "verdict"] == "aligned"
    assert t.loc["S2", "verdict"] == "lenient" and t.loc["S2", "deviation"] > 0
    assert t.loc["S3", "verdict"] == "severe" and t.loc["S3", "deviation"] < 0
    assert (t["reference"] == "expert").all()
    assert t.loc["S1", "match_rate"] > t.loc["S2", "match_rate"]


def test_rater_calibration_lenient_rater_flagged_on_both_binary_and_five_point_items():
    t = rater_calibration_by_item(calibration_fixture(), n_boot=300)
    s2 = t[t.rater_id == "S2"].set_index("criterion")
    assert (s2["deviation_share"] > 0).all()
    assert (s2["verdict"] == "lenient").all()


def test_alignment_score_follows_maestroqa_formula():
    """MaestroQA: per criterion 1 - |specialist - calibrator| / (max - min), weighted."""
    df = pd.DataFrame(
        {
            "ticket_id": [1, 1, 1, 1],
            "rater_id": ["X", "S", "X", "S"],
            "role": ["expert", "specialist"] * 2,
            "criterion": ["tone", "tone", "greet", "greet"],
            "score": [5.0, 3.0, 1.0, 1.0],
        }
    )

    class _Crit:
        def __init__(self, scale, weight):
            self.scale, self.weight, self.range = scale, weight, scale[-1] - scale[0]

    class _SC:
        def __init__(self):
            self.crit = {"tone": _Crit((1, 2, 3, 4, 5), 3.0), "greet": _Crit((0, 1), 1.0)}
            self.ids = ["tone", "greet"]

        def __contains__(self, c):
            return c in self.crit

        def __getitem__(self, c):
            return self.crit[c]

    t = rater_calibration(df, scorecard=_SC(), confidence=None)
    expected = (3 * (1 - 2 / 4) + 1 * 1.0) / 4
    assert t.loc[0, "alignment"] == pytest.approx(expected)


def test_consensus_reference_is_leave_one_out():
    """With no expert each rater is compared with the *other* raters only: a rater who
    disagrees with two unanimous colleagues has match rate 0 (not 1/3)."""
    df = pd.DataFrame(
        {
            "ticket_id": [1, 1, 1, 2, 2, 2],
            "rater_id": ["a", "b", "c"] * 2,
            "criterion": "tone",
            "score": [3.0, 3.0, 5.0, 2.0, 2.0, 4.0],
        }
    )
    t = rater_calibration(df, confidence=None).set_index("rater_id")
    assert t.loc["c", "match_rate"] == 0.0
    assert t.loc["c", "deviation"] == 2.0
    assert t.loc["a", "deviation"] == pytest.approx(-1.0)  # 3 vs mean(3, 5)
    assert t["reference"].iloc[0] == "consensus (no expert in data)"


def test_rater_calibration_intervals_are_reproducible():
    df = calibration_fixture()
    a = rater_calibration(df, n_boot=200, seed=4)
    b = rater_calibration(df, n_boot=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert (a["deviation_ci_low"] <= a["deviation"]).all()


def test_disagreements_rank_split_tickets_first():
    df = pd.DataFrame(
        {
            "ticket_id": ["t1"] * 3 + ["t2"] * 3 + ["t3"] * 3,
            "rater_id": ["a", "b", "c"] * 3,
            "criterion": "tone",
            "score": [3.0, 3.0, 3.0, 1.0, 5.0, 3.0, 2.0, 3.0, 3.0],
        }
    )
    t = disagreements(df)
    assert t["ticket_id"].tolist() == ["t2", "t3", "t1"]
    # Gini mean difference of (1, 3, 5) = (2 + 4 + 2) / 3 = 8/3, on a range of 4
    assert t.loc[0, "split"] == pytest.approx(8 / 3 / 4)
    assert t.loc[0, "tone"] == 4.0 and t.loc[0, "most_split"] == "tone"
    assert t.loc[2, "n_split"] == 0
    assert len(disagreements(df, top=1)) == 1


def test_demo_planted_lenient_and_severe_specialists_are_flagged(demo_data):
    t = rater_calibration(demo_data.calibration, scorecard=demo_data.scorecard, n_boot=200)
    verdict = dict(zip(t["rater_id"], t["verdict"], strict=True))
    for r in demo_data.planted["lenient_raters"]:
        assert verdict[r] == "lenient"
    for r in demo_data.planted["severe_raters"]:
        assert verdict[r] == "severe"
    others = (
        set(verdict)
        - set(demo_data.planted["lenient_raters"])
        - set(demo_data.planted["severe_raters"])
    )
    assert all(verdict[r] == "aligned" for r in others)


def test_rater_calibration_categories_set_the_scale_range_and_the_note_says_when_guessed():
    df = narrow_tone()  # the specialist is 1 point above the expert on 2 of 6 tickets
    seen = rater_calibration(df, confidence=None)
    assert seen.loc[0, "deviation"] == pytest.approx(2 / 6)
    assert seen.loc[0, "deviation_share"] == pytest.approx(2 / 6)  # observed range 3..4
    assert seen.loc[0, "note"].startswith("scale of tone taken from the values seen")
    for cats in ([1, 2, 3, 4, 5], {"tone": [1, 2, 3, 4, 5]}):
        full = rater_calibration(df, confidence=None, categories=cats)
        assert full.loc[0, "deviation_share"] == pytest.approx(2 / 6 / 4)
        assert full.loc[0, "note"] == ""
    by_item = rater_calibration_by_item(df, confidence=None, categories=[1, 2, 3, 4, 5])
    assert by_item.loc[0, "deviation_share"] == pytest.approx(2 / 6 / 4)
    with pytest.raises(
        ValueError, match=r"criterion 'tone' has value\(s\) \[3, 4\] outside its scale \[0, 1\]"
    ):
        rater_calibration(df, confidence=None, categories=[0, 1])


def test_disagreements_categories_set_the_scale_range():
    df = narrow_tone()
    split_seen = disagreements(df).loc[0, "split"]
    split_full = disagreements(df, categories={"tone": [1, 2, 3, 4, 5]}).loc[0, "split"]
    assert split_seen == 1.0 and split_full == 0.25


# --------------------------------------------------------------------------- defaults and shared scale
def _bias_between(low: float, high: float) -> pd.DataFrame:
    """An expert and a specialist whose mean deviation share lies in (low, high) on 1-5."""
    n = 40
    expert = np.tile([2.0, 3.0, 4.0, 3.0], n // 4)
    spec = expert.copy()
    k = int(np.ceil(low * 4 * n)) + 1  # raise k ratings by one point: share = k / (4 n)
    assert low < k / (4 * n) < high
    spec[:k] += 1
    return pd.DataFrame(
        {
            "ticket_id": np.repeat(np.arange(n), 2),
            "rater_id": ["x", "s"] * n,
            "role": ["expert", "specialist"] * n,
            "criterion": "tone",
            "score": np.column_stack([expert, spec]).ravel(),
        }
    )


def test_tolerance_default_is_the_reports_bias_flag():
    flag = settings.thresholds()["bias_flag"]
    df = _bias_between(flag / 2, flag)
    kw = {"categories": [1, 2, 3, 4, 5], "confidence": None}
    assert rater_calibration(df, **kw).loc[0, "verdict"] == "aligned"
    assert rater_calibration(df, tolerance=flag, **kw).loc[0, "verdict"] == "aligned"
    assert rater_calibration(df, tolerance=flag / 2, **kw).loc[0, "verdict"] == "lenient"


def test_scale_guessed_is_a_field_of_the_calibration_table():
    seen = rater_calibration(narrow_tone(), confidence=None)
    full = rater_calibration(narrow_tone(), categories=[1, 2, 3, 4, 5], confidence=None)
    assert seen["scale_guessed"].tolist() == [True] and full["scale_guessed"].tolist() == [False]


@pytest.mark.parametrize("bad", [[], ["low", "high"], [1, np.nan]])
def test_calibration_and_disagreements_share_one_scale_check(bad):
    df = narrow_tone()
    with pytest.raises(ValueError, match="categories for criterion 'tone' must be numbers"):
        rater_calibration(df, categories={"tone": bad}, confidence=None)
    with pytest.raises(ValueError, match="categories for criterion 'tone' must be numbers"):
        disagreements(df, categories={"tone": bad})


def test_data_problems_are_data_errors_and_non_frames_type_errors():
    df = narrow_tone()
    with pytest.raises(DataError, match="outside its scale"):
        rater_calibration(df, categories=[0, 1], confidence=None)
    with pytest.raises(DataError, match="needs numeric scores"):
        disagreements(df.assign(score="x"))
    for fn in (rater_calibration, rater_calibration_by_item, disagreements):
        with pytest.raises(TypeError, match="must be a pandas DataFrame"):
            fn(df.to_dict("records"))
    with pytest.raises(TypeError, match="sets by_item=True itself"):
        rater_calibration_by_item(df, by_item=False)
