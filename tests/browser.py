"""Check rendered pages as people see them: in a real headless Chromium, offline.

A helper module for tests (issue 11: no script from data; issue 12: pages tested in a
real browser, PDFs checked page by page). It drives Debian's system Chromium through
Python Playwright and never downloads a browser: ``executable_path`` is always the
system binary, and every request to a non-``file:`` URL is blocked and recorded.

Use it from a test module::

    from browser import browser_fixture  # noqa: F401  (makes the fixture `browser` available)

    @pytest.mark.browser
    def test_index_is_clean(browser, tmp_path):
        report = browser.check_page(tmp_path / "index.html")
        assert report.clean, report.summary()

``browser`` is a session-scoped fixture yielding a :class:`BrowserSession`; it skips the
test with a clear message when Chromium (or Playwright) is missing, so ``make test``
runs everywhere and CI, which installs Chromium, always runs these tests.

What :meth:`BrowserSession.check_page` reports (:class:`PageReport`):

- executed payloads: a dialog (``alert``/``confirm``/``prompt``), or a marker global
  (``window.__pwned`` by default, see :data:`DEFAULT_MARKERS`) set in any frame;
- live injected elements after load, in every frame (see :func:`classify_element`):
  any ``on*`` attribute; ``javascript:``/``vbscript:``/``data:text/html`` URLs;
  ``iframe``/``frame``/``object``/``embed``/``base``/``meta refresh``; a ``<script>``
  the page did not vouch for (``data-qa-allowed``, or a nonce/hash its CSP allows);
  any element carrying ``data-qa-payload`` (a tag hostile data can use to detect
  plain markup injection such as ``<b data-qa-payload>``);
- the Content-Security-Policy the page declares (``<meta http-equiv>``) and every
  ``securitypolicyviolation`` event;
- console errors, uncaught page errors, blocked (non-``file:``) requests and
  navigations away from the page.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import pytest

if TYPE_CHECKING:  # pragma: no cover - typing only
    from playwright.sync_api import Browser, Dialog, Page, Playwright, Route

#: Skip message when no Chromium is installed.
SKIP_MESSAGE = "Chromium not found: install Debian's chromium package; .ci/run does"
#: Skip message when the Python driver is missing.
SKIP_PLAYWRIGHT = "Python package playwright not installed: pip install -e '.[test]'"
#: Skip message when poppler-utils is missing (PDF checks).
SKIP_POPPLER = "pdfinfo/pdftoppm not found: install Debian's poppler-utils package; .ci/run does"

#: Environment variable naming a Chromium binary to use instead of the search below.
CHROMIUM_ENV = "QA_CHROMIUM"
#: Binaries tried in order when ``QA_CHROMIUM`` is unset.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a quiet, offline, root-safe headless Chromium (Playwright adds --headless
#: and a fresh temporary profile directory itself).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
)
#: Global names hostile payloads set when they run (``window.__pwned=1``).
DEFAULT_MARKERS = ("__pwned",)
#: Generous timeout for every browser step: the test machine is busy.
TIMEOUT_MS = 120_000
#: Pause after the load event so that late handlers (``onerror``, ``onload``) have run.
SETTLE_MS = 300

#: Resolves after two animation frames: pending layout, handlers and paints are done.
_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
#: Schemes a local page may load without a network.
_LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
#: Elements that are never legitimate in a report page.
_FORBIDDEN_TAGS = frozenset({"iframe", "frame", "frameset", "object", "embed", "base", "applet"})
#: Attributes whose value is a URL that could run script.
_URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
)
_SCRIPT_URL = re.compile(r"^(javascript|vbscript|data:\s*text/html)", re.IGNORECASE)
_JS_TYPES = frozenset(
    {
        "",
        "module",
        "text/javascript",
        "application/javascript",
        "text/ecmascript",
        "application/ecmascript",
        "text/jscript",
    }
)


# --------------------------------------------------------------------------- locating


def chromium_path() -> Path | None:
    """The Chromium binary to drive, or None when none is installed.

    ``$QA_CHROMIUM`` wins when set (and must exist); otherwise the first of
    :data:`CHROMIUM_NAMES` on ``PATH``.
    """
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        path = Path(override)
        return path if path.is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def require_chromium() -> Path:
    """The Chromium binary; skips the calling test when there is none or no Playwright."""
    path = chromium_path()
    if path is None:
        pytest.skip(SKIP_MESSAGE)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(SKIP_PLAYWRIGHT)
    return path


def require_poppler() -> None:
    """Skip the calling test when ``pdfinfo``/``pdftoppm`` are missing."""
    if shutil.which("pdfinfo") is None or shutil.which("pdftoppm") is None:
        pytest.skip(SKIP_POPPLER)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LiveElement:
    """An element in the rendered DOM that should not be there.

    Attributes
    ----------
    frame : str
        URL of the frame holding it (``about:srcdoc`` for an ``iframe srcdoc``).
    tag : str
        Lower-case tag name.
    reason : str
        Why it is flagged (``"event handler attribute onerror"``, ...).
    html : str
        Start of its ``outerHTML`` (at most 200 characters).
    """

    frame: str
    tag: str
    reason: str
    html: str

    def __str__(self) -> str:
        return f"<{self.tag}> {self.reason}: {self.html}"


@dataclass(frozen=True)
class CspViolation:
    """One ``securitypolicyviolation`` event seen in a frame."""

    frame: str
    directive: str
    blocked: str
    sample: str

    def __str__(self) -> str:
        return f"{self.directive} blocked {self.blocked or '(inline)'} {self.sample!r}".strip()


@dataclass(frozen=True)
class PageReport:
    """What a page did when opened in Chromium (see the module docstring).

    ``clean`` is the verdict for a page built from hostile data: no script ran, no
    live injected element, no page error, no request left the machine, no navigation,
    no console error. ``summary()`` lists every problem, one per line, for an assertion
    message.
    """

    path: Path
    url: str
    title: str
    dialogs: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    live_elements: tuple[LiveElement, ...] = ()
    csp: tuple[str, ...] = ()
    csp_violations: tuple[CspViolation, ...] = ()
    console_errors: tuple[str, ...] = ()
    page_errors: tuple[str, ...] = ()
    blocked_requests: tuple[str, ...] = ()
    navigations: tuple[str, ...] = ()
    scripts: int = 0

    @property
    def executed(self) -> tuple[str, ...]:
        """Evidence that script from the page's data ran (dialogs, marker globals)."""
        return tuple(f"dialog {d}" for d in self.dialogs) + tuple(
            f"marker {m}" for m in self.markers
        )

    @property
    def clean(self) -> bool:
        """True when nothing in :meth:`problems` was found."""
        return not self.problems()

    def problems(self) -> list[str]:
        """Every finding, one readable line each (empty for a clean page)."""
        lines = [f"executed: {e}" for e in self.executed]
        lines += [f"live element: {e}" for e in self.live_elements]
        lines += [f"page error: {e}" for e in self.page_errors]
        lines += [f"console error: {e}" for e in self.console_errors]
        lines += [f"blocked request: {u}" for u in self.blocked_requests]
        lines += [f"navigation: {u}" for u in self.navigations]
        lines += [f"CSP violation: {v}" for v in self.csp_violations]
        return lines

    def summary(self) -> str:
        """A multi-line report naming the page and each problem."""
        found = self.problems()
        head = f"{self.path}: {len(found)} problem(s)"
        return "\n".join([head, *(f"  - {line}" for line in found)])

    def csp_directives(self) -> dict[str, tuple[str, ...]]:
        """The declared CSP parsed into directive -> source tokens (first policy wins)."""
        return parse_csp(self.csp)

    def csp_allows_inline_script(self) -> bool:
        """Whether the declared CSP (if any) lets an injected inline script run."""
        return csp_allows_inline_script(self.csp)


