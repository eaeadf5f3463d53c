"""How a column that evaluation.yaml names but a file lacks is reported: with the columns the file has.

A survey tool's column names are long question texts, so the likely mistake is a small
difference in spelling; the names closest to the missing one (difflib) are listed first.
Column names are the charity's text: they are quoted, never interpreted.
"""
from __future__ import annotations

import difflib

from evaluations.intake.exports.tool import quoted

SHOWN = 8  # column names listed; the rest are counted
CLOSEST = 3


def columns_found(column: str, found: list[str]) -> str:
    """`found`, the names closest to `column` first, at most SHOWN of them, as text for a message."""
    if not found:
        return "no columns"
    close = difflib.get_close_matches(column, found, n=CLOSEST, cutoff=0.5)
    lowered = {c.lower(): c for c in found}
    if column.lower() in lowered and lowered[column.lower()] not in close:  # differs only in capitals
        close.insert(0, lowered[column.lower()])
    order = close + [c for c in found if c not in close]
    shown = ", ".join(quoted(c) for c in order[:SHOWN])
    more = len(order) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "") + (" (closest first)" if close else "")


def missing_column(column: str, found: dict[str, list[str]]) -> str:
    """A declared column in none of the files: the problem, what the files have, and the fix."""
    files = list(found)
    names = list(dict.fromkeys(c for cols in found.values() for c in cols))
    where = f"{files[0]} has" if len(files) == 1 else f"the files ({', '.join(files)}) have"
    return (f"column {quoted(column)} named in evaluation.yaml is not in the data; {where} "
            f"{columns_found(column, names)}: write the name exactly as the file has it, or map the file's "
            f"name to {quoted(column)} with files.rename")
