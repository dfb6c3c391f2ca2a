"""The book's Sphinx extension for its two editions (English, and Chinese built from gettext catalogs).

- A language switch in the header of every page links to the same page in the other edition (the Chinese
  edition lives in the `zh_CN/` folder of the English one; a page only one edition has links to the other
  edition's first page).
- Glue in translated messages: myst-nb resolves `{glue:text}` while it parses a notebook and forgets the glued
  data afterwards, so a translated sentence, parsed later on its own, loses its numbers ("No key ... found in
  glue data"). The notebook's glue data is kept for the translation of that same page.
- Translated headings that start with a number ("1. 循环神经网络") would parse as a list item and silently stay
  English; their list marker is escaped before the heading is parsed.

Written for the pinned Sphinx 7.4 and myst-nb 1.4: `setup` lists the functions of theirs it wraps.
"""
import pathlib
import re

import sphinx.transforms.i18n
from myst_nb import sphinx_ as mystnb_sphinx
from myst_nb.ext.glue import directives as glue_directives, roles as glue_roles, utils as glue_utils

TEMPLATES = str(pathlib.Path(__file__).resolve().parent / "templates")
# Where the Chinese edition sits inside the English one, and what each switch says.
ZH_FOLDER = "zh_CN"
LABELS = {"en": ("中文", "zh-CN", "阅读本页的中文版"), "zh": ("English", "en", "Read this page in English")}
# Only-Chinese pages (the glossary) live under locale/: they have no English page.
ONLY_ZH = "locale/"

# myst-nb's notebook renderer of the page being read: (docname, renderer). One page is read at a time.
_current = {"docname": None, "renderer": None}
_load_renderer = mystnb_sphinx.load_renderer
_retrieve_glue_data = glue_utils.retrieve_glue_data
_publish_msgstr = sphinx.transforms.i18n.publish_msgstr


def load_renderer(name):
    """myst-nb's renderer class, made to remember the renderer it creates for the page being read."""
    base = _load_renderer(name)

    class Remembered(base):
        def __init__(self, renderer, logger):
            super().__init__(renderer, logger)
            _current.update(docname=logger.extra["docname"], renderer=self)

    return Remembered


def retrieve_glue_data(document, key):
    """myst-nb's glue lookup; in a translated message, it looks in the glue data of the page it translates."""
    env = getattr(document.settings, "env", None)
    translated = str(document.current_source or document.get("source", "")).endswith("<translated>")
    if "nb_renderer" not in document and translated and env is not None and _current["docname"] == env.docname:
        return _retrieve_glue_data({"nb_renderer": _current["renderer"]}, key)
    return _retrieve_glue_data(document, key)


# A block marker at the start of a line: "1." or "1)" before a space (ordered list), "-", "+", "*" (bullet
# list), ">" (quote) or "#" (heading) followed by a space.
BLOCK_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^([-+*>#])(?=\s|$)")


def escape_block_start(text: str) -> str:
    """`text` with a leading block marker escaped, so it parses as inline text ("1\\. 循环神经网络")."""
    return BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text, count=1)


def publish_msgstr(app, source, source_path, source_line, config, settings):
    """Sphinx's parser of a translated message; a heading's text is protected from being read as a list."""
    title, _, underline = source.partition("\n")
    if title and underline == "=" * (2 * len(title)):      # how Sphinx 7 hands a translated heading over
        source = escape_block_start(title) + "\n" + "=" * (2 * len(title))
    return _publish_msgstr(app, source, source_path, source_line, config, settings)


def edition(config) -> str:
    return "zh" if (config.language or "en").lower().startswith("zh") else "en"


def add_switch(app, config):
    """Put the language switch first in the header's buttons (sphinx-book-theme's `article_header_end`)."""
    config.templates_path = list(config.templates_path) + [TEMPLATES]
    options = dict(config.html_theme_options or {})
    end = options.get("article_header_end") or ["article-header-buttons.html"]
    end = [end] if isinstance(end, str) else list(end)
    if "language-switch.html" not in end:
        options["article_header_end"] = ["language-switch.html"] + end
    config.html_theme_options = options


def switch_context(app, pagename, templatename, context, doctree):
    """The switch's link: the same page in the other edition (or that edition's first page)."""
    here = edition(app.config)
    up = "../" * pagename.count("/")
    target = pagename
    if here == "zh":
        if pagename.startswith(ONLY_ZH):
            target = app.config.root_doc
        url = up + "../" + target + ".html"
    else:
        url = up + ZH_FOLDER + "/" + target + ".html"
    label, hreflang, title = LABELS[here]
    context["language_switch"] = {"url": url, "label": label, "hreflang": hreflang, "title": title}


def setup(app):
    # The Sphinx and myst-nb functions this extension wraps (module attributes, looked up at call time).
    mystnb_sphinx.load_renderer = load_renderer
    glue_roles.retrieve_glue_data = retrieve_glue_data
    glue_directives.retrieve_glue_data = retrieve_glue_data
    sphinx.transforms.i18n.publish_msgstr = publish_msgstr
    app.connect("config-inited", add_switch)
    app.connect("html-page-context", switch_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
