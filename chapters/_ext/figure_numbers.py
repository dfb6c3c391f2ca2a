"""Number the figures of each chapter by that chapter: "Fig. 3.2" is the second figure of chapter 3, "Fig. A1.1"
the first of appendix A1.

Sphinx numbers figures per section only under a numbered toctree (``numfig_secnum_depth``), and then also
prefixes every heading with its number. The chapters carry their numbers in their titles already
("# 3. LSTM gates", "## 3.1 ..."), and the appendices are "A1" and "A2", which a numbered toctree would call
7 and 8. So this extension keeps the toctree unnumbered and, once Sphinx has numbered the figures in reading
order, renumbers those of every page named ``chapters/NN_slug`` or ``chapters/AN_slug`` by its own prefix.
{numref} and the captions both read these numbers.
"""
import re

PAGE = re.compile(r"^chapters/(\d\d|A\d)_")


def chapter_label(docname: str):
    """'chapters/03_lstm' -> '3', 'chapters/A1_autodiff' -> 'A1', anything else -> None."""
    m = PAGE.match(docname)
    if not m:
        return None
    return m.group(1).lstrip("0") if m.group(1).isdigit() else m.group(1)


def renumber(app, env):
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        label = chapter_label(docname)
        if label is None:
            continue
        for numbers in by_type.values():
            ordered = sorted(numbers.items(), key=lambda item: item[1])       # Sphinx's reading order
            for k, (figure_id, old) in enumerate(ordered, start=1):
                if old != (label, k):
                    numbers[figure_id] = (label, k)
                    changed.append(docname)
    return sorted(set(changed))


def setup(app):
    app.connect("env-get-updated", renumber, priority=900)                 # after Sphinx's own numbering
    return {"parallel_read_safe": True, "parallel_write_safe": True}
