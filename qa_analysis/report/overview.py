"""The global overview: regions against the global targets, and scoring consistency.

* :func:`region_table` reads each region's merged KPI file
  (``<reports_dir>/<region>/kpis.json``, :data:`qa_analysis.io.REGION_KPI_FILE`);
* :func:`region_targets` compares the regions' KPIs with the targets;
* :func:`region_consistency` scores the month's evaluations by region, with a
  funnel around the pooled rate;
* :func:`global_kpis`, :func:`global_markdown`, :func:`region_links` phrase it;
* :func:`region_display` is the table shown, with missing values in words.

Missing is not zero: a region without evaluations, without calibration or
without a previous month is named as such in the table (``missing_reason``),
the charts ("MISSING", never an empty bar) and the text, and the KPI file
lists the regions missing each part separately.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import compare as cmp
from qa_analysis import io
from qa_analysis import sampling as smp
from qa_analysis.escaping import md_escape, relative_href
from qa_analysis.report.data import ReportData, report_window, resolve_targets, target_spec
from qa_analysis.report.formatting import (
    KPI_LABELS,
    ShortRepr,
    fmt,
    is_finite,
    json_number,
)
from qa_analysis.report.glossary import plain_funnel
from qa_analysis.report.performance import TICKET_KPIS, score_window, ticket_estimates
from qa_analysis.scorecard import Scorecard

__all__ = [
    "RegionConsistency",
    "global_kpis",
    "global_markdown",
    "region_consistency",
    "region_display",
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
    "evaluations",
    "calibration",
    "previous_month",
    "missing_reason",
    "pseudonymised",
    "pseudonym_key",
    "localised_finding",
    "error",
]
_NUMERIC_COLS = [
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
]


def _finite(x: Any) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def region_table(reports_dir: str | Path, regions: Sequence[str]) -> pd.DataFrame:
    """One row per region from ``<reports_dir>/<region lower>/kpis.json``.

    ``status`` is ``ok`` (both reports), ``partial`` (one failed), ``failed``
    or ``missing`` (no KPI file); ``alpha`` is the calibration report's median
    alpha; ``pass_rate`` (with ``pass_rate_ci_low/high``), ``mean_score`` and
    ``critical_rate`` are the performance report's ticket-level estimates.
    ``evaluations``, ``calibration`` and ``previous_month`` are ``"present"``
    or ``"missing"`` (``None`` when the report itself is missing or failed),
    and ``missing_reason`` says in words what is missing ("no calibration",
    "no evaluations", "no previous month", "no report"; empty when nothing
    is). ``pseudonymised`` / ``pseudonym_key`` repeat what the reports say
    about the ids; ``localised_finding`` is the performance report's sentence
    naming the segment a change is confined to (None when none is). Missing
    values are NaN.

    Examples
    --------
    >>> import tempfile
    >>> region_table(tempfile.mkdtemp(), ["EU"])[["region", "status", "missing_reason"]]
      region   status missing_reason
    0     EU  missing      no report
    """
    rows = []
    for r in regions:
        f = Path(reports_dir) / str(r).lower() / io.REGION_KPI_FILE
        row: dict[str, Any] = {c: np.nan for c in _REGION_COLS}
        row.update(
            region=r,
            status="missing",
            error="no kpis.json",
            evaluations=None,
            calibration=None,
            previous_month=None,
            missing_reason="no report",
            pseudonymised=None,
            pseudonym_key=None,
            localised_finding=None,
        )
        if f.is_file():
            try:
                k = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                row.update(status="failed", error=f"unreadable kpis.json ({exc})")
                row["missing_reason"] = "reports failed"
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
            row["localised_finding"] = perf.get("localised_finding") or None
            for c in ("n_unreliable_criteria", "n_lenient", "n_severe"):
                row[c] = cal.get(c, np.nan)
            reasons = []
            if perf:
                has_ev = _finite(perf.get("pass_rate")) or bool(perf.get("n_evaluations"))
                row["evaluations"] = "present" if has_ev else "missing"
                prev = (perf.get("detail") or {}).get("previous_month")
                if prev is not None:
                    row["previous_month"] = prev
                if not has_ev:
                    reasons.append("no evaluations")
                elif prev == "missing":
                    reasons.append("no previous month")
            else:
                reasons.append("performance report failed")
            if cal:
                has_cal = _finite(cal.get("median_alpha")) or bool(cal.get("n_sessions"))
                row["calibration"] = "present" if has_cal else "missing"
                if not has_cal:
                    reasons.append("no calibration")
            else:
                reasons.append("calibration report failed")
            row["missing_reason"] = ", ".join(reasons)
            for c in ("pseudonymised", "pseudonym_key"):
                vals = {(x or {}).get(c) for x in (perf, cal) if x and c in x}
                row[c] = vals.pop() if len(vals) == 1 else None
        rows.append(row)
    out = pd.DataFrame(rows, columns=_REGION_COLS)
    for c in _NUMERIC_COLS:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def region_display(table: pd.DataFrame) -> pd.DataFrame:
    """The region table as shown: rounded values, and "MISSING (reason)" in words.

    A value that is missing because the region has no evaluations, no
    calibration or no report reads "MISSING (no calibration)" rather than an
    empty cell or NaN that could be read as zero.

    Examples
    --------
    >>> t = pd.DataFrame({"region": ["EU", "NA"], "status": "ok", "n_evaluations": [100.0, 80.0],
    ...     "pass_rate": [0.9, 0.8], "mean_score": [88.0, 80.0], "critical_rate": [0.01, 0.02],
    ...     "audits_per_agent": [5.0, 5.0], "alpha": [0.7, np.nan],
    ...     "missing_reason": ["", "no calibration"]})
    >>> region_display(t).loc["NA", "Median alpha"]
    'MISSING (no calibration)'
    """
    cols = {
        "status": "Reports",
        "n_evaluations": "Evaluations",
        "pass_rate": "Pass % (tickets)",
        "mean_score": "Mean score",
        "critical_rate": "Critical % (tickets)",
        "audits_per_agent": "Audits/agent",
        "alpha": "Median alpha",
    }
    out = pd.DataFrame({"Region": table["region"].astype(str)})
    reason = (
        table["missing_reason"].fillna("").astype(str)
        if "missing_reason" in table
        else pd.Series("", index=table.index)
    )
    for c, label in cols.items():
        if c not in table:
            continue
        if c == "status":
            out[label] = table[c].astype(str).to_numpy()
            continue
        v = pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float)
        pct = c in ("pass_rate", "critical_rate")
        digits = 0 if c == "n_evaluations" else 1 if (pct or c != "alpha") else 2
        why = [_why(c, r) for r in reason]
        out[label] = [
            fmt(x, digits, pct=pct) if np.isfinite(x) else f"MISSING ({w})" if w else "MISSING"
            for x, w in zip(v, why, strict=True)
        ]
    if "missing_reason" in table:
        out["Missing"] = [r or "nothing" for r in reason]
    return out.set_index("Region")


def _why(column: str, reason: str) -> str:
    """The part of a region's ``missing_reason`` that explains ``column``."""
    parts = [x.strip() for x in reason.split(",") if x.strip()]
    want = ("calibration",) if column == "alpha" else ("evaluations", "performance")
    for x in parts:
        if any(w in x for w in want) or x in ("no report", "reports failed"):
            return x
    return ""


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
                "value_ci_low",
                "value_ci_high",
                "target",
                "direction",
                "gap",
                "status",
                "clear",
                "note",
            ]
        )
    long = table.melt(id_vars=["region"], value_vars=kpis, var_name="kpi", value_name="value")
    long["value_ci_low"] = np.where(
        long["kpi"] == "pass_rate",
        long["region"].map(table.set_index("region")["pass_rate_ci_low"]),
        np.nan,
    )
    long["value_ci_high"] = np.where(
        long["kpi"] == "pass_rate",
        long["region"].map(table.set_index("region")["pass_rate_ci_high"]),
        np.nan,
    )
    tg = resolve_targets(targets)
    out = cmp.target_status(long, target_spec({k: v for k, v in tg.items() if k in kpis}))
    out.insert(2, "label", out["kpi"].map(KPI_LABELS))
    if "missing_reason" in table:
        why = table.set_index("region")["missing_reason"].fillna("").astype(str)
        reasons = [_why(k, why.get(r, "")) for r, k in zip(out["region"], out["kpi"], strict=True)]
        vals = out["value"].to_numpy(dtype=float)
        out["missing_reason"] = [
            (w or "missing") if not np.isfinite(v) else ""
            for w, v in zip(reasons, vals, strict=True)
        ]
    return out


