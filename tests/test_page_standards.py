"""What every chapter page promises its reader, checked on the committed notebooks (no build, no kernel):

* machinery out of the way: a code cell that asserts a claim, glues a number or limits BLAS threads holds
  nothing else and is collapsed in every front end (``tests/machinery.py`` splits and marks such cells;
  this test uses its check);
* no machine talk in the prose: no load averages, CPU-seconds, shared or busy machines, BLAS-thread
  paragraphs, or the page's authoring history (speed is the subject of appendix A2 alone);
* figures a reader can read: every figure stored in a chapter's outputs is a PNG at most
  ``MAX_FIGURE_PX`` pixels wide (its text then renders at 8 pt or more in the content column) or a
  vector image;
* every numbered figure is referred to from the text with ``{numref}``.
"""
import base64
import json
import pathlib
import re
import struct

import pytest

import machinery

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
IDS = [p.name for p in CHAPTERS]
# The content column is about 730 px wide at a 1280 px window; a figure drawn at the default 100 dpi with
# 10 pt text and shown at that width keeps its text at 8 pt or more up to this width.
MAX_FIGURE_PX = 960


def notebook(path):
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell):
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


# ---------------------------------------------------------------------------------------------
# Machinery
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_machinery_cells_hold_nothing_else_and_are_collapsed(path):
    found = machinery.violations(notebook(path))
    assert not found, (f"{path.name}: run `python tests/machinery.py {path.relative_to(ROOT)}` "
                       "(it splits and marks without re-executing):\n" + "\n".join(found))


def test_machinery_check_on_a_small_notebook():
    """The check and the tool on a made-up notebook: a mixed cell is split, its glue output moves with the
    glue call, its printed output stays, and a second run changes nothing."""
    glue_out = {"output_type": "display_data", "data": {"application/papermill.record/text/plain": "1"},
                "metadata": {"scrapbook": {"name": "x", "mime_prefix": "application/papermill.record/"}}}
    printed = {"output_type": "stream", "name": "stdout", "text": "2\n"}
    nb = {"cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "outputs": [printed, glue_out],
         "source": "from rnnbook.book import glue\nx = 1 + 1\nglue('x', x, display=False)\nprint(x)\nassert x == 2"},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 2, "outputs": [],
         "source": "# The claim, checked\nassert x > 1, 'x grows'"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert len(machinery.violations(nb)) == 4          # a: other code, output, markers; b: markers
    changed, problems = machinery.process(nb)
    assert changed and not problems and not machinery.violations(nb)
    content, mach, claim = nb["cells"]
    assert content["source"] == "x = 1 + 1\nprint(x)" and content["outputs"] == [printed]
    assert mach["source"].startswith("#@title ") and mach["outputs"] == [glue_out]
    assert "glue('x', x, display=False)" in mach["source"] and "assert x == 2" in mach["source"]
    assert mach["metadata"]["jupyter"]["source_hidden"] and mach["metadata"]["cellView"] == "form"
    assert claim["source"] == "#@title The claim, checked\nassert x > 1, 'x grows'"
    before = json.dumps(nb, sort_keys=True)
    assert machinery.process(nb) == (False, []) and json.dumps(nb, sort_keys=True) == before


