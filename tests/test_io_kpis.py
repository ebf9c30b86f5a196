"""Tests for the KPI files section of qa_analysis.io: write_kpis / read_kpis, the report
kinds and the merged region file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qa_analysis import io


def test_write_kpis_converts_numpy_pandas_and_missing(tmp_path):
    path = io.write_kpis(
        {
            "n": np.int64(3),
            "rate": np.float32(0.5),
            "flag": np.bool_(True),
            "nan": np.nan,
            "inf": float("inf"),
            "na": pd.NA,
            "nat": pd.NaT,
            "when": pd.Timestamp("2026-10-01"),
            "month": pd.Period("2026-10", "M"),
            "arr": np.array([1.0, np.nan]),
            "series": pd.Series({"a": 1, "b": 2}),
            "frame": pd.DataFrame({"x": [1, 2], "y": [0.5, np.nan]}),
            "nested": {1: {"deep": np.float64(2.5)}},
        },
        tmp_path / "sub" / "k.json",
    )
    data = json.loads(path.read_text())
    assert data == {
        "n": 3,
        "rate": 0.5,
        "flag": True,
        "nan": None,
        "inf": None,
        "na": None,
        "nat": None,
        "when": "2026-10-01T00:00:00",
        "month": "2026-10",
        "arr": [1.0, None],
        "series": {"a": 1, "b": 2},
        "frame": [{"x": 1, "y": 0.5}, {"x": 2, "y": None}],
        "nested": {"1": {"deep": 2.5}},
    }
    assert [p.name for p in path.parent.iterdir()] == ["k.json"]  # no temp file left


def test_write_kpis_writes_dataclass_results(tmp_path):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Estimate:
        value: float
        ci: tuple[float, float]

    path = io.write_kpis({"alpha": Estimate(np.float64(0.71), (0.6, np.nan))}, tmp_path / "k.json")
    assert json.loads(path.read_text()) == {"alpha": {"value": 0.71, "ci": [0.6, None]}}


def test_write_kpis_rejects_unknown_types_naming_the_key(tmp_path):
    with pytest.raises(TypeError, match=r"kpis\['fig'\]: cannot write a object"):
        io.write_kpis({"ok": 1, "fig": object()}, tmp_path / "k.json")
    assert not (tmp_path / "k.json").exists()
    with pytest.raises(TypeError, match="must be a mapping"):
        io.write_kpis([1, 2], tmp_path / "k.json")


def test_report_kinds_are_defined_once_and_agree():
    reports = (*io.REGIONAL_NOTEBOOKS, io.GLOBAL_NOTEBOOK)
    assert set(io.KPI_FILES) == set(reports)
    assert set(io.REGION_KPI_KEYS) == set(io.REGIONAL_NOTEBOOKS)
    assert len(set(io.REGION_KPI_KEYS.values())) == len(io.REGION_KPI_KEYS)
    assert set(io.REPORT_FILES) <= set(reports)
    assert io.OPTIONAL_KPI_FILES <= set(io.KPI_FILES.values())


def test_read_region_kpis_reads_the_merged_file_or_none(tmp_path):
    assert io.read_region_kpis(tmp_path, "EU") is None
    io.write_kpis({"region": "EU", "calibration": {"alpha": 0.8}}, tmp_path / "eu" / "kpis.json")
    assert io.read_region_kpis(tmp_path, "EU") == {"region": "EU", "calibration": {"alpha": 0.8}}


def test_read_kpis_refuses_a_file_that_is_not_an_object(tmp_path):
    (tmp_path / "k.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"k\.json: a KPI file must hold a JSON object, got list"):
        io.read_kpis(tmp_path / "k.json")
