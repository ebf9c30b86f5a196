"""A report runs on each QA-platform adapter's output (issue 14's acceptance).

For each documented fixture under ``tests/fixtures/adapters``: ``qa-reports
import`` writes the long tables into a folder, then the report's library steps
(the data step, the performance sections and KPIs, the calibration analyses)
run on that folder. A platform export has no ticket population (and Scorebuddy
no calibration), so the reports say in words what they skip.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qa_analysis import cli
from qa_analysis.report import calibration as cal
from qa_analysis.report import performance as perf
from qa_analysis.report.data import MISSING_TABLE_NOTES, ReportData, load_report_data
from qa_analysis.scorecard import Scorecard

ADAPTERS = Path(__file__).parent / "fixtures" / "adapters"
FILL = ["--set", "region=EU", "--set", "market=DE", "--set", "channel=email"]
FILL += ["--set", "queue=billing"]
KEY = "a test key of 16+ bytes"
#: every fixture's reviews are dated October 2026 (one Zendesk QA review in September)
PERIOD = "2026-10"

#: adapter -> (its fixture folder and options, evaluations in the fixture, has calibration)
CASES = {
    "zendesk-qa": (["zendesk_qa", "--experts", "lead@example.com"], 3, True),
    "maestroqa": (["maestroqa"], 3, True),
    "scorebuddy": (["scorebuddy", "--version", "2"], 2, False),
}


def import_and_load(source: str, tmp_path: Path, capsys) -> ReportData:
    folder, *options = CASES[source][0]
    out = tmp_path / "data"
    code = cli.main(
        ["import", "--from", source, str(ADAPTERS / folder), *options, "--out", str(out), *FILL]
    )
    capsys.readouterr()
    assert code == 0
    # the scorecard derived from the export, as the import wrote it
    sc = Scorecard.from_yaml(out / "scorecard.yaml")
    return load_report_data(out, sc, region="EU", period=PERIOD, key=KEY)


@pytest.mark.parametrize("source", list(CASES))
def test_the_performance_report_runs_on_the_imported_export(source, tmp_path, capsys):
    data = import_and_load(source, tmp_path, capsys)
    assert MISSING_TABLE_NOTES["tickets"] in data.notes and len(data.tickets) == 0
    d = perf.performance_data(
        data.evaluations, data.tickets, data.scorecard, data.window, region=data.region
    )
    sections = perf.all_sections(d)
    kpis = perf.performance_kpis(d, sections.values(), data=data)
    assert kpis["n_evaluations"] == CASES[source][1]
    assert 0 <= kpis["pass_rate"] <= 1 and not math.isnan(kpis["pass_rate"])
    assert kpis["pass_rate"] == kpis["pass_rate_audits"]  # no tickets: averages over audits
    detail = kpis["detail"]  # a score interval stays on the 0-100 scale, however few the agents
    assert 0 <= detail["mean_score_ci_low"] <= kpis["mean_score"] <= detail["mean_score_ci_high"]
    assert detail["mean_score_ci_high"] <= 100
    assert "No audit plan to check coverage against" in perf.volume_markdown(sections["volume"])
    assert "No audit plan: no tickets in the month" in perf.plan_sentence(sections["plan"])
    assert "No ticket table for the month: the figures are averages over audits" in (
        perf.targets_markdown(sections["targets"])
    )


@pytest.mark.parametrize("source", list(CASES))
def test_the_calibration_report_runs_or_says_there_is_no_calibration(source, tmp_path, capsys):
    data = import_and_load(source, tmp_path, capsys)
    res = cal.calibration_results(data.calibration, data.scorecard, data.window, region=data.region)
    kpis = cal.calibration_kpis(res, data=data)
    if CASES[source][2]:
        assert MISSING_TABLE_NOTES["calibration"] not in data.notes
        assert not res.empty and kpis["n_sessions"] == 1
        assert "held 1 calibration session" in cal.participation_sentence(res)
    else:
        assert MISSING_TABLE_NOTES["calibration"] in data.notes and len(data.calibration) == 0
        assert res.empty and kpis["n_sessions"] == 0
        assert "No calibration sessions in October 2026" in cal.participation_sentence(res)
