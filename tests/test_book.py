"""rnnbook.book.glue: myst-nb's glue where it is installed, nothing where it is not (Colab, a pip install)."""
import sys

import pytest

from rnnbook.book import glue


def test_glue_uses_myst_nb_when_installed(monkeypatch):
    calls = []
    fake = type(sys)("myst_nb")
    fake.glue = lambda name, value, display=True: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    glue("ch0_answer", 42, display=False)
    assert calls == [("ch0_answer", 42, False)]


def test_glue_does_nothing_without_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)          # import myst_nb raises ImportError
    assert glue("ch0_answer", 42, display=False) is None


def test_glue_needs_a_name():
    with pytest.raises(ValueError, match="non-empty name"):
        glue("", 1)
