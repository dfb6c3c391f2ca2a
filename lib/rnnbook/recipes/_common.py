"""Pieces shared by the recipes: choosing a configuration and writing the JSON log."""
from __future__ import annotations

import copy
import json
import pathlib


def check_config(config, configs: dict) -> dict:
    """Resolve ``config``, a name of ``configs`` or a dict with (at least) the keys of ``configs["ci"]``.

    A name gives a deep copy, so a caller may change it freely.
    """
    if isinstance(config, str):
        if config not in configs:
            raise ValueError(f"unknown configuration {config!r}; known: {sorted(configs)}")
        return copy.deepcopy(configs[config])
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict or one of {sorted(configs)}, got {type(config).__name__}")
    missing = sorted(set(configs["ci"]) - set(config))
    if missing:
        raise ValueError(f"config lacks the key(s) {missing}")
    return config


def write_json(path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a temporary file, then a rename); ``None``: do nothing."""
    if path is None:
        return
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
