"""The privacy screen: no direct identifier gets into the warehouse.

Columns are screened by name and by content before anything is stored. A column that
holds names, emails, phone numbers, full postcodes, dates of birth or free text is refused
unless the manifest lists it under `drop_columns`; respondent ids are replaced by a keyed
hash, so the same person links across waves but cannot be traced back without the key.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re

import numpy as np
import pandas as pd

from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, IntakeError

KEY_ENV = "COMMONGROUND_PSEUDONYM_KEY"
# Published with the code on purpose: the sample library is synthetic, so there is nobody to protect.
SYNTHETIC_KEY = "common-ground-synthetic-sample-library"

NAME_PATTERNS = {
    "a name": re.compile(r"(^|_|\b)(first_?name|last_?name|surname|forename|full_?name|name)($|_|\b)", re.I),
    "an email address": re.compile(r"e-?mail", re.I),
    "a phone number": re.compile(r"(phone|mobile|telephone|^tel$)", re.I),
    "a postcode or address": re.compile(r"(post_?code|postal|zip|address|street)", re.I),
    "a date of birth": re.compile(r"(^dob$|date_?of_?birth|birth_?date|birthday)", re.I),
    "free text": re.compile(r"(comment|free_?text|notes?$|other_?specify|describe)", re.I),
}
CONTENT_PATTERNS = {
    "an email address": re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I),
    "a phone number": re.compile(r"^(\+44\s?|0)(\d[\s-]?){9,10}$"),
    "a full postcode": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$", re.I),
    "a date of birth": re.compile(r"^(\d{1,2}[/.-]\d{1,2}[/.-](19|20)\d{2}|(19|20)\d{2}-\d{2}-\d{2})$"),
}


def screen_columns(df: pd.DataFrame, file: str, declared: set[str], drop: set[str]) -> pd.DataFrame:
    """Refuse identifying columns (unless the manifest drops them) and drop them when asked."""
    for col in df.columns:
        if col in (SOURCE_FILE, SOURCE_ROW) or col in drop:
            continue
        kind, index = _identifying(df[col], col, declared)
        if kind:
            row = int(df[SOURCE_ROW].iloc[index]) if index is not None else None
            raise IntakeError(
                file, f"the column looks like it holds {kind}, which must not leave the charity",
                f"delete the column from the file, or list it under files.drop_columns in evaluation.yaml "
                f"so it is removed at intake", row=row, column=col)
    return df.drop(columns=[c for c in drop if c in df.columns])


def _identifying(values: pd.Series, col: str, declared: set[str]) -> tuple[str | None, int | None]:
    if col not in declared:
        for kind, pattern in NAME_PATTERNS.items():
            if pattern.search(col):
                return kind, None
    text = values.astype(str).str.strip()
    present = text != ""
    if not present.any():
        return None, None
    for kind, pattern in CONTENT_PATTERNS.items():
        if kind == "a date of birth" and col in declared:
            continue  # a declared date column (e.g. survey date) is expected to hold dates
        hits = text.str.match(pattern) & present
        if hits.any():
            return kind, int(np.flatnonzero(hits.to_numpy())[0])
    if col not in declared:
        # Free text: long answers with several words are where people write names and stories.
        wordy = text.str.len().gt(40) & text.str.count(" ").ge(5)
        if wordy[present].mean() > 0.2:
            return "free text", int(np.flatnonzero(wordy.to_numpy())[0])
    return None, None


def pseudonym_key(synthetic: bool) -> bytes:
    key = os.environ.get(KEY_ENV)
    if key:
        return key.encode()
    if synthetic:
        return SYNTHETIC_KEY.encode()
    raise IntakeError(
        "(environment)", f"{KEY_ENV} is not set, so respondent ids cannot be pseudonymised",
        f"set {KEY_ENV} to a long random secret kept outside the repository (the same one every run, "
        "so people link across waves), e.g. `export " + KEY_ENV + "=$(python -c 'import secrets; print(secrets.token_hex(32))')`")


def pseudonymise(ids: pd.Series, key: bytes, evaluation_id: str) -> pd.Series:
    """Keyed hash of each id; salted with the evaluation so ids do not link across evaluations."""
    def one(v: str) -> str:
        return hmac.new(key, f"{evaluation_id}:{v}".encode(), hashlib.sha256).hexdigest()[:16]
    uniques = {v: one(v) for v in pd.unique(ids)}
    return ids.map(uniques)
