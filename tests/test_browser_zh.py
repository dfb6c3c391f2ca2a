"""The Chinese edition in a real browser: both editions are built once (English, then Chinese into its zh_CN
folder, as `make book` does) and every page of _toc_zh.yml is opened in headless Chromium. Each loads in
Chinese (the page's language, the sidebar's part captions), with its images and numbered figures, its math
typeset, no JavaScript error from the book's own assets, and a language switch that leads to the same page of
the English edition, whose own switch leads back. Pages declared translated (locale/zh_CN/translated.txt) and
the glossary must read in Chinese, figure captions included. The search box finds 梯度 (jieba segments the
Chinese text; the glossary holds the term).

Requests to other hosts are blocked. Skipped, with the reason, where Chromium is not installed, except under
CI=true (see tests/test_browser.py, whose browser helpers this reuses).
"""
import pathlib
import re
import sys

import pytest

from test_browser import KNOWN_THEME_ERRORS, RAW_TEX, _require_browser, build_book, serve

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "i18n"))
import zh  # noqa: E402

GLOSSARY = "locale/zh_CN/glossary"
PAGES = zh.toc_pages(ROOT / "_toc_zh.yml")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Figures of the page: caption number, caption text, alt text.
FIGURES = """() => Array.from(document.querySelectorAll('main article img')).map(img => {
    const cap = img.closest('figure') ? img.closest('figure').querySelector('figcaption') : null;
    return {alt: img.getAttribute('alt') || '', src: (img.getAttribute('src') || '').slice(-40),
            number: cap ? (cap.querySelector('.caption-number') || {}).innerText || '' : '',
            caption: cap ? cap.innerText.trim() : ''};
})"""


# The text of the page that a translation can change: the article without code, outputs and the bibliography's
# entries, which stay English in both editions.
PROSE = """() => {
    const article = document.querySelector('main article').cloneNode(true);
    const english = 'script, style, pre, div.highlight, .cell_output, .citation-list';
    article.querySelectorAll(english).forEach(e => e.remove());
    return article.textContent;
}"""


def translated_pages() -> set[str]:
    lines = (ROOT / "locale" / "zh_CN" / "translated.txt").read_text().splitlines()
    return {line.split("#")[0].strip() for line in lines} - {""}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _require_browser()
    out = tmp_path_factory.mktemp("editions")
    html = build_book(out)
    zh.build(ROOT, out / "_build")
    yield from serve(html)


@pytest.fixture
def tab(site, browser):
    """A fresh tab that reaches only the local site and records the errors of the book's own scripts."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.errors = []
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(site) else r.abort())
    page.on("pageerror", lambda e: page.errors.append(f"page error: {e}"))
    page.on("console", lambda m: page.errors.append(f"console: {m.text}")
            if m.type == "error" and m.location.get("url", "").startswith(site) and "ERR_FAILED" not in m.text
            else None)
    yield page
    ctx.close()


def switch_target(tab) -> str:
    """The absolute URL the page's language switch leads to."""
    return tab.evaluate("() => document.querySelector('a.language-switch').href")


def open_page(tab, url: str) -> None:
    response = tab.goto(url, wait_until="load")
    assert response is not None and response.status == 200, f"{url} did not load"


@pytest.mark.parametrize("page", PAGES)
def test_zh_page(page, site, tab):
    url = f"{site}/zh_CN/{page}.html"
    open_page(tab, url)
    assert tab.evaluate("() => document.documentElement.lang") == "zh-CN"
    assert "章节" in tab.locator("nav.bd-links").first.inner_text(), f"{page}: sidebar captions are not Chinese"
    main = tab.evaluate(PROSE)
    if page in translated_pages() or page == GLOSSARY:
        assert len(CJK.findall(main)) > 0.3 * len(re.findall(r"\w", main)), f"{page}: mostly not Chinese"

    broken = tab.evaluate("""() => Array.from(document.querySelectorAll('main img'))
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)""")
    assert not broken, f"{page}: broken images {broken}"
    figures = tab.evaluate(FIGURES)
    if page.startswith("chapters/0"):
        assert figures, f"{page}: a chapter without a single figure"
        for fig in figures:
            assert re.match(r"图 ?\d+", fig["number"]), f"{page}: figure {fig['src']} is not numbered 图 N"
            if page in translated_pages():
                assert CJK.search(fig["caption"]) and CJK.search(fig["alt"]), f"{page}: {fig} not in Chinese"

    if tab.locator("main .math").count():
        tab.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=15000)
        tab.evaluate("() => MathJax.startup.promise")
        assert tab.locator("main mjx-container").count() >= 1, f"{page}: MathJax rendered nothing"
        assert not tab.evaluate(RAW_TEX), f"{page}: TeX source shown as text"

    english = f"{site}/{'chapters/intro' if page == GLOSSARY else page}.html"
    assert switch_target(tab) == english, f"{page}: the language switch leads elsewhere"
    errors = [e for e in tab.errors if not any(k in e for k in KNOWN_THEME_ERRORS)]
    assert not errors, f"{page}: {errors}"
    if page != GLOSSARY:
        open_page(tab, english)
        assert switch_target(tab) == url, f"{page}: the English page's switch does not lead back"


def test_switch_by_clicking(site, tab):
    """Both directions, clicked: the English chapter 3 to the Chinese one and back."""
    open_page(tab, f"{site}/chapters/03_lstm.html")
    tab.click("a.language-switch")
    tab.wait_for_load_state("load")
    assert tab.url == f"{site}/zh_CN/chapters/03_lstm.html"
    tab.click("a.language-switch")
    tab.wait_for_load_state("load")
    assert tab.url == f"{site}/chapters/03_lstm.html"


def test_search_finds_gradient(site, tab):
    """梯度 typed into the Chinese edition's search box finds the glossary."""
    open_page(tab, f"{site}/zh_CN/search.html")
    box = tab.locator("main input[name='q']").first
    box.fill("梯度")
    box.press("Enter")
    tab.wait_for_selector("#search-results ul.search li", timeout=20000)
    # Sphinx shows the hits one by one and writes the summary line only once every hit is listed.
    tab.wait_for_function("() => (document.querySelector('#search-results p.search-summary') || {}).innerText",
                          timeout=20000)
    hits = tab.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    assert f"{site}/zh_CN/{GLOSSARY}.html" in [h.split("?")[0].split("#")[0] for h in hits], hits
