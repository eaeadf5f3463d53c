"""Sphinx extension: a page whose navigation changed is written again, and no other page.

Sphinx writes a page again when its own source changed (and the pages whose table of contents
names a changed page). But the navigation on every page is rendered when that page is written:
the sidebar (sphinx-book-theme shows the whole table of contents, to `max_navbar_depth`) and the
previous/next links. Adding, withdrawing or retitling one evaluation therefore left every other
page listing the old set of evaluations.

After Sphinx has read the changed sources, this compares what each page's navigation shows with
what it showed at the last build, and asks Sphinx (`env-get-updated`) to write exactly the pages
whose navigation differs: every page when the sidebar's entries changed, otherwise the pages
whose previous/next neighbour or its title changed. What the last build showed is kept in the
pickled build environment, so it is as old as the HTML Sphinx last wrote.

Sphinx also never deletes what it wrote for a page whose source is gone, so a withdrawn
evaluation's HTML, its copied source and the figures and downloads only it used would stay
published; they are deleted when Sphinx notices the source is gone.
"""
from __future__ import annotations

from pathlib import Path

THEME_DEFAULT_DEPTH = 4  # sphinx-book-theme's max_navbar_depth when the book does not set it
STATE = "commonground_navigation"  # attribute of the build environment


def _sidebar_depth(app) -> int:
    builder = app.builder
    try:
        options = builder.theme.get_options(builder.theme_options)
    except AttributeError:  # not an HTML builder: no sidebar, but be safe and count every level
        return 1_000
    return int(options.get("max_navbar_depth", THEME_DEFAULT_DEPTH))


def _title(env, docname: str | None) -> str | None:
    node = env.titles.get(docname) if docname else None
    return node.astext() if node is not None else None


def _toc_entries(env, root: str) -> list[tuple[str, int]]:
    """Every document in the table of contents with its depth, in reading order (as Sphinx walks it)."""
    seen, out, stack = set(), [], [(root, 0)]
    while stack:
        docname, depth = stack.pop()
        if docname in seen:
            continue
        seen.add(docname)
        out.append((docname, depth))
        stack.extend((child, depth + 1) for child in reversed(env.toctree_includes.get(docname, ())))
    return out


def navigation(app, env) -> tuple[tuple, dict[str, tuple]]:
    """The sidebar's entries (document, depth, title) and, per page, its parent, previous and next with titles."""
    depth = _sidebar_depth(app)
    sidebar = tuple((doc, d, _title(env, doc)) for doc, d in _toc_entries(env, app.config.root_doc) if d <= depth)
    pages = {doc: tuple((other, _title(env, other)) for other in relation)
             for doc, relation in env.collect_relations().items()}
    return sidebar, pages


def pages_with_new_navigation(app, env) -> list[str]:
    sidebar, pages = navigation(app, env)
    before = getattr(env, STATE, None)
    setattr(env, STATE, (sidebar, pages))
    if before is None or before[0] != sidebar:  # a first build writes every page anyway
        return sorted(env.found_docs)
    return sorted(doc for doc in env.found_docs if pages.get(doc) != before[1].get(doc))


def delete_output_of_removed_pages(app, env, added, changed, removed) -> list[str]:
    """The HTML, copied source, images and downloads of pages whose source is gone (before Sphinx forgets them)."""
    builder = app.builder
    if not removed or not hasattr(builder, "get_outfilename"):
        return []
    out = Path(builder.outdir)
    doomed = [Path(builder.get_outfilename(doc)) for doc in removed]
    for doc in removed:
        folder, name = (out / "_sources" / doc).parent, Path(doc).name
        doomed += [f for f in folder.glob(f"{name}.*") if f.name.startswith(name + ".")]
    # an image or download is deleted only when no remaining page uses it
    doomed += [out / builder.imagedir / unique for docs, unique in env.images.values() if docs and docs <= set(removed)]
    doomed += [out / "_downloads" / dest for docs, dest in env.dlfiles.values() if docs and docs <= set(removed)]
    for path in doomed:
        path.unlink(missing_ok=True)
        if path.parent.parent == out / "_downloads" and path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()
    return []


# Jupyter Book's own section-numbering extension says nothing about parallel builds, so Sphinx reads a book
# with it one page at a time (and warns, which --warningiserror turns into a failure). It only replaces how
# section numbers are assigned, which Sphinx does in the main process after every page is read and merged,
# so reading pages in parallel is safe with it.
SILENT_ON_PARALLEL = ("sphinx_multitoc_numbering",)


def setup(app):
    for name in SILENT_ON_PARALLEL:
        extension = app.extensions.get(name)
        if extension is not None and extension.parallel_read_safe is None:
            extension.parallel_read_safe = True
    app.connect("env-get-outdated", delete_output_of_removed_pages)
    app.connect("env-get-updated", pages_with_new_navigation)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
