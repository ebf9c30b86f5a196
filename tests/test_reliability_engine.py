"""Tests for the shared engine: input checks, error messages, undefined cases, results, docs.

Published worked examples are cited next to each test; peer libraries
(krippendorff, statsmodels, scikit-learn, pingouin) are oracles on random data
with missing values, to 1e-9.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pandas as pd
import pytest
from reliability_cases import (
    KRIPP_2011,
    all_missing_frame,
    empty_frame,
    random_ratings,
    wide_to_long,
)

from qa_analysis import reliability as rl
from qa_analysis.errors import DataError
from qa_analysis.reliability import (
    Agreement,
    _engine,
    agreement_by_item,
    alpha,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
    icc,
    krippendorff_alpha,
    percent_agreement,
    rater_calibration,
)
from qa_analysis.scorecard import Scorecard

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

nan = np.nan


@pytest.fixture(scope="module")
def kripp_long():
    return wide_to_long(KRIPP_2011)


def test_sparse_paths_equal_dense_paths(monkeypatch):
    """Many categories (or tiny memory budgets) switch to sparse per-unit features."""
    krippendorff = pytest.importorskip("krippendorff")
    mat = random_ratings(2, n_units=50, n_raters=4, levels=tuple(range(0, 40, 2)), missing=0.2)
    df = wide_to_long(mat)
    dense = {lvl: krippendorff_alpha(df, level=lvl, confidence=None).estimate for lvl in rl.LEVELS}
    dense_ac = gwet_ac(df, weights="quadratic", confidence=None).estimate
    monkeypatch.setattr(_engine, "_DENSE_FEATURES", 0)
    monkeypatch.setattr(_engine, "_DENSE_COUNTS", 0)
    for lvl in rl.LEVELS:
        sp = krippendorff_alpha(df, level=lvl, confidence=None).estimate
        assert sp == pytest.approx(dense[lvl], abs=1e-12)
        assert sp == pytest.approx(krippendorff.alpha(mat, level_of_measurement=lvl), abs=1e-9)
    assert gwet_ac(df, weights="quadratic", confidence=None).estimate == pytest.approx(
        dense_ac, abs=1e-12
    )
    res = krippendorff_alpha(df, level="ordinal", confidence=0.9, n_boot=50)
    assert res.ci_low <= res.estimate <= res.ci_high


def test_hundred_distinct_values_without_compression():
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 101, 300)
    mat = np.clip(truth + rng.integers(-5, 6, (5, 300)), 0, 100).astype(float)
    mat[rng.random(mat.shape) < 0.1] = nan
    res = krippendorff_alpha(wide_to_long(mat), level="interval", confidence=0.9, n_boot=100)
    assert res.estimate == pytest.approx(
        krippendorff.alpha(mat, level_of_measurement="interval"), abs=1e-9
    )
    assert res.ci_low <= res.estimate <= res.ci_high


def test_single_category_gives_nan_with_note():
    df = wide_to_long(np.full((3, 10), 5.0))
    res = krippendorff_alpha(df, level="ordinal")
    assert np.isnan(res.estimate) and np.isnan(res.ci_low)
    assert res.note.startswith("no variation: every rating is 5")
    assert np.isnan(fleiss_kappa(df).estimate)
    assert "chance agreement is 1" in fleiss_kappa(df).note
    assert np.isnan(cohen_kappa(wide_to_long(np.full((2, 4), 1.0))).estimate)
    assert np.isnan(icc(df).estimate) and "no variation" in icc(df).note


def test_no_pairable_values_gives_nan_with_note():
    df = pd.DataFrame(
        {"ticket_id": [1, 2, 3], "rater_id": ["a", "b", "c"], "score": [1.0, 2.0, 3.0]}
    )
    for fn in (krippendorff_alpha, gwet_ac, fleiss_kappa, percent_agreement):
        res = fn(df)
        assert np.isnan(res.estimate)
        assert "no pairable ratings" in res.note
        assert res.n_pairable == 0


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


@pytest.mark.parametrize("confidence", [None, 0.95])
@pytest.mark.parametrize("make", [empty_frame, all_missing_frame], ids=["empty", "all-missing"])
@pytest.mark.parametrize("name", list(EVERY_COEFFICIENT))
def test_empty_or_all_missing_input_gives_nan_with_a_note_for_every_coefficient(
    name, make, confidence
):
    """RuntimeWarnings are errors in this module, so this also checks that none is emitted."""
    res = EVERY_COEFFICIENT[name](make(), confidence=confidence)
    assert np.isnan(res.estimate) and np.isnan(res.ci_low) and np.isnan(res.ci_high)
    assert res.n_units == 0 and res.n_pairable == 0
    assert "undefined" in res.note
    if make is all_missing_frame:
        assert "4 missing rating(s) ignored" in res.note


def test_identical_raters_give_perfect_agreement():
    row = np.array([1, 2, 3, 4, 5, 1, 2, 3], float)
    df = wide_to_long(np.vstack([row, row, row]))
    assert krippendorff_alpha(df, level="interval", confidence=None).estimate == 1.0
    assert icc(df, confidence=None).estimate == pytest.approx(1.0)
    assert cohen_kappa(wide_to_long(np.vstack([row, row])), confidence=None).estimate == 1.0


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


def test_agreement_is_a_frozen_dataclass_convertible_to_float(kripp_long):
    res = krippendorff_alpha(kripp_long, confidence=None)
    assert isinstance(res, Agreement)
    assert float(res) == res.estimate
    with pytest.raises(AttributeError):
        res.estimate = 0.0


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
            ints.iloc[:2].assign(score=[1, 9]), categories=[1, 2, 3], confidence=None
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


def test_docstring_examples_run():
    """Every module of the subpackage has runnable examples (also run by --doctest-modules)."""
    attempted = {}
    for info in pkgutil.iter_modules(rl.__path__):
        mod = importlib.import_module(f"qa_analysis.reliability.{info.name}")
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0, info.name
        attempted[info.name] = res.attempted
    public = {"alpha", "chance", "kappa", "icc", "tables", "calibration"}
    assert public <= set(attempted) and all(attempted[m] >= 2 for m in public), attempted


def test_agreement_repr_is_one_readable_line(kripp_long):
    res = krippendorff_alpha(kripp_long, level="ordinal", n_boot=200, seed=1)
    text = repr(res)
    assert text.startswith("Agreement(krippendorff_alpha (ordinal) = 0.815 [")
    assert f"{res.ci_low:.3f}, {res.ci_high:.3f}]" in text
    assert "n_units=12, n_raters=4, n_pairable=40" in text
    assert "note='7 missing rating(s) ignored'" in text and "\n" not in text
    bare = krippendorff_alpha(kripp_long, confidence=None)
    assert "[" not in repr(bare)


def test_data_problems_raise_data_error_naming_the_data():
    df = pd.DataFrame({"ticket_id": [1, 1], "rater_id": ["a", "a"], "score": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"^data: duplicate rating"):
        krippendorff_alpha(df)
    with pytest.raises(DataError, match="column 'grade'"):
        gwet_ac(df, value="grade")


@pytest.mark.parametrize("name", list(EVERY_COEFFICIENT))
def test_non_dataframe_input_is_a_type_error_for_every_coefficient(name):
    rows = [{"ticket_id": 1, "rater_id": "a", "score": 1.0}]
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        EVERY_COEFFICIENT[name](rows)


def test_every_public_name_is_reachable_from_the_package():
    for name in rl.__all__:
        assert getattr(rl, name) is not None, name
    assert rl.krippendorff_alpha is alpha.krippendorff_alpha
    assert rl.rater_calibration.__module__ == "qa_analysis.reliability.calibration"