@dataclass(frozen=True)
class Link:
    """One ``<a href>`` of a page, resolved against the page's location."""

    href: str
    kind: Literal["file", "fragment", "external", "script", "other"]
    target: Path | None
    ok: bool

    def __str__(self) -> str:
        where = f" -> {self.target}" if self.target is not None else ""
        return f"{self.href!r} ({self.kind}){where}"


@dataclass(frozen=True)
class LinkReport:
    """All links of a page; ``broken`` are file or fragment links that resolve to nothing."""

    path: Path
    links: tuple[Link, ...] = ()

    @property
    def broken(self) -> tuple[Link, ...]:
        return tuple(x for x in self.links if x.kind in ("file", "fragment") and not x.ok)

    @property
    def external(self) -> tuple[Link, ...]:
        return tuple(x for x in self.links if x.kind == "external")

    @property
    def unsafe(self) -> tuple[Link, ...]:
        return tuple(x for x in self.links if x.kind == "script")

    def summary(self) -> str:
        bad = [*self.broken, *self.unsafe]
        lines = [f"{self.path}: {len(self.links)} links, {len(bad)} broken or unsafe"]
        lines += [f"  - {x}" for x in bad]
        return "\n".join(lines)


@dataclass(frozen=True)
class SortResult:
    """A table column read before and after each click on its header."""

    header: str
    before: tuple[str, ...]
    after: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- CSP


