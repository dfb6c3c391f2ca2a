"""Saving and loading models: one ``.npz`` file holding the parameters and the model's config.

A checkpoint is written to a temporary file and then renamed, so an interrupted save never leaves a
half-written file behind. Loading checks everything it reads and says what is wrong: a missing,
truncated or corrupt file, a file that is not an rnnbook checkpoint, or one made by a different
model (another class, configuration, parameter shape or dtype).
"""
from __future__ import annotations

import json
import os
import pathlib
import zipfile

import numpy as np

from .backend import array_module, to_numpy
from .models import LanguageModel, LSTMLM, RNNLM

__all__ = ["save_model", "load_model", "load_into", "save_training_state", "load_training_state", "npz_path",
           "MODEL_CLASSES", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_META = "__rnnbook__"


#: The models :func:`load_model` can rebuild, by class name: each rebuilds itself from its ``config``
#: (``cls.from_config(config)``).
MODEL_CLASSES = {cls.__name__: cls for cls in (LanguageModel, LSTMLM, RNNLM)}


def npz_path(path) -> pathlib.Path:
    """``path`` as a :class:`pathlib.Path` that ends in ``.npz`` (appended if missing), as NumPy writes it."""
    path = pathlib.Path(path)
    return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")


def _write(path: pathlib.Path, meta: dict, arrays: dict) -> pathlib.Path:
    try:
        meta_json = json.dumps(meta)
    except TypeError as e:
        raise TypeError(f"extra values must be JSON-serialisable: {e}") from None
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **{_META: np.array(meta_json)}, **arrays)
    os.replace(tmp, path)          # atomic: a crash mid-save leaves the previous checkpoint intact
    return path


def _model_meta(model, extra: dict) -> dict:
    if not hasattr(model, "params") or not hasattr(model, "config"):
        raise TypeError(f"expected a model with `params` and `config`, got {type(model).__name__}")
    return {"format": FORMAT_VERSION, "class": type(model).__name__, "config": model.config,
            "shapes": [list(p.shape) for p in model.params], "dtypes": [p.dtype.name for p in model.params],
            "extra": extra}


def save_model(model, path, *, half: bool = False, **extra) -> pathlib.Path:
    """Save ``model`` (its ``params`` and ``config``) to ``path`` (``.npz`` is appended if missing).

    ``extra`` JSON-serialisable values (e.g. ``epoch=3``, a vocabulary list) are stored alongside and
    returned by :func:`load_model` with ``return_extra=True``. ``half=True`` stores float parameters as
    float16 (half the file; about three significant digits); loading casts them back to the model's dtype.
    """
    meta = _model_meta(model, extra)
    arrays = {f"param{k}": to_numpy(p) for k, p in enumerate(model.params)}
    if half:
        meta["stored_dtype"] = "float16"
        arrays = {k: a.astype(np.float16) if a.dtype.kind == "f" else a for k, a in arrays.items()}
    return _write(npz_path(path), meta, arrays)


def save_training_state(path, model, optimizer, progress: dict) -> pathlib.Path:
    """Save everything needed to resume training exactly where it stopped.

    That is the model's parameters and config (so :func:`load_model` reads the file as a
    model checkpoint too), the optimizer's state (e.g. Adam's moments), the recurrent state
    the model carries between truncated-BPTT chunks, the state of the model's random
    generator (dropout masks) and ``progress``, a JSON-serialisable dict of the training
    loop's counters and history. Used by :func:`rnnbook.train.train_lm`.
    """
    meta = _model_meta(model, {})
    arrays = {f"param{k}": to_numpy(p) for k, p in enumerate(model.params)}
    opt = optimizer.state_dict() if hasattr(optimizer, "state_dict") else {}
    for key in ("m", "v"):
        moments = opt.pop(key, None)
        opt[key] = None if moments is None else len(moments)
        for k, a in enumerate(moments or []):
            arrays[f"opt_{key}{k}"] = to_numpy(a)
    carried = model.carried_state() if hasattr(model, "carried_state") else []
    for layer, st in enumerate(carried):
        for name, a in st.items():
            arrays[f"carried{layer}_{name}"] = to_numpy(a)
    rng = getattr(model, "rng", None)
    meta["training"] = {"progress": progress, "optimizer": opt, "optimizer_class": type(optimizer).__name__,
                        "carried": [sorted(st) for st in carried],
                        "rng": None if rng is None else rng.bit_generator.state}
    return _write(npz_path(path), meta, arrays)


