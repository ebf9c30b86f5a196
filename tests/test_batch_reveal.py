"""Tests for qa_analysis.batch.reveal and ``qa-reports reveal``: pseudonym -> id for an
authorised reader, written only outside the shared outputs and readable by its owner."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from qa_analysis import cli
from qa_analysis.batch.outputs import MANIFEST
from qa_analysis.batch.reveal import read_ids, reveal_table, write_reveal
from qa_analysis.errors import DataError, ParamsError
from qa_analysis.privacy import pseudonymise

KEY = "test-reveal-key-0123456789"


def test_pseudonyms_are_the_ones_the_reports_show():
    """The same key and id give the pseudonym pseudonymise wrote into the reports."""
    evals = pd.DataFrame({"agent_id": ["EU-A001", "EU-A002"], "reviewer_id": ["EU-R01"] * 2})
    shown = pseudonymise(evals, key=KEY)
    agents = reveal_table(["EU-A002", "EU-A001"], key=KEY, role="agent")
    assert dict(zip(agents["id"], agents["pseudonym"], strict=True)) == dict(
        zip(evals["agent_id"], shown["agent_id"], strict=True)
    )
    raters = reveal_table(["EU-R01"], key=KEY, role="rater")
    assert raters["pseudonym"].tolist() == [shown["reviewer_id"].iloc[0]]


def test_role_both_gives_an_agent_and_a_rater_row_per_id():
    t = reveal_table(["X1"], key=KEY, role="both")
    assert sorted(t["role"]) == ["agent", "rater"]
    assert sorted(p[:2] for p in t["pseudonym"]) == ["A-", "R-"]


def test_another_key_gives_other_pseudonyms():
    a = reveal_table(["EU-A001"], key=KEY, role="agent")["pseudonym"].iloc[0]
    b = reveal_table(["EU-A001"], key=KEY[::-1], role="agent")["pseudonym"].iloc[0]
    assert a != b


def test_ids_file_column_is_found_by_name_or_as_the_only_column(tmp_path):
    f = tmp_path / "ids.csv"
    f.write_text("name,agent_id\nAna,007\nBo,\nCy,007\nDi,EU-A002\n")
    ids, role = read_ids(f)
    assert ids.tolist() == ["007", "EU-A002"] and role == "agent"  # text, blanks/dups dropped
    f.write_text("who\nEU-R01\n")
    assert read_ids(f)[1] == "both"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="--column"):
        read_ids(f)
    with pytest.raises(DataError, match="no column 'c'"):
        read_ids(f, "c")


def test_lookup_file_is_readable_by_its_owner_only(tmp_path):
    old = os.umask(0)
    try:
        path = write_reveal(reveal_table(["EU-A001"], key=KEY), tmp_path / "private" / "ids.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert pd.read_csv(path)["id"].tolist() == ["EU-A001", "EU-A001"]


def test_lookup_is_refused_inside_a_managed_outputs_folder(tmp_path):
    out = tmp_path / "outputs"
    (out / "2026-10" / "eu").mkdir(parents=True)
    (out / MANIFEST).write_text("{}")
    for target in (out / "ids.csv", out / "2026-10" / "eu" / "ids.csv"):
        with pytest.raises(ParamsError, match="inside the shared outputs folder"):
            write_reveal(reveal_table(["EU-A001"], key=KEY), target)
        assert not target.exists()


def test_formula_like_ids_are_written_as_text(tmp_path):
    path = write_reveal(reveal_table(["=HYPERLINK(1)"], key=KEY, role="agent"), tmp_path / "x.csv")
    assert "'=HYPERLINK(1)" in path.read_text()


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------
def test_reveal_command_prints_the_mapping_with_the_key_from_the_environment(
    tmp_path, monkeypatch, capsys
):
    ids = tmp_path / "ids.csv"
    ids.write_text("agent_id\nEU-A001\n")
    monkeypatch.setenv("MY_KEY", KEY)
    assert cli.main(["reveal", "--key-env", "MY_KEY", str(ids)]) == 0
    expected = reveal_table(["EU-A001"], key=KEY, role="agent")["pseudonym"].iloc[0]
    assert capsys.readouterr().out.splitlines() == [
        "pseudonym,id,role",
        f"{expected},EU-A001,agent",
    ]
    assert cli.main(["reveal", "--key-env", "MY_KEY", "--ids", str(ids)]) == 0
    assert expected in capsys.readouterr().out


def test_reveal_command_writes_outside_the_outputs_or_refuses(tmp_path, monkeypatch, capsys):
    ids = tmp_path / "ids.csv"
    ids.write_text("rater_id\nEU-R01\n")
    monkeypatch.setenv("QA_PSEUDONYM_KEY", KEY)
    private = tmp_path / "me" / "lookup.csv"
    assert cli.main(["reveal", str(ids), "--out", str(private)]) == 0
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert pd.read_csv(private)["role"].tolist() == ["rater"]
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / MANIFEST).write_text("{}")
    capsys.readouterr()
    assert cli.main(["reveal", str(ids), "--out", str(tmp_path / "outputs/l.csv")]) == 2
    assert "inside the shared outputs folder" in capsys.readouterr().err
    assert not (tmp_path / "outputs/l.csv").exists()


@pytest.mark.parametrize(("value", "message"), [(None, "is not set"), ("short", "shorter than")])
def test_reveal_command_without_a_usable_key_is_exit_2(
    tmp_path, monkeypatch, capsys, value, message
):
    ids = tmp_path / "ids.csv"
    ids.write_text("agent_id\nEU-A001\n")
    if value is None:
        monkeypatch.delenv("QA_PSEUDONYM_KEY", raising=False)
    else:
        monkeypatch.setenv("QA_PSEUDONYM_KEY", value)
    assert cli.main(["reveal", str(ids)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""
