"""Acceptance for issue 10 on the RENDERED reports: the HTML pages name every planted effect.

The scenario of tests/test_acceptance_findings.py (six effects, each in a different
region: a rater lenient on one criterion, a step confined to a queue, critical errors
concentrated in one market, a calibration collapse in the last sessions, uneven audits,
a region without calibration) and its null twin are written as data folders (parquet
plus a one-version scorecard YAML) and run through the whole batch with the shipped
notebooks and params (``qa_analysis.batch.run_batch``). The checks read the visible text
of every regional report and of the global overview (tags stripped, entities unescaped):
the planted run names each effect in words; the null run makes no comparative claim.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from batch_project import REPO
from test_acceptance_findings import (
    AGENTS,
    CLAIM_WORDS,
    EFFECTS,
    HISTORY,
    NEGATION,
    PERIOD,
    REGIONS,
    SCORECARD,
    _sentences,
    _write,
)

from qa_analysis import batch
from qa_analysis.scenarios import scenario

pytestmark = pytest.mark.slow

PAGES = ("calibration_report", "performance_report")
BLOCK = {"p", "div", "li", "tr", "td", "th", "br", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}


class _Text(HTMLParser):
    """Visible text of a page: no script/style, a line break at every block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities unescaped
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    """The page's visible text, tags stripped and entities unescaped, without the glossary."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    text = re.sub(r"[ \t\xa0]+", " ", "".join(parser.parts))
    # the glossary is the last block of every page: definitions such as "how much higher
    # (lenient) or lower (severe) a rater scores", not findings; left out of the checks
    body, _, glossary = text.partition("\nGlossary\n")
    terms = [line for line in glossary.splitlines() if line.strip()]
    assert all(re.match(r"[^:]{1,40}: ", line) for line in terms), terms  # definitions only
    return body


def _scorecard_yaml(path: Path) -> Path:
    """The scenario's rubric (first version of the packaged scorecard) as a flat YAML."""
    raw = yaml.safe_load(SCORECARD.read_text(encoding="utf-8"))
    flat = {k: v for k, v in raw.items() if k != "versions"}
    flat["criteria"] = raw["versions"][0]["criteria"]
    path.write_text(yaml.safe_dump(flat, sort_keys=False), encoding="utf-8")
    return path


def _batch(root: Path, effects) -> tuple[dict[str, str], pd.DataFrame]:
    """Write the scenario, build a project around the real notebooks, run the batch once;
    return {region code or "global": page text} and the scenario's ticket-level truth."""
    s = scenario(effects, seed=11, regions=REGIONS, months=HISTORY + 1, end=PERIOD, agents=AGENTS)
    data = _write(s, root / "data" / "scenario")
    _scorecard_yaml(data / "scorecard.yaml")
    shutil.copytree(REPO / "params", root / "params")
    defaults = (root / "params" / "defaults.yaml").read_text(encoding="utf-8")
    for pattern, value in (
        (r"(?m)^data: .*$", "data: data/scenario"),
        (r"(?m)^scorecard: .*$", "scorecard: data/scenario/scorecard.yaml"),
        (r"(?m)^pseudonymise: .*$", "pseudonymise: false"),
        (r"(?m)^history_months: .*$", f"history_months: {HISTORY}"),
        (r"(?m)^period: .*$", f'period: "{PERIOD}"'),
        (r"(?m)^(\s+n_boot:) \d+", r"\1 200"),
    ):
        defaults, n = re.subn(pattern, value, defaults)
        assert n == 1, pattern
    (root / "params" / "defaults.yaml").write_text(defaults, encoding="utf-8")
    for region in REGIONS:
        f = root / "params" / f"{region.lower()}.yaml"
        if not f.exists():
            f.write_text(f"region: {region}\n", encoding="utf-8")
    result = batch.run_batch(
        [r.lower() for r in REGIONS],
        params_dir=root / "params",
        notebooks_dir=REPO / "notebooks",
        out=root / "outputs",
        workers=2,
        timeout=None,  # no failure may depend on the machine's speed
        cell_timeout=None,
        pdf=False,
    )
    assert result.ok, [(r.label, r.error) for r in result.failed]
    texts = {
        region: "\n".join(
            page_text(result.out_dir / region.lower() / f"{page}.html") for page in PAGES
        )
        for region in REGIONS
    }
    texts["global"] = page_text(result.out_dir / "global_overview.html")
    return texts, s.truth


def _claims(text: str) -> list[str]:
    """Sentences with a claim word and no negation."""
    return [
        s
        for s in _sentences(text)
        if any(w in s.lower() for w in CLAIM_WORDS) and not NEGATION.search(s)
    ]


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory) -> tuple[dict[str, str], pd.DataFrame]:
    return _batch(tmp_path_factory.mktemp("rendered-planted"), EFFECTS)


@pytest.fixture(scope="module")
def planted(planted_run) -> dict[str, str]:
    return planted_run[0]


@pytest.fixture(scope="module")
def null(tmp_path_factory) -> dict[str, str]:
    return _batch(tmp_path_factory.mktemp("rendered-null"), ())[0]


def test_rendered_pages_name_the_rater_lenient_on_one_criterion(planted):
    assert "EU-S02 on Correct resolution: lenient" in planted["EU"]


def test_rendered_pages_name_the_queue_and_week_of_the_step(planted):
    loc = [x for x in _sentences(planted["LATAM"]) if "queue technical" in x]
    assert any("Aug 2026" in x and "decline in pass rate" in x for x in loc), loc
    assert "technical" in planted["global"] and "LATAM" in planted["global"]


def test_rendered_pages_name_the_market_of_the_critical_errors(planted):
    assert "Market JP has the highest critical-error rate" in planted["APAC"]


def test_rendered_pages_name_the_calibration_collapse(planted):
    assert "Agreement collapsed in the latest sessions" in planted["NA"]


def test_rendered_pass_rate_interval_covers_the_ticket_level_truth_under_uneven_audits(
    planted_run,
):
    texts, truth = planted_run
    shown = re.search(r"Pass rate: ([\d.]+)% \[([\d.]+)%, ([\d.]+)%\]", texts["MEA"])
    assert shown, "no ticket-level pass rate on the MEA page"
    rate = truth.query("region == 'MEA' and month == @PERIOD")["pass_rate"].iloc[0]
    assert float(shown[2]) <= round(100 * rate, 1) <= float(shown[3])
    assert "Estimated for the region's tickets" in texts["MEA"]
    assert "average over audits" in texts["MEA"]  # the audit-level figure, labelled as such


def test_rendered_overview_names_the_region_without_calibration(planted):
    assert "ANZ: MISSING calibration" in planted["global"]
    assert "no calibration ratings this month" in planted["ANZ"]


def test_rendered_planted_pages_claim_only_the_planted_effects(planted):
    # a table row of the calibration report names the rater in another cell
    planted_words = ("EU-S02", "Correct resolution", "queue technical", "Market JP", "collapsed")
    for page, text in planted.items():
        for sent in _claims(text):
            assert any(w in sent for w in planted_words), (page, sent)


def test_rendered_null_pages_make_no_comparative_claim(null):
    for page, text in null.items():
        assert _claims(text) == [], page
    assert not re.search(r"\w+: MISSING", null["global"])  # every region has its data
