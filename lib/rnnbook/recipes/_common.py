"""Pieces shared by the recipes: choosing a configuration, the command line, and the JSON log."""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import pathlib
import platform
import time

import numpy as np


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


def new_log(recipe: str, config_name: str, config: dict, configs: dict) -> dict:
    """The fields a recipe's run log starts with: which recipe and configuration, the command that reproduces
    it (for a named configuration), the Python and NumPy versions, the start time, and ``"complete": False``."""
    return {"recipe": recipe, "config_name": config_name, "config": config,
            "command": f"python -m {recipe} --config {config_name}" if config_name in configs else None,
            "python": platform.python_version(), "numpy": np.__version__,
            "started": datetime.datetime.now().isoformat(timespec="seconds"), "complete": False}


def write_json(path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a temporary file, then a rename); ``None``: do nothing."""
    if path is None:
        return
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def log_path(slug: str, config_name: str) -> pathlib.Path:
    """Where the book keeps the committed log of a recipe's configuration: ``chapters/logs/<slug>_<name>.json``."""
    return pathlib.Path(__file__).resolve().parents[3] / "chapters" / "logs" / f"{slug}_{config_name}.json"


def load_log(path: pathlib.Path, recipe: str, unfinished_hint: str) -> dict:
    """Read the JSON run log of ``recipe`` (a module name such as ``"rnnbook.recipes.ch04_lm"``) at ``path``.

    Raises ``FileNotFoundError`` saying how to produce the log if it is missing, and ``ValueError`` if it is
    not valid JSON, not a log of ``recipe``, or the log of an unfinished run (the message ends with
    ``unfinished_hint``).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no run log at {path}; produce it with `python -m {recipe} --config long "
                                f"--out {path}`")
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(log, dict) or log.get("recipe") != recipe:
        raise ValueError(f"{path} is not a log of {recipe}")
    if not log.get("complete"):
        raise ValueError(f"{path} is the log of an unfinished run ({len(log.get('runs', []))} runs); "
                         f"{unfinished_hint}")
    return log


def limit_blas_threads(threads: int) -> None:
    """Let NumPy's BLAS use at most ``threads`` threads (through threadpoolctl, which comes with scikit-learn;
    without it, BLAS decides)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=threads, user_api="blas")


def finish_log(result: dict, wall_start: float, out) -> dict:
    """Mark a run log complete: the finishing time and date, the wall-clock seconds since ``wall_start`` (a
    ``time.perf_counter()`` reading) and ``"complete": True``; write it to ``out`` and return it."""
    finished = datetime.datetime.now()
    result["finished"] = finished.isoformat(timespec="seconds")
    result["date"] = finished.date().isoformat()
    result["total_seconds"] = round(time.perf_counter() - wall_start, 1)
    result["complete"] = True
    write_json(out, result)
    return result


def log_functions(slug: str, recipe: str, unfinished_hint: str):
    """A recipe's two public log functions, ``log_path(config_name="long")`` (where the book keeps the committed
    log: ``chapters/logs/<slug>_<config_name>.json``) and ``load_log(path=None)`` (:func:`load_log` of that
    path, or of the committed ``long`` log by default)."""

    def recipe_log_path(config_name: str = "long") -> pathlib.Path:
        return log_path(slug, config_name)

    def recipe_load_log(path=None) -> dict:
        return load_log(recipe_log_path() if path is None else path, recipe, unfinished_hint)

    recipe_log_path.__doc__ = (f"Where the book keeps the committed log of a configuration: "
                               f"``chapters/logs/{slug}_<config_name>.json``.")
    recipe_load_log.__doc__ = ("Read a saved run log (default: the committed log of the ``long`` configuration).\n\n"
                               "    Raises ``FileNotFoundError`` saying how to produce the log if it is missing, and "
                               "``ValueError``\n    if it is not a complete log of this recipe.\n    ")
    for fn, name in ((recipe_log_path, "log_path"), (recipe_load_log, "load_log")):
        fn.__name__ = fn.__qualname__ = name
        fn.__module__ = recipe
    return recipe_log_path, recipe_load_log


def recipe_parser(recipe: str, doc: str, configs: dict, config_help: str | None = None) -> argparse.ArgumentParser:
    """The command line every recipe has: ``--config`` (one of ``configs``, ``ci`` by default), ``--out`` (the
    JSON log) and ``--threads`` (BLAS threads, 1 by default); the recipe adds its own options."""
    parser = argparse.ArgumentParser(prog=f"python -m {recipe}", description=doc.split("\n")[0])
    parser.add_argument("--config", choices=sorted(configs), default="ci", help=config_help)
    parser.add_argument("--out", type=pathlib.Path, default=None, help="write the JSON log here")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: these matrix products are too small to gain from more, "
                             "and one thread keeps the results reproducible)")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse the command line and limit the BLAS threads to ``--threads``."""
    args = parser.parse_args(argv)
    limit_blas_threads(args.threads)
    return args
