"""Loading one region and one month from the demo data reads only that slice.

Prints, for the demo DuckDB database and the Parquet files: rows in the table,
row groups scanned vs total (from DuckDB's profiler), rows returned, and the
time of a filtered load against loading the whole table and filtering in pandas.

    .venv/bin/python benchmarks/bench_io.py [--data data/demo]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from qa_analysis import io


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def scan_stats(source: str, kind: str, region: str, start: str, end: str) -> dict:
    sql, params = io.load_query(kind, source, region=region, start=start, end=end)
    prof = Path(tempfile.mkdtemp()) / "profile.json"
    con = duckdb.connect(source, read_only=True) if source.endswith(".duckdb") else duckdb.connect()
    with con:
        con.execute("PRAGMA enable_profiling='json'")
        con.execute(f"PRAGMA profiling_output='{prof}'")
        con.execute(sql, params).fetchall()
    plan = json.loads(prof.read_text())

    def walk(node):
        if "SCAN" in str(node.get("type", "")) or "READ_PARQUET" in str(node.get("type", "")):
            yield node
        for c in node.get("children", []):
            yield from walk(c)

    scan = next(s for top in plan["operator"] for s in walk(top))
    return {
        k: scan.get(k)
        for k in (
            "type",
            "rows_scanned",
            "row_groups_scanned",
            "total_row_groups_to_scan",
            "intermediate_rows",
        )
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/demo")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "qa.duckdb").exists():
        raise SystemExit(f"no demo data in {data}: run `make demo` first")
    region, start, end = "EU", "2026-10-01", "2026-10-31"
    print(f"slice: region={region}, {start}..{end}\n")
    loaders = {"evaluations": io.load_evaluations, "tickets": io.load_tickets}
    for kind, load in loaders.items():
        for source in (str(data / "qa.duckdb"), str(data / f"{kind}.parquet")):
            t_slice, df = best_of(
                lambda load=load, source=source: load(source, region=region, start=start, end=end)
            )
            t_all, full = best_of(lambda load=load, source=source: load(source), repeat=1)
            sel = full[
                (full["region"] == region)
                & (full[io.SCHEMAS[kind].date_filter] >= start)
                & (full[io.SCHEMAS[kind].date_filter] < pd.Timestamp(end) + pd.Timedelta(days=1))
            ]
            assert len(sel) == len(df), "pushdown changed the result"
            st = scan_stats(source, kind, region, start, end)
            print(
                f"{kind:12} {Path(source).name:22} table rows {len(full):>9,}  slice rows {len(df):>7,}  "
                f"row groups scanned {st['row_groups_scanned']}/{st['total_row_groups_to_scan']}  "
                f"load slice {t_slice:6.3f} s  load all + filter {t_all:6.3f} s  "
                f"ratio {t_all / t_slice:5.1f}x"
            )


if __name__ == "__main__":
    main()
