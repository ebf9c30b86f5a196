"""The global overview: regions against the global targets, and scoring consistency.

* :func:`region_table` reads each region's merged KPI file
  (``<reports_dir>/<region>/kpis.json``, :data:`qa_analysis.io.REGION_KPI_FILE`);
* :func:`region_targets` compares the regions' KPIs with the targets;
* :func:`region_consistency` scores the month's evaluations by region, with a
  funnel around the pooled rate;
* :func:`global_kpis`, :func:`global_markdown`, :func:`region_links` phrase it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import compare as cmp
from qa_analysis import io
from qa_analysis import trends as tr
from qa_analysis.escaping import md_escape, relative_href
from qa_analysis.report.data import report_window, resolve_targets, target_spec
from qa_analysis.report.formatting import KPI_LABELS, ShortRepr, fmt, json_number
from qa_analysis.report.performance import score_window
from qa_analysis.scorecard import Scorecard

__all__ = [
    "RegionConsistency",
    "global_kpis",
    "global_markdown",
    "region_consistency",
    "region_links",
    "region_table",
    "region_targets",
]

_REGION_COLS = [
    "region",
    "status",
    "n_evaluations",
    "pass_rate",
    "pass_rate_ci_low",
    "pass_rate_ci_high",
    "mean_score",
    "critical_rate",
    "audits_per_agent",
    "alpha",
    "n_unreliable_criteria",
    "n_lenient",
    "n_severe",
    "error",
]


def region_table(reports_dir: str | Path, regions: Sequence[str]) -> pd.DataFrame:
    """One row per region from ``<reports_dir>/<region lower>/kpis.json``.

    ``status`` is ``ok`` (both reports), ``partial`` (one failed), ``failed``
    or ``missing`` (no KPI file); ``alpha`` is the calibration report's median
    alpha. Missing values are NaN.

    Examples
    --------
    >>> import tempfile
    >>> region_table(tempfile.mkdtemp(), ["EU"])[["region", "status", "error"]]
      region   status          error
    0     EU  missing  no kpis.json
    """
    rows = []
    for r in regions:
        f = Path(reports_dir) / str(r).lower() / io.REGION_KPI_FILE
        row: dict[str, Any] = {c: np.nan for c in _REGION_COLS}
        row.update(region=r, status="missing", error="no kpis.json")
        if f.is_file():
            try:
                k = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                row.update(status="failed", error=f"unreadable kpis.json ({exc})")
                rows.append(row)
                continue
            perf = k.get("performance") or {}
            cal = k.get("calibration") or {}
            st = k.get("status") or {}
            oks = [v == "ok" for v in st.values()] or [bool(perf), bool(cal)]
            row["status"] = "ok" if all(oks) else ("partial" if any(oks) else "failed")
            errs = k.get("errors") or {}
            row["error"] = "; ".join(f"{nb}: {e}" for nb, e in errs.items()) or ""
            for c in (
                "n_evaluations",
                "pass_rate",
                "pass_rate_ci_low",
                "pass_rate_ci_high",
                "mean_score",
                "critical_rate",
                "audits_per_agent",
            ):
                row[c] = perf.get(c, np.nan)
            row["alpha"] = cal.get("median_alpha", np.nan)
            for c in ("n_unreliable_criteria", "n_lenient", "n_severe"):
                row[c] = cal.get(c, np.nan)
        rows.append(row)
    out = pd.DataFrame(rows, columns=_REGION_COLS)
    for c in _REGION_COLS[2:-1]:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def region_targets(table: pd.DataFrame, targets: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Each region's KPIs against the global targets (:func:`qa_analysis.compare.target_status`).

    ``targets`` is merged over ``params/defaults.yaml``.

    Returns a long table ``region, kpi, label, value, ci_low, ci_high, target,
    direction, gap, status, clear, note`` (status missing where the region
    has no value).
    """
    kpis = ["pass_rate", "mean_score", "critical_rate", "audits_per_agent", "alpha"]
    if len(table) == 0:
        return pd.DataFrame(
            columns=[
                "region",
                "kpi",
                "label",
                "value",
                "ci_low",
                "ci_high",
                "target",
                "direction",
                "gap",
                "status",
                "clear",
                "note",
            ]
        )
    long = table.melt(id_vars=["region"], value_vars=kpis, var_name="kpi", value_name="value")
    long["ci_low"] = np.where(
        long["kpi"] == "pass_rate",
        long["region"].map(table.set_index("region")["pass_rate_ci_low"]),
        np.nan,
    )
    long["ci_high"] = np.where(
        long["kpi"] == "pass_rate",
        long["region"].map(table.set_index("region")["pass_rate_ci_high"]),
        np.nan,
    )
    tg = resolve_targets(targets)
    out = cmp.target_status(long, target_spec({k: v for k, v in tg.items() if k in kpis}))
    out.insert(2, "label", out["kpi"].map(KPI_LABELS))
    return out


