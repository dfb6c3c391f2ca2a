"""Command-line grader.

One notebook::

    python -m rnnbook.grade exercises/NN_slug.ipynb [--json] [--chapter NN_slug] [--solutions DIR]

A folder of submissions (an instructor's batch, any layout)::

    python -m rnnbook.grade submissions/ --jobs 2 --csv grades.csv --json-dir reports/
    python -m rnnbook.grade submission/ --format gradescope --results results.json

An autograder archive for Gradescope::

    python -m rnnbook.grade bundle NN_slug --out autograder.zip

The grader process loads the references and builds the inputs first; the learner's notebook runs in a
separate, sandboxed kernel that only returns what the learner's functions return; the comparison and
the report happen here (``rnnbook.grading.session``). The notebook file is only read, never written.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from . import grading
from .grading.sandbox import Limits


def grade_file(path, *, chapter: str | None = None, solutions=None, limits: Limits | None = None,
               sandbox: bool | None = None) -> dict:
    """Grade the notebook at ``path`` the trusted way and return the report (a dict: ``notebook``,
    ``chapter``, ``score``, ``max_score``, ``exercises``, ``sandbox``, ``notes``, ...); see
    ``rnnbook.grading.session.grade_notebook``."""
    from .grading.session import grade_notebook
    return grade_notebook(path, chapter=chapter, solutions=solutions, limits=limits, sandbox=sandbox)


def _limits(args) -> Limits:
    return Limits(cell_timeout=args.cell_timeout, call_timeout=args.time_limit, cpu_seconds=args.cpu_seconds,
                  memory_mb=args.memory_mb, nproc=args.nproc, output_chars=args.output_chars)


def _add_limits(parser) -> None:
    d = Limits()
    g = parser.add_argument_group("limits for the learner's kernel")
    g.add_argument("--cell-timeout", type=float, default=d.cell_timeout,
                   help=f"seconds allowed per notebook cell (default {d.cell_timeout:g})")
    g.add_argument("--time-limit", type=float, default=None,
                   help="seconds allowed per graded function, all cases together (default: each exercise's own)")
    g.add_argument("--cpu-seconds", type=int, default=d.cpu_seconds,
                   help=f"CPU seconds for the whole kernel (default {d.cpu_seconds})")
    g.add_argument("--memory-mb", type=int, default=d.memory_mb,
                   help=f"memory a graded function may allocate, MB (default {d.memory_mb})")
    g.add_argument("--nproc", type=int, default=d.nproc,
                   help=f"processes and threads the kernel may run, in the sandbox (default {d.nproc})")
    g.add_argument("--output-chars", type=int, default=d.output_chars,
                   help=f"printed characters kept per cell or function (default {d.output_chars})")
    g.add_argument("--no-sandbox", action="store_true", help="do not use bubblewrap even where it is available")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bundle"]:
        from .grading import gradescope
        return gradescope.bundle_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m rnnbook.grade",
                                     description="Grade exercise notebooks against the book's solutions.")
    parser.add_argument("notebook", help="a notebook (your copy of exercises/NN_slug.ipynb) or a folder of them")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--chapter", help="the chapter id (e.g. 03_lstm), when the notebook does not say")
    parser.add_argument("--solutions", help="folder of the reference solutions notebooks")
    parser.add_argument("--format", choices=["table", "json", "gradescope"], default=None,
                        help="report format (gradescope: write results.json for Gradescope's autograder)")
    parser.add_argument("--results", default="results.json", help="where --format gradescope writes")
    b = parser.add_argument_group("batch mode (when NOTEBOOK is a folder)")
    b.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default 1)")
    b.add_argument("--csv", help="write one row per submission to this CSV file")
    b.add_argument("--json-dir", help="write each submission's report as JSON into this folder")
    b.add_argument("--figure", help="save the pass rate per exercise as an image (default: next to --csv)")
    _add_limits(parser)
    args = parser.parse_args(argv)
    target = pathlib.Path(args.notebook)
    fmt = args.format or ("json" if args.json else "table")
    try:
        if target.is_dir() and fmt != "gradescope":
            from .grading import batch
            return batch.run(target, args, _limits(args))
        if fmt == "gradescope":
            from .grading import gradescope
            return gradescope.grade_to_results(target, pathlib.Path(args.results), chapter=args.chapter,
                                               solutions=args.solutions, limits=_limits(args),
                                               sandbox=False if args.no_sandbox else None)
        report = grade_file(target, chapter=args.chapter, solutions=args.solutions, limits=_limits(args),
                            sandbox=False if args.no_sandbox else None)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if fmt == "json":
        print(json.dumps(report, indent=2))
    else:
        print(f"Grading {args.notebook} (chapter {report['chapter']}, "
              f"{'sandboxed' if report['sandbox'] else 'no sandbox'})\n")
        print(grading.format_table(report))
        for note in report["notes"]:
            print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
