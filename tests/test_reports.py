"""Tests for qa_analysis.reports: the papermill batch, HTML, index, KPIs, pseudonyms.

The batch tests run tiny fixture notebooks (built with nbformat under tmp_path)
in a throw-away project folder: params/, notebooks/, data. They exercise the
machinery (parameters, KPI files, figures, failures, timeouts) in a few
seconds; the real notebooks get their own end-to-end tests (marked slow).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from qa_analysis import reports
from qa_analysis.reports import ParamsError

VENV_BIN = Path(sys.executable).parent
PERIOD = "2026-10"
REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_NAMES = (*reports.REGIONAL_NOTEBOOKS, reports.GLOBAL_NOTEBOOK)
RAW_ID = re.compile(r"\b(EU|NA|APAC|LATAM|MEA)-(A\d{3}|S\d{2}|X\d{2})\b")

# ---------------------------------------------------------------------------
# fixture project
# ---------------------------------------------------------------------------
PARAMS_CELL = """region: str = "EU"
period: str = "2026-10"
data: str = "data/ids.csv"
scorecard: str = "params/scorecard.yaml"
output_dir: str = "."
pseudonymise: bool = True
seed: int = 20261101
history_months: int = 6
thresholds: dict = {"alpha_reliable": 0.8}
targets: dict = {"pass_rate": 0.85, "mean_score": 85}
sampling: dict = {"per_agent": 5}
"""

SETUP_CELL = """import json, os, sys, time
from pathlib import Path
import pandas as pd
from qa_analysis import io, reports
SOURCE_MARKER = "this-code-must-not-appear-in-html"
ids = pd.read_csv(data)  # a missing data file fails here
if pseudonymise:  # the demo key only for a demo data folder (as report_content does)
    ids = reports.pseudonymise(ids, demo_ok=(Path(data).parent / "planted.json").is_file())
"""

CALIBRATION_KPIS = """if targets["pass_rate"] < 0:
    raise ValueError(f"targets.pass_rate must be >= 0, got {targets['pass_rate']}")
reports.write_kpis({"region": region, "n_raters": len(ids), "alpha": 0.734521,
                    "pass_rate_target": targets["pass_rate"], "undefined": float("nan"),
                    "sys_prefix": sys.prefix, "cwd": os.getcwd(), "data": data,
                    "detail": {"seed": seed, "history_months": history_months}},
                   Path(output_dir) / "calibration_kpis.json")
"""

PERFORMANCE_CELLS = [
    """time.sleep(sleep_s)  # a long cell (timeout test)""",
    """import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([1, 2, 3], [2, 1, 3])
ax.set_title(f"{region} trend")
plt.show()""",
    """print("audited agents:", ", ".join(ids["agent_id"]))
io.write_csv_atomic(ids, Path(output_dir) / "audit_plan.csv")
reports.write_kpis({"pass_rate": 0.9125, "mean_score": 88.25, "n_evaluations": 40,
                    "targets": targets, "per_agent": sampling["per_agent"]},
                   Path(output_dir) / "performance_kpis.json")""",
]

GLOBAL_PARAMS = """period: str = "2026-10"
regions: list = []
reports_dir: str = "."
output_dir: str = "."
data: str = "data/ids.csv"
scorecard: str = "params/scorecard.yaml"
targets: dict = {}
pseudonymise: bool = True
"""

GLOBAL_BODY = """import json
from pathlib import Path
from qa_analysis import reports
present, missing = [], []
for r in regions:
    f = Path(reports_dir, r.lower(), "kpis.json")
    k = json.loads(f.read_text()) if f.is_file() else None
    ok = k is not None and k["calibration"] is not None and k["performance"] is not None
    (present if ok else missing).append(r)
print("missing regions:", missing)
reports.write_kpis({"regions_complete": len(present), "regions_missing": ", ".join(missing) or "none",
                    "regions": regions}, Path(output_dir) / "global_kpis.json")
"""


def _notebook(params: str, cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Fixture report"),
        p,
        *(nbformat.v4.new_code_cell(c) for c in cells),
    ]
    return nb


LIGHT_BODY = """import json, os, pathlib
name = {"calibration_report": "calibration_kpis.json", "performance_report": "performance_kpis.json"}
kpis = {"region": region, "targets": targets, "history_months": history_months,
        "worker_pid": os.getppid()}  # the kernel's parent: the pool worker
pathlib.Path(output_dir, name[NOTEBOOK]).write_text(json.dumps(kpis))
"""
#: Light performance notebook: ``sleep_s`` spread over 8 short cells, then the KPIs.
LIGHT_SLOW_CELLS = ["import time", *["time.sleep(sleep_s / 8)"] * 8]
LIGHT_GLOBAL = """import json, os, pathlib
print(regions)
pathlib.Path(output_dir, "global_kpis.json").write_text(json.dumps({"worker_pid": os.getppid()}))
"""


