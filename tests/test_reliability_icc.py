"""Tests for Intraclass correlations (qa_analysis.reliability.icc).

Published worked examples are cited next to each test; peer libraries
(krippendorff, statsmodels, scikit-learn, pingouin) are oracles on random data
with missing values, to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest
from reliability_cases import (
    SHROUT_FLEISS,
    wide_to_long,
)

from qa_analysis import reliability as rl
from qa_analysis.reliability import (
    icc,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


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
    res = icc(wide_to_long(SHROUT_FLEISS.T), form=form, confidence=None)
    assert round(res.estimate, 3) == expected


def test_icc_accepts_pingouin_type_aliases():
    df = wide_to_long(SHROUT_FLEISS.T)
    assert (
        icc(df, form="ICC2", confidence=None).estimate
        == icc(df, form="ICC(A,1)", confidence=None).estimate
    )
    assert (
        icc(df, form="ICC3k", confidence=None).estimate
        == icc(df, form="ICC(C,k)", confidence=None).estimate
    )
    with pytest.raises(ValueError, match="form must be one of"):
        icc(df, form="ICC(9,9)")


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
        assert icc(df, form=form, confidence=None).estimate == pytest.approx(ref[form], abs=1e-9)


def test_one_rater_icc_is_nan_with_note():
    df = wide_to_long(np.array([[1.0, 2.0, 3.0]]))
    res = icc(df)
    assert np.isnan(res.estimate) and "two raters" in res.note
