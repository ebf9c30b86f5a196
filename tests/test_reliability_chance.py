"""Tests for Gwet, Brennan-Prediger, Fleiss and percent agreement (qa_analysis.reliability.chance).

Published worked examples are cited next to each test; peer libraries
(krippendorff, statsmodels, scikit-learn, pingouin) are oracles on random data
with missing values, to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest
from reliability_cases import (
    DIAGNOSES,
    KRIPP_2011,
    random_ratings,
    table_to_long,
    wide_to_long,
)

from qa_analysis.reliability import (
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_by_category,
    gwet_ac,
    percent_agreement,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


@pytest.fixture(scope="module")
def kripp_long():
    return wide_to_long(KRIPP_2011)


def test_fleiss_kappa_matches_fleiss_1971_diagnoses():
    """Fleiss (1971), 30 subjects x 6 raters x 5 categories: kappa = .430 (R irr::kappam.fleiss)."""
    res = fleiss_kappa(wide_to_long(DIAGNOSES.T), confidence=None)
    assert round(res.estimate, 3) == 0.430


def test_fleiss_per_category_kappas_match_r_irr():
    """R irr::kappam.fleiss(diagnoses, detail=TRUE): .245 .245 .520 .471 .566."""
    t = fleiss_kappa_by_category(wide_to_long(DIAGNOSES.T))
    assert t["category"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(t["kappa"].round(3), [0.245, 0.245, 0.520, 0.471, 0.566])


def test_gwet_ac1_on_krippendorff_data_matches_irrcac(kripp_long):
    """irrCAC cac.raw4raters (the same 12 x 4 data): gwet.ac1.raw = 0.7754, fleiss.kappa.raw = 0.7612."""
    assert gwet_ac(kripp_long, confidence=None).estimate == pytest.approx(0.7754, abs=5e-5)
    assert fleiss_kappa(kripp_long, confidence=None).estimate == pytest.approx(0.7612, abs=5e-5)
    assert percent_agreement(kripp_long, confidence=None).estimate == pytest.approx(
        0.8182, abs=5e-5
    )


def test_two_rater_table_matches_gwet_handbook():
    """Gwet (2014) two raters, table [[13,0,0],[0,20,7],[0,4,56]]: AC1 .849, Cohen .796, pa .89."""
    df = table_to_long([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    assert round(gwet_ac(df, confidence=None).estimate, 3) == 0.849
    assert round(cohen_kappa(df, confidence=None).estimate, 3) == 0.796
    assert round(percent_agreement(df, confidence=None).estimate, 2) == 0.89


def test_kappa_paradox_high_agreement_low_kappa_high_ac1():
    """Feinstein & Cicchetti (1990) / Gwet (2008): [[94,3],[2,1]] gives kappa ~ .26, AC1 ~ .95."""
    df = table_to_long([[94, 3], [2, 1]])
    assert cohen_kappa(df, confidence=None).estimate == pytest.approx(0.26, abs=0.01)
    assert gwet_ac(df, confidence=None).estimate == pytest.approx(0.95, abs=0.01)


@pytest.mark.parametrize("seed", [1, 2])
def test_fleiss_equals_statsmodels_with_equal_raters(seed):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    mat = random_ratings(seed, n_units=50, n_raters=6, missing=0.0)
    table, _ = inter_rater.aggregate_raters(mat.T)
    ours = fleiss_kappa(wide_to_long(mat), confidence=None).estimate
    assert ours == pytest.approx(inter_rater.fleiss_kappa(table, method="fleiss"), abs=1e-9)


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
    ours = gwet_ac(wide_to_long(mat), weights=weights, categories=cats, confidence=None).estimate
    assert ours == pytest.approx(_hand_gwet(mat, cats, weights, "gwet"), abs=1e-12)


@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_brennan_prediger_equals_hand_computed_formula(weights):
    cats = (1, 2, 3, 4, 5)
    mat = random_ratings(4, n_units=30, n_raters=4, missing=0.25)
    ours = brennan_prediger(
        wide_to_long(mat), weights=weights, categories=cats, confidence=None
    ).estimate
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
    kw = {"weights": weights, "categories": [1, 2, 3, 4, 5], "confidence": None}
    assert gwet_ac(kripp_long, **kw).estimate == pytest.approx(ac, abs=6e-6)
    assert brennan_prediger(kripp_long, **kw).estimate == pytest.approx(bp, abs=6e-6)
    assert fleiss_kappa(kripp_long, **kw).estimate == pytest.approx(fk, abs=6e-6)


def test_unused_scale_levels_change_ac1_as_gwet_defines():
    df = wide_to_long(random_ratings(5, levels=(1, 2, 3), missing=0.1))
    small = gwet_ac(df, confidence=None).estimate
    full = gwet_ac(df, categories=[1, 2, 3, 4, 5], confidence=None).estimate
    assert small != pytest.approx(full)


def test_single_used_category_on_a_full_scale_gives_ac1_of_one():
    """Gwet's AC1 is defined (= 1) when raters agree perfectly on one of several levels."""
    df = wide_to_long(np.full((3, 10), 5.0))
    assert gwet_ac(df, categories=[1, 2, 3, 4, 5], confidence=None).estimate == 1.0
    assert np.isnan(gwet_ac(df, confidence=None).estimate)
    assert "only one category" in gwet_ac(df, confidence=None).note
