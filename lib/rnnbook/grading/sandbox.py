"""Starting the learner's kernel: a separate process, in a sandbox where one is available, with limits.

On Linux with bubblewrap (Debian's ``bubblewrap`` package) the kernel sees the whole filesystem
read-only except its own temporary folder, has no network, its own process namespace (everything it
starts dies with it) and a user namespace (so the process limit counts only its own processes). The
folders holding the solutions and, in batch mode, the other submissions are hidden behind empty ones.
Without bubblewrap it runs as a plain process with the same resource limits, and the report says so.
"""
from __future__ import annotations

import dataclasses
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid

__all__ = ["Limits", "Worker", "sandbox_available"]


@dataclasses.dataclass
class Limits:
    """Limits for one learner kernel (the defaults suit the book's exercise notebooks)."""

    cell_timeout: float = 120.0          # seconds per notebook cell
    call_timeout: float | None = None    # seconds per graded function (None: the exercise's own limit)
    cpu_seconds: int = 900               # CPU seconds for the whole kernel (RLIMIT_CPU)
    memory_mb: int = 2048                # address space a graded function may add (RLIMIT_AS in its process)
    kernel_memory_mb: int = 8192         # address space of the kernel itself
    nproc: int = 64                      # processes and threads (RLIMIT_NPROC, enforced inside the sandbox)
    output_chars: int = 10_000           # printed output kept per cell or function
    file_mb: int = 256                   # largest file the kernel may write (RLIMIT_FSIZE)


_PROBE: dict = {}


def sandbox_available() -> bool:
    """Whether bubblewrap works here (checked once per process)."""
    if "ok" not in _PROBE:
        bwrap = shutil.which("bwrap")
        ok = False
        if bwrap:
            try:
                ok = subprocess.run([bwrap, *_bwrap_args("/tmp", []), "--", "/bin/true"],
                                    capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        _PROBE["ok"] = ok
    return _PROBE["ok"]


def _bwrap_args(workdir: str, hide: list) -> list:
    here = os.path.abspath(__file__)
    private_tmp = not any(p.startswith("/tmp/") for p in (os.path.abspath(sys.prefix), here))
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *(["--tmpfs", "/tmp"] if private_tmp else []),
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-user",
            "--die-with-parent", "--new-session"]
    for h in hide:
        if os.path.isdir(h):
            args += ["--tmpfs", h]
    return args + ["--bind", workdir, workdir, "--chdir", workdir]


class Worker:
    """One learner kernel (:mod:`rnnbook.grading.worker`) and the pipe the grader talks to it through."""

    def __init__(self, workdir: str, limits: Limits, *, sandbox: bool | None = None, hide=()):
        self.workdir, self.limits = str(workdir), limits
        self.sandboxed = sandbox_available() if sandbox is None else (sandbox and sandbox_available())
        # never hide a folder that holds the Python or the library the kernel needs
        needed = [sys.prefix, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
        self.hide = [os.path.abspath(h) for h in hide
                     if not any(os.path.abspath(n).startswith(os.path.abspath(h) + os.sep) for n in needed)]
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
        if self.sandboxed:     # outside a user namespace root ignores it and a user's own processes count
            resource.setrlimit(resource.RLIMIT_NPROC, (lim.nproc, lim.nproc))

    def start(self) -> None:
        to_kernel_r, self._to_kernel = os.pipe()
        self._from_kernel, from_kernel_w = os.pipe()
        lim = self.limits
        kernel_limits = {"memory_mb": lim.memory_mb, "output_chars": lim.output_chars}
        cmd = [sys.executable, "-m", "rnnbook.grading.worker", str(to_kernel_r), str(from_kernel_w),
               self.workdir, json.dumps(kernel_limits)]
        if self.sandboxed:
            cmd = [shutil.which("bwrap"), *_bwrap_args(self.workdir, self.hide), "--", *cmd]
        env = dict(os.environ, MPLBACKEND="Agg", RNNBOOK_GRADING="1", HOME=self.workdir, TMPDIR=self.workdir,
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONNOUSERSITE="1")
        env.pop("JPY_PARENT_PID", None)
        self.proc = subprocess.Popen(cmd, pass_fds=(to_kernel_r, from_kernel_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                     cwd=self.workdir, preexec_fn=self._preexec, start_new_session=True)
        os.close(to_kernel_r)
        os.close(from_kernel_w)
        self._buffer = b""

    def request(self, wait: float, **req) -> dict | None:
        """Send one request; the answer, or ``None`` if the kernel died or did not answer in time
        (the kernel is then stopped: call :meth:`restart`)."""
        req["nonce"] = uuid.uuid4().hex
        try:
            os.write(self._to_kernel, (json.dumps(req) + "\n").encode())
        except OSError:
            self.stop()
            return None
        deadline = time.monotonic() + wait
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                try:
                    ans = json.loads(line)
                except ValueError:
                    continue
                if isinstance(ans, dict) and ans.get("nonce") == req["nonce"]:
                    return ans
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                return None
            ready, _, _ = select.select([self._from_kernel], [], [], left)
            if ready:
                chunk = os.read(self._from_kernel, 1 << 16)
                if not chunk:                       # the kernel is gone
                    self.stop()
                    return None
                self._buffer += chunk
                if len(self._buffer) > 1 << 20:     # garbage written to our pipe
                    self._buffer = self._buffer[-(1 << 16):]

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
        for fd in (self._to_kernel, self._from_kernel):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
