"""Answers given in words, matched to their codes through the measure's labels: decided here only.

A survey tool exports an answer as its words ("Tend to disagree") or as its code (3). Words
become the code the measure gives that label, whatever the measure (the bank's or a charity's
own): never a guess, never a silent recode.

Two texts are the same label when their keys are equal (`label_key`). The key forgives only
what a person or a survey tool changes without changing the answer:
  - case, and spacing (leading, trailing, repeated; non-breaking spaces);
  - curly quotes and apostrophes ("Don’t" = "Don't" = "Dont"), and dashes of any length;
  - punctuation other than the separators below ("Tend to agree." = "tend to agree"), and the
    underscores of an XLSForm choice name, which Kobo and ODK export as the answer
    ("tend_to_agree" = "Tend to agree");
  - the separators "/", "&", "+", "or" and "and", which are one separator
    ("Often/always" = "Often / always" = "often or always" = "Often & always");
  - a leading number that equals the label's own code ("1 - Definitely agree", "(1) Definitely
    agree", "1. Definitely agree" are code 1; "4 - Definitely agree" matches nothing).
No two labels of one measure may share a key (MeasureCore refuses such a scale), so a word
never maps to two codes. Anything else (another wording, a typo) matches nothing and is
reported, never mapped to the nearest label.

"Don't know"-type answers (MISSING_WORDS) are missing answers, counted per column, unless the
measure itself gives that wording a code. "Not sure" is not one of them: some scales use it as
their middle answer.

SPSS and Stata files carry value labels (a label per code). `compare_labels` checks them against
the measure's: the same codes, fine; every label of the measure in another order, the codes
are mapped by label (and the intake report says so); the reverse order, or another order for
only some labels, refused, since then either the codes or the labels were turned round and
only the charity knows which. Labels in other words say nothing about the order: the codes
are read as the measure's, as they are in a file without labels.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

MISSING_WORDS = ("Don't know", "Do not know", "DK", "Prefer not to say", "Prefer not to answer", "Refused",
                 "N/A", "NA", "Not applicable")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
                         "\u00b4": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_SEPARATORS = re.compile(r"\s*(?:/|&|\+|\bor\b|\band\b)\s*")
_PUNCTUATION = re.compile(r"[^\w/\s]")
_NUMBERED = re.compile(r"\s*\(?\s*(\d+)\s*\)?(?:\s*[-.:=]\s*|\s+)(.*\S)\s*", re.DOTALL)


def label_key(text: str) -> str:
    """The form two texts share when they are the same label (see the module's list)."""
    t = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).casefold()
    t = _DASHES.sub("-", t).replace("'", "").replace("_", " ")  # "don't" = "dont"; "tend_to_agree"
    t = _SEPARATORS.sub(" / ", t)
    t = _PUNCTUATION.sub(" ", t)
    return " ".join(t.split())


MISSING_KEYS = frozenset(label_key(w) for w in MISSING_WORDS)


def label_problems(scale: dict[int, str]) -> list[str]:
    """Why a scale's labels cannot be matched to codes one to one (empty when they can)."""
    problems, seen = [], {}
    for code, label in scale.items():
        key = label_key(label)
        if key in seen:
            problems.append(f"the labels of codes {seen[key]} and {code} ({scale[seen[key]]!r} and {label!r}) read as "
                            "the same answer (case, spacing, punctuation and '/', 'or', '&', 'and' are ignored when "
                            "answers are matched); make them different")
        seen.setdefault(key, code)
        if key in MISSING_KEYS:
            problems.append(f"the label of code {code} ({label!r}) is a \"don't know\"-type answer, which intake "
                            "counts as missing; leave it out of the scale")
        if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", label.strip()) and float(label) != code:
            problems.append(f"the label of code {code} is the number {label.strip()}, which an answer would be read "
                            f"as; label code {code} in words, or give it the code {label.strip()}")
    return problems


def _index(scale: dict[int, str]) -> dict[str, int]:
    return {label_key(label): code for code, label in scale.items()}


@dataclass(frozen=True)
class Answers:
    """Texts read against a measure's labels, one entry per text."""

    codes: np.ndarray  # the code of a matched label, NaN otherwise
    from_words: np.ndarray  # matched one of the measure's labels
    dont_know: np.ndarray  # a "don't know"-type answer: missing


def read_answers(texts: pd.Series, scale: dict[int, str] | None) -> Answers:
    """Each text's code through the labels of `scale` (None: a continuous measure, only missing words).

    Called with distinct texts (a column holds few distinct answers), so the loop is short.
    """
    index = _index(scale) if scale else {}
    codes = np.full(len(texts), np.nan)
    dont_know = np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(pd.Series(texts, dtype=object).astype(str)):
        code = _code(text, index)
        if code is not None:
            codes[i] = code
        else:
            dont_know[i] = label_key(text) in MISSING_KEYS
    return Answers(codes, ~np.isnan(codes), dont_know)


def _code(text: str, index: dict[str, int]) -> int | None:
    if not index:
        return None
    code = index.get(label_key(text))
    if code is None:
        numbered = _NUMBERED.fullmatch(text)
        if numbered and index.get(label_key(numbered.group(2))) == int(numbered.group(1)):
            code = int(numbered.group(1))
    return code


