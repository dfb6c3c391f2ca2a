"""Text corpora that are on every reader's machine, with no download (chapter 2).

The default corpus is the **source code of a fixed list of Python standard-library
modules**: real text that nobody wrote for this book. The files differ a little
between Python versions (3.10 to 3.13), so that every reader trains on the same
characters and sees the book's numbers, the text is read by default from a
**snapshot** shipped with the book: the modules' source (those of ``STDLIB_MODULES``
and, for a larger corpus, ``STDLIB_MORE_MODULES``) and the docstring prose exactly as
Python 3.11.7 has them, stored compressed in ``rnnbook/data/stdlib_snapshot.json.xz``
(about 0.75 MB) with the Python Software Foundation's licence beside it
(``stdlib_snapshot.LICENSE.txt``). Pass
``source="installed"`` to read your own Python's standard library instead; expect
corpus sizes and trained results to move by a few percent then.

:func:`stdlib_docstrings_text` collects the English docstrings of the standard
library instead (prose for word-level models), and :func:`load_text_file` reads
any text file the reader has (for example the Penn Treebank, whose licence
forbids shipping it here). :func:`build_stdlib_snapshot` rebuilds the snapshot.
"""
from __future__ import annotations

import ast
import functools
import json
import lzma
import os
import platform
import pathlib
import re
import sysconfig
from typing import Sequence

import numpy as np

from .vocab import Vocab

__all__ = ["STDLIB_MODULES", "STDLIB_MORE_MODULES", "SNAPSHOT_PATH", "stdlib_dir", "stdlib_source_text",
           "stdlib_docstrings_text", "build_stdlib_snapshot", "load_text_file", "train_val_test_split", "char_vocab",
           "word_tokenize", "word_vocab"]

#: The standard-library files whose source is the default character-level corpus
#: (paths relative to the stdlib folder, sorted; all present in Python 3.10-3.13).
STDLIB_MODULES: tuple[str, ...] = tuple(sorted([
    "argparse.py", "bisect.py", "calendar.py", "collections/__init__.py", "contextlib.py", "copy.py",
    "csv.py", "dataclasses.py", "difflib.py", "fnmatch.py", "fractions.py", "functools.py", "glob.py",
    "heapq.py", "inspect.py", "json/decoder.py", "json/encoder.py", "optparse.py", "pprint.py",
    "random.py", "shlex.py", "statistics.py", "string.py", "textwrap.py", "tokenize.py",
]))

#: More standard-library files, for a larger corpus (chapter 4's character showcase reads
#: ``sorted(STDLIB_MODULES + STDLIB_MORE_MODULES)``, about 2.3 M characters; all present in Python 3.10-3.13).
#: Table-like modules (``locale.py``, ``mimetypes.py``) are left out: they are data more than code.
STDLIB_MORE_MODULES: tuple[str, ...] = tuple(sorted([
    "ast.py", "base64.py", "codecs.py", "configparser.py", "email/message.py", "enum.py", "gettext.py", "gzip.py",
    "http/client.py", "ipaddress.py", "logging/__init__.py", "numbers.py", "operator.py", "os.py", "pickle.py",
    "posixpath.py", "queue.py", "reprlib.py", "sched.py", "selectors.py", "shutil.py", "socket.py",
    "subprocess.py", "tarfile.py", "tempfile.py", "threading.py", "timeit.py", "traceback.py", "types.py",
    "typing.py", "urllib/parse.py", "uuid.py", "warnings.py", "weakref.py", "zipapp.py",
]))

_FILE_SEPARATOR = "\n\n"
_SOURCES = ("snapshot", "installed")
#: The snapshot of the standard library's text that the book trains on (see the module docstring).
SNAPSHOT_PATH = pathlib.Path(__file__).with_name("stdlib_snapshot.json.xz")
_SNAPSHOT_MIN_CHARS = 40           # the docstrings in the snapshot are those longer than this


@functools.lru_cache(maxsize=1)
def _snapshot() -> dict:
    """The snapshot's contents: ``{"python": version, "modules": {path: source}, "docstrings": text}``."""
    if not SNAPSHOT_PATH.is_file():
        raise FileNotFoundError(f"the book's standard-library snapshot {SNAPSHOT_PATH} is missing: reinstall "
                                f"rnnbook, or pass source='installed' to read this Python's own files")
    with lzma.open(SNAPSHOT_PATH, "rt", encoding="utf-8") as f:
        return json.load(f)


def _check_source(source) -> str:
    if source not in _SOURCES:
        raise ValueError(f"source must be 'snapshot' (the book's fixed text, the same on every Python) or "
                         f"'installed' (this Python's standard library), got {source!r}")
    return source


def stdlib_dir() -> pathlib.Path:
    """The folder holding the standard library's ``.py`` files (``sysconfig.get_paths()['stdlib']``)."""
    return pathlib.Path(sysconfig.get_paths()["stdlib"])


