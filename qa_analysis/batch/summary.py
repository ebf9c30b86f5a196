"""The leadership summary of a period: the page a Quality Lead reads first.

:func:`write_summary` renders, from a period folder's KPI files, its run log
(``run.json``) and the history store (:mod:`qa_analysis.batch.history`):

- ``index.html``: one row per region and one for global; for each KPI (pass
  rate, mean score, critical-error rate, calibration alpha, audits per agent)
  the value with its interval, the target, the status (:func:`kpi_status`),
  the change from last month and from the same month last year (where the
  history has them) and a 12-month sparkline (inline SVG); one plain sentence
  per region, the tested finding its reports wrote (``headline_finding``;
  never made up here); run status, timings and errors in a footer, and a red
  banner at the top when any report failed. A value that is missing says so
  in words.
- ``summary.md`` and ``summary.html``: a short e-mail-ready digest (KPIs
  against target with status, three to five findings, number of actions,
  links).

Every text from data is escaped (``html.escape``); links are built only from
validated folder names and the fixed report names of :mod:`qa_analysis.io`,
and only to files that exist. The pages are plain HTML + CSS, with no script,
and print one section per page.
"""

from __future__ import annotations

import csv
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import numpy as np
import pandas as pd

from qa_analysis.batch.history import (
    GLOBAL,
    HISTORY_KPIS,
    months_back,
    period_rows,
    targets_for,
)
from qa_analysis.io import (
    GLOBAL_NOTEBOOK,
    KPI_FILES,
    REGION_KPI_FILE,
    REGIONAL_NOTEBOOKS,
    read_kpis,
    write_text_atomic,
)
from qa_analysis.report.data import TARGET_DIRECTIONS
from qa_analysis.report.formatting import KPI_LABELS

__all__ = [
    "NO_FINDING",
    "SUMMARY_KPIS",
    "Summary",
    "SummaryFiles",
    "kpi_status",
    "status_column",
    "summary_table",
    "write_summary",
]

Status = Literal["met", "at risk", "missed"]

#: KPIs of the summary, in column order.
SUMMARY_KPIS: tuple[str, ...] = tuple(HISTORY_KPIS)
#: The sentence shown for a region whose reports wrote no tested finding.
NO_FINDING = "No tested finding this month."
#: Key of the one-sentence finding in a region's KPI file (top level, or in a report's section).
FINDING_KEY = "headline_finding"
#: Per-region actions file (issue 12); counted when present.
ACTIONS_FILE = "actions.csv"
#: Run logs linked from the footer when present (the batch's run page and ``run.json``).
RUN_LOG_FILES: tuple[str, ...] = ("run.html", "run.json")
#: Months of sparkline.
SPARK_MONTHS = 12

_RATES = frozenset({"pass_rate", "critical_rate"})
_SAFE_DIR = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_e = html.escape


# ---------------------------------------------------------------------------
# status rule
# ---------------------------------------------------------------------------
def kpi_status(
    value: float,
    target: float,
    *,
    ci_low: float = math.nan,
    ci_high: float = math.nan,
    direction: Literal["min", "max"] = "min",
    amber_band: float,
) -> Status | None:
    """Met / at risk / missed by the uncertainty rule, with an amber band.

    Parameters
    ----------
    value, target : float
        The KPI and its target.
    ci_low, ci_high : float
        The KPI's interval; NaN when it has none (the interval is then the value).
    direction : {"min", "max"}
        ``min``: the KPI must be at least the target; ``max``: at most.
    amber_band : float
        Share of the target (``0.02``: 2% of it) by which the interval must
        clear the target to count as met (``summary.amber_band`` in
        ``params/defaults.yaml``, passed by the batch). A share, not an absolute
        margin, so one number suits rates, 0-100 scores and audit counts.

    Returns
    -------
    str or None
        With ``b = amber_band * |target|`` and direction ``min``:
        ``met`` when the whole interval is at least ``target + b``;
        ``missed`` when the whole interval is below the target (it excludes the
        target on the wrong side); ``at risk`` otherwise (the interval contains
        the target, or clears it by less than the band). Mirrored for ``max``.
        None when the value or the target is missing.

    Examples
    --------
    >>> kpi_status(0.90, 0.85, ci_low=0.87, ci_high=0.93, amber_band=0.02)
    'met'
    >>> kpi_status(0.86, 0.85, ci_low=0.80, ci_high=0.91, amber_band=0.02)
    'at risk'
    >>> kpi_status(0.80, 0.85, ci_low=0.76, ci_high=0.84, amber_band=0.02)
    'missed'
    >>> kpi_status(0.01, 0.02, direction="max", amber_band=0.0)
    'met'
    """
    st = status_column(
        np.array([value], dtype=float),
        np.array([target], dtype=float),
        np.array([ci_low], dtype=float),
        np.array([ci_high], dtype=float),
        np.array([direction]),
        amber_band=amber_band,
    )[0]
    return None if st is None else st


