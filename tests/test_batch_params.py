"""Tests for qa_analysis.batch.params: reading, merging and validating params files.

Every wrong type, out-of-range value or unknown key is a ParamsError naming the
key, the file and the allowed values, raised before any notebook runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_project import PERIOD, make_project, run_args

from qa_analysis import batch, cli, settings
from qa_analysis.batch.params import PARAMS_SCHEMA, check_params
from qa_analysis.errors import ParamsError

REPO = Path(__file__).resolve().parent.parent


def test_unknown_key_is_an_error_naming_key_and_file(tmp_path, capsys):
    root = make_project(tmp_path, regions={"eu": "region: EU\ncolour: red\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: unknown parameter 'colour'"):
        batch.load_batch_params("all", params_dir=root / "params")
    assert cli.main_run(run_args(root)) == 2
    err = capsys.readouterr().err
    assert "colour" in err and "eu.yaml" in err
    assert not (root / "outputs" / PERIOD).exists()  # nothing ran


def test_unknown_key_in_defaults_names_defaults(tmp_path):
    root = make_project(tmp_path)
    with (root / "params/defaults.yaml").open("a") as fh:
        fh.write("n_bootstrap: 100\n")
    with pytest.raises(ParamsError, match=r"defaults\.yaml: unknown parameter 'n_bootstrap'"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_params_file_that_is_not_a_mapping_is_an_error(tmp_path):
    root = make_project(tmp_path, regions={"eu": "- region\n- EU\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: a params file must be a mapping.*list"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_wrong_value_type_is_an_error(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\nhistory_months: six\n"})
    with pytest.raises(
        ParamsError,
        match=r"eu\.yaml: parameter 'history_months' must be an integer in \[0, 36\], got 'six'",
    ):
        batch.load_batch_params("all", params_dir=root / "params")


def test_batch_keys_and_per_run_keys_are_rejected_in_files(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\noutput_dir: /tmp/x\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: parameter 'output_dir' is set by the batch"):
        batch.load_batch_params("all", params_dir=root / "params")
    (root / "params/eu.yaml").write_text('region: EU\nperiod: "2026-09"\n')
    with pytest.raises(ParamsError, match=r"eu\.yaml: key 'period' is the same for every region"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_region_must_match_file_name(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: NA\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: region 'NA' does not match"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_unknown_region_and_bad_period_are_errors(tmp_path):
    root = make_project(tmp_path)
    with pytest.raises(ParamsError, match=r"xx\.yaml: no params file for region 'xx'"):
        batch.load_batch_params(["xx"], params_dir=root / "params")
    with pytest.raises(ParamsError, match=r"--period: parameter .period. must be a month YYYY-MM"):
        batch.load_batch_params("all", params_dir=root / "params", period="2026-13")


def test_missing_notebook_is_an_error_before_running(tmp_path):
    root = make_project(tmp_path)
    (root / "notebooks/global_overview.ipynb").unlink()
    with pytest.raises(ParamsError, match=r"global_overview\.ipynb: notebook not found"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_all_regions_skips_defaults_and_scorecard(tmp_path):
    root = make_project(tmp_path)
    bp = batch.load_batch_params("all", params_dir=root / "params")
    assert bp.regions == ("EU", "NA")
    assert bp.period == PERIOD and bp.root == root.resolve()


def test_merge_is_shallow_except_one_level_for_mappings():
    base = {"seed": 1, "targets": {"a": 1, "b": 2}, "sampling": {"per_agent": 5}}
    merged = batch.merge_params(base, {"targets": {"b": 3}, "seed": 2, "sampling": 7})
    assert merged == {"seed": 2, "targets": {"a": 1, "b": 3}, "sampling": 7}
    assert base == {"seed": 1, "targets": {"a": 1, "b": 2}, "sampling": {"per_agent": 5}}


def test_summary_is_a_batch_key_no_notebook_receives_and_no_region_sets(tmp_path):
    root = make_project(tmp_path)
    defaults = root / "params/defaults.yaml"
    defaults.write_text(defaults.read_text() + "summary: {amber_band: 0.05}\n")
    bp = batch.load_batch_params("all", params_dir=root / "params")
    assert bp.amber_band == 0.05
    for nb in ("calibration_report", "performance_report"):
        assert "summary" not in bp.for_notebook(nb, "EU")
    assert "summary" not in bp.for_notebook("global_overview", None)
    (root / "params/eu.yaml").write_text("region: EU\nsummary: {amber_band: 0.1}\n")
    with pytest.raises(ParamsError, match=r"eu\.yaml: key 'summary' is the same for every region"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_amber_band_defaults_to_the_packaged_value_when_the_project_has_none(tmp_path):
    root = make_project(tmp_path)
    bp = batch.load_batch_params("all", params_dir=root / "params")
    assert bp.amber_band == settings.defaults()["summary"]["amber_band"]


def test_keys_go_only_to_notebooks_that_declare_them(tmp_path):
    root = make_project(tmp_path)
    bp = batch.load_batch_params("all", params_dir=root / "params")
    cal = bp.for_notebook("calibration_report", "NA")
    perf = bp.for_notebook("performance_report", "NA")
    glob = bp.for_notebook("global_overview", None)
    assert "sleep_s" not in glob and perf["sleep_s"] == cal["sleep_s"] == 0.0
    assert "seed" not in glob and "region" not in glob
    assert cal["targets"] == {"pass_rate": 0.9, "mean_score": 85}
    assert cal["scorecard"] == str((root / "params/scorecard.yaml").resolve())


def test_breakdowns_extra_must_be_a_list_of_strings():
    batch.check_params({"breakdowns_extra": ["product"]}, "eu.yaml")
    with pytest.raises(ParamsError, match="'breakdowns_extra' must be a list of strings"):
        batch.check_params({"breakdowns_extra": "product"}, "eu.yaml")


def test_shipped_params_files_are_valid_yaml_mappings():
    params = Path(__file__).resolve().parent.parent / "params"
    defaults = batch.read_params(params / "defaults.yaml")
    assert set(defaults) <= {
        "period",
        "data",
        "scorecard",
        "pseudonymise",
        "seed",
        "history_months",
        "timezone",
        "breakdowns_extra",
        "thresholds",
        "targets",
        "sampling",
        "disputes",
        "summary",
    }
    for code in ("eu", "na", "apac", "latam", "mea"):
        region = batch.read_params(params / f"{code}.yaml")
        assert region["region"] == code.upper()
        assert set(region) <= set(defaults) | {"region"}
        merged = batch.merge_params(defaults, region)
        assert set(merged["targets"]) == set(defaults["targets"])


# ---------------------------------------------------------------------------
# the schema: types and ranges of every key of params/defaults.yaml
# ---------------------------------------------------------------------------
def _leaves(mapping, prefix=""):
    for k, v in mapping.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def _schema_leaves():
    for k, spec in PARAMS_SCHEMA.items():
        if spec.kind == "mapping":
            yield from (f"{k}.{sub}" for sub in spec.keys)
        else:
            yield k


def test_schema_covers_exactly_the_keys_of_defaults_yaml():
    """Every key of params/defaults.yaml has a type and range, and the schema has no key
    that defaults.yaml lacks (``region`` is set only by region files)."""
    assert set(_leaves(settings.defaults())) == set(_schema_leaves()) - {"region"}


def test_shipped_defaults_and_region_files_pass_the_schema():
    defaults = batch.read_params(REPO / "params" / "defaults.yaml")
    check_params(defaults, "defaults.yaml")
    for code in ("eu", "na", "apac", "latam", "mea"):
        check_params(batch.read_params(REPO / "params" / f"{code}.yaml"), f"{code}.yaml")


def test_schema_holds_types_and_ranges_never_values():
    fields = {f for spec in PARAMS_SCHEMA.values() for f in vars(spec)}
    assert fields == {"kind", "low", "high", "keys"}


@pytest.mark.parametrize(
    ("text", "key", "allowed", "got"),
    [
        ('seed: "abc"', "seed", "an integer >= 0", "'abc'"),
        ("seed: -1", "seed", "an integer >= 0", "-1"),
        ("seed: 1.5", "seed", "an integer >= 0", "1.5"),
        ("seed: true", "seed", "an integer >= 0", "True"),
        ("history_months: 37", "history_months", "an integer in [0, 36]", "37"),
        ("pseudonymise: 1", "pseudonymise", "true or false", "1"),
        ("targets: {pass_rate: 85}", "targets.pass_rate", "a number in [0, 1]", "85"),
        ("targets: {critical_rate: 2}", "targets.critical_rate", "a number in [0, 1]", "2"),
        ("targets: {alpha: 1.2}", "targets.alpha", "a number in [0, 1]", "1.2"),
        ("targets: {mean_score: 101}", "targets.mean_score", "a number in [0, 100]", "101"),
        ("targets: {mean_score: .nan}", "targets.mean_score", "a number in [0, 100]", "nan"),
        ("targets: {audits_per_agent: -1}", "targets.audits_per_agent", "an integer >= 0", "-1"),
        (
            "thresholds: {alpha_reliable: 1.5}",
            "thresholds.alpha_reliable",
            "a number in [-1, 1]",
            "1.5",
        ),
        ("thresholds: {bias_flag: -0.1}", "thresholds.bias_flag", "a number in [0, 1]", "-0.1"),
        ("thresholds: {n_boot: 0}", "thresholds.n_boot", "an integer >= 1", "0"),
        ("sampling: {per_agent: 0}", "sampling.per_agent", "an integer >= 1", "0"),
        ("targets: 0.85", "targets", "a mapping with keys pass_rate", "0.85"),
        ("data: ''", "data", "a non-empty one-line path", "''"),
        ("summary: {amber_band: 0.6}", "summary.amber_band", "a number in [0, 0.5]", "0.6"),
    ],
)
def test_wrong_type_or_range_names_key_file_and_allowed_values(tmp_path, text, key, allowed, got):
    root = make_project(tmp_path, regions={"eu": f"region: EU\n{text}\n"})
    with pytest.raises(ParamsError) as err:
        batch.load_batch_params("all", params_dir=root / "params")
    message = str(err.value)
    assert message.startswith(f"{root.resolve() / 'params' / 'eu.yaml'}: parameter '{key}' ")
    assert f"must be {allowed}" in message and message.endswith(f"got {got}")


def test_unknown_nested_key_is_an_error_listing_the_known_ones(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\ntargets: {pas_rate: 0.9}\n"})
    with pytest.raises(
        ParamsError,
        match=r"eu\.yaml: unknown parameter 'targets\.pas_rate' \(known: targets\.pass_rate",
    ):
        batch.load_batch_params("all", params_dir=root / "params")


def test_tentative_alpha_above_reliable_is_an_error_naming_the_file(tmp_path):
    root = make_project(
        tmp_path, regions={"eu": "region: EU\nthresholds: {alpha_tentative: 0.9}\n"}
    )
    with pytest.raises(
        ParamsError,
        match=r"eu\.yaml: parameter 'thresholds\.alpha_tentative' \(0\.9\) must be at most "
        r"'thresholds\.alpha_reliable' \(0\.8\)",
    ):
        batch.load_batch_params("all", params_dir=root / "params")


@pytest.mark.parametrize("code", ["..", "e/u", "EU ", "", "-eu", "x" * 33, "<script>"])
def test_region_codes_that_are_not_safe_folder_names_are_refused(tmp_path, code):
    root = make_project(tmp_path, regions={"eu": f"region: {code!r}\n"})
    with pytest.raises(ParamsError, match=r"eu\.yaml: parameter 'region' must be a region code"):
        batch.load_batch_params("all", params_dir=root / "params")


@pytest.mark.parametrize("code", ["../eu", "eu/..", "a b"])
def test_region_arguments_that_are_not_codes_are_refused(tmp_path, code):
    root = make_project(tmp_path)
    with pytest.raises(ParamsError, match=r"--regions: .* is not a region code"):
        batch.load_batch_params([code], params_dir=root / "params")


@pytest.mark.parametrize("period", ["2026-10\n", " 2026-10", "2026-1", "2026-00", "26-10"])
def test_period_must_be_exactly_yyyy_mm(tmp_path, period):
    root = make_project(tmp_path)
    with pytest.raises(ParamsError, match=r"--period: parameter 'period' must be a month YYYY-MM"):
        batch.load_batch_params("all", params_dir=root / "params", period=period)


def test_period_with_trailing_newline_in_defaults_names_defaults(tmp_path):
    root = make_project(tmp_path)
    text = (root / "params/defaults.yaml").read_text().replace('"2026-10"', '"2026-10\\n"')
    (root / "params/defaults.yaml").write_text(text)
    with pytest.raises(ParamsError, match=r"defaults\.yaml: parameter 'period' must be a month"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_bad_value_stops_the_command_before_anything_runs(tmp_path, capsys):
    root = make_project(tmp_path, regions={"eu": 'region: EU\nseed: "abc"\n'})
    assert cli.main_run(run_args(root)) == 2
    err = capsys.readouterr().err
    assert "eu.yaml: parameter 'seed' must be an integer >= 0, got 'abc'" in err
    assert not (root / "outputs").exists()  # nothing ran, nothing written


def test_keys_declared_by_a_notebook_are_accepted_and_type_checked(tmp_path):
    """The fixture notebooks declare ``sleep_s: float`` and ``fail: bool`` of their own."""
    root = make_project(tmp_path, regions={"eu": "region: EU\nsleep_s: 0.5\n"})
    bp = batch.load_batch_params("all", params_dir=root / "params")
    assert bp.for_notebook("performance_report", "EU")["sleep_s"] == 0.5
    (root / "params/eu.yaml").write_text("region: EU\nsleep_s: soon\n")
    with pytest.raises(ParamsError, match=r"eu\.yaml: parameter 'sleep_s' must be float"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_region_codes_differing_only_in_case_are_refused(tmp_path):
    root = make_project(tmp_path, regions={"eu": "region: EU\n", "EU": "region: eu\n"})
    with pytest.raises(ParamsError, match=r"region '(EU|eu)' appears twice"):
        batch.load_batch_params("all", params_dir=root / "params")


def test_timezone_must_be_a_known_iana_name():
    check_params({"timezone": "Australia/Sydney"}, "eu.yaml")
    with pytest.raises(
        ParamsError, match=r"eu.yaml: parameter 'timezone' must be an IANA time zone"
    ):
        check_params({"timezone": "Mars/Olympus_Mons"}, "eu.yaml")
