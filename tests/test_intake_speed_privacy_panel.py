"""Issue 13: the faster pseudonymisation and panel ordering give exactly what the straightforward code gave.

Pseudonyms are stored, so their formula is pinned here by value as well as against the hmac module:
the first 16 hex digits of HMAC-SHA256(key, "<evaluation id>:<id>").
"""
from __future__ import annotations

import hashlib
import hmac
import re

import numpy as np
import pandas as pd
import pytest

from evaluations.intake import panel as panel_module
from evaluations.intake.privacy import SYNTHETIC_KEY, pseudonyms

HOSTILE_IDS = ["NCS-0000001", "é😀", " x ", "", "a\nb", "a\x00", "a", "NCS-0000001", "0", "00", "A1 1AA",
               "x" * 500, "\u212a", "dup", "dup", "z\t", "\u00a0"]


def reference(ids: list[str], key: bytes, evaluation_id: str) -> list[str]:
    """The straightforward formula: hmac.new per id."""
    return [hmac.new(key, f"{evaluation_id}:{v}".encode(), hashlib.sha256).hexdigest()[:16] for v in ids]


@pytest.mark.parametrize("key", [SYNTHETIC_KEY.encode(), b"", b"k", b"k" * 64, b"k" * 65, b"\xff" * 200,
                                 b"0123456789abcdef" * 4])  # keys longer than SHA-256's 64-byte block are hashed
def test_pseudonyms_are_hmac_sha256_of_the_salted_id(key):
    got = pseudonyms(HOSTILE_IDS, key, "an-evaluation")
    assert got == reference(HOSTILE_IDS, key, "an-evaluation")
    assert all(re.fullmatch(r"[0-9a-f]{16}", p) for p in got)


def test_pseudonyms_are_pinned_by_value():
    """Stored pseudonyms must stay the same: a change would break continuity between runs."""
    ids = ["NCS-0000001", "é😀", " x ", "", "a\nb"]
    assert pseudonyms(ids, SYNTHETIC_KEY.encode(), "bench-intake") == [
        "f78cd3792a4d75ee", "ebd3c7dd4868337e", "0772ad8c0c583b3b", "173db23398c4d8c6", "8b7d8acf28a31a1f"]
    assert pseudonyms(ids, b"k" * 100, "ev") == [
        "371bcaa0a8a09f8d", "bc4a053629b68fe4", "0ee95798f58f14d1", "ffcc506d9b53b1b6", "14a8059be9e5d60a"]


def test_pseudonyms_of_no_ids():
    assert pseudonyms([], b"k", "ev") == []


def _reference_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["unit", "period"]).reset_index(drop=True)


@pytest.mark.parametrize("units", [
    ["b", "a", "ab", "a", "", "é", "Z", "z", "a\x00", "a", "\u212a", "10", "9", "😀", "b"],  # NUL: pandas' sort
    ["b", "a", "ab", "a", "", "é", "Z", "z", "a b", "a", "\u212a", "10", "9", "😀", "b"],
    ["f" * 16, "0" * 16, "a" * 16, "0" * 15 + "1", "f" * 16, "0" * 16, "9" * 16, "a" * 16, "a" * 15 + "0",
     "0" * 16, "ff", "x" * 70, "x" * 70, "e", "d"],  # longer than the fixed-width limit: pandas' sort
    ["0" * 15 + "1", "f" * 16, "0" * 16, "9" * 16, "a" * 16, "a" * 15 + "0", "3" * 16, "0" * 16, "f" * 16,
     "0" * 15 + "1", "b" * 16, "c" * 16, "c" * 16, "1" * 16, "2" * 16],  # pseudonyms
])
@pytest.mark.parametrize("ordering", ["_unit_period_order", "_pseudonym_period_order"])
def test_panel_order_is_pandas_sort_values(units, ordering):
    rng = np.random.default_rng(3)
    n = len(units)
    frame = pd.DataFrame({"unit": pd.Series(units, dtype=object), "wave": rng.choice(["baseline", "follow-up"], n),
                          "period": rng.integers(1, 3, n), "row": np.arange(n), "x": rng.normal(size=n)},
                         index=rng.permutation(n) + 50)
    order = getattr(panel_module, ordering)(frame["unit"].to_numpy(dtype=object), frame["period"].to_numpy())
    expected = _reference_order(frame)
    if order is not None:
        got = frame.take(order)
        got.index = pd.RangeIndex(len(got))
        pd.testing.assert_frame_equal(got, expected)  # ties (same unit and period) keep their order: "row"


def test_panel_order_falls_back_for_what_numpy_would_sort_differently():
    units = np.array(["a\x00", "a", "b"], dtype=object)
    assert panel_module._unit_period_order(units, np.array([1, 1, 1])) is None
    assert panel_module._unit_period_order(np.array(["x" * 65, "a"], dtype=object), np.array([1, 2])) is None
    assert panel_module._unit_period_order(np.array([], dtype=object), np.array([], dtype=np.int64)) is None
    assert panel_module._unit_period_order(np.array(["a", None], dtype=object), np.array([1, 2])) is None


@pytest.mark.parametrize("ordering", ["_unit_period_order", "_pseudonym_period_order"])
def test_panel_order_on_many_pseudonyms_matches_pandas(ordering):
    rng = np.random.default_rng(5)
    people = [f"{v:016x}" for v in rng.integers(0, 2**64, 3000, dtype=np.uint64)]  # the top bit too
    units = np.array(people * 2 + people[:50], dtype=object)  # some unit and period twice: ties
    periods = np.r_[np.ones(3000, int), np.full(3000, 2), np.full(50, 2)]
    perm = rng.permutation(len(units))
    frame = pd.DataFrame({"unit": units[perm], "period": periods[perm], "row": np.arange(len(units))})
    order = getattr(panel_module, ordering)(frame["unit"].to_numpy(dtype=object), frame["period"].to_numpy())
    got = frame.take(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, _reference_order(frame))


@pytest.mark.parametrize("other", ["a" * 15, "a" * 17, "A" * 16, "g" * 16, "é" * 16, "a" * 15 + "\x00",
                                   "a" * 15 + " "])
def test_pseudonym_order_is_only_for_pseudonyms(other):
    units = np.array(["0" * 16, other, "f" * 16], dtype=object)
    assert panel_module._pseudonym_period_order(units, np.array([1, 1, 2])) is None
    assert panel_module._pseudonym_period_order(np.array([], dtype=object), np.array([], dtype=np.int64)) is None


def test_people_per_group_counts_each_person_once_per_group_as_drop_duplicates_does():
    """validate's count of distinct people per treatment value (the minimum-per-group refusal and the
    registered counts), from codes, against the straightforward pandas count."""
    from evaluations.intake.validate import _people_per_group

    def reference(units, treatment):
        ok = (units >= 0) & ~np.isnan(treatment)
        pairs = pd.DataFrame({"u": units[ok], "t": treatment[ok]}).drop_duplicates()
        return {float(k): int(v) for k, v in pairs["t"].value_counts().items()}

    rng = np.random.default_rng(13)
    for _ in range(200):
        n = int(rng.integers(0, 80))
        units = rng.integers(-1, 20, n)  # -1: no id
        treatment = rng.choice([0.0, 1.0, np.nan, 2.0], n)
        assert _people_per_group(units, treatment) == reference(units, treatment)
    switcher = _people_per_group(np.array([0, 0, 1, 1, 2]), np.array([0.0, 1.0, 1.0, 1.0, 0.0]))
    assert switcher == {0.0: 2, 1.0: 2}  # a person in both groups counts once in each
