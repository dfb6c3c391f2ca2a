"""The rendered book in a real browser: every page of the table of contents loads in headless
Chromium, with the right title and headings, no broken images, no JavaScript errors from the
book's own assets, and math rendered (MathJax is served by the book itself, so no raw `\\(` or `$$` TeX
is left in the text). On chapter pages every plot is a figure numbered within its chapter ("Fig. 3.2")
with a visible caption and an alt text that describes it (not a file path), and no visible code block,
output or display formula is wider than the content column at a 1280-pixel-wide window (a formula may
neither scroll nor be clipped). Screenshots go to _build/screenshots/ for a human to look at.

All requests to hosts other than 127.0.0.1 are blocked, so this also checks that the book's own
content does not depend on a CDN. Skipped (with the reason) where Chromium is not installed, except
under CI=true, where `make test` installs it and a missing browser is a failure.
"""
import functools
import http.server
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# Errors raised by the pinned third-party theme itself, not by the book's content; each is harmless:
# - sphinx-thebe 0.3.1 inserts its inline config script twice on notebook pages, so the second
#   `const THEBE_JS_URL` declaration fails (the first one stays in force, live code still works);
# - pydata-sphinx-theme logs an error on a first visit, when no light/dark mode is stored yet.
KNOWN_THEME_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _require_browser():
    missing = None
    if CHROMIUM is None:
        missing = "headless Chromium is not installed (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {missing}; `make test` should have installed it")
        pytest.skip(f"browser check skipped: {missing}")


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part.get("chapters", [])]
    return pages


def build_book(out: pathlib.Path) -> pathlib.Path:
    """Build the English book into ``out`` with ``-W`` (every warning an error); its HTML folder."""
    jb = pathlib.Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out / "_build" / "html"


