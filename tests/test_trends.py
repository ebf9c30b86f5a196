"""Tests for qa_analysis.trends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from score_frames import edge_inputs as _edge_inputs
from score_frames import scores as _scores
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from qa_analysis import trends as tr
from qa_analysis.scorecard import score_evaluations

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _random_scores(seed: int, n: int = 600, groups=("EU", "NA", "APAC")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 180, n), unit="D")
    score = np.round(rng.normal(82, 9, n).clip(0, 100), 1)
    return _scores(
        dates,
        score,
        passed=score >= 80,
        critical=rng.random(n) < 0.05,
        region=rng.choice(groups, n),
        csat=np.where(rng.random(n) < 0.3, np.nan, rng.integers(1, 6, n)),
    )


# -- aggregate -----------------------------------------------------------------------------------


def test_aggregate_weeks_start_on_monday_and_gaps_appear_with_zero_n():
    # Sunday 2026-08-02 belongs to the week of Monday 2026-07-27; Monday 2026-08-03 starts a new one;
    # no evaluation in the week of 2026-08-10.
    s = _scores(
        ["2026-08-02 23:59", "2026-08-03 00:00", "2026-08-09", "2026-08-17"], [90, 70, 80, 100]
    )
    out = tr.aggregate(s)
    assert out["period"].tolist() == [
        pd.Timestamp(d) for d in ("2026-07-27", "2026-08-03", "2026-08-10", "2026-08-17")
    ]
    assert out["n"].tolist() == [1, 2, 0, 1]
    assert out["passed"].tolist() == [1, 1, 0, 1]
    assert np.isnan(out.loc[2, "mean_score"]) and np.isnan(out.loc[2, "pass_rate"])
    assert np.isnan(out.loc[2, "pass_rate_ci_low"])


def test_aggregate_monthly_periods_label_the_first_of_the_month():
    s = _scores(["2026-01-31", "2026-03-01", "2026-03-31"], [90, 70, 80])
    out = tr.aggregate(s, freq="MS")
    assert out["period"].tolist() == [
        pd.Timestamp("2026-01-01"),
        pd.Timestamp("2026-02-01"),
        pd.Timestamp("2026-03-01"),
    ]
    assert out["n"].tolist() == [1, 0, 2]


def test_aggregate_fills_each_group_only_between_its_own_first_and_last_period():
    s = _scores(["2026-08-03", "2026-08-24", "2026-08-10"], [90, 90, 90], region=["EU", "EU", "NA"])
    out = tr.aggregate(s, by="region")
    assert out.groupby("region")["n"].apply(list).to_dict() == {"EU": [1, 0, 0, 1], "NA": [1]}


def test_aggregate_statistics_match_scipy_and_statsmodels():
    s = _random_scores(1)
    out = tr.aggregate(s, by="region", freq="MS")
    for (region, period), g in s.groupby(["region", s["evaluated_at"].dt.to_period("M")]):
        row = out[(out["region"] == region) & (out["period"] == period.start_time)].iloc[0]
        x = g["score"].to_numpy()
        ci = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        np.testing.assert_allclose(
            [row.mean_score, row.mean_score_ci_low, row.mean_score_ci_high],
            [x.mean(), *ci],
            rtol=1e-9,
        )
        k = int(g["passed"].sum())
        lo, hi = proportion_confint(k, len(x), alpha=0.05, method="wilson")
        np.testing.assert_allclose(
            [row.pass_rate, row.pass_rate_ci_low, row.pass_rate_ci_high],
            [k / len(x), lo, hi],
            rtol=1e-9,
            atol=1e-12,
        )
        assert row.critical_fails == g["critical_fail"].sum()


def test_aggregate_counts_unscored_evaluations_separately():
    s = _scores(["2026-08-03"] * 3, [90, np.nan, 50])
    s["passed"] = pd.array([True, pd.NA, False], dtype="boolean")
    out = tr.aggregate(s)
    assert out[["n", "passed", "n_unscored"]].iloc[0].tolist() == [2, 1, 1]
    assert out["mean_score"].iloc[0] == 70


def test_aggregate_single_evaluation_group_has_nan_mean_interval():
    out = tr.aggregate(_scores(["2026-08-03"], [85]), by=())
    assert out["n"].tolist() == [1]
    assert np.isnan(out["mean_score_ci_low"].iloc[0]) and np.isnan(out["sd_score"].iloc[0])
    assert out["pass_rate_ci_low"].iloc[0] > 0  # Wilson is defined for n = 1


def test_aggregate_empty_input_gives_empty_frame_with_columns():
    out = tr.aggregate(_scores([], [], region=[]), by="region")
    assert len(out) == 0
    assert {"period", "region", "n", "pass_rate", "critical_rate"} <= set(out.columns)


def test_aggregate_rejects_bad_freq_and_missing_dates():
    s = _scores(["2026-08-03", None], [90, 80])
    with pytest.raises(ValueError, match=r"'evaluated_at'.*row 1\b"):
        tr.aggregate(s)
    with pytest.raises(ValueError, match="freq"):
        tr.aggregate(s.iloc[:1], freq="D")


# -- control charts --------------------------------------------------------------------------------


def test_p_chart_limits_vary_with_n_and_match_hand_computation():
    agg = pd.DataFrame(
        {
            "period": pd.date_range("2026-01-05", periods=4, freq="7D"),
            "n": [100, 100, 50, 100],
            "passed": [80, 82, 41, 50],
        }
    )
    cc = tr.control_chart(agg, kind="p", baseline=3)
    pbar = (80 + 82 + 41) / 250
    sig = np.sqrt(pbar * (1 - pbar) / np.array([100, 100, 50, 100]))
    np.testing.assert_allclose(cc["center"], pbar)
    np.testing.assert_allclose(cc["lcl"], pbar - 3 * sig)
    np.testing.assert_allclose(cc["ucl"], np.minimum(pbar + 3 * sig, 1))
    assert cc["baseline"].tolist() == [True, True, True, False]
    assert cc["rule1"].tolist() == [False, False, False, True]


def test_p_chart_limits_are_clipped_to_zero_and_one():
    agg = pd.DataFrame(
        {
            "period": pd.date_range("2026-01-05", periods=3, freq="7D"),
            "n": [5, 5, 5],
            "passed": [5, 4, 5],
        }
    )
    cc = tr.control_chart(agg)
    assert (cc["ucl"] == 1).all() and (cc["lcl"] >= 0).all()


def test_p_chart_baseline_before_a_date():
    agg = pd.DataFrame(
        {
            "period": pd.date_range("2026-01-05", periods=4, freq="7D"),
            "n": [100] * 4,
            "passed": [80, 90, 10, 10],
        }
    )
    cc = tr.control_chart(agg, baseline="2026-01-19")
    assert cc["center"].iloc[0] == pytest.approx(0.85)
    assert cc["baseline"].tolist() == [True, True, False, False]


def test_xbar_chart_uses_pooled_within_period_sd():
    agg = pd.DataFrame(
        {
            "period": pd.date_range("2026-01-05", periods=3, freq="7D"),
            "n": [10, 20, 5],
            "mean_score": [80.0, 85.0, 70.0],
            "sd_score": [6.0, 8.0, 4.0],
        }
    )
    cc = tr.control_chart(agg, kind="xbar")
    center = (10 * 80 + 20 * 85 + 5 * 70) / 35
    sp = np.sqrt((9 * 36 + 19 * 64 + 4 * 16) / 32)
    np.testing.assert_allclose(cc["center"], center)
    np.testing.assert_allclose(cc["ucl"], center + 3 * sp / np.sqrt([10, 20, 5]))


def test_imr_chart_uses_mean_moving_range_over_d2():
    agg = pd.DataFrame(
        {
            "period": pd.date_range("2026-01-05", periods=5, freq="7D"),
            "n": [3, 3, 0, 3, 3],
            "mean_score": [80.0, 84.0, np.nan, 82.0, 83.0],
        }
    )
    cc = tr.control_chart(agg, kind="imr")
    # moving ranges over plotted points, skipping the empty period: 4, 2, 1
    sigma = np.mean([4, 2, 1]) / 1.128
    center = np.mean([80, 84, 82, 83])
    assert cc["ucl"].iloc[0] == pytest.approx(center + 3 * sigma)
    assert np.isnan(cc["moving_range"].iloc[2]) and cc["moving_range"].iloc[3] == 2


# Western Electric rules on a p-chart whose centre and sigma are known exactly:
# baseline of 8 periods alternating z = +/-0.5 around p = 0.5 with n = 10,000 (sigma = 0.005).
def _we_chart(pattern_z, n_zero_at=()):
    base = [0.5, -0.5] * 4
    z = np.array(base + list(pattern_z), dtype=float)
    n = np.full(len(z), 10_000)
    passed = np.round(5000 + z * 50).astype(int)
    for i in n_zero_at:
        n[len(base) + i] = 0
        passed[len(base) + i] = 0
    agg = pd.DataFrame(
        {"period": pd.date_range("2026-01-05", periods=len(z), freq="7D"), "n": n, "passed": passed}
    )
    cc = tr.control_chart(agg, kind="p", baseline=len(base))
    assert cc["center"].iloc[0] == pytest.approx(0.5)
    return cc.iloc[len(base) :].reset_index(drop=True)


@pytest.mark.parametrize(
    ("rule", "fires", "silent"),
    [
        ("rule1", [0, 3.5], [2.9, -2.9, 0]),
        ("rule2", [2.5, 0.5, 2.5], [2.5, 0.5, 0.5, 2.5, -2.5]),
        ("rule3", [1.5, 1.5, 0.5, 1.5, 1.5], [1.5, 1.5, 0.5, 0.5, 1.5, 1.5, -1.5]),
        ("rule4", [0.5] * 8, [0.5] * 7 + [-0.5] + [0.5] * 7),
    ],
)
def test_western_electric_rule_fires_on_its_pattern_and_not_otherwise(rule, fires, silent):
    hit = _we_chart(fires)
    assert hit[rule].iloc[-1], hit
    assert hit[rule].sum() == 1
    assert not _we_chart(silent)[rule].any()


def test_empty_periods_have_no_point_and_no_signal_and_runs_skip_them():
    cc = _we_chart([0.5] * 4 + [0] + [0.5] * 4, n_zero_at=(4,))
    assert np.isnan(cc.loc[4, "value"]) and not cc.loc[4, "signal"]
    assert cc["rule4"].tolist() == [False] * 8 + [True]


def test_control_chart_by_group_charts_each_group_separately():
    agg = pd.DataFrame(
        {
            "region": ["EU"] * 3 + ["NA"] * 3,
            "period": list(pd.date_range("2026-01-05", periods=3, freq="7D")) * 2,
            "n": [100] * 6,
            "passed": [90, 90, 90, 50, 50, 50],
        }
    )
    cc = tr.control_chart(agg, by="region")
    assert cc.groupby("region")["center"].first().to_dict() == {"EU": 0.9, "NA": 0.5}


def test_control_chart_rejects_passed_above_n():
    agg = pd.DataFrame(
        {
            "period": pd.date_range("2026-01-05", periods=2, freq="7D"),
            "n": [10, 10],
            "passed": [11, 5],
        }
    )
    with pytest.raises(ValueError, match=r"'passed'.*row 0\b"):
        tr.control_chart(agg)


# -- Mann-Kendall ------------------------------------------------------------------------------------


def test_mann_kendall_worked_example_by_hand():
    # Little, D. "A Mann-Kendall Example ('By Hand')", College of the Holy Cross,
    # https://mathcs.holycross.edu/~little/Montserrat/MannKendallByHand.txt:
    # S = 54, one tied pair, V = (14)(13)(33)/18 - (2)(1)(9)/18, Z = (S-1)/sqrt(V) = 2.9058,
    # one-sided p about .0018.
    x = [12.9, 14.8, 13.2, 15.7, 13.8, 15.6, 12.9, 11.0, 17.3, 15.9, 19.0, 18.3, 20.1, 21.7]
    t = tr.mann_kendall(x)
    assert t.s == 54
    assert t.var_s == pytest.approx((14 * 13 * 33 - 2 * 1 * 9) / 18)
    assert t.z == pytest.approx(2.9058, abs=5e-5)
    assert t.p_value / 2 == pytest.approx(0.0018, abs=5e-5)
    assert t.n == 14 and t.tau == pytest.approx(54 / 91)


def test_mann_kendall_perfect_trend_matches_published_reference():
    # MannKendall.jl test suite (mmhs013/MannKendall.jl, test/runtests.jl), series 1:100:
    # s = 4950, var_s = 112750, z = 14.73869998208331, tau = 1.
    t = tr.mann_kendall(np.arange(1, 101))
    assert (t.s, t.var_s, t.tau) == (4950, 112750, 1.0)
    assert t.z == pytest.approx(14.73869998208331, rel=1e-12)
    assert t.slope == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mann_kendall_matches_direct_computation_and_theilslopes(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(0, 1, 40) + 0.03 * np.arange(40), 1)  # rounding makes ties
    x[[5, 17]] = np.nan
    t = tr.mann_kendall(x)
    pos = np.flatnonzero(~np.isnan(x))
    y = x[pos]
    n = len(y)
    s = sum(np.sign(y[j] - y[i]) for i in range(n) for j in range(i + 1, n))
    ties = pd.Series(y).value_counts().to_numpy()
    var = (n * (n - 1) * (2 * n + 5) - sum(k * (k - 1) * (2 * k + 5) for k in ties)) / 18
    z = (s - np.sign(s)) / np.sqrt(var) if s != 0 else 0.0
    assert (t.s, t.n, t.n_missing) == (s, n, 2)
    np.testing.assert_allclose(
        [t.var_s, t.z, t.p_value], [var, z, 2 * stats.norm.sf(abs(z))], rtol=1e-12
    )
    ref = stats.theilslopes(y, pos, alpha=0.95)
    np.testing.assert_allclose(
        [t.slope, t.slope_ci_low, t.slope_ci_high],
        [ref.slope, ref.low_slope, ref.high_slope],
        rtol=1e-12,
    )
    assert "2 missing" in t.note


def test_mann_kendall_short_or_constant_series_is_defined():
    short = tr.mann_kendall([1.0, np.nan, 2.0])
    assert np.isnan(short.z) and "at least 3" in short.note
    flat = tr.mann_kendall([3.0] * 6)
    assert (flat.s, flat.z, flat.p_value, flat.slope) == (0, 0.0, 1.0, 0.0)


# -- compare_periods ---------------------------------------------------------------------------------


A = ("2026-01-01", "2026-03-31")
B = ("2026-04-01", "2026-06-30")


def test_compare_pass_rates_match_statsmodels():
    s = _random_scores(3, n=900)
    out = tr.compare_periods(s, period_a=A, period_b=B, by="region").set_index("region")
    month = s["evaluated_at"].dt.month
    for region, row in out.iterrows():
        g = s[s["region"] == region]
        ka, na_ = int(g.loc[month[g.index] <= 3, "passed"].sum()), int((month[g.index] <= 3).sum())
        kb, nb = int(g.loc[month[g.index] > 3, "passed"].sum()), int((month[g.index] > 3).sum())
        zstat, p = proportions_ztest([kb, ka], [nb, na_])
        lo, hi = confint_proportions_2indep(kb, nb, ka, na_, method="newcomb", compare="diff")
        np.testing.assert_allclose(
            [row.statistic, row.p_value, row.change_ci_low, row.change_ci_high],
            [zstat, p, lo, hi],
            rtol=1e-9,
        )
        assert (row.n_a, row.n_b) == (na_, nb)
    np.testing.assert_allclose(
        out["p_adjusted"], multipletests(out["p_value"], method="holm")[1], rtol=1e-12
    )


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_compare_pass_rate_interval_is_newcombe_on_random_counts(seed):
    rng = np.random.default_rng(seed)
    n_a, n_b = rng.integers(1, 60, 2)
    k_a, k_b = rng.integers(0, n_a + 1), rng.integers(0, n_b + 1)
    s = _scores(
        ["2026-02-01"] * n_a + ["2026-05-01"] * n_b,
        np.zeros(n_a + n_b),
        passed=[True] * k_a + [False] * (n_a - k_a) + [True] * k_b + [False] * (n_b - k_b),
    )
    for conf in (0.9, 0.95):
        out = tr.compare_periods(s, period_a=A, period_b=B, confidence=conf).iloc[0]
        ref = confint_proportions_2indep(
            k_b, n_b, k_a, n_a, method="newcomb", compare="diff", alpha=1 - conf
        )
        np.testing.assert_allclose(
            [out.change_ci_low, out.change_ci_high], ref, rtol=1e-9, atol=1e-12
        )


# Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Statistics in Medicine 17, 873-890, Table II, method 10
# (score interval from Wilson limits, no continuity correction), examples (a)-(f).
@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "lo", "hi"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0),
    ],
)
def test_compare_pass_rate_interval_matches_newcombe_table_ii(k1, n1, k2, n2, lo, hi):
    # period b plays Newcombe's first sample: change = p_b - p_a
    s = _scores(
        ["2026-02-01"] * n2 + ["2026-05-01"] * n1,
        np.zeros(n1 + n2),
        passed=[True] * k2 + [False] * (n2 - k2) + [True] * k1 + [False] * (n1 - k1),
    )
    out = tr.compare_periods(s, period_a=A, period_b=B).iloc[0]
    assert out.change == pytest.approx(k1 / n1 - k2 / n2)
    assert (round(out.change_ci_low, 4), round(out.change_ci_high, 4)) == (lo, hi)


def test_compare_pass_rate_interval_does_not_collapse_at_100_percent():
    """5 of 5 in both periods: the Wald interval was [0, 0]; Newcombe's is about +-0.434."""
    s = _scores(["2026-02-01"] * 5 + ["2026-05-01"] * 5, np.zeros(10), passed=[True] * 10)
    out = tr.compare_periods(s, period_a=A, period_b=B).iloc[0]
    assert out.change == 0
    assert out.change_ci_low == pytest.approx(-0.43448246478317476, rel=1e-9)
    assert out.change_ci_high == pytest.approx(0.43448246478317476, rel=1e-9)
    assert np.isnan(out.p_value) and out.note == "no variation in either period"


