"""The batch's pages as people see them: a real batch (the shipped notebooks on the small
demo data, two regions, two periods) opened in headless Chromium, and its PDFs rendered
to PNG with poppler.

Skips with a message when Chromium (or poppler) is absent: ``.ci/run`` installs both.
Screenshots are saved under the test's temporary folder.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from batch_project import run_once_per_session
from browser import (
    has_figure,
    links,
    pdf_pages,
    pdf_to_png,
    require_poppler,
)

from qa_analysis import batch
from qa_analysis.batch.history import HISTORY_FILE, load_history
from qa_analysis.batch.outputs import MANIFEST
from qa_analysis.batch.summary import summary_table
from qa_analysis.io import read_kpis

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parent.parent
FIRST, SECOND = "2026-09", "2026-10"


def _two_periods(root: Path):
    from qa_analysis import demo

    shutil.copytree(REPO / "params", root / "params")
    demo.write_demo(root / "data" / "demo", small=True)  # = data: in params/defaults.yaml
    results = {}
    for period in (FIRST, SECOND):  # make report twice, into the same outputs folder
        results[period] = batch.run_batch(
            ["eu", "latam"],
            period=period,
            params_dir=root / "params",
            notebooks_dir=REPO / "notebooks",
            out=root / "outputs",
            workers=2,
        )
    return root, results


@pytest.fixture(scope="module")
def pages(browser, tmp_path_factory):
    """``browser`` first: without Chromium the module skips before any batch runs."""
    root, results = run_once_per_session(tmp_path_factory, "pages", _two_periods)
    for period, r in results.items():
        assert r.ok, f"{period}:\n{r.summary()}"
        assert r.warnings == (), r.warnings
    return root / "outputs", root / "outputs" / SECOND


def test_summary_month_over_month_is_filled_from_the_first_run(pages):
    out, period = pages
    history = load_history(out, months=13, until=SECOND)
    assert sorted(history["period"].unique()) == [FIRST, SECOND]
    band = batch.load_batch_params(["eu"], params_dir=out.parent / "params").amber_band
    tab = summary_table(period, history, amber_band=band).set_index(["region", "kpi"])
    first = read_kpis(out / FIRST / "eu" / "kpis.json")["performance"]["pass_rate"]
    now = read_kpis(period / "eu" / "kpis.json")["performance"]["pass_rate"]
    row = tab.loc[("EU", "pass_rate")]
    assert row["prev"] == pytest.approx(first)
    assert row["change_mom"] == pytest.approx(now - first)
    assert math.isfinite(tab.loc[("LATAM", "pass_rate"), "prev"])
    page = (period / "index.html").read_text()
    assert f"{100 * (now - first):+.1f} pts" in page  # shown, not "no last month"


@pytest.mark.parametrize(
    "name",
    [
        "index.html",
        "run.html",
        "summary.html",
        "global_overview.html",
        "latam/performance_report.html",
        "eu/calibration_report.html",
    ],
)
def test_page_renders_without_console_errors_or_scripts(pages, browser, tmp_path, name):
    _, period = pages
    report = browser.check_page(period / name)
    assert report.clean, report.summary()
    # at most the sortable-table script, which the page's CSP allows by its hash (clean above)
    assert report.executed == () and report.scripts <= 1
    png = browser.screenshot(period / name, tmp_path / (name.replace("/", "_") + ".png"))
    assert has_figure(png) or name in ("run.html", "summary.html")


@pytest.mark.parametrize("name", ["index.html", "run.html", "summary.html"])
def test_every_link_of_the_summary_pages_resolves_to_a_file(pages, name):
    _, period = pages
    found = links(period / name)
    assert not found.broken and not found.unsafe, found.summary()
    assert not found.external, found.summary()


def test_index_links_every_report_and_its_pdf(pages):
    _, period = pages
    targets = {
        x.target.relative_to(period).as_posix()
        for x in links(period / "index.html").links
        if x.target
    }
    for region in ("eu", "latam"):
        for nb in ("calibration_report", "performance_report"):
            assert {f"{region}/{nb}.html", f"{region}/{nb}.pdf"} <= targets
    assert {"global_overview.html", "global_overview.pdf", "run.html", "summary.html"} <= targets


@pytest.mark.parametrize(
    ("name", "min_pages"),
    [("latam/performance_report.pdf", 2), ("global_overview.pdf", 2), ("summary.pdf", 1)],
)
def test_pdfs_have_pages_and_their_figures(pages, tmp_path, name, min_pages):
    require_poppler()
    _, period = pages
    pdf = period / name
    assert pdf.read_bytes()[:4] == b"%PDF"
    assert pdf_pages(pdf) >= min_pages
    pngs = pdf_to_png(pdf, tmp_path / "pages")
    assert len(pngs) == pdf_pages(pdf)
    assert any(has_figure(p) for p in pngs)  # figures printed, not blank boxes


def test_report_pdf_starts_sections_on_new_pages(pages):
    """PRINT_CSS reached the rendered report: more pages than sections would need without it
    is not checkable, but the style sheet is in the page and each h2 breaks a page."""
    _, period = pages
    html = (period / "latam/performance_report.html").read_text()
    assert "break-before: page" in html
    assert pdf_pages(period / "latam/performance_report.pdf") >= html.count("<h2") // 2


def test_manifests_own_the_summary_history_and_pdfs(pages):
    out, period = pages
    top = json.loads((out / MANIFEST).read_text())
    assert {HISTORY_FILE, "index.html"} <= set(top["files"])
    assert {FIRST, SECOND} <= set(top["folders"])
    per = json.loads((period / MANIFEST).read_text())
    assert {
        "index.html",
        "summary.md",
        "summary.html",
        "summary.pdf",
        "run.html",
        "run.json",
        "global_overview.pdf",
    } <= set(per["files"])
    digest = (period / "summary.md").read_text()
    assert digest.startswith(f"# Quality summary {SECOND}") and "| Region |" in digest
