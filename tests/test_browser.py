"""The rendered book, checked page by page in Debian's headless Chromium (offline), as a reader
sees it at a desktop width (1280 px) and on a phone (390 px).

By default the ``smoke_book`` fixture (conftest.py) builds the smoke book once; with
``WEAKNESS_BOOK_HTML=_build/html`` the tests check an already built book instead (e.g. the
published full-scale one after ``make book``; ``WEAKNESS_BOOK_SCALE`` names the claim files it
shows, default ``full``). The site is served by ``http.server`` on 127.0.0.1 and every page of
``_toc.yml`` is opened with Playwright driving ``/usr/bin/chromium`` (never a downloaded browser).

Per page and width: HTTP 200, no console error, no uncaught exception, no failed or ≥ 400 request;
no horizontal page scroll and no element wider than the content column unless it scrolls inside
its own container (wide tables may); no visible ``nan``, ``NaN`` or ``None`` in a rendered table,
nor ``nan``/``NaN`` or a Python boolean in the prose; every image of the article decoded with a
natural width ≥ 600 px, and every figure's smallest text displayed at ≥ 9 CSS px (computed from
the font size and dpi its PNG records and the width the browser shows it at); every internal link (and its ``#anchor``) resolves; math typeset by the
local MathJax. The landing page shows the headline figure; the scorecard lists every claim file and
links each claim to a chapter of the toc. Full-page screenshots of every page at both widths are
written to ``_build/artifacts/screenshots/<width>/`` for a person to look at.

Without ``/usr/bin/chromium`` the tests skip, except under CI (``$CI`` set), where they fail:
``.ci/run`` installs the Debian package ``chromium``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag
from urllib.request import urlopen

import pytest
import yaml

from weakness_lib.core.paths import project_root
from weakness_lib.publish.offline import external_assets
from weakness_lib.views import style, tables

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCORECARD_PAGE = "book/generated/scorecard"
CHAPTER_PAGE = "book/generated/01_reparameterisation"
LANDING_PAGE = "book/intro"
#: viewport widths: a desktop browser and a phone
WIDTHS = (1280, 390)
#: the smallest natural width of an image in the article (a high-dpi figure)
MIN_IMAGE_WIDTH = 600
#: words that must never appear as rendered values
NAN_RE = re.compile(r"\b(nan|NaN|None)\b")
PROSE_RE = re.compile(r"\b(nan|NaN|True|False)\b")
#: MathJax typesets asynchronously; wait at most this long (ms) for it on one page
MATHJAX_TIMEOUT_MS = 30_000


def toc_pages(toc: Path) -> list[str]:
    """Every ``file`` of a jupyter-book ``_toc.yml`` (root first, then parts/chapters/sections)."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    pages = [data["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk([{"parts": data.get("parts", [])}, {"chapters": data.get("chapters", [])}])
    return [str(Path(p).with_suffix("")) for p in pages]


PAGES = toc_pages(project_root() / "_toc.yml")


