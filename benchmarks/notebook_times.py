"""Time the execution of the book's notebooks (chapters, exercises, solutions) at one or more git revisions.

    python benchmarks/notebook_times.py --revs main HEAD --out times.json
    python benchmarks/notebook_times.py --revs main HEAD --only chapters/04 chapters/05

Each revision is exported with ``git archive`` into a temporary folder, and every notebook is executed
there with ``jupyter execute`` (nothing is written back: the committed outputs stay as they are), with
that copy's ``lib`` first on ``PYTHONPATH``. The revisions take turns notebook by notebook, so that a
busy spell of the machine hits them alike. Two times are recorded per run: wall-clock seconds, and the
CPU seconds (user + system) of the ``jupyter execute`` process and its kernel, which depend much less on
what else the machine is doing. Both include the kernel's start-up (about a second).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("chapters", "exercises", "solutions")


def export(rev: str, dest: Path) -> None:
    """Write the files of ``rev`` under ``dest``."""
    dest.mkdir(parents=True)
    archive = dest / "tree.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()


def run_notebook(tree: Path, name: str) -> dict:
    """Execute ``tree/name``; return its wall and CPU seconds (None for both when it fails)."""
    env = dict(os.environ, PYTHONPATH=str(tree / "lib"))
    env.pop("MPLBACKEND", None)                 # notebooks render their own figures
    nb = tree / name
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "jupyter", "execute", str(nb)], env=env, cwd=nb.parent,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode:
        print(run.stderr[-2000:], file=sys.stderr)
        return {"wall_s": None, "cpu_s": None}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--revs", nargs="+", default=["HEAD"], help="git revisions to time (default HEAD)")
    ap.add_argument("--only", nargs="*", help="only notebooks whose path contains one of these strings")
    ap.add_argument("--out", help="write the times as JSON to this file (rewritten after every notebook)")
    args = ap.parse_args(argv)
    names = [f"{folder}/{nb.name}" for folder in FOLDERS for nb in sorted((ROOT / folder).glob("*.ipynb"))]
    if args.only:                               # in the order given
        names = [n for o in args.only for n in names if o in n]
    results = {"revs": args.revs, "notebooks": {}}
    with tempfile.TemporaryDirectory(prefix="rnnbook-nbtimes-") as tmp:
        trees = {}
        for k, rev in enumerate(args.revs):
            trees[rev] = Path(tmp) / f"rev{k}"
            export(rev, trees[rev])
        for name in names:
            row = results["notebooks"][name] = {}
            for rev in args.revs:
                row[rev] = run_notebook(trees[rev], name)
            timings = "".join(f"  {rev}: {r['wall_s']} s wall, {r['cpu_s']} s CPU" for rev, r in row.items())
            print(f"{name:<32}" + timings, flush=True)
            if args.out:
                Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
