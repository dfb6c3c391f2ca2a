"""Starting the learner's process (:mod:`rnnbook.grading.worker`): separate, sandboxed where possible, limited.

With bubblewrap (Debian's ``bubblewrap`` package) on Linux, the learner's process

- sees, read-only, only the system folders (``/usr``, ``/etc``, ...), the Python in use (its virtual
  environment) and a copy of the library; nothing of ``/home``, ``/root``, ``/work``, ``/srv`` or of the
  repository: no reference anywhere. Inside what it sees, any other copy of ``rnnbook`` on ``sys.path`` (a
  wheel's ``rnnbook/_solutions`` included), ``$RNNBOOK_SOLUTIONS``, the solutions folder in use and the
  folders passed in ``hide`` are covered by empty ones;
- imports ``rnnbook`` from a copy in which the graded chapter's library twins are absent
  (:func:`library_without_twins`);
- writes only to a private, size-limited ``/tmp`` (``Limits.disk_mb``): no other kernel's files, even when
  the Python or the library lives under ``/tmp``;
- has no network and its own process namespace (everything it starts dies with it);
- runs as an unprivileged user of its own when the grader runs as root (``setpriv``), so the process
  limit (``RLIMIT_NPROC``) binds; a Python installed in a private home is bound into the sandbox readable.

Without bubblewrap the learner's process is a plain child process with CPU, memory and file-size limits
and the library copy without twins first on its path, but **no** hiding, no disk quota, no network or
process isolation: it can read what the grader's user can (the references too). The report says so.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import os
import pathlib
import random
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid

__all__ = ["Limits", "LearnerProcess", "sandbox_available", "library_without_twins", "places_to_hide"]

SANDBOX_LIB = "/tmp/rnnbook-lib"        # where the learner's process finds its copy of the library
SANDBOX_HOME = "/tmp/work"              # its working folder (inside its private /tmp)
MAX_DEPENDENCY_CALLS = 20_000           # calls of another graded function answered per graded call


@dataclasses.dataclass
class Limits:
    """Limits for one learner process (the defaults suit the book's exercise notebooks)."""

    cell_timeout: float = 120.0          # seconds per notebook cell
    call_timeout: float | None = None    # seconds per graded function (None: the exercise's own limit)
    cpu_seconds: int = 900               # CPU seconds for the whole process (RLIMIT_CPU)
    memory_mb: int = 2048                # address space a graded function may add (RLIMIT_AS in its process)
    kernel_memory_mb: int = 8192         # address space of the process itself
    nproc: int = 64                      # processes and threads (RLIMIT_NPROC: binds for an unprivileged uid)
    output_chars: int = 10_000           # printed output kept per cell or function
    file_mb: int = 256                   # largest file the process may write (RLIMIT_FSIZE)
    disk_mb: int = 512                   # its private /tmp, all files together (sandbox only)
    result_mb: int = 32                  # largest answer (one case's return value) the grader reads back


_PROBE: dict = {}


def sandbox_available() -> bool:
    """Whether bubblewrap works here (checked once per process)."""
    if "ok" not in _PROBE:
        bwrap = shutil.which("bwrap")
        ok = False
        if bwrap:
            try:
                ok = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                                     "--size", str(2 ** 20), "--tmpfs", "/tmp", "--unshare-all",
                                     *([] if os.geteuid() == 0 else ["--unshare-user"]), "--", "/bin/true"],
                                    capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        _PROBE["ok"] = ok
    return _PROBE["ok"]


def _package_dir() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parents[1]


def _is_repository(folder: pathlib.Path) -> bool:
    return any((folder / n).exists() for n in ("solutions", ".git", "pyproject.toml", "exercises"))


def places_to_hide(extra=()) -> list[str]:
    """Every folder that holds references or a full copy of the library: see the module docstring."""
    found = [pathlib.Path(p) for p in extra if p]
    if os.environ.get("RNNBOOK_SOLUTIONS"):
        found.append(pathlib.Path(os.environ["RNNBOOK_SOLUTIONS"]))
    packages = {_package_dir()}
    for entry in sys.path:
        if entry and (pathlib.Path(entry) / "rnnbook").is_dir():
            packages.add((pathlib.Path(entry) / "rnnbook").resolve())
    for pkg in packages:
        found.append(pkg)
        for up in (pkg.parent, pkg.parent.parent):            # lib/rnnbook in a repository, site-packages
            if _is_repository(up) and up != pathlib.Path("/"):
                found.append(up)
    out = []
    for p in found:
        p = p.resolve() if p.exists() else p
        if p.is_dir() and str(p) not in out and str(p) not in ("/", "/usr", "/tmp"):
            out.append(str(p))
    return out


