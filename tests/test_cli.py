"""Tests for qa_analysis.cli (the qa-reports command) and qa_analysis.batch.project
(qa-reports init, finding a project's params and notebooks)."""

from __future__ import annotations

import dataclasses
import filecmp
from pathlib import Path

import pytest
from batch_project import PERIOD, make_project, run_args

from qa_analysis import batch, cli, settings
from qa_analysis.batch.run import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT
from qa_analysis.errors import ParamsError

REPO = Path(__file__).resolve().parent.parent


def test_timeout_options_reach_run_batch(tmp_path, monkeypatch):
    seen = {}

    def fake(*a, **k):
        seen.update(k)
        return batch.RunResult(PERIOD, tmp_path, (), wall_s=0.0, workers=1)

    monkeypatch.setattr(batch, "run_batch", fake)
    cli.main_run(run_args(tmp_path))
    # whole notebook, one cell: run_batch's defaults
    assert (seen["timeout"], seen["cell_timeout"]) == (DEFAULT_TIMEOUT, DEFAULT_CELL_TIMEOUT)
    cli.main_run(run_args(tmp_path, "--timeout", "30", "--cell-timeout", "0"))
    assert (seen["timeout"], seen["cell_timeout"]) == (30, None)  # 0 = no limit


def test_main_run_exits_1_and_names_failures(tmp_path, monkeypatch, capsys):
    failed = batch.NotebookResult(
        "calibration_report", "EU", "failed", 1.0, error="FileNotFoundError: data/missing.csv"
    )
    fake = batch.RunResult(PERIOD, tmp_path, (failed,), wall_s=1.0, workers=2)
    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: fake)
    assert cli.main_run(run_args(tmp_path)) == 1
    assert "EU calibration_report failed: FileNotFoundError" in capsys.readouterr().err
    ok = batch.RunResult(
        PERIOD, tmp_path, (dataclasses.replace(failed, status="ok", error=None),), 1.0, 2
    )
    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: ok)
    assert cli.main_run(run_args(tmp_path)) == 0


def test_no_pdf_flag_reaches_run_batch_and_pdfs_are_the_default(tmp_path, monkeypatch):
    seen = {}

    def fake(*a, **k):
        seen.update(k)
        return batch.RunResult(PERIOD, tmp_path, (), wall_s=0.0, workers=1)

    monkeypatch.setattr(batch, "run_batch", fake)
    cli.main_run(run_args(tmp_path))
    assert seen["pdf"] is True
    cli.main_run(run_args(tmp_path, "--no-pdf"))
    assert seen["pdf"] is False


def test_pdf_warnings_are_printed_and_do_not_fail_the_run(tmp_path, monkeypatch, capsys):
    ok = batch.RunResult(PERIOD, tmp_path, (), 1.0, 1, warnings=("PDFs not written: no chromium",))
    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: ok)
    assert cli.main_run(run_args(tmp_path)) == 0  # --quiet: the warning goes to stderr
    assert "warning: PDFs not written: no chromium" in capsys.readouterr().err
    assert ok.summary().splitlines()[-1] == "warning: PDFs not written: no chromium"


def test_run_summary_lists_every_notebook_and_the_index(tmp_path):
    ok = batch.NotebookResult("calibration_report", "EU", "ok", 2.0)
    bad = batch.NotebookResult("performance_report", "EU", "failed", 3.5, error="ValueError: x")
    text = batch.RunResult(PERIOD, tmp_path, (ok, bad), wall_s=4.0, workers=2).summary()
    lines = text.splitlines()
    assert lines[0].split() == ["EU", "calibration_report", "ok", "2.0", "s"]
    assert lines[1].split()[:4] == ["EU", "performance_report", "failed", "3.5"]
    assert lines[1].endswith("ValueError: x")
    assert lines[2].startswith("1/2 reports ok in 4.0 s wall (5.5 s notebook time, 2 worker(s))")
    assert lines[2].endswith(str(tmp_path / "index.html"))


def test_every_subcommand_is_parsed(tmp_path):
    parser = cli.build_parser()
    assert parser.parse_args(["init", "x"]).func.__name__ == "_cmd_init"
    assert parser.parse_args(["demo", "--small"]).small
    assert (
        parser.parse_args(
            ["sample", "--tickets", "t.csv", "--seed", "1", "--out", "p.csv"]
        ).per_agent
        is None
    )
    args = parser.parse_args(["run", "--regions", "eu", "na", "--project", str(tmp_path)])
    assert args.regions == ["eu", "na"] and args.project == str(tmp_path) and args.pdf
    args = parser.parse_args(["reveal", "ids.csv", "--key-env", "K"])
    assert args.func.__name__ == "_cmd_reveal" and (args.ids_file, args.key_env) == ("ids.csv", "K")


def test_init_writes_a_starter_project_from_the_packaged_files(tmp_path):
    root = tmp_path / "qa"
    written = batch.init_project(root)
    rel = sorted(p.relative_to(root).as_posix() for p in written)
    assert rel == [
        "README.md",
        "notebooks/calibration_report.ipynb",
        "notebooks/global_overview.ipynb",
        "notebooks/performance_report.ipynb",
        "params/apac.yaml",
        "params/defaults.yaml",
        "params/eu.yaml",
        "params/latam.yaml",
        "params/mea.yaml",
        "params/na.yaml",
        "params/scorecard.yaml",
    ]
    for name in rel:
        if name != "README.md":
            assert filecmp.cmp(root / name, REPO / name, shallow=False), name
    assert "Point `data:` at your exports" in (root / "README.md").read_text()
    bp = batch.load_batch_params("all", project=root)  # the batch accepts the new project
    assert bp.root == root.resolve() and bp.params_dir == root.resolve() / "params"
    assert bp.regions == ("APAC", "EU", "LATAM", "MEA", "NA")
    assert bp.region_params["EU"]["data"] == str(root.resolve() / "data/demo/qa.duckdb")
    assert bp.region_params["EU"]["scorecard"] == str(root.resolve() / "params/scorecard.yaml")


