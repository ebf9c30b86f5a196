"""Tests for qa_analysis.batch: the papermill batch, HTML, index, faults, time limits.

The batch tests run tiny fixture notebooks in a throw-away project folder
(tests/batch_project.py). Time limits are given only to the notebook meant to
time out, with margins far beyond a 10x slowdown of the other notebooks' cells
(those take milliseconds); no other test depends on wall-clock speed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from batch_project import (
    FIXTURE_KEY,
    NOTEBOOK_NAMES,
    PERIOD,
    RAW_ID,
    REPO,
    VENV_BIN,
    index_kpis,
    make_project,
    notebook,
    pseudonym_key,
    run_args,
    run_once_per_session,
)

from qa_analysis import batch, cli, io, privacy
from qa_analysis.batch import engine


def _good(root: Path):
    make_project(root)
    with pseudonym_key(FIXTURE_KEY):  # as for real data
        code = cli.main_run(run_args(root))
    return root, code, root / "outputs" / PERIOD


def _faulty(root: Path):
    make_project(
        root,
        regions={
            "eu": "region: EU\n",
            "na": "region: NA\ndata: data/no_such_file.csv\n",
            "apac": "region: APAC\nfail: true\n",
            "latam": "region: LATAM\ndata: data/real/ids.csv\n",  # not demo data, no key
        },
    )
    (root / "data/real").mkdir()
    shutil.copy(root / "data/ids.csv", root / "data/real/ids.csv")
    with pseudonym_key(None):
        result = batch.run_batch(
            "all",
            params_dir=root / "params",
            out=root / "outputs",
            workers=2,
            timeout=None,  # no time limits: no failure here may depend on speed
            cell_timeout=None,
        )
    return root, result


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """One successful batch of two regions (EU, NA) via the command-line entry point."""
    return run_once_per_session(tmp_path_factory, "good", _good)


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    """EU fine; NA points at a missing data file; APAC's calibration notebook raises;
    LATAM's data is not the demo data and QA_PSEUDONYM_KEY is unset."""
    return run_once_per_session(tmp_path_factory, "faulty", _faulty)


# ---------------------------------------------------------------------------
# a successful batch
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_batch_writes_every_output_file(good_run):
    root, code, period_dir = good_run
    assert code == 0
    for region in ("eu", "na"):
        for name in (
            "calibration_report.ipynb",
            "calibration_report.html",
            "performance_report.ipynb",
            "performance_report.html",
            "audit_plan.csv",
            "kpis.json",
            "calibration_kpis.json",
            "performance_kpis.json",
        ):
            assert (period_dir / region / name).is_file(), f"{region}/{name}"
    for name in (
        "global_overview.ipynb",
        "global_overview.html",
        "global_overview.pdf",
        "index.html",
        "summary.md",
        "summary.html",
        "summary.pdf",
        "run.html",
        "run.json",
    ):
        assert (period_dir / name).is_file(), name
    assert batch.list_periods(root / "outputs") == [PERIOD]
    hidden = [p.name for p in (root / "outputs").iterdir() if p.name.startswith(".")]
    assert hidden == [".qa-reports.json"]  # the manifest only: no temporary folder left


@pytest.mark.slow
def test_html_embeds_figure_and_hides_code(good_run):
    _, _, period_dir = good_run
    page = (period_dir / "eu" / "performance_report.html").read_text()
    assert re.search(r'<img [^>]*src="data:image/png;base64,', page)  # figure embedded
    assert "this-code-must-not-appear-in-html" not in page  # no input code
    assert "hl-ipython3" not in page  # no highlighted code block at all
    assert "sleep_s" not in page and "injected" not in page.lower()  # parameter cells removed
    assert "audited agents:" in page  # outputs are kept
    assert "<title>EU performance report 2026-10</title>" in page


@pytest.mark.slow
def test_kernel_is_the_project_venv_and_runs_in_project_root(good_run):
    root, _, period_dir = good_run
    kpis = json.loads((period_dir / "eu" / "calibration_kpis.json").read_text())
    assert Path(kpis["sys_prefix"]).resolve() == Path(sys.prefix).resolve()
    assert Path(kpis["cwd"]).resolve() == root.resolve()
    assert kpis["data"] == str((root / "data/ids.csv").resolve())  # relative path resolved


