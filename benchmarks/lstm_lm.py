"""Benchmark: one LSTM language-model training step in rnnbook (NumPy) against PyTorch on the CPU.

    python benchmarks/lstm_lm.py                # table
    python benchmarks/lstm_lm.py --json         # JSON with "ratio_a" and "ratio_b" (rnnbook / PyTorch)
    python benchmarks/lstm_lm.py --quick        # fewer steps, for a smoke test
    python benchmarks/lstm_lm.py --out F.json   # the table, and the JSON written to F.json

A training step is forward + backward + gradient clipping + SGD update, vocabulary 10,000, batch 20,
35 time steps, float32, on random tokens:

    (a) 1-layer LSTM, 100 units
    (b) 2-layer LSTM, 650 units, dropout 0.5, embedding and output weights tied

Both implementations get the same shapes and the same number of threads, are warmed up, and are timed
step by step, interleaved, so that machine noise hits both alike; the table reports medians. The NumPy
GEMM throughput is measured in the same run, as the ceiling for (b). Peak memory (maximum resident set
size) is measured in a fresh process per implementation. It is a benchmark, not a test: nothing fails
on a slow machine. PyTorch (torch==2.13.0, CPU build) is needed only here and in the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

CONFIGS = {
    "a": dict(V=10_000, N=20, T=35, D=100, H=100, L=1, dropout=0.0, tie=False),
    "b": dict(V=10_000, N=20, T=35, D=650, H=650, L=2, dropout=0.5, tie=True),
}
#: Small models, the size the book's notebooks train: a character-level language model (vocabulary 65,
#: batch 20, 35 steps, one layer of 100 units) with each of the three cells, and the peeky seq2seq model of
#: chapter 5 on the addition task (vocabulary 13, embedding 16, hidden 128, batch 128, source 7, target 5
#: columns of which the decoder reads 4 and predicts 4, Adam, clipping at 5).
SMALL_CONFIGS = {
    "s": dict(V=65, N=20, T=35, D=100, H=100, L=1, dropout=0.0, tie=False, cell="lstm"),
    "s_gru": dict(V=65, N=20, T=35, D=100, H=100, L=1, dropout=0.0, tie=False, cell="gru"),
    "s_rnn": dict(V=65, N=20, T=35, D=100, H=100, L=1, dropout=0.0, tie=False, cell="rnn"),
    "seq2seq": dict(V=13, N=128, S=7, T=5, D=16, H=128, cell="peeky"),
}
GPU_CONFIGS = {   # --gpu: (b) and a larger (c), rnnbook on CuPy against PyTorch's cuDNN LSTM
    "b": CONFIGS["b"],
    "c": dict(V=10_000, N=128, T=35, D=1024, H=1024, L=2, dropout=0.5, tie=True),
}
LR, CLIP = 0.1, 0.25
PAUSE = 0.3          # seconds of quiet before each block of timed steps (see time_training)


def step_flops(c: dict) -> float:
    """Matrix-product FLOPs of one LM training step (forward products x 3 for forward + backward)."""
    tokens = c["N"] * c["T"]
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[c.get("cell", "lstm")]
    lstm = sum(2 * tokens * ((c["D"] if k == 0 else c["H"]) + c["H"]) * gates * c["H"] for k in range(c["L"]))
    out = 2 * tokens * c["H"] * c["V"]
    return 3.0 * (lstm + out)


# ---------------------------------------------------------------- rnnbook
def make_rnnbook(c: dict, seed: int = 0):
    if c.get("cell") == "peeky":
        return make_rnnbook_seq2seq(c, seed)
    from rnnbook.models import LanguageModel
    from rnnbook.optim import SGD, clip_grad_norm
    model = LanguageModel(c["V"], c["D"], c["H"], cell=c.get("cell", "lstm"), num_layers=c["L"],
                          dropout=c["dropout"], tie_weights=c["tie"], stateful=True, rng=seed)
    opt = SGD(LR)
    rng = np.random.default_rng(seed)

    def batch():
        ids = rng.integers(0, c["V"], size=(c["N"], c["T"] + 1))
        return ids[:, :-1], ids[:, 1:]

    def step(x, y):
        model.forward(x, y, train=True)
        model.backward()
        clip_grad_norm(model.grads, CLIP)
        opt.update(model.params, model.grads)

    return model, batch, step


def seq2seq_batches(c: dict, seed: int = 0):
    """Random ``(src (N, S), tgt (N, T))`` id batches for the seq2seq configuration (id 0 is padding)."""
    rng = np.random.default_rng(seed)

    def batch():
        return rng.integers(1, c["V"], size=(c["N"], c["S"])), rng.integers(1, c["V"], size=(c["N"], c["T"]))

    return batch


def make_rnnbook_seq2seq(c: dict, seed: int = 0):
    from rnnbook.models.seq2seq import PeekySeq2Seq
    from rnnbook.optim import Adam, clip_grad_norm
    model = PeekySeq2Seq(c["V"], c["D"], c["H"], pad_id=0, rng=seed)
    opt = Adam(1e-3)

    def step(src, tgt):
        model.forward(src, tgt)
        model.backward()
        clip_grad_norm(model.grads, 5.0)
        opt.update(model.params, model.grads)

    return model, seq2seq_batches(c, seed), step


# ---------------------------------------------------------------- PyTorch
def make_torch_seq2seq(c: dict, seed: int = 0, device: str = "cpu"):
    """The same peeky encoder-decoder in PyTorch: the encoder's last hidden state starts the decoder and is
    concatenated to the decoder's input at every step and to the input of its output layer."""
    import torch
    from torch import nn
    torch.manual_seed(seed)

    class Peeky(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc_embed = nn.Embedding(c["V"], c["D"])
            self.encoder = nn.LSTM(c["D"], c["H"], batch_first=True)
            self.dec_embed = nn.Embedding(c["V"], c["D"])
            self.decoder = nn.LSTM(c["D"] + c["H"], c["H"], batch_first=True)
            self.out = nn.Linear(2 * c["H"], c["V"])

        def forward(self, src, dec_in):
            _, (h, _) = self.encoder(self.enc_embed(src))               # h: (1, N, H)
            peek = h[0].unsqueeze(1).expand(-1, dec_in.shape[1], -1)    # (N, T, H)
            hs, _ = self.decoder(torch.cat([self.dec_embed(dec_in), peek], dim=-1), (h, torch.zeros_like(h)))
            return self.out(torch.cat([hs, peek], dim=-1))

    model = Peeky().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=0)
    gen = torch.Generator().manual_seed(seed)

    def batch():
        return (torch.randint(1, c["V"], (c["N"], c["S"]), generator=gen).to(device),
                torch.randint(1, c["V"], (c["N"], c["T"]), generator=gen).to(device))

    def step(src, tgt):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(src, tgt[:, :-1]).reshape(-1, c["V"]), tgt[:, 1:].reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    return model, batch, step


