"""The performance report, as sections: each a function returning a small result.

:func:`performance_data` scores the evaluations once and cuts the window
(:class:`PerformanceData`); each ``*_section`` function takes it and returns
one section's result, and each narrative function takes only its section:

==================  =======================  ===================================
section function    result                   narrative
==================  =======================  ===================================
volume_section      VolumeSection            volume_markdown
control_section     ControlSection           control_markdown
trend_section       TrendSection             trend_sentence
targets_section     TargetsSection           targets_markdown
pareto_section      ParetoSection            pareto_sentence
critical_section    CriticalSection          critical_sentence
breakdowns_section  BreakdownsSection        (figures and a table)
agents_section      AgentsSection            agents_markdown, top_bottom
changes_section     ChangesSection           changes_markdown
csat_section        CsatSection              csat_sentence
plan_section        PlanSection              plan_sentence
==================  =======================  ===================================

Every section result has a ``kpis()`` method giving its part of the KPI file;
:func:`performance_kpis` assembles the file from the sections it is given. A
new section (a class with ``kpis()`` and a function taking
:class:`PerformanceData`) is added to :data:`SECTIONS` without touching the
others. Fixed explanations (what a funnel plot shows, what a control-chart
signal calls for) live in the notebook's markdown cells.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import compare as cmp
from qa_analysis import sampling as smp
from qa_analysis import settings
from qa_analysis import trends as tr
from qa_analysis.escaping import md_escape
from qa_analysis.report.data import Window, in_window, resolve_targets, target_spec
from qa_analysis.report.formatting import (
    KPI_LABELS,
    ShortRepr,
    fmt,
    fmt_ci,
    is_finite,
    json_number,
    sentence,
)
from qa_analysis.scorecard import Scorecard, criterion_rates, score_evaluations

__all__ = [
    "SECTIONS",
    "AgentsSection",
    "BreakdownsSection",
    "ChangesSection",
    "ControlSection",
    "CriticalSection",
    "CsatSection",
    "Headline",
    "ParetoSection",
    "PerformanceData",
    "PlanCoverage",
    "PlanSection",
    "Section",
    "TargetsSection",
    "TrendSection",
    "VolumeSection",
    "agents_markdown",
    "agents_section",
    "all_sections",
    "breakdowns_section",
    "changes_markdown",
    "changes_section",
    "control_markdown",
    "control_section",
    "critical_section",
    "critical_sentence",
    "csat_section",
    "csat_sentence",
    "pareto_section",
    "pareto_sentence",
    "performance_data",
    "performance_kpis",
    "plan_section",
    "plan_sentence",
    "score_window",
    "targets_markdown",
    "targets_section",
    "top_bottom",
    "trend_section",
    "trend_sentence",
    "volume_markdown",
    "volume_section",
]

BREAKDOWN_COLUMNS = ("market", "channel", "queue")
_AGG_COLS = [
    "n",
    "mean_score",
    "sd_score",
    "score_ci_low",
    "score_ci_high",
    "passed",
    "pass_rate",
    "pass_ci_low",
    "pass_ci_high",
    "critical_fails",
    "critical_rate",
    "n_unscored",
]
_SCORE_COLS = (
    "evaluation_id",
    "ticket_id",
    "agent_id",
    "reviewer_id",
    "region",
    "market",
    "channel",
    "queue",
)
_PLAN_COLS = ["ticket_id", "agent_id", "channel", "inclusion_prob", "design_weight", "take_all"]
_COV_COLS = [
    "agent_id",
    "population",
    "planned",
    "done",
    "unplanned",
    "completion",
    "moe_planned",
    "moe_achieved",
]
_SHRINK_COLS = [
    "agent_id",
    "n",
    "events",
    "raw_rate",
    "shrunk_rate",
    "ci_low",
    "ci_high",
    "rank",
    "distinguishable",
    "position",
]


# ---------------------------------------------------------------------------
# the data every section starts from
# ---------------------------------------------------------------------------
def score_window(evaluations: pd.DataFrame, scorecard: Scorecard) -> pd.DataFrame:
    """Score evaluations; an empty frame with the scored columns when there are none.

    See :func:`qa_analysis.scorecard.score_evaluations`.

    Examples
    --------
    >>> from qa_analysis.scorecard import Scorecard
    >>> sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [0, 1]}]})
    >>> list(score_window(pd.DataFrame(), sc).columns[-4:])
    ['score', 'passed', 'critical_fail', 'n_applicable']
    """
    if len(evaluations):
        return score_evaluations(evaluations, scorecard)
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in _SCORE_COLS})
    out["evaluated_at"] = pd.Series(dtype="datetime64[ns]")
    out["csat"] = pd.Series(dtype=float)
    out["score"] = pd.Series(dtype=float)
    out["passed"] = pd.Series(dtype="boolean")
    out["critical_fail"] = pd.Series(dtype=bool)
    out["n_applicable"] = pd.Series(dtype=np.int64)
    return out


def _moe(n: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Margin of error at p = 0.5 (95%), finite-population corrected where known.

    The correction applies where the population (at least n tickets) is known;
    NaN where n = 0.
    """
    n = np.asarray(n, dtype=float)
    pop = np.asarray(population, dtype=float)
    if n.size == 0:
        return np.array([])
    known = pop >= np.maximum(n, 1)
    return np.asarray(smp.margin_of_error(n, population=np.where(known, pop, np.nan)))


@dataclass(frozen=True, repr=False)
class Headline(ShortRepr):
    """The month's headline figures (scored evaluations only).

    Pass and critical-error rates with Wilson intervals, the mean score with a
    t interval; ``n_unscored`` evaluations (every criterion N/A) are in no
    rate; ``moe`` is the margin of error of the pass rate at p = 0.5 (95%)
    with the finite-population correction when the ticket population is known.
    """

    n: int
    n_unscored: int
    passed: int
    pass_rate: float
    pass_rate_ci_low: float
    pass_rate_ci_high: float
    mean_score: float
    mean_score_ci_low: float
    mean_score_ci_high: float
    critical_fails: int
    critical_rate: float
    critical_rate_ci_low: float
    critical_rate_ci_high: float
    n_agents: int
    n_tickets: int | None
    audits_per_agent: float
    moe: float

    @property
    def empty(self) -> bool:
        """True when the month has no scored evaluation."""
        return self.n == 0


