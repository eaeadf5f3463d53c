"""What a cell holds, decided in one place: its kind, its number, and how a bad one is described.

A cell that fails its type (words in a score, an unknown wave, a formula) may be anything a
person typed, `call 07700 900123 now` included. It is never stored or shown: the warehouse,
the quarantine table, every message, `commonground check` and Dagster's metadata carry only
its description, its kind and length ("text, 21 characters"), which with the file, row and
column is enough to find and fix it.

Numbers are parsed only from text that is written as a plain decimal number with at most a
three-digit exponent: pandas' parser crashes the whole process (a segmentation fault) on
some longer exponents ("9e367914291352"), and no survey answer needs one.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Characters nobody types into a survey answer (tab, newline and carriage return are allowed).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What describe_values writes; such text is already a description and is kept as it is.
DESCRIPTION = re.compile(r"empty|(formula|text with a control character|number|text), \d+ characters?")
PLAIN_NUMBER = r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,3})?\s*"


def to_numbers(values: pd.Series) -> np.ndarray:
    """Each text as a finite float, or NaN when it is not a plain decimal number (or is out of range)."""
    text = pd.Series(values, dtype=object).astype(str).reset_index(drop=True)
    plain = text.str.fullmatch(PLAIN_NUMBER).to_numpy(dtype=bool)
    out = np.full(len(text), np.nan)
    if plain.any():
        parsed = pd.to_numeric(text[plain], errors="coerce").to_numpy(dtype=float)
        out[plain] = np.where(np.isfinite(parsed), parsed, np.nan)
    return out


def value_kinds(values: pd.Series) -> np.ndarray:
    """Each text's kind: empty, formula, text with a control character, number or text.

    A description (what describe_values wrote) counts as the kind it names, so describing is
    the same whether a value was already described at intake or not.
    """
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype(str)
    kinds = np.full(len(text), "text", dtype=object)
    kinds[~np.isnan(to_numbers(text))] = "number"
    kinds[text.str.contains(CONTROL_CHARACTERS).to_numpy(dtype=bool)] = "text with a control character"
    kinds[text.str.startswith("=").to_numpy(dtype=bool)] = "formula"
    kinds[(text == "").to_numpy(dtype=bool)] = "empty"
    described = text.str.fullmatch(DESCRIPTION.pattern).to_numpy(dtype=bool)
    kinds[described] = text[described].str.extract(DESCRIPTION)[0].fillna("empty").to_numpy(dtype=object)
    return np.append(kinds, "empty")[codes]  # code -1 (missing) -> empty


def describe_values(values: pd.Series) -> np.ndarray:
    """Each cell's kind and length, never its content: what intake stores and shows for a bad value.

    "text, 21 characters", "number, 3 characters", "formula, 12 characters",
    "text with a control character, 2 characters" or "empty".
    """
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype(str)
    kinds = value_kinds(text)
    out = np.array([t if DESCRIPTION.fullmatch(t) else f"{k}, {len(t)} character{'s' if len(t) != 1 else ''}"
                    for t, k in zip(text, kinds)] + ["empty"], dtype=object)
    out[:-1][kinds == "empty"] = "empty"
    return out[codes]


def describe_value(value) -> str:
    """One cell's kind and length (see describe_values)."""
    return str(describe_values(pd.Series([value], dtype=object))[0])
