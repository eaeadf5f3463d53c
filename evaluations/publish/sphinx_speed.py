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

And two costs that are linear in pages but spent for nothing (benchmarks/README.md, the library of 300):

- **Post-transforms with nothing to do.** Before each page is written, some twenty post-transforms
  each walk its whole tree looking for their own kind of node: code blocks to highlight, notebook
  outputs, :kbd: keys, `only` blocks, object descriptions. A page has few of these kinds, so one walk
  notes which kinds it has (`_kinds`) and a transform that looks only for kinds the page lacks is not
  run (`_GATES`); it would have found nothing and changed nothing. The walk is made before any
  post-transform runs, and the transforms that run before a gated one make none of the kinds it
  looks for, except the notebook ones (myst-nb), which can make any node: a page with a notebook's
  nodes has every post-transform run.
- **Templates rendered twice.** For each page the theme renders every sidebar and header template once
  just to drop those that come out empty, then again in the page. The book theme's sidebar navigation
  and article header buttons are wrapped in markup outside any condition, so are never empty: the theme
  is told to skip that check for them, as it does for its own navigation (`_NEVER_EMPTY`).

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
_PARENT: dict = {}  # {"of": env.toctree_includes, "map": {child: parent}}


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


def _parents(env) -> dict[str, str]:
    """{document: the document whose table of contents includes it}, made once per reading."""
    if _PARENT.get("of") is not env.toctree_includes:
        _PARENT.clear()
        _PARENT["of"] = env.toctree_includes
        _PARENT["map"] = {child: doc for doc, children in env.toctree_includes.items() for child in children}
    return _PARENT["map"]


def _ancestors(env, docname: str) -> list[str]:
    """The documents whose tables of contents lead to `docname`, nearest first, up to the root."""
    parent = _parents(env)
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
    _PARENT.clear()
    return []


def remember_stems(app) -> None:
    """One stemming memo for the whole build (Sphinx's own lasts one page). The indexer exists once Sphinx
    prepares writing; from the first page written on, every page's words go through the memo."""
    indexer = getattr(app.builder, "indexer", None)
    lang = getattr(indexer, "lang", None)
    if lang is None or getattr(lang.stem, "__wrapped__", None) is not None:
        return
    lang.stem = functools.lru_cache(maxsize=200_000)(lang.stem)


# The kinds of node each post-transform looks for (class names as registered, module.qualname): when
# a page has none, the transform would find nothing to change. Checked against the transforms' code
# (Sphinx 7.4, myst-nb 1.x): each only walks the tree for these kinds.
_NOTEBOOK = "notebook"  # a node made by myst-nb from a notebook: its post-transforms can make any node
_KBD = "kbd"  # a literal of the :kbd: role
_GATES = {
    "sphinx.transforms.post_transforms.code.HighlightLanguageTransform": ("literal_block", "highlightlang"),
    "sphinx.transforms.post_transforms.code.TrimDoctestFlagsTransform": ("literal_block", "doctest_block"),
    "sphinx.builders.html.transforms.KeyboardTransform": (_KBD,),
    "sphinx.transforms.post_transforms.OnlyNodeTransform": ("only",),
    "sphinx.transforms.post_transforms.PropagateDescDomain": ("desc_signature",),
    "myst_nb.sphinx_.SelectMimeType": (_NOTEBOOK,),
    "myst_nb.sphinx_.HideInputCells": (_NOTEBOOK,),
    "myst_nb.ext.execution_tables.ExecutionStatsPostTransform": (_NOTEBOOK,),
    "myst_nb.ext.glue.crossref.ReplacePendingGlueReferences": (_NOTEBOOK,),
}
_NOTEBOOK_NODES = ("PendingGlueReference", "ExecutionStatsNode")
_KINDS: dict = {}  # {id(document): (document, its kinds)} while the document's post-transforms run


def _kinds(document) -> set:
    """The kinds of node in a page, as `_GATES` names them: each class and its bases' names, and flags."""
    from docutils import nodes

    classes, flags = set(), set()
    for node in document.findall(nodes.Element):
        classes.add(node.__class__)
        if "nb_element" in node.attributes:
            flags.add(_NOTEBOOK)
        elif isinstance(node, nodes.literal) and "kbd" in node["classes"]:
            flags.add(_KBD)
    names = {base.__name__ for cls in classes for base in cls.__mro__}
    if names.intersection(_NOTEBOOK_NODES):
        flags.add(_NOTEBOOK)
    return names | flags


def _gated(transform, kinds_needed: tuple[str, ...]):
    """`transform`, not run on a page that has none of `kinds_needed` (nor any notebook node)."""
    def apply(self, **kwargs):
        known = _KINDS.get(id(self.document))
        if known is not None and known[0] is self.document:
            kinds = known[1]
            if _NOTEBOOK not in kinds and not kinds.intersection(kinds_needed):
                return
        transform.apply(self, **kwargs)
    return type(transform.__name__, (transform,), {"apply": apply, "__module__": transform.__module__,
                                                   "__qualname__": transform.__qualname__, "__doc__": transform.__doc__,
                                                   "gated_on": kinds_needed})


def gate_post_transforms(app) -> None:
    """Put the gated transforms in the registry in place of their originals (their order is kept) and
    the walk that notes a page's kinds before all of them. Run when the builder is set up: the theme
    adds its post-transforms then."""
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class NoteKinds(SphinxPostTransform):
        """Note the kinds of node of the page before any other post-transform runs."""
        default_priority = 0

        def run(self, **kwargs):
            _KINDS[id(self.document)] = (self.document, _kinds(self.document))

    transforms = app.registry.post_transforms
    for i, transform in enumerate(transforms):
        kinds_needed = _GATES.get(f"{transform.__module__}.{transform.__qualname__}")
        if kinds_needed is not None and "gated_on" not in vars(transform):
            transforms[i] = _gated(transform, kinds_needed)
    if not any(t.__name__ == "NoteKinds" for t in transforms):
        transforms.insert(0, NoteKinds)


def forget_kinds(app, doctree, docname) -> None:
    """The page's post-transforms are done."""
    _KINDS.pop(id(doctree), None)


# Templates the theme need not render to see whether they are empty: each is markup outside any condition
# (sphinx-book-theme 1.x, components/)
_NEVER_EMPTY = ["sbt-sidebar-nav.html", "article-header-buttons.html"]


def skip_empty_checks_of_never_empty_templates() -> None:
    """pydata-sphinx-theme renders each template of a page's sidebars and header once to drop those that
    come out empty (`_update_and_remove_templates`), except those it is told never are."""
    try:
        from pydata_sphinx_theme import utils
    except ImportError:
        return
    check = utils._update_and_remove_templates
    if getattr(check, "_never_empty", None) is not None:
        return

    @functools.wraps(check)
    def update_and_remove_templates(app, context, templates, section, templates_skip_empty_check=None):
        return check(app, context, templates, section, [*(templates_skip_empty_check or []), *_NEVER_EMPTY])
    update_and_remove_templates._never_empty = _NEVER_EMPTY
    utils._update_and_remove_templates = update_and_remove_templates


def setup(app):
    app.connect("env-updated", forget)
    app.connect("html-page-context", cheap_titles_only_toctree)
    app.connect("builder-inited", gate_post_transforms, priority=900)
    app.connect("doctree-resolved", forget_kinds)
    skip_empty_checks_of_never_empty_templates()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
