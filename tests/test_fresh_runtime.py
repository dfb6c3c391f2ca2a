"""The setup cell in a simulated fresh notebook runtime (what a reader meets on Colab or a bare Jupyter).

A virtual environment without ``rnnbook``, in which the scientific stack is preinstalled at versions older
than the pins of requirements.txt and at the lower bounds' minor versions of pyproject.toml, as a hosted
runtime would have it. The setup cell is pointed at a git copy of this working tree (``RNNBOOK_REPO_URL``);
chapter 1 and the chapter 5 exercise notebook then run top to bottom in that environment (nbclient), and
the test checks that the setup cell installed rnnbook and what was missing, and changed nothing else.

pip works offline here: the packages the setup cell may install (tqdm at its lower bound, and setuptools to
build rnnbook) come from a local folder of wheels (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``). The environment and
the wheels are built once (a few minutes, from PyPI) under ``$RNNBOOK_TEST_CACHE/fresh-runtime/`` (default
``~/.cache/rnnbook-tests``, shared with the wheel-install test of the grader, so that a fresh clone on the same
machine reuses it), keyed on the versions; later runs only remove what the previous run installed.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:                                            # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ["chapters/01_rnn.ipynb", "exercises/05_seq2seq.ipynb"]
# What the runtime has before the setup cell runs: older than requirements.txt's pins, at the lower bounds.
PREINSTALLED = {"numpy": "2.2.6", "matplotlib": "3.9.4", "ipykernel": "6.29.5", "ipywidgets": "8.1.5",
                "scikit-learn": "1.5.2", "nbclient": "0.10.2", "nbformat": "5.10.4"}
# What pip may fetch while the setup cell runs (from a local folder): the missing dependency at its lower
# bound, and the build backend pyproject.toml asks for.
WHEELS = {"tqdm": "4.66.0", "setuptools": "84.2.1"}
CACHE = pathlib.Path(os.environ.get("RNNBOOK_TEST_CACHE", pathlib.Path.home() / ".cache" / "rnnbook-tests")) \
    / "fresh-runtime"
SETUP_LINE = re.compile(r"^Setup: installed rnnbook \S+ from (?P<url>\S+) in (?P<seconds>\d+) s; "
                        r"added (?P<added>.*); upgraded (?P<upgraded>.*)\.$")


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            pins[name.lower()] = version
    return pins


def lower_bound(req: Requirement) -> Version:
    bounds = [Version(s.version) for s in req.specifier if s.operator == ">="]
    assert len(bounds) == 1, f"pyproject.toml: give {req.name} one lower bound (>=), not {req.specifier}"
    return bounds[0]


def test_runtime_set_is_older_than_the_pins_and_exercises_every_lower_bound():
    """The runtime the test simulates is the one the lower bounds promise: every dependency of rnnbook is
    there (preinstalled, or fetched by the setup cell) at its lower bound's minor version, and nothing
    preinstalled is at the version requirements.txt pins."""
    pins, tested = pinned(), {**PREINSTALLED, "tqdm": WHEELS["tqdm"]}
    for req in runtime_requirements():
        name = req.name.lower()
        assert name in tested, f"{req.name} is a dependency of rnnbook that tests/test_fresh_runtime.py never runs"
        version = Version(tested[name])
        assert version in req.specifier, f"{name} {version} does not satisfy pyproject.toml's {req}"
        assert version.release[:2] == lower_bound(req).release[:2], \
            f"{req} in pyproject.toml: the fresh-runtime test runs {name} {version}; move one to the other"
        assert tested[name] != pins.get(name), f"{name}: the simulated runtime must differ from the pins"


def test_binder_runs_the_python_ci_tests_with():
    """Binder (repo2docker) takes its Python version from runtime.txt, one line ``python-X.Y``: the version
    the workflow builds and tests the book with."""
    runtime = (ROOT / "runtime.txt").read_text().strip()
    tested = set(re.findall(r'python-version:\s*"([0-9.]+)"', (ROOT / ".github/workflows/book.yml").read_text()))
    assert re.fullmatch(r"python-\d+\.\d+", runtime), f"runtime.txt: {runtime!r} is not python-X.Y"
    assert tested == {runtime.removeprefix("python-")}, f"runtime.txt says {runtime}, the workflow tests {tested}"


def _python(venv: pathlib.Path) -> pathlib.Path:
    return venv / "bin" / "python"


def _installed(venv: pathlib.Path) -> dict[str, str]:
    code = ("import json, importlib.metadata as m; "
            "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))")
    out = subprocess.run([_python(venv), "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def _pip(venv: pathlib.Path, *args: str) -> None:
    result = subprocess.run([_python(venv), "-m", "pip", "--disable-pip-version-check", "-q", *args],
                            capture_output=True, text=True)
    if result.returncode:
        pytest.fail(f"pip {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def fresh_runtime() -> tuple[pathlib.Path, pathlib.Path, dict[str, str]]:
    """The cached environment (rebuilt when its key changes or a package in it changed) and the wheel folder,
    reset to what it held when built; returns ``(venv, wheels, installed versions)``."""
    key = hashlib.sha256(json.dumps([sys.version, PREINSTALLED, WHEELS]).encode()).hexdigest()[:12]
    home = CACHE / key
    venv, wheels, base_file = home / "venv", home / "wheels", home / "installed.json"
    if base_file.exists():
        base, now = json.loads(base_file.read_text()), _installed(venv)
        if all(now.get(n) == v for n, v in base.items()):
            extra = sorted(set(now) - set(base))
            if extra:                            # what the last run's setup cell installed
                _pip(venv, "uninstall", "-y", *extra)
            return venv, wheels, base
    if CACHE.exists():
        shutil.rmtree(CACHE)                     # an old key, or a broken environment
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    _pip(venv, "install", *(f"{n}=={v}" for n, v in PREINSTALLED.items()))
    _pip(venv, "download", "--no-deps", "--only-binary=:all:", "-d", str(wheels),
         *(f"{n}=={v}" for n, v in WHEELS.items()))
    base = _installed(venv)
    base_file.write_text(json.dumps(base, indent=1))
    return venv, wheels, base


def repository_copy(dest: pathlib.Path) -> str:
    """A git repository holding this working tree as it is now (committed or not, ignored files left out),
    as on CI where the working tree is a fresh clone; returns its ``file://`` URL."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():                        # skip files deleted but not yet committed
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "working tree"], cwd=dest, check=True)
    return dest.as_uri()


