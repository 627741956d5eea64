"""One table style for every chapter of the book (the figure style is :mod:`weakness_lib.views.style`).

:func:`table` turns a DataFrame into HTML that fits the book's content column: values rounded to
meaningful digits (:func:`fmt_number`, the book's one format :func:`~weakness_lib.views.names.num`),
column names and stored names in cells as readers write them (:func:`~weakness_lib.views.names.in_text`,
a registered study's name in code formatting), no pandas index, an em-dash for a missing value (with a
note saying why), and a container that scrolls sideways inside the column instead of being cut
off; :func:`with_ci` joins a lower and an upper column into one "95 % CI" column.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from weakness_lib.views import names
from weakness_lib.views.style import EM_DASH


def fmt_number(value: Any, digits: int = 3) -> str:
    """A number to ``digits`` significant digits, thousands separated; missing → em-dash."""
    if value is None or isinstance(value, str):
        return EM_DASH if value is None or value == "" else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return EM_DASH
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return names.num(value if isinstance(value, int) or type(value).__name__.startswith(("int", "uint"))
                     else x, digits)


def _cell(value: Any, fmt: Callable[[Any], str] | str | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EM_DASH
    if callable(fmt):
        return names.minus(fmt(value))
    if isinstance(fmt, str):
        return names.minus(fmt.format(value))
    if isinstance(value, str):
        return _studies().get(value) or names.in_text(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_number(v, digits) for v in value)
    return fmt_number(value, digits)


def _studies() -> dict[str, str]:
    """A registered study's name → that name in code formatting (readers type it in commands)."""
    from weakness_lib.engine.registry import STUDIES

    return {s: f"\0code\0{s}\0/code\0" for s in STUDIES}


def _code(text: str) -> str:
    return text.replace("\0code\0", "<code>").replace("\0/code\0", "</code>")


#: formats of the columns of a correlation table (ρ with its sign, p-values to two digits)
RHO_FORMATS: dict[str, str] = {
    **dict.fromkeys(("rho", "rho_raw", "rho_oriented", "kendall_tau", "partial_rho"), "{:+.3f}"),
    **dict.fromkeys(("p", "p_holm", "partial_p"), "{:.2g}"),
}


def with_ci(frame: pd.DataFrame, lo: str = "ci_lo", hi: str = "ci_hi", name: str = "95 % CI",
            fmt: str = "{:+.3f}") -> pd.DataFrame:
    """``frame`` with its two interval columns merged into one "[lo, hi]" column in their place."""
    cells = [EM_DASH if (pd.isna(a) or pd.isna(b)) else f"[{fmt.format(a)}, {fmt.format(b)}]"
             for a, b in zip(frame[lo], frame[hi], strict=True)]
    pos = list(frame.columns).index(lo)
    out = frame.drop(columns=[lo, hi])
    out.insert(pos, name, cells)
    return out


def table(frame: pd.DataFrame | pd.Series, *, digits: int = 3,
          formats: Mapping[str, Callable[[Any], str] | str] | None = None,
          missing: str | None = None, caption: str | None = None,
          wrap: Iterable[str] = (), escape: bool = True, index: bool = False,
          compact: bool = False) -> Any:
    """An HTML table for the book (an ``IPython.display.HTML`` object).

    Every value is formatted by ``formats[column]`` (a format string or a function) or rounded to
    ``digits`` significant digits; booleans read yes/no; a missing value (``None``/NaN) becomes an
    em-dash, and ``missing`` — the reason a value can be missing — is printed under the table
    (required when there is one). A Series becomes a two-column name/value table; ``index=True``
    keeps a DataFrame's index as its first column. Columns named in ``wrap`` may wrap (long text);
    the others stay on one line, and a table wider than the column scrolls inside its own box.
    ``compact`` uses a smaller type and narrower wrapped columns (a summary table that should fit
    the column without scrolling at desktop width).
    """
    from IPython.display import HTML

    if isinstance(frame, pd.Series):
        frame = frame.rename_axis(frame.index.name or "").reset_index()
        frame.columns = [str(frame.columns[0]), str(frame.columns[1])]
        frame.columns = ["" if c == "index" else c for c in frame.columns]
    elif index:
        frame = frame.reset_index()
        frame = frame.rename(columns={"index": ""})
    formats = dict(formats or {})
    wrap = set(wrap)
    has_missing = bool(frame.map(lambda v: v is None or (isinstance(v, float) and math.isnan(v)))
                       .to_numpy().any())
    if has_missing and not missing:
        raise ValueError("the table has missing values: say why with missing='…'")
    head = "".join(f"<th>{html.escape(names.in_text(str(c)))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for col in frame.columns:
            text = _cell(row[col], formats.get(col), digits)
            text = _code(html.escape(text) if escape else text)
            cls = ' class="wrap"' if col in wrap else ""
            num = isinstance(row[col], (int, float)) and not isinstance(row[col], bool)
            cls = cls or (' class="num"' if num else "")
            cells.append(f"<td{cls}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    note = (f'<p class="table-note">{EM_DASH} {html.escape(missing)}</p>'
            if has_missing and missing else "")
    body = (f'<div class="book-table{" compact" if compact else ""}" style="overflow-x:auto;max-width:100%"><table>{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{note}')
    return HTML(body)


def glossary_html() -> Any:
    """The methods page's glossary (:func:`weakness_lib.views.names.glossary`) as a rendered table:
    reader's name, symbol, unit, meaning and the stored column (as code)."""
    import html

    return table(names.glossary(), index=True, escape=False, wrap=["meaning"], formats={
        "stored as": lambda k: f"<code>{html.escape(k)}</code>",
        **dict.fromkeys(("symbol", "unit", "meaning"), html.escape)})
