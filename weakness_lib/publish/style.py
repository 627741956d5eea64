"""One figure and table style for every chapter of the book.

Figures
    :func:`apply` sets a seaborn theme with a colour-blind-safe palette, font sizes chosen for the
    rendered width of the book's content column, and high-dpi PNG output. Figures are sized with
    :func:`figsize` (one panel or a grid that fits the column) or :func:`facet` (seaborn's
    ``height``/``aspect`` for a FacetGrid of ``ncols`` columns), and shown with :func:`show`, which
    refuses a figure whose smallest text would render below :data:`MIN_DISPLAY_PT` at the column
    width.

Tables
    :func:`table` turns a DataFrame into HTML that fits the column: values rounded to meaningful
    digits, no pandas index, an em-dash for a missing value (with a note saying why), and a
    container that scrolls sideways inside the column instead of being cut off.

The geometry: the book's content column is about :data:`COLUMN_PX` CSS pixels wide at a 1280 px
window (pydata/sphinx-book theme), and a CSS pixel is 1/96 inch, so a figure
:data:`COLUMN_IN` inches wide is shown at its own size and a font of *s* pt reads as *s* pt.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

#: width of the book's content column at a 1280 px window, in CSS pixels (measured in Chromium)
COLUMN_PX = 690
#: CSS pixels per inch
CSS_PX_PER_IN = 96
#: the column width in inches: a figure this wide is displayed at 1:1
COLUMN_IN = COLUMN_PX / CSS_PX_PER_IN
#: resolution of the PNGs written into the book (natural width = inches × DPI ≥ 600 px)
DPI = 200
#: the smallest font size (pt) any figure text may have once scaled to the column
MIN_DISPLAY_PT = 8.0
#: colour-blind-safe palette (seaborn's "colorblind", after Wong 2011)
PALETTE = "colorblind"
EM_DASH = "—"
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

_FONTS = {
    "font.size": 10.5,
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "legend.title_fontsize": 10,
    "figure.titlesize": 11.5,
}


def apply() -> None:
    """Set the book's plotting theme (call once per chapter, after importing pyplot)."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper", palette=PALETTE, rc=_FONTS)
    mpl.rcParams.update({
        "figure.dpi": DPI, "savefig.dpi": DPI, "savefig.bbox": "tight",
        "figure.figsize": figsize(), "figure.constrained_layout.use": False,
        "legend.frameon": True, "legend.framealpha": 0.9, "axes.titlepad": 6,
    })
    try:  # the inline backend's own figure format: plain PNG (no 'retina' width metadata)
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # pragma: no cover - outside Jupyter
        pass
    pd.set_option("display.precision", 4)


def figsize(nrows: int = 1, ncols: int = 1, *, panel_aspect: float = 0.72,
            width: float = COLUMN_IN) -> tuple[float, float]:
    """(width, height) in inches of an ``nrows × ncols`` grid that spans the column.

    ``panel_aspect`` is each panel's height / width (plus room for titles and tick labels).
    """
    if nrows < 1 or ncols < 1:
        raise ValueError("a figure needs at least one row and one column")
    panel_w = width / ncols
    return (width, round(nrows * panel_w * panel_aspect + 0.35, 2))


def grid(n: int, max_cols: int = 2) -> tuple[int, int]:
    """(rows, cols) for ``n`` panels, at most ``max_cols`` wide: 4 → 2×2, 3 → 2×2, 2 → 1×2."""
    if n < 1:
        raise ValueError("need at least one panel")
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def facet(ncols: int, *, panel_aspect: float = 0.8, legend_in: float = 0.0) -> dict[str, float]:
    """``height`` and ``aspect`` for a seaborn FacetGrid/relplot of ``ncols`` columns that fits
    the column (``legend_in``: inches kept free on the right for an outside legend)."""
    panel_w = (COLUMN_IN - legend_in) / ncols
    height = panel_w * panel_aspect
    return {"height": round(height, 3), "aspect": round(panel_w / height, 3)}


def regrid(fig: Any, nrows: int, ncols: int, *, panel_aspect: float = 0.72) -> Any:
    """Move the axes of ``fig`` (in order) into an ``nrows × ncols`` grid sized for the column,
    e.g. a figure built as one row of four panels into a 2×2 grid."""
    from matplotlib.gridspec import GridSpec

    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    if len(axes) > nrows * ncols:
        raise ValueError(f"{len(axes)} axes do not fit a {nrows}×{ncols} grid")
    fig.set_size_inches(*figsize(nrows, ncols, panel_aspect=panel_aspect))
    gs = GridSpec(nrows, ncols, figure=fig)
    for ax, spec in zip(axes, gs, strict=False):
        ax.set_subplotspec(spec)
    fig.tight_layout()
    return fig


