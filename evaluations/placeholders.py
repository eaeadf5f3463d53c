"""What a manifest still leaves for its author to fill in, and the one rule that refuses it.

`commonground new` (and a draft written from survey exports) marks every value only the charity
can give with MARK ("FILL IN: the programme's name"). A mark left in is refused when the manifest
is loaded, so a scaffold's invented name, organisation or cost can never be checked, registered
or published as if it were the charity's. The template's texts from before the marks existed are
refused too: folders scaffolded then still hold them.
"""
from __future__ import annotations

MARK = "FILL IN"

# Placeholder values the template wrote before it used MARK (a published "Programme name" is the defect).
OLD_TEMPLATE_TEXTS = frozenset({
    "What the evaluation asks, in a sentence", "Programme name", "Delivering organisation", "Town or borough",
    "What participants do, in two sentences.",
})


def fill_in(what: str) -> str:
    """The value a template writes where only its author can answer: `FILL IN: <what>`."""
    return f"{MARK}: {what}"


def unresolved(raw, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(location, text) of every value in a parsed manifest that is still a mark or an old placeholder."""
    if isinstance(raw, dict):
        return [hit for k, v in raw.items() for hit in unresolved(v, path + (str(k),))]
    if isinstance(raw, list):
        return [hit for i, v in enumerate(raw) for hit in unresolved(v, path + (i,))]
    if isinstance(raw, str) and (MARK in raw or raw.strip() in OLD_TEMPLATE_TEXTS):
        return [(path, raw)]
    return []


def placeholder_problems(raw) -> tuple[list[str], set[tuple]]:
    """One sentence per value left to fill in, and their locations (so no second error is given for
    the same field, such as "not a valid date")."""
    hits = unresolved(raw)
    problems = [f"{'.'.join(map(str, where))}: still says \"{text.strip()}\"; replace it with the real value "
                "(or delete the line if the field is optional)" for where, text in hits]
    return problems, {where for where, _ in hits}