def test_machinery_refuses_an_unsafe_split():
    nb = {"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "outputs": [],
                     "source": "x = 1\nassert x == 1\nx = 2\nprint(x)"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    changed, problems = machinery.process(nb)
    assert not changed and problems and "cannot split safely" in problems[0]


# ---------------------------------------------------------------------------------------------
# Machine talk
# ---------------------------------------------------------------------------------------------
MACHINE_TALK = re.compile("|".join([
    r"load average", r"CPU[- ]seconds?", r"seconds of CPU", r"minutes of CPU",
    r"(shared|busy|quiet|loaded|authors'|build) (\d-core )?machine", r"machine that (built|builds)",
    r"\bBLAS threads?\b", r"single thread", r"threadpoolctl", r"multithreaded BLAS",
    r"earlier version of this", r"about this page",
]), re.I)
SPEED_PAGE = "A2_speed.ipynb"                         # speed, and the machine it ran on, are its subject


def machine_talk(text):
    return [m.group(0) for m in MACHINE_TALK.finditer(text)]


def test_machine_talk_detector():
    assert machine_talk("on a shared machine, about 210 CPU-seconds; **About this page.**") == [
        "shared machine", "CPU-seconds", "About this page"]
    assert machine_talk("asks NumPy's BLAS for a single thread (`threadpoolctl`)") == ["single thread",
                                                                                      "threadpoolctl"]
    assert machine_talk("An earlier version of this chapter looked for cells") == ["earlier version of this"]
    assert machine_talk("the machine translation literature; the model scores 0.5") == []


@pytest.mark.parametrize("path", [p for p in CHAPTERS if p.name != SPEED_PAGE],
                         ids=[p for p in IDS if p != SPEED_PAGE])
def test_no_machine_talk_in_the_prose(path):
    bad = [(i, phrase) for i, c in enumerate(notebook(path)["cells"]) if c["cell_type"] == "markdown"
           for phrase in machine_talk(source(c))]
    assert not bad, f"{path.name}: machine talk in the prose (speed belongs in appendix A2): {bad}"


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------
def png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def figures(path):
    """(cell index, figure name, width, height) of every PNG in the notebook's outputs."""
    out = []
    for i, c in enumerate(notebook(path)["cells"]):
        if c["cell_type"] != "code":
            continue
        name = c.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name", "")
        for o in c.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                w, h = png_size(base64.b64decode("".join(png) if isinstance(png, list) else png))
                out.append((i, name, w, h))
    return out


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_figures_fit_the_content_column(path):
    wide = [f"cell {i} {name or '(unnamed)'}: {w} x {h} px" for i, name, w, h in figures(path) if w > MAX_FIGURE_PX]
    assert not wide, (f"{path.name}: figures wider than {MAX_FIGURE_PX} px (their text renders below 8 pt in the "
                      "content column; split or re-lay-out the panels, e.g. two rows instead of one):\n"
                      + "\n".join(wide))


def figure_names(path):
    """Names of the numbered figures of a chapter: code cells' mystnb figure names and {figure} directives."""
    names = []
    for c in notebook(path)["cells"]:
        if c["cell_type"] == "code":
            name = c.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
            if name:
                names.append(name)
        else:
            for block in re.findall(r"[`:]{3,}\{figure\}.*?\n(.*?)[`:]{3,}", source(c), re.S):
                names += re.findall(r"^:name:\s*([\w-]+)", block, re.M)
    return names


def numrefs():
    found = set()
    for path in CHAPTERS:
        for c in notebook(path)["cells"]:
            if c["cell_type"] == "markdown":
                found.update(re.findall(r"\{numref\}`(?:[^`<]*<)?([\w-]+)>?`", source(c)))
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_figure_is_referred_to(path):
    missing = [n for n in figure_names(path) if n not in numrefs()]
    assert not missing, f"{path.name}: figures no text refers to (add {{numref}}`name` in the prose): {missing}"


# ---------------------------------------------------------------------------------------------
# One notation
# ---------------------------------------------------------------------------------------------
NOTATION = ROOT / "chapters" / "notation.md"


def chapter_markdown(stem):
    path = ROOT / "chapters" / f"{stem}.ipynb"
    return "\n".join(source(c) for c in notebook(path)["cells"] if c["cell_type"] == "markdown")


def notation_tables():
    """{table heading: [(symbols as TeX, chapter stem)]} of the notation page's symbol tables."""
    tables, heading = {}, "main"
    for line in NOTATION.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("# ").strip()
        m = re.match(r"\|(.*)\|\s*\{doc\}`([\w-]+)`\s*\|\s*$", line)
        if m:
            symbols = [part for tex in re.findall(r"\$([^$]+)\$", m.group(1).split("|")[0])
                       for part in re.split(r",\s*(?![^{]*\})", tex)]
            tables.setdefault(heading, []).append((symbols, m.group(2)))
    return tables


def squash(tex):
    return re.sub(r"\s+|&", "", tex)


def test_one_time_index_everywhere():
    """Steps 1..T with h_0 before the first: no h_{-1} or 0..T-1 counting on the notation page or in a chapter."""
    zero_based = re.compile(r"[hcx]_\{-1\}|0,\s*\\dots,\s*T\s*-\s*1|from \$0\$ to \$T\s*-\s*1\$")
    texts = {"notation.md": NOTATION.read_text(encoding="utf-8")}
    texts.update({p.name: chapter_markdown(p.stem) for p in CHAPTERS})
    bad = {name: zero_based.findall(text) for name, text in texts.items() if zero_based.search(text)}
    assert not bad, f"time counted from 0 (the book counts steps 1..T, with h_0 before the first): {bad}"
    assert "$h_0$" in texts["notation.md"]


def test_notation_page_symbols_appear_in_their_chapters():
    tables = notation_tables()
    assert "Symbols reused with another meaning" in tables and len(tables) >= 2
    missing = []
    for heading, rows in tables.items():
        for symbols, stem in rows:
            text = squash(chapter_markdown(stem))
            missing += [f"${s}$ ({stem})" for s in symbols if squash(s) not in text]
    assert not missing, f"symbols of the notation page that their chapter never writes: {missing}"


def test_chapters_link_the_notation_page_where_they_reuse_a_symbol():
    rows = notation_tables()["Symbols reused with another meaning"]
    unlinked = sorted({stem for _, stem in rows if "<notation-reused>`" not in chapter_markdown(stem)})
    assert not unlinked, ("chapters that reuse a symbol with another meaning but do not link the notation page: "
                          f"{unlinked}")


def test_the_u_w_form_matches_the_autograd_article():
    """U is the recurrent matrix and W the input matrix, without a bias, on the notation page and in appendix A1."""
    page = squash(NOTATION.read_text(encoding="utf-8"))
    a1 = squash(chapter_markdown("A1_autodiff"))
    for text in (page, a1):
        assert squash(r"f_t = \sigma(U_f h_{t-1} + W_f x_t)") in text
        assert "U_fx_t" not in text and "W_fh_{t-1}" not in text


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_figure_names_are_unique(path):
    names = figure_names(path)
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"{path.name}: figure names given to more than one cell (a split copied them?): {twice}"