@dataclass(frozen=True, repr=False)
class RegionConsistency(ShortRepr):
    """Each region's ticket-level estimates, the pooled global figures, and the funnel.

    ``table``: ``region, n, pass_rate, pass_rate_ci_low, pass_rate_ci_high,
    pass_rate_audits, mean_score, mean_score_ci_low, mean_score_ci_high,
    critical_rate, position, warning, missing_reason`` (ticket-level
    estimates, :func:`qa_analysis.report.performance.ticket_estimates`;
    ``pass_rate_audits`` the plain share of audits; ``position`` the
    region's audits on a funnel around the pooled share of audits). A region
    asked for but without evaluations has a row with NaN values and
    ``missing_reason`` "no evaluations".
    ``pooled``: KPI -> :func:`qa_analysis.sampling.pool_estimates` of the
    regions, pooled by ticket volume (the global figures).
    """

    table: pd.DataFrame
    pooled: dict[str, smp.TicketEstimate] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Scored evaluations over every region."""
        return int(self.table["n"].fillna(0).sum()) if len(self.table) else 0

    def _pooled(self, kpi: str) -> float:
        e = self.pooled.get(kpi)
        return float(e.estimate) if e is not None else float("nan")

    @property
    def pooled_pass_rate(self) -> float:
        """The global pass rate of the tickets: regions pooled by ticket volume (NaN without data)."""
        return self._pooled("pass_rate")

    @property
    def mean_score(self) -> float:
        """The global mean score of the tickets (NaN without data)."""
        return self._pooled("mean_score")

    @property
    def estimand(self) -> str:
        """What the pooled figures stand for, in one sentence."""
        e = self.pooled.get("pass_rate")
        return e.estimand if e is not None else ""

    @property
    def missing(self) -> list[str]:
        """Regions asked for without evaluations this month."""
        t = self.table
        return t.loc[t["n"].fillna(0) == 0, "region"].astype(str).tolist() if len(t) else []

    @property
    def outside(self) -> pd.DataFrame:
        """Regions outside the funnel's 99.8% limits."""
        t = self.table
        if len(t) == 0:
            return t
        return t.loc[t["position"].isin(["above", "below"]).to_numpy()]


