"""Issue 13: the CSV reader's faster paths give exactly what the straightforward ones gave."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluations.intake import readers
from evaluations.intake.readers import (MAX_CELL_CHARS, SOURCE_ROW, _csv_record_lengths, _line_by_line_record_lengths,
                                        _unquoted_record_lengths, _with_rows)
from evaluations.registry import DataFile


def _texts(seed: int, count: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = list("ab ,;\t\n|é😀1") + ["\u2028", "\x85", "\u00a0"]
    return ["".join(rng.choice(alphabet, rng.integers(0, 40))) for _ in range(count)]


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64, 1 << 22])
def test_cells_per_record_counted_in_blocks_are_counted_line_by_line(block, monkeypatch):
    monkeypatch.setattr(readers, "_COUNTED_AT_ONCE", block)
    for text in _texts(block, 400) + ["", "\n", "\n\n", "a", "a\n", ",\n,", "é,é\n\n", "a,b\nc"]:
        for delimiter in (",", ";", "\t", "|"):
            fast = _unquoted_record_lengths(text, delimiter)
            assert fast is not None and fast.dtype == np.int64
            assert fast.tolist() == _line_by_line_record_lengths(text, delimiter).tolist()
            assert fast.tolist() == _csv_record_lengths(text, delimiter, "survey.csv").tolist(), repr(text)


def test_a_long_line_is_measured_in_characters_not_bytes():
    accented = "a,b\n" + "é" * (MAX_CELL_CHARS - 10) + ",x\n"  # more bytes than the limit, fewer characters
    assert _unquoted_record_lengths(accented, ",").tolist() == [2, 2]
    assert _unquoted_record_lengths("a\n" + "x" * (MAX_CELL_CHARS + 1), ",") is None
    assert _line_by_line_record_lengths("a\n" + "é" * (MAX_CELL_CHARS + 1), ",") is None
    assert _unquoted_record_lengths("a\n" + "é" * (MAX_CELL_CHARS + 1), ",") is None


@pytest.mark.parametrize("blank", [[False] * 6, [True, False, False, True, False, True], [True] * 6])
def test_rows_under_their_names_are_the_rows_column_by_column(blank):
    grid = pd.DataFrame([["h1", "h2", "h3"]] + [[f"{r}{c}", "", " "] for r in range(6) for c in "x"], dtype=object)
    body = grid.iloc[1:]
    blank = np.array(blank)
    got = _with_rows(body, ["a", "b", "a"], blank, DataFile(path="f.csv"), 1)
    keep = ~blank
    expected = pd.DataFrame({i: body.iloc[:, i].to_numpy()[keep] for i in range(body.shape[1])})
    expected.columns = ["a", "b", "a"]
    expected[SOURCE_ROW] = np.flatnonzero(keep) + 2
    pd.testing.assert_frame_equal(got, expected)
    assert all(got.iloc[:, i].to_numpy().flags.c_contiguous or len(got) == 0 for i in range(3))
