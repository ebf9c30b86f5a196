"""Index pages of the batch's outputs.

The period's run log ``run.html`` lists every report with status and headline KPIs
(the period's ``index.html`` is the leadership summary, :mod:`qa_analysis.batch.summary`);
``<out>/index.html`` lists every complete period. Static, self-contained pages;
their style sheet is the package data file ``qa_analysis/batch/index.css``.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from qa_analysis.batch.params import PERIOD_PATTERN
from qa_analysis.batch.results import NotebookResult, RunResult
from qa_analysis.escaping import CSP_META, relative_href
from qa_analysis.io import (
    AUDIT_PLAN_FILE,
    REGION_KPI_FILE,
    REPORT_FILES,
    region_dir,
    write_text_atomic,
)
from qa_analysis.privacy import PSEUDONYM_ENV

__all__ = ["index_css", "list_periods", "write_index", "write_periods_index"]


@functools.cache
def index_css() -> str:
    """The index pages' style sheet (package data ``qa_analysis/batch/index.css``)."""
    return resources.files("qa_analysis.batch").joinpath("index.css").read_text(encoding="utf-8")


def write_index(result: RunResult, path: str | Path) -> Path:
    """Write the period's run log (``run.html``; ``index.html`` before the summary existed).

    Every report with status, duration, headline KPIs (the top-level scalar
    entries of its KPI file) and relative links to its HTML and notebook. A
    static, self-contained page.

    Each KPI value is rendered as ``<span data-kpi="name" data-value="json">``
    so scripts can read the exact value behind the rounded display; ``region``
    and ``period`` entries are left out (the row and the title say them) and an
    ``x_ci_low`` / ``x_ci_high`` pair is shown next to ``x``.
    """
    e = html.escape
    n_failed = len(result.failed)
    n_stale = sum(r.status == "stale" for r in result.results)
    summary = (
        f'<span class="summary ok">All {len(result.results)} reports succeeded</span>'
        if n_failed == 0
        else f'<span class="summary failed">{n_failed} of {len(result.results)} reports '
        f"failed{_stale_note(n_stale)}</span>"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        CSP_META,
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>QA reports {e(result.period)}</title>",
        f"<style>{index_css()}</style>",
        "</head>",
        "<body><main>",
        f"<h1>Quality reports &middot; {e(result.period)}</h1>",
        f'<p class="meta">Generated {e(result.started_at.replace("T", " "))} '
        f"&middot; {len(result.regions)} region(s) &middot; {result.workers} worker(s)"
        f"{' &middot; wall time ' + _fmt_seconds(result.wall_s) if result.wall_s else ''}</p>",
        f"<p>{summary}</p>",
        '<p class="meta"><a href="index.html">Leadership summary</a></p>',
        *(f'<p class="warning">Warning: {e(w)}</p>' for w in result.warnings),
    ]
    glob = [r for r in result.results if r.region is None]
    if glob:
        parts.append("<h2>Global overview</h2>")
        parts.append(_table(glob, show_region=False))
    regional = [r for r in result.results if r.region is not None]
    if regional:
        parts.append("<h2>Regional reports</h2>")
        parts.append(_table(regional, show_region=True))
    key_note = (
        "agent and reviewer ids are pseudonymised with the key in QA_PSEUDONYM_KEY"
        if result.pseudonym_key == PSEUDONYM_ENV
        else "agent and reviewer ids are pseudonymised with the public demo key, which is "
        "used only for the bundled demo data (any other data needs QA_PSEUDONYM_KEY "
        "set, or its reports fail)"
    )
    parts.append(
        f"<footer>Reports where the pseudonymise parameter is on: {e(key_note)}. "
        f"Durations are notebook execution times including kernel start-up. "
        f"Made by qa-analysis.</footer>"
    )
    parts.append("</main></body></html>")
    return write_text_atomic("\n".join(parts) + "\n", path)


