"""Benchmark the monthly report batch (qa_analysis.batch.run_batch).

Runs the demo batch with the real notebooks and prints:

- kernel start-up overhead per notebook (papermill on an empty notebook, and on
  one that only imports pandas + seaborn), best of N;
- for 1 worker and for the default number of workers: wall time, the sum of
  per-notebook execution times, the global overview's time, and the ratio of
  wall time to the ideal ``sum(regional) / N + global`` (goal: <= 1.2);
- the speed-up of N workers over 1 worker (the "peer" here is running the
  same notebooks one after another, as a plain papermill loop would).

Usage::

    .venv/bin/python benchmarks/bench_batch.py            # 5 regions, data/demo (full demo data)
    .venv/bin/python benchmarks/bench_batch.py --quick    # 2 regions, small demo data

Outputs go to a temporary folder. The machine has 2 cores and other jobs may
be running: timings are noisy, so read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qa_analysis import batch
from qa_analysis.batch import engine

# The batch's own processes skip a slow optional import (see
# engine.skip_slow_optional_imports); so does this script, whose top-level
# imports every spawned worker repeats.
engine.skip_slow_optional_imports()

REPO = Path(__file__).resolve().parent.parent


def _empty_notebook(path: Path, source: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)
    return path


def kernel_overhead(tmp: Path, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` papermill time for an empty notebook and an imports-only one."""
    import papermill as pm

    engine.register_engine()
    out = {}
    for label, src in (
        ("empty notebook", "pass"),
        ("import pandas + seaborn", "import pandas, seaborn"),
    ):
        nb = _empty_notebook(tmp / "bench_empty.ipynb", src)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            pm.execute_notebook(
                str(nb),
                str(tmp / "bench_empty_out.ipynb"),
                cwd=str(tmp),
                kernel_name="python3",
                engine_name=engine.ENGINE_NAME,
                progress_bar=False,
                request_save_on_cell_execute=False,
                shutdown_kernel="immediate",
                config=engine.kernel_config(),
            )
            times.append(time.perf_counter() - t0)
        out[label] = min(times)
    return out


def make_project(tmp: Path, quick: bool) -> Path:
    """A copy of params/ whose data points at demo data (generated if missing)."""
    root = tmp / "project"
    shutil.copytree(REPO / "params", root / "params")
    demo_dir = REPO / "data" / "demo"
    if quick or not (demo_dir / "qa.duckdb").is_file():
        from qa_analysis import demo

        demo_dir = root / "data" / "demo"
        t0 = time.perf_counter()
        demo.write_demo(demo_dir, small=quick)
        print(f"generated {'small ' if quick else ''}demo data in {time.perf_counter() - t0:.1f} s")
    defaults = root / "params" / "defaults.yaml"
    text = defaults.read_text()
    defaults.write_text(
        text.replace("data: data/demo/qa.duckdb", f"data: {demo_dir / 'qa.duckdb'}")
    )
    return root


def run_once(
    root: Path, regions: list[str], workers: int, out: Path
) -> tuple[batch.RunResult, float]:
    """Run the batch; return the result and the time.time() of the call."""
    called = time.time()
    result = batch.run_batch(
        regions,
        params_dir=root / "params",
        notebooks_dir=REPO / "notebooks",
        out=out,
        workers=workers,
    )
    if not result.ok:
        for r in result.failed:
            print(f"  FAILED {r.label}: {r.error}", file=sys.stderr)
    return result, called


def summarise(label: str, result: batch.RunResult, called: float) -> dict[str, float]:
    regional = [r.duration_s + r.render_s for r in result.results if r.region]
    glob = sum(r.duration_s + r.render_s for r in result.results if r.region is None)
    ideal = sum(regional) / result.workers + glob
    first_start = min(r.started for r in result.results)
    print(
        f"{label}: wall {result.wall_s:6.1f} s | sum of notebooks {sum(regional) + glob:6.1f} s "
        f"(regional {sum(regional):.1f}, global {glob:.1f}) | ideal sum/N + global "
        f"{ideal:6.1f} s | wall / ideal {result.wall_s / ideal:4.2f}"
    )
    print(
        f"{'':{len(label)}}  per notebook: median {statistics.median(regional):.1f} s, "
        f"max {max(regional):.1f} s; rendering {sum(r.render_s for r in result.results):.1f} s "
        f"in total; first notebook started {first_start - called:.1f} s after the call "
        f"(worker start-up + parameter checks)"
    )
    return {"wall": result.wall_s, "ideal": ideal, "sum": sum(regional) + glob}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 regions on the small demo data")
    ap.add_argument(
        "--workers",
        type=int,
        default=batch.default_workers(),
        help="the parallel run's workers (default: usable cores)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="kernel overhead: best of N")
    args = ap.parse_args(argv)
    regions = ["eu", "latam"] if args.quick else ["all"]

    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmpdir:
        tmp = Path(tmpdir)
        print(
            f"python {sys.version.split()[0]}, {batch.default_workers()} usable cores; "
            f"regions: {' '.join(regions)}; data: {'small demo' if args.quick else 'full demo'}"
        )
        for label, secs in kernel_overhead(tmp, args.repeat).items():
            print(
                f"kernel start-up overhead, {label:<24}: {secs:5.2f} s per notebook "
                f"(best of {args.repeat})"
            )
        root = make_project(tmp, args.quick)
        par, t_par = run_once(root, regions, args.workers, tmp / "out_parallel")
        n_nb = len(par.results)
        print(f"\n{n_nb} notebooks, {len(par.failed)} failed")
        p = summarise(f"{args.workers} workers", par, t_par)
        seq, t_seq = run_once(root, regions, 1, tmp / "out_sequential")
        s = summarise("1 worker ", seq, t_seq)
        print(
            f"\nspeed-up of {args.workers} workers over 1 worker (wall): "
            f"{s['wall'] / p['wall']:.2f}x"
        )
        goal = p["wall"] / p["ideal"]
        print(
            f"goal wall <= 1.2 x (sum/N + global) with {args.workers} workers: "
            f"{goal:.2f} -> {'met' if goal <= 1.2 else 'NOT met'}"
        )
    return 0 if par.ok and seq.ok else 1


if __name__ == "__main__":
    sys.exit(main())
