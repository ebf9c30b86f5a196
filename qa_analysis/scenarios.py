"""Synthetic QA data with planted effects of a chosen size and place, and null scenarios.

:func:`scenario` builds the three long tables the reports read (production
evaluations, calibration ratings, ticket population) for a few regions and
months, with any number of :class:`Effect` objects planted where you choose,
and returns what was planted together with the ticket-level truth. Without
effects it is a *null scenario*: only sampling and rating noise. Claim
functions (:mod:`qa_analysis.findings`) are tested on both: they must find the
planted effects (power) and stay silent on null scenarios (false alarms).

The generative model follows :mod:`qa_analysis.demo` (same regions, markets,
channels, queues, scorecard and per-criterion score model) but is
parameterised by size and location instead of fixed, and is fully vectorised.

Model
-----
Every ticket has a latent quality ``q = agent skill + N(0, 1) + effects``
(skill ~ N(0, 0.5)). Each ticket's criterion scores are drawn once, from
``q``, as in the demo: 1-5 items ``round(4.3 + 0.7 q + N(0, 0.6))``, binary
items pass with probability ``logistic(3.4 + 1.2 q)``, critical items fail
with probability ``1 - logistic(5 + 0.8 q - log(OR))`` (OR = 1 unless a
``critical`` effect applies), criteria that allow N/A are empty 15% of the
time. An audit reads the ticket's scores, so the pass rate of *all* tickets
(the population the targets are about, returned in ``Scenario.truth``) and of
the audited tickets differ only by which tickets were audited. Audits: a
simple random sample of ``audits_per_agent`` of each agent's tickets each
month. Calibration: a session every 14 days per region (first one on the
window's first Thursday) on ``tickets_per_session`` of the region's tickets of
the previous fortnight; each specialist and the expert ``<REGION>-X01`` rate
every criterion; a ticket x criterion has a latent value ``z = 0.6 q +
N(0, 0.9)``, a rater reports ``z + N(0, sd)`` (sd 0.35, expert 0.2) mapped onto
the scale (binary: pass above -0.3, critical above -0.5; 1-5: ``round(3.5 +
value)``).

Examples
--------
>>> from qa_analysis.scenarios import Effect, scenario
>>> s = scenario([Effect("rater_bias", region="EU", criterion="resolution", size=0.25)],
...              seed=1, regions=["EU", "NA"], months=2, agents=8)
>>> s.effects[0].rater_id, sorted(s.evaluations["region"].unique())
('EU-S01', ['EU', 'NA'])
>>> s.truth.columns.tolist()[:4]
['region', 'month', 'n_tickets', 'pass_rate']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

import numpy as np
import pandas as pd

from qa_analysis import demo, settings
from qa_analysis.scorecard import Scorecard, score_evaluations

__all__ = ["AUDIT_RANGE", "Effect", "EffectKind", "Scenario", "scenario"]

EffectKind = Literal[
    "rater_bias",
    "ambiguous",
    "trend",
    "step",
    "critical",
    "calibration_collapse",
    "uneven_audits",
    "missing",
]

#: Fewest and most audits per agent in a month under an ``uneven_audits`` effect.
AUDIT_RANGE = (1, 30)

_SPECIALIST_SD = 0.35
_EXPERT_SD = 0.2
_QUEUE_SHARES = (0.3, 0.35, 0.2, 0.15)


@dataclass(frozen=True)
class Effect:
    """One planted effect: its kind, size and location.

    Parameters
    ----------
    kind : {"rater_bias", "trend", "step", "critical", "calibration_collapse", \
"uneven_audits", "missing"}
        * ``rater_bias``: specialist ``rater_id`` (default ``<region>-S01``)
          rates ``criterion`` ``size`` x the criterion's scale range higher
          (negative: lower) than they otherwise would, in calibration, on that
          criterion only. On a binary criterion this is exact in expectation
          (fails turned into passes, or the reverse, with the probability that
          gives the size); on a 1-5 criterion the latent value is shifted by
          ``size`` x range scale points, so piling at the scale end makes the
          realised bias a little smaller.
        * ``ambiguous``: every rater's rating noise on ``criterion`` gains an
          extra ``N(0, size)`` (latent units) in calibration, so the criterion
          has the lowest agreement (the demo plants 2.4 on empathy).
        * ``trend``: ticket quality changes linearly by ``size`` latent units
          (negative = decline) from ``start`` (default: the window's start) to
          the window's end, in ``region`` and, when given, only in segment
          ``segment`` of column ``dimension`` (e.g. ``queue``).
        * ``step``: ticket quality shifts by ``size`` latent units from
          ``start`` on (a step), in the region or one of its segments. A shift
          of -0.8 lowers the pass rate by about 20 points.
        * ``critical``: the odds of a critical fail are multiplied by ``size``
          in segment ``segment`` of ``dimension`` (default ``market``).
        * ``calibration_collapse``: in the region's last ``sessions``
          calibration sessions the specialists' rating noise gains an extra
          ``N(0, size)`` (latent units; 2 takes alpha from about 0.8 to 0.2).
        * ``uneven_audits``: each agent gets between 1 and 30 audits a month
          (:data:`AUDIT_RANGE`), and the latent correlation between the
          agent's skill and the audit count is ``size`` (in [-1, 1]), so the
          audit-weighted pass rate differs from the tickets' pass rate.
        * ``missing``: the region has no rows in ``table`` (``calibration``,
          ``evaluations`` or ``tickets``) in month ``start`` (default: the
          last month). ``size`` is ignored.
    region : str
        Where the effect is planted.
    size : float
        Its size, in the unit of the kind (above).
    dimension, segment : str, optional
        The segment (a column of the tables and its value) the effect is
        confined to.
    rater_id, criterion : str, optional
        For ``rater_bias``.
    start : str, optional
        A date (``trend``, ``step``) or a month ``YYYY-MM`` (``missing``).
    sessions : int
        For ``calibration_collapse``: how many of the last sessions.
    table : str
        For ``missing``.
    """

    kind: EffectKind
    region: str
    size: float = 0.0
    dimension: str | None = None
    segment: str | None = None
    rater_id: str | None = None
    criterion: str | None = None
    start: str | None = None
    sessions: int = 2
    table: Literal["calibration", "evaluations", "tickets"] = "calibration"


@dataclass(frozen=True)
class Scenario:
    """The generated tables, the effects planted (with defaults filled in) and the truth.

    Attributes
    ----------
    evaluations : DataFrame
        One row per evaluation x criterion: ``evaluation_id, ticket_id,
        agent_id, reviewer_id, region, market, channel, queue, <extra dims>,
        evaluated_at, csat, criterion, score``.
    calibration : DataFrame
        One row per session x ticket x rater x criterion: ``session_id,
        session_date, region, ticket_id, rater_id, role, criterion, score``
        (role ``specialist`` or ``expert``).
    tickets : DataFrame
        One row per ticket: ``ticket_id, agent_id, region, market, channel,
        queue, <extra dims>, created_at, csat``.
    scorecard : Scorecard
    effects : tuple of Effect
        As planted, with defaults resolved (rater id, start, segment dimension).
    truth : DataFrame
        Per region x month, over *all* tickets (audited or not): ``region,
        month, n_tickets, pass_rate, mean_score, critical_rate``, and over the
        audited ones ``n_audits, audit_pass_rate``.
    """

    evaluations: pd.DataFrame
    calibration: pd.DataFrame
    tickets: pd.DataFrame
    scorecard: Scorecard
    effects: tuple[Effect, ...] = ()
    truth: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)

    def __repr__(self) -> str:
        planted = ", ".join(f"{e.kind}@{e.region}" for e in self.effects) or "none (null)"
        return (
            f"Scenario({self.evaluations['evaluation_id'].nunique():,} evaluations, "
            f"{len(self.calibration):,} calibration ratings, {len(self.tickets):,} tickets; "
            f"planted: {planted})"
        )


def _rng(seed: int | np.random.Generator | None) -> list[np.random.Generator]:
    base = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return list(base.spawn(4))


def _regions(regions: Mapping[str, Sequence[str]] | Sequence[str] | None) -> dict[str, list[str]]:
    if regions is None:
        return {r: list(m) for r, m in demo.REGIONS.items()}
    if isinstance(regions, Mapping):
        return {str(r): [str(x) for x in m] for r, m in regions.items()}
    out = {}
    for r in regions:
        if r not in demo.REGIONS:
            raise ValueError(
                f"region {r!r} has no default markets; pass regions as a mapping region -> markets"
            )
        out[r] = list(demo.REGIONS[r])
    return out


def _resolve(
    effects: Sequence[Effect], regions: dict[str, list[str]], months: pd.PeriodIndex, sc: Scorecard
) -> tuple[Effect, ...]:
    out = []
    kinds = get_args(EffectKind)
    for e in effects:
        if not isinstance(e, Effect):
            raise TypeError(f"effects must be Effect objects, got {type(e).__name__}")
        if e.kind not in kinds:
            raise ValueError(f"unknown effect kind {e.kind!r}; one of {kinds}")
        if e.region not in regions:
            raise ValueError(
                f"effect {e.kind!r}: region {e.region!r} is not one of {list(regions)}"
            )
        if e.kind in ("rater_bias", "ambiguous") and e.criterion not in sc:
            raise ValueError(f"{e.kind}: criterion {e.criterion!r} is not in the scorecard")
        if e.kind == "rater_bias":
            e = replace(e, rater_id=e.rater_id or f"{e.region}-S01")
        elif e.kind in ("trend", "step"):
            e = replace(e, start=str(pd.Timestamp(e.start or months[0].start_time).date()))
            if (e.dimension is None) != (e.segment is None):
                raise ValueError(f"{e.kind}: give both dimension and segment, or neither")
        elif e.kind == "critical":
            if e.segment is None:
                raise ValueError("critical: give the segment (e.g. a market) the errors are in")
            if e.size <= 0:
                raise ValueError("critical: size is an odds ratio, > 0")
            e = replace(e, dimension=e.dimension or "market")
        elif e.kind == "uneven_audits":
            if not -1 <= e.size <= 1:
                raise ValueError("uneven_audits: size is a correlation in [-1, 1]")
        elif e.kind == "missing":
            e = replace(e, start=e.start or str(months[-1]))
        out.append(e)
    return tuple(out)


def scenario(
    effects: Sequence[Effect] = (),
    *,
    seed: int | np.random.Generator | None = None,
    regions: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    months: int | Sequence[str] = 3,
    end: str = "2026-10",
    agents: int | Mapping[str, int] = 30,
    specialists: int = 4,
    tickets_per_agent: int = 40,
    audits_per_agent: int = 5,
    tickets_per_session: int = 10,
    extra_dims: Mapping[str, Sequence[str]] | None = None,
    scorecard: Scorecard | None = None,
) -> Scenario:
    """Generate evaluations, calibration and tickets with planted effects (or none).

    Parameters
    ----------
    effects : sequence of Effect
        What to plant; empty for a null scenario.
    seed : int, Generator or None
        Same seed, same tables.
    regions : sequence of str or mapping region -> markets, optional
        Default: the demo's five regions and their markets.
    months : int or sequence of str
        Number of months ending with ``end``, or the months themselves (``YYYY-MM``).
    end : str
        Last month when ``months`` is a number.
    agents : int or mapping region -> int
        Agents per region (e.g. ``{"EU": 4500}`` for a large region).
    specialists : int
        Specialists per region (plus one expert).
    tickets_per_agent : int
        Mean tickets per agent per month (Poisson, at least 1).
    audits_per_agent : int
        Audits per agent per month (at most the agent's tickets).
    tickets_per_session : int
        Tickets per calibration session.
    extra_dims : mapping column -> values, optional
        Extra breakdown columns on tickets and evaluations, each value equally
        likely (e.g. ``{"product": ["app", "web"]}``).
    scorecard : Scorecard, optional
        Default: the first version of the packaged ``params/scorecard.yaml`` (the
        demo's 12-criterion rubric; a scenario uses one rubric throughout).

    Returns
    -------
    Scenario

    Notes
    -----
    The model is described in the module docstring. Random streams for people,
    tickets, audits and calibration are spawned from ``seed`` separately.

    References
    ----------
    .. [1] Morris, T. P., White, I. R., & Crowther, M. J. (2019). Using
       simulation studies to evaluate statistical methods. *Statistics in
       Medicine* 38(11), 2074-2102 (planted effects, power and false-alarm
       rates over seeds).

    Examples
    --------
    >>> s = scenario(seed=3, regions=["NA"], months=1, agents=5)
    >>> s.effects, s.calibration["role"].unique().tolist()
    ((), ['specialist', 'expert'])
    """
    # one rubric for the whole scenario: the packaged scorecard's first version
    sc = (
        scorecard
        or Scorecard.from_yaml(settings.resource_path("params", "scorecard.yaml")).versions[0]
    )
    regs = _regions(regions)
    if isinstance(months, int):
        if months < 1:
            raise ValueError("months must be at least 1")
        periods = pd.period_range(end=end, periods=months, freq="M")
    else:
        periods = pd.PeriodIndex([pd.Period(m, freq="M") for m in months])
    extra = {str(k): [str(x) for x in v] for k, v in (extra_dims or {}).items()}
    planted = _resolve(effects, regs, periods, sc)
    rng_people, rng_tickets, rng_audit, rng_cal = _rng(seed)

    agent_tab = _agents(rng_people, regs, agents, planted)
    tickets, q, skill = _tickets(rng_tickets, agent_tab, periods, tickets_per_agent, extra, planted)
    scores = _criterion_scores(rng_tickets, sc, tickets, q, planted)
    audited = _audits(rng_audit, tickets, agent_tab, skill, audits_per_agent, planted)
    evaluations = _evaluations(rng_audit, sc, tickets, scores, audited, agent_tab, specialists)
    calibration = _calibration(
        rng_cal, sc, regs, tickets, q, periods, specialists, tickets_per_session, planted
    )
    truth = _truth(sc, tickets, scores, audited)
    for e in planted:
        if e.kind != "missing":
            continue
        tab = {"calibration": calibration, "evaluations": evaluations, "tickets": tickets}[e.table]
        col = {"calibration": "session_date", "evaluations": "evaluated_at"}.get(
            e.table, "created_at"
        )
        drop = (tab["region"] == e.region) & (tab[col].dt.to_period("M") == pd.Period(e.start))
        tab = tab.loc[~drop].reset_index(drop=True)
        if e.table == "calibration":
            calibration = tab
        elif e.table == "evaluations":
            evaluations = tab
        else:
            tickets = tab
    return Scenario(evaluations, calibration, tickets, sc, planted, truth)


# ---------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------
def _agents(
    rng: np.random.Generator,
    regs: dict[str, list[str]],
    agents: int | Mapping[str, int],
    planted: tuple[Effect, ...],
) -> pd.DataFrame:
    n = np.array([agents.get(r, 30) if isinstance(agents, Mapping) else agents for r in regs])
    if (n < 1).any():
        raise ValueError("every region needs at least one agent")
    region = np.repeat(np.array(list(regs), dtype=object), n)
    local = np.concatenate([np.arange(1, k + 1) for k in n])
    width = max(3, len(str(int(n.max()))))
    market = np.empty(len(region), dtype=object)
    for r, markets in regs.items():  # a handful of regions
        m = region == r
        market[m] = rng.choice(np.array(markets, dtype=object), size=int(m.sum()))
    mix = rng.dirichlet([4, 3, 2], size=len(region))
    skill = rng.normal(0.0, 0.5, len(region))
    corr = np.zeros(len(region))
    for e in planted:
        if e.kind == "uneven_audits":
            corr[region == e.region] = e.size
    e_noise = rng.normal(0.0, 1.0, len(region))
    latent = corr * skill / 0.5 + np.sqrt(1 - corr**2) * e_noise
    lo, hi = AUDIT_RANGE
    from scipy.stats import norm

    uneven = np.zeros(len(region), dtype=bool)
    for e in planted:
        if e.kind == "uneven_audits":
            uneven |= region == e.region
    audits = np.where(uneven, lo + np.floor((hi - lo + 1) * norm.cdf(latent)).clip(0, hi - lo), -1)
    return pd.DataFrame(
        {
            "agent_id": [f"{r}-A{i:0{width}d}" for r, i in zip(region, local, strict=True)],
            "region": region,
            "market": market,
            "skill": skill,
            "p_chat": mix[:, 0],
            "p_email": mix[:, 1],
            "audits": audits.astype(np.int64),
        }
    )


def _segment_mask(tickets: pd.DataFrame, e: Effect) -> np.ndarray:
    m = (tickets["region"] == e.region).to_numpy().copy()
    if e.dimension is not None:
        if e.dimension not in tickets.columns:
            raise ValueError(f"{e.kind}: dimension {e.dimension!r} is not a column of the tables")
        m &= (tickets[e.dimension].astype(str) == str(e.segment)).to_numpy()
    return m


def _tickets(
    rng: np.random.Generator,
    agents: pd.DataFrame,
    months: pd.PeriodIndex,
    per_month: int,
    extra: dict[str, list[str]],
    planted: tuple[Effect, ...],
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    n_agents, n_months = len(agents), len(months)
    counts = rng.poisson(per_month, size=(n_agents, n_months)).clip(min=1)
    total = int(counts.sum())
    agent_idx = np.repeat(np.repeat(np.arange(n_agents), n_months), counts.ravel())
    month_idx = np.repeat(np.tile(np.arange(n_months), n_agents), counts.ravel())
    starts = months.start_time.to_numpy()[month_idx]
    span = (months.end_time.to_numpy() - months.start_time.to_numpy()).astype("timedelta64[s]")
    secs = (rng.random(total) * span.astype(np.int64)[month_idx]).astype("timedelta64[s]")
    created = (starts + secs).astype("datetime64[ns]")
    u = rng.random(total)
    p = agents[["p_chat", "p_email"]].to_numpy()[agent_idx]
    channel = np.where(u < p[:, 0], 0, np.where(u < p[:, 0] + p[:, 1], 1, 2))
    cols: dict[str, object] = {
        "ticket_id": np.char.add("T", np.char.zfill(np.arange(1, total + 1).astype(str), 8)).astype(
            object
        ),
        "agent_id": agents["agent_id"].to_numpy()[agent_idx],
        "region": agents["region"].to_numpy()[agent_idx],
        "market": agents["market"].to_numpy()[agent_idx],
        "channel": np.asarray(demo.CHANNELS, dtype=object)[channel],
        "queue": np.asarray(demo.QUEUES, dtype=object)[
            rng.choice(len(demo.QUEUES), size=total, p=_QUEUE_SHARES)
        ],
    }
    for name, values in extra.items():
        cols[name] = np.asarray(values, dtype=object)[rng.integers(0, len(values), total)]
    cols["created_at"] = created
    tickets = pd.DataFrame(cols)
    skill = agents["skill"].to_numpy()[agent_idx]
    q = skill + rng.normal(0.0, 1.0, total)
    window_end = months[-1].end_time.to_datetime64()
    for e in planted:
        if e.kind not in ("trend", "step"):
            continue
        where = _segment_mask(tickets, e)
        t0 = np.datetime64(pd.Timestamp(str(e.start)), "ns")
        after = created >= t0
        if e.kind == "step":
            q += e.size * (where & after)
        else:
            frac = (created - t0).astype(np.int64) / float((window_end - t0).astype(np.int64))
            q += e.size * np.clip(frac, 0.0, 1.0) * where
    csat = np.clip(np.round(3.6 + 0.45 * q + rng.normal(0.0, 1.0, total)), 1, 5)
    tickets["csat"] = np.where(rng.random(total) < 0.2, csat, np.nan)
    return tickets, q, skill


def _criterion_scores(
    rng: np.random.Generator,
    sc: Scorecard,
    tickets: pd.DataFrame,
    q: np.ndarray,
    planted: tuple[Effect, ...],
) -> np.ndarray:
    n = len(tickets)
    log_or = np.zeros(n)
    for e in planted:
        if e.kind == "critical":
            log_or += np.log(e.size) * _segment_mask(tickets, e)
    out = np.empty((n, len(sc)))
    for j, c in enumerate(sc.criteria):  # a dozen criteria
        if c.critical:
            s = (rng.random(n) < 1 / (1 + np.exp(-(5.0 + 0.8 * q - log_or)))).astype(float)
            s = np.where(s > 0, c.max, c.min)
        elif c.is_binary:
            s = np.where(rng.random(n) < 1 / (1 + np.exp(-(3.4 + 1.2 * q))), c.max, c.min)
        else:
            s = np.clip(np.round(4.3 + 0.7 * q + rng.normal(0, 0.6, n)), c.min, c.max)
        if c.na_allowed:
            s = np.where(rng.random(n) < 0.15, np.nan, s)
        out[:, j] = s
    return out


def _rank_within(groups: np.ndarray, key: np.ndarray) -> np.ndarray:
    order = np.lexsort((key, groups))
    g = groups[order]
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    pos = np.arange(len(g)) - np.repeat(start, np.diff(np.r_[start, len(g)]))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = pos
    return rank


def _audits(
    rng: np.random.Generator,
    tickets: pd.DataFrame,
    agents: pd.DataFrame,
    skill: np.ndarray,
    per_agent: int,
    planted: tuple[Effect, ...],
) -> np.ndarray:
    agent_code = pd.Index(agents["agent_id"]).get_indexer(tickets["agent_id"])
    month = tickets["created_at"].to_numpy().astype("datetime64[M]").astype(np.int64)
    group = agent_code.astype(np.int64) * 100_000 + (month - month.min())
    rank = _rank_within(group, rng.random(len(tickets)))
    k = agents["audits"].to_numpy()[agent_code]
    k = np.where(k < 0, per_agent, k)
    return np.flatnonzero(rank < k)


def _evaluations(
    rng: np.random.Generator,
    sc: Scorecard,
    tickets: pd.DataFrame,
    scores: np.ndarray,
    audited: np.ndarray,
    agents: pd.DataFrame,
    specialists: int,
) -> pd.DataFrame:
    t = tickets.iloc[audited].reset_index(drop=True)
    n = len(t)
    which = rng.integers(1, specialists + 1, n).astype(str)
    reviewer = t["region"].to_numpy().astype(str) + "-S" + np.char.zfill(which, 2)
    meta = t.drop(columns=["created_at", "csat"]).copy()
    meta.insert(
        0, "evaluation_id", np.char.add("E", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    )
    meta.insert(3, "reviewer_id", reviewer.astype(object))
    hours = rng.uniform(1, 72, n)
    meta["evaluated_at"] = (t["created_at"] + pd.to_timedelta(hours, unit="h")).dt.floor("s")
    meta["csat"] = t["csat"].to_numpy()
    long = meta.loc[meta.index.repeat(len(sc))].reset_index(drop=True)
    long["criterion"] = np.tile(np.asarray(sc.ids, dtype=object), n)
    long["score"] = scores[audited].ravel()
    long["evaluation_id"] = long["evaluation_id"].astype(object)
    return long


def _calibration(
    rng: np.random.Generator,
    sc: Scorecard,
    regs: dict[str, list[str]],
    tickets: pd.DataFrame,
    q: np.ndarray,
    months: pd.PeriodIndex,
    specialists: int,
    per_session: int,
    planted: tuple[Effect, ...],
) -> pd.DataFrame:
    first = months[0].start_time
    first_thursday = first + pd.Timedelta(days=(3 - first.weekday()) % 7)
    dates = pd.date_range(first_thursday, months[-1].end_time, freq="14D")
    created = tickets["created_at"].to_numpy()
    region_of = tickets["region"].to_numpy()
    raters = [f"S{i:02d}" for i in range(1, specialists + 1)] + ["X01"]
    n_r, n_c = len(raters), len(sc)
    chosen, sess_region, sess_date, sess_index = [], [], [], []
    for region in regs:  # a handful of regions x a few sessions: one draw each
        pool = np.flatnonzero(region_of == region)
        for i, d in enumerate(dates):
            lo, hi = (d - pd.Timedelta(days=14)).to_datetime64(), d.to_datetime64()
            window = pool[(created[pool] < hi) & (created[pool] >= lo)]
            if window.size == 0:
                window = pool[created[pool] < hi + np.timedelta64(14, "D")]
            if window.size == 0:
                continue
            pick = rng.choice(window, size=min(per_session, window.size), replace=False)
            chosen.append(pick)
            sess_region.append(np.full(pick.size, region, dtype=object))
            sess_date.append(np.full(pick.size, d.to_datetime64()))
            sess_index.append(np.full(pick.size, i - len(dates)))  # -1 = the last session
    idx = np.concatenate(chosen)
    s_region = np.concatenate(sess_region)
    s_date = np.concatenate(sess_date).astype("datetime64[ns]")
    from_end = np.concatenate(sess_index)
    n_t = len(idx)
    z = 0.6 * q[idx][:, None] + rng.normal(0.0, 0.9, (n_t, n_c))
    expert = np.array([r == "X01" for r in raters])
    sd = np.where(expert, _EXPERT_SD, _SPECIALIST_SD)[None, :, None] * np.ones((n_t, 1, n_c))
    for e in planted:
        if e.kind == "calibration_collapse":
            hit = (s_region == e.region) & (from_end >= -e.sessions)
            sd = np.where(hit[:, None, None] & ~expert[None, :, None], np.hypot(sd, e.size), sd)
        elif e.kind == "ambiguous":
            hit_c = (s_region == e.region)[:, None, None] & (np.asarray(sc.ids) == e.criterion)[
                None, None, :
            ]
            sd = np.where(hit_c, np.hypot(sd, e.size), sd)
    seen = z[:, None, :] + rng.normal(0.0, 1.0, (n_t, n_r, n_c)) * sd
    mins = np.array([c.min for c in sc.criteria])
    maxs = np.array([c.max for c in sc.criteria])
    binary = np.array([c.is_binary for c in sc.criteria])
    cut = np.where([c.critical for c in sc.criteria], -0.5, -0.3)
    rater_ids = s_region[:, None].astype(str) + "-" + np.array(raters)[None, :]
    for e in planted:  # latent shift on 1-5 criteria before mapping
        if e.kind == "rater_bias" and not binary[sc.ids.index(str(e.criterion))]:
            j = sc.ids.index(str(e.criterion))
            seen[:, :, j] += e.size * (maxs[j] - mins[j]) * (rater_ids == e.rater_id)
    scores = np.where(
        binary, np.where(seen > cut, maxs, mins), np.clip(np.round(3.5 + seen), mins, maxs)
    )
    for e in planted:  # binary criteria: flip with the probability that gives the size
        j = sc.ids.index(str(e.criterion)) if e.kind == "rater_bias" else -1
        if j < 0 or not binary[j]:
            continue
        who = rater_ids == e.rater_id
        col = scores[:, :, j]
        src, dst = (mins[j], maxs[j]) if e.size > 0 else (maxs[j], mins[j])
        share = (col[who] == src).mean() if who.any() else 0.0
        prob = min(1.0, abs(e.size) / share) if share > 0 else 0.0
        flip = who & (col == src) & (rng.random(col.shape) < prob)
        scores[:, :, j] = np.where(flip, dst, col)
    na = np.array([c.na_allowed for c in sc.criteria])
    na_cell = (rng.random((n_t, n_c)) < 0.1) & na[None, :]
    scores = np.where(na_cell[:, None, :], np.nan, scores)
    session_id = np.char.add(
        np.char.add(s_region.astype(str), "-CAL-"),
        pd.DatetimeIndex(s_date).strftime("%Y%m%d").to_numpy().astype(str),
    )
    return pd.DataFrame(
        {
            "session_id": np.repeat(session_id.astype(object), n_r * n_c),
            "session_date": np.repeat(s_date, n_r * n_c),
            "region": np.repeat(s_region, n_r * n_c),
            "ticket_id": np.repeat(tickets["ticket_id"].to_numpy()[idx], n_r * n_c),
            "rater_id": np.repeat(rater_ids.astype(object).ravel(), n_c),
            "role": np.tile(
                np.repeat(np.where(expert, "expert", "specialist").astype(object), n_c), n_t
            ),
            "criterion": np.tile(np.asarray(sc.ids, dtype=object), n_t * n_r),
            "score": scores.ravel(),
        }
    )


def _truth(
    sc: Scorecard, tickets: pd.DataFrame, scores: np.ndarray, audited: np.ndarray
) -> pd.DataFrame:
    n = len(tickets)
    long = pd.DataFrame(
        {
            "evaluation_id": np.repeat(np.arange(n), len(sc)),
            "criterion": np.tile(np.asarray(sc.ids, dtype=object), n),
            "score": scores.ravel(),
        }
    )
    s = score_evaluations(long, sc, meta=[])
    frame = pd.DataFrame(
        {
            "region": tickets["region"].to_numpy(),
            "month": tickets["created_at"].dt.to_period("M").astype(str).to_numpy(),
            "passed": s["passed"].astype("float").to_numpy(),
            "score": s["score"].to_numpy(),
            "critical": s["critical_fail"].astype(float).to_numpy(),
            "audited": np.isin(np.arange(n), audited),
        }
    )
    frame["audit_passed"] = np.where(frame["audited"], frame["passed"], np.nan)
    out = frame.groupby(["region", "month"], sort=True).agg(
        n_tickets=("passed", "size"),
        pass_rate=("passed", "mean"),
        mean_score=("score", "mean"),
        critical_rate=("critical", "mean"),
        n_audits=("audited", "sum"),
        audit_pass_rate=("audit_passed", "mean"),
    )
    return out.reset_index()
