"""Keep a notebook's machinery out of the reader's way, in every front end.

Machinery is code a reader need not read to follow a chapter: the claim checks (``assert`` statements),
the ``glue(...)`` calls that hand numbers to the prose, ``threadpool_limits(...)``, and the setup cell.
This tool moves each piece into a cell of its own that starts with a one-line ``#@title`` comment, and
marks that cell collapsed wherever a front end looks for it:

* ``metadata.jupyter.source_hidden: true`` (JupyterLab, Notebook 7, VS Code);
* ``metadata.cellView: "form"`` (Colab, which shows the ``#@title`` line as the form's title);
* the tag ``hide-cell`` (the HTML book).

Usage (a contributor's tool, like ``tests/spread.py``)::

    python tests/machinery.py chapters/*.ipynb            # split and mark, in place
    python tests/machinery.py --check chapters/*.ipynb    # list what is left to do; exit 1 if anything is

Splitting never re-executes a notebook: the outputs of a split cell are divided between its parts (the
glue records, display data carrying myst-nb's ``scrapbook`` metadata, go with the glue calls; everything
else stays with the code that printed it; an assertion prints nothing), so nbval still passes on the
stored outputs. Machinery moves to a new cell right after the code it came from, keeping its own order,
and only when that cannot change what either part computes (a later statement of the cell neither
rebinds a name the machinery reads nor reads a name the machinery binds); a cell that cannot be split
that way is reported and left as it is. Running the tool twice changes nothing the second time.
``tests/test_book_standards.py`` runs :func:`violations` over every chapter.
"""
from __future__ import annotations

import argparse
import ast
import copy
import pathlib
import sys

import nbformat

HIDE_TAGS = ("hide-cell", "remove-cell")
TITLE = "#@title "
SETUP_PREFIXES = ("#@title Setup", "# Setup for Colab")
GLUE_IMPORTS = {"rnnbook.book", "myst_nb"}
# Calls that return None, so a cell may end with them without showing an extra result.
NONE_CALLS = {"print", "display", "plt.show", "plt.tight_layout", "plt.close", "fig.tight_layout",
              "np.set_printoptions", "np.random.seed", "plt.rcParams.update"}


# ------------------------------------------------------------------------------------------------
# What a statement is
# ------------------------------------------------------------------------------------------------
def _call_name(node) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _call_name(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    return ""


def _is_machinery_call(node) -> bool:
    return isinstance(node, ast.Call) and _call_name(node).split(".")[-1] in ("glue", "threadpool_limits")


def kind(stmt) -> str:
    """'machinery', 'quiet' (binds names, shows nothing) or 'content' for one top-level statement."""
    if isinstance(stmt, ast.Assert):
        return "machinery"
    if isinstance(stmt, ast.Expr) and _is_machinery_call(stmt.value):
        return "machinery"
    if isinstance(stmt, ast.Assign) and _is_machinery_call(stmt.value):
        return "machinery"                            # _ = threadpool_limits(1)
    if isinstance(stmt, ast.ImportFrom):
        names = {a.name for a in stmt.names}
        if stmt.module == "threadpoolctl" and names == {"threadpool_limits"}:
            return "machinery"
        if stmt.module in GLUE_IMPORTS and names == {"glue"}:
            return "machinery"
        return "content"                             # the page's imports are for the reader to see
    if isinstance(stmt, ast.Import):
        return "content"
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Pass, ast.Continue,
                         ast.Break, ast.Delete)):
        return "quiet"
    if isinstance(stmt, (ast.For, ast.While, ast.If, ast.With, ast.Try)):
        inner = [kind(s) for field in ("body", "orelse", "finalbody") for s in getattr(stmt, field, [])]
        inner += [kind(s) for h in getattr(stmt, "handlers", []) for s in h.body]
        if "content" in inner:
            return "content"
        return "machinery" if "machinery" in inner else "quiet"
    return "content"


def _names(stmt):
    """(names the statement binds, names it reads)."""
    binds, reads = set(), set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name):
            (binds if isinstance(node.ctx, (ast.Store, ast.Del)) else reads).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            binds.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            binds.add(node.name)
    return binds, reads


def _what(stmts) -> set:
    found = set()
    for s in stmts:
        for node in ast.walk(s):
            if isinstance(node, ast.Assert):
                found.add("assert")
            elif isinstance(node, ast.Call) and _call_name(node).split(".")[-1] in ("glue", "threadpool_limits"):
                found.add(_call_name(node).split(".")[-1])
            elif isinstance(node, ast.ImportFrom) and {a.name for a in node.names} == {"glue"}:
                found.add("glue")
    return found


