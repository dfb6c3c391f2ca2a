"""Run the small-model benchmark (``lstm_lm.py --small``) several times in a row and keep every run.

Issue 25's target is a ratio (rnnbook / PyTorch training-step time) of at most 1.0 for config (s), in the
logged run and in at least 3 of 4 consecutive runs; one run's medians move with the machine's load, so the
runs are kept side by side::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/small_runs.py --runs 4 \\
        --out chapters/logs/lstm_lm_small_benchmark.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    script = Path(__file__).with_name("lstm_lm.py")
    runs = []
    for k in range(args.runs):
        load = os.getloadavg()[0]
        out = subprocess.run([sys.executable, str(script), "--small", "--json", "--threads", str(args.threads)],
                             check=True, capture_output=True, text=True).stdout
        run = json.loads(out)
        run["load_average_before"] = round(load, 2)
        runs.append(run)
        print(f"run {k + 1}: load {load:.1f}, " + ", ".join(f"{r['config']} {r['ratio']:.2f}" for r in run["small"]),
              flush=True)
    Path(args.out).write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                          "runs": runs}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
