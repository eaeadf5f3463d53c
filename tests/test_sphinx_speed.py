"""evaluations/publish/sphinx_speed.py changes how fast the book is built, never what it shows: the sample
library's book built without it is the same, byte for byte, in every HTML page and the search index."""
from __future__ import annotations

import shutil
import subprocess
import sys

EXTENSION = "evaluations.publish.sphinx_speed"


def _files(html) -> dict[str, bytes]:
    return {str(p.relative_to(html)): p.read_bytes() for p in sorted(html.rglob("*"))
            if p.suffix in (".html", ".js") and p.is_file() and "_static" not in p.parts}


def test_the_book_built_without_the_speed_extension_is_the_same(published_library, tmp_path):
    book = tmp_path / "book"
    shutil.copytree(published_library["book"], book, ignore=shutil.ignore_patterns("_build"))
    config = (book / "_config.yml").read_text(encoding="utf-8")
    assert f", {EXTENSION}]" in config
    (book / "_config.yml").write_text(config.replace(f", {EXTENSION}]", "]"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "evaluations.publish.parallel_build", "build", str(book),
                           "--warningiserror", "--quiet", "--keep-going"], capture_output=True, text=True,
                          cwd=book, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with_extension, without = _files(published_library["html"]), _files(book / "_build" / "html")
    assert "searchindex.js" in without and len([p for p in without if p.startswith("generated/evaluations/")]) >= 6
    assert with_extension.keys() == without.keys()
    assert [p for p in without if with_extension[p] != without[p]] == []


def test_every_gated_post_transform_and_never_empty_template_is_where_the_extension_expects_it():
    """The extension skips a post-transform by its module and name, and a theme template's emptiness check by
    the template's name: after an upgrade renames one, the skip would silently stop (the build slower, the
    same). This says so instead."""
    import importlib
    from pathlib import Path

    import sphinx_book_theme

    from evaluations.publish import sphinx_speed

    for name in sphinx_speed._GATES:
        module, _, qualname = name.rpartition(".")
        assert hasattr(importlib.import_module(module), qualname), name
    theme = Path(sphinx_book_theme.__file__).parent / "theme" / "sphinx_book_theme" / "components"
    for template in sphinx_speed._NEVER_EMPTY:
        text = (theme / template).read_text(encoding="utf-8")
        before, first_tag = text[:text.index("<")], text[text.index("<"):]
        # the template opens with an element, under no condition (an import may come first): never empty
        assert first_tag.startswith(("<nav", "<div")) and " if " not in before and "-if " not in before, template
