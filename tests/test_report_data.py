"""Tests for qa_analysis.report.data: parameters over params/defaults.yaml, paths, the
window, loading and pseudonymisation.

Fixtures: the small demo (``demo.generate(small=True)``) written once per module as
Parquet files, so that the loaders run exactly as in the notebooks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from qa_analysis import demo, io, privacy, settings
from qa_analysis.errors import DataError, ParamsError
from qa_analysis.report import data as rd


@pytest.fixture(scope="module")
def small() -> demo.DemoData:
    return demo.generate(seed=7, small=True)


@pytest.fixture(scope="module")
def data_dir(small, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("demo")
    small.evaluations.to_parquet(d / "evaluations.parquet", index=False)
    small.calibration.to_parquet(d / "calibration.parquet", index=False)
    small.tickets.to_parquet(d / "tickets.parquet", index=False)
    return d


@pytest.fixture(scope="module")
def loaded(data_dir, small) -> rd.ReportData:
    return rd.load_report_data(
        data_dir,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=3,
        key="test-key-16-bytes",
    )


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
def test_report_params_without_arguments_are_the_defaults_file():
    p = rd.report_params()
    d = settings.defaults()
    assert (p.period, p.seed, p.history_months, p.pseudonymise) == (
        d["period"],
        d["seed"],
        d["history_months"],
        d["pseudonymise"],
    )
    assert (p.thresholds, p.targets, p.sampling) == (d["thresholds"], d["targets"], d["sampling"])


def test_report_params_merge_a_partial_dict_key_by_key():
    p = rd.report_params(targets={"pass_rate": 0.9}, thresholds={"n_boot": 50}, seed=3)
    assert p.targets == {**settings.targets(), "pass_rate": 0.9}
    assert p.thresholds == {**settings.thresholds(), "n_boot": 50}
    assert p.seed == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": "abc"}, "'seed' must be an integer"),
        ({"history_months": 2.5}, "'history_months' must be an integer"),
        ({"pseudonymise": "yes"}, "'pseudonymise' must be true or false"),
        ({"targets": {"pass_rat": 0.9}}, r"'targets': unknown key\(s\) \['pass_rat'\]"),
        ({"targets": [0.9]}, "'targets' must be a mapping"),
        ({"targets": {"pass_rate": "high"}}, "targets.pass_rate must be a number"),
        ({"thresholds": {"alpha_tentative": 0.9}}, "alpha_tentative must not exceed"),
        ({"thresholds": {"bias_flag": 1.5}}, r"bias_flag must be in \(0, 1\)"),
        ({"thresholds": {"n_boot": 0}}, "n_boot must be a positive integer"),
        ({"period": "2026/10"}, "YYYY-MM"),
    ],
)
def test_report_params_name_the_bad_parameter(kwargs, match):
    with pytest.raises(ParamsError, match=match):
        rd.report_params(**kwargs)


def test_target_spec_gives_each_kpi_its_direction():
    spec = rd.target_spec(settings.targets())
    assert spec["critical_rate"]["direction"] == "max"
    assert {s["direction"] for k, s in spec.items() if k != "critical_rate"} == {"min"}


# ---------------------------------------------------------------------------
# paths and windows
# ---------------------------------------------------------------------------
def test_resolve_path_falls_back_to_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # as when a notebook runs from notebooks/
    p = rd.resolve_path("params/scorecard.yaml")
    assert p == rd.PROJECT_ROOT / "params/scorecard.yaml" and p.exists()


def test_resolve_path_prefers_the_path_as_given(tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    (tmp_path / "params/scorecard.yaml").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert rd.resolve_path("params/scorecard.yaml") == Path("params/scorecard.yaml")


def test_resolve_path_returns_unknown_paths_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert rd.resolve_path("nowhere/x.duckdb") == Path("nowhere/x.duckdb")


def test_data_source_maps_a_folder_to_the_table_file(data_dir):
    assert rd.data_source(data_dir, "calibration") == str(data_dir / "calibration.parquet")
    assert rd.data_source(data_dir / "tickets.parquet", "tickets") == str(
        data_dir / "tickets.parquet"
    )


def test_report_window_spans_month_history_and_previous_month():
    w = rd.report_window("2026-03", 2)
    assert (w.start, w.end) == (pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-31"))
    assert w.history_start == pd.Timestamp("2026-01-01")
    assert (w.prev_start, w.prev_end) == (pd.Timestamp("2026-02-01"), pd.Timestamp("2026-02-28"))
    assert (w.label, w.next_period) == ("March 2026", "2026-04")
    assert repr(w) == "Window(2026-03, history January 2026 - March 2026)"


@pytest.mark.parametrize("bad", ["2026-13", "2026/10", "Oct 2026", 202610])
def test_report_window_rejects_bad_periods(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        rd.report_window(bad)


def test_report_window_rejects_negative_history():
    with pytest.raises(ValueError, match="history_months"):
        rd.report_window("2026-10", -1)


def test_baseline_is_the_first_half_of_the_history_or_none():
    assert rd.report_window("2026-10", 0).baseline_end is None
    assert str(rd.report_window("2026-10", 3).baseline_end.date()) == "2026-09-01"


# ---------------------------------------------------------------------------
# loading and pseudonymisation
# ---------------------------------------------------------------------------
def test_load_report_data_cuts_the_windows(loaded):
    ev, cal, tk = loaded.evaluations, loaded.calibration, loaded.tickets
    assert ev["evaluated_at"].min() >= pd.Timestamp("2026-07-01")
    assert ev["evaluated_at"].max() < pd.Timestamp("2026-11-01")
    assert pd.to_datetime(cal["session_date"]).min() >= pd.Timestamp("2026-07-01")
    assert tk["created_at"].min() >= pd.Timestamp("2026-10-01")  # tickets: report month only
    assert set(ev["region"]) == {"EU"}


def test_load_report_data_pseudonymises_every_person_id(loaded, small):
    raw = (
        set(small.evaluations["agent_id"])
        | set(small.evaluations["reviewer_id"])
        | set(small.calibration["rater_id"])
        | set(small.tickets["agent_id"])
    )
    for df, cols in (
        (loaded.evaluations, ["agent_id", "reviewer_id"]),
        (loaded.calibration, ["rater_id"]),
        (loaded.tickets, ["agent_id"]),
    ):
        for c in cols:
            assert not set(df[c]) & raw
            assert df[c].str.match(r"^[AR]-[0-9a-f]{8}$").all()


def test_load_report_data_without_pseudonymisation_keeps_ids(data_dir, small):
    d = rd.load_report_data(
        data_dir,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=0,
        pseudonymise=False,
        tables=("calibration",),
    )
    assert set(d.calibration["rater_id"]) <= set(small.calibration["rater_id"])
    assert len(d.evaluations) == 0 and len(d.tickets) == 0


def test_load_report_data_names_a_missing_source(tmp_path, small):
    with pytest.raises(DataError, match=r"calibration\.parquet"):
        rd.load_report_data(
            tmp_path, small.scorecard, region="EU", period="2026-10", tables=("calibration",)
        )


def test_a_folder_without_tickets_and_calibration_loads_them_empty_with_notes(
    data_dir, small, loaded, tmp_path
):
    # what qa-reports import writes from a platform export: evaluations only
    shutil.copy(data_dir / "evaluations.parquet", tmp_path / "evaluations.parquet")
    got = rd.load_report_data(
        tmp_path,
        small.scorecard,
        region="EU",
        period="2026-10",
        history_months=3,
        key="test-key-16-bytes",
    )
    pd.testing.assert_frame_equal(got.evaluations, loaded.evaluations)
    assert len(got.tickets) == 0 and len(got.calibration) == 0
    for t in ("tickets", "calibration"):
        full = getattr(loaded, t)
        empty = getattr(got, t)
        required = list(io.SCHEMAS[t].required)
        assert list(empty.columns) == required
        assert empty.dtypes.to_dict() == full[required].dtypes.to_dict()
    assert got.notes == (rd.MISSING_TABLE_NOTES["calibration"], rd.MISSING_TABLE_NOTES["tickets"])
    assert rd.MISSING_TABLE_NOTES["tickets"] == (
        "no tickets table: figures are averages over audits, coverage and the audit plan "
        "are skipped"
    )


def test_load_report_data_rejects_unknown_tables(data_dir, small):
    with pytest.raises(ValueError, match="unknown table"):
        rd.load_report_data(
            data_dir, small.scorecard, region="EU", period="2026-10", tables=("audits",)
        )


def test_report_data_repr_is_one_short_line(loaded):
    r = repr(loaded)
    assert r.startswith("ReportData(scorecard=") and "\n" not in r
    assert f"evaluations=<DataFrame {len(loaded.evaluations)} x " in r


def test_a_planted_json_alone_does_not_make_data_the_demo(tmp_path):
    assert not rd.is_demo_data(tmp_path)
    (tmp_path / "planted.json").write_text("{}")
    assert not rd.is_demo_data(tmp_path)
    assert not rd.is_demo_data(tmp_path / "qa.duckdb")
    assert not rd.is_demo_data(tmp_path.parent / "nowhere-at-all")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("written") / "demo"
    demo.write_demo(d, small=True)
    return d


def test_is_demo_data_is_true_for_write_demo_output(demo_dir):
    assert rd.is_demo_data(demo_dir / "qa.duckdb") and rd.is_demo_data(demo_dir)
    assert rd.is_demo_data(demo_dir / "calibration.parquet")


def test_real_data_in_the_demo_folder_is_refused_the_demo_key(
    demo_dir, data_dir, small, tmp_path, monkeypatch
):
    """Real data dropped into data/demo/ with planted.json and fingerprint.json copied
    alongside: its content is not the demo's, so no public key (issue 11)."""
    monkeypatch.delenv(privacy.PSEUDONYM_ENV, raising=False)
    real = tmp_path / "demo"
    shutil.copytree(demo_dir, real)
    cal = pd.read_parquet(real / "calibration.parquet")
    cal["rater_id"] = cal["rater_id"].str.replace("EU-S", "REAL-", regex=False)
    cal.to_parquet(real / "calibration.parquet", index=False)
    assert not rd.is_demo_data(real) and not rd.is_demo_data(real / "calibration.parquet")
    assert rd.is_demo_data(real / "qa.duckdb")  # untouched file: still the demo's content
    with pytest.raises(ValueError, match=privacy.PSEUDONYM_ENV):
        rd.load_report_data(
            real, small.scorecard, region="EU", period="2026-10", tables=("calibration",)
        )