def test_compare_scores_match_scipy_welch_t():
    s = _random_scores(4, n=900)
    out = tr.compare_periods(s, period_a=A, period_b=B, by="region", metric="score")
    month = s["evaluated_at"].dt.month
    for _, row in out.iterrows():
        g = s[s["region"] == row["region"]]
        a = g.loc[month[g.index] <= 3, "score"].to_numpy()
        b = g.loc[month[g.index] > 3, "score"].to_numpy()
        ref = stats.ttest_ind(b, a, equal_var=False)
        ci = ref.confidence_interval(0.95)
        np.testing.assert_allclose(
            [row.change, row.statistic, row.p_value, row.change_ci_low, row.change_ci_high],
            [b.mean() - a.mean(), ref.statistic, ref.pvalue, ci.low, ci.high],
            rtol=1e-9,
        )
        assert row.test == "Welch t"


def test_compare_periods_end_date_is_inclusive_for_the_whole_day():
    s = _scores(["2026-03-31 23:30", "2026-04-01 00:10"], [90, 60])
    out = tr.compare_periods(s, period_a=A, period_b=B)
    assert (out["n_a"].iloc[0], out["n_b"].iloc[0]) == (1, 1)


def test_compare_periods_small_and_empty_groups_give_nan_with_note():
    s = _scores(
        ["2026-02-01", "2026-05-01", "2026-05-02", "2026-02-01"],
        [90, 70, 75, 80],
        region=["EU", "EU", "EU", "NA"],
    )
    out = tr.compare_periods(s, period_a=A, period_b=B, by="region", metric="score").set_index(
        "region"
    )
    assert np.isnan(out.loc["EU", "p_value"]) and "fewer than 2" in out.loc["EU", "note"]
    assert out.loc["NA", "n_b"] == 0 and "no evaluations" in out.loc["NA", "note"]
    assert np.isnan(out["p_adjusted"]).all()
    rate = tr.compare_periods(s, period_a=A, period_b=B, by="region").set_index("region")
    assert np.isnan(rate.loc["NA", "value_b"])


