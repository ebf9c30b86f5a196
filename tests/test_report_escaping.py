"""Report narratives escape every value from the data and the scorecard (issue 11).

The narratives are rendered here as nbconvert renders markdown when raw HTML is allowed
(its default), so this tests the source-side wall alone: values go through
``qa_analysis.escaping.md_escape`` wherever a narrative inserts them.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hostile_data import write_hostile_data
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from qa_analysis.report import calibration as rc
from qa_analysis.report import overview as ro
from qa_analysis.report import performance as rp
from qa_analysis.report.data import load_report_data

#: Tags the narratives themselves write (emphasis, lists, paragraphs).
NARRATIVE_TAGS = {"p", "strong", "em", "ul", "li", "br", "code", "a"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def injected(markdown: str) -> list[str]:
    """Elements or links in the rendered markdown that the narrative did not write."""
    html = MarkdownWithMath(renderer=IPythonRenderer(escape=False)).render(markdown)
    p = _Tags()
    p.feed(html)
    bad = [f"<{t}>" for t, _ in p.tags if t not in NARRATIVE_TAGS]
    bad += [f"<{t} {a}>" for t, a in p.tags if any(k.startswith("on") for k in a)]
    bad += [f"<a href={a.get('href')}>" for t, a in p.tags if t == "a"]
    bad += [f"<{t} data-qa-payload>" for t, a in p.tags if "data-qa-payload" in a]
    return bad


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_hostile_data(tmp_path_factory.mktemp("hostile"))


def _load(folder, tables):
    return load_report_data(
        folder,
        folder / "scorecard.yaml",
        region="EU",
        period="2026-10",
        history_months=3,
        pseudonymise=False,  # raw hostile ids reach the narratives
        tables=tables,
    )


def test_calibration_narratives_escape_ids_and_criterion_names(folder):
    loaded = _load(folder, ("calibration",))
    res = rc.calibration_results(
        loaded.calibration,
        loaded.scorecard,
        loaded.window,
        thresholds={"n_boot": 50},
        seed=1,
        region="EU",
    )
    texts = {
        "participation": rc.participation_sentence(res),
        "agreement": rc.agreement_markdown(res),
        "paradox": rc.kappa_paradox_markdown(res, high=0.0),
        "raters": rc.rater_markdown(res),
        "split": rc.split_markdown(res),
        "drift": rc.drift_sentence(res),
    }
    assert "Ticket **T" in texts["split"]  # a hostile ticket id is named
    for name, text in texts.items():
        assert injected(text) == [], (name, text)


def test_performance_narratives_escape_segment_and_criterion_names(folder):
    loaded = _load(folder, ("evaluations", "tickets"))
    d = rp.performance_data(
        loaded.evaluations,
        loaded.tickets,
        loaded.scorecard,
        loaded.window,
        sampling={"per_agent": 2},
        seed=1,
        region="EU",
    )
    s = rp.all_sections(d)
    texts = {
        "volume": rp.volume_markdown(s["volume"]),
        "control": rp.control_markdown(s["control"]),
        "trend": rp.trend_sentence(s["trend"]),
        "targets": rp.targets_markdown(s["targets"]),
        "pareto": rp.pareto_sentence(s["pareto"]),
        "critical": rp.critical_sentence(s["critical"]),
        "agents": rp.agents_markdown(s["agents"]),
        "changes": rp.changes_markdown(s["changes"]),
        "csat": rp.csat_sentence(s["csat"]),
        "plan": rp.plan_sentence(s["plan"]),
    }
    # the hostile names reach the text escaped (as text), never as markup
    assert any("&lt;" in t or "\\[x\\]" in t for t in texts.values())
    for name, text in texts.items():
        assert injected(text) == [], (name, text)


def test_region_links_escape_names_and_link_only_valid_folders():
    text = ro.region_links(["EU", "../x", "<img src=x onerror=alert(1)>"])
    assert "(eu/calibration_report.html)" in text
    assert injected(text.replace("](eu/", "](#eu/")) == [
        "<a href=#eu/calibration_report.html>",
        "<a href=#eu/performance_report.html>",
        "<a href=#eu/audit_plan.csv>",
        "<a href=#eu/kpis.json>",
    ]
    assert "../x/" not in text
