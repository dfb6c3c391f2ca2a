"""Plain data between the grader and the learner's process: JSON lines, never pickle, never files.

:func:`encode` turns a value into JSON-ready data: numbers, strings, ``None``, lists, tuples, dicts with
string keys, and NumPy arrays of numbers or booleans (their bytes in base64, with dtype and shape).
:func:`decode` turns it back. Values of any other type are not sent: they become a *type tag*
(``{"__type__": "Foo"}``) that the grader reports as "should be a NumPy array, got Foo". So an object
whose ``__eq__`` always says "equal", or an array subclass with a lying ``__array_function__``, reaches
the grader as a plain type name or as the plain numbers it holds.

What the learner's process sends is decoded under a :class:`Budget` (total array bytes, number of
arrays and of items), so a learner cannot make the grader allocate gigabytes: a value over budget is
refused with :class:`TooLarge`.

Inputs built by the grader may also hold objects of the book's own grading classes (a test function, a
toy decoder): ``encode(..., objects=True)`` sends their attributes, and ``decode(..., objects=True)``
rebuilds them; only classes defined in ``rnnbook`` modules are rebuilt. Learners' outputs are always
read with ``objects=False``.
"""
from __future__ import annotations

import base64
import importlib

import numpy as np

__all__ = ["encode", "decode", "Budget", "TooLarge", "UnsupportedType"]

_KINDS = "biufc"          # array dtypes that travel: booleans and numbers


class UnsupportedType:
    """A value of a type that does not travel (what the learner returned, by name only)."""

    def __init__(self, type_name: str):
        self.type_name = str(type_name)[:100]

    def __repr__(self):
        return f"<a {self.type_name}>"


class TooLarge(ValueError):
    """A value from the learner's process is over the grader's budget."""


class Budget:
    """How much one decoded value may hold: ``max_bytes`` of array data, ``max_arrays`` arrays and
    ``max_items`` items (list entries, dict keys, characters / 64) in all."""

    def __init__(self, max_bytes: int = 64 * 2 ** 20, max_arrays: int = 256, max_items: int = 200_000):
        self.bytes, self.arrays, self.items = max_bytes, max_arrays, max_items

    def spend(self, *, nbytes: int = 0, arrays: int = 0, items: int = 0) -> None:
        self.bytes -= nbytes
        self.arrays -= arrays
        self.items -= items
        if self.bytes < 0 or self.arrays < 0 or self.items < 0:
            raise TooLarge("the value is too large to grade (too many or too large arrays, or too many items)")


def encode(value, *, objects: bool = False, _depth: int = 0):
    """JSON-ready data for ``value`` (see the module docstring)."""
    if _depth > 20:
        return {"__type__": "value nested too deeply"}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _KINDS:
            return {"__type__": f"NumPy array of dtype {value.dtype}"}
        arr = np.ascontiguousarray(np.asarray(value).view(np.ndarray))
        return {"__array__": base64.b64encode(arr.tobytes()).decode("ascii"), "dtype": arr.dtype.str,
                "shape": list(arr.shape)}
    if value is None or isinstance(value, (bool, str)):
        return str(value) if isinstance(value, str) and type(value) is not str else value
    if isinstance(value, np.generic) and value.dtype.kind in _KINDS:
        return {"__scalar__": value.dtype.str, "value": value.item() if value.dtype.kind != "c" else str(value)}
    if type(value) in (int, float):
        if type(value) is float and not np.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if type(value) in (list, tuple):
        items = [encode(v, objects=objects, _depth=_depth + 1) for v in value]
        return items if type(value) is list else {"__tuple__": items}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"__dict__": {k: encode(v, objects=objects, _depth=_depth + 1) for k, v in value.items()}}
    cls = type(value)
    if cls is UnsupportedType:
        return {"__type__": value.type_name}
    if objects and str(cls.__module__).startswith("rnnbook.") and hasattr(value, "__dict__"):
        return {"__obj__": f"{cls.__module__}:{cls.__qualname__}",
                "state": {k: encode(v, objects=objects, _depth=_depth + 1) for k, v in vars(value).items()}}
    return {"__type__": getattr(cls, "__name__", "object")}


def _array(data: dict, budget: Budget | None) -> np.ndarray:
    dtype = np.dtype(str(data.get("dtype")))
    if dtype.kind not in _KINDS or dtype.hasobject:
        raise ValueError(f"refusing an array of dtype {dtype}")
    shape = tuple(int(s) for s in data.get("shape", ()))
    if any(s < 0 for s in shape) or len(shape) > 32:
        raise ValueError("refusing an array with a bad shape")
    text = data["__array__"]
    if not isinstance(text, str):
        raise ValueError("refusing an array without data")
    if budget is not None:
        budget.spend(nbytes=len(text) * 3 // 4, arrays=1)
    raw = base64.b64decode(text, validate=True)
    if len(raw) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ValueError("refusing an array whose data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(data, *, objects: bool = False, budget: Budget | None = None, _depth: int = 0):
    """The value that :func:`encode` described; raises ``ValueError`` (``TooLarge`` over ``budget``) on
    anything malformed."""
    if _depth > 40:
        raise ValueError("refusing a value nested too deeply")
    if budget is not None:
        budget.spend(items=1 + (len(data) // 64 if isinstance(data, str) else 0))
    if isinstance(data, list):
        return [decode(v, objects=objects, budget=budget, _depth=_depth + 1) for v in data]
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"refusing a value of JSON type {type(data).__name__}")
    if "__array__" in data:
        return _array(data, budget)
    if "__tuple__" in data:
        items = data["__tuple__"]
        if not isinstance(items, list):
            raise ValueError("refusing a malformed tuple")
        return tuple(decode(v, objects=objects, budget=budget, _depth=_depth + 1) for v in items)
    if "__dict__" in data:
        items = data["__dict__"]
        if not isinstance(items, dict):
            raise ValueError("refusing a malformed dict")
        return {str(k): decode(v, objects=objects, budget=budget, _depth=_depth + 1) for k, v in items.items()}
    if "__float__" in data:
        return float(str(data["__float__"]))
    if "__scalar__" in data:
        dtype = np.dtype(str(data["__scalar__"]))
        if dtype.kind not in _KINDS:
            raise ValueError(f"refusing a scalar of dtype {dtype}")
        value = data["value"]
        return dtype.type(complex(value) if dtype.kind == "c" else value)
    if "__obj__" in data and objects:
        module, qualname = str(data["__obj__"]).split(":")
        if not module.startswith("rnnbook."):
            raise ValueError(f"refusing to rebuild an object of {module}")
        cls = getattr(importlib.import_module(module), qualname)
        obj = cls.__new__(cls)
        obj.__dict__.update({k: decode(v, objects=objects, budget=budget, _depth=_depth + 1)
                             for k, v in data["state"].items()})
        return obj
    return UnsupportedType(str(data.get("__type__", data.get("__obj__", "unknown value"))))
