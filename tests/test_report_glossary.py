"""Plain readings of the reports' statistics (qa_analysis.report.glossary)."""

from __future__ import annotations

import pytest

from qa_analysis.report import glossary as gl


@pytest.mark.parametrize(
    ("status", "clear", "start"),
    [
        ("met", True, "met (clear): the target is met and the interval excludes it"),
        ("met", False, "met, within the noise: the estimate meets the target but the interval"),
        ("missed", True, "missed (clear): the target is missed and the interval excludes it"),
        ("at risk", None, "at risk: the estimate meets the target by less than the amber margin"),
        (None, None, "no verdict"),
    ],
)
def test_plain_status_says_what_each_verdict_means(status, clear, start):
    assert gl.plain_status(status, clear).startswith(start)


def test_plain_limits_says_how_much_wider_laney_limits_are():
    assert "band is 2.0 times wider" in gl.plain_limits("p'", 2.0)
    assert gl.plain_limits("p'", float("nan")).startswith("p limits")  # no sigma_z: binomial
    assert "audit-sampling luck alone" in gl.plain_limits("p")


def test_plain_funnel_counts_both_sides():
    assert gl.plain_funnel(1, 0, "regions").startswith(
        "funnel: 1 regions pass less often and 0 more often than the average by more than chance"
    )
    assert "every one of the agents is within what chance gives" in gl.plain_funnel(0, 0)


def test_plain_paradox_escapes_the_criterion_and_points_to_gwet():
    s = gl.plain_paradox("*Tone*", 0.95, 0.25)
    assert s.startswith("\\*Tone\\*: raters give the same score 95% of the time")
    assert "alpha (0.25)" in s and "AC1/AC2" in s


def test_the_overview_glossary_defines_change_points():
    assert "**change point**" in gl.glossary_markdown("global_overview")
