"""The book's teaching standards, checked on the sources (no build needed):

* cross-references in chapter prose are MyST roles, never plain text such as "chapter 3" or
  "Figure 5" (a chapter's own title line is allowed), and a role whose text names a chapter or a
  section number points at that chapter or section;
* every entry of ``chapters/references.bib`` is cited somewhere;
* the exercise-overlap measurement: how many graded solution functions are already printed in their
  chapter's code cells, the same up to the names of variables (at least 70 % token similarity once every
  local name is renamed canonically, or at least 60 % of the function's logical lines): a table, printed
  with ``-s``; a chapter may not exceed its allowance, which may only go down;
* the notation page's gate-reordering recipe agrees with the PyTorch conversion the LSTM tests use;
* every chapter stays within its cell limit (machinery cells count): a page a reader can hold in mind.
"""
import ast
import difflib
import io
import keyword
import json
import pathlib
import re
import tokenize
from textwrap import dedent

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def cells(path, kind):
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == kind]


def source(cell):
    return "".join(cell["source"])


# ---------------------------------------------------------------------------------------------
# Cross-references
# ---------------------------------------------------------------------------------------------
ROLE = re.compile(r"\{(?:ref|numref|doc|eq|cite[a-z:]*)\}`[^`]*`")
CODE = re.compile(r"``.*?``|`[^`]*`")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)
URL = re.compile(r"\]\([^)]*\)|https?://\S+")
# "chapter 3", "chapters 2 and 3", "section 2.4", "Figure 5", "table 1", "equation (3)", "appendix A1"
PLAIN = re.compile(r"\b(?:chapters?|sections?|§|figures?|fig\.|tables?|equations?|eq\.|appendix)"
                   r"\s*\(?(?:A\d|\d+(?:\.\d+)*)", re.I)


# a bare section number, "(4.1)" or "as in 3.4", counts when it is one of the chapter's own sections
BARE = re.compile(r"(?<![\w.,])((?:A\d|[1-6])\.\d{1,2})(?![\d%])")


def plain_references(text, sections=()):
    """Plain-text references left in a markdown cell once roles, code, math and links are removed."""
    found = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue                                  # headings, and the chapter's own title "# 3. LSTM gates"
        line = URL.sub(" ", MATH.sub(" ", CODE.sub(" ", ROLE.sub(" ", line))))
        found += [m.group(0) for m in PLAIN.finditer(line)]
        found += [m.group(1) for m in BARE.finditer(line) if m.group(1) in sections]
    return found


def section_numbers(path):
    """The numbers of a chapter's sections, from its headings ("## 2.4 ...")."""
    text = "\n".join(source(c) for c in cells(path, "markdown"))
    return set(re.findall(r"^#{2,3} ((?:A\d|\d+)\.\d+) ", text, re.M))


def test_plain_reference_detector():
    assert plain_references("as chapter 3 shows, and Section 2.4 and Figure 5") == ["chapter 3", "Section 2.4",
                                                                                      "Figure 5"]
    assert plain_references("chapters 2 and 3; see table 1 and equation (4); appendix A1") == [
        "chapters 2", "table 1", "equation (4", "appendix A1"]
    assert plain_references("# 3. LSTM gates\n## 3.1 The cell state") == []
    assert plain_references("{ref}`chapter 4 <ch-lm>` and {numref}`fig-unrolled` and `chapter 2` and "
                            "$\\text{figure } 2$ and https://example.org/chapter-2") == []
    assert plain_references("[chapter 2](02_bptt.ipynb)") == ["chapter 2"]     # a link, but its number is typed
    assert plain_references("the chapter's first section, 3 times") == []
    assert plain_references("the gradient check in 4.1 (4.2, 4.3), a rate of 4.1", sections={"4.1", "4.2"}) == [
        "4.1", "4.2", "4.1"]
    assert plain_references("{ref}`4.1 <sec-x>` and 0.5 and 4.12", sections={"4.1"}) == []


