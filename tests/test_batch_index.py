"""The index pages escape every value and link only to validated names (issue 11)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from qa_analysis import batch
from qa_analysis.batch.index import write_index, write_periods_index
from qa_analysis.escaping import CONTENT_SECURITY_POLICY

PAYLOAD = '<img src=x onerror="window.__pwned=1">'


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


def hostile_run(tmp_path) -> batch.RunResult:
    bad = batch.NotebookResult(
        notebook="calibration_report",
        region="EU",
        status="failed",
        duration_s=1.0,
        error=f"DataError: rater {PAYLOAD} twice",
        html="../../escape/x.html",
        ipynb="javascript:window.__pwned=1",
    )
    ok = batch.NotebookResult(
        notebook="performance_report",
        region="EU",
        status="ok",
        duration_s=1.0,
        html="eu/performance_report.html",
        ipynb="eu/performance_report.ipynb",
        kpis={"pass_rate": 0.9, f"name{PAYLOAD}": f"v{PAYLOAD}"},
    )
    return batch.RunResult("2026-10", tmp_path, (bad, ok), wall_s=1.0, workers=1, regions=("EU",))


def test_index_escapes_values_and_links_only_to_safe_names(tmp_path):
    html = write_index(hostile_run(tmp_path), tmp_path / "index.html").read_text()
    found = tags(html)
    assert not [t for t, _ in found if t in {"img", "script"}]
    hrefs = [a["href"] for t, a in found if t == "a"]
    assert "eu/performance_report.html" in hrefs
    assert not [h for h in hrefs if ".." in h or ":" in h], hrefs
    assert html.count("&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;") >= 2


def test_index_pages_carry_the_csp_first_in_head(tmp_path):
    (tmp_path / "2026-10").mkdir()
    write_index(hostile_run(tmp_path), tmp_path / "2026-10" / "index.html")
    for page in (tmp_path / "2026-10" / "index.html", write_periods_index(tmp_path)):
        found = tags(page.read_text())
        head = [t for t in found if t[0] not in {"html"}]
        assert head[1] == (
            "meta",
            {"http-equiv": "Content-Security-Policy", "content": CONTENT_SECURITY_POLICY},
        ), page


@pytest.mark.browser
def test_hostile_index_runs_nothing_in_the_browser(browser, tmp_path):
    report = browser.check_page(write_index(hostile_run(tmp_path), tmp_path / "index.html"))
    assert report.clean, report.summary()