@pytest.mark.slow
def test_region_params_override_defaults(good_run):
    _, _, period_dir = good_run
    na = json.loads((period_dir / "na" / "kpis.json").read_text())
    eu = json.loads((period_dir / "eu" / "kpis.json").read_text())
    assert na["performance"]["targets"] == {"pass_rate": 0.9, "mean_score": 85}
    assert eu["performance"]["targets"] == {"pass_rate": 0.85, "mean_score": 85}
    assert eu["calibration"]["detail"] == {"seed": 7, "history_months": 3}


@pytest.mark.slow
def test_region_kpis_merge_both_notebooks(good_run):
    _, _, period_dir = good_run
    merged = json.loads((period_dir / "eu" / "kpis.json").read_text())
    cal = json.loads((period_dir / "eu" / "calibration_kpis.json").read_text())
    perf = json.loads((period_dir / "eu" / "performance_kpis.json").read_text())
    assert merged["region"] == "EU" and merged["period"] == PERIOD
    assert merged["calibration"] == cal and merged["performance"] == perf
    assert merged["status"] == {"calibration_report": "ok", "performance_report": "ok"}
    assert cal["undefined"] is None  # NaN -> null


@pytest.mark.slow
def test_index_lists_every_report_with_status_and_json_kpis(good_run):
    _, _, period_dir = good_run
    page = (period_dir / "run.html").read_text()
    rows = index_kpis(page)
    expected = {
        "eu/calibration_report.html",
        "eu/performance_report.html",
        "na/calibration_report.html",
        "na/performance_report.html",
        "global_overview.html",
    }
    assert set(rows) == expected
    assert page.count('class="status ok"') == 5 and "FAILED" not in page
    for rel in expected - {"global_overview.html"}:
        kpi_file = "calibration_kpis.json" if "calibration" in rel else "performance_kpis.json"
        data = json.loads((period_dir / rel.split("/")[0] / kpi_file).read_text())
        scalars = {
            k: v
            for k, v in data.items()
            if not isinstance(v, dict | list) and k not in ("region", "period")
        }
        assert rows[rel] == scalars
    assert rows["global_overview.html"]["regions_complete"] == 2
    assert all(
        Path(period_dir, href).is_file() for href in re.findall(r'href="([^"]+)"', page)
    )  # relative links resolve


@pytest.mark.slow
def test_run_json_records_per_notebook_durations(good_run):
    _, _, period_dir = good_run
    run = json.loads((period_dir / "run.json").read_text())
    assert run["ok"] and run["workers"] == 2 and len(run["notebooks"]) == 5
    assert all(nb["duration_s"] > 0 and nb["status"] == "ok" for nb in run["notebooks"])
    assert run["wall_s"] > 0


@pytest.mark.slow
def test_outputs_hold_no_raw_ids_when_pseudonymised(good_run):
    _, _, period_dir = good_run
    raw = ["EU-A001", "EU-A002", "NA-A001", "EU-S01", "EU-S02", "NA-S01"]
    for f in period_dir.rglob("*"):
        if f.suffix in (".html", ".csv", ".json"):
            text = f.read_text()
            assert not [r for r in raw if r in text], f
    plan = pd.read_csv(period_dir / "eu" / "audit_plan.csv")
    assert plan["agent_id"].str.match(r"^A-[0-9a-f]{8}$").all()
    # the key came from QA_PSEUDONYM_KEY (not the demo key, though the folder is demo-like)
    raw_ids = pd.read_csv(good_run[0] / "data/ids.csv")
    assert (
        plan["agent_id"].tolist()
        == privacy.pseudonymise(raw_ids, key=FIXTURE_KEY)["agent_id"].tolist()
    )
    assert "pseudonymised with the key in QA_PSEUDONYM_KEY" in (period_dir / "run.html").read_text()


OFFLINE_BAD = re.compile(
    r"""<script[^>]*\ssrc=["']?(https?:)?//|<link[^>]*\shref=["']?(https?:)?//"""
    r"""|import\(["'](https?:)?//|cdnjs|cdn\.jsdelivr|unpkg\.com""",
    re.I,
)