def show_scale(scale: dict[int, str]) -> str:
    """A scale as a message shows it: 1 = Definitely agree, 2 = Tend to agree, ..."""
    return ", ".join(f"{code} = {label}" for code, label in sorted(scale.items()))


# ------------------------------------------------------------------ SPSS and Stata value labels

@dataclass(frozen=True)
class LabelledCodes:
    """A column's codes as an SPSS or Stata file labels them, compared with its measure's labels."""

    file: str
    variable: str  # the variable's name in the file
    column: str  # the outcome column it becomes
    labels: dict[float, str]  # the file's value labels
    order: str  # "same" (or no label recognised), "reordered", "reversed" or "conflict"
    recode: dict[float, float] = field(default_factory=dict)  # reordered: file code -> the measure's code
    missing: frozenset[float] = frozenset()  # codes labelled as a "don't know"-type answer


def compare_labels(file: str, variable: str, column: str, labels: dict, scale: dict[int, str]) -> LabelledCodes:
    """How a file's value labels line up with the measure's: the same, another order, reversed or in conflict."""
    labels = {float(c): str(v).strip() for c, v in labels.items()}
    index = _index(scale)
    matched = {c: float(index[label_key(v)]) for c, v in labels.items() if label_key(v) in index}
    missing = frozenset(c for c, v in labels.items() if label_key(v) in MISSING_KEYS and c not in matched)
    lo, hi = min(scale), max(scale)
    same = LabelledCodes(file, variable, column, labels, "same", missing=missing)
    if all(c == b for c, b in matched.items()):
        return same
    if all(b == lo + hi - c for c, b in matched.items()):
        return LabelledCodes(file, variable, column, labels, "reversed", missing=missing)
    if set(matched.values()) == set(map(float, scale)) and len(matched) == len(scale):  # every label, once each
        return LabelledCodes(file, variable, column, labels, "reordered", recode=matched, missing=missing)
    return LabelledCodes(file, variable, column, labels, "conflict", missing=missing)


def order_problem(lc: LabelledCodes, measure_name: str, scale: dict[int, str]) -> str | None:
    """What to tell the charity about a reversed or conflicting set of value labels (None: nothing wrong)."""
    theirs = ", ".join(f"{_code_text(c)} = {v}" for c, v in sorted(lc.labels.items()))
    where = f"{lc.file}, column '{lc.variable}'"
    if lc.order == "reversed":
        recode = " ".join(f"({c}={min(scale) + max(scale) - c})" for c in sorted(scale))
        return (f"{where}: the value labels run the other way from the measure {measure_name!r}: the file has "
                f"{theirs}; the measure has {show_scale(scale)}. Intake never turns codes round by itself, since "
                "either the codes or the labels are wrong and only you know which. Fix: if the labels are right, "
                f"recode the answers to the measure's codes (in SPSS: RECODE {lc.variable} {recode}) and correct "
                "the labels; if the codes are right, correct the value labels")
    if lc.order == "conflict":
        return (f"{where}: the value labels match the measure {measure_name!r} only in part and in another order, so "
                f"the codes cannot be read safely: the file has {theirs}; the measure has {show_scale(scale)}. "
                "Fix: give each code the measure's label for it (recoding the answers where the codes differ), or "
                "declare your own measure with the file's codes and labels under outcomes[].measure")
    return None


def _code_text(code: float) -> str:
    return str(int(code)) if float(code).is_integer() else str(code)


def file_value_labels(folder: Path, manifest, bank: dict) -> list[LabelledCodes]:
    """The value labels of every labelled outcome variable in the evaluation's SPSS and Stata files,
    compared with its measure's (what `validate` takes as value_labels).

    Only the files' metadata is read (their cases were read, and the files checked, by read_raw).
    A continuous measure has no labels to compare.
    """
    from evaluations.measures import answer_scales  # measures -> measure_model -> this module: import late

    scales = answer_scales(manifest, bank)
    out = []
    for spec in manifest.files:
        if spec.format not in ("sav", "dta"):
            continue
        # imported here, for an SPSS/Stata file only: `check` of a CSV or workbook does not pay its
        # import (about 0.1 s of the 2 s goal, issue 13)
        import pyreadstat

        reader = pyreadstat.read_sav if spec.format == "sav" else pyreadstat.read_dta
        try:
            _, meta = reader(str(Path(folder) / spec.path), metadataonly=True)
        except Exception:  # noqa: BLE001 - read_raw has already refused an unreadable file with its reason
            continue
        for variable, labels in (meta.variable_value_labels or {}).items():
            column = _outcome_of(spec.rename.get(variable, variable), spec, scales)
            if column is not None and labels and scales[column]:
                out.append(compare_labels(spec.path, variable, column, labels, scales[column]))
    return out


def _outcome_of(name: str, spec, scales: dict) -> str | None:
    """The outcome column a file's (renamed) variable holds: itself, or in a wide file <outcome><wave suffix>."""
    if spec.layout == "long":
        return name if name in scales else None
    for column in scales:
        if any(name == f"{column}{sfx}" for sfx in (spec.wave_suffixes or {}).values()):
            return column
    return None
