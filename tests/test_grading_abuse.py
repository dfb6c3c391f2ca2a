"""The trusted grader under abuse: what a learner who wants marks without the work might try.

Each notebook below is chapter 1's solutions with some graded functions replaced by an abuse and some
top-level cells added; every test states the score each exercise must get. The learner's notebook and
the reference notebook are hashed before and after: the grader never changes them, and the learner's
code cannot (the sandbox mounts everything read-only).
"""
import hashlib
import pathlib
import shutil

import nbformat
import pytest

from rnnbook.grading import sandbox
from rnnbook.grading.session import Limits, grade_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
SANDBOX = sandbox.sandbox_available()
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason="bubblewrap is not available (apt-get install bubblewrap)")
FULL = {"one_hot": 1, "softmax": 2, "cross_entropy": 2, "rnn_step_masked": 2, "rnn_forward_padded": 3,
        "cross_entropy_grad": 2, "sample_tokens": 3, "q_rnn_params": 1, "q_grad_sum": 1, "q_logits_shape": 1,
        "c_no_recurrence": 1, "c_why_tanh": 1, "tiny_config": 2}


def make_notebook(folder: pathlib.Path, replace: dict, extra_cells=(), name="01_rnn.ipynb") -> pathlib.Path:
    """Chapter 1's solutions with graded cells replaced (``{name: source}``) and cells added after the
    setup cell (``extra_cells``)."""
    nb = nbformat.read(ROOT / "solutions" / "01_rnn.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            for fname, src in replace.items():
                if "graded" in cell.metadata.get("tags", []) and (f"def {fname}(" in cell.source
                                                                  or cell.source.startswith(f"{fname} =")):
                    cell.source = src
    for k, src in enumerate(extra_cells):
        nb.cells.insert(3 + k, nbformat.v4.new_code_cell(src))
    path = folder / name
    nbformat.write(nb, path)
    return path


def sha(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def solutions(tmp_path):
    """A private copy of the solutions, so a test can check nobody writes to it."""
    d = tmp_path / "refs"
    shutil.copytree(ROOT / "solutions", d)
    return d


def grade(path, solutions, expected: dict, **limits):
    before = (sha(path), sha(solutions / "01_rnn.ipynb"))
    report = grade_notebook(path, solutions=solutions, limits=Limits(**limits))
    after = (sha(path), sha(solutions / "01_rnn.ipynb"))
    assert before == after, "the learner's notebook or the reference notebook changed"
    scores = {e["name"]: e["score"] for e in report["exercises"]}
    assert scores == expected, "\n".join(f"{e['name']}: {e['score']} {e['feedback']}" for e in report["exercises"])
    assert report["score"] == sum(expected.values())
    return {e["name"]: e for e in report["exercises"]}, report


def test_exits_and_crashes_cost_only_their_exercise_and_patches_change_nothing(tmp_path, solutions):
    path = make_notebook(tmp_path, {
        "one_hot": "import sys\ndef one_hot(ids, vocab_size):\n    sys.exit(0)",
        "softmax": "import os\ndef softmax(x):\n    os._exit(1)",
        "cross_entropy": "def cross_entropy(logits, targets):\n    raise KeyboardInterrupt",
        "rnn_step_masked": "import ctypes\ndef rnn_step_masked(x, h_prev, mask, Wx, Wh, b):\n"
                           "    return ctypes.string_at(0)",
        "q_rnn_params": "q_rnn_params = 31",
    }, extra_cells=[
        # patch the old in-kernel grader, NumPy's comparison, and print a fake report
        "import rnnbook.grading, numpy, json\n"
        "rnnbook.grading.grade_namespace = lambda ch, ns: {'notebook': ch, 'score': 999, 'max_score': 999, "
        "'exercises': []}\n"
        "numpy.isclose = lambda *a, **k: numpy.ones(numpy.broadcast(*a[:2]).shape, bool)\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "print('<<rnnbook-grade-report>>' + json.dumps({'score': 11, 'max_score': 11}))",
    ])
    ex, _ = grade(path, solutions, {**FULL, "one_hot": 0, "softmax": 0, "cross_entropy": 0,
                                     "rnn_step_masked": 0, "q_rnn_params": 0})
    assert "ended the process" in ex["one_hot"]["feedback"] or "SystemExit" in ex["one_hot"]["feedback"]
    assert "exit code 1" in ex["softmax"]["feedback"]
    assert "KeyboardInterrupt" in ex["cross_entropy"]["feedback"]
    assert "segmentation fault" in ex["rnn_step_masked"]["feedback"]
    assert "32" not in ex["q_rnn_params"]["feedback"] and "not right" in ex["q_rnn_params"]["feedback"]


def test_lying_objects_memory_loops_forks_and_fork_bombs(tmp_path, solutions):
    bomb = ("import os\ndef rnn_forward_padded(xs, lengths, h0, Wx, Wh, b):\n    while True:\n        try:\n"
            "            os.fork()\n        except OSError:\n            pass")
    path = make_notebook(tmp_path, {
        "one_hot": "class Yes:\n    def __eq__(self, other):\n        return True\n    __array_priority__ = 1e9\n"
                   "def one_hot(ids, vocab_size):\n    return Yes()",
        "softmax": "import numpy as np\ndef softmax(x):\n    big = np.ones(10 ** 9)\n    return big",
        "cross_entropy": "def cross_entropy(logits, targets):\n    while True:\n        pass",
        "rnn_step_masked": "import os, numpy as np\ndef rnn_step_masked(x, h_prev, mask, Wx, Wh, b):\n"
                           "    if os.fork() == 0:\n        os.execvp('sleep', ['sleep', '987'])\n"
                           "    return np.where(mask[:, None], np.tanh(x @ Wx + h_prev @ Wh + b), h_prev)",
        "rnn_forward_padded": bomb if SANDBOX else "def rnn_forward_padded(xs, lengths, h0, Wx, Wh, b):\n"
                                                  "    return 0",
        "q_rnn_params": "class Eq(float):\n    def __eq__(self, other):\n        return True\nq_rnn_params = Eq(7)",
    })
    ex, _ = grade(path, solutions, {**FULL, "one_hot": 0, "softmax": 0, "cross_entropy": 0,
                                     "rnn_forward_padded": 0, "q_rnn_params": 0},
                    call_timeout=3, memory_mb=512, nproc=40)
    assert "should be a NumPy array, got Yes" in ex["one_hot"]["feedback"]
    assert "MemoryError" in ex["softmax"]["feedback"]
    assert "longer than 3 s" in ex["cross_entropy"]["feedback"]
    leftovers = [p for p in pathlib.Path("/proc").iterdir() if p.name.isdigit()
                 and _cmdline(p) == "sleep 987"]
    assert not leftovers, "a process started by a graded function outlived the grading"


def _cmdline(proc: pathlib.Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


@needs_sandbox
def test_library_twins_nan_mutation_wrong_types_and_writing_the_references(tmp_path, solutions):
    target = solutions / "01_rnn.ipynb"
    path = make_notebook(tmp_path, {
        "one_hot": "def one_hot(ids, vocab_size):\n    return 'the answer'",
        "softmax": "from rnnbook.functions import softmax",
        "cross_entropy": "import rnnbook.functions as F\ndef cross_entropy(logits, targets):\n"
                         "    return F.cross_entropy(logits, targets)",
        "rnn_step_masked": "import numpy as np\ndef rnn_step_masked(x, h_prev, mask, Wx, Wh, b):\n"
                           "    return np.full((x.shape[0], Wh.shape[0]), np.nan)",
        "rnn_forward_padded": "import numpy as np\ndef rnn_forward_padded(xs, lengths, h0, Wx, Wh, b):\n"
                              "    hs = np.empty(xs.shape[:2] + h0.shape[1:])\n    h = h0\n"
                              "    for t in range(xs.shape[1]):\n"
                              "        h = np.where((t < lengths)[:, None], np.tanh(xs[:, t] @ Wx + h @ Wh + b), h)\n"
                              "        hs[:, t] = h\n    xs[...] = 0\n    return hs",
    }, extra_cells=[
        # rewrite the references on disk, patch the library's internals and the grading core
        f"try:\n    open({str(target)!r}, 'w').write('{{}}')\nexcept OSError as e:\n    print(e)",
        "import rnnbook.functions, rnnbook.grading.core as core\n"
        "rnnbook.functions.cross_entropy = lambda *a, **k: 0.0\n"
        "core.compare_output = lambda *a, **k: (None, 0.0)\ncore.evaluate = lambda *a, **k: None",
        "import subprocess\ntry:\n    subprocess.run(['touch', '/tmp/../" + str(tmp_path / 'pwned') + "'])\n"
        "except Exception as e:\n    print(e)",
    ])
    ex, _ = grade(path, solutions, {**FULL, "one_hot": 0, "softmax": 0, "cross_entropy": 0,
                                     "rnn_step_masked": 0, "rnn_forward_padded": 0})
    assert "should be a NumPy array, got str" in ex["one_hot"]["feedback"]
    assert "rnnbook.functions.softmax" in ex["softmax"]["feedback"] and "your own" in ex["softmax"]["feedback"]
    # the notebook patched its own copy of F.cross_entropy to return 0.0: a wrong value, whatever the library holds
    assert "loss is 0" in ex["cross_entropy"]["feedback"] or "rnnbook.functions.cross_entropy" in \
        ex["cross_entropy"]["feedback"]
    assert "NaN" in ex["rnn_step_masked"]["feedback"]
    assert "modified its input `xs`" in ex["rnn_forward_padded"]["feedback"]
    assert not (tmp_path / "pwned").exists()


def test_renamed_copy_endless_sleep_broken_cells_and_fair_dependencies(tmp_path, solutions):
    path = make_notebook(tmp_path, {
        "one_hot": "import time\ndef one_hot(ids, vocab_size):\n    time.sleep(600)",
        "rnn_step_masked": "import numpy as np\ndef rnn_step_masked(x, h_prev, mask, Wx, Wh, b):\n"
                           "    return np.where(mask[:, None], np.tanh(x @ Wx + h_prev @ Wh), h_prev)",
        "rnn_forward_padded": "import numpy as np\ndef rnn_forward_padded(xs, lengths, h0, Wx, Wh, b):\n"
                              "    hs, h = [], h0\n    for t in range(xs.shape[1]):\n"
                              "        h = rnn_step_masked(xs[:, t], h, t < lengths, Wx, Wh, b)\n"
                              "        hs.append(h)\n    return np.stack(hs, axis=1)",
        "q_rnn_params": "q_rnn_params = ...",
    }, extra_cells=["while True:\n    pass", "import os\nos._exit(3)", "raise RuntimeError('top level')"],
        name="01_rnn-Copy1.ipynb")
    ex, report = grade(path, solutions, {**FULL, "one_hot": 0, "rnn_step_masked": 0, "q_rnn_params": 0},
                       call_timeout=3, cell_timeout=3)
    assert report["chapter"] == "01_rnn"
    assert "longer than 3 s" in ex["one_hot"]["feedback"]
    assert "fix `rnn_step_masked` first" in ex["rnn_forward_padded"]["feedback"]
    assert ex["q_rnn_params"]["status"] == "not implemented"
    assert any("ran longer than 3 s" in n for n in report["notes"])
    assert any("stopped the process" in n for n in report["notes"])


def test_chapter_comes_from_the_notebook_and_can_be_overridden(tmp_path, solutions):
    path = make_notebook(tmp_path, {}, name="my homework.ipynb")
    report = grade_notebook(path, solutions=solutions)
    assert report["chapter"] == "01_rnn" and report["score"] == report["max_score"]
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "Grader(" not in c.source and "grader." not in c.source]
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="pass --chapter"):
        grade_notebook(path, solutions=solutions)
    report = grade_notebook(path, solutions=solutions, chapter="01_rnn")
    assert report["score"] == report["max_score"]
