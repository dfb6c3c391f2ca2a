"""An instructor's batch: grade every notebook under a folder, in parallel, into a CSV and JSON reports.

``python -m rnnbook.grade submissions/ --jobs 2 --csv grades.csv --json-dir reports/``

- every ``*.ipynb`` under the folder is one submission, whatever the layout and file names (Jupyter's
  ``.ipynb_checkpoints`` are skipped); the chapter comes from each notebook;
- each submission runs in its own sandboxed process, ``--jobs`` at a time, with a progress bar; the
  folder of submissions is hidden from every learner process, so no submission can read another;
- a submission that cannot be graded becomes a row with the reason and never stops the batch;
- the CSV has one row per submission, one column per exercise, the total, and *flags*: graded functions
  whose normalised source is nearly identical (similarity >= ``FLAG_AT``) to the reference solution or to
  the library's implementation, and graded functions identical or nearly identical to the same function
  in another submission of the batch (``copy:`` flags, :func:`find_copies`). A flag is for the
  instructor to look at, not a penalty;
- a summary table (pass rate and mean score per exercise) is printed, and a bar chart of the pass rates is
  saved next to the CSV (or at ``--figure``).
"""
from __future__ import annotations

import concurrent.futures
import csv
import json
import pathlib
import re
import sys
import time

from . import source
from .session import Limits, grade_notebook

__all__ = ["find_submissions", "grade_all", "find_copies", "run", "FLAG_AT"]

FLAG_AT = 0.95


def find_submissions(folder: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())


def find_copies(results: list[dict], threshold: float = FLAG_AT, pairwise_up_to: int = 400) -> dict:
    """Graded functions that two or more submissions share: identical once names, comments and docstrings
    are set aside, or (up to ``pairwise_up_to`` submissions) at least ``threshold`` alike. Functions not
    written yet are left out. Returns ``{submission: ["name: same as OTHER", ...]}`` and records the same
    list as each report's ``"copies"``."""
    by_name: dict = {}
    for r in results:
        rep = r["report"]
        if rep is None:
            continue
        status = {e["name"]: e["status"] for e in rep["exercises"]}
        kinds = {e["name"]: e.get("kind", "function") for e in rep["exercises"]}
        for name, fp in rep.get("fingerprints", {}).items():
            if kinds.get(name) == "function" and status.get(name) not in ("not implemented", "missing"):
                by_name.setdefault(name, []).append((r["submission"], fp))
    found: dict = {}

    def note(a, b, name, how):
        found.setdefault(a, []).append(f"{name}: {how} {b}")
        found.setdefault(b, []).append(f"{name}: {how} {a}")
    for name, subs in by_name.items():
        for i, (a, fa) in enumerate(subs):
            for b, fb in subs[i + 1:]:
                if fa["hash"] == fb["hash"]:
                    note(a, b, name, "same as")
                elif len(subs) <= pairwise_up_to and source.similarity(fa["source"], fb["source"]) >= threshold:
                    note(a, b, name, "nearly the same as")
    for r in results:
        if r["report"] is not None:
            r["report"]["copies"] = found.get(r["submission"], [])
    return found


def _flags(report: dict) -> list[str]:
    out = [f"copy: {c}" for c in report.get("copies", [])]
    for name, sims in report.get("similarity", {}).items():
        for what, value in sims.items():
            if value >= FLAG_AT:
                out.append(f"{name}~{what} {value:.2f}")
    return out


def _grade_one(path: pathlib.Path, root: pathlib.Path, opts: dict) -> dict:
    sub = str(path.relative_to(root))
    try:
        report = grade_notebook(path, hide=[str(root.resolve())], **opts)
    except Exception as e:  # one broken submission never stops the batch
        return {"submission": sub, "error": f"{type(e).__name__}: {e}", "report": None}
    report["submission"] = sub
    return {"submission": sub, "error": "", "report": report}


def grade_all(root, *, jobs: int = 1, chapter=None, solutions=None, limits: Limits | None = None,
              sandbox=None, progress: bool = True, final: bool = False) -> list[dict]:
    """Grade every submission under ``root``; one dict per submission (``submission``, ``error``,
    ``report``), in the order of the file names."""
    root = pathlib.Path(root)
    paths = find_submissions(root)
    opts = {"chapter": chapter, "solutions": solutions, "limits": limits or Limits(), "sandbox": sandbox,
            "final": final}
    rows: dict = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(paths), desc="grading", unit="notebook", file=sys.stderr)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_grade_one, p, root, opts): p for p in paths}
        for fut in concurrent.futures.as_completed(futures):
            row = fut.result()
            rows[row["submission"]] = row
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    results = [rows[str(p.relative_to(root))] for p in paths]
    find_copies(results)
    return results


def _columns(results: list[dict]) -> list[str]:
    names: list = []
    for r in results:
        for e in (r["report"] or {}).get("exercises", []):
            if e["name"] not in names:
                names.append(e["name"])
    return names


def write_csv(results: list[dict], path) -> None:
    names = _columns(results)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission", "chapter", *names, "total", "max_score", "flags", "error"])
        for r in results:
            rep = r["report"]
            if rep is None:
                w.writerow([r["submission"], "", *[""] * len(names), 0, "", "", r["error"]])
                continue
            scores = {e["name"]: e["score"] for e in rep["exercises"]}
            w.writerow([r["submission"], rep["chapter"], *[f"{scores[n]:g}" if n in scores else "" for n in names],
                        f"{rep['score']:g}", f"{rep['max_score']:g}", "; ".join(_flags(rep)), ""])


def summary(results: list[dict]) -> tuple[str, dict]:
    """A plain-text summary table and the pass rate of each exercise."""
    names = _columns(results)
    graded = [r["report"] for r in results if r["report"] is not None]
    rates, lines = {}, []
    w = max([len("exercise")] + [len(n) for n in names])
    lines.append(f"{'exercise':<{w}}  pass rate  mean score")
    for n in names:
        got = [e for rep in graded for e in rep["exercises"] if e["name"] == n]
        rate = sum(e["status"] == "passed" for e in got) / len(got) if got else 0.0
        mean = sum(e["score"] for e in got) / len(got) if got else 0.0
        rates[n] = rate
        lines.append(f"{n:<{w}}  {rate:9.0%}  {mean:10.2f}")
    totals = [rep["score"] for rep in graded]
    lines.append(f"{len(results)} submissions, {len(graded)} graded, {len(results) - len(graded)} could not be "
                 f"graded; mean total {sum(totals) / len(totals) if totals else 0:.2f}")
    return "\n".join(lines), rates


def save_figure(rates: dict, path) -> None:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(max(4.0, 0.9 * len(rates) + 1), 3.2))
    ax = fig.subplots()
    ax.bar(range(len(rates)), [100 * v for v in rates.values()], color="#4477aa")
    ax.set_xticks(range(len(rates)), list(rates), rotation=30, ha="right")
    ax.set_ylabel("pass rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Pass rate per exercise")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _safe_name(sub: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", sub)


def run(root: pathlib.Path, args, limits: Limits) -> int:
    """The command-line batch (see the module docstring)."""
    start = time.monotonic()
    results = grade_all(root, jobs=args.jobs, chapter=args.chapter, solutions=args.solutions, limits=limits,
                        sandbox=False if args.no_sandbox else None, final=getattr(args, "final", False))
    if not results:
        print(f"error: no notebooks (*.ipynb) under {root}", file=sys.stderr)
        return 2
    if args.csv:
        write_csv(results, args.csv)
    if args.json_dir:
        out = pathlib.Path(args.json_dir)
        out.mkdir(parents=True, exist_ok=True)
        for r in results:
            data = r["report"] or {"submission": r["submission"], "error": r["error"]}
            (out / (_safe_name(r["submission"]) + ".json")).write_text(json.dumps(data, indent=2), encoding="utf-8")
    table, rates = summary(results)
    figure = args.figure or (str(pathlib.Path(args.csv).with_suffix("")) + "_pass_rate.png" if args.csv else None)
    if figure and rates:
        save_figure(rates, figure)
    if args.format == "json":
        print(json.dumps([r["report"] or {"submission": r["submission"], "error": r["error"]} for r in results],
                         indent=2))
    else:
        print(table)
        copies = sorted({r["submission"] for r in results if (r["report"] or {}).get("copies")})
        if copies:
            print(f"possible copies between submissions ({len(copies)}): " + "; ".join(
                f"{sub} ({', '.join(next(r for r in results if r['submission'] == sub)['report']['copies'])})"
                for sub in copies))
        sandboxed = any((r["report"] or {}).get("sandbox") for r in results)
        print(f"wall time {time.monotonic() - start:.1f} s with {args.jobs} job(s); "
              f"{'sandboxed' if sandboxed else 'NO sandbox: submissions could read each other'}"
              + (f"; figure: {figure}" if figure and rates else ""))
    return 0
