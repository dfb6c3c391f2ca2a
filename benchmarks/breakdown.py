"""Where the time of an rnnbook training step goes, and how its ratio to PyTorch moves with the model's size.

    python benchmarks/breakdown.py --out chapters/logs/speed_breakdown.json   # the log appendix A2 reads
    python benchmarks/breakdown.py --quick                                    # a smoke test, prints JSON

Two measurements, in one run, on the language models of ``lstm_lm.py`` (forward, backward, gradient
clipping and an SGD update, float32, random tokens), every library on the same number of threads:

1. **The parts of a step**, for the small model (s) and the large model (b) of ``lstm_lm.py``:

   - *per-call overhead*: the step of the same model with every size set to 1 (vocabulary 2, batch 1,
     embedding and hidden size 1) but the same number of layers and time steps, so the same Python code
     and the same NumPy calls, with almost nothing to compute;
   - *matrix products*: the step's matrix products (every one of them, with its shapes and transposes,
     listed by :func:`step_products`) replayed alone on arrays of the step's sizes, minus the same
     replay at size 1 (whose calls the overhead already counts);
   - *nonlinearities and other elementwise work*: the rest of the step (gates, cell update, softmax,
     dropout, copies, clipping and the update).

   The four measurements take turns, round after round, and each is a median over the rounds; the
   three parts are an estimate, which adds up to the measured step by construction (``replay_ms`` keeps
   the replay's own median: when it exceeds the step's, the products are capped at the step's time).

2. **The ratio** of the rnnbook step's time to PyTorch's, for a one-layer LSTM language model (vocabulary
   1,000, 35 time steps), first as the hidden size grows at batch 20, then as the batch grows at hidden size
   128; both libraries timed interleaved in the same run (``lstm_lm.time_pair``).

Times are the process's CPU time (``time.process_time``), so a busy machine disturbs them less than
wall-clock times, and every library runs on one thread by default. The log names NumPy's BLAS and the
kernels it ran (``threadpoolctl``), and the speed of one large product in NumPy and in PyTorch. It is a
benchmark, not a test: the numbers depend on the machine, its BLAS and its load; compare ratios, and only
from the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lstm_lm  # noqa: E402  (the benchmark next to this one: models, interleaved timing, BLAS report)

#: The two models whose steps are broken into parts: (s) and (b) of ``lstm_lm.py``.
PARTS_CONFIGS = {"s": lstm_lm.SMALL_CONFIGS["s"], "b": lstm_lm.CONFIGS["b"]}
#: The one-layer model whose ratio to PyTorch is measured as H, then N, changes.
RATIO_BASE = dict(V=1_000, N=20, T=35, D=128, H=128, L=1, dropout=0.0, tie=False)
HIDDEN_SIZES = (32, 64, 128, 256, 512)
#: Every time is the process's CPU time (all its threads), not wall-clock time: on a machine shared with
#: other work, a single-threaded measurement then hardly depends on how often the process had to wait.
CLOCK = time.process_time
BATCH_SIZES = (4, 10, 20, 50, 128)


def step_products(c: dict) -> list[tuple[tuple[int, int], tuple[int, int], bool, bool]]:
    """The matrix products of one training step of the LSTM language model ``c``, as
    ``(shape of A, shape of B, A is a transposed view, B is a transposed view)`` for ``A @ B``, in the order
    :class:`rnnbook.models.LanguageModel` runs them (``rnnbook._lstm_engine`` and ``rnnbook.layers``)."""
    V, N, T, H = c["V"], c["N"], c["T"], c["H"]
    TN = T * N
    prods = []
    for k in range(c["L"]):
        D = c["D"] if k == 0 else H
        prods.append(((TN, D), (D, 4 * H), False, False))               # all input projections, one product
        prods += [((N, H), (H, 4 * H), False, False)] * T               # h_{t-1} @ Wh inside the loop
    if c["tie"]:                                                        # output layer: x @ E.T, E is (V, H)
        prods += [((TN, H), (H, V), False, True), ((V, TN), (TN, H), True, False), ((TN, V), (V, H), False, False)]
    else:                                                               # x @ W, x.T @ d, d @ W.T
        prods += [((TN, H), (H, V), False, False), ((H, TN), (TN, V), True, False), ((TN, V), (V, H), False, True)]
    for k in reversed(range(c["L"])):
        D = c["D"] if k == 0 else H
        prods += [((H, 4 * H), (4 * H, N), False, True)] * T           # Wh @ da_t.T inside the backward loop
        prods += [((H, TN), (TN, 4 * H), True, False), ((D, TN), (TN, 4 * H), True, False),   # dWh, dWx
                  ((TN, 4 * H), (4 * H, D), False, True)]               # the inputs' gradient
    return prods


def _operand(rng, shape, transposed):
    a = rng.standard_normal(shape[::-1] if transposed else shape).astype(np.float32)
    return a.T if transposed else a


def _replayer(prods):
    """A function that runs every product of ``prods`` once, on random float32 arrays made beforehand."""
    rng = np.random.default_rng(0)
    pairs = [(_operand(rng, a, ta), _operand(rng, b, tb)) for a, b, ta, tb in prods]

    def replay():
        for a, b in pairs:
            a @ b

    return replay


def _stepper(c: dict):
    """A function that runs one rnnbook training step of ``c`` (on the next of a few random batches)."""
    _, batch, step = lstm_lm.make_rnnbook(c)
    data = [batch() for _ in range(4)]
    count = iter(range(10**9))

    def one_step():
        step(*data[next(count) % len(data)])

    return one_step


def tiny(c: dict) -> dict:
    """``c`` with every size 1 (vocabulary 2): the same layers, time steps and calls, almost no arithmetic."""
    return dict(c, V=2, N=1, D=1, H=1)


def parts(c: dict, steps: int) -> dict:
    """The step of ``c`` in three parts (milliseconds), see the module's docstring. The four measurements
    (the step, the step at size 1, the replayed products, the replay at size 1) take turns, round after
    round, so that a busy spell of the machine hits them alike; each part is a median over the rounds."""
    fns = {"step": _stepper(c), "tiny_step": _stepper(tiny(c)),
           "replay": _replayer(step_products(c)), "tiny_replay": _replayer(step_products(tiny(c)))}
    times = {k: [] for k in fns}
    for fn in fns.values():                       # warm-up
        fn()
    for r in range(steps):
        keys = list(fns)[r % 4:] + list(fns)[:r % 4]
        for k in keys:
            times[k].append(lstm_lm._timed(fns[k], CLOCK))
    ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    products = max(0.0, ms["replay"] - ms["tiny_replay"])
    overhead = min(ms["tiny_step"], ms["step"])
    elementwise = max(0.0, ms["step"] - overhead - products)
    return {"step_ms": ms["step"], "matrix_products_ms": min(products, ms["step"] - overhead),
            "elementwise_ms": elementwise, "overhead_ms": overhead, "replay_ms": ms["replay"],
            "n_products": len(step_products(c)), "gflop_per_step": lstm_lm.step_flops(c) / 1e9}


def gemm_gflops(n: int = 1024, repeats: int = 7) -> dict:
    """Float32 throughput of one large ``(n, n) @ (n, n)`` product in NumPy and in ``torch.mm`` (median of
    ``repeats``, CPU time): the speed the large models' products approach."""
    import torch
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    ta = torch.from_numpy(a.copy())
    out = {}
    for name, fn in (("numpy", lambda: a @ a), ("torch", lambda: torch.mm(ta, ta))):
        fn()
        out[name] = 2 * n ** 3 / statistics.median(lstm_lm._timed(fn, CLOCK) for _ in range(repeats)) / 1e9
    return out