def _table(results: Sequence[NotebookResult], show_region: bool) -> str:
    e = html.escape
    head = (
        "<tr>"
        + ("<th>Region</th>" if show_region else "")
        + '<th>Report</th><th>Status</th><th class="num">Duration</th>'
        "<th>Headline KPIs</th></tr>"
    )
    rows = [f"<table>{head}"]
    for r in results:
        links = []
        if r.html:
            links.append(f'<a href="{e(_url(r.html))}">{e(r.notebook.replace("_", " "))}</a>')
        else:
            links.append(e(r.notebook.replace("_", " ")))
        extra = []
        if r.ipynb:
            extra.append(f'<a href="{e(_url(r.ipynb))}">notebook</a>')
        folder = region_dir(r.region) + "/" if r.region else ""
        if r.ok:
            for name in REPORT_FILES.get(r.notebook, ()):
                extra.append(
                    f'<a href="{e(_url(folder + name))}">{e(_FILE_LABELS.get(name, name))}</a>'
                )
        if r.region and r.ok:
            extra.append(f'<a href="{e(_url(folder + REGION_KPI_FILE))}">{e(REGION_KPI_FILE)}</a>')
        cell = links[0] + (f'<div class="small">{" &middot; ".join(extra)}</div>' if extra else "")
        status = (
            f'<span class="status {e(r.status)}">{_STATUS_LABELS.get(r.status, "FAILED")}</span>'
        )
        if r.error:
            status += f'<div class="error">{e(r.error)}</div>'
        if r.status == "stale":
            status += (
                '<div class="small">its last run failed: the report shown is the last good '
                f"one ({e(folder + 'stale.json' if folder else 'global_stale.json')})</div>"
            )
        rows.append(
            "<tr>"
            + (f"<td><strong>{e(r.region or '')}</strong></td>" if show_region else "")
            + f"<td>{cell}</td><td>{status}</td>"
            + f'<td class="num">{_fmt_seconds(r.duration_s)}</td>'
            + f"<td>{_kpi_list(r.kpis)}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


#: Status badges; ``stale``: the last run failed, the last good report is kept.
_STATUS_LABELS = {"ok": "OK", "failed": "FAILED", "stale": "STALE"}


def _stale_note(n_stale: int) -> str:
    if not n_stale:
        return ""
    return f" ({n_stale} STALE: showing the last good report)"


def _kpi_list(kpis: Mapping[str, Any] | None) -> str:
    """Headline KPIs: top-level scalars except ``region`` / ``period``.

    The row says those; ``x_ci_low`` / ``x_ci_high`` are shown next to ``x``.
    """
    if not kpis:
        return '<span class="small">&ndash;</span>'
    e = html.escape

    def value(k: str, v: Any, like: str | None = None) -> str:
        return (
            f'<span data-kpi="{e(str(k))}" data-value="{e(json.dumps(v))}">'
            f"{e(_fmt_value(v, like or k))}</span>"
        )

    shown = {
        k: v for k, v in kpis.items() if not isinstance(v, dict | list) and k not in _INDEX_SKIP
    }
    items = []
    for k, v in shown.items():
        base = k[:-7] if k.endswith("_ci_low") else k[:-8] if k.endswith("_ci_high") else None
        if base in shown and f"{base}_ci_low" in shown and f"{base}_ci_high" in shown:
            continue  # shown next to its estimate
        text = value(k, v)
        lo, hi = f"{k}_ci_low", f"{k}_ci_high"
        if lo in shown and hi in shown:
            text += (
                f' <span class="small">(CI {value(lo, shown[lo], k)}&ndash;'
                f"{value(hi, shown[hi], k)})</span>"
            )
        items.append(f"<dt>{e(str(k).replace('_', ' '))}</dt><dd>{text}</dd>")
    if not items:
        return '<span class="small">&ndash;</span>'
    return '<dl class="kpis">' + "".join(items) + "</dl>"


_INDEX_SKIP = frozenset({"region", "period"})
#: Link text for the files a report writes besides its KPI file (io.REPORT_FILES).
_FILE_LABELS = {AUDIT_PLAN_FILE: "audit plan (CSV)"}


def _fmt_value(v: Any, key: str = "") -> str:
    """Display text; a float named ``*rate`` / ``*share`` in [0, 1] as a percentage."""
    if isinstance(v, float) and key.endswith(("rate", "share")) and 0 <= v <= 1:
        return f"{v:.1%}"
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        if abs(v) >= 100:
            return f"{v:,.1f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.3f}"
    return str(v)


def _fmt_seconds(s: float) -> str:
    if s is None or not math.isfinite(s):
        return "&ndash;"
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def _url(rel: str) -> str:
    """A link to a file of the period; ``#invalid-link`` unless every part is a safe name."""
    return relative_href(rel.replace(os.sep, "/")) or "#invalid-link"


def write_periods_index(out: str | Path) -> Path:
    """Write ``<out>/index.html`` linking every complete period, newest first."""
    out = Path(out)
    e = html.escape
    items = "".join(
        f'<li><a href="{e(_url(p + "/index.html"))}">{e(p)}</a></li>'
        for p in reversed(list_periods(out))
    )
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head>{CSP_META}<meta charset="utf-8">'
        f"<title>QA reports</title><style>{index_css()}</style></head><body><main>"
        '<h1>Quality reports</h1><p class="meta">One page per month.</p>'
        f"<ul>{items}</ul></main></body></html>\n"
    )
    return write_text_atomic(page, out / "index.html")


def list_periods(out: str | Path = "outputs") -> list[str]:
    """Complete periods in an outputs folder, oldest first.

    A complete period is a ``YYYY-MM`` folder holding an ``index.html``.
    Temporary folders of running or killed batches are never listed.
    """
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(
        p.name
        for p in out.iterdir()
        if p.is_dir() and PERIOD_PATTERN.fullmatch(p.name) and (p / "index.html").is_file()
    )
