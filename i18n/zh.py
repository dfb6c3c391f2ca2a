"""The Chinese edition's two commands (run from the repository root; `make catalogs` and `make book` call them).

    python i18n/zh.py catalogs   extract the English messages (Sphinx's gettext builder) and merge them into
                                 locale/zh_CN/LC_MESSAGES/<page>.po, one catalog per page of _toc.yml
    python i18n/zh.py build      build the Chinese edition into _build/html/zh_CN (after the English build)

Both read the book's own _config.yml with _config_zh.yml laid over it, so the two editions never drift apart.
A changed English paragraph becomes a fuzzy entry whose previous English is kept (`#| msgid`), so a translator
sees what changed; the Chinese page shows the new English there until the entry is translated again.
"""
import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

import yaml
from babel.messages.pofile import read_po, write_po

ROOT = pathlib.Path(__file__).resolve().parents[1]
LANG = "zh_CN"
CATALOGS = ROOT / "locale" / LANG / "LC_MESSAGES"
HEADER = """# Chinese translation of the page {page} of "Recurrent Neural Networks from Scratch".
# Update with `make catalogs` after an English change; see the README's section on the Chinese edition."""
# Pages that stay English in the Chinese edition: no catalog is made for them.
ENGLISH_ONLY = {"chapters/api"}
# For extraction only: myst-nb renders no output under the gettext builder unless told which MIME types to keep,
# and without the rendered figures their alt texts would not be extracted (first in the list: chosen first).
GETTEXT_MIME = [["gettext", mime, 10 + k] for k, mime in enumerate(
    ["application/vnd.jupyter.widget-view+json", "text/html", "image/svg+xml", "image/png", "image/jpeg",
     "text/markdown", "text/latex", "text/plain"])]


def merged(base: dict, over: dict) -> dict:
    """`base` with `over` laid over it, dictionaries merged key by key (lists are replaced)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def edition_config(book: pathlib.Path, extraction: bool = False) -> dict:
    """The Chinese edition's configuration: the book's _config.yml with its _config_zh.yml laid over it.

    With `extraction`, the configuration the gettext builder needs: English, with the catalog layout of the
    Chinese edition (one catalog per page) and the notebooks' outputs kept, so figure captions are extracted.
    Paths a configuration holds relative to its own folder are made absolute (the merged file lives elsewhere).
    """
    config = merged(yaml.safe_load((book / "_config.yml").read_text()),
                    yaml.safe_load((book / "_config_zh.yml").read_text()))
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {name: str((book / path).resolve())
                                  for name, path in (sphinx.get("local_extensions") or {}).items()}
    conf = sphinx.setdefault("config", {})
    search = conf.get("html_search_options") or {}
    if "dict" in search:
        search["dict"] = str((book / search["dict"]).resolve())
    if extraction:
        for key in ("language", "locale_dirs", "html_search_options"):
            conf.pop(key, None)
        conf["nb_mime_priority_overrides"] = conf.get("nb_mime_priority_overrides", []) + GETTEXT_MIME
    return config


def jupyter_book(book: pathlib.Path, config: dict, out: pathlib.Path, *args: str) -> None:
    """Run `jupyter-book build` on `book` with `config`, writing into `out`; exit with its status on failure."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "_config.yml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
        jb = pathlib.Path(sys.executable).with_name("jupyter-book")
        cmd = [str(jb), "build", str(book), "--config", str(path), "--path-output", str(out), *args]
        proc = subprocess.run(cmd)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd[:3])} ... failed with status {proc.returncode}")


def toc_pages(toc: pathlib.Path) -> list[str]:
    """The pages of a table of contents, in order."""
    data = yaml.safe_load(toc.read_text())
    pages = [data["root"]]
    for part in data.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


