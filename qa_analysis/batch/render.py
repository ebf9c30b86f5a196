"""HTML rendering of an executed notebook: one self-contained, offline page without code."""

from __future__ import annotations

from pathlib import Path

from qa_analysis.io import write_text_atomic

__all__ = ["render_html"]

_OFFLINE_TEMPLATE_NAME = "qa_offline.html.j2"
#: nbconvert's "lab" page without the blocks that load scripts from a CDN.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


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
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = ("parameters", "injected-parameters", "remove-cell")
    c.TagRemovePreprocessor.remove_all_outputs_tags = ("remove-output",)
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    exporter = HTMLExporter(
        config=c,
        template_name="lab",
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
        template_file=_OFFLINE_TEMPLATE_NAME,
    )
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    nb = nbformat.read(str(ipynb), as_version=4)
    name = title or Path(ipynb).stem
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    return write_text_atomic(body, html_path)
