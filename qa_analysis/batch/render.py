"""HTML rendering of an executed notebook: one self-contained, offline page without code."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from qa_analysis.batch.pdf import PRINT_CSS
from qa_analysis.escaping import CSP_META, TABLE_SCRIPT_TAG, safe_url, sanitize_html
from qa_analysis.io import write_text_atomic

__all__ = ["render_html"]

_OFFLINE_TEMPLATE_NAME = "qa_offline.html.j2"
#: nbconvert's "lab" page without the blocks that load scripts from a CDN.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head -%}
{{ resources.qa_csp_meta }}
{{ super() }}
<style>{{ resources.qa_print_css }}</style>
{{ resources.qa_table_script }}
{%- endblock html_head -%}
"""
#: Tag papermill (and the batch's engine) put on the error banners it inserts.
_BANNER_TAG = "papermill-error-cell-tag"


def render_html(ipynb: str | Path, html_path: str | Path, title: str | None = None) -> Path:
    """Render an executed notebook to one self-contained HTML file, without code.

    Uses nbconvert's ``HTMLExporter`` with ``exclude_input``,
    ``exclude_input_prompt`` and ``exclude_output_prompt``, and a
    ``TagRemovePreprocessor`` that drops cells tagged ``parameters``,
    ``injected-parameters`` or ``remove-cell`` and the outputs of cells tagged
    ``remove-output``. Figures are already base64 PNGs in the notebook, and
    the template's scripts that nbconvert loads from a CDN (require.js,
    MathJax, mermaid.js, the widget manager) are left out (see
    :data:`_OFFLINE_TEMPLATE`), so the page loads nothing from the network
    and reads the same offline or behind a proxy. The reports use no LaTeX
    math, mermaid diagrams or widgets, which are what those scripts render.
    Error outputs (tracebacks) are kept.

    Nothing from the data becomes live HTML (see :mod:`qa_analysis.escaping`):
    markdown (cells and ``text/markdown`` outputs) is rendered with raw HTML
    escaped, mermaid blocks as plain code and links or images kept only with a
    safe URL scheme; every HTML fragment (markdown as rendered, ``text/html``
    outputs such as tables) then passes :func:`~qa_analysis.escaping.sanitize_html`;
    papermill's error banners are rebuilt as escaped text; and the page's
    first ``<head>`` element is the Content-Security-Policy
    :data:`~qa_analysis.escaping.CSP_META`, which allows no script but the
    table script :data:`~qa_analysis.escaping.TABLE_SCRIPT_TAG` the page carries once
    (sortable, filterable tables), by its hash. The print style sheet
    :data:`~qa_analysis.batch.pdf.PRINT_CSS` (a page break before each section,
    figures kept whole) is added for the PDFs.
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = ("parameters", "injected-parameters", "remove-cell")
    c.TagRemovePreprocessor.remove_all_outputs_tags = ("remove-output",)
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.sanitize_html = True  # the template pipes HTML through clean_html
    exporter = _safe_exporter_class()(
        config=c,
        template_name="lab",
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
        template_file=_OFFLINE_TEMPLATE_NAME,
    )
    exporter.register_filter("clean_html", sanitize_html)
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    nb = nbformat.read(str(ipynb), as_version=4)
    _rebuild_banners(nb)
    name = title or Path(ipynb).stem
    body, _ = exporter.from_notebook_node(
        nb,
        resources={
            "metadata": {"name": name},
            "qa_csp_meta": CSP_META,
            "qa_print_css": PRINT_CSS,
            "qa_table_script": TABLE_SCRIPT_TAG,
        },
    )
    return write_text_atomic(body, html_path)


def _rebuild_banners(nb: Any) -> None:
    """Papermill's error banners (markdown cells of raw HTML) as escaped raw HTML cells.

    Markdown is rendered with raw HTML escaped, which would show these banners'
    tags as text. They are papermill's (or the batch engine's) own cells, so
    they are rebuilt here from their text alone: tags stripped, the text
    escaped, one red paragraph, keeping papermill's ``#papermill-error-cell``
    anchor and link.
    """
    from nbformat.v4 import new_raw_cell

    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "markdown" or _BANNER_TAG not in cell.get("metadata", {}).get(
            "tags", ()
        ):
            continue
        source = str(cell.get("source", ""))
        text = html.escape(html.unescape(re.sub(r"<[^>]*>", "", source)).strip())
        if 'id="papermill-error-cell"' in source:
            text = f'<span id="papermill-error-cell">{text}</span>'
        elif 'href="#papermill-error-cell"' in source:
            text = f'{text} <a href="#papermill-error-cell">Go to the error.</a>'
        nb.cells[i] = new_raw_cell(
            f'<p class="qa-error-banner" style="color:#c00; font-size:1.4em;">{text}</p>',
            metadata={**cell.get("metadata", {}), "raw_mimetype": "text/html"},
        )


def _safe_exporter_class() -> type:
    """The ``HTMLExporter`` of nbconvert, rendering markdown with raw HTML escaped."""
    from jinja2 import pass_context
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class SafeRenderer(IPythonRenderer):
        def text(self, text: str) -> str:
            # entities decoded, then everything escaped (mistune's escape mode
            # would show "&lt;" as typed)
            return html.escape(html.unescape(text), quote=False)

        def block_mermaidjs(self, code: str) -> str:
            return "<pre><code>" + html.escape(code) + "</code></pre>\n"

        def safe_url(self, url: str) -> str:
            ok = safe_url(url, image=False)
            return html.escape(ok) if ok is not None else "#harmful-link"

        def image(self, text: str, url: str, title: str | None = None) -> str:
            if safe_url(url, image=True) is None:
                return html.escape(text)
            return str(super().image(text, url, title))

    class SafeHTMLExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            cell = context.get("cell", {})
            renderer = SafeRenderer(
                escape=True,
                allow_harmful_protocols=False,
                attachments=cell.get("attachments", {}),
                embed_images=False,
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )
            return str(MarkdownWithMath(renderer=renderer).render(source))

    return SafeHTMLExporter