def test_load_report_data_without_a_key_refuses_real_data(data_dir, small, monkeypatch):
    monkeypatch.delenv(privacy.PSEUDONYM_ENV, raising=False)
    with pytest.raises(ValueError, match=privacy.PSEUDONYM_ENV):
        rd.load_report_data(
            data_dir,
            small.scorecard,
            region="EU",
            period="2026-10",
            history_months=0,
            tables=("calibration",),
        )


def test_load_report_data_without_a_key_uses_the_demo_key_for_demo_data(
    demo_dir, small, monkeypatch
):
    monkeypatch.delenv(privacy.PSEUDONYM_ENV, raising=False)
    kw = dict(region="EU", period="2026-10", history_months=0, tables=("calibration",))
    d = rd.load_report_data(demo_dir, small.scorecard, **kw)
    raw = rd.load_report_data(demo_dir, small.scorecard, pseudonymise=False, **kw)
    expected = privacy.pseudonymise(raw.calibration, key=privacy.DEFAULT_PSEUDONYM_KEY)
    assert list(d.calibration["rater_id"]) == list(expected["rater_id"])


def test_privacy_kpis_say_which_key_pseudonymised_the_ids(data_dir, small, monkeypatch):
    from qa_analysis.privacy import PSEUDONYM_ENV

    def load(**kw):
        return rd.load_report_data(
            data_dir,
            small.scorecard,
            region="EU",
            period="2026-10",
            history_months=0,
            tables=("calibration",),
            **kw,
        ).privacy_kpis()

    monkeypatch.delenv(PSEUDONYM_ENV, raising=False)
    assert load(pseudonymise=False) == {
        "pseudonymised": False,
        "pseudonym_key": None,
        "demo_data": False,
    }
    assert load(key="a-secret-key-of-16-bytes")["pseudonym_key"] == "key argument"
    monkeypatch.setenv(PSEUDONYM_ENV, "from-the-environment")
    assert load() == {"pseudonymised": True, "pseudonym_key": PSEUDONYM_ENV, "demo_data": False}


