"""Tables people can search (issue 12, item 7): every row, escaped, sortable in a real browser."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from browser import BrowserSession, browser_fixture, is_sorted  # noqa: F401
from nbformat.v4 import new_code_cell, new_notebook, new_output

from qa_analysis.batch.render import render_html
from qa_analysis.report.tables import searchable_table

AGENTS = pd.DataFrame(
    {
        "agent_id": [f"A{i:02d}" for i in range(12)] + ["<img src=x onerror=alert(1)>"],
        "n": list(range(3, 16)),
        "shrunk_rate": [0.91, 0.72, 0.88, 0.65, 0.99, 0.7, 0.8, 0.83, 0.95, 0.6, 0.77, 0.9, 0.5],
    }
)
COLUMNS = {"agent_id": "Agent", "n": "Audits", "shrunk_rate": "Shrunken pass %"}


def _table():
    return searchable_table(AGENTS, COLUMNS, percent=["shrunk_rate"], sort_by="agent_id")


def test_searchable_table_keeps_every_row_and_escapes_every_cell():
    html = _table()._repr_html_()
    assert html.count("<tr>") == len(AGENTS)  # body rows; the header row carries a style
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    assert "All 13 agents" not in html and "All 13 rows" in html


def test_searchable_table_is_pre_sorted_by_its_key_column():
    t = searchable_table(AGENTS, COLUMNS, sort_by="shrunk_rate", ascending=False, what="agents")
    assert t.table["Shrunken pass %"].tolist() == sorted(AGENTS["shrunk_rate"], reverse=True)
    assert t.summary.startswith("All 13 agents")


def _page(tmp_path: Path) -> Path:
    nb = new_notebook()
    t = _table()
    nb.cells = [
        new_code_cell(
            "t",
            outputs=[
                new_output(
                    "execute_result",
                    data={"text/html": t._repr_html_(), "text/plain": repr(t)},
                    execution_count=1,
                )
            ],
        )
    ]
    path = tmp_path / "r.ipynb"
    nbformat.write(nb, path)
    return render_html(path, tmp_path / "r.html")


@pytest.mark.browser
def test_rendered_table_sorts_in_chromium_and_the_page_stays_clean(
    browser: BrowserSession, tmp_path: Path
) -> None:
    page = _page(tmp_path)
    res = browser.sort_by_header(page, "Shrunken pass %", table="table.qa-sortable", clicks=2)
    assert len(res.before) == len(AGENTS)
    assert not is_sorted(res.before)
    up, down = res.after
    assert is_sorted(up) and is_sorted(down[::-1]) and up != down
    check = browser.check_page(page)
    assert check.clean, check.summary