def test_logical_lines_ignore_formatting():
    one = 'x = f(a, "b c" "d")  # comment\nprint(f"{x} and {y}")'
    other = 'x = f(\n    a,\n    "b c"\n    "d",\n)\nprint(\n    f"{x}"\n    f" and {y}"\n)'
    assert logical_lines(one) == logical_lines(other) == ["x=f(a,'bcd')", "print(f'{x}and{y}')"]
    assert logical_lines("for i in range(3):\n    y = i  # c") == ["foriinrange(3):", "y=i"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_plain_text_cross_references(path):
    sections = section_numbers(path)
    bad = [(i, ref) for i, c in enumerate(cells(path, "markdown")) for ref in plain_references(source(c), sections)]
    assert not bad, (f"{path.name}: plain-text references (use {{ref}}, {{numref}}, {{doc}} or {{eq}} "
                     f"with a label): {bad}")


def chapter_number(stem):
    """'04_lm' -> '4', 'A1_autodiff' -> 'A1'."""
    prefix = stem.split("_")[0]
    return prefix.lstrip("0") if prefix.isdigit() else prefix


def labels():
    """Every MyST label of the chapters, mapped to (chapter number, the heading it labels)."""
    out = {}
    for path in CHAPTERS + sorted((ROOT / "chapters").glob("*.md")):
        if path.suffix == ".ipynb":
            text = "\n".join(source(c) for c in cells(path, "markdown"))
        else:
            text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^\(([\w-]+)\)=\s*\n(#+ .*)?", text, re.M):
            out[m.group(1)] = (chapter_number(path.stem), (m.group(2) or "").lstrip("# ").strip())
    return out


NAMED = re.compile(r"\{(ref|doc)\}`([^`<]*)<([^>`]+)>`")


def test_role_texts_name_the_right_chapter_and_section():
    """A role whose text says "chapter 4" or "section 2.6" must point into chapter 4 or at section 2.6."""
    known, wrong = labels(), []
    for path in CHAPTERS:
        for c in cells(path, "markdown"):
            for kind, text, target in NAMED.findall(source(c)):
                if kind == "doc":
                    where, heading = chapter_number(pathlib.PurePath(target.strip()).stem), ""
                else:
                    if target not in known:
                        continue                      # the build (-n -W) reports unknown labels
                    where, heading = known[target]
                for num in re.findall(r"chapters? (\d+|A\d)", text, re.I):
                    if num != where:
                        wrong.append(f"{path.name}: '{text.strip()}' points at chapter {where} ({target})")
                for num in re.findall(r"sections? (\d+\.\d+)", text, re.I):
                    if not heading.startswith(num + " "):
                        wrong.append(f"{path.name}: '{text.strip()}' points at '{heading}' ({target})")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------------------------------------
# Citations
# ---------------------------------------------------------------------------------------------
def bib_keys():
    return re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "chapters" / "references.bib").read_text(encoding="utf-8"),
                      re.M)


def cited_keys():
    texts = []
    for folder in ("chapters", "exercises", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            texts += [source(c) for c in cells(path, "markdown")]
        texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / folder).glob("*.md"))]
    keys = set()
    for text in texts:
        for group in re.findall(r"\{cite[a-z:]*\}`([^`]+)`", text):
            keys.update(k.strip() for k in group.split(","))
    return keys


def test_bibliography_has_no_duplicate_keys():
    keys = bib_keys()
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_every_bibliography_entry_is_cited():
    unused = sorted(set(bib_keys()) - cited_keys())
    assert not unused, f"chapters/references.bib entries that no page cites: {unused}"


# ---------------------------------------------------------------------------------------------
# Exercise overlap: graded functions whose body is already printed in the chapter
# ---------------------------------------------------------------------------------------------
# The counts of 2026-12-05 (names renamed, token similarity). They may only go down; the chapter issues bring
# each to at most 1.
OVERLAP_ALLOWANCE = {"01": 1, "02": 1, "03": 1, "04": 0, "05": 1, "06": 1, "A1": 0}
PRINTED_FRACTION = 0.6
TOKEN_SIMILARITY = 0.7