@dataclass(frozen=True, repr=False)
class PerformanceData(ShortRepr):
    """The inputs of every performance section, for one region and month.

    Build it with :func:`performance_data`. ``targets`` is the ``targets``
    parameter merged over ``params/defaults.yaml``; ``plan_per_agent`` the
    audits per agent of each month's plan; ``seed`` the base seed of the plans.
    The scored tables are computed once, on first use.
    """

    region: str | None
    window: Window
    scorecard: Scorecard
    evaluations: pd.DataFrame
    tickets: pd.DataFrame
    targets: dict[str, Any]
    plan_per_agent: int
    seed: int

    @functools.cached_property
    def scores(self) -> pd.DataFrame:
        """Scored evaluations over the window (history and month)."""
        s = score_window(self.evaluations, self.scorecard)
        w = self.window
        return in_window(s, "evaluated_at", w.history_start, w.end) if len(s) else s

    @functools.cached_property
    def month(self) -> pd.DataFrame:
        """Scored evaluations of the report month (unscored ones included)."""
        s, w = self.scores, self.window
        return in_window(s, "evaluated_at", w.start, w.end) if len(s) else s

    @functools.cached_property
    def scored_month(self) -> pd.DataFrame:
        """The month's evaluations with a score."""
        m = self.month
        return m.loc[m["score"].notna()] if len(m) else m

    @functools.cached_property
    def month_evaluations(self) -> pd.DataFrame:
        """The month's long (criterion-level) evaluations."""
        e, w = self.evaluations, self.window
        return in_window(e, "evaluated_at", w.start, w.end) if len(e) else e

    @functools.cached_property
    def weekly(self) -> pd.DataFrame:
        """Weekly aggregates over the window (weeks starting Monday)."""
        return tr.aggregate(self.scores, freq="W")

    @functools.cached_property
    def per_agent(self) -> pd.DataFrame:
        """``agent_id, tickets, audits, moe`` per agent with tickets or audits, fewest first."""
        t, m = self.tickets, self.scored_month
        t_agents = (
            t.groupby("agent_id").size().rename("tickets")
            if len(t)
            else pd.Series(dtype=np.int64, name="tickets")
        )
        e_agents = (
            m.groupby("agent_id").size().rename("audits")
            if len(m)
            else pd.Series(dtype=np.int64, name="audits")
        )
        out = pd.concat([t_agents, e_agents], axis=1).fillna(0).astype(np.int64)
        out.index.name = "agent_id"
        out = out.reset_index().sort_values(["audits", "agent_id"], kind="stable")
        out = out.reset_index(drop=True)
        out["moe"] = _moe(out["audits"].to_numpy(), out["tickets"].to_numpy())
        return out

    @functools.cached_property
    def headline(self) -> Headline:
        """The month's headline figures (see :class:`Headline`)."""
        month = self.month
        s = month["score"].to_numpy(dtype=float) if len(month) else np.array([])
        ok = ~np.isnan(s)
        n = int(ok.sum())
        passed = (
            int(np.nansum(month["passed"].to_numpy(dtype=float, na_value=np.nan)[ok])) if n else 0
        )
        crit = int(month["critical_fail"].to_numpy(dtype=bool)[ok].sum()) if n else 0
        plo, phi = tr.wilson_interval(passed, n)
        clo, chi = tr.wilson_interval(crit, n)
        if n:
            agg = tr.aggregate(month.assign(_m=0), freq="MS").query("n > 0")
            mean = float(agg["mean_score"].iloc[0])
            mlo, mhi = float(agg["score_ci_low"].iloc[0]), float(agg["score_ci_high"].iloc[0])
        else:
            mean = mlo = mhi = np.nan
        n_agents = len(self.per_agent)
        n_tickets = len(self.tickets) if len(self.tickets) else None
        return Headline(
            n=n,
            n_unscored=int((~ok).sum()),
            passed=passed,
            pass_rate=passed / n if n else np.nan,
            pass_rate_ci_low=float(plo),
            pass_rate_ci_high=float(phi),
            mean_score=mean,
            mean_score_ci_low=mlo,
            mean_score_ci_high=mhi,
            critical_fails=crit,
            critical_rate=crit / n if n else np.nan,
            critical_rate_ci_low=float(clo),
            critical_rate_ci_high=float(chi),
            n_agents=n_agents,
            n_tickets=n_tickets,
            audits_per_agent=n / n_agents if n_agents else np.nan,
            moe=float(_moe(np.array([n]), np.array([n_tickets or 0]))[0]),
        )

    @functools.cached_property
    def breakdowns(self) -> dict[str, pd.DataFrame]:
        """The month by market, channel and queue, with critical-rate Wilson intervals.

        :func:`qa_analysis.trends.aggregate` plus ``critical_rate_ci_low,
        critical_rate_ci_high``.
        """
        m = self.scored_month
        out = {}
        for col in BREAKDOWN_COLUMNS:
            if len(m) and col in m:
                b = tr.aggregate(m, by=col, freq="MS")
                b = b.loc[b["n"] > 0].drop(columns="period").reset_index(drop=True)
                lo, hi = tr.wilson_interval(b["critical_fails"], b["n"])
                b["critical_rate_ci_low"], b["critical_rate_ci_high"] = lo, hi
            else:
                b = pd.DataFrame(
                    columns=[col, *_AGG_COLS, "critical_rate_ci_low", "critical_rate_ci_high"]
                )
            out[col] = b
        return out


def performance_data(
    evaluations: pd.DataFrame,
    tickets: pd.DataFrame,
    scorecard: Scorecard,
    window: Window,
    *,
    targets: Mapping[str, Any] | None = None,
    sampling: Mapping[str, Any] | None = None,
    seed: int | None = None,
    region: str | None = None,
) -> PerformanceData:
    """The inputs of the performance sections.

    Parameters
    ----------
    evaluations : DataFrame
        Long evaluations covering the window (history + month).
    tickets : DataFrame
        The month's ticket population (the sampling frame for the audit plans
        and the denominator of coverage); may be empty.
    scorecard : Scorecard
    window : Window
    targets : mapping, optional
        ``pass_rate``, ``mean_score``, ``critical_rate`` (at most),
        ``audits_per_agent`` (``alpha`` is ignored here); missing keys take
        ``params/defaults.yaml``.
    sampling : mapping, optional
        ``per_agent``: audits per agent in each month's plan (default
        ``params/defaults.yaml``).
    seed : int, optional
        Base seed of the audit plans: a month's plan uses
        :func:`qa_analysis.sampling.period_seed` ``(seed, "YYYY-MM")``;
        default the ``seed`` of ``params/defaults.yaml``.
    region : str, optional

    Examples
    --------
    >>> from qa_analysis.report.data import report_window
    >>> from qa_analysis.scorecard import Scorecard
    >>> sc = Scorecard.from_dict({"pass_mark": 80, "criteria": [{"id": "resolution", "scale": [0, 1]}]})
    >>> ev = pd.DataFrame({"evaluation_id": ["e1", "e2", "e3", "e4"],
    ...     "ticket_id": ["t1", "t2", "t3", "t4"], "agent_id": ["a", "a", "b", "b"],
    ...     "market": "DE", "channel": "chat",
    ...     "evaluated_at": pd.to_datetime(["2026-09-10", "2026-10-05", "2026-10-06", "2026-10-20"]),
    ...     "criterion": "resolution", "score": [1.0, 1.0, 0.0, 1.0]})
    >>> d = performance_data(ev, pd.DataFrame(), sc, report_window("2026-10", 1))
    >>> d.headline.n, d.headline.passed
    (3, 2)
    """
    tg = resolve_targets(targets)
    plan = {**settings.defaults().get("sampling", {}), **(sampling or {})}
    return PerformanceData(
        region=region,
        window=window,
        scorecard=scorecard,
        evaluations=evaluations,
        tickets=tickets,
        targets=tg,
        plan_per_agent=int(plan["per_agent"]),
        seed=int(settings.defaults()["seed"] if seed is None else seed),
    )


