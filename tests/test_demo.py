"""Demo data (qa_analysis.demo): determinism, shape, validity and planted structure.

Recovery of the planted effects by the statistics is tested in the statistics'
own test files (reliability, trends)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from qa_analysis import demo, io
from qa_analysis.scorecard import score_evaluations


@pytest.fixture(scope="module")
def small():
    return demo.generate(seed=7, small=True)


def test_same_seed_same_data(small):
    again = demo.generate(seed=7, small=True)
    pd.testing.assert_frame_equal(small.evaluations, again.evaluations)
    pd.testing.assert_frame_equal(small.calibration, again.calibration)
    pd.testing.assert_frame_equal(small.tickets, again.tickets)


def test_different_seed_different_data(small):
    other = demo.generate(seed=8, small=True)
    assert not small.evaluations["score"].equals(other.evaluations["score"])


def test_tables_pass_the_loaders_validation(small):
    ev = io.load_evaluations(small.evaluations, scorecard=small.scorecard)
    cal = io.load_calibration(small.calibration, scorecard=small.scorecard)
    tk = io.load_tickets(small.tickets)
    assert len(ev) == len(small.evaluations) and len(cal) == len(small.calibration)
    assert len(tk) == len(small.tickets)


def test_structure_regions_channels_roles(small):
    assert set(small.evaluations["region"]) == set(demo.REGIONS)
    assert set(small.tickets["channel"]) == set(demo.CHANNELS)
    cal = small.calibration
    per_region = cal.groupby("region")
    assert (per_region.apply(lambda g: (g["role"] == "expert").any())).all()
    # every rater scores every criterion (of the version in force) of every ticket in a session
    counts = cal.groupby(["session_id", "ticket_id"])["rater_id"].count()
    crew = cal.groupby("session_id")["rater_id"].nunique()
    date = cal.groupby("session_id")["session_date"].first()
    n_crit = np.where(date < pd.Timestamp(demo.PLANTED["rubric_change"]), 12, 13)
    n_crit = pd.Series(n_crit, index=date.index).loc[counts.index.get_level_values(0)]
    per_session = crew.loc[counts.index.get_level_values(0)].to_numpy() * n_crit.to_numpy()
    assert (counts.to_numpy() == per_session).all()
    sizes = cal.groupby("session_id")["ticket_id"].nunique()
    assert sizes.between(8, 12).all()


def test_sessions_every_two_weeks(small):
    dates = small.calibration.groupby("region")["session_date"].unique()
    for d in dates:
        gaps = np.diff(np.sort(d)).astype("timedelta64[D]").astype(int)
        assert set(gaps) == {14}


def test_evaluations_about_five_per_agent_month(small):
    ev = small.evaluations.drop_duplicates("evaluation_id")
    per = ev.groupby([ev["agent_id"], ev["evaluated_at"].dt.to_period("M")]).size()
    assert 4.0 < per.mean() < 6.0


def test_full_set_sizes_as_documented():
    """Agents 40-80 and specialists 6-10 per region, about 1,000 tickets per agent-month
    (checked on the generator's people table, cheap; the full tables are built by make demo)."""
    rng = np.random.default_rng(demo.DEFAULT_SEED)
    agents, raters = demo._people(rng, (40, 81), (6, 11))
    n_agents = agents.groupby("region").size()
    n_spec = raters[raters["role"] == "specialist"].groupby("region").size()
    assert n_agents.between(40, 80).all() and n_spec.between(6, 10).all()


def test_planted_raters_listed(small):
    assert small.planted["lenient_raters"] == sorted(f"{r}-S01" for r in demo.REGIONS)
    assert small.planted["severe_raters"] == sorted(f"{r}-S02" for r in demo.REGIONS)
    assert small.planted["experts"] == sorted(f"{r}-X01" for r in demo.REGIONS)


def test_planted_leniency_visible_in_raw_deviation(small):
    cal = small.calibration
    ref = cal[cal["role"] == "expert"].set_index(["session_id", "ticket_id", "criterion"])["score"]
    dev = (
        cal["score"]
        - cal.join(ref.rename("ref"), on=["session_id", "ticket_id", "criterion"])["ref"]
    )
    by_rater = dev.groupby(cal["rater_id"]).mean()
    assert (by_rater[small.planted["lenient_raters"]] > 0.2).all()
    assert (by_rater[small.planted["severe_raters"]] < -0.2).all()


def test_planted_critical_channel_and_csat_visible(small):
    ev = small.evaluations
    crit = ev[ev["criterion"].isin(["data_privacy", "resolution"])]
    fail = (crit["score"] == 0).groupby(crit["channel"]).mean()
    assert fail.idxmax() == "phone" and fail["phone"] > 1.5 * fail.drop("phone").max()
    ordinal = ev[ev["criterion"].isin(["understanding", "empathy", "tone", "ownership", "closing"])]
    per_eval = (
        ordinal.groupby("evaluation_id").agg(q=("score", "mean"), csat=("csat", "first")).dropna()
    )
    assert len(per_eval) > 200
    assert per_eval["q"].corr(per_eval["csat"], method="spearman") > 0.2


def test_write_demo_writes_parquet_and_duckdb(tmp_path):
    paths = demo.write_demo(tmp_path, seed=3, small=True)
    for name in ("evaluations", "calibration", "tickets"):
        assert paths[name].exists()
    with duckdb.connect(str(paths["duckdb"]), read_only=True) as con:
        tables = {r[0] for r in con.execute("show tables").fetchall()}
        n = con.execute("select count(*) from evaluations").fetchone()[0]
    assert tables == {"evaluations", "calibration", "tickets", "disputes"}
    assert n == len(pd.read_parquet(paths["evaluations"]))
    assert not list(tmp_path.glob("*.tmp"))
    eu = io.load_evaluations(
        str(paths["duckdb"]), region="EU", start="2026-10-01", end="2026-10-31"
    )
    assert set(eu["region"]) == {"EU"} and eu["evaluated_at"].dt.month.eq(10).all()


def test_evaluations_follow_each_months_audit_plan(small):
    """Audits are drawn from the month's plan (sampling.audit_plan with period_seed), about
    4% of planned audits missed: coverage against the re-drawn plan shows exactly that."""
    from qa_analysis import sampling

    tk = small.tickets
    october = tk[tk["created_at"].dt.to_period("M") == "2026-10"]
    plan = sampling.audit_plan(october, per_agent=5, seed=sampling.period_seed(7, "2026-10"))
    ev = small.evaluations
    done = ev[ev["ticket_id"].isin(october["ticket_id"])]
    cov = sampling.coverage(plan, done, by="agent_id")
    assert cov["unplanned"].sum() == 0
    completion = cov["done"].sum() / cov["planned"].sum()
    assert 0.9 < completion < 1.0


def test_a_generator_seed_is_one_integer_drawn_from_it_and_recorded():
    a = demo.generate(np.random.default_rng(4), small=True)
    b = demo.generate(np.random.default_rng(4), small=True)
    assert a.planted["seed"] == b.planted["seed"]
    assert a.evaluations.equals(b.evaluations)
    assert a.planted["seed"] == int(np.random.default_rng(4).integers(0, 2**63, dtype=np.int64))


def test_a_float_seed_is_a_type_error():
    with pytest.raises(TypeError, match="seed"):
        demo.generate(1.5, small=True)


def test_planted_disputes_are_valid_and_name_the_reviewer_and_criterion(small):
    from qa_analysis import io
    from qa_analysis.disputes import calibration_signal

    d = io.load_disputes(small.disputes, evaluations=small.evaluations)
    share = d["evaluation_id"].nunique() / small.evaluations["evaluation_id"].nunique()
    assert 0.03 <= share <= 0.06
    sig = calibration_signal(small.evaluations, d)
    flagged = set(zip(sig["dimension"], sig["segment"], strict=True))
    assert flagged == {
        ("criterion", demo.PLANTED["ambiguous_criterion"]),
        ("reviewer_id", demo.PLANTED["overturned_reviewer"]),
    }


def test_planted_rubric_change_each_row_uses_the_version_in_force(small):
    change = pd.Timestamp(small.planted["rubric_change"])
    ev = small.evaluations
    before = ev["evaluated_at"] < change
    assert not ev.loc[before, "criterion"].eq("language").any()
    per_eval = ev.groupby("evaluation_id")["criterion"].size()
    first = ev.groupby("evaluation_id")["evaluated_at"].first()
    assert (per_eval[first < change] == 12).all() and (per_eval[first >= change] == 13).all()
    cal = small.calibration
    assert not cal.loc[cal["session_date"] < change, "criterion"].eq("language").any()
    assert cal.loc[cal["session_date"] >= change, "criterion"].eq("language").any()
    # the rubric change is not a quality change: the pass rate is about the same either side
    s = score_evaluations(ev, small.scorecard)
    nonlatam = s["region"] != small.planted["drop_region"]
    month = s["evaluated_at"].dt.to_period("M").astype(str)
    may = s.loc[nonlatam & (month == "2026-05"), "passed"].astype(float).mean()
    june = s.loc[nonlatam & (month == "2026-06"), "passed"].astype(float).mean()
    assert abs(june - may) < 0.05