def parse_csp(policies: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Parse CSP strings into directive -> tokens; a repeated directive keeps its first value."""
    directives: dict[str, tuple[str, ...]] = {}
    for policy in policies:
        for part in policy.split(";"):
            tokens = part.split()
            if tokens:
                directives.setdefault(tokens[0].lower(), tuple(tokens[1:]))
    return directives


def _script_sources(policies: Iterable[str]) -> tuple[str, ...] | None:
    directives = parse_csp(policies)
    for name in ("script-src-elem", "script-src", "default-src"):
        if name in directives:
            return directives[name]
    return None


def csp_allows_inline_script(policies: Iterable[str]) -> bool:
    """Whether an injected inline ``<script>`` would run under these policies.

    True without a policy, or when the script sources carry ``'unsafe-inline'``
    without any nonce or hash (which make browsers ignore ``'unsafe-inline'``).
    """
    sources = _script_sources(policies)
    if sources is None:
        return True
    lowered = [s.lower() for s in sources]
    vouched = any(s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for s in lowered)
    return "'unsafe-inline'" in lowered and not vouched


def _csp_vouches(policies: Sequence[str], text: str, nonce: str) -> bool:
    """Whether the page's CSP allows this inline script by nonce or sha256 hash."""
    sources = _script_sources(policies) or ()
    if nonce and f"'nonce-{nonce}'" in sources:
        return True
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'" in sources


# --------------------------------------------------------------------------- DOM probes

# Runs before any page script in every frame: records CSP violations and marker writes.
_INIT_SCRIPT = """
(markers) => {
  if (window.__qaProbe) return;
  const probe = {csp: [], hits: []};
  Object.defineProperty(window, '__qaProbe', {value: probe, enumerable: false});
  document.addEventListener('securitypolicyviolation', (e) => {
    probe.csp.push({directive: e.effectiveDirective || e.violatedDirective,
                    blocked: e.blockedURI || '', sample: e.sample || ''});
  }, true);
  for (const name of markers) {
    let value;
    try {
      Object.defineProperty(window, name, {configurable: true,
        get() { return value; },
        set(v) { value = v; probe.hits.push(name); }});
    } catch (err) { /* already defined */ }
  }
}
"""

# Collects what the Python side classifies: every element with a suspicious feature.
_COLLECT_SCRIPT = """
(markers) => {
  const probe = window.__qaProbe || {csp: [], hits: []};
  const metas = [...document.querySelectorAll('meta[http-equiv]')];
  const csp = metas.filter(m => m.httpEquiv.toLowerCase() === 'content-security-policy')
                   .map(m => m.content);
  const refresh = metas.some(m => m.httpEquiv.toLowerCase() === 'refresh');
  const set = markers.filter(n => probe.hits.includes(n) ||
      (Object.prototype.hasOwnProperty.call(window, n) && window[n] !== undefined));
  const elements = [];
  for (const el of document.querySelectorAll('*')) {
    const attrs = [...el.attributes].map(a => [a.name, a.value]);
    const tag = el.localName;
    const interesting = tag === 'script' || tag === 'meta' || attrs.length > 0;
    if (!interesting) continue;
    elements.push({
      tag,
      attrs,
      text: tag === 'script' ? el.textContent : '',
      nonce: el.nonce || '',
      html: el.outerHTML.slice(0, 200),
    });
  }
  return {url: location.href, title: document.title, csp, refresh, markers: set,
          violations: probe.csp, elements};
}
"""


def classify_element(
    element: dict[str, Any], csp: Sequence[str], allowed_tags: frozenset[str] = frozenset()
) -> list[str]:
    """Reasons an element (as collected from the DOM) is a live injection; [] when fine.

    Parameters
    ----------
    element : dict
        ``tag``, ``attrs`` (list of [name, value]), ``text`` and ``nonce`` of the element.
    csp : sequence of str
        The page's declared policies, used to accept scripts it vouches for.
    allowed_tags : frozenset of str
        Tags the caller exempts wholesale (for example ``{"script"}`` for a page whose
        own scripts are not marked; executed payloads are still caught by markers).
    """
    tag = element["tag"]
    if tag in allowed_tags:
        return []
    attrs = {name.lower(): value for name, value in element["attrs"]}
    reasons = [f"event handler attribute {name}" for name in attrs if name.startswith("on")]
    for name in sorted(_URL_ATTRIBUTES & attrs.keys()):
        value = re.sub(r"[\x00-\x20]", "", attrs[name])
        if _SCRIPT_URL.match(value):
            reasons.append(f"script URL in {name}")
    if "srcdoc" in attrs:
        reasons.append("srcdoc attribute")
    if tag in _FORBIDDEN_TAGS:
        reasons.append(f"forbidden element {tag}")
    if tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
        reasons.append("meta refresh")
    if "data-qa-payload" in attrs:
        reasons.append("element from payload markup (data-qa-payload)")
    if tag == "script":
        script_type = attrs.get("type", "").strip().lower()
        javascript = script_type in _JS_TYPES
        vouched = "data-qa-allowed" in attrs or (
            "src" not in attrs and _csp_vouches(csp, element["text"], element["nonce"])
        )
        if javascript and not vouched:
            reasons.append("script not marked data-qa-allowed nor allowed by the page's CSP")
    return reasons


# --------------------------------------------------------------------------- session


def _file_url(path: Path) -> str:
    return Path(path).resolve().as_uri()


class _PlaywrightSession:
    """The Playwright work of :class:`BrowserSession`, run in one thread of its own."""

    def __init__(self, executable: Path | None = None) -> None:
        self.executable = executable or chromium_path()
        if self.executable is None:
            raise FileNotFoundError(SKIP_MESSAGE)
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def __enter__(self) -> _PlaywrightSession:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=str(self.executable),
            args=list(CHROMIUM_ARGS),
            headless=True,
            timeout=TIMEOUT_MS,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = None
        self._playwright = None

    @property
    def version(self) -> str:
        """Chromium's version string."""
        return self._require().version

    def _require(self) -> Browser:
        if self._browser is None:
            raise RuntimeError("BrowserSession is not open: use it as a context manager")
        return self._browser

    def _open(
        self,
        path: Path,
        *,
        markers: Sequence[str] = DEFAULT_MARKERS,
        width: int = 1400,
        height: int = 900,
        record: _Recorder | None = None,
    ) -> Page:
        """Open ``path`` offline in a fresh context and wait until it has settled."""
        context = self._require().new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        rec = record or _Recorder()
        context.route("**/*", rec.route)
        context.add_init_script(script=f"({_INIT_SCRIPT})({json.dumps(list(markers))})")
        page = context.new_page()
        page.on("console", rec.console)
        page.on("pageerror", rec.page_error)
        page.on("dialog", rec.dialog)
        page.on("framenavigated", lambda frame: rec.navigated(page, frame))
        url = _file_url(path)
        rec.start_url = url
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        _settle(page)
        return page

    def check_page(
        self,
        path: str | os.PathLike[str],
        *,
        markers: Sequence[str] = DEFAULT_MARKERS,
        allowed_tags: Iterable[str] = (),
    ) -> PageReport:
        """Open a local HTML file and report executed payloads and live injected elements.

        Parameters
        ----------
        path : path-like
            The HTML file (opened as a ``file:`` URL).
        markers : sequence of str
            Global names a payload sets when it runs (default ``("__pwned",)``).
        allowed_tags : iterable of str
            Tags exempt from the live-element check, e.g. ``("script",)`` for a page
            whose own scripts carry neither ``data-qa-allowed`` nor a CSP hash.
        """
        path = Path(path)
        rec = _Recorder()
        page = self._open(path, markers=markers, record=rec)
        try:
            exempt = frozenset(t.lower() for t in allowed_tags)
            dialogs = list(rec.dialogs)
            live: list[LiveElement] = []
            found_markers: list[str] = []
            violations: list[CspViolation] = []
            csp: tuple[str, ...] = ()
            title = ""
            scripts = 0
            for frame in page.frames:
                try:
                    data = frame.evaluate(_COLLECT_SCRIPT, list(markers))
                except Exception as exc:  # a frame that went away
                    rec.page_errors.append(f"could not inspect frame {frame.url}: {exc}")
                    continue
                frame_url = str(data["url"])
                if frame is page.main_frame:
                    csp = tuple(data["csp"])
                    title = str(data["title"])
                frame_csp = tuple(data["csp"]) or csp
                found_markers += [
                    m if frame is page.main_frame else f"{m} (in {frame_url})"
                    for m in data["markers"]
                ]
                violations += [
                    CspViolation(frame_url, v["directive"], v["blocked"], v["sample"])
                    for v in data["violations"]
                ]
                for element in data["elements"]:
                    scripts += element["tag"] == "script"
                    for reason in classify_element(element, frame_csp, exempt):
                        live.append(LiveElement(frame_url, element["tag"], reason, element["html"]))
            return PageReport(
                path=path,
                url=rec.start_url,
                title=title,
                dialogs=tuple(dialogs),
                markers=tuple(found_markers),
                live_elements=tuple(live),
                csp=csp,
                csp_violations=tuple(violations),
                console_errors=tuple(rec.console_errors),
                page_errors=tuple(rec.page_errors),
                blocked_requests=tuple(rec.blocked),
                navigations=tuple(rec.navigations),
                scripts=scripts,
            )
        finally:
            page.context.close()

    def screenshot(
        self,
        path: str | os.PathLike[str],
        png: str | os.PathLike[str],
        *,
        width: int = 1400,
        height: int | None = None,
    ) -> Path:
        """Save a PNG of the page; ``height=None`` captures the full page length."""
        page = self._open(Path(path), width=width, height=height or 900)
        try:
            out = Path(png)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=height is None, timeout=TIMEOUT_MS)
            return out
        finally:
            page.context.close()

    def print_pdf(
        self,
        html: str | os.PathLike[str],
        pdf: str | os.PathLike[str],
        *,
        paper: str = "A4",
    ) -> Path:
        """Print the page to PDF as Chromium's print does (backgrounds on, CSS page size wins)."""
        page = self._open(Path(html))
        try:
            out = Path(pdf)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.emulate_media(media="print")
            page.pdf(path=str(out), format=paper, print_background=True, prefer_css_page_size=True)
            return out
        finally:
            page.context.close()

    def sort_by_header(
        self,
        path: str | os.PathLike[str],
        column: int | str,
        *,
        table: str = "table",
        clicks: int = 1,
    ) -> SortResult:
        """Click a table's header ``clicks`` times; read the column before and after each.

        Parameters
        ----------
        path : path-like
            The HTML file.
        column : int or str
            Zero-based column index, or the header's text (whitespace-normalised; an
            exact match first, else the first header containing it).
        table : str
            CSS selector of the table (the first match is used).
        clicks : int
            How many times to click (1: ascending for most widgets, 2: then descending).
        """
        page = self._open(Path(path))
        try:
            target = page.locator(table).first
            headers = [" ".join(t.split()) for t in target.locator("thead th").all_inner_texts()]
            index = _header_index(headers, column)
            header = target.locator("thead th").nth(index)
            read = """([table, index]) => {
                const t = document.querySelector(table);
                return [...t.querySelectorAll('tbody tr')]
                  .map(r => r.cells[index] ? r.cells[index].innerText.trim() : '');
            }"""
            before = tuple(page.evaluate(read, [table, index]))
            after = []
            for _ in range(clicks):
                header.click(timeout=TIMEOUT_MS)
                page.evaluate(_TWO_FRAMES)
                after.append(tuple(page.evaluate(read, [table, index])))
            return SortResult(headers[index], before, tuple(after))
        finally:
            page.context.close()