class Section(ShortRepr):
    """Base of the section results: ``kpis()`` gives the section's part of the KPI file.

    Top-level keys are scalars shown in the batch index (or small nested
    mappings); ``detail`` holds the rest. Sections must not set the same key.
    """

    def kpis(self) -> dict[str, Any]:
        """Return the section's KPIs (none by default)."""
        return {}


# ---------------------------------------------------------------------------
# volume and coverage
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class PlanCoverage(ShortRepr):
    """The month's audit plan against the audits done (see :func:`volume_section`)."""

    planned: int = 0
    done: int = 0
    unplanned: int = 0
    completion: float = float("nan")
    moe_planned: float = float("nan")
    moe_achieved: float = float("nan")
    audits_other_tickets: int = 0
    pending_late: int = 0


@dataclass(frozen=True, repr=False)
class VolumeSection(Section):
    """Audit volume, audits per agent and coverage of the month's plan.

    ``month_plan`` is the report month's plan re-drawn exactly as it was
    issued; ``coverage`` is :func:`qa_analysis.sampling.coverage` of it by the
    month's audits, per agent; ``plan`` sums it up.
    """

    window: Window
    headline: Headline
    per_agent: pd.DataFrame
    audits_target: float | None
    agents_at_target: int
    plan_per_agent: int
    month_plan: pd.DataFrame
    coverage: pd.DataFrame
    plan: PlanCoverage

    def kpis(self) -> dict[str, Any]:
        """Volume KPIs: evaluations, agents, the headline rates, plan completion."""
        h, p = self.headline, self.plan
        return {
            "n_evaluations": int(h.n),
            "n_agents": int(h.n_agents),
            "pass_rate": json_number(h.pass_rate),
            "pass_rate_ci_low": json_number(h.pass_rate_ci_low),
            "pass_rate_ci_high": json_number(h.pass_rate_ci_high),
            "mean_score": json_number(h.mean_score),
            "critical_rate": json_number(h.critical_rate),
            "audits_per_agent": json_number(h.audits_per_agent),
            "plan_completion": json_number(p.completion),
            "n_unscored": int(h.n_unscored),
            "detail": {
                "mean_score_ci_low": json_number(h.mean_score_ci_low),
                "mean_score_ci_high": json_number(h.mean_score_ci_high),
                "critical_rate_ci_low": json_number(h.critical_rate_ci_low),
                "critical_rate_ci_high": json_number(h.critical_rate_ci_high),
                "moe": json_number(h.moe),
                "n_tickets": h.n_tickets,
                "plan_planned": int(p.planned),
                "plan_done": int(p.done),
                "plan_unplanned": int(p.unplanned),
                "plan_moe_planned": json_number(p.moe_planned),
                "plan_moe_achieved": json_number(p.moe_achieved),
                "audits_other_tickets": int(p.audits_other_tickets),
            },
        }


def _plan(tickets: pd.DataFrame, per_agent: int, seed: int) -> tuple[pd.DataFrame, str]:
    if len(tickets):
        plan = smp.audit_plan(tickets, per_agent=per_agent, seed=seed)
        return plan, str(plan.attrs.get("note", ""))
    return pd.DataFrame(columns=_PLAN_COLS), "no tickets in the month: no plan drawn"


def _coverage(
    plan: pd.DataFrame, month_ev: pd.DataFrame, tickets: pd.DataFrame, window: Window
) -> tuple[pd.DataFrame, PlanCoverage]:
    ev = (
        month_ev[["ticket_id", "agent_id"]].drop_duplicates("ticket_id")
        if len(month_ev)
        else pd.DataFrame(
            {"ticket_id": pd.Series(dtype=object), "agent_id": pd.Series(dtype=object)}
        )
    )
    if len(plan) == 0 or len(tickets) == 0:
        other = len(ev) if len(tickets) == 0 else 0
        return pd.DataFrame(columns=_COV_COLS), PlanCoverage(audits_other_tickets=other)
    # Index lookup: Series.isin on Arrow strings loops in Python
    in_pop = pd.Index(tickets["ticket_id"]).get_indexer_for(ev["ticket_id"]) >= 0
    cov = smp.coverage(plan, ev.loc[in_pop], by="agent_id")
    planned, done = int(cov["planned"].sum()), int(cov["done"].sum())
    n_pop = len(tickets)
    pending = 0
    if "created_at" in plan:
        # planned tickets of the month's last three days may still be waiting for their audit
        late = pd.to_datetime(plan["created_at"]) >= window.end - pd.Timedelta(days=2)
        pending = int((late & ~plan["ticket_id"].isin(ev["ticket_id"])).sum())
    return cov[_COV_COLS].reset_index(drop=True), PlanCoverage(
        planned=planned,
        done=done,
        unplanned=int(cov["unplanned"].sum()),
        completion=done / planned if planned else float("nan"),
        moe_planned=float(_moe(np.array([planned]), np.array([n_pop]))[0]),
        moe_achieved=float(_moe(np.array([done]), np.array([n_pop]))[0]),
        audits_other_tickets=int((~in_pop).sum()),
        pending_late=pending,
    )


