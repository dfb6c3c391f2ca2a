"""Plain data between the grader and the learner's kernel: JSON plus ``.npy`` files, never pickle.

:func:`dump` writes a value into a folder as ``value.json`` (numbers, strings, ``None``, lists,
tuples, dicts with string keys) with every NumPy array in a file of its own written by
``np.save(..., allow_pickle=False)``. :func:`load` reads it back with ``allow_pickle=False``.

Values of any other type are not written: they become a *type tag* (``{"__type__": "Foo"}``) that the
grader reports as "should be a NumPy array, got Foo". So an object whose ``__eq__`` always says
"equal", or an array subclass with a lying ``__array_function__``, reaches the grader as a plain type name
or as the plain numbers it holds.

Inputs built by the grader may also hold objects of the book's own grading classes (a test function, a
toy decoder): ``dump(..., objects=True)`` writes their attributes, and ``load(..., objects=True)``
rebuilds them; only classes defined in ``rnnbook`` modules are rebuilt. Learners' outputs are always
read with ``objects=False``.
"""
from __future__ import annotations

import importlib
import json
import pathlib

import numpy as np

__all__ = ["dump", "load", "UnsupportedType"]


class UnsupportedType:
    """A value of a type that does not travel (what the learner returned, by name only)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name}>"


def _encode(value, folder: pathlib.Path, counter: list, objects: bool):
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return {"__type__": f"NumPy array of Python objects (dtype {value.dtype})"}
        name = f"a{counter[0]}.npy"
        counter[0] += 1
        np.save(folder / name, np.asarray(value).view(np.ndarray), allow_pickle=False)
        return {"__array__": name}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return {"__scalar__": str(value.dtype), "value": value.item() if value.dtype.kind != "c" else str(value)}
    if type(value) in (int, float):
        if type(value) is float and not np.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if type(value) in (list, tuple):
        items = [_encode(v, folder, counter, objects) for v in value]
        return items if type(value) is list else {"__tuple__": items}
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, folder, counter, objects) for k, v in value.items()}}
    cls = type(value)
    if objects and cls.__module__.startswith("rnnbook.") and hasattr(value, "__dict__"):
        return {"__obj__": f"{cls.__module__}:{cls.__qualname__}",
                "state": {k: _encode(v, folder, counter, objects) for k, v in vars(value).items()}}
    return {"__type__": cls.__name__}


def _inside(path: pathlib.Path, root: pathlib.Path | None) -> pathlib.Path:
    """``path``, refused when it is a link or resolves outside ``root`` (a learner's symlink to a secret)."""
    if path.is_symlink() or (root is not None and not str(path.resolve()).startswith(str(root.resolve()) + "/")):
        raise ValueError(f"refusing to read {path.name}: a link or a file outside the exchange folder")
    return path


def _decode(data, folder: pathlib.Path, objects: bool):
    if isinstance(data, list):
        return [_decode(v, folder, objects) for v in data]
    if not isinstance(data, dict):
        return data
    if "__array__" in data:
        name = pathlib.Path(str(data["__array__"])).name       # never a path outside the folder
        return np.load(_inside(folder / name, folder), allow_pickle=False)
    if "__tuple__" in data:
        return tuple(_decode(v, folder, objects) for v in data["__tuple__"])
    if "__dict__" in data:
        return {str(k): _decode(v, folder, objects) for k, v in data["__dict__"].items()}
    if "__float__" in data:
        return float(data["__float__"])
    if "__scalar__" in data:
        return np.dtype(str(data["__scalar__"])).type(data["value"])
    if "__obj__" in data and objects:
        module, qualname = str(data["__obj__"]).split(":")
        if not module.startswith("rnnbook."):
            raise ValueError(f"refusing to rebuild an object of {module}")
        cls = getattr(importlib.import_module(module), qualname)
        obj = cls.__new__(cls)
        obj.__dict__.update({k: _decode(v, folder, objects) for k, v in data["state"].items()})
        return obj
    return UnsupportedType(str(data.get("__type__", data.get("__obj__", "unknown value"))))


def dump(value, folder, *, objects: bool = False) -> None:
    """Write ``value`` into ``folder`` (created if needed) as JSON plus ``.npy`` files."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = _encode(value, folder, [0], objects)
    (folder / "value.json").write_text(json.dumps(data), encoding="utf-8")


def load(folder, *, objects: bool = False, root=None):
    """Read a value written by :func:`dump` (arrays with ``allow_pickle=False``). With ``root``, every file
    read must be a plain file inside ``root`` (no links)."""
    folder = pathlib.Path(folder)
    if root is not None:
        _inside(folder, pathlib.Path(root))
    data = json.loads(_inside(folder / "value.json", folder).read_text(encoding="utf-8"))
    return _decode(data, folder, objects)
