"""The grader finds its references without an editable install: ``--solutions``, ``RNNBOOK_SOLUTIONS``,
the copy shipped in the package, ``../solutions`` next to the notebook, the repository; and a wheel
installed in a fresh virtual environment grades a solutions notebook to full marks.

The fresh environment takes minutes to install the first time, so it is cached (keyed by the Python
version and the package's dependency list) under ``$RNNBOOK_TEST_CACHE`` (default
``~/.cache/rnnbook-tests``); later runs only reinstall the freshly built wheel.
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tomllib

import pytest

from rnnbook import grading

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_lookup_order_and_a_clear_message(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        shutil.copy(ROOT / "solutions" / "01_rnn.ipynb", d)
    monkeypatch.setenv("RNNBOOK_SOLUTIONS", str(b))
    assert grading.find_solutions("01_rnn", solutions=a) == a / "01_rnn.ipynb"
    assert grading.find_solutions("01_rnn") == b / "01_rnn.ipynb"
    monkeypatch.delenv("RNNBOOK_SOLUTIONS")
    course = tmp_path / "course"
    (course / "work").mkdir(parents=True)
    shutil.copytree(a, course / "solutions")
    found = grading.find_solutions("01_rnn", notebook=course / "work" / "01_rnn.ipynb")
    packaged = pathlib.Path(grading.__file__).parents[1] / "_solutions" / "01_rnn.ipynb"
    assert found in (packaged, course / "solutions" / "01_rnn.ipynb")
    with pytest.raises(FileNotFoundError, match="Pass --solutions DIR or set RNNBOOK_SOLUTIONS"):
        grading.find_solutions("01_rnn", solutions=tmp_path / "nowhere")


def _cached_venv() -> pathlib.Path:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256(json.dumps([sys.version, deps]).encode()).hexdigest()[:12]
    cache = pathlib.Path(os.environ.get("RNNBOOK_TEST_CACHE", pathlib.Path.home() / ".cache" / "rnnbook-tests"))
    return cache / f"wheel-venv-{key}"


def test_an_installed_wheel_grades_to_full_marks(tmp_path):
    src = tmp_path / "src"          # build from a copy: no build/ folder left in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "lib", src / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / "solutions", src / "solutions")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=600)
    wheel = next((tmp_path / "dist").glob("rnnbook-*.whl"))
    venv = _cached_venv()
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RNNBOOK_SOLUTIONS", "VIRTUAL_ENV")}
    if not (venv / ".ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, env=env, timeout=1800)
        (venv / ".ready").write_text("ok")
    else:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
                       check=True, env=env, timeout=600)
    alone = tmp_path / "somewhere" / "my_copy.ipynb"       # no solutions/ anywhere near it
    alone.parent.mkdir()
    shutil.copy(ROOT / "solutions" / "01_rnn.ipynb", alone)
    proc = subprocess.run([str(py), "-m", "rnnbook.grade", str(alone), "--json"], capture_output=True, text=True,
                          env=env, cwd=alone.parent, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["score"] == report["max_score"] > 0
    assert "site-packages/rnnbook/_solutions/01_rnn.ipynb" in report["solutions"]
