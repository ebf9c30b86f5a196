"""PDF of every report and of the leadership summary, printed by headless Chromium.

Why Chromium and not WeasyPrint: the reports are nbconvert HTML (JupyterLab
CSS, flexbox/grid layout, embedded PNG figures, inline SVG). Chromium prints
exactly what a reader sees in the browser, from the same file; WeasyPrint has
its own CSS engine (no flexbox/grid-complete layout, no script) and would add a
Python dependency with native libraries (Pango, cairo) to the package.
Chromium is a system program the browser tests already need (Debian's
``chromium`` package, installed by ``.ci/run``), driven from the command line,
so PDFs add no Python dependency at all (Playwright is only a test dependency).

One Chromium process prints one file (``--print-to-pdf`` takes one URL); up to
``workers`` run at once. Each uses a fresh temporary profile and no network;
the PDF is written to a temporary name and renamed into place, so a reader
never sees half a PDF. Without Chromium, :func:`html_to_pdf` raises
:class:`PdfError` with a message saying what to install and :func:`pdf_all`
returns that error for every file (the batch goes on: PDFs are an extra).

Page breaks: the summary page (:mod:`qa_analysis.batch.summary`) starts each
section on a new page. For the reports, add :data:`PRINT_CSS` to the HTML
template (it starts each ``h2`` section on a new page and keeps figures and
table rows whole).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from qa_analysis.errors import QAError
from qa_analysis.io import GLOBAL_NOTEBOOK, REGIONAL_NOTEBOOKS

__all__ = [
    "CHROMIUM_ENV",
    "CHROMIUM_FLAGS",
    "PRINT_CSS",
    "PdfError",
    "PdfResult",
    "chromium_path",
    "html_to_pdf",
    "pdf_all",
    "pdf_name",
    "print_pdf",
    "require_chromium",
]

#: Environment variable naming the Chromium binary (wins over ``PATH``).
CHROMIUM_ENV = "QA_CHROMIUM"
#: Binaries looked for on ``PATH``, in order.
CHROMIUM_NAMES: tuple[str, ...] = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
#: Flags for printing offline, without a sandbox (containers/CI), with no profile state.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--hide-scrollbars",
    "--no-pdf-header-footer",
)
#: Print CSS for the report HTML template: each section (``h2``) on a new page
#: (the first one stays under the title, in its cell or the next), figures and
#: table rows kept whole, prompts hidden.
PRINT_CSS = """
@media print {
  h2 { break-before: page; }
  h1 ~ h2:first-of-type, .jp-Cell:has(h1) + .jp-Cell h2:first-of-type { break-before: auto; }
  img, svg, figure, .jp-OutputArea-output, tr { break-inside: avoid; }
  .jp-InputPrompt, .jp-OutputPrompt { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""
#: Seconds one file may take to print.
DEFAULT_TIMEOUT = 120.0
#: Summary page and its PDF name.
_RENAMES = {"index.html": "summary.pdf"}


class PdfError(QAError):
    """A PDF could not be printed (no Chromium, Chromium failed or timed out)."""


@dataclass(frozen=True)
class PdfResult:
    """One file's outcome in :func:`pdf_all`: ``pdf`` is None when ``error`` is set."""

    html: Path
    pdf: Path | None
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the PDF was written."""
        return self.error is None


def chromium_path() -> Path | None:
    """The Chromium binary: ``$QA_CHROMIUM`` when set (and a file), else the first on ``PATH``."""
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        p = Path(override)
        return p if p.is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def require_chromium() -> Path:
    """The Chromium binary, or :class:`PdfError` saying what to install."""
    exe = chromium_path()
    if exe is None:
        where = os.environ.get(CHROMIUM_ENV)
        hint = f"${CHROMIUM_ENV}={where} is not a file" if where else "no chromium on PATH"
        raise PdfError(
            f"cannot print PDFs: Chromium not found ({hint}); install Debian's chromium "
            f"package or set {CHROMIUM_ENV} to the browser binary (or run without PDFs)"
        )
    return exe


def html_to_pdf(
    html: str | os.PathLike[str],
    pdf: str | os.PathLike[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    chromium: str | os.PathLike[str] | None = None,
) -> Path:
    """Print an HTML file to PDF with headless Chromium, atomically.

    Parameters
    ----------
    html : path-like
        The page (opened as ``file://``; relative images and links resolve
        against its folder).
    pdf : path-like
        Output file; written to a temporary name in the same folder, then renamed.
    timeout : float
        Seconds before Chromium is killed and :class:`PdfError` raised.
    chromium : path-like, optional
        The browser binary; default :func:`chromium_path`.

    Returns
    -------
    Path
        ``pdf``.

    Raises
    ------
    PdfError
        No Chromium, the HTML file is missing, Chromium failed, timed out or
        wrote no PDF. The message names the file and Chromium's last error line.
    """
    src = Path(html).resolve()
    if not src.is_file():
        raise PdfError(f"cannot print {src}: no such file")
    exe = Path(chromium) if chromium is not None else require_chromium()
    out = Path(pdf).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    with tempfile.TemporaryDirectory(prefix="qa-pdf-profile-") as profile:
        cmd = [
            str(exe),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={tmp}",
            src.as_uri(),
        ]
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: killed whole on timeout
            )
        except OSError as exc:
            raise PdfError(f"cannot print {src.name}: cannot start {exe} ({exc})") from exc
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            tmp.unlink(missing_ok=True)
            raise PdfError(f"printing {src.name} timed out after {timeout:g} s") from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
    try:
        if proc.returncode != 0 or not tmp.is_file() or _head(tmp) != b"%PDF":
            raise PdfError(
                f"printing {src.name} failed (Chromium exit code {proc.returncode}): "
                f"{_last_error(err)}"
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(4)


def _last_error(err: bytes | None) -> str:
    """Chromium's last meaningful stderr line (dbus/GPU chatter is harmless and skipped)."""
    harmless = ("dbus", "gpu", "fontconfig", "sandbox", "crashpad", "viz_main")
    lines = [
        ln.strip()
        for ln in (err or b"").decode("utf-8", "replace").splitlines()
        if ln.strip() and not any(h in ln.lower() for h in harmless)
    ]
    return lines[-1][:300] if lines else "no error message"


def pdf_name(html: Path) -> Path:
    """The PDF beside an HTML file (``index.html`` -> ``summary.pdf``, else same stem).

    Examples
    --------
    >>> pdf_name(Path("out/2026-10/eu/performance_report.html")).as_posix()
    'out/2026-10/eu/performance_report.pdf'
    >>> pdf_name(Path("out/2026-10/index.html")).name
    'summary.pdf'
    """
    return html.with_name(_RENAMES.get(html.name, html.stem + ".pdf"))


def _report_files(period_dir: Path) -> list[Path]:
    """The summary page and every report HTML of a period folder, in a stable order."""
    reports = {f"{nb}.html" for nb in (*REGIONAL_NOTEBOOKS, GLOBAL_NOTEBOOK)}
    found = [p for p in sorted(period_dir.rglob("*.html")) if p.name in reports]
    first = [period_dir / n for n in _RENAMES if (period_dir / n).is_file()]
    return first + found


def pdf_all(
    period_dir: str | os.PathLike[str],
    *,
    files: Sequence[str | os.PathLike[str]] | None = None,
    workers: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[PdfResult]:
    """Print the summary and every report of a period folder to PDF, beside each HTML.

    Parameters
    ----------
    period_dir : path-like
        ``<out>/<period>``: ``index.html`` (the summary, as ``summary.pdf``)
        and every ``<notebook>.html`` of :data:`qa_analysis.io.REGIONAL_NOTEBOOKS`
        and the global overview, in any sub-folder.
    files : sequence of path-like, optional
        Print these HTML files instead.
    workers : int
        Chromium processes at once.
    timeout : float
        Seconds per file.

    Returns
    -------
    list of PdfResult
        One per file, in order. Failures do not raise: each carries its
        error, and without Chromium every result says so.
    """
    folder = Path(period_dir)
    todo = [Path(f) for f in files] if files is not None else _report_files(folder)
    if not todo:
        return []
    try:
        exe = require_chromium()
    except PdfError as exc:
        return [PdfResult(html=h, pdf=None, seconds=0.0, error=str(exc)) for h in todo]

    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        return list(pool.map(lambda h: print_pdf(h, chromium=exe, timeout=timeout), todo))


def print_pdf(
    html: Path, *, chromium: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT
) -> PdfResult:
    """Print one HTML file to its :func:`pdf_name`; a failure is returned, not raised."""
    t0 = time.perf_counter()
    try:
        out = html_to_pdf(html, pdf_name(html), timeout=timeout, chromium=chromium)
    except PdfError as exc:
        return PdfResult(html, None, time.perf_counter() - t0, str(exc))
    return PdfResult(html, out, time.perf_counter() - t0)
