"""Tests for qa_analysis.compare: funnel, shrinkage, targets, the CSAT link."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from score_frames import edge_inputs as _edge_inputs
from score_frames import scores as _scores

from qa_analysis import compare as cmp
from qa_analysis.errors import DataError
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
        region=rng.choice(groups, n),
        csat=np.where(rng.random(n) < 0.3, np.nan, rng.integers(1, 6, n)),
    )


# -- funnel ----------------------------------------------------------------------------------------


def test_funnel_limits_follow_spiegelhalter_interpolation():
    # Spiegelhalter (2005), appendix A.1.1, evaluated directly for one n.
    p, n, prob = 0.8, 60, 0.975
    r = 0
    while stats.binom.cdf(r, n, p) < prob:
        r += 1
    alpha = (stats.binom.cdf(r, n, p) - prob) / (
        stats.binom.cdf(r, n, p) - stats.binom.cdf(r - 1, n, p)
    )
    lim = cmp.funnel_limits(p, [n])
    assert lim["hi95"].iloc[0] == pytest.approx((r - alpha) / n, rel=1e-12)


def test_funnel_limits_narrow_with_n_and_approach_the_normal_limits():
    lim = cmp.funnel_limits(0.8, [10, 100, 1000, 100_000])
    assert lim["hi998"].is_monotonic_decreasing and lim["lo998"].is_monotonic_increasing
    sd = np.sqrt(0.8 * 0.2 / 100_000)
    assert lim["hi95"].iloc[-1] == pytest.approx(0.8 + 1.96 * sd, abs=2e-4)
    assert lim["lo998"].iloc[-1] == pytest.approx(0.8 - 3.09 * sd, abs=2e-4)


def test_funnel_flags_units_outside_the_limits():
    s = pd.DataFrame(
        {
            "agent_id": ["a"] * 40 + ["b"] * 40 + ["c"] * 400,
            "passed": [True] * 36
            + [False] * 4
            + [True] * 12
            + [False] * 28
            + [True] * 320
            + [False] * 80,
        }
    )
    out = cmp.funnel(s).table.set_index("agent_id")
    assert out.loc["b", "outlier"] and out.loc["b", "position"] == "below"
    assert not out.loc["c", "outlier"]
    assert out["target"].iloc[0] == pytest.approx(368 / 480)


# -- shrink ---------------------------------------------------------------------------------------


def _agents(rates, ns, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i, (p, n) in enumerate(zip(rates, ns, strict=True)):
        k = round(p * n)
        v = np.r_[np.ones(k, bool), np.zeros(n - k, bool)]
        rng.shuffle(v)
        rows.append(pd.DataFrame({"agent_id": f"A{i:02d}", "passed": v}))
    return pd.concat(rows, ignore_index=True)


def test_shrunken_rates_lie_between_raw_rate_and_prior_mean():
    s = _agents([0.6, 0.7, 0.8, 0.9, 1.0, 0.5, 0.85, 0.75], [10, 40, 20, 50, 4, 30, 20, 60])
    res = cmp.shrink(s)
    out = res.table
    mu = res.prior_mean
    lo = np.minimum(out["raw_rate"], mu) - 1e-12
    hi = np.maximum(out["raw_rate"], mu) + 1e-12
    assert ((out["shrunk_rate"] >= lo) & (out["shrunk_rate"] <= hi)).all()
    assert (
        (out["shrunk_rate_ci_low"] <= out["shrunk_rate"])
        & (out["shrunk_rate"] <= out["shrunk_rate_ci_high"])
    ).all()


def test_shrinkage_vanishes_as_n_grows():
    gaps = []
    for n in (10, 100, 1000, 10_000):
        s = _agents([0.6, 0.9, 0.75, 0.8], [n, n, 200, 200])
        res = cmp.shrink(s)
        out = res.table.set_index("agent_id")
        gaps.append(abs(out.loc["A01", "shrunk_rate"] - 0.9))
    assert all(a > b for a, b in itertools.pairwise(gaps))
    assert gaps[-1] < 2e-3


def test_rank_is_fair_to_agents_with_few_audits():
    # A00 passed 3 of 3; A01 passed 93 of 100: raw ranking puts A00 first, shrinkage does not.
    s = _agents([1.0, 0.93, 0.7, 0.75, 0.8, 0.65], [3, 100, 100, 100, 100, 100])
    res = cmp.shrink(s)
    out = res.table.set_index("agent_id")
    assert out.loc["A01", "rank"] == 1 and out.loc["A00", "rank"] > 1


def test_shrink_with_no_between_agent_variation_pools_everyone_and_does_not_rank():
    s = _agents([0.8] * 6, [50] * 6)
    res = cmp.shrink(s)
    out = res.table
    # identical records get identical posteriors, near the pooled rate (the uniform prior on the
    # population mean pulls it slightly toward 1/2)
    np.testing.assert_allclose(out["shrunk_rate"], out["shrunk_rate"].iloc[0], rtol=1e-12)
    np.testing.assert_allclose(out["shrunk_rate"], 0.8, atol=0.01)
    assert "not distinguishable from chance" in res.note
    assert res.mle_concentration == np.inf and res.overdispersion_p == 1.0
    assert not out["distinguishable"].any() and out["rank"].isna().all()


def _null_population(seed=1):
    """42 agents with 2-8 audits each at one common pass rate (like a demo region); A00 has 3."""
    rng = np.random.default_rng(seed)
    ns = rng.integers(2, 9, 42)
    ns[0] = 3
    return pd.concat(
        [
            pd.DataFrame({"agent_id": f"A{i:02d}", "passed": rng.random(k) < 0.776})
            for i, k in enumerate(ns)
        ],
        ignore_index=True,
    )


def test_shrink_gives_few_audits_an_honest_interval_when_agents_do_not_differ():
    """Plugging in the marginal MLE (M = inf here) gave every agent the pooled rate with an
    interval about 0.001 wide; integrating over the population's spread keeps it wide."""
    s = _null_population()
    res = cmp.shrink(s)
    out = res.table.set_index("agent_id")
    assert res.mle_concentration == np.inf
    three = out.loc["A00"]
    assert three["n"] == 3 and three["shrunk_rate_ci_high"] - three["shrunk_rate_ci_low"] > 0.15
    # no agent's interval is narrower than the pooled rate's own (Jeffreys) interval
    x, n = out["events"].sum(), out["n"].sum()
    pooled_width = np.diff(stats.beta.ppf([0.025, 0.975], x + 0.5, n - x + 0.5))[0]
    assert ((out["shrunk_rate_ci_high"] - out["shrunk_rate_ci_low"]) > pooled_width).all()
    assert (
        (out["shrunk_rate_ci_low"] <= out["shrunk_rate"])
        & (out["shrunk_rate"] <= out["shrunk_rate_ci_high"])
    ).all()


