"""The privacy screen: no direct identifier gets into the warehouse.

Columns are screened by name and by content before anything is stored. A column that
holds names, emails, phone numbers, full postcodes, dates of birth or free text is refused
unless the manifest lists it under `drop_columns`; respondent ids are replaced by a keyed
hash, so the same person links across waves but cannot be traced back without the key.
A cell that fails its type is never stored or shown, only described (intake/values.py).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from typing import Iterable

import numpy as np
import pandas as pd

from evaluations.intake.distinct import stripped_text_codes
from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, IntakeError, IntakeErrors

KEY_ENV = "COMMONGROUND_PSEUDONYM_KEY"
# Published with the code on purpose: the sample library is synthetic, so there is nobody to protect.
SYNTHETIC_KEY = "common-ground-synthetic-sample-library"

NAME_PATTERNS = {  # matched against the column name with its words split (column_words); first match wins
    "an IP address": re.compile(r"(^|_)ip(_?address|_?v[46])?($|_)", re.I),
    "a location": re.compile(r"(latitude|longitude|(^|_)(lat|lon|lng|gps|geo_?point|geo_?location)($|_))", re.I),
    "a user account": re.compile(r"(^|_)(user_?name|submitted_by|login)($|_)", re.I),
    "a name": re.compile(r"(^|_|\b)(first_?name|last_?name|surname|forename|full_?name|name)($|_|\b)", re.I),
    "an email address": re.compile(r"e_?mail", re.I),
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
    "an IP address": re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$"),
}
# Survey tools name their columns in CamelCase or with spaces (RecipientLastName, IP Address): split the
# words so the patterns above see recipient_last_name and ip_address.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\s\-./:]+")


def column_words(col: str) -> str:
    return _SEPARATORS.sub("_", _CAMEL.sub("_", str(col)).strip()).lower()


class IdentifyingColumns(IntakeErrors):
    """Every identifying column of a file at once, so one run of `check` lists them all."""


def screen_columns(df: pd.DataFrame, file: str, declared: set[str], drop: set[str],
                   known: dict[str, str] | None = None,
                   coded: dict[str, tuple[np.ndarray, pd.Series]] | None = None) -> pd.DataFrame:
    """Refuse identifying columns (unless the manifest drops them), all of a file's at once, and
    drop them when asked. `known` names the columns a survey tool itself says identify someone
    (intake/exports: the tool knows its SubmitterID is an account, not an answer); `coded` holds
    columns' stripped text codes (distinct.stripped_text_codes) where the caller has made them."""
    found = []
    for col in df.columns:
        if col in (SOURCE_FILE, SOURCE_ROW) or col in drop:
            continue
        kind, index = ((known or {}).get(col), None)
        if kind is None:
            kind, index = _identifying(df[col], col, declared, (coded or {}).get(col))
        if kind:
            row = int(df[SOURCE_ROW].iloc[index]) if index is not None else None
            found.append(IntakeError(
                file, f"the column looks like it holds {kind}, which must not leave the charity",
                f"delete the column from the file, or list it under files.drop_columns in evaluation.yaml "
                f"so it is removed at intake", row=row, column=col))
    if len(found) == 1:
        raise found[0]
    if found:
        raise IdentifyingColumns(found)
    dropped = [c for c in drop if c in df.columns]
    return df.drop(columns=dropped) if dropped else df  # drop copies every column, even to drop none


def _identifying(values: pd.Series, col: str, declared: set[str],
                 coded: tuple[np.ndarray, pd.Series] | None = None) -> tuple[str | None, int | None]:
    if col not in declared:
        words = column_words(col)
        for kind, pattern in NAME_PATTERNS.items():
            if pattern.search(words):
                return kind, None
    # Each distinct value is looked at once, stripped: a million rows hold few distinct answers. A
    # missing value is the empty text, which is never looked at.
    codes, text = coded if coded is not None else stripped_text_codes(values)
    counts = np.bincount(codes, minlength=len(text))
    present = (text != "").to_numpy()
    if not present.any():
        return None, None

    def first_row(hits: np.ndarray) -> int:
        return int(np.flatnonzero(np.isin(codes, np.flatnonzero(hits)))[0])

    # One pass with every pattern: the first kind that any value holds, at its first row.
    kinds = [k for k in CONTENT_PATTERNS if not (k == "a date of birth" and col in declared)]
    # (a declared date column, e.g. the survey date, is expected to hold dates)
    # Only values that could be an identifier are matched (most ids and answers cannot: NCS-0000001).
    looked = np.flatnonzero(present)
    looked = looked[_could_be_identifier(text.to_numpy(dtype=object)[looked])]
    found = text.iloc[looked].map(_content_kind(tuple(kinds)))
    for kind in kinds:
        hits = np.zeros(len(text), dtype=bool)
        hits[looked] = (found == kind).to_numpy()
        if hits.any():
            return kind, first_row(hits)
    if col not in declared:
        # Free text: long answers with several words are where people write names and stories.
        wordy = (text.str.len().gt(40) & text.str.count(" ").ge(5)).to_numpy(dtype=bool)
        if counts[wordy & present].sum() > 0.2 * counts[present].sum():
            return "free text", first_row(wordy)
    return None, None


