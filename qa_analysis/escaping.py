"""Escaping for every page and file the tool writes for people: markdown, HTML, CSV.

Values from the data and from config (ticket ids, channel, market and queue
names, rater ids when pseudonymisation is off, criterion names and labels from
the scorecard YAML) reach the reports' narrative markdown, tables, figure
labels, the index pages and CSV files. None of them may become live HTML,
a link or a spreadsheet formula. Three walls:

* at the source, :func:`md_escape` makes a value plain text inside markdown
  (HTML and markdown syntax both escaped), and
  :func:`neutralise_formulas` makes a CSV text cell inert in spreadsheets;
* at rendering, :func:`sanitize_html` keeps only an allowlist of tags,
  attributes and URL schemes in HTML outputs (the HTML export in
  :mod:`qa_analysis.batch.render` also renders markdown with raw HTML
  escaped and only safe link schemes kept);
* in the browser, :data:`CSP_META` (a Content-Security-Policy that allows no
  script but the pages' own table script, :data:`TABLE_SCRIPT`, by its SHA-256
  hash) is the first element of every page's ``<head>``.

Examples
--------
>>> md_escape("<img src=x onerror=alert(1)> [x](javascript:y) *a*")
'&lt;img src=x onerror=alert\\\\(1\\\\)&gt; \\\\[x\\\\]\\\\(javascript:y\\\\) \\\\*a\\\\*'
>>> neutralise_formulas(pd.DataFrame({"a": ["=1+1", "ok"], "n": [-1, 2]}))["a"].tolist()
["'=1+1", 'ok']
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pandas as pd

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSP_META",
    "FORMULA_PREFIXES",
    "TABLE_SCRIPT",
    "TABLE_SCRIPT_TAG",
    "md_escape",
    "neutralise_formulas",
    "relative_href",
    "safe_url",
    "sanitize_html",
]

#: The one script the pages carry: sortable, filterable tables (``table.qa-sortable``).
#: Self-written, no network, no ``eval``: clicking a header sorts by that column (numbers
#: as numbers, again to reverse); a box above each table hides the rows without the
#: typed text. Allowed by its SHA-256 hash in :data:`CONTENT_SECURITY_POLICY`, so no other
#: script (from data or anywhere else) can run.
TABLE_SCRIPT = (
    "document.addEventListener('DOMContentLoaded',function(){"
    "document.querySelectorAll('table.qa-sortable').forEach(function(t){"
    "var b=t.tBodies[0];if(!b)return;"
    "var f=document.createElement('input');f.type='search';f.className='qa-filter';"
    "f.placeholder='Filter rows';f.setAttribute('aria-label','Filter rows');"
    "t.parentNode.insertBefore(f,t);"
    "f.addEventListener('input',function(){var q=f.value.toLowerCase();"
    "Array.prototype.forEach.call(b.rows,function(r){"
    "r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;});});"
    "var hs=t.tHead?t.tHead.rows[t.tHead.rows.length-1].cells:[];"
    "Array.prototype.forEach.call(hs,function(h,i){h.style.cursor='pointer';"
    "h.title='Sort';h.addEventListener('click',function(){"
    "var asc=h.getAttribute('aria-sort')!=='ascending';"
    "Array.prototype.forEach.call(hs,function(x){x.removeAttribute('aria-sort');});"
    "h.setAttribute('aria-sort',asc?'ascending':'descending');"
    "var key=function(r){var c=r.cells[i];return c?c.textContent.trim():'';};"
    "var num=function(v){var m=v.replace(/[%,\\s]/g,'').match(/^[-+]?\\d*\\.?\\d+(e[-+]?\\d+)?/i);"
    "return m?parseFloat(m[0]):NaN;};"
    "var rows=Array.prototype.slice.call(b.rows);"
    "rows.sort(function(x,y){var a=key(x),c=key(y),na=num(a),nc=num(c);"
    "var d=(!isNaN(na)&&!isNaN(nc))?na-nc:(isNaN(na)!==isNaN(nc)?(isNaN(na)?1:-1):"
    "a.localeCompare(c));return asc?d:-d;});"
    "rows.forEach(function(r){b.appendChild(r);});});});});});"
)


def _sha256_source(text: str) -> str:
    import base64
    import hashlib

    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    )


#: The ``<script>`` element the renderer puts once in every page (its text is :data:`TABLE_SCRIPT`).
TABLE_SCRIPT_TAG = f"<script>{TABLE_SCRIPT}</script>"

#: The pages' Content-Security-Policy: no script but :data:`TABLE_SCRIPT` (by its hash), no
#: plug-in, no frame, no network; images and fonts only inline (``data:``), styles only inline.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src {_sha256_source(TABLE_SCRIPT)}; img-src data:; "
    "style-src 'unsafe-inline'; font-src data:; base-uri 'none'; form-action 'none'"
)
#: The ``<meta>`` element carrying :data:`CONTENT_SECURITY_POLICY` (first in ``<head>``).
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'

# markdown syntax characters escaped with a backslash; < > & become entities
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()|#!~${}])")
_WHITESPACE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def md_escape(value: Any) -> str:
    """``value`` as plain text inside markdown: no HTML, no link, no emphasis, no table cell.

    ``&``, ``<`` and ``>`` become HTML entities; the markdown characters
    ``\\ ` * _ [ ] ( ) | # ! ~ $ { }`` get a backslash; line breaks and other
    control characters become one space (so a value cannot start a new block
    such as a heading or a list). Rendered, the text reads exactly as the value.

    Examples
    --------
    >>> md_escape("chat_$1 | <b>")
    'chat\\\\_\\\\$1 \\\\| &lt;b&gt;'
    >>> md_escape(None), md_escape(42)
    ('None', '42')
    """
    text = _WHITESPACE.sub(" ", str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot be read as spreadsheet formulas.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading single quote (the OWASP recommendation for CSV
    injection), so Excel, LibreOffice or Google Sheets show it as text instead
    of evaluating it. Only text cells (and text column names) are touched:
    numbers stay numbers, so a negative number written as a number is not
    changed.

    References
    ----------
    .. [1] OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection

    Examples
    --------
    >>> df = pd.DataFrame({"id": ["@SUM(A1)", "-2", "T-1"], "x": [-1.5, 0.0, 2.0]})
    >>> neutralise_formulas(df)
              id    x
    0  '@SUM(A1)  -1.5
    1        '-2   0.0
    2        T-1   2.0
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a DataFrame, got {type(df).__name__}")
    out = df.copy()
    for col in out.columns:  # a handful of columns
        s = out[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        is_text = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        risky = is_text & s.astype("string").str.startswith(FORMULA_PREFIXES).fillna(
            False
        ).to_numpy(dtype=bool)
        if risky.any():
            values = s.to_numpy(dtype=object).copy()
            values[risky] = ["'" + v for v in values[risky]]
            out[col] = pd.Series(values, index=s.index, name=col, dtype=s.dtype)
    out.columns = [
        "'" + c if isinstance(c, str) and c.startswith(FORMULA_PREFIXES) else c for c in out.columns
    ]
    return out


_SAFE_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")
_SAFE_IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,", re.IGNORECASE)


def safe_url(url: str, *, image: bool = False) -> str | None:
    """``url`` when it is safe as a link (``image=False``) or image source, else None.

    Safe: a relative URL or fragment, ``http:``, ``https:``, ``mailto:``, and
    for images a base64 PNG/JPEG/GIF/WebP ``data:`` URL. Whitespace and control
    characters, which browsers ignore inside a scheme, are removed before the
    scheme is read (``java\\tscript:`` is ``javascript:``).

    Examples
    --------
    >>> safe_url("EU/calibration_report.html"), safe_url("java\\tscript:alert(1)")
    ('EU/calibration_report.html', None)
    >>> safe_url("data:image/png;base64,AAAA", image=True), safe_url("data:text/html,x")
    ('data:image/png;base64,AAAA', None)
    """
    import html

    probe = _IGNORED_IN_URL.sub("", html.unescape(str(url)))
    m = _SCHEME.match(probe)
    if m is None:
        return str(url)
    if m.group(1).lower() in _SAFE_SCHEMES:
        return str(url)
    if image and _SAFE_IMAGE_DATA.match(probe):
        return str(url)
    return None


#: A file or folder name that may appear in a link the tool builds (no ``..``, no ``/``).
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}(\.[A-Za-z0-9_\-]{1,16})*")


def relative_href(path: str) -> str | None:
    """A relative link to ``path`` (``/``-separated), or None when a part is not a safe name.

    Links from the index pages and the global overview to the reports are
    built from region codes and file names; each part must match
    :data:`SAFE_NAME` (letters, digits, ``_``, ``-``, dotted extensions), so a
    value from the data or config can never make a link leave the outputs
    folder, carry a scheme or break out of the attribute.

    Examples
    --------
    >>> relative_href("eu/calibration_report.html"), relative_href("2026-10/index.html")
    ('eu/calibration_report.html', '2026-10/index.html')
    >>> relative_href("../x.html"), relative_href("javascript:alert(1)"), relative_href("a b")
    (None, None, None)
    """
    parts = str(path).replace("\\", "/").split("/")
    if not parts or not all(SAFE_NAME.fullmatch(p) for p in parts):
        return None
    return "/".join(parts)


_ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
        "details", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "style", "sub",
        "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES = frozenset(
    {
        "align", "alt", "border", "class", "colspan", "height", "href", "id", "rowspan", "scope",
        "scoped", "src", "start", "style", "title", "type", "valign", "width",
    }
)  # fmt: skip


def _attribute_ok(tag: str, name: str, value: str) -> bool:
    if name not in _ALLOWED_ATTRIBUTES:
        return False
    if name == "href":
        return tag == "a" and safe_url(value) is not None
    if name == "src":  # pages load nothing: inline images only
        return tag == "img" and _SAFE_IMAGE_DATA.match(value.strip()) is not None
    return True


@functools.cache
def _css_sanitizer() -> Any:
    from bleach.css_sanitizer import CSSSanitizer

    return CSSSanitizer()


def sanitize_html(fragment: str | bytes) -> str:
    """An HTML fragment with only an allowlist of tags, attributes and URLs kept.

    Tags outside the allowlist (``script``, ``iframe``, ``object``, ``form``,
    ``svg``, ...) are escaped, so their text shows instead of running; every
    ``on*`` event attribute is dropped; ``href``/``src`` keep only
    :func:`safe_url` URLs (``src`` only inline base64 images); inline ``style`` attributes are passed through
    bleach's CSS sanitizer. Tables, headings, lists, emphasis, code, links,
    inline images and pandas' ``<style scoped>`` survive, so report tables and
    narrative render as before. Uses bleach (a dependency of nbconvert).

    Examples
    --------
    >>> sanitize_html('<p onclick="x()">a</p><script>alert(1)</script>')
    '<p>a</p>&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> sanitize_html('<a href="javascript:alert(1)">x</a><a href="EU/r.html">y</a>')
    '<a>x</a><a href="EU/r.html">y</a>'
    """
    import warnings

    import bleach

    text = fragment.decode("utf-8") if isinstance(fragment, bytes) else str(fragment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bleach's deprecation notice
        return bleach.clean(
            text,
            tags=_ALLOWED_TAGS,
            attributes=_attribute_ok,
            protocols=frozenset({*_SAFE_SCHEMES, "data"}),
            css_sanitizer=_css_sanitizer(),
            strip=False,
            strip_comments=True,
        )