def test_render_html_has_no_cdn_scripts_or_styles(tmp_path):
    """nbconvert's lab template loads require.js, MathJax and mermaid from cdnjs; the
    reports must open offline or behind a proxy. No kernel needed: a hand-made notebook."""
    nb = notebook("region = 'EU'", ["print('hello')"])
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nb.cells.append(
        nbformat.v4.new_markdown_cell("Rate $p = k/n$ and a [link](https://example.org).")
    )
    nbformat.write(nb, tmp_path / "r.ipynb")
    text = batch.render_html(tmp_path / "r.ipynb", tmp_path / "r.html", title="T").read_text()
    assert not OFFLINE_BAD.search(text), OFFLINE_BAD.search(text)
    assert "<script src=" not in text and "hello" in text and "<title>T</title>" in text
    assert 'href="https://example.org"' in text  # links the author wrote are kept


@pytest.mark.slow
def test_report_html_loads_nothing_from_the_network(good_run):
    _, _, period_dir = good_run
    for page in period_dir.rglob("*.html"):
        text = page.read_text()
        assert not OFFLINE_BAD.search(text), (page, OFFLINE_BAD.search(text))
        assert "<script src=" not in text  # no external script at all, not even a local one


# ---------------------------------------------------------------------------
# fault isolation
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_failures_are_isolated_with_one_line_errors(faulty_run):
    _, result = faulty_run
    status = {(r.region, r.notebook): r for r in result.results}
    assert status[("EU", "calibration_report")].ok and status[("EU", "performance_report")].ok
    missing = status[("NA", "calibration_report")]
    assert not missing.ok and missing.error.startswith("FileNotFoundError")
    assert "no_such_file.csv" in missing.error
    raised = status[("APAC", "calibration_report")]
    assert raised.error.startswith("ValueError: fixture failure: this region's params say fail")
    assert status[("APAC", "performance_report")].ok  # the region's other report goes on
    no_key = status[("LATAM", "calibration_report")]
    assert no_key.error.startswith("ValueError: QA_PSEUDONYM_KEY is not set")
    assert not status[("LATAM", "performance_report")].ok
    assert all("\n" not in r.error for r in result.failed)
    assert result.exit_code == 1 and not result.ok
    assert status[(None, "global_overview")].ok


@pytest.mark.slow
def test_failed_notebooks_are_kept_with_traceback_and_rendered(faulty_run):
    _, result = faulty_run
    period_dir = result.out_dir
    nb = nbformat.read(period_dir / "apac" / "calibration_report.ipynb", as_version=4)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors and errors[0].ename == "ValueError"
    page = (period_dir / "apac" / "calibration_report.html").read_text()
    assert "ValueError" in page and "fixture failure" in page


@pytest.mark.slow
def test_failures_show_in_index_and_region_kpis(faulty_run):
    _, result = faulty_run
    page = (result.out_dir / "run.html").read_text()
    assert page.count("FAILED") == len(result.failed) == 5
    assert "FileNotFoundError" in page and "fixture failure" in page
    assert "QA_PSEUDONYM_KEY is not set" in page
    apac = io.read_region_kpis(result.out_dir, "APAC")
    assert apac["calibration"] is None and apac["performance"]["n_evaluations"] == 40
    assert apac["status"] == {"calibration_report": "failed", "performance_report": "ok"}
    assert apac["errors"]["calibration_report"].startswith("ValueError: fixture failure")


@pytest.mark.slow
def test_global_overview_runs_and_reports_missing_regions(faulty_run):
    _, result = faulty_run
    glob = next(r for r in result.results if r.notebook == "global_overview")
    assert glob.kpis["regions_missing"] == "APAC, LATAM, NA"
    assert glob.kpis["regions"] == ["APAC", "EU", "LATAM", "NA"]


