"""Tests for qa_analysis.privacy: keyed pseudonyms and the key source."""

from __future__ import annotations

import pandas as pd
import pytest
from batch_project import PERIOD

from qa_analysis import batch, privacy


def _people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "agent_id": ["EU-A001", "EU-A002", "EU-A001", None],
            "reviewer_id": ["EU-S01", "EU-S01", "EU-S02", "EU-S02"],
            "score": [1.0, 0.0, 1.0, 1.0],
        }
    )


def test_pseudonymise_is_stable_keyed_and_keeps_missing():
    df = _people()
    a = privacy.pseudonymise(df, key="test-key-one-0001")
    b = privacy.pseudonymise(df.iloc[::-1], key="test-key-one-0001")  # another month, another order
    c = privacy.pseudonymise(df, key="test-key-two-0002")
    assert a["agent_id"].iloc[0] == a["agent_id"].iloc[2] == b["agent_id"].iloc[1]
    assert a["agent_id"].iloc[0] != a["agent_id"].iloc[1]
    assert a["agent_id"].iloc[0] != c["agent_id"].iloc[0]
    assert pd.isna(a["agent_id"].iloc[3])
    assert a["agent_id"].dropna().str.fullmatch(r"A-[0-9a-f]{8}").all()
    assert a["reviewer_id"].str.fullmatch(r"R-[0-9a-f]{8}").all()
    assert a["score"].equals(df["score"]) and df["agent_id"].iloc[0] == "EU-A001"


def test_pseudonym_is_the_documented_hmac():
    import hashlib
    import hmac

    out = privacy.pseudonymise(pd.DataFrame({"rater_id": ["EU-S01"]}), key="secret-key-16-bytes")
    digest = hmac.new(b"secret-key-16-bytes", b"EU-S01", hashlib.sha256).hexdigest()
    assert out["rater_id"].iloc[0] == "R-" + digest[:8]


def test_reviewer_and_rater_ids_share_pseudonyms():
    ev = privacy.pseudonymise(pd.DataFrame({"reviewer_id": ["EU-S01"]}), key="test-key-16-bytes")
    cal = privacy.pseudonymise(pd.DataFrame({"rater_id": ["EU-S01"]}), key="test-key-16-bytes")
    assert ev["reviewer_id"].iloc[0] == cal["rater_id"].iloc[0]


def test_pseudonymise_key_comes_from_environment(monkeypatch):
    df = _people()
    monkeypatch.setenv(privacy.PSEUDONYM_ENV, "from-env-key-16-bytes")
    assert privacy.pseudonymise(df).equals(privacy.pseudonymise(df, key="from-env-key-16-bytes"))
    # the secret wins over the demo key even for the demo data
    assert privacy.pseudonymise(df, demo_ok=True).equals(
        privacy.pseudonymise(df, key="from-env-key-16-bytes")
    )


def test_pseudonymise_without_key_refuses_unless_demo_data(monkeypatch):
    """A public key would make the pseudonyms reversible by hashing guessed ids, so it
    is used only when the caller says the data is the bundled demo set."""
    df = _people()
    monkeypatch.delenv(privacy.PSEUDONYM_ENV, raising=False)
    with pytest.raises(ValueError, match=r"^QA_PSEUDONYM_KEY is not set: .*pseudonymise: false"):
        privacy.pseudonymise(df)
    monkeypatch.setenv(privacy.PSEUDONYM_ENV, "")  # set but empty: no key either
    with pytest.raises(ValueError, match="QA_PSEUDONYM_KEY is not set"):
        privacy.pseudonymise(df)
    assert privacy.pseudonymise(df, demo_ok=True).equals(
        privacy.pseudonymise(df, key=privacy.DEFAULT_PSEUDONYM_KEY)
    )
    assert privacy.pseudonymise(df, key="test-key-16-bytes").equals(
        privacy.pseudonymise(df, key="test-key-16-bytes", demo_ok=True)
    )
    assert privacy.pseudonymise(df[["score"]]).equals(df[["score"]])  # no ids: no key needed


def test_pseudonymise_explicit_missing_column_is_an_error():
    with pytest.raises(ValueError, match=r"column\(s\) \['rater_id'\] not in the table"):
        privacy.pseudonymise(_people(), columns=["rater_id"], key="test-key-16-bytes")


def test_pseudonymise_many_ids_maps_unique_ids_back():
    ids = pd.Series([f"A{i % 5000:05d}" for i in range(200_000)], name="agent_id")
    out = privacy.pseudonymise(ids.to_frame(), key="test-key-16-bytes")["agent_id"]
    assert out.nunique() == 5000
    assert (out.iloc[:5000].to_numpy() == out.iloc[5000:10000].to_numpy()).all()


def test_pseudonymise_empty_frame():
    out = privacy.pseudonymise(
        pd.DataFrame({"agent_id": pd.Series([], dtype=object)}), key="test-key-16-bytes"
    )
    assert out.empty and list(out.columns) == ["agent_id"]


def test_index_note_names_the_key_source(tmp_path, monkeypatch):
    monkeypatch.setenv(privacy.PSEUDONYM_ENV, "secret-key-16-bytes")
    assert privacy.pseudonym_key_source() == privacy.PSEUDONYM_ENV
    monkeypatch.delenv(privacy.PSEUDONYM_ENV)
    assert privacy.pseudonym_key_source() == "demo key"
    for source, note in (
        (privacy.PSEUDONYM_ENV, "with the key in QA_PSEUDONYM_KEY"),
        ("demo key", "public demo key, which is used only for the bundled demo"),
    ):
        run = batch.RunResult(PERIOD, tmp_path, (), wall_s=0.0, workers=1, pseudonym_key=source)
        assert note in batch.write_index(run, tmp_path / "index.html").read_text()


@pytest.mark.parametrize("key", ["", "short", "fifteen-bytes!!", b"\x00" * 15])
def test_keys_shorter_than_16_bytes_are_refused(key):
    with pytest.raises(ValueError, match="at least 16"):
        privacy.pseudonymise(pd.DataFrame({"agent_id": ["EU-A001"]}), key=key)
    assert len(privacy.DEFAULT_PSEUDONYM_KEY.encode()) >= privacy.MIN_KEY_BYTES


def test_a_short_key_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv(privacy.PSEUDONYM_ENV, "abc")
    with pytest.raises(ValueError, match="3 bytes long"):
        privacy.pseudonymise(pd.DataFrame({"agent_id": ["EU-A001"]}))
