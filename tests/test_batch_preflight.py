"""Tests for qa_analysis.batch.preflight: regions and periods with nothing to report on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_project import PERIOD, make_project

from qa_analysis import batch, cli, demo
from qa_analysis.batch.preflight import region_data_problems


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    """A light fixture project whose ``data:`` is the small demo data (EU, NA, ...)."""
    root = tmp_path_factory.mktemp("preflight")
    make_project(
        root,
        regions={"eu": "region: Eu\n", "na": "region: NA\n"},
        light=True,
    )
    demo.write_demo(root / "data" / "demo", small=True)
    defaults = root / "params/defaults.yaml"
    defaults.write_text(defaults.read_text().replace("data: data/ids.csv", "data: data/demo"))
    return root


def _problems(root: Path, regions, period=None) -> dict[str, str]:
    bp = batch.load_batch_params(regions, params_dir=root / "params", period=period)
    return region_data_problems(bp)


def test_a_region_code_that_matches_no_row_is_named_with_the_regions_in_the_data(demo_project):
    problems = _problems(demo_project, "all")
    assert sorted(problems) == ["Eu"]
    assert problems["Eu"] == (
        f"no evaluations for region 'Eu' in {PERIOD}; regions in the data: APAC, EU, LATAM, "
        "MEA, NA (region codes match exactly: case and spaces count)"
    )


def test_a_period_without_data_fails_every_region(demo_project):
    problems = _problems(demo_project, ["na"], period="2030-01")
    assert list(problems) == ["NA"]
    assert problems["NA"].startswith("no evaluations in 2030-01 in ")
    assert "regions in the data: APAC, EU, LATAM, MEA, NA" in problems["NA"]


def test_unreadable_data_is_left_to_the_notebooks(tmp_path):
    root = make_project(tmp_path, light=True)  # data/ids.csv is no evaluations table
    assert _problems(root, "all") == {}


@pytest.mark.slow
def test_a_region_without_data_fails_the_run_with_a_clear_message(demo_project, capsys):
    out = demo_project / "outputs"
    args = ["--params", str(demo_project / "params"), "--out", str(out), "--workers", "2"]
    code = cli.main(["run", *args, "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "error: Eu calibration_report failed: no evaluations for region 'Eu'" in err
    index = (out / PERIOD / "run.html").read_text()
    assert "All" not in index.split("<h2>")[0] and "no evaluations for region" in index
    run = json.loads((out / PERIOD / "run.json").read_text())
    status = {(n["region"], n["notebook"]): n["status"] for n in run["notebooks"]}
    assert status[("Eu", "performance_report")] == "failed"
    assert status[("NA", "performance_report")] == "ok"
