"""Sphinx extension: the book's reader-facing layout.

1. Adds ``weakness.css`` (written into ``_static`` at the end of the build): tables scroll
   sideways inside the content column instead of being cut off or forcing the page to scroll,
   every output (image, table, code) is at most the column wide, and the "Rerun this chapter"
   box is styled.
2. Writes numbers in the prose (typed or glued) as the tables do: Python's e-notation becomes a
   power of ten (``3.7e-09`` → 3.7 × 10⁻⁹); code, maths and raw HTML keep theirs.
3. Points the launch buttons (Binder, JupyterHub, Colab) at the committed notebook
   ``notebooks/<name>.ipynb``: the book renders executed copies staged under ``book/generated/``,
   which are not in the repository.

Enable with ``sphinx: extra_extensions: [weakness_lib.publish.site]`` in ``_config.yml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from weakness_lib.views.style import FIGURE_MAX_PX

#: where the book stages executed chapters, and where their sources live in the repository
STAGED = "book/generated/"
SOURCE = "notebooks/"
CSS_NAME = "weakness.css"

CSS = ("""
/* weakness_lib.publish.site: outputs fit the content column */
.bd-article .cell_output, .bd-article .output { max-width: 100%; overflow-x: auto; }
/* a figure is at most FIGURE_MAX_PX px wide: on a desktop its text is then not larger than the prose */
.bd-article .cell_output img { max-width: min(100%, FIGURE_MAX_PXpx); height: auto; }
.bd-article .cell_output table, .book-table table { margin: 0; }
.book-table { overflow-x: auto; max-width: 100%; margin-bottom: 0.5rem; }
.book-table table { border-collapse: collapse; font-size: 0.88rem; width: auto; }
.book-table th, .book-table td { white-space: nowrap; padding: 0.25rem 0.6rem;
  border-bottom: 1px solid var(--pst-color-border, #ddd); vertical-align: top; text-align: left; }
.book-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.book-table td.wrap { white-space: normal; min-width: 7rem; max-width: 22rem; }
.book-table caption { caption-side: top; text-align: left; font-style: italic; }
.book-table.compact table { font-size: 0.8rem; }
.book-table.compact th, .book-table.compact td { padding: 0.25rem 0.4rem; }
.book-table.compact td.wrap { min-width: 4.5rem; max-width: 10rem; }
.bd-article .cell_output .admonition { margin-left: 0; margin-right: 0; max-width: 100%;
  box-sizing: border-box; }
/* on a phone every cell may wrap, so that a table of at most seven columns fits the column and
   its key columns are on screen */
@media (max-width: 700px) {
  .book-table th, .book-table td { white-space: normal; padding: 0.25rem 0.35rem; }
  .book-table td.wrap { min-width: 5rem; max-width: 12rem; }
  .book-table table { font-size: 0.8rem; }
}
/* the whole of a table wider than seven columns, collapsed under its main columns */
details.full-table { margin-bottom: 0.6rem; }
details.full-table summary { cursor: pointer; font-size: 0.88rem; }
p.table-note { font-size: 0.82rem; color: var(--pst-color-text-muted, #555); }
/* plain pandas tables (not built with tables.table) also scroll inside the column */
.bd-article .cell_output table.dataframe { display: block; overflow-x: auto; max-width: 100%; }
/* display math wider than a phone scrolls inside its own box */
.bd-article mjx-container[display="true"] { display: block; overflow-x: auto; overflow-y: hidden;
  max-width: 100%; }
/* on a phone, a long inline formula scrolls inside its own box instead of widening the page */
@media (max-width: 700px) {
  .bd-article mjx-container:not([display="true"]) { display: inline-block; max-width: 100%;
    overflow-x: auto; overflow-y: hidden; vertical-align: middle; }
}
/* long words and module paths in headings and inline code wrap instead of widening the page */
.bd-article h1, .bd-article h2, .bd-article h3 { overflow-wrap: break-word; hyphens: auto; }
.bd-article code.literal, .bd-article code.literal span.pre { white-space: normal;
  overflow-wrap: anywhere; }
/* the API reference: a signature wraps, even inside a long name, instead of widening the page */
.bd-article dt.sig { overflow-wrap: anywhere; }
.bd-article dt.sig span.pre { white-space: normal; }
/* the landing page's headline figure: at most FIGURE_MAX_PX px wide on a desktop, the full width on a phone */
.headline-figure img { width: 100%; max-width: FIGURE_MAX_PXpx; height: auto; }
.rerun-box code { white-space: pre-wrap; word-break: break-word; }
/* a test id in a table wraps between its words (views.benchmarks_ci), inside one only if it is wider than the column */
.book-table code.test-id { overflow-wrap: break-word; word-break: normal; }
details.claim-details summary { cursor: pointer; }
details.claim-details { margin-bottom: 0.4rem; }
.rerun-box details summary { cursor: pointer; }
""").replace("FIGURE_MAX_PX", str(FIGURE_MAX_PX))


def fix_launch_urls(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                    doctree: Any) -> None:
    """``html-page-context`` (after sphinx-book-theme): launch the committed notebook."""
    for button in context.get("header_buttons", []) or []:
        for item in button.get("buttons", []) if isinstance(button, dict) else []:
            url = item.get("url") if isinstance(item, dict) else None
            if url and STAGED in url and item.get("text") in ("Binder", "JupyterHub", "Colab"):
                item["url"] = url.replace(STAGED, SOURCE)


def _is_code(node: Any) -> bool:
    """True inside code, maths, raw HTML or an API signature (text a reader copies as written)."""
    from docutils import nodes
    from sphinx import addnodes

    kinds = (nodes.literal, nodes.literal_block, nodes.raw, nodes.math, nodes.math_block,
             addnodes.desc_signature)
    while node is not None:
        if isinstance(node, kinds) or "code" in (getattr(node, "get", lambda *_: ())("classes", ()) or ()):
            return True
        node = node.parent
    return False


def prose_numbers(app: Sphinx, doctree: Any, docname: str) -> None:
    """``doctree-resolved``: every number in a page's prose, typed or glued, in the tables' format:
    e-notation as a power of ten (:func:`weakness_lib.views.tables.powers_of_ten`) and a sign
    written with a hyphen as a true minus (:func:`weakness_lib.views.names.minus`)."""
    from docutils import nodes

    from weakness_lib.views.names import minus
    from weakness_lib.views.tables import powers_of_ten

    for text in list(doctree.findall(nodes.Text)):
        new = minus(powers_of_ten(str(text)))
        if new != str(text) and not _is_code(text.parent):
            text.parent.replace(text, nodes.Text(new))


def write_css(app: Sphinx, exc: Exception | None) -> None:
    """``build-finished``: write the stylesheet the pages link to."""
    if exc is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / CSS_NAME).write_text(CSS, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_css_file(CSS_NAME)
    app.connect("html-page-context", fix_launch_urls, priority=950)
    app.connect("doctree-resolved", prose_numbers)
    app.connect("build-finished", write_css)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
