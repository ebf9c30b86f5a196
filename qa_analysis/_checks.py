"""Argument checks shared by the statistics modules (private)."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import pandas as pd
from scipy import stats


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str = "data") -> None:
    """Raise a clear error when ``df`` is not a DataFrame or lacks any of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; available: {list(df.columns)}")


def z_value(confidence: float) -> float:
    """Two-sided standard-normal quantile for a confidence level in (0, 1)."""
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return float(stats.norm.ppf(0.5 + float(confidence) / 2.0))
