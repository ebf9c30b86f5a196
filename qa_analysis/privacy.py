"""Keyed pseudonyms for person ids (agents, reviewers, raters).

Shared reports never show a raw person id: :func:`pseudonymise` replaces each
id by a keyed HMAC pseudonym that is stable across months for the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_PSEUDONYM_KEY",
    "MIN_KEY_BYTES",
    "PSEUDONYM_ENV",
    "pseudonym_key_source",
    "pseudonymise",
]

#: Environment variable holding the pseudonymisation key.
PSEUDONYM_ENV = "QA_PSEUDONYM_KEY"
#: Key used when :data:`PSEUDONYM_ENV` is unset, and only for the bundled demo data
#: (``pseudonymise(..., demo_ok=True)``). It is public, so its pseudonyms can be
#: reversed by hashing guessed ids: real data needs a secret key in the variable.
DEFAULT_PSEUDONYM_KEY = "qa-analysis-demo-key"
#: Shortest key accepted, in bytes (UTF-8): a short key can be guessed.
MIN_KEY_BYTES = 16
_PSEUDONYM_PREFIX = {"agent_id": "A-", "reviewer_id": "R-", "rater_id": "R-"}
_DEFAULT_ID_COLUMNS = ("agent_id", "reviewer_id", "rater_id")


def pseudonymise(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    key: str | bytes | None = None,
    length: int = 8,
    *,
    demo_ok: bool = False,
) -> pd.DataFrame:
    """Replace person ids by stable keyed pseudonyms.

    Parameters
    ----------
    df : DataFrame
        Any table holding person ids (evaluations, calibration ratings, tickets).
    columns : sequence of str, optional
        Columns to pseudonymise. Default: whichever of ``agent_id``,
        ``reviewer_id``, ``rater_id`` are present. Columns named explicitly
        must exist.
    key : str or bytes, optional
        Secret key, at least :data:`MIN_KEY_BYTES` (16) bytes. Default: the
        environment variable ``QA_PSEUDONYM_KEY``.
    length : int, default 8
        Hex digits kept from the digest (4-64).
    demo_ok : bool, default False
        When no ``key`` is given and ``QA_PSEUDONYM_KEY`` is unset, use the
        public :data:`DEFAULT_PSEUDONYM_KEY` instead of raising. Pass True only
        for the bundled demo data (:func:`qa_analysis.demo.write_demo`): the
        demo key is published, so anyone can reverse its pseudonyms by hashing
        guessed ids.

    Returns
    -------
    DataFrame
        A copy with ids replaced: agents by ``"A-"`` + hex digits, reviewers
        and raters by ``"R-"`` + hex digits (other columns ``"P-"``). Missing
        ids stay missing.

    Raises
    ------
    ValueError
        When there are ids to replace but no key: ``key`` not given,
        ``QA_PSEUDONYM_KEY`` unset and ``demo_ok`` False (a real data set is
        never silently "pseudonymised" with the public key); also for a key
        shorter than 16 bytes, a missing named column or a pseudonym collision.

    Notes
    -----
    Method: pseudonym = prefix + the first ``length`` hex digits of
    HMAC-SHA256(key, str(id)) [1]_ [2]_. The same id and key always give the
    same pseudonym (stable across months and tables, so a reviewer who is also
    a calibration rater keeps one pseudonym), and without the key the ids
    cannot be recovered by hashing guessed ids. Only the unique ids are hashed
    (``pd.factorize``) and the pseudonyms mapped back by code, so the cost
    grows with the number of people, not rows. If two different ids of a
    column would share a pseudonym a ``ValueError`` asks for a larger
    ``length`` (with 8 digits the chance is below 1e-4 for 1,000 ids).

    Security: the pseudonyms are only as secret as the key. Anyone holding
    the key (or the public demo key, for demo data) can recover the ids by
    hashing every possible id, and id spaces are usually small (``EU-A001``
    to ``EU-A999`` is a thousand guesses, done in milliseconds): treat the
    key like a password, share reports, not the key.

    References
    ----------
    .. [1] H. Krawczyk, M. Bellare, R. Canetti, "HMAC: Keyed-Hashing for Message
       Authentication", RFC 2104, 1997.
    .. [2] ENISA, "Pseudonymisation techniques and best practices", 2019,
       section 5.2 (keyed hash functions).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"agent_id": ["EU-A001", "EU-A002", "EU-A001"], "score": [1, 0, 1]})
    >>> out = pseudonymise(df, key="a-long-random-secret")
    >>> out["agent_id"].str.startswith("A-").all(), out["agent_id"].nunique()
    (np.True_, 2)
    >>> out["agent_id"].iloc[0] == out["agent_id"].iloc[2]
    True
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a DataFrame, got {type(df).__name__}")
    if not 4 <= int(length) <= 64:
        raise ValueError(f"length must be between 4 and 64 hex digits, got {length}")
    if columns is None:
        cols = [c for c in _DEFAULT_ID_COLUMNS if c in df.columns]
    else:
        cols = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(
                f"pseudonymise: column(s) {missing} not in the table (columns: {list(df.columns)})"
            )
    if not cols:
        return df.copy()  # no ids, no key needed
    if key is None:
        key = os.environ.get(PSEUDONYM_ENV)
        if not key:
            if not demo_ok:
                raise ValueError(
                    f"{PSEUDONYM_ENV} is not set: ids cannot be pseudonymised with a secret key. "
                    f"The public demo key is used only for the bundled demo data (its "
                    f"pseudonyms can be reversed by hashing guessed ids). Set it "
                    f"(export {PSEUDONYM_ENV}=<a long random secret>, the same every month), "
                    f"or set pseudonymise: false in the params to keep the raw ids"
                )
            key = DEFAULT_PSEUDONYM_KEY
    key_bytes = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(key_bytes) < MIN_KEY_BYTES:
        raise ValueError(
            f"pseudonymise: the key is {len(key_bytes)} bytes long; use at least "
            f"{MIN_KEY_BYTES} (a short key can be guessed, and with it every id: "
            f"e.g. export {PSEUDONYM_ENV}=$(python -c 'import secrets; print(secrets.token_hex(16))'))"
        )
    out = df.copy()
    for col in cols:  # a handful of id columns
        s = out[col]
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        prefix = _PSEUDONYM_PREFIX.get(col, "P-")
        pseudo = np.array(
            [
                prefix
                + hmac.new(key_bytes, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:length]
                for u in uniques
            ],
            dtype=object,
        )
        if len(set(pseudo)) != len(pseudo):
            raise ValueError(
                f"pseudonymise: two ids in column {col!r} share a {length}-digit "
                f"pseudonym; use a larger length"
            )
        values = (
            pseudo[np.where(codes >= 0, codes, 0)] if len(pseudo) else np.full(len(s), None, object)
        )
        values = np.where(codes >= 0, values, s.to_numpy(dtype=object))
        dtype = s.dtype if isinstance(s.dtype, pd.StringDtype) else object
        out[col] = pd.Series(values, index=s.index, name=col, dtype=dtype)
    return out


def pseudonym_key_source() -> str:
    """``"QA_PSEUDONYM_KEY"`` when that variable is set, else ``"demo key"``.

    With the variable unset, :func:`pseudonymise` falls back to the public demo
    key only when called with ``demo_ok=True`` (the bundled demo data) and
    raises otherwise, so a batch whose reports succeeded with pseudonymisation
    on and ``"demo key"`` here ran on the demo data.
    """
    return PSEUDONYM_ENV if os.environ.get(PSEUDONYM_ENV) else "demo key"
