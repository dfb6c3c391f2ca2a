"""The learner's process: run the notebook's cells, then run its functions on inputs it is sent.

Started by :class:`rnnbook.grading.sandbox.LearnerProcess` as
``python -m rnnbook.grading.worker FD_IN FD_OUT DIR LIMITS`` (inside the sandbox when there is one). It
reads one JSON request per line from ``FD_IN`` and answers JSON lines on ``FD_OUT``, every value as plain
data (:mod:`rnnbook.grading.wire`): no files are exchanged. It never compares anything and never
receives a reference: no reference source, no expected output, no answer. When a graded function calls
another graded function that is already graded, each such call is sent to the grader, which answers with
the reference's return value on those arguments (:func:`_dependency`).

Each graded function runs in a forked child process with its own limits (address space, CPU seconds),
so ``sys.exit``, ``os._exit``, a segfault, running out of memory or an endless loop cost that one
exercise; the child's process group is killed afterwards. A fork copies no other thread, so a thread the
notebook started does not run while a function is graded. The child writes each case's result straight
to the grader.
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import sys
import threading
import time

from . import policy, wire


class _CellTimeout(BaseException):
    pass


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _threads() -> int:
    """Threads of this process besides the main one."""
    try:
        return len(os.listdir("/proc/self/task")) - 1
    except OSError:
        return threading.active_count() - 1


def _write_line(fd: int, data: dict) -> None:
    raw = (json.dumps(data) + "\n").encode()
    while raw:
        raw = raw[os.write(fd, raw):]


def _read_line(fd: int) -> bytes:
    """One line from the grader, read straight from the pipe (the parent is not reading it meanwhile)."""
    chunks = []
    while True:
        b = os.read(fd, 1)
        if not b:
            raise EOFError("the grader closed the pipe")
        if b == b"\n":
            return b"".join(chunks)
        chunks.append(b)
        if len(chunks) > 1 << 20 and len(chunks) % (1 << 16) == 0:
            rest = os.read(fd, 1 << 16)           # a large reply: read faster
            if b"\n" in rest:
                head, _ = rest.split(b"\n", 1)
                return b"".join(chunks) + head
            chunks.append(rest)


def _dependency(name: str, nonce, fds: tuple):
    """A stand-in for graded function ``name`` while another one is graded: each call is answered by the
    grader, which runs its reference on these arguments (so one bug costs one exercise). The grader
    answers only for functions already graded, so this never reveals an answer still to be graded."""
    fd_in, fd_out = fds

    def dependency(*args, **kwargs):
        _write_line(fd_out, {"nonce": nonce, "dependency": name, "args": wire.encode(list(args)),
                             "kwargs": wire.encode(kwargs)})
        reply = json.loads(_read_line(fd_in))
        if "error" in reply:
            raise RuntimeError(f"{name} (the reference, standing in for yours): {reply['error']}")
        return wire.decode(reply.get("value"))
    dependency.__name__ = name
    return dependency


def _run_cases(fn, cases: list, fd: int, nonce, objects: bool) -> None:
    """In the forked child: call ``fn`` on each case and send what it returns (stops at an exception)."""
    import numpy as np
    for k, data in enumerate(cases):
        args = wire.decode(data, objects=objects)
        try:
            out = fn(**args)
        except NotImplementedError:
            result = {"status": "not implemented"}
        except BaseException as e:             # SystemExit and KeyboardInterrupt included
            result = policy.error_info(e)
        else:
            try:
                result = {"status": "ok", "got": wire.encode(out),
                          "after": wire.encode({k: v for k, v in args.items() if isinstance(v, np.ndarray)})}
            except BaseException as e:
                result = {"status": "unsendable", "message": f"{type(e).__name__}: {policy.cap(e, 200)}"}
        _write_line(fd, {"nonce": nonce, "case": k, "result": result})
        if result["status"] != "ok":
            return


def _in_child(fn, req: dict, limits: dict, fd: int) -> dict:
    """Run ``fn`` on the request's cases in a forked child under limits; how the child ended."""
    seconds = float(req["time_limit"])
    cpu = int(float(req.get("cpu_seconds") or seconds)) + 2
    base = _vm_bytes()
    pid = os.fork()
    if pid == 0:                                 # the child: run the learner's function, then vanish
        code = 0
        try:
            os.setpgid(0, 0)
            if limits.get("memory_mb"):
                size = base + int(limits["memory_mb"]) * 2 ** 20
                resource.setrlimit(resource.RLIMIT_AS, (size, size))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            sys.stdout = sys.stderr = policy.CappedText(limits.get("output_chars", 10_000))
            _run_cases(fn, req["cases"], fd, req.get("nonce"), bool(req.get("objects", True)))
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


