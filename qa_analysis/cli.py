"""The ``qa-reports`` command: argument parsing only; the work is done by library calls.

Subcommands
-----------
init     write a starter report project (params/, notebooks/, README.md)
demo     write the seeded demo data set (Parquet files + one DuckDB database)
sample   write next period's audit plan from a ticket export
run      run the monthly report batch (papermill per region, HTML, index)
import   turn a QA-platform or wide export into Parquet tables that ``data:`` can point at
reveal   map pseudonyms back to the ids of the reader's own data (with the key)

Exit codes: 0 success, 1 a report failed, 2 bad input or parameters, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["add_run_arguments", "build_parser", "main", "main_run", "os_error_line"]


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
    from qa_analysis.errors import DataError, ParamsError

    out = Path(args.out)
    _check_sample_out(out, args.tickets, force=bool(args.force))
    tickets = io.load_tickets(
        args.tickets, table=args.table, region=args.region, start=args.start, end=args.end
    )
    if len(tickets) == 0:
        raise DataError(str(args.tickets), _no_tickets_message(args))
    per_agent = args.per_agent
    if per_agent is None:
        per_agent = settings.defaults()["sampling"]["per_agent"]
    plan = sampling.audit_plan(tickets, per_agent=per_agent, seed=args.seed, size=args.risk).table
    if len(plan) == 0:  # pragma: no cover - audit_plan draws from every agent with tickets
        raise ParamsError("the audit plan is empty; nothing was written")
    io.write_csv_atomic(plan, out)
    print(f"audit plan: {len(plan)} tickets for {plan['agent_id'].nunique()} agents -> {out}")
    return 0


def _check_sample_out(out: Path, tickets: str, *, force: bool) -> None:
    """Refuse an ``--out`` that is an input, a folder, or (without ``--force``) any existing file."""
    import glob
    import os

    from qa_analysis.errors import ParamsError

    inputs = [Path(tickets)]
    if any(ch in str(tickets) for ch in "*?["):
        inputs += [Path(p) for p in glob.glob(str(tickets))]
    if out.is_dir():
        raise ParamsError(f"{out}: --out is a folder; give the CSV file to write")
    for src in inputs:
        same = out.resolve() == src.resolve()
        if not same and out.exists() and src.exists():
            same = os.path.samefile(out, src)
        if same:
            raise ParamsError(
                f"{out}: --out is the ticket export being read (--tickets {tickets}); "
                "write the plan to another file"
            )
    if out.exists() and not force:
        raise ParamsError(f"{out}: already exists; pass --force to overwrite it")


def _no_tickets_message(args: argparse.Namespace) -> str:
    """Why no ticket matched: the region and dates asked for, and the regions in the export."""
    from qa_analysis import io

    asked = []
    if args.region is not None:
        asked.append(f"region {args.region!r}")
    if args.start is not None or args.end is not None:
        asked.append(f"dates {args.start or '...'} to {args.end or '...'}")
    msg = "no tickets" + (" for " + " and ".join(asked) if asked else "")
    if args.region is not None:
        everything = io.load_tickets(args.tickets, table=args.table)
        regions = sorted(everything["region"].dropna().astype(str).unique())
        msg += f"; regions in the data: {', '.join(regions) or 'none'}"
    return msg + "; nothing was written"


IMPORT_SOURCES = ("zendesk-qa", "maestroqa", "scorebuddy", "wide")


def _cmd_import(args: argparse.Namespace) -> int:
    """``qa-reports import``: read an export, validate it, write ``evaluations.parquet`` & co."""
    import pandas as pd

    from qa_analysis import io
    from qa_analysis.errors import ParamsError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ParamsError(f"{out}: --out is a file; give the folder to write the tables into")
    spec = io.read_wide_mapping(args.mapping) if args.mapping else None
    constants = {**(dict(spec.constants) if spec else {}), **_key_values(args.set)}
    skipped = pd.DataFrame(columns=["reason", "count", "source"])
    notes: tuple[str, ...] = ()
    derived = None
    if args.source == "wide":
        sc = args.scorecard or (spec.scorecard if spec else None)
        if sc is None:
            raise ParamsError("--from wide needs --scorecard (or scorecard: in the --mapping file)")
        long = io.from_wide(args.paths, mapping=spec, scorecard=sc, constants=constants)
        tables = {"evaluations": io.load_evaluations(long, scorecard=sc)}
    else:
        got = _import_platform(args, spec, constants)
        tables = {"evaluations": got.evaluations}
        if got.calibration is not None:
            tables["calibration"] = got.calibration
        skipped, notes = got.skipped, got.notes
        derived = got.scorecard if args.scorecard is None else None
    files = [out / f"{name}.parquet" for name in tables]
    if derived is not None:
        files.append(out / "scorecard.yaml")
    stale = [p for p in (out / "calibration.parquet",) if p.exists() and p not in files]
    existing = [p for p in [*files, *stale] if p.exists()]
    if existing and not args.force:
        raise ParamsError(
            f"{', '.join(map(str, existing))}: already exist(s); pass --force to overwrite"
        )
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        path = io.write_parquet_atomic(df.reset_index(drop=True), out / f"{name}.parquet")
        unit = "evaluation" if name == "evaluations" else "session"
        n_units = df[f"{unit}_id"].nunique()
        print(f"{name}: {len(df)} rows ({n_units} {unit}{'s' if n_units != 1 else ''}) -> {path}")
    for p in stale:
        p.unlink()
        print(f"removed {p} (from an earlier import; this export has no calibration)")
    if derived is not None:
        path = io.write_text_atomic(_scorecard_yaml(derived), out / "scorecard.yaml")
        print(f"scorecard: {len(derived.criteria)} criteria derived from the export -> {path}")
    if len(skipped):
        for rec in skipped.to_dict("records"):
            print(f"skipped: {rec['count']} {rec['reason']} ({Path(str(rec['source'])).name})")
    else:
        print("skipped: none")
    for note in notes:
        print(f"note: {note}")
    return 0


def _import_platform(args: argparse.Namespace, spec: Any, constants: dict[str, str]) -> Any:
    """Run the adapter named by ``--from`` with the options the command line gives."""
    from qa_analysis import adapters
    from qa_analysis.errors import ParamsError

    if spec is not None:
        wide_only = [k for k in ("columns", "values", "absent", "ignore") if getattr(spec, k)] + [
            k for k in ("date_format", "dayfirst", "scorecard") if getattr(spec, k) is not None
        ]
        if wide_only:
            raise ParamsError(
                f"{spec.source}: {wide_only} apply to --from wide only; for --from "
                f"{args.source} the mapping file may hold constants: only"
            )
    missing = [c for c in adapters.FILL_COLUMNS if c not in constants]
    if missing:
        raise ParamsError(
            f"--from {args.source}: the export has no {', '.join(missing)}; give them with "
            f"--set {missing[0]}=VALUE (repeatable) or constants: in a --mapping file"
        )
    kw: dict[str, Any] = {"columns": constants, "scorecard": args.scorecard}
    if args.experts:
        if args.source == "scorebuddy":
            raise ParamsError("--experts: the Scorebuddy scores export has no calibration")
        kw["experts"] = args.experts
    if args.version is not None:
        if args.source != "scorebuddy":
            raise ParamsError("--version applies to --from scorebuddy only")
        kw["version"] = args.version
    read: Any = {
        "zendesk-qa": adapters.from_zendesk_qa,
        "maestroqa": adapters.from_maestroqa,
        "scorebuddy": adapters.from_scorebuddy,
    }[args.source]
    return read(args.paths, **kw)


def _cmd_reveal(args: argparse.Namespace) -> int:
    from qa_analysis.batch.reveal import key_from_env, read_ids, reveal_table, write_reveal
    from qa_analysis.errors import ParamsError

    source = args.ids_file or args.ids
    if source is None:
        raise ParamsError("give the ids file: qa-reports reveal IDS.csv (or --ids FILE)")
    if args.ids_file and args.ids:
        raise ParamsError("give the ids file once (IDS.csv or --ids FILE, not both)")
    key = key_from_env(args.key_env)
    ids, role = read_ids(source, args.column)
    table = reveal_table(ids, key=key, role=args.role or role)
    written = write_reveal(table, args.out)
    if args.out is None:
        sys.stdout.write(str(written))
    else:
        print(
            f"{len(table)} pseudonym(s) for {len(ids)} id(s) -> {written} "
            "(readable by you only; keep it out of the shared outputs)",
            file=sys.stderr,
        )
    return 0


def _key_values(pairs: Sequence[str] | None) -> dict[str, str]:
    """``["region=EU", "queue=billing"]`` -> ``{"region": "EU", "queue": "billing"}``."""
    from qa_analysis.errors import ParamsError

    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ParamsError(f"--set {pair!r}: expected COLUMN=VALUE, e.g. --set region=EU")
        out[key.strip()] = value.strip()
    return out


def _scorecard_yaml(sc: Any) -> str:
    """A scorecard as the YAML that :meth:`Scorecard.from_yaml` reads back."""
    import yaml

    def num(v: float) -> float | int:
        return int(v) if float(v).is_integer() else float(v)

    spec = {
        "name": sc.name,
        "pass_mark": num(sc.pass_mark),
        "method": sc.method,
        "critical_mode": sc.critical_mode,
        "criteria": [
            {
                "id": c.id,
                "name": c.name,
                "section": c.section,
                "scale": [num(v) for v in c.scale],
                "level": c.level,
                "weight": num(c.weight),
                "critical": c.critical,
                "na_allowed": c.na_allowed,
                "pass_at": num(c.pass_at),
            }
            for c in sc.criteria
        ],
    }
    head = "# Derived by qa-reports import from the export's criteria; check it, then keep it.\n"
    return head + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, default_flow_style=None)


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
    parser.add_argument(
        "--no-pdf",
        dest="pdf",
        action="store_false",
        help="skip the PDFs of the reports and the summary (default: printed with headless "
        "Chromium when it is installed; without it the run warns and goes on)",
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
                pdf=bool(getattr(args, "pdf", True)),
            )
    except QAError as exc:  # bad parameters or --out: nothing ran
        if getattr(args, "debug", False) or _debug_env():
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the disk: full, read-only, removed under us
        if getattr(args, "debug", False) or _debug_env():
            raise
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 1
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
    if quiet:
        for w in result.warnings:
            print(f"warning: {w}", file=sys.stderr)
    return result.exit_code


def build_parser() -> argparse.ArgumentParser:
    """The ``qa-reports`` argument parser."""
    p = argparse.ArgumentParser(prog="qa-reports", description="Customer-support QA reports.")
    p.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error (also: QA_DEBUG=1)",
    )
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
    s.add_argument("--out", required=True, help="CSV file to write (never one of the inputs)")
    s.add_argument("--force", action="store_true", help="overwrite --out when it exists")
    s.set_defaults(func=_cmd_sample)

    r = sub.add_parser("run", help="run the monthly report batch")
    add_run_arguments(r)
    r.set_defaults(func=main_run)

    m = sub.add_parser(
        "import",
        help="turn a QA-platform or wide export into Parquet tables for data:",
        description="Read an export, validate it against the scorecard and write "
        "evaluations.parquet (and calibration.parquet, and the derived scorecard.yaml "
        "when --scorecard is not given) into --out, a folder that data: can point at.",
    )
    m.add_argument("--from", dest="source", required=True, choices=IMPORT_SOURCES)
    m.add_argument("paths", nargs="+", metavar="PATH", help="export files or folders")
    m.add_argument("--out", required=True, help="folder to write the Parquet tables into")
    m.add_argument(
        "--scorecard",
        default=None,
        help="scorecard YAML (required for wide unless the mapping names it; "
        "platforms: default derived from the export)",
    )
    m.add_argument(
        "--mapping",
        default=None,
        help="mapping.yaml: columns/values/dates/absent/ignore/constants for wide; "
        "constants (region, market, channel, queue) for the platforms",
    )
    m.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="COLUMN=VALUE",
        help="a constant column, e.g. --set region=EU (repeatable; wins over the mapping)",
    )
    m.add_argument("--experts", nargs="+", default=None, help="calibration expert raters")
    m.add_argument("--version", default=None, help="Scorebuddy: the scorecard version to keep")
    m.add_argument("--force", action="store_true", help="overwrite tables already in --out")
    m.set_defaults(func=_cmd_import)

    v = sub.add_parser(
        "reveal",
        help="map pseudonyms to the ids of your own data (needs the key)",
        description="Hash the ids you supply with the pseudonymisation key and print (or "
        "write, mode 0600, outside the shared outputs) a CSV pseudonym,id,role. The shared "
        "reports stay pseudonymised; only ids you already hold are mapped.",
    )
    v.add_argument("ids_file", nargs="?", default=None, metavar="IDS.csv", help="CSV of ids")
    v.add_argument("--ids", default=None, metavar="FILE", help="the CSV of ids (same as IDS.csv)")
    v.add_argument(
        "--column",
        default=None,
        help="the id column (default: agent_id, reviewer_id, rater_id or id, else the only column)",
    )
    v.add_argument(
        "--role",
        choices=("agent", "rater", "both"),
        default=None,
        help="pseudonym prefix A- (agent) or R- (rater); default from the column name, else both",
    )
    v.add_argument(
        "--key-env",
        default="QA_PSEUDONYM_KEY",
        metavar="NAME",
        help="environment variable holding the key (default QA_PSEUDONYM_KEY)",
    )
    v.add_argument(
        "--out",
        default=None,
        help="CSV to write (mode 0600; refused inside an outputs folder qa-reports manages); "
        "default: print to standard output",
    )
    v.set_defaults(func=_cmd_reveal)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``qa-reports``; returns the exit code.

    Bad input or parameters print one line and exit 2; a file-system error
    (a read-only or full disk, say) prints one line naming the file and the
    cause and exits 1. ``--debug`` (or ``QA_DEBUG=1``) shows the traceback.
    """
    from qa_analysis.errors import QAError

    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or _debug_env()
    try:
        return int(args.func(args) or 0)
    except (QAError, ValueError) as exc:  # bad input or parameters: one clear line, no traceback
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if debug:
            raise
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 1


def os_error_line(exc: OSError) -> str:
    """One line for a file-system error: the file(s), then the cause.

    Examples
    --------
    >>> import errno
    >>> os_error_line(OSError(errno.ENOSPC, "No space left on device", "out/run.json"))
    'out/run.json: No space left on device'
    """
    cause = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return cause.splitlines()[0] if cause else type(exc).__name__
    where = str(exc.filename)
    if exc.filename2 is not None:
        where += f" -> {exc.filename2}"
    return f"{where}: {cause}"


def _debug_env() -> bool:
    import os

    return os.environ.get("QA_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
