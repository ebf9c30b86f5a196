"""One source for every setting: the project's ``params/defaults.yaml``.

Every threshold, target and default of the reports is defined once, in
``params/defaults.yaml`` (shipped inside the package as
``qa_analysis/resources/params/defaults.yaml``). The library's defaults, the
notebooks and the batch all read it through this module, so no value has a
second copy anywhere.

Examples
--------
>>> from qa_analysis import settings
>>> settings.thresholds()["alpha_reliable"], settings.targets()["pass_rate"]
(0.8, 0.85)
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["defaults", "defaults_path", "resource_path", "targets", "thresholds"]


def resource_path(*parts: str) -> Path:
    """Path of a file shipped with the package (``resources/params/...``, ``resources/notebooks/...``).

    In a source checkout these are the repository's own ``params/`` and
    ``notebooks/`` folders; in an installed wheel, the copies the build packed.
    """
    return Path(str(resources.files("qa_analysis").joinpath("resources", *parts)))


def defaults_path() -> Path:
    """The shared defaults file, ``params/defaults.yaml``."""
    return resource_path("params", "defaults.yaml")


@functools.cache
def _defaults() -> dict[str, Any]:
    with open(defaults_path(), encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{defaults_path()}: must be a mapping of parameter names to values")
    return data


def defaults() -> dict[str, Any]:
    """Every parameter of ``params/defaults.yaml`` (a fresh copy; change it freely)."""
    return copy.deepcopy(_defaults())


def thresholds() -> dict[str, Any]:
    """The ``thresholds`` mapping of the defaults (alpha bands, bias flag, resamples)."""
    return dict(_defaults().get("thresholds", {}))


def targets() -> dict[str, Any]:
    """The ``targets`` mapping of the defaults (pass rate, mean score, ...)."""
    return dict(_defaults().get("targets", {}))