_CONTENT_GROUPS = {kind: f"k{i}" for i, kind in enumerate(CONTENT_PATTERNS)}
_PLUS, _AT = ord("+"), ord("@")
_BLOCK_CHARS = 1 << 22  # texts are looked at in blocks of about this many characters (16 MB as code points)


def _could_be_identifier(texts: np.ndarray) -> np.ndarray:
    """Which texts could match a pattern of CONTENT_PATTERNS: a superset (False: no pattern can match).

    Every pattern needs an "@" (email), a "+" or a digit first (phone, date of birth, IP address), or a
    digit second or third (postcode: [A-Z]{1,2}\\d). A character beyond ASCII counts as a digit, as \\d
    matches every Unicode digit. Looked at in bulk, so no Python runs per text: the texts are joined
    (a newline between two) and read as code points, where text i starts at the sum of the lengths
    before it plus i; a newline inside a text changes nothing.
    """
    n = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    ends = np.cumsum(lengths + 1)  # where each text's separator ends, in the whole join
    maybe = np.zeros(n, dtype=bool)
    i = 0
    while i < n:
        j = max(i + 1, int(np.searchsorted(ends, ends[i] - lengths[i] - 1 + _BLOCK_CHARS, side="right")))
        chars = np.frombuffer("\n".join(texts[i:j]).encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
        if len(chars):
            size = lengths[i:j]
            starts = np.concatenate(([0], np.cumsum(size[:-1] + 1)))

            def digit_at(k: int) -> np.ndarray:  # the k-th character of each text is a digit (or beyond ASCII)
                c = np.where(size > k, chars[np.minimum(starts + k, len(chars) - 1)], 0)
                return ((c >= 48) & (c <= 57)) | (c > 127)

            first = np.where(size > 0, chars[np.minimum(starts, len(chars) - 1)], 0)
            maybe[i:j] = (first == _PLUS) | digit_at(0) | digit_at(1) | digit_at(2)
            at = np.flatnonzero(chars == _AT)
            if len(at):
                maybe[i + np.searchsorted(starts, at, side="right") - 1] = True
        i = j
    return maybe


@functools.lru_cache(maxsize=4)
def _content_kind(kinds: tuple[str, ...]):
    """A function naming the first kind of identifier (in CONTENT_PATTERNS order) a value is, or None."""
    combined = re.compile("|".join(f"(?P<{_CONTENT_GROUPS[k]}>{CONTENT_PATTERNS[k].pattern})" for k in kinds), re.I)
    # re.I is only safe because every pattern that is case-sensitive on its own matches digits alone
    names = {_CONTENT_GROUPS[k]: k for k in kinds}

    def kind(value: str):
        m = combined.match(value)
        return names[m.lastgroup] if m else None
    return kind


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


def pseudonyms(ids: Iterable[str], key: bytes, evaluation_id: str) -> list[str]:
    """Keyed hash of each distinct id (text); salted with the evaluation so ids do not link across evaluations.

    The pseudonym is the first 16 hex digits of HMAC-SHA256(key, "<evaluation id>:<id>"). Pseudonyms are
    stored, so this formula never changes (tests/test_intake_speed_privacy_panel.py pins it)."""
    return _hmac_sha256_hex16(key, f"{evaluation_id}:".encode(), ids)


_IPAD = bytes(x ^ 0x36 for x in range(256))  # RFC 2104's inner and outer pads, as the hmac module applies them
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _hmac_sha256_hex16(key: bytes, prefix: bytes, texts) -> list[str]:
    """hmac.new(key, prefix + text.encode(), sha256).hexdigest()[:16] for each text, computed as RFC 2104's
    inner and outer SHA-256 with the keyed (and prefixed) states built once and copied per text: about
    1.7 times faster than copying an hmac object per text, and than the one-shot hmac.digest (which keys
    afresh every call). Checked against the hmac module on the first text, so it can never drift."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(padded.translate(_IPAD) + prefix)
    outer = hashlib.sha256(padded.translate(_OPAD))
    inner_copy, outer_copy = inner.copy, outer.copy

    def one(data: bytes) -> str:
        i = inner_copy()
        i.update(data)
        o = outer_copy()
        o.update(i.digest())
        return o.hexdigest()[:16]
    if one(b"probe") != hmac.new(key, prefix + b"probe", hashlib.sha256).hexdigest()[:16]:
        raise AssertionError("the pseudonym formula differs from HMAC-SHA256")  # never: RFC 2104 as hmac does it
    out: list[str] = []
    append = out.append
    for text in texts:  # inlined `one`: a function call per id costs a fifth more
        i = inner_copy()
        i.update(text.encode())
        o = outer_copy()
        o.update(i.digest())
        append(o.hexdigest()[:16])
    return out
