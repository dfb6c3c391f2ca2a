"""Time the execution of every notebook of the book (chapters, exercises, solutions) at a git revision.

    python benchmarks/notebook_times.py                    # the working tree's HEAD
    python benchmarks/notebook_times.py --rev main --out before.json

The revision is exported with ``git archive`` into a temporary folder and every notebook is executed
there with ``jupyter execute`` (nothing is written back: the committed outputs stay as they are), with
that copy's ``lib`` first on ``PYTHONPATH``. The times are wall-clock seconds including the kernel's
start-up (about a second), so they are as noisy as the machine.
"""
from __future__ import annotations

import argparse
import json
import os
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
    archive = dest / "tree.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()


def time_notebooks(tree: Path, only: list[str] | None = None) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree / "lib"))
    env.pop("MPLBACKEND", None)
    times = {}
    for folder in FOLDERS:
        for nb in sorted((tree / folder).glob("*.ipynb")):
            name = f"{folder}/{nb.name}"
            if only and not any(o in name for o in only):
                continue
            t0 = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "jupyter", "execute", str(nb)], env=env, cwd=nb.parent,
                                 capture_output=True, text=True)
            times[name] = round(time.perf_counter() - t0, 1) if run.returncode == 0 else None
            print(f"{name:<36}{times[name] if times[name] is not None else 'FAILED':>8}", flush=True)
            if run.returncode:
                print(run.stderr[-2000:], file=sys.stderr)
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="HEAD", help="git revision to time (default HEAD)")
    ap.add_argument("--only", nargs="*", help="only notebooks whose path contains one of these strings")
    ap.add_argument("--out", help="write {notebook: seconds} as JSON to this file")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rnnbook-nbtimes-") as tmp:
        export(args.rev, Path(tmp))
        times = time_notebooks(Path(tmp), args.only)
    if args.out:
        Path(args.out).write_text(json.dumps({"rev": args.rev, "seconds": times}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
