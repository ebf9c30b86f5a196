"""Tables people can search: every row, sortable and filterable offline (issue 12, item 7).

:func:`searchable_table` renders a table with every row as plain escaped HTML
(``<table class="qa-sortable">``) under a line saying how to use it. The
rendered pages carry one small self-written script
(:data:`qa_analysis.escaping.TABLE_SCRIPT`, allowed by its hash in the pages'
Content-Security-Policy) that makes such tables sort on a header click and
adds a filter box above them. Without the script (a notebook viewer, a PDF) the
table is still complete, pre-sorted by its key column, and the browser's find
searches it.

Examples
--------
>>> t = searchable_table(pd.DataFrame({"agent_id": ["<b>", "a"], "rate": [0.5, 0.9]}),
...                      {"agent_id": "Agent", "rate": "Pass %"}, percent=["rate"])
>>> html = t._repr_html_()
>>> "qa-sortable" in html and "&lt;b&gt;" in html and "<b>" not in html
True
"""

from __future__ import annotations

import html as _html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from qa_analysis.report.formatting import display_table

__all__ = ["SearchableTable", "searchable_table"]


@dataclass(frozen=True, repr=False)
class SearchableTable:
    """A table shown in full as a sortable, filterable HTML table (``_repr_html_``)."""

    table: pd.DataFrame
    summary: str

    def __repr__(self) -> str:
        return f"<SearchableTable {len(self.table)} rows: {self.summary}>"

    def _repr_html_(self) -> str:
        body = self.table.to_html(
            index=False, escape=True, border=0, classes="qa-sortable", na_rep=""
        )
        return (
            f'<p class="qa-table-note">{_html.escape(self.summary)}</p>'
            f'<div class="qa-table">{body}</div>'
        )


def searchable_table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    percent: Sequence[str] = (),
    digits: int = 2,
    sort_by: str | None = None,
    ascending: bool = True,
    what: str = "rows",
) -> SearchableTable:
    """Every row of ``df`` as a sortable, searchable table.

    Parameters
    ----------
    df : DataFrame
    columns : mapping, optional
        Source column -> label (selects and orders them), as in
        :func:`qa_analysis.report.formatting.display_table`.
    percent, digits
        As in :func:`~qa_analysis.report.formatting.display_table`.
    sort_by : str, optional
        Source column the rows are pre-sorted by (the order without script).
    ascending : bool
    what : str
        What a row is, for the summary line ("agents", "raters").

    Returns
    -------
    SearchableTable
        Cells are escaped when rendered (``to_html(escape=True)``).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a DataFrame, got {type(df).__name__}")
    if sort_by is not None and sort_by in df.columns:
        df = df.sort_values(sort_by, ascending=ascending, kind="stable")
    out = display_table(df, columns, head=None, digits=digits, percent=percent, index=False)
    summary = (
        f"All {len(out)} {what}: click a column header to sort, type in the box to filter "
        "(or use the browser's find)"
    )
    return SearchableTable(out, summary)