def make_torch(c: dict, seed: int = 0, device: str = "cpu"):
    import torch
    from torch import nn
    if c.get("cell") == "peeky":
        return make_torch_seq2seq(c, seed, device)
    torch.manual_seed(seed)
    recurrent = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[c.get("cell", "lstm")]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(c["V"], c["D"])
            self.drop = nn.Dropout(c["dropout"])
            self.lstm = recurrent(c["D"], c["H"], c["L"], dropout=c["dropout"] if c["L"] > 1 else 0.0,
                                  batch_first=True)
            self.out = nn.Linear(c["H"], c["V"])
            if c["tie"]:
                self.out.weight = self.embed.weight
            self.state = None

        def forward(self, x):
            h, state = self.lstm(self.drop(self.embed(x)), self.state)
            self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            return self.out(self.drop(h))

    model = Net().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)

    def batch():
        ids = torch.randint(0, c["V"], (c["N"], c["T"] + 1), generator=gen).to(device)
        return ids[:, :-1], ids[:, 1:]

    def step(x, y):
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x).reshape(-1, c["V"]), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()

    return model, batch, step


def gemm_gflops(n: int = 1024, repeats: int = 10) -> float:
    """Float32 GEMM throughput of NumPy's BLAS on this machine (the best of several runs)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def recurrent_gemm_gflops(c: dict, repeats: int = 200) -> dict:
    """Throughput of the product inside the time loop, ``(N, H) @ (H, 4H)``, in NumPy and in ``torch.mm``.

    With batch N = 20 this product is small and memory-bound; it sets the pace of the recurrence.
    """
    import torch
    rng = np.random.default_rng(0)
    h = rng.standard_normal((c["N"], c["H"]), dtype=np.float32)
    W = rng.standard_normal((c["H"], 4 * c["H"]), dtype=np.float32)
    th, tW = torch.from_numpy(h), torch.from_numpy(W)
    flops = 2 * c["N"] * c["H"] * 4 * c["H"]
    out = {}
    for impl, fn in (("rnnbook", lambda: h @ W), ("torch", lambda: torch.mm(th, tW))):
        fn()
        out[impl] = flops / statistics.median(_timed(fn) for _ in range(repeats)) / 1e9
    return out


def lstm_layers_ms(c: dict, repeats: int = 10) -> dict:
    """Median ms of forward + backward through the LSTM layers of config ``c`` alone (no embedding, no output
    layer): rnnbook's ``TimeLSTM`` stack, PyTorch's ``nn.LSTM`` (on the CPU it runs oneDNN's fused RNN kernel)
    and the same ``nn.LSTM`` with oneDNN switched off (PyTorch's generic per-step implementation)."""
    import torch
    from rnnbook.lstm import TimeLSTM
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((c["N"], c["T"], c["D"]), dtype=np.float32)
    dhs = rng.standard_normal((c["N"], c["T"], c["H"]), dtype=np.float32)
    layers = [TimeLSTM(c["D"] if k == 0 else c["H"], c["H"], rng=k) for k in range(c["L"])]

    def nb_step():
        x = xs
        for layer in layers:
            x = layer.forward(x)
        d = dhs
        for layer in reversed(layers):
            d = layer.backward(d)

    lstm = torch.nn.LSTM(c["D"], c["H"], c["L"], batch_first=True)
    tx, tdh = torch.from_numpy(xs).requires_grad_(), torch.from_numpy(dhs)

    def th_step():
        lstm(tx)[0].backward(tdh)

    def th_generic_step():
        with torch.backends.mkldnn.flags(enabled=False):
            th_step()

    out = {}
    for impl, fn in (("rnnbook", nb_step), ("torch", th_step), ("torch_no_onednn", th_generic_step)):
        fn()
        out[impl] = 1e3 * statistics.median(_timed(fn) for _ in range(repeats))
    return out


def _timed(fn, clock=time.perf_counter) -> float:
    t0 = clock()
    fn()
    return clock() - t0


def time_training(name: str, steps: int, warmup: int) -> dict:
    c = CONFIGS[name] if name in CONFIGS else SMALL_CONFIGS[name]
    nb_ms, th_ms = time_pair(c, steps, warmup)
    out = {"config": name, "rnnbook_ms": nb_ms, "torch_ms": th_ms, "ratio": nb_ms / th_ms}
    if "L" in c:                                  # language models: the throughput of their matrix products
        flops = step_flops(c)
        out.update(gflop_per_step=flops / 1e9, rnnbook_gflops=flops / nb_ms / 1e6, torch_gflops=flops / th_ms / 1e6)
    return out


def time_pair(c: dict, steps: int, warmup: int, clock=time.perf_counter) -> tuple[float, float]:
    """Median milliseconds of a training step of configuration ``c`` in rnnbook and in PyTorch, timed
    interleaved in the same run, on ``clock`` (wall-clock time by default)."""
    _, nb_batch, nb_step = make_rnnbook(c)
    _, th_batch, th_step = make_torch(c)
    nb_data = [nb_batch() for _ in range(steps + warmup)]
    th_data = [th_batch() for _ in range(steps + warmup)]
    for k in range(warmup):
        nb_step(*nb_data[k])
        th_step(*th_data[k])
    # Interleave in short blocks, not single steps: after a matrix product, each library's worker
    # threads keep spinning for a while (OpenBLAS for NumPy, OpenMP for PyTorch), and on a machine
    # with few cores they would steal the other library's cores. A pause before every block lets
    # them go to sleep; blocks still alternate, so a slow spell of the machine hits both alike.
    nb_times, th_times = [], []
    block = 5
    for start in range(warmup, warmup + steps, block):
        ks = range(start, min(start + block, warmup + steps))
        pairs = [(nb_step, nb_data, nb_times), (th_step, th_data, th_times)]
        if (start // block) % 2:
            pairs.reverse()
        for step, data, times in pairs:
            time.sleep(PAUSE)
            for k in ks:
                times.append(_timed(lambda: step(*data[k]), clock))
    return 1e3 * statistics.median(nb_times), 1e3 * statistics.median(th_times)


def time_inference(name: str, n_tokens: int) -> dict:
    """Tokens/s for sampling one token at a time (batch 1) and for perplexity evaluation (batch N x T)."""
    import torch
    c = CONFIGS[name]
    nb_model, nb_batch, _ = make_rnnbook(c)
    th_model, th_batch, _ = make_torch(c)
    th_model.eval()
    from rnnbook.functions import softmax
    rng = np.random.default_rng(0)

    def nb_sample():
        nb_model.reset_state()
        tok = np.zeros((1, 1), dtype=np.int64)
        for _ in range(n_tokens):
            p = softmax(nb_model.predict(tok, train=False)[0, -1].astype(np.float64))
            tok[0, 0] = rng.choice(c["V"], p=p)

    def th_sample():
        th_model.state = None
        tok = torch.zeros((1, 1), dtype=torch.long)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for _ in range(n_tokens):
                p = torch.softmax(th_model(tok)[0, -1], dim=-1)
                tok[0, 0] = torch.multinomial(p, 1, generator=g)[0]

    eval_batches = 10
    nb_data = [nb_batch() for _ in range(eval_batches)]
    th_data = [th_batch() for _ in range(eval_batches)]

    def nb_eval():
        nb_model.reset_state()
        for x, y in nb_data:
            nb_model.forward(x, y, train=False)

    def th_eval():
        th_model.state = None
        loss_fn = torch.nn.CrossEntropyLoss()
        with torch.no_grad():
            for x, y in th_data:
                loss_fn(th_model(x).reshape(-1, c["V"]), y.reshape(-1))

    nb_eval(), th_eval()            # warm up
    eval_tokens = eval_batches * c["N"] * c["T"]
    res = {"config": name}
    res["sample_tokens_per_s"] = {"rnnbook": n_tokens / min(_timed(nb_sample) for _ in range(2)),
                                  "torch": n_tokens / min(_timed(th_sample) for _ in range(2))}
    res["eval_tokens_per_s"] = {"rnnbook": eval_tokens / min(_timed(nb_eval) for _ in range(3)),
                                "torch": eval_tokens / min(_timed(th_eval) for _ in range(3))}
    return res


def peak_memory(impl: str, name: str, threads: int, steps: int = 5) -> float:
    """Peak RSS (MiB) of a fresh process that trains config ``name`` for a few steps with ``impl``."""
    out = subprocess.run([sys.executable, __file__, "--_memory", impl, name, str(steps),
                          "--threads", str(threads)], capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _memory_child(impl: str, name: str, steps: int) -> None:
    c = CONFIGS[name]
    make = make_rnnbook if impl == "rnnbook" else make_torch
    _, batch, step = make(c)
    for _ in range(steps):
        step(*batch())
    print(_peak_rss_mib())


def _peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``, the high-water mark of this program's own
    memory. (``getrusage(...).ru_maxrss`` is not used there: across ``fork`` + ``exec`` Linux carries the
    parent's high-water mark over to the child, so a child started by a big benchmark process would
    report the parent's peak.)
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024          # kB -> MiB
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024   # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def numpy_blas() -> dict:
    """Which BLAS NumPy uses, which kernels it picked, and whether an environment variable forced them.

    OpenBLAS picks its kernels for the CPU it runs on, unless ``OPENBLAS_CORETYPE`` names a kernel family.
    Some machines set that variable (for example to get the same float results on every machine of a
    cluster); on a CPU with AVX-512 a forced ``Haswell`` uses AVX2 kernels, about half as fast on large
    products, while PyTorch's MKL and oneDNN still use AVX-512. The benchmark reports it, so that a
    comparison is read with the kernels it was made with.
    """
    from threadpoolctl import threadpool_info
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    info = next((i for i in blas if "numpy" in i.get("filepath", "")), blas[0] if blas else {})
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        pass
    return {"library": info.get("internal_api", "unknown"), "version": info.get("version"),
            "kernels": info.get("architecture"), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "cpu_avx512": " avx512f" in flags}


def blas_lines(b: dict) -> list[str]:
    """Header lines describing NumPy's BLAS (and a warning when its kernels were forced below the CPU's)."""
    how = (f"forced by OPENBLAS_CORETYPE={b['OPENBLAS_CORETYPE']}" if b["OPENBLAS_CORETYPE"]
           else "chosen by OpenBLAS for this CPU" if b["library"] == "openblas" else "")
    lines = [f"NumPy's BLAS: {b['library']} {b['version'] or ''}, {b['kernels'] or 'default'} kernels"
             + (f" ({how})" if how else "")]
    if b["OPENBLAS_CORETYPE"] and b["cpu_avx512"] and (b["kernels"] or "").lower() in ("haswell", "zen", "sandybridge"):
        lines.append("note: this CPU has AVX-512 but NumPy runs AVX2 kernels while PyTorch uses AVX-512; "
                     "run with `env -u OPENBLAS_CORETYPE` to compare like with like")
    return lines


def gpu_benchmark(steps: int) -> dict:
    """Median ms per training step of (b) and (c): rnnbook on CuPy (``rnnbook.use_gpu()``) against PyTorch
    with cuDNN, on the same GPU, alternating step by step, each step timed between two device synchronisations."""
    import torch
    from rnnbook import backend
    if not backend.use_gpu():
        raise SystemExit("--gpu needs CuPy and an NVIDIA GPU (see the warning above)")
    import cupy
    sync_nb, sync_th = cupy.cuda.Device().synchronize, torch.cuda.synchronize
    out = {"gpu": torch.cuda.get_device_name(0), "cupy": cupy.__version__, "torch": torch.__version__,
           "cudnn": torch.backends.cudnn.version(), "training": []}
    for name, c in GPU_CONFIGS.items():
        backend.use_gpu()
        _, nb_batch, nb_step = make_rnnbook(c)
        backend.use_cpu()
        _, th_batch, th_step = make_torch(c, device="cuda")
        times = {"rnnbook": [], "torch": []}
        for k in range(5 + steps):
            for impl, batch, step, sync in (("rnnbook", nb_batch, nb_step, sync_nb),
                                            ("torch", th_batch, th_step, sync_th)):
                x, y = batch()
                sync()
                t0 = time.perf_counter()
                step(x, y)
                sync()
                if k >= 5:                    # the first steps compile kernels and fill caches
                    times[impl].append(time.perf_counter() - t0)
        nb_ms, th_ms = (1e3 * statistics.median(times[i]) for i in ("rnnbook", "torch"))
        out["training"].append({"config": name, "rnnbook_ms": nb_ms, "torch_ms": th_ms, "ratio": nb_ms / th_ms})
        out[f"gpu_ratio_{name}"] = nb_ms / th_ms
    return out


def print_small(results: dict) -> None:
    """The table of the small models (ms per training step and the ratio rnnbook / PyTorch)."""
    print(f"{'small':<9}{'model':<34}{'rnnbook ms':>11}{'PyTorch ms':>11}{'ratio':>7}")
    for r in results["small"]:
        c = SMALL_CONFIGS[r["config"]]
        what = (f"peeky seq2seq, H {c['H']}, N {c['N']}, {c['S']}->{c['T']}" if c["cell"] == "peeky"
                else f"{c['cell'].upper()} LM, V {c['V']}, H {c['H']}, N {c['N']}, T {c['T']}")
        print(f"{r['config']:<9}{what:<34}{r['rnnbook_ms']:>11.2f}{r['torch_ms']:>11.2f}{r['ratio']:>7.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per implementation and config")
    ap.add_argument("--quick", action="store_true", help="3 steps, no memory or inference runs")
    ap.add_argument("--small", action="store_true", help="only the small models (s, s_gru, s_rnn, seq2seq)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both (default: all cores)")
    ap.add_argument("--gpu", action="store_true", help="(b) and (c) on an NVIDIA GPU: rnnbook on CuPy against cuDNN")
    ap.add_argument("--out",
                    help="also write the JSON results to this file (e.g. chapters/logs/lstm_lm_benchmark.json)")
    ap.add_argument("--_memory", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)          # NumPy's BLAS gets the same number of threads as PyTorch
    if args._memory:                         # a child process measuring one implementation's peak memory
        impl = args._memory[0]
        if impl == "torch":                  # the rnnbook child never imports torch: it would count its libraries
            import torch
            torch.set_num_threads(args.threads)
        _memory_child(impl, args._memory[1], int(args._memory[2]))
        return 0
    import torch
    from rnnbook.recipes._common import write_json      # writes nothing when --out is not given
    torch.set_num_threads(args.threads)
    steps = 3 if args.quick else args.steps
    if args.gpu:
        results = gpu_benchmark(steps)
        write_json(args.out, results)
        print(json.dumps(results, indent=2) if args.json else
              f"{results['gpu']}; CuPy {results['cupy']}, PyTorch {results['torch']}, cuDNN {results['cudnn']}\n"
              + "\n".join(f"{r['config']}: rnnbook {r['rnnbook_ms']:.1f} ms, PyTorch (cuDNN) {r['torch_ms']:.1f} ms, "
                          f"ratio {r['ratio']:.2f}" for r in results["training"]))
        return 0
    peak_before = gemm_gflops()
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "threads": args.threads, "numpy": np.__version__, "torch": torch.__version__,
               "date": time.strftime("%Y-%m-%d"), "numpy_blas": numpy_blas(), "steps": steps, "training": [],
               "small": [], "inference": [], "memory_mib": {}}
    for name in SMALL_CONFIGS:
        r = time_training(name, steps, warmup=2 if args.quick else 5)
        results["small"].append(r)
        results[f"ratio_{name}"] = r["ratio"]
    if args.small:
        write_json(args.out, results)
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            print("\n".join(blas_lines(results["numpy_blas"])))
            print_small(results)
        return 0
    for name in CONFIGS:
        r = time_training(name, steps, warmup=2 if args.quick else 3)
        results["training"].append(r)
        results[f"ratio_{name}"] = r["ratio"]
    # the ceiling is measured before and after the training runs and the larger value kept, so that a
    # disturbance during one measurement does not make rnnbook look closer to the ceiling than it is
    peak = results["numpy_gemm_gflops"] = max(peak_before, gemm_gflops())
    for r in results["training"]:
        r["fraction_of_gemm_peak"] = r["rnnbook_gflops"] / peak
    results["recurrent_gemm_gflops_b"] = recurrent_gemm_gflops(CONFIGS["b"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # PyTorch warns about TF32 on Intel GPUs when oneDNN flags change
        results["lstm_layers_ms_b"] = lstm_layers_ms(CONFIGS["b"], repeats=3 if args.quick else 10)
    if not args.quick:
        for impl in ("rnnbook", "torch"):
            results["memory_mib"][impl] = peak_memory(impl, "b", args.threads)
        results["memory_ratio_b"] = results["memory_mib"]["rnnbook"] / results["memory_mib"]["torch"]
        for name in CONFIGS:
            results["inference"].append(time_inference(name, 1000))
    write_json(args.out, results)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{results['machine']}, {args.threads} threads; numpy {np.__version__}, torch {torch.__version__}")
    print("\n".join(blas_lines(results["numpy_blas"])))
    print(f"NumPy float32 GEMM peak: {peak:.0f} GFLOP/s; {steps} timed steps per implementation, medians\n")
    print_small(results)
    print(f"\n{'config':<8}{'implementation':<16}{'ms/step':>10}{'GFLOP/s':>10}{'ratio':>8}")
    for r in results["training"]:
        print(f"{r['config']:<8}{'rnnbook':<16}{r['rnnbook_ms']:>10.1f}{r['rnnbook_gflops']:>10.1f}{r['ratio']:>8.2f}")
        print(f"{'':<8}{'PyTorch':<16}{r['torch_ms']:>10.1f}{r['torch_gflops']:>10.1f}{1.0:>8.2f}")
        print(f"{'':<8}rnnbook reaches {100 * r['fraction_of_gemm_peak']:.0f}% of the GEMM peak")
    g, c = results["recurrent_gemm_gflops_b"], CONFIGS["b"]
    print(f"recurrent product of b, ({c['N']}, {c['H']}) @ ({c['H']}, {4 * c['H']}): NumPy {g['rnnbook']:.0f} GFLOP/s, "
          f"torch.mm {g['torch']:.0f} GFLOP/s")
    m = results["lstm_layers_ms_b"]
    print(f"LSTM layers of b alone, forward + backward: rnnbook {m['rnnbook']:.0f} ms, PyTorch {m['torch']:.0f} ms "
          f"(oneDNN fused kernel), PyTorch without oneDNN {m['torch_no_onednn']:.0f} ms")
    if results["memory_mib"]:
        m = results["memory_mib"]
        print(f"\npeak memory, config b: rnnbook {m['rnnbook']:.0f} MiB, PyTorch {m['torch']:.0f} MiB "
              f"(ratio {results['memory_ratio_b']:.2f})")
    for r in results["inference"]:
        s, e = r["sample_tokens_per_s"], r["eval_tokens_per_s"]
        print(f"config {r['config']}: sampling {s['rnnbook']:.0f} vs {s['torch']:.0f} tokens/s (rnnbook vs PyTorch); "
              f"evaluation {e['rnnbook']:.0f} vs {e['torch']:.0f} tokens/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
