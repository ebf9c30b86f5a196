"""Seeded synthetic QA data with known, documented structure.

:func:`generate` builds the three input tables (production evaluations,
calibration ratings, ticket population) for five regions over twelve months;
:func:`write_demo` writes them as Parquet files plus one DuckDB database, the
default data source of the reports. The same seed always gives the same data.

The planted effects (see :data:`PLANTED` and :func:`generate`) are what the
reports must recover; the test suite checks that they do.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_analysis import settings
from qa_analysis._checks import Seed
from qa_analysis._checks import seed_int as _seed_int
from qa_analysis.io import write_parquet_atomic, write_text_atomic
from qa_analysis.sampling import audit_plan, period_seed
from qa_analysis.scorecard import Scorecard

DEFAULT_SEED = 20261101
SCORECARD_PATH = settings.resource_path("params", "scorecard.yaml")
#: File of SHA-256 digests of the demo's data files, written by :func:`write_demo`.
FINGERPRINT_FILE = "fingerprint.json"


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


REGIONS: dict[str, tuple[str, ...]] = {
    "EU": ("DE", "FR", "UK", "ES"),
    "NA": ("US", "CA"),
    "APAC": ("AU", "JP", "SG", "IN"),
    "LATAM": ("BR", "MX", "AR"),
    "MEA": ("AE", "ZA", "SA"),
}
CHANNELS = ("chat", "email", "phone")
QUEUES = ("billing", "technical", "account", "shipping")

#: The planted effects, with their sizes. ``generate(...).planted`` adds the rater ids.
PLANTED: dict[str, Any] = {
    "ambiguous_criterion": "empathy",
    "ambiguous_noise_sd": 2.4,  # rating noise (scale points) on the ambiguous criterion; others 0.35
    "rater_noise_sd": 0.35,
    "expert_noise_sd": 0.2,
    "expert_ambiguous_noise_sd": 0.6,  # even the expert is less sure on the ambiguous criterion
    "leniency": 0.9,  # <REGION>-S01 rates +0.9 scale points (latent) higher than the truth
    "severity": -0.9,  # <REGION>-S02 rates 0.9 lower
    "drop_region": "LATAM",
    "drop_start": "2026-08-03",  # a Monday; quality falls from this week on
    "drop_size": 0.8,  # latent quality units: the pass rate falls from about 82% to 62%
    "critical_channel": "phone",
    "critical_odds_ratio": 3.0,  # critical-error odds on phone vs other channels
    # each month's audit plan: sampling.per_agent tickets per agent (sampling.audit_plan)
    "audits_per_agent": settings.defaults()["sampling"]["per_agent"],
    "missed_audit_share": 0.04,  # planned audits that were never done
    "csat_slope": 0.45,  # CSAT points per latent quality unit: Spearman(QA score, CSAT) about 0.4
    "dispute_rate": 0.003,  # chance that a criterion rating below the top of its scale is disputed
    "dispute_rate_ambiguous": 0.04,  # ... on the ambiguous criterion (about 4% of evaluations)
    "overturn_rate": 0.2,  # share of resolved disputes accepted
    "overturn_rate_ambiguous": 0.6,  # ... of disputes on the ambiguous criterion
    "overturned_reviewer": "NA-S03",  # an unbiased-in-calibration reviewer whose scores are
    "overturn_rate_reviewer": 0.9,  # ... overturned far more often on appeal
    "dispute_factor_reviewer": 8.0,  # and whose ratings are disputed 8x as often
    "dispute_open_days": 10,  # disputes opened in the last 10 days of the data are still open
    "rubric_change": "2026-06-01",  # scorecard version 2026.2 takes effect (params/scorecard.yaml)
    "rubric_change_version": "2026.2",  # tone split into tone + language; documentation weight 2
}


@dataclass(frozen=True)
class DemoData:
    """The generated tables plus the scorecard and the planted effects."""

    evaluations: pd.DataFrame
    calibration: pd.DataFrame
    tickets: pd.DataFrame
    scorecard: Scorecard
    planted: dict[str, Any] = field(default_factory=dict)
    disputes: pd.DataFrame = field(default_factory=pd.DataFrame)


def generate(
    seed: Seed = DEFAULT_SEED, *, small: bool = False, scorecard: Scorecard | None = None
) -> DemoData:
    """Generate the demo data set.

    Parameters
    ----------
    seed : int, numpy Generator or None
        Random seed; the same int seed gives identical tables. A Generator
        gives one integer drawn from [0, 2**63) and None one from fresh
        entropy (as every seed in the package); ``planted["seed"]`` records
        the integer used, so any data set can be generated again.
    small
        A reduced set for tests and quick looks: 6 months (May-Oct 2026),
        24-30 agents and 4-5 specialists per region, 40 tickets per agent per
        month. The full set has 12 months (Nov 2025 - Oct 2026), 40-80 agents
        and 6-10 specialists per region and about 1,000 tickets per agent per
        month (about 3.6 million tickets).
    scorecard
        Defaults to ``params/scorecard.yaml``.

    Returns
    -------
    DemoData

    Notes
    -----
    Structure: five regions (EU, NA, APAC, LATAM, MEA) with 2-4 markets each;
    channels chat, email, phone; queues billing, technical, account, shipping.
    Every ticket has a latent quality ``q = agent skill + ticket noise``
    (skill ~ N(0, 0.5), noise ~ N(0, 1)). Production evaluations follow each
    month's audit plan (:func:`qa_analysis.sampling.audit_plan`, five tickets
    per agent spread over the agent's channels, seed
    ``sampling.period_seed(seed, "YYYY-MM")``), of which about 4% are missed;
    they score the ticket from ``q``: 1-5 items as
    ``round(4.3 + 0.7 q + e)`` (e ~ N(0, 0.6)), binary items pass with
    probability ``logistic(3.4 + 1.2 q)``, critical items fail with probability
    about 1% each (see below); about 82% of evaluations pass; criteria that allow N/A are empty 15% of the time.
    Each evaluation scores the criteria of the scorecard version in force on
    its date (see planted effect 7), clipped to that version's scales.
    Calibration sessions are held every second Thursday per region on 8-12 of
    the region's recent tickets; every specialist and the expert score every
    criterion of the version in force on the session date. A ticket x criterion has a true latent value ``z``; a rater
    reports ``z + bias + noise`` mapped onto the scale.

    Planted effects (sizes in :data:`PLANTED`):

    1. **Ambiguous criterion** ``empathy``: rating noise 2.4 scale points
       (0.35 elsewhere), so it has the lowest agreement in calibration.
    2. **Lenient and severe specialists**: in every region ``<REGION>-S01``
       rates 0.9 latent units above the truth (lenient) and ``<REGION>-S02``
       0.9 below (severe), on every criterion; the expert ``<REGION>-X01``
       has noise 0.2 (0.6 on the ambiguous criterion) and no bias; other specialists are unbiased.
    3. **Regional drop**: in LATAM, ticket quality falls by 0.8 latent units
       from the week of Monday 2026-08-03, a fall of about 20 points in the
       pass rate.
    4. **Critical errors by channel**: the odds of a critical fail (data
       privacy, wrong resolution) are 3x higher on phone than on chat and
       email.
    5. **CSAT link**: CSAT (1-5, answered on about 20% of tickets) is
       ``round(3.6 + 0.45 q + N(0, 1))``, so it rises with the QA score
       (Spearman about 0.4 on audited tickets).
    6. **Disputes**: a criterion rating below the top of its scale is disputed
       with probability 0.3% (4% on the ambiguous criterion ``empathy``), so
       about 3-6% of evaluations are disputed. Resolved disputes are accepted
       (the score rises one scale step) with probability 0.2, 0.6 on
       ``empathy`` and 0.9 for reviewer ``NA-S03``, whose ratings are also
       disputed 8x as often (unbiased in calibration: only the appeals show
       the problem); disputes opened in the last 10 days
       are still open. Table ``disputes`` (see :func:`qa_analysis.io.load_disputes`).
    7. **Rubric change** (a known special cause, not a quality change): the
       scorecard has two versions; from 2026-06-01 version ``2026.2`` splits
       "Tone and language" (``tone``) into "Tone" (``tone``, new wording) and
       "Language and grammar" (``language``, new) and re-weights
       ``documentation`` from 1 to 2. Evaluations and calibration sessions
       score the criteria of the version in force on their date (drawn from
       the same model as the other items), so ticket quality does not change
       at the rubric change: a report must show a phase break there, not a
       quality drop.

    Examples
    --------
    >>> d = generate(seed=1, small=True)
    >>> sorted(d.evaluations["region"].unique())
    ['APAC', 'EU', 'LATAM', 'MEA', 'NA']
    >>> d.planted["lenient_raters"][:2]
    ['APAC-S01', 'EU-S01']
    """
    seed = _seed_int(seed)
    if not isinstance(small, bool):
        raise TypeError(f"small must be True or False, got {type(small).__name__}")
    sc = scorecard or Scorecard.from_yaml(SCORECARD_PATH)
    # independent streams, so that changing one table's generation leaves the others as they were
    # (a fifth stream for disputes: spawn(5)[:4] equals spawn(4), so the first four are unchanged)
    rng_people, rng_tickets, rng_eval, rng_cal, rng_disp = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
    )
    if small:
        months = pd.period_range("2026-05", "2026-10", freq="M")
        agents_range, spec_range, tickets_per_month = (24, 31), (4, 6), 40
    else:
        months = pd.period_range("2025-11", "2026-10", freq="M")
        agents_range, spec_range, tickets_per_month = (40, 81), (6, 11), 1000

    agents, raters = _people(rng_people, agents_range, spec_range)
    tickets, q = _tickets(rng_tickets, agents, months, tickets_per_month)
    evaluations = _evaluations(rng_eval, sc, raters, tickets, q, months, seed)
    calibration = _calibration(rng_cal, sc, raters, tickets, q, months)
    disputes = _disputes(rng_disp, sc, evaluations, months)

    planted = dict(PLANTED)
    specialists = raters[raters["role"] == "specialist"]
    planted["lenient_raters"] = sorted(specialists.loc[specialists["bias"] > 0, "rater_id"])
    planted["severe_raters"] = sorted(specialists.loc[specialists["bias"] < 0, "rater_id"])
    planted["experts"] = sorted(raters.loc[raters["role"] == "expert", "rater_id"])
    planted["seed"] = seed
    planted["small"] = small
    planted["months"] = [str(m) for m in months]
    return DemoData(evaluations, calibration, tickets, sc, planted, disputes)


def write_demo(
    out: str | Path = "data/demo", *, seed: Seed = DEFAULT_SEED, small: bool = False
) -> dict[str, Path]:
    """Generate the demo data and write it to ``out``.

    Writes ``evaluations.parquet``, ``calibration.parquet``, ``tickets.parquet``,
    ``disputes.parquet``, ``qa.duckdb`` (tables ``evaluations``, ``calibration``,
    ``tickets``, ``disputes``, sorted
    by region and date so that region/date filters skip the rest) and
    ``planted.json``, and last ``fingerprint.json``: the SHA-256 of every data
    file, by which :func:`qa_analysis.report.data.is_demo_data` recognises the
    demo's content (only that content may use the public demo key). Every file
    is written to a temporary name and renamed.

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    import duckdb

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    d = generate(seed, small=small)
    tables = {
        "evaluations": d.evaluations.sort_values(
            ["region", "evaluated_at", "evaluation_id"], kind="stable"
        ),
        "calibration": d.calibration.sort_values(
            ["region", "session_date", "session_id"], kind="stable"
        ),
        "tickets": d.tickets.sort_values(["region", "created_at"], kind="stable"),
        "disputes": d.disputes,
    }
    paths: dict[str, Path] = {}
    for name, df in tables.items():
        # small row groups so that region/date filters can skip most of a file
        paths[name] = write_parquet_atomic(df, out / f"{name}.parquet", row_group_size=100_000)
    fd, tmp = tempfile.mkstemp(prefix=".qa.", suffix=".duckdb.tmp", dir=out)
    os.close(fd)
    os.unlink(tmp)  # duckdb must create the file itself
    try:
        with duckdb.connect(tmp) as con:
            for name, df in tables.items():
                con.register("_df", df)
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM _df")
                con.unregister("_df")
        os.replace(tmp, out / "qa.duckdb")
    finally:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + ".wal").unlink(missing_ok=True)
    paths["duckdb"] = out / "qa.duckdb"
    paths["planted"] = write_text_atomic(json.dumps(d.planted, indent=2), out / "planted.json")
    shutil.copyfile(SCORECARD_PATH, out / "scorecard.yaml")
    paths["scorecard"] = out / "scorecard.yaml"
    digests = {paths[k].name: file_digest(paths[k]) for k in (*tables, "duckdb")}
    paths["fingerprint"] = write_text_atomic(
        json.dumps({"sha256": digests}, indent=2), out / FINGERPRINT_FILE
    )
    return paths