@pytest.mark.slow
def test_notebook_timeout_stops_many_short_cells_and_the_worker_goes_on(tmp_path):
    """NA's performance notebook sleeps 40 s in 40 cells of 1 s and has no per-cell
    limit, so only the 8 s whole-notebook limit can stop it; the other notebooks' cells
    take milliseconds (the limit holds them with a margin far beyond 10x). One worker
    runs all three notebooks in turn, so the overview after it shows that the worker
    survived the timeout."""
    root = make_project(tmp_path, regions={"na": "region: NA\nsleep_s: 40.0\n"}, light=True)
    result = batch.run_batch(
        ["na"],
        params_dir=root / "params",
        out=root / "outputs",
        workers=1,
        timeout=8.0,
        cell_timeout=None,
    )
    status = {r.notebook: r for r in result.results}
    slow = status["performance_report"]
    assert not slow.ok
    assert slow.error.startswith("NotebookTimeoutError: timed out after 8 s (whole-notebook limit)")
    assert status["calibration_report"].ok and status["global_overview"].ok
    # the partial notebook is kept and rendered like other failures
    nb = nbformat.read(result.out_dir / slow.ipynb, as_version=4)
    sleeps = [c for c in nb.cells if c.cell_type == "code" and "time.sleep" in c.source]
    ran = [c for c in sleeps if c.execution_count]
    assert 0 < len(ran) < len(sleeps)  # stopped part-way
    assert any(o.get("ename") == "NotebookTimeoutError" for o in ran[-1].outputs)
    page = (result.out_dir / slow.html).read_text()
    assert "This report stopped early: NotebookTimeoutError: timed out after 8 s" in page
    assert "timed out after 8 s" in (result.out_dir / "run.html").read_text()
    # the same worker process ran the overview after the timed-out notebook
    assert status["global_overview"].started >= slow.finished
    assert (
        status["global_overview"].kpis["worker_pid"]
        == status["calibration_report"].kpis["worker_pid"]
    )


def _task(tmp_path: Path, name: str, cells: list[str], **limits) -> engine.Task:
    """One fixture notebook run directly, as a pool worker would (no other notebook)."""
    nbformat.write(notebook("x = 1", cells), tmp_path / f"{name}.ipynb")
    return engine.Task(
        notebook=name,
        region=None,
        input_path=str(tmp_path / f"{name}.ipynb"),
        period_dir=str(tmp_path),
        rel_dir="",
        parameters={},
        cwd=str(tmp_path),
        start_timeout=120,
        title=name,
        **limits,
    )


def _texts(path: Path) -> str:
    out = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.slow
def test_cell_timeout_stops_a_long_cell_and_keeps_the_rendered_notebook(tmp_path):
    """A cell sleeping 300 s against a 5 s per-cell limit (the only other cell is
    ``x = 1``): CellTimeoutError, the notebook kept with the error and a banner."""
    task = _task(
        tmp_path,
        "long",
        ["import time\ntime.sleep(300)", "print('never reached')"],
        timeout=None,
        cell_timeout=5,
    )
    res = engine.run_task(task)
    assert res.error == "CellTimeoutError: a cell ran longer than the 5 s per-cell limit"
    timed = nbformat.read(tmp_path / "long.ipynb", as_version=4)
    assert [o.get("ename") for c in timed.cells if c.cell_type == "code" for o in c.outputs] == [
        "CellTimeoutError"
    ]
    assert "never reached" not in _texts(tmp_path / "long.ipynb")
    page = (tmp_path / "long.html").read_text()
    assert "This report stopped early: CellTimeoutError" in page


STUBBORN_CELL = """import time
end = time.monotonic() + 300
while time.monotonic() < end:  # swallows the interrupt (as a careless retry loop would)
    try:
        time.sleep(0.05)
    except KeyboardInterrupt:
        print("interrupt ignored")
"""


@pytest.mark.slow
def test_notebook_timeout_kills_a_kernel_that_ignores_the_interrupt(tmp_path):
    """The interrupt is swallowed, so the kernel is killed after the grace period; the
    notebook is marked timed out (not "kernel died"), and no kernel process is left
    behind. The cell would loop for 300 s: only the kill can end it early."""
    psutil = pytest.importorskip("psutil")
    task = _task(
        tmp_path,
        "stubborn",
        [STUBBORN_CELL, "print('never reached')"],
        timeout=5.0,
        cell_timeout=None,
        kill_grace=1.0,
    )
    res = engine.run_task(task)
    assert res.error.startswith("NotebookTimeoutError: timed out after 5 s")
    texts = _texts(tmp_path / "stubborn.ipynb")
    assert "interrupt ignored" in texts and "never reached" not in texts
    assert "This report stopped early" in (tmp_path / "stubborn.html").read_text()
    kernels = [
        c for c in psutil.Process().children(recursive=True) if "ipykernel" in " ".join(c.cmdline())
    ]
    assert not kernels