def ratio_point(c: dict, steps: int) -> dict:
    nb_ms, th_ms = lstm_lm.time_pair(c, steps, warmup=2, clock=CLOCK)
    return {"N": c["N"], "H": c["H"], "rnnbook_ms": nb_ms, "torch_ms": th_ms, "ratio": nb_ms / th_ms}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="threads for NumPy's BLAS and for PyTorch (default 1)")
    ap.add_argument("--steps", type=int, default=15, help="timed steps per measurement (medians)")
    ap.add_argument("--quick", action="store_true", help="3 steps and the two smallest sizes of each sweep")
    ap.add_argument("--out", help="write the JSON log here (else print it)")
    args = ap.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits
    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    steps = 3 if args.quick else args.steps
    hidden, batch = (HIDDEN_SIZES[:2], BATCH_SIZES[:2]) if args.quick else (HIDDEN_SIZES, BATCH_SIZES)
    start = time.perf_counter()
    log = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "processor": _cpu_name(),
        "load_average_before": os.getloadavg()[0],
        "threads": args.threads, "steps": steps, "clock": "process CPU time (time.process_time)",
        "numpy": np.__version__, "torch": torch.__version__,
        "numpy_blas": lstm_lm.numpy_blas(),
        "threadpools": [{k: i.get(k) for k in ("user_api", "internal_api", "prefix", "version", "architecture",
                                                "num_threads")} for i in threadpool_info()],
        "parts": {name: dict(parts(c, steps), config=name, V=c["V"], N=c["N"], T=c["T"], H=c["H"], L=c["L"])
                  for name, c in PARTS_CONFIGS.items()},
        "gemm_gflops": gemm_gflops(),
        "ratio_base": RATIO_BASE,
        "ratio_hidden": [ratio_point(dict(RATIO_BASE, D=H, H=H), steps) for H in hidden],
        "ratio_batch": [ratio_point(dict(RATIO_BASE, N=N), steps) for N in batch],
    }
    log["seconds"] = time.perf_counter() - start
    text = json.dumps(log, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out} ({log['seconds']:.0f} s)")
    else:
        print(text)
    return 0


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
