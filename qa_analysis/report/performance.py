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
breakdowns_section  BreakdownsSection        breakdowns_markdown
agents_section      AgentsSection            agents_markdown, top_bottom
changes_section     ChangesSection           changes_markdown
localise_section    LocaliseSection          localise_markdown
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

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_analysis import compare as cmp
from qa_analysis import findings as fd
from qa_analysis import sampling as smp
from qa_analysis import settings
from qa_analysis import trends as tr
from qa_analysis.escaping import md_escape
from qa_analysis.report import versions as rv
from qa_analysis.report.data import ReportData, Window, in_window, resolve_targets, target_spec
from qa_analysis.report.formatting import (
    KPI_LABELS,
    ShortRepr,
    fmt,
    fmt_ci,
    is_finite,
    json_number,
    sentence,
)
from qa_analysis.report.glossary import (
    plain_funnel,
    plain_limits,
    plain_shape,
    plain_shrunken,
    plain_status,
)
from qa_analysis.scorecard import META_COLUMNS, Scorecard, criterion_rates, score_evaluations

__all__ = [
    "SECTIONS",
    "AgentsSection",
    "BreakdownsSection",
    "ChangesSection",
    "ControlSection",
    "CriticalSection",
    "CsatSection",
    "Headline",
    "LocaliseSection",
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
    "breakdowns_markdown",
    "breakdowns_section",
    "changes_markdown",
    "changes_section",
    "channel_differences",
    "control_markdown",
    "control_section",
    "critical_section",
    "critical_sentence",
    "csat_section",
    "csat_sentence",
    "headline_finding",
    "localise_markdown",
    "localise_section",
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
    "mean_score_ci_low",
    "mean_score_ci_high",
    "passed",
    "pass_rate",
    "pass_rate_ci_low",
    "pass_rate_ci_high",
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
    "shrunk_rate_ci_low",
    "shrunk_rate_ci_high",
    "rank",
    "distinguishable",
    "position",
]


# ---------------------------------------------------------------------------
# the data every section starts from
# ---------------------------------------------------------------------------
def score_window(
    evaluations: pd.DataFrame, scorecard: Scorecard, extra: Sequence[str] = ()
) -> pd.DataFrame:
    """Score evaluations; an empty frame with the scored columns when there are none.

    See :func:`qa_analysis.scorecard.score_evaluations`; ``extra`` breakdown
    columns present in ``evaluations`` are carried over too.

    Examples
    --------
    >>> from qa_analysis.scorecard import Scorecard
    >>> sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [0, 1]}]})
    >>> list(score_window(pd.DataFrame(), sc).columns[-4:])
    ['score', 'passed', 'critical_fail', 'n_applicable']
    """
    if len(evaluations):
        more = [c for c in extra if c in evaluations.columns and c not in META_COLUMNS]
        meta = [*(c for c in META_COLUMNS if c in evaluations.columns), *more] if more else None
        return score_evaluations(evaluations, scorecard, meta=meta)
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


#: The headline KPIs estimated for the region's tickets, and the column each is estimated from.
TICKET_KPIS: dict[str, str] = {
    "pass_rate": "passed",
    "mean_score": "score",
    "critical_rate": "critical_fail",
}


