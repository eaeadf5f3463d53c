"""User text is text: the escaping functions, checked against the real MyST parser for any input.

The hostile-registration corpus (tests/test_hostile_registrations.py) checks known attacks on
the built book; these tests check the mechanism itself: whatever a charity writes, the
parser the book uses reads back exactly that text and nothing else.
"""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

from evaluations.publish.text import cell, html, md, md_paragraphs, neutralise, one_line
from evaluations.usertext import manifest_text_problems

# The book's MyST settings (book/_config.yml: parse.myst_enable_extensions).
PARSER = create_md_parser(MdParserConfig(enable_extensions={"colon_fence"}), RendererHTML)
# Text that looks like markup, mixed with anything else hypothesis finds.
MARKUP = st.sampled_from(["{download}", "`", "```{raw} html", "<script>", "[^1]", "#### ", "\n\n", "|", "\\",
                          "&lt;", "$x$", "{{ a }}", ":::", "](javascript:x)", "*", "_", "<!--", "1. ", "> ",
                          "www.example.com", "\u202e", "\x00", "    ", "\t", "=cmd"])
TEXT = st.lists(st.one_of(MARKUP, st.text(max_size=12)), max_size=8).map("".join)


def inline_children(source: str) -> list:
    tokens = PARSER.parse(source)
    return [child for t in tokens if t.type == "inline" for child in t.children]


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_md_reads_back_as_exactly_the_text_in_a_paragraph_a_heading_and_a_table_cell(text):
    expected = one_line(text)
    for source, wrap in ((md(text), None), (f"# {md(text)}", "heading_open"),
                         (f"| h |\n| --- |\n| {md(text)} |", "td_open")):
        tokens = PARSER.parse(source)
        children = [c for t in tokens if t.type == "inline" for c in t.children]
        if wrap == "td_open":
            children = [c for t in tokens[tokens.index(next(t for t in tokens if t.type == "td_open")):]
                        if t.type == "inline" for c in t.children]
        assert all(c.type == "text" for c in children), (text, [c.type for c in children])
        assert "".join(c.content for c in children).strip() == expected
        assert not [t for t in tokens if t.type in ("html_block", "fence", "code_block", "myst_role",
                                                   "footnote_ref", "link_open", "image", "hr")]


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_md_paragraphs_keeps_each_paragraph_as_literal_text(paragraphs):
    source = md_paragraphs("\n\n".join(paragraphs))
    tokens = PARSER.parse(source)
    assert {t.type for t in tokens} <= {"paragraph_open", "inline", "paragraph_close"}
    texts = ["".join(c.content for c in t.children) for t in tokens if t.type == "inline"]
    assert all(c.type == "text" for t in tokens if t.type == "inline" for c in t.children)
    assert texts == [one_line(p) for p in "\n\n".join(paragraphs).replace("\r\n", "\n").split("\n\n")
                     if p.strip() and one_line(p)] or not texts


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.data, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.data.append(data)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_html_is_one_text_node_and_one_attribute_value(text):
    parsed = _Elements()
    parsed.feed(f'<td title="{html(text)}">{html(text)}</td>')
    parsed.close()
    assert parsed.tags == ["td"]
    assert "".join(parsed.data) == one_line(text)
    assert parsed.attrs == [("title", one_line(text))]


@pytest.mark.parametrize("value, published", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("town=Boston", "town=Boston"), ("", ""), (-0.25, -0.25), (3, 3), (None, None)])
def test_cells_a_spreadsheet_would_run_are_quoted_and_numbers_are_not_touched(value, published):
    assert cell(value) == published


def test_neutralise_reaches_keys_and_nested_values():
    assert neutralise({"=a": [{"@b": "-c"}, -1.5, "ok"]}) == {"'=a": [{"'@b": "'-c"}, -1.5, "ok"]}


def test_manifest_text_with_invisible_characters_or_too_long_is_refused_with_the_field_and_fix():
    raw = {"title": "Good \u202etitle", "programme": {"name": "x" * 201, "description": "One.\n\n\tTwo.",
                                                       "places": ["Leeds", "Bad\x1bplace"]},
           "outcomes": [{"column": "wellbeing\u2066"}]}
    assert manifest_text_problems(raw) == [
        "title: holds the invisible character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 6, which can hide or "
        "reorder what readers see; delete the character",
        "programme.name: is 201 characters long; shorten it to at most 200",
        "programme.places.1: holds the invisible character U+001B at position 4, which can hide or reorder what "
        "readers see; delete the character",
        "outcomes.0.column: holds the invisible character U+2066 (LEFT-TO-RIGHT ISOLATE) at position 10, which can "
        "hide or reorder what readers see; delete the character",
    ]
