"""Actions for the month, generated from tested findings only (issue 12, item 2).

Each action is one row: who or what to act on, why (the evidence, with the
test behind it) and a stable id, so the same finding in a rerun of the same
month keeps its id and a tracker can follow it. Kinds and the rule behind each:

``recalibrate``
    A rater biased on a criterion against the reference (expert, else the
    consensus of the others): :func:`qa_analysis.findings.rater_criterion_bias`
    over the history window, Holm-adjusted over the rater x criterion grid and
    at least ``thresholds.bias_flag`` of the scale range.
``discuss``
    The calibration agenda: for each criterion with a tested problem (a rater
    flagged on it, the weakest or most divisive criterion when that claim
    holds, or alpha below ``thresholds.alpha_tentative`` with its whole
    interval below it), the tickets of the discussion list that split the
    room most on that criterion.
``coach``
    An agent whose shrunken pass rate has its whole interval below the region's
    pooled rate, only when the shrinkage model finds the agents distinguishable
    (otherwise the spread is chance and nobody is singled out).
``coach_critical``
    An agent with at least ``thresholds.coach_critical_fails`` critical fails
    in the month (a count rule, stated with the action).
``rewrite_guideline``
    A GLOBAL action: a criterion whose alpha is below
    ``thresholds.alpha_tentative`` with its whole interval below it in at least
    ``thresholds.guideline_min_regions`` regions: the guideline, not one
    region's raters, is the problem.

Ids are the first 10 hex digits of the SHA-256 of ``kind|region|period|subject|criterion``.
Rater and agent ids are the ones the report shows (pseudonymised when the
report is).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_analysis import io
from qa_analysis.escaping import md_escape
from qa_analysis.report.calibration import CalibrationResults
from qa_analysis.report.data import resolve_thresholds
from qa_analysis.report.formatting import fmt, fmt_ci, is_finite
from qa_analysis.report.performance import AgentsSection, PerformanceData

__all__ = [
    "ACTIONS_FILE",
    "ACTION_COLUMNS",
    "ACTION_TABLE_COLUMNS",
    "ActionKind",
    "action_id",
    "actions_markdown",
    "actions_table",
    "calibration_actions",
    "guideline_actions",
    "performance_actions",
    "write_actions",
]

#: The actions file in a region's (or the global) output folder.
ACTIONS_FILE = "actions.csv"

#: Columns of an actions table, in order.
ACTION_COLUMNS: tuple[str, ...] = (
    "action_id",
    "region",
    "period",
    "kind",
    "subject",
    "criterion",
    "evidence",
    "statistic",
    "p_adjusted",
)

#: Source column -> label of the actions table the reports show (every row, searchable).
ACTION_TABLE_COLUMNS: dict[str, str] = {
    "kind": "Action",
    "subject": "Who / what",
    "criterion": "Criterion",
    "evidence": "Evidence",
    "statistic": "Statistic",
    "p_adjusted": "Adjusted p",
    "action_id": "Id",
}

ActionKind = Literal["recalibrate", "discuss", "coach", "coach_critical", "rewrite_guideline"]
_KIND_ORDER: tuple[str, ...] = (
    "rewrite_guideline",
    "recalibrate",
    "discuss",
    "coach",
    "coach_critical",
)
_KIND_LABEL = {
    "rewrite_guideline": "Rewrite guideline",
    "recalibrate": "Recalibrate rater",
    "discuss": "Calibration agenda",
    "coach": "Coach agent",
    "coach_critical": "Coach agent (critical fails)",
}


def action_id(
    kind: str, region: str | None, period: str, subject: str, criterion: str | None = None
) -> str:
    """A stable id: the first 10 hex digits of SHA-256 of ``kind|region|period|subject|criterion``.

    Examples
    --------
    >>> action_id("recalibrate", "EU", "2026-10", "r1", "empathy")
    'fdf052c971'
    >>> action_id("recalibrate", "EU", "2026-10", "r1", "empathy") == action_id(
    ...     "recalibrate", "EU", "2026-11", "r1", "empathy")
    False
    """
    key = "|".join([kind, str(region or ""), str(period), str(subject), str(criterion or "")])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


def _frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame(list(rows), columns=list(ACTION_COLUMNS))
    out["statistic"] = pd.to_numeric(out["statistic"], errors="coerce").astype(float)
    out["p_adjusted"] = pd.to_numeric(out["p_adjusted"], errors="coerce").astype(float)
    if len(out) == 0:
        return out
    order = out["kind"].map({k: i for i, k in enumerate(_KIND_ORDER)})
    out = out.assign(_o=order).sort_values(["_o", "subject", "criterion"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def _row(
    kind: str,
    region: str | None,
    period: str,
    subject: str,
    criterion: str | None,
    evidence: str,
    statistic: float,
    p_adjusted: float = float("nan"),
) -> dict[str, Any]:
    return {
        "action_id": action_id(kind, region, period, subject, criterion),
        "region": region or "",
        "period": period,
        "kind": kind,
        "subject": subject,
        "criterion": criterion or "",
        "evidence": evidence,
        "statistic": statistic,
        "p_adjusted": p_adjusted,
    }


def calibration_actions(res: CalibrationResults) -> pd.DataFrame:
    """Raters to recalibrate (per criterion) and the calibration agenda, from the tested findings.

    Parameters
    ----------
    res : CalibrationResults
        :func:`qa_analysis.report.calibration.calibration_results`.

    Returns
    -------
    DataFrame
        :data:`ACTION_COLUMNS`; ``recalibrate`` rows have the rater in
        ``subject``, the bias (share of the scale range) in ``statistic`` and
        the Holm-adjusted p; ``discuss`` rows have the tickets
        (``session / ticket``) in ``subject``. Empty when nothing holds.
    """
    region, period, names = res.region, res.window.period, res.names
    rows: list[dict[str, Any]] = []
    problems: dict[str, list[str]] = {}
    rb = res.rater_bias
    if rb is not None and len(rb.flagged):
        for r in rb.flagged.to_dict("records"):
            crit = str(r["criterion"])
            ci = fmt_ci(
                r["bias"], r["bias_ci_low"], r["bias_ci_high"], digits=0, pct=True, signed=True
            )
            rows.append(
                _row(
                    "recalibrate",
                    region,
                    period,
                    str(r["rater_id"]),
                    crit,
                    f"{r['direction']} on {names.get(crit, crit)}: {ci} of the scale range against "
                    f"the {rb.reference} over {res.window.history_label} ({int(r['n'])} tickets; "
                    f"{rb.method})",
                    float(r["bias"]),
                    float(r["p_adjusted"]),
                )
            )
            problems.setdefault(crit, []).append(f"rater {r['rater_id']} {r['direction']}")
    if res.criteria is not None:
        for f in (res.criteria.weakest, res.criteria.most_divisive):
            if f.holds and f.segment:
                what = "weakest" if f.kind == "weakest_criterion" else "most divisive"
                problems.setdefault(str(f.segment), []).append(
                    f"{what} criterion (adjusted p = {f.p_adjusted:.2g})"
                )
    b = res.by_item
    tentative = float(res.thresholds["alpha_tentative"])
    if len(b) and "alpha_ci_high" in b:
        hi = b["alpha_ci_high"].to_numpy(dtype=float)
        low = np.isfinite(hi) & (hi < tentative)
        for r in b.loc[low].to_dict("records"):
            problems.setdefault(str(r["criterion"]), []).append(
                f"alpha {fmt_ci(r['alpha'], r['alpha_ci_low'], r['alpha_ci_high'])}, "
                f"interval below {fmt(tentative, 3)}"
            )
    s = res.split
    for crit, why in problems.items():
        tickets = (
            s.loc[s["most_split"] == crit, ["session_id", "ticket_id"]]
            if len(s) and "most_split" in s
            else pd.DataFrame(columns=["session_id", "ticket_id"])
        )
        if len(tickets) == 0:
            continue
        subject = ", ".join(f"{a} / {t}" for a, t in tickets.to_numpy())
        rows.append(
            _row(
                "discuss",
                region,
                period,
                subject,
                crit,
                f"{names.get(crit, crit)}: {'; '.join(why)}; {len(tickets)} ticket(s) of the "
                "discussion list split the room most on it",
                float(len(tickets)),
            )
        )
    return _frame(rows)


def performance_actions(
    agents: AgentsSection,
    d: PerformanceData,
    *,
    thresholds: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Agents to coach: shrunken rates that clear the noise, and repeated critical fails.

    Parameters
    ----------
    agents : AgentsSection
        :func:`qa_analysis.report.performance.agents_section`.
    d : PerformanceData
        The report's data (for the month's critical fails per agent).
    thresholds : mapping, optional
        ``coach_critical_fails``; missing keys take ``params/defaults.yaml``.

    Returns
    -------
    DataFrame
        :data:`ACTION_COLUMNS`. ``coach``: only when the shrinkage model found
        the agents distinguishable, agents whose shrunken pass rate interval
        lies wholly below the pooled rate (``statistic`` the shrunken rate).
        ``coach_critical``: agents with at least ``coach_critical_fails``
        critical fails in the month (``statistic`` the count).
    """
    th = resolve_thresholds(thresholds)
    region, period = d.region, d.window.period
    rows: list[dict[str, Any]] = []
    sh = agents.shrunk
    p0 = agents.funnel_target
    if agents.ranked and len(sh) and is_finite(p0):
        hi = sh["shrunk_rate_ci_high"].to_numpy(dtype=float)
        below = sh.loc[np.isfinite(hi) & (hi < p0)]
        for r in below.to_dict("records"):
            ci = fmt_ci(
                r["shrunk_rate"],
                r["shrunk_rate_ci_low"],
                r["shrunk_rate_ci_high"],
                digits=1,
                pct=True,
            )
            rows.append(
                _row(
                    "coach",
                    region,
                    period,
                    str(r["agent_id"]),
                    None,
                    f"shrunken pass rate {ci} over {int(r['n'])} audits, wholly below the "
                    f"region's pooled {fmt(p0, 1, pct=True)} (agents differ beyond chance: "
                    f"p = {agents.overdispersion_p:.2g})",
                    float(r["shrunk_rate"]),
                )
            )
    m = d.scored_month
    k = int(th["coach_critical_fails"])
    if len(m) and "critical_fail" in m:
        crit = m.assign(_c=m["critical_fail"].fillna(False).astype(bool))
        per = crit.groupby("agent_id", sort=True)["_c"].agg(["sum", "size"])
        for agent, r in per.loc[per["sum"] >= k].iterrows():  # the few flagged agents
            rows.append(
                _row(
                    "coach_critical",
                    region,
                    period,
                    str(agent),
                    None,
                    f"{int(r['sum'])} critical fails in {int(r['size'])} audits this month "
                    f"(rule: at least {k})",
                    float(r["sum"]),
                )
            )
    return _frame(rows)


