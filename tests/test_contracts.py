"""The row rules evaluated in pandas (contracts._unexpected_rows) fail exactly the rows Great Expectations
fails: the same rules, on hostile tables (missing values of every kind, infinities, codes outside the set,
repeated people, a gappy index as after earlier quarantine), run both ways."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluations.intake import contracts


def _rules() -> list[contracts.Expectation]:
    E = contracts._gx().expectations
    return [
        contracts.Expectation("id_recorded", "id", E.ExpectColumnValuesToNotBeNull(column="id"), "r"),
        contracts.Expectation("t_is_0_or_1", "t", E.ExpectColumnValuesToBeInSet(column="t", value_set=[0, 1]), "r"),
        contracts.Expectation("y_valid", "y", E.ExpectColumnValuesToBeInSet(column="y", value_set=[1, 2, 3, 4, 5]),
                              "r"),
        contracts.Expectation("age_in_range", "age",
                              E.ExpectColumnValuesToBeBetween(column="age", min_value=10, max_value=19), "r"),
        contracts.Expectation("one_row", "id", E.ExpectCompoundColumnsToBeUnique(column_list=["id", "wave"]), "r"),
        contracts.Expectation("wave_recorded", "wave", E.ExpectColumnValuesToNotBeNull(column="wave"), "r"),
    ]


NUMBERS = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.0, 6.0, -0.0, 9.5, 10.0, 19.0, 19.000001, math.nan,
                                     math.inf, -math.inf, 1e300]),
                    st.floats(allow_nan=True, allow_infinity=True))
IDS = st.one_of(st.sampled_from(["a", "b", "c", "", " "]), st.none(), st.just(math.nan))
WAVES = st.one_of(st.sampled_from(["baseline", "follow_up"]), st.none())


@st.composite
def tables(draw):
    n = draw(st.integers(0, 25))
    frame = pd.DataFrame({
        "id": pd.Series(draw(st.lists(IDS, min_size=n, max_size=n)), dtype=object),
        "wave": pd.Series(draw(st.lists(WAVES, min_size=n, max_size=n)), dtype=object),
        "t": draw(st.lists(NUMBERS, min_size=n, max_size=n)),
        "y": draw(st.lists(NUMBERS, min_size=n, max_size=n)),
        "age": draw(st.lists(NUMBERS, min_size=n, max_size=n)),
    }, index=pd.RangeIndex(n)).astype({"t": float, "y": float, "age": float})
    keep = draw(st.lists(st.booleans(), min_size=n, max_size=n))  # rows already quarantined leave gaps
    return frame[np.array(keep, dtype=bool)] if n else frame


def _outcomes(frame, engine):
    return [(o.name, o.passed, [int(i) for i in o.failing_index])
            for o in contracts.run_suite(frame, _rules(), engine=engine)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_row_rules_fail_the_rows_great_expectations_fails(frame):
    assert _outcomes(frame, "auto") == _outcomes(frame, "gx")


def test_each_kind_of_row_rule_is_evaluated_in_pandas_and_finds_the_rows():
    """Worked by hand, and every rule of the row-level kinds really took the pandas path."""
    frame = pd.DataFrame({"id": ["a", "a", None, "b", "b"], "wave": ["baseline", "baseline", "baseline", None, "f"],
                          "t": [0, 1, 2, np.nan, 1], "y": [1, 6, np.nan, 5, 0], "age": [10, 19, 20, np.nan, -1]},
                         index=[3, 4, 7, 8, 9]).astype({"t": float, "y": float, "age": float})
    assert all(contracts._unexpected_rows(frame, rule) is not None for rule in _rules())
    got = {name: rows for name, _, rows in _outcomes(frame, "auto")}
    assert got == {"id_recorded": [7], "t_is_0_or_1": [7], "y_valid": [4, 9], "age_in_range": [7, 9],
                   "one_row": [3, 4], "wave_recorded": [8]}
    assert _outcomes(frame, "auto") == _outcomes(frame, "gx")


def test_a_rule_with_other_options_is_left_to_great_expectations():
    E = contracts._gx().expectations
    mostly = contracts.Expectation("mostly", "t", E.ExpectColumnValuesToNotBeNull(column="t", mostly=0.5), "r")
    frame = pd.DataFrame({"t": [1.0, np.nan, 2.0]})
    assert contracts._unexpected_rows(frame, mostly) is None
    (outcome,) = contracts.run_suite(frame, [mostly])
    assert outcome.passed and outcome.failing_index == [1]


@pytest.mark.parametrize("rows", [0, 3])
def test_structural_rules_are_judged_by_great_expectations(rows):
    E = contracts._gx().expectations
    rule = contracts.Expectation("not_empty", "", E.ExpectTableRowCountToBeBetween(min_value=1), "r", structural=True)
    (outcome,) = contracts.run_suite(pd.DataFrame({"t": [1.0] * rows}), [rule])
    assert outcome.passed is (rows > 0)