def title_for(stmts) -> str:
    what = _what(stmts)
    if what == {"threadpool_limits"}:
        return "One BLAS thread: the small matrices of this page run fastest that way"
    if what == {"threadpool_limits", "glue"}:
        return "One BLAS thread (the small matrices of this page run fastest that way); glue for the text's numbers"
    if what == {"glue"}:
        return "Hand the numbers above to the text"
    if what == {"assert"}:
        return "Check the claims the text makes about the results above"
    return "Check the claims above and hand their numbers to the text"


# ------------------------------------------------------------------------------------------------
# Cells
# ------------------------------------------------------------------------------------------------
def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _parse(cell):
    try:
        return ast.parse(_source(cell))
    except SyntaxError:
        return None                                   # IPython magics and the like: not machinery


def is_setup_cell(cell) -> bool:
    return cell["cell_type"] == "code" and _source(cell).startswith(SETUP_PREFIXES)


def is_glue_output(output) -> bool:
    return output.get("output_type") == "display_data" and "scrapbook" in output.get("metadata", {})


def has_markers(cell) -> list[str]:
    """The collapse markers the cell lacks (empty when it has all of them)."""
    missing = []
    if not _source(cell).startswith(TITLE):
        missing.append("a first line '#@title ...'")
    if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden") is not True:
        missing.append("metadata jupyter.source_hidden: true")
    if cell.get("metadata", {}).get("cellView") != "form":
        missing.append('metadata cellView: "form"')
    if not set(HIDE_TAGS) & set(cell.get("metadata", {}).get("tags", [])):
        missing.append("the tag hide-cell")
    return missing


def mark(cell) -> None:
    md = cell.setdefault("metadata", {})
    md.setdefault("jupyter", {})["source_hidden"] = True
    md["cellView"] = "form"
    tags = md.setdefault("tags", [])
    if not set(HIDE_TAGS) & set(tags):
        tags.append("hide-cell")


def _kinds(tree):
    return [kind(s) for s in tree.body]


def _machinery(cell):
    """``(tree, kinds)`` of a code cell holding machinery, else ``None`` (no machinery, or not Python)."""
    tree = _parse(cell)
    if tree is None:
        return None
    kinds = _kinds(tree)
    return (tree, kinds) if "machinery" in kinds else None


def _segments(src: str, stmts) -> list[str]:
    """The source text of each statement, with the comments and blank lines just above it (and, for the
    last one, everything below it)."""
    lines = src.split("\n")
    out = []
    for k, s in enumerate(stmts):
        begin = stmts[k - 1].end_lineno if k else 0   # comments between two statements go with the later one
        end = s.end_lineno if k + 1 < len(stmts) else len(lines)
        out.append("\n".join(lines[begin:end]))
    return out


def _join(parts) -> str:
    text = "\n".join(parts)
    return text.strip("\n")


def plan_split(cell):
    """(content statements, machinery statements) indices for a cell to split, or a reason it cannot be."""
    tree = _parse(cell)
    kinds = _kinds(tree)
    n = len(kinds)
    mach = {i for i, k in enumerate(kinds) if k == "machinery"}
    content = [i for i in range(n) if i not in mach]
    # quiet statements at the end of the content whose names only the machinery reads go with it
    names = [_names(s) for s in tree.body]
    if any(a.end_lineno >= b.lineno for a, b in zip(tree.body, tree.body[1:])):
        return None, "two statements share a line"
    while content and kinds[content[-1]] == "quiet":
        i = content[-1]
        later_m = [j for j in mach if j > i]
        if not names[i][0] or not later_m or not all(any(b in names[j][1] for j in later_m) for b in names[i][0]):
            break
        mach.add(i)
        content.pop()
    for m in mach:
        for c in content:
            if c > m and (names[c][0] & (names[m][1] | names[m][0]) or names[m][0] & names[c][1]):
                return None, (f"statement {c + 1} ('{ast.unparse(tree.body[c])[:40]}') comes after machinery it "
                              f"interacts with ('{ast.unparse(tree.body[m])[:40]}')")
    last = tree.body[content[-1]] if content else None
    if last is not None and content[-1] != n - 1 and isinstance(last, ast.Expr):
        if _call_name(last.value) not in NONE_CALLS:
            return None, f"the cell would end with '{ast.unparse(last)[:40]}', whose value would then be shown"
    return (content, sorted(mach)), None


def _new_id(nb, base: str) -> str:
    used = {c.get("id") for c in nb["cells"]}
    stem = (base or "cell")[:58] + "-mach"
    candidate, k = stem, 1
    while candidate in used:
        k += 1
        candidate = f"{stem}{k}"
    return candidate


def _titled(src: str, stmts) -> str:
    if src.startswith(TITLE):
        return src
    lines = src.split("\n")
    first = lines[0]
    if first.startswith("# ") and not (len(lines) > 1 and lines[1].lstrip().startswith("#")) and len(first) <= 110:
        return TITLE + first[2:].strip() + ("\n" + "\n".join(lines[1:]) if len(lines) > 1 else "")
    return TITLE + title_for(stmts) + "\n" + src


