"""Which characters a registration may not contain, and how long its published fields may be.

Everything else a charity writes is accepted and published as literal text (see
evaluations/publish/text.py, which escapes it for each output). `check` refuses only what
has no honest use in a title or a description and can change how other text reads:

- control characters (C0 and C1: NUL, escape, backspace, …): nobody types them; they come
  from a copied binary or a terminal and can hide or overprint text. Newline and tab are
  allowed in programme.description, where they separate paragraphs, and in an own measure's
  question (a YAML block keeps its line breaks; the page joins the lines).
- Unicode bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069):
  they reorder how the surrounding characters are displayed, so a reader would see something
  other than what was registered (the "Trojan Source" trick); an Arabic or Hebrew title needs
  none of them.
- over-long fields: a title is a sentence, a description a paragraph or two; text far beyond
  that is a pasted document, and it would swamp the toolkit and the page.
"""
from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
REFUSED = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
REFUSED_IN_PARAGRAPHS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")  # tab and newline allowed

MAX_LENGTH = {  # characters; dotted manifest paths ('*' is any list item or numeric key)
    "title": 200,
    "programme.name": 200,
    "programme.organisation": 200,
    "programme.places.*": 100,
    "programme.description": 4000,
    # a charity's own outcome measure (evaluations/measure_model.py); the bank's longest question is ~450
    "outcomes.*.measure.name": 200,
    "outcomes.*.measure.question": 1000,
    "outcomes.*.measure.scale.*": 200,  # an answer's label
    "outcomes.*.measure.units": 50,
    # a group's words on the page ("Free school meals: yes"): a few words each
    "design.effect_modifiers.*.label": 100,
    "design.effect_modifiers.*.values.*": 100,
}
MULTI_PARAGRAPH = {"programme.description", "outcomes.*.measure.question"}


def character_name(ch: str) -> str:
    return f"U+{ord(ch):04X}" + (f" ({unicodedata.name(ch)})" if unicodedata.name(ch, "") else "")


def visible(text: str) -> str:
    """`text` with each refused character written as <U+XXXX>, for messages that quote it."""
    return REFUSED.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def field_pattern(field: str) -> str:
    """A dotted manifest path with each list index or numeric key as '*': outcomes.0.measure.scale.1
    is outcomes.*.measure.scale.*"""
    return re.sub(r"(?<=\.)-?\d+(?=\.|$)|^-?\d+(?=\.|$)", "*", field)


def refused_character(text: str, field: str) -> str | None:
    """A problem with `text` found in manifest `field` (its dotted path), or None when it may be registered."""
    pattern = REFUSED_IN_PARAGRAPHS if field_pattern(field) in MULTI_PARAGRAPH else REFUSED
    m = pattern.search(text)
    if m:
        return (f"holds the invisible character {character_name(m.group())} at position {m.start() + 1}, "
                "which can hide or reorder what readers see; delete the character")
    return None


def too_long(text: str, field: str) -> str | None:
    limit = MAX_LENGTH.get(field_pattern(field))
    if limit is not None and len(text) > limit:
        return f"is {len(text):,} characters long; shorten it to at most {limit:,}"
    return None


def manifest_text_problems(raw, path: str = "") -> list[str]:
    """Every refused character or over-long field in a manifest as parsed from YAML (dicts, lists, strings)."""
    problems = []
    if isinstance(raw, dict):
        for k, v in raw.items():
            key = str(k)
            where = f"{path}.{visible(key)}" if path else visible(key)
            problem = refused_character(key, "")  # a key is a field name or a column name: no exceptions
            if problem:
                problems.append(f"{where}: the name {problem}")
            problems += manifest_text_problems(v, where)
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            problems += manifest_text_problems(v, f"{path}.{i}")
    elif isinstance(raw, str):
        problem = refused_character(raw, path) or too_long(raw, path)
        if problem:
            problems.append(f"{path}: {problem}")
    return problems
