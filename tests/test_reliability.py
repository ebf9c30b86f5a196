"""Tests for qa_analysis.reliability.

Published worked examples are cited next to each test; peer libraries
(krippendorff, statsmodels, scikit-learn, pingouin) are oracles on random data
with missing values, to 1e-9. Gwet's AC1/AC2 and Brennan-Prediger are checked
against the published formulas written out by hand below (independently of the
library code).
"""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pandas as pd
import pytest

from qa_analysis import reliability as rl
from qa_analysis.reliability import (
    Agreement,
    agreement_by_item,
    agreement_over_sessions,
    alpha_verdict,
    brennan_prediger,
    cohen_kappa,
    disagreements,
    fleiss_kappa,
    fleiss_kappa_by_category,
    gwet_ac,
    icc,
    krippendorff_alpha,
    percent_agreement,
    rater_calibration,
    rater_calibration_by_item,
)
from qa_analysis.scorecard import Scorecard

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


# --------------------------------------------------------------------------- fixtures
def wide_to_long(mat, unit="ticket_id", rater="rater_id", value="score"):
    """raters x units matrix (NaN = missing) -> long table."""
    mat = np.asarray(mat, dtype=float)
    r, u = np.indices(mat.shape)
    return pd.DataFrame({unit: u.ravel(), rater: [f"r{i}" for i in r.ravel()], value: mat.ravel()})


def table_to_long(table, labels=None):
    """Two-rater contingency table (rows rater A, columns rater B) -> long table."""
    table = np.asarray(table)
    labels = list(range(table.shape[0])) if labels is None else labels
    a, b = [], []
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            a += [labels[i]] * int(table[i, j])
            b += [labels[j]] * int(table[i, j])
    n = len(a)
    return pd.DataFrame(
        {
            "ticket_id": np.repeat(np.arange(n), 2),
            "rater_id": ["A", "B"] * n,
            "score": np.ravel(np.column_stack([a, b])).astype(float),
        }
    )


def random_ratings(seed, n_units=40, n_raters=5, levels=(1, 2, 3, 4, 5), missing=0.2, signal=True):
    """raters x units matrix with missing values and some agreement."""
    rng = np.random.default_rng(seed)
    levels = np.asarray(levels, dtype=float)
    if signal:
        truth = rng.integers(0, len(levels), n_units)
        noise = rng.integers(-1, 2, (n_raters, n_units)) * (rng.random((n_raters, n_units)) < 0.4)
        idx = np.clip(truth + noise, 0, len(levels) - 1)
    else:
        idx = rng.integers(0, len(levels), (n_raters, n_units))
    mat = levels[idx]
    mat[rng.random(mat.shape) < missing] = nan
    return mat


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C:
# 4 observers x 12 units with missing values.
KRIPP_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)

# Fleiss (1971) diagnoses: 30 patients x 6 psychiatrists, 5 categories (as in R irr::diagnoses;
# copied from statsmodels' test_inter_rater.py).
DIAGNOSES = np.array(
    [
        [4, 4, 4, 4, 4, 4],
        [2, 2, 2, 5, 5, 5],
        [2, 3, 3, 3, 3, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4],
        [1, 1, 3, 3, 3, 3],
        [3, 3, 3, 3, 5, 5],
        [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4],
        [5, 5, 5, 5, 5, 5],
        [1, 4, 4, 4, 4, 4],
        [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3],
        [1, 4, 4, 4, 4, 4],
        [2, 2, 4, 4, 4, 5],
        [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5],
        [1, 1, 1, 1, 1, 2],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 4, 4, 4, 4, 4],
        [2, 2, 4, 5, 5, 5],
        [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5],
        [2, 2, 2, 2, 2, 4],
        [1, 1, 1, 1, 5, 5],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3],
        [5, 5, 5, 5, 5, 5],
    ]
)

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SHROUT_FLEISS = np.array(
    [
        [9, 2, 5, 8],
        [6, 1, 3, 2],
        [8, 4, 6, 8],
        [7, 1, 2, 6],
        [10, 5, 6, 9],
        [6, 2, 4, 7],
    ]
)


@pytest.fixture(scope="module")
def kripp_long():
    return wide_to_long(KRIPP_2011)


@pytest.fixture(scope="module")
def demo_data():
    demo = pytest.importorskip("qa_analysis.demo")
    return demo.generate(seed=20261101, small=True)


# --------------------------------------------------------------------------- published examples
@pytest.mark.parametrize(
    "level, expected",
    [
        ("nominal", 0.743),
        ("ordinal", 0.815),
        ("interval", 0.849),
        ("ratio", 0.797),
    ],
)
def test_alpha_matches_krippendorff_2011_worked_example(kripp_long, level, expected):
    """Krippendorff (2011) section C: nominal .743, ordinal .815, interval .849, ratio .797."""
    res = krippendorff_alpha(kripp_long, level=level, ci=None)
    assert round(res.estimate, 3) == expected
    assert res.n_units == 12 and res.n_raters == 4
    assert res.n_pairable == 40  # Krippendorff's n: 41 values, one unpairable (unit 12)


def test_nominal_alpha_observed_and_expected_disagreement_match_2011_example(kripp_long):
    """Krippendorff (2011): D_o = 4/40 * 2 ... alpha = 1 - D_o/D_e with n=40."""
    res = krippendorff_alpha(kripp_long, level="nominal", ci=None)
    assert res.estimate == pytest.approx(1 - res.observed / res.expected)
    assert res.estimate == pytest.approx(0.7434210526, abs=1e-9)


def test_fleiss_kappa_matches_fleiss_1971_diagnoses():
    """Fleiss (1971), 30 subjects x 6 raters x 5 categories: kappa = .430 (R irr::kappam.fleiss)."""
    res = fleiss_kappa(wide_to_long(DIAGNOSES.T), ci=None)
    assert round(res.estimate, 3) == 0.430


