"""Rendering executed notebooks to HTML: nothing from the data becomes live HTML.

Hand-made notebooks with hostile outputs, no kernel: the markdown and HTML outputs carry
what a report cell displays when a value from the data or the scorecard holds markup.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from qa_analysis.batch.render import render_html
from qa_analysis.escaping import CONTENT_SECURITY_POLICY, TABLE_SCRIPT_TAG

IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=1</script>"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Tags()
    p.feed(html)
    return p.tags


def hostile_notebook(path: Path) -> Path:
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Report\n\nWritten by the author: **bold**, a [link](EU/x.html)."),
        new_code_cell(
            "Markdown(...)",
            outputs=[
                new_output(
                    "display_data",
                    data={
                        "text/markdown": f"Ticket **{IMG}** and {SCRIPT} "
                        "[click](javascript:window.__pwned=1) "
                        "[tab](java&#9;script:window.__pwned=1)\n\n"
                        f"```mermaid\n{IMG}\n```\n\n![i](javascript:window.__pwned=1)",
                        "text/plain": "<Markdown>",
                    },
                )
            ],
        ),
        new_code_cell(
            "table",
            execution_count=1,
            outputs=[
                new_output(
                    "execute_result",
                    execution_count=1,
                    data={
                        "text/html": f"<table><tr><td>{IMG}</td></tr></table>{SCRIPT}"
                        "<a href='javascript:window.__pwned=1'>x</a>",
                        "text/plain": "table",
                    },
                )
            ],
        ),
        new_code_cell(
            "fail",
            outputs=[new_output("error", ename="DataError", evalue=IMG, traceback=[IMG])],
        ),
    ]
    nbformat.write(nb, path)
    return path


def test_rendered_markdown_and_html_outputs_keep_no_live_markup_from_data(tmp_path):
    html = render_html(hostile_notebook(tmp_path / "r.ipynb"), tmp_path / "r.html").read_text()
    found = tags(html)
    assert not [t for t, _ in found if t in {"iframe", "object", "embed", "svg"}]
    # the one script is the pages' own table script (allowed by its hash in the CSP)
    assert html.count("<script") == 1 and TABLE_SCRIPT_TAG in html
    assert not [(t, a) for t, a in found if any(k.startswith("on") for k in a)]
    hrefs = [a.get("href") or "" for t, a in found if t == "a"]
    assert not [h for h in hrefs if "script" in h.lower()], hrefs
    assert [a.get("src") for t, a in found if t == "img" and a.get("src") == "x"] == []
    assert "EU/x.html" in hrefs  # the author's own link is kept
    # the payloads are shown as text, not dropped
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "onerror=" in html.replace("&quot;", '"')


def test_rendered_page_carries_a_csp_that_allows_only_the_table_script(tmp_path):
    html = render_html(hostile_notebook(tmp_path / "r.ipynb"), tmp_path / "r.html").read_text()
    metas = [a for t, a in tags(html) if t == "meta" and a.get("http-equiv")]
    assert metas and metas[0]["content"] == CONTENT_SECURITY_POLICY
    head = html[: html.index("</head>")]
    assert head.index("Content-Security-Policy") < head.index("<style")


def test_papermill_error_banners_render_as_text_with_their_anchor(tmp_path):
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell(
            '<span style="color:red; font-size:2em;">An Exception was encountered at '
            "'<a href=\"#papermill-error-cell\">In [2]</a>'.</span>",
            metadata={"tags": ["papermill-error-cell-tag"]},
        ),
        new_markdown_cell(
            '<span id="papermill-error-cell" style="color:red;">Execution using papermill '
            f"encountered an exception here and stopped: {IMG.replace('<', '&lt;')}</span>",
            metadata={"tags": ["papermill-error-cell-tag"]},
        ),
    ]
    nbformat.write(nb, tmp_path / "r.ipynb")
    html = render_html(tmp_path / "r.ipynb", tmp_path / "r.html").read_text()
    found = tags(html)
    assert ("span", {"id": "papermill-error-cell"}) in found
    assert any(t == "a" and a.get("href") == "#papermill-error-cell" for t, a in found)
    assert "An Exception was encountered at" in html and "&lt;span" not in html
    assert not [t for t, a in found if t == "img"]


@pytest.mark.browser
def test_rendered_hostile_notebook_runs_nothing_in_the_browser(browser, tmp_path):
    page = render_html(hostile_notebook(tmp_path / "r.ipynb"), tmp_path / "r.html")
    report = browser.check_page(page)
    assert report.clean, report.summary()
    assert report.csp_directives()["default-src"] == ("'none'",)
