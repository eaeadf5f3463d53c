"""Categorical covariates: how answers in categories are read and which columns the estimators see.

A covariate is numeric (a plain column name under design.covariates) or categorical: a mapping
naming its column and its categories (`ordered: true` when they are listed in their order, such
as age bands). Everything about the categories is decided here:

- Reading. An answer is a category when its key equals the category's key: the key of answer
  labels (intake/labels.py: case, spacing, punctuation, curly quotes, dashes and "/"/"or"
  forgiven), and a number read as a number ("1" = "1.0"). Anything else matches nothing and
  `check` refuses it (intake/validate.py), naming the file, row, column and categories: an answer
  is never put in the nearest category.
- Not answered. An empty answer, a missing_codes value or a "don't know"-type answer ("Prefer
  not to say", "N/A": labels.MISSING_WORDS) is its own level, NOT_ANSWERED. Why not set the row
  aside as a missing number is: declining to state one's ethnicity or age is common, differs
  between groups, and is itself a characteristic; a "missing" indicator keeps those people in
  the analysis (for a covariate measured before the programme it is a valid adjustment, unlike
  for an outcome), and dropping them would change whom the estimate is about.
- Encoding. Every category and NOT_ANSWERED becomes a 0/1 indicator column, named
  "<column>: <category>" (`indicator_name`), so balance tables and estimator descriptions read
  in the manifest's category names, never codes. The estimators see every indicator but the
  reference's (`estimator_columns`); the reference is the FIRST category listed (for an ordered
  covariate, the lowest): fixed by the registered manifest, never by the data, so the analysis
  plan says exactly which model is fitted. `check` refuses a reference nobody chose (its
  indicators would be collinear with the intercept). Ordered covariates are encoded as indicators
  too, not as a score 1, 2, 3...: a score assumes equal steps between bands, and a handful of
  bands costs a handful of indicators. `ordered` keeps the categories in their order on the page
  and in the plan.
- Balance is shown for every level, the reference included (`balance_columns`), and a level too
  small to publish is named "another group" (disclosure.py, `hidden_labels`).

Pure: no manifest model is imported (registry.py builds its own from these functions).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from evaluations.intake.labels import MISSING_KEYS, label_key

NOT_ANSWERED = "not answered"
SEPARATOR = ": "  # indicator_name's, between the column and the category


def category_key(text) -> str:
    """The form an answer and a category share when they are the same category."""
    t = str(text).strip()
    try:
        number = float(t)
    except (TypeError, ValueError, OverflowError):
        return label_key(t)
    if math.isfinite(number):
        return str(int(number)) if number.is_integer() else repr(number)
    return label_key(t)


NOT_ANSWERED_KEYS = MISSING_KEYS | {category_key(NOT_ANSWERED)}


def category_problems(column: str, categories: Sequence[str]) -> list[str]:
    """Why a list of categories cannot be read one to one (empty when it can)."""
    problems, seen = [], {}
    if len(categories) < 2:
        problems.append(f"'{column}' lists {len(categories)} categor{'y' if len(categories) == 1 else 'ies'}; list "
                        "every answer people could give (at least two), the reference first")
    for category in categories:
        key = category_key(category)
        if not key:
            problems.append(f"'{column}' lists an empty category; remove it")
            continue
        if key in seen:
            problems.append(f"'{column}' lists {seen[key]!r} and {category!r}, which read as the "
                            "same answer (case, spacing and punctuation are ignored); list it once")
        elif key in NOT_ANSWERED_KEYS:
            problems.append(f"'{column}' lists {category!r}, which is read as not answered (its "
                            f"own level, '{NOT_ANSWERED}'); leave it out of the categories")
        seen.setdefault(key, category)
    return problems


def indicator_name(column: str, category: str) -> str:
    """The 0/1 column of one category (or NOT_ANSWERED): 'age_band: 35-44'."""
    return f"{column}{SEPARATOR}{category}"


def levels(categories: Sequence[str]) -> list[str]:
    """Every level of a categorical covariate, in order: its categories, then NOT_ANSWERED."""
    return [*categories, NOT_ANSWERED]


def balance_columns(column: str, categories: Sequence[str]) -> list[str]:
    """The indicator of every level, the reference's included: what balance is shown for."""
    return [indicator_name(column, level) for level in levels(categories)]


def estimator_columns(column: str, categories: Sequence[str]) -> list[str]:
    """The indicators an estimator adjusts for: every level but the reference (the first category)."""
    return balance_columns(column, categories)[1:]


def hidden_labels(categorical: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each indicator's label as published when its level is too small to publish: 'age_band: another group'."""
    from evaluations.disclosure import ANOTHER_GROUP

    return {name: indicator_name(column, ANOTHER_GROUP)
            for column, categories in categorical.items() for name in balance_columns(column, categories)}


def read_categories(texts: pd.Series, categories: Sequence[str], missing: Iterable[str] = ()
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's category: (the category's name as declared, or None; not answered; matches nothing).

    `missing` are the manifest's missing_codes as text (also read as not answered). Called with the
    distinct answers of a column (few), so the loop is short.
    """
    index = {category_key(c): c for c in categories}
    missing_keys = NOT_ANSWERED_KEYS | {category_key(m) for m in missing}
    texts = pd.Series(texts, dtype=object).astype(str)
    names = np.full(len(texts), None, dtype=object)
    not_answered = np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts):
        key = category_key(text)
        if key in index:
            names[i] = index[key]
        elif not text.strip() or key in missing_keys:
            not_answered[i] = True
    return names, not_answered, (names == None) & ~not_answered  # noqa: E711 (element-wise)


def encode(frame: pd.DataFrame, categorical: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """`frame` with the indicator of every level of each categorical covariate added.

    `frame[column]` holds the category names as declared (intake/validate.py reads them), and
    nothing (NaN/None) where the person did not answer.
    """
    added = {}
    for column, categories in categorical.items():
        values = frame[column]
        for category, name in zip(categories, balance_columns(column, categories)):
            added[name] = (values == category).to_numpy(dtype=float)
        added[indicator_name(column, NOT_ANSWERED)] = values.isna().to_numpy(dtype=float)
    return frame.assign(**added) if added else frame