def volume_section(d: PerformanceData) -> VolumeSection:
    """Audit volume and coverage.

    Coverage: audits per agent among agents with tickets (or audits) this
    month, and the margin of error of the month's pass rate at p = 0.5 with
    the finite population correction
    (:func:`qa_analysis.sampling.margin_of_error`). Against the sampling plan,
    the month's plan is re-drawn from the month's tickets with the month's
    seed (the same draw that was issued) and the month's audits of the
    month's tickets are matched to it (:func:`qa_analysis.sampling.coverage`,
    by agent). Audits of tickets outside the month's population (created in
    an earlier month: part of an earlier plan) are counted separately.
    """
    target = d.targets.get("audits_per_agent")
    month_plan, _ = _plan(d.tickets, d.plan_per_agent, smp.period_seed(d.seed, d.window.period))
    cov, plan = _coverage(month_plan, d.month_evaluations, d.tickets, d.window)
    return VolumeSection(
        window=d.window,
        headline=d.headline,
        per_agent=d.per_agent,
        audits_target=None if target is None else float(target),
        agents_at_target=int((d.per_agent["audits"] >= (target or 0)).sum()),
        plan_per_agent=d.plan_per_agent,
        month_plan=month_plan,
        coverage=cov,
        plan=plan,
    )


def volume_markdown(s: VolumeSection) -> str:
    """Audit volume and coverage against the sampling plan and the per-agent target.

    Three paragraphs: the volume (evaluations scored, unscored ones counted,
    the margin of error of the pass rate), the month's plan (planned, done,
    unplanned, completion, achieved margin; audits of earlier months' tickets
    and planned tickets of the last days still pending counted), and audits
    per agent against the target.
    """
    h = s.headline
    if h.empty:
        txt = (
            f"**No scored evaluations in {s.window.label}.** Quality figures, targets and "
            "agent rankings below are empty; the audit plan for next month is still drawn "
            "when the month's ticket population is available."
        )
        if h.n_unscored:
            txt += (
                f" {h.n_unscored:,} evaluation(s) had every criterion N/A: they have no "
                "score and count in no rate."
            )
        return txt
    tickets = (
        (
            f" out of {h.n_tickets:,} tickets handled (the margin of error of the pass rate "
            f"is +-{fmt(h.moe, 1, pct=True)} at 95%, worst case p = 0.5)"
        )
        if h.n_tickets
        else ""
    )
    paras = []
    txt = f"In {s.window.label}, **{h.n:,} evaluations** were scored{tickets}."
    if h.n_unscored:
        txt += (
            f" {h.n_unscored:,} more evaluation(s) had every criterion N/A: they have no "
            "score and are left out of the pass rate, mean score and critical-error rate."
        )
    paras.append(txt)
    paras.append(_plan_coverage_text(s))
    txt = (
        f"{h.n_agents} agents had tickets or audits: {fmt(h.audits_per_agent, 1)} scored "
        f"audits per agent on average"
    )
    if s.audits_target is not None:
        txt += (
            f" against a target of {fmt(s.audits_target, 0)}; {s.agents_at_target} of "
            f"{h.n_agents} agents reached it"
        )
    txt += "."
    if len(s.per_agent) and s.per_agent["audits"].gt(0).any():
        med = float(np.nanmedian(s.per_agent["moe"]))
        txt += (
            f" With so few audits an individual agent's pass rate is uncertain by about "
            f"+-{fmt(med, 0, pct=True)} (median margin of error per agent), which is why "
            "agents are compared on a funnel plot with shrunken rates below."
        )
    paras.append(txt)
    return "\n\n".join(p for p in paras if p)


def _plan_coverage_text(s: VolumeSection) -> str:
    p = s.plan
    if not p.planned:
        other = p.audits_other_tickets
        return "No audit plan to check coverage against: no ticket population for the month" + (
            f" ({other:,} audited ticket(s) in the month)." if other else "."
        )
    txt = (
        f"**Against the month's audit plan** ({s.plan_per_agent} tickets per agent, "
        f"re-drawn from the month's tickets with the month's seed): **{p.done:,} of "
        f"{p.planned:,} planned audits done ({fmt(p.completion, 1, pct=True)})**, "
        f"{p.unplanned:,} audit(s) of the month's tickets outside the plan. The planned "
        f"sample would give a margin of error of +-{fmt(p.moe_planned, 1, pct=True)}; the "
        f"audits done achieve +-{fmt(p.moe_achieved, 1, pct=True)} (95%, p = 0.5; "
        "unplanned audits are not a random sample and do not count toward it)."
    )
    if len(s.coverage):
        short = int((s.coverage["completion"] < 1).sum())
        txt += f" {short} of {len(s.coverage)} agents have planned audits still missing."
    if p.pending_late:
        txt += (
            f" {p.pending_late:,} of the missing audits are of tickets from the month's "
            "last three days, which may still be in the queue."
        )
    if p.audits_other_tickets:
        txt += (
            f" A further {p.audits_other_tickets:,} audit(s) this month were of tickets "
            "outside the month's population (created in an earlier month, so part of an "
            "earlier plan) and are not counted against this plan."
        )
    return txt


# ---------------------------------------------------------------------------
# control chart and trend
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ControlSection(Section):
    """Weekly p-chart of the pass rate and x-bar chart of the mean score.

    Phase-I baseline: the first half of the history (:attr:`Window.baseline_end`),
    or every week when there is no week before it.
    """

    window: Window
    weekly_p: pd.DataFrame
    weekly_score: pd.DataFrame
    month_empty: bool = False

    @property
    def month_signals(self) -> int:
        """Weeks starting in the report month that break a Western Electric rule."""
        if len(self.weekly_p) == 0:
            return 0
        m = self.weekly_p["period"] >= self.window.start
        return int(self.weekly_p.loc[m, "signal"].sum())

    def kpis(self) -> dict[str, Any]:
        """``n_control_signals`` (report month); detail: signals over the window."""
        return {
            "n_control_signals": self.month_signals,
            "detail": {
                "control_signals_window": int(self.weekly_p["signal"].sum())
                if len(self.weekly_p)
                else 0
            },
        }


def control_section(d: PerformanceData) -> ControlSection:
    """Weekly control charts (:func:`qa_analysis.trends.control_chart`), weeks starting Monday.

    The p-chart's limits vary with each week's n and are estimated from the
    first half of the history (phase I), so recent weeks are judged against
    the level before them and a shift inside the history is not absorbed
    into the limits.

    References
    ----------
    .. [1] Montgomery, D. C. (2019). Introduction to Statistical Quality
       Control, 8th ed., Wiley (p chart with variable n, phase I / II).
    """
    weekly = d.weekly
    base = d.window.baseline_end
    if base is None or not len(weekly) or not (weekly["period"] < base).any():
        base = None
    if len(weekly):
        p = tr.control_chart(weekly, kind="p", baseline=base)
        x = tr.control_chart(weekly, kind="xbar", baseline=base)
    else:
        p = x = weekly
    return ControlSection(window=d.window, weekly_p=p, weekly_score=x, month_empty=d.headline.empty)


