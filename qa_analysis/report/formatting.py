"""Number and interval formatting, display tables and short reprs for the reports.

Every sentence the reports show rounds the library's numbers through these
helpers, so that a number reads the same in every section: ``fmt_ci`` for an
estimate with its interval, :func:`display_table` for a small rounded table,
:func:`bar` for Krippendorff's notation of a threshold (``.750``).

Examples
--------
>>> fmt_ci(0.8125, 0.78, 0.842, digits=1, pct=True)
'81.2% [78.0%, 84.2%]'
>>> bar(0.75)
'.750'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "KPI_LABELS",
    "ShortRepr",
    "bar",
    "display_table",
    "esc",
    "fmt",
    "fmt_ci",
    "is_finite",
    "json_number",
    "sentence",
]

#: Display label of each KPI (tables, figures, target lists).
KPI_LABELS: dict[str, str] = {
    "pass_rate": "Pass rate",
    "mean_score": "Mean score",
    "critical_rate": "Critical-error rate",
    "alpha": "Calibration alpha",
    "audits_per_agent": "Audits per agent",
}


def is_finite(x: Any) -> bool:
    """True for a finite number (False for None, NA, NaN, inf and non-numbers).

    Examples
    --------
    >>> is_finite(0.5), is_finite(float("nan")), is_finite(None), is_finite("x")
    (True, False, False, False)
    """
    try:
        return x is not None and x is not pd.NA and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def json_number(x: Any) -> float | None:
    """A JSON-friendly float: ``None`` for missing or non-finite values.

    Examples
    --------
    >>> json_number(np.float64(0.25)), json_number(float("nan"))
    (0.25, None)
    """
    return float(x) if is_finite(x) else None


def fmt(x: Any, digits: int = 2, pct: bool = False, signed: bool = False) -> str:
    """``x`` rounded to ``digits`` (times 100 with a ``%`` sign with ``pct``); ``"n/a"`` if missing.

    Examples
    --------
    >>> fmt(0.8125, 1, pct=True), fmt(2.5, 1, signed=True), fmt(None)
    ('81.2%', '+2.5', 'n/a')
    """
    if not is_finite(x):
        return "n/a"
    v = float(x) * (100 if pct else 1)
    sign = "+" if signed else ""
    return f"{v:{sign}.{digits}f}" + ("%" if pct else "")


def fmt_ci(
    est: Any, lo: Any, hi: Any, *, digits: int = 2, pct: bool = False, signed: bool = False
) -> str:
    """``"0.52 [0.41, 0.63]"`` (or ``"81.3% [78.0%, 84.2%]"`` with ``pct``).

    The interval is left out when either limit is missing.

    Examples
    --------
    >>> fmt_ci(0.5234, 0.41, 0.6349)
    '0.52 [0.41, 0.63]'
    >>> fmt_ci(0.8125, 0.78, 0.842, digits=1, pct=True)
    '81.2% [78.0%, 84.2%]'
    >>> fmt_ci(0.5, None, 0.6)
    '0.50'
    """
    head = fmt(est, digits, pct, signed)
    if is_finite(lo) and is_finite(hi):
        return f"{head} [{fmt(lo, digits, pct, signed)}, {fmt(hi, digits, pct, signed)}]"
    return head


def sentence(text: str | None) -> str:
    """A phrase as a sentence followed by a space (empty stays empty).

    Examples
    --------
    >>> sentence("all agents get 5")
    'All agents get 5. '
    >>> sentence("")
    ''
    """
    text = str(text or "").strip()
    return f"{text[:1].upper()}{text[1:].rstrip('.')}. " if text else ""


def esc(text: Any) -> str:
    """A data value (segment, criterion, rater id) made safe to put in Markdown.

    Backslash-escapes the characters Markdown reads as markup and replaces
    ``<`` / ``>`` by entities, so a value prints as itself.

    Examples
    --------
    >>> print(esc("tech_*support*"))
    tech\\_\\*support\\*
    >>> esc("<b>")
    '&lt;b&gt;'
    """
    out = str(text).replace("\\", "\\\\")
    for ch in "`*_[]{}()#+!|~":
        out = out.replace(ch, "\\" + ch)
    return out.replace("<", "&lt;").replace(">", "&gt;")


def bar(t: float) -> str:
    """A threshold in Krippendorff's notation: ``0.75 -> ".750"``.

    Examples
    --------
    >>> bar(0.75), bar(0.9), bar(1.0)
    ('.750', '.900', '1.000')
    """
    s = f"{float(t):.3f}"
    return s[1:] if s.startswith("0.") else s


def display_table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    head: int | None = 10,
    digits: int = 2,
    percent: Sequence[str] = (),
    index: bool = True,
) -> pd.DataFrame:
    """A small, rounded, relabelled copy of ``df`` for display in a report.

    ``columns`` maps source column -> display label (and selects them, in
    order); ``percent`` lists source columns shown as percentages (0.812 ->
    81.2); other floats are rounded to ``digits`` (whole-number floats, such
    as counts read back from JSON, become integers). At most ``head`` rows.
    With ``index`` the first column becomes the index (so no row numbers are
    shown).

    Examples
    --------
    >>> df = pd.DataFrame({"a": ["x", "y"], "r": [0.8123, 0.5], "v": [1.23456, 2.0]})
    >>> display_table(df, {"a": "Name", "r": "Rate %", "v": "Value"}, percent=["r"], index=False)
      Name  Rate %  Value
    0    x    81.2   1.23
    1    y    50.0   2.00
    """
    cols = dict(columns) if columns else {c: c for c in df.columns}
    out = df.loc[:, [c for c in cols if c in df.columns]].copy()
    if head is not None:
        out = out.head(head)
    for c in out.columns:
        if c in percent:
            out[c] = (pd.to_numeric(out[c], errors="coerce") * 100).round(1)
        elif pd.api.types.is_float_dtype(out[c]):
            v = out[c].to_numpy(dtype=float)
            fin = v[np.isfinite(v)]
            if len(fin) and np.all(fin == np.round(fin)) and np.all(np.abs(fin) < 2**53):
                out[c] = out[c].round().astype("Int64")
            else:
                out[c] = out[c].round(digits)
    out = out.rename(columns=cols)
    if index and len(out.columns) > 1:
        return out.set_index(out.columns[0])
    return out.reset_index(drop=True)


def _short(value: Any) -> str:
    if isinstance(value, pd.DataFrame):
        return f"<DataFrame {value.shape[0]} x {value.shape[1]}>"
    if isinstance(value, pd.Series):
        return f"<Series {len(value)}>"
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    if isinstance(value, Mapping):
        if len(value) > 6:
            return f"<{len(value)} keys>"
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, ShortRepr):
        return f"<{type(value).__name__}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class ShortRepr:
    """Mixin for the reports' result dataclasses: a one-line repr.

    Tables show as their shape, nested results by their class name, long
    values are cut, so a result object typed in a notebook cell reads at a
    glance instead of printing every table.

    Examples
    --------
    >>> @dataclasses.dataclass(frozen=True, repr=False)
    ... class Demo(ShortRepr):
    ...     table: pd.DataFrame
    ...     rate: float
    >>> Demo(pd.DataFrame({"a": [1, 2]}), 0.812345)
    Demo(table=<DataFrame 2 x 1>, rate=0.8123)
    """

    def __repr__(self) -> str:
        if not dataclasses.is_dataclass(self):
            return object.__repr__(self)
        parts = [
            f"{f.name}={_short(getattr(self, f.name))}" for f in dataclasses.fields(self) if f.repr
        ]
        return f"{type(self).__name__}({', '.join(parts)})"
