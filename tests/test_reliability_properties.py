"""Property tests (hypothesis) of invariants every reliability coefficient must satisfy.

A coefficient is a function of *which ratings go together*, not of how raters or
units are named or in which order rows arrive: relabelling raters, relabelling
units and shuffling rows leave it unchanged. A unit rated by a single rater has
no pairable rating, so it does not change Krippendorff's alpha (Krippendorff
2011, section A: only pairable values enter the coincidence matrix).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from qa_analysis.reliability import (
    LEVELS,
    Agreement,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
    icc,
    krippendorff_alpha,
    percent_agreement,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

COEFFICIENTS: dict[str, Callable[[pd.DataFrame], Agreement]] = {
    **{f"alpha {lv}": partial(krippendorff_alpha, level=lv, confidence=None) for lv in LEVELS},
    "gwet ac1": lambda d: gwet_ac(d, confidence=None),
    "gwet ac2 quadratic": lambda d: gwet_ac(d, weights="quadratic", confidence=None),
    "fleiss": lambda d: fleiss_kappa(d, confidence=None),
    "brennan_prediger": lambda d: brennan_prediger(d, confidence=None),
    "percent": lambda d: percent_agreement(d, confidence=None),
    "icc A1": lambda d: icc(d, form="ICC(A,1)", confidence=None),
    "icc C1": lambda d: icc(d, form="ICC(C,1)", confidence=None),
}

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# units x raters matrices with scores 1..4 and missing ratings (NaN)
matrices = hnp.arrays(
    dtype=float,
    shape=st.tuples(st.integers(2, 12), st.integers(2, 4)),
    elements=st.sampled_from([1.0, 2.0, 3.0, 4.0, np.nan]),
)


def to_long(mat: np.ndarray) -> pd.DataFrame:
    u, r = np.indices(mat.shape)
    return pd.DataFrame(
        {"ticket_id": u.ravel(), "rater_id": [f"r{i}" for i in r.ravel()], "score": mat.ravel()}
    )


def estimates(df: pd.DataFrame) -> dict[str, float]:
    return {name: fn(df).estimate for name, fn in COEFFICIENTS.items()}


def assert_same(a: dict[str, float], b: dict[str, float]) -> None:
    for name in a:
        if np.isnan(a[name]):
            assert np.isnan(b[name]), name
        else:
            assert b[name] == pytest.approx(a[name], abs=1e-9), name


@SETTINGS
@given(mat=matrices, seed=st.integers(0, 2**32 - 1))
def test_relabelling_raters_leaves_every_coefficient_unchanged(mat, seed):
    df = to_long(mat)
    names = df["rater_id"].unique()
    perm = np.random.default_rng(seed).permutation(len(names))
    new = {old: f"rater-{p}" for old, p in zip(names, perm, strict=True)}
    assert_same(estimates(df), estimates(df.assign(rater_id=df["rater_id"].map(new))))


@SETTINGS
@given(mat=matrices, seed=st.integers(0, 2**32 - 1))
def test_relabelling_units_leaves_every_coefficient_unchanged(mat, seed):
    df = to_long(mat)
    n = mat.shape[0]
    labels = np.random.default_rng(seed).choice(10_000, size=n, replace=False)
    relabelled = df.assign(ticket_id=[f"t{labels[u]}" for u in df["ticket_id"]])
    assert_same(estimates(df), estimates(relabelled))


@SETTINGS
@given(mat=matrices, seed=st.integers(0, 2**32 - 1))
def test_shuffling_rows_leaves_every_coefficient_unchanged(mat, seed):
    df = to_long(mat)
    perm = np.random.default_rng(seed).permutation(len(df))
    assert_same(estimates(df), estimates(df.iloc[perm]))
    assert_same(estimates(df), estimates(df.iloc[perm].reset_index(drop=True)))


@SETTINGS
@given(
    mat=matrices,
    value=st.sampled_from([1.0, 2.0, 3.0, 4.0]),
    rater=st.integers(0, 3),
)
def test_a_unit_rated_by_one_rater_leaves_alpha_unchanged(mat, value, rater):
    df = to_long(mat)
    lone = pd.DataFrame(
        {"ticket_id": [mat.shape[0] + 1], "rater_id": [f"r{rater}"], "score": [value]}
    )
    more = pd.concat([df, lone], ignore_index=True)
    for level in LEVELS:
        before = krippendorff_alpha(df, level=level, categories=[1, 2, 3, 4], confidence=None)
        after = krippendorff_alpha(more, level=level, categories=[1, 2, 3, 4], confidence=None)
        assert after.n_pairable == before.n_pairable
        if np.isnan(before.estimate):
            assert np.isnan(after.estimate)
        else:
            assert after.estimate == pytest.approx(before.estimate, abs=1e-12)


@SETTINGS
@given(
    mat=hnp.arrays(
        dtype=float,
        shape=st.tuples(st.integers(2, 15), st.just(2)),
        elements=st.sampled_from([1.0, 2.0, 3.0, np.nan]),
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_cohen_kappa_is_unchanged_by_relabelling_and_shuffling(mat, seed):
    df = to_long(mat)
    rng = np.random.default_rng(seed)
    changed = df.assign(
        rater_id=df["rater_id"].map({"r0": "zed", "r1": "amy"}),
        ticket_id=[f"u{x}" for x in rng.permutation(mat.shape[0])[df["ticket_id"]]],
    ).iloc[rng.permutation(len(df))]
    for weights in (None, "linear", "quadratic"):
        a = cohen_kappa(df, weights=weights, confidence=None).estimate
        b = cohen_kappa(changed, weights=weights, confidence=None).estimate
        assert (np.isnan(a) and np.isnan(b)) or b == pytest.approx(a, abs=1e-9)
