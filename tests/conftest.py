import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config):
    # make `import rnnbook` work even without the editable install (e.g. a bare `pytest tests`)
    lib = str(ROOT / "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)