def _silenced(last_segment: str, last, body: str) -> str:
    """``body`` with its last statement assigned to ``_`` when it is a call that returns a value (such as
    ``threadpool_limits(...)``): last in a cell of its own it would show that value, which it did not before."""
    name = _call_name(last.value) if isinstance(last, ast.Expr) else ""
    if not name or name in NONE_CALLS or name.split(".")[-1] == "glue" or not body.endswith(last_segment):
        return body
    stripped = last_segment.lstrip()
    lead = last_segment[: len(last_segment) - len(stripped)]
    return body[: len(body) - len(last_segment)] + lead + "_ = " + stripped


def process(nb) -> tuple[bool, list[str]]:
    """Split and mark the notebook's machinery in place. Returns (changed, problems left)."""
    changed, problems, k = False, [], 0
    while k < len(nb["cells"]):
        cell = nb["cells"][k]
        k += 1
        if cell["cell_type"] != "code":
            continue
        if is_setup_cell(cell):                       # its source is tests/test_notebooks.py's setup_source()
            before = copy.deepcopy(cell["metadata"])
            mark(cell)
            changed |= before != cell["metadata"]
            continue
        found_machinery = _machinery(cell)
        if found_machinery is None:
            continue
        tree, kinds = found_machinery
        src = _source(cell)
        if "content" not in kinds and all(is_glue_output(o) for o in cell.get("outputs", [])):
            new = _titled(src, tree.body)
            before = copy.deepcopy(cell["metadata"])
            mark(cell)
            if new != src or before != cell["metadata"]:
                cell["source"] = new
                changed = True
            continue
        if "content" not in kinds:
            problems.append(f"cell {k - 1}: machinery whose cell prints something; move the print by hand")
            continue
        plan, why = plan_split(cell)
        if plan is None:
            problems.append(f"cell {k - 1}: cannot split safely: {why}")
            continue
        content, mach = plan
        segs = _segments(src, tree.body)
        machinery = copy.deepcopy(cell)
        machinery["id"] = _new_id(nb, cell.get("id", ""))
        machinery["source"] = _titled(_silenced(segs[mach[-1]], tree.body[mach[-1]],
                                                _join(segs[i] for i in mach)), [tree.body[i] for i in mach])
        machinery["outputs"] = [o for o in cell.get("outputs", []) if is_glue_output(o)]
        tags = [t for t in machinery["metadata"].get("tags", []) if t not in ("raises-exception", "remove-output",
                                                                              "hide-output")]
        machinery["metadata"]["tags"] = tags
        machinery["metadata"].pop("mystnb", None)         # the figure, its caption and alt text stay with the plot
        mark(machinery)
        cell["source"] = _join(segs[i] for i in content)
        cell["outputs"] = [o for o in cell.get("outputs", []) if not is_glue_output(o)]
        nb["cells"].insert(k, machinery)
        k += 1
        changed = True
    return changed, problems


def violations(nb) -> list[str]:
    """What keeps the notebook from the rule: a code cell that asserts, glues or limits threads holds nothing
    else, shows nothing but glue records, and carries every collapse marker; so does the setup cell."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if is_setup_cell(cell):
            missing = has_markers(cell)
            if missing:
                found.append(f"cell {i} (setup): lacks {', '.join(missing)}")
            continue
        found_machinery = _machinery(cell)
        if found_machinery is None:
            continue
        tree, kinds = found_machinery
        what = "/".join(sorted(_what([s for s, k in zip(tree.body, kinds) if k == "machinery"])))
        if "content" in kinds:
            first = next(ast.unparse(s) for s, k in zip(tree.body, kinds) if k == "content")
            found.append(f"cell {i} ({what}): also holds other code ('{first.splitlines()[0][:50]}')")
        shown = [o.get("output_type") for o in cell.get("outputs", []) if not is_glue_output(o)]
        if shown:
            found.append(f"cell {i} ({what}): shows output {shown}")
        missing = has_markers(cell)
        if missing:
            found.append(f"cell {i} ({what}): lacks {', '.join(missing)}")
    return found


def _read(path):
    return nbformat.read(path, as_version=4)


def _write(path, nb) -> None:
    nbformat.write(nb, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    parser.add_argument("--check", action="store_true", help="only list violations; exit 1 if there are any")
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        nb = _read(path)
        if not args.check:
            changed, problems = process(nb)
            if changed:
                _write(path, nb)
                print(f"{path}: machinery split and marked")
            for p in problems:
                print(f"{path}: {p}")
        left = violations(nb)
        for v in left:
            print(f"{path}: {v}")
        status |= bool(left)
    return status


if __name__ == "__main__":
    sys.exit(main())
