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
