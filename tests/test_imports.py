"""The import graph of rnnbook: no cycles, and no module of the core importing another rnnbook module from
inside a function (the way a cycle hides: it then works only because the import runs late).

The graph is read from the source (``ast``), over every module of the package, and includes the imports
inside functions, so a cycle is found even where it is hidden.
"""
import ast
import pathlib

import pytest

import rnnbook

LIB = pathlib.Path(rnnbook.__file__).parent

# The core: the layers, the models and the training loop every chapter builds on. (The grader, the recipes
# and the plots import lazily on purpose: optional tools, command-line entry points.)
CORE = ["rnnbook._checks", "rnnbook._lstm_engine", "rnnbook._timemajor", "rnnbook.attention", "rnnbook.backend",
        "rnnbook.checkpoint", "rnnbook.conv", "rnnbook.decode", "rnnbook.functions", "rnnbook.generate",
        "rnnbook.gru", "rnnbook.layers", "rnnbook.lm_ops", "rnnbook.lstm", "rnnbook.models",
        "rnnbook.models.captioner", "rnnbook.models.lm", "rnnbook.models.seq2seq", "rnnbook.optim", "rnnbook.rnn",
        "rnnbook.seeds", "rnnbook.train", "rnnbook.data.vocab"]


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(LIB.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def _targets(module: str, node, is_package: bool) -> list[str]:
    """The rnnbook modules an import statement of ``module`` imports."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "rnnbook"]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source.split(".")[0] != "rnnbook":
        return []
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]


def _imports(module: str):
    """``(target, inside_a_function, line)`` for every rnnbook import of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((t, inner, child.lineno) for t in _targets(module, child, path.name == "__init__.py")
                             if t != module)
            visit(child, inner)
    visit(tree, False)
    return found


def _graph() -> dict:
    """module -> the modules it imports (a package's own modules and its parents left out: importing
    ``rnnbook.models.lm`` runs ``rnnbook/models/__init__.py`` first by Python's rules, not by an edge)."""
    return {m: sorted({t for t, _, _ in _imports(m) if t in MODULES and not m.startswith(t + ".")})
            for m in MODULES}


def find_cycle(graph: dict):
    """One cycle of ``graph`` as a list ``[a, b, ..., a]``, or None."""
    state, stack = {}, []

    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in graph.get(u, ()):
            if state.get(v) == "open":
                return stack[stack.index(v):] + [v]
            if v not in state:
                cycle = visit(v)
                if cycle:
                    return cycle
        stack.pop()
        state[u] = "done"
        return None
    for u in graph:
        if u not in state:
            cycle = visit(u)
            if cycle:
                return cycle
    return None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None


@pytest.mark.parametrize("module", CORE)
def test_core_modules_import_rnnbook_at_the_top_only(module):
    assert module in MODULES, f"{module} is not a module of rnnbook"
    late = [f"line {line}: {target}" for target, inside, line in _imports(module) if inside]
    assert not late, f"{module} imports rnnbook modules inside functions: {late}"


def test_models_never_import_the_trainer():
    for module in [m for m in MODULES if m.startswith("rnnbook.models")]:
        assert "rnnbook.train" not in {t for t, _, _ in _imports(module)}, module