def _settle(page: Page) -> None:
    """Let late handlers (img onerror, svg onload, 0 ms timers) run; survive a navigation."""
    from playwright.sync_api import Error as PlaywrightError

    for _ in range(3):
        try:
            page.evaluate(_TWO_FRAMES)
            break
        except PlaywrightError:  # the page navigated (meta refresh, location=...)
            page.wait_for_load_state("load", timeout=TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_MS)


def _header_index(headers: Sequence[str], column: int | str) -> int:
    if isinstance(column, int):
        if not 0 <= column < len(headers):
            raise IndexError(f"column {column} out of range: headers are {headers}")
        return column
    wanted = " ".join(column.split())
    for i, text in enumerate(headers):
        if text == wanted:
            return i
    for i, text in enumerate(headers):
        if wanted.casefold() in text.casefold():
            return i
    raise KeyError(f"no header {column!r}: headers are {headers}")


class _Recorder:
    """Collects the events of one page."""

    def __init__(self) -> None:
        self.start_url = ""
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.navigations: list[str] = []

    def route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(_LOCAL_SCHEMES):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def page_error(self, error: Any) -> None:
        self.page_errors.append(str(getattr(error, "message", error)))

    def dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}({dialog.message!r})")
        dialog.dismiss()

    def navigated(self, page: Page, frame: Any) -> None:
        if frame is page.main_frame and frame.url.split("#")[0] not in (
            self.start_url.split("#")[0],
            "about:blank",
        ):
            self.navigations.append(frame.url)


