"""Markers by kind of test, so that ``make unit`` can select the library's unit tests by marker:
``-m "not slow and not notebook and not browser and not grading"``. The markers are declared in
pyproject.toml; each kind is assigned here, in one place, by test file (and to every notebook cell nbval
collects). Also the one fixture the two browser tests share: headless Chromium, for the module's ``site``."""
import pytest

#: test file -> marker. Unmarked files are the unit tests of lib/rnnbook, one file per module.
KINDS = {
    "test_notebooks.py": "notebook",        # runs notebooks through the grader and the setup cell
    "test_fresh_runtime.py": "notebook",    # runs notebooks in fresh virtual environments
    "test_browser.py": "browser",           # the built book in headless Chromium
    "test_browser_zh.py": "browser",        # both editions in headless Chromium
    "test_i18n.py": "slow",                 # builds a small pseudo-translated book
    "test_recipes_ch05.py": "slow",         # trains chapter 5's recipe
    "test_recipes_ch06.py": "slow",         # trains chapter 6's recipe
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebook)
        elif name.startswith("test_grading"):
            item.add_marker(pytest.mark.grading)
        elif name in KINDS:
            item.add_marker(getattr(pytest.mark, KINDS[name]))


@pytest.fixture(scope="module")
def browser(site):
    """Headless Chromium (the system's, never a downloaded one) for the test module's ``site``."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, FLAGS
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()
