"""Gradescope: ``results.json`` from a grading report, and the autograder archive a course uploads.

Gradescope runs an autograder in a container laid out as ``/autograder/source`` (the archive's files),
``/autograder/submission`` (what the student uploaded), ``/autograder/results/results.json`` (what the
autograder writes: ``score`` and ``tests``, each with ``name``, ``score``, ``max_score``, ``output``).
``setup.sh`` runs once when the image is built; ``run_autograder`` runs for every submission.

``python -m rnnbook.grade bundle 03_lstm --out autograder.zip`` writes an archive with:

- ``setup.sh``: installs Python, bubblewrap (the sandbox) and the ``rnnbook`` package shipped in the
  archive (``rnnbook-src/``, the library and its grader) with its dependencies;
- ``run_autograder``: grades the notebook found in the submission with ``--format gradescope``;
- ``solutions/NN_slug.ipynb``: the reference, outside the students' reach: the sandbox hides it, and
  ``run_autograder`` makes the archive's folder readable by root only, for containers where bubblewrap
  cannot start (the learner's code then runs as an unprivileged user).

``run_autograder`` honours ``AUTOGRADER_ROOT`` (default ``/autograder``) and ``RNNBOOK_PYTHON`` (default
the virtual environment ``setup.sh`` made), so it can be tried on a local folder laid out the same way.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
import tempfile
import zipfile

from .catalog import chapter_id, find_solutions

__all__ = ["results_json", "grade_to_results", "build_bundle", "add_bundle_parser", "bundle_run"]


def results_json(report: dict | None, error: str = "") -> dict:
    """Gradescope's ``results.json`` for a report (or for a submission that could not be graded)."""
    if report is None:
        return {"score": 0, "output": f"Your submission could not be graded: {error}", "tests": []}
    tests = [{"name": e["name"], "score": e["score"], "max_score": e["max_score"],
              "status": "passed" if e["status"] == "passed" else "failed",
              "output": e["feedback"], "visibility": "visible"} for e in report["exercises"]]
    notes = "\n".join(report.get("notes", []))
    return {"score": report["score"], "execution_time": report.get("seconds", 0), "tests": tests,
            "output": f"Chapter {report['chapter']}: {report['score']:g}/{report['max_score']:g}"
                      + (f"\n{notes}" if notes else "")}


def _pick_notebook(target: pathlib.Path, chapter: str | None) -> pathlib.Path:
    if target.is_file():
        return target
    found = sorted(p for p in target.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not found:
        raise FileNotFoundError(f"no notebook (.ipynb) in the submission {target}")
    if chapter:
        named = [p for p in found if p.name.startswith(chapter)]
        found = named or found
    return found[0]


def grade_to_results(target: pathlib.Path, out: pathlib.Path, *, chapter=None, solutions=None, limits=None,
                     sandbox=None) -> int:
    """Grade the submission at ``target`` (a notebook or a folder) and write ``results.json`` to ``out``."""
    from .session import grade_notebook
    try:
        nb = _pick_notebook(target, chapter)
        data = results_json(grade_notebook(nb, chapter=chapter, solutions=solutions, limits=limits,
                                           sandbox=sandbox))
    except Exception as e:  # the student must always get a result, with the reason
        data = results_json(None, f"{type(e).__name__}: {e}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2), encoding="utf-8")
    print(f"wrote {out}: score {data['score']:g}")
    return 0


SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install /autograder/source/rnnbook-src
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{RNNBOOK_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
# the reference stays readable by the grader (root) only: where no sandbox can start (some containers
# refuse bubblewrap), the learner's code runs as an unprivileged user that cannot read it
chmod -R go-rwx "$ROOT/source"
"$PY" -m rnnbook.grade "$ROOT/submission" --chapter {chapter} --format gradescope \\
    --solutions "$ROOT/source/solutions" --results "$ROOT/results/results.json"
"""


def _package_source() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parents[1]


def build_bundle(chapter: str, out, *, solutions=None) -> pathlib.Path:
    """Write the autograder archive for ``chapter`` to ``out`` (see the module docstring)."""
    chapter = chapter_id(chapter)
    ref = find_solutions(chapter, solutions)
    pkg = _package_source()
    out = pathlib.Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "rnnbook-src"
        shutil.copytree(pkg, src / "lib" / "rnnbook",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_solutions"))
        (src / "pyproject.toml").write_text(_pyproject(), encoding="utf-8")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, text in [("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER.format(chapter=chapter))]:
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16
                z.writestr(info, text)
            z.write(ref, f"solutions/{ref.name}")
            for f in sorted(src.rglob("*")):
                if f.is_file():
                    z.write(f, str(f.relative_to(tmp)))
    return out


def _pyproject() -> str:
    """The installed package's own metadata, as a minimal pyproject for the archive."""
    from importlib import metadata
    try:
        deps = metadata.requires("rnnbook") or []
        deps = [d for d in deps if "extra ==" not in d]
    except metadata.PackageNotFoundError:
        deps = []
    deps = deps or ["numpy>=1.24", "matplotlib>=3.7", "ipywidgets>=8", "tqdm>=4.60", "nbformat>=5.9",
                    "ipykernel>=6"]
    return ("[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"
            "[project]\nname = \"rnnbook\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\n"
            f"dependencies = {json.dumps(deps)}\n\n[tool.setuptools.packages.find]\nwhere = [\"lib\"]\n")


def add_bundle_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("bundle", help="build a Gradescope autograder archive for one chapter",
                            description="Build a Gradescope autograder archive for one chapter.")
    parser.add_argument("chapter", help="the chapter id, e.g. 03_lstm")
    parser.add_argument("--out", default="autograder.zip", help="the archive to write (default autograder.zip)")
    parser.add_argument("--solutions", help="folder of the reference solutions notebooks")
    return parser


def bundle_run(args) -> int:
    try:
        path = build_bundle(args.chapter, args.out, solutions=args.solutions)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}: upload it as the autograder of the assignment ({args.chapter})")
    return 0
