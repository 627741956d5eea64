"""One figure style for every chapter of the book (the table style is :mod:`weakness_lib.views.tables`).

Figures
    :func:`apply` sets a seaborn theme with a colour-blind-safe palette, font sizes chosen for the
    rendered width of the book's content column, and high-dpi PNG output. Figures are sized with
    :func:`figsize` (one panel or a grid :data:`FIG_IN` wide) or :func:`facet` (seaborn's
    ``height``/``aspect`` for a FacetGrid of ``ncols`` columns), and shown with :func:`show`, which
    refuses a figure whose smallest text would be displayed below :data:`MIN_TEXT_PX` CSS pixels on
    a phone or on a desktop. Every PNG records its smallest font and its dpi (:func:`png`), so the
    browser test can compute the displayed text size of each figure from what the browser shows.

Tables
    are :mod:`weakness_lib.views.tables` (same column geometry, :data:`EM_DASH` for a missing value).

The geometry: the book's content column is about :data:`COLUMN_PX` CSS pixels wide at a 1280 px
window and :data:`PHONE_COLUMN_PX` at a 390 px phone (sphinx-book theme; figures are capped at
:data:`FIGURE_MAX_PX` by the stylesheet of :mod:`weakness_lib.publish.site`). A PNG ``W`` inches wide at :data:`DPI` is
``W·DPI`` pixels, shown shrunk to the column, so a font of *s* pt is displayed at

    s / 72 · min(column, W·DPI) / W   CSS pixels.

On the phone that is the binding width: figures are designed :data:`FIG_IN` inches wide (panels
stacked rather than side by side where needed).
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from typing import Any

import pandas as pd

#: width of the book's content column at a 1280 px window, in CSS pixels (measured in Chromium)
COLUMN_PX = 690
#: CSS pixels per inch
CSS_PX_PER_IN = 96
#: width of the content column at a 390 px phone viewport, in CSS pixels (measured in Chromium)
PHONE_COLUMN_PX = 358
#: the widest a figure is displayed (CSS px, ``weakness.css`` of :mod:`weakness_lib.publish.site`), so its text is
#: not enlarged beyond the prose on a desktop
FIGURE_MAX_PX = 640
#: the design width of a figure (inches): legible on the phone with the fonts of :func:`apply`
FIG_IN = 5.0
#: resolution of the PNGs written into the book (natural width = inches × DPI ≥ 600 px)
DPI = 200
#: the smallest size (CSS px) figure text may be displayed at, on the phone and on the desktop
MIN_TEXT_PX = 9.0
#: the PNG text chunks in which each figure records its smallest font (pt) and its dpi
FONT_KEY, DPI_KEY = "weakness:smallest-font-pt", "weakness:dpi"
#: colour-blind-safe palette (seaborn's "colorblind", after Wong 2011)
PALETTE = "colorblind"
EM_DASH = "—"
#: digits and minus as superscripts (powers of ten in tick labels and table cells)
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

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
        from IPython import get_ipython
        from matplotlib.figure import Figure

        shell = get_ipython()
        if shell is not None:  # every figure the notebook shows or glues is written by png()
            shell.display_formatter.formatters["image/png"].for_type(Figure, png)
    except ImportError:  # pragma: no cover - outside Jupyter
        pass
    pd.set_option("display.precision", 4)


def png(fig: Any) -> bytes:
    """``fig`` as the book's PNG: tight, at :data:`DPI`, with its smallest font (pt) and its dpi
    stored as PNG text (:data:`FONT_KEY`, :data:`DPI_KEY`) for the browser test."""
    buf = io.BytesIO()
    fig.canvas.print_figure(buf, format="png", dpi=DPI, bbox_inches="tight")
    sizes = _text_sizes(fig, draw=False)  # the print has drawn every text
    return _with_text(buf.getvalue(), {FONT_KEY: f"{min(sizes):g}" if sizes else "inf", DPI_KEY: f"{DPI:g}"})


def _with_text(data: bytes, text: dict[str, str]) -> bytes:
    """The PNG ``data`` with a ``tEXt`` chunk (length, type, key NUL value, CRC-32) per item of
    ``text``, inserted before the closing ``IEND`` chunk (PNG specification, section 11.3.4.3)."""
    def chunk(body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))

    end = data.rindex(b"IEND") - 4  # the IEND chunk starts with its 4-byte length
    return data[:end] + b"".join(chunk(f"{k}\0{v}".encode("latin-1")) for k, v in text.items()) + data[end:]


def figsize(nrows: int = 1, ncols: int = 1, *, panel_aspect: float = 0.72,
            width: float = FIG_IN) -> tuple[float, float]:
    """(width, height) in inches of an ``nrows × ncols`` grid :data:`FIG_IN` wide.

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
    :data:`FIG_IN` (``legend_in``: inches kept free on the right for an outside legend)."""
    panel_w = (FIG_IN - legend_in) / ncols
    height = panel_w * panel_aspect
    return {"height": round(height, 3), "aspect": round(panel_w / height, 3)}


def legend_below(grid: Any, ncol: int = 4, title: str | None = None) -> Any:
    """A seaborn FacetGrid's legend moved under the panels, the figure back to the column width
    (seaborn widens it for a legend on the right) and laid out; returns the figure."""
    import seaborn as sns

    fig = grid.figure
    sns.move_legend(grid, "lower center", bbox_to_anchor=(0.5, 0), ncol=ncol, title=title,
                    frameon=False)
    height = fig.get_size_inches()[1]
    rows = math.ceil(len(grid.legend.texts) / ncol)
    fig.set_size_inches(FIG_IN, height + 0.2 * rows)
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
    target.set_major_locator(LogLocator(base=10, subs=subs, numticks=6))
    target.set_minor_formatter(NullFormatter())

    def label(v: float, _pos: Any) -> str:
        if v <= 0:
            return ""
        if 1e-3 <= v < 1e5:
            return f"{v:g}"
        exponent = math.floor(math.log10(v) + 1e-9)
        mantissa = v / 10 ** exponent
        power = str(exponent).translate(SUPERSCRIPT)
        return f"10{power}" if abs(mantissa - 1) < 1e-9 else f"{mantissa:g}×10{power}"

    target.set_major_formatter(FuncFormatter(label))


def _text_sizes(fig: Any, draw: bool = True) -> list[float]:
    """Font sizes (pt) of the visible, non-empty texts of ``fig``; tick labels get their text when
    drawn, so ``draw=False`` only right after a draw."""
    from matplotlib.text import Text

    if draw:
        fig.canvas.draw()
    return [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def tight_width_in(fig: Any) -> float:
    """Width (inches) of the PNG :func:`png` writes: the tight bounding box plus its padding."""
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    return bbox.width + 2 * 0.1  # savefig's tight padding


def text_px(font_pt: float, width_in: float, column_px: float) -> float:
    """CSS pixels at which a ``font_pt`` font is displayed in a figure ``width_in`` inches wide
    shown in a ``column_px`` column: ``font_pt / 72 · min(column, FIGURE_MAX_PX, W·DPI) / W``."""
    return font_pt / 72 * min(column_px, FIGURE_MAX_PX, width_in * DPI) / width_in


def shown_px(font_pt: float, dpi: float, natural_px: float, displayed_px: float) -> float:
    """CSS pixels at which a ``font_pt`` font of a PNG at ``dpi`` (``natural_px`` wide) is shown
    when the browser displays the image ``displayed_px`` wide: ``font_pt · dpi / 72 · displayed /
    natural``."""
    return font_pt * dpi / 72 * displayed_px / natural_px


def check(fig: Any) -> float:
    """The smallest displayed text size of ``fig`` (CSS px) over the phone and the desktop
    column; raise ``ValueError`` below :data:`MIN_TEXT_PX`."""
    width = tight_width_in(fig)  # draws the figure once
    sizes = _text_sizes(fig, draw=False)
    if not sizes:
        return float("inf")
    smallest = min(text_px(min(sizes), width, col) for col in (PHONE_COLUMN_PX, COLUMN_PX))
    if smallest < MIN_TEXT_PX - 1e-6:
        raise ValueError(
            f"figure text would be displayed at {smallest:.1f} px on a phone ({min(sizes):g} pt in a "
            f"figure {width:.2f} in wide; minimum {MIN_TEXT_PX:g} px): size it with style.figsize/style.facet"
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
