"""Reading a learner's notebook as text, in the grader: which chapter, where each graded name comes from.

Nothing here runs the learner's code. The notebook's code cells are turned into Python by IPython's
input transformer (so ``%magics`` do not stop the parse) and read with :mod:`ast`:

- :func:`chapter_of` reads the chapter from the notebook's metadata (``metadata.rnnbook.chapter``) or its
  ``Grader("NN_slug")`` cell, so a renamed copy (``03_lstm-Copy1.ipynb``) grades;
- :func:`definitions` finds the last top-level binding of each graded name (a ``def``, an import, an
  assignment) and the names its body uses;
- :func:`similarity`, :func:`normalised_tokens`: two functions' normalised sources compared (batch mode's
  flags: near the reference, the library, or another submission).
"""
from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize

__all__ = ["code_cells", "chapter_of", "definitions", "similarity", "normalised_tokens"]

_GRADER_RE = re.compile(r"""Grader\(\s*["']((?:\d\d|A\d)_[a-z0-9_]+)["']""")
_STEM_RE = re.compile(r"^((?:\d\d|A\d)_[a-z0-9_]+?)(?:[- ](?:copy\d*|\(\d+\))|-Copy\d+)*$", re.IGNORECASE)


def _python(src: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(src)
    except Exception:
        return src


def code_cells(nb: dict) -> list[str]:
    """The sources of the notebook's code cells, in order."""
    out = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            out.append("".join(src) if isinstance(src, list) else str(src))
    return out


def chapter_of(nb: dict, stem: str, known: list[str]) -> str | None:
    """The chapter id from metadata, a ``Grader("...")`` cell, then the file name; ``None`` if none fits."""
    meta = nb.get("metadata", {}).get("rnnbook", {})
    if isinstance(meta, dict) and meta.get("chapter") in known:
        return meta["chapter"]
    for src in code_cells(nb):
        for m in _GRADER_RE.finditer(src):
            if m.group(1) in known:
                return m.group(1)
    m = _STEM_RE.match(stem)
    if m and m.group(1) in known:
        return m.group(1)
    return None


def _parse(src: str):
    try:
        return ast.parse(_python(src))
    except SyntaxError:
        return None


class Binding:
    """How a name is bound at the top level: ``kind`` is "def", "import", "assign" or "other"."""

    def __init__(self, kind: str, node=None, source: str = "", origin: str | None = None):
        self.kind, self.node, self.source, self.origin = kind, node, source, origin

    def names_used(self) -> set[str]:
        if self.node is None:
            return set()
        return {n.id for n in ast.walk(self.node) if isinstance(n, ast.Name)}


def definitions(nb: dict) -> tuple[dict, dict]:
    """``(bindings, imported)``: the last top-level :class:`Binding` of every name, and every name the
    notebook imports anywhere, mapped to its dotted origin (``{"lsf": "rnnbook.lstm.lstm_step_forward"}``)."""
    bindings: dict = {}
    imported: dict = {}
    for src in code_cells(nb):
        tree = _parse(src)
        if tree is None:
            continue
        code = _python(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    imported[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    imported[a.asname or a.name] = f"{node.module}.{a.name}"
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bindings[node.name] = Binding("def", node, ast.get_source_segment(code, node) or "")
            elif isinstance(node, ast.ClassDef):
                bindings[node.name] = Binding("other", node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    name = a.asname or a.name.split(".")[0]
                    origin = f"{node.module}.{a.name}" if isinstance(node, ast.ImportFrom) else a.name
                    bindings[name] = Binding("import", node, origin=origin)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            bindings[n.id] = Binding("assign", node.value, ast.get_source_segment(code, node) or "")
    return bindings, imported


def normalised_tokens(src: str) -> list[str]:
    """Tokens with comments, docstrings and identifiers' names removed (renaming does not hide a copy)."""
    try:
        tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body and \
                    isinstance(node.body[0], ast.Expr) and isinstance(getattr(node.body[0], "value", None),
                                                                      ast.Constant):
                node.body = node.body[1:] or [ast.Pass()]
        src = ast.unparse(tree)
    except SyntaxError:
        pass
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                continue
            out.append("ID" if tok.type == tokenize.NAME and tok.string not in _KEEP else tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = src.split()
    return out


_KEEP = {"def", "return", "for", "in", "if", "else", "elif", "while", "range", "np", "import", "from", "and",
         "or", "not", "None", "True", "False", "lambda", "with", "as", "yield"}


def similarity(a: str, b: str) -> float:
    """How alike two functions' normalised sources are, 0 to 1."""
    ta, tb = normalised_tokens(a), normalised_tokens(b)
    if not ta or not tb:
        return 0.0
    return difflib.SequenceMatcher(None, ta, tb, autojunk=False).ratio()