def extract(book: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    """Extract the English messages of `book` into .pot files under `out`; returns their folder."""
    jupyter_book(book, edition_config(book, extraction=True), out, "--builder", "custom",
                 "--custom-builder", "gettext", "--keep-going")
    return out / "_build" / "gettext"


def update_catalog(pot: pathlib.Path, po: pathlib.Path, page: str) -> None:
    """Merge the template `pot` into the catalog `po` of `page` (created when missing).

    Translations of unchanged messages are kept; a message whose English changed keeps its old translation,
    marked fuzzy, with the previous English beside it. Messages no longer in the English are dropped.
    """
    with pot.open("rb") as f:
        template = read_po(f)
    if po.exists():
        with po.open("rb") as f:
            catalog = read_po(f, locale=LANG)
        catalog.update(template, update_header_comment=False, update_creation_date=False)
    else:
        with pot.open("rb") as f:
            catalog = read_po(f, locale=LANG)
        catalog.fuzzy = False
    catalog.header_comment = HEADER.format(page=page)
    catalog.project, catalog.version = "rnnbook", ""
    catalog.last_translator = catalog.language_team = "rnnbook <https://github.com/rnnbook/rnnbook>"
    write_catalog(catalog, po)


def write_catalog(catalog, po: pathlib.Path) -> None:
    """Write a catalog the way `make catalogs` always does (no line wrapping, previous English kept)."""
    for message in catalog:
        # Babel marks messages with braces ({ref}`...`) as Python format strings whenever it reads a catalog:
        # they are MyST roles.
        message.flags -= {"python-format", "python-brace-format"}
    po.parent.mkdir(parents=True, exist_ok=True)
    with po.open("wb") as f:
        write_po(f, catalog, width=0, include_previous=True, ignore_obsolete=True, sort_output=False)


def share_translations(catalog_dir: pathlib.Path, pages: list[str]) -> None:
    """Fill an untranslated message from another page whose catalog translates the same English (an exercise
    page and its solutions share most of their prose); a comment names the page it came from."""
    catalogs, known = {}, {}
    for page in pages:
        with (catalog_dir / f"{page}.po").open("rb") as f:
            catalogs[page] = read_po(f)
        for message in catalogs[page]:
            if message.id and message.string and not message.fuzzy:
                known.setdefault(message.id, (message.string, page))
    for page, catalog in catalogs.items():
        shared = [m for m in catalog if m.id and not m.string and m.id in known]
        for message in shared:
            message.string, source = known[message.id]
            message.auto_comments = [f"same English as in {source}; translation copied from there"]
        if shared:
            write_catalog(catalog, catalog_dir / f"{page}.po")


def counts(po: pathlib.Path) -> dict:
    """Messages, translated (not fuzzy), fuzzy and untranslated in one catalog."""
    with po.open("rb") as f:
        catalog = read_po(f)
    messages = [m for m in catalog if m.id]
    fuzzy = sum(m.fuzzy and bool(m.string) for m in messages)
    done = sum(bool(m.string) and not m.fuzzy for m in messages)
    return {"messages": len(messages), "translated": done, "fuzzy": fuzzy,
            "untranslated": len(messages) - done - fuzzy}


def catalogs(book: pathlib.Path = ROOT, catalog_dir: pathlib.Path = CATALOGS) -> dict:
    """Extract and merge: one catalog per page of the English table of contents (English-only pages apart);
    returns the counts of each."""
    pages = [p for p in toc_pages(book / "_toc.yml") if p not in ENGLISH_ONLY]
    with tempfile.TemporaryDirectory() as tmp:
        pots = extract(book, pathlib.Path(tmp))
        for page in pages:
            update_catalog(pots / f"{page}.pot", catalog_dir / f"{page}.po", page)
    share_translations(catalog_dir, pages)
    for stale in sorted(catalog_dir.rglob("*.po")):
        if stale.relative_to(catalog_dir).with_suffix("").as_posix() not in pages:
            print(f"removing {stale.relative_to(book)}: its page is no longer in _toc.yml")
            stale.unlink()
    return {page: counts(catalog_dir / f"{page}.po") for page in pages}


def build(book: pathlib.Path = ROOT, out: pathlib.Path | None = None) -> pathlib.Path:
    """Build the Chinese edition (-W -n --keep-going) and place it at <out>/html/zh_CN; returns that folder."""
    out = out or book / "_build"
    work = out / "zh_CN"
    jupyter_book(book, edition_config(book), work, "--toc", str(book / "_toc_zh.yml"), "-W", "-n", "--keep-going")
    target = out / "html" / LANG
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(work / "_build" / "html", target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["catalogs", "build"])
    parser.add_argument("--out", type=pathlib.Path, help="build folder (build only; default: _build)")
    args = parser.parse_args()
    if args.command == "catalogs":
        result = catalogs()
        width = max(map(len, result))
        print(f"{'page':{width}}  messages  translated  fuzzy")
        for page, c in result.items():
            print(f"{page:{width}}  {c['messages']:8}  {c['translated']:10}  {c['fuzzy']:5}")
        print(f"catalogs in {CATALOGS.relative_to(ROOT)}: {sum(c['messages'] for c in result.values())} messages")
    else:
        print(f"Chinese edition: {build(out=args.out)}")


if __name__ == "__main__":
    main()
