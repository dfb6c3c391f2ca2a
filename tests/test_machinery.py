"""tests/machinery.py, the contributor's tool that moves machinery into collapsed cells of its own."""
import nbformat

import machinery


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("#@title Setup for Colab\npass"), *cells]
    return nb


def test_split_keeps_the_outputs_with_their_code_and_shows_no_new_value():
    cell = nbformat.v4.new_code_cell('import numpy as np\nfrom threadpoolctl import threadpool_limits\n\n'
                                     'threadpool_limits(limits=1, user_api="blas")\nx = np.ones(3)\nprint(x)')
    cell.outputs = [nbformat.v4.new_output("stream", text="[1. 1. 1.]\n")]
    nb = _notebook(cell)
    changed, problems = machinery.process(nb)
    assert changed and not problems and len(nb.cells) == 3
    content, mach = nb.cells[1], nb.cells[2]
    assert content.outputs == cell.outputs and mach.outputs == []
    assert mach.source.startswith("#@title ") and "_ = threadpool_limits(" in mach.source   # no value shown
    assert mach.metadata["cellView"] == "form" and mach.metadata["jupyter"]["source_hidden"] is True
    assert not machinery.violations(nb)
    assert machinery.process(nb) == (False, [])                                               # idempotent


def test_a_figure_keeps_its_caption_and_the_machinery_gets_none():
    cell = nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n"
                                     "assert 1 + 1 == 2, 'arithmetic'")
    cell.metadata["mystnb"] = {"figure": {"name": "fig-x", "caption": "A line."}}
    nb = _notebook(cell)
    machinery.process(nb)
    assert nb.cells[1].metadata["mystnb"]["figure"]["name"] == "fig-x" and "mystnb" not in nb.cells[2].metadata