class _Ids(HTMLParser):
    """Collects every ``id`` (and ``<a name>``) of an HTML document: the valid ``#anchors``."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value and (key == "id" or (tag == "a" and key == "name")):
                self.ids.add(value)


@functools.lru_cache(maxsize=256)
def fetch(url: str) -> tuple[int, frozenset[str]]:
    """HTTP status of ``url`` and, for HTML, the ids its anchors may point at."""
    try:
        with urlopen(url, timeout=10) as resp:  # noqa: S310 (localhost only)
            body = resp.read()
            status = resp.status
            ctype = resp.headers.get("Content-Type", "")
    except OSError as exc:  # HTTPError is an OSError
        return getattr(exc, "code", 0) or 0, frozenset()
    if "html" not in ctype:
        return status, frozenset()
    parser = _Ids()
    parser.feed(body.decode("utf-8", errors="replace"))
    return status, frozenset(parser.ids)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@dataclass
class Site:
    """The built book served on localhost."""

    root: Path
    base: str
    claims: list[str]
    claims_dir: Path


@dataclass
class PageReport:
    """What one page load produced."""

    status: int | None = None
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    math_nodes: int = 0
    mjx_containers: int = 0
    mjx_errors: int = 0
    math_untypeset: int = 0
    text: str = ""
    prose: str = ""
    table_cells: list[str] = field(default_factory=list)
    first_cells: list[str] = field(default_factory=list)
    table_links: list[list[str]] = field(default_factory=list)
    page_scroll: list[int] = field(default_factory=list)
    overflowing: list[str] = field(default_factory=list)
    first_screen: dict = field(default_factory=dict)
    column_width: int = 0
    keys_off_screen: list[str] = field(default_factory=list)
    keys_seen: int = 0
    open_table_columns: list[int] = field(default_factory=list)


def require_chromium() -> None:
    """Skip without Chromium on a developer machine; fail under CI."""
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} not found: install Debian's browser with "
        "`apt-get update && apt-get install -y chromium` (.ci/run does this)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {message}")
    pytest.skip(message)


def _built_book(request) -> tuple[Path, Path]:
    """(html folder, claims folder): ``$WEAKNESS_BOOK_HTML`` if set, else the smoke book."""
    given = os.environ.get("WEAKNESS_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").exists():
            pytest.fail(f"WEAKNESS_BOOK_HTML={given} has no index.html")
        scale = os.environ.get("WEAKNESS_BOOK_SCALE", "full")
        results = Path(os.environ.get("WEAKNESS_RESULTS", project_root() / "results"))
        return html, results / scale / "claims"
    out, errors, build_error = request.getfixturevalue("smoke_book")
    if errors or build_error:
        pytest.fail(f"the smoke book did not build: notebooks {sorted(errors)}; {build_error}")
    return out / "_build" / "html", out / "results" / "smoke" / "claims"


@pytest.fixture(scope="module")
def site(request) -> Iterator[Site]:
    """Serve the built book's ``_build/html`` on 127.0.0.1 (a free port) in a thread."""
    require_chromium()
    html, claims_dir = _built_book(request)
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    claims = sorted(p.stem for p in claims_dir.glob("*.json"))
    try:
        yield Site(root=html, base=f"http://127.0.0.1:{server.server_address[1]}/", claims=claims,
                   claims_dir=claims_dir)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    """Playwright driving Debian's Chromium with a fresh profile, offline except localhost."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def visited(site, browser) -> dict[tuple[str, int], PageReport]:
    """Load every toc page once per width (reports cached for the per-page tests) and save a
    full-page screenshot of each under ``_build/artifacts/screenshots/<width>/``."""
    reports = {}
    for width in WIDTHS:
        shots = project_root() / "_build" / "artifacts" / "screenshots" / str(width)
        shots.mkdir(parents=True, exist_ok=True)
        context = browser.new_context(viewport={"width": width, "height": 900})
        try:
            for page in PAGES:
                name = page.replace("/", "__") + ".png"
                reports[page, width] = visit(context, site.base + page + ".html", shots / name)
        finally:
            context.close()
    return reports


_INSPECT_JS = """
async () => {
  const imgs = Array.from(document.querySelectorAll('article img, .bd-article img'));
  for (const img of imgs) { img.loading = 'eager'; }
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const rect = article.getBoundingClientRect();
  const box = {left: Math.max(rect.left, 0), right: Math.min(rect.right, window.innerWidth)};
  // an element may stick out of the column only inside a container that scrolls sideways and
  // itself fits the column (a wide table in its scroll box); anything else is cut off or forces
  // the page to scroll
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const overflowing = [];
  for (const el of article.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || el.closest('mjx-assistive-mml')) continue;  // clipped, for screen readers
    if (r.right <= box.right + 1 && r.left >= box.left - 1) continue;
    let contained = false;
    for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
      const ar = a.getBoundingClientRect();
      if (scrolls(a) && ar.right <= box.right + 1 && ar.left >= box.left - 1) { contained = true; break; }
    }
    if (!contained) {
      overflowing.push(`<${el.tagName.toLowerCase()} class="${el.className}"> ${Math.round(r.left)}–` +
                       `${Math.round(r.right)} px, column ${Math.round(box.left)}–${Math.round(box.right)} px`);
    }
  }
  const clone = article.cloneNode(true);
  // code is not prose, nor is a signature of the API reference (book/api.md: `bias=True`)
  clone.querySelectorAll('pre, code, .cell_input, .sig, script, style').forEach(e => e.remove());
  return {
    images: imgs.map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                              naturalWidth: img.naturalWidth, shownWidth: img.clientWidth})),
    column_width: article.clientWidth,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    math_nodes: document.querySelectorAll('.math').length,
    mjx_containers: document.querySelectorAll('mjx-container').length,
    mjx_errors: document.querySelectorAll('mjx-merror').length,
    math_untypeset: Array.from(document.querySelectorAll('.math'))
      .filter(e => !e.querySelector('mjx-container')).length,
    text: document.body.innerText,
    prose: clone.textContent,
    table_cells: Array.from(article.querySelectorAll('table td, table th')).map(c => c.innerText.trim()),
    first_cells: Array.from(document.querySelectorAll('table tr'))
      .map(tr => tr.querySelector('td, th')).filter(c => c).map(c => c.innerText.trim()),
    table_links: Array.from(article.querySelectorAll('table tr'))
      .map(tr => tr.querySelector('td a[href]')).filter(a => a).map(a => [a.innerText.trim(), a.href]),
    page_scroll: [document.documentElement.scrollWidth, window.innerWidth],
    // where the answer sits, in page coordinates: a chapter's result box, the landing page's
    // short conclusion and headline figure (null when the page has none)
    first_screen: (() => {
      const at = (sel, edge) => {
        const el = document.querySelector(sel);
        return el ? el.getBoundingClientRect()[edge] + window.scrollY : null;
      };
      return {viewport: window.innerHeight, result_box: at('.result-box', 'top'),
              answer: at('.conclusion', 'top'), answer_bottom: at('.conclusion', 'bottom'),
              figure: at('.headline-figure img', 'top')};
    })(),
    overflowing: overflowing.slice(0, 10),
    // key columns of the visible tables whose header ends right of the column (off-screen until
    // the reader scrolls the table sideways)
    keys_off_screen: Array.from(article.querySelectorAll('.book-table th.key'))
      .filter(th => !th.closest('details') && th.getBoundingClientRect().right > box.right + 1)
      .map(th => th.innerText.trim() || '(first column)'),
    keys_seen: article.querySelectorAll('.book-table th.key').length,
    // tables shown open (not inside a collapsed section) and their column counts
    open_table_columns: Array.from(article.querySelectorAll('table'))
      .filter(t => !t.closest('details') && !t.closest('.sig'))
      .map(t => Math.max(0, ...Array.from(t.rows).map(r => r.cells.length))),
  };
}
"""

_MATHJAX_READY_JS = """
async () => {
  if (!document.querySelector('.math')) return true;
  const start = Date.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - start > TIMEOUT_MS) return false;
    await new Promise(r => setTimeout(r, 50));
  }
  await MathJax.startup.promise;
  return true;
}
""".replace("TIMEOUT_MS", str(MATHJAX_TIMEOUT_MS))


#: resolves once the fonts whose loading has started (those the typeset page uses) have loaded or
#: failed (a failure is a failed request)
_FONTS_READY_JS = "() => document.fonts.ready.then(() => document.fonts.status)"


def visit(context, url: str, screenshot: Path | None = None) -> PageReport:
    """Open ``url`` in a new tab and record everything the checks need."""
    report = PageReport()
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and report.console_errors.append(
        f"{m.text} @ {m.location.get('url', '')}"))
    page.on("pageerror", lambda e: report.page_errors.append(str(e)))
    page.on("requestfailed", lambda r: report.failed_requests.append(
        f"{r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and report.failed_requests.append(
        f"{r.url}: HTTP {r.status}"))
    try:
        response = page.goto(url, wait_until="load")
        report.status = response.status if response else None
        if not page.evaluate(_MATHJAX_READY_JS):
            report.page_errors.append("MathJax did not start")
        # the requests the book's pages make after "load" are MathJax's fonts (the images are loaded
        # eagerly and decoded by _INSPECT_JS). Not "networkidle", which also caught any other late
        # request but waited a fixed 500 ms per page with nothing left to load (17 s of the 50 s
        # that one pass over the book took at both widths)
        page.evaluate(_FONTS_READY_JS)
        info = page.evaluate(_INSPECT_JS)
        for key, value in info.items():
            setattr(report, key, value)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
            # what a reader sees before scrolling
            page.screenshot(path=str(screenshot.with_suffix(".first-screen.png")))
    finally:
        page.close()
    return report


def test_external_asset_detector():
    html = """<script src="https://cdn.example/x.js"></script><a href="https://ok.example">x</a>
    <link rel="stylesheet" href="//fonts.example/css"><img src="_images/a.png">"""
    assert external_assets(html) == ["https://cdn.example/x.js", "//fonts.example/css"]


def test_toc_lists_pages():
    assert PAGES[0] == LANDING_PAGE
    assert SCORECARD_PAGE in PAGES and CHAPTER_PAGE in PAGES
    assert len(set(PAGES)) == len(PAGES)


def test_value_patterns_catch_literals_and_spare_words():
    assert NAN_RE.search("0.3 nan 4") and NAN_RE.search("None") and NAN_RE.search("NaN")
    assert not NAN_RE.search("nonetheless, banana, nano")
    assert PROSE_RE.search("consistent: True") and not PROSE_RE.search("a true claim")


@pytest.mark.slow
def test_built_html_references_no_external_asset(site):
    offenders = {
        str(p.relative_to(site.root)): urls
        for p in site.root.rglob("*.html")
        if (urls := external_assets(p.read_text(encoding="utf-8", errors="replace")))
    }
    assert not offenders, offenders
    assert (site.root / "_static" / "mathjax" / "tex-chtml.js").exists()


PAGE_WIDTHS = [(p, w) for w in WIDTHS for p in PAGES]
PAGE_WIDTH_IDS = [f"{p.rsplit('/', 1)[-1]}@{w}" for p, w in PAGE_WIDTHS]


@pytest.mark.slow
@pytest.mark.parametrize(("page", "width"), PAGE_WIDTHS, ids=PAGE_WIDTH_IDS)
def test_page_loads_cleanly(visited, page: str, width: int):
    report = visited[page, width]
    assert report.status == 200, f"{page}.html: HTTP {report.status}"
    assert not report.console_errors, report.console_errors
    assert not report.page_errors, report.page_errors
    assert not report.failed_requests, report.failed_requests
    assert "Traceback" not in report.text


@pytest.mark.slow
@pytest.mark.parametrize(("page", "width"), PAGE_WIDTHS, ids=PAGE_WIDTH_IDS)
def test_nothing_wider_than_the_column(visited, page: str, width: int):
    report = visited[page, width]
    scroll_width, viewport = report.page_scroll
    assert scroll_width <= viewport + 1, f"{page} scrolls sideways at {width} px: {scroll_width} px"
    assert not report.overflowing, f"{page} at {width} px: cut off or forcing scroll: {report.overflowing}"


@pytest.mark.slow
@pytest.mark.parametrize(("page", "width"), PAGE_WIDTHS, ids=PAGE_WIDTH_IDS)
def test_no_missing_values_or_python_literals_shown(visited, page: str, width: int):
    report = visited[page, width]
    bad_cells = [c for c in report.table_cells if NAN_RE.search(c)]
    assert not bad_cells, f"{page}: table cells show {bad_cells[:10]}"
    bad_prose = sorted({m.group(0) for m in PROSE_RE.finditer(report.prose)})
    assert not bad_prose, f"{page}: the prose shows {bad_prose}"


@pytest.mark.slow
@pytest.mark.parametrize(("page", "width"), PAGE_WIDTHS, ids=PAGE_WIDTH_IDS)
def test_images_decoded_at_high_resolution(visited, page: str, width: int):
    images = visited[page, width].images
    bad = [img for img in images if not img["complete"] or img["naturalWidth"] < MIN_IMAGE_WIDTH]
    assert not bad, f"{page}: images not decoded or narrower than {MIN_IMAGE_WIDTH} px: {bad}"


def png_text(path: Path) -> dict[str, str]:
    """The text chunks of a PNG (where style.png records a figure's smallest font and dpi)."""
    from PIL import Image

    with Image.open(path) as im:
        return dict(getattr(im, "text", {}) or {})


def figure_text_px(site, image: dict, column_width: int) -> tuple[float | None, str]:
    """(smallest text size in CSS px as displayed, file name) of one image of a page: from the
    font size and dpi its PNG records and the width the browser shows it at (a figure inside a
    collapsed section is shown at most the column wide once opened)."""
    rel = unquote(urldefrag(image["src"])[0].removeprefix(site.base))
    meta = png_text(site.root / rel)
    if style.FONT_KEY not in meta:
        return None, rel
    shown = image["shownWidth"] or min(image["naturalWidth"], column_width, style.FIGURE_MAX_PX)
    return style.shown_px(float(meta[style.FONT_KEY]), float(meta[style.DPI_KEY]),
                          image["naturalWidth"], shown), rel


@pytest.mark.slow
@pytest.mark.parametrize(("page", "width"), PAGE_WIDTHS, ids=PAGE_WIDTH_IDS)
def test_figure_text_is_legible(site, visited, page: str, width: int):
    """Every figure's smallest text is displayed at ≥ style.MIN_TEXT_PX CSS pixels at this width,
    computed from its font size, its dpi and the width the browser shows it at."""
    report = visited[page, width]
    bad = []
    for image in report.images:
        px, name = figure_text_px(site, image, report.column_width)
        if px is None:
            bad.append(f"{name}: no font record (figures are written by weakness_lib.views.style.png)")
        elif px < style.MIN_TEXT_PX - 1e-6:
            bad.append(f"{name}: smallest text {px:.1f} px (shown {image['shownWidth']} of "
                       f"{image['naturalWidth']} px)")
    assert not bad, f"{page} at {width} px: {bad}"


@pytest.mark.slow
@pytest.mark.parametrize(("page", "width"), PAGE_WIDTHS, ids=PAGE_WIDTH_IDS)
def test_key_columns_on_screen(visited, page: str, width: int):
    """Every table's key columns (tables.table(key=...); by default its first) are within the
    column without scrolling the table sideways, on a desktop and on a phone."""
    assert not visited[page, width].keys_off_screen, (
        f"{page} at {width} px: key columns off-screen: {visited[page, width].keys_off_screen}")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_open_tables_have_at_most_seven_columns(visited, page: str):
    """A table shows at most tables.MAX_COLUMNS columns; a wider one is collapsed under them."""
    wide = [n for n in visited[page, 1280].open_table_columns if n > tables.MAX_COLUMNS]
    assert not wide, f"{page}: open tables with {wide} columns"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_math_rendered(visited, page: str):
    report = visited[page, WIDTHS[0]]
    assert report.mjx_errors == 0, f"{page}: {report.mjx_errors} MathJax errors"
    assert report.mjx_containers >= report.math_nodes, (
        f"{page}: {report.math_nodes} math nodes but {report.mjx_containers} typeset"
    )
    assert report.math_untypeset == 0, f"{page}: {report.math_untypeset} math nodes left as raw TeX"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(site, visited, page: str):
    broken = []
    for href in sorted(set(visited[page, WIDTHS[0]].links)):
        if not href.startswith(site.base):
            continue  # external hyperlinks are not followed (the test runs offline)
        target, anchor = urldefrag(href)
        status, ids = fetch(target)
        if status != 200:
            broken.append(f"{href}: HTTP {status}")
        elif anchor and target.endswith(".html") and unquote(anchor) not in ids:
            broken.append(f"{href}: no element with id {anchor!r}")
    assert not broken, f"{page}: {broken}"


CHAPTER_PAGES = [p for p in PAGES if p.startswith("book/generated/")]


@pytest.mark.slow
@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_launch_and_download_buttons(visited, page: str):
    links = visited[page, WIDTHS[0]].links
    stem = page.rsplit("/", 1)[-1]
    for host in ("mybinder.org", "colab.research.google.com"):
        launch = [u for u in links if host in u]
        assert launch, f"{page}: no {host} launch button"
        assert all(f"notebooks/{stem}.ipynb" in u for u in launch), launch  # the committed notebook
    assert any(u.endswith(f"_sources/{page}.ipynb") for u in links), f"{page}: no .ipynb download"


@pytest.mark.slow
@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_one_rerun_box_instead_of_the_parameter_cells(visited, page: str):
    text = visited[page, WIDTHS[0]].text
    assert text.count("Rerun this") == 1, f"{page}: expected one Rerun box"
    assert "# Parameters" not in text and "compute = False" not in text, (
        f"{page}: a raw parameters cell is shown")


@pytest.mark.slow
def test_every_toc_page_was_built(site):
    missing = [p for p in PAGES if not (site.root / f"{p}.html").exists()]
    assert not missing


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_landing_page_shows_the_headline_figure(visited, width: int):
    report = visited[LANDING_PAGE, width]
    figures = [img for img in report.images if img["naturalWidth"] >= MIN_IMAGE_WIDTH]
    assert figures, "the landing page shows no figure"
    assert "Does anything predict which of 100 identically trained networks" in report.text
    assert re.search(r"Of the \d+ claims tested, \d+ are reproduced", report.text)


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_the_answer_is_on_the_first_screen(site, visited, width: int):
    """The landing page's short conclusion and the top of its headline figure, and each chapter's
    result box, start within the first screen (the viewport before any scrolling)."""
    from weakness_lib.views.result_box import chapter_claims

    landing = visited[LANDING_PAGE, width].first_screen
    assert landing["answer"] is not None and landing["answer"] < landing["viewport"], landing
    if width == WIDTHS[0]:  # on a desktop the figure starts on the first screen too
        assert landing["figure"] is not None and landing["figure"] < landing["viewport"], landing
    late = {}
    for page in CHAPTER_PAGES:
        if not set(chapter_claims(page.rsplit("/", 1)[-1])) & set(site.claims):
            continue  # a chapter without a derived claim has no result box
        seen = visited[page, width].first_screen
        if seen["result_box"] is None or seen["result_box"] > 0.8 * seen["viewport"]:
            late[page] = seen["result_box"]
    assert not late, f"result box missing or below the first screen at {width} px: {late}"


@pytest.mark.slow
def test_scorecard_lists_every_claim(site, visited):
    assert site.claims, "no claim files"
    report = visited[SCORECARD_PAGE, WIDTHS[0]]
    missing = [c for c in site.claims if c not in report.first_cells]
    assert not missing, f"claims missing from the rendered scorecard table: {missing}"
    for claim in site.claims:
        verdict = json.loads((site.claims_dir / f"{claim}.json").read_text(encoding="utf-8"))["verdict"]
        shown = {"partially_reproduced": "partially"}.get(verdict, verdict.replace("_", " "))
        assert shown in report.text, f"{claim}: verdict {verdict!r} not shown"


@pytest.mark.slow
def test_scorecard_links_each_claim_to_a_chapter(site, visited):
    """Every claim whose chapter is in the toc links to it, and every link resolves (a claim whose
    chapter is not in the toc yet is listed without a link)."""
    from weakness_lib.views.claims import chapter_of

    links = dict(visited[SCORECARD_PAGE, WIDTHS[0]].table_links)
    expected = {c: chapter_of(c, project_root() / "notebooks", PAGES) for c in site.claims}
    for claim, stem in expected.items():
        if stem is not None:
            assert links.get(claim) == f"{site.base}book/generated/{stem}.html", (claim, links.get(claim))
    assert sum(v is not None for v in expected.values()) >= min(len(site.claims), 10)
    for claim, href in links.items():
        assert fetch(href)[0] == 200, f"{claim}: {href} does not resolve"


@pytest.mark.slow
def test_screenshots_saved(visited):
    for width in WIDTHS:
        shots = project_root() / "_build" / "artifacts" / "screenshots" / str(width)
        for page in PAGES:
            shot = shots / (page.replace("/", "__") + ".png")
            assert shot.exists() and shot.stat().st_size > 10_000, shot