@dataclass(frozen=True, repr=False)
class RegionConsistency(ShortRepr):
    """Pass rate and mean score by region with the funnel around the pooled rate.

    ``table``: ``region, n, pass_rate, pass_ci_low, pass_ci_high, mean_score,
    score_ci_low, score_ci_high, critical_rate, position, warning``;
    ``pooled_pass_rate``: the pooled rate of every region (NaN without data).
    """

    table: pd.DataFrame
    pooled_pass_rate: float

    @property
    def n(self) -> int:
        """Scored evaluations over every region."""
        return int(self.table["n"].sum()) if len(self.table) else 0

    @property
    def mean_score(self) -> float:
        """The pooled mean score (NaN without data)."""
        t = self.table
        return float((t["mean_score"] * t["n"]).sum() / self.n) if self.n else float("nan")

    @property
    def outside(self) -> pd.DataFrame:
        """Regions outside the funnel's 99.8% limits."""
        t = self.table
        return t.loc[t["position"] != "within"] if len(t) else t


_CONSISTENCY_COLS = [
    "region",
    "n",
    "pass_rate",
    "pass_ci_low",
    "pass_ci_high",
    "mean_score",
    "score_ci_low",
    "score_ci_high",
    "critical_rate",
    "position",
    "warning",
]


def region_consistency(evaluations: pd.DataFrame, scorecard: Scorecard) -> RegionConsistency:
    """Pass rate and mean score by region from the data, with CIs and funnel positions.

    The long ``evaluations`` (the caller passes the report month) are scored
    (:func:`qa_analysis.scorecard.score_evaluations`) and aggregated by region
    (:func:`qa_analysis.trends.aggregate`, Wilson and t intervals), then
    joined with :func:`qa_analysis.compare.funnel` of the regions' pass rates
    around the pooled rate: a region ``above`` / ``below`` the 99.8% limits
    scores differently from the rest by more than chance.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
       performance. Statistics in Medicine, 24(8), 1185-1202.
    .. [2] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. JASA, 22(158), 209-212.
    """
    s = score_window(evaluations, scorecard)
    s = s.loc[s["score"].notna()] if len(s) else s
    if len(s) == 0:
        return RegionConsistency(pd.DataFrame(columns=_CONSISTENCY_COLS), float("nan"))
    # one row per region over the whole table
    agg = tr.aggregate(s.assign(evaluated_at=s["evaluated_at"].min()), by="region", freq="MS")
    agg = agg.loc[agg["n"] > 0]
    fun = cmp.funnel(s, unit="region", metric="passed")
    out = agg.merge(fun[["region", "position", "warning"]], on="region", how="left")
    pooled = fun.attrs.get("target")
    return RegionConsistency(
        table=out[_CONSISTENCY_COLS].reset_index(drop=True),
        pooled_pass_rate=float("nan") if pooled is None else float(pooled),
    )


def region_links(regions: Sequence[str], table: pd.DataFrame | None = None) -> str:
    """Markdown list of relative links to each region's reports (``eu/performance_report.html``).

    Examples
    --------
    >>> print(region_links(["EU"]))
    - **EU**: [calibration report](eu/calibration_report.html) · [performance report](eu/performance_report.html) · [audit plan (CSV)](eu/audit_plan.csv) · [KPIs](eu/kpis.json)
    """
    status = dict(zip(table["region"], table["status"], strict=True)) if table is not None else {}
    lines = []
    for r in regions:
        d = io.region_dir(str(r))
        st = status.get(r)
        tail = "" if st in (None, "ok") else f" ({md_escape(st)})"
        if relative_href(d) is None:  # not a folder name the batch writes: no links
            lines.append(f"- **{md_escape(r)}**{tail}")
            continue
        lines.append(
            f"- **{md_escape(r)}**{tail}: [calibration report]({d}/calibration_report.html) · "
            f"[performance report]({d}/performance_report.html) · "
            f"[audit plan (CSV)]({d}/audit_plan.csv) · [KPIs]({d}/{io.REGION_KPI_FILE})"
        )
    return "\n".join(lines)


