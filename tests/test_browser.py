"""Self-tests of tests/browser.py on small crafted pages.

The browser tests open real pages in headless Chromium; they skip with a clear message
when Chromium is not installed. No test depends on how fast the machine is.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import numpy as np
import pytest
from browser import (
    SKIP_MESSAGE,
    BrowserSession,
    classify_element,
    csp_allows_inline_script,
    has_figure,
    ink_fraction,
    is_sorted,
    links,
    parse_csp,
    pdf_pages,
    pdf_to_png,
    require_chromium,
    require_poppler,
)

CSP_NO_SCRIPT = "default-src 'self'; script-src 'none'; object-src 'none'"


def write_page(tmp_path: Path, body: str, *, head: str = "", name: str = "page.html") -> Path:
    path = tmp_path / name
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><title>t</title>{head}</head>'
        f"<body>{body}</body></html>",
        encoding="utf-8",
    )
    return path


def csp_meta(policy: str) -> str:
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def sha256_source(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


# --------------------------------------------------------------------------- hostile pages


@pytest.mark.browser
def test_escaped_payloads_report_nothing(browser: BrowserSession, tmp_path: Path) -> None:
    body = (
        "<p>&lt;script&gt;window.__pwned=1&lt;/script&gt;</p>"
        '<td>&lt;img src=x onerror="window.__pwned=1"&gt;</td>'
        '<p title="&lt;svg onload=window.__pwned=1&gt;">javascript:window.__pwned=1</p>'
        "<pre>&lt;iframe srcdoc=&quot;&lt;script&gt;parent.__pwned=1&lt;/script&gt;&quot;&gt;</pre>"
    )
    report = browser.check_page(write_page(tmp_path, body))
    assert report.clean, report.summary()
    assert report.executed == ()
    assert report.live_elements == ()


@pytest.mark.browser
def test_live_script_is_reported_as_executed_and_live(
    browser: BrowserSession, tmp_path: Path
) -> None:
    report = browser.check_page(write_page(tmp_path, "<p><script>window.__pwned=1</script></p>"))
    assert report.markers == ("__pwned",)
    assert [e.tag for e in report.live_elements] == ["script"]
    assert not report.clean


@pytest.mark.browser
def test_img_onerror_is_reported_as_executed_and_live(
    browser: BrowserSession, tmp_path: Path
) -> None:
    page = write_page(tmp_path, '<td><img src=x onerror="window.__pwned=1"></td>')
    report = browser.check_page(page)
    assert report.markers == ("__pwned",)
    assert [(e.tag, e.reason) for e in report.live_elements] == [
        ("img", "event handler attribute onerror")
    ]


@pytest.mark.browser
def test_svg_onload_is_reported(browser: BrowserSession, tmp_path: Path) -> None:
    report = browser.check_page(write_page(tmp_path, "<svg onload=window.__pwned=1></svg>"))
    assert report.markers == ("__pwned",)
    assert [(e.tag, e.reason) for e in report.live_elements] == [
        ("svg", "event handler attribute onload")
    ]


@pytest.mark.browser
def test_javascript_link_is_live_even_unclicked(browser: BrowserSession, tmp_path: Path) -> None:
    page = write_page(tmp_path, '<a href=" JavaScript:window.__pwned=1">agent 7</a>')
    report = browser.check_page(page)
    assert report.executed == ()
    assert [(e.tag, e.reason) for e in report.live_elements] == [("a", "script URL in href")]
    assert [link.kind for link in links(page).unsafe] == ["script"]


@pytest.mark.browser
def test_iframe_srcdoc_script_is_reported_in_both_frames(
    browser: BrowserSession, tmp_path: Path
) -> None:
    body = '<iframe srcdoc="<script>parent.__pwned=1; alert(7)</script>"></iframe>'
    report = browser.check_page(write_page(tmp_path, body))
    assert report.markers == ("__pwned",)
    assert report.dialogs == ("alert('7')",)
    reasons = {(e.frame, e.tag, e.reason) for e in report.live_elements}
    assert (report.url, "iframe", "srcdoc attribute") in reasons
    assert (report.url, "iframe", "forbidden element iframe") in reasons
    assert any(frame == "about:srcdoc" and tag == "script" for frame, tag, _ in reasons)


@pytest.mark.browser
def test_dialog_alone_counts_as_execution(browser: BrowserSession, tmp_path: Path) -> None:
    page = write_page(tmp_path, "<script data-qa-allowed>confirm('x')</script>")
    report = browser.check_page(page)
    assert report.dialogs == ("confirm('x')",)
    assert report.executed == ("dialog confirm('x')",)
    assert report.live_elements == ()


@pytest.mark.browser
def test_csp_forbidding_inline_script_reports_violation_and_no_execution(
    browser: BrowserSession, tmp_path: Path
) -> None:
    page = write_page(
        tmp_path,
        '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">',
        head=csp_meta(CSP_NO_SCRIPT),
    )
    report = browser.check_page(page)
    assert report.executed == ()
    assert report.csp == (CSP_NO_SCRIPT,)
    assert not report.csp_allows_inline_script()
    directives = {v.directive for v in report.csp_violations}
    assert directives == {"script-src-elem", "script-src-attr"}
    # The second wall held, but the first (escaping) failed: both elements are still live.
    assert sorted(e.tag for e in report.live_elements) == ["img", "script"]


@pytest.mark.browser
def test_script_vouched_for_by_csp_hash_is_clean(browser: BrowserSession, tmp_path: Path) -> None:
    own = "document.body.dataset.ready = 'yes';"
    page = write_page(
        tmp_path,
        f"<p>report</p><script>{own}</script>",
        head=csp_meta(f"default-src 'self'; script-src {sha256_source(own)}"),
    )
    report = browser.check_page(page)
    assert report.clean, report.summary()
    assert report.scripts == 1


@pytest.mark.browser
def test_unmarked_page_script_is_flagged_unless_tag_allowed(
    browser: BrowserSession, tmp_path: Path
) -> None:
    page = write_page(tmp_path, "<script>document.title = 'own'</script>")
    assert [e.tag for e in browser.check_page(page).live_elements] == ["script"]
    assert browser.check_page(page, allowed_tags=["script"]).clean


@pytest.mark.browser
def test_payload_markup_is_flagged(browser: BrowserSession, tmp_path: Path) -> None:
    report = browser.check_page(write_page(tmp_path, "<td><b data-qa-payload>EU</b></td>"))
    assert [(e.tag, e.reason) for e in report.live_elements] == [
        ("b", "element from payload markup (data-qa-payload)")
    ]


@pytest.mark.browser
def test_network_request_is_blocked_and_recorded(browser: BrowserSession, tmp_path: Path) -> None:
    page = write_page(tmp_path, '<img src="http://example.invalid/track.png" alt="">')
    report = browser.check_page(page)
    assert report.blocked_requests == ("http://example.invalid/track.png",)
    assert not report.clean


@pytest.mark.browser
def test_console_and_page_errors_are_recorded(browser: BrowserSession, tmp_path: Path) -> None:
    script = "console.error('boom'); throw new Error('broken page')"
    report = browser.check_page(write_page(tmp_path, f"<script data-qa-allowed>{script}</script>"))
    assert "boom" in report.console_errors
    assert any("broken page" in e for e in report.page_errors)


@pytest.mark.browser
def test_navigation_away_is_recorded(browser: BrowserSession, tmp_path: Path) -> None:
    write_page(tmp_path, "<p>elsewhere</p>", name="other.html")
    page = write_page(tmp_path, '<meta http-equiv="refresh" content="0; url=other.html">')
    report = browser.check_page(page)
    assert any(url.endswith("/other.html") for url in report.navigations), report.summary()


# --------------------------------------------------------------------------- links


def test_links_find_broken_file_and_fragment(tmp_path: Path) -> None:
    (tmp_path / "eu").mkdir()
    write_page(tmp_path / "eu", '<h2 id="kpis">KPIs</h2>', name="report.html")
    page = write_page(
        tmp_path,
        '<h1 id="top">x</h1>'
        '<a href="eu/report.html">eu</a><a href="eu/report.html#kpis">eu kpis</a>'
        '<a href="apac/report.html">apac</a><a href="eu/report.html#nope">bad anchor</a>'
        '<a href="#top">top</a><a href="#missing">missing</a>'
        '<a href="https://example.org/">ext</a><a href="run%20log.txt">log</a>',
        name="index.html",
    )
    (tmp_path / "run log.txt").write_text("ok", encoding="utf-8")
    report = links(page)
    assert [link.href for link in report.broken] == [
        "apac/report.html",
        "eu/report.html#nope",
        "#missing",
    ]
    assert [link.href for link in report.external] == ["https://example.org/"]
    assert report.unsafe == ()
    assert len(report.links) == 8


# --------------------------------------------------------------------------- screenshots, PDF


def figure_page(tmp_path: Path) -> Path:
    """Two printed pages: text, then (after a page break) a coloured figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=80)
    ax.bar(["a", "b", "c"], [3, 5, 2], color="tab:blue")
    fig.savefig(tmp_path / "fig.png")
    plt.close(fig)
    style = "<style>@page { size: A4; margin: 15mm } .br { break-after: page }</style>"
    body = (
        '<section class="br"><h1>Summary</h1><p>Text only on the first page.</p></section>'
        '<section><h1>Figure</h1><img src="fig.png" alt="bars"></section>'
    )
    return write_page(tmp_path, body, head=style, name="report.html")