def test_shrink_ranks_are_missing_but_rows_sorted_when_agents_are_indistinguishable():
    res = cmp.shrink(_null_population())
    out = res.table
    assert not res.distinguishable and res.overdispersion_p >= 0.05
    assert out["rank"].dtype == "Int64" and out["rank"].isna().all()
    assert not out["distinguishable"].any()
    assert out["shrunk_rate"].is_monotonic_decreasing
    res_worst_first = cmp.shrink(_null_population(), higher_is_better=False)
    worst_first = res_worst_first.table
    assert worst_first["shrunk_rate"].is_monotonic_increasing


def test_shrink_ranks_when_agents_clearly_differ():
    s = _agents([0.95, 0.9, 0.6, 0.5, 0.8, 0.7], [80] * 6)
    res = cmp.shrink(s)
    out = res.table
    assert res.distinguishable and res.overdispersion_p < 0.05
    assert out["rank"].tolist() == [1, 2, 3, 4, 5, 6] and out["distinguishable"].all()
    assert out["agent_id"].tolist() == ["A00", "A01", "A04", "A05", "A02", "A03"]


def test_shrink_overdispersion_test_matches_scipy_betabinom_fit():
    """LR = 2 (max beta-binomial log-likelihood - binomial log-likelihood at the pooled rate),
    with the beta-binomial maximised independently (scipy.stats.betabinom, Nelder-Mead);
    p = P(chi2_1 > LR) / 2 (Self & Liang 1987, parameter on the boundary)."""
    from scipy import optimize

    s = _agents([0.6, 0.7, 0.8, 0.9, 1.0, 0.5, 0.85, 0.75], [10, 40, 20, 50, 4, 30, 20, 60])
    res = cmp.shrink(s)
    out = res.table
    x, n = out["events"].to_numpy(), out["n"].to_numpy()

    def nll(t):
        a, b = np.exp(t)
        return -stats.betabinom.logpmf(x, n, a, b).sum()

    opt = optimize.minimize(
        nll,
        [np.log(10.0), np.log(3.0)],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000},
    )
    ll0 = stats.binom.logpmf(x, n, x.sum() / n.sum()).sum()
    lr = 2 * (-opt.fun - ll0)
    assert res.overdispersion_lr == pytest.approx(lr, rel=1e-6)
    assert res.overdispersion_p == pytest.approx(stats.chi2.sf(lr, 1) / 2, rel=1e-5)
    a, b = np.exp(opt.x)
    assert res.mle_mean == pytest.approx(a / (a + b), rel=1e-4)