# ---------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------
def _people(
    rng: np.random.Generator, agents_range, spec_range
) -> tuple[pd.DataFrame, pd.DataFrame]:
    agent_rows, rater_rows = [], []
    for region, markets in REGIONS.items():
        n_agents = int(rng.integers(*agents_range))
        n_spec = int(rng.integers(*spec_range))
        mix = rng.dirichlet([4, 3, 2], size=n_agents)  # channel shares per agent
        agent_rows.append(
            pd.DataFrame(
                {
                    "agent_id": [f"{region}-A{i:03d}" for i in range(1, n_agents + 1)],
                    "region": region,
                    "market": rng.choice(markets, size=n_agents),
                    "skill": rng.normal(0.0, 0.5, n_agents),
                    "p_chat": mix[:, 0],
                    "p_email": mix[:, 1],
                    "p_phone": mix[:, 2],
                }
            )
        )
        bias = np.zeros(n_spec + 1)
        bias[0], bias[1] = PLANTED["leniency"], PLANTED["severity"]
        rater_rows.append(
            pd.DataFrame(
                {
                    "rater_id": [f"{region}-S{i:02d}" for i in range(1, n_spec + 1)]
                    + [f"{region}-X01"],
                    "region": region,
                    "role": ["specialist"] * n_spec + ["expert"],
                    "bias": bias,
                }
            )
        )
    return pd.concat(agent_rows, ignore_index=True), pd.concat(rater_rows, ignore_index=True)


