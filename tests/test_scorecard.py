"""The scorecard model (qa_analysis.scorecard): loading, validation, access.

Scoring functions are tested in tests/test_scoring.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from qa_analysis.scorecard import Scorecard, ScorecardError

ROOT = Path(__file__).resolve().parent.parent


def test_demo_scorecard_has_two_versions_twelve_then_thirteen_criteria_two_critical():
    sc = Scorecard.from_yaml(ROOT / "params" / "scorecard.yaml")
    assert sc.version_ids == ["2025.1", "2026.2"]
    assert [len(v) for v in sc.versions] == [12, 13]
    assert sc.change_dates() == [pd.Timestamp("2026-06-01")]
    old, new = sc.versions
    assert "language" not in old and new["language"].name == "Language and grammar"
    assert (old["tone"].name, new["tone"].name) == ("Tone and language", "Tone")
    assert (old["documentation"].weight, new["documentation"].weight) == (1, 2)
    assert len(sc) == 13  # every criterion of any version
    assert sc.critical_ids == ["data_privacy", "resolution"]
    scales = {c.scale for c in sc}
    assert scales == {(0, 1), (1, 2, 3, 4, 5)}
    assert {c.level for c in sc} == {"nominal", "ordinal"}
    assert sc.pass_mark == 80 and sc.method == "weighted" and sc.critical_mode == "zero"


def test_criterion_defaults_and_properties():
    sc = Scorecard.from_dict(
        {"criteria": [{"id": "a", "scale": [0, 1]}, {"id": "b", "scale": [1, 2, 3, 4, 5]}]}
    )
    a, b = sc["a"], sc["b"]
    assert a.level == "nominal" and a.pass_at == 1 and a.is_binary and a.range == 1
    assert b.level == "ordinal" and b.pass_at == 3 and b.range == 4 and b.min == 1 and b.max == 5
    assert sc.categories("b") == [1, 2, 3, 4, 5]
    assert "a" in sc and "z" not in sc


def test_to_frame_has_one_row_per_criterion():
    sc = Scorecard.from_yaml(ROOT / "params" / "scorecard.yaml")
    frame = sc.to_frame()
    assert frame["criterion"].tolist() == sc.ids
    assert {"weight", "critical", "na_allowed", "scale", "level", "range"} <= set(frame.columns)


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"criteria": []}, "non-empty list"),
        ({"criteria": [{"id": "a", "scale": [1]}]}, "at least two numeric levels"),
        ({"criteria": [{"id": "a", "scale": [3, 1, 2]}]}, "strictly increasing"),
        (
            {"criteria": [{"id": "a", "scale": [0, 1], "level": "ratio-ish"}]},
            "level must be one of",
        ),
        (
            {"criteria": [{"id": "a", "scale": [0, 1], "weight": 0}]},
            "weight must be a finite positive number",
        ),
        (
            {"criteria": [{"id": "a", "scale": [0, 1], "critical": "yes"}]},
            "critical must be true or false",
        ),
        (
            {"criteria": [{"id": "a", "scale": [0, 1], "pass_at": 2}]},
            "pass_at 2 is not on the scale",
        ),
        (
            {"criteria": [{"id": "a", "scale": [0, 1]}, {"id": "a", "scale": [0, 1]}]},
            "duplicate criterion",
        ),
        (
            {"criteria": [{"id": "a", "scale": [0, 1], "wieght": 2}]},
            r"unknown key\(s\) \['wieght'\]",
        ),
        (
            {"criteria": [{"id": "a", "scale": [0, 1]}], "method": "average"},
            "method must be one of",
        ),
        (
            {"criteria": [{"id": "a", "scale": [0, 1]}], "critical_mode": "nuke"},
            "critical_mode must be one of",
        ),
        (
            {"criteria": [{"id": "a", "scale": [0, 1]}], "pass_mark": 120},
            r"pass_mark must be a number in \[0, 100\]",
        ),
    ],
)
def test_invalid_scorecards_raise_with_the_key(spec, match):
    with pytest.raises(ScorecardError, match=match):
        Scorecard.from_dict(spec, source="card.yaml")


def test_yaml_errors_name_the_file(tmp_path):
    p = tmp_path / "card.yaml"
    p.write_text("- just\n- a list\n")
    with pytest.raises(ScorecardError, match=r"card\.yaml: a scorecard must be a mapping"):
        Scorecard.from_yaml(p)
    with pytest.raises(ScorecardError, match="cannot read scorecard"):
        Scorecard.from_yaml(tmp_path / "missing.yaml")


def test_unknown_criterion_lookup_names_the_source():
    sc = Scorecard.from_dict({"criteria": [{"id": "a", "scale": [0, 1]}]}, source="card.yaml")
    with pytest.raises(KeyError, match=r"card\.yaml: no criterion 'b'"):
        sc["b"]


def test_scorecard_has_a_short_repr_and_an_html_table():
    sc = Scorecard.from_yaml(ROOT / "params" / "scorecard.yaml")
    assert repr(sc) == (
        f"Scorecard({sc.name!r}, 13 criteria, 2 versions, pass_mark=80, method='weighted', "
        "critical_mode='zero')"
    )
    html = sc._repr_html_()
    assert html.count("<tr>") == 13 and "data_privacy" in html  # one row per criterion


def test_scorecard_html_repr_escapes_criterion_names():
    sc = Scorecard.from_dict({"criteria": [{"id": "a", "name": "<b>x</b>", "scale": [0, 1]}]})
    assert "<b>x</b>" not in sc._repr_html_() and "&lt;b&gt;x&lt;/b&gt;" in sc._repr_html_()


@pytest.mark.parametrize("weight", [".inf", "-.inf", ".nan", "0", "-1"])
def test_weight_must_be_finite_and_positive_naming_file_and_criterion(tmp_path, weight):
    path = tmp_path / "card.yaml"
    path.write_text(
        "criteria:\n"
        "  - {id: greeting, scale: [0, 1]}\n"
        f"  - {{id: tone, scale: [1, 2, 3], weight: {weight}}}\n"
    )
    with pytest.raises(ScorecardError, match=r"card\.yaml: criterion 'tone': weight must be"):
        Scorecard.from_yaml(path)


# -- scorecard versions ---------------------------------------------------------
VERSIONED = {
    "name": "Versioned",
    "pass_mark": 80,
    "versions": [
        {
            "version": "v1",
            "criteria": [
                {"id": "a", "name": "Greeting", "scale": [0, 1]},
                {"id": "b", "scale": [1, 2, 3, 4, 5]},
            ],
        },
        {
            "version": "v2",
            "effective": "2026-06-01",
            "pass_mark": 70,
            "criteria": [
                {"id": "a", "name": "Greeting and name", "scale": [0, 1], "weight": 3},
                {"id": "b", "scale": [1, 2, 3]},
                {"id": "c", "scale": [0, 1]},
            ],
        },
    ],
}


def test_versioned_scorecard_keeps_each_version_and_the_union_of_criteria():
    sc = Scorecard.from_dict(VERSIONED)
    assert sc.is_versioned and sc.version_ids == ["v1", "v2"]
    assert sc.ids == ["a", "b", "c"]  # the newest definitions, then retired ones
    assert sc["b"].scale == (1, 2, 3) and sc.pass_mark == 70
    v1 = sc.for_version("v1")
    assert v1.ids == ["a", "b"] and v1["b"].scale == (1, 2, 3, 4, 5) and v1.pass_mark == 80
    assert v1["a"].name == "Greeting" and sc.for_version("v2")["a"].name == "Greeting and name"
    assert "2 versions" in repr(sc)


def test_version_at_and_change_dates_follow_the_effective_dates():
    sc = Scorecard.from_dict(VERSIONED)
    assert sc.version_at("2026-05-31 23:59").version == "v1"
    assert sc.version_at("2026-06-01").version == "v2"
    assert sc.change_dates() == [pd.Timestamp("2026-06-01")]
    assert sc.change_dates("2026-06-01", "2026-12-31") == []  # (start, end]
    assert [v.version for v in sc.versions_between("2026-05-01", "2026-06-30")] == ["v1", "v2"]
    assert [v.version for v in sc.versions_between("2026-07-01")] == ["v2"]
    frame = sc.versions_frame()
    assert len(frame) == 5 and set(frame["scorecard_version"]) == {"v1", "v2"}


def test_single_version_scorecard_is_its_own_only_version():
    sc = Scorecard.from_dict({"criteria": [{"id": "a", "scale": [0, 1]}]})
    assert sc.versions == (sc,) and not sc.is_versioned and sc.change_dates() == []
    assert sc.version_at("1990-01-01") is sc


def test_version_before_the_first_effective_date_is_refused():
    spec = {**VERSIONED, "versions": [{**VERSIONED["versions"][0], "effective": "2026-01-01"}]}
    spec["versions"].append(VERSIONED["versions"][1])
    sc = Scorecard.from_dict(spec)
    with pytest.raises(ValueError, match="no scorecard version in force"):
        sc.version_at("2025-12-31")


@pytest.mark.parametrize(
    "versions, match",
    [
        (
            [
                {"version": "v1", "criteria": [{"id": "a", "scale": [0, 1]}]},
                {
                    "version": "v1",
                    "effective": "2026-01-01",
                    "criteria": [{"id": "a", "scale": [0, 1]}],
                },
            ],
            "duplicate version",
        ),
        (
            [
                {"version": "v1", "criteria": [{"id": "a", "scale": [0, 1]}]},
                {"version": "v2", "criteria": [{"id": "a", "scale": [0, 1]}]},
            ],
            "needs an 'effective' date",
        ),
        (
            [
                {
                    "version": "v1",
                    "effective": "2026-06-01",
                    "criteria": [{"id": "a", "scale": [0, 1]}],
                },
                {
                    "version": "v2",
                    "effective": "2026-01-01",
                    "criteria": [{"id": "a", "scale": [0, 1]}],
                },
            ],
            "oldest first",
        ),
        ([{"criteria": [{"id": "a", "scale": [0, 1]}]}], "needs a 'version' id"),
        (
            [{"version": "v1", "effective": "someday", "criteria": [{"id": "a", "scale": [0, 1]}]}],
            "'effective' must be a date",
        ),
    ],
)
def test_invalid_versions_raise(versions, match):
    with pytest.raises(ScorecardError, match=match):
        Scorecard.from_dict({"versions": versions}, source="card.yaml")


def test_criteria_next_to_versions_are_refused():
    with pytest.raises(ScorecardError, match="criteria belong inside each version"):
        Scorecard.from_dict({**VERSIONED, "criteria": [{"id": "a", "scale": [0, 1]}]})


def test_a_folder_of_versioned_files_reads_like_a_versions_list(tmp_path):
    for v in VERSIONED["versions"]:
        (tmp_path / f"{v['version']}.yaml").write_text(
            yaml.safe_dump({"pass_mark": 80, **v}), encoding="utf-8"
        )
    sc = Scorecard.from_yaml(tmp_path)
    ref = Scorecard.from_dict(VERSIONED)
    assert sc.version_ids == ref.version_ids and sc.ids == ref.ids
    assert sc.for_version("v2").pass_mark == 70 and sc.change_dates() == ref.change_dates()
