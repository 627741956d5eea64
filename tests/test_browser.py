"""The rendered smoke book, checked page by page in Debian's headless Chromium (offline).

The ``smoke_book`` fixture (conftest.py) builds the book once; its ``_build/html`` is served by
``http.server`` on 127.0.0.1 and every page listed in the built ``_toc.yml`` is opened with
Playwright driving ``/usr/bin/chromium`` (never a downloaded browser). Per page: HTTP 200, no
console error, no uncaught exception, no failed or ≥ 400 request, every ``<img>`` decoded
(naturalWidth > 0), every internal link (and its ``#anchor``) resolves, and math typeset by the
local MathJax (one ``mjx-container`` per math node, no ``mjx-merror``). The scorecard must list
every claim file of the smoke run. Screenshots of the scorecard and chapter 01 are saved to
``_build/artifacts/``.

Without ``/usr/bin/chromium`` the tests skip, except under CI (``$CI`` set), where they fail:
``.ci/run`` installs the Debian package ``chromium``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
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
    first_cells: list[str] = field(default_factory=list)


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


@pytest.fixture(scope="module")
def site(smoke_book) -> Iterator[Site]:
    """Serve the smoke book's ``_build/html`` on 127.0.0.1 (a free port) in a thread."""
    require_chromium()
    out, errors, build_error = smoke_book
    if errors or build_error:
        pytest.fail(f"the smoke book did not build: notebooks {sorted(errors)}; {build_error}")
    html = out / "_build" / "html"
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    claims = sorted(p.stem for p in (out / "results" / "smoke" / "claims").glob("*.json"))
    try:
        yield Site(root=html, base=f"http://127.0.0.1:{server.server_address[1]}/", claims=claims)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser_context(site, tmp_path_factory):
    """A Playwright context on Debian's Chromium with a fresh profile, offline except localhost."""
    from playwright.sync_api import sync_playwright

    profile_dir = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def visited(site, browser_context) -> dict[str, PageReport]:
    """Load every toc page once (reports cached for the per-page tests); save screenshots."""
    artifacts = project_root() / "_build" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shots = {SCORECARD_PAGE: "scorecard.png", CHAPTER_PAGE: "chapter_01_reparameterisation.png"}
    return {
        page: visit(browser_context, site.base + page + ".html", artifacts / shots[page]
                    if page in shots else None)
        for page in PAGES
    }


_INSPECT_JS = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { img.loading = 'eager'; }
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  return {
    images: imgs.map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                              naturalWidth: img.naturalWidth})),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    math_nodes: document.querySelectorAll('.math').length,
    mjx_containers: document.querySelectorAll('mjx-container').length,
    mjx_errors: document.querySelectorAll('mjx-merror').length,
    math_untypeset: Array.from(document.querySelectorAll('.math'))
      .filter(e => !e.querySelector('mjx-container')).length,
    text: document.body.innerText,
    first_cells: Array.from(document.querySelectorAll('table tr'))
      .map(tr => tr.querySelector('td, th')).filter(c => c).map(c => c.innerText.trim()),
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
        page.wait_for_load_state("networkidle")
        info = page.evaluate(_INSPECT_JS)
        for key, value in info.items():
            setattr(report, key, value)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    return report


def test_external_asset_detector():
    html = """<script src="https://cdn.example/x.js"></script><a href="https://ok.example">x</a>
    <link rel="stylesheet" href="//fonts.example/css"><img src="_images/a.png">"""
    assert external_assets(html) == ["https://cdn.example/x.js", "//fonts.example/css"]


def test_toc_lists_pages():
    assert PAGES[0] == "book/intro"
    assert SCORECARD_PAGE in PAGES and CHAPTER_PAGE in PAGES
    assert len(set(PAGES)) == len(PAGES)


@pytest.mark.slow
def test_built_html_references_no_external_asset(site):
    offenders = {
        str(p.relative_to(site.root)): urls
        for p in site.root.rglob("*.html")
        if (urls := external_assets(p.read_text(encoding="utf-8", errors="replace")))
    }
    assert not offenders, offenders
    assert (site.root / "_static" / "mathjax" / "tex-chtml.js").exists()


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_loads_cleanly(visited, page: str):
    report = visited[page]
    assert report.status == 200, f"{page}.html: HTTP {report.status}"
    assert not report.console_errors, report.console_errors
    assert not report.page_errors, report.page_errors
    assert not report.failed_requests, report.failed_requests
    assert "Traceback" not in report.text


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_images_decoded(visited, page: str):
    bad = [img for img in visited[page].images if not img["complete"] or img["naturalWidth"] <= 0]
    assert not bad, f"{page}: images not decoded: {bad}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_math_rendered(visited, page: str):
    report = visited[page]
    assert report.mjx_errors == 0, f"{page}: {report.mjx_errors} MathJax errors"
    assert report.mjx_containers >= report.math_nodes, (
        f"{page}: {report.math_nodes} math nodes but {report.mjx_containers} typeset"
    )
    assert report.math_untypeset == 0, f"{page}: {report.math_untypeset} math nodes left as raw TeX"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(site, visited, page: str):
    broken = []
    for href in sorted(set(visited[page].links)):
        if not href.startswith(site.base):
            continue  # external hyperlinks are not followed (the test runs offline)
        target, anchor = urldefrag(href)
        status, ids = fetch(target)
        if status != 200:
            broken.append(f"{href}: HTTP {status}")
        elif anchor and target.endswith(".html") and unquote(anchor) not in ids:
            broken.append(f"{href}: no element with id {anchor!r}")
    assert not broken, f"{page}: {broken}"


@pytest.mark.slow
def test_every_toc_page_was_built(site):
    missing = [p for p in PAGES if not (site.root / f"{p}.html").exists()]
    assert not missing


@pytest.mark.slow
def test_scorecard_lists_every_claim(site, visited):
    assert site.claims, "the smoke run wrote no claim files"
    report = visited[SCORECARD_PAGE]
    missing = [c for c in site.claims if c not in report.first_cells]
    assert not missing, f"claims missing from the rendered scorecard table: {missing}"
    claims_dir = site.root.parent.parent / "results" / "smoke" / "claims"
    for claim in site.claims:
        verdict = json.loads((claims_dir / f"{claim}.json").read_text(encoding="utf-8"))["verdict"]
        assert verdict.replace("_", " ") in report.text, f"{claim}: verdict {verdict!r} not shown"


@pytest.mark.slow
def test_screenshots_saved(visited):
    artifacts = project_root() / "_build" / "artifacts"
    for name in ("scorecard.png", "chapter_01_reparameterisation.png"):
        shot = artifacts / name
        assert shot.exists() and shot.stat().st_size > 10_000, shot