class BrowserSession:
    """One headless Chromium driven by Playwright; open pages with its methods.

    Use as a context manager (or the ``browser`` fixture). Every page opens in a fresh
    browser context (no shared storage), with non-``file:`` requests blocked.

    Playwright's sync API refuses to start in a thread where an asyncio loop runs
    (notebook tests in the same pytest worker can leave one), so every call is run
    in a dedicated thread that owns the browser.
    """

    def __init__(self, executable: Path | None = None) -> None:
        self._impl = _PlaywrightSession(executable)
        self.executable = self._impl.executable
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def __enter__(self) -> BrowserSession:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="playwright")
        try:
            self._pool.submit(self._impl.__enter__).result()
        except BaseException:
            self._pool.shutdown()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pool is None:
            return
        try:
            self._pool.submit(self._impl.__exit__, None, None, None).result()
        finally:
            self._pool.shutdown()
            self._pool = None

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._pool is None:
            raise RuntimeError("BrowserSession is not open: use it as a context manager")
        return self._pool.submit(fn, *args, **kwargs).result()

    @property
    def version(self) -> str:
        """Chromium's version string."""
        return str(self._call(lambda: self._impl.version))

    def check_page(self, *args: Any, **kwargs: Any) -> PageReport:
        """See :meth:`_PlaywrightSession.check_page`."""
        return self._call(self._impl.check_page, *args, **kwargs)

    def screenshot(self, *args: Any, **kwargs: Any) -> Path:
        """See :meth:`_PlaywrightSession.screenshot`."""
        return self._call(self._impl.screenshot, *args, **kwargs)

    def print_pdf(self, *args: Any, **kwargs: Any) -> Path:
        """See :meth:`_PlaywrightSession.print_pdf`."""
        return self._call(self._impl.print_pdf, *args, **kwargs)

    def sort_by_header(self, *args: Any, **kwargs: Any) -> SortResult:
        """See :meth:`_PlaywrightSession.sort_by_header`."""
        return self._call(self._impl.sort_by_header, *args, **kwargs)


