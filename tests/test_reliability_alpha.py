"""Tests for Krippendorff's alpha (qa_analysis.reliability.alpha).

Published worked examples are cited next to each test; peer libraries
(krippendorff, statsmodels, scikit-learn, pingouin) are oracles on random data
with missing values, to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reliability_cases import (
    KRIPP_2011,
    random_ratings,
    wide_to_long,
)

from qa_analysis.reliability import (
    krippendorff_alpha,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


@pytest.fixture(scope="module")
def kripp_long():
    return wide_to_long(KRIPP_2011)


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
    res = krippendorff_alpha(kripp_long, level=level, confidence=None)
    assert round(res.estimate, 3) == expected
    assert res.n_units == 12 and res.n_raters == 4
    assert res.n_pairable == 40  # Krippendorff's n: 41 values, one unpairable (unit 12)


def test_nominal_alpha_observed_and_expected_disagreement_match_2011_example(kripp_long):
    """Krippendorff (2011): D_o = 4/40 * 2 ... alpha = 1 - D_o/D_e with n=40."""
    res = krippendorff_alpha(kripp_long, level="nominal", confidence=None)
    assert res.estimate == pytest.approx(1 - res.observed / res.expected)
    assert res.estimate == pytest.approx(0.7434210526, abs=1e-9)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alpha_equals_krippendorff_package_on_random_data_with_missing(level, seed):
    krippendorff = pytest.importorskip("krippendorff")
    mat = random_ratings(seed, n_units=60, n_raters=5, levels=(0, 1, 2, 4, 7, 9))
    ours = krippendorff_alpha(wide_to_long(mat), level=level, confidence=None).estimate
    theirs = krippendorff.alpha(mat, level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_alpha_with_unused_categories_equals_krippendorff_value_domain():
    krippendorff = pytest.importorskip("krippendorff")
    mat = random_ratings(7, levels=(1, 2, 3))
    dom = [1, 2, 3, 4, 5]
    for level in ("nominal", "ordinal", "interval"):
        ours = krippendorff_alpha(
            wide_to_long(mat), level=level, categories=dom, confidence=None
        ).estimate
        theirs = krippendorff.alpha(mat, level_of_measurement=level, value_domain=dom)
        assert ours == pytest.approx(theirs, abs=1e-9)


def test_non_numeric_labels_work_for_nominal_and_are_refused_for_interval():
    df = pd.DataFrame(
        {
            "ticket_id": [1, 1, 2, 2, 3, 3],
            "rater_id": ["a", "b"] * 3,
            "score": ["pass", "pass", "fail", "fail", "pass", "fail"],
        }
    )
    num = df.assign(score=df["score"].map({"pass": 1.0, "fail": 0.0}))
    assert (
        krippendorff_alpha(df, confidence=None).estimate
        == krippendorff_alpha(num, confidence=None).estimate
    )
    with pytest.raises(ValueError, match="needs numeric"):
        krippendorff_alpha(df, level="interval")


def test_missing_ratings_are_counted_in_the_note(kripp_long):
    assert "7 missing rating(s) ignored" in krippendorff_alpha(kripp_long, confidence=None).note