def test_holm_matches_statsmodels_and_skips_nan():
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.5])
    ref = multipletests(p[~np.isnan(p)], method="holm")[1]
    out = tr.holm(p)
    np.testing.assert_allclose(out[~np.isnan(p)], ref, rtol=1e-12)
    assert np.isnan(out[1])


# -- demo data -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_scores():
    demo = pytest.importorskip("qa_analysis.demo")
    d = demo.generate(seed=20261101, small=True)
    return d, score_evaluations(d.evaluations, d.scorecard)


def test_demo_latam_drop_is_signalled_within_two_weeks(demo_scores):
    d, s = demo_scores
    start = pd.Timestamp(d.planted["drop_start"])
    # one rubric phase, as the reports chart it: the baseline starts at the rubric change
    s = s.loc[pd.to_datetime(s["evaluated_at"]) >= pd.Timestamp(d.planted["rubric_change"])]
    agg = tr.aggregate(s.loc[s["region"] == d.planted["drop_region"]], freq="W")
    cc = tr.control_chart(agg, kind="p", baseline=start)
    after = cc.loc[cc["period"] >= start]
    first = after.loc[after["signal"], "period"].min()
    assert first - start <= pd.Timedelta(days=14)

    # the signal is LATAM's: it stays below 3 sigma week after week, while in each other
    # region, charted the same way, a week that low is at most an isolated chance event
    def low_weeks(chart: pd.DataFrame) -> pd.Series:
        first = chart.loc[
            (chart["period"] >= start) & (chart["period"] < start + pd.Timedelta(days=28))
        ]
        low = first["rule1"] & (first["value"] < first["center"])
        region = first["region"] if "region" in first else pd.Series("one", index=first.index)
        return low.groupby(region).sum()

    assert int(low_weeks(cc).sum()) >= 2
    others = tr.control_chart(
        tr.aggregate(s.loc[s["region"] != "LATAM"], by="region"), by="region", baseline=start
    )
    assert len(low_weeks(others)) == 4 and (low_weeks(others) <= 1).all()