def control_markdown(s: ControlSection) -> str:
    """Control-chart reading: centre line, limits and the signals in the report month."""
    cc = s.weekly_p
    if len(cc) == 0 or s.month_empty:
        return "No weekly series to chart."
    base = cc.loc[cc["baseline"]]
    month = cc.loc[cc["period"] >= s.window.start - pd.Timedelta(days=6)]
    month = month.loc[month["period"] <= s.window.end]
    sig = cc.loc[cc["signal"]]
    sig_m = month.loc[month["signal"]]
    if len(base) and len(base) < len(cc):
        last = pd.Timestamp(base["period"].max()) + pd.Timedelta(days=6)
        txt = (
            f"The p-chart's centre line is the pass rate of the {len(base)} baseline weeks up to "
            f"{last.strftime('%d %B %Y')} ({fmt(cc['center'].iloc[0], 1, pct=True)}); later weeks "
            "are judged against it, and the 3-sigma limits widen in weeks with fewer audits. "
        )
    else:
        txt = (
            f"The p-chart's centre line is the pass rate over all {len(cc)} weeks "
            f"({fmt(cc['center'].iloc[0], 1, pct=True)}); the 3-sigma limits widen in weeks "
            "with fewer audits. "
        )
    if len(sig) == 0:
        txt += "No week breaks a Western Electric rule: the process is in statistical control."
        return txt
    rules = {
        "rule1": "a point beyond 3 sigma",
        "rule2": "2 of 3 beyond 2 sigma",
        "rule3": "4 of 5 beyond 1 sigma",
        "rule4": "8 in a row on one side",
    }
    txt += f"{len(sig)} week(s) signal over the window"
    if len(sig_m):
        kinds = sorted(rules[r] for r in rules if sig_m[r].to_numpy(dtype=bool).any())
        lows = int((sig_m["value"] < sig_m["center"]).sum())
        txt += (
            f", {len(sig_m)} of them in or at the start of {s.window.label} ({', '.join(kinds)}; "
            f"{lows} below the centre line)"
        )
    first = sig.iloc[0]
    txt += (
        f"; the first signal is the week of {pd.Timestamp(first['period']).strftime('%d %B %Y')} "
        f"({fmt(first['value'], 1, pct=True)})."
    )
    return txt


@dataclass(frozen=True, repr=False)
class TrendSection(Section):
    """Mann-Kendall test and Sen's slope of the weekly pass rate over the window."""

    window: Window
    trend: tr.Trend

    @property
    def direction(self) -> str | None:
        """``"up"`` / ``"down"`` (p < 0.05), ``"none"``, or None without a test."""
        t = self.trend
        if not is_finite(t.p_value):
            return None
        if t.p_value >= 0.05:
            return "none"
        return "up" if t.s > 0 else "down"

    def kpis(self) -> dict[str, Any]:
        """``trend_direction, trend_p``; detail: Sen's slope per week."""
        return {
            "trend_direction": self.direction,
            "trend_p": json_number(self.trend.p_value),
            "detail": {"sen_slope_per_week": json_number(self.trend.slope)},
        }


def trend_section(d: PerformanceData) -> TrendSection:
    """Mann-Kendall on the weekly pass rate over the window.

    References
    ----------
    .. [1] Mann, H. B. (1945). Nonparametric tests against trend.
       Econometrica, 13, 245-259.
    """
    weekly = d.weekly
    trend = (
        tr.mann_kendall(weekly["pass_rate"].to_numpy(dtype=float))
        if len(weekly)
        else tr.mann_kendall([])
    )
    return TrendSection(window=d.window, trend=trend)


def trend_sentence(s: TrendSection) -> str:
    """Mann-Kendall trend of the weekly pass rate over the window."""
    t = s.trend
    if not is_finite(t.p_value):
        return f"No trend test: {t.note or 'too few weeks'}."
    slope = f"{fmt(t.slope * 100, 2, signed=True)} points per week"
    if t.p_value < 0.05:
        way = "improving" if t.s > 0 else "declining"
        return (
            f"Over {t.n} weeks ({s.window.history_label}) the pass rate is **{way}** "
            f"(Mann-Kendall tau {fmt(t.tau)}, p = {t.p_value:.3g}; Sen's slope {slope})."
        )
    return (
        f"Over {t.n} weeks ({s.window.history_label}) there is no significant trend in the "
        f"pass rate (Mann-Kendall p = {t.p_value:.2f}; Sen's slope {slope})."
    )


# ---------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class TargetsSection(Section):
    """The month's KPIs against their targets (:func:`qa_analysis.compare.target_status`).

    ``values`` are the targets used (the parameter merged over
    ``params/defaults.yaml``): use these, not the raw parameter, in figures.
    """

    table: pd.DataFrame
    values: dict[str, Any]
    empty: bool

    @property
    def status(self) -> dict[str, str | None]:
        """KPI -> ``met`` / ``at risk`` / ``missed`` (None without a value)."""
        return {
            r["kpi"]: (None if r["status"] is pd.NA else r["status"])
            for r in self.table.to_dict("records")
        }

    def kpis(self) -> dict[str, Any]:
        """``targets_met, targets_missed`` and ``targets`` (kpi -> status)."""
        st = self.status
        return {
            "targets_met": int(sum(v == "met" for v in st.values())),
            "targets_missed": int(sum(v == "missed" for v in st.values())),
            "targets": st,
        }


def targets_section(d: PerformanceData) -> TargetsSection:
    """The month's KPIs against the targets, and whether each interval clears its target.

    Pass rate, mean score, critical-error rate and audits per agent.
    """
    h = d.headline
    kp = pd.DataFrame(
        {
            "kpi": ["pass_rate", "mean_score", "critical_rate", "audits_per_agent"],
            "value": [h.pass_rate, h.mean_score, h.critical_rate, h.audits_per_agent],
            "ci_low": [h.pass_rate_ci_low, h.mean_score_ci_low, h.critical_rate_ci_low, np.nan],
            "ci_high": [
                h.pass_rate_ci_high,
                h.mean_score_ci_high,
                h.critical_rate_ci_high,
                np.nan,
            ],
        }
    )
    spec = target_spec({k: v for k, v in d.targets.items() if k in set(kp["kpi"])})
    table = cmp.target_status(kp, spec)
    table.insert(1, "label", table["kpi"].map(KPI_LABELS))
    return TargetsSection(table=table, values=dict(d.targets), empty=h.empty)


