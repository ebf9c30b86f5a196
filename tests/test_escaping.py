"""Tests of qa_analysis.escaping: markdown escaping, HTML sanitising, CSV formula neutralising."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from qa_analysis.escaping import (
    CONTENT_SECURITY_POLICY,
    CSP_META,
    md_escape,
    neutralise_formulas,
    safe_url,
    sanitize_html,
)

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    "[click](javascript:window.__pwned=1)",
    "![i](javascript:window.__pwned=1)",
    "<svg onload=alert(1)>",
    "*bold* _it_ `code` # head | cell $x$",
    "line\n# heading\n- item",
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Elements()
    p.feed(html)
    return p.tags


def render_markdown(text: str) -> str:
    """As nbconvert renders markdown when raw HTML is allowed (today's default)."""
    return MarkdownWithMath(renderer=IPythonRenderer(escape=False)).render(text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_escape_makes_a_value_plain_text_even_where_markdown_allows_html(payload):
    html = render_markdown(f"Channel **{md_escape(payload)}** is lowest.")
    assert [t for t, _ in elements(html)] == ["p", "strong"], html


def test_md_escape_renders_back_to_the_value():
    value = "chat_$1 [EU] (b) *x* <b> & | #1 ~ `c` {k} \\"
    html = render_markdown(md_escape(value))
    text = html.removeprefix("<p>").removesuffix("</p>\n")
    assert text == value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_md_escape_collapses_line_breaks_so_a_value_cannot_start_a_block():
    assert "\n" not in md_escape("a\n# b\r\n- c")


def test_safe_url_keeps_relative_and_web_urls_and_refuses_script_schemes():
    assert safe_url("EU/calibration_report.html") == "EU/calibration_report.html"
    assert safe_url("#papermill-error-cell") == "#papermill-error-cell"
    assert safe_url("https://example.org/x") == "https://example.org/x"
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " java\tscript:alert(1)",
        "java&#9;script:alert(1)",
        "vbscript:x",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
    ):
        assert safe_url(bad) is None, bad
    assert safe_url("data:image/png;base64,AAAA", image=True) is not None
    assert safe_url("data:image/svg+xml;base64,AAAA", image=True) is None


def test_sanitize_html_drops_scripts_handlers_and_unsafe_urls_but_keeps_tables():
    df = pd.DataFrame({"ticket_id": ['<img src=x onerror="window.__pwned=1">'], "n": [1]})
    html = sanitize_html(
        df.to_html()
        + "<script>window.__pwned=1</script><iframe src='x'></iframe>"
        + "<a href='javascript:alert(1)'>a</a><a href='EU/r.html'>b</a>"
        + "<img src='x' onerror='alert(1)'><img src='data:image/png;base64,AAAA'>"
    )
    tags = elements(html)
    assert {t for t, _ in tags} <= {"table", "thead", "tbody", "tr", "th", "td", "a", "img"}
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs)
    assert [a.get("href") for t, a in tags if t == "a"] == [None, "EU/r.html"]
    assert [a.get("src") for t, a in tags if t == "img"] == [None, "data:image/png;base64,AAAA"]
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html  # shown, not dropped


def test_sanitize_html_keeps_report_markup():
    html = (
        '<h2 id="x">T</h2><p>a <strong>b</strong> <em>c</em> <code>d</code></p>'
        "<ul><li>e</li></ul><style scoped>.dataframe th {text-align: right;}</style>"
        '<table class="dataframe"><tbody><tr style="text-align: right;"><th>h</th></tr></tbody></table>'
    )
    assert sanitize_html(html) == html


def test_csp_allows_no_script_but_the_table_script_by_its_hash():
    import base64
    import hashlib

    from qa_analysis.escaping import TABLE_SCRIPT

    directives = dict(
        (d.split()[0], d.split()[1:]) for d in CONTENT_SECURITY_POLICY.split(";") if d.strip()
    )
    assert directives["default-src"] == ["'none'"]
    digest = base64.b64encode(hashlib.sha256(TABLE_SCRIPT.encode()).digest()).decode()
    assert directives["script-src"] == [f"'sha256-{digest}'"]  # no 'unsafe-inline', no host
    assert CONTENT_SECURITY_POLICY in CSP_META


def test_neutralise_formulas_prefixes_risky_text_cells_only():
    df = pd.DataFrame(
        {
            "ticket_id": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "T-1"],
            "score": [-1.0, 2.0, np.nan, 0.0, -5.0, 1.0, 3.0],
            "n": [-1, 2, 3, 4, 5, 6, 7],
        }
    )
    out = neutralise_formulas(df)
    assert out["ticket_id"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "T-1",
    ]
    pd.testing.assert_frame_equal(out[["score", "n"]], df[["score", "n"]])
    assert df["ticket_id"].iloc[0].startswith("=")  # the input is not changed


def test_neutralise_formulas_leaves_missing_values_and_numbers_in_text_columns():
    df = pd.DataFrame({"a": ["=x", None, 5, -3.5]}, dtype=object)
    assert neutralise_formulas(df)["a"].tolist() == ["'=x", None, 5, -3.5]


def test_neutralise_formulas_covers_column_names_and_string_dtype():
    df = pd.DataFrame({"=cmd": pd.array(["-x", pd.NA], dtype="string")})
    out = neutralise_formulas(df)
    assert list(out.columns) == ["'=cmd"]
    assert out.iloc[0, 0] == "'-x" and out.iloc[1, 0] is pd.NA


def test_neutralise_formulas_refuses_non_dataframes():
    with pytest.raises(TypeError):
        neutralise_formulas([["=x"]])  # type: ignore[arg-type]