def _tickets(rng, agents: pd.DataFrame, months: pd.PeriodIndex, per_month: int):
    n_agents, n_months = len(agents), len(months)
    counts = rng.poisson(per_month, size=(n_agents, n_months)).clip(min=10)
    total = int(counts.sum())
    agent_idx = np.repeat(np.repeat(np.arange(n_agents), n_months), counts.ravel())
    month_idx = np.repeat(np.tile(np.arange(n_months), n_agents), counts.ravel())
    starts = months.start_time.to_numpy()[month_idx]
    span = (
        (months.end_time.to_numpy() - months.start_time.to_numpy())
        .astype("timedelta64[s]")
        .astype(np.int64)
    )
    created = starts + (rng.random(total) * span[month_idx]).astype("timedelta64[s]")
    u = rng.random(total)
    p = agents[["p_chat", "p_email"]].to_numpy()[agent_idx]
    channel_code = np.where(u < p[:, 0], 0, np.where(u < p[:, 0] + p[:, 1], 1, 2))
    drop_start = np.datetime64(PLANTED["drop_start"])
    region = agents["region"].to_numpy()[agent_idx]
    dropped = (region == PLANTED["drop_region"]) & (created >= drop_start)
    q = (
        agents["skill"].to_numpy()[agent_idx]
        + rng.normal(0.0, 1.0, total)
        - PLANTED["drop_size"] * dropped
    )
    responded = rng.random(total) < 0.2
    csat = np.clip(np.round(3.6 + PLANTED["csat_slope"] * q + rng.normal(0.0, 1.0, total)), 1, 5)
    tickets = pd.DataFrame(
        {
            "ticket_id": _ticket_ids(total),
            "agent_id": agents["agent_id"].to_numpy()[agent_idx],
            "region": region,
            "market": agents["market"].to_numpy()[agent_idx],
            "channel": np.asarray(CHANNELS, dtype=object)[channel_code],
            "queue": np.asarray(QUEUES, dtype=object)[
                rng.choice(4, size=total, p=[0.3, 0.35, 0.2, 0.15])
            ],
            "created_at": created.astype("datetime64[ns]"),
            "csat": np.where(responded, csat, np.nan),
            "handle_time_min": np.round(
                rng.lognormal(2.3, 0.6, total) * np.array([1.0, 1.6, 0.9])[channel_code], 1
            ),
        }
    )
    return tickets, q


