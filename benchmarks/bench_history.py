"""Load time of the history store for 24 months x 5 regions (issue 12: well under a second).

Writes 24 synthetic period folders (5 regions each, the real KPI file layout)
into a temporary folder, then prints the time of ``rebuild_history``,
``update_history`` (one month), ``load_history`` (24 and 12 months) and of
writing the summary page. Best of five.

    .venv/bin/python benchmarks/bench_history.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from kpi_folders import write_period

from qa_analysis.batch.history import (
    load_history,
    rebuild_history,
    update_history,
)
from qa_analysis.batch.summary import write_summary

REGIONS = ("APAC", "EU", "LATAM", "MEA", "NA")


def best_of(fn, repeat=5):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    periods = [str(p) for p in pd.period_range("2024-11", "2026-10", freq="M")]
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        for i, p in enumerate(periods):
            write_period(out, p, {r: 0.8 + (i % 7) / 100 for r in REGIONS})
        t_rebuild, _ = best_of(lambda: rebuild_history(out), repeat=2)
        t_update, _ = best_of(lambda: update_history(out, periods[-1]))
        t24, h24 = best_of(lambda: load_history(out, months=24))
        t12, h12 = best_of(lambda: load_history(out, months=12))
        t_sum, _ = best_of(lambda: write_summary(out / periods[-1], h12, amber_band=0.02))
    print(f"periods x regions:            {len(periods)} x {len(REGIONS)} (+ global)")
    print(f"rebuild_history (all folders): {t_rebuild * 1000:8.1f} ms")
    print(f"update_history (one month):    {t_update * 1000:8.1f} ms")
    print(f"load_history(months=24):       {t24 * 1000:8.1f} ms  ({len(h24)} rows)")
    print(f"load_history(months=12):       {t12 * 1000:8.1f} ms  ({len(h12)} rows)")
    print(f"write_summary (page + digest): {t_sum * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
