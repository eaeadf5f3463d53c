"""Group paths in KoboToolbox and ODK exports (`about_you/age`, `about_you-age`) shortened to the question.

An XLSForm question inside a group is exported under its path: the groups' names, then its
own, joined by the export's separator. The charity knows the question by its own name, so
the groups are left off when what remains is unique in the file; when two questions share a
name in different groups, both keep their whole paths.

A path is shortened only where its groups are XML names (no spaces), as XLSForm requires, so
a column headed by question text that merely contains the separator ("agree/disagree") is
never cut. A select-multiple question's option columns (`about_you/languages/welsh`) keep the
question's name in front: a prefix that is itself a column is a question, not a group.
"""
from __future__ import annotations

import re

XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def shorten(names: list[str], separator: str, keep: set[str]) -> list[str]:
    """Each name with its group path left off where the rest is unique; names in `keep` stay whole."""
    columns = set(names)
    short = [name if name in keep else _question_path(name, separator, columns) for name in names]
    counts: dict[str, int] = {}
    for s in short:
        counts[s] = counts.get(s, 0) + 1
    return [s if counts[s] == 1 else name for s, name in zip(short, names)]


def _question_path(name: str, separator: str, columns: set[str]) -> str:
    parts = name.split(separator)
    if len(parts) < 2 or not all(parts):
        return name
    for i in range(len(parts) - 1):
        prefix = separator.join(parts[: i + 1])
        if prefix in columns:  # a question's own column: what follows is its option
            return separator.join(parts[i:])
        if not XML_NAME.match(parts[i]):
            return name  # not a group name: the separator is part of the text
    return parts[-1]
