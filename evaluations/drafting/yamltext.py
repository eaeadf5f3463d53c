"""A manifest written as commented YAML, with every value (and key) written by yaml.safe_dump.

A draft holds the charity's own text: column names and question texts from its files. None of
it is ever pasted into YAML syntax: each key and value is dumped by PyYAML on its own (quoted
when it needs quoting: "yes", "1", "a: b", "# x", leading dashes), on one line (a value holding
a line break, or any character that is not printable, is written double-quoted with escapes).
Comments are the draft's own words and bank ids; anything else put in one is cleaned of
line breaks and other unprintable characters first, so no text can end a comment and start
YAML. The text written is read back and must give the same data, or nothing is written.
"""
from __future__ import annotations

import yaml

LINE_BREAKS = "\n\r\x85\u2028\u2029"
LONGEST_SIMPLE_KEY = 1000  # PyYAML reads a key on the line of its value only up to 1024 characters
INDENT = "  "


def inline(value) -> str:
    """A scalar, or a list of scalars, as one line of YAML."""
    for style in ({"allow_unicode": True}, {"allow_unicode": False, "default_style": '"'}):
        text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"), sort_keys=False, **style)
        text = text.removesuffix("\n").removesuffix("\n...").removesuffix("\n")
        if not any(ch in LINE_BREAKS for ch in text):
            return text
    raise ValueError("a value could not be written on one line")  # unreachable: escapes are one line


def comment(text: str) -> str:
    """Text safe to follow '#': no line breaks or other unprintable characters."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))


class Writer:
    """Builds the document line by line; `comments` and `notes` are keyed by a value's path (a tuple)."""

    def __init__(self, comments: dict[tuple, str] | None = None, notes: dict[tuple, list[str]] | None = None):
        self.comments, self.notes, self.lines = comments or {}, notes or {}, []

    def document(self, data: dict, header: list[str]) -> str:
        self.lines = [f"# {comment(line)}" if line else "#" for line in header]
        self._mapping(data, (), 0)
        text = "\n".join(self.lines) + "\n"
        if yaml.safe_load(text) != data:  # a defect here, never the charity's text: refuse to write it
            raise ValueError("the draft did not read back as written")
        return text

    def _mapping(self, data: dict, path: tuple, depth: int, first_prefix: str | None = None) -> None:
        for i, (key, value) in enumerate(data.items()):
            here = path + (key,)
            indent = INDENT * depth
            for note in self.notes.get(here, []):
                self.lines.append(f"{indent}# {comment(note)}")
            prefix = first_prefix if (i == 0 and first_prefix is not None) else indent
            self._entry(prefix, key, value, here, depth)

    def _entry(self, prefix: str, key, value, path: tuple, depth: int) -> None:
        note = f"  # {comment(self.comments[path])}" if path in self.comments else ""
        k = inline(key)
        nested = (isinstance(value, dict) and value) or (isinstance(value, list) and value
                                                        and any(isinstance(v, dict) for v in value))
        if len(k) > LONGEST_SIMPLE_KEY:  # an explicit key: "? key" then ": value"
            self.lines.append(f"{prefix}? {k}")
            if nested:
                raise ValueError("a long key holds only a scalar here")
            self.lines.append(f"{INDENT * depth}: {inline(value)}{note}")
            return
        if not nested:
            self.lines.append(f"{prefix}{k}: {inline(value)}{note}")
            return
        self.lines.append(f"{prefix}{k}:{note}")
        if isinstance(value, dict):
            self._mapping(value, path, depth + 1)
            return
        for i, item in enumerate(value):  # mappings, and scalars among them (a covariate's name)
            if isinstance(item, dict):
                self._mapping(item, path + (i,), depth + 2, first_prefix=INDENT * (depth + 1) + "- ")
            else:
                self.lines.append(f"{INDENT * (depth + 1)}- {inline(item)}")