def make_project(root: Path, regions: dict[str, str] | None = None, light: bool = False) -> Path:
    """A project folder with params/, notebooks/ and data/; returns root. ``light``
    notebooks only write their KPI file (no pandas import: faster)."""
    (root / "params").mkdir(parents=True, exist_ok=True)
    (root / "notebooks").mkdir()
    (root / "data").mkdir()
    pd.DataFrame(
        {
            "agent_id": ["EU-A001", "EU-A002", "NA-A001"],
            "reviewer_id": ["EU-S01", "EU-S02", "NA-S01"],
        }
    ).to_csv(root / "data/ids.csv", index=False)
    (root / "data/planted.json").write_text("{}")  # marks a demo data folder (demo.write_demo)
    (root / "params/scorecard.yaml").write_text("name: fixture\ncriteria: []\n")
    (root / "params/defaults.yaml").write_text(
        'period: "2026-10"\ndata: data/ids.csv\nscorecard: params/scorecard.yaml\n'
        "seed: 7\nhistory_months: 3\npseudonymise: true\n"
        "targets: {pass_rate: 0.85, mean_score: 85}\nsampling: {per_agent: 5}\n"
        "thresholds: {alpha_reliable: 0.8}\nsleep_s: 0.0\n"
    )
    for name, text in (
        regions or {"eu": "region: EU\n", "na": "region: NA\ntargets: {pass_rate: 0.9}\n"}
    ).items():
        (root / "params" / f"{name}.yaml").write_text(text)
    if light:
        for nb in reports.REGIONAL_NOTEBOOKS:
            slow = LIGHT_SLOW_CELLS if nb == "performance_report" else []
            nbformat.write(
                _notebook(
                    PARAMS_CELL + "sleep_s: float = 0.0\n",
                    [*slow, f"NOTEBOOK = {nb!r}\n" + LIGHT_BODY],
                ),
                root / "notebooks" / f"{nb}.ipynb",
            )
        nbformat.write(
            _notebook(GLOBAL_PARAMS, [LIGHT_GLOBAL]), root / "notebooks/global_overview.ipynb"
        )
        return root
    nbformat.write(
        _notebook(PARAMS_CELL, [SETUP_CELL, CALIBRATION_KPIS]),
        root / "notebooks/calibration_report.ipynb",
    )
    nbformat.write(
        _notebook(PARAMS_CELL + "sleep_s: float = 0.0\n", [SETUP_CELL, *PERFORMANCE_CELLS]),
        root / "notebooks/performance_report.ipynb",
    )
    nbformat.write(
        _notebook(GLOBAL_PARAMS, [GLOBAL_BODY]), root / "notebooks/global_overview.ipynb"
    )
    return root


