"""The performance report's data step from a warehouse: push-down vs pandas-first.

The data step of one region-month performance report is: the evaluations of
the report month and its history (row by row, for scoring), the ticket counts
per agent x channel stratum (the audit plan's population), the weekly
evaluation counts and the tickets / evaluations per agent. It runs

* ``duckdb push-down``: :class:`qa_analysis.sources.Source` on a DuckDB file;
* ``postgres push-down``: the same on a temporary PostgreSQL server;
* ``pandas-first (duckdb)`` / ``pandas-first (postgres)``: every row of both
  tables brought into pandas, then validated, filtered and counted there.

The data are ``--scale`` copies of the demo (agents, tickets and evaluations
copied under new ids), ``--base small`` (default) or ``full``. Prints the best
of ``--repeat`` wall times, the ratio to the DuckDB push-down, and the rows
and Arrow bytes that came back from the engine.

    .venv/bin/python benchmarks/bench_sources.py [--scale 10] [--base small]
        [--postgres-url postgresql://...]   # default: a temporary server

Without ``--postgres-url`` the temporary server is started with
tests/conftest_postgres.py (initdb / pg_ctl; as root the server runs as
``nobody``). Without PostgreSQL binaries the PostgreSQL rows are skipped.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from qa_analysis import io, sources
from qa_analysis.demo import generate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

REGION = "EU"
START, END, HISTORY_START = "2026-10-01", "2026-10-31", "2026-04-01"


def scaled(scale: int, small: bool, seed: int) -> dict[str, pd.DataFrame]:
    d = generate(seed, small=small)
    out = {}
    for name, df, ids in [
        ("evaluations", d.evaluations, ("evaluation_id", "ticket_id", "agent_id")),
        ("tickets", d.tickets, ("ticket_id", "agent_id")),
    ]:
        copies = []
        for k in range(scale):
            c = df.copy()
            for col in ids:
                c[col] = c[col] + (f"-{k}" if k else "")
            copies.append(c)
        out[name] = pd.concat(copies, ignore_index=True)
    return out


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def pushdown(url: str) -> tuple[int, int]:
    with sources.open_source(url) as src:
        src.load("evaluations", region=REGION, start=HISTORY_START, end=END)
        src.ticket_strata(REGION, START, END)
        src.weekly(REGION, HISTORY_START, END)
        src.per_agent(REGION, START, END)
        moved = src.transfers
    return sum(t.rows for t in moved), sum(t.nbytes for t in moved)


def pandas_first(url: str) -> tuple[int, int]:
    with sources.open_source(url) as src:  # every row of both tables, nothing pushed down
        ev_raw = src.fetch(src.table("evaluations"), "evaluations")
        tk_raw = src.fetch(src.table("tickets"), "tickets")
        moved = src.transfers
    ev = io.load_evaluations(ev_raw, region=REGION, start=HISTORY_START, end=END)
    tk = io.load_tickets(tk_raw, region=REGION, start=START, end=END)
    tk.groupby(["agent_id", "channel"]).size()
    d = ev["evaluated_at"].dt.normalize()
    week = d - pd.to_timedelta(d.dt.day_of_week, unit="D")
    ev.groupby(week).agg(n=("evaluation_id", "nunique"), a=("agent_id", "nunique"))
    month = ev.loc[ev["evaluated_at"] >= pd.Timestamp(START)]
    pd.concat(
        [tk.groupby("agent_id").size(), month.groupby("agent_id")["evaluation_id"].nunique()],
        axis=1,
    )
    return sum(t.rows for t in moved), sum(t.nbytes for t in moved)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--base", choices=("small", "full"), default="small")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--postgres-url", default=None)
    args = ap.parse_args()

    t = time.perf_counter()
    frames = scaled(args.scale, args.base == "small", args.seed)
    print(
        f"data: {args.scale} x the {args.base} demo: {len(frames['evaluations']):,} evaluation "
        f"rows, {len(frames['tickets']):,} tickets (built in {time.perf_counter() - t:.1f} s)"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    duck = f"duckdb://{folder / 'qa.duckdb'}"
    sources.write_tables(duck, frames)
    urls = {"duckdb": duck}

    server = None
    if args.postgres_url:
        urls["postgres"] = args.postgres_url
    else:
        import conftest_postgres as pgfix

        bindir = pgfix.find_bindir()
        if bindir is None:
            print("PostgreSQL: no server binaries, skipped")
        else:
            server = pgfix.start_server(bindir)
            urls["postgres"] = server.url
    try:
        if "postgres" in urls:
            t = time.perf_counter()
            sources.write_tables(urls["postgres"], frames)
            print(f"loaded into PostgreSQL with COPY in {time.perf_counter() - t:.1f} s")
        rows = []
        for engine, url in urls.items():
            for route, fn in (("push-down", pushdown), ("pandas-first", pandas_first)):
                secs, (n, nbytes) = best_of(lambda fn=fn, url=url: fn(url), args.repeat)
                rows.append((f"{engine} {route}", secs, n, nbytes))
    finally:
        if server is not None:
            pgfix.stop_server(server)
    base = rows[0][1]
    print(
        f"\nregion {REGION}, month {START[:7]}, history from {HISTORY_START}; best of {args.repeat}"
    )
    print(f"{'route':<24}{'seconds':>10}{'x duckdb push-down':>20}{'rows back':>12}{'MB back':>10}")
    for name, secs, n, nbytes in rows:
        print(f"{name:<24}{secs:>10.3f}{secs / base:>20.1f}{n:>12,}{nbytes / 1e6:>10.2f}")
    by = {name: (secs, nbytes) for name, secs, _, nbytes in rows}
    for engine in urls:
        s_p, b_p = by[f"{engine} push-down"]
        s_f, b_f = by[f"{engine} pandas-first"]
        print(
            f"{engine}: push-down is {s_f / s_p:.1f}x faster and moves "
            f"{b_f / max(b_p, 1):.0f}x fewer bytes than pandas-first"
        )


if __name__ == "__main__":
    main()
