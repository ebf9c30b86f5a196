"""Tests for qa_analysis.report.calibration: agreement, raters, drift, KPIs and narrative.

The numbers in every sentence must be the library's numbers (rounded for reading); empty
months give defined, null KPIs and a sentence saying so. Fixtures: the small demo, written
once per module as Parquet files so that the loaders run exactly as in the notebooks.
"""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest

from qa_analysis import demo, io, settings
from qa_analysis import findings as fd
from qa_analysis import reliability as rel
from qa_analysis import trends as tr
from qa_analysis.report import calibration as rc
from qa_analysis.report.data import ReportData, load_report_data, report_window
from qa_analysis.report.formatting import bar, fmt_ci

TH = {"n_boot": 200}


@pytest.fixture(scope="module")
def small() -> demo.DemoData:
    return demo.generate(seed=7, small=True)


@pytest.fixture(scope="module")
def loaded(small, tmp_path_factory) -> ReportData:
    d = tmp_path_factory.mktemp("demo")
    small.calibration.to_parquet(d / "calibration.parquet", index=False)
    return load_report_data(
        d,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=3,
        key="test-key-16-bytes",
        tables=("calibration",),
    )


@pytest.fixture(scope="module")
def cal(loaded) -> rc.CalibrationResults:
    return rc.calibration_results(
        loaded.calibration, loaded.scorecard, loaded.window, thresholds=TH, seed=3, region="EU"
    )


def numbers(text: str) -> list[str]:
    return re.findall(r"[-+]?\d+\.\d+", text)


def test_verdict_uses_the_report_thresholds():
    th = settings.thresholds()
    mid = (th["alpha_tentative"] + th["alpha_reliable"]) / 2
    assert rc.verdict(mid) == rel.alpha_verdict(mid) == "tentative"
    assert rc.verdict(mid, {"alpha_tentative": mid + 0.01, "alpha_reliable": 0.95}) == "unreliable"
    assert rc.verdict(np.nan) == "undefined"


def test_verdict_rejects_inverted_thresholds():
    with pytest.raises(ValueError, match="alpha_tentative"):
        rc.verdict(0.5, {"alpha_tentative": 0.9, "alpha_reliable": 0.8})


def test_calibration_results_use_the_month_only(cal, loaded):
    month = loaded.calibration[pd.to_datetime(loaded.calibration["session_date"]) >= "2026-10-01"]
    assert cal.n_sessions == month["session_id"].nunique()
    assert cal.n_raters == month["rater_id"].nunique()
    assert cal.n_ratings == int(month["score"].notna().sum())
    assert cal.drift["session_id"].nunique() == loaded.calibration["session_id"].nunique()