def serve(html: pathlib.Path):
    """Serve ``html`` on 127.0.0.1 while the generator is alive; yields the site's address."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _require_browser()
    yield from serve(build_book(tmp_path_factory.mktemp("book")))


def expected_title(page: str) -> str:
    """The first level-1 heading of the source page."""
    src = ROOT / f"{page}.ipynb"
    if src.exists():
        import nbformat
        nb = nbformat.read(src, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    else:
        text = (ROOT / f"{page}.md").read_text()
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip().replace("`", "")      # inline code renders without its backticks
    raise AssertionError(f"{page} has no level-1 heading")


# Visible text outside code blocks that still holds TeX delimiters, i.e. math MathJax did not render.
RAW_TEX = r"""() => {
    const main = document.querySelector('main').cloneNode(true);
    main.querySelectorAll('pre, code, .highlight, mjx-container, script, style').forEach(e => e.remove());
    return (main.innerText.match(/.{0,30}(\\\(|\\\[|\$\$).{0,30}/g) || []);
}"""
# Visible code blocks and outputs that scroll sideways.
OVERFLOWING = """() => Array.from(document.querySelectorAll(
        'main div.cell_input pre, main div.cell_output pre, main div.cell_output table, main div.highlight pre'))
    .filter(e => e.offsetParent !== null && e.clientWidth > 0 && e.innerText.trim() !== ''
            && !e.closest('details:not([open])') && e.scrollWidth > e.clientWidth + 1)
    .map(e => `${e.scrollWidth}>${e.clientWidth}px: ${e.innerText.split('\\n').find(l => l.length > 60) || ''}`
         .slice(0, 140))"""
# Display math that does not fit the content column: its container scrolls sideways, or the typeset formula
# reaches past the column's edge (clipped).
MATH_TOO_WIDE = """() => Array.from(document.querySelectorAll('main mjx-container[display="true"]'))
    .filter(e => e.offsetParent !== null && !e.closest('details:not([open])'))
    .map(e => {
        const math = e.querySelector('mjx-math') || e;
        const inner = math.getBoundingClientRect();
        const column = (e.closest('article') || document.querySelector('main')).getBoundingClientRect();
        const parent = e.parentElement;
        const scrolls = e.scrollWidth > e.clientWidth + 1 || (parent && parent.scrollWidth > parent.clientWidth + 1);
        const clipped = inner.right > column.right + 1 || inner.left < column.left - 1;
        return (scrolls || clipped) ? `${Math.round(inner.width)} px wide in a ${Math.round(column.width)} px column: `
            + (e.getAttribute('aria-label') || e.textContent || '').slice(0, 80) : null;
    }).filter(m => m)"""
# Figures on a page: their caption text (with its number) and each image's alt text.
FIGURES = """() => Array.from(document.querySelectorAll('main article img')).map(img => {
    const fig = img.closest('figure');
    const cap = fig ? fig.querySelector('figcaption') : null;
    return {alt: img.getAttribute('alt') || '', src: img.getAttribute('src') || '',
            number: cap ? (cap.querySelector('.caption-number') || {}).innerText || '' : '',
            caption: cap ? cap.innerText.trim() : '', visible: cap ? cap.offsetParent !== null : false};
})"""


def looks_like_a_path(alt: str) -> bool:
    return bool(re.search(r"\.(png|jpe?g|svg|gif)$|^[\w./-]*/[\w./-]*$|^_build|^data:", alt.strip(), re.I))


def check_figures(tab, page):
    """Every image of a chapter is a numbered figure, numbered within its chapter ("Fig. 3.2", "Fig. A1.1"), with a
    visible caption and a describing alt text."""
    prefix = page.split("/")[-1].split("_")[0]
    chapter = prefix.lstrip("0") if prefix.isdigit() else prefix
    problems = []
    for k, fig in enumerate(tab.evaluate(FIGURES)):
        where = f"image {k + 1} ({fig['src'][-40:]})"
        if not fig["caption"] or not fig["visible"]:
            problems.append(f"{where}: no visible caption")
        elif not re.match(rf"(Fig\.|Figure) {chapter}\.\d+\b", fig["number"]):
            problems.append(f"{where}: caption without a number of chapter {chapter} ({fig['caption'][:40]!r})")
        alt = fig["alt"].strip()
        if len(alt) < 15 or looks_like_a_path(alt) or re.fullmatch(r"(fig(ure)?\.?\s*\d+)", alt, re.I):
            problems.append(f"{where}: alt text {alt!r} does not describe the figure")
    assert not problems, f"{page}: " + "; ".join(problems)


def test_path_detector():
    """Runs without a browser: what counts as an alt text that is only a file path."""
    assert looks_like_a_path("_build/jupyter_execute/abc123.png") and looks_like_a_path("images/x.svg")
    assert not looks_like_a_path("Loss falling over 200 steps of training, from 2.3 to 0.4")


@pytest.mark.parametrize("page", toc_pages())
def test_page_renders(page, site, browser):
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = ctx.new_page()
    external, errors = [], []

    def route(r):
        if r.request.url.startswith(site):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()
    tab.route("**/*", route)
    tab.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    tab.on("console", lambda m: errors.append(f"console: {m.text} ({m.location.get('url', '')})")
           if m.type == "error" and m.location.get("url", "").startswith(site)
           and "ERR_FAILED" not in m.text else None)
    url = f"{site}/{'index' if page == toc_pages()[0] else page}.html"
    response = tab.goto(url, wait_until="load")
    assert response is not None and response.status == 200, f"{url} did not load"
    tab.wait_for_timeout(300)

    title = expected_title(page)
    h1 = tab.locator("main h1").first.inner_text().replace("#", "").strip()
    assert h1 == title, f"{page}: first heading is {h1!r}, expected {title!r}"
    assert title in tab.title()
    if page.startswith(("chapters/0", "chapters/A")):
        assert tab.locator("main h2").count() >= 1, f"{page}: a chapter without section headings"

    broken = tab.evaluate("""() => Array.from(document.querySelectorAll('main img'))
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)""")
    assert not broken, f"{page}: broken images {broken}"
    n_images = tab.locator("main img").count()
    if page.startswith("chapters/0"):
        assert n_images >= 1, f"{page}: a chapter without a single figure"

    if "$" in (ROOT / (page + (".ipynb" if (ROOT / f"{page}.ipynb").exists() else ".md"))).read_text():
        assert tab.locator("main .math").count() >= 1, f"{page}: math is missing"
    if tab.locator("main .math").count():
        # MathJax is served by the book (every other host is blocked here): wait until it has typeset
        tab.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                              timeout=15000)
        tab.evaluate("() => MathJax.startup.promise")
        assert tab.locator("main mjx-container").count() >= 1, f"{page}: MathJax rendered nothing"
        raw = tab.evaluate(RAW_TEX)
        assert not raw, f"{page}: TeX source shown as text instead of rendered math: {raw}"
        if page.startswith("chapters/"):                 # the chapters and the reference pages
            wide_math = tab.evaluate(MATH_TOO_WIDE)
            assert not wide_math, f"{page}: display math clipped or scrolling at 1280 px: {wide_math}"

    if page.startswith(("chapters/0", "chapters/A")):
        check_figures(tab, page)
        wide = tab.evaluate(OVERFLOWING)
        assert not wide, (f"{page}: code or output wider than the content column at 1280 px "
                          f"(scrollWidth > clientWidth): {wide}")

    own_errors = [e for e in errors if not any(k in e for k in KNOWN_THEME_ERRORS)]
    assert not own_errors, f"{page}: JavaScript errors from the book's own assets: {own_errors}"
    tab.screenshot(path=str(shots / (page.replace("/", "__") + ".png")), full_page=False)
    ctx.close()
