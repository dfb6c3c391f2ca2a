"""An instructor's batch (40 generated submissions, two at a time) and the Gradescope autograder."""
import csv
import json
import os
import pathlib
import subprocess
import sys
import time
import zipfile

import nbformat

from rnnbook.grading import sandbox

ROOT = pathlib.Path(__file__).resolve().parents[1]
SANDBOX = sandbox.sandbox_available()


def _variant(replace: dict, extra=()) -> nbformat.NotebookNode:
    nb = nbformat.read(ROOT / "solutions" / "01_rnn.ipynb", as_version=4)
    keep = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "grader." in cell.source or "Colab" in cell.source:      # a lean notebook: no checks, no setup cell
            continue
        cell.outputs = []
        for name, src in replace.items():
            if "graded" in cell.metadata.get("tags", []) and f"def {name}(" in cell.source:
                cell.source = src
        keep.append(cell)
    nb.cells = keep[:1] + [nbformat.v4.new_code_cell(s) for s in extra] + keep[1:]
    return nb


STUBS = {n: f"def {n}(*args, **kwargs):\n    raise NotImplementedError"
         for n in ("one_hot", "softmax", "cross_entropy", "rnn_step_masked", "rnn_forward_padded",
                  "cross_entropy_grad", "sample_tokens")}
KINDS = {  # kind: (how many, replaced graded cells, extra top-level cells, expected total)
    "honest": (10, {}, (), 22),
    "state_not_carried": (10, {"rnn_forward_padded": "import numpy as np\n"
                               "def rnn_forward_padded(xs, lengths, h0, Wx, Wh, b):\n    return "
                               "np.stack([np.tanh(xs[:, t] @ Wx + h0 @ Wh + b) for t in range(xs.shape[1])], 1)"},
                          (), 19),
    "unstable_softmax": (5, {"softmax": "import numpy as np\ndef softmax(x):\n    e = np.exp(x)\n"
                                        "    return e / e.sum(axis=-1, keepdims=True)"}, (), 20),
    "exits": (4, {"one_hot": "import sys\ndef one_hot(ids, vocab_size):\n    sys.exit(0)"}, (), 21),
    "library_twin": (3, {"softmax": "from rnnbook.functions import softmax as sm\ndef softmax(x):\n    return sm(x)"},
                     (), 20),
    "endless": (2, {"cross_entropy": "def cross_entropy(logits, targets):\n    while True:\n        pass"}, (), 20),
    "copies_a_classmate": (2, STUBS, (
        "import glob, json\nfor f in glob.glob({root!r} + '/**/*.ipynb', recursive=True):\n    try:\n"
        "        nb = json.load(open(f))\n        for c in nb['cells']:\n"
        "            if 'graded' in c['metadata'].get('tags', []):\n                exec(''.join(c['source']))\n"
        "    except Exception:\n        pass",), 7 if SANDBOX else 22),    # 7: its own answers and configuration
    "not_a_notebook": (4, None, (), None),
}


def make_batch(root: pathlib.Path) -> dict:
    """40 submissions in nested folders with assorted names; returns {relative path: expected total}."""
    expected, k = {}, 0
    for kind, (n, replace, extra, total) in KINDS.items():
        for i in range(n):
            folder = root / f"section{k % 3}" / f"student_{k:02d}"
            folder.mkdir(parents=True)
            name = ["01_rnn.ipynb", "01_rnn-Copy1.ipynb", "homework.ipynb", "Untitled.ipynb"][k % 4]
            path = folder / name
            if replace is None:
                path.write_text("{ not json")
            else:
                nbformat.write(_variant(replace, [e.format(root=str(root)) for e in extra]), path)
            expected[str(path.relative_to(root))] = total
            k += 1
    assert len(expected) == 40
    return expected


def test_batch_of_forty_submissions_two_at_a_time(tmp_path):
    subs = tmp_path / "submissions"
    expected = make_batch(subs)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "rnnbook.grade", str(subs), "--jobs", "2", "--time-limit", "2",
                           "--csv", str(tmp_path / "grades.csv"), "--json-dir", str(tmp_path / "reports")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900)
    wall = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(proc.stdout, f"\nbatch wall time {wall:.1f} s")
    rows = {r["submission"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert set(rows) == set(expected)
    for sub, total in expected.items():
        row = rows[sub]
        if total is None:
            assert row["error"] and "not a readable Jupyter notebook" in row["error"], row
        else:
            assert float(row["total"]) == total, (sub, row)
    honest = [rows[s] for s, t in expected.items() if t == 22 and "rnn_forward_padded" in rows[s]]
    assert all(r["rnn_forward_padded"] == "3" for r in honest)
    assert any("~reference" in r["flags"] for r in honest), "copies of the reference are flagged"
    assert len(list((tmp_path / "reports").glob("*.json"))) == 40
    assert (tmp_path / "grades_pass_rate.png").stat().st_size > 1000
    assert "pass rate" in proc.stdout and "40 submissions" in proc.stdout


def test_gradescope_bundle_runs_on_a_local_autograder_layout(tmp_path):
    zip_path = tmp_path / "autograder.zip"
    proc = subprocess.run([sys.executable, "-m", "rnnbook.grade", "bundle", "01_rnn", "--out", str(zip_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = zipfile.ZipFile(zip_path).namelist()
    assert {"setup.sh", "run_autograder", "solutions/01_rnn.ipynb"} <= set(names)
    assert "rnnbook-src/lib/rnnbook/grading/session.py" in names
    # a folder laid out like Gradescope's container
    ag = tmp_path / "autograder"
    zipfile.ZipFile(zip_path).extractall(ag / "source")
    (ag / "submission").mkdir()
    nb = _variant(KINDS["state_not_carried"][1])
    nbformat.write(nb, ag / "submission" / "my_work.ipynb")
    run = ag / "source" / "run_autograder"
    run.chmod(0o755)
    env = dict(os.environ, AUTOGRADER_ROOT=str(ag), RNNBOOK_PYTHON=sys.executable)
    proc = subprocess.run(["bash", str(run)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((ag / "results" / "results.json").read_text())
    assert results["score"] == 19
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["rnn_forward_padded"]["score"] == 0 and tests["rnn_forward_padded"]["max_score"] == 3
    assert "time 1" in tests["rnn_forward_padded"]["output"]
    assert all({"name", "score", "max_score", "output"} <= set(t) for t in results["tests"])


def test_gradescope_result_for_an_empty_submission(tmp_path):
    (tmp_path / "submission").mkdir()
    out = tmp_path / "results" / "results.json"
    proc = subprocess.run([sys.executable, "-m", "rnnbook.grade", str(tmp_path / "submission"), "--chapter",
                           "01_rnn", "--format", "gradescope", "--results", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["score"] == 0 and "no notebook" in data["output"]
