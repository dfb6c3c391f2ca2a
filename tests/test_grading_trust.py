"""Round 2 of the grader under abuse, one test per kind of hole: no reference reaches the learner's process
by any path (a blank notebook that hunts for them scores 0 by every route), the library twins are absent
(eight tricks), the sandbox boundary (private scratch, planted links, disk quota, bounded results, an
unprivileged uid, forged and malformed answers, a thread that kills the process later), and copies between
the submissions of a batch are flagged."""
import contextlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from rnnbook import grading
from rnnbook.grading import sandbox
from rnnbook.grading.session import Limits, grade_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
SANDBOX = sandbox.sandbox_available()
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason="bubblewrap is not available (apt-get install bubblewrap)")

# A cell that looks everywhere for references and defines every graded name it finds in them.
HUNT = r'''
import gc, glob, json, os, sys, types
def _take(src):
    try:
        exec(src, globals())
    except BaseException:
        pass
def _from_notebook(path):
    try:
        for c in json.load(open(path))["cells"]:
            if c.get("cell_type") == "code":
                _take("".join(c["source"]))
    except BaseException:
        pass
import rnnbook
places = [os.path.dirname(rnnbook.__file__), os.environ.get("RNNBOOK_SOLUTIONS", ""), os.getcwd(), "/tmp",
          "/work", "/root", "/home", "/srv", "/opt", "/autograder", {extra!r}]
places += [os.path.join(os.path.dirname(rnnbook.__file__), *([".."] * k)) for k in range(1, 3)]
for p in places:
    for f in glob.glob(os.path.join(p, "**", "*.ipynb"), recursive=True)[:200]:
        if "exercises" not in f:
            _from_notebook(f)
for obj in gc.get_objects():                # anything the grader may have sent: sources, namespaces
    try:
        if isinstance(obj, str) and "def " in obj and "return" in obj and len(obj) < 10 ** 5:
            _take(obj)
        elif isinstance(obj, dict) and obj.get("deps_src"):
            _take(obj["deps_src"])
    except BaseException:
        pass
'''


