"""Issue 13: the privacy screen looks at fewer values with the regular expressions, and finds exactly the same.

`_could_be_identifier` must be a superset: a value it rules out can match no CONTENT_PATTERNS pattern.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluations.intake import privacy
from evaluations.intake.privacy import CONTENT_PATTERNS, _content_kind, _could_be_identifier, _identifying

ALL_KINDS = tuple(CONTENT_PATTERNS)
HOSTILE = [
    "someone@example.org", "x@y.co", " a.b@c.de", "NCS-0000001", "R_a3bcDEF", "+44 7700 900123", "+447700900123",
    "07700 900123", "07700-900-123", "SW1A 1AA", "M1 1AA", "m11aa", "EC1A1BB", "\u212a1 1AA", "\u017fW1A 1AA",
    "12/03/2008", "2008-03-12", "1.2.2009", "\u0661\u0662/\u0660\u0663/\u0662\u0660\u0660\u0665",  # Arabic digits
    "192.168.0.1", "255.255.255.255", "\uff11\uff19\uff12.168.0.1", "", " ", "a", "ab", "a1", "ab1", "abc1",
    "a\n1", "\n1", "1\n", "x\n@\n", "@", "+", "++44", "a b c d e f g h i j k l m n o p q r s t u v w x y z ok",
    "don't know", "-9", "n/a", "\x00", "\x001", "é1", "😀", "😀@😀.uk", "a" * 5000 + "@b.com", "\ud800",
]


def _kind(value: str):
    try:
        return _content_kind(ALL_KINDS)(value)
    except UnicodeError:
        return None


@pytest.mark.parametrize("block", [privacy._BLOCK_CHARS, 1, 7, 64])
def test_every_value_a_pattern_matches_is_looked_at(block, monkeypatch):
    monkeypatch.setattr(privacy, "_BLOCK_CHARS", block)
    texts = np.array(HOSTILE, dtype=object)
    maybe = _could_be_identifier(texts)
    matched = np.array([_kind(v) is not None for v in HOSTILE])
    assert not (matched & ~maybe).any(), [v for v, m, k in zip(HOSTILE, matched, maybe) if m and not k]
    assert maybe.tolist() == [bool(_could_be_identifier(np.array([v], dtype=object))[0]) for v in HOSTILE]
    assert not maybe[HOSTILE.index("NCS-0000001")] and not maybe[HOSTILE.index("R_a3bcDEF")]


def test_random_values_a_pattern_matches_are_looked_at():
    rng = np.random.default_rng(13)
    alphabet = list("0123456789abcxyzABSWM@+.-/: \n") + ["\u0663", "\u212a", "\u017f", "é", "😀"]
    values = ["".join(rng.choice(alphabet, rng.integers(0, 14))) for _ in range(20000)]
    values += [f"0{rng.integers(10**9, 10**10)}" for _ in range(200)] + [f"{a}@{b}.org" for a, b in zip("abc", "xyz")]
    maybe = _could_be_identifier(np.array(values, dtype=object))
    matched = np.array([_kind(v) is not None for v in values])
    assert matched.sum() > 200
    assert not (matched & ~maybe).any()


@pytest.mark.parametrize("column,declared", [("respondent_id", True), ("contact", False), ("dob", True),
                                             ("when", True), ("notes_field", False)])
def test_the_screen_finds_what_looking_at_every_value_finds(column, declared, monkeypatch):
    rng = np.random.default_rng(7)
    for extra in HOSTILE + [None, np.nan, 3, 2.5]:
        values = pd.Series([f"NCS-{i:07d}" for i in rng.integers(0, 500, 300)] + [extra, " ", ""] +
                           [f"NCS-{i:07d}" for i in range(5)], dtype=object)
        names = {column} if declared else set()
        got = _identifying(values, column, names)
        with monkeypatch.context() as m:
            m.setattr(privacy, "_could_be_identifier", lambda texts: np.ones(len(texts), dtype=bool))
            expected = _identifying(values, column, names)
        assert got == expected, extra


def test_the_pre_filter_was_written_for_exactly_these_patterns():
    """_could_be_identifier's reasoning (an "@", a "+" or digit first, a digit second or third) holds for
    these patterns: a pattern added or changed must be checked against it, and this fails until it is."""
    assert {kind: (p.pattern, p.flags) for kind, p in CONTENT_PATTERNS.items()} == {
        "an email address": (r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", 34),
        "a phone number": (r"^(\+44\s?|0)(\d[\s-]?){9,10}$", 32),
        "a full postcode": (r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$", 34),
        "a date of birth": (r"^(\d{1,2}[/.-]\d{1,2}[/.-](19|20)\d{2}|(19|20)\d{2}-\d{2}-\d{2})$", 32),
        "an IP address": (r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$", 32),
    }