_CONSISTENCY_COLS = [
    "region",
    "n",
    "pass_rate",
    "pass_rate_ci_low",
    "pass_rate_ci_high",
    "pass_rate_audits",
    "mean_score",
    "mean_score_ci_low",
    "mean_score_ci_high",
    "critical_rate",
    "position",
    "warning",
    "missing_reason",
]


def region_consistency(
    evaluations: pd.DataFrame,
    scorecard: Scorecard,
    tickets: pd.DataFrame | None = None,
    *,
    regions: Sequence[str] | None = None,
) -> RegionConsistency:
    """Each region's figures for its tickets, pooled by ticket volume, and the funnel of audits.

    The long ``evaluations`` (the caller passes the report month) are scored
    (:func:`qa_analysis.scorecard.score_evaluations`). Per region, pass rate,
    mean score and critical rate are estimated for the region's tickets
    (:func:`qa_analysis.report.performance.ticket_estimates`: agent x channel
    strata weighted by the month's ``tickets``, intervals clustered by agent;
    without ``tickets`` the audit averages with cluster intervals), and the
    global figures pool the regions by ticket volume
    (:func:`qa_analysis.sampling.pool_estimates`), not by audit counts.
    :func:`qa_analysis.compare.funnel` of the regions' audits around the
    pooled share of audits flags a region ``above`` / ``below`` the 99.8%
    limits. ``regions`` lists the regions expected: one without evaluations
    gets a row saying "no evaluations" instead of disappearing.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
       performance. Statistics in Medicine, 24(8), 1185-1202.
    .. [2] Cochran, W. G. (1977). Sampling Techniques, 3rd ed., section 5.2. Wiley.
    """
    s = score_window(evaluations, scorecard)
    s = s.loc[s["score"].notna()] if len(s) else s
    want = [str(r) for r in regions] if regions is not None else []
    tk = tickets if tickets is not None else pd.DataFrame()
    rows: list[dict[str, Any]] = []
    per: dict[str, dict[str, smp.TicketEstimate]] = {}
    if len(s):
        for region, g in s.groupby("region", sort=True, observed=True):
            t_r = tk.loc[tk["region"] == region] if len(tk) and "region" in tk else tk.iloc[0:0]
            est = ticket_estimates(g.assign(passed=g["passed"].astype(float)), t_r)
            per[str(region)] = est
            pr, ms = est["pass_rate"], est["mean_score"]
            rows.append(
                {
                    "region": str(region),
                    "n": len(g),
                    "pass_rate": pr.estimate,
                    "pass_rate_ci_low": pr.ci_low,
                    "pass_rate_ci_high": pr.ci_high,
                    "pass_rate_audits": pr.audit_mean,
                    "mean_score": ms.estimate,
                    "mean_score_ci_low": ms.ci_low,
                    "mean_score_ci_high": ms.ci_high,
                    "critical_rate": est["critical_rate"].estimate,
                    "missing_reason": "",
                }
            )
    have = {r["region"] for r in rows}
    for r in want:
        if r not in have:
            rows.append({"region": r, "n": 0, "missing_reason": "no evaluations"})
    out = pd.DataFrame(
        rows, columns=[c for c in _CONSISTENCY_COLS if c not in ("position", "warning")]
    )
    if len(s):
        fun = cmp.funnel(s, unit="region", metric="passed").table
        fun = fun.assign(region=fun["region"].astype(str))
        out = out.merge(fun[["region", "position", "warning"]], on="region", how="left")
    else:
        out["position"] = pd.Series(dtype=object)
        out["warning"] = pd.Series(dtype=object)
    if want:
        order = want + sorted(set(out["region"]) - set(want))
        out = out.set_index("region").reindex(order).reset_index()
    pooled = (
        {k: smp.pool_estimates({r: e[k] for r, e in per.items()}) for k in TICKET_KPIS}
        if per
        else {}
    )
    return RegionConsistency(table=out[_CONSISTENCY_COLS].reset_index(drop=True), pooled=pooled)


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


