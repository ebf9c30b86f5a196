"""Evaluation-level score frames shared by the trends and compare tests (built in code)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def scores(dates, score, passed=None, critical=None, **cols) -> pd.DataFrame:
    score = np.asarray(score, dtype=float)
    if passed is None:
        passed = score >= 80
    if critical is None:
        critical = np.zeros(len(score), dtype=bool)
    df = pd.DataFrame(
        {
            "evaluated_at": pd.to_datetime(dates, format="ISO8601"),
            "score": score,
            "passed": pd.array(passed, dtype="boolean"),
            "critical_fail": critical,
        }
    )
    for k, v in cols.items():
        df[k] = v
    return df


def edge_inputs() -> dict[str, pd.DataFrame]:
    one = scores(["2026-01-05"], [90.0], agent_id=["a"], region=["EU"], csat=[4.0])
    all_na = scores(
        ["2026-01-05", "2026-01-06"],
        [np.nan, np.nan],
        agent_id=["a", "b"],
        region=["EU", "EU"],
        csat=[4.0, 5.0],
    )
    all_na["passed"] = pd.array([pd.NA, pd.NA], dtype="boolean")
    return {"empty": one.iloc[:0], "one evaluation": one, "all N/A": all_na}
