"""Shared data for the reliability tests: published example tables and small builders.

Published examples (cited where they are used): Krippendorff (2011) section C,
Fleiss (1971) diagnoses, Shrout & Fleiss (1979) Table 2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

nan = np.nan


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


def empty_frame():
    return pd.DataFrame(
        {
            "ticket_id": pd.Series([], dtype=int),
            "rater_id": pd.Series([], dtype=str),
            "score": pd.Series([], dtype=float),
        }
    )


def all_missing_frame():
    return pd.DataFrame({"ticket_id": [1, 1, 2, 2], "rater_id": ["a", "b"] * 2, "score": [nan] * 4})


def with_all_missing_criterion():
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


def calibration_fixture():
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


def narrow_tone():
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