def _names(regions: Sequence[str]) -> str:
    return ", ".join(regions) or "none"


def global_kpis(
    period: str,
    table: pd.DataFrame,
    status: pd.DataFrame,
    consistency: RegionConsistency,
    *,
    data: ReportData | None = None,
) -> dict[str, Any]:
    """Headline KPIs of the global overview (``global_kpis.json``).

    ``regions_complete`` (regions whose reports both succeeded),
    ``regions_missing`` (every region missing something, with what:
    "EU (no calibration), MEA (no report)", or "none"), and separately
    ``regions_missing_reports``, ``regions_missing_evaluations``,
    ``regions_missing_calibration``, ``regions_missing_previous`` (comma-
    separated or "none"); ``regions`` (the regions with a KPI file); the
    global ``pass_rate`` (with ``pass_rate_ci_low/high``), ``mean_score``
    and ``critical_rate`` for all regions' tickets (regions pooled by ticket
    volume) and ``pass_rate_audits`` (the plain share of audits); regions
    meeting / missing the pass-rate target; regions outside the funnel; the
    lowest-alpha region; ``regions_localised`` (region -> the sentence naming
    the segment its change is confined to). With ``data``: ``pseudonymised,
    pseudonym_key, demo_data``.
    """
    ok = table.loc[table["status"] == "ok", "region"].tolist()
    no_report = table.loc[table["status"] != "ok", "region"].tolist()
    present = table.loc[table["status"] != "missing", "region"].tolist()

    def col_missing(c: str) -> list[str]:
        if c not in table:
            return []
        return table.loc[table[c] == "missing", "region"].tolist()

    no_cal, no_prev = col_missing("calibration"), col_missing("previous_month")
    no_ev = sorted(set(col_missing("evaluations")) | set(consistency.missing), key=str)
    reasons: dict[str, list[str]] = {}
    for r in table["region"]:
        st = table.loc[table["region"] == r, "status"].iloc[0]
        if st != "ok":
            reasons.setdefault(r, []).append("no report" if st == "missing" else f"reports {st}")
    for name, regs in (("no evaluations", no_ev), ("no calibration", no_cal)):
        for r in regs:
            reasons.setdefault(r, []).append(name)
    pr = status.loc[status["kpi"] == "pass_rate"] if len(status) else status
    a = table.dropna(subset=["alpha"])
    pooled = consistency.pooled
    ppr = pooled.get("pass_rate")
    out: dict[str, Any] = {"period": period}
    if data is not None:
        out.update(data.privacy_kpis())
    out.update(
        {
            "regions_complete": len(ok),
            "regions_missing": ", ".join(f"{r} ({', '.join(v)})" for r, v in reasons.items())
            or "none",
            "regions_missing_reports": _names(no_report),
            "regions_missing_evaluations": _names(no_ev),
            "regions_missing_calibration": _names(no_cal),
            "regions_missing_previous": _names(no_prev),
            "regions": present,
            "n_evaluations": consistency.n,
            "pass_rate": json_number(consistency.pooled_pass_rate),
            "pass_rate_ci_low": json_number(ppr.ci_low) if ppr is not None else None,
            "pass_rate_ci_high": json_number(ppr.ci_high) if ppr is not None else None,
            "pass_rate_audits": json_number(ppr.audit_mean) if ppr is not None else None,
            "mean_score": json_number(consistency.mean_score),
            "critical_rate": json_number(pooled["critical_rate"].estimate)
            if "critical_rate" in pooled
            else None,
            "regions_pass_target_met": int((pr["status"] == "met").sum()) if len(pr) else 0,
            "regions_pass_target_missed": int((pr["status"] == "missed").sum()) if len(pr) else 0,
            "regions_outside_funnel": len(consistency.outside),
            "lowest_alpha_region": str(a.loc[a["alpha"].idxmin(), "region"]) if len(a) else None,
            "lowest_alpha": json_number(a["alpha"].min()) if len(a) else None,
            "estimand": consistency.estimand or None,
            "regions_localised": {
                str(r["region"]): str(r["localised_finding"])
                for r in table.to_dict("records")
                if isinstance(r.get("localised_finding"), str) and r["localised_finding"]
            },
        }
    )
    return out


