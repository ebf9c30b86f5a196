"""The package's errors: one base class, :class:`QAError`, and one subclass per kind of input.

Every error a user can cause (bad data, a bad scorecard, bad batch parameters)
is a :class:`QAError`, so a caller can catch them all at once. Each subclass
is also a :class:`ValueError`, as these errors always were.

Rows are referred to in one format everywhere, ``<where> (<column>=<value>)``,
at most five of them followed by ``... (N more)``; long values are cut:

* ``row L`` for a DataFrame, where L is the index label (``df.loc[L]`` shows
  the row), or ``position P`` (0-based) when the index has duplicate labels;
* ``line N`` for a CSV file, the physical line in the file (the header is
  line 1; a quoted field spanning lines advances the count);
* ``row N`` for a Parquet file (0-based position in the file) and for a
  DuckDB table (its ``rowid``), prefixed with the file name for a glob.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DataError", "ParamsError", "QAError", "ScorecardError"]


class QAError(ValueError):
    """Base class of every error qa-analysis raises for bad input."""


class DataError(QAError):
    """Input data that cannot be used as it is.

    Attributes
    ----------
    source : str
        File, table or ``<DataFrame>`` the data came from.
    problems : list of str
        One line per problem found (the message joins them).
    """

    def __init__(self, source: str, problems: str | Sequence[str]):
        self.source = source
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            msg = f"{source}: {self.problems[0]}"
        else:
            msg = f"{source}: {len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(msg)


class ScorecardError(QAError):
    """A scorecard definition that cannot be used; the message names the file and key."""


class ParamsError(QAError):
    """Bad batch parameters or usage (the ``run`` command exits with code 2)."""
