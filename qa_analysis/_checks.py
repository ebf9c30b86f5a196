"""Argument checks shared by the statistics modules (private).

One place for the checks every public function makes at its boundary: a
DataFrame argument (:func:`require_frame`, :func:`require_columns`), a
confidence level (:func:`z_value`), a seed (:func:`seed_int`) and how
offending rows are named in an error message (:func:`row_refs`).
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from qa_analysis.errors import DataError

#: How a seed may be given everywhere in the package.
Seed = int | np.random.Generator | None

#: Rows named in an error message before "... (N more)".
MAX_ROWS_SHOWN = 5
#: Longest cell text echoed in an error message (longer values are cut with "...").
MAX_VALUE_CHARS = 60


def require_frame(df: object, what: str = "data") -> pd.DataFrame:
    """Return ``df`` if it is a DataFrame, else raise ``TypeError`` naming ``what``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    return df


def require_columns(df: object, columns: Iterable[Hashable], what: str = "data") -> None:
    """Raise ``TypeError`` when ``df`` is not a DataFrame, :class:`DataError` when it lacks a column.

    Only the user's own columns are listed as available (none is internal here).
    """
    frame = require_frame(df, what)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(what, f"missing column(s) {missing}; available: {list(frame.columns)}")


def z_value(confidence: float) -> float:
    """Two-sided standard-normal quantile for a confidence level in (0, 1)."""
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return float(stats.norm.ppf(0.5 + float(confidence) / 2.0))


def seed_int(seed: Seed, name: str = "seed") -> int:
    """The integer behind a seed: one rule for every seeded step of the package.

    An ``int`` is used as it is; a :class:`numpy.random.Generator` gives one
    integer drawn uniformly from [0, 2**63) (advancing the generator, so the
    same generator state gives the same integer); ``None`` draws that integer
    from fresh operating-system entropy (not reproducible). A bool, a float or
    anything else is a ``TypeError``.
    """
    if seed is None:
        return int(np.random.default_rng().integers(0, 2**63, dtype=np.int64))
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63, dtype=np.int64))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, a numpy Generator or None, got {type(seed).__name__}"
        )
    return int(seed)


def short(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """Repr of a value for an error message, cut to about ``limit`` characters.

    numpy scalars print as Python scalars (9.0, not np.float64(9.0)); missing
    values print as None.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT:
        value = None
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..." + (text[0] if text[:1] in "'\"" else "")
    return text


def row_refs(
    index: pd.Index,
    positions: Any,
    values: Any = None,
    *,
    column: str | None = None,
    k: int = MAX_ROWS_SHOWN,
) -> str:
    """Name offending rows in the package's one format: ``row L (col=value), ... (N more)``.

    ``L`` is the DataFrame index label (``df.loc[L]`` shows the row); with a
    non-unique index it is the 0-based position, written ``position P``.
    ``values`` (aligned with ``positions``) are shown cut to a readable length.
    """
    pos = np.asarray(positions, dtype=np.int64).ravel()
    unique = index.is_unique
    vals = None if values is None else list(values)
    parts = []
    for i, p in enumerate(pos[:k]):
        ref = f"row {short(index[p])}" if unique else f"position {int(p)}"
        if vals is not None:
            ref += f" ({column}={short(vals[i])})" if column else f" ({short(vals[i])})"
        parts.append(ref)
    more = f", ... ({len(pos) - k} more)" if len(pos) > k else ""
    return ", ".join(parts) + more


def _fmt_field(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return short(value, 40)


class TableResult:
    """Mixin for frozen results that carry a ``table``: a short repr and an HTML repr.

    Subclasses are dataclasses declared with ``repr=False`` and list the scalar
    fields to show in ``_summary_fields``.
    """

    _summary_fields: tuple[str, ...] = ()

    @property
    def _table(self) -> pd.DataFrame:
        return getattr(self, "table")  # noqa: B009 - every subclass has a table field

    def __repr__(self) -> str:
        """One line: the class, the table's shape and the summary fields."""
        t = self._table
        fields = ", ".join(f"{f}={_fmt_field(getattr(self, f))}" for f in self._summary_fields)
        rows = f"{len(t)} row{'' if len(t) == 1 else 's'}"
        return f"{type(self).__name__}({rows}{', ' if fields else ''}{fields})"

    def _repr_html_(self) -> str:
        """The repr line above the first 20 rows of the table (values HTML-escaped)."""
        import html

        t = self._table
        more = f"<p>... {len(t) - 20} more rows</p>" if len(t) > 20 else ""
        return (
            f"<p><code>{html.escape(repr(self))}</code></p>"
            + t.head(20).to_html(escape=True, max_cols=20)
            + more
        )
