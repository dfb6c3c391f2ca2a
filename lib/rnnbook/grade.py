"""Command-line grader, three subcommands.

One notebook (``grade`` may be left out)::

    python -m rnnbook.grade grade exercises/NN_slug.ipynb [--json] [--chapter NN_slug] [--solutions DIR]
    python -m rnnbook.grade grade submission/ --format gradescope --results results.json

A folder of submissions (an instructor's batch, any layout; ``batch`` may be left out for a folder)::

    python -m rnnbook.grade batch submissions/ --jobs 2 --csv grades.csv --json-dir reports/

An autograder archive for Gradescope::

    python -m rnnbook.grade bundle NN_slug --out autograder.zip

The grader process loads the references and builds the inputs first; the learner's notebook runs in a
separate, sandboxed process that only returns what the learner's functions return; the comparison and
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
               sandbox: bool | None = None, final: bool = False) -> dict:
    """Grade the notebook at ``path`` the trusted way and return the report (a dict: ``notebook``,
    ``chapter``, ``score``, ``max_score``, ``exercises``, ``sandbox``, ``notes``, ...); see
    ``rnnbook.grading.session.grade_notebook``."""
    from .grading.session import grade_notebook
    return grade_notebook(path, chapter=chapter, solutions=solutions, limits=limits, sandbox=sandbox, final=final)


def _limits(args) -> Limits:
    return Limits(cell_timeout=args.cell_timeout, call_timeout=args.time_limit, cpu_seconds=args.cpu_seconds,
                  memory_mb=args.memory_mb, nproc=args.nproc, output_chars=args.output_chars, disk_mb=args.disk_mb,
                  result_mb=args.result_mb)


def _add_limits(parser) -> None:
    d = Limits()
    g = parser.add_argument_group("limits for the learner's process")
    g.add_argument("--cell-timeout", type=float, default=d.cell_timeout,
                   help=f"seconds allowed per notebook cell (default {d.cell_timeout:g})")
    g.add_argument("--time-limit", type=float, default=None,
                   help="seconds allowed per graded function, all cases together (default: each exercise's own)")
    g.add_argument("--cpu-seconds", type=int, default=d.cpu_seconds,
                   help=f"CPU seconds for the whole learner's process (default {d.cpu_seconds})")
    g.add_argument("--memory-mb", type=int, default=d.memory_mb,
                   help=f"memory a graded function may allocate, MB (default {d.memory_mb})")
    g.add_argument("--nproc", type=int, default=d.nproc,
                   help=f"processes and threads the learner's process may run (binds in the sandbox or for an "
                        f"unprivileged uid; default {d.nproc})")
    g.add_argument("--output-chars", type=int, default=d.output_chars,
                   help=f"printed characters kept per cell or function (default {d.output_chars})")
    g.add_argument("--disk-mb", type=int, default=d.disk_mb,
                   help=f"the learner's private /tmp, all files together, MB (sandbox only; default {d.disk_mb})")
    g.add_argument("--result-mb", type=int, default=d.result_mb,
                   help=f"largest value read back from one call, MB (default {d.result_mb})")
    g.add_argument("--no-sandbox", action="store_true", help="do not use bubblewrap even where it is available")


def _grade_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("grade", help="grade one notebook (the default)",
                       description="Grade one exercise notebook against the book's solutions.")
    p.add_argument("notebook", help="a notebook (your copy of exercises/NN_slug.ipynb), or with --format "
                                    "gradescope a submission folder")
    _add_common(p)
    p.add_argument("--format", choices=["table", "json", "gradescope"], default=None,
                   help="report format (gradescope: write results.json for Gradescope's autograder)")
    p.add_argument("--results", default="results.json", help="where --format gradescope writes")
    return p


def _batch_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("batch", help="grade every notebook under a folder",
                       description="Grade every notebook under a folder into a CSV and JSON reports.")
    p.add_argument("notebook", metavar="folder", help="a folder of submissions (any layout)")
    _add_common(p)
    p.add_argument("--format", choices=["table", "json"], default=None, help="summary format")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default 1)")
    p.add_argument("--csv", help="write one row per submission to this CSV file")
    p.add_argument("--json-dir", help="write each submission's report as JSON into this folder")
    p.add_argument("--figure", help="save the pass rate per exercise as an image (default: next to --csv)")
    return p


def _add_common(p) -> None:
    p.add_argument("--json", action="store_true", help="print the report as JSON (the same as --format json)")
    p.add_argument("--chapter", help="the chapter id (e.g. 03_lstm), when the notebook does not say")
    p.add_argument("--solutions", help="folder of the reference solutions notebooks")
    p.add_argument("--final", action="store_true",
                   help="the learner's final submission: explain wrong choices in the feedback")
    _add_limits(p)


def parser() -> argparse.ArgumentParser:
    """The command line: ``grade``, ``batch`` and ``bundle`` subcommands."""
    top = argparse.ArgumentParser(prog="python -m rnnbook.grade",
                                  description="Grade exercise notebooks against the book's solutions. Without a "
                                              "subcommand, a notebook is graded and a folder is a batch.")
    sub = top.add_subparsers(dest="command", metavar="{grade,batch,bundle}")
    _grade_parser(sub)
    _batch_parser(sub)
    from .grading import gradescope
    gradescope.add_bundle_parser(sub)
    return top


def _with_command(argv: list) -> list:
    """Today's invocations without a subcommand: a folder is a batch (unless --format gradescope)."""
    if argv[:1] and argv[0] in ("grade", "batch", "bundle", "-h", "--help"):
        return argv
    target = next((a for a in argv if not a.startswith("-")), None)
    gradescope = "gradescope" in argv and any(a.startswith("--format") for a in argv)
    if target and pathlib.Path(target).is_dir() and not gradescope:
        return ["batch", *argv]
    return ["grade", *argv]


def main(argv=None) -> int:
    argv = _with_command(list(sys.argv[1:] if argv is None else argv))
    args = parser().parse_args(argv)
    if args.command == "bundle":
        from .grading import gradescope
        return gradescope.bundle_run(args)
    fmt = args.format or ("json" if args.json else "table")
    args.format = fmt
    target = pathlib.Path(args.notebook)
    sandbox = False if args.no_sandbox else None
    try:
        if args.command == "batch":
            from .grading import batch
            return batch.run(target, args, _limits(args))
        if fmt == "gradescope":
            from .grading import gradescope
            return gradescope.grade_to_results(target, pathlib.Path(args.results), chapter=args.chapter,
                                               solutions=args.solutions, limits=_limits(args), sandbox=sandbox)
        report = grade_file(target, chapter=args.chapter, solutions=args.solutions, limits=_limits(args),
                            sandbox=sandbox, final=args.final)
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