def targets_markdown(s: TargetsSection) -> str:
    """Targets met / missed, with whether the gap is clear of the KPI's uncertainty."""
    t = s.table
    if s.empty or len(t) == 0:
        return "No targets assessed: no evaluations this month."
    pct = {"pass_rate", "critical_rate"}
    lines = []
    for r in t.to_dict("records"):
        if r["status"] is pd.NA or r["status"] is None:
            continue
        p = r["kpi"] in pct
        val = fmt_ci(r["value"], r["ci_low"], r["ci_high"], digits=1, pct=p)
        tgt = fmt(r["target"], 1, pct=p)
        word = "at most" if r["direction"] == "max" else "at least"
        clear = ""
        if r["clear"] is True:
            clear = " (clear: the interval excludes the target)"
        elif r["clear"] is False:
            clear = " (within the noise: the interval includes the target)"
        lines.append(f"- {r['label']}: {val} vs target {word} {tgt}: **{r['status']}**{clear}.")
    met = int((t["status"] == "met").sum())
    missed = int((t["status"] == "missed").sum())
    return f"{met} target(s) met, {missed} missed.\n\n" + "\n".join(lines)


# ---------------------------------------------------------------------------
# Pareto, critical errors, breakdowns
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ParetoSection(Section):
    """Criterion fail rates of the month, most fails first, with cumulative shares.

    See :func:`qa_analysis.scorecard.criterion_rates`.
    """

    table: pd.DataFrame


def pareto_section(d: PerformanceData) -> ParetoSection:
    """The month's criterion fails, most frequent first."""
    ev = d.month_evaluations
    if len(ev):
        return ParetoSection(table=criterion_rates(ev, d.scorecard))
    cols = ["criterion", "name", "section", "critical", "n", "fails", "fail_rate", "share"]
    return ParetoSection(table=pd.DataFrame(columns=[*cols, "cum_share"]))


def pareto_sentence(s: ParetoSection, *, share: float = 0.8) -> str:
    """The vital few criteria that account for ``share`` of the fails (the Pareto principle)."""
    p = s.table
    if len(p) == 0 or p["fails"].sum() == 0:
        return "No criterion failed this month."
    k = int(np.searchsorted(p["cum_share"].to_numpy(dtype=float), share - 1e-12) + 1)
    k = min(k, len(p))
    top = ", ".join(f"*{md_escape(n)}*" for n in p["name"].head(k))
    return (
        f"{int(p['fails'].sum()):,} criterion fails this month; {k} of {len(p)} criteria "
        f"({top}) account for {fmt(p['cum_share'].iloc[k - 1], 0, pct=True)} of them. "
        f"The top one, *{md_escape(p['name'].iloc[0])}*, fails on {fmt(p['fail_rate'].iloc[0], 1, pct=True)} "
        "of the evaluations where it applies."
    )


@dataclass(frozen=True, repr=False)
class CriticalSection(Section):
    """The month's critical-error rate (Wilson interval) and its rate by channel."""

    headline: Headline
    by_channel: pd.DataFrame


def critical_section(d: PerformanceData) -> CriticalSection:
    """Critical errors overall and by channel."""
    return CriticalSection(headline=d.headline, by_channel=d.breakdowns["channel"])


def critical_sentence(s: CriticalSection) -> str:
    """The critical-error rate overall and its highest channel."""
    h = s.headline
    if h.empty:
        return "No critical-error rate: no evaluations this month."
    ci = fmt_ci(
        h.critical_rate, h.critical_rate_ci_low, h.critical_rate_ci_high, digits=1, pct=True
    )
    txt = f"{h.critical_fails} of {h.n:,} evaluations had a critical error ({ci})."
    ch = s.by_channel
    if len(ch) > 1:
        w = ch.sort_values("critical_rate", ascending=False, kind="stable").iloc[0]
        rest = ch.loc[ch["channel"] != w["channel"]]
        other = rest["critical_fails"].sum() / rest["n"].sum() if rest["n"].sum() else np.nan
        wci = fmt_ci(
            w["critical_rate"],
            w["critical_rate_ci_low"],
            w["critical_rate_ci_high"],
            digits=1,
            pct=True,
        )
        txt += (
            f" Channel **{md_escape(w['channel'])}** has the highest rate, {wci}, against "
            f"{fmt(other, 1, pct=True)} on the other channels."
        )
    return txt


@dataclass(frozen=True, repr=False)
class BreakdownsSection(Section):
    """The month by market, channel and queue (``tables[column]``)."""

    tables: dict[str, pd.DataFrame]


def breakdowns_section(d: PerformanceData) -> BreakdownsSection:
    """Monthly :func:`qa_analysis.trends.aggregate` by market, channel and queue."""
    return BreakdownsSection(tables=dict(d.breakdowns))


# ---------------------------------------------------------------------------
# agents: funnel and shrinkage
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class AgentsSection(Section):
    """Agents' pass rates on a funnel and their shrunken rates.

    Attributes
    ----------
    funnel : DataFrame
        :func:`qa_analysis.compare.funnel` of the agents' pass rates.
    funnel_curve : DataFrame
        The funnel's limits on a grid of n (:func:`qa_analysis.compare.funnel_limits`).
    funnel_target : float
        The pooled pass rate the funnel is centred on.
    shrunk : DataFrame
        :func:`qa_analysis.compare.shrink` rates with each agent's funnel ``position``.
    ranked : bool
        Whether the agents differ beyond chance (the shrinkage model's test), so
        that a ranking means something.
    fitted : bool
        Whether a population was fitted at all (False with fewer than two
        agents or every rate 0 or 1: then there is no test).
    overdispersion_p : float
        p-value of the test for between-agent variation (NaN when not fitted).
    note : str
        The shrinkage model's note (why there is no fit, when there is none).
    """

    funnel: pd.DataFrame
    funnel_curve: pd.DataFrame
    funnel_target: float
    shrunk: pd.DataFrame
    ranked: bool
    fitted: bool
    overdispersion_p: float
    note: str = ""

    @property
    def empty(self) -> bool:
        """True without agents to compare."""
        return len(self.funnel) == 0

    def kpis(self) -> dict[str, Any]:
        """detail: whether agents were ranked (None without agents)."""
        return {"detail": {"agents_ranked": None if self.empty else bool(self.ranked)}}