def test_shrink_posterior_matches_brute_force_integration():
    """The zoomed 41 x 41 grid against a fixed 201 x 201 grid over the whole hyperparameter box
    (BDA3 section 5.3 model, p(a, b) ~ (a + b)^(-5/2)), posterior mean and 95% quantiles."""
    from scipy import special

    s = _agents([0.55, 0.9, 0.75, 0.8, 1.0, 0.7], [12, 30, 8, 25, 5, 20], seed=4)
    res = cmp.shrink(s)
    out = res.table.sort_values("agent_id")
    x = out["events"].to_numpy(float)
    n = out["n"].to_numpy(float)
    t, lm = np.meshgrid(np.linspace(-5, 7, 201), np.linspace(np.log(1e-4), np.log(1e8), 201))
    mu, m = special.expit(t).ravel(), np.exp(lm).ravel()
    a, b = mu * m, (1 - mu) * m
    lp = (special.betaln(x + a[:, None], n - x + b[:, None]) - special.betaln(a, b)[:, None]).sum(1)
    lp += np.log(mu * (1 - mu)) - 0.5 * lm.ravel()
    w = np.exp(lp - lp.max())
    keep = w > 1e-14 * w.sum()  # drop points without weight, to keep the bisection quick
    w, a, b = w[keep] / w[keep].sum(), a[keep], b[keep]
    aa, bb = a + x[:, None], b + (n - x)[:, None]
    np.testing.assert_allclose(out["shrunk_rate"], (aa / (aa + bb)) @ w, atol=1e-5)
    q = np.array([[0.025], [0.975]])
    lo, hi = np.zeros((2, len(x))), np.ones((2, len(x)))
    for _ in range(30):
        mid = (lo + hi) / 2
        below = special.betainc(aa[None], bb[None], mid[..., None]) @ w < q
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    np.testing.assert_allclose(out["shrunk_rate_ci_low"], lo[0], atol=2e-3)
    np.testing.assert_allclose(out["shrunk_rate_ci_high"], hi[1], atol=2e-3)


def test_shrink_one_audit_each_is_not_identified_and_returns_jeffreys():
    s = pd.DataFrame({"agent_id": list("abcdef"), "passed": [True, True, False, True, False, True]})
    res = cmp.shrink(s)
    out = res.table.set_index("agent_id")
    assert "both outcomes" in res.note and out["rank"].isna().all()
    assert out.loc["a", "shrunk_rate_ci_low"] == pytest.approx(stats.beta.ppf(0.025, 1.5, 0.5))


def test_shrink_single_agent_or_boundary_rates_returns_raw_with_note():
    res_one = cmp.shrink(_agents([0.7], [10]))
    one = res_one.table
    assert one["shrunk_rate"].iloc[0] == pytest.approx(0.7) and "fewer than 2" in res_one.note
    res_allpass = cmp.shrink(_agents([1.0, 1.0], [5, 8]))
    allpass = res_allpass.table
    assert (allpass["shrunk_rate"] == 1).all() and "boundary" in res_allpass.note
    assert allpass["rank"].isna().all() and allpass["shrunk_rate_ci_low"].iloc[0] < 1
    assert (
        allpass["shrunk_rate_ci_high"] == 1
    ).all()  # Jeffreys upper limit is 1 at x = n (Brown et al. 2001)


@pytest.mark.parametrize("seed", range(6))
def test_shrink_extreme_populations_give_finite_intervals_around_the_estimate(seed):
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 10)
    ns = rng.integers(1, (3, 30, 400)[seed % 3], k)
    p = rng.choice([0.0, 0.001, 0.5, 0.98, 1.0], k)
    s = pd.DataFrame(
        {"agent_id": np.repeat(np.arange(k), ns), "passed": rng.random(ns.sum()) < np.repeat(p, ns)}
    )
    res = cmp.shrink(s, confidence=(0.8, 0.95, 0.99)[seed % 3])
    out = res.table
    assert out[["shrunk_rate", "shrunk_rate_ci_low", "shrunk_rate_ci_high"]].notna().all().all()
    assert (
        (out["shrunk_rate_ci_low"] <= out["shrunk_rate"] + 1e-9)
        & (out["shrunk_rate"] <= out["shrunk_rate_ci_high"] + 1e-9)
    ).all()


# -- target_status -----------------------------------------------------------------------------------


