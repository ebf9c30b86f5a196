"""Pseudonym -> id lookup for an authorised reader (``qa-reports reveal``).

The shared reports carry only keyed pseudonyms (:func:`qa_analysis.privacy.pseudonymise`).
A lead who holds the key and a list of ids from their own data (their team's
agents, their raters) hashes those ids with the same key to learn which
pseudonym is whom. Nothing is reversed: only the ids the reader supplies are
mapped, and the lookup is written outside the shared outputs, readable by its
owner only (mode 0600), or printed.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from qa_analysis.batch.outputs import MANIFEST
from qa_analysis.errors import DataError, ParamsError
from qa_analysis.escaping import neutralise_formulas
from qa_analysis.privacy import MIN_KEY_BYTES, PSEUDONYM_ENV, pseudonymise

__all__ = [
    "ID_COLUMNS",
    "Role",
    "key_from_env",
    "managed_outputs",
    "read_ids",
    "reveal_table",
    "write_reveal",
]

Role = Literal["agent", "rater", "both"]
#: Column names recognised in an ids file, with the role their pseudonyms have.
ID_COLUMNS: dict[str, Role] = {
    "agent_id": "agent",
    "reviewer_id": "rater",
    "rater_id": "rater",
    "id": "both",
}
#: Column of :func:`pseudonymise` that gives each role's prefix (``A-`` / ``R-``).
_ROLE_COLUMN = {"agent": "agent_id", "rater": "rater_id"}


def read_ids(path: str | Path, column: str | None = None) -> tuple[pd.Series, Role]:
    """The ids of a CSV file (one column of them) and their role.

    The column is ``column`` when given, else the first of :data:`ID_COLUMNS`
    in the file, else the file's only column (role ``both``). Ids are read as
    text (``"007"`` stays ``"007"``); blanks are dropped, duplicates kept once.
    """
    p = Path(path)
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(str(p), f"cannot read the ids file as CSV ({exc})") from exc
    if column is None:
        found = [c for c in ID_COLUMNS if c in df.columns]
        if found:
            column = found[0]
        elif len(df.columns) == 1:
            column = str(df.columns[0])
        else:
            raise DataError(
                str(p),
                "name the id column with --column (the file has "
                f"{', '.join(map(str, df.columns))}; recognised: {', '.join(ID_COLUMNS)})",
            )
    if column not in df.columns:
        raise DataError(
            str(p), f"no column {column!r} (columns: {', '.join(map(str, df.columns))})"
        )
    ids = df[column].str.strip()
    ids = ids.loc[ids != ""].drop_duplicates().reset_index(drop=True)
    if ids.empty:
        raise DataError(str(p), f"column {column!r} holds no ids")
    return ids, ID_COLUMNS.get(column, "both")


def reveal_table(
    ids: Sequence[str] | pd.Series,
    *,
    key: str | bytes,
    role: Role = "both",
    length: int = 8,
) -> pd.DataFrame:
    """Pseudonym -> id for the ids given, hashed with ``key``.

    Parameters
    ----------
    ids : sequence of str
        Raw ids from the reader's own data.
    key : str or bytes
        The pseudonymisation key the reports were made with.
    role : {"agent", "rater", "both"}
        Agents get ``A-`` pseudonyms, reviewers and raters ``R-``; ``both``
        gives a row for each.
    length : int
        Hex digits of the pseudonyms (the reports use the default, 8).

    Returns
    -------
    DataFrame
        ``pseudonym, id, role``, sorted by pseudonym.

    Examples
    --------
    >>> t = reveal_table(["EU-A001"], key="0123456789abcdef", role="agent")
    >>> t.columns.tolist(), t["pseudonym"].str[:2].tolist()
    (['pseudonym', 'id', 'role'], ['A-'])
    """
    raw = pd.Series(list(ids), dtype=object).astype(str)
    roles: list[Literal["agent", "rater"]] = ["agent", "rater"] if role == "both" else [role]
    parts = []
    for r in roles:
        col = _ROLE_COLUMN[r]
        hashed = pseudonymise(pd.DataFrame({col: raw}), [col], key=key, length=length)
        parts.append(pd.DataFrame({"pseudonym": hashed[col], "id": raw, "role": r}))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["pseudonym", "role"], kind="stable").reset_index(drop=True)


def key_from_env(name: str = PSEUDONYM_ENV) -> str:
    """The key in environment variable ``name``; a clear error when unset or short."""
    key = os.environ.get(name)
    if not key:
        raise ParamsError(
            f"${name} is not set: export the pseudonymisation key the reports were made with"
        )
    if len(key.encode()) < MIN_KEY_BYTES:
        raise ParamsError(f"${name} is shorter than {MIN_KEY_BYTES} bytes: not a report key")
    return key


def managed_outputs(path: Path) -> Path | None:
    """The outputs folder managed by qa-reports that ``path`` would be inside, if any."""
    p = path.expanduser().resolve()
    for folder in p.parents:
        if (folder / MANIFEST).is_file():
            return folder
    return None


def write_reveal(table: pd.DataFrame, out: str | Path | None) -> str | Path:
    """Write the lookup CSV (mode 0600) to ``out``, or return it as text when ``out`` is None.

    Raises
    ------
    ParamsError
        ``out`` is inside an outputs folder qa-reports manages (the shared
        reports stay pseudonymised) or is a folder.
    """
    safe = neutralise_formulas(table)  # ids from a spreadsheet stay text
    buf = io.StringIO()
    safe.to_csv(buf, index=False)
    text = buf.getvalue()
    if out is None:
        return text
    path = Path(out).expanduser()
    shared = managed_outputs(path)
    if shared is not None:
        raise ParamsError(
            f"{path}: inside the shared outputs folder {shared}; the lookup of real ids "
            "is written only outside it (choose another --out)"
        )
    if path.is_dir():
        raise ParamsError(f"{path}: --out is a folder; give the CSV file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
