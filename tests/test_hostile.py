"""Hostile data through the whole batch, every page checked in headless Chromium (issue 11).

Every text field of a small data set (ticket, agent, reviewer and rater ids, session ids,
markets, channels, queues, criterion names and sections, the scorecard's name) carries
HTML, script, markdown-link and mathtext payloads (tests/hostile_data.py). The shipped
notebooks run on it with pseudonymisation on (and a duplicate calibration rating in one
region, whose error names a rater) and off. Every rendered page must run no payload, hold
no live injected element, raise no CSP violation, and show the payloads as text.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from batch_project import FIXTURE_KEY, REPO, pseudonym_key
from hostile_data import PAYLOADS, write_hostile_data

from qa_analysis import batch
from qa_analysis.batch.params import load_batch_params
from qa_analysis.errors import ParamsError

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REGIONS = ["eu", "latam"]


def _project(root: Path, *, pseudonymise: bool) -> tuple[Path, str]:
    shutil.copytree(REPO / "params", root / "params")
    data = write_hostile_data(root / "data" / "hostile")
    shutil.copyfile(data / "scorecard.yaml", root / "params" / "scorecard.yaml")
    defaults = (root / "params" / "defaults.yaml").read_text()
    defaults = re.sub(r"(?m)^data: .*$", "data: data/hostile", defaults)
    defaults = re.sub(
        r"(?m)^pseudonymise: .*$", f"pseudonymise: {str(pseudonymise).lower()}", defaults
    )
    defaults = re.sub(r"(?m)^(\s+n_boot:) \d+", r"\1 100", defaults)
    (root / "params" / "defaults.yaml").write_text(defaults)
    # a duplicate calibration rating in LATAM: its error names a rater
    cal = pd.read_parquet(data / "calibration.parquet")
    row = cal.loc[cal["region"] == "LATAM"].iloc[[0]]
    pd.concat([cal, row], ignore_index=True).to_parquet(data / "calibration.parquet", index=False)
    return root, str(row["rater_id"].iloc[0]).split(" ")[0]


def _run(root: Path) -> batch.RunResult:
    with pseudonym_key(FIXTURE_KEY):
        return batch.run_batch(
            REGIONS,
            params_dir=root / "params",
            notebooks_dir=REPO / "notebooks",
            out=root / "outputs",
            workers=2,
        )


def _pages(result: batch.RunResult) -> list[Path]:
    period = result.out_dir
    pages = [period.parent / "index.html", period / "index.html"]
    pages += sorted(period.rglob("*.html"))
    return list(dict.fromkeys(pages))


@pytest.fixture(scope="module", params=[True, False], ids=["pseudonymised", "raw-ids"])
def hostile_run(request, tmp_path_factory):
    root, rater = _project(tmp_path_factory.mktemp("hostile"), pseudonymise=request.param)
    return request.param, rater, _run(root)


def test_hostile_batch_renders_every_report(hostile_run):
    _, _, result = hostile_run
    failed = {(r.region, r.notebook): r.error for r in result.failed}
    # only LATAM's calibration report fails, on its duplicate rating
    assert list(failed) == [("LATAM", "calibration_report")], failed
    assert "duplicate" in failed[("LATAM", "calibration_report")]


def test_hostile_pages_run_no_payload_in_the_browser(hostile_run, browser):
    _, _, result = hostile_run
    pages = _pages(result)
    # the periods index and the summary, the run log, the e-mail digest, the overview and
    # every regional report
    assert len(pages) == 2 + 1 + 1 + 1 + 2 * len(REGIONS)
    for page in pages:
        report = browser.check_page(page)
        assert report.clean, report.summary()
        assert report.executed == () and report.live_elements == ()
        assert report.csp_directives().get("default-src") == ("'none'",), page


def test_hostile_payloads_show_as_text(hostile_run):
    _, _, result = hostile_run
    pages = sorted(result.out_dir.rglob("*_report.html"))  # the overview shows region codes
    assert len(pages) == 2 * len(REGIONS)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "window.__pwned=1" in html, page  # escaped text, not dropped
        assert "<script>window.__pwned" not in html, page


def test_raw_rater_id_of_the_error_is_in_no_file_when_pseudonymised(hostile_run):
    pseudonymised, rater, result = hostile_run
    hits = [
        p
        for p in result.out_dir.rglob("*")
        if p.is_file() and rater in p.read_text(encoding="utf-8", errors="replace")
    ]
    if pseudonymised:
        assert hits == [], hits
    else:
        assert hits  # the control: with raw ids the error names the rater


@pytest.mark.parametrize("code", [PAYLOADS[0], "<b>x</b>", "EU/../x", "..", "EU\n"])
def test_hostile_region_codes_are_refused(tmp_path, code):
    shutil.copytree(REPO / "params", tmp_path / "params")
    (tmp_path / "params" / "bad.yaml").write_text(yaml.safe_dump({"region": code}))
    with pytest.raises(ParamsError, match="region"):
        load_batch_params(["bad"], params_dir=tmp_path / "params")
