"""Tests for evaluation scoring in qa_analysis.scorecard (score_evaluations, criterion_rates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_analysis.errors import DataError
from qa_analysis.scorecard import Scorecard, criterion_rates, score_evaluations

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _long(rows: dict[str, dict[str, float]], **meta: dict[str, object]) -> pd.DataFrame:
    """Long evaluations table from {evaluation_id: {criterion: score}}."""
    recs = []
    for eid, crit in rows.items():
        for cid, s in crit.items():
            rec = {"evaluation_id": eid, "criterion": cid, "score": s}
            for col, values in meta.items():
                rec[col] = values[eid]
            recs.append(rec)
    return pd.DataFrame(recs)


@pytest.fixture
def two_section_card() -> Scorecard:
    # Section A: greeting (0/1, w1), privacy (0/1, w3, critical);
    # section B: understanding (1-5, w2), empathy (1-5, w1).
    return Scorecard.from_dict(
        {
            "pass_mark": 80,
            "criteria": [
                {"id": "greeting", "section": "A", "scale": [0, 1], "weight": 1},
                {"id": "privacy", "section": "A", "scale": [0, 1], "weight": 3, "critical": True},
                {"id": "understanding", "section": "B", "scale": [1, 2, 3, 4, 5], "weight": 2},
                {
                    "id": "empathy",
                    "section": "B",
                    "scale": [1, 2, 3, 4, 5],
                    "weight": 1,
                    "na_allowed": True,
                },
            ],
        }
    )


@pytest.fixture
def hand_evaluations() -> pd.DataFrame:
    return _long(
        {
            # critical fail on privacy; understanding 75%, empathy 50%
            "E1": {"greeting": 1, "privacy": 0, "understanding": 4, "empathy": 3},
            # no critical fail, empathy N/A
            "E2": {"greeting": 1, "privacy": 1, "understanding": 4, "empathy": np.nan},
            # every criterion N/A
            "E3": {
                "greeting": np.nan,
                "privacy": np.nan,
                "understanding": np.nan,
                "empathy": np.nan,
            },
        }
    )


# Hand computation (see the fixture comments):
# E1 weighted: (1*1 + 3*0 + 2*0.75 + 1*0.5) / (1+3+2+1) = 3/7
#    points:   (1*1 + 3*0 + 2*3 + 1*2) / (1*1 + 3*1 + 2*4 + 1*4) = 9/16
#    section mode zeroes section A (greeting, privacy): weighted 2/7, points 8/16
# E2 weighted: (1 + 3 + 1.5) / 6 = 5.5/6; points: (1 + 3 + 6) / (1 + 3 + 8) = 10/12
EXPECTED = {
    ("weighted", "zero"): (0.0, 550 / 6),
    ("weighted", "section"): (200 / 7, 550 / 6),
    ("weighted", "flag"): (300 / 7, 550 / 6),
    ("points", "zero"): (0.0, 1000 / 12),
    ("points", "section"): (50.0, 1000 / 12),
    ("points", "flag"): (56.25, 1000 / 12),
}


@pytest.mark.parametrize(("method", "mode"), sorted(EXPECTED))
def test_every_method_and_critical_mode_matches_hand_computation(
    two_section_card, hand_evaluations, method, mode
):
    out = score_evaluations(hand_evaluations, two_section_card, method=method, critical_mode=mode)
    e1, e2 = EXPECTED[(method, mode)]
    np.testing.assert_allclose(out["score"].to_numpy()[:2], [e1, e2], rtol=0, atol=1e-12)
    assert out["critical_fail"].tolist() == [True, False, False]
    # a critical fail fails the evaluation in every mode; E2 scores >= 80 both ways
    assert out["passed"].tolist()[:2] == [False, True]
    assert out["n_applicable"].tolist() == [4, 3, 0]


def test_scorecard_conventions_are_the_default(two_section_card, hand_evaluations):
    card = Scorecard.from_dict(
        {
            "pass_mark": 80,
            "method": "points",
            "critical_mode": "section",
            "criteria": [
                {
                    "id": c.id,
                    "section": c.section,
                    "scale": list(c.scale),
                    "weight": c.weight,
                    "critical": c.critical,
                }
                for c in two_section_card
            ],
        }
    )
    out = score_evaluations(hand_evaluations, card)
    assert out["score"].iloc[0] == pytest.approx(50.0)


def test_weighted_and_points_differ_like_the_platform_docs():
    # Zendesk QA-style weighted mean of percentages vs MaestroQA-style total points:
    # percentages 100, 50, 0, 100, 100 -> 70; points 1+2+0+5+5 = 13 of 20 -> 65.
    card = Scorecard.from_dict(
        {
            "criteria": [
                {"id": "yes_no", "scale": [0, 1]},
                {"id": "likert", "scale": [1, 2, 3, 4, 5]},
                {"id": "p1", "scale": [0, 5]},
                {"id": "p2", "scale": [0, 5]},
                {"id": "p3", "scale": [0, 5]},
            ]
        }
    )
    ev = _long({"E": {"yes_no": 1, "likert": 3, "p1": 0, "p2": 5, "p3": 5}})
    assert score_evaluations(ev, card, method="weighted")["score"].iloc[0] == pytest.approx(70.0)
    assert score_evaluations(ev, card, method="points")["score"].iloc[0] == pytest.approx(65.0)


def test_all_na_evaluation_has_nan_score_na_passed_and_zero_applicable(
    two_section_card, hand_evaluations
):
    out = score_evaluations(hand_evaluations, two_section_card).set_index("evaluation_id")
    assert np.isnan(out.loc["E3", "score"])
    assert out.loc["E3", "passed"] is pd.NA
    assert not out.loc["E3", "critical_fail"]
    assert out.loc["E3", "n_applicable"] == 0
    assert str(out["passed"].dtype) == "boolean"


def test_missing_criterion_rows_count_as_not_applicable(two_section_card):
    full = _long({"E": {"greeting": 1, "privacy": 1, "understanding": 4, "empathy": np.nan}})
    short = full.loc[full["criterion"] != "empathy"]
    a = score_evaluations(full, two_section_card)
    b = score_evaluations(short, two_section_card)
    assert a["score"].iloc[0] == pytest.approx(b["score"].iloc[0])
    assert b["n_applicable"].iloc[0] == 3


def test_score_exactly_at_pass_mark_passes():
    card = Scorecard.from_dict(
        {"pass_mark": 75, "criteria": [{"id": f"c{i}", "scale": [0, 1]} for i in range(4)]}
    )
    ev = _long({"E": {"c0": 1, "c1": 1, "c2": 1, "c3": 0}})
    out = score_evaluations(ev, card)
    assert out["score"].iloc[0] == 75.0
    assert bool(out["passed"].iloc[0])


def test_critical_fail_below_pass_at_only():
    card = Scorecard.from_dict(
        {
            "pass_mark": 0,
            "criteria": [
                {"id": "accuracy", "scale": [1, 2, 3, 4, 5], "critical": True, "pass_at": 3},
                {"id": "tone", "scale": [1, 2, 3, 4, 5]},
            ],
        }
    )
    ev = _long({"E1": {"accuracy": 3, "tone": 1}, "E2": {"accuracy": 2, "tone": 5}})
    out = score_evaluations(ev, card, critical_mode="flag")
    assert out["critical_fail"].tolist() == [False, True]
    assert out["passed"].tolist() == [True, False]


def test_metadata_columns_are_carried_in_first_appearance_order(two_section_card):
    ev = _long(
        {"B": {"greeting": 1, "privacy": 1}, "A": {"greeting": 0, "privacy": 1}},
        agent_id={"B": "ag2", "A": "ag1"},
        region={"B": "EU", "A": "NA"},
        evaluated_at={"B": pd.Timestamp("2026-08-03"), "A": pd.Timestamp("2026-08-04")},
        csat={"B": 4.0, "A": np.nan},
        unrelated={"B": 1, "A": 2},
    )
    out = score_evaluations(ev, two_section_card)
    assert out["evaluation_id"].tolist() == ["B", "A"]
    assert list(out.columns) == [
        "evaluation_id",
        "agent_id",
        "region",
        "evaluated_at",
        "csat",
        "score",
        "passed",
        "critical_fail",
        "n_applicable",
    ]
    assert out["agent_id"].tolist() == ["ag2", "ag1"]
    assert np.isnan(out["csat"].iloc[1])


def test_unknown_criterion_raises_naming_column_and_rows(two_section_card):
    ev = _long({"E": {"greeting": 1, "bogus": 1}})
    with pytest.raises(ValueError, match=r"'criterion'.*bogus.*\(row 1\)"):
        score_evaluations(ev, two_section_card)


def test_duplicate_evaluation_criterion_raises(two_section_card):
    ev = pd.DataFrame(
        {"evaluation_id": ["E", "E"], "criterion": ["greeting", "greeting"], "score": [1, 0]}
    )
    with pytest.raises(ValueError, match=r"duplicate.*in row 0, row 1$"):
        score_evaluations(ev, two_section_card)


def test_score_off_the_scale_raises(two_section_card):
    ev = _long({"E": {"greeting": 1, "understanding": 7}})
    with pytest.raises(ValueError, match=r"'score'.*7\.0.*'understanding'.*row 1 \(score=7\.0\)"):
        score_evaluations(ev, two_section_card)


def test_missing_column_raises(two_section_card):
    with pytest.raises(ValueError, match="missing column"):
        score_evaluations(
            pd.DataFrame({"evaluation_id": [1], "criterion": ["greeting"]}), two_section_card
        )


def test_empty_input_gives_empty_frame(two_section_card):
    ev = pd.DataFrame(
        {
            "evaluation_id": pd.Series(dtype=str),
            "criterion": pd.Series(dtype=str),
            "score": pd.Series(dtype=float),
        }
    )
    out = score_evaluations(ev, two_section_card)
    assert len(out) == 0
    assert {"score", "passed", "critical_fail", "n_applicable"} <= set(out.columns)


def test_vectorised_scores_match_a_direct_per_evaluation_computation(two_section_card):
    rng = np.random.default_rng(5)
    n_eval = 300
    rows = []
    for c in two_section_card:
        s = rng.choice(np.asarray(c.scale, dtype=float), size=n_eval)
        s[rng.random(n_eval) < 0.2] = np.nan
        rows.append(
            pd.DataFrame({"evaluation_id": np.arange(n_eval), "criterion": c.id, "score": s})
        )
    ev = pd.concat(rows).sample(frac=1, random_state=1).reset_index(drop=True)
    out = score_evaluations(ev, two_section_card, method="points", critical_mode="flag")
    out = out.set_index("evaluation_id").sort_index()
    card = {c.id: c for c in two_section_card}
    expected = []
    for _, g in ev.groupby("evaluation_id"):
        earned = possible = 0.0
        for cid, s in zip(g["criterion"], g["score"], strict=True):
            if np.isnan(s):
                continue
            c = card[cid]
            earned += c.weight * (s - c.min)
            possible += c.weight * c.range
        expected.append(100 * earned / possible if possible else np.nan)
    np.testing.assert_allclose(out["score"].to_numpy(), expected, atol=1e-12)


# -- criterion_rates ---------------------------------------------------------------------------


def test_criterion_rates_hand_computed_pareto(two_section_card, hand_evaluations):
    # fails: greeting 0/2, privacy 1/2, understanding (pass_at 3) 0/2, empathy 0/1
    ev = pd.concat(
        [
            hand_evaluations,
            _long({"E4": {"greeting": 0, "privacy": 0, "understanding": 1, "empathy": 1}}),
        ]
    )
    out = criterion_rates(ev, two_section_card)
    # fails: privacy 2/3, greeting 1/3, understanding 1/3, empathy 1/2 -> total 5
    assert out["criterion"].tolist() == ["privacy", "greeting", "understanding", "empathy"]
    assert out["n"].tolist() == [3, 3, 3, 2]
    assert out["fails"].tolist() == [2, 1, 1, 1]
    np.testing.assert_allclose(out["fail_rate"], [2 / 3, 1 / 3, 1 / 3, 0.5])
    np.testing.assert_allclose(out["cum_share"], [0.4, 0.6, 0.8, 1.0])
    assert out["critical"].tolist() == [True, False, False, False]
    assert out["section"].tolist() == ["A", "A", "B", "B"]


def test_criterion_rates_by_group_sorts_within_each_group(two_section_card):
    ev = _long(
        {
            "E1": {"greeting": 0, "privacy": 1},
            "E2": {"greeting": 1, "privacy": 0},
            "E3": {"greeting": 1, "privacy": 0},
        },
        region={"E1": "EU", "E2": "NA", "E3": "NA"},
    )
    out = criterion_rates(ev, two_section_card, by="region")
    assert out[["region", "criterion"]].to_numpy().tolist() == [
        ["EU", "greeting"],
        ["EU", "privacy"],
        ["NA", "privacy"],
        ["NA", "greeting"],
    ]
    assert out.groupby("region")["cum_share"].last().tolist() == [1.0, 1.0]


def test_criterion_rates_all_na_criterion_gives_nan_rate(two_section_card):
    ev = _long({"E": {"greeting": np.nan, "privacy": 1}})
    out = criterion_rates(ev, two_section_card).set_index("criterion")
    assert out.loc["greeting", "n"] == 0
    assert np.isnan(out.loc["greeting", "fail_rate"])
    # no fails at all: shares undefined, not a division warning
    assert out["cum_share"].isna().all()


def _maestroqa_rubric(method: str, weights: tuple[float, ...]) -> Scorecard:
    sections = [
        ("grammar_tone", 3),
        ("product_knowledge", 10),
        ("problem_solving", 5),
        ("privacy_security", 2),
    ]
    return Scorecard.from_dict(
        {
            "pass_mark": 80,
            "method": method,
            "criteria": [
                {"id": cid, "scale": list(range(top + 1)), "level": "interval", "weight": w}
                for (cid, top), w in zip(sections, weights, strict=True)
            ],
        }
    )


@pytest.mark.parametrize(
    "method, weights, expected",
    [
        ("weighted", (10, 30, 50, 10), 70.0),  # custom weighted sections: section % worths
        ("points", (1, 1, 1, 1), 65.0),  # total points earned / total points possible
    ],
)
def test_maestroqa_published_example_70_weighted_65_total_points(method, weights, expected):
    """MaestroQA help centre, "How do Custom Weighted Sections Rubrics work?": sections worth
    3, 10, 5 and 2 points weighted 10%, 30%, 50%, 10%; earned 3, 5, 4, 1 -> weighted QA score
    70%, total-score rubric 13/20 = 65%."""
    sc = _maestroqa_rubric(method, weights)
    ev = pd.DataFrame({"evaluation_id": "e1", "criterion": sc.ids, "score": [3.0, 5.0, 4.0, 1.0]})
    assert score_evaluations(ev, sc)["score"].iloc[0] == pytest.approx(expected, abs=1e-12)


def test_scoring_errors_are_data_errors_and_bad_arguments_type_errors(two_section_card):
    from qa_analysis.errors import DataError

    ev = pd.DataFrame({"evaluation_id": [1], "criterion": ["bogus"], "score": [1.0]})
    with pytest.raises(DataError):
        score_evaluations(ev, two_section_card)
    with pytest.raises(TypeError, match="DataFrame"):
        score_evaluations(ev.to_dict(), two_section_card)
    with pytest.raises(TypeError, match="Scorecard"):
        score_evaluations(ev, {"criteria": []})
    with pytest.raises(TypeError, match="DataFrame"):
        criterion_rates([1, 2], two_section_card)


# -- scorecard versions -----------------------------------------------------------
@pytest.fixture
def versioned_card() -> Scorecard:
    # v1: a (0/1, w1), b (1-5, w1), pass mark 80.
    # v2 from 2026-06-01: a re-weighted to 3, b's scale shrinks to 1-3, c added; pass mark 70.
    return Scorecard.from_dict(
        {
            "versions": [
                {
                    "version": "v1",
                    "pass_mark": 80,
                    "criteria": [
                        {"id": "a", "scale": [0, 1]},
                        {"id": "b", "scale": [1, 2, 3, 4, 5]},
                    ],
                },
                {
                    "version": "v2",
                    "effective": "2026-06-01",
                    "pass_mark": 70,
                    "criteria": [
                        {"id": "a", "scale": [0, 1], "weight": 3},
                        {"id": "b", "scale": [1, 2, 3]},
                        {"id": "c", "scale": [0, 1]},
                    ],
                },
            ]
        }
    )


def test_scoring_across_a_version_change_uses_each_evaluations_own_version(versioned_card):
    ev = _long(
        {
            "e1": {"a": 1, "b": 3},  # May, v1: (1 + 2/4) / 2 = 75 < 80: fail
            "e2": {"a": 1, "b": 3, "c": 0},  # June, v2: (3*1 + 1*1 + 0) / 5 = 80 >= 70: pass
            "e3": {"a": 0, "b": 5},  # June but explicitly v1: (0 + 1) / 2 = 50
        },
        evaluated_at={
            "e1": pd.Timestamp("2026-05-31"),
            "e2": pd.Timestamp("2026-06-01"),
            "e3": pd.Timestamp("2026-06-10"),
        },
        scorecard_version={"e1": None, "e2": None, "e3": "v1"},
    )
    out = score_evaluations(ev, versioned_card)
    assert out["scorecard_version"].tolist() == ["v1", "v2", "v1"]
    np.testing.assert_allclose(out["score"], [75.0, 80.0, 50.0])
    assert out["passed"].tolist() == [False, True, False]


def test_criterion_unknown_to_its_version_is_an_error(versioned_card):
    ev = _long({"e1": {"a": 1, "c": 1}}, evaluated_at={"e1": pd.Timestamp("2026-05-02")})
    with pytest.raises(DataError, match="criterion 'c' is not in scorecard version 'v1'"):
        score_evaluations(ev, versioned_card)


def test_score_valid_in_another_version_but_not_its_own_is_an_error(versioned_card):
    ev = _long({"e1": {"a": 1, "b": 5}}, evaluated_at={"e1": pd.Timestamp("2026-07-01")})
    with pytest.raises(DataError, match=r"off the scale \[1, 2, 3\] of criterion 'b' in scorecard"):
        score_evaluations(ev, versioned_card)


def test_versioned_scoring_needs_a_date_or_a_version(versioned_card):
    ev = _long({"e1": {"a": 1}})
    with pytest.raises(DataError, match="needs a 'scorecard_version' or a 'evaluated_at'"):
        score_evaluations(ev, versioned_card)
    ev["scorecard_version"] = "v9"
    with pytest.raises(DataError, match=r"scorecard version\(s\) 'v9' are not in"):
        score_evaluations(ev, versioned_card)


def test_single_version_scoring_ignores_dates_and_adds_no_column(two_section_card):
    ev = _long({"e1": {"greeting": 1, "privacy": 1}})
    out = score_evaluations(ev, two_section_card)
    assert "scorecard_version" not in out.columns


def test_criterion_rates_use_each_ratings_own_pass_at(versioned_card):
    # b = 2: a fail in v1 (pass_at 3 on 1-5) but a pass in v2 (pass_at 2 on 1-3)
    ev = _long(
        {"e1": {"a": 1, "b": 2}, "e2": {"a": 1, "b": 2, "c": 1}},
        evaluated_at={"e1": pd.Timestamp("2026-05-01"), "e2": pd.Timestamp("2026-06-02")},
    )
    rates = criterion_rates(ev, versioned_card).set_index("criterion")
    assert rates.loc["b", "n"] == 2 and rates.loc["b", "fails"] == 1
