"""The leadership summary page and e-mail digest (qa_analysis.batch.summary)."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from kpi_folders import calibration, performance, write_period, write_region

from qa_analysis.batch.history import GLOBAL, load_history, update_history
from qa_analysis.batch.summary import (
    NO_FINDING,
    build_summary,
    kpi_status,
    sparkline,
    status_column,
    summary_table,
    write_summary,
)

BAND = 0.02
NOTES = Path("/work/notes")


# --- the status rule -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "lo", "hi", "expected"),
    [
        (0.92, 0.89, 0.95, "met"),  # interval clears 0.85 by more than 2% of it (0.017)
        (0.88, 0.86, 0.90, "at risk"),  # clears the target, but by less than the band
        (0.86, 0.82, 0.90, "at risk"),  # interval contains the target
        (0.84, 0.80, 0.88, "at risk"),  # below, but the interval still contains the target
        (0.80, 0.77, 0.83, "missed"),  # the whole interval is below the target
    ],
)
def test_status_rule_uses_the_interval_and_the_amber_band(value, lo, hi, expected):
    assert kpi_status(value, 0.85, ci_low=lo, ci_high=hi, amber_band=BAND) == expected


def test_status_rule_without_amber_band_is_met_as_soon_as_the_interval_clears():
    assert kpi_status(0.88, 0.85, ci_low=0.86, ci_high=0.90, amber_band=0.0) == "met"


def test_status_rule_is_mirrored_for_at_most_targets():
    # critical-error rate: at most 2%
    assert kpi_status(0.01, 0.02, ci_low=0.005, ci_high=0.015, direction="max", amber_band=0.02)
    assert (
        kpi_status(0.01, 0.02, ci_low=0.005, ci_high=0.015, direction="max", amber_band=0.02)
        == "met"
    )
    assert (
        kpi_status(0.03, 0.02, ci_low=0.025, ci_high=0.035, direction="max", amber_band=0.02)
        == "missed"
    )
    assert (
        kpi_status(0.018, 0.02, ci_low=0.01, ci_high=0.026, direction="max", amber_band=0.02)
        == "at risk"
    )


def test_status_rule_without_interval_judges_the_value():
    assert kpi_status(6.0, 5.0, amber_band=BAND) == "met"
    assert kpi_status(5.05, 5.0, amber_band=BAND) == "at risk"  # within 2% of the target
    assert kpi_status(4.0, 5.0, amber_band=BAND) == "missed"


def test_status_rule_gives_no_status_without_value_or_target():
    assert kpi_status(math.nan, 0.85, amber_band=BAND) is None
    assert kpi_status(0.9, math.nan, amber_band=BAND) is None


def test_status_column_matches_the_scalar_rule_on_random_data():
    rng = np.random.default_rng(7)
    n = 200
    v = rng.uniform(0.7, 1.0, n)
    w = rng.uniform(0.0, 0.05, n)
    t = np.full(n, 0.85)
    d = rng.choice(np.array(["min", "max"]), n)
    got = status_column(v, t, v - w, v + w, d, amber_band=BAND)
    want = [
        kpi_status(a, 0.85, ci_low=a - b, ci_high=a + b, direction=c, amber_band=BAND)
        for a, b, c in zip(v, w, d, strict=True)
    ]
    assert list(got) == want


def test_amber_band_must_be_a_share():
    with pytest.raises(ValueError, match="amber_band"):
        kpi_status(0.9, 0.85, amber_band=2.0)
    with pytest.raises(TypeError, match="amber_band"):
        kpi_status(0.9, 0.85, amber_band="0.02")  # type: ignore[arg-type]


# --- the table -------------------------------------------------------------------------
def test_month_over_month_and_year_over_year_come_from_history(tmp_path):
    write_period(tmp_path, "2025-10", {"EU": 0.70})
    write_period(tmp_path, "2026-09", {"EU": 0.80})
    update_history(tmp_path, "2026-09")
    folder = write_period(tmp_path, "2026-10", {"EU": 0.90, "NA": 0.85})
    t = summary_table(folder, load_history(tmp_path, months=13), amber_band=BAND)
    r = t.set_index(["region", "kpi"])
    assert r.loc[("EU", "pass_rate"), "change_mom"] == pytest.approx(0.10)
    assert r.loc[("EU", "pass_rate"), "change_yoy"] == pytest.approx(0.20)
    # NA has no earlier month: missing, not zero
    assert np.isnan(r.loc[("NA", "pass_rate"), "change_mom"])


def test_table_has_every_run_region_and_global_even_without_kpi_file(tmp_path):
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9, "MEA": 0.9})
    shutil.rmtree(folder / "mea")
    t = summary_table(folder, None, amber_band=BAND)
    assert list(dict.fromkeys(t["region"])) == ["EU", "MEA", GLOBAL]
    mea = t.loc[t["region"] == "MEA"]
    assert mea["value"].isna().all()
    assert mea["status"].isna().all()


# --- the page --------------------------------------------------------------------------
def _page(tmp_path: Path, **kwargs) -> str:
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9, "NA": 0.8}, **kwargs)
    files = write_summary(folder, load_history(tmp_path), amber_band=BAND)
    return files.index.read_text(encoding="utf-8")


def test_page_shows_month_over_month_filled_from_the_previous_run(tmp_path):
    write_period(tmp_path, "2026-09", {"EU": 0.85, "NA": 0.8})
    update_history(tmp_path, "2026-09")
    text = _page(tmp_path)
    assert "+5.0 pts" in text  # EU pass rate 85% -> 90%


def test_page_says_missing_in_words(tmp_path):
    text = _page(tmp_path, failed=[("NA", "performance_report")])
    assert "missing" in text
    assert "no last month" in text  # no history at all
    assert "no history" not in text or "<svg" in text
    assert re.search(r">\s*nan\s*<", text, re.IGNORECASE) is None


def test_page_takes_findings_from_the_kpi_file_and_never_invents_one(tmp_path):
    text = _page(tmp_path, findings={"EU": "Pass rate fell in queue technical (88% to 65%)."})
    assert "Pass rate fell in queue technical (88% to 65%)." in text
    assert NO_FINDING in text  # NA has none


def test_failed_report_puts_a_red_banner_on_top_and_the_error_in_the_footer(tmp_path):
    text = _page(tmp_path, failed=[("NA", "calibration_report")])
    banner = text.index('class="banner"')
    assert banner < text.index("<h2>Findings")
    footer = text[text.index('<footer id="run"') :]
    assert "RuntimeError: boom" in footer
    assert '<a href="run.json">run.json</a>' in footer


def test_no_banner_when_every_report_succeeded(tmp_path):
    text = _page(tmp_path)
    assert 'class="banner"' not in text
    assert "all reports succeeded" in text


def test_missing_run_log_is_said(tmp_path):
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9}, run=False)
    text = write_summary(folder, None, amber_band=BAND).index.read_text(encoding="utf-8")
    assert "run status unknown" in text


HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'


def test_hostile_region_and_finding_text_is_escaped(tmp_path):
    folder = tmp_path / "2026-10"
    write_region(
        folder,
        "EU",
        perf=performance(0.9),
        cal=calibration(),
        headline_finding=HOSTILE,
    )
    # a region code with markup (read from the file, not from the folder name)
    write_region(
        folder,
        "x",
        perf=performance(0.9),
        cal=calibration(),
    )
    k = (folder / "x" / "kpis.json").read_text().replace('"region": "x"', '"region": "<b>x"')
    (folder / "x" / "kpis.json").write_text(k)
    files = write_summary(folder, None, amber_band=BAND)
    for f in (files.index, files.digest):
        text = f.read_text(encoding="utf-8")
        assert "<script" not in text.lower()
        assert "onerror=" not in text.replace("onerror=&quot;", "")
        assert "<b>x" not in text
    assert "&lt;script&gt;" in files.index.read_text(encoding="utf-8")


def test_links_are_only_to_files_that_exist(tmp_path):
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9})
    (folder / "eu" / "performance_report.html").write_text("<html></html>")
    text = write_summary(folder, None, amber_band=BAND).index.read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+)"', text)
    assert "eu/performance_report.html" in hrefs
    assert "eu/calibration_report.html" not in hrefs
    for h in hrefs:
        if not h.startswith("#"):
            assert (folder / h).is_file(), h


def test_sparkline_leaves_gaps_for_missing_months_and_has_no_script():
    svg = sparkline(
        ["2026-07", "2026-08", "2026-10"], [0.8, 0.82, 0.9], last="2026-10", target=0.85
    )
    assert "<script" not in svg
    assert svg.count("<polyline") == 1  # Jul-Aug joined; Sep missing, Oct a lone point
    assert svg.count("<circle") == 2


def test_digest_lists_kpis_status_findings_actions_and_links(tmp_path):
    folder = write_period(
        tmp_path, "2026-10", {"EU": 0.9, "NA": 0.8}, findings={"EU": "EU finding."}
    )
    (folder / "eu" / "actions.csv").write_text("id,action\nA1,coach\nA2,recalibrate\n")
    (folder / "eu" / "performance_report.html").write_text("<html></html>")
    files = write_summary(folder, None, amber_band=BAND)
    md = files.markdown.read_text(encoding="utf-8")
    assert "| EU |" in md
    assert "(missed)" in md  # NA's pass rate 80% [77%, 83%] is below 85%
    assert "- **EU**: EU finding." in md
    assert "Actions this month: 2" in md
    assert "[performance](eu/performance_report.html)" in md
    html_digest = files.digest.read_text(encoding="utf-8")
    assert "EU finding." in html_digest
    assert "missed" in html_digest


def test_build_summary_history_includes_the_current_period(tmp_path):
    folder = write_period(tmp_path, "2026-10", {"EU": 0.9})
    s = build_summary(folder, None, amber_band=BAND)
    assert "2026-10" in set(s.history["period"])


# --- in a real browser -----------------------------------------------------------------
@pytest.mark.browser
def test_summary_page_is_clean_in_chromium_and_every_link_resolves(browser, tmp_path):
    from browser import links

    for i, p in enumerate(["2025-10", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]):
        write_period(tmp_path, p, {"EU": 0.8 + i / 50, "NA": 0.86 - i / 100, "LATAM": 0.84})
        update_history(tmp_path, p)
    folder = write_period(
        tmp_path,
        "2026-10",
        {"EU": 0.93, "NA": 0.8, "LATAM": 0.85},
        failed=[("LATAM", "performance_report")],
        findings={
            "EU": "Pass rate rose to 93%, above target for the third month.",
            "NA": HOSTILE,
        },
    )
    for region in ("eu", "na"):
        (folder / region / "performance_report.html").write_text("<html><body>r</body></html>")
    files = write_summary(folder, load_history(tmp_path, months=13), amber_band=BAND)
    for page in (files.index, files.digest):
        report = browser.check_page(page)
        assert report.clean, report.summary()
        lk = links(page)
        assert not lk.broken and not lk.unsafe, lk.summary()
    if NOTES.is_dir():
        browser.screenshot(files.index, NOTES / "h14-summary-page.png")
