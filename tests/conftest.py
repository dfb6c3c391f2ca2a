import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config):
    # make `import rnnbook` work even without the editable install (e.g. a bare `pytest tests`)
    lib = str(ROOT / "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)


def _tolerant_nbval_comparison():
    """Make nbval compare printed floats with a tolerance of one unit in the last printed place.

    nbval has no option for this, so its sanitizer (which it applies to the committed and to the new output
    alike, just before comparing them) is wrapped to return :class:`tolerance.TolerantText`. See
    ``tests/tolerance.py`` for the exact rule and ``tests/test_notebooks.py`` for its tests.
    """
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:                 # nbval not installed: nothing to do
        return
    from tolerance import TolerantText
    original = IPyNbCell.sanitize
    if getattr(original, "tolerant", False):
        return

    def sanitize(self, s):
        s = original(self, s)
        return TolerantText(s) if isinstance(s, str) else s

    sanitize.tolerant = True
    IPyNbCell.sanitize = sanitize


_tolerant_nbval_comparison()
