"""Tests for the ticket-level (design-based) estimates in qa_analysis.sampling (issue 10, item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qa_analysis import sampling as sp
from qa_analysis.errors import DataError, ParamsError

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _small():
    # agent a: chat 80 tickets / 4 audits (3 pass), email 20 tickets / 2 audits (1 pass)
    # agent b: chat 300 tickets / 2 audits (0 pass), email 100 tickets / 2 audits (2 pass)
    # agent c: chat 50 tickets / 1 audit (1 pass)
    audits = pd.DataFrame(
        {
            "agent_id": ["a"] * 6 + ["b"] * 4 + ["c"],
            "channel": ["chat"] * 4 + ["email"] * 2 + ["chat"] * 2 + ["email"] * 2 + ["chat"],
            "passed": [1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1],
        }
    )
    tickets = pd.DataFrame(
        {
            "agent_id": ["a", "a", "b", "b", "c"],
            "channel": ["chat", "email", "chat", "email", "chat"],
            "tickets": [80, 20, 300, 100, 50],
        }
    )
    return audits, tickets


def test_hand_computation_on_a_small_stratified_sample():
    audits, tickets = _small()
    e = sp.ticket_estimate(audits, tickets, volume="tickets")
    # weights: a-chat 20, a-email 10, b-chat 150, b-email 50, c-chat 50
    w = np.array([20, 20, 20, 20, 10, 10, 150, 150, 50, 50, 50], dtype=float)
    y = audits["passed"].to_numpy(float)
    W = 550.0
    r = (60 + 10 + 100 + 50) / W  # 220 / 550 = 0.4
    assert e.estimate == pytest.approx(r) and r == pytest.approx(0.4)
    u = w * (y - r) / W
    U = np.array([u[:6].sum(), u[6:10].sum(), u[10]])  # per agent
    var = 3 / 2 * np.sum((U - U.mean()) ** 2)
    assert e.se == pytest.approx(np.sqrt(var), rel=1e-12)
    t = stats.t.ppf(0.975, 2)
    assert e.ci_low == pytest.approx(max(r - t * np.sqrt(var), 0.0))
    assert e.ci_high == pytest.approx(min(r + t * np.sqrt(var), 1.0))
    assert e.audit_mean == pytest.approx(7 / 11)
    assert (e.n_audits, e.n_strata, e.n_strata_audited, e.n_strata_empty) == (11, 5, 5, 0)
    assert (e.n_agents, e.n_agents_audited, e.tickets, e.tickets_uncovered) == (3, 3, 550, 0)
    assert "tickets" in e.estimand and "agents" in e.method


def test_stratified_variance_by_hand():
    audits, tickets = _small()
    e = sp.ticket_estimate(audits, tickets, volume="tickets", variance="stratified")
    w = np.array([20, 20, 20, 20, 10, 10, 150, 150, 50, 50, 50], dtype=float)
    y = audits["passed"].to_numpy(float)
    u = w * (y - 0.4) / 550
    strata = [slice(0, 4), slice(4, 6), slice(6, 8), slice(8, 10)]
    nh, Nh = [4, 2, 2, 2], [80, 20, 300, 100]
    var = sum(
        (1 - n / N) * n / (n - 1) * np.sum((u[s] - u[s].mean()) ** 2)
        for s, n, N in zip(strata, nh, Nh, strict=True)
    )
    var += (1 - 1 / 50) * u[10] ** 2  # one-audit stratum centred at 0
    assert e.se == pytest.approx(np.sqrt(var), rel=1e-12)
    assert "one audit" in e.note


def test_design_weights_match_estimate_rate():
    # with design weights, the stratified variance is estimate_rate's (peer in this package)
    rng = np.random.default_rng(0)
    s = pd.DataFrame(
        {
            "agent_id": rng.choice(list("abcdef"), 200),
            "channel": rng.choice(["chat", "email"], 200),
            "passed": rng.random(200) < 0.8,
            "design_weight": rng.uniform(2, 20, 200).round(),
        }
    )
    s["design_weight"] = s.groupby(["agent_id", "channel"])["design_weight"].transform("first")
    e = sp.ticket_estimate(s, weight="design_weight", variance="stratified")
    ref = sp.estimate_rate(s, "passed", strata=["agent_id", "channel"])
    assert e.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert e.se == pytest.approx(ref.se, rel=1e-12)
    assert e.ci_low == pytest.approx(ref.estimate_ci_low, rel=1e-12)


def test_self_weighting_design_equals_the_plain_mean():
    # audits proportional to volume in every stratum: equal weights
    rng = np.random.default_rng(1)
    na = rng.integers(1, 10, size=12)
    ag = np.repeat(np.arange(12), na)
    audits = pd.DataFrame({"agent_id": ag, "channel": "chat", "score": rng.normal(80, 8, ag.size)})
    tickets = pd.DataFrame({"agent_id": np.arange(12), "channel": "chat", "tickets": 25 * na})
    e = sp.ticket_estimate(audits, tickets, value="score", volume="tickets")
    assert e.estimate == pytest.approx(audits["score"].mean(), rel=1e-12)
    assert e.estimate == pytest.approx(e.audit_mean, rel=1e-12)


def test_ticket_rows_are_counted_as_volume():
    audits, tickets = _small()
    rows = tickets.loc[tickets.index.repeat(tickets["tickets"]), ["agent_id", "channel"]]
    a = sp.ticket_estimate(audits, rows)
    b = sp.ticket_estimate(audits, tickets, volume="tickets")
    assert a.estimate == pytest.approx(b.estimate) and a.se == pytest.approx(b.se)


def test_unaudited_strata_and_agents_are_counted_not_dropped():
    audits, tickets = _small()
    tickets = pd.concat(
        [
            tickets,
            pd.DataFrame(
                {"agent_id": ["c", "d"], "channel": ["email", "chat"], "tickets": [50, 70]}
            ),
        ],
        ignore_index=True,
    )
    e = sp.ticket_estimate(audits, tickets, volume="tickets")
    # c's email volume is collapsed into c's chat stratum (weight 100); d is unrepresented
    assert e.n_strata == 7 and e.n_strata_empty == 2 and e.n_strata_audited == 5
    assert e.n_agents == 4 and e.n_agents_audited == 3
    assert e.tickets == 600 and e.tickets_uncovered == 70
    assert e.estimate == pytest.approx((60 + 10 + 100 + 100) / 600)
    assert "collapsed" in e.note and "70 tickets" in e.note


def test_missing_values_and_audits_without_volume_are_counted():
    audits, tickets = _small()
    audits.loc[0, "passed"] = np.nan
    audits = pd.concat(
        [audits, pd.DataFrame({"agent_id": ["z"], "channel": ["chat"], "passed": [1]})],
        ignore_index=True,
    )
    e = sp.ticket_estimate(audits, tickets, volume="tickets")
    assert e.n_audits == 10
    assert "1 audit(s) with missing" in e.note and "without tickets" in e.note


def test_coverage_of_the_true_ticket_rate_with_uneven_audits():
    # 60 agents; better agents get more audits (1 to 30) and fewer tickets, so
    # the audit-level rate is biased upward. Truth: the expected share of
    # tickets that pass, E[V q] / E[V] (Monte Carlo over 2 million agents).
    big = np.random.default_rng(99).normal(size=2_000_000)
    vol = np.round(300 * np.exp(-0.3 * big))
    truth = np.sum(vol * (0.8 + 0.06 * np.clip(big, -3, 3))) / np.sum(vol)
    n_agents, reps = 60, 300
    covered, naive = [], []
    for seed in range(reps):
        rng = np.random.default_rng(seed)
        s = rng.normal(size=n_agents)
        q = 0.8 + 0.06 * np.clip(s, -3, 3)
        v = np.round(300 * np.exp(-0.3 * s))
        na = np.clip(np.round(15 + 10 * s + rng.normal(0, 3, n_agents)), 1, 30).astype(int)
        ag = np.repeat(np.arange(n_agents), na)
        audits = pd.DataFrame(
            {"agent_id": ag, "channel": "chat", "passed": rng.random(ag.size) < q[ag]}
        )
        tickets = pd.DataFrame({"agent_id": np.arange(n_agents), "channel": "chat", "tickets": v})
        e = sp.ticket_estimate(audits, tickets, volume="tickets")
        covered.append(e.ci_low <= truth <= e.ci_high)
        naive.append(e.audit_ci_low <= truth <= e.audit_ci_high)
    assert 0.92 <= np.mean(covered) <= 0.98  # measured: 0.933
    assert np.mean(naive) < 0.2  # the audit-level interval misses the ticket rate (0.057)


def test_pooled_estimate_weights_regions_by_tickets():
    audits, tickets = _small()
    e1 = sp.ticket_estimate(audits, tickets, volume="tickets")
    e2 = sp.ticket_estimate(
        audits.assign(passed=1 - audits["passed"]),
        tickets.assign(tickets=tickets["tickets"] * 3),
        volume="tickets",
    )
    empty = sp.ticket_estimate(audits.iloc[:0], tickets, volume="tickets")
    pooled = sp.pool_estimates({"EMEA": e1, "APAC": e2, "LATAM": empty})
    assert pooled.estimate == pytest.approx((550 * 0.4 + 1650 * 0.6) / 2200)
    assert pooled.se == pytest.approx(np.sqrt((0.25 * e1.se) ** 2 + (0.75 * e2.se) ** 2))
    assert pooled.tickets == 2200 and pooled.n_audits == 22
    assert "LATAM" in pooled.note
    assert np.isnan(empty.estimate) and "no audits" in empty.note


def test_bad_input_is_refused():
    audits, tickets = _small()
    with pytest.raises(TypeError):
        sp.ticket_estimate(audits.to_dict(), tickets)  # type: ignore[arg-type]
    with pytest.raises(ParamsError):
        sp.ticket_estimate(audits)
    with pytest.raises(ParamsError):
        sp.ticket_estimate(audits, tickets, agent="rater_id")
    with pytest.raises(DataError):
        sp.ticket_estimate(audits, tickets, value="missing_column")
    with pytest.raises(DataError):
        sp.ticket_estimate(audits, tickets.assign(tickets=-1), volume="tickets")
    with pytest.raises(ParamsError):
        sp.pool_estimates([])