def test_demo_phone_ranks_first_on_critical_rate(demo_scores):
    d, s = demo_scores
    agg = tr.aggregate(s, by="channel", freq="MS")
    rate = agg.groupby("channel")[["critical_fails", "n"]].sum()
    ranked = (rate["critical_fails"] / rate["n"]).sort_values(ascending=False)
    assert ranked.index[0] == d.planted["critical_channel"]


# -- bad input: defined output, no crash, no RuntimeWarning (warnings are errors here) -------------


@pytest.mark.parametrize("case", ["empty", "one evaluation", "all N/A"])
def test_every_function_gives_defined_output_on_degenerate_input(case):
    s = _edge_inputs()[case]
    agg = tr.aggregate(s, by="region")
    for kind in ("p", "xbar", "imr"):
        cc = tr.control_chart(agg, kind=kind, by="region")
        assert not cc["signal"].any()
    t = tr.mann_kendall(agg["pass_rate"])
    assert np.isnan(t.z) and t.note
    changes = tr.compare_periods(
        s,
        period_a=("2026-01-01", "2026-01-31"),
        period_b=("2026-02-01", "2026-02-28"),
        metric="score",
    )
    assert changes["p_value"].isna().all()


def test_empty_period_in_compare_periods_is_reported_not_raised():
    s = _scores(["2026-01-05", "2026-01-06"], [90.0, 70.0])
    out = tr.compare_periods(
        s, period_a=("2026-01-01", "2026-01-31"), period_b=("2026-02-01", "2026-02-28")
    )
    assert out["n_b"].iloc[0] == 0 and np.isnan(out["change"].iloc[0])
    assert out["note"].iloc[0] == "no evaluations in a period"


