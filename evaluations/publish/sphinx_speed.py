"""Sphinx extension: the same HTML, without the two costs that grow with the square of the library.

Both are in Sphinx and its theme, measured with cProfile on a 100-evaluation book built on one
process (benchmarks/README.md has the figures):

- **The sidebar's table of contents.** sphinx-book-theme asks Sphinx, on every page, for the whole
  book's table of contents with titles only, to one level (`max_navbar_depth`). Sphinx first copies
  every page's full table of contents, every section of every evaluation and measure page, and only
  then drops the sections (titles only) and the levels (depth). With n pages each of s sections
  that is n x n x s node copies per build. While the theme makes that call, this extension hands
  Sphinx the pages' tables of contents already reduced as `titles_only` reduces them (each page's
  title and the sub-tables it includes), so the copies are of titles; the result is the same tree.
  And a page deeper than the sidebar shows (an evaluation, a measure) gets the same sidebar as every
  other page with the same ancestors in the same folder: its own entry is cut off, and what Sphinx
  marks as current is its ancestors' entries; links are relative to the folder. So that sidebar is
  made once and reused, and a build resolves the whole table of contents a handful of times, not
  once per page.
- **The search index.** Sphinx stems every word of every page again for each page (its memo lives
  for one page). The words of a library's pages repeat, so the English stemmer gets a memo kept for
  the whole build. The stemmer is a pure function of the word, so the index is the same.

tests/test_sphinx_speed.py builds the book with and without this extension and compares every
HTML page and the search index byte for byte.
"""
from __future__ import annotations

import functools
import posixpath

# One build per process, so kept with the module (emptied when Sphinx has read the sources), not pickled
# with the build environment: {docname: (its table of contents, reduced)} and {sidebar key: its HTML}
_REDUCED: dict = {}
_SIDEBARS: dict = {}


def _reduced(toc):
    """What Sphinx's `titles_only` keeps of one page's table of contents: its top-level titles and, under
    each, the sub-tables of contents (toctree nodes) it includes (sphinx/environment/adapters/toctree.py,
    `_entries_from_toctree`)."""
    from sphinx import addnodes

    reduced = toc.deepcopy()
    for top_level in reduced.children:
        if len(top_level) > 1:
            if subtrees := list(top_level.findall(addnodes.toctree)):
                top_level[1][:] = subtrees
            else:
                top_level.pop(1)
    return reduced


def _titles_only_tocs(env) -> dict:
    """Every page's reduced table of contents, each made again only when its page's own changed."""
    tocs = {}
    for docname, toc in env.tocs.items():
        known = _REDUCED.get(docname)
        if known is None or known[0] is not toc:
            known = _REDUCED[docname] = (toc, _reduced(toc))
        tocs[docname] = known[1]
    return tocs


def _ancestors(env, docname: str) -> list[str]:
    """The documents whose tables of contents lead to `docname`, nearest first, up to the root."""
    parent = {child: doc for doc, children in env.toctree_includes.items() for child in children}
    chain, doc = [], docname
    while doc in parent and parent[doc] not in chain and parent[doc] != docname:
        doc = parent[doc]
        chain.append(doc)
    return chain


def _shared_sidebar_key(env, pagename: str, kwargs: dict):
    """The key under which a page's titles-only sidebar equals its siblings', or None if it may not."""
    maxdepth = int(kwargs.get("maxdepth") or 0)
    if maxdepth <= 0 or pagename not in env.tocs:
        return None
    chain = _ancestors(env, pagename)
    if not chain or chain[-1] != env.config.root_doc or len(chain) <= maxdepth:
        return None  # not in the table of contents, or shown in the sidebar itself
    return posixpath.dirname(pagename), tuple(chain), tuple(sorted(kwargs.items()))


def cheap_titles_only_toctree(app, pagename, templatename, context, doctree) -> None:
    """Wrap the page context's `toctree()` (the theme calls it when it renders the sidebar)."""
    remember_stems(app)
    full = context.get("toctree")
    if full is None:
        return
    env = app.env

    def toctree(**kwargs):
        if not kwargs.get("titles_only"):
            return full(**kwargs)
        key = _shared_sidebar_key(env, pagename, kwargs)
        if key is not None and key in _SIDEBARS:
            return _SIDEBARS[key]
        tocs = env.tocs
        env.tocs = _titles_only_tocs(env)
        try:
            html = full(**kwargs)
        finally:
            env.tocs = tocs
        if key is not None:
            _SIDEBARS[key] = html
        return html

    context["toctree"] = toctree


def forget(app, env) -> list[str]:
    """A new reading, a new table of contents."""
    _REDUCED.clear()
    _SIDEBARS.clear()
    return []


def remember_stems(app) -> None:
    """One stemming memo for the whole build (Sphinx's own lasts one page). The indexer exists once Sphinx
    prepares writing; from the first page written on, every page's words go through the memo."""
    indexer = getattr(app.builder, "indexer", None)
    lang = getattr(indexer, "lang", None)
    if lang is None or getattr(lang.stem, "__wrapped__", None) is not None:
        return
    lang.stem = functools.lru_cache(maxsize=200_000)(lang.stem)


def setup(app):
    app.connect("env-updated", forget)
    app.connect("html-page-context", cheap_titles_only_toctree)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