@pytest.mark.browser
def test_two_page_html_prints_to_two_pages_with_figure_on_second(
    browser: BrowserSession, tmp_path: Path
) -> None:
    require_poppler()
    pdf = browser.print_pdf(figure_page(tmp_path), tmp_path / "out" / "report.pdf")
    assert pdf_pages(pdf) == 2
    pngs = pdf_to_png(pdf, tmp_path / "png")
    assert [p.name for p in pngs] == ["page-1.png", "page-2.png"]
    assert not has_figure(pngs[0])
    assert ink_fraction(pngs[0]) > 0  # the text is there
    assert has_figure(pngs[1])


@pytest.mark.browser
def test_screenshot_has_requested_width_and_shows_figure(
    browser: BrowserSession, tmp_path: Path
) -> None:
    from PIL import Image

    png = browser.screenshot(figure_page(tmp_path), tmp_path / "shot.png", width=800, height=1200)
    with Image.open(png) as image:
        assert image.size == (800, 1200)
    assert has_figure(png)


# --------------------------------------------------------------------------- sortable tables

SORT_SCRIPT = """
document.querySelectorAll('th').forEach((th, i) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const asc = th.dataset.dir !== 'asc';
  th.dataset.dir = asc ? 'asc' : 'desc';
  const rows = [...body.rows].sort((a, b) =>
    (parseFloat(a.cells[i].innerText) - parseFloat(b.cells[i].innerText)) * (asc ? 1 : -1));
  rows.forEach(r => body.appendChild(r));
}));
"""


