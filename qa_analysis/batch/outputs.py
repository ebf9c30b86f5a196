"""The outputs folder: what the batch owns, and replacing it without losing anything.

The batch only ever touches files it wrote. It records them in a hidden
manifest, :data:`MANIFEST` (``.qa-reports.json``), in the outputs folder (the
periods index and the period folders) and in each period folder (the
period-level files and the region folders); a file or folder in the way that
is not recorded there is refused with a :class:`~qa_analysis.errors.ParamsError`
naming it, before any notebook runs. Outputs written before manifests existed
are recognised by their ``run.json`` / page title and adopted.

Inside a period, each region folder is replaced on its own, atomically (an
exchange of the two folders where the system offers it, else two renames), so
re-running some regions leaves every other region's files as they are. A
region whose re-run fails keeps its last good report and gains
:data:`STALE_FILE` (``stale.json``: when, and the new errors); the failed
attempt is kept beside it in :data:`FAILED_RUN_DIR`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qa_analysis.errors import ParamsError
from qa_analysis.io import REGION_KPI_FILE, read_kpis, write_kpis

__all__ = [
    "FAILED_RUN_DIR",
    "GLOBAL_STALE_FILE",
    "MANIFEST",
    "STALE_FILE",
    "Manifest",
    "exchange_dirs",
    "prepare_out",
    "region_folders",
]

#: The hidden file listing what the batch wrote in a folder.
MANIFEST = ".qa-reports.json"
#: Marker in a region folder whose last run failed while its last good report is kept.
STALE_FILE = "stale.json"
#: The same for the global overview, in the period folder.
GLOBAL_STALE_FILE = "global_stale.json"
#: Inside a stale region folder: the outputs of the run that failed (with tracebacks).
FAILED_RUN_DIR = "failed_run"


class Manifest:
    """The files and folders the batch wrote in one folder (``.qa-reports.json``)."""

    def __init__(self, folder: Path, files: Iterable[str] = (), folders: Iterable[str] = ()):
        self.folder = folder
        self.files = set(files)
        self.folders = set(folders)

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """The folder's manifest (empty when it has none)."""
        path = folder / MANIFEST
        if not path.is_file():
            return cls(folder)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(folder)
        return cls(folder, data.get("files", ()), data.get("folders", ()))

    @property
    def exists(self) -> bool:
        """True when the folder has a manifest."""
        return (self.folder / MANIFEST).is_file()

    def save(self) -> None:
        """Write the manifest atomically (only entries that still exist)."""
        files = sorted(f for f in self.files if (self.folder / f).is_file())
        folders = sorted(f for f in self.folders if (self.folder / f).is_dir())
        write_kpis(
            {"written_by": "qa-analysis qa-reports", "files": files, "folders": folders},
            self.folder / MANIFEST,
        )

    def check_file(self, name: str) -> None:
        """Refuse to overwrite ``name`` when it exists and the batch did not write it."""
        path = self.folder / name
        if path.exists() and (name not in self.files or not path.is_file()):
            raise ParamsError(
                f"{path}: exists and was not written by qa-reports; it is not overwritten "
                "(move it away or choose another --out)"
            )

    def check_folder(self, name: str) -> None:
        """Refuse to replace folder ``name`` when it exists and the batch did not write it."""
        path = self.folder / name
        if path.exists() and (name not in self.folders or not path.is_dir()):
            raise ParamsError(
                f"{path}: exists and was not written by qa-reports; it is not replaced "
                "(move it away or choose another --out)"
            )


def prepare_out(out: str | Path) -> Path:
    """The outputs folder, created if needed; a clear error when it cannot be used.

    Raises
    ------
    ParamsError
        When ``out`` (or a parent) is a file, or the folder cannot be created or
        written to.
    """
    path = Path(out).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ParamsError(f"{path}: --out is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise ParamsError(f"{exc.filename or path}: a file is in the way of --out {path}") from exc
    except OSError as exc:
        raise ParamsError(
            f"{exc.filename or path}: cannot create the outputs folder ({exc.strerror})"
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ParamsError(f"{path}: the outputs folder is not writable (permission denied)")
    return path


def adopt_legacy(out_manifest: Manifest, period_manifest: Manifest, period: str) -> None:
    """Adopt outputs written before manifests existed (recognised by their content)."""
    out = out_manifest.folder
    if not out_manifest.exists:
        index = out / "index.html"
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if index.is_file() and "<title>QA reports</title>" in index.read_text("utf-8"):
                out_manifest.files.add("index.html")
    final = period_manifest.folder
    if period_manifest.exists or not final.is_dir():
        return
    try:
        run = json.loads((final / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(run, dict) or run.get("period") != period:
        return
    out_manifest.folders.add(period)
    period_manifest.files.update(
        p.name for p in final.iterdir() if p.is_file() and p.name.startswith(("global_", "run."))
    )
    period_manifest.files.add("index.html")
    period_manifest.folders.update(name for name, _ in region_folders(final))


def region_folders(period_dir: Path) -> list[tuple[str, str]]:
    """``(folder name, region code)`` of every region folder in a period folder.

    A region folder holds a merged KPI file (``kpis.json``) naming its region.
    """
    found: list[tuple[str, str]] = []
    if not period_dir.is_dir():
        return found
    for p in sorted(period_dir.iterdir()):
        if p.name.startswith(".") or not p.is_dir() or not (p / REGION_KPI_FILE).is_file():
            continue
        try:
            region = read_kpis(p / REGION_KPI_FILE).get("region")
        except (OSError, ValueError):
            continue
        if isinstance(region, str) and region:
            found.append((p.name, region))
    return found


def region_is_good(folder: Path) -> bool:
    """True when the region folder holds a report whose notebooks all succeeded."""
    try:
        status = read_kpis(folder / REGION_KPI_FILE).get("status")
    except (OSError, ValueError):
        return False
    return isinstance(status, dict) and bool(status) and all(v == "ok" for v in status.values())


def read_marker(path: Path) -> dict[str, Any] | None:
    """A stale marker's content, or None."""
    try:
        data = read_kpis(path)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def exchange_dirs(new: Path, final: Path, trash: Path) -> None:
    """Put folder ``new`` at ``final``; the old ``final`` (if any) goes to ``trash``.

    On Linux the two folders are exchanged in one atomic step
    (``renameat2(RENAME_EXCHANGE)``), so ``final`` is never missing; elsewhere
    the old folder is renamed away first.
    """
    if final.exists():
        if _rename_exchange(new, final):
            os.replace(new, trash)
            return
        os.replace(final, trash)
    os.replace(new, final)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _rename_exchange(a: Path, b: Path) -> bool:
    if not hasattr(os, "sched_getaffinity"):  # not Linux
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # old kernel or file system
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def move_into(src: Path, dest_dir: Path, names: Iterable[str]) -> None:
    """Move files ``names`` from ``src`` into ``dest_dir`` (each replaced atomically)."""
    for name in names:
        if (src / name).is_file():
            os.replace(src / name, dest_dir / name)


def remove_tree(path: Path) -> None:
    """Remove a folder the batch owns (no error when it is gone)."""
    shutil.rmtree(path, ignore_errors=True)