# --------------------------------------------------------------------------- fixture


@pytest.fixture(scope="session", name="browser")
def browser_fixture() -> Iterator[BrowserSession]:
    """A headless Chromium for the test session; skips when Chromium is not installed."""
    executable = require_chromium()
    with BrowserSession(executable) as session:
        yield session


# --------------------------------------------------------------------------- one-shot helpers


def check_page(path: str | os.PathLike[str], **kwargs: Any) -> PageReport:
    """:meth:`BrowserSession.check_page` in a browser started for this call."""
    with BrowserSession() as session:
        return session.check_page(path, **kwargs)


def screenshot(
    path: str | os.PathLike[str],
    png: str | os.PathLike[str],
    width: int = 1400,
    height: int | None = None,
) -> Path:
    """:meth:`BrowserSession.screenshot` in a browser started for this call."""
    with BrowserSession() as session:
        return session.screenshot(path, png, width=width, height=height)


def print_pdf(html: str | os.PathLike[str], pdf: str | os.PathLike[str]) -> Path:
    """:meth:`BrowserSession.print_pdf` in a browser started for this call."""
    with BrowserSession() as session:
        return session.print_pdf(html, pdf)


# --------------------------------------------------------------------------- links (no browser)


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.anchors: set[str] = set()
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v for k, v in attrs if v is not None}
        for key in ("id", "name") if tag == "a" else ("id",):
            if key in values:
                self.anchors.add(values[key])
        if tag == "a" and "href" in values:
            self.hrefs.append(values["href"])
        if tag == "base" and "href" in values and self.base is None:
            self.base = values["href"]