def agents_section(d: PerformanceData) -> AgentsSection:
    """Funnel plot and hierarchical shrinkage of the agents' pass rates.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing
       institutional performance. Statistics in Medicine, 24(8), 1185-1202.
    .. [2] Gelman, A. et al. (2013). Bayesian Data Analysis, 3rd ed.,
       section 5.3 (hierarchical beta-binomial model).
    """
    m = d.scored_month
    if len(m) == 0:
        return AgentsSection(
            funnel=pd.DataFrame(),
            funnel_curve=pd.DataFrame(),
            funnel_target=float("nan"),
            shrunk=pd.DataFrame(columns=_SHRINK_COLS),
            ranked=False,
            fitted=False,
            overdispersion_p=float("nan"),
            note="no evaluations this month: no agents to compare",
        )
    fun = cmp.funnel(m, unit="agent_id", metric="passed")
    p0 = float(fun.attrs.get("target", np.nan))
    grid = np.unique(np.geomspace(1, max(int(fun["n"].max()) * 1.3, 10), 60).round().astype(int))
    curve = cmp.funnel_limits(p0, grid) if is_finite(p0) else pd.DataFrame()
    shr = cmp.shrink(m, unit="agent_id", metric="passed")
    fit = dict(shr.attrs)
    shr = shr.merge(fun[["agent_id", "position"]], on="agent_id", how="left")
    p_od = float(fit.get("overdispersion_p", np.nan))
    return AgentsSection(
        funnel=fun,
        funnel_curve=curve,
        funnel_target=p0,
        shrunk=shr,
        ranked=bool(fit.get("distinguishable", False)),
        fitted=is_finite(p_od),
        overdispersion_p=p_od,
        note=str(fit.get("note") or ""),
    )


_NO_RANKING = "agents' pass rates do not differ beyond chance this month: no ranking"


def _no_ranking_reason(s: AgentsSection) -> str:
    if not s.fitted:  # too few agents, or every rate 0 or 1: no test at all
        return f"no ranking: {s.note.split(';')[0]}" if s.note else "no ranking"
    return _NO_RANKING


def top_bottom(s: AgentsSection, k: int = 5) -> pd.DataFrame:
    """The ``k`` best and ``k`` worst agents by shrunken pass rate (``group`` top / bottom).

    Only when the agents differ beyond chance (``s.ranked``). Otherwise there
    is no ranking to show: the table lists only the agents outside the
    funnel's 99.8% limits (``group`` "above funnel" / "below funnel", usually
    none), with ``rank`` missing.
    """
    sh = s.shrunk
    if len(sh) == 0:
        return sh.assign(group=pd.Series(dtype=object))
    if not s.ranked:
        off = sh.loc[sh["position"].isin(["above", "below"]).to_numpy()]
        out = off.assign(
            group=off["position"] + " funnel", rank=pd.array([pd.NA] * len(off), dtype="Int64")
        )
        out = out.sort_values(["group", "raw_rate"], ascending=[True, False], kind="stable")
        return out.reset_index(drop=True)
    top = sh.head(k).assign(group="top")
    bottom = sh.tail(k).assign(group="bottom") if len(sh) > k else sh.iloc[0:0]
    return pd.concat([top, bottom.iloc[::-1]], ignore_index=True)


def agents_markdown(s: AgentsSection) -> str:
    """Funnel outliers and whether the agents differ beyond chance.

    When the shrinkage model finds the between-agent variation
    indistinguishable from chance, the text says "agents' pass rates do not
    differ beyond chance this month: no ranking" instead of presenting a 1..N
    order that would be noise.
    """
    f = s.funnel
    if s.empty:
        return "No agent comparison: no evaluations this month."
    above = int((f["position"] == "above").sum())
    below = int((f["position"] == "below").sum())
    warn = int(f["warning"].sum())
    txt = (
        f"{len(f)} agents, {int(f['n'].median())} audits each (median). Against the region's "
        f"pooled pass rate of {fmt(s.funnel_target, 1, pct=True)}, {below} agent(s) fall "
        f"below and {above} above the 99.8% funnel limits ({warn} outside the 95% limits)."
    )
    p = s.overdispersion_p
    test = f" (test for between-agent variation: p = {p:.2g})" if is_finite(p) else ""
    if not s.ranked:
        reason = _no_ranking_reason(s)
        txt += f" **{reason[:1].upper()}{reason[1:]}**{test}."
        if reason == _NO_RANKING:
            txt += (
                " The spread of the agents' pass rates is what chance alone gives with this "
                "many audits, so any top or bottom list would be noise; the table below lists "
                "only agents outside the funnel's 99.8% limits, if any."
            )
        return txt
    txt += f" The agents do differ beyond chance{test}: the table ranks them by shrunken rate."
    if s.note:
        txt += f" ({sentence(s.note).strip()})"
    return txt


# ---------------------------------------------------------------------------
# change since last month, CSAT
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ChangesSection(Section):
    """Previous month vs the report month, overall (``market = "All"``) and by market.

    :func:`qa_analysis.trends.compare_periods` of the pass rate and the mean
    score; market p-values Holm-adjusted.
    """

    window: Window
    table: pd.DataFrame

    @property
    def pass_rate(self) -> pd.DataFrame:
        """The pass-rate rows (overall first, then by market)."""
        c = self.table
        return c.loc[c["metric"] == "pass_rate"].reset_index(drop=True) if len(c) else c


_CHANGE_COLS = [
    "metric",
    "market",
    "n_a",
    "n_b",
    "value_a",
    "value_b",
    "change",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "note",
]


def changes_section(d: PerformanceData) -> ChangesSection:
    """Month-over-month change in pass rate and mean score, overall and by market."""
    scores, w = d.scores, d.window
    if len(scores) == 0 or "market" not in scores:
        return ChangesSection(window=w, table=pd.DataFrame(columns=_CHANGE_COLS))
    a, b = (w.prev_start, w.prev_end), (w.start, w.end)
    parts = []
    for metric in ("pass_rate", "score"):
        overall = tr.compare_periods(scores, period_a=a, period_b=b, metric=metric)
        overall.insert(0, "market", "All")
        by = tr.compare_periods(scores, period_a=a, period_b=b, by="market", metric=metric)
        t = pd.concat([overall, by], ignore_index=True)
        t.insert(0, "metric", metric)
        parts.append(t)
    return ChangesSection(window=w, table=pd.concat(parts, ignore_index=True)[_CHANGE_COLS])


def changes_markdown(s: ChangesSection) -> str:
    """Month-over-month change in pass rate, overall and the markets that changed (Holm)."""
    pr = s.pass_rate
    if len(pr) == 0:
        return "No period comparison."
    allr = pr.loc[pr["market"] == "All"].iloc[0]
    prev = s.window.prev_start.strftime("%B")
    if not is_finite(allr["change"]):
        return (
            f"No comparison with {prev}: {allr['note'] or 'no evaluations in one of the months'}."
        )
    sig = (
        "significant"
        if is_finite(allr["p_value"]) and allr["p_value"] < 0.05
        else "not significant"
    )
    txt = (
        f"Pass rate {fmt(allr['value_a'], 1, pct=True)} in {prev} -> "
        f"{fmt(allr['value_b'], 1, pct=True)} in {s.window.start.strftime('%B')}: "
        f"{fmt(allr['change'] * 100, 1, signed=True)} points "
        f"[{fmt(allr['ci_low'] * 100, 1, signed=True)}, {fmt(allr['ci_high'] * 100, 1, signed=True)}], "
        f"{sig} (p = {fmt(allr['p_value'], 3)})."
    )
    mk = pr.loc[pr["market"] != "All"]
    hits = mk.loc[mk["p_adjusted"].astype(float) < 0.05]
    if len(hits):
        txt += (
            " Markets with a significant change after Holm adjustment: "
            + ", ".join(
                f"{md_escape(r['market'])} ({fmt(r['change'] * 100, 1, signed=True)} pts)"
                for r in hits.to_dict("records")
            )
            + "."
        )
    else:
        txt += " No market changed significantly after Holm adjustment for multiple comparisons."
    return txt