def _ticket_ids(n: int) -> np.ndarray:
    """'T00000001'... built with pyarrow string kernels (much faster than Python formatting)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), width=8, padding="0")
    return pc.binary_join_element_wise("T", digits, "").to_numpy(zero_copy_only=False)


def _evaluations(
    rng,
    sc: Scorecard,
    raters,
    tickets: pd.DataFrame,
    q: np.ndarray,
    months: pd.PeriodIndex,
    seed: int,
) -> pd.DataFrame:
    # each month's audits follow that month's audit plan (five per agent, spread over the
    # agent's channels; qa_analysis.sampling.audit_plan with period_seed(seed, month)),
    # and about 4% of planned audits are missed, so coverage against the plan is realistic
    created = tickets["created_at"].to_numpy()
    month_code = created.astype("datetime64[M]").astype(np.int64)
    picks = []
    for m in months:  # twelve months
        sel = np.flatnonzero(month_code == np.datetime64(str(m), "M").astype(np.int64))
        plan = audit_plan(
            tickets.iloc[sel], per_agent=PLANTED["audits_per_agent"], seed=period_seed(seed, str(m))
        ).table
        pos = plan["ticket_id"].str.slice(1).astype(np.int64).to_numpy() - 1  # "T00000042" -> 41
        picks.append(pos[rng.random(pos.size) >= PLANTED["missed_audit_share"]])
    pick = np.sort(np.concatenate(picks))
    t = tickets.iloc[pick].reset_index(drop=True)
    qt = q[pick]
    n = len(t)
    spec = raters[raters["role"] == "specialist"]
    by_region = spec.groupby("region")["rater_id"].apply(np.asarray)
    reviewer = np.empty(n, dtype=object)
    for region, ids in by_region.items():  # five regions
        m = (t["region"] == region).to_numpy()
        reviewer[m] = rng.choice(ids, size=int(m.sum()))
    hours = rng.uniform(1, 72, n)
    meta = pd.DataFrame(
        {
            "evaluation_id": [f"E{i:07d}" for i in range(1, n + 1)],
            "ticket_id": t["ticket_id"].to_numpy(),
            "agent_id": t["agent_id"].to_numpy(),
            "reviewer_id": reviewer,
            "region": t["region"].to_numpy(),
            "market": t["market"].to_numpy(),
            "channel": t["channel"].to_numpy(),
            "queue": t["queue"].to_numpy(),
            "evaluated_at": (t["created_at"] + pd.to_timedelta(hours, unit="h")).dt.floor("s"),
            "csat": t["csat"].to_numpy(),
        }
    )
    phone = (meta["channel"] == PLANTED["critical_channel"]).to_numpy()
    # each evaluation is scored with the scorecard version in force on its date: every
    # criterion of any version is drawn for every row (one vectorised draw per criterion),
    # then the criteria its version does not have are dropped, and scores are clipped to
    # the scale of the row's own version
    vcode = sc.version_codes_at(meta["evaluated_at"].to_numpy())
    defined, lo_v, hi_v = _version_scales(sc)
    lo_all, hi_all = lo_v[vcode], hi_v[vcode]
    scores = np.empty((n, len(sc)), dtype=float)
    for j, c in enumerate(sc.criteria):  # every criterion of any version (a dozen)
        if c.critical:
            logit = 5.0 + 0.8 * qt - np.log(PLANTED["critical_odds_ratio"]) * phone
            s = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
        elif c.is_binary:
            s = (rng.random(n) < 1 / (1 + np.exp(-(3.4 + 1.2 * qt)))).astype(float)
        else:
            s = np.clip(
                np.round(4.3 + 0.7 * qt + rng.normal(0, 0.6, n)), lo_all[:, j], hi_all[:, j]
            )
        if c.na_allowed:
            s[rng.random(n) < 0.15] = np.nan
        scores[:, j] = s
    keep = defined[vcode].ravel()  # (n x criteria): the criterion is on the row's version
    long = meta.loc[meta.index.repeat(len(sc))].reset_index(drop=True)
    long.insert(9, "criterion", np.tile(np.asarray(sc.ids, dtype=object), n))
    long.insert(10, "score", scores.ravel())
    long = long.loc[keep].reset_index(drop=True)
    return long


def _version_scales(sc: Scorecard) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(versions x criteria of ``sc.ids``): criterion on the version, scale minimum, maximum."""
    pos = {c: j for j, c in enumerate(sc.ids)}
    shape = (len(sc.versions), len(sc))
    defined, lo, hi = np.zeros(shape, dtype=bool), np.zeros(shape), np.ones(shape)
    for i, v in enumerate(sc.versions):  # a few versions x a dozen criteria
        for c in v.criteria:
            defined[i, pos[c.id]] = True
            lo[i, pos[c.id]], hi[i, pos[c.id]] = c.min, c.max
    return defined, lo, hi