def logical_lines(src):
    """The code's logical lines (a statement split over several lines is one), normalised: a simple
    statement as ``ast.unparse`` writes it, a compound statement's header as its tokens, both without
    comments or whitespace. Reformatting a chapter's code (black, split strings) neither hides nor
    creates a match."""
    lines, out, current, first = src.split("\n"), [], [], None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if current:
                    text = dedent("\n".join(lines[first - 1:tok.start[0]]))
                    try:
                        out.append(re.sub(r"\s+", "", ast.unparse(ast.parse(text))))
                    except SyntaxError:           # a header such as "for x in xs:", or a fragment
                        out.append("".join(current))
                current, first = [], None
            elif tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
                current.append(tok.string)
                first = first or tok.start[0]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [re.sub(r"\s+", "", line.split("#", 1)[0]) for line in src.splitlines()]
    return [line for line in out if line]


def _body(node):
    """A function's statements without its docstring and imports."""
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]                               # the docstring is not code to type
    return [s for s in body if not isinstance(s, (ast.Import, ast.ImportFrom))]


def canonical_tokens(stmts, params=()):
    """The statements as a token stream, the same up to formatting and to the names of local variables: the code is
    written out by ``ast.unparse`` (no comments, one layout), then every name the code binds (parameters,
    assignment and loop targets, inner functions) becomes ``v0``, ``v1``, ... in order of first appearance.
    Attributes, globals, calls of library functions and keywords stay as they are."""
    local = set(params)
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                local.add(n.id)
            elif isinstance(n, ast.arg):
                local.add(n.arg)
            elif isinstance(n, ast.FunctionDef):
                local.add(n.name)
    text = "\n".join(ast.unparse(s) for s in stmts)
    names, out = {}, []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER,
                        tokenize.COMMENT):
            continue
        if tok.type == tokenize.NAME and tok.string in local and not keyword.iskeyword(tok.string):
            out.append(names.setdefault(tok.string, f"v{len(names)}"))
        else:
            out.append(tok.string)
    return out


def _params(node):
    return [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]


def graded_functions(solution):
    """(name, logical lines of the body, canonical tokens of the body) of every function in a 'graded' cell."""
    out = []
    for c in cells(solution, "code"):
        if "graded" not in c.get("metadata", {}).get("tags", []):
            continue
        src = source(c)
        for node in ast.parse(src).body:
            if not isinstance(node, ast.FunctionDef) or "__" in node.name.strip("_"):
                continue                              # a known mistake's variant (name__key) is no exercise
            lines = logical_lines(ast.get_source_segment(src, node))
            lines = lines[[ln.startswith("def") for ln in lines].index(True) + 1:]    # after the signature
            if isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
                lines = lines[1:]                     # the docstring is not code to type
            out.append((node.name, [ln for ln in lines if not ln.startswith(("import", "from"))],
                        canonical_tokens(_body(node), _params(node))))
    return out


def chapter_code(nn):
    """What a chapter shows, as canonical token streams: the body of every function it defines, and the
    top-level statements of every code cell outside its functions."""
    streams = []
    for path in (ROOT / "chapters").glob(f"{nn}_*.ipynb"):
        for c in cells(path, "code"):
            try:
                tree = ast.parse(source(c))
            except SyntaxError:
                continue
            streams += [canonical_tokens(_body(n), _params(n))
                        for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
            top = [s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.ClassDef, ast.Import,
                                                              ast.ImportFrom))]
            if top:
                streams.append(canonical_tokens(top))
    return streams


def token_similarity(graded, streams):
    """The best difflib ratio of the graded body's tokens against any stream the chapter shows."""
    best = 0.0
    for stream in streams:
        matcher = difflib.SequenceMatcher(None, graded, stream, autojunk=False)
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            best = max(best, matcher.ratio())
    return best