def test_fleiss_per_category_kappas_match_r_irr():
    """R irr::kappam.fleiss(diagnoses, detail=TRUE): .245 .245 .520 .471 .566."""
    t = fleiss_kappa_by_category(wide_to_long(DIAGNOSES.T))
    assert t["category"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(t["kappa"].round(3), [0.245, 0.245, 0.520, 0.471, 0.566])


def test_gwet_ac1_on_krippendorff_data_matches_irrcac(kripp_long):
    """irrCAC cac.raw4raters (the same 12 x 4 data): gwet.ac1.raw = 0.7754, fleiss.kappa.raw = 0.7612."""
    assert gwet_ac(kripp_long, ci=None).estimate == pytest.approx(0.7754, abs=5e-5)
    assert fleiss_kappa(kripp_long, ci=None).estimate == pytest.approx(0.7612, abs=5e-5)
    assert percent_agreement(kripp_long, ci=None).estimate == pytest.approx(0.8182, abs=5e-5)


def test_two_rater_table_matches_gwet_handbook():
    """Gwet (2014) two raters, table [[13,0,0],[0,20,7],[0,4,56]]: AC1 .849, Cohen .796, pa .89."""
    df = table_to_long([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    assert round(gwet_ac(df, ci=None).estimate, 3) == 0.849
    assert round(cohen_kappa(df, ci=None).estimate, 3) == 0.796
    assert round(percent_agreement(df, ci=None).estimate, 2) == 0.89


def test_kappa_paradox_high_agreement_low_kappa_high_ac1():
    """Feinstein & Cicchetti (1990) / Gwet (2008): [[94,3],[2,1]] gives kappa ~ .26, AC1 ~ .95."""
    df = table_to_long([[94, 3], [2, 1]])
    assert cohen_kappa(df, ci=None).estimate == pytest.approx(0.26, abs=0.01)
    assert gwet_ac(df, ci=None).estimate == pytest.approx(0.95, abs=0.01)


@pytest.mark.parametrize(
    "form, expected",
    [
        ("ICC(1,1)", 0.166),
        ("ICC(A,1)", 0.290),
        ("ICC(C,1)", 0.715),
        ("ICC(1,k)", 0.443),
        ("ICC(A,k)", 0.620),
        ("ICC(C,k)", 0.909),
    ],
)
def test_icc_matches_shrout_fleiss_1979_table(form, expected):
    """Shrout & Fleiss (1979) Table 4: ICC(1,1) .17, (2,1) .29, (3,1) .71, (1,4) .44, (2,4) .62, (3,4) .91."""
    res = icc(wide_to_long(SHROUT_FLEISS.T), form=form, ci=None)
    assert round(res.estimate, 3) == expected


def test_icc_accepts_pingouin_type_aliases():
    df = wide_to_long(SHROUT_FLEISS.T)
    assert icc(df, form="ICC2", ci=None).estimate == icc(df, form="ICC(A,1)", ci=None).estimate
    assert icc(df, form="ICC3k", ci=None).estimate == icc(df, form="ICC(C,k)", ci=None).estimate
    with pytest.raises(ValueError, match="form must be one of"):
        icc(df, form="ICC(9,9)")


# --------------------------------------------------------------------------- peer libraries
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alpha_equals_krippendorff_package_on_random_data_with_missing(level, seed):
    krippendorff = pytest.importorskip("krippendorff")
    mat = random_ratings(seed, n_units=60, n_raters=5, levels=(0, 1, 2, 4, 7, 9))
    ours = krippendorff_alpha(wide_to_long(mat), level=level, ci=None).estimate
    theirs = krippendorff.alpha(mat, level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_alpha_with_unused_categories_equals_krippendorff_value_domain():
    krippendorff = pytest.importorskip("krippendorff")
    mat = random_ratings(7, levels=(1, 2, 3))
    dom = [1, 2, 3, 4, 5]
    for level in ("nominal", "ordinal", "interval"):
        ours = krippendorff_alpha(wide_to_long(mat), level=level, categories=dom, ci=None).estimate
        theirs = krippendorff.alpha(mat, level_of_measurement=level, value_domain=dom)
        assert ours == pytest.approx(theirs, abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
def test_fleiss_equals_statsmodels_with_equal_raters(seed):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    mat = random_ratings(seed, n_units=50, n_raters=6, missing=0.0)
    table, _ = inter_rater.aggregate_raters(mat.T)
    ours = fleiss_kappa(wide_to_long(mat), ci=None).estimate
    assert ours == pytest.approx(inter_rater.fleiss_kappa(table, method="fleiss"), abs=1e-9)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", [1, 2])
def test_cohen_equals_scikit_learn_on_integer_labels(weights, seed):
    metrics = pytest.importorskip("sklearn.metrics")
    mat = random_ratings(seed, n_units=80, n_raters=2, levels=(0, 1, 2, 3, 4), missing=0.1)
    res = cohen_kappa(wide_to_long(mat), weights=weights, ci=None)
    both = np.isfinite(mat).all(axis=0)  # scikit-learn takes complete pairs only
    theirs = metrics.cohen_kappa_score(mat[0, both], mat[1, both], weights=weights)
    assert res.estimate == pytest.approx(theirs, abs=1e-9)
    assert res.n_pairable == 2 * both.sum() and "not rated by both raters dropped" in res.note


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # raised inside pingouin with pandas 3
@pytest.mark.parametrize("seed", [1, 2])
def test_icc_equals_pingouin_all_forms(seed):
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(25, 1)) + rng.normal(scale=0.7, size=(25, 4)) + np.arange(4) * 0.3
    y = np.round(y, 1)
    y[rng.random(y.shape) < 0.05] = nan
    df = wide_to_long(y.T)
    ref = pg.intraclass_corr(
        df, targets="ticket_id", raters="rater_id", ratings="score", nan_policy="omit"
    )
    ref = dict(zip(ref["Type"], ref["ICC"], strict=True))
    for form in rl.ICC_FORMS:
        assert icc(df, form=form, ci=None).estimate == pytest.approx(ref[form], abs=1e-9)


# --------------------------------------------------------------------------- Gwet's formulas by hand
def _hand_gwet(mat, cats, weights, kind):
    """Gwet (2014) ch. 2-3 / irrCAC raw-data formulas written out with loops (raters x units)."""
    cats = np.asarray(cats, float)
    q = len(cats)
    span = cats.max() - cats.min()
    w = np.eye(q)
    for k in range(q):
        for m in range(q):
            d = abs(cats[k] - cats[m]) / span
            if weights == "linear":
                w[k, m] = 1 - d
            elif weights == "quadratic":
                w[k, m] = 1 - d * d
    units = [u for u in range(mat.shape[1]) if np.isfinite(mat[:, u]).any()]
    r = np.array([[np.sum(mat[:, u] == c) for c in cats] for u in units], float)
    ri = r.sum(1)
    rstar = r @ w.T
    pa_terms = [
        (r[i] * (rstar[i] - 1)).sum() / (ri[i] * (ri[i] - 1))
        for i in range(len(units))
        if ri[i] >= 2
    ]
    pa = np.mean(pa_terms)
    pi = np.mean(r / ri[:, None], axis=0)
    if kind == "gwet":
        pe = w.sum() * np.sum(pi * (1 - pi)) / (q * (q - 1))
    else:  # Brennan-Prediger
        pe = w.sum() / q**2
    return (pa - pe) / (1 - pe)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gwet_ac1_ac2_equal_hand_computed_formulas(weights, seed):
    cats = (1, 2, 3, 4, 5, 6)
    mat = random_ratings(seed, n_units=30, n_raters=4, levels=(1, 2, 3, 4, 5), missing=0.25)
    ours = gwet_ac(wide_to_long(mat), weights=weights, categories=cats, ci=None).estimate
    assert ours == pytest.approx(_hand_gwet(mat, cats, weights, "gwet"), abs=1e-12)


@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_brennan_prediger_equals_hand_computed_formula(weights):
    cats = (1, 2, 3, 4, 5)
    mat = random_ratings(4, n_units=30, n_raters=4, missing=0.25)
    ours = brennan_prediger(wide_to_long(mat), weights=weights, categories=cats, ci=None).estimate
    assert ours == pytest.approx(_hand_gwet(mat, cats, weights, "bp"), abs=1e-12)


# Computed with the Python port of irrCAC (pip "irrCAC" 0.4.4, CAC(df, weights=w,
# categories=[1, 2, 3, 4, 5]).gwet()/.bp()/.fleiss()) in a throwaway venv on the
# Krippendorff (2011) data read as units x raters; irrCAC prints 5 decimals.
IRRCAC_KRIPP_2011 = {
    None: (0.77544, 0.77273, 0.76117),
    "linear": (0.85874, 0.84848, 0.81794),
    "quadratic": (0.91400, 0.90152, 0.86494),
    "ordinal": (0.89894, 0.88636, 0.85021),
}


@pytest.mark.parametrize("weights", [None, "linear", "quadratic", "ordinal"])
def test_weighted_coefficients_match_pinned_irrcac_figures(kripp_long, weights):
    ac, bp, fk = IRRCAC_KRIPP_2011[weights]
    kw = {"weights": weights, "categories": [1, 2, 3, 4, 5], "ci": None}
    assert gwet_ac(kripp_long, **kw).estimate == pytest.approx(ac, abs=6e-6)
    assert brennan_prediger(kripp_long, **kw).estimate == pytest.approx(bp, abs=6e-6)
    assert fleiss_kappa(kripp_long, **kw).estimate == pytest.approx(fk, abs=6e-6)


def test_unused_scale_levels_change_ac1_as_gwet_defines():
    df = wide_to_long(random_ratings(5, levels=(1, 2, 3), missing=0.1))
    small = gwet_ac(df, ci=None).estimate
    full = gwet_ac(df, categories=[1, 2, 3, 4, 5], ci=None).estimate
    assert small != pytest.approx(full)


def test_cohen_weights_use_category_values_not_positions():
    """Scale [0, 1, 5]: a 1-vs-5 disagreement weighs 4, a 0-vs-1 disagreement 1
    (Cohen 1968: kappa_w = 1 - sum d_ij p_ij / sum d_ij p_i. p_.j, by hand below)."""
    table = np.array([[5, 3, 1], [2, 5, 0], [1, 3, 5]])
    df = table_to_long(table, labels=[0, 1, 5])
    p = table / table.sum()
    e = np.outer(p.sum(1), p.sum(0))
    v = np.array([0.0, 1.0, 5.0])
    d = np.abs(v[:, None] - v[None, :])
    by_value = cohen_kappa(df, weights="linear", ci=None).estimate
    assert by_value == pytest.approx(1 - (d * p).sum() / (d * e).sum(), abs=1e-12)
    relabelled = df.assign(score=df["score"].replace({5.0: 2.0}))
    by_position = cohen_kappa(relabelled, weights="linear", ci=None).estimate
    assert by_value != pytest.approx(by_position)


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_same_seed_same_interval_and_contains_estimate(kripp_long):
    a = krippendorff_alpha(kripp_long, level="interval", ci=0.95, n_boot=500, seed=11)
    b = krippendorff_alpha(kripp_long, level="interval", ci=0.95, n_boot=500, seed=11)
    c = krippendorff_alpha(kripp_long, level="interval", ci=0.95, n_boot=500, seed=12)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert a.ci_low <= a.estimate <= a.ci_high


@pytest.mark.parametrize("fn", [gwet_ac, percent_agreement, fleiss_kappa, brennan_prediger, icc])
def test_every_coefficient_gives_a_reproducible_interval_around_the_estimate(fn):
    df = wide_to_long(random_ratings(3, n_units=80, missing=0.0 if fn is icc else 0.1))
    a = fn(df, ci=0.9, n_boot=300, seed=5)
    b = fn(df, ci=0.9, n_boot=300, seed=5)
    np.testing.assert_equal(dataclasses.astuple(a), dataclasses.astuple(b))
    assert a.ci_low <= a.estimate <= a.ci_high


def test_cohen_bootstrap_interval_contains_estimate():
    df = table_to_long([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    res = cohen_kappa(df, ci=0.95, n_boot=400, seed=1)
    assert res.ci_low < res.estimate < res.ci_high


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_pattern_bootstrap_matches_unit_resampling_in_distribution(level):
    """Multinomial draws over rating patterns and index resampling of units have the same
    law; compare mean and sd of 4000 replicates each (Monte Carlo error ~ sd/sqrt(2000))."""
    df = wide_to_long(random_ratings(9, n_units=300, n_raters=4, levels=(1, 2, 3), missing=0.15))
    r = rl._prepare(df, "ticket_id", "rater_id", "score", None)
    b = rl._block(r)
    F, fin = rl._alpha_stat(r, b, level)
    assert b.mult.size < b.n_units  # units really were compressed
    est_p = fin(rl._boot_totals(F, b.mult, b.inv, 4000, 1, "patterns"))[0]
    est_u = fin(rl._boot_totals(F, b.mult, b.inv, 4000, 2, "units"))[0]
    sd = est_u.std()
    assert abs(est_p.mean() - est_u.mean()) < 4 * sd / np.sqrt(2000)
    assert est_p.std() == pytest.approx(sd, rel=0.1)


def test_unit_resampling_weights_equal_explicit_index_resampling():
    """The 'units' path is literally index resampling: with one unit per pattern, the
    weights are the counts of np.random.Generator.integers draws."""
    mult = np.ones(7)
    inv = np.arange(7)
    W = next(rl._weight_chunks(mult, inv, 5, np.random.default_rng(3), "units"))
    idx = np.random.default_rng(3).integers(0, 7, size=(5, 7))
    expected = np.stack([np.bincount(row, minlength=7) for row in idx])
    np.testing.assert_array_equal(W, expected)


def test_bootstrap_methods_are_selectable_and_validated(kripp_long):
    a = krippendorff_alpha(kripp_long, ci=0.9, n_boot=200, bootstrap="patterns")
    b = krippendorff_alpha(kripp_long, ci=0.9, n_boot=200, bootstrap="units")
    assert np.isfinite([a.ci_low, b.ci_low]).all()
    with pytest.raises(ValueError, match="bootstrap must be one of"):
        krippendorff_alpha(kripp_long, bootstrap="jackknife")
    with pytest.raises(ValueError, match="ci must be"):
        krippendorff_alpha(kripp_long, ci=95)


def test_interval_quantiles_match_numpy_linear_quantiles():
    x = np.random.default_rng(0).normal(size=(501, 3))
    x[:7, 1] = nan
    got = rl._quantiles(x, [0.025, 0.975])
    for j in range(3):
        col = x[:, j][np.isfinite(x[:, j])]
        np.testing.assert_allclose(got[:, j], np.quantile(col, [0.025, 0.975]), rtol=1e-12)
    assert np.isnan(rl._quantiles(np.full((4, 1), nan), [0.5])).all()


# --------------------------------------------------------------------------- large scales / sparse path
def test_sparse_paths_equal_dense_paths(monkeypatch):
    """Many categories (or tiny memory budgets) switch to sparse per-unit features."""
    krippendorff = pytest.importorskip("krippendorff")
    mat = random_ratings(2, n_units=50, n_raters=4, levels=tuple(range(0, 40, 2)), missing=0.2)
    df = wide_to_long(mat)
    dense = {lvl: krippendorff_alpha(df, level=lvl, ci=None).estimate for lvl in rl.LEVELS}
    dense_ac = gwet_ac(df, weights="quadratic", ci=None).estimate
    monkeypatch.setattr(rl, "_DENSE_FEATURES", 0)
    monkeypatch.setattr(rl, "_DENSE_COUNTS", 0)
    for lvl in rl.LEVELS:
        sp = krippendorff_alpha(df, level=lvl, ci=None).estimate
        assert sp == pytest.approx(dense[lvl], abs=1e-12)
        assert sp == pytest.approx(krippendorff.alpha(mat, level_of_measurement=lvl), abs=1e-9)
    assert gwet_ac(df, weights="quadratic", ci=None).estimate == pytest.approx(dense_ac, abs=1e-12)
    res = krippendorff_alpha(df, level="ordinal", ci=0.9, n_boot=50)
    assert res.ci_low <= res.estimate <= res.ci_high


def test_hundred_distinct_values_without_compression():
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 101, 300)
    mat = np.clip(truth + rng.integers(-5, 6, (5, 300)), 0, 100).astype(float)
    mat[rng.random(mat.shape) < 0.1] = nan
    res = krippendorff_alpha(wide_to_long(mat), level="interval", ci=0.9, n_boot=100)
    assert res.estimate == pytest.approx(
        krippendorff.alpha(mat, level_of_measurement="interval"), abs=1e-9
    )
    assert res.ci_low <= res.estimate <= res.ci_high


# --------------------------------------------------------------------------- undefined cases
def test_single_category_gives_nan_with_note():
    df = wide_to_long(np.full((3, 10), 5.0))
    res = krippendorff_alpha(df, level="ordinal")
    assert np.isnan(res.estimate) and np.isnan(res.ci_low)
    assert res.note.startswith("no variation: every rating is 5")
    assert np.isnan(fleiss_kappa(df).estimate)
    assert "chance agreement is 1" in fleiss_kappa(df).note
    assert np.isnan(cohen_kappa(wide_to_long(np.full((2, 4), 1.0))).estimate)
    assert np.isnan(icc(df).estimate) and "no variation" in icc(df).note


def test_single_used_category_on_a_full_scale_gives_ac1_of_one():
    """Gwet's AC1 is defined (= 1) when raters agree perfectly on one of several levels."""
    df = wide_to_long(np.full((3, 10), 5.0))
    assert gwet_ac(df, categories=[1, 2, 3, 4, 5], ci=None).estimate == 1.0
    assert np.isnan(gwet_ac(df, ci=None).estimate)
    assert "only one category" in gwet_ac(df, ci=None).note


def test_no_pairable_values_gives_nan_with_note():
    df = pd.DataFrame(
        {"ticket_id": [1, 2, 3], "rater_id": ["a", "b", "c"], "score": [1.0, 2.0, 3.0]}
    )
    for fn in (krippendorff_alpha, gwet_ac, fleiss_kappa, percent_agreement):
        res = fn(df)
        assert np.isnan(res.estimate)
        assert "no pairable ratings" in res.note
        assert res.n_pairable == 0


def _empty_frame():
    return pd.DataFrame(
        {
            "ticket_id": pd.Series([], dtype=int),
            "rater_id": pd.Series([], dtype=str),
            "score": pd.Series([], dtype=float),
        }
    )


def _all_missing_frame():
    return pd.DataFrame({"ticket_id": [1, 1, 2, 2], "rater_id": ["a", "b"] * 2, "score": [nan] * 4})


EVERY_COEFFICIENT = {
    **{
        f"alpha {lv}": lambda d, lv=lv, **k: krippendorff_alpha(d, level=lv, **k)
        for lv in rl.LEVELS
    },
    **{
        f"gwet {w}": lambda d, w=w, **k: gwet_ac(d, weights=w, **k)
        for w in (None, "linear", "quadratic", "ordinal")
    },
    "fleiss": fleiss_kappa,
    "fleiss quadratic": lambda d, **k: fleiss_kappa(d, weights="quadratic", **k),
    "brennan_prediger": brennan_prediger,
    "percent_agreement": percent_agreement,
    "cohen": cohen_kappa,
    "cohen quadratic": lambda d, **k: cohen_kappa(d, weights="quadratic", **k),
    **{f"icc {f}": lambda d, f=f, **k: icc(d, form=f, **k) for f in rl.ICC_FORMS},
}


@pytest.mark.parametrize("ci", [None, 0.95])
@pytest.mark.parametrize("make", [_empty_frame, _all_missing_frame], ids=["empty", "all-missing"])
@pytest.mark.parametrize("name", list(EVERY_COEFFICIENT))
def test_empty_or_all_missing_input_gives_nan_with_a_note_for_every_coefficient(name, make, ci):
    """RuntimeWarnings are errors in this module, so this also checks that none is emitted."""
    res = EVERY_COEFFICIENT[name](make(), ci=ci)
    assert np.isnan(res.estimate) and np.isnan(res.ci_low) and np.isnan(res.ci_high)
    assert res.n_units == 0 and res.n_pairable == 0
    assert "undefined" in res.note
    if make is _all_missing_frame:
        assert "4 missing rating(s) ignored" in res.note


def test_empty_input_gives_empty_tables():
    df = _empty_frame().assign(criterion=pd.Series([], dtype=str), role=pd.Series([], dtype=str))
    assert agreement_by_item(df).empty
    assert rater_calibration(df).empty and rater_calibration_by_item(df).empty
    assert disagreements(df).empty


def _with_all_missing_criterion():
    """Expert + specialist on 'tone' (1-5) and a criterion 'na' that everybody marked N/A."""
    return pd.DataFrame(
        {
            "ticket_id": [1, 1, 2, 2, 3, 3, 4, 4] * 2,
            "rater_id": ["x", "s"] * 8,
            "role": ["expert", "specialist"] * 8,
            "criterion": ["tone"] * 8 + ["na"] * 8,
            "score": [3, 4, 2, 2, 5, 5, 1, 2] + [nan] * 8,
        }
    )


@pytest.mark.parametrize("level", rl.LEVELS)
def test_agreement_by_item_survives_an_all_missing_criterion_at_every_level(level):
    df = _with_all_missing_criterion()
    t = agreement_by_item(df, levels={"tone": "ordinal", "na": level}, n_boot=50)
    assert t["criterion"].tolist() == ["tone", "na"]
    tone, na = t.iloc[0], t.iloc[1]
    assert np.isfinite(tone["alpha"])
    assert na["level"] == level and na["verdict"] == "undefined" and na["n_units"] == 0
    assert np.isnan(na[["alpha", "alpha_ci_low", "gwet", "percent_agreement"]].astype(float)).all()
    assert "no ratings, alpha undefined" in na["note"] and "8 missing rating(s)" in na["note"]


def test_scorecard_tables_survive_an_all_missing_interval_criterion():
    sc = Scorecard.from_dict(
        {
            "criteria": [
                {"id": "tone", "scale": [1, 2, 3, 4, 5], "level": "ordinal"},
                {"id": "na", "scale": [0, 5, 10], "level": "interval", "na_allowed": True},
            ]
        }
    )
    df = _with_all_missing_criterion()
    t = agreement_by_item(df, scorecard=sc, n_boot=50)
    assert t["level"].tolist() == ["ordinal", "interval"] and np.isnan(t.loc[1, "alpha"])
    assert t["note"].str.contains("guessed|taken from").sum() == 0
    s = agreement_over_sessions(
        df.assign(session_id="s1", session_date="2026-01-01"), scorecard=sc, ci=None
    )
    assert len(s) == 2 and s["mean_alpha"].iloc[0] == pytest.approx(t.loc[0, "alpha"])
    assert rater_calibration_by_item(df, scorecard=sc, ci=None)["criterion"].tolist() == ["tone"]
    assert (rater_calibration(df, scorecard=sc, ci=None)["note"] == "").all()
    d = disagreements(df, scorecard=sc)
    assert list(d.columns[-2:]) == ["tone", "na"] and d["na"].isna().all()


def test_calibration_tables_survive_an_all_missing_criterion_without_a_scorecard():
    df = _with_all_missing_criterion()
    cal = rater_calibration(df, n_boot=50)
    assert cal["rater_id"].tolist() == ["s"] and np.isfinite(cal.loc[0, "deviation"])
    assert rater_calibration_by_item(df, ci=None)["criterion"].tolist() == ["tone"]
    assert disagreements(df)["na"].isna().all()
    only_na = df[df["criterion"] == "na"]
    assert rater_calibration(only_na).empty
    assert disagreements(only_na).empty
    assert agreement_by_item(only_na)["verdict"].tolist() == ["undefined"]


def test_undefined_resamples_are_dropped_and_counted_in_the_note():
    """Resamples that draw only the unanimous units have no variation (alpha undefined)."""
    df = wide_to_long(np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 2.0]]))
    res = krippendorff_alpha(df, ci=0.9, n_boot=400, seed=0)
    assert np.isfinite(res.estimate)
    assert "resamples undefined (interval from the rest)" in res.note


def test_one_unit_gives_no_interval_and_a_note():
    df = pd.DataFrame({"ticket_id": [1, 1], "rater_id": ["a", "b"], "score": [1.0, 2.0]})
    res = krippendorff_alpha(df, level="interval")
    assert res.estimate == 0.0
    assert np.isnan(res.ci_low) and "at least two units" in res.note


def test_identical_raters_give_perfect_agreement():
    row = np.array([1, 2, 3, 4, 5, 1, 2, 3], float)
    df = wide_to_long(np.vstack([row, row, row]))
    assert krippendorff_alpha(df, level="interval", ci=None).estimate == 1.0
    assert icc(df, ci=None).estimate == pytest.approx(1.0)
    assert cohen_kappa(wide_to_long(np.vstack([row, row])), ci=None).estimate == 1.0


def test_calibration_tables_are_empty_not_crashing_without_comparable_ratings():
    lone = pd.DataFrame(
        {
            "ticket_id": ["t"],
            "rater_id": ["a"],
            "role": ["specialist"],
            "criterion": ["c"],
            "score": [3.0],
        }
    )
    assert rater_calibration(lone).empty
    assert disagreements(lone.iloc[:0]).empty
    assert fleiss_kappa_by_category(lone.assign(score=nan)).empty


def test_one_rater_icc_is_nan_with_note():
    df = wide_to_long(np.array([[1.0, 2.0, 3.0]]))
    res = icc(df)
    assert np.isnan(res.estimate) and "two raters" in res.note


# --------------------------------------------------------------------------- validation
def test_duplicate_rating_is_an_error_naming_unit_rater_and_rows():
    df = pd.DataFrame(
        {
            "ticket_id": ["t1", "t1", "t2", "t1"],
            "rater_id": ["a", "b", "a", "a"],
            "score": [1.0, 2.0, 3.0, 1.0],
        },
        index=[10, 11, 12, 13],
    )
    with pytest.raises(
        ValueError, match=r"ticket_id='t1'.*rater_id='a'.*rows with index labels 10, 13\)"
    ):
        krippendorff_alpha(df)


def test_missing_column_is_an_error_naming_it():
    with pytest.raises(ValueError, match="column 'grade'"):
        krippendorff_alpha(
            pd.DataFrame({"ticket_id": [1], "rater_id": ["a"], "score": [1]}), value="grade"
        )


def test_value_outside_categories_is_an_error_naming_rows():
    df = pd.DataFrame({"ticket_id": [1, 1], "rater_id": ["a", "b"], "score": [1.0, 7.0]})
    with pytest.raises(
        ValueError, match=r"value\(s\) \[7\] not in categories \[1, 2, 3\] \(rows 1\)"
    ):
        gwet_ac(df, categories=[1, 2, 3])


def test_cohen_needs_exactly_two_raters():
    with pytest.raises(ValueError, match="exactly two raters.*found 4"):
        cohen_kappa(wide_to_long(KRIPP_2011))


def test_non_numeric_labels_work_for_nominal_and_are_refused_for_interval():
    df = pd.DataFrame(
        {
            "ticket_id": [1, 1, 2, 2, 3, 3],
            "rater_id": ["a", "b"] * 3,
            "score": ["pass", "pass", "fail", "fail", "pass", "fail"],
        }
    )
    num = df.assign(score=df["score"].map({"pass": 1.0, "fail": 0.0}))
    assert krippendorff_alpha(df, ci=None).estimate == krippendorff_alpha(num, ci=None).estimate
    with pytest.raises(ValueError, match="needs numeric"):
        krippendorff_alpha(df, level="interval")


def test_missing_ratings_are_counted_in_the_note(kripp_long):
    assert "7 missing rating(s) ignored" in krippendorff_alpha(kripp_long, ci=None).note


def test_agreement_is_a_frozen_dataclass_convertible_to_float(kripp_long):
    res = krippendorff_alpha(kripp_long, ci=None)
    assert isinstance(res, Agreement)
    assert float(res) == res.estimate
    with pytest.raises(AttributeError):
        res.estimate = 0.0  # type: ignore[misc]


# --------------------------------------------------------------------------- per-item, calibration
def _calibration_fixture():
    """Two criteria (binary, 1-5), 60 tickets, an expert, an aligned, a lenient and a
    severe specialist."""
    rng = np.random.default_rng(0)
    rows = []
    for t in range(60):
        truth5 = rng.integers(2, 5)
        truth2 = int(rng.random() < 0.5)
        for rater, role, bias in [
            ("X", "expert", 0),
            ("S1", "specialist", 0),
            ("S2", "specialist", 1),
            ("S3", "specialist", -1),
        ]:
            noise = rng.integers(-1, 2) * (rng.random() < 0.2)
            rows.append((t, rater, role, "tone", float(np.clip(truth5 + bias + noise, 1, 5))))
            b2 = truth2
            if bias > 0 and rng.random() < 0.7:
                b2 = 1
            if bias < 0 and rng.random() < 0.7:
                b2 = 0
            rows.append((t, rater, role, "greeting", float(b2)))
    return pd.DataFrame(rows, columns=["ticket_id", "rater_id", "role", "criterion", "score"])


def test_agreement_by_item_has_one_row_per_criterion_with_intervals_and_verdicts():
    df = _calibration_fixture()
    t = agreement_by_item(df, levels={"tone": "ordinal", "greeting": "nominal"}, n_boot=200)
    assert t["criterion"].tolist() == ["tone", "greeting"]
    assert (t["alpha_ci_low"] <= t["alpha"]).all() and (t["alpha"] <= t["alpha_ci_high"]).all()
    assert t.loc[0, "gwet_coefficient"] == "AC2 (ordinal)" and t.loc[1, "gwet_coefficient"] == "AC1"
    single = krippendorff_alpha(df[df.criterion == "tone"], level="ordinal", ci=None).estimate
    assert t.loc[0, "alpha"] == pytest.approx(single)
    assert set(t["verdict"]) <= {"reliable", "tentative", "unreliable", "undefined"}


def test_alpha_verdict_bands_follow_krippendorff():
    assert [alpha_verdict(x) for x in (0.80, 0.7999, 0.667, 0.5, nan)] == [
        "reliable",
        "tentative",
        "tentative",
        "unreliable",
        "undefined",
    ]


def test_rater_calibration_flags_lenient_and_severe_against_the_expert():
    t = rater_calibration(_calibration_fixture(), n_boot=300).set_index("rater_id")
    assert "X" not in t.index  # the expert is the reference
    assert t.loc["S1", "verdict"] == "aligned"
    assert t.loc["S2", "verdict"] == "lenient" and t.loc["S2", "deviation"] > 0
    assert t.loc["S3", "verdict"] == "severe" and t.loc["S3", "deviation"] < 0
    assert (t["reference"] == "expert").all()
    assert t.loc["S1", "match_rate"] > t.loc["S2", "match_rate"]


def test_rater_calibration_lenient_rater_flagged_on_both_binary_and_five_point_items():
    t = rater_calibration_by_item(_calibration_fixture(), n_boot=300)
    s2 = t[t.rater_id == "S2"].set_index("criterion")
    assert (s2["deviation_share"] > 0).all()
    assert (s2["verdict"] == "lenient").all()


def test_alignment_score_follows_maestroqa_formula():
    """MaestroQA: per criterion 1 - |specialist - calibrator| / (max - min), weighted."""
    df = pd.DataFrame(
        {
            "ticket_id": [1, 1, 1, 1],
            "rater_id": ["X", "S", "X", "S"],
            "role": ["expert", "specialist"] * 2,
            "criterion": ["tone", "tone", "greet", "greet"],
            "score": [5.0, 3.0, 1.0, 1.0],
        }
    )

    class _Crit:
        def __init__(self, scale, weight):
            self.scale, self.weight, self.range = scale, weight, scale[-1] - scale[0]

    class _SC:
        crit = {"tone": _Crit((1, 2, 3, 4, 5), 3.0), "greet": _Crit((0, 1), 1.0)}
        ids = ["tone", "greet"]

        def __contains__(self, c):
            return c in self.crit

        def __getitem__(self, c):
            return self.crit[c]

    t = rater_calibration(df, scorecard=_SC(), ci=None)
    expected = (3 * (1 - 2 / 4) + 1 * 1.0) / 4
    assert t.loc[0, "alignment"] == pytest.approx(expected)


def test_consensus_reference_is_leave_one_out():
    """With no expert each rater is compared with the *other* raters only: a rater who
    disagrees with two unanimous colleagues has match rate 0 (not 1/3)."""
    df = pd.DataFrame(
        {
            "ticket_id": [1, 1, 1, 2, 2, 2],
            "rater_id": ["a", "b", "c"] * 2,
            "criterion": "tone",
            "score": [3.0, 3.0, 5.0, 2.0, 2.0, 4.0],
        }
    )
    t = rater_calibration(df, ci=None).set_index("rater_id")
    assert t.loc["c", "match_rate"] == 0.0
    assert t.loc["c", "deviation"] == 2.0
    assert t.loc["a", "deviation"] == pytest.approx(-1.0)  # 3 vs mean(3, 5)
    assert t["reference"].iloc[0] == "consensus (no expert in data)"


def test_rater_calibration_intervals_are_reproducible():
    df = _calibration_fixture()
    a = rater_calibration(df, n_boot=200, seed=4)
    b = rater_calibration(df, n_boot=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert (a["deviation_ci_low"] <= a["deviation"]).all()


def test_disagreements_rank_split_tickets_first():
    df = pd.DataFrame(
        {
            "ticket_id": ["t1"] * 3 + ["t2"] * 3 + ["t3"] * 3,
            "rater_id": ["a", "b", "c"] * 3,
            "criterion": "tone",
            "score": [3.0, 3.0, 3.0, 1.0, 5.0, 3.0, 2.0, 3.0, 3.0],
        }
    )
    t = disagreements(df)
    assert t["ticket_id"].tolist() == ["t2", "t3", "t1"]
    # Gini mean difference of (1, 3, 5) = (2 + 4 + 2) / 3 = 8/3, on a range of 4
    assert t.loc[0, "split"] == pytest.approx(8 / 3 / 4)
    assert t.loc[0, "tone"] == 4.0 and t.loc[0, "most_split"] == "tone"
    assert t.loc[2, "n_split"] == 0
    assert len(disagreements(df, top=1)) == 1


def test_agreement_over_sessions_lists_sessions_in_date_order():
    df = _calibration_fixture()
    df["session_id"] = np.where(df["ticket_id"] < 15, "s2", "s1")
    df["session_date"] = pd.to_datetime(np.where(df["ticket_id"] < 15, "2026-02-01", "2026-01-01"))
    t = agreement_over_sessions(df, ci=None)
    assert t["session_id"].drop_duplicates().tolist() == ["s1", "s2"]
    assert len(t) == 4 and "mean_alpha" in t


# --------------------------------------------------------------------------- demo data
def test_demo_ambiguous_criterion_has_the_lowest_alpha(demo_data):
    cal = demo_data.calibration
    t = agreement_by_item(cal[cal.region == "EU"], scorecard=demo_data.scorecard, ci=None)
    assert t.sort_values("alpha").iloc[0]["criterion"] == demo_data.planted["ambiguous_criterion"]


def test_demo_planted_lenient_and_severe_specialists_are_flagged(demo_data):
    t = rater_calibration(demo_data.calibration, scorecard=demo_data.scorecard, n_boot=200)
    verdict = dict(zip(t["rater_id"], t["verdict"], strict=True))
    for r in demo_data.planted["lenient_raters"]:
        assert verdict[r] == "lenient"
    for r in demo_data.planted["severe_raters"]:
        assert verdict[r] == "severe"
    others = (
        set(verdict)
        - set(demo_data.planted["lenient_raters"])
        - set(demo_data.planted["severe_raters"])
    )
    assert all(verdict[r] == "aligned" for r in others)


# --------------------------------------------------------------------------- docs
def test_docstring_examples_run():
    res = doctest.testmod(rl, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted >= 10


# --------------------------------------------------------------------------- scales and levels of per-item tables
def _narrow_tone():
    """An expert and a specialist who only ever use 3 and 4 of a 1-5 scale."""
    return pd.DataFrame(
        {
            "ticket_id": np.repeat(np.arange(6), 2),
            "rater_id": ["x", "s"] * 6,
            "role": ["expert", "specialist"] * 6,
            "criterion": "tone",
            "score": [3, 4, 3, 3, 4, 4, 3, 4, 4, 4, 3, 3],
        }
    )


def test_agreement_by_item_notes_a_guessed_level_and_scale():
    t = agreement_by_item(_narrow_tone(), ci=None)
    assert t.loc[0, "level"] == "nominal"
    note = t.loc[0, "note"]
    assert "level guessed: nominal (2 values seen); pass scorecard= or levels=" in note
    assert "scale taken from the values seen [3, 4]; pass scorecard= or categories=" in note


@pytest.mark.parametrize("categories", [[1, 2, 3, 4, 5], {"tone": [1, 2, 3, 4, 5]}])
def test_agreement_by_item_categories_make_unused_levels_count(categories):
    df = _narrow_tone()
    t = agreement_by_item(df, categories=categories, ci=None)
    assert t.loc[0, "level"] == "ordinal"  # guessed from the 5 scale levels, not the 2 used
    assert t.loc[0, "note"] == "level guessed: ordinal (5 scale levels); pass scorecard= or levels="
    full = gwet_ac(df, weights="ordinal", categories=[1, 2, 3, 4, 5], ci=None).estimate
    seen = gwet_ac(df, weights="ordinal", ci=None).estimate
    assert t.loc[0, "gwet"] == pytest.approx(full, abs=1e-12) and full != pytest.approx(seen)
    t2 = agreement_by_item(df, categories=categories, levels="ordinal", ci=None)
    assert t2.loc[0, "note"] == "" and t2.loc[0, "gwet"] == t.loc[0, "gwet"]


def test_levels_string_applies_to_every_criterion_and_categories_override_the_scorecard():
    df = _narrow_tone()
    sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [3, 4], "level": "nominal"}]})
    t = agreement_by_item(
        df, scorecard=sc, levels="interval", categories={"tone": [1, 2, 3, 4, 5]}, ci=None
    )
    assert t.loc[0, "level"] == "interval" and t.loc[0, "note"] == ""
    ref = gwet_ac(df, weights="quadratic", categories=[1, 2, 3, 4, 5], ci=None).estimate
    assert t.loc[0, "gwet"] == pytest.approx(ref, abs=1e-12)
    s = agreement_over_sessions(
        df.assign(session_id="s"), date=None, categories=[1, 2, 3, 4, 5], ci=None
    )
    assert s.loc[0, "level"] == "ordinal" and s.loc[0, "gwet"] == pytest.approx(
        agreement_by_item(df, categories=[1, 2, 3, 4, 5], ci=None).loc[0, "gwet"]
    )


