"""The disputes section, the grader table and the dispute effect sentence."""

from __future__ import annotations

import pandas as pd
import pytest

from qa_analysis import demo
from qa_analysis.privacy import pseudonymise
from qa_analysis.report import disputes as rd
from qa_analysis.report.data import load_report_data

KEY = "test-key-16-bytes"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = demo.generate(seed=7, small=True)
    out = tmp_path_factory.mktemp("demo")
    d.evaluations.to_parquet(out / "evaluations.parquet", index=False)
    d.disputes.to_parquet(out / "disputes.parquet", index=False)
    return out, d


@pytest.fixture(scope="module")
def na(folder):
    out, d = folder
    loaded = load_report_data(
        out, d.scorecard, region="NA", period="2026-10", key=KEY, tables=("evaluations",)
    )
    return loaded, rd.disputes_results(
        loaded.evaluations, loaded.disputes, loaded.scorecard, loaded.window
    )


def test_loaded_evaluations_carry_final_and_original_scores(na):
    loaded, _ = na
    ev = loaded.evaluations
    changed = ev["score"].ne(ev["original_score"]) & ev["original_score"].notna()
    over = loaded.disputes.loc[loaded.disputes["status"] == "accepted"]
    assert changed.sum() == len(over) > 0 and ev.loc[changed, "disputed"].all()


def test_disputes_section_names_the_planted_criterion_and_reviewer(na):
    _, r = na
    md = rd.disputes_markdown(r)
    hot = pseudonymise(
        pd.DataFrame({"reviewer_id": [demo.PLANTED["overturned_reviewer"]]}), key=KEY
    )
    assert "**Disputed more often than the others beyond chance**" in md
    assert "**Empathy** (`empathy`)" in md
    assert f"reviewer **{hot['reviewer_id'].iloc[0]}**" in md
    assert "-day SLA" in md and "5-day SLA" in md  # params/defaults.yaml disputes.sla_days


def test_grader_table_has_one_pseudonymised_row_per_reviewer(na):
    loaded, r = na
    g = rd.grader_report_table(r)
    assert list(g.columns[:2]) == ["Reviewer", "Evaluations"]
    assert {"Severity (points)", "Resolved disputes", "Overturn rate"} <= set(g.columns)
    assert set(g["Reviewer"]) == set(loaded.evaluations["reviewer_id"])
    assert g["Reviewer"].str.startswith("R-").all()


def test_without_a_disputes_table_nothing_changes(folder, tmp_path):
    _, d = folder
    d.evaluations.to_parquet(tmp_path / "evaluations.parquet", index=False)
    loaded = load_report_data(
        tmp_path, d.scorecard, region="NA", period="2026-10", key=KEY, tables=("evaluations",)
    )
    assert loaded.disputes.empty and "original_score" not in loaded.evaluations
    r = rd.disputes_results(loaded.evaluations, loaded.disputes, d.scorecard, loaded.window)
    assert r.empty and rd.disputes_markdown(r).startswith("No disputes table")
    assert (
        rd.dispute_effect_sentence(loaded.evaluations, loaded.disputes, d.scorecard, loaded.window)
        == ""
    )


def test_dispute_effect_sentence_states_both_pass_rates(na):
    loaded, _ = na
    txt = rd.dispute_effect_sentence(
        loaded.evaluations, loaded.disputes, loaded.scorecard, loaded.window
    )
    assert txt.startswith("Scores are the final scores, after disputes:")
    assert "with dispute outcomes and" in txt and "with the scores as first given" in txt