def legend_below(grid: Any, ncol: int = 4, title: str | None = None) -> Any:
    """A seaborn FacetGrid's legend moved under the panels, the figure back to the column width
    (seaborn widens it for a legend on the right) and laid out; returns the figure."""
    import seaborn as sns

    fig = grid.figure
    sns.move_legend(grid, "lower center", bbox_to_anchor=(0.5, 0), ncol=ncol, title=title,
                    frameon=False)
    height = fig.get_size_inches()[1]
    rows = math.ceil(len(grid.legend.texts) / ncol)
    fig.set_size_inches(COLUMN_IN, height + 0.2 * rows)
    fig.tight_layout(rect=(0, (0.12 + 0.2 * rows) / (height + 0.2 * rows), 1, 1))
    return fig


def log_ticks(ax: Any, axis: str = "y") -> None:
    """Readable ticks on a log axis: decades only when it spans several, else 1-2-5 steps, labelled
    as plain numbers (``20``, ``0.01``) where short, and no minor labels (they overlap)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = sorted(ax.get_ylim() if axis == "y" else ax.get_xlim())
    span = math.log10(hi / lo) if lo > 0 else 10
    subs = (1.0,) if span > 2.5 else (1.0, 2.0, 5.0)
    target.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    target.set_minor_formatter(NullFormatter())

    def label(v: float, _pos: Any) -> str:
        if v <= 0:
            return ""
        if 1e-3 <= v < 1e5:
            return f"{v:g}"
        exponent = math.floor(math.log10(v) + 1e-9)
        mantissa = v / 10 ** exponent
        power = str(exponent).translate(_SUPERSCRIPT)
        return f"10{power}" if abs(mantissa - 1) < 1e-9 else f"{mantissa:g}×10{power}"

    target.set_major_formatter(FuncFormatter(label))


def _text_sizes(fig: Any) -> list[float]:
    from matplotlib.text import Text

    return [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def display_scale(fig: Any) -> float:
    """Factor by which the figure's text is scaled when the saved (tight) PNG is shown in the
    column: 1 when it is at most the column width, smaller when the browser shrinks it."""
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    width_in = bbox.width + 2 * 0.1  # savefig's tight padding
    return min(1.0, COLUMN_IN / width_in)


def check(fig: Any) -> float:
    """The smallest displayed font size of ``fig`` (pt); raise ``ValueError`` below the minimum."""
    sizes = _text_sizes(fig)
    smallest = min(sizes) * display_scale(fig) if sizes else float("inf")
    if smallest < MIN_DISPLAY_PT - 1e-6:
        raise ValueError(
            f"figure text would render at {smallest:.1f} pt in the {COLUMN_PX} px column "
            f"(minimum {MIN_DISPLAY_PT:g} pt): size it with style.figsize/style.facet"
        )
    return smallest


def show(fig: Any = None) -> None:
    """Check the figure's legibility (:func:`check`) and display it (``plt.show``)."""
    import matplotlib.pyplot as plt

    fig = fig if fig is not None else plt.gcf()
    fig = getattr(fig, "figure", fig)  # a seaborn FacetGrid
    check(fig)
    plt.show()


def yes_no(value: Any) -> str:
    """A truth value as prose: yes / no (never a Python literal)."""
    return "yes" if bool(value) else "no"


def prose(text: str) -> str:
    """Replace Python literals in generated prose: True → yes, False → no, None → —, and a
    list's brackets and quotes (``['a', 'b']`` → a, b)."""
    import re

    text = re.sub(r"\[((?:'[^']*'(?:, )?)+)\]", lambda m: m.group(1).replace("'", ""), text)
    text = re.sub(r"`?\b((?:not_|partially_)?reproduced)\b`?", lambda m: m.group(1).replace("_", " "), text)
    text = re.sub(r"\bTrue\b", "yes", text)
    text = re.sub(r"\bFalse\b", "no", text)
    return re.sub(r"\bNone\b", EM_DASH, text)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
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
    if float(x).is_integer() and abs(x) < 1e7:
        return f"{int(x):,}"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        mantissa, exponent = f"{x:.{max(1, digits - 1)}e}".split("e")
        power = str(int(exponent)).translate(_SUPERSCRIPT)
        return f"{mantissa.replace('-', '−')} × 10{power}"
    text = f"{round(x):,}" if abs(x) >= 10 ** digits else f"{x:.{digits}g}"
    return text.replace("-", "−")


def _cell(value: Any, fmt: Callable[[Any], str] | str | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EM_DASH
    if callable(fmt):
        return fmt(value)
    if isinstance(fmt, str):
        return fmt.format(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_number(v, digits) for v in value)
    return fmt_number(value, digits)


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
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for col in frame.columns:
            text = _cell(row[col], formats.get(col), digits)
            text = html.escape(text) if escape else text
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