def test_agreement_by_item_rejects_a_bare_string_as_categories():
    with pytest.raises(TypeError, match="mapping criterion -> list"):
        agreement_by_item(_narrow_tone(), categories="12345", ci=None)


def test_rater_calibration_categories_set_the_scale_range_and_the_note_says_when_guessed():
    df = _narrow_tone()  # the specialist is 1 point above the expert on 2 of 6 tickets
    seen = rater_calibration(df, ci=None)
    assert seen.loc[0, "deviation"] == pytest.approx(2 / 6)
    assert seen.loc[0, "deviation_share"] == pytest.approx(2 / 6)  # observed range 3..4
    assert seen.loc[0, "note"].startswith("scale of tone taken from the values seen")
    for cats in ([1, 2, 3, 4, 5], {"tone": [1, 2, 3, 4, 5]}):
        full = rater_calibration(df, ci=None, categories=cats)
        assert full.loc[0, "deviation_share"] == pytest.approx(2 / 6 / 4)
        assert full.loc[0, "note"] == ""
    by_item = rater_calibration_by_item(df, ci=None, categories=[1, 2, 3, 4, 5])
    assert by_item.loc[0, "deviation_share"] == pytest.approx(2 / 6 / 4)
    with pytest.raises(
        ValueError, match=r"criterion 'tone' has value\(s\) \[3, 4\] outside its scale \[0, 1\]"
    ):
        rater_calibration(df, ci=None, categories=[0, 1])