def global_kpis(
    period: str, table: pd.DataFrame, status: pd.DataFrame, consistency: RegionConsistency
) -> dict[str, Any]:
    """Headline KPIs of the global overview (``global_kpis.json``).

    ``regions_complete`` (regions whose reports both succeeded),
    ``regions_missing`` (comma-separated, or "none"), ``regions`` (the regions
    with a KPI file), global pass rate / mean score from the data, regions
    meeting / missing the pass-rate target, regions outside the funnel, the
    lowest-alpha region.
    """
    ok = table.loc[table["status"] == "ok", "region"].tolist()
    missing = table.loc[table["status"] != "ok", "region"].tolist()
    present = table.loc[table["status"] != "missing", "region"].tolist()
    pr = status.loc[status["kpi"] == "pass_rate"] if len(status) else status
    a = table.dropna(subset=["alpha"])
    return {
        "period": period,
        "regions_complete": len(ok),
        "regions_missing": ", ".join(missing) or "none",
        "regions": present,
        "n_evaluations": consistency.n,
        "pass_rate": json_number(consistency.pooled_pass_rate),
        "mean_score": json_number(consistency.mean_score),
        "regions_pass_target_met": int((pr["status"] == "met").sum()) if len(pr) else 0,
        "regions_pass_target_missed": int((pr["status"] == "missed").sum()) if len(pr) else 0,
        "regions_outside_funnel": len(consistency.outside),
        "lowest_alpha_region": str(a.loc[a["alpha"].idxmin(), "region"]) if len(a) else None,
        "lowest_alpha": json_number(a["alpha"].min()) if len(a) else None,
    }


def global_markdown(
    kpis: Mapping[str, Any],
    consistency: RegionConsistency,
    targets: Mapping[str, Any] | None = None,
) -> str:
    """The overview's headline paragraph (targets default to ``params/defaults.yaml``)."""
    tg = resolve_targets(targets)
    lines = []
    if kpis.get("n_evaluations"):
        lines.append(
            f"In {report_window(kpis['period'], 0).label}, {kpis['n_evaluations']:,} evaluations "
            f"across {len(consistency.table)} regions: global pass rate "
            f"{fmt(kpis['pass_rate'], 1, pct=True)} (target {fmt(tg.get('pass_rate'), 1, pct=True)}), "
            f"mean score {fmt(kpis['mean_score'], 1)}."
        )
    else:
        lines.append("No evaluations in the data for this month.")
    lines.append(
        f"{kpis['regions_pass_target_met']} region(s) meet the pass-rate target, "
        f"{kpis['regions_pass_target_missed']} miss it."
    )
    if len(consistency.table):
        off = consistency.outside
        if len(off):
            lines.append(
                "Regions scoring differently from the pooled rate by more than chance "
                "(outside the 99.8% funnel limits): "
                + ", ".join(
                    f"**{md_escape(r['region'])}** ({r['position']}, {fmt(r['pass_rate'], 1, pct=True)})"
                    for r in off.to_dict("records")
                )
                + "."
            )
        else:
            lines.append(
                "Every region's pass rate is within the funnel limits around the pooled rate."
            )
    if kpis.get("lowest_alpha_region"):
        lines.append(
            f"Calibration is weakest in **{md_escape(kpis['lowest_alpha_region'])}** (median alpha "
            f"{fmt(kpis['lowest_alpha'])}; target {fmt(tg.get('alpha'), 3)})."
        )
    if kpis.get("regions_missing") not in (None, "none"):
        lines.append(f"Reports missing or failed: {md_escape(kpis['regions_missing'])}.")
    return " ".join(lines)
