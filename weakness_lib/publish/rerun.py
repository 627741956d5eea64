"""The "Rerun this chapter" box every chapter shows instead of its raw parameters cell.

A chapter's ``parameters`` cell (tagged for papermill, and ``remove-cell`` so the page does not
show it) and papermill's injected cell (hidden by :func:`hide_parameter_cells` after execution)
are replaced on the page by one small box: the scale the page was built with and the commands that
rerun the chapter — papermill for the notebook, ``weakness-repro`` for the stored results it reads.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from weakness_lib.core.paths import check_scale

#: the tags that hide a cell from the rendered page (myst-nb) and mark papermill's cells
REMOVE = "remove-cell"
PARAMETERS = "parameters"
INJECTED = "injected-parameters"


def box_html(notebook: str, scale: str, studies: Sequence[str] = (),
             title: str = "Rerun this chapter") -> str:
    """HTML of the box for ``notebooks/<notebook>.ipynb`` rendered at ``scale`` (the chapter's
    parameter, checked here first: the box is the first thing every chapter computes)."""
    check_scale(scale)
    nb = f"notebooks/{notebook}.ipynb"
    what = ("the published full-scale results committed in <code>results/full</code>"
            if scale == "full" else f"the <code>{html.escape(scale)}</code>-scale results store")
    steps = []
    if studies:
        cmd = f"weakness-repro run {' '.join(studies)} --scale smoke"
        steps.append(f"<li>compute the smoke-scale results it reads (seconds to minutes):"
                     f"<pre><code>{html.escape(cmd)}</code></pre></li>")
    cmd = f"papermill {nb} /tmp/{notebook}.ipynb -p scale smoke"
    steps.append(f"<li>run the notebook with those results:<pre><code>{html.escape(cmd)}</code></pre></li>")
    return (
        '<div class="admonition tip rerun-box">'
        f'<p class="admonition-title">{html.escape(title)}</p>'
        f"<p>Built with <code>scale = \"{html.escape(scale)}\"</code>: this page shows {what} "
        "and computes nothing.</p>"
        "<details><summary>How to rerun it</summary>"
        f"<ol>{''.join(steps)}</ol>"
        "<p>Or open the notebook with the launch button at the top of the page, edit its first "
        "cell (<code>scale</code>; <code>compute = True</code> computes missing results through "
        "the same runner) and run all cells.</p></details></div>"
    )


def box(notebook: str, scale: str, studies: Sequence[str] = (),
        title: str = "Rerun this chapter") -> Any:
    """The box as an ``IPython.display.HTML`` object (the last expression of a chapter cell)."""
    from IPython.display import HTML

    return HTML(box_html(notebook, scale, studies, title))


def hide_parameter_cells(cells: Iterable[dict[str, Any]]) -> int:
    """Tag the ``parameters`` and papermill's ``injected-parameters`` cells ``remove-cell`` (in
    place); return how many were tagged."""
    n = 0
    for cell in cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if (PARAMETERS in tags or INJECTED in tags) and REMOVE not in tags:
            tags.append(REMOVE)
            n += 1
    return n
