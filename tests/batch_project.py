"""Shared helpers for the batch tests: a throw-away project with tiny fixture notebooks.

The fixture notebooks (built with nbformat) exercise the batch machinery
(parameters, KPI files, figures, failures, timeouts) in seconds; the real
notebooks get their own end-to-end tests (marked slow).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pandas as pd

from qa_analysis import cli, io, privacy

VENV_BIN = Path(sys.executable).parent
PERIOD = "2026-10"
REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_NAMES = (*io.REGIONAL_NOTEBOOKS, io.GLOBAL_NOTEBOOK)
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
fail: bool = False
sleep_s: float = 0.0
"""

SETUP_CELL = """import json, os, sys, time
from pathlib import Path
import pandas as pd
from qa_analysis import io, privacy
SOURCE_MARKER = "this-code-must-not-appear-in-html"
ids = pd.read_csv(data)  # a missing data file fails here
if pseudonymise:  # the demo key only for a demo data folder (as report.data does)
    ids = privacy.pseudonymise(ids, demo_ok=(Path(data).parent / "planted.json").is_file())
"""

CALIBRATION_KPIS = """if fail:
    raise ValueError("fixture failure: this region's params say fail: true")
io.write_kpis({"region": region, "n_raters": len(ids), "alpha": 0.734521,
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
io.write_kpis({"pass_rate": 0.9125, "mean_score": 88.25, "n_evaluations": 40,
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
from qa_analysis import io
present, missing = [], []
for r in regions:
    k = io.read_region_kpis(reports_dir, r)
    ok = k is not None and all(k[key] is not None for key in io.REGION_KPI_KEYS.values())
    (present if ok else missing).append(r)
print("missing regions:", missing)
io.write_kpis({"regions_complete": len(present), "regions_missing": ", ".join(missing) or "none",
                    "regions": regions}, Path(output_dir) / "global_kpis.json")
"""


def notebook(params: str, cells: list[str]) -> nbformat.NotebookNode:
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
from qa_analysis import io
kpis = {"region": region, "targets": targets, "history_months": history_months,
        "worker_pid": os.getppid()}  # the kernel's parent: the pool worker
pathlib.Path(output_dir, io.KPI_FILES[NOTEBOOK]).write_text(json.dumps(kpis))
"""
#: Light performance notebook: ``sleep_s`` spread over 40 short cells, then the KPIs.
LIGHT_SLOW_CELLS = ["import time", *["time.sleep(sleep_s / 40)"] * 40]
LIGHT_GLOBAL = """import json, os, pathlib
print(regions)
pathlib.Path(output_dir, "global_kpis.json").write_text(json.dumps({"worker_pid": os.getppid()}))
"""


def make_project(root: Path, regions: dict[str, str] | None = None, light: bool = False) -> Path:
    """A project folder with params/, notebooks/ and data/; returns root.

    ``light`` notebooks only write their KPI file (no pandas import: faster).
    The fixture notebooks declare two parameters of their own, ``sleep_s`` and
    ``fail``, which the batch accepts because a notebook declares them.
    """
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
        for nb in io.REGIONAL_NOTEBOOKS:
            slow = LIGHT_SLOW_CELLS if nb == "performance_report" else []
            nbformat.write(
                notebook(PARAMS_CELL, [*slow, f"NOTEBOOK = {nb!r}\n" + LIGHT_BODY]),
                root / "notebooks" / f"{nb}.ipynb",
            )
        nbformat.write(
            notebook(GLOBAL_PARAMS, [LIGHT_GLOBAL]), root / "notebooks/global_overview.ipynb"
        )
        return root
    nbformat.write(
        notebook(PARAMS_CELL, [SETUP_CELL, CALIBRATION_KPIS]),
        root / "notebooks/calibration_report.ipynb",
    )
    nbformat.write(
        notebook(PARAMS_CELL, [SETUP_CELL, *PERFORMANCE_CELLS]),
        root / "notebooks/performance_report.ipynb",
    )
    nbformat.write(notebook(GLOBAL_PARAMS, [GLOBAL_BODY]), root / "notebooks/global_overview.ipynb")
    return root


def run_args(root: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_run_arguments(parser)
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
    old = os.environ.pop(privacy.PSEUDONYM_ENV, None)
    if value is not None:
        os.environ[privacy.PSEUDONYM_ENV] = value
    try:
        yield
    finally:
        os.environ.pop(privacy.PSEUDONYM_ENV, None)
        if old is not None:
            os.environ[privacy.PSEUDONYM_ENV] = old