def blank_with_hunt(folder: pathlib.Path, chapter: str = "01_rnn", extra: str = "") -> pathlib.Path:
    nb = nbformat.read(ROOT / "exercises" / f"{chapter}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(HUNT.replace("{extra!r}", repr(extra))))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chapter}.ipynb"
    nbformat.write(nb, path)
    return path


@needs_sandbox
def test_a_blank_notebook_that_hunts_for_references_scores_zero_by_every_route(tmp_path, monkeypatch):
    refs = tmp_path / "refs"
    shutil.copytree(ROOT / "solutions", refs)
    path = blank_with_hunt(tmp_path / "work", extra=str(refs))
    # the grader in this process: with and without --solutions, and with RNNBOOK_SOLUTIONS set
    assert grade_notebook(path)["score"] == 0
    assert grade_notebook(path, solutions=refs)["score"] == 0
    monkeypatch.setenv("RNNBOOK_SOLUTIONS", str(refs))
    assert grade_notebook(path)["score"] == 0
    monkeypatch.delenv("RNNBOOK_SOLUTIONS")
    # the command line, one notebook and a batch
    for extra in ([], ["--solutions", str(refs)]):
        proc = subprocess.run([sys.executable, "-m", "rnnbook.grade", "grade", str(path), "--format", "json", *extra],
                              capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout)["score"] == 0
        proc = subprocess.run([sys.executable, "-m", "rnnbook.grade", "batch", str(path.parent), "--json", *extra],
                              capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert [r["score"] for r in json.loads(proc.stdout)] == [0]
    # the Gradescope bundle, on a local autograder layout
    zip_path = tmp_path / "autograder.zip"
    subprocess.run([sys.executable, "-m", "rnnbook.grade", "bundle", "01_rnn", "--out", str(zip_path)], check=True,
                   capture_output=True, timeout=120)
    ag = tmp_path / "autograder"
    zipfile.ZipFile(zip_path).extractall(ag / "source")
    blank_with_hunt(ag / "submission", extra=str(ag))
    run = ag / "source" / "run_autograder"
    run.chmod(0o755)
    env = dict(os.environ, AUTOGRADER_ROOT=str(ag), RNNBOOK_PYTHON=sys.executable)
    subprocess.run(["bash", str(run)], check=True, capture_output=True, env=env, timeout=600)
    assert json.loads((ag / "results" / "results.json").read_text())["score"] == 0


def test_no_reference_source_or_value_is_sent_to_the_learners_process(tmp_path, monkeypatch):
    """Whatever the learner's process receives is recorded: no solution source, expected output or answer."""
    sent = []
    real = sandbox.LearnerProcess._send

    def spy(self, data):
        # the cells are the learner's own notebook (here the solutions); the clean process runs no learner code
        # and receives only the learner's own configuration
        if data.get("op") != "cell" and not self.clean:
            sent.append(json.dumps(data))
        return real(self, data)
    monkeypatch.setattr(sandbox.LearnerProcess, "_send", spy)
    nb = nbformat.read(ROOT / "solutions" / "03_lstm.ipynb", as_version=4)     # lstm_forward calls the step
    path = tmp_path / "03_lstm.ipynb"
    nbformat.write(nb, path)
    report = grade_notebook(path)
    assert report["score"] == report["max_score"]
    text = "\n".join(sent)
    assert '"dependency"' not in text and "reply" in text       # lstm_forward's calls of the step were answered
    refs = grading.reference_namespace("03_lstm", ROOT / "solutions" / "03_lstm.ipynb")
    for cell in grading.graded_cells(ROOT / "solutions" / "03_lstm.ipynb"):
        for line in cell.splitlines():
            if line.strip().startswith(("return", "q_")) and len(line.strip()) > 12:
                assert json.dumps(line)[1:-1] not in text, line
    for ex in grading.exercises_for("03_lstm"):
        if not isinstance(ex, grading.Exercise):
            # an answer would travel as a JSON value; a one-letter choice such as "b" is also the name of an
            # argument (a key of the cases), so look for it in the place of a value
            answer = json.dumps(refs[ex.name])
            assert ": " + answer not in text and "[" + answer not in text or len(answer) < 3, ex.name


TWIN_TRICKS = {
    "alias": "from rnnbook.functions import softmax as _s\nsoftmax = _s",
    "helper": "import rnnbook.functions as F\ndef _h(x):\n    return F.softmax(x)\ndef softmax(x):\n    return _h(x)",
    "computed import": "import importlib\ndef softmax(x):\n"
                       "    m = importlib.import_module('rnnbook.' + 'func' + 'tions')\n"
                       "    return getattr(m, 'soft' + 'max')(x)",
    "copied code": "import rnnbook.functions as F\ndef softmax(x):\n    pass\nsoftmax.__code__ = F.softmax.__code__",
    "exec of getsource": "import inspect, rnnbook.functions as F\nexec(inspect.getsource(F.softmax))",
    "exec of the file": "import rnnbook.functions as F\n_ns = {}\nexec(open(F.__file__).read(), _ns)\n"
                        "softmax = _ns['softmax']",
    "only while graded": "import os, numpy as np\nfrom rnnbook.functions import softmax as _lib\ndef softmax(x):\n"
                         "    if os.environ.get('RNNBOOK_GRADING'):\n        return _lib(x)\n"
                         "    raise NotImplementedError",
    "thread swaps it in": "import threading, time\nfrom rnnbook.functions import softmax as _lib\n"
                          "def softmax(x):\n    raise NotImplementedError\n"
                          "def _swap():\n    time.sleep(0.2)\n    globals()['softmax'] = _lib\n"
                          "threading.Thread(target=_swap, daemon=True).start()\ntime.sleep(0.5)",
}


@pytest.mark.parametrize("trick", list(TWIN_TRICKS))
def test_library_twins_are_absent_in_the_learners_process(tmp_path, trick):
    nb = nbformat.read(ROOT / "solutions" / "01_rnn.ipynb", as_version=4)
    for cell in nb.cells:
        if "graded" in cell.metadata.get("tags", []) and "def softmax(" in cell.source:
            cell.source = TWIN_TRICKS[trick]
        cell.outputs = [] if cell.cell_type == "code" else None
        if cell.cell_type != "code":
            cell.pop("outputs")
    path = tmp_path / "01_rnn.ipynb"
    nbformat.write(nb, path)
    ex = {e["name"]: e for e in grade_notebook(path)["exercises"]}
    assert ex["softmax"]["score"] == 0, ex["softmax"]
    assert "exercise 'softmax'" in ex["softmax"]["feedback"] or "library's" in ex["softmax"]["feedback"] \
        or ex["softmax"]["status"] in ("not implemented", "missing")
    assert ex["sample_tokens"]["score"] == 3          # other exercises are untouched


def test_in_notebook_check_refuses_library_imports():
    g = grading.Grader("01_rnn")
    from rnnbook.functions import cross_entropy, softmax
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for fn in (softmax, cross_entropy):
            g.check(fn)
            assert g.last_result.score == 0, g.last_result
    ns: dict = {}
    exec("import rnnbook.functions as F\ndef softmax(x):\n    return F.softmax(x)", ns)
    with contextlib.redirect_stdout(out):
        g.check(ns["softmax"])
    assert g.last_result.score == 0 and "exercise 'softmax'" in g.last_result.feedback
    import rnnbook.functions
    assert rnnbook.functions.softmax is softmax                # the library is whole again afterwards


@needs_sandbox
def test_sandbox_boundary(tmp_path):
    marker = tmp_path / "outside"
    marker.mkdir()
    probes = {
        # private scratch: no other kernel's folder, no grader folder, writes stay inside
        "one_hot": "import os, glob\ndef one_hot(ids, vocab_size):\n"
                   "    raise ValueError('seen: ' + repr(sorted(glob.glob('/tmp/rnnbook-grade-*')) + "
                   "sorted(glob.glob('/tmp/pytest-of-*'))))",
        # a disk quota: write until it stops
        "softmax": "import os\ndef softmax(x):\n    n = 0\n    try:\n        for i in range(64):\n"
                   "            with open(f'/tmp/f{i}', 'wb') as f:\n                for _ in range(32):\n"
                   "                    f.write(b'x' * 2 ** 20)\n                    n += 1\n    except OSError:\n"
                   "        pass\n    raise ValueError(f'wrote {n} MB')",
        # the uid and the process limit
        "cross_entropy": "import os, time\ndef cross_entropy(logits, targets):\n    n = 0\n    try:\n"
                         "        for _ in range(200):\n            if os.fork() == 0:\n                time.sleep(2)\n"
                         "                os._exit(0)\n            n += 1\n    except OSError:\n        pass\n"
                         "    raise ValueError(f'uid {os.getuid()} forks {n}')",
        # a huge return value and many arrays
        "rnn_step_masked": "import numpy as np\ndef rnn_step_masked(x, h_prev, mask, Wx, Wh, b):\n"
                           "    return np.zeros(80 * 2 ** 20 // 8)",
        "cross_entropy_grad": "import numpy as np\ndef cross_entropy_grad(logits, targets):\n"
                              "    return [np.zeros(1)] * 5000",
    }
    nb = nbformat.read(ROOT / "solutions" / "01_rnn.ipynb", as_version=4)
    for cell in nb.cells:
        for name, src in probes.items():
            if "graded" in cell.metadata.get("tags", []) and f"def {name}(" in cell.source:
                cell.source = src
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import os\nfor n in ('calls', 'answers', 'in', 'out'):\n    try:\n        os.symlink({str(marker)!r}, n)\n"
        f"    except OSError:\n        pass"))
    path = tmp_path / "01_rnn.ipynb"
    nbformat.write(nb, path)
    report = grade_notebook(path, limits=Limits(disk_mb=64, file_mb=48, nproc=40, result_mb=16))
    ex = {e["name"]: e for e in report["exercises"]}
    assert "seen: []" in ex["one_hot"]["feedback"]
    mb = int(ex["softmax"]["feedback"].split("wrote ")[1].split(" MB")[0])
    assert mb <= 64, ex["softmax"]["feedback"]
    uid, forks = ex["cross_entropy"]["feedback"].split("uid ")[1].split(" forks ")
    if os.geteuid() == 0:
        assert int(uid) != 0 and int(forks.split()[0].strip("'\")")) < 40, ex["cross_entropy"]["feedback"]
    assert ex["rnn_step_masked"]["score"] == 0 and "too large" in ex["rnn_step_masked"]["feedback"]
    assert ex["cross_entropy_grad"]["score"] == 0 and "too large" in ex["cross_entropy_grad"]["feedback"]
    assert ex["sample_tokens"]["score"] == 3 and ex["rnn_forward_padded"]["score"] == 3
    assert not list(marker.iterdir()), "the grader wrote through a planted link"


