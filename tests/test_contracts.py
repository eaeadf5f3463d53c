"""The rules evaluated in pandas (contracts._judge) pass, fail and fail exactly the rows Great Expectations
does: the same rules, on hostile tables (missing values of every kind, infinities, codes outside the set,
repeated people, a gappy index as after earlier quarantine, missing columns, no rows), run both ways."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluations.intake import contracts


def _rules() -> list[contracts.Expectation]:
    E = contracts.Expectation
    return [
        E("id_recorded", "id", contracts.NOT_NULL, {"column": "id"}, "r"),
        E("t_is_0_or_1", "t", contracts.IN_SET, {"column": "t", "value_set": [0, 1]}, "r"),
        E("y_valid", "y", contracts.IN_SET, {"column": "y", "value_set": [1, 2, 3, 4, 5]}, "r"),
        E("age_in_range", "age", contracts.BETWEEN, {"column": "age", "min_value": 10, "max_value": 19}, "r"),
        E("one_row", "id", contracts.UNIQUE, {"column_list": ["id", "wave"]}, "r"),
        E("wave_recorded", "wave", contracts.NOT_NULL, {"column": "wave"}, "r"),
    ]


def _structural_rules() -> list[contracts.Expectation]:
    """The structural suite's three kinds, as `commonground check` judges them in pandas."""
    E = contracts.Expectation
    return [
        *(E(f"column_{c}_exists", c, contracts.COLUMN_EXISTS, {"column": c}, "r", structural=True)
          for c in ("id", "wave", "t", "missing")),
        E("not_empty", "", contracts.ROW_COUNT, {"min_value": 1}, "r", structural=True),
        E("known_wave_labels", "wave", contracts.IN_SET, {"column": "wave", "value_set": ["baseline"]}, "r",
          structural=True),
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


def _outcomes(frame, engine, rules=None):
    return [(o.name, o.passed, [int(i) for i in o.failing_index])
            for o in contracts.run_suite(frame, rules or _rules(), engine=engine)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_row_rules_fail_the_rows_great_expectations_fails(frame):
    assert _outcomes(frame, "auto") == _outcomes(frame, "gx")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_uniqueness_judged_on_the_callers_codes_fails_the_same_rows(frame):
    """validate hands the row suite the id and wave codes it has made: the same rows fail as when the
    columns are hashed again (and as in Great Expectations, above)."""
    codes = {c: pd.factorize(frame[c], use_na_sentinel=True)[0] for c in ("id", "wave")}
    rules = [r for r in _rules() if r.kind == contracts.UNIQUE]
    given_codes = [(o.name, o.passed, [int(i) for i in o.failing_index])
                   for o in contracts.run_suite(frame, rules, codes=codes)]
    assert given_codes == _outcomes(frame, "auto", rules)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sets(st.sampled_from(["id", "wave", "t", "y", "age"])))
def test_structural_rules_judged_in_pandas_agree_with_great_expectations(frame, dropped):
    """What `commonground check` accepts (engine "pandas"), the pipeline's Great Expectations run accepts."""
    frame = frame.drop(columns=sorted(dropped))
    rules = _structural_rules()
    assert all(contracts._judge(frame, r) is not None for r in rules if r.kind != contracts.IN_SET or "wave" in frame)
    assert _outcomes(frame, "pandas", rules) == _outcomes(frame, "gx", rules)


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
    mostly = contracts.Expectation("mostly", "t", contracts.NOT_NULL, {"column": "t", "mostly": 0.5}, "r")
    frame = pd.DataFrame({"t": [1.0, np.nan, 2.0]})
    assert contracts._unexpected_rows(frame, mostly) is None
    (outcome,) = contracts.run_suite(frame, [mostly])
    assert outcome.passed and outcome.failing_index == [1]


@pytest.mark.parametrize("rows", [0, 3])
@pytest.mark.parametrize("engine", ["auto", "pandas"])
def test_structural_rules_are_judged_by_great_expectations_in_the_pipeline(rows, engine, monkeypatch):
    """The pipeline ("auto") sends the structural suite to Great Expectations; the check ("pandas") does not."""
    judged, run_in_gx = [], contracts._run_in_gx  # watched, not replaced: Great Expectations still judges
    monkeypatch.setattr(contracts, "_run_in_gx", lambda df, active: judged.extend(active) or run_in_gx(df, active))
    rule = contracts.Expectation("not_empty", "", contracts.ROW_COUNT, {"min_value": 1}, "r", structural=True)
    (outcome,) = contracts.run_suite(pd.DataFrame({"t": [1.0] * rows}), [rule], engine=engine)
    assert outcome.passed is (rows > 0)
    assert judged == ([rule] if engine == "auto" else [])
