"""Packaging and repository hygiene: pyproject.toml and environment.yml agree,
the console script exists, notebooks are committed clean, qa_analysis/ imports no GPL code."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}
GPL = {"krippendorff", "pingouin"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_runtime_packages_as_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {_name(r) for r in pyproject["project"]["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = set()
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name = _name(dep)
            if name not in {"python", "pip"}:
                conda.add(CONDA_TO_PYPI.get(name, name))
        else:
            assert dep["pip"] == ["-e ."], "environment.yml's pip section installs only the package"
    assert conda == runtime, (
        f"only in environment.yml: {conda - runtime}; only in pyproject: {runtime - conda}"
    )


def test_versions_agree_between_pyproject_and_environment_yml():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = {
        _name(r): r.strip()[len(_name(r)) :].strip() for r in pyproject["project"]["dependencies"]
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    for dep in env["dependencies"]:
        if isinstance(dep, str) and _name(dep) not in {"python", "pip"}:
            name = CONDA_TO_PYPI.get(_name(dep), _name(dep))
            assert dep[len(_name(dep)) :].strip() == pins[name], f"version of {name} differs"


def test_console_script_and_package_name():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "qa-analysis"
    assert pyproject["project"]["scripts"]["qa-reports"] == "qa_analysis.cli:main"


def test_gpl_oracles_are_test_extras_only():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {_name(r) for r in pyproject["project"]["dependencies"]}
    assert not runtime & GPL
    assert "irrcac" not in runtime | {
        _name(r) for r in pyproject["project"]["optional-dependencies"]["test"]
    }


def test_library_never_imports_gpl_packages():
    for path in (ROOT / "qa_analysis").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                assert n.split(".")[0] not in GPL, (
                    f"{path.name} imports {n} (GPL): test/benchmark only"
                )


def test_statistics_modules_do_not_import_reporting():
    stats = ["io", "scorecard", "reliability", "sampling", "trends", "demo"]
    for mod in stats:
        path = ROOT / "qa_analysis" / f"{mod}.py"
        if not path.exists():
            continue
        text = path.read_text()
        assert not re.search(
            r"^\s*(from qa_analysis(\.| import )(reports|plots)|import qa_analysis\.(reports|plots))",
            text,
            re.M,
        ), f"{mod}.py imports reporting"


def test_notebooks_are_committed_without_outputs():
    for nb_path in (ROOT / "notebooks").glob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, nb_path.name
            assert "papermill" not in cell.get("metadata", {}), (
                f"{nb_path.name}: papermill metadata"
            )


def test_outputs_folder_is_ignored_except_gitkeep():
    ignore = (ROOT / ".gitignore").read_text().splitlines()
    assert "outputs/*" in ignore and "!outputs/.gitkeep" in ignore
    assert (ROOT / "outputs" / ".gitkeep").exists()


def test_ci_runs_make_test_and_nothing_else():
    lines = [
        ln
        for ln in (ROOT / ".ci" / "run").read_text().splitlines()
        if ln.strip()
        and not ln.startswith("#")
        and not ln.startswith("set ")
        and not ln.startswith("cd ")
    ]
    assert lines == ["exec make test"]


def test_ruff_is_clean():
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "qa_analysis", "tests", "benchmarks", "notebooks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr
