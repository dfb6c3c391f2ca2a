"""Policies every notebook of the book follows (run `python tests/test_notebooks.py --fix` to apply
the mechanical ones to all notebooks):

* its first cell is the setup cell for Colab (installs the book's library when it is missing), built
  from the repository URL in _config.yml and collapsed in every front end (tag ``hide-cell`` for the
  rendered book, ``jupyter.source_hidden`` for JupyterLab, a ``#@title`` line and ``cellView: form`` for Colab);
* it is committed executed, with no error outputs except in cells tagged ``raises-exception``;
* widgets: a static page has no kernel, so every cell that shows an ipywidgets control is tagged
  ``remove-output`` (the rendered book shows its code, not a dead control) and ``nbval-ignore-output``,
  and a static figure drawn by an earlier cell shows what the control explores;
* cells carry no execution timestamps (`--fix` strips them: they would be noise in every diff).
"""
import pathlib
import sys

import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("chapters", "exercises", "solutions") for p in (ROOT / folder).glob("*.ipynb"))
SETUP_TAGS = ["hide-cell"]
# Collapsed in every front end, not only in the HTML book (as tests/machinery.py marks machinery cells):
# JupyterLab / Notebook 7 / VS Code read jupyter.source_hidden, Colab reads cellView "form" (its title is the
# cell's first line, "#@title ...").
SETUP_METADATA = {"jupyter": {"source_hidden": True}, "cellView": "form"}
WIDGET_TAGS = ["remove-output", "nbval-ignore-output"]


# Notebooks whose training would gain from a GPU: their setup cell says how to switch it on.
GPU_NOTEBOOKS = {"chapters/04_lm.ipynb"}


def setup_source(path: pathlib.Path | None = None) -> str:
    """The setup cell of the notebook at ``path``: on a Python without ``rnnbook`` (Colab, a bare Jupyter) it
    clones the book from ``repository.url`` in _config.yml (or ``$RNNBOOK_REPO_URL``) and installs ``rnnbook``
    from the clone without its dependencies, then asks pip for the dependencies, which installs the missing
    ones and leaves alone every package already installed at a version that satisfies the lower bound."""
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    source = (
        "#@title Setup: install the book's library where it is missing (Colab)\n"
        "# For Colab, or any Python without the book's library: clone the book and install rnnbook from it,\n"
        "# adding only the packages it needs that are missing (those already installed at a version rnnbook supports\n"
        "# stay as they are). Locally and on Binder rnnbook is installed already and this cell does nothing.\n"
        "import importlib.util\n"
        "if importlib.util.find_spec(\"rnnbook\") is None:\n"
        "    import importlib, importlib.metadata as metadata, os, subprocess, sys, time\n"
        "    start = time.perf_counter()\n"
        f"    url = os.environ.get(\"RNNBOOK_REPO_URL\", \"{url}\")\n"
        "    if not os.path.isdir(\"rnnbook-book\"):\n"
        "        subprocess.run([\"git\", \"clone\", \"-q\", \"--depth\", \"1\", url, \"rnnbook-book\"], check=True)\n"
        "    def installed():\n"
        "        return {d.metadata[\"Name\"].lower(): d.version for d in metadata.distributions()}\n"
        "    before = installed()\n"
        "    pip = [sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"--disable-pip-version-check\"]\n"
        "    subprocess.run(pip + [\"--no-deps\", \"./rnnbook-book\"], check=True)\n"
        "    importlib.invalidate_caches()\n"
        "    needs = [r for r in metadata.requires(\"rnnbook\") if \"extra ==\" not in r]   # e.g. \"numpy>=2.2\"\n"
        "    subprocess.run(pip + needs, check=True)        # pip skips each requirement already satisfied\n"
        "    importlib.invalidate_caches()\n"
        "    after = installed()\n"
        "    added = [f\"{n} {v}\" for n, v in after.items() if n not in before and n != \"rnnbook\"]\n"
        "    upgraded = [f\"{n} {before[n]} -> {v}\" for n, v in after.items() if n in before and before[n] != v]\n"
        "    print(f\"Setup: installed rnnbook {after['rnnbook']} from {url} in {time.perf_counter() - start:.0f} s; \"\n"  # noqa: E501
        "          f\"added {', '.join(added) or 'nothing else'}; upgraded {', '.join(upgraded) or 'nothing'}.\")"
    )
    if path is not None and path.resolve().relative_to(ROOT).as_posix() in GPU_NOTEBOOKS:
        source += (
            "\n# With an NVIDIA GPU (Colab: Runtime > Change runtime type; its GPU runtimes ship CuPy), uncomment the\n"
            "# next line to train this chapter's language models on it. Without CuPy or a GPU, rnnbook says why in a\n"
            "# warning and stays on NumPy.\n"
            "# import rnnbook; rnnbook.use_gpu()"
        )
    return source


