"""Wide (one column per criterion) exports -> the long table: io.from_wide with a mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from qa_analysis import io
from qa_analysis.errors import DataError
from qa_analysis.scorecard import Scorecard

HERE = Path(__file__).parent
WIDE = HERE / "fixtures" / "wide"
EXPORT = WIDE / "vendor_export.csv"
MAPPING = WIDE / "mapping.yaml"
SCORECARD = (
    HERE / "fixtures" / "wide" / "scorecard.yaml"
)  # the demo scorecard before its 2026 change


def mapping_dict() -> dict:
    spec = yaml.safe_load(
        MAPPING.read_text().replace("Yes:", "'Yes':").replace("No:", "'No':")
    )  # the file's own loader keeps Yes/No as text; plain safe_load needs the quotes
    spec["scorecard"] = str(SCORECARD)
    return spec


def export() -> pd.DataFrame:
    return pd.read_csv(EXPORT, dtype=str, keep_default_na=False)


# -- the acceptance case: a vendor-style export with a mapping file -------------------------
def test_vendor_export_loads_with_the_mapping_file_and_passes_validation():
    long = io.from_wide(EXPORT, mapping=MAPPING)
    ev = io.load_evaluations(long, scorecard=SCORECARD)
    sc = Scorecard.from_yaml(SCORECARD)
    assert len(ev) == 40 * len(sc.ids)
    assert ev["evaluation_id"].nunique() == 40
    assert set(ev["criterion"]) == set(sc.ids)
    assert ev["region"].unique().tolist() == ["EU"]
    assert ev["reviewer_id"].str.endswith("@example.com").all()


def test_mapping_file_and_mapping_dict_give_the_same_table():
    pd.testing.assert_frame_equal(
        io.from_wide(EXPORT, mapping=MAPPING), io.from_wide(export(), mapping=mapping_dict())
    )


def test_yes_no_pass_fail_and_na_cells_map_through_values():
    raw = export()
    long = io.from_wide(EXPORT, mapping=MAPPING)
    first = long[long["evaluation_id"] == raw.loc[0, "Review ID"]].set_index("criterion")["score"]
    expect = {"Yes": 1.0, "No": 0.0, "Pass": 1.0, "Fail": 0.0}
    assert first["greeting"] == expect[raw.loc[0, "Greeting (Y/N)"]]
    assert first["data_privacy"] == expect[raw.loc[0, "Data Privacy (Pass/Fail)"]]
    na_rows = raw["ID Check (Y/N)"] == "N/A"
    got = long[long["criterion"] == "identity"]["score"].to_numpy()
    assert na_rows.any() and np.isnan(got[na_rows.to_numpy()]).all()
    assert not np.isnan(got[~na_rows.to_numpy()]).any()


def test_per_criterion_values_override_the_common_ones():
    wide = pd.DataFrame({"evaluation_id": ["e1"], "greeting": ["Yes"], "tools": ["Yes"]})
    long = io.from_wide(
        wide,
        criteria=["greeting", "tools"],
        values={"Yes": 1, "tools": {"Yes": 0}},
    )
    assert long["score"].tolist() == [1.0, 0.0]


def test_value_texts_match_without_case_or_surrounding_spaces():
    wide = pd.DataFrame({"evaluation_id": ["e1", "e2"], "greeting": [" yes", "NO "]})
    long = io.from_wide(wide, criteria=["greeting"], values={"Yes": 1, "No": 0})
    assert long["score"].tolist() == [1.0, 0.0]


def test_yes_and_no_keys_in_the_yaml_stay_text_not_booleans(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text("values: {Yes: 1, No: 0, On: 1, Off: 0, N/A: null}\ndayfirst: true\n")
    m = io.read_wide_mapping(path)
    assert dict(m.values) == {"Yes": 1.0, "No": 0.0, "On": 1.0, "Off": 0.0, "N/A": None}
    assert m.dayfirst is True


def test_an_unquoted_header_with_a_hash_is_explained(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text("columns:\n  Ticket #: ticket_id\n")
    with pytest.raises(DataError, match=r"quote a header holding ' #'"):
        io.read_wide_mapping(path)


def test_scorecard_in_the_mapping_file_is_relative_to_it():
    assert io.read_wide_mapping(MAPPING).scorecard.resolve() == SCORECARD.resolve()


# -- dates -------------------------------------------------------------------------------------
def test_dayfirst_reads_11_03_2026_as_11_march():
    long = io.from_wide(EXPORT, mapping=MAPPING)
    raw = export()
    row = raw.index[raw["Review Date"] == "11/03/2026 10:26"][0]
    got = long.loc[long["evaluation_id"] == raw.loc[row, "Review ID"], "evaluated_at"].iloc[0]
    assert got == pd.Timestamp("2026-03-11 10:26")


def test_date_format_reads_the_stated_layout():
    wide = pd.DataFrame({"evaluated_at": ["11/03/2026 14:05"], "tone": [3]})
    long = io.from_wide(wide, criteria=["tone"], date_format="%m/%d/%Y %H:%M")
    assert long["evaluated_at"].iloc[0] == pd.Timestamp("2026-11-03 14:05")


def test_non_iso_dates_without_a_stated_format_are_refused_with_the_options():
    spec = mapping_dict()
    del spec["dayfirst"]
    with pytest.raises(DataError, match=r"'Review Date' \(evaluated_at\).*dayfirst"):
        io.from_wide(EXPORT, mapping=spec)


def test_a_date_that_does_not_fit_the_format_is_an_error_naming_it():
    wide = pd.DataFrame({"evaluated_at": ["11/03/2026", "2026-31-31"], "tone": [3, 4]})
    with pytest.raises(DataError, match=r"1 dates do not parse.*'2026-31-31'"):
        io.from_wide(wide, criteria=["tone"], date_format="%d/%m/%Y")


def test_iso_dates_need_no_option_and_are_left_to_the_loaders():
    wide = pd.DataFrame({"evaluated_at": ["2026-03-11T14:05+01:00"], "tone": [3]})
    long = io.from_wide(wide, criteria=["tone"])
    assert long["evaluated_at"].iloc[0] == "2026-03-11T14:05+01:00"


# -- nothing dropped silently ------------------------------------------------------------------
def test_missing_criterion_column_is_an_error_naming_the_criterion_and_the_file():
    raw = export().drop(columns="Tone (1-5)")
    path = Path(pytest.importorskip("tempfile").mkdtemp()) / "export.csv"
    raw.to_csv(path, index=False)
    spec = mapping_dict()
    del spec["columns"]["Tone (1-5)"]
    with pytest.raises(DataError, match=rf"{path}: no column for scorecard criteria \['tone'\]"):
        io.from_wide(path, mapping=spec)


def test_a_criterion_listed_as_absent_gets_no_rows():
    spec = mapping_dict()
    del spec["columns"]["Tone (1-5)"]
    spec["ignore"] = [*spec["ignore"], "Tone (1-5)"]
    spec["absent"] = ["tone"]
    long = io.from_wide(EXPORT, mapping=spec)
    assert "tone" not in set(long["criterion"])
    assert len(long) == 40 * 11


def test_a_criterion_column_left_out_of_the_mapping_is_an_error_not_a_silent_drop():
    spec = mapping_dict()
    del spec["columns"]["Empathy (1-5)"]
    with pytest.raises(DataError, match=r"\['Empathy \(1-5\)'\] match no criterion and no id"):
        io.from_wide(EXPORT, mapping=spec)


def test_an_ignored_criterion_column_still_needs_its_criterion_absent():
    spec = mapping_dict()
    del spec["columns"]["Empathy (1-5)"]
    spec["ignore"] = [*spec["ignore"], "Empathy (1-5)"]
    with pytest.raises(DataError, match=r"no column for scorecard criteria \['empathy'\]"):
        io.from_wide(EXPORT, mapping=spec)


def test_an_unmapped_extra_column_is_reported_until_ignored():
    spec = mapping_dict()
    spec["ignore"] = ["Comments"]
    with pytest.raises(DataError, match=r"\['Total Score %'\] match no criterion"):
        io.from_wide(EXPORT, mapping=spec)


def test_two_columns_mapped_to_one_criterion_is_an_error():
    wide = pd.DataFrame({"evaluation_id": ["e1"], "Tone": [3], "Tone 2": [4]})
    with pytest.raises(DataError, match=r"'tone' <- \['Tone', 'Tone 2'\]"):
        io.from_wide(wide, ["evaluation_id"], {"Tone": "tone", "Tone 2": "tone"})


def test_a_mapped_column_missing_from_the_export_is_an_error():
    spec = mapping_dict()
    spec["columns"]["Queue Name"] = "queue"
    with pytest.raises(DataError, match=r"missing column\(s\) \['Queue Name'\]"):
        io.from_wide(EXPORT, mapping=spec)


def test_absent_criterion_not_on_the_scorecard_is_an_error():
    spec = mapping_dict()
    spec["absent"] = ["tonality"]
    with pytest.raises(DataError, match=r"absent: \['tonality'\] are not criteria"):
        io.from_wide(EXPORT, mapping=spec)


def test_a_typo_in_a_criterion_name_is_caught():
    spec = mapping_dict()
    spec["columns"]["Tone (1-5)"] = "tonne"
    with pytest.raises(DataError, match=r"'Tone \(1-5\)' -> 'tonne'.*neither a criterion"):
        io.from_wide(EXPORT, mapping=spec)


def test_headers_already_named_like_the_long_table_need_no_mapping():
    sc = Scorecard.from_dict({"criteria": [{"id": "tone", "scale": [1, 2, 3, 4, 5]}]})
    wide = pd.DataFrame({"evaluation_id": ["e1"], "agent_id": ["a1"], "tone": [4]})
    long = io.from_wide(wide, scorecard=sc)
    assert long.columns.tolist() == ["evaluation_id", "agent_id", "criterion", "score"]


# -- cells and scales ------------------------------------------------------------------------
def test_an_unmapped_answer_text_names_its_line_and_column():
    raw = export()
    raw.loc[3, "Greeting (Y/N)"] = "Maybe"
    path = Path(pytest.importorskip("tempfile").mkdtemp()) / "export.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"line 5 \(Greeting \(Y/N\)='Maybe'\)"):
        io.from_wide(path, mapping=MAPPING)


def test_a_score_off_the_scale_names_the_export_column():
    spec = mapping_dict()
    spec["values"]["Yes"] = 4  # a 0-4 reading of a binary criterion
    with pytest.raises(DataError, match=r"column 'Greeting \(Y/N\)' \(greeting\): \d+ score"):
        io.from_wide(EXPORT, mapping=spec)


def test_constants_fill_columns_the_export_lacks():
    long = io.from_wide(
        EXPORT, mapping=MAPPING, constants={"region": "NA", "market": "US"}
    )  # keyword constants add to (and win over) the file's
    assert set(long["region"]) == {"NA"} and set(long["market"]) == {"US"}
    assert set(long["channel"]) == {"email"}


def test_a_constant_that_is_also_an_export_column_is_an_error():
    spec = mapping_dict()
    spec["constants"]["agent_id"] = "a1"
    with pytest.raises(DataError, match=r"constants \['agent_id'\] are also export columns"):
        io.from_wide(EXPORT, mapping=spec)


def test_unknown_mapping_key_is_an_error():
    with pytest.raises(DataError, match=r"unknown key\(s\) \['colums'\]"):
        io.from_wide(export(), mapping={"colums": {}})


def test_several_files_are_stacked():
    long = io.from_wide([EXPORT, EXPORT], mapping=MAPPING)
    assert len(long) == 2 * 40 * 12


def test_a_source_that_is_not_a_frame_or_path_is_a_type_error():
    with pytest.raises(TypeError, match="DataFrame or a path"):
        io.from_wide({"evaluation_id": ["e1"]}, ["evaluation_id"], ["tone"])


def test_an_unquoted_hash_header_among_others_is_explained_too(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text("columns:\n  Agent: agent_id\n  Ticket #: ticket_id\n")
    with pytest.raises(DataError, match=r"not valid YAML.*quote a header holding ' #'"):
        io.read_wide_mapping(path)
