"""What each remaining column is: an outcome (a bank measure's question), a covariate, or neither;
and the short name each column the draft uses is given in place of its question text.

- Outcomes: a column whose wording and answers fit a bank measure (drafting/matching.py).
  An option of a tick-all-that-apply question (`activities/volunteer`, "Which of these ... -
  Volunteered locally") is not a question of its own and is never matched.
- Covariates: the other columns every file has, with at least two different answers. All
  numbers and (almost) always filled in: a numeric covariate, proposed. Answers in words with
  few values: a categorical covariate, proposed with its answers as its categories
  (`categories_of`): bands ("16-24", "25-34", "65 and over") in their order, lowest first, and
  `ordered: true`; yes/no with "no" first; any other, most common first, so that the reference
  (the first) is the largest group. Answers that are partly bands cannot be ordered by the draft:
  whether they are ordered is left to the charity (FILL IN).
- Short names: a column used by the draft whose name is not already short (lower-case
  letters, digits and "_") is renamed: the id, wave and group by their role, an outcome by
  its measure's id, any other by its first words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from evaluations.drafting.matching import Match, close, fits, rank, words
from evaluations.drafting.reading import Export
from evaluations.intake.labels import MISSING_KEYS, label_key
from evaluations.intake.values import to_numbers

MOST_CATEGORIES = 12
NUMBER_BLANKS_ALLOWED = 0.05  # a covariate's empty cells set their rows aside at intake
OPTION_SEPARATORS = ("/", "-", " - ", ".")
SHORT = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass
class Outcome:
    column: str  # as read
    ranked: list[Match]  # every measure, best first

    @property
    def best(self) -> Match:
        return self.ranked[0]

    @property
    def runner_up(self) -> Match | None:
        return self.ranked[1] if len(self.ranked) > 1 else None

    @property
    def decided(self) -> bool:
        return not close(self.best, self.runner_up)


@dataclass
class Columns:
    outcomes: list[Outcome] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)  # numeric covariates, proposed
    categories: list[str] = field(default_factory=list)  # covariates in categories, proposed (categories_of)
    unused: list[str] = field(default_factory=list)  # in some files only: cannot be declared


def question_text(exports: list[Export], column: str) -> str:
    """The column's question: the export's question text where it has one (Qualtrics), else its name."""
    return next((e.head.labels[column] for e in exports if column in e.head.labels), column)


def option_columns(exports: list[Export], columns: list[str]) -> set[str]:
    """Columns that are one option of a tick-all-that-apply question."""
    texts = {c: question_text(exports, c) for c in columns}
    options = {c for c in columns for q in columns
               if q != c and any(c.startswith(q + sep) for sep in OPTION_SEPARATORS)}
    stems: dict[str, list[str]] = {}
    for c, text in texts.items():
        if " - " in text:
            stems.setdefault(text.rsplit(" - ", 1)[0], []).append(c)
    return options | {c for group in stems.values() if len(group) > 1 for c in group}


def answers(exports: list[Export], column: str) -> pd.Series:
    return pd.concat([e.answers[column] for e in exports if column in e.columns], ignore_index=True)


def classify(exports: list[Export], taken: set[str], bank: dict) -> Columns:
    identifying = {c for e in exports for c in e.identifying}
    every = list(dict.fromkeys(c for e in exports for c in e.columns))
    remaining = [c for c in every if c not in taken and c not in identifying]
    options = option_columns(exports, every)
    out = Columns()
    for column in remaining:
        values = answers(exports, column)
        distinct = _distinct_answers(values)
        if len(distinct) < 2:
            continue  # nothing to analyse (empty, or everyone gave the same answer)
        if not all(column in e.columns for e in exports):
            out.unused.append(column)
            continue
        if column not in options:
            ranked = rank(question_text(exports, column), values, bank)
            if fits(ranked[0]):
                out.outcomes.append(Outcome(column, ranked))
                continue
        numbers = to_numbers(pd.Series(distinct, dtype=object))
        if not pd.isna(numbers).any() and (values == "").mean() <= NUMBER_BLANKS_ALLOWED:
            out.numbers.append(column)
        elif len(distinct) <= MOST_CATEGORIES:
            out.categories.append(column)
    return out


def _distinct_answers(values: pd.Series) -> list[str]:
    distinct = pd.unique(values[values != ""])
    return [v for v in distinct if label_key(v) not in MISSING_KEYS]


_BAND = re.compile(r"(?:(under|below|less than|up to|younger than)\s*)?(\d+)\s*(?:years?\s*)?"
                   r"(?:(?:-|to)\s*(\d+)|\+|(?:and|or|&)?\s*(?:over|above|older|more))?"
                   r"\s*(?:years?|yrs?)?(?:\s*old)?")
YES_NO = ("no", "yes")


def categories_of(values: pd.Series) -> tuple[list[str], bool | None]:
    """A text column's categories as the draft proposes them, and whether they are ordered (None: cannot tell).

    Each category once (answers that read the same, as intake matches them, are one), in the form's own
    words: bands lowest first (ordered), yes/no as no then yes, any other most common first."""
    from evaluations.covariates import NOT_ANSWERED_KEYS, category_key

    given = values[values != ""]
    counts = given.map(category_key).value_counts(sort=True)  # most common first; ties in order of appearance
    spelling = dict(zip(given.map(category_key)[::-1], given[::-1]))  # each key's first spelling in the files
    keys = [k for k in counts.index if k not in NOT_ANSWERED_KEYS]
    names = [spelling[k] for k in keys]
    if sorted(keys) == list(YES_NO):
        return sorted(names, key=lambda n: category_key(n) != "no"), False
    bands = [_band_start(n) for n in names]
    if all(b is not None for b in bands) and len(set(bands)) == len(bands):
        return [n for _, n in sorted(zip(bands, names))], True
    return names, (None if any(b is not None for b in bands) else False)


def _band_start(answer: str) -> float | None:
    """Where a band starts, for ordering ("under 18" before "18-24"); None when the answer is not a band."""
    text = " ".join(re.sub(r"[\u2010-\u2015\u2212]", "-", str(answer)).casefold().split())
    m = _BAND.fullmatch(text)
    if not m or not (m.group(1) or m.group(3) or not text.isdigit()):
        return None  # a bare number is a code, not a band
    return float(m.group(2)) - (0.5 if m.group(1) else 0)


def short_name(text: str) -> str:
    """A snake_case name from a text's first words: "How old are you?" -> old_are."""
    name = "_".join(words(text)[:3])[:30].strip("_") or "column"
    return name if name[0].isalpha() else f"q_{name}"


def short_names(wanted: dict[str, str], exports: list[Export]) -> dict[str, str]:
    """Column (as read) -> its new name, for every wanted name that is not the column's own: each new
    name unique and unlike any column a file already has (intake refuses two columns of one name)."""
    existing = {c for e in exports for c in e.columns}
    out, used = {}, set()
    for column, name in wanted.items():
        if SHORT.fullmatch(column):
            used.add(column)
            continue
        candidate, n = name, 1
        while candidate in existing or candidate in used:
            n += 1
            candidate = f"{name}_{n}"
        out[column] = candidate
        used.add(candidate)
    return out
