"""PDFs of the reports and the summary, printed by headless Chromium (qa_analysis.batch.pdf)."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
import pytest
from browser import SKIP_MESSAGE, has_figure, pdf_pages, pdf_to_png, require_poppler
from kpi_folders import write_period

from qa_analysis.batch.pdf import (
    CHROMIUM_ENV,
    PRINT_CSS,
    PdfError,
    chromium_path,
    html_to_pdf,
    pdf_all,
    pdf_name,
)
from qa_analysis.batch.render import render_html
from qa_analysis.batch.summary import write_summary

NOTES = Path("/work/notes")
SECTIONS = ("Headline", "Targets", "Trend", "Agents")


def _png(seed: int) -> str:
    fig, ax = plt.subplots(figsize=(6, 3), dpi=80)
    ax.bar(range(5), [seed + i for i in range(5)], color="tab:blue")
    ax.plot(range(5), [seed + 4 - i for i in range(5)], color="tab:red")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def report_html(path: Path) -> Path:
    """An nbconvert report like the batch renders: h2 sections, text, embedded PNG figures."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# EU performance report, October 2026"))
    for i, title in enumerate(SECTIONS):
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## {title}\n\nThe {title} section."))
        cell = nbformat.v4.new_code_cell("fig")
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data", data={"image/png": _png(i), "text/plain": "<Figure>"}
            )
        ]
        nb.cells.append(cell)
    ipynb = path.with_suffix(".ipynb")
    nbformat.write(nb, str(ipynb))
    render_html(ipynb, path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("</head>", f"<style>{PRINT_CSS}</style></head>", 1))
    return path


def _need_chromium() -> None:
    if chromium_path() is None:
        pytest.skip(SKIP_MESSAGE)
    require_poppler()


@pytest.mark.browser
def test_report_becomes_a_pdf_with_a_page_per_section_and_figures(tmp_path):
    _need_chromium()
    html = report_html(tmp_path / "performance_report.html")
    pdf = html_to_pdf(html, tmp_path / "performance_report.pdf")
    # PRINT_CSS starts each h2 section but the first (under the title) on a new page
    assert pdf_pages(pdf) == len(SECTIONS) > 1
    pages = pdf_to_png(pdf, tmp_path / "png")
    assert all(has_figure(p) for p in pages)
    if NOTES.is_dir():
        shutil.copy(pages[0], NOTES / "h14-report-pdf-page1.png")


@pytest.mark.browser
def test_pdf_all_prints_the_summary_and_every_report_of_a_period(tmp_path):
    _need_chromium()
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9, "NA": 0.8})
    report_html(folder / "eu" / "performance_report.html")
    write_summary(folder, None, amber_band=0.02)
    results = pdf_all(folder)
    assert [r.html.relative_to(folder).as_posix() for r in results] == [
        "index.html",
        "eu/performance_report.html",
    ]
    assert all(r.ok for r in results), [r.error for r in results]
    assert (folder / "summary.pdf").is_file()
    # the summary prints one section per page: findings, KPIs, run status
    assert pdf_pages(folder / "summary.pdf") >= 3
    assert not [p for p in folder.rglob(".*tmp*")]
    if NOTES.is_dir():
        shutil.copy(
            pdf_to_png(folder / "summary.pdf", tmp_path / "s")[1],
            NOTES / "h14-summary-pdf-page2.png",
        )


def test_without_chromium_pdf_all_reports_a_clear_error_and_html_to_pdf_raises(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-such-chromium"))
    html = tmp_path / "index.html"
    html.write_text("<html><body>x</body></html>")
    results = pdf_all(tmp_path)
    assert len(results) == 1
    assert not results[0].ok
    assert "Chromium not found" in (results[0].error or "")
    with pytest.raises(PdfError, match="Chromium not found"):
        html_to_pdf(html, tmp_path / "x.pdf")
    assert not (tmp_path / "summary.pdf").exists()


def test_a_failing_browser_gives_an_error_naming_the_file_and_no_pdf(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'ERROR:dbus harmless' >&2\necho 'real failure' >&2\nexit 3\n")
    fake.chmod(0o755)
    html = tmp_path / "report.html"
    html.write_text("<html></html>")
    with pytest.raises(PdfError, match=r"report\.html failed .*exit code 3.*real failure"):
        html_to_pdf(html, tmp_path / "report.pdf", chromium=fake)
    assert list(tmp_path.glob("*.pdf")) == []
    assert list(tmp_path.glob(".*")) == []


def test_a_hanging_browser_is_killed_at_the_timeout(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(0o755)
    html = tmp_path / "report.html"
    html.write_text("<html></html>")
    with pytest.raises(PdfError, match="timed out"):
        html_to_pdf(html, tmp_path / "report.pdf", chromium=fake, timeout=0.5)


def test_missing_html_is_a_clear_error(tmp_path):
    with pytest.raises(PdfError, match="no such file"):
        html_to_pdf(tmp_path / "nope.html", tmp_path / "nope.pdf")


def test_pdf_names():
    assert pdf_name(Path("a/index.html")) == Path("a/summary.pdf")
    assert pdf_name(Path("a/eu/calibration_report.html")) == Path("a/eu/calibration_report.pdf")