def library_without_twins(dest: pathlib.Path, twins: dict) -> pathlib.Path:
    """Copy the ``rnnbook`` package to ``dest/rnnbook`` with each twin's definition replaced by a stub.

    ``twins`` maps a library path (``"rnnbook.lstm.lstm_step_forward"``) to ``(exercise name, the message its
    stub raises)``.
    The copy leaves out the packaged solutions; the rest is byte for byte the library."""
    src = _package_dir()
    target = dest / "rnnbook"
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_solutions"))
    by_file: dict = {}
    for path, (exercise, message) in twins.items():
        module, name = path.rsplit(".", 1)
        rel = pathlib.Path(*module.split(".")[1:])
        f = target / rel.with_suffix(".py")
        if not f.is_file():
            f = target / rel / "__init__.py"
        by_file.setdefault(f, []).append((name, exercise, message))
    for f, items in by_file.items():
        if not f.is_file():
            continue
        lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        tree = ast.parse("".join(lines))
        spans = []
        for node in tree.body:
            for name, exercise, message in items:
                if getattr(node, "name", None) != name:
                    continue
                if isinstance(node, ast.ClassDef):            # calling the class (constructing it) raises
                    head, indent = f"class {name}:\n    def __init__(self, *args, **kwargs):\n", " " * 8
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    head, indent = f"def {name}(*args, **kwargs):\n", " " * 4
                else:
                    continue
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                stub = (f"{head}{indent}from rnnbook.grading.policy import TwinAbsent\n"
                        f"{indent}raise TwinAbsent({message!r})\n\n\n"
                        f"{name}.rnnbook_twin_of = {exercise!r}\n")
                spans.append((first, node.end_lineno, stub))
        for first, last, stub in sorted(spans, reverse=True):
            lines[first - 1:last] = [stub]
        f.write_text("".join(lines), encoding="utf-8")
    for p in [dest, *dest.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return dest


def _private_ancestor(path: str) -> str | None:
    """The highest folder above ``path`` that others may not enter (e.g. ``/root``), if any."""
    p = pathlib.Path(path)
    for up in reversed(p.parents):
        try:
            if not os.stat(up).st_mode & stat.S_IXOTH:
                return str(up)
        except OSError:
            return None
    return None


def _interpreter_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    return sorted(os.path.realpath(p) for p in paths)


_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")


def _bwrap_args(hide: list, library: str, disk_mb: int, as_root: bool, extra=()) -> list:
    """Only the system folders, the Python in use and the library copy are visible (read-only); ``/tmp`` is
    private and size-limited; ``hide`` covers what those visible folders hold of the references."""
    args = []
    for d in _SYSTEM:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    args += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--size", str(disk_mb * 2 ** 20), "--tmpfs", "/tmp",
             "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             *([] if as_root else ["--unshare-user"]), "--die-with-parent", "--new-session"]
    visible = [d for d in _SYSTEM if os.path.isdir(d) and not os.path.islink(d)]
    made: set = set()
    for k in [*_interpreter_paths(), *extra]:             # the Python in use (a virtual environment, a private home)
        if not any(k == v or k.startswith(v + "/") for v in visible):
            for up in reversed(pathlib.Path(k).parents):     # folders above it, enterable by the learner's uid
                if str(up) != "/" and str(up) not in made:
                    args += ["--perms", "0755", "--dir", str(up)]
                    made.add(str(up))
            args += ["--ro-bind", k, k]
            visible.append(k)
    for h in hide:                             # what the visible folders hold of the references
        if os.path.isdir(h) and any(h == v or h.startswith(v + "/") for v in visible):
            args += ["--tmpfs", h]
    args += ["--ro-bind", library, SANDBOX_LIB, "--perms", "0777", "--dir", SANDBOX_HOME, "--chdir", SANDBOX_HOME]
    return args


def _world_readable(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return bool(st.st_mode & stat.S_IROTH)


class LearnerProcess:
    """The learner's process (:mod:`rnnbook.grading.worker`) and the pipes the grader talks to it through.

    ``library``: the folder holding the ``rnnbook`` copy it imports (:func:`library_without_twins`);
    ``workdir``: its working folder when there is no sandbox; ``clean=True`` starts a process that runs
    only trusted runs (a configuration experiment) and never a notebook; ``extra_path``: folders of spec
    modules such a run imports (visible read-only, on its path)."""

    def __init__(self, workdir: str, limits: Limits, *, library: str, sandbox: bool | None = None, hide=(),
                 clean: bool = False, extra_path=()):
        self.workdir, self.limits, self.library, self.clean = str(workdir), limits, str(library), clean
        self.extra_path = [str(p) for p in extra_path]
        self.sandboxed = sandbox_available() if sandbox is None else bool(sandbox and sandbox_available())
        self.hide = places_to_hide(hide)
        self.uid = None
        if os.geteuid() == 0 and shutil.which("setpriv"):
            if self.sandboxed or all(_world_readable(p) and not _private_ancestor(p) for p in _interpreter_paths()):
                self.uid = random.randrange(200_000, 260_000)
        self.proc = None
        self.restarts = 0

    def _preexec(self):
        lim = self.limits
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 5))
        size = lim.kernel_memory_mb * 2 ** 20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
        size = lim.file_mb * 2 ** 20
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        if self.uid is not None or self.sandboxed:   # binds an unprivileged uid (or a user namespace)
            resource.setrlimit(resource.RLIMIT_NPROC, (lim.nproc, lim.nproc))

    def start(self) -> None:
        to_kernel_r, self._to_kernel = os.pipe()
        self._from_kernel, from_kernel_w = os.pipe()
        lim = self.limits
        home = SANDBOX_HOME if self.sandboxed else self.workdir
        if not self.sandboxed:
            os.makedirs(home, exist_ok=True)
            if self.uid is not None:
                os.chown(home, self.uid, self.uid)
                os.chmod(os.path.dirname(home), 0o711)
        kernel_limits = {"memory_mb": lim.memory_mb, "output_chars": lim.output_chars, "clean": self.clean}
        cmd = [sys.executable, "-m", "rnnbook.grading.worker", str(to_kernel_r), str(from_kernel_w), home,
               json.dumps(kernel_limits)]
        if self.uid is not None:
            cmd = [shutil.which("setpriv"), "--reuid", str(self.uid), "--regid", str(self.uid), "--clear-groups",
                   "--", *cmd]
        if self.sandboxed:
            cmd = [shutil.which("bwrap"), *_bwrap_args(self.hide, self.library, lim.disk_mb, self.uid is not None,
                                                        self.extra_path), "--", *cmd]
        lib = SANDBOX_LIB if self.sandboxed else self.library
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RNNBOOK_SOLUTIONS", "JPY_", "PYTHON"))}
        env.update(MPLBACKEND="Agg", RNNBOOK_GRADING="1", HOME=home, TMPDIR="/tmp" if self.sandboxed else home,
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONNOUSERSITE="1",
                   PYTHONPATH=os.pathsep.join([lib, *self.extra_path]), PYTHONDONTWRITEBYTECODE="1",
                   MPLCONFIGDIR=os.path.join(home, ".mpl"), IPYTHONDIR=os.path.join(home, ".ipython"))
        self.proc = subprocess.Popen(cmd, pass_fds=(to_kernel_r, from_kernel_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                     cwd="/" if self.sandboxed else home, preexec_fn=self._preexec,
                                     start_new_session=True)
        os.close(to_kernel_r)
        os.close(from_kernel_w)
        self._buffer = b""
        self._skipping = False

    def _lines(self):
        """Complete lines received so far; a line longer than ``result_mb`` is dropped (and reported as
        ``{"overflow": True}``) without ever being held whole."""
        cap = self.limits.result_mb * 2 ** 20
        while True:
            if self._skipping:
                if b"\n" not in self._buffer:
                    self._buffer = b""
                    return
                self._buffer = self._buffer.split(b"\n", 1)[1]
                self._skipping = False
                continue
            if b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                yield line
                continue
            if len(self._buffer) > cap:
                self._buffer, self._skipping = b"", True
                yield b'{"overflow": true}'
                continue
            return

    def _send(self, data: dict) -> None:
        raw = (json.dumps(data) + "\n").encode()
        while raw:
            raw = raw[os.write(self._to_kernel, raw):]

    def request(self, wait: float, on_dependency=None, **req) -> dict | None:
        """Send one request and wait for its answer (``None`` if the process died or did not answer in
        time; it is then stopped: call :meth:`restart`). Lines a forked call sends before the answer
        (one per case) come back in the answer's ``"cases"``; ``"overflow"`` says one was too large. A
        call's question about a dependency (``{"dependency": name, "args": ...}``) is answered with
        ``on_dependency(line)`` (at most ``MAX_DEPENDENCY_CALLS`` per request)."""
        req["nonce"] = uuid.uuid4().hex
        try:
            self._send(req)
        except OSError:
            self.stop()
            return None
        deadline = time.monotonic() + wait
        cases, overflow, asked = [], False, 0
        while True:
            for line in self._lines():
                if not line.strip():
                    continue
                try:
                    ans = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(ans, dict):
                    continue
                if ans.get("overflow") is True and "nonce" not in ans:
                    overflow = True
                elif ans.get("nonce") != req["nonce"]:
                    continue
                elif "case" in ans:
                    if len(cases) < 1000:
                        cases.append(ans)
                elif "dependency" in ans:
                    asked += 1
                    reply = on_dependency(ans) if on_dependency and asked <= MAX_DEPENDENCY_CALLS else \
                        {"error": "no more calls of graded functions are answered"}
                    try:
                        self._send({"reply": True, **reply})
                    except OSError:
                        pass
                else:
                    ans["cases"], ans["overflow"] = cases, overflow
                    return ans
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                return None
            ready, _, _ = select.select([self._from_kernel], [], [], left)
            if ready:
                chunk = os.read(self._from_kernel, 1 << 20)
                if not chunk:                       # the process is gone
                    self.stop()
                    return None
                self._buffer += chunk

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.uid is not None and not self.sandboxed:
            self._kill_uid()
        for fd in (self._to_kernel, self._from_kernel):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc = None

    def _kill_uid(self) -> None:
        """Without a process namespace, a process of the learner's uid may have left its session: end it."""
        for d in pathlib.Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if d.stat().st_uid == self.uid:
                        os.kill(int(d.name), signal.SIGKILL)
                except (OSError, ProcessLookupError):
                    pass

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