def overlap_table():
    """{chapter: (printed, number graded)}, printed a list of (name, measures): a graded function counts as printed
    when the chapter shows code that is the same up to the names of variables (token similarity of at least
    TOKEN_SIMILARITY) or at least PRINTED_FRACTION of its logical lines."""
    rows = {}
    for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
        nn = solution.stem.split("_")[0]
        chapter_lines = {line for path in (ROOT / "chapters").glob(f"{nn}_*.ipynb")
                         for c in cells(path, "code") for line in logical_lines(source(c))}
        streams = chapter_code(nn)
        graded, printed = graded_functions(solution), []
        for name, lines, tokens in graded:
            share = sum(line in chapter_lines for line in lines) / max(1, len(lines))
            similar = token_similarity(tokens, streams)
            if share >= PRINTED_FRACTION or similar >= TOKEN_SIMILARITY:
                printed.append((name, f"lines {share:.0%}, tokens {similar:.0%}"))
        rows[nn] = (printed, len(graded))
    return rows


def test_exercise_overlap_within_allowance():
    rows = overlap_table()
    table = ["chapter  printed/graded  functions already printed in the chapter (share of lines, token similarity)"]
    table += [f"{nn:>7}  {len(p):>7}/{n:<6}  {'; '.join(f'{name} ({how})' for name, how in p) or '-'}"
              for nn, (p, n) in rows.items()]
    print("\n" + "\n".join(table))
    assert set(rows) == set(OVERLAP_ALLOWANCE), "a solutions notebook without an allowance (or the reverse)"
    over = {nn: len(p) for nn, (p, _) in rows.items() if len(p) > OVERLAP_ALLOWANCE[nn]}
    assert not over, ("graded exercises that re-type a function the chapter prints, above the allowance "
                      f"{OVERLAP_ALLOWANCE}: {over}\n" + "\n".join(table))


def test_token_similarity_ignores_names_and_layout():
    one = ast.parse("def f(a, b):\n    s = a @ b  # product\n    return np.tanh(s)").body[0]
    two = ast.parse('def g(x, W):\n    "doc"\n    pre = (x @\n           W)\n    return np.tanh(pre)').body[0]
    other = ast.parse("def h(x, W):\n    return np.maximum(x, 0).sum() + W.mean()").body[0]
    t1, t2, t3 = (canonical_tokens(_body(n), _params(n)) for n in (one, two, other))
    assert t1 == t2 == ["v0", "=", "v1", "@", "v2", "return", "np", ".", "tanh", "(", "v0", ")"]
    assert token_similarity(t1, [t3]) < 0.5


# ---------------------------------------------------------------------------------------------
# The notation page's recipe
# ---------------------------------------------------------------------------------------------
def test_notation_page_gate_reordering_matches_the_torch_conversion():
    text = (ROOT / "chapters" / "notation.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    scope = {}
    exec(code, scope)                                 # noqa: S102 (the book's own snippet)
    reorder = scope["reorder_gates"]
    D, H = 3, 4
    Wx = np.random.default_rng(0).standard_normal((D, 4 * H))
    order = np.concatenate([np.arange(H, 2 * H), np.arange(0, H), np.arange(2 * H, 4 * H)])   # as tests/test_lstm.py
    np.testing.assert_array_equal(reorder(Wx, "figo", "ifgo").T, Wx[:, order].T)
    np.testing.assert_array_equal(reorder(reorder(Wx, "figo", "fgio"), "fgio", "figo"), Wx)
    b = np.arange(4 * H)
    assert list(reorder(b, "figo", "ifog")[::H] // H) == [1, 0, 3, 2]


# ---------------------------------------------------------------------------------------------
# Length: a page a reader can hold in mind (every cell counts, machinery cells included)
# ---------------------------------------------------------------------------------------------
CELL_LIMITS = {"01_rnn": 70, "02_bptt": 70, "03_lstm": 70, "04_lm": 60, "05_seq2seq": 80,
               "06_captioning": 70, "A1_autodiff": 45, "A2_speed": 20}


def test_every_chapter_has_a_cell_limit():
    assert {p.stem for p in CHAPTERS} == set(CELL_LIMITS), "a chapter without a cell limit (or the reverse)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_within_its_cell_limit(path):
    n = len(json.loads(path.read_text(encoding="utf-8"))["cells"])
    assert n <= CELL_LIMITS[path.stem], f"{path.name} has {n} cells, over its limit of {CELL_LIMITS[path.stem]}"