def test_calibration_agreement_matches_the_library(cal, loaded):
    month = loaded.calibration[pd.to_datetime(loaded.calibration["session_date"]) >= "2026-10-01"]
    month = month.assign(unit=month["session_id"] + " / " + month["ticket_id"])
    ref = rel.agreement_by_item(month, scorecard=loaded.scorecard, unit="unit", n_boot=200, seed=3)
    np.testing.assert_allclose(cal.by_item["alpha"], ref["alpha"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(cal.by_item["alpha_ci_low"], ref["alpha_ci_low"], atol=1e-12)


def test_calibration_recovers_the_planted_structure(cal):
    assert cal.worst_criterion == "empathy"
    verdicts = cal.raters.set_index("verdict")
    assert {"lenient", "severe"} <= set(verdicts.index)


def test_agreement_sentence_numbers_equal_the_table(cal):
    row = cal.by_item.loc[cal.by_item["criterion"] == "empathy"].iloc[0]
    s = rc.agreement_sentence(row, TH)
    assert s.startswith("Alpha for *Empathy* is ")
    assert numbers(s)[:3] == [
        f"{row['alpha']:.2f}",
        f"{row['alpha_ci_low']:.2f}",
        f"{row['alpha_ci_high']:.2f}",
    ]
    assert f"below the {bar(settings.thresholds()['alpha_tentative'])} floor (unreliable)" in s


def test_agreement_sentence_bands():
    base = {"name": "Tone", "alpha_ci_low": np.nan, "alpha_ci_high": np.nan}
    th = {"alpha_tentative": 0.6, "alpha_reliable": 0.75}
    assert rc.agreement_sentence({**base, "alpha": 0.8}, th).endswith(
        "at or above the .750 bar (reliable)."
    )
    assert rc.agreement_sentence({**base, "alpha": 0.7}, th).endswith(
        "between the .600 floor and the .750 bar (tentative)."
    )
    assert rc.agreement_sentence({**base, "alpha": np.nan, "note": "one rater"}) == (
        "Alpha for *Tone* is undefined (one rater)."
    )


def test_agreement_markdown_headline_counts(cal):
    md = rc.agreement_markdown(cal)
    a = cal.by_item["alpha"]
    assert f"**{np.median(a):.2f}**" in md and f"mean {a.mean():.2f}" in md
    n_unrel = int((cal.by_item["verdict"] == "unreliable").sum())
    assert f"{n_unrel} unreliable" in md
    assert md.count("- Alpha for") == n_unrel
    w = cal.criteria.weakest
    name = cal.names[w.segment]
    if w.holds:
        assert f"*{name}* is the weakest criterion" in md
    else:
        assert f"*{name}* has the lowest alpha" in md and "no single weakest criterion" in md
    assert "Holm" in md


def _weakest(holds: bool) -> fd.CriterionClaims:
    w = fd.Finding("weakest_criterion", holds, "criterion", "a", "alpha", estimate=0.2)
    m = fd.Finding("most_divisive", False, "criterion", "b", "split", estimate=0.1)
    return fd.CriterionClaims(w, m)


def test_weakest_criterion_is_claimed_only_when_the_finding_holds():
    b = pd.DataFrame(
        {
            "criterion": ["a", "b", "c"],
            "name": ["Privacy", "Tone", "Empathy"],
            "alpha": [0.2, 0.8, 0.85],
            "alpha_ci_low": [0.1, 0.7, 0.75],
            "alpha_ci_high": [0.3, 0.9, 0.95],
            "verdict": ["unreliable", "reliable", "reliable"],
        }
    )
    names = {"a": "Privacy", "b": "Tone", "c": "Empathy"}
    res = dataclasses.replace(_stub_calibration(b), criteria=_weakest(True), names=names)
    md = rc.agreement_markdown(res)
    assert "*Privacy* is the weakest criterion: alpha 0.20" in md
    res = dataclasses.replace(res, criteria=_weakest(False))
    md = rc.agreement_markdown(res)
    assert "is the weakest criterion" not in md
    assert "*Privacy* has the lowest alpha (0.20)" in md and "no single weakest criterion" in md


def test_split_markdown_phrases_the_most_divisive_finding(cal):
    md = rc.split_markdown(cal)
    md_f = cal.criteria.most_divisive
    name = cal.names[md_f.segment]
    if md_f.holds:
        assert f"*{name}* is the most divisive criterion" in md
    else:
        assert f"*{name}* splits the raters most" in md and "no single most divisive" in md
    assert "split on most often" not in md
    explained = "alpha weighs disagreement against the spread" in md
    assert explained == bool(cal.criteria.note)


def test_rater_biased_on_one_criterion_is_listed_even_when_aligned_overall():
    from qa_analysis.report.data import report_window as rw
    from qa_analysis.scenarios import Effect, scenario

    s = scenario(
        [Effect("rater_bias", region="EU", criterion="resolution", size=0.25)],
        seed=3,
        regions=["EU"],
        months=4,
    )
    res = rc.calibration_results(
        s.calibration, s.scorecard, rw("2026-10", 3), thresholds={"n_boot": 50}, seed=1
    )
    md = rc.rater_markdown(res)
    name = res.names["resolution"]
    assert f"**EU-S01** on *{name}*: lenient" in md
    assert "Who to recalibrate on what" in md and "July 2026 - October 2026" in md
    k = rc.calibration_kpis(res)
    assert k["n_rater_criterion_flags"] >= 1
    assert k["headline_finding"].startswith(f"EU-S01 is lenient on {name}")


def test_kappa_paradox_needs_skewed_prevalence():
    # Privacy: 95% of ratings in one category, 92% of pairs agree, alpha 0.30: the paradox.
    # Resolution: same agreement figures but 22% fails (majority 78%): real disagreement.
    by_item = pd.DataFrame(
        {
            "criterion": ["a", "b", "c"],
            "name": ["Privacy", "Tone", "Resolution"],
            "alpha": [0.3, 0.9, 0.3],
            "gwet": [0.9, 0.95, 0.9],
            "gwet_coefficient": ["AC1", "AC2 (ordinal)", "AC1"],
            "percent_agreement": [0.92, 0.97, 0.92],
            "majority_share": [0.95, 0.6, 0.78],
            "verdict": ["unreliable", "reliable", "unreliable"],
        }
    )
    res = _stub_calibration(by_item)
    assert list(rc.kappa_paradox_criteria(res)["name"]) == ["Privacy"]
    md = rc.kappa_paradox_markdown(res)
    th = settings.thresholds()
    rule = (
        f"(rule: at least {th['paradox_prevalence'] * 100:.0f}% of the ratings in one category, "
        f"at least {th['alpha_reliable'] * 100:.0f}% of rater pairs agreeing, alpha below "
        f"{bar(th['alpha_tentative'])})"
    )
    assert md == (
        f"**High agreement, low alpha (the kappa paradox)** {rule}: *Privacy* (alpha 0.30, AC1 "
        "0.90, 92% of rater pairs agree, 95% of ratings in one category). *In plain words:* "
        "Privacy: raters give the same score 92% of the time, but nearly every ticket gets that "
        "score, so alpha (0.30) has little to measure; read AC1/AC2, and include harder tickets "
        "in calibration."
    )
    assert "Resolution" not in md


def test_kappa_paradox_majority_share_is_computed_from_the_ratings(cal, loaded):
    m = loaded.calibration
    m = m.loc[(m["session_date"] >= "2026-10-01") & m["score"].notna()]
    share = m.groupby("criterion")["score"].agg(lambda x: x.value_counts(normalize=True).max())
    got = cal.by_item.set_index("criterion")["majority_share"]
    pd.testing.assert_series_equal(got.sort_index(), share.sort_index(), check_names=False)


def _drift_table(alphas, pairable=100) -> pd.DataFrame:
    dates = pd.date_range("2026-05-07", periods=len(alphas), freq="14D")
    return pd.DataFrame(
        {
            "session_id": [f"s{i}" for i in range(len(alphas))],
            "session_date": dates,
            "criterion": "tone",
            "alpha": alphas,
            "mean_alpha": alphas,
            "n_pairable": pairable,
        }
    )


def _drift_res(alphas) -> rc.CalibrationResults:
    drift = _drift_table(alphas)
    return dataclasses.replace(
        _stub_calibration(pd.DataFrame()),
        drift=drift,
        drift_trend=tr.mann_kendall(np.asarray(alphas, dtype=float)),
        drift_steps=rc.drift_steps(drift, seed=1),
    )


def test_drift_sentence_names_a_collapse_in_the_last_two_sessions():
    alphas = [0.69, 0.71, 0.70, 0.72, 0.68, 0.70, 0.71, 0.69, 0.70, 0.70, 0.19, 0.21]
    res = _drift_res(alphas)
    s = rc.drift_sentence(res)
    assert res.drift_steps is not None and res.drift_steps.collapse
    assert (
        "Agreement collapsed in the latest sessions: it fell from 0.70 to 0.20 in the last 2 sessions"
        in s
    )
    assert "since the session of 24 Sep 2026" in s  # the 11th session: 7 May + 10 x 14 days
    assert "Mann-Kendall" not in s
    assert "*In plain words:* change-point p = " in s
    assert "agreement between specialists moved to a lower level and stayed, not just noisy." in s
    k = rc.calibration_kpis(res)
    assert k["drift_collapse"] is True and k["drift_shape"] == "step"
    assert k["drift_after"] == pytest.approx(0.20)


def test_drift_sentence_claims_nothing_on_noise():
    rng = np.random.default_rng(4)
    res = _drift_res(0.6 + rng.normal(0, 0.03, 12))
    s = rc.drift_sentence(res)
    assert "No step and no trend stand out from session-to-session noise" in s
    assert "collapsed" not in s and "dropped" not in s and "rising" not in s
    assert "*In plain words:* change-point p = " in s
    assert "agreement between specialists changed? could be noise" in s
    assert res.drift_steps.shape == "flat"


def test_drift_weights_are_the_pairable_values(cal):
    c = cal.drift_steps
    per = cal.drift.groupby("session_id", sort=False)["n_pairable"].sum()
    assert c is not None and c.segments["n"].sum() == pytest.approx(per.sum())


def test_rater_markdown_reports_bias_with_ci(cal):
    md = rc.rater_markdown(cal)
    flagged = cal.raters.loc[cal.raters["verdict"].isin(["lenient", "severe"])]
    assert md.startswith(f"{len(flagged)} of {len(cal.raters)} raters")
    r = flagged.iloc[0]
    assert f"{r['deviation_share'] * 100:+.1f}%" in md
    assert (
        f"[{r['deviation_share_ci_low'] * 100:+.1f}%, {r['deviation_share_ci_high'] * 100:+.1f}%]"
        in md
    )


def test_split_table_separates_session_and_ticket(cal):
    s = cal.split
    assert len(s) == 10 and list(s["rank"]) == list(range(1, 11))
    assert s["ticket_id"].str.startswith("T").all() and s["session_id"].str.contains("CAL").all()
    assert s["most_split_name"].notna().all()
    assert s["ticket_id"].iloc[0] in rc.split_markdown(cal)


def test_drift_sentence_reports_the_first_and_last_session(cal):
    s = rc.drift_sentence(cal)
    per = cal.drift.groupby("session_id", sort=False)["mean_alpha"].first()
    assert f"{per.iloc[0]:.2f} to {per.iloc[-1]:.2f}" in s
    assert "within noise" not in s  # Mann-Kendall never declares "no change"


def test_calibration_kpis_equal_the_results(cal, tmp_path):
    k = rc.calibration_kpis(cal)
    a = cal.by_item["alpha"]
    assert k["n_sessions"] == cal.n_sessions and k["n_raters"] == cal.n_raters
    assert k["median_alpha"] == pytest.approx(float(np.median(a)))
    assert k["worst_criterion"] == "empathy" and k["worst_alpha"] == pytest.approx(a.min())
    assert k["n_lenient"] == int((cal.raters["verdict"] == "lenient").sum())
    io.write_kpis(k, tmp_path / "k.json")  # every value is JSON-writable
    assert json.loads((tmp_path / "k.json").read_text())["criteria"]["empathy"] == pytest.approx(
        a.min()
    )


def test_calibration_empty_month_gives_null_kpis_and_says_so(loaded):
    w = report_window("2027-02", 1)
    res = rc.calibration_results(
        loaded.calibration, loaded.scorecard, w, thresholds=TH, region="EU"
    )
    assert res.empty and res.n_sessions == 0 and res.worst_criterion is None
    k = rc.calibration_kpis(res)
    assert k["n_sessions"] == 0 and k["median_alpha"] is None and k["n_lenient"] is None
    assert "No calibration sessions in February 2027" in rc.participation_sentence(res)
    assert rc.agreement_markdown(res) == "No agreement figures: no calibration ratings this month."
    assert rc.rater_markdown(res).startswith("No rater calibration: no ratings with a reference")
    assert rc.split_markdown(res) == "No discussion list: no calibration tickets this month."
    assert rc.kappa_paradox_markdown(res) == ""


def _stub_calibration(by_item: pd.DataFrame) -> rc.CalibrationResults:
    e = pd.DataFrame()
    return rc.CalibrationResults(
        region="EU",
        window=report_window("2026-10"),
        thresholds=settings.thresholds(),
        n_ratings=10,
        sessions=e,
        roles=pd.DataFrame(columns=["role", "raters"]),
        by_item=by_item,
        raters=e,
        heatmap=e,
        split=e,
        drift=e,
        drift_trend=tr.mann_kendall([]),
    )


def test_agreement_table_formats_estimates_with_intervals(cal):
    t = rc.agreement_table(cal)
    row = cal.by_item.loc[cal.by_item["criterion"] == "empathy"].iloc[0]
    assert t.loc["Empathy", "Alpha"] == fmt_ci(
        row["alpha"], row["alpha_ci_low"], row["alpha_ci_high"]
    )
    assert t.loc["Empathy", "Gwet"].startswith("AC2 ")
    assert len(t) == len(cal.by_item)


def test_rater_table_keeps_the_severe_to_lenient_order(cal):
    t = rc.rater_table(cal)
    assert list(t.index) == list(cal.raters["rater_id"])
    assert t["Mean bias (% of range)"].iloc[0].startswith("+")


def test_display_tables_are_empty_not_errors_for_an_empty_month(loaded):
    res = rc.calibration_results(
        loaded.calibration, loaded.scorecard, report_window("2027-02", 0), thresholds=TH
    )
    assert len(rc.agreement_table(res)) == 0 and len(rc.rater_table(res)) == 0


def _month_cal(loaded) -> pd.DataFrame:
    c = loaded.calibration
    return c[pd.to_datetime(c["session_date"]) >= "2026-10-01"]


def test_calibration_counts_na_ratings_and_says_so(cal, loaded):
    month = _month_cal(loaded)
    n_na = int(month["score"].isna().sum())
    assert n_na > 0  # the demo has N/A on na_allowed criteria
    assert (cal.n_ratings_total, cal.n_na, cal.n_ratings) == (len(month), n_na, len(month) - n_na)
    s = rc.participation_sentence(cal)
    assert f"{len(month):,} ratings in all, of which {n_na:,} N/A" in s
    assert f"{len(month) - n_na:,} scored" in s


def test_participation_sentence_says_when_nothing_is_na(cal):
    res = dataclasses.replace(cal, n_na=0, n_ratings_total=cal.n_ratings)
    assert rc.participation_sentence(res).endswith(f"{cal.n_ratings:,} ratings in all, none N/A.")


def test_agreement_markdown_shows_every_non_empty_item_note(cal):
    notes = cal.by_item.loc[cal.by_item["note"].fillna("").str.len() > 0, ["name", "note"]]
    assert len(notes) > 0 and notes["note"].str.contains("missing rating").any()
    md = rc.agreement_markdown(cal)
    for name, note in notes.itertuples(index=False):
        assert f"- *{name}*: {note.rstrip('.')}." in md
    # the per-criterion N/A counts add up to the month's N/A ratings
    counted = notes["note"].str.extract(r"(\d+) missing rating")[0].dropna().astype(int).sum()
    assert counted == cal.n_na


def _cal_frame(expert_on: list[str]) -> pd.DataFrame:
    """Three tickets rated by an expert and two specialists on one 1-5 criterion; the
    expert rates only the tickets in ``expert_on``."""
    rows = []
    for t, base in (("t1", 3), ("t2", 4), ("t3", 2)):
        for r, role, d in (("x", "expert", 0), ("a", "specialist", 1), ("b", "specialist", 0)):
            if role == "expert" and t not in expert_on:
                continue
            rows.append(
                {
                    "session_id": "s1",
                    "session_date": pd.Timestamp("2026-10-08"),
                    "ticket_id": t,
                    "rater_id": r,
                    "role": role,
                    "criterion": "tone",
                    "score": float(min(base + d, 5)),
                }
            )
    return pd.DataFrame(rows)


def test_ratings_without_a_reference_are_counted_and_stated():
    from qa_analysis.scorecard import Scorecard

    sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [1, 2, 3, 4, 5]}]})
    res = rc.calibration_results(
        _cal_frame(["t1", "t2"]), sc, report_window("2026-10", 0), thresholds={"n_boot": 50}
    )
    # six specialist ratings; the two on t3 have no expert rating to compare with
    assert (res.n_compared, res.n_no_reference) == (4, 2)
    assert res.n_compared == int(res.raters["n_ratings"].sum())
    md = rc.rater_markdown(res)
    assert (
        "Compared on 4 ratings; 2 rating(s) had no expert rating of the same ticket and "
        "criterion and are left out of rater calibration." in md
    )
    k = rc.calibration_kpis(res)
    assert k["detail"]["n_no_reference"] == 2 and k["detail"]["n_compared"] == 4