# -- vocabulary ------------------------------------------------------------------------------------


def test_interval_columns_are_named_after_their_statistic():
    s = _random_scores(5, n=50)
    agg = tr.aggregate(s, freq="MS")
    for stat in ("mean_score", "pass_rate"):
        assert {f"{stat}_ci_low", f"{stat}_ci_high"} <= set(agg.columns)
    cmpd = tr.compare_periods(
        s, period_a=("2026-01-01", "2026-03-31"), period_b=("2026-04-01", "2026-06-30")
    )
    assert {"change_ci_low", "change_ci_high"} <= set(cmpd.columns)
    old = {"ci_low", "ci_high", "pass_ci_low", "score_ci_low"}
    assert not old & (set(agg.columns) | set(cmpd.columns))
    t = tr.mann_kendall(agg["pass_rate"])
    assert t.slope_ci_low <= t.slope <= t.slope_ci_high


def test_wilson_confidence_is_keyword_only():
    with pytest.raises(TypeError):
        tr.wilson_interval(8, 10, 0.9)  # type: ignore[misc]
    lo, _ = tr.wilson_interval(8, 10, confidence=0.9)
    assert float(lo) > tr.wilson_interval(8, 10)[0]


def test_trend_has_a_short_repr():
    t = tr.mann_kendall([1.0, 2.0, 3.0, 5.0, 4.0, 6.0])
    assert repr(t).startswith("Trend(n=6, tau=") and len(repr(t)) < 100


