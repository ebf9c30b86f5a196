"""The global overview's history section (qa_analysis.report.history)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_analysis import plots
from qa_analysis.batch.history import HISTORY_COLUMNS, HISTORY_FILE
from qa_analysis.report import history as rh

MONTHS = pd.period_range("2025-11", "2026-10", freq="M").astype(str).tolist()


def _history(step_region: str | None = "EU", drop: tuple[str, str] | None = None) -> pd.DataFrame:
    """Pass rate of EU and NA over 12 months (500 audits a month); ``step_region`` drops 10
    points from 2026-06 on; ``drop`` = (region, month) is a month without data."""
    rng = np.random.default_rng(3)
    rows = []
    for region, base in (("EU", 0.88), ("NA", 0.86)):
        for m in MONTHS:
            if drop == (region, m):
                continue
            v = base - (0.10 if region == step_region and m >= "2026-06" else 0.0)
            v += rng.normal(0, 0.004)
            rows.append(
                {
                    "region": region,
                    "period": m,
                    "kpi": "pass_rate",
                    "value": v,
                    "ci_low": v - 0.03,
                    "ci_high": v + 0.03,
                    "target": 0.85,
                    "status": None,
                    "scorecard_version": "1",
                    "n": 500,
                }
            )
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


def test_a_planted_step_is_named_with_its_month():
    s = rh.history_section(_history(), seed=1)
    st = s.steps
    assert st[["region", "kpi", "period"]].to_numpy().tolist() == [["EU", "pass_rate", "2026-06"]]
    assert st["before"].iloc[0] == pytest.approx(0.88, abs=0.01)
    assert st["after"].iloc[0] == pytest.approx(0.78, abs=0.01)
    assert s.sentences == [
        s.series.set_index("region").loc["EU", "sentence"],
    ]
    b, a, p = st[["before", "after", "p_value"]].iloc[0]
    assert s.sentences[0] == (
        f"**EU pass rate** stepped down from {b:.1%} to {a:.1%} in 2026-06 (p = {p:.2g}) "
        "and stayed at the new level."
    )
    md = rh.history_markdown(s)
    assert "2025-11 to 2026-10" in md
    assert "- No step: NA (pass rate)." in md


def test_no_step_anywhere_is_said_plainly():
    s = rh.history_section(_history(step_region=None), seed=1)
    assert len(s.steps) == 0 and s.sentences == []
    md = rh.history_markdown(s)
    assert "- No KPI stepped in any region over these months." in md
    assert "No step: EU (pass rate); NA (pass rate)" in md


def test_a_missing_month_is_a_gap_not_zero():
    s = rh.history_section(_history(drop=("NA", "2026-02")), seed=1)
    t = s.table.set_index(["region", "period"])
    assert len(s.table) == 24  # every region x month of the calendar
    assert np.isnan(t.loc[("NA", "2026-02"), "value"])
    shown = rh.history_display(s)
    assert shown.loc[("NA", "Pass rate"), "2026-02"] == "no data"
    assert shown.loc[("EU", "Pass rate"), "Target"] == "85.0%"
    assert s.series.set_index("region").loc["NA", "n_months"] == 11


def test_a_short_history_says_too_few_months():
    h = _history()
    s = rh.history_section(h.loc[h["period"] >= "2026-08"], seed=1)
    assert set(s.series["shape"]) == {"too short"} and len(s.steps) == 0
    assert "Too few months to look for a step (4 needed): EU, NA." in rh.history_markdown(s)


def test_no_history_says_so(tmp_path):
    h = rh.overview_history(tmp_path / "2026-10", "2026-10")
    assert len(h) == 0
    s = rh.history_section(h)
    assert s.empty
    assert rh.history_markdown(s) == (
        "No history yet: the history store has no earlier months to compare with."
    )
    assert rh.history_display(s).empty


def test_overview_history_reads_the_store_next_to_the_period_folder(tmp_path):
    _history().to_parquet(tmp_path / HISTORY_FILE, index=False)
    (tmp_path / "2026-09").mkdir()
    h = rh.overview_history(tmp_path / "2026-09", "2026-09", months=3)
    assert sorted(h["period"].unique()) == ["2026-07", "2026-08", "2026-09"]


def test_history_section_refuses_a_non_dataframe():
    with pytest.raises(TypeError, match="DataFrame"):
        rh.history_section([1, 2])  # type: ignore[arg-type]


def test_history_plot_draws_gaps_targets_and_steps():
    s = rh.history_section(_history(drop=("NA", "2026-02")), seed=1)
    fig = plots.history(s.table, s.steps)
    eu, na = fig.axes
    assert eu.get_title() == "EU" and na.get_title() == "NA"
    y = na.lines[0].get_ydata()
    assert np.isnan(y[MONTHS.index("2026-02")]) and np.isfinite(y).sum() == 11
    horiz = [ln for ln in eu.lines if ln.get_linestyle() == "--"]
    assert [float(ln.get_ydata()[0]) for ln in horiz] == [0.85]
    steps = [ln for ln in eu.lines if ln.get_linestyle() == ":"]
    assert [float(ln.get_xdata()[0]) for ln in steps] == [MONTHS.index("2026-06") - 0.5]
    assert not [ln for ln in na.lines if ln.get_linestyle() == ":"]


def test_history_plot_without_history_is_an_empty_state():
    fig = plots.history(pd.DataFrame(columns=["region", "kpi", "period", "value", "target"]))
    assert next(t.get_text() for t in fig.axes[0].texts).startswith("No history yet")
