"""Automatic grading of the exercise notebooks against the solutions notebooks.

Each chapter ``NN_slug`` has a module ``rnnbook.grading.chNN_slug`` with a list ``EXERCISES`` of specs
(:mod:`rnnbook.grading.core`: ``Exercise``, ``Question``, ``Choice``, ``Experiment``). The references are
the code cells tagged ``graded`` in ``solutions/NN_slug.ipynb``: the solutions notebook is the single
source of truth.

In a notebook (feedback in the learner's own kernel, not the grade: ``rnnbook.grading.notebook``)::

    from rnnbook.grading import Grader
    grader = Grader("01_rnn")
    grader.check(rnn_step_masked)
    grader.score(globals())

The grade (``rnnbook.grading.session``): the trusted grader process loads the references and builds
every input and expected output, runs the learner's notebook in a separate sandboxed process that never
receives a reference, and compares what comes back::

    python -m rnnbook.grade exercises/01_rnn.ipynb [--json]

This module only re-exports: where things are found (``rnnbook.grading.catalog``), the specs and the judging
(:mod:`.core`), the policy shared by both paths (``rnnbook.grading.policy``).
"""
from .catalog import (chapters, dependencies, exercises_for, find_solutions, format_table, graded_cells,
                      rebuild_case, reference_functions, reference_namespace, register, solutions_dir)
from .core import Choice, Exercise, Experiment, Question, Result
from .notebook import Grader, grade_namespace

__all__ = ["Exercise", "Question", "Choice", "Experiment", "Result", "Grader", "chapters", "exercises_for",
           "grade_namespace", "reference_functions", "reference_namespace", "solutions_dir", "find_solutions",
           "rebuild_case", "graded_cells", "dependencies", "format_table", "register"]