def kernel_env(venv: pathlib.Path, wheels: pathlib.Path, repo_url: str, jupyter: pathlib.Path) -> dict:
    """The environment the notebooks' kernel starts in: the fresh venv's Python (a ``python3`` kernel spec
    ahead of any other), no path to this checkout's library, pip offline on the local wheels."""
    spec = jupyter / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(_python(venv)), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh runtime", "language": "python"}))
    dropped = ("PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith(("PIP_", "RNNBOOK_"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               JUPYTER_PATH=str(jupyter), IPYTHONDIR=str(jupyter / "ipython"), RNNBOOK_REPO_URL=repo_url,
               PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_CONFIG_FILE=os.devnull,
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def run_notebook(path: pathlib.Path, workdir: pathlib.Path, env: dict) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)                      # raises on an error outside cells tagged raises-exception
    return nb


def grader_finds_solutions(venv: pathlib.Path, workdir: pathlib.Path) -> bool:
    """Whether the installed rnnbook's grader, run in ``workdir``, finds the solutions without being told where."""
    code = "from rnnbook.grading import solutions_dir; print(solutions_dir().joinpath('05_seq2seq.ipynb').is_file())"
    result = subprocess.run([_python(venv), "-c", code], cwd=workdir, capture_output=True, text=True)
    return result.stdout.strip() == "True"


def setup_output(nb) -> str:
    cell = next(c for c in nb.cells if c.cell_type == "code")
    assert not [o for o in cell.outputs if o.output_type != "stream" or o.name != "stdout"], cell.outputs
    return "".join(o.text for o in cell.outputs)


def test_notebooks_run_in_a_fresh_runtime_and_change_nothing_installed(tmp_path, monkeypatch):
    venv, wheels, before = fresh_runtime()
    assert "rnnbook" not in before
    repo_url = repository_copy(tmp_path / "repo")
    env = kernel_env(venv, wheels, repo_url, tmp_path / "jupyter")
    for name in set(os.environ) - set(env):      # jupyter_client finds the kernel spec through os.environ
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    workdir = tmp_path / "work"                  # the reader's folder (Colab: /content), where the clone goes
    workdir.mkdir()

    first = run_notebook(ROOT / NOTEBOOKS[0], workdir, env)
    if not grader_finds_solutions(venv, workdir):
        # The installed package does not carry the solutions yet (issue 26 item 5 ships them as package data):
        # point the grader at the clone's solutions/, the documented override.
        monkeypatch.setenv("RNNBOOK_SOLUTIONS", str(workdir / "rnnbook-book" / "solutions"))
        env["RNNBOOK_SOLUTIONS"] = os.environ["RNNBOOK_SOLUTIONS"]
    second = run_notebook(ROOT / NOTEBOOKS[1], workdir, env)

    line = setup_output(first)
    match = SETUP_LINE.match(line.strip())
    assert match and "\n" not in line.strip(), f"the setup cell should print one line saying what it did: {line!r}"
    assert match["url"] == repo_url
    assert match["added"] == f"tqdm {WHEELS['tqdm']}" and match["upgraded"] == "nothing", line
    print(f"\n{NOTEBOOKS[0]}: {line.strip()}")
    assert setup_output(second) == "", "where rnnbook is installed the setup cell does nothing"

    after = _installed(venv)
    changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    assert not changed, f"the setup cell changed packages the runtime already had: {changed}"
    assert set(after) - set(before) == {"rnnbook", "tqdm"}
    where = subprocess.run([_python(venv), "-c", "import rnnbook; print(rnnbook.__file__)"], check=True,
                           capture_output=True, text=True).stdout.strip()
    assert pathlib.Path(where).is_relative_to(venv), f"rnnbook was imported from {where}, not the fresh runtime"
