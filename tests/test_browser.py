"""The rendered book in a real browser: every page of the table of contents loads in headless
Chromium, with the right title and headings, no broken images, no JavaScript errors from the
book's own assets, and math present. Screenshots go to _build/screenshots/ for a human to look at.

All requests to hosts other than 127.0.0.1 are blocked, so this also checks that the book's own
content does not depend on a CDN. Skipped (with the reason) where Chromium is not installed, except
under CI=true, where `make test` installs it and a missing browser is a failure.
"""
import functools
import http.server
import os
import pathlib
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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _require_browser()
    out = tmp_path_factory.mktemp("book")
    jb = pathlib.Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html = out / "_build" / "html"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


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
        # MathJax comes from a CDN (blocked here): the TeX must at least be present in the page
        assert tab.locator("main .math").count() >= 1, f"{page}: math is missing"

    own_errors = [e for e in errors if not any(k in e for k in KNOWN_THEME_ERRORS)]
    assert not own_errors, f"{page}: JavaScript errors from the book's own assets: {own_errors}"
    tab.screenshot(path=str(shots / (page.replace("/", "__") + ".png")), full_page=False)
    ctx.close()
