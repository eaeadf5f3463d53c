"""Data contracts: Great Expectations suites generated from the manifest and its outcomes' measures.

The suite is built fresh from evaluation.yaml each run, so the contract is exactly what the
charity registered. Column-map expectations return the failing row indices, which is how
a bad row is moved to quarantine with its reason instead of failing the whole evaluation.

Both suites are declared as Great Expectations expectations (each rule names its expectation type
and arguments; the Great Expectations object is built from them when it runs there). The
structural suite (blocking) runs in Great Expectations in the pipeline; the row-level suite's
four kinds of rule are evaluated in pandas with Great Expectations' semantics (`run_suite`), and
`commonground check` evaluates the structural suite that way too, so that it answers in a
second or two instead of first spending seconds importing Great Expectations. Property tests
hold the pandas evaluation to Great Expectations' own results, rule kind by rule kind.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # offline: no usage statistics

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from evaluations.intake.distinct import combined_codes, first_positions  # noqa: E402
from evaluations.measures import Measure, outcome_measures  # noqa: E402
from evaluations.registry import Manifest  # noqa: E402


def _gx():
    """Great Expectations, imported when a contract is first built, not with this module: the
    import takes seconds, and a file refused as it is read (beyond the intake limits, not a
    spreadsheet) is refused by `commonground check` without ever needing it."""
    import great_expectations

    return great_expectations


@dataclass(frozen=True, eq=False)
class Expectation:
    """One rule of the contract, in words a charity can act on: a Great Expectations expectation
    type with its arguments (`expectation` builds the object)."""

    name: str
    column: str
    kind: str  # Great Expectations' type name, e.g. "expect_column_values_to_be_in_set"
    kwargs: dict  # its arguments
    reason: str  # why a failing row is quarantined
    structural: bool = False

    @property
    def expectation(self):
        """The gx.expectations.Expectation this rule declares (imports Great Expectations)."""
        class_name = "".join(word.capitalize() for word in self.kind.split("_"))
        return getattr(_gx().expectations, class_name)(**self.kwargs)


@dataclass
class ContractOutcome:
    name: str
    column: str
    passed: bool
    structural: bool
    reason: str
    failing_index: list = field(default_factory=list)  # row positions only: never the failing values


# the Great Expectations expectation types the contracts use
NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
UNIQUE = "expect_compound_columns_to_be_unique"
COLUMN_EXISTS = "expect_column_to_exist"
ROW_COUNT = "expect_table_row_count_to_be_between"


def row_level_suite(manifest: Manifest, measures: dict[str, Measure]) -> list[Expectation]:
    """Expectations checked row by row on the coerced table (missing values are allowed here)."""
    d = manifest.design
    t = d.treatment_column
    rules = [
        Expectation("treatment_is_0_or_1", t, IN_SET, {"column": t, "value_set": [0, 1]},
                    f"'{t}' must be 1 (took part) or 0 (comparison)"),
        Expectation("treatment_recorded", t, NOT_NULL, {"column": t},
                    f"'{t}' is empty: say whether this person took part"),
        Expectation("unit_id_recorded", d.unit_id, NOT_NULL, {"column": d.unit_id},
                    f"'{d.unit_id}' is empty: every row needs the respondent's id"),
        Expectation("wave_recorded", d.wave, NOT_NULL, {"column": d.wave},
                    f"'{d.wave}' is empty: say which survey wave this row belongs to"),
        Expectation("one_row_per_unit_and_wave", d.unit_id, UNIQUE, {"column_list": [d.unit_id, d.wave]},
                    "the same person has different answers twice in one wave: keep the right one and delete the other"),
    ]
    for cov in d.numeric_covariates:  # a categorical covariate's empty answer is its own level (covariates.py)
        rules.append(Expectation(f"{cov}_recorded", cov, NOT_NULL, {"column": cov},
                                 f"covariate '{cov}' is empty, so this row cannot be compared like with like"))
    for col, (lo, hi) in manifest.valid_ranges.items():
        rules.append(Expectation(f"{col}_in_range", col, BETWEEN, {"column": col, "min_value": lo, "max_value": hi},
                                 f"'{col}' is outside the plausible range {lo:g} to {hi:g} given in evaluation.yaml"))
    outcome_measure = outcome_measures(manifest, measures)
    for o in manifest.outcomes:
        m = outcome_measure[o.column]
        if m.valid_codes is not None:
            kind, kwargs = IN_SET, {"column": o.column, "value_set": m.valid_codes}
            reason = f"'{o.column}' is not one of the valid codes {m.valid_codes} for {m.name!r} (or a missing-value code)"
        else:
            kind, kwargs = BETWEEN, {"column": o.column, "min_value": m.min, "max_value": m.max}
            reason = f"'{o.column}' is outside the possible range {m.min:g} to {m.max:g} for {m.name!r}"
        rules.append(Expectation(f"{o.column}_valid", o.column, kind, kwargs, reason))
    return rules


def structural_suite(manifest: Manifest) -> list[Expectation]:
    """Expectations on the whole table: failing any stops this evaluation (and only this one)."""
    d = manifest.design
    required = list(dict.fromkeys(d.design_columns + [o.column for o in manifest.outcomes]))
    rules = [Expectation(f"column_{c}_exists", c, COLUMN_EXISTS, {"column": c},
                         f"column '{c}' named in evaluation.yaml is not in the data", structural=True)
             for c in required]
    rules.append(Expectation("not_empty", "", ROW_COUNT, {"min_value": 1},
                             "the data files hold no rows", structural=True))
    rules.append(Expectation("known_wave_labels", d.wave, IN_SET, {"column": d.wave, "value_set": list(d.wave_labels)},
                             f"'{d.wave}' holds a wave label that is not in evaluation.yaml ({', '.join(d.wave_labels)})",
                             structural=True))
    return rules


def run_suite(df: pd.DataFrame, rules: list[Expectation], *, engine: str = "auto",
              codes: dict[str, np.ndarray] | None = None) -> list[ContractOutcome]:
    """Validate `df` against `rules` and return each rule's outcome with failing row indices.

    `codes` may hold columns' pd.factorize codes (missing values -1), row for row, where the caller has
    them: a uniqueness rule is then judged on them instead of hashing every row of its columns again.

    Rules of the kinds `_judge` knows are evaluated there, one vectorised pandas expression each with
    Great Expectations' own semantics (checked against it rule by rule on hostile tables in
    tests/test_contracts.py): Great Expectations fingerprints and copies the frame for every batch,
    which made the row rules 6.8 s of a 200,000-row intake and most of a million-row one, and its
    import alone takes seconds. `engine` says which rules go where:

    - "auto" (the pipeline): row rules in pandas, the structural (blocking) rules in Great Expectations;
    - "pandas" (`commonground check`): every rule `_judge` knows in pandas, so the check never imports it;
    - "gx": every rule in Great Expectations (what the tests compare with).
    """
    if engine not in ("auto", "pandas", "gx"):
        raise ValueError(f"unknown contract engine {engine!r}")
    present = set(df.columns)
    # a rule on a missing column is skipped: the structural column_<name>_exists rule reports it
    active = [r for r in rules if _domain(r) in (("(columns)",), ("(table)",)) or set(_domain(r)) <= present]
    if not active:
        return []
    judged = {} if engine == "gx" else {
        id(r): verdict for r in active
        if (engine == "pandas" or not r.structural) and (verdict := _judge(df, r, codes or {})) is not None}
    in_gx = _run_in_gx(df, [r for r in active if id(r) not in judged])
    outcomes = []
    for rule in active:
        if id(rule) in judged:
            passed, rows = judged[id(rule)]
            outcomes.append(ContractOutcome(rule.name, rule.column, passed, rule.structural, rule.reason, rows))
        else:
            outcomes.append(in_gx[id(rule)])
    return outcomes


def _judge(df: pd.DataFrame, rule: Expectation, codes: dict[str, np.ndarray] | None = None
           ) -> tuple[bool, list] | None:
    """Whether `rule` passes on `df` and the rows it fails, as Great Expectations finds them, or None
    for a rule of a kind (or with options) this does not evaluate (left to Great Expectations)."""
    if rule.kind == COLUMN_EXISTS and rule.kwargs.keys() == {"column"}:
        return rule.kwargs["column"] in df.columns, []
    if rule.kind == ROW_COUNT and rule.kwargs.keys() <= {"min_value", "max_value"}:
        low, high = rule.kwargs.get("min_value"), rule.kwargs.get("max_value")
        return (low is None or len(df) >= low) and (high is None or len(df) <= high), []
    rows = _unexpected_rows(df, rule, codes)
    return None if rows is None else (not rows, rows)


def _unexpected_rows(df: pd.DataFrame, rule: Expectation, codes: dict[str, np.ndarray] | None = None
                     ) -> list | None:
    """The index labels of the rows `rule` fails, as Great Expectations' pandas engine finds them (its
    column-map rules do not judge null values; compound uniqueness fails every row of a repeated
    combination among the rows with any of its columns filled in), or None for a rule this does not
    evaluate (left to Great Expectations)."""
    kind, kwargs = rule.kind, rule.kwargs
    if kind == NOT_NULL and kwargs.keys() == {"column"}:
        failing = df[kwargs["column"]].isna()
    elif kind == IN_SET and kwargs.keys() == {"column", "value_set"}:
        column = df[kwargs["column"]]
        failing = column.notna() & ~_isin(column, kwargs["value_set"])
    elif (kind == BETWEEN and kwargs.keys() == {"column", "min_value", "max_value"}
          and None not in (kwargs["min_value"], kwargs["max_value"])):
        column = df[kwargs["column"]]
        failing = column.notna() & ~((kwargs["min_value"] <= column) & (column <= kwargs["max_value"]))
    elif kind == UNIQUE and kwargs.keys() == {"column_list"} and set(kwargs["column_list"]) <= set(codes or {}):
        failing = _repeated(*(codes[c] for c in kwargs["column_list"]))
    elif kind == UNIQUE and kwargs.keys() == {"column_list"}:
        columns = df[list(kwargs["column_list"])]
        judged = columns.notna().any(axis=1)  # a row whose listed columns are all missing is not judged
        if judged.all():  # the usual table: no copy of the judged rows to take and put back
            failing = columns.duplicated(keep=False)
        else:
            failing = judged & columns[judged].duplicated(keep=False).reindex(df.index, fill_value=False)
    else:
        return None
    return df.index[np.asarray(failing, dtype=bool)].tolist()


def _repeated(*codes: np.ndarray) -> np.ndarray:
    """Rows whose combination of codes (pd.factorize's, -1 missing) another row also holds, among the rows
    with any code present: DataFrame.duplicated(keep=False) of the judged rows, as the rule above has it."""
    key = combined_codes(codes)
    judged = np.logical_or.reduce([c >= 0 for c in codes])
    failing = np.zeros(len(key), dtype=bool)
    failing[judged] = pd.Series(key[judged]).duplicated(keep=False).to_numpy()
    return failing


def _isin(column: pd.Series, values: list) -> np.ndarray:
    """column.isin(values). A column of floats is compared with a few plain numbers (a measure's codes) by
    numpy, one comparison per number, where pandas hashes every row: a fifth of the time. Both compare
    the numbers as floats (integers up to 2**53 are exact as floats); they differ only on NaN, which no
    caller asks about (missing rows are not judged)."""
    if column.dtype == np.float64 and len(values) <= 64 and all(
            type(v) is float or (type(v) is int and abs(v) <= 2**53) for v in values):
        return np.isin(column.to_numpy(), np.asarray(values, dtype=np.float64))
    return column.isin(values).to_numpy(dtype=bool)


def _run_in_gx(df: pd.DataFrame, active: list[Expectation]) -> dict[int, ContractOutcome]:
    """Rules run in Great Expectations as ExpectationSuites, not one by one: it fingerprints (hashes)
    the whole dataframe for every batch and copies it for every column rule, so on a large table each
    suite runs on a batch of just what its rules read (`_frame`: the columns, or a column's distinct
    values), and its failing rows are mapped back to the table's."""
    if not active:
        return {}
    from great_expectations.data_context.types.base import ProgressBarsConfig

    gx = _gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batches = (context.data_sources.add_pandas("intake").add_dataframe_asset("survey")
               .add_batch_definition_whole_dataframe("all"))
    groups: dict[tuple, list[Expectation]] = {}
    for rule in active:
        groups.setdefault(_domain(rule), []).append(rule)
    results: dict[int, object] = {}
    rows_of: dict[int, Callable[[list], list]] = {}  # a rule's failing batch rows -> the table's failing rows
    for domain, members in groups.items():
        frame, rows = _frame(df, domain, members)
        batch = batches.get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name="contract", expectations=[r.expectation for r in members])
        by_config: dict[str, list] = {}
        for res in batch.validate(suite, result_format="COMPLETE").results:
            by_config.setdefault(_config_key(res.expectation_config), []).append(res)
        for rule in members:
            results[id(rule)] = by_config[_config_key(rule.expectation.configuration)].pop(0)
            rows_of[id(rule)] = rows
    outcomes = {}
    for rule in active:
        res = results[id(rule)]
        info = res.exception_info or {}
        raised = info.get("raised_exception") or any(isinstance(v, dict) and v.get("raised_exception")
                                                     for v in info.values())
        if raised:  # a bug in the contract, not in the data: never report it as failing rows
            raise RuntimeError(f"Great Expectations could not evaluate {rule.name}: {info}")
        result = res.result or {}
        failing = rows_of[id(rule)](list(result.get("unexpected_index_list") or []))
        outcomes[id(rule)] = ContractOutcome(rule.name, rule.column, bool(res.success), rule.structural, rule.reason,
                                             failing)
    return outcomes


def _domain(rule: Expectation) -> tuple:
    if rule.kind == COLUMN_EXISTS:
        return ("(columns)",)
    if rule.kwargs.get("column_list"):
        return tuple(rule.kwargs["column_list"])
    if rule.kwargs.get("column"):
        return (rule.kwargs["column"],)
    return ("(table)",)


def _frame(df: pd.DataFrame, domain: tuple, rules: list[Expectation]
           ) -> tuple[pd.DataFrame, Callable[[list], list]]:
    """The batch Great Expectations judges `rules` on, and how its failing rows become `df`'s: the
    smallest frame with the same verdicts, as it fingerprints (hashes) every value of a batch."""
    if domain == ("(columns)",):
        return df.iloc[:0], list  # whether a column exists does not depend on the rows
    if domain == ("(table)",):
        return pd.DataFrame(index=df.index), list  # row counts need the rows, not their values
    if len(domain) == 1 and all(_judged_per_value(r) for r in rules):
        return _distinct_values(df[domain[0]], df.index)
    return df[list(domain)], list


def _judged_per_value(rule: Expectation) -> bool:
    """A column-map rule whose verdict on a row depends on that row's value alone (no `mostly`, which
    counts rows): judging each distinct value once gives every row's verdict."""
    keys = {NOT_NULL: {"column"}, IN_SET: {"column", "value_set"}, BETWEEN: {"column", "min_value", "max_value"}}
    return rule.kind in keys and rule.kwargs.keys() == keys[rule.kind]


def _distinct_values(column: pd.Series, index: pd.Index) -> tuple[pd.DataFrame, Callable[[list], list]]:
    """Each distinct value of `column` once (a wave column of a million rows holds two or three), in
    order of first appearance at positions 0, 1, ...; a failing position is every row holding that value,
    in row order, as Great Expectations would list them on the whole column."""
    codes, _ = pd.factorize(column, use_na_sentinel=False)  # every kind of missing value is one value
    first = first_positions(codes)
    frame = column.iloc[first].to_frame().reset_index(drop=True)

    def rows(failing: list) -> list:
        return index[np.isin(codes, np.asarray(failing, dtype=np.int64))].tolist() if failing else []
    return frame, rows


def _config_key(config) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("result_format", "batch_id")}
    return f"{config.type}:{sorted(kwargs.items(), key=lambda kv: kv[0])!r}"
