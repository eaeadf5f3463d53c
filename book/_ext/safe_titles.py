"""Page and section titles reach the theme and the search page as text, escaped.

Titles can hold a charity's words (an evaluation's title is the first heading of its page),
and two places in the stack use a title's plain text as HTML:

- sphinx-book-theme puts `title.astext()` into the template context as `pagetitle` (and
  `page_description`), and its print header writes `<h1>{{ pagetitle }}</h1>` unescaped;
- Sphinx's search index stores every section title as plain text (`alltitles` in
  searchindex.js) and searchtools.js shows a matching title with `innerHTML`.

This extension escapes the first after the theme has set it, and rewrites the search index
once the build has written it. Sphinx reads the previous searchindex.js back on an
incremental build, so a title is unescaped before it is escaped: the result is the same
after any number of builds (a title that itself contains entity text such as "&lt;" is
shown in search results as "<", which is still text).
"""
import json
from html import escape, unescape
from pathlib import Path

PREFIX, SUFFIX = "Search.setIndex(", ")"


def _escape_titles(app, pagename, templatename, context, doctree):
    for key in ("pagetitle", "page_description", "root_title"):
        if isinstance(context.get(key), str):
            context[key] = escape(context[key], quote=True)


def _escape_search_index(app, exception):
    path = Path(app.outdir) / "searchindex.js"
    if exception is not None or app.builder.format != "html" or not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    if not (text.startswith(PREFIX) and text.rstrip().endswith(SUFFIX)):
        raise RuntimeError(f"{path}: unexpected search index format; cannot escape its titles")
    index = json.loads(text[len(PREFIX):text.rstrip().rindex(SUFFIX)])

    def safe(title: str) -> str:
        return escape(unescape(title), quote=True)
    index["alltitles"] = {safe(t): v for t, v in index.get("alltitles", {}).items()}
    index["titles"] = [escape(unescape(t), quote=False) for t in index.get("titles", [])]  # already HTML: normalised
    tmp = path.with_suffix(".js.tmp")
    tmp.write_text(PREFIX + json.dumps(index, separators=(",", ":"), ensure_ascii=False, sort_keys=True) + SUFFIX,
                   encoding="utf-8")
    tmp.replace(path)


def setup(app):
    app.connect("html-page-context", _escape_titles, priority=900)  # the theme's handler runs at 500
    app.connect("build-finished", _escape_search_index)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
