"""Benchmark: scoring + weekly aggregation on a year of long evaluation rows.

Times ``score_evaluations`` (weighted scores, critical fails, pass/fail) followed
by a weekly ``aggregate`` by region and market on 12 months x 2,000,000 long rows
(evaluation x criterion, about 167,000 evaluations on the demo scorecard), and a
plain pandas baseline on the same rows: a groupby mean of the score by evaluation,
then a groupby mean by week, region and market. The baseline computes far less
(an unweighted mean, no N/A handling, no critical fails, no intervals, no gap
filling); the ratio shows what the full computation costs on top of it.

Run: ``.venv/bin/python benchmarks/bench_trends.py [--quick] [--rows N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from qa_analysis.scorecard import Scorecard, score_evaluations
from qa_analysis.trends import aggregate

ROOT = Path(__file__).resolve().parent.parent
REGIONS = {
    "EU": ("DE", "FR", "UK", "ES"),
    "NA": ("US", "CA"),
    "APAC": ("AU", "JP", "SG", "IN"),
    "LATAM": ("BR", "MX", "AR"),
    "MEA": ("AE", "ZA", "SA"),
}


def make_rows(n_rows: int, sc: Scorecard, seed: int = 1) -> pd.DataFrame:
    """Synthetic long evaluations: n_rows // len(scorecard) evaluations over 12 months."""
    rng = np.random.default_rng(seed)
    k = len(sc)
    n_eval = n_rows // k
    markets = [(r, m) for r, ms in REGIONS.items() for m in ms]
    mi = rng.integers(0, len(markets), n_eval)
    region = np.array([r for r, _ in markets], dtype=object)[mi]
    market = np.array([m for _, m in markets], dtype=object)[mi]
    start = np.datetime64("2025-11-01T00:00:00")
    when = start + rng.integers(0, 365 * 24 * 3600, n_eval).astype("timedelta64[s]")
    ids = np.char.add("E", np.char.zfill(np.arange(n_eval).astype(str), 7))
    meta = pd.DataFrame(
        {
            "evaluation_id": ids,
            "agent_id": np.char.add("A", rng.integers(0, 2000, n_eval).astype(str)),
            "region": region,
            "market": market,
            "channel": rng.choice(np.array(["chat", "email", "phone"], dtype=object), n_eval),
            "evaluated_at": when.astype("datetime64[ns]"),
        }
    )
    long = meta.loc[meta.index.repeat(k)].reset_index(drop=True)
    long["criterion"] = np.tile(np.array(sc.ids, dtype=object), n_eval)
    score = np.empty(n_eval * k)
    for j, c in enumerate(sc.criteria):
        scale = np.asarray(c.scale, dtype=float)
        p = np.linspace(1, 6, len(scale)) ** 2
        v = rng.choice(scale, n_eval, p=p / p.sum())
        if c.na_allowed:
            v[rng.random(n_eval) < 0.15] = np.nan
        score[j::k] = v
    long["score"] = score
    return long


def ours(long: pd.DataFrame, sc: Scorecard) -> pd.DataFrame:
    scores = score_evaluations(long, sc)
    return aggregate(scores, by=("region", "market"), freq="W")


def peer(long: pd.DataFrame) -> pd.DataFrame:
    per_eval = long.groupby("evaluation_id", sort=False).agg(
        score=("score", "mean"),
        region=("region", "first"),
        market=("market", "first"),
        evaluated_at=("evaluated_at", "first"),
    )
    week = per_eval["evaluated_at"].dt.to_period("W-SUN").dt.start_time
    return per_eval.groupby([week, per_eval["region"], per_eval["market"]])["score"].mean()


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 rows, 2 repeats")
    ap.add_argument("--rows", type=int, default=None, help="long rows (default 2,000,000)")
    ap.add_argument("--repeat", type=int, default=None, help="best of N (default 5)")
    args = ap.parse_args()
    rows = args.rows or (200_000 if args.quick else 2_000_000)
    repeat = args.repeat or (2 if args.quick else 5)
    sc = Scorecard.from_yaml(ROOT / "params" / "scorecard.yaml")
    t0 = time.perf_counter()
    long = make_rows(rows, sc)
    print(
        f"rows: {len(long):,} long ({long['evaluation_id'].nunique():,} evaluations, "
        f"{len(sc)} criteria), built in {time.perf_counter() - t0:.1f} s"
    )
    out = ours(long, sc)  # warm-up
    ref = peer(long)
    print(f"output: {len(out):,} week x region x market rows (peer {len(ref):,})")
    t_ours = best_of(lambda: ours(long, sc), repeat)
    t_score = best_of(lambda: score_evaluations(long, sc), repeat)
    t_peer = best_of(lambda: peer(long), repeat)
    print(f"score_evaluations alone            : {t_score:7.3f} s")
    print(f"score_evaluations + aggregate (ours): {t_ours:7.3f} s  (target < 5 s)")
    print(f"plain pandas groupby means (peer)   : {t_peer:7.3f} s")
    print(f"ratio ours / peer                   : {t_ours / t_peer:7.2f}x (best of {repeat})")


if __name__ == "__main__":
    main()
