"""Tests for the notebooks: thin, committed clean, one source for every setting, and
they run (papermill) with a partial parameter set as a plain ``papermill -f`` run gives.

The smoke tests execute the notebooks on the small demo data (``slow``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import papermill
import pytest
import yaml

from qa_analysis import demo, settings

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPORTS = ["calibration_report", "performance_report", "global_overview"]
#: the reporting layer: where a copy of a threshold or target would hide
# every module of the package and every notebook: a default lives only in params/defaults.yaml
REPORTING_FILES = [
    *sorted((ROOT / "qa_analysis").rglob("*.py")),
    *NOTEBOOKS,
]


def code_cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_notebooks_are_there():
    assert {p.stem for p in NOTEBOOKS} == {*REPORTS, "explore"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs_or_execution_counts(path):
    for cell in code_cells(path):
        assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_need_no_matplotlib_magic_and_use_the_report_package(path):
    code = "\n".join("".join(c["source"]) for c in code_cells(path))
    assert "%matplotlib" not in code and "report_content" not in code


@pytest.mark.parametrize("name", REPORTS)
def test_parameters_cells_hold_no_copy_of_the_defaults(name):
    """Every parameter that params/defaults.yaml sets is declared None in the notebook and
    resolved over the defaults by report_params in the next cell."""
    declared = papermill.inspect_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"))
    in_defaults = set(declared) & set(settings.defaults())
    assert in_defaults  # the notebook does take shared parameters
    assert {k: declared[k]["default"] for k in in_defaults} == dict.fromkeys(in_defaults, "None")
    cells = code_cells(ROOT / "notebooks" / f"{name}.ipynb")
    i = next(i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", []))
    resolve = "".join(cells[i + 1]["source"])
    assert resolve.startswith("p = report_params(")
    assert all(f"{k}={k}" in resolve for k in in_defaults)


@pytest.mark.parametrize("name", REPORTS)
def test_parameters_are_typed_for_the_batch_check(name):
    declared = papermill.inspect_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"))
    types = {k: v["inferred_type_name"] for k, v in declared.items() if v["default"] == "None"}
    expected = {
        k: {str: "str", bool: "bool", int: "int", dict: "dict", list: "list"}[type(v)]
        for k, v in settings.defaults().items()
        if k in types
    }
    assert types == expected


def copies_of_the_defaults(text: str, defaults: dict) -> list[str]:
    """Places in ``text`` where a threshold, target or quota key is given its default value
    as a literal (``"alpha_reliable": 0.8``, ``bias_flag=0.1``), or an alpha band of the
    defaults is written out (``.667``)."""
    values = {
        k: float(v)
        for group in ("thresholds", "targets", "sampling")
        for k, v in defaults[group].items()
    }
    keys = "|".join(map(re.escape, values))
    assigned = re.compile(rf"""["']?\b({keys})\b["']?\s*[:=]\s*([-+]?\d*\.?\d+)""")
    hits = [m.group(0) for m in assigned.finditer(text) if float(m.group(2)) == values[m.group(1)]]
    th = defaults["thresholds"]
    bands = "|".join(re.escape(f"{th[k]:.3f}"[1:]) for k in ("alpha_reliable", "alpha_tentative"))
    hits += [m.group(0) for m in re.finditer(rf"(?<![\d.])0?({bands})\b", text)]
    return hits


def test_threshold_and_target_values_are_defined_only_in_defaults_yaml():
    """No second copy of a threshold, target or quota anywhere in the package or the
    notebooks: they read params/defaults.yaml through settings."""
    defaults = yaml.safe_load(settings.defaults_path().read_text(encoding="utf-8"))
    hits = {
        f.name: copies_of_the_defaults(f.read_text(encoding="utf-8"), defaults)
        for f in REPORTING_FILES
    }
    assert {k: v for k, v in hits.items() if v} == {}


def test_the_grep_catches_a_copy():
    """The check above fails on the kinds of copy it is meant to catch, and only those."""
    defaults = settings.defaults()
    th = defaults["thresholds"]
    copy = f'th = {{"alpha_reliable": {th["alpha_reliable"]}}}; f(bias_flag={th["bias_flag"]})'
    assert len(copies_of_the_defaults(copy, defaults)) == 2
    assert copies_of_the_defaults(f"band {th['alpha_tentative']:.3f}"[1:], defaults)
    assert not copies_of_the_defaults('th["alpha_reliable"]; {"alpha_reliable": 0.95}', defaults)


# ---------------------------------------------------------------------------
# smoke tests: the notebooks run
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("demo")
    demo.write_demo(d, small=True, seed=7)
    return d


def _run(name: str, out: Path, **parameters) -> dict:
    papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{name}.ipynb"),
        str(out / f"{name}.ipynb"),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(out),
        progress_bar=False,
    )
    return json.loads((out / f"{name}.ipynb").read_text(encoding="utf-8"))


def _outputs(nb: dict) -> list[dict]:
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]


@pytest.mark.slow
def test_explore_notebook_runs_on_in_process_demo_data_and_shows_figures(tmp_path):
    nb = _run("explore", tmp_path)
    outs = _outputs(nb)
    assert not [o for o in outs if o["output_type"] == "error"]
    pngs = [o for o in outs if "image/png" in o.get("data", {})]
    assert len(pngs) == 4  # agreement, raters, control chart, audit sample
    assert not any("<Figure size" in "".join(o.get("data", {}).get("text/plain", "")) for o in outs)


@pytest.mark.slow
def test_report_notebooks_run_with_a_partial_parameter_set(demo_dir, tmp_path):
    """As ``papermill -f params/<region>.yaml``: only some keys, dicts partial."""
    region = tmp_path / "eu"
    region.mkdir()
    common = {"data": str(demo_dir), "output_dir": str(region), "region": "EU"}
    _run("calibration_report", region, **common, thresholds={"n_boot": 50})
    perf = _run("performance_report", region, **common, targets={"pass_rate": 0.99})
    cal_k = json.loads((region / "calibration_kpis.json").read_text())
    perf_k = json.loads((region / "performance_kpis.json").read_text())
    assert cal_k["region"] == "EU" and cal_k["period"] == settings.defaults()["period"]
    assert perf_k["targets"]["pass_rate"] == "missed"  # the partial target was used
    assert set(perf_k["targets"]) == {
        "pass_rate",
        "mean_score",
        "critical_rate",
        "audits_per_agent",
    }
    assert (region / "audit_plan.csv").is_file()
    pngs = [o for o in _outputs(perf) if "image/png" in o.get("data", {})]
    assert len(pngs) >= 10  # every figure displayed without %matplotlib inline
    (region / "kpis.json").write_text(
        json.dumps({"performance": perf_k, "calibration": cal_k, "status": {}})
    )
    glob = _run(
        "global_overview",
        tmp_path,
        data=str(demo_dir),
        reports_dir=str(tmp_path),
        output_dir=str(tmp_path),
        regions=["EU", "NA"],
    )
    g = json.loads((tmp_path / "global_kpis.json").read_text())
    assert g["regions"] == ["EU"] and g["regions_missing"].startswith("NA (no report")
    assert g["regions_missing_reports"] == "NA"
    assert g["pseudonymised"] is True and perf_k["pseudonym_key"] == cal_k["pseudonym_key"]
    assert perf_k["pass_rate_audits"] is not None and "estimand" in perf_k["detail"]
    assert not [o for o in _outputs(glob) if o["output_type"] == "error"]