def global_markdown(
    kpis: Mapping[str, Any],
    consistency: RegionConsistency,
    targets: Mapping[str, Any] | None = None,
) -> str:
    """The overview's headline paragraph (targets default to ``params/defaults.yaml``).

    The global figures are for all regions' tickets (regions pooled by ticket
    volume, the estimand sentence says so); every region missing evaluations,
    calibration, a previous month or its reports is named, in words.
    """
    tg = resolve_targets(targets)
    lines = []
    n_regions = int((consistency.table["n"].fillna(0) > 0).sum()) if len(consistency.table) else 0
    if kpis.get("n_evaluations"):
        ci = (
            f" [{fmt(kpis.get('pass_rate_ci_low'), 1, pct=True)}, "
            f"{fmt(kpis.get('pass_rate_ci_high'), 1, pct=True)}]"
            if is_finite(kpis.get("pass_rate_ci_low"))
            else ""
        )
        lines.append(
            f"In {report_window(kpis['period'], 0).label}, {kpis['n_evaluations']:,} evaluations "
            f"across {n_regions} regions: global pass rate {fmt(kpis['pass_rate'], 1, pct=True)}"
            f"{ci} (target {fmt(tg.get('pass_rate'), 1, pct=True)}; "
            f"{fmt(kpis.get('pass_rate_audits'), 1, pct=True)} of audits), mean score "
            f"{fmt(kpis['mean_score'], 1)}."
        )
        if kpis.get("estimand"):
            lines.append(str(kpis["estimand"]))
    else:
        lines.append("No evaluations in the data for this month.")
    lines.append(
        f"{kpis['regions_pass_target_met']} region(s) meet the pass-rate target, "
        f"{kpis['regions_pass_target_missed']} miss it."
    )
    t = consistency.table
    if len(t) and t["n"].fillna(0).gt(0).any():
        off = consistency.outside
        if len(off):
            lines.append(
                "Regions whose audits pass at a different rate from the pooled rate by more than "
                "chance (outside the 99.8% funnel limits): "
                + ", ".join(
                    f"**{md_escape(r['region'])}** ({r['position']}, {fmt(r['pass_rate_audits'], 1, pct=True)}"
                    " of audits)"
                    for r in off.to_dict("records")
                )
                + "."
            )
        else:
            lines.append(
                "Every region's pass rate is within the funnel limits around the pooled rate."
            )
        pos = t["position"].astype(object)
        lines.append(
            f"*In plain words:* {plain_funnel(int((pos == 'below').sum()), int((pos == 'above').sum()), 'regions')}."
        )
    if kpis.get("lowest_alpha_region"):
        lines.append(
            f"The lowest calibration agreement is **{md_escape(kpis['lowest_alpha_region'])}**'s (median "
            f"alpha {fmt(kpis['lowest_alpha'])}; target {fmt(tg.get('alpha'), 3)})."
        )
    loc = kpis.get("regions_localised") or {}
    if loc:
        lines.append(
            "Where regions changed: "
            + " ".join(f"**{md_escape(r)}**: {md_escape(txt)}" for r, txt in loc.items())
        )
    miss = []
    for key, what in (
        (
            "regions_missing_evaluations",
            "**MISSING evaluations** this month (no figures: not zero)",
        ),
        ("regions_missing_calibration", "**MISSING calibration** this month (no alpha: not zero)"),
        ("regions_missing_previous", "no previous month to compare with"),
        ("regions_missing_reports", "reports missing or failed"),
    ):
        v = kpis.get(key)
        if v not in (None, "none", ""):
            miss.append(f"{md_escape(v)}: {what}")
    if miss:
        lines.append("Missing: " + "; ".join(miss) + ".")
    return " ".join(lines)
