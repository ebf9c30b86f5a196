"""Inter-rater reliability (being split into modules; see ``_engine``)."""

from qa_analysis.reliability._engine import *  # noqa: F403
from qa_analysis.reliability._engine import __all__  # noqa: F401