def guideline_actions(
    reports_dir: str | Path,
    regions: Sequence[str],
    period: str,
    *,
    thresholds: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Criteria whose guideline needs rewriting: low agreement in several regions.

    Reads each region's ``kpis.json`` (``calibration.detail.criteria_agreement``,
    written by :func:`qa_analysis.report.calibration.calibration_kpis`). A
    criterion whose alpha interval lies wholly below
    ``thresholds.alpha_tentative`` in at least ``thresholds.guideline_min_regions``
    regions gets one GLOBAL ``rewrite_guideline`` action (``statistic``: the
    number of such regions). Regions without a readable file are skipped.
    """
    th = resolve_thresholds(thresholds)
    tentative, need = float(th["alpha_tentative"]), int(th["guideline_min_regions"])
    low: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    names: dict[str, str] = {}
    for region in regions:
        f = Path(reports_dir) / str(region).lower() / io.REGION_KPI_FILE
        try:
            k = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        cal = k.get("calibration") or {}
        for c in (cal.get("detail") or {}).get("criteria_agreement") or []:
            hi = c.get("alpha_ci_high")
            if hi is not None and is_finite(hi) and float(hi) < tentative:
                low.setdefault(str(c["criterion"]), []).append((str(region), c))
                names[str(c["criterion"])] = str(c.get("name") or c["criterion"])
    rows = []
    for crit, where in low.items():
        if len(where) < need:
            continue
        parts = "; ".join(
            f"{r} {fmt_ci(c['alpha'], c['alpha_ci_low'], c['alpha_ci_high'])}" for r, c in where
        )
        rows.append(
            _row(
                "rewrite_guideline",
                "GLOBAL",
                period,
                names[crit],
                crit,
                f"alpha wholly below {fmt(tentative, 3)} in {len(where)} regions ({parts}; rule: "
                f"at least {need} regions)",
                float(len(where)),
            )
        )
    return _frame(rows)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: the reports of a region run in turn
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".actions.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_actions(actions: pd.DataFrame, output_dir: str | Path, *, part: str) -> Path:
    """Write one report's actions and rebuild the folder's ``actions.csv`` from every report's part.

    Each report of a region (calibration, performance) writes its part
    (``.actions.<part>.csv``); ``actions.csv`` is the union of the parts present,
    rebuilt under a file lock so two reports running at once both end up in it.
    Written with :func:`qa_analysis.io.write_csv_atomic` (spreadsheet formulas
    neutralised).

    Returns
    -------
    Path
        The path of ``actions.csv``.
    """
    if not isinstance(actions, pd.DataFrame):
        raise TypeError(f"actions must be a DataFrame, got {type(actions).__name__}")
    folder = Path(output_dir)
    table = actions.loc[:, list(ACTION_COLUMNS)]
    with _locked(folder):
        io.write_csv_atomic(table, folder / f".actions.{part}.csv", neutralise_formulas=False)
        parts = [
            pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in sorted(folder.glob(".actions.*.csv"))
        ]
        merged = _frame(pd.concat(parts, ignore_index=True).to_dict("records"))
        return io.write_csv_atomic(merged, folder / ACTIONS_FILE)


def actions_table(actions: pd.DataFrame) -> pd.DataFrame:
    """Display table of actions: kind in words, subject, criterion, evidence, id (every row)."""
    return pd.DataFrame(
        {
            "Action": actions["kind"].map(_KIND_LABEL).fillna(actions["kind"]),
            "Who / what": actions["subject"],
            "Criterion": actions["criterion"],
            "Evidence": actions["evidence"],
            "Id": actions["action_id"],
        }
    ).set_index("Action")


def actions_markdown(actions: pd.DataFrame, *, scope: str = "region") -> str:
    """One paragraph introducing the actions table: how many of each kind, and the rules."""
    if scope == "global":
        rule = (
            "A criterion's guideline is to be rewritten when its calibration alpha lies wholly "
            "below the tentative band in several regions (the threshold is stated per action)."
        )
    else:
        rule = (
            "Raters are recalibrated on a criterion only when their bias there holds after Holm "
            "adjustment over every rater x criterion pair; the agenda lists the discussion-list "
            "tickets for criteria with a tested problem; agents are coached when their shrunken "
            "pass rate interval lies wholly below the pooled rate (only when agents differ "
            "beyond chance) or after repeated critical fails."
        )
    if len(actions) == 0:
        return f"**No actions this month**: no tested finding calls for one. {rule}"
    counts = actions["kind"].value_counts()
    parts = [
        f"{int(counts[k])} x {md_escape(_KIND_LABEL[k].lower())}"
        for k in _KIND_ORDER
        if k in counts
    ]
    return (
        f"**{len(actions)} action(s) this month**: {', '.join(parts)}. {rule} Each id is stable "
        f"across reruns of the month (written to `{ACTIONS_FILE}`)."
    )
