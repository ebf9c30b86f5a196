"""The ``qa-reports`` command: argument parsing only; the work is done by library calls.

Subcommands
-----------
init     write a starter report project (params/, notebooks/, README.md)
demo     write the seeded demo data set (Parquet files + one DuckDB database)
sample   write next period's audit plan from a ticket export
run      run the monthly report batch (papermill per region, HTML, index)

Exit codes: 0 success, 1 a report failed, 2 bad input or parameters, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["add_run_arguments", "build_parser", "main", "main_run"]


def _cmd_init(args: argparse.Namespace) -> int:
    from qa_analysis.batch import init_project

    written = init_project(args.dir)
    print(f"wrote {len(written)} files into {Path(args.dir).resolve()}")
    print("next: point data: in params/defaults.yaml at your exports, then run qa-reports run")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from qa_analysis import demo

    options = {} if args.seed is None else {"seed": args.seed}
    paths = demo.write_demo(args.out, small=args.small, **options)
    for name, path in paths.items():
        print(f"{name:>12}: {path}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from qa_analysis import io, sampling, settings

    tickets = io.load_tickets(
        args.tickets, table=args.table, region=args.region, start=args.start, end=args.end
    )
    per_agent = args.per_agent
    if per_agent is None:
        per_agent = settings.defaults()["sampling"]["per_agent"]
    plan = sampling.audit_plan(tickets, per_agent=per_agent, seed=args.seed, risk=args.risk)
    out = Path(args.out)
    io.write_csv_atomic(plan, out)
    print(f"audit plan: {len(plan)} tickets for {plan['agent_id'].nunique()} agents -> {out}")
    return 0


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``qa-reports run`` options to ``parser``."""
    from qa_analysis.batch import default_workers
    from qa_analysis.batch.run import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT

    parser.add_argument(
        "--regions",
        nargs="+",
        default=["all"],
        metavar="REGION",
        help="region codes (eu na ...) or 'all' (default: every params/<region>.yaml)",
    )
    parser.add_argument(
        "--period",
        default=None,
        help="report month YYYY-MM (default: period in params/defaults.yaml)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"notebooks run in parallel (default: usable cores, {default_workers()})",
    )
    parser.add_argument("--out", default="outputs", help="outputs folder (default: outputs)")
    parser.add_argument(
        "--project",
        default=None,
        help="project folder: relative paths in the params, kernels' working folder "
        "(default: the parent of --params, else the current folder)",
    )
    parser.add_argument(
        "--params",
        default=None,
        help="params folder (default: <project>/params, else the packaged params)",
    )
    parser.add_argument(
        "--notebooks",
        default=None,
        help="notebooks folder (default: <project>/notebooks, else the packaged notebooks)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="longest a whole notebook may run, seconds from its kernel being ready; then "
        f"it is stopped and marked failed (default {DEFAULT_TIMEOUT:g}; 0 = none)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        help=f"longest a single notebook cell may run, seconds (default {DEFAULT_CELL_TIMEOUT:g}; "
        "0 = none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def main_run(args: argparse.Namespace) -> int:
    """``qa-reports run``: run the batch from parsed arguments; return the exit code."""
    from qa_analysis.batch import run_batch, sigterm_as_interrupt
    from qa_analysis.batch.engine import skip_slow_optional_imports
    from qa_analysis.batch.run import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT
    from qa_analysis.errors import QAError

    skip_slow_optional_imports()  # this is the qa-reports process: ours
    quiet = bool(getattr(args, "quiet", False))
    # an option left out keeps the default; 0 means no limit (None)
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout or None
    cell_timeout = getattr(args, "cell_timeout", None)
    cell_timeout = DEFAULT_CELL_TIMEOUT if cell_timeout is None else cell_timeout or None
    regions = [x for r in args.regions for x in str(r).split(",") if x]  # "eu,na" too
    try:
        with sigterm_as_interrupt():
            result = run_batch(
                regions,
                period=args.period,
                out=args.out,
                params_dir=args.params,
                notebooks_dir=getattr(args, "notebooks", None),
                project=getattr(args, "project", None),
                workers=args.workers,
                progress=False if quiet else None,
                timeout=timeout,
                cell_timeout=cell_timeout,
            )
    except QAError as exc:  # bad parameters: nothing ran
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: no period was written (the previous one, if any, is unchanged)",
            file=sys.stderr,
        )
        return 130
    if not quiet:
        print(result.summary())
    for r in result.failed:
        print(f"error: {r.label} failed: {r.error}", file=sys.stderr)
    return result.exit_code


def build_parser() -> argparse.ArgumentParser:
    """The ``qa-reports`` argument parser."""
    p = argparse.ArgumentParser(prog="qa-reports", description="Customer-support QA reports.")
    sub = p.add_subparsers(dest="command", required=True)

    i = sub.add_parser("init", help="write a starter report project")
    i.add_argument("dir", help="project folder to create (must not hold a project yet)")
    i.set_defaults(func=_cmd_init)

    d = sub.add_parser("demo", help="write the seeded demo data set")
    d.add_argument("--out", default="data/demo", help="output folder (default: data/demo)")
    d.add_argument("--seed", type=int, default=None, help="random seed (default: the demo's)")
    d.add_argument("--small", action="store_true", help="a small set (tests, quick looks)")
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("sample", help="write an audit plan from a ticket export")
    s.add_argument("--tickets", required=True, help="CSV/Parquet path or glob, or a DuckDB file")
    s.add_argument("--table", default=None, help="table name when --tickets is a DuckDB file")
    s.add_argument(
        "--per-agent",
        type=int,
        default=None,
        help="audits per agent (default: sampling.per_agent in params/defaults.yaml)",
    )
    s.add_argument("--seed", type=int, required=True, help="random seed (same seed, same plan)")
    s.add_argument("--risk", default=None, help="column to oversample on (size measure)")
    s.add_argument("--region", default=None)
    s.add_argument("--start", default=None, help="first ticket date (inclusive)")
    s.add_argument("--end", default=None, help="last ticket date (inclusive)")
    s.add_argument("--out", required=True, help="CSV file to write")
    s.set_defaults(func=_cmd_sample)

    r = sub.add_parser("run", help="run the monthly report batch")
    add_run_arguments(r)
    r.set_defaults(func=main_run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``qa-reports``; returns the exit code."""
    from qa_analysis.errors import QAError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (QAError, ValueError) as exc:  # bad input or parameters: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
