"""Tests for qa_analysis.batch.outputs and the batch's handling of an existing period.

Nothing is lost: re-running some regions leaves the others byte-identical, a
failing re-run keeps the last good report (marked stale), files the batch did
not write are never overwritten, and the workers and kernels of a killed batch
die with it. The batch runs use the light fixture notebooks (tests/batch_project.py).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from batch_project import (
    PARAMS_CELL,
    PERIOD,
    VENV_BIN,
    make_project,
    notebook,
)

from qa_analysis import batch, cli
from qa_analysis.batch import outputs
from qa_analysis.batch.history import HISTORY_FILE, load_history
from qa_analysis.errors import ParamsError


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _run(root: Path, regions="all", **kw) -> batch.RunResult:
    return batch.run_batch(
        regions, params_dir=root / "params", out=root / "outputs", workers=2, **kw
    )


def _break_calibration(root: Path) -> None:
    nbformat.write(
        notebook(PARAMS_CELL, ["raise RuntimeError('data file moved away')"]),
        root / "notebooks/calibration_report.ipynb",
    )


def _run_json(root: Path) -> dict:
    return json.loads((root / "outputs" / PERIOD / "run.json").read_text())


@pytest.fixture
def two_regions(tmp_path):
    """A light project whose period 2026-10 holds good EU and NA reports."""
    root = make_project(tmp_path, light=True)
    first = _run(root)
    assert first.ok, first.summary()
    return root


# ---------------------------------------------------------------------------
# re-running some regions
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_rerun_of_one_region_leaves_every_other_region_byte_identical(two_regions):
    root = two_regions
    period = root / "outputs" / PERIOD
    (period / "notes.txt").write_text("the team's own notes")  # not the batch's: left alone
    before = _hashes(period / "na")
    second = _run(root, ["eu"])
    assert second.ok and second.regions == ("EU",)
    assert _hashes(period / "na") == before
    assert (period / "notes.txt").read_text() == "the team's own notes"
    run = _run_json(root)
    assert run["regions"] == ["EU", "NA"] and run["run"] == {"regions": ["EU"], "ok": True}
    assert {(n["region"], n["status"]) for n in run["notebooks"]} == {
        ("EU", "ok"),
        ("NA", "ok"),
        (None, "ok"),
    }
    index = (period / "run.html").read_text()
    assert "All 5 reports succeeded" in index and 'href="na/performance_report.html"' in index
    # the global overview was rebuilt from every region in the period
    overview = nbformat.read(period / "global_overview.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in overview.cells for o in c.get("outputs", []))
    assert "['EU', 'NA']" in printed


@pytest.mark.slow
def test_lost_history_is_rebuilt_and_no_pdf_removes_the_older_pdfs(two_regions):
    root = two_regions
    out, period = root / "outputs", root / "outputs" / PERIOD
    assert (period / "summary.pdf").is_file() and (period / "na/performance_report.pdf").is_file()
    (out / HISTORY_FILE).unlink()
    assert _run(root, ["eu"], pdf=False).ok
    # the store came back from the period folders, every region of the period in it
    assert set(load_history(out)["region"]) == {"EU", "NA", "GLOBAL"}
    # PDFs of what was rebuilt without them are gone; NA (not re-run) keeps its own
    assert not (period / "summary.pdf").exists() and not (period / "global_overview.pdf").exists()
    assert not (period / "eu/performance_report.pdf").exists()
    assert (period / "na/performance_report.pdf").is_file()
    assert "summary.pdf" not in json.loads((period / outputs.MANIFEST).read_text())["files"]


def test_a_history_file_the_batch_did_not_write_is_not_overwritten(tmp_path):
    root = make_project(tmp_path, light=True)
    (root / "outputs").mkdir()
    (root / "outputs" / HISTORY_FILE).write_bytes(b"not ours")
    with pytest.raises(ParamsError, match=r"history.parquet: exists and was not written"):
        _run(root)
    assert (root / "outputs" / HISTORY_FILE).read_bytes() == b"not ours"


# ---------------------------------------------------------------------------
# a failing re-run
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_failed_rerun_keeps_the_last_good_report_marked_stale_until_a_run_succeeds(two_regions):
    root = two_regions
    period = root / "outputs" / PERIOD
    good_eu = _hashes(period / "eu")
    good_na = _hashes(period / "na")
    nb = (root / "notebooks/calibration_report.ipynb").read_bytes()
    _break_calibration(root)
    failed = _run(root)
    assert not failed.ok and failed.exit_code == 1
    assert {r.status for r in failed.results if r.region} == {"stale"}
    # every region keeps its last good report, byte for byte, and gains a marker
    for region, good in (("eu", good_eu), ("na", good_na)):
        now = _hashes(period / region)
        kept = {
            k: v for k, v in now.items() if k != "stale.json" and not k.startswith("failed_run")
        }
        assert kept == good
        marker = json.loads((period / region / "stale.json").read_text())
        assert "data file moved away" in marker["errors"]["calibration_report"]
        assert (period / region / "failed_run/calibration_report.html").is_file()  # traceback
    run = _run_json(root)
    statuses = {(n["region"], n["notebook"]): n["status"] for n in run["notebooks"]}
    assert statuses[("EU", "calibration_report")] == "stale"
    assert run["ok"] is False
    index = (period / "run.html").read_text()
    assert "STALE" in index and "data file moved away" in index
    assert 'href="eu/calibration_report.html"' in index  # still links the good report
    # a later successful run clears the marker
    (root / "notebooks/calibration_report.ipynb").write_bytes(nb)
    assert _run(root, ["eu"]).ok
    assert not (period / "eu/stale.json").exists() and not (period / "eu/failed_run").exists()
    statuses = {(n["region"], n["notebook"]): n["status"] for n in _run_json(root)["notebooks"]}
    assert statuses[("EU", "calibration_report")] == "ok"
    assert statuses[("NA", "calibration_report")] == "stale"  # NA was not re-run: still stale


@pytest.mark.slow
def test_a_region_without_a_good_report_shows_its_failed_run(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\n"}, light=True)
    _break_calibration(root)
    result = _run(root)
    assert [r.status for r in result.results if r.region] == ["failed", "ok"]
    period = root / "outputs" / PERIOD
    assert (period / "eu/calibration_report.html").is_file()
    assert not (period / "eu/stale.json").exists()


# ---------------------------------------------------------------------------
# only files the batch wrote
# ---------------------------------------------------------------------------
def test_an_index_the_batch_did_not_write_is_not_overwritten(tmp_path):
    root = make_project(tmp_path, light=True)
    out = root / "outputs"
    out.mkdir()
    (out / "index.html").write_text("<h1>our team's page</h1>")
    with pytest.raises(ParamsError, match=r"index.html: exists and was not written by qa-reports"):
        _run(root)
    assert (out / "index.html").read_text() == "<h1>our team's page</h1>"
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]  # nothing ran


def test_a_period_folder_the_batch_did_not_write_is_not_touched(tmp_path):
    root = make_project(tmp_path, light=True)
    mine = root / "outputs" / PERIOD / "eu"
    mine.mkdir(parents=True)
    (mine / "kpis.json").write_text("{}")
    with pytest.raises(ParamsError, match=rf"{PERIOD}: exists and was not written by qa-reports"):
        _run(root)
    assert (mine / "kpis.json").read_text() == "{}"


def test_manifest_refuses_unrecorded_files_and_folders(tmp_path):
    man = outputs.Manifest(tmp_path, files=["index.html"], folders=["eu"])
    (tmp_path / "index.html").write_text("x")
    (tmp_path / "eu").mkdir()
    man.check_file("index.html")
    man.check_folder("eu")
    man.check_file("run.json")  # absent: fine
    (tmp_path / "run.json").write_text("{}")
    (tmp_path / "na").mkdir()
    with pytest.raises(ParamsError, match=r"run\.json: exists and was not written"):
        man.check_file("run.json")
    with pytest.raises(ParamsError, match="na: exists and was not written"):
        man.check_folder("na")
    man.save()
    again = outputs.Manifest.load(tmp_path)
    assert (again.files, again.folders) == ({"index.html"}, {"eu"})


def test_outputs_of_a_version_without_manifest_are_adopted(tmp_path):
    period = tmp_path / PERIOD
    (period / "eu").mkdir(parents=True)
    (period / "eu/kpis.json").write_text(json.dumps({"region": "EU"}))
    (period / "run.json").write_text(json.dumps({"period": PERIOD, "notebooks": []}))
    (tmp_path / "index.html").write_text("<html><title>QA reports</title></html>")
    out_man, per_man = outputs.Manifest.load(tmp_path), outputs.Manifest.load(period)
    outputs.adopt_legacy(out_man, per_man, PERIOD)
    assert "index.html" in out_man.files and PERIOD in out_man.folders
    assert "eu" in per_man.folders and "run.json" in per_man.files


def test_exchange_dirs_swaps_folders_and_keeps_the_old_one_aside(tmp_path):
    new, final, trash = tmp_path / "new", tmp_path / "final", tmp_path / "trash"
    new.mkdir()
    (new / "a").write_text("new")
    outputs.exchange_dirs(new, final, trash)  # nothing in place yet
    assert (final / "a").read_text() == "new" and not trash.exists()
    new.mkdir()
    (new / "a").write_text("newer")
    outputs.exchange_dirs(new, final, trash)
    assert (final / "a").read_text() == "newer" and (trash / "a").read_text() == "new"
    assert not new.exists()


# ---------------------------------------------------------------------------
# --out that cannot be used; a full disk
# ---------------------------------------------------------------------------
def _main(root: Path, *extra: str) -> int:
    return cli.main(["run", "--params", str(root / "params"), "--workers", "2", "--quiet", *extra])


def test_out_that_is_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    root = make_project(tmp_path, light=True)
    (root / "outputs").write_text("not a folder")
    assert _main(root, "--out", str(root / "outputs")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "outputs: --out is a file" in err and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only folder")
def test_read_only_out_is_one_line_and_exit_2(tmp_path, capsys):
    root = make_project(tmp_path, light=True)
    ro = root / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert _main(root, "--out", str(ro)) == 2
        assert _main(root, "--out", str(ro / "sub")) == 2
    finally:
        ro.chmod(0o755)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "not writable" in err[0] and "cannot create" in err[1]
    assert all(str(ro) in line for line in err)


def test_unwritable_out_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    root = make_project(tmp_path, light=True)
    target = root / "outputs"
    target.mkdir()
    real = os.access
    monkeypatch.setattr(
        outputs.os, "access", lambda p, mode: False if Path(p) == target else real(p, mode)
    )
    assert _main(root, "--out", str(target)) == 2
    err = capsys.readouterr().err
    assert err == f"error: {target}: the outputs folder is not writable (permission denied)\n"
    assert list(target.iterdir()) == []


@pytest.mark.slow
def test_full_disk_is_one_line_naming_the_file_and_keeps_the_period(
    two_regions, monkeypatch, capsys
):
    root = two_regions
    before = _hashes(root / "outputs")
    from qa_analysis.batch import run as run_mod

    def full(view, result, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(run_mod, "_write_run_json", full)
    capsys.readouterr()
    assert _main(root, "--out", str(root / "outputs")) == 1
    text = capsys.readouterr().err
    assert text.count("\n") == 1 and "run.json: No space left on device" in text
    assert "Traceback" not in text
    # the regions were swapped before the failure: they are the new good reports; the
    # period-level files and the other outputs are the last complete ones
    after = _hashes(root / "outputs")
    assert after.keys() == before.keys()
    assert after["index.html"] == before["index.html"]
    assert not [p for p in (root / "outputs").iterdir() if ".tmp-" in p.name]


# ---------------------------------------------------------------------------
# kill -9
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_9_of_the_batch_takes_its_workers_and_kernels_with_it(tmp_path):
    psutil = pytest.importorskip("psutil")  # an ipykernel dependency
    root = make_project(tmp_path, regions={"eu": "region: EU\nsleep_s: 600.0\n"}, light=True)
    proc = subprocess.Popen(
        [str(VENV_BIN / "qa-reports"), "run", "--params", "params", "--out", "outputs", "--quiet"],
        cwd=root,
        stderr=subprocess.DEVNULL,
    )
    family = []
    try:
        deadline = time.monotonic() + 300  # generous: kernels start slowly on a busy machine
        kernels = []
        while time.monotonic() < deadline and not kernels:
            time.sleep(0.3)
            family = psutil.Process(proc.pid).children(recursive=True)
            kernels = [c for c in family if "ipykernel_launcher" in " ".join(_cmd(c, psutil))]
        assert kernels, "no kernel started"
        family = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _, alive = psutil.wait_procs(family, timeout=120)  # polled; no timing assertion
        assert not alive, [_cmd(p, psutil) for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in family:
            with contextlib.suppress(Exception):
                p.kill()


def _cmd(p, psutil) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []
