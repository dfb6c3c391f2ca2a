"""The Chinese edition's catalogs and machinery (i18n/, locale/zh_CN/, _config_zh.yml, _toc_zh.yml).

The catalog checks read locale/zh_CN/LC_MESSAGES/*.po: how much of each page is translated (every page must be
listed in locale/zh_CN/translated.txt and be at least 99 % translated, none of it fuzzy), and, for every
translated message, that it keeps the English's roles, glue keys and math, parses as the same kind of block, and
shows no literal `**`. Each check is first shown to catch a bad translation. The machinery test builds a tiny book with
a pseudo-translated catalog (extraction, merge, Chinese build with -W) and looks at its HTML: glued numbers
inside translated sentences and translated headings that start with a number.
"""
import collections
import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml
from babel.messages.pofile import read_po, write_po
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "i18n"))
import rnnbook_i18n  # noqa: E402
import zh  # noqa: E402

LOCALE = ROOT / "locale" / "zh_CN"
GLOSSARY = "locale/zh_CN/glossary"
MIN_TRANSLATED = 0.99


def catalog_pages() -> list[str]:
    return sorted(p.relative_to(zh.CATALOGS).with_suffix("").as_posix() for p in zh.CATALOGS.rglob("*.po"))


def translated_pages() -> list[str]:
    """The pages declared translated (one per line in locale/zh_CN/translated.txt; # starts a comment)."""
    lines = (LOCALE / "translated.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def messages(page: str):
    """The (English, Chinese) pairs of a page's catalog that are translated and not fuzzy."""
    with (zh.CATALOGS / f"{page}.po").open("rb") as f:
        catalog = read_po(f)
    return [(m.id, m.string) for m in catalog if m.id and m.string and not m.fuzzy]


# --- what a translated message must keep ---------------------------------------------------------------------
ROLE = re.compile(r"\{([A-Za-z][\w:.-]*)\}`([^`]*)`")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\s](?:[^$]*[^$\s])?\$", re.S)
MD = create_md_parser(MdParserConfig(enable_extensions={"dollarmath", "amsmath", "colon_fence", "deflist"}),
                      RendererHTML)


def roles(text: str) -> collections.Counter:
    """The roles of a message with what they point at: a glue key with its format exactly, the target of a
    cross-reference (the text before `<target>` may be translated), the keys of a citation."""
    found = collections.Counter()
    for name, content in ROLE.findall(text):
        if not name.startswith("glue"):
            target = re.search(r"<([^<>]+)>\s*$", content)
            content = target[1] if target else content
        found[(name, content.strip())] += 1
    return found


def math(text: str) -> collections.Counter:
    return collections.Counter(m.strip() for m in MATH.findall(ROLE.sub("", text)))


def blocks(text: str, escape: bool = False) -> list[str]:
    """The top-level block structure of a message as MyST parses it; with `escape`, a leading list marker
    escaped first, as the extension does for headings."""
    return [t.type for t in MD.parse(rnnbook_i18n.escape_block_start(text) if escape else text) if t.level == 0]


def literal_bold(text: str) -> list[str]:
    """`**` left as text after parsing (e.g. `**...（SGD）**每次`: CommonMark does not close the bold there)."""
    html = re.sub(r"<code>.*?</code>", "", MD.render(text), flags=re.S)
    return re.findall(r".{0,12}\*\*.{0,12}", html)


def problems(msgid: str, msgstr: str) -> list[str]:
    found = []
    if roles(msgid) != roles(msgstr):
        found.append(f"roles differ: {dict(roles(msgid))} -> {dict(roles(msgstr))}")
    if math(msgid) != math(msgstr):
        found.append(f"math differs: {sorted(math(msgid))} -> {sorted(math(msgstr))}")
    # An English message that does not parse as a paragraph ("1. Recurrent neural networks") is a heading.
    heading = blocks(msgid) != blocks("A sentence.")
    if blocks(msgid, heading) != blocks(msgstr, heading):
        found.append(f"parses as {blocks(msgstr, heading)}, the English as {blocks(msgid, heading)}")
    if literal_bold(msgstr):
        found.append(f"literal ** (rephrase, or move the bold off the punctuation): {literal_bold(msgstr)}")
    return found


def test_the_checks_catch_bad_translations():
    glue = "The loss falls to {glue:text}`ch4_loss:.2f` nats ({numref}`Figure %s <fig-loss>`), with $h_0 = 0$."
    good = "损失降到 {glue:text}`ch4_loss:.2f` 奈特（{numref}`图 %s <fig-loss>`），其中 $h_0 = 0$。"
    assert problems(glue, good) == []
    assert problems(glue, good.replace("ch4_loss:.2f", "ch4_loss:.3f"))          # a changed glue format
    assert problems(glue, good.replace("{glue:text}`ch4_loss:.2f`", "0.12"))     # a glued number typed in
    assert problems(glue, good.replace("<fig-loss>", "<fig-lost>"))               # a changed target
    assert problems(glue, good.replace("$h_0 = 0$", "$h_1 = 0$"))                 # changed math
    assert problems(glue, good + "\n\n另一段。")                                   # two paragraphs
    assert problems("**Plain SGD (SGD)** takes", "**随机梯度下降（SGD）**每次")     # bold stays literal
    assert problems("**Plain SGD (SGD)** takes", "**随机梯度下降（SGD）** 每次") == []
    assert problems("1. Recurrent neural networks", "1. 循环神经网络") == []        # a numbered heading
    assert problems("A plain sentence.", "1. 一个列表项")                            # a paragraph turned list


def test_escape_block_start():
    esc = rnnbook_i18n.escape_block_start
    assert esc("1. 循环神经网络") == "1\\. 循环神经网络" and esc("12) 小结") == "12\\) 小结"
    assert esc("- 项") == "\\- 项" and esc("# 号") == "\\# 号"
    assert esc("1.1 序列") == "1.1 序列" and esc("2024 年") == "2024 年" and esc("-1 次") == "-1 次"


# --- the catalogs ------------------------------------------------------------------------------------------------
def test_catalogs_cover_the_english_toc():
    """One catalog per page of _toc.yml (the English-only API page apart), and no catalog of another page."""
    expected = sorted(p for p in zh.toc_pages(ROOT / "_toc.yml") if p not in zh.ENGLISH_ONLY)
    assert catalog_pages() == expected, "run `make catalogs` after changing _toc.yml"


def test_zh_toc_is_the_english_toc_with_the_glossary():
    en, cn = (yaml.safe_load((ROOT / name).read_text()) for name in ("_toc.yml", "_toc_zh.yml"))
    assert [p for p in zh.toc_pages(ROOT / "_toc_zh.yml") if p != GLOSSARY] == zh.toc_pages(ROOT / "_toc.yml")
    assert GLOSSARY in zh.toc_pages(ROOT / "_toc_zh.yml")
    assert len(cn["parts"]) == len(en["parts"])
    for part in cn["parts"]:
        assert re.search(r"[\u4e00-\u9fff]", part["caption"]), f"part caption {part['caption']!r} is not Chinese"


def test_coverage():
    """Per catalog: translated share and fuzzy count. Every page of the edition is declared translated, and each
    is >= 99 % done, none fuzzy (a changed English paragraph fails here until its translation is updated)."""
    declared = translated_pages()
    assert set(declared) <= set(catalog_pages()), "translated.txt names a page without a catalog"
    assert set(declared) == set(catalog_pages()), ("pages not declared translated: "
                                                   f"{sorted(set(catalog_pages()) - set(declared))}")
    rows, failing = [], []
    for page in catalog_pages():
        c = zh.counts(zh.CATALOGS / f"{page}.po")
        share = c["translated"] / max(c["messages"], 1)
        rows.append(f"{page:26} {c['messages']:5} messages {share:6.1%} translated {c['fuzzy']:3} fuzzy")
        if page in declared and (share < MIN_TRANSLATED or c["fuzzy"]):
            failing.append(rows[-1])
    print("\n".join(rows))
    assert not failing, "declared translated but not (update the catalog or translated.txt):\n" + "\n".join(failing)


@pytest.mark.parametrize("page", catalog_pages())
def test_translations_keep_the_markup(page):
    bad = [f"{msgid[:60]!r}: {'; '.join(p)}" for msgid, msgstr in messages(page) if (p := problems(msgid, msgstr))]
    assert not bad, f"{page}: " + "\n".join(bad)


