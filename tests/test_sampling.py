"""Tests for qa_analysis.sampling: sample sizes, allocation, order-sampling draws, estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from qa_analysis import sampling
from qa_analysis.sampling import (
    Estimate,
    allocate,
    audit_plan,
    calibration_set,
    coverage,
    draw,
    estimate_rate,
    margin_of_error,
    period_seed,
    sample_size,
    sample_size_mean,
)

# ---------------------------------------------------------------------------
# fixtures (small, built in code)
# ---------------------------------------------------------------------------


def _population(sizes=(8, 12, 20), seed=0, string_ids=True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    ids = [f"T{i:05d}" for i in range(n)] if string_ids else np.arange(100, 100 + n)
    return pd.DataFrame(
        {
            "ticket_id": ids,
            "channel": np.repeat(["chat", "email", "phone"], sizes),
            "risk": rng.gamma(2.0, 1.0, n) + 0.2,
        }
    )


def _tickets(seed=0) -> pd.DataFrame:
    """Ticket export: 6 agents with uneven volumes over 3 channels; agent a6 has 3 tickets."""
    rng = np.random.default_rng(seed)
    volumes = {"a1": 60, "a2": 40, "a3": 25, "a4": 12, "a5": 7, "a6": 3}
    agent = np.repeat(list(volumes), list(volumes.values()))
    n = len(agent)
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i:06d}" for i in range(n)],
            "agent_id": agent,
            "region": "EU",
            "channel": rng.choice(["chat", "email", "phone"], n, p=[0.5, 0.3, 0.2]),
            "queue": "billing",
            "csat": rng.integers(1, 6, n).astype(float),
        }
    )


def _chi2_inclusion(pop, n, strata, weight, reps=2000):
    """Chi-square statistic of observed inclusion counts vs reps * inclusion_prob."""
    pop = pop.reset_index(drop=True)
    counts = np.zeros(len(pop), dtype=np.int64)
    pi = np.full(len(pop), np.nan)
    for seed in range(reps):
        s = draw(pop, n, strata=strata, seed=seed, size=weight)
        rows = s.index.to_numpy()  # draw keeps the population's (here positional) index
        counts[rows] += 1
        pi[rows] = s["inclusion_prob"].to_numpy()
    return pd.Series(counts, index=pop["ticket_id"]), pd.Series(pi, index=pop["ticket_id"])


# ---------------------------------------------------------------------------
# sample sizes and margins
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (100, 80),
        (500, 217),
        (1000, 278),
        (10_000, 370),
        (100_000, 383),
        (None, 384),
    ],
)
def test_sample_size_reproduces_krejcie_morgan_table_within_one(population, expected):
    """Krejcie & Morgan (1970), Table 1 (chi-square 3.841, d = .05, P = .5); the
    infinite-population value is 384.16, which rounds up to 385."""
    got = sample_size(margin=0.05, confidence=0.95, p=0.5, population=population)
    assert abs(got - expected) <= 1


def test_sample_size_infinite_population_rounds_up_to_385():
    assert sample_size() == 385


def test_sample_size_mean_matches_cochran_formula():
    # n0 = (1.959964 * 12 / 2)^2 = 138.29 -> 139; with N = 500: 138.29*500/(637.29) = 108.5 -> 109
    assert sample_size_mean(sd=12.0, margin=2.0) == 139
    assert sample_size_mean(sd=12.0, margin=2.0, population=500) == 109


def test_margin_of_error_inverts_sample_size():
    for N in (100, 500, 1000, 10_000, None):
        n = sample_size(margin=0.05, population=N)
        assert margin_of_error(n, population=N) <= 0.05 + 1e-12
        assert margin_of_error(n - 1, population=N) > 0.05


def test_margin_of_error_is_vectorised_with_defined_edges():
    e = margin_of_error(np.array([0, 50, 100]), population=100)
    assert np.isnan(e[0]) and e[2] == 0.0 and 0 < e[1] < 0.2


def test_sample_size_rejects_bad_arguments():
    with pytest.raises(ValueError, match="margin"):
        sample_size(margin=0)
    with pytest.raises(ValueError, match="confidence"):
        sample_size(confidence=1.5)
    with pytest.raises(ValueError, match="population"):
        sample_size(population=0)


# ---------------------------------------------------------------------------
# allocation
# ---------------------------------------------------------------------------


def test_allocate_proportional_hand_computed():
    assert allocate(pd.Series({"chat": 600, "email": 300, "phone": 100}), 50).tolist() == [
        30,
        15,
        5,
    ]
    # 2.5, 3.5, 4.0 -> floors 2, 3, 4; one left over: tie on .5 goes to the earlier stratum
    assert allocate(pd.Series([5, 7, 8]), 10).tolist() == [3, 3, 4]


def test_allocate_neyman_hand_computed():
    # weights N*S = 1000, 1000, 600 of 2600: 23.08, 23.08, 13.85 -> 23, 23, 14
    out = allocate(pd.Series([100, 200, 300]), 60, method="neyman", sd=pd.Series([10.0, 5.0, 2.0]))
    assert out.tolist() == [23, 23, 14]
    # take-all: stratum 0 wants 25 but has 10; the rest goes to stratum 1
    out = allocate(
        pd.Series({"small": 10, "big": 1000}),
        50,
        method="neyman",
        sd=pd.Series({"small": 100.0, "big": 1.0}),
    )
    assert out.to_dict() == {"small": 10, "big": 40}


def test_allocate_equal_and_minimum():
    assert allocate(pd.Series([50, 50, 2]), 12, method="equal").tolist() == [5, 5, 2]
    # proportional would give 29, 0, 0 (+1); minimum 5 raises the small strata, the
    # 5-ticket stratum is taken whole
    assert allocate(pd.Series([1000, 10, 5]), 30, minimum=5).tolist() == [20, 5, 5]


def test_allocate_neyman_with_zero_sd_strata_spreads_the_rest_by_room():
    # all sd = 0: nothing to optimise; the minimum first, the rest where there is room
    assert allocate(
        pd.Series([396, 0, 3]), 37, method="neyman", sd=[0.0, 0.0, 0.0], minimum=4
    ).tolist() == [34, 0, 3]
    assert allocate(pd.Series([5, 5, 10]), 12, method="neyman", sd=[0.0, 1.0, 0.0]).tolist() == [
        2,
        5,
        5,
    ]


def test_allocate_impossible_requests_raise_clear_errors():
    with pytest.raises(ValueError, match="larger than the population"):
        allocate(pd.Series([5, 5]), 11)
    with pytest.raises(ValueError, match="minimums"):
        allocate(pd.Series([50, 50, 50]), 5, minimum=2)
    with pytest.raises(ValueError, match="sd="):
        allocate(pd.Series([5, 5]), 4, method="neyman")
    with pytest.raises(ValueError, match="non-negative"):
        allocate(pd.Series([5, -1]), 2)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 400), min_size=1, max_size=12),
    frac=st.floats(0, 1),
    method=st.sampled_from(["proportional", "neyman", "equal"]),
    minimum=st.integers(0, 6),
    sd_seed=st.integers(0, 1000),
)
def test_allocate_sums_and_bounds_hold_on_random_inputs(sizes, frac, method, minimum, sd_seed):
    s = pd.Series(sizes)
    lo = np.minimum(minimum, s.to_numpy())
    n = round(lo.sum() + frac * (s.sum() - lo.sum()))
    sd = pd.Series(np.random.default_rng(sd_seed).uniform(0, 3, len(s)).round(1))
    if sd_seed % 4 == 0:
        sd[:] = 0.0  # no variation anywhere
    out = allocate(s, n, method=method, sd=sd, minimum=minimum)
    assert out.sum() == n
    assert (out <= s).all()
    assert (out >= lo).all()
    assert out.dtype == np.int64


# ---------------------------------------------------------------------------
# permanent random numbers
# ---------------------------------------------------------------------------


def _fnv1a_reference(text: str) -> int:
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_string_id_hash_is_fnv1a_of_utf8_bytes():
    """FNV-1a 64 test vectors ("" and "a" from the FNV reference) plus mixed lengths."""
    ids = pd.Series(["", "a", "T0000001", "ticket-ä-42", "x" * 37])
    got = sampling._id_hash(ids, "ticket_id")
    assert got[0] == 0xCBF29CE484222325 and got[1] == 0xAF63DC4C8601EC8C
    assert [int(v) for v in got] == [_fnv1a_reference(t) for t in ids]


def _splitmix64_reference(x: int) -> int:
    m = 0xFFFFFFFFFFFFFFFF
    z = (x + 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def test_permanent_random_numbers_are_pinned():
    """Guards stability across platforms and releases: these keys must never change
    (values from the pure-Python reference: splitmix64(fnv1a(id) ^ splitmix64(seed)))."""
    keys = sampling._keys(sampling._id_hash(pd.Series(["T0000001", "T0000002"]), "id"), 2026)
    ints = sampling._keys(sampling._id_hash(pd.Series([1, 2]), "id"), 2026)
    assert [int(k) for k in keys] == [14447571404477276611, 1789631321717767486]
    assert [int(k) for k in ints] == [9787063651607887398, 11324750456801820159]
    s = _splitmix64_reference(2026)
    assert int(keys[0]) == _splitmix64_reference(_fnv1a_reference("T0000001") ^ s)
    assert int(ints[1]) == _splitmix64_reference(_splitmix64_reference(2) ^ s)


def test_draw_is_the_same_for_object_arrow_and_categorical_ids():
    pop = _population()
    a = draw(pop, 3, strata="channel", seed=5)
    for ids in (pop["ticket_id"].astype(object), pop["ticket_id"].astype("category")):
        b = draw(pop.assign(ticket_id=ids), 3, strata="channel", seed=5)
        assert b["ticket_id"].astype(str).tolist() == a["ticket_id"].tolist()


# ---------------------------------------------------------------------------
# draw
# ---------------------------------------------------------------------------


def test_draw_same_seed_gives_same_tickets_after_shuffling():
    pop = _population()
    a = draw(pop, 3, strata="channel", seed=11)
    b = draw(pop.sample(frac=1.0, random_state=3), 3, strata="channel", seed=11)
    assert a["ticket_id"].tolist() == b["ticket_id"].tolist()
    c = draw(pop, 3, strata="channel", seed=11, size="risk")
    d = draw(pop.sample(frac=1.0, random_state=4), 3, strata="channel", seed=11, size="risk")
    assert c["ticket_id"].tolist() == d["ticket_id"].tolist()


def test_draw_different_seeds_give_different_samples():
    pop = _population(sizes=(100, 100, 100))
    a = set(draw(pop, 10, strata="channel", seed=1)["ticket_id"])
    b = set(draw(pop, 10, strata="channel", seed=2)["ticket_id"])
    assert a != b


def test_draw_adding_tickets_to_one_stratum_leaves_others_unchanged():
    pop = _population(sizes=(30, 30, 30))
    extra = pd.DataFrame(
        {"ticket_id": [f"X{i}" for i in range(50)], "channel": "chat", "risk": 1.0}
    )
    grown = pd.concat([pop, extra], ignore_index=True)
    for weight in (None, "risk"):
        a = draw(pop, 4, strata="channel", seed=9, size=weight)
        b = draw(grown, 4, strata="channel", seed=9, size=weight)
        for ch in ("email", "phone"):
            assert (
                a.loc[a.channel == ch, "ticket_id"].tolist()
                == b.loc[b.channel == ch, "ticket_id"].tolist()
            )


def test_draw_returns_rows_with_inclusion_probabilities_and_weights():
    pop = _population()
    n = allocate(pop.groupby("channel").size(), 10)
    s = draw(pop, n, strata="channel", seed=3)
    assert s.groupby("channel").size().to_dict() == n.to_dict()
    expect = (n / pop.groupby("channel").size()).to_dict()
    assert np.allclose(s["inclusion_prob"], s["channel"].map(expect))
    assert np.allclose(s["design_weight"], 1 / s["inclusion_prob"])
    assert set(pop.columns) < set(s.columns)


def test_draw_without_strata_and_with_multiindex_n():
    pop = _population(sizes=(10, 10, 10)).assign(region=lambda d: np.where(d.index % 2, "EU", "NA"))
    s = draw(pop, 7, seed=1)
    assert len(s) == 7 and np.allclose(s["inclusion_prob"], 7 / 30)
    n = pd.Series(
        [1, 2],
        index=pd.MultiIndex.from_tuples(
            [("chat", "EU"), ("phone", "NA")], names=["channel", "region"]
        ),
    )
    s = draw(pop, n, strata=["channel", "region"], seed=1)
    assert s.groupby(["channel", "region"]).size().to_dict() == {
        ("chat", "EU"): 1,
        ("phone", "NA"): 2,
    }


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    fracs=st.lists(st.floats(0, 1), min_size=6, max_size=6),
    seed=st.integers(-(2**63), 2**64 - 1),
)
def test_draw_takes_exactly_n_per_stratum_on_random_inputs(sizes, fracs, seed):
    pop = pd.DataFrame(
        {
            "ticket_id": [f"id-{i}" for i in range(sum(sizes))],
            "stratum": np.repeat([f"s{i}" for i in range(len(sizes))], sizes),
        }
    )
    n = pd.Series(
        [int(f * z) for f, z in zip(fracs, sizes, strict=False)],
        index=[f"s{i}" for i in range(len(sizes))],
    )
    s = draw(pop, n, strata="stratum", seed=seed)
    got = s.groupby("stratum").size().reindex(n.index, fill_value=0)
    assert got.tolist() == n.tolist()
    expect = s["stratum"].map(n / pd.Series(sizes, index=n.index)).to_numpy(dtype=float)
    assert np.allclose(s["inclusion_prob"].to_numpy(dtype=float), expect)
    shuffled = draw(pop.iloc[::-1], n, strata="stratum", seed=seed)
    assert shuffled["ticket_id"].tolist() == s["ticket_id"].tolist()


def test_prefiltered_selection_equals_a_full_sort_including_the_fallback():
    """The threshold prefilter (and its fallback for under-filled strata) must pick
    exactly the k smallest keys per stratum, as a full lexsort does."""
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 300, 60_000).astype(np.intp)
    key = rng.integers(0, 2**63, 60_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    sizes = np.bincount(codes, minlength=300)
    k = rng.integers(0, 12, 300)
    full = sampling._k_smallest(codes, [key], k)
    for slack in ((4.0, 8.0), (0.0, 0.0), (-1.0, -3.0)):  # the last two force the fallback
        got = sampling._srs_select(codes, key, k, sizes, slack=slack)
        assert np.array_equal(got, full)


def test_draw_inclusion_frequencies_match_inclusion_prob_srs():
    """2,000 seeds: chi-square of inclusion counts against reps * pi (df = units - strata)."""
    pop = _population(sizes=(8, 12, 20))
    n = pd.Series({"chat": 2, "email": 3, "phone": 5})
    counts, pi = _chi2_inclusion(pop, n, "channel", None)
    exp = 2000 * pi
    chi2 = (((counts - exp) ** 2) / (exp * (1 - pi))).sum()
    p = stats.chi2.sf(chi2, df=len(pop) - 3)
    assert p > 0.001, (chi2, p)


def test_draw_inclusion_frequencies_match_inclusion_prob_pps():
    """Pareto order sampling: inclusion counts over 2,000 seeds against reps * pi
    (units with pi = 1 are always taken and excluded from the statistic)."""
    pop = _population(sizes=(20, 25, 30), seed=2)
    pop.loc[3, "risk"] = 40.0  # forces a take-all unit in stratum chat
    n = pd.Series({"chat": 4, "email": 4, "phone": 5})
    counts, pi = _chi2_inclusion(pop, n, "channel", "risk")
    assert counts[pop.loc[3, "ticket_id"]] == 2000 and pi[pop.loc[3, "ticket_id"]] == 1.0
    codes, k = _codes_for(pop, n)
    lam = sampling._pps_lambda(codes, pop["risk"].to_numpy(), k)
    pi_all = pd.Series(lam, index=pop["ticket_id"])
    mid = (pi_all > 0) & (pi_all < 1)
    exp = 2000 * pi_all[mid]
    chi2 = (((counts[mid] - exp) ** 2) / (exp * (1 - pi_all[mid]))).sum()
    p = stats.chi2.sf(chi2, df=int(mid.sum()) - 3)
    assert p > 0.001, (chi2, p)
    assert np.allclose(pi.dropna(), pi_all[pi.dropna().index])


def _codes_for(pop, n):
    codes, keys = sampling._stratum_codes(pop, ["channel"])
    return codes, sampling._n_per_stratum(n, keys, True)


def test_pps_inclusion_probabilities_cap_at_one_and_sum_to_n():
    pop = _population(sizes=(10, 10, 10))
    pop["risk"] = 1.0
    pop.loc[0, "risk"] = 100.0
    pop.loc[1, "risk"] = 50.0
    codes, k = _codes_for(pop, pd.Series({"chat": 3, "email": 2, "phone": 2}))
    lam = sampling._pps_lambda(codes, pop["risk"].to_numpy(), k)
    assert lam[0] == 1.0 and lam[1] == 1.0
    assert np.allclose(np.bincount(codes, weights=lam), [3, 2, 2])
    assert np.allclose(lam[2:10], 1 / 8)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def test_draw_rejects_n_larger_than_a_stratum_naming_it():
    with pytest.raises(ValueError, match=r"stratum 'chat' has 8 tickets, 9 requested"):
        draw(_population(), 9, strata="channel", seed=1)
    with pytest.raises(ValueError, match="larger than the population"):
        draw(_population(), 41, seed=1)


def test_draw_rejects_duplicate_ids_naming_rows():
    pop = _population()
    pop.loc[5, "ticket_id"] = pop.loc[2, "ticket_id"]
    with pytest.raises(
        ValueError, match=r"'ticket_id': duplicate ticket ids in row 2 \(ticket_id=.*row 5 "
    ):
        draw(pop, 2, strata="channel", seed=1)
    ints = _population(string_ids=False)
    ints.loc[9, "ticket_id"] = ints.loc[8, "ticket_id"]  # sorted ids with a repeat
    with pytest.raises(ValueError, match=r"duplicate ticket ids in row 8 .*row 9 "):
        draw(ints, 2, strata="channel", seed=1)


def test_draw_rejects_missing_columns_and_values():
    pop = _population()
    with pytest.raises(ValueError, match=r"missing column\(s\) \['queue'\]"):
        draw(pop, 2, strata=["channel", "queue"], seed=1)
    bad = pop.copy()
    bad.loc[4, "channel"] = None
    with pytest.raises(ValueError, match=r"'channel': missing stratum values in row 4$"):
        draw(bad, 2, strata="channel", seed=1)
    bad = pop.copy()
    bad.loc[7, "ticket_id"] = None
    with pytest.raises(ValueError, match=r"'ticket_id': missing ticket ids in row 7$"):
        draw(bad, 2, strata="channel", seed=1)


def test_draw_rejects_negative_or_missing_weights_naming_rows():
    pop = _population()
    pop.loc[6, "risk"] = -1.0
    with pytest.raises(ValueError, match=r"'risk'.*non-negative.*row 6 \(risk=-1\.0\)"):
        draw(pop, 2, strata="channel", seed=1, size="risk")
    pop.loc[6, "risk"] = np.nan
    with pytest.raises(ValueError, match=r"'risk'.*row 6 \(risk=nan\)"):
        draw(pop, 2, strata="channel", seed=1, size="risk")


def test_draw_rejects_a_non_integer_seed():
    with pytest.raises(TypeError, match="seed"):
        draw(_population(), 2, strata="channel", seed=1.5)


# ---------------------------------------------------------------------------
# estimates
# ---------------------------------------------------------------------------


def test_estimate_rate_equals_textbook_stratified_mean_and_variance():
    """Cochran (1977) eq. 5.1 and 5.6: ybar_st = sum W_h ybar_h,
    V = sum W_h^2 (1 - f_h) s_h^2 / n_h; compared on random data to 1e-12."""
    rng = np.random.default_rng(4)
    N = {"a": 300, "b": 120, "c": 80}
    n = {"a": 30, "b": 15, "c": 9}
    rows = []
    for h in N:
        for y in rng.normal(70 + 5 * len(h), 8, n[h]):
            rows.append({"stratum": h, "score": y, "design_weight": N[h] / n[h]})
    df = pd.DataFrame(rows)
    e = estimate_rate(df, "score", strata="stratum")
    Ntot = sum(N.values())
    g = df.groupby("stratum")["score"]
    W = pd.Series(N) / Ntot
    ybar = (W * g.mean()).sum()
    var = (W**2 * (1 - pd.Series(n) / pd.Series(N)) * g.var(ddof=1) / pd.Series(n)).sum()
    assert e.estimate == pytest.approx(ybar, abs=1e-12)
    assert e.se == pytest.approx(np.sqrt(var), abs=1e-12)
    t = stats.t.ppf(0.975, len(df) - 3)
    assert e.estimate_ci_low == pytest.approx(ybar - t * np.sqrt(var), abs=1e-12)
    assert isinstance(e, Estimate) and e.n == len(df)


def test_estimate_rate_is_unbiased_and_covers_about_95_percent():
    """Stratified population with different pass rates per stratum; 400 seeded draws."""
    rng = np.random.default_rng(5)
    sizes = {"chat": 400, "email": 250, "phone": 150}
    rate = {"chat": 0.9, "email": 0.75, "phone": 0.6}
    pop = pd.DataFrame(
        {"ticket_id": np.arange(800), "channel": np.repeat(list(sizes), list(sizes.values()))}
    )
    pop["passed"] = (rng.uniform(size=800) < pop["channel"].map(rate)).astype(float)
    truth = pop["passed"].mean()
    n = allocate(pop.groupby("channel").size(), 80)
    est, cover = [], 0
    for seed in range(400):
        e = estimate_rate(draw(pop, n, strata="channel", seed=seed), "passed", strata="channel")
        est.append(e.estimate)
        cover += e.estimate_ci_low <= truth <= e.estimate_ci_high
    se_mc = np.std(est) / np.sqrt(len(est))
    assert abs(np.mean(est) - truth) < 3 * se_mc
    assert 0.91 <= cover / 400 <= 0.98


def test_estimate_rate_pps_weights_are_approximately_unbiased():
    rng = np.random.default_rng(6)
    pop = pd.DataFrame({"ticket_id": np.arange(600), "channel": np.repeat(["chat", "email"], 300)})
    pop["risk"] = rng.gamma(2.0, 1.0, 600) + 0.1
    pop["score"] = 60 + 5 * pop["risk"] + rng.normal(0, 5, 600)  # correlated with the size measure
    truth = pop["score"].mean()
    est = [
        estimate_rate(
            draw(pop, 20, strata="channel", seed=s, size="risk"), "score", strata="channel"
        ).estimate
        for s in range(300)
    ]
    assert abs(np.mean(est) - truth) < 3 * np.std(est) / np.sqrt(len(est))
    unweighted = np.mean(
        [draw(pop, 20, strata="channel", seed=s, size="risk")["score"].mean() for s in range(20)]
    )
    assert unweighted > truth + 2  # without the weights the oversampling would bias it


def test_estimate_rate_edge_cases_are_defined():
    empty = pd.DataFrame(
        {"passed": pd.Series([], dtype=float), "design_weight": pd.Series([], dtype=float)}
    )
    e = estimate_rate(empty, "passed")
    assert np.isnan(e.estimate) and e.n == 0 and "no observations" in e.note
    df = pd.DataFrame({"passed": [1.0, np.nan, 0.0, 1.0], "design_weight": 5.0})
    e = estimate_rate(df, "passed")
    assert e.n == 3 and "1 rows with missing 'passed' excluded" in e.note
    tiny = pd.DataFrame({"passed": [1.0, 1.0, 0.0], "design_weight": 10.0})
    e = estimate_rate(tiny, "passed")
    assert e.estimate_ci_low >= 0.0 and e.estimate_ci_high == 1.0 and "clipped" in e.note
    one = pd.DataFrame({"passed": [1.0], "design_weight": [3.0]})
    e = estimate_rate(one, "passed")
    assert e.estimate == 1.0 and np.isnan(e.se) and e.note
    with pytest.raises(ValueError, match=r"'design_weight'.*row 1 \(design_weight=-2\.0\)"):
        estimate_rate(pd.DataFrame({"passed": [1, 0], "design_weight": [1.0, -2.0]}), "passed")


# ---------------------------------------------------------------------------
# audit plan, calibration set, coverage
# ---------------------------------------------------------------------------


def test_audit_plan_gives_each_agent_its_quota_spread_by_channel_volume():
    t = _tickets()
    res = audit_plan(t, per_agent=5, seed=2026, size=None)
    plan = res.table
    per_agent = plan.groupby("agent_id").size()
    assert per_agent.to_dict() == {"a1": 5, "a2": 5, "a3": 5, "a4": 5, "a5": 5, "a6": 3}
    assert plan.loc[plan.agent_id == "a6", "take_all"].all()
    assert not plan.loc[plan.agent_id == "a1", "take_all"].any()
    assert res.n_short == 1 and res.n_agents == 6 and "1 of 6 agents" in res.note
    # a1's 5 audits follow its channel volumes by largest remainder
    vol = t[t.agent_id == "a1"].groupby("channel").size()
    expect = allocate(vol, 5)
    got = plan[plan.agent_id == "a1"].groupby("channel").size().reindex(vol.index, fill_value=0)
    assert got.tolist() == expect.tolist()
    assert {
        "ticket_id",
        "agent_id",
        "channel",
        "region",
        "queue",
        "inclusion_prob",
        "design_weight",
        "take_all",
    } <= set(plan.columns)
    assert plan["ticket_id"].is_unique


def test_audit_plan_is_reproducible_and_size_weighting_changes_it():
    t = _tickets()
    a = audit_plan(t, seed=1).table
    b = audit_plan(t.sample(frac=1.0, random_state=2), seed=1).table
    assert a["ticket_id"].tolist() == b["ticket_id"].tolist()
    t["risk"] = 6.0 - t["csat"]  # oversample low CSAT
    r = audit_plan(t, seed=1, size="risk").table
    assert r.groupby("agent_id").size().to_dict() == a.groupby("agent_id").size().to_dict()
    assert r["inclusion_prob"].nunique() > a["inclusion_prob"].nunique()
    csat = t.set_index("ticket_id")["csat"]
    assert csat[r["ticket_id"]].mean() < csat.mean() - 0.3


def _evaluations() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    crit = {"greeting": [0, 1], "empathy": [1, 2, 3, 4, 5], "resolution": [0, 1]}
    rows = []
    for i in range(30):
        ch = ["chat", "email", "phone"][i % 3]
        for c, scale in crit.items():
            rows.append(
                {
                    "ticket_id": f"T{i:03d}",
                    "channel": ch,
                    "criterion": c,
                    "score": float(rng.choice(scale, p=None if len(scale) == 5 else [0.2, 0.8])),
                }
            )
    return pd.DataFrame(rows)


def test_calibration_set_covers_every_criterion_pass_and_fail_and_mixes_channels():
    ev = _evaluations()
    res = calibration_set(ev, 6, seed=3)
    cs = res.table
    picked = ev[ev.ticket_id.isin(cs.ticket_id)]
    fails = picked.score < picked.groupby("criterion").score.transform("max")
    per = picked.assign(fail=fails).groupby("criterion")["fail"].agg(["any", "all"])
    assert per["any"].all() and not per["all"].any()
    assert cs["channel"].nunique() == 3
    assert res.uncovered == ()
    assert calibration_set(ev, 6, seed=3).table.equals(cs)


def test_calibration_set_uses_scorecard_pass_at_and_reports_uncoverable_cells():
    from qa_analysis.scorecard import Criterion, Scorecard

    sc = Scorecard(
        criteria=(
            Criterion("greeting", "Greeting", "Opening", (0, 1)),
            Criterion("empathy", "Empathy", "Soft skills", (1, 2, 3, 4, 5), pass_at=2),
            Criterion("resolution", "Resolution", "Outcome", (0, 1)),
        )
    )
    ev = _evaluations()
    ev.loc[ev.criterion == "greeting", "score"] = 1.0  # nobody fails greeting
    cs = calibration_set(ev, 5, seed=1, scorecard=sc)
    assert "greeting:fail" in cs.uncovered
    with pytest.raises(ValueError, match="larger than the number of scored tickets"):
        calibration_set(ev, 31, seed=1)


def test_coverage_counts_done_planned_unplanned_and_margins():
    plan = pd.DataFrame(
        {
            "ticket_id": [1, 2, 3, 4],
            "agent_id": ["a", "a", "a", "b"],
            "channel": "chat",
            "design_weight": [20.0, 20.0, 20.0, 4.0],
        }
    )
    ev = pd.DataFrame(
        {
            "ticket_id": [1, 1, 2, 9],
            "agent_id": ["a", "a", "a", "b"],
            "channel": "chat",
            "criterion": ["x", "y", "x", "x"],
        }
    )
    cov = coverage(plan, ev)
    a = cov.set_index("agent_id").loc["a"]
    assert (a.population, a.planned, a.done, a.unplanned) == (60, 3, 2, 0)
    assert a.completion == pytest.approx(2 / 3)
    assert a.moe_achieved == pytest.approx(margin_of_error(2, population=60))
    b = cov.set_index("agent_id").loc["b"]
    assert (b.planned, b.done, b.unplanned) == (1, 0, 1) and np.isnan(b.moe_achieved)


def test_audit_plan_signature_matches_the_cli_call():
    """cli.py calls audit_plan(tickets, per_agent=..., seed=..., size=...).table."""
    plan = audit_plan(_tickets(), per_agent=2, seed=7, size=None).table
    assert plan["agent_id"].nunique() == 6 and len(plan) == 12


# ---------------------------------------------------------------------------
# vocabulary: seeds, keyword-only arguments, result objects, type errors
# ---------------------------------------------------------------------------


def test_a_generator_seed_maps_to_one_63_bit_integer_drawn_from_it():
    pop = _population()
    g1, g2 = np.random.default_rng(123), np.random.default_rng(123)
    a = draw(pop, 3, strata="channel", seed=g1)
    b = draw(pop, 3, strata="channel", seed=g2)
    assert a["ticket_id"].tolist() == b["ticket_id"].tolist()  # equal seeds, equal draws
    as_int = int(np.random.default_rng(123).integers(0, 2**63, dtype=np.int64))
    c = draw(pop, 3, strata="channel", seed=as_int)
    assert c["ticket_id"].tolist() == a["ticket_id"].tolist()


def test_generator_and_none_seeds_work_in_every_seeded_function():
    t = _tickets()
    plan = audit_plan(t, per_agent=2, seed=np.random.default_rng(5))
    again = audit_plan(t, per_agent=2, seed=plan.seed)
    assert plan.table["ticket_id"].tolist() == again.table["ticket_id"].tolist()
    assert 0 <= plan.seed < 2**63
    assert len(audit_plan(t, per_agent=2, seed=None).table) == 12
    assert len(calibration_set(_evaluations(), 3, seed=np.random.default_rng(1)).table) == 3
    g = period_seed(np.random.default_rng(9), "2026-10")
    assert g == period_seed(np.random.default_rng(9), "2026-10")


def test_a_bool_or_float_seed_is_a_type_error():
    for bad in (True, 1.5, "7"):
        with pytest.raises(TypeError, match="seed"):
            audit_plan(_tickets(), seed=bad)


def test_sample_size_refuses_positional_arguments():
    with pytest.raises(TypeError):
        sample_size(0.85, 0.05)  # type: ignore[misc]
    with pytest.raises(TypeError):
        sample_size_mean(12.0, 2.0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        margin_of_error(100, 0.9)  # type: ignore[misc]
    assert sample_size(p=0.85, margin=0.05) == 196


@pytest.mark.parametrize(
    "call",
    [
        lambda x: draw(x, 1, seed=1),
        lambda x: audit_plan(x, seed=1),
        lambda x: calibration_set(x, 1, seed=1),
        lambda x: estimate_rate(x, "passed"),
        lambda x: coverage(x, x),
    ],
)
def test_non_dataframe_input_is_a_type_error(call):
    with pytest.raises(TypeError, match="DataFrame"):
        call({"ticket_id": [1, 2]})


def test_data_errors_derive_from_qa_error():
    from qa_analysis.errors import DataError, QAError

    pop = _population()
    pop.loc[5, "ticket_id"] = pop.loc[2, "ticket_id"]
    with pytest.raises(DataError) as info:
        draw(pop, 2, strata="channel", seed=1)
    assert isinstance(info.value, QAError) and info.value.source == "population"


def test_result_objects_have_a_short_repr():
    plan = audit_plan(_tickets(), per_agent=2, seed=7)
    assert repr(plan) == "AuditPlan(12 rows, per_agent=2, n_agents=6, n_short=0, seed=7)"
    assert "<table" in plan._repr_html_()
    cs = calibration_set(_evaluations(), 2, seed=1)
    assert repr(cs).startswith("CalibrationSet(2 rows, uncovered=")
    e = estimate_rate(pd.DataFrame({"passed": [1, 0, 1], "design_weight": 2.0}), "passed")
    assert repr(e).startswith("Estimate(0.6667 [") and "n=3" in repr(e)