@dataclass(frozen=True, repr=False)
class CsatSection(Section):
    """QA score vs CSAT over the window, overall (``channel = "All"``) and by channel.

    See :func:`qa_analysis.compare.csat_link`.
    """

    window: Window
    table: pd.DataFrame

    def kpis(self) -> dict[str, Any]:
        """``csat_rho``: the overall Spearman correlation (None without CSAT)."""
        return {"csat_rho": json_number(self.table["rho"].iloc[0]) if len(self.table) else None}


def csat_section(d: PerformanceData) -> CsatSection:
    """Spearman correlation of QA score with CSAT, overall and by channel."""
    scores = d.scores
    if len(scores) == 0 or "csat" not in scores or scores["csat"].notna().sum() == 0:
        cols = ["channel", "n", "rho", "ci_low", "ci_high", "p_value", "note"]
        return CsatSection(window=d.window, table=pd.DataFrame(columns=cols))
    overall = cmp.csat_link(scores)
    overall.insert(0, "channel", "All")
    by = cmp.csat_link(scores, by="channel") if "channel" in scores else overall.iloc[0:0]
    return CsatSection(window=d.window, table=pd.concat([overall, by], ignore_index=True))


def csat_sentence(s: CsatSection) -> str:
    """Spearman correlation of QA score with CSAT (where a survey was answered)."""
    c = s.table
    if len(c) == 0:
        return "No CSAT in the data: the QA score vs CSAT check is skipped."
    r = c.iloc[0]
    if not is_finite(r["rho"]):
        return f"Too few evaluations with CSAT for a correlation ({r['note']})."
    strength = "weak" if abs(r["rho"]) < 0.3 else "moderate" if abs(r["rho"]) < 0.5 else "strong"
    sign = "positive" if r["rho"] > 0 else "negative"
    clear = r["rho"] > 0 and is_finite(r["ci_low"]) and r["ci_low"] > 0
    return (
        f"On {int(r['n']):,} evaluated tickets with a CSAT answer ({s.window.history_label}), "
        f"QA score and CSAT have a {strength} {sign} rank correlation: Spearman's rho "
        f"{fmt_ci(r['rho'], r['ci_low'], r['ci_high'])}. "
        + (
            "Higher QA scores go with happier customers, which supports the scorecard."
            if clear
            else "The link is not clearly positive: worth checking which criteria customers care about."
        )
    )


# ---------------------------------------------------------------------------
# next month's audit plan
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class PlanSection(Section):
    """Next month's audit plan (:func:`qa_analysis.sampling.audit_plan`).

    Drawn from the report month's tickets (the latest population, as a
    template for next month's) with seed ``period_seed(seed, <next month>)``.
    """

    window: Window
    plan: pd.DataFrame
    per_agent: int
    note: str = ""

    @property
    def period(self) -> str:
        """The month the plan is for (``"2026-11"``)."""
        return self.window.next_period

    def kpis(self) -> dict[str, Any]:
        """``audit_plan_size``: tickets in the plan."""
        return {"audit_plan_size": len(self.plan)}


def plan_section(d: PerformanceData) -> PlanSection:
    """Draw next month's audit plan (reproducible from the seed)."""
    seed = smp.period_seed(d.seed, d.window.next_period)
    plan, note = _plan(d.tickets, d.plan_per_agent, seed)
    return PlanSection(window=d.window, plan=plan, per_agent=d.plan_per_agent, note=note)


def plan_sentence(s: PlanSection) -> str:
    """Describe next month's audit plan (drawn from the latest month's population)."""
    p = s.plan
    if len(p) == 0:
        return f"No audit plan: {s.note or 'no tickets in the month'}."
    nxt = pd.Period(s.period, freq="M").start_time.strftime("%B %Y")
    return (
        f"The audit sample for {nxt}, **{len(p):,} tickets** for {p['agent_id'].nunique()} "
        f"agents ({s.per_agent} per agent, spread over each agent's channels in proportion "
        f"to volume), is drawn from {s.window.label}'s ticket population, the latest month "
        f"available, as a template for {nxt}'s tickets (same agents and channel mix). It uses "
        f'{nxt}\'s own seed (`period_seed(seed, "{s.period}")`), so it is not the same '
        f"draw as {s.window.label}'s plan, and it is reproducible from the seed. "
        f"{sentence(s.note)}It is written to `audit_plan.csv`."
    )


# ---------------------------------------------------------------------------
# sections registry and KPIs
# ---------------------------------------------------------------------------
#: Every section, in report order: name -> function of :class:`PerformanceData`.
SECTIONS: dict[str, Callable[[PerformanceData], Section]] = {
    "volume": volume_section,
    "targets": targets_section,
    "control": control_section,
    "trend": trend_section,
    "pareto": pareto_section,
    "critical": critical_section,
    "breakdowns": breakdowns_section,
    "agents": agents_section,
    "changes": changes_section,
    "csat": csat_section,
    "plan": plan_section,
}


def all_sections(d: PerformanceData) -> dict[str, Section]:
    """Run every section of :data:`SECTIONS` (name -> result)."""
    return {name: fn(d) for name, fn in SECTIONS.items()}


def performance_kpis(d: PerformanceData, sections: Iterable[Section]) -> dict[str, Any]:
    """Headline KPIs of the performance report (``performance_kpis.json``), from the sections.

    ``region`` and ``period`` come from ``d``; each section adds its own keys
    (``Section.kpis``), and the sections' ``detail`` mappings are merged.

    Raises
    ------
    ValueError
        When two sections set the same key.
    """
    out: dict[str, Any] = {"region": d.region, "period": d.window.period}
    detail: dict[str, Any] = {}
    for s in sections:
        part = dict(s.kpis())
        for k, v in part.pop("detail", {}).items():
            if k in detail:
                raise ValueError(f"KPI detail key {k!r} set by two sections")
            detail[k] = v
        for k, v in part.items():
            if k in out:
                raise ValueError(f"KPI key {k!r} set by two sections")
            out[k] = v
    out["detail"] = detail
    return out
