"""Benchmark qa_analysis.reliability against the `krippendorff` package.

Run:  .venv/bin/python benchmarks/bench_reliability.py [--quick]

Data: 5 raters, 5 levels (1-5), 10% missing, long table (ticket_id, rater_id, score).
Goals (from issue #3):
  1. point alpha at 1,000,000 units, end to end from the long table, >= 3x faster than
     `df.pivot(...)` + `krippendorff.alpha` (nominal and interval);
  2. a 1,000-resample bootstrap interval at 1,000,000 units costs <= 3x our point estimate;
  3. 100,000 units with 101 distinct values (interval): < 2 s and < 1 GB;
  4. agreement_by_item with 95% intervals, 15 criteria x 200 tickets x 10 raters: < 1 s.
Timings are best-of-N wall clock (the machine is shared; expect noise).
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

from qa_analysis import reliability as rl


def long_table(
    n_units: int,
    n_raters: int = 5,
    levels: int = 5,
    missing: float = 0.1,
    seed: int = 0,
    str_ids: bool = True,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, levels, n_units)
    noise = rng.integers(-1, 2, (n_units, n_raters)) * (rng.random((n_units, n_raters)) < 0.3)
    score = (np.clip(truth[:, None] + noise, 0, levels - 1) + 1).astype(float).ravel()
    score[rng.random(score.size) < missing] = np.nan
    units = np.repeat(np.arange(n_units), n_raters)
    ticket = pd.Series(units).map("T{:08d}".format) if str_ids else units
    raters = np.array([f"R{i:02d}" for i in range(n_raters)], dtype=object)
    return pd.DataFrame(
        {
            "ticket_id": ticket,
            "rater_id": pd.Series(np.tile(raters, n_units), dtype="str"),
            "score": score,
        }
    )


def best_of(fn, n: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(n):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smaller data, fewer repeats")
    args = ap.parse_args()
    big = 100_000 if args.quick else 1_000_000
    reps = 2 if args.quick else 3
    import krippendorff

    print(
        f"qa_analysis.reliability benchmark ({'quick' if args.quick else 'full'}): "
        f"{big:,} units x 5 raters, 5 levels, 10% missing, best of {reps}"
    )
    df_int = long_table(big, str_ids=False)
    df = long_table(big)

    # 1. point alpha vs pivot + krippendorff.alpha
    for ids, level in [
        ("str", "nominal"),
        ("str", "interval"),
        ("int", "nominal"),
        ("int", "interval"),
    ]:
        df1 = df if ids == "str" else df_int
        t_ours, ours = best_of(
            lambda lv=level, d=df1: rl.krippendorff_alpha(d, level=lv, confidence=None), reps
        )

        def peer(lv=level, d=df1):
            wide = d.pivot(index="rater_id", columns="ticket_id", values="score")
            return krippendorff.alpha(wide.to_numpy(), level_of_measurement=lv)

        t_peer, theirs = best_of(peer, reps)
        assert abs(ours.estimate - theirs) < 1e-9, (ours.estimate, theirs)
        ratio = t_peer / t_ours
        print(
            f"[1] point alpha {level:8s} ({ids} ticket ids): ours {t_ours:6.3f} s, pivot+krippendorff {t_peer:6.3f} s, "
            f"speed-up {ratio:5.1f}x (goal >= 3x: {verdict(ratio >= 3)})"
        )

    # 2. bootstrap cost relative to the point estimate
    for level in ("nominal", "interval"):
        t_point, _ = best_of(
            lambda lv=level: rl.krippendorff_alpha(df, level=lv, confidence=None), reps
        )
        t_boot, res = best_of(
            lambda lv=level: rl.krippendorff_alpha(
                df, level=lv, confidence=0.95, n_boot=1000, seed=1
            ),
            reps,
        )
        ratio = t_boot / t_point
        print(
            f"[2] 1000-resample bootstrap {level:8s}: {t_boot:6.3f} s vs point {t_point:6.3f} s, "
            f"ratio {ratio:4.2f} (goal <= 3: {verdict(ratio <= 3)}); "
            f"alpha {res.estimate:.4f} [{res.ci_low:.4f}, {res.ci_high:.4f}]"
        )
    df = df_int = df1 = None
    gc.collect()

    # 3. many distinct values
    n3 = 20_000 if args.quick else 100_000
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 101, n3)
    vals = np.clip(truth[:, None] + rng.integers(-8, 9, (n3, 5)), 0, 100).astype(float).ravel()
    vals[rng.random(vals.size) < 0.1] = np.nan
    df3 = pd.DataFrame(
        {
            "ticket_id": np.repeat(np.arange(n3), 5),
            "rater_id": np.tile(np.array(["a", "b", "c", "d", "e"], dtype=object), n3),
            "score": vals,
        }
    )
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    t3, res3 = best_of(lambda: rl.krippendorff_alpha(df3, level="interval", confidence=None), 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ok = t3 < 2 and peak < 1024**3
    print(
        f"[3] {n3:,} units x 101 values, interval: {t3:6.3f} s, peak traced memory "
        f"{peak / 1024**2:7.1f} MB (process max RSS {rss0:.0f} -> {rss1:.0f} MB) "
        f"(goal < 2 s and < 1 GB: {verdict(ok)}); alpha {res3.estimate:.4f}"
    )
    tb, resb = best_of(
        lambda: rl.krippendorff_alpha(df3, level="interval", confidence=0.95, n_boot=1000), 1
    )
    print(
        f"    (info) same with a 1000-resample interval (unit resampling): {tb:6.3f} s, "
        f"[{resb.ci_low:.4f}, {resb.ci_high:.4f}]"
    )

    # 4. agreement_by_item
    rng = np.random.default_rng(4)
    frames = []
    for i in range(15):
        binary = i % 3 == 0
        lv = 2 if binary else 5
        t = long_table(200, n_raters=10, levels=lv, missing=0.05, seed=100 + i, str_ids=True)
        if binary:
            t["score"] -= 1
        t["criterion"] = f"c{i:02d}"
        frames.append(t)
    calib = pd.concat(frames, ignore_index=True)
    levels = {f"c{i:02d}": ("nominal" if i % 3 == 0 else "ordinal") for i in range(15)}
    t4, tab = best_of(
        lambda: rl.agreement_by_item(calib, levels=levels, confidence=0.95, n_boot=1000), reps
    )
    print(
        f"[4] agreement_by_item, 15 criteria x 200 tickets x 10 raters, 95% CIs (1000 resamples): "
        f"{t4:6.3f} s (goal < 1 s: {verdict(t4 < 1)}); {len(tab)} rows"
    )


if __name__ == "__main__":
    main()