@pytest.mark.parametrize(
    "call",
    [
        lambda x: tr.aggregate(x),
        lambda x: tr.control_chart(x),
        lambda x: tr.compare_periods(
            x, period_a=("2026-01-01", "2026-01-31"), period_b=("2026-02-01", "2026-02-28")
        ),
    ],
)
def test_non_dataframe_input_is_a_type_error(call):
    with pytest.raises(TypeError, match="DataFrame"):
        call([{"score": 1.0}])


def test_missing_column_is_a_data_error():
    from qa_analysis.errors import DataError

    with pytest.raises(DataError, match="missing column"):
        tr.aggregate(pd.DataFrame({"score": [1.0]}))


# -- impossible inputs to the public helpers ------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), [(5, 3), (-1, 10), (np.inf, 10), ([1, 4], [2, 3]), (3, -1)])
def test_wilson_interval_rejects_impossible_counts(x, n):
    with pytest.raises(ValueError, match="0 <= successes <= n"):
        tr.wilson_interval(x, n)


@pytest.mark.parametrize("p", [[0.01, 1.5], [-0.2, 0.3], [np.inf]])
def test_holm_rejects_p_values_outside_0_1(p):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        tr.holm(p)


def test_compare_periods_refuses_a_number_as_a_date():
    s = _scores(["2026-01-05"], [90.0])
    with pytest.raises(ValueError, match="period_a"):
        tr.compare_periods(s, period_a=(20260101, 20260131), period_b=("2026-02-01", "2026-02-28"))


