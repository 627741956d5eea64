"""The presentation of chapter 10 ("Measure your own network", notebooks/11_measure_your_own_network.ipynb), which keeps its calls of the public
API visible: the rerun box, the table of measures with their meaning and the table of the errors
raised for a module the MLP-only functions refuse."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.views import tables

RERUN = ('<div class="admonition tip rerun-box"><p class="admonition-title">Rerun this chapter</p><p>This '
         'page computes everything it shows, in well under a minute: training the network and measuring it. Run '
         'the notebook (launch button above) or <code>papermill notebooks/11_measure_your_own_network.ipynb '
         '/tmp/11.ipynb -p scale smoke</code>; swap in your own <code>torch.nn.Module</code> to measure it.'
         '</p></div>')


def rerun_box():  # -> IPython HTML
    """The chapter computes what it shows (no results store): how to rerun it."""
    from IPython.display import HTML

    return HTML(RERUN)


def measures_table(values: Mapping[str, float], info: Mapping[str, Any]) -> Any:
    """``weakness_lib.measure``'s values with each measure's label, units and reading (``info``:
    ``weakness_lib.MEASURE_INFO``, passed by the chapter: a view never imports the API)."""
    rows = [{"measure": info[k].label, "value": f"{v:.4g}", "units": info[k].units,
             "a higher value means": info[k].higher} for k, v in values.items()]
    return tables.table(pd.DataFrame(rows), wrap=["measure", "units"])


#: a name of the library in an error message: a dotted path (``weakness_lib.build_mlp``) or a snake_case name
_CODE = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def errors_table(errors: Mapping[str, str]) -> Any:
    """One row per refused call: what was asked and the error raised, verbatim (not renamed by
    :mod:`~weakness_lib.views.names`), with the library's names in it (``weakness_lib.build_mlp``,
    ``path_norm``) in code formatting."""
    cells = {what: _CODE.sub(lambda m: f"<code>{m[0]}</code>", html.escape(text)) for what, text in errors.items()}
    return tables.table(pd.Series({html.escape(k): v for k, v in cells.items()}, name="error raised"),
                        wrap=["error raised"], formats={"error raised": str}, escape=False)