def _call(ns: dict, req: dict, limits: dict, fd: int, fd_in: int) -> dict:
    name = req["name"]
    fn = ns.get(name)
    if fn is None:
        return {"status": "missing"}
    if not callable(fn):
        return {"status": "not callable", "type": type(fn).__name__[:100]}
    deps = req.get("deps") or []
    fn = policy.rebind(fn, {d: _dependency(d, req.get("nonce"), (fd_in, fd)) for d in deps})
    return _in_child(fn, req, limits, fd)


def _run_trusted(req: dict, limits: dict, fd: int) -> dict:
    """A configuration experiment's run (a spec's function, ``module:qualname``): only in a process that
    ran no learner code."""
    module, qualname = str(req["target"]).split(":")
    fn = importlib.import_module(module)
    for part in qualname.split("."):
        fn = getattr(fn, part)
    return _in_child(fn, req, limits, fd)


def _describe(ns: dict, names: list) -> dict:
    """Where each graded name's object comes from (the grader decides what that means)."""
    out = {}
    for name in names:
        try:
            v = ns.get(name)
            wrapped = getattr(v, "__wrapped__", None)
            out[name] = {"type": type(v).__name__[:100], "module": str(getattr(v, "__module__", None))[:200],
                         "wrapped_module": str(getattr(wrapped, "__module__", None))[:200],
                         "twin_of": str(getattr(v, "rnnbook_twin_of", ""))[:100],
                         "qualname": str(getattr(v, "__qualname__", ""))[:100]}
        except BaseException:
            out[name] = {"type": "?"}
    return out


def _answerer(fd_out: int):
    """``answer(req, **data)``: one JSON line to the grader, carrying the request's nonce."""
    def answer(req, **data):
        # a leading newline ends whatever a killed child left half-written on the pipe
        raw = ("\n" + json.dumps({"nonce": req.get("nonce"), **data}) + "\n").encode()
        while raw:
            raw = raw[os.write(fd_out, raw):]
    return answer


def _serve_trusted(requests, answer, limits: dict, fd_out: int) -> None:
    """A process for trusted runs only: no notebook, no shell."""
    for line in requests:
        req = json.loads(line)
        if req.get("op") == "run":
            answer(req, **_run_trusted(req, limits, fd_out))
        elif req.get("op") == "quit":
            return


def _run_cell(shell, req: dict, sink, answer) -> None:
    """Run one notebook cell under its time limit and answer whether it raised."""
    def on_alarm(signum, frame):
        raise _CellTimeout()

    sys.stdout = sys.stderr = sink
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(req.get("timeout", 120)))
    try:
        res = shell.run_cell(req["source"], store_history=False, silent=False)
        err = res.error_before_exec or res.error_in_exec
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    answer(req, ok=err is None, error=None if err is None else policy.error_info(err), threads=_threads())


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fd_in, fd_out, workdir = int(argv[0]), int(argv[1]), argv[2]
    limits = json.loads(argv[3]) if len(argv) > 3 else {}
    requests = os.fdopen(fd_in, "r", encoding="utf-8")
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    os.chdir(workdir)
    sys.path.insert(0, workdir)
    null = os.open(os.devnull, os.O_WRONLY)      # C-level writes to stdout/stderr go nowhere
    os.dup2(null, 1)
    os.dup2(null, 2)
    sink = policy.CappedText(limits.get("output_chars", 10_000))
    sys.stdout = sys.stderr = sink
    answer = _answerer(fd_out)
    if limits.get("clean"):
        _serve_trusted(requests, answer, limits, fd_out)
        return

    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance(colors="nocolor")
    ns = shell.user_ns
    while True:
        req: dict = {}
        try:
            line = requests.readline()
            if not line:
                return
            req = json.loads(line)
            op = req.get("op")
            if op == "cell":
                _run_cell(shell, req, sink, answer)
            elif op == "call":
                answer(req, **_call(ns, req, limits, fd_out, fd_in))
            elif op == "value":
                try:
                    value = ns.get(req["name"], wire.UnsupportedType("missing"))
                    answer(req, ok=True, value=wire.encode(value))
                except BaseException as e:
                    answer(req, ok=False, error=policy.error_info(e))
            elif op == "describe":
                answer(req, names=_describe(ns, req["names"]))
            elif op == "quit":
                return
        except (_CellTimeout, KeyboardInterrupt):
            answer(req, ok=False, error={"status": "timeout"})
        except BaseException as e:  # never let learner code end the loop quietly
            try:
                answer(req if isinstance(req, dict) else {}, ok=False, error=policy.error_info(e))
            except BaseException:
                return


if __name__ == "__main__":
    main()
