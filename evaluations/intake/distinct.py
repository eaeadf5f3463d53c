"""A column as codes into its distinct values as text: how intake works per distinct value.

A million survey rows hold few distinct answers, so a rule runs once per distinct value and is
spread to the rows by the codes. Finding the distinct values hashes every row, the dearest step
of most rules, so a column is grouped once where it can be and its codes handed on.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def text_codes(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes per row and the distinct values as text, in order of first appearance.

    A missing value (None/NaN) gets the code of "" (the empty text), so every code is valid.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = pd.Series(uniques, dtype=object).astype(str)
    if (codes < 0).any():
        empty = np.flatnonzero((texts == "").to_numpy())
        if len(empty):
            codes = np.where(codes < 0, empty[0], codes)
        else:
            texts = pd.concat([texts, pd.Series([""], dtype=object)], ignore_index=True)
            codes = np.where(codes < 0, len(texts) - 1, codes)
    return codes, texts


def stripped_text_codes(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """`text_codes` of the values with their surrounding spaces stripped (" 1" and "1" are one value)."""
    codes, texts = text_codes(values)
    stripped = np.array(list(map(str.strip, texts.to_numpy(dtype=object))), dtype=object)  # .str.strip(), without
    # pandas' per-value wrapper: most of the time on half a million distinct ids
    if len(stripped) and (stripped != texts.to_numpy(dtype=object)).any():  # else already one value per text
        merged, stripped = pd.factorize(stripped)
        codes = merged[codes]
    return codes, pd.Series(stripped, dtype=object)


def joined_text_codes(parts: list[tuple[np.ndarray, pd.Series]]) -> tuple[np.ndarray, pd.Series]:
    """The codes and distinct texts of tables stacked one under another, from each table's own."""
    if len(parts) == 1:
        return parts[0]
    merged, texts = pd.factorize(np.concatenate([t.to_numpy(dtype=object) for _, t in parts]))
    offsets = np.cumsum([0] + [len(t) for _, t in parts[:-1]])
    codes = np.concatenate([merged[offset + c] for offset, (c, _) in zip(offsets, parts)])
    return codes, pd.Series(texts, dtype=object)


def first_positions(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears, code by code, for codes numbered in order of first appearance
    (pd.factorize's, no missing sentinel): each new code is a step of the running maximum."""
    return np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)


def combined_codes(codes: list[np.ndarray]) -> np.ndarray:
    """One integer per row for its combination of columns' pd.factorize codes (-1, a missing value, is a
    value of its own): rows get the same integer exactly when every column's code is the same."""
    key, size = np.zeros(len(codes[0]) if len(codes) else 0, dtype=np.int64), 1
    for c in codes:
        n = int(c.max()) + 2 if len(c) else 1  # the codes, and one more for a missing value
        if size * n >= 2**62:  # renumber the combinations so far before the key could overflow
            key = pd.factorize(key)[0].astype(np.int64)
            size = int(key.max()) + 1 if len(key) else 1
        key, size = key * n + np.where(c < 0, n - 1, c), size * n
    return key
