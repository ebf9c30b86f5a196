"""Tests for qa_analysis.plots: each function returns a Figure with the expected artists.

Synthetic tables with the columns the library produces are built in code;
MPLBACKEND=Agg comes from tests/conftest.py. Empty input gives an
empty-state figure (hidden axes, one text artist with gid ``EMPTY_LABEL``);
a table missing a required column is a ValueError naming it.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from qa_analysis import plots, settings


def empty_text(fig: Figure) -> str | None:
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_gid() == plots.EMPTY_LABEL:
                return t.get_text()
    return None


def n_points(ax) -> int:
    return sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))


@pytest.fixture
def by_item() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "criterion": ["greeting", "empathy", "tone"],
            "name": ["Greeting", "Empathy", "Tone"],
            "alpha": [0.9, 0.2, 0.7],
            "alpha_ci_low": [0.8, 0.05, np.nan],
            "alpha_ci_high": [0.95, 0.35, np.nan],
            "gwet": [0.95, 0.3, 0.75],
            "verdict": ["reliable", "unreliable", "tentative"],
        }
    )


@pytest.fixture
def raters() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rater_id": ["R-1", "R-2", "R-3"],
            "deviation_share": [0.2, -0.15, 0.0],
            "deviation_share_ci_low": [0.1, -0.25, -0.05],
            "deviation_share_ci_high": [0.3, -0.05, 0.05],
            "verdict": ["lenient", "severe", "aligned"],
        }
    )


@pytest.fixture
def chart() -> pd.DataFrame:
    periods = pd.date_range("2026-08-03", periods=8, freq="7D")
    value = np.array([0.8, 0.82, 0.79, 0.81, 0.5, 0.8, 0.83, 0.8])
    return pd.DataFrame(
        {
            "period": periods,
            "value": value,
            "center": 0.8,
            "lcl": 0.65,
            "ucl": 0.95,
            "signal": value < 0.65,
            "baseline": periods < "2026-09-01",
        }
    )


def test_figures_do_not_touch_pyplot_or_global_style(by_item):
    import matplotlib.pyplot as plt

    before = dict(matplotlib.rcParams)
    n_before = len(plt.get_fignums())
    fig = plots.agreement_forest(by_item)
    assert isinstance(fig, Figure)
    assert len(plt.get_fignums()) == n_before  # not registered with pyplot: nothing to close
    assert dict(matplotlib.rcParams) == before


def vertical_lines(ax) -> list[float]:
    return sorted(line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1)


def test_agreement_forest_points_intervals_and_threshold_lines(by_item):
    fig = plots.agreement_forest(
        by_item, thresholds={"alpha_tentative": 0.6, "alpha_reliable": 0.75}
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Empathy", "Tone", "Greeting"]
    assert n_points(ax) == 6  # alpha points + Gwet diamonds
    assert vertical_lines(ax) == pytest.approx([0.6, 0.75])


def test_agreement_forest_default_bands_are_the_settings(by_item):
    th = settings.thresholds()
    ax = plots.agreement_forest(by_item).axes[0]
    assert vertical_lines(ax) == pytest.approx([th["alpha_tentative"], th["alpha_reliable"]])


def test_drift_default_bands_are_the_settings():
    th = settings.thresholds()
    d = pd.DataFrame(
        {
            "session_id": ["s1", "s2"],
            "session_date": pd.to_datetime(["2026-09-03", "2026-09-17"]),
            "criterion": "tone",
            "alpha": [0.6, 0.7],
            "mean_alpha": [0.6, 0.7],
        }
    )
    ax = plots.drift(d).axes[0]
    ys = sorted(line.get_ydata()[0] for line in ax.lines if len(set(line.get_ydata())) == 1)
    assert ys == pytest.approx([th["alpha_tentative"], th["alpha_reliable"]])


def test_rater_bias_default_flag_lines_are_the_settings(raters):
    flag = settings.thresholds()["bias_flag"]
    ax = plots.rater_bias(raters).axes[0]
    assert vertical_lines(ax) == pytest.approx([-flag, 0.0, flag])
    assert vertical_lines(plots.rater_bias(raters, bias_flag=0).axes[0]) == [0.0]


def test_rater_bias_orders_severe_to_lenient(raters):
    fig = plots.rater_bias(raters, bias_flag=0.1)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["R-2", "R-3", "R-1"]
    assert n_points(ax) == 3


def test_deviation_heatmap_is_rater_by_criterion():
    t = pd.DataFrame(
        {
            "rater_id": ["R-1", "R-1", "R-2", "R-2"],
            "criterion": ["a", "b", "a", "b"],
            "name": ["A", "B", "A", "B"],
            "deviation_share": [0.1, -0.2, 0.0, 0.3],
        }
    )
    fig = plots.deviation_heatmap(t)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    assert mesh.get_array().size == 4
    assert [x.get_text() for x in ax.get_xticklabels()] == ["A", "B"]
    assert sorted(x.get_text() for x in ax.texts) == ["-20", "0", "10", "30"]


def test_drift_draws_mean_and_highlighted_criterion():
    d = pd.DataFrame(
        {
            "session_id": ["s1", "s1", "s2", "s2"],
            "session_date": pd.to_datetime(["2026-09-03"] * 2 + ["2026-09-17"] * 2),
            "criterion": ["empathy", "tone"] * 2,
            "name": ["Empathy", "Tone"] * 2,
            "alpha": [0.2, 0.8, 0.3, 0.7],
            "mean_alpha": [0.5, 0.5, 0.5, 0.5],
        }
    )
    fig = plots.drift(d, highlight=["empathy"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["Empathy", "mean over criteria"]


def test_control_chart_marks_signals(chart):
    fig = plots.control_chart(chart, report_start="2026-09-01", target=0.85)
    ax = fig.axes[0]
    big = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets()) == 1]
    assert len(big) == 1 and big[0].get_offsets()[0][1] == pytest.approx(0.5)
    assert "alarm (worse)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Laney" not in ax.get_title()


def test_control_chart_draws_a_good_signal_as_an_improvement_not_an_alarm(chart):
    c = chart.assign(value=chart["value"].where(chart["value"] > 0.6, 0.99))
    c = c.assign(signal=c["value"] > c["ucl"])
    ax = plots.control_chart(c).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "improvement" in labels and "alarm (worse)" not in labels
    # a lower-is-better statistic: the same point is an alarm
    labels = [
        t.get_text() for t in plots.control_chart(c, good="down").axes[0].get_legend().get_texts()
    ]
    assert "alarm (worse)" in labels and "improvement" not in labels


def test_control_chart_names_laney_limits_in_title_and_legend(chart):
    ax = plots.control_chart(chart.assign(limits="p'")).axes[0]
    assert ax.get_title().endswith("Laney p' limits")
    assert "Laney p' limits (3 sigma, overdispersion)" in [
        t.get_text() for t in ax.get_legend().get_texts()
    ]


def test_control_chart_draws_step_levels(chart):
    seg = pd.DataFrame(
        {
            "start_label": [chart["period"].iloc[0], chart["period"].iloc[4]],
            "end_label": [chart["period"].iloc[3], chart["period"].iloc[7]],
            "level": [0.8, 0.7],
        }
    )
    ax = plots.control_chart(chart, segments=seg).axes[0]
    assert "level between steps" in [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.mark.parametrize(
    ("ticks", "labels"),
    [
        ([0.0, 0.025, 0.05, 0.075, 0.1], ["0.0%", "2.5%", "5.0%", "7.5%", "10.0%"]),
        ([0.0, 0.02, 0.04], ["0%", "2%", "4%"]),
        ([0.6, 0.7, 0.8, 0.9, 1.0], ["60%", "70%", "80%", "90%", "100%"]),
        ([0.0, 0.005, 0.01], ["0.0%", "0.5%", "1.0%"]),
    ],
)
def test_percent_ticks_use_the_decimals_the_spacing_needs(ticks, labels):
    assert plots.PercentTicks().format_ticks(ticks) == labels


def test_percent_axis_of_a_small_rate_never_repeats_a_label():
    t = pd.DataFrame(
        {"channel": ["chat", "email", "phone"], "n": [100, 100, 100], "rate": [0.01, 0.02, 0.09]}
    )
    fig = plots.breakdown(t, "channel", value="rate", ci=None)
    fig.canvas.draw()
    labels = [x.get_text() for x in fig.axes[0].get_xticklabels() if x.get_text()]
    assert len(labels) == len(set(labels)) and all(x.endswith("%") for x in labels)


def test_pareto_has_bars_and_cumulative_axis():
    r = pd.DataFrame(
        {
            "criterion": ["a", "b", "c"],
            "name": ["A", "B", "C"],
            "critical": [False, True, False],
            "fails": [6, 3, 1],
            "cum_share": [0.6, 0.9, 1.0],
        }
    )
    fig = plots.pareto(r)
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) == 3
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [0.6, 0.9, 1.0])


def test_funnel_plots_units_and_limits():
    t = pd.DataFrame(
        {
            "agent_id": ["a", "b", "c"],
            "n": [5, 10, 40],
            "rate": [0.6, 1.0, 0.8],
            "target": 0.8,
            "position": ["within", "within", "below"],
        }
    )
    t.attrs["target"] = 0.8
    curve = pd.DataFrame(
        {
            "n": [1, 10, 40],
            "lo95": [0.0, 0.5, 0.67],
            "hi95": [1.0, 1.0, 0.9],
            "lo998": [0.0, 0.3, 0.6],
            "hi998": [1.0, 1.0, 0.95],
        }
    )
    fig = plots.funnel(t, curve)
    ax = fig.axes[0]
    assert n_points(ax) == 3
    labels = [ln.get_label() for ln in ax.lines]
    assert {"95% limits", "99.8% limits", "pooled rate"} <= set(labels)


def test_breakdown_bars_carry_n_and_target():
    t = pd.DataFrame(
        {
            "market": ["DE", "FR"],
            "n": [80, 20],
            "pass_rate": [0.9, 0.7],
            "pass_rate_ci_low": [0.8, 0.5],
            "pass_rate_ci_high": [0.95, 0.85],
        }
    )
    fig = plots.breakdown(t, "market", target=0.85)
    ax = fig.axes[0]
    assert [x.get_text() for x in ax.get_yticklabels()] == ["FR (n=20)", "DE (n=80)"]
    assert len(ax.patches) == 2


def test_csat_box_one_box_per_answer():
    s = pd.DataFrame({"score": [60.0, 70, 80, 90, 95, 85], "csat": [1, 2, 3, 4, 5, np.nan]})
    fig = plots.csat_box(s)
    labels = [x.get_text() for x in fig.axes[0].get_xticklabels()]
    assert labels == ["1\n(n=1)", "2\n(n=1)", "3\n(n=1)", "4\n(n=1)", "5\n(n=1)"]


def test_region_comparison_one_panel_per_kpi_and_no_data_label():
    st = pd.DataFrame(
        {
            "region": ["EU", "NA"] * 2,
            "kpi": ["pass_rate"] * 2 + ["alpha"] * 2,
            "label": ["Pass rate"] * 2 + ["Calibration alpha"] * 2,
            "value": [0.9, np.nan, 0.7, 0.6],
            "ci_low": [0.85, np.nan, np.nan, np.nan],
            "ci_high": [0.94, np.nan, np.nan, np.nan],
            "target": [0.85] * 2 + [0.667] * 2,
            "status": ["met", None, "met", "missed"],
        }
    )
    fig = plots.region_comparison(st)
    assert len(fig.axes) == 2
    assert [a.get_title() for a in fig.axes] == ["Pass rate", "Calibration alpha"]
    assert "MISSING" in [t.get_text() for t in fig.axes[0].texts]


def test_region_comparison_draws_no_bar_for_a_missing_region():
    st = pd.DataFrame(
        {
            "region": ["EU", "NA", "MEA"],
            "kpi": "alpha",
            "label": "Calibration alpha",
            "value": [0.7, np.nan, 0.6],
            "target": 0.667,
            "status": ["met", None, "missed"],
            "missing_reason": ["", "no calibration", ""],
        }
    )
    ax = plots.region_comparison(st).axes[0]
    bars = [b for b in ax.patches if b.get_gid() != plots.MISSING_LABEL]
    assert len(bars) == 2  # no empty (zero) bar for NA, a hatched MISSING slot instead
    texts = [t for t in ax.texts if t.get_gid() == plots.MISSING_LABEL]
    assert [t.get_text() for t in texts] == ["MISSING\nno calibration"]


def test_breakdown_says_missing_for_a_group_without_value():
    t = pd.DataFrame(
        {"region": ["EU", "NA"], "alpha": [0.7, np.nan], "why": ["", "no calibration"]}
    )
    ax = plots.breakdown(t, "region", value="alpha", ci=None, percent=False, missing="why").axes[0]
    texts = [x.get_text() for x in ax.texts if x.get_gid() == plots.MISSING_LABEL]
    assert texts == ["MISSING: no calibration"]


@pytest.mark.parametrize(
    "call",
    [
        lambda e: plots.agreement_forest(e),
        lambda e: plots.rater_bias(e),
        lambda e: plots.deviation_heatmap(e),
        lambda e: plots.drift(e),
        lambda e: plots.control_chart(e),
        lambda e: plots.pareto(e),
        lambda e: plots.funnel(e),
        lambda e: plots.breakdown(e, "market"),
        lambda e: plots.csat_box(e),
        lambda e: plots.region_comparison(e),
    ],
)
def test_empty_input_gives_an_empty_state_figure(call):
    fig = call(pd.DataFrame())
    assert isinstance(fig, Figure)
    assert empty_text(fig)
    assert not fig.axes[0].axison


def test_pareto_without_fails_is_empty_state():
    r = pd.DataFrame({"criterion": ["a"], "name": ["A"], "fails": [0], "cum_share": [np.nan]})
    assert empty_text(plots.pareto(r)) == "No criterion failed this month"


def test_missing_column_names_the_column(by_item):
    with pytest.raises(
        ValueError, match=r"agreement_forest: missing column\(s\) \['alpha_ci_low'\]"
    ):
        plots.agreement_forest(by_item.drop(columns="alpha_ci_low"))


def test_figures_display_as_png_in_ipython_without_the_inline_backend(chart):
    from IPython.core.formatters import DisplayFormatter

    fig = plots.control_chart(chart)
    data, _ = DisplayFormatter().format(fig)
    png = data["image/png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # the PNG is the figure: its pixel size is the figure's size at its dpi (tight bbox)
    width = int.from_bytes(png[16:20], "big")
    assert 0.8 * fig.get_figwidth() * fig.dpi <= width <= 1.05 * fig.get_figwidth() * fig.dpi
    assert matplotlib.get_backend().lower() == "agg"  # the backend is untouched


def test_figure_repr_is_short(chart):
    assert repr(plots.control_chart(chart)) == "<ReportFigure 8x3.8 in, 1 axes>"


def test_audits_per_agent_counts_agents_per_audit_count_with_target_and_plan():
    t = pd.DataFrame(
        {"agent_id": list("abcde"), "tickets": [40, 30, 2, 50, 10], "audits": [5, 5, 2, 6, 0]}
    )
    fig = plots.audits_per_agent(t, target=5, planned=5)
    ax = fig.axes[0]
    assert [int(b.get_height()) for b in ax.patches] == [1, 0, 1, 0, 0, 2, 1]
    below, at = (
        matplotlib.colors.to_hex(ax.patches[2].get_facecolor()),
        matplotlib.colors.to_hex(ax.patches[5].get_facecolor()),
    )
    assert below != at  # under the target vs at it
    assert {"target 5 per agent", "plan 5 per agent"} <= {ln.get_label() for ln in ax.lines}


def test_audits_per_agent_without_agents_is_empty_state():
    assert empty_text(plots.audits_per_agent(pd.DataFrame(columns=["agent_id", "audits"])))
    with pytest.raises(ValueError, match=r"audits_per_agent: missing column\(s\) \['audits'\]"):
        plots.audits_per_agent(pd.DataFrame({"agent_id": ["a"]}))


def test_audits_per_agent_axis_reaches_a_target_above_every_agent():
    t = pd.DataFrame({"agent_id": list("ab"), "audits": [3, 4]})
    ax = plots.audits_per_agent(t, target=8).axes[0]
    assert len(ax.patches) == 9 and list(ax.get_xticks()) == list(range(9))


def test_labels_from_data_render_literally_not_as_mathtext():
    """A "$" in a channel or criterion name neither formats nor crashes (issue 11)."""
    t = pd.DataFrame(
        {
            "market": [r"$\frac{", "a$b$c", "plain"],
            "pass_rate": [0.8, 0.7, 0.9],
            "pass_rate_ci_low": [0.7, 0.6, 0.8],
            "pass_rate_ci_high": [0.9, 0.8, 1.0],
            "n": [10, 10, 10],
        }
    )
    fig = plots.breakdown(t, "market")
    png = fig._repr_png_()  # raised ValueError (mathtext parse error) before
    assert png[1:4] == b"PNG"
    from matplotlib.text import Text

    labels = [x for x in fig.findobj(Text) if "$" in x.get_text()]
    assert labels and not any(x.get_parse_math() for x in labels)