def is_setup_cell(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith(("#@title Setup", "# Setup for Colab"))


def uses_widgets(cell) -> bool:
    return cell.cell_type == "code" and ("interact(" in cell.source or "widgets." in cell.source)


def has_image(cell) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_setup_cell_is_first_and_in_sync_with_config(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and is_setup_cell(code[0]), f"{path.name}: the first code cell must be the setup cell " \
                                            f"(run `python tests/test_notebooks.py --fix`)"
    assert code[0].source == setup_source(path), f"{path.name}: setup cell is out of date with _config.yml (--fix)"
    assert set(SETUP_TAGS) <= set(code[0].metadata.get("tags", []))
    for key, value in SETUP_METADATA.items():
        assert code[0].metadata.get(key) == value, f"{path.name}: setup cell metadata {key} is not {value} (--fix)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_committed_executed_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip() or is_setup_cell(cell):
            continue
        assert cell.execution_count is not None, f"{path.name} cell {i} was never executed"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors and "raises-exception" not in cell.metadata.get("tags", []):
            pytest.fail(f"{path.name} cell {i} has an error output: {errors[0].ename}: {errors[0].evalue}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_widget_cells_have_a_static_counterpart(path):
    nb = nbformat.read(path, as_version=4)
    seen_figure = False
    for i, cell in enumerate(nb.cells):
        if uses_widgets(cell):
            tags = cell.metadata.get("tags", [])
            missing = [t for t in WIDGET_TAGS if t not in tags]
            assert not missing, f"{path.name} cell {i} shows a widget but lacks tags {missing}"
            assert seen_figure, f"{path.name} cell {i}: a widget needs a static figure in an earlier cell"
        elif cell.cell_type == "code" and has_image(cell):
            seen_figure = True


def fix_all() -> None:
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        changed = False
        code = [c for c in nb.cells if c.cell_type == "code"]
        if code and is_setup_cell(code[0]):
            cell = code[0]
            if cell.source != setup_source(path):
                cell.source = setup_source(path)
                changed = True
        else:
            cell = nbformat.v4.new_code_cell(setup_source(path))
            cell["id"] = "setup"
            first_code = nb.cells.index(code[0]) if code else len(nb.cells)
            nb.cells.insert(first_code, cell)
            changed = True
        tags = cell.metadata.setdefault("tags", [])
        for t in SETUP_TAGS:
            if t not in tags:
                tags.append(t)
                changed = True
        for key, value in SETUP_METADATA.items():
            if cell.metadata.get(key) != value:
                cell.metadata[key] = value
                changed = True
        for c in nb.cells:
            if "execution" in c.metadata:        # execution timestamps: noise in every diff
                del c.metadata["execution"]
                changed = True
            if uses_widgets(c):
                tags = c.metadata.setdefault("tags", [])
                for t in WIDGET_TAGS:
                    if t not in tags:
                        tags.append(t)
                        changed = True
        if changed:
            nbformat.write(nb, path)
            print("updated", path.relative_to(ROOT))


if __name__ == "__main__":
    if "--fix" in sys.argv:
        fix_all()
    else:
        sys.exit(pytest.main([__file__, "-q"]))