def _calibration(
    rng,
    sc: Scorecard,
    raters: pd.DataFrame,
    tickets: pd.DataFrame,
    q: np.ndarray,
    months: pd.PeriodIndex,
) -> pd.DataFrame:
    first = months[0].start_time
    first_thursday = first + pd.Timedelta(days=(3 - first.weekday()) % 7)
    dates = pd.date_range(first_thursday, months[-1].end_time, freq="14D")
    frames = []
    created = tickets["created_at"].to_numpy()
    region_of = tickets["region"].to_numpy()
    ids = tickets["ticket_id"].to_numpy()
    for region in REGIONS:  # five regions
        pool = np.flatnonzero(region_of == region)
        pool_created = created[pool]
        crew = raters[raters["region"] == region]
        for d in dates:  # ~26 sessions per region
            lo, hi = (d - pd.Timedelta(days=14)).to_datetime64(), d.to_datetime64()
            window = pool[(pool_created < hi) & (pool_created >= lo)]
            if window.size == 0:  # the first session: use the tickets of its first fortnight
                window = pool[pool_created < hi + np.timedelta64(14, "D")]
            k = int(rng.integers(8, 13))
            chosen = rng.choice(window, size=min(k, window.size), replace=False)
            # a session rates every criterion of the scorecard version in force on its date
            version = sc.version_at(d)
            frames.append(_session(rng, version, region, d, ids[chosen], q[chosen], crew))
    return pd.concat(frames, ignore_index=True)


