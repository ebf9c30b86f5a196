"""Tests for Laney's p'/u' limits (qa_analysis.trends.overdispersion, control_chart hook).

Laney, D. B. (2002). Improved control charts for attributes. Quality
Engineering 14(4), 531-537: sigma_z = mean moving range of the z-scores / 1.128,
limits p-bar +/- 3 sigma_i sigma_z. The hand computations below follow it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qa_analysis import trends as tr
from qa_analysis.errors import DataError, ParamsError

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _agg(passed, n) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": pd.date_range("2026-01-05", periods=len(n), freq="7D"),
            "n": np.asarray(n),
            "passed": np.asarray(passed),
        }
    )


def test_p_prime_limits_by_hand():
    # six weeks, 100 audits each, alternating 90/60/85/55/88/62 passes
    passed, n = [90, 60, 85, 55, 88, 62], [100] * 6
    pbar = 440 / 600
    s = np.sqrt(pbar * (1 - pbar) / 100)
    z = (np.array(passed) / 100 - pbar) / s
    # z = 3.769, -3.015, 2.638, -4.146, 3.317, -2.563; mean |MR| = 6.5126
    sigma_z = np.mean(np.abs(np.diff(z))) / 1.128
    assert sigma_z == pytest.approx(5.7736, abs=1e-4)
    od = tr.overdispersion(passed, n)
    assert od.sigma_z == pytest.approx(sigma_z, rel=1e-12)
    assert od.statistic == pytest.approx(np.sum(z * z), rel=1e-12)
    assert od.p_value == pytest.approx(stats.chi2.sf(np.sum(z * z), 5), rel=1e-12)
    assert od.laney and od.limits == "p'"
    cc = tr.control_chart(_agg(passed, n), kind="p")
    assert (cc["limits"] == "p'").all()
    assert cc["ucl"].to_numpy() == pytest.approx(np.minimum(pbar + 3 * s * sigma_z, 1.0))
    assert cc["lcl"].to_numpy() == pytest.approx(np.maximum(pbar - 3 * s * sigma_z, 0.0))
    assert cc["sigma_z"].iloc[0] == pytest.approx(sigma_z)
    assert not cc["rule1"].any()  # with binomial limits every week would be beyond 3 sigma


def test_u_prime_by_hand():
    counts, units = np.array([3, 14, 4, 15, 5, 13]), np.array([10, 12, 10, 12, 10, 12])
    ubar = counts.sum() / units.sum()
    z = (counts / units - ubar) / np.sqrt(ubar / units)
    od = tr.overdispersion(counts, units, kind="u")
    assert od.center == pytest.approx(54 / 66)
    assert od.sigma_z == pytest.approx(np.mean(np.abs(np.diff(z))) / 1.128, rel=1e-12)
    assert od.statistic == pytest.approx(np.sum(z * z), rel=1e-12)
    assert od.limits == ("u'" if od.laney else "u")
    assert od.laney == (od.sigma_z > 1 and stats.chi2.sf(np.sum(z * z), 5) <= 0.05)


def test_limits_unchanged_without_overdispersion():
    passed, n = [80, 82, 79, 81, 80, 78, 83, 80], [100] * 8
    auto = tr.control_chart(_agg(passed, n), kind="p")
    binom = tr.control_chart(_agg(passed, n), kind="p", dispersion="binomial")
    assert (auto["limits"] == "p").all()
    pd.testing.assert_frame_equal(auto, binom)


def test_binomial_data_rarely_switch_to_laney():
    # 300 stable binomial charts (26 weeks, 50 to 400 audits a week): the switch
    # is a 5% dispersion test plus sigma_z > 1, so it fires at most about 5%.
    rng = np.random.default_rng(0)
    reps = 300
    n = rng.integers(50, 400, size=(reps, 26))
    x = rng.binomial(n, 0.85)
    switched = np.mean([tr.overdispersion(a, b).laney for a, b in zip(x, n, strict=True)])
    assert switched <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)  # measured: 0.043


def test_large_volume_overdispersed_stable_process_does_not_signal_every_week():
    # 20,000 audits a month (~4,600 a week), true weekly rate varying with SD 1.5
    # points around 85% (realistic between-week variation, 8 times the binomial SD)
    rng = np.random.default_rng(1)
    reps, weeks = 200, 26
    n = np.full(weeks, 4_600)
    p = np.clip(0.85 + rng.normal(0, 0.015, size=(reps, weeks)), 0, 1)
    x = rng.binomial(n, p)
    rule1_laney, any_laney, any_binom, used = [], [], [], []
    for row in x:
        agg = _agg(row, n)
        cc = tr.control_chart(agg, kind="p")
        rule1_laney.append(cc["rule1"].mean())
        any_laney.append(cc["signal"].mean())
        used.append((cc["limits"] == "p'").all())
        any_binom.append(tr.control_chart(agg, kind="p", dispersion="binomial")["signal"].mean())
    assert np.mean(used) >= 0.99  # measured: 1.0
    assert np.mean(any_binom) > 0.3  # binomial limits: 0.41 of weeks signal (0.31 beyond 3 sigma)
    assert np.mean(rule1_laney) <= 0.01  # p': measured 0.0023 of weeks
    assert np.mean(any_laney) <= 0.05  # any Western Electric rule: measured 0.008


def test_forced_rules_and_bad_arguments():
    passed, n = [80, 82, 79, 81, 80, 78], [100] * 6
    assert tr.overdispersion(passed, n, rule="laney").limits == "p'"
    assert tr.overdispersion([90, 60, 85, 55, 88, 62], n, rule="binomial").limits == "p"
    short = tr.overdispersion([80, 70], [100, 100])
    assert not short.laney and np.isnan(short.sigma_z)
    with pytest.raises(ParamsError):
        tr.overdispersion(passed, n, kind="c")  # type: ignore[arg-type]
    with pytest.raises(ParamsError):
        tr.overdispersion(passed, n, rule="always")  # type: ignore[arg-type]
    with pytest.raises(DataError):
        tr.overdispersion([120, 80], [100, 100])
    with pytest.raises(DataError):
        tr.overdispersion([1, 2, 3], [5, 5])


def test_baseline_estimates_sigma_z_only_from_its_periods():
    passed = [80, 81, 79, 80, 82, 50, 20]
    n = [100] * 7
    base = np.arange(7) < 5
    od = tr.overdispersion(passed, n, baseline=base)
    assert od.center == pytest.approx(402 / 500)
    assert not od.laney
    cc = tr.control_chart(_agg(passed, n), kind="p", baseline=5)
    assert (cc["limits"] == "p").all() and cc["rule1"].iloc[-2:].all()
