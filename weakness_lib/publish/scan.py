"""Code identifiers in the rendered book's tables, and Python's e-notation anywhere in its text: a
reader should see names, not stored columns, and one number format (``2.8 × 10⁻¹⁶``, not ``2.8e-16``).

:func:`identifiers` reads one HTML page and returns every identifier in the text of its table
headers and cells (``<th>``/``<td>``), leaving out text inside ``<code>`` (file paths and commands
in code formatting are meant to be copied). An identifier is a word that
:mod:`weakness_lib.views.names` knows as a stored column (``w1_tau0.01``, ``mean_A_tau0.05``) or
that looks like snake_case (``wen_verdicts.accuracy_ci95``, ``p_holm``). :func:`scan` does this
for every page of a built book: ``python -m weakness_lib.publish.scan _build/html``.
:func:`e_notation` returns the numbers in e-notation in a page's text outside code, preformatted
blocks, scripts and styles (code shown as code may keep Python's format); :func:`scan` reports both.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from weakness_lib.views import names

#: a word with at least one underscore (the candidates); a symbol such as λ_max starts with no latin letter
_CANDIDATE = re.compile(r"(?<![\w.])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9.]+)+")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9.]+)+")


def is_identifier(word: str) -> bool:
    """True for a stored column names.py knows or a snake_case word (``p_Holm``, a symbol, is not)."""
    word = word.rstrip(".")
    return names.name(word) != names.Name(word) or _SNAKE.fullmatch(word) is not None


class _Cells(HTMLParser):
    """The text of every ``<th>``/``<td>``, without the text of ``<code>`` inside it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._cell = 0
        self._code = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("th", "td"):
            if self._cell == 0:
                self._text = []
            self._cell += 1
        elif tag == "code":
            self._code += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell:
            self._cell -= 1
            if self._cell == 0:
                self.cells.append("".join(self._text))
        elif tag == "code" and self._code:
            self._code -= 1

    def handle_data(self, data: str) -> None:
        if self._cell and not self._code:
            self._text.append(data)


#: a number as Python's e-notation writes it: 2.8e-16, 1e+05, 3E4
_E_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:\.\d+)?[eE][-+−]?\d+(?![\w.])")
#: elements whose text is code or not shown
_NOT_PROSE = ("code", "pre", "script", "style", "kbd", "samp")


class _Prose(HTMLParser):
    """The text of a page outside :data:`_NOT_PROSE` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        self._skip += tag in _NOT_PROSE

    def handle_endtag(self, tag: str) -> None:
        if tag in _NOT_PROSE and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def e_notation(page: str) -> list[str]:
    """Every number written in e-notation in the prose, tables and captions of one HTML page."""
    parser = _Prose()
    parser.feed(page)
    return list(dict.fromkeys(_E_NUMBER.findall(" ".join(parser.text))))


#: a sign written with a hyphen-minus (the book writes "−"): "-0.31", not "seed-0" nor "2026-12-04"
_HYPHEN_SIGN = re.compile(r"(?<![\w.\-])-\.?\d+(?:\.\d+)?")
#: TeX the browser typesets (MathJax): \( … \), \[ … \], $$ … $$
_TEX = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]|\$\$.*?\$\$", re.S)


def hyphen_signs(page: str) -> list[str]:
    """Every number whose sign is a hyphen-minus in the prose, tables and captions of one HTML page
    (maths and code aside)."""
    parser = _Prose()
    parser.feed(page)
    return list(dict.fromkeys(_HYPHEN_SIGN.findall(_TEX.sub(" ", " ".join(parser.text)))))


def identifiers(page: str) -> list[str]:
    """Every code identifier in the table headers and cells of one HTML page, in order, once each."""
    parser = _Cells()
    parser.feed(page)
    found = [w.rstrip(".") for cell in parser.cells for w in _CANDIDATE.findall(cell) if is_identifier(w)]
    return list(dict.fromkeys(found))


def scan(html_root: Path) -> dict[str, list[str]]:
    """``{page: identifiers, e-notation numbers and hyphen signs}`` for every page of a built book that shows any
    (paths relative to the root)."""
    out = {}
    for page in sorted(Path(html_root).rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        found = (identifiers(text) + [f"{n} (e-notation)" for n in e_notation(text)]
                 + [f"{n} (hyphen for a minus sign)" for n in hyphen_signs(text)])
        if found:
            out[str(page.relative_to(html_root))] = found
    return out


if __name__ == "__main__":  # pragma: no cover - a reader's command
    for page, found in scan(Path(sys.argv[1])).items():
        print(f"{page}: {', '.join(found)}")
