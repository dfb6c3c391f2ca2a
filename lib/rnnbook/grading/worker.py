"""The learner's side of grading: run the notebook's cells, then run its functions on inputs it is sent.

Started by :class:`rnnbook.grading.sandbox.Worker` as ``python -m rnnbook.grading.worker FD_IN FD_OUT DIR``
(inside the sandbox when there is one). It reads one JSON request per line from ``FD_IN`` and answers one
JSON line on ``FD_OUT``. It never compares anything and never sees a reference output: it only runs the
learner's code and writes what that code returns as plain data (:mod:`rnnbook.grading.wire`). Nothing
here is trusted by the grader beyond "these are the values the learner's function returned".

Each graded function runs in a forked child process with its own limits (address space, CPU seconds,
file size), so ``sys.exit``, ``os._exit``, a segfault, running out of memory or an endless loop cost that
one exercise; the child's process group is killed afterwards, so processes it left running die with it.
"""
from __future__ import annotations

import io
import json
import os
import pathlib
import resource
import signal
import sys
import time
import traceback
import types

from . import wire


class _Capped(io.StringIO):
    """Keeps the first ``limit`` characters of what the learner prints, drops the rest."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit

    def write(self, s):
        room = self.limit - self.tell()
        if room > 0:
            super().write(str(s)[:room])
        return len(s)


class _CellTimeout(BaseException):
    pass


def _vm_bytes() -> int:
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _error(e: BaseException) -> dict:
    tb = traceback.extract_tb(e.__traceback__)
    line = f"line {tb[-1].lineno}: {tb[-1].line}" if tb and tb[-1].line else ""
    try:
        msg = str(e)[:500]
    except BaseException:                       # an exception whose __str__ raises
        msg = ""
    return {"status": "raised", "type": type(e).__name__[:100], "message": msg, "line": line[:300]}


def _run_cases(fn, folder: pathlib.Path, n_cases: int) -> None:
    """In the forked child: call ``fn`` on each case and write what it returns (stops at an exception)."""
    for k in range(n_cases):
        case = folder / str(k)
        args = wire.load(case / "in", objects=True)
        try:
            out = fn(**args)
        except NotImplementedError:
            result = {"status": "not implemented"}
        except BaseException as e:             # SystemExit and KeyboardInterrupt included
            result = _error(e)
        else:
            try:
                wire.dump(out, case / "out")
                import numpy as np
                wire.dump({k: v for k, v in args.items() if isinstance(v, np.ndarray)}, case / "after")
                result = {"status": "ok"}
            except BaseException as e:
                result = {"status": "unsendable", "message": f"{type(e).__name__}: {str(e)[:200]}"}
        (case / "result.json").write_text(json.dumps(result))
        if result["status"] != "ok":
            return


def _call(ns: dict, req: dict, limits: dict) -> dict:
    name = req["name"]
    fn = ns.get(name)
    if fn is None:
        return {"status": "missing"}
    if not callable(fn):
        return {"status": "not callable", "type": type(fn).__name__}
    if req.get("deps") and isinstance(fn, types.FunctionType):
        ref_ns: dict = {"__name__": "rnnbook_reference_dependencies"}
        exec(compile(req["deps_src"], "<reference dependencies>", "exec"), ref_ns)
        glb = dict(fn.__globals__)
        glb.update({d: ref_ns[d] for d in req["deps"] if d in ref_ns})
        fn2 = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
        fn2.__kwdefaults__ = fn.__kwdefaults__
        fn = fn2
    folder = pathlib.Path(req["folder"])
    seconds = float(req["time_limit"])
    base = _vm_bytes()
    pid = os.fork()
    if pid == 0:                                 # the child: run the learner's function, then vanish
        code = 0
        try:
            os.setpgid(0, 0)
            if limits.get("memory_mb"):
                cap = base + int(limits["memory_mb"]) * 2 ** 20
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            cpu = int(seconds) + 2
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            sys.stdout = sys.stderr = _Capped(limits.get("output_chars", 10_000))
            _run_cases(fn, folder, int(req["n_cases"]))
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        time.sleep(0.005)
    try:
        os.killpg(pid, signal.SIGKILL)           # the child and anything it left running
    except (ProcessLookupError, PermissionError):
        pass
    if status is None:
        os.waitpid(pid, 0)
        return {"status": "timeout", "seconds": seconds}
    if os.WIFSIGNALED(status):
        return {"status": "killed", "signal": signal.Signals(os.WTERMSIG(status)).name}
    code = os.WEXITSTATUS(status)
    return {"status": "done" if code == 0 else "exited", "code": code}


def _describe(ns: dict, names: list) -> dict:
    """Where each graded name's object comes from (the grader decides what that means)."""
    out = {}
    for name in names:
        try:
            v = ns.get(name)
            wrapped = getattr(v, "__wrapped__", None)
            out[name] = {"type": type(v).__name__[:100], "module": str(getattr(v, "__module__", None))[:200],
                         "wrapped_module": str(getattr(wrapped, "__module__", None))[:200],
                         "file": str(getattr(getattr(v, "__code__", None), "co_filename", None))[:300]}
        except BaseException:
            out[name] = {"type": "?"}
    return out


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fd_in, fd_out, workdir = int(argv[0]), int(argv[1]), argv[2]
    limits = json.loads(argv[3]) if len(argv) > 3 else {}
    requests = os.fdopen(fd_in, "r", encoding="utf-8")
    answers = os.fdopen(fd_out, "w", encoding="utf-8")
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    os.chdir(workdir)
    sys.path.insert(0, workdir)
    null = os.open(os.devnull, os.O_WRONLY)      # C-level writes to stdout/stderr go nowhere
    os.dup2(null, 1)
    os.dup2(null, 2)
    sink = _Capped(limits.get("output_chars", 10_000))
    sys.stdout = sys.stderr = sink

    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance(colors="nocolor")
    ns = shell.user_ns

    def on_alarm(signum, frame):
        raise _CellTimeout()

    def answer(req, **data):
        answers.write(json.dumps({"nonce": req.get("nonce"), **data}) + "\n")
        answers.flush()

    while True:
        try:
            line = requests.readline()
            if not line:
                return
            req = json.loads(line)
            op = req.get("op")
            if op == "cell":
                sys.stdout = sys.stderr = sink
                signal.signal(signal.SIGALRM, on_alarm)
                signal.setitimer(signal.ITIMER_REAL, float(req.get("timeout", 120)))
                try:
                    res = shell.run_cell(req["source"], store_history=False, silent=False)
                    err = res.error_before_exec or res.error_in_exec
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                answer(req, ok=err is None, error=None if err is None else _error(err))
            elif op == "call":
                answer(req, **_call(ns, req, limits))
            elif op == "value":
                try:
                    wire.dump(ns.get(req["name"], wire.UnsupportedType("missing")), req["folder"])
                    answer(req, ok=True)
                except BaseException as e:
                    answer(req, ok=False, error=_error(e))
            elif op == "describe":
                answer(req, names=_describe(ns, req["names"]))
            elif op == "quit":
                return
        except (_CellTimeout, KeyboardInterrupt):
            answer({"nonce": None}, ok=False, error={"status": "timeout"})
        except BaseException as e:  # never let learner code end the loop quietly
            try:
                answer(req if isinstance(req, dict) else {}, ok=False, error=_error(e))
            except BaseException:
                return


if __name__ == "__main__":
    main()
