"""Tests for Per-criterion tables and verdicts (qa_analysis.reliability.tables).

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
    empty_frame,
    narrow_tone,
    with_all_missing_criterion,
)

from qa_analysis import reliability as rl
from qa_analysis import settings
from qa_analysis.reliability import (
    agreement_by_item,
    agreement_over_sessions,
    alpha_verdict,
    disagreements,
    gwet_ac,
    krippendorff_alpha,
    rater_calibration,
    rater_calibration_by_item,
)
from qa_analysis.scorecard import Scorecard

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


@pytest.fixture(scope="module")
def demo_data():
    demo = pytest.importorskip("qa_analysis.demo")
    return demo.generate(seed=20261101, small=True)


def test_empty_input_gives_empty_tables():
    df = empty_frame().assign(criterion=pd.Series([], dtype=str), role=pd.Series([], dtype=str))
    assert agreement_by_item(df).empty
    assert rater_calibration(df).empty and rater_calibration_by_item(df).empty
    assert disagreements(df).empty


@pytest.mark.parametrize("level", rl.LEVELS)
def test_agreement_by_item_survives_an_all_missing_criterion_at_every_level(level):
    df = with_all_missing_criterion()
    t = agreement_by_item(df, levels={"tone": "ordinal", "na": level}, n_boot=50)
    assert t["criterion"].tolist() == ["tone", "na"]
    tone, na = t.iloc[0], t.iloc[1]
    assert np.isfinite(tone["alpha"])
    assert na["level"] == level and na["verdict"] == "undefined" and na["n_units"] == 0
    assert np.isnan(na[["alpha", "alpha_ci_low", "gwet", "percent_agreement"]].astype(float)).all()
    assert "no ratings, alpha undefined" in na["note"] and "8 missing rating(s)" in na["note"]


def test_scorecard_tables_survive_an_all_missing_interval_criterion():
    sc = Scorecard.from_dict(
        {
            "criteria": [
                {"id": "tone", "scale": [1, 2, 3, 4, 5], "level": "ordinal"},
                {"id": "na", "scale": [0, 5, 10], "level": "interval", "na_allowed": True},
            ]
        }
    )
    df = with_all_missing_criterion()
    t = agreement_by_item(df, scorecard=sc, n_boot=50)
    assert t["level"].tolist() == ["ordinal", "interval"] and np.isnan(t.loc[1, "alpha"])
    assert t["note"].str.contains("guessed|taken from").sum() == 0
    s = agreement_over_sessions(
        df.assign(session_id="s1", session_date="2026-01-01"), scorecard=sc, confidence=None
    )
    assert len(s) == 2 and s["mean_alpha"].iloc[0] == pytest.approx(t.loc[0, "alpha"])
    assert rater_calibration_by_item(df, scorecard=sc, confidence=None)["criterion"].tolist() == [
        "tone"
    ]
    assert (rater_calibration(df, scorecard=sc, confidence=None)["note"] == "").all()
    d = disagreements(df, scorecard=sc)
    assert list(d.columns[-2:]) == ["tone", "na"] and d["na"].isna().all()


def test_agreement_by_item_has_one_row_per_criterion_with_intervals_and_verdicts():
    df = calibration_fixture()
    t = agreement_by_item(df, levels={"tone": "ordinal", "greeting": "nominal"}, n_boot=200)
    assert t["criterion"].tolist() == ["tone", "greeting"]
    assert (t["alpha_ci_low"] <= t["alpha"]).all() and (t["alpha"] <= t["alpha_ci_high"]).all()
    assert t.loc[0, "gwet_coefficient"] == "AC2 (ordinal)" and t.loc[1, "gwet_coefficient"] == "AC1"
    single = krippendorff_alpha(
        df[df.criterion == "tone"], level="ordinal", confidence=None
    ).estimate
    assert t.loc[0, "alpha"] == pytest.approx(single)
    assert t["verdict"].tolist() == [alpha_verdict(a) for a in t["alpha"]]


def test_alpha_verdict_bands_follow_krippendorff():
    assert [alpha_verdict(x) for x in (0.80, 0.7999, 0.667, 0.5, nan)] == [
        "reliable",
        "tentative",
        "tentative",
        "unreliable",
        "undefined",
    ]


def test_agreement_over_sessions_lists_sessions_in_date_order():
    df = calibration_fixture()
    df["session_id"] = np.where(df["ticket_id"] < 15, "s2", "s1")
    df["session_date"] = pd.to_datetime(np.where(df["ticket_id"] < 15, "2026-02-01", "2026-01-01"))
    t = agreement_over_sessions(df, confidence=None)
    assert t["session_id"].drop_duplicates().tolist() == ["s1", "s2"]
    assert len(t) == 4
    per_session = t.groupby("session_id")["alpha"].mean()
    for sid, mean_alpha in t.groupby("session_id")["mean_alpha"].first().items():
        assert mean_alpha == pytest.approx(per_session[sid])


def test_demo_ambiguous_criterion_has_the_lowest_alpha(demo_data):
    cal = demo_data.calibration
    t = agreement_by_item(cal[cal.region == "EU"], scorecard=demo_data.scorecard, confidence=None)
    assert t.sort_values("alpha").iloc[0]["criterion"] == demo_data.planted["ambiguous_criterion"]


def test_agreement_by_item_notes_a_guessed_level_and_scale():
    t = agreement_by_item(narrow_tone(), confidence=None)
    assert t.loc[0, "level"] == "nominal"
    note = t.loc[0, "note"]
    assert "level guessed: nominal (2 values seen); pass scorecard= or levels=" in note
    assert "scale taken from the values seen [3, 4]; pass scorecard= or categories=" in note


@pytest.mark.parametrize("categories", [[1, 2, 3, 4, 5], {"tone": [1, 2, 3, 4, 5]}])
def test_agreement_by_item_categories_make_unused_levels_count(categories):
    df = narrow_tone()
    t = agreement_by_item(df, categories=categories, confidence=None)
    assert t.loc[0, "level"] == "ordinal"  # guessed from the 5 scale levels, not the 2 used
    assert t.loc[0, "note"] == "level guessed: ordinal (5 scale levels); pass scorecard= or levels="
    full = gwet_ac(df, weights="ordinal", categories=[1, 2, 3, 4, 5], confidence=None).estimate
    seen = gwet_ac(df, weights="ordinal", confidence=None).estimate
    assert t.loc[0, "gwet"] == pytest.approx(full, abs=1e-12) and full != pytest.approx(seen)
    t2 = agreement_by_item(df, categories=categories, levels="ordinal", confidence=None)
    assert t2.loc[0, "note"] == "" and t2.loc[0, "gwet"] == t.loc[0, "gwet"]


def test_levels_string_applies_to_every_criterion_and_categories_override_the_scorecard():
    df = narrow_tone()
    sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [3, 4], "level": "nominal"}]})
    t = agreement_by_item(
        df, scorecard=sc, levels="interval", categories={"tone": [1, 2, 3, 4, 5]}, confidence=None
    )
    assert t.loc[0, "level"] == "interval" and t.loc[0, "note"] == ""
    ref = gwet_ac(df, weights="quadratic", categories=[1, 2, 3, 4, 5], confidence=None).estimate
    assert t.loc[0, "gwet"] == pytest.approx(ref, abs=1e-12)
    s = agreement_over_sessions(
        df.assign(session_id="s"), date=None, categories=[1, 2, 3, 4, 5], confidence=None
    )
    assert s.loc[0, "level"] == "ordinal" and s.loc[0, "gwet"] == pytest.approx(
        agreement_by_item(df, categories=[1, 2, 3, 4, 5], confidence=None).loc[0, "gwet"]
    )


def test_agreement_by_item_rejects_a_bare_string_as_categories():
    with pytest.raises(TypeError, match="mapping criterion -> list"):
        agreement_by_item(narrow_tone(), categories="12345", confidence=None)


def test_per_item_errors_cite_positions_in_the_whole_table():
    """A duplicate inside the second criterion is reported at its positions in the caller's
    table, not in the per-criterion subset."""
    df = pd.DataFrame(
        {
            "session_id": "s1",
            "ticket_id": [1, 1, 1, 1, 2],
            "rater_id": ["a", "b", "a", "a", "b"],
            "criterion": ["c1", "c1", "c2", "c2", "c2"],
            "score": [1.0, 1.0, 0.0, 1.0, 1.0],
        },
        index=[7, 7, 7, 7, 7],
    )
    pattern = r"ticket_id=1, rater_id='a' occurs 2 times \(rows at positions 2, 3 \(the index"
    with pytest.raises(ValueError, match=pattern):
        agreement_by_item(df, confidence=None)
    with pytest.raises(ValueError, match=pattern):
        agreement_over_sessions(df, date=None, confidence=None)
    with pytest.raises(
        ValueError, match=r"criterion='c2', rater_id='a' occurs 2 times \(rows at positions 2, 3"
    ):
        rater_calibration(df, confidence=None)


# --------------------------------------------------------------------------- thresholds and fields
def test_alpha_bands_default_to_the_shared_settings_and_can_be_passed():
    th = settings.thresholds()
    just_below = th["alpha_reliable"] - 1e-6
    assert alpha_verdict(th["alpha_reliable"]) == "reliable"
    assert alpha_verdict(just_below) == "tentative"
    assert alpha_verdict(th["alpha_tentative"] - 1e-6) == "unreliable"
    assert alpha_verdict(0.85, alpha_reliable=0.9, alpha_tentative=0.85) == "tentative"
    with pytest.raises(ValueError, match="must not exceed"):
        alpha_verdict(0.5, alpha_reliable=0.6, alpha_tentative=0.7)


def test_agreement_by_item_verdicts_use_the_thresholds_passed():
    df = calibration_fixture()
    t = agreement_by_item(df, confidence=None)
    assert t["verdict"].tolist() == [alpha_verdict(a) for a in t["alpha"]]
    low = float(t["alpha"].min()) - 0.01  # every alpha at or above: all reliable
    lax = agreement_by_item(df, confidence=None, alpha_reliable=low, alpha_tentative=low)
    assert (lax["verdict"] == "reliable").all() and (t["verdict"] != "reliable").any()
    s = agreement_over_sessions(
        df.assign(session_id="s"),
        date=None,
        confidence=None,
        alpha_reliable=low,
        alpha_tentative=low,
    )
    assert s["verdict"].tolist() == lax["verdict"].tolist()


def test_tables_name_interval_columns_after_their_statistic():
    t = agreement_by_item(calibration_fixture(), n_boot=50)
    for stat in ("alpha", "gwet", "percent_agreement"):
        assert (t[f"{stat}_ci_low"] <= t[stat]).all() and (t[stat] <= t[f"{stat}_ci_high"]).all()
    assert not any(c.startswith("percent_ci") for c in t.columns)


def test_guessed_level_and_scale_are_fields_not_only_words_in_the_note():
    guessed = agreement_by_item(narrow_tone(), confidence=None)
    assert guessed[["level_guessed", "scale_guessed"]].iloc[0].tolist() == [True, True]
    given = agreement_by_item(
        narrow_tone(), levels="ordinal", categories=[1, 2, 3, 4, 5], confidence=None
    )
    assert given[["level_guessed", "scale_guessed"]].iloc[0].tolist() == [False, False]
    assert given.loc[0, "note"] == ""


def test_non_dataframe_input_is_a_type_error():
    rows = calibration_fixture().to_dict("records")
    for fn in (agreement_by_item, agreement_over_sessions):
        with pytest.raises(TypeError, match="must be a pandas DataFrame"):
            fn(rows)
