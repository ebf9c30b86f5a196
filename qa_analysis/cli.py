"""The ``qa-reports`` command.

Subcommands
-----------
demo     write the seeded demo data set (Parquet files + one DuckDB database)
sample   write next period's audit plan from a ticket export
run      run the monthly report batch (papermill per region, HTML, index)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from qa_analysis import demo

    paths = demo.write_demo(args.out, seed=args.seed, small=args.small)
    for name, path in paths.items():
        print(f"{name:>12}: {path}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from qa_analysis import io, sampling

    tickets = io.load_tickets(
        args.tickets, table=args.table, region=args.region, start=args.start, end=args.end
    )
    plan = sampling.audit_plan(tickets, per_agent=args.per_agent, seed=args.seed, risk=args.risk)
    out = Path(args.out)
    io.write_csv_atomic(plan, out)
    print(f"audit plan: {len(plan)} tickets for {plan['agent_id'].nunique()} agents -> {out}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from qa_analysis import reports

    return reports.main_run(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa-reports", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="write the seeded demo data set")
    d.add_argument("--out", default="data/demo", help="output folder (default: data/demo)")
    d.add_argument("--seed", type=int, default=20261101, help="random seed")
    d.add_argument("--small", action="store_true", help="a small set (tests, quick looks)")
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("sample", help="write an audit plan from a ticket export")
    s.add_argument("--tickets", required=True, help="CSV/Parquet path or glob, or a DuckDB file")
    s.add_argument("--table", default=None, help="table name when --tickets is a DuckDB file")
    s.add_argument("--per-agent", type=int, default=5, help="audits per agent (default 5)")
    s.add_argument("--seed", type=int, required=True, help="random seed (same seed, same plan)")
    s.add_argument("--risk", default=None, help="column to oversample on (size measure)")
    s.add_argument("--region", default=None)
    s.add_argument("--start", default=None, help="first ticket date (inclusive)")
    s.add_argument("--end", default=None, help="last ticket date (inclusive)")
    s.add_argument("--out", required=True, help="CSV file to write")
    s.set_defaults(func=_cmd_sample)

    r = sub.add_parser("run", help="run the monthly report batch")
    from qa_analysis.reports import add_run_arguments

    add_run_arguments(r)
    r.set_defaults(func=_cmd_run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from qa_analysis.io import DataError  # a ValueError; imported for clarity

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataError, ValueError) as exc:  # bad input or arguments: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