def test_init_never_overwrites_an_existing_project(tmp_path, capsys):
    root = tmp_path / "qa"
    (root / "params").mkdir(parents=True)
    (root / "params" / "defaults.yaml").write_text("mine: 1\n")
    assert cli.main(["init", str(root)]) == 2
    assert "params/defaults.yaml: already exists" in capsys.readouterr().err
    assert (root / "params" / "defaults.yaml").read_text() == "mine: 1\n"
    assert sorted(p.name for p in root.rglob("*")) == ["defaults.yaml", "params"]


def test_init_refuses_a_path_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ParamsError, match="exists and is not a folder"):
        batch.init_project(tmp_path / "f")


def test_folder_without_params_uses_the_packaged_params_and_notebooks(tmp_path):
    dirs = batch.project_dirs(tmp_path)
    assert dirs.root == tmp_path.resolve()
    assert dirs.params_dir == settings.resource_path("params")
    assert dirs.notebooks_dir == settings.resource_path("notebooks")
    bp = batch.load_batch_params(["eu"], project=tmp_path)
    # data is looked for in the project; the scorecard falls back to the packaged one
    assert bp.region_params["EU"]["data"] == str(tmp_path.resolve() / "data/demo/qa.duckdb")
    assert bp.region_params["EU"]["scorecard"] == str(
        settings.resource_path("params", "scorecard.yaml").resolve()
    )


def test_project_files_win_over_the_packaged_ones(tmp_path):
    root = make_project(tmp_path)
    dirs = batch.project_dirs(root)
    assert (dirs.params_dir, dirs.notebooks_dir) == (root / "params", root / "notebooks")


def test_run_in_a_project_folder_finds_its_params_without_options(tmp_path, monkeypatch):
    root = make_project(tmp_path)
    seen = {}

    def fake(regions, **k):
        seen.update(k)
        seen["bp"] = batch.load_batch_params(
            regions, params_dir=k["params_dir"], project=k["project"]
        )
        return batch.RunResult(PERIOD, tmp_path, (), wall_s=0.0, workers=1)

    monkeypatch.setattr(batch, "run_batch", fake)
    monkeypatch.chdir(root)
    assert cli.main(["run", "--quiet"]) == 0
    assert seen["bp"].root == root.resolve() and seen["bp"].regions == ("EU", "NA")


@pytest.mark.slow
def test_demo_writes_its_scorecard_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository
    assert cli.main(["demo", "--small", "--out", "d"]) == 0
    assert filecmp.cmp(
        tmp_path / "d" / "scorecard.yaml", REPO / "params/scorecard.yaml", shallow=False
    )
    assert (tmp_path / "d" / "qa.duckdb").is_file()


def test_bad_input_is_one_line_on_stderr_and_exit_2(tmp_path, capsys):
    assert cli.main(["run", "--project", str(tmp_path / "missing"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "project folder not found" in err


# ---------------------------------------------------------------------------
# qa-reports sample: never over an input or an existing file; no empty plan
# ---------------------------------------------------------------------------
def _tickets(path: Path) -> Path:
    import pandas as pd

    pd.DataFrame(
        {
            "ticket_id": [f"t{i}" for i in range(8)],
            "agent_id": ["a1", "a2"] * 4,
            "region": ["EU"] * 4 + ["NA"] * 4,
            "market": "DE",
            "channel": "chat",
            "queue": "billing",
            "created_at": "2026-10-05",
        }
    ).to_csv(path, index=False)
    return path


def _sample(tickets: Path, out: Path, *extra: str) -> int:
    args = ["--tickets", str(tickets), "--seed", "1", "--per-agent", "1", "--out", str(out)]
    return cli.main(["sample", *args, *extra])


def test_sample_refuses_to_write_over_its_input(tmp_path, capsys):
    tickets = _tickets(tmp_path / "tickets.csv")
    before = tickets.read_bytes()
    assert _sample(tickets, tickets, "--force") == 2
    assert tickets.read_bytes() == before
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out is the ticket export being read" in err
    assert _sample(Path(str(tmp_path / "*.csv")), tickets, "--force") == 2  # a glob's match


def test_sample_overwrites_an_existing_file_only_with_force(tmp_path, capsys):
    tickets = _tickets(tmp_path / "tickets.csv")
    out = tmp_path / "plan.csv"
    out.write_text("keep me")
    assert _sample(tickets, out) == 2
    assert out.read_text() == "keep me"
    assert "already exists; pass --force" in capsys.readouterr().err
    assert _sample(tickets, out, "--force") == 0
    assert "ticket_id" in out.read_text().splitlines()[0]


def test_sample_with_a_region_that_matches_nothing_fails_and_writes_nothing(tmp_path, capsys):
    tickets = _tickets(tmp_path / "tickets.csv")
    out = tmp_path / "plan.csv"
    assert _sample(tickets, out, "--region", "Eu") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no tickets for region 'Eu'; regions in the data: EU, NA" in err
    assert not out.exists()
    assert _sample(tickets, out, "--region", "EU") == 0 and out.exists()


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ParamsError, match="project folder not found"):
        cli.main(["--debug", "run", "--project", str(tmp_path / "missing"), "--quiet"])


def test_os_error_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    import errno
    import os

    def full(args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "plan.csv"))

    monkeypatch.setattr(cli, "_cmd_sample", full)
    tickets = _tickets(tmp_path / "tickets.csv")
    assert _sample(tickets, tmp_path / "plan.csv") == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'plan.csv'}: No space left on device\n"
