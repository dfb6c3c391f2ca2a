"""The package as documented: the module table of ``rnnbook`` (shown on the API page) names every module,
every ``__all__`` lists what its module defines, and no library function is longer than 60 lines of code."""
import ast
import importlib
import inspect
import pathlib
import pkgutil

import pytest

import rnnbook

LIB = pathlib.Path(rnnbook.__file__).parent
MODULES = sorted(m.name for m in pkgutil.walk_packages(rnnbook.__path__, "rnnbook."))
PUBLIC = [m for m in MODULES if not any(part.startswith("_") for part in m.split(".")[1:])]
# The grader's per-chapter specs are data for rnnbook.grading, not modules a reader imports; the grader's
# files (grade.py, grading/) belong to its own issue and are checked for the table only.
SPECS = [m for m in PUBLIC if m.startswith("rnnbook.grading.ch")]
MAX_LINES = 60


@pytest.mark.parametrize("name", [m for m in PUBLIC if m not in SPECS])
def test_module_table_names_every_module(name):
    short = name[len("rnnbook."):]
    assert f":mod:`.{short}`" in rnnbook.__doc__ or f"``{name}``" in rnnbook.__doc__, \
        f"{name} is missing from the module table in rnnbook/__init__.py"


def _defined_here(module) -> list[str]:
    """Public functions and classes the module defines (or, for a package, re-exports from its modules)."""
    names = []
    for key, value in vars(module).items():
        if key.startswith("_") or not (inspect.isfunction(value) or inspect.isclass(value)):
            continue
        origin = getattr(value, "__module__", "") or ""
        if origin == module.__name__ or (hasattr(module, "__path__") and origin.startswith(module.__name__ + ".")):
            names.append(key)
    return names


@pytest.mark.parametrize("name", [m for m in PUBLIC if not m.startswith(("rnnbook.grad", "rnnbook.recipes"))])
def test_all_lists_what_the_module_exports(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert not [k for k in exported if not hasattr(module, k)], f"{name}.__all__ names missing objects"
    missing = [k for k in _defined_here(module) if k not in exported]
    assert not missing, f"{name}.__all__ omits {missing}"


def _code_lines(node: ast.AST, source_lines: list[str]) -> int:
    """Lines of a function that hold code: its docstring, blank lines and comment-only lines not counted."""
    skip = set()
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    count = 0
    for n in range(node.lineno, node.end_lineno + 1):
        text = source_lines[n - 1].strip()
        if n not in skip and text and not text.startswith("#"):
            count += 1
    return count


def test_no_library_function_is_longer_than_60_lines():
    long = []
    for path in sorted(LIB.rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(node, lines)
                if n > MAX_LINES:
                    long.append(f"{path.relative_to(LIB)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "functions over 60 lines of code: " + ", ".join(long)
