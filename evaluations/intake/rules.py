"""Every rule a survey row can be set aside under, and the check (a Dagster asset check) that counts it.

The quarantine table names each row's rule in its `check` column: a fixed name
("exact_duplicate") or a column's name with a rule's ending ("age_is_a_number"). This is the
one list of them. validate.py refuses to set a row aside under a name not listed here, and
orchestration/assets/intake.py declares one asset check per `Check`, so every quarantined row
is counted in exactly one check that an evaluator sees, with a description a charity can act on.
"""
from __future__ import annotations

from dataclasses import dataclass

from evaluations.disclosure import THRESHOLD

COLUMN = "{column}"  # in a rule's name: the column the rule is about


@dataclass(frozen=True)
class Check:
    """A family of rules, shown as one asset check on the validated survey."""

    name: str
    description: str
    blocking: bool = False  # a failure stops the evaluation: only the structure of the data does


@dataclass(frozen=True)
class Rule:
    """One reason a row is set aside; `name` is the quarantine's `check` (with {column} for a column's rule)."""

    name: str
    check: str
    description: str

    @property
    def per_column(self) -> bool:
        return self.name.startswith(COLUMN)

    @property
    def ending(self) -> str:
        return self.name.removeprefix(COLUMN)

    def named(self, column: str) -> str:
        """The quarantine's `check` value for this rule on `column`."""
        return self.name.replace(COLUMN, column)


STRUCTURE = Check("data_contract_structure", blocking=True, description=(
    "The data can be analysed at all: every column named in evaluation.yaml is in the files, the files hold "
    "rows, every wave label is one evaluation.yaml lists, and enough people are left in each group. If this "
    "fails, nothing of this evaluation is analysed until the data or evaluation.yaml is corrected."))
RECONCILIATION = Check("rows_reconcile", description=(
    "Every row read from the files is either analysed or set aside with its reason, per file and wave: "
    "rows read = rows kept + rows set aside. A failure means rows went missing inside Common Ground (a "
    "defect to report), not a problem with the data."))
READABLE = Check("values_readable", description=(
    "Cells hold values a person typed: no spreadsheet formulas (they are never evaluated) and no invisible "
    "control characters. Such rows are set aside; retype the value in the file."))
NUMBERS = Check("values_are_numbers", description=(
    "Answers and covariates recorded as numbers hold a number or one of the missing-value codes in "
    "evaluation.yaml (or, for a bank measure, one of its answer labels in words)."))
VALID = Check("values_valid", description=(
    "Each answer is a valid code of its measure or inside its possible range, inside any plausible range "
    "given in evaluation.yaml, and a code the file's value labels name; survey weights are above 0, and a "
    f"place's row rests on at least {THRESHOLD} people."))
RECORDED = Check("values_recorded", description=(
    "Every row says who answered, in which wave, whether they took part, and each numeric covariate: a row "
    "missing one of these cannot be compared like with like."))
GROUPS = Check("group_known_and_constant", description=(
    "Each person's group is a took-part or comparison answer evaluation.yaml recognises, the same in every "
    "wave, and a site's start wave is one of the waves (or empty for a site that never started)."))
ONCE_PER_WAVE = Check("one_row_per_unit_and_wave", description=(
    "Each person answers once per wave: a row sent twice is kept once, and when one person has different "
    "answers in the same wave both are set aside for the charity to keep the right one."))

CHECKS: tuple[Check, ...] = (STRUCTURE, READABLE, NUMBERS, VALID, RECORDED, GROUPS, ONCE_PER_WAVE, RECONCILIATION)
ROW_CHECKS: tuple[Check, ...] = tuple(c for c in CHECKS if c not in (STRUCTURE, RECONCILIATION))

RULES: tuple[Rule, ...] = (
    Rule("formula_cell", READABLE.name, "a cell holds a spreadsheet formula, not the value itself"),
    Rule("control_characters", READABLE.name, "a cell holds a control character nobody types"),
    Rule("{column}_is_a_number", NUMBERS.name, "a number column holds something that is not a number or a "
                                               "missing-value code"),
    Rule("{column}_valid", VALID.name, "an answer is not a valid code of its measure, or outside its possible range"),
    Rule("{column}_in_range", VALID.name, "a value is outside the plausible range given in evaluation.yaml"),
    Rule("{column}_is_labelled", VALID.name, "a code that none of the measure's labels names in the file's value "
                                             "labels"),
    Rule("{column}_is_positive", VALID.name, "a survey weight is not above 0"),
    Rule(f"{{column}}_at_least_{THRESHOLD}", VALID.name, f"a place's row rests on fewer than {THRESHOLD} people"),
    Rule("treatment_recorded", RECORDED.name, "the group (took part or not) is empty"),
    Rule("unit_id_recorded", RECORDED.name, "the respondent's id is empty"),
    Rule("wave_recorded", RECORDED.name, "the survey wave is empty"),
    Rule("{column}_recorded", RECORDED.name, "a numeric covariate is empty"),
    Rule("treatment_is_0_or_1", GROUPS.name, "the group answer is neither a took-part nor a comparison answer"),
    Rule("treatment_constant_within_unit", GROUPS.name, "the person is recorded as both taking part and not"),
    Rule("first_treated_is_a_wave", GROUPS.name, "the start wave is not one of the waves"),
    Rule("exact_duplicate", ONCE_PER_WAVE.name, "an exact copy of an earlier row (the first is kept)"),
    Rule("one_row_per_unit_and_wave", ONCE_PER_WAVE.name, "the same person has different answers twice in one wave"),
)

_FIXED = {r.name: r for r in RULES if not r.per_column}
_BY_ENDING = {r.ending: r for r in RULES if r.per_column}
_CHECK = {c.name: c for c in CHECKS}


class UnknownRule(KeyError):
    """A row was set aside under a name this registry does not list: a defect in Common Ground."""


def rule_of(name: str) -> Rule:
    """The rule a quarantine `check` value names: a fixed name, else a column's name and a rule's ending."""
    if name in _FIXED:
        return _FIXED[name]
    for ending, rule in _BY_ENDING.items():
        if name.endswith(ending) and len(name) > len(ending):
            return rule
    raise UnknownRule(f"no intake rule is called {name!r}; list it in evaluations/intake/rules.py")


def check_of(name: str) -> Check:
    """The asset check that counts the rows set aside under the quarantine `check` value `name`."""
    return _CHECK[rule_of(name).check]