def test_privacy_kpis_name_the_demo_key_only_on_demo_data(data_dir, small, monkeypatch):
    from qa_analysis.privacy import PSEUDONYM_ENV

    monkeypatch.delenv(PSEUDONYM_ENV, raising=False)
    (data_dir / "planted.json").write_text("{}")
    digests = {
        f: demo.file_digest(data_dir / f)
        for f in ("evaluations.parquet", "calibration.parquet", "tickets.parquet")
    }
    (data_dir / demo.FINGERPRINT_FILE).write_text(json.dumps({"sha256": digests}))
    try:
        k = rd.load_report_data(
            data_dir,
            small.scorecard,
            region="EU",
            period="2026-10",
            history_months=0,
            tables=("calibration",),
        ).privacy_kpis()
    finally:
        (data_dir / "planted.json").unlink()
        (data_dir / demo.FINGERPRINT_FILE).unlink()
    assert k == {"pseudonymised": True, "pseudonym_key": "demo key", "demo_data": True}


# ---------------------------------------------------------------------------
# errors reaching shared outputs name pseudonyms, not raw ids (issue 11)
# ---------------------------------------------------------------------------
def _duplicate_rating(small, folder: Path) -> str:
    cal = small.calibration
    cal = pd.concat([cal, cal.iloc[[0]]], ignore_index=True)
    folder.mkdir()
    cal.to_parquet(folder / "calibration.parquet", index=False)
    return str(cal["rater_id"].iloc[0])


