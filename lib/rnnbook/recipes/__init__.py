"""Runnable training recipes: the exact experiments of a chapter, in a small and a long version.

Each recipe is a module runnable with ``python -m rnnbook.recipes.<name> --config ci|long --out LOG.json``.
The ``ci`` configuration is what the chapter's notebook trains when the book is built; the ``long``
one is run by hand and its JSON log is committed, so that the chapter can quote (and label) it.
"""
