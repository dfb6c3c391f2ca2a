"""Measure how far a notebook's printed numbers move with the seed or the machine: the evidence behind tolerances.

nbval re-runs every notebook and compares its outputs with the committed ones (``tests/tolerance.py``).
Float32 training results depend on the BLAS kernels' summation order, so a machine whose OpenBLAS picks
other kernels (AVX-512 instead of AVX2, an ARM laptop, another thread count) prints slightly different
numbers. This script re-executes notebooks in the current environment and reports, for every code cell
whose text output differs from the committed one, how far each printed number moved, next to the cell's
declared tolerance (cell metadata ``tolerance``, see ``tests/tolerance.py``)::

    # the machine's own kernels, then the forced AVX2 ones, one and two threads:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python tests/spread.py chapters/02_bptt.ipynb --out a.json
    OPENBLAS_NUM_THREADS=1 python tests/spread.py chapters/02_bptt.ipynb --out b.json
    python tests/spread.py --report a.json b.json        # worst difference per cell over all runs

A cell marked ``FAIL`` would fail nbval in that setting: give it a tolerance larger than the measured
spread (with a margin), print it more coarsely, or check its claim with an assertion instead.

Training is chaotic, so another BLAS kernel changes a trained model about as much as another seed, and
the seed spread is what tolerances and claim margins must cover. ``--offsets`` re-executes every
notebook once per seed offset (``RNNBOOK_SEED_OFFSET``, which :func:`rnnbook.book_seed` adds to every
seed a chapter uses), ``--jobs`` at a time, and reports the worst spread per cell over all offsets, and
every claim assertion that failed under any offset::

    python tests/spread.py chapters/02_bptt.ipynb chapters/03_lstm.ipynb --offsets 1 2 3 4 --jobs 2 --out s.json

A claim that fails under some offset is not a finding: restate it as what does hold, measure it with
more data, or remove it; never loosen its margin until it passes.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import sys
import time

import nbformat

from tolerance import NUMBER, cell_tolerance, outputs_match  # tests/ is on the path: as a script or under pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def text_outputs(cell) -> str:
    """The cell's compared text: streams and text/plain results, one string."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":       # a stream may arrive in pieces: join them as they are
            parts.append(out.get("text", ""))
        for key, value in out.get("data", {}).items():
            if key.startswith("text/plain") or key.endswith("/text/plain"):
                # on lines of their own, so that two glued numbers never run together
                parts.append("\n" + (value if isinstance(value, str) else "".join(value)) + "\n")
    return "".join(parts)


def execute(nb: nbformat.NotebookNode, path: pathlib.Path, timeout: int, offset: int | None = None
            ) -> nbformat.NotebookNode:
    """Execute a copy of ``nb`` (its kernel started with ``RNNBOOK_SEED_OFFSET=offset`` when one is given)."""
    from nbclient import NotebookClient
    if offset is not None:
        os.environ["RNNBOOK_SEED_OFFSET"] = str(offset)      # the kernel inherits this process's environment
    nb = copy.deepcopy(nb)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def first_line(cell) -> str:
    """The start of a cell's source, to name it in the report."""
    return (cell.source.strip().splitlines() or [""])[0][:70]


def compare(committed: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> list[dict]:
    rows = []
    for i, (old, new) in enumerate(zip(committed.cells, fresh.cells)):
        if old.cell_type != "code":
            continue
        errors = [o for o in new.get("outputs", []) if o.get("output_type") == "error"]
        if errors and "raises-exception" not in old.metadata.get("tags", []):
            rows.append({"cell": i, "source": first_line(old), "tolerance": {},
                         "passes": False, "text_differs": True, "max_abs": None, "max_rel": None,
                         "error": f"{errors[0].get('ename')}: {errors[0].get('evalue', '')[:300]}"})
            continue
        if "nbval-ignore-output" in old.metadata.get("tags", []):
            continue
        ref, got = text_outputs(old), text_outputs(new)
        if ref == got:
            continue
        tol = cell_tolerance(old.metadata)
        row = {"cell": i, "source": first_line(old),
               "tolerance": tol, "passes": outputs_match(ref, got, **tol)}
        if NUMBER.sub("#", ref) != NUMBER.sub("#", got):
            row.update(text_differs=True, max_abs=None, max_rel=None)
        else:
            pairs = [(float(a), float(b)) for a, b in zip(NUMBER.findall(ref), NUMBER.findall(got)) if a != b]
            row.update(text_differs=False, pairs=pairs,
                       max_abs=max(abs(a - b) for a, b in pairs),
                       max_rel=max(abs(a - b) / max(abs(a), abs(b), 1e-300) for a, b in pairs),
                       suggested=suggest(pairs))
        rows.append(row)
    return rows


def suggest(pairs, margin: float = 2.0) -> dict:
    """A tolerance covering the measured differences with a margin: ``atol`` from the numbers of size at
    most 1 (accuracies, probabilities), ``rtol`` from the larger ones (perplexities, counts)."""
    small = [abs(a - b) for a, b in pairs if max(abs(a), abs(b)) <= 1]
    large = [abs(a - b) / max(abs(a), abs(b)) for a, b in pairs if max(abs(a), abs(b)) > 1]
    tol = {}
    if small:
        tol["atol"] = float(f"{margin * max(small):.1g}")
    if large:
        tol["rtol"] = float(f"{margin * max(large):.1g}")
    return tol


def setting() -> str:
    keys = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "RNNBOOK_SEED_OFFSET")
    return ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in keys)