def test_disagreements_categories_set_the_scale_range():
    df = _narrow_tone()
    split_seen = disagreements(df).loc[0, "split"]
    split_full = disagreements(df, categories={"tone": [1, 2, 3, 4, 5]}).loc[0, "split"]
    assert split_seen == 1.0 and split_full == 0.25


# --------------------------------------------------------------------------- error messages
def test_duplicated_index_labels_make_errors_cite_positions():
    df = pd.DataFrame(
        {
            "ticket_id": ["t1", "t1", "t2", "t1"],
            "rater_id": ["a", "b", "a", "a"],
            "score": [1.0] * 4,
        },
        index=[0, 0, 1, 1],
    )
    with pytest.raises(
        ValueError, match=r"rows at positions 0, 3 \(the index has duplicate labels\)"
    ):
        krippendorff_alpha(df)


def test_string_index_labels_are_quoted_in_errors():
    df = pd.DataFrame(
        {"ticket_id": [1, 1], "rater_id": ["a", "b"], "score": [1.0, 9.0]}, index=["p", "q"]
    )
    with pytest.raises(
        ValueError,
        match=r"value\(s\) \[9\] not in categories \[1, 2\] \(rows with index labels 'q'\)",
    ):
        gwet_ac(df, categories=[1, 2])


def test_per_item_errors_cite_positions_in_the_whole_table():
    """A duplicate inside the second criterion is reported at its positions in the caller's
    table, not in the per-criterion subset."""
    df = pd.DataFrame(
        {
            "session_id": "s1",
            "ticket_id": [1, 1, 1, 1, 2],
            "rater_id": ["a", "b", "a", "a", "b"],
            "criterion": ["c1", "c1", "c2", "c2", "c2"],
            "score": [1.0, 1.0, 0.0, 1.0, 1.0],
        },
        index=[7, 7, 7, 7, 7],
    )
    pattern = r"ticket_id=1, rater_id='a' occurs 2 times \(rows at positions 2, 3 \(the index"
    with pytest.raises(ValueError, match=pattern):
        agreement_by_item(df, ci=None)
    with pytest.raises(ValueError, match=pattern):
        agreement_over_sessions(df, date=None, ci=None)
    with pytest.raises(
        ValueError, match=r"criterion='c2', rater_id='a' occurs 2 times \(rows at positions 2, 3"
    ):
        rater_calibration(df, ci=None)