def _missing_stdlib_error(path: pathlib.Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"the Python standard library's source file {path} is missing: this Python installation ships "
        f"no .py sources (an embedded or stripped build?). Use a full CPython installation, or load "
        f"your own text with rnnbook.data.load_text_file(path).")


def stdlib_source_text(modules: Sequence[str] = STDLIB_MODULES, *, max_chars: int | None = None,
                       source: str = "snapshot") -> str:
    """The concatenated source code of standard-library modules.

    Parameters
    ----------
    modules:
        File paths relative to :func:`stdlib_dir`, read in the given order
        (default: :data:`STDLIB_MODULES`, sorted). Files are joined by a blank line.
    max_chars:
        If given, keep only the first ``max_chars`` characters.
    source:
        ``"snapshot"`` (default): the book's snapshot of Python 3.11.7's files, the same
        text on every Python (it holds the files of :data:`STDLIB_MODULES` and :data:`STDLIB_MORE_MODULES`);
        ``"installed"``: the files of the running Python.

    Returns
    -------
    text: str

    Raises
    ------
    FileNotFoundError
        If a file is missing (a Python without its source files).
    KeyError
        If ``source="snapshot"`` and a module is not in the snapshot.
    """
    if isinstance(modules, str):
        raise TypeError("modules must be a sequence of file paths, not one string")
    if _check_source(source) == "snapshot":
        stored = _snapshot()["modules"]
        missing = [rel for rel in modules if rel not in stored]
        if missing:
            raise KeyError(f"{missing} not in the book's snapshot (it holds STDLIB_MODULES and "
                           f"STDLIB_MORE_MODULES): pass "
                           f"source='installed' to read other modules from this Python")
        parts = [stored[rel] for rel in modules]
    else:
        root = stdlib_dir()
        parts = []
        for rel in modules:
            path = root / rel
            if not path.is_file():
                raise _missing_stdlib_error(path)
            parts.append(path.read_text(encoding="utf-8"))
    text = _FILE_SEPARATOR.join(parts)
    if max_chars is not None:
        if not isinstance(max_chars, int) or max_chars <= 0:
            raise ValueError(f"max_chars must be a positive integer or None, got {max_chars!r}")
        text = text[:max_chars]
    return text


def _is_test_path(rel: pathlib.Path) -> bool:
    parts = rel.parts
    return any(p in ("test", "tests", "idlelib", "lib2to3", "site-packages") or p.startswith("test_")
               for p in parts) or rel.name.startswith("test")


def stdlib_docstrings_text(*, min_chars: int = 40, source: str = "snapshot") -> str:
    """English prose: the docstrings of the standard library's non-test modules.

    Every ``.py`` file under :func:`stdlib_dir` (except test suites, ``idlelib``,
    ``lib2to3`` and ``site-packages``) is parsed with ``ast``, in sorted path
    order; the docstrings of the module, its classes and its functions that are
    longer than ``min_chars`` characters are kept, whitespace-normalised, one
    per line. With ``source="snapshot"`` (default) they are those of Python 3.11.7,
    stored with the book (``min_chars`` must then be at least 40); with
    ``source="installed"`` they are collected from the running Python.

    Raises
    ------
    FileNotFoundError
        If the standard library has no ``.py`` sources.
    """
    if not isinstance(min_chars, int) or isinstance(min_chars, bool) or min_chars < 0:
        raise ValueError(f"min_chars must be a non-negative integer, got {min_chars!r}")
    if _check_source(source) == "snapshot":
        if min_chars < _SNAPSHOT_MIN_CHARS:
            raise ValueError(f"the snapshot keeps docstrings longer than {_SNAPSHOT_MIN_CHARS} characters: "
                             f"pass min_chars >= {_SNAPSHOT_MIN_CHARS}, or source='installed'")
        lines = _snapshot()["docstrings"].split("\n")
        return "\n".join(line for line in lines if len(line) > min_chars)
    root = stdlib_dir()
    if not (root / "os.py").is_file():
        raise _missing_stdlib_error(root / "os.py")
    files = sorted(p for p in root.rglob("*.py") if not _is_test_path(p.relative_to(root)))
    docs = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        nodes = [tree] + [n for n in ast.walk(tree)
                          if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        for node in nodes:
            doc = ast.get_docstring(node)
            doc = " ".join(doc.split()) if doc else ""
            if len(doc) > min_chars:
                docs.append(doc)
    return "\n".join(docs)


def build_stdlib_snapshot(path=SNAPSHOT_PATH) -> pathlib.Path:
    """Write the snapshot from the running Python's standard library (how the shipped one was made).

    The book's snapshot was made with Python 3.11.7 (``python -c "from rnnbook.data.corpora import
    build_stdlib_snapshot as b; b()"``). Rebuilding it with another Python changes every number the
    chapters print, so do it only on purpose, then re-execute the notebooks.
    """
    data = {"python": platform.python_version(),
            "modules": {rel: stdlib_source_text([rel], source="installed")
                        for rel in sorted(STDLIB_MODULES + STDLIB_MORE_MODULES)},
            "docstrings": stdlib_docstrings_text(min_chars=_SNAPSHOT_MIN_CHARS, source="installed")}
    path = pathlib.Path(path)
    with lzma.open(path, "wt", encoding="utf-8", preset=9) as f:
        json.dump(data, f, ensure_ascii=False, sort_keys=True)
    _snapshot.cache_clear()
    return path


def load_text_file(path, *, encoding: str = "utf-8") -> str:
    """Read a text file the reader provides (e.g. the Penn Treebank's ``ptb.train.txt``).

    **The Penn Treebank (PTB).** The word-level language-modelling version of the PTB
    (Mikolov et al.'s preprocessing: about 0.9 million training words, lower-cased, a
    10,000-word vocabulary with ``<unk>`` already in the text, one sentence per line) comes as
    ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt`` in the ``data/`` folder of the
    ``simple-examples`` archive of Mikolov's RNNLM toolkit, and the Treebank itself from the
    Linguistic Data Consortium (catalogue LDC99T42). Its licence forbids shipping it with this
    book, so a reader points the loader at the files::

        text = load_text_file("simple-examples/data/ptb.train.txt")
        tokens = text.replace("\\n", " <eos> ").split()   # already tokenised: split on spaces

    **A published anchor.** Zaremba, Sutskever and Vinyals (2014, "Recurrent neural network
    regularization", arXiv:1409.2329) trained two-layer LSTMs on these files: their medium model
    (650 units per layer, dropout 0.5 on the non-recurrent connections) reached a test perplexity
    of 82.7 (validation 86.2), the large one (1,500 units per layer, dropout 0.65) 78.4 (validation 82.2),
    and their best non-regularised LSTM (two layers of 200 units) 114.5 (validation 120.7): the single
    models of the paper's Table 1. Chapter 4's models are far smaller and read another corpus, so their
    perplexities are not comparable with these.

    Raises ``FileNotFoundError`` with the absolute path if it does not exist and
    ``ValueError`` if it is empty.
    """
    p = pathlib.Path(os.fspath(path)).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"no such text file: {p.resolve()}")
    text = p.read_text(encoding=encoding)
    if not text:
        raise ValueError(f"the text file {p} is empty")
    return text


