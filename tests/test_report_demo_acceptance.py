"""Issue 13 acceptance on the FULL demo: the disputes section and the rubric change.

The full demo (12 months, about 3.6 million tickets) is generated once for the
module (tens of seconds), hence ``slow``. The small demo's disputes section is
checked in ``tests/test_report_disputes.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from qa_analysis import demo
from qa_analysis.report import disputes as rd
from qa_analysis.report import performance as rp
from qa_analysis.report import versions as rv
from qa_analysis.report.data import load_report_data

pytestmark = pytest.mark.slow

PERIOD = "2026-10"
CHANGE = pd.Timestamp("2026-06-01")


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    d = demo.generate()
    out = tmp_path_factory.mktemp("full_demo")
    d.evaluations.to_parquet(out / "evaluations.parquet", index=False)
    d.disputes.to_parquet(out / "disputes.parquet", index=False)
    d.tickets.to_parquet(out / "tickets.parquet", index=False)
    return out, d


def _load(full, region: str, tables: tuple[str, ...]):
    out, d = full
    return load_report_data(
        out, d.scorecard, region=region, period=PERIOD, pseudonymise=False, tables=tables
    )


def test_full_demo_disputes_section_names_the_planted_reviewer_and_criterion(full):
    # over the report's history window (April - October 2026): one month is too few disputes
    region = demo.PLANTED["overturned_reviewer"].split("-")[0]
    loaded = _load(full, region, ("evaluations",))
    r = rd.disputes_results(loaded.evaluations, loaded.disputes, loaded.scorecard, loaded.window)
    md = rd.disputes_markdown(r)
    hot = md.split("**Disputed more often than the others beyond chance**", 1)[1]
    hot = hot.split(" **Criteria and reviewers", 1)[0].split(" No criterion and no", 1)[0]
    crit = demo.PLANTED["ambiguous_criterion"]
    assert f"(`{crit}`)" in hot and f"reviewer **{demo.PLANTED['overturned_reviewer']}**" in hot
    assert hot.count("(`") == 1 and hot.count("reviewer **") == 1  # nobody else


@pytest.mark.parametrize("region", ["NA", "EU", "APAC", "LATAM", "MEA"])
def test_full_demo_rubric_change_is_a_phase_break_not_a_quality_drop(full, region):
    loaded = _load(full, region, ("evaluations", "tickets"))
    d = rp.performance_data(
        loaded.evaluations, loaded.tickets, loaded.scorecard, loaded.window, seed=1
    )
    assert rv.phase_breaks(loaded.scorecard, loaded.window) == [CHANGE]
    c = rp.control_section(d)
    p = c.weekly_p
    assert set(p["phase"]) == {0, 1}
    near = p.loc[
        (p["period"] >= CHANGE - pd.Timedelta(weeks=2))
        & (p["period"] < CHANGE + pd.Timedelta(weeks=4))
    ]
    assert not (near["signal"] & (near["value"] < near["center"])).any()  # no alarm at the change
    assert rp.control_markdown(c).startswith("The scorecard changed on 1 June 2026")
    t = rp.trend_section(d)
    assert t.phase_start == CHANGE
    txt = rp.trend_sentence(t)
    assert "since the scorecard change of 1 June 2026" in txt
    assert "June 2026" not in txt.split("since the scorecard change of 1 June 2026", 1)[1]
