"""Packaging and repository hygiene: pyproject.toml and environment.yml agree,
the console script exists, notebooks are committed clean, qa_analysis/ imports no GPL code."""

from __future__ import annotations

import ast
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from qa_analysis.privacy import PSEUDONYM_ENV

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
    for path in (ROOT / "qa_analysis").rglob("*.py"):
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
            r"^\s*(from qa_analysis(\.| import )(reports|plots|batch|report)\b"
            r"|import qa_analysis\.(reports|plots|batch|report)\b)",
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


def test_ci_installs_only_system_packages_then_runs_make_test():
    text = (ROOT / ".ci" / "run").read_text()
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert lines[-1] == "exec make test"
    # nothing Python is installed outside make; only Debian packages the suite needs
    assert "pip install" not in text and "pip3" not in text
    assert "apt-get install" in text and all(
        p in text for p in ("chromium", "poppler-utils", "postgresql")
    )


def test_makefile_separates_runtime_and_test_installs():
    make = (ROOT / "Makefile").read_text()
    runtime = re.search(r"^\$\(RUNTIME_STAMP\):.*?(?=^\S)", make, re.M | re.S).group(0)
    assert "-e ." in runtime and "[test]" not in runtime
    assert re.search(r"^report: \$\(RUNTIME_STAMP\)", make, re.M)
    assert re.search(r"^test: \$\(TEST_STAMP\)\n\t.*pytest -n 2 -q$", make, re.M)
    assert re.search(r'^test-fast: \$\(TEST_STAMP\)\n\t.*pytest .*-m "not slow"', make, re.M)


def test_packaged_params_and_notebooks_are_the_repository_files():
    """qa_analysis/resources/{params,notebooks} are symlinks to the sources of truth;
    the wheel build copies them (test_wheel_installed_outside_the_repo_runs_a_project)."""
    from qa_analysis import settings

    for name in ("params", "notebooks"):
        link = ROOT / "qa_analysis" / "resources" / name
        assert link.is_symlink() and link.resolve() == (ROOT / name).resolve()
    assert settings.defaults_path().resolve() == (ROOT / "params" / "defaults.yaml").resolve()


def test_ruff_format_is_applied():
    import subprocess
    import sys

    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--check",
            "qa_analysis",
            "tests",
            "benchmarks",
            "notebooks",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_is_clean():
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "mypy"],  # [tool.mypy] in pyproject.toml: packages = qa_analysis
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]


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


@pytest.mark.slow
def test_wheel_installed_outside_the_repo_runs_a_project(tmp_path):
    """The acceptance check of issue 9: ``pip wheel .``, installed into a new venv outside
    the repository, runs ``qa-reports init DIR``, ``qa-reports demo --small --out
    DIR/data/demo`` and ``qa-reports run`` in DIR. Dependencies come from pip's usual
    sources (index or cache); the test is skipped when pip cannot install them."""
    import shutil
    import subprocess
    import sys
    import zipfile

    def run(cmd, cwd, timeout=1800, env=None):
        return subprocess.run(
            [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
        )

    wheels = tmp_path / "wheels"
    res = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", wheels, ROOT], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    (wheel,) = wheels.glob("qa_analysis-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packaged = {
        "qa_analysis/py.typed",
        "qa_analysis/batch/index.css",
        *(f"qa_analysis/resources/params/{p.name}" for p in (ROOT / "params").glob("*.yaml")),
        *(
            f"qa_analysis/resources/notebooks/{p.name}"
            for p in (ROOT / "notebooks").glob("*.ipynb")
        ),
    }
    assert packaged <= names, packaged - names
    with zipfile.ZipFile(wheel) as zf:  # the packaged copies are the repository's files
        for p in (ROOT / "params").glob("*.yaml"):
            assert zf.read(f"qa_analysis/resources/params/{p.name}") == p.read_bytes()
    for pkg in {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}:
        assert (ROOT / pkg / "__init__.py").is_file()
    assert {
        p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "qa_analysis").rglob("__init__.py")
    } <= {n.rsplit("/", 1)[0] for n in names}  # every subpackage is in the wheel

    venv = tmp_path / "venv"
    res = run([sys.executable, "-m", "venv", venv], tmp_path)
    assert res.returncode == 0, res.stderr
    bin_ = venv / "bin"
    res = run([bin_ / "python", "-m", "pip", "install", "--quiet", wheel], tmp_path)
    if res.returncode != 0:
        pytest.skip(f"pip could not install the wheel's dependencies: {res.stderr[-500:]}")
    res = run(
        [bin_ / "python", "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr[-2000:]

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    project = outside / "qa"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_}:{env.get('PATH', '')}"
    env.pop(PSEUDONYM_ENV, None)  # the demo data use the public demo key
    res = run([bin_ / "qa-reports", "init", project], outside, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    res = run(
        [bin_ / "qa-reports", "demo", "--small", "--out", project / "data/demo"], outside, env=env
    )
    assert res.returncode == 0, res.stderr[-3000:]
    res = run(
        [bin_ / "qa-reports", "run", "--regions", "eu", "--quiet", "--workers", "2"],
        project,
        env=env,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    period = yaml.safe_load((project / "params/defaults.yaml").read_text())["period"]
    run_log = (project / "outputs" / period / "run.html").read_text()
    assert "All 3 reports succeeded" in run_log
    assert "Quality summary" in (project / "outputs" / period / "index.html").read_text()
    # the installed package ran, not the repository's source
    res = run(
        [bin_ / "python", "-c", "import qa_analysis; print(qa_analysis.__file__)"], outside, env=env
    )
    assert str(venv) in res.stdout and str(ROOT) not in res.stdout
    shutil.rmtree(venv)