#: Records the interrupt instead of raising, waits for it, then returns normally.
MISSES_INTERRUPT = """import signal, time
got = []
signal.signal(signal.SIGINT, lambda *a: got.append(1))
end = time.monotonic() + 300
while not got and time.monotonic() < end:
    time.sleep(0.05)
print("interrupt received:", bool(got))
"""


@pytest.mark.slow
def test_notebook_timeout_stops_before_the_next_cell_when_the_interrupt_is_missed(tmp_path):
    """A cell that does not stop on the interrupt finishes normally after the deadline
    (it waits for the interrupt, however slow the machine): the next cell is not
    started."""
    task = _task(
        tmp_path,
        "nb",
        [MISSES_INTERRUPT, "print('never reached')"],
        timeout=5.0,
        cell_timeout=None,
        kill_grace=300,
    )
    res = engine.run_task(task)
    assert res.error.startswith("NotebookTimeoutError: timed out after 5 s")
    assert "stopped before cell" in res.error
    texts = _texts(tmp_path / "nb.ipynb")
    assert "interrupt received: True" in texts and "never reached" not in texts


def test_watchdog_refuses_the_next_cell_once_the_deadline_has_passed():
    """If the interrupt reaches an idle kernel between two cells, the next cell must not
    start: the on_cell_start hook raises."""
    dog = engine.Watchdog(limit=0.0, grace=0.0)
    dog.check(cell=None, cell_index=3)  # clock not started (kernel not ready): no limit yet
    dog.start()
    try:
        with pytest.raises(
            engine.NotebookTimeoutError,
            match=r"timed out after 0 s \(whole-notebook limit\), stopped before cell 4",
        ):
            dog.check(cell=None, cell_index=4)
        assert dog.fired
    finally:
        dog.stop()