def test_target_status_met_at_risk_missed_and_clear():
    k = pd.DataFrame(
        {
            "kpi": ["pass_rate", "score", "critical_rate", "csat", "coverage"],
            "value": [0.90, 81.0, 0.04, 4.1, 0.5],
            "value_ci_low": [0.87, 78.0, 0.03, np.nan, 0.4],
            "value_ci_high": [0.93, 84.0, 0.05, np.nan, 0.6],
        }
    )
    t = {
        "pass_rate": {"target": 0.85, "direction": "min", "at_risk_margin": 0.02},
        "score": {"target": 80, "direction": "min", "at_risk_margin": 2},
        "critical_rate": {"target": 0.02, "direction": "max"},
        "csat": {"target": 4.0},
    }
    out = cmp.target_status(k, t).set_index("kpi")
    assert out["status"].tolist()[:4] == ["met", "at risk", "missed", "met"]
    np.testing.assert_allclose(out["gap"].iloc[:4], [0.05, 1.0, -0.02, 0.1], atol=1e-12)
    assert out["clear"].tolist()[:3] == [True, False, True]
    assert out.loc["csat", "clear"] is pd.NA and out.loc["csat", "note"] == "no interval"
    assert pd.isna(out.loc["coverage", "status"]) and out.loc["coverage", "note"] == "no target"


def test_target_status_rejects_bad_direction():
    k = pd.DataFrame({"kpi": ["x"], "value": [1.0]})
    with pytest.raises(ValueError, match="direction"):
        cmp.target_status(k, {"x": {"target": 1, "direction": "up"}})


# -- csat_link ---------------------------------------------------------------------------------------


def test_csat_link_matches_scipy_spearman_per_group():
    s = _random_scores(7, n=500)
    rng = np.random.default_rng(8)
    s["csat"] = np.where(
        s["csat"].isna(),
        np.nan,
        np.clip(np.round(1 + s["score"] / 25 + rng.normal(0, 1, 500)), 1, 5),
    )
    out = cmp.csat_link(s, by="region")
    for _, row in out.iterrows():
        g = s[(s["region"] == row["region"]) & s["csat"].notna()]
        ref = stats.spearmanr(g["score"], g["csat"])
        np.testing.assert_allclose([row.rho, row.p_value], [ref.statistic, ref.pvalue], rtol=1e-9)
        se = np.sqrt((1 + ref.statistic**2 / 2) / (len(g) - 3))  # Bonett & Wright (2000)
        z = np.arctanh(ref.statistic)
        np.testing.assert_allclose(
            [row.rho_ci_low, row.rho_ci_high],
            np.tanh([z - 1.959963984540054 * se, z + 1.959963984540054 * se]),
            rtol=1e-9,
        )
        assert row.n == len(g)
        assert row.n_missing_csat == ((s["region"] == row["region"]) & s["csat"].isna()).sum()


def test_csat_link_small_or_constant_groups_are_nan_with_note():
    s = pd.DataFrame(
        {
            "region": ["EU", "NA", "NA", "NA", "NA"],
            "score": [80, 70, 80, 90, 60.0],
            "csat": [5, 4, 4, 4, 4.0],
        }
    )
    out = cmp.csat_link(s, by="region").set_index("region")
    assert np.isnan(out.loc["EU", "rho"]) and "fewer than 3" in out.loc["EU", "note"]
    assert np.isnan(out.loc["NA", "rho"]) and "no variation" in out.loc["NA", "note"]


# -- demo data -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_scores():
    demo = pytest.importorskip("qa_analysis.demo")
    d = demo.generate(seed=20261101, small=True)
    return d, score_evaluations(d.evaluations, d.scorecard)


def test_demo_csat_link_has_the_planted_positive_sign(demo_scores):
    _, s = demo_scores
    out = cmp.csat_link(s)
    assert out["rho"].iloc[0] > 0.2 and out["rho_ci_low"].iloc[0] > 0
    assert out["n_missing_csat"].iloc[0] > 0


def test_funnel_perfect_record_on_few_audits_is_within_limits():
    """3 of 3 passes at a pooled rate of about 0.83 happens with probability 0.57: no outlier
    (classifying against interpolated limits just under 1 used to flag it 'above')."""
    s = pd.DataFrame({"agent_id": ["a"] * 3 + ["b"] * 100, "passed": [True] * 85 + [False] * 18})
    out = cmp.funnel(s).table.set_index("agent_id")
    assert out.loc["a", "position"] == "within" and not out.loc["a", "warning"]


def test_funnel_flags_by_exact_binomial_tail():
    s = pd.DataFrame(
        {
            "agent_id": ["a"] * 30 + ["z"] * 1000,
            "passed": [False] * 30 + [True] * 800 + [False] * 200,
        }
    )
    out = cmp.funnel(s, target=0.8).table.set_index("agent_id")
    assert out.loc["a", "position"] == "below" and out.loc["a", "outlier"]
    assert out.loc["z", "position"] == "within"


