"""Tests for Cohen's kappa (qa_analysis.reliability.kappa).

Published worked examples are cited next to each test; peer libraries
(krippendorff, statsmodels, scikit-learn, pingouin) are oracles on random data
with missing values, to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest
from reliability_cases import (
    KRIPP_2011,
    random_ratings,
    table_to_long,
    wide_to_long,
)

from qa_analysis.reliability import (
    cohen_kappa,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", [1, 2])
def test_cohen_equals_scikit_learn_on_integer_labels(weights, seed):
    metrics = pytest.importorskip("sklearn.metrics")
    mat = random_ratings(seed, n_units=80, n_raters=2, levels=(0, 1, 2, 3, 4), missing=0.1)
    res = cohen_kappa(wide_to_long(mat), weights=weights, confidence=None)
    both = np.isfinite(mat).all(axis=0)  # scikit-learn takes complete pairs only
    theirs = metrics.cohen_kappa_score(mat[0, both], mat[1, both], weights=weights)
    assert res.estimate == pytest.approx(theirs, abs=1e-9)
    assert res.n_pairable == 2 * both.sum() and "not rated by both raters dropped" in res.note


def test_cohen_weights_use_category_values_not_positions():
    """Scale [0, 1, 5]: a 1-vs-5 disagreement weighs 4, a 0-vs-1 disagreement 1
    (Cohen 1968: kappa_w = 1 - sum d_ij p_ij / sum d_ij p_i. p_.j, by hand below)."""
    table = np.array([[5, 3, 1], [2, 5, 0], [1, 3, 5]])
    df = table_to_long(table, labels=[0, 1, 5])
    p = table / table.sum()
    e = np.outer(p.sum(1), p.sum(0))
    v = np.array([0.0, 1.0, 5.0])
    d = np.abs(v[:, None] - v[None, :])
    by_value = cohen_kappa(df, weights="linear", confidence=None).estimate
    assert by_value == pytest.approx(1 - (d * p).sum() / (d * e).sum(), abs=1e-12)
    relabelled = df.assign(score=df["score"].replace({5.0: 2.0}))
    by_position = cohen_kappa(relabelled, weights="linear", confidence=None).estimate
    assert by_value != pytest.approx(by_position)


def test_cohen_bootstrap_interval_contains_estimate():
    df = table_to_long([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    res = cohen_kappa(df, confidence=0.95, n_boot=400, seed=1)
    assert res.ci_low < res.estimate < res.ci_high


def test_cohen_needs_exactly_two_raters():
    with pytest.raises(ValueError, match=r"exactly two raters.*found 4"):
        cohen_kappa(wide_to_long(KRIPP_2011))