def test_forged_and_malformed_answers_fail_the_exercise_and_never_crash(tmp_path):
    forge = ("import json, os, sys\ndef one_hot(ids, vocab_size):\n    f = sys._getframe(1)\n"
             "    while f and 'nonce' not in f.f_locals:\n        f = f.f_back\n    n = f.f_locals['nonce']\n"
             "    fd = int(sys.argv[2])\n    for line in [{'nonce': n, 'case': 0, 'result': 'x'},\n"
             "                 {'nonce': n, 'case': 1, 'result': {'status': 'ok', 'got': {'__array__': '!!', "
             "'dtype': '<f8', 'shape': [10 ** 12]}, 'after': 5}},\n"
             "                 {'nonce': n, 'case': 2, 'result': {'status': 'ok', 'got': {'__array__': 'AAAA', "
             "'dtype': 'O', 'shape': [1]}}},\n"
             "                 {'nonce': n, 'case': 'x'}, {'nonce': n, 'status': 'done', 'cases': 'junk'}]:\n"
             "        os.write(fd, (json.dumps(line) + '\\n').encode())\n    os.write(fd, b'{not json\\n')\n"
             "    os._exit(0)")
    odd = ("class Odd:\n    @property\n    def __module__(self):\n        raise RuntimeError('no')\n"
           "    def __call__(self, *a):\n        return 1\nsoftmax = Odd()")
    nb = nbformat.read(ROOT / "solutions" / "01_rnn.ipynb", as_version=4)
    for cell in nb.cells:
        if "graded" in cell.metadata.get("tags", []) and "def one_hot(" in cell.source:
            cell.source = forge
        if "graded" in cell.metadata.get("tags", []) and "def softmax(" in cell.source:
            cell.source = odd
    path = tmp_path / "01_rnn.ipynb"
    nbformat.write(nb, path)
    report = grade_notebook(path, limits=Limits(cell_timeout=30))
    ex = {e["name"]: e for e in report["exercises"]}
    assert ex["one_hot"]["score"] == 0 and ex["softmax"]["score"] == 0
    assert ex["rnn_forward_padded"]["score"] == 3 and ex["sample_tokens"]["score"] == 3