def test_no_reference_count_is_zero_when_the_expert_rates_everything():
    from qa_analysis.scorecard import Scorecard

    sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [1, 2, 3, 4, 5]}]})
    res = rc.calibration_results(
        _cal_frame(["t1", "t2", "t3"]),
        sc,
        report_window("2026-10", 0),
        thresholds={"n_boot": 50},
    )
    assert (res.n_compared, res.n_no_reference) == (6, 0)
    assert "left out of rater calibration" not in rc.rater_markdown(res)


def test_calibration_results_repr_is_short(cal):
    r = repr(cal)
    assert r.startswith("CalibrationResults(region='EU', window=Window(2026-10") and "\n" not in r
    assert f"by_item=<DataFrame {len(cal.by_item)} x " in r


def test_a_month_whose_ratings_are_all_na_says_so_not_no_sessions(loaded):
    cal_na = loaded.calibration.assign(score=np.nan)
    res = rc.calibration_results(
        cal_na, loaded.scorecard, loaded.window, thresholds=TH, seed=3, region="EU"
    )
    text = rc.participation_sentence(res)
    month = cal_na["session_date"].between(loaded.window.start, loaded.window.end)
    assert res.empty and "No calibration sessions" not in text
    assert f"every one of the {int(month.sum()):,} calibration ratings was N/A" in text
