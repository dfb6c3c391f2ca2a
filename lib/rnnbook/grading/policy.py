"""The grading policy, written once: used by the in-notebook check and by the trusted session alike.

- :class:`CappedText`, :func:`cap`: what a learner prints or returns is echoed only up to a limit;
- :func:`error_info`: an exception as plain data, with the learner's line (traceback to line);
- :func:`rebind`: a function run with some of its global names replaced (dependencies, twins);
- :func:`broken_dependency_note`, :func:`not_found`, :func:`not_a_function`: the shared messages;
- library twins: :func:`twin_stub` (what stands in for the library's version of an exercise while that
  exercise is graded) and :func:`is_twin` (a function object that *is* the library's, by identity or by
  its compiled code), :func:`library_object` (the library object a spec names as an exercise's twin).
"""
from __future__ import annotations

import contextlib
import importlib
import io
import traceback
import types

__all__ = ["CappedText", "cap", "error_info", "rebind", "broken_dependency_note", "not_found", "not_a_function",
           "twin_message", "twin_stub", "is_twin", "library_object", "TwinAbsent", "FEEDBACK_CHARS"]

FEEDBACK_CHARS = 300        # the longest echo of a learner's value in feedback


class CappedText(io.StringIO):
    """A text sink that keeps only the first ``limit`` characters (learners may print megabytes)."""

    def __init__(self, limit: int = 2000):
        super().__init__()
        self.limit = limit

    def write(self, s):
        s = str(s)
        room = self.limit - self.tell()
        if room > 0:
            super().write(s[:room])
        return len(s)


@contextlib.contextmanager
def quiet():
    """Whatever the code inside prints goes nowhere."""
    sink = CappedText(0)
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def cap(text, limit: int = FEEDBACK_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    try:
        text = str(text)
    except BaseException:                       # a value whose __str__ raises
        return "<a value that cannot be shown>"
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def short_repr(value, limit: int = FEEDBACK_CHARS) -> str:
    """``repr(value)``, capped; never raises."""
    try:
        return cap(repr(value), limit)
    except BaseException:
        return "<a value that cannot be shown>"


def error_info(e: BaseException) -> dict:
    """An exception as plain data: type, capped message and the line of the innermost frame."""
    tb = traceback.extract_tb(e.__traceback__)
    line = f"line {tb[-1].lineno}: {tb[-1].line}" if tb and tb[-1].line else ""
    try:
        msg = str(e)
    except BaseException:                       # an exception whose __str__ raises
        msg = ""
    return {"status": "raised", "type": type(e).__name__[:100], "message": cap(msg, 500), "line": cap(line, 300)}


def rebind(fn, replacements: dict):
    """``fn`` with the global names in ``replacements`` bound to other objects (a new function object; the
    original and its globals are untouched). Non-functions come back unchanged."""
    if not replacements or not isinstance(fn, types.FunctionType):
        return fn
    glb = dict(fn.__globals__)
    glb.update(replacements)
    new = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def broken_dependency_note(broken: list) -> str:
    if not broken:
        return ""
    names = ", ".join(f"`{d}`" for d in broken)
    return f"\n  (graded with the reference {names}, since yours does not pass yet: fix {names} first)"


def not_found(name: str) -> str:
    return f"function {name}() was not found: did you rename or delete it?"


def not_a_function(name: str, type_name: str) -> str:
    return f"{name} is a {type_name}, not a function"


class TwinAbsent(RuntimeError):
    """Raised by the library's version of an exercise while that exercise is graded."""


def twin_message(library: str, exercise: str, chapter: str) -> str:
    return (f"{library} is exercise {exercise!r} of chapter {chapter}: while that chapter is graded the "
            f"library's version is absent. Write your own {exercise}.")


def twin_stub(library: str, exercise: str, chapter: str):
    """A function that stands in for ``library`` and raises :class:`TwinAbsent` with a clear message."""
    message = twin_message(library, exercise, chapter)

    def absent(*args, **kwargs):
        raise TwinAbsent(message)
    absent.__name__ = library.rsplit(".", 1)[1]
    absent.__qualname__ = absent.__name__
    absent.rnnbook_twin_of = exercise
    return absent


def _code_key(code) -> tuple:
    """A code object's behaviour without its file name and line numbers (copies and re-``exec``s match)."""
    consts = tuple(_code_key(c) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
                   for c in code.co_consts)
    return code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars


def is_twin(fn, twin) -> bool:
    """Whether ``fn`` is ``twin`` (the library's function), wraps it, or runs its compiled code."""
    if twin is None or fn is None:
        return False
    seen = 0
    while fn is not None and seen < 10:
        if fn is twin:
            return True
        code, twin_code = getattr(fn, "__code__", None), getattr(twin, "__code__", None)
        if isinstance(code, types.CodeType) and isinstance(twin_code, types.CodeType) and (
                code is twin_code or _code_key(code) == _code_key(twin_code)):
            return True
        fn = getattr(fn, "__wrapped__", None) or getattr(fn, "func", None)       # functools.wraps, partial
        seen += 1
    return False


def library_object(path: str):
    """The object at the dotted ``path`` (``"rnnbook.rnn.rnn_forward"``), or ``None`` if it cannot be imported."""
    module, name = path.rsplit(".", 1)
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
