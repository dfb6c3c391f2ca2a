"""The learner's process: run the notebook's cells, then run its functions on inputs it is sent.

Started by :class:`rnnbook.grading.sandbox.LearnerProcess` as
``python -m rnnbook.grading.worker FD_IN FD_OUT DIR LIMITS`` (inside the sandbox when there is one). It
reads one JSON request per line from ``FD_IN`` and answers JSON lines on ``FD_OUT``, every value as plain
data (:mod:`rnnbook.grading.wire`): no files are exchanged. It never compares anything and never
receives a reference: no reference source, no expected output, no answer. When a graded function calls
another graded function, it gets a table of that dependency's reference outputs *on the calls the
reference makes on these very inputs* (computed by the grader), and nothing else.

Each graded function runs in a forked child process with its own limits (address space, CPU seconds),
so ``sys.exit``, ``os._exit``, a segfault, running out of memory or an endless loop cost that one
exercise; the child's process group is killed afterwards. A fork copies no other thread, so a thread the
notebook started does not run while a function is graded. The child writes each case's result straight
to the grader.
"""
from __future__ import annotations

import importlib
import inspect
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


def _args_match(a: dict, b: dict) -> bool:
    import numpy as np
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            x, y = np.asarray(x), np.asarray(y)
            if x.shape != y.shape or x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
                return False
            if not np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True):
                return False
        elif x != y:
            return False
    return True


def _dependency(name: str, spec: dict, own):
    """A stand-in for graded function ``name``: the reference's outputs on the calls the reference makes
    for these inputs (``spec["table"]``); other calls go to the learner's own ``own`` (if any)."""
    import copy
    params = list(spec.get("params", []))
    table = [(wire.decode(a, objects=True), wire.decode(o, objects=True)) for a, o in spec.get("table", [])]
    defaults = {k: wire.decode(v) for k, v in (spec.get("defaults") or {}).items()}
    sig = inspect.Signature([inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                               default=defaults.get(p, inspect.Parameter.empty)) for p in params])

    def dependency(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            call = dict(bound.arguments)
        except TypeError:
            call = None
        if call is not None:
            for known, out in table:
                if _args_match(call, known):
                    return copy.deepcopy(out)
        if callable(own):
            return own(*args, **kwargs)
        raise RuntimeError(f"{name} was called with inputs that the reference never passes it, and your own "
                           f"{name} is not defined")
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


def _call(ns: dict, req: dict, limits: dict, fd: int) -> dict:
    name = req["name"]
    fn = ns.get(name)
    if fn is None:
        return {"status": "missing"}
    if not callable(fn):
        return {"status": "not callable", "type": type(fn).__name__[:100]}
    deps = req.get("deps") or {}
    fn = policy.rebind(fn, {d: _dependency(d, spec, ns.get(d)) for d, spec in deps.items()})
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
                         "twin_of": str(getattr(v, "rnnbook_twin_of", ""))[:100]}
        except BaseException:
            out[name] = {"type": "?"}
    return out


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

    def answer(req, **data):
        # a leading newline ends whatever a killed child left half-written on the pipe
        raw = ("\n" + json.dumps({"nonce": req.get("nonce"), **data}) + "\n").encode()
        while raw:
            raw = raw[os.write(fd_out, raw):]

    if limits.get("clean"):                      # a process for trusted runs only: no notebook, no shell
        for line in requests:
            req = json.loads(line)
            if req.get("op") == "run":
                answer(req, **_run_trusted(req, limits, fd_out))
            elif req.get("op") == "quit":
                return
        return

    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance(colors="nocolor")
    ns = shell.user_ns

    def on_alarm(signum, frame):
        raise _CellTimeout()

    while True:
        req: dict = {}
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
                answer(req, ok=err is None, error=None if err is None else policy.error_info(err),
                       threads=_threads())
            elif op == "call":
                answer(req, **_call(ns, req, limits, fd_out))
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
