"""An incremental book build is correct: adding, changing or withdrawing one evaluation reaches every page
that lists or links it (the navigation on every page, the toolkit, the measure pages, the gap map), and
pages it does not touch are neither read again nor written again.

The library is three evaluations cloned from one sample record (ids and titles changed), published with
the functions the evidence_page and evidence_book assets call; each step is one incremental Sphinx build.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from evaluations.publish import book
from evaluations.registry import DEFAULT_REGISTRY
from tests.conftest import copy_book_sources, pipeline_record

SPECIAL_PAGES = {"genindex.html", "search.html", "index.html"}  # Sphinx writes these on every build; index redirects


@pytest.fixture(scope="module")
def base_record():
    return pipeline_record(DEFAULT_REGISTRY / "school-linking-2024").record


def clone(record, n: int, title: str | None = None):
    return record.model_copy(update={"id": f"evaluation-{n}", "title": title or f"Evaluation number {n}"})


def publish(records, book_dir: Path, write: list | None = None) -> None:
    """What a run does: write the pages of the evaluations that ran, remove withdrawn ones, build the book."""
    for record in records if write is None else write:
        book.write_evaluation(record, book_dir)
    book.remove_stale({r.id for r in records}, book_dir)
    _, skipped = book.publish(records, {}, book_dir)
    assert skipped == {}


def html_pages(book_dir: Path) -> dict[str, Path]:
    html = book_dir / "_build" / "html"
    return {p.relative_to(html).as_posix(): p for p in html.rglob("*.html")
            if p.name not in SPECIAL_PAGES and "_static" not in p.parts}


def stamps(folder: Path, pattern: str) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob(pattern)}


def part(html: str, start: str, end: str) -> str:
    return html[html.index(start):html.index(end, html.index(start))]


def sidebar(html: str) -> str:
    return part(html, '<nav class="bd-links bd-docs-nav"', "</nav>")


def article(html: str) -> str:
    return part(html, '<article class="bd-article">', "</article>")


def links_to(html: str, evaluation_id: str) -> bool:
    return re.search(rf'href="(?:[^"]*/)?{evaluation_id}\.html"', html) is not None  # from a sibling: no folder


def written_since(before: dict[str, int], html: Path) -> set[str]:
    return {k for k, v in stamps(html, "*.html").items() if before.get(k) != v} - SPECIAL_PAGES


def shows_old_title(html: str) -> bool:
    return re.search(r"Evaluation number 2(?! \(revised title\))", html) is not None


def test_adding_changing_and_withdrawing_one_evaluation_updates_every_page_listing_it_and_nothing_else(
        base_record, tmp_path):
    book_dir = copy_book_sources(tmp_path / "book")
    html = book_dir / "_build" / "html"
    doctrees = book_dir / "_build" / ".doctrees"
    library = [clone(base_record, n) for n in (1, 2, 3)]
    publish(library, book_dir)
    pages = html_pages(book_dir)
    measure_pages = {name for name, p in pages.items() if name.startswith("generated/measures/")
                     and links_to(article(p.read_text(encoding="utf-8")), "evaluation-1")}
    assert measure_pages  # the sample's outcomes have measure pages that list its evaluations
    lists_evaluations = {"generated/toolkit.html", "generated/gap_map.html", *measure_pages}
    # the sidebar lists the book's sections only (book/_config.yml); if it listed evaluations, the checks
    # below that every page's navigation lists the new one would bite on every page
    in_sidebar = {name for name, p in pages.items() if links_to(sidebar(p.read_text(encoding="utf-8")), "evaluation-1")}

    # Add one (it comes last: after evaluation-3, before the gap map, in the reading order)
    read_before, written_before = stamps(doctrees, "*.doctree"), stamps(html, "*.html")
    added = clone(base_record, 4)
    library.append(added)
    publish(library, book_dir, write=[added])
    pages = html_pages(book_dir)
    assert sorted(n for n in pages if n.startswith("generated/evaluations/")) == [
        f"generated/evaluations/evaluation-{n}.html" for n in (1, 2, 3, 4)]
    text = {name: p.read_text(encoding="utf-8") for name, p in pages.items()}
    for name in lists_evaluations:
        assert links_to(article(text[name]), "evaluation-4"), name
    for name in in_sidebar - {"generated/evaluations/evaluation-4.html"}:  # a page links itself as "#"
        assert links_to(sidebar(text[name]), "evaluation-4"), name
    assert links_to(part(text["generated/evaluations/evaluation-3.html"], '<div class="prev-next-area">', "</footer>"),
                    "evaluation-4")  # its "next" link
    written = written_since(written_before, html)
    neighbours = {"generated/evaluations/evaluation-3.html", "generated/gap_map.html"}
    root = {"intro.html"}  # Sphinx writes the root page on every build that writes anything
    assert {"generated/evaluations/evaluation-4.html", *lists_evaluations, *neighbours} <= written
    assert written <= {"generated/evaluations/evaluation-4.html", *lists_evaluations, *neighbours, *root,
                       "generated/measures.html", *in_sidebar}, written
    assert not written & {"generated/evaluations/evaluation-1.html", "methods.html", "glossary.html"} - in_sidebar
    read_again = {k for k, v in stamps(doctrees, "*.doctree").items() if read_before.get(k) != v}
    # read again: the new page and the library pages whose content lists it; not the other evaluations
    # nor the measure pages of outcomes it does not have, nor the book's own pages
    assert {"generated/evaluations/evaluation-4.doctree", "generated/toolkit.doctree",
            "generated/gap_map.doctree"} <= read_again
    assert read_again <= {"generated/evaluations/evaluation-4.doctree", "generated/measures.doctree",
                          *(name.replace(".html", ".doctree") for name in lists_evaluations)}, read_again

    # Change one without touching what other pages show of it (its run id is on its own page only):
    # only its page is written, with the toolkit that lists it (and the root page)
    written_before = stamps(html, "*.html")
    library[0] = library[0].model_copy(update={"provenance": library[0].provenance.model_copy(update={"run_id": "run-2"})})
    publish(library, book_dir, write=[library[0]])
    assert written_since(written_before, html) == {"generated/evaluations/evaluation-1.html", "generated/toolkit.html",
                                                   *root}
    assert "run-2" in pages["generated/evaluations/evaluation-1.html"].read_text(encoding="utf-8")

    # Change its title: no page shows the old title any more (lists, sidebar, previous/next links),
    # and the pages that neither list it nor neighbour it are not written
    written_before = stamps(html, "*.html")
    library[1] = clone(base_record, 2, title="Evaluation number 2 (revised title)")
    publish(library, book_dir, write=[library[1]])
    pages = html_pages(book_dir)
    assert [name for name, p in pages.items() if shows_old_title(p.read_text(encoding="utf-8"))] == []
    for name in lists_evaluations:
        assert "Evaluation number 2 (revised title)" in article(pages[name].read_text(encoding="utf-8")), name
    written = written_since(written_before, html)
    assert {"generated/evaluations/evaluation-1.html", "generated/evaluations/evaluation-3.html"} <= written  # neighbours
    assert not written & {"generated/evaluations/evaluation-4.html", "methods.html"} - in_sidebar

    # Withdraw one: no page links it, and its page, source copy, figures and downloads are gone
    written_before = stamps(html, "*.html")
    withdrawn = library.pop(2)
    publish(library, book_dir, write=[])
    written = written_since(written_before, html)
    assert {"generated/evaluations/evaluation-2.html", "generated/evaluations/evaluation-4.html"} <= written  # neighbours
    # figure numbers are per page (Sphinx's book-wide numfig is off), so later pages are not renumbered
    assert written <= {"generated/evaluations/evaluation-2.html", "generated/evaluations/evaluation-4.html",
                       *lists_evaluations, *root, "generated/measures.html", *in_sidebar}, written
    pages = html_pages(book_dir)
    assert "generated/evaluations/evaluation-3.html" not in pages
    assert [name for name, p in pages.items() if links_to(p.read_text(encoding="utf-8"), withdrawn.id)] == []
    assert [p.relative_to(html).as_posix() for p in html.rglob(f"*{withdrawn.id}*")] == []
    assert withdrawn.id not in (html / "searchindex.js").read_text(encoding="utf-8")
    assert links_to(part(pages["generated/evaluations/evaluation-2.html"].read_text(encoding="utf-8"),
                         '<div class="prev-next-area">', "</footer>"), "evaluation-4")  # next skips the withdrawn one


def test_a_page_written_again_with_the_same_bytes_keeps_its_file_and_time(tmp_path):
    # Sphinx reads a source again when its modification time moves: an unchanged page must not move it
    from evaluations.files import write_text_atomic

    page = write_text_atomic(tmp_path / "page.md", "# A page\n", keep_identical=True)
    before = page.stat()
    write_text_atomic(page, "# A page\n", keep_identical=True)
    assert (page.stat().st_ino, page.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    write_text_atomic(page, "# A page, changed\n", keep_identical=True)
    changed = page.stat()
    assert page.read_text() == "# A page, changed\n" and changed.st_ino != before.st_ino
    write_text_atomic(page, "# A page, changed\n")  # without keep_identical: replaced as before
    assert page.stat().st_ino != changed.st_ino
    assert list(tmp_path.iterdir()) == [page]  # no temporary file left behind
