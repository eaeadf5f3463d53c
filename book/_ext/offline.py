"""Keep the book offline: drop the Thebe (live code) scripts Jupyter Book 1 always adds.

They declare a CDN address for Thebe (unpkg.com) and are added twice, which is a JavaScript
error on every page. The book has no live code, so nothing is lost.
"""


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [
            s for s in scripts
            if "thebe" not in str(getattr(s, "filename", s) or "").lower()
            and "THEBE" not in str(getattr(s, "attributes", {}).get("body", ""))
        ]


def setup(app):
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