def test_error_messages_show_plain_python_values_not_numpy_reprs():
    ints = pd.DataFrame(
        {
            "ticket_id": np.array([1, 1, 1], np.int64),
            "rater_id": np.array([5, 6, 5], np.int64),
            "criterion": "tone",
            "score": np.array([1, 2, 9], np.int64),
        }
    )
    messages = []
    for call in (
        lambda: krippendorff_alpha(ints),
        lambda: rater_calibration(
            ints.iloc[:2].assign(score=[1, 9]), categories=[1, 2, 3], ci=None
        ),
        lambda: gwet_ac(ints.iloc[:2].assign(score=[1.0, 9.0]), categories=[1.0, 2.0]),
        lambda: cohen_kappa(ints.assign(rater_id=[1, 2, 3])),
        lambda: agreement_by_item(
            ints.iloc[:2],
            scorecard=Scorecard.from_dict({"criteria": [{"id": "x", "scale": [0, 1]}]}),
        ),
    ):
        with pytest.raises(ValueError) as err:
            call()
        messages.append(str(err.value))
    assert not any("np." in m or "float64" in m or "int64" in m for m in messages), messages
    assert "ticket_id=1, rater_id=5 occurs 2 times (rows 0, 2)" in messages[0]
    assert "value(s) [9] outside its scale [1, 2, 3] (rows 1)" in messages[1]
    assert "value(s) [9] not in categories [1, 2] (rows 1)" in messages[2]
    assert "found 3: [1, 2, 3]" in messages[3]
    assert "criteria ['tone'] are not in the scorecard" in messages[4]