# -- bad input: defined output, no crash, no RuntimeWarning (warnings are errors here) -------------


@pytest.mark.parametrize("case", ["empty", "one evaluation", "all N/A"])
def test_every_function_gives_defined_output_on_degenerate_input(case):
    s = _edge_inputs()[case]
    assert (cmp.funnel(s).table["n"] >= 1).all()
    shr = cmp.shrink(s)
    assert shr.note and not shr.fitted and not shr.distinguishable
    link = cmp.csat_link(s)
    assert link["rho"].isna().all() and (link["note"] != "").all()


# -- result objects and vocabulary ------------------------------------------------------------------


def test_funnel_returns_its_centre_as_a_field_not_in_attrs():
    s = pd.DataFrame({"agent_id": ["a"] * 4 + ["b"] * 4, "passed": [True] * 6 + [False, None]})
    f = cmp.funnel(s)
    assert isinstance(f, cmp.Funnel)
    assert f.target == pytest.approx(6 / 7) and f.n_excluded == 1
    assert f.table.attrs == {}
    assert repr(f) == "Funnel(2 rows, target=0.8571, n_excluded=1)"
    assert "<table" in f._repr_html_() and "Funnel(2 rows" in f._repr_html_()


def test_funnel_result_is_frozen():
    f = cmp.funnel(pd.DataFrame({"agent_id": ["a"], "passed": [True]}))
    with pytest.raises(AttributeError):
        f.target = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("rates", "ns", "fit"),
    [
        ([0.7], [10], "fewer than 2 units"),
        ([1.0, 1.0], [5, 8], "boundary"),
        ([1.0, 0.0, 1.0], [1, 1, 1], "no unit with both outcomes"),
        ([0.95, 0.9, 0.6, 0.5], [80] * 4, "fitted"),
    ],
)
def test_shrink_says_why_no_population_was_fitted_in_a_field(rates, ns, fit):
    res = cmp.shrink(_agents(rates, ns))
    assert res.fit == fit and res.fitted == (fit == "fitted")
    assert (res.reason == "") == res.fitted and "no population fitted" in (
        res.reason or "no population fitted"
    )
    assert res.table.attrs == {}
    assert repr(res).startswith(f"Shrinkage({len(ns)} row")


def test_shrink_interval_columns_are_named_after_the_statistic():
    cols = cmp.shrink(_agents([0.6, 0.9, 0.8], [20, 20, 20])).table.columns
    assert {"shrunk_rate_ci_low", "shrunk_rate_ci_high"} <= set(cols)
    assert "ci_low" not in cols


def test_target_status_reads_value_ci_columns_by_default_and_names_can_be_given():
    k = pd.DataFrame({"kpi": ["pass_rate"], "value": [0.9], "lo": [0.88], "hi": [0.92]})
    t = {"pass_rate": {"target": 0.85}}
    assert cmp.target_status(k, t)["note"].iloc[0] == "no interval"
    out = cmp.target_status(k, t, ci_low="lo", ci_high="hi")
    assert bool(out["clear"].iloc[0])
    k2 = k.rename(columns={"lo": "value_ci_low", "hi": "value_ci_high"})
    assert bool(cmp.target_status(k2, t)["clear"].iloc[0])


def test_csat_link_interval_columns_are_rho_ci():
    out = cmp.csat_link(_random_scores(3))
    assert {"rho_ci_low", "rho_ci_high"} <= set(out.columns) and "ci_low" not in out.columns


@pytest.mark.parametrize(
    "call",
    [
        lambda x: cmp.funnel(x),
        lambda x: cmp.shrink(x),
        lambda x: cmp.csat_link(x),
        lambda x: cmp.target_status(x, {}),
    ],
)
def test_non_dataframe_input_is_a_type_error(call):
    with pytest.raises(TypeError, match="DataFrame"):
        call({"agent_id": ["a"], "passed": [True]})


def test_non_boolean_metric_is_a_data_error_naming_the_row_by_label():
    s = pd.DataFrame({"agent_id": ["a", "b"], "passed": [1.0, 2.0]}, index=[10, 11])
    with pytest.raises(DataError, match=r"'passed'.*row 11 \(passed=2\.0\)"):
        cmp.funnel(s)


def test_missing_column_is_a_data_error():
    with pytest.raises(DataError, match=r"missing column.*'passed'"):
        cmp.shrink(pd.DataFrame({"agent_id": ["a"]}))