def _anchors(path: Path) -> set[str]:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.anchors


def links(path: str | os.PathLike[str]) -> LinkReport:
    """Resolve every ``<a href>`` of a static page to a local file; flag those that don't exist.

    No browser needed (the pages checked, such as the index, are static HTML). Kinds:
    ``file`` (must exist; a ``#fragment`` on an HTML target must name an id in it),
    ``fragment`` (``#id`` on the same page; must exist), ``external`` (http(s), mailto:
    reported, not followed), ``script`` (``javascript:`` and the like: always unsafe).
    """
    page = Path(path).resolve()
    parser = _LinkParser()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    base = urljoin(page.as_uri(), parser.base) if parser.base else page.as_uri()
    found: list[Link] = []
    own_anchors = parser.anchors
    for href in parser.hrefs:
        stripped = re.sub(r"[\x00-\x20]", "", href)
        if _SCRIPT_URL.match(stripped):
            found.append(Link(href, "script", None, False))
            continue
        if href.startswith("#"):
            name = unquote(href[1:])
            found.append(Link(href, "fragment", page, name == "" or name in own_anchors))
            continue
        parts = urlsplit(urljoin(base, href))
        if parts.scheme in ("http", "https", "mailto", "tel"):
            found.append(Link(href, "external", None, True))
            continue
        if parts.scheme != "file":
            found.append(Link(href, "other", None, False))
            continue
        target = Path(url2pathname(unquote(parts.path)))
        ok = target.is_file() or (target.is_dir() and (target / "index.html").is_file())
        if ok and parts.fragment and target.suffix.lower() in (".html", ".htm"):
            ok = unquote(parts.fragment) in _anchors(target)
        found.append(Link(href, "file", target, ok))
    return LinkReport(page, tuple(found))


