"""Tests for The bootstrap engine and seeds (qa_analysis.reliability.bootstrap).

Published worked examples are cited next to each test; peer libraries
(krippendorff, statsmodels, scikit-learn, pingouin) are oracles on random data
with missing values, to 1e-9.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from reliability_cases import (
    KRIPP_2011,
    calibration_fixture,
    random_ratings,
    wide_to_long,
)

from qa_analysis import settings
from qa_analysis.reliability import (
    _engine,
    agreement_by_item,
    agreement_over_sessions,
    alpha,
    bootstrap,
    brennan_prediger,
    fleiss_kappa,
    gwet_ac,
    icc,
    krippendorff_alpha,
    percent_agreement,
    rater_calibration,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


@pytest.fixture(scope="module")
def kripp_long():
    return wide_to_long(KRIPP_2011)


def test_bootstrap_same_seed_same_interval_and_contains_estimate(kripp_long):
    a = krippendorff_alpha(kripp_long, level="interval", confidence=0.95, n_boot=500, seed=11)
    b = krippendorff_alpha(kripp_long, level="interval", confidence=0.95, n_boot=500, seed=11)
    c = krippendorff_alpha(kripp_long, level="interval", confidence=0.95, n_boot=500, seed=12)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert a.ci_low <= a.estimate <= a.ci_high


@pytest.mark.parametrize("fn", [gwet_ac, percent_agreement, fleiss_kappa, brennan_prediger, icc])
def test_every_coefficient_gives_a_reproducible_interval_around_the_estimate(fn):
    df = wide_to_long(random_ratings(3, n_units=80, missing=0.0 if fn is icc else 0.1))
    a = fn(df, confidence=0.9, n_boot=300, seed=5)
    b = fn(df, confidence=0.9, n_boot=300, seed=5)
    np.testing.assert_equal(dataclasses.astuple(a), dataclasses.astuple(b))
    assert a.ci_low <= a.estimate <= a.ci_high


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_pattern_bootstrap_matches_unit_resampling_in_distribution(level):
    """Multinomial draws over rating patterns and index resampling of units have the same
    law; compare mean and sd of 4000 replicates each (Monte Carlo error ~ sd/sqrt(2000))."""
    df = wide_to_long(random_ratings(9, n_units=300, n_raters=4, levels=(1, 2, 3), missing=0.15))
    r = _engine._prepare(df, "ticket_id", "rater_id", "score", None)
    b = _engine._block(r)
    F, fin = alpha._alpha_stat(r, b, level)
    assert b.mult.size < b.n_units  # units really were compressed
    est_p = fin(bootstrap._boot_totals(F, b.mult, b.inv, 4000, 1, "patterns"))[0]
    est_u = fin(bootstrap._boot_totals(F, b.mult, b.inv, 4000, 2, "units"))[0]
    sd = est_u.std()
    assert abs(est_p.mean() - est_u.mean()) < 4 * sd / np.sqrt(2000)
    assert est_p.std() == pytest.approx(sd, rel=0.1)


def test_unit_resampling_weights_equal_explicit_index_resampling():
    """The 'units' path is literally index resampling: with one unit per pattern, the
    weights are the counts of np.random.Generator.integers draws."""
    mult = np.ones(7)
    inv = np.arange(7)
    W = next(bootstrap._weight_chunks(mult, inv, 5, np.random.default_rng(3), "units"))
    idx = np.random.default_rng(3).integers(0, 7, size=(5, 7))
    expected = np.stack([np.bincount(row, minlength=7) for row in idx])
    np.testing.assert_array_equal(W, expected)


def test_bootstrap_methods_are_selectable_and_validated(kripp_long):
    a = krippendorff_alpha(kripp_long, confidence=0.9, n_boot=200, bootstrap="patterns")
    b = krippendorff_alpha(kripp_long, confidence=0.9, n_boot=200, bootstrap="units")
    assert np.isfinite([a.ci_low, b.ci_low]).all()
    with pytest.raises(ValueError, match="bootstrap must be one of"):
        krippendorff_alpha(kripp_long, bootstrap="jackknife")
    with pytest.raises(ValueError, match="confidence must be"):
        krippendorff_alpha(kripp_long, confidence=95)


def test_interval_quantiles_match_numpy_linear_quantiles():
    x = np.random.default_rng(0).normal(size=(501, 3))
    x[:7, 1] = nan
    got = bootstrap._quantiles(x, [0.025, 0.975])
    for j in range(3):
        col = x[:, j][np.isfinite(x[:, j])]
        np.testing.assert_allclose(got[:, j], np.quantile(col, [0.025, 0.975]), rtol=1e-12)
    assert np.isnan(bootstrap._quantiles(np.full((4, 1), nan), [0.5])).all()


def test_undefined_resamples_are_dropped_and_counted_in_the_note():
    """Resamples that draw only the unanimous units have no variation (alpha undefined)."""
    df = wide_to_long(np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 2.0]]))
    res = krippendorff_alpha(df, confidence=0.9, n_boot=400, seed=0)
    assert np.isfinite(res.estimate)
    assert "resamples undefined (interval from the rest)" in res.note


def test_one_unit_gives_no_interval_and_a_note():
    df = pd.DataFrame({"ticket_id": [1, 1], "rater_id": ["a", "b"], "score": [1.0, 2.0]})
    res = krippendorff_alpha(df, level="interval")
    assert res.estimate == 0.0
    assert np.isnan(res.ci_low) and "at least two units" in res.note


# --------------------------------------------------------------------------- seeds and defaults
def test_every_seeded_function_accepts_a_numpy_generator():
    """seed= takes an int, a numpy Generator or None everywhere (a Generator used to crash
    agreement_by_item)."""
    df = calibration_fixture()
    t = agreement_by_item(df, n_boot=50, seed=np.random.default_rng(1))
    assert np.isfinite(t["alpha_ci_low"]).all() and (t["alpha_ci_low"] <= t["alpha"]).all()
    s = agreement_over_sessions(
        df.assign(session_id="s1"), date=None, n_boot=50, seed=np.random.default_rng(1)
    )
    assert np.isfinite(s["alpha_ci_low"]).all()
    c = rater_calibration(df, n_boot=50, seed=np.random.default_rng(1))
    assert np.isfinite(c["deviation_ci_low"]).all()
    a = krippendorff_alpha(df[df.criterion == "tone"], n_boot=50, seed=np.random.default_rng(1))
    assert a.ci_low <= a.estimate <= a.ci_high


def test_equal_seeds_give_equal_intervals_and_other_seeds_differ():
    df = calibration_fixture()
    cols = ["alpha_ci_low", "alpha_ci_high", "gwet_ci_low", "percent_agreement_ci_high"]
    a = agreement_by_item(df, n_boot=100, seed=7)[cols]
    b = agreement_by_item(df, n_boot=100, seed=7)[cols]
    c = agreement_by_item(df, n_boot=100, seed=8)[cols]
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    g1 = agreement_by_item(df, n_boot=100, seed=np.random.default_rng(7))[cols]
    g2 = agreement_by_item(df, n_boot=100, seed=np.random.default_rng(7))[cols]
    pd.testing.assert_frame_equal(g1, g2)


def test_a_generator_advances_so_successive_calls_differ():
    df = calibration_fixture()
    rng = np.random.default_rng(3)
    first = agreement_by_item(df, n_boot=100, seed=rng)["alpha_ci_low"]
    second = agreement_by_item(df, n_boot=100, seed=rng)["alpha_ci_low"]
    assert not first.equals(second)


def test_a_seed_that_is_not_an_int_or_generator_is_a_type_error():
    with pytest.raises(TypeError, match="seed must be an int, a numpy Generator or None"):
        agreement_by_item(calibration_fixture(), n_boot=20, seed="abc")


def test_n_boot_default_comes_from_the_shared_settings(kripp_long):
    n_boot = settings.thresholds()["n_boot"]
    default = krippendorff_alpha(kripp_long, level="interval", seed=5)
    explicit = krippendorff_alpha(kripp_long, level="interval", seed=5, n_boot=n_boot)
    other = krippendorff_alpha(kripp_long, level="interval", seed=5, n_boot=n_boot + 1)
    assert (default.ci_low, default.ci_high) == (explicit.ci_low, explicit.ci_high)
    assert (default.ci_low, default.ci_high) != (other.ci_low, other.ci_high)