def _session(
    rng, sc: Scorecard, region: str, date: pd.Timestamp, ticket_ids, q, crew
) -> pd.DataFrame:
    n_t, n_c, n_r = len(ticket_ids), len(sc), len(crew)
    # true latent value per ticket x criterion: ticket quality plus criterion-specific variation
    z = 0.6 * q[:, None] + rng.normal(0, 0.9, (n_t, n_c))
    noise_sd = np.array(
        [
            PLANTED["ambiguous_noise_sd"]
            if c.id == PLANTED["ambiguous_criterion"]
            else PLANTED["rater_noise_sd"]
            for c in sc.criteria
        ]
    )
    expert = (crew["role"] == "expert").to_numpy()
    expert_sd = np.where(
        noise_sd > PLANTED["rater_noise_sd"],
        PLANTED["expert_ambiguous_noise_sd"],
        PLANTED["expert_noise_sd"],
    )
    sd = np.where(expert[:, None], expert_sd[None, :], noise_sd[None, :])
    bias = crew["bias"].to_numpy()
    seen = z[:, None, :] + bias[None, :, None] + rng.normal(0, 1, (n_t, n_r, n_c)) * sd[None, :, :]
    scores = np.empty_like(seen)
    for j, c in enumerate(sc.criteria):  # twelve criteria
        if c.is_binary:
            cut = -0.3 if not c.critical else -0.5
            scores[..., j] = np.where(seen[..., j] > cut, c.max, c.min)
        else:
            scores[..., j] = np.clip(np.round(3.5 + seen[..., j]), c.min, c.max)
        if c.na_allowed:
            na_ticket = rng.random(n_t) < 0.1
            scores[na_ticket, :, j] = np.nan
    n = n_t * n_r * n_c
    return pd.DataFrame(
        {
            "session_id": f"{region}-CAL-{date:%Y%m%d}",
            "session_date": np.full(n, date.to_datetime64()).astype("datetime64[ns]"),
            "region": region,
            "ticket_id": np.repeat(ticket_ids, n_r * n_c),
            "rater_id": np.tile(np.repeat(crew["rater_id"].to_numpy(), n_c), n_t),
            "role": np.tile(np.repeat(crew["role"].to_numpy(), n_c), n_t),
            "criterion": np.tile(np.asarray(sc.ids, dtype=object), n_t * n_r),
            "score": scores.ravel(),
        }
    )


