"""A report project: the folder holding ``params/``, ``notebooks/`` and the data.

:func:`project_dirs` finds a project's params and notebooks (falling back to
the copies packaged with qa_analysis); :func:`init_project` writes a starter
project (``qa-reports init DIR``) in which ``qa-reports run`` works.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from qa_analysis import settings
from qa_analysis.errors import ParamsError
from qa_analysis.io import GLOBAL_NOTEBOOK, REGIONAL_NOTEBOOKS, write_text_atomic

__all__ = ["ProjectDirs", "init_project", "project_dirs"]

PROJECT_README = """# QA reports

A qa-analysis report project, written by `qa-reports init`.

- `params/defaults.yaml`: every shared setting (period, thresholds, targets, sampling).
  Point `data:` at your exports: a DuckDB file, or a folder holding
  evaluations/calibration/tickets Parquet files (relative paths are relative to this folder).
- `params/<region>.yaml`: one file per region; it sets `region:` and any value that differs.
- `params/scorecard.yaml`: your scorecard (criteria, scales, weights, pass mark).
- `notebooks/`: the report notebooks the batch runs (edit them to change the reports).

Try it on the demo data first:

    qa-reports demo --small --out data/demo
    qa-reports run

Real data needs a pseudonymisation key: `export QA_PSEUDONYM_KEY=<a long random secret>`.
The reports land in `outputs/<period>/index.html`.
"""


@dataclass(frozen=True)
class ProjectDirs:
    """Where a batch reads its inputs.

    Attributes
    ----------
    root : Path
        The project folder (relative paths in the params, the kernels' cwd).
    params_dir : Path
        ``<root>/params``, or the packaged params when the project has none.
    notebooks_dir : Path
        ``<root>/notebooks``, or the packaged notebooks when the project has none.
    """

    root: Path
    params_dir: Path
    notebooks_dir: Path


def project_dirs(
    project: str | Path | None = None,
    *,
    params_dir: str | Path | None = None,
    notebooks_dir: str | Path | None = None,
) -> ProjectDirs:
    """Resolve a project's folders.

    Parameters
    ----------
    project : str or Path, optional
        The project folder. Default: the parent of ``params_dir`` when that is
        given, else the current folder.
    params_dir, notebooks_dir : str or Path, optional
        Explicit folders; default ``<project>/params`` and ``<project>/notebooks``
        when they exist, else the copies packaged with qa_analysis.

    Raises
    ------
    ParamsError
        When an explicit folder does not exist.
    """
    if params_dir is not None:
        pdir = Path(params_dir).resolve()
        if not pdir.is_dir():
            raise ParamsError(f"{pdir}: params folder not found")
        root = Path(project).resolve() if project is not None else pdir.parent
    else:
        root = Path(project if project is not None else ".").resolve()
        if not root.is_dir():
            raise ParamsError(f"{root}: project folder not found")
        pdir = root / "params"
        if not pdir.is_dir():
            pdir = settings.resource_path("params")
    if notebooks_dir is not None:
        nb_dir = Path(notebooks_dir).resolve()
        if not nb_dir.is_dir():
            raise ParamsError(f"{nb_dir}: notebooks folder not found")
    else:
        nb_dir = root / "notebooks"
        if not nb_dir.is_dir():
            nb_dir = settings.resource_path("notebooks")
    return ProjectDirs(root=root, params_dir=pdir, notebooks_dir=nb_dir)


def init_project(path: str | Path) -> list[Path]:
    """Write a starter report project into ``path`` (``qa-reports init DIR``).

    Writes ``params/`` (``defaults.yaml``, one file per region,
    ``scorecard.yaml``), ``notebooks/`` (the report notebooks) and a short
    ``README.md``, all copied from the files packaged with qa_analysis.
    ``qa-reports run`` then works in ``path`` once ``data:`` points at data
    (``qa-reports demo --small --out <path>/data/demo`` writes the demo data
    where the starter ``defaults.yaml`` looks).

    Parameters
    ----------
    path : str or Path
        The project folder; created if needed.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ParamsError
        When ``path`` is a file, or any file to write already exists (nothing
        is written then: an existing project is never overwritten).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp()) / "qa"
    >>> sorted(p.relative_to(root).as_posix() for p in init_project(root))[:3]
    ['README.md', 'notebooks/calibration_report.ipynb', 'notebooks/global_overview.ipynb']
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise ParamsError(f"{root}: exists and is not a folder")
    src_params = settings.resource_path("params")
    src_notebooks = settings.resource_path("notebooks")
    plan: dict[Path, Path | str] = {}
    for f in sorted(src_params.glob("*.yaml")):
        plan[root / "params" / f.name] = f
    for name in (*REGIONAL_NOTEBOOKS, GLOBAL_NOTEBOOK):
        plan[root / "notebooks" / f"{name}.ipynb"] = src_notebooks / f"{name}.ipynb"
    plan[root / "README.md"] = PROJECT_README
    existing = [p for p in plan if p.exists()]
    if existing:
        raise ParamsError(
            f"{existing[0]}: already exists; qa-reports init writes only into a new or empty "
            f"project folder ({len(existing)} file(s) would be overwritten)"
        )
    written = []
    for dest, src in plan.items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, str):
            write_text_atomic(src, dest)
        else:
            shutil.copyfile(src, dest)
        written.append(dest)
    return written