# --------------------------------------------------------------------------- PDF and PNG


def pdf_pages(pdf: str | os.PathLike[str]) -> int:
    """Number of pages of a PDF (``pdfinfo``)."""
    out = subprocess.run(
        ["pdfinfo", str(pdf)], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    match = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    if match is None:
        raise ValueError(f"pdfinfo gave no page count for {pdf}: {out!r}")
    return int(match.group(1))


def pdf_to_png(
    pdf: str | os.PathLike[str], outdir: str | os.PathLike[str], *, dpi: int = 60
) -> list[Path]:
    """Render every page of a PDF to ``outdir/page-<n>.png`` (``pdftoppm``), in page order."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(out / "page")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pages = list(out.glob("page-*.png"))
    return sorted(pages, key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def ink_fraction(
    png: str | os.PathLike[str],
    box: tuple[float, float, float, float] | None = None,
    *,
    colour: bool = False,
) -> float:
    """Share of pixels in a region that are not background.

    Parameters
    ----------
    png : path-like
        The image.
    box : (left, top, right, bottom), optional
        Region as fractions of width and height (default: the whole image).
    colour : bool
        Count only coloured pixels (channel spread above 40 of 255), which separates
        figures (coloured lines, bars, heat maps) from black-and-grey text.
    """
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    if box is not None:
        height, width = pixels.shape[:2]
        left, top, right, bottom = box
        pixels = pixels[
            int(top * height) : max(int(bottom * height), int(top * height) + 1),
            int(left * width) : max(int(right * width), int(left * width) + 1),
        ]
    if colour:
        ink = pixels.max(axis=2) - pixels.min(axis=2) > 40
    else:
        ink = pixels.min(axis=2) < 235
    return float(ink.mean()) if ink.size else 0.0


def has_figure(
    png: str | os.PathLike[str],
    box: tuple[float, float, float, float] | None = None,
    *,
    min_fraction: float = 0.002,
) -> bool:
    """Whether a rendered page (or a region of it) shows coloured figure content."""
    return ink_fraction(png, box, colour=True) >= min_fraction


def is_sorted(values: Sequence[str], *, descending: bool = False) -> bool:
    """Whether table cell texts are in order: numerically when all parse, else by text.

    Numbers may carry ``%``, thousands separators, a leading ``+`` or a Unicode minus;
    empty cells are ignored.
    """
    cells = [v.strip() for v in values if v.strip()]
    numbers = [_number(v) for v in cells]
    keys: list[Any] = (
        numbers if all(n is not None for n in numbers) else [c.casefold() for c in cells]
    )
    pairs = list(itertools.pairwise(keys))
    return all(a >= b for a, b in pairs) if descending else all(a <= b for a, b in pairs)


def _number(text: str) -> float | None:
    cleaned = text.replace("\u2212", "-").replace(",", "").replace("%", "").lstrip("+")
    try:
        return float(cleaned)
    except ValueError:
        return None