def test_catalogs_are_written_by_make_catalogs():
    """Catalogs come from `make catalogs` (no locations, so line moves in the English change nothing); no .mo
    file is committed (the build compiles them)."""
    for po in zh.CATALOGS.rglob("*.po"):
        text = po.read_text()
        assert "\n#: " not in text and "python-brace-format" not in text, f"{po}: not written by `make catalogs`"
    tracked = subprocess.run(["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True, text=True).stdout
    assert tracked.strip() == "", f"compiled catalogs are committed: {tracked}"


def test_search_dictionary_lists_the_glossary_terms():
    table = (LOCALE / "glossary.md").read_text()
    terms = [m[1] for m in re.finditer(r"^\| ([^|]+?) \| [^|]+ \| ", table, re.M) if m[1] != "中文"]
    assert (LOCALE / "search_dict.txt").read_text().split() == terms


# --- the machinery, on a tiny book -------------------------------------------------------------------------------
PREFIX = "application/papermill.record/"     # how myst-nb's glue(..., display=False) stores a value
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
PAGE = {
    "nbformat": 4, "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# 1. Recurrent neural networks\n\n"
         "The loss falls to {glue:text}`tiny_loss:.2f` after {glue:text}`tiny_steps` steps."},
        {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1, "source": "glue(...)", "outputs": [
            {"output_type": "display_data", "metadata": {"scrapbook": {"name": name, "mime_prefix": PREFIX}},
             "data": {PREFIX + "text/plain": value}}
            for name, value in (("tiny_loss", "0.1234"), ("tiny_steps", "200"))]},
        {"cell_type": "markdown", "id": "m2", "metadata": {}, "source": "## 1.1 Sequences\n\nOrder matters."},
        {"cell_type": "code", "id": "c2", "execution_count": 2, "source": "plot()",
         "metadata": {"mystnb": {"figure": {"caption": "A loss curve.", "name": "fig-tiny"},
                                 "image": {"alt": "A line falling from left to right."}}},
         "outputs": [{"output_type": "display_data", "metadata": {},
                      "data": {"image/png": PNG, "text/plain": "<Figure>"}}]},
    ],
}
TRANSLATIONS = {
    "1. Recurrent neural networks": "1. 循环神经网络",
    "The loss falls to {glue:text}`tiny_loss:.2f` after {glue:text}`tiny_steps` steps.":
        "训练 {glue:text}`tiny_steps` 步之后，损失降到 {glue:text}`tiny_loss:.2f`。",
    "1.1 Sequences": "1.1 序列",
    "Order matters.": "顺序很重要。",
    "A loss curve.": "一条损失曲线。",
    "A line falling from left to right.": "一条从左向右下降的线。",
}


def tiny_book(path: pathlib.Path) -> pathlib.Path:
    book = path / "book"
    book.mkdir()
    (book / "page.ipynb").write_text(json.dumps(PAGE))
    config = {"title": "Tiny", "only_build_toc_files": True, "execute": {"execute_notebooks": "off"},
              "sphinx": {"local_extensions": {"rnnbook_i18n": str(ROOT / "i18n")}, "config": {"numfig": True}}}
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_config_zh.yml").write_text((ROOT / "_config_zh.yml").read_text())
    for name in ("_toc.yml", "_toc_zh.yml"):
        (book / name).write_text(yaml.safe_dump({"format": "jb-book", "root": "page"}))
    return book


def test_pseudo_translated_book(tmp_path):
    """Extract, merge, translate, build with -W: glue and a numbered heading come out in Chinese; a changed
    English sentence then turns fuzzy with its previous English kept."""
    book = tiny_book(tmp_path)
    catalogs = book / "locale" / "zh_CN" / "LC_MESSAGES"
    assert zh.catalogs(book, catalogs) == {"page": {"messages": 6, "translated": 0, "fuzzy": 0,
                                                    "untranslated": 6}}
    po = catalogs / "page.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    assert {m.id for m in catalog if m.id} == set(TRANSLATIONS)
    for message in catalog:
        if message.id:
            message.string = TRANSLATIONS[message.id]
    with po.open("wb") as f:
        write_po(f, catalog, width=0)

    html = zh.build(book, tmp_path / "out") / "page.html"
    text = html.read_text()
    assert re.search(r"<h1>1\. 循环神经网络", text), "the numbered heading stayed English"
    assert re.search(r"训练 <span class=\"pasted-text\">200</span> 步之后，损失降到 "
                     r"<span class=\"pasted-text\">0.12</span>。", text), "glue lost in the translation"
    assert "1.1 序列" in text and "一条损失曲线。" in text and 'alt="一条从左向右下降的线。"' in text
    assert 'class="btn btn-sm language-switch"' in text and 'href="../page.html"' in text

    nb = json.loads((book / "page.ipynb").read_text())
    nb["cells"][2]["source"] = "## 1.1 Sequences\n\nOrder matters a lot."
    (book / "page.ipynb").write_text(json.dumps(nb))
    assert zh.catalogs(book, catalogs)["page"]["fuzzy"] == 1
    changed = po.read_text()
    assert '#, fuzzy\n#| msgid "Order matters."\nmsgid "Order matters a lot."\nmsgstr "顺序很重要。"' in changed


def test_shared_english_is_translated_once(tmp_path):
    """An exercise page and its solutions share prose: a translation made in one catalog fills the other."""
    from babel.messages.catalog import Catalog
    for page, text in (("exercises/01_rnn", "一个隐藏状态。"), ("solutions/01_rnn", "")):
        catalog = Catalog(locale="zh_CN")
        catalog.add("A hidden state.", text)
        catalog.add("Only here." if text else "Only there.", "")
        zh.write_catalog(catalog, tmp_path / f"{page}.po")
    zh.share_translations(tmp_path, ["exercises/01_rnn", "solutions/01_rnn"])
    with (tmp_path / "solutions" / "01_rnn.po").open("rb") as f:
        filled = {m.id: m.string for m in read_po(f) if m.id}
    assert filled == {"A hidden state.": "一个隐藏状态。", "Only there.": ""}
    assert "#. same English as in exercises/01_rnn" in (tmp_path / "solutions" / "01_rnn.po").read_text()
