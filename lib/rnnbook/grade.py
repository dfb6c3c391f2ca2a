"""Command-line grader: ``python -m rnnbook.grade exercises/NN_slug.ipynb [--json]``.

The learner's notebook is executed in a fresh Jupyter kernel (a separate
process) with a time limit per cell and for the whole run; the graded
functions are then compared, inside that kernel, with the references from
the matching solutions notebook. The notebook file is only read, never written.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

from . import grading

MARKER = "<<rnnbook-grade-report>>"


def _grading_cell(chapter: str) -> str:
    return (
        "import json as _rnnbook_json\n"
        "from rnnbook.grading import grade_namespace as _rnnbook_grade\n"
        f"print({MARKER!r} + _rnnbook_json.dumps(_rnnbook_grade({chapter!r}, globals())))\n"
    )


def _failed_report(chapter: str, why: str) -> dict:
    exs = grading.exercises_for(chapter)
    return {
        "notebook": chapter,
        "score": 0,
        "max_score": sum(ex.points for ex in exs),
        "exercises": [{"name": ex.name, "score": 0, "max_score": ex.points, "feedback": why, "status": "error"}
                      for ex in exs],
    }


def grade_file(path: str | pathlib.Path, *, cell_timeout: int = 120, kernel_name: str = "python3") -> dict:
    """Execute the notebook at ``path`` in a fresh kernel and return the grading report."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    chapter = grading._chapter_id(path.stem)
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as e:  # corrupt JSON, not a notebook
        raise ValueError(f"{path} is not a readable Jupyter notebook: {e}") from None
    nb.cells.append(nbformat.v4.new_code_cell(_grading_cell(chapter)))
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name=kernel_name, allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(stderr=subprocess.DEVNULL)   # the kernel's own log lines are not the learner's output
    except DeadKernelError:
        return _failed_report(chapter, "the notebook's kernel died while running it (os._exit, a crash, "
                                       "or running out of memory): fix the notebook so it runs top to bottom")
    for out in nb.cells[-1].get("outputs", []):
        text = out.get("text", "")
        if out.get("output_type") == "stream" and MARKER in text:
            return json.loads(text.split(MARKER, 1)[1].splitlines()[0])
    return _failed_report(chapter, "the grading step did not finish (the notebook timed out or broke the kernel)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnbook.grade",
                                     description="Grade an exercise notebook against the book's solutions.")
    parser.add_argument("notebook", help="path to exercises/NN_slug.ipynb (your copy)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds allowed per cell (default 120)")
    args = parser.parse_args(argv)
    try:
        report = grade_file(args.notebook, cell_timeout=args.cell_timeout)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report["notebook"] = str(args.notebook)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"Grading {args.notebook}\n")
        print(grading.format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