def test_a_thread_that_kills_the_process_later_costs_no_exercise(tmp_path):
    nb = nbformat.read(ROOT / "solutions" / "01_rnn.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        "import os, threading, time\ndef _later():\n    time.sleep(1.5)\n    os._exit(9)\n"
        "threading.Thread(target=_later, daemon=True).start()"))
    nb.cells.insert(4, nbformat.v4.new_code_cell("import time\ntime.sleep(1.0)"))
    for cell in nb.cells:                         # make the exercises slow enough to be interrupted
        if "graded" in cell.metadata.get("tags", []) and "def one_hot(" in cell.source:
            cell.source = "import time\n" + cell.source.replace("def one_hot(ids, vocab_size):\n",
                                                                "def one_hot(ids, vocab_size):\n    time.sleep(0.3)\n")
    path = tmp_path / "01_rnn.ipynb"
    nbformat.write(nb, path)
    report = grade_notebook(path)
    assert report["score"] == report["max_score"], [(e["name"], e["feedback"]) for e in report["exercises"]]
    assert any("left a thread running" in n for n in report["notes"]), report["notes"]


def test_copies_in_a_batch_are_flagged(tmp_path):
    from rnnbook.grading import batch
    subs = tmp_path / "subs"
    mine = ("import numpy as np\ndef rnn_forward_padded(xs, lengths, h0, Wx, Wh, b):\n    out, h = [], h0\n"
            "    for t in range(xs.shape[1]):\n"
            "        h = np.where((t < lengths)[:, None], np.tanh(xs[:, t] @ Wx + h @ Wh + b), h)\n"
            "        out.append(h)\n    return np.stack(out, axis=1)")
    renamed = mine.replace("out", "states").replace("h = ", "state = ").replace("(h)", "(state)")
    other = ("import numpy as np\ndef rnn_forward_padded(xs, lengths, h0, Wx, Wh, b):\n    N, T, _ = xs.shape\n"
             "    hs = np.zeros((N, T, Wh.shape[0]))\n    prev = h0\n    t = 0\n    while t < T:\n"
             "        live = t < lengths\n"
             "        prev[live] = np.tanh(prev[live] @ Wh + xs[live, t, :] @ Wx + b)\n        hs[:, t, :] = prev\n"
             "        t += 1\n    return hs")
    for name, src in {"ann": mine, "bob": mine.replace("    out, h", "    # my own work\n    out, h"),
                      "cat": other}.items():
        nb = nbformat.read(ROOT / "exercises" / "01_rnn.ipynb", as_version=4)
        for cell in nb.cells:
            if "graded" in cell.metadata.get("tags", []) and "def rnn_forward_padded(" in cell.source:
                cell.source = src
        (subs / name).mkdir(parents=True)
        nbformat.write(nb, subs / name / "01_rnn.ipynb")
    results = batch.grade_all(subs, progress=False)
    copies = {r["submission"]: r["report"]["copies"] for r in results}
    assert any("same as bob/01_rnn.ipynb" in c for c in copies["ann/01_rnn.ipynb"]), copies
    assert any("ann/01_rnn.ipynb" in c for c in copies["bob/01_rnn.ipynb"])
    assert copies["cat/01_rnn.ipynb"] == []
    assert renamed != mine


def test_command_line_subcommands_and_todays_invocations(tmp_path):
    from rnnbook import grade
    for argv, command in ([["x.ipynb"], "grade"], [["grade", "x.ipynb", "--json"], "grade"],
                          [[str(tmp_path)], "batch"], [[str(tmp_path), "--format", "gradescope"], "grade"],
                          [["bundle", "01_rnn"], "bundle"]):
        assert grade.parser().parse_args(grade._with_command(argv)).command == command
    args = grade.parser().parse_args(grade._with_command(["x.ipynb", "--format", "json"]))
    assert args.format == "json"