@dataclass(frozen=True, repr=False)
class Headline(ShortRepr):
    """The month's headline figures (scored evaluations only).

    ``pass_rate``, ``mean_score`` and ``critical_rate`` (with ``*_ci_low`` /
    ``*_ci_high``) are estimates for the region's **tickets**
    (:func:`qa_analysis.sampling.ticket_estimate`: each audit weighted by its
    agent x channel ticket volume over its audits, interval clustered by
    agent); ``estimand`` says so in one sentence. The plain averages over
    audits (every audit counts once: Wilson intervals for the rates, a t
    interval for the mean) are ``*_audits``, for comparison. ``n_unscored``
    evaluations (every criterion N/A) are in no figure; ``moe`` is the margin
    of error of the pass rate at p = 0.5 (95%) with the finite-population
    correction when the ticket population is known.
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
    pass_rate_audits: float = float("nan")
    pass_rate_audits_ci_low: float = float("nan")
    pass_rate_audits_ci_high: float = float("nan")
    mean_score_audits: float = float("nan")
    mean_score_audits_ci_low: float = float("nan")
    mean_score_audits_ci_high: float = float("nan")
    critical_rate_audits: float = float("nan")
    critical_rate_audits_ci_low: float = float("nan")
    critical_rate_audits_ci_high: float = float("nan")
    estimand: str = ""
    estimate_method: str = ""
    estimate_note: str = ""
    ticket_level: bool = False

    @property
    def empty(self) -> bool:
        """True when the month has no scored evaluation."""
        return self.n == 0


_NO_TICKETS_ESTIMAND = (
    "No ticket table for the month: the figures are averages over audits (every audit "
    "counts once), with intervals that allow for clustering within agents."
)


def ticket_estimates(scored: pd.DataFrame, tickets: pd.DataFrame) -> dict[str, smp.TicketEstimate]:
    """Pass rate, mean score and critical rate of the month's tickets (:data:`TICKET_KPIS`).

    :func:`qa_analysis.sampling.ticket_estimate` with strata agent x channel
    (the audit plan's strata; agent alone without a ``channel`` column) and
    the ticket volumes of ``tickets``: each audit stands for its stratum's
    tickets over its audits. When the audits followed the plan these are the
    plan's design weights (1 / inclusion probability, the plan drawing a
    simple random sample in each stratum); when planned audits are missing or
    extra ones were done they are the weights adjusted to the audits done.
    Intervals: Taylor linearisation with agents as clusters. Without a ticket
    table every audit gets the same weight (the audit average, still with a
    cluster interval) and ``estimand`` says so.

    Examples
    --------
    >>> scored = pd.DataFrame({"agent_id": ["a"] * 4 + ["b"], "channel": "chat",
    ...     "passed": [1.0, 1, 1, 1, 0], "score": [90.0, 90, 90, 90, 50], "critical_fail": False})
    >>> tickets = pd.DataFrame({"agent_id": ["a"] * 10 + ["b"] * 10, "channel": "chat"})
    >>> est = ticket_estimates(scored, tickets)
    >>> est["pass_rate"].estimate, est["pass_rate"].audit_mean
    (0.5, 0.8)
    """
    strata = [
        c for c in ("agent_id", "channel") if c in scored and (c in tickets or not len(tickets))
    ]
    audits = scored.assign(
        **{col: scored[col].astype(float) for col in TICKET_KPIS.values() if col in scored}
    )
    out = {}
    for kpi, col in TICKET_KPIS.items():
        if len(tickets):
            out[kpi] = smp.ticket_estimate(audits, tickets, value=col, strata=strata)
        else:
            e = smp.ticket_estimate(audits.assign(_w=1.0), value=col, strata=strata, weight="_w")
            out[kpi] = dataclasses.replace(e, estimand=_NO_TICKETS_ESTIMAND)
    return out


@dataclass(frozen=True, repr=False)
class AuditsDue(ShortRepr):
    """Audits per agent measured against the audits due by the end of the data.

    Audits of a ticket come some days after it: at the end of the month the
    audits of its last days' tickets are still to come, so a month's count
    always falls short of a full month's quota. The count here is of the
    audits (scored, done in the month) of the month's tickets; the target is
    pro-rated to the share of the month's tickets whose audit window has
    passed: created at least ``lag_days`` before ``cutoff`` (the last audit
    date in the data), ``lag_days`` being the 95th percentile of the days
    from ticket to audit among the month's audited tickets.

    Without a ticket table (no creation dates) every audit of the month counts
    against the full target (``prorated`` False).
    """

    audits: int
    agents: int
    per_agent: float
    target: float | None
    target_due: float | None
    due_share: float
    lag_days: int
    cutoff: pd.Timestamp | None
    prorated: bool

    def basis(self) -> str:
        """One sentence: what was counted and against which target."""
        if not self.prorated or self.cutoff is None:
            return (
                "every scored audit of the month counts, against the full per-agent target "
                "(no ticket creation dates to tell which audits were due)"
            )
        due = (self.cutoff - pd.Timedelta(days=self.lag_days)).strftime("%d %B")
        return (
            f"audits of the month's tickets only, against the target pro-rated to the "
            f"{fmt(self.due_share, 0, pct=True)} of the month's tickets created by {due}, "
            f"whose audits were due by {self.cutoff.strftime('%d %B')} (95% of audits "
            f"come within {self.lag_days} day(s) of the ticket)"
        )


def audits_due(
    scored_month: pd.DataFrame,
    tickets: pd.DataFrame,
    n_agents: int,
    target: float | None,
    window: Window,
) -> AuditsDue:
    """Audits per agent against the audits due (see :class:`AuditsDue`).

    Examples
    --------
    >>> from qa_analysis.report.data import report_window
    >>> w = report_window("2026-10", 0)
    >>> t = pd.DataFrame({"ticket_id": [f"t{i}" for i in range(31)], "agent_id": "a",
    ...     "created_at": pd.date_range("2026-10-01", periods=31, freq="D")})
    >>> m = pd.DataFrame({"ticket_id": [f"t{i}" for i in range(0, 28, 7)], "agent_id": "a",
    ...     "evaluated_at": pd.date_range("2026-10-03", periods=4, freq="7D")})
    >>> a = audits_due(m, t, 1, 5, w)  # data end 24 Oct, audits 2 days after the ticket
    >>> a.audits, a.lag_days, round(a.due_share * 31), round(a.target_due, 2)
    (4, 2, 22, 3.55)
    """
    tg = None if target is None else float(target)
    if len(tickets) == 0 or "created_at" not in tickets or len(scored_month) == 0:
        n = len(scored_month)
        return AuditsDue(
            audits=n,
            agents=n_agents,
            per_agent=n / n_agents if n_agents else float("nan"),
            target=tg,
            target_due=tg,
            due_share=1.0,
            lag_days=0,
            cutoff=None,
            prorated=False,
        )
    created = pd.Series(
        pd.to_datetime(tickets["created_at"]).to_numpy(), index=pd.Index(tickets["ticket_id"])
    )
    created = created[~created.index.duplicated()]
    pos = created.index.get_indexer_for(scored_month["ticket_id"])
    own = pos >= 0
    ev_at = pd.to_datetime(scored_month["evaluated_at"]).to_numpy()[own]
    delay = (ev_at - created.to_numpy()[pos[own]]) / np.timedelta64(1, "D")
    lag = int(np.ceil(np.quantile(delay, 0.95))) if len(delay) else 0
    lag = max(lag, 0)
    cutoff = min(pd.Timestamp(pd.to_datetime(scored_month["evaluated_at"]).max()), window.end)
    cutoff = cutoff.normalize()
    due_by = cutoff - pd.Timedelta(days=lag)
    share = float((created.dt.normalize() <= due_by).mean()) if len(created) else 1.0
    n_own = int(own.sum())
    return AuditsDue(
        audits=n_own,
        agents=n_agents,
        per_agent=n_own / n_agents if n_agents else float("nan"),
        target=tg,
        target_due=None if tg is None else tg * share,
        due_share=share,
        lag_days=lag,
        cutoff=cutoff,
        prorated=True,
    )


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
    breakdowns_extra: tuple[str, ...] = ()

    @functools.cached_property
    def scores(self) -> pd.DataFrame:
        """Scored evaluations over the window (history and month)."""
        s = score_window(self.evaluations, self.scorecard, self.breakdowns_extra)
        w = self.window
        return in_window(s, "evaluated_at", w.history_start, w.end) if len(s) else s

    @functools.cached_property
    def dims(self) -> list[str]:
        """Breakdown dimensions in the data: market, channel, queue and ``breakdowns_extra``."""
        s = self.scores
        out: list[str] = []
        for c in (*BREAKDOWN_COLUMNS, *self.breakdowns_extra):
            if c not in out and c in s.columns and s[c].notna().any():
                out.append(c)
        return out

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
    def estimates(self) -> dict[str, smp.TicketEstimate]:
        """The month's ticket-level estimates (:func:`ticket_estimates`), by KPI."""
        m = self.scored_month
        audits = m.assign(passed=m["passed"].astype(float)) if len(m) else m
        return ticket_estimates(audits, self.tickets)

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
            mlo, mhi = (
                float(agg["mean_score_ci_low"].iloc[0]),
                float(agg["mean_score_ci_high"].iloc[0]),
            )
        else:
            mean = mlo = mhi = np.nan
        n_agents = len(self.per_agent)
        n_tickets = len(self.tickets) if len(self.tickets) else None
        est = self.estimates if n else {}
        nan = float("nan")

        def part(kpi: str) -> tuple[float, float, float]:
            e = est.get(kpi)
            return (e.estimate, e.ci_low, e.ci_high) if e is not None else (nan, nan, nan)

        pr, mr, cr = part("pass_rate"), part("mean_score"), part("critical_rate")
        # a score interval lies on the score's own 0-100 scale (few agents: a wide t interval)
        mr = (mr[0], *np.clip(np.array(mr[1:], dtype=float), 0.0, 100.0).tolist())
        e0 = est.get("pass_rate")
        return Headline(
            n=n,
            n_unscored=int((~ok).sum()),
            passed=passed,
            pass_rate=pr[0],
            pass_rate_ci_low=pr[1],
            pass_rate_ci_high=pr[2],
            mean_score=mr[0],
            mean_score_ci_low=mr[1],
            mean_score_ci_high=mr[2],
            critical_fails=crit,
            critical_rate=cr[0],
            critical_rate_ci_low=cr[1],
            critical_rate_ci_high=cr[2],
            n_agents=n_agents,
            n_tickets=n_tickets,
            audits_per_agent=n / n_agents if n_agents else np.nan,
            moe=float(_moe(np.array([n]), np.array([n_tickets or 0]))[0]),
            pass_rate_audits=passed / n if n else np.nan,
            pass_rate_audits_ci_low=float(plo),
            pass_rate_audits_ci_high=float(phi),
            mean_score_audits=mean,
            mean_score_audits_ci_low=mlo,
            mean_score_audits_ci_high=mhi,
            critical_rate_audits=crit / n if n else np.nan,
            critical_rate_audits_ci_low=float(clo),
            critical_rate_audits_ci_high=float(chi),
            estimand=e0.estimand if e0 is not None else "",
            estimate_method=e0.method if e0 is not None else "",
            estimate_note=e0.note if e0 is not None else "",
            ticket_level=bool(len(self.tickets)) and e0 is not None,
        )

    @functools.cached_property
    def audits_due(self) -> AuditsDue:
        """Audits per agent against the audits due (:func:`audits_due`)."""
        return audits_due(
            self.scored_month,
            self.tickets,
            len(self.per_agent),
            self.targets.get("audits_per_agent"),
            self.window,
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
    breakdowns_extra: Sequence[str] | None = None,
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
    breakdowns_extra : sequence of str, optional
        Extra breakdown columns scanned by the localisation and segment tests
        besides market, channel and queue (default ``breakdowns_extra`` of
        ``params/defaults.yaml``).

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
        breakdowns_extra=tuple(
            str(c)
            for c in (
                settings.defaults().get("breakdowns_extra") or []
                if breakdowns_extra is None
                else breakdowns_extra
            )
        ),
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
    due: AuditsDue

    def kpis(self) -> dict[str, Any]:
        """Volume KPIs: evaluations, agents, the headline rates, plan completion.

        ``pass_rate``, ``mean_score``, ``critical_rate`` and their
        ``*_ci_low/high`` are the ticket-level estimates (:class:`Headline`);
        ``pass_rate_audits`` (and ``detail.*_audits*``) the plain averages over
        audits. ``audits_per_agent`` counts the audits of the month's tickets
        per agent (:class:`AuditsDue`); ``detail.audits_per_agent_all`` every
        audit of the month.
        """
        h, p, a = self.headline, self.plan, self.due
        return {
            "n_evaluations": int(h.n),
            "n_agents": int(h.n_agents),
            "pass_rate": json_number(h.pass_rate),
            "pass_rate_ci_low": json_number(h.pass_rate_ci_low),
            "pass_rate_ci_high": json_number(h.pass_rate_ci_high),
            "pass_rate_audits": json_number(h.pass_rate_audits),
            "mean_score": json_number(h.mean_score),
            "critical_rate": json_number(h.critical_rate),
            "audits_per_agent": json_number(a.per_agent),
            "plan_completion": json_number(p.completion),
            "n_unscored": int(h.n_unscored),
            "detail": {
                "estimand": h.estimand or None,
                "estimate_method": h.estimate_method or None,
                "ticket_level": bool(h.ticket_level),
                "mean_score_ci_low": json_number(h.mean_score_ci_low),
                "mean_score_ci_high": json_number(h.mean_score_ci_high),
                "critical_rate_ci_low": json_number(h.critical_rate_ci_low),
                "critical_rate_ci_high": json_number(h.critical_rate_ci_high),
                "pass_rate_audits_ci_low": json_number(h.pass_rate_audits_ci_low),
                "pass_rate_audits_ci_high": json_number(h.pass_rate_audits_ci_high),
                "mean_score_audits": json_number(h.mean_score_audits),
                "mean_score_audits_ci_low": json_number(h.mean_score_audits_ci_low),
                "mean_score_audits_ci_high": json_number(h.mean_score_audits_ci_high),
                "critical_rate_audits": json_number(h.critical_rate_audits),
                "critical_rate_audits_ci_low": json_number(h.critical_rate_audits_ci_low),
                "critical_rate_audits_ci_high": json_number(h.critical_rate_audits_ci_high),
                "audits_per_agent_all": json_number(h.audits_per_agent),
                "audits_per_agent_target_due": json_number(a.target_due),
                "audits_due_share": json_number(a.due_share),
                "audit_lag_days": int(a.lag_days),
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
        return plan.table, plan.note
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
        agents_at_target=int((d.per_agent["audits"] >= (d.audits_due.target_due or 0)).sum()),
        plan_per_agent=d.plan_per_agent,
        month_plan=month_plan,
        coverage=cov,
        plan=plan,
        due=d.audits_due,
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
    a = s.due
    txt = (
        f"{h.n_agents} agents had tickets or audits: {fmt(a.per_agent, 1)} scored "
        f"audits per agent on average"
    )
    if a.target is not None:
        due = (
            f"{fmt(a.target_due, 1)} due by the end of the data (a target of {fmt(a.target, 0)} "
            "for the whole month)"
            if a.prorated
            else f"a target of {fmt(a.target, 0)}"
        )
        txt += (
            f" against {due}; {s.agents_at_target} of {h.n_agents} agents reached it. "
            f"Counted: {a.basis()}"
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
    or every week when there is no week before it. The p-chart switches to
    Laney's p' limits when the baseline weeks are overdispersed
    (:func:`qa_analysis.trends.overdispersion`): its ``limits`` column says
    which were used. For both charts a higher value is better, so a signal
    above the centre line is an improvement and one below it an alarm.
    """

    window: Window
    weekly_p: pd.DataFrame
    weekly_score: pd.DataFrame
    month_empty: bool = False
    phase_note: str = ""

    def _month(self, chart: pd.DataFrame) -> pd.DataFrame:
        if len(chart) == 0:
            return chart
        return chart.loc[chart["period"] >= self.window.start]

    @property
    def month_signals(self) -> int:
        """Weeks starting in the report month that break a Western Electric rule."""
        m = self._month(self.weekly_p)
        return int(m["signal"].sum()) if len(m) else 0

    @property
    def month_alarms(self) -> int:
        """Signals of the month below the centre line (the pass rate got worse)."""
        m = self._month(self.weekly_p)
        return int((m["signal"] & (m["value"] < m["center"])).sum()) if len(m) else 0

    @property
    def month_improvements(self) -> int:
        """Signals of the month above the centre line (the pass rate got better)."""
        return self.month_signals - self.month_alarms

    @property
    def limits(self) -> str:
        """``"p'"`` when the p-chart uses Laney's limits, else ``"p"``."""
        p = self.weekly_p
        if len(p) and "limits" in p and (p["limits"] == "p'").any():
            return "p'"
        return "p"

    @property
    def sigma_z(self) -> float:
        """Laney's sigma_z of the p-chart's baseline (NaN without a chart)."""
        p = self.weekly_p
        return float(p["sigma_z"].iloc[0]) if len(p) and "sigma_z" in p else float("nan")

    def kpis(self) -> dict[str, Any]:
        """``n_control_signals``, ``n_control_alarms`` (report month); detail: the rest."""
        return {
            "n_control_signals": self.month_signals,
            "n_control_alarms": self.month_alarms,
            "detail": {
                "control_improvements": self.month_improvements,
                "control_signals_window": int(self.weekly_p["signal"].sum())
                if len(self.weekly_p)
                else 0,
                "control_limits": self.limits,
                "control_sigma_z": json_number(self.sigma_z),
            },
        }


def control_section(d: PerformanceData) -> ControlSection:
    """Weekly control charts (:func:`qa_analysis.trends.control_chart`), weeks starting Monday.

    The p-chart's limits vary with each week's n and are estimated from the
    first half of the history (phase I), so recent weeks are judged against
    the level before them and a shift inside the history is not absorbed
    into the limits. With large weekly volumes the binomial limits are far
    narrower than the real week-to-week variation; when the baseline is
    overdispersed (sigma_z > 1 and the Pearson dispersion test rejects) the
    chart uses Laney's p' limits (``dispersion="auto"``).

    References
    ----------
    .. [1] Montgomery, D. C. (2019). Introduction to Statistical Quality
       Control, 8th ed., Wiley (p chart with variable n, phase I / II).
    .. [2] Laney, D. B. (2002). Improved control charts for attributes.
       Quality Engineering, 14(4), 531-537.
    """
    weekly = d.weekly
    base = d.window.baseline_end
    if base is None or not len(weekly) or not (weekly["period"] < base).any():
        base = None
    breaks = rv.phase_breaks(d.scorecard, d.window)  # scorecard changes: a new phase each
    if len(weekly) and breaks:
        p = rv.phased_control_chart(weekly, breaks, baseline=base, kind="p", dispersion="auto")
        x = rv.phased_control_chart(weekly, breaks, baseline=base, kind="xbar")
    elif len(weekly):
        p = tr.control_chart(weekly, kind="p", baseline=base, dispersion="auto")
        x = tr.control_chart(weekly, kind="xbar", baseline=base)
    else:
        p = x = weekly
    return ControlSection(
        window=d.window,
        weekly_p=p,
        weekly_score=x,
        month_empty=d.headline.empty,
        phase_note=rv.phase_sentence(d.scorecard, d.window) if len(weekly) else "",
    )


def _limits_sentence(s: ControlSection) -> str:
    if s.limits == "p'":
        return (
            f"Week-to-week variation is larger than the binomial model allows (Laney's "
            f"sigma_z = {fmt(s.sigma_z, 2)}, overdispersion test significant), so the "
            "limits are **Laney's p' limits**, the binomial limits widened by sigma_z; "
            "binomial limits would flag weeks that differ only by this ordinary variation. "
        )
    return ""


def _after(lead: str, body: str) -> str:
    """``body`` after ``lead``, lower-cased to continue "In the current phase, "."""
    if lead.endswith(", "):
        return lead + body[0].lower() + body[1:]
    return lead + body


def control_markdown(s: ControlSection) -> str:
    """Control-chart reading: centre line, limits and the signals in the report month.

    Says when Laney's p' limits were used and why; a signal above the centre
    line is an improvement, one below it an alarm, and the two are counted
    apart.
    """
    cc = s.weekly_p
    if len(cc) == 0 or s.month_empty:
        return "No weekly series to chart."
    lead = f"{s.phase_note} " if s.phase_note else ""
    if "phase" in cc and cc["phase"].max() > 0:  # centre line: the report month's phase
        lead += "In the current phase, "
        sig_all = cc.loc[cc["signal"]]
        cc = cc.loc[cc["phase"] == cc["phase"].max()].reset_index(drop=True)
    else:
        sig_all = cc.loc[cc["signal"]]
    base = cc.loc[cc["baseline"]]
    month = cc.loc[cc["period"] >= s.window.start - pd.Timedelta(days=6)]
    month = month.loc[month["period"] <= s.window.end]
    sig = sig_all
    sig_m = month.loc[month["signal"]]
    if len(base) and len(base) < len(cc):
        last = pd.Timestamp(base["period"].max()) + pd.Timedelta(days=6)
        txt = _after(
            lead,
            f"The p-chart's centre line is the pass rate of the {len(base)} baseline weeks up to "
            f"{last.strftime('%d %B %Y')} ({fmt(cc['center'].iloc[0], 1, pct=True)}); later weeks "
            "are judged against it, and the 3-sigma limits widen in weeks with fewer audits. ",
        )
    else:
        txt = _after(
            lead,
            f"The p-chart's centre line is the pass rate over all {len(cc)} weeks "
            f"({fmt(cc['center'].iloc[0], 1, pct=True)}); the 3-sigma limits widen in weeks "
            "with fewer audits. ",
        )
    txt += _limits_sentence(s)
    txt += f"*In plain words:* {plain_limits(s.limits, s.sigma_z)}. "
    if len(sig) == 0:
        txt += "No week breaks a Western Electric rule: the process is in statistical control."
        return txt
    rules = {
        "rule1": "a point beyond 3 sigma",
        "rule2": "2 of 3 beyond 2 sigma",
        "rule3": "4 of 5 beyond 1 sigma",
        "rule4": "8 in a row on one side",
    }
    up = sig["value"] >= sig["center"]
    txt += (
        f"{len(sig)} week(s) signal over the window: {int((~up).sum())} alarm(s) below the "
        f"centre line and {int(up.sum())} improvement(s) above it"
    )
    if len(sig_m):
        kinds = sorted(rules[r] for r in rules if sig_m[r].to_numpy(dtype=bool).any())
        lows = int((sig_m["value"] < sig_m["center"]).sum())
        txt += (
            f"; {len(sig_m)} of them in or at the start of {s.window.label} ({', '.join(kinds)}): "
            f"{lows} alarm(s), {len(sig_m) - lows} improvement(s)"
        )
    first = sig.iloc[0]
    what = "an improvement" if first["value"] >= first["center"] else "an alarm"
    txt += (
        f". The first signal is the week of {pd.Timestamp(first['period']).strftime('%d %B %Y')} "
        f"({fmt(first['value'], 1, pct=True)}, {what})."
    )
    return txt


def _week(label: Any) -> str:
    t = pd.Timestamp(label)
    return f"{t.day} {t.strftime('%b %Y')}"


@dataclass(frozen=True, repr=False)
class TrendSection(Section):
    """How the weekly pass rate and mean score moved over the window: flat, a step or a trend.

    ``pass_steps`` / ``score_steps``: :func:`qa_analysis.trends.change_points`
    of the weekly pass rate (binomial, each week's audits as trials) and mean
    score (weights = audits); ``trend``: Mann-Kendall on the weekly pass rate,
    quoted only when the shape is a monotone ``trend``.
    """

    window: Window
    trend: tr.Trend
    pass_steps: tr.ChangePoints | None = None
    score_steps: tr.ChangePoints | None = None
    phase_start: pd.Timestamp | None = None  # the latest scorecard change in the window

    @property
    def direction(self) -> str | None:
        """``"up"`` / ``"down"`` (the trend, or the latest step), ``"none"`` (flat), None untested."""
        c = self.pass_steps
        if c is None:
            return None
        if c.shape == "step":
            return "up" if c.last_after > c.last_before else "down"
        if c.shape == "trend":
            return "up" if c.slope > 0 else "down"
        return "none" if is_finite(c.p_global) or is_finite(c.slope_p_value) else None

    @property
    def pass_segments(self) -> pd.DataFrame | None:
        """The pass rate's segments when it stepped (for the chart), else None."""
        c = self.pass_steps
        return c.segments if c is not None and c.shape == "step" else None

    @property
    def score_segments(self) -> pd.DataFrame | None:
        """The mean score's segments when it stepped (for the chart), else None."""
        c = self.score_steps
        return c.segments if c is not None and c.shape == "step" else None

    def kpis(self) -> dict[str, Any]:
        """``trend_shape, trend_direction, trend_p, step_week``; detail: levels and slopes."""
        c = self.pass_steps
        step = c if c is not None and c.shape == "step" else None
        return {
            "trend_shape": c.shape if c is not None else None,
            "trend_direction": self.direction,
            "trend_p": json_number(self.trend.p_value),
            "step_week": str(pd.Timestamp(step.last_label).date()) if step else None,
            "detail": {
                "sen_slope_per_week": json_number(self.trend.slope),
                "change_point_p": json_number(c.p_global) if c is not None else None,
                "step_before": json_number(step.last_before) if step else None,
                "step_after": json_number(step.last_after) if step else None,
                "score_shape": self.score_steps.shape if self.score_steps is not None else None,
            },
        }


def trend_section(d: PerformanceData) -> TrendSection:
    """Steps and trends in the weekly pass rate and mean score over the window.

    :func:`qa_analysis.trends.change_points` (exact segmentation, BIC penalty,
    each change confirmed by a Monte Carlo likelihood-ratio test at 5%,
    Holm-adjusted; step vs linear trend by BIC) decides the shape; the
    Mann-Kendall test and Sen's slope are reported for a monotone trend only.

    References
    ----------
    .. [1] Mann, H. B. (1945). Nonparametric tests against trend.
       Econometrica, 13, 245-259.
    .. [2] Killick, R., Fearnhead, P. & Eckley, I. A. (2012). Optimal detection
       of changepoints with a linear computational cost. JASA, 107(500), 1590-1598.
    """
    weekly = d.weekly
    if len(weekly) == 0:
        return TrendSection(window=d.window, trend=tr.mann_kendall([]))
    wk = weekly.loc[weekly["n"] > 0].set_index("period")
    # a scorecard change is a known special cause: look for steps only since the latest one
    phase_start = rv.current_phase_start(d.scorecard, d.window)
    if phase_start is not None:
        wk = wk.loc[pd.to_datetime(wk.index) >= phase_start]
    trend = tr.mann_kendall(wk["pass_rate"].to_numpy(dtype=float))
    n = wk["n"].to_numpy(dtype=float)
    pass_steps = tr.change_points(wk["pass_rate"], n=n, kind="proportion", seed=d.seed)
    score_steps = tr.change_points(wk["mean_score"], n=n, kind="mean", seed=d.seed)
    return TrendSection(
        window=d.window,
        trend=trend,
        pass_steps=pass_steps,
        score_steps=score_steps,
        phase_start=phase_start,
    )


def _steps_phrase(c: tr.ChangePoints, what: str, pct: bool) -> str:
    """``"dropped from 88% to 65% in the week of 3 Aug 2026 and has not recovered"``."""
    seg = c.segments.reset_index(drop=True)
    digits = 0 if pct else 1
    parts = []
    for j in range(1, len(seg)):
        a, b = float(seg["level"].iloc[j - 1]), float(seg["level"].iloc[j])
        verb = "dropped" if b < a else "rose"
        parts.append(
            f"{verb} from {fmt(a, digits, pct=pct)} to {fmt(b, digits, pct=pct)} in the week "
            f"of {_week(seg['start_label'].iloc[j])}"
        )
    txt = f"{what} " + ", then ".join(parts)
    first, last = float(seg["level"].iloc[0]), float(seg["level"].iloc[-1])
    last_down = c.last_after < c.last_before
    if last_down:
        txt += " and has not recovered" if last <= first else " and stayed there"
    else:
        txt += " and has held since"
    p = max(c.p_values) if c.p_values else c.p_global
    return txt + f" (change-point test, p = {p:.2g})"


def _shape_sentence(
    c: tr.ChangePoints | None, t: tr.Trend | None, what: str, pct: bool, span: str
) -> str:
    if c is None:
        return f"No weekly {what.lower()} to test."
    if c.shape == "step":
        return f"Over {span}, the {_steps_phrase(c, what.lower(), pct)}."
    if c.shape == "trend":
        way = "improving" if c.slope > 0 else "declining"
        per = fmt(c.slope * (100 if pct else 1), 2, signed=True)
        unit = "points" if pct else "score points"
        mk = ""
        if t is not None and is_finite(t.p_value):
            mk = f"; Mann-Kendall tau {fmt(t.tau)}, p = {t.p_value:.3g}"
        return (
            f"Over {span}, the {what.lower()} is **{way}** steadily ({per} {unit} per week, "
            f"weighted least squares, p = {c.slope_p_value:.2g}{mk}); no single step "
            "explains it better."
        )
    if not is_finite(c.p_global) and not is_finite(c.slope_p_value):
        return (
            f"Too few weeks to test the {what.lower()} for a change ({c.note or 'too few weeks'})."
        )
    p = f"change-point test p = {c.p_global:.2f}; " if is_finite(c.p_global) else ""
    return (
        f"Over {span}, no step and no trend in the {what.lower()} stand out from week-to-week "
        f"noise ({p}slope p = {fmt(c.slope_p_value, 2)})."
    )


def trend_sentence(s: TrendSection) -> str:
    """A step described as a step, a trend as a trend, and no claim when the series is flat.

    Mann-Kendall is quoted only for a monotone trend; a flat series is
    described as showing no step or trend beyond noise (not as "no change"
    from Mann-Kendall, which is blind to a recent step).
    """
    c = s.pass_steps
    if c is None:
        return f"No trend test: {s.trend.note or 'no weekly data'}."
    n_weeks = int(c.segments["n_points"].sum()) if len(c.segments) else 0
    span = f"{n_weeks} weeks ({s.window.history_label})"
    if s.phase_start is not None:
        since = f"{s.phase_start.day} {s.phase_start.strftime('%B %Y')}"
        span = f"the {n_weeks} weeks since the scorecard change of {since}"
    txt = _shape_sentence(c, s.trend, "Pass rate", True, span)
    p = c.slope_p_value if c.shape == "trend" else c.p_global
    if c.shape == "trend" and is_finite(s.trend.p_value):
        p = s.trend.p_value
    if is_finite(p):
        down = (c.last_after < c.last_before) if c.shape == "step" else c.slope < 0
        txt += f" *In plain words:* {plain_shape(c.shape, p, 'the weekly pass rate', down=down)}."
    if s.score_steps is not None and s.score_steps.shape != "flat":
        txt += " " + _shape_sentence(s.score_steps, None, "Mean score", False, "the same weeks")
    return txt


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
    estimand: str = ""
    due: AuditsDue | None = None

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

    Pass rate, mean score and critical-error rate are the ticket-level
    estimates with their cluster-robust intervals (:class:`Headline`): the
    target asks about the region's tickets, not about its audits. Audits per
    agent counts the audits of the month's tickets against the target
    pro-rated to the audits due (:class:`AuditsDue`).
    """
    h, a = d.headline, d.audits_due
    kp = pd.DataFrame(
        {
            "kpi": ["pass_rate", "mean_score", "critical_rate", "audits_per_agent"],
            "value": [h.pass_rate, h.mean_score, h.critical_rate, a.per_agent],
            "value_ci_low": [
                h.pass_rate_ci_low,
                h.mean_score_ci_low,
                h.critical_rate_ci_low,
                np.nan,
            ],
            "value_ci_high": [
                h.pass_rate_ci_high,
                h.mean_score_ci_high,
                h.critical_rate_ci_high,
                np.nan,
            ],
            "audit_value": [
                h.pass_rate_audits,
                h.mean_score_audits,
                h.critical_rate_audits,
                np.nan,
            ],
        }
    )
    tg = {k: v for k, v in d.targets.items() if k in set(kp["kpi"])}
    if tg.get("audits_per_agent") is not None:
        tg["audits_per_agent"] = a.target_due
    table = cmp.target_status(kp, target_spec(tg))
    table.insert(1, "label", table["kpi"].map(KPI_LABELS))
    return TargetsSection(
        table=table, values=dict(d.targets), empty=h.empty, estimand=h.estimand, due=a
    )


def targets_markdown(s: TargetsSection) -> str:
    """Targets met / missed, with whether the gap is clear of the KPI's uncertainty.

    Starts with the estimand (what the figures stand for: the region's
    tickets); each rate shows the ticket-level estimate with its interval and,
    in brackets, the plain average over audits; audits per agent says what it
    was measured against.
    """
    t = s.table
    if s.empty or len(t) == 0:
        return "No targets assessed: no evaluations this month."
    pct = {"pass_rate", "critical_rate"}
    lines = []
    for r in t.to_dict("records"):
        if r["status"] is pd.NA or r["status"] is None:
            continue
        p = r["kpi"] in pct
        val = fmt_ci(r["value"], r["value_ci_low"], r["value_ci_high"], digits=1, pct=p)
        tgt = fmt(r["target"], 1, pct=p)
        word = "at most" if r["direction"] == "max" else "at least"
        clear = ""
        if r["clear"] is True:
            clear = " (clear: the interval excludes the target)"
        elif r["clear"] is False:
            clear = " (within the noise: the interval includes the target)"
        extra = ""
        if is_finite(r.get("audit_value")):
            extra = f"; average over audits {fmt(r['audit_value'], 1, pct=p)}"
        if r["kpi"] == "audits_per_agent" and s.due is not None and s.due.prorated:
            tgt = f"{tgt} due so far ({fmt(s.due.target, 0)} for the whole month)"
            extra = f"; {s.due.basis()}"
        lines.append(
            f"- {r['label']}: {val} vs target {word} {tgt}: **{r['status']}**{clear}{extra}. "
            f"*In plain words:* {plain_status(r['status'], r['clear'])}."
        )
    met = int((t["status"] == "met").sum())
    missed = int((t["status"] == "missed").sum())
    head = f"{met} target(s) met, {missed} missed."
    if s.estimand:
        head += f" {s.estimand}"
    return head + "\n\n" + "\n".join(lines)


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
    """The month's critical-error rate and its rate by channel, with a test per segment.

    ``channel_test``: each channel against the other channels pooled (Fisher's
    exact test, two-sided), p-values Holm-adjusted across the channels; see
    :func:`channel_differences`. ``findings``: for every breakdown dimension
    (market, channel, queue, extras), :func:`qa_analysis.findings.highest_segment`
    of the critical-error rate (cluster-robust t by agent, Holm over the
    dimension's segments): the sentence names a segment only where it holds.
    """

    headline: Headline
    by_channel: pd.DataFrame
    channel_test: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    findings: tuple[fd.Finding, ...] = ()

    def kpis(self) -> dict[str, Any]:
        """detail: ``critical_highest`` (dimension -> segment, where a segment is higher)."""
        return {
            "detail": {
                "critical_highest": {
                    f.subject: f.segment for f in self.findings if f.holds and f.segment
                }
            }
        }


def channel_differences(
    by_channel: pd.DataFrame, *, events: str = "critical_fails", confidence: float = 0.95
) -> pd.DataFrame:
    """Each channel's rate against the other channels pooled, Holm-adjusted.

    Returns ``channel, n, events, rate, rest_rate, p_value, p_adjusted,
    differs`` (``differs``: adjusted p below ``1 - confidence``). Fisher's
    exact test on the 2 x 2 table (channel vs the rest, event vs none);
    Holm's step-down adjustment controls the family-wise error over the
    channels scanned. Fewer than two channels: an empty table.

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test
       procedure. Scandinavian Journal of Statistics, 6(2), 65-70.

    Examples
    --------
    >>> t = pd.DataFrame({"channel": ["chat", "email", "phone"], "n": [300, 300, 300],
    ...                   "critical_fails": [3, 4, 30]})
    >>> channel_differences(t)[["channel", "rate", "rest_rate", "differs"]].round(3)
      channel   rate  rest_rate  differs
    0   phone  0.100      0.012     True
    1   email  0.013      0.055     True
    2    chat  0.010      0.057     True

    Against the rest, one high channel makes the others low too: the report
    names the higher ones (:func:`critical_sentence`).
    """
    cols = ["channel", "n", "events", "rate", "rest_rate", "p_value", "p_adjusted", "differs"]
    if len(by_channel) < 2:
        return pd.DataFrame(columns=cols)
    from scipy import stats

    n = by_channel["n"].to_numpy(dtype=float)
    x = by_channel[events].to_numpy(dtype=float)
    rest_n, rest_x = n.sum() - n, x.sum() - x
    p = np.array(
        [
            stats.fisher_exact([[xi, ni - xi], [ri, rn - ri]])[1]
            for xi, ni, ri, rn in zip(x, n, rest_x, rest_n, strict=True)
        ]
    )
    adj = tr.holm(p)
    out = pd.DataFrame(
        {
            "channel": by_channel["channel"].to_numpy(),
            "n": n.astype(np.int64),
            "events": x.astype(np.int64),
            "rate": np.where(n > 0, x / np.maximum(n, 1), np.nan),
            "rest_rate": np.where(rest_n > 0, rest_x / np.maximum(rest_n, 1), np.nan),
            "p_value": p,
            "p_adjusted": adj,
            "differs": adj < 1 - confidence,
        }
    )
    return out.sort_values("rate", ascending=False, kind="stable").reset_index(drop=True)


def _segment_findings(d: PerformanceData, metric: fd.Metric, side: str) -> tuple[fd.Finding, ...]:
    m = d.scored_month
    if len(m) == 0:
        return ()
    cluster = "agent_id" if "agent_id" in m and m["agent_id"].notna().all() else None
    return tuple(
        fd.highest_segment(m, by=c, metric=metric, side=side, cluster=cluster)  # type: ignore[arg-type]
        for c in d.dims
        if c in m
    )


def critical_section(d: PerformanceData) -> CriticalSection:
    """Critical errors overall and by segment, each segment tested against the rest."""
    ch = d.breakdowns["channel"]
    return CriticalSection(
        headline=d.headline,
        by_channel=ch,
        channel_test=channel_differences(ch),
        findings=_segment_findings(d, "critical_rate", "highest"),
    )


def _escaped(f: fd.Finding) -> fd.Finding:
    """The finding with its names escaped for Markdown (``rater / criterion`` kept apart)."""
    if f.segment is None:
        return dataclasses.replace(f, subject=md_escape(f.subject))
    seg = " / ".join(md_escape(x) for x in f.segment.split(" / "))
    return dataclasses.replace(f, segment=seg, subject=md_escape(f.subject))


def _segments_text(found: Sequence[fd.Finding], label: str) -> str:
    """The holding findings' sentences, or one plain sentence that nothing differs."""
    hits = [f for f in found if f.holds]
    if not found:
        return ""
    if hits:
        return " ".join(fd.sentence(_escaped(f)) for f in hits) + (
            f" (Each segment against the rest of its dimension: {hits[0].method}.)"
        )
    dims = [md_escape(f.subject) for f in found]
    names = ", ".join(dims[:-1]) + (" or " if len(dims) > 1 else "") + dims[-1]
    meth = found[0].method.split(";")[0]
    return (
        f"No {names} differs from the others in {label} beyond chance this month "
        f"({meth}; Holm over each dimension's segments)."
    )


def critical_sentence(s: CriticalSection) -> str:
    """The critical-error rate for the region's tickets, and a channel only when it differs.

    A market, channel or queue (or extra dimension) is named as higher only
    when :func:`qa_analysis.findings.highest_segment` holds (each segment
    against the rest, cluster-robust t by agent, Holm over the dimension's
    segments); otherwise the sentence says no segment differs beyond chance.
    """
    h = s.headline
    if h.empty:
        return "No critical-error rate: no evaluations this month."
    ci = fmt_ci(
        h.critical_rate, h.critical_rate_ci_low, h.critical_rate_ci_high, digits=1, pct=True
    )
    txt = (
        f"{h.critical_fails} of {h.n:,} audits had a critical error "
        f"({fmt(h.critical_rate_audits, 1, pct=True)} of audits); estimated for the region's "
        f"tickets: {ci}."
    )
    more = _segments_text(s.findings, "critical-error rate")
    return f"{txt} {more}" if more else txt


@dataclass(frozen=True, repr=False)
class BreakdownsSection(Section):
    """The month by market, channel and queue (``tables[column]``).

    ``findings``: per breakdown dimension,
    :func:`qa_analysis.findings.highest_segment` with ``side="lowest"`` of the
    pass rate (cluster-robust t by agent, Holm over the dimension's segments).
    """

    tables: dict[str, pd.DataFrame]
    findings: tuple[fd.Finding, ...] = ()

    def kpis(self) -> dict[str, Any]:
        """detail: ``pass_rate_lowest`` (dimension -> segment, where one is lower)."""
        return {
            "detail": {
                "pass_rate_lowest": {
                    f.subject: f.segment for f in self.findings if f.holds and f.segment
                }
            }
        }


def breakdowns_section(d: PerformanceData) -> BreakdownsSection:
    """Monthly :func:`qa_analysis.trends.aggregate` by market, channel and queue, and tests."""
    return BreakdownsSection(
        tables=dict(d.breakdowns), findings=_segment_findings(d, "pass_rate", "lowest")
    )


def breakdowns_markdown(s: BreakdownsSection) -> str:
    """A segment with a lower pass rate than the rest of its dimension, only where tested so."""
    if not s.findings:
        return "No breakdowns: no evaluations this month."
    return _segments_text(s.findings, "pass rate")


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
    funnel = cmp.funnel(m, unit="agent_id", metric="passed")
    fun = funnel.table
    p0 = float(funnel.target)
    grid = np.unique(np.geomspace(1, max(int(fun["n"].max()) * 1.3, 10), 60).round().astype(int))
    curve = cmp.funnel_limits(p0, grid) if is_finite(p0) else pd.DataFrame()
    fit = cmp.shrink(m, unit="agent_id", metric="passed")
    shr = fit.table.merge(fun[["agent_id", "position"]], on="agent_id", how="left")
    return AgentsSection(
        funnel=fun,
        funnel_curve=curve,
        funnel_target=p0,
        shrunk=shr,
        ranked=bool(fit.distinguishable),
        fitted=fit.fitted,
        overdispersion_p=float(fit.overdispersion_p),
        note=fit.note,
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
    txt += f" *In plain words:* {plain_funnel(below, above, 'agents')}."
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
    sh = s.shrunk
    if len(sh) and sh["shrunk_rate"].notna().any():
        gap = (sh["shrunk_rate"] - sh["raw_rate"]).abs().to_numpy(dtype=float)
        r = sh.iloc[int(np.nanargmax(gap))]
        txt += (
            f" *In plain words* (the agent pulled most, {md_escape(r['agent_id'])}): "
            f"{plain_shrunken(r['raw_rate'], r['shrunk_rate'], int(r['n']))}."
        )
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

    def kpis(self) -> dict[str, Any]:
        """``pass_rate_change`` (points of share, audits; None without a previous month).

        detail: ``pass_rate_change_p`` and ``previous_month`` (``"missing"`` when
        the previous month has no evaluations, so the overview can say so).
        """
        pr = self.pass_rate
        allr = pr.loc[pr["market"] == "All"] if len(pr) else pr
        ch = allr["change"].iloc[0] if len(allr) else None
        has_prev = bool(len(allr)) and int(allr["n_a"].fillna(0).iloc[0]) > 0
        return {
            "pass_rate_change": json_number(ch),
            "detail": {
                "pass_rate_change_p": json_number(allr["p_value"].iloc[0]) if len(allr) else None,
                "previous_month": "present" if has_prev else "missing",
            },
        }


_CHANGE_COLS = [
    "metric",
    "market",
    "n_a",
    "n_b",
    "value_a",
    "value_b",
    "change",
    "change_ci_low",
    "change_ci_high",
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
    differ = rv.same_versions(scores, w)
    if differ:  # different scorecard versions: no like-for-like comparison
        row = dict.fromkeys(_CHANGE_COLS, np.nan) | {"market": "All", "note": differ}
        t = pd.DataFrame([{**row, "metric": m} for m in ("pass_rate", "score")])
        return ChangesSection(window=w, table=t[_CHANGE_COLS])
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
        f"[{fmt(allr['change_ci_low'] * 100, 1, signed=True)}, {fmt(allr['change_ci_high'] * 100, 1, signed=True)}], "
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


# ---------------------------------------------------------------------------
# where a change is: localisation over every breakdown dimension
# ---------------------------------------------------------------------------
_LOC_METRICS: tuple[fd.Metric, ...] = ("pass_rate", "critical_rate", "mean_score")
_LOC_CONFIDENCE = 0.95
_LOC_LABEL = {
    "pass_rate": "pass rate",
    "critical_rate": "critical-error rate",
    "mean_score": "mean score",
}


@dataclass(frozen=True, repr=False)
class LocaliseSection(Section):
    """Which segment carries the region's change: month over month and within the window.

    ``changes``: :func:`qa_analysis.findings.localise_change` of the pass
    rate, critical-error rate and mean score, previous month vs the report
    month (cluster-robust t by agent per segment, Holm over every segment of
    every dimension scanned); empty without a previous month. The scans of
    one region (three changes, two within-window series) share a 5% family-wise
    level: each runs at 5% / number of scans (Bonferroni), so a null region
    claims a confined change at most 5% of the time.
    ``trends``: :func:`qa_analysis.findings.localise_trend` of the weekly
    pass rate and mean score over the window (not the critical-error rate:
    its weekly series per segment are mostly zeros) with
    :func:`qa_analysis.findings.step_or_trend_test` (a step or a monotone
    trend, Bonferroni over the two tests). ``steps``: for each segment a
    trend is confined to (key ``"metric|dimension|segment"``), the change
    points of its weekly series (:func:`qa_analysis.trends.change_points`),
    which give the step's week. ``dims``: the dimensions scanned.
    """

    window: Window
    dims: tuple[str, ...]
    changes: dict[str, fd.Localisation]
    trends: dict[str, fd.Localisation]
    steps: dict[str, tr.ChangePoints] = dataclasses.field(default_factory=dict)

    def ordered(self) -> list[tuple[str, fd.Finding]]:
        """``("trend" | "change", finding)`` for every confined finding, most telling first.

        Steps and trends within the window before month-over-month changes;
        pass rate, then critical-error rate, then mean score; smaller
        adjusted p first.
        """
        out = []
        for how, locs in (("trend", self.trends), ("change", self.changes)):
            for metric in _LOC_METRICS:
                loc = locs.get(metric)
                if loc is not None:
                    out += [(how, f) for f in sorted(loc.findings, key=lambda f: f.p_adjusted)]
        return out

    def sentences(self, *, markdown: bool = True) -> list[str]:
        """One sentence per confined finding (names escaped for Markdown when ``markdown``)."""
        return [self._sentence(how, f, markdown) for how, f in self.ordered()]

    def _sentence(self, how: str, f: fd.Finding, markdown: bool) -> str:
        dim = md_escape(f.subject) if markdown else f.subject
        seg = md_escape(f.segment) if markdown else str(f.segment)
        if markdown:
            seg = f"*{seg}*"
        label = _LOC_LABEL.get(f.metric, f.metric)
        pct = f.metric != "mean_score"
        digits = 0 if pct else 1
        others = f"other {dim} segments are flat"
        p = f"adjusted p = {f.p_adjusted:.2g}"
        if how == "change":
            move = "rise" if f.estimate > f.reference else "decline"
            prev = self.window.prev_start.strftime("%B")
            return (
                f"The {move} in {label} since {prev} is in {dim} {seg} "
                f"({fmt(f.reference, digits, pct=pct)} to {fmt(f.estimate, digits, pct=pct)}); "
                f"{others} ({p}; {f.method})."
            )
        cp = self.steps.get(f"{f.metric}|{f.subject}|{f.segment}")
        if cp is not None and cp.shape == "step":
            before, after = cp.last_before, cp.last_after
            move = "rise" if after > before else "decline"
            what = (
                f"({fmt(before, digits, pct=pct)} to {fmt(after, digits, pct=pct)} since the "
                f"week of {_week(cp.last_label)})"
            )
        else:
            move = "rise" if f.estimate > f.reference else "decline"
            way = "steadily " if cp is not None and cp.shape == "trend" else ""
            what = (
                f"(moving {way}from {fmt(f.reference, digits, pct=pct)} to "
                f"{fmt(f.estimate, digits, pct=pct)} over {self.window.history_label})"
            )
        return f"The {move} in {label} is in {dim} {seg} {what}; {others} ({p}; {f.method})."

    def kpis(self) -> dict[str, Any]:
        """``localised_finding``, ``localised_segment``; detail: every localised sentence.

        ``localised_finding`` is the most telling confined change in one plain
        sentence (None when no change is confined to a segment), and
        ``localised_segment`` its ``"dimension segment"``; ``localised_step_week``
        the week its step started (None unless a step); detail
        ``localised_findings`` lists every sentence and ``localised_dims`` the
        dimensions scanned.
        """
        found = self.ordered()
        plain = self.sentences(markdown=False)
        week = None
        if found:
            how, f = found[0]
            cp = self.steps.get(f"{f.metric}|{f.subject}|{f.segment}")
            if how == "trend" and cp is not None and cp.shape == "step":
                week = str(pd.Timestamp(cp.last_label).date())
        return {
            "localised_finding": plain[0] if plain else None,
            "localised_segment": f"{found[0][1].subject} {found[0][1].segment}" if found else None,
            "localised_step_week": week,
            "detail": {"localised_findings": plain, "localised_dims": list(self.dims)},
        }


def localise_section(d: PerformanceData) -> LocaliseSection:
    """Scan every breakdown dimension for the segment that carries the region's change.

    See :class:`LocaliseSection`. The dimensions are market, channel, queue
    and the ``breakdowns_extra`` columns present in the data.

    References
    ----------
    .. [1] Benjamini, Y., & Hochberg, Y. (1995). Controlling the false
       discovery rate. JRSS B, 57(1), 289-300.
    .. [2] Killick, R., Fearnhead, P. & Eckley, I. A. (2012). Optimal detection
       of changepoints with a linear computational cost. JASA, 107(500), 1590-1598.
    """
    w, dims = d.window, d.dims
    scores = d.scores
    if len(scores):
        scores = scores.loc[scores["score"].notna()]
    empty = LocaliseSection(window=w, dims=tuple(dims), changes={}, trends={})
    if len(scores) == 0 or not dims:
        return empty
    cluster = "agent_id" if "agent_id" in scores and scores["agent_id"].notna().all() else None
    day = pd.to_datetime(scores["evaluated_at"]).dt.normalize()
    has_a = bool(((day >= w.prev_start) & (day <= w.prev_end)).any())
    has_b = bool(((day >= w.start) & (day <= w.end)).any())
    changes: dict[str, fd.Localisation] = {}
    trends: dict[str, fd.Localisation] = {}
    steps: dict[str, tr.ChangePoints] = {}
    # one family per region: Holm within each scan, Bonferroni across the scans run
    n_scans = (len(_LOC_METRICS) if has_a and has_b else 0) + 2
    conf = 1 - (1 - _LOC_CONFIDENCE) / n_scans
    for metric in _LOC_METRICS:
        if has_a and has_b:
            changes[metric] = fd.localise_change(
                scores,
                period_a=(w.prev_start, w.prev_end),
                period_b=(w.start, w.end),
                dims=dims,
                metric=metric,
                cluster=cluster,
                confidence=conf,
                correction="holm",
            )
        # weekly critical-rate series of a segment are mostly zeros from a handful of audits:
        # series tests that ignore the counts are not valid there (month-over-month only)
        if metric != "critical_rate" and day.dt.to_period("W").nunique() >= 4:
            loc = fd.localise_trend(
                scores,
                dims=dims,
                metric=metric,
                test=fd.step_or_trend_test,
                confidence=conf,
                correction="holm",
            )
            trends[metric] = loc
            for f in loc.findings:
                sub = scores.loc[scores[f.subject].astype(str) == f.segment]
                wk = tr.aggregate(sub, freq="W")
                wk = wk.loc[wk["n"] > 0].set_index("period")
                kind: Literal["mean", "proportion"] = (
                    "mean" if metric == "mean_score" else "proportion"
                )
                steps[f"{metric}|{f.subject}|{f.segment}"] = tr.change_points(
                    wk[metric], n=wk["n"].to_numpy(dtype=float), kind=kind, seed=d.seed
                )
    return LocaliseSection(window=w, dims=tuple(dims), changes=changes, trends=trends, steps=steps)


def localise_markdown(s: LocaliseSection) -> str:
    """Name the segment a change is confined to, in words; say plainly when none is."""
    if not s.changes and not s.trends:
        return "No localisation: too little data in the window."
    lines = s.sentences()
    dims = [md_escape(x) for x in s.dims]
    names = ", ".join(dims[:-1]) + (" or " if len(dims) > 1 else "") + dims[-1]
    all_names = ", ".join(dims[:-1]) + (" and " if len(dims) > 1 else "") + dims[-1]
    scanned = (
        f"Scanned: every segment of {all_names}, for the pass rate, the critical-error rate and "
        "the mean score"
    )
    if not lines:
        return (
            f"No change in pass rate, critical-error rate or mean score is confined to one "
            f"segment of {names} beyond chance, month over month or within the window "
            f"({s.window.history_label}). {scanned}."
        )
    return "\n".join(f"- {x}" for x in lines) + f"\n\n{scanned}."


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
        cols = ["channel", "n", "rho", "rho_ci_low", "rho_ci_high", "p_value", "note"]
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
    clear = r["rho"] > 0 and is_finite(r["rho_ci_low"]) and r["rho_ci_low"] > 0
    return (
        f"On {int(r['n']):,} evaluated tickets with a CSAT answer ({s.window.history_label}), "
        f"QA score and CSAT have a {strength} {sign} rank correlation: Spearman's rho "
        f"{fmt_ci(r['rho'], r['rho_ci_low'], r['rho_ci_high'])}. "
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
    "localise": localise_section,
    "csat": csat_section,
    "plan": plan_section,
}


def headline_finding(sections: Iterable[Section]) -> str | None:
    """The region's most important tested finding, in one plain sentence (None if none holds).

    Priority: a target missed clearly (the interval excludes the target) >
    a change confined to one segment (:class:`LocaliseSection`, which names
    the segment and, for a step, its week) > a step or trend in the region's
    weekly pass rate (:class:`TrendSection`) > a segment whose critical-error
    rate is higher, or pass rate lower, than the rest of its dimension
    (:class:`CriticalSection`, :class:`BreakdownsSection`). Plain text: no
    Markdown, names as they are.
    """
    by_type = {type(s): s for s in sections}
    t = by_type.get(TargetsSection)
    if isinstance(t, TargetsSection) and len(t.table) and not t.empty:
        for r in t.table.to_dict("records"):
            if r["status"] == "missed" and r["clear"] is True and r["kpi"] != "audits_per_agent":
                p = r["kpi"] in ("pass_rate", "critical_rate")
                word = "at most" if r["direction"] == "max" else "at least"
                return (
                    f"{r['label']} missed its target: "
                    f"{fmt_ci(r['value'], r['value_ci_low'], r['value_ci_high'], digits=1, pct=p)}"
                    f" against {word} {fmt(r['target'], 1, pct=p)} (the interval excludes the "
                    "target)."
                )
    loc = by_type.get(LocaliseSection)
    if isinstance(loc, LocaliseSection):
        plain = loc.sentences(markdown=False)
        if plain:
            return plain[0]
    tr_s = by_type.get(TrendSection)
    if isinstance(tr_s, TrendSection) and tr_s.pass_steps is not None:
        c = tr_s.pass_steps
        if c.shape == "step":
            return f"The {_steps_phrase(c, 'weekly pass rate', True)}."
        if c.shape == "trend":
            way = "improving" if c.slope > 0 else "declining"
            return (
                f"The weekly pass rate is {way} steadily "
                f"({fmt(c.slope * 100, 2, signed=True)} points per week, p = "
                f"{c.slope_p_value:.2g})."
            )
    for cls in (CriticalSection, BreakdownsSection):
        sec = by_type.get(cls)
        found = getattr(sec, "findings", ()) if sec is not None else ()
        for f in found:
            if f.holds:
                return fd.sentence(f)
    return None


def all_sections(d: PerformanceData) -> dict[str, Section]:
    """Run every section of :data:`SECTIONS` (name -> result)."""
    return {name: fn(d) for name, fn in SECTIONS.items()}


def performance_kpis(
    d: PerformanceData,
    sections: Iterable[Section],
    *,
    data: ReportData | None = None,
) -> dict[str, Any]:
    """Headline KPIs of the performance report (``performance_kpis.json``), from the sections.

    ``region`` and ``period`` come from ``d``; each section adds its own keys
    (``Section.kpis``), and the sections' ``detail`` mappings are merged.
    ``headline_finding`` (:func:`headline_finding`) is the region's most
    important tested finding in one plain sentence, absent when none holds.
    With ``data`` (the loaded :class:`~qa_analysis.report.data.ReportData`)
    the file also says whether ids were pseudonymised and with which key
    (:meth:`~qa_analysis.report.data.ReportData.privacy_kpis`).

    Raises
    ------
    ValueError
        When two sections set the same key.
    """
    sections = list(sections)
    out: dict[str, Any] = {"region": d.region, "period": d.window.period}
    if data is not None:
        out.update(data.privacy_kpis())
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
    headline = headline_finding(sections)
    if headline is not None:
        out["headline_finding"] = headline
    return out