def status_column(
    value: np.ndarray,
    target: np.ndarray,
    ci_low: np.ndarray,
    ci_high: np.ndarray,
    direction: np.ndarray,
    *,
    amber_band: float,
) -> np.ndarray:
    """:func:`kpi_status` over arrays (vectorised); object array of status or None."""
    if isinstance(amber_band, bool) or not isinstance(amber_band, int | float):
        raise TypeError(f"amber_band must be a number, got {type(amber_band).__name__}")
    if not 0 <= amber_band < 1:
        raise ValueError(f"amber_band must be in [0, 1) (a share of the target), got {amber_band}")
    v = np.asarray(value, dtype=float)
    t = np.asarray(target, dtype=float)
    lo = np.where(np.isfinite(ci_low), ci_low, v)
    hi = np.where(np.isfinite(ci_high), ci_high, v)
    sign = np.where(np.asarray(direction) == "max", -1.0, 1.0)
    # turn "max" KPIs into "min" ones: worst and best ends of the interval
    worst = np.where(sign > 0, lo, -hi)
    best = np.where(sign > 0, hi, -lo)
    tt = sign * t
    band = amber_band * np.abs(t)
    known = np.isfinite(v) & np.isfinite(t)
    out = np.select(
        [~known, best < tt, worst >= tt + band],
        np.array([None, "missed", "met"], dtype=object),
        default="at risk",
    )
    return np.asarray(out, dtype=object)


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------
def summary_table(
    period_dir: str | Path,
    history: pd.DataFrame | None = None,
    *,
    amber_band: float,
    period: str | None = None,
    targets: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per region x KPI: value, interval, target, status and changes.

    Parameters
    ----------
    period_dir : str or Path
        ``<out>/<period>``.
    history : DataFrame, optional
        :func:`qa_analysis.batch.history.load_history` output; this period's
        rows are taken from the folder (so the table does not depend on the
        store having been updated first).
    amber_band : float
        See :func:`kpi_status`.
    period : str, optional
        Default the folder's name.
    targets : mapping, optional
        As in :func:`qa_analysis.batch.history.period_rows`.

    Returns
    -------
    DataFrame
        ``region, kpi, label, value, ci_low, ci_high, target, direction,
        status, prev, change_mom, prev_year, change_yoy, n``. Regions are those
        of the run (``run.json``) and of the KPI files, sorted, then
        ``GLOBAL``; a region without a KPI file has missing values.
    """
    folder = Path(period_dir)
    period = period or folder.name
    cur = period_rows(folder, period, targets=targets)
    regions = sorted((set(cur["region"].dropna().tolist()) | set(_run_regions(folder))) - {GLOBAL})
    grid = pd.MultiIndex.from_product(
        [[*regions, GLOBAL], list(SUMMARY_KPIS)], names=["region", "kpi"]
    ).to_frame(index=False)
    grid["region"] = grid["region"].astype("string")
    grid["kpi"] = grid["kpi"].astype("string")
    tab = grid.merge(cur.drop(columns="period"), on=["region", "kpi"], how="left")
    if tab["target"].isna().any():
        tg = targets_for(targets, "")  # regions without a KPI file: the shared targets
        tab["target"] = tab["target"].fillna(tab["kpi"].map(tg).astype(float))
    tab["direction"] = tab["kpi"].map(lambda k: TARGET_DIRECTIONS.get(str(k), "min"))
    tab["status"] = status_column(
        tab["value"].to_numpy(dtype=float),
        tab["target"].to_numpy(dtype=float),
        tab["ci_low"].to_numpy(dtype=float),
        tab["ci_high"].to_numpy(dtype=float),
        tab["direction"].to_numpy(dtype=object),
        amber_band=amber_band,
    )
    tab.insert(2, "label", tab["kpi"].map(lambda k: KPI_LABELS.get(str(k), str(k))))
    for col, k in (("prev", 1), ("prev_year", 12)):
        tab[col] = _lookup(history, tab, months_back(period, k))
    tab["change_mom"] = tab["value"] - tab["prev"]
    tab["change_yoy"] = tab["value"] - tab["prev_year"]
    cols = [
        "region",
        "kpi",
        "label",
        "value",
        "ci_low",
        "ci_high",
        "target",
        "direction",
        "status",
        "prev",
        "change_mom",
        "prev_year",
        "change_yoy",
        "n",
    ]
    return tab.loc[:, cols]


def _lookup(history: pd.DataFrame | None, tab: pd.DataFrame, period: str) -> np.ndarray:
    if history is None or len(history) == 0:
        return np.full(len(tab), np.nan)
    h = history.loc[history["period"] == period, ["region", "kpi", "value"]]
    m = tab[["region", "kpi"]].merge(
        h.drop_duplicates(["region", "kpi"]), on=["region", "kpi"], how="left"
    )
    return m["value"].to_numpy(dtype=float)


def _run_regions(folder: Path) -> list[str]:
    run = _read_json(folder / "run.json")
    regs = run.get("regions") if run else None
    return [str(r) for r in regs] if isinstance(regs, list) else []


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return read_kpis(path) if path.is_file() else None
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------
# what the page shows
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """Everything the summary pages show (built by :func:`build_summary`)."""

    period: str
    table: pd.DataFrame
    history: pd.DataFrame
    findings: dict[str, str | None]
    actions: dict[str, int | None]
    reports: dict[str, list[tuple[str, str]]]
    run: dict[str, Any] | None
    amber_band: float
    folder: Path

    @property
    def failures(self) -> list[tuple[str, str]]:
        """(report label, error) of every report that did not succeed."""
        out: list[tuple[str, str]] = []
        if self.run is None:
            return out
        for nb in self.run.get("notebooks") or []:
            if not isinstance(nb, Mapping) or nb.get("status") == "ok":
                continue
            label = (
                f"{nb.get('region') or 'global'} {str(nb.get('notebook', '')).replace('_', ' ')}"
            )
            out.append((label, str(nb.get("error") or nb.get("status") or "failed")))
        return out

    @property
    def regions(self) -> list[str]:
        """Region codes in table order (GLOBAL last)."""
        return list(dict.fromkeys(self.table["region"].tolist()))


def build_summary(
    period_dir: str | Path,
    history: pd.DataFrame | None = None,
    *,
    amber_band: float,
    period: str | None = None,
    targets: Mapping[str, Any] | None = None,
) -> Summary:
    """Gather the summary of a period folder (no writing); see :func:`write_summary`."""
    folder = Path(period_dir)
    period = period or folder.name
    tab = summary_table(folder, history, amber_band=amber_band, period=period, targets=targets)
    cur = period_rows(folder, period, targets=targets)
    hist = history if history is not None else cur.iloc[0:0]
    hist = pd.concat([hist.loc[hist["period"] != period], cur], ignore_index=True)
    first = months_back(period, SPARK_MONTHS - 1)
    hist = hist.loc[(hist["period"] >= first) & (hist["period"] <= period)]
    findings: dict[str, str | None] = {}
    actions: dict[str, int | None] = {}
    reports: dict[str, list[tuple[str, str]]] = {}
    for region in dict.fromkeys(tab["region"].tolist()):
        sub = _region_folder(folder, region)
        k = _read_json(sub / REGION_KPI_FILE) if sub is not None and region != GLOBAL else None
        if region == GLOBAL:
            k = _read_json(folder / KPI_FILES[GLOBAL_NOTEBOOK])
        findings[region] = _finding(k)
        actions[region] = _count_actions(sub) if sub is not None and region != GLOBAL else None
        reports[region] = _report_links(folder, region)
    return Summary(
        period=period,
        table=tab,
        history=hist,
        findings=findings,
        actions=actions,
        reports=reports,
        run=_read_json(folder / "run.json"),
        amber_band=amber_band,
        folder=folder,
    )


def _region_folder(folder: Path, region: str) -> Path | None:
    name = region.lower()
    if region == GLOBAL:
        return folder
    return folder / name if _SAFE_DIR.match(name) else None


def _finding(k: Mapping[str, Any] | None) -> str | None:
    if not k:
        return None
    for sec in (k, k.get("performance"), k.get("calibration")):
        if isinstance(sec, Mapping):
            f = sec.get(FINDING_KEY)
            if isinstance(f, str) and f.strip():
                return " ".join(f.split())
    return None


def _count_actions(sub: Path) -> int | None:
    f = sub / ACTIONS_FILE
    if not f.is_file():
        return None
    with open(f, newline="", encoding="utf-8") as fh:
        return max(sum(1 for _ in csv.reader(fh)) - 1, 0)


def _href(*parts: str) -> str:
    return "/".join(quote(p, safe="") for p in parts)


def _report_links(folder: Path, region: str) -> list[tuple[str, str]]:
    """(label, href) of the region's (or global) reports that exist, PDFs included."""
    out: list[tuple[str, str]] = []
    items: list[tuple[tuple[str, ...], str]]
    if region == GLOBAL:
        items = [((), GLOBAL_NOTEBOOK)]
    else:
        name = region.lower()
        if not _SAFE_DIR.match(name):
            return out
        items = [((name,), nb) for nb in REGIONAL_NOTEBOOKS]
    for prefix, nb in items:
        label = nb.replace("_report", "").replace("_", " ")
        for ext, suffix in (("html", ""), ("pdf", " (PDF)")):
            if Path(folder, *prefix, f"{nb}.{ext}").is_file():
                out.append((label + suffix, _href(*prefix, f"{nb}.{ext}")))
    if region != GLOBAL and (folder / region.lower() / ACTIONS_FILE).is_file():
        out.append(("actions (CSV)", _href(region.lower(), ACTIONS_FILE)))
    return out


# ---------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------
def _fmt(kpi: str, x: float, *, signed: bool = False) -> str:
    if not np.isfinite(x):
        return "missing"
    if kpi in _RATES:
        s = f"{x * 100:+.1f}" if signed else f"{x * 100:.1f}"
        return s + (" pts" if signed else "%")
    if kpi == "alpha":
        return f"{x:+.3f}" if signed else f"{x:.3f}"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def _cell_value(r: Mapping[str, Any]) -> str:
    k = str(r["kpi"])
    if not np.isfinite(r["value"]):
        return '<span class="missing">missing</span>'
    v = _e(_fmt(k, r["value"]))
    if np.isfinite(r["ci_low"]) and np.isfinite(r["ci_high"]):
        v += f' <span class="ci">[{_e(_fmt(k, r["ci_low"]))}, {_e(_fmt(k, r["ci_high"]))}]</span>'
    return v


def _status_html(st: Any) -> str:
    if not isinstance(st, str):
        return '<span class="st missing">no status</span>'
    cls = st.replace(" ", "-")
    return f'<span class="st {_e(cls)}">{_e(st)}</span>'


def _change_html(r: Mapping[str, Any], col: str, what: str) -> str:
    k = str(r["kpi"])
    x = r[col]
    if not np.isfinite(x):
        return f'<span class="missing">no {_e(what)}</span>'
    good = x * (-1 if r["direction"] == "max" else 1)
    cls = "up" if good > 0 else ("down" if good < 0 else "flat")
    return f'<span class="chg {cls}">{_e(_fmt(k, x, signed=True))}</span>'


def sparkline(
    periods: Sequence[str],
    values: Sequence[float],
    *,
    last: str,
    target: float = math.nan,
    width: int = 120,
    height: int = 30,
    months: int = SPARK_MONTHS,
    title: str = "",
) -> str:
    """An inline SVG sparkline of the last ``months`` months (gaps where missing).

    The x axis is calendar months ending at ``last`` (a month without data is
    a gap, not interpolated); a dashed line marks the target. No script, no
    external reference.

    Examples
    --------
    >>> svg = sparkline(["2026-09", "2026-10"], [0.8, 0.9], last="2026-10", target=0.85)
    >>> svg.startswith("<svg") and "<script" not in svg
    True
    """
    axis = [months_back(last, k) for k in range(months - 1, -1, -1)]
    pos = {p: i for i, p in enumerate(axis)}
    y = np.full(months, np.nan)
    for p, v in zip(periods, values, strict=True):
        if p in pos and v is not None and np.isfinite(v):
            y[pos[p]] = float(v)
    t = _e(title)
    if not np.isfinite(y).any():
        return (
            f'<svg class="spark" width="{width}" height="{height}" role="img" '
            f'aria-label="{t}: no history"><title>{t}: no history</title>'
            f'<text x="2" y="{height - 10}" class="nohist">no history</text></svg>'
        )
    pad = 3.0
    fin = y[np.isfinite(y)]
    lo_hi = [*fin.tolist(), *([target] if np.isfinite(target) else [])]
    lo, hi = min(lo_hi), max(lo_hi)
    span = hi - lo if hi > lo else 1.0
    xs = pad + np.arange(months) * (width - 2 * pad) / max(months - 1, 1)

    def sy(v: float) -> float:
        return float(height - pad - (v - lo) / span * (height - 2 * pad))

    parts = [
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{t}"><title>{t}</title>'
    ]
    if np.isfinite(target):
        ty = sy(target)
        parts.append(
            f'<line class="tgt" x1="{pad}" x2="{width - pad}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
        )
    seg: list[str] = []
    for i in range(months):
        if np.isfinite(y[i]):
            seg.append(f"{xs[i]:.1f},{sy(y[i]):.1f}")
        elif seg:
            parts.append(_poly(seg))
            seg = []
    if seg:
        parts.append(_poly(seg))
    if np.isfinite(y[-1]):
        parts.append(f'<circle cx="{xs[-1]:.1f}" cy="{sy(y[-1]):.1f}" r="2.2"/>')
    parts.append("</svg>")
    return "".join(parts)


def _poly(seg: list[str]) -> str:
    if len(seg) == 1:
        x, y = seg[0].split(",")
        return f'<circle cx="{x}" cy="{y}" r="1.6"/>'
    return f'<polyline points="{" ".join(seg)}"/>'


# ---------------------------------------------------------------------------
# pages
# ---------------------------------------------------------------------------
_CSS = """
:root { --met: #1a7f37; --risk: #9a6700; --miss: #c62828; --muted: #5f6b7a; --line: #e3e7ed; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933;
       margin: 0; background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.meta, .small { color: var(--muted); font-size: 13px; }
.banner { background: #fdecea; color: var(--miss); border: 2px solid var(--miss);
          border-radius: 6px; padding: 10px 14px; font-weight: 600; margin: 12px 0; }
table { width: 100%; border-collapse: collapse; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { background: #eef1f5; font-size: 12px; text-transform: uppercase; color: var(--muted); }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.ci { color: var(--muted); font-size: 12px; }
.st { font-weight: 600; white-space: nowrap; padding: 1px 6px; border-radius: 4px; }
.st.met { color: var(--met); background: #e6f4ea; }
.st.at-risk { color: var(--risk); background: #fff4d6; }
.st.missed { color: var(--miss); background: #fdecea; }
.missing { color: var(--muted); font-style: italic; }
.chg.up { color: var(--met); } .chg.down { color: var(--miss); } .chg.flat { color: var(--muted); }
.finding { margin: 2px 0 0; }
.spark polyline { fill: none; stroke: #0b5cad; stroke-width: 1.5; }
.spark circle { fill: #0b5cad; } .spark .tgt { stroke: #9aa5b1; stroke-dasharray: 3 2; }
.spark .nohist { font-size: 10px; fill: var(--muted); font-style: italic; }
.failed { color: var(--miss); font-weight: 600; }
.warning { color: var(--risk); font-weight: 600; }
.err { color: var(--miss); font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
       word-break: break-word; }
a { color: #0b5cad; }
footer { margin-top: 28px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  main { max-width: none; padding: 0; }
  section { break-before: page; } section:first-of-type { break-before: auto; }
  tr, .spark { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _region_name(region: str) -> str:
    return "Global" if region == GLOBAL else region


def _banner(s: Summary) -> str:
    fails = s.failures
    if not fails:
        return ""
    names = ", ".join(_e(lbl) for lbl, _ in fails)
    return (
        f'<div class="banner" role="alert">{len(fails)} report(s) failed: {names}. '
        'Their figures are shown as missing; see <a href="#run">run status</a>.</div>'
    )


def _kpi_table(s: Summary) -> str:
    head = (
        "<tr><th>Region</th><th>KPI</th><th class=num>Value [interval]</th>"
        "<th class=num>Target</th><th>Status</th><th class=num>vs last month</th>"
        "<th class=num>vs last year</th><th>Last 12 months</th></tr>"
    )
    rows = []
    series = {
        (str(k[0]), str(k[1])): (g["period"].astype(str).tolist(), g["value"].tolist())
        for k, g in s.history.groupby(["region", "kpi"], sort=False, observed=True)
    }
    by_region = {str(k): g.to_dict("records") for k, g in s.table.groupby("region", sort=False)}
    for region in s.regions:
        sub = by_region[region]
        for i, r in enumerate(sub):
            periods, values = series.get((region, str(r["kpi"])), ([], []))
            spark = sparkline(
                periods,
                values,
                last=s.period,
                target=float(r["target"]),
                title=f"{_region_name(region)} {r['label']}, last {SPARK_MONTHS} months",
            )
            word = "at most" if r["direction"] == "max" else "at least"
            tgt = (
                f"{word} {_e(_fmt(str(r['kpi']), r['target']))}"
                if np.isfinite(r["target"])
                else '<span class="missing">no target</span>'
            )
            first = (
                f'<th rowspan="{len(sub)}" scope="row">{_e(_region_name(region))}</th>'
                if i == 0
                else ""
            )
            rows.append(
                f"<tr>{first}<td>{_e(str(r['label']))}</td><td class=num>{_cell_value(r)}</td>"
                f"<td class=num>{tgt}</td><td>{_status_html(r['status'])}</td>"
                f"<td class=num>{_change_html(r, 'change_mom', 'last month')}</td>"
                f"<td class=num>{_change_html(r, 'change_yoy', 'last year')}</td>"
                f"<td>{spark}</td></tr>"
            )
    return f"<table>{head}{''.join(rows)}</table>"


def _findings_list(s: Summary) -> str:
    items = []
    for region in s.regions:
        f = s.findings.get(region)
        text = _e(f) if f else f'<span class="missing">{_e(NO_FINDING)}</span>'
        links = " · ".join(f'<a href="{_e(h)}">{_e(lbl)}</a>' for lbl, h in s.reports[region])
        n = s.actions.get(region)
        acts = "" if region == GLOBAL else f" · actions: {n}" if n is not None else ""
        items.append(
            f"<li><strong>{_e(_region_name(region))}</strong>: {text}"
            f'<div class="small">{links or "no report files"}{acts}</div></li>'
        )
    return "<ul>" + "".join(items) + "</ul>"


def _footer(s: Summary) -> str:
    if s.run is None:
        return (
            '<footer id="run"><h2>Run status</h2><p class="failed">No run log (run.json) in this '
            "period folder: run status unknown.</p></footer>"
        )
    rows = []
    for nb in s.run.get("notebooks") or []:
        if not isinstance(nb, Mapping):
            continue
        ok = nb.get("status") == "ok"
        st = _e(str(nb.get("status", "unknown")))
        err = nb.get("error")
        rows.append(
            f"<tr><td>{_e(str(nb.get('region') or 'global'))}</td>"
            f"<td>{_e(str(nb.get('notebook', '')).replace('_', ' '))}</td>"
            f'<td class="{"" if ok else "failed"}">{st}</td>'
            f"<td class=num>{_e(_secs(nb.get('duration_s')))}</td>"
            f"<td class=num>{_e(_secs(nb.get('render_s')))}</td>"
            f"<td>{'<div class=err>' + _e(str(err)) + '</div>' if err else ''}</td></tr>"
        )
    logs = " · ".join(
        f'<a href="{_e(_href(n))}">{_e(n)}</a>' for n in RUN_LOG_FILES if (s.folder / n).is_file()
    )
    ok = bool(s.run.get("ok"))
    state = "all reports succeeded" if ok else f"{len(s.failures)} report(s) FAILED"
    warns = s.run.get("warnings")
    warn_html = "".join(
        f'<p class="warning">Warning: {_e(str(w))}</p>'
        for w in (warns if isinstance(warns, list) else [])
    )
    return (
        f'<footer id="run"><h2>Run status</h2><p class="{"" if ok else "failed"}">'
        f"{_e(state)}; wall time {_e(_secs(s.run.get('wall_s')))} with "
        f"{_e(str(s.run.get('workers', '?')))} worker(s); started "
        f"{_e(str(s.run.get('started_at', 'unknown')))}.{' Run log: ' + logs if logs else ''}</p>"
        f"{warn_html}"
        "<table><tr><th>Region</th><th>Report</th><th>Status</th><th class=num>Run</th>"
        f"<th class=num>Render</th><th>Error</th></tr>{''.join(rows)}</table></footer>"
    )


def _secs(x: Any) -> str:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return "missing"
    return f"{x:.1f} s"


def summary_html(s: Summary) -> str:
    """The leadership summary page (``index.html``)."""
    n_met = int((s.table["status"] == "met").sum())
    n_risk = int((s.table["status"] == "at risk").sum())
    n_miss = int((s.table["status"] == "missed").sum())
    body = (
        f"<h1>Quality summary {_e(s.period)}</h1>"
        f'<p class="meta">{len(s.regions) - 1} region(s) and global · KPIs: {n_met} met, '
        f"{n_risk} at risk, {n_miss} missed · met = the interval clears the target by "
        f"{s.amber_band:.0%} of it; missed = the interval is wholly on the wrong side · "
        '<a href="summary.html">e-mail digest</a></p>'
        f"{_banner(s)}"
        f"<section><h2>Findings</h2>{_findings_list(s)}</section>"
        f"<section><h2>KPIs against target</h2>{_kpi_table(s)}</section>"
        f"<section>{_footer(s)}</section>"
    )
    return _page(f"Quality summary {s.period}", body)


def _digest_findings(s: Summary) -> list[tuple[str, str]]:
    out = [(r, f) for r in s.regions if (f := s.findings.get(r))]
    return out[:5]


def summary_markdown(s: Summary) -> str:
    """The e-mail digest as Markdown (``summary.md``)."""
    lines = [f"# Quality summary {s.period}", ""]
    if s.failures:
        lines += [
            f"**{len(s.failures)} report(s) failed:** "
            + ", ".join(lbl for lbl, _ in s.failures)
            + ".",
            "",
        ]
    lines += ["| Region | " + " | ".join(KPI_LABELS.get(k, k) for k in SUMMARY_KPIS) + " |"]
    lines += ["|---" * (len(SUMMARY_KPIS) + 1) + "|"]
    for region in s.regions:
        sub = s.table.loc[s.table["region"] == region].set_index("kpi")
        cells = []
        for k in SUMMARY_KPIS:
            r = sub.loc[k]
            st = r["status"] if isinstance(r["status"], str) else "no status"
            val = _fmt(k, r["value"])
            cells.append(f"{val} ({st})".replace("|", "/"))
        lines.append(f"| {_region_name(region).replace('|', '/')} | " + " | ".join(cells) + " |")
    lines += ["", "## Findings", ""]
    fs = _digest_findings(s)
    lines += [f"- **{_region_name(r)}**: {f}" for r, f in fs] or [f"- {NO_FINDING}"]
    n_act = [n for n in s.actions.values() if n is not None]
    lines += [
        "",
        f"Actions this month: {sum(n_act)}" if n_act else "Actions this month: no actions file.",
        "",
        "Full summary: index.html · digest: summary.html",
    ]
    for region in s.regions:
        links = ", ".join(f"[{lbl}]({h})" for lbl, h in s.reports[region])
        if links:
            lines.append(f"- {_region_name(region)}: {links}")
    return "\n".join(lines) + "\n"


def digest_html(s: Summary) -> str:
    """The e-mail digest as HTML (``summary.html``): inline styles, one table, findings, links."""
    colours = {"met": "#1a7f37", "at risk": "#9a6700", "missed": "#c62828"}
    td = 'style="padding:4px 8px;border-bottom:1px solid #e3e7ed;text-align:right"'
    head = "".join(
        f'<th style="padding:4px 8px;text-align:right">{_e(KPI_LABELS.get(k, k))}</th>'
        for k in SUMMARY_KPIS
    )
    rows = []
    for region in s.regions:
        sub = s.table.loc[s.table["region"] == region].set_index("kpi")
        cells = []
        for k in SUMMARY_KPIS:
            r = sub.loc[k]
            st = r["status"] if isinstance(r["status"], str) else None
            col = colours.get(st or "", "#5f6b7a")
            cells.append(
                f"<td {td}>{_e(_fmt(k, r['value']))}<br>"
                f'<span style="color:{col};font-weight:600">{_e(st or "no status")}</span></td>'
            )
        rows.append(
            f'<tr><th style="padding:4px 8px;text-align:left">{_e(_region_name(region))}</th>'
            + "".join(cells)
            + "</tr>"
        )
    fs = _digest_findings(s)
    items = "".join(f"<li><strong>{_e(_region_name(r))}</strong>: {_e(f)}</li>" for r, f in fs)
    n_act = [n for n in s.actions.values() if n is not None]
    banner = (
        f'<p style="color:#c62828;font-weight:600">{len(s.failures)} report(s) failed: '
        + _e(", ".join(lbl for lbl, _ in s.failures))
        + ".</p>"
        if s.failures
        else ""
    )
    links = "".join(
        f"<li>{_e(_region_name(r))}: "
        + ", ".join(f'<a href="{_e(h)}">{_e(lbl)}</a>' for lbl, h in s.reports[r])
        + "</li>"
        for r in s.regions
        if s.reports[r]
    )
    body = (
        f'<h1 style="font-size:20px">Quality summary {_e(s.period)}</h1>{banner}'
        '<table style="border-collapse:collapse"><tr><th></th>'
        f"{head}</tr>{''.join(rows)}</table>"
        f'<h2 style="font-size:16px">Findings</h2><ul>{items or "<li>" + _e(NO_FINDING) + "</li>"}'
        f"</ul><p>Actions this month: {sum(n_act) if n_act else 'no actions file'}.</p>"
        f'<p><a href="index.html">Full summary</a></p><ul>{links}</ul>'
    )
    return _page(f"Quality digest {s.period}", body)


@dataclass(frozen=True)
class SummaryFiles:
    """Paths written by :func:`write_summary`."""

    index: Path
    markdown: Path
    digest: Path


def write_summary(
    period_dir: str | Path,
    history: pd.DataFrame | None = None,
    *,
    amber_band: float,
    period: str | None = None,
    targets: Mapping[str, Any] | None = None,
    index_name: str = "index.html",
) -> SummaryFiles:
    """Write the leadership summary and the e-mail digest into a period folder.

    Parameters
    ----------
    period_dir : str or Path
        ``<out>/<period>`` (or the batch's temporary folder, with ``period``).
    history : DataFrame, optional
        :func:`qa_analysis.batch.history.load_history` (12 months or more for
        the year-over-year column: pass ``months=13``).
    amber_band : float
        See :func:`kpi_status` (``summary.amber_band`` in the params).
    period : str, optional
        Default the folder's name.
    targets : mapping, optional
        As in :func:`qa_analysis.batch.history.period_rows`.
    index_name : str
        File name of the summary page.

    Returns
    -------
    SummaryFiles
        ``index`` (the page), ``markdown`` (``summary.md``), ``digest``
        (``summary.html``); each written atomically.
    """
    folder = Path(period_dir)
    s = build_summary(folder, history, amber_band=amber_band, period=period, targets=targets)
    return SummaryFiles(
        index=write_text_atomic(summary_html(s), folder / index_name),
        markdown=write_text_atomic(summary_markdown(s), folder / "summary.md"),
        digest=write_text_atomic(digest_html(s), folder / "summary.html"),
    )
