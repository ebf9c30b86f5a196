"""Tests for qa_analysis.adapters (QA-platform exports -> long tables).

The fixtures under tests/fixtures/adapters/ are small, hand-built from the shapes
the vendors document (cited in each adapter's docstring).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_analysis import io
from qa_analysis.adapters import (
    Lookup,
    derive_scorecard,
    from_maestroqa,
    from_scorebuddy,
    from_zendesk_qa,
)
from qa_analysis.errors import DataError
from qa_analysis.scorecard import Scorecard, score_evaluations

FIX = Path(__file__).parent / "fixtures" / "adapters"
ZQA = FIX / "zendesk_qa"
MQA = FIX / "maestroqa"
SBD = FIX / "scorebuddy"
FILL = {"region": "EU", "market": "DE", "channel": "email", "queue": "billing"}


def zqa(paths=ZQA, **kw):
    kw.setdefault("columns", FILL)
    kw.setdefault("experts", ["lead@example.com"])
    return from_zendesk_qa(paths, **kw)


def page(tmp_path: Path, data: object, name: str = "page.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def first_page() -> dict:
    return json.loads((ZQA / "reviews_page1.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------
# Zendesk QA
# ---------------------------------------------------------------------------
def test_zendesk_fixture_gives_tables_that_pass_io_validation():
    got = zqa()
    again = io.load_evaluations(got.evaluations, scorecard=got.scorecard)
    assert len(again) == 9
    assert set(got.evaluations["ticket_id"]) == {"T-100", "T-101", "T-102"}
    cal = io.load_calibration(got.calibration, scorecard=got.scorecard)
    assert len(cal) == 9
    assert cal.loc[cal["rater_id"] == "lead@example.com", "role"].eq("expert").all()
    assert cal.loc[cal["rater_id"] != "lead@example.com", "role"].eq("specialist").all()


def test_zendesk_percent_scores_become_rating_levels():
    ev = zqa().evaluations.set_index(["evaluation_id", "criterion"])["score"]
    assert ev[("9001", "101")] == 3  # 66.67 % on a 4-point scale
    assert ev[("9002", "101")] == 2  # 33.33 %
    assert ev[("9003", "103")] == 1  # 0 % on a binary scale


def test_zendesk_timestamps_are_utc():
    ev = zqa().evaluations.drop_duplicates("evaluation_id").set_index("evaluation_id")
    assert ev.loc["9002", "evaluated_at"] == pd.Timestamp("2026-10-06 09:00:00")  # +02:00


def test_zendesk_null_rating_is_na_and_makes_the_category_na_allowed():
    got = zqa()
    ev = got.evaluations.set_index(["evaluation_id", "criterion"])["score"]
    assert np.isnan(ev[("9002", "102")])
    assert got.scorecard["102"].na_allowed
    assert not got.scorecard["101"].na_allowed


def test_zendesk_weights_critical_flags_and_scales_reach_the_scorecard():
    sc = zqa().scorecard
    assert [sc[c].weight for c in ("101", "102", "103")] == [2.0, 3.0, 1.0]
    assert sc.critical_ids == ["103"]
    assert sc["101"].scale == (1, 2, 3, 4)
    assert sc["101"].pass_at == 3  # lowest level at or above 50 %
    assert sc["103"].section == "Compliance"
    assert sc.method == "weighted"
    assert sc.critical_mode == "zero"


def test_zendesk_scoring_reproduces_the_review_scores_of_the_export():
    # the export's review "score" is computed by Zendesk QA with its documented formula
    got = zqa()
    scored = score_evaluations(got.evaluations, got.scorecard).set_index("evaluation_id")
    exported = {"9001": 88.89, "9002": 55.56, "9003": 0.0}
    for rid, want in exported.items():
        assert scored.loc[rid, "score"] == pytest.approx(want, abs=0.01)
    assert scored.loc["9003", "critical_fail"]


def test_zendesk_identical_review_on_two_pages_is_counted_not_doubled():
    got = zqa()
    assert got.evaluations["evaluation_id"].value_counts()["9002"] == 3
    sk = got.skipped
    assert sk["reason"].tolist() == ["identical review repeated on another page"]
    assert sk["count"].tolist() == [1]
    assert sk["source"].iloc[0].endswith("reviews_page2.json")


def test_zendesk_review_without_ratings_is_counted_in_skipped(tmp_path):
    data = first_page()
    data["conversations"][0]["reviews"][0]["ratings"] = []
    got = zqa(page(tmp_path, data))
    assert got.skipped.set_index("reason")["count"]["review without ratings"] == 1
    assert set(got.evaluations["evaluation_id"]) == {"9002"}


def test_zendesk_conflicting_copies_of_a_review_are_refused(tmp_path):
    data = first_page()
    other = json.loads(json.dumps(data))
    other["conversations"][0]["reviews"][0]["ratings"][0]["score"] = 100
    with pytest.raises(DataError, match=r"share .* but differ"):
        zqa([page(tmp_path, data, "a.json"), page(tmp_path, other, "b.json")])


def test_zendesk_invalid_json_names_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"conversations": [', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.json: not valid JSON"):
        zqa(bad)


def test_zendesk_page_of_another_shape_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"not a Zendesk QA export page.*'reviews'"):
        zqa(page(tmp_path, {"reviews": []}))


def test_zendesk_review_without_reviewee_names_field_and_record(tmp_path):
    data = first_page()
    del data["conversations"][1]["reviews"][0]["reviewee"]
    with pytest.raises(DataError) as err:
        zqa(page(tmp_path, data))
    msg = str(err.value)
    assert "page.json" in msg
    assert "reviews[].reviewee.email" in msg
    assert "conversations[1].reviews[0] (review 9002)" in msg


def test_zendesk_score_off_every_scale_names_the_record(tmp_path):
    data = first_page()
    data["conversations"][0]["reviews"][0]["ratings"][0]["score"] = 40
    with pytest.raises(DataError, match=r"ratings\[\]\.score.*conversations\[0\].*score 40"):
        zqa(page(tmp_path, data), scales={"101": 4})


def test_zendesk_two_weights_for_one_category_are_refused(tmp_path):
    data = first_page()
    data["conversations"][1]["reviews"][0]["ratings"][0]["weight"] = 5
    with pytest.raises(DataError, match="'weight': criteria with two values"):
        zqa(page(tmp_path, data))


def test_zendesk_scales_argument_sets_the_number_of_points():
    got = zqa(scales={"102": 3})
    assert got.scorecard["102"].scale == (1, 2, 3)
    ev = got.evaluations.set_index(["evaluation_id", "criterion"])["score"]
    assert ev[("9001", "102")] == 3
    assert ev[("9003", "102")] == 1


def test_zendesk_inferred_scale_is_noted():
    assert any("101: 4-point scale inferred" in n for n in zqa().notes)
    assert not any("101:" in n for n in zqa(scales={"101": 4}).notes)


def test_zendesk_rating_scores_as_points(tmp_path):
    data = first_page()
    for conv in data["conversations"]:
        for rev in conv["reviews"]:
            for r in rev["ratings"]:
                if "score" in r:
                    r["score"] = 1 + round(
                        r["score"] / 100 * (3 if r["categoryId"] == "101" else 1)
                    )
    got = zqa(page(tmp_path, data), rating_scores="points", scales={"101": 4})
    ev = got.evaluations.set_index(["evaluation_id", "criterion"])["score"]
    assert ev[("9001", "101")] == 3
    assert ev[("9001", "102")] == 2


def test_zendesk_given_scorecard_maps_levels_onto_its_scale():
    sc = Scorecard.from_dict(
        {
            "criteria": [
                {"id": "101", "scale": [1, 2, 3, 4], "weight": 2},
                {"id": "102", "scale": [0, 1], "weight": 3, "na_allowed": True},
                {"id": "103", "scale": [0, 1], "critical": True},
            ]
        }
    )
    got = zqa(scorecard=sc)
    assert got.scorecard is sc
    ev = got.evaluations.set_index(["evaluation_id", "criterion"])["score"]
    assert ev[("9001", "102")] == 1
    assert ev[("9003", "103")] == 0


def test_zendesk_lookup_maps_fields_and_refuses_unmapped_values():
    cols = {**FILL, "market": Lookup("external.Market"), "queue": Lookup("agent_group")}
    got = zqa(columns=cols)
    m = got.evaluations.drop_duplicates("evaluation_id").set_index("evaluation_id")["market"]
    assert m.to_dict() == {"9001": "DE", "9002": "DE", "9003": "AT"}
    with pytest.raises(DataError, match=r"columns\['market'\].*'AT' \(3 rows\)"):
        zqa(columns={**FILL, "market": Lookup("external.Market", {"DE": "DE"})})
    got = zqa(columns={**FILL, "market": Lookup("external.Market", {"DE": "DE"}, default="XX")})
    assert set(got.evaluations["market"]) == {"DE", "XX"}


def test_zendesk_missing_fill_columns_are_an_error_listing_fields():
    with pytest.raises(
        DataError, match=r"no \['queue'\].*Lookup on one of its fields.*workspace_name"
    ):
        zqa(columns={"region": "EU", "market": "DE", "channel": "email"})


def test_zendesk_unknown_lookup_field_is_an_error():
    with pytest.raises(DataError, match="Lookup field 'nope'"):
        zqa(columns={**FILL, "queue": Lookup("nope")})


def test_zendesk_without_experts_notes_that_all_raters_are_specialists():
    got = zqa(experts=())
    assert got.calibration["role"].eq("specialist").all()
    assert any("every rater is a specialist" in n for n in got.notes)


def test_zendesk_reviews_only_have_no_calibration():
    got = zqa([ZQA / "reviews_page1.json"])
    assert got.calibration is None


# ---------------------------------------------------------------------------
# MaestroQA
# ---------------------------------------------------------------------------
def mqa(paths=MQA, **kw):
    kw.setdefault("columns", FILL)
    kw.setdefault("experts", ["lead@example.com"])
    return from_maestroqa(paths, **kw)


def test_maestroqa_bundle_gives_tables_that_pass_io_validation():
    got = mqa()
    assert len(io.load_evaluations(got.evaluations, scorecard=got.scorecard)) == 9
    cal = io.load_calibration(got.calibration, scorecard=got.scorecard)
    assert len(cal) == 6
    assert set(cal["session_id"]) == {"T-500"}
    assert cal.groupby("role")["rater_id"].unique().map(list).to_dict() == {
        "expert": ["lead@example.com"],
        "specialist": ["ben@example.com"],
    }


def test_maestroqa_csat_file_is_joined_on_gradable_id():
    ev = mqa().evaluations.drop_duplicates("ticket_id").set_index("ticket_id")["csat"]
    assert ev["T-500"] == 5
    assert np.isnan(ev["T-502"])


def test_maestroqa_na_cell_is_an_empty_score_on_an_na_allowed_question():
    got = mqa()
    ev = got.evaluations.set_index(["evaluation_id", "criterion"])["score"]
    assert np.isnan(ev[("T-501:rita@example.com", "q_resolution")])
    assert got.scorecard["q_resolution"].na_allowed
    assert not got.scorecard["q_greeting"].na_allowed


def test_maestroqa_points_and_auto_fail_reach_the_scorecard():
    sc = mqa().scorecard
    assert sc["q_resolution"].scale == (0, 1, 2, 3, 4, 5)
    assert sc["q_greeting"].scale == (0, 1)
    assert sc.critical_ids == ["q_privacy"]
    assert sc.method == "points"
    assert sc.name == "Chat rubric"


def test_maestroqa_scoring_matches_the_total_scores_file():
    got = mqa()
    scored = score_evaluations(got.evaluations, got.scorecard).set_index("ticket_id")["score"]
    totals = pd.read_csv(MQA / "total_scores.csv").set_index("gradable_id")
    want = 100 * totals["score"] / totals["max_points"]
    for t in ("T-500", "T-501"):
        assert scored[t] == pytest.approx(want[t])
    assert scored["T-502"] == 0.0  # auto-fail zeroes the grade


def test_maestroqa_unneeded_files_are_noted():
    assert any("annotations.csv" in n for n in mqa().notes)


def test_maestroqa_missing_column_names_the_fields_key(tmp_path):
    src = pd.read_csv(MQA / "individual_answers.csv").rename(columns={"question_id": "qid"})
    src.to_csv(tmp_path / "individual_answers.csv", index=False)
    with pytest.raises(DataError, match=r"'question_id' \(fields\['criterion'\]\); found"):
        mqa(tmp_path)
    got = mqa(tmp_path, fields={"criterion": "qid"})
    assert "q_greeting" in got.scorecard


def test_maestroqa_bad_score_names_the_line(tmp_path):
    src = pd.read_csv(MQA / "individual_answers.csv", dtype=str, keep_default_na=False)
    src.loc[3, "score"] = "abc"
    src.to_csv(tmp_path / "individual_answers.csv", index=False)
    with pytest.raises(DataError, match=r"'score': 1 records not a number or N/A.*line 5"):
        mqa(tmp_path)


def test_maestroqa_without_answers_file_is_an_error(tmp_path):
    shutil.copy(MQA / "total_scores.csv", tmp_path)
    with pytest.raises(DataError, match="no individual answer scores file"):
        mqa(tmp_path)


def test_maestroqa_without_calibration_column_has_no_calibration(tmp_path):
    src = pd.read_csv(MQA / "individual_answers.csv", dtype=str, keep_default_na=False)
    src = src[src["is_calibration"] == "false"].drop(columns="is_calibration")
    src.to_csv(tmp_path / "individual_answers.csv", index=False)
    got = mqa(tmp_path)
    assert got.calibration is None
    assert len(got.evaluations) == 9


# ---------------------------------------------------------------------------
# Scorebuddy
# ---------------------------------------------------------------------------
SB_FILL = {"region": "APAC", "market": "AU", "channel": "phone", "queue": "general"}


def test_scorebuddy_scores_give_evaluations_that_pass_io_validation():
    got = from_scorebuddy(SBD, version="2", columns=SB_FILL)
    assert len(io.load_evaluations(got.evaluations, scorecard=got.scorecard)) == 6
    assert got.calibration is None
    assert got.skipped["count"].sum() == 1


def test_scorebuddy_na_answer_and_flags_reach_the_scorecard():
    got = from_scorebuddy(SBD, version="2", columns=SB_FILL)
    ev = got.evaluations.set_index(["evaluation_id", "criterion"])["score"]
    assert np.isnan(ev[("s-1", "p3")])
    sc = got.scorecard
    assert sc["p3"].na_allowed
    assert sc.critical_ids == ["p2"]
    assert sc["p1"].scale == (0, 1, 2)
    assert sc.critical_mode == "flag"


def test_scorebuddy_scoring_flags_a_critical_fail_without_zeroing():
    got = from_scorebuddy(SBD, version="2", columns=SB_FILL)
    scored = score_evaluations(got.evaluations, got.scorecard).set_index("evaluation_id")
    assert scored.loc["s-1", "score"] == pytest.approx(100.0)  # 3 of 3 points, p3 N/A
    assert scored.loc["s-2", "score"] == pytest.approx(100 * 4 / 6)
    assert scored.loc["s-2", "critical_fail"]


def test_scorebuddy_versions_with_different_points_need_version():
    with pytest.raises(DataError, match=r"two point values across scorecard versions.*version="):
        from_scorebuddy(SBD, columns=SB_FILL)


def test_scorebuddy_missing_staff_names_field_and_record(tmp_path):
    data = json.loads((SBD / "scores_page1.json").read_text(encoding="utf-8"))
    del data["data"][1]["staff"]
    with pytest.raises(DataError, match=r"'staff\.email'.*data\[1\] \(id s-2\)"):
        from_scorebuddy(page(tmp_path, data), version="2", columns=SB_FILL)


def test_scorebuddy_without_a_list_of_scores_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no list of scores at 'data'"):
        from_scorebuddy(page(tmp_path, {"items": []}), columns=SB_FILL)


# ---------------------------------------------------------------------------
# derive_scorecard
# ---------------------------------------------------------------------------
def test_derive_scorecard_refuses_non_dataframe():
    with pytest.raises(TypeError, match="DataFrame"):
        derive_scorecard([{"criterion": "a", "scale": (0, 1)}])  # type: ignore[arg-type]


def test_derive_scorecard_refuses_a_criterion_listed_twice():
    facts = pd.DataFrame({"criterion": ["a", "a"], "scale": [(0, 1), (0, 1)]})
    with pytest.raises(DataError, match="more than once"):
        derive_scorecard(facts)


def test_derive_scorecard_turns_invalid_facts_into_a_data_error():
    facts = pd.DataFrame({"criterion": ["a"], "scale": [(1, 0)]})
    with pytest.raises(DataError, match="do not make a valid scorecard"):
        derive_scorecard(facts, source="export.json")
