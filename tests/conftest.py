import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config):
    # make `import rnnbook` work even without the editable install (e.g. a bare `pytest tests`)
    lib = str(ROOT / "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)


def _tolerant_nbval_comparison():
    """Make nbval compare printed numbers with a tolerance: one unit in the last printed place by default,
    or the tolerance the cell declares in its metadata (``{"tolerance": {"rtol": ..., "atol": ...}}``).

    nbval has no option for this, so its sanitizer (which it applies to the committed and to the new output
    alike, just before comparing them, as a method of the cell being tested) is wrapped to return
    :class:`tolerance.TolerantText` carrying that cell's tolerance. See ``tests/tolerance.py`` for the exact
    rule and ``tests/test_tolerance.py`` for its tests.
    """
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:                 # nbval not installed: nothing to do
        return
    from tolerance import TolerantText, cell_tolerance
    original = IPyNbCell.sanitize
    if getattr(original, "tolerant", False):
        return

    def sanitize(self, s):
        s = original(self, s)
        if not isinstance(s, str):
            return s
        cell = getattr(self, "cell", None)          # the notebook cell under test (IPyNbCell.cell)
        return TolerantText(s, **cell_tolerance(getattr(cell, "metadata", None)))

    sanitize.tolerant = True
    IPyNbCell.sanitize = sanitize


_tolerant_nbval_comparison()
