"""Sphinx extension: the built book loads no asset from outside the site.

Jupyter Book 1.x always enables ``sphinx_thebe``, which writes a reference to
``https://unpkg.com/thebe@…/lib/index.js`` and a Binder configuration into every page. The book
is read offline (and checked in a headless browser without network), so this extension

1. drops the ``sphinx-thebe.js`` loader and the inline ``THEBE_JS_URL`` script from every page,
   and the ``text/x-thebe-config`` block from every doctree;
2. after the build, scans every HTML page for an external *asset*: ``<script src>``,
   ``<link href>``, ``<img src>``, ``<iframe src>``, ``<source src>`` or ``<audio|video src>``
   whose URL starts with ``http://``, ``https://`` or ``//``, and logs a warning naming the page and
   URL. The book is built with ``-W``, so such a page fails the build. Plain hyperlinks
   (``<a href="https://…">``) are allowed: they load nothing until clicked.

MathJax itself is served locally by the ``sphinx-mathjax-offline`` extension.
Enable with ``sphinx: extra_extensions: [weakness_lib.publish.offline]`` in ``_config.yml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: tags whose URL attribute makes the browser fetch something on page load
ASSET_RE = re.compile(
    r"<(script|link|img|iframe|source|audio|video|embed)\b[^>]*?\b(src|href)\s*=\s*"
    r"[\"']((?:https?:)?//[^\"']+)[\"']",
    re.IGNORECASE,
)


def external_assets(html: str) -> list[str]:
    """URLs of external assets (not plain ``<a>`` links) referenced by one HTML page."""
    return [m.group(3) for m in ASSET_RE.finditer(html)]


def _is_thebe_script(js: Any) -> bool:
    filename = str(getattr(js, "filename", "") or "")
    body = str(getattr(js, "attributes", {}).get("body", ""))
    return filename.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body


def strip_thebe_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """``html-page-context``: remove the thebe loader scripts from the page."""
    scripts = context.get("script_files")
    if scripts is not None:
        context["script_files"] = [js for js in scripts if not _is_thebe_script(js)]


def strip_thebe_config(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved`` (after sphinx-thebe): drop its Binder configuration block."""
    for node in list(doctree.findall(nodes.raw)):
        if "text/x-thebe-config" in node.astext():
            node.parent.remove(node)


def check_offline(app: Sphinx, exc: Exception | None) -> None:
    """``build-finished``: warn (an error under ``-W``) for every external asset in the HTML."""
    if exc is not None or app.builder.format != "html":
        return
    for page in sorted(Path(app.outdir).rglob("*.html")):
        for url in external_assets(page.read_text(encoding="utf-8", errors="replace")):
            rel = page.relative_to(app.outdir)
            logger.warning(
                f"{rel} loads an external asset {url}; the book must work offline "
                "(serve it from _static or remove the extension that adds it)"
            )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", strip_thebe_scripts, priority=900)
    app.connect("doctree-resolved", strip_thebe_config, priority=900)
    app.connect("build-finished", check_offline, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