def run_args(root: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    reports.add_run_arguments(parser)
    return parser.parse_args(
        [
            "--params",
            str(root / "params"),
            "--out",
            str(root / "outputs"),
            "--workers",
            "2",
            "--quiet",
            *extra,
        ]
    )


def index_kpis(index_html: str) -> dict[str, dict[str, object]]:
    """{row label: {kpi: value}} parsed back from the index's data attributes."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", index_html, flags=re.S):
        link = re.search(r'<a href="([^"]+\.html)"', row)
        if link:
            rows[link.group(1)] = {
                k: json.loads(v.replace("&quot;", '"'))
                for k, v in re.findall(r'data-kpi="([^"]+)" data-value="([^"]*)"', row)
            }
    return rows


def run_once_per_session(tmp_path_factory, name, build):
    """``build(root)`` once per test session, shared by pytest-xdist workers (the
    xdist recipe for session fixtures, with fcntl instead of filelock): each batch
    costs seconds, so no worker repeats another's."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by all workers of this session
    root, done = base / f"shared-{name}", base / f"shared-{name}.pickle"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            done.write_bytes(pickle.dumps(build(root)))
        return pickle.loads(done.read_bytes())


FIXTURE_KEY = "fixture-secret-key"


@contextlib.contextmanager
def pseudonym_key(value: str | None):
    """Set (or, with None, unset) QA_PSEUDONYM_KEY for a batch; the pool workers and
    their kernels inherit it. Restored afterwards."""
    old = os.environ.pop(reports.PSEUDONYM_ENV, None)
    if value is not None:
        os.environ[reports.PSEUDONYM_ENV] = value
    try:
        yield
    finally:
        os.environ.pop(reports.PSEUDONYM_ENV, None)
        if old is not None:
            os.environ[reports.PSEUDONYM_ENV] = old


def _good(root: Path):
    make_project(root)
    with pseudonym_key(FIXTURE_KEY):  # as for real data
        code = reports.main_run(run_args(root))
    return root, code, root / "outputs" / PERIOD


def _faulty(root: Path):
    make_project(
        root,
        regions={
            "eu": "region: EU\n",
            "na": "region: NA\ndata: data/no_such_file.csv\n",
            "apac": "region: APAC\ntargets: {pass_rate: -1}\n",
            "mea": "region: MEA\nsleep_s: 120.0\n",
            "latam": "region: LATAM\ndata: data/real/ids.csv\n",  # not demo data, no key
        },
    )
    (root / "data/real").mkdir()
    shutil.copy(root / "data/ids.csv", root / "data/real/ids.csv")
    with pseudonym_key(None):
        result = reports.run_batch(
            "all", params_dir=root / "params", out=root / "outputs", workers=2, cell_timeout=8
        )
    return root, result


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """One successful batch of two regions (EU, NA) via the command-line entry point."""
    return run_once_per_session(tmp_path_factory, "good", _good)


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    """EU fine; NA points at a missing data file; APAC raises; MEA's cell times out;
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
    for name in ("global_overview.ipynb", "global_overview.html", "index.html", "run.json"):
        assert (period_dir / name).is_file(), name
    assert reports.list_periods(root / "outputs") == [PERIOD]
    assert not [p for p in (root / "outputs").iterdir() if p.name.startswith(".")]


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
    page = (period_dir / "index.html").read_text()
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
        == reports.pseudonymise(raw_ids, key=FIXTURE_KEY)["agent_id"].tolist()
    )
    assert (
        "pseudonymised with the key in QA_PSEUDONYM_KEY" in (period_dir / "index.html").read_text()
    )


OFFLINE_BAD = re.compile(
    r"""<script[^>]*\ssrc=["']?(https?:)?//|<link[^>]*\shref=["']?(https?:)?//"""
    r"""|import\(["'](https?:)?//|cdnjs|cdn\.jsdelivr|unpkg\.com""",
    re.I,
)


def test_render_html_has_no_cdn_scripts_or_styles(tmp_path):
    """nbconvert's lab template loads require.js, MathJax and mermaid from cdnjs; the
    reports must open offline or behind a proxy. No kernel needed: a hand-made notebook."""
    nb = _notebook("region = 'EU'", ["print('hello')"])
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nb.cells.append(
        nbformat.v4.new_markdown_cell("Rate $p = k/n$ and a [link](https://example.org).")
    )
    nbformat.write(nb, tmp_path / "r.ipynb")
    text = reports.render_html(tmp_path / "r.ipynb", tmp_path / "r.html", title="T").read_text()
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
    assert raised.error.startswith("ValueError: targets.pass_rate must be >= 0, got -1")
    timed_out = status[("MEA", "performance_report")]
    assert timed_out.error.startswith("CellTimeoutError: a cell ran longer than the 8 s per-cell")
    assert status[("MEA", "calibration_report")].ok
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
    assert "ValueError" in (period_dir / "apac" / "calibration_report.html").read_text()
    timed = nbformat.read(period_dir / "mea" / "performance_report.ipynb", as_version=4)
    assert any(
        o.get("ename") == "CellTimeoutError"
        for c in timed.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert (
        "This report stopped early: CellTimeoutError"
        in (period_dir / "mea" / "performance_report.html").read_text()
    )


@pytest.mark.slow
def test_failures_show_in_index_and_region_kpis(faulty_run):
    _, result = faulty_run
    page = (result.out_dir / "index.html").read_text()
    assert page.count("FAILED") == len(result.failed) == 6
    assert "FileNotFoundError" in page and "CellTimeoutError" in page
    assert "QA_PSEUDONYM_KEY is not set" in page
    mea = json.loads((result.out_dir / "mea" / "kpis.json").read_text())
    assert mea["calibration"] is not None and mea["performance"] is None
    assert mea["status"]["performance_report"] == "failed"
    assert mea["errors"]["performance_report"].startswith("CellTimeoutError")


@pytest.mark.slow
def test_global_overview_runs_and_reports_missing_regions(faulty_run):
    _, result = faulty_run
    glob = next(r for r in result.results if r.notebook == "global_overview")
    assert glob.kpis["regions_missing"] == "APAC, LATAM, MEA, NA"
    assert glob.kpis["regions"] == ["APAC", "EU", "LATAM", "MEA", "NA"]


@pytest.mark.slow
def test_notebook_timeout_stops_many_short_cells_and_the_worker_goes_on(tmp_path):
    """NA's performance notebook sleeps 3.2 s in 8 cells of 0.4 s: every cell is well
    under the 2 s cell limit, so only the 1 s whole-notebook limit can stop it. One
    worker runs all three notebooks in turn, so the overview after it shows that the
    worker survived the timeout."""
    root = make_project(tmp_path, regions={"na": "region: NA\nsleep_s: 3.2\n"}, light=True)
    result = reports.run_batch(
        ["na"],
        params_dir=root / "params",
        out=root / "outputs",
        workers=1,
        timeout=1.0,
        cell_timeout=2.0,
    )
    status = {r.notebook: r for r in result.results}
    slow = status["performance_report"]
    assert not slow.ok
    assert slow.error.startswith("NotebookTimeoutError: timed out after 1 s (whole-notebook limit)")
    assert status["calibration_report"].ok and status["global_overview"].ok
    # the partial notebook is kept and rendered like other failures
    nb = nbformat.read(result.out_dir / slow.ipynb, as_version=4)
    sleeps = [c for c in nb.cells if c.cell_type == "code" and "time.sleep" in c.source]
    ran = [c for c in sleeps if c.execution_count]
    assert 0 < len(ran) < len(sleeps)  # stopped part-way
    assert any(o.get("ename") == "NotebookTimeoutError" for o in ran[-1].outputs)
    page = (result.out_dir / slow.html).read_text()
    assert "This report stopped early: NotebookTimeoutError: timed out after 1 s" in page
    assert "timed out after 1 s" in (result.out_dir / "index.html").read_text()
    # the same worker process ran the overview after the timed-out notebook
    assert status["global_overview"].started >= slow.finished
    assert (
        status["global_overview"].kpis["worker_pid"]
        == status["calibration_report"].kpis["worker_pid"]
    )


STUBBORN_CELL = """import time
end = time.monotonic() + 30
while time.monotonic() < end:  # swallows the interrupt (as a careless retry loop would)
    try:
        time.sleep(0.05)
    except KeyboardInterrupt:
        print("interrupt ignored")
"""


@pytest.mark.slow
def test_notebook_timeout_kills_a_kernel_that_ignores_the_interrupt(tmp_path):
    """Run in this process, as a pool worker would: the interrupt is swallowed, so the
    kernel is killed after the grace period; the notebook is marked timed out (not
    "kernel died"), and no kernel process is left behind."""
    psutil = pytest.importorskip("psutil")
    nb = _notebook("x = 1", [STUBBORN_CELL, "print('never reached')"])
    nbformat.write(nb, tmp_path / "stubborn.ipynb")
    task = reports._Task(
        notebook="stubborn",
        region=None,
        input_path=str(tmp_path / "stubborn.ipynb"),
        period_dir=str(tmp_path),
        rel_dir="",
        parameters={},
        cwd=str(tmp_path),
        timeout=1.0,
        cell_timeout=60,
        start_timeout=60,
        title="stubborn",
        kill_grace=0.3,
    )
    res = reports._run_task(task)
    assert res.error.startswith("NotebookTimeoutError: timed out after 1 s")
    out = nbformat.read(tmp_path / "stubborn.ipynb", as_version=4)
    texts = "".join(
        o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "interrupt ignored" in texts and "never reached" not in texts
    assert (tmp_path / "stubborn.html").is_file()
    kernels = [
        c for c in psutil.Process().children(recursive=True) if "ipykernel" in " ".join(c.cmdline())
    ]
    assert not kernels


@pytest.mark.slow
def test_notebook_timeout_stops_before_the_next_cell_when_the_interrupt_is_missed(tmp_path):
    """A cell that ignores SIGINT while it runs finishes normally after the deadline
    (within the kill grace period): the next cell is not started."""
    cell = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(1.6)"
    nbformat.write(_notebook("x = 1", [cell, "print('never reached')"]), tmp_path / "nb.ipynb")
    task = reports._Task(
        notebook="nb",
        region=None,
        input_path=str(tmp_path / "nb.ipynb"),
        period_dir=str(tmp_path),
        rel_dir="",
        parameters={},
        cwd=str(tmp_path),
        timeout=0.8,
        cell_timeout=60,
        start_timeout=60,
        title="nb",
        kill_grace=30,
    )
    res = reports._run_task(task)
    assert res.error.startswith("NotebookTimeoutError: timed out after 0.8 s")
    assert "stopped before cell" in res.error
    out = nbformat.read(tmp_path / "nb.ipynb", as_version=4)
    texts = "".join(
        o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "never reached" not in texts


def test_watchdog_refuses_the_next_cell_once_the_deadline_has_passed():
    """If the interrupt reaches an idle kernel between two cells, the next cell must not
    start: the on_cell_start hook raises."""
    dog = reports._Watchdog(limit=0.0, grace=0.0)
    dog.check(cell=None, cell_index=3)  # clock not started (kernel not ready): no limit yet
    dog.start()
    try:
        with pytest.raises(
            reports.NotebookTimeoutError,
            match=r"timed out after 0 s \(whole-notebook limit\), stopped before cell 4",
        ):
            dog.check(cell=None, cell_index=4)
        assert dog.fired
    finally:
        dog.stop()


def test_timeout_options_reach_run_batch(tmp_path, monkeypatch):
    seen = {}

    def fake(*a, **k):
        seen.update(k)
        return reports.RunResult(PERIOD, tmp_path, (), wall_s=0.0, workers=1)

    monkeypatch.setattr(reports, "run_batch", fake)
    reports.main_run(run_args(tmp_path))
    assert (seen["timeout"], seen["cell_timeout"]) == (900, 600)  # whole notebook, one cell
    reports.main_run(run_args(tmp_path, "--timeout", "30", "--cell-timeout", "0"))
    assert (seen["timeout"], seen["cell_timeout"]) == (30, None)  # 0 = no limit


def test_main_run_exits_1_and_names_failures(tmp_path, monkeypatch, capsys):
    failed = reports.NotebookResult(
        "calibration_report", "EU", "failed", 1.0, error="FileNotFoundError: data/missing.csv"
    )
    fake = reports.RunResult(PERIOD, tmp_path, (failed,), wall_s=1.0, workers=2)
    monkeypatch.setattr(reports, "run_batch", lambda *a, **k: fake)
    assert reports.main_run(run_args(tmp_path)) == 1
    assert "EU calibration_report failed: FileNotFoundError" in capsys.readouterr().err
    ok = reports.RunResult(
        PERIOD, tmp_path, (dataclasses.replace(failed, status="ok", error=None),), 1.0, 2
    )
    monkeypatch.setattr(reports, "run_batch", lambda *a, **k: ok)
    assert reports.main_run(run_args(tmp_path)) == 0


# ---------------------------------------------------------------------------
# atomic replacement
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_rerun_replaces_period_and_clears_killed_run_leftovers(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\n"}, light=True)
    out = root / "outputs"
    seen = []
    first = reports.run_batch(
        ["eu"], params_dir=root / "params", out=out, workers=2, on_result=seen.append
    )
    assert first.ok and len(seen) == 3  # one callback per notebook, as each finishes
    assert {r.notebook for r in seen} == set(NOTEBOOK_NAMES)
    (first.out_dir / "stale.txt").write_text("from the first run")
    killed = out / f".{PERIOD}.tmp-999999999"  # a pid that cannot be running
    (killed / "eu").mkdir(parents=True)
    (killed / "index.html").write_text("half-written")
    assert reports.list_periods(out) == [PERIOD]  # the leftover is not a period
    second = reports.run_batch(["EU"], params_dir=root / "params", out=out, workers=2)
    assert second.ok
    assert not (second.out_dir / "stale.txt").exists()  # replaced, not merged
    assert not killed.exists()
    assert sorted(p.name for p in out.iterdir()) == [PERIOD, "index.html"]
    assert f'href="{PERIOD}/index.html"' in (out / "index.html").read_text()


@pytest.mark.slow
def test_sigterm_stops_workers_and_kernels_and_leaves_no_period(tmp_path):
    import signal
    import time

    psutil = pytest.importorskip("psutil")  # an ipykernel dependency
    root = make_project(tmp_path, regions={"eu": "region: EU\nsleep_s: 120.0\n"}, light=False)
    proc = subprocess.Popen(
        [str(VENV_BIN / "qa-reports"), "run", "--params", "params", "--out", "outputs", "--quiet"],
        cwd=root,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
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
    assert proc.wait(timeout=30) == 130
    assert "interrupted" in proc.stderr.read()
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive  # workers and their kernels are gone
    assert list((root / "outputs").iterdir()) == []  # no period, no temp folder


def test_list_periods_ignores_temp_and_incomplete_folders(tmp_path):
    (tmp_path / "2026-09").mkdir()
    (tmp_path / "2026-09" / "index.html").write_text("ok")
    (tmp_path / "2026-10").mkdir()  # no index: incomplete
    (tmp_path / ".2026-11.tmp-123").mkdir()
    (tmp_path / ".2026-11.tmp-123" / "index.html").write_text("temp")
    assert reports.list_periods(tmp_path) == ["2026-09"]


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
def test_unknown_key_is_an_error_naming_key_and_file(tmp_path, capsys):
    root = make_project(tmp_path, regions={"eu": "region: EU\ncolour: red\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: unknown parameter 'colour'"):
        reports.load_batch_params("all", params_dir=root / "params")
    assert reports.main_run(run_args(root)) == 2
    err = capsys.readouterr().err
    assert "colour" in err and "eu.yaml" in err
    assert not (root / "outputs" / PERIOD).exists()  # nothing ran


def test_unknown_key_in_defaults_names_defaults(tmp_path):
    root = make_project(tmp_path)
    with (root / "params/defaults.yaml").open("a") as fh:
        fh.write("n_bootstrap: 100\n")
    with pytest.raises(ParamsError, match=r"defaults\.yaml: unknown parameter 'n_bootstrap'"):
        reports.load_batch_params("all", params_dir=root / "params")


def test_params_file_that_is_not_a_mapping_is_an_error(tmp_path):
    root = make_project(tmp_path, regions={"eu": "- region\n- EU\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: a params file must be a mapping.*list"):
        reports.load_batch_params("all", params_dir=root / "params")


def test_wrong_value_type_is_an_error(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\nhistory_months: six\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: parameter 'history_months' must be int"):
        reports.load_batch_params("all", params_dir=root / "params")


def test_batch_keys_and_per_run_keys_are_rejected_in_files(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\noutput_dir: /tmp/x\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: parameter 'output_dir' is set by the batch"):
        reports.load_batch_params("all", params_dir=root / "params")
    (root / "params/eu.yaml").write_text('region: EU\nperiod: "2026-09"\n')
    with pytest.raises(ParamsError, match=r"eu\.yaml: key 'period' is the same for every region"):
        reports.load_batch_params("all", params_dir=root / "params")


def test_region_must_match_file_name(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: NA\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: region 'NA' does not match"):
        reports.load_batch_params("all", params_dir=root / "params")


def test_unknown_region_and_bad_period_are_errors(tmp_path):
    root = make_project(tmp_path)
    with pytest.raises(ParamsError, match=r"xx\.yaml: no params file for region 'xx'"):
        reports.load_batch_params(["xx"], params_dir=root / "params")
    with pytest.raises(ParamsError, match=r"--period: period must be YYYY-MM"):
        reports.load_batch_params("all", params_dir=root / "params", period="2026-13")


def test_missing_notebook_is_an_error_before_running(tmp_path):
    root = make_project(tmp_path)
    (root / "notebooks/global_overview.ipynb").unlink()
    with pytest.raises(ParamsError, match=r"global_overview\.ipynb: notebook not found"):
        reports.load_batch_params("all", params_dir=root / "params")


def test_all_regions_skips_defaults_and_scorecard(tmp_path):
    root = make_project(tmp_path)
    bp = reports.load_batch_params("all", params_dir=root / "params")
    assert bp.regions == ("EU", "NA")
    assert bp.period == PERIOD and bp.root == root.resolve()


def test_merge_is_shallow_except_one_level_for_mappings():
    base = {"seed": 1, "targets": {"a": 1, "b": 2}, "sampling": {"per_agent": 5}}
    merged = reports.merge_params(base, {"targets": {"b": 3}, "seed": 2, "sampling": 7})
    assert merged == {"seed": 2, "targets": {"a": 1, "b": 3}, "sampling": 7}
    assert base == {"seed": 1, "targets": {"a": 1, "b": 2}, "sampling": {"per_agent": 5}}


def test_keys_go_only_to_notebooks_that_declare_them(tmp_path):
    root = make_project(tmp_path)
    bp = reports.load_batch_params("all", params_dir=root / "params")
    cal = bp.for_notebook("calibration_report", "NA")
    perf = bp.for_notebook("performance_report", "NA")
    glob = bp.for_notebook("global_overview", None)
    assert "sleep_s" not in cal and perf["sleep_s"] == 0.0
    assert "seed" not in glob and "region" not in glob
    assert cal["targets"] == {"pass_rate": 0.9, "mean_score": 85}
    assert cal["scorecard"] == str((root / "params/scorecard.yaml").resolve())


def test_shipped_params_files_are_valid_yaml_mappings():
    params = Path(__file__).resolve().parent.parent / "params"
    defaults = reports.read_params(params / "defaults.yaml")
    assert set(defaults) <= {
        "period",
        "data",
        "scorecard",
        "pseudonymise",
        "seed",
        "history_months",
        "thresholds",
        "targets",
        "sampling",
    }
    for code in ("eu", "na", "apac", "latam", "mea"):
        region = reports.read_params(params / f"{code}.yaml")
        assert region["region"] == code.upper()
        assert set(region) <= set(defaults) | {"region"}
        merged = reports.merge_params(defaults, region)
        assert set(merged["targets"]) == set(defaults["targets"])


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
def test_write_kpis_converts_numpy_pandas_and_missing(tmp_path):
    path = reports.write_kpis(
        {
            "n": np.int64(3),
            "rate": np.float32(0.5),
            "flag": np.bool_(True),
            "nan": np.nan,
            "inf": float("inf"),
            "na": pd.NA,
            "nat": pd.NaT,
            "when": pd.Timestamp("2026-10-01"),
            "month": pd.Period("2026-10", "M"),
            "arr": np.array([1.0, np.nan]),
            "series": pd.Series({"a": 1, "b": 2}),
            "frame": pd.DataFrame({"x": [1, 2], "y": [0.5, np.nan]}),
            "nested": {1: {"deep": np.float64(2.5)}},
        },
        tmp_path / "sub" / "k.json",
    )
    data = json.loads(path.read_text())
    assert data == {
        "n": 3,
        "rate": 0.5,
        "flag": True,
        "nan": None,
        "inf": None,
        "na": None,
        "nat": None,
        "when": "2026-10-01T00:00:00",
        "month": "2026-10",
        "arr": [1.0, None],
        "series": {"a": 1, "b": 2},
        "frame": [{"x": 1, "y": 0.5}, {"x": 2, "y": None}],
        "nested": {"1": {"deep": 2.5}},
    }
    assert [p.name for p in path.parent.iterdir()] == ["k.json"]  # no temp file left


def test_write_kpis_writes_dataclass_results(tmp_path):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Estimate:
        value: float
        ci: tuple[float, float]

    path = reports.write_kpis(
        {"alpha": Estimate(np.float64(0.71), (0.6, np.nan))}, tmp_path / "k.json"
    )
    assert json.loads(path.read_text()) == {"alpha": {"value": 0.71, "ci": [0.6, None]}}


def test_write_kpis_rejects_unknown_types_naming_the_key(tmp_path):
    with pytest.raises(TypeError, match=r"kpis\['fig'\]: cannot write a object"):
        reports.write_kpis({"ok": 1, "fig": object()}, tmp_path / "k.json")
    assert not (tmp_path / "k.json").exists()
    with pytest.raises(TypeError, match="must be a mapping"):
        reports.write_kpis([1, 2], tmp_path / "k.json")


# ---------------------------------------------------------------------------
# pseudonymise
# ---------------------------------------------------------------------------
def _people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "agent_id": ["EU-A001", "EU-A002", "EU-A001", None],
            "reviewer_id": ["EU-S01", "EU-S01", "EU-S02", "EU-S02"],
            "score": [1.0, 0.0, 1.0, 1.0],
        }
    )


def test_pseudonymise_is_stable_keyed_and_keeps_missing():
    df = _people()
    a = reports.pseudonymise(df, key="k1")
    b = reports.pseudonymise(df.iloc[::-1], key="k1")  # another month, another order
    c = reports.pseudonymise(df, key="k2")
    assert a["agent_id"].iloc[0] == a["agent_id"].iloc[2] == b["agent_id"].iloc[1]
    assert a["agent_id"].iloc[0] != a["agent_id"].iloc[1]
    assert a["agent_id"].iloc[0] != c["agent_id"].iloc[0]
    assert pd.isna(a["agent_id"].iloc[3])
    assert a["agent_id"].dropna().str.fullmatch(r"A-[0-9a-f]{8}").all()
    assert a["reviewer_id"].str.fullmatch(r"R-[0-9a-f]{8}").all()
    assert a["score"].equals(df["score"]) and df["agent_id"].iloc[0] == "EU-A001"


def test_pseudonym_is_the_documented_hmac():
    import hashlib
    import hmac

    out = reports.pseudonymise(pd.DataFrame({"rater_id": ["EU-S01"]}), key="secret")
    digest = hmac.new(b"secret", b"EU-S01", hashlib.sha256).hexdigest()
    assert out["rater_id"].iloc[0] == "R-" + digest[:8]


def test_reviewer_and_rater_ids_share_pseudonyms():
    ev = reports.pseudonymise(pd.DataFrame({"reviewer_id": ["EU-S01"]}), key="k")
    cal = reports.pseudonymise(pd.DataFrame({"rater_id": ["EU-S01"]}), key="k")
    assert ev["reviewer_id"].iloc[0] == cal["rater_id"].iloc[0]


def test_pseudonymise_key_comes_from_environment(monkeypatch):
    df = _people()
    monkeypatch.setenv(reports.PSEUDONYM_ENV, "from-env")
    assert reports.pseudonymise(df).equals(reports.pseudonymise(df, key="from-env"))
    # the secret wins over the demo key even for the demo data
    assert reports.pseudonymise(df, demo_ok=True).equals(reports.pseudonymise(df, key="from-env"))


def test_pseudonymise_without_key_refuses_unless_demo_data(monkeypatch):
    """A public key would make the pseudonyms reversible by hashing guessed ids, so it
    is used only when the caller says the data is the bundled demo set."""
    df = _people()
    monkeypatch.delenv(reports.PSEUDONYM_ENV, raising=False)
    with pytest.raises(ValueError, match=r"^QA_PSEUDONYM_KEY is not set: .*pseudonymise: false"):
        reports.pseudonymise(df)
    monkeypatch.setenv(reports.PSEUDONYM_ENV, "")  # set but empty: no key either
    with pytest.raises(ValueError, match="QA_PSEUDONYM_KEY is not set"):
        reports.pseudonymise(df)
    assert reports.pseudonymise(df, demo_ok=True).equals(
        reports.pseudonymise(df, key=reports.DEFAULT_PSEUDONYM_KEY)
    )
    assert reports.pseudonymise(df, key="k").equals(reports.pseudonymise(df, key="k", demo_ok=True))
    assert reports.pseudonymise(df[["score"]]).equals(df[["score"]])  # no ids: no key needed


def test_index_note_names_the_key_source(tmp_path, monkeypatch):
    monkeypatch.setenv(reports.PSEUDONYM_ENV, "secret")
    assert reports.pseudonym_key_source() == reports.PSEUDONYM_ENV
    monkeypatch.delenv(reports.PSEUDONYM_ENV)
    assert reports.pseudonym_key_source() == "demo key"
    for source, note in (
        (reports.PSEUDONYM_ENV, "with the key in QA_PSEUDONYM_KEY"),
        ("demo key", "public demo key, which is used only for the bundled demo"),
    ):
        run = reports.RunResult(PERIOD, tmp_path, (), wall_s=0.0, workers=1, pseudonym_key=source)
        assert note in reports.write_index(run, tmp_path / "index.html").read_text()


def test_pseudonymise_explicit_missing_column_is_an_error():
    with pytest.raises(ValueError, match=r"column\(s\) \['rater_id'\] not in the table"):
        reports.pseudonymise(_people(), columns=["rater_id"], key="k")


def test_pseudonymise_many_ids_maps_unique_ids_back():
    ids = pd.Series([f"A{i % 5000:05d}" for i in range(200_000)], name="agent_id")
    out = reports.pseudonymise(ids.to_frame(), key="k")["agent_id"]
    assert out.nunique() == 5000
    assert (out.iloc[:5000].to_numpy() == out.iloc[5000:10000].to_numpy()).all()


def test_pseudonymise_empty_frame():
    out = reports.pseudonymise(pd.DataFrame({"agent_id": pd.Series([], dtype=object)}), key="k")
    assert out.empty and list(out.columns) == ["agent_id"]


# ---------------------------------------------------------------------------
# end to end: the real notebooks on the small demo data
# ---------------------------------------------------------------------------
def _real(root: Path):
    from qa_analysis import demo

    shutil.copytree(REPO / "params", root / "params")
    demo.write_demo(root / "data" / "demo", small=True)  # = data: in params/defaults.yaml
    result = reports.run_batch(
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
def test_real_batch_runs_every_notebook(real_run):
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
    assert set(index_kpis((period_dir / "index.html").read_text())) == {
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
    shown = index_kpis((result.out_dir / "index.html").read_text())
    sc = Scorecard.from_yaml(root / "params" / "scorecard.yaml")
    data = root / "data" / "demo"
    month = dict(
        start=f"{result.period}-01", end=str(pd.Period(result.period, "M").end_time.date())
    )
    ev = io.load_evaluations(str(data / "evaluations.parquet"), scorecard=sc, region="EU", **month)
    scores = score_evaluations(ev, sc)
    scored = scores.loc[scores["score"].notna()]
    perf = shown["eu/performance_report.html"]
    assert perf["n_evaluations"] == len(scored)
    assert perf["pass_rate"] == pytest.approx(scored["passed"].astype(float).mean(), abs=1e-12)
    assert perf["mean_score"] == pytest.approx(scored["score"].mean(), abs=1e-9)
    assert perf["critical_rate"] == pytest.approx(
        scored["critical_fail"].astype(float).mean(), abs=1e-12
    )

    cal = io.load_calibration(str(data / "calibration.parquet"), scorecard=sc, region="EU", **month)
    params = reports.merge_params(
        reports.read_params(root / "params" / "defaults.yaml"),
        reports.read_params(root / "params" / "eu.yaml"),
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
