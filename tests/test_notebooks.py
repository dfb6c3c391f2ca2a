"""Policies every notebook of the book follows (run `python tests/test_notebooks.py --fix` to apply
the mechanical ones to all notebooks):

* its first cell is the setup cell for Colab (installs the book's library when it is missing), built
  from the repository URL in _config.yml and collapsed in the rendered book (tag ``hide-cell``);
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
WIDGET_TAGS = ["remove-output", "nbval-ignore-output"]


def setup_source() -> str:
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    return (
        "# Setup for Colab, or any Python without the book's library: fetch the book and install rnnbook with\n"
        "# the pinned requirements. In a local checkout or on Binder rnnbook is installed and this does nothing.\n"
        "import importlib.util, subprocess, sys\n"
        "if importlib.util.find_spec(\"rnnbook\") is None:\n"
        f"    subprocess.run([\"git\", \"clone\", \"--depth\", \"1\", \"{url}\", \"rnnbook-book\"], check=True)\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"-r\", \"requirements.txt\"],\n"
        "                   cwd=\"rnnbook-book\", check=True)\n"
        "    sys.path.insert(0, \"rnnbook-book/lib\")"
    )


def is_setup_cell(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith("# Setup for Colab")


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
    assert code[0].source == setup_source(), f"{path.name}: setup cell is out of date with _config.yml (--fix)"
    assert set(SETUP_TAGS) <= set(code[0].metadata.get("tags", []))


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
            if cell.source != setup_source():
                cell.source = setup_source()
                changed = True
        else:
            cell = nbformat.v4.new_code_cell(setup_source())
            cell["id"] = "setup"
            first_code = nb.cells.index(code[0]) if code else len(nb.cells)
            nb.cells.insert(first_code, cell)
            changed = True
        tags = cell.metadata.setdefault("tags", [])
        for t in SETUP_TAGS:
            if t not in tags:
                tags.append(t)
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
