"""What a survey tool's reader says about its export: how to recognise it, how its header rows
become one row of column names, and which of its own columns are identifiers or harmless metadata.

Each tool has one module beside this one (google_forms.py, surveymonkey.py, ...) defining a
`TOOL`; nothing here knows any particular tool. A reader sees only the export's first rows as
text (`rows`, row 1 first), never the answers below them, so no answer can reach a message.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable

Rows = list[list[str]]  # the first rows of a file, as text, row 1 first


class ExportError(Exception):
    """An export whose header rows cannot be read as its tool writes them; the reader adds the file."""

    def __init__(self, problem: str, fix: str, row: int | None = None, column: str | None = None):
        self.problem, self.fix, self.row, self.column = problem, fix, row, column
        super().__init__(f"{problem}. Fix: {fix}")


@dataclass(frozen=True)
class Layout:
    """An export's header, read: one name per column, and how many rows sit above the first answer."""

    names: list[str]
    header_rows: int
    labels: dict[str, str] = field(default_factory=dict)  # column name -> its question text (Qualtrics)
    paths: dict[str, str] = field(default_factory=dict)  # shortened name -> the whole group path (Kobo, ODK)


@dataclass(frozen=True)
class Tool:
    key: str  # as written in evaluation.yaml (files.tool)
    name: str  # as the charity knows it
    source: str  # the export documentation this reader follows
    shape: str  # what its header looks like, said when a file named as this tool does not match
    header_rows: int  # the rows above the first answer in a full export
    recognise: Callable[[Rows], bool]  # from the header rows alone
    layout: Callable[[Rows, "Tool"], Layout]
    identifiers: dict[str, str] = field(default_factory=dict)  # column (lower case) -> kind ("an IP address")
    identifier_patterns: tuple[tuple[re.Pattern, str], ...] = ()
    metadata: frozenset[str] = frozenset()  # columns (lower case) that say how the form was filled, not who
    metadata_patterns: tuple[re.Pattern, ...] = ()

    def identifier_kind(self, column: str) -> str | None:
        key = str(column).strip().lower()
        if key in self.identifiers:
            return self.identifiers[key]
        for pattern, kind in self.identifier_patterns:
            if pattern.search(str(column).strip()):
                return kind
        return None

    def is_metadata(self, column: str) -> bool:
        text = str(column).strip()
        return text.lower() in self.metadata or any(p.search(text) for p in self.metadata_patterns)


# ---------------------------------------------------------------------- helpers for readers

def row(rows: Rows, i: int) -> list[str]:
    """Row i (0 = row 1) as stripped text, or [] when the file is shorter."""
    return [str(c).strip() for c in rows[i]] if i < len(rows) else []


def padded(cells: list[str], width: int) -> list[str]:
    return cells + [""] * (width - len(cells))


def width(rows: Rows, n: int) -> int:
    return max((len(r) for r in rows[:n]), default=0)


def first_row_names(rows: Rows, tool: Tool) -> Layout:
    """The layout of an export whose header is its first row, as it is."""
    return Layout(row(rows, 0), 1)


IMPORT_ID = re.compile(r'^\{\s*"ImportId"\s*:')


def is_import_id(cell: str) -> bool:
    """A Qualtrics ImportId cell: {"ImportId":"QID1"} (metadata columns add a timeZone)."""
    text = str(cell).strip()
    if not IMPORT_ID.match(text):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def import_id_row(rows: Rows, i: int) -> bool:
    """Row i holds ImportIds in most of its filled cells."""
    cells = [c for c in row(rows, i) if c]
    return bool(cells) and sum(map(is_import_id, cells)) * 2 > len(cells)


SUB_HEADERS = ("Response", "Open-Ended Response")  # SurveyMonkey's second header row


def sub_header_row(rows: Rows, i: int) -> bool:
    """Row i is SurveyMonkey's second header row: it holds "Response" or "Open-Ended Response"."""
    return any(c in SUB_HEADERS for c in row(rows, i))


def quoted(text: str, most: int = 60) -> str:
    """Text from a file (a column name) as a message shows it: quoted, cut at `most` characters, never markup."""
    text = str(text)
    return repr(text if len(text) <= most else text[: most - 1] + "…")
