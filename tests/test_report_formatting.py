"""Tests for qa_analysis.report.formatting: numbers, intervals, display tables, reprs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from qa_analysis.report import formatting as rf


def test_fmt_ci_handles_missing_interval_and_estimate():
    assert rf.fmt_ci(0.5, np.nan, 0.7) == "0.50"
    assert rf.fmt_ci(np.nan, 0.1, 0.2) == "n/a [0.10, 0.20]"
    assert rf.fmt_ci(0.052, -0.01, 0.11, digits=1, pct=True, signed=True) == (
        "+5.2% [-1.0%, +11.0%]"
    )


def test_json_number_maps_missing_and_infinite_to_none():
    assert [rf.json_number(x) for x in (np.float64(0.5), np.nan, np.inf, None, pd.NA)] == [
        0.5,
        None,
        None,
        None,
        None,
    ]


def test_display_table_selects_rounds_and_limits_rows():
    df = pd.DataFrame({"a": list("abcdefghijkl"), "r": np.linspace(0, 1, 12), "x": 1.23456})
    out = rf.display_table(df, {"a": "A", "r": "R"}, percent=["r"])
    assert out.index.name == "A" and list(out.columns) == ["R"] and len(out) == 10
    assert out["R"].iloc[-1] == round(9 / 11 * 100, 1)


def test_display_table_turns_whole_float_counts_into_integers():
    out = rf.display_table(pd.DataFrame({"k": ["x", "y"], "n": [3.0, np.nan]}), index=False)
    assert str(out["n"].dtype) == "Int64" and out["n"].iloc[0] == 3 and out["n"].isna().iloc[1]


def test_short_repr_shows_tables_as_shapes_and_cuts_long_values():
    @dataclasses.dataclass(frozen=True, repr=False)
    class R(rf.ShortRepr):
        t: pd.DataFrame
        text: str
        d: dict

    r = R(pd.DataFrame(np.zeros((3, 2))), "x" * 100, {"a": 0.123456})
    assert repr(r) == f"R(t=<DataFrame 3 x 2>, text='{'x' * 56}..., d={{a: 0.1235}})"