def _disputes(
    rng, sc: Scorecard, evaluations: pd.DataFrame, months: pd.PeriodIndex
) -> pd.DataFrame:
    score = evaluations["score"].to_numpy(dtype=float)
    crit = evaluations["criterion"].to_numpy()
    top = evaluations["criterion"].map({c.id: c.max for c in sc.criteria}).to_numpy(dtype=float)
    ambiguous = crit == PLANTED["ambiguous_criterion"]
    p = np.where(ambiguous, PLANTED["dispute_rate_ambiguous"], PLANTED["dispute_rate"])
    p = p * np.where(
        evaluations["reviewer_id"].to_numpy() == PLANTED["overturned_reviewer"],
        PLANTED["dispute_factor_reviewer"],
        1.0,
    )
    candidate = ~np.isnan(score) & (score < top)
    pick = np.flatnonzero(candidate & (rng.random(len(score)) < p))
    d = evaluations.iloc[pick]
    d = d.loc[~d["evaluation_id"].duplicated()]  # one disputed criterion per evaluation
    n = len(d)
    amb = (d["criterion"] == PLANTED["ambiguous_criterion"]).to_numpy()
    hot = (d["reviewer_id"] == PLANTED["overturned_reviewer"]).to_numpy()
    p_over = np.where(
        hot,
        PLANTED["overturn_rate_reviewer"],
        np.where(amb, PLANTED["overturn_rate_ambiguous"], PLANTED["overturn_rate"]),
    )
    opened = d["evaluated_at"] + pd.to_timedelta(rng.uniform(0.2, 5.0, n), unit="D")
    opened = opened.dt.floor("s")
    days = rng.lognormal(np.log(3.0), 0.7, n)
    resolved = (opened + pd.to_timedelta(days, unit="D")).dt.floor("s")
    end = months[-1].end_time
    still_open = (opened > end - pd.Timedelta(days=PLANTED["dispute_open_days"])).to_numpy()
    accepted = rng.random(n) < p_over
    status = np.where(still_open, "open", np.where(accepted, "accepted", "rejected"))
    orig = d["score"].to_numpy(dtype=float)
    final = np.where(status == "accepted", orig + 1.0, np.where(status == "open", np.nan, orig))
    return pd.DataFrame(
        {
            "dispute_id": [f"D{i:06d}" for i in range(1, n + 1)],
            "evaluation_id": d["evaluation_id"].to_numpy(),
            "criterion": d["criterion"].to_numpy(),
            "opened_at": opened.to_numpy().astype("datetime64[ns]"),
            "resolved_at": resolved.where(~still_open).to_numpy().astype("datetime64[ns]"),
            "status": status.astype(object),
            "original_score": orig,
            "final_score": final,
            "opened_by": np.where(rng.random(n) < 0.8, "agent", "team_lead").astype(object),
        }
    )