def train_val_test_split(data, fractions: Sequence[float] = (0.9, 0.05, 0.05)):
    """Split a sequence into contiguous train / validation / test parts.

    The split is *contiguous* (the first 90 % is training text, and so on), not
    shuffled: a language model's validation text must be text it has not seen,
    and shuffled characters would leak the training text into it.

    Parameters
    ----------
    data: str, list or 1-D array.
    fractions: three non-negative numbers summing to 1.

    Returns
    -------
    train, val, test: slices of ``data`` of the same type.
    """
    fr = [float(f) for f in fractions]
    if len(fr) != 3 or any(f < 0 for f in fr) or not np.isclose(sum(fr), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}")
    if isinstance(data, np.ndarray) and data.ndim != 1:
        raise ValueError(f"data must be one-dimensional, got an array of shape {data.shape}")
    n = len(data)
    a = int(round(n * fr[0]))
    b = int(round(n * (fr[0] + fr[1])))
    parts = data[:a], data[a:b], data[b:]
    for name, part, f in zip(("train", "val", "test"), parts, fr):
        if f > 0 and len(part) == 0:
            raise ValueError(f"the {name} part is empty: data has only {n} items")
    return parts


def char_vocab(text: str, *, min_count: int = 1, unk: str | None = None) -> Vocab:
    """A character vocabulary of ``text`` (ids by decreasing frequency).

    With ``min_count > 1`` pass ``unk`` (e.g. ``"\\x00"``, a character that
    does not occur) so that rare characters map to it.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("text is empty: cannot build a character vocabulary")
    return Vocab(text, unk=unk, min_count=min_count)


_WORD_RE = re.compile(r"\w+|[^\w\s]")


def word_tokenize(text: str, *, lower: bool = True) -> list[str]:
    """Split text into words and single punctuation marks; one ``"<eos>"`` per line end.

    >>> word_tokenize("Return the value.\\nNone if absent")
    ['return', 'the', 'value', '.', '<eos>', 'none', 'if', 'absent', '<eos>']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    tokens: list[str] = []
    for line in text.splitlines():
        if lower:
            line = line.lower()
        words = _WORD_RE.findall(line)
        if words:
            tokens.extend(words)
            tokens.append("<eos>")
    return tokens


def word_vocab(tokens: Sequence[str], *, min_count: int = 1, max_size: int | None = None,
               unk: str = "<unk>") -> Vocab:
    """A word vocabulary with an ``unk`` token for rare words (see :class:`Vocab`)."""
    return Vocab(tokens, unk=unk, min_count=min_count, max_size=max_size)