# ---------------------------------------------------------------------------
# atomic replacement
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_rerun_replaces_period_and_clears_killed_run_leftovers(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\n"}, light=True)
    out = root / "outputs"
    seen = []
    first = batch.run_batch(
        ["eu"], params_dir=root / "params", out=out, workers=2, on_result=seen.append
    )
    assert first.ok and len(seen) == 3  # one callback per notebook, as each finishes
    assert {r.notebook for r in seen} == set(NOTEBOOK_NAMES)
    (first.out_dir / "eu" / "stray.txt").write_text("from the first run")
    killed = out / f".{PERIOD}.tmp-999999999"  # a pid that cannot be running
    (killed / "eu").mkdir(parents=True)
    (killed / "index.html").write_text("half-written")
    assert batch.list_periods(out) == [PERIOD]  # the leftover is not a period
    second = batch.run_batch(["EU"], params_dir=root / "params", out=out, workers=2)
    assert second.ok
    assert not (second.out_dir / "eu" / "stray.txt").exists()  # the region replaced, not merged
    assert not killed.exists()
    assert sorted(p.name for p in out.iterdir()) == [
        ".qa-reports.json",
        PERIOD,
        "history.parquet",
        "index.html",
    ]
    assert f'href="{PERIOD}/index.html"' in (out / "index.html").read_text()


@pytest.mark.slow
def test_sigterm_stops_workers_and_kernels_and_leaves_no_period(tmp_path):

    psutil = pytest.importorskip("psutil")  # an ipykernel dependency
    root = make_project(tmp_path, regions={"eu": "region: EU\nsleep_s: 600.0\n"}, light=False)
    proc = subprocess.Popen(
        [str(VENV_BIN / "qa-reports"), "run", "--params", "params", "--out", "outputs", "--quiet"],
        cwd=root,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _sigterm_and_check(proc, root, psutil)
    finally:
        if proc.poll() is None:  # the test failed: do not leave the batch running
            proc.kill()


def _sigterm_and_check(proc: subprocess.Popen, root: Path, psutil) -> None:
    import signal
    import time

    deadline = time.monotonic() + 300  # generous: kernels start slowly on a busy machine
    kernels = []
    while time.monotonic() < deadline and len(kernels) < 1:  # wait for a running kernel
        time.sleep(0.3)
        kernels = [
            c
            for c in psutil.Process(proc.pid).children(recursive=True)
            if "ipykernel_launcher" in " ".join(c.cmdline())
        ]
    assert kernels, "no kernel started"
    time.sleep(1.0)
    family = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    assert "interrupted" in proc.stderr.read()
    _, alive = psutil.wait_procs(family, timeout=60)
    assert not alive  # workers and their kernels are gone
    assert list((root / "outputs").iterdir()) == []  # no period, no temp folder


def test_list_periods_ignores_temp_and_incomplete_folders(tmp_path):
    (tmp_path / "2026-09").mkdir()
    (tmp_path / "2026-09" / "index.html").write_text("ok")
    (tmp_path / "2026-10").mkdir()  # no index: incomplete
    (tmp_path / ".2026-11.tmp-123").mkdir()
    (tmp_path / ".2026-11.tmp-123" / "index.html").write_text("temp")
    assert batch.list_periods(tmp_path) == ["2026-09"]


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_plain_papermill_cli_runs_a_notebook_with_a_params_file(tmp_path):
    root = make_project(tmp_path / "project", light=True)
    params = tmp_path / "run.yaml"
    params.write_text(
        f"region: NA\ndata: {root / 'data/ids.csv'}\noutput_dir: {tmp_path}\n"
        "targets: {pass_rate: 0.5, mean_score: 70}\nhistory_months: 2\n"
    )
    proc = subprocess.run(
        [
            str(VENV_BIN / "papermill"),
            str(root / "notebooks/calibration_report.ipynb"),
            str(tmp_path / "out.ipynb"),
            "-f",
            str(params),
            "-k",
            "python3",
            "--cwd",
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    kpis = json.loads((tmp_path / "calibration_kpis.json").read_text())
    kpis.pop("worker_pid")
    assert kpis == {
        "region": "NA",
        "targets": {"pass_rate": 0.5, "mean_score": 70},
        "history_months": 2,
    }  # YAML mappings arrive as dicts


# ---------------------------------------------------------------------------
# write_kpis
# ---------------------------------------------------------------------------
# ---------------------------------------------------------------------------
# pseudonymise
# ---------------------------------------------------------------------------
def test_index_note_names_the_key_source(tmp_path, monkeypatch):
    monkeypatch.setenv(privacy.PSEUDONYM_ENV, "secret-key-16-bytes")
    assert privacy.pseudonym_key_source() == privacy.PSEUDONYM_ENV
    monkeypatch.delenv(privacy.PSEUDONYM_ENV)
    assert privacy.pseudonym_key_source() == "demo key"
    for source, note in (
        (privacy.PSEUDONYM_ENV, "with the key in QA_PSEUDONYM_KEY"),
        ("demo key", "public demo key, which is used only for the bundled demo"),
    ):
        run = batch.RunResult(PERIOD, tmp_path, (), wall_s=0.0, workers=1, pseudonym_key=source)
        assert note in batch.write_index(run, tmp_path / "index.html").read_text()


# ---------------------------------------------------------------------------
# end to end: the real notebooks on the small demo data
# ---------------------------------------------------------------------------
def _real(root: Path):
    from qa_analysis import demo

    shutil.copytree(REPO / "params", root / "params")
    demo.write_demo(root / "data" / "demo", small=True)  # = data: in params/defaults.yaml
    result = batch.run_batch(
        ["eu", "latam"],
        params_dir=root / "params",
        notebooks_dir=REPO / "notebooks",
        out=root / "outputs",
        workers=2,
    )
    return root, result


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """The shipped notebooks and params on the small demo data, two regions
    (EU with the defaults, LATAM with its own targets)."""
    return run_once_per_session(tmp_path_factory, "real", _real)


@pytest.mark.slow
def test_real_batch_runs_everynotebook(real_run):
    _, result = real_run
    assert result.ok, [(r.label, r.error) for r in result.failed]
    period_dir = result.out_dir
    for region in ("eu", "latam"):
        for name in (
            "calibration_report.html",
            "performance_report.html",
            "audit_plan.csv",
            "kpis.json",
        ):
            assert (period_dir / region / name).is_file(), f"{region}/{name}"
        page = (period_dir / region / "performance_report.html").read_text()
        assert re.search(r'<img [^>]*src="data:image/png;base64,', page)
        assert "hl-ipython3" not in page
        assert not OFFLINE_BAD.search(page)  # opens offline
        merged = json.loads((period_dir / region / "kpis.json").read_text())
        assert merged["calibration"] and merged["performance"]
    assert (period_dir / "global_overview.html").is_file()
    assert set(index_kpis((period_dir / "run.html").read_text())) == {
        "eu/calibration_report.html",
        "eu/performance_report.html",
        "latam/calibration_report.html",
        "latam/performance_report.html",
        "global_overview.html",
    }


@pytest.mark.slow
def test_real_outputs_contain_no_raw_agent_or_reviewer_ids(real_run):
    root, result = real_run
    raw = pd.read_parquet(root / "data/demo/evaluations.parquet", columns=["agent_id"])
    assert RAW_ID.fullmatch(raw["agent_id"].iloc[0])  # the pattern does catch raw ids
    leaks = {}
    for f in result.out_dir.rglob("*"):
        if f.suffix in (".html", ".csv", ".json", ".ipynb"):
            found = set(m.group(0) for m in RAW_ID.finditer(f.read_text(encoding="utf-8")))
            if found:
                leaks[str(f.relative_to(result.out_dir))] = sorted(found)[:5]
    assert not leaks


@pytest.mark.slow
def test_real_index_kpis_equal_the_library_on_the_same_data(real_run):
    """The headline KPIs in index.html are the ones the library computes directly from the
    same demo data: the notebooks add no arithmetic of their own."""
    from qa_analysis import io, reliability
    from qa_analysis.report import calibration as rc
    from qa_analysis.report.data import report_window
    from qa_analysis.scorecard import Scorecard, score_evaluations

    root, result = real_run
    shown = index_kpis((result.out_dir / "run.html").read_text())
    sc = Scorecard.from_yaml(root / "params" / "scorecard.yaml")
    data = root / "data" / "demo"
    month = dict(
        start=f"{result.period}-01", end=str(pd.Period(result.period, "M").end_time.date())
    )
    ev = io.load_evaluations(str(data / "evaluations.parquet"), scorecard=sc, region="EU", **month)
    if (data / "disputes.parquet").exists():  # the reports score the final (disputed) scores
        from qa_analysis.disputes import apply_disputes

        disputes = io.load_disputes(str(data / "disputes.parquet"))
        ev = apply_disputes(ev, disputes.loc[disputes["evaluation_id"].isin(ev["evaluation_id"])])
    scores = score_evaluations(ev, sc)
    scored = scores.loc[scores["score"].notna()]
    perf = shown["eu/performance_report.html"]
    assert perf["n_evaluations"] == len(scored)
    # the index shows the KPI file's ticket-level estimates ...
    kp = io.read_kpis(result.out_dir / "eu" / io.REGION_KPI_FILE)["performance"]
    for k in ("pass_rate", "mean_score", "critical_rate"):
        assert perf[k] == pytest.approx(kp[k], abs=1e-12)
    # ... and the audit-level averages beside them equal an independent recomputation
    assert kp["pass_rate_audits"] == pytest.approx(scored["passed"].astype(float).mean(), abs=1e-12)
    assert kp["detail"]["mean_score_audits"] == pytest.approx(scored["score"].mean(), abs=1e-9)
    assert kp["detail"]["critical_rate_audits"] == pytest.approx(
        scored["critical_fail"].astype(float).mean(), abs=1e-12
    )

    cal = io.load_calibration(str(data / "calibration.parquet"), scorecard=sc, region="EU", **month)
    params = batch.merge_params(
        batch.read_params(root / "params" / "defaults.yaml"),
        batch.read_params(root / "params" / "eu.yaml"),
    )
    res = rc.calibration_results(
        cal,
        sc,
        report_window(result.period, params["history_months"]),
        thresholds=params["thresholds"],
        seed=params["seed"],
        region="EU",
    )
    direct = reliability.agreement_by_item(
        cal.assign(ticket_id=cal["session_id"] + "/" + cal["ticket_id"]),
        scorecard=sc,
        confidence=None,
    )
    calib = shown["eu/calibration_report.html"]
    assert calib["n_sessions"] == cal["session_id"].nunique()
    assert calib["median_alpha"] == pytest.approx(float(res.by_item["alpha"].median()), abs=1e-12)
    assert calib["median_alpha"] == pytest.approx(float(direct["alpha"].median()), abs=1e-12)
