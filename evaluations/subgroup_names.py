"""The words a page uses for a group of participants: "Free school meals: yes", never "fsm = 1".

Effects by group are estimated per level of a design.effect_modifiers column and stored as
"<column>=<level>" (the machine-readable form, kept in the record's rows). A reader sees
"<label>: <value>", decided here and only here:

- the label is the manifest's (`{column: fsm, label: "Free school meals", ...}`), else the
  column name made readable ("lives_alone" -> "Lives alone");
- the value is the manifest's word for that answer (`values: {0: "no", 1: "yes"}`), matched as
  categories are (covariates.category_key: 1 = 1.0, "Yes" = "yes"); else "yes"/"no" for a 0/1
  column's 1/0 (every level published is 0 or 1: a yes/no characteristic, not a count); else the answer as the data
  holds it (a categorical covariate's level is already its category name). A level hidden by
  disclosure control ("another group") stays as it is.

Pure: no manifest or record model is imported; both pass plain mappings.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from evaluations.covariates import category_key
from evaluations.disclosure import ANOTHER_GROUP

YES_NO = {"1": "yes", "0": "no"}  # a 0/1 column's answers, keyed by category_key
SEPARATOR = "="  # between the column and the level in a stored subgroup ("fsm=1")


def readable(column: str) -> str:
    """A column name as words: 'lives_alone' -> 'Lives alone', 'age-group' -> 'Age group'."""
    words = " ".join(str(column).replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:] if words else str(column)


def modifier_label(column: str, label: str | None = None) -> str:
    return label if label else readable(column)


def value_name(level: str, values: Mapping[str, str] | None = None, yes_no: bool = True) -> str:
    """The word for one level: the manifest's, else yes/no for a 0/1 column's answer (`yes_no`), else the
    level as it is."""
    key = category_key(level)
    given = {category_key(k): v for k, v in (values or {}).items()}
    return given.get(key) or (YES_NO.get(key) if yes_no else None) or str(level)


def is_yes_no(levels: Iterable[str]) -> bool:
    """A 0/1 column: every level published (a hidden one aside) is 0 or 1. A count (0, 1, 2) is not."""
    keys = {category_key(lv) for lv in levels} - {category_key(ANOTHER_GROUP)}
    return bool(keys) and keys <= set(YES_NO)


def modifier_words(column: str, label: str | None, values: Mapping[str, str] | None, levels: Iterable[str]) -> dict:
    """One modifier's label and the word for each of `levels` (the levels published): the record's form."""
    levels = [str(lv) for lv in levels]
    yes_no = is_yes_no(levels)
    return {"label": modifier_label(column, label), "values": {lv: value_name(lv, values, yes_no) for lv in levels}}


def split(subgroup: str) -> tuple[str, str] | None:
    """(column, level) of a stored subgroup; None for 'all'."""
    column, sep, level = str(subgroup).partition(SEPARATOR)
    return (column, level) if sep else None


def subgroup_name(subgroup: str, words: Mapping | None = None) -> str:
    """'fsm=1' -> 'Free school meals: yes', from the record's words for each modifier (defaults without).
    `words`: column -> the record's ModifierWords (label, values)."""
    parts = split(subgroup)
    if parts is None:
        return str(subgroup)
    column, level = parts
    w = (words or {}).get(column)
    given = w.values.get(level) if w is not None else None
    return f"{label_of(column, words)}: {given or value_name(level)}"


def label_of(column: str, words: Mapping | None = None) -> str:
    """A modifier's label from the record's words (the readable column name without)."""
    w = (words or {}).get(column)
    return modifier_label(column, w.label if w is not None else None)