def print_rows(name: str, rows: list[dict]) -> None:
    if not rows:
        print(f"{name}: every text output identical")
    for r in rows:
        spread = r.get("error") or ("text differs" if r["text_differs"] else
                                    f"abs {r['max_abs']:.3g} rel {r['max_rel']:.3g}")
        print(f"{name} cell {r['cell']:3d} {'ok  ' if r['passes'] else 'FAIL'} {spread:28s} "
              f"declared {r['tolerance'] or '-'} suggested {r.get('suggested') or '-'} | {r['source']}")


def _badness(row: dict) -> tuple:
    """Order rows from mild to bad: a failing row first, then the larger relative difference."""
    rel = row["max_rel"] if row.get("max_rel") is not None else float("inf")
    return (not row["passes"], rel)


def claim_failures(rows: list[dict]) -> list[dict]:
    """The rows whose cell raised an ``AssertionError``: a claim that did not hold."""
    return [r for r in rows if (r.get("error") or "").startswith("AssertionError")]


def _run_offset(job):
    """One notebook under one seed offset (a worker of ``--jobs``): its rows, and its run time."""
    name, offset, timeout, save_dir = job
    path = ROOT / name
    start = time.perf_counter()
    committed = nbformat.read(path, as_version=4)
    try:
        fresh = execute(committed, path, timeout, offset)
    except Exception as e:                               # a dead or timed-out kernel: one failed run, not all
        return name, offset, [{"cell": -1, "source": "(the whole notebook)", "tolerance": {}, "passes": False,
                               "text_differs": True, "max_abs": None, "max_rel": None,
                               "error": f"{type(e).__name__}: {str(e)[:300]}"}], time.perf_counter() - start
    if save_dir:
        pathlib.Path(save_dir).mkdir(parents=True, exist_ok=True)
        nbformat.write(fresh, pathlib.Path(save_dir) / f"{name.replace('/', '__')[:-6]}@{offset}.ipynb")
    return name, offset, compare(committed, fresh), time.perf_counter() - start


def run_offsets(names: list[str], offsets: list[int], timeout: int, jobs: int, save_dir: str | None = None) -> dict:
    """Re-execute every notebook under every offset; print each run, then the worst spread per cell."""
    import multiprocessing
    runs = {}
    work = [(name, k, timeout, save_dir) for name in names for k in offsets]
    with multiprocessing.get_context("spawn").Pool(max(1, jobs)) as pool:
        for name, offset, rows, seconds in pool.imap_unordered(_run_offset, work):
            runs.setdefault(name, {})[str(offset)] = rows
            print(f"# {name}, RNNBOOK_SEED_OFFSET={offset}: {seconds:.0f} s", flush=True)
            print_rows(f"{name}@{offset}", rows)
    print("\n# worst spread per cell over the offsets", offsets)
    failed = []
    for name, by_offset in sorted(runs.items()):
        worst: dict = {}
        for offset, rows in by_offset.items():
            failed += [(name, offset, r) for r in claim_failures(rows)]
            for r in rows:
                worst[r["cell"]] = max(worst.get(r["cell"], r), r, key=_badness)
        print_rows(name, [worst[c] for c in sorted(worst)])
    print("\n# claim assertions that failed under some offset:", "none" if not failed else len(failed))
    for name, offset, r in failed:
        print(f"{name} cell {r['cell']} offset {offset}: {r['error']}")
    return {"setting": setting(), "offsets": offsets, "runs": runs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to re-execute and compare")
    parser.add_argument("--out", help="save the measured differences as JSON")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--report", nargs="+", metavar="JSON", help="combine saved runs: worst per cell")
    parser.add_argument("--save-dir", help="also save the re-executed notebooks in this folder")
    parser.add_argument("--offsets", nargs="+", type=int, metavar="K",
                        help="re-execute under each seed offset K (RNNBOOK_SEED_OFFSET) and report the seed spread")
    parser.add_argument("--jobs", type=int, default=1, help="with --offsets: notebooks executed at once")
    args = parser.parse_args(argv)
    if args.offsets:
        names = [str(pathlib.Path(p).resolve().relative_to(ROOT)) for p in args.notebooks]
        results = run_offsets(names, args.offsets, args.timeout, args.jobs, args.save_dir)
        if args.out:
            pathlib.Path(args.out).write_text(json.dumps(results, indent=1))
        return 0
    if args.report:
        worst: dict = {}
        for f in args.report:
            run = json.loads(pathlib.Path(f).read_text())
            for nb, rows in run["notebooks"].items():
                for r in rows:
                    key = (nb, r["cell"])
                    old = worst.get(key)
                    if old is None or (r["max_rel"] or float("inf")) > (old["max_rel"] or float("inf")):
                        worst[key] = dict(r, setting=run["setting"])
        for (nb, _), r in sorted(worst.items()):
            print_rows(nb, [r])
        return 0
    results = {"setting": setting(), "notebooks": {}}
    for p in args.notebooks:
        path = pathlib.Path(p).resolve()
        start = time.perf_counter()
        committed = nbformat.read(path, as_version=4)
        fresh = execute(committed, path, args.timeout)
        rows = compare(committed, fresh)
        name = str(path.relative_to(ROOT))
        if args.save_dir:
            pathlib.Path(args.save_dir).mkdir(parents=True, exist_ok=True)
            nbformat.write(fresh, pathlib.Path(args.save_dir) / name.replace("/", "__"))
        results["notebooks"][name] = rows
        print(f"# {name} ({setting()}): {time.perf_counter() - start:.0f} s")
        print_rows(name, rows)
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