def test_a_duplicate_rating_error_names_the_raters_pseudonym_not_the_raw_id(small, tmp_path):
    rater = _duplicate_rating(small, tmp_path / "d")
    with pytest.raises(DataError, match="duplicate") as info:
        rd.load_report_data(
            tmp_path / "d",
            small.scorecard,
            region=None,
            period="2026-10",
            key="test-key-16-bytes",
            tables=("calibration",),
        )
    pseudo = privacy.pseudonymise(pd.DataFrame({"rater_id": [rater]}), key="test-key-16-bytes")[
        "rater_id"
    ][0]
    assert rater not in str(info.value) and f"rater_id={pseudo!r}" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_duplicate_rating_error_keeps_raw_ids_when_pseudonymisation_is_off(small, tmp_path):
    rater = _duplicate_rating(small, tmp_path / "d")
    with pytest.raises(DataError, match=rater):
        rd.load_report_data(
            tmp_path / "d",
            small.scorecard,
            region=None,
            period="2026-10",
            pseudonymise=False,
            tables=("calibration",),
        )


def test_id_errors_without_a_usable_key_withhold_the_ids(small, tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.PSEUDONYM_ENV, raising=False)
    rater = _duplicate_rating(small, tmp_path / "d")
    with pytest.raises(DataError, match="rater_id=<withheld>") as info:
        rd.load_report_data(
            tmp_path / "d", small.scorecard, region=None, period="2026-10", tables=("calibration",)
        )
    assert rater not in str(info.value)


# ---------------------------------------------------------------------------
# the business time zone decides the month (issue 11)
# ---------------------------------------------------------------------------
def test_months_are_cut_in_the_business_time_zone(small, tmp_path):
    ev = small.evaluations
    one = ev.loc[ev["evaluation_id"] == ev["evaluation_id"].iloc[0]].copy()
    # 31 Oct 22:00 UTC is 1 Nov 09:00 in Sydney
    one["evaluated_at"] = pd.Timestamp("2026-10-31 22:00", tz="UTC")
    (tmp_path / "d").mkdir()
    one.to_parquet(tmp_path / "d" / "evaluations.parquet", index=False)

    def n(tz: str | None) -> int:
        return len(
            rd.load_report_data(
                tmp_path / "d",
                small.scorecard,
                region=None,
                period="2026-10",
                history_months=0,
                pseudonymise=False,
                tables=("evaluations",),
                timezone=tz,
            ).evaluations
        )

    assert settings.defaults()["timezone"] == "UTC"
    assert n(None) == len(one)  # the default business time zone: still October
    assert n("Australia/Sydney") == 0  # already November in Sydney


def test_report_params_carry_the_time_zone_from_the_defaults():
    assert rd.report_params().timezone == "UTC"
    assert rd.report_params(timezone="Europe/Berlin").timezone == "Europe/Berlin"