def load_training_state(path, model, optimizer) -> dict:
    """Restore a file written by :func:`save_training_state` into ``model`` and ``optimizer``.

    Checks that the file holds a training state of the same kind of model and optimizer
    (a clear ``ValueError`` otherwise) and returns the saved ``progress`` dict.
    """
    path = npz_path(path)
    load_into(model, path)
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data[_META]))
        train = meta.get("training")
        if train is None:
            raise ValueError(f"{path} is a model checkpoint without a training state; it cannot resume "
                             f"training (use load_into to start from its weights)")
        if train["optimizer_class"] != type(optimizer).__name__:
            raise ValueError(f"{path} was saved with a {train['optimizer_class']} optimizer, "
                             f"not a {type(optimizer).__name__}")
        opt = dict(train["optimizer"])
        for key in ("m", "v"):
            n = opt.get(key)
            opt[key] = None if n is None else [data[f"opt_{key}{k}"] for k in range(n)]
        carried = [{name: data[f"carried{layer}_{name}"] for name in names}
                   for layer, names in enumerate(train["carried"])]
    if hasattr(optimizer, "load_state_dict"):
        optimizer.load_state_dict(opt)
        for key in ("m", "v"):             # the moments live where the parameters live (CPU or GPU)
            if getattr(optimizer, key, None) is not None:
                moments = getattr(optimizer, key)
                setattr(optimizer, key, [array_module(p).asarray(a) for p, a in zip(model.params, moments)])
    if hasattr(model, "set_carried_state"):
        model.set_carried_state(carried)
    if train["rng"] is not None and getattr(model, "rng", None) is not None:
        model.rng.bit_generator.state = train["rng"]
    return train["progress"]


def _read(path) -> tuple[dict, list[np.ndarray]]:
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    meta, files = None, []
    try:
        with np.load(path, allow_pickle=False) as data:
            files = sorted(data.files)
            if _META in files:
                meta = json.loads(str(data[_META]))
                params = [data[f"param{k}"] for k in range(len(meta["shapes"]))]
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as e:
        # ValueError covers bytes that are not a zip (NumPy then refuses to unpickle them) and bad JSON
        raise ValueError(f"{path} is truncated or corrupt and cannot be read as a checkpoint "
                         f"({type(e).__name__}: {e})") from None
    if meta is None:
        raise ValueError(f"{path} is not an rnnbook checkpoint (it has no {_META!r} entry; it holds {files[:5]})")
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format {meta.get('format')!r}; "
                         f"this rnnbook reads format {FORMAT_VERSION}")
    return meta, params


def _copy_params(path, meta: dict, params: list, model) -> None:
    if len(params) != len(model.params):
        raise ValueError(f"{path} holds {len(params)} parameter arrays but the model has {len(model.params)}")
    for k, (src, dst) in enumerate(zip(params, model.params)):
        if src.shape != dst.shape:
            raise ValueError(f"{path}: parameter {k} has shape {src.shape} but the model's is {dst.shape}")
        if src.dtype == np.float16 and meta.get("stored_dtype") == "float16":
            src = src.astype(dst.dtype)              # saved with half=True
        if src.dtype != dst.dtype:
            raise ValueError(f"{path}: parameter {k} has dtype {src.dtype} but the model's is {dst.dtype}")
        dst[...] = array_module(dst).asarray(src)        # onto the model's device


def load_model(path, *, return_extra: bool = False):
    """Rebuild the saved model from its config and load its parameters.

    Returns the model, or ``(model, extra)`` with ``return_extra=True``.
    """
    meta, params = _read(path)
    if meta["class"] not in MODEL_CLASSES:
        raise ValueError(f"{path} holds a {meta['class']!r}, which load_model cannot rebuild "
                         f"(known: {', '.join(MODEL_CLASSES)}); build the model yourself and use load_into")
    model = MODEL_CLASSES[meta["class"]].from_config(meta["config"])
    _copy_params(path, meta, params, model)
    return (model, meta["extra"]) if return_extra else model


def load_into(model, path) -> dict:
    """Load a checkpoint's parameters into an existing ``model`` of the same kind; returns the extras."""
    meta, params = _read(path)
    if meta["class"] != type(model).__name__:
        raise ValueError(f"{path} was saved from a {meta['class']}, not a {type(model).__name__}")
    mine = getattr(model, "config", None)
    if mine is not None and meta["config"] != mine:
        diff = {k: (meta["config"].get(k), mine.get(k)) for k in set(meta["config"]) | set(mine)
                if meta["config"].get(k) != mine.get(k)}
        raise ValueError(f"{path} was saved from a model with a different configuration: "
                         + ", ".join(f"{k}: file {a!r} vs model {b!r}" for k, (a, b) in sorted(diff.items())))
    _copy_params(path, meta, params, model)
    return meta["extra"]