def test_zoned_dates_are_bucketed_in_utc_like_the_loaders_default():
    # 1 Nov 08:00 in Sydney is 31 Oct 21:00 UTC: October
    s = _scores(["2026-10-10", "2026-10-11"], [90.0, 70.0])
    s["evaluated_at"] = pd.to_datetime(
        ["2026-10-10T12:00:00+00:00", "2026-11-01T08:00:00+11:00"], utc=True
    ).tz_convert("Australia/Sydney")
    agg = tr.aggregate(s, freq="MS")
    assert agg["period"].tolist() == [pd.Timestamp("2026-10-01")] and agg["n"].iloc[0] == 2


def test_a_group_column_named_like_an_internal_one_does_not_clash():
    s = _random_scores(2, n=200).rename(columns={"region": "_b"})
    out = tr.compare_periods(
        s, period_a=("2026-01-01", "2026-03-31"), period_b=("2026-04-01", "2026-06-30"), by="_b"
    )
    ref = tr.compare_periods(
        s.rename(columns={"_b": "region"}),
        period_a=("2026-01-01", "2026-03-31"),
        period_b=("2026-04-01", "2026-06-30"),
        by="region",
    )
    assert out["_b"].tolist() == ref["region"].tolist()
    np.testing.assert_allclose(out["change"], ref["change"])
    assert (out["n_a"] > 0).all() and (out["n_b"] > 0).all()
