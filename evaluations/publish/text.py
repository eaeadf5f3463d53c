"""User text as literal text in every output: MyST pages, raw HTML, figures, CSV and JSON.

Anything a registration supplies (titles, names, places, descriptions, column names, data
values, value labels) is passed through one of these functions on its way out; nothing
else in evaluations/publish/ writes a registration's string into an output. Each function
makes the text inert by construction rather than by looking for known attacks:

- `md`: CommonMark lets any ASCII punctuation character be backslash-escaped, and an
  escaped character is always a literal. Escaping every one of them means no directive,
  role, link, footnote, heading, emphasis, HTML tag, entity or substitution can be formed,
  whatever the text says. Whitespace is collapsed to single spaces, so no text can start
  a new block (a fence, a heading, an indented code block) on a line of its own.
  Letters and digits alone form no syntax: the book turns off MyST's linkify, dollar maths
  and substitutions (book/_config.yml), the extensions that would give them meaning.
  Backslash escapes do not work inside code spans, so user text never goes in backticks.
- `html`: for the raw-HTML tables (toolkit, gap map): the five HTML-special characters
  become entities and whitespace is collapsed (a blank line would end the HTML block).
- `label`: for matplotlib; maths parsing is switched off where figures are drawn, so a
  `$` is a dollar sign, not the start of a formula.
- `markdown_table`: the same for the Markdown tables shown as Dagster metadata.
- `cell`: for CSV and JSON downloads: a string that a spreadsheet would run as a formula
  (it starts with = + - @ tab or carriage return) is prefixed with a single quote, as
  OWASP advises against CSV injection; numbers are left as numbers.

Characters `check` refuses (control and bidirectional-control characters, see
evaluations/usertext.py) can still arrive in data values; they are shown as <U+XXXX>.
"""
from __future__ import annotations

import html as _html
import re

from evaluations.usertext import visible

ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def one_line(text) -> str:
    """The text on one line: refused characters made visible, every run of whitespace one space."""
    return visible(" ".join(str(text).split()))


def md(text) -> str:
    """Inline MyST text that shows exactly `text` and can do nothing else."""
    return ASCII_PUNCTUATION.sub(r"\\\1", one_line(text))


def md_paragraphs(text) -> str:
    """Several paragraphs (separated by blank lines in `text`), each literal."""
    paragraphs = re.split(r"\n\s*\n", str(text).replace("\r\n", "\n"))
    return "\n\n".join(md(p) for p in paragraphs if p.strip())


def md_list(items) -> str:
    return ", ".join(md(x) for x in items)


def markdown_table(frame, index: bool = False, **options) -> str:
    """A table for Dagster's Markdown metadata: headers, index and text cells pass through `md`."""
    shown = frame.reset_index() if index else frame
    shown = shown.rename(columns=lambda c: md(c)).map(lambda v: md(v) if isinstance(v, str) else v)
    return shown.to_markdown(index=False, **options)


def html(text) -> str:
    """Text for a raw-HTML block or attribute value."""
    return _html.escape(one_line(text), quote=True)


def label(text) -> str:
    """Text for a figure label or tick (matplotlib maths parsing is off: see figures.py)."""
    return one_line(text)


def cell(value):
    """A CSV/JSON value a spreadsheet opens as text, never as a formula; non-strings unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise(document):
    """`cell` applied to every string and key of a JSON-ready document."""
    if isinstance(document, dict):
        return {cell(str(k)): neutralise(v) for k, v in document.items()}
    if isinstance(document, list):
        return [neutralise(v) for v in document]
    return cell(document)