@pytest.mark.browser
def test_sort_by_header_reads_column_after_each_click(
    browser: BrowserSession, tmp_path: Path
) -> None:
    rows = "".join(
        f"<tr><td>agent {a}</td><td>{s}</td></tr>" for a, s in [(1, 72), (2, 9), (3, 88)]
    )
    body = (
        f"<table id='agents'><thead><tr><th>Agent</th><th>Pass rate</th></tr></thead>"
        f"<tbody>{rows}</tbody></table><script data-qa-allowed>{SORT_SCRIPT}</script>"
    )
    result = browser.sort_by_header(
        write_page(tmp_path, body), "pass rate", table="#agents", clicks=2
    )
    assert result.header == "Pass rate"
    assert result.before == ("72", "9", "88")
    assert result.after == (("9", "72", "88"), ("88", "72", "9"))
    assert not is_sorted(result.before)
    assert is_sorted(result.after[0])
    assert is_sorted(result.after[1], descending=True)


def test_is_sorted_compares_numbers_as_numbers() -> None:
    assert is_sorted(["9%", "72%", "1,200", ""])
    assert is_sorted(["\u22123", "-1", "+2"])
    assert not is_sorted(["b", "A", "c"])
    assert is_sorted(["A", "b", "c"])


# --------------------------------------------------------------------------- pure helpers


def test_classify_element_accepts_script_with_csp_nonce_and_data_scripts() -> None:
    csp = ["script-src 'nonce-abc'"]
    nonce_script = {"tag": "script", "attrs": [], "text": "x()", "nonce": "abc"}
    json_script = {"tag": "script", "attrs": [["type", "application/json"]], "text": "{}"}
    other_nonce = {**nonce_script, "nonce": "zzz"}
    assert classify_element(nonce_script, csp) == []
    assert classify_element({**json_script, "nonce": ""}, csp) == []
    assert classify_element(other_nonce, csp) != []


def test_classify_element_flags_obfuscated_script_urls() -> None:
    for value in ["java\tscript:alert(1)", " JAVASCRIPT:x", "data:text/html,<script>x</script>"]:
        element = {"tag": "a", "attrs": [["href", value]], "text": "", "nonce": ""}
        assert classify_element(element, []) == ["script URL in href"], value


def test_csp_allows_inline_script_only_with_unsafe_inline_and_no_hash() -> None:
    assert csp_allows_inline_script([])
    assert csp_allows_inline_script(["script-src 'self' 'unsafe-inline'"])
    assert not csp_allows_inline_script(["script-src 'self' 'unsafe-inline' 'sha256-AA='"])
    assert not csp_allows_inline_script(["default-src 'self'"])
    assert parse_csp(["default-src 'self'; script-src 'none'"]) == {
        "default-src": ("'self'",),
        "script-src": ("'none'",),
    }


def test_ink_fraction_counts_colour_and_dark_pixels_in_a_box(tmp_path: Path) -> None:
    from PIL import Image

    pixels = np.full((100, 100, 3), 255, dtype=np.uint8)
    pixels[:10, :10] = (31, 119, 180)  # a blue patch, top left: 1% of the image
    pixels[90:, 90:] = (0, 0, 0)  # black text-like patch, bottom right: 1%
    Image.fromarray(pixels).save(tmp_path / "p.png")
    assert ink_fraction(tmp_path / "p.png") == pytest.approx(0.02)
    assert ink_fraction(tmp_path / "p.png", colour=True) == pytest.approx(0.01)
    assert ink_fraction(tmp_path / "p.png", (0.5, 0.5, 1.0, 1.0), colour=True) == 0.0
    assert has_figure(tmp_path / "p.png", (0.0, 0.0, 0.5, 0.5))


def test_missing_chromium_skips_with_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.skip.Exception, match="Chromium not found") as info:
        require_chromium()
    assert str(info.value.msg) == SKIP_MESSAGE
