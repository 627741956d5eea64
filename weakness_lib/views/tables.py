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
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from weakness_lib.views import names
from weakness_lib.views.style import EM_DASH, SUPERSCRIPT


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


_E_NOTATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e([+\-−]?\d+)\b")  # "−": already a true minus


def powers_of_ten(text: str) -> str:
    """Python's e-notation in a formatted cell as the book writes it: ``2.759e+05`` → "2.759 × 10⁵",
    ``1e-04`` → "10⁻⁴" (one number format on every page)."""
    def sub(m: re.Match) -> str:
        if float(m[1]) == 0:  # 0.0e+00 is zero, not "0.0 × 10⁰"
            return "0"
        power = "10" + str(int(m[2].replace("−", "-"))).translate(SUPERSCRIPT)
        return power if float(m[1]) == 1 else f"{m[1]} × {power}"

    return _E_NOTATION.sub(sub, text)


def _cell(value: Any, fmt: Callable[[Any], str] | str | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EM_DASH
    if callable(fmt):
        return names.minus(powers_of_ten(fmt(value)))
    if isinstance(fmt, str):
        return names.minus(powers_of_ten(fmt.format(value)))
    if isinstance(value, str):
        return _studies().get(value) or names.minus(powers_of_ten(names.in_text(value)))
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
    cells = [EM_DASH if (pd.isna(a) or pd.isna(b)) else names.minus(f"[{fmt.format(a)}, {fmt.format(b)}]")
             for a, b in zip(frame[lo], frame[hi], strict=True)]
    pos = list(frame.columns).index(lo)
    out = frame.drop(columns=[lo, hi])
    out.insert(pos, name, cells)
    return out


#: the most columns a table shows at once; a wider table shows its first (or its ``main``)
#: columns and the whole table follows in a collapsed section
MAX_COLUMNS = 7


def table(frame: pd.DataFrame | pd.Series, *, digits: int = 3,
          formats: Mapping[str, Callable[[Any], str] | str] | None = None,
          missing: str | None = None, caption: str | None = None,
          wrap: Iterable[str] = (), escape: bool = True, index: bool = False,
          compact: bool = False, main: Iterable[str] | None = None,
          key: Iterable[str] | None = None) -> Any:
    """An HTML table for the book (an ``IPython.display.HTML`` object).

    Every value is formatted by ``formats[column]`` (a format string or a function) or rounded to
    ``digits`` significant digits; booleans read yes/no; a missing value (``None``/NaN) becomes an
    em-dash, and ``missing`` — the reason a value can be missing — is printed under the table
    (required when there is one). A Series becomes a two-column name/value table; ``index=True``
    keeps a DataFrame's index as its first column. Columns named in ``wrap`` may wrap (long text);
    the others stay on one line on a desktop (on a phone every cell may wrap), and a table wider
    than the column scrolls inside its own box. ``compact`` uses a smaller type and narrower
    wrapped columns.

    At most :data:`MAX_COLUMNS` columns are shown: ``main`` (default: the first ones); the whole
    table then follows in a collapsed "All N columns" section. ``key`` names the columns a reader
    must see without scrolling sideways (default: the first column, and both of a name/value
    table); they are marked ``class="key"`` and the browser test checks them at 390 px.
    """
    from IPython.display import HTML

    if isinstance(frame, pd.Series):
        frame = frame.rename_axis(frame.index.name or "").reset_index()
        frame.columns = [str(frame.columns[0]), str(frame.columns[1])]
        first, second = frame.columns
        frame.columns = ["" if first == "index" else first, "value" if second == "0" else second]
    elif index:
        frame = frame.reset_index()
        frame = frame.rename(columns={"index": ""})
    has_missing = bool(frame.map(lambda v: v is None or (isinstance(v, float) and math.isnan(v)))
                       .to_numpy().any())
    if has_missing and not missing:
        raise ValueError("the table has missing values: say why with missing='…'")
    cols = list(frame.columns)
    shown = list(main) if main is not None else cols[:MAX_COLUMNS]
    unknown = [c for c in shown if c not in cols]
    if unknown or len(shown) > MAX_COLUMNS:
        raise ValueError(f"main columns {shown} must be at most {MAX_COLUMNS} of {cols}")
    keys = set(key) if key is not None else set(cols[:2] if len(cols) == 2 else cols[:1])
    if len(cols) == 2:  # a name/value table: long values wrap, so the values stay in the column
        wrap = {*wrap, cols[1]}
    html_of = _Renderer(formats=dict(formats or {}), digits=digits, wrap=set(wrap), escape=escape,
                        compact=compact, caption=caption, keys=keys)
    body = html_of(frame[shown])
    if len(shown) < len(cols):
        body += (f'<details class="full-table"><summary>All {len(cols)} columns</summary>'
                 f'{html_of(frame)}</details>')
    note = (f'<p class="table-note">{EM_DASH} {html.escape(missing)}</p>'
            if has_missing and missing else "")
    return HTML(body + note)


class _Renderer:
    """One DataFrame as the book's HTML table (the cells of :func:`table`)."""

    def __init__(self, *, formats: Mapping[str, Any], digits: int, wrap: set[str], escape: bool,
                 compact: bool, caption: str | None, keys: set[str]) -> None:
        self.formats, self.digits, self.wrap, self.escape = formats, digits, wrap, escape
        self.compact, self.caption, self.keys = compact, caption, keys

    def _classes(self, col: Any, value: Any = None, head: bool = False) -> str:
        cls = []
        if col in self.wrap:
            cls.append("wrap")
        elif not head and isinstance(value, (int, float)) and not isinstance(value, bool):
            cls.append("num")
        if col in self.keys:
            cls.append("key")
        return f' class="{" ".join(cls)}"' if cls else ""

    def __call__(self, frame: pd.DataFrame) -> str:
        head = "".join(f"<th{self._classes(c, head=True)}>{html.escape(powers_of_ten(names.in_text(str(c))))}</th>"
                       for c in frame.columns)
        rows = []
        for _, row in frame.iterrows():
            cells = []
            for col in frame.columns:
                text = _cell(row[col], self.formats.get(col), self.digits)
                text = _code(html.escape(text) if self.escape else text)
                cells.append(f"<td{self._classes(col, row[col])}>{text}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<div class="book-table{" compact" if self.compact else ""}" '
                f'style="overflow-x:auto;max-width:100%"><table>{cap}<thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table></div>')


def glossary_html() -> Any:
    """The methods page's glossary (:func:`weakness_lib.views.names.glossary`) as a rendered table:
    reader's name, symbol, unit, meaning and the stored column (as code)."""
    import html

    return table(names.glossary(), index=True, escape=False, wrap=["meaning"], formats={
        "stored as": lambda k: f"<code>{html.escape(k)}</code>",
        **dict.fromkeys(("symbol", "unit", "meaning"), html.escape)})
