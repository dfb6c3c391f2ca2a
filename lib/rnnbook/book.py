"""Helpers for the book's notebooks that must also run outside the book's build environment.

The chapters *glue* their computed numbers into the prose with myst-nb's :func:`glue` (the rendered book
shows the number the cell printed, never a number typed by hand). myst-nb is part of the book's build
environment, not of ``rnnbook``'s runtime dependencies: on Colab, or after ``pip install rnnbook``, it is
usually missing. :func:`glue` here calls myst-nb's when it is installed (the notebook's outputs are then
exactly those myst-nb writes) and otherwise does nothing, so a chapter runs top to bottom anywhere.
"""
from __future__ import annotations

__all__ = ["glue"]


def glue(name: str, variable, display: bool = True) -> None:
    """Glue ``variable`` under ``name`` for the book's ``{glue:text}`` roles (myst-nb's ``glue``).

    Without myst-nb this does nothing: the value only matters to the rendered book.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"glue needs a non-empty name, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, variable, display=display)
