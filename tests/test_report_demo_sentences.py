"""The small demo's planted effects are still named, sentence by sentence (issue 10 leftover)."""

from __future__ import annotations

import re

import pytest

from qa_analysis import demo
from qa_analysis.report import calibration as rc
from qa_analysis.report import performance as rp
from qa_analysis.report.data import load_report_data

PERIOD = "2026-10"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    small = demo.generate(small=True)
    d = tmp_path_factory.mktemp("demo")
    small.calibration.to_parquet(d / "calibration.parquet", index=False)
    small.evaluations.to_parquet(d / "evaluations.parquet", index=False)
    small.tickets.to_parquet(d / "tickets.parquet", index=False)
    return d, small.scorecard


def _load(folder, region: str, tables: tuple[str, ...]):
    d, sc = folder
    return load_report_data(
        d, sc, region=region, period=PERIOD, history_months=3, pseudonymise=False, tables=tables
    )


def _sentences(text: str) -> list[str]:
    return [x for x in re.split(r"(?<=[.!?])\s+|\n+", text) if x.strip()]


def test_latam_step_is_described_as_a_drop_in_the_week_it_happened(folder):
    region = demo.PLANTED["drop_region"]
    loaded = _load(folder, region, ("evaluations", "tickets"))
    d = rp.performance_data(
        loaded.evaluations, loaded.tickets, loaded.scorecard, loaded.window, region=region
    )
    text = rp.trend_sentence(rp.trend_section(d))
    assert any("dropped" in s and "week of 3 Aug 2026" in s for s in _sentences(text)), text


def test_eu_lenient_and_severe_raters_are_named(folder):
    loaded = _load(folder, "EU", ("calibration",))
    res = rc.calibration_results(
        loaded.calibration, loaded.scorecard, loaded.window, thresholds={"n_boot": 200}, seed=3
    )
    text = rc.rater_markdown(res)
    lenient = [s for s in _sentences(text) if "**EU-S01**" in s and "lenient" in s]
    severe = [s for s in _sentences(text) if "**EU-S02**" in s and "severe" in s]
    assert lenient and severe, text
